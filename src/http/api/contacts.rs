//! The generic contacts API, for channels other than voice: `POST
//! /api/v1/contacts` routes a chat, WeChat conversation, SMS thread or email
//! through the same ACD as calls; agents answer offers with
//! `POST /api/v1/contacts/{id}/accept|decline`, finish with `…/end`; the
//! customer side reports `…/abandon`; `GET /api/v1/contacts?customer=` lists
//! a customer's contacts (the caller's history beside a new call);
//! `GET /api/v1/contacts/{id}` shows the
//! stored row, its event log and, while it is live, where it stands; `PUT
//! …/disposition` sets the outcome code of any contact, calls included (the
//! agent picks it during wrap-up).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::agents::{Actor, TenantQuery};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::body::{self, JsonBody};
use crate::http::problem::Problem;
use crate::routing::{
    Answer, ContactId, ContactRequest, ContactUpdate, LiveContact, SkillNeed, exit_name,
    parse_channel, timeout_target_name,
};
use crate::store::{Contact, ContactEvent, PastContact, StoreError};

/// A contact to route.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewContactBody {
    /// `voice`, `chat`, `wechat`, `sms` or `email`.
    pub channel: String,
    /// The queue's name.
    pub queue: String,
    /// 0 (lowest, default) to 9.
    #[serde(default)]
    pub priority: u8,
    /// Skills an agent needs, with minimum levels.
    #[serde(default)]
    pub skills: Vec<SkillBody>,
    /// Who the customer is (for the sticky agent).
    pub customer: Option<String>,
}

/// A required skill.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillBody {
    pub name: String,
    /// 1-10 (default 1).
    #[serde(default = "first_level")]
    pub min_level: u8,
}

fn first_level() -> u8 {
    1
}

/// A contact the ACD took.
#[derive(Debug, Serialize, ToSchema)]
pub struct Created {
    pub id: String,
    /// `queued`, or `timed_out` when the queue refused it at once.
    pub state: &'static str,
    /// Why it was refused: `closed` (outside the queue's business hours),
    /// `full` (`max_size` reached) or `no_agents` (the queue does not
    /// `join_when_empty`).
    pub reason: Option<&'static str>,
    /// Where a refused contact goes, as the queue's `timeout_target` says.
    pub target: Option<String>,
}

/// Who answers an offer: the caller's own agent, or (supervisors, admins)
/// the agent named here.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OnBehalf {
    /// The agent's extension.
    pub agent: Option<String>,
}

/// A contact's row, its event log, and where it stands while live.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactDetail {
    #[serde(flatten)]
    pub contact: Contact,
    pub events: Vec<ContactEvent>,
    /// Absent once the contact ended.
    pub live: Option<LiveContact>,
}

/// Routes a new contact.
#[utoipa::path(post, path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])),
    params(TenantQuery), request_body = NewContactBody,
    responses((status = 201, body = Created), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
    JsonBody(body): JsonBody<NewContactBody>,
) -> Result<(StatusCode, Json<Created>), Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    let channel = parse_channel(&body.channel).ok_or_else(|| {
        Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "`channel`: {:?} is not one of voice, chat, wechat, sms, email",
                body.channel
            ),
        )
    })?;
    if body.customer.as_ref().is_some_and(|c| c.len() > 200) {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`customer`: at most 200 characters",
        ));
    }
    let mut enqueued = state
        .acd
        .enqueue(ContactRequest {
            tenant: actor.tenant_id,
            channel,
            queue: body.queue,
            priority: body.priority,
            skills: body
                .skills
                .into_iter()
                .map(|s| SkillNeed {
                    name: s.name,
                    min_level: s.min_level,
                })
                .collect(),
            customer: body.customer,
            call_id: None,
            preferred_agent: None,
        })
        .await?;
    let created = match enqueued.updates.try_next() {
        Some(ContactUpdate::TimedOut { reason, target }) => Created {
            id: enqueued.id.0,
            state: "timed_out",
            reason: Some(exit_name(reason)),
            target: Some(timeout_target_name(&target)),
        },
        _ => Created {
            id: enqueued.id.0,
            state: "queued",
            reason: None,
            target: None,
        },
    };
    Ok((StatusCode::CREATED, Json(created)))
}

/// The contact, if the caller's tenant holds it (404 otherwise).
async fn visible(state: &AppState, actor: &Actor, id: &str) -> Result<Contact, Problem> {
    match state.store.contact(id).await {
        Ok(contact) if contact.tenant_id == actor.tenant_id => Ok(contact),
        Ok(_) | Err(StoreError::NotFound { .. }) => {
            Err(Problem::not_found(format!("no contact `{id}`")))
        }
        Err(error) => Err(error.into()),
    }
}

/// Which customer's contacts to list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct CustomerQuery {
    /// The tenant's name; needed with the admin token, ignored otherwise.
    pub tenant: Option<String>,
    /// The customer: a caller's number, a chat visitor's id.
    pub customer: Option<String>,
    /// Contacts to list, 1-100 (default 10).
    pub limit: Option<String>,
}

/// A customer's contacts in the tenant, newest first: what an agent sees of
/// a caller's history beside a new call (any user of the tenant).
#[utoipa::path(get, path = "/api/v1/contacts", tag = "contacts", security(("bearer" = [])),
    params(CustomerQuery),
    responses((status = 200, body = [PastContact]), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CustomerQuery>,
) -> Result<Json<Vec<PastContact>>, Problem> {
    let tenant = TenantQuery {
        tenant: query.tenant.clone(),
    };
    let actor = Actor::of(&state, &caller, &tenant).await?;
    let customer = query
        .customer
        .as_deref()
        .filter(|customer| !customer.is_empty())
        .ok_or_else(|| {
            Problem::invalid("customer", "name the customer whose contacts to list").bad_request()
        })?;
    let limit = match &query.limit {
        None => 10,
        Some(text) => text
            .parse::<i64>()
            .ok()
            .filter(|n| (1..=100).contains(n))
            .ok_or_else(|| {
                let rule = format!("`{text}` must be a whole number from 1 to 100");
                Problem::invalid("limit", rule).bad_request()
            })?,
    };
    let contacts = state
        .store
        .contacts_of_customer(&actor.tenant_id, customer, limit)
        .await?;
    Ok(Json(contacts))
}

/// One contact: its row, events and live standing.
#[utoipa::path(get, path = "/api/v1/contacts/{id}", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = "contact id"), TenantQuery),
    responses((status = 200, body = ContactDetail), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<ContactDetail>, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    let contact = visible(&state, &actor, &id).await?;
    let events = state.store.contact_events(&id).await?;
    let live = state.acd.contact(&ContactId(id)).await?;
    Ok(Json(ContactDetail {
        contact,
        events,
        live,
    }))
}

async fn answer(
    state: &AppState,
    caller: &Caller,
    id: String,
    query: &TenantQuery,
    on_behalf: OnBehalf,
    answer: Answer,
) -> Result<StatusCode, Problem> {
    let actor = Actor::of(state, caller, query).await?;
    visible(state, &actor, &id).await?;
    let user_id = match (on_behalf.agent, &actor.user_id) {
        (Some(extension), _) => {
            actor.must_supervise("answer offers for another agent")?;
            let agent = state
                .acd
                .agents(&actor.tenant_id)
                .await?
                .into_iter()
                .find(|a| a.extension == extension)
                .ok_or_else(|| {
                    Problem::not_found(format!("no agent with extension `{extension}`"))
                })?;
            agent.user_id
        }
        (None, Some(user_id)) => user_id.clone(),
        (None, None) => {
            return Err(Problem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "`agent`: the admin token must name the agent who answers",
            ));
        }
    };
    state.acd.answer(&ContactId(id), &user_id, answer).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The optional body of accept and decline.
fn on_behalf(body: &Bytes) -> Result<OnBehalf, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        Ok(OnBehalf::default())
    } else {
        body::parse(body)
    }
}

/// The agent takes the offered contact.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/accept", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = "contact id"), TenantQuery), request_body = Option<OnBehalf>,
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    answer(
        &state,
        &caller,
        id,
        &query,
        on_behalf(&body)?,
        Answer::Accept,
    )
    .await
}

/// The agent turns the offer down; the next agent is tried.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/decline", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = "contact id"), TenantQuery), request_body = Option<OnBehalf>,
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn decline(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    body: Bytes,
) -> Result<StatusCode, Problem> {
    answer(
        &state,
        &caller,
        id,
        &query,
        on_behalf(&body)?,
        Answer::Decline,
    )
    .await
}

/// The assigned contact is over (its agent, supervisors and admins).
#[utoipa::path(post, path = "/api/v1/contacts/{id}/end", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = "contact id"), TenantQuery),
    responses((status = 204), (status = 403, body = Problem), (status = 409, body = Problem)))]
pub async fn end(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<StatusCode, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    visible(&state, &actor, &id).await?;
    let id = ContactId(id);
    if !actor.supervises {
        let live = state.acd.contact(&id).await?;
        let holder = live.and_then(|l| l.agent_user);
        if holder.is_none() || holder != actor.user_id {
            return Err(Problem::forbidden(
                "only the contact's agent, supervisors and admins may end it",
            ));
        }
    }
    state.acd.end(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A contact's outcome code.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DispositionBody {
    /// 1-64 characters, e.g. `resolved`, `follow_up`.
    pub disposition: String,
}

/// Longest disposition code.
const MAX_DISPOSITION: usize = 64;

/// Sets the disposition of a contact: its agent (once it was theirs, during
/// or after it), supervisors and admins.
#[utoipa::path(put, path = "/api/v1/contacts/{id}/disposition", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = "contact id"), TenantQuery),
    request_body = DispositionBody,
    responses((status = 204), (status = 400, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn set_disposition(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(body): JsonBody<DispositionBody>,
) -> Result<StatusCode, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    let contact = visible(&state, &actor, &id).await?;
    let disposition = body.disposition.trim();
    if disposition.is_empty() || disposition.chars().count() > MAX_DISPOSITION {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("`disposition`: must be 1-{MAX_DISPOSITION} characters"),
        ));
    }
    if !actor.supervises && (contact.agent_id.is_none() || contact.agent_id != actor.user_id) {
        return Err(Problem::forbidden(
            "only the contact's agent, supervisors and admins may set its disposition",
        ));
    }
    let at = crate::store::Millis::now();
    let user = actor.user_id.as_deref();
    if !state
        .store
        .set_disposition(&id, at, user, disposition)
        .await?
    {
        return Err(Problem::not_found(format!("no contact `{id}`")));
    }
    Ok(StatusCode::NO_CONTENT)
}

/// The customer left before an agent took the contact.
#[utoipa::path(post, path = "/api/v1/contacts/{id}/abandon", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = "contact id"), TenantQuery),
    responses((status = 204), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn abandon(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<StatusCode, Problem> {
    let actor = Actor::of(&state, &caller, &query).await?;
    visible(&state, &actor, &id).await?;
    state.acd.abandon(&ContactId(id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
