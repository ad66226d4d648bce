//! A call's detail record as the call goes: the `calls` row from the first
//! INVITE, the caller's leg, the answer, the media quality and the end. A
//! storage failure is logged and never stops the call (the caller keeps
//! talking while the database recovers).

use std::time::Duration;

use kefu_media::rtp::leg::LegStats;
use kefu_media::sdp::Codec;

use crate::store::{LegQuality, Millis, NewCall, NewCallLeg, Store};

/// The record of one call. See the [module docs](self).
pub(super) struct Cdr {
    store: Store,
    id: Option<String>,
    caller_leg: Option<String>,
}

/// Who the call is from and to, as the INVITE says.
pub(super) struct Parties<'a> {
    /// `inbound` (from a trunk) or `internal` (from a user's phone).
    pub direction: &'a str,
    pub tenant_id: Option<&'a str>,
    pub from_uri: &'a str,
    pub to_uri: &'a str,
    pub did: Option<&'a str>,
    pub sip_call_id: &'a str,
}

impl Cdr {
    /// Opens the record of a call and its caller leg.
    pub async fn open(store: &Store, parties: &Parties<'_>) -> Self {
        let now = Millis::now();
        let call = NewCall {
            tenant_id: parties.tenant_id,
            direction: parties.direction,
            from_uri: parties.from_uri,
            to_uri: parties.to_uri,
            did: parties.did,
            started_at: now,
        };
        let id = logged(store.create_call(&call).await, "create the call record");
        let caller_leg = match &id {
            Some(call_id) => {
                let leg = NewCallLeg {
                    call_id,
                    role: "caller",
                    sip_call_id: parties.sip_call_id,
                    peer_uri: parties.from_uri,
                    started_at: now,
                };
                logged(store.add_call_leg(&leg).await, "record the caller's leg")
            }
            None => None,
        };
        Self {
            store: store.clone(),
            id,
            caller_leg,
        }
    }

    /// Opens the record of a call kefu places itself (a callback): no
    /// caller leg until kefu rings the customer.
    pub async fn open_placed(store: &Store, parties: &Parties<'_>) -> Self {
        let call = NewCall {
            tenant_id: parties.tenant_id,
            direction: parties.direction,
            from_uri: parties.from_uri,
            to_uri: parties.to_uri,
            did: parties.did,
            started_at: Millis::now(),
        };
        Self {
            store: store.clone(),
            id: logged(store.create_call(&call).await, "create the call record"),
            caller_leg: None,
        }
    }

    /// The record's id (for logs and the API).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The caller's INVITE got its final response `status`.
    pub async fn caller_setup_finished(&self, status: u16) {
        let now = Millis::now();
        if let Some(leg) = &self.caller_leg {
            let result = self.store.finish_call_leg_setup(leg, status, now).await;
            logged(result, "record the caller's final response");
        }
        if let (Some(id), 200..=299) = (&self.id, status) {
            logged(self.store.answer_call(id, now).await, "record the answer");
        }
    }

    /// The caller's media: codec and RTP quality from its statistics.
    pub async fn caller_media(&self, codec: Codec, stats: &LegStats) {
        if let Some(leg) = &self.caller_leg {
            self.leg_media(leg, codec, stats).await;
        }
    }

    /// Adds a leg kefu placed (`role`: `agent`, `trunk`, ...) to `peer_uri`;
    /// returns its id.
    pub async fn add_leg(&self, role: &str, sip_call_id: &str, peer_uri: &str) -> Option<String> {
        let call_id = self.id.as_deref()?;
        let leg = NewCallLeg {
            call_id,
            role,
            sip_call_id,
            peer_uri,
            started_at: Millis::now(),
        };
        logged(self.store.add_call_leg(&leg).await, "record a leg")
    }

    /// Takes over leg `leg` of another call (an attended transfer joined
    /// its far side to this call): a new, answered leg here names the call
    /// it came from. Returns the new leg's id.
    pub async fn adopt_leg(&self, leg: &str) -> Option<String> {
        let call_id = self.id.as_deref()?;
        let adopted = self.store.adopt_call_leg(leg, call_id, Millis::now()).await;
        logged(adopted, "record an adopted leg").flatten()
    }

    /// Leg `leg`'s INVITE got its final response `status`.
    pub async fn leg_setup_finished(&self, leg: &str, status: u16) {
        let result = self
            .store
            .finish_call_leg_setup(leg, status, Millis::now())
            .await;
        logged(result, "record a leg's final response");
    }

    /// A leg's media: codec and RTP quality from its statistics, also
    /// counted in the RTP metrics.
    pub async fn leg_media(&self, leg: &str, codec: Codec, stats: &LegStats) {
        let count = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        let quality = LegQuality {
            packets_lost: stats.packets_lost,
            jitter_ms: millis(stats.jitter),
            packets_received: count(stats.packets_received),
            packets_sent: count(stats.packets_sent),
            rtt_ms: stats.rtt.map(millis),
            remote_packets_lost: stats.remote_packets_lost.map(i64::from),
            foreign_dropped: count(stats.foreign_dropped),
        };
        record_metrics(stats);
        let result = self
            .store
            .record_leg_media(leg, codec.name(), &quality)
            .await;
        logged(result, "record a leg's media quality");
    }

    /// The call entered the ACD as `contact` in `queue`.
    pub async fn queued(&self, contact: &str, queue: &str) {
        if let Some(id) = &self.id {
            let result = self.store.record_call_queued(id, contact, queue).await;
            logged(result, "record the call's queue");
        }
    }

    /// The agent with extension `agent` took the queued call after `waited`.
    pub async fn taken_by(&self, agent: &str, waited: Duration) {
        if let Some(id) = &self.id {
            let result = self
                .store
                .record_call_agent(id, agent, millis(waited))
                .await;
            logged(result, "record the call's agent");
        }
    }

    /// The caller and the agent talked for `talk`.
    pub async fn talked(&self, talk: Duration) {
        if let Some(id) = &self.id {
            let result = self.store.record_call_talk(id, millis(talk)).await;
            logged(result, "record the call's talk time");
        }
    }

    /// A peer's `Reason` (RFC 3326) for hanging up, if it gave one; the
    /// first one given is kept.
    pub async fn hangup_cause(&self, reason: Option<&str>) {
        if let (Some(id), Some(reason)) = (&self.id, reason) {
            let result = self.store.record_hangup_cause(id, reason).await;
            logged(result, "record the hangup cause");
        }
    }

    /// Finishes the record with why the call ended.
    pub async fn end(&self, reason: &str) {
        if let Some(id) = &self.id {
            let result = self.store.end_call(id, Millis::now(), reason).await;
            logged(result, "finish the call record");
        }
    }
}

/// A finished leg's RTP quality in the metrics: jitter and round-trip
/// histograms, lost and foreign (RTP bleed) packet counters.
fn record_metrics(stats: &LegStats) {
    metrics::histogram!("kefu_rtp_jitter_seconds").record(stats.jitter.as_secs_f64());
    if let Some(rtt) = stats.rtt {
        metrics::histogram!("kefu_rtp_rtt_seconds").record(rtt.as_secs_f64());
    }
    let lost = u64::try_from(stats.packets_lost).unwrap_or(0);
    metrics::counter!("kefu_rtp_packets_lost_total").increment(lost);
    metrics::counter!("kefu_rtp_packets_received_total").increment(stats.packets_received);
    metrics::counter!("kefu_rtp_foreign_dropped_total").increment(stats.foreign_dropped);
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

fn logged<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> Option<T> {
    result
        .map_err(|error| tracing::error!(%error, "cannot {what}"))
        .ok()
}
