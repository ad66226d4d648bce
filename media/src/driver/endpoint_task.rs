//! One tokio task per call leg that ends in kefu (echo test, IVR): it owns
//! the leg's port pair and a sans-IO [`Endpoint`], waits until a socket is
//! readable, the endpoint's timer is due or call control sends a command,
//! feeds the waiting datagrams (a bounded burst per wake-up) into the
//! endpoint, and sends what it returns. Through its [`EndpointHandle`] call
//! control turns echo on and off, queues and stops prompts, captures what
//! the peer says (voicemail), repoints the leg, reads live statistics and
//! receives key presses and the end of playback. The task stops when the handle says so (or is dropped) and
//! hands back the final statistics; the ports return to their pool then.
//!
//! Playback is paced by the endpoint's own schedule: the task sleeps until
//! [`Endpoint::poll_timeout`], an absolute instant 20 ms after the previous
//! frame's, rather than keeping a `tokio::time::Interval` whose phase would
//! have to agree with the endpoint's. Its behaviour is that of an interval
//! with `MissedTickBehavior::Burst`: frames the task wakes up late for go
//! out at once with their own timestamps, so the stream stays on the RTP
//! clock and the phone's jitter buffer absorbs the burst, where `Delay`
//! would stretch the prompt and leave the RTP timestamps behind real time.
//! A stall beyond [`crate::endpoint::MAX_FRAME_LATENESS`] is not caught up:
//! playback goes on in a new talkspurt.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::STATS_INTERVAL;
use super::leg_sockets::{LegSockets, MAX_DATAGRAM, Request, TaskEnded, receive_burst, request};
use super::ports::PortPair;
use crate::codec::CodecError;
use crate::endpoint::{Endpoint, EndpointConfig, EndpointEvent};
use crate::rtp::leg::LegStats;

/// Events kept for call control; more are dropped rather than stall media
/// (the figure is in [`EndpointHandle::next_event`]'s doc).
const EVENT_QUEUE: usize = 32;
/// Call-control commands waiting for the task.
const COMMAND_QUEUE: usize = 8;

/// Why the endpoint task could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum EndpointTaskError {
    #[error("could not hand the endpoint's ports to tokio: {0}")]
    Socket(io::Error),
    #[error("cannot set up the endpoint's codec: {0}")]
    Codec(#[from] CodecError),
    #[error("the endpoint task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the endpoint task has ended")]
    Ended,
}

impl From<TaskEnded> for EndpointTaskError {
    fn from(_: TaskEnded) -> Self {
        Self::Ended
    }
}

/// Controls a running endpoint task.
#[derive(Debug)]
pub struct EndpointHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<(LegStats, LegSockets)>,
    stats: watch::Receiver<LegStats>,
    events: mpsc::Receiver<EndpointEvent>,
    commands: mpsc::Sender<Request<Command>>,
    rtp: SocketAddr,
}

impl EndpointHandle {
    /// Where the peer sends RTP (RTCP goes to the next port).
    pub fn rtp_addr(&self) -> SocketAddr {
        self.rtp
    }

    /// Turns echo on or off (playback pauses while it is on); returns once
    /// applied, so packets sent afterwards are echoed.
    pub async fn set_echo(&self, on: bool) -> Result<(), EndpointTaskError> {
        Ok(request(&self.commands, Command::SetEcho(on)).await?)
    }

    /// Queues a clip of 8 kHz mono PCM after what plays already; its end
    /// (with the rest of the queue) is reported as
    /// [`EndpointEvent::PlaybackFinished`].
    pub async fn play(&self, clip: Arc<[i16]>) -> Result<(), EndpointTaskError> {
        Ok(request(&self.commands, Command::Play(clip)).await?)
    }

    /// Barge-in: empties the queue; nothing more is sent once this returns,
    /// and no [`EndpointEvent::PlaybackFinished`] follows.
    pub async fn stop_playing(&self) -> Result<(), EndpointTaskError> {
        Ok(request(&self.commands, Command::StopPlaying).await?)
    }

    /// The peer moved (re-INVITE, transfer); returns once applied, so
    /// packets from the new peer sent afterwards are accepted.
    pub async fn repoint(&self, remote: Option<SocketAddr>) -> Result<(), EndpointTaskError> {
        Ok(request(&self.commands, Command::Repoint(remote)).await?)
    }

    /// Sends the decoded audio the peer sends to `sink` from now on (until
    /// [`Self::stop_capture`]).
    pub async fn capture(&self, sink: CaptureSink) -> Result<(), EndpointTaskError> {
        Ok(request(&self.commands, Command::Capture(Some(sink))).await?)
    }

    /// Stops [`Self::capture`]; the sink is dropped.
    pub async fn stop_capture(&self) -> Result<(), EndpointTaskError> {
        Ok(request(&self.commands, Command::Capture(None)).await?)
    }

    /// The next key press or end of playback; None once the task has ended.
    /// Read events as they come: beyond 32 unread ones, new events are
    /// dropped rather than stall the media.
    pub async fn next_event(&mut self) -> Option<EndpointEvent> {
        self.events.recv().await
    }

    /// The statistics as of at most [`STATS_INTERVAL`] ago, for metrics.
    pub fn stats(&self) -> LegStats {
        *self.stats.borrow()
    }

    /// Stops the task and returns the leg's final statistics; the ports
    /// go back to their pool.
    pub async fn stop(self) -> Result<LegStats, EndpointTaskError> {
        Ok(self.finish().await?.0)
    }

    /// Stops the task and hands back its ports with the leg's statistics,
    /// so the call's media goes on on the same address (a bridge to an
    /// agent after the IVR, without a new offer to the caller).
    pub async fn release(self) -> Result<(LegStats, PortPair), EndpointTaskError> {
        let (stats, sockets) = self.finish().await?;
        let ports = sockets.into_ports().map_err(EndpointTaskError::Socket)?;
        Ok((stats, ports))
    }

    async fn finish(self) -> Result<(LegStats, LegSockets), EndpointTaskError> {
        // The task may have ended already; its result says how.
        let _ = self.stop.send(());
        Ok(self.task.await?)
    }
}

/// Starts an endpoint on `ports` on the current tokio runtime.
pub fn spawn_endpoint(
    config: EndpointConfig,
    ports: PortPair,
) -> Result<EndpointHandle, EndpointTaskError> {
    let rtp = ports.rtp.local_addr().map_err(EndpointTaskError::Socket)?;
    let endpoint = Endpoint::new(config, Instant::now(), SystemTime::now())?;
    let sockets = LegSockets::new(ports).map_err(EndpointTaskError::Socket)?;
    let (stop, stopped) = oneshot::channel();
    let (publish, stats) = watch::channel(endpoint.stats());
    let (report_event, events) = mpsc::channel(EVENT_QUEUE);
    let (commands, received_commands) = mpsc::channel(COMMAND_QUEUE);
    let outputs = Outputs {
        stats: publish,
        events: report_event,
    };
    let task = tokio::spawn(run(endpoint, sockets, stopped, received_commands, outputs));
    Ok(EndpointHandle {
        stop,
        task,
        stats,
        events,
        commands,
        rtp,
    })
}

/// Where captured audio goes (a recorder's feed): when each frame arrived,
/// its PCM. Called on the endpoint's task, so it must not block.
pub type CaptureSink = Box<dyn FnMut(Instant, &[i16]) + Send>;

/// What call control asks of a running endpoint.
enum Command {
    SetEcho(bool),
    Play(Arc<[i16]>),
    StopPlaying,
    Repoint(Option<SocketAddr>),
    Capture(Option<CaptureSink>),
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::SetEcho(on) => f.debug_tuple("SetEcho").field(on).finish(),
            Self::Play(clip) => f.debug_tuple("Play").field(&clip.len()).finish(),
            Self::StopPlaying => f.write_str("StopPlaying"),
            Self::Repoint(remote) => f.debug_tuple("Repoint").field(remote).finish(),
            Self::Capture(sink) => f.debug_tuple("Capture").field(&sink.is_some()).finish(),
        }
    }
}

/// What the task tells its handle while it runs.
struct Outputs {
    stats: watch::Sender<LegStats>,
    events: mpsc::Sender<EndpointEvent>,
}

/// What woke the task up.
#[derive(Debug)]
enum Ready {
    Rtp,
    Rtcp,
    Timer,
    Command(Request<Command>),
    Stop,
}

async fn run(
    mut endpoint: Endpoint,
    sockets: LegSockets,
    mut stopped: oneshot::Receiver<()>,
    mut commands: mpsc::Receiver<Request<Command>>,
    outputs: Outputs,
) -> (LegStats, LegSockets) {
    let mut next_publish = Instant::now() + STATS_INTERVAL;
    let mut buffer = [0u8; MAX_DATAGRAM];
    let mut capture: Option<CaptureSink> = None;
    loop {
        let deadline = tokio::time::Instant::from_std(endpoint.poll_timeout().min(next_publish));
        let ready = tokio::select! {
            _ = &mut stopped => Ready::Stop,
            Some(request) = commands.recv() => Ready::Command(request),
            Ok(()) = sockets.rtp.readable() => Ready::Rtp,
            Ok(()) = sockets.rtcp.readable() => Ready::Rtcp,
            () = tokio::time::sleep_until(deadline) => Ready::Timer,
        };
        let now = Instant::now();
        match ready {
            Ready::Stop => break,
            // Rejected packets are counted in the leg's statistics.
            Ready::Rtp => receive_burst(&sockets.rtp, &mut buffer, |source, datagram| {
                let _ = endpoint.handle_rtp(now, source, datagram);
            }),
            Ready::Rtcp => receive_burst(&sockets.rtcp, &mut buffer, |source, packet| {
                let _ = endpoint.handle_rtcp(now, source, packet);
            }),
            Ready::Timer => endpoint.handle_timeout(now),
            Ready::Command(request) => request.apply(|command| match command {
                Command::SetEcho(on) => endpoint.set_echo(on),
                Command::Play(clip) => endpoint.play(clip),
                Command::StopPlaying => endpoint.stop_playing(),
                Command::Repoint(remote) => endpoint.repoint(now, remote),
                Command::Capture(sink) => {
                    endpoint.set_capture(sink.is_some());
                    capture = sink;
                }
            }),
        }
        if let Some(sink) = &mut capture {
            while let Some((at, pcm)) = endpoint.poll_captured() {
                sink(at, &pcm);
            }
        }
        while let Some(transmit) = endpoint.poll_transmit() {
            sockets.send(&transmit);
        }
        while let Some(event) = endpoint.poll_event() {
            // Full or closed: call control is not listening; media goes on.
            let _ = outputs.events.try_send(event);
        }
        if now >= next_publish {
            next_publish = now + STATS_INTERVAL;
            outputs.stats.send_replace(endpoint.stats());
        }
    }
    (endpoint.stats(), sockets)
}
