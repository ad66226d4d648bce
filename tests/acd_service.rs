//! The routing service through the Rust API call control uses
//! ([`AcdHandle`]), on a real store: offers name the agent to ring, each
//! contact's updates arrive in order and end with a final one, answers and
//! refusals behave, and the lifecycle is persisted (on SQLite and PostgreSQL).

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::time::{Duration, Instant};

use kefu::routing::{
    self, AcdHandle, AcdService, Channel, ContactRequest, ContactUpdate, ContactUpdates, OfferEnd,
    Presence, RoutingError, SkillNeed,
};
use kefu::store::{NewUser, Role, Store};

/// Tenant `acme`: queue `sales` served by agents 2001 (French 8) and 2002.
async fn acme(store: &Store) -> (String, AcdHandle, AcdService) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let sales = store.ensure_queue(&tenant.id, "sales").await.unwrap();
    let french = store.ensure_skill(&tenant.id, "french").await.unwrap();
    for extension in ["2001", "2002"] {
        let (user, _) = store
            .ensure_user(&NewUser {
                tenant_id: &tenant.id,
                username: extension,
                display_name: extension,
                role: Role::Agent,
                extension: Some(extension),
                password: None,
            })
            .await
            .unwrap();
        store
            .set_queue_member(&sales.id, &user.id, 1, 0)
            .await
            .unwrap();
        if extension == "2001" {
            store.set_agent_skill(&user.id, &french, 8).await.unwrap();
        }
    }
    let (handle, service) = routing::start(store).await.unwrap();
    (tenant.id, handle, service)
}

fn call(tenant: &str) -> ContactRequest {
    ContactRequest {
        tenant: tenant.to_owned(),
        channel: Channel::Voice,
        queue: "sales".into(),
        priority: 0,
        skills: Vec::new(),
        customer: Some("+33123456789".into()),
        call_id: None,
        preferred_agent: None,
    }
}

async fn next(updates: &mut ContactUpdates) -> ContactUpdate {
    tokio::time::timeout(Duration::from_secs(20), updates.next())
        .await
        .expect("an update in time")
        .expect("the stream goes on")
}

async fn ready(acd: &AcdHandle, tenant: &str, extension: &str) {
    acd.login(tenant, extension).await.unwrap();
    let status = acd
        .set_state(tenant, extension, Presence::Ready)
        .await
        .unwrap();
    assert!(
        matches!(status.state.as_str(), "ready" | "busy"),
        "{status:?}"
    );
}

crate::store_on_both_engines!(a_call_is_offered_by_extension_answered_ended_and_recorded);
async fn a_call_is_offered_by_extension_answered_ended_and_recorded(store: &Store) {
    let (tenant, acd, service) = acme(store).await;
    ready(&acd, &tenant, "2001").await;
    let mut request = call(&tenant);
    request.skills = vec![SkillNeed {
        name: "french".into(),
        min_level: 5,
    }];
    let mut contact = acd.enqueue(request).await.unwrap();
    assert_eq!(store.contact(&contact.id.0).await.unwrap().channel, "voice");

    let ContactUpdate::Offered(offer) = next(&mut contact.updates).await else {
        panic!("the first update is the offer");
    };
    assert_eq!(offer.agent.extension, "2001");
    assert_eq!(
        (offer.channel, offer.queue.as_str()),
        (Channel::Voice, "sales")
    );
    assert!(offer.deadline > Instant::now());
    acd.accept(&offer).await.unwrap();
    let ContactUpdate::Answered { agent, .. } = next(&mut contact.updates).await else {
        panic!("answered after the accept");
    };
    assert_eq!(agent.extension, "2001");
    let busy = acd.agents(&tenant).await.unwrap();
    assert_eq!(busy[0].contacts[0].stage, "assigned");
    acd.end(&contact.id).await.unwrap();
    let ended = next(&mut contact.updates).await;
    assert!(matches!(ended, ContactUpdate::Ended { .. }) && ended.is_final());
    assert!(
        contact.updates.next().await.is_none(),
        "nothing after the end"
    );
    assert!(matches!(
        acd.end(&contact.id).await,
        Err(RoutingError::UnknownContact(_))
    ));
    let after = acd.agents(&tenant).await.unwrap();
    assert_eq!(after[0].state, "wrap_up", "demo queues wrap up for 10 s");

    service.stop(Duration::from_secs(5)).await;
    let events = store.contact_events(&contact.id.0).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "queued", "offered", "accepted", "ended"]);
    let row = store.contact(&contact.id.0).await.unwrap();
    assert_eq!(row.state, "ended");
    assert_eq!(row.agent_id.as_deref(), Some(agent.user_id.as_str()));
    assert_eq!(row.disposition.as_deref(), Some("completed"));
    let states: Vec<(String, String)> = store
        .agent_events(&agent.user_id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.state, e.cause))
        .collect();
    let expected = [
        ("not_ready", "login"),
        ("ready", "requested"),
        ("busy", "offered"),
        ("wrap_up", "contact_ended"),
    ];
    assert_eq!(
        states,
        expected.map(|(s, c)| (s.to_owned(), c.to_owned())),
        "the agent's state log"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_callers_hear_their_place_and_offers_move_on() {
    let (_dir, store) = common::store::sqlite().await;
    let (tenant, acd, service) = acme(&store).await;
    let mut first = acd.enqueue(call(&tenant)).await.unwrap();
    let mut second = acd.enqueue(call(&tenant)).await.unwrap();
    assert!(matches!(
        next(&mut first.updates).await,
        ContactUpdate::Waiting { position: 1, .. }
    ));
    assert!(matches!(
        next(&mut second.updates).await,
        ContactUpdate::Waiting { position: 2, .. }
    ));
    acd.abandon(&first.id).await.unwrap();
    assert!(matches!(
        next(&mut first.updates).await,
        ContactUpdate::Abandoned { .. }
    ));

    ready(&acd, &tenant, "2002").await;
    let ContactUpdate::Offered(offer) = next(&mut second.updates).await else {
        panic!("offered once 2002 is ready");
    };
    assert_eq!(offer.agent.extension, "2002");
    acd.timeout(&offer).await.unwrap();
    let ended = next(&mut second.updates).await;
    assert!(matches!(
        ended,
        ContactUpdate::OfferEnded {
            reason: OfferEnd::NoAnswer,
            ..
        }
    ));
    let ContactUpdate::Offered(again) = next(&mut second.updates).await else {
        panic!("offered again: 2002 is the only agent");
    };
    acd.decline(&again).await.unwrap();
    assert!(matches!(
        next(&mut second.updates).await,
        ContactUpdate::OfferEnded {
            reason: OfferEnd::Declined,
            ..
        }
    ));
    let ContactUpdate::Offered(third) = next(&mut second.updates).await else {
        panic!("offered again: everyone able has let it go, so everyone is tried again");
    };
    acd.accept(&third).await.unwrap();
    assert!(matches!(
        next(&mut second.updates).await,
        ContactUpdate::Answered { .. }
    ));
    assert!(matches!(
        acd.abandon(&second.id).await,
        Err(RoutingError::Refused(reason)) if reason.contains("end it instead")
    ));
    service.stop(Duration::from_secs(5)).await;
    let kinds: Vec<String> = store
        .contact_events(&second.id.0)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds[..6],
        [
            "created",
            "queued",
            "offered",
            "no_answer",
            "offered",
            "declined"
        ]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_naming_unknown_things_are_refused_until_a_reload() {
    let (_dir, store) = common::store::sqlite().await;
    let (tenant, acd, _service) = acme(&store).await;
    let mut request = call(&tenant);
    request.priority = 10;
    assert!(matches!(
        acd.enqueue(request).await,
        Err(RoutingError::Priority(10))
    ));
    let mut request = call(&tenant);
    request.skills = vec![SkillNeed {
        name: "klingon".into(),
        min_level: 1,
    }];
    assert!(matches!(
        acd.enqueue(request).await,
        Err(RoutingError::UnknownSkill(_))
    ));
    assert!(matches!(
        acd.login(&tenant, "9999").await,
        Err(RoutingError::UnknownAgent(_))
    ));
    assert!(matches!(
        acd.login("other-tenant", "2001").await,
        Err(RoutingError::UnknownAgent(_))
    ));
    assert!(matches!(
        acd.set_state(&tenant, "2001", Presence::Ready).await,
        Err(RoutingError::Refused(reason)) if reason.contains("2001 is not logged in")
    ));

    store.ensure_queue(&tenant, "billing").await.unwrap();
    let mut billing = call(&tenant);
    billing.queue = "billing".into();
    assert!(matches!(
        acd.enqueue(billing.clone()).await,
        Err(RoutingError::UnknownQueue(_))
    ));
    acd.reload().await.unwrap();
    let mut contact = acd.enqueue(billing).await.unwrap();
    assert!(matches!(
        next(&mut contact.updates).await,
        ContactUpdate::Waiting { position: 1, .. }
    ));
    let queues = acd.queues(&tenant).await.unwrap();
    let names: Vec<&str> = queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["billing", "sales"]);
    assert_eq!((queues[0].offered, queues[0].waiting), (1, 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn stopping_closes_the_contacts_still_in_the_acd() {
    let (_dir, store) = common::store::sqlite().await;
    let (tenant, acd, service) = acme(&store).await;
    let mut waiting = acd.enqueue(call(&tenant)).await.unwrap();
    next(&mut waiting.updates).await;
    service.stop(Duration::from_secs(5)).await;
    assert!(waiting.updates.next().await.is_none(), "the stream ends");
    assert!(matches!(
        acd.enqueue(call(&tenant)).await,
        Err(RoutingError::Stopped)
    ));
    let row = store.contact(&waiting.id.0).await.unwrap();
    assert_eq!(
        (row.state.as_str(), row.disposition.as_deref()),
        ("closed", Some("shutdown"))
    );
    let events = store.contact_events(&waiting.id.0).await.unwrap();
    assert_eq!(events.last().unwrap().data, r#"{"stage":"waiting"}"#);
}
