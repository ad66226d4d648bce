//! The endpoint task: the one owner of the [`UasCore`]. It feeds the core what
//! the transports received, wakes it when its next timer is due, and puts what
//! it transmits on the wire: UDP datagrams itself, messages for a connection
//! (TCP, TLS, WebSocket) through the writer of that connection.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::Inbound;
use super::calls::Command;
use crate::transaction::{Peer, Transport};
use crate::uas::{CallEvent, Receipt, UasCore};

/// The endpoint task's channels: messages in, call control's commands in,
/// call events out.
pub(super) struct Channels {
    pub(super) inbox: mpsc::Receiver<Inbound>,
    pub(super) commands: mpsc::UnboundedReceiver<Command>,
    pub(super) events: mpsc::UnboundedSender<CallEvent>,
}

/// The writer of one open connection.
struct Connection {
    id: u64,
    writer: mpsc::Sender<Bytes>,
}

/// Runs `core` until `stop` turns true or every transport is gone.
pub(super) async fn run(
    mut core: UasCore,
    udp: Arc<UdpSocket>,
    channels: Channels,
    mut stop: watch::Receiver<bool>,
) {
    let Channels {
        mut inbox,
        mut commands,
        events,
    } = channels;
    let mut connections: HashMap<Peer, Connection> = HashMap::new();
    loop {
        let deadline = core.poll_timeout();
        tokio::select! {
            _ = stop.changed() => return,
            () = sleep_until(deadline) => core.handle_timeout(Instant::now()),
            Some(command) = commands.recv() => apply(&mut core, command),
            inbound = inbox.recv() => match inbound {
                None => return,
                Some(Inbound::Message { bytes, source }) => {
                    let receipt = core.receive(Instant::now(), &bytes, source);
                    record(&receipt, source);
                }
                Some(Inbound::Connected { peer, connection, writer }) => {
                    connections.insert(peer, Connection { id: connection, writer });
                }
                Some(Inbound::Closed { peer, connection }) => {
                    if connections.get(&peer).is_some_and(|open| open.id == connection) {
                        connections.remove(&peer);
                        core.transport_failed(Instant::now(), peer);
                    }
                }
            },
        }
        while let Some(event) = core.poll_event() {
            // Call control gone (shutdown): nothing more to tell it.
            let _ = events.send(event);
        }
        while let Some(transmit) = core.poll_transmit() {
            let peer = transmit.destination;
            let sent = match peer.transport {
                Transport::Udp => udp.send_to(&transmit.payload, peer.addr).await.is_ok(),
                _ => connections
                    .get(&peer)
                    .is_some_and(|open| open.writer.try_send(transmit.payload).is_ok()),
            };
            if !sent {
                tracing::debug!(peer = %peer.addr, transport = ?peer.transport, "SIP send failed");
                core.transport_failed(Instant::now(), peer);
            }
        }
    }
}

/// Applies one of call control's commands to the core.
fn apply(core: &mut UasCore, command: Command) {
    let now = Instant::now();
    match command {
        Command::Respond {
            tx,
            response,
            reply,
        } => {
            let _ = reply.send(core.respond(now, tx, *response));
        }
        Command::SendRequest {
            dialog,
            method,
            body,
            headers,
            reply,
        } => {
            let _ = reply.send(core.send_request_with(now, &dialog, method, body, headers));
        }
        Command::Invite { invite, reply } => {
            let _ = reply.send(core.invite(now, *invite));
        }
        Command::Cancel { tx, headers } => {
            if let Err(error) = core.cancel(now, tx, headers) {
                tracing::debug!(%error, "CANCEL not sent");
            }
        }
        Command::Challenge { tx } => {
            if let Err(error) = core.challenge(now, tx) {
                tracing::debug!(%error, "challenge not sent");
            }
        }
        Command::Contacts { realm, user, reply } => {
            let _ = reply.send(core.contacts(now, &realm, &user));
        }
    }
}

/// Logs and counts what became of one received message.
fn record(receipt: &Receipt, source: Peer) {
    match receipt {
        Receipt::Request { method } => {
            metrics::counter!("kefu_sip_requests_total", "method" => method.clone()).increment(1);
        }
        Receipt::Response => {}
        Receipt::Dropped { reason, detail } => {
            if reason.is_defence() {
                tracing::debug!(peer = %source.addr, reason = reason.label(), "SIP input dropped");
            } else {
                tracing::info!(
                    peer = %source.addr,
                    transport = ?source.transport,
                    reason = reason.label(),
                    %detail,
                    "SIP input dropped"
                );
            }
            metrics::counter!("kefu_sip_dropped_total", "reason" => reason.label()).increment(1);
        }
    }
}

/// Sleeps until `deadline`, or forever when there is none.
async fn sleep_until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
