//! The shape of `kefu.toml`: every key optional, unknown keys rejected.

use serde::Deserialize;

/// `kefu.toml` as written; every key may be absent.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct FileConfig {
    pub data_dir: Option<String>,
    pub demo: Option<bool>,
    pub sip: SipSection,
    pub http: HttpSection,
    pub database: DatabaseSection,
    pub media: MediaSection,
    pub recordings: RecordingsSection,
    pub api: ApiSection,
    pub ivr: IvrSection,
    pub log: LogSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct SipSection {
    pub listen: Option<String>,
    pub realm: Option<String>,
    pub digest_algorithms: Option<String>,
    pub forward_headers: Option<String>,
    pub min_expires: Option<i64>,
    pub rate_limit_per_second: Option<i64>,
    pub rate_limit_burst: Option<i64>,
    pub tls_listen: Option<String>,
    pub tls_cert: Option<String>,
    pub tls_key: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct HttpSection {
    pub listen: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct RecordingsSection {
    pub enabled: Option<bool>,
    pub retention_days: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct MediaSection {
    pub rtp_ports: Option<String>,
    pub address: Option<String>,
    pub tone_region: Option<String>,
    pub public_ip: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct DatabaseSection {
    pub url: Option<String>,
    pub max_connections: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct ApiSection {
    pub admin_token: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct IvrSection {
    pub scripts_dir: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub(super) struct LogSection {
    pub format: Option<String>,
    pub level: Option<String>,
}
