//! Reads the TOML file, lays environment variables and flags over it, and
//! validates the result into a [`Config`].

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::time::Duration;

use kefu_signaling::auth::Algorithm;

use kefu_media::driver::ports::PortRange;
use kefu_media::tone::ToneRegion;

use super::error::Origin;
use super::file::{FileConfig, SipSection};
use super::tls::{SipTls, server_config};
use super::{Config, ConfigError, DatabaseUrl, ListenAddr, LogFormat};

/// Values given on the command line; `None` (or `false`) means "not given".
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub data_dir: Option<String>,
    pub sip_listen: Option<String>,
    pub http_listen: Option<String>,
    pub database_url: Option<String>,
    pub demo: bool,
    pub log_format: Option<String>,
}

/// A key that can be set from the environment and, for some, a flag.
struct Overridable {
    key: &'static str,
    env: &'static str,
    flag: Option<&'static str>,
    is_bool: bool,
}

const OVERRIDABLE: &[Overridable] = &[
    Overridable {
        key: "data_dir",
        env: "KEFU_DATA_DIR",
        flag: Some("--data-dir"),
        is_bool: false,
    },
    Overridable {
        key: "demo",
        env: "KEFU_DEMO",
        flag: Some("--demo"),
        is_bool: true,
    },
    Overridable {
        key: "sip.listen",
        env: "KEFU_SIP_LISTEN",
        flag: Some("--sip-listen"),
        is_bool: false,
    },
    Overridable {
        key: "sip.realm",
        env: "KEFU_SIP_REALM",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "sip.digest_algorithms",
        env: "KEFU_SIP_DIGEST_ALGORITHMS",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "sip.forward_headers",
        env: "KEFU_SIP_FORWARD_HEADERS",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "sip.min_expires",
        env: "KEFU_SIP_MIN_EXPIRES",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "sip.rate_limit_per_second",
        env: "KEFU_SIP_RATE_LIMIT_PER_SECOND",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "sip.rate_limit_burst",
        env: "KEFU_SIP_RATE_LIMIT_BURST",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "sip.tls_listen",
        env: "KEFU_SIP_TLS_LISTEN",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "sip.tls_cert",
        env: "KEFU_SIP_TLS_CERT",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "sip.tls_key",
        env: "KEFU_SIP_TLS_KEY",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "http.listen",
        env: "KEFU_HTTP_LISTEN",
        flag: Some("--http-listen"),
        is_bool: false,
    },
    Overridable {
        key: "database.url",
        env: "KEFU_DATABASE_URL",
        flag: Some("--database-url"),
        is_bool: false,
    },
    Overridable {
        key: "database.max_connections",
        env: "KEFU_DATABASE_MAX_CONNECTIONS",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "recordings.enabled",
        env: "KEFU_RECORDINGS_ENABLED",
        flag: None,
        is_bool: true,
    },
    Overridable {
        key: "recordings.retention_days",
        env: "KEFU_RECORDINGS_RETENTION_DAYS",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "media.rtp_ports",
        env: "KEFU_MEDIA_RTP_PORTS",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "media.address",
        env: "KEFU_MEDIA_ADDRESS",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "media.tone_region",
        env: "KEFU_MEDIA_TONE_REGION",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "media.public_ip",
        env: "KEFU_MEDIA_PUBLIC_IP",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "api.admin_token",
        env: "KEFU_ADMIN_TOKEN",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "ivr.scripts_dir",
        env: "KEFU_IVR_SCRIPTS_DIR",
        flag: None,
        is_bool: false,
    },
    Overridable {
        key: "log.format",
        env: "KEFU_LOG_FORMAT",
        flag: Some("--log-format"),
        is_bool: false,
    },
    Overridable {
        key: "log.level",
        env: "KEFU_LOG_LEVEL",
        flag: None,
        is_bool: false,
    },
];

const DEFAULT_FILE: &str = "kefu.toml";

/// RTP/RTCP ports when `media.rtp_ports` is not set.
const DEFAULT_RTP_PORTS: &str = "20000-30000";

/// The longest `recordings.retention_days` (about a century).
const MAX_RETENTION_DAYS: i64 = 36_500;

/// Loads the configuration: flag > env > file > default. `env` looks up an
/// environment variable (injected so tests do not touch the process's).
pub fn load(
    overrides: &Overrides,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let file = config_path(overrides, &env);
    let mut table = match &file {
        Some(path) => read_table(path)?,
        None => toml::Table::new(),
    };
    let mut origins = Vec::new();
    for item in OVERRIDABLE {
        if let Some((value, origin)) = override_value(item, overrides, &env) {
            let value = if item.is_bool {
                toml::Value::Boolean(parse_bool(item.key, &value, &origin)?)
            } else if matches!(
                item.key,
                "database.max_connections"
                    | "recordings.retention_days"
                    | "sip.min_expires"
                    | "sip.rate_limit_per_second"
                    | "sip.rate_limit_burst"
            ) {
                toml::Value::Integer(parse_int(item.key, &value, &origin)?)
            } else {
                toml::Value::String(value)
            };
            set_path(&mut table, item.key, value);
            origins.push((item.key, origin));
        }
    }
    let parsed: FileConfig = serde_path_to_error::deserialize(toml::Value::Table(table))
        .map_err(|err| shape_error(&err))?;
    let origin_of = |key: &str| {
        origins
            .iter()
            .find(|(k, _)| *k == key)
            .map_or(Origin::File, |(_, o)| o.clone())
    };
    resolve(parsed, file, &origin_of)
}

/// `sip.forward_headers`: a comma-separated list of header names (default
/// `P-Asserted-Identity`; empty: none). Headers that make a dialog or a
/// transaction (Via, From, To, Call-ID, CSeq, Contact, Route…) cannot be
/// forwarded.
fn forward_headers(text: Option<&str>, origin: &Origin) -> Result<Vec<String>, ConfigError> {
    const PROTECTED: &[&str] = &[
        "via",
        "from",
        "to",
        "call-id",
        "cseq",
        "contact",
        "route",
        "record-route",
        "max-forwards",
        "content-type",
        "content-length",
        "authorization",
        "proxy-authorization",
    ];
    let text = text.unwrap_or("P-Asserted-Identity");
    let mut names = Vec::new();
    for name in text.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let token = name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !token || PROTECTED.contains(&name.to_ascii_lowercase().as_str()) {
            return Err(invalid(
                "sip.forward_headers",
                text,
                origin,
                format!(
                    "{name:?} cannot be forwarded: name extension headers such as P-Asserted-Identity"
                ),
            ));
        }
        names.push(name.to_owned());
    }
    Ok(names)
}

/// `sip.digest_algorithms`: a comma-separated list of `SHA-256` and `MD5`, most
/// preferred first; default both, SHA-256 first.
fn digest_algorithms(text: Option<&str>, origin: &Origin) -> Result<Vec<Algorithm>, ConfigError> {
    let Some(text) = text else {
        return Ok(vec![Algorithm::Sha256, Algorithm::Md5]);
    };
    let refuse = || {
        invalid(
            "sip.digest_algorithms",
            text,
            origin,
            "must list SHA-256 and/or MD5, comma-separated, most preferred first, e.g. \"SHA-256, MD5\"",
        )
    };
    let mut algorithms = Vec::new();
    for name in text.split(',').map(str::trim) {
        let algorithm = Algorithm::from_name(name).ok_or_else(refuse)?;
        if algorithms.contains(&algorithm) {
            return Err(refuse());
        }
        algorithms.push(algorithm);
    }
    Ok(algorithms)
}

fn config_path(overrides: &Overrides, env: &impl Fn(&str) -> Option<String>) -> Option<PathBuf> {
    overrides
        .config
        .clone()
        .or_else(|| {
            env("KEFU_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .or_else(|| {
            Path::new(DEFAULT_FILE)
                .exists()
                .then(|| PathBuf::from(DEFAULT_FILE))
        })
}

fn read_table(path: &Path) -> Result<toml::Table, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|err| ConfigError::Unreadable {
        path: path.to_owned(),
        reason: err.to_string(),
    })?;
    text.parse::<toml::Table>()
        .map_err(|err| ConfigError::Syntax {
            path: path.to_owned(),
            message: err.to_string().trim_end().replace('\n', " "),
        })
}

fn override_value(
    item: &Overridable,
    overrides: &Overrides,
    env: &impl Fn(&str) -> Option<String>,
) -> Option<(String, Origin)> {
    let flag_value = match item.key {
        "data_dir" => overrides.data_dir.clone(),
        "demo" => overrides.demo.then(|| "true".to_owned()),
        "sip.listen" => overrides.sip_listen.clone(),
        "http.listen" => overrides.http_listen.clone(),
        "database.url" => overrides.database_url.clone(),
        "log.format" => overrides.log_format.clone(),
        _ => None,
    };
    if let (Some(value), Some(flag)) = (flag_value, item.flag) {
        return Some((value, Origin::Flag(flag)));
    }
    env(item.env)
        .filter(|v| !v.is_empty())
        .map(|v| (v, Origin::Env(item.env)))
}

fn parse_bool(key: &str, value: &str, origin: &Origin) -> Result<bool, ConfigError> {
    match value.to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => Err(invalid(key, value, origin, "expected true or false")),
    }
}

fn parse_int(key: &str, value: &str, origin: &Origin) -> Result<i64, ConfigError> {
    value
        .parse()
        .map_err(|_| invalid(key, value, origin, "expected a whole number"))
}

fn set_path(table: &mut toml::Table, key: &str, value: toml::Value) {
    match key.split_once('.') {
        Some((section, rest)) => {
            let entry = table
                .entry(section)
                .or_insert_with(|| toml::Value::Table(toml::Table::new()));
            if !entry.is_table() {
                *entry = toml::Value::Table(toml::Table::new());
            }
            if let toml::Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
        None => {
            table.insert(key.to_owned(), value);
        }
    }
}

/// Turns a serde error (unknown key, wrong type) into a [`ConfigError`].
fn shape_error(err: &serde_path_to_error::Error<toml::de::Error>) -> ConfigError {
    let path = err.path().to_string();
    let message = err.inner().message().to_owned();
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (field, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let key = if path == "." || path.is_empty() || path.ends_with(field) {
            path.trim_start_matches('.').to_owned()
        } else {
            format!("{path}.{field}")
        };
        let key = if key.is_empty() {
            field.to_owned()
        } else {
            key
        };
        return ConfigError::UnknownKey {
            suggestion: closest(field, expected),
            key,
        };
    }
    ConfigError::Invalid {
        key: path,
        value: "(value)".to_owned(),
        origin: Origin::File,
        reason: message,
    }
}

/// The expected name closest to `field` in serde's "expected one of `a`, `b`".
fn closest(field: &str, expected: &str) -> Option<String> {
    let candidates = expected.split('`').skip(1).step_by(2);
    crate::suggest::closest(field, candidates, 0.75).map(str::to_owned)
}

fn invalid(key: &str, value: &str, origin: &Origin, reason: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        key: key.to_owned(),
        value: format!("{value:?}"),
        origin: origin.clone(),
        reason: reason.into(),
    }
}

fn resolve(
    parsed: FileConfig,
    file: Option<PathBuf>,
    origin_of: &impl Fn(&str) -> Origin,
) -> Result<Config, ConfigError> {
    let data_dir = PathBuf::from(parsed.data_dir.unwrap_or_else(|| "./data".to_owned()));
    if data_dir.as_os_str().is_empty() {
        return Err(invalid(
            "data_dir",
            "",
            &origin_of("data_dir"),
            "must not be empty",
        ));
    }
    let listen = |key: &str, value: Option<String>, default: &str| {
        let text = value.unwrap_or_else(|| default.to_owned());
        ListenAddr::parse(&text).map_err(|reason| invalid(key, &text, &origin_of(key), reason))
    };
    let sip_listen = listen("sip.listen", parsed.sip.listen.clone(), "0.0.0.0:5060")?;
    let sip_tls = sip_tls(&parsed.sip, origin_of)?;
    let http_listen = listen("http.listen", parsed.http.listen, "0.0.0.0:8080")?;
    let sip_realm = parsed.sip.realm.unwrap_or_else(|| "kefu".to_owned());
    if sip_realm.is_empty()
        || !sip_realm
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        return Err(invalid(
            "sip.realm",
            &sip_realm,
            &origin_of("sip.realm"),
            "must be letters, digits, '.', '-' or '_', e.g. kefu or pbx.example.com",
        ));
    }
    let sip_digest_algorithms = digest_algorithms(
        parsed.sip.digest_algorithms.as_deref(),
        &origin_of("sip.digest_algorithms"),
    )?;
    let sip_forward_headers = forward_headers(
        parsed.sip.forward_headers.as_deref(),
        &origin_of("sip.forward_headers"),
    )?;
    let min_expires = parsed.sip.min_expires.unwrap_or(60);
    let sip_min_expires = u64::try_from(min_expires)
        .ok()
        .filter(|seconds| (1..=3600).contains(seconds))
        .map(Duration::from_secs)
        .ok_or_else(|| {
            invalid(
                "sip.min_expires",
                &min_expires.to_string(),
                &origin_of("sip.min_expires"),
                "must be 1-3600 (seconds)",
            )
        })?;
    let rate = |key: &str, value: Option<i64>, default: u32| {
        let value = value.unwrap_or(i64::from(default));
        u32::try_from(value)
            .ok()
            .filter(|n| (1..=1_000_000).contains(n))
            .ok_or_else(|| {
                invalid(
                    key,
                    &value.to_string(),
                    &origin_of(key),
                    "must be 1-1000000 (requests per source address)",
                )
            })
    };
    let sip_rate_limit_per_second = rate(
        "sip.rate_limit_per_second",
        parsed.sip.rate_limit_per_second,
        20,
    )?;
    let sip_rate_limit_burst = rate("sip.rate_limit_burst", parsed.sip.rate_limit_burst, 50)?;
    let rtp_ports = parsed
        .media
        .rtp_ports
        .unwrap_or_else(|| DEFAULT_RTP_PORTS.to_owned());
    let rtp_ports = rtp_ports.parse::<PortRange>().map_err(|error| {
        invalid(
            "media.rtp_ports",
            &rtp_ports,
            &origin_of("media.rtp_ports"),
            error.to_string(),
        )
    })?;
    let media_address = match parsed.media.address.filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<IpAddr>().map_err(|_| {
            invalid(
                "media.address",
                &text,
                &origin_of("media.address"),
                "must be an IP address, e.g. 192.0.2.10 or 2001:db8::10",
            )
        })?),
    };
    let media_public_ip = match parsed.media.public_ip.filter(|a| !a.is_empty()) {
        None => None,
        Some(text) => Some(text.parse().map_err(|_| {
            invalid(
                "media.public_ip",
                &text,
                &origin_of("media.public_ip"),
                "must be an IP address, e.g. 203.0.113.7",
            )
        })?),
    };
    let tone_region = match parsed.media.tone_region.filter(|r| !r.is_empty()) {
        None => ToneRegion::Us,
        Some(text) => text.parse::<ToneRegion>().map_err(|error| {
            invalid(
                "media.tone_region",
                &text,
                &origin_of("media.tone_region"),
                error.to_string(),
            )
        })?,
    };
    let database_url = match parsed.database.url.filter(|u| !u.is_empty()) {
        None => DatabaseUrl::Sqlite(format!(
            "sqlite://{}?mode=rwc",
            data_dir.join("kefu.db").display()
        )),
        Some(url) if url.starts_with("sqlite:") => DatabaseUrl::Sqlite(url),
        Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
            DatabaseUrl::Postgres(url)
        }
        Some(url) => {
            return Err(invalid(
                "database.url",
                &url,
                &origin_of("database.url"),
                "must start with sqlite: or postgres://",
            ));
        }
    };
    let max_connections = parsed.database.max_connections.unwrap_or(16);
    let database_max_connections = u32::try_from(max_connections)
        .ok()
        .filter(|n| (1..=1000).contains(n))
        .ok_or_else(|| {
            invalid(
                "database.max_connections",
                &max_connections.to_string(),
                &origin_of("database.max_connections"),
                "must be 1-1000",
            )
        })?;
    let retention_days = parsed.recordings.retention_days.unwrap_or(0);
    let recordings_retention_days = u32::try_from(retention_days)
        .ok()
        .filter(|_| retention_days <= MAX_RETENTION_DAYS)
        .map(NonZeroU32::new)
        .ok_or_else(|| {
            invalid(
                "recordings.retention_days",
                &retention_days.to_string(),
                &origin_of("recordings.retention_days"),
                format!(
                    "must be 0 (keep forever) or a number of days, at most {MAX_RETENTION_DAYS}"
                ),
            )
        })?;
    let admin_token = parsed.api.admin_token.filter(|t| !t.is_empty());
    if let Some(token) = &admin_token {
        if token.len() < 16 {
            return Err(invalid(
                "api.admin_token",
                "(hidden)",
                &origin_of("api.admin_token"),
                "must be at least 16 characters; leave it unset to have kefu generate one",
            ));
        }
    }
    let ivr_scripts_dir = PathBuf::from(
        parsed
            .ivr
            .scripts_dir
            .unwrap_or_else(|| "./ivr-scripts".to_owned()),
    );
    if ivr_scripts_dir.as_os_str().is_empty() {
        return Err(invalid(
            "ivr.scripts_dir",
            "",
            &origin_of("ivr.scripts_dir"),
            "must not be empty; e.g. ./ivr-scripts",
        ));
    }
    let log_format = match parsed.log.format.as_deref().unwrap_or("human") {
        "human" => LogFormat::Human,
        "json" => LogFormat::Json,
        other => {
            return Err(invalid(
                "log.format",
                other,
                &origin_of("log.format"),
                "must be human or json",
            ));
        }
    };
    let log_level = parsed.log.level.unwrap_or_else(|| "info".to_owned());
    if let Err(err) = tracing_subscriber::EnvFilter::try_new(&log_level) {
        return Err(invalid(
            "log.level",
            &log_level,
            &origin_of("log.level"),
            format!("not a tracing filter ({err}); e.g. info or kefu=debug,sqlx=warn"),
        ));
    }
    Ok(Config {
        file,
        data_dir,
        sip_listen,
        sip_realm,
        sip_tls,
        sip_digest_algorithms,
        sip_forward_headers,
        sip_min_expires,
        sip_rate_limit_per_second,
        sip_rate_limit_burst,
        http_listen,
        database_url,
        database_max_connections,
        admin_token,
        rtp_ports,
        tone_region,
        media_public_ip,
        media_address,
        demo: parsed.demo.unwrap_or(false),
        recordings_enabled: parsed.recordings.enabled.unwrap_or(true),
        recordings_retention_days,
        ivr_scripts_dir,
        log_format,
        log_level,
    })
}

/// SIP over TLS: off unless `sip.tls_listen` is set, which then needs both
/// `sip.tls_cert` and `sip.tls_key`; those two alone are a mistake too.
fn sip_tls(
    sip: &SipSection,
    origin_of: &impl Fn(&str) -> Origin,
) -> Result<Option<SipTls>, ConfigError> {
    let non_empty = |value: &Option<String>| value.clone().filter(|v| !v.is_empty());
    let (cert, key) = (non_empty(&sip.tls_cert), non_empty(&sip.tls_key));
    let Some(text) = non_empty(&sip.tls_listen) else {
        if let Some((name, value)) = [("sip.tls_cert", &cert), ("sip.tls_key", &key)]
            .into_iter()
            .find_map(|(name, value)| value.as_ref().map(|v| (name, v)))
        {
            return Err(invalid(
                name,
                value,
                &origin_of(name),
                "SIP over TLS is off: set sip.tls_listen too (e.g. \"0.0.0.0:5061\"), or remove this key",
            ));
        }
        return Ok(None);
    };
    let listen = ListenAddr::parse(&text).map_err(|reason| {
        invalid(
            "sip.tls_listen",
            &text,
            &origin_of("sip.tls_listen"),
            reason,
        )
    })?;
    let (Some(cert), Some(key)) = (cert, key) else {
        return Err(invalid(
            "sip.tls_listen",
            &text,
            &origin_of("sip.tls_listen"),
            "SIP over TLS needs sip.tls_cert and sip.tls_key (PEM files: certificate chain, private key)",
        ));
    };
    let (cert, key) = (PathBuf::from(cert), PathBuf::from(key));
    let server = server_config(&cert, &key)?;
    Ok(Some(SipTls {
        listen,
        cert,
        key,
        server,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;
    use std::io::Write;

    fn load_str(
        toml: &str,
        env: &[(&str, &str)],
        overrides: Overrides,
    ) -> Result<Config, ConfigError> {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(toml.as_bytes()).unwrap();
        let env: HashMap<String, String> = env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let overrides = Overrides {
            config: Some(file.path().to_owned()),
            ..overrides
        };
        load(&overrides, |name| env.get(name).cloned())
    }

    fn load_err(toml: &str) -> String {
        load_str(toml, &[], Overrides::default())
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults_apply_when_nothing_is_set() {
        let config = load_str("", &[], Overrides::default()).unwrap();
        assert_eq!(config.sip_listen.to_string(), "0.0.0.0:5060");
        assert_eq!(config.http_listen.to_string(), "0.0.0.0:8080");
        assert_eq!(config.data_dir, PathBuf::from("./data"));
        assert_eq!(
            config.database_url,
            DatabaseUrl::Sqlite("sqlite://./data/kefu.db?mode=rwc".to_owned())
        );
        assert!(!config.demo);
        assert_eq!(config.log_format, LogFormat::Human);
        assert_eq!(config.sip_realm, "kefu");
    }

    #[test]
    fn digest_algorithms_default_to_sha256_then_md5_and_may_be_md5_only() {
        let config = load_str("", &[], Overrides::default()).unwrap();
        assert_eq!(
            config.sip_digest_algorithms,
            [Algorithm::Sha256, Algorithm::Md5]
        );
        let md5 = load_str(
            "",
            &[("KEFU_SIP_DIGEST_ALGORITHMS", "md5")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(md5.sip_digest_algorithms, [Algorithm::Md5]);
        for bad in ["SHA-1", "", "MD5, MD5"] {
            let err = load_err(&format!("[sip]\ndigest_algorithms = \"{bad}\"\n"));
            assert!(err.contains("sip.digest_algorithms"), "{err}");
        }
    }

    #[test]
    fn the_media_public_ip_is_unset_by_default_and_must_be_an_address() {
        let config = load_str("", &[], Overrides::default()).unwrap();
        assert_eq!(config.media_public_ip, None);
        let set = load_str(
            "",
            &[("KEFU_MEDIA_PUBLIC_IP", "203.0.113.7")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(set.media_public_ip, Some("203.0.113.7".parse().unwrap()));
        let err = load_err("[media]\npublic_ip = \"example.com\"\n");
        assert!(
            err.contains("media.public_ip") && err.contains("example.com"),
            "{err}"
        );
    }

    #[test]
    fn min_expires_defaults_to_a_minute_and_is_bounded() {
        let config = load_str("", &[], Overrides::default()).unwrap();
        assert_eq!(config.sip_min_expires, Duration::from_secs(60));
        let short = load_str("", &[("KEFU_SIP_MIN_EXPIRES", "5")], Overrides::default()).unwrap();
        assert_eq!(short.sip_min_expires, Duration::from_secs(5));
        for bad in ["0", "3601", "-1"] {
            let err = load_err(&format!("[sip]\nmin_expires = {bad}\n"));
            assert!(err.contains("sip.min_expires"), "{err}");
        }
    }

    #[test]
    fn the_sip_rate_limit_defaults_to_20_per_second_with_bursts_of_50() {
        let config = load_str("", &[], Overrides::default()).unwrap();
        assert_eq!(config.sip_rate_limit_per_second, 20);
        assert_eq!(config.sip_rate_limit_burst, 50);
        let raised = load_str(
            "[sip]\nrate_limit_per_second = 5000\n",
            &[("KEFU_SIP_RATE_LIMIT_BURST", "10000")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(raised.sip_rate_limit_per_second, 5000);
        assert_eq!(raised.sip_rate_limit_burst, 10_000);
        let err = load_err("[sip]\nrate_limit_burst = 0\n");
        assert!(err.contains("sip.rate_limit_burst"), "{err}");
    }

    #[test]
    fn recordings_are_kept_forever_unless_retention_days_is_set() {
        let config = load_str("", &[], Overrides::default()).unwrap();
        assert_eq!(config.recordings_retention_days, None);
        let zero = load_str(
            "[recordings]\nretention_days = 0\n",
            &[],
            Overrides::default(),
        );
        assert_eq!(zero.unwrap().recordings_retention_days, None);
        let month = load_str(
            "",
            &[("KEFU_RECORDINGS_RETENTION_DAYS", "30")],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(month.recordings_retention_days, NonZeroU32::new(30));
        for bad in ["-1", "36501"] {
            let err = load_err(&format!("[recordings]\nretention_days = {bad}\n"));
            assert!(
                err.contains("recordings.retention_days") && err.contains("keep forever"),
                "{err}"
            );
        }
    }

    #[test]
    fn realm_with_quotes_is_refused() {
        let err = load_err("[sip]\nrealm = \"a\\\"b\"\n");
        assert!(err.contains("sip.realm"), "{err}");
    }

    #[test]
    fn flag_beats_env_beats_file() {
        let file = "[sip]\nlisten = \"127.0.0.1:5001\"\n[http]\nlisten = \"127.0.0.1:8001\"\n";
        let env = [
            ("KEFU_SIP_LISTEN", "127.0.0.1:5002"),
            ("KEFU_HTTP_LISTEN", "127.0.0.1:8002"),
        ];
        let flags = Overrides {
            http_listen: Some("127.0.0.1:8003".into()),
            ..Default::default()
        };
        let config = load_str(file, &env, flags).unwrap();
        assert_eq!(config.sip_listen.port(), 5002, "env beats file");
        assert_eq!(config.http_listen.port(), 8003, "flag beats env");
        let config = load_str(file, &[], Overrides::default()).unwrap();
        assert_eq!(config.sip_listen.port(), 5001, "file beats default");
    }

    #[test]
    fn bad_port_names_key_value_and_allowed_range() {
        let err = load_str(
            "[sip]\nlisten = \"localhost:99999\"\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "config error: sip.listen = \"localhost:99999\": port must be 1-65535 (or 0 for any free port)"
        );
    }

    #[test]
    fn bad_env_value_says_it_came_from_env() {
        let err = load_str("", &[("KEFU_HTTP_LISTEN", "nope")], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("http.listen") && err.contains("(from env KEFU_HTTP_LISTEN)"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_is_an_error_with_did_you_mean() {
        let err = load_str(
            "[sip]\nlisen = \"0.0.0.0:5060\"\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "config error: unknown key `sip.lisen`; did you mean `listen`?"
        );
        let err = load_err("dta_dir = \"x\"\n");
        assert_eq!(
            err,
            "config error: unknown key `dta_dir`; did you mean `data_dir`?"
        );
        let err = load_err("[sipp]\n");
        assert_eq!(err, "config error: unknown key `sipp`; did you mean `sip`?");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = load_err("demo = \"maybe\"\n");
        assert!(err.starts_with("config error: demo"), "{err}");
    }

    #[test]
    fn syntax_error_names_the_file_and_line() {
        let err = load_err("[sip\n");
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn unreadable_file_is_named() {
        let overrides = Overrides {
            config: Some("/nonexistent/kefu.toml".into()),
            ..Default::default()
        };
        let err = load(&overrides, |_| None).unwrap_err().to_string();
        assert!(
            err.starts_with("config error: cannot read /nonexistent/kefu.toml"),
            "{err}"
        );
    }

    #[test]
    fn database_url_must_name_a_known_backend() {
        let err = load_str(
            "[database]\nurl = \"mysql://x\"\n",
            &[],
            Overrides::default(),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("database.url") && err.contains("sqlite: or postgres://"),
            "{err}"
        );
        let config = load_str(
            "[database]\nurl = \"postgres://u:secret@h/db\"\n",
            &[],
            Overrides::default(),
        )
        .unwrap();
        assert_eq!(config.database_url.redacted(), "postgres://u:***@h/db");
    }

    #[test]
    fn demo_reads_bool_from_env_and_rejects_garbage() {
        assert!(
            load_str("", &[("KEFU_DEMO", "yes")], Overrides::default())
                .unwrap()
                .demo
        );
        let err = load_str("", &[("KEFU_DEMO", "perhaps")], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(err.contains("demo") && err.contains("KEFU_DEMO"), "{err}");
    }

    #[test]
    fn short_admin_token_is_refused_without_echoing_it() {
        let err = load_str("", &[("KEFU_ADMIN_TOKEN", "short")], Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("api.admin_token") && !err.contains("short\""),
            "{err}"
        );
    }

    #[test]
    fn sip_tls_is_off_by_default_and_needs_all_three_keys() {
        assert!(
            load_str("", &[], Overrides::default())
                .unwrap()
                .sip_tls
                .is_none()
        );
        let err = load_err("[sip]\ntls_listen = \"0.0.0.0:5061\"\n");
        assert!(
            err.starts_with("config error: sip.tls_listen = \"0.0.0.0:5061\": ")
                && err.contains("needs sip.tls_cert and sip.tls_key"),
            "{err}"
        );
        let err = load_err("[sip]\ntls_key = \"/etc/kefu/key.pem\"\n");
        assert!(
            err.starts_with("config error: sip.tls_key = ") && err.contains("set sip.tls_listen"),
            "{err}"
        );
    }

    #[test]
    fn sip_tls_reads_its_files_and_names_the_key_of_a_missing_one() {
        let dir = tempfile::tempdir().unwrap();
        let certified = rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap();
        let cert = dir.path().join("cert.pem");
        let key = dir.path().join("key.pem");
        std::fs::write(&cert, certified.cert.pem()).unwrap();
        std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
        let env = [
            ("KEFU_SIP_TLS_LISTEN", "127.0.0.1:5061"),
            ("KEFU_SIP_TLS_CERT", cert.to_str().unwrap()),
            ("KEFU_SIP_TLS_KEY", key.to_str().unwrap()),
        ];
        let tls = load_str("", &env, Overrides::default())
            .unwrap()
            .sip_tls
            .unwrap();
        assert_eq!(tls.listen.port(), 5061);
        assert_eq!(tls.cert, cert);

        let env = [env[0], ("KEFU_SIP_TLS_CERT", "/x.pem"), env[2]];
        let err = load_str("", &env, Overrides::default())
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("config error: sip.tls_cert: cannot read /x.pem: No such file"),
            "{err}"
        );
    }

    #[test]
    fn example_config_is_valid() {
        let example = include_str!("../../kefu.example.toml");
        load_str(example, &[], Overrides::default()).unwrap();
    }
}
