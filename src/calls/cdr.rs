//! A call's detail record as the call goes: the `calls` row from the first
//! INVITE, the caller's leg, the answer, the media quality and the end,
//! written through the records' writer ([`super::records`]): the first row
//! and the end are awaited, the rest is queued in order. A storage failure
//! is logged and never stops the call (the caller keeps talking while the
//! database recovers).

use std::collections::BTreeMap;
use std::time::Duration;

use kefu_media::rtp::leg::LegStats;
use kefu_media::sdp::Codec;

use super::records::Records;
use crate::store::{CallWrite, LegQuality, Millis, new_call_id};

/// The record of one call. See the [module docs](self).
pub(super) struct Cdr {
    records: Records,
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
    pub async fn open(records: &Records, parties: &Parties<'_>) -> Self {
        let now = Millis::now();
        let (id, leg) = (new_call_id(), new_call_id());
        let writes = vec![
            create(&id, parties, now),
            CallWrite::AddLeg {
                id: leg.clone(),
                call_id: id.clone(),
                role: "caller".to_owned(),
                sip_call_id: parties.sip_call_id.to_owned(),
                peer_uri: parties.from_uri.to_owned(),
                started_at: now,
            },
        ];
        let stored = records.write_now(writes).await;
        Self {
            records: records.clone(),
            id: stored.then_some(id),
            caller_leg: stored.then_some(leg),
        }
    }

    /// Opens the record of a call kefu places itself (a callback): no
    /// caller leg until kefu rings the customer.
    pub async fn open_placed(records: &Records, parties: &Parties<'_>) -> Self {
        let id = new_call_id();
        let stored = records
            .write_now(vec![create(&id, parties, Millis::now())])
            .await;
        Self {
            records: records.clone(),
            id: stored.then_some(id),
            caller_leg: None,
        }
    }

    /// The record's id (for logs and the API).
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    fn call(&self) -> Option<String> {
        self.id.clone()
    }

    /// The caller's INVITE got its final response `status`.
    pub async fn caller_setup_finished(&self, status: u16) {
        let at = Millis::now();
        if let Some(leg) = &self.caller_leg {
            self.leg_setup_finished(leg, status).await;
        }
        if let (Some(call), 200..=299) = (self.call(), status) {
            self.records.write(CallWrite::Answer { call, at });
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
        let call_id = self.call()?;
        let id = new_call_id();
        self.records.write(CallWrite::AddLeg {
            id: id.clone(),
            call_id,
            role: role.to_owned(),
            sip_call_id: sip_call_id.to_owned(),
            peer_uri: peer_uri.to_owned(),
            started_at: Millis::now(),
        });
        Some(id)
    }

    /// Takes over leg `leg` of another call (an attended transfer joined
    /// its far side to this call): a new, answered leg here names the call
    /// it came from. Returns the new leg's id.
    pub async fn adopt_leg(&self, leg: &str) -> Option<String> {
        let call = self.call()?;
        let id = new_call_id();
        self.records.write(CallWrite::AdoptLeg {
            id: id.clone(),
            leg: leg.to_owned(),
            call,
            at: Millis::now(),
        });
        Some(id)
    }

    /// Leg `leg`'s INVITE got its final response `status`.
    pub async fn leg_setup_finished(&self, leg: &str, status: u16) {
        self.records.write(CallWrite::LegSetup {
            leg: leg.to_owned(),
            status,
            at: Millis::now(),
        });
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
        self.records.write(CallWrite::LegMedia {
            leg: leg.to_owned(),
            codec: codec.name().to_owned(),
            quality,
        });
    }

    /// The call entered the ACD as `contact` in `queue`.
    pub async fn queued(&self, contact: &str, queue: &str) {
        if let Some(call) = self.call() {
            self.records.write(CallWrite::Queued {
                call,
                contact: contact.to_owned(),
                queue: queue.to_owned(),
            });
        }
    }

    /// What the IVR flow had set (`variables`) when the call was queued.
    pub async fn variables(&self, variables: &BTreeMap<String, String>) {
        if let (Some(call), Ok(variables)) = (self.call(), serde_json::to_string(variables)) {
            self.records.write(CallWrite::Variables { call, variables });
        }
    }

    /// The agent with extension `agent` took the queued call after `waited`.
    pub async fn taken_by(&self, agent: &str, waited: Duration) {
        if let Some(call) = self.call() {
            self.records.write(CallWrite::Agent {
                call,
                agent: agent.to_owned(),
                wait_ms: millis(waited),
            });
        }
    }

    /// The caller and the agent talked for `talk`.
    pub async fn talked(&self, talk: Duration) {
        if let Some(call) = self.call() {
            let talk_ms = millis(talk);
            self.records.write(CallWrite::Talk { call, talk_ms });
        }
    }

    /// A peer's `Reason` (RFC 3326) for hanging up, if it gave one; the
    /// first one given is kept.
    pub async fn hangup_cause(&self, reason: Option<&str>) {
        if let (Some(call), Some(cause)) = (self.call(), reason) {
            let cause = cause.to_owned();
            self.records.write(CallWrite::HangupCause { call, cause });
        }
    }

    /// Finishes the record with why the call ended; returns once it (and
    /// everything written for the call before) is stored.
    pub async fn end(&self, reason: &str) {
        if let Some(call) = self.call() {
            let end = CallWrite::End {
                call,
                at: Millis::now(),
                reason: reason.to_owned(),
            };
            self.records.write_now(vec![end]).await;
        }
    }
}

/// The write of a new call's row.
fn create(id: &str, parties: &Parties<'_>, now: Millis) -> CallWrite {
    CallWrite::CreateCall {
        id: id.to_owned(),
        tenant_id: parties.tenant_id.map(str::to_owned),
        direction: parties.direction.to_owned(),
        from_uri: parties.from_uri.to_owned(),
        to_uri: parties.to_uri.to_owned(),
        did: parties.did.map(str::to_owned),
        started_at: now,
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
