//! Web chat load: N visitor WebSockets against a `kefu serve --demo` of its
//! own (SQLite in a temporary data dir), messages at a fixed total rate for a
//! bounded time, and the demo agents accepting chats up to their capacity.
//!
//! Reports, per N: kefu's resident memory per open visitor connection, the
//! messages per second acknowledged (an ack means stored), ack latency
//! (visitor send → ack) and delivery latency to the agent side (visitor send →
//! `chat_message` on the agent WebSocket, for the conversations agents hold)
//! at p50/p99. Visitors connect from 127.0.0.2-127.0.0.251 so the per-address
//! rate limit sees many addresses, as it would on the Internet; messages the
//! limits refuse are counted, not retried.
//!
//! ```sh
//! cargo build --release --bin kefu --example chat_load
//! ulimit -n 65536
//! target/release/examples/chat_load --visitors 1000,5000,10000 --rate 5000 --seconds 10
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::sync::{Semaphore, mpsc};
use tokio_tungstenite::tungstenite::Message;

/// The run's sizes; see the module doc.
#[derive(Debug, Parser)]
struct Args {
    /// Visitor connections, one run per number.
    #[arg(long, value_delimiter = ',', default_value = "1000")]
    visitors: Vec<usize>,
    /// Messages per second, all visitors together.
    #[arg(long, default_value_t = 1000)]
    rate: u64,
    /// How long the messages are sent.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// The kefu binary to start.
    #[arg(long, default_value = "target/release/kefu")]
    kefu: PathBuf,
    /// Each demo agent's chat capacity (1-255).
    #[arg(long = "agent-capacity", default_value_t = 100)]
    capacity: u8,
    /// Where to write the figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// A `kefu serve --demo` of this run, killed when dropped.
struct Kefu {
    child: Child,
    http: SocketAddr,
    admin: String,
    agents: Vec<(String, String)>,
    _dir: tempfile::TempDir,
}

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_kefu(binary: &PathBuf) -> anyhow::Result<Kefu> {
    let dir = tempfile::tempdir()?;
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars() {
        if name.starts_with("KEFU_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args([
            "serve",
            "--demo",
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .env("KEFU_LOG_LEVEL", "warn")
        .current_dir(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = child.stdout.take().context("kefu's stdout")?;
    let mut admin = String::new();
    let mut agents = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(start) = line.find("kefu_admin_") {
            admin = line[start..].trim().to_owned();
        }
        if let (Some(ext), Some(start)) =
            (line.trim().strip_prefix("agent "), line.find("kefu_agent_"))
        {
            agents.push((ext[..4].to_owned(), line[start..].trim().to_owned()));
        }
        if let Some(rest) = line.split("http=http://").nth(1) {
            let http = rest.split(' ').next().unwrap_or_default().parse()?;
            return Ok(Kefu {
                child,
                http,
                admin,
                agents,
                _dir: dir,
            });
        }
    }
    bail!("kefu stopped before it was ready")
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Latencies in microseconds.
#[derive(Default)]
struct Samples(Mutex<Vec<u64>>);

impl Samples {
    fn add(&self, micros: u64) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(micros);
    }

    fn percentiles(&self) -> (usize, f64, f64) {
        let mut all = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        all.sort_unstable();
        let at = |p: f64| {
            all.get(((all.len() as f64 - 1.0) * p).round() as usize)
                .map_or(0.0, |&us| us as f64 / 1000.0)
        };
        (all.len(), at(0.5), at(0.99))
    }
}

#[derive(Default)]
struct Counters {
    refused: Mutex<HashMap<String, u64>>,
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn connect(addr: SocketAddr, path: &str, from: Ipv4Addr) -> anyhow::Result<Socket> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(from.into(), 0))?;
    let stream = socket.connect(addr).await?;
    let (socket, _) = tokio_tungstenite::client_async(format!("ws://{addr}{path}"), stream).await?;
    Ok(socket)
}

async fn next_of(socket: &mut Socket, kind: &str) -> anyhow::Result<Value> {
    while let Some(message) = socket.next().await {
        if let Message::Text(text) = message? {
            let frame: Value = serde_json::from_str(text.as_str())?;
            if frame["type"] == kind {
                return Ok(frame);
            }
        }
    }
    bail!("closed before `{kind}`")
}

/// One visitor: greets, starts a chat, then sends what it is told and
/// records ack latencies.
async fn visitor(
    addr: SocketAddr,
    n: usize,
    epoch: Instant,
    ready: mpsc::Sender<mpsc::Sender<u64>>,
    opening: tokio::sync::OwnedSemaphorePermit,
    acks: Arc<Samples>,
    counters: Arc<Counters>,
) -> anyhow::Result<()> {
    let from = Ipv4Addr::new(127, 0, 0, 2 + (n % 250) as u8);
    let mut socket = connect(addr, "/api/v1/chat/ws?channel=demo", from).await?;
    socket
        .send(Message::text(json!({"type": "hello", "v": 1}).to_string()))
        .await?;
    next_of(&mut socket, "welcome").await?;
    socket
        .send(Message::text(
            json!({"type": "message", "id": "hello", "text": "hello"}).to_string(),
        ))
        .await?;
    next_of(&mut socket, "ack").await?;
    let (orders, mut ordered) = mpsc::channel::<u64>(64);
    ready.send(orders).await?;
    drop(opening);
    let mut sent: HashMap<String, u64> = HashMap::new();
    loop {
        tokio::select! {
            order = ordered.recv() => {
                let Some(k) = order else { break };
                let now = epoch.elapsed().as_micros() as u64;
                let id = format!("m{k}");
                let frame = json!({"type": "message", "id": id, "text": format!("t={now}")});
                sent.insert(id, now);
                socket.send(Message::text(frame.to_string())).await?;
            }
            incoming = socket.next() => {
                let Some(Ok(Message::Text(text))) = incoming else {
                    if incoming.is_none() { break } else { continue }
                };
                let Ok(frame) = serde_json::from_str::<Value>(text.as_str()) else { continue };
                let id = frame["id"].as_str().unwrap_or_default();
                match frame["type"].as_str() {
                    Some("ack") => {
                        if let Some(at) = sent.remove(id) {
                            acks.add(epoch.elapsed().as_micros() as u64 - at);
                        }
                    }
                    Some("error") => {
                        sent.remove(id);
                        let code = frame["code"].as_str().unwrap_or("error").to_owned();
                        *counters.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).entry(code).or_default() += 1;
                    }
                    _ => {}
                }
            }
        }
    }
    Ok(())
}

/// One agent: accepts every offer and records delivery latencies.
async fn agent(
    addr: SocketAddr,
    token: String,
    epoch: Instant,
    delivered: Arc<Samples>,
) -> anyhow::Result<()> {
    let mut socket = connect(
        addr,
        &format!("/api/v1/agent/ws?token={token}"),
        Ipv4Addr::LOCALHOST,
    )
    .await?;
    while let Some(message) = socket.next().await {
        let Message::Text(text) = message? else {
            continue;
        };
        let frame: Value = serde_json::from_str(text.as_str())?;
        match frame["type"].as_str() {
            Some("offer") => {
                let accept = json!({"type": "accept", "contact": frame["contact"]});
                socket.send(Message::text(accept.to_string())).await?;
            }
            Some("chat_message") if frame["message"]["from"] == "visitor" => {
                if let Some(at) = frame["message"]["text"]
                    .as_str()
                    .and_then(|t| t.strip_prefix("t="))
                    .and_then(|t| t.parse::<u64>().ok())
                {
                    delivered.add(epoch.elapsed().as_micros() as u64 - at);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

async fn run(args: &Args, visitors: usize) -> anyhow::Result<Value> {
    let kefu = start_kefu(&args.kefu)?;
    let addr = kefu.http;
    let http = reqwest::Client::new();
    let epoch = Instant::now();
    let delivered = Arc::new(Samples::default());
    for (ext, token) in &kefu.agents {
        let base = format!("http://{addr}/api/v1/agents/{ext}");
        http.put(format!("{base}/capacity?tenant=demo"))
            .bearer_auth(&kefu.admin)
            .json(&json!({"chat": args.capacity}))
            .send()
            .await?
            .error_for_status()?;
        http.post(format!("{base}/login"))
            .bearer_auth(token)
            .send()
            .await?
            .error_for_status()?;
        http.put(format!("{base}/state"))
            .bearer_auth(token)
            .json(&json!({"state": "ready"}))
            .send()
            .await?
            .error_for_status()?;
        tokio::spawn(agent(addr, token.clone(), epoch, delivered.clone()));
    }
    let rss_before = rss_kib(kefu.child.id());
    let acks = Arc::new(Samples::default());
    let counters = Arc::new(Counters::default());
    let (ready_tx, mut ready_rx) = mpsc::channel(visitors.max(1));
    let opening = Arc::new(Semaphore::new(200));
    let started = Instant::now();
    for n in 0..visitors {
        let permit = opening.clone().acquire_owned().await?;
        let (ready, acks, counters) = (ready_tx.clone(), acks.clone(), counters.clone());
        tokio::spawn(async move {
            let ran = visitor(addr, n, epoch, ready, permit, acks, counters).await;
            if let Err(error) = ran {
                eprintln!("chat_load: visitor {n}: {error}");
            }
        });
    }
    drop(ready_tx);
    let mut senders = Vec::with_capacity(visitors);
    while senders.len() < visitors {
        match tokio::time::timeout(Duration::from_secs(60), ready_rx.recv()).await {
            Ok(Some(sender)) => senders.push(sender),
            _ => break,
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_after = rss_kib(kefu.child.id());
    let connected = senders.len();
    if connected == 0 {
        bail!("no visitor connected");
    }
    acks.0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();
    delivered
        .0
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clear();

    let total = args.rate * args.seconds;
    let begin = tokio::time::Instant::now();
    for k in 0..total {
        let due = begin + Duration::from_micros(k * 1_000_000 / args.rate.max(1));
        if due > tokio::time::Instant::now() {
            tokio::time::sleep_until(due).await;
        }
        let _ = senders[k as usize % connected].try_send(k);
    }
    let sending = begin.elapsed().as_secs_f64();
    let drain_until = Instant::now() + Duration::from_secs(10);
    while acks.percentiles().0 + refused_total(&counters) < total as usize
        && Instant::now() < drain_until
    {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = begin.elapsed().as_secs_f64();
    let (acked, ack_p50, ack_p99) = acks.percentiles();
    let (to_agents, delivery_p50, delivery_p99) = delivered.percentiles();
    let refused = counters
        .refused
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    let figures = json!({
        "visitors": visitors,
        "connected": connected,
        "connect_seconds": round(connect_secs),
        "rss_kib_before": rss_before,
        "rss_kib_after_connect": rss_after,
        "kib_per_connection": round(rss_after.saturating_sub(rss_before) as f64 / connected as f64),
        "rate_asked": args.rate,
        "sent": total,
        "sending_seconds": round(sending),
        "acked": acked,
        "acked_per_second": round(acked as f64 / elapsed),
        "ack_p50_ms": round(ack_p50),
        "ack_p99_ms": round(ack_p99),
        "delivered_to_agents": to_agents,
        "delivery_p50_ms": round(delivery_p50),
        "delivery_p99_ms": round(delivery_p99),
        "refused": refused,
    });
    Ok(figures)
}

fn refused_total(counters: &Counters) -> usize {
    counters
        .refused
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .values()
        .sum::<u64>() as usize
}

fn round(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    println!(
        "{:>8} {:>9} {:>9} {:>10} {:>10} {:>9} {:>9} {:>10} {:>9} {:>9}  refused",
        "visitors",
        "connected",
        "KiB/conn",
        "sent",
        "acked/s",
        "ack p50",
        "ack p99",
        "to agents",
        "dlv p50",
        "dlv p99"
    );
    for &visitors in &args.visitors {
        let figures = runtime.block_on(run(&args, visitors))?;
        let f = |key: &str| figures[key].to_string();
        println!(
            "{:>8} {:>9} {:>9} {:>10} {:>10} {:>7}ms {:>7}ms {:>10} {:>7}ms {:>7}ms  {}",
            f("visitors"),
            f("connected"),
            f("kib_per_connection"),
            f("sent"),
            f("acked_per_second"),
            f("ack_p50_ms"),
            f("ack_p99_ms"),
            f("delivered_to_agents"),
            f("delivery_p50_ms"),
            f("delivery_p99_ms"),
            f("refused"),
        );
        results.push(figures);
    }
    if let Some(path) = &args.json {
        let report = json!({
            "benchmark": "chat_load",
            "cores": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1),
            "rate": args.rate,
            "seconds": args.seconds,
            "agent_chat_capacity": args.capacity,
            "runs": results,
        });
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    // Visitor tasks still hold sockets to the stopped servers: do not wait for them.
    runtime.shutdown_timeout(Duration::from_millis(100));
    Ok(())
}
