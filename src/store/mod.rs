//! The store: every durable row kefu keeps, on SQLite (embedded default, WAL
//! mode) or PostgreSQL (several nodes), behind one [`Store`].
//!
//! Queries are written once in the SQL both engines share and run through
//! sqlx's `Any` driver; only the migrations differ per engine
//! (`migrations/sqlite`, `migrations/postgres`). Ids are UUIDv7 text made here,
//! times are Unix milliseconds ([`Millis`]).

mod accounts;
mod audit;
mod calendars;
mod calls;
mod chat;
mod chat_commit;
mod contacts;
mod directory;
mod ivr;
mod queues;
mod recordings;
mod reports;
mod routing;
mod sip;
mod tenants;
mod tokens;
mod users;

pub use accounts::{Membership, TrunkSettings, UserChange};
pub use audit::{AuditEntry, NewAudit};
pub use calendars::{StoredCalendar, TenantCalendar};
pub use calls::{
    Call, CallFilter, CallLeg, CallWrite, LegQuality, NewCall, NewCallLeg, new_call_id,
};
pub use chat::{
    Appended, ChatChannel, ChatMessage, ChatUpload, Conversation, NewChatChannel, NewChatMessage,
    NewConversation, Reader, Sender, UploadRef,
};
pub use contacts::{Contact, ContactEvent, NewContact, PastContact};
pub use directory::{NumberRoute, RouteTarget, Trunk};
pub use ivr::IvrFlow;
pub use queues::{Queue, QueueMember};
pub use recordings::{NewRecording, Recording};
pub use reports::ContactOutcome;
pub use routing::{
    AgentCapacity, AgentEventRow, AgentRecord, ContactRecord, RoutingAgent, RoutingAgentSkill,
    RoutingConfig, RoutingMember, RoutingQueue, RoutingSkill,
};
pub use sip::{RealmUser, StoredBinding};
pub use tenants::Tenant;
pub use tokens::{ApiToken, IssuedToken, SESSION_TOKEN_NAME, Scope, token_hash};
pub use users::{LoginOutcome, NewUser, Role, SipCredentials, User};

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

use crate::config::DatabaseUrl;

/// Unix time in milliseconds, the unit of every timestamp column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Millis(pub i64);

impl Millis {
    /// The current wall-clock time.
    pub fn now() -> Self {
        let since_epoch = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO);
        Millis(i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX))
    }
}

/// Which engine a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Why a storage operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot open the database {url}: {source}")]
    Connect { url: String, source: sqlx::Error },
    #[error("cannot create the data directory {path}: {source}")]
    DataDir {
        path: String,
        source: std::io::Error,
    },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("cannot hash a password: {0}")]
    PasswordHash(String),
    #[error("stored {what} is corrupt")]
    Corrupt { what: &'static str },
    #[error("{what} not found")]
    NotFound { what: &'static str },
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// The transaction this was written in with others failed: nothing of
    /// it was stored.
    #[error("{0}")]
    Batch(std::sync::Arc<StoreError>),
    #[error("the chat message writer has stopped")]
    WriterGone,
}

/// The connection pool and the engine behind it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    chat_writer: chat_commit::ChatWriter,
}

impl Store {
    /// Opens the database (creating the SQLite file and its directory when
    /// needed) and runs pending migrations.
    pub async fn open(url: &DatabaseUrl, max_connections: u32) -> Result<Self, StoreError> {
        install_default_drivers();
        let backend = match url {
            DatabaseUrl::Sqlite(path) => {
                create_sqlite_dir(path)?;
                Backend::Sqlite
            }
            DatabaseUrl::Postgres(_) => Backend::Postgres,
        };
        let pool = AnyPoolOptions::new()
            .max_connections(max_connections)
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            })
            .connect(url.as_str())
            .await
            .map_err(|source| StoreError::Connect {
                url: url.redacted(),
                source,
            })?;
        let chat_writer = chat_commit::ChatWriter::start(pool.clone(), backend);
        let store = Store {
            pool,
            backend,
            chat_writer,
        };
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        match self.backend {
            Backend::Sqlite => {
                sqlx::migrate!("./migrations/sqlite")
                    .run(&self.pool)
                    .await?
            }
            Backend::Postgres => {
                sqlx::migrate!("./migrations/postgres")
                    .run(&self.pool)
                    .await?
            }
        }
        Ok(())
    }

    /// The engine this store runs on.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Answers when the database does (used by `/healthz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The SQLite journal mode (`wal` expected), or `None` on PostgreSQL.
    pub async fn sqlite_journal_mode(&self) -> Result<Option<String>, StoreError> {
        if self.backend != Backend::Sqlite {
            return Ok(None);
        }
        let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
            .fetch_one(&self.pool)
            .await?;
        Ok(Some(mode))
    }

    /// Waits for in-flight queries and closes every connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// A fresh time-ordered id.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn create_sqlite_dir(url: &str) -> Result<(), StoreError> {
    let path = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let path = path.split('?').next().unwrap_or(path);
    if path.is_empty() || path.starts_with(":memory:") {
        return Ok(());
    }
    match Path::new(path).parent() {
        Some(dir) if !dir.as_os_str().is_empty() => {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::DataDir {
                path: dir.display().to_string(),
                source,
            })
        }
        _ => Ok(()),
    }
}

/// Maps "no row" to [`StoreError::NotFound`].
fn found<T>(row: Option<T>, what: &'static str) -> Result<T, StoreError> {
    row.ok_or(StoreError::NotFound { what })
}
