//! Reading a flow file: TOML text → [`Flow`], reporting every unknown key,
//! unknown node type, missing or mistyped field as a [`Diagnostic`] naming
//! the node and field (with a did-you-mean where one fits). Graph checks
//! come after, in [`super::validate`].

use std::collections::{BTreeMap, BTreeSet};

use serde::de::DeserializeOwned;

use super::diagnostic::{Diagnostic, Severity, did_you_mean};
use super::model::{Flow, Node};

/// Top-level keys of a flow file.
const FLOW_KEYS: [&str; 4] = ["name", "description", "start", "nodes"];

/// Node `type` names, including the aliases `dial` and `voicemail`.
pub const NODE_TYPES: [&str; 15] = [
    "answer",
    "play",
    "say",
    "menu",
    "gather",
    "set",
    "branch",
    "hours",
    "queue",
    "transfer",
    "dial",
    "record",
    "voicemail",
    "webhook",
    "hangup",
];

/// Collects diagnostics for one file.
struct Report<'a> {
    file: &'a str,
    diagnostics: Vec<Diagnostic>,
}

impl Report<'_> {
    fn error(&mut self, node: Option<&str>, field: Option<&str>, message: String) {
        self.diagnostics.push(Diagnostic {
            severity: Severity::Error,
            file: self.file.to_owned(),
            line: None,
            column: None,
            node: node.map(str::to_owned),
            field: field.map(str::to_owned),
            message,
        });
    }
}

/// What reading a flow file gave.
#[derive(Debug)]
pub struct Parsed {
    /// The flow, when `start` and `nodes` could be read; it holds only the
    /// nodes that could be read.
    pub flow: Option<Flow>,
    /// Nodes that exist in the file but could not be read.
    pub unreadable: BTreeSet<String>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Parse `text` (the contents of `file`, a name used in messages).
pub fn parse(file: &str, default_name: &str, text: &str) -> Parsed {
    let mut report = Report {
        file,
        diagnostics: Vec::new(),
    };
    let table: toml::Table = match toml::from_str(text) {
        Ok(table) => table,
        Err(err) => {
            let message = format!("not valid TOML: {}", err.message());
            let at = err.span().map(|span| line_column(text, span.start));
            let place = at.map_or_else(String::new, |(line, col)| {
                format!(" (line {line}, column {col})")
            });
            report.error(None, None, format!("{message}{place}"));
            if let (Some(diagnostic), Some((line, column))) = (report.diagnostics.last_mut(), at) {
                diagnostic.line = Some(line);
                diagnostic.column = Some(column);
            }
            return Parsed {
                flow: None,
                unreadable: BTreeSet::new(),
                diagnostics: report.diagnostics,
            };
        }
    };
    for key in table.keys() {
        if !FLOW_KEYS.contains(&key.as_str()) {
            let hint = did_you_mean(key, FLOW_KEYS);
            report.error(
                None,
                Some(key),
                format!("unknown key; a flow has name, description, start and nodes{hint}"),
            );
        }
    }
    let name = text_field(&mut report, &table, "name").unwrap_or_else(|| default_name.to_owned());
    let description = text_field(&mut report, &table, "description");
    let start = text_field(&mut report, &table, "start");
    if start.is_none() && !table.contains_key("start") {
        report.error(
            None,
            Some("start"),
            "missing; add `start = \"<first node>\"` at the top of the file".to_owned(),
        );
    }
    let mut unreadable = BTreeSet::new();
    let nodes = match table.get("nodes") {
        Some(toml::Value::Table(nodes)) => Some(parse_nodes(&mut report, nodes, &mut unreadable)),
        Some(_) => {
            report.error(
                None,
                Some("nodes"),
                "must be a table of nodes, e.g. `[nodes.welcome]`".to_owned(),
            );
            None
        }
        None => {
            report.error(
                None,
                Some("nodes"),
                "missing; a flow needs at least one `[nodes.<name>]`".to_owned(),
            );
            None
        }
    };
    let flow = match (start, nodes) {
        (Some(start), Some(nodes)) => Some(Flow {
            name,
            description,
            start,
            nodes,
        }),
        _ => None,
    };
    Parsed {
        flow,
        unreadable,
        diagnostics: report.diagnostics,
    }
}

fn text_field(report: &mut Report<'_>, table: &toml::Table, key: &str) -> Option<String> {
    match table.get(key)? {
        toml::Value::String(value) => Some(value.clone()),
        other => {
            report.error(
                None,
                Some(key),
                format!("must be a string, not {}", other.type_str()),
            );
            None
        }
    }
}

fn parse_nodes(
    report: &mut Report<'_>,
    nodes: &toml::Table,
    unreadable: &mut BTreeSet<String>,
) -> BTreeMap<String, Node> {
    let mut parsed = BTreeMap::new();
    for (name, value) in nodes {
        match parse_node(report, name, value) {
            Some(node) => {
                parsed.insert(name.clone(), node);
            }
            None => {
                unreadable.insert(name.clone());
            }
        }
    }
    parsed
}

fn parse_node(report: &mut Report<'_>, name: &str, value: &toml::Value) -> Option<Node> {
    let Some(table) = value.as_table() else {
        report.error(
            Some(name),
            None,
            format!("must be a table, not {}", value.type_str()),
        );
        return None;
    };
    let kind = match table.get("type") {
        Some(toml::Value::String(kind)) => kind.as_str(),
        Some(other) => {
            report.error(
                Some(name),
                Some("type"),
                format!("must be a string, not {}", other.type_str()),
            );
            return None;
        }
        None => {
            report.error(
                Some(name),
                Some("type"),
                format!("missing; one of {}", NODE_TYPES.join(", ")),
            );
            return None;
        }
    };
    let mut fields = table.clone();
    fields.remove("type");
    let fields = toml::Value::Table(fields);
    let node = match kind {
        "answer" => fields_as(fields).map(Node::Answer),
        "play" => fields_as(fields).map(Node::Play),
        "say" => fields_as(fields).map(Node::Say),
        "menu" => fields_as(fields).map(Node::Menu),
        "gather" => fields_as(fields).map(Node::Gather),
        "set" => fields_as(fields).map(Node::Set),
        "branch" => fields_as(fields).map(Node::Branch),
        "hours" => fields_as(fields).map(Node::Hours),
        "queue" => fields_as(fields).map(Node::Queue),
        "transfer" | "dial" => fields_as(fields).map(Node::Transfer),
        "record" | "voicemail" => fields_as(fields).map(Node::Record),
        "webhook" => fields_as(fields).map(Node::Webhook),
        "hangup" => fields_as(fields).map(Node::Hangup),
        unknown => {
            let hint = did_you_mean(unknown, NODE_TYPES);
            report.error(
                Some(name),
                Some("type"),
                format!(
                    "unknown node type \"{unknown}\"{hint} (known: {})",
                    NODE_TYPES.join(", ")
                ),
            );
            return None;
        }
    };
    match node {
        Ok(node) => Some(node),
        Err(problem) => {
            report.error(Some(name), problem.field.as_deref(), problem.message);
            None
        }
    }
}

/// A field-level problem from serde, reworded for admins.
struct FieldProblem {
    field: Option<String>,
    message: String,
}

fn fields_as<T: DeserializeOwned>(fields: toml::Value) -> Result<T, FieldProblem> {
    serde_path_to_error::deserialize(fields).map_err(|err| {
        let path = err.path().to_string();
        let raw = err.inner().message().to_owned();
        reword(&raw, (path != ".").then_some(path))
    })
}

fn reword(raw: &str, path: Option<String>) -> FieldProblem {
    let quoted: Vec<&str> = raw.split('`').skip(1).step_by(2).collect();
    if let Some(rest) = raw.strip_prefix("unknown field ") {
        let (unknown, expected) = quoted.split_first().map_or(("", &[][..]), |(u, e)| (*u, e));
        let hint = did_you_mean(unknown, expected.iter().copied());
        let known = if rest.contains("there are no fields") {
            "this node type has no fields".to_owned()
        } else {
            format!("known: {}", expected.join(", "))
        };
        return FieldProblem {
            field: Some(unknown.to_owned()),
            message: format!("unknown field{hint} ({known})"),
        };
    }
    if raw.starts_with("missing field ") {
        return FieldProblem {
            field: quoted.first().map(|f| (*f).to_owned()),
            message: "missing; this node type requires it".to_owned(),
        };
    }
    FieldProblem {
        field: path,
        message: raw.to_owned(),
    }
}

/// 1-based line and column of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<String> {
        parse("f.toml", "f", text)
            .diagnostics
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn ivr_parse_reads_a_minimal_flow() {
        let parsed = parse(
            "f.toml",
            "f",
            "start = \"bye\"\n[nodes.bye]\ntype = \"hangup\"\n",
        );
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        assert!(parsed.unreadable.is_empty());
        let flow = parsed.flow.unwrap();
        assert_eq!(flow.name, "f");
        assert_eq!(flow.nodes["bye"].type_name(), "hangup");
    }

    #[test]
    fn ivr_parse_suggests_a_node_type_for_a_typo() {
        let m = messages("start = \"a\"\n[nodes.a]\ntype = \"hangpu\"\n");
        assert_eq!(m.len(), 1);
        assert!(
            m[0].starts_with("f.toml: error: node \"a\": field \"type\": unknown node type \"hangpu\"; did you mean \"hangup\"?"),
            "{m:?}"
        );
    }

    #[test]
    fn ivr_parse_names_an_unknown_field_and_suggests_the_right_one() {
        let m = messages("start = \"a\"\n[nodes.a]\ntype = \"answer\"\nnxt = \"a\"\n");
        assert!(
            m.iter()
                .any(|m| m
                    .contains("node \"a\": field \"nxt\": unknown field; did you mean \"next\"?")),
            "{m:?}"
        );
    }

    #[test]
    fn ivr_parse_reports_missing_start_missing_field_and_bad_type() {
        let m = messages("[nodes.a]\ntype = \"queue\"\npriority = \"high\"\n");
        assert!(
            m.iter().any(|m| m.contains("field \"start\": missing")),
            "{m:?}"
        );
        let m = messages("start = \"a\"\n[nodes.a]\ntype = \"answer\"\n");
        assert!(
            m.iter()
                .any(|m| m.contains("node \"a\": field \"next\": missing")),
            "{m:?}"
        );
        let m = messages(
            "start = \"a\"\n[nodes.a]\ntype = \"queue\"\nqueue = \"q\"\npriority = \"high\"\n",
        );
        assert!(
            m.iter()
                .any(|m| m.contains("node \"a\": field \"priority\": invalid type")),
            "{m:?}"
        );
    }

    #[test]
    fn ivr_parse_reports_toml_syntax_with_line_and_column() {
        let m = messages("start = \"a\"\n[nodes.a\n");
        assert_eq!(m.len(), 1);
        assert!(
            m[0].contains("not valid TOML") && m[0].contains("line 2"),
            "{m:?}"
        );
    }
}
