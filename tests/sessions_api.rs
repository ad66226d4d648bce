//! Web logins through the API as a browser uses them, on SQLite and on
//! PostgreSQL: `POST /api/v1/sessions` with a user name (or extension) and
//! web password gives a bearer token that works until
//! `DELETE /api/v1/sessions/current`; a wrong password and an unknown user
//! get the same 401; failures lock the user name out (429, `Retry-After`).

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use common::kefu::{Kefu, http};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn login(kefu: &Kefu, body: &Value) -> reqwest::blocking::Response {
    http()
        .post(kefu.url("/api/v1/sessions"))
        .json(body)
        .send()
        .unwrap()
}

fn me(kefu: &Kefu, token: &str) -> reqwest::blocking::Response {
    http()
        .get(kefu.url("/api/v1/me"))
        .bearer_auth(token)
        .send()
        .unwrap()
}

crate::demo_on_both_engines!(a_session_token_works_until_logout);
fn a_session_token_works_until_logout(kefu: &Kefu) {
    let before = kefu::store::Millis::now().0;
    let response = login(kefu, &json!({"username": "admin", "password": "demoadmin"}));
    assert_eq!(response.status(), StatusCode::CREATED);
    let session: Value = response.json().unwrap();
    let token = session["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("kefu_session_"), "{session}");
    assert_eq!(session["user"]["role"], "admin");
    assert_eq!(session["user"]["tenant"], "demo");
    let expires_at = session["expires_at"].as_i64().unwrap();
    let twelve_hours = 12 * 3600 * 1000;
    assert!(
        (before + twelve_hours..before + twelve_hours + 60_000).contains(&expires_at),
        "{session}"
    );

    let who: Value = me(kefu, &token).json().unwrap();
    assert_eq!(who["user"]["username"], "admin");
    assert_eq!(who["user"]["role"], "admin");

    let out = http()
        .delete(kefu.url("/api/v1/sessions/current"))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(out.status(), StatusCode::NO_CONTENT);
    assert_eq!(me(kefu, &token).status(), StatusCode::UNAUTHORIZED);

    // An API token is not a session: logging out with it is refused, and it
    // keeps working.
    let api_token = kefu.agent_token("1001");
    let refused = http()
        .delete(kefu.url("/api/v1/sessions/current"))
        .bearer_auth(&api_token)
        .send()
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    assert_eq!(me(kefu, &api_token).status(), StatusCode::OK);
}

crate::demo_on_both_engines!(agents_log_in_by_extension_with_or_without_the_tenant);
fn agents_log_in_by_extension_with_or_without_the_tenant(kefu: &Kefu) {
    for body in [
        json!({"username": "1001", "password": "demo1001"}),
        json!({"tenant": "demo", "username": "1001", "password": "demo1001"}),
    ] {
        let response = login(kefu, &body);
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        let session: Value = response.json().unwrap();
        assert_eq!(session["user"]["extension"], "1001");
        assert_eq!(session["user"]["role"], "agent");
        let token = session["token"].as_str().unwrap();
        assert_eq!(me(kefu, token).status(), StatusCode::OK);
    }
    let elsewhere = login(
        kefu,
        &json!({"tenant": "other", "username": "1001", "password": "demo1001"}),
    );
    assert_eq!(elsewhere.status(), StatusCode::UNAUTHORIZED);
}

crate::demo_on_both_engines!(a_wrong_password_and_an_unknown_user_get_the_same_401);
fn a_wrong_password_and_an_unknown_user_get_the_same_401(kefu: &Kefu) {
    let wrong = login(kefu, &json!({"username": "1002", "password": "nope"}));
    let unknown = login(kefu, &json!({"username": "9999", "password": "nope"}));
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.headers()["www-authenticate"], "Bearer realm=\"kefu\"");
    let wrong: Value = wrong.json().unwrap();
    let unknown: Value = unknown.json().unwrap();
    assert_eq!(wrong, unknown);
    assert_eq!(wrong["detail"], "wrong user name or password");
}

crate::demo_on_both_engines!(repeated_failures_lock_the_user_out);
fn repeated_failures_lock_the_user_out(kefu: &Kefu) {
    for _ in 0..5 {
        let response = login(kefu, &json!({"username": "1002", "password": "guess"}));
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    }
    let locked = login(kefu, &json!({"username": "1002", "password": "demo1002"}));
    assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS);
    let retry: u64 = locked.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    let problem: Value = locked.json().unwrap();
    assert_eq!(problem["status"], 429);
    // Other users are not locked out by someone guessing at 1002.
    let other = login(kefu, &json!({"username": "1003", "password": "demo1003"}));
    assert_eq!(other.status(), StatusCode::CREATED);
}

crate::demo_on_both_engines!(a_malformed_login_names_the_field);
fn a_malformed_login_names_the_field(kefu: &Kefu) {
    for (body, field) in [
        (json!({"username": "admin"}), "password"),
        (json!({"username": "", "password": "x"}), "username"),
        (json!({"username": "admin", "password": ""}), "password"),
        (
            json!({"username": "admin", "password": "x", "pin": 1}),
            "pin",
        ),
    ] {
        let response = login(kefu, &body);
        assert!(response.status().is_client_error(), "{body}");
        assert_eq!(
            response.headers()["content-type"],
            "application/problem+json"
        );
        let problem: Value = response.json().unwrap();
        let detail = problem["detail"].as_str().unwrap();
        assert!(detail.contains(field), "{detail} should name {field}");
    }
    let bad_json = http()
        .post(kefu.url("/api/v1/sessions"))
        .header("content-type", "application/json")
        .body("{\"username\":")
        .send()
        .unwrap();
    assert_eq!(bad_json.status(), StatusCode::BAD_REQUEST);
}
