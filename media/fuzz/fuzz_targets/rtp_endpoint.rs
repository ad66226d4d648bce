//! Fuzz target: any bytes go through everything the endpoint does with a
//! datagram while it echoes, plays a clip and listens for in-band tones —
//! as RTP on its RTP port (which also takes rtcp-mux RTCP) and as RTCP on
//! its RTCP port — then its timers, frames and reports run; nothing may
//! panic.

#![no_main]

use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use kefu_media::endpoint::{Endpoint, EndpointConfig};
use kefu_media::g711::G711;
use kefu_media::pcm::SampleRate;
use kefu_media::rtp::leg::{DEFAULT_RTCP_INTERVAL, Latching, LegConfig};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let peer = SocketAddr::from(([192, 0, 2, 1], 4_000));
    let now = Instant::now();
    let config = EndpointConfig {
        leg: LegConfig {
            ssrc: 1,
            initial_sequence: 65_535,
            initial_timestamp: u32::MAX,
            clock_rate: SampleRate::NARROWBAND,
            cname: "fuzz".to_owned(),
            remote: Some(peer),
            latching: Latching::Symmetric {
                relatch_window: Duration::ZERO,
            },
            rtcp_interval: DEFAULT_RTCP_INTERVAL,
            rtcp_mux: true,
            telephone_event: None,
        },
        codec: G711::Pcma,
        payload_type: 8,
        inband_dtmf: true,
    };
    let mut endpoint = Endpoint::new(config, now, SystemTime::now());
    endpoint.play(vec![0; 200].into());
    for i in 0..4u32 {
        let at = now + Duration::from_millis(20 * u64::from(i));
        endpoint.set_echo(i % 2 == 0);
        let _ = endpoint.handle_rtp(at, peer, data);
        let _ = endpoint.handle_rtcp(at, peer, data);
        endpoint.handle_timeout(at);
    }
    endpoint.handle_timeout(now + DEFAULT_RTCP_INTERVAL + Duration::from_secs(1));
    while endpoint.poll_transmit().is_some() {}
    while endpoint.poll_event().is_some() {}
    let _ = endpoint.stats();
});
