//! The connection pool hands out connections without testing each one first; a
//! connection the database dropped while it sat idle must still never reach a request.

use crate::harness::{Backend, TestApp, postgres_admin_url, postgres_available};
use reqwest::Method;
use sqlx::Connection;
use std::time::Duration;

/// Eight requests at once, so that several pooled connections are used.
async fn all_answer(app: &TestApp) {
    let mut requests = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let request = app.request(Method::GET, "/admin/v1/resellers", Some(&app.admin_token));
        requests.spawn(request.send());
    }
    while let Some(answer) = requests.join_next().await {
        let answer = answer.unwrap().unwrap();
        assert_eq!(answer.status(), 200, "{:?}", answer.text().await);
    }
}

// PostgreSQL only: an embedded SQLite connection cannot be dropped from outside.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_dropped_while_idle_are_replaced() {
    if !postgres_available().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    all_answer(&app).await;

    let database = app.db.url.rsplit('/').next().unwrap().to_owned();
    let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
        .await
        .unwrap();
    let dropped: Vec<(bool,)> =
        sqlx::query_as("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1")
            .bind(&database)
            .fetch_all(&mut admin)
            .await
            .unwrap();
    assert!(!dropped.is_empty(), "the server held connections to drop");

    // Longer than a connection may sit idle before it is tested on the way out.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    all_answer(&app).await;
}

/// A savepoint rolls back alone inside a write transaction, on both backends (the
/// bank statement import pays each line in one).
async fn a_savepoint_rolls_back_alone(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let store = app.store();
    let mut tx = store.begin().await.unwrap();
    let insert =
        |id: i64| sqlx::query("INSERT INTO test_clock (id, offset_micros) VALUES ($1, 0)").bind(id);
    insert(1).execute(&mut *tx).await.unwrap();
    let mut inner = kopek_store::savepoint(&mut tx).await.unwrap();
    insert(2).execute(&mut *inner).await.unwrap();
    inner.rollback().await.unwrap();
    let mut kept = kopek_store::savepoint(&mut tx).await.unwrap();
    sqlx::query("UPDATE test_clock SET offset_micros = 7 WHERE id = 1")
        .execute(&mut *kept)
        .await
        .unwrap();
    kept.commit().await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.conn().await.unwrap();
    let rows: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, offset_micros FROM test_clock ORDER BY id")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(rows, [(1, 7)]);
    drop(conn);
    app.stop().await;
}

crate::both_backends!(a_savepoint_rolls_back_alone);

/// SQLite commits wait for the disk by default (an acknowledged write survives a
/// power loss); `KOPEK_SQLITE_SYNCHRONOUS=normal` trades that for speed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_waits_for_the_disk_unless_told_otherwise() {
    use kopek::config::SqliteSynchronous;
    for (setting, expected) in [(None, 2), (Some(SqliteSynchronous::Normal), 1)] {
        let app = TestApp::spawn_with(
            Backend::Sqlite,
            |config| {
                if let Some(setting) = setting {
                    config.sqlite_synchronous = setting;
                }
            },
            |w| w,
        )
        .await;
        // Every connection of the pool, not only the first.
        let mut held = Vec::new();
        for _ in 0..3 {
            let mut conn = app.store().pool().acquire().await.unwrap();
            let mode: i64 = sqlx::query_scalar("PRAGMA synchronous")
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(mode, expected, "{setting:?}");
            held.push(conn);
        }
    }
}

/// SQLite's writers share commits (group commit): of many requests writing at
/// once, those that commit are made durable by fewer COMMITs than there are of
/// them, and one that gives up rolls back its own work only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_writers_share_commits_and_fail_alone() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let store = app.store().clone();
    let (turns_before, commits_before) = store.sqlite_commits().await;
    let mut writers = tokio::task::JoinSet::new();
    for id in 101..=160i64 {
        let store = store.clone();
        writers.spawn(async move {
            let mut tx = store.begin().await.unwrap();
            sqlx::query("INSERT INTO test_clock (id, offset_micros) VALUES ($1, 0)")
                .bind(id)
                .execute(&mut *tx)
                .await
                .unwrap();
            // Others queue for the writer meanwhile.
            tokio::task::yield_now().await;
            if id % 3 == 0 {
                drop(tx);
            } else {
                tx.commit().await.unwrap();
            }
        });
    }
    while let Some(done) = writers.join_next().await {
        done.unwrap();
    }
    let kept: Vec<i64> =
        sqlx::query_scalar("SELECT id FROM test_clock WHERE id BETWEEN 101 AND 160 ORDER BY id")
            .fetch_all(store.pool())
            .await
            .unwrap();
    let committed: Vec<i64> = (101..=160).filter(|id| id % 3 != 0).collect();
    assert_eq!(kept, committed);
    let (turns, commits) = store.sqlite_commits().await;
    let (turns, commits) = (turns - turns_before, commits - commits_before);
    assert!(turns >= 60, "{turns} turns");
    assert!(
        commits < committed.len() as u64,
        "{} requests committed with {commits} COMMITs",
        committed.len()
    );
    crate::harness::say(&format!(
        "{} requests committed with {commits} COMMITs",
        committed.len()
    ));
}
