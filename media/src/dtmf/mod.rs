//! DTMF: the sixteen keypad digits and the [`Dtmf`] event that both detectors
//! report, whether the digit arrived as RFC 4733 telephone-events
//! ([`rfc4733`]) or as tones in the audio ([`inband`]).

pub mod inband;
pub mod rfc4733;

use std::fmt;
use std::time::Duration;

/// One key of the DTMF keypad.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DtmfDigit {
    D0,
    D1,
    D2,
    D3,
    D4,
    D5,
    D6,
    D7,
    D8,
    D9,
    Star,
    Pound,
    A,
    B,
    C,
    D,
}

/// Row (low-group) frequencies of the keypad, in Hz.
pub const ROW_FREQUENCIES_HZ: [f64; 4] = [697.0, 770.0, 852.0, 941.0];
/// Column (high-group) frequencies of the keypad, in Hz.
pub const COLUMN_FREQUENCIES_HZ: [f64; 4] = [1_209.0, 1_336.0, 1_477.0, 1_633.0];

/// The keypad by row then column.
const KEYPAD: [[DtmfDigit; 4]; 4] = [
    [DtmfDigit::D1, DtmfDigit::D2, DtmfDigit::D3, DtmfDigit::A],
    [DtmfDigit::D4, DtmfDigit::D5, DtmfDigit::D6, DtmfDigit::B],
    [DtmfDigit::D7, DtmfDigit::D8, DtmfDigit::D9, DtmfDigit::C],
    [
        DtmfDigit::Star,
        DtmfDigit::D0,
        DtmfDigit::Pound,
        DtmfDigit::D,
    ],
];

impl DtmfDigit {
    /// All sixteen digits, in RFC 4733 event-code order.
    pub const ALL: [Self; 16] = [
        Self::D0,
        Self::D1,
        Self::D2,
        Self::D3,
        Self::D4,
        Self::D5,
        Self::D6,
        Self::D7,
        Self::D8,
        Self::D9,
        Self::Star,
        Self::Pound,
        Self::A,
        Self::B,
        Self::C,
        Self::D,
    ];

    /// The digit of an RFC 4733 event code (0–15); `None` for other events.
    pub fn from_event_code(code: u8) -> Option<Self> {
        Self::ALL.get(usize::from(code)).copied()
    }

    /// The RFC 4733 event code: 0–9, `*` = 10, `#` = 11, A–D = 12–15.
    pub fn event_code(self) -> u8 {
        self as u8
    }

    /// The digit of a keypad character (`0`–`9`, `*`, `#`, `A`–`D`, any case).
    pub fn from_char(key: char) -> Option<Self> {
        let code = match key.to_ascii_uppercase() {
            digit @ '0'..='9' => digit as u8 - b'0',
            '*' => 10,
            '#' => 11,
            letter @ 'A'..='D' => letter as u8 - b'A' + 12,
            _ => return None,
        };
        Self::from_event_code(code)
    }

    /// The keypad character.
    pub fn as_char(self) -> char {
        b"0123456789*#ABCD"[usize::from(self.event_code())] as char
    }

    /// The (row, column) pair of frequencies in Hz that make this digit's tone.
    pub fn frequencies_hz(self) -> (f64, f64) {
        let (row, column) = self.keypad_position();
        (ROW_FREQUENCIES_HZ[row], COLUMN_FREQUENCIES_HZ[column])
    }

    /// The digit at a keypad (row, column), both in `0..4`.
    fn at(row: usize, column: usize) -> Option<Self> {
        KEYPAD.get(row)?.get(column).copied()
    }

    fn keypad_position(self) -> (usize, usize) {
        let index = KEYPAD
            .iter()
            .flatten()
            .position(|&digit| digit == self)
            .unwrap_or_default();
        (index / 4, index % 4)
    }
}

impl fmt::Display for DtmfDigit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_char())
    }
}

/// A key press, reported once when it ends: which digit and how long it lasted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Dtmf {
    pub digit: DtmfDigit,
    pub duration: Duration,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_codes_and_characters_follow_rfc_4733() {
        let keys = "0123456789*#ABCD";
        for (code, key) in keys.chars().enumerate() {
            let digit = DtmfDigit::from_char(key).unwrap();
            assert_eq!(usize::from(digit.event_code()), code);
            assert_eq!(DtmfDigit::from_event_code(code as u8), Some(digit));
            assert_eq!(digit.as_char(), key);
            assert_eq!(digit.to_string(), key.to_string());
        }
        assert_eq!(DtmfDigit::from_char('b'), Some(DtmfDigit::B));
        assert_eq!(DtmfDigit::from_char('x'), None);
        assert_eq!(DtmfDigit::from_event_code(16), None);
    }

    #[test]
    fn each_digit_has_its_keypad_frequencies() {
        assert_eq!(DtmfDigit::D1.frequencies_hz(), (697.0, 1_209.0));
        assert_eq!(DtmfDigit::D5.frequencies_hz(), (770.0, 1_336.0));
        assert_eq!(DtmfDigit::D9.frequencies_hz(), (852.0, 1_477.0));
        assert_eq!(DtmfDigit::D0.frequencies_hz(), (941.0, 1_336.0));
        assert_eq!(DtmfDigit::Star.frequencies_hz(), (941.0, 1_209.0));
        assert_eq!(DtmfDigit::Pound.frequencies_hz(), (941.0, 1_477.0));
        assert_eq!(DtmfDigit::D.frequencies_hz(), (941.0, 1_633.0));
        for digit in DtmfDigit::ALL {
            let (row, column) = digit.keypad_position();
            assert_eq!(DtmfDigit::at(row, column), Some(digit));
        }
    }
}
