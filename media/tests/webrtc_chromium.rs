#![allow(clippy::unwrap_used)]
//! The WebRTC gateway against a real browser: headless Chromium (Debian's
//! `chromium`) loads a page from a small HTTP server of this test on
//! 127.0.0.1, captures a 440 Hz WAV as its fake microphone, offers it over
//! `RTCPeerConnection` and posts the offer; the gateway answers through the
//! tokio driver. The test, playing the engine's leg, hears the browser's
//! Opus as plain RTP that decodes to 440 Hz, and sends Opus 1 kHz that the
//! page hears through WebAudio's analyser; the page posts what it measured.

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use kefu_media::driver::ports::PortAllocator;
use kefu_media::driver::webrtc_task::{WebRtcHandle, spawn_webrtc_gateway};
use kefu_media::goertzel::energy_share;
use kefu_media::opus::{OpusConfig, OpusDecoder, OpusEncoder};
use kefu_media::pcm::SampleRate;
use kefu_media::rtp::packet::{RtpHeader, RtpPacket};
use kefu_media::sdp::Codec;
use kefu_media::tone::{ToneGenerator, TonePlan};
use kefu_media::webrtc::gateway::{GatewayConfig, GatewayEvent};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::{Instant, timeout};

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const RATE: SampleRate = SampleRate::NARROWBAND;
const CHROMIUM: &str = "/usr/bin/chromium";

const PAGE: &str = r#"<!doctype html><html><body><audio id="far" autoplay muted></audio><script>
const report = (text) => fetch('/result', {method: 'POST', body: text});
(async () => {
  try {
    const pc = new RTCPeerConnection();
    // The WAV as it is: no echo cancellation, noise suppression or gain control.
    const microphone = await navigator.mediaDevices.getUserMedia({audio: {echoCancellation: false, noiseSuppression: false, autoGainControl: false}});
    microphone.getTracks().forEach((track) => pc.addTrack(track, microphone));
    const far = new Promise((resolve) => { pc.ontrack = (event) => resolve(new MediaStream([event.track])); });
    await pc.setLocalDescription(await pc.createOffer());
    const answer = await (await fetch('/offer', {method: 'POST', body: pc.localDescription.sdp})).text();
    await pc.setRemoteDescription({type: 'answer', sdp: answer});
    const stream = await far;
    document.getElementById('far').srcObject = stream;
    const context = new AudioContext();
    await context.resume();
    const analyser = context.createAnalyser();
    analyser.fftSize = 8192;
    context.createMediaStreamSource(stream).connect(analyser);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const bins = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(bins);
    let peak = 0;
    for (let i = 1; i < bins.length; i++) { if (bins[i] > bins[peak]) peak = i; }
    const peakHz = Math.round(peak * context.sampleRate / analyser.fftSize);
    let received = 0;
    (await pc.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') received = s.packetsReceived; });
    await report(`state=${pc.connectionState};peak=${peakHz};received=${received}`);
  } catch (error) {
    await report(`error=${error}`);
  }
})();
</script></body></html>"#;

/// Reads one HTTP/1.1 request: its request line and body; None for a
/// connection closed without one (Chromium opens spare connections).
async fn read_request(stream: &mut TcpStream) -> Option<(String, String)> {
    let mut bytes = Vec::new();
    let mut buffer = [0u8; 4_096];
    let header_end = loop {
        let read = stream.read(&mut buffer).await.ok()?;
        if read == 0 {
            return None;
        }
        bytes.extend_from_slice(&buffer[..read]);
        if let Some(end) = bytes.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
    };
    let head = String::from_utf8_lossy(&bytes[..header_end]).to_string();
    let length: usize = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse().ok())
                .flatten()
        })
        .unwrap_or(0);
    while bytes.len() < header_end + length {
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(read > 0, "the browser closed the connection mid-body");
        bytes.extend_from_slice(&buffer[..read]);
    }
    let line = head.lines().next().unwrap_or_default().to_owned();
    let body = String::from_utf8_lossy(&bytes[header_end..header_end + length]).to_string();
    Some((line, body))
}

async fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) {
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await.unwrap();
}

fn write_tone_wav(path: &Path) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut writer = hound::WavWriter::create(path, spec).unwrap();
    let mut tone = ToneGenerator::new(TonePlan::steady(&[440.0], -10.0), SampleRate::FULLBAND);
    for _ in 0..250 {
        for sample in tone.next_frame() {
            writer.write_sample(sample).unwrap();
        }
    }
    writer.finalize().unwrap();
}

fn launch_chromium(url: &str, profile: &Path, wav: &Path) -> Child {
    assert!(
        Path::new(CHROMIUM).exists(),
        "{CHROMIUM} is missing: install it with `scripts/install-deps.sh test` (Debian package chromium)"
    );
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--autoplay-policy=no-user-gesture-required",
            "--use-fake-device-for-media-stream",
            "--use-fake-ui-for-media-stream",
        ])
        .arg(format!(
            "--use-file-for-fake-audio-capture={}",
            wav.display()
        ))
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(url)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

/// Kills Chromium when the test ends, however it ends.
struct Browser(Child);

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Serves the page and the offer; returns the running gateway.
async fn signal(listener: &TcpListener, allocator: &PortAllocator) -> WebRtcHandle {
    loop {
        let (mut stream, _) = timeout(Duration::from_secs(20), listener.accept())
            .await
            .expect("Chromium fetched nothing in 20 s")
            .unwrap();
        let Some((line, body)) = read_request(&mut stream).await else {
            continue;
        };
        if line.starts_with("GET / ") {
            respond(&mut stream, "200 OK", "text/html", PAGE).await;
        } else if line.starts_with("POST /offer ") {
            let config = GatewayConfig::new(vec![LOOPBACK]);
            let handle = spawn_webrtc_gateway(
                &config,
                &body,
                allocator.allocate().unwrap(),
                allocator.allocate().unwrap(),
            )
            .unwrap_or_else(|error| panic!("Chromium's offer was refused: {error}\n{body}"));
            respond(&mut stream, "200 OK", "application/sdp", handle.local_sdp()).await;
            return handle;
        } else if line.starts_with("POST /result ") {
            panic!("the page failed before its offer was answered: {body}");
        } else {
            respond(&mut stream, "404 Not Found", "text/plain", "").await;
        }
    }
}

async fn page_result(listener: &TcpListener) -> String {
    loop {
        let (mut stream, _) = timeout(Duration::from_secs(20), listener.accept())
            .await
            .expect("the page reported nothing in 20 s")
            .unwrap();
        let Some((line, body)) = read_request(&mut stream).await else {
            continue;
        };
        respond(&mut stream, "200 OK", "text/plain", "").await;
        if line.starts_with("POST /result ") {
            return body;
        }
    }
}

fn field<'a>(result: &'a str, name: &str) -> &'a str {
    result
        .split(';')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {name} in the page's result {result:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_talks_to_the_engine_through_the_gateway() {
    let scratch = tempfile::tempdir().unwrap();
    let wav = scratch.path().join("tone_440.wav");
    write_tone_wav(&wav);
    let listener = TcpListener::bind((LOOPBACK, 0)).await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let _browser = Browser(launch_chromium(&url, &scratch.path().join("profile"), &wav));
    let allocator = PortAllocator::new(LOOPBACK, "49450-49499".parse().unwrap());

    let mut handle = signal(&listener, &allocator).await;
    let codec = handle.codec();
    assert_eq!(codec.codec, Codec::Opus, "Chromium offers Opus first");
    let engine = UdpSocket::bind((LOOPBACK, 0)).await.unwrap();
    handle
        .set_engine_peer(engine.local_addr().unwrap())
        .await
        .unwrap();
    let connected = timeout(Duration::from_secs(10), handle.next_event()).await;
    assert_eq!(connected.unwrap(), Some(GatewayEvent::Connected));

    // Send Opus 1 kHz to the browser every 20 ms while hearing its audio.
    let mut encoder = OpusEncoder::new(RATE, OpusConfig::default()).unwrap();
    let mut tone = ToneGenerator::new(TonePlan::steady(&[1_000.0], -6.0), RATE);
    let mut decoder = OpusDecoder::new(RATE).unwrap();
    let mut heard = Vec::new();
    let mut buffer = [0u8; 2_048];
    let mut next_send = Instant::now();
    let end = Instant::now() + Duration::from_secs(5);
    let mut sequence: u16 = 0;
    while Instant::now() < end {
        tokio::select! {
            () = tokio::time::sleep_until(next_send) => {
                let payload = encoder.encode(&tone.next_frame()).unwrap();
                let packet = RtpHeader {
                    marker: sequence == 0,
                    payload_type: codec.payload_type,
                    sequence,
                    timestamp: u32::from(sequence) * 960,
                    ssrc: 0xE0E0_0002,
                }
                .encode(&payload);
                engine.send_to(&packet, handle.rtp_addr_for_engine()).await.unwrap();
                sequence = sequence.wrapping_add(1);
                next_send += Duration::from_millis(20);
            }
            received = engine.recv_from(&mut buffer) => {
                let (len, _) = received.unwrap();
                let packet = RtpPacket::parse(&buffer[..len]).unwrap();
                if packet.header.payload_type == codec.payload_type {
                    heard.extend(decoder.decode(Some(packet.payload)).unwrap());
                }
            }
        }
    }
    let result = page_result(&listener).await;
    assert!(!result.starts_with("error="), "the page failed: {result}");
    assert_eq!(field(&result, "state"), "connected", "{result}");
    assert!(
        field(&result, "received").parse::<u64>().unwrap() > 50,
        "{result}"
    );
    let peak: f64 = field(&result, "peak").parse().unwrap();
    assert!(
        (peak - 1_000.0).abs() < 30.0,
        "the page's loudest frequency: {result}"
    );

    assert!(
        heard.len() > RATE.frame_len() * 50,
        "{} samples heard",
        heard.len()
    );
    let share = energy_share(&heard[RATE.frame_len() * 25..], 440.0, RATE);
    assert!(share > 0.9, "440 Hz holds {share:.2} of Chromium's audio");
    let stats = handle.stop().await.unwrap();
    assert_eq!(stats.engine_rejected, 0, "{stats:?}");
}
