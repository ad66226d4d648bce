//! RTP port pairs from a configured range (`media.rtp_ports = "20000-30000"`):
//! an even port for RTP and the next one for RTCP (RFC 3550 §11), both bound
//! on allocation so a pair that is handed out is really ours. Ports another
//! program holds are skipped. A pair goes back to the end of the pool when
//! its [`PortPair`] is dropped, so a port rests as long as possible before it
//! is reused and late packets of an old call do not reach a new one.

use std::collections::VecDeque;
use std::fmt;
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};

/// An inclusive range of UDP ports for RTP and RTCP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    first: u16,
    last: u16,
}

/// Why a port range does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortRangeError {
    #[error("port range {0:?} is not FIRST-LAST, e.g. \"20000-30000\"")]
    Format(String),
    #[error("port range {0:?} has a bound that is not a port number (1-65535)")]
    NotAPort(String),
    #[error("port range {first}-{last} holds no even port followed by its odd neighbour")]
    NoPair { first: u16, last: u16 },
}

impl PortRange {
    pub fn new(first: u16, last: u16) -> Result<Self, PortRangeError> {
        let range = Self { first, last };
        if first == 0 || range.pair_ports().next().is_none() {
            return Err(PortRangeError::NoPair { first, last });
        }
        Ok(range)
    }

    /// The even ports whose odd neighbour is also in the range.
    fn pair_ports(self) -> impl Iterator<Item = u16> {
        let first_even = self.first.saturating_add(self.first % 2);
        (first_even..self.last).step_by(2)
    }
}

impl FromStr for PortRange {
    type Err = PortRangeError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (first, last) = text
            .split_once('-')
            .ok_or_else(|| PortRangeError::Format(text.to_owned()))?;
        let port = |bound: &str| {
            bound
                .trim()
                .parse::<u16>()
                .map_err(|_| PortRangeError::NotAPort(text.to_owned()))
        };
        Self::new(port(first)?, port(last)?)
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// Why no port pair could be had.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PortError {
    #[error("no free RTP port pair in {range} on {ip}")]
    Exhausted { range: PortRange, ip: IpAddr },
}

/// Hands out bound RTP/RTCP port pairs on one local address; cheap to clone.
#[derive(Debug, Clone)]
pub struct PortAllocator {
    ip: IpAddr,
    range: PortRange,
    free: Arc<Mutex<VecDeque<u16>>>,
}

impl PortAllocator {
    pub fn new(ip: IpAddr, range: PortRange) -> Self {
        Self {
            ip,
            range,
            free: Arc::new(Mutex::new(range.pair_ports().collect())),
        }
    }

    /// Port pairs not handed out (some may be held by other programs).
    pub fn available(&self) -> usize {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// Binds the next free pair, skipping ports that cannot be bound.
    pub fn allocate(&self) -> Result<PortPair, PortError> {
        let mut free = self.free.lock().unwrap_or_else(PoisonError::into_inner);
        for _ in 0..free.len() {
            let Some(port) = free.pop_front() else { break };
            match self.bind_pair(port) {
                Some((rtp, rtcp)) => {
                    return Ok(PortPair {
                        rtp,
                        rtcp,
                        lease: PortLease {
                            port,
                            free: Arc::clone(&self.free),
                        },
                    });
                }
                None => free.push_back(port),
            }
        }
        Err(PortError::Exhausted {
            range: self.range,
            ip: self.ip,
        })
    }

    fn bind_pair(&self, port: u16) -> Option<(UdpSocket, UdpSocket)> {
        let rtp = UdpSocket::bind(SocketAddr::new(self.ip, port)).ok()?;
        let rtcp = UdpSocket::bind(SocketAddr::new(self.ip, port + 1)).ok()?;
        rtp.set_nonblocking(true).ok()?;
        rtcp.set_nonblocking(true).ok()?;
        Some((rtp, rtcp))
    }
}

/// A bound RTP socket (even port) and RTCP socket (the next port), both
/// non-blocking; the port pair returns to the pool when this is dropped.
#[derive(Debug)]
pub struct PortPair {
    pub rtp: UdpSocket,
    pub rtcp: UdpSocket,
    /// Declared after the sockets, so they close before the port is freed.
    pub lease: PortLease,
}

impl PortPair {
    /// The RTP port.
    pub fn port(&self) -> u16 {
        self.lease.port
    }
}

/// A port pair's place in the pool; gives it back on drop.
#[derive(Debug)]
pub struct PortLease {
    port: u16,
    free: Arc<Mutex<VecDeque<u16>>>,
}

impl Drop for PortLease {
    fn drop(&mut self) {
        self.free
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push_back(self.port);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

    #[test]
    fn ranges_parse_and_refuse_what_holds_no_pair() {
        let range: PortRange = "20000-30000".parse().unwrap();
        assert_eq!(range.to_string(), "20000-30000");
        assert_eq!(range.pair_ports().count(), 5_000);
        assert_eq!(
            "20001 - 20004"
                .parse::<PortRange>()
                .unwrap()
                .pair_ports()
                .collect::<Vec<_>>(),
            vec![20_002]
        );
        assert_eq!(
            "20000".parse::<PortRange>(),
            Err(PortRangeError::Format("20000".to_owned()))
        );
        assert_eq!(
            "20000-70000".parse::<PortRange>(),
            Err(PortRangeError::NotAPort("20000-70000".to_owned()))
        );
        assert_eq!(
            "20001-20002".parse::<PortRange>(),
            Err(PortRangeError::NoPair {
                first: 20_001,
                last: 20_002
            })
        );
        assert_eq!(
            "30000-20000".parse::<PortRange>(),
            Err(PortRangeError::NoPair {
                first: 30_000,
                last: 20_000
            })
        );
        assert!("0-10".parse::<PortRange>().is_err());
    }

    #[test]
    fn pairs_are_even_and_odd_and_return_to_the_pool_on_drop() {
        let allocator = PortAllocator::new(LOOPBACK, "43100-43109".parse().unwrap());
        assert_eq!(allocator.available(), 5);
        let pair = allocator.allocate().unwrap();
        let port = pair.port();
        assert_eq!(port % 2, 0);
        assert_eq!(pair.rtp.local_addr().unwrap().port(), port);
        assert_eq!(pair.rtcp.local_addr().unwrap().port(), port + 1);
        assert_eq!(allocator.available(), 4);
        drop(pair);
        assert_eq!(allocator.available(), 5);
        // The port was put at the back: the next pair is another one.
        let next = allocator.allocate().unwrap();
        assert_ne!(next.port(), port);
    }

    #[test]
    fn ports_held_elsewhere_are_skipped_and_exhaustion_is_an_error() {
        // Someone else holds a port of the first pair of a two-pair range.
        let squatter = UdpSocket::bind((LOOPBACK, 0)).unwrap();
        let held_port = squatter.local_addr().unwrap().port();
        let first = held_port - held_port % 2;
        let range = PortRange::new(first, first + 3).unwrap();
        let allocator = PortAllocator::new(LOOPBACK, range);
        let second = allocator.allocate();
        match &second {
            Ok(pair) => assert_eq!(pair.port(), first + 2),
            // The second pair may be taken by another program too.
            Err(error) => assert_eq!(
                *error,
                PortError::Exhausted {
                    range,
                    ip: LOOPBACK
                }
            ),
        }
        assert!(matches!(
            allocator.allocate(),
            Err(PortError::Exhausted { .. })
        ));
        let expected_free = if second.is_ok() { 1 } else { 2 };
        assert_eq!(
            allocator.available(),
            expected_free,
            "skipped pairs stay in the pool"
        );
    }
}
