//! The `kopek` binary: `migrate` and `api-key` against the same database a server uses.

use crate::both_backends;
use crate::harness::{Backend, TestApp};
use reqwest::Method;
use std::process::Command;

pub fn kopek(app: &TestApp, args: &[&str]) -> std::process::Output {
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
    let mut lines = listing.lines();
    assert_eq!(
        lines.next(),
        Some("ID\tROLE\tSCOPE\tNAME\tCREATED\tSTATE"),
        "{listing}"
    );
    let id = lines.next().unwrap().split('\t').next().unwrap().to_owned();

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

/// `kopek` in `dir` with only the given `KOPEK_*` variables: its exit code and the
/// lines it wrote to stderr.
fn kopek_in(dir: &std::path::Path, args: &[&str], env: &[(&str, &str)]) -> (i32, Vec<String>) {
    let mut command = Command::new(env!("CARGO_BIN_EXE_kopek"));
    command.current_dir(dir).args(args);
    for (name, _) in std::env::vars() {
        if name.starts_with("KOPEK_") {
            command.env_remove(name);
        }
    }
    command.envs(env.iter().copied()).env("KOPEK_LOG", "warn");
    let out = command.output().expect("run kopek");
    let stderr = String::from_utf8_lossy(&out.stderr);
    (
        out.status.code().unwrap_or(-1),
        stderr.lines().map(str::to_owned).collect(),
    )
}

/// Arguments, `KOPEK_*` variables and the one line `kopek` must answer.
type Case<'a> = (&'a [&'a str], &'a [(&'a str, &'a str)], &'a str);

/// Every mistake in the configuration stops the start with one line naming the
/// setting, the value and what is allowed, and exit code 2; nothing is created.
#[test]
fn configuration_mistakes_stop_the_start() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("typo.toml"), "lisen = \"127.0.0.1:1\"\n").unwrap();
    std::fs::write(dir.path().join("bad.toml"), "log_format = \"yaml\"\n").unwrap();
    let cases: &[Case] = &[
        (
            &["--config", "nope.toml", "serve"],
            &[],
            "kopek: configuration file nope.toml does not exist",
        ),
        (
            &["serve"],
            &[("KOPEK_CONFIG", "/nonexistent")],
            "kopek: configuration file /nonexistent does not exist",
        ),
        (
            &["--config", "typo.toml", "serve"],
            &[],
            "kopek: configuration file typo.toml: unknown key \"lisen\" (did you mean \"listen\"?)",
        ),
        (
            &["serve"],
            &[("KOPEK_LOG_FORMAT", "yaml")],
            "kopek: KOPEK_LOG_FORMAT = \"yaml\" is not valid: expected one of text, json",
        ),
        (
            &["--config", "bad.toml", "serve"],
            &[],
            "kopek: log_format in bad.toml = \"yaml\" is not valid: expected one of text, json",
        ),
        (
            &["serve"],
            &[("KOPEK_DB_MAX_CONNECTIONS", "many")],
            "kopek: KOPEK_DB_MAX_CONNECTIONS = \"many\" is not valid: expected a whole number",
        ),
        (
            &["serve"],
            &[("KOPEK_DB_MAX_CONNECTIONS", "0")],
            "kopek: KOPEK_DB_MAX_CONNECTIONS = \"0\" is not valid: expected a whole number from 1 to 1000",
        ),
        (
            &["serve"],
            &[("KOPEK_LISTEN", "0.0.0.0:8080")],
            "kopek: KOPEK_LISTEN = \"0.0.0.0:8080\" listens on every address, so links in mails and \
             invoices would point to http://0.0.0.0:8080: set KOPEK_PUBLIC_URL to the address people \
             reach Kopek at, e.g. https://billing.example.com",
        ),
        (
            &["serve"],
            &[("KOPEK_PUBLIC_URL", "localhost:8080")],
            "kopek: KOPEK_PUBLIC_URL = \"localhost:8080\" is not valid: expected an absolute http:// \
             or https:// URL without query or fragment, e.g. https://billing.example.com",
        ),
        (
            &["serve"],
            &[("KOPEK_PUBLIC_URL", "ftp://billing.example.com")],
            "kopek: KOPEK_PUBLIC_URL = \"ftp://billing.example.com\" is not valid: expected an \
             absolute http:// or https:// URL without query or fragment, e.g. https://billing.example.com",
        ),
        (
            &["serve"],
            &[("KOPEK_LISTEN", "localhost")],
            "kopek: KOPEK_LISTEN = \"localhost\" is not valid: expected host:port, e.g. 127.0.0.1:8080",
        ),
        (
            &["serve"],
            &[("KOPEK_SELLER_INN", "1234567890")],
            "kopek: KOPEK_SELLER_INN = \"1234567890\" is not valid: expected 10 or 12 digits with \
             valid check digits",
        ),
        (
            &["serve"],
            &[("KOPEK_FIXED_TIME", "yesterday")],
            "kopek: KOPEK_FIXED_TIME = \"yesterday\" is not valid: expected an RFC 3339 time such as \
             2026-01-01T09:00:00Z",
        ),
        (
            &["serve"],
            &[("KOPEK_DATABASE_URL", "mysql://db/kopek")],
            "kopek: KOPEK_DATABASE_URL = \"mysql://db/kopek\" is not valid: expected sqlite://PATH or \
             postgres://USER:PASSWORD@HOST/DATABASE",
        ),
        (
            &["api-key", "create", "--role", "admin"],
            &[],
            "kopek: no database at ./kopek-data/kopek.db: run `kopek migrate` (or `kopek serve`) to \
             create one, or point KOPEK_DATA_DIR or KOPEK_DATABASE_URL at the server's database",
        ),
        (
            &["api-key", "list"],
            &[],
            "kopek: no database at ./kopek-data/kopek.db: run `kopek migrate` (or `kopek serve`) to \
             create one, or point KOPEK_DATA_DIR or KOPEK_DATABASE_URL at the server's database",
        ),
    ];
    for (args, env, expected) in cases {
        let (code, lines) = kopek_in(dir.path(), args, env);
        assert_eq!(code, 2, "{args:?} {env:?}: {lines:?}");
        assert_eq!(lines, [*expected], "{args:?} {env:?}");
    }
    assert!(
        !dir.path().join("kopek-data").exists(),
        "a refused start created a database"
    );

    // clap lists the roles; a key spec the domain refuses is one line too.
    let (code, lines) = kopek_in(dir.path(), &["api-key", "create", "--role", "boss"], &[]);
    assert_eq!(code, 2);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("[possible values: admin, reseller, organization, integration]")),
        "{lines:?}"
    );
}

/// A database that cannot be reached is named, with the cause, at once: exit 1.
#[test]
fn an_unreachable_database_is_named_with_its_cause() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let (code, lines) = kopek_in(
        dir.path(),
        &["migrate"],
        &[(
            "KOPEK_DATABASE_URL",
            "postgres://kopek:secret@127.0.0.1:9/kopek",
        )],
    );
    assert_eq!(code, 1, "{lines:?}");
    assert_eq!(
        lines,
        [
            "kopek: PostgreSQL postgres://kopek:***@127.0.0.1:9/kopek: cannot connect: Connection refused (os error 111)"
        ]
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));

    // A data directory that cannot be made, and an SQLite file that cannot be opened.
    let (code, lines) = kopek_in(
        dir.path(),
        &["migrate"],
        &[("KOPEK_DATA_DIR", "/dev/null/kopek")],
    );
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        ["kopek: cannot create the data directory /dev/null/kopek: Not a directory (os error 20)"]
    );
    std::fs::create_dir_all(dir.path().join("d/kopek.db")).unwrap();
    let (code, lines) = kopek_in(dir.path(), &["migrate"], &[("KOPEK_DATA_DIR", "d")]);
    assert_eq!(code, 1);
    assert_eq!(
        lines,
        ["kopek: SQLite database d/kopek.db: cannot connect: unable to open database file"]
    );
}

/// Unknown `KOPEK_*` variables are named in a warning (with the setting meant) and
/// do not stop the start; `migrate` says which database it made.
#[test]
fn unknown_variables_are_warned_about() {
    let dir = tempfile::tempdir().unwrap();
    let (code, lines) = kopek_in(dir.path(), &["migrate"], &[("KOPEK_LISEN", "1")]);
    assert_eq!(code, 0, "{lines:?}");
    assert!(
        lines[0].contains("ignoring KOPEK_LISEN: not a Kopek setting (did you mean KOPEK_LISTEN?)"),
        "{lines:?}"
    );
    assert_eq!(
        lines.last().map(String::as_str),
        Some("SQLite database ./kopek-data/kopek.db is up to date")
    );
}

/// Commands other than `serve` and `migrate` use the database that is there and
/// say which; they refuse one that was never migrated.
async fn commands_say_which_database_they_use(backend: Backend) {
    let db = crate::harness::TestDb::new(backend).await;
    db.store().await.close().await;
    let dir = tempfile::tempdir().unwrap();
    let (code, lines) = kopek_in(
        dir.path(),
        &["api-key", "list"],
        &[("KOPEK_DATABASE_URL", &db.url)],
    );
    assert_eq!(code, 0, "{lines:?}");
    assert!(lines[0].starts_with("using "), "{lines:?}");
    if backend == Backend::Sqlite {
        // The harness's SQLite database is migrated when opened by a store; an
        // empty file is a database that was never migrated.
        let empty = dir.path().join("empty.db");
        std::fs::write(&empty, b"").unwrap();
        let url = format!("sqlite://{}", empty.display());
        let (code, lines) = kopek_in(
            dir.path(),
            &["api-key", "list"],
            &[("KOPEK_DATABASE_URL", &url)],
        );
        assert_eq!(code, 1, "{lines:?}");
        assert!(
            lines[0].contains("the schema is at version 0, this kopek needs")
                && lines[0].ends_with("run `kopek migrate` first"),
            "{lines:?}"
        );
    }
}

both_backends!(commands_say_which_database_they_use);

/// A first start on an empty database without `KOPEK_ADMIN_TOKEN` says how to get
/// an admin key; every request is one log line at the default level, without the
/// secret an invitation path carries.
#[test]
fn a_first_start_explains_itself_and_logs_each_request() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_kopek"));
    for (name, _) in std::env::vars() {
        if name.starts_with("KOPEK_") {
            command.env_remove(name);
        }
    }
    let mut child = command
        .current_dir(dir.path())
        .args(["serve"])
        .env("KOPEK_LISTEN", "127.0.0.1:0")
        .env("KOPEK_LOG_FORMAT", "json")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = tx.send(line);
        }
    });
    let next = |until: &dyn Fn(&serde_json::Value) -> bool| -> Vec<serde_json::Value> {
        let mut seen = Vec::new();
        while let Ok(line) = rx.recv_timeout(std::time::Duration::from_secs(30)) {
            let parsed: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            let done = until(&parsed);
            seen.push(parsed);
            if done {
                return seen;
            }
        }
        panic!("the log ended early: {seen:?}");
    };
    let start = next(&|l| l["fields"]["message"] == "kopek listening");
    let addr = start.last().unwrap()["fields"]["addr"]
        .as_str()
        .unwrap()
        .to_owned();
    let hint = next(&|l| {
        l["fields"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("no admin key yet"))
    });
    assert_eq!(hint.last().unwrap()["level"], "WARN");
    assert!(
        hint.last().unwrap()["fields"]["message"]
            .as_str()
            .unwrap()
            .contains("kopek api-key create --role admin")
    );

    let mut stream = std::net::TcpStream::connect(&addr).unwrap();
    std::io::Write::write_all(
        &mut stream,
        b"GET /invitations/inv_secret-token HTTP/1.1\r\nHost: kopek\r\nConnection: close\r\n\r\n",
    )
    .unwrap();
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut stream, &mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 404"), "{answer}");
    let request = next(&|l| l["fields"]["message"] == "finished processing request");
    let line = request.last().unwrap();
    assert_eq!(line["level"], "INFO");
    assert_eq!(line["fields"]["status"], 404);
    assert_eq!(line["span"]["path"], "/invitations/<token>");
    assert!(
        !serde_json::to_string(&request)
            .unwrap()
            .contains("inv_secret-token")
    );
    let _ = child.kill();
    let _ = child.wait();
}

/// `kopek ready`, the container image's health check, asks the server its
/// configuration names for /readyz, on loopback when it listens on all addresses,
/// and fails when nothing answers.
async fn ready_asks_the_configured_server(app: TestApp) {
    let port = app.base.rsplit(':').next().unwrap().to_owned();
    let ready = |listen: String| {
        tokio::task::spawn_blocking(move || {
            let dir = tempfile::tempdir().unwrap();
            let env = [
                ("KOPEK_LISTEN", listen.as_str()),
                ("KOPEK_PUBLIC_URL", "https://billing.example.com"),
            ];
            kopek_in(dir.path(), &["ready"], &env)
        })
    };
    for listen in [format!("127.0.0.1:{port}"), format!("0.0.0.0:{port}")] {
        let (code, lines) = ready(listen.clone()).await.unwrap();
        assert_eq!(code, 0, "{listen}: {lines:?}");
        assert_eq!(
            lines,
            [format!("http://127.0.0.1:{port}/readyz: ready")],
            "{listen}"
        );
    }
    let nobody = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent = nobody.local_addr().unwrap().to_string();
    drop(nobody);
    let (code, lines) = ready(silent.clone()).await.unwrap();
    assert_eq!(code, 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("kopek: http://{silent}/readyz: ")),
        "{lines:?}"
    );
}

both_backends!(ready_asks_the_configured_server);
