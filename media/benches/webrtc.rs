//! The WebRTC gateway's hot paths, on a call connected in memory (no
//! sockets) with a `str0m` peer playing the browser: one 60-byte Opus packet
//! from the browser to the engine (SRTP unprotect, RTP mode, plain RTP
//! built) and one from the engine to the browser (parse, source and payload
//! type checks, SRTP protect); the browser's own encryption is done before
//! the clock starts. And per call: answering a Chromium-like offer (DTLS
//! certificate, ICE credentials, SDP).
//! Run with `cargo bench -p kefu-media --bench webrtc -- --quick`.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_media::rtp::packet::{RtpHeader, is_rtcp};
use kefu_media::webrtc::gateway::{Gateway, GatewayConfig, Side};
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const BROWSER: SocketAddr = SocketAddr::new(LOOPBACK, 50_000);
const GATEWAY: SocketAddr = SocketAddr::new(LOOPBACK, 40_000);
const ENGINE_LEG: SocketAddr = SocketAddr::new(LOOPBACK, 30_000);
const OPUS: u8 = 111;
const PAYLOAD: [u8; 60] = [0x5A; 60];

fn browser_offer(now: Instant) -> (Rtc, Mid, SdpPendingOffer, String) {
    let mut config = Rtc::builder().set_rtp_mode(true).clear_codecs();
    config.codec_config().enable_opus(true, false);
    config.codec_config().enable_pcmu(true, false);
    let mut rtc = config.build(now);
    rtc.add_local_candidate(Candidate::host(BROWSER, "udp").expect("a host candidate"));
    let mut change = rtc.sdp_api();
    let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let (offer, pending) = change.apply().expect("an offer");
    (rtc, mid, pending, offer.to_sdp_string())
}

/// A browser and a gateway, connected in memory.
struct Call {
    browser: Rtc,
    mid: Mid,
    gateway: Gateway,
    now: Instant,
    browser_timeout: Instant,
    to_gateway: Vec<Vec<u8>>,
}

impl Call {
    fn connected() -> Self {
        let now = Instant::now();
        let (browser, mid, pending, offer) = browser_offer(now);
        let config = GatewayConfig::new(vec![LOOPBACK]);
        let mut gateway = Gateway::new(&config, GATEWAY.port(), &offer, now).expect("answered");
        gateway.set_engine_peer(Some(ENGINE_LEG));
        let mut call = Self {
            browser,
            mid,
            gateway,
            now,
            browser_timeout: now,
            to_gateway: Vec::new(),
        };
        let answer = SdpAnswer::from_sdp_string(call.gateway.local_sdp()).expect("an answer");
        call.browser
            .sdp_api()
            .accept_answer(pending, answer)
            .expect("accepted");
        call.drain_browser();
        call.advance(Duration::from_secs(2));
        assert!(call.gateway.is_connected(), "the call connects");
        call
    }

    fn drain_browser(&mut self) {
        loop {
            match self.browser.poll_output().expect("browser output") {
                Output::Timeout(at) => {
                    self.browser_timeout = at;
                    break;
                }
                Output::Transmit(transmit) => self.to_gateway.push(transmit.contents.into()),
                Output::Event(Event::RtpPacket(packet)) => {
                    black_box(packet);
                }
                Output::Event(_) => {}
            }
        }
    }

    /// Runs both sides for `duration` of the call's own clock, delivering
    /// every datagram.
    fn advance(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            self.now += Duration::from_millis(5);
            if self.browser_timeout <= self.now {
                let input = Input::Timeout(self.now);
                self.browser.handle_input(input).expect("browser timeout");
                self.drain_browser();
            }
            if self.gateway.poll_timeout() <= self.now {
                self.gateway.handle_timeout(self.now);
            }
            self.deliver();
        }
    }

    fn deliver(&mut self) {
        loop {
            let datagrams: Vec<Vec<u8>> = self.to_gateway.drain(..).collect();
            let mut moved = !datagrams.is_empty();
            for datagram in datagrams {
                let _ = self
                    .gateway
                    .handle_browser_datagram(self.now, BROWSER, &datagram);
            }
            while let Some(transmit) = self.gateway.poll_transmit() {
                moved = true;
                if transmit.side == Side::Browser {
                    let receive = Receive::new(Protocol::Udp, GATEWAY, BROWSER, &transmit.payload)
                        .expect("a datagram str0m reads");
                    let input = Input::Receive(self.now, receive);
                    self.browser.handle_input(input).expect("browser input");
                    self.drain_browser();
                }
            }
            if !moved {
                break;
            }
        }
    }

    /// `count` SRTP packets from the browser, not yet delivered.
    fn browser_packets(&mut self, count: u64, sequence: &mut u64) -> Vec<Vec<u8>> {
        for _ in 0..count {
            *sequence += 1;
            let mut direct = self.browser.direct_api();
            let stream = direct
                .stream_tx_by_mid(self.mid, None)
                .expect("a send stream");
            let timestamp = (*sequence as u32).wrapping_mul(960);
            stream.write_rtp(RtpWrite::new(
                OPUS.into(),
                (*sequence).into(),
                timestamp,
                self.now,
                PAYLOAD.to_vec(),
            ));
            self.drain_browser();
            // The browser's send queue releases packets as its clock moves.
            self.now += Duration::from_micros(1);
            let input = Input::Timeout(self.now);
            self.browser.handle_input(input).expect("browser timeout");
            self.drain_browser();
        }
        // SRTP only: the browser's RTCP is delivered between batches.
        let (rtcp, srtp): (Vec<Vec<u8>>, Vec<Vec<u8>>) = self
            .to_gateway
            .drain(..)
            .partition(|datagram| is_rtcp(datagram));
        self.to_gateway = rtcp;
        assert_eq!(srtp.len() as u64, count, "one datagram per packet");
        srtp
    }
}

fn browser_to_engine(c: &mut Criterion) {
    let mut call = Call::connected();
    let mut sequence = 0;
    let first = call.browser_packets(1, &mut sequence);
    let now = call.now;
    assert_eq!(
        call.gateway
            .handle_browser_datagram(now, BROWSER, &first[0]),
        Ok(())
    );
    let forwarded = call.gateway.poll_transmit().expect("forwarded");
    assert_eq!(
        (forwarded.side, forwarded.destination),
        (Side::Engine, ENGINE_LEG)
    );
    c.bench_function("webrtc/browser SRTP packet to engine RTP", |b| {
        b.iter_custom(|iters| {
            let datagrams = call.browser_packets(iters, &mut sequence);
            let now = call.now;
            let start = Instant::now();
            for datagram in &datagrams {
                let _ = call.gateway.handle_browser_datagram(now, BROWSER, datagram);
                while let Some(transmit) = call.gateway.poll_transmit() {
                    black_box(transmit);
                }
            }
            let elapsed = start.elapsed();
            // Keeps ICE consent fresh between batches.
            call.advance(Duration::from_millis(100));
            elapsed
        });
    });
}

fn engine_to_browser(c: &mut Criterion) {
    let mut call = Call::connected();
    let mut sequence: u16 = 0;
    let first = RtpHeader {
        marker: true,
        payload_type: OPUS,
        sequence,
        timestamp: 0,
        ssrc: 0xE0E0_0001,
    }
    .encode(&PAYLOAD);
    let now = call.now;
    assert_eq!(
        call.gateway.handle_engine_datagram(now, ENGINE_LEG, &first),
        Ok(())
    );
    let encrypted = call.gateway.poll_transmit().expect("sent on");
    assert_eq!(
        (encrypted.side, encrypted.destination),
        (Side::Browser, BROWSER)
    );
    c.bench_function("webrtc/engine RTP packet to browser SRTP", |b| {
        b.iter_custom(|iters| {
            let packets: Vec<Vec<u8>> = (0..iters)
                .map(|_| {
                    sequence = sequence.wrapping_add(1);
                    RtpHeader {
                        marker: false,
                        payload_type: OPUS,
                        sequence,
                        timestamp: u32::from(sequence) * 960,
                        ssrc: 0xE0E0_0001,
                    }
                    .encode(&PAYLOAD)
                })
                .collect();
            let now = call.now;
            let start = Instant::now();
            for packet in &packets {
                let _ = call.gateway.handle_engine_datagram(now, ENGINE_LEG, packet);
                while let Some(transmit) = call.gateway.poll_transmit() {
                    black_box(transmit);
                }
            }
            let elapsed = start.elapsed();
            call.advance(Duration::from_millis(100));
            elapsed
        });
    });
}

fn answer(c: &mut Criterion) {
    let (_browser, _mid, _pending, offer) = browser_offer(Instant::now());
    let config = GatewayConfig::new(vec![LOOPBACK]);
    c.bench_function("webrtc/answer a browser offer", |b| {
        b.iter(|| Gateway::new(&config, GATEWAY.port(), black_box(&offer), Instant::now()))
    });
}

criterion_group!(benches, browser_to_engine, engine_to_browser, answer);
criterion_main!(benches);
