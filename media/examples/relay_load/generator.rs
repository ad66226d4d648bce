//! The load: two phones per pair on loopback UDP, each sending 50 packets a
//! second of 172-byte G.711 RTP (12-byte header, 160 bytes of payload) to
//! the relay and receiving the other phone's. The payload carries a magic
//! word, the stream's number, its own sequence number and the send time, so
//! the receiver counts loss, misrouted packets and one-way latency whatever
//! the relay rewrote in the RTP header. Streams are spread evenly over the
//! 20 ms frame (one slot per millisecond), as independent phones would be.
//! One thread sends; a one-worker tokio runtime receives.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use tokio::sync::watch;

/// Marks our packets among stray RTCP reports the relays send to port + 1.
const MAGIC: u32 = 0x6B65_6675;
const HEADER: usize = 12;
pub const PACKET: usize = HEADER + 160;
const FRAME: Duration = Duration::from_millis(20);
const SLOTS: u32 = 20;

/// One phone: its socket, where it sends, and the stream it must receive.
pub struct Phone {
    pub socket: UdpSocket,
    pub send_to: SocketAddr,
    pub stream: u32,
    pub expects: u32,
}

/// When packets count: those sent in `[start, end)` since the epoch.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub epoch: Instant,
    pub start: Duration,
    pub end: Duration,
}

impl Window {
    fn holds(&self, sent: Duration) -> bool {
        sent >= self.start && sent < self.end
    }
}

/// What a run counted inside the window.
#[derive(Debug, Default)]
pub struct Counts {
    pub sent: u64,
    pub send_failed: u64,
    pub received: u64,
    pub misrouted: u64,
    /// One-way latencies in microseconds, sorted.
    pub latencies: Vec<u32>,
}

impl Counts {
    pub fn lost(&self) -> u64 {
        self.sent.saturating_sub(self.received)
    }

    pub fn percentile(&self, p: f64) -> u32 {
        if self.latencies.is_empty() {
            return 0;
        }
        let rank = ((self.latencies.len() - 1) as f64 * p).round() as usize;
        self.latencies[rank]
    }
}

/// Sends from every phone until the window's end, receives until `drain`
/// after it, and counts what was sent and received inside the window.
pub fn run(
    runtime: &tokio::runtime::Runtime,
    phones: Vec<Phone>,
    window: Window,
    drain: Duration,
) -> std::io::Result<Counts> {
    let (stop, stopped) = watch::channel(false);
    let mut senders = Vec::with_capacity(phones.len());
    let mut receivers = Vec::with_capacity(phones.len());
    for phone in phones {
        senders.push((phone.socket.try_clone()?, phone.send_to, phone.stream));
        let socket = {
            let _guard = runtime.enter();
            tokio::net::UdpSocket::from_std(phone.socket)?
        };
        receivers.push(runtime.spawn(receive(socket, phone.expects, window, stopped.clone())));
    }
    let sending = std::thread::spawn(move || send(senders, window));
    let mut counts = Counts::default();
    let (sent, send_failed) = sending
        .join()
        .map_err(|_| std::io::Error::other("the sender thread panicked"))?;
    counts.sent = sent;
    counts.send_failed = send_failed;
    std::thread::sleep(drain);
    let _ = stop.send(true);
    for receiver in receivers {
        let tally = runtime
            .block_on(receiver)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
        counts.received += tally.received;
        counts.misrouted += tally.misrouted;
        counts.latencies.extend(tally.latencies);
    }
    counts.latencies.sort_unstable();
    Ok(counts)
}

/// The sender thread: every millisecond, the streams of that slot send
/// their next packet. Returns (sent, failed) inside the window.
fn send(streams: Vec<(UdpSocket, SocketAddr, u32)>, window: Window) -> (u64, u64) {
    let mut slots: Vec<Vec<&(UdpSocket, SocketAddr, u32)>> = vec![Vec::new(); SLOTS as usize];
    for stream in &streams {
        slots[(stream.2 % SLOTS) as usize].push(stream);
    }
    let mut packet = [0u8; PACKET];
    packet[0] = 0x80; // RTP version 2, PCMU (payload type 0)
    packet[HEADER..HEADER + 4].copy_from_slice(&MAGIC.to_be_bytes());
    let (mut sent, mut failed) = (0, 0);
    for tick in 0u32.. {
        let due = Duration::from_millis(u64::from(tick));
        if due >= window.end {
            break;
        }
        if let Some(wait) = (window.epoch + due).checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        let sequence = tick / SLOTS;
        packet[2..4].copy_from_slice(&(sequence as u16).to_be_bytes());
        packet[4..8].copy_from_slice(&(sequence * 160).to_be_bytes());
        packet[HEADER + 8..HEADER + 12].copy_from_slice(&sequence.to_be_bytes());
        for (socket, destination, stream) in &slots[(tick % SLOTS) as usize] {
            packet[8..12].copy_from_slice(&stream.to_be_bytes());
            packet[HEADER + 4..HEADER + 8].copy_from_slice(&stream.to_be_bytes());
            let now = window.epoch.elapsed();
            packet[HEADER + 12..HEADER + 20]
                .copy_from_slice(&(now.as_nanos() as u64).to_be_bytes());
            let ok = socket.send_to(&packet, destination).is_ok();
            if window.holds(now) {
                sent += u64::from(ok);
                failed += u64::from(!ok);
            }
        }
    }
    (sent, failed)
}

/// One phone's receiving side.
#[derive(Debug, Default)]
struct Tally {
    received: u64,
    misrouted: u64,
    latencies: Vec<u32>,
}

async fn receive(
    socket: tokio::net::UdpSocket,
    expects: u32,
    window: Window,
    mut stopped: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut buffer = [0u8; 2_048];
    loop {
        tokio::select! {
            received = socket.recv_from(&mut buffer) => {
                let Ok((len, _)) = received else { continue };
                let now = window.epoch.elapsed();
                let Some((stream, sent)) = parse(&buffer[..len]) else { continue };
                if !window.holds(sent) {
                    continue;
                }
                if stream != expects {
                    tally.misrouted += 1;
                    continue;
                }
                tally.received += 1;
                let latency = now.saturating_sub(sent).as_micros();
                tally.latencies.push(u32::try_from(latency).unwrap_or(u32::MAX));
            }
            _ = stopped.changed() => break,
        }
    }
    tally
}

/// The stream and send time of one of our packets.
fn parse(packet: &[u8]) -> Option<(u32, Duration)> {
    if packet.len() != PACKET {
        return None;
    }
    let word = |at: usize| {
        u32::from_be_bytes(
            packet[HEADER + at..HEADER + at + 4]
                .try_into()
                .unwrap_or_default(),
        )
    };
    if word(0) != MAGIC {
        return None;
    }
    let nanos = u64::from_be_bytes(packet[HEADER + 12..HEADER + 20].try_into().ok()?);
    Some((word(4), Duration::from_nanos(nanos)))
}

/// How long one frame is, for rates in the report.
pub fn packets_per_second_per_stream() -> f64 {
    1.0 / FRAME.as_secs_f64()
}
