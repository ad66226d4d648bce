//! The registrar's hot paths: a first REGISTER answered with a challenge, an
//! answered REGISTER verified and bound (what every phone does every few
//! minutes, and what a password-guessing flood costs us), and the guard's
//! per-request admission check.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_signaling::auth::digest::request_digest;
use kefu_signaling::auth::{Algorithm, Guard, GuardConfig, Ha1Pair, QopAuth, ServerSecret};
use kefu_signaling::message::parse_message;
use kefu_signaling::registrar::{Bindings, Register, Registrar, RegistrarConfig};
use kefu_signaling::transaction::{Peer, Transport};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsip::{Header, SipMessage};

const REALM: &str = "kefu";
const URI: &str = "sip:kefu.example.com";
/// Answered REGISTERs prepared (untimed) per timed chunk.
const CHUNK: u64 = 1_000;

fn register_bytes(authorization: &str) -> Vec<u8> {
    format!(
        "REGISTER {URI} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.20:5060;branch=z9hG4bKbench\r\n\
         Max-Forwards: 70\r\nTo: <sip:1001@kefu.example.com>\r\nFrom: <sip:1001@kefu.example.com>;tag=1\r\n\
         Call-ID: bench\r\nCSeq: 1 REGISTER\r\nContact: <sip:1001@192.0.2.20:5060>;expires=3600\r\n\
         {authorization}Content-Length: 0\r\n\r\n"
    )
    .into_bytes()
}

fn authorization(ha1: &Ha1Pair, nonce: &str, nc: u64) -> String {
    let qop = QopAuth {
        nonce_count: u32::try_from(nc).unwrap_or(u32::MAX),
        nonce_count_text: format!("{nc:08x}"),
        cnonce: "0a4f113b".into(),
    };
    let response = request_digest(Algorithm::Md5, &ha1.md5, nonce, "REGISTER", URI, Some(&qop));
    format!(
        "Authorization: Digest username=\"1001\", realm=\"{REALM}\", nonce=\"{nonce}\", uri=\"{URI}\", \
         response=\"{response}\", algorithm=MD5, qop=auth, nc={nc:08x}, cnonce=\"0a4f113b\"\r\n"
    )
}

fn registrar() -> Registrar {
    Registrar::new(
        RegistrarConfig::default(),
        ServerSecret::new([7; 32]),
        Bindings::new(),
    )
}

fn source() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "192.0.2.20:5060".parse().expect("valid address"),
    }
}

fn handle(registrar: &mut Registrar, bytes: &[u8], now: SystemTime, rng: &mut StdRng) -> u16 {
    let Ok(SipMessage::Request(request)) = parse_message(bytes) else {
        return 0;
    };
    let ha1 = Ha1Pair::from_password("1001", REALM, "demo1001");
    let store = |_: &str, _: &str| Some(ha1.clone());
    let register = Register {
        request: &request,
        source: source(),
        realm: REALM,
        now,
    };
    registrar
        .handle(register, &store, rng)
        .response
        .status_code
        .code()
}

fn challenge(c: &mut Criterion) {
    let mut registrar = registrar();
    let mut rng = StdRng::seed_from_u64(1);
    let bytes = register_bytes("");
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    c.bench_function("parse+challenge REGISTER (401)", |b| {
        b.iter(|| handle(&mut registrar, black_box(&bytes), now, &mut rng))
    });
}

fn authenticated(c: &mut Criterion) {
    let mut registrar = registrar();
    let mut rng = StdRng::seed_from_u64(1);
    let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let ha1 = Ha1Pair::from_password("1001", REALM, "demo1001");
    let challenge = parse_message(&register_bytes("")).expect("benchmark REGISTER parses");
    let SipMessage::Request(challenge) = challenge else {
        return;
    };
    let store = |_: &str, _: &str| Some(ha1.clone());
    let register = Register {
        request: &challenge,
        source: source(),
        realm: REALM,
        now,
    };
    let outcome = registrar.handle(register, &store, &mut rng);
    let nonce = outcome
        .response
        .headers
        .iter()
        .find_map(|header| match header {
            Header::WwwAuthenticate(value) => {
                let text = value.to_string();
                let start = text.find("nonce=\"")? + 7;
                text[start..].split('"').next().map(str::to_owned)
            }
            _ => None,
        })
        .expect("a 401 carries a nonce");
    let first = register_bytes(&authorization(&ha1, &nonce, 1));
    assert_eq!(handle(&mut registrar, &first, now, &mut rng), 200);
    let mut nc = 1;
    c.bench_function("parse+verify+bind REGISTER (200)", |b| {
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            let mut left = iters;
            while left > 0 {
                let batch: Vec<Vec<u8>> = (0..left.min(CHUNK))
                    .map(|_| {
                        nc += 1;
                        register_bytes(&authorization(&ha1, &nonce, nc))
                    })
                    .collect();
                left -= batch.len() as u64;
                let start = Instant::now();
                for bytes in &batch {
                    black_box(handle(&mut registrar, bytes, now, &mut rng));
                }
                timed += start.elapsed();
            }
            timed
        })
    });
}

fn guard_admission(c: &mut Criterion) {
    let mut guard = Guard::new(GuardConfig::default());
    let now = Instant::now();
    let mut host: u32 = 0;
    c.bench_function("guard admit (rotating 64k addresses)", |b| {
        b.iter(|| {
            host = (host + 1) % 65_536;
            let addr = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | host));
            guard.admit(black_box(addr), now)
        })
    });
}

criterion_group!(benches, challenge, authenticated, guard_admission);
criterion_main!(benches);
