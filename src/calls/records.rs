//! One task writes every call's record: call tasks hand it
//! [`CallWrite`]s and go on, and it applies what queued up meanwhile in one
//! transaction — a busy node commits a few times a second instead of once
//! per write, and call tasks never fight over SQLite's single writer lock
//! (whose busy waits were the long tail of call setup under load). Writes
//! keep their order, per call and overall. A batch that fails is retried
//! write by write, so one bad write loses only itself. Writes a caller
//! must know are stored — a call's first row, which other tables refer to,
//! and its end, so that shutdown finishes every record — are awaited.

use tokio::sync::{mpsc, oneshot};

use crate::store::{CallWrite, Store};

/// The most writes one transaction takes.
const MAX_BATCH: usize = 512;

/// Hands writes to the writer task. Cheap to clone; the task ends when the
/// last clone is dropped and its queue is written.
#[derive(Clone)]
pub(crate) struct Records {
    jobs: mpsc::UnboundedSender<Job>,
}

struct Job {
    write: CallWrite,
    /// Told whether the write is stored, for awaited writes.
    stored: Option<oneshot::Sender<bool>>,
}

impl Records {
    /// Starts the writer task on `store`.
    pub fn start(store: Store) -> Self {
        let (jobs, queue) = mpsc::unbounded_channel();
        tokio::spawn(write_all(store, queue));
        Self { jobs }
    }

    /// Queues `write`; it is stored soon, after every write queued before.
    pub fn write(&self, write: CallWrite) {
        if self
            .jobs
            .send(Job {
                write,
                stored: None,
            })
            .is_err()
        {
            tracing::error!("the call records' writer stopped; a write is lost");
        }
    }

    /// Queues `writes` and waits until they are stored: true when every one
    /// of them was.
    pub async fn write_now(&self, writes: Vec<CallWrite>) -> bool {
        let mut answers = Vec::with_capacity(writes.len());
        for write in writes {
            let (stored, answer) = oneshot::channel();
            let job = Job {
                write,
                stored: Some(stored),
            };
            if self.jobs.send(job).is_err() {
                tracing::error!("the call records' writer stopped; a write is lost");
                return false;
            }
            answers.push(answer);
        }
        let mut all = true;
        for answer in answers {
            all &= answer.await.unwrap_or(false);
        }
        all
    }
}

/// The writer task: a batch of what is queued, one transaction, again.
async fn write_all(store: Store, mut queue: mpsc::UnboundedReceiver<Job>) {
    let mut batch = Vec::new();
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (writes, told): (Vec<CallWrite>, Vec<Option<oneshot::Sender<bool>>>) =
            batch.drain(..).map(|job| (job.write, job.stored)).unzip();
        metrics::histogram!("kefu_call_record_batch_writes").record(writes.len() as f64);
        let stored = match store.write_calls(&writes).await {
            Ok(()) => vec![true; writes.len()],
            Err(error) => {
                tracing::warn!(%error, writes = writes.len(), "a batch of call records failed; writing them one by one");
                let mut stored = Vec::with_capacity(writes.len());
                for write in &writes {
                    let one = store.write_calls(std::slice::from_ref(write)).await;
                    if let Err(error) = &one {
                        tracing::error!(%error, ?write, "cannot write a call record");
                    }
                    stored.push(one.is_ok());
                }
                stored
            }
        };
        for (stored, told) in stored.into_iter().zip(told) {
            if let Some(told) = told {
                let _ = told.send(stored);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DatabaseUrl;
    use crate::store::{Millis, new_call_id};

    fn create(id: &str) -> CallWrite {
        CallWrite::CreateCall {
            id: id.to_owned(),
            tenant_id: None,
            direction: "inbound".to_owned(),
            from_uri: "sip:a@b".to_owned(),
            to_uri: "sip:c@d".to_owned(),
            did: Some("4002".to_owned()),
            started_at: Millis(1),
        }
    }

    fn end(id: &str) -> CallWrite {
        CallWrite::End {
            call: id.to_owned(),
            at: Millis(9),
            reason: "caller_hangup".to_owned(),
        }
    }

    #[tokio::test]
    async fn writes_are_stored_in_order_and_a_bad_one_loses_only_itself() {
        let dir = tempfile::tempdir().unwrap();
        let url = DatabaseUrl::Sqlite(format!(
            "sqlite://{}/kefu.db?mode=rwc",
            dir.path().display()
        ));
        let store = Store::open(&url, 2).await.unwrap();
        let records = Records::start(store.clone());
        let (first, second) = (new_call_id(), new_call_id());
        records.write(create(&first));
        records.write(end(&first));
        let duplicate = records.write_now(vec![create(&first)]).await;
        assert!(!duplicate, "a second row with the same id is refused");
        assert!(records.write_now(vec![create(&second), end(&second)]).await);
        for id in [&first, &second] {
            let call = store.call(id).await.unwrap();
            assert_eq!(call.end_reason.as_deref(), Some("caller_hangup"), "{id}");
        }
    }
}
