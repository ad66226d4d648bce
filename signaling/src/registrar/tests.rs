//! The registrar, driven REGISTER by REGISTER with a fake clock and a seeded RNG.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand::rngs::StdRng;
use rsip::headers::UntypedHeader;
use rsip::{Header, Request, SipMessage};

use super::*;
use crate::auth::digest::request_digest;
use crate::auth::{Algorithm, QopAuth};
use crate::message::{encode, parse_message};
use crate::transaction::Transport;

const REALM: &str = "kefu";
const PASSWORD: &str = "demo1001";

fn at(seconds: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
}

fn phone() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "192.0.2.20:5060".parse().unwrap(),
    }
}

fn store(realm: &str, username: &str) -> Option<Ha1Pair> {
    (realm == REALM && username == "1001").then(|| Ha1Pair::from_password("1001", REALM, PASSWORD))
}

fn registrar() -> Registrar {
    Registrar::new(
        RegistrarConfig::default(),
        ServerSecret::new([9; 32]),
        Bindings::new(),
    )
}

fn aor() -> Aor {
    Aor {
        realm: REALM.into(),
        user: "1001".into(),
    }
}

/// A REGISTER for `to_user` with `headers` (each ending in CRLF).
fn register(to_user: &str, call_id: &str, cseq: u32, headers: &str) -> Request {
    let bytes = format!(
        "REGISTER sip:kefu.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bK{cseq}\r\n\
         Max-Forwards: 70\r\nTo: <sip:{to_user}@kefu.example.com>\r\nFrom: <sip:{to_user}@kefu.example.com>;tag=77\r\n\
         Call-ID: {call_id}\r\nCSeq: {cseq} REGISTER\r\n{headers}Content-Length: 0\r\n\r\n"
    );
    match parse_message(bytes.as_bytes()) {
        Ok(SipMessage::Request(request)) => request,
        other => panic!("not a request: {other:?}"),
    }
}

fn handle_with_seed(
    registrar: &mut Registrar,
    request: &Request,
    now: SystemTime,
    seed: u64,
) -> RegisterOutcome {
    let register = Register {
        request,
        source: phone(),
        realm: REALM,
        now,
    };
    registrar.handle(register, &store, &mut StdRng::seed_from_u64(seed))
}

/// Handles `request` with a new RNG seed each time, so every challenge has its own
/// nonce as in production.
fn handle(registrar: &mut Registrar, request: &Request, now: SystemTime) -> RegisterOutcome {
    static SEED: AtomicU64 = AtomicU64::new(0);
    handle_with_seed(
        registrar,
        request,
        now,
        SEED.fetch_add(1, Ordering::Relaxed),
    )
}

fn status(outcome: &RegisterOutcome) -> u16 {
    outcome.response.status_code.code()
}

fn header_values(
    outcome: &RegisterOutcome,
    matches: impl Fn(&Header) -> Option<String>,
) -> Vec<String> {
    outcome
        .response
        .headers
        .iter()
        .filter_map(matches)
        .collect()
}

fn challenges(outcome: &RegisterOutcome) -> Vec<String> {
    header_values(outcome, |header| match header {
        Header::WwwAuthenticate(value) => Some(value.value().to_owned()),
        _ => None,
    })
}

fn contacts(outcome: &RegisterOutcome) -> Vec<String> {
    header_values(outcome, |header| match header {
        Header::Contact(value) => Some(value.value().to_owned()),
        _ => None,
    })
}

/// The nonce of the MD5 challenge in a 401.
fn md5_nonce(outcome: &RegisterOutcome) -> String {
    let md5 = challenges(outcome)
        .into_iter()
        .find(|challenge| challenge.contains("algorithm=MD5"))
        .unwrap();
    let start = md5.find("nonce=\"").unwrap() + 7;
    md5[start..].split('"').next().unwrap().to_owned()
}

/// The Authorization header line a phone sends for `username` with `password`.
fn authorization(username: &str, password: &str, nonce: &str, nc: u32) -> String {
    authorization_for_uri(username, password, nonce, nc, "sip:kefu.example.com")
}

/// The same, answering for digest `uri` (a phone would use the Request-URI).
fn authorization_for_uri(
    username: &str,
    password: &str,
    nonce: &str,
    nc: u32,
    uri: &str,
) -> String {
    let ha1 = Ha1Pair::from_password(username, REALM, password);
    let qop = QopAuth {
        nonce_count: nc,
        nonce_count_text: format!("{nc:08x}"),
        cnonce: "0a4f113b".into(),
    };
    let response = request_digest(Algorithm::Md5, &ha1.md5, nonce, "REGISTER", uri, Some(&qop));
    format!(
        "Authorization: Digest username=\"{username}\", realm=\"{REALM}\", nonce=\"{nonce}\", \
         uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, nc={nc:08x}, cnonce=\"0a4f113b\"\r\n"
    )
}

/// Challenge then answer, as a phone does: the outcome of the answered REGISTER.
fn register_authenticated(
    registrar: &mut Registrar,
    call_id: &str,
    cseq: u32,
    headers: &str,
    now: SystemTime,
) -> RegisterOutcome {
    let challenge = handle(registrar, &register("1001", call_id, cseq, headers), now);
    assert_eq!(status(&challenge), 401);
    let nonce = md5_nonce(&challenge);
    let headers = format!("{headers}{}", authorization("1001", PASSWORD, &nonce, 1));
    handle(
        registrar,
        &register("1001", call_id, cseq + 1, &headers),
        now,
    )
}

const DESK: &str = "Contact: <sip:1001@192.0.2.20:5060>\r\n";

#[test]
fn a_register_without_credentials_is_challenged_with_sha256_then_md5() {
    let mut registrar = registrar();
    let outcome = handle(&mut registrar, &register("1001", "c1", 1, DESK), at(0));
    assert_eq!(status(&outcome), 401);
    let offers = challenges(&outcome);
    assert_eq!(offers.len(), 2);
    assert!(offers[0].contains("algorithm=SHA-256"));
    assert!(offers[1].contains("algorithm=MD5"));
    assert!(offers.iter().all(|offer| offer.contains("qop=\"auth\"")));
    assert_eq!(outcome.auth, AuthOutcome::Challenged);
    assert!(!outcome.auth.is_failure());
    assert!(outcome.changes.is_empty());
    assert!(registrar.bindings().is_empty());
}

#[test]
fn an_authenticated_register_binds_the_contact_and_lists_it_with_its_expiry() {
    let mut registrar = registrar();
    let outcome = register_authenticated(&mut registrar, "c1", 1, DESK, at(0));
    assert_eq!(status(&outcome), 200);
    assert_eq!(
        outcome.auth,
        AuthOutcome::Authenticated {
            username: "1001".into()
        }
    );
    assert_eq!(
        contacts(&outcome),
        ["<sip:1001@192.0.2.20:5060>;expires=3600"]
    );
    let expected = Binding {
        aor: aor(),
        contact: "sip:1001@192.0.2.20:5060".into(),
        expires_at: at(3600),
        call_id: "c1".into(),
        cseq: 2,
        source: phone(),
    };
    assert_eq!(outcome.changes, [BindingChange::Upsert(expected.clone())]);
    assert_eq!(registrar.bindings().current(&aor(), at(0)), [&expected]);
}

#[test]
fn every_response_carries_a_to_tag() {
    let mut registrar = registrar();
    let outcome = register_authenticated(&mut registrar, "c1", 1, DESK, at(0));
    let to = header_values(&outcome, |header| match header {
        Header::To(to) => Some(to.value().to_owned()),
        _ => None,
    });
    assert_eq!(to.len(), 1);
    assert!(to[0].contains(";tag="), "{}", to[0]);
}

#[test]
fn unknown_user_and_wrong_password_get_identical_responses() {
    let now = at(0);
    let mut registrar = registrar();
    let nonce = md5_nonce(&handle(
        &mut registrar,
        &register("1001", "c1", 1, DESK),
        now,
    ));
    let wrong_password = register(
        "1001",
        "c1",
        2,
        &format!("{DESK}{}", authorization("1001", "guess", &nonce, 1)),
    );
    let nonce = md5_nonce(&handle(
        &mut registrar,
        &register("1099", "c1", 1, DESK),
        now,
    ));
    let unknown_user = register(
        "1099",
        "c1",
        2,
        &format!("{DESK}{}", authorization("1099", "guess", &nonce, 1)),
    );
    let wrong = handle_with_seed(&mut registrar, &wrong_password, now, 5);
    let unknown = handle_with_seed(&mut registrar, &unknown_user, now, 5);
    assert_eq!(status(&wrong), 403);
    assert_eq!(wrong.auth, AuthOutcome::Rejected(Rejection::WrongResponse));
    assert_eq!(unknown.auth, wrong.auth);
    assert!(wrong.auth.is_failure());
    let without_to_and_from = |outcome: &RegisterOutcome| {
        encode(&SipMessage::Response(outcome.response.clone()))
            .split(|&b| b == b'\n')
            .filter(|line| !line.starts_with(b"To:") && !line.starts_with(b"From:"))
            .flat_map(|line| line.to_vec())
            .collect::<Vec<u8>>()
    };
    assert_eq!(without_to_and_from(&wrong), without_to_and_from(&unknown));
}

#[test]
fn an_unknown_user_is_challenged_like_any_other() {
    let mut registrar = registrar();
    let known = handle_with_seed(&mut registrar, &register("1001", "c1", 1, DESK), at(0), 3);
    let unknown = handle_with_seed(&mut registrar, &register("1099", "c1", 1, DESK), at(0), 3);
    assert_eq!(status(&unknown), 401);
    assert_eq!(challenges(&unknown), challenges(&known));
}

#[test]
fn expired_nonce_is_challenged_again_with_stale_true() {
    let mut registrar = registrar();
    let nonce = md5_nonce(&handle(
        &mut registrar,
        &register("1001", "c1", 1, DESK),
        at(0),
    ));
    let late = register(
        "1001",
        "c1",
        2,
        &format!("{DESK}{}", authorization("1001", PASSWORD, &nonce, 1)),
    );
    let outcome = handle(&mut registrar, &late, at(301));
    assert_eq!(status(&outcome), 401);
    assert!(
        challenges(&outcome)
            .iter()
            .all(|offer| offer.contains("stale=true"))
    );
    assert_eq!(outcome.auth, AuthOutcome::Challenged);
    assert!(outcome.changes.is_empty());
}

#[test]
fn a_forged_nonce_gets_a_plain_challenge_and_counts_as_a_failure() {
    let mut registrar = registrar();
    let forged = register(
        "1001",
        "c1",
        1,
        &format!(
            "{DESK}{}",
            authorization("1001", PASSWORD, "bm90IG91cnM=", 1)
        ),
    );
    let outcome = handle(&mut registrar, &forged, at(0));
    assert_eq!(status(&outcome), 401);
    assert!(
        challenges(&outcome)
            .iter()
            .all(|offer| !offer.contains("stale"))
    );
    assert_eq!(outcome.auth, AuthOutcome::Rejected(Rejection::ForgedNonce));
    assert!(outcome.auth.is_failure());
}

#[test]
fn a_replayed_register_is_challenged_again_without_counting_as_a_failure() {
    let mut registrar = registrar();
    let nonce = md5_nonce(&handle(
        &mut registrar,
        &register("1001", "c1", 1, DESK),
        at(0),
    ));
    let answered = register(
        "1001",
        "c1",
        2,
        &format!("{DESK}{}", authorization("1001", PASSWORD, &nonce, 1)),
    );
    assert_eq!(status(&handle(&mut registrar, &answered, at(1))), 200);
    let replayed = handle(&mut registrar, &answered, at(2));
    assert_eq!(status(&replayed), 401);
    assert_eq!(
        replayed.auth,
        AuthOutcome::Rejected(Rejection::ReplayedNonceCount)
    );
}

#[test]
fn a_user_cannot_register_another_users_address() {
    let mut registrar = registrar();
    let nonce = md5_nonce(&handle(
        &mut registrar,
        &register("1002", "c1", 1, DESK),
        at(0),
    ));
    let hijack = register(
        "1002",
        "c1",
        2,
        &format!("{DESK}{}", authorization("1001", PASSWORD, &nonce, 1)),
    );
    let outcome = handle(&mut registrar, &hijack, at(0));
    assert_eq!(status(&outcome), 403);
    assert_eq!(
        outcome.auth,
        AuthOutcome::ForeignAor {
            username: "1001".into()
        }
    );
    assert!(registrar.bindings().is_empty());
}

#[test]
fn malformed_credentials_get_400_with_a_warning() {
    let mut registrar = registrar();
    let request = register(
        "1001",
        "c1",
        1,
        &format!("{DESK}Authorization: Digest username=\"1001\r\n"),
    );
    let outcome = handle(&mut registrar, &request, at(0));
    assert_eq!(status(&outcome), 400);
    assert!(
        outcome
            .response
            .headers
            .iter()
            .any(|h| matches!(h, Header::Warning(_)))
    );
}

#[test]
fn credentials_for_another_uri_than_the_request_uri_get_400_and_bind_nothing() {
    let mut registrar = registrar();
    let challenge = handle(&mut registrar, &register("1001", "c1", 1, DESK), at(0));
    let nonce = md5_nonce(&challenge);
    let stolen = authorization_for_uri("1001", PASSWORD, &nonce, 1, "sip:other.example.com");
    let outcome = handle(
        &mut registrar,
        &register("1001", "c1", 2, &format!("{DESK}{stolen}")),
        at(0),
    );
    assert_eq!(status(&outcome), 400);
    assert!(!outcome.auth.is_failure(), "no password was checked");
    let warning = header_values(&outcome, |header| match header {
        Header::Warning(value) => Some(value.value().to_owned()),
        _ => None,
    });
    assert!(warning[0].contains("sip:other.example.com"), "{warning:?}");
    assert!(registrar.bindings().is_empty());
}

#[test]
fn the_digest_uri_is_compared_as_a_uri_not_as_text() {
    let mut registrar = registrar();
    let challenge = handle(&mut registrar, &register("1001", "c1", 1, DESK), at(0));
    let nonce = md5_nonce(&challenge);
    let answer = authorization_for_uri("1001", PASSWORD, &nonce, 1, "SIP:KEFU.Example.COM");
    let outcome = handle(
        &mut registrar,
        &register("1001", "c1", 2, &format!("{DESK}{answer}")),
        at(0),
    );
    assert_eq!(status(&outcome), 200);
}

#[test]
fn credentials_in_an_algorithm_not_offered_are_challenged_again() {
    let mut registrar = Registrar::new(
        RegistrarConfig {
            digest: crate::auth::DigestConfig {
                algorithms: vec![Algorithm::Sha256],
                ..crate::auth::DigestConfig::default()
            },
            ..RegistrarConfig::default()
        },
        ServerSecret::new([9; 32]),
        Bindings::new(),
    );
    let challenge = handle(&mut registrar, &register("1001", "c1", 1, DESK), at(0));
    assert_eq!(challenges(&challenge).len(), 1);
    let nonce = {
        let offer = &challenges(&challenge)[0];
        let start = offer.find("nonce=\"").unwrap() + 7;
        offer[start..].split('"').next().unwrap().to_owned()
    };
    let md5 = authorization("1001", PASSWORD, &nonce, 1);
    let outcome = handle(
        &mut registrar,
        &register("1001", "c1", 2, &format!("{DESK}{md5}")),
        at(0),
    );
    assert_eq!(status(&outcome), 401);
    assert_eq!(outcome.auth, AuthOutcome::Challenged);
    assert!(registrar.bindings().is_empty());
}

#[test]
fn expires_below_the_minimum_is_refused_with_423_and_min_expires() {
    let mut registrar = registrar();
    let outcome = register_authenticated(
        &mut registrar,
        "c1",
        1,
        "Contact: <sip:1001@192.0.2.20>;expires=30\r\n",
        at(0),
    );
    assert_eq!(status(&outcome), 423);
    let min = header_values(&outcome, |header| match header {
        Header::MinExpires(value) => Some(value.value().to_owned()),
        _ => None,
    });
    assert_eq!(min, ["60"]);
    assert!(registrar.bindings().is_empty());
}

#[test]
fn expires_above_the_maximum_is_clamped() {
    let mut registrar = registrar();
    let outcome = register_authenticated(
        &mut registrar,
        "c1",
        1,
        "Contact: <sip:1001@192.0.2.20>\r\nExpires: 86400\r\n",
        at(0),
    );
    assert_eq!(status(&outcome), 200);
    assert_eq!(contacts(&outcome), ["<sip:1001@192.0.2.20>;expires=7200"]);
}

#[test]
fn the_expires_header_applies_to_contacts_without_their_own() {
    let mut registrar = registrar();
    let outcome = register_authenticated(
        &mut registrar,
        "c1",
        1,
        "Contact: <sip:1001@192.0.2.20>, <sip:1001@192.0.2.21>;expires=120\r\nExpires: 600\r\n",
        at(0),
    );
    assert_eq!(
        contacts(&outcome),
        [
            "<sip:1001@192.0.2.20>;expires=600",
            "<sip:1001@192.0.2.21>;expires=120"
        ]
    );
}

#[test]
fn several_phones_of_one_user_are_all_bound_and_listed() {
    let mut registrar = registrar();
    register_authenticated(&mut registrar, "desk", 1, DESK, at(0));
    let outcome = register_authenticated(
        &mut registrar,
        "mobile",
        1,
        "Contact: <sip:1001@198.51.100.7:5062>;expires=600\r\n",
        at(100),
    );
    assert_eq!(
        contacts(&outcome),
        [
            "<sip:1001@192.0.2.20:5060>;expires=3500",
            "<sip:1001@198.51.100.7:5062>;expires=600"
        ]
    );
}

#[test]
fn a_refresh_with_a_higher_cseq_extends_the_binding() {
    let mut registrar = registrar();
    register_authenticated(&mut registrar, "c1", 1, DESK, at(0));
    let outcome = register_authenticated(&mut registrar, "c1", 3, DESK, at(1000));
    assert_eq!(status(&outcome), 200);
    assert_eq!(
        contacts(&outcome),
        ["<sip:1001@192.0.2.20:5060>;expires=3600"]
    );
}

#[test]
fn same_call_id_with_a_cseq_not_above_the_bindings_is_refused_with_500() {
    let mut registrar = registrar();
    register_authenticated(&mut registrar, "c1", 5, DESK, at(0));
    for stale_cseq in [1, 5] {
        let outcome = register_authenticated(
            &mut registrar,
            "c1",
            stale_cseq,
            "Contact: <sip:1001@192.0.2.20:5060>;expires=0\r\n",
            at(10),
        );
        assert_eq!(status(&outcome), 500);
        assert!(outcome.changes.is_empty());
    }
    assert_eq!(registrar.bindings().current(&aor(), at(10)).len(), 1);
}

#[test]
fn another_call_id_may_update_a_binding_whatever_its_cseq() {
    let mut registrar = registrar();
    register_authenticated(&mut registrar, "c1", 50, DESK, at(0));
    let outcome = register_authenticated(&mut registrar, "rebooted", 1, DESK, at(10));
    assert_eq!(status(&outcome), 200);
    assert_eq!(
        registrar.bindings().current(&aor(), at(10))[0].call_id,
        "rebooted"
    );
}

#[test]
fn expires_zero_removes_one_contact_and_keeps_the_others() {
    let mut registrar = registrar();
    register_authenticated(
        &mut registrar,
        "c1",
        1,
        "Contact: <sip:1001@192.0.2.20>, <sip:1001@192.0.2.21>\r\n",
        at(0),
    );
    let outcome = register_authenticated(
        &mut registrar,
        "c1",
        3,
        "Contact: <sip:1001@192.0.2.20>;expires=0\r\n",
        at(10),
    );
    assert_eq!(status(&outcome), 200);
    assert_eq!(
        outcome.changes,
        [BindingChange::Remove {
            aor: aor(),
            contact: "sip:1001@192.0.2.20".into()
        }]
    );
    assert_eq!(contacts(&outcome), ["<sip:1001@192.0.2.21>;expires=3590"]);
}

#[test]
fn star_with_expires_zero_removes_every_contact() {
    let mut registrar = registrar();
    register_authenticated(
        &mut registrar,
        "c1",
        1,
        "Contact: <sip:1001@192.0.2.20>, <sip:1001@192.0.2.21>\r\n",
        at(0),
    );
    let outcome = register_authenticated(
        &mut registrar,
        "c1",
        3,
        "Contact: *\r\nExpires: 0\r\n",
        at(10),
    );
    assert_eq!(status(&outcome), 200);
    assert_eq!(outcome.changes.len(), 2);
    assert!(contacts(&outcome).is_empty());
    assert!(registrar.bindings().is_empty());
}

#[test]
fn star_without_expires_zero_is_a_bad_request() {
    let mut registrar = registrar();
    register_authenticated(&mut registrar, "c1", 1, DESK, at(0));
    for headers in ["Contact: *\r\n", "Contact: *\r\nExpires: 60\r\n"] {
        let outcome = register_authenticated(&mut registrar, "c1", 3, headers, at(10));
        assert_eq!(status(&outcome), 400);
    }
    assert_eq!(registrar.bindings().len(), 1);
}

#[test]
fn a_register_without_contact_is_a_query_for_the_current_bindings() {
    let mut registrar = registrar();
    register_authenticated(&mut registrar, "c1", 1, DESK, at(0));
    let outcome = register_authenticated(&mut registrar, "c1", 3, "", at(60));
    assert_eq!(status(&outcome), 200);
    assert!(outcome.changes.is_empty());
    assert_eq!(
        contacts(&outcome),
        ["<sip:1001@192.0.2.20:5060>;expires=3540"]
    );
}

#[test]
fn a_malformed_contact_gets_400_and_changes_nothing() {
    let mut registrar = registrar();
    let outcome = register_authenticated(
        &mut registrar,
        "c1",
        1,
        "Contact: <mailto:1001@example.com>\r\n",
        at(0),
    );
    assert_eq!(status(&outcome), 400);
    assert!(registrar.bindings().is_empty());
}

#[test]
fn bindings_lapse_at_their_expiry_and_expire_reports_the_removals() {
    let mut registrar = registrar();
    register_authenticated(
        &mut registrar,
        "c1",
        1,
        "Contact: <sip:1001@192.0.2.20>;expires=120\r\n",
        at(0),
    );
    assert_eq!(registrar.next_expiry(), Some(at(120)));
    assert_eq!(registrar.expire(at(119)), []);
    assert_eq!(registrar.expire(at(120)).len(), 1);
    assert!(registrar.bindings().current(&aor(), at(120)).is_empty());
}

#[test]
fn restored_bindings_survive_a_restart() {
    let mut before = registrar();
    let outcome = register_authenticated(&mut before, "c1", 1, DESK, at(0));
    let stored = outcome
        .changes
        .into_iter()
        .filter_map(|change| match change {
            BindingChange::Upsert(binding) => Some(binding),
            BindingChange::Remove { .. } => None,
        });
    let mut after = Registrar::new(
        RegistrarConfig::default(),
        ServerSecret::new([9; 32]),
        Bindings::restore(stored),
    );
    let query = register_authenticated(&mut after, "c1", 3, "", at(100));
    assert_eq!(
        contacts(&query),
        ["<sip:1001@192.0.2.20:5060>;expires=3500"]
    );
}

#[test]
fn a_nonce_issued_before_a_restart_is_still_accepted() {
    let mut before = registrar();
    let nonce = md5_nonce(&handle(
        &mut before,
        &register("1001", "c1", 1, DESK),
        at(0),
    ));
    let mut after = registrar();
    let answered = register(
        "1001",
        "c1",
        2,
        &format!("{DESK}{}", authorization("1001", PASSWORD, &nonce, 1)),
    );
    assert_eq!(status(&handle(&mut after, &answered, at(5))), 200);
}

#[test]
fn the_claimed_username_is_read_for_the_realm_only() {
    let request = register(
        "1001",
        "c1",
        1,
        &format!("{DESK}{}", authorization("1001", PASSWORD, "n", 1)),
    );
    assert_eq!(claimed_username(&request, REALM), Some("1001".into()));
    assert_eq!(claimed_username(&request, "other"), None);
}

#[test]
fn other_methods_are_not_allowed() {
    let mut registrar = registrar();
    let bytes = b"OPTIONS sip:kefu.example.com SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKo\r\n\
        Max-Forwards: 70\r\nTo: <sip:1001@kefu.example.com>\r\nFrom: <sip:1001@kefu.example.com>;tag=1\r\n\
        Call-ID: o\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n";
    let Ok(SipMessage::Request(options)) = parse_message(bytes) else {
        panic!("not a request");
    };
    let outcome = handle(&mut registrar, &options, at(0));
    assert_eq!(status(&outcome), 405);
    assert_eq!(outcome.auth, AuthOutcome::NotAttempted);
}

#[test]
fn an_ok_carries_the_date() {
    let mut registrar = registrar();
    let outcome = register_authenticated(&mut registrar, "c1", 1, DESK, at(0));
    let dates = header_values(&outcome, |header| match header {
        Header::Date(date) => Some(date.value().to_owned()),
        _ => None,
    });
    assert_eq!(dates, ["Tue, 14 Nov 2023 22:13:20 GMT"]);
}

#[test]
fn an_aor_may_not_bind_more_contacts_than_the_limit() {
    let mut registrar = Registrar::new(
        RegistrarConfig {
            max_contacts_per_aor: 2,
            ..RegistrarConfig::default()
        },
        ServerSecret::new([9; 32]),
        Bindings::new(),
    );
    let two = "Contact: <sip:1001@192.0.2.20>, <sip:1001@192.0.2.21>\r\n";
    assert_eq!(
        status(&register_authenticated(&mut registrar, "c1", 1, two, at(0))),
        200
    );
    let third = "Contact: <sip:1001@192.0.2.22>\r\n";
    let outcome = register_authenticated(&mut registrar, "c1", 3, third, at(1));
    assert_eq!(status(&outcome), 403);
    assert!(outcome.changes.is_empty());
    let swap = "Contact: <sip:1001@192.0.2.20>;expires=0, <sip:1001@192.0.2.22>\r\n";
    assert_eq!(
        status(&register_authenticated(
            &mut registrar,
            "c1",
            5,
            swap,
            at(2)
        )),
        200
    );
    assert_eq!(registrar.bindings().len(), 2);
}

proptest::proptest! {
    #[test]
    fn mutated_registers_are_answered_without_panicking(
        cut in 0usize..600,
        insert in "[\"\\\\,;=<>* a-z0-9:@\r\n]{0,6}",
    ) {
        let mut registrar = registrar();
        let nonce = md5_nonce(&handle(&mut registrar, &register("1001", "c1", 1, DESK), at(0)));
        let headers = format!(
            "Contact: <sip:1001@192.0.2.20>;expires=600, <sip:1001@192.0.2.21>\r\nExpires: 300\r\n{}",
            authorization("1001", PASSWORD, &nonce, 1)
        );
        let original = encode(&SipMessage::Request(register("1001", "c1", 2, &headers)));
        let cut = cut.min(original.len());
        let mut mutated = original[..cut].to_vec();
        mutated.extend_from_slice(insert.as_bytes());
        mutated.extend_from_slice(&original[cut..]);
        if let Ok(SipMessage::Request(request)) = parse_message(&mutated) {
            let outcome = handle(&mut registrar, &request, at(1));
            proptest::prop_assert!(status(&outcome) >= 200);
        }
    }
}

#[test]
fn a_password_guesser_is_banned_after_ten_wrong_answers_as_the_driver_wires_it() {
    use crate::auth::{Admission, Guard, GuardConfig};
    use std::time::Instant;

    let mut registrar = registrar();
    let mut guard = Guard::new(GuardConfig::default());
    let scanner = phone().addr.ip();
    let start = Instant::now();
    let mut answered = 0;
    for attempt in 0..20u32 {
        let now = start + Duration::from_secs(u64::from(attempt));
        if guard.admit(scanner, now) != Admission::Admit {
            continue;
        }
        let nonce = md5_nonce(&handle(
            &mut registrar,
            &register("1001", "c1", 1, DESK),
            at(0),
        ));
        let guess = format!("guess{attempt}");
        let request = register(
            "1001",
            "c1",
            2,
            &format!("{DESK}{}", authorization("1001", &guess, &nonce, 1)),
        );
        let outcome = handle(&mut registrar, &request, at(0));
        answered += 1;
        if outcome.auth.is_failure() {
            guard.record_failure(scanner, now);
        }
    }
    // The tenth failure, at second 9, bans the address for ten minutes.
    assert_eq!(answered, 10);
    assert_eq!(
        guard.admit(scanner, start + Duration::from_secs(608)),
        Admission::Banned
    );
    assert_eq!(
        guard.admit(scanner, start + Duration::from_secs(609)),
        Admission::Admit
    );
}

#[test]
fn a_register_over_websocket_is_challenged_with_md5_alone() {
    let mut registrar = registrar();
    let udp = handle(&mut registrar, &register("1001", "ws-a", 1, ""), at(0));
    let first = |outcome: &RegisterOutcome| challenges(outcome)[0].clone();
    assert!(
        first(&udp).contains("algorithm=SHA-256"),
        "{:?}",
        challenges(&udp)
    );
    let over_ws = register("1001", "ws-b", 1, "").to_string().replacen(
        "Via: SIP/2.0/UDP 192.0.2.20:5060",
        "Via: SIP/2.0/WS df7jal23ls0d.invalid",
        1,
    );
    let Ok(SipMessage::Request(over_ws)) = parse_message(over_ws.as_bytes()) else {
        panic!("not a request");
    };
    let browser = handle(&mut registrar, &over_ws, at(0));
    assert_eq!(status(&browser), 401);
    assert_eq!(
        challenges(&browser).len(),
        1,
        "MD5 alone: {:?}",
        challenges(&browser)
    );
    assert!(
        first(&browser).contains("algorithm=MD5"),
        "{:?}",
        challenges(&browser)
    );
}
