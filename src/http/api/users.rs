//! Users as admins manage them: `GET /api/v1/users` and
//! `GET /api/v1/users/{username}` (with skills, capacity per channel and
//! queues), `POST /api/v1/users` (create) and `PUT /api/v1/users/{username}`
//! (change; `disabled: true` disables and revokes the user's tokens).
//!
//! Supervisors may read users and change agents' skills, capacity and
//! queues; only admins create users or change names, roles, extensions,
//! passwords and whether a user is disabled. Every change reaches the ACD
//! (reload) and the SIP registrar's HA1 cache at once.

use std::collections::HashSet;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::scope::{self, TenantQuery};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::problem::Problem;
use crate::store::{AgentCapacity, Membership, NewUser, Role, Tenant, User, UserChange};

/// A user with what the ACD routes by.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    pub username: String,
    pub display_name: String,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    /// The phone extension; users with one take contacts.
    pub extension: Option<String>,
    pub disabled: bool,
    pub created_at: i64,
    pub skills: Vec<SkillLevel>,
    pub capacity: Capacity,
    pub queues: Vec<Membership>,
}

/// A skill and the agent's level in it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkillLevel {
    /// 1-64 letters, digits, `-` or `_`; created when new.
    pub name: String,
    /// 1 (some) to 10 (expert).
    pub level: u8,
}

/// Contacts of each channel taken at once (0-255).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Capacity {
    pub voice: u8,
    pub chat: u8,
    pub wechat: u8,
    pub sms: u8,
    pub email: u8,
    /// While the agent has a voice contact, no other channel is offered.
    #[serde(default)]
    pub voice_blocks_other_channels: bool,
}

/// A queue the agent takes contacts from.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueueMembership {
    /// The queue's name.
    pub queue: String,
    /// 1 (default) is offered first.
    #[serde(default = "first_tier")]
    pub tier: u8,
    #[serde(default)]
    pub penalty: u8,
}

fn first_tier() -> u8 {
    1
}

/// A user to create.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserSpec {
    /// 1-64 letters, digits, `.`, `-` or `_`; also the SIP user name.
    pub username: String,
    /// Default: the username.
    pub display_name: Option<String>,
    /// Default `agent`.
    #[serde(default = "agent_role")]
    pub role: Role,
    /// 2-16 digits; a user with one takes contacts.
    pub extension: Option<String>,
    /// At least 8 characters; the web and the SIP password.
    pub password: Option<String>,
    #[serde(default)]
    pub skills: Vec<SkillLevel>,
    pub capacity: Option<Capacity>,
    #[serde(default)]
    pub queues: Vec<QueueMembership>,
}

fn agent_role() -> Role {
    Role::Agent
}

/// Changes to a user; fields left out keep their value.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub role: Option<Role>,
    /// Null removes the extension.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub extension: Option<Option<String>>,
    pub password: Option<String>,
    /// True disables the user (their tokens are revoked, their phones can no
    /// longer register); false enables them again.
    pub disabled: Option<bool>,
    /// Replaces every skill.
    pub skills: Option<Vec<SkillLevel>>,
    pub capacity: Option<Capacity>,
    /// Replaces every queue membership.
    pub queues: Option<Vec<QueueMembership>>,
}

fn nullable<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

/// Who may do what in the tenant.
fn may_supervise(caller: &Caller, what: &str) -> Result<(), Problem> {
    match caller {
        Caller::Admin
        | Caller::User {
            role: Role::Admin | Role::Supervisor,
            ..
        } => Ok(()),
        Caller::User { .. } => Err(Problem::forbidden(format!(
            "only supervisors and admins may {what}"
        ))),
    }
}

/// The tenant's users.
#[utoipa::path(get, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(TenantQuery),
    responses((status = 200, body = [UserView]), (status = 403, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<UserView>>, Problem> {
    may_supervise(&caller, "list users")?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let mut views = Vec::new();
    for user in state.store.users(&tenant.id).await? {
        views.push(view(&state, user).await?);
    }
    Ok(Json(views))
}

/// One user.
#[utoipa::path(get, path = "/api/v1/users/{username}", tag = "users", security(("bearer" = [])),
    params(("username" = String, Path, description = "the user name"), TenantQuery),
    responses((status = 200, body = UserView), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<UserView>, Problem> {
    may_supervise(&caller, "read users")?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let user = existing(&state, &tenant, &username).await?;
    Ok(Json(view(&state, user).await?))
}

/// Creates a user (admins).
#[utoipa::path(post, path = "/api/v1/users", tag = "users", security(("bearer" = [])),
    params(TenantQuery), request_body = NewUserSpec,
    responses((status = 201, body = UserView), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
    JsonBody(spec): JsonBody<NewUserSpec>,
) -> Result<(StatusCode, Json<UserView>), Problem> {
    scope::require_admin(&caller, "users")?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    check_username(&spec.username)?;
    let display_name = match &spec.display_name {
        Some(name) => check_display_name(name)?,
        None => spec.username.as_str(),
    };
    if let Some(extension) = &spec.extension {
        check_extension(extension)?;
        free_extension(&state, &tenant, extension, None).await?;
    }
    if let Some(password) = &spec.password {
        check_password(password)?;
    }
    let skills = check_skills(&spec.skills)?;
    let queues = check_queues(&state, &tenant, &spec.queues).await?;
    if state
        .store
        .user_by_username(&tenant.id, &spec.username)
        .await?
        .is_some()
    {
        return Err(Problem {
            field: Some("username".to_owned()),
            ..Problem::new(
                StatusCode::CONFLICT,
                format!("`username`: there is already a user {:?}", spec.username),
            )
        });
    }
    let (user, _) = state
        .store
        .ensure_user(&NewUser {
            tenant_id: &tenant.id,
            username: &spec.username,
            display_name,
            role: spec.role,
            extension: spec.extension.as_deref(),
            password: spec.password.as_deref(),
        })
        .await?;
    state
        .store
        .replace_agent_skills(&tenant.id, &user.id, &skills)
        .await?;
    state.store.replace_agent_queues(&user.id, &queues).await?;
    if let Some(capacity) = &spec.capacity {
        state
            .store
            .save_agent_capacity(&user.id, &stored_capacity(capacity))
            .await?;
    }
    tracing::info!(tenant = %tenant.name, user = %user.username, role = %user.role, "user created");
    applied(&state).await?;
    Ok((StatusCode::CREATED, Json(view(&state, user).await?)))
}

/// Changes a user: admins anything, supervisors skills, capacity and queues.
#[utoipa::path(put, path = "/api/v1/users/{username}", tag = "users", security(("bearer" = [])),
    params(("username" = String, Path, description = "the user name"), TenantQuery),
    request_body = UserUpdate,
    responses((status = 200, body = UserView), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn update(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    Query(query): Query<TenantQuery>,
    JsonBody(update): JsonBody<UserUpdate>,
) -> Result<Json<UserView>, Problem> {
    may_supervise(&caller, "change users")?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let user = existing(&state, &tenant, &username).await?;
    // Values sent unchanged (a form sends every field) need no admin.
    let role_changes = update.role.is_some_and(|role| role.as_str() != user.role);
    let touches_account = update
        .display_name
        .as_deref()
        .is_some_and(|name| name.trim() != user.display_name)
        || role_changes
        || update
            .extension
            .as_ref()
            .is_some_and(|ext| ext.as_deref() != user.extension.as_deref())
        || update.password.is_some()
        || update
            .disabled
            .is_some_and(|disabled| disabled != user.disabled_at.is_some());
    if touches_account {
        scope::require_admin(
            &caller,
            "a user's name, role, extension, password or status",
        )?;
    }
    if let Caller::User { user_id, .. } = &caller {
        if *user_id == user.id && (update.disabled == Some(true) || role_changes) {
            return Err(Problem::new(
                StatusCode::CONFLICT,
                "you cannot disable yourself or change your own role",
            ));
        }
    }
    let display_name = update
        .display_name
        .as_deref()
        .map(check_display_name)
        .transpose()?;
    if let Some(Some(extension)) = &update.extension {
        check_extension(extension)?;
        free_extension(&state, &tenant, extension, Some(&user.id)).await?;
    }
    if let Some(password) = &update.password {
        check_password(password)?;
    }
    let skills = update.skills.as_deref().map(check_skills).transpose()?;
    let queues = match &update.queues {
        Some(queues) => Some(check_queues(&state, &tenant, queues).await?),
        None => None,
    };
    let user = state
        .store
        .update_user(
            &user.id,
            &UserChange {
                display_name,
                role: update.role,
                extension: update.extension.as_ref().map(Option::as_deref),
                password: update.password.as_deref(),
                disabled: update.disabled,
            },
        )
        .await?;
    if let Some(skills) = skills {
        state
            .store
            .replace_agent_skills(&tenant.id, &user.id, &skills)
            .await?;
    }
    if let Some(queues) = queues {
        state.store.replace_agent_queues(&user.id, &queues).await?;
    }
    if let Some(capacity) = &update.capacity {
        state
            .store
            .save_agent_capacity(&user.id, &stored_capacity(capacity))
            .await?;
    }
    tracing::info!(tenant = %tenant.name, user = %user.username, "user changed");
    applied(&state).await?;
    Ok(Json(view(&state, user).await?))
}

/// The running services follow the change: the ACD reloads its agents and
/// queues, the registrar its HA1s.
async fn applied(state: &AppState) -> Result<(), Problem> {
    state.acd.reload().await?;
    state.sip_users.reload().await?;
    Ok(())
}

async fn existing(state: &AppState, tenant: &Tenant, username: &str) -> Result<User, Problem> {
    state
        .store
        .user_by_username(&tenant.id, username)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no user named `{username}`")))
}

async fn view(state: &AppState, user: User) -> Result<UserView, Problem> {
    let skills = state
        .store
        .agent_skills(&user.id)
        .await?
        .into_iter()
        .map(|(name, level)| SkillLevel {
            name,
            level: u8::try_from(level).unwrap_or(0),
        })
        .collect();
    let capacity = state.store.user_capacity(&user.id).await?;
    let byte = |n: i64| u8::try_from(n).unwrap_or(u8::MAX);
    Ok(UserView {
        skills,
        capacity: Capacity {
            voice: byte(capacity.voice),
            chat: byte(capacity.chat),
            wechat: byte(capacity.wechat),
            sms: byte(capacity.sms),
            email: byte(capacity.email),
            voice_blocks_other_channels: capacity.voice_blocks_other_channels,
        },
        queues: state.store.agent_queues(&user.id).await?,
        disabled: user.disabled_at.is_some(),
        username: user.username,
        display_name: user.display_name,
        role: user.role,
        extension: user.extension,
        created_at: user.created_at,
    })
}

fn stored_capacity(capacity: &Capacity) -> AgentCapacity {
    AgentCapacity {
        voice: i64::from(capacity.voice),
        chat: i64::from(capacity.chat),
        wechat: i64::from(capacity.wechat),
        sms: i64::from(capacity.sms),
        email: i64::from(capacity.email),
        voice_blocks_other_channels: capacity.voice_blocks_other_channels,
    }
}

fn check_username(name: &str) -> Result<(), Problem> {
    let ok = (1..=64).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'));
    if ok {
        Ok(())
    } else {
        Err(Problem::invalid(
            "username",
            "1-64 letters, digits, '.', '-' or '_'",
        ))
    }
}

fn check_display_name(name: &str) -> Result<&str, Problem> {
    let name = name.trim();
    if (1..=128).contains(&name.chars().count()) && !name.chars().any(char::is_control) {
        Ok(name)
    } else {
        Err(Problem::invalid(
            "display_name",
            "1-128 characters, no control characters",
        ))
    }
}

fn check_extension(extension: &str) -> Result<(), Problem> {
    if (2..=16).contains(&extension.len()) && extension.chars().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(Problem::invalid("extension", "2-16 digits"))
    }
}

async fn free_extension(
    state: &AppState,
    tenant: &Tenant,
    extension: &str,
    own: Option<&str>,
) -> Result<(), Problem> {
    match state.store.user_by_extension(&tenant.id, extension).await? {
        Some(other) if Some(other.id.as_str()) != own => Err(Problem {
            field: Some("extension".to_owned()),
            ..Problem::new(
                StatusCode::CONFLICT,
                format!("`extension`: {extension} is {}'s", other.username),
            )
        }),
        _ => Ok(()),
    }
}

fn check_password(password: &str) -> Result<(), Problem> {
    if (8..=128).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(Problem::invalid("password", "8-128 characters"))
    }
}

fn check_skills(skills: &[SkillLevel]) -> Result<Vec<(String, i64)>, Problem> {
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(skills.len());
    for (i, skill) in skills.iter().enumerate() {
        if !crate::flows::is_flow_name(&skill.name) {
            return Err(Problem::invalid(
                &format!("skills[{i}].name"),
                "1-64 letters, digits, '-' or '_'",
            ));
        }
        if !(1..=10).contains(&skill.level) {
            return Err(Problem::invalid(
                &format!("skills[{i}].level"),
                "a level is 1 to 10",
            ));
        }
        if !seen.insert(skill.name.as_str()) {
            return Err(Problem::invalid(
                &format!("skills[{i}].name"),
                format!("{:?} is listed twice", skill.name),
            ));
        }
        checked.push((skill.name.clone(), i64::from(skill.level)));
    }
    Ok(checked)
}

/// (queue id, tier, penalty) of each membership, once the queues exist.
async fn check_queues(
    state: &AppState,
    tenant: &Tenant,
    queues: &[QueueMembership],
) -> Result<Vec<(String, i64, i64)>, Problem> {
    let mut seen = HashSet::new();
    let mut checked = Vec::with_capacity(queues.len());
    for (i, member) in queues.iter().enumerate() {
        let Some(queue) = state.store.routing_queue(&tenant.id, &member.queue).await? else {
            return Err(Problem::invalid(
                &format!("queues[{i}].queue"),
                format!("no queue named {:?}", member.queue),
            ));
        };
        if member.tier == 0 {
            return Err(Problem::invalid(
                &format!("queues[{i}].tier"),
                "tiers start at 1",
            ));
        }
        if !seen.insert(queue.id.clone()) {
            return Err(Problem::invalid(
                &format!("queues[{i}].queue"),
                format!("{:?} is listed twice", member.queue),
            ));
        }
        checked.push((queue.id, i64::from(member.tier), i64::from(member.penalty)));
    }
    Ok(checked)
}
