//! `kefu`: the command-line entry point. Parses arguments, loads the
//! configuration, and runs the chosen command; exits 2 on configuration
//! errors and 1 on runtime errors, each with one clear line on stderr.

use std::process::ExitCode;

use clap::Parser;

use kefu::cli::{AdminTokenArgs, Cli, Command, IvrAction, RenderFormat};
use kefu::config::{self, Config, Overrides};
use kefu::store::Store;
use kefu::{admin_token, ivr, serve, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Version => {
            println!("kefu {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        Command::CheckConfig(args) => match load(&args.overrides()) {
            Ok(config) => {
                print_config(&config);
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Serve(args) => {
            let config = match load(&args.overrides()) {
                Ok(config) => config,
                Err(code) => return code,
            };
            telemetry::init_logging(config.log_format, &config.log_level);
            run_async(serve::run(config))
        }
        Command::AdminToken(args) => admin_token_command(args),
        Command::Ivr(args) => match args.action {
            IvrAction::Validate { files } => ivr_validate(&files),
            IvrAction::Render { file, format } => ivr_render(&file, format),
        },
    }
}

/// Read and check one flow file; `None` (after printing why) if unreadable.
fn ivr_check(file: &std::path::Path) -> Option<ivr::Checked> {
    let name = file.display().to_string();
    match std::fs::read_to_string(file) {
        Ok(text) => Some(ivr::check(&name, &text)),
        Err(err) => {
            eprintln!("{name}: error: cannot read the file: {err}");
            None
        }
    }
}

fn ivr_validate(files: &[std::path::PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        let Some(checked) = ivr_check(file) else {
            failed = true;
            continue;
        };
        if checked.diagnostics.is_empty() {
            println!("{}: ok", file.display());
        }
        for diagnostic in &checked.diagnostics {
            println!("{diagnostic}");
        }
        failed |= checked.flow.is_none();
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn ivr_render(file: &std::path::Path, format: RenderFormat) -> ExitCode {
    let Some(checked) = ivr_check(file) else {
        return ExitCode::FAILURE;
    };
    let Some(flow) = checked.flow else {
        for diagnostic in &checked.diagnostics {
            eprintln!("{diagnostic}");
        }
        return ExitCode::FAILURE;
    };
    let output = match format {
        RenderFormat::Dot => Ok(ivr::render::dot(&flow)),
        RenderFormat::Svg => ivr::render::svg(&flow),
    };
    match output {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn load(overrides: &Overrides) -> Result<Config, ExitCode> {
    config::load(overrides, |name| std::env::var(name).ok()).map_err(|err| {
        eprintln!("{err}");
        ExitCode::from(2)
    })
}

fn run_async(future: impl std::future::Future<Output = anyhow::Result<()>>) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("error: cannot start the async runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(future) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn admin_token_command(args: AdminTokenArgs) -> ExitCode {
    if !args.reset {
        eprintln!(
            "kefu admin-token: the token is shown only when it is created; \
             run `kefu admin-token --reset` to revoke it and print a new one"
        );
        return ExitCode::from(2);
    }
    let config = match load(&args.config.overrides()) {
        Ok(config) => config,
        Err(code) => return code,
    };
    run_async(async move {
        let store = Store::open(&config.database_url, config.database_max_connections).await?;
        let token = admin_token::reset(&store).await?;
        print!("{}", admin_token::announcement(&token));
        store.close().await;
        Ok(())
    })
}

fn print_config(config: &Config) {
    let file = config.file.as_ref().map_or_else(
        || "(none; defaults and environment)".to_owned(),
        |p| p.display().to_string(),
    );
    println!("config ok: {file}");
    println!("  data_dir        = {}", config.data_dir.display());
    println!("  sip.listen      = {} (udp+tcp)", config.sip_listen);
    println!("  sip.realm       = {}", config.sip_realm);
    let algorithms: Vec<&str> = config
        .sip_digest_algorithms
        .iter()
        .map(|algorithm| algorithm.name())
        .collect();
    println!("  sip.digest_algorithms = {}", algorithms.join(", "));
    println!("  sip.min_expires = {} s", config.sip_min_expires.as_secs());
    println!(
        "  sip.rate_limit  = {}/s per address, bursts of {}",
        config.sip_rate_limit_per_second, config.sip_rate_limit_burst
    );
    match &config.sip_tls {
        Some(tls) => println!(
            "  sip.tls_listen  = {} (cert {}, key {})",
            tls.listen,
            tls.cert.display(),
            tls.key.display()
        ),
        None => println!("  sip.tls_listen  = (off)"),
    }
    println!("  http.listen     = {}", config.http_listen);
    println!("  database.url    = {}", config.database_url.redacted());
    println!(
        "  api.admin_token = {}",
        if config.admin_token.is_some() {
            "(set)"
        } else {
            "(generated on first start)"
        }
    );
    println!("  demo            = {}", config.demo);
    println!("  ivr.scripts_dir = {}", config.ivr_scripts_dir.display());
    println!(
        "  log             = {:?}, {}",
        config.log_format, config.log_level
    );
}
