//! The time alignment of the two sides of a call, in samples, with no file and
//! no clock: frames are placed at the sample position their timestamp gives,
//! and committed stereo samples come out interleaved, caller left, agent right.
//!
//! Placement rules, per side, against the end of what that side already has:
//! - a frame that starts within the *tolerance* of the end is appended as is
//!   (timestamp jitter does not cut the audio);
//! - a frame that starts further ahead leaves a gap that becomes silence
//!   (lost, dropped or never sent audio keeps the side in step with wall clock);
//! - a frame that starts further back is late or a duplicate: the part that
//!   overlaps audio already placed (or already written) is dropped and only a
//!   new tail, if any, is appended — audio is never rewritten;
//! - a frame starting more than the *max lead* past the commit point is dropped
//!   (a bogus timestamp must not make the recorder buffer hours of silence).
//!
//! Committing up to a position takes each side's audio up to there, silence
//! for what a side has not sent, and silence on both sides inside pauses.

use std::collections::VecDeque;
use std::ops::Range;

/// Which party of the call a frame belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Side {
    /// The caller (customer), recorded in the left channel.
    Caller,
    /// The agent, recorded in the right channel.
    Agent,
}

impl Side {
    fn channel(self) -> usize {
        match self {
            Self::Caller => 0,
            Self::Agent => 1,
        }
    }
}

/// Both sides' pending audio from the commit point on, and the pauses.
#[derive(Debug)]
pub(crate) struct Timeline {
    committed: u64,
    tracks: [VecDeque<i16>; 2],
    paused_since: Option<u64>,
    pauses: Vec<Range<u64>>,
    tolerance: u64,
    max_lead: u64,
}

impl Timeline {
    /// `tolerance` and `max_lead` are in samples; see the module doc.
    pub(crate) fn new(tolerance: u64, max_lead: u64) -> Self {
        Self {
            committed: 0,
            tracks: [VecDeque::new(), VecDeque::new()],
            paused_since: None,
            pauses: Vec::new(),
            tolerance,
            max_lead,
        }
    }

    /// Sample positions before this one have been committed.
    pub(crate) fn committed(&self) -> u64 {
        self.committed
    }

    /// The position just after the last sample either side has placed.
    pub(crate) fn placed_end(&self) -> u64 {
        self.committed
            + self
                .tracks
                .iter()
                .map(|t| t.len() as u64)
                .max()
                .unwrap_or(0)
    }

    /// Places `samples` of `side` starting at sample position `start`.
    pub(crate) fn place(&mut self, side: Side, start: u64, samples: &[i16]) {
        if start > self.committed.saturating_add(self.max_lead) {
            return;
        }
        let track = &mut self.tracks[side.channel()];
        let end = self.committed + track.len() as u64;
        if start > end + self.tolerance {
            let gap = usize::try_from(start - end).unwrap_or(usize::MAX);
            track.extend(std::iter::repeat_n(0, gap));
            track.extend(samples);
        } else if start + self.tolerance >= end {
            track.extend(samples);
        } else {
            let overlap = usize::try_from(end - start).unwrap_or(usize::MAX);
            if let Some(tail) = samples.get(overlap..) {
                track.extend(tail);
            }
        }
    }

    /// Silences both sides from `position` (or the commit point, if later:
    /// what is written stays written). Pausing while paused changes nothing.
    pub(crate) fn pause(&mut self, position: u64) {
        if self.paused_since.is_none() {
            self.paused_since = Some(position.max(self.committed));
        }
    }

    /// Ends the pause at `position` (or the commit point, if later, because
    /// silence was already written up to there). Resuming while not paused
    /// changes nothing.
    pub(crate) fn resume(&mut self, position: u64) {
        if let Some(since) = self.paused_since.take() {
            let end = position.max(self.committed).max(since);
            if end > since {
                self.pauses.push(since..end);
            }
        }
    }

    /// Commits every position up to `target` and returns the interleaved
    /// stereo samples (left = caller, right = agent). Nothing if `target` is
    /// not past the commit point.
    pub(crate) fn commit(&mut self, target: u64) -> Vec<i16> {
        let frames = usize::try_from(target.saturating_sub(self.committed)).unwrap_or(0);
        let mut stereo = Vec::with_capacity(frames * 2);
        for position in self.committed..self.committed + frames as u64 {
            let muted = self.is_paused_at(position);
            for track in &mut self.tracks {
                let sample = track.pop_front().unwrap_or(0);
                stereo.push(if muted { 0 } else { sample });
            }
        }
        self.committed += frames as u64;
        stereo
    }

    /// Ends a pause still open at `end` and returns every pause, in order,
    /// cut at `end` (the end of the recording).
    pub(crate) fn close_pauses(&mut self, end: u64) -> Vec<Range<u64>> {
        self.resume(end);
        self.pauses
            .iter()
            .filter(|pause| pause.start < end)
            .map(|pause| pause.start..pause.end.min(end))
            .collect()
    }

    fn is_paused_at(&self, position: u64) -> bool {
        self.paused_since.is_some_and(|since| position >= since)
            || self.pauses.iter().any(|pause| pause.contains(&position))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timeline() -> Timeline {
        Timeline::new(2, 100)
    }

    fn left(stereo: &[i16]) -> Vec<i16> {
        stereo.iter().step_by(2).copied().collect()
    }

    fn right(stereo: &[i16]) -> Vec<i16> {
        stereo.iter().skip(1).step_by(2).copied().collect()
    }

    #[test]
    fn caller_goes_left_and_agent_right() {
        let mut line = timeline();
        line.place(Side::Caller, 0, &[1, 2, 3]);
        line.place(Side::Agent, 0, &[-1, -2, -3]);
        assert_eq!(line.commit(3), vec![1, -1, 2, -2, 3, -3]);
    }

    #[test]
    fn a_side_that_sent_nothing_is_silent() {
        let mut line = timeline();
        line.place(Side::Agent, 0, &[5, 5, 5, 5]);
        let stereo = line.commit(4);
        assert_eq!(left(&stereo), vec![0, 0, 0, 0]);
        assert_eq!(right(&stereo), vec![5, 5, 5, 5]);
    }

    #[test]
    fn a_gap_beyond_the_tolerance_becomes_silence_and_keeps_alignment() {
        let mut line = timeline();
        line.place(Side::Caller, 0, &[1, 1]);
        line.place(Side::Caller, 6, &[2, 2]);
        line.place(Side::Agent, 0, &[9; 8]);
        let stereo = line.commit(8);
        assert_eq!(left(&stereo), vec![1, 1, 0, 0, 0, 0, 2, 2]);
        assert_eq!(right(&stereo), vec![9; 8]);
    }

    #[test]
    fn jitter_within_the_tolerance_does_not_cut_the_audio() {
        let mut line = timeline();
        line.place(Side::Caller, 0, &[1, 1, 1]);
        line.place(Side::Caller, 5, &[2, 2]);
        line.place(Side::Caller, 4, &[3]);
        assert_eq!(left(&line.commit(6)), vec![1, 1, 1, 2, 2, 3]);
    }

    #[test]
    fn a_duplicate_frame_is_dropped() {
        let mut line = timeline();
        line.place(Side::Caller, 0, &[1, 2, 3, 4, 5, 6]);
        line.place(Side::Caller, 0, &[1, 2, 3, 4, 5, 6]);
        assert_eq!(
            left(&line.commit(12)),
            vec![1, 2, 3, 4, 5, 6, 0, 0, 0, 0, 0, 0]
        );
    }

    #[test]
    fn a_late_frame_only_adds_its_new_tail() {
        let mut line = timeline();
        line.place(Side::Caller, 0, &[1, 1, 1, 1, 1, 1]);
        line.place(Side::Caller, 2, &[7, 7, 7, 7, 8, 8]);
        assert_eq!(left(&line.commit(8)), vec![1, 1, 1, 1, 1, 1, 8, 8]);
    }

    #[test]
    fn audio_for_already_committed_time_is_dropped() {
        let mut line = timeline();
        line.commit(10);
        line.place(Side::Caller, 0, &[4; 12]);
        assert_eq!(left(&line.commit(12)), vec![4, 4]);
    }

    #[test]
    fn a_frame_too_far_ahead_is_dropped() {
        let mut line = timeline();
        line.place(Side::Caller, 101, &[1]);
        assert_eq!(line.placed_end(), 0);
        line.place(Side::Caller, 100, &[1]);
        assert_eq!(line.placed_end(), 101);
    }

    #[test]
    fn a_pause_silences_both_sides_and_is_recorded() {
        let mut line = timeline();
        line.place(Side::Caller, 0, &[1; 10]);
        line.place(Side::Agent, 0, &[2; 10]);
        line.pause(3);
        line.resume(7);
        let stereo = line.commit(10);
        assert_eq!(left(&stereo), vec![1, 1, 1, 0, 0, 0, 0, 1, 1, 1]);
        assert_eq!(right(&stereo), vec![2, 2, 2, 0, 0, 0, 0, 2, 2, 2]);
        assert_eq!(line.close_pauses(10), vec![3..7]);
    }

    #[test]
    fn a_late_pause_starts_at_the_commit_point_and_a_late_resume_ends_there() {
        let mut line = timeline();
        line.place(Side::Caller, 0, &[1; 8]);
        line.commit(4);
        line.pause(2);
        line.pause(3);
        line.place(Side::Caller, 8, &[1; 4]);
        assert_eq!(left(&line.commit(10)), vec![0; 6]);
        line.resume(6);
        assert_eq!(left(&line.commit(12)), vec![1, 1]);
        assert_eq!(line.close_pauses(12), vec![4..10]);
    }

    #[test]
    fn a_pause_still_open_at_the_end_is_closed_there() {
        let mut line = timeline();
        line.resume(1);
        line.pause(5);
        assert_eq!(line.close_pauses(9), vec![5..9]);
    }

    #[test]
    fn pauses_are_cut_at_the_end_of_the_recording() {
        let mut line = timeline();
        line.pause(2);
        line.resume(8);
        line.pause(10);
        line.resume(12);
        assert_eq!(line.close_pauses(5), vec![2..5]);
    }

    #[derive(Debug, Clone)]
    enum Step {
        Place { agent: bool, start: u64, len: usize },
        Commit(u64),
        Pause(u64),
        Resume(u64),
    }

    fn step() -> impl proptest::strategy::Strategy<Value = Step> {
        use proptest::prelude::*;
        prop_oneof![
            4 => (any::<bool>(), 0..3_000u64, 0..200usize)
                .prop_map(|(agent, start, len)| Step::Place { agent, start, len }),
            2 => (0..3_000u64).prop_map(Step::Commit),
            1 => (0..3_000u64).prop_map(Step::Pause),
            1 => (0..3_000u64).prop_map(Step::Resume),
        ]
    }

    proptest::proptest! {
        /// Whatever arrives, in any order: time is committed exactly once,
        /// no side's audio is reordered or duplicated, and pauses are silent.
        #[test]
        fn audio_is_never_reordered_or_duplicated_and_pauses_are_silent(
            steps in proptest::collection::vec(step(), 0..40)
        ) {
            let mut line = Timeline::new(20, 1_000);
            let mut next_sample = [1i16, 1i16];
            let mut output = Vec::new();
            for step in steps {
                match step {
                    Step::Place { agent, start, len } => {
                        let side = if agent { Side::Agent } else { Side::Caller };
                        let first = next_sample[side.channel()];
                        let samples: Vec<i16> = (0..len as i16).map(|n| first + n).collect();
                        next_sample[side.channel()] += len as i16;
                        line.place(side, start, &samples);
                    }
                    Step::Commit(target) => {
                        let before = line.committed();
                        let stereo = line.commit(target);
                        proptest::prop_assert_eq!(stereo.len() as u64, 2 * target.saturating_sub(before));
                        output.extend(stereo);
                    }
                    Step::Pause(position) => line.pause(position),
                    Step::Resume(position) => line.resume(position),
                }
            }
            let end = line.placed_end();
            output.extend(line.commit(end));
            proptest::prop_assert_eq!(output.len() as u64, 2 * line.committed());
            for side in [left(&output), right(&output)] {
                let voiced: Vec<i16> = side.into_iter().filter(|&s| s != 0).collect();
                proptest::prop_assert!(voiced.windows(2).all(|pair| pair[0] < pair[1]));
            }
            for pause in line.close_pauses(line.committed()) {
                for position in pause {
                    let index = usize::try_from(position).unwrap();
                    proptest::prop_assert_eq!(&output[2 * index..2 * index + 2], &[0, 0]);
                }
            }
        }
    }
}
