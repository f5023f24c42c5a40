//! What a hostile client tries with valid-looking requests: guessing passwords in
//! bursts and across logins, flooding writes with one key, keeping sessions after
//! a password change, and finding secrets at rest.

use crate::both_backends;
use crate::harness::{Backend, TestApp, read};
use crate::lifepos::{lp, ready, sign_in};
use reqwest::Method;
use serde_json::{Value, json};

/// However many guesses arrive at once, at most five are checked: the rest are
/// 429 with `Retry-After`, and after them the right password does not get in.
async fn a_burst_of_guesses_checks_at_most_five(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.sign_in_per_minute = 0, |w| w).await;
    let shop = ready(&app, "burst").await;
    let login = "owner@burst.example";
    let start = std::sync::Arc::new(tokio::sync::Barrier::new(60));
    let mut guesses = Vec::new();
    for i in 0..60 {
        let (client, url, start) = (
            app.client.clone(),
            format!("{}/auth/sign-in", app.base),
            start.clone(),
        );
        guesses.push(tokio::spawn(async move {
            start.wait().await;
            let response = client
                .post(url)
                .header("x-lp-client-identifier", crate::lifepos::CLIENT_ID)
                .header("x-lp-client-type", "Service")
                .header("accept-language", "en")
                .json(&json!({"full_username": login, "password": format!("wrong-{i}"), "response_type": "Session"}))
                .send()
                .await
                .unwrap();
            let retry_after = response.headers().get("retry-after").cloned();
            let (status, body) = read(response).await;
            (status, body, retry_after)
        }));
    }
    let mut answers = Vec::new();
    for guess in guesses {
        answers.push(guess.await.unwrap());
    }
    let checked = answers.iter().filter(|(s, _, _)| *s == 401).count();
    assert!(checked <= 5, "{checked} guesses were checked");
    assert_eq!(
        answers.iter().filter(|(s, _, _)| *s == 429).count(),
        60 - checked
    );
    for (status, body, retry_after) in &answers {
        if *status == 429 {
            assert_eq!(body["code"], "TooManyRequests", "{body}");
            let seconds: u64 = retry_after
                .as_ref()
                .unwrap()
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=15 * 60 + 1).contains(&seconds), "{seconds}");
        }
    }
    // Refused guesses count while they are refused, so a burst may check fewer
    // than five; the rest of the five come one at a time, then the login locks,
    // for the right password too.
    for _ in checked..5 {
        assert_eq!(sign_in(&app, login, "wrong-again").await.0, 401);
    }
    let (status, body) = sign_in(&app, login, "s3cret-pass").await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("TooManyRequests"))
    );
    assert!(!shop.token.is_empty());
}

/// Spraying passwords across logins from one address is throttled per address.
async fn sign_ins_are_limited_per_client_address(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.sign_in_per_minute = 3, |w| w).await;
    for i in 0..3 {
        let (status, body) = sign_in(&app, &format!("nobody{i}@spray.example"), "pw").await;
        assert_eq!(status, 401, "{body}");
    }
    let response = lp(&app, Method::POST, "/auth/sign-in", "")
        .json(&json!({"full_username": "nobody9@spray.example", "password": "pw"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = read(response).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("TooManyRequests")),
        "{body}"
    );
}

/// With a limit configured, one key's writes per minute are bounded; other keys
/// and reads are not affected.
async fn writes_are_limited_per_key_when_configured(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.writes_per_minute_per_key = 3, |w| w).await;
    // Issuing the other key is the admin token's first write of three.
    let (_, other) = app.key("admin", None).await;
    for i in 0..2 {
        let (status, body) = app
            .admin(
                Method::POST,
                "/admin/v1/resellers",
                Some(json!({"name": format!("R{i}")})),
            )
            .await;
        assert_eq!(status, 201, "{body}");
    }
    let response = app
        .request(Method::POST, "/admin/v1/resellers", Some(&app.admin_token))
        .json(&json!({"name": "R3"}))
        .send()
        .await
        .unwrap();
    assert!(response.headers().contains_key("retry-after"));
    let (status, body) = read(response).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("too_many_requests")),
        "{body}"
    );
    let (status, _) = read(
        app.request(Method::POST, "/admin/v1/resellers", Some(&other))
            .json(&json!({"name": "R4"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "another key has its own allowance");
    assert_eq!(
        app.admin(Method::GET, "/admin/v1/resellers", None).await.0,
        200
    );
}

/// A new password ends every session and token the user had.
async fn a_password_change_ends_sessions(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let shop = ready(&app, "rotate").await;
    let login = "owner@rotate.example";
    let (_, long) = read(
        lp(&app, Method::POST, "/auth/sign-in", "")
            .json(&json!({"full_username": login, "password": "s3cret-pass", "response_type": "Token"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    let products = format!("/orgs/{}/profile/subscriptions/products", shop.org);
    for token in [&shop.token, long["token"].as_str().unwrap()] {
        assert_eq!(
            read(
                lp(&app, Method::GET, &products, token)
                    .send()
                    .await
                    .unwrap()
            )
            .await
            .0,
            200
        );
    }
    let (status, body) = app
        .admin(
            Method::PATCH,
            "/api/v1/billing/user/manage",
            Some(json!({"login": login, "password": "n3w-secret"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for token in [&shop.token, long["token"].as_str().unwrap()] {
        let (status, body) = read(
            lp(&app, Method::GET, &products, token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 401, "{body}");
    }
    assert_eq!(sign_in(&app, login, "n3w-secret").await.0, 200);
}

/// Every value of every row of every table, as text.
async fn everything_stored(app: &TestApp) -> String {
    let pool = app.store().pool();
    let mut all = String::new();
    match app.store().backend() {
        kopek_store::Backend::Postgres => {
            let tables: Vec<String> = sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema()",
            )
            .fetch_all(pool)
            .await
            .unwrap();
            for table in tables {
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT CAST(t AS TEXT) FROM {table} t"
                )))
                .fetch_all(pool)
                .await
                .unwrap();
                all.extend(rows.into_iter().map(|r| r + "\n"));
            }
        }
        kopek_store::Backend::Sqlite => {
            let tables: Vec<String> =
                sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table'")
                    .fetch_all(pool)
                    .await
                    .unwrap();
            for table in tables {
                let columns: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT name FROM pragma_table_info('{table}')"
                )))
                .fetch_all(pool)
                .await
                .unwrap();
                let row = columns
                    .iter()
                    .map(|c| format!("quote(\"{c}\")"))
                    .collect::<Vec<_>>()
                    .join(" || '|' || ");
                let rows: Vec<String> = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
                    "SELECT {row} FROM \"{table}\""
                )))
                .fetch_all(pool)
                .await
                .unwrap();
                all.extend(rows.into_iter().map(|r| r + "\n"));
            }
        }
    }
    all
}

/// No secret the API hands out is kept at rest: not an API key's token (also not in
/// the idempotency record, whose replay answers without it), not a session token.
async fn secrets_are_never_stored(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let shop = ready(&app, "atrest").await;
    let create = || {
        app.request(Method::POST, "/admin/v1/api-keys", Some(&app.admin_token))
            .header("idempotency-key", "key-once")
            .json(&json!({"role": "admin", "name": "ops"}))
    };
    let (status, first) = read(create().send().await.unwrap()).await;
    assert_eq!(status, 201, "{first}");
    let token = first["token"].as_str().unwrap().to_owned();
    let (status, replay) = read(create().send().await.unwrap()).await;
    assert_eq!(status, 201);
    assert_eq!(replay["id"], first["id"]);
    assert_eq!(
        replay["token"],
        Value::Null,
        "a repeat does not hand the token out again"
    );
    let (_, session) = sign_in(&app, "owner@atrest.example", "s3cret-pass").await;
    let stored = everything_stored(&app).await;
    assert!(
        stored.contains(first["id"].as_str().unwrap()),
        "the scan reads the tables"
    );
    for secret in [
        token.as_str(),
        session["token"].as_str().unwrap(),
        shop.token.as_str(),
        "s3cret-pass",
    ] {
        assert!(!stored.contains(secret), "a secret is stored: {secret}");
    }
}

both_backends!(
    a_burst_of_guesses_checks_at_most_five,
    sign_ins_are_limited_per_client_address,
    writes_are_limited_per_key_when_configured,
    a_password_change_ends_sessions,
    secrets_are_never_stored,
);
