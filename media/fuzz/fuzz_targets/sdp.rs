//! Fuzz target: any bytes (read as UTF-8, lossily) go through everything
//! call control does with an SDP body — parse it, negotiate it as an offer
//! with two preference lists, write the answer, read that answer back as
//! the peer would, and take the body as the answer to our own offer. Nothing
//! may panic, and every answer we write must parse back to the same choices.

#![no_main]

use std::net::SocketAddr;

use kefu_media::sdp::{Codec, SessionDescription, accept_answer, answer, negotiate, offer};
use libfuzzer_sys::fuzz_target;

const PREFERENCES: [&[Codec]; 2] = [
    &[Codec::Pcmu, Codec::Pcma],
    &[Codec::Opus, Codec::TelephoneEvent, Codec::Pcma],
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(offered) = SessionDescription::parse(&text) else {
        return;
    };
    let local = SocketAddr::from(([198, 51, 100, 1], 30_000));
    for preferences in PREFERENCES {
        let Ok(negotiated) = negotiate(&offered, preferences) else {
            continue;
        };
        let ours = answer(&offered, &negotiated, local, 1, 2);
        let parsed = SessionDescription::parse(&ours).expect("our answer parses");
        assert_eq!(parsed.media.len(), offered.media.len(), "{ours}");
        assert_eq!(parsed.audio, offered.audio, "{ours}");
        let back = accept_answer(&[negotiated.codec, Codec::TelephoneEvent], &parsed)
            .expect("our answer is acceptable");
        assert_eq!(
            (
                back.codec,
                back.payload_type,
                back.telephone_event,
                back.ptime
            ),
            (
                negotiated.codec,
                negotiated.payload_type,
                negotiated.telephone_event,
                negotiated.ptime
            ),
            "{ours}"
        );
        assert_eq!(
            parsed.audio().map(|audio| audio.direction),
            Some(negotiated.direction),
            "{ours}"
        );
    }
    let _ = accept_answer(&[Codec::Opus, Codec::Pcmu, Codec::TelephoneEvent], &offered);
    if let Some(audio) = offered.audio() {
        let our_offer = offer(&[Codec::Pcma, Codec::Opus], local, audio.direction, 3, 4);
        let parsed = SessionDescription::parse(&our_offer).expect("our offer parses");
        negotiate(&parsed, &[Codec::Opus]).expect("our offer is negotiable");
    }
});
