//! The demo tenant that `kefu serve --demo` provisions, idempotently: trunk
//! `demo` trusted from 127.0.0.1, DID 4000 → the default IVR flow, DID 4001 →
//! the echo test, DID 4002 → out through trunk `loopback` (127.0.0.1:5070),
//! DID 4003 → the VIP flow (CRM webhook), DID 4004 → the after-hours flow,
//! the business-hours calendar `support` (Mon-Fri 09:00-18:00
//! Asia/Shanghai, with holidays), agents 1001-1003 (password `demo<ext>`,
//! also dialable by extension), the supervisor 1009 (password `demo1009`, in
//! no queue: the phone that rings to monitor, whisper or barge), queues `sales` and `support`, the web chat
//! channel `demo` (queues support and sales, any site, identity JWTs signed
//! with [`CHAT_IDENTITY_KEY`]) and `demo-shop` (only `https://shop.example`
//! and kefu's own pages may embed it), and canned chat responses `/hello`
//! and `/bye`, and the tenant admin `admin` (web password [`ADMIN_PASSWORD`],
//! for the admin pages at `/admin/`).
//!
//! Flows and the calendar are created when missing and otherwise left as
//! they are, so edits made through the API (or the IVR scripts folder) are
//! kept across restarts.

use crate::calendar::{CalendarSpec, Weekly};
use crate::store::{
    IssuedToken, NewChatChannel, NewUser, Role, RouteTarget, Scope, Store, StoreError,
};

/// The demo tenant's name.
pub const TENANT: &str = "demo";
/// The digest realm demo phones register in.
pub const SIP_REALM: &str = "kefu";
/// The HMAC key of the demo chat channel's identity JWTs (HS256).
pub const CHAT_IDENTITY_KEY: &str = "demo-chat-identity-key";
/// Canned chat responses of the demo tenant.
const CANNED: [(&str, &str); 2] = [
    ("hello", "Hello! How can I help you today?"),
    ("bye", "Thank you for chatting with us. Goodbye!"),
];
/// The demo tenant admin's user name and web password (`/admin/`).
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "demoadmin";
/// The name of the agents' demo API tokens (reissued at every start).
const TOKEN_NAME: &str = "demo";

/// The shipped flows (`ivr-scripts/`) and the DIDs that reach them.
const FLOWS: [(&str, &str, &str); 3] = [
    (
        "default",
        "4000",
        include_str!("../ivr-scripts/default.toml"),
    ),
    ("vip", "4003", include_str!("../ivr-scripts/vip.toml")),
    (
        "after-hours",
        "4004",
        include_str!("../ivr-scripts/after-hours.toml"),
    ),
];

/// The calendar `after-hours.toml` asks: Mon-Fri 09:00-18:00 in Shanghai,
/// closed on the National Day holidays and New Year's Day.
fn support_calendar() -> CalendarSpec {
    let office = || vec!["09:00-18:00".to_owned()];
    CalendarSpec {
        time_zone: "Asia/Shanghai".to_owned(),
        weekly: Weekly {
            mon: office(),
            tue: office(),
            wed: office(),
            thu: office(),
            fri: office(),
            ..Weekly::default()
        },
        holidays: ["2026-10-01", "2026-10-02", "2026-10-05", "2027-01-01"]
            .map(str::to_owned)
            .to_vec(),
    }
}

struct DemoAgent {
    extension: &'static str,
    name: &'static str,
    queues: &'static [&'static str],
    skills: &'static [(&'static str, i64)],
}

const AGENTS: &[DemoAgent] = &[
    DemoAgent {
        extension: "1001",
        name: "Alice Wang",
        queues: &["sales", "support"],
        skills: &[("english", 8), ("chinese", 6), ("vip", 8)],
    },
    DemoAgent {
        extension: "1002",
        name: "Bob Li",
        queues: &["sales"],
        skills: &[("english", 6)],
    },
    DemoAgent {
        extension: "1003",
        name: "Chen Jing",
        queues: &["support"],
        skills: &[("chinese", 9), ("english", 5)],
    },
];

/// The demo supervisor: extension, username and name (password `demo<ext>`).
const SUPERVISOR: (&str, &str) = ("1009", "Sam Zhou");

/// An outbound trunk to a SIP server on this host's port 5070 (e.g. `sipp -sn
/// uas -p 5070`), behind DID 4002: calls through the B2BUA out to a trunk.
const LOOPBACK_TRUNK: &str = "loopback";
const LOOPBACK_TRUNK_PORT: u16 = 5070;

/// What the demo provisioning made this time.
pub struct DemoTenant {
    /// The tenant's id.
    pub tenant_id: String,
    /// A fresh API token per demo agent (extension, token); older ones are revoked.
    pub agent_tokens: Vec<(&'static str, IssuedToken)>,
    /// The same for the demo supervisor.
    pub supervisor_token: (&'static str, IssuedToken),
}

/// Creates whatever of the demo tenant is missing and reissues agent tokens.
pub async fn provision(store: &Store) -> Result<DemoTenant, StoreError> {
    let tenant = store.ensure_tenant(TENANT, SIP_REALM).await?;
    store
        .ensure_trunk(&tenant.id, "demo", "127.0.0.1/32")
        .await?;
    for queue in ["sales", "support"] {
        store.ensure_queue(&tenant.id, queue).await?;
    }
    store
        .ensure_calendar(&tenant.id, "support", &support_calendar())
        .await?;
    for (name, did, source) in FLOWS {
        store.ensure_ivr_flow(&tenant.id, name, source).await?;
        store
            .set_number_route(&tenant.id, did, &RouteTarget::Ivr(name.into()))
            .await?;
    }
    store
        .set_number_route(&tenant.id, "4001", &RouteTarget::Echo)
        .await?;
    let loopback = store.ensure_trunk(&tenant.id, LOOPBACK_TRUNK, "").await?;
    store
        .set_trunk_target(&loopback.id, "127.0.0.1", LOOPBACK_TRUNK_PORT, "udp")
        .await?;
    store
        .set_number_route(
            &tenant.id,
            "4002",
            &RouteTarget::Trunk(LOOPBACK_TRUNK.into()),
        )
        .await?;
    provision_chat(store, &tenant.id).await?;
    store
        .ensure_user(&NewUser {
            tenant_id: &tenant.id,
            username: ADMIN_USERNAME,
            display_name: "Demo Admin",
            role: Role::Admin,
            extension: None,
            password: Some(ADMIN_PASSWORD),
        })
        .await?;
    store.revoke_tokens(TOKEN_NAME, Scope::Agent).await?;
    let mut agent_tokens = Vec::new();
    for agent in AGENTS {
        let password = format!("demo{}", agent.extension);
        let (user, _) = store
            .ensure_user(&NewUser {
                tenant_id: &tenant.id,
                username: agent.extension,
                display_name: agent.name,
                role: Role::Agent,
                extension: Some(agent.extension),
                password: Some(&password),
            })
            .await?;
        for queue in agent.queues {
            let queue = store.ensure_queue(&tenant.id, queue).await?;
            store.set_queue_member(&queue.id, &user.id, 1, 0).await?;
        }
        for (skill, level) in agent.skills {
            let skill = store.ensure_skill(&tenant.id, skill).await?;
            store.set_agent_skill(&user.id, &skill, *level).await?;
        }
        let token = store
            .issue_token(TOKEN_NAME, Scope::Agent, Some(&tenant.id), Some(&user.id))
            .await?;
        agent_tokens.push((agent.extension, token));
    }
    let (extension, name) = SUPERVISOR;
    let password = format!("demo{extension}");
    let (supervisor, _) = store
        .ensure_user(&NewUser {
            tenant_id: &tenant.id,
            username: extension,
            display_name: name,
            role: Role::Supervisor,
            extension: Some(extension),
            password: Some(&password),
        })
        .await?;
    let token = store
        .issue_token(
            TOKEN_NAME,
            Scope::Agent,
            Some(&tenant.id),
            Some(&supervisor.id),
        )
        .await?;
    Ok(DemoTenant {
        tenant_id: tenant.id,
        agent_tokens,
        supervisor_token: (extension, token),
    })
}

/// The demo chat channels and canned responses (edited responses are kept).
async fn provision_chat(store: &Store, tenant_id: &str) -> Result<(), StoreError> {
    let queues = ["support".to_owned(), "sales".to_owned()];
    store
        .ensure_chat_channel(&NewChatChannel {
            tenant_id,
            name: "demo",
            queues: &queues,
            allowed_origins: &[],
            identity_key: Some(CHAT_IDENTITY_KEY),
        })
        .await?;
    store
        .ensure_chat_channel(&NewChatChannel {
            tenant_id,
            name: "demo-shop",
            queues: &queues[..1],
            allowed_origins: &["https://shop.example".to_owned()],
            identity_key: None,
        })
        .await?;
    for (shortcut, body) in CANNED {
        if store.canned_response(tenant_id, shortcut).await?.is_none() {
            store.put_canned_response(tenant_id, shortcut, body).await?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::Calendar;
    use crate::ivr::{check_against, validate::Known};

    #[test]
    fn demo_flows_validate_against_the_demo_calendars() {
        assert!(Calendar::from_spec(&support_calendar()).is_ok());
        let calendars = ["support".to_owned()];
        for (name, _, source) in FLOWS {
            let file = format!("{name}.toml");
            let checked = check_against(
                &file,
                source,
                Known {
                    calendars: &calendars,
                },
            );
            let flow = checked
                .flow
                .unwrap_or_else(|| panic!("{:?}", checked.diagnostics));
            assert_eq!(flow.name, name);
        }
    }
}
