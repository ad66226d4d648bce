//! `kefu-media`: kefu's RTP media engine.
//!
//! It will own RTP/RTCP sessions, the G.711 and Opus codecs, the jitter buffer,
//! DTMF (RFC 4733 and in-band), the prompt player and tone generator, the mixer
//! with its hear-matrix, recording taps and the WebRTC gateway. Protocol and signal
//! processing live in sans-IO structs; tokio only appears in a thin socket driver.
//! It does not know about SIP: call control in the `kefu` binary joins the two.
//!
//! What exists today, each a plain struct that takes samples, packets and the
//! current time as parameters and never touches a socket or a clock:
//!
//! - [`pcm`]: units ([`pcm::SampleRate`], the 20 ms frame);
//! - [`g711`]: µ-law and A-law codecs;
//! - [`resample`]: sample-rate conversion of whole clips and of 20 ms frames;
//! - [`opus`]: the Opus codec (libopus) with loss concealment and in-band
//!   FEC, at 48 kHz or through the resampler at 8 or 16 kHz;
//! - [`codec`]: a leg's codec (G.711 or Opus) and its decoder and encoder to
//!   and from 8 kHz PCM, which the endpoint, the relay's transcoding path,
//!   the conference and the recording tap all go through;
//! - [`goertzel`]: single-frequency power, shared by the DTMF detector and tests;
//! - [`tone`]: ringback, busy and other cadenced tones;
//! - [`prompt`]: WAV prompts converted once to the leg's rate and cached,
//!   text to speech through `espeak-ng`, and the player that queues prompts,
//!   tones and music on hold into 20 ms frames and stops on barge-in;
//! - [`dtmf`]: key presses from RFC 4733 telephone-events or from tones in the
//!   audio, both reported as [`dtmf::Dtmf`], and RFC 4733 generation;
//! - [`jitter`]: the adaptive jitter buffer with G.711 loss concealment;
//! - [`mixer`]: N-party mixing through a hear-matrix (supervisor monitor,
//!   whisper, barge);
//! - [`rtp`]: RTP/RTCP packets, RFC 3550 receive statistics, SSRC/sequence/
//!   timestamp rewriting, and the RTP leg with symmetric latching and strict
//!   source;
//! - [`relay`]: two legs bridged packet for packet without decoding when
//!   they share a codec, transcoded frame by frame when they do not (Opus
//!   and PCMU);
//! - [`conference`]: N legs that end in kefu mixed through a hear-matrix —
//!   a supervisor's monitor, whisper and barge on a caller and an agent —
//!   with jitter buffers in and one stream out per leg in its codec;
//! - [`endpoint`]: a leg that ends in kefu — echo test, prompts played as
//!   paced G.711 or Opus frames, key presses heard as RFC 4733 events or
//!   in-band tones;
//! - [`sdp`]: SDP offer/answer for the audio stream — parsing, codec and
//!   direction negotiation, our answers and offers;
//! - [`webrtc`]: the WebRTC gateway — a browser's ICE-lite, DTLS-SRTP audio
//!   session (on `str0m`) bridged packet for packet to a plain-RTP leg.
//!
//! [`driver`] is the exception, and the only module that uses tokio: RTP port
//! pairs from the configured range and one socket task per relayed call,
//! endpoint, conference or WebRTC gateway. [`prompt`]'s cache and text to speech read files and run
//! `espeak-ng`, blocking work for `spawn_blocking`, away from the 20 ms path.

pub mod codec;
pub mod conference;
pub mod driver;
pub mod dtmf;
pub mod endpoint;
pub mod g711;
pub mod goertzel;
pub mod jitter;
pub mod mixer;
pub mod opus;
pub mod pcm;
pub mod prompt;
pub mod relay;
pub mod resample;
pub mod rtp;
pub mod sdp;
pub mod tone;
pub mod webrtc;
