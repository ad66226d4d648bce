//! A caller's audio for call tests: PCMU frames sent on an absolute 20 ms
//! schedule, as a phone's sound card clocks them (a stall of the busy test
//! process is caught up, not carried on), and what kefu sends back, decoded.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use kefu_media::g711::G711;

/// 20 ms (160 samples at 8 kHz) of the sum of `tones` (Hz) from frame
/// `frame` on; silence for none.
pub fn frame_of(tones: &[f64], frame: usize) -> Vec<i16> {
    (0..160)
        .map(|i| {
            let t = (frame * 160 + i) as f64 / 8000.0;
            tones
                .iter()
                .map(|hz| 6000.0 * (2.0 * std::f64::consts::PI * hz * t).sin())
                .sum::<f64>() as i16
        })
        .collect()
}

/// The DTMF tones of `key` (`0`-`9`, `*`, `#`).
pub fn dtmf(key: char) -> [f64; 2] {
    let (row, column) = match key {
        '1' => (0, 0),
        '2' => (0, 1),
        '3' => (0, 2),
        '4' => (1, 0),
        '5' => (1, 1),
        '6' => (1, 2),
        '7' => (2, 0),
        '8' => (2, 1),
        '9' => (2, 2),
        '*' => (3, 0),
        '0' => (3, 1),
        '#' => (3, 2),
        other => panic!("{other} is not a DTMF key"),
    };
    [
        [697.0, 770.0, 852.0, 941.0][row],
        [1209.0, 1336.0, 1477.0][column],
    ]
}

/// Sends `frames` PCMU frames to `to`, frame `n` being `frame(n)`'s samples,
/// numbered on from `first` (sequence and timestamp), and returns the audio
/// kefu sent back meanwhile.
pub fn stream(
    socket: &UdpSocket,
    to: SocketAddr,
    first: usize,
    frames: usize,
    frame: impl Fn(usize) -> Vec<i16>,
) -> Vec<i16> {
    socket
        .set_read_timeout(Some(Duration::from_millis(2)))
        .expect("a read timeout");
    let mut heard = Vec::new();
    let mut buffer = [0; 2048];
    let start = Instant::now();
    for (k, n) in (first..first + frames).enumerate() {
        let mut packet = vec![0x80, 0x00];
        packet.extend_from_slice(&(n as u16).to_be_bytes());
        packet.extend_from_slice(&((n as u32) * 160).to_be_bytes());
        packet.extend_from_slice(&0x0044_0440_u32.to_be_bytes());
        packet.extend(G711::Pcmu.encode(&frame(n)));
        socket.send_to(&packet, to).expect("RTP sent");
        let next = start + Duration::from_millis(20 * (k as u64 + 1));
        while Instant::now() < next {
            if let Ok((size, _)) = socket.recv_from(&mut buffer) {
                if size > 12 && buffer[1] & 0x7f == 0 {
                    heard.extend(G711::Pcmu.decode(&buffer[12..size]));
                }
            }
        }
    }
    heard
}

/// Sends silence to `to` from frame `first` on, 100 ms at a time, until
/// what kefu sends back is mostly `hz` (a beep), for at most 30 s; returns
/// the number of the next frame to send.
pub fn silence_until_tone(socket: &UdpSocket, to: SocketAddr, first: usize, hz: f64) -> usize {
    let rate = kefu_media::pcm::SampleRate::NARROWBAND;
    let mut frame = first;
    loop {
        let heard = stream(socket, to, frame, 5, |_| frame_of(&[], 0));
        frame += 5;
        if heard.len() >= 400 && kefu_media::goertzel::energy_share(&heard, hz, rate) > 0.6 {
            return frame;
        }
        assert!(frame < first + 30 * 50, "no {hz} Hz tone heard in 30 s");
    }
}
