//! Webhooks against a real HTTP receiver on a random port: signatures checked by
//! the Standard Webhooks reference library (`standardwebhooks` from PyPI), retries
//! after failures of every kind with the same `webhook-id`, secret rotation, scope,
//! refused private URLs, the delivery log, resend, the event feed, a kill -9 with
//! deliveries pending, and two processes delivering each event once.

use crate::both_backends;
use crate::harness::{
    Backend, TestApp, missing, python_with, read, run_python, say, spawn_process_with,
};
use crate::lifepos::{START_PLAN, create, ready, seed_request};
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// What the receiver does with the next request.
#[derive(Debug, Clone, Copy)]
enum Behaviour {
    Answer(u16),
    /// Says nothing for longer than Kopek waits.
    Hang,
    /// Closes the connection without an answer.
    Drop,
}

#[derive(Debug, Clone)]
struct Received {
    headers: HashMap<String, String>,
    body: Vec<u8>,
    /// The status the receiver answered with; `None` when it hung or hung up.
    answered: Option<u16>,
}

#[derive(Clone, Default)]
struct Receiver {
    url: String,
    script: Arc<Mutex<VecDeque<Behaviour>>>,
    received: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Listens on 127.0.0.1 and answers 200 unless scripted otherwise.
    async fn start() -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver {
            url: format!("http://{}/hook", listener.local_addr().unwrap()),
            ..Receiver::default()
        };
        let this = receiver.clone();
        tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    break;
                };
                let this = this.clone();
                tokio::spawn(async move { this.serve(socket).await });
            }
        });
        receiver
    }

    fn then(&self, behaviours: &[Behaviour]) {
        self.script.lock().unwrap().extend(behaviours);
    }

    async fn serve(&self, mut socket: tokio::net::TcpStream) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 8192];
        let head_end = loop {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
            if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
        };
        let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
        let headers: HashMap<String, String> = head
            .lines()
            .skip(1)
            .filter_map(|l| l.split_once(':'))
            .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
            .collect();
        let length: usize = headers
            .get("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        while buf.len() < head_end + length {
            let Ok(n) = socket.read(&mut chunk).await else {
                return;
            };
            if n == 0 {
                return;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = buf[head_end..head_end + length].to_vec();
        let behaviour = self
            .script
            .lock()
            .unwrap()
            .pop_front()
            .unwrap_or(Behaviour::Answer(200));
        let answered = match behaviour {
            Behaviour::Answer(status) => Some(status),
            Behaviour::Hang | Behaviour::Drop => None,
        };
        self.received.lock().unwrap().push(Received {
            headers,
            body,
            answered,
        });
        match behaviour {
            Behaviour::Answer(status) => {
                let text = format!("answer {status}");
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
            }
            Behaviour::Hang => tokio::time::sleep(Duration::from_secs(30)).await,
            Behaviour::Drop => {}
        }
    }

    fn all(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// The `webhook-id`s of the requests it answered with 2xx.
    fn delivered(&self) -> HashSet<String> {
        self.all()
            .into_iter()
            .filter(|r| r.answered.is_some_and(|s| (200..300).contains(&s)))
            .map(|r| r.headers["webhook-id"].clone())
            .collect()
    }

    /// The requests so far, once at least `n` arrived (within `secs` seconds).
    async fn wait_for(&self, n: usize, secs: u64) -> Vec<Received> {
        for _ in 0..secs * 10 {
            let all = self.all();
            if all.len() >= n {
                return all;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("{} requests arrived, {n} expected", self.all().len());
    }
}

impl Received {
    fn event(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

/// An organization to create: each makes an `organization.created` event.
fn organization(alias: &str) -> Value {
    json!({"alias": alias, "company": {"name": format!("ООО «{alias}»"), "inn": "7707083893", "kpp": "773601001"}})
}

/// An admin POST to a `kopek serve` process at `base`: the status.
async fn post(app: &TestApp, base: &str, path: &str, body: Value) -> u16 {
    app.client
        .post(format!("{base}{path}"))
        .bearer_auth(&app.admin_token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// Creates an organization over the operator API: an `organization.created` event.
async fn new_organization(app: &TestApp, alias: &str) {
    let (status, body) = app
        .admin(
            Method::POST,
            "/admin/v1/organizations",
            Some(organization(alias)),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn webhook_app(backend: Backend) -> TestApp {
    TestApp::spawn_with(
        backend,
        |c| {
            c.webhook_allow_private = true;
            c.webhook_first_retry_seconds = 1;
        },
        |w| w,
    )
    .await
}

async fn endpoint(app: &TestApp, token: &str, body: Value) -> (u16, Value) {
    read(
        app.request(Method::POST, "/admin/v1/webhook-endpoints", Some(token))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// What the reference library makes of a delivery with `secret`: whether it
/// verifies as sent, with one byte of the body changed, and with the timestamp
/// moved by a second.
fn verify(python: &str, secret: &str, delivery: &Received) -> [bool; 3] {
    let script = r#"
import base64, json, sys
from standardwebhooks import Webhook
case = json.load(sys.stdin)
hook = Webhook(case["secret"])
body = base64.b64decode(case["body"])
headers = case["headers"]
def ok(data, hdrs):
    try:
        hook.verify(data, hdrs)
        return True
    except Exception:
        return False
tampered = bytearray(body); tampered[len(tampered) // 2] ^= 1
moved = dict(headers); moved["webhook-timestamp"] = str(int(headers["webhook-timestamp"]) + 1)
print(json.dumps([ok(body, headers), ok(bytes(tampered), headers), ok(body, moved)]))
"#;
    use base64::Engine;
    let case = json!({
        "secret": secret,
        "body": base64::engine::general_purpose::STANDARD.encode(&delivery.body),
        "headers": {
            "webhook-id": delivery.headers["webhook-id"],
            "webhook-timestamp": delivery.headers["webhook-timestamp"],
            "webhook-signature": delivery.headers["webhook-signature"],
        },
    });
    serde_json::from_value(run_python(python, script, &case)).unwrap()
}

/// The endpoint's deliveries once the newest is delivered (or five seconds on).
async fn delivered(app: &TestApp, endpoint_id: &str) -> Vec<Value> {
    let mut logged = deliveries(app, endpoint_id).await;
    for _ in 0..50 {
        if logged[0]["state"] == "delivered" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        logged = deliveries(app, endpoint_id).await;
    }
    logged
}

async fn deliveries(app: &TestApp, endpoint_id: &str) -> Vec<Value> {
    let (status, body) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/webhook-endpoints/{endpoint_id}/deliveries"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["deliveries"].as_array().unwrap().clone()
}

async fn deliveries_signed_as_the_specification_says(backend: Backend) {
    let app = webhook_app(backend).await;
    let receiver = Receiver::start().await;
    let (status, created) = endpoint(
        &app,
        &app.admin_token,
        json!({"url": receiver.url, "event_types": ["invoice.created"], "description": "books"}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let secret = created["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let id = created["id"].as_str().unwrap().to_owned();
    // The secret is shown once.
    let (_, shown) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/webhook-endpoints/{id}"),
            None,
        )
        .await;
    assert!(shown.get("secret").is_none(), "{shown}");

    let shop = ready(&app, "hooks").await;
    let (status, invoice) = create(&app, &shop, seed_request(START_PLAN, 1, 1, &shop.org)).await;
    assert_eq!(status, 201, "{invoice}");
    let got = receiver.wait_for(1, 20).await;
    let delivery = &got[0];
    let event = delivery.event();
    assert_eq!(event["type"], "invoice.created");
    assert_eq!(
        event["subject"],
        json!({"type": "invoice", "id": invoice["guid"]})
    );
    assert_eq!(
        event["tenant"],
        json!({"type": "organization", "id": shop.org})
    );
    // The data is the invoice as LIFE POS shows it.
    assert_eq!(event["data"]["guid"], invoice["guid"]);
    assert_eq!(event["data"]["total"], invoice["total"]);
    assert_eq!(
        delivery.headers["webhook-id"],
        event["id"].as_str().unwrap()
    );
    assert_eq!(delivery.headers["kopek-event-type"], "invoice.created");
    assert_eq!(delivery.headers["content-type"], "application/json");
    let timestamp: i64 = delivery.headers["webhook-timestamp"].parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((timestamp - now).abs() < 60);
    assert!(delivery.headers["webhook-signature"].starts_with("v1,"));

    match python_with("standardwebhooks") {
        Some(python) => assert_eq!(verify(&python, &secret, delivery), [true, false, false]),
        None => missing("standardwebhooks (Python)"),
    }

    // The log shows the attempt.
    let logged = delivered(&app, &id).await;
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0]["state"], "delivered");
    assert_eq!(logged[0]["event_type"], "invoice.created");
    assert_eq!(logged[0]["attempts"][0]["http_status"], 200);
    assert_eq!(logged[0]["attempts"][0]["response_excerpt"], "answer 200");

    // The feed holds the same event, with the same data.
    let (status, feed) = app
        .admin(Method::GET, "/admin/v1/events?type=invoice.&limit=10", None)
        .await;
    assert_eq!(status, 200, "{feed}");
    assert_eq!(feed["events"][0], event);

    // Resend sends it again with the same id.
    let delivery_id = logged[0]["id"].as_str().unwrap();
    let (status, resent) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/webhook-endpoints/{id}/deliveries/{delivery_id}:resend"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{resent}");
    assert_eq!(resent["state"], "pending");
    let got = receiver.wait_for(2, 20).await;
    assert_eq!(got[1].headers["webhook-id"], got[0].headers["webhook-id"]);
    assert_eq!(got[1].body, got[0].body);
    app.stop().await;
}

async fn failures_are_retried_with_the_same_id(backend: Backend) {
    let app = webhook_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.then(&[
        Behaviour::Answer(500),
        Behaviour::Drop,
        Behaviour::Hang,
        Behaviour::Answer(302),
    ]);
    let (status, created) = endpoint(&app, &app.admin_token, json!({"url": receiver.url})).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    new_organization(&app, "retry").await;
    // 500, a dropped connection, a 10 s silence, a redirect (not followed), then 200.
    let got = receiver.wait_for(5, 60).await;
    let ids: Vec<&String> = got.iter().map(|r| &r.headers["webhook-id"]).collect();
    assert!(ids.iter().all(|i| *i == ids[0]), "{ids:?}");
    assert!(got.iter().all(|r| r.body == got[0].body));
    assert_eq!(got[0].event()["type"], "organization.created");
    let logged = delivered(&app, &id).await;
    let attempts = logged[0]["attempts"].as_array().unwrap();
    let statuses: Vec<&Value> = attempts.iter().map(|a| &a["http_status"]).collect();
    assert_eq!(
        statuses,
        [
            &json!(500),
            &Value::Null,
            &Value::Null,
            &json!(302),
            &json!(200)
        ],
        "{logged:?}"
    );
    assert!(
        attempts[2]["error"].as_str().unwrap().contains("timed out"),
        "{attempts:?}"
    );
    assert!(attempts[2]["latency_ms"].as_i64().unwrap() >= 9_000);
    assert_eq!(logged[0]["state"], "delivered");
    app.stop().await;
}

async fn rotation_signs_with_both_secrets_then_the_new_one(backend: Backend) {
    let app = webhook_app(backend).await;
    let receiver = Receiver::start().await;
    let (_, created) = endpoint(
        &app,
        &app.admin_token,
        json!({"url": receiver.url, "event_types": ["organization."]}),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let old = created["secret"].as_str().unwrap().to_owned();
    let (status, rotated) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/webhook-endpoints/{id}:rotate-secret"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{rotated}");
    let new = rotated["secret"].as_str().unwrap().to_owned();
    assert_ne!(old, new);
    assert!(rotated["previous_secret_valid_until"].is_string());
    new_organization(&app, "one").await;
    let got = receiver.wait_for(1, 20).await;
    assert_eq!(
        got[0].headers["webhook-signature"].split(' ').count(),
        2,
        "both secrets sign during the overlap"
    );
    // The day of overlap ends.
    let store = app.store();
    let mut conn = store.conn().await.unwrap();
    sqlx::query("UPDATE webhook_endpoints SET previous_secret_until = 1 WHERE id = $1")
        .bind(&id)
        .execute(&mut *conn)
        .await
        .unwrap();
    drop(conn);
    new_organization(&app, "two").await;
    let got = receiver.wait_for(2, 20).await;
    assert_eq!(got[1].headers["webhook-signature"].split(' ').count(), 1);
    match python_with("standardwebhooks") {
        Some(python) => {
            assert!(verify(&python, &old, &got[0])[0]);
            assert!(verify(&python, &new, &got[0])[0]);
            assert!(verify(&python, &new, &got[1])[0]);
            assert!(!verify(&python, &old, &got[1])[0]);
        }
        None => missing("standardwebhooks (Python)"),
    }
    app.stop().await;
}

async fn an_organization_endpoint_gets_only_its_own_events(backend: Backend) {
    let app = webhook_app(backend).await;
    let receiver = Receiver::start().await;
    let a = ready(&app, "alpha").await;
    let b = crate::lifepos::shop(&app, "beta").await;
    let (_, a_key) = app.key("organization", Some(&a.org)).await;
    let (_, b_key) = app.key("organization", Some(&b.org)).await;
    // An organization key makes endpoints of its own scope only.
    let (status, refused) =
        endpoint(&app, &a_key, json!({"url": receiver.url, "scope": "all"})).await;
    assert_eq!(status, 403, "{refused}");
    let (status, refused) =
        endpoint(&app, &a_key, json!({"url": receiver.url, "scope": b.org})).await;
    assert_eq!(status, 403, "{refused}");
    let (status, created) = endpoint(&app, &a_key, json!({"url": receiver.url})).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["scope"], a.org.as_str());
    let id = created["id"].as_str().unwrap();
    // The other organization's key sees no such endpoint.
    let (status, _) = read(
        app.request(
            Method::GET,
            &format!("/admin/v1/webhook-endpoints/{id}"),
            Some(&b_key),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 404);

    let (status, _) = create(&app, &b, seed_request(START_PLAN, 1, 1, &b.org)).await;
    assert_eq!(status, 201);
    let (status, mine) = create(&app, &a, seed_request(START_PLAN, 1, 1, &a.org)).await;
    assert_eq!(status, 201);
    let got = receiver.wait_for(1, 20).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let got_all = receiver.all();
    assert_eq!(
        got_all.len(),
        1,
        "only alpha's invoice: {:?}",
        got.iter().map(Received::event).collect::<Vec<_>>()
    );
    assert_eq!(got_all[0].event()["subject"]["id"], mine["guid"]);

    // Each key's feed holds its own events only.
    let (status, feed) = read(
        app.request(Method::GET, "/admin/v1/events?limit=1000", Some(&b_key))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{feed}");
    let events = feed["events"].as_array().unwrap();
    assert!(!events.is_empty());
    assert!(
        events.iter().all(|e| e["tenant"]["id"] == b.org.as_str()),
        "{feed}"
    );
    app.stop().await;
}

async fn private_urls_are_refused_without_the_setting(app: TestApp) {
    for url in [
        "http://127.0.0.1:9/hook",
        "https://127.0.0.1/hook",
        "https://10.0.0.7/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://[::1]/hook",
        "https://localhost/hook",
    ] {
        let (status, body) = endpoint(&app, &app.admin_token, json!({"url": url})).await;
        assert_eq!(status, 400, "{url}: {body}");
        assert_eq!(body["error"]["fields"][0]["field"], "url", "{body}");
    }
    let (status, body) = endpoint(
        &app,
        &app.admin_token,
        json!({"url": "https://hooks.example.com/kopek", "event_types": ["invoice.lost"]}),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "event_types[0]");
}

/// An endpoint that failed everything for the whole retry window is disabled, with
/// an event and a mail to the operator. The window is made to have passed by
/// moving the endpoint's creation and the delivery's give-up time into the past.
async fn a_dead_endpoint_is_disabled_and_the_operator_mailed(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        |c| {
            c.webhook_allow_private = true;
            c.webhook_first_retry_seconds = 1;
            c.operator_email = Some("ops@kopek.example".into());
        },
        |w| w,
    )
    .await;
    let receiver = Receiver::start().await;
    receiver.then(&[Behaviour::Answer(500); 50]);
    let (status, created) = endpoint(
        &app,
        &app.admin_token,
        json!({"url": receiver.url, "event_types": ["organization."]}),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    new_organization(&app, "dead").await;
    receiver.wait_for(1, 20).await;
    let four_days: i64 = 4 * 24 * 3600 * 1_000_000;
    let mut conn = app.store().conn().await.unwrap();
    sqlx::query("UPDATE webhook_endpoints SET created_at = created_at - $1 WHERE id = $2")
        .bind(four_days)
        .bind(&id)
        .execute(&mut *conn)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE webhook_deliveries SET give_up_at = 0, next_attempt_at = 0 WHERE endpoint_id = $1",
    )
    .bind(&id)
    .execute(&mut *conn)
    .await
    .unwrap();
    drop(conn);
    let mut shown = Value::Null;
    for _ in 0..100 {
        shown = app
            .admin(
                Method::GET,
                &format!("/admin/v1/webhook-endpoints/{id}"),
                None,
            )
            .await
            .1;
        if shown["enabled"] == false {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(shown["enabled"], false, "{shown}");
    assert!(
        shown["disabled_reason"]
            .as_str()
            .is_some_and(|r| r.contains("no delivery succeeded")),
        "{shown}"
    );
    let logged = deliveries(&app, &id).await;
    assert_eq!(logged[0]["state"], "failed", "{logged:?}");
    assert_eq!(logged[0]["attempts"].as_array().unwrap().len(), 2);
    let (status, feed) = app
        .admin(
            Method::GET,
            "/admin/v1/events?type=webhook_endpoint.disabled",
            None,
        )
        .await;
    assert_eq!(status, 200, "{feed}");
    let events = feed["events"].as_array().unwrap();
    assert_eq!(events.len(), 1, "{feed}");
    assert_eq!(events[0]["subject"]["id"], id.as_str());
    assert!(events[0]["data"].get("secret").is_none(), "{feed}");
    let mail = crate::customers::wait_for_eml(&app, 1).await.remove(0);
    assert!(mail.contains("To: ops@kopek.example"), "{mail}");
    assert!(mail.contains(&id), "{mail}");
    // A disabled endpoint gets no more deliveries.
    let before = receiver.received.lock().unwrap().len();
    new_organization(&app, "later").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(receiver.received.lock().unwrap().len(), before);
    app.stop().await;
}

/// An endpoint that never answers holds only its own share of the worker: another
/// endpoint gets every event at once meanwhile, and the API answers as before.
async fn a_hanging_endpoint_delays_no_other(backend: Backend) {
    let app = webhook_app(backend).await;
    let slow = Receiver::start().await;
    slow.then(&[Behaviour::Hang; 100]);
    let fast = Receiver::start().await;
    for receiver in [&slow, &fast] {
        let body = json!({"url": receiver.url, "event_types": ["organization."]});
        let (status, created) = endpoint(&app, &app.admin_token, body).await;
        assert_eq!(status, 201, "{created}");
    }
    let started = std::time::Instant::now();
    for i in 0..40 {
        new_organization(&app, &format!("busy-{i}")).await;
    }
    let got = fast.wait_for(40, 8).await;
    // Well inside the 10 s a hanging receiver is waited for.
    assert!(started.elapsed() < Duration::from_secs(8));
    let ids: HashSet<&String> = got.iter().map(|r| &r.headers["webhook-id"]).collect();
    assert_eq!(ids.len(), 40);
    // The worker had the slow endpoint's deliveries in hand, 16 at the most.
    let hanging = slow.all().len();
    assert!((1..=16).contains(&hanging), "{hanging}");
    app.stop().await;
}

/// Stopping while an endpoint hangs waits only for the attempts begun (16 at the
/// most, each within the 10 s timeout), not for every delivery claimed, and gives
/// back the leases of those not attempted, so another process takes them at once.
async fn shutdown_waits_only_for_attempts_begun(backend: Backend) {
    let mut app = webhook_app(backend).await;
    let slow = Receiver::start().await;
    slow.then(&[Behaviour::Hang; 100]);
    let body = json!({"url": slow.url, "event_types": ["organization."]});
    assert_eq!(endpoint(&app, &app.admin_token, body).await.0, 201);
    for i in 0..48 {
        new_organization(&app, &format!("stopping-{i}")).await;
    }
    slow.wait_for(16, 8).await;
    let started = std::time::Instant::now();
    app.stop_server().await;
    // Three rounds of 16 would take 30 s; one takes at most the 10 s timeout.
    let took = started.elapsed();
    assert!(took < Duration::from_secs(15), "{took:?}");
    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    // The last events may not have been fanned out yet; the rest were claimed in
    // one pass, more than the 16 attempted.
    let (all, pending, leased): (i64, i64, i64) = sqlx::query_as(
        "SELECT CAST(COUNT(*) AS BIGINT), \
         CAST(SUM(CASE WHEN state = 'pending' THEN 1 ELSE 0 END) AS BIGINT), \
         CAST(COUNT(lease_owner) AS BIGINT) FROM webhook_deliveries",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(all > 16, "{all}");
    assert_eq!((pending, leased), (all, 0));
}

both_backends!(
    shutdown_waits_only_for_attempts_begun,
    deliveries_signed_as_the_specification_says,
    a_hanging_endpoint_delays_no_other,
    a_dead_endpoint_is_disabled_and_the_operator_mailed,
    failures_are_retried_with_the_same_id,
    rotation_signs_with_both_secrets_then_the_new_one,
    an_organization_endpoint_gets_only_its_own_events,
    private_urls_are_refused_without_the_setting,
    the_console_shows_attempts_and_sends_a_delivery_again,
);

/// kill -9 with deliveries pending: after a restart every event arrives (perhaps
/// twice, with the same id), none is lost.
async fn a_killed_server_delivers_everything_after_restart(mut app: TestApp) {
    app.stop_server().await;
    let receiver = Receiver::start().await;
    // The receiver fails everything for a while, so deliveries are pending when the
    // process dies.
    receiver.then(&[Behaviour::Answer(503); 30]);
    let env = [
        ("KOPEK_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("KOPEK_WEBHOOK_FIRST_RETRY_SECONDS", "1"),
        ("KOPEK_ADMIN_TOKEN", app.admin_token.as_str()),
        // The restarted process takes back the leases of the killed one at once.
        ("KOPEK_WORKER_ID", "crash-test"),
    ];
    let first = spawn_process_with(&app, &env).await;
    let url = json!({"url": receiver.url});
    assert_eq!(
        post(&app, &first.base, "/admin/v1/webhook-endpoints", url).await,
        201
    );
    for i in 0..10 {
        let created = post(
            &app,
            &first.base,
            "/admin/v1/organizations",
            organization(&format!("crash{i}")),
        );
        assert_eq!(created.await, 201);
    }
    receiver.wait_for(3, 20).await;
    // Dropping the process kills it with SIGKILL: nothing is flushed, no lease is
    // given back.
    drop(first);
    assert!(
        receiver.delivered().is_empty(),
        "the receiver failed everything so far"
    );
    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let pending: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM webhook_deliveries WHERE state = 'pending'",
    )
    .fetch_one(&mut *conn)
    .await
    .unwrap();
    assert!(pending > 0, "deliveries were pending at the kill");
    let event_ids: Vec<String> =
        sqlx::query_scalar("SELECT id FROM events WHERE type = 'organization.created'")
            .fetch_all(&mut *conn)
            .await
            .unwrap();
    assert_eq!(event_ids.len(), 10);
    drop(conn);
    receiver.script.lock().unwrap().clear();
    let second = spawn_process_with(&app, &env).await;
    for _ in 0..600 {
        let delivered = receiver.delivered();
        if event_ids.iter().all(|id| delivered.contains(id)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let delivered = receiver.delivered();
    for id in &event_ids {
        assert!(delivered.contains(id), "event {id} was never delivered");
    }
    say(&format!(
        "{} events, {} requests received across the kill",
        event_ids.len(),
        receiver.all().len()
    ));
    drop(second);
}

/// Two processes on one PostgreSQL deliver each event to the endpoint once.
async fn two_processes_deliver_each_event_once(mut app: TestApp) {
    app.stop_server().await;
    let receiver = Receiver::start().await;
    let env = [
        ("KOPEK_WEBHOOK_ALLOW_PRIVATE", "true"),
        ("KOPEK_ADMIN_TOKEN", app.admin_token.as_str()),
    ];
    let one = spawn_process_with(&app, &env).await;
    let two = spawn_process_with(&app, &env).await;
    let url = json!({"url": receiver.url});
    assert_eq!(
        post(&app, &one.base, "/admin/v1/webhook-endpoints", url).await,
        201
    );
    let n = 40;
    for i in 0..n {
        let base = if i % 2 == 0 { &one.base } else { &two.base };
        let created = post(
            &app,
            base,
            "/admin/v1/organizations",
            organization(&format!("pair{i}")),
        );
        assert_eq!(created.await, 201);
    }
    receiver.wait_for(n, 60).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut count: HashMap<String, usize> = HashMap::new();
    for r in receiver.all() {
        *count.entry(r.headers["webhook-id"].clone()).or_default() += 1;
    }
    assert_eq!(count.len(), n);
    assert!(count.values().all(|c| *c == 1), "{count:?}");
    drop((one, two));
}

both_backends!(
    a_killed_server_delivers_everything_after_restart,
    two_processes_deliver_each_event_once,
);

/// The README's table names every event type Kopek writes.
#[test]
fn every_event_type_is_in_the_readme() {
    let readme = include_str!("../../../../README.md");
    for (kind, ..) in kopek_domain::webhook::EVENT_TYPES {
        assert!(
            readme.contains(&format!("| `{kind}` |")),
            "{kind} is not in README.md"
        );
    }
}

/// The console lists the endpoint (never its secret) and its deliveries with each
/// attempt; an admin sends one again through the confirmation page (the receiver
/// gets the same `webhook-id`), audited; support sees no such link and is refused.
async fn the_console_shows_attempts_and_sends_a_delivery_again(backend: Backend) {
    use crate::console::{page, post, signed_in};
    use crate::pages::csrf_of;
    let app = webhook_app(backend).await;
    let receiver = Receiver::start().await;
    receiver.then(&[Behaviour::Answer(500)]);
    let body = json!({"url": receiver.url, "description": "the shop receiver"});
    let (status, created) = endpoint(&app, &app.admin_token, body).await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_owned();
    let secret = created["secret"].as_str().unwrap().to_owned();
    new_organization(&app, "console-hooks").await;
    let first = receiver.wait_for(2, 30).await;
    let logged = delivered(&app, &id).await;
    let delivery = logged[0]["id"].as_str().unwrap().to_owned();

    let admin = signed_in(&app, "hooks-admin@example.com", "admin").await;
    let support = signed_in(&app, "hooks-support@example.com", "support").await;
    let (status, html) = page(&app, &admin, "/console/webhooks").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(&format!("href=\"/console/webhooks/{id}\""))
            && html.contains("the shop receiver"),
        "{html}"
    );
    let shown = format!("/console/webhooks/{id}");
    let (status, html) = page(&app, &admin, &shown).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        !html.contains(&secret) && !html.contains("whsec_"),
        "never the secret"
    );
    assert!(
        html.contains("organization.created")
            && html.contains(&format!("data-delivery=\"{delivery}\"")),
        "{html}"
    );
    assert!(
        html.contains(" · 500 · ") && html.contains(" · 200 · "),
        "each attempt's status: {html}"
    );
    let resend = format!("{shown}/deliveries/{delivery}/resend");
    assert!(html.contains(&resend), "{html}");

    let (_, seen) = page(&app, &support, &shown).await;
    assert!(!seen.contains(&resend), "{seen}");
    assert_eq!(page(&app, &support, &resend).await.0, 403);
    let refused = post(&app, &support, &resend, &[("csrf", &csrf_of(&seen))]).await;
    assert_eq!(refused.status().as_u16(), 403);

    let (status, confirm) = page(&app, &admin, &resend).await;
    assert_eq!(status, 200, "{confirm}");
    let done = post(&app, &admin, &resend, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(done.status().as_u16(), 303);
    let again = receiver.wait_for(3, 30).await;
    assert_eq!(
        again[2].headers["webhook-id"],
        first[0].headers["webhook-id"]
    );
    let gone = post(
        &app,
        &admin,
        &format!("{shown}/deliveries/nothing/resend"),
        &[("csrf", &csrf_of(&confirm))],
    )
    .await;
    assert_eq!(gone.status().as_u16(), 404);

    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let entries = kopek_store::audit::newest(&mut conn, None, &Default::default(), 5)
        .await
        .unwrap();
    let entry = entries
        .iter()
        .find(|e| e.action == format!("POST {resend}"))
        .unwrap();
    assert!(entry.actor.starts_with("opr"), "{entry:?}");
    app.stop().await;
}
