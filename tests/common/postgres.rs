//! A PostgreSQL database for one test. Uses the cluster named by
//! `KEFU_TEST_DATABASE_URL` (which `make test` starts once per run), or else
//! starts a throwaway cluster of its own with Debian's PostgreSQL binaries.
//! Each test gets a fresh database in that cluster.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use sqlx::{Connection, Executor};

/// A throwaway cluster started by this test process (stopped on drop).
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    url: String,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = as_postgres(self.bin.join("pg_ctl"))
            .args([
                "-D",
                &self.dir.path().join("data").display().to_string(),
                "-m",
                "immediate",
                "stop",
            ])
            .output();
    }
}

/// A database of its own for one test. Holds the cluster when it started one.
pub struct TestDatabase {
    pub url: String,
    _cluster: Option<Cluster>,
}

fn postgres_bin() -> PathBuf {
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(Result::ok)
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    versions.sort();
    versions
        .pop()
        .filter(|bin| bin.join("initdb").exists())
        .unwrap_or_else(|| {
            panic!(
                "PostgreSQL server binaries not found under /usr/lib/postgresql; \
             install them with `apt-get install -y postgresql` (make test does this), \
             or set KEFU_TEST_DATABASE_URL"
            )
        })
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// Runs a PostgreSQL tool as the `postgres` user when we are root (initdb
/// refuses to run as root).
fn as_postgres(program: PathBuf) -> Command {
    if running_as_root() {
        let mut cmd = Command::new("runuser");
        cmd.args(["-u", "postgres", "--"]).arg(program);
        cmd
    } else {
        Command::new(program)
    }
}

fn start_cluster() -> Cluster {
    let bin = postgres_bin();
    let dir = tempfile::Builder::new()
        .prefix("kefu-pg-")
        .tempdir()
        .expect("tempdir");
    let data = dir.path().join("data");
    if running_as_root() {
        let status = Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status()
            .expect("chown");
        assert!(status.success(), "chown postgres failed");
    }
    let out = as_postgres(bin.join("initdb"))
        .args([
            "-D",
            &data.display().to_string(),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
        ])
        .output()
        .expect("initdb");
    assert!(
        out.status.success(),
        "initdb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
        dir.path().display()
    );
    let out = as_postgres(bin.join("pg_ctl"))
        .args([
            "-D",
            &data.display().to_string(),
            "-o",
            &options,
            "-w",
            "-t",
            "60",
            "-l",
        ])
        .arg(dir.path().join("log"))
        .arg("start")
        .output()
        .expect("pg_ctl");
    assert!(
        out.status.success(),
        "pg_ctl start failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Cluster {
        url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        dir,
        bin,
    }
}

/// A fresh, empty database for this test.
pub async fn database() -> TestDatabase {
    match std::env::var("KEFU_TEST_DATABASE_URL") {
        Ok(url) if !url.is_empty() => create_database(url, None).await,
        _ => database_in_own_cluster().await,
    }
}

/// A fresh database in a cluster of this test's own, which it may stop.
pub async fn database_in_own_cluster() -> TestDatabase {
    let cluster = start_cluster();
    create_database(cluster.url.clone(), Some(cluster)).await
}

impl TestDatabase {
    /// Stops the test's own cluster (the database goes away under kefu).
    pub fn stop_cluster(&mut self) {
        let cluster = self._cluster.take().expect("a cluster of this test's own");
        drop(cluster);
    }
}

async fn create_database(base: String, cluster: Option<Cluster>) -> TestDatabase {
    sqlx::any::install_default_drivers();
    let mut conn = connect_with_retry(&base).await;
    let name = format!("kefu_test_{}", uuid::Uuid::now_v7().simple());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .expect("create database");
    conn.close().await.expect("close");
    let (server, _) = base.rsplit_once('/').expect("database url has a path");
    TestDatabase {
        url: format!("{server}/{name}"),
        _cluster: cluster,
    }
}

async fn connect_with_retry(url: &str) -> sqlx::AnyConnection {
    let mut last = None;
    for _ in 0..50 {
        match sqlx::AnyConnection::connect(url).await {
            Ok(conn) => return conn,
            Err(err) => last = Some(err),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot connect to PostgreSQL at {url}: {last:?}");
}
