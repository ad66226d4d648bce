//! baresip as a real SIP phone in tests (package `baresip-core`): a private
//! config directory per phone, no sound card (it "speaks" a WAV file and
//! writes what it hears to `snd/*-dec.wav` with the `sndfile` module), a
//! UDP console to type commands such as `/dial` or DTMF keys.

use std::net::UdpSocket;
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
    /// The `accounts` line, e.g. `<sip:caller@127.0.0.1>;regint=0;audio_codecs=PCMU`.
    pub account: &'a str,
    /// The 8 kHz mono WAV the phone sends as its microphone.
    pub audio_source: &'a Path,
}

/// A free local UDP/TCP port pair start (baresip takes the SIP port and the
/// next one for TLS).
fn free_port() -> u16 {
    loop {
        let port = UdpSocket::bind("127.0.0.1:0")
            .and_then(|s| s.local_addr())
            .map(|a| a.port())
            .expect("a free port");
        let next_free = UdpSocket::bind(("127.0.0.1", port.wrapping_add(1))).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port)).is_ok()
            && std::net::TcpListener::bind(("127.0.0.1", port.wrapping_add(1))).is_ok();
        if port < 65_000 && next_free {
            return port;
        }
    }
}

impl Baresip {
    /// Starts baresip in `dir` with `config`; extra `-e` commands run at start.
    pub fn start(dir: &Path, config: &PhoneConfig<'_>, commands: &[&str]) -> Baresip {
        assert!(
            Command::new("baresip").arg("-h").output().is_ok(),
            "baresip is missing: run `scripts/install-deps.sh test` (Debian package baresip-core)"
        );
        let sip_port = free_port();
        let console = free_port();
        let rtp = free_port();
        let snd = dir.join("snd");
        std::fs::create_dir_all(&snd).expect("snd dir");
        let settings = format!(
            "poll_method epoll\nsip_listen 127.0.0.1:{sip_port}\n\
             audio_source aufile,{source}\naudio_player aubridge,nil\naudio_alert aubridge,nil\n\
             rtp_ports {rtp}-{rtp_last}\n\
             module_path /usr/lib/baresip/modules\n\
             module g711.so\nmodule aufile.so\nmodule aubridge.so\nmodule sndfile.so\n\
             module account.so\nmodule cons.so\nmodule_app menu.so\n\
             cons_listen 127.0.0.1:{console}\nsnd_path {snd}\n",
            source = config.audio_source.display(),
            rtp_last = rtp + 1,
            snd = snd.display(),
        );
        std::fs::write(dir.join("config"), settings).expect("config");
        std::fs::write(dir.join("accounts"), format!("{}\n", config.account)).expect("accounts");
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
            .expect("start baresip");
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
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
    }

    /// Waits until the log contains `text`.
    pub fn wait_for_log(&self, text: &str, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if self.log().contains(text) {
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
