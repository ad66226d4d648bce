#![allow(clippy::unwrap_used)]
//! Calls queued by the demo IVR (`4000`, key 1 → queue `sales`) through
//! `kefu serve --demo`, with agents on real phones (baresip registered as
//! 1001/1002, "speaking" a tone) made ready through the API: the caller
//! (sending 440 Hz, keys as in-band tones) is offered to an agent, bridged
//! and recorded; an offer that rings out goes to the next agent; a caller who
//! hangs up while waiting abandons; one who waits too long is let go.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::baresip::{agent_phone, samples, share_of, tone_presence};
use common::demo::{configure_queue, ended, get_json, newest_call, start_demo};
use common::kefu::{Kefu, http};
use common::rtp::{dtmf, frame_of, silence_until_tone, stream};
use common::uac::{Answer, Uac, offer};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(10);

fn start() -> (tempfile::TempDir, Kefu, String) {
    // baresip 1.0 cannot answer a SHA-256 digest challenge (see sip_baresip.rs).
    start_demo(&[("KEFU_SIP_DIGEST_ALGORITHMS", "MD5")])
}

/// `method path` with `token` and a JSON body; the answer must be a success.
fn api(kefu: &Kefu, token: &str, method: &str, path: &str, body: Value) -> Value {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let response = http()
        .request(method.clone(), kefu.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    let status = response.status();
    let value: Value = response.json().unwrap_or(Value::Null);
    assert!(status.is_success(), "{method} {path}: {status} {value}");
    value
}

/// Logs the agent in with their own token; ready when `ready`.
fn log_in(kefu: &Kefu, extension: &str, ready: bool) {
    let token = kefu.agent_token(extension);
    let login = format!("/api/v1/agents/{extension}/login");
    api(kefu, &token, "POST", &login, Value::Null);
    if ready {
        let state = format!("/api/v1/agents/{extension}/state");
        api(kefu, &token, "PUT", &state, json!({"state": "ready"}));
    }
}

/// The queue's live figures.
fn queue(kefu: &Kefu, token: &str, name: &str) -> Value {
    get_json(kefu, token, "/api/v1/queues?tenant=demo")
        .as_array()
        .unwrap()
        .iter()
        .find(|queue| queue["name"] == name)
        .unwrap()
        .clone()
}

/// Calls 4000 from `rtp`, listens to a second of the greeting, and presses 1
/// (sales) as an in-band tone; frames go on from number 60.
fn call_sales(kefu: &Kefu, rtp: &UdpSocket) -> (Uac, Answer) {
    let mut uac = Uac::new("127.0.0.1:0", kefu.sip, "4000");
    let answer = uac
        .invite(&offer(rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}\n{}", answer.text, kefu.stderr());
    uac.ack("");
    let media = answer.media_addr();
    let greeting = stream(rtp, media, 0, 50, |_| frame_of(&[], 0));
    assert!(!greeting.is_empty(), "the greeting should be playing");
    stream(rtp, media, 50, 10, |n| frame_of(&dtmf('1'), n));
    (uac, answer)
}

#[test]
fn a_caller_queued_in_sales_talks_to_the_ready_agent_and_the_call_is_recorded() {
    let (dir, kefu, token) = start();
    let mut phone = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    log_in(&kefu, "1001", true);

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut uac, answer) = call_sales(&kefu, &rtp);
    let heard = stream(&rtp, answer.media_addr(), 60, 6 * 50, |n| {
        frame_of(&[440.0], n)
    });
    assert_eq!(uac.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    phone.stop();

    let last_seconds = &heard[heard.len().saturating_sub(3 * 8000)..];
    let (holding, sounding) = tone_presence(last_seconds, 8000, 1000.0);
    assert!(
        holding > 0.8 && sounding > 0.6,
        "the caller should hear the agent's 1000 Hz: {holding:.2} of {sounding:.2}\n{}",
        kefu.stderr()
    );
    let recordings = phone.heard();
    let [recording] = &recordings[..] else {
        panic!("expected one call on the phone, got {recordings:?}");
    };
    let (rate, audio) = samples(recording);
    let tail = &audio[audio.len().saturating_sub(rate as usize * 3)..];
    let agent_heard = share_of(tail, rate, 440.0);
    assert!(
        agent_heard > 0.7,
        "440 Hz is only {agent_heard:.2} of what the agent heard"
    );

    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["flow_path"], "welcome,menu,sales", "{call}");
    assert_eq!(call["queue"], "sales", "{call}");
    assert_eq!(call["agent"], "1001", "{call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    let wait_ms = call["wait_ms"].as_i64().unwrap();
    let talk_ms = call["talk_ms"].as_i64().unwrap();
    assert!((0..5000).contains(&wait_ms), "{call}");
    assert!(talk_ms > 3000, "{call}");
    let roles: Vec<&str> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| leg["role"].as_str().unwrap())
        .collect();
    assert_eq!(roles, ["caller", "agent"], "{call}");

    let id = call["recordings"][0]["id"].as_str().expect("a recording");
    let wav = http()
        .get(kefu.url(&format!("/api/v1/recordings/{id}")))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let reader = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
    assert_eq!(reader.spec().channels, 2);
    let rate = reader.spec().sample_rate;
    let stereo: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let frames = stereo.len() / 2;
    let (left, right): (Vec<i16>, Vec<i16>) = stereo
        .chunks_exact(2)
        .map(|frame| (frame[0], frame[1]))
        .skip(frames.saturating_sub(rate as usize * 3))
        .take(rate as usize * 2)
        .unzip();
    for (channel, audio, hz) in [("left", &left, 440.0), ("right", &right, 1000.0)] {
        let (holding, sounding) = tone_presence(audio, rate, hz);
        assert!(
            holding > 0.8 && sounding > 0.6,
            "{channel}: {hz} Hz in {holding:.2} of its sound, sound in {sounding:.2}"
        );
    }

    for (agent, status) in [("1001", 200), ("1002", 404)] {
        let listened = http()
            .get(kefu.url(&format!("/api/v1/recordings/{id}")))
            .bearer_auth(kefu.agent_token(agent))
            .send()
            .unwrap();
        assert_eq!(listened.status(), status, "agent {agent}");
    }

    let sales = queue(&kefu, &token, "sales");
    assert_eq!(sales["answered"], 1, "{sales}");
    let agents = get_json(&kefu, &token, "/api/v1/agents?tenant=demo");
    let agent = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|agent| agent["extension"] == "1001")
        .unwrap();
    assert_eq!(agent["state"], "wrap_up", "{agent}");
}

#[test]
fn an_offer_that_rings_out_goes_to_the_next_agent() {
    let (dir, kefu, token) = start();
    let settings = json!({"offer_timeout_secs": 2, "strategy": "top-down"});
    configure_queue(&kefu, &token, "sales", &settings);
    let mut silent = agent_phone(dir.path(), kefu.sip, "1001", 1000, false);
    let mut answering = agent_phone(dir.path(), kefu.sip, "1002", 1000, true);
    log_in(&kefu, "1001", true);
    log_in(&kefu, "1002", true);

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut uac, answer) = call_sales(&kefu, &rtp);
    let heard = stream(&rtp, answer.media_addr(), 60, 6 * 50, |n| {
        frame_of(&[440.0], n)
    });
    assert_eq!(uac.bye(WAIT), Some(200));
    silent.stop();
    answering.stop();

    let last_second = &heard[heard.len().saturating_sub(8000)..];
    assert!(
        share_of(last_second, 8000, 1000.0) > 0.7,
        "the caller should be talking to 1002 by now\n{}",
        kefu.stderr()
    );
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["agent"], "1002", "{call}");
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
        [("caller", 200), ("agent", 487), ("agent", 200)],
        "1001 rang out (cancelled), 1002 answered: {call}"
    );
    let contact = get_json(
        &kefu,
        &token,
        &format!(
            "/api/v1/contacts/{}?tenant=demo",
            call["contact_id"].as_str().unwrap()
        ),
    );
    let kinds: Vec<&str> = contact["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["kind"].as_str().unwrap())
        .collect();
    assert!(
        kinds.contains(&"no_answer") && kinds.contains(&"accepted"),
        "{contact}"
    );
}

#[test]
fn a_caller_who_hangs_up_while_waiting_abandons_and_heard_the_wait() {
    let (_dir, kefu, token) = start();
    log_in(&kefu, "1001", false);

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut uac, answer) = call_sales(&kefu, &rtp);
    let waiting = stream(&rtp, answer.media_addr(), 60, 4 * 50, |_| frame_of(&[], 0));
    assert_eq!(uac.bye(WAIT), Some(200));

    assert!(
        waiting.iter().filter(|s| s.unsigned_abs() > 300).count() > 8000,
        "the waiting caller should hear their place in line and the hold chime"
    );
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["queue"], "sales", "{call}");
    assert_eq!(call["agent"], Value::Null, "{call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let sales = queue(&kefu, &token, "sales");
        if sales["abandoned"] == 1 {
            assert!(
                sales["average_abandon_wait_ms"].as_u64().unwrap() > 2000,
                "{sales}"
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{sales}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_caller_who_waits_the_longest_wait_is_let_go_with_a_message() {
    let (_dir, kefu, token) = start();
    configure_queue(&kefu, &token, "sales", &json!({"max_wait_secs": 2}));
    log_in(&kefu, "1001", false);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (uac, answer) = call_sales(&kefu, &rtp);
    let told = stream(&rtp, answer.media_addr(), 60, 2 * 50, |_| frame_of(&[], 0));
    assert!(!told.is_empty(), "the caller should hear why");
    let bye = uac
        .answer_next_request(Duration::from_secs(20))
        .expect("kefu's BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["queue"], "sales", "{call}");
    assert_eq!(call["end_reason"], "kefu_hangup:flow_ended", "{call}");
    assert_eq!(queue(&kefu, &token, "sales")["timed_out"], 1);
}

/// Dials `code` from 1001's phone (outside the trusted trunk, so with its
/// SIP credentials) and waits for kefu to say the state and hang up.
fn feature_code(kefu: &Kefu, code: &str) {
    let rtp = UdpSocket::bind("127.0.0.2:0").unwrap();
    let mut phone = Uac::new("127.0.0.2:0", kefu.sip, code);
    let answer = phone
        .invite_as(
            "1001",
            "demo1001",
            &offer(rtp.local_addr().unwrap(), "0"),
            WAIT,
        )
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}", answer.text);
    phone.ack("");
    let said = stream(&rtp, answer.media_addr(), 0, 50, |_| frame_of(&[], 0));
    assert!(!said.is_empty(), "kefu should say the new state");
    let bye = phone
        .answer_next_request(Duration::from_secs(15))
        .expect("kefu's BYE");
    assert!(bye.starts_with("BYE "), "{bye}");
}

#[test]
fn an_agent_goes_ready_with_star_50_and_not_ready_with_star_51_from_the_phone() {
    let (_dir, kefu, token) = start();
    let agent = |token: &str| {
        get_json(&kefu, token, "/api/v1/agents?tenant=demo")
            .as_array()
            .unwrap()
            .iter()
            .find(|agent| agent["extension"] == "1001")
            .unwrap()
            .clone()
    };
    assert_eq!(agent(&token)["state"], "logged_out");
    feature_code(&kefu, "*50");
    assert_eq!(agent(&token)["state"], "ready", "{}", kefu.stderr());
    feature_code(&kefu, "*51");
    let status = agent(&token);
    assert_eq!(status["state"], "not_ready", "{status}");
    assert_eq!(status["reason"], "phone", "{status}");
}

#[test]
fn a_baresip_caller_pressing_1_is_queued_in_sales_and_talks_to_the_agent() {
    use common::baresip::{Baresip, PhoneConfig, tone};
    let (dir, kefu, token) = start();
    let mut agent = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    log_in(&kefu, "1001", true);
    let source = dir.path().join("tone_440.wav");
    tone(&source, 440, 60);
    let caller_dir = dir.path().join("caller");
    std::fs::create_dir_all(&caller_dir).unwrap();
    let dial = format!("/dial sip:4000@{}", kefu.sip);
    let mut caller = Baresip::start(
        &caller_dir,
        &PhoneConfig {
            accounts: &["<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU".to_owned()],
            audio_source: Some(&source),
        },
        &[&dial],
    );
    assert!(
        caller.wait_for_log("Call established", WAIT),
        "{}",
        caller.output()
    );
    std::thread::sleep(Duration::from_millis(1500));
    caller.type_keys("/sndcode 1\n");
    let bridged = newest_call(&kefu, &token, "4000", WAIT, |call| call["agent"] == "1001");
    std::thread::sleep(Duration::from_secs(4));
    caller.type_keys("/hangup\n");
    std::thread::sleep(Duration::from_millis(500));
    caller.stop();
    agent.stop();

    let (rate, heard) = samples(&caller.heard()[0]);
    let last_seconds = &heard[heard.len().saturating_sub(rate as usize * 3)..];
    let (holding, sounding) = tone_presence(last_seconds, rate, 1000.0);
    assert!(
        holding > 0.8 && sounding > 0.6,
        "the caller should hear the agent: {holding:.2} of {sounding:.2}"
    );
    let (rate, agent_heard) = samples(&agent.heard()[0]);
    let tail = &agent_heard[agent_heard.len().saturating_sub(rate as usize * 3)..];
    let share = share_of(tail, rate, 440.0);
    assert!(share > 0.7, "the agent should hear the caller: {share:.2}");
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["id"], bridged["id"]);
    assert_eq!(call["digits"], "1", "{call}");
    assert_eq!(call["queue"], "sales", "{call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
}

#[test]
fn a_caller_who_presses_star_is_called_back_when_an_agent_is_ready() {
    let (dir, kefu, token) = start();
    let mut agent = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    let mut customer = agent_phone(dir.path(), kefu.sip, "1002", 440, true);
    log_in(&kefu, "1001", false);

    customer.type_keys(&format!("/dial sip:4000@{}\n", kefu.sip));
    assert!(
        customer.wait_for_log("Call established", WAIT),
        "{}",
        customer.output()
    );
    std::thread::sleep(Duration::from_millis(1500));
    customer.type_keys("/sndcode 1\n");
    newest_call(&kefu, &token, "4000", WAIT, |call| call["queue"] == "sales");
    std::thread::sleep(Duration::from_millis(500));
    customer.type_keys("/sndcode *\n");
    let waited = newest_call(&kefu, &token, "4000", Duration::from_secs(20), ended);
    assert_eq!(
        waited["end_reason"], "kefu_hangup:callback_requested",
        "{waited}"
    );

    log_in(&kefu, "1001", true);
    let bridged = newest_call(&kefu, &token, "1002", Duration::from_secs(20), |call| {
        call["agent"] == "1001"
    });
    assert_eq!(bridged["direction"], "outbound", "{bridged}");
    std::thread::sleep(Duration::from_secs(4));
    customer.type_keys("/hangup\n");
    std::thread::sleep(Duration::from_millis(500));
    customer.stop();
    agent.stop();

    let call = newest_call(&kefu, &token, "1002", WAIT, ended);
    assert_eq!(call["queue"], "sales", "{call}");
    assert_eq!(call["contact_id"], waited["contact_id"], "the same contact");
    assert!(call["talk_ms"].as_i64().unwrap() > 2000, "{call}");
    let roles: Vec<&str> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| leg["role"].as_str().unwrap())
        .collect();
    assert_eq!(
        roles,
        ["agent", "caller"],
        "the agent first, then the customer: {call}"
    );
    let mut heard = customer.heard();
    heard.sort();
    let (rate, audio) = samples(heard.last().unwrap());
    let tail = &audio[audio.len().saturating_sub(rate as usize * 2)..];
    let share = share_of(tail, rate, 1000.0);
    assert!(
        share > 0.7,
        "the customer hears the agent on the callback: {share:.2}"
    );
}

#[test]
fn a_queue_whose_timeout_target_is_voicemail_records_the_caller_it_lets_go() {
    let (_dir, kefu, token) = start();
    let settings = json!({"max_wait_secs": 1, "timeout_target": "voicemail:sales"});
    configure_queue(&kefu, &token, "sales", &settings);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (uac, answer) = call_sales(&kefu, &rtp);
    let media = answer.media_addr();
    let frame = silence_until_tone(&rtp, media, 60, 1000.0);
    stream(&rtp, media, frame, 30, |_| frame_of(&[], 0));
    stream(&rtp, media, frame + 30, 100, |n| frame_of(&[440.0], n));
    stream(&rtp, media, frame + 130, 10, |n| frame_of(&dtmf('#'), n));
    stream(&rtp, media, frame + 140, 10, |_| frame_of(&[], 0));
    let bye = uac
        .answer_next_request(Duration::from_secs(20))
        .expect("kefu's BYE after the message");
    assert!(bye.starts_with("BYE "), "{bye}");
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["end_reason"], "kefu_hangup:queue_voicemail", "{call}");
    let recording = &call["recordings"][0];
    assert!(
        recording["path"]
            .as_str()
            .unwrap()
            .ends_with("-voicemail-1.wav"),
        "{call}"
    );
    let duration = recording["duration_ms"].as_i64().unwrap();
    assert!((1500..5000).contains(&duration), "{call}");
}

#[test]
fn the_agent_pauses_the_recording_while_the_caller_reads_a_card_number() {
    let (dir, kefu, token) = start();
    let mut phone = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);
    log_in(&kefu, "1001", true);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut uac, answer) = call_sales(&kefu, &rtp);
    let media = answer.media_addr();
    let tone = |n| frame_of(&[440.0], n);
    stream(&rtp, media, 60, 100, tone);
    let call = newest_call(&kefu, &token, "4000", WAIT, |call| call["agent"] == "1001");
    let id = call["id"].as_str().unwrap();
    let agent = kefu.agent_token("1001");
    let path = |verb: &str| format!("/api/v1/calls/{id}/recording/{verb}");
    let paused = api(&kefu, &agent, "POST", &path("pause"), Value::Null);
    assert_eq!(paused["paused"], true, "{paused}");
    stream(&rtp, media, 160, 100, tone);
    let resumed = api(&kefu, &agent, "POST", &path("resume"), Value::Null);
    assert_eq!(resumed["paused"], false, "{resumed}");
    stream(&rtp, media, 260, 100, tone);
    assert_eq!(uac.bye(WAIT), Some(200));
    phone.stop();

    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    let recording = &call["recordings"][0];
    let pauses: Value = serde_json::from_str(recording["pauses"].as_str().unwrap()).unwrap();
    let [pause] = pauses.as_array().unwrap().as_slice() else {
        panic!("one pause expected: {call}");
    };
    let (start, end) = (
        pause["start_ms"].as_u64().unwrap(),
        pause["end_ms"].as_u64().unwrap(),
    );
    assert!((1500..2500).contains(&(end - start)), "{pause}");
    let wav = http()
        .get(kefu.url(&format!(
            "/api/v1/recordings/{}",
            recording["id"].as_str().unwrap()
        )))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let reader = hound::WavReader::new(std::io::Cursor::new(wav)).unwrap();
    let per_ms = reader.spec().sample_rate as u64 / 1000 * 2;
    let stereo: Vec<i16> = reader.into_samples::<i16>().map(Result::unwrap).collect();
    let during = &stereo[((start + 100) * per_ms) as usize..((end - 100) * per_ms) as usize];
    assert!(
        during.iter().all(|s| *s == 0),
        "nothing of the call is in the paused part"
    );
    let before = &stereo[((start - 900) * per_ms) as usize..((start - 100) * per_ms) as usize];
    assert!(
        before.iter().filter(|s| s.unsigned_abs() > 1000).count() > before.len() / 4,
        "the call is recorded before the pause"
    );
    let actions: Vec<&str> = call["audit"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        ["call.recording.pause", "call.recording.resume"],
        "{call}"
    );
}

#[test]
fn a_queue_whose_timeout_target_is_a_flow_sends_the_caller_on_to_it() {
    let (_dir, kefu, token) = start();
    let flow = "name = \"sorry\"\nstart = \"busy\"\n\n[nodes.busy]\ntype = \"say\"\n\
                text = \"All our lines are busy.\"\nnext = \"bye\"\n\n[nodes.bye]\ntype = \"hangup\"\n";
    let created = http()
        .put(kefu.url("/api/v1/ivr/flows/sorry?tenant=demo"))
        .bearer_auth(&token)
        .header("content-type", "application/toml")
        .body(flow)
        .send()
        .unwrap();
    assert_eq!(created.status(), 200, "{}", created.text().unwrap());
    let settings = json!({"max_wait_secs": 1, "timeout_target": "flow:sorry"});
    configure_queue(&kefu, &token, "sales", &settings);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (uac, answer) = call_sales(&kefu, &rtp);
    stream(&rtp, answer.media_addr(), 60, 50, |_| frame_of(&[], 0));
    let bye = uac
        .answer_next_request(Duration::from_secs(20))
        .expect("kefu's BYE from the flow");
    assert!(bye.starts_with("BYE "), "{bye}");
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["flow_name"], "sorry", "{call}");
    assert_eq!(
        call["flow_path"], "welcome,menu,sales,flow:sorry,busy,bye",
        "{call}"
    );
    assert_eq!(call["end_reason"], "kefu_hangup:flow_hangup", "{call}");
}

#[test]
fn a_queue_that_times_out_to_a_callback_keeps_the_caller_who_presses_1_in_line() {
    let (_dir, kefu, token) = start();
    let settings = json!({"max_wait_secs": 1, "timeout_target": "callback"});
    configure_queue(&kefu, &token, "sales", &settings);
    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (uac, answer) = call_sales(&kefu, &rtp);
    let media = answer.media_addr();
    // Wait out the queue and most of the offer, then press 1.
    stream(&rtp, media, 60, 250, |_| frame_of(&[], 0));
    stream(&rtp, media, 310, 10, |n| frame_of(&dtmf('1'), n));
    stream(&rtp, media, 320, 10, |_| frame_of(&[], 0));
    let bye = uac
        .answer_next_request(Duration::from_secs(20))
        .expect("kefu's BYE after the thanks");
    assert!(bye.starts_with("BYE "), "{bye}");
    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(
        call["end_reason"], "kefu_hangup:callback_requested",
        "{call}"
    );
    let sales = queue(&kefu, &token, "sales");
    assert_eq!(sales["waiting"], 1, "the callback keeps a place: {sales}");
    assert_eq!(sales["timed_out"], 1, "{sales}");
}

#[test]
fn the_agent_sends_the_caller_to_another_queue_whose_agent_takes_it() {
    let (dir, kefu, token) = start();
    let mut sales = agent_phone(dir.path(), kefu.sip, "1002", 1000, true);
    let mut support = agent_phone(dir.path(), kefu.sip, "1003", 1800, true);
    log_in(&kefu, "1002", true);
    log_in(&kefu, "1003", true);

    let rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut uac, answer) = call_sales(&kefu, &rtp);
    let media = answer.media_addr();
    let tone = |n| frame_of(&[440.0], n);
    let with_sales = stream(&rtp, media, 60, 5 * 50, tone);
    // A blind transfer to the queue's name (baresip sends the REFER).
    sales.type_keys(&format!("/transfer sip:support@{}\n", kefu.sip));
    let after = stream(&rtp, media, 310, 8 * 50, tone);
    let agents = get_json(&kefu, &token, "/api/v1/agents?tenant=demo");
    let bob = agents
        .as_array()
        .unwrap()
        .iter()
        .find(|agent| agent["extension"] == "1002")
        .unwrap()
        .clone();
    assert_eq!(uac.bye(WAIT), Some(200));
    std::thread::sleep(Duration::from_millis(500));
    sales.stop();
    support.stop();

    let last_second = |heard: &[i16]| heard[heard.len().saturating_sub(8000)..].to_vec();
    let first = share_of(&last_second(&with_sales), 8000, 1000.0);
    assert!(first > 0.7, "sales' agent 1002 first: {first:.2}");
    let then = share_of(&last_second(&after), 8000, 1800.0);
    assert!(
        then > 0.7,
        "then support's agent 1003: {then:.2}\n{}\n{}",
        sales.output(),
        kefu.stderr()
    );
    assert_ne!(
        bob["state"], "busy",
        "1002's contact ended with the transfer: {bob}"
    );

    let call = newest_call(&kefu, &token, "4000", WAIT, ended);
    assert_eq!(call["queue"], "support", "{call}");
    assert_eq!(call["agent"], "1003", "{call}");
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    for name in ["sales", "support"] {
        let figures = queue(&kefu, &token, name);
        assert_eq!(figures["answered"], 1, "a contact in each queue: {figures}");
    }
}
