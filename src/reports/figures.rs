//! [`Figures`]: the standard queue figures of a set of contacts.

use serde::Serialize;
use utoipa::ToSchema;

use crate::store::ContactOutcome;

/// What happened to the contacts a queue was offered in some span.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, ToSchema)]
pub struct Figures {
    /// Contacts that entered the queue.
    pub offered: u64,
    /// Of them, those an agent took.
    pub answered: u64,
    /// Of them, those whose customer left before an agent took them.
    pub abandoned: u64,
    /// Answered within the queue's service-level threshold.
    pub answered_within_sl: u64,
    /// `answered_within_sl / offered`; none when nothing was offered.
    pub service_level: Option<f64>,
    /// Average speed of answer in ms (wait of the answered ones); none when
    /// nothing was answered.
    pub asa_ms: Option<u64>,
}

impl Figures {
    /// The figures of `outcomes` for a queue whose threshold is
    /// `service_level_secs`.
    pub fn of<'a>(
        outcomes: impl IntoIterator<Item = &'a ContactOutcome>,
        service_level_secs: i64,
    ) -> Figures {
        let threshold = service_level_secs.saturating_mul(1000);
        let mut figures = Figures::default();
        let mut waited: u64 = 0;
        for outcome in outcomes {
            figures.offered += 1;
            if let Some(answered_at) = outcome.answered_at {
                let wait = answered_at.saturating_sub(outcome.created_at).max(0);
                figures.answered += 1;
                waited = waited.saturating_add(u64::try_from(wait).unwrap_or(0));
                if wait <= threshold {
                    figures.answered_within_sl += 1;
                }
            } else if outcome.abandoned_at.is_some() {
                figures.abandoned += 1;
            }
        }
        figures.service_level = (figures.offered > 0)
            .then(|| figures.answered_within_sl as f64 / figures.offered as f64);
        figures.asa_ms = waited.checked_div(figures.answered);
        figures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome(created_at: i64, answered: Option<i64>, abandoned: Option<i64>) -> ContactOutcome {
        ContactOutcome {
            queue: "sales".into(),
            created_at,
            answered_at: answered.map(|wait| created_at + wait),
            abandoned_at: abandoned.map(|wait| created_at + wait),
        }
    }

    #[test]
    fn service_level_counts_answers_within_the_threshold_over_everything_offered() {
        let outcomes = [
            outcome(0, Some(5_000), None),
            outcome(0, Some(20_000), None),
            outcome(0, Some(21_000), None),
            outcome(0, None, Some(3_000)),
            outcome(0, None, None),
        ];
        let figures = Figures::of(&outcomes, 20);
        assert_eq!(
            figures,
            Figures {
                offered: 5,
                answered: 3,
                abandoned: 1,
                answered_within_sl: 2,
                service_level: Some(0.4),
                asa_ms: Some(15_333),
            }
        );
    }

    #[test]
    fn nothing_offered_has_no_service_level_and_no_speed_of_answer() {
        let figures = Figures::of(&[], 20);
        assert_eq!(figures.service_level, None);
        assert_eq!(figures.asa_ms, None);
        let abandoned = Figures::of(&[outcome(0, None, Some(1))], 20);
        assert_eq!(abandoned.service_level, Some(0.0));
        assert_eq!(abandoned.asa_ms, None);
    }
}
