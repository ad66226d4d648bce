//! The UDP receive loop: each datagram is one message (RFC 3261 §18.3), handed
//! to the endpoint task as it came.

use std::sync::Arc;

use bytes::Bytes;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use super::Inbound;
use crate::transaction::{Peer, Transport};

/// Room for the largest datagram, so that an oversized one is seen whole
/// (and refused by size) rather than cut.
const DATAGRAM_BUFFER: usize = 65_536;

/// Receives datagrams on `socket` until `stop` turns true.
pub(super) async fn receive(
    socket: Arc<UdpSocket>,
    inbound: mpsc::Sender<Inbound>,
    mut stop: watch::Receiver<bool>,
) {
    let mut buffer = vec![0; DATAGRAM_BUFFER];
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            received = socket.recv_from(&mut buffer) => match received {
                Ok((size, addr)) => {
                    let message = Inbound::Message {
                        bytes: Bytes::copy_from_slice(&buffer[..size]),
                        source: Peer { transport: Transport::Udp, addr },
                    };
                    if inbound.send(message).await.is_err() {
                        return;
                    }
                }
                Err(error) => tracing::debug!(%error, "SIP UDP receive failed"),
            },
        }
    }
}
