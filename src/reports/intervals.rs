//! Figures per queue for each interval of the last hours: a [`Window`] of
//! equal intervals aligned to the clock (UTC multiples of the interval), the
//! last one holding now; a contact counts in the interval it arrived in.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Serialize;
use utoipa::ToSchema;

use super::Figures;
use crate::store::{ContactOutcome, Millis};

/// Equal intervals from `from`, the last one holding the time it was made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Start of the first interval (Unix ms).
    pub from: i64,
    pub interval_ms: i64,
    pub count: usize,
}

impl Window {
    /// The intervals covering at least `span` back from `now`.
    pub fn last(now: Millis, span: Duration, interval: Duration) -> Window {
        let interval_ms = i64::try_from(interval.as_millis())
            .unwrap_or(i64::MAX)
            .max(1);
        let span_ms = i64::try_from(span.as_millis()).unwrap_or(i64::MAX);
        let count = span_ms.div_euclid(interval_ms) + i64::from(span_ms % interval_ms != 0);
        let to = now.0.div_euclid(interval_ms).saturating_add(1) * interval_ms;
        Window {
            from: to.saturating_sub(count.saturating_mul(interval_ms)),
            interval_ms,
            count: usize::try_from(count).unwrap_or(0),
        }
    }

    /// End of the last interval (Unix ms).
    pub fn to(&self) -> i64 {
        self.from
            .saturating_add(self.interval_ms.saturating_mul(self.count as i64))
    }

    fn index(&self, at: i64) -> Option<usize> {
        if at < self.from || at >= self.to() {
            return None;
        }
        usize::try_from((at - self.from) / self.interval_ms).ok()
    }
}

/// One interval's figures.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct Interval {
    /// Start of the interval (Unix ms).
    pub start: i64,
    #[serde(flatten)]
    pub figures: Figures,
}

/// A queue's figures per interval.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QueueIntervals {
    pub queue: String,
    pub service_level_secs: i64,
    pub intervals: Vec<Interval>,
}

/// The figures of every queue in `queues` (name, service-level threshold in
/// seconds) for every interval of `window`; contacts of other queues or
/// outside the window are left out.
pub fn per_queue(
    window: Window,
    queues: &[(String, i64)],
    outcomes: &[ContactOutcome],
) -> Vec<QueueIntervals> {
    let mut buckets: BTreeMap<&str, Vec<Vec<&ContactOutcome>>> = queues
        .iter()
        .map(|(name, _)| (name.as_str(), vec![Vec::new(); window.count]))
        .collect();
    for outcome in outcomes {
        if let (Some(queue), Some(index)) = (
            buckets.get_mut(outcome.queue.as_str()),
            window.index(outcome.created_at),
        ) {
            queue[index].push(outcome);
        }
    }
    queues
        .iter()
        .map(|(name, service_level_secs)| QueueIntervals {
            queue: name.clone(),
            service_level_secs: *service_level_secs,
            intervals: buckets
                .remove(name.as_str())
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, contacts)| Interval {
                    start: window.from + window.interval_ms * i as i64,
                    figures: Figures::of(contacts, *service_level_secs),
                })
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINUTE: i64 = 60_000;

    #[test]
    fn the_window_is_aligned_to_the_interval_and_ends_with_the_current_one() {
        let now = Millis(10 * 60 * MINUTE + 7 * MINUTE);
        let window = Window::last(now, Duration::from_secs(3600), Duration::from_secs(900));
        assert_eq!(window.count, 4);
        assert_eq!(window.to(), 10 * 60 * MINUTE + 15 * MINUTE);
        assert_eq!(window.from, 9 * 60 * MINUTE + 15 * MINUTE);
        let uneven = Window::last(now, Duration::from_secs(3600), Duration::from_secs(25 * 60));
        assert_eq!(uneven.count, 3, "a partial interval is a whole one");
    }

    #[test]
    fn contacts_count_in_the_interval_they_arrived_in_per_queue() {
        let window = Window {
            from: 0,
            interval_ms: 15 * MINUTE,
            count: 2,
        };
        let contact = |queue: &str, at: i64, answered: Option<i64>| ContactOutcome {
            queue: queue.into(),
            created_at: at,
            answered_at: answered,
            abandoned_at: None,
        };
        let outcomes = [
            contact("sales", -1, Some(0)),
            contact("sales", 0, Some(10_000)),
            contact("sales", 15 * MINUTE - 1, Some(20 * MINUTE)),
            contact("sales", 15 * MINUTE, None),
            contact("support", 29 * MINUTE, Some(30 * MINUTE)),
            contact("sales", 30 * MINUTE, Some(30 * MINUTE)),
            contact("other", MINUTE, None),
        ];
        let queues = [("sales".to_owned(), 20), ("support".to_owned(), 30)];
        let report = per_queue(window, &queues, &outcomes);
        let offered = |q: usize| -> Vec<u64> {
            report[q]
                .intervals
                .iter()
                .map(|i| i.figures.offered)
                .collect()
        };
        assert_eq!(offered(0), [2, 1]);
        assert_eq!(offered(1), [0, 1]);
        let first = &report[0].intervals[0];
        assert_eq!(first.start, 0);
        assert_eq!(first.figures.answered_within_sl, 1);
        assert_eq!(first.figures.service_level, Some(0.5));
        assert_eq!(report[0].intervals[1].start, 15 * MINUTE);
        assert_eq!(report[1].service_level_secs, 30);
    }
}
