//! Recordings as their users reach them: `GET /api/v1/recordings/{id}` on a
//! running `kefu serve --demo` (whole file, byte ranges, who may listen) and
//! the retention sweep (called with a chosen "now", and run by `kefu serve`
//! at start). Recordings are real WAV files written by `kefu-recordings`
//! into the server's data dir, with their rows (call, recording, the
//! contact that names the call's agent) written through the same store.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::demo::{get_json, start_demo};
use common::kefu::{Kefu, Options, http};
use kefu::config::DatabaseUrl;
use kefu::store::{
    ContactRecord, Millis, NewCall, NewContact, NewRecording, NewUser, Role, Scope, Store,
    StoreError,
};
use kefu_recordings::{CallId, Recorder, RecorderConfig, Side};
use reqwest::StatusCode;
use reqwest::blocking::Response;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);

/// The canonical WAV header: RIFF, fmt and the start of the data chunk.
const WAV_HEADER_BYTES: usize = 44;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// The store of the SQLite database `kefu serve` uses in `data_dir`.
async fn store_in(data_dir: &Path) -> Store {
    let url = DatabaseUrl::Sqlite(format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("kefu.db").display()
    ));
    Store::open(&url, 2).await.unwrap()
}

/// A recorded call: its CDR id, its recording's id and file.
struct Recorded {
    call_id: String,
    recording_id: String,
    file: PathBuf,
}

/// Records half a second of a call that started at `started` (a tone left,
/// another right) with `kefu-recordings`, and stores the call and the
/// recording's row as call control does.
async fn record_call(
    store: &Store,
    data_dir: &Path,
    tenant_id: Option<&str>,
    started: SystemTime,
) -> Recorded {
    let started_at =
        Millis(i64::try_from(started.duration_since(UNIX_EPOCH).unwrap().as_millis()).unwrap());
    let call_id = store
        .create_call(&NewCall {
            tenant_id,
            direction: "inbound",
            from_uri: "<sip:caller@127.0.0.1>",
            to_uri: "<sip:4000@127.0.0.1>",
            did: Some("4000"),
            started_at,
        })
        .await
        .unwrap();
    let origin = Instant::now();
    let recorder = Recorder::start(
        &RecorderConfig::new(data_dir),
        CallId::new(call_id.clone()).unwrap(),
        started,
        origin,
    )
    .unwrap();
    let tone = |step: usize| -> Vec<i16> {
        (0..160)
            .map(|n| if (n / step) % 2 == 0 { 8000 } else { -8000 })
            .collect()
    };
    for frame in 0..25 {
        let at = origin + Duration::from_millis(20 * frame);
        recorder.feed(Side::Caller, at, &tone(4));
        recorder.feed(Side::Agent, at, &tone(9));
    }
    let meta = recorder
        .finish(origin + Duration::from_millis(500))
        .unwrap();
    let path = meta.path.display().to_string();
    let recording_id = store
        .create_recording(&NewRecording {
            tenant_id,
            call_id: &call_id,
            path: &path,
            sample_rate: 8000,
            started_at,
        })
        .await
        .unwrap();
    store
        .finish_recording(
            &recording_id,
            Millis(started_at.0 + 500),
            500,
            i64::try_from(meta.bytes).unwrap(),
            &serde_json::json!([]),
        )
        .await
        .unwrap();
    Recorded {
        call_id,
        recording_id,
        file: data_dir.join(meta.path),
    }
}

/// The ACD's record of `user_id` accepting the call as a queued contact.
async fn assign_agent(store: &Store, tenant_id: &str, call_id: &str, user_id: &str) {
    let contact = store
        .create_contact(&NewContact {
            tenant_id,
            channel: "voice",
            queue_id: None,
            priority: 0,
            customer_id: None,
            call_id: Some(call_id),
            created_at: Millis::now(),
        })
        .await
        .unwrap();
    store
        .apply_contact_record(&ContactRecord {
            contact_id: contact.id,
            at: Millis::now(),
            kind: "accepted",
            user_id: Some(user_id.to_owned()),
            data: serde_json::json!({}),
            state: "assigned",
            assigns: true,
            ends: None,
        })
        .await
        .unwrap();
}

/// The demo server with two recorded calls, one handled by agent 1001 and
/// one by 1002, and a supervisor's token.
struct Demo {
    _dir: tempfile::TempDir,
    kefu: Kefu,
    admin: String,
    supervisor: String,
    agent_1001: String,
    agent_1002: String,
    /// The call agent 1001 handled.
    call: Recorded,
    /// The call agent 1002 handled.
    other_call: Recorded,
}

fn demo() -> Demo {
    let (dir, kefu, admin) = start_demo(&[]);
    let (call, other_call, supervisor) = runtime().block_on(async {
        let store = store_in(dir.path()).await;
        let tenant = store.tenant_by_name("demo").await.unwrap().unwrap();
        let user = |name: &'static str| {
            let store = &store;
            let tenant_id = tenant.id.clone();
            async move {
                store
                    .user_by_username(&tenant_id, name)
                    .await
                    .unwrap()
                    .unwrap()
            }
        };
        let now = SystemTime::now();
        let call = record_call(&store, dir.path(), Some(&tenant.id), now).await;
        assign_agent(&store, &tenant.id, &call.call_id, &user("1001").await.id).await;
        let other = record_call(&store, dir.path(), Some(&tenant.id), now).await;
        assign_agent(&store, &tenant.id, &other.call_id, &user("1002").await.id).await;
        let (supervisor, _) = store
            .ensure_user(&NewUser {
                tenant_id: &tenant.id,
                username: "sam",
                display_name: "Sam the supervisor",
                role: Role::Supervisor,
                extension: None,
                password: None,
            })
            .await
            .unwrap();
        let token = store
            .issue_token("test", Scope::Agent, Some(&tenant.id), Some(&supervisor.id))
            .await
            .unwrap();
        store.close().await;
        (call, other, token.secret)
    });
    Demo {
        agent_1001: kefu.agent_token("1001"),
        agent_1002: kefu.agent_token("1002"),
        _dir: dir,
        kefu,
        admin,
        supervisor,
        call,
        other_call,
    }
}

impl Demo {
    fn download(&self, recording: &Recorded, token: Option<&str>, range: Option<&str>) -> Response {
        let mut request = http().get(
            self.kefu
                .url(&format!("/api/v1/recordings/{}", recording.recording_id)),
        );
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(range) = range {
            request = request.header("Range", range);
        }
        request.send().unwrap()
    }
}

fn header<'a>(response: &'a Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header in {response:?}"))
        .to_str()
        .unwrap()
}

#[test]
fn the_whole_recording_streams_as_an_inline_wav() {
    let demo = demo();
    let wav = std::fs::read(&demo.call.file).unwrap();
    let response = demo.download(&demo.call, Some(&demo.admin), None);
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(header(&response, "content-type"), "audio/wav");
    assert_eq!(header(&response, "accept-ranges"), "bytes");
    assert_eq!(header(&response, "content-length"), wav.len().to_string());
    assert_eq!(
        header(&response, "content-disposition"),
        format!("inline; filename=\"{}.wav\"", demo.call.call_id)
    );
    assert!(response.headers().get("content-range").is_none());
    let body = response.bytes().unwrap();
    assert!(wav.len() > 8000, "half a second of 8 kHz stereo");
    assert_eq!(body.as_ref(), wav.as_slice());
}

#[test]
fn the_first_44_bytes_are_the_wav_header() {
    let demo = demo();
    let wav = std::fs::read(&demo.call.file).unwrap();
    let response = demo.download(&demo.call, Some(&demo.admin), Some("bytes=0-43"));
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&response, "content-range"),
        format!("bytes 0-43/{}", wav.len())
    );
    assert_eq!(header(&response, "content-length"), "44");
    assert_eq!(header(&response, "content-type"), "audio/wav");
    let body = response.bytes().unwrap();
    assert_eq!(body.as_ref(), &wav[..WAV_HEADER_BYTES]);
    assert_eq!(&body[..4], b"RIFF");
    assert_eq!(&body[8..12], b"WAVE");
    assert_eq!(&body[36..40], b"data");
    let data_bytes = u32::from_le_bytes(body[40..44].try_into().unwrap());
    assert_eq!(data_bytes as usize, wav.len() - WAV_HEADER_BYTES);
}

#[test]
fn an_open_ended_range_gets_the_rest_of_the_file() {
    let demo = demo();
    let wav = std::fs::read(&demo.call.file).unwrap();
    let response = demo.download(&demo.call, Some(&demo.admin), Some("bytes=44-"));
    assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&response, "content-range"),
        format!("bytes 44-{}/{}", wav.len() - 1, wav.len())
    );
    assert_eq!(
        header(&response, "content-length"),
        (wav.len() - 44).to_string()
    );
    assert_eq!(response.bytes().unwrap().as_ref(), &wav[44..]);
}

#[test]
fn a_range_past_the_end_is_416_with_the_length() {
    let demo = demo();
    let length = std::fs::metadata(&demo.call.file).unwrap().len();
    let range = format!("bytes={length}-");
    let response = demo.download(&demo.call, Some(&demo.admin), Some(&range));
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(
        header(&response, "content-range"),
        format!("bytes */{length}")
    );
    assert_eq!(
        header(&response, "content-type"),
        "application/problem+json"
    );
}

#[test]
fn the_calls_agent_may_listen_but_an_agent_of_another_call_gets_404() {
    let demo = demo();
    let own = demo.download(&demo.call, Some(&demo.agent_1001), None);
    assert_eq!(own.status(), StatusCode::OK);
    let own = demo.download(&demo.other_call, Some(&demo.agent_1002), Some("bytes=0-43"));
    assert_eq!(own.status(), StatusCode::PARTIAL_CONTENT);

    let other = demo.download(&demo.call, Some(&demo.agent_1002), None);
    assert_eq!(other.status(), StatusCode::NOT_FOUND);
    let other: serde_json::Value = other.json().unwrap();
    let unknown = http()
        .get(demo.kefu.url("/api/v1/recordings/no-such-recording"))
        .bearer_auth(&demo.agent_1002)
        .send()
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let unknown: serde_json::Value = unknown.json().unwrap();
    assert_eq!(
        other["detail"],
        format!("no recording `{}`", demo.call.recording_id),
        "said like an unknown one: {unknown}"
    );

    let path = format!("/api/v1/calls/{}", demo.call.call_id);
    let seen_by_other = get_json(&demo.kefu, &demo.agent_1002, &path);
    assert_eq!(seen_by_other["recordings"], serde_json::json!([]));
    let seen_by_own = get_json(&demo.kefu, &demo.agent_1001, &path);
    assert_eq!(
        seen_by_own["recordings"][0]["id"],
        demo.call.recording_id.as_str()
    );
}

#[test]
fn supervisors_and_the_admin_token_may_listen_to_any_call_of_the_tenant() {
    let demo = demo();
    for token in [&demo.supervisor, &demo.admin] {
        for call in [&demo.call, &demo.other_call] {
            let response = demo.download(call, Some(token), None);
            assert_eq!(response.status(), StatusCode::OK);
            let path = format!("/api/v1/calls/{}", call.call_id);
            let detail = get_json(&demo.kefu, token, &path);
            assert_eq!(detail["recordings"].as_array().unwrap().len(), 1);
        }
    }
}

#[test]
fn without_a_token_a_recording_is_401() {
    let demo = demo();
    let response = demo.download(&demo.call, None, None);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let response = demo.download(&demo.call, Some("kefu_agent_not-a-token"), None);
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
}

#[test]
fn the_sweep_deletes_old_recordings_files_and_rows_and_keeps_recent_ones() {
    let dir = tempfile::tempdir().unwrap();
    runtime().block_on(async {
        let store = store_in(dir.path()).await;
        let now = SystemTime::now();
        let old = record_call(&store, dir.path(), None, now - 40 * DAY).await;
        let gone = record_call(&store, dir.path(), None, now - 35 * DAY).await;
        let recent = record_call(&store, dir.path(), None, now - DAY).await;
        let old_bytes = std::fs::metadata(&old.file).unwrap().len();
        std::fs::remove_file(&gone.file).unwrap();

        let keep = NonZeroU32::new(30).unwrap();
        let summary = kefu::retention::sweep(&store, dir.path(), keep, now)
            .await
            .unwrap();

        assert_eq!(summary.recordings, 2, "{summary:?}");
        assert_eq!(summary.freed_bytes, old_bytes);
        assert_eq!(summary.failures, 0);
        assert!(!old.file.exists());
        assert!(recent.file.exists());
        for deleted in [&old, &gone] {
            assert!(matches!(
                store.recording(&deleted.recording_id).await,
                Err(StoreError::NotFound { .. })
            ));
        }
        assert!(store.recording(&recent.recording_id).await.is_ok());

        let again = kefu::retention::sweep(&store, dir.path(), keep, now)
            .await
            .unwrap();
        assert_eq!(again.recordings, 0, "nothing left to delete: {again:?}");
        let later = now + 30 * DAY;
        let summary = kefu::retention::sweep(&store, dir.path(), keep, later)
            .await
            .unwrap();
        assert_eq!(summary.recordings, 1, "a month on, the recent one goes");
        assert!(!recent.file.exists());
    });
}

#[test]
fn kefu_serve_sweeps_at_start_when_retention_is_set() {
    let dir = tempfile::tempdir().unwrap();
    let (old, recent) = runtime().block_on(async {
        let store = store_in(dir.path()).await;
        let now = SystemTime::now();
        let old = record_call(&store, dir.path(), None, now - 8 * DAY).await;
        let recent = record_call(&store, dir.path(), None, now).await;
        store.close().await;
        (old, recent)
    });
    let kefu = Kefu::start(
        dir.path(),
        Options {
            env: vec![("KEFU_RECORDINGS_RETENTION_DAYS".into(), "7".into())],
            ..Options::default()
        },
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !kefu.stderr().contains("deleted 1 recordings") {
        assert!(
            Instant::now() < deadline,
            "no sweep line:\n{}",
            kefu.stderr()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!old.file.exists());
    assert!(recent.file.exists());
    let metrics = http()
        .get(kefu.url("/metrics"))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        metrics
            .lines()
            .any(|line| line == "kefu_recordings_deleted_total 1"),
        "{metrics}"
    );
}
