#![allow(clippy::unwrap_used)]
//! Calls to an agent's extension through `kefu serve --demo`: a real phone
//! (baresip, registered as 1001, auto-answering and "speaking" 1000 Hz) is
//! rung by kefu, and a caller on the demo trunk sending 440 Hz is bridged to
//! it. Each side hears the other's tone; the record has both legs.

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::baresip::{agent_phone, samples, share_of, tone_presence};
use common::demo::{ended, newest_call, start_demo};
use common::kefu::{Kefu, http};
use common::rtp::{frame_of, stream};
use common::uac::{Uac, offer};
use serde_json::Value;

const WAIT: Duration = Duration::from_secs(10);

fn start() -> (tempfile::TempDir, Kefu, String) {
    start_with(&[])
}

fn start_with(env: &[(&str, &str)]) -> (tempfile::TempDir, Kefu, String) {
    // baresip 1.0 cannot answer a SHA-256 digest challenge (see sip_baresip.rs).
    let mut env = env.to_vec();
    env.push(("KEFU_SIP_DIGEST_ALGORITHMS", "MD5"));
    start_demo(&env)
}

#[test]
fn a_call_to_1001_rings_the_registered_phone_and_bridges_both_ways() {
    let (dir, kefu, token) = start();
    let mut phone = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);

    let caller_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "1001");
    let answer = uac
        .invite(&offer(caller_rtp.local_addr().unwrap(), "0 101"), WAIT)
        .expect("an answer");
    assert_eq!(
        answer.status,
        200,
        "{}\nkefu:\n{}",
        answer.text,
        kefu.stderr()
    );
    uac.ack("");
    let heard = stream(&caller_rtp, answer.media_addr(), 0, 4 * 50, |n| {
        frame_of(&[440.0], n)
    });
    assert_eq!(uac.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    phone.stop();

    assert!(
        heard.len() > 8000 * 2,
        "the caller heard only {} samples",
        heard.len()
    );
    let caller_heard = share_of(&heard[8000..], 8000, 1000.0);
    assert!(
        caller_heard > 0.7,
        "1000 Hz is only {caller_heard:.2} of what the caller heard"
    );
    let recordings = phone.heard();
    let [recording] = &recordings[..] else {
        panic!(
            "expected one recording on the phone, got {recordings:?}\n{}",
            phone.output()
        );
    };
    let (rate, audio) = samples(recording);
    assert!(
        audio.len() > rate as usize * 2,
        "the phone heard {} samples",
        audio.len()
    );
    let tail = &audio[rate as usize / 2..audio.len() - rate as usize / 4];
    let agent_heard = share_of(tail, rate, 440.0);
    assert!(
        agent_heard > 0.7,
        "440 Hz is only {agent_heard:.2} of what the phone heard"
    );

    let call = newest_call(&kefu, &token, "1001", WAIT, ended);
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    let roles: Vec<&str> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| leg["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["caller", "agent"], "{call}");
    assert_eq!(call["legs"][1]["final_status"], 200, "{call}");
    assert_eq!(call["legs"][1]["codec"], "PCMU", "{call}");
    for leg in call["legs"].as_array().unwrap() {
        let count = |field: &str| leg[field].as_i64().unwrap_or(-1);
        assert!(count("rtp_packets_received") > 100, "{leg}");
        assert!(count("rtp_packets_sent") > 100, "{leg}");
        assert!(count("rtp_foreign_dropped") >= 0, "{leg}");
    }

    let recording = &call["recordings"][0];
    assert!(recording["duration_ms"].as_i64().unwrap() > 3000, "{call}");
    let wav = http()
        .get(kefu.url(&format!(
            "/api/v1/recordings/{}",
            recording["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(wav.status(), 200);
    assert_eq!(wav.headers()["content-type"], "audio/wav");
    let bytes = wav.bytes().unwrap();
    let reader = hound::WavReader::new(std::io::Cursor::new(bytes)).unwrap();
    assert_eq!(reader.spec().channels, 2, "one channel per side");
    let rate = reader.spec().sample_rate;
    let samples: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let (left, right): (Vec<i16>, Vec<i16>) = samples
        .chunks_exact(2)
        .map(|frame| (frame[0], frame[1]))
        .skip(rate as usize)
        .take(rate as usize * 2)
        .unzip();
    for (channel, audio, hz) in [
        ("left (caller)", &left, 440.0),
        ("right (agent)", &right, 1000.0),
    ] {
        let (holding, sounding) = tone_presence(audio, rate, hz);
        assert!(
            holding > 0.8 && sounding > 0.6,
            "the {channel} channel: {hz} Hz in {holding:.2} of its sound, sound in {sounding:.2} of the time"
        );
    }
}

#[test]
fn a_call_to_an_extension_without_a_phone_gets_480() {
    let (_dir, kefu, _token) = start();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "1002");
    let rtp: SocketAddr = "127.0.0.1:40000".parse().unwrap();
    let answer = uac.invite(&offer(rtp, "0"), WAIT).expect("an answer");
    assert_eq!(answer.status, 480, "{}", answer.text);
    let warning = answer.header("Warning").unwrap_or_default();
    assert!(warning.contains("no registered phone"), "{warning}");
}

#[test]
fn a_call_to_4002_goes_out_through_the_loopback_trunk_to_a_sipp_server_with_media_bridged() {
    let (dir, kefu, token) = start_with(&[("KEFU_RECORDINGS_ENABLED", "false")]);
    let mut server = std::process::Command::new("sipp")
        .args([
            "-sn",
            "uas",
            "-rtp_echo",
            "-m",
            "1",
            "-timeout",
            "30s",
            "-nostdin",
        ])
        .args(["-i", "127.0.0.1", "-p", "5070", "-mi", "127.0.0.1"])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sipp is missing: run `scripts/install-deps.sh test`");
    std::thread::sleep(Duration::from_millis(500));

    let caller_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4002");
    let answer = uac
        .invite(&offer(caller_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(
        answer.status,
        200,
        "{}\nkefu:\n{}",
        answer.text,
        kefu.stderr()
    );
    uac.ack("");
    let heard = stream(&caller_rtp, answer.media_addr(), 0, 2 * 50, |n| {
        frame_of(&[440.0], n)
    });

    // The caller moves to another port (and holds, then resumes): a re-INVITE
    // answered by kefu on the caller's side alone, and the relay follows.
    let moved_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let hold = offer(moved_rtp.local_addr().unwrap(), "0").replace("a=sendrecv", "a=sendonly");
    let held = uac.reinvite(&hold, WAIT).expect("an answer to the hold");
    assert_eq!(held.status, 200, "{}", held.text);
    assert!(held.text.contains("a=recvonly"), "{}", held.text);
    let resumed = uac
        .reinvite(&offer(moved_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer to the resume");
    assert_eq!(resumed.status, 200, "{}", resumed.text);
    assert_eq!(resumed.media_addr(), answer.media_addr(), "same kefu port");
    let heard_after_move = stream(&moved_rtp, resumed.media_addr(), 0, 50, |n| {
        frame_of(&[440.0], n)
    });
    assert!(
        heard_after_move.len() > 4000,
        "after moving, only {} samples came back",
        heard_after_move.len()
    );

    assert_eq!(uac.bye(WAIT), Some(200));
    let status = server.wait().unwrap();
    assert!(status.success(), "the sipp server failed: {status:?}");

    assert!(heard.len() > 8000, "only {} samples came back", heard.len());
    let echoed = share_of(&heard[4000..], 8000, 440.0);
    assert!(
        echoed > 0.7,
        "440 Hz is only {echoed:.2} of what came back through the trunk"
    );
    let call = newest_call(&kefu, &token, "4002", WAIT, |_| true);
    assert_eq!(call["legs"][1]["role"], "trunk", "{call}");
    assert_eq!(call["legs"][1]["final_status"], 200, "{call}");
    assert_eq!(
        call["recordings"],
        serde_json::json!([]),
        "recording is off: {call}"
    );
}

#[test]
fn the_agents_phone_transfers_the_caller_blind_to_another_extension() {
    let (dir, kefu, token) = start();
    let mut first = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    let mut second = agent_phone(dir.path(), kefu.sip, "1002", 1800, true);

    let caller_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "1001");
    let answer = uac
        .invite(&offer(caller_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    let media = answer.media_addr();
    let tone = |n| frame_of(&[440.0], n);
    let before = stream(&caller_rtp, media, 0, 100, tone);
    first.type_keys(&format!("/transfer sip:1002@{}\n", kefu.sip));
    let after = stream(&caller_rtp, media, 100, 250, tone);
    assert_eq!(uac.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    first.stop();
    second.stop();

    let last_second = |heard: &[i16]| heard[heard.len() - 8000..].to_vec();
    assert!(
        share_of(&last_second(&before), 8000, 1000.0) > 0.7,
        "1001 first"
    );
    let share = share_of(&last_second(&after), 8000, 1800.0);
    assert!(
        share > 0.7,
        "after the transfer the caller hears 1002: {share:.2}\n{}\n{}",
        first.output(),
        kefu.stderr()
    );
    let call = newest_call(&kefu, &token, "1001", WAIT, ended);
    let legs: Vec<(&str, i64)> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| {
            let status = leg["final_status"].as_i64().unwrap_or(0);
            (leg["role"].as_str().unwrap(), status)
        })
        .collect();
    assert_eq!(
        legs,
        [("caller", 200), ("agent", 200), ("agent", 200)],
        "{call}"
    );
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
}

#[test]
fn the_agent_puts_the_caller_on_hold_and_the_caller_hears_hold_music_until_resumed() {
    let (dir, kefu, token) = start();
    let mut phone = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "1001");
    let answer = uac
        .invite(&offer(caller_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    uac.ack("");
    let media = answer.media_addr();
    let tone = |n| frame_of(&[440.0], n);
    let talking = stream(&caller_rtp, media, 0, 100, tone);
    phone.type_keys("/hold\n");
    let held = stream(&caller_rtp, media, 100, 250, tone);
    phone.type_keys("/resume\n");
    let resumed = stream(&caller_rtp, media, 350, 150, tone);
    assert_eq!(uac.bye(WAIT), Some(200));
    phone.stop();

    let last_second = |heard: &[i16]| heard[heard.len().saturating_sub(8000)..].to_vec();
    assert!(
        share_of(&last_second(&talking), 8000, 1000.0) > 0.7,
        "the agent first"
    );
    // The chime: a 523 + 659 Hz chord, 0.4 s in every 4 s, silence between.
    let settled = &held[4000..];
    let loud: Vec<&[i16]> = settled
        .chunks_exact(400)
        .filter(|block| block.iter().map(|s| i64::from(*s).abs()).sum::<i64>() / 400 > 200)
        .collect();
    assert!(
        loud.len() >= 4,
        "on hold the caller hears the chime: {} loud blocks\n{}",
        loud.len(),
        kefu.stderr()
    );
    for block in &loud {
        let chord = share_of(block, 8000, 523.25) + share_of(block, 8000, 659.25);
        assert!(
            chord > 0.6 && share_of(block, 8000, 1000.0) < 0.1,
            "on hold the caller hears the chime, not the agent: chord {chord:.2}"
        );
    }
    assert!(
        share_of(&last_second(&resumed), 8000, 1000.0) > 0.7,
        "resumed, the caller hears the agent again"
    );
    let call = newest_call(&kefu, &token, "1001", WAIT, ended);
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
}

/// Streams `frames` 20 ms Opus frames of `hz` to `to` and returns the audio
/// kefu sent back meanwhile, decoded to 8 kHz.
fn talk_opus(socket: &UdpSocket, to: SocketAddr, frames: usize, hz: f64) -> Vec<i16> {
    use kefu_media::codec::{LegCodec, LegDecoder, LegEncoder};
    let mut encoder = LegEncoder::new(LegCodec::opus()).unwrap();
    let mut decoder = LegDecoder::new(LegCodec::opus()).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(2)))
        .unwrap();
    let start = std::time::Instant::now();
    let (mut heard, mut buffer, mut payload) = (Vec::new(), [0; 2048], Vec::new());
    for n in 0..frames {
        let mut packet = vec![0x80, 111];
        packet.extend_from_slice(&(n as u16).to_be_bytes());
        packet.extend_from_slice(&((n as u32) * 960).to_be_bytes());
        packet.extend_from_slice(&0x0055_0055_u32.to_be_bytes());
        payload.clear();
        encoder
            .encode_into(&frame_of(&[hz], n), &mut payload)
            .unwrap();
        packet.extend_from_slice(&payload);
        socket.send_to(&packet, to).unwrap();
        let next = start + Duration::from_millis(20 * (n as u64 + 1));
        while std::time::Instant::now() < next {
            if let Ok((size, _)) = socket.recv_from(&mut buffer) {
                if size > 12 && buffer[1] & 0x7f == 111 {
                    decoder.decode_into(&buffer[12..size], &mut heard).unwrap();
                }
            }
        }
    }
    heard
}

#[test]
fn an_opus_only_caller_is_transcoded_to_the_agents_g711_phone() {
    let (dir, kefu, token) = start();
    let mut phone = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let sdp = format!(
        "v=0\r\no=uac 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n\
         m=audio {} RTP/AVP 111\r\na=rtpmap:111 opus/48000/2\r\na=sendrecv\r\n",
        rtp.local_addr().unwrap().port()
    );
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "1001");
    let answer = uac.invite(&sdp, WAIT).expect("an answer");
    assert_eq!(answer.status, 200, "{}\n{}", answer.text, kefu.stderr());
    assert!(answer.text.contains("opus/48000/2"), "{}", answer.text);
    uac.ack("");
    let heard = talk_opus(&rtp, answer.media_addr(), 4 * 50, 440.0);
    assert_eq!(uac.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    phone.stop();

    let last_second = &heard[heard.len().saturating_sub(8000)..];
    let share = share_of(last_second, 8000, 1000.0);
    assert!(
        share > 0.7,
        "the Opus caller hears the PCMU phone: {share:.2}"
    );
    let (rate, audio) = samples(&phone.heard()[0]);
    let tail = &audio[audio.len().saturating_sub(rate as usize * 2)..];
    let share = share_of(tail, rate, 440.0);
    assert!(
        share > 0.7,
        "the PCMU phone hears the Opus caller: {share:.2}"
    );
    let call = newest_call(&kefu, &token, "1001", WAIT, ended);
    let codecs: Vec<&str> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| leg["codec"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(codecs, ["opus", "PCMU"], "{call}");
}

#[test]
fn two_sipp_processes_talk_through_the_loopback_trunk_and_a_third_address_gets_nowhere() {
    // A narrow port range: the stranger below can knock on every port.
    let (dir, kefu, token) = start_with(&[("KEFU_MEDIA_RTP_PORTS", "31000-31007")]);
    let server_log = dir.path().join("uas-messages.log");
    let mut server = std::process::Command::new("sipp")
        .args(["-sn", "uas", "-rtp_echo", "-m", "1", "-timeout", "30s"])
        .arg("-trace_msg")
        .arg("-message_file")
        .arg(&server_log)
        .args([
            "-nostdin",
            "-i",
            "127.0.0.1",
            "-p",
            "5070",
            "-mi",
            "127.0.0.1",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("sipp is missing: run `scripts/install-deps.sh test`");
    std::thread::sleep(Duration::from_millis(500));
    let stranger = std::thread::spawn(|| {
        std::thread::sleep(Duration::from_secs(3));
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut packet = vec![0x80, 8, 0, 1, 0, 0, 0, 160, 0xba, 0xd0, 0xba, 0xd0];
        packet.extend([0xd5; 160]);
        for _ in 0..10 {
            for port in (31000..31008).step_by(2) {
                socket.send_to(&packet, ("127.0.0.1", port)).unwrap();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let caller = common::sipp::run(
        &common::sipp::scenario("uac_pcap.xml"),
        kefu.sip,
        "127.0.0.1",
        &[
            "-s",
            "4002",
            "-m",
            "1",
            "-mi",
            "127.0.0.1",
            "-key",
            "audio_pcap",
            "/usr/share/sip-tester/g711a.pcap",
        ],
        dir.path(),
    );
    stranger.join().unwrap();
    caller.assert_all_succeeded(1, &kefu.stderr());

    let status = server.wait().unwrap();
    assert!(status.success(), "the sipp server failed: {status:?}");

    let call = newest_call(&kefu, &token, "4002", WAIT, ended);
    let legs = call["legs"].as_array().unwrap();
    let count = |leg: &Value, field: &str| leg[field].as_i64().unwrap_or(-1);
    let (from_caller, from_server) = (
        count(&legs[0], "rtp_packets_received"),
        count(&legs[1], "rtp_packets_received"),
    );
    assert!(
        (230..=236).contains(&from_caller),
        "the pcap's 236 packets reach kefu: {call}"
    );
    assert!(
        from_server >= from_caller - 10,
        "the server echoes what it gets: {call}"
    );
    assert!(
        count(&legs[0], "rtp_packets_sent") >= from_server - 10,
        "the echo goes back to the caller: {call}"
    );
    for leg in legs {
        assert_eq!(
            count(leg, "rtp_foreign_dropped"),
            10,
            "the stranger's packets are dropped on each leg: {call}"
        );
    }
    assert_eq!(legs[0]["codec"], "PCMA", "{call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");

    let received = std::fs::read_to_string(&server_log).unwrap();
    let invite = &received[received.find("INVITE sip:").expect("the server's INVITE")..];
    let invite = &invite[..invite.find("\n\n").unwrap_or(invite.len())];
    assert!(
        invite.contains("P-Asserted-Identity: <sip:+4930123456@carrier.example>"),
        "the caller's identity is forwarded: {invite}"
    );
    assert!(
        !invite.contains("X-Carrier-Secret"),
        "nothing else of the caller's leg leaks: {invite}"
    );
}

#[test]
fn a_late_offer_to_an_extension_gets_the_phones_codec_in_the_200_and_talks_after_the_ack() {
    let (dir, kefu, token) = start();
    let mut phone = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "1001");
    let answer = uac.invite("", WAIT).expect("an answer");
    assert_eq!(
        answer.status,
        200,
        "{}\nkefu:\n{}",
        answer.text,
        kefu.stderr()
    );
    assert!(
        answer.text.contains("a=rtpmap:0 PCMU/8000"),
        "our offer names the phone's codec: {}",
        answer.text
    );
    uac.ack(&offer(caller_rtp.local_addr().unwrap(), "0"));
    let heard = stream(&caller_rtp, answer.media_addr(), 0, 3 * 50, |n| {
        frame_of(&[440.0], n)
    });
    assert_eq!(uac.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    phone.stop();
    let caller_heard = share_of(&heard[heard.len().min(8000)..], 8000, 1000.0);
    assert!(
        caller_heard > 0.7,
        "1000 Hz is only {caller_heard:.2} of what the caller heard"
    );
    let call = newest_call(&kefu, &token, "1001", WAIT, ended);
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    assert_eq!(call["legs"][0]["codec"], "PCMU", "{call}");
}
