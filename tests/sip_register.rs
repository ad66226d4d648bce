//! Registering phones with `kefu serve --demo` over real UDP: digest challenge
//! and answer (MD5, qop=auth), unregister, no user enumeration, bans after
//! repeated failures, and bindings that survive a restart.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

use common::kefu::{Kefu, Options};
use common::sip::{self, status};

/// A softphone-like UDP client speaking just enough SIP for REGISTER.
struct Phone {
    socket: UdpSocket,
    server: SocketAddr,
    call_id: String,
    cseq: u32,
}

impl Phone {
    fn new(server: SocketAddr) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(3)))
            .unwrap();
        let call_id = format!("{}@test", uuid::Uuid::now_v7().simple());
        Phone {
            socket,
            server,
            call_id,
            cseq: 0,
        }
    }

    fn port(&self) -> u16 {
        self.socket.local_addr().unwrap().port()
    }

    fn contact(&self, user: &str) -> String {
        format!("<sip:{user}@127.0.0.1:{}>", self.port())
    }

    /// Sends a REGISTER for `user` with extra header lines; returns the response.
    fn register(&mut self, user: &str, extra: &str) -> Option<String> {
        self.cseq += 1;
        let via = format!("SIP/2.0/UDP 127.0.0.1:{}", self.port());
        let message = sip::register(&via, user, &self.call_id, self.cseq, extra);
        self.socket
            .send_to(message.as_bytes(), self.server)
            .unwrap();
        let mut buf = [0u8; 65536];
        match self.socket.recv_from(&mut buf) {
            Ok((n, _)) => Some(String::from_utf8_lossy(&buf[..n]).into_owned()),
            Err(_) => None,
        }
    }

    /// REGISTER, answer the MD5 challenge with `password`, return the final response.
    fn register_with_password(&mut self, user: &str, password: &str, extra: &str) -> String {
        let challenge = self.register(user, extra).expect("a challenge");
        assert_eq!(status(&challenge), 401, "{challenge}");
        let authorization = sip::digest_answer(&challenge, user, password);
        self.register(user, &format!("{authorization}{extra}"))
            .expect("a final response")
    }
}

fn demo_kefu(dir: &std::path::Path) -> Kefu {
    Kefu::start(
        dir,
        Options {
            demo: true,
            ..Options::default()
        },
    )
}

#[test]
fn register_with_md5_digest_gets_401_then_200_listing_the_contact() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path());
    let mut phone = Phone::new(kefu.sip);
    let challenge = phone
        .register("1001", &format!("Contact: {}\r\n", phone.contact("1001")))
        .unwrap();
    assert_eq!(status(&challenge), 401);
    assert!(
        challenge.contains("algorithm=SHA-256"),
        "SHA-256 offered: {challenge}"
    );
    assert!(
        challenge.contains("algorithm=MD5"),
        "MD5 offered: {challenge}"
    );
    let contact = format!("Contact: {}\r\nExpires: 600\r\n", phone.contact("1001"));
    let ok = phone.register_with_password("1001", "demo1001", &contact);
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(
        ok.contains(&format!("sip:1001@127.0.0.1:{}", phone.port())),
        "{ok}"
    );
    assert!(
        ok.contains("expires=600") || ok.contains("expires=599"),
        "{ok}"
    );

    let gone = phone.register_with_password(
        "1001",
        "demo1001",
        &format!("Contact: {}\r\nExpires: 0\r\n", phone.contact("1001")),
    );
    assert_eq!(status(&gone), 200, "{gone}");
    assert!(
        !gone.lines().any(|l| l.starts_with("Contact:")),
        "no binding left: {gone}"
    );
}

#[test]
fn wrong_password_and_unknown_user_get_the_same_answer() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path());
    let first_line = |response: String| response.lines().next().unwrap().to_owned();
    let mut phone = Phone::new(kefu.sip);
    let wrong = phone.register_with_password("1002", "guess", "");
    let mut other = Phone::new(kefu.sip);
    let unknown = other.register_with_password("9999", "guess", "");
    assert_eq!(status(&wrong), 403);
    assert_eq!(
        first_line(wrong),
        first_line(unknown),
        "no extension enumeration"
    );
}

#[test]
fn repeated_failures_ban_the_source_address() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path());
    let mut attacker = Phone::new(kefu.sip);
    for _ in 0..10 {
        let refused = attacker.register_with_password("1003", "wrong", "");
        assert_eq!(status(&refused), 403);
    }
    assert_eq!(
        attacker.register("1003", ""),
        None,
        "banned: no answer at all"
    );
    assert!(
        kefu.stderr()
            .contains("banned after repeated failed authentication"),
        "{}",
        kefu.stderr()
    );
}

#[test]
fn registrations_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = demo_kefu(dir.path());
    let mut phone = Phone::new(kefu.sip);
    let contact = format!("Contact: {}\r\n", phone.contact("1001"));
    assert_eq!(
        status(&phone.register_with_password("1001", "demo1001", &contact)),
        200
    );
    let status_code = kefu
        .signal_and_wait("TERM", Duration::from_secs(5))
        .expect("stopped");
    assert!(status_code.success());

    let kefu = demo_kefu(dir.path());
    let mut checker = Phone::new(kefu.sip);
    let listing = checker.register_with_password("1001", "demo1001", "");
    assert_eq!(status(&listing), 200, "{listing}");
    assert!(
        listing.contains(&format!("sip:1001@127.0.0.1:{}", phone.port())),
        "the binding made before the restart is listed: {listing}"
    );
}
