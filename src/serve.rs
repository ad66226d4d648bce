//! `kefu serve`: opens the store, provisions what is asked for (the demo
//! tenant, with the IVR scripts folder loaded and watched), starts the
//! recording retention sweep when `recordings.retention_days` is set, binds the
//! listeners, serves HTTP and SIP (the `kefu-signaling` driver: UDP, TCP, TLS
//! when configured, and WebSocket through the HTTP server) until
//! SIGTERM/SIGINT, then drains within 5 seconds.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use kefu_media::driver::ports::PortAllocator;
use kefu_media::prompt::{PromptCache, Tts};
use kefu_signaling::driver::Driver;
use kefu_signaling::transaction::{Timers, TransactionLayer};
use kefu_signaling::uas::{Calls, Registration, UasCore};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::watch;

use crate::calls::{CallControl, Media, Prompts, Recordings, SipSettings};
use crate::config::Config;
use crate::flows::ScriptsFolder;
use crate::http::login_guard::LoginGuard;
use crate::http::{self, AppState};
use crate::store::{Store, token_hash};
use crate::{admin_token, demo, listen, registration, retention, routing, telemetry};

/// How long in-flight requests get to finish after a stop signal.
const DRAIN_TIMEOUT: Duration = Duration::from_millis(4500);

/// How long calls get to hang up (BYE sent, records finished) at shutdown.
const CALLS_HANGUP_TIMEOUT: Duration = Duration::from_millis(1500);

/// How long the ACD gets to write its last contact records at shutdown.
const ACD_STOP_TIMEOUT: Duration = Duration::from_millis(300);

/// How long the SIP driver gets to end its tasks, during the HTTP drain.
const SIP_STOP_TIMEOUT: Duration = Duration::from_millis(300);

/// Runs the server until a stop signal; returns once drained.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let started = Instant::now();
    let stop = StopSignal::watch()?;
    let metrics = telemetry::init_metrics()?;
    std::fs::create_dir_all(&config.data_dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data_dir.display()
        )
    })?;
    let store = Store::open(&config.database_url, config.database_max_connections).await?;
    tracing::info!(database = %config.database_url.redacted(), "storage ready");

    let mut notices = String::new();
    if let Some(token) = admin_token::ensure(&store, config.admin_token.is_some()).await? {
        notices.push_str(&admin_token::announcement(&token));
    }
    let sip = listen::bind_sip(&config.sip_listen).await?;
    let tls_listener = match &config.sip_tls {
        Some(tls) => Some(listen::bind_sip_tls(&tls.listen).await?),
        None => None,
    };
    let http_listener = listen::bind_http(&config.http_listen).await?;
    let sip_addr = sip.local_addr()?;
    let http_addr = http_listener.local_addr()?;
    let mut scripts = None;
    if config.demo {
        let tenant = demo::provision(&store)
            .await
            .context("cannot provision the demo tenant")?;
        notices.push_str(&demo_announcement(&tenant, sip_addr));
        let mut folder = ScriptsFolder::new(config.ivr_scripts_dir.clone(), tenant.tenant_id);
        let changed = folder.scan(&store).await;
        tracing::info!(dir = %config.ivr_scripts_dir.display(), changed, "IVR scripts folder read; watching it for changes");
        scripts = Some(folder);
    }
    tracing::info!(%sip_addr, "SIP sockets bound (udp+tcp)");
    let (registration, registration_tasks, sip_users) = registration::start(&store, &config)
        .await
        .context("cannot start the SIP registrar")?;
    let sip_host = SocketAddr::new(listen::advertised_ip(sip_addr.ip()), sip_addr.port());
    let (mut sip_driver, call_channel) =
        Driver::start(sip.udp, sip.tcp, sip_core(registration, sip_host)?);
    let mut tls_announcement = String::new();
    if let (Some(listener), Some(tls)) = (tls_listener, &config.sip_tls) {
        let tls_addr = listener.local_addr()?;
        tracing::info!(%tls_addr, cert = %tls.cert.display(), "SIP TLS listener bound");
        tls_announcement = format!(" tls={tls_addr}");
        sip_driver.serve_tls(listener, tls.server.clone());
    }
    let media_address = config
        .media_address
        .unwrap_or_else(|| listen::advertised_ip(sip_addr.ip()));
    let media = Media {
        ports: PortAllocator::new(media_address, config.rtp_ports),
        address: media_address,
        public_ip: config.media_public_ip,
        tones: config.tone_region,
    };
    tracing::info!(%media_address, rtp_ports = %config.rtp_ports, "media ready");
    let prompts = Prompts {
        folder: config.data_dir.join("prompts"),
        tts: Tts::new(&config.data_dir),
        cache: PromptCache::new(),
    };
    let (acd, acd_service) = routing::start(&store)
        .await
        .context("cannot start the ACD")?;
    let calls = CallControl::start(
        store.clone(),
        call_channel,
        media,
        prompts,
        SipSettings {
            realm: config.sip_realm.clone(),
            forward_headers: config.sip_forward_headers.clone(),
        },
        Recordings {
            data_dir: config.data_dir.clone(),
            enabled: config.recordings_enabled,
        },
        acd.clone(),
    );

    let chat = crate::chat::start(store.clone(), acd.clone())
        .await
        .context("cannot start web chat")?;

    let ready = Arc::new(AtomicBool::new(false));
    let state = AppState {
        store: store.clone(),
        ready: ready.clone(),
        metrics,
        admin_token_hash: config.admin_token.as_deref().map(token_hash),
        data_dir: config.data_dir.clone(),
        sip: sip_driver.connections(),
        acd,
        calls: calls.live(),
        chat: chat.clone(),
        sip_users,
        logins: Arc::new(LoginGuard::default()),
    };
    let (stop_tx, mut stop_rx) = watch::channel(false);
    let scripts = scripts.map(|folder| folder.watch(store.clone(), stop_tx.subscribe()));
    let retention = config.recordings_retention_days.map(|keep_days| {
        retention::start(
            store.clone(),
            config.data_dir.clone(),
            keep_days,
            stop_tx.subscribe(),
        )
    });
    let server = tokio::spawn(
        axum::serve(
            http_listener,
            http::router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stop_rx.changed().await;
        })
        .into_future(),
    );

    ready.store(true, Ordering::Release);
    let startup = started.elapsed();
    metrics::gauge!("kefu_startup_seconds").set(startup.as_secs_f64());
    print!("{notices}");
    println!(
        "kefu ready in {} ms: http=http://{http_addr} sip={sip_addr} (udp+tcp){tls_announcement} data={}",
        startup.as_millis(),
        config.data_dir.display()
    );
    tracing::info!(%http_addr, %sip_addr, startup_ms = startup.as_millis() as u64, "kefu ready");

    let signal = stop.recv().await;
    tracing::info!(signal, "stopping: draining requests");
    ready.store(false, Ordering::Release);
    chat.stop();
    let _ = stop_tx.send(true);
    let (http_drained, sip_stopped) =
        tokio::join!(tokio::time::timeout(DRAIN_TIMEOUT, server), async {
            calls.shutdown(CALLS_HANGUP_TIMEOUT).await;
            tokio::time::timeout(SIP_STOP_TIMEOUT, sip_driver.stop()).await
        },);
    match http_drained {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => tracing::warn!(error = %err, "HTTP server ended with an error"),
        Ok(Err(err)) => tracing::warn!(error = %err, "HTTP server task failed"),
        Err(_) => tracing::warn!("drain timed out; closing remaining connections"),
    }
    if sip_stopped.is_err() {
        tracing::warn!("the SIP driver did not stop in time");
    }
    acd_service.stop(ACD_STOP_TIMEOUT).await;
    registration_tasks.stop(Duration::from_millis(300)).await;
    if let Some(scripts) = scripts {
        let _ = tokio::time::timeout(Duration::from_millis(100), scripts).await;
    }
    if let Some(retention) = retention {
        let _ = tokio::time::timeout(Duration::from_millis(100), retention).await;
    }
    let _ = tokio::time::timeout(Duration::from_millis(400), store.close()).await;
    tracing::info!("stopped");
    Ok(())
}

/// The SIP UAS core with RFC 3261 timers, random branches and To tags, the
/// registrar, and calls whose dialogs name us as `sip:kefu@HOST`.
fn sip_core(registration: Registration, host: SocketAddr) -> anyhow::Result<UasCore> {
    let random_token = || format!("{:016x}", rand::random::<u64>());
    let contact = rsip::Uri::try_from(format!("sip:kefu@{host}").as_str())
        .with_context(|| format!("cannot form our SIP contact from {host}"))?;
    Ok(UasCore::new(
        TransactionLayer::new(Timers::default(), random_token),
        random_token,
    )
    .with_registration(registration)
    .with_calls(Calls::new(contact, Timers::default())))
}

/// SIGTERM and SIGINT, watched from the start so that a signal arriving
/// while kefu starts is not lost (and does not kill it uncleanly).
struct StopSignal {
    term: Signal,
    int: Signal,
}

impl StopSignal {
    fn watch() -> anyhow::Result<Self> {
        Ok(StopSignal {
            term: signal(SignalKind::terminate()).context("cannot watch SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot watch SIGINT")?,
        })
    }

    /// Waits for either signal and names it.
    async fn recv(mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

fn demo_announcement(tenant: &demo::DemoTenant, sip_addr: SocketAddr) -> String {
    let sip = match sip_addr.ip() {
        ip if ip.is_unspecified() => SocketAddr::new(Ipv4Addr::LOCALHOST.into(), sip_addr.port()),
        _ => sip_addr,
    };
    let mut text = format!(
        "kefu: demo tenant ready (SIP realm `{}`). Call sip:4000@{sip} for the IVR, \
         sip:4001@{sip} for the echo test.\n",
        demo::SIP_REALM
    );
    text.push_str(&format!(
        "  admin pages: /admin/ as user `{}`, password `{}`\n",
        demo::ADMIN_USERNAME,
        demo::ADMIN_PASSWORD
    ));
    for (extension, token) in &tenant.agent_tokens {
        text.push_str(&format!(
            "  agent {extension}: SIP/web password demo{extension}, API token {}\n",
            token.secret
        ));
    }
    let (extension, token) = &tenant.supervisor_token;
    text.push_str(&format!(
        "  supervisor {extension}: SIP/web password demo{extension}, API token {}, \
         wallboard /supervisor/\n",
        token.secret
    ));
    text
}
