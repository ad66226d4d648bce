#![allow(clippy::unwrap_used)]
//! Why calls end, RFC 3326 `Reason` headers, through `kefu serve --demo`:
//! the phones of an agent that did not answer are cancelled saying another
//! answered (sipp checks the CANCEL of its ringing fork while baresip
//! answers), and a party's hang-up reason is passed on to the other side
//! and kept as the call record's `hangup_cause`.

mod common;

use std::net::UdpSocket;
use std::time::Duration;

use common::baresip::agent_phone;
use common::demo::{ended, newest_call, start_demo};
use common::phone::Phone;
use common::sipp::{run_on, scenario};
use common::uac::{Uac, header, offer};

const WAIT: Duration = Duration::from_secs(10);
const COMPLETED_ELSEWHERE: &str = "SIP;cause=200;text=\"Call completed elsewhere\"";

#[test]
fn the_phone_that_did_not_answer_is_cancelled_as_completed_elsewhere() {
    // baresip 1.0 cannot answer a SHA-256 digest challenge (see sip_baresip.rs).
    let (dir, kefu, token) = start_demo(&[("KEFU_SIP_DIGEST_ALGORITHMS", "MD5")]);
    let ringing_port = {
        let ringing = Phone::register(kefu.sip, "1001", "demo1001");
        ringing.local().port()
    };
    let work = dir.path().to_owned();
    let target = kefu.sip;
    let ringer = std::thread::spawn(move || {
        let fork = scenario("fork_cancelled.xml");
        run_on(
            &fork,
            target,
            ("127.0.0.1", ringing_port),
            &["-m", "1"],
            &work,
        )
    });
    std::thread::sleep(Duration::from_millis(300));
    let mut answering = agent_phone(dir.path(), kefu.sip, "1001", 1000, true);

    let caller_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut caller = Uac::new("127.0.0.1:0", kefu.sip, "1001");
    let answer = caller
        .invite(&offer(caller_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("an answer");
    assert_eq!(answer.status, 200, "{}\n{}", answer.text, kefu.stderr());
    caller.ack("");
    let sipp = ringer.join().unwrap();
    sipp.assert_all_succeeded(1, &kefu.stderr());
    assert!(
        sipp.messages
            .contains(&format!("Reason: {COMPLETED_ELSEWHERE}")),
        "{}",
        sipp.messages
    );
    assert_eq!(caller.bye(WAIT), Some(200));
    answering.stop();

    let call = newest_call(&kefu, &token, "1001", WAIT, ended);
    let mut statuses: Vec<i64> = call["legs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|leg| leg["final_status"].as_i64().unwrap_or(0))
        .collect();
    statuses.sort_unstable();
    assert_eq!(
        statuses,
        [200, 200, 487],
        "caller, answered, cancelled: {call}"
    );
}

#[test]
fn a_hang_up_reason_is_passed_on_and_kept_as_the_hangup_cause() {
    let (_dir, kefu, token) = start_demo(&[]);
    let mut phone = Phone::register(kefu.sip, "1001", "demo1001");
    let caller_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut caller = Uac::new("127.0.0.1:0", kefu.sip, "1001");
    let sdp = offer(caller_rtp.local_addr().unwrap(), "0");
    let calling = std::thread::spawn(move || {
        let answer = caller.invite(&sdp, WAIT);
        (caller, answer)
    });
    let phone_rtp = UdpSocket::bind("127.0.0.1:0").unwrap();
    phone
        .answer(&offer(phone_rtp.local_addr().unwrap(), "0"), WAIT)
        .expect("kefu rings 1001");
    let (mut caller, answer) = calling.join().unwrap();
    assert_eq!(answer.unwrap().status, 200);
    caller.ack("");

    let cause = "Q.850;cause=16;text=\"Normal call clearing\"";
    let hung_up = caller.bye_with(&format!("Reason: {cause}\r\n"), WAIT);
    assert_eq!(hung_up, Some(200));
    let bye = phone
        .wait_for_request("BYE ", WAIT)
        .expect("the agent's BYE");
    assert_eq!(header(&bye, "Reason").as_deref(), Some(cause), "{bye}");

    let call = newest_call(&kefu, &token, "1001", WAIT, ended);
    assert_eq!(call["end_reason"], "caller_hangup", "{call}");
    assert_eq!(call["hangup_cause"], cause, "{call}");
}
