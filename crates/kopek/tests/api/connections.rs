//! Connections that hold the server without asking anything of it: silent, idle,
//! a header sent a byte at a time, a body that stops half way, more connections
//! than the server takes, and a stop with each of them open. Each is closed in
//! bounded time, other clients are served meanwhile, and SIGTERM finishes in time.
//! The seconds each case took are printed.

use crate::both_backends;
use crate::harness::{Process, TestApp, say, spawn_process_with};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const HEADER_TIMEOUT: u64 = 2;
const IDLE_TIMEOUT: u64 = 3;
const BODY_TIMEOUT: u64 = 2;
const REQUEST_TIMEOUT: u64 = 4;
const MAX_CONNECTIONS: usize = 40;
const GRACE: u64 = 3;
const FD_LIMIT: usize = 100;
const CROWD: usize = 300;

async fn server(app: &TestApp) -> Process {
    let settings = [
        (
            "KOPEK_HTTP_HEADER_TIMEOUT_SECONDS",
            HEADER_TIMEOUT.to_string(),
        ),
        ("KOPEK_HTTP_IDLE_TIMEOUT_SECONDS", IDLE_TIMEOUT.to_string()),
        ("KOPEK_HTTP_BODY_TIMEOUT_SECONDS", BODY_TIMEOUT.to_string()),
        (
            "KOPEK_HTTP_REQUEST_TIMEOUT_SECONDS",
            REQUEST_TIMEOUT.to_string(),
        ),
        ("KOPEK_HTTP_MAX_CONNECTIONS", MAX_CONNECTIONS.to_string()),
        ("KOPEK_SHUTDOWN_GRACE_SECONDS", GRACE.to_string()),
        ("KOPEK_ADMIN_TOKEN", "connections-admin".to_owned()),
    ];
    let env: Vec<(&str, &str)> = settings.iter().map(|(k, v)| (*k, v.as_str())).collect();
    spawn_process_with(app, &env).await
}

fn connect(process: &Process) -> TcpStream {
    let stream = TcpStream::connect(process.base.trim_start_matches("http://")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    stream
}

/// Reads until the server closes the connection: what it sent, and how long since
/// `since` that took.
fn until_closed(stream: &mut TcpStream, since: Instant) -> (String, Duration) {
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server never closed the connection: {e}"),
        }
    }
    (String::from_utf8_lossy(&got).into_owned(), since.elapsed())
}

/// A plain request on a fresh connection, answered within `limit`.
fn served_within(process: &Process, limit: Duration) -> Duration {
    let started = Instant::now();
    let mut stream = connect(process);
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: kopek\r\nConnection: close\r\n\r\n")
        .unwrap();
    let (answer, took) = until_closed(&mut stream, started);
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    assert!(took < limit, "a client waited {took:?}");
    took
}

fn within(took: Duration, seconds: u64) -> bool {
    took >= Duration::from_millis(seconds * 1000 - 300) && took < Duration::from_secs(seconds + 3)
}

async fn abusive_connections_are_closed_in_time(app: TestApp) {
    let mut process = server(&app).await;
    let backend = format!("{:?}", app.store().backend()).to_lowercase();

    // Silent: connects and sends nothing.
    let started = Instant::now();
    let (_, silent) = until_closed(&mut connect(&process), started);
    assert!(within(silent, HEADER_TIMEOUT), "{silent:?}");

    // Idle: one request answered, then nothing on the kept-alive connection.
    let mut idle = connect(&process);
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: kopek\r\n\r\n")
        .unwrap();
    let mut first = [0u8; 512];
    let n = idle.read(&mut first).unwrap();
    assert!(String::from_utf8_lossy(&first[..n]).starts_with("HTTP/1.1 200"));
    let started = Instant::now();
    let (_, idle_for) = until_closed(&mut idle, started);
    assert!(within(idle_for, IDLE_TIMEOUT), "{idle_for:?}");

    // Slowloris: a header byte every 200 ms, never finished.
    let mut slow = connect(&process);
    let started = Instant::now();
    let dripping = std::thread::spawn({
        let mut slow = slow.try_clone().unwrap();
        move || {
            for b in b"GET /healthz HTTP/1.1\r\nHost: kopek\r\nX-Padding: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" {
                if slow.write_all(&[*b]).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
    });
    let (_, slowloris) = until_closed(&mut slow, started);
    assert!(within(slowloris, HEADER_TIMEOUT), "{slowloris:?}");
    let _ = dripping.join();

    // Half a body: the head says 100 bytes, 10 come, then nothing.
    let mut half = connect(&process);
    half.write_all(
        b"POST /admin/v1/resellers HTTP/1.1\r\nHost: kopek\r\nAuthorization: Bearer connections-admin\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"name\":\"",
    )
    .unwrap();
    let started = Instant::now();
    let (answer, half_body) = until_closed(&mut half, started);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.contains("request_timeout"),
        "in the operator API's dialect: {answer}"
    );
    assert!(within(half_body, BODY_TIMEOUT), "{half_body:?}");

    // More silent connections than the server takes, and more than its file
    // descriptor limit: others are still served once the silent ones are cut.
    let limited = std::process::Command::new("prlimit")
        .args([
            "--pid",
            &process.pid().to_string(),
            &format!("--nofile={FD_LIMIT}:{FD_LIMIT}"),
        ])
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        limited || std::env::var_os("CI").is_none(),
        "prlimit failed"
    );
    let crowd: Vec<TcpStream> = (0..CROWD).map(|_| connect(&process)).collect();
    std::thread::sleep(Duration::from_millis(200));
    // Waiting its turn behind them all would take CROWD / MAX_CONNECTIONS header timeouts.
    let waited = served_within(&process, Duration::from_secs(4 * HEADER_TIMEOUT));
    drop(crowd);

    // A stop with a silent, a half-sent head and a half-sent body open.
    let _silent = connect(&process);
    let mut head = connect(&process);
    head.write_all(b"GET /healthz HTTP/1.1\r\nHost: ko")
        .unwrap();
    let mut body = connect(&process);
    body.write_all(
        b"POST /admin/v1/resellers HTTP/1.1\r\nHost: kopek\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let stopped = process
        .terminate(Duration::from_secs(GRACE + HEADER_TIMEOUT + 5))
        .expect("SIGTERM finished");

    say(&format!(
        "connections ({backend}): closed after silent {:.1} s, idle {:.1} s, slowloris {:.1} s, \
         half body {:.1} s; a client beside {} silent connections (fd limit {FD_LIMIT}) served in {:.1} s; \
         SIGTERM with three open finished in {:.1} s",
        silent.as_secs_f64(),
        idle_for.as_secs_f64(),
        slowloris.as_secs_f64(),
        half_body.as_secs_f64(),
        CROWD,
        waited.as_secs_f64(),
        stopped.as_secs_f64(),
    ));
}

both_backends!(abusive_connections_are_closed_in_time);
