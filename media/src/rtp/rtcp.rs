//! RTCP sender and receiver reports (RFC 3550 §6.4): reading the SR and RR
//! packets of a compound packet ([`parse_compound`], other packet types are
//! skipped by their length) and writing one report followed by the SDES CNAME
//! every compound packet must carry ([`RtcpReport::encode`]). Parsing checks
//! every length against the bytes and never panics.

/// RTCP packet types kefu reads or writes.
const SENDER_REPORT: u8 = 200;
const RECEIVER_REPORT: u8 = 201;
const SOURCE_DESCRIPTION: u8 = 202;
const SDES_CNAME: u8 = 1;
const COMMON_HEADER_LEN: usize = 4;
const SENDER_INFO_LEN: usize = 20;
const REPORT_BLOCK_LEN: usize = 24;
/// At most 31 report blocks fit the 5-bit count.
pub const MAX_REPORT_BLOCKS: usize = 31;

/// What one receiver says about one source (RFC 3550 §6.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReportBlock {
    /// The source this block is about.
    pub ssrc: u32,
    /// Lost fraction since the previous report, in 1/256.
    pub fraction_lost: u8,
    /// Packets lost since the start, 24-bit signed (duplicates make it negative).
    pub cumulative_lost: i32,
    /// Cycles of the sequence number in the high 16 bits, highest seen in the low.
    pub highest_sequence: u32,
    /// Interarrival jitter in RTP timestamp units.
    pub jitter: u32,
    /// Middle 32 bits of the NTP timestamp of the last SR received from the source.
    pub last_sr: u32,
    /// Time since that SR, in 1/65536 s.
    pub delay_since_last_sr: u32,
}

/// The sender half of an SR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SenderInfo {
    /// NTP time of the report, 32.32 fixed point.
    pub ntp_timestamp: u64,
    /// The same instant on the sender's RTP clock.
    pub rtp_timestamp: u32,
    pub packet_count: u32,
    pub octet_count: u32,
}

/// A sender report (with [`SenderInfo`]) or a receiver report (without).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RtcpReport {
    /// The reporter.
    pub ssrc: u32,
    pub sender: Option<SenderInfo>,
    /// At most [`MAX_REPORT_BLOCKS`]; more are left out when encoding.
    pub blocks: Vec<ReportBlock>,
}

/// Why bytes are not an RTCP compound packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtcpError {
    #[error("RTCP packet at byte {offset} is cut short")]
    Truncated { offset: usize },
    #[error("RTCP version is {0}, expected 2")]
    Version(u8),
    #[error("a compound RTCP packet starts with type {0}, not SR or RR")]
    FirstNotReport(u8),
    #[error("RTCP packet at byte {offset} has {blocks} report blocks, more than its length holds")]
    BlockCount { offset: usize, blocks: usize },
}

/// The SR and RR packets of a compound RTCP packet, in order.
pub fn parse_compound(bytes: &[u8]) -> Result<Vec<RtcpReport>, RtcpError> {
    let mut reports = Vec::new();
    let mut offset = 0;
    while offset < bytes.len() {
        let header = bytes
            .get(offset..offset + COMMON_HEADER_LEN)
            .ok_or(RtcpError::Truncated { offset })?;
        let version = header[0] >> 6;
        if version != 2 {
            return Err(RtcpError::Version(version));
        }
        let count = usize::from(header[0] & 0x1F);
        let packet_type = header[1];
        if offset == 0 && packet_type != SENDER_REPORT && packet_type != RECEIVER_REPORT {
            return Err(RtcpError::FirstNotReport(packet_type));
        }
        let len = 4 * (usize::from(u16::from_be_bytes([header[2], header[3]])) + 1);
        let packet = bytes
            .get(offset..offset + len)
            .ok_or(RtcpError::Truncated { offset })?;
        match packet_type {
            SENDER_REPORT => reports.push(parse_report(packet, count, true, offset)?),
            RECEIVER_REPORT => reports.push(parse_report(packet, count, false, offset)?),
            _ => {}
        }
        offset += len;
    }
    Ok(reports)
}

fn parse_report(
    packet: &[u8],
    count: usize,
    is_sender: bool,
    offset: usize,
) -> Result<RtcpReport, RtcpError> {
    let truncated = RtcpError::Truncated { offset };
    let ssrc = read_u32(packet, COMMON_HEADER_LEN).ok_or(truncated)?;
    let mut at = COMMON_HEADER_LEN + 4;
    let sender = if is_sender {
        let info = SenderInfo {
            ntp_timestamp: u64::from(read_u32(packet, at).ok_or(truncated)?) << 32
                | u64::from(read_u32(packet, at + 4).ok_or(truncated)?),
            rtp_timestamp: read_u32(packet, at + 8).ok_or(truncated)?,
            packet_count: read_u32(packet, at + 12).ok_or(truncated)?,
            octet_count: read_u32(packet, at + 16).ok_or(truncated)?,
        };
        at += SENDER_INFO_LEN;
        Some(info)
    } else {
        None
    };
    let blocks_bytes =
        packet
            .get(at..at + count * REPORT_BLOCK_LEN)
            .ok_or(RtcpError::BlockCount {
                offset,
                blocks: count,
            })?;
    let blocks = blocks_bytes
        .chunks_exact(REPORT_BLOCK_LEN)
        .map(parse_block)
        .collect();
    Ok(RtcpReport {
        ssrc,
        sender,
        blocks,
    })
}

fn parse_block(block: &[u8]) -> ReportBlock {
    let word = |at| read_u32(block, at).unwrap_or(0);
    let loss = word(4);
    // The low 24 bits are a signed count: shift them to the top and back.
    let cumulative_lost = ((loss << 8) as i32) >> 8;
    ReportBlock {
        ssrc: word(0),
        fraction_lost: (loss >> 24) as u8,
        cumulative_lost,
        highest_sequence: word(8),
        jitter: word(12),
        last_sr: word(16),
        delay_since_last_sr: word(20),
    }
}

fn read_u32(bytes: &[u8], at: usize) -> Option<u32> {
    let word = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([word[0], word[1], word[2], word[3]]))
}

impl RtcpReport {
    /// A compound packet: this SR or RR, then an SDES with `cname` (cut to
    /// 255 bytes). Blocks past [`MAX_REPORT_BLOCKS`] are left out.
    pub fn encode(&self, cname: &str) -> Vec<u8> {
        let blocks = &self.blocks[..self.blocks.len().min(MAX_REPORT_BLOCKS)];
        let mut out = Vec::with_capacity(
            COMMON_HEADER_LEN + 4 + SENDER_INFO_LEN + blocks.len() * REPORT_BLOCK_LEN + 64,
        );
        let packet_type = if self.sender.is_some() {
            SENDER_REPORT
        } else {
            RECEIVER_REPORT
        };
        let words = 1
            + self.sender.map_or(0, |_| SENDER_INFO_LEN / 4)
            + blocks.len() * REPORT_BLOCK_LEN / 4;
        push_common_header(&mut out, blocks.len(), packet_type, words);
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        if let Some(sender) = self.sender {
            out.extend_from_slice(&sender.ntp_timestamp.to_be_bytes());
            out.extend_from_slice(&sender.rtp_timestamp.to_be_bytes());
            out.extend_from_slice(&sender.packet_count.to_be_bytes());
            out.extend_from_slice(&sender.octet_count.to_be_bytes());
        }
        for block in blocks {
            out.extend_from_slice(&block.ssrc.to_be_bytes());
            let lost = (block.cumulative_lost.clamp(-0x80_0000, 0x7F_FFFF) as u32) & 0x00FF_FFFF;
            out.extend_from_slice(&(u32::from(block.fraction_lost) << 24 | lost).to_be_bytes());
            out.extend_from_slice(&block.highest_sequence.to_be_bytes());
            out.extend_from_slice(&block.jitter.to_be_bytes());
            out.extend_from_slice(&block.last_sr.to_be_bytes());
            out.extend_from_slice(&block.delay_since_last_sr.to_be_bytes());
        }
        let cname = &cname.as_bytes()[..cname.len().min(255)];
        // SSRC, CNAME item (type, length, text), then a null item padding to a word.
        let chunk_len = 4 + 2 + cname.len();
        let padded_len = (chunk_len / 4 + 1) * 4;
        push_common_header(&mut out, 1, SOURCE_DESCRIPTION, padded_len / 4);
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.push(SDES_CNAME);
        out.push(cname.len() as u8);
        out.extend_from_slice(cname);
        out.resize(out.len() + padded_len - chunk_len, 0);
        out
    }
}

/// Version 2, no padding, `count`, `packet_type`, and the length in words after
/// the header word.
fn push_common_header(out: &mut Vec<u8>, count: usize, packet_type: u8, words: usize) {
    out.push(0x80 | (count as u8 & 0x1F));
    out.push(packet_type);
    out.extend_from_slice(&(words as u16).to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn block(ssrc: u32, cumulative_lost: i32) -> ReportBlock {
        ReportBlock {
            ssrc,
            fraction_lost: 64,
            cumulative_lost,
            highest_sequence: 0x0001_0005,
            jitter: 80,
            last_sr: 0x1234_5678,
            delay_since_last_sr: 65_536,
        }
    }

    #[test]
    fn sender_report_with_blocks_round_trips_through_a_compound_packet() {
        let report = RtcpReport {
            ssrc: 7,
            sender: Some(SenderInfo {
                ntp_timestamp: 0x0102_0304_0506_0708,
                rtp_timestamp: 160,
                packet_count: 50,
                octet_count: 8_000,
            }),
            blocks: vec![block(9, 3), block(10, -2)],
        };
        let bytes = report.encode("kefu@example");
        assert_eq!(bytes.len() % 4, 0);
        assert_eq!(parse_compound(&bytes), Ok(vec![report]));
    }

    #[test]
    fn receiver_report_without_blocks_round_trips() {
        let report = RtcpReport {
            ssrc: 1,
            sender: None,
            blocks: vec![],
        };
        assert_eq!(parse_compound(&report.encode("")), Ok(vec![report]));
    }

    #[test]
    fn cumulative_loss_beyond_24_bits_is_clamped() {
        let report = RtcpReport {
            ssrc: 1,
            sender: None,
            blocks: vec![block(2, 10_000_000)],
        };
        let parsed = parse_compound(&report.encode("x")).unwrap();
        assert_eq!(parsed[0].blocks[0].cumulative_lost, 0x7F_FFFF);
    }

    #[test]
    fn malformed_compound_packets_are_refused() {
        let good = RtcpReport {
            ssrc: 1,
            sender: None,
            blocks: vec![block(2, 0)],
        }
        .encode("x");
        assert_eq!(
            parse_compound(&good[..good.len() - 4]),
            Err(RtcpError::Truncated { offset: 32 })
        );
        let mut sdes_first = good.clone();
        sdes_first[1] = SOURCE_DESCRIPTION;
        assert_eq!(
            parse_compound(&sdes_first),
            Err(RtcpError::FirstNotReport(202))
        );
        let mut too_many_blocks = good.clone();
        too_many_blocks[0] = 0x80 | 3;
        assert_eq!(
            parse_compound(&too_many_blocks),
            Err(RtcpError::BlockCount {
                offset: 0,
                blocks: 3
            })
        );
        let mut version_one = good;
        version_one[0] = 0x41;
        assert_eq!(parse_compound(&version_one), Err(RtcpError::Version(1)));
    }

    proptest! {
        #[test]
        fn parsing_any_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = parse_compound(&bytes);
        }

        #[test]
        fn parsing_report_shaped_bytes_never_panics(
            count in 0u8..32, packet_type in 200u8..205, words in any::<u16>(),
            rest in proptest::collection::vec(any::<u8>(), 0..200)
        ) {
            let mut bytes = vec![0x80 | count, packet_type];
            bytes.extend_from_slice(&words.to_be_bytes());
            bytes.extend(rest);
            let _ = parse_compound(&bytes);
        }

        #[test]
        fn reports_round_trip(
            ssrc in any::<u32>(), sender in any::<bool>(), ntp in any::<u64>(),
            lost in -0x80_0000i32..0x80_0000, jitter in any::<u32>(), blocks in 0usize..4
        ) {
            let report = RtcpReport {
                ssrc,
                sender: sender.then_some(SenderInfo { ntp_timestamp: ntp, ..SenderInfo::default() }),
                blocks: (0..blocks).map(|i| ReportBlock { ssrc: i as u32, cumulative_lost: lost, jitter, ..ReportBlock::default() }).collect(),
            };
            prop_assert_eq!(parse_compound(&report.encode("cname")), Ok(vec![report]));
        }
    }
}
