#![allow(clippy::unwrap_used)]
//! Calls into `kefu serve --demo` from a caller on the trusted demo trunk
//! (127.0.0.1): the echo test on 4001 answers and sends RTP back; refused
//! calls get the right status; every call leaves a record in the API.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use common::demo::{ended, newest_call, start_demo};
use common::kefu::{Kefu, Options};
use common::uac::{Uac, offer};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(5);

/// The newest call to `did`, once its record is finished.
fn finished_call(kefu: &Kefu, token: &str, did: &str) -> Value {
    newest_call(kefu, token, did, WAIT, ended)
}

/// An RTP packet: PCMU, 160 bytes of payload, this sequence number.
fn rtp(sequence: u16, ssrc: u32) -> Vec<u8> {
    let mut packet = vec![0x80, 0x00];
    packet.extend_from_slice(&sequence.to_be_bytes());
    packet.extend_from_slice(&(u32::from(sequence) * 160).to_be_bytes());
    packet.extend_from_slice(&ssrc.to_be_bytes());
    packet.extend(std::iter::repeat_n(0xff, 160));
    packet
}

/// Sends `count` packets from `socket` to `to`, paced at 20 ms, and counts
/// what comes back to it meanwhile (and shortly after).
fn send_and_count_echoes(socket: &UdpSocket, to: SocketAddr, count: u16) -> (usize, Vec<u32>) {
    socket
        .set_read_timeout(Some(Duration::from_millis(5)))
        .unwrap();
    let mut echoed = 0;
    let mut ssrcs = Vec::new();
    let mut buffer = [0; 2048];
    let mut receive = |echoed: &mut usize| {
        while let Ok((size, _)) = socket.recv_from(&mut buffer) {
            if size >= 12 {
                *echoed += 1;
                ssrcs.push(u32::from_be_bytes(buffer[8..12].try_into().unwrap()));
            }
        }
    };
    for sequence in 0..count {
        socket.send_to(&rtp(sequence, 0x1234_5678), to).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        receive(&mut echoed);
    }
    let deadline = Instant::now() + Duration::from_millis(500);
    while Instant::now() < deadline {
        receive(&mut echoed);
    }
    (echoed, ssrcs)
}

#[test]
fn the_echo_test_answers_and_sends_every_packet_back_then_records_the_call() {
    let (_dir, kefu, token) = start_demo(&[]);
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4001");
    let answer = uac
        .invite(&offer(phone_rtp.local_addr().unwrap(), "0 8 101"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer.text.contains("m=audio "), "{}", answer.text);
    assert!(
        answer.text.contains("a=rtpmap:0 PCMU/8000"),
        "{}",
        answer.text
    );
    uac.ack("");

    let (echoed, ssrcs) = send_and_count_echoes(&phone_rtp, answer.media_addr(), 50);
    assert!(echoed >= 48, "only {echoed} of 50 packets came back");
    assert!(
        ssrcs.iter().all(|ssrc| *ssrc != 0x1234_5678),
        "echoed packets leave with kefu's own SSRC"
    );

    let stranger = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (leaked, _) = send_and_count_echoes(&stranger, answer.media_addr(), 10);
    assert_eq!(leaked, 0, "a third address got packets (RTP bleed)");

    assert_eq!(uac.bye(WAIT), Some(200));
    let call = finished_call(&kefu, &token, "4001");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    assert!(!call["answered_at"].is_null(), "{call}");
    assert_eq!(call["direction"], "inbound");
    let leg = &call["legs"][0];
    assert_eq!(leg["role"], "caller", "{call}");
    assert_eq!(leg["final_status"], 200, "{call}");
    assert_eq!(leg["codec"], "PCMU", "{call}");
    assert!(
        leg["sip_call_id"].as_str().unwrap().starts_with("uac-"),
        "{call}"
    );
    assert_eq!(
        leg["rtp_foreign_dropped"], 10,
        "the stranger's packets are counted: {call}"
    );
    assert!(
        leg["rtp_packets_received"].as_i64().unwrap() >= 48,
        "{call}"
    );
}

#[test]
fn a_late_offer_gets_kefus_offer_in_the_200_and_echo_starts_after_the_ack() {
    let (_dir, kefu, token) = start_demo(&[]);
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4001");
    let answer = uac.invite("", WAIT).expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(
        answer.text.contains("a=rtpmap:0 PCMU/8000"),
        "{}",
        answer.text
    );
    uac.ack(&offer(phone_rtp.local_addr().unwrap(), "8"));
    let (echoed, _) = send_and_count_echoes(&phone_rtp, answer.media_addr(), 20);
    assert!(echoed >= 18, "only {echoed} of 20 packets came back");
    assert_eq!(uac.bye(WAIT), Some(200));
    let call = finished_call(&kefu, &token, "4001");
    assert_eq!(call["legs"][0]["codec"], "PCMA", "{call}");
}

#[test]
fn an_offer_without_a_common_codec_is_refused_488_naming_what_was_offered() {
    let (_dir, kefu, token) = start_demo(&[]);
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4001");
    let rtp: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let answer = uac.invite(&offer(rtp, "18"), WAIT).expect("an answer");
    assert_eq!(answer.status, 488, "{}", answer.text);
    let warning = answer.header("Warning").expect("a Warning header");
    assert!(warning.contains("no common codec"), "{warning}");
    let call = finished_call(&kefu, &token, "4001");
    assert_eq!(call["end_reason"], "refused_488", "{call}");
    assert!(call["answered_at"].is_null(), "{call}");
}

#[test]
fn an_unknown_number_gets_404_and_an_untrusted_source_is_challenged() {
    let (_dir, kefu, token) = start_demo(&[]);
    let rtp: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let mut unknown = Uac::new("127.0.0.1:0", kefu.sip, "4999");
    let answer = unknown.invite(&offer(rtp, "0"), WAIT).expect("an answer");
    assert_eq!(answer.status, 404, "{}", answer.text);
    let call = finished_call(&kefu, &token, "4999");
    assert_eq!(call["end_reason"], "refused_404", "{call}");

    let mut stranger = Uac::new("127.0.0.2:0", kefu.sip, "4001");
    let answer = stranger.invite(&offer(rtp, "0"), WAIT).expect("an answer");
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert!(
        answer.header("WWW-Authenticate").is_some(),
        "{}",
        answer.text
    );
}

#[test]
fn a_phone_outside_the_trunk_calls_with_its_agents_credentials_and_a_wrong_password_is_refused() {
    let (_dir, kefu, token) = start_demo(&[]);
    let phone_rtp = UdpSocket::bind("127.0.0.2:0").unwrap();
    let mut agent = Uac::new("127.0.0.2:0", kefu.sip, "4001");
    let answer = agent
        .invite_as(
            "1001",
            "demo1001",
            &offer(phone_rtp.local_addr().unwrap(), "0"),
            WAIT,
        )
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    agent.ack("");
    let (echoed, _) = send_and_count_echoes(&phone_rtp, answer.media_addr(), 10);
    assert!(echoed >= 8, "only {echoed} of 10 packets came back");
    assert_eq!(agent.bye(WAIT), Some(200));
    let call = finished_call(&kefu, &token, "4001");
    assert_eq!(call["direction"], "internal", "{call}");

    let rtp: SocketAddr = "127.0.0.2:40000".parse().unwrap();
    let mut intruder = Uac::new("127.0.0.2:0", kefu.sip, "4001");
    let answer = intruder
        .invite_as("1001", "guess", &offer(rtp, "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 403, "{}", answer.text);
}

#[test]
fn stopping_kefu_hangs_up_calls_with_bye_and_finishes_their_records() {
    let dir = tempfile::tempdir().unwrap();
    let options = Options {
        demo: true,
        ..Options::default()
    };
    let mut kefu = Kefu::start(dir.path(), options.clone());
    let token = kefu.printed_token("kefu_admin_").expect("admin token");
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4001");
    let answer = uac
        .invite(&offer(phone_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");

    let stopping = std::thread::spawn(move || {
        let status = kefu.signal_and_wait("TERM", Duration::from_secs(8));
        (kefu, status)
    });
    let bye = uac.answer_next_request(WAIT).expect("kefu's BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
    let (kefu, status) = stopping.join().unwrap();
    assert!(status.is_some_and(|s| s.success()), "exit: {status:?}");
    drop(kefu);

    let again = Kefu::start(dir.path(), options);
    let call = finished_call(&again, &token, "4001");
    assert_eq!(call["end_reason"], "shutdown", "{call}");
}

#[test]
fn a_baresip_caller_on_the_echo_test_hears_its_own_440_hz_tone() {
    use common::baresip::{Baresip, PhoneConfig, samples, share_of, tone};
    let (dir, kefu, token) = start_demo(&[]);
    let source = dir.path().join("tone_440.wav");
    tone(&source, 440, 30);
    let phone_dir = dir.path().join("caller");
    std::fs::create_dir_all(&phone_dir).unwrap();
    let dial = format!("/dial sip:4001@{}", kefu.sip);
    let mut phone = Baresip::start(
        &phone_dir,
        &PhoneConfig {
            accounts: &["<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU".to_owned()],
            audio_source: Some(&source),
        },
        &[&dial],
    );
    assert!(
        phone.wait_for_log("Call established", Duration::from_secs(10)),
        "the call was not established:\n{}",
        phone.output()
    );
    std::thread::sleep(Duration::from_secs(4));
    phone.type_keys("/hangup\n");
    std::thread::sleep(Duration::from_millis(500));
    phone.stop();

    let heard = phone.heard();
    let [recording] = &heard[..] else {
        panic!(
            "expected one recording of what the phone heard, got {heard:?}\n{}",
            phone.output()
        );
    };
    let (rate, audio) = samples(recording);
    let skip = rate as usize / 2;
    assert!(
        audio.len() > skip + rate as usize * 2,
        "only {} samples heard",
        audio.len()
    );
    let heard_tone = &audio[skip..audio.len() - rate as usize / 4];
    let share = share_of(heard_tone, rate, 440.0);
    assert!(
        share > 0.8,
        "440 Hz is only {share:.2} of what the caller heard"
    );

    let call = finished_call(&kefu, &token, "4001");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
}
