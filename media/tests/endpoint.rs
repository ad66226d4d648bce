#![allow(clippy::unwrap_used)]
//! Calls that end in kefu, through the tokio driver on loopback: a UDP
//! socket plays the phone, another an RTP-bleed attacker. The echo test
//! returns the phone's packets and nothing of the attacker's; a prompt
//! arrives as paced G.711 frames and its end is reported; a key press
//! interrupts a long prompt the way an IVR menu does.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kefu_media::driver::endpoint_task::{EndpointHandle, spawn_endpoint};
use kefu_media::driver::ports::PortAllocator;
use kefu_media::dtmf::DtmfDigit;
use kefu_media::dtmf::rfc4733::TelephoneEventGenerator;
use kefu_media::endpoint::{EndpointConfig, EndpointEvent};
use kefu_media::g711::G711;
use kefu_media::goertzel::energy_share;
use kefu_media::pcm::SampleRate;
use kefu_media::rtp::leg::{Latching, LegConfig};
use kefu_media::rtp::packet::{RtpHeader, RtpPacket};
use kefu_media::tone::{ToneGenerator, TonePlan};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const OUR_SSRC: u32 = 0xE0E0_0001;
const PHONE_SSRC: u32 = 0x1111;
const RATE: SampleRate = SampleRate::NARROWBAND;

async fn bind() -> UdpSocket {
    UdpSocket::bind((LOOPBACK, 0)).await.unwrap()
}

fn config(phone: &UdpSocket) -> EndpointConfig {
    EndpointConfig {
        leg: LegConfig {
            remote: Some(phone.local_addr().unwrap()),
            latching: Latching::Symmetric {
                relatch_window: Duration::ZERO,
            },
            telephone_event: Some(101),
            ..LegConfig::new(OUR_SSRC, 20_000, 3_000)
        },
        codec: G711::Pcmu.into(),
        payload_type: 0,
        inband_dtmf: true,
    }
}

fn audio(sequence: u16, fill: u8) -> Vec<u8> {
    RtpHeader {
        marker: false,
        payload_type: 0,
        sequence,
        timestamp: u32::from(sequence) * 160,
        ssrc: PHONE_SSRC,
    }
    .encode(&[fill; 160])
}

/// An RTP packet as received: header, payload and when it arrived.
struct Received {
    header: RtpHeader,
    payload: Vec<u8>,
    at: Instant,
}

async fn receive(socket: &UdpSocket, count: usize) -> Vec<Received> {
    let mut buffer = [0u8; 2_048];
    let mut received = Vec::new();
    while received.len() < count {
        let (len, _) = timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} packets arrived", received.len()))
            .unwrap();
        let packet = RtpPacket::parse(&buffer[..len]).unwrap();
        received.push(Received {
            header: packet.header,
            payload: packet.payload.to_vec(),
            at: Instant::now(),
        });
    }
    received
}

async fn assert_silent(socket: &UdpSocket, wait: Duration, what: &str) {
    let mut buffer = [0u8; 2_048];
    assert!(
        timeout(wait, socket.recv_from(&mut buffer)).await.is_err(),
        "{what}"
    );
}

fn assert_one_stream(received: &[Received]) {
    for packet in received {
        assert_eq!(packet.header.ssrc, OUR_SSRC);
    }
    for pair in received.windows(2) {
        let (previous, next) = (&pair[0].header, &pair[1].header);
        assert_eq!(next.sequence, previous.sequence.wrapping_add(1));
        assert!(next.timestamp.wrapping_sub(previous.timestamp) >= 160);
    }
}

async fn next_event(endpoint: &mut EndpointHandle) -> EndpointEvent {
    timeout(Duration::from_secs(5), endpoint.next_event())
        .await
        .expect("an event within 5 s")
        .expect("the task runs")
}

#[tokio::test]
async fn echo_returns_the_phones_packets_and_nothing_of_a_third_socket() {
    const PACKETS: u16 = 50;
    const ATTACK_PACKETS: u16 = 20;
    let phone = bind().await;
    let attacker = bind().await;
    let allocator = PortAllocator::new(LOOPBACK, "48000-48099".parse().unwrap());
    let pool_size = allocator.available();
    let endpoint = spawn_endpoint(config(&phone), allocator.allocate().unwrap()).unwrap();
    endpoint.set_echo(true).await.unwrap();
    let port = endpoint.rtp_addr();

    // The first packet latches the endpoint to the phone.
    phone.send_to(&audio(0, 0), port).await.unwrap();
    let mut echoed = receive(&phone, 1).await;
    for i in 1..PACKETS {
        phone.send_to(&audio(i, i as u8), port).await.unwrap();
        if i <= ATTACK_PACKETS {
            attacker.send_to(&audio(i, 0xBA), port).await.unwrap();
        }
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    echoed.extend(receive(&phone, usize::from(PACKETS) - 1).await);
    assert_one_stream(&echoed);
    assert_eq!(echoed[0].header.sequence, 20_000);
    for (i, packet) in echoed.iter().enumerate() {
        assert_eq!(
            packet.payload, [i as u8; 160],
            "packet for packet, in order"
        );
    }
    assert_silent(
        &phone,
        Duration::from_millis(300),
        "the attacker's packets are not echoed",
    )
    .await;
    assert_silent(
        &attacker,
        Duration::from_millis(50),
        "the attacker is never answered",
    )
    .await;

    let stats = endpoint.stop().await.unwrap();
    assert_eq!(stats.packets_received, u64::from(PACKETS));
    assert_eq!(stats.packets_sent, u64::from(PACKETS));
    assert_eq!(stats.foreign_dropped, u64::from(ATTACK_PACKETS));
    assert_eq!(stats.remote, Some(phone.local_addr().unwrap()));
    assert_eq!(
        allocator.available(),
        pool_size,
        "ports go back to the pool"
    );
}

#[tokio::test]
async fn a_prompt_arrives_as_paced_g711_frames_and_its_end_is_reported() {
    const FRAMES: usize = 25;
    let phone = bind().await;
    let allocator = PortAllocator::new(LOOPBACK, "48100-48199".parse().unwrap());
    let mut endpoint = spawn_endpoint(config(&phone), allocator.allocate().unwrap()).unwrap();
    let mut clip = vec![0; FRAMES * RATE.frame_len()];
    ToneGenerator::new(TonePlan::steady(&[440.0], -10.0), RATE).fill(&mut clip);
    let clip: Arc<[i16]> = clip.into();

    let asked = Instant::now();
    endpoint.play(Arc::clone(&clip)).await.unwrap();
    let received = receive(&phone, FRAMES).await;
    assert_eq!(
        next_event(&mut endpoint).await,
        EndpointEvent::PlaybackFinished
    );
    assert_one_stream(&received);
    for (i, packet) in received.iter().enumerate() {
        assert_eq!(packet.header.marker, i == 0);
        assert_eq!(packet.header.payload_type, 0);
        assert_eq!(packet.payload.len(), 160);
        assert_eq!(
            packet.header.timestamp,
            received[0].header.timestamp + 160 * i as u32
        );
    }
    // Paced, never ahead of time: the last frame leaves 24 frames after the first.
    assert!(received[FRAMES - 1].at - asked >= Duration::from_millis(480));
    let heard: Vec<i16> = received
        .iter()
        .flat_map(|packet| G711::Pcmu.decode(&packet.payload))
        .collect();
    assert_eq!(heard, G711::Pcmu.decode(&G711::Pcmu.encode(&clip)));
    assert!(energy_share(&heard, 440.0, RATE) > 0.95);
    assert_silent(
        &phone,
        Duration::from_millis(200),
        "nothing is sent after the prompt",
    )
    .await;
    let stats = endpoint.stop().await.unwrap();
    assert_eq!(stats.packets_sent, FRAMES as u64);
}

#[tokio::test]
async fn a_key_press_is_reported_and_stop_playing_cuts_the_prompt() {
    let phone = bind().await;
    let allocator = PortAllocator::new(LOOPBACK, "48200-48299".parse().unwrap());
    let mut endpoint = spawn_endpoint(config(&phone), allocator.allocate().unwrap()).unwrap();
    let port = endpoint.rtp_addr();
    endpoint.play(vec![1_000; 8_000 * 30].into()).await.unwrap();
    receive(&phone, 5).await;

    let packets = TelephoneEventGenerator::new(RATE).packets(
        DtmfDigit::D3,
        Duration::from_millis(100),
        1,
        16_000,
    );
    for scheduled in packets {
        let bytes = RtpHeader {
            marker: scheduled.packet.marker,
            payload_type: 101,
            sequence: scheduled.packet.sequence,
            timestamp: scheduled.packet.timestamp,
            ssrc: PHONE_SSRC,
        }
        .encode(&scheduled.packet.event.to_bytes());
        phone.send_to(&bytes, port).await.unwrap();
    }
    let EndpointEvent::Dtmf(press) = next_event(&mut endpoint).await else {
        panic!("a key press, not the end of the 30 s prompt");
    };
    assert_eq!(press.digit, DtmfDigit::D3);
    assert_eq!(press.duration, Duration::from_millis(100));

    endpoint.stop_playing().await.unwrap();
    // Frames already on their way may still arrive; then the prompt is over.
    let mut buffer = [0u8; 2_048];
    while timeout(Duration::from_millis(100), phone.recv_from(&mut buffer))
        .await
        .is_ok()
    {}
    assert_silent(&phone, Duration::from_millis(300), "the prompt stops").await;
    let stats = endpoint.stop().await.unwrap();
    assert!(stats.packets_sent < 8_000 * 30 / 160);
}

#[tokio::test]
async fn a_released_endpoint_hands_its_ports_to_a_relay_and_the_phone_keeps_its_address() {
    let phone = bind().await;
    let agent = bind().await;
    let allocator = PortAllocator::new(LOOPBACK, "48200-48299".parse().unwrap());
    let endpoint = spawn_endpoint(config(&phone), allocator.allocate().unwrap()).unwrap();
    let caller_side = endpoint.rtp_addr();
    let (_, ports) = endpoint.release().await.unwrap();
    assert_eq!(
        ports.rtp.local_addr().unwrap(),
        caller_side,
        "the same port"
    );
    assert_eq!(allocator.available(), 49, "still leased");

    let leg = |ssrc, remote| LegConfig {
        remote: Some(remote),
        ..LegConfig::new(ssrc, 1, 1)
    };
    let relay = kefu_media::driver::relay_task::spawn_relay(
        kefu_media::relay::RelayConfig {
            caller: leg(0xCA11, phone.local_addr().unwrap()),
            agent: leg(0xA6E7, agent.local_addr().unwrap()),
            caller_to_agent: kefu_media::relay::PayloadMap::Identity,
            agent_to_caller: kefu_media::relay::PayloadMap::Identity,
        },
        ports,
        allocator.allocate().unwrap(),
    )
    .unwrap();
    assert_eq!(relay.caller_rtp_addr(), caller_side);
    phone.send_to(&audio(1, 7), caller_side).await.unwrap();
    let forwarded = receive(&agent, 1).await;
    assert_eq!(forwarded.len(), 1, "the phone's packet reached the agent");
    relay.stop().await.unwrap();
    assert_eq!(allocator.available(), 50, "both pairs back in the pool");
}
