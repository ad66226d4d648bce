//! The call pathway driven through the core with a fake clock: INVITE in,
//! call control's answers out, 2xx retransmission, ACK, BYE, CANCEL.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;
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
            user,
        }) => {
            assert_eq!(user, None, "no credentials, no user");
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
    let mut cancel = crate::message::cancel_for(&corpus::request(corpus::INVITE));
    cancel
        .headers
        .push(crate::message::reason_header("Q.850;cause=16"));
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
    let told = core.poll_event();
    assert!(
        matches!(&told, Some(CallEvent::Cancelled { tx: t, reason: Some(r), .. })
            if *t == tx && r == "Q.850;cause=16"),
        "{told:?}"
    );
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

fn agent() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "192.0.2.20:5060".parse::<SocketAddr>().unwrap(),
    }
}

fn outgoing() -> super::OutgoingInvite {
    super::OutgoingInvite {
        target: Uri::try_from("sip:1001@192.0.2.20:5060").unwrap(),
        from: "<sip:4000@kefu>;tag=bfrom".to_owned(),
        to: "<sip:1001@kefu>".to_owned(),
        call_id: "b-leg-1".to_owned(),
        body: crate::dialog::Body::sdp("v=0\r\n"),
        destination: agent(),
        extra_headers: Vec::new(),
    }
}

/// Sends our INVITE and returns its transaction and the INVITE as sent.
fn invited_agent(core: &mut UasCore, now: Instant) -> (TransactionId, rsip::Request) {
    let tx = core.invite(now, outgoing()).unwrap();
    let transmitted: Vec<_> = std::iter::from_fn(|| core.poll_transmit()).collect();
    let [invite] = &transmitted[..] else {
        panic!("expected the INVITE, got {transmitted:?}");
    };
    assert_eq!(invite.destination, agent());
    let text = String::from_utf8_lossy(&invite.payload).into_owned();
    assert!(
        text.starts_with("INVITE sip:1001@192.0.2.20:5060 SIP/2.0\r\n"),
        "{text}"
    );
    assert!(text.contains("Call-ID: b-leg-1\r\n"), "{text}");
    (tx, corpus::request(text.as_bytes()))
}

fn answer_from_agent(invite: &rsip::Request, code: u16, reason: &str) -> Vec<u8> {
    let mut response = response_to(invite, code, reason);
    crate::message::add_to_tag(&mut response, "agenttag");
    response
        .headers
        .push(rsip::Header::Contact(rsip::headers::Contact::new(
            "<sip:1001@192.0.2.20:5060>",
        )));
    crate::message::encode_response(&response).to_vec()
}

#[test]
fn our_invite_is_answered_acked_and_reported_once_even_when_the_2xx_repeats() {
    let mut core = core();
    let now = Instant::now();
    let (tx, invite) = invited_agent(&mut core, now);
    core.receive(now, &answer_from_agent(&invite, 180, "Ringing"), agent());
    assert!(
        matches!(core.poll_event(), Some(CallEvent::Response { tx: t, response, .. }) if t == tx && response.status_code.code() == 180)
    );
    let ok = answer_from_agent(&invite, 200, "OK");
    core.receive(now, &ok, agent());
    let Some(CallEvent::Answered { tx: t, dialog, .. }) = core.poll_event() else {
        panic!("expected the answer");
    };
    assert_eq!(t, tx);
    assert_eq!(dialog.remote_tag, "agenttag");
    assert_eq!(dialog.local_tag, "bfrom");
    let acks = sent(&mut core);
    assert_eq!(acks.len(), 1, "{acks:?}");
    assert!(
        acks[0].starts_with("ACK sip:1001@192.0.2.20:5060 SIP/2.0\r\n"),
        "{}",
        acks[0]
    );
    assert!(acks[0].contains("CSeq: 1 ACK\r\n"), "{}", acks[0]);

    core.receive(now, &ok, agent());
    assert!(
        sent(&mut core)[0].starts_with("ACK "),
        "a repeated 2xx is ACKed again"
    );
    assert!(core.poll_event().is_none(), "and not reported twice");

    let bye = "BYE sip:kefu@198.51.100.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKagentbye\r\nMax-Forwards: 70\r\nFrom: <sip:1001@kefu>;tag=agenttag\r\nTo: <sip:4000@kefu>;tag=bfrom\r\nCall-ID: b-leg-1\r\nCSeq: 5 BYE\r\nContent-Length: 0\r\n\r\n";
    core.receive(now, bye.as_bytes(), agent());
    assert_eq!(statuses(&sent(&mut core)), [200]);
    assert!(matches!(core.poll_event(), Some(CallEvent::Bye { dialog: d, .. }) if d == dialog));
}

#[test]
fn a_busy_agent_is_reported_and_leaves_no_dialog() {
    let mut core = core();
    let now = Instant::now();
    let (tx, invite) = invited_agent(&mut core, now);
    core.receive(
        now,
        &answer_from_agent(&invite, 183, "Session Progress"),
        agent(),
    );
    core.poll_event();
    core.receive(now, &answer_from_agent(&invite, 486, "Busy Here"), agent());
    assert!(
        matches!(core.poll_event(), Some(CallEvent::Response { tx: t, response, .. }) if t == tx && response.status_code.code() == 486)
    );
    let sent_now = sent(&mut core);
    assert!(
        sent_now[0].starts_with("ACK "),
        "the transaction ACKs the 486: {sent_now:?}"
    );
    let unknown = DialogId {
        call_id: "b-leg-1".into(),
        local_tag: "bfrom".into(),
        remote_tag: "agenttag".into(),
    };
    assert!(
        core.send_request(now, &unknown, Method::Bye, None).is_err(),
        "no dialog left"
    );
}

#[test]
fn a_ringing_invite_is_cancelled_on_request() {
    let mut core = core();
    let now = Instant::now();
    let (tx, invite) = invited_agent(&mut core, now);
    core.receive(now, &answer_from_agent(&invite, 180, "Ringing"), agent());
    core.poll_event();
    core.cancel(now, tx, Vec::new()).unwrap();
    let cancel = sent(&mut core);
    assert!(
        cancel[0].starts_with("CANCEL sip:1001@192.0.2.20:5060 SIP/2.0\r\n"),
        "{cancel:?}"
    );
    assert!(!cancel[0].contains("Reason:"), "{cancel:?}");
}

#[test]
fn a_cancel_carries_its_reason_also_when_held_back_until_ringing() {
    let reason = || {
        vec![rsip::Header::Other(
            "Reason".into(),
            "SIP;cause=200;text=\"Call completed elsewhere\"".into(),
        )]
    };
    let mut core = core();
    let now = Instant::now();
    let (tx, invite) = invited_agent(&mut core, now);
    core.cancel(now, tx, reason()).unwrap();
    assert!(sent(&mut core).is_empty(), "no CANCEL before a provisional");
    core.receive(now, &answer_from_agent(&invite, 180, "Ringing"), agent());
    let cancel = sent(&mut core);
    assert!(cancel[0].starts_with("CANCEL "), "{cancel:?}");
    assert!(
        cancel[0].contains("\r\nReason: SIP;cause=200;text=\"Call completed elsewhere\"\r\n"),
        "{cancel:?}"
    );
    let length = cancel[0].find("Content-Length").unwrap();
    assert!(cancel[0].find("Reason:").unwrap() < length, "{cancel:?}");
}

fn invite_with_timer(seconds: u64) -> Vec<u8> {
    String::from_utf8(corpus::INVITE.to_vec())
        .unwrap()
        .replace(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\nSession-Expires: {seconds}\r\n"),
        )
        .into_bytes()
}

#[test]
fn a_session_timer_is_granted_refreshed_by_re_invites_and_reported_when_it_runs_out() {
    let mut core = core();
    let start = Instant::now();
    core.receive(start, &invite_with_timer(90), caller());
    sent(&mut core);
    let Some(CallEvent::Invite { tx, request, .. }) = core.poll_event() else {
        panic!("expected the INVITE");
    };
    let dialog = core
        .respond(start, tx, response_to(&request, 200, "OK"))
        .unwrap()
        .unwrap();
    let ok = &sent(&mut core)[0];
    assert!(ok.contains("Session-Expires: 90;refresher=uac\r\n"), "{ok}");
    assert!(ok.contains("Require: timer\r\n"), "{ok}");
    core.receive(start, &in_dialog(&dialog, "ACK", 314159), caller());
    core.poll_event();

    // A refresh at 50 s moves the end from 60 s to 110 s.
    let refresh_at = start + Duration::from_secs(50);
    core.receive(refresh_at, &in_dialog(&dialog, "INVITE", 314160), caller());
    let Some(CallEvent::Request { tx, request, .. }) = core.poll_event() else {
        panic!("expected the re-INVITE");
    };
    core.respond(refresh_at, tx, response_to(&request, 200, "OK"))
        .unwrap();
    let refreshed = sent(&mut core);
    assert!(
        refreshed
            .iter()
            .any(|m| m.contains("Session-Expires: 90;refresher=uac")),
        "{refreshed:?}"
    );
    core.handle_timeout(start + Duration::from_secs(61));
    assert!(
        std::iter::from_fn(|| core.poll_event())
            .all(|e| !matches!(e, CallEvent::SessionExpired { .. })),
        "refreshed in time"
    );
    core.handle_timeout(start + Duration::from_secs(111));
    let events: Vec<CallEvent> = std::iter::from_fn(|| core.poll_event()).collect();
    assert!(
        events.contains(&CallEvent::SessionExpired { dialog }),
        "{events:?}"
    );
}

#[test]
fn a_session_interval_below_90_s_is_refused_with_min_se() {
    let mut core = core();
    core.receive(Instant::now(), &invite_with_timer(30), caller());
    let answers = sent(&mut core);
    assert_eq!(statuses(&answers), [100, 422]);
    assert!(answers[1].contains("Min-SE: 90\r\n"), "{}", answers[1]);
    assert!(core.poll_event().is_none());
}
