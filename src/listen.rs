//! Binding kefu's listening sockets: SIP on UDP and TCP at the same address,
//! SIP over TLS and HTTP on TCP. A taken port fails start-up with one clear line, e.g.
//! `cannot listen on 0.0.0.0:5060 (udp): address in use`.

use std::io;
use std::net::{IpAddr, SocketAddr};

use tokio::net::{TcpListener, UdpSocket};

use crate::config::ListenAddr;

/// Why a socket could not be bound.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr} ({proto}): {reason}")]
pub struct ListenError {
    addr: String,
    proto: &'static str,
    reason: String,
}

impl ListenError {
    fn new(addr: impl ToString, proto: &'static str, err: &io::Error) -> Self {
        let reason = match err.kind() {
            io::ErrorKind::AddrInUse => "address in use".to_owned(),
            io::ErrorKind::AddrNotAvailable => "address not available on this host".to_owned(),
            io::ErrorKind::PermissionDenied => {
                "permission denied (ports below 1024 need root or CAP_NET_BIND_SERVICE)".to_owned()
            }
            _ => err.to_string(),
        };
        ListenError {
            addr: addr.to_string(),
            proto,
            reason,
        }
    }
}

/// SIP's UDP socket and TCP listener, on the same address and port.
pub struct SipSockets {
    pub udp: UdpSocket,
    pub tcp: TcpListener,
}

impl SipSockets {
    /// The address both are bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.udp.local_addr()
    }
}

async fn resolve(addr: &ListenAddr, proto: &'static str) -> Result<SocketAddr, ListenError> {
    let mut found = tokio::net::lookup_host(addr.to_lookup_string())
        .await
        .map_err(|err| ListenError::new(addr, proto, &err))?;
    found.next().ok_or_else(|| ListenError {
        addr: addr.to_string(),
        proto,
        reason: "the host name resolves to no address".to_owned(),
    })
}

/// Binds SIP on UDP and TCP. With port 0, both get the same free port.
pub async fn bind_sip(addr: &ListenAddr) -> Result<SipSockets, ListenError> {
    let target = resolve(addr, "udp").await?;
    const ATTEMPTS_FOR_ANY_PORT: usize = 20;
    let attempts = if target.port() == 0 {
        ATTEMPTS_FOR_ANY_PORT
    } else {
        1
    };
    let mut last_error = None;
    for _ in 0..attempts {
        let udp = UdpSocket::bind(target)
            .await
            .map_err(|err| ListenError::new(addr, "udp", &err))?;
        let bound = udp
            .local_addr()
            .map_err(|err| ListenError::new(addr, "udp", &err))?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok(SipSockets { udp, tcp }),
            Err(err) => last_error = Some(ListenError::new(bound, "tcp", &err)),
        }
    }
    Err(last_error.unwrap_or_else(|| ListenError {
        addr: addr.to_string(),
        proto: "tcp",
        reason: "no free port".to_owned(),
    }))
}

/// Binds the HTTP listener.
pub async fn bind_http(addr: &ListenAddr) -> Result<TcpListener, ListenError> {
    bind_tcp(addr, "http").await
}

/// Binds the SIP over TLS listener.
pub async fn bind_sip_tls(addr: &ListenAddr) -> Result<TcpListener, ListenError> {
    bind_tcp(addr, "tls").await
}

async fn bind_tcp(addr: &ListenAddr, proto: &'static str) -> Result<TcpListener, ListenError> {
    let target = resolve(addr, proto).await?;
    TcpListener::bind(target)
        .await
        .map_err(|err| ListenError::new(addr, proto, &err))
}

/// The address peers should use for a socket bound on `bound`: `bound`
/// itself, or for an unspecified bind (`0.0.0.0`, `::`) the host's outward
/// address (the one its routing table would send from), else loopback.
pub fn advertised_ip(bound: IpAddr) -> IpAddr {
    if !bound.is_unspecified() {
        return bound;
    }
    let probe = || -> std::io::Result<IpAddr> {
        // Connecting a UDP socket only consults the routing table; nothing is sent.
        let socket = std::net::UdpSocket::bind((bound, 0))?;
        let documentation_net: IpAddr = if bound.is_ipv4() {
            IpAddr::from([192, 0, 2, 1])
        } else {
            IpAddr::from([0x2001, 0xdb8, 0, 0, 0, 0, 0, 1])
        };
        socket.connect((documentation_net, 9))?;
        Ok(socket.local_addr()?.ip())
    };
    probe().unwrap_or_else(|error| {
        let loopback = if bound.is_ipv4() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            IpAddr::from([0u16, 0, 0, 0, 0, 0, 0, 1])
        };
        tracing::warn!(%error, %loopback, "no outward address; announcing loopback (set media.address)");
        loopback
    })
}
