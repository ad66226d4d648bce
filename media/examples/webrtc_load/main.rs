//! The WebRTC bench (issue 9): N concurrent browser-equivalent WebRTC legs
//! (ICE, DTLS-SRTP) through kefu's gateway, each bridged to a plain-RTP leg
//! that echoes, driven by a load generator of our own, reporting per N the
//! connect time, packets and loss each way, round-trip time, the gateways'
//! CPU per leg (% of one core) and legs per core, and the generator's own
//! CPU.
//!
//! ```text
//! webrtc_load [--legs 50,200,500] [--seconds 10] [--warmup 2] [--rate 100] [--json FILE]
//! ```
//!
//! The gateways ([`server`]) run on a tokio runtime whose worker threads are
//! named, in this process; the generator's legs ([`leg`], one task each,
//! each a [`browser::Browser`] and an echoing engine socket) run on another
//! runtime with differently named threads, so each side's CPU time is read
//! from its threads ([`cpu`]). Legs are started at `--rate` per second;
//! the CPU both sides use until every leg has connected (or failed) is the
//! cost of connecting. Then every leg sends a packet every 20 ms; the
//! window starts after `--warmup` and lasts `--seconds`; packets sent
//! inside it are counted, and the CPU of both sides is measured over it.
//! Both sides share the machine's cores: on a small machine the figures
//! include their competition.

mod browser;
mod cpu;
mod leg;
mod report;
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use leg::{Phase, Tally, Window};
use report::{Measured, Run};
use server::{CONNECT_TIMEOUT, Server};

/// The load generator's worker threads.
const GENERATOR_THREADS: &str = "webrtc-load";
/// How long legs wait for late packets after the window: one that comes
/// back later counts as lost.
const DRAIN: Duration = Duration::from_secs(1);
/// Two port pairs per gateway in the server's range.
const MAX_LEGS: usize = 2_500;

struct Options {
    legs: Vec<usize>,
    seconds: u64,
    warmup: u64,
    rate: u64,
    json: Option<PathBuf>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = match parse(&args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("webrtc_load: {error}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    if let Err(error) = bench(&options) {
        eprintln!("webrtc_load: {error}");
        std::process::exit(1);
    }
}

fn usage() -> &'static str {
    "usage: webrtc_load [--legs 50,200,500] [--seconds 10] [--warmup 2] [--rate 100] [--json FILE]"
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        legs: vec![50, 200, 500],
        seconds: 10,
        warmup: 2,
        rate: 100,
        json: None,
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |text: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("{flag}: {text:?} is not a number"))
        };
        match flag.as_str() {
            "--legs" => {
                options.legs = value()?
                    .split(',')
                    .map(|n| number(n).map(|n| n as usize))
                    .collect::<Result<_, _>>()?;
            }
            "--seconds" => options.seconds = number(value()?)?.max(1),
            "--warmup" => options.warmup = number(value()?)?,
            "--rate" => options.rate = number(value()?)?.max(1),
            "--json" => options.json = Some(PathBuf::from(value()?)),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if options.legs.iter().any(|n| *n == 0 || *n > MAX_LEGS) {
        return Err(format!("--legs: each between 1 and {MAX_LEGS}"));
    }
    Ok(options)
}

fn bench(options: &Options) -> Result<(), String> {
    let server = Server::start().map_err(|e| format!("the server's runtime: {e}"))?;
    let generator = tokio::runtime::Builder::new_multi_thread()
        .thread_name(GENERATOR_THREADS)
        .enable_all()
        .build()
        .map_err(|e| format!("the generator's runtime: {e}"))?;
    println!(
        "webrtc bench: {} s measured after {} s warm-up, legs started at {}/s; per leg 50 packets/s \
         of {}-byte payloads each way, SRTP to the browser, plain RTP echoed by the engine's leg; \
         {} gateway and {} generator worker threads on {} cores",
        options.seconds,
        options.warmup,
        options.rate,
        leg::PAYLOAD,
        server.workers(),
        generator.metrics().num_workers(),
        std::thread::available_parallelism().map_or(1, usize::from),
    );
    report::print_header();
    let mut results = Vec::new();
    for &legs in &options.legs {
        let ports_before = server.available_ports();
        let result = generator.block_on(measure(&server, legs, options));
        report::print_row(&result);
        if server.available_ports() != ports_before {
            println!(
                "           ({} gateway port pairs not yet back in the pool)",
                ports_before.saturating_sub(server.available_ports())
            );
        }
        results.push(result);
    }
    if let Some(path) = &options.json {
        std::fs::write(path, report::json(&results))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    drop(generator);
    drop(server);
    Ok(())
}

/// One run of `legs` legs: ramp, warm-up, window, drain.
async fn measure(server: &Server, legs: usize, options: &Options) -> Measured {
    let (phase, phases) = watch::channel(Phase::Ramp);
    let (connected, mut connects) = mpsc::unbounded_channel();
    let setup_before = (
        cpu::threads_named(server::THREAD_NAME),
        cpu::threads_named(GENERATOR_THREADS),
    );
    let epoch = Instant::now();
    let interval = Duration::from_secs(1) / u32::try_from(options.rate).unwrap_or(u32::MAX);
    let mut tasks = Vec::with_capacity(legs);
    for index in 0..legs {
        tokio::time::sleep_until((epoch + interval * index as u32).into()).await;
        tasks.push(tokio::spawn(leg::run(
            index as u32,
            server.gateways(),
            epoch,
            phases.clone(),
            connected.clone(),
        )));
    }
    // Every leg says once whether it connected; a leg that never can has
    // said so by the connect timeout.
    let deadline = Instant::now() + CONNECT_TIMEOUT + Duration::from_secs(5);
    for _ in 0..legs {
        if tokio::time::timeout_at(deadline.into(), connects.recv())
            .await
            .is_err()
        {
            break;
        }
    }
    let ramp = epoch.elapsed();
    let setup = (
        cpu::threads_named(server::THREAD_NAME) - setup_before.0,
        cpu::threads_named(GENERATOR_THREADS) - setup_before.1,
    );
    let start = Instant::now() + Duration::from_secs(options.warmup);
    let window = Window {
        start,
        end: start + Duration::from_secs(options.seconds),
    };
    let _ = phase.send(Phase::Measure(window));
    tokio::time::sleep_until(window.start.into()).await;
    let before = (
        cpu::threads_named(server::THREAD_NAME),
        cpu::threads_named(GENERATOR_THREADS),
    );
    let measured_from = Instant::now();
    tokio::time::sleep_until(window.end.into()).await;
    let after = (
        cpu::threads_named(server::THREAD_NAME),
        cpu::threads_named(GENERATOR_THREADS),
    );
    let seconds = measured_from.elapsed().as_secs_f64();
    tokio::time::sleep(DRAIN).await;
    let _ = phase.send(Phase::Stop);
    let mut tallies = Vec::with_capacity(legs);
    for task in tasks {
        tallies.push(task.await.unwrap_or_else(|error| Tally {
            error: Some(error.to_string()),
            ..Tally::default()
        }));
    }
    Run {
        legs,
        ramp,
        seconds,
        setup,
        window: (after.0 - before.0, after.1 - before.1),
    }
    .with(&tallies)
}
