#![allow(clippy::unwrap_used)]
//! A call relayed on loopback through the tokio driver: two UDP sockets play
//! the caller's and the agent's phones, a third plays an RTP-bleed attacker
//! aiming at the relay's caller port. A second call carries RFC 4733 key
//! presses with different payload types on each side, and a third is
//! transferred to another agent phone.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use kefu_media::driver::ports::PortAllocator;
use kefu_media::driver::relay_task::spawn_relay;
use kefu_media::dtmf::rfc4733::TelephoneEvent;
use kefu_media::relay::{PayloadMap, RelayConfig, Side};
use kefu_media::rtp::leg::{Latching, LegConfig};
use kefu_media::rtp::packet::{RtpHeader, RtpPacket};
use kefu_media::rtp::rtcp::RtcpReport;
use tokio::net::UdpSocket;
use tokio::time::timeout;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const PACKETS: u16 = 200;
const ATTACK_PACKETS: u16 = 50;
const CALLER_LEG_SSRC: u32 = 0xCA11_0001;
const AGENT_LEG_SSRC: u32 = 0xA6E7_0001;
const CALLER_PAYLOAD: u8 = 0xCA;
const AGENT_PAYLOAD: u8 = 0xA6;
const ATTACK_PAYLOAD: u8 = 0xBA;

fn leg(ssrc: u32, initial_sequence: u16, remote: SocketAddr) -> LegConfig {
    LegConfig {
        remote: Some(remote),
        latching: Latching::Symmetric {
            relatch_window: Duration::ZERO,
        },
        telephone_event: Some(101),
        ..LegConfig::new(ssrc, initial_sequence, 7_000)
    }
}

fn packet(ssrc: u32, sequence: u16, fill: u8) -> Vec<u8> {
    RtpHeader {
        marker: false,
        payload_type: 0,
        sequence,
        timestamp: u32::from(sequence).wrapping_mul(160),
        ssrc,
    }
    .encode(&[fill; 160])
}

async fn bind() -> UdpSocket {
    UdpSocket::bind((LOOPBACK, 0)).await.unwrap()
}

/// Receives `count` RTP packets and returns their headers and first payload byte.
async fn receive(socket: &UdpSocket, count: u16) -> Vec<(RtpHeader, u8)> {
    let mut buffer = [0u8; 2_048];
    let mut received = Vec::new();
    while received.len() < usize::from(count) {
        let (len, _) = timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("only {} of {count} packets arrived", received.len()))
            .unwrap();
        let parsed = RtpPacket::parse(&buffer[..len]).unwrap();
        received.push((parsed.header, parsed.payload[0]));
    }
    received
}

fn assert_one_continuous_stream(received: &[(RtpHeader, u8)], ssrc: u32, fill: u8) {
    for (header, first_byte) in received {
        assert_eq!(header.ssrc, ssrc);
        assert_eq!(*first_byte, fill, "a packet from another source leaked");
    }
    for pair in received.windows(2) {
        assert_eq!(pair[1].0.sequence, pair[0].0.sequence.wrapping_add(1));
        assert!(pair[1].0.timestamp.wrapping_sub(pair[0].0.timestamp) >= 160);
    }
}

#[tokio::test]
async fn relay_forwards_both_ways_with_rewriting_and_drops_a_third_source() {
    let caller = bind().await;
    let agent = bind().await;
    let attacker = bind().await;
    let allocator = PortAllocator::new(LOOPBACK, "44000-44999".parse().unwrap());
    let pool_size = allocator.available();
    let relay = spawn_relay(
        RelayConfig {
            // The agent leg's sequence wraps through zero during the call.
            caller: leg(CALLER_LEG_SSRC, 1_000, caller.local_addr().unwrap()),
            agent: leg(AGENT_LEG_SSRC, 65_450, agent.local_addr().unwrap()),
            caller_to_agent: PayloadMap::Identity,
            agent_to_caller: PayloadMap::Identity,
        },
        allocator.allocate().unwrap(),
        allocator.allocate().unwrap(),
    )
    .unwrap();
    assert_eq!(allocator.available(), pool_size - 2);
    let caller_port = relay.caller_rtp_addr();
    let agent_port = relay.agent_rtp_addr();

    for i in 0..PACKETS {
        // Halfway the caller's phone changes SSRC and numbering (a re-INVITE).
        let (ssrc, sequence) = if i < PACKETS / 2 {
            (0x1111, i)
        } else {
            (0x2222, 30_000 + i)
        };
        caller
            .send_to(&packet(ssrc, sequence, CALLER_PAYLOAD), caller_port)
            .await
            .unwrap();
        agent
            .send_to(&packet(0x3333, 500 + i, AGENT_PAYLOAD), agent_port)
            .await
            .unwrap();
        if (100..100 + ATTACK_PACKETS).contains(&i) {
            attacker
                .send_to(&packet(0x6666, i, ATTACK_PAYLOAD), caller_port)
                .await
                .unwrap();
        }
        if i % 10 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    let report = RtcpReport {
        ssrc: 0x1111,
        sender: None,
        blocks: vec![],
    }
    .encode("caller");
    let mut caller_rtcp_port = caller_port;
    caller_rtcp_port.set_port(caller_port.port() + 1);
    caller.send_to(&report, caller_rtcp_port).await.unwrap();

    let at_agent = receive(&agent, PACKETS).await;
    let at_caller = receive(&caller, PACKETS).await;
    assert_one_continuous_stream(&at_agent, AGENT_LEG_SSRC, CALLER_PAYLOAD);
    assert_one_continuous_stream(&at_caller, CALLER_LEG_SSRC, AGENT_PAYLOAD);
    assert_eq!(at_agent[0].0.sequence, 65_450);
    assert_eq!(at_agent[199].0.sequence, 65_450u16.wrapping_add(199));
    assert_eq!(at_caller[0].0.sequence, 1_000);

    let mut buffer = [0u8; 2_048];
    assert!(
        timeout(Duration::from_millis(300), agent.recv_from(&mut buffer))
            .await
            .is_err(),
        "nothing beyond the caller's packets reaches the agent"
    );
    assert!(
        timeout(Duration::from_millis(50), attacker.recv_from(&mut buffer))
            .await
            .is_err(),
        "the attacker is never answered"
    );

    let live = timeout(Duration::from_secs(3), async {
        loop {
            let stats = relay.stats();
            if stats.caller.foreign_dropped == u64::from(ATTACK_PACKETS) {
                return stats;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await
    .expect("the live statistics show the dropped packets");
    assert_eq!(live.agent.packets_sent, u64::from(PACKETS));

    let stats = relay.stop().await.unwrap();
    assert_eq!(stats.caller.packets_received, u64::from(PACKETS));
    assert_eq!(stats.caller.foreign_dropped, u64::from(ATTACK_PACKETS));
    assert_eq!(stats.caller.source_changes, 1);
    assert_eq!(stats.caller.packets_lost, 0);
    assert_eq!(stats.caller.reports_received, 1);
    assert_eq!(stats.caller.remote, Some(caller.local_addr().unwrap()));
    assert_eq!(stats.agent.packets_received, u64::from(PACKETS));
    assert_eq!(stats.agent.foreign_dropped, 0);
    assert_eq!(stats.agent.packets_sent, u64::from(PACKETS));
    assert_eq!(stats.caller.packets_sent, u64::from(PACKETS));
    assert_eq!(
        allocator.available(),
        pool_size,
        "ports go back to the pool"
    );
}

#[tokio::test]
async fn key_presses_are_relayed_with_mapped_payload_type_and_reported() {
    let caller = bind().await;
    let agent = bind().await;
    let allocator = PortAllocator::new(LOOPBACK, "45000-45999".parse().unwrap());
    let mut relay = spawn_relay(
        RelayConfig {
            caller: LegConfig {
                telephone_event: Some(96),
                ..leg(CALLER_LEG_SSRC, 0, caller.local_addr().unwrap())
            },
            agent: leg(AGENT_LEG_SSRC, 0, agent.local_addr().unwrap()),
            caller_to_agent: PayloadMap::Mapped(vec![(0, 0), (96, 101)]),
            agent_to_caller: PayloadMap::Mapped(vec![(0, 0), (101, 96)]),
        },
        allocator.allocate().unwrap(),
        allocator.allocate().unwrap(),
    )
    .unwrap();
    // The agent presses 7 for 60 ms: three updates, then three end packets.
    let durations = [
        (160, false),
        (320, false),
        (480, false),
        (480, true),
        (480, true),
        (480, true),
    ];
    for (i, (duration, end)) in durations.into_iter().enumerate() {
        let event = TelephoneEvent {
            event: 7,
            end,
            volume: 10,
            duration,
        };
        let bytes = RtpHeader {
            marker: i == 0,
            payload_type: 101,
            sequence: 40 + i as u16,
            timestamp: 8_000,
            ssrc: 0x3333,
        }
        .encode(&event.to_bytes());
        agent.send_to(&bytes, relay.agent_rtp_addr()).await.unwrap();
    }

    let at_caller = receive(&caller, 6).await;
    assert!(
        at_caller
            .iter()
            .all(|(header, _)| header.payload_type == 96)
    );
    assert!(
        at_caller
            .iter()
            .all(|(header, _)| header.timestamp == at_caller[0].0.timestamp)
    );
    assert!(at_caller[0].0.marker);
    let (side, press) = timeout(Duration::from_secs(2), relay.next_dtmf())
        .await
        .unwrap()
        .unwrap();
    assert_eq!((side, press.digit.as_char()), (Side::Agent, '7'));
    assert_eq!(press.duration, Duration::from_millis(60));
    let stats = relay.stop().await.unwrap();
    assert_eq!(stats.caller.packets_sent, 6);
}

#[tokio::test]
async fn after_a_transfer_the_new_phone_is_relayed_and_the_old_one_dropped() {
    let caller = bind().await;
    let first_agent = bind().await;
    let second_agent = bind().await;
    let allocator = PortAllocator::new(LOOPBACK, "46000-46999".parse().unwrap());
    let relay = spawn_relay(
        RelayConfig {
            caller: leg(CALLER_LEG_SSRC, 0, caller.local_addr().unwrap()),
            agent: leg(AGENT_LEG_SSRC, 0, first_agent.local_addr().unwrap()),
            caller_to_agent: PayloadMap::Identity,
            agent_to_caller: PayloadMap::Identity,
        },
        allocator.allocate().unwrap(),
        allocator.allocate().unwrap(),
    )
    .unwrap();
    let agent_port = relay.agent_rtp_addr();
    for i in 0..10 {
        first_agent
            .send_to(&packet(0x1000, i, AGENT_PAYLOAD), agent_port)
            .await
            .unwrap();
    }
    let before = receive(&caller, 10).await;

    relay
        .repoint(Side::Agent, Some(second_agent.local_addr().unwrap()))
        .await
        .unwrap();
    for i in 0..10 {
        second_agent
            .send_to(&packet(0x2000, 900 + i, ATTACK_PAYLOAD), agent_port)
            .await
            .unwrap();
    }
    let after = receive(&caller, 10).await;
    for i in 0..5 {
        first_agent
            .send_to(&packet(0x1000, 10 + i, AGENT_PAYLOAD), agent_port)
            .await
            .unwrap();
    }
    caller
        .send_to(&packet(0x3000, 1, CALLER_PAYLOAD), relay.caller_rtp_addr())
        .await
        .unwrap();
    let at_new_phone = receive(&second_agent, 1).await;
    assert_eq!(at_new_phone[0].1, CALLER_PAYLOAD);

    let stream: Vec<_> = before.iter().chain(&after).copied().collect();
    assert_one_continuous_stream(&stream[..10], CALLER_LEG_SSRC, AGENT_PAYLOAD);
    assert_one_continuous_stream(&stream[10..], CALLER_LEG_SSRC, ATTACK_PAYLOAD);
    assert_eq!(stream[10].0.sequence, stream[9].0.sequence.wrapping_add(1));
    let mut buffer = [0u8; 2_048];
    assert!(
        timeout(Duration::from_millis(300), caller.recv_from(&mut buffer))
            .await
            .is_err(),
        "the old phone is not heard after the transfer"
    );
    let stats = relay.stop().await.unwrap();
    assert_eq!(stats.agent.foreign_dropped, 5);
    assert_eq!(stats.agent.remote, Some(second_agent.local_addr().unwrap()));
}

#[tokio::test]
async fn concurrent_calls_from_one_pool_never_hear_each_other() {
    const CALLS: u8 = 10;
    const CALL_PACKETS: u16 = 100;
    let allocator = PortAllocator::new(LOOPBACK, "47000-47999".parse().unwrap());
    let mut calls = Vec::new();
    for call in 0..CALLS {
        let caller = bind().await;
        let agent = bind().await;
        let relay = spawn_relay(
            RelayConfig {
                caller: leg(
                    CALLER_LEG_SSRC + u32::from(call),
                    0,
                    caller.local_addr().unwrap(),
                ),
                agent: leg(
                    AGENT_LEG_SSRC + u32::from(call),
                    0,
                    agent.local_addr().unwrap(),
                ),
                caller_to_agent: PayloadMap::Identity,
                agent_to_caller: PayloadMap::Identity,
            },
            allocator.allocate().unwrap(),
            allocator.allocate().unwrap(),
        )
        .unwrap();
        calls.push((call, caller, agent, relay));
    }
    let ports: std::collections::HashSet<_> = calls
        .iter()
        .flat_map(|(_, _, _, relay)| [relay.caller_rtp_addr(), relay.agent_rtp_addr()])
        .collect();
    assert_eq!(
        ports.len(),
        2 * usize::from(CALLS),
        "every leg has its own port"
    );

    for i in 0..CALL_PACKETS {
        for (call, caller, agent, relay) in &calls {
            caller
                .send_to(&packet(1, i, *call), relay.caller_rtp_addr())
                .await
                .unwrap();
            agent
                .send_to(&packet(2, i, 100 + *call), relay.agent_rtp_addr())
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    for (call, caller, agent, relay) in calls {
        let at_agent = receive(&agent, CALL_PACKETS).await;
        let at_caller = receive(&caller, CALL_PACKETS).await;
        assert_one_continuous_stream(&at_agent, AGENT_LEG_SSRC + u32::from(call), call);
        assert_one_continuous_stream(&at_caller, CALLER_LEG_SSRC + u32::from(call), 100 + call);
        let stats = relay.stop().await.unwrap();
        assert_eq!(stats.caller.packets_received, u64::from(CALL_PACKETS));
        assert_eq!(stats.agent.packets_received, u64::from(CALL_PACKETS));
    }
    assert_eq!(allocator.available(), 500);
}
