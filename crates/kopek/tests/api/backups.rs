//! Backups that restore: taken while invoices are being written, put back into a
//! fresh place, and holding every invoice acknowledged before the backup began.
//! SQLite with `kopek backup` and `kopek restore`; PostgreSQL with `pg_dump` and
//! `pg_restore`, as the README says.

use crate::harness::{Backend, TestApp, have, postgres_admin_url, with_database};
use crate::lifepos::{START_PLAN, Shop, create, ready, seed_request};
use sqlx::{Connection, Executor};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

crate::both_backends!(a_backup_under_load_restores_everything_acknowledged);

fn kopek(args: &[&str], file: &Path, env: &[(&str, &str)]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kopek"))
        .args(args)
        .arg(file)
        .envs(env.iter().copied())
        .env("KOPEK_LOG", "warn")
        .output()
        .expect("run kopek")
}

fn succeeded(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Invoices created one after another until `stop`; the numbers of those
/// acknowledged go to `acknowledged`, in order.
async fn write_load(
    app: &TestApp,
    shop: &Shop,
    acknowledged: &Mutex<Vec<String>>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::SeqCst) {
        let (status, invoice) = create(app, shop, seed_request(START_PLAN, 1, 1, &shop.org)).await;
        assert_eq!(status, 201, "{invoice}");
        let number = invoice["number"].as_str().unwrap().to_owned();
        acknowledged.lock().unwrap().push(number);
    }
}

async fn until(acknowledged: &Mutex<Vec<String>>, count: usize) {
    while acknowledged.lock().unwrap().len() < count {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

async fn a_backup_under_load_restores_everything_acknowledged(backend: Backend) {
    if backend == Backend::Postgres && !(have("pg_dump") && have("pg_restore")) {
        return;
    }
    let app = TestApp::spawn(backend).await;
    let shop = ready(&app, "backed-up").await;
    let acknowledged = Mutex::new(Vec::new());
    let stop = AtomicBool::new(false);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kopek.backup");
    let back_up = async {
        until(&acknowledged, 20).await;
        let before = acknowledged.lock().unwrap().clone();
        let (db_url, target) = (app.db.url.clone(), file.clone());
        let out = tokio::task::spawn_blocking(move || match backend {
            Backend::Sqlite => kopek(&["backup"], &target, &[("KOPEK_DATABASE_URL", &db_url)]),
            Backend::Postgres => Command::new("pg_dump")
                .args(["--format=custom", "--file"])
                .arg(&target)
                .arg(&db_url)
                .output()
                .unwrap(),
        })
        .await
        .unwrap();
        // The load goes on past the backup: what follows is not in it.
        let during = acknowledged.lock().unwrap().len();
        until(&acknowledged, during + 10).await;
        stop.store(true, Ordering::SeqCst);
        (before, out)
    };
    let ((before, out), ()) = tokio::join!(back_up, write_load(&app, &shop, &acknowledged, &stop));
    succeeded("backup", &out);

    let restored_dir = tempfile::tempdir().unwrap();
    let restored_url = match backend {
        Backend::Sqlite => {
            let refused = kopek(&["restore"], &file, &[("KOPEK_DATABASE_URL", &app.db.url)]);
            assert!(!refused.status.success(), "a restore over a running server");
            assert!(
                String::from_utf8_lossy(&refused.stderr).contains("stop it before restoring"),
                "{}",
                String::from_utf8_lossy(&refused.stderr)
            );
            let data_dir = restored_dir.path().to_str().unwrap();
            let out = kopek(&["restore"], &file, &[("KOPEK_DATA_DIR", data_dir)]);
            succeeded("restore", &out);
            format!(
                "sqlite://{}",
                restored_dir.path().join("kopek.db").display()
            )
        }
        Backend::Postgres => {
            let name = format!("kopek_r_{}", uuid::Uuid::new_v4().simple());
            let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
                .await
                .unwrap();
            admin
                .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
                .await
                .unwrap();
            let url = with_database(&postgres_admin_url(), &name);
            let out = Command::new("pg_restore")
                .args(["--no-owner", "--exit-on-error", "--dbname"])
                .arg(&url)
                .arg(&file)
                .output()
                .unwrap();
            succeeded("pg_restore", &out);
            url
        }
    };

    // A server starts on the restored database and finds every invoice acknowledged
    // before the backup began, numbered without a gap.
    let mut config = app.db.config();
    config.database_url = Some(restored_url.clone());
    config.data_dir = restored_dir.path().to_owned();
    let server = kopek::Server::start(&config, |w| w)
        .await
        .expect("serve the restored database");
    let ready = reqwest::get(format!("http://{}/readyz", server.addr))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200);
    let mut numbers: Vec<String> = sqlx::query_scalar("SELECT number FROM invoices ORDER BY seq")
        .fetch_all(server.store.pool())
        .await
        .unwrap();
    server.stop().await;
    for number in &before {
        assert!(
            numbers.contains(number),
            "{number} acknowledged before the backup, missing"
        );
    }
    let all = acknowledged.into_inner().unwrap();
    numbers.sort();
    assert_eq!(
        numbers,
        all[..numbers.len()].to_vec(),
        "the restored numbers are a prefix of those acknowledged"
    );
    assert!(
        numbers.len() < all.len(),
        "the load went on past the backup"
    );
    crate::harness::say(&format!(
        "{backend:?}: {} invoices acknowledged before the backup began, {} in it, {} in all",
        before.len(),
        numbers.len(),
        all.len()
    ));
    if backend == Backend::Postgres {
        let name = restored_url
            .rsplit('/')
            .next()
            .unwrap()
            .split('?')
            .next()
            .unwrap()
            .to_owned();
        let mut admin = sqlx::PgConnection::connect(&postgres_admin_url())
            .await
            .unwrap();
        let _ = admin
            .execute(sqlx::AssertSqlSafe(format!(
                "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
            )))
            .await;
    }
}
