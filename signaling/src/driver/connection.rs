//! Connections: what every connection-oriented transport (TCP, TLS, and
//! WebSocket served by the HTTP server) shares with the endpoint task. A
//! [`ConnectionSink`] opens a [`Connection`]: it registers the connection's
//! writer with the endpoint, so that responses go back on it (RFC 3261 §18.2.2,
//! RFC 7118 §5), carries each whole received message in, and hands out what the
//! endpoint sends on it. Dropping the `Connection` tells the endpoint that the
//! connection closed, which fails the transactions waiting to send on it. How
//! bytes become messages (stream framing, WebSocket frames) stays with each
//! transport; nothing here parses SIP.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::sync::mpsc::error::TrySendError;

use super::Inbound;
use crate::transaction::Peer;

/// How many outgoing messages may wait for one connection's writer.
const OUTGOING_QUEUE: usize = 64;

/// The driver has stopped: the connection should close.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the SIP driver has stopped")]
pub struct DriverStopped;

/// Opens connections with the running [`super::Driver`]; cheap to clone. The
/// HTTP server holds one to serve SIP over WebSocket.
#[derive(Debug, Clone)]
pub struct ConnectionSink {
    inbound: mpsc::Sender<Inbound>,
    ids: Arc<AtomicU64>,
}

impl ConnectionSink {
    pub(super) fn new(inbound: mpsc::Sender<Inbound>) -> Self {
        Self {
            inbound,
            ids: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Registers a new connection from `peer` (its transport and remote
    /// address) with the endpoint task.
    pub async fn open(&self, peer: Peer) -> Result<Connection, DriverStopped> {
        let id = self.ids.fetch_add(1, Ordering::Relaxed);
        let (writer, outgoing) = mpsc::channel(OUTGOING_QUEUE);
        let connected = Inbound::Connected {
            peer,
            connection: id,
            writer,
        };
        self.inbound
            .send(connected)
            .await
            .map_err(|_| DriverStopped)?;
        Ok(Connection {
            peer,
            id,
            inbound: self.inbound.clone(),
            outgoing,
        })
    }
}

/// One open connection, registered with the endpoint task. Dropping it closes
/// it for the endpoint.
#[derive(Debug)]
pub struct Connection {
    peer: Peer,
    id: u64,
    inbound: mpsc::Sender<Inbound>,
    outgoing: mpsc::Receiver<Bytes>,
}

impl Connection {
    /// The transport and remote address this connection was opened for.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// Hands the bytes of one whole received message to the endpoint task.
    pub async fn receive(&self, bytes: Bytes) -> Result<(), DriverStopped> {
        let message = Inbound::Message {
            bytes,
            source: self.peer,
        };
        self.inbound.send(message).await.map_err(|_| DriverStopped)
    }

    /// The next message the endpoint sends on this connection; `None` once the
    /// driver has stopped.
    pub async fn next_outgoing(&mut self) -> Option<Bytes> {
        self.outgoing.recv().await
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        let closed = Inbound::Closed {
            peer: self.peer,
            connection: self.id,
        };
        if let Err(TrySendError::Full(closed)) = self.inbound.try_send(closed) {
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                let inbound = self.inbound.clone();
                runtime.spawn(async move {
                    let _ = inbound.send(closed).await;
                });
            }
        }
    }
}
