//! The SIP transaction layer (RFC 3261 §17 with the RFC 6026 fixes), sans-IO.
//!
//! One [`TransactionLayer`] owns every client and server transaction. The caller
//! feeds it [`Input`]s with the current time through
//! [`TransactionLayer::handle_input`], drains [`Output`]s with
//! [`TransactionLayer::poll_output`] (bytes to send, events for the transaction
//! user) and asks [`TransactionLayer::poll_timeout`] when to come back with
//! [`Input::Timeout`]. It never reads a socket or a clock, and branch ids come from
//! an injected [`BranchSource`], so a test drives it with a fake clock.
//!
//! What it relies on: messages already parsed ([`crate::message::parse_message`]);
//! a transport that delivers [`Transmit`]s to the [`Peer`] named, reusing the
//! connection the request came on for responses. What it leaves to the TU: request
//! validation (§8.2), dialogs, and the 2xx retransmission of a UAS core
//! (§13.3.1.4).
//!
//! A driver's receive path, in order (as [`crate::uas::UasCore::receive`] runs it): [`crate::message::parse_message`] (garbage is
//! dropped and counted; an unknown method or URI scheme is answered 501 or 416
//! statelessly with [`crate::message::response_to_headers`]); [`Input::Received`]; if that returns
//! [`TransactionError::Unmatchable`], answer a request statelessly with
//! [`crate::message::error_response`] through [`Input::SendStateless`] when
//! [`crate::message::RequestError::can_be_answered`] allows, else drop it. On
//! [`Event::Request`] the TU runs [`crate::message::validate_request`] and answers
//! a failure with [`crate::message::error_response`] through
//! [`Input::SendResponse`], so that retransmissions get the same answer.

mod client_invite;
mod client_non_invite;
#[cfg(test)]
mod harness;
mod key;
mod layer;
#[cfg(test)]
mod properties;
mod server_invite;
mod server_non_invite;
mod timers;

use std::fmt;
use std::net::SocketAddr;

use bytes::Bytes;
use rsip::{Request, Response, SipMessage};

pub use key::{KeyError, MAGIC_COOKIE};
pub use layer::{TransactionLayer, response_destination};
pub use timers::Timers;

/// The transport a message travels on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// UDP: unreliable, so the transaction layer retransmits.
    Udp,
    /// TCP.
    Tcp,
    /// TLS over TCP.
    Tls,
    /// WebSocket (RFC 7118).
    Ws,
    /// Secure WebSocket (RFC 7118).
    Wss,
}

impl Transport {
    /// Whether the transport delivers reliably (RFC 3261 §17: timers A, E and G
    /// are off, and D, I, J and K are zero).
    pub fn is_reliable(self) -> bool {
        !matches!(self, Self::Udp)
    }
}

/// The other end of a message: a transport and a socket address. For connection
/// transports it names the connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Peer {
    /// The transport.
    pub transport: Transport,
    /// The remote address.
    pub addr: SocketAddr,
}

/// Identifies one transaction for the lifetime of the layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransactionId(u64);

impl fmt::Display for TransactionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "tx{}", self.0)
    }
}

/// Produces the random part of branch ids (the layer prefixes [`MAGIC_COOKIE`]).
/// Each value must be unique; use a cryptographic RNG in production.
pub trait BranchSource {
    /// A fresh token (RFC 3261 `token` characters only).
    fn next_branch(&mut self) -> String;
}

impl<F: FnMut() -> String> BranchSource for F {
    fn next_branch(&mut self) -> String {
        self()
    }
}

/// Something the layer is told.
#[derive(Debug)]
pub enum Input {
    /// A message arrived from `source`.
    Received {
        /// The parsed message.
        message: SipMessage,
        /// Where it came from.
        source: Peer,
    },
    /// The TU sends a request (not ACK: see [`Input::SendStateless`]; not CANCEL:
    /// see [`Input::Cancel`]). The request's top Via must be there; the layer puts
    /// a fresh branch in it.
    SendRequest {
        /// The request.
        request: Request,
        /// Where to send it.
        destination: Peer,
    },
    /// The TU answers a request it received; the response's Via and CSeq say which.
    SendResponse {
        /// The response.
        response: Response,
    },
    /// The TU cancels an INVITE it sent (RFC 3261 §9.1). The CANCEL is built from
    /// the INVITE and sent once a provisional response has arrived.
    Cancel {
        /// The INVITE client transaction.
        invite: TransactionId,
        /// Extra headers for the CANCEL, e.g. why (`Reason`, RFC 3326).
        headers: Vec<rsip::Header>,
    },
    /// Send outside any transaction: the ACK for a 2xx, a stateless response.
    SendStateless {
        /// The message.
        message: SipMessage,
        /// Where to send it.
        destination: Peer,
    },
    /// The transport could not deliver to `peer` (ICMP error, connection lost).
    TransportFailed {
        /// The peer that failed.
        peer: Peer,
    },
    /// Time passed; fire due timers.
    Timeout,
}

/// Something the layer asks for or reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Bytes to send.
    Transmit(Transmit),
    /// News for the transaction user.
    Event(Event),
}

/// A message to put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to send it.
    pub destination: Peer,
    /// The serialized message.
    pub payload: Bytes,
}

/// News for the transaction user (TU).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new request (not ACK, not CANCEL) created server transaction `id`. The TU
    /// answers it with [`Input::SendResponse`].
    Request {
        /// The new server transaction.
        id: TransactionId,
        /// The request.
        request: Box<Request>,
        /// Where it came from.
        source: Peer,
    },
    /// A CANCEL created server transaction `id`. `invite` is the INVITE server
    /// transaction it cancels, if that one still awaits a final response; the TU
    /// answers the CANCEL (200, or 481 when `invite` is `None`) and the INVITE (487).
    Cancel {
        /// The CANCEL's own server transaction.
        id: TransactionId,
        /// The CANCEL.
        request: Box<Request>,
        /// Where it came from.
        source: Peer,
        /// The INVITE it targets.
        invite: Option<TransactionId>,
    },
    /// An ACK that no transaction absorbs: the ACK for a 2xx (RFC 6026).
    Ack {
        /// The ACK.
        request: Box<Request>,
        /// Where it came from.
        source: Peer,
    },
    /// A response for client transaction `id`.
    Response {
        /// The client transaction.
        id: TransactionId,
        /// The response.
        response: Box<Response>,
    },
    /// Timer B or F: no final response arrived; the TU acts as on a 408.
    NoFinalResponse {
        /// The client transaction.
        id: TransactionId,
    },
    /// Timer H: the ACK for our non-2xx final response never came.
    AckNotReceived {
        /// The INVITE server transaction.
        id: TransactionId,
    },
    /// The transport failed for this transaction's peer.
    TransportFailed {
        /// The transaction.
        id: TransactionId,
    },
    /// The transaction is gone; its id will not be used again.
    Terminated {
        /// The transaction.
        id: TransactionId,
    },
}

/// Why the layer refused an input.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransactionError {
    /// The message cannot be tied to a transaction.
    #[error("cannot match message to a transaction: {0}")]
    Unmatchable(#[from] KeyError),
    /// ACK and CANCEL have inputs of their own.
    #[error("{0} is not sent with SendRequest")]
    NotForSendRequest(rsip::Method),
    /// No transaction has this key or id (it may have terminated).
    #[error("no such transaction")]
    NoSuchTransaction,
    /// The server transaction has already sent its final response.
    #[error("the final response was already sent")]
    FinalResponseAlreadySent,
    /// Only an INVITE client transaction awaiting its final response can be
    /// cancelled.
    #[error("the transaction cannot be cancelled")]
    NotCancellable,
    /// The branch source produced a branch already in use.
    #[error("branch already in use")]
    BranchInUse,
}

/// What a state machine asks the layer to do; internal to the transaction layer.
#[derive(Debug)]
enum Effect {
    /// Send these bytes to the transaction's peer.
    Send(Bytes),
    /// Give a response to the TU.
    PassResponse(Response),
    /// Give an ACK to the TU.
    PassAck(Request),
    /// Timer B or F fired.
    NoFinalResponse,
    /// Timer H fired.
    AckNotReceived,
    /// Remove the transaction.
    Terminate,
}
