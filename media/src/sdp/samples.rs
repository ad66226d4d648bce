//! Offers as real peers send them, for the tests of this module and as the
//! starting points of its property tests, with the [`mutation`]s those
//! tests apply (the `sdp` fuzz target's seeds are the same texts). Addresses
//! are from the documentation ranges.

use proptest::prelude::*;

/// sipp's built-in `uac` scenario, CRLF as on the wire.
pub const SIPP: &str = "v=0\r\n\
o=user1 53655765 2353687637 IN IP4 192.0.2.10\r\n\
s=-\r\n\
c=IN IP4 192.0.2.10\r\n\
t=0 0\r\n\
m=audio 6000 RTP/AVP 0\r\n\
a=rtpmap:0 PCMU/8000\r\n";

/// baresip 3.x with opus, G.711 and telephone-events, rtcp-mux offered.
pub const BARESIP: &str = "v=0
o=- 1629367165 2114985127 IN IP4 192.0.2.20
s=-
c=IN IP4 192.0.2.20
t=0 0
m=audio 10000 RTP/AVP 96 0 8 101
b=AS:101
a=rtpmap:96 opus/48000/2
a=fmtp:96 stereo=1;sprop-stereo=1;maxaveragebitrate=28000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a=sendrecv
a=label:1
a=ssrc:2112357163 cname:2d1e4f6a-b3d0-4c6f-9d0b-7f3e6a1c5e2b
a=rtcp-rsize
a=rtcp-mux
a=ptime:20
";

/// Asterisk 20 (chan_pjsip) on a trunk: PCMA first, no rtpmap needed for
/// the static types but sent anyway, ptime 20, session name `Asterisk`.
pub const ASTERISK: &str = "v=0
o=- 1890390513 1890390515 IN IP4 203.0.113.5
s=Asterisk
c=IN IP4 203.0.113.5
t=0 0
m=audio 17890 RTP/AVP 8 0 3 101
a=rtpmap:8 PCMA/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:3 GSM/8000
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
a=ptime:30
a=maxptime:150
a=sendrecv
";

/// Linphone 5 with audio and video; telephone-events at three rates, the
/// 8 kHz one on 100; static G.729 (18) without rtpmap.
pub const LINPHONE: &str = "v=0
o=alice 2133 3010 IN IP4 198.51.100.7
s=Talk
c=IN IP4 198.51.100.7
t=0 0
a=rtcp-xr:rcvr-rtt=all:10000 stat-summary=loss,dup,jitt,TTL voip-metrics
m=audio 7078 RTP/AVP 96 97 98 0 8 18 101 99 100
a=rtpmap:96 opus/48000/2
a=fmtp:96 useinbandfec=1
a=rtpmap:97 speex/16000
a=fmtp:97 vbr=on
a=rtpmap:98 speex/8000
a=fmtp:98 vbr=on
a=fmtp:18 annexb=yes
a=rtpmap:101 telephone-event/48000
a=rtpmap:99 telephone-event/16000
a=rtpmap:100 telephone-event/8000
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
m=video 9078 RTP/AVP 96 97
a=rtpmap:96 VP8/90000
a=rtpmap:97 H264/90000
a=fmtp:97 profile-level-id=42801F
a=rtcp-fb:* trr-int 1000
a=rtcp-fb:* ccm tmmbr
a=rtcp-fb:96 nack pli
a=rtcp-fb:97 nack pli
";

/// Chrome's WebRTC offer: DTLS-SRTP (`UDP/TLS/RTP/SAVPF`), ICE, port 9 on
/// 0.0.0.0 until candidates arrive.
pub const CHROME: &str = "v=0
o=- 4611731400430051336 2 IN IP4 127.0.0.1
s=-
t=0 0
a=group:BUNDLE 0
a=extmap-allow-mixed
a=msid-semantic: WMS
m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126
c=IN IP4 0.0.0.0
a=rtcp:9 IN IP4 0.0.0.0
a=ice-ufrag:Vq2n
a=ice-pwd:tCnbQ2Kq3bC0PmV0OyIXZ8cH
a=ice-options:trickle
a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08
a=setup:actpass
a=mid:0
a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level
a=sendrecv
a=msid:- 5b3c1b0e-8f0e-4c3a-a0d8-7d3f5f0b9a11
a=rtcp-mux
a=rtpmap:111 opus/48000/2
a=rtcp-fb:111 transport-cc
a=fmtp:111 minptime=10;useinbandfec=1
a=rtpmap:63 red/48000/2
a=fmtp:63 111/111
a=rtpmap:9 G722/8000
a=rtpmap:0 PCMU/8000
a=rtpmap:8 PCMA/8000
a=rtpmap:13 CN/8000
a=rtpmap:110 telephone-event/48000
a=rtpmap:126 telephone-event/8000
a=ssrc:1001 cname:k3n9
";

/// A SIP phone with SDES-SRTP (`RTP/SAVP` and `a=crypto`).
pub const SAVP: &str = "v=0
o=- 3 3 IN IP4 192.0.2.30
s=-
c=IN IP4 192.0.2.30
t=0 0
m=audio 4000 RTP/SAVP 0 8 101
a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz
a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-16
";

/// An IPv6 offer: the session's `c=` is overridden by the media's.
pub const IPV6: &str = "v=0
o=- 7 7 IN IP6 2001:db8::1
s=-
c=IN IP6 2001:db8::1
t=0 0
m=audio 5004 RTP/AVP 8 101
c=IN IP6 2001:db8::10
a=rtpmap:101 telephone-event/8000
a=ptime:20
";

/// A re-INVITE putting the call on hold, RFC 3264 style (`a=sendonly`, at
/// session level).
pub const HOLD_SENDONLY: &str = "v=0
o=- 1629367165 2114985128 IN IP4 192.0.2.20
s=-
c=IN IP4 192.0.2.20
t=0 0
a=sendonly
m=audio 10000 RTP/AVP 0 101
a=rtpmap:101 telephone-event/8000
";

/// A hold with both directions off.
pub const HOLD_INACTIVE: &str = "v=0
o=- 1629367165 2114985129 IN IP4 192.0.2.20
s=-
c=IN IP4 192.0.2.20
t=0 0
m=audio 10000 RTP/AVP 0
a=inactive
";

/// The old RFC 2543 hold: address 0.0.0.0.
pub const HOLD_ZERO_ADDRESS: &str = "v=0
o=- 1629367165 2114985130 IN IP4 0.0.0.0
s=-
c=IN IP4 0.0.0.0
t=0 0
m=audio 10000 RTP/AVP 0 8
";

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
