//! The call pathway driven through the core with a fake clock: INVITE in,
//! call control's answers out, 2xx retransmission, ACK, BYE, CANCEL.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::{Method, Uri};

use super::{CallEvent, Calls, UasCore};
use crate::dialog::DialogId;
use crate::message::{corpus, response_to};
use crate::transaction::{Peer, Timers, TransactionId, TransactionLayer, Transport};

fn core() -> UasCore {
    let mut branches = 0;
    let mut tags = 0;
    let contact = Uri::try_from("sip:kefu@198.51.100.1:5060").unwrap();
    UasCore::new(
        TransactionLayer::new(Timers::default(), move || {
            branches += 1;
            format!("b{branches}")
        }),
        move || {
            tags += 1;
            format!("tag{tags}")
        },
    )
    .with_calls(Calls::new(contact, Timers::default()))
}

fn caller() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "192.0.2.10:5060".parse::<SocketAddr>().unwrap(),
    }
}

fn sent(core: &mut UasCore) -> Vec<String> {
    std::iter::from_fn(|| core.poll_transmit())
        .map(|t| String::from_utf8_lossy(&t.payload).into_owned())
        .collect()
}

fn statuses(messages: &[String]) -> Vec<u16> {
    messages
        .iter()
        .map(|m| m.get(8..11).and_then(|s| s.parse().ok()).unwrap_or(0))
        .collect()
}

/// Receives the corpus INVITE and returns its transaction.
fn invited(core: &mut UasCore, now: Instant) -> TransactionId {
    core.receive(now, corpus::INVITE, caller());
    assert_eq!(statuses(&sent(core)), [100]);
    match core.poll_event() {
        Some(CallEvent::Invite {
            tx,
            request,
            source,
        }) => {
            assert_eq!(request.method, Method::Invite);
            assert_eq!(source, caller());
            tx
        }
        other => panic!("expected an INVITE event, got {other:?}"),
    }
}

/// Answers the INVITE 200 and returns the dialog.
fn answered(core: &mut UasCore, now: Instant) -> DialogId {
    let tx = invited(core, now);
    let ok = response_to(&crate::message::corpus::request(corpus::INVITE), 200, "OK");
    let dialog = core
        .respond(now, tx, ok)
        .unwrap()
        .expect("a 2xx makes a dialog");
    assert_eq!(statuses(&sent(core)), [200]);
    dialog
}

fn in_dialog(dialog: &DialogId, method: &str, cseq: u32) -> Vec<u8> {
    format!(
        "{method} sip:kefu@198.51.100.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK{method}{cseq}\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@trunk.example.net>;tag={}\r\nTo: <sip:4000@kefu.example.com>;tag={}\r\nCall-ID: {}\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n",
        dialog.remote_tag, dialog.local_tag, dialog.call_id
    )
    .into_bytes()
}

#[test]
fn every_response_to_an_invite_carries_the_same_to_tag_and_a_2xx_our_contact() {
    let mut core = core();
    let now = Instant::now();
    let tx = invited(&mut core, now);
    let invite = corpus::request(corpus::INVITE);
    core.respond(now, tx, response_to(&invite, 180, "Ringing"))
        .unwrap();
    core.respond(now, tx, response_to(&invite, 200, "OK"))
        .unwrap();
    let [ringing, ok] = &sent(&mut core)[..] else {
        panic!("expected 180 and 200");
    };
    assert!(ringing.contains(";tag=tag1\r\n"), "{ringing}");
    assert!(ok.contains(";tag=tag1\r\n"), "{ok}");
    assert!(
        ok.contains("Contact: <sip:kefu@198.51.100.1:5060>\r\n"),
        "{ok}"
    );
}

#[test]
fn a_2xx_is_retransmitted_doubling_until_the_ack_which_call_control_sees() {
    let mut core = core();
    let start = Instant::now();
    let dialog = answered(&mut core, start);
    let mut at = start;
    for interval_ms in [500, 1000, 2000, 4000, 4000] {
        at += Duration::from_millis(interval_ms);
        assert_eq!(core.poll_timeout().unwrap(), at);
        core.handle_timeout(at);
        assert_eq!(statuses(&sent(&mut core)), [200], "at +{interval_ms} ms");
    }
    core.receive(at, &in_dialog(&dialog, "ACK", 314159), caller());
    assert!(matches!(core.poll_event(), Some(CallEvent::Ack { dialog: d, .. }) if d == dialog));
    core.handle_timeout(at + Duration::from_secs(8));
    assert!(
        sent(&mut core).is_empty(),
        "no retransmission after the ACK"
    );
}

#[test]
fn a_2xx_never_acked_tells_call_control_after_64_t1() {
    let mut core = core();
    let start = Instant::now();
    let dialog = answered(&mut core, start);
    let give_up = start + Duration::from_secs(32);
    while let Some(at) = core.poll_timeout().filter(|at| *at <= give_up) {
        core.handle_timeout(at);
    }
    let events: Vec<CallEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert_eq!(events, [CallEvent::AckTimeout { dialog }]);
}

#[test]
fn a_bye_is_answered_200_and_ends_the_dialog() {
    let mut core = core();
    let now = Instant::now();
    let dialog = answered(&mut core, now);
    core.receive(now, &in_dialog(&dialog, "ACK", 314159), caller());
    core.poll_event();
    core.receive(now, &in_dialog(&dialog, "BYE", 314160), caller());
    assert_eq!(statuses(&sent(&mut core)), [200]);
    assert!(matches!(core.poll_event(), Some(CallEvent::Bye { dialog: d, .. }) if d == dialog));
    core.receive(now, &in_dialog(&dialog, "BYE", 314161), caller());
    assert_eq!(statuses(&sent(&mut core)), [481], "the dialog is gone");
}

#[test]
fn an_in_dialog_request_goes_to_call_control_which_answers_it() {
    let mut core = core();
    let now = Instant::now();
    let dialog = answered(&mut core, now);
    core.receive(now, &in_dialog(&dialog, "INFO", 314160), caller());
    let Some(CallEvent::Request {
        tx,
        dialog: d,
        request,
    }) = core.poll_event()
    else {
        panic!("expected the INFO");
    };
    assert_eq!(d, dialog);
    core.respond(now, tx, response_to(&request, 200, "OK"))
        .unwrap();
    assert_eq!(statuses(&sent(&mut core)), [200]);
}

#[test]
fn an_in_dialog_request_with_an_old_cseq_gets_500() {
    let mut core = core();
    let now = Instant::now();
    let dialog = answered(&mut core, now);
    core.receive(now, &in_dialog(&dialog, "INFO", 3), caller());
    assert_eq!(statuses(&sent(&mut core)), [500]);
    assert!(core.poll_event().is_none());
}

#[test]
fn a_request_naming_an_unknown_dialog_gets_481() {
    let mut core = core();
    let unknown = DialogId {
        call_id: "nobody".into(),
        local_tag: "x".into(),
        remote_tag: "y".into(),
    };
    core.receive(Instant::now(), &in_dialog(&unknown, "INFO", 2), caller());
    assert_eq!(statuses(&sent(&mut core)), [481]);
}

#[test]
fn cancel_answers_200_and_the_invite_487_and_tells_call_control() {
    let mut core = core();
    let now = Instant::now();
    let tx = invited(&mut core, now);
    let cancel = crate::message::cancel_for(&corpus::request(corpus::INVITE));
    let bytes = crate::message::encode_request(&cancel);
    core.receive(now, &bytes, caller());
    let answers = sent(&mut core);
    assert_eq!(statuses(&answers), [200, 487]);
    assert!(
        answers[1].contains("CSeq: 314159 INVITE\r\n"),
        "{}",
        answers[1]
    );
    assert!(answers[1].contains(";tag=tag1\r\n"), "{}", answers[1]);
    assert!(matches!(core.poll_event(), Some(CallEvent::Cancelled { tx: t, .. }) if t == tx));
    let late = core.respond(now, tx, response_to(&cancel, 200, "OK"));
    assert!(late.is_err(), "a cancelled INVITE takes no answer");
}

#[test]
fn our_bye_goes_to_the_caller_and_its_response_comes_back() {
    let mut core = core();
    let now = Instant::now();
    let dialog = answered(&mut core, now);
    let tx = core.send_request(now, &dialog, Method::Bye, None).unwrap();
    let transmitted: Vec<_> = std::iter::from_fn(|| core.poll_transmit()).collect();
    let [bye] = &transmitted[..] else {
        panic!("expected the BYE");
    };
    assert_eq!(bye.destination, caller());
    let text = String::from_utf8_lossy(&bye.payload).into_owned();
    assert!(
        text.starts_with("BYE sip:alice@192.0.2.10:5060 SIP/2.0\r\n"),
        "{text}"
    );
    let bye = corpus::request(text.as_bytes());
    let ok = crate::message::encode_response(&response_to(&bye, 200, "OK"));
    core.receive(now, &ok, caller());
    match core.poll_event() {
        Some(CallEvent::Response {
            tx: t,
            call_id,
            response,
        }) => {
            assert_eq!(t, tx);
            assert_eq!(call_id, dialog.call_id);
            assert_eq!(response.status_code.code(), 200);
        }
        other => panic!("expected the BYE's 200, got {other:?}"),
    }
    assert!(
        core.send_request(now, &dialog, Method::Bye, None).is_err(),
        "BYE ended the dialog"
    );
}

#[test]
fn options_advertise_call_methods_when_calls_are_on() {
    let mut core = core();
    core.receive(Instant::now(), corpus::OPTIONS, caller());
    let answers = sent(&mut core);
    assert!(
        answers[0].contains("Allow: OPTIONS, ACK, CANCEL, INVITE, BYE, INFO, UPDATE\r\n"),
        "{}",
        answers[0]
    );
}

#[test]
fn an_invite_without_contact_gets_400_naming_it() {
    let mut core = core();
    let text = String::from_utf8(corpus::INVITE.to_vec())
        .unwrap()
        .replace("Contact: <sip:alice@192.0.2.10:5060>\r\n", "");
    core.receive(Instant::now(), text.as_bytes(), caller());
    let answers = sent(&mut core);
    assert_eq!(statuses(&answers), [100, 400]);
    assert!(answers[1].contains("Contact is missing"), "{}", answers[1]);
    assert!(core.poll_event().is_none());
}
