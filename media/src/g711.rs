//! G.711 µ-law (PCMU) and A-law (PCMA): 8-bit companded samples to and from
//! 16-bit linear PCM, through lookup tables computed at compile time.
//!
//! Hand-written because G.711 is a few lines of the ITU-T reference code and
//! compile-time tables need no dependency; no state, and no allocation in the
//! `*_into` functions.

/// One of the two G.711 companding laws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum G711 {
    /// µ-law, RTP static payload type 0 (North America, Japan).
    Pcmu,
    /// A-law, RTP static payload type 8 (Europe, China, most of the world).
    Pcma,
}

/// Linear value of every µ-law byte.
static ULAW_DECODE: [i16; 256] = ulaw_decode_table();
/// µ-law byte for every 14-bit linear value (`sample >> 2`, offset by 8192).
static ULAW_ENCODE: [u8; 16_384] = ulaw_encode_table();
/// Linear value of every A-law byte.
static ALAW_DECODE: [i16; 256] = alaw_decode_table();
/// A-law byte for every 13-bit linear value (`sample >> 3`, offset by 4096).
static ALAW_ENCODE: [u8; 8_192] = alaw_encode_table();

impl G711 {
    /// The RTP static payload type (RFC 3551): 0 for PCMU, 8 for PCMA.
    pub const fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Pcma => 8,
        }
    }

    /// The encoded byte of one linear sample.
    pub fn encode_sample(self, sample: i16) -> u8 {
        match self {
            Self::Pcmu => ULAW_ENCODE[((i32::from(sample) >> 2) + 8_192) as usize],
            Self::Pcma => ALAW_ENCODE[((i32::from(sample) >> 3) + 4_096) as usize],
        }
    }

    /// The linear sample of one encoded byte.
    pub fn decode_sample(self, byte: u8) -> i16 {
        match self {
            Self::Pcmu => ULAW_DECODE[usize::from(byte)],
            Self::Pcma => ALAW_DECODE[usize::from(byte)],
        }
    }

    /// Encodes `pcm` into `out`, which is cleared first; one byte per sample.
    pub fn encode_into(self, pcm: &[i16], out: &mut Vec<u8>) {
        out.clear();
        out.extend(pcm.iter().map(|&sample| self.encode_sample(sample)));
    }

    /// Decodes `payload` into `out`, which is cleared first; one sample per byte.
    pub fn decode_into(self, payload: &[u8], out: &mut Vec<i16>) {
        out.clear();
        out.extend(payload.iter().map(|&byte| self.decode_sample(byte)));
    }

    /// The encoded payload of `pcm`.
    pub fn encode(self, pcm: &[i16]) -> Vec<u8> {
        let mut out = Vec::with_capacity(pcm.len());
        self.encode_into(pcm, &mut out);
        out
    }

    /// The linear samples of `payload`.
    pub fn decode(self, payload: &[u8]) -> Vec<i16> {
        let mut out = Vec::with_capacity(payload.len());
        self.decode_into(payload, &mut out);
        out
    }
}

/// Segment (exponent) of a magnitude: the index of the first end point it does
/// not exceed, or 8 when it is beyond the last.
const fn segment(value: i32, ends: &[i32; 8]) -> i32 {
    let mut seg = 0;
    while seg < 8 {
        if value <= ends[seg] {
            return seg as i32;
        }
        seg += 1;
    }
    8
}

const ULAW_BIAS: i32 = 0x84;
const ULAW_CLIP: i32 = 8_159;
const ULAW_SEGMENT_ENDS: [i32; 8] = [0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF, 0x1FFF];
const ALAW_SEGMENT_ENDS: [i32; 8] = [0x1F, 0x3F, 0x7F, 0xFF, 0x1FF, 0x3FF, 0x7FF, 0xFFF];

/// µ-law byte of a 14-bit linear value (G.711 table 2a).
const fn ulaw_from_14_bit(value: i32) -> u8 {
    let (mut magnitude, mask) = if value < 0 {
        (-value, 0x7F)
    } else {
        (value, 0xFF)
    };
    if magnitude > ULAW_CLIP {
        magnitude = ULAW_CLIP;
    }
    magnitude += ULAW_BIAS >> 2;
    let seg = segment(magnitude, &ULAW_SEGMENT_ENDS);
    let code = if seg >= 8 {
        0x7F
    } else {
        (seg << 4) | ((magnitude >> (seg + 1)) & 0x0F)
    };
    (code ^ mask) as u8
}

/// A-law byte of a 13-bit linear value (G.711 table 1a).
const fn alaw_from_13_bit(value: i32) -> u8 {
    let (magnitude, mask) = if value >= 0 {
        (value, 0xD5)
    } else {
        (-value - 1, 0x55)
    };
    let seg = segment(magnitude, &ALAW_SEGMENT_ENDS);
    let code = if seg >= 8 {
        0x7F
    } else if seg < 2 {
        (seg << 4) | ((magnitude >> 1) & 0x0F)
    } else {
        (seg << 4) | ((magnitude >> seg) & 0x0F)
    };
    (code ^ mask) as u8
}

const fn ulaw_to_linear(byte: u8) -> i16 {
    let code = !byte as i32;
    let magnitude = (((code & 0x0F) << 3) + ULAW_BIAS) << ((code & 0x70) >> 4);
    if code & 0x80 != 0 {
        (ULAW_BIAS - magnitude) as i16
    } else {
        (magnitude - ULAW_BIAS) as i16
    }
}

const fn alaw_to_linear(byte: u8) -> i16 {
    let code = (byte ^ 0x55) as i32;
    let seg = (code & 0x70) >> 4;
    let mut magnitude = (code & 0x0F) << 4;
    magnitude += if seg == 0 { 8 } else { 0x108 };
    if seg > 1 {
        magnitude <<= seg - 1;
    }
    if code & 0x80 != 0 {
        magnitude as i16
    } else {
        -magnitude as i16
    }
}

const fn ulaw_decode_table() -> [i16; 256] {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = ulaw_to_linear(byte as u8);
        byte += 1;
    }
    table
}

const fn alaw_decode_table() -> [i16; 256] {
    let mut table = [0; 256];
    let mut byte = 0;
    while byte < 256 {
        table[byte] = alaw_to_linear(byte as u8);
        byte += 1;
    }
    table
}

const fn ulaw_encode_table() -> [u8; 16_384] {
    let mut table = [0; 16_384];
    let mut index = 0;
    while index < 16_384 {
        table[index] = ulaw_from_14_bit(index as i32 - 8_192);
        index += 1;
    }
    table
}

const fn alaw_encode_table() -> [u8; 8_192] {
    let mut table = [0; 8_192];
    let mut index = 0;
    while index < 8_192 {
        table[index] = alaw_from_13_bit(index as i32 - 4_096);
        index += 1;
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pcm::SampleRate;
    use crate::tone::{ToneGenerator, TonePlan};

    fn one_second_of_1_khz(level_dbfs: f64) -> Vec<i16> {
        let mut tone = ToneGenerator::new(
            TonePlan::steady(&[1_000.0], level_dbfs),
            SampleRate::NARROWBAND,
        );
        (0..50).flat_map(|_| tone.next_frame()).collect()
    }

    fn snr_db(original: &[i16], decoded: &[i16]) -> f64 {
        let signal: f64 = original.iter().map(|&s| f64::from(s).powi(2)).sum();
        let noise: f64 = original
            .iter()
            .zip(decoded)
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum();
        10.0 * (signal / noise).log10()
    }

    #[test]
    fn mu_law_matches_reference_values() {
        assert_eq!(G711::Pcmu.encode_sample(0), 0xFF);
        assert_eq!(G711::Pcmu.decode_sample(0xFF), 0);
        assert_eq!(G711::Pcmu.decode_sample(0x7F), 0);
        assert_eq!(G711::Pcmu.decode_sample(0x80), 32_124);
        assert_eq!(G711::Pcmu.decode_sample(0x00), -32_124);
        assert_eq!(G711::Pcmu.encode_sample(i16::MAX), 0x80);
        assert_eq!(G711::Pcmu.encode_sample(i16::MIN), 0x00);
        assert_eq!(G711::Pcmu.payload_type(), 0);
    }

    #[test]
    fn a_law_matches_reference_values() {
        assert_eq!(G711::Pcma.encode_sample(0), 0xD5);
        assert_eq!(G711::Pcma.decode_sample(0xD5), 8);
        assert_eq!(G711::Pcma.decode_sample(0x55), -8);
        assert_eq!(G711::Pcma.decode_sample(0xAA), 32_256);
        assert_eq!(G711::Pcma.decode_sample(0x2A), -32_256);
        assert_eq!(G711::Pcma.encode_sample(i16::MAX), 0xAA);
        assert_eq!(G711::Pcma.encode_sample(i16::MIN), 0x2A);
        assert_eq!(G711::Pcma.payload_type(), 8);
    }

    #[test]
    fn every_byte_survives_decode_then_encode() {
        for law in [G711::Pcmu, G711::Pcma] {
            for byte in 0..=255u8 {
                let back = law.encode_sample(law.decode_sample(byte));
                // µ-law has two zeros (0x7F and 0xFF); both decode to 0 which encodes to 0xFF.
                let expected = if law == G711::Pcmu && byte == 0x7F {
                    0xFF
                } else {
                    byte
                };
                assert_eq!(back, expected, "{law:?} byte {byte:#04x}");
            }
        }
    }

    #[test]
    fn decoding_is_monotonic_in_the_linear_value() {
        for law in [G711::Pcmu, G711::Pcma] {
            let mut previous = i16::MIN;
            for sample in (i16::MIN..=i16::MAX).step_by(7) {
                let decoded = law.decode_sample(law.encode_sample(sample));
                assert!(decoded >= previous, "{law:?} not monotonic at {sample}");
                previous = decoded;
            }
        }
    }

    #[test]
    fn a_1_khz_tone_round_trips_within_the_quantisation_error() {
        for (law, level_dbfs) in [G711::Pcmu, G711::Pcma]
            .into_iter()
            .flat_map(|law| [(law, -3.0), (law, -20.0)])
        {
            let tone = one_second_of_1_khz(level_dbfs);
            let decoded = law.decode(&law.encode(&tone));
            assert_eq!(decoded.len(), tone.len());
            // Companding keeps the SNR of a loud sine near 35-38 dB whatever its
            // level (ITU-T G.712's mask asks for at least 33 dB at high levels).
            let snr = snr_db(&tone, &decoded);
            assert!(snr > 33.0, "{law:?} at {level_dbfs} dBFS: SNR {snr:.1} dB");
            // Each sample is off by less than one step of its segment, which
            // is about a sixteenth of its magnitude (16 near zero).
            for (&a, &b) in tone.iter().zip(&decoded) {
                let error = (i32::from(a) - i32::from(b)).abs();
                let step = (i32::from(a).abs() / 16).max(16);
                assert!(error <= step, "{law:?} sample {a} decoded as {b}");
            }
        }
    }

    #[test]
    fn into_variants_reuse_the_buffer() {
        let mut payload = vec![1, 2, 3];
        G711::Pcma.encode_into(&[0, 0], &mut payload);
        assert_eq!(payload, [0xD5, 0xD5]);
        let mut pcm = vec![7; 9];
        G711::Pcma.decode_into(&payload, &mut pcm);
        assert_eq!(pcm, [8, 8]);
    }
}
