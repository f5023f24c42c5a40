//! The audit log: every admin-API change leaves an entry (who, from where, what,
//! before and after) in its own transaction, the entries form one hash chain even
//! with two processes appending, and `kopek audit verify` names an entry changed
//! or removed behind Kopek's back.

use crate::both_backends;
use crate::harness::{Backend, TestApp, TestDb, read, spawn_process_with};
use crate::lifepos::{create_request, ready};
use kopek_domain::auth::Principal;
use kopek_store::audit::{self, Entry};
use kopek_store::event_chain::{self, Sealed};
use reqwest::Method;
use serde_json::{Value, json};
use std::process::Output;

both_backends!(
    admin_changes_are_audited_with_who_where_and_before_after,
    verify_names_an_entry_changed_and_one_removed,
    verify_names_an_event_changed_and_one_removed,
    two_processes_append_to_one_chain,
    events_keep_their_chain_and_queues_across_migration_21,
);

fn organization(i: usize) -> Value {
    json!({"alias": format!("chained-{i}"), "company": {"name": format!("ООО «Цепь {i}»"), "inn": "7707083893", "kpp": "773601001"}})
}

async fn entries(app: &TestApp) -> Vec<Entry> {
    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let mut all = audit::newest(&mut conn, None, &Default::default(), 10_000)
        .await
        .unwrap();
    all.reverse();
    all
}

fn json_of(state: &Option<String>) -> Value {
    serde_json::from_str(state.as_deref().expect("a state")).expect("JSON")
}

fn verify(app: &TestApp) -> Output {
    crate::cli::kopek(app, &["audit", "verify"])
}

async fn admin_changes_are_audited_with_who_where_and_before_after(app: TestApp) {
    let shop = ready(&app, "audited").await;
    let start = entries(&app).await.len();

    let (status, created) = app
        .admin(
            Method::POST,
            "/admin/v1/api-keys",
            Some(json!({"role": "admin", "name": "ops"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let (id, token) = (
        created["id"].as_str().unwrap(),
        created["token"].as_str().unwrap(),
    );
    let (status, revoked) = app
        .admin(Method::DELETE, &format!("/admin/v1/api-keys/{id}"), None)
        .await;
    assert_eq!(status, 200, "{revoked}");

    // Neither a refused admin request nor another family's write is an entry.
    let (status, _) = app
        .admin(
            Method::POST,
            "/admin/v1/api-keys",
            Some(json!({"role": "nobody"})),
        )
        .await;
    assert_eq!(status, 400);
    let (status, invoice) = read(create_request(&app, &shop, 1).send().await.unwrap()).await;
    assert_eq!(status, 201, "{invoice}");

    let all = entries(&app).await;
    let new = &all[start..];
    assert_eq!(new.len(), 2, "{new:#?}");
    let (create, revoke) = (&new[0], &new[1]);
    for entry in new {
        assert_eq!(entry.actor, Principal::BOOTSTRAP_ADMIN);
        assert_eq!(entry.address.as_deref(), Some("127.0.0.1"));
    }
    assert_eq!(create.action, "POST /admin/v1/api-keys");
    assert_eq!(create.status, 201);
    assert_eq!(create.before_state, None);
    let after = json_of(&create.after_state);
    assert_eq!(after["id"], id);
    assert_eq!(
        after["token"],
        Value::Null,
        "a token shown once is not kept"
    );
    assert_eq!(revoke.action, format!("DELETE /admin/v1/api-keys/{id}"));
    assert_eq!(json_of(&revoke.before_state)["revokedAt"], Value::Null);
    assert!(json_of(&revoke.after_state)["revokedAt"].is_string());
    let log = serde_json::to_string(&format!("{all:?}")).unwrap();
    assert!(!log.contains(token), "the token is in the audit log");

    // An invoice refunded by the operator: its status before and after.
    let guid = invoice["guid"].as_str().unwrap();
    for action in ["pay", "refund"] {
        let (status, body) = app
            .admin(
                Method::POST,
                &format!("/admin/v1/invoices/{guid}:{action}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }
    let all = entries(&app).await;
    let refund = all.last().unwrap();
    assert_eq!(
        refund.action,
        format!("POST /admin/v1/invoices/{guid}:refund")
    );
    assert_eq!(json_of(&refund.before_state)["status"], "Paid");
    assert_eq!(json_of(&refund.after_state)["status"], "Refunded");
    // An organization's billing contact changed: the organization before and after.
    let org = &shop.org;
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/admin/v1/organizations/{org}"),
            Some(json!({"billingEmail": "books@example.com"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let all = entries(&app).await;
    let patch = all.last().unwrap();
    assert_eq!(patch.action, format!("PATCH /admin/v1/organizations/{org}"));
    assert_ne!(
        json_of(&patch.before_state)["billingEmail"],
        "books@example.com"
    );
    assert_eq!(
        json_of(&patch.after_state)["billingEmail"],
        "books@example.com"
    );
    // A subscription canceled at its period's end: as it was, then set to end.
    let (status, renewed) = read(create_request(&app, &shop, 1).send().await.unwrap()).await;
    assert_eq!(status, 201, "{renewed}");
    let guid = renewed["guid"].as_str().unwrap();
    let (status, _) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/invoices/{guid}:pay"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, listed) = app
        .admin(Method::GET, "/admin/v1/subscriptions", None)
        .await;
    assert_eq!(status, 200, "{listed}");
    let active = listed["subscriptions"].as_array().unwrap().iter();
    let subscription = active
        .filter(|s| s["status"] == "active")
        .find_map(|s| s["id"].as_str())
        .expect("a subscription paid for");
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/subscriptions/{subscription}:cancel"),
            Some(json!({"at": "period_end"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let all = entries(&app).await;
    let cancel = all.last().unwrap();
    assert_eq!(
        cancel.action,
        format!("POST /admin/v1/subscriptions/{subscription}:cancel")
    );
    assert_eq!(json_of(&cancel.before_state)["cancel_at_period_end"], false);
    assert_eq!(json_of(&cancel.after_state)["cancel_at_period_end"], true);
    for pair in all.windows(2) {
        assert_eq!(pair[1].seq, pair[0].seq + 1);
        assert_eq!(pair[1].prev_hash, pair[0].hash);
    }
}

async fn verify_names_an_entry_changed_and_one_removed(app: TestApp) {
    for i in 0..5 {
        let (status, body) = app
            .admin(
                Method::POST,
                "/admin/v1/resellers",
                Some(json!({"name": format!("audited {i}")})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let whole = verify(&app);
    let said = String::from_utf8_lossy(&whole.stdout);
    assert!(whole.status.success(), "{said}");
    assert!(said.contains("whole: 5 entries"), "{said}");

    // Behind Kopek's back: one entry edited, another deleted.
    let pool = app.store().pool();
    sqlx::query("UPDATE audit_log SET after_state = $1 WHERE seq = 2")
        .bind(r#"{"name":"forged"}"#)
        .execute(pool)
        .await
        .unwrap();
    sqlx::query("DELETE FROM audit_log WHERE seq = 4")
        .execute(pool)
        .await
        .unwrap();
    let broken = verify(&app);
    let (said, complaint) = (
        String::from_utf8_lossy(&broken.stdout),
        String::from_utf8_lossy(&broken.stderr),
    );
    assert_eq!(broken.status.code(), Some(1), "{said}{complaint}");
    assert!(said.contains("entry 2 was changed"), "{said}");
    assert!(said.contains("entry 4 was removed"), "{said}");
    assert!(complaint.contains("broken at entry 2"), "{complaint}");

    // The last entry cut off too: the chain's recorded end tells.
    sqlx::query("DELETE FROM audit_log WHERE seq = 5")
        .execute(pool)
        .await
        .unwrap();
    let said = String::from_utf8_lossy(&verify(&app).stdout).into_owned();
    assert!(
        said.contains("entries 4 to 5, the last ones, were removed"),
        "{said}"
    );

    let metrics = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("kopek_audit_log_verified_position 1\n"),
        "{metrics}"
    );
    assert!(metrics.contains("kopek_audit_log_entries 5\n"), "{metrics}");
}

/// Events are sealed into a chain of their own; one changed and one deleted
/// behind Kopek's back are named, and the chain's last verified position is on
/// `/metrics`.
async fn verify_names_an_event_changed_and_one_removed(app: TestApp) {
    for i in 0..5 {
        let (status, body) = app
            .admin(
                Method::POST,
                "/admin/v1/organizations",
                Some(organization(i)),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let whole = verify(&app);
    let said = String::from_utf8_lossy(&whole.stdout);
    assert!(whole.status.success(), "{said}");
    assert!(
        said.contains("the event chain is whole: 5 entries"),
        "{said}"
    );

    let pool = app.store().pool();
    sqlx::query(
        "UPDATE events SET data = $1 WHERE id = (SELECT event_id FROM event_links WHERE seq = 2)",
    )
    .bind(r#"{"name":"forged"}"#)
    .execute(pool)
    .await
    .unwrap();
    sqlx::query("DELETE FROM events WHERE id = (SELECT event_id FROM event_links WHERE seq = 4)")
        .execute(pool)
        .await
        .unwrap();
    let broken = verify(&app);
    let (said, complaint) = (
        String::from_utf8_lossy(&broken.stdout),
        String::from_utf8_lossy(&broken.stderr),
    );
    assert_eq!(broken.status.code(), Some(1), "{said}{complaint}");
    assert!(said.contains("the audit log is whole"), "{said}");
    assert!(
        said.contains("the event chain: entry 2 was changed"),
        "{said}"
    );
    assert!(
        said.contains("the event chain: entry 4 was removed"),
        "{said}"
    );
    assert!(
        complaint.contains("the event chain is broken at entry 2"),
        "{complaint}"
    );
    let metrics = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("kopek_event_chain_verified_position 1\n"),
        "{metrics}"
    );
    assert!(
        metrics.contains("kopek_event_chain_entries 5\n"),
        "{metrics}"
    );
}

async fn two_processes_append_to_one_chain(mut app: TestApp) {
    app.stop_server().await;
    let env = [("KOPEK_ADMIN_TOKEN", app.admin_token.as_str())];
    let one = spawn_process_with(&app, &env).await;
    let two = spawn_process_with(&app, &env).await;
    let n = 40;
    let mut sends = tokio::task::JoinSet::new();
    for i in 0..n {
        let base = if i % 2 == 0 { &one.base } else { &two.base };
        sends.spawn(
            app.client
                .post(format!("{base}/admin/v1/resellers"))
                .bearer_auth(&app.admin_token)
                .json(&json!({"name": format!("pair {i}")}))
                .send(),
        );
    }
    while let Some(sent) = sends.join_next().await {
        assert_eq!(sent.unwrap().unwrap().status().as_u16(), 201);
    }
    let all = entries(&app).await;
    assert_eq!(all.len(), n);
    // Events written through both processes, sealed by both schedulers at once.
    for i in 0..n {
        let base = if i % 2 == 0 { &one.base } else { &two.base };
        sends.spawn(
            app.client
                .post(format!("{base}/admin/v1/organizations"))
                .bearer_auth(&app.admin_token)
                .json(&organization(i))
                .send(),
        );
    }
    while let Some(sent) = sends.join_next().await {
        assert_eq!(sent.unwrap().unwrap().status().as_u16(), 201);
    }
    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let mut unsealed = -1;
    for _ in 0..100 {
        unsealed = event_chain::unsealed(&mut conn).await.unwrap();
        if unsealed == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(unsealed, 0, "the processes' schedulers seal the events");
    let checked = verify(&app);
    let said = String::from_utf8_lossy(&checked.stdout);
    assert!(checked.status.success(), "{said}");
    assert!(
        said.contains(&format!("the audit log is whole: {} entries", 2 * n)),
        "{said}"
    );
    assert!(
        said.contains(&format!("the event chain is whole: {n} entries")),
        "{said}"
    );
    drop((one, two));
}

/// A database from before migration 21 kept each event's link and what was owed
/// on it in the event's own row. After the migration the two sealed events are
/// links with the same places and hashes, the third is queued for the sealer and
/// the fan-out, and sealing it continues the chain from the same head.
async fn events_keep_their_chain_and_queues_across_migration_21(backend: Backend) {
    let db = TestDb::unmigrated(backend).await;
    let store = kopek_store::Store::connect(&kopek_store::StoreOptions::new(db.url.clone()))
        .await
        .unwrap();
    store.migrate_to(20).await.unwrap();
    let pool = store.pool();
    let mut prev = "0".repeat(64);
    let mut links = Vec::new();
    for i in 1..=3i64 {
        let mut event = Sealed {
            seq: i,
            prev_hash: prev.clone(),
            hash: String::new(),
            id: format!("0190e5d2-0000-7000-8000-00000000000{i}"),
            kind: "organization.created".to_owned(),
            subject_type: "organization".to_owned(),
            subject: format!("org-{i}"),
            tenant_type: Some("organization".to_owned()),
            tenant_id: Some(format!("org-{i}")),
            payload: format!(r#"{{"n":{i}}}"#),
            data: Some(format!(r#"{{"guid":"org-{i}"}}"#)),
            created_at: kopek_domain::time::Timestamp::from_micros(1_700_000_000_000_000 + i),
        };
        event.hash = event.link_hash();
        prev = event.hash.clone();
        // The first two sealed and fanned out; the third neither.
        let sealed = i < 3;
        sqlx::query(
            "INSERT INTO events (id, type, subject_type, subject, tenant_type, tenant_id, \
             payload, data, created_at, fanned_out, chain_seq, chain_prev, chain_hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
        )
        .bind(&event.id)
        .bind(&event.kind)
        .bind(&event.subject_type)
        .bind(&event.subject)
        .bind(&event.tenant_type)
        .bind(&event.tenant_id)
        .bind(&event.payload)
        .bind(&event.data)
        .bind(event.created_at.micros())
        .bind(i64::from(sealed))
        .bind(sealed.then_some(event.seq))
        .bind(sealed.then(|| event.prev_hash.clone()))
        .bind(sealed.then(|| event.hash.clone()))
        .execute(pool)
        .await
        .unwrap();
        links.push(event);
    }
    sqlx::query("UPDATE event_chain_head SET seq = 2, hash = $1 WHERE id = 1")
        .bind(&links[1].hash)
        .execute(pool)
        .await
        .unwrap();

    store.migrate().await.unwrap();
    let queued = |table: &'static str| {
        sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(format!(
            "SELECT event_id FROM {table} ORDER BY event_id"
        )))
        .fetch_all(pool)
    };
    assert_eq!(
        queued("event_seal_queue").await.unwrap(),
        [links[2].id.clone()]
    );
    assert_eq!(
        queued("event_fan_out_queue").await.unwrap(),
        [links[2].id.clone()]
    );
    let mut conn = store.conn().await.unwrap();
    assert_eq!(
        event_chain::after(&mut conn, 0, 10).await.unwrap(),
        links[..2]
    );
    drop(conn);

    let mut tx = store.begin().await.unwrap();
    assert_eq!(event_chain::seal(&mut tx, 10).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let mut conn = store.conn().await.unwrap();
    assert_eq!(event_chain::after(&mut conn, 0, 10).await.unwrap(), links);
    assert_eq!(event_chain::unsealed(&mut conn).await.unwrap(), 0);
    assert_eq!(
        event_chain::head(&mut conn).await.unwrap().hash,
        links[2].hash
    );
    // A new event is queued for both by the trigger, in its one statement.
    sqlx::query(
        "INSERT INTO events (id, type, subject_type, subject, payload, created_at) \
         VALUES ('0190e5d2-0000-7000-8000-000000000004', 'organization.created', \
         'organization', 'org-4', '{}', 1)",
    )
    .execute(pool)
    .await
    .unwrap();
    assert_eq!(event_chain::unsealed(&mut conn).await.unwrap(), 1);
    assert_eq!(queued("event_fan_out_queue").await.unwrap().len(), 2);
    // Deleted behind Kopek's back before its seal, it no longer waits for one.
    sqlx::query("DELETE FROM events WHERE id = '0190e5d2-0000-7000-8000-000000000004'")
        .execute(pool)
        .await
        .unwrap();
    assert_eq!(event_chain::unsealed(&mut conn).await.unwrap(), 0);
    drop(conn);
    store.close().await;
}
