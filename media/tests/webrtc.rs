#![allow(clippy::unwrap_used)]
//! A browser's WebRTC session through the gateway. A `str0m` peer plays the
//! browser the way Chromium behaves — it offers opus, PCMU, PCMA and
//! telephone-events, is the ICE controlling agent and the DTLS client, and
//! sends SRTP with the usual header extensions — against the gateway's
//! answer. Over real UDP on 127.0.0.1 through the tokio driver, its
//! Opus-encoded 440 Hz arrives on the engine side as plain RTP that decodes to
//! 440 Hz, and the engine's Opus-encoded 1 kHz reaches it decrypted, byte for
//! byte. In memory with an injected clock: a key press is reported once and
//! forwarded, a browser that goes silent or closes is reported, a new
//! engine source continues the browser's stream, and
//! arbitrary datagrams fed to a connected gateway on both sides are refused
//! without disturbing the call.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use kefu_media::driver::ports::PortAllocator;
use kefu_media::driver::webrtc_task::{offer_webrtc_gateway, spawn_webrtc_gateway};
use kefu_media::goertzel::energy_share;
use kefu_media::opus::{OpusConfig, OpusDecoder, OpusEncoder};
use kefu_media::pcm::SampleRate;
use kefu_media::rtp::packet::{RtpHeader, RtpPacket};
use kefu_media::sdp::Codec;
use kefu_media::tone::{ToneGenerator, TonePlan};
use kefu_media::webrtc::gateway::{
    Disconnect, Gateway, GatewayConfig, GatewayEvent, Side, Transmit,
};
use kefu_media::webrtc::offer::{GatewayCodec, OfferError, TelephoneEventFormat};
use proptest::prelude::*;
use str0m::change::{SdpAnswer, SdpOffer, SdpPendingOffer};
use str0m::format::{Codec as Str0mCodec, FormatParams};
use str0m::media::{Direction, Frequency, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::time::timeout;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const OPUS: u8 = 111;
const EVENTS_48K: u8 = 110;
/// 20 ms at Opus' 48 kHz RTP clock.
const OPUS_FRAME: u32 = 960;
const RATE: SampleRate = SampleRate::NARROWBAND;

/// An RTP packet the browser received, decrypted.
#[derive(Debug, Clone)]
struct Heard {
    payload_type: u8,
    sequence: u16,
    payload: Vec<u8>,
}

/// The browser's side of the session: a `str0m` peer configured as
/// Chromium's audio offer.
struct Browser {
    rtc: Rtc,
    addr: SocketAddr,
    mid: Mid,
    pending: Option<SdpPendingOffer>,
    outbox: Vec<(SocketAddr, Vec<u8>)>,
    heard: Vec<Heard>,
    connected: bool,
    closed: bool,
    timeout: Instant,
    sequence: u64,
}

impl Browser {
    /// The browser and its offer.
    fn offer(addr: SocketAddr, now: Instant) -> (Self, String) {
        let mut config = Rtc::builder().set_rtp_mode(true).clear_codecs();
        let codecs = config.codec_config();
        codecs.enable_opus(true, false);
        codecs.enable_pcmu(true, false);
        codecs.enable_pcma(true, false);
        for (payload_type, rate) in [
            (EVENTS_48K, Frequency::FORTY_EIGHT_KHZ),
            (126, Frequency::EIGHT_KHZ),
        ] {
            codecs.add_config(
                payload_type.into(),
                None,
                Str0mCodec::Tele,
                rate,
                None,
                FormatParams::default(),
            );
        }
        let mut rtc = config.build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change.apply().unwrap();
        let browser = Self {
            rtc,
            addr,
            mid,
            pending: Some(pending),
            outbox: Vec::new(),
            heard: Vec::new(),
            connected: false,
            closed: false,
            timeout: now,
            sequence: 1,
        };
        (browser, offer.to_sdp_string())
    }

    /// The browser answering `offer` (kefu calls it), with its answer.
    fn answer(addr: SocketAddr, offer: &str, now: Instant) -> (Self, String) {
        let mut config = Rtc::builder().set_rtp_mode(true).clear_codecs();
        config.codec_config().enable_opus(true, false);
        config.codec_config().add_config(
            EVENTS_48K.into(),
            None,
            Str0mCodec::Tele,
            Frequency::FORTY_EIGHT_KHZ,
            None,
            FormatParams::default(),
        );
        let mut rtc = config.build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
        let offer = SdpOffer::from_sdp_string(offer).unwrap();
        let answer = rtc.sdp_api().accept_offer(offer).unwrap();
        let mid = answer.media_lines[0].mid();
        let mut browser = Self {
            rtc,
            addr,
            mid,
            pending: None,
            outbox: Vec::new(),
            heard: Vec::new(),
            connected: false,
            closed: false,
            timeout: now,
            sequence: 1,
        };
        browser.drain(now);
        (browser, answer.to_sdp_string())
    }

    fn accept_answer(&mut self, answer: &str, now: Instant) {
        let pending = self.pending.take().unwrap();
        let answer = SdpAnswer::from_sdp_string(answer).unwrap();
        self.rtc.sdp_api().accept_answer(pending, answer).unwrap();
        self.drain(now);
    }

    /// A new offer in the same session with the audio going `direction`
    /// (hold: `SendOnly`; resume: `SendRecv`).
    fn reoffer(&mut self, direction: Direction) -> String {
        let mut change = self.rtc.sdp_api();
        change.set_direction(self.mid, direction);
        let (offer, pending) = change.apply().unwrap();
        self.pending = Some(pending);
        offer.to_sdp_string()
    }

    fn receive(&mut self, now: Instant, source: SocketAddr, datagram: &[u8]) {
        let receive = Receive::new(Protocol::Udp, source, self.addr, datagram).unwrap();
        self.rtc.handle_input(Input::Receive(now, receive)).unwrap();
        self.drain(now);
    }

    fn handle_timeout(&mut self, now: Instant) {
        if now >= self.timeout {
            self.rtc.handle_input(Input::Timeout(now)).unwrap();
            self.drain(now);
        }
    }

    /// Sends one RTP packet of the browser's audio stream.
    fn send(
        &mut self,
        now: Instant,
        payload_type: u8,
        timestamp: u32,
        marker: bool,
        payload: &[u8],
    ) {
        let sequence = self.sequence;
        self.sequence += 1;
        let mut direct = self.rtc.direct_api();
        let stream = direct.stream_tx_by_mid(self.mid, None).unwrap();
        stream.write_rtp(
            RtpWrite::new(
                payload_type.into(),
                sequence.into(),
                timestamp,
                now,
                payload.to_vec(),
            )
            .marker(marker),
        );
        self.drain(now);
    }

    fn close(&mut self, now: Instant) {
        self.rtc.close().unwrap();
        self.drain(now);
    }

    fn drain(&mut self, now: Instant) {
        loop {
            match self.rtc.poll_output().unwrap() {
                Output::Timeout(at) => {
                    self.timeout = at.max(now);
                    break;
                }
                Output::Transmit(transmit) => self
                    .outbox
                    .push((transmit.destination, transmit.contents.into())),
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::Closed) => self.closed = true,
                Output::Event(Event::RtpPacket(packet)) => self.heard.push(Heard {
                    payload_type: *packet.header.payload_type,
                    sequence: packet.header.sequence_number,
                    payload: packet.payload.to_vec(),
                }),
                Output::Event(_) => {}
            }
        }
    }
}

fn gateway_config() -> GatewayConfig {
    GatewayConfig {
        connect_timeout: Duration::from_secs(10),
        ..GatewayConfig::new(vec![LOOPBACK])
    }
}

fn tone_frames(frequency_hz: f64, frames: usize) -> Vec<Vec<i16>> {
    let mut generator = ToneGenerator::new(TonePlan::steady(&[frequency_hz], -10.0), RATE);
    (0..frames).map(|_| generator.next_frame()).collect()
}

fn opus_packets(frequency_hz: f64, frames: usize) -> Vec<Vec<u8>> {
    let mut encoder = OpusEncoder::new(RATE, OpusConfig::default()).unwrap();
    tone_frames(frequency_hz, frames)
        .iter()
        .map(|frame| encoder.encode(frame).unwrap())
        .collect()
}

/// Decodes Opus payloads at 8 kHz and returns the share of the energy at
/// `frequency_hz` after the decoder's first 100 ms.
fn opus_share(payloads: &[Vec<u8>], frequency_hz: f64) -> f64 {
    let mut decoder = OpusDecoder::new(RATE).unwrap();
    let pcm: Vec<i16> = payloads
        .iter()
        .flat_map(|payload| decoder.decode(Some(payload)).unwrap())
        .skip(RATE.frame_len() * 5)
        .collect();
    assert!(!pcm.is_empty(), "too little audio to judge");
    energy_share(&pcm, frequency_hz, RATE)
}

/// The browser on a blocking socket of its own thread for `run_for`: it
/// answers its part of ICE and DTLS and, once connected, sends Opus 440 Hz
/// every 20 ms. Returns what it heard.
fn run_browser(mut browser: Browser, socket: std::net::UdpSocket, run_for: Duration) -> Browser {
    let start = Instant::now();
    let end = start + run_for;
    let tone = opus_packets(440.0, 250);
    let mut sent = 0;
    let mut next_frame = start;
    let mut buffer = [0u8; 2_048];
    loop {
        let now = Instant::now();
        if now >= end {
            break;
        }
        browser.handle_timeout(now);
        if browser.connected && now >= next_frame && sent < tone.len() {
            let timestamp = OPUS_FRAME * sent as u32;
            browser.send(now, OPUS, timestamp, sent == 0, &tone[sent]);
            sent += 1;
            next_frame = now + Duration::from_millis(20);
        }
        for (destination, datagram) in browser.outbox.drain(..) {
            socket.send_to(&datagram, destination).unwrap();
        }
        let wake = browser.timeout.min(next_frame).min(end);
        let wait = wake
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait)).unwrap();
        if let Ok((len, source)) = socket.recv_from(&mut buffer) {
            browser.receive(Instant::now(), source, &buffer[..len]);
        }
    }
    browser
}

#[tokio::test]
async fn kefu_calling_a_browser_offers_one_codec_and_takes_the_browsers_answer() {
    let allocator = PortAllocator::new(LOOPBACK, "49450-49469".parse().unwrap());
    let codec = GatewayCodec {
        codec: Codec::Opus,
        payload_type: OPUS,
        clock_rate: 48_000,
        telephone_event: Some(TelephoneEventFormat {
            payload_type: EVENTS_48K,
            clock_rate: 48_000,
        }),
    };
    let pending = offer_webrtc_gateway(
        &gateway_config(),
        codec,
        allocator.allocate().unwrap(),
        allocator.allocate().unwrap(),
    )
    .unwrap();
    let offer = pending.offer().to_owned();
    assert!(offer.contains("a=ice-lite"), "{offer}");
    assert!(
        offer.contains("opus/48000/2") && !offer.contains("PCMU"),
        "{offer}"
    );
    let browser_socket = std::net::UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let (browser, answer) =
        Browser::answer(browser_socket.local_addr().unwrap(), &offer, Instant::now());
    let mut handle = pending.accept(&answer).unwrap();
    assert_eq!(
        handle.codec(),
        codec,
        "the browser kept opus and its events"
    );
    let engine = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    handle
        .set_engine_peer(engine.local_addr().unwrap())
        .await
        .unwrap();
    let browser_thread =
        std::thread::spawn(move || run_browser(browser, browser_socket, Duration::from_secs(2)));
    let connected = timeout(Duration::from_secs(5), handle.next_event()).await;
    assert_eq!(connected.unwrap(), Some(GatewayEvent::Connected));
    let mut buffer = [0u8; 2_048];
    let mut from_browser = Vec::new();
    while from_browser.len() < 30 {
        let (len, _) = timeout(Duration::from_secs(2), engine.recv_from(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("only {} packets reached the engine", from_browser.len()))
            .unwrap();
        let packet = RtpPacket::parse(&buffer[..len]).unwrap();
        assert_eq!(packet.header.payload_type, OPUS);
        from_browser.push(packet.payload.to_vec());
    }
    let share = opus_share(&from_browser, 440.0);
    assert!(
        share > 0.9,
        "440 Hz holds {share:.2} of the browser's audio"
    );
    tokio::task::spawn_blocking(move || browser_thread.join().unwrap())
        .await
        .unwrap();
}

#[tokio::test]
async fn browser_opus_reaches_the_engine_as_plain_rtp_and_engine_rtp_reaches_the_browser() {
    let allocator = PortAllocator::new(LOOPBACK, "49400-49449".parse().unwrap());
    let browser_socket = std::net::UdpSocket::bind((LOOPBACK, 0)).unwrap();
    let browser_addr = browser_socket.local_addr().unwrap();
    let (mut browser, offer) = Browser::offer(browser_addr, Instant::now());
    let mut handle = spawn_webrtc_gateway(
        &gateway_config(),
        &offer,
        allocator.allocate().unwrap(),
        allocator.allocate().unwrap(),
    )
    .unwrap();
    let codec = handle.codec();
    assert_eq!((codec.codec, codec.payload_type), (Codec::Opus, OPUS));
    assert!(handle.local_sdp().contains(&format!(
        "127.0.0.1 {} typ host",
        handle.browser_addr().port()
    )));
    let engine = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    handle
        .set_engine_peer(engine.local_addr().unwrap())
        .await
        .unwrap();
    browser.accept_answer(handle.local_sdp(), Instant::now());
    let browser_thread =
        std::thread::spawn(move || run_browser(browser, browser_socket, Duration::from_secs(3)));

    let connected = timeout(Duration::from_secs(5), handle.next_event()).await;
    assert_eq!(connected.unwrap(), Some(GatewayEvent::Connected));

    // The browser's audio, as the engine's leg hears it.
    let mut buffer = [0u8; 2_048];
    let mut from_browser = Vec::new();
    let mut browser_ssrc = None;
    while from_browser.len() < 50 {
        let (len, source) = timeout(Duration::from_secs(2), engine.recv_from(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("only {} packets reached the engine", from_browser.len()))
            .unwrap();
        assert_eq!(source, handle.rtp_addr_for_engine());
        let packet = RtpPacket::parse(&buffer[..len]).unwrap();
        assert_eq!(
            packet.header.payload_type, OPUS,
            "the negotiated payload type"
        );
        assert_eq!(
            packet.extension, None,
            "header extensions stay in the browser leg"
        );
        assert_eq!(
            *browser_ssrc.get_or_insert(packet.header.ssrc),
            packet.header.ssrc
        );
        from_browser.push(packet.payload.to_vec());
    }
    let share = opus_share(&from_browser, 440.0);
    assert!(
        share > 0.9,
        "440 Hz holds {share:.2} of the browser's audio"
    );

    // The engine's audio, into the gateway as plain RTP.
    let engine_audio = opus_packets(1_000.0, 50);
    for (index, payload) in engine_audio.iter().enumerate() {
        let packet = RtpHeader {
            marker: index == 0,
            payload_type: OPUS,
            sequence: 65_500_u16.wrapping_add(index as u16),
            timestamp: OPUS_FRAME * index as u32,
            ssrc: 0xE0E0_0001,
        }
        .encode(payload);
        engine
            .send_to(&packet, handle.rtp_addr_for_engine())
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let browser = tokio::task::spawn_blocking(move || browser_thread.join().unwrap())
        .await
        .unwrap();
    let heard: Vec<&Heard> = browser.heard.iter().collect();
    assert_eq!(
        heard.len(),
        engine_audio.len(),
        "every engine packet reached the browser"
    );
    for (heard, (index, sent)) in heard.iter().zip(engine_audio.iter().enumerate()) {
        assert_eq!(heard.payload_type, OPUS);
        assert_eq!(heard.sequence, 65_500_u16.wrapping_add(index as u16));
        assert_eq!(
            &heard.payload, sent,
            "payload arrives decrypted, byte for byte"
        );
    }
    let payloads: Vec<Vec<u8>> = heard.iter().map(|heard| heard.payload.clone()).collect();
    let share = opus_share(&payloads, 1_000.0);
    assert!(share > 0.9, "1 kHz holds {share:.2} of the engine's audio");

    let stats = handle.stop().await.unwrap();
    assert!(stats.to_engine >= 50, "{stats:?}");
    assert_eq!(stats.engine_rtp, 50, "{stats:?}");
    assert_eq!(stats.engine_rejected, 0, "{stats:?}");
    assert_eq!(
        allocator.available(),
        25,
        "both port pairs are back in the pool"
    );
}

/// Browser and gateway wired in memory, with a clock of the test's own.
struct Call {
    browser: Browser,
    gateway: Gateway,
    gateway_addr: SocketAddr,
    now: Instant,
    to_engine: Vec<Vec<u8>>,
    /// Datagrams from the browser reach the gateway.
    browser_online: bool,
}

impl Call {
    const ENGINE_LEG: SocketAddr = SocketAddr::new(LOOPBACK, 30_000);

    fn connected() -> Self {
        let now = Instant::now();
        let browser_addr = SocketAddr::new(LOOPBACK, 50_000);
        let (mut browser, offer) = Browser::offer(browser_addr, now);
        let mut gateway = Gateway::new(&gateway_config(), 40_000, &offer, now).unwrap();
        gateway.set_engine_peer(Some(Self::ENGINE_LEG));
        browser.accept_answer(gateway.local_sdp(), now);
        let mut call = Self {
            browser,
            gateway,
            gateway_addr: SocketAddr::new(LOOPBACK, 40_000),
            now,
            to_engine: Vec::new(),
            browser_online: true,
        };
        call.run_for(Duration::from_secs(2));
        assert!(call.browser.connected);
        assert_eq!(call.gateway.poll_event(), Some(GatewayEvent::Connected));
        call
    }

    /// Moves every queued datagram to its destination until none is left.
    fn shuttle(&mut self) {
        loop {
            let outbox: Vec<_> = self.browser.outbox.drain(..).collect();
            let mut moved = !outbox.is_empty();
            for (destination, datagram) in outbox {
                assert_eq!(destination, self.gateway_addr);
                if self.browser_online {
                    let _ = self.gateway.handle_browser_datagram(
                        self.now,
                        self.browser.addr,
                        &datagram,
                    );
                }
            }
            while let Some(Transmit {
                side,
                destination,
                payload,
            }) = self.gateway.poll_transmit()
            {
                moved = true;
                match side {
                    Side::Browser => {
                        assert_eq!(destination, self.browser.addr);
                        self.browser.receive(self.now, self.gateway_addr, &payload);
                    }
                    Side::Engine => {
                        assert_eq!(destination, Self::ENGINE_LEG);
                        self.to_engine.push(payload);
                    }
                }
            }
            if !moved {
                break;
            }
        }
    }

    fn run_for(&mut self, duration: Duration) {
        let end = self.now + duration;
        while self.now < end {
            self.now += Duration::from_millis(5);
            self.browser.handle_timeout(self.now);
            if self.gateway.poll_timeout() <= self.now {
                self.gateway.handle_timeout(self.now);
            }
            self.shuttle();
        }
    }

    fn events(&mut self) -> Vec<GatewayEvent> {
        std::iter::from_fn(|| self.gateway.poll_event()).collect()
    }
}

#[test]
fn a_key_press_from_the_browser_is_reported_once_and_forwarded_to_the_engine() {
    let mut call = Call::connected();
    // Key 5 at 48 kHz: start, update, and the end packet three times.
    let packets = [
        (true, [5, 0x0a, 0x03, 0xc0]),
        (false, [5, 0x0a, 0x07, 0x80]),
        (false, [5, 0x8a, 0x12, 0xc0]),
        (false, [5, 0x8a, 0x12, 0xc0]),
        (false, [5, 0x8a, 0x12, 0xc0]),
    ];
    for (marker, payload) in packets {
        let now = call.now;
        call.browser.send(now, EVENTS_48K, 48_000, marker, &payload);
        call.run_for(Duration::from_millis(20));
    }
    let events = call.events();
    assert_eq!(events.len(), 1, "{events:?}");
    let GatewayEvent::Dtmf(key_press) = &events[0] else {
        panic!("a key press, not {events:?}")
    };
    assert_eq!(key_press.digit.as_char(), '5');
    assert_eq!(key_press.duration, Duration::from_millis(100));
    let forwarded: Vec<RtpHeader> = call
        .to_engine
        .iter()
        .map(|datagram| RtpPacket::parse(datagram).unwrap().header)
        .collect();
    assert_eq!(forwarded.len(), 5);
    assert!(
        forwarded
            .iter()
            .all(|header| header.payload_type == EVENTS_48K)
    );
    assert!(forwarded[0].marker);
}

#[test]
fn a_browser_that_goes_silent_is_reported_and_audio_resumes_when_it_returns() {
    let mut call = Call::connected();
    call.browser_online = false;
    call.run_for(Duration::from_secs(20));
    assert_eq!(
        call.events(),
        vec![GatewayEvent::Disconnected(Disconnect::ConnectivityLost)]
    );
    assert!(!call.gateway.stats().connected);
    call.browser_online = true;
    call.run_for(Duration::from_secs(5));
    assert_eq!(call.events(), vec![GatewayEvent::Connected]);
    let now = call.now;
    call.browser.send(now, OPUS, 0, true, &[0xF8, 0xFF, 0xFE]);
    call.run_for(Duration::from_millis(20));
    assert_eq!(call.to_engine.len(), 1);
}

#[test]
fn a_browser_holds_and_resumes_in_the_same_session_and_audio_flows_after() {
    let mut call = Call::connected();
    for (asked, answered) in [
        (Direction::SendOnly, "a=recvonly"),
        (Direction::Inactive, "a=inactive"),
        (Direction::SendRecv, "a=sendrecv"),
    ] {
        let offer = call.browser.reoffer(asked);
        let now = call.now;
        let answer = call.gateway.answer_reoffer(&offer, now).unwrap();
        assert!(answer.contains(answered), "{asked:?}: {answer}");
        call.browser.accept_answer(&answer, now);
        call.run_for(Duration::from_millis(100));
    }
    assert_eq!(call.events(), vec![], "the session never dropped");

    let now = call.now;
    call.browser.send(now, OPUS, 0, true, &[0xF8, 0xFF, 0xFE]);
    let packet = RtpHeader {
        marker: true,
        payload_type: OPUS,
        sequence: 7,
        timestamp: 0,
        ssrc: 0x3333,
    }
    .encode(&[0xF8, 0xFF, 0xFE]);
    assert_eq!(
        call.gateway
            .handle_engine_datagram(now, Call::ENGINE_LEG, &packet),
        Ok(())
    );
    call.run_for(Duration::from_millis(40));
    assert_eq!(
        call.to_engine.len(),
        1,
        "the browser's audio reaches the engine"
    );
    assert_eq!(
        call.browser.heard.len(),
        1,
        "the engine's audio reaches the browser"
    );
}

#[test]
fn a_new_offer_without_the_codec_in_use_is_refused() {
    let mut call = Call::connected();
    let offer = call.browser.reoffer(Direction::SendOnly);
    let without_opus = offer
        .lines()
        .map(|line| {
            if line.starts_with("m=audio") {
                let kept: Vec<&str> = line
                    .split(' ')
                    .filter(|field| *field != OPUS.to_string())
                    .collect();
                kept.join(" ")
            } else {
                line.to_owned()
            }
        })
        .filter(|line| !line.contains(&format!(":{OPUS} ")))
        .collect::<Vec<_>>()
        .join("\r\n")
        + "\r\n";
    let now = call.now;
    let refused = call.gateway.answer_reoffer(&without_opus, now);
    assert!(
        matches!(refused, Err(OfferError::NoCommonCodec { .. })),
        "{refused:?}"
    );
}

#[test]
fn a_browser_that_closes_the_session_is_reported() {
    let mut call = Call::connected();
    let now = call.now;
    call.browser.close(now);
    call.run_for(Duration::from_millis(100));
    assert_eq!(
        call.events(),
        vec![GatewayEvent::Disconnected(Disconnect::Closed)]
    );
}

#[test]
fn engine_audio_from_a_new_source_continues_the_browser_stream() {
    let mut call = Call::connected();
    // The engine's leg is replaced mid-call: a new SSRC whose sequence
    // numbers start far below the first source's.
    let sources = [(0x1111, 40_000_u16), (0x2222, 100)];
    for (ssrc, first) in sources {
        for index in 0..5_u16 {
            let packet = RtpHeader {
                marker: index == 0,
                payload_type: OPUS,
                sequence: first + index,
                timestamp: u32::from(index) * OPUS_FRAME,
                ssrc,
            }
            .encode(&[0xF8, 0xFF, 0xFE]);
            let now = call.now;
            assert_eq!(
                call.gateway
                    .handle_engine_datagram(now, Call::ENGINE_LEG, &packet),
                Ok(())
            );
            call.run_for(Duration::from_millis(20));
        }
    }
    let sequences: Vec<u16> = call
        .browser
        .heard
        .iter()
        .map(|heard| heard.sequence)
        .collect();
    let expected: Vec<u16> = (40_000..40_010).collect();
    assert_eq!(
        sequences, expected,
        "one stream, first source's numbers kept"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Garbage on a connected call — random bytes, and bytes shaped like
    /// STUN, DTLS, SRTP and SRTCP on the browser side, like RTP on the
    /// engine side — is refused or ignored, and the call still carries audio
    /// both ways afterwards.
    #[test]
    fn arbitrary_datagrams_on_a_connected_call_never_panic_or_break_it(
        datagrams in prop::collection::vec(
            (any::<bool>(), 0usize..6, prop::collection::vec(any::<u8>(), 0..400)),
            1..60,
        )
    ) {
        let mut call = Call::connected();
        for (from_browser, shape, mut datagram) in datagrams {
            if let Some(first) = datagram.first_mut() {
                *first = [*first, 0, 1, 22, 0x80, 0x90][shape];
            }
            if datagram.len() > 1 && shape == 5 {
                datagram[1] = 200;
            }
            let now = call.now;
            if from_browser {
                let source = call.browser.addr;
                let _ = call.gateway.handle_browser_datagram(now, source, &datagram);
            } else {
                let _ = call.gateway.handle_engine_datagram(now, Call::ENGINE_LEG, &datagram);
            }
            call.run_for(Duration::from_millis(5));
        }
        call.to_engine.clear();
        call.browser.heard.clear();
        let now = call.now;
        call.browser.send(now, OPUS, 0, true, &[0xF8, 0xFF, 0xFE]);
        let engine_packet = RtpHeader {
            marker: false,
            payload_type: OPUS,
            sequence: 7,
            timestamp: 960,
            ssrc: 9,
        }
        .encode(&[0xF8, 0xFF, 0xFE]);
        let _ = call.gateway.handle_engine_datagram(now, Call::ENGINE_LEG, &engine_packet);
        call.run_for(Duration::from_millis(20));
        prop_assert_eq!(call.to_engine.len(), 1);
        prop_assert_eq!(call.browser.heard.len(), 1);
    }
}
