//! Fuzz target: any bytes go through everything the relay does with a
//! datagram — as RTP on either side's RTP port (which also takes rtcp-mux
//! RTCP and telephone-events), as RTCP on either RTCP port — then the
//! relay's timers and reports run; nothing may panic.

#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use kefu_media::pcm::SampleRate;
use kefu_media::relay::{PayloadMap, Relay, RelayConfig, Side};
use kefu_media::rtp::leg::{DEFAULT_RTCP_INTERVAL, Latching, LegConfig};
use kefu_media::rtp::packet::RtpPacket;
use kefu_media::rtp::rtcp::parse_compound;
use libfuzzer_sys::fuzz_target;

fn leg(ssrc: u32, remote: SocketAddr) -> LegConfig {
    LegConfig {
        ssrc,
        initial_sequence: 65_535,
        initial_timestamp: u32::MAX,
        clock_rate: SampleRate::NARROWBAND,
        cname: "fuzz".to_owned(),
        remote: Some(remote),
        latching: Latching::Symmetric {
            relatch_window: Duration::ZERO,
        },
        rtcp_interval: DEFAULT_RTCP_INTERVAL,
        rtcp_mux: true,
        telephone_event: Some(101),
    }
}

fuzz_target!(|data: &[u8]| {
    let _ = RtpPacket::parse(data);
    let _ = parse_compound(data);
    let peer = SocketAddr::from(([192, 0, 2, 1], 4_000));
    let now = Instant::now();
    let mut relay = Relay::new(
        RelayConfig {
            caller: leg(1, peer),
            agent: leg(2, peer),
            caller_to_agent: PayloadMap::Identity,
            agent_to_caller: PayloadMap::Mapped(vec![(0, 8), (101, 96)]),
        },
        now,
        SystemTime::now(),
    );
    for (i, side) in [Side::Caller, Side::Agent, Side::Caller]
        .into_iter()
        .enumerate()
    {
        let at = now + Duration::from_millis(20 * i as u64);
        let mut datagram = data.to_vec();
        let _ = relay.handle_rtp(side, at, peer, &mut datagram);
        let _ = relay.handle_rtcp(side, at, peer, data);
    }
    relay.handle_timeout(now + DEFAULT_RTCP_INTERVAL + Duration::from_secs(1));
    while relay.poll_transmit().is_some() {}
    while relay.poll_dtmf().is_some() {}
    let _ = relay.stats();
});
