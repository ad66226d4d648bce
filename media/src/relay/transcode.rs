//! The relay's transcoding path, for two legs that negotiated no codec in
//! common (a browser on Opus, a desk phone on PCMU): per direction, the
//! receiving side's audio, already decoded to 8 kHz PCM by the relay, is
//! cut into 20 ms frames and encoded for the other side, and every packet
//! that leaves — audio or a mapped telephone-event — is numbered in this
//! direction's own sequence and stamped on the other side's RTP clock.
//!
//! The numbering it gives is what the other leg's
//! [`crate::rtp::rewrite::OutboundStream`] maps onto that leg's SSRC,
//! sequence numbers and timestamps, as it does for relayed packets: the
//! virtual header keeps the sender's SSRC, so a new source (a re-INVITE,
//! a transfer) still starts a new mapping, and the timestamps keep the
//! sender's gaps. RFC 4733 events are clock-rate aware: their timestamp
//! and their duration field are rescaled from the sender's clock to the
//! receiver's (8 000 ↔ 48 000 units per second), so a key press keeps its
//! length; a duration beyond the field's 16 bits saturates.
//!
//! Packets are transcoded in arrival order, without a jitter buffer: the
//! relay adds no delay, and loss and reordering reach the other side as gaps
//! in the timestamps, for its own jitter buffer to conceal.

use super::Side;
use crate::codec::{CodecError, LegCodec, LegEncoder, PCM_RATE};
use crate::dtmf::rfc4733::TelephoneEvent;
use crate::pcm::SampleRate;
use crate::rtp::packet::RtpHeader;

/// Both directions of a transcoded call; see the module doc.
#[derive(Debug)]
pub(crate) struct Transcoding {
    /// Per side, the audio payload type it receives and its encoder.
    encoders: [(u8, LegEncoder); 2],
    /// Per side, the payload type of its telephone-events, if negotiated.
    telephone_events: [Option<u8>; 2],
    /// By receiving side.
    directions: [Direction; 2],
    encoded: Vec<u8>,
}

/// One direction: what the receiving side sent, on its way to the other.
#[derive(Debug)]
struct Direction {
    clock: ClockScale,
    /// Samples per 20 ms frame on the other side's RTP clock.
    frame_units: u32,
    /// Decoded samples not encoded yet: less than a frame, when the sender's
    /// packets are not 20 ms long.
    pending: Vec<i16>,
    /// The other side's timestamp of `pending[0]`.
    pending_timestamp: u32,
    /// The next frame starts a talkspurt (the sender's marker bit).
    marker: bool,
    sequence: u16,
}

/// A packet the other side's leg sends: its virtual header (mapped by that
/// leg's outgoing stream) and the whole RTP packet.
pub(crate) struct Outgoing {
    pub header: RtpHeader,
    pub packet: Vec<u8>,
    pub payload_len: usize,
}

impl Transcoding {
    /// Transcoding between the caller's and the agent's codecs, each with
    /// the payload type it negotiated, and with their telephone-event
    /// payload types.
    pub(crate) fn new(
        codecs: [(u8, LegCodec); 2],
        telephone_events: [Option<u8>; 2],
    ) -> Result<Self, CodecError> {
        let [(caller_type, caller), (agent_type, agent)] = codecs;
        let direction = |from: LegCodec, to: LegCodec| Direction {
            clock: ClockScale::new(from.clock_rate(), to.clock_rate()),
            frame_units: to.clock_rate().frame_len() as u32,
            pending: Vec::with_capacity(2 * PCM_RATE.frame_len()),
            pending_timestamp: 0,
            marker: false,
            sequence: 0,
        };
        Ok(Self {
            encoders: [
                (caller_type, LegEncoder::new(caller)?),
                (agent_type, LegEncoder::new(agent)?),
            ],
            telephone_events,
            directions: [direction(caller, agent), direction(agent, caller)],
            encoded: Vec::new(),
        })
    }

    /// The audio payload type `side` sends.
    pub(crate) fn audio_payload_type(&self, side: Side) -> u8 {
        self.encoders[side.index()].0
    }

    /// Takes `pcm`, the decoded audio of a packet `from` sent with `header`,
    /// and hands each whole 20 ms frame, encoded for the other side, to `send`.
    pub(crate) fn audio(
        &mut self,
        from: Side,
        header: &RtpHeader,
        pcm: &[i16],
        mut send: impl FnMut(Outgoing),
    ) {
        let to = from.other();
        let direction = &mut self.directions[from.index()];
        let timestamp = direction.clock.scale(header.ssrc, header.timestamp);
        if direction.pending.is_empty() {
            direction.pending_timestamp = timestamp;
        }
        direction.marker |= header.marker;
        direction.pending.extend_from_slice(pcm);
        let (payload_type, encoder) = &mut self.encoders[to.index()];
        let frame_len = PCM_RATE.frame_len();
        let whole = direction.pending.len() / frame_len * frame_len;
        for frame in direction.pending[..whole].chunks_exact(frame_len) {
            // A 20 ms frame of 8 kHz PCM is what every encoder takes.
            if encoder.encode_into(frame, &mut self.encoded).is_ok() {
                let virtual_header = RtpHeader {
                    marker: direction.marker,
                    payload_type: *payload_type,
                    sequence: direction.sequence,
                    timestamp: direction.pending_timestamp,
                    ssrc: header.ssrc,
                };
                direction.marker = false;
                direction.sequence = direction.sequence.wrapping_add(1);
                send(Outgoing {
                    header: virtual_header,
                    packet: virtual_header.encode(&self.encoded),
                    payload_len: self.encoded.len(),
                });
            }
            direction.pending_timestamp = direction
                .pending_timestamp
                .wrapping_add(direction.frame_units);
        }
        direction.pending.drain(..whole);
    }

    /// A packet `from` sent that is not its audio (a telephone-event),
    /// leaving as `payload_type`: restamped on the other side's clock, its
    /// event duration rescaled.
    pub(crate) fn other(
        &mut self,
        from: Side,
        header: &RtpHeader,
        payload_type: u8,
        payload: &[u8],
    ) -> Outgoing {
        let direction = &mut self.directions[from.index()];
        let virtual_header = RtpHeader {
            payload_type,
            sequence: direction.sequence,
            timestamp: direction.clock.scale(header.ssrc, header.timestamp),
            ..*header
        };
        direction.sequence = direction.sequence.wrapping_add(1);
        let event = (self.telephone_events[from.index()] == Some(header.payload_type))
            .then(|| TelephoneEvent::parse(payload).ok())
            .flatten();
        let packet = match event {
            Some(event) => {
                let duration = direction.clock.scale_span(u32::from(event.duration));
                let rescaled = TelephoneEvent {
                    duration: u16::try_from(duration).unwrap_or(u16::MAX),
                    ..event
                };
                virtual_header.encode(&rescaled.to_bytes())
            }
            None => virtual_header.encode(payload),
        };
        Outgoing {
            header: virtual_header,
            payload_len: packet.len() - crate::rtp::packet::FIXED_HEADER_LEN,
            packet,
        }
    }
}

/// Converts one sender's RTP timestamps to another clock rate, anchored on
/// the latest packet so that the arithmetic never overflows however long the
/// call; a new SSRC anchors afresh.
#[derive(Debug, Clone, Copy)]
struct ClockScale {
    from: u32,
    to: u32,
    anchor: Option<Anchor>,
}

#[derive(Debug, Clone, Copy)]
struct Anchor {
    ssrc: u32,
    input: u32,
    output: u32,
}

impl ClockScale {
    fn new(from: SampleRate, to: SampleRate) -> Self {
        Self {
            from: from.hz(),
            to: to.hz(),
            anchor: None,
        }
    }

    /// `timestamp` of `ssrc` on the output clock.
    fn scale(&mut self, ssrc: u32, timestamp: u32) -> u32 {
        let anchor = match self.anchor {
            Some(anchor) if anchor.ssrc == ssrc => anchor,
            _ => Anchor {
                ssrc,
                input: timestamp,
                output: timestamp,
            },
        };
        // Within ±2^31 units of the anchor: ahead, or behind when reordered.
        let delta = i64::from(timestamp.wrapping_sub(anchor.input) as i32);
        let scaled = (delta * i64::from(self.to)).div_euclid(i64::from(self.from));
        let output = anchor.output.wrapping_add(scaled as u32);
        self.anchor = Some(if delta > 0 {
            Anchor {
                ssrc,
                input: timestamp,
                output,
            }
        } else {
            anchor
        });
        output
    }

    /// A span of `units` on the input clock, on the output clock.
    fn scale_span(&self, units: u32) -> u64 {
        u64::from(units) * u64::from(self.to) / u64::from(self.from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::G711;

    #[test]
    fn timestamps_scale_across_clock_rates_and_wrap_and_reorder() {
        let mut up = ClockScale::new(SampleRate::NARROWBAND, SampleRate::FULLBAND);
        let start = u32::MAX - 100;
        let first = up.scale(1, start);
        assert_eq!(
            up.scale(1, start.wrapping_add(160)),
            first.wrapping_add(960)
        );
        assert_eq!(
            up.scale(1, start.wrapping_add(480)),
            first.wrapping_add(2_880)
        );
        // A packet from before the latest one.
        assert_eq!(
            up.scale(1, start.wrapping_add(320)),
            first.wrapping_add(1_920)
        );
        let mut down = ClockScale::new(SampleRate::FULLBAND, SampleRate::NARROWBAND);
        let first = down.scale(7, 1_000);
        for i in 1..100_000u32 {
            assert_eq!(
                down.scale(7, 1_000u32.wrapping_add(i.wrapping_mul(960 * 50))),
                first.wrapping_add(i.wrapping_mul(160 * 50))
            );
        }
        assert_eq!(down.scale_span(960), 160);
    }

    #[test]
    fn frames_are_cut_at_20_ms_whatever_the_senders_packet_length() {
        let mut transcoding = Transcoding::new(
            [(0, G711::Pcmu.into()), (8, G711::Pcma.into())],
            [None, None],
        )
        .expect("G.711 coders");
        let mut sent = Vec::new();
        for i in 0..3u16 {
            let header = RtpHeader {
                marker: i == 0,
                payload_type: 0,
                sequence: i,
                timestamp: 5_000 + 240 * u32::from(i),
                ssrc: 9,
            };
            // 30 ms packets.
            transcoding.audio(Side::Caller, &header, &[100; 240], |out| {
                sent.push(out.header)
            });
        }
        let stamps: Vec<_> = sent.iter().map(|header| header.timestamp).collect();
        assert_eq!(stamps, [5_000, 5_160, 5_320, 5_480]);
        let markers: Vec<_> = sent.iter().map(|header| header.marker).collect();
        assert_eq!(markers, [true, false, false, false]);
        assert!(sent.iter().all(|header| header.payload_type == 8));
        let sequences: Vec<_> = sent.iter().map(|header| header.sequence).collect();
        assert_eq!(sequences, [0, 1, 2, 3]);
    }
}
