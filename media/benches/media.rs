//! Hot paths of the media engine, per 20 ms frame at 8 kHz: G.711 decode and
//! encode, Opus encode and decode (at 48 kHz, and at 8 kHz through the
//! resampler), the 8 → 48 kHz frame resampler, a three-party hear-matrix mix,
//! in-band DTMF detection, and one packet through the relay fast path (parse,
//! source check, receive statistics, rewrite; no sockets), one 20 ms frame
//! through the relay's transcoding path each way (Opus → PCMU: decode,
//! 48 → 8 kHz, µ-law encode; PCMU → Opus: decode, 8 → 48 kHz, Opus encode;
//! each with the legs' checks and the outgoing packet), the endpoint's echo
//! of one packet and playback of one frame (G.711 encoding, packet building,
//! rewrite), one 20 ms frame of a three-party conference (three packets
//! into the jitter buffers, mix, encode and send one packet per leg); and
//! per call, SDP offer/answer of a Linphone audio+video offer
//! (parse, negotiate, write the answer).
//! Run with `cargo bench -p kefu-media -- --quick`.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_media::codec::LegCodec;
use kefu_media::conference::{Conference, Participant};
use kefu_media::dtmf::inband::InbandDtmfDetector;
use kefu_media::endpoint::{Endpoint, EndpointConfig};
use kefu_media::g711::G711;
use kefu_media::mixer::{Mixer, SupervisorMode};
use kefu_media::opus::{OPUS_RATE, OpusConfig, OpusDecoder, OpusEncoder};
use kefu_media::pcm::SampleRate;
use kefu_media::relay::{PayloadMap, Relay, RelayConfig, Side};
use kefu_media::resample::FrameResampler;
use kefu_media::rtp::leg::LegConfig;
use kefu_media::rtp::packet::{Rewrite, RtpHeader, rewrite_header};
use kefu_media::sdp::{Codec, SessionDescription, answer, negotiate};
use kefu_media::tone::{ToneGenerator, TonePlan};

const RATE: SampleRate = SampleRate::NARROWBAND;

fn frame_of(frequency_hz: f64) -> Vec<i16> {
    ToneGenerator::new(TonePlan::steady(&[frequency_hz], -12.0), RATE).next_frame()
}

fn g711(c: &mut Criterion) {
    let pcm = frame_of(1_000.0);
    let payload = G711::Pcmu.encode(&pcm);
    let mut decoded = Vec::with_capacity(pcm.len());
    let mut encoded = Vec::with_capacity(pcm.len());
    c.bench_function("g711 pcmu decode 20 ms", |b| {
        b.iter(|| G711::Pcmu.decode_into(black_box(&payload), &mut decoded))
    });
    c.bench_function("g711 pcmu encode 20 ms", |b| {
        b.iter(|| G711::Pcmu.encode_into(black_box(&pcm), &mut encoded))
    });
}

fn opus(c: &mut Criterion) {
    for rate in [OPUS_RATE, RATE] {
        let mut generator = ToneGenerator::new(TonePlan::steady(&[440.0], -12.0), rate);
        let mut encoder = OpusEncoder::new(rate, OpusConfig::default()).expect("libopus");
        let mut decoder = OpusDecoder::new(rate).expect("libopus");
        let frame = generator.next_frame();
        let mut packet = Vec::new();
        let mut decoded = Vec::with_capacity(OPUS_RATE.frame_len());
        c.bench_function(&format!("opus encode 20 ms at {} Hz", rate.hz()), |b| {
            b.iter(|| encoder.encode_into(black_box(&frame), &mut packet))
        });
        encoder.encode_into(&frame, &mut packet).expect("encodes");
        c.bench_function(&format!("opus decode 20 ms at {} Hz", rate.hz()), |b| {
            b.iter(|| {
                decoded.clear();
                decoder.decode_into(Some(black_box(&packet)), &mut decoded)
            })
        });
    }
}

fn resampler(c: &mut Criterion) {
    let frame = frame_of(440.0);
    let mut up = FrameResampler::new(RATE, OPUS_RATE).expect("8 to 48 kHz");
    let mut wide = Vec::with_capacity(OPUS_RATE.frame_len());
    c.bench_function("resample 20 ms 8 -> 48 kHz", |b| {
        b.iter(|| up.process_into(black_box(&frame), &mut wide))
    });
}

fn mixer(c: &mut Criterion) {
    let frames = [frame_of(440.0), frame_of(1_000.0), frame_of(1_800.0)];
    let inputs: Vec<Option<&[i16]>> = frames.iter().map(|frame| Some(frame.as_slice())).collect();
    let mut mixer = Mixer::new(SupervisorMode::Barge.hear_matrix(), RATE);
    let mut heard: Vec<Vec<i16>> = (0..3)
        .map(|_| Vec::with_capacity(RATE.frame_len()))
        .collect();
    c.bench_function("mixer barge 3 parties 20 ms", |b| {
        b.iter(|| mixer.mix(black_box(&inputs), &mut heard))
    });
}

fn inband_dtmf(c: &mut Criterion) {
    let frame = frame_of(440.0);
    let mut detector = InbandDtmfDetector::new(RATE);
    c.bench_function("inband dtmf detect 20 ms", |b| {
        b.iter(|| detector.process(black_box(&frame)))
    });
}

fn relay_leg(ssrc: u32, remote: SocketAddr) -> LegConfig {
    LegConfig {
        remote: Some(remote),
        telephone_event: Some(101),
        ..LegConfig::new(ssrc, 0, 0)
    }
}

fn relay(c: &mut Criterion) {
    let caller = SocketAddr::from(([127, 0, 0, 1], 4_000));
    let agent = SocketAddr::from(([127, 0, 0, 1], 6_000));
    let now = Instant::now();
    let mut relay = Relay::new(
        RelayConfig {
            caller: relay_leg(1, caller),
            agent: relay_leg(2, agent),
            caller_to_agent: PayloadMap::Identity,
            agent_to_caller: PayloadMap::Identity,
        },
        now,
        SystemTime::now(),
    );
    let mut arriving = Rewrite {
        payload_type: 0,
        sequence: 0,
        timestamp: 0,
        ssrc: 7,
    };
    let mut packet = RtpHeader {
        marker: false,
        payload_type: 0,
        sequence: 0,
        timestamp: 0,
        ssrc: 7,
    }
    .encode(&[0xD5; 160]);
    c.bench_function("relay one 20 ms g711 packet", |b| {
        b.iter(|| {
            // The relay rewrote the last one: make it the caller's next packet again.
            arriving.sequence = arriving.sequence.wrapping_add(1);
            arriving.timestamp = arriving.timestamp.wrapping_add(160);
            rewrite_header(&mut packet, arriving);
            black_box(relay.handle_rtp(Side::Caller, now, caller, &mut packet))
        })
    });
}

fn transcoding(c: &mut Criterion) {
    const OPUS_PAYLOAD_TYPE: u8 = 111;
    let caller = SocketAddr::from(([127, 0, 0, 1], 4_000));
    let agent = SocketAddr::from(([127, 0, 0, 1], 6_000));
    let now = Instant::now();
    let mut relay = Relay::with_codecs(
        RelayConfig {
            caller: LegConfig {
                clock_rate: OPUS_RATE,
                ..relay_leg(1, caller)
            },
            agent: relay_leg(2, agent),
            caller_to_agent: PayloadMap::Identity,
            agent_to_caller: PayloadMap::Identity,
        },
        [
            (OPUS_PAYLOAD_TYPE, LegCodec::opus()),
            (0, G711::Pcmu.into()),
        ],
        now,
        SystemTime::now(),
    )
    .expect("libopus");
    let mut encoder = OpusEncoder::new(RATE, OpusConfig::default()).expect("libopus");
    let opus = encoder.encode(&frame_of(440.0)).expect("encodes");
    let pcmu = G711::Pcmu.encode(&frame_of(1_000.0));
    for (side, from, payload_type, payload, units) in [
        (Side::Caller, caller, OPUS_PAYLOAD_TYPE, opus, 960),
        (Side::Agent, agent, 0, pcmu, 160),
    ] {
        let mut arriving = Rewrite {
            payload_type,
            sequence: 0,
            timestamp: 0,
            ssrc: 7,
        };
        let mut packet = RtpHeader {
            marker: false,
            payload_type,
            sequence: 0,
            timestamp: 0,
            ssrc: 7,
        }
        .encode(&payload);
        let name = match side {
            Side::Caller => "relay transcode one 20 ms frame opus -> pcmu",
            Side::Agent => "relay transcode one 20 ms frame pcmu -> opus",
        };
        c.bench_function(name, |b| {
            b.iter(|| {
                arriving.sequence = arriving.sequence.wrapping_add(1);
                arriving.timestamp = arriving.timestamp.wrapping_add(units);
                rewrite_header(&mut packet, arriving);
                let _ = relay.handle_rtp(side, now, from, &mut packet);
                black_box(relay.poll_transmit())
            })
        });
    }
}

fn endpoint(c: &mut Criterion) {
    let phone = SocketAddr::from(([127, 0, 0, 1], 4_000));
    let config = EndpointConfig {
        leg: relay_leg(1, phone),
        codec: G711::Pcmu.into(),
        payload_type: 0,
        inband_dtmf: false,
    };
    let start = Instant::now();
    let mut echo = Endpoint::new(config.clone(), start, SystemTime::now()).expect("G.711");
    echo.set_echo(true);
    let mut arriving = Rewrite {
        payload_type: 0,
        sequence: 0,
        timestamp: 0,
        ssrc: 7,
    };
    let mut packet = RtpHeader {
        marker: false,
        payload_type: 0,
        sequence: 0,
        timestamp: 0,
        ssrc: 7,
    }
    .encode(&[0xD5; 160]);
    c.bench_function("endpoint echo one 20 ms g711 packet", |b| {
        b.iter(|| {
            arriving.sequence = arriving.sequence.wrapping_add(1);
            arriving.timestamp = arriving.timestamp.wrapping_add(160);
            rewrite_header(&mut packet, arriving);
            let _ = echo.handle_rtp(start, phone, black_box(&packet));
            black_box(echo.poll_transmit())
        })
    });
    let mut player = Endpoint::new(config, start, SystemTime::now()).expect("G.711");
    let frame: Arc<[i16]> = frame_of(440.0).into();
    c.bench_function("endpoint play one 20 ms g711 frame", |b| {
        b.iter(|| {
            player.play(Arc::clone(&frame));
            player.handle_timeout(player.poll_timeout());
            black_box(player.poll_event());
            black_box(player.poll_transmit())
        })
    });
}

fn conference(c: &mut Criterion) {
    let phones: Vec<SocketAddr> = (0..3)
        .map(|p| SocketAddr::from(([127, 0, 0, 1], 4_000 + 10 * p)))
        .collect();
    let participants = phones
        .iter()
        .zip(1..)
        .map(|(&phone, ssrc)| Participant {
            leg: relay_leg(ssrc, phone),
            codec: G711::Pcmu.into(),
            payload_type: 0,
        })
        .collect();
    let start = Instant::now();
    let mut conference = Conference::new(
        participants,
        SupervisorMode::Barge.hear_matrix(),
        start,
        SystemTime::now(),
    )
    .expect("three 8 kHz legs");
    let payloads: Vec<Vec<u8>> = [440.0, 1_000.0, 1_800.0]
        .into_iter()
        .map(|hz| G711::Pcmu.encode(&frame_of(hz)))
        .collect();
    // Counts frames beyond the u16 of sequence numbers, so time never goes back.
    let mut frame: u32 = 0;
    c.bench_function("conference barge 3 parties one 20 ms frame", |b| {
        b.iter(|| {
            let now = start + Duration::from_millis(20) * frame;
            for (p, (phone, payload)) in phones.iter().zip(&payloads).enumerate() {
                let packet = RtpHeader {
                    marker: false,
                    payload_type: 0,
                    sequence: frame as u16,
                    timestamp: frame.wrapping_mul(160),
                    ssrc: 7 + p as u32,
                }
                .encode(payload);
                let _ = conference.handle_rtp(p, now, *phone, black_box(&packet));
            }
            conference.handle_timeout(now);
            while let Some(transmit) = conference.poll_transmit() {
                black_box(transmit);
            }
            frame = frame.wrapping_add(1);
        })
    });
}

fn sdp(c: &mut Criterion) {
    let offer = include_str!("../fuzz/seeds/sdp/linphone.sdp");
    let local = SocketAddr::from(([127, 0, 0, 1], 30_000));
    c.bench_function("sdp parse + negotiate + answer linphone offer", |b| {
        b.iter(|| {
            let offer = SessionDescription::parse(black_box(offer)).expect("sample parses");
            let negotiated = negotiate(&offer, &[Codec::Pcma, Codec::Pcmu]).expect("negotiates");
            black_box(answer(&offer, &negotiated, local, 1, 1))
        })
    });
}

criterion_group!(
    benches,
    g711,
    opus,
    resampler,
    mixer,
    inband_dtmf,
    relay,
    transcoding,
    endpoint,
    conference,
    sdp
);
criterion_main!(benches);
