//! Checks on a parsed [`Flow`] as a graph and as data: exits and `start`
//! must name existing nodes; priorities, timeouts, digits and templates
//! must make sense (errors); unreachable nodes, nodes from which the call
//! can never end, and `${variables}` nothing sets are reported as warnings.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::diagnostic::{Diagnostic, Severity, did_you_mean};
use super::model::{Flow, Node};
use super::template;

/// Variables every call has before the flow sets any.
pub const BUILT_IN_VARIABLES: [&str; 6] = ["caller", "did", "call_id", "date", "time", "weekday"];

/// The variable a `menu` stores the pressed key in.
pub const MENU_KEY_VARIABLE: &str = "digits";

/// Longest accepted wait for digits, in seconds.
const MAX_INPUT_TIMEOUT_SECS: u32 = 60;
/// Longest accepted ringing time of a transfer, in seconds.
const MAX_RING_TIMEOUT_SECS: u32 = 300;
/// Longest accepted webhook wait, in seconds (the caller hears silence).
const MAX_WEBHOOK_TIMEOUT_SECS: u32 = 30;
/// Longest accepted recording, in seconds.
const MAX_RECORD_SECS: u32 = 3600;
/// Most retries a menu or gather may have.
const MAX_RETRIES: u32 = 9;

struct Checker<'a> {
    file: &'a str,
    flow: &'a Flow,
    diagnostics: Vec<Diagnostic>,
}

impl Checker<'_> {
    fn push(
        &mut self,
        severity: Severity,
        node: Option<&str>,
        field: Option<&str>,
        message: String,
    ) {
        self.diagnostics.push(Diagnostic {
            severity,
            file: self.file.to_owned(),
            line: None,
            column: None,
            node: node.map(str::to_owned),
            field: field.map(str::to_owned),
            message,
        });
    }

    fn error(&mut self, node: &str, field: &str, message: String) {
        self.push(Severity::Error, Some(node), Some(field), message);
    }

    fn unknown_node_hint(&self, target: &str) -> String {
        did_you_mean(target, self.flow.nodes.keys().map(String::as_str))
    }
}

/// Every problem of `flow` (read from `file`), errors and warnings.
/// `unreadable` names nodes the file has but that could not be read: exits
/// to them are fine, and the graph and variable checks wait until they can
/// be read.
pub fn validate(file: &str, flow: &Flow, unreadable: &BTreeSet<String>) -> Vec<Diagnostic> {
    let mut checker = Checker {
        file,
        flow,
        diagnostics: Vec::new(),
    };
    let exists = |name: &str| flow.nodes.contains_key(name) || unreadable.contains(name);
    if !exists(&flow.start) {
        let hint = checker.unknown_node_hint(&flow.start);
        checker.push(
            Severity::Error,
            None,
            Some("start"),
            format!("points to unknown node \"{}\"{hint}", flow.start),
        );
    }
    for (name, node) in &flow.nodes {
        for exit in node.exits() {
            if !exists(exit.target) {
                let hint = checker.unknown_node_hint(exit.target);
                checker.error(
                    name,
                    &exit.field,
                    format!("exit points to unknown node \"{}\"{hint}", exit.target),
                );
            }
        }
        check_fields(&mut checker, name, node);
    }
    if unreadable.is_empty() {
        check_graph(&mut checker);
        check_variables(&mut checker);
    }
    checker.diagnostics
}

/// What a flow refers to outside itself, where the caller knows it: the
/// store does at activation; `kefu ivr validate` on a bare file does not.
#[derive(Debug, Clone, Copy)]
pub struct Known<'a> {
    /// The tenant's business-hours calendars.
    pub calendars: &'a [String],
}

/// Errors for references to things that do not exist: `hours` nodes naming
/// a calendar the tenant does not have.
pub fn check_references(file: &str, flow: &Flow, known: Known<'_>) -> Vec<Diagnostic> {
    let mut checker = Checker {
        file,
        flow,
        diagnostics: Vec::new(),
    };
    for (name, node) in &flow.nodes {
        if let Node::Hours(hours) = node {
            if !known.calendars.contains(&hours.calendar) {
                let hint =
                    did_you_mean(&hours.calendar, known.calendars.iter().map(String::as_str));
                let fix = if hint.is_empty() {
                    "; create it with PUT /api/v1/calendars/{name}"
                        .replace("{name}", &hours.calendar)
                } else {
                    hint
                };
                checker.error(
                    name,
                    "calendar",
                    format!(
                        "no business-hours calendar named \"{}\"{fix}",
                        hours.calendar
                    ),
                );
            }
        }
    }
    checker.diagnostics
}

fn check_fields(c: &mut Checker<'_>, name: &str, node: &Node) {
    match node {
        Node::Say(say) => {
            if say.text.trim().is_empty() {
                c.error(
                    name,
                    "text",
                    "is empty; write what the caller should hear".to_owned(),
                );
            }
        }
        Node::Play(play) => {
            if play.file.trim().is_empty() {
                c.error(
                    name,
                    "file",
                    "is empty; name a file in the prompts folder".to_owned(),
                );
            }
        }
        Node::Menu(menu) => {
            check_prompt(c, name, menu.say.is_some(), menu.play.is_some());
            check_input(c, name, menu.timeout_secs, menu.retries);
            if menu.digits.is_empty() {
                c.error(
                    name,
                    "digits",
                    "is empty; map at least one key, e.g. `digits = { 1 = \"sales\" }`".to_owned(),
                );
            }
            for key in menu.digits.keys() {
                if !is_dtmf_key(key) {
                    c.error(
                        name,
                        &format!("digits.{key}"),
                        "a key must be one of 0-9, * or #".to_owned(),
                    );
                }
            }
        }
        Node::Gather(gather) => {
            check_prompt(c, name, gather.say.is_some(), gather.play.is_some());
            check_input(c, name, gather.timeout_secs, gather.retries);
            if !template::is_variable_name(&gather.variable) {
                c.error(name, "variable", "use letters, digits and `_`".to_owned());
            }
            if gather.max_digits == 0 || gather.max_digits > 32 {
                c.error(
                    name,
                    "max_digits",
                    format!("is {}; use 1 to 32", gather.max_digits),
                );
            }
            if gather.min_digits > gather.max_digits {
                c.error(
                    name,
                    "min_digits",
                    format!(
                        "is {} but max_digits is {}; min must not exceed max",
                        gather.min_digits, gather.max_digits
                    ),
                );
            }
            if !(gather.terminator.is_empty()
                || gather.terminator == "#"
                || gather.terminator == "*")
            {
                c.error(
                    name,
                    "terminator",
                    format!(
                        "is \"{}\"; use \"#\", \"*\" or \"\" (none)",
                        gather.terminator
                    ),
                );
            }
        }
        Node::Set(set) => {
            for var in set.vars.keys() {
                if !template::is_variable_name(var) {
                    c.error(
                        name,
                        &format!("vars.{var}"),
                        "a variable name uses letters, digits and `_`".to_owned(),
                    );
                }
            }
        }
        Node::Branch(branch) => {
            for (i, rule) in branch.rules.iter().enumerate() {
                let count = rule.tests().len();
                if count != 1 {
                    c.error(
                        name,
                        &format!("rules[{}]", i + 1),
                        format!("has {count} tests; give exactly one of equals, not_equals, starts_with, one_of, between"),
                    );
                }
            }
        }
        Node::Hours(hours) => {
            if hours.calendar.trim().is_empty() {
                c.error(
                    name,
                    "calendar",
                    "is empty; name a business-hours calendar".to_owned(),
                );
            }
        }
        Node::Queue(queue) => {
            if queue.priority > 9 {
                c.error(
                    name,
                    "priority",
                    format!("is {}; use 0 (lowest) to 9 (highest)", queue.priority),
                );
            }
            if queue.queue.trim().is_empty() {
                c.error(name, "queue", "is empty; name a queue".to_owned());
            }
            if let Some(key) = &queue.callback_key {
                if !is_dtmf_key(key) {
                    c.error(
                        name,
                        "callback_key",
                        format!("is {key:?}; use one key: 0-9, * or #"),
                    );
                }
            }
        }
        Node::Transfer(transfer) => {
            check_timeout(
                c,
                name,
                "timeout_secs",
                transfer.timeout_secs,
                MAX_RING_TIMEOUT_SECS,
            );
            if transfer.to.trim().is_empty() {
                c.error(
                    name,
                    "to",
                    "is empty; give an extension or a number".to_owned(),
                );
            }
        }
        Node::Record(record) => {
            check_timeout(c, name, "max_secs", record.max_secs, MAX_RECORD_SECS);
            if record.silence_secs > record.max_secs {
                c.error(
                    name,
                    "silence_secs",
                    format!(
                        "is {} but max_secs is {}; silence stop must be shorter",
                        record.silence_secs, record.max_secs
                    ),
                );
            }
        }
        Node::Webhook(webhook) => {
            check_timeout(
                c,
                name,
                "timeout_secs",
                webhook.timeout_secs,
                MAX_WEBHOOK_TIMEOUT_SECS,
            );
            if !(webhook.url.starts_with("http://") || webhook.url.starts_with("https://")) {
                c.error(
                    name,
                    "url",
                    format!("\"{}\" is not an http:// or https:// URL", webhook.url),
                );
            }
            for var in &webhook.sets {
                if !template::is_variable_name(var) {
                    c.error(
                        name,
                        "sets",
                        format!("\"{var}\" is not a variable name (letters, digits, `_`)"),
                    );
                }
            }
        }
        Node::Answer(_) | Node::Hangup(_) => {}
    }
}

fn is_dtmf_key(key: &str) -> bool {
    matches!(key.as_bytes(), [b'0'..=b'9' | b'*' | b'#'])
}

fn check_prompt(c: &mut Checker<'_>, name: &str, has_say: bool, has_play: bool) {
    if has_say == has_play {
        c.error(
            name,
            "say",
            "give exactly one prompt: `say` (text) or `play` (file)".to_owned(),
        );
    }
}

fn check_input(c: &mut Checker<'_>, name: &str, timeout_secs: u32, retries: u32) {
    check_timeout(
        c,
        name,
        "timeout_secs",
        timeout_secs,
        MAX_INPUT_TIMEOUT_SECS,
    );
    if retries > MAX_RETRIES {
        c.error(
            name,
            "retries",
            format!("is {retries}; use 0 to {MAX_RETRIES}"),
        );
    }
}

fn check_timeout(c: &mut Checker<'_>, name: &str, field: &str, secs: u32, max: u32) {
    if secs == 0 || secs > max {
        c.error(name, field, format!("is {secs}; use 1 to {max} seconds"));
    }
}

/// Nodes reachable from `from` through exits to existing nodes.
fn reachable<'a>(flow: &'a Flow, from: &'a str) -> BTreeSet<&'a str> {
    let mut seen = BTreeSet::new();
    let mut todo = VecDeque::from([from]);
    while let Some(name) = todo.pop_front() {
        let Some((key, node)) = flow.nodes.get_key_value(name) else {
            continue;
        };
        if seen.insert(key.as_str()) {
            todo.extend(node.exits().into_iter().map(|exit| exit.target));
        }
    }
    seen
}

fn check_graph(c: &mut Checker<'_>) {
    let flow = c.flow;
    let live = reachable(flow, &flow.start);
    if live.is_empty() {
        return;
    }
    for name in flow.nodes.keys() {
        if !live.contains(name.as_str()) {
            c.push(
                Severity::Warning,
                Some(name),
                None,
                format!(
                    "unreachable from start \"{}\"; no exit leads here",
                    flow.start
                ),
            );
        }
    }
    // Nodes that can end the call: terminal ones, then backwards over exits.
    let mut ends: BTreeSet<&str> = flow
        .nodes
        .iter()
        .filter(|(_, node)| node.is_terminal())
        .map(|(name, _)| name.as_str())
        .collect();
    loop {
        let before = ends.len();
        for (name, node) in &flow.nodes {
            if node.exits().iter().any(|exit| ends.contains(exit.target)) {
                ends.insert(name.as_str());
            }
        }
        if ends.len() == before {
            break;
        }
    }
    for name in &live {
        if !ends.contains(name) {
            c.push(
                Severity::Warning,
                Some(name),
                None,
                "no way to end: no hangup, queue or transfer is reachable from here, so the caller loops forever".to_owned(),
            );
        }
    }
}

fn check_variables(c: &mut Checker<'_>) {
    let flow = c.flow;
    let mut defined: BTreeSet<&str> = BUILT_IN_VARIABLES.into_iter().collect();
    let mut used: BTreeMap<(&str, String), Vec<&str>> = BTreeMap::new();
    for (name, node) in &flow.nodes {
        let mut templates: Vec<(String, &str)> = Vec::new();
        match node {
            Node::Say(say) => templates.push(("text".to_owned(), &say.text)),
            Node::Menu(menu) => {
                defined.insert(MENU_KEY_VARIABLE);
                templates.extend(menu.say.as_deref().map(|t| ("say".to_owned(), t)));
            }
            Node::Transfer(transfer) => templates.push(("to".to_owned(), &transfer.to)),
            Node::Gather(gather) => {
                defined.insert(&gather.variable);
                templates.extend(gather.say.as_deref().map(|t| ("say".to_owned(), t)));
            }
            Node::Set(set) => {
                defined.extend(set.vars.keys().map(String::as_str));
                templates.extend(
                    set.vars
                        .iter()
                        .map(|(k, v)| (format!("vars.{k}"), v.as_str())),
                );
            }
            Node::Webhook(webhook) => {
                defined.extend(webhook.sets.iter().map(String::as_str));
                templates.push(("url".to_owned(), &webhook.url));
                templates.extend(webhook.body.as_deref().map(|t| ("body".to_owned(), t)));
            }
            Node::Branch(branch) => {
                for (i, rule) in branch.rules.iter().enumerate() {
                    used.entry((name, format!("rules[{}].var", i + 1)))
                        .or_default()
                        .push(&rule.var);
                }
            }
            _ => {}
        }
        for (field, text) in templates {
            match template::variables(text) {
                Ok(vars) => used.entry((name, field)).or_default().extend(vars),
                Err(err) => c.error(name, &field, err.to_string()),
            }
        }
    }
    for ((node, field), vars) in used {
        for var in vars {
            if !defined.contains(var) {
                let hint = did_you_mean(var, defined.iter().copied());
                c.push(
                    Severity::Warning,
                    Some(node),
                    Some(&field),
                    format!(
                        "variable \"{var}\" is never set (no set, gather or webhook node sets it, and it is not built in){hint}"
                    ),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::parse::parse;

    fn problems(text: &str) -> Vec<String> {
        let parsed = parse("f.toml", "f", text);
        assert!(parsed.diagnostics.is_empty(), "{:?}", parsed.diagnostics);
        validate("f.toml", &parsed.flow.unwrap(), &parsed.unreadable)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn ivr_validate_exit_to_unknown_node_suggests_the_close_one() {
        let p = problems(
            "start = \"menu\"\n[nodes.menu]\ntype = \"menu\"\nsay = \"hi\"\ndigits = { 1 = \"goodbye\" }\n\
             invalid = \"goodbey\"\nno_input = \"goodbye\"\n[nodes.goodbye]\ntype = \"hangup\"\n",
        );
        assert_eq!(
            p,
            vec![
                "f.toml: error: node \"menu\": field \"invalid\": exit points to unknown node \"goodbey\"; did you mean \"goodbye\"?"
            ]
        );
    }

    #[test]
    fn ivr_validate_priority_and_timeouts_out_of_range_are_errors() {
        let p = problems(
            "start = \"w\"\n[nodes.w]\ntype = \"webhook\"\nurl = \"ftp://x\"\ntimeout_secs = 0\nsuccess = \"q\"\nfailure = \"q\"\n\
             [nodes.q]\ntype = \"queue\"\nqueue = \"sales\"\npriority = 12\n",
        );
        assert!(
            p.iter()
                .any(|m| m.contains("node \"q\": field \"priority\": is 12; use 0 (lowest) to 9")),
            "{p:?}"
        );
        assert!(
            p.iter().any(
                |m| m.contains("node \"w\": field \"timeout_secs\": is 0; use 1 to 30 seconds")
            ),
            "{p:?}"
        );
        assert!(
            p.iter().any(|m| m.contains("node \"w\": field \"url\"")),
            "{p:?}"
        );
    }

    #[test]
    fn ivr_validate_warns_on_unreachable_nodes_and_endless_loops() {
        let p = problems(
            "start = \"a\"\n[nodes.a]\ntype = \"say\"\ntext = \"again\"\nnext = \"b\"\n\
             [nodes.b]\ntype = \"answer\"\nnext = \"a\"\n[nodes.lonely]\ntype = \"hangup\"\n",
        );
        assert!(p.contains(&"f.toml: warning: node \"lonely\": unreachable from start \"a\"; no exit leads here".to_owned()), "{p:?}");
        assert!(
            p.iter()
                .any(|m| m.starts_with("f.toml: warning: node \"a\": no way to end")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.starts_with("f.toml: warning: node \"b\": no way to end")),
            "{p:?}"
        );
    }

    #[test]
    fn ivr_validate_warns_on_unset_variables_but_not_built_ins_or_set_ones() {
        let p = problems(
            "start = \"s\"\n[nodes.s]\ntype = \"set\"\nvars = { greeting = \"Hello\" }\nnext = \"say\"\n\
             [nodes.say]\ntype = \"say\"\ntext = \"${greeting} ${caller} on ${did}, ${vip_levl}\"\nnext = \"end\"\n\
             [nodes.end]\ntype = \"hangup\"\n",
        );
        assert_eq!(
            p,
            vec![
                "f.toml: warning: node \"say\": field \"text\": variable \"vip_levl\" is never set (no set, gather or webhook node sets it, and it is not built in)"
            ]
        );
    }

    #[test]
    fn ivr_validate_checks_transfer_targets_and_knows_the_menu_key_variable() {
        let p = problems(
            "start = \"m\"\n[nodes.m]\ntype = \"menu\"\nsay = \"Press\"\ndigits = { 1 = \"t\" }\ninvalid = \"t\"\nno_input = \"t\"\n\
             [nodes.t]\ntype = \"dial\"\nto = \"10${digits}${extn}\"\n",
        );
        assert_eq!(
            p,
            vec![
                "f.toml: warning: node \"t\": field \"to\": variable \"extn\" is never set (no set, gather or webhook node sets it, and it is not built in)"
            ]
        );
    }

    #[test]
    fn ivr_validate_rejects_bad_menu_keys_and_ambiguous_branch_rules() {
        let p = problems(
            "start = \"m\"\n[nodes.m]\ntype = \"menu\"\nplay = \"x.wav\"\ndigits = { 12 = \"b\" }\ninvalid = \"b\"\nno_input = \"b\"\n\
             [nodes.b]\ntype = \"branch\"\ndefault = \"e\"\n[[nodes.b.rules]]\nvar = \"caller\"\nequals = \"1\"\nstarts_with = \"2\"\nnext = \"e\"\n\
             [nodes.e]\ntype = \"hangup\"\n",
        );
        assert!(
            p.iter()
                .any(|m| m.contains("node \"m\": field \"digits.12\": a key must be one of")),
            "{p:?}"
        );
        assert!(
            p.iter()
                .any(|m| m.contains("node \"b\": field \"rules[1]\": has 2 tests")),
            "{p:?}"
        );
    }
}
