//! IVR flows written by admins (`ivr-scripts/*.toml`): the typed language
//! ([`model`]), reading it with precise errors ([`parse`]), graph and data
//! checks ([`validate`]) pointing at lines ([`position`]), `${var}` templates ([`template`]), drawing it as
//! Graphviz ([`render`]) and running it without I/O ([`exec`]). The language
//! guide is `docs/ivr.md`.

pub mod diagnostic;
pub mod exec;
pub mod model;
pub mod parse;
pub mod position;
pub mod render;
pub mod template;
pub mod validate;

use diagnostic::Diagnostic;
use model::Flow;

/// A flow file read and checked: the flow if it has no errors, and every
/// problem found (errors and warnings).
#[derive(Debug, Clone)]
pub struct Checked {
    pub flow: Option<Flow>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Read and validate the flow in `text`; `file` names it in messages and
/// (its stem) is the flow's name when the file sets none. Problems come in
/// the order of their lines.
pub fn check(file: &str, text: &str) -> Checked {
    check_with(file, text, |_| Vec::new())
}

/// Like [`check`], and also reports references to what `known` lacks
/// (`hours` nodes naming an unknown calendar): the check a flow passes
/// before it is activated for a tenant.
pub fn check_against(file: &str, text: &str, known: validate::Known<'_>) -> Checked {
    check_with(file, text, |flow| {
        validate::check_references(file, flow, known)
    })
}

fn check_with(file: &str, text: &str, extra: impl FnOnce(&Flow) -> Vec<Diagnostic>) -> Checked {
    let stem = file
        .rsplit('/')
        .next()
        .unwrap_or(file)
        .trim_end_matches(".toml");
    let parse::Parsed {
        flow,
        unreadable,
        mut diagnostics,
    } = parse::parse(file, stem, text);
    let flow = flow.and_then(|flow| {
        diagnostics.extend(validate::validate(file, &flow, &unreadable));
        diagnostics.extend(extra(&flow));
        (!diagnostics.iter().any(Diagnostic::is_error)).then_some(flow)
    });
    let positions = position::Positions::of(text);
    for diagnostic in &mut diagnostics {
        if diagnostic.line.is_none() {
            diagnostic.line =
                positions.line(diagnostic.node.as_deref(), diagnostic.field.as_deref());
        }
    }
    diagnostics.sort_by_key(|diagnostic| diagnostic.line);
    Checked { flow, diagnostics }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ivr_default_flow_is_valid_without_warnings() {
        let checked = check(
            "default.toml",
            include_str!("../../ivr-scripts/default.toml"),
        );
        assert!(checked.diagnostics.is_empty(), "{:?}", checked.diagnostics);
        assert_eq!(checked.flow.unwrap().name, "default");
    }

    #[test]
    fn ivr_check_points_diagnostics_at_lines() {
        let text = "start = \"a\"\n\n[nodes.a]\ntype = \"answer\"\nnext = \"b\"\n\n[nodes.b]\ntype = \"queue\"\nqueue = \"q\"\npriority = 10\n";
        let lines: Vec<String> = check("f.toml", text)
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            vec![
                "f.toml:10: error: node \"b\": field \"priority\": is 10; use 0 (lowest) to 9 (highest)"
            ]
        );
        let unknown = check(
            "f.toml",
            "start = \"a\"\n[nodes.a]\ntype = \"hangup\"\nfoo = 1\n",
        );
        assert!(
            unknown.diagnostics[0]
                .to_string()
                .starts_with("f.toml:4: error: node \"a\": field \"foo\"")
        );
    }

    #[test]
    fn ivr_check_reports_unreadable_nodes_and_bad_exits_together() {
        let text = "start = \"a\"\n[nodes.a]\ntype = \"answer\"\nnext = \"b\"\n\
                    [nodes.b]\ntype = \"say\"\ntxt = \"hi\"\nnext = \"c\"\n\
                    [nodes.c]\ntype = \"answer\"\nnext = \"nowhere\"\n";
        let checked = check("f.toml", text);
        assert!(checked.flow.is_none());
        let lines: Vec<String> = checked
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert!(
            lines[0].starts_with("f.toml:7: error: node \"b\": field \"txt\": unknown field"),
            "{lines:?}"
        );
        assert!(lines[1].starts_with("f.toml:11: error: node \"c\": field \"next\": exit points to unknown node \"nowhere\""), "{lines:?}");
    }

    #[test]
    fn ivr_check_against_known_calendars_reports_unknown_ones() {
        let text = include_str!("../../ivr-scripts/after-hours.toml");
        let known = ["support".to_owned()];
        let checked = check_against(
            "after-hours.toml",
            text,
            validate::Known { calendars: &known },
        );
        assert!(checked.flow.is_some(), "{:?}", checked.diagnostics);
        let known = ["suport".to_owned()];
        let checked = check_against(
            "after-hours.toml",
            text,
            validate::Known { calendars: &known },
        );
        assert!(checked.flow.is_none());
        let lines: Vec<String> = checked
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(
            lines,
            vec![
                "after-hours.toml:17: error: node \"open_now\": field \"calendar\": no business-hours calendar named \"support\"; did you mean \"suport\"?"
            ]
        );
        let none = check_against("after-hours.toml", text, validate::Known { calendars: &[] });
        assert!(
            none.diagnostics[0]
                .message
                .ends_with("create it with PUT /api/v1/calendars/support")
        );
    }

    #[test]
    fn ivr_toml_syntax_errors_have_line_and_column() {
        let checked = check("f.toml", "start = \"a\"\n[nodes.a\n");
        assert_eq!(checked.diagnostics[0].line, Some(2));
        assert!(checked.diagnostics[0].column.is_some());
    }

    #[test]
    fn ivr_flow_with_errors_is_not_returned() {
        let checked = check(
            "x/bad.toml",
            "start = \"nowhere\"\n[nodes.a]\ntype = \"hangup\"\n",
        );
        assert!(checked.flow.is_none());
        assert!(checked.diagnostics.iter().any(Diagnostic::is_error));
    }
}
