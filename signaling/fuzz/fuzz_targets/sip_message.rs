//! Fuzz target: any bytes go through everything the receive path does with them —
//! parse, validate, build the error answer, and match against a transaction layer —
//! and nothing may panic.

#![no_main]

use std::time::Instant;

use kefu_signaling::message::{error_response, parse_message, validate_request};
use kefu_signaling::transaction::{Input, Peer, Timers, TransactionLayer, Transport};
use libfuzzer_sys::fuzz_target;
use rsip::SipMessage;

fuzz_target!(|data: &[u8]| {
    let Ok(message) = parse_message(data) else {
        return;
    };
    if let SipMessage::Request(request) = &message {
        if let Err(error) = validate_request(request, &["timer"]) {
            let _ = error_response(request, &error).to_string();
        }
    }
    let mut layer = TransactionLayer::new(Timers::default(), || String::from("fuzz"));
    let source = Peer {
        transport: Transport::Udp,
        addr: ([192, 0, 2, 1], 5060).into(),
    };
    let now = Instant::now();
    for _ in 0..2 {
        let _ = layer.handle_input(
            now,
            Input::Received {
                message: message.clone(),
                source,
            },
        );
    }
    while layer.poll_output().is_some() {}
});
