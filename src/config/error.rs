//! Configuration errors that name the key, the bad value and what is allowed.

use std::fmt;
use std::path::PathBuf;

/// Where a configuration value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The TOML file.
    File,
    /// An environment variable (its name).
    Env(&'static str),
    /// A command-line flag (its name, e.g. `--sip-listen`).
    Flag(&'static str),
}

/// Why the configuration was refused. `Display` is the one line operators see.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config error: cannot read {}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },
    /// The file is not valid TOML.
    #[error("config error: {}: {message}", path.display())]
    Syntax { path: PathBuf, message: String },
    /// A key that kefu does not know.
    #[error("config error: unknown key `{key}`{}", did_you_mean(suggestion))]
    UnknownKey {
        key: String,
        suggestion: Option<String>,
    },
    /// A file named by a key cannot be used (unreadable, wrong content).
    #[error("config error: {key}: {reason}")]
    File { key: &'static str, reason: String },
    /// A known key with a value of the wrong type or out of range.
    #[error("config error: {key} = {value}{origin}: {reason}", origin = OriginSuffix(origin))]
    Invalid {
        key: String,
        value: String,
        origin: Origin,
        reason: String,
    },
}

fn did_you_mean(suggestion: &Option<String>) -> String {
    match suggestion {
        Some(s) => format!("; did you mean `{s}`?"),
        None => String::new(),
    }
}

struct OriginSuffix<'a>(&'a Origin);

impl fmt::Display for OriginSuffix<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Origin::File => Ok(()),
            Origin::Env(name) => write!(f, " (from env {name})"),
            Origin::Flag(name) => write!(f, " (from {name})"),
        }
    }
}
