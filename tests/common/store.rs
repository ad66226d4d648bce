//! The store on both engines, for tests of `Store` and what runs on it: a
//! fresh SQLite file or a throwaway PostgreSQL database, and
//! `store_on_both_engines!`, which runs a scenario on each.

use kefu::config::DatabaseUrl;
use kefu::store::Store;

use super::postgres::{TestDatabase, database};

/// A store on a new SQLite file in a temporary dir (kept while the dir is).
pub async fn sqlite() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("a temporary dir");
    let url = DatabaseUrl::Sqlite(format!(
        "sqlite://{}/db/kefu.db?mode=rwc",
        dir.path().display()
    ));
    let store = Store::open(&url, 4).await.expect("the SQLite store");
    (dir, store)
}

/// A store on a new database of the test PostgreSQL cluster.
pub async fn postgres() -> (TestDatabase, Store) {
    let db = database().await;
    let store = Store::open(&DatabaseUrl::Postgres(db.url.clone()), 4)
        .await
        .expect("the PostgreSQL store");
    (db, store)
}

/// Runs `async fn scenario(&Store)` as two tests: on SQLite and on
/// PostgreSQL.
#[macro_export]
macro_rules! store_on_both_engines {
    ($scenario:ident) => {
        mod $scenario {
            #[tokio::test(flavor = "multi_thread")]
            async fn sqlite() {
                let (_dir, store) = $crate::common::store::sqlite().await;
                super::$scenario(&store).await;
            }

            #[tokio::test(flavor = "multi_thread")]
            async fn postgres() {
                let (_db, store) = $crate::common::store::postgres().await;
                super::$scenario(&store).await;
            }
        }
    };
}
