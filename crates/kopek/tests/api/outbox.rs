//! The outbox on the store directly: two workers over the same rows.

use crate::both_backends;
use crate::harness::TestDb;
use kopek_domain::time::Timestamp;
use kopek_store::outbox::{self, Handler, Worker};
use kopek_store::{events, webhooks};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

#[derive(Default)]
struct Recorder {
    seen: Mutex<HashMap<String, usize>>,
}

#[async_trait::async_trait]
impl Handler for Recorder {
    async fn handle(&self, payload: &str) -> Result<(), String> {
        // A little work, so the two workers overlap in time.
        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
        *self
            .seen
            .lock()
            .unwrap()
            .entry(payload.to_owned())
            .or_default() += 1;
        Ok(())
    }
}

struct Failing;

#[async_trait::async_trait]
impl Handler for Failing {
    async fn handle(&self, _payload: &str) -> Result<(), String> {
        Err("smtp said no".to_owned())
    }
}

async fn two_workers_process_each_row_exactly_once(db: TestDb) {
    let store = db.store().await;
    let mut ids = Vec::new();
    let mut tx = store.begin().await.unwrap();
    for i in 0..60 {
        ids.push(
            outbox::enqueue(&mut tx, "test", &serde_json::json!(i))
                .await
                .unwrap(),
        );
    }
    tx.commit().await.unwrap();

    let recorder = Arc::new(Recorder::default());
    // Two stores: two processes' worth of pools on one database.
    let other = db.store().await;
    let workers = [
        Worker::new(store.clone()).with_handler("test", recorder.clone()),
        Worker::new(other).with_handler("test", recorder.clone()),
    ];
    let mut tasks = Vec::new();
    for worker in workers {
        tasks.push(tokio::spawn(async move {
            let mut total = 0;
            loop {
                let n = worker.run_once().await.unwrap();
                if n == 0 {
                    return total;
                }
                total += n;
            }
        }));
    }
    let mut per_worker = Vec::new();
    for t in tasks {
        per_worker.push(t.await.unwrap());
    }
    assert_eq!(per_worker.iter().sum::<usize>(), 60, "{per_worker:?}");
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 60);
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    for id in &ids {
        let row = store.outbox_row(id).await.unwrap().unwrap();
        assert_eq!((row.state.as_str(), row.attempts), ("done", 1));
        assert_eq!(store.outbox_attempt_count(id).await.unwrap(), 1);
    }
}

async fn failures_are_recorded_and_retried_later(db: TestDb) {
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    let id = outbox::enqueue(&mut tx, "mail", &serde_json::json!({}))
        .await
        .unwrap();
    let orphan = outbox::enqueue(&mut tx, "nobody-handles-this", &serde_json::json!({}))
        .await
        .unwrap();
    tx.commit().await.unwrap();

    let worker = Worker::new(store.clone()).with_handler("mail", Arc::new(Failing));
    assert_eq!(worker.run_once().await.unwrap(), 2);
    let row = store.outbox_row(&id).await.unwrap().unwrap();
    assert_eq!(row.state, "pending");
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error.as_deref(), Some("smtp said no"));
    assert_eq!(store.outbox_attempt_count(&id).await.unwrap(), 1);
    let orphan_row = store.outbox_row(&orphan).await.unwrap().unwrap();
    assert!(orphan_row.last_error.unwrap().contains("no handler"));
    // Backoff: nothing is due right after a failure.
    assert_eq!(worker.run_once().await.unwrap(), 0);
}

async fn a_live_lease_keeps_other_workers_off(db: TestDb) {
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    outbox::enqueue(&mut tx, "test", &serde_json::json!(1))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let lease = std::time::Duration::from_secs(60);
    let now = Timestamp::now();
    let first = store.outbox_claim("a", lease, 10, now).await.unwrap();
    assert_eq!(first.len(), 1);
    assert!(
        store
            .outbox_claim("b", lease, 10, now)
            .await
            .unwrap()
            .is_empty()
    );
    // Once the lease has run out, another worker may take the row; the first
    // worker's late result is then refused.
    let later = now.plus_seconds(61);
    let second = store.outbox_claim("b", lease, 10, later).await.unwrap();
    assert_eq!(second.len(), 1);
    assert_eq!(second[0].attempt, 2);
    assert!(
        !store
            .outbox_finish(&first[0], "a", now, Ok(()), false, later)
            .await
            .unwrap()
    );
    assert!(
        store
            .outbox_finish(&second[0], "b", later, Ok(()), false, later)
            .await
            .unwrap()
    );
}

/// A handler slower than the lease allows for a whole batch: rows that waited in
/// a batch must not be taken (and sent) by the other worker as well.
struct Slow(Arc<Recorder>);

#[async_trait::async_trait]
impl Handler for Slow {
    async fn handle(&self, payload: &str) -> Result<(), String> {
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        self.0.handle(payload).await
    }
}

async fn rows_waiting_in_a_batch_keep_their_lease(db: TestDb) {
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    for i in 0..16 {
        outbox::enqueue(&mut tx, "slow", &serde_json::json!(i))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    let recorder = Arc::new(Recorder::default());
    let lease = std::time::Duration::from_secs(1);
    let workers = [
        Worker::new(store.clone())
            .with_lease(lease)
            .with_handler("slow", Arc::new(Slow(recorder.clone()))),
        Worker::new(db.store().await)
            .with_lease(lease)
            .with_handler("slow", Arc::new(Slow(recorder.clone()))),
    ];
    let mut tasks = Vec::new();
    for worker in workers {
        tasks.push(tokio::spawn(async move {
            // Until nothing is left, also after leases ran out.
            let mut idle = 0;
            while idle < 3 {
                if worker.run_once().await.unwrap() == 0 {
                    idle += 1;
                    tokio::time::sleep(lease / 2).await;
                } else {
                    idle = 0;
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let seen = recorder.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 16);
    assert!(seen.values().all(|n| *n == 1), "handled twice: {seen:?}");
}

/// A process restarted under the name it had takes back its leased rows at once,
/// instead of waiting for the dead run's leases to run out.
async fn a_restarted_worker_takes_back_its_rows_at_once(db: TestDb) {
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    for i in 0..3 {
        outbox::enqueue(&mut tx, "test", &serde_json::json!(i))
            .await
            .unwrap();
    }
    tx.commit().await.unwrap();
    // The previous run claimed them for a minute, then died.
    let lease = std::time::Duration::from_secs(60);
    let claimed = store
        .outbox_claim("host-a:8080", lease, 10, Timestamp::now())
        .await
        .unwrap();
    assert_eq!(claimed.len(), 3);
    assert!(
        Worker::new(store.clone()).run_once().await.unwrap() == 0,
        "leased rows wait"
    );

    let recorder = Arc::new(Recorder::default());
    let worker = Worker::new(store.clone())
        .with_id("host-a:8080")
        .with_poll_interval(std::time::Duration::from_millis(20))
        .with_handler("test", recorder.clone());
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(worker.run(stop.clone()));
    let started = std::time::Instant::now();
    while recorder.seen.lock().unwrap().len() < 3 {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(5),
            "the rows waited for their old lease"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    stop.cancel();
    running.await.unwrap();
}

/// An endpoint `whe_fence` taking every event, and an event `evt_fence`.
async fn endpoint_and_event(conn: &mut kopek_store::Conn) {
    let now = Timestamp::now();
    let endpoint = webhooks::Endpoint {
        id: "whe_fence".into(),
        url: "https://example.com/hook".into(),
        event_types: vec!["*".into()],
        scope_type: "all".into(),
        scope_id: None,
        description: String::new(),
        enabled: true,
        secret: "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into(),
        previous_secret: None,
        previous_secret_until: None,
        created_by: "test".into(),
        created_at: now,
        updated_at: now,
        last_success_at: None,
        disabled_reason: None,
    };
    let event = events::Event {
        id: "evt_fence".into(),
        kind: "organization.created".into(),
        subject_type: "organization".into(),
        subject: "org".into(),
        tenant_type: None,
        tenant_id: None,
        data: None,
        created_at: now,
    };
    webhooks::insert(&mut *conn, &endpoint).await.unwrap();
    events::insert(conn, &[(event, &serde_json::json!({}))])
        .await
        .unwrap();
}

/// A delivery the fan-out queues already claimed is its worker's for the lease:
/// another worker takes it only once the lease has run out, as its second attempt;
/// queuing it again changes nothing.
async fn a_fanned_out_delivery_is_leased_to_its_worker(db: TestDb) {
    let store = db.store().await;
    let lease = std::time::Duration::from_secs(60);
    let queued = webhooks::Queued {
        endpoint_id: "whe_fence",
        event_id: "evt_fence",
        claimed: true,
    };
    let mut tx = store.begin().await.unwrap();
    endpoint_and_event(&mut tx).await;
    let claimed = webhooks::enqueue(&mut tx, &[queued], 3600, Some(("a", lease)))
        .await
        .unwrap();
    let again = webhooks::enqueue(&mut tx, &[queued], 3600, Some(("b", lease)))
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(claimed.len(), 1);
    assert_eq!(
        (
            claimed[0].endpoint_id.as_str(),
            claimed[0].event_id.as_str()
        ),
        ("whe_fence", "evt_fence")
    );
    assert_eq!(claimed[0].attempts, 1);
    assert!(again.is_empty(), "{again:?}");
    let now = Timestamp::now();
    let taken = store
        .webhook_claim("b", lease, "whe_fence", 10, now)
        .await
        .unwrap();
    assert!(taken.is_empty(), "{taken:?}");
    let taken = store
        .webhook_claim("b", lease, "whe_fence", 10, now.plus_seconds(61))
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    assert_eq!(
        (taken[0].id.as_str(), taken[0].attempts),
        (claimed[0].id.as_str(), 2)
    );
}

/// Webhook outcomes recorded together keep the lease's fence: a worker whose lease
/// ran out, and whose row another worker took, records nothing.
async fn a_late_webhook_outcome_is_refused(db: TestDb) {
    let store = db.store().await;
    let mut tx = store.begin().await.unwrap();
    endpoint_and_event(&mut tx).await;
    let queued = webhooks::Queued {
        endpoint_id: "whe_fence",
        event_id: "evt_fence",
        claimed: false,
    };
    webhooks::enqueue(&mut tx, &[queued], 3600, None)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let lease = std::time::Duration::from_secs(60);
    let claim = |worker: &'static str, at: Timestamp| {
        let store = store.clone();
        async move {
            let mut rows = store
                .webhook_claim(worker, lease, "whe_fence", 10, at)
                .await
                .unwrap();
            assert_eq!(rows.len(), 1);
            rows.remove(0)
        }
    };
    // Queued on the machine's clock, just after `now`.
    let now = Timestamp::now();
    let first = claim("a", now).await;
    let later = now.plus_seconds(61);
    let second = claim("b", later).await;
    assert_eq!((first.attempts, second.attempts), (1, 2));
    let attempt = |due: &webhooks::Due| webhooks::Attempt {
        delivery_id: due.id.clone(),
        attempt: due.attempts,
        started_at: later,
        latency_ms: 1,
        http_status: Some(204),
        error: None,
        response_excerpt: Some(String::new()),
    };
    let mut conn = store.conn().await.unwrap();
    let late = [(first.clone(), attempt(&first))];
    let kept = webhooks::finish_delivered(&mut conn, "a", &late, later)
        .await
        .unwrap();
    assert!(kept.is_empty(), "{kept:?}");
    // The same worker, but an attempt it no longer holds, is refused as well.
    let stale = [(first.clone(), attempt(&first))];
    let kept = webhooks::finish_delivered(&mut conn, "b", &stale, later)
        .await
        .unwrap();
    assert!(kept.is_empty(), "{kept:?}");
    let current = [(second.clone(), attempt(&second))];
    let kept = webhooks::finish_delivered(&mut conn, "b", &current, later)
        .await
        .unwrap();
    assert_eq!(kept, vec![second.id.clone()]);
    let delivery = webhooks::delivery(&mut conn, &second.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(delivery.state, "delivered");
    let log = webhooks::attempts(&mut conn, std::slice::from_ref(&second.id))
        .await
        .unwrap();
    assert_eq!(log.iter().map(|a| a.attempt).collect::<Vec<_>>(), vec![2]);
}

both_backends!(
    a_late_webhook_outcome_is_refused,
    a_fanned_out_delivery_is_leased_to_its_worker,
    rows_waiting_in_a_batch_keep_their_lease,
    a_restarted_worker_takes_back_its_rows_at_once,
    two_workers_process_each_row_exactly_once,
    failures_are_recorded_and_retried_later,
    a_live_lease_keeps_other_workers_off,
);
