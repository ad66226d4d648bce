//! baresip as a real SIP phone in tests (Debian `baresip-core`): a private
//! config directory per phone, no sound card (it "speaks" a WAV file, or
//! silence, and writes what it hears to `snd/*-dec.wav` with the `sndfile`
//! module), a UDP console to type commands such as `/dial` or DTMF keys;
//! killed when dropped.

use std::net::{TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running baresip.
pub struct Baresip {
    child: Child,
    pub dir: PathBuf,
    console: u16,
}

/// How to set up a phone.
pub struct PhoneConfig<'a> {
    /// The `accounts` lines, e.g. `<sip:1001@127.0.0.1:5060>;auth_pass=demo1001`
    /// or `<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU`.
    pub accounts: &'a [String],
    /// The 8 kHz mono WAV the phone sends as its microphone; silence if none.
    pub audio_source: Option<&'a Path>,
}

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

/// A local port free on UDP and TCP, with the next one free too (baresip
/// listens for TLS on the SIP port + 1, and RTCP follows RTP).
fn free_port() -> u16 {
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

impl Baresip {
    /// Starts baresip in `dir` with `config`; extra `-e` commands run at start.
    pub fn start(dir: &Path, config: &PhoneConfig<'_>, commands: &[&str]) -> Baresip {
        assert!(
            Command::new("baresip").arg("-h").output().is_ok(),
            "{MISSING}"
        );
        let sip_port = free_port();
        let console = free_port();
        let rtp = free_port();
        let snd = dir.join("snd");
        std::fs::create_dir_all(&snd).expect("snd dir");
        let source = config
            .audio_source
            .map_or("aubridge,nil".to_owned(), |path| {
                format!("aufile,{}", path.display())
            });
        let settings = format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\n\
             audio_source {source}\naudio_player aubridge,nil\naudio_alert aubridge,nil\n\
             rtp_ports {rtp}-{rtp_last}\n\
             module_path {modules}\n\
             module g711.so\nmodule aufile.so\nmodule aubridge.so\nmodule sndfile.so\n\
             module account.so\nmodule cons.so\nmodule_app menu.so\n\
             cons_listen 127.0.0.1:{console}\nsnd_path {snd}\n",
            rtp_last = rtp + 1,
            modules = module_path().display(),
            snd = snd.display(),
        );
        std::fs::write(dir.join("config"), settings).expect("config");
        std::fs::create_dir_all(dir).expect("phone dir");
        std::fs::write(dir.join("accounts"), config.accounts.join("\n") + "\n").expect("accounts");
        let mut command = Command::new("baresip");
        command.arg("-f").arg(dir);
        for extra in commands {
            command.args(["-e", extra]);
        }
        let child = command
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("stdout.log")).expect("log"))
            .stderr(std::fs::File::create(dir.join("stderr.log")).expect("log"))
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start baresip ({error}); {MISSING}"));
        Baresip {
            child,
            dir: dir.to_owned(),
            console,
        }
    }

    /// Types `text` on baresip's UDP console (a command or DTMF keys).
    pub fn type_keys(&self, text: &str) {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("console socket");
        socket
            .send_to(text.as_bytes(), ("127.0.0.1", self.console))
            .expect("console");
    }

    /// What baresip printed so far.
    pub fn output(&self) -> String {
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        read("stdout.log") + &read("stderr.log")
    }

    /// Waits until the log contains `text`.
    pub fn wait_for_log(&self, text: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.output().contains(text) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        false
    }

    /// The recordings of what the phone heard (`*-dec.wav`).
    pub fn heard(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.join("snd"))
            .map(|entries| {
                entries
                    .filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.to_string_lossy().ends_with("-dec.wav"))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Stops baresip (its WAV files are closed on exit).
    pub fn stop(&mut self) {
        self.type_keys("/quit\n");
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Baresip {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A demo agent's phone: baresip registered at `sip` as `extension`
/// (password `demo<extension>`, PCMU, MD5 digest), "speaking" a `hz` tone,
/// answering calls itself when `answer` is true and otherwise ringing until
/// cancelled. Its files live in `dir/phone-<extension>`.
pub fn agent_phone(
    dir: &Path,
    sip: std::net::SocketAddr,
    extension: &str,
    hz: u32,
    answer: bool,
) -> Baresip {
    let source = dir.join(format!("tone_{hz}.wav"));
    tone(&source, hz, 60);
    let phone_dir = dir.join(format!("phone-{extension}"));
    std::fs::create_dir_all(&phone_dir).expect("the phone's dir");
    let mode = if answer { "auto" } else { "manual" };
    let account = format!(
        "<sip:{extension}@{sip}>;auth_pass=demo{extension};answermode={mode};audio_codecs=PCMU;regint=600"
    );
    let phone = Baresip::start(
        &phone_dir,
        &PhoneConfig {
            accounts: &[account],
            audio_source: Some(&source),
        },
        &[],
    );
    assert!(
        phone.wait_for_log("200 OK", Duration::from_secs(10)),
        "{extension} did not register:\n{}",
        phone.output()
    );
    phone
}

/// Writes an 8 kHz mono sine of `hz` for `seconds` with sox.
pub fn tone(path: &Path, hz: u32, seconds: u32) {
    let status = Command::new("sox")
        .args(["-n", "-r", "8000", "-c", "1", "-b", "16"])
        .arg(path)
        .args([
            "synth",
            &seconds.to_string(),
            "sine",
            &hz.to_string(),
            "vol",
            "0.5",
        ])
        .status()
        .expect("sox is missing: run `scripts/install-deps.sh test`");
    assert!(status.success(), "sox failed");
}

/// Mono 16-bit samples of a WAV file (the first channel).
pub fn samples(path: &Path) -> (u32, Vec<i16>) {
    let mut reader = hound::WavReader::open(path).expect("a WAV file");
    let spec = reader.spec();
    let channels = usize::from(spec.channels);
    let all: Vec<i16> = reader.samples::<i16>().map(|s| s.unwrap_or(0)).collect();
    (
        spec.sample_rate,
        all.into_iter().step_by(channels).collect(),
    )
}

/// Share of the energy of `samples` (at `rate` Hz) that is at `hz`: about 1
/// for a pure tone of that frequency, near 0 for anything else.
pub fn share_of(samples: &[i16], rate: u32, hz: f64) -> f64 {
    let rate = kefu_media::pcm::SampleRate::new(rate).expect("a sample rate");
    kefu_media::goertzel::energy_share(samples, hz, rate)
}

/// The largest share of `hz` in any one-second window of `samples`.
pub fn best_second(samples: &[i16], rate: u32, hz: f64) -> f64 {
    samples
        .chunks(rate as usize)
        .filter(|window| window.len() == rate as usize)
        .map(|window| share_of(window, rate, hz))
        .fold(0.0, f64::max)
}

/// Whether `samples` (at `rate`) carry `hz` (a second mostly of it), then
/// at least 3 s without it (on hold), then `hz` again; the share of `hz`
/// in each second, for the failure message.
pub fn heard_held_heard(samples: &[i16], rate: u32, hz: f64) -> (bool, Vec<f64>) {
    let seconds: Vec<f64> = samples
        .chunks_exact(rate as usize)
        .map(|second| share_of(second, rate, hz))
        .collect();
    let talking = |share: &f64| *share > 0.7;
    let hold = seconds.iter().position(talking).and_then(|talk| {
        (talk..seconds.len().saturating_sub(2))
            .find(|&at| seconds[at] < 0.1 && seconds[at + 1] < 0.1 && seconds[at + 2] < 0.1)
    });
    let talks_again = hold.is_some_and(|at| seconds[at..].iter().any(talking));
    (talks_again, seconds)
}

/// How much of `samples` carries `hz`: of the 50 ms blocks that are not
/// silent, the share where `hz` holds most of the energy, and the share of
/// blocks that are not silent. Robust to gaps and phase jumps, which a
/// single Goertzel over a torn signal is not.
pub fn tone_presence(samples: &[i16], rate: u32, hz: f64) -> (f64, f64) {
    let block = rate as usize / 20;
    let blocks: Vec<&[i16]> = samples.chunks_exact(block).collect();
    let loud: Vec<&&[i16]> = blocks
        .iter()
        .filter(|b| b.iter().map(|s| i64::from(*s).abs()).sum::<i64>() / block as i64 > 200)
        .collect();
    if loud.is_empty() {
        return (0.0, 0.0);
    }
    let holding = loud.iter().filter(|b| share_of(b, rate, hz) > 0.5).count();
    (
        holding as f64 / loud.len() as f64,
        loud.len() as f64 / blocks.len() as f64,
    )
}
