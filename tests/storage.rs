//! The store on both engines: every scenario runs on SQLite and on
//! PostgreSQL (a throwaway cluster), through the same `Store` API.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use kefu::calendar::{CalendarSpec, Weekly};
use kefu::store::{
    AgentCapacity, AgentRecord, CallWrite, ContactRecord, Millis, NewCall, NewCallLeg, NewContact,
    NewRecording, NewUser, Role, RouteTarget, Scope, Store, StoreError, StoredBinding, new_call_id,
};
use kefu_signaling::auth::Ha1Pair;

crate::store_on_both_engines!(migrations_are_idempotent);
async fn migrations_are_idempotent(store: &Store) {
    store.ping().await.unwrap();
    store.ensure_tenant("acme", "acme.example").await.unwrap();
    store
        .tenant_by_name("acme")
        .await
        .unwrap()
        .expect("row survives");
}

crate::store_on_both_engines!(users_keep_hashes_not_passwords);
async fn users_keep_hashes_not_passwords(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let new = NewUser {
        tenant_id: &tenant.id,
        username: "2001",
        display_name: "Dana",
        role: Role::Agent,
        extension: Some("2001"),
        password: Some("s3cret pass"),
    };
    let (user, created) = store.ensure_user(&new).await.unwrap();
    assert!(created);
    assert_eq!(user.extension.as_deref(), Some("2001"));
    let (again, created) = store.ensure_user(&new).await.unwrap();
    assert!(!created);
    assert_eq!(again.id, user.id);

    let verified = store
        .verify_password(&tenant.id, "2001", "s3cret pass")
        .await
        .unwrap();
    assert_eq!(verified.map(|u| u.id), Some(user.id.clone()));
    assert_eq!(
        store
            .verify_password(&tenant.id, "2001", "wrong")
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store
            .verify_password(&tenant.id, "nobody", "s3cret pass")
            .await
            .unwrap(),
        None
    );

    let creds = store
        .sip_credentials(&tenant.id, "2001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        creds.ha1_md5,
        Ha1Pair::from_password("2001", "acme.example", "s3cret pass").md5
    );
    assert_eq!(
        creds.ha1_sha256,
        Ha1Pair::from_password("2001", "acme.example", "s3cret pass").sha256
    );
    assert_eq!(
        store
            .users_with_role(&tenant.id, Role::Agent)
            .await
            .unwrap(),
        vec![user.clone()]
    );
    assert!(
        store
            .users_with_role(&tenant.id, Role::Admin)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(store.user(&user.id).await.unwrap(), user);
}

crate::store_on_both_engines!(tokens_are_found_by_secret_and_revocable);
async fn tokens_are_found_by_secret_and_revocable(store: &Store) {
    assert!(!store.has_admin_token().await.unwrap());
    let issued = store
        .issue_token("admin", Scope::Admin, None, None)
        .await
        .unwrap();
    assert!(issued.secret.starts_with("kefu_admin_") && issued.secret.len() > 64);
    assert!(store.has_admin_token().await.unwrap());
    let found = store.find_token(&issued.secret).await.unwrap().unwrap();
    assert_eq!(found.scope, Scope::Admin);
    assert_eq!(found.id, issued.id);
    assert_eq!(store.find_token("kefu_admin_guess").await.unwrap(), None);
    assert_eq!(store.revoke_tokens("admin", Scope::Admin).await.unwrap(), 1);
    assert_eq!(store.find_token(&issued.secret).await.unwrap(), None);
    assert!(!store.has_admin_token().await.unwrap());
}

crate::store_on_both_engines!(directory_routes_numbers_to_targets);
async fn directory_routes_numbers_to_targets(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let trunk = store
        .ensure_trunk(&tenant.id, "carrier", "192.0.2.0/24")
        .await
        .unwrap();
    assert_eq!(trunk.transport, "udp");
    let again = store
        .ensure_trunk(&tenant.id, "carrier", "198.51.100.7/32")
        .await
        .unwrap();
    assert_eq!(again.id, trunk.id);
    assert_eq!(again.trusted_cidrs, "198.51.100.7/32");
    store
        .set_number_route(&tenant.id, "5000", &RouteTarget::Queue("sales".into()))
        .await
        .unwrap();
    store
        .set_number_route(&tenant.id, "5001", &RouteTarget::Echo)
        .await
        .unwrap();
    store
        .set_number_route(&tenant.id, "5000", &RouteTarget::Agent("2001".into()))
        .await
        .unwrap();
    let routes = store.number_routes(&tenant.id).await.unwrap();
    let routes: Vec<_> = routes
        .iter()
        .map(|r| (r.number.as_str(), r.route.clone()))
        .collect();
    assert_eq!(
        routes,
        [
            ("5000", RouteTarget::Agent("2001".into())),
            ("5001", RouteTarget::Echo)
        ]
    );
    assert_eq!(store.trunks(&tenant.id).await.unwrap().len(), 1);
    assert_eq!(
        store
            .number_route(&tenant.id, "5001")
            .await
            .unwrap()
            .map(|r| r.route),
        Some(RouteTarget::Echo)
    );
    assert_eq!(store.number_route(&tenant.id, "5999").await.unwrap(), None);
}

crate::store_on_both_engines!(trunks_are_found_by_trusted_source);
async fn trunks_are_found_by_trusted_source(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    store
        .ensure_trunk(
            &tenant.id,
            "carrier",
            "192.0.2.0/24, 198.51.100.7, not-a-network",
        )
        .await
        .unwrap();
    let found = |ip: &str| {
        let ip = ip.parse().unwrap();
        async move { store.trunk_trusting(ip).await.unwrap().map(|t| t.name) }
    };
    assert_eq!(found("192.0.2.200").await.as_deref(), Some("carrier"));
    assert_eq!(found("198.51.100.7").await.as_deref(), Some("carrier"));
    assert_eq!(found("198.51.100.8").await, None);
    assert_eq!(found("203.0.113.1").await, None);
}

crate::store_on_both_engines!(queues_skills_and_members_round_trip);
async fn queues_skills_and_members_round_trip(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let queue = store.ensure_queue(&tenant.id, "vip").await.unwrap();
    assert_eq!(queue.strategy, "longest-idle");
    assert_eq!(
        store.ensure_queue(&tenant.id, "vip").await.unwrap().id,
        queue.id
    );
    let (agent, _) = store
        .ensure_user(&NewUser {
            tenant_id: &tenant.id,
            username: "2002",
            display_name: "Eve",
            role: Role::Agent,
            extension: Some("2002"),
            password: None,
        })
        .await
        .unwrap();
    let skill = store.ensure_skill(&tenant.id, "french").await.unwrap();
    assert_eq!(
        store.ensure_skill(&tenant.id, "french").await.unwrap(),
        skill
    );
    store.set_agent_skill(&agent.id, &skill, 4).await.unwrap();
    store.set_agent_skill(&agent.id, &skill, 7).await.unwrap();
    assert_eq!(
        store.agent_skills(&agent.id).await.unwrap(),
        [("french".to_owned(), 7)]
    );
    assert!(
        store.set_agent_skill(&agent.id, &skill, 11).await.is_err(),
        "levels are 1-10"
    );
    store
        .set_queue_member(&queue.id, &agent.id, 2, 5)
        .await
        .unwrap();
    let members = store.queue_members(&queue.id).await.unwrap();
    assert_eq!((members[0].tier, members[0].penalty), (2, 5));
}

crate::store_on_both_engines!(ivr_flow_versions_grow_only_on_change);
async fn ivr_flow_versions_grow_only_on_change(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let v1 = store
        .save_ivr_flow(&tenant.id, "main", "start = \"a\"")
        .await
        .unwrap();
    assert_eq!(v1.version, 1);
    let same = store
        .save_ivr_flow(&tenant.id, "main", "start = \"a\"")
        .await
        .unwrap();
    assert_eq!(same.version, 1);
    let v2 = store
        .save_ivr_flow(&tenant.id, "main", "start = \"b\"")
        .await
        .unwrap();
    assert_eq!((v2.version, v2.source.as_str()), (2, "start = \"b\""));
    store
        .ensure_ivr_flow(&tenant.id, "main", "start = \"c\"")
        .await
        .unwrap();
    store
        .ensure_ivr_flow(&tenant.id, "extra", "start = \"x\"")
        .await
        .unwrap();
    let flows = store.ivr_flows(&tenant.id).await.unwrap();
    let listed: Vec<(&str, i64)> = flows.iter().map(|f| (f.name.as_str(), f.version)).collect();
    assert_eq!(listed, vec![("extra", 1), ("main", 2)]);
    assert_eq!(flows[1].source, "start = \"b\"", "ensure keeps what exists");
}

crate::store_on_both_engines!(calendars_keep_the_spec_per_tenant);
async fn calendars_keep_the_spec_per_tenant(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let other = store.ensure_tenant("beta", "beta.example").await.unwrap();
    let spec = CalendarSpec {
        time_zone: "Asia/Shanghai".into(),
        weekly: Weekly {
            mon: vec!["09:00-12:00".into(), "13:00-18:00".into()],
            sat: vec!["10:00-14:00".into()],
            ..Weekly::default()
        },
        holidays: vec!["2026-10-01".into()],
    };
    assert!(
        store
            .calendar(&tenant.id, "support")
            .await
            .unwrap()
            .is_none()
    );
    let saved = store
        .save_calendar(&tenant.id, "support", &spec)
        .await
        .unwrap();
    assert_eq!((saved.name.as_str(), &saved.spec), ("support", &spec));
    let read = store
        .calendar(&tenant.id, "support")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(read, saved);
    assert!(
        store
            .calendar(&other.id, "support")
            .await
            .unwrap()
            .is_none()
    );

    let changed = CalendarSpec {
        time_zone: "UTC".into(),
        ..spec.clone()
    };
    store
        .ensure_calendar(&tenant.id, "support", &changed)
        .await
        .unwrap();
    let kept = store
        .calendar(&tenant.id, "support")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        kept.spec.time_zone, "Asia/Shanghai",
        "ensure keeps what exists"
    );
    let replaced = store
        .save_calendar(&tenant.id, "support", &changed)
        .await
        .unwrap();
    assert_eq!(replaced.spec, changed);
    store
        .ensure_calendar(&tenant.id, "sales", &spec)
        .await
        .unwrap();
    assert_eq!(
        store.calendar_names(&tenant.id).await.unwrap(),
        vec!["sales".to_owned(), "support".to_owned()]
    );
    store
        .save_calendar(&other.id, "night", &spec)
        .await
        .unwrap();
    let all = store.all_calendars().await.unwrap();
    let mut names: Vec<(bool, &str)> = all
        .iter()
        .map(|c| (c.tenant_id == tenant.id, c.calendar.name.as_str()))
        .collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [(false, "night"), (true, "sales"), (true, "support")],
        "every tenant's calendars, with their tenant"
    );
    let support = all.iter().find(|c| c.calendar.name == "support").unwrap();
    assert_eq!(support.calendar.spec, changed);
}

crate::store_on_both_engines!(call_detail_records_follow_the_call);
async fn call_detail_records_follow_the_call(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let call_id = store
        .create_call(&NewCall {
            tenant_id: Some(&tenant.id),
            direction: "inbound",
            from_uri: "sip:+8613800000000@carrier",
            to_uri: "sip:4000@kefu",
            did: Some("4000"),
            started_at: Millis(1_000),
        })
        .await
        .unwrap();
    let a = store
        .add_call_leg(&NewCallLeg {
            call_id: &call_id,
            role: "caller",
            sip_call_id: "abc@carrier",
            peer_uri: "sip:+8613800000000@carrier",
            started_at: Millis(1_000),
        })
        .await
        .unwrap();
    let b = store
        .add_call_leg(&NewCallLeg {
            call_id: &call_id,
            role: "agent",
            sip_call_id: "def@kefu",
            peer_uri: "sip:1001@10.0.0.5",
            started_at: Millis(5_000),
        })
        .await
        .unwrap();
    store
        .finish_call_leg_setup(&a, 200, Millis(1_200))
        .await
        .unwrap();
    store
        .finish_call_leg_setup(&b, 200, Millis(7_000))
        .await
        .unwrap();
    store.answer_call(&call_id, Millis(1_200)).await.unwrap();
    store.answer_call(&call_id, Millis(9_999)).await.unwrap();
    store
        .end_call(&call_id, Millis(60_000), "caller hung up")
        .await
        .unwrap();
    store
        .end_call(&call_id, Millis(70_000), "late duplicate")
        .await
        .unwrap();
    let call = store.call(&call_id).await.unwrap();
    assert_eq!(call.answered_at, Some(1_200), "the first answer wins");
    assert_eq!(call.ended_at, Some(60_000), "the first end wins");
    assert_eq!(call.end_reason.as_deref(), Some("caller hung up"));
    let legs = store.call_legs(&call_id).await.unwrap();
    assert_eq!(legs.len(), 2);
    assert_eq!(legs[1].answered_at, Some(7_000));
    assert!(
        legs.iter().all(|leg| leg.ended_at == Some(60_000)),
        "open legs end with the call"
    );
    assert!(matches!(
        store.call("missing").await,
        Err(StoreError::NotFound { .. })
    ));
}

crate::store_on_both_engines!(an_attended_transfer_moves_a_leg_and_a_hangup_cause_is_kept);
async fn an_attended_transfer_moves_a_leg_and_a_hangup_cause_is_kept(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let call = |did: &'static str| NewCall {
        tenant_id: Some(&tenant.id),
        direction: "inbound",
        from_uri: "sip:caller@carrier",
        to_uri: "sip:1001@kefu",
        did: Some(did),
        started_at: Millis(1_000),
    };
    let customers = store.create_call(&call("1001")).await.unwrap();
    let consultation = store.create_call(&call("1002")).await.unwrap();
    let target = store
        .add_call_leg(&NewCallLeg {
            call_id: &consultation,
            role: "agent",
            sip_call_id: "b-leg@kefu",
            peer_uri: "sip:1002@10.0.0.6",
            started_at: Millis(2_000),
        })
        .await
        .unwrap();
    let adopted = store
        .adopt_call_leg(&target, &customers, Millis(9_000))
        .await
        .unwrap()
        .expect("the leg exists");
    assert_eq!(
        store
            .adopt_call_leg("missing", &customers, Millis(9_000))
            .await
            .unwrap(),
        None
    );
    let legs = store.call_legs(&customers).await.unwrap();
    let [leg] = &legs[..] else {
        panic!("one adopted leg: {legs:?}");
    };
    assert_eq!(leg.id, adopted);
    assert_eq!(
        (
            leg.role.as_str(),
            leg.sip_call_id.as_str(),
            leg.peer_uri.as_str()
        ),
        ("agent", "b-leg@kefu", "sip:1002@10.0.0.6")
    );
    assert_eq!(
        (leg.answered_at, leg.final_status),
        (Some(9_000), Some(200))
    );
    assert_eq!(leg.transferred_from.as_deref(), Some(consultation.as_str()));

    let cause = "Q.850;cause=16;text=\"Normal call clearing\"";
    store.record_hangup_cause(&customers, cause).await.unwrap();
    store
        .record_hangup_cause(&customers, "SIP;cause=200")
        .await
        .unwrap();
    let call = store.call(&customers).await.unwrap();
    assert_eq!(
        call.hangup_cause.as_deref(),
        Some(cause),
        "the first cause wins"
    );
    assert_eq!(store.call(&consultation).await.unwrap().hangup_cause, None);
}

crate::store_on_both_engines!(call_writes_in_one_batch_are_all_or_nothing);
async fn call_writes_in_one_batch_are_all_or_nothing(store: &Store) {
    let create = |id: &str| CallWrite::CreateCall {
        id: id.to_owned(),
        tenant_id: None,
        direction: "inbound".to_owned(),
        from_uri: "sip:caller@carrier".to_owned(),
        to_uri: "sip:4002@kefu".to_owned(),
        did: Some("4002".to_owned()),
        started_at: Millis(1_000),
    };
    let (call, leg) = (new_call_id(), new_call_id());
    let writes = [
        create(&call),
        CallWrite::AddLeg {
            id: leg.clone(),
            call_id: call.clone(),
            role: "caller".to_owned(),
            sip_call_id: "abc@carrier".to_owned(),
            peer_uri: "sip:caller@carrier".to_owned(),
            started_at: Millis(1_000),
        },
        CallWrite::LegSetup {
            leg: leg.clone(),
            status: 200,
            at: Millis(1_100),
        },
        CallWrite::Answer {
            call: call.clone(),
            at: Millis(1_100),
        },
        CallWrite::End {
            call: call.clone(),
            at: Millis(5_000),
            reason: "caller_hangup".to_owned(),
        },
    ];
    store.write_calls(&writes).await.unwrap();
    let stored = store.call(&call).await.unwrap();
    assert_eq!(
        (stored.answered_at, stored.ended_at),
        (Some(1_100), Some(5_000))
    );
    let legs = store.call_legs(&call).await.unwrap();
    assert_eq!(
        (legs[0].final_status, legs[0].ended_at),
        (Some(200), Some(5_000))
    );

    let other = new_call_id();
    let refused = store.write_calls(&[create(&other), create(&call)]).await;
    assert!(refused.is_err(), "a duplicate id fails the batch");
    assert!(
        matches!(store.call(&other).await, Err(StoreError::NotFound { .. })),
        "nothing of a failed batch is stored"
    );
}

crate::store_on_both_engines!(contacts_log_every_event);
async fn contacts_log_every_event(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let queue = store.ensure_queue(&tenant.id, "sales").await.unwrap();
    let contact = store
        .create_contact(&NewContact {
            tenant_id: &tenant.id,
            channel: "chat",
            queue_id: Some(&queue.id),
            priority: 7,
            customer_id: Some("cust-42"),
            call_id: None,
            created_at: Millis(10),
        })
        .await
        .unwrap();
    assert_eq!((contact.state.as_str(), contact.priority), ("new", 7));
    store
        .record_contact_event(
            &contact.id,
            Millis(20),
            "queued",
            None,
            &serde_json::json!({"position": 1}),
        )
        .await
        .unwrap();
    store
        .end_contact(&contact.id, Millis(30), Some("resolved"))
        .await
        .unwrap();
    let events = store.contact_events(&contact.id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["created", "queued", "ended"]);
    assert_eq!(events[1].data, r#"{"position":1}"#);
    let ended = store.contact(&contact.id).await.unwrap();
    assert_eq!(
        (ended.ended_at, ended.disposition.as_deref()),
        (Some(30), Some("resolved"))
    );
    let missing = store
        .record_contact_event("missing", Millis(1), "queued", None, &serde_json::json!({}))
        .await;
    assert!(matches!(missing, Err(StoreError::NotFound { .. })));
    let bad_channel = store
        .create_contact(&NewContact {
            tenant_id: &tenant.id,
            channel: "fax",
            queue_id: None,
            priority: 0,
            customer_id: None,
            call_id: None,
            created_at: Millis(1),
        })
        .await;
    assert!(bad_channel.is_err(), "the schema refuses unknown channels");
}

crate::store_on_both_engines!(recordings_are_listed_per_call);
async fn recordings_are_listed_per_call(store: &Store) {
    let call_id = store
        .create_call(&NewCall {
            tenant_id: None,
            direction: "internal",
            from_uri: "sip:1001@kefu",
            to_uri: "sip:1002@kefu",
            did: None,
            started_at: Millis(0),
        })
        .await
        .unwrap();
    let id = store
        .create_recording(&NewRecording {
            tenant_id: None,
            call_id: &call_id,
            path: "recordings/2026/11/25/x.wav",
            sample_rate: 8000,
            started_at: Millis(100),
        })
        .await
        .unwrap();
    store
        .finish_recording(
            &id,
            Millis(5_100),
            5_000,
            160_044,
            &serde_json::json!([[1000, 2000]]),
        )
        .await
        .unwrap();
    let recordings = store.recordings_of_call(&call_id).await.unwrap();
    assert_eq!(recordings.len(), 1);
    assert_eq!(recordings[0].duration_ms, Some(5_000));
    assert_eq!(recordings[0].pauses, "[[1000,2000]]");
}

crate::store_on_both_engines!(old_recording_rows_are_found_and_deleted_by_path);
async fn old_recording_rows_are_found_and_deleted_by_path(store: &Store) {
    let call_id = store
        .create_call(&NewCall {
            tenant_id: None,
            direction: "internal",
            from_uri: "sip:1001@kefu",
            to_uri: "sip:1002@kefu",
            did: None,
            started_at: Millis(0),
        })
        .await
        .unwrap();
    for (path, started_at) in [
        ("recordings/2026/10/01/old.wav", 1_000),
        ("recordings/2026/10/02/older-by-id.wav", 1_000),
        ("recordings/2026/11/25/new.wav", 5_000),
    ] {
        store
            .create_recording(&NewRecording {
                tenant_id: None,
                call_id: &call_id,
                path,
                sample_rate: 8000,
                started_at: Millis(started_at),
            })
            .await
            .unwrap();
    }
    let mut old = store
        .recording_paths_started_before(Millis(5_000))
        .await
        .unwrap();
    old.sort();
    assert_eq!(
        old,
        [
            "recordings/2026/10/01/old.wav",
            "recordings/2026/10/02/older-by-id.wav"
        ]
    );
    old.push("recordings/not/a/row.wav".to_owned());
    assert_eq!(store.delete_recordings_at(&old).await.unwrap(), 2);
    let left = store.recordings_of_call(&call_id).await.unwrap();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].path, "recordings/2026/11/25/new.wav");
    assert_eq!(store.delete_recordings_at(&[]).await.unwrap(), 0);
}

crate::store_on_both_engines!(a_calls_agent_is_the_one_a_contact_of_it_was_assigned_to);
async fn a_calls_agent_is_the_one_a_contact_of_it_was_assigned_to(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let agent = |name: &'static str| NewUser {
        tenant_id: &tenant.id,
        username: name,
        display_name: name,
        role: Role::Agent,
        extension: Some(name),
        password: None,
    };
    let (dana, _) = store.ensure_user(&agent("2001")).await.unwrap();
    let (eli, _) = store.ensure_user(&agent("2002")).await.unwrap();
    let call_id = store
        .create_call(&NewCall {
            tenant_id: Some(&tenant.id),
            direction: "inbound",
            from_uri: "sip:caller@example.com",
            to_uri: "sip:4000@acme.example",
            did: Some("4000"),
            started_at: Millis(0),
        })
        .await
        .unwrap();
    let contact = store
        .create_contact(&NewContact {
            tenant_id: &tenant.id,
            channel: "voice",
            queue_id: None,
            priority: 0,
            customer_id: None,
            call_id: Some(&call_id),
            created_at: Millis(10),
        })
        .await
        .unwrap();
    let step = |kind, state, user: &str, assigns| ContactRecord {
        contact_id: contact.id.clone(),
        at: Millis(20),
        kind,
        user_id: Some(user.to_owned()),
        data: serde_json::json!({}),
        state,
        assigns,
        ends: None,
    };
    store
        .apply_contact_record(&step("offered", "offered", &eli.id, false))
        .await
        .unwrap();
    assert!(
        !store.handled_call(&eli.id, &call_id).await.unwrap(),
        "only offered"
    );
    store
        .apply_contact_record(&step("accepted", "assigned", &dana.id, true))
        .await
        .unwrap();
    assert!(store.handled_call(&dana.id, &call_id).await.unwrap());
    assert!(!store.handled_call(&eli.id, &call_id).await.unwrap());
    assert!(!store.handled_call(&dana.id, "another-call").await.unwrap());
}

crate::store_on_both_engines!(sip_bindings_and_server_secret_persist);
async fn sip_bindings_and_server_secret_persist(store: &Store) {
    let secret = store.server_secret("nonce").await.unwrap();
    assert_eq!(
        store.server_secret("nonce").await.unwrap(),
        secret,
        "made once"
    );
    assert_ne!(store.server_secret("other").await.unwrap(), secret);

    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    store
        .ensure_user(&NewUser {
            tenant_id: &tenant.id,
            username: "2003",
            display_name: "Fay",
            role: Role::Agent,
            extension: Some("2003"),
            password: Some("pw"),
        })
        .await
        .unwrap();
    let users = store.sip_users_in_realm("acme.example").await.unwrap();
    assert_eq!(users.len(), 1);
    assert_eq!(
        users[0].ha1_md5,
        Ha1Pair::from_password("2003", "acme.example", "pw").md5
    );
    assert!(
        store
            .sip_users_in_realm("elsewhere")
            .await
            .unwrap()
            .is_empty()
    );

    let mut binding = StoredBinding {
        realm: "acme.example".into(),
        username: "2003".into(),
        contact: "sip:2003@192.0.2.7:5060".into(),
        expires_at: 10_000,
        call_id: "reg-1".into(),
        cseq: 1,
        source: "udp:192.0.2.7:5060".into(),
    };
    store.upsert_sip_binding(&binding).await.unwrap();
    binding.expires_at = 20_000;
    binding.cseq = 2;
    store.upsert_sip_binding(&binding).await.unwrap();
    assert_eq!(
        store.live_sip_bindings(Millis(15_000)).await.unwrap(),
        vec![binding.clone()]
    );
    assert!(
        store
            .live_sip_bindings(Millis(20_000))
            .await
            .unwrap()
            .is_empty(),
        "expired"
    );
    store
        .remove_sip_binding("acme.example", "2003", "sip:2003@192.0.2.7:5060")
        .await
        .unwrap();
    assert!(store.live_sip_bindings(Millis(0)).await.unwrap().is_empty());
}

crate::store_on_both_engines!(routing_config_holds_every_tenant_with_acd_settings);
async fn routing_config_holds_every_tenant_with_acd_settings(store: &Store) {
    let acme = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let other = store.ensure_tenant("other", "other.example").await.unwrap();
    let vip = store.ensure_queue(&acme.id, "vip").await.unwrap();
    store.ensure_queue(&other.id, "vip").await.unwrap();
    let user = |tenant_id, username, extension| NewUser {
        tenant_id,
        username,
        display_name: username,
        role: Role::Agent,
        extension,
        password: None,
    };
    let (agent, _) = store
        .ensure_user(&user(&acme.id, "2001", Some("2001")))
        .await
        .unwrap();
    store
        .ensure_user(&user(&acme.id, "boss", None))
        .await
        .unwrap();
    let skill = store.ensure_skill(&acme.id, "french").await.unwrap();
    store.set_agent_skill(&agent.id, &skill, 6).await.unwrap();
    store
        .set_queue_member(&vip.id, &agent.id, 2, 1)
        .await
        .unwrap();

    let config = store.routing_config().await.unwrap();
    assert_eq!(config.queues.len(), 2);
    let queue = config.queues.iter().find(|q| q.id == vip.id).unwrap();
    assert_eq!(
        (
            queue.offer_timeout_secs,
            queue.sticky_secs,
            queue.wrap_up_secs
        ),
        (20, None, 10)
    );
    assert_eq!(
        (
            queue.tier_after_secs,
            queue.max_size,
            queue.timeout_target.as_str(),
            queue.overflow_queue.as_deref(),
            queue.overflow_after_secs,
        ),
        (None, None, "disconnect", None, None),
        "no tiers, limit or overflow by default"
    );
    assert_eq!(
        (
            queue.join_when_empty,
            queue.leave_when_empty,
            queue.announce_every_secs,
            queue.expected_handle_secs,
            queue.calendar.as_deref(),
        ),
        (1, 0, None, 180, None)
    );
    assert!(config.calendars.is_empty());
    assert_eq!(
        config.agents.len(),
        1,
        "only users with an extension take contacts"
    );
    let routed = &config.agents[0];
    assert_eq!(
        (
            routed.extension.as_str(),
            routed.capacity_voice,
            routed.capacity_chat
        ),
        ("2001", 1, 3)
    );
    assert_eq!(routed.voice_blocks_other_channels, 0);
    assert_eq!((config.members[0].tier, config.members[0].penalty), (2, 1));
    assert_eq!(config.skills[0].name, "french");
    assert_eq!(config.agent_skills[0].level, 6);

    let mut settings = store.routing_queue(&acme.id, "vip").await.unwrap().unwrap();
    settings.strategy = "round-robin".into();
    settings.offer_timeout_secs = 3;
    settings.sticky_secs = Some(600);
    settings.max_wait_secs = Some(90);
    settings.tier_after_secs = Some(15);
    settings.max_size = Some(40);
    settings.timeout_target = "voicemail:vip".into();
    settings.overflow_queue = Some("sales".into());
    settings.overflow_after_secs = Some(120);
    settings.join_when_empty = 0;
    settings.leave_when_empty = 1;
    settings.announce_every_secs = Some(0);
    settings.expected_handle_secs = 300;
    settings.calendar = Some("office".into());
    store.save_queue_settings(&settings).await.unwrap();
    assert_eq!(
        store.routing_queue(&acme.id, "vip").await.unwrap(),
        Some(settings.clone())
    );
    assert_eq!(store.routing_queue(&acme.id, "none").await.unwrap(), None);
    settings.id = "missing".into();
    assert!(matches!(
        store.save_queue_settings(&settings).await,
        Err(StoreError::NotFound { .. })
    ));

    let stored = store
        .routing_agent(&acme.id, "2001")
        .await
        .unwrap()
        .unwrap();
    let mut capacity = AgentCapacity::of(&stored);
    capacity.chat = 6;
    capacity.voice_blocks_other_channels = true;
    store
        .save_agent_capacity(&agent.id, &capacity)
        .await
        .unwrap();
    let again = store
        .routing_agent(&acme.id, "2001")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(AgentCapacity::of(&again), capacity);
    assert_eq!(
        (again.capacity_chat, again.voice_blocks_other_channels),
        (6, 1)
    );
    assert_eq!(store.routing_agent(&other.id, "2001").await.unwrap(), None);
    assert!(matches!(
        store.save_agent_capacity("missing", &capacity).await,
        Err(StoreError::NotFound { .. })
    ));
}

crate::store_on_both_engines!(contact_records_move_the_contact_and_end_it_once);
async fn contact_records_move_the_contact_and_end_it_once(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let (agent, _) = store
        .ensure_user(&NewUser {
            tenant_id: &tenant.id,
            username: "2001",
            display_name: "Dana",
            role: Role::Agent,
            extension: Some("2001"),
            password: None,
        })
        .await
        .unwrap();
    let contact = store
        .create_contact(&NewContact {
            tenant_id: &tenant.id,
            channel: "voice",
            queue_id: None,
            priority: 0,
            customer_id: None,
            call_id: None,
            created_at: Millis(10),
        })
        .await
        .unwrap();
    let step = |at, kind, state, user: Option<&str>, assigns, ends| ContactRecord {
        contact_id: contact.id.clone(),
        at: Millis(at),
        kind,
        user_id: user.map(str::to_owned),
        data: serde_json::json!({"at": at}),
        state,
        assigns,
        ends,
    };
    store
        .apply_contact_record(&step(
            20,
            "offered",
            "offered",
            Some(&agent.id),
            false,
            None,
        ))
        .await
        .unwrap();
    assert_eq!(store.contact(&contact.id).await.unwrap().agent_id, None);
    store
        .apply_contact_record(&step(
            30,
            "accepted",
            "assigned",
            Some(&agent.id),
            true,
            None,
        ))
        .await
        .unwrap();
    store
        .apply_contact_record(&step(
            90,
            "ended",
            "ended",
            Some(&agent.id),
            false,
            Some("completed"),
        ))
        .await
        .unwrap();
    store
        .apply_contact_record(&step(
            95,
            "abandoned",
            "abandoned",
            None,
            false,
            Some("abandoned"),
        ))
        .await
        .unwrap();
    let row = store.contact(&contact.id).await.unwrap();
    assert_eq!(row.agent_id.as_deref(), Some(agent.id.as_str()));
    assert_eq!(
        (row.ended_at, row.disposition.as_deref()),
        (Some(90), Some("completed"))
    );
    let events = store.contact_events(&contact.id).await.unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["created", "offered", "accepted", "ended", "abandoned"]
    );
    assert_eq!(events[2].user_id.as_deref(), Some(agent.id.as_str()));
    assert_eq!(events[3].data, r#"{"at":90}"#);
    let mut missing = step(1, "queued", "queued", None, false, None);
    missing.contact_id = "missing".into();
    assert!(matches!(
        store.apply_contact_record(&missing).await,
        Err(StoreError::NotFound { .. })
    ));
}

crate::store_on_both_engines!(agent_state_changes_are_logged_in_order);
async fn agent_state_changes_are_logged_in_order(store: &Store) {
    let tenant = store.ensure_tenant("acme", "acme.example").await.unwrap();
    let (agent, _) = store
        .ensure_user(&NewUser {
            tenant_id: &tenant.id,
            username: "2001",
            display_name: "Dana",
            role: Role::Agent,
            extension: Some("2001"),
            password: None,
        })
        .await
        .unwrap();
    let change = |at, state, reason: Option<&str>, cause| AgentRecord {
        tenant_id: tenant.id.clone(),
        user_id: agent.id.clone(),
        at: Millis(at),
        state,
        reason: reason.map(str::to_owned),
        cause,
    };
    for record in [
        change(10, "not_ready", Some("logged-in"), "login"),
        change(20, "ready", None, "requested"),
        change(30, "not_ready", Some("lunch"), "requested"),
    ] {
        store.record_agent_state(&record).await.unwrap();
    }
    let events = store.agent_events(&agent.id).await.unwrap();
    let states: Vec<(i64, &str, Option<&str>, &str)> = events
        .iter()
        .map(|e| {
            (
                e.at,
                e.state.as_str(),
                e.reason.as_deref(),
                e.cause.as_str(),
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            (10, "not_ready", Some("logged-in"), "login"),
            (20, "ready", None, "requested"),
            (30, "not_ready", Some("lunch"), "requested"),
        ]
    );
    let mut stranger = change(40, "ready", None, "requested");
    stranger.user_id = "missing".into();
    assert!(
        store.record_agent_state(&stranger).await.is_err(),
        "only users' states are logged"
    );
}
