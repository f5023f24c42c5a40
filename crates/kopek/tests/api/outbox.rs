//! The outbox on the store directly: two workers over the same rows.

use crate::both_backends;
use crate::harness::TestDb;
use kopek_domain::time::Timestamp;
use kopek_store::outbox::{self, Handler, Worker};
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
            outbox::enqueue(&mut tx, "test", &serde_json::json!(i), Timestamp::now())
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
    let id = outbox::enqueue(&mut tx, "mail", &serde_json::json!({}), Timestamp::now())
        .await
        .unwrap();
    let orphan = outbox::enqueue(
        &mut tx,
        "nobody-handles-this",
        &serde_json::json!({}),
        Timestamp::now(),
    )
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
    outbox::enqueue(&mut tx, "test", &serde_json::json!(1), Timestamp::now())
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

both_backends!(
    two_workers_process_each_row_exactly_once,
    failures_are_recorded_and_retried_later,
    a_live_lease_keeps_other_workers_off,
);
