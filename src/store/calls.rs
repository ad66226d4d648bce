//! Call detail records: one `calls` row per call from its first INVITE, and one
//! `call_legs` row per SIP dialog kefu held for it. Call control writes them
//! as [`CallWrite`]s, many in one transaction ([`Store::write_calls`]).

use serde::Serialize;
use utoipa::ToSchema;

use sqlx::AnyConnection;

use super::{Millis, Store, StoreError, found, new_id};

/// A call about to be recorded.
#[derive(Debug, Clone)]
pub struct NewCall<'a> {
    pub tenant_id: Option<&'a str>,
    /// `inbound`, `outbound` or `internal`.
    pub direction: &'a str,
    pub from_uri: &'a str,
    pub to_uri: &'a str,
    pub did: Option<&'a str>,
    pub started_at: Millis,
}

/// A call's CDR row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Call {
    pub id: String,
    pub tenant_id: Option<String>,
    pub direction: String,
    pub from_uri: String,
    pub to_uri: String,
    pub did: Option<String>,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub end_reason: Option<String>,
    /// The IVR flow the call ran, and its version.
    pub flow_name: Option<String>,
    pub flow_version: Option<i64>,
    /// The flow's nodes the call visited, in order, comma-separated.
    pub flow_path: Option<String>,
    /// The keys the caller pressed in the flow, in order.
    pub digits: Option<String>,
    /// The ACD contact a queued call became, and the queue's name.
    pub contact_id: Option<String>,
    pub queue: Option<String>,
    /// The extension of the agent who took the queued call.
    pub agent: Option<String>,
    /// How long the caller waited in the queue for that agent, in ms.
    pub wait_ms: Option<i64>,
    /// How long the caller and the agent talked, in ms.
    pub talk_ms: Option<i64>,
    /// The Reason (RFC 3326) the peer gave on the CANCEL or BYE that ended
    /// the call, e.g. `Q.850;cause=16;text="Normal call clearing"`.
    pub hangup_cause: Option<String>,
    /// What the IVR flow had set when the call was queued — webhook
    /// replies (a CRM's data), `set` nodes — as a JSON object of strings.
    #[schema(value_type = Option<Object>)]
    #[serde(serialize_with = "json_object")]
    pub variables: Option<String>,
}

/// Writes stored JSON text as the JSON it holds (null when unreadable).
fn json_object<S: serde::Serializer>(text: &Option<String>, out: S) -> Result<S::Ok, S::Error> {
    let value = text
        .as_deref()
        .and_then(|text| serde_json::from_str::<serde_json::Value>(text).ok());
    serde::Serialize::serialize(&value, out)
}

/// A leg about to be recorded.
#[derive(Debug, Clone)]
pub struct NewCallLeg<'a> {
    pub call_id: &'a str,
    /// `caller`, `agent`, `trunk`, `supervisor` or `ivr`.
    pub role: &'a str,
    pub sip_call_id: &'a str,
    pub peer_uri: &'a str,
    pub started_at: Millis,
}

/// One SIP dialog of a call.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct CallLeg {
    pub id: String,
    pub call_id: String,
    pub role: String,
    pub sip_call_id: String,
    pub peer_uri: String,
    pub started_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub final_status: Option<i64>,
    /// The codec the leg's media used, e.g. `PCMU`.
    pub codec: Option<String>,
    /// RTP packets the leg lost on the way to kefu, per RTCP statistics.
    pub rtp_packets_lost: Option<i64>,
    /// Interarrival jitter of the leg's RTP at its end, in milliseconds.
    pub rtp_jitter_ms: Option<i64>,
    /// RTP packets kefu received on the leg, and sent on it.
    pub rtp_packets_received: Option<i64>,
    pub rtp_packets_sent: Option<i64>,
    /// Round-trip time from the peer's RTCP receiver reports, in ms (none
    /// when the peer sent no report about our stream).
    pub rtp_rtt_ms: Option<i64>,
    /// What the peer reported losing of kefu's stream.
    pub rtp_remote_packets_lost: Option<i64>,
    /// Packets dropped for coming from another address than the peer's.
    pub rtp_foreign_dropped: Option<i64>,
    /// The call this leg came from by an attended transfer (the far side
    /// of the agent's consultation call, joined to this call's caller).
    pub transferred_from: Option<String>,
}

/// A leg's media quality at its end, as the CDR keeps it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LegQuality {
    pub packets_lost: i64,
    pub jitter_ms: i64,
    pub packets_received: i64,
    pub packets_sent: i64,
    pub rtt_ms: Option<i64>,
    pub remote_packets_lost: Option<i64>,
    pub foreign_dropped: i64,
}

/// One write to the call records, as call control makes them while calls
/// go; [`Store::write_calls`] applies many in one transaction (one commit
/// for what many calls wrote meanwhile).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallWrite {
    /// A new call's row, with the id made for it ([`new_call_id`]).
    CreateCall {
        id: String,
        tenant_id: Option<String>,
        direction: String,
        from_uri: String,
        to_uri: String,
        did: Option<String>,
        started_at: Millis,
    },
    /// A leg of a call, with the id made for it ([`new_call_id`]).
    AddLeg {
        id: String,
        call_id: String,
        role: String,
        sip_call_id: String,
        peer_uri: String,
        started_at: Millis,
    },
    /// A leg's final SIP status (and its answer time on 2xx).
    LegSetup {
        leg: String,
        status: u16,
        at: Millis,
    },
    /// The call was answered (the first answer wins).
    Answer { call: String, at: Millis },
    /// A leg's codec and RTP quality at its end.
    LegMedia {
        leg: String,
        codec: String,
        quality: LegQuality,
    },
    /// The call entered the ACD as `contact` in `queue`.
    Queued {
        call: String,
        contact: String,
        queue: String,
    },
    /// What the IVR flow had set when the call was queued (a JSON object
    /// of strings), for the agent.
    Variables { call: String, variables: String },
    /// The agent (extension) who took the queued call after `wait_ms`.
    Agent {
        call: String,
        agent: String,
        wait_ms: i64,
    },
    /// How long the caller and the agent talked.
    Talk { call: String, talk_ms: i64 },
    /// The `Reason` a peer gave for hanging up (the first one wins).
    HangupCause { call: String, cause: String },
    /// Leg `leg` of another call joins call `call` as a new leg `id`
    /// (an attended transfer), answered `at`, naming the call it came from.
    AdoptLeg {
        id: String,
        leg: String,
        call: String,
        at: Millis,
    },
    /// The call ended (the first end wins), and every leg still open.
    End {
        call: String,
        at: Millis,
        reason: String,
    },
}

/// A fresh id for a call or a leg.
pub fn new_call_id() -> String {
    new_id()
}

impl CallWrite {
    /// Runs the write; returns the rows its (last) statement changed.
    async fn apply(&self, conn: &mut AnyConnection) -> Result<u64, StoreError> {
        let done = match self {
            Self::CreateCall {
                id,
                tenant_id,
                direction,
                from_uri,
                to_uri,
                did,
                started_at,
            } => sqlx::query(
                "INSERT INTO calls (id, tenant_id, direction, from_uri, to_uri, did, started_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(id)
            .bind(tenant_id)
            .bind(direction)
            .bind(from_uri)
            .bind(to_uri)
            .bind(did)
            .bind(started_at.0)
            .execute(&mut *conn)
            .await?,
            Self::AddLeg {
                id,
                call_id,
                role,
                sip_call_id,
                peer_uri,
                started_at,
            } => {
                sqlx::query(
                    "INSERT INTO call_legs (id, call_id, role, sip_call_id, peer_uri, started_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(id)
                .bind(call_id)
                .bind(role)
                .bind(sip_call_id)
                .bind(peer_uri)
                .bind(started_at.0)
                .execute(&mut *conn)
                .await?
            }
            Self::LegSetup { leg, status, at } => {
                let answered = (200..300).contains(status).then_some(at.0);
                sqlx::query(
                    "UPDATE call_legs SET final_status = $1, answered_at = $2 WHERE id = $3",
                )
                .bind(i64::from(*status))
                .bind(answered)
                .bind(leg)
                .execute(&mut *conn)
                .await?
            }
            Self::Answer { call, at } => {
                sqlx::query(
                    "UPDATE calls SET answered_at = $1 WHERE id = $2 AND answered_at IS NULL",
                )
                .bind(at.0)
                .bind(call)
                .execute(&mut *conn)
                .await?
            }
            Self::LegMedia {
                leg,
                codec,
                quality,
            } => {
                sqlx::query(
                    "UPDATE call_legs SET codec = $1, rtp_packets_lost = $2, rtp_jitter_ms = $3, \
                     rtp_packets_received = $4, rtp_packets_sent = $5, rtp_rtt_ms = $6, \
                     rtp_remote_packets_lost = $7, rtp_foreign_dropped = $8 WHERE id = $9",
                )
                .bind(codec)
                .bind(quality.packets_lost)
                .bind(quality.jitter_ms)
                .bind(quality.packets_received)
                .bind(quality.packets_sent)
                .bind(quality.rtt_ms)
                .bind(quality.remote_packets_lost)
                .bind(quality.foreign_dropped)
                .bind(leg)
                .execute(&mut *conn)
                .await?
            }
            Self::Queued {
                call,
                contact,
                queue,
            } => {
                sqlx::query("UPDATE calls SET contact_id = $1, queue = $2 WHERE id = $3")
                    .bind(contact)
                    .bind(queue)
                    .bind(call)
                    .execute(&mut *conn)
                    .await?
            }
            Self::Variables { call, variables } => {
                sqlx::query("UPDATE calls SET variables = $1 WHERE id = $2")
                    .bind(variables)
                    .bind(call)
                    .execute(&mut *conn)
                    .await?
            }
            Self::Agent {
                call,
                agent,
                wait_ms,
            } => {
                sqlx::query("UPDATE calls SET agent = $1, wait_ms = $2 WHERE id = $3")
                    .bind(agent)
                    .bind(wait_ms)
                    .bind(call)
                    .execute(&mut *conn)
                    .await?
            }
            Self::Talk { call, talk_ms } => {
                sqlx::query("UPDATE calls SET talk_ms = $1 WHERE id = $2")
                    .bind(talk_ms)
                    .bind(call)
                    .execute(&mut *conn)
                    .await?
            }
            Self::HangupCause { call, cause } => {
                sqlx::query(
                    "UPDATE calls SET hangup_cause = $1 WHERE id = $2 AND hangup_cause IS NULL",
                )
                .bind(cause)
                .bind(call)
                .execute(&mut *conn)
                .await?
            }
            Self::AdoptLeg { id, leg, call, at } => {
                sqlx::query(
                    "INSERT INTO call_legs (id, call_id, role, sip_call_id, peer_uri, started_at, \
                     answered_at, final_status, transferred_from) \
                     SELECT $1, $2, role, sip_call_id, peer_uri, $3, $4, 200, call_id \
                     FROM call_legs WHERE id = $5",
                )
                .bind(id)
                .bind(call)
                .bind(at.0)
                .bind(at.0)
                .bind(leg)
                .execute(&mut *conn)
                .await?
            }
            Self::End { call, at, reason } => {
                sqlx::query(
                    "UPDATE calls SET ended_at = $1, end_reason = $2 WHERE id = $3 AND ended_at IS NULL",
                )
                .bind(at.0)
                .bind(reason)
                .bind(call)
                .execute(&mut *conn)
                .await?;
                sqlx::query(
                    "UPDATE call_legs SET ended_at = $1 WHERE call_id = $2 AND ended_at IS NULL",
                )
                .bind(at.0)
                .bind(call)
                .execute(&mut *conn)
                .await?
            }
        };
        Ok(done.rows_affected())
    }
}

/// Which calls a listing returns: newest first, `limit` of them, started
/// before `before` (ms) when paging on.
#[derive(Debug, Clone, Default)]
pub struct CallFilter<'a> {
    pub tenant_id: Option<&'a str>,
    pub did: Option<&'a str>,
    /// Only the call of this ACD contact.
    pub contact_id: Option<&'a str>,
    pub before: Option<i64>,
    pub limit: i64,
}

const CALL_COLUMNS: &str = "id, tenant_id, direction, from_uri, to_uri, did, started_at, \
     answered_at, ended_at, end_reason, flow_name, flow_version, flow_path, digits, \
     contact_id, queue, agent, wait_ms, talk_ms, hangup_cause, variables";

impl Store {
    /// Applies `writes` in order, in one transaction: all or none.
    pub async fn write_calls(&self, writes: &[CallWrite]) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        for write in writes {
            write.apply(&mut tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Applies one write (its own transaction when it takes several
    /// statements).
    async fn write_call(&self, write: CallWrite) -> Result<u64, StoreError> {
        match write {
            CallWrite::End { .. } => self.write_calls(&[write]).await.map(|()| 0),
            _ => write.apply(&mut *self.pool().acquire().await?).await,
        }
    }

    /// Calls matching `filter`, newest first.
    pub async fn calls(&self, filter: &CallFilter<'_>) -> Result<Vec<Call>, StoreError> {
        let mut conditions = Vec::new();
        let mut next = 1;
        let mut condition = |column: &str, op: &str, present: bool| {
            if present {
                conditions.push(format!("{column} {op} ${next}"));
                next += 1;
            }
        };
        condition("tenant_id", "=", filter.tenant_id.is_some());
        condition("did", "=", filter.did.is_some());
        condition("contact_id", "=", filter.contact_id.is_some());
        condition("started_at", "<", filter.before.is_some());
        let mut sql = format!("SELECT {CALL_COLUMNS} FROM calls");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(&format!(" ORDER BY started_at DESC, id DESC LIMIT ${next}"));
        let mut query = sqlx::query_as(&sql);
        if let Some(tenant_id) = filter.tenant_id {
            query = query.bind(tenant_id);
        }
        if let Some(did) = filter.did {
            query = query.bind(did);
        }
        if let Some(contact_id) = filter.contact_id {
            query = query.bind(contact_id);
        }
        if let Some(before) = filter.before {
            query = query.bind(before);
        }
        Ok(query.bind(filter.limit).fetch_all(self.pool()).await?)
    }

    /// Writes the CDR row of a new call; returns its id.
    pub async fn create_call(&self, call: &NewCall<'_>) -> Result<String, StoreError> {
        let id = new_id();
        self.write_call(CallWrite::CreateCall {
            id: id.clone(),
            tenant_id: call.tenant_id.map(str::to_owned),
            direction: call.direction.to_owned(),
            from_uri: call.from_uri.to_owned(),
            to_uri: call.to_uri.to_owned(),
            did: call.did.map(str::to_owned),
            started_at: call.started_at,
        })
        .await?;
        Ok(id)
    }

    /// Marks the call answered (the first answer wins).
    pub async fn answer_call(&self, call_id: &str, at: Millis) -> Result<(), StoreError> {
        let call = call_id.to_owned();
        self.write_call(CallWrite::Answer { call, at }).await?;
        Ok(())
    }

    /// Records the IVR flow a call runs and the path it has taken so far.
    pub async fn record_flow_path(
        &self,
        call_id: &str,
        flow: (&str, i64),
        path: &[String],
        digits: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE calls SET flow_name = $1, flow_version = $2, flow_path = $3, digits = $4 \
             WHERE id = $5",
        )
        .bind(flow.0)
        .bind(flow.1)
        .bind(path.join(","))
        .bind(digits)
        .bind(call_id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Records that the call entered the ACD as `contact_id` in `queue`.
    pub async fn record_call_queued(
        &self,
        call_id: &str,
        contact_id: &str,
        queue: &str,
    ) -> Result<(), StoreError> {
        self.write_call(CallWrite::Queued {
            call: call_id.to_owned(),
            contact: contact_id.to_owned(),
            queue: queue.to_owned(),
        })
        .await?;
        Ok(())
    }

    /// Records the agent (extension) who took the queued call after the
    /// caller waited `wait_ms`.
    pub async fn record_call_agent(
        &self,
        call_id: &str,
        agent: &str,
        wait_ms: i64,
    ) -> Result<(), StoreError> {
        self.write_call(CallWrite::Agent {
            call: call_id.to_owned(),
            agent: agent.to_owned(),
            wait_ms,
        })
        .await?;
        Ok(())
    }

    /// Records how long the caller and the agent talked.
    pub async fn record_call_talk(&self, call_id: &str, talk_ms: i64) -> Result<(), StoreError> {
        let call = call_id.to_owned();
        self.write_call(CallWrite::Talk { call, talk_ms }).await?;
        Ok(())
    }

    /// Finishes the call's CDR (the first end wins) and every leg still open.
    pub async fn end_call(
        &self,
        call_id: &str,
        at: Millis,
        reason: &str,
    ) -> Result<(), StoreError> {
        self.write_call(CallWrite::End {
            call: call_id.to_owned(),
            at,
            reason: reason.to_owned(),
        })
        .await?;
        Ok(())
    }

    /// The call's CDR row.
    pub async fn call(&self, call_id: &str) -> Result<Call, StoreError> {
        found(
            sqlx::query_as(&format!("SELECT {CALL_COLUMNS} FROM calls WHERE id = $1"))
                .bind(call_id)
                .fetch_optional(self.pool())
                .await?,
            "call",
        )
    }

    /// Adds a leg to a call; returns its id.
    pub async fn add_call_leg(&self, leg: &NewCallLeg<'_>) -> Result<String, StoreError> {
        let id = new_id();
        self.write_call(CallWrite::AddLeg {
            id: id.clone(),
            call_id: leg.call_id.to_owned(),
            role: leg.role.to_owned(),
            sip_call_id: leg.sip_call_id.to_owned(),
            peer_uri: leg.peer_uri.to_owned(),
            started_at: leg.started_at,
        })
        .await?;
        Ok(id)
    }

    /// Moves leg `leg_id` (answered, of another call) to call `call_id`
    /// by an attended transfer: a new leg there with the same role, dialog
    /// and peer, answered `at`, naming the call it came from. Returns its
    /// id, or `None` when no such leg exists.
    pub async fn adopt_call_leg(
        &self,
        leg_id: &str,
        call_id: &str,
        at: Millis,
    ) -> Result<Option<String>, StoreError> {
        let id = new_id();
        let adopt = CallWrite::AdoptLeg {
            id: id.clone(),
            leg: leg_id.to_owned(),
            call: call_id.to_owned(),
            at,
        };
        Ok((self.write_call(adopt).await? == 1).then_some(id))
    }

    /// Records the Reason a peer gave for hanging up (the first one wins).
    pub async fn record_hangup_cause(&self, call_id: &str, cause: &str) -> Result<(), StoreError> {
        self.write_call(CallWrite::HangupCause {
            call: call_id.to_owned(),
            cause: cause.to_owned(),
        })
        .await?;
        Ok(())
    }

    /// Records a leg's final SIP status (and its answer time on 2xx).
    pub async fn finish_call_leg_setup(
        &self,
        leg_id: &str,
        status: u16,
        at: Millis,
    ) -> Result<(), StoreError> {
        let leg = leg_id.to_owned();
        self.write_call(CallWrite::LegSetup { leg, status, at })
            .await?;
        Ok(())
    }

    /// Records a leg's media: the codec used and the RTP quality at its end.
    pub async fn record_leg_media(
        &self,
        leg_id: &str,
        codec: &str,
        quality: &LegQuality,
    ) -> Result<(), StoreError> {
        self.write_call(CallWrite::LegMedia {
            leg: leg_id.to_owned(),
            codec: codec.to_owned(),
            quality: *quality,
        })
        .await?;
        Ok(())
    }

    /// The legs of a call, oldest first.
    pub async fn call_legs(&self, call_id: &str) -> Result<Vec<CallLeg>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, call_id, role, sip_call_id, peer_uri, started_at, answered_at, \
             ended_at, final_status, codec, rtp_packets_lost, rtp_jitter_ms, \
             rtp_packets_received, rtp_packets_sent, rtp_rtt_ms, rtp_remote_packets_lost, \
             rtp_foreign_dropped, transferred_from FROM call_legs WHERE call_id = $1 \
             ORDER BY started_at, id",
        )
        .bind(call_id)
        .fetch_all(self.pool())
        .await?)
    }
}
