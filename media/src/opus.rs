//! The Opus codec (RFC 6716, RTP payload RFC 7587) for 20 ms mono frames:
//! [`OpusEncoder`] and [`OpusDecoder`], with packet-loss concealment when a
//! packet is missing and recovery from in-band FEC when the next one carries
//! it.
//!
//! The codec itself is libopus, linked dynamically through `audiopus`
//! (Debian's `libopus-dev` at build time, `libopus0` at run time). It always
//! runs at 48 kHz, Opus' native rate and the RTP clock rate of every Opus
//! stream. Callers that work at 8 or 16 kHz (a G.711 leg, the mixer, the
//! recorder) pass their own [`SampleRate`] and frames go through a
//! [`FrameResampler`] on the way in and out.

use audiopus::coder::{Decoder, Encoder};
use audiopus::packet::Packet;
use audiopus::{Application, Bitrate, Channels, MutSignals, Signal};

use crate::pcm::SampleRate;
use crate::resample::{FrameResampler, ResampleError};

/// Opus' codec and RTP clock rate.
pub const OPUS_RATE: SampleRate = SampleRate::FULLBAND;

/// Room for any packet the encoder makes: one 20 ms frame never exceeds
/// 1275 bytes (RFC 6716 §3.4); 4000 is what libopus' documentation advises.
const MAX_PACKET_BYTES: usize = 4_000;
/// Longest audio one packet can carry: 120 ms at 48 kHz.
const MAX_PACKET_SAMPLES: usize = 5_760;

/// What can go wrong coding Opus.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum OpusError {
    #[error("cannot create the Opus {0}: {1} (is libopus installed? scripts/install-deps.sh run)")]
    Create(&'static str, audiopus::Error),
    #[error("Opus rejected the encoder setting {0}: {1}")]
    Setting(&'static str, audiopus::Error),
    #[error("Opus could not encode the frame: {0}")]
    Encode(audiopus::Error),
    /// The packet is not valid Opus (it came from the network; drop it and
    /// conceal as if it were lost).
    #[error("not a valid Opus packet: {0}")]
    Decode(audiopus::Error),
    #[error(transparent)]
    Resample(#[from] ResampleError),
}

/// Encoder settings; [`OpusConfig::default`] suits a voice call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpusConfig {
    /// Target bitrate in bits per second (6 000 to 510 000).
    pub bitrate_bps: i32,
    /// CPU spent per frame for quality, 0 (cheapest) to 10.
    pub complexity: u8,
    /// Packet loss the encoder prepares for, in percent: above 0, each
    /// packet also carries a coarse copy of the previous frame (in-band FEC,
    /// RFC 6716 §2.1.7), which [`OpusDecoder::recover_into`] uses when that
    /// frame is lost. Turn it on when the peer's SDP says `useinbandfec=1`
    /// (RFC 7587); it costs bitrate.
    pub expected_loss_percent: u8,
}

impl Default for OpusConfig {
    /// 24 kbit/s (fullband speech), complexity 5 (half way between the
    /// cheapest and the best; the cost per frame is in `bench/README.md`), no
    /// in-band FEC.
    fn default() -> Self {
        Self {
            bitrate_bps: 24_000,
            complexity: 5,
            expected_loss_percent: 0,
        }
    }
}

/// Encodes 20 ms frames of mono PCM at the caller's rate into Opus packets.
#[derive(Debug)]
pub struct OpusEncoder {
    encoder: Encoder,
    /// From the caller's rate to 48 kHz; `None` at 48 kHz.
    resampler: Option<FrameResampler>,
    wide: Vec<i16>,
    packet: Vec<u8>,
}

impl OpusEncoder {
    /// An encoder (application VoIP, signal voice) taking 20 ms frames at `rate`.
    pub fn new(rate: SampleRate, config: OpusConfig) -> Result<Self, OpusError> {
        let mut encoder = Encoder::new(
            audiopus::SampleRate::Hz48000,
            Channels::Mono,
            Application::Voip,
        )
        .map_err(|error| OpusError::Create("encoder", error))?;
        encoder
            .set_bitrate(Bitrate::BitsPerSecond(config.bitrate_bps))
            .map_err(|error| OpusError::Setting("bitrate", error))?;
        encoder
            .set_complexity(config.complexity)
            .map_err(|error| OpusError::Setting("complexity", error))?;
        encoder
            .set_signal(Signal::Voice)
            .map_err(|error| OpusError::Setting("signal", error))?;
        encoder
            .set_inband_fec(config.expected_loss_percent > 0)
            .map_err(|error| OpusError::Setting("in-band FEC", error))?;
        encoder
            .set_packet_loss_perc(config.expected_loss_percent)
            .map_err(|error| OpusError::Setting("expected packet loss", error))?;
        Ok(Self {
            encoder,
            resampler: adapter(rate, OPUS_RATE)?,
            wide: Vec::with_capacity(OPUS_RATE.frame_len()),
            packet: vec![0; MAX_PACKET_BYTES],
        })
    }

    /// Encodes one 20 ms `frame` at the encoder's rate into `out` (cleared
    /// first): one Opus packet, the RTP payload.
    pub fn encode_into(&mut self, frame: &[i16], out: &mut Vec<u8>) -> Result<(), OpusError> {
        let wide = match &mut self.resampler {
            Some(resampler) => {
                resampler.process_into(frame, &mut self.wide)?;
                &self.wide
            }
            None if frame.len() == OPUS_RATE.frame_len() => frame,
            None => {
                return Err(ResampleError::FrameLength {
                    expected: OPUS_RATE.frame_len(),
                    got: frame.len(),
                }
                .into());
            }
        };
        let len = self
            .encoder
            .encode(wide, &mut self.packet)
            .map_err(OpusError::Encode)?;
        out.clear();
        out.extend_from_slice(&self.packet[..len]);
        Ok(())
    }

    /// One 20 ms frame at the encoder's rate as an Opus packet.
    pub fn encode(&mut self, frame: &[i16]) -> Result<Vec<u8>, OpusError> {
        let mut out = Vec::new();
        self.encode_into(frame, &mut out)?;
        Ok(out)
    }
}

/// Decodes Opus packets into mono PCM at the caller's rate, and conceals lost
/// packets.
#[derive(Debug)]
pub struct OpusDecoder {
    decoder: Decoder,
    rate: SampleRate,
    /// From 48 kHz to the caller's rate; `None` at 48 kHz.
    resampler: Option<FrameResampler>,
    /// Decoded 48 kHz samples not yet converted (packets shorter than 20 ms).
    pending: Vec<i16>,
    decoded: Vec<i16>,
    converted: Vec<i16>,
}

impl OpusDecoder {
    /// A decoder giving samples at `rate`.
    pub fn new(rate: SampleRate) -> Result<Self, OpusError> {
        let decoder = Decoder::new(audiopus::SampleRate::Hz48000, Channels::Mono)
            .map_err(|error| OpusError::Create("decoder", error))?;
        Ok(Self {
            decoder,
            rate,
            resampler: adapter(OPUS_RATE, rate)?,
            pending: Vec::with_capacity(MAX_PACKET_SAMPLES + OPUS_RATE.frame_len()),
            decoded: vec![0; MAX_PACKET_SAMPLES],
            converted: Vec::with_capacity(rate.frame_len()),
        })
    }

    /// The rate of the samples this decoder gives.
    pub fn rate(&self) -> SampleRate {
        self.rate
    }

    /// Decodes one packet, or conceals one lost 20 ms packet when `packet` is
    /// `None`, and appends the samples to `out`. A packet carries 2.5 to
    /// 120 ms; at 48 kHz all of it is appended at once, while at another rate
    /// whole 20 ms frames are appended and a shorter remainder waits for the
    /// next packet. A malformed packet appends nothing and is an error (the
    /// caller then conceals it as lost).
    pub fn decode_into(
        &mut self,
        packet: Option<&[u8]>,
        out: &mut Vec<i16>,
    ) -> Result<(), OpusError> {
        match packet {
            Some(bytes) => self.run(Some(bytes), self.decoded.len(), false, out),
            None => self.run(None, OPUS_RATE.frame_len(), false, out),
        }
    }

    /// Recovers a lost 20 ms packet from the in-band FEC data of the packet
    /// that followed it, `next`, and appends the samples to `out`; plain
    /// concealment when `next` carries none. Decode `next` itself afterwards
    /// with [`OpusDecoder::decode_into`].
    pub fn recover_into(&mut self, next: &[u8], out: &mut Vec<i16>) -> Result<(), OpusError> {
        self.run(Some(next), OPUS_RATE.frame_len(), true, out)
    }

    /// Decodes into at most `len` samples at 48 kHz, then converts.
    fn run(
        &mut self,
        packet: Option<&[u8]>,
        len: usize,
        fec: bool,
        out: &mut Vec<i16>,
    ) -> Result<(), OpusError> {
        let packet = match packet {
            Some(bytes) => Some(Packet::try_from(bytes).map_err(OpusError::Decode)?),
            None => None,
        };
        let signals = MutSignals::try_from(&mut self.decoded[..len]).map_err(OpusError::Decode)?;
        let samples = self
            .decoder
            .decode(packet, signals, fec)
            .map_err(OpusError::Decode)?;
        let Some(resampler) = &mut self.resampler else {
            out.extend_from_slice(&self.decoded[..samples]);
            return Ok(());
        };
        self.pending.extend_from_slice(&self.decoded[..samples]);
        let frame = OPUS_RATE.frame_len();
        let whole = self.pending.len() / frame * frame;
        for chunk in self.pending[..whole].chunks_exact(frame) {
            resampler.process_into(chunk, &mut self.converted)?;
            out.extend_from_slice(&self.converted);
        }
        self.pending.drain(..whole);
        Ok(())
    }

    /// The samples of one packet (see [`OpusDecoder::decode_into`]).
    pub fn decode(&mut self, packet: Option<&[u8]>) -> Result<Vec<i16>, OpusError> {
        let mut out = Vec::with_capacity(self.rate.frame_len());
        self.decode_into(packet, &mut out)?;
        Ok(out)
    }
}

fn adapter(from: SampleRate, to: SampleRate) -> Result<Option<FrameResampler>, ResampleError> {
    if from == to {
        Ok(None)
    } else {
        FrameResampler::new(from, to).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::goertzel::{Goertzel, energy_share, sine_amplitude};
    use crate::tone::{ToneGenerator, TonePlan};

    const LEVEL_DBFS: f64 = -12.0;

    /// `frames` frames of a 440 Hz tone at `rate` through an encoder and a
    /// decoder, every packet delivered; the decoded samples concatenated.
    fn round_trip(rate: SampleRate, frames: usize) -> (Vec<i16>, Vec<usize>) {
        let mut encoder = OpusEncoder::new(rate, OpusConfig::default()).expect("encoder");
        let mut decoder = OpusDecoder::new(rate).expect("decoder");
        let mut generator = ToneGenerator::new(TonePlan::steady(&[440.0], LEVEL_DBFS), rate);
        let mut decoded = Vec::new();
        let mut sizes = Vec::new();
        let mut packet = Vec::new();
        for _ in 0..frames {
            encoder
                .encode_into(&generator.next_frame(), &mut packet)
                .expect("encode");
            sizes.push(packet.len());
            decoder
                .decode_into(Some(&packet), &mut decoded)
                .expect("decode");
        }
        (decoded, sizes)
    }

    fn assert_440_hz_at_level(samples: &[i16], rate: SampleRate) {
        let share = energy_share(samples, 440.0, rate);
        assert!(share > 0.95, "440 Hz share {share} at {rate:?}");
        let power = Goertzel::new(440.0, rate).power(samples);
        let expected = f64::from(i16::MAX) * 10f64.powf(LEVEL_DBFS / 20.0);
        let change = 20.0 * (sine_amplitude(power, samples.len()) / expected).log10();
        assert!(change.abs() < 3.0, "level off by {change} dB at {rate:?}");
    }

    #[test]
    fn a_440_hz_tone_survives_encode_and_decode_at_48_khz() {
        let (decoded, sizes) = round_trip(OPUS_RATE, 50);
        assert_eq!(decoded.len(), 50 * 960);
        // Skip the codec's start-up (lookahead and the first frames' ramp).
        assert_440_hz_at_level(&decoded[10 * 960..], OPUS_RATE);
        // 24 kbit/s is 60 bytes per 20 ms on average.
        let average = sizes.iter().sum::<usize>() / sizes.len();
        assert!(
            (30..=90).contains(&average),
            "average packet {average} bytes"
        );
    }

    #[test]
    fn narrowband_and_wideband_callers_go_through_the_resampler() {
        for rate in [SampleRate::NARROWBAND, SampleRate::WIDEBAND] {
            let (decoded, _) = round_trip(rate, 50);
            assert_eq!(decoded.len(), 50 * rate.frame_len(), "{rate:?}");
            assert_440_hz_at_level(&decoded[10 * rate.frame_len()..], rate);
        }
    }

    #[test]
    fn a_lost_packet_is_concealed_with_a_frame_of_the_right_length() {
        for rate in [SampleRate::NARROWBAND, OPUS_RATE] {
            let (mut encoder, mut decoder) = (
                OpusEncoder::new(rate, OpusConfig::default()).expect("encoder"),
                OpusDecoder::new(rate).expect("decoder"),
            );
            let mut generator = ToneGenerator::new(TonePlan::steady(&[440.0], LEVEL_DBFS), rate);
            for _ in 0..20 {
                let packet = encoder.encode(&generator.next_frame()).expect("encode");
                decoder.decode(Some(&packet)).expect("decode");
            }
            let concealed = decoder.decode(None).expect("concealment");
            assert_eq!(concealed.len(), rate.frame_len(), "{rate:?}");
            // Concealment continues the tone rather than going silent.
            let share = energy_share(&concealed, 440.0, rate);
            assert!(share > 0.5, "concealed 440 Hz share {share} at {rate:?}");
        }
    }

    #[test]
    fn a_lost_packet_is_recovered_from_the_next_ones_fec_data() {
        let config = OpusConfig {
            expected_loss_percent: 20,
            ..OpusConfig::default()
        };
        let mut encoder = OpusEncoder::new(OPUS_RATE, config).expect("encoder");
        let mut generator = ToneGenerator::new(TonePlan::steady(&[440.0], LEVEL_DBFS), OPUS_RATE);
        let frames: Vec<Vec<i16>> = (0..30).map(|_| generator.next_frame()).collect();
        let packets: Vec<Vec<u8>> = frames
            .iter()
            .map(|frame| encoder.encode(frame).expect("encode"))
            .collect();
        let lost = 25;
        let run = |recover: bool| {
            let mut decoder = OpusDecoder::new(OPUS_RATE).expect("decoder");
            let mut out = Vec::new();
            for packet in &packets[..lost] {
                decoder.decode_into(Some(packet), &mut out).expect("decode");
            }
            let mut missing = Vec::new();
            if recover {
                decoder
                    .recover_into(&packets[lost + 1], &mut missing)
                    .expect("recover");
            } else {
                decoder.decode_into(None, &mut missing).expect("conceal");
            }
            missing
        };
        let (recovered, concealed) = (run(true), run(false));
        assert_eq!(recovered.len(), 960);
        assert_ne!(recovered, concealed, "no FEC data was used");
        assert_440_hz_at_level(&recovered, OPUS_RATE);
    }

    #[test]
    fn a_60_ms_packet_decodes_into_three_frames_and_a_10_ms_one_waits_for_the_next() {
        // TOC byte (RFC 6716 §3.1): config 1 is SILK narrowband 20 ms, config
        // 0 SILK narrowband 10 ms; code 3 with a count byte of 3 is three
        // frames; a frame of 0 bytes is a lost frame and decodes as concealment.
        let mut narrow = OpusDecoder::new(SampleRate::NARROWBAND).expect("decoder");
        let three = [(1 << 3) | 3, 3];
        assert_eq!(narrow.decode(Some(&three)).expect("60 ms").len(), 480);
        let ten_ms = [0];
        assert_eq!(narrow.decode(Some(&ten_ms)).expect("10 ms").len(), 0);
        assert_eq!(narrow.decode(Some(&ten_ms)).expect("10 ms").len(), 160);
        let mut full = OpusDecoder::new(OPUS_RATE).expect("decoder");
        assert_eq!(full.decode(Some(&ten_ms)).expect("10 ms").len(), 480);
    }

    #[test]
    fn malformed_packets_are_errors_not_panics() {
        let mut decoder = OpusDecoder::new(SampleRate::NARROWBAND).expect("decoder");
        assert!(matches!(
            decoder.decode(Some(&[])),
            Err(OpusError::Decode(_))
        ));
        // Code 3 with a frame count of 0 is invalid.
        assert!(matches!(
            decoder.decode(Some(&[3, 0])),
            Err(OpusError::Decode(_))
        ));
        assert_eq!(decoder.decode(None).expect("concealment").len(), 160);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2_000))]

        /// Packets come from the network: whatever the bytes, decoding gives
        /// samples or an error, never a panic, and never more than 120 ms.
        #[test]
        fn arbitrary_packets_decode_or_fail_without_panicking(
            packet in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300),
            narrowband in proptest::prelude::any::<bool>(),
        ) {
            let rate = if narrowband { SampleRate::NARROWBAND } else { OPUS_RATE };
            let mut decoder = OpusDecoder::new(rate).expect("decoder");
            if let Ok(samples) = decoder.decode(Some(&packet)) {
                proptest::prop_assert!(samples.len() <= rate.samples_in(std::time::Duration::from_millis(120)));
            }
            proptest::prop_assert_eq!(decoder.decode(None).expect("concealment").len() % rate.frame_len(), 0);
        }
    }

    #[test]
    fn frames_of_the_wrong_length_are_refused() {
        let mut encoder = OpusEncoder::new(OPUS_RATE, OpusConfig::default()).expect("encoder");
        assert_eq!(
            encoder.encode(&[0; 160]),
            Err(OpusError::Resample(ResampleError::FrameLength {
                expected: 960,
                got: 160
            }))
        );
    }
}
