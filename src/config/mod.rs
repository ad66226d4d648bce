//! kefu's configuration: one TOML file, `KEFU_…` environment overrides and
//! command-line flags, resolved in that order of precedence (flag > env > file >
//! default) into a validated [`Config`].
//!
//! Every error names the key, the value and what is allowed, and says where the
//! value came from when it was not the file, so an operator can fix it in one go.

mod error;
mod file;
mod listen;
mod sources;
mod tls;

pub use error::ConfigError;
pub use listen::ListenAddr;
pub use sources::{Overrides, load};
pub use tls::SipTls;

use std::path::PathBuf;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One readable line per event, for people at a terminal.
    Human,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Which database backend a URL selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    /// An embedded SQLite file (the default, under the data dir).
    Sqlite(String),
    /// A PostgreSQL server shared by several kefu nodes.
    Postgres(String),
}

impl DatabaseUrl {
    /// The URL as sqlx expects it.
    pub fn as_str(&self) -> &str {
        match self {
            DatabaseUrl::Sqlite(url) | DatabaseUrl::Postgres(url) => url,
        }
    }

    /// The URL with any password replaced by `***`, for logs.
    pub fn redacted(&self) -> String {
        let url = self.as_str();
        let Some((scheme, rest)) = url.split_once("://") else {
            return url.to_owned();
        };
        match rest.split_once('@') {
            Some((userinfo, host)) => match userinfo.split_once(':') {
                Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
                None => url.to_owned(),
            },
            None => url.to_owned(),
        }
    }
}

/// The validated configuration kefu runs with.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file it was read from, if any.
    pub file: Option<PathBuf>,
    /// Runtime data: SQLite file, recordings, uploads, prompt cache.
    pub data_dir: PathBuf,
    /// SIP listens here on UDP and TCP.
    pub sip_listen: ListenAddr,
    /// The digest realm phones register in; users of tenants with this realm
    /// may register.
    pub sip_realm: String,
    /// The digest algorithms phones are challenged with, most preferred first.
    pub sip_digest_algorithms: Vec<kefu_signaling::auth::Algorithm>,
    /// Headers of a caller's INVITE that kefu copies onto the calls it
    /// places for it (`sip.forward_headers`); no other header crosses legs.
    pub sip_forward_headers: Vec<String>,
    /// The shortest registration the registrar grants (else 423 Interval Too Brief).
    pub sip_min_expires: std::time::Duration,
    /// Requests per second each source address may send, sustained.
    pub sip_rate_limit_per_second: u32,
    /// Requests each source address may send back to back.
    pub sip_rate_limit_burst: u32,
    /// SIP over TLS, when `sip.tls_listen` is set.
    pub sip_tls: Option<SipTls>,
    /// HTTP (API, WebSockets, web apps) listens here.
    pub http_listen: ListenAddr,
    /// Where the store lives.
    pub database_url: DatabaseUrl,
    /// Upper bound of the store's connection pool.
    pub database_max_connections: u32,
    /// A fixed admin API token, if configured (else one is generated once).
    pub admin_token: Option<String>,
    /// UDP ports for RTP/RTCP pairs (`media.rtp_ports`).
    pub rtp_ports: kefu_media::driver::ports::PortRange,
    /// The address media binds to and announces in SDP (`media.address`);
    /// unset: the SIP listen address, or the host's outward address when SIP
    /// listens on all interfaces.
    pub media_address: Option<std::net::IpAddr>,
    /// Whose ringback and busy tones callers hear (`media.tone_region`).
    pub tone_region: kefu_media::tone::ToneRegion,
    /// The public address a 1:1 NAT maps to `media.address`, offered to
    /// browsers as one more ICE candidate (`media.public_ip`).
    pub media_public_ip: Option<std::net::IpAddr>,
    /// Record bridged calls (`recordings.enabled`).
    pub recordings_enabled: bool,
    /// Days recordings are kept (`recordings.retention_days`); `None` (0 or
    /// unset) keeps them forever. A sweep at start and then daily deletes
    /// older ones, files and rows.
    pub recordings_retention_days: Option<std::num::NonZeroU32>,
    /// Provision the demo tenant at start.
    pub demo: bool,
    /// The IVR scripts folder (`ivr.scripts_dir`): its `*.toml` flows are
    /// loaded for the demo tenant at start and reloaded when they change.
    pub ivr_scripts_dir: PathBuf,
    /// Log line format.
    pub log_format: LogFormat,
    /// `tracing` filter directives, e.g. `info` or `kefu=debug,sqlx=warn`.
    pub log_level: String,
}
