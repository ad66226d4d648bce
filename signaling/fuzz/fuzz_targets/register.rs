//! Fuzz target: any bytes that parse as a request go through the registrar —
//! Authorization parsing, digest verification, Contact and Expires reading,
//! binding updates — first alone, then after a REGISTER that bound a contact;
//! nothing may panic, and every request gets a final response.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use kefu_signaling::auth::Ha1Pair;
use kefu_signaling::auth::ServerSecret;
use kefu_signaling::message::parse_message;
use kefu_signaling::registrar::{Bindings, Register, Registrar, RegistrarConfig};
use kefu_signaling::transaction::{Peer, Transport};
use libfuzzer_sys::fuzz_target;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rsip::SipMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(SipMessage::Request(request)) = parse_message(data) else {
        return;
    };
    let mut registrar = Registrar::new(
        RegistrarConfig::default(),
        ServerSecret::new([1; 32]),
        Bindings::new(),
    );
    let ha1 = Ha1Pair::from_password("1001", "kefu", "demo1001");
    let store = |_: &str, username: &str| (username == "1001").then(|| ha1.clone());
    let mut rng = StdRng::seed_from_u64(0);
    for second in [0, 10] {
        let register = Register {
            request: &request,
            source: Peer {
                transport: Transport::Udp,
                addr: ([192, 0, 2, 1], 5060).into(),
            },
            realm: "kefu",
            now: UNIX_EPOCH + Duration::from_secs(1_700_000_000 + second),
        };
        let outcome = registrar.handle(register, &store, &mut rng);
        assert!(outcome.response.status_code.code() >= 200);
    }
});
