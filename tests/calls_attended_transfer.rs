#![allow(clippy::unwrap_used)]
//! Attended transfer through `kefu serve --demo` (RFC 3515 REFER with an
//! RFC 3891 `Replaces`): a customer (440 Hz) calls 1001, whose phone — a
//! scripted phone, as baresip 1.0 has no attended transfer — answers, puts
//! the customer on hold, calls 1002 (baresip, answering with 1800 Hz)
//! through kefu, and then REFERs the customer's call to 1002 replacing that
//! consultation call. kefu joins the customer to 1002 and hangs up both of
//! 1001's calls; each hears the other, and the records say what happened.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::baresip::{agent_phone, samples, share_of, tone_presence};
use common::demo::{ended, newest_call, start_demo};
use common::kefu::Kefu;
use common::phone::{Dialog, Phone};
use common::rtp::{frame_of, stream};
use common::uac::{Answer, Uac, header, offer};

const WAIT: Duration = Duration::from_secs(10);

fn start() -> (tempfile::TempDir, Kefu, String) {
    // baresip 1.0 cannot answer a SHA-256 digest challenge (see sip_baresip.rs).
    start_demo(&[("KEFU_SIP_DIGEST_ALGORITHMS", "MD5")])
}

/// The customer calls 1001 and the scripted phone answers: the customer's
/// call, kefu's answer to it, and the phone's dialog.
fn customer_calls_1001(kefu: &Kefu, phone: &mut Phone, rtp: &UdpSocket) -> (Uac, Answer, Dialog) {
    let mut customer = Uac::new("127.0.0.1:0", kefu.sip, "1001");
    let sdp = offer(rtp.local_addr().unwrap(), "0");
    let calling = std::thread::spawn(move || {
        let answer = customer.invite(&sdp, WAIT);
        (customer, answer)
    });
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let dialog = phone
        .answer(&offer(phone_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("kefu rings 1001");
    let (customer, answer) = calling.join().unwrap();
    let answer = answer.expect("the customer's call is answered");
    assert_eq!(answer.status, 200, "{}", answer.text);
    customer.ack("");
    (customer, answer, dialog)
}

/// The `Refer-To` of an attended transfer to 1002 replacing `consultation`
/// (the tags as RFC 3891 puts them for kefu, the dialog's other end).
fn refer_to(kefu: &Kefu, call_id: &str, kefu_tag: &str, phone_tag: &str) -> String {
    format!(
        "Refer-To: <sip:1002@{}?Replaces={call_id}%3Bto-tag%3D{kefu_tag}%3Bfrom-tag%3D{phone_tag}>",
        kefu.sip
    )
}

#[test]
fn the_agents_phone_joins_the_caller_to_its_consultation_call() {
    let (dir, kefu, token) = start();
    let mut target = agent_phone(dir.path(), kefu.sip, "1002", 1800, true);
    let mut phone = Phone::register(kefu.sip, "1001", "demo1001");
    let customer_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut customer, answer, mut first) = customer_calls_1001(&kefu, &mut phone, &customer_rtp);
    let media = answer.media_addr();
    let tone = |n| frame_of(&[440.0], n);
    stream(&customer_rtp, media, 0, 25, tone);

    let hold_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let hold = offer(hold_rtp.local_addr().unwrap(), "0").replace("sendrecv", "sendonly");
    let held = phone
        .request(&mut first, "INVITE", &[], &hold)
        .expect("an answer");
    assert!(held.starts_with("SIP/2.0 200"), "{held}");

    let consult_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut consultation = Uac::new("127.0.0.1:0", kefu.sip, "1002");
    let answered = consultation
        .invite(&offer(consult_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("1002 answers");
    assert_eq!(answered.status, 200, "{}", answered.text);
    consultation.ack("");
    let kefu_tag = consultation
        .remote_to
        .as_deref()
        .and_then(|to| to.split(";tag=").nth(1))
        .expect("kefu's tag")
        .to_owned();
    stream(&customer_rtp, media, 25, 25, tone);

    let refer = refer_to(
        &kefu,
        &consultation.call_id,
        &kefu_tag,
        &consultation.from_tag,
    );
    let referred_by = "Referred-By: <sip:1001@127.0.0.1>".to_owned();
    let accepted = phone
        .request(&mut first, "REFER", &[refer, referred_by], "")
        .expect("an answer to the REFER");
    assert!(accepted.starts_with("SIP/2.0 202"), "{accepted}");
    let bye = phone.wait_for_request("BYE ", WAIT);
    assert!(
        bye.is_some(),
        "1001's first call is hung up\n{}",
        kefu.stderr()
    );
    let outcome: Vec<String> = phone
        .requests
        .iter()
        .filter(|r| r.starts_with("NOTIFY "))
        .map(|r| {
            r.split("\r\n\r\n")
                .nth(1)
                .unwrap_or_default()
                .trim()
                .to_owned()
        })
        .collect();
    assert_eq!(
        outcome.last().map(String::as_str),
        Some("SIP/2.0 200 OK"),
        "{outcome:?}"
    );
    let notify = phone
        .requests
        .iter()
        .rfind(|r| r.starts_with("NOTIFY "))
        .unwrap();
    assert!(
        header(notify, "Subscription-State")
            .unwrap()
            .starts_with("terminated"),
        "{notify}"
    );
    let consultation_bye = consultation.answer_next_request(WAIT).expect("a BYE");
    assert!(consultation_bye.starts_with("BYE "), "{consultation_bye}");

    let after = stream(&customer_rtp, media, 50, 200, tone);
    assert_eq!(customer.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    target.stop();

    let last_second = &after[after.len() - 8000..];
    let share = share_of(last_second, 8000, 1800.0);
    assert!(
        share > 0.7,
        "after the transfer the customer hears 1002: {share:.2}\n{}",
        kefu.stderr()
    );
    let recordings = target.heard();
    let [heard] = &recordings[..] else {
        panic!("1002 had one call: {recordings:?}\n{}", target.output());
    };
    let (rate, audio) = samples(heard);
    let tail = &audio[audio.len().saturating_sub(2 * rate as usize)..];
    let (holding, loud) = tone_presence(tail, rate, 440.0);
    assert!(
        holding > 0.8 && loud > 0.5,
        "1002 hears the customer at the end: 440 Hz in {holding:.2} of {loud:.2} loud"
    );

    let customers = newest_call(&kefu, &token, "1001", WAIT, ended);
    let consulted = newest_call(&kefu, &token, "1002", WAIT, ended);
    assert_eq!(customers["end_reason"], "caller_hangup", "{customers}");
    assert_eq!(consulted["end_reason"], "transferred", "{consulted}");
    let legs: Vec<(&str, i64, &serde_json::Value)> = customers["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| {
            let status = leg["final_status"].as_i64().unwrap_or(0);
            (
                leg["role"].as_str().unwrap(),
                status,
                &leg["transferred_from"],
            )
        })
        .collect();
    let null = serde_json::Value::Null;
    assert_eq!(
        legs,
        [
            ("caller", 200, &null),
            ("agent", 200, &null),
            ("agent", 200, &consulted["id"])
        ],
        "{customers}"
    );
    let adopted = &customers["legs"][2];
    assert_eq!(
        adopted["sip_call_id"], consulted["legs"][1]["sip_call_id"],
        "{consulted}"
    );
    assert!(
        adopted["rtp_packets_received"].as_i64().unwrap() > 100,
        "{adopted}"
    );
}

#[test]
fn a_transfer_replacing_no_call_is_reported_481_and_the_call_goes_on() {
    let (_dir, kefu, token) = start();
    let mut phone = Phone::register(kefu.sip, "1001", "demo1001");
    let customer_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut customer, answer, mut first) = customer_calls_1001(&kefu, &mut phone, &customer_rtp);

    let refer = refer_to(&kefu, "no-such-call", "a", "b");
    let accepted = phone
        .request(&mut first, "REFER", &[refer], "")
        .expect("an answer to the REFER");
    assert!(accepted.starts_with("SIP/2.0 202"), "{accepted}");
    let deadline = std::time::Instant::now() + WAIT;
    let failed = loop {
        let told = phone
            .requests
            .iter()
            .find(|r| r.starts_with("NOTIFY ") && r.contains("\r\n\r\nSIP/2.0 481"));
        if let Some(told) = told {
            break told.clone();
        }
        assert!(std::time::Instant::now() < deadline, "{:?}", phone.requests);
        phone.listen(Duration::from_millis(200));
    };
    assert!(
        header(&failed, "Subscription-State")
            .unwrap()
            .starts_with("terminated")
    );

    stream(&customer_rtp, answer.media_addr(), 0, 25, |n| {
        frame_of(&[440.0], n)
    });
    assert!(
        !phone.requests.iter().any(|r| r.starts_with("BYE ")),
        "1001 keeps the customer"
    );
    assert_eq!(customer.bye(WAIT), Some(200));
    assert!(phone.wait_for_request("BYE ", WAIT).is_some());
    let call = newest_call(&kefu, &token, "1001", WAIT, ended);
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    assert_eq!(call["legs"].as_array().unwrap().len(), 2, "{call}");
}
