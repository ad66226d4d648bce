//! Drawing a flow: Graphviz DOT text with one box per node (type and key
//! fields) and one edge per exit (labelled with the exit), and SVG by piping
//! that DOT through the `dot` program.

use std::fmt::Write as _;
use std::io::Write as _;
use std::process::{Command, Stdio};

use thiserror::Error;

use super::model::{Flow, Node, Prompt};

/// Why SVG could not be made.
#[derive(Debug, Error)]
pub enum SvgError {
    #[error(
        "the Graphviz `dot` program is not installed; install it with `apt-get install -y graphviz`"
    )]
    DotMissing,
    #[error("running `dot`: {0}")]
    Io(#[from] std::io::Error),
    #[error("`dot` failed: {0}")]
    DotFailed(String),
}

/// The flow as a Graphviz DOT digraph.
pub fn dot(flow: &Flow) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "digraph {} {{", quote(&flow.name));
    out.push_str("  rankdir=TB;\n  node [shape=box, style=rounded, fontname=\"Helvetica\"];\n");
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=10];\n");
    out.push_str("  \"__start\" [shape=circle, label=\"start\", width=0.3];\n");
    let _ = writeln!(out, "  \"__start\" -> {};", quote(&flow.start));
    for (name, node) in &flow.nodes {
        let shape = if node.is_terminal() {
            ", shape=box, peripheries=2"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "  {} [label={}{shape}];",
            quote(name),
            quote(&label(name, node))
        );
    }
    for (name, node) in &flow.nodes {
        for exit in node.exits() {
            let _ = writeln!(
                out,
                "  {} -> {} [label={}];",
                quote(name),
                quote(exit.target),
                quote(&exit.label)
            );
        }
    }
    out.push_str("}\n");
    out
}

/// `dot -Tsvg` of [`dot`]'s output.
pub fn svg(flow: &Flow) -> Result<String, SvgError> {
    let mut child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| match err.kind() {
            std::io::ErrorKind::NotFound => SvgError::DotMissing,
            _ => SvgError::Io(err),
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(dot(flow).as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if !output.status.success() {
        return Err(SvgError::DotFailed(
            String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        ));
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A DOT string literal.
fn quote(text: &str) -> String {
    format!(
        "\"{}\"",
        text.replace('\\', "\\\\")
            .replace('"', "\\\"")
            .replace('\n', "\\n")
    )
}

/// Shorten long texts so boxes stay readable.
fn short(text: &str) -> String {
    const MAX: usize = 40;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(MAX).collect::<String>())
    }
}

fn prompt_line(prompt: Option<Prompt>) -> String {
    match prompt {
        Some(Prompt::Say { text, language, .. }) => format!("say [{language}]: {}", short(&text)),
        Some(Prompt::Play { file }) => format!("play {file}"),
        None => String::new(),
    }
}

fn label(name: &str, node: &Node) -> String {
    let detail = match node {
        Node::Answer(_) | Node::Hangup(_) => String::new(),
        Node::Play(play) => play.file.clone(),
        Node::Say(say) => format!("[{}] {}", say.language, short(&say.text)),
        Node::Menu(menu) => format!(
            "{}\ntimeout {}s, retries {}",
            prompt_line(menu.prompt()),
            menu.timeout_secs,
            menu.retries
        ),
        Node::Gather(g) => format!(
            "{}\n{}..{} digits → ${{{}}}",
            prompt_line(g.prompt()),
            g.min_digits,
            g.max_digits,
            g.variable
        ),
        Node::Set(set) => set
            .vars
            .iter()
            .map(|(k, v)| format!("{k} = {}", short(v)))
            .collect::<Vec<_>>()
            .join("\n"),
        Node::Branch(branch) => format!("{} rules", branch.rules.len()),
        Node::Hours(hours) => format!("calendar {}", hours.calendar),
        Node::Queue(queue) => {
            let skills = if queue.skills.is_empty() {
                String::new()
            } else {
                format!("\nskills: {}", queue.skills.join(", "))
            };
            format!("{}, priority {}{skills}", queue.queue, queue.priority)
        }
        Node::Transfer(transfer) => format!("to {}, {}s", transfer.to, transfer.timeout_secs),
        Node::Record(record) => {
            format!("max {}s, silence {}s", record.max_secs, record.silence_secs)
        }
        Node::Webhook(webhook) => {
            format!("POST {}\n{}s", short(&webhook.url), webhook.timeout_secs)
        }
    };
    let head = format!("{name}\n({})", node.type_name());
    if detail.is_empty() {
        head
    } else {
        format!("{head}\n{detail}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::check;

    #[test]
    fn ivr_render_dot_has_every_node_and_labelled_exit() {
        let flow = check(
            "default.toml",
            include_str!("../../ivr-scripts/default.toml"),
        )
        .flow
        .unwrap();
        let dot = dot(&flow);
        assert!(dot.starts_with("digraph \"default\" {"), "{dot}");
        for name in flow.nodes.keys() {
            assert!(
                dot.contains(&format!("  \"{name}\" [label=\"{name}\\n(")),
                "{name} missing in {dot}"
            );
        }
        assert!(
            dot.contains("\"menu\" -> \"sales\" [label=\"1\"];"),
            "{dot}"
        );
        assert!(
            dot.contains("\"menu\" -> \"goodbye\" [label=\"no_input\"];"),
            "{dot}"
        );
    }

    #[test]
    fn ivr_render_quotes_dot_specials() {
        assert_eq!(quote("a \"b\"\nc\\"), "\"a \\\"b\\\"\\nc\\\\\"");
    }
}
