//! The recorder's cost per call: writing a one-minute stereo call at 8 and
//! 48 kHz (20 ms frames from both legs, the writer advanced every frame,
//! finalised at the end), and a retention sweep over a month of day
//! directories. Run with `cargo bench -p kefu-recordings -- --quick`.

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use criterion::{Criterion, criterion_group, criterion_main};
use kefu_recordings::{SampleRate, Side, StereoWavWriter, sweep};

const FRAME: Duration = Duration::from_millis(20);
const CALL_FRAMES: u32 = 3_000;

fn one_minute_call(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary directory");
    for rate in [SampleRate::Narrowband, SampleRate::Fullband] {
        let per_frame = rate.samples_in(FRAME) as usize;
        let caller: Vec<i16> = (0..per_frame).map(|n| (n % 512) as i16 * 64).collect();
        let agent: Vec<i16> = caller.iter().map(|s| -s).collect();
        let path = dir.path().join(format!("call-{}.wav", rate.hz()));
        c.bench_function(
            &format!("record 60 s stereo call at {} Hz", rate.hz()),
            |b| {
                b.iter(|| {
                    let origin = Instant::now();
                    let mut writer =
                        StereoWavWriter::create(&path, rate, origin).expect("recording file");
                    for index in 0..CALL_FRAMES {
                        let at = origin + FRAME * index;
                        writer.write_frame(Side::Caller, at, black_box(&caller));
                        writer.write_frame(Side::Agent, at, black_box(&agent));
                        writer.advance_to(at + FRAME).expect("write");
                    }
                    let finished = writer.finish(origin + FRAME * CALL_FRAMES).expect("finish");
                    std::fs::remove_file(&path).expect("remove recording");
                    finished.bytes
                })
            },
        );
    }
}

fn retention_sweep(c: &mut Criterion) {
    // 2026-11-25T12:00:00Z
    let now = UNIX_EPOCH + Duration::from_secs(1_795_608_000);
    c.bench_function("sweep 31 days x 20 recordings, all kept", |b| {
        let data = tempfile::tempdir().expect("temporary directory");
        for day in 1..=31 {
            let dir = data.path().join(format!("recordings/2026/10/{day:02}"));
            std::fs::create_dir_all(&dir).expect("day directory");
            for call in 0..20 {
                std::fs::write(dir.join(format!("call-{call}.wav")), b"RIFF").expect("file");
            }
        }
        b.iter(|| sweep(data.path(), 365, black_box(now)).expect("sweep"))
    });
}

criterion_group!(benches, one_minute_call, retention_sweep);
criterion_main!(benches);
