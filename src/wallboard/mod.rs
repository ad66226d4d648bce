//! The supervisor wallboard's live picture of one tenant ([`Board`]): its
//! queues with live figures and today's ([`QueueTile`]), its agents with
//! state and time in state, and its bridged calls with who supervises them.
//! A [`Wallboard`] is one viewer's copy: it reads the picture from the ACD,
//! [`LiveCalls`] and the store, and answers a full [`Frame::Snapshot`]
//! first and then only what changed ([`Frame::Update`]). When to read again
//! is the caller's business (the supervisor WebSocket does it on change
//! notices, a few times a second at most). Today's figures come from the
//! stored contacts since midnight in the viewer's time zone, read at most
//! every [`TODAY_EVERY`]. The page itself is served with the other static
//! files ([`crate::http::web`]).

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::calls::{LiveCalls, SupervisionView};
use crate::reports::Figures;
use crate::routing::{AcdHandle, AgentStatus, QueueStatus, RoutingError};
use crate::store::{Call, ContactOutcome, Millis, Store, StoreError};

/// Today's figures are read from the store at most this often.
pub const TODAY_EVERY: Duration = Duration::from_secs(2);

/// A queue's tile.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueTile {
    pub name: String,
    pub open: bool,
    /// Contacts waiting or being offered.
    pub waiting: usize,
    /// How long the longest-waiting one has waited, at the frame's `at`.
    pub longest_wait_ms: u64,
    /// Expected wait of the last one in line.
    pub expected_wait_ms: u64,
    pub agents_logged_in: usize,
    /// Logged-in members by state.
    pub agents: BTreeMap<String, usize>,
    pub service_level_secs: i64,
    /// Since midnight in the viewer's time zone.
    pub today: Figures,
}

impl QueueTile {
    fn of(status: QueueStatus, today: Figures) -> Self {
        QueueTile {
            name: status.name,
            open: status.open,
            waiting: status.waiting,
            longest_wait_ms: status.longest_wait_ms,
            expected_wait_ms: status.expected_wait_ms,
            agents_logged_in: status.agents_logged_in,
            agents: status.agents_by_state,
            service_level_secs: status.service_level_secs,
            today,
        }
    }

    /// Equal but for the waits, which grow by themselves (viewers count
    /// them on from the frame's time).
    fn same(&self, other: &Self) -> bool {
        let still = |tile: &Self| QueueTile {
            longest_wait_ms: 0,
            expected_wait_ms: 0,
            ..tile.clone()
        };
        still(self) == still(other)
    }
}

/// A bridged call's row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CallRow {
    /// The call record's id (for `POST /api/v1/calls/{id}/supervise`).
    pub id: String,
    /// Who called (the user part of the From URI).
    pub caller: String,
    pub did: Option<String>,
    pub queue: Option<String>,
    /// The extension of the agent on the call.
    pub agent: Option<String>,
    /// When the call was bridged (Unix ms).
    pub since: i64,
    pub supervision: Option<SupervisionView>,
}

/// Everything a wallboard shows.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Board {
    pub queues: Vec<QueueTile>,
    pub agents: Vec<AgentStatus>,
    pub calls: Vec<CallRow>,
}

/// What a viewer is sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Frame {
    /// The whole picture, first.
    Snapshot {
        /// When it was read (Unix ms).
        at: i64,
        /// The time zone "today" is counted in.
        time_zone: String,
        #[serde(flatten)]
        board: Board,
    },
    /// What changed since the last frame; absent lists are empty.
    Update {
        at: i64,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        queues: Vec<QueueTile>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        agents: Vec<AgentStatus>,
        /// New or changed calls.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        calls: Vec<CallRow>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        queues_removed: Vec<String>,
        /// Extensions.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        agents_removed: Vec<String>,
        /// Ids of calls that ended.
        #[serde(skip_serializing_if = "Vec::is_empty")]
        calls_ended: Vec<String>,
    },
}

/// Why the picture could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BoardError {
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where the picture comes from.
#[derive(Clone)]
pub struct Sources {
    pub acd: AcdHandle,
    pub calls: LiveCalls,
    pub store: Store,
}

/// One viewer's wallboard of one tenant. See the [module docs](self).
pub struct Wallboard {
    tenant_id: String,
    time_zone: jiff::tz::TimeZone,
    shown: Option<Board>,
    today: BTreeMap<String, Figures>,
    today_read: Option<Instant>,
    /// Call records of bridged calls, read once (again while no agent shows).
    records: HashMap<String, Call>,
}

impl Wallboard {
    pub fn new(tenant_id: String, time_zone: jiff::tz::TimeZone) -> Self {
        Wallboard {
            tenant_id,
            time_zone,
            shown: None,
            today: BTreeMap::new(),
            today_read: None,
            records: HashMap::new(),
        }
    }

    /// The tenant's id.
    pub fn tenant_id(&self) -> &str {
        &self.tenant_id
    }

    /// The whole picture, now.
    pub async fn snapshot(&mut self, sources: &Sources) -> Result<Frame, BoardError> {
        self.read_today(&sources.store).await?;
        let board = self.read(sources).await?;
        self.shown = Some(board.clone());
        Ok(Frame::Snapshot {
            at: Millis::now().0,
            time_zone: self.time_zone.iana_name().unwrap_or("UTC").to_owned(),
            board,
        })
    }

    /// What changed since the last frame, if anything; today's figures are
    /// read again first when `today` (callers wait for
    /// [`Self::today_due`]).
    pub async fn update(
        &mut self,
        sources: &Sources,
        today: bool,
    ) -> Result<Option<Frame>, BoardError> {
        if today {
            self.read_today(&sources.store).await?;
        }
        let board = self.read(sources).await?;
        let before = self.shown.replace(board.clone()).unwrap_or_default();
        let (queues, queues_removed) =
            changed(&before.queues, &board.queues, |q| &q.name, QueueTile::same);
        let (agents, agents_removed) = changed(
            &before.agents,
            &board.agents,
            |a| &a.extension,
            PartialEq::eq,
        );
        let (calls, calls_ended) = changed(&before.calls, &board.calls, |c| &c.id, PartialEq::eq);
        if queues.is_empty()
            && agents.is_empty()
            && calls.is_empty()
            && queues_removed.is_empty()
            && agents_removed.is_empty()
            && calls_ended.is_empty()
        {
            return Ok(None);
        }
        Ok(Some(Frame::Update {
            at: Millis::now().0,
            queues,
            agents,
            calls,
            queues_removed,
            agents_removed,
            calls_ended,
        }))
    }

    /// Whether [`TODAY_EVERY`] has passed since today's figures were read.
    pub fn today_due(&self) -> bool {
        self.today_read.is_none_or(|at| at.elapsed() >= TODAY_EVERY)
    }

    async fn read_today(&mut self, store: &Store) -> Result<(), StoreError> {
        let now = jiff::Timestamp::now();
        let midnight = now
            .to_zoned_datetime(self.time_zone.clone())
            .start_of_day()
            .map_or(now.as_millisecond(), |day| day.timestamp().as_millisecond());
        let outcomes = store
            .contact_outcomes(&self.tenant_id, Millis(midnight), Millis(i64::MAX))
            .await?;
        let mut by_queue: BTreeMap<&str, Vec<&ContactOutcome>> = BTreeMap::new();
        for outcome in &outcomes {
            by_queue.entry(&outcome.queue).or_default().push(outcome);
        }
        let thresholds: BTreeMap<String, i64> = store
            .queues(&self.tenant_id)
            .await?
            .into_iter()
            .map(|q| (q.name, q.service_level_secs))
            .collect();
        self.today = thresholds
            .iter()
            .map(|(name, secs)| {
                let contacts = by_queue.remove(name.as_str()).unwrap_or_default();
                (name.clone(), Figures::of(contacts, *secs))
            })
            .collect();
        self.today_read = Some(Instant::now());
        Ok(())
    }

    async fn read(&mut self, sources: &Sources) -> Result<Board, BoardError> {
        let queues = sources
            .acd
            .queues(&self.tenant_id)
            .await?
            .into_iter()
            .map(|status| {
                let today = self.today.get(&status.name).copied().unwrap_or_default();
                QueueTile::of(status, today)
            })
            .collect();
        let agents = sources.acd.agents(&self.tenant_id).await?;
        let live = sources.calls.calls_of(&self.tenant_id);
        self.records
            .retain(|id, _| live.iter().any(|call| &call.id == id));
        let mut calls = Vec::with_capacity(live.len());
        for call in live {
            let known = self.records.get(&call.id).filter(|r| r.agent.is_some());
            let record = match known {
                Some(record) => record.clone(),
                None => match sources.store.call(&call.id).await {
                    Ok(record) => {
                        self.records.insert(call.id.clone(), record.clone());
                        record
                    }
                    // Ended between the listing and now.
                    Err(StoreError::NotFound { .. }) => continue,
                    Err(error) => return Err(error.into()),
                },
            };
            calls.push(CallRow {
                caller: caller_of(&record.from_uri),
                did: record.did,
                queue: record.queue,
                agent: record.agent,
                since: call.bridged_at,
                supervision: call.supervision,
                id: call.id,
            });
        }
        Ok(Board {
            queues,
            agents,
            calls,
        })
    }
}

/// The rows of `now` that are new or differ from `before`, and the keys of
/// those gone.
fn changed<T: Clone>(
    before: &[T],
    now: &[T],
    key: impl Fn(&T) -> &String,
    same: impl Fn(&T, &T) -> bool,
) -> (Vec<T>, Vec<String>) {
    let old: HashMap<&String, &T> = before.iter().map(|row| (key(row), row)).collect();
    let fresh: Vec<T> = now
        .iter()
        .filter(|row| !old.get(key(row)).is_some_and(|was| same(was, row)))
        .cloned()
        .collect();
    let keys: std::collections::HashSet<&String> = now.iter().map(&key).collect();
    let gone = before
        .iter()
        .map(&key)
        .filter(|k| !keys.contains(k))
        .cloned()
        .collect();
    (fresh, gone)
}

/// The user part of a SIP URI (`sip:+8613800000000@host;tag` → the
/// number), else the text as it is.
fn caller_of(uri: &str) -> String {
    let bare = uri.trim().trim_start_matches('<');
    let rest = bare
        .strip_prefix("sips:")
        .or_else(|| bare.strip_prefix("sip:"))
        .or_else(|| bare.strip_prefix("tel:"))
        .unwrap_or(bare);
    let user = rest
        .split(['@', ';', '>'])
        .next()
        .filter(|user| !user.is_empty());
    user.unwrap_or(uri).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tile(name: &str, waiting: usize, longest: u64) -> QueueTile {
        QueueTile {
            name: name.into(),
            open: true,
            waiting,
            longest_wait_ms: longest,
            expected_wait_ms: longest,
            agents_logged_in: 1,
            agents: BTreeMap::new(),
            service_level_secs: 20,
            today: Figures::default(),
        }
    }

    #[test]
    fn only_new_changed_and_gone_rows_are_sent() {
        let before = [tile("a", 1, 10), tile("b", 0, 0), tile("c", 0, 0)];
        let now = [tile("a", 1, 900), tile("b", 2, 0), tile("d", 0, 0)];
        let (fresh, gone) = changed(&before, &now, |q| &q.name, QueueTile::same);
        let names: Vec<&str> = fresh.iter().map(|q| q.name.as_str()).collect();
        assert_eq!(names, ["b", "d"], "a wait that only grew is not news");
        assert_eq!(gone, ["c"]);
    }

    #[test]
    fn callers_are_the_user_part_of_their_uri() {
        assert_eq!(
            caller_of("sip:+8613800000000@10.0.0.1:5060"),
            "+8613800000000"
        );
        assert_eq!(caller_of("<sips:alice@example.com>;tag=1"), "alice");
        assert_eq!(caller_of("tel:4000"), "4000");
        assert_eq!(caller_of("sip:@host"), "sip:@host");
        assert_eq!(caller_of(""), "");
    }
}
