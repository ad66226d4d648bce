//! The figures of one run, summed over its legs, as a table row and as
//! JSON (`bench/results/webrtc.json`). CPU per leg divides the gateways'
//! CPU by the legs carried: the round trips completed (packets sent inside
//! the window that came back before its end plus the drain), 50 a second
//! per leg. A starved generator that sends less, or a gateway that falls
//! behind and delivers late, therefore never flatters the gateway.
//! **starved%** is the share of the time the gateways' threads were
//! runnable that they waited for a CPU: near 0 on a quiet machine; high,
//! the machine's other load set the pace.

use std::fmt::Write as _;
use std::time::Duration;

use crate::cpu::ThreadTimes;
use crate::leg::{FRAME, Tally};

/// What the driver measured of one run, besides the legs' tallies.
pub struct Run {
    pub legs: usize,
    /// From the first offer until every leg had connected or failed.
    pub ramp: Duration,
    /// The window's length as measured.
    pub seconds: f64,
    /// The gateways' and the generator's threads during the ramp.
    pub setup: (ThreadTimes, ThreadTimes),
    /// The same over the window.
    pub window: (ThreadTimes, ThreadTimes),
}

impl Run {
    /// The run's figures with its legs' tallies summed.
    pub fn with(self, tallies: &[Tally]) -> Measured {
        let micros = |d: Duration| u32::try_from(d.as_micros()).unwrap_or(u32::MAX);
        let mut connects: Vec<u32> = tallies
            .iter()
            .filter_map(|t| t.connect)
            .map(micros)
            .collect();
        connects.sort_unstable();
        let mut round_trips: Vec<u32> = tallies
            .iter()
            .flat_map(|t| t.round_trips.iter().copied())
            .collect();
        round_trips.sort_unstable();
        let sum = |count: fn(&Tally) -> u64| tallies.iter().map(count).sum();
        Measured {
            connected: connects.len(),
            error: tallies.iter().find_map(|t| t.error.clone()),
            connects,
            sent: sum(|t| t.sent),
            at_engine: sum(|t| t.at_engine),
            echoed: sum(|t| t.echoed),
            at_browser: sum(|t| t.at_browser),
            misrouted: sum(|t| t.misrouted),
            round_trips,
            server: self.window.0,
            generator: self.window.1,
            run: self,
        }
    }
}

/// A median round trip (twice through the gateway, once through the
/// generator, on loopback) above this means packets wait in the sockets'
/// buffers: one side is behind.
const QUEUEING_MS: f64 = 100.0;

/// One measured run.
pub struct Measured {
    run: Run,
    connected: usize,
    /// The first failure, if any leg failed.
    error: Option<String>,
    /// Connect times in microseconds, sorted.
    connects: Vec<u32>,
    sent: u64,
    at_engine: u64,
    echoed: u64,
    at_browser: u64,
    misrouted: u64,
    /// Round trips in microseconds, sorted.
    round_trips: Vec<u32>,
    /// The gateways' threads over the window.
    server: ThreadTimes,
    /// The generator's threads over the window.
    generator: ThreadTimes,
}

impl Measured {
    fn packets_per_second_per_leg() -> f64 {
        1.0 / FRAME.as_secs_f64()
    }

    /// The legs the completed round trips amount to.
    fn carried_legs(&self) -> f64 {
        self.at_browser as f64 / self.run.seconds / Self::packets_per_second_per_leg()
    }

    /// The gateways' CPU as a share of one core.
    fn server_share(&self) -> f64 {
        self.server.on_cpu.as_secs_f64() / self.run.seconds
    }

    fn generator_share(&self) -> f64 {
        self.generator.on_cpu.as_secs_f64() / self.run.seconds
    }

    /// More than 1 % of the packets came back late or not at all: the
    /// gateways (or the generator) fell behind, and CPU per leg says more
    /// about the machine's other load than about the gateway.
    fn overloaded(&self) -> bool {
        self.loss_to_engine_percent() + self.loss_to_browser_percent() > 1.0
    }

    /// The gateways' CPU per leg carried, in % of one core; none when
    /// overloaded.
    fn cpu_per_leg_percent(&self) -> Option<f64> {
        (!self.overloaded() && self.carried_legs() > 0.0)
            .then(|| 100.0 * self.server_share() / self.carried_legs())
    }

    /// Legs one fully busy core would carry at this per-leg cost.
    fn legs_per_core(&self) -> Option<f64> {
        (!self.overloaded() && self.server_share() > 0.0)
            .then(|| self.carried_legs() / self.server_share())
    }

    /// CPU milliseconds per leg connected during the ramp: answer, DTLS
    /// certificate, ICE, DTLS handshake (and the ramp's timers), for the
    /// gateways and for the generator.
    fn connect_cpu_ms(&self) -> (f64, f64) {
        let per_leg = |times: ThreadTimes| {
            1_000.0 * times.on_cpu.as_secs_f64() / self.connected.max(1) as f64
        };
        (per_leg(self.run.setup.0), per_leg(self.run.setup.1))
    }

    fn loss_to_engine_percent(&self) -> f64 {
        loss(self.sent, self.at_engine)
    }

    fn loss_to_browser_percent(&self) -> f64 {
        loss(self.echoed, self.at_browser)
    }
}

fn loss(sent: u64, received: u64) -> f64 {
    if sent == 0 {
        return 100.0;
    }
    100.0 * sent.saturating_sub(received) as f64 / sent as f64
}

/// The value at rank `p` of sorted microseconds, in milliseconds.
fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[rank]) / 1_000.0
}

pub fn print_header() {
    println!(
        "{:>5} {:>9} {:>17} {:>12} {:>8} {:>8} {:>8} {:>15} {:>7} {:>9} {:>9} {:>6} {:>8}",
        "legs",
        "connected",
        "connect p50/p99",
        "cpu ms/conn",
        "sent/s",
        "loss>eng",
        "loss>brw",
        "rtt p50/p99",
        "gw cpu%",
        "cpu%/leg",
        "legs/core",
        "gen%",
        "starved%"
    );
}

pub fn print_row(result: &Measured) {
    let connect_cpu = result.connect_cpu_ms();
    let figure = |value: Option<f64>, decimals: usize| {
        value.map_or_else(|| "-".to_owned(), |value| format!("{value:.decimals$}"))
    };
    println!(
        "{:>5} {:>9} {:>17} {:>12} {:>8.0} {:>8.3} {:>8.3} {:>15} {:>7.1} {:>9} {:>9} {:>6.1} {:>8.0}",
        result.run.legs,
        result.connected,
        format!(
            "{:.1}/{:.1} ms",
            percentile_ms(&result.connects, 0.5),
            percentile_ms(&result.connects, 0.99)
        ),
        format!("{:.2}/{:.2}", connect_cpu.0, connect_cpu.1),
        result.sent as f64 / result.run.seconds,
        result.loss_to_engine_percent(),
        result.loss_to_browser_percent(),
        format!(
            "{:.2}/{:.2} ms",
            percentile_ms(&result.round_trips, 0.5),
            percentile_ms(&result.round_trips, 0.99)
        ),
        100.0 * result.server_share(),
        figure(result.cpu_per_leg_percent(), 4),
        figure(result.legs_per_core(), 0),
        100.0 * result.generator_share(),
        100.0 * result.server.starved(),
    );
    let nominal = result.run.legs as f64 * Measured::packets_per_second_per_leg();
    if result.sent as f64 / result.run.seconds < 0.95 * nominal {
        println!(
            "           (the browsers sent {:.0} % of the nominal {nominal:.0} packets/s)",
            100.0 * result.sent as f64 / result.run.seconds / nominal
        );
    }
    if !result.overloaded() && percentile_ms(&result.round_trips, 0.5) > QUEUEING_MS {
        println!(
            "           (queueing: round trips above {QUEUEING_MS} ms at p50; more datagrams per wake-up flatter the per-leg cost)"
        );
    }
    if result.overloaded() {
        println!(
            "           (overloaded: packets came back late or not at all, {:.0} legs carried; no per-leg figure)",
            result.carried_legs()
        );
    }
    if let Some(error) = &result.error {
        println!(
            "           ({} of {} legs failed; the first: {error})",
            result.run.legs - result.connected,
            result.run.legs
        );
    }
    if result.misrouted > 0 {
        println!(
            "           ({} packets reached the wrong leg)",
            result.misrouted
        );
    }
}

pub fn json(results: &[Measured]) -> String {
    let mut out = String::from("[\n");
    for (index, result) in results.iter().enumerate() {
        let _ = writeln!(
            out,
            "  {{\"legs\": {}, \"connected\": {}, \"ramp_seconds\": {:.3}, \"connect_p50_ms\": {:.2}, \
             \"connect_p99_ms\": {:.2}, \"connect_max_ms\": {:.2}, \
             \"gateway_cpu_ms_per_connect\": {:.3}, \"generator_cpu_ms_per_connect\": {:.3}, \"seconds\": {:.3}, \
             \"sent_to_engine\": {}, \"received_at_engine\": {}, \"echoed_to_browser\": {}, \
             \"received_at_browser\": {}, \"misrouted\": {}, \"loss_to_engine_percent\": {:.4}, \
             \"loss_to_browser_percent\": {:.4}, \"round_trip_p50_ms\": {:.3}, \"round_trip_p99_ms\": {:.3}, \
             \"gateway_cpu_percent\": {:.2}, \"cpu_percent_per_leg\": {}, \"legs_per_core\": {}, \
             \"legs_carried\": {:.1}, \"generator_cpu_percent\": {:.2}, \"gateway_starved_percent\": {:.1}, \
             \"generator_starved_percent\": {:.1}}}{}",
            result.run.legs,
            result.connected,
            result.run.ramp.as_secs_f64(),
            percentile_ms(&result.connects, 0.5),
            percentile_ms(&result.connects, 0.99),
            percentile_ms(&result.connects, 1.0),
            result.connect_cpu_ms().0,
            result.connect_cpu_ms().1,
            result.run.seconds,
            result.sent,
            result.at_engine,
            result.echoed,
            result.at_browser,
            result.misrouted,
            result.loss_to_engine_percent(),
            result.loss_to_browser_percent(),
            percentile_ms(&result.round_trips, 0.5),
            percentile_ms(&result.round_trips, 0.99),
            100.0 * result.server_share(),
            json_number(result.cpu_per_leg_percent(), 5),
            json_number(result.legs_per_core(), 1),
            result.carried_legs(),
            100.0 * result.generator_share(),
            100.0 * result.server.starved(),
            100.0 * result.generator.starved(),
            if index + 1 == results.len() { "" } else { "," },
        );
    }
    out.push_str("]\n");
    out
}

fn json_number(value: Option<f64>, decimals: usize) -> String {
    value.map_or_else(|| "null".to_owned(), |value| format!("{value:.decimals$}"))
}
