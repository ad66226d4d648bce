//! What the load goes through: kefu's relay tasks in a child process of
//! their own (this program's `serve` mode, so its CPU time is the relay's
//! alone), rtpengine in userspace started by `bench/peers/rtpengine.sh` and
//! driven over ng, or nothing at all (`direct`: each phone sends straight
//! to the other, the loopback baseline for added latency).

use std::io::{self, BufRead, BufReader, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use kefu_media::driver::ports::{PortAllocator, PortRange};
use kefu_media::driver::relay_task::{RelayHandle, spawn_relay};
use kefu_media::relay::{PayloadMap, RelayConfig};
use kefu_media::rtp::leg::LegConfig;

use crate::ng::NgClient;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
/// Ports for the relays' legs, below Linux's ephemeral range where the
/// generator's own sockets are bound. Each pair takes four.
pub const RELAY_PORTS: &str = "10000-19999";
/// rtpengine's ng control port.
const NG_PORT: u16 = 22_223;

/// Which relay the load goes through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Kefu,
    Rtpengine,
    Direct,
}

impl Kind {
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "kefu" => Some(Self::Kefu),
            "rtpengine" => Some(Self::Rtpengine),
            "direct" => Some(Self::Direct),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Kefu => "kefu",
            Self::Rtpengine => "rtpengine",
            Self::Direct => "direct",
        }
    }
}

/// A running relay and how to set up its pairs.
pub struct Target {
    pub kind: Kind,
    child: Option<Child>,
    control: Control,
}

enum Control {
    Kefu {
        stdin: ChildStdin,
        stdout: BufReader<ChildStdout>,
    },
    Rtpengine {
        ng: NgClient,
        calls: Vec<String>,
    },
    Direct,
}

impl Target {
    /// Starts the relay process of `kind`, ready for pairs.
    pub fn start(kind: Kind, rtpengine_script: &PathBuf) -> io::Result<Self> {
        match kind {
            Kind::Kefu => {
                let mut child = Command::new(std::env::current_exe()?)
                    .args(["serve", RELAY_PORTS])
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .spawn()?;
                let stdin = child
                    .stdin
                    .take()
                    .ok_or_else(|| io::Error::other("no stdin"))?;
                let stdout = child
                    .stdout
                    .take()
                    .ok_or_else(|| io::Error::other("no stdout"))?;
                Ok(Self {
                    kind,
                    child: Some(child),
                    control: Control::Kefu {
                        stdin,
                        stdout: BufReader::new(stdout),
                    },
                })
            }
            Kind::Rtpengine => {
                if !rtpengine_script.exists() {
                    return Err(io::Error::other(format!(
                        "{} not found",
                        rtpengine_script.display()
                    )));
                }
                let (first, last) = RELAY_PORTS.split_once('-').unwrap_or_default();
                // rtpengine warns per call when its queues fill: to a file.
                let log_path = std::env::temp_dir()
                    .join(format!("relay_load-rtpengine-{}.log", std::process::id()));
                let log = std::fs::File::create(&log_path)?;
                eprintln!("rtpengine's log: {}", log_path.display());
                let child = Command::new(rtpengine_script)
                    .args([&NG_PORT.to_string(), first, last])
                    .stdin(Stdio::null())
                    .stdout(log.try_clone()?)
                    .stderr(log)
                    .spawn()?;
                let mut target = Self {
                    kind,
                    child: Some(child),
                    control: Control::Rtpengine {
                        ng: NgClient::new(SocketAddr::new(LOOPBACK, NG_PORT))?,
                        calls: Vec::new(),
                    },
                };
                target.wait_for_rtpengine()?;
                Ok(target)
            }
            Kind::Direct => Ok(Self {
                kind,
                child: None,
                control: Control::Direct,
            }),
        }
    }

    fn wait_for_rtpengine(&mut self) -> io::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(child) = &mut self.child {
                if let Some(status) = child.try_wait()? {
                    return Err(io::Error::other(format!(
                        "rtpengine exited at start ({status}); is it installed? scripts/install-deps.sh bench"
                    )));
                }
            }
            if let Control::Rtpengine { ng, .. } = &mut self.control {
                if ng.ping().is_ok() {
                    return Ok(());
                }
            }
            if Instant::now() > deadline {
                return Err(io::Error::other("rtpengine did not answer ng pings"));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The relay's process, whose CPU time is measured.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Sets up a pair between phones at `a` and `b`; returns where `a` and
    /// where `b` send their RTP.
    pub fn open(
        &mut self,
        index: usize,
        a: SocketAddr,
        b: SocketAddr,
    ) -> io::Result<(SocketAddr, SocketAddr)> {
        match &mut self.control {
            Control::Kefu { stdin, stdout } => {
                writeln!(stdin, "open {a} {b}")?;
                let line = read_line(stdout)?;
                let mut ports = line.split_whitespace().map(str::parse::<u16>);
                match (ports.next(), ports.next()) {
                    (Some(Ok(to_a_side)), Some(Ok(to_b_side))) => Ok((
                        SocketAddr::new(LOOPBACK, to_a_side),
                        SocketAddr::new(LOOPBACK, to_b_side),
                    )),
                    _ => Err(io::Error::other(format!("kefu relay: {line}"))),
                }
            }
            Control::Rtpengine { ng, calls } => {
                let call_id = format!("bench-{}-{index}", std::process::id());
                let for_b = ng.offer(&call_id, a)?;
                let for_a = ng.answer(&call_id, b)?;
                calls.push(call_id);
                Ok((
                    SocketAddr::new(LOOPBACK, for_a),
                    SocketAddr::new(LOOPBACK, for_b),
                ))
            }
            Control::Direct => Ok((b, a)),
        }
    }

    /// Tears down every pair.
    pub fn clear(&mut self) -> io::Result<()> {
        match &mut self.control {
            Control::Kefu { stdin, stdout } => {
                writeln!(stdin, "clear")?;
                read_line(stdout).map(drop)
            }
            Control::Rtpengine { ng, calls } => {
                for call_id in calls.drain(..) {
                    ng.delete(&call_id)?;
                }
                Ok(())
            }
            Control::Direct => Ok(()),
        }
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_line(reader: &mut impl BufRead) -> io::Result<String> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::Error::other("the kefu relay process ended"));
    }
    Ok(line.trim().to_owned())
}

/// `serve RANGE`: kefu's relay tasks on a multi-threaded tokio runtime as
/// `kefu serve` runs them, one per pair, set up and torn down by lines on
/// stdin: `open A B` answers `PORT_FOR_A PORT_FOR_B`, `clear` stops every
/// relay and answers `cleared`.
pub fn serve(range: &str) -> io::Result<()> {
    let range: PortRange = range
        .parse()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let ports = PortAllocator::new(LOOPBACK, range);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut relays: Vec<RelayHandle> = Vec::new();
        let mut stdout = io::stdout();
        for line in io::stdin().lock().lines() {
            let line = line?;
            let words: Vec<&str> = line.split_whitespace().collect();
            match words.as_slice() {
                ["open", a, b] => {
                    let reply = open_relay(&ports, a, b).map(|relay| {
                        let reply = format!(
                            "{} {}",
                            relay.caller_rtp_addr().port(),
                            relay.agent_rtp_addr().port()
                        );
                        relays.push(relay);
                        reply
                    });
                    writeln!(stdout, "{}", reply.unwrap_or_else(|e| format!("error {e}")))?;
                }
                ["clear"] => {
                    for relay in relays.drain(..) {
                        // A relay that ended by itself has nothing to stop.
                        let _ = relay.stop().await;
                    }
                    writeln!(stdout, "cleared")?;
                }
                _ => writeln!(stdout, "error unknown command {line:?}")?,
            }
            stdout.flush()?;
        }
        Ok(())
    })
}

/// One relay as call control starts it for a bridged call: PCMU both ways,
/// telephone-event 101, each leg's peer known from SDP.
fn open_relay(ports: &PortAllocator, a: &str, b: &str) -> Result<RelayHandle, String> {
    let leg = |remote: &str| -> Result<LegConfig, String> {
        let mut config = LegConfig::new(rand::random(), rand::random(), rand::random());
        config.remote = Some(remote.parse().map_err(|e| format!("{remote}: {e}"))?);
        config.telephone_event = Some(101);
        Ok(config)
    };
    let map = PayloadMap::Mapped(vec![(0, 0), (101, 101)]);
    let config = RelayConfig {
        caller: leg(a)?,
        agent: leg(b)?,
        caller_to_agent: map.clone(),
        agent_to_caller: map,
    };
    let caller = ports.allocate().map_err(|e| e.to_string())?;
    let agent = ports.allocate().map_err(|e| e.to_string())?;
    spawn_relay(config, caller, agent).map_err(|e| e.to_string())
}
