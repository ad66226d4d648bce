#![allow(clippy::unwrap_used)]
//! Opus legs through the tokio driver on loopback: UDP sockets play an Opus
//! phone (a browser softphone: libopus at 48 kHz, payload type 111) and
//! PCMU phones, each speaking its own tone, paced every 20 ms. A call
//! between an Opus phone and a PCMU phone is transcoded both ways, its key
//! presses and recording included, while same-codec calls keep the
//! untouched fast path; an Opus endpoint plays a prompt and hears in-band
//! key presses; an Opus caller sits in a supervisor's monitor conference.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kefu_media::codec::LegCodec;
use kefu_media::driver::conference_task::{ConferenceLeg, TapSink, spawn_conference};
use kefu_media::driver::endpoint_task::spawn_endpoint;
use kefu_media::driver::ports::PortAllocator;
use kefu_media::driver::relay_task::spawn_relay_with_codecs;
use kefu_media::dtmf::DtmfDigit;
use kefu_media::dtmf::rfc4733::{TelephoneEvent, TelephoneEventGenerator};
use kefu_media::endpoint::{EndpointConfig, EndpointEvent};
use kefu_media::g711::G711;
use kefu_media::goertzel::energy_share;
use kefu_media::mixer::SupervisorMode;
use kefu_media::opus::{OPUS_RATE, OpusConfig, OpusDecoder, OpusEncoder};
use kefu_media::pcm::{FRAME_DURATION, SampleRate};
use kefu_media::relay::{PayloadMap, RelayConfig, Side};
use kefu_media::rtp::leg::{Latching, LegConfig};
use kefu_media::rtp::packet::{RtpHeader, RtpPacket};
use kefu_media::tone::{ToneGenerator, TonePlan};
use tokio::net::UdpSocket;
use tokio::task::JoinHandle;
use tokio::time::timeout;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const NARROW: SampleRate = SampleRate::NARROWBAND;
const OPUS_PAYLOAD_TYPE: u8 = 111;
const CALLER_HZ: f64 = 440.0;
const AGENT_HZ: f64 = 1_000.0;
const SUPERVISOR_HZ: f64 = 1_800.0;
/// Codec start-up and the resamplers' delay are past after this much audio.
const SETTLE_FRAMES: usize = 15;

/// What a phone speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Voice {
    Pcmu,
    /// libopus at 48 kHz, as a browser.
    Opus,
}

impl Voice {
    fn payload_type(self) -> u8 {
        match self {
            Self::Pcmu => 0,
            Self::Opus => OPUS_PAYLOAD_TYPE,
        }
    }

    /// The rate of its audio and RTP clock.
    fn rate(self) -> SampleRate {
        match self {
            Self::Pcmu => NARROW,
            Self::Opus => OPUS_RATE,
        }
    }

    fn codec(self) -> LegCodec {
        match self {
            Self::Pcmu => G711::Pcmu.into(),
            Self::Opus => LegCodec::opus(),
        }
    }

    /// A leg kefu runs towards a phone with this voice.
    fn leg(self, ssrc: u32, remote: SocketAddr) -> LegConfig {
        LegConfig {
            remote: Some(remote),
            latching: Latching::Symmetric {
                relatch_window: Duration::ZERO,
            },
            telephone_event: Some(101),
            clock_rate: self.rate(),
            ..LegConfig::new(ssrc, 1_000, 5_000)
        }
    }
}

/// Encodes a phone's frames.
enum PhoneEncoder {
    Pcmu,
    Opus(Box<OpusEncoder>),
}

impl PhoneEncoder {
    fn new(voice: Voice) -> Self {
        match voice {
            Voice::Pcmu => Self::Pcmu,
            Voice::Opus => Self::Opus(Box::new(
                OpusEncoder::new(OPUS_RATE, OpusConfig::default()).unwrap(),
            )),
        }
    }

    fn encode(&mut self, frame: &[i16]) -> Vec<u8> {
        match self {
            Self::Pcmu => G711::Pcmu.encode(frame),
            Self::Opus(encoder) => encoder.encode(frame).unwrap(),
        }
    }
}

/// A phone: its socket and codec.
struct Phone {
    socket: Arc<UdpSocket>,
    voice: Voice,
}

/// An RTP packet a phone received: when, its header, its raw payload and
/// its audio decoded at the phone's rate.
struct Received {
    at: Instant,
    header: RtpHeader,
    payload: Vec<u8>,
    pcm: Vec<i16>,
}

impl Phone {
    async fn new(voice: Voice) -> Self {
        let socket = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
        Self {
            socket: Arc::new(socket),
            voice,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    /// Sends `frames` (20 ms each at the phone's rate) to `to`, one every
    /// 20 ms on an absolute schedule, as a sound card does.
    fn speak(&self, to: SocketAddr, ssrc: u32, frames: Vec<Vec<i16>>) -> JoinHandle<()> {
        let socket = Arc::clone(&self.socket);
        let voice = self.voice;
        let mut encoder = PhoneEncoder::new(voice);
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            for (i, frame) in frames.iter().enumerate() {
                tokio::time::sleep_until(start + FRAME_DURATION * i as u32).await;
                let packet = RtpHeader {
                    marker: i == 0,
                    payload_type: voice.payload_type(),
                    sequence: i as u16,
                    timestamp: (i * voice.rate().frame_len()) as u32,
                    ssrc,
                }
                .encode(&encoder.encode(frame));
                socket.send_to(&packet, to).await.unwrap();
            }
        })
    }

    /// Speaks `hz` for `frames` frames.
    fn speak_tone(&self, to: SocketAddr, ssrc: u32, hz: f64, frames: usize) -> JoinHandle<()> {
        let mut tone = ToneGenerator::new(TonePlan::steady(&[hz], -12.0), self.voice.rate());
        self.speak(to, ssrc, (0..frames).map(|_| tone.next_frame()).collect())
    }

    /// What the phone receives until nothing came for 300 ms (or 10 s
    /// passed); telephone-events are kept without audio.
    fn listen(&self) -> JoinHandle<Vec<Received>> {
        let socket = Arc::clone(&self.socket);
        let voice = self.voice;
        tokio::spawn(async move {
            let mut decoder = OpusDecoder::new(OPUS_RATE).unwrap();
            let mut buffer = [0u8; 2_048];
            let mut received = Vec::new();
            let deadline = Instant::now() + Duration::from_secs(10);
            while let Ok(Ok((len, _))) =
                timeout(Duration::from_millis(300), socket.recv_from(&mut buffer)).await
            {
                let packet = RtpPacket::parse(&buffer[..len]).unwrap();
                let pcm = match (packet.header.payload_type == voice.payload_type(), voice) {
                    (false, _) => Vec::new(),
                    (true, Voice::Pcmu) => G711::Pcmu.decode(packet.payload),
                    (true, Voice::Opus) => decoder.decode(Some(packet.payload)).unwrap(),
                };
                received.push(Received {
                    at: Instant::now(),
                    header: packet.header,
                    payload: packet.payload.to_vec(),
                    pcm,
                });
                if Instant::now() > deadline {
                    break;
                }
            }
            received
        })
    }
}

/// The audio a phone heard, past the start-up.
fn heard(received: &[Received], voice: Voice) -> Vec<i16> {
    let audio: Vec<&Received> = received
        .iter()
        .filter(|packet| packet.header.payload_type == voice.payload_type())
        .collect();
    assert!(
        audio.len() > 2 * SETTLE_FRAMES,
        "only {} audio packets",
        audio.len()
    );
    audio[SETTLE_FRAMES..]
        .iter()
        .flat_map(|packet| packet.pcm.iter().copied())
        .collect()
}

/// Each packet of one stream from kefu: its SSRC, the next sequence number,
/// and between audio packets a timestamp one 20 ms frame on (or more) at
/// the leg's clock.
fn assert_one_stream(received: &[Received], ssrc: u32, frame_units: u32) {
    for packet in received {
        assert_eq!(packet.header.ssrc, ssrc);
    }
    for pair in received.windows(2) {
        let (previous, next) = (&pair[0].header, &pair[1].header);
        assert_eq!(next.sequence, previous.sequence.wrapping_add(1));
        if previous.payload_type == 101 || next.payload_type == 101 {
            continue;
        }
        let step = next.timestamp.wrapping_sub(previous.timestamp);
        assert!(
            step % frame_units == 0 && step >= frame_units && step < 100 * frame_units,
            "timestamp step {step}"
        );
    }
}

fn relay_config(caller: &Phone, agent: &Phone) -> RelayConfig {
    RelayConfig {
        caller: caller.voice.leg(0xCA11_0001, caller.addr()),
        agent: agent.voice.leg(0xA6E7_0001, agent.addr()),
        caller_to_agent: PayloadMap::Identity,
        agent_to_caller: PayloadMap::Identity,
    }
}

#[tokio::test]
async fn an_opus_caller_and_a_pcmu_agent_hear_each_other_through_the_transcoding_relay() {
    const FRAMES: usize = 60;
    let caller = Phone::new(Voice::Opus).await;
    let agent = Phone::new(Voice::Pcmu).await;
    let allocator = PortAllocator::new(LOOPBACK, "51000-51099".parse().unwrap());
    let tapped = Arc::new(Mutex::new(Vec::new()));
    let sink: TapSink = {
        let tapped = Arc::clone(&tapped);
        Box::new(move |side, _, pcm: &[i16]| tapped.lock().unwrap().push((side, pcm.to_vec())))
    };
    let mut config = relay_config(&caller, &agent);
    config.caller_to_agent = PayloadMap::Mapped(vec![(OPUS_PAYLOAD_TYPE, 0), (101, 101)]);
    config.agent_to_caller = PayloadMap::Mapped(vec![(0, OPUS_PAYLOAD_TYPE), (101, 101)]);
    let mut relay = spawn_relay_with_codecs(
        config,
        [
            (OPUS_PAYLOAD_TYPE, LegCodec::opus()),
            (0, G711::Pcmu.into()),
        ],
        allocator.allocate().unwrap(),
        allocator.allocate().unwrap(),
        Some(sink),
    )
    .unwrap();
    let (to_caller_side, to_agent_side) = (relay.caller_rtp_addr(), relay.agent_rtp_addr());
    let at_caller = caller.listen();
    let at_agent = agent.listen();
    let speaking = [
        caller.speak_tone(to_caller_side, 0x1111, CALLER_HZ, FRAMES),
        agent.speak_tone(to_agent_side, 0x2222, AGENT_HZ, FRAMES),
    ];
    for voice in speaking {
        voice.await.unwrap();
    }
    // The caller presses 5 for 100 ms: telephone-events on its 48 kHz clock.
    let events = TelephoneEventGenerator::new(OPUS_RATE).packets(
        DtmfDigit::D5,
        Duration::from_millis(100),
        500,
        96_000,
    );
    for scheduled in &events {
        let bytes = RtpHeader {
            marker: scheduled.packet.marker,
            payload_type: 101,
            sequence: scheduled.packet.sequence,
            timestamp: scheduled.packet.timestamp,
            ssrc: 0x1111,
        }
        .encode(&scheduled.packet.event.to_bytes());
        caller.socket.send_to(&bytes, to_caller_side).await.unwrap();
    }
    let press = timeout(Duration::from_secs(5), relay.next_dtmf())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(press.0, Side::Caller);
    assert_eq!(
        (press.1.digit, press.1.duration),
        (DtmfDigit::D5, Duration::from_millis(100)),
        "the caller's leg reads events on its 48 kHz clock"
    );
    let (at_caller, at_agent) = (at_caller.await.unwrap(), at_agent.await.unwrap());

    // The PCMU agent hears the Opus caller's tone, as µ-law on an 8 kHz clock.
    let (audio, events): (Vec<&Received>, Vec<&Received>) = at_agent
        .iter()
        .partition(|packet| packet.header.payload_type == 0);
    assert!(
        audio.len() >= FRAMES - 2,
        "{} frames reached the agent",
        audio.len()
    );
    assert!(audio.iter().all(|packet| packet.payload.len() == 160));
    let agent_heard = heard(&at_agent, Voice::Pcmu);
    let share = energy_share(&agent_heard, CALLER_HZ, NARROW);
    assert!(share > 0.9, "the agent hears 440 Hz: share {share}");
    assert_one_stream(&at_agent, 0xA6E7_0001, 160);
    // The key press reaches the agent on its 8 kHz clock: 100 ms is 800 units.
    assert!(
        events
            .iter()
            .all(|packet| packet.header.payload_type == 101)
    );
    let last = TelephoneEvent::parse(&events.last().unwrap().payload).unwrap();
    assert!(last.end);
    assert_eq!(last.duration, 800);
    assert!(
        events
            .windows(2)
            .all(|pair| pair[0].header.timestamp == pair[1].header.timestamp),
        "one event, one timestamp"
    );
    let after_audio = events[0]
        .header
        .timestamp
        .wrapping_sub(audio.last().unwrap().header.timestamp);
    assert!(
        (160..8_000).contains(&after_audio),
        "the event follows the audio on the agent's clock ({after_audio} units)"
    );

    // The Opus caller hears the agent's tone as Opus on a 48 kHz clock.
    assert!(
        at_caller.len() >= FRAMES - 2,
        "{} frames reached the caller",
        at_caller.len()
    );
    assert!(
        at_caller
            .iter()
            .all(|packet| packet.header.payload_type == OPUS_PAYLOAD_TYPE)
    );
    assert_one_stream(&at_caller, 0xCA11_0001, 960);
    let caller_heard = heard(&at_caller, Voice::Opus);
    let share = energy_share(&caller_heard, AGENT_HZ, OPUS_RATE);
    assert!(share > 0.9, "the caller hears 1000 Hz: share {share}");

    // The recording tap has both sides at 8 kHz, each its own tone.
    let tapped = std::mem::take(&mut *tapped.lock().unwrap());
    for (side, hz) in [(Side::Caller, CALLER_HZ), (Side::Agent, AGENT_HZ)] {
        let pcm: Vec<i16> = tapped
            .iter()
            .filter(|(s, _)| *s == side)
            .skip(SETTLE_FRAMES)
            .flat_map(|(_, pcm)| pcm.iter().copied())
            .collect();
        assert!(
            pcm.len() >= 160 * 30,
            "{side:?}: {} samples tapped",
            pcm.len()
        );
        let share = energy_share(&pcm, hz, NARROW);
        assert!(share > 0.9, "{side:?} tapped as its tone: share {share}");
    }
    let stats = relay.stop().await.unwrap();
    assert_eq!(stats.caller_undecodable, 0);
    assert_eq!(stats.agent.packets_sent, at_agent.len() as u64);
}

#[tokio::test]
async fn an_undecodable_opus_packet_is_dropped_and_counted_and_the_call_goes_on() {
    let caller = Phone::new(Voice::Opus).await;
    let agent = Phone::new(Voice::Pcmu).await;
    let allocator = PortAllocator::new(LOOPBACK, "51100-51199".parse().unwrap());
    let relay = spawn_relay_with_codecs(
        relay_config(&caller, &agent),
        [
            (OPUS_PAYLOAD_TYPE, LegCodec::opus()),
            (0, G711::Pcmu.into()),
        ],
        allocator.allocate().unwrap(),
        allocator.allocate().unwrap(),
        None,
    )
    .unwrap();
    let to = relay.caller_rtp_addr();
    let at_agent = agent.listen();
    // Code 3 with a frame count of 0 is not Opus (RFC 6716 §3.2.5).
    let garbage = RtpHeader {
        marker: false,
        payload_type: OPUS_PAYLOAD_TYPE,
        sequence: 1,
        timestamp: 960,
        ssrc: 0x1111,
    }
    .encode(&[3, 0]);
    caller.socket.send_to(&garbage, to).await.unwrap();
    caller.speak_tone(to, 0x1111, CALLER_HZ, 5).await.unwrap();
    let at_agent = at_agent.await.unwrap();
    assert_eq!(at_agent.len(), 5, "the five good frames, transcoded");
    let stats = relay.stop().await.unwrap();
    assert_eq!(stats.caller_undecodable, 1);
    assert_eq!(stats.caller.packets_received, 6);
}

#[tokio::test]
async fn same_codec_calls_keep_the_fast_path_and_their_payload_bytes() {
    for (voice, range) in [(Voice::Pcmu, "51200-51299"), (Voice::Opus, "51300-51399")] {
        let caller = Phone::new(voice).await;
        let agent = Phone::new(voice).await;
        let allocator = PortAllocator::new(LOOPBACK, range.parse().unwrap());
        let tapped = Arc::new(Mutex::new(0usize));
        let sink: TapSink = {
            let tapped = Arc::clone(&tapped);
            Box::new(move |_, _, pcm: &[i16]| *tapped.lock().unwrap() += pcm.len())
        };
        let relay = spawn_relay_with_codecs(
            relay_config(&caller, &agent),
            [
                (voice.payload_type(), voice.codec()),
                (voice.payload_type(), voice.codec()),
            ],
            allocator.allocate().unwrap(),
            allocator.allocate().unwrap(),
            Some(sink),
        )
        .unwrap();
        let at_agent = agent.listen();
        let mut tone = ToneGenerator::new(TonePlan::steady(&[CALLER_HZ], -12.0), voice.rate());
        let frames: Vec<Vec<i16>> = (0..10).map(|_| tone.next_frame()).collect();
        let mut encoder = PhoneEncoder::new(voice);
        let sent: Vec<Vec<u8>> = frames.iter().map(|frame| encoder.encode(frame)).collect();
        for (i, payload) in sent.iter().enumerate() {
            let packet = RtpHeader {
                marker: false,
                payload_type: voice.payload_type(),
                sequence: i as u16,
                timestamp: (i * voice.rate().frame_len()) as u32,
                ssrc: 0x1111,
            }
            .encode(payload);
            caller
                .socket
                .send_to(&packet, relay.caller_rtp_addr())
                .await
                .unwrap();
        }
        let at_agent = at_agent.await.unwrap();
        let forwarded: Vec<Vec<u8>> = at_agent.into_iter().map(|packet| packet.payload).collect();
        assert_eq!(
            forwarded, sent,
            "{voice:?}: the payload bytes are untouched"
        );
        relay.stop().await.unwrap();
        assert_eq!(
            *tapped.lock().unwrap(),
            10 * NARROW.frame_len(),
            "{voice:?}: the tap still decodes to 8 kHz"
        );
    }
}

fn opus_endpoint(phone: &Phone, inband_dtmf: bool) -> EndpointConfig {
    EndpointConfig {
        leg: LegConfig {
            telephone_event: None,
            ..Voice::Opus.leg(0xE0E0_0001, phone.addr())
        },
        codec: LegCodec::opus(),
        payload_type: OPUS_PAYLOAD_TYPE,
        inband_dtmf,
    }
}

#[tokio::test]
async fn an_opus_endpoint_plays_a_prompt_the_phone_hears_as_its_tone() {
    const FRAMES: usize = 40;
    let phone = Phone::new(Voice::Opus).await;
    let allocator = PortAllocator::new(LOOPBACK, "51400-51499".parse().unwrap());
    let mut endpoint =
        spawn_endpoint(opus_endpoint(&phone, false), allocator.allocate().unwrap()).unwrap();
    let mut clip = vec![0; FRAMES * NARROW.frame_len()];
    ToneGenerator::new(TonePlan::steady(&[CALLER_HZ], -10.0), NARROW).fill(&mut clip);
    let listening = phone.listen();
    endpoint.play(clip.into()).await.unwrap();
    let event = timeout(Duration::from_secs(5), endpoint.next_event()).await;
    assert_eq!(event.unwrap(), Some(EndpointEvent::PlaybackFinished));
    let received = listening.await.unwrap();
    assert_eq!(received.len(), FRAMES);
    assert_one_stream(&received, 0xE0E0_0001, 960);
    for (i, packet) in received.iter().enumerate() {
        assert_eq!(packet.header.marker, i == 0);
        assert_eq!(packet.header.payload_type, OPUS_PAYLOAD_TYPE);
        assert_eq!(
            packet.header.timestamp,
            received[0].header.timestamp + 960 * i as u32,
            "+960 per 20 ms on the 48 kHz clock"
        );
    }
    assert!(
        received[FRAMES - 1].at - received[0].at >= Duration::from_millis(700),
        "paced"
    );
    let share = energy_share(&heard(&received, Voice::Opus), CALLER_HZ, OPUS_RATE);
    assert!(
        share > 0.9,
        "the phone hears the prompt's 440 Hz: share {share}"
    );
    endpoint.stop().await.unwrap();
}

#[tokio::test]
async fn an_opus_endpoint_hears_in_band_key_presses_and_captures_8_khz_audio() {
    let phone = Phone::new(Voice::Opus).await;
    let allocator = PortAllocator::new(LOOPBACK, "51500-51599".parse().unwrap());
    let mut endpoint =
        spawn_endpoint(opus_endpoint(&phone, true), allocator.allocate().unwrap()).unwrap();
    let captured = Arc::new(Mutex::new(0usize));
    let sink = {
        let captured = Arc::clone(&captured);
        Box::new(move |_: Instant, pcm: &[i16]| *captured.lock().unwrap() += pcm.len())
    };
    endpoint.capture(sink).await.unwrap();
    // Silence while the encoder starts, then 7 and # (100 ms of tones, 100 ms apart).
    let silence = || vec![0; OPUS_RATE.frame_len()];
    let mut frames: Vec<Vec<i16>> = (0..10).map(|_| silence()).collect();
    for digit in [DtmfDigit::D7, DtmfDigit::Pound] {
        let (row, column) = digit.frequencies_hz();
        let mut tones = ToneGenerator::new(TonePlan::steady(&[row, column], -10.0), OPUS_RATE);
        frames.extend((0..5).map(|_| tones.next_frame()));
        frames.extend((0..10).map(|_| silence()));
    }
    let count = frames.len();
    phone
        .speak(endpoint.rtp_addr(), 0x1111, frames)
        .await
        .unwrap();
    let mut digits = String::new();
    while digits.len() < 2 {
        match timeout(Duration::from_secs(5), endpoint.next_event()).await {
            Ok(Some(EndpointEvent::Dtmf(press))) => digits.push(press.digit.as_char()),
            other => panic!("expected key presses, got {other:?} after {digits:?}"),
        }
    }
    assert_eq!(digits, "7#");
    // The last frames of silence arrive after the key press is heard.
    tokio::time::sleep(Duration::from_millis(200)).await;
    endpoint.stop_capture().await.unwrap();
    assert_eq!(
        *captured.lock().unwrap(),
        count * NARROW.frame_len(),
        "every Opus frame captured at 8 kHz"
    );
    endpoint.stop().await.unwrap();
}

#[tokio::test]
async fn an_opus_caller_in_a_monitor_conference_is_heard_by_agent_supervisor_and_recorder() {
    const FRAMES: usize = 75;
    let phones = [
        Phone::new(Voice::Opus).await,
        Phone::new(Voice::Pcmu).await,
        Phone::new(Voice::Pcmu).await,
    ];
    let tones = [CALLER_HZ, AGENT_HZ, SUPERVISOR_HZ];
    let allocator = PortAllocator::new(LOOPBACK, "51600-51699".parse().unwrap());
    let tapped = Arc::new(Mutex::new(Vec::new()));
    let sink: TapSink = {
        let tapped = Arc::clone(&tapped);
        Box::new(move |side, _, pcm: &[i16]| tapped.lock().unwrap().push((side, pcm.to_vec())))
    };
    let legs = phones
        .iter()
        .enumerate()
        .map(|(participant, phone)| ConferenceLeg {
            config: phone
                .voice
                .leg(0xC0F0_0000 + participant as u32, phone.addr()),
            codec: phone.voice.codec(),
            payload_type: phone.voice.payload_type(),
            ports: allocator.allocate().unwrap(),
        })
        .collect();
    let conference =
        spawn_conference(legs, SupervisorMode::Monitor.hear_matrix(), Some(sink)).unwrap();
    let listening: Vec<_> = phones.iter().map(Phone::listen).collect();
    let speaking: Vec<_> = phones
        .iter()
        .zip(tones)
        .enumerate()
        .map(|(participant, (phone, hz))| {
            let to = conference.rtp_addr(participant).unwrap();
            phone.speak_tone(to, 0x1000 + participant as u32, hz, FRAMES)
        })
        .collect();
    for voice in speaking {
        voice.await.unwrap();
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stats = conference.stop().await.unwrap();
    let mut heard_by = Vec::new();
    for (listener, phone) in listening.into_iter().zip(&phones) {
        heard_by.push((listener.await.unwrap(), phone.voice));
    }
    let shares = |(received, voice): &(Vec<Received>, Voice)| {
        let pcm = heard(received, *voice);
        tones.map(|hz| energy_share(&pcm, hz, voice.rate()))
    };
    let [caller, agent, supervisor] = [0, 1, 2].map(|p| shares(&heard_by[p]));
    // Monitor: the caller and the agent hear each other, the supervisor both.
    assert!(
        caller[1] > 0.8 && caller[2] < 0.05,
        "Opus caller: {caller:?}"
    );
    assert!(agent[0] > 0.8 && agent[2] < 0.05, "agent: {agent:?}");
    assert!(
        supervisor[0] > 0.3 && supervisor[1] > 0.3,
        "supervisor: {supervisor:?}"
    );
    assert_one_stream(&heard_by[0].0, 0xC0F0_0000, 960);
    assert_one_stream(&heard_by[1].0, 0xC0F0_0001, 160);
    assert!(
        stats
            .iter()
            .all(|leg| leg.packets_received == FRAMES as u64)
    );

    let tapped = std::mem::take(&mut *tapped.lock().unwrap());
    let caller_tapped: Vec<i16> = tapped
        .iter()
        .filter(|(side, _)| *side == Side::Caller)
        .skip(SETTLE_FRAMES)
        .flat_map(|(_, pcm)| pcm.iter().copied())
        .collect();
    let share = energy_share(&caller_tapped, CALLER_HZ, NARROW);
    assert!(
        share > 0.9,
        "the Opus caller is recorded at 8 kHz: share {share}"
    );
}
