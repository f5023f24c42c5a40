//! The `kopek` binary: `migrate` and `api-key` against the same database a server uses.

use crate::both_backends;
use crate::harness::TestApp;
use reqwest::Method;
use std::process::Command;

fn kopek(app: &TestApp, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kopek"))
        .args(args)
        .env("KOPEK_DATABASE_URL", &app.db.url)
        .env("KOPEK_LOG", "warn")
        .env_remove("KOPEK_ADMIN_TOKEN")
        .output()
        .expect("run kopek")
}

async fn api_keys_from_the_command_line(app: TestApp) {
    let migrate = kopek(&app, &["migrate"]);
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );

    let created = kopek(
        &app,
        &["api-key", "create", "--role", "admin", "--name", "ops"],
    );
    assert!(
        created.status.success(),
        "{}",
        String::from_utf8_lossy(&created.stderr)
    );
    let token = String::from_utf8(created.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("kpk_"), "{token}");
    let ok = app
        .request(Method::GET, "/admin/v1/api-keys", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);

    let list = kopek(&app, &["api-key", "list"]);
    let listing = String::from_utf8(list.stdout).unwrap();
    assert!(
        listing.contains("ops") && !listing.contains(&token),
        "{listing}"
    );
    let id = listing.split('\t').next().unwrap().to_owned();

    let bad = kopek(&app, &["api-key", "create", "--role", "reseller"]);
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("scope"));

    let revoked = kopek(&app, &["api-key", "revoke", &id]);
    assert!(
        revoked.status.success(),
        "{}",
        String::from_utf8_lossy(&revoked.stderr)
    );
    let refused = app
        .request(Method::GET, "/admin/v1/api-keys", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
}

both_backends!(api_keys_from_the_command_line);
