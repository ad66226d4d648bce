//! Hot paths of the media engine, per 20 ms frame at 8 kHz: G.711 decode and
//! encode, a three-party hear-matrix mix, and in-band DTMF detection.
//! Run with `cargo bench -p kefu-media -- --quick`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_media::dtmf::inband::InbandDtmfDetector;
use kefu_media::g711::G711;
use kefu_media::mixer::{Mixer, SupervisorMode};
use kefu_media::pcm::SampleRate;
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

criterion_group!(benches, g711, mixer, inband_dtmf);
criterion_main!(benches);
