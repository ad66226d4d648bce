//! Web logins and what admins change about users, in the store, on SQLite
//! and on PostgreSQL: login outcomes (by user name or extension, in one
//! tenant or ambiguous across tenants), session tokens that expire and are
//! revoked, and a disabled user whose tokens stop working.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use kefu::store::{LoginOutcome, Millis, NewUser, Role, Store, UserChange};

async fn user(store: &Store, tenant: &str, username: &str, extension: &str) -> String {
    let tenant = store.ensure_tenant(tenant, "kefu").await.unwrap();
    let (user, _) = store
        .ensure_user(&NewUser {
            tenant_id: &tenant.id,
            username,
            display_name: username,
            role: Role::Agent,
            extension: Some(extension),
            password: Some("right-password"),
        })
        .await
        .unwrap();
    user.id
}

fn verified_tenant(outcome: LoginOutcome) -> String {
    match outcome {
        LoginOutcome::Verified { tenant, .. } => tenant,
        other => panic!("not verified: {other:?}"),
    }
}

crate::store_on_both_engines!(logins_find_the_user_by_name_or_extension);
async fn logins_find_the_user_by_name_or_extension(store: &Store) {
    user(store, "acme", "alice", "2001").await;
    user(store, "acme", "bob", "2002").await;
    user(store, "globex", "alice", "3001").await;
    let login = |tenant: Option<&'static str>, name: &'static str, password: &'static str| {
        store.verify_login(tenant, name, password)
    };
    assert_eq!(
        verified_tenant(login(None, "bob", "right-password").await.unwrap()),
        "acme"
    );
    assert_eq!(
        verified_tenant(login(None, "3001", "right-password").await.unwrap()),
        "globex"
    );
    assert_eq!(
        verified_tenant(
            login(Some("globex"), "alice", "right-password")
                .await
                .unwrap()
        ),
        "globex"
    );
    assert_eq!(
        login(None, "alice", "right-password").await.unwrap(),
        LoginOutcome::Ambiguous
    );
    for (tenant, name, password) in [
        (None, "bob", "wrong-password"),
        (None, "nobody", "right-password"),
        (Some("globex"), "bob", "right-password"),
        (Some("initech"), "bob", "right-password"),
    ] {
        assert_eq!(
            login(tenant, name, password).await.unwrap(),
            LoginOutcome::Failed,
            "{tenant:?} {name} {password}"
        );
    }
}

crate::store_on_both_engines!(sessions_expire_and_are_revoked);
async fn sessions_expire_and_are_revoked(store: &Store) {
    let user_id = user(store, "acme", "alice", "2001").await;
    let tenant = store.tenant_by_name("acme").await.unwrap().unwrap();
    let later = Millis(Millis::now().0 + 60_000);
    let live = store
        .issue_session(&tenant.id, &user_id, later)
        .await
        .unwrap();
    let found = store.find_token(&live.secret).await.unwrap().unwrap();
    assert_eq!(found.user_id.as_deref(), Some(user_id.as_str()));
    assert_eq!(found.role, Some(Role::Agent));
    let expired = store
        .issue_session(&tenant.id, &user_id, Millis(Millis::now().0 - 1))
        .await
        .unwrap();
    assert_eq!(store.find_token(&expired.secret).await.unwrap(), None);
    assert!(store.revoke_session(&live.secret).await.unwrap());
    assert!(!store.revoke_session(&live.secret).await.unwrap());
    assert_eq!(store.find_token(&live.secret).await.unwrap(), None);
}

crate::store_on_both_engines!(a_disabled_users_tokens_and_login_stop_working);
async fn a_disabled_users_tokens_and_login_stop_working(store: &Store) {
    let user_id = user(store, "acme", "alice", "2001").await;
    let tenant = store.tenant_by_name("acme").await.unwrap().unwrap();
    let session = store
        .issue_session(&tenant.id, &user_id, Millis(Millis::now().0 + 60_000))
        .await
        .unwrap();
    let changed = store
        .update_user(
            &user_id,
            &UserChange {
                password: Some("new-password"),
                role: Some(Role::Supervisor),
                ..UserChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(changed.role, "supervisor");
    assert_eq!(
        store
            .verify_login(None, "alice", "right-password")
            .await
            .unwrap(),
        LoginOutcome::Failed
    );
    verified_tenant(
        store
            .verify_login(None, "alice", "new-password")
            .await
            .unwrap(),
    );
    let credentials = store.sip_credentials(&tenant.id, "alice").await.unwrap();
    assert!(credentials.is_some(), "the SIP HA1s follow the password");

    store
        .update_user(
            &user_id,
            &UserChange {
                disabled: Some(true),
                ..UserChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(store.find_token(&session.secret).await.unwrap(), None);
    assert_eq!(
        store
            .verify_login(None, "alice", "new-password")
            .await
            .unwrap(),
        LoginOutcome::Failed
    );
    assert_eq!(
        store.sip_credentials(&tenant.id, "alice").await.unwrap(),
        None
    );
    let enabled = store
        .update_user(
            &user_id,
            &UserChange {
                disabled: Some(false),
                ..UserChange::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(enabled.disabled_at, None);
    verified_tenant(
        store
            .verify_login(None, "2001", "new-password")
            .await
            .unwrap(),
    );
}
