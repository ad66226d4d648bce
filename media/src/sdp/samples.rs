//! Offers as real peers send them, for the tests of this module and as the
//! starting points of its property tests, with the [`mutation`]s those
//! tests apply. The texts are the `sdp` fuzz target's seeds
//! (`media/fuzz/seeds/sdp/`); addresses are from the documentation ranges.

use proptest::prelude::*;

/// sipp's built-in `uac` scenario, CRLF as on the wire.
pub const SIPP: &str = include_str!("../../fuzz/seeds/sdp/sipp.sdp");

/// baresip 3.x with opus, G.711 and telephone-events, rtcp-mux offered.
pub const BARESIP: &str = include_str!("../../fuzz/seeds/sdp/baresip.sdp");

/// Asterisk 20 (chan_pjsip) on a trunk: PCMA first, no rtpmap needed for
/// the static types but sent anyway, ptime 30, session name `Asterisk`.
pub const ASTERISK: &str = include_str!("../../fuzz/seeds/sdp/asterisk.sdp");

/// Linphone 5 with audio and video; telephone-events at three rates, the
/// 8 kHz one on 100; static G.729 (18) without rtpmap.
pub const LINPHONE: &str = include_str!("../../fuzz/seeds/sdp/linphone.sdp");

/// Chrome's WebRTC offer: DTLS-SRTP (`UDP/TLS/RTP/SAVPF`), ICE, port 9 on
/// 0.0.0.0 until candidates arrive.
pub const CHROME: &str = include_str!("../../fuzz/seeds/sdp/chrome.sdp");

/// A SIP phone with SDES-SRTP (`RTP/SAVP` and `a=crypto`).
pub const SAVP: &str = include_str!("../../fuzz/seeds/sdp/savp.sdp");

/// An IPv6 offer: the session's `c=` is overridden by the media's.
pub const IPV6: &str = include_str!("../../fuzz/seeds/sdp/ipv6.sdp");

/// A re-INVITE putting the call on hold, RFC 3264 style (`a=sendonly`, at
/// session level).
pub const HOLD_SENDONLY: &str = include_str!("../../fuzz/seeds/sdp/hold_sendonly.sdp");

/// A hold with both directions off.
pub const HOLD_INACTIVE: &str = include_str!("../../fuzz/seeds/sdp/hold_inactive.sdp");

/// The old RFC 2543 hold: address 0.0.0.0.
pub const HOLD_ZERO_ADDRESS: &str = include_str!("../../fuzz/seeds/sdp/hold_zero_address.sdp");

/// Every sample, for property tests.
pub const ALL: [&str; 10] = [
    SIPP,
    BARESIP,
    ASTERISK,
    LINPHONE,
    CHROME,
    SAVP,
    IPV6,
    HOLD_SENDONLY,
    HOLD_INACTIVE,
    HOLD_ZERO_ADDRESS,
];

/// One edit of an SDP text.
#[derive(Debug, Clone)]
pub enum Mutation {
    SetByte(usize, u8),
    Insert(usize, u8),
    Remove(usize),
    Truncate(usize),
    DropLine(usize),
    DuplicateLine(usize),
    InsertLine(usize, String),
}

pub fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::SetByte(at, byte)),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert(at, byte)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
        any::<usize>().prop_map(Mutation::DropLine),
        any::<usize>().prop_map(Mutation::DuplicateLine),
        (
            any::<usize>(),
            "[vocmsta]=[ -~]{0,40}|a=(rtpmap|fmtp|ptime):[0-9a-z /.-]{0,20}|m=audio [0-9]{1,6} RTP/AVPF? [0-9 ]{0,12}|c=IN IP[46] [0-9a-f.:]{0,20}",
        )
            .prop_map(|(at, line)| Mutation::InsertLine(at, line)),
    ]
}

/// `text` after `mutations`, as bytes (a mutation may break UTF-8).
pub fn mutate(text: &str, mutations: &[Mutation]) -> String {
    let mut bytes = text.as_bytes().to_vec();
    for mutation in mutations {
        let len = bytes.len().max(1);
        let lines: Vec<Vec<u8>> = bytes
            .split(|&byte| byte == b'\n')
            .map(<[u8]>::to_vec)
            .collect();
        match mutation {
            Mutation::SetByte(at, byte) => {
                if let Some(slot) = bytes.get_mut(at % len) {
                    *slot = *byte;
                }
            }
            Mutation::Insert(at, byte) => bytes.insert(at % (bytes.len() + 1), *byte),
            Mutation::Remove(at) => {
                if !bytes.is_empty() {
                    bytes.remove(at % len);
                }
            }
            Mutation::Truncate(at) => bytes.truncate(at % len),
            Mutation::DropLine(at) => {
                let mut lines = lines;
                lines.remove(at % lines.len());
                bytes = lines.join(&b'\n');
            }
            Mutation::DuplicateLine(at) => {
                let mut lines = lines;
                let line = lines[at % lines.len()].clone();
                lines.insert(at % lines.len(), line);
                bytes = lines.join(&b'\n');
            }
            Mutation::InsertLine(at, line) => {
                let mut lines = lines;
                lines.insert(at % (lines.len() + 1), line.as_bytes().to_vec());
                bytes = lines.join(&b'\n');
            }
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
