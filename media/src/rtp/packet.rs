//! The RTP packet (RFC 3550 §5.1): a zero-copy view over received bytes
//! ([`RtpPacket::parse`]) with the fixed header, CSRC list, header extension
//! and padding checked against the packet's length, an encoder for the plain
//! 12-byte header ([`RtpHeader::encode`]), and in-place rewriting of the
//! fields a relay changes ([`rewrite_header`]). Parsing reads only bounded
//! slices and never panics, whatever the bytes.

/// The fixed header's length, without CSRCs or extension.
pub const FIXED_HEADER_LEN: usize = 12;
/// Payload types 72–76 are RTCP packet types 200–204 with the marker bit set
/// (RFC 5761 §4): a packet with one of them is RTCP, not RTP.
const RTCP_PAYLOAD_TYPES: std::ops::RangeInclusive<u8> = 72..=76;

/// Whether a datagram on an RTP port is RTCP (RFC 5761 §4: its second byte,
/// the RTCP packet type, is 192–223), as with rtcp-mux.
pub fn is_rtcp(datagram: &[u8]) -> bool {
    datagram
        .get(1)
        .is_some_and(|packet_type| (192..=223).contains(packet_type))
}

/// The fields of the RTP fixed header that kefu reads or writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RtpHeader {
    pub marker: bool,
    /// 7 bits.
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// A header extension (RFC 3550 §5.3.1): the profile word and its data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpExtension<'a> {
    pub profile: u16,
    pub data: &'a [u8],
}

/// A parsed RTP packet borrowing the received bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    csrc: &'a [u8],
    pub extension: Option<RtpExtension<'a>>,
    /// The payload without padding.
    pub payload: &'a [u8],
}

/// Why bytes are not an RTP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("RTP packet is {len} bytes, shorter than its {needed}-byte header")]
    TooShort { len: usize, needed: usize },
    #[error("RTP version is {0}, expected 2")]
    Version(u8),
    #[error("payload type {0} is an RTCP packet type")]
    RtcpPayloadType(u8),
    #[error("padding of {padding} bytes is more than the {available} bytes after the header")]
    Padding { padding: usize, available: usize },
}

impl<'a> RtpPacket<'a> {
    /// Reads an RTP packet; see [`RtpError`] for what is refused.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, RtpError> {
        let too_short = |needed| RtpError::TooShort {
            len: bytes.len(),
            needed,
        };
        let fixed = bytes
            .get(..FIXED_HEADER_LEN)
            .ok_or(too_short(FIXED_HEADER_LEN))?;
        let version = fixed[0] >> 6;
        if version != 2 {
            return Err(RtpError::Version(version));
        }
        let has_padding = fixed[0] & 0x20 != 0;
        let has_extension = fixed[0] & 0x10 != 0;
        let csrc_count = usize::from(fixed[0] & 0x0F);
        let payload_type = fixed[1] & 0x7F;
        if RTCP_PAYLOAD_TYPES.contains(&payload_type) {
            return Err(RtpError::RtcpPayloadType(payload_type));
        }
        let header = RtpHeader {
            marker: fixed[1] & 0x80 != 0,
            payload_type,
            sequence: u16::from_be_bytes([fixed[2], fixed[3]]),
            timestamp: u32::from_be_bytes([fixed[4], fixed[5], fixed[6], fixed[7]]),
            ssrc: u32::from_be_bytes([fixed[8], fixed[9], fixed[10], fixed[11]]),
        };
        let mut offset = FIXED_HEADER_LEN + 4 * csrc_count;
        let csrc = bytes
            .get(FIXED_HEADER_LEN..offset)
            .ok_or(too_short(offset))?;
        let extension = if has_extension {
            let word = bytes.get(offset..offset + 4).ok_or(too_short(offset + 4))?;
            let profile = u16::from_be_bytes([word[0], word[1]]);
            let data_len = 4 * usize::from(u16::from_be_bytes([word[2], word[3]]));
            let start = offset + 4;
            offset = start + data_len;
            let data = bytes.get(start..offset).ok_or(too_short(offset))?;
            Some(RtpExtension { profile, data })
        } else {
            None
        };
        let rest = bytes.get(offset..).ok_or(too_short(offset))?;
        let padding = if has_padding {
            usize::from(rest.last().copied().unwrap_or(0))
        } else {
            0
        };
        if has_padding && (padding == 0 || padding > rest.len()) {
            return Err(RtpError::Padding {
                padding,
                available: rest.len(),
            });
        }
        Ok(Self {
            header,
            csrc,
            extension,
            payload: &rest[..rest.len() - padding],
        })
    }

    /// The contributing sources, in order.
    pub fn csrcs(&self) -> impl Iterator<Item = u32> + '_ {
        self.csrc
            .chunks_exact(4)
            .map(|word| u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
    }
}

impl RtpHeader {
    /// A packet with this header (no CSRC, extension or padding) and `payload`.
    pub fn encode(&self, payload: &[u8]) -> Vec<u8> {
        let mut bytes = Vec::with_capacity(FIXED_HEADER_LEN + payload.len());
        bytes.push(0x80);
        bytes.push(u8::from(self.marker) << 7 | (self.payload_type & 0x7F));
        bytes.extend_from_slice(&self.sequence.to_be_bytes());
        bytes.extend_from_slice(&self.timestamp.to_be_bytes());
        bytes.extend_from_slice(&self.ssrc.to_be_bytes());
        bytes.extend_from_slice(payload);
        bytes
    }
}

/// The header fields a relay sets on a packet it forwards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewrite {
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// Overwrites payload type, sequence number, timestamp and SSRC of a packet
/// that [`RtpPacket::parse`] accepted, keeping the marker, CSRCs, extension
/// and payload. Returns false (and leaves the bytes alone) if `packet` is
/// shorter than the fixed header.
pub fn rewrite_header(packet: &mut [u8], rewrite: Rewrite) -> bool {
    let Some(fixed) = packet.get_mut(..FIXED_HEADER_LEN) else {
        return false;
    };
    fixed[1] = (fixed[1] & 0x80) | (rewrite.payload_type & 0x7F);
    fixed[2..4].copy_from_slice(&rewrite.sequence.to_be_bytes());
    fixed[4..8].copy_from_slice(&rewrite.timestamp.to_be_bytes());
    fixed[8..12].copy_from_slice(&rewrite.ssrc.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn header() -> RtpHeader {
        RtpHeader {
            marker: true,
            payload_type: 0,
            sequence: 65_535,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x1234_5678,
        }
    }

    #[test]
    fn encoded_packet_parses_back_to_its_header_and_payload() {
        let bytes = header().encode(&[1, 2, 3]);
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(packet.header, header());
        assert_eq!(packet.payload, &[1, 2, 3]);
        assert_eq!(packet.extension, None);
        assert_eq!(packet.csrcs().count(), 0);
    }

    #[test]
    fn csrcs_extension_and_padding_are_located_by_their_lengths() {
        let mut bytes = vec![0x80 | 0x20 | 0x10 | 2, 8, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3];
        bytes.extend_from_slice(&[0, 0, 0, 10, 0, 0, 0, 11]);
        bytes.extend_from_slice(&[0xBE, 0xDE, 0, 1, 9, 9, 9, 9]);
        bytes.extend_from_slice(&[7, 7, 0, 0, 3]);
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(packet.csrcs().collect::<Vec<_>>(), vec![10, 11]);
        assert_eq!(
            packet.extension,
            Some(RtpExtension {
                profile: 0xBEDE,
                data: &[9, 9, 9, 9]
            })
        );
        assert_eq!(packet.payload, &[7, 7]);
        assert_eq!(packet.header.payload_type, 8);
    }

    #[test]
    fn malformed_packets_are_refused_with_the_reason() {
        assert_eq!(
            RtpPacket::parse(&[0x80; 5]),
            Err(RtpError::TooShort { len: 5, needed: 12 })
        );
        let mut v1 = header().encode(&[]);
        v1[0] = 0x40;
        assert_eq!(RtpPacket::parse(&v1), Err(RtpError::Version(1)));
        let mut rtcp = header().encode(&[]);
        rtcp[1] = 200;
        assert_eq!(RtpPacket::parse(&rtcp), Err(RtpError::RtcpPayloadType(72)));
        let mut too_many_csrcs = header().encode(&[0; 4]);
        too_many_csrcs[0] |= 2;
        assert_eq!(
            RtpPacket::parse(&too_many_csrcs),
            Err(RtpError::TooShort {
                len: 16,
                needed: 20
            })
        );
        let mut padded = header().encode(&[0, 0, 9]);
        padded[0] |= 0x20;
        assert_eq!(
            RtpPacket::parse(&padded),
            Err(RtpError::Padding {
                padding: 9,
                available: 3
            })
        );
    }

    #[test]
    fn rewriting_changes_the_relay_fields_and_keeps_marker_and_payload() {
        let mut bytes = header().encode(&[5, 6]);
        let rewrite = Rewrite {
            payload_type: 101,
            sequence: 7,
            timestamp: 160,
            ssrc: 42,
        };
        assert!(rewrite_header(&mut bytes, rewrite));
        let packet = RtpPacket::parse(&bytes).unwrap();
        assert_eq!(
            packet.header,
            RtpHeader {
                marker: true,
                payload_type: 101,
                sequence: 7,
                timestamp: 160,
                ssrc: 42
            }
        );
        assert_eq!(packet.payload, &[5, 6]);
        assert!(!rewrite_header(&mut [0x80; 4], rewrite));
    }

    #[test]
    fn rtcp_is_told_apart_from_rtp_by_its_packet_type() {
        assert!(is_rtcp(&[0x80, 200, 0, 1]));
        assert!(is_rtcp(&[0x81, 201]));
        assert!(!is_rtcp(&header().encode(&[])));
        assert!(!is_rtcp(&[0x80]));
    }

    proptest! {
        #[test]
        fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..80)) {
            let _ = RtpPacket::parse(&bytes);
        }

        #[test]
        fn parsing_after_a_valid_start_never_panics(
            first in 0x80u8..0xC0, rest in proptest::collection::vec(any::<u8>(), 0..80)
        ) {
            let mut bytes = vec![first];
            bytes.extend(rest);
            if let Ok(packet) = RtpPacket::parse(&bytes) {
                prop_assert!(packet.payload.len() <= bytes.len());
            }
        }

        #[test]
        fn encode_then_parse_round_trips(
            marker in any::<bool>(), payload_type in 0u8..72, sequence in any::<u16>(),
            timestamp in any::<u32>(), ssrc in any::<u32>(),
            payload in proptest::collection::vec(any::<u8>(), 0..40)
        ) {
            let header = RtpHeader { marker, payload_type, sequence, timestamp, ssrc };
            let bytes = header.encode(&payload);
            let packet = RtpPacket::parse(&bytes).unwrap();
            prop_assert_eq!(packet.header, header);
            prop_assert_eq!(packet.payload, &payload[..]);
        }
    }
}
