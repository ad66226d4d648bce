//! One tokio task per relayed call: it owns the caller's and the agent's
//! port pairs and a sans-IO [`Relay`], waits until a socket is readable, the
//! relay's timer is due or call control sends a command, feeds the waiting
//! datagrams (a bounded burst per wake-up) into the relay, and sends what the
//! relay returns from the other leg's socket. Through its [`RelayHandle`] call
//! control reads live statistics and key presses and repoints legs. The task
//! stops when the handle says so (or is dropped) and hands back the final
//! statistics; the ports return to their pool then, or to call control
//! ([`RelayHandle::release`]) when the call's media goes on in another task
//! (a supervisor's conference). [`spawn_relay_with_codecs`] starts a relay
//! that transcodes when the two legs share no codec; its re-encoded packets
//! leave, as RTCP does, through [`Relay::poll_transmit`].
//!
//! Datagrams are read and sent one system call each. Batching with
//! `recvmmsg`/`sendmmsg` (GSO/GRO) is the planned optimisation for this loop.

use std::io;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use super::STATS_INTERVAL;
use super::leg_sockets::{LegSockets, MAX_DATAGRAM, Request, TaskEnded, receive_burst, request};
use super::ports::PortPair;
use crate::codec::{CodecError, LegCodec};
use crate::dtmf::Dtmf;
use crate::relay::{PayloadMap, Relay, RelayConfig, RelayStats, Side};

/// Key presses kept for call control; more are dropped rather than stall media.
const KEY_PRESS_QUEUE: usize = 32;
/// Call-control commands waiting for the task.
const COMMAND_QUEUE: usize = 8;

/// Why the relay task could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum RelayTaskError {
    #[error("could not hand the {side:?} ports to tokio: {source}")]
    Socket { side: Side, source: io::Error },
    #[error("cannot set up the relay's codecs: {0}")]
    Codec(#[from] CodecError),
    #[error("the relay task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the relay task has ended")]
    Ended,
}

impl From<TaskEnded> for RelayTaskError {
    fn from(_: TaskEnded) -> Self {
        Self::Ended
    }
}

/// Controls a running relay task.
#[derive(Debug)]
pub struct RelayHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<(RelayStats, [LegSockets; 2])>,
    stats: watch::Receiver<RelayStats>,
    key_presses: mpsc::Receiver<(Side, Dtmf)>,
    commands: mpsc::Sender<Request<Command>>,
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

    /// Side `side`'s peer moved (re-INVITE, transfer); returns once the relay
    /// applied it, so packets from the new peer sent afterwards are accepted.
    pub async fn repoint(
        &self,
        side: Side,
        remote: Option<SocketAddr>,
    ) -> Result<(), RelayTaskError> {
        Ok(request(&self.commands, Command::Repoint { side, remote }).await?)
    }

    /// New payload types per direction after a renegotiation; returns once applied.
    pub async fn set_payload_maps(
        &self,
        caller_to_agent: PayloadMap,
        agent_to_caller: PayloadMap,
    ) -> Result<(), RelayTaskError> {
        let maps = Command::PayloadMaps {
            caller_to_agent,
            agent_to_caller,
        };
        Ok(request(&self.commands, maps).await?)
    }

    /// The next key press either side's peer sent as RFC 4733 events; None
    /// once the task has ended.
    pub async fn next_dtmf(&mut self) -> Option<(Side, Dtmf)> {
        self.key_presses.recv().await
    }

    /// Stops the task and returns the relay's final statistics; the ports
    /// go back to their pool.
    pub async fn stop(self) -> Result<RelayStats, RelayTaskError> {
        Ok(self.finish().await?.0)
    }

    /// Stops the task and hands back its ports, the caller's then the
    /// agent's, with the final statistics, so the call's media goes on on
    /// the same addresses (a conference when a supervisor joins) without a
    /// new offer to either phone.
    pub async fn release(self) -> Result<(RelayStats, [PortPair; 2]), RelayTaskError> {
        let (stats, [caller, agent]) = self.finish().await?;
        let ports = |side, sockets: LegSockets| {
            sockets
                .into_ports()
                .map_err(|source| RelayTaskError::Socket { side, source })
        };
        Ok((
            stats,
            [ports(Side::Caller, caller)?, ports(Side::Agent, agent)?],
        ))
    }

    async fn finish(self) -> Result<(RelayStats, [LegSockets; 2]), RelayTaskError> {
        // The task may have ended already; its result says how.
        let _ = self.stop.send(());
        Ok(self.task.await?)
    }
}

/// Where a recorded relay hands each side's decoded audio (a recorder's
/// `feed`): the side, when it arrived, its PCM. Called on the relay's task,
/// so it must not block.
pub type TapSink = Box<dyn FnMut(Side, Instant, &[i16]) + Send>;

/// A recording tap: each side's audio payload type and codec (a G.711 law
/// converts into one: `G711::Pcmu.into()`), and where the frames decoded to
/// 8 kHz go.
pub struct RelayTap {
    pub codecs: [(u8, LegCodec); 2],
    pub sink: TapSink,
}

/// Starts relaying between the peers of `caller` and `agent` on the current
/// tokio runtime.
pub fn spawn_relay(
    config: RelayConfig,
    caller: PortPair,
    agent: PortPair,
) -> Result<RelayHandle, RelayTaskError> {
    spawn_recorded_relay(config, caller, agent, None)
}

/// [`spawn_relay`], with each side's audio also decoded into `tap`.
pub fn spawn_recorded_relay(
    config: RelayConfig,
    caller: PortPair,
    agent: PortPair,
    tap: Option<RelayTap>,
) -> Result<RelayHandle, RelayTaskError> {
    let relay = Relay::new(config, Instant::now(), SystemTime::now());
    spawn(relay, caller, agent, tap)
}

/// Starts a relay between legs whose audio is `codecs` (the caller's, then
/// the agent's, each with its payload type): packets pass untouched when
/// the codecs allow it, and are transcoded otherwise (see
/// [`Relay::with_codecs`]). With a `tap`, each side's audio decoded to
/// 8 kHz goes to it.
pub fn spawn_relay_with_codecs(
    config: RelayConfig,
    codecs: [(u8, LegCodec); 2],
    caller: PortPair,
    agent: PortPair,
    tap: Option<TapSink>,
) -> Result<RelayHandle, RelayTaskError> {
    let relay = Relay::with_codecs(config, codecs, Instant::now(), SystemTime::now())?;
    let tap = tap.map(|sink| RelayTap { codecs, sink });
    spawn(relay, caller, agent, tap)
}

fn spawn(
    mut relay: Relay,
    caller: PortPair,
    agent: PortPair,
    tap: Option<RelayTap>,
) -> Result<RelayHandle, RelayTaskError> {
    let local_addr = |side, pair: &PortPair| {
        pair.rtp
            .local_addr()
            .map_err(|source| RelayTaskError::Socket { side, source })
    };
    let caller_rtp = local_addr(Side::Caller, &caller)?;
    let agent_rtp = local_addr(Side::Agent, &agent)?;
    let sockets = |side, pair| {
        LegSockets::new(pair).map_err(|source| RelayTaskError::Socket { side, source })
    };
    let sink = match tap {
        Some(tap) => {
            relay.set_tap(tap.codecs)?;
            Some(tap.sink)
        }
        None => None,
    };
    let legs = [sockets(Side::Caller, caller)?, sockets(Side::Agent, agent)?];
    let (stop, stopped) = oneshot::channel();
    let (publish, stats) = watch::channel(relay.stats());
    let (report_key_press, key_presses) = mpsc::channel(KEY_PRESS_QUEUE);
    let (commands, received_commands) = mpsc::channel(COMMAND_QUEUE);
    let outputs = Outputs {
        stats: publish,
        key_presses: report_key_press,
        tap: sink,
    };
    let task = tokio::spawn(run(relay, legs, stopped, received_commands, outputs));
    Ok(RelayHandle {
        stop,
        task,
        stats,
        key_presses,
        commands,
        caller_rtp,
        agent_rtp,
    })
}

/// What call control asks of a running relay.
#[derive(Debug)]
enum Command {
    Repoint {
        side: Side,
        remote: Option<SocketAddr>,
    },
    PayloadMaps {
        caller_to_agent: PayloadMap,
        agent_to_caller: PayloadMap,
    },
}

/// What the task tells its handle while it runs.
struct Outputs {
    stats: watch::Sender<RelayStats>,
    key_presses: mpsc::Sender<(Side, Dtmf)>,
    tap: Option<TapSink>,
}

/// What woke the task up.
#[derive(Debug)]
enum Ready {
    Rtp(Side),
    Rtcp(Side),
    Timer,
    Command(Request<Command>),
    Stop,
}

async fn run(
    mut relay: Relay,
    legs: [LegSockets; 2],
    mut stopped: oneshot::Receiver<()>,
    mut commands: mpsc::Receiver<Request<Command>>,
    mut outputs: Outputs,
) -> (RelayStats, [LegSockets; 2]) {
    let mut next_publish = Instant::now() + STATS_INTERVAL;
    let [caller, agent] = &legs;
    let mut buffer = [0u8; MAX_DATAGRAM];
    loop {
        let deadline = tokio::time::Instant::from_std(relay.poll_timeout().min(next_publish));
        let ready = tokio::select! {
            _ = &mut stopped => Ready::Stop,
            Some(request) = commands.recv() => Ready::Command(request),
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
                let to = sockets(side.other());
                receive_burst(&sockets(side).rtp, &mut buffer, |source, packet| {
                    if let Ok(destination) = relay.handle_rtp(side, now, source, packet) {
                        // A send that fails is a lost packet, as on the wire.
                        let _ = to.rtp.try_send_to(packet, destination);
                    }
                });
            }
            Ready::Rtcp(side) => {
                receive_burst(&sockets(side).rtcp, &mut buffer, |source, packet| {
                    // Rejected reports are counted in the leg's statistics.
                    let _ = relay.handle_rtcp(side, now, source, packet);
                });
            }
            Ready::Timer => relay.handle_timeout(now),
            Ready::Command(request) => request.apply(|command| match command {
                Command::Repoint { side, remote } => relay.repoint(side, now, remote),
                Command::PayloadMaps {
                    caller_to_agent,
                    agent_to_caller,
                } => relay.set_payload_maps(caller_to_agent, agent_to_caller),
            }),
        }
        while let Some((side, transmit)) = relay.poll_transmit() {
            sockets(side).send(&transmit);
        }
        while let Some(key_press) = relay.poll_dtmf() {
            // Full or closed: call control is not listening; media goes on.
            let _ = outputs.key_presses.try_send(key_press);
        }
        if let Some(sink) = &mut outputs.tap {
            while let Some(frame) = relay.poll_tap() {
                sink(frame.side, frame.at, &frame.pcm);
            }
        }
        if now >= next_publish {
            next_publish = now + STATS_INTERVAL;
            outputs.stats.send_replace(relay.stats());
        }
    }
    (relay.stats(), legs)
}
