//! The conference: N legs that end in kefu and hear each other through a
//! [`Mixer`] — the call of a caller and an agent once a supervisor joins to
//! monitor, whisper or barge ([`crate::mixer::SupervisorMode`]). Each
//! participant is an [`RtpLeg`] (latching, strict source, RTCP, statistics
//! and RFC 4733 key presses are the leg's) with its negotiated codec
//! ([`LegCodec`]: G.711, or Opus) and audio payload type. The conference owns
//! what lies between the legs:
//!
//! - **In**: an accepted packet of the participant's audio payload type is
//!   decoded to 8 kHz by the participant's [`Transcoder`] and goes through
//!   its [`PcmJitterBuffer`], which conceals losses. Other payload types
//!   (telephone-events, comfort noise) are not mixed, and neither is audio
//!   that is not one 20 ms frame or cannot be decoded (both counted).
//! - **Mix**: every 20 ms ([`Conference::poll_timeout`]) one frame per
//!   participant is taken from its buffer (none when it is silent or
//!   missing), mixed with the current [`HearMatrix`] — changed live with
//!   [`Conference::set_matrix`], the mixer fades — and each participant's
//!   mix leaves on its leg in its own codec, silence included, so every peer
//!   receives one steady stream: its leg's SSRC, consecutive sequence
//!   numbers, timestamps on the leg's RTP clock (8 kHz for G.711, 48 kHz
//!   for Opus) of the frame's due time, the
//!   marker bit on the first frame and after a stall longer than
//!   [`MAX_FRAME_LATENESS`] (frames less late than that are mixed in a
//!   burst and keep their place on the clock, as the endpoint's playback).
//! - **Tap** ([`Conference::set_tap`]): the audio of participant 0 (the
//!   caller) and participant 1 (the agent), decoded as it arrives and placed
//!   by its RTP timestamps exactly as the relay's tap does, so the call's
//!   stereo recording goes on unchanged while a supervisor listens.
//!
//! The mixer runs at 8 kHz whatever the legs' codecs; an Opus leg's audio is
//! resampled on the way in and out by its codec, and a leg whose clock rate
//! is not its codec's is refused. Sans-IO like the legs: the driver
//! passes datagrams with the participant they arrived for, source
//! addresses and the time, sends what [`Conference::poll_transmit`] returns
//! from that participant's ports, and calls [`Conference::handle_timeout`]
//! when [`Conference::poll_timeout`] is due.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::{Instant, SystemTime};

use crate::codec::{CodecError, LegCodec, PCM_RATE, Transcoder};
use crate::dtmf::Dtmf;
use crate::endpoint::MAX_FRAME_LATENESS;
use crate::jitter::{Arrival, Frame, JitterConfig, JitterStats, PcmJitterBuffer, Playout};
use crate::mixer::{HearMatrix, Mixer, MixerError};
use crate::pcm::{FRAME_DURATION, SampleRate};
use crate::relay::{Side, Tap, TappedFrame};
use crate::rtp::leg::{LegConfig, LegStats, Rejected, RtpLeg, Transmit};
use crate::rtp::packet::{RtpHeader, RtpPacket, is_rtcp};

/// Most participants in one conference; the mix costs the square of it.
pub const MAX_PARTICIPANTS: usize = 16;

/// The rate the mixer runs at.
const RATE: SampleRate = PCM_RATE;

/// One participant as negotiated: its leg, codec and audio payload type
/// (the leg's `telephone_event` is read for key presses, not mixed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Participant {
    pub leg: LegConfig,
    pub codec: LegCodec,
    pub payload_type: u8,
}

/// Why a conference could not be set up or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ConferenceError {
    #[error("a conference has 1 to {MAX_PARTICIPANTS} participants, not {0}")]
    ParticipantCount(usize),
    #[error("participant {participant}'s leg runs at {hz} Hz, not its codec's clock rate")]
    ClockRate { participant: usize, hz: u32 },
    #[error("participant {participant}'s codec: {error}")]
    Codec {
        participant: usize,
        error: CodecError,
    },
    #[error("participant {participant} does not exist in a conference of {participants}")]
    UnknownParticipant {
        participant: usize,
        participants: usize,
    },
    #[error("a recording tap needs a caller (participant 0) and an agent (participant 1)")]
    NoCallerAndAgent,
    #[error(transparent)]
    Mixer(#[from] MixerError),
}

/// Why a received RTP packet is not mixed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotMixed {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error("participant {0} does not exist")]
    UnknownParticipant(usize),
    #[error("payload type {0} is not the participant's audio")]
    NotAudio(u8),
    #[error("{got} bytes of audio; the conference mixes 20 ms frames of {expected}")]
    FrameLength { expected: usize, got: usize },
    #[error("the packet's frame was already mixed")]
    Late,
    #[error("the packet's frame is already buffered")]
    Duplicate,
    #[error("the audio payload could not be decoded")]
    Undecodable,
}

/// One participant's figures: its leg's, its jitter buffer's, and the
/// audio packets that were not one 20 ms frame or could not be decoded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ParticipantStats {
    pub leg: LegStats,
    pub jitter: JitterStats,
    pub wrong_frame_length: u64,
    pub undecodable: u64,
}

/// A participant inside the conference.
#[derive(Debug)]
struct Member {
    leg: RtpLeg,
    /// The leg's SSRC: mixed frames carry it into the leg's outgoing stream.
    ssrc: u32,
    /// The leg's RTP clock rate, which timestamps what it sends.
    clock_rate: SampleRate,
    transcoder: Transcoder,
    payload_type: u8,
    jitter: PcmJitterBuffer,
    /// The SSRC of the audio in the jitter buffer; another one (a
    /// transfer, a re-INVITE) is another stream and starts it over.
    source: Option<u32>,
    wrong_frame_length: u64,
    undecodable: u64,
}

/// N participants mixed through a hear-matrix; see the module doc.
#[derive(Debug)]
pub struct Conference {
    members: Vec<Member>,
    mixer: Mixer,
    /// Frame timestamps count the samples since the start.
    started: Instant,
    /// When the next frame is due.
    next_frame: Instant,
    /// The next frame starts a talkspurt: the first one, and after a stall.
    marker: bool,
    /// Sequence number of the next frame, in the conference's own numbering,
    /// which each leg maps onto its outgoing stream.
    sequence: u16,
    /// Per participant, the frame taken from its jitter buffer and whether
    /// there was one.
    inputs: Vec<Vec<i16>>,
    present: Vec<bool>,
    /// Per participant, what it hears.
    outputs: Vec<Vec<i16>>,
    encoded: Vec<u8>,
    rtp_out: VecDeque<(usize, Transmit)>,
    tap: Option<Tap>,
}

impl Conference {
    /// A conference starting at `now`, when the wall clock reads `wall`,
    /// mixed with `matrix` (one row and column per participant, in order);
    /// its first frame is due at `now`.
    pub fn new(
        participants: Vec<Participant>,
        matrix: HearMatrix,
        now: Instant,
        wall: SystemTime,
    ) -> Result<Self, ConferenceError> {
        let count = participants.len();
        if !(1..=MAX_PARTICIPANTS).contains(&count) {
            return Err(ConferenceError::ParticipantCount(count));
        }
        if matrix.participants() != count {
            return Err(MixerError::ParticipantCount {
                expected: count,
                got: matrix.participants(),
            }
            .into());
        }
        let mut members = Vec::with_capacity(count);
        for (index, participant) in participants.into_iter().enumerate() {
            let clock_rate = participant.leg.clock_rate;
            if participant.codec.check_clock_rate(clock_rate).is_err() {
                return Err(ConferenceError::ClockRate {
                    participant: index,
                    hz: clock_rate.hz(),
                });
            }
            let transcoder =
                Transcoder::new(participant.codec).map_err(|error| ConferenceError::Codec {
                    participant: index,
                    error,
                })?;
            members.push(Member {
                ssrc: participant.leg.ssrc,
                leg: RtpLeg::new(participant.leg, now, wall),
                clock_rate,
                transcoder,
                payload_type: participant.payload_type,
                jitter: PcmJitterBuffer::new(clock_rate, JitterConfig::default()),
                source: None,
                wrong_frame_length: 0,
                undecodable: 0,
            });
        }
        let frame = || Vec::with_capacity(RATE.frame_len());
        Ok(Self {
            members,
            mixer: Mixer::new(matrix, RATE),
            started: now,
            next_frame: now,
            marker: true,
            sequence: 0,
            inputs: (0..count).map(|_| frame()).collect(),
            present: vec![false; count],
            outputs: (0..count).map(|_| frame()).collect(),
            encoded: Vec::with_capacity(RATE.frame_len()),
            rtp_out: VecDeque::new(),
            tap: None,
        })
    }

    /// How many participants there are.
    pub fn participants(&self) -> usize {
        self.members.len()
    }

    /// Starts decoding the caller's (participant 0) and the agent's
    /// (participant 1) audio for a recorder ([`Self::poll_tap`]).
    pub fn set_tap(&mut self) -> Result<(), ConferenceError> {
        let [caller, agent, ..] = self.members.as_slice() else {
            return Err(ConferenceError::NoCallerAndAgent);
        };
        self.tap = Some(Tap::new([
            (caller.payload_type, caller.clock_rate),
            (agent.payload_type, agent.clock_rate),
        ]));
        Ok(())
    }

    /// The next decoded caller or agent frame for the recorder, oldest first.
    pub fn poll_tap(&mut self) -> Option<TappedFrame> {
        self.tap.as_mut()?.poll()
    }

    /// Takes a datagram received on `participant`'s RTP port from
    /// `source`: RTP is checked by the leg and its audio buffered for the
    /// mix; RTCP (rtcp-mux) goes to the leg.
    pub fn handle_rtp(
        &mut self,
        participant: usize,
        now: Instant,
        source: SocketAddr,
        datagram: &[u8],
    ) -> Result<(), NotMixed> {
        let member = self
            .members
            .get_mut(participant)
            .ok_or(NotMixed::UnknownParticipant(participant))?;
        if is_rtcp(datagram) {
            return Ok(member.leg.handle_rtcp(now, source, datagram)?);
        }
        let header = member.leg.handle_rtp(now, source, datagram)?.header;
        if header.payload_type != member.payload_type {
            return Err(NotMixed::NotAudio(header.payload_type));
        }
        let packet = RtpPacket::parse(datagram).map_err(Rejected::MalformedRtp)?;
        let mut samples = Vec::with_capacity(RATE.frame_len());
        if member
            .transcoder
            .decoder
            .decode_into(packet.payload, &mut samples)
            .is_err()
        {
            member.undecodable += 1;
            return Err(NotMixed::Undecodable);
        }
        if let Some(tap) = &mut self.tap {
            if let Some(side) = tapped_side(participant) {
                tap.take(side, now, &header, &samples);
            }
        }
        let expected = RATE.frame_len();
        if samples.len() != expected {
            member.wrong_frame_length += 1;
            return Err(NotMixed::FrameLength {
                expected,
                got: samples.len(),
            });
        }
        if member.source.is_some_and(|source| source != header.ssrc) {
            member.jitter.start_over();
        }
        member.source = Some(header.ssrc);
        let frame = Frame {
            timestamp: header.timestamp,
            samples,
        };
        match member.jitter.push(header.sequence, frame, now) {
            Arrival::Buffered => Ok(()),
            Arrival::Late => Err(NotMixed::Late),
            Arrival::Duplicate => Err(NotMixed::Duplicate),
        }
    }

    /// Takes an RTCP packet received on `participant`'s RTCP port.
    pub fn handle_rtcp(
        &mut self,
        participant: usize,
        now: Instant,
        source: SocketAddr,
        packet: &[u8],
    ) -> Result<(), NotMixed> {
        let member = self
            .members
            .get_mut(participant)
            .ok_or(NotMixed::UnknownParticipant(participant))?;
        Ok(member.leg.handle_rtcp(now, source, packet)?)
    }

    /// When [`Self::handle_timeout`] is next due: the next frame, an RTCP
    /// report, or a key press whose end packets were lost.
    pub fn poll_timeout(&self) -> Instant {
        self.members
            .iter()
            .map(|member| member.leg.poll_timeout())
            .fold(self.next_frame, Instant::min)
    }

    /// Mixes and sends the frames that are due and runs the legs' timers.
    pub fn handle_timeout(&mut self, now: Instant) {
        for member in &mut self.members {
            member.leg.handle_timeout(now);
        }
        while self.next_frame <= now {
            let due = if now - self.next_frame > MAX_FRAME_LATENESS {
                self.marker = true;
                now
            } else {
                self.next_frame
            };
            self.mix_frame(due);
            self.next_frame = due + FRAME_DURATION;
        }
    }

    /// The next packet to send and whose ports it leaves from: mixed audio
    /// from the RTP port, RTCP from the port the transmit says.
    pub fn poll_transmit(&mut self) -> Option<(usize, Transmit)> {
        self.rtp_out.pop_front().or_else(|| {
            self.members
                .iter_mut()
                .enumerate()
                .find_map(|(participant, member)| Some((participant, member.leg.poll_transmit()?)))
        })
    }

    /// The next key press a participant's peer finished (RFC 4733 events).
    pub fn poll_dtmf(&mut self) -> Option<(usize, Dtmf)> {
        self.members
            .iter_mut()
            .enumerate()
            .find_map(|(participant, member)| Some((participant, member.leg.poll_dtmf()?)))
    }

    /// Who hears whom from the next frame on; the changes fade over it.
    pub fn set_matrix(&mut self, matrix: HearMatrix) -> Result<(), ConferenceError> {
        Ok(self.mixer.set_matrix(matrix)?)
    }

    /// Who hears whom.
    pub fn matrix(&self) -> &HearMatrix {
        self.mixer.matrix()
    }

    /// `participant`'s peer moved (re-INVITE, transfer): see [`RtpLeg::repoint`].
    pub fn repoint(
        &mut self,
        participant: usize,
        now: Instant,
        remote: Option<SocketAddr>,
    ) -> Result<(), ConferenceError> {
        let participants = self.members.len();
        let member =
            self.members
                .get_mut(participant)
                .ok_or(ConferenceError::UnknownParticipant {
                    participant,
                    participants,
                })?;
        member.leg.repoint(now, remote);
        Ok(())
    }

    /// `participant`'s figures now.
    pub fn stats(&self, participant: usize) -> Option<ParticipantStats> {
        self.members
            .get(participant)
            .map(|member| ParticipantStats {
                leg: member.leg.stats(),
                jitter: member.jitter.stats(),
                wrong_frame_length: member.wrong_frame_length,
                undecodable: member.undecodable,
            })
    }

    /// Every participant's figures now, in order.
    pub fn all_stats(&self) -> Vec<ParticipantStats> {
        (0..self.members.len())
            .filter_map(|participant| self.stats(participant))
            .collect()
    }

    /// Takes one frame from every jitter buffer, mixes, and queues each
    /// participant's mix as the frame due at `due`.
    fn mix_frame(&mut self, due: Instant) {
        for ((member, input), present) in self
            .members
            .iter_mut()
            .zip(&mut self.inputs)
            .zip(&mut self.present)
        {
            *present = match member.jitter.pop(due) {
                Playout::Packet(frame) | Playout::Concealed(frame) => {
                    *input = frame.samples;
                    true
                }
                Playout::Silence => false,
            };
        }
        let mut sources: [Option<&[i16]>; MAX_PARTICIPANTS] = [None; MAX_PARTICIPANTS];
        for (source, (input, &present)) in sources
            .iter_mut()
            .zip(self.inputs.iter().zip(&self.present))
        {
            *source = present.then_some(input.as_slice());
        }
        // Counts and frame lengths are checked on the way in; should the
        // mixer refuse all the same, the frame is skipped, not sent stale.
        if self
            .mixer
            .mix(&sources[..self.members.len()], &mut self.outputs)
            .is_err()
        {
            return;
        }
        let since_start = due.saturating_duration_since(self.started);
        for (participant, (member, heard)) in self.members.iter_mut().zip(&self.outputs).enumerate()
        {
            // The mixer gives 20 ms frames, what every encoder takes.
            if member
                .transcoder
                .encoder
                .encode_into(heard, &mut self.encoded)
                .is_err()
            {
                continue;
            }
            // Wraps with the RTP clock, as timestamps do.
            let timestamp = member.clock_rate.samples_in(since_start) as u32;
            let header = RtpHeader {
                marker: self.marker,
                payload_type: member.payload_type,
                sequence: self.sequence,
                timestamp,
                ssrc: member.ssrc,
            };
            let mut packet = header.encode(&self.encoded);
            let destination = member.leg.prepare_send(
                due,
                &header,
                member.payload_type,
                &mut packet,
                self.encoded.len(),
            );
            if let Some(destination) = destination {
                self.rtp_out.push_back((
                    participant,
                    Transmit {
                        destination,
                        payload: packet,
                        from_rtp_port: true,
                    },
                ));
            }
        }
        self.sequence = self.sequence.wrapping_add(1);
        self.marker = false;
    }
}

/// The recording side of a participant: the caller is 0, the agent 1.
fn tapped_side(participant: usize) -> Option<Side> {
    match participant {
        0 => Some(Side::Caller),
        1 => Some(Side::Agent),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::g711::G711;
    use crate::goertzel::energy_share;
    use crate::mixer::{CallRole, SupervisorMode};
    use crate::rtp::leg::Latching;
    use crate::tone::{ToneGenerator, TonePlan};
    use proptest::prelude::*;
    use std::time::Duration;

    const FRAME: Duration = FRAME_DURATION;
    /// Caller, agent and supervisor each speak their own tone.
    const TONES_HZ: [f64; 3] = [440.0, 1_000.0, 1_800.0];
    const FIRST_SEQUENCE: u16 = 65_530;

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([192, 0, 2, 1], port))
    }

    /// Where participant `p`'s phone is, per SDP and in fact.
    fn phone(p: usize) -> SocketAddr {
        addr(4_000 + 10 * p as u16)
    }

    fn leg_ssrc(p: usize) -> u32 {
        0xC0F0_0000 + p as u32
    }

    fn participant(p: usize, codec: G711) -> Participant {
        Participant {
            leg: LegConfig {
                remote: Some(phone(p)),
                latching: Latching::Symmetric {
                    relatch_window: Duration::ZERO,
                },
                telephone_event: Some(101),
                ..LegConfig::new(leg_ssrc(p), FIRST_SEQUENCE, 1_000 * p as u32)
            },
            codec: codec.into(),
            payload_type: codec.payload_type(),
        }
    }

    /// The law of each participant of [`supervised`].
    const LAWS: [G711; 3] = [G711::Pcmu, G711::Pcma, G711::Pcmu];

    /// A supervised call: caller and supervisor on µ-law, the agent on A-law.
    fn supervised(mode: SupervisorMode) -> (Conference, Instant) {
        let start = Instant::now();
        let participants = vec![
            participant(0, G711::Pcmu),
            participant(1, G711::Pcma),
            participant(2, G711::Pcmu),
        ];
        let conference =
            Conference::new(participants, mode.hear_matrix(), start, SystemTime::now()).unwrap();
        (conference, start)
    }

    fn audio(codec: G711, ssrc: u32, frame: u16, pcm: &[i16]) -> Vec<u8> {
        RtpHeader {
            marker: false,
            payload_type: codec.payload_type(),
            sequence: frame,
            timestamp: u32::from(frame).wrapping_mul(160),
            ssrc,
        }
        .encode(&codec.encode(pcm))
    }

    /// RTP a participant's phone received: header and decoded audio.
    type Heard = Vec<(RtpHeader, Vec<i16>)>;

    /// Three phones speaking their tones into the conference, 20 ms apart.
    struct Call {
        conference: Conference,
        start: Instant,
        voices: Vec<ToneGenerator>,
        frames: u16,
        heard: [Heard; 3],
    }

    impl Call {
        fn new(mode: SupervisorMode) -> Self {
            let (conference, start) = supervised(mode);
            let voice = |hz| ToneGenerator::new(TonePlan::steady(&[hz], -12.0), RATE);
            Self {
                conference,
                start,
                voices: TONES_HZ.iter().map(|&hz| voice(hz)).collect(),
                frames: 0,
                heard: Default::default(),
            }
        }

        /// Every phone sends `frames` frames, one each 20 ms, while the
        /// conference runs as a driver would run it.
        fn speak(&mut self, frames: u16) {
            for _ in 0..frames {
                let now = self.start + FRAME * u32::from(self.frames);
                for (p, voice) in self.voices.iter_mut().enumerate() {
                    let codec = LAWS[p];
                    let packet = audio(codec, 0x1000 + p as u32, self.frames, &voice.next_frame());
                    self.conference
                        .handle_rtp(p, now, phone(p), &packet)
                        .unwrap();
                }
                run_until(&mut self.conference, now, &mut self.heard);
                self.frames += 1;
            }
        }

        /// The tones `role` heard in its last `frames` frames.
        fn tones_heard_by(&self, role: CallRole, frames: usize) -> Vec<f64> {
            let heard = &self.heard[role.index()];
            let pcm: Vec<i16> = heard[heard.len() - frames..]
                .iter()
                .flat_map(|(_, pcm)| pcm.iter().copied())
                .collect();
            tones_in(&pcm)
        }
    }

    fn tones_in(pcm: &[i16]) -> Vec<f64> {
        TONES_HZ
            .into_iter()
            .filter(|&hz| {
                let share = energy_share(pcm, hz, RATE);
                assert!(
                    !(0.02..=0.3).contains(&share),
                    "ambiguous share {share} at {hz} Hz"
                );
                share > 0.3
            })
            .collect()
    }

    /// Runs the conference's timers until `end` and decodes what it sends.
    fn run_until(conference: &mut Conference, end: Instant, heard: &mut [Heard; 3]) {
        loop {
            let due = conference.poll_timeout();
            if due > end {
                break;
            }
            conference.handle_timeout(due);
        }
        while let Some((p, transmit)) = conference.poll_transmit() {
            if !transmit.from_rtp_port {
                continue;
            }
            assert_eq!(transmit.destination, phone(p));
            let packet = RtpPacket::parse(&transmit.payload).unwrap();
            let pcm = LAWS[p].decode(packet.payload);
            heard[p].push((packet.header, pcm));
        }
    }

    fn assert_one_stream(heard: &Heard, ssrc: u32) {
        assert_eq!(heard[0].0.sequence, FIRST_SEQUENCE);
        for pair in heard.windows(2) {
            let (previous, next) = (&pair[0].0, &pair[1].0);
            assert_eq!(next.ssrc, ssrc);
            assert_eq!(next.sequence, previous.sequence.wrapping_add(1));
            assert_eq!(next.timestamp, previous.timestamp.wrapping_add(160));
            assert!(!next.marker);
        }
    }

    use CallRole::{Agent, Caller, Supervisor};
    const CALLER_HZ: f64 = TONES_HZ[0];
    const AGENT_HZ: f64 = TONES_HZ[1];
    const SUPERVISOR_HZ: f64 = TONES_HZ[2];

    #[test]
    fn monitor_lets_the_supervisor_hear_both_and_nobody_hear_the_supervisor() {
        let mut call = Call::new(SupervisorMode::Monitor);
        call.speak(50);
        assert_eq!(call.tones_heard_by(Caller, 25), [AGENT_HZ]);
        assert_eq!(call.tones_heard_by(Agent, 25), [CALLER_HZ]);
        assert_eq!(call.tones_heard_by(Supervisor, 25), [CALLER_HZ, AGENT_HZ]);
    }

    #[test]
    fn whisper_lets_only_the_agent_hear_the_supervisor() {
        let mut call = Call::new(SupervisorMode::Whisper);
        call.speak(50);
        assert_eq!(call.tones_heard_by(Caller, 25), [AGENT_HZ]);
        assert_eq!(call.tones_heard_by(Agent, 25), [CALLER_HZ, SUPERVISOR_HZ]);
        assert_eq!(call.tones_heard_by(Supervisor, 25), [CALLER_HZ, AGENT_HZ]);
    }

    #[test]
    fn switching_to_barge_live_lets_the_caller_hear_the_supervisor_in_the_same_streams() {
        let mut call = Call::new(SupervisorMode::Monitor);
        call.speak(50);
        assert_eq!(call.tones_heard_by(Caller, 25), [AGENT_HZ]);
        call.conference
            .set_matrix(SupervisorMode::Barge.hear_matrix())
            .unwrap();
        assert_eq!(
            call.conference.matrix(),
            &SupervisorMode::Barge.hear_matrix()
        );
        call.speak(25);
        assert_eq!(call.tones_heard_by(Caller, 25), [AGENT_HZ, SUPERVISOR_HZ]);
        assert_eq!(call.tones_heard_by(Agent, 25), [CALLER_HZ, SUPERVISOR_HZ]);
        for (p, heard) in call.heard.iter().enumerate() {
            assert_eq!(heard.len(), 75, "one frame each 20 ms, silence included");
            assert!(heard[0].0.marker);
            assert_one_stream(heard, leg_ssrc(p));
            assert_eq!(heard[0].0.timestamp, 1_000 * p as u32);
        }
        let stats = call.conference.stats(0).unwrap();
        assert_eq!(stats.leg.packets_received, 75);
        assert_eq!(stats.leg.packets_sent, 75);
        assert!(stats.jitter.played > 60);
    }

    #[test]
    fn a_silent_conference_still_sends_each_leg_a_steady_stream_and_a_stall_starts_a_new_talkspurt()
    {
        let (mut conference, start) = supervised(SupervisorMode::Barge);
        let mut heard: [Heard; 3] = Default::default();
        run_until(&mut conference, start + FRAME * 9, &mut heard);
        // Woken 50 ms late: the frames of 200, 220 and 240 ms are mixed at once.
        let late = start + Duration::from_millis(250);
        conference.handle_timeout(late);
        run_until(&mut conference, late, &mut heard);
        assert_eq!(conference.poll_timeout(), start + FRAME * 13);
        for (p, heard) in heard.iter().enumerate() {
            assert_eq!(heard.len(), 13);
            assert_one_stream(heard, leg_ssrc(p));
            // A-law has no zero: its quietest level decodes to ±8.
            assert!(
                heard
                    .iter()
                    .all(|(_, pcm)| pcm.iter().all(|&s| s.abs() <= 8))
            );
        }
        // Stalled for half a second: a new talkspurt, later on the clock.
        let stalled = start + Duration::from_millis(760);
        conference.handle_timeout(stalled);
        run_until(&mut conference, stalled, &mut heard);
        let [last, before] = [&heard[1][13].0, &heard[1][12].0];
        assert!(last.marker);
        assert_eq!(last.sequence, before.sequence.wrapping_add(1));
        assert_eq!(last.timestamp, heard[1][0].0.timestamp + 760 * 8);
        assert_eq!(conference.poll_timeout(), stalled + FRAME);
    }

    #[test]
    fn the_tap_decodes_the_caller_and_the_agent_as_they_arrive_but_not_the_supervisor() {
        let mut call = Call::new(SupervisorMode::Monitor);
        call.conference.set_tap().unwrap();
        call.speak(10);
        let tapped: Vec<TappedFrame> = std::iter::from_fn(|| call.conference.poll_tap()).collect();
        assert_eq!(tapped.len(), 20);
        for (i, frame) in tapped.iter().enumerate() {
            let side = if i % 2 == 0 {
                Side::Caller
            } else {
                Side::Agent
            };
            assert_eq!(frame.side, side);
            assert_eq!(frame.at, call.start + FRAME * (i / 2) as u32);
            assert_eq!(frame.pcm.len(), 160);
            let hz = if side == Side::Caller {
                CALLER_HZ
            } else {
                AGENT_HZ
            };
            assert!(energy_share(&frame.pcm, hz, RATE) > 0.9);
        }
    }

    #[test]
    fn bad_packets_are_dropped_and_counted_and_never_mixed() {
        let mut call = Call::new(SupervisorMode::Barge);
        let now = call.start;
        let caller = phone(0);
        let tone = ToneGenerator::new(TonePlan::steady(&[CALLER_HZ], -12.0), RATE).next_frame();
        let conference = &mut call.conference;
        conference
            .handle_rtp(0, now, caller, &audio(G711::Pcmu, 1, 0, &tone))
            .unwrap();
        assert!(matches!(
            conference.handle_rtp(0, now, caller, &[0x80, 0x00, 0x01]),
            Err(NotMixed::Rejected(Rejected::MalformedRtp(_)))
        ));
        assert!(matches!(
            conference.handle_rtp(0, now, addr(9_999), &audio(G711::Pcmu, 6, 1, &tone)),
            Err(NotMixed::Rejected(Rejected::ForeignSource { .. }))
        ));
        assert_eq!(
            conference.handle_rtp(0, now, caller, &audio(G711::Pcmu, 1, 1, &tone[..80])),
            Err(NotMixed::FrameLength {
                expected: 160,
                got: 80
            })
        );
        let event = RtpHeader {
            marker: true,
            payload_type: 101,
            sequence: 2,
            timestamp: 320,
            ssrc: 1,
        }
        .encode(&[5, 0x0A, 0, 160]);
        assert_eq!(
            conference.handle_rtp(0, now, caller, &event),
            Err(NotMixed::NotAudio(101))
        );
        assert_eq!(
            conference.handle_rtp(0, now, caller, &audio(G711::Pcmu, 1, 0, &tone)),
            Err(NotMixed::Duplicate)
        );
        assert_eq!(
            conference.handle_rtp(3, now, caller, &audio(G711::Pcmu, 1, 3, &tone)),
            Err(NotMixed::UnknownParticipant(3))
        );
        let stats = conference.stats(0).unwrap();
        assert_eq!(stats.leg.malformed, 1);
        assert_eq!(stats.leg.foreign_dropped, 1);
        assert_eq!(stats.wrong_frame_length, 1);
        assert_eq!(stats.jitter.received, 2);
        assert_eq!(stats.jitter.duplicates, 1);
        assert_eq!(conference.stats(3), None);
        assert_eq!(conference.all_stats().len(), 3);
    }

    #[test]
    fn a_repointed_participant_is_heard_from_and_sent_to_at_its_new_address() {
        let (mut conference, start) = supervised(SupervisorMode::Barge);
        let moved = addr(7_000);
        let silence = [0; 160];
        conference
            .handle_rtp(1, start, phone(1), &audio(G711::Pcma, 1, 0, &silence))
            .unwrap();
        conference.repoint(1, start, Some(moved)).unwrap();
        conference
            .handle_rtp(1, start, moved, &audio(G711::Pcma, 2, 0, &silence))
            .unwrap();
        assert!(matches!(
            conference.handle_rtp(1, start, phone(1), &audio(G711::Pcma, 1, 1, &silence)),
            Err(NotMixed::Rejected(Rejected::ForeignSource { .. }))
        ));
        conference.handle_timeout(start);
        let destinations: Vec<_> = std::iter::from_fn(|| conference.poll_transmit())
            .map(|(p, transmit)| (p, transmit.destination))
            .collect();
        assert_eq!(destinations, [(0, phone(0)), (1, moved), (2, phone(2))]);
        assert_eq!(
            conference.stats(1).unwrap().jitter.restarts,
            1,
            "the new phone's stream starts the buffer over"
        );
        assert_eq!(
            conference.repoint(5, start, None),
            Err(ConferenceError::UnknownParticipant {
                participant: 5,
                participants: 3
            })
        );
    }

    #[test]
    fn a_conference_needs_a_matching_matrix_8_khz_legs_and_a_caller_and_agent_to_tap() {
        let start = Instant::now();
        let wall = SystemTime::now();
        let one = || vec![participant(0, G711::Pcmu)];
        assert_eq!(
            Conference::new(one(), HearMatrix::everyone(2), start, wall).err(),
            Some(ConferenceError::Mixer(MixerError::ParticipantCount {
                expected: 1,
                got: 2
            }))
        );
        assert_eq!(
            Conference::new(vec![], HearMatrix::everyone(0), start, wall).err(),
            Some(ConferenceError::ParticipantCount(0))
        );
        let mut wideband = participant(1, G711::Pcmu);
        wideband.leg.clock_rate = SampleRate::WIDEBAND;
        assert_eq!(
            Conference::new(
                vec![participant(0, G711::Pcmu), wideband],
                HearMatrix::everyone(2),
                start,
                wall
            )
            .err(),
            Some(ConferenceError::ClockRate {
                participant: 1,
                hz: 16_000
            })
        );
        let mut alone = Conference::new(one(), HearMatrix::everyone(1), start, wall).unwrap();
        assert_eq!(alone.set_tap(), Err(ConferenceError::NoCallerAndAgent));
        assert!(matches!(
            alone.set_matrix(HearMatrix::everyone(3)),
            Err(ConferenceError::Mixer(MixerError::ParticipantCount { .. }))
        ));
    }

    proptest! {
        #[test]
        fn any_datagram_is_handled_without_panicking(
            datagrams in proptest::collection::vec(
                (0..4usize, proptest::collection::vec(any::<u8>(), 0..400)),
                1..12,
            )
        ) {
            let (mut conference, start) = supervised(SupervisorMode::Whisper);
            conference.set_tap().unwrap();
            for (i, (p, datagram)) in datagrams.iter().enumerate() {
                let now = start + FRAME * i as u32;
                let _ = conference.handle_rtp(*p, now, phone(*p), datagram);
                let _ = conference.handle_rtcp(*p, now, phone(*p), datagram);
                conference.handle_timeout(now);
                while conference.poll_transmit().is_some() {}
                while conference.poll_tap().is_some() {}
                while conference.poll_dtmf().is_some() {}
            }
        }
    }
}
