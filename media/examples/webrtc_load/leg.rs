//! One leg of the load: a browser-equivalent peer ([`Browser`]) on a UDP
//! socket of its own, and the engine's leg — a plain-RTP socket that echoes
//! every packet back to the gateway — driven by one tokio task of the load
//! generator. The browser offers, the server's gateway answers, ICE and
//! DTLS run; once every leg has connected (the run's [`Phase::Measure`],
//! so that connecting is measured apart from audio), the browser sends a
//! packet every 20 ms, legs spread over the frame one millisecond apart as
//! independent browsers would be: a fixed-size payload carrying a magic word, the
//! leg's number, its sequence and its send time, so that whatever comes
//! back is counted per direction and timed round trip (browser → gateway
//! (SRTP unprotect) → engine leg → gateway (SRTP protect) → browser).
//! Only packets sent inside the measured window count.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use kefu_media::rtp::packet::RtpPacket;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::browser::Browser;
use crate::server::{CONNECT_TIMEOUT, Gateways, LOOPBACK};

/// Marks our packets.
const MAGIC: u32 = 0x6B65_6675;
/// The payload: the size of a 20 ms Opus voice frame at Chromium's default
/// 32 kbit/s. The gateway forwards payloads untouched, so their content
/// does not change its work.
pub const PAYLOAD: usize = 80;
pub const FRAME: Duration = Duration::from_millis(20);

/// Where a run is: legs connect during the ramp, send audio once the
/// window is set, count only inside it, and end at `Stop`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Ramp,
    Measure(Window),
    Stop,
}

/// Packets sent in `[start, end)` count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

impl Window {
    fn holds(&self, sent: Instant) -> bool {
        sent >= self.start && sent < self.end
    }
}

/// What one leg counted inside the window.
#[derive(Debug, Default)]
pub struct Tally {
    /// Offer made → the browser connected (ICE and DTLS done).
    pub connect: Option<Duration>,
    /// Sent by the browser (SRTP).
    pub sent: u64,
    /// Reached the engine's leg as plain RTP.
    pub at_engine: u64,
    /// Sent back by the engine's leg.
    pub echoed: u64,
    /// Reached the browser again, decrypted.
    pub at_browser: u64,
    /// Ours, but another leg's.
    pub misrouted: u64,
    /// Round trips in microseconds.
    pub round_trips: Vec<u32>,
    /// Why the leg failed, if it did.
    pub error: Option<String>,
}

/// Runs leg `index` until [`Phase::Stop`]; says on `connected` once whether
/// (and how fast) it connected. `epoch` is the run's clock origin.
pub async fn run(
    index: u32,
    gateways: Gateways,
    epoch: Instant,
    mut phase: watch::Receiver<Phase>,
    connected: mpsc::UnboundedSender<Option<Duration>>,
) -> Tally {
    let mut tally = Tally::default();
    if let Err(error) = drive(index, &gateways, epoch, &mut phase, &connected, &mut tally).await {
        if tally.connect.is_none() {
            let _ = connected.send(None);
        }
        tally.error = Some(error);
        // A failed leg waits for the others, holding nothing but its tally.
        while *phase.borrow_and_update() != Phase::Stop {
            if phase.changed().await.is_err() {
                break;
            }
        }
    }
    tally
}

async fn drive(
    index: u32,
    gateways: &Gateways,
    epoch: Instant,
    phase: &mut watch::Receiver<Phase>,
    connected: &mpsc::UnboundedSender<Option<Duration>>,
    tally: &mut Tally,
) -> Result<(), String> {
    let socket = UdpSocket::bind(SocketAddr::new(LOOPBACK, 0))
        .await
        .map_err(|e| e.to_string())?;
    let engine = UdpSocket::bind(SocketAddr::new(LOOPBACK, 0))
        .await
        .map_err(|e| e.to_string())?;
    let (mut browser, offer) = Browser::offer(
        socket.local_addr().map_err(|e| e.to_string())?,
        Instant::now(),
    )?;
    let offered = Instant::now();
    let handle = gateways
        .start(offer, engine.local_addr().map_err(|e| e.to_string())?)
        .await?;
    let gateway_engine = handle.rtp_addr_for_engine();
    let codec = handle.codec();
    let frame_ticks = codec.clock_rate / 50;
    browser.accept_answer(handle.local_sdp(), Instant::now())?;

    let mut window = None;
    let mut next_frame = None;
    let mut frames: u32 = 0;
    let mut buffer = [0u8; 2_048];
    let mut engine_buffer = [0u8; 2_048];
    let result = 'run: loop {
        for (destination, datagram) in browser.outbox.drain(..) {
            // A refused send is a lost packet, as on the wire.
            let _ = socket.try_send_to(&datagram, destination);
        }
        let mut wake = browser.timeout;
        if let Some(at) = next_frame {
            wake = wake.min(at);
        }
        if tally.connect.is_none() {
            wake = wake.min(offered + CONNECT_TIMEOUT);
        }
        tokio::select! {
            received = socket.recv_from(&mut buffer) => {
                if let Ok((len, source)) = received {
                    if let Err(error) = browser.receive(Instant::now(), source, &buffer[..len]) {
                        break Err(error);
                    }
                }
            }
            received = engine.recv_from(&mut engine_buffer) => {
                if let Ok((len, _)) = received {
                    let datagram = &engine_buffer[..len];
                    if let Some(sent) = ours(index, epoch, datagram, tally, window) {
                        tally.at_engine += u64::from(sent);
                        let echoed = engine.send_to(datagram, gateway_engine).await.is_ok();
                        tally.echoed += u64::from(sent && echoed);
                    }
                }
            }
            () = tokio::time::sleep_until(wake.into()) => {}
            changed = phase.changed() => {
                if changed.is_err() {
                    break Ok(());
                }
            }
        }
        match *phase.borrow_and_update() {
            Phase::Ramp => {}
            Phase::Measure(measured) => window = Some(measured),
            Phase::Stop => break Ok(()),
        }
        let now = Instant::now();
        if let Err(error) = browser.handle_timeout(now) {
            break Err(error);
        }
        if browser.connected && tally.connect.is_none() {
            let took = now.duration_since(offered);
            tally.connect = Some(took);
            let _ = connected.send(Some(took));
        }
        if browser.connected && next_frame.is_none() && window.is_some() {
            let slot = Duration::from_millis(u64::from(index % 20));
            next_frame = Some(now + slot);
        }
        if tally.connect.is_none() && now >= offered + CONNECT_TIMEOUT {
            break Err("not connected within the connect timeout".to_owned());
        }
        while let Some(due) = next_frame.filter(|due| *due <= now) {
            let payload = packet(index, frames, now.duration_since(epoch));
            let timestamp = frames.wrapping_mul(frame_ticks);
            if let Err(error) = browser.send(now, codec.payload_type, timestamp, payload) {
                break 'run Err(error);
            }
            if window.is_some_and(|window| window.holds(now)) {
                tally.sent += 1;
            }
            frames = frames.wrapping_add(1);
            next_frame = Some(due + FRAME);
        }
        for payload in browser.heard.drain(..) {
            if let Some((leg, sent)) = read(&payload) {
                let sent = epoch + sent;
                if leg != index {
                    tally.misrouted += 1;
                } else if window.is_some_and(|window| window.holds(sent)) {
                    tally.at_browser += 1;
                    let round_trip = now.saturating_duration_since(sent).as_micros();
                    tally
                        .round_trips
                        .push(u32::try_from(round_trip).unwrap_or(u32::MAX));
                }
            }
        }
    };
    let stopped = handle.stop().await.map_err(|e| e.to_string());
    result.and(stopped.map(drop))
}

/// Whether a plain-RTP datagram at the engine's leg is one of ours, and
/// then whether it was sent inside the window; another leg's is counted as
/// misrouted and not echoed.
fn ours(
    index: u32,
    epoch: Instant,
    datagram: &[u8],
    tally: &mut Tally,
    window: Option<Window>,
) -> Option<bool> {
    let packet = RtpPacket::parse(datagram).ok()?;
    let (leg, sent) = read(packet.payload)?;
    if leg != index {
        tally.misrouted += 1;
        return None;
    }
    Some(window.is_some_and(|window| window.holds(epoch + sent)))
}

/// The payload of frame `frame` of leg `leg`, sent `sent` after the epoch.
fn packet(leg: u32, frame: u32, sent: Duration) -> Vec<u8> {
    let mut payload = vec![0u8; PAYLOAD];
    payload[..4].copy_from_slice(&MAGIC.to_be_bytes());
    payload[4..8].copy_from_slice(&leg.to_be_bytes());
    payload[8..12].copy_from_slice(&frame.to_be_bytes());
    payload[12..20].copy_from_slice(&(sent.as_nanos() as u64).to_be_bytes());
    payload
}

/// The leg and send time of one of our payloads.
fn read(payload: &[u8]) -> Option<(u32, Duration)> {
    if payload.len() != PAYLOAD || payload[..4] != MAGIC.to_be_bytes() {
        return None;
    }
    let leg = u32::from_be_bytes(payload[4..8].try_into().ok()?);
    let nanos = u64::from_be_bytes(payload[12..20].try_into().ok()?);
    Some((leg, Duration::from_nanos(nanos)))
}
