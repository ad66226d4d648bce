//! Wallboard fan-out under a burst: a `kefu serve` of its own (SQLite in a
//! temporary data dir, provisioned with one tenant, 10 queues and N agents),
//! V supervisor WebSockets open on it, then every agent logs in and goes
//! ready through the API as fast as 64 concurrent requests allow (2N state
//! changes).
//!
//! Reports, per N: the snapshot's size and how long it took to arrive, how
//! long the burst's requests took, and per viewer the frames it got during
//! the burst (total and the most in any one second), the bytes, and when it
//! first saw every agent ready (after the burst's last answer).
//!
//! ```sh
//! cargo build --release --bin kefu --example wallboard_load
//! target/release/examples/wallboard_load --agents 100,500,2000 --viewers 20
//! ```

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures_util::StreamExt;
use kefu::config::DatabaseUrl;
use kefu::store::{NewUser, Role, Store};
use serde_json::{Value, json};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::Message;

/// Queues the agents are spread over.
const QUEUES: usize = 10;
/// API requests in flight during the burst.
const CONCURRENCY: usize = 64;
/// How long a viewer may take to see every agent ready.
const PATIENCE: Duration = Duration::from_secs(60);

/// The run's sizes; see the module doc.
#[derive(Debug, Parser)]
struct Args {
    /// Agents going ready in the burst, one run per number.
    #[arg(long, value_delimiter = ',', default_value = "500")]
    agents: Vec<usize>,
    /// Supervisor WebSockets watching.
    #[arg(long, default_value_t = 20)]
    viewers: usize,
    /// The kefu binary to start.
    #[arg(long, default_value = "target/release/kefu")]
    kefu: PathBuf,
    /// Where to write the figures as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
}

/// Tenant `load`, queues `q0`…, agents with extensions from 20000, each in one queue.
async fn provision(dir: &Path, agents: usize) -> anyhow::Result<()> {
    let url = DatabaseUrl::Sqlite(format!(
        "sqlite://{}?mode=rwc",
        dir.join("kefu.db").display()
    ));
    let store = Store::open(&url, 4).await?;
    let tenant = store.ensure_tenant("load", "load").await?;
    let mut queues = Vec::new();
    for q in 0..QUEUES {
        queues.push(store.ensure_queue(&tenant.id, &format!("q{q}")).await?);
    }
    for i in 0..agents {
        let extension = (20_000 + i).to_string();
        let name = format!("Agent {i}");
        let (user, _) = store
            .ensure_user(&NewUser {
                tenant_id: &tenant.id,
                username: &extension,
                display_name: &name,
                role: Role::Agent,
                extension: Some(&extension),
                password: None,
            })
            .await?;
        store
            .set_queue_member(&queues[i % QUEUES].id, &user.id, 1, 0)
            .await?;
    }
    Ok(())
}

/// A `kefu serve` of this run, killed when dropped.
struct Kefu {
    child: Child,
    http: SocketAddr,
    admin: String,
}

impl Drop for Kefu {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_kefu(binary: &Path, dir: &Path) -> anyhow::Result<Kefu> {
    let mut command = Command::new(binary);
    for (name, _) in std::env::vars() {
        if name.starts_with("KEFU_") || name == "RUST_LOG" {
            command.env_remove(name);
        }
    }
    let mut child = command
        .args([
            "serve",
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir)
        .env("KEFU_LOG_LEVEL", "warn")
        .current_dir(dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {}", binary.display()))?;
    let stdout = child.stdout.take().context("kefu's stdout")?;
    let mut admin = String::new();
    for line in BufReader::new(stdout).lines() {
        let line = line?;
        if let Some(start) = line.find("kefu_admin_") {
            admin = line[start..].trim().to_owned();
        }
        if let Some(rest) = line.split("http=http://").nth(1) {
            let http = rest.split(' ').next().unwrap_or_default().parse()?;
            if admin.is_empty() {
                bail!("kefu printed no admin token");
            }
            return Ok(Kefu { child, http, admin });
        }
    }
    bail!("kefu stopped before it was ready")
}

/// What one viewer saw.
struct Seen {
    snapshot_bytes: usize,
    snapshot_ms: f64,
    /// Arrival and size of each update.
    frames: Vec<(Instant, usize)>,
    /// When every agent showed ready.
    all_ready: Option<Instant>,
}

async fn watch(kefu: &Kefu, agents: usize) -> anyhow::Result<Seen> {
    let url = format!(
        "ws://{}/api/v1/supervisor/ws?token={}&tenant=load",
        kefu.http, kefu.admin
    );
    let began = Instant::now();
    let stream = tokio::net::TcpStream::connect(kefu.http).await?;
    let (mut socket, _) = tokio_tungstenite::client_async(url, stream).await?;
    let Some(Ok(Message::Text(first))) = socket.next().await else {
        bail!("no snapshot");
    };
    let snapshot: Value = serde_json::from_str(first.as_str())?;
    if snapshot["type"] != "snapshot" {
        bail!("the first frame is not a snapshot: {first}");
    }
    let mut states: HashMap<String, String> = HashMap::new();
    let mut seen = Seen {
        snapshot_bytes: first.len(),
        snapshot_ms: began.elapsed().as_secs_f64() * 1000.0,
        frames: Vec::new(),
        all_ready: None,
    };
    let note = |frame: &Value, states: &mut HashMap<String, String>| {
        for agent in frame["agents"].as_array().into_iter().flatten() {
            if let (Some(ext), Some(state)) = (agent["extension"].as_str(), agent["state"].as_str())
            {
                states.insert(ext.to_owned(), state.to_owned());
            }
        }
    };
    note(&snapshot, &mut states);
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while seen.all_ready.is_none() {
        let next = tokio::time::timeout_at(deadline, socket.next()).await;
        let Ok(Some(Ok(Message::Text(text)))) = next else {
            bail!("the viewer stopped before every agent was ready");
        };
        seen.frames.push((Instant::now(), text.len()));
        let frame: Value = serde_json::from_str(text.as_str())?;
        note(&frame, &mut states);
        if states.values().filter(|s| *s == "ready").count() == agents {
            seen.all_ready = Some(Instant::now());
        }
    }
    Ok(seen)
}

async fn burst(kefu: &Kefu, agents: usize) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let permits = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..agents {
        let (client, permits) = (client.clone(), permits.clone());
        let base = format!("http://{}/api/v1/agents/{}", kefu.http, 20_000 + i);
        let token = kefu.admin.clone();
        tasks.spawn(async move {
            let _permit = permits.acquire().await?;
            let login = client
                .post(format!("{base}/login?tenant=load"))
                .bearer_auth(&token)
                .send()
                .await?;
            if !login.status().is_success() {
                bail!("login: {}", login.status());
            }
            let ready = client
                .put(format!("{base}/state?tenant=load"))
                .bearer_auth(&token)
                .json(&json!({"state": "ready"}))
                .send()
                .await?;
            if !ready.status().is_success() {
                bail!("ready: {}", ready.status());
            }
            anyhow::Ok(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    Ok(())
}

fn percentile(mut values: Vec<f64>, p: f64) -> f64 {
    values.sort_by(f64::total_cmp);
    values
        .get(((values.len() as f64 - 1.0) * p).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

async fn run(args: &Args, agents: usize) -> anyhow::Result<Value> {
    let dir = tempfile::tempdir()?;
    provision(dir.path(), agents).await?;
    let kefu = start_kefu(&args.kefu, dir.path())?;
    let mut viewers = tokio::task::JoinSet::new();
    let kefu = Arc::new(kefu);
    for _ in 0..args.viewers {
        let kefu = kefu.clone();
        viewers.spawn(async move { watch(&kefu, agents).await });
    }
    // Every viewer has its snapshot before the burst (a snapshot is sub-second).
    tokio::time::sleep(Duration::from_secs(1)).await;
    let start = Instant::now();
    burst(&kefu, agents).await?;
    let burst_done = Instant::now();
    let mut seen = Vec::new();
    while let Some(viewer) = viewers.join_next().await {
        seen.push(viewer??);
    }
    let frames: Vec<f64> = seen.iter().map(|s| s.frames.len() as f64).collect();
    let peak: Vec<f64> = seen
        .iter()
        .map(|s| {
            s.frames
                .iter()
                .map(|(at, _)| {
                    s.frames
                        .iter()
                        .filter(|(other, _)| *other >= *at && *other < *at + Duration::from_secs(1))
                        .count() as f64
                })
                .fold(0.0, f64::max)
        })
        .collect();
    let bytes: Vec<f64> = seen
        .iter()
        .map(|s| s.frames.iter().map(|(_, n)| *n as f64).sum())
        .collect();
    let settle: Vec<f64> = seen
        .iter()
        .filter_map(|s| s.all_ready)
        .map(|at| at.saturating_duration_since(burst_done).as_secs_f64() * 1000.0)
        .collect();
    let result = json!({
        "agents": agents,
        "viewers": args.viewers,
        "state_changes": 2 * agents,
        "snapshot_kib": seen.first().map_or(0.0, |s| s.snapshot_bytes as f64 / 1024.0),
        "snapshot_ms_p50": percentile(seen.iter().map(|s| s.snapshot_ms).collect(), 0.5),
        "burst_ms": burst_done.duration_since(start).as_secs_f64() * 1000.0,
        "frames_per_viewer_p50": percentile(frames.clone(), 0.5),
        "frames_per_viewer_max": percentile(frames, 1.0),
        "peak_frames_per_second_max": percentile(peak, 1.0),
        "kib_per_viewer_p50": percentile(bytes, 0.5) / 1024.0,
        "all_ready_after_burst_ms_p50": percentile(settle.clone(), 0.5),
        "all_ready_after_burst_ms_max": percentile(settle, 1.0),
    });
    println!(
        "wallboard_load: {agents} agents, {} viewers: snapshot {:.1} KiB in {:.0} ms; \
         burst of {} state changes in {:.0} ms; per viewer {} frames (max {}), at most {} in a second, \
         {:.1} KiB; all ready seen {:.0} ms after the burst (max {:.0})",
        args.viewers,
        result["snapshot_kib"].as_f64().unwrap_or_default(),
        result["snapshot_ms_p50"].as_f64().unwrap_or_default(),
        2 * agents,
        result["burst_ms"].as_f64().unwrap_or_default(),
        result["frames_per_viewer_p50"],
        result["frames_per_viewer_max"],
        result["peak_frames_per_second_max"],
        result["kib_per_viewer_p50"].as_f64().unwrap_or_default(),
        result["all_ready_after_burst_ms_p50"]
            .as_f64()
            .unwrap_or_default(),
        result["all_ready_after_burst_ms_max"]
            .as_f64()
            .unwrap_or_default(),
    );
    Ok(result)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut results = Vec::new();
    for &agents in &args.agents {
        results.push(run(&args, agents).await?);
    }
    if let Some(path) = &args.json {
        let report = json!({"bench": "wallboard", "results": results});
        std::fs::write(path, serde_json::to_string_pretty(&report)?)?;
    }
    Ok(())
}
