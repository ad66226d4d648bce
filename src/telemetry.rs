//! Logs and metrics set-up: `tracing` to stderr (human or JSON lines) and the
//! Prometheus recorder behind `/metrics`.

use std::io::IsTerminal;

use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global log subscriber. `RUST_LOG`, when set, wins over `level`.
pub fn init_logging(format: LogFormat, level: &str) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false);
    let installed = match format {
        LogFormat::Human => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    if let Err(err) = installed {
        eprintln!("kefu: logging already initialised: {err}");
    }
}

/// Installs the global metrics recorder and returns the handle that renders it.
pub fn init_metrics() -> anyhow::Result<PrometheusHandle> {
    let handle = PrometheusBuilder::new()
        .install_recorder()
        .map_err(|err| anyhow::anyhow!("cannot install the metrics recorder: {err}"))?;
    metrics::describe_counter!(
        "kefu_http_requests_total",
        "HTTP requests by method, route and status"
    );
    metrics::describe_histogram!(
        "kefu_http_request_duration_seconds",
        "HTTP request handling time by method and route"
    );
    metrics::describe_gauge!(
        "kefu_build_info",
        "Always 1; the labels say which kefu this is"
    );
    metrics::describe_gauge!("kefu_startup_seconds", "Time from process start to ready");
    metrics::gauge!("kefu_build_info", "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    Ok(handle)
}
