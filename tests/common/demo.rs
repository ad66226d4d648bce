//! `kefu serve --demo` for API and call tests: a started server with its
//! admin token, API requests and JSON reads with a token, and the newest
//! call record of a number once it reaches a given state.

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

use super::kefu::{Kefu, Options, http};

/// Starts `kefu serve --demo` with these extra environment variables in a
/// fresh data dir; returns the dir, the server and its admin token.
pub fn start_demo(env: &[(&str, &str)]) -> (tempfile::TempDir, Kefu, String) {
    let dir = tempfile::tempdir().expect("a data dir");
    let kefu = Kefu::start(
        dir.path(),
        Options {
            demo: true,
            env: env
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
            ..Options::default()
        },
    );
    let token = kefu.printed_token("kefu_admin_").expect("admin token");
    (dir, kefu, token)
}

/// `kefu serve --demo` in `dir`, on SQLite there or on `database_url`.
pub fn demo_on(dir: &std::path::Path, database_url: Option<String>) -> Kefu {
    Kefu::start(
        dir,
        Options {
            demo: true,
            database_url,
            ..Options::default()
        },
    )
}

/// Runs `scenario(&Kefu)` against `kefu serve --demo` ([`demo_on`]) as two
/// tests: on SQLite and on a throwaway PostgreSQL database.
#[macro_export]
macro_rules! demo_on_both_engines {
    ($scenario:ident) => {
        mod $scenario {
            #[test]
            fn sqlite() {
                let dir = tempfile::tempdir().unwrap();
                let kefu = $crate::common::demo::demo_on(dir.path(), None);
                super::$scenario(&kefu);
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                let db = $crate::common::postgres::database().await;
                let url = db.url.clone();
                tokio::task::spawn_blocking(move || {
                    let dir = tempfile::tempdir().unwrap();
                    let kefu = $crate::common::demo::demo_on(dir.path(), Some(url));
                    super::$scenario(&kefu);
                })
                .await
                .unwrap();
            }
        }
    };
}

/// `method path` with `token` and an optional JSON body; `for_demo` adds
/// `tenant=demo` (the admin token names the tenant it acts in). Returns the
/// status and the JSON answer (null when there is none).
pub fn request(
    kefu: &Kefu,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
    for_demo: bool,
) -> (StatusCode, Value) {
    let mut url = kefu.url(path);
    if for_demo {
        url.push_str(if url.contains('?') { "&" } else { "?" });
        url.push_str("tenant=demo");
    }
    let method = Method::from_bytes(method.as_bytes()).expect("an HTTP method");
    let request = http().request(method, url).bearer_auth(token);
    let request = match body {
        Some(body) => request.json(&body),
        None => request,
    };
    let response = request.send().expect("an HTTP answer");
    let status = response.status();
    let text = response.text().expect("the answer's body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// `GET path` with `token`; the answer must be 200 JSON.
pub fn get_json(kefu: &Kefu, token: &str, path: &str) -> Value {
    let response = http()
        .get(kefu.url(path))
        .bearer_auth(token)
        .send()
        .expect("an HTTP answer");
    assert_eq!(response.status(), 200, "{path}");
    response.json().expect("JSON")
}

/// Changes the demo queue `queue`'s routing settings (`PUT /api/v1/queues/{name}`).
pub fn configure_queue(kefu: &Kefu, token: &str, queue: &str, settings: &Value) {
    let response = http()
        .put(kefu.url(&format!("/api/v1/queues/{queue}?tenant=demo")))
        .bearer_auth(token)
        .json(settings)
        .send()
        .expect("an HTTP answer");
    assert_eq!(response.status(), 200, "PUT queue {queue}");
}

/// The newest call to `did`, with its legs and recordings, once `done`
/// holds for its record; waits at most `limit`.
pub fn newest_call(
    kefu: &Kefu,
    token: &str,
    did: &str,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let deadline = Instant::now() + limit;
    loop {
        let calls = get_json(kefu, token, &format!("/api/v1/calls?did={did}&limit=1"));
        if let Some(call) = calls.as_array().and_then(|calls| calls.first()) {
            if done(call) {
                let id = call["id"].as_str().expect("a call id");
                return get_json(kefu, token, &format!("/api/v1/calls/{id}"));
            }
        }
        assert!(
            Instant::now() < deadline,
            "no call to {did} as awaited: {calls}\nkefu:\n{}",
            kefu.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether a call record is finished.
pub fn ended(call: &Value) -> bool {
    !call["ended_at"].is_null()
}
