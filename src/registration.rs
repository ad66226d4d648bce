//! Joins the SIP registrar (`kefu-signaling`) to the store: the users' HA1s in a
//! cache the registrar reads synchronously (refreshed every few seconds, and
//! at once through [`SipUsers`] when the API changes a user), the
//! nonce-signing secret shared by every node, bindings restored at start, and
//! every binding change written back by a persister task.
//!
//! Binding changes reach storage asynchronously, right after the response was
//! sent; a crash in that gap loses at most the last registrations, which phones
//! refresh on their next REGISTER.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kefu_signaling::auth::{DigestConfig, Guard, GuardConfig, Ha1Pair, RateLimit, ServerSecret};
use kefu_signaling::registrar::{
    Aor, Binding, BindingChange, Bindings, Registrar, RegistrarConfig,
};
use kefu_signaling::transaction::{Peer, Transport};
use kefu_signaling::uas::Registration;
use rand::SeedableRng;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::config::Config;
use crate::store::{Millis, Store, StoreError, StoredBinding};

/// How often the HA1 cache is reloaded from storage.
const CREDENTIALS_REFRESH: Duration = Duration::from_secs(5);

type Credentials = Arc<RwLock<HashMap<String, Ha1Pair>>>;

/// The registrar's background work: the HA1 refresher and the persister.
pub struct RegistrationTasks {
    refresher: JoinHandle<()>,
    persister: JoinHandle<()>,
}

impl RegistrationTasks {
    /// Stops refreshing; the persister ends once the SIP core is dropped and
    /// every queued change is written.
    pub async fn stop(self, within: Duration) {
        self.refresher.abort();
        if tokio::time::timeout(within, self.persister).await.is_err() {
            tracing::warn!("SIP bindings still being written at shutdown");
        }
    }
}

/// The registrar's cache of the users' HA1s, for whoever changes users (the
/// admin API) to reload at once instead of waiting for the next refresh.
#[derive(Clone)]
pub struct SipUsers {
    store: Store,
    realm: String,
    cache: Credentials,
}

impl SipUsers {
    /// Reloads every user's HA1s from storage now.
    pub async fn reload(&self) -> Result<(), StoreError> {
        let users = load_credentials(&self.store, &self.realm).await?;
        if let Ok(mut cache) = self.cache.write() {
            *cache = users;
        }
        Ok(())
    }
}

/// Builds REGISTER handling for the configured realm over the store, its
/// tasks, and the handle that reloads its HA1 cache.
pub async fn start(
    store: &Store,
    config: &Config,
) -> Result<(Registration, RegistrationTasks, SipUsers), StoreError> {
    let realm = config.sip_realm.as_str();
    let secret = ServerSecret::new(store.server_secret("sip-digest-nonce").await?);
    let credentials: Credentials = Arc::new(RwLock::new(load_credentials(store, realm).await?));
    let sip_users = SipUsers {
        store: store.clone(),
        realm: realm.to_owned(),
        cache: credentials.clone(),
    };
    let restored = store.live_sip_bindings(Millis::now()).await?;
    let restored_count = restored.len();
    let bindings = Bindings::restore(restored.into_iter().filter_map(binding_from_row));
    tracing::info!(realm, restored = restored_count, "SIP registrar ready");

    let (changes_tx, changes_rx) = mpsc::unbounded_channel::<BindingChange>();
    let persister = tokio::spawn(persist(store.clone(), changes_rx));
    let refresher = tokio::spawn(refresh(sip_users.clone()));

    let lookup = move |_realm: &str, user: &str| {
        credentials
            .read()
            .ok()
            .and_then(|users| users.get(user).cloned())
    };
    let registration = Registration::new(
        Registrar::new(registrar_config(config), secret, bindings),
        Guard::new(guard_config(config)),
        realm,
        lookup,
        Box::new(move |changes: &[BindingChange]| {
            for change in changes {
                let _ = changes_tx.send(change.clone());
            }
        }),
        rand::rngs::StdRng::from_os_rng(),
        (Instant::now(), SystemTime::now()),
    );
    Ok((
        registration,
        RegistrationTasks {
            refresher,
            persister,
        },
        sip_users,
    ))
}

/// The registrar's defaults with the configured digest algorithms and minimum expiry.
fn registrar_config(config: &Config) -> RegistrarConfig {
    let defaults = RegistrarConfig::default();
    RegistrarConfig {
        min_expires: config.sip_min_expires,
        digest: DigestConfig {
            algorithms: config.sip_digest_algorithms.clone(),
            ..defaults.digest.clone()
        },
        ..defaults
    }
}

/// The guard's defaults with the configured per-address rate limit.
fn guard_config(config: &Config) -> GuardConfig {
    GuardConfig {
        rate: RateLimit {
            burst: config.sip_rate_limit_burst,
            per_second: f64::from(config.sip_rate_limit_per_second),
        },
        ..GuardConfig::default()
    }
}

async fn load_credentials(
    store: &Store,
    realm: &str,
) -> Result<HashMap<String, Ha1Pair>, StoreError> {
    Ok(store
        .sip_users_in_realm(realm)
        .await?
        .into_iter()
        .map(|user| {
            let ha1 = Ha1Pair {
                md5: user.ha1_md5,
                sha256: user.ha1_sha256,
            };
            (user.username, ha1)
        })
        .collect())
}

async fn refresh(users: SipUsers) {
    let mut tick = tokio::time::interval(CREDENTIALS_REFRESH);
    tick.tick().await;
    loop {
        tick.tick().await;
        if let Err(err) = users.reload().await {
            tracing::warn!(error = %err, "cannot refresh SIP credentials");
        }
    }
}

async fn persist(store: Store, mut changes: mpsc::UnboundedReceiver<BindingChange>) {
    while let Some(change) = changes.recv().await {
        let result = match &change {
            BindingChange::Upsert(binding) => store.upsert_sip_binding(&binding_row(binding)).await,
            BindingChange::Remove { aor, contact } => {
                store
                    .remove_sip_binding(&aor.realm, &aor.user, contact)
                    .await
            }
        };
        if let Err(err) = result {
            tracing::error!(error = %err, ?change, "cannot store a SIP binding change");
        }
    }
}

fn binding_row(binding: &Binding) -> StoredBinding {
    let expires_at = binding
        .expires_at
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
    StoredBinding {
        realm: binding.aor.realm.clone(),
        username: binding.aor.user.clone(),
        contact: binding.contact.clone(),
        expires_at,
        call_id: binding.call_id.clone(),
        cseq: i64::from(binding.cseq),
        source: format!(
            "{}:{}",
            transport_name(binding.source.transport),
            binding.source.addr
        ),
    }
}

fn binding_from_row(row: StoredBinding) -> Option<Binding> {
    let (transport, addr) = row.source.split_once(':')?;
    let source = Peer {
        addr: addr.parse::<SocketAddr>().ok()?,
        transport: match transport {
            "udp" => Transport::Udp,
            "tcp" => Transport::Tcp,
            "tls" => Transport::Tls,
            "ws" => Transport::Ws,
            "wss" => Transport::Wss,
            _ => return None,
        },
    };
    Some(Binding {
        aor: Aor {
            realm: row.realm,
            user: row.username,
        },
        contact: row.contact,
        expires_at: UNIX_EPOCH + Duration::from_millis(u64::try_from(row.expires_at).ok()?),
        call_id: row.call_id,
        cseq: u32::try_from(row.cseq).ok()?,
        source,
    })
}

fn transport_name(transport: Transport) -> &'static str {
    match transport {
        Transport::Udp => "udp",
        Transport::Tcp => "tcp",
        Transport::Tls => "tls",
        Transport::Ws => "ws",
        Transport::Wss => "wss",
    }
}
