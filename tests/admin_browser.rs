//! The admin pages in Chromium, end to end (`tests/web/admin_e2e.mjs` with
//! `playwright-core`) against a real `kefu serve --demo`: the demo admin logs
//! in, creates an agent with a skill, creates and changes a queue, routes a
//! number, adds a trunk, sees an IVR flow's error marked on its line and the
//! diagram once it is fixed, creates a flow, and edits business hours; every
//! wrong value is shown next to its field and every request stays on kefu
//! (no CDN).
//! Screenshots of each page are kept under `CARGO_TARGET_TMPDIR/admin-e2e/`
//! (the ones in `docs/screenshots/` are copies).

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::path::Path;
use std::process::Command;

use common::kefu::{Kefu, Options, http};
use serde_json::Value;

const CHROMIUM: &str = "/usr/bin/chromium";

#[test]
fn the_demo_admin_manages_agents_queues_numbers_flows_and_hours_in_chromium() {
    let web = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/web");
    assert!(
        Path::new(CHROMIUM).exists(),
        "Chromium is missing: apt-get install -y chromium (or scripts/install-deps.sh test)"
    );
    assert!(
        web.join("node_modules/playwright-core").exists(),
        "playwright-core is missing: npm install --prefix tests/web (or scripts/install-deps.sh test)"
    );
    let dir = tempfile::tempdir().unwrap();
    let kefu = Kefu::start(
        dir.path(),
        Options {
            demo: true,
            ..Options::default()
        },
    );
    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("admin-e2e");
    // No screenshot of an earlier run may stand in for one of this run.
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let output = Command::new("node")
        .arg(web.join("admin_e2e.mjs"))
        .arg(kefu.url(""))
        .arg(&artifacts)
        .output()
        .expect("node (apt-get install -y nodejs)");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.lines().any(|l| l == "ok"),
        "the browser test failed\nbrowser:\n{}\nkefu:\n{}",
        String::from_utf8_lossy(&output.stderr),
        kefu.stderr()
    );
    for shot in [
        "0-login",
        "1-agents",
        "1-agents-edit",
        "2-queues",
        "3-numbers",
        "4-ivr-error",
        "5-ivr",
        "6-hours",
    ] {
        assert!(artifacts.join(format!("{shot}.png")).exists(), "{shot}");
    }

    // What the browser did is what kefu now holds.
    let token = kefu.printed_token("kefu_admin_").unwrap();
    let get = |path: &str| -> Value {
        http()
            .get(kefu.url(path))
            .bearer_auth(&token)
            .send()
            .unwrap()
            .json()
            .unwrap()
    };
    let agent = get("/api/v1/users/1020?tenant=demo");
    assert_eq!(agent["display_name"], "Erin Zhao");
    assert_eq!(agent["skills"][0]["name"], "french");
    assert_eq!(agent["skills"][0]["level"], 7);
    let flow = get("/api/v1/ivr/flows/default?tenant=demo");
    assert_eq!(flow["version"], 2);
    assert_eq!(get("/api/v1/ivr/flows/hello?tenant=demo")["version"], 1);
    let trunk = get("/api/v1/trunks?tenant=demo");
    assert!(
        trunk
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == "carrier" && t["trusted_cidrs"] == "203.0.113.0/24"),
        "{trunk}"
    );
    let numbers = get("/api/v1/numbers?tenant=demo");
    assert!(
        numbers
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["number"] == "4010" && n["route"]["target"] == "support"),
        "{numbers}"
    );
}
