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
