//! What the media tasks share: one leg's RTP and RTCP sockets with the
//! lease of their ports, read in bounded bursts and written from the leg's
//! transmits, and call-control requests that are answered once applied.

use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

use super::ports::{PortLease, PortPair};
use crate::rtp::leg::Transmit;

/// Largest datagram read; RTP over UDP stays well below an Ethernet MTU.
pub(super) const MAX_DATAGRAM: usize = 2_048;
/// Datagrams read from one socket before the others get a turn, so a flood
/// on one port cannot starve the rest.
const MAX_BURST: usize = 64;

/// One leg's sockets inside a task.
#[derive(Debug)]
pub(super) struct LegSockets {
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
    /// After the sockets, so they close before the ports are freed.
    lease: PortLease,
}

impl LegSockets {
    /// Hands the pair's sockets to tokio; must run inside a runtime.
    pub fn new(ports: PortPair) -> io::Result<Self> {
        Ok(Self {
            rtp: UdpSocket::from_std(ports.rtp)?,
            rtcp: UdpSocket::from_std(ports.rtcp)?,
            lease: ports.lease,
        })
    }

    /// Gives the sockets and their lease back, to be handed to another task.
    pub fn into_ports(self) -> io::Result<PortPair> {
        Ok(PortPair {
            rtp: self.rtp.into_std()?,
            rtcp: self.rtcp.into_std()?,
            lease: self.lease,
        })
    }

    /// Sends what a leg wants sent, from the port it names.
    pub fn send(&self, transmit: &Transmit) {
        let socket = if transmit.from_rtp_port {
            &self.rtp
        } else {
            &self.rtcp
        };
        // A send that fails is a lost packet, as on the wire.
        let _ = socket.try_send_to(&transmit.payload, transmit.destination);
    }
}

/// Passes the datagrams waiting on `socket`, at most a burst of them, to
/// `handle` with their source.
pub(super) fn receive_burst(
    socket: &UdpSocket,
    buffer: &mut [u8; MAX_DATAGRAM],
    mut handle: impl FnMut(SocketAddr, &mut [u8]),
) {
    for _ in 0..MAX_BURST {
        let Ok((len, source)) = socket.try_recv_from(buffer) else {
            break;
        };
        handle(source, &mut buffer[..len]);
    }
}

/// A call-control command and who waits until it is applied.
#[derive(Debug)]
pub(super) struct Request<C> {
    command: C,
    applied: oneshot::Sender<()>,
}

impl<C> Request<C> {
    /// Applies the command with `apply`, then tells the caller; it may have
    /// stopped waiting, the change stands all the same.
    pub fn apply(self, apply: impl FnOnce(C)) {
        apply(self.command);
        let _ = self.applied.send(());
    }
}

/// The task behind a handle has ended.
#[derive(Debug)]
pub(super) struct TaskEnded;

/// Sends `command` to the task and waits until it was applied.
pub(super) async fn request<C>(
    commands: &mpsc::Sender<Request<C>>,
    command: C,
) -> Result<(), TaskEnded> {
    let (applied, done) = oneshot::channel();
    commands
        .send(Request { command, applied })
        .await
        .map_err(|_| TaskEnded)?;
    done.await.map_err(|_| TaskEnded)
}
