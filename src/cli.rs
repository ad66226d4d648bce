//! The `kefu` command line (clap): `serve`, `check-config`, `admin-token`,
//! `ivr validate|render`, `version`. Flags are overrides; [`crate::config`] layers them over the
//! environment and the file.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Overrides;

/// kefu — contact-center server: SIP B2BUA, RTP media, IVR, ACD, chat.
#[derive(Debug, Parser)]
#[command(name = "kefu", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server (SIP, media, HTTP API, web apps).
    Serve(ServeArgs),
    /// Validate the configuration and print what kefu would run with.
    CheckConfig(ConfigArgs),
    /// Manage the admin API token.
    AdminToken(AdminTokenArgs),
    /// Check and draw IVR flow files (ivr-scripts/*.toml).
    Ivr(IvrArgs),
    /// Print kefu's version.
    Version,
}

#[derive(Debug, Args)]
pub struct IvrArgs {
    #[command(subcommand)]
    pub action: IvrAction,
}

#[derive(Debug, Subcommand)]
pub enum IvrAction {
    /// Check flow files; prints `FILE: ok` or each problem. Exits 1 on any error.
    Validate {
        /// Flow files (TOML).
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
    },
    /// Draw a flow as Graphviz DOT, or SVG through the `dot` program.
    Render {
        /// The flow file (TOML).
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = RenderFormat::Dot)]
        format: RenderFormat,
    },
}

/// What `kefu ivr render` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RenderFormat {
    Dot,
    Svg,
}

/// Where the configuration comes from (file and overrides of `serve`).
#[derive(Debug, Args, Clone, Default)]
pub struct ConfigArgs {
    /// The TOML file (default: ./kefu.toml if present). Env KEFU_CONFIG.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Runtime data directory [default: ./data]. Env KEFU_DATA_DIR.
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<String>,
    /// Database URL [default: SQLite at DATA_DIR/kefu.db]. Env KEFU_DATABASE_URL.
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// SIP listen address, UDP and TCP [default: 0.0.0.0:5060]. Env KEFU_SIP_LISTEN.
    #[arg(long, value_name = "ADDR")]
    pub sip_listen: Option<String>,
    /// HTTP listen address [default: 0.0.0.0:8080]. Env KEFU_HTTP_LISTEN.
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<String>,
    /// Provision the demo tenant (idempotent). Env KEFU_DEMO.
    #[arg(long)]
    pub demo: bool,
    /// Log format: human or json [default: human]. Env KEFU_LOG_FORMAT.
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
}

#[derive(Debug, Args)]
pub struct AdminTokenArgs {
    #[command(flatten)]
    pub config: ConfigArgs,
    /// Revoke every stored admin token and print a new one.
    #[arg(long)]
    pub reset: bool,
}

impl ConfigArgs {
    /// These arguments as configuration overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            config: self.config.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            ..Overrides::default()
        }
    }
}

impl ServeArgs {
    /// These arguments as configuration overrides.
    pub fn overrides(&self) -> Overrides {
        Overrides {
            sip_listen: self.sip_listen.clone(),
            http_listen: self.http_listen.clone(),
            demo: self.demo,
            log_format: self.log_format.clone(),
            ..self.config.overrides()
        }
    }
}
