//! `kefu-recordings`: call recordings as files.
//!
//! It will own the crash-safe stereo WAV writer (caller left, agent right), the
//! on-disk layout `DATA_DIR/recordings/YYYY/MM/DD/<call-id>.wav`, recording
//! metadata, pause/resume, retention sweeps and access-checked streaming. It
//! depends on nothing else of kefu's.
