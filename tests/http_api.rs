//! The HTTP side of a running `kefu serve`: health, metrics, bearer auth,
//! problem documents, the OpenAPI document and the demo tenant's data.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::kefu::{Kefu, Options, http};
use reqwest::StatusCode;
use serde_json::Value;

fn demo() -> (tempfile::TempDir, Kefu) {
    let dir = tempfile::tempdir().unwrap();
    let kefu = Kefu::start(
        dir.path(),
        Options {
            demo: true,
            ..Options::default()
        },
    );
    (dir, kefu)
}

#[test]
fn healthz_answers_200_once_ready() {
    let (_dir, kefu) = demo();
    let res = http().get(kefu.url("/healthz")).send().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().unwrap().trim(), "ok");
}

#[test]
fn metrics_are_prometheus_text_counting_requests() {
    let (_dir, kefu) = demo();
    http().get(kefu.url("/healthz")).send().unwrap();
    let res = http().get(kefu.url("/metrics")).send().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let body = res.text().unwrap();
    assert!(
        body.contains("# TYPE kefu_http_requests_total counter"),
        "{body}"
    );
    assert!(
        body.contains(r#"kefu_http_requests_total{method="GET",route="/healthz",status="200"} 1"#),
        "{body}"
    );
    assert!(body.contains(r#"kefu_build_info{version=""#), "{body}");
}

#[test]
fn api_without_token_is_401_with_a_problem_document() {
    let (_dir, kefu) = demo();
    let res = http().get(kefu.url("/api/v1/me")).send().unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"kefu\"");
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let problem: Value = res.json().unwrap();
    assert_eq!(problem["status"], 401);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Authorization")
    );
}

#[test]
fn api_with_wrong_token_is_401() {
    let (_dir, kefu) = demo();
    for header in [
        "Bearer kefu_admin_0000",
        "Basic YWRtaW46YWRtaW4=",
        "Bearer ",
    ] {
        let res = http()
            .get(kefu.url("/api/v1/me"))
            .header("authorization", header)
            .send()
            .unwrap();
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{header}");
    }
}

#[test]
fn generated_admin_token_is_printed_once_and_grants_access() {
    let dir = tempfile::tempdir().unwrap();
    let first = Kefu::start(dir.path(), Options::default());
    let token = first
        .printed_token("kefu_admin_")
        .expect("admin token printed on first start");
    let res = http()
        .get(first.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let me: Value = res.json().unwrap();
    assert_eq!(me["scope"], "admin");
    drop(first);

    let second = Kefu::start(dir.path(), Options::default());
    assert_eq!(
        second.printed_token("kefu_admin_"),
        None,
        "printed only once"
    );
    let res = http()
        .get(second.url("/api/v1/tenants"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "the stored hash still matches after restart"
    );
    let db = std::fs::read(dir.path().join("kefu.db")).unwrap();
    assert!(
        !db.windows(token.len()).any(|w| w == token.as_bytes()),
        "the token itself is never stored"
    );
}

#[test]
fn configured_admin_token_from_env_grants_access() {
    let dir = tempfile::tempdir().unwrap();
    let token = "a-configured-admin-token-0123456789";
    let kefu = Kefu::start(
        dir.path(),
        Options {
            env: vec![("KEFU_ADMIN_TOKEN".into(), token.into())],
            ..Options::default()
        },
    );
    assert_eq!(
        kefu.printed_token("kefu_admin_"),
        None,
        "nothing generated when configured"
    );
    let res = http()
        .get(kefu.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
}

#[test]
fn admin_token_reset_revokes_the_old_one() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = Kefu::start(dir.path(), Options::default());
    let old = kefu.printed_token("kefu_admin_").unwrap();
    let out = common::kefu::command(dir.path())
        .args(["admin-token", "--reset", "--data-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text.find("kefu_admin_").expect("new token printed");
    let new: String = text[start..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    let status = |token: &str| {
        http()
            .get(kefu.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(status(&old), StatusCode::UNAUTHORIZED);
    assert_eq!(status(&new), StatusCode::OK);
}

#[test]
fn demo_tenant_has_its_numbers_queues_and_agents() {
    let (_dir, kefu) = demo();
    let admin = kefu.printed_token("kefu_admin_").unwrap();
    let get = |path: &str| -> Value {
        let res = http()
            .get(kefu.url(path))
            .bearer_auth(&admin)
            .send()
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        res.json().unwrap()
    };
    let numbers = get("/api/v1/tenants/demo/numbers");
    assert_eq!(numbers[0]["number"], "4000");
    assert_eq!(
        numbers[0]["route"],
        serde_json::json!({"kind": "ivr", "target": "default"})
    );
    assert_eq!(numbers[1]["number"], "4001");
    assert_eq!(numbers[1]["route"], serde_json::json!({"kind": "echo"}));
    let queues: Vec<String> = get("/api/v1/tenants/demo/queues")
        .as_array()
        .unwrap()
        .iter()
        .map(|q| q["name"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(queues, ["sales", "support"]);
    let agents: Vec<String> = get("/api/v1/tenants/demo/agents")
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["extension"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(agents, ["1001", "1002", "1003"]);
    let trunks = get("/api/v1/tenants/demo/trunks");
    assert_eq!(trunks[0]["name"], "demo");
    assert_eq!(trunks[0]["trusted_cidrs"], "127.0.0.1/32");
}

#[test]
fn agent_token_sees_its_own_tenant_but_not_trunks() {
    let (_dir, kefu) = demo();
    let token = kefu.agent_token("1002");
    let me: Value = http()
        .get(kefu.url("/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(me["scope"], "agent");
    assert_eq!(me["user"]["extension"], "1002");
    assert!(
        me["user"].get("password_hash").is_none(),
        "no secrets in the API"
    );
    let res = http()
        .get(kefu.url("/api/v1/tenants/demo/queues"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let res = http()
        .get(kefu.url("/api/v1/tenants/demo/trunks"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let res = http()
        .get(kefu.url("/api/v1/tenants/other/queues"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
}

#[test]
fn demo_provisioning_is_idempotent_and_rotates_agent_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let first = Kefu::start(
        dir.path(),
        Options {
            demo: true,
            ..Options::default()
        },
    );
    let admin = first.printed_token("kefu_admin_").unwrap();
    let old_agent = first.agent_token("1001");
    drop(first);
    let second = Kefu::start(
        dir.path(),
        Options {
            demo: true,
            ..Options::default()
        },
    );
    let agents: Value = http()
        .get(second.url("/api/v1/tenants/demo/agents"))
        .bearer_auth(&admin)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        agents.as_array().unwrap().len(),
        3,
        "no duplicates after a second --demo"
    );
    let status = |token: &str| {
        http()
            .get(second.url("/api/v1/me"))
            .bearer_auth(token)
            .send()
            .unwrap()
            .status()
    };
    assert_eq!(
        status(&old_agent),
        StatusCode::UNAUTHORIZED,
        "old demo tokens are revoked"
    );
    assert_eq!(status(&second.agent_token("1001")), StatusCode::OK);
}

#[test]
fn openapi_document_lists_the_api() {
    let (_dir, kefu) = demo();
    let res = http().get(kefu.url("/api/v1/openapi.json")).send().unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let doc: Value = res.json().unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in [
        "/healthz",
        "/metrics",
        "/api/v1/me",
        "/api/v1/tenants/{tenant}/numbers",
        "/api/v1/calendars",
        "/api/v1/calendars/{name}",
        "/api/v1/ivr/flows",
        "/api/v1/ivr/flows/{name}",
        "/api/v1/ivr/flows/{name}/svg",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[test]
fn unknown_api_path_is_a_404_problem() {
    let (_dir, kefu) = demo();
    let res = http().get(kefu.url("/api/v1/nope")).send().unwrap();
    assert_eq!(res.status(), StatusCode::NOT_FOUND);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
}
