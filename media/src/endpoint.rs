//! The endpoint: a call leg that ends in kefu instead of being relayed — the
//! echo test, IVR prompts and the key presses that answer them. One
//! [`RtpLeg`] faces the peer, so latching, strict source, RTCP, statistics
//! and RFC 4733 receive are the leg's; the endpoint adds what it sends and
//! what it listens for:
//!
//! - **Echo** ([`Endpoint::set_echo`]): every accepted RTP packet goes back
//!   to the peer packet for packet, undecoded (any codec, telephone-events
//!   too), on our SSRC with our sequence numbers and timestamps.
//! - **Playback** ([`Endpoint::play`]): 8 kHz mono clips, queued one after
//!   the other in a [`crate::prompt::Player`] that cuts them into 20 ms
//!   frames, leave in the negotiated codec ([`LegCodec`]: a G.711 law, or
//!   Opus through its 8 → 48 kHz resampler), one frame every 20 ms
//!   ([`Endpoint::poll_timeout`] says when the next is due) stamped on the
//!   leg's RTP clock (+160 per frame for G.711, +960 for Opus), the first
//!   of a talkspurt with the marker bit; the last frame is padded with
//!   silence. When the queue runs dry, [`EndpointEvent::PlaybackFinished`] is
//!   reported and nothing is sent until the next clip (no comfort noise).
//!   While echo is on, playback is paused where it stands. Frames that are
//!   late are sent in a burst, keeping their timestamps, so the stream stays
//!   on the RTP clock; after a stall longer than [`MAX_FRAME_LATENESS`] a
//!   new talkspurt starts instead (the clip resumes where it stopped).
//! - **Key presses** ([`EndpointEvent::Dtmf`]): RFC 4733 telephone-events
//!   read by the leg, or, when configured and no telephone-event payload
//!   type was negotiated, tones found by the in-band detector in the
//!   audio decoded to 8 kHz. With telephone-event negotiated the in-band detector
//!   does not run, so a phone that sends both is heard once.
//!
//! - **Capture** ([`Endpoint::set_capture`]): the audio of every accepted
//!   audio packet decoded to 8 kHz, with its arrival time, for a recorder
//!   (voicemail) to take with [`Endpoint::poll_captured`]. An audio payload
//!   that cannot be decoded (not valid Opus) is dropped and counted
//!   ([`Endpoint::undecodable`]).
//!
//! Echo and playback share the leg's outgoing stream: playback is one more
//! source to it (numbered on our own SSRC, timed from the RTP clock), so a
//! switch between echo and prompts continues the sequence numbers and
//! advances the timestamps by the time that passed.
//!
//! Sans-IO like the leg: the driver passes datagrams, source addresses and
//! the time, sends what [`Endpoint::poll_transmit`] returns and calls
//! [`Endpoint::handle_timeout`] when [`Endpoint::poll_timeout`] is due.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::codec::{CodecError, LegCodec, PCM_RATE, Transcoder};
use crate::dtmf::Dtmf;
use crate::dtmf::inband::InbandDtmfDetector;
use crate::pcm::{FRAME_DURATION, SampleRate};
use crate::prompt::{Playable, Player, Prompt};
use crate::rtp::leg::{Accepted, LegConfig, LegStats, Rejected, RtpLeg, Transmit};
use crate::rtp::packet::{RtpHeader, RtpPacket, is_rtcp};

/// How late a playback frame may be and still be sent in its place in the
/// stream; frames later than this (a stalled task) start a new talkspurt.
pub const MAX_FRAME_LATENESS: Duration = Duration::from_millis(100);

/// Captured frames kept until taken (10 s at 20 ms); later ones are dropped
/// rather than let memory grow when nobody takes them.
const MAX_CAPTURED_FRAMES: usize = 500;

/// What an endpoint is told when it is created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// The leg facing the peer: its address from SDP, the telephone-event
    /// payload type, the codec's clock rate (8 kHz for G.711, 48 kHz for Opus).
    pub leg: LegConfig,
    /// The negotiated codec, for playback, in-band detection and capture
    /// (a G.711 law converts into it: `G711::Pcmu.into()`).
    pub codec: LegCodec,
    /// Its negotiated payload type.
    pub payload_type: u8,
    /// Also look for key-press tones in the decoded audio (for peers that
    /// did not negotiate telephone-event; ignored when they did).
    pub inband_dtmf: bool,
}

/// What the endpoint tells call control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndpointEvent {
    /// A key press the peer finished.
    Dtmf(Dtmf),
    /// Every queued clip has been sent; reported once each time the queue
    /// runs dry, not after [`Endpoint::stop_playing`].
    PlaybackFinished,
}

/// When the next playback frame goes out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pacing {
    /// Nothing queued.
    Idle,
    /// Audio is queued; its first frame, with the marker bit, goes out at
    /// the next [`Endpoint::handle_timeout`], but not before the last frame
    /// sent has ended.
    Starting,
    /// A talkspurt is under way; its next frame is due at `next_frame`.
    Talkspurt { next_frame: Instant },
}

/// What plays and when its frames go out.
#[derive(Debug)]
struct Playback {
    /// The queue of clips, cut into frames.
    player: Player,
    pacing: Pacing,
    /// When the last frame sent ends: a new talkspurt starts no earlier,
    /// so its timestamps are past the last one's.
    silence_from: Instant,
    /// Sequence number of the next frame, in playback's own numbering,
    /// which the leg maps onto the outgoing stream.
    sequence: u16,
}

impl Playback {
    /// Empties the queue; the endpoint reports the end of playback itself,
    /// so the player's per-clip events are let go.
    fn clear(&mut self) {
        self.player.stop();
        while self.player.poll_event().is_some() {}
        self.pacing = Pacing::Idle;
    }
}

/// A call leg that ends in kefu; see the module doc.
#[derive(Debug)]
pub struct Endpoint {
    leg: RtpLeg,
    transcoder: Transcoder,
    payload_type: u8,
    clock_rate: SampleRate,
    /// Our SSRC. Playback frames carry it into the leg's outgoing stream,
    /// where it tells them apart from the peer's packets being echoed (a
    /// peer that sends with our SSRC is an RFC 3550 §8.2 collision).
    ssrc: u32,
    /// Only when asked for and no telephone-event was negotiated.
    inband: Option<InbandDtmfDetector>,
    echo: bool,
    /// Decoded audio kept for [`Self::poll_captured`], while capturing.
    captured: Option<VecDeque<(Instant, Vec<i16>)>>,
    playback: Playback,
    /// Playback frames are timestamped with the time since the start.
    started: Instant,
    /// The latest time the endpoint was given: when queued audio is due.
    latest: Instant,
    rtp_out: VecDeque<Transmit>,
    events: VecDeque<EndpointEvent>,
    frame: Vec<i16>,
    encoded: Vec<u8>,
    decoded: Vec<i16>,
    undecodable: u64,
}

impl Endpoint {
    /// An endpoint starting at `now`, when the wall clock reads `wall`;
    /// echo is off and nothing plays. Refused when the leg's clock rate is
    /// not the codec's, or the codec cannot be set up.
    pub fn new(config: EndpointConfig, now: Instant, wall: SystemTime) -> Result<Self, CodecError> {
        let clock_rate = config.leg.clock_rate;
        config.codec.check_clock_rate(clock_rate)?;
        let transcoder = Transcoder::new(config.codec)?;
        let inband = (config.inband_dtmf && config.leg.telephone_event.is_none())
            .then(|| InbandDtmfDetector::new(PCM_RATE));
        Ok(Self {
            ssrc: config.leg.ssrc,
            leg: RtpLeg::new(config.leg, now, wall),
            transcoder,
            payload_type: config.payload_type,
            clock_rate,
            inband,
            echo: false,
            captured: None,
            playback: Playback {
                player: Player::new(PCM_RATE),
                pacing: Pacing::Idle,
                silence_from: now,
                sequence: 0,
            },
            started: now,
            latest: now,
            rtp_out: VecDeque::new(),
            events: VecDeque::new(),
            frame: Vec::with_capacity(PCM_RATE.frame_len()),
            encoded: Vec::with_capacity(PCM_RATE.frame_len()),
            decoded: Vec::with_capacity(PCM_RATE.frame_len()),
            undecodable: 0,
        })
    }

    /// Takes a datagram received on the RTP port from `source`: RTP is
    /// checked by the leg, listened to for key presses and, with echo on,
    /// sent back; RTCP (rtcp-mux) goes to the leg.
    pub fn handle_rtp(
        &mut self,
        now: Instant,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), Rejected> {
        self.advance_to(now);
        if is_rtcp(datagram) {
            return self.leg.handle_rtcp(now, source, datagram);
        }
        let accepted = self.leg.handle_rtp(now, source, datagram);
        self.collect_telephone_events();
        let accepted = accepted?;
        if accepted.header.payload_type == self.payload_type {
            self.listen(now, datagram);
        }
        if self.echo {
            self.send_echo(now, &accepted, datagram);
        }
        Ok(())
    }

    /// Takes an RTCP packet received on the RTCP port.
    pub fn handle_rtcp(
        &mut self,
        now: Instant,
        source: SocketAddr,
        packet: &[u8],
    ) -> Result<(), Rejected> {
        self.advance_to(now);
        self.leg.handle_rtcp(now, source, packet)
    }

    /// When [`Self::handle_timeout`] is next due: the next playback frame,
    /// an RTCP report, or a key press whose end packets were lost.
    pub fn poll_timeout(&self) -> Instant {
        let frame = match (self.echo, self.playback.pacing) {
            (true, _) | (false, Pacing::Idle) => None,
            (false, Pacing::Starting) => Some(self.latest.max(self.playback.silence_from)),
            (false, Pacing::Talkspurt { next_frame }) => Some(next_frame),
        };
        let leg = self.leg.poll_timeout();
        frame.map_or(leg, |frame| frame.min(leg))
    }

    /// Sends the playback frames that are due and runs the leg's timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.advance_to(now);
        self.leg.handle_timeout(now);
        self.collect_telephone_events();
        if !self.echo {
            self.send_due_frames(now);
        }
    }

    /// The next packet to send: RTP from the RTP port, RTCP from the port
    /// the transmit says.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.rtp_out
            .pop_front()
            .or_else(|| self.leg.poll_transmit())
    }

    /// The next event, oldest first.
    pub fn poll_event(&mut self) -> Option<EndpointEvent> {
        self.events.pop_front()
    }

    /// Turns echo on or off. While it is on, playback is paused; it resumes
    /// with a new talkspurt when echo goes off.
    pub fn set_echo(&mut self, on: bool) {
        self.echo = on;
        if on && matches!(self.playback.pacing, Pacing::Talkspurt { .. }) {
            self.playback.pacing = Pacing::Starting;
        }
    }

    /// Queues `clip` (8 kHz mono) after what is queued already; its first
    /// frame goes out at the next [`Self::handle_timeout`] if nothing plays.
    /// Frames due before the peer's address is known are lost (and counted
    /// as unroutable): a prompt is played in time, not stored.
    pub fn play(&mut self, clip: Arc<[i16]>) {
        let prompt = Prompt::new(clip.to_vec(), SampleRate::NARROWBAND);
        self.playback
            .player
            .enqueue(Playable::Prompt(Arc::new(prompt)));
        if self.playback.pacing == Pacing::Idle {
            self.playback.pacing = Pacing::Starting;
        }
    }

    /// Empties the queue at once (barge-in); nothing more is sent and no
    /// [`EndpointEvent::PlaybackFinished`] follows.
    pub fn stop_playing(&mut self) {
        self.playback.clear();
    }

    /// The peer moved (re-INVITE, transfer): see [`RtpLeg::repoint`].
    pub fn repoint(&mut self, now: Instant, remote: Option<SocketAddr>) {
        self.advance_to(now);
        self.leg.repoint(now, remote);
    }

    /// The leg's figures now.
    pub fn stats(&self) -> LegStats {
        self.leg.stats()
    }

    /// Audio packets that were decoded for in-band detection or capture
    /// and could not be (not valid Opus), dropped.
    pub fn undecodable(&self) -> u64 {
        self.undecodable
    }

    fn advance_to(&mut self, now: Instant) {
        self.latest = self.latest.max(now);
    }

    fn collect_telephone_events(&mut self) {
        while let Some(press) = self.leg.poll_dtmf() {
            self.events.push_back(EndpointEvent::Dtmf(press));
        }
    }

    /// Decodes an accepted audio packet for the in-band detector and the
    /// capture, when either wants it.
    fn listen(&mut self, now: Instant, datagram: &[u8]) {
        if self.inband.is_none() && self.captured.is_none() {
            return;
        }
        let Ok(packet) = RtpPacket::parse(datagram) else {
            return;
        };
        self.decoded.clear();
        if self
            .transcoder
            .decoder
            .decode_into(packet.payload, &mut self.decoded)
            .is_err()
        {
            self.undecodable += 1;
            return;
        }
        if let Some(detector) = &mut self.inband {
            detector.process(&self.decoded);
            while let Some(press) = detector.poll_event() {
                self.events.push_back(EndpointEvent::Dtmf(press));
            }
        }
        if let Some(captured) = &mut self.captured {
            if captured.len() < MAX_CAPTURED_FRAMES && !self.decoded.is_empty() {
                captured.push_back((now, self.decoded.clone()));
            }
        }
    }

    /// Starts or stops keeping the decoded audio the peer sends (stopping
    /// drops what was not taken).
    pub fn set_capture(&mut self, on: bool) {
        self.captured = on.then(VecDeque::new);
    }

    /// The oldest captured frame not taken yet: when it arrived, its PCM.
    pub fn poll_captured(&mut self) -> Option<(Instant, Vec<i16>)> {
        self.captured.as_mut()?.pop_front()
    }

    fn send_echo(&mut self, now: Instant, accepted: &Accepted, datagram: &[u8]) {
        let mut packet = datagram.to_vec();
        let header = &accepted.header;
        let destination = self.leg.prepare_send(
            now,
            header,
            header.payload_type,
            &mut packet,
            accepted.payload_len,
        );
        if let Some(destination) = destination {
            self.queue_rtp(destination, packet);
        }
    }

    /// Sends every frame due by `now`, the first of a talkspurt with the
    /// marker bit.
    fn send_due_frames(&mut self, now: Instant) {
        loop {
            let (due, marker) = match self.playback.pacing {
                Pacing::Idle => return,
                Pacing::Starting if self.playback.silence_from > now => return,
                Pacing::Talkspurt { next_frame } if next_frame > now => return,
                Pacing::Talkspurt { next_frame } if now - next_frame <= MAX_FRAME_LATENESS => {
                    (next_frame, false)
                }
                Pacing::Starting | Pacing::Talkspurt { .. } => (now, true),
            };
            if self.send_frame(due, marker) && self.playback.player.is_playing() {
                self.playback.pacing = Pacing::Talkspurt {
                    next_frame: due + FRAME_DURATION,
                };
            } else {
                self.playback.clear();
                self.events.push_back(EndpointEvent::PlaybackFinished);
                return;
            }
        }
    }

    /// Sends the next frame of the queue as due at `due`; false if the
    /// queue held no audio.
    fn send_frame(&mut self, due: Instant, marker: bool) -> bool {
        let playing = self.playback.player.next_frame_into(&mut self.frame);
        while self.playback.player.poll_event().is_some() {}
        if !playing {
            return false;
        }
        // The player gives 20 ms frames at 8 kHz, what every encoder takes;
        // should one refuse all the same, the frame is skipped in its time.
        if self
            .transcoder
            .encoder
            .encode_into(&self.frame, &mut self.encoded)
            .is_err()
        {
            self.playback.silence_from = due + FRAME_DURATION;
            return true;
        }
        let since_start = due.saturating_duration_since(self.started);
        let header = RtpHeader {
            marker,
            payload_type: self.payload_type,
            sequence: self.playback.sequence,
            // Wraps with the RTP clock, as timestamps do.
            timestamp: self.clock_rate.samples_in(since_start) as u32,
            ssrc: self.ssrc,
        };
        self.playback.sequence = self.playback.sequence.wrapping_add(1);
        self.playback.silence_from = due + FRAME_DURATION;
        let mut packet = header.encode(&self.encoded);
        let destination = self.leg.prepare_send(
            due,
            &header,
            self.payload_type,
            &mut packet,
            self.encoded.len(),
        );
        if let Some(destination) = destination {
            self.queue_rtp(destination, packet);
        }
        true
    }

    fn queue_rtp(&mut self, destination: SocketAddr, payload: Vec<u8>) {
        self.rtp_out.push_back(Transmit {
            destination,
            payload,
            from_rtp_port: true,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dtmf::DtmfDigit;
    use crate::dtmf::rfc4733::TelephoneEventGenerator;
    use crate::g711::G711;
    use crate::goertzel::energy_share;
    use crate::rtp::leg::Latching;
    use crate::rtp::rtcp::RtcpReport;
    use crate::tone::{ToneGenerator, TonePlan};
    use proptest::prelude::*;

    const FRAME: Duration = FRAME_DURATION;
    const RATE: SampleRate = SampleRate::NARROWBAND;
    const OUR_SSRC: u32 = 0xE0E0_0001;
    const FIRST_SEQUENCE: u16 = 65_500;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    /// Where the SDP says the phone is.
    fn sdp_remote() -> SocketAddr {
        addr(4000)
    }

    /// Where the phone really sends from (behind NAT).
    fn phone() -> SocketAddr {
        addr(5000)
    }

    fn new_endpoint(telephone_event: Option<u8>, inband_dtmf: bool) -> (Endpoint, Instant) {
        let start = Instant::now();
        let config = EndpointConfig {
            leg: LegConfig {
                remote: Some(sdp_remote()),
                latching: Latching::Symmetric {
                    relatch_window: Duration::ZERO,
                },
                telephone_event,
                ..LegConfig::new(OUR_SSRC, FIRST_SEQUENCE, 1_000)
            },
            codec: G711::Pcmu.into(),
            payload_type: 0,
            inband_dtmf,
        };
        let endpoint = Endpoint::new(config, start, SystemTime::now()).unwrap();
        (endpoint, start)
    }

    fn rtp(payload_type: u8, ssrc: u32, sequence: u16, payload: &[u8]) -> Vec<u8> {
        RtpHeader {
            marker: false,
            payload_type,
            sequence,
            timestamp: u32::from(sequence).wrapping_mul(160),
            ssrc,
        }
        .encode(payload)
    }

    /// RTP packets sent, as (when, destination, header, payload).
    type Sent = Vec<(Instant, SocketAddr, RtpHeader, Vec<u8>)>;

    fn take_rtp(endpoint: &mut Endpoint, at: Instant, sent: &mut Sent) {
        while let Some(transmit) = endpoint.poll_transmit() {
            if transmit.from_rtp_port {
                let packet = RtpPacket::parse(&transmit.payload).unwrap();
                sent.push((
                    at,
                    transmit.destination,
                    packet.header,
                    packet.payload.to_vec(),
                ));
            }
        }
    }

    /// Runs the endpoint's timers as a driver would, until `end`.
    fn run_until(endpoint: &mut Endpoint, end: Instant) -> Sent {
        let mut sent = Vec::new();
        loop {
            let due = endpoint.poll_timeout();
            if due > end {
                return sent;
            }
            endpoint.handle_timeout(due);
            take_rtp(endpoint, due, &mut sent);
        }
    }

    fn events(endpoint: &mut Endpoint) -> Vec<EndpointEvent> {
        std::iter::from_fn(|| endpoint.poll_event()).collect()
    }

    fn tone(frequencies_hz: &[f64], duration: Duration) -> Vec<i16> {
        let mut samples = vec![0; RATE.samples_in(duration)];
        ToneGenerator::new(TonePlan::steady(frequencies_hz, -10.0), RATE).fill(&mut samples);
        samples
    }

    fn decoded(sent: &Sent) -> Vec<i16> {
        sent.iter()
            .flat_map(|(_, _, _, payload)| G711::Pcmu.decode(payload))
            .collect()
    }

    fn assert_one_stream(sent: &Sent) {
        for pair in sent.windows(2) {
            let (previous, next) = (&pair[0].2, &pair[1].2);
            assert_eq!(next.ssrc, OUR_SSRC);
            assert_eq!(next.sequence, previous.sequence.wrapping_add(1));
            assert!(next.timestamp.wrapping_sub(previous.timestamp) >= 160);
        }
    }

    #[test]
    fn echo_returns_each_packet_with_our_ssrc_to_the_latched_source_and_drops_a_third() {
        let (mut endpoint, start) = new_endpoint(Some(101), false);
        endpoint
            .handle_rtp(start, phone(), &rtp(0, 0x1111, 99, &[0x99; 160]))
            .unwrap();
        assert_eq!(endpoint.poll_transmit(), None, "echo is off at first");
        endpoint.set_echo(true);
        let mut sent = Vec::new();
        for i in 0..10u16 {
            let now = start + FRAME * u32::from(i + 1);
            let payload = [i as u8; 160];
            endpoint
                .handle_rtp(now, phone(), &rtp(0, 0x1111, 100 + i, &payload))
                .unwrap();
            assert!(matches!(
                endpoint.handle_rtp(now, addr(9999), &rtp(0, 0x6666, i, &[0xBA; 160])),
                Err(Rejected::ForeignSource { .. })
            ));
            take_rtp(&mut endpoint, now, &mut sent);
        }
        assert_eq!(sent.len(), 10);
        for (i, (_, destination, header, payload)) in sent.iter().enumerate() {
            assert_eq!(*destination, phone(), "to the latched source, not the SDP");
            assert_eq!(header.ssrc, OUR_SSRC);
            assert_eq!(header.payload_type, 0);
            assert_eq!(payload, &[i as u8; 160]);
        }
        assert_eq!(sent[0].2.sequence, FIRST_SEQUENCE);
        assert_one_stream(&sent);
        let stats = endpoint.stats();
        assert_eq!(stats.packets_received, 11);
        assert_eq!(stats.packets_sent, 10);
        assert_eq!(stats.foreign_dropped, 10);
    }

    #[test]
    fn a_played_clip_leaves_as_50_paced_frames_a_second_and_finishes_once() {
        let (mut endpoint, start) = new_endpoint(Some(101), false);
        let clip: Arc<[i16]> = tone(&[440.0], Duration::from_secs(1)).into();
        endpoint.play(Arc::clone(&clip));
        assert_eq!(endpoint.poll_timeout(), start, "the first frame is due now");
        let sent = run_until(&mut endpoint, start + Duration::from_secs(3));
        assert_eq!(sent.len(), 50);
        for (i, (at, destination, header, payload)) in sent.iter().enumerate() {
            assert_eq!(*at, start + FRAME * i as u32);
            assert_eq!(*destination, sdp_remote(), "no latched source yet");
            assert_eq!(header.marker, i == 0);
            assert_eq!(header.payload_type, 0);
            assert_eq!(header.timestamp, 1_000 + 160 * i as u32);
            assert_eq!(payload.len(), 160);
        }
        assert_eq!(sent[0].2.sequence, FIRST_SEQUENCE);
        assert_one_stream(&sent);
        let heard = decoded(&sent);
        assert_eq!(heard, G711::Pcmu.decode(&G711::Pcmu.encode(&clip)));
        assert!(energy_share(&heard, 440.0, RATE) > 0.95);
        assert_eq!(events(&mut endpoint), [EndpointEvent::PlaybackFinished]);
        assert_eq!(endpoint.stats().packets_sent, 50);
    }

    #[test]
    fn queued_clips_play_back_to_back_and_a_later_clip_starts_a_new_talkspurt() {
        let (mut endpoint, start) = new_endpoint(None, false);
        endpoint.play(vec![1_000; 100].into());
        endpoint.play(vec![-1_000; 250].into());
        let first = run_until(&mut endpoint, start + Duration::from_secs(1));
        assert_eq!(first.len(), 3, "350 samples fill three frames");
        let heard = decoded(&first);
        let level = |sample| G711::Pcmu.decode_sample(G711::Pcmu.encode_sample(sample));
        assert!(heard[..100].iter().all(|&s| s == level(1_000)));
        assert!(heard[100..350].iter().all(|&s| s == level(-1_000)));
        assert!(heard[350..].iter().all(|&s| s == 0), "padded with silence");
        assert_eq!(events(&mut endpoint), [EndpointEvent::PlaybackFinished]);

        // A clip queued right away starts after the last frame ended.
        endpoint.play(vec![500; 160].into());
        let at_once = run_until(&mut endpoint, start + Duration::from_secs(1));
        // And one queued a second later is a second later on the RTP clock.
        let later = start + Duration::from_secs(2);
        endpoint.handle_timeout(later);
        endpoint.play(vec![500; 160].into());
        let after_silence = run_until(&mut endpoint, later + Duration::from_secs(1));
        let sent: Sent = first
            .into_iter()
            .chain(at_once)
            .chain(after_silence)
            .collect();
        assert_eq!(sent.len(), 5);
        assert_one_stream(&sent);
        assert_eq!(
            sent.iter()
                .map(|(_, _, header, _)| header.marker)
                .collect::<Vec<_>>(),
            [true, false, false, true, true]
        );
        assert_eq!(sent[3].0, start + 3 * FRAME);
        assert_eq!(sent[3].2.timestamp, sent[2].2.timestamp + 160);
        assert_eq!(sent[4].2.timestamp, sent[0].2.timestamp + 16_000);
        assert_eq!(
            events(&mut endpoint),
            [
                EndpointEvent::PlaybackFinished,
                EndpointEvent::PlaybackFinished
            ]
        );
    }

    #[test]
    fn stop_playing_empties_the_queue_at_once_without_finishing() {
        let (mut endpoint, start) = new_endpoint(None, false);
        endpoint.play(tone(&[440.0], Duration::from_secs(1)).into());
        endpoint.play(tone(&[880.0], Duration::from_secs(1)).into());
        let before = run_until(&mut endpoint, start + 5 * FRAME);
        assert_eq!(before.len(), 6);
        endpoint.stop_playing();
        assert_eq!(run_until(&mut endpoint, start + Duration::from_secs(3)), []);
        assert_eq!(events(&mut endpoint), []);
        endpoint.play(vec![7; 160].into());
        let next = run_until(&mut endpoint, start + Duration::from_secs(4));
        assert_eq!(next.len(), 1);
        assert!(next[0].2.marker);
        assert_eq!(events(&mut endpoint), [EndpointEvent::PlaybackFinished]);
    }

    #[test]
    fn echo_pauses_playback_which_resumes_where_it_stopped_in_the_same_stream() {
        let (mut endpoint, start) = new_endpoint(None, false);
        let clip: Arc<[i16]> = tone(&[440.0], Duration::from_millis(400)).into();
        endpoint.play(Arc::clone(&clip));
        let mut sent = run_until(&mut endpoint, start + 2 * FRAME);
        endpoint.set_echo(false);
        sent.extend(run_until(&mut endpoint, start + 5 * FRAME));
        assert_eq!(sent.len(), 6, "echo already off changes nothing");
        endpoint.set_echo(true);
        for i in 0..5u16 {
            let now = start + FRAME * u32::from(6 + i);
            endpoint
                .handle_rtp(now, phone(), &rtp(0, 0x1111, i, &[0x55; 160]))
                .unwrap();
            take_rtp(&mut endpoint, now, &mut sent);
            sent.extend(run_until(&mut endpoint, now));
        }
        assert_eq!(sent.len(), 11, "only echo while echo is on");
        endpoint.set_echo(false);
        sent.extend(run_until(&mut endpoint, start + Duration::from_secs(2)));
        assert_eq!(sent.len(), 6 + 5 + 14);
        assert_one_stream(&sent);
        let markers: Vec<_> = sent.iter().map(|(_, _, header, _)| header.marker).collect();
        assert!(
            markers[0] && markers[11],
            "each talkspurt starts with the marker"
        );
        assert_eq!(markers.iter().filter(|&&marker| marker).count(), 2);
        let played: Sent = sent[..6].iter().chain(&sent[11..]).cloned().collect();
        assert_eq!(
            decoded(&played),
            G711::Pcmu.decode(&G711::Pcmu.encode(&clip))
        );
        assert_eq!(events(&mut endpoint), [EndpointEvent::PlaybackFinished]);
    }

    #[test]
    fn late_frames_are_sent_in_a_burst_and_a_long_stall_starts_a_new_talkspurt() {
        let (mut endpoint, start) = new_endpoint(None, false);
        endpoint.play(tone(&[440.0], Duration::from_secs(1)).into());
        let mut sent = Vec::new();
        endpoint.handle_timeout(start);
        take_rtp(&mut endpoint, start, &mut sent);
        // Woken 70 ms late: the frames of 20, 40 and 60 ms go out at once.
        let late = start + Duration::from_millis(70);
        endpoint.handle_timeout(late);
        take_rtp(&mut endpoint, late, &mut sent);
        assert_eq!(sent.len(), 4);
        assert_one_stream(&sent);
        assert!(sent[1..].iter().all(|(_, _, header, _)| !header.marker));
        assert_eq!(sent[3].2.timestamp, sent[0].2.timestamp + 480);
        assert_eq!(endpoint.poll_timeout(), start + 4 * FRAME);
        // Stalled for half a second: the clip goes on in a new talkspurt.
        let stalled = late + Duration::from_millis(500);
        endpoint.handle_timeout(stalled);
        take_rtp(&mut endpoint, stalled, &mut sent);
        assert_eq!(sent.len(), 5);
        assert!(sent[4].2.marker);
        assert_eq!(sent[4].2.sequence, sent[3].2.sequence.wrapping_add(1));
        assert_eq!(sent[4].2.timestamp, sent[0].2.timestamp + 570 * 8);
        assert_eq!(endpoint.poll_timeout(), stalled + FRAME);
    }

    /// A key press of `digit` as the phone sends it: audio with the tones
    /// (100 ms, then 100 ms of silence) and, with `event_type`, RFC 4733
    /// telephone-events for the same press.
    fn press_key(
        endpoint: &mut Endpoint,
        start: Instant,
        digit: DtmfDigit,
        event_type: Option<u8>,
    ) {
        let (row, column) = digit.frequencies_hz();
        let mut audio = tone(&[row, column], Duration::from_millis(100));
        audio.resize(RATE.samples_in(Duration::from_millis(200)), 0);
        for (i, frame) in audio.chunks(160).enumerate() {
            let bytes = rtp(0, 0x1111, i as u16, &G711::Pcmu.encode(frame));
            endpoint
                .handle_rtp(start + FRAME * i as u32, phone(), &bytes)
                .unwrap();
        }
        let Some(payload_type) = event_type else {
            return;
        };
        let packets = TelephoneEventGenerator::new(RATE).packets(
            digit,
            Duration::from_millis(100),
            500,
            8_000,
        );
        for scheduled in packets {
            let bytes = RtpHeader {
                marker: scheduled.packet.marker,
                payload_type,
                sequence: scheduled.packet.sequence,
                timestamp: scheduled.packet.timestamp,
                ssrc: 0x1111,
            }
            .encode(&scheduled.packet.event.to_bytes());
            endpoint
                .handle_rtp(start + scheduled.send_after, phone(), &bytes)
                .unwrap();
        }
    }

    fn digits(events: &[EndpointEvent]) -> String {
        events
            .iter()
            .map(|event| match event {
                EndpointEvent::Dtmf(press) => press.digit.as_char(),
                EndpointEvent::PlaybackFinished => '-',
            })
            .collect()
    }

    #[test]
    fn telephone_events_are_key_presses_and_in_band_tones_are_not_heard_twice() {
        let (mut endpoint, start) = new_endpoint(Some(101), true);
        press_key(&mut endpoint, start, DtmfDigit::D5, Some(101));
        let events = events(&mut endpoint);
        assert_eq!(
            events,
            [EndpointEvent::Dtmf(Dtmf {
                digit: DtmfDigit::D5,
                duration: Duration::from_millis(100)
            })]
        );
    }

    #[test]
    fn in_band_tones_are_key_presses_when_asked_for() {
        let (mut endpoint, start) = new_endpoint(None, true);
        press_key(&mut endpoint, start, DtmfDigit::D7, None);
        press_key(
            &mut endpoint,
            start + Duration::from_secs(1),
            DtmfDigit::Pound,
            None,
        );
        assert_eq!(digits(&events(&mut endpoint)), "7#");

        let (mut deaf, start) = new_endpoint(None, false);
        press_key(&mut deaf, start, DtmfDigit::D7, None);
        assert_eq!(events(&mut deaf), [], "in-band detection is off");
    }

    #[test]
    fn rtcp_on_the_rtp_port_is_taken_by_the_leg_and_not_echoed() {
        let (mut endpoint, start) = new_endpoint(None, false);
        endpoint.set_echo(true);
        endpoint
            .handle_rtp(start, phone(), &rtp(0, 0x1111, 1, &[0; 160]))
            .unwrap();
        assert!(endpoint.poll_transmit().is_some());
        let report = RtcpReport {
            ssrc: 0x1111,
            sender: None,
            blocks: vec![],
        }
        .encode("phone");
        endpoint.handle_rtp(start, phone(), &report).unwrap();
        endpoint.handle_rtcp(start, addr(5001), &report).unwrap();
        assert_eq!(endpoint.poll_transmit(), None);
        assert_eq!(endpoint.stats().reports_received, 2);
    }

    proptest! {
        #[test]
        fn any_datagram_is_handled_without_panicking(
            datagrams in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..8)
        ) {
            let (mut endpoint, start) = new_endpoint(None, true);
            endpoint.set_echo(true);
            endpoint.play(vec![0; 100].into());
            for (i, datagram) in datagrams.iter().enumerate() {
                let now = start + FRAME * i as u32;
                let _ = endpoint.handle_rtp(now, phone(), datagram);
                let _ = endpoint.handle_rtcp(now, addr(5001), datagram);
                endpoint.set_echo(i % 2 == 0);
                endpoint.handle_timeout(now);
                while endpoint.poll_transmit().is_some() {}
                while endpoint.poll_event().is_some() {}
            }
        }
    }

    #[test]
    fn captured_audio_is_the_decoded_payload_with_its_arrival_time_while_capturing() {
        let (mut endpoint, start) = new_endpoint(Some(101), false);
        let tone_frame: Vec<i16> = tone(&[440.0], FRAME);
        let payload = G711::Pcmu.encode(&tone_frame);
        endpoint
            .handle_rtp(start, phone(), &rtp(0, 0x1111, 1, &payload))
            .unwrap();
        assert_eq!(
            endpoint.poll_captured(),
            None,
            "nothing kept before capture"
        );
        endpoint.set_capture(true);
        let later = start + FRAME;
        endpoint
            .handle_rtp(later, phone(), &rtp(0, 0x1111, 2, &payload))
            .unwrap();
        endpoint
            .handle_rtp(later, phone(), &rtp(101, 0x1111, 3, &[1, 0x0a, 0, 160]))
            .unwrap();
        let (at, pcm) = endpoint.poll_captured().expect("one frame");
        assert_eq!(at, later);
        assert_eq!(pcm, G711::Pcmu.decode(&payload));
        assert_eq!(
            endpoint.poll_captured(),
            None,
            "telephone-events are not audio"
        );
        endpoint.set_capture(false);
        endpoint
            .handle_rtp(later + FRAME, phone(), &rtp(0, 0x1111, 4, &payload))
            .unwrap();
        assert_eq!(endpoint.poll_captured(), None);
    }
}
