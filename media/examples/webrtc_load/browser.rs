//! One browser-equivalent WebRTC peer, sans-IO: a `str0m` `Rtc` configured
//! as Chromium's audio offer (opus, PCMU, PCMA and telephone-events at 48
//! and 8 kHz; ICE controlling, DTLS client, SRTP with str0m's default header
//! extensions), as `media/tests/webrtc.rs` plays it. It makes the offer,
//! takes the gateway's answer, is fed datagrams and the time, and hands
//! back datagrams to send and the payloads of the RTP packets it received.

use std::net::SocketAddr;
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::format::{Codec, FormatParams};
use str0m::media::{Direction, Frequency, MediaKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::RtpWrite;
use str0m::{Candidate, Event, Input, Output, Rtc};

/// Why a browser peer failed.
pub type BrowserError = String;

pub struct Browser {
    rtc: Rtc,
    addr: SocketAddr,
    mid: Mid,
    pending: Option<SdpPendingOffer>,
    /// Datagrams to send, with their destination.
    pub outbox: Vec<(SocketAddr, Vec<u8>)>,
    /// Payloads of the RTP packets received, decrypted.
    pub heard: Vec<std::sync::Arc<[u8]>>,
    pub connected: bool,
    /// When it next needs [`Self::handle_timeout`].
    pub timeout: Instant,
    sequence: u64,
}

impl Browser {
    /// A browser whose socket is `addr`, and its SDP offer.
    pub fn offer(addr: SocketAddr, now: Instant) -> Result<(Self, String), BrowserError> {
        let mut config = Rtc::builder().set_rtp_mode(true).clear_codecs();
        let codecs = config.codec_config();
        codecs.enable_opus(true, false);
        codecs.enable_pcmu(true, false);
        codecs.enable_pcma(true, false);
        for (payload_type, rate) in [
            (110, Frequency::FORTY_EIGHT_KHZ),
            (126, Frequency::EIGHT_KHZ),
        ] {
            codecs.add_config(
                payload_type.into(),
                None,
                Codec::Tele,
                rate,
                None,
                FormatParams::default(),
            );
        }
        let mut rtc = config.build(now);
        let candidate = Candidate::host(addr, "udp").map_err(|e| e.to_string())?;
        rtc.add_local_candidate(candidate);
        let mut change = rtc.sdp_api();
        let mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        let (offer, pending) = change.apply().ok_or("str0m made no offer")?;
        let browser = Self {
            rtc,
            addr,
            mid,
            pending: Some(pending),
            outbox: Vec::new(),
            heard: Vec::new(),
            connected: false,
            timeout: now,
            sequence: 1,
        };
        Ok((browser, offer.to_sdp_string()))
    }

    pub fn accept_answer(&mut self, answer: &str, now: Instant) -> Result<(), BrowserError> {
        let pending = self.pending.take().ok_or("the answer was already taken")?;
        let answer = SdpAnswer::from_sdp_string(answer).map_err(|e| e.to_string())?;
        self.rtc
            .sdp_api()
            .accept_answer(pending, answer)
            .map_err(|e| e.to_string())?;
        self.drain(now)
    }

    pub fn receive(
        &mut self,
        now: Instant,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), BrowserError> {
        let receive =
            Receive::new(Protocol::Udp, source, self.addr, datagram).map_err(|e| e.to_string())?;
        self.rtc
            .handle_input(Input::Receive(now, receive))
            .map_err(|e| e.to_string())?;
        self.drain(now)
    }

    pub fn handle_timeout(&mut self, now: Instant) -> Result<(), BrowserError> {
        if now < self.timeout {
            return Ok(());
        }
        self.rtc
            .handle_input(Input::Timeout(now))
            .map_err(|e| e.to_string())?;
        self.drain(now)
    }

    /// Sends one RTP packet of the browser's audio stream (once connected).
    pub fn send(
        &mut self,
        now: Instant,
        payload_type: u8,
        timestamp: u32,
        payload: Vec<u8>,
    ) -> Result<(), BrowserError> {
        let sequence = self.sequence;
        self.sequence += 1;
        let mut direct = self.rtc.direct_api();
        let stream = direct
            .stream_tx_by_mid(self.mid, None)
            .ok_or("no audio stream to send on")?;
        stream.write_rtp(RtpWrite::new(
            payload_type.into(),
            sequence.into(),
            timestamp,
            now,
            payload,
        ));
        self.drain(now)
    }

    fn drain(&mut self, now: Instant) -> Result<(), BrowserError> {
        loop {
            match self.rtc.poll_output().map_err(|e| e.to_string())? {
                Output::Timeout(at) => {
                    self.timeout = at.max(now);
                    return Ok(());
                }
                Output::Transmit(transmit) => self
                    .outbox
                    .push((transmit.destination, transmit.contents.into())),
                Output::Event(Event::Connected) => self.connected = true,
                Output::Event(Event::RtpPacket(packet)) => self.heard.push(packet.payload),
                Output::Event(_) => {}
            }
        }
    }
}
