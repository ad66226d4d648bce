//! `kefu ivr validate` and `kefu ivr render` as admins run them: every
//! shipped flow validates, broken flows exit 1 naming node and field, and
//! the drawing holds every node and exit.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn kefu(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(args)
        .output()
        .expect("run kefu")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn shipped_flows() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-scripts");
    let mut flows: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    flows.sort();
    flows
}

fn write_flow(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn ivr_validate_accepts_every_shipped_flow() {
    let flows = shipped_flows();
    assert!(flows.len() >= 3, "default plus two examples: {flows:?}");
    let args: Vec<&str> = ["ivr", "validate"]
        .into_iter()
        .chain(flows.iter().map(|p| p.to_str().unwrap()))
        .collect();
    let out = kefu(&args);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    let expected: Vec<String> = flows
        .iter()
        .map(|p| format!("{}: ok", p.display()))
        .collect();
    assert_eq!(stdout(&out).lines().collect::<Vec<_>>(), expected);
}

#[test]
fn ivr_validate_broken_flow_exits_1_naming_node_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_flow(
        dir.path(),
        "broken.toml",
        "start = \"menu\"\n\
         [nodes.menu]\ntype = \"menu\"\nsay = \"Press 1\"\ndigits = { 1 = \"sales\" }\n\
         invalid = \"goodbey\"\nno_input = \"goodbye\"\n\
         [nodes.sales]\ntype = \"queue\"\nqueue = \"sales\"\npriority = 10\n\
         [nodes.goodbye]\ntype = \"hangup\"\n",
    );
    let out = kefu(&["ivr", "validate", &file]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!(
            "{file}:6: error: node \"menu\": field \"invalid\": exit points to unknown node \"goodbey\"; did you mean \"goodbye\"?"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{file}:11: error: node \"sales\": field \"priority\": is 10; use 0 (lowest) to 9"
        )),
        "{text}"
    );
}

#[test]
fn ivr_validate_suggests_fixes_for_unknown_types_and_fields() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_flow(
        dir.path(),
        "typos.toml",
        "start = \"hello\"\n\
         [nodes.hello]\ntype = \"say\"\ntxt = \"Hi\"\nnext = \"bye\"\n\
         [nodes.bye]\ntype = \"hangpu\"\n",
    );
    let out = kefu(&["ivr", "validate", &file]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains("node \"hello\": field \"txt\": unknown field; did you mean \"text\"?"),
        "{text}"
    );
    assert!(
        text.contains(
            "node \"bye\": field \"type\": unknown node type \"hangpu\"; did you mean \"hangup\"?"
        ),
        "{text}"
    );
}

#[test]
fn ivr_validate_warnings_alone_exit_0_and_are_printed() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_flow(
        dir.path(),
        "warn.toml",
        "start = \"hello\"\n\
         [nodes.hello]\ntype = \"say\"\ntext = \"Hi ${nobody}\"\nnext = \"bye\"\n\
         [nodes.bye]\ntype = \"hangup\"\n\
         [nodes.orphan]\ntype = \"hangup\"\n",
    );
    let out = kefu(&["ivr", "validate", &file]);
    assert!(out.status.success(), "{}", stdout(&out));
    let text = stdout(&out);
    assert!(
        text.contains(&format!("{file}:8: warning: node \"orphan\": unreachable")),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{file}:4: warning: node \"hello\": field \"text\": variable \"nobody\" is never set"
        )),
        "{text}"
    );
    assert!(!text.contains(": ok"), "{text}");
}

#[test]
fn ivr_validate_missing_file_exits_1() {
    let out = kefu(&["ivr", "validate", "/nonexistent/flow.toml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("/nonexistent/flow.toml: error: cannot read the file"));
}

#[test]
fn ivr_render_dot_contains_every_node_and_exit() {
    for flow in shipped_flows() {
        let path = flow.to_str().unwrap();
        let out = kefu(&["ivr", "render", path, "--format", "dot"]);
        assert!(out.status.success(), "{path}: {}", stderr(&out));
        let dot = stdout(&out);
        assert!(dot.starts_with("digraph "), "{dot}");
        let table: toml::Table = toml::from_str(&std::fs::read_to_string(&flow).unwrap()).unwrap();
        for (name, node) in table["nodes"].as_table().unwrap() {
            assert!(
                dot.contains(&format!("\"{name}\" [label=")),
                "{path}: node {name} missing"
            );
            for exit in [
                "next",
                "invalid",
                "no_input",
                "open",
                "closed",
                "success",
                "failure",
                "default",
                "no_answer",
                "busy",
                "failed",
            ] {
                if let Some(target) = node.get(exit).and_then(|t| t.as_str()) {
                    let edge = format!("\"{name}\" -> \"{target}\" [label=\"{exit}\"];");
                    assert!(dot.contains(&edge), "{path}: {edge} missing");
                }
            }
            if let Some(digits) = node.get("digits").and_then(|d| d.as_table()) {
                for (key, target) in digits {
                    let edge = format!(
                        "\"{name}\" -> \"{}\" [label=\"{key}\"];",
                        target.as_str().unwrap()
                    );
                    assert!(dot.contains(&edge), "{path}: {edge} missing");
                }
            }
        }
    }
}

#[test]
fn ivr_render_svg_goes_through_graphviz() {
    let flow = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-scripts/default.toml");
    let out = kefu(&["ivr", "render", flow.to_str().unwrap(), "--format", "svg"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let svg = stdout(&out);
    assert!(svg.contains("<svg") && svg.contains("welcome"), "{svg}");
}

#[test]
fn ivr_render_svg_without_dot_names_the_package_to_install() {
    let empty = tempfile::tempdir().unwrap();
    let flow = Path::new(env!("CARGO_MANIFEST_DIR")).join("ivr-scripts/default.toml");
    let out = Command::new(env!("CARGO_BIN_EXE_kefu"))
        .args(["ivr", "render", flow.to_str().unwrap(), "--format", "svg"])
        .env("PATH", empty.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("apt-get install -y graphviz"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ivr_render_refuses_a_flow_with_errors() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_flow(
        dir.path(),
        "bad.toml",
        "start = \"nowhere\"\n[nodes.a]\ntype = \"hangup\"\n",
    );
    let out = kefu(&["ivr", "render", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("field \"start\": points to unknown node \"nowhere\""),
        "{}",
        stderr(&out)
    );
    assert!(stdout(&out).is_empty());
}
