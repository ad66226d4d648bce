//! One tokio task per conference (a supervised call): it owns every
//! participant's port pair and a sans-IO [`Conference`], waits until a
//! socket is readable, the conference's timer is due or call control sends
//! a command, feeds the waiting datagrams (a bounded burst per socket and
//! wake-up, every readable socket served) into the conference, and sends
//! what it returns from the participant's ports. Through its
//! [`ConferenceHandle`] call control changes who hears whom, repoints a
//! participant, reads live statistics and key presses. With a [`TapSink`]
//! the caller's and the agent's audio keeps flowing to the call's recorder.
//! The task stops when the handle says so (or is dropped) and hands back
//! the final statistics, with the ports when call control asks for them
//! ([`ConferenceHandle::release`]: the supervisor left, the relay resumes).
//!
//! Frames are paced by the conference's own schedule, an absolute instant
//! 20 ms after the previous frame's, as the endpoint task paces playback:
//! a late wake-up mixes the missed frames at once, a long stall starts a
//! new talkspurt ([`crate::endpoint::MAX_FRAME_LATENESS`]).

use std::future::poll_fn;
use std::io;
use std::net::SocketAddr;
use std::task::Poll;
use std::time::{Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::STATS_INTERVAL;
use super::leg_sockets::{LegSockets, MAX_DATAGRAM, Request, TaskEnded, receive_burst, request};
use super::ports::PortPair;
pub use super::relay_task::TapSink;
use crate::codec::LegCodec;
use crate::conference::{Conference, ConferenceError, Participant, ParticipantStats};
use crate::dtmf::Dtmf;
use crate::mixer::{HearMatrix, MixerError};
use crate::rtp::leg::{LegConfig, LegStats};

/// Key presses kept for call control; more are dropped rather than stall media.
const KEY_PRESS_QUEUE: usize = 32;
/// Call-control commands waiting for the task.
const COMMAND_QUEUE: usize = 8;

/// One participant of a conference to start: its leg as negotiated and the
/// ports its peer sends to (fresh, or released by a relay or an endpoint).
/// A G.711 law converts into the codec (`G711::Pcmu.into()`); an Opus leg's
/// `config` runs at 48 kHz.
#[derive(Debug)]
pub struct ConferenceLeg {
    pub config: LegConfig,
    pub codec: LegCodec,
    pub payload_type: u8,
    pub ports: PortPair,
}

/// Why the conference task could not start, change or finish.
#[derive(Debug, thiserror::Error)]
pub enum ConferenceTaskError {
    #[error(transparent)]
    Conference(#[from] ConferenceError),
    #[error("could not hand participant {participant}'s ports to tokio: {source}")]
    Socket {
        participant: usize,
        source: io::Error,
    },
    #[error("the conference task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the conference task has ended")]
    Ended,
}

impl From<TaskEnded> for ConferenceTaskError {
    fn from(_: TaskEnded) -> Self {
        Self::Ended
    }
}

/// What the task hands back when it ends: per participant, the leg's final
/// figures and its sockets.
type Finished = Vec<(LegStats, LegSockets)>;

/// Controls a running conference task.
#[derive(Debug)]
pub struct ConferenceHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<Finished>,
    stats: watch::Receiver<Vec<ParticipantStats>>,
    key_presses: mpsc::Receiver<(usize, Dtmf)>,
    commands: mpsc::Sender<Request<Command>>,
    /// Each participant's RTP address, in order.
    rtp: Vec<SocketAddr>,
}

impl ConferenceHandle {
    /// How many participants there are.
    pub fn participants(&self) -> usize {
        self.rtp.len()
    }

    /// Where `participant`'s peer sends RTP (RTCP goes to the next port);
    /// None if there is no such participant.
    pub fn rtp_addr(&self, participant: usize) -> Option<SocketAddr> {
        self.rtp.get(participant).copied()
    }

    /// Who hears whom from the next frame on (the changes fade over it);
    /// returns once applied. Refused unless it has a row per participant.
    pub async fn set_matrix(&self, matrix: HearMatrix) -> Result<(), ConferenceTaskError> {
        if matrix.participants() != self.participants() {
            let mismatch = MixerError::ParticipantCount {
                expected: self.participants(),
                got: matrix.participants(),
            };
            return Err(ConferenceError::from(mismatch).into());
        }
        Ok(request(&self.commands, Command::SetMatrix(matrix)).await?)
    }

    /// `participant`'s peer moved (re-INVITE, transfer); returns once
    /// applied, so packets from the new peer sent afterwards are accepted.
    pub async fn repoint(
        &self,
        participant: usize,
        remote: Option<SocketAddr>,
    ) -> Result<(), ConferenceTaskError> {
        if participant >= self.participants() {
            return Err(ConferenceError::UnknownParticipant {
                participant,
                participants: self.participants(),
            }
            .into());
        }
        let repoint = Command::Repoint {
            participant,
            remote,
        };
        Ok(request(&self.commands, repoint).await?)
    }

    /// The next key press a participant's peer sent as RFC 4733 events; None
    /// once the task has ended. Beyond 32 unread ones, new key presses are
    /// dropped rather than stall the media.
    pub async fn next_dtmf(&mut self) -> Option<(usize, Dtmf)> {
        self.key_presses.recv().await
    }

    /// Every participant's statistics as of at most [`STATS_INTERVAL`] ago,
    /// in order, for metrics.
    pub fn stats(&self) -> Vec<ParticipantStats> {
        self.stats.borrow().clone()
    }

    /// Stops the task and returns each leg's final statistics, in order;
    /// the ports go back to their pool.
    pub async fn stop(self) -> Result<Vec<LegStats>, ConferenceTaskError> {
        let finished = self.finish().await?;
        Ok(finished.into_iter().map(|(stats, _)| stats).collect())
    }

    /// Stops the task and hands back each participant's ports with its
    /// leg's final statistics, in order, so the call's media goes on on the
    /// same addresses (the relay again, once the supervisor has left).
    pub async fn release(self) -> Result<Vec<(LegStats, PortPair)>, ConferenceTaskError> {
        let finished = self.finish().await?;
        finished
            .into_iter()
            .enumerate()
            .map(|(participant, (stats, sockets))| {
                let ports = sockets
                    .into_ports()
                    .map_err(|source| ConferenceTaskError::Socket {
                        participant,
                        source,
                    })?;
                Ok((stats, ports))
            })
            .collect()
    }

    async fn finish(self) -> Result<Finished, ConferenceTaskError> {
        // The task may have ended already; its result says how.
        let _ = self.stop.send(());
        Ok(self.task.await?)
    }
}

/// Starts a conference of `participants` (in the order of `matrix`'s rows:
/// the caller, the agent, then the supervisor for
/// [`crate::mixer::SupervisorMode`]) on the current tokio runtime. With a
/// `tap`, the caller's (participant 0) and the agent's (participant 1)
/// decoded audio goes to it as the relay's does.
pub fn spawn_conference(
    participants: Vec<ConferenceLeg>,
    matrix: HearMatrix,
    tap: Option<TapSink>,
) -> Result<ConferenceHandle, ConferenceTaskError> {
    let mut rtp = Vec::with_capacity(participants.len());
    let mut legs = Vec::with_capacity(participants.len());
    let mut configs = Vec::with_capacity(participants.len());
    for (participant, leg) in participants.into_iter().enumerate() {
        let socket_error = |source| ConferenceTaskError::Socket {
            participant,
            source,
        };
        rtp.push(leg.ports.rtp.local_addr().map_err(socket_error)?);
        legs.push(LegSockets::new(leg.ports).map_err(socket_error)?);
        configs.push(Participant {
            leg: leg.config,
            codec: leg.codec,
            payload_type: leg.payload_type,
        });
    }
    let mut conference = Conference::new(configs, matrix, Instant::now(), SystemTime::now())?;
    if tap.is_some() {
        conference.set_tap()?;
    }
    let (stop, stopped) = oneshot::channel();
    let (publish, stats) = watch::channel(conference.all_stats());
    let (report_key_press, key_presses) = mpsc::channel(KEY_PRESS_QUEUE);
    let (commands, received_commands) = mpsc::channel(COMMAND_QUEUE);
    let outputs = Outputs {
        stats: publish,
        key_presses: report_key_press,
        tap,
    };
    let task = tokio::spawn(run(conference, legs, stopped, received_commands, outputs));
    Ok(ConferenceHandle {
        stop,
        task,
        stats,
        key_presses,
        commands,
        rtp,
    })
}

/// What call control asks of a running conference.
#[derive(Debug)]
enum Command {
    SetMatrix(HearMatrix),
    Repoint {
        participant: usize,
        remote: Option<SocketAddr>,
    },
}

/// What the task tells its handle while it runs.
struct Outputs {
    stats: watch::Sender<Vec<ParticipantStats>>,
    key_presses: mpsc::Sender<(usize, Dtmf)>,
    tap: Option<TapSink>,
}

/// What woke the task up.
#[derive(Debug)]
enum Ready {
    /// Some sockets are readable; which ones is in the task's `readable`.
    Sockets,
    Timer,
    Command(Request<Command>),
    Stop,
}

/// Which of a leg's sockets are readable.
#[derive(Debug, Clone, Copy, Default)]
struct Readable {
    rtp: bool,
    rtcp: bool,
}

/// Waits until at least one socket of `legs` is readable and marks in
/// `readable` (one entry per leg) which ones are.
async fn any_readable(legs: &[LegSockets], readable: &mut [Readable]) {
    poll_fn(|cx| {
        let mut any = false;
        for (leg, ready) in legs.iter().zip(readable.iter_mut()) {
            // An error means the runtime is shutting down: that socket is
            // not read again, as a failed `readable()` in the other tasks.
            ready.rtp = matches!(leg.rtp.poll_recv_ready(cx), Poll::Ready(Ok(())));
            ready.rtcp = matches!(leg.rtcp.poll_recv_ready(cx), Poll::Ready(Ok(())));
            any |= ready.rtp || ready.rtcp;
        }
        if any { Poll::Ready(()) } else { Poll::Pending }
    })
    .await
}

async fn run(
    mut conference: Conference,
    legs: Vec<LegSockets>,
    mut stopped: oneshot::Receiver<()>,
    mut commands: mpsc::Receiver<Request<Command>>,
    mut outputs: Outputs,
) -> Finished {
    let mut next_publish = Instant::now() + STATS_INTERVAL;
    let mut buffer = [0u8; MAX_DATAGRAM];
    let mut readable = vec![Readable::default(); legs.len()];
    loop {
        let deadline = tokio::time::Instant::from_std(conference.poll_timeout().min(next_publish));
        let ready = tokio::select! {
            _ = &mut stopped => Ready::Stop,
            Some(request) = commands.recv() => Ready::Command(request),
            () = any_readable(&legs, &mut readable) => Ready::Sockets,
            () = tokio::time::sleep_until(deadline) => Ready::Timer,
        };
        let now = Instant::now();
        match ready {
            Ready::Stop => break,
            // Rejected packets are counted in the participants' statistics.
            Ready::Sockets => {
                for (participant, (leg, ready)) in legs.iter().zip(&readable).enumerate() {
                    if ready.rtp {
                        receive_burst(&leg.rtp, &mut buffer, |source, datagram| {
                            let _ = conference.handle_rtp(participant, now, source, datagram);
                        });
                    }
                    if ready.rtcp {
                        receive_burst(&leg.rtcp, &mut buffer, |source, packet| {
                            let _ = conference.handle_rtcp(participant, now, source, packet);
                        });
                    }
                }
            }
            Ready::Timer => conference.handle_timeout(now),
            Ready::Command(request) => request.apply(|command| match command {
                // The handle checked its size; a refused matrix changes nothing.
                Command::SetMatrix(matrix) => {
                    let _ = conference.set_matrix(matrix);
                }
                // The handle checked the participant exists.
                Command::Repoint {
                    participant,
                    remote,
                } => {
                    let _ = conference.repoint(participant, now, remote);
                }
            }),
        }
        while let Some((participant, transmit)) = conference.poll_transmit() {
            if let Some(leg) = legs.get(participant) {
                leg.send(&transmit);
            }
        }
        while let Some(key_press) = conference.poll_dtmf() {
            // Full or closed: call control is not listening; media goes on.
            let _ = outputs.key_presses.try_send(key_press);
        }
        if let Some(sink) = &mut outputs.tap {
            while let Some(frame) = conference.poll_tap() {
                sink(frame.side, frame.at, &frame.pcm);
            }
        }
        if now >= next_publish {
            next_publish = now + STATS_INTERVAL;
            outputs.stats.send_replace(conference.all_stats());
        }
    }
    conference
        .all_stats()
        .into_iter()
        .map(|stats| stats.leg)
        .zip(legs)
        .collect()
}
