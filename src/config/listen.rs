//! Listen addresses: `host:port`, where host is an IP literal (IPv6 in
//! brackets) or a name resolved when kefu binds.

use std::fmt;

/// A validated `host:port` to listen on. Port 0 asks the OS for a free port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    host: String,
    port: u16,
}

impl ListenAddr {
    /// Parses `host:port`; the error says what is wrong in words.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (host, port) = text
            .rsplit_once(':')
            .ok_or_else(|| "expected host:port, e.g. 0.0.0.0:5060".to_owned())?;
        let port: u32 = port
            .parse()
            .map_err(|_| format!("port `{port}` is not a number"))?;
        let port = u16::try_from(port)
            .map_err(|_| "port must be 1-65535 (or 0 for any free port)".to_owned())?;
        let host = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
            Some(v6) => {
                v6.parse::<std::net::Ipv6Addr>()
                    .map_err(|_| format!("`{v6}` is not an IPv6 address"))?;
                v6.to_owned()
            }
            None if host.contains(':') => {
                return Err("write IPv6 addresses in brackets, e.g. [::1]:5060".to_owned());
            }
            None if is_hostname(host) => host.to_owned(),
            None => return Err(format!("`{host}` is not an IP address or host name")),
        };
        Ok(ListenAddr { host, port })
    }

    /// The host part (IP literal without brackets, or a name).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (0 means "any free port").
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` in the form `tokio::net::lookup_host` accepts.
    pub fn to_lookup_string(&self) -> String {
        self.to_string()
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

fn is_hostname(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !label.starts_with('-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ipv4_ipv6_and_names() {
        assert_eq!(ListenAddr::parse("0.0.0.0:5060").unwrap().port(), 5060);
        let v6 = ListenAddr::parse("[::1]:8080").unwrap();
        assert_eq!(v6.host(), "::1");
        assert_eq!(v6.to_string(), "[::1]:8080");
        assert_eq!(ListenAddr::parse("localhost:0").unwrap().port(), 0);
    }

    #[test]
    fn rejects_out_of_range_port_with_the_allowed_range() {
        let err = ListenAddr::parse("localhost:99999").unwrap_err();
        assert!(err.contains("1-65535"), "{err}");
    }

    #[test]
    fn rejects_missing_port_bad_host_and_bare_ipv6() {
        assert!(ListenAddr::parse("localhost").is_err());
        assert!(ListenAddr::parse("bad host:5060").is_err());
        assert!(ListenAddr::parse("::1:5060").is_err());
        assert!(ListenAddr::parse("[zz]:5060").is_err());
        assert!(ListenAddr::parse("host:http").is_err());
    }
}
