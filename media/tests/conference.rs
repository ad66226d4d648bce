#![allow(clippy::unwrap_used)]
//! A supervised call through the tokio driver on loopback: three UDP
//! sockets play the caller's, the agent's and the supervisor's phones, each
//! speaking its own tone as paced µ-law (caller 440 Hz, agent 1000 Hz,
//! supervisor 1800 Hz), and what each phone receives is decoded and checked
//! with Goertzel. Monitor, whisper and barge, switched live, decide who
//! hears whom, while the recording tap keeps receiving the caller and the
//! agent. A relayed call becomes a conference on the relay's own ports when
//! the supervisor joins, and a relay again when the supervisor leaves.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_media::driver::conference_task::{
    ConferenceHandle, ConferenceLeg, TapSink, spawn_conference,
};
use kefu_media::driver::ports::{PortAllocator, PortPair};
use kefu_media::driver::relay_task::spawn_relay;
use kefu_media::g711::G711;
use kefu_media::goertzel::energy_share;
use kefu_media::mixer::SupervisorMode;
use kefu_media::pcm::{FRAME_DURATION, SampleRate};
use kefu_media::relay::{PayloadMap, RelayConfig, Side};
use kefu_media::rtp::leg::{Latching, LegConfig};
use kefu_media::rtp::packet::{RtpHeader, RtpPacket};
use kefu_media::tone::{ToneGenerator, TonePlan};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const RATE: SampleRate = SampleRate::NARROWBAND;
const CALLER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 1_000.0;
const SUPERVISOR_HZ: f64 = 1_800.0;
const TONES_HZ: [f64; 3] = [CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ];
/// The SSRCs kefu sends to the caller, the agent and the supervisor with.
const LEG_SSRCS: [u32; 3] = [0xC0F0_0000, 0xC0F0_0001, 0xC0F0_0002];
/// How long after a change of matrix the jitter buffers and the fade are
/// surely past, before what a phone hears is checked.
const SETTLE: Duration = Duration::from_millis(300);

/// A phone: its socket and the tone it speaks.
struct Phone {
    socket: Arc<UdpSocket>,
    hz: f64,
}

impl Phone {
    async fn new(hz: f64) -> Self {
        let socket = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
        Self {
            socket: Arc::new(socket),
            hz,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Speaks the tone into `to` until `until`, one µ-law frame each 20 ms
    /// on an absolute schedule, as a sound card does.
    fn speak(&self, to: SocketAddr, ssrc: u32, until: Instant) -> JoinHandle<()> {
        let socket = Arc::clone(&self.socket);
        let mut voice = ToneGenerator::new(TonePlan::steady(&[self.hz], -12.0), RATE);
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            for frame in 0u16.. {
                let due = start + FRAME_DURATION * u32::from(frame);
                if due.into_std() >= until {
                    break;
                }
                tokio::time::sleep_until(due).await;
                let packet = RtpHeader {
                    marker: frame == 0,
                    payload_type: 0,
                    sequence: frame,
                    timestamp: u32::from(frame) * 160,
                    ssrc,
                }
                .encode(&G711::Pcmu.encode(&voice.next_frame()));
                socket.send_to(&packet, to).await.unwrap();
            }
        })
    }

    /// What the phone receives until `until`.
    fn listen(&self, until: Instant) -> JoinHandle<Vec<Received>> {
        let socket = Arc::clone(&self.socket);
        tokio::spawn(async move {
            let mut buffer = [0u8; 2_048];
            let mut received = Vec::new();
            let deadline = tokio::time::Instant::from_std(until);
            while let Ok(Ok((len, _))) =
                tokio::time::timeout_at(deadline, socket.recv_from(&mut buffer)).await
            {
                let packet = RtpPacket::parse(&buffer[..len]).unwrap();
                received.push(Received {
                    at: Instant::now(),
                    header: packet.header,
                    pcm: G711::Pcmu.decode(packet.payload),
                });
            }
            received
        })
    }
}

/// An RTP packet a phone received: when, its header, its decoded audio.
struct Received {
    at: Instant,
    header: RtpHeader,
    pcm: Vec<i16>,
}

/// The tones heard in what arrived between `from` and `to`.
fn tones_heard(received: &[Received], from: Instant, to: Instant) -> Vec<f64> {
    let pcm: Vec<i16> = received
        .iter()
        .filter(|packet| (from..to).contains(&packet.at))
        .flat_map(|packet| packet.pcm.iter().copied())
        .collect();
    assert!(pcm.len() >= 160 * 10, "only {} samples heard", pcm.len());
    TONES_HZ
        .into_iter()
        .filter(|&hz| {
            let share = energy_share(&pcm, hz, RATE);
            assert!(
                !(0.05..=0.3).contains(&share),
                "ambiguous share {share} at {hz} Hz"
            );
            share > 0.3
        })
        .collect()
}

/// One steady stream with kefu's SSRC for that leg.
fn assert_one_stream(received: &[Received], ssrc: u32) {
    assert!(received.iter().all(|packet| packet.header.ssrc == ssrc));
    for pair in received.windows(2) {
        let (previous, next) = (&pair[0].header, &pair[1].header);
        assert_eq!(next.sequence, previous.sequence.wrapping_add(1));
        assert!(next.timestamp.wrapping_sub(previous.timestamp) >= 160);
    }
}

fn leg_config(ssrc: u32, remote: SocketAddr) -> LegConfig {
    LegConfig {
        remote: Some(remote),
        latching: Latching::Symmetric {
            relatch_window: Duration::ZERO,
        },
        telephone_event: Some(101),
        ..LegConfig::new(ssrc, 1_000, 5_000)
    }
}

fn conference_leg(participant: usize, phone: &Phone, ports: PortPair) -> ConferenceLeg {
    ConferenceLeg {
        config: leg_config(LEG_SSRCS[participant], phone.addr()),
        codec: G711::Pcmu.into(),
        payload_type: 0,
        ports,
    }
}

/// The three phones speak into `conference` and listen until `until`.
fn talk(
    phones: &[Phone; 3],
    conference: &ConferenceHandle,
    until: Instant,
) -> Vec<JoinHandle<Vec<Received>>> {
    for (participant, phone) in phones.iter().enumerate() {
        let to = conference.rtp_addr(participant).unwrap();
        phone.speak(to, 0x1000 + participant as u32, until);
    }
    phones
        .iter()
        .map(|phone| phone.listen(until + Duration::from_millis(100)))
        .collect()
}

#[tokio::test]
async fn monitor_whisper_and_barge_switched_live_decide_who_hears_whom_and_the_tap_goes_on() {
    const PHASE: Duration = Duration::from_millis(1_000);
    let phones = [
        Phone::new(CALLER_HZ).await,
        Phone::new(AGENT_HZ).await,
        Phone::new(SUPERVISOR_HZ).await,
    ];
    let allocator = PortAllocator::new(LOOPBACK, "49000-49099".parse().unwrap());
    let pool_size = allocator.available();
    let tapped = Arc::new(Mutex::new(Vec::new()));
    let sink: TapSink = {
        let tapped = Arc::clone(&tapped);
        Box::new(move |side, at, pcm: &[i16]| {
            tapped.lock().unwrap().push((side, at, pcm.to_vec()));
        })
    };
    let legs = phones
        .iter()
        .enumerate()
        .map(|(participant, phone)| {
            conference_leg(participant, phone, allocator.allocate().unwrap())
        })
        .collect();
    let conference =
        spawn_conference(legs, SupervisorMode::Monitor.hear_matrix(), Some(sink)).unwrap();
    assert_eq!(conference.participants(), 3);
    assert_eq!(conference.rtp_addr(3), None);

    let start = Instant::now();
    let end = start + 3 * PHASE;
    let listening = talk(&phones, &conference, end);
    tokio::time::sleep(PHASE).await;
    let whisper = Instant::now();
    conference
        .set_matrix(SupervisorMode::Whisper.hear_matrix())
        .await
        .unwrap();
    tokio::time::sleep(PHASE).await;
    let barge = Instant::now();
    conference
        .set_matrix(SupervisorMode::Barge.hear_matrix())
        .await
        .unwrap();
    let mut heard = Vec::new();
    for listener in listening {
        heard.push(listener.await.unwrap());
    }
    let [caller, agent, supervisor] = &heard[..] else {
        unreachable!("three phones")
    };

    let monitor = (start + SETTLE, whisper);
    assert_eq!(tones_heard(caller, monitor.0, monitor.1), [AGENT_HZ]);
    assert_eq!(tones_heard(agent, monitor.0, monitor.1), [CALLER_HZ]);
    assert_eq!(
        tones_heard(supervisor, monitor.0, monitor.1),
        [CALLER_HZ, AGENT_HZ]
    );
    let whisper = (whisper + SETTLE, barge);
    assert_eq!(tones_heard(caller, whisper.0, whisper.1), [AGENT_HZ]);
    assert_eq!(
        tones_heard(agent, whisper.0, whisper.1),
        [CALLER_HZ, SUPERVISOR_HZ]
    );
    assert_eq!(
        tones_heard(supervisor, whisper.0, whisper.1),
        [CALLER_HZ, AGENT_HZ]
    );
    let barge = (barge + SETTLE, end);
    assert_eq!(
        tones_heard(caller, barge.0, barge.1),
        [AGENT_HZ, SUPERVISOR_HZ]
    );
    assert_eq!(
        tones_heard(agent, barge.0, barge.1),
        [CALLER_HZ, SUPERVISOR_HZ]
    );
    assert_eq!(
        tones_heard(supervisor, barge.0, barge.1),
        [CALLER_HZ, AGENT_HZ]
    );
    for (received, ssrc) in heard.iter().zip(LEG_SSRCS) {
        assert!(received.len() >= 140, "{} frames in 3 s", received.len());
        assert_one_stream(received, ssrc);
    }

    let tapped = std::mem::take(&mut *tapped.lock().unwrap());
    for (side, hz) in [(Side::Caller, CALLER_HZ), (Side::Agent, AGENT_HZ)] {
        let frames: Vec<_> = tapped.iter().filter(|(s, _, _)| *s == side).collect();
        assert!(
            frames.len() >= 140,
            "{} {side:?} frames tapped",
            frames.len()
        );
        let pcm: Vec<i16> = frames
            .iter()
            .flat_map(|(_, _, pcm)| pcm.iter().copied())
            .collect();
        assert!(
            energy_share(&pcm, hz, RATE) > 0.9,
            "{side:?} is its own tone"
        );
        assert!(frames.windows(2).all(|pair| pair[0].1 < pair[1].1));
    }

    let stats = conference.stats();
    assert_eq!(stats.len(), 3);
    assert!(
        stats
            .iter()
            .all(|participant| participant.leg.packets_received > 0)
    );
    let final_stats = conference.stop().await.unwrap();
    assert_eq!(final_stats.len(), 3);
    for (participant, stats) in final_stats.iter().enumerate() {
        assert_eq!(stats.remote, Some(phones[participant].addr()));
        assert!(stats.packets_received >= 140 && stats.packets_sent >= 140);
        assert_eq!(stats.malformed + stats.foreign_dropped, 0);
    }
    assert_eq!(allocator.available(), pool_size, "the ports are back");
}

#[tokio::test]
async fn a_relayed_call_becomes_a_conference_on_its_own_ports_and_a_relay_again() {
    let phones = [
        Phone::new(CALLER_HZ).await,
        Phone::new(AGENT_HZ).await,
        Phone::new(SUPERVISOR_HZ).await,
    ];
    let allocator = PortAllocator::new(LOOPBACK, "49100-49199".parse().unwrap());
    let pool_size = allocator.available();
    let relay_config = || RelayConfig {
        caller: leg_config(0xCA11, phones[0].addr()),
        agent: leg_config(0xA6E7, phones[1].addr()),
        caller_to_agent: PayloadMap::Identity,
        agent_to_caller: PayloadMap::Identity,
    };
    let relay = spawn_relay(
        relay_config(),
        allocator.allocate().unwrap(),
        allocator.allocate().unwrap(),
    )
    .unwrap();
    let relay_addrs = [relay.caller_rtp_addr(), relay.agent_rtp_addr()];
    let relayed = relay_round_trip(&phones, relay_addrs).await;
    assert_eq!(relayed.ssrc, 0xA6E7, "relayed on the agent's leg");

    // The supervisor joins: the relay hands its ports to the conference.
    let (relay_stats, [caller_ports, agent_ports]) = relay.release().await.unwrap();
    assert_eq!(relay_stats.caller.packets_received, 1);
    assert_eq!(allocator.available(), pool_size - 2, "released, not freed");
    let legs = vec![
        conference_leg(0, &phones[0], caller_ports),
        conference_leg(1, &phones[1], agent_ports),
        conference_leg(2, &phones[2], allocator.allocate().unwrap()),
    ];
    let conference = spawn_conference(legs, SupervisorMode::Monitor.hear_matrix(), None).unwrap();
    assert_eq!(conference.rtp_addr(0), Some(relay_addrs[0]));
    assert_eq!(conference.rtp_addr(1), Some(relay_addrs[1]));
    let start = Instant::now();
    let end = start + Duration::from_millis(800);
    let listening = talk(&phones, &conference, end);
    let mut heard = Vec::new();
    for listener in listening {
        heard.push(listener.await.unwrap());
    }
    let from = start + SETTLE;
    assert_eq!(tones_heard(&heard[0], from, end), [AGENT_HZ]);
    assert_eq!(tones_heard(&heard[2], from, end), [CALLER_HZ, AGENT_HZ]);

    // The supervisor leaves: the caller and the agent are relayed again.
    let mut released = conference.release().await.unwrap().into_iter();
    let (caller_stats, caller_ports) = released.next().unwrap();
    let (_, agent_ports) = released.next().unwrap();
    assert!(caller_stats.packets_received >= 30);
    drop(released);
    assert_eq!(
        allocator.available(),
        pool_size - 2,
        "the supervisor's are free"
    );
    let relay = spawn_relay(relay_config(), caller_ports, agent_ports).unwrap();
    assert_eq!(
        [relay.caller_rtp_addr(), relay.agent_rtp_addr()],
        relay_addrs
    );
    // Conference frames still in flight are read past.
    tokio::time::sleep(Duration::from_millis(100)).await;
    drain(&phones[1].socket).await;
    let relayed = relay_round_trip(&phones, relay_addrs).await;
    assert_eq!(relayed.ssrc, 0xA6E7);
    relay.stop().await.unwrap();
    assert_eq!(allocator.available(), pool_size);
}

/// The caller's phone sends one packet to the relay; the agent's phone
/// receives it, and its header is returned.
async fn relay_round_trip(phones: &[Phone; 3], relay: [SocketAddr; 2]) -> RtpHeader {
    let packet = RtpHeader {
        marker: false,
        payload_type: 0,
        sequence: 7,
        timestamp: 7 * 160,
        ssrc: 0x1000,
    }
    .encode(&[0xAB; 160]);
    phones[0].socket.send_to(&packet, relay[0]).await.unwrap();
    let mut buffer = [0u8; 2_048];
    let (len, from) = timeout(
        Duration::from_secs(5),
        phones[1].socket.recv_from(&mut buffer),
    )
    .await
    .expect("the packet is relayed")
    .unwrap();
    assert_eq!(from, relay[1]);
    let received = RtpPacket::parse(&buffer[..len]).unwrap();
    assert_eq!(received.payload, [0xAB; 160]);
    received.header
}

/// Reads whatever waits on `socket`.
async fn drain(socket: &UdpSocket) {
    let mut buffer = [0u8; 2_048];
    while timeout(Duration::from_millis(50), socket.recv_from(&mut buffer))
        .await
        .is_ok()
    {}
}
