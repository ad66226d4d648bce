//! One tokio task per relayed call: it owns the caller's and the agent's
//! port pairs and a sans-IO [`Relay`], waits until a socket is readable or
//! the relay's timer is due, drains every datagram that is waiting into the
//! relay, and sends what the relay returns from the other leg's socket.
//! It stops when its [`RelayHandle`] says so (or is dropped) and hands back
//! the final statistics; the ports return to their pool then.
//!
//! Datagrams are read and sent one system call each. Batching with
//! `recvmmsg`/`sendmmsg` (GSO/GRO) is the planned optimisation for this loop.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime};

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::ports::{PortLease, PortPair};
use crate::dtmf::Dtmf;
use crate::relay::{Relay, RelayConfig, RelayStats, Side};

/// Largest datagram read; RTP over UDP stays well below an Ethernet MTU.
const MAX_DATAGRAM: usize = 2_048;
/// Datagrams read from one socket before the others get a turn, so a flood
/// on one port cannot starve the rest.
const MAX_BURST: usize = 64;
/// How often the statistics behind [`RelayHandle::stats`] are refreshed.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);
/// Key presses kept for call control; more are dropped rather than stall media.
const KEY_PRESS_QUEUE: usize = 32;

/// Why the relay task could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RelayTaskError {
    #[error("could not hand the {side:?} ports to tokio: {source}")]
    Socket { side: Side, source: io::Error },
    #[error("the relay task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

/// One leg's sockets inside the task.
struct LegSockets {
    rtp: UdpSocket,
    rtcp: UdpSocket,
    /// After the sockets, so they close before the ports are freed.
    _lease: PortLease,
}

impl LegSockets {
    fn new(side: Side, ports: PortPair) -> Result<Self, RelayTaskError> {
        let to_tokio = |socket| {
            UdpSocket::from_std(socket).map_err(|source| RelayTaskError::Socket { side, source })
        };
        Ok(Self {
            rtp: to_tokio(ports.rtp)?,
            rtcp: to_tokio(ports.rtcp)?,
            _lease: ports.lease,
        })
    }
}

/// Controls a running relay task.
#[derive(Debug)]
pub struct RelayHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<RelayStats>,
    stats: watch::Receiver<RelayStats>,
    key_presses: mpsc::Receiver<(Side, Dtmf)>,
    caller_rtp: SocketAddr,
    agent_rtp: SocketAddr,
}

impl RelayHandle {
    /// Where the caller's peer sends RTP (RTCP goes to the next port).
    pub fn caller_rtp_addr(&self) -> SocketAddr {
        self.caller_rtp
    }

    /// Where the agent's peer sends RTP (RTCP goes to the next port).
    pub fn agent_rtp_addr(&self) -> SocketAddr {
        self.agent_rtp
    }

    /// The statistics as of at most [`STATS_INTERVAL`] ago, for metrics.
    pub fn stats(&self) -> RelayStats {
        *self.stats.borrow()
    }

    /// The next key press either side's peer sent as RFC 4733 events; None
    /// once the task has ended.
    pub async fn next_dtmf(&mut self) -> Option<(Side, Dtmf)> {
        self.key_presses.recv().await
    }

    /// Stops the task and returns the relay's final statistics.
    pub async fn stop(self) -> Result<RelayStats, RelayTaskError> {
        // The task may have ended already; its result says how.
        let _ = self.stop.send(());
        Ok(self.task.await?)
    }
}

/// Starts relaying between the peers of `caller` and `agent` on the current
/// tokio runtime.
pub fn spawn_relay(
    config: RelayConfig,
    caller: PortPair,
    agent: PortPair,
) -> Result<RelayHandle, RelayTaskError> {
    let local_addr = |side, pair: &PortPair| {
        pair.rtp
            .local_addr()
            .map_err(|source| RelayTaskError::Socket { side, source })
    };
    let caller_rtp = local_addr(Side::Caller, &caller)?;
    let agent_rtp = local_addr(Side::Agent, &agent)?;
    let legs = [
        LegSockets::new(Side::Caller, caller)?,
        LegSockets::new(Side::Agent, agent)?,
    ];
    let relay = Relay::new(config, Instant::now(), SystemTime::now());
    let (stop, stopped) = oneshot::channel();
    let (publish, stats) = watch::channel(relay.stats());
    let (report_key_press, key_presses) = mpsc::channel(KEY_PRESS_QUEUE);
    let outputs = Outputs {
        stats: publish,
        key_presses: report_key_press,
    };
    let task = tokio::spawn(run(relay, legs, stopped, outputs));
    Ok(RelayHandle {
        stop,
        task,
        stats,
        key_presses,
        caller_rtp,
        agent_rtp,
    })
}

/// What the task tells its handle while it runs.
struct Outputs {
    stats: watch::Sender<RelayStats>,
    key_presses: mpsc::Sender<(Side, Dtmf)>,
}

/// Which socket became readable.
#[derive(Debug, Clone, Copy)]
enum Ready {
    Rtp(Side),
    Rtcp(Side),
    Timer,
    Stop,
}

async fn run(
    mut relay: Relay,
    legs: [LegSockets; 2],
    mut stopped: oneshot::Receiver<()>,
    outputs: Outputs,
) -> RelayStats {
    let mut next_publish = Instant::now() + STATS_INTERVAL;
    let [caller, agent] = &legs;
    let mut buffer = [0u8; MAX_DATAGRAM];
    loop {
        let deadline = tokio::time::Instant::from_std(relay.poll_timeout().min(next_publish));
        let ready = tokio::select! {
            _ = &mut stopped => Ready::Stop,
            Ok(()) = caller.rtp.readable() => Ready::Rtp(Side::Caller),
            Ok(()) = agent.rtp.readable() => Ready::Rtp(Side::Agent),
            Ok(()) = caller.rtcp.readable() => Ready::Rtcp(Side::Caller),
            Ok(()) = agent.rtcp.readable() => Ready::Rtcp(Side::Agent),
            () = tokio::time::sleep_until(deadline) => Ready::Timer,
        };
        let sockets = |side: Side| match side {
            Side::Caller => caller,
            Side::Agent => agent,
        };
        let now = Instant::now();
        match ready {
            Ready::Stop => break,
            Ready::Rtp(side) => {
                let (from, to) = (sockets(side), sockets(side.other()));
                for _ in 0..MAX_BURST {
                    let Ok((len, source)) = from.rtp.try_recv_from(&mut buffer) else {
                        break;
                    };
                    let packet = &mut buffer[..len];
                    if let Ok(destination) = relay.handle_rtp(side, now, source, packet) {
                        // A send that fails is a lost packet, as on the wire.
                        let _ = to.rtp.try_send_to(packet, destination);
                    }
                }
            }
            Ready::Rtcp(side) => {
                for _ in 0..MAX_BURST {
                    let Ok((len, source)) = sockets(side).rtcp.try_recv_from(&mut buffer) else {
                        break;
                    };
                    // Rejected reports are counted in the leg's statistics.
                    let _ = relay.handle_rtcp(side, now, source, &buffer[..len]);
                }
            }
            Ready::Timer => relay.handle_timeout(now),
        }
        while let Some((side, transmit)) = relay.poll_transmit() {
            let leg = sockets(side);
            let socket = if transmit.from_rtp_port {
                &leg.rtp
            } else {
                &leg.rtcp
            };
            let _ = socket.try_send_to(&transmit.payload, transmit.destination);
        }
        while let Some(key_press) = relay.poll_dtmf() {
            // Full or closed: call control is not listening; media goes on.
            let _ = outputs.key_presses.try_send(key_press);
        }
        if now >= next_publish {
            next_publish = now + STATS_INTERVAL;
            outputs.stats.send_replace(relay.stats());
        }
    }
    relay.stats()
}
