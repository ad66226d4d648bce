//! TLS (RFC 3261 §26.2, Via transport `TLS`): the server side of the handshake
//! with `tokio-rustls`, bounded by [`HANDSHAKE_TIMEOUT`]. After it a TLS
//! connection is served like TCP ([`super::tcp`]): same framing, same limits.
//! The certificate and key come in a ready `rustls::ServerConfig`; reading
//! them from files is the caller's job.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

/// How long a client may take to complete the TLS handshake.
pub(super) const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Completes the server handshake on `stream`; `None` (logged and counted)
/// when it fails or takes longer than [`HANDSHAKE_TIMEOUT`].
pub(super) async fn handshake(
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    peer: SocketAddr,
) -> Option<TlsStream<TcpStream>> {
    let reason = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => return Some(stream),
        Ok(Err(error)) => {
            tracing::info!(%peer, reason = "tls_handshake_failed", %error, "SIP TLS handshake failed");
            "tls_handshake_failed"
        }
        Err(_) => {
            tracing::info!(%peer, reason = "tls_handshake_timeout", "SIP TLS handshake timed out");
            "tls_handshake_timeout"
        }
    };
    metrics::counter!("kefu_sip_dropped_total", "reason" => reason).increment(1);
    None
}
