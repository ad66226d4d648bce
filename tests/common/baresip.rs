//! Runs `baresip` (Debian `baresip-core`) as a softphone for tests: a private
//! config directory with the given accounts, no sound card, stopped when dropped.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The install hint a test gives when baresip is missing.
const MISSING: &str = "baresip is missing: install the test peers with \
    `scripts/install-deps.sh test` (Debian package baresip-core)";

/// Where Debian and source builds put baresip's modules.
const MODULE_DIRS: &[&str] = &[
    "/usr/lib/baresip/modules",
    "/usr/lib/x86_64-linux-gnu/baresip/modules",
    "/usr/lib/aarch64-linux-gnu/baresip/modules",
    "/usr/local/lib/baresip/modules",
];

/// The directory holding baresip's `account.so`.
fn module_path() -> PathBuf {
    MODULE_DIRS
        .iter()
        .map(PathBuf::from)
        .find(|dir| dir.join("account.so").exists())
        .unwrap_or_else(|| panic!("baresip modules not found in {MODULE_DIRS:?}; {MISSING}"))
}

/// A local SIP port for baresip: free on UDP and TCP, and the next one free
/// too (baresip listens for TLS on the SIP port + 1).
fn free_sip_port() -> u16 {
    loop {
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|socket| socket.local_addr())
            .expect("a free port")
            .port();
        let free = |port: u16| {
            TcpListener::bind(("127.0.0.1", port)).is_ok()
                && UdpSocket::bind(("127.0.0.1", port)).is_ok()
        };
        if port < u16::MAX && free(port) && free(port + 1) {
            return port;
        }
    }
}

/// A running baresip, killed when dropped.
pub struct Baresip {
    child: Child,
    output: PathBuf,
}

impl Baresip {
    /// Starts baresip with its config in `dir` (created) and these lines in
    /// `accounts`, e.g. `<sip:1001@127.0.0.1:5060>;auth_pass=demo1001`.
    pub fn start(dir: &Path, accounts: &[String]) -> Baresip {
        let installed = Command::new("baresip").arg("-h").output();
        assert!(installed.is_ok(), "{MISSING}");
        std::fs::create_dir_all(dir).expect("baresip dir");
        let config = format!(
            "poll_method epoll\n\
             sip_listen 127.0.0.1:{port}\n\
             audio_player aubridge,nil\n\
             audio_source aubridge,nil\n\
             audio_alert aubridge,nil\n\
             module_path {modules}\n\
             module g711.so\n\
             module aubridge.so\n\
             module account.so\n",
            port = free_sip_port(),
            modules = module_path().display(),
        );
        std::fs::write(dir.join("config"), config).expect("baresip config");
        std::fs::write(dir.join("accounts"), accounts.join("\n") + "\n").expect("accounts");
        let output = dir.join("baresip.log");
        let log = std::fs::File::create(&output).expect("baresip log");
        let child = Command::new("baresip")
            .arg("-f")
            .arg(dir)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start baresip ({error}); {MISSING}"));
        Baresip { child, output }
    }

    /// What baresip printed so far.
    pub fn output(&self) -> String {
        std::fs::read_to_string(&self.output).unwrap_or_default()
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
