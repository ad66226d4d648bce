//! The relay benchmark (issue 5): N concurrent G.711 call pairs through a
//! media relay on loopback, driven by a load generator of our own, reporting
//! per N the relay's CPU per call (% of one core), packet loss and one-way
//! latency, for kefu's relay tasks and for rtpengine (userspace, over ng) in
//! the same run, and the ratio of their calls per core.
//!
//! ```text
//! relay_load [--targets kefu,rtpengine,direct] [--pairs 100,500,1000,2000]
//!            [--seconds 10] [--warmup 2] [--json FILE] [--rtpengine-script PATH]
//! ```
//!
//! Each pair is two phones (sockets of this process) sending 50 packets a
//! second each way ([`generator`]); the relay is a separate process
//! ([`target`]) whose CPU time is read from `/proc/PID/stat` over the
//! measured window, after a warm-up. `direct` sends phone to phone
//! without a relay: the loopback baseline that latency is added to. The
//! generator runs on the same cores as the relay, so figures on a small
//! machine include its competition; its own CPU is reported too. When the
//! generator cannot keep up it sends fewer packets than nominal; loss counts
//! what it sent, and CPU per call divides by the calls those packets amount to
//! (100 packets/s each), so a starved generator does not flatter a relay.

mod generator;
mod ng;
mod target;

use std::fmt::Write as _;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use generator::{Counts, Phone, Window};
use target::{Kind, Target};

/// How long receivers wait for late packets after the last send.
const DRAIN: Duration = Duration::from_millis(300);

struct Options {
    targets: Vec<Kind>,
    pairs: Vec<usize>,
    seconds: u64,
    warmup: u64,
    json: Option<PathBuf>,
    rtpengine_script: PathBuf,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [mode, range] = args.as_slice() {
        if mode == "serve" {
            if let Err(error) = target::serve(range) {
                eprintln!("relay_load serve: {error}");
                std::process::exit(1);
            }
            return;
        }
    }
    let options = match parse(&args) {
        Ok(options) => options,
        Err(error) => {
            eprintln!("relay_load: {error}\n\n{}", usage());
            std::process::exit(2);
        }
    };
    if let Err(error) = bench(&options) {
        eprintln!("relay_load: {error}");
        std::process::exit(1);
    }
}

fn usage() -> &'static str {
    "usage: relay_load [--targets kefu,rtpengine,direct] [--pairs 100,500,1000,2000] \
     [--seconds 10] [--warmup 2] [--json FILE] [--rtpengine-script PATH]"
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut options = Options {
        targets: vec![Kind::Kefu, Kind::Rtpengine, Kind::Direct],
        pairs: vec![100, 500, 1000, 2000],
        seconds: 10,
        warmup: 2,
        json: None,
        rtpengine_script: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../bench/peers/rtpengine.sh"),
    };
    let mut args = args.iter();
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{flag} needs a value"));
        let number = |text: &str| {
            text.parse::<u64>()
                .map_err(|_| format!("{flag}: {text:?} is not a number"))
        };
        match flag.as_str() {
            "--targets" => {
                options.targets = value()?
                    .split(',')
                    .map(|name| Kind::parse(name).ok_or_else(|| format!("unknown target {name:?}")))
                    .collect::<Result<_, _>>()?;
            }
            "--pairs" => {
                options.pairs = value()?
                    .split(',')
                    .map(|n| number(n).map(|n| n as usize))
                    .collect::<Result<_, _>>()?;
            }
            "--seconds" => options.seconds = number(value()?)?.max(1),
            "--warmup" => options.warmup = number(value()?)?,
            "--json" => options.json = Some(PathBuf::from(value()?)),
            "--rtpengine-script" => options.rtpengine_script = PathBuf::from(value()?),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    if options.pairs.iter().any(|n| *n == 0 || *n > 2_400) {
        return Err("--pairs: each between 1 and 2400 (four relay ports per pair)".to_owned());
    }
    Ok(options)
}

/// One measured run.
struct Measured {
    target: Kind,
    pairs: usize,
    seconds: f64,
    counts: Counts,
    target_cpu: Duration,
    generator_cpu: Duration,
}

impl Measured {
    /// The relay's CPU as a share of one core.
    fn cpu_share(&self) -> f64 {
        self.target_cpu.as_secs_f64() / self.seconds
    }

    /// Packets per second the generator really sent in the window; below
    /// the nominal rate when it could not keep up.
    fn offered_pps(&self) -> f64 {
        self.counts.sent as f64 / self.seconds
    }

    /// The calls the offered packets amount to (100 packets/s per call),
    /// which CPU per call is divided by.
    fn offered_calls(&self) -> f64 {
        self.offered_pps() / (2.0 * generator::packets_per_second_per_stream())
    }

    fn cpu_per_call_percent(&self) -> f64 {
        100.0 * self.cpu_share() / self.offered_calls().max(1.0)
    }

    /// Calls one fully busy core would relay at this per-call cost.
    fn calls_per_core(&self) -> Option<f64> {
        (self.cpu_share() > 0.0).then(|| self.offered_calls() / self.cpu_share())
    }

    fn loss_percent(&self) -> f64 {
        if self.counts.sent == 0 {
            return 100.0;
        }
        100.0 * self.counts.lost() as f64 / self.counts.sent as f64
    }
}

fn bench(options: &Options) -> Result<(), String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    println!(
        "relay bench: {} s measured after {} s warm-up, 2 x 50 packets/s of 172-byte PCMU per pair",
        options.seconds, options.warmup
    );
    println!(
        "{:<10} {:>5} {:>8} {:>8} {:>9} {:>9} {:>8} {:>7} {:>7} {:>7} {:>6}",
        "target",
        "pairs",
        "sent/s",
        "cpu%",
        "cpu%/call",
        "calls/cpu",
        "loss%",
        "p50us",
        "p99us",
        "maxus",
        "gen%"
    );
    let mut targets = options
        .targets
        .iter()
        .map(|&kind| {
            Target::start(kind, &options.rtpengine_script)
                .map_err(|e| format!("{}: {e}", kind.name()))
        })
        .collect::<Result<Vec<_>, _>>()?;
    // Targets take turns at each size, so a change in the machine's other
    // load between sizes affects them alike.
    let mut results = Vec::new();
    for &pairs in &options.pairs {
        for target in &mut targets {
            let result = measure(&runtime, target, pairs, options)
                .map_err(|e| format!("{} with {pairs} pairs: {e}", target.kind.name()))?;
            print_row(&result);
            results.push(result);
        }
    }
    print_ratios(&results);
    if let Some(path) = &options.json {
        std::fs::write(path, json(&results)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn measure(
    runtime: &tokio::runtime::Runtime,
    target: &mut Target,
    pairs: usize,
    options: &Options,
) -> std::io::Result<Measured> {
    let mut phones = Vec::with_capacity(pairs * 2);
    for index in 0..pairs {
        let a = UdpSocket::bind("127.0.0.1:0")?;
        let b = UdpSocket::bind("127.0.0.1:0")?;
        a.set_nonblocking(true)?;
        b.set_nonblocking(true)?;
        let (a_to, b_to) = target.open(index, a.local_addr()?, b.local_addr()?)?;
        let stream = (index * 2) as u32;
        phones.push(Phone {
            socket: a,
            send_to: a_to,
            stream,
            expects: stream + 1,
        });
        phones.push(Phone {
            socket: b,
            send_to: b_to,
            stream: stream + 1,
            expects: stream,
        });
    }
    let epoch = Instant::now() + Duration::from_millis(50);
    let window = Window {
        epoch,
        start: Duration::from_secs(options.warmup),
        end: Duration::from_secs(options.warmup + options.seconds),
    };
    let pid = target.pid();
    let sampler = std::thread::spawn(move || {
        let sleep_until = |at: Instant| {
            if let Some(wait) = at.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        };
        sleep_until(epoch + window.start);
        let before = (pid.map(cpu_time), cpu_time(std::process::id()));
        let started = Instant::now();
        sleep_until(epoch + window.end);
        let after = (pid.map(cpu_time), cpu_time(std::process::id()));
        let relay = match (before.0, after.0) {
            (Some(before), Some(after)) => after.saturating_sub(before),
            _ => Duration::ZERO,
        };
        (relay, after.1.saturating_sub(before.1), started.elapsed())
    });
    let counts = generator::run(runtime, phones, window, DRAIN)?;
    let (target_cpu, generator_cpu, measured) = sampler
        .join()
        .map_err(|_| std::io::Error::other("the CPU sampler panicked"))?;
    target.clear()?;
    Ok(Measured {
        target: target.kind,
        pairs,
        seconds: measured.as_secs_f64(),
        counts,
        target_cpu,
        generator_cpu,
    })
}

/// CPU time (user + system) of process `pid` so far, threads that ended
/// included: `/proc/PID/stat`, in clock ticks of 10 ms (Linux's USER_HZ).
fn cpu_time(pid: u32) -> Duration {
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return Duration::ZERO;
    };
    // Fields after the command name in parentheses: utime is the 12th, stime the 13th.
    let after_name = text.rsplit_once(')').map_or("", |(_, rest)| rest);
    let ticks: u64 = after_name
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|field| field.parse::<u64>().ok())
        .sum();
    Duration::from_millis(ticks * 10)
}

fn print_row(result: &Measured) {
    let nominal = result.pairs as f64 * 2.0 * generator::packets_per_second_per_stream();
    let calls_per_core = result
        .calls_per_core()
        .map_or_else(|| "-".to_owned(), |calls| format!("{calls:.0}"));
    println!(
        "{:<10} {:>5} {:>8.0} {:>8.1} {:>9.4} {:>9} {:>8.3} {:>7} {:>7} {:>7} {:>6.1}",
        result.target.name(),
        result.pairs,
        result.offered_pps(),
        100.0 * result.cpu_share(),
        result.cpu_per_call_percent(),
        calls_per_core,
        result.loss_percent(),
        result.counts.percentile(0.5),
        result.counts.percentile(0.99),
        result.counts.latencies.last().copied().unwrap_or(0),
        100.0 * result.generator_cpu.as_secs_f64() / result.seconds,
    );
    if result.offered_pps() < 0.95 * nominal {
        println!(
            "           (the generator sent {:.0} % of the nominal {nominal:.0} packets/s: per call figures use what it sent)",
            100.0 * result.offered_pps() / nominal
        );
    }
    if result.counts.misrouted > 0 || result.counts.send_failed > 0 {
        println!(
            "           ({} misrouted packets, {} sends refused by the generator's socket)",
            result.counts.misrouted, result.counts.send_failed
        );
    }
}

/// kefu against rtpengine per N: calls per core (higher is better) and the
/// latency each adds to the direct baseline.
fn print_ratios(results: &[Measured]) {
    let find = |kind: Kind, pairs: usize| {
        results
            .iter()
            .find(|r| r.target == kind && r.pairs == pairs)
    };
    let mut printed_header = false;
    for result in results.iter().filter(|r| r.target == Kind::Kefu) {
        let Some(reference) = find(Kind::Rtpengine, result.pairs) else {
            continue;
        };
        if !printed_header {
            println!(
                "\n{:>5} {:>22} {:>12} {:>12} {:>16}",
                "pairs", "calls/core kefu/rtpe", "loss% kefu", "loss% rtpe", "added p50 k/r us"
            );
            printed_header = true;
        }
        let ratio = match (result.calls_per_core(), reference.calls_per_core()) {
            (Some(kefu), Some(rtpengine)) => format!("{:.2}", kefu / rtpengine),
            _ => "-".to_owned(),
        };
        let added = find(Kind::Direct, result.pairs).map_or_else(
            || "-".to_owned(),
            |direct| {
                let base = i64::from(direct.counts.percentile(0.5));
                format!(
                    "{}/{}",
                    i64::from(result.counts.percentile(0.5)) - base,
                    i64::from(reference.counts.percentile(0.5)) - base
                )
            },
        );
        println!(
            "{:>5} {:>22} {:>12.3} {:>12.3} {:>16}",
            result.pairs,
            ratio,
            result.loss_percent(),
            reference.loss_percent(),
            added
        );
    }
}

fn json(results: &[Measured]) -> String {
    let mut out = String::from("[\n");
    for (index, result) in results.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {{\"target\": \"{}\", \"pairs\": {}, \"seconds\": {:.3}, \"sent\": {}, \"received\": {}, \
             \"offered_pps\": {:.0}, \"misrouted\": {}, \"send_failed\": {}, \"loss_percent\": {:.4}, \"cpu_percent\": {:.2}, \
             \"cpu_percent_per_call\": {:.5}, \"calls_per_core\": {:.1}, \"latency_p50_us\": {}, \
             \"latency_p99_us\": {}, \"latency_max_us\": {}, \"generator_cpu_percent\": {:.2}}}{}",
            result.target.name(),
            result.pairs,
            result.seconds,
            result.counts.sent,
            result.counts.received,
            result.offered_pps(),
            result.counts.misrouted,
            result.counts.send_failed,
            result.loss_percent(),
            100.0 * result.cpu_share(),
            result.cpu_per_call_percent(),
            result.calls_per_core().unwrap_or(0.0),
            result.counts.percentile(0.5),
            result.counts.percentile(0.99),
            result.counts.latencies.last().copied().unwrap_or(0),
            100.0 * result.generator_cpu.as_secs_f64() / result.seconds,
            if index + 1 == results.len() { "" } else { "," },
        );
    }
    out.push_str("]\n");
    out
}
