//! Contact-center figures computed from the stored contact log
//! ([`ContactOutcome`](crate::store::ContactOutcome)s): per queue, what was
//! offered, answered and abandoned, the service level and the average
//! speed of answer ([`Figures`]), for one span (today, on the wallboard) or
//! for each interval of the last hours ([`intervals`]). Pure: the caller
//! reads the outcomes and the queues' thresholds from the store.

mod figures;
pub mod intervals;

pub use figures::Figures;
pub use intervals::{Interval, QueueIntervals, Window};
