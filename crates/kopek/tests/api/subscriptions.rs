//! Subscriptions: the first payment for a product makes one, each later payment
//! moves it on from the end of the running period, LIFE POS's license agrees with
//! it, and the operator lists and reads them.

use crate::both_backends;
use crate::harness::{Backend, TestApp, read, spawn_process_with};
use crate::lifepos::{
    START_PLAN, Shop, create, example_catalog, lp, organization, put_catalog, ready, seed_request,
    start_product,
};
use kopek_domain::time::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

pub fn at(value: &Value) -> Timestamp {
    Timestamp::parse_rfc3339(value.as_str().unwrap()).unwrap()
}

/// LIFE POS shows times to the millisecond.
pub fn ms(t: Timestamp) -> Timestamp {
    Timestamp::from_micros(t.micros() / 1000 * 1000)
}

pub async fn paid_invoice(app: &TestApp, shop: &Shop, quantity: i64, months: i64) {
    let (status, invoice) = create(
        app,
        shop,
        seed_request(START_PLAN, quantity, months, &shop.org),
    )
    .await;
    assert_eq!(status, 201, "{invoice}");
    let (status, paid) = pay(app, invoice["guid"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{paid}");
}

/// The operator's `:pay` of an invoice, by transfer.
pub async fn pay(app: &TestApp, guid: &str) -> (u16, Value) {
    invoice_action(app, guid, "pay", Some(json!({"method": "transfer"}))).await
}

/// The operator's `:pay`, `:cancel` or `:refund` of an invoice.
pub async fn invoice_action(
    app: &TestApp,
    guid: &str,
    action: &str,
    body: Option<Value>,
) -> (u16, Value) {
    app.admin(
        Method::POST,
        &format!("/admin/v1/invoices/{guid}:{action}"),
        body,
    )
    .await
}

pub async fn license(app: &TestApp, shop: &Shop) -> Value {
    start_product(app, shop).await["acquired_license"].clone()
}

async fn payments_make_and_renew_a_subscription(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let shop = ready(&app, "subs").await;
    let other = ready(&app, "subs-other").await;
    let (status, none) = app
        .admin(Method::GET, "/admin/v1/subscriptions", None)
        .await;
    assert_eq!(status, 200, "{none}");
    assert_eq!(none["subscriptions"], serde_json::json!([]));

    paid_invoice(&app, &shop, 2, 1).await;
    paid_invoice(&app, &other, 1, 1).await;
    let mine = format!("/admin/v1/subscriptions?organization={}", shop.org);
    let (status, list) = app.admin(Method::GET, &mine, None).await;
    assert_eq!(status, 200, "{list}");
    let subs = list["subscriptions"].as_array().unwrap();
    assert_eq!(subs.len(), 1, "{list}");
    let first = subs[0].clone();
    assert_eq!(first["status"], "active");
    assert_eq!(first["quantity"], 2);
    assert_eq!(first["period_in_months"], 1);
    assert_eq!(first["plan_guid"], START_PLAN);
    assert_eq!(first["cancel_at_period_end"], false);
    assert_eq!(first["payer"]["type"], "Organization");
    let (start, end) = (
        at(&first["current_period_start"]),
        at(&first["current_period_end"]),
    );
    assert_eq!(end, start.plus_months(1));
    assert_eq!(at(&license(&app, &shop).await["expires_at"]), ms(end));

    // Paid again (early): the next period follows on from the end, with the new
    // invoice's quantity and period.
    paid_invoice(&app, &shop, 1, 12).await;
    let id = first["id"].as_str().unwrap();
    let (status, renewed) = app
        .admin(Method::GET, &format!("/admin/v1/subscriptions/{id}"), None)
        .await;
    assert_eq!(status, 200, "{renewed}");
    assert_eq!(at(&renewed["current_period_start"]), end);
    assert_eq!(at(&renewed["current_period_end"]), end.plus_months(12));
    assert_eq!(renewed["quantity"], 1);
    assert_eq!(renewed["period_in_months"], 12);
    assert_eq!(renewed["created_at"], first["created_at"]);
    let license = license(&app, &shop).await;
    assert_eq!(at(&license["expires_at"]), ms(end.plus_months(12)));
    assert_eq!(license["quantity"], 1);

    let feed = format!("/admin/v1/events?type=subscription.&subject_id={id}&order=asc");
    let (status, events) = app.admin(Method::GET, &feed, None).await;
    assert_eq!(status, 200, "{events}");
    let kinds: Vec<&Value> = events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["type"])
        .collect();
    assert_eq!(
        kinds,
        ["subscription.created", "subscription.renewed"],
        "{events}"
    );
    let last = &events["events"][1];
    assert_eq!(last["data"], renewed);
    assert_eq!(last["tenant"]["id"], shop.org.as_str());

    // Filters, and what they refuse.
    let count = |query: String| {
        let app = &app;
        async move {
            let (status, body) = app
                .admin(
                    Method::GET,
                    &format!("/admin/v1/subscriptions?{query}"),
                    None,
                )
                .await;
            assert_eq!(status, 200, "{body}");
            body["subscriptions"].as_array().unwrap().len()
        }
    };
    assert_eq!(count(String::new()).await, 2);
    assert_eq!(count("status=active".into()).await, 2);
    assert_eq!(count("status=expired".into()).await, 0);
    assert_eq!(count("ending_before=2000-01-01T00:00:00Z".into()).await, 0);
    let soon = end.plus_months(2).rfc3339();
    assert_eq!(
        count(format!("ending_before={soon}")).await,
        1,
        "the other's ends first"
    );
    assert_eq!(count("page_size=1".into()).await, 1);
    let (status, body) = app
        .admin(Method::GET, "/admin/v1/subscriptions?status=gone", None)
        .await;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["error"]["fields"][0]["field"], "status");
    let (status, body) = app
        .admin(
            Method::GET,
            "/admin/v1/subscriptions?ending_before=soon",
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, body) = app
        .admin(Method::GET, "/admin/v1/subscriptions/sub_missing", None)
        .await;
    assert_eq!(status, 404, "{body}");

    // The operator's: an organization's own key may not list them.
    let (_, key) = app.key("organization", Some(&shop.org)).await;
    let refused = app
        .request(Method::GET, "/admin/v1/subscriptions", Some(&key))
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 403);
    app.stop().await;
}

/// An organization with a paid one-month subscription, and its API key as the
/// shop's token (LIFE POS takes organization keys too).
pub async fn subscribed(app: &TestApp, alias: &str) -> Shop {
    put_catalog(app, example_catalog()).await;
    let org = organization(app, alias, None).await;
    let (_, token) = app.key("organization", Some(&org)).await;
    let shop = Shop { org, token };
    paid_invoice(app, &shop, 3, 1).await;
    shop
}

pub async fn invoices(app: &TestApp, base: &str, shop: &Shop) -> Vec<Value> {
    let path = format!("/orgs/{}/profile/invoices?items_per_page=100", shop.org);
    let response = lp(app, Method::GET, &path, &shop.token);
    let response = if base == app.base {
        response
    } else {
        // The same request, to another process.
        app.client
            .get(format!("{base}{path}"))
            .headers(response.build().unwrap().headers().clone())
    };
    let (status, body) = read(response.send().await.unwrap()).await;
    assert_eq!(status, 200, "{body}");
    body["items"].as_array().unwrap().clone()
}

async fn renewal_invoices(app: &TestApp, id: &str) -> Vec<Value> {
    let feed = format!("/admin/v1/events?type=subscription.renewal_invoiced&subject_id={id}");
    let (status, events) = app.admin(Method::GET, &feed, None).await;
    assert_eq!(status, 200, "{events}");
    events["events"].as_array().unwrap().clone()
}

/// With the lead time longer than the period, a subscription is due for renewal as
/// soon as it is paid: the scheduler issues one invoice for the next period, never
/// a second, and paying it moves the period on from its end.
async fn the_scheduler_issues_one_renewal_invoice_a_period(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.renewal_lead_days = 40, |w| w).await;
    let shop = subscribed(&app, "renew").await;
    let (_, list) = app
        .admin(Method::GET, "/admin/v1/subscriptions", None)
        .await;
    let subscription = list["subscriptions"][0].clone();
    let id = subscription["id"].as_str().unwrap();
    let mut found = Vec::new();
    for _ in 0..100 {
        found = invoices(&app, &app.base, &shop).await;
        if found.len() == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(found.len(), 2, "{found:?}");
    let renewal = found
        .iter()
        .find(|i| i["status"] == "Pending")
        .unwrap()
        .clone();
    assert!(
        renewal["number"].as_str().unwrap().ends_with("000002"),
        "{renewal}"
    );
    assert_eq!(renewal["meta_data"]["quantity"], 3, "{renewal}");
    assert_eq!(renewal["meta_data"]["period_in_months"], 1, "{renewal}");
    // Passes of the scheduler later, still one.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(invoices(&app, &app.base, &shop).await.len(), 2);
    assert_eq!(renewal_invoices(&app, id).await.len(), 1);

    let (status, paid) = pay(&app, renewal["guid"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{paid}");
    let (_, now) = app
        .admin(Method::GET, &format!("/admin/v1/subscriptions/{id}"), None)
        .await;
    let end = at(&subscription["current_period_end"]);
    assert_eq!(at(&now["current_period_start"]), end);
    assert_eq!(at(&now["current_period_end"]), end.plus_months(1));
    // The period now paid for ends two months out, beyond the 40 days: nothing is
    // due until then.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(invoices(&app, &app.base, &shop).await.len(), 2);
    assert_eq!(renewal_invoices(&app, id).await.len(), 1);
    app.stop().await;
}

pub async fn move_clock(app: &TestApp, to: Timestamp) -> (u16, Value) {
    let body = json!({"now": to.rfc3339()});
    app.admin(Method::POST, "/admin/v1/test-clock", Some(body))
        .await
}

/// In test mode the clock moves forward on request, and what became due is issued
/// before the answer; never back; without test mode there is no clock to move.
async fn the_test_clock_issues_renewals_as_it_moves(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.test_mode = true, |w| w).await;
    let shop = subscribed(&app, "clock").await;
    let (_, list) = app
        .admin(Method::GET, "/admin/v1/subscriptions", None)
        .await;
    let end = at(&list["subscriptions"][0]["current_period_end"]);
    let (status, clock) = app.admin(Method::GET, "/admin/v1/test-clock", None).await;
    assert_eq!(status, 200, "{clock}");
    assert!(at(&clock["now"]) < end);

    let week = 7 * 24 * 3600;
    let (status, moved) = move_clock(&app, end.plus_seconds(-week - 3600)).await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        invoices(&app, &app.base, &shop).await.len(),
        1,
        "an hour early"
    );
    // The lead time before the end: issued before the answer, dated then (the clock
    // runs on from where it was moved to).
    let due = end.plus_seconds(-week);
    let soon_after = |t: Timestamp| t >= ms(due) && t < due.plus_seconds(5);
    let (status, moved) = move_clock(&app, due).await;
    assert_eq!(status, 200, "{moved}");
    assert!(soon_after(at(&moved["now"])), "{moved}");
    let found = invoices(&app, &app.base, &shop).await;
    assert_eq!(found.len(), 2);
    let renewal = found.iter().find(|i| i["status"] == "Pending").unwrap();
    assert!(soon_after(at(&renewal["created_at"])), "{renewal}");

    let (status, refused) = move_clock(&app, end.plus_seconds(-30 * 24 * 3600)).await;
    assert_ne!(status, 200, "{refused}");
    assert!(
        refused.to_string().contains("only moves forward"),
        "{refused}"
    );
    let (status, refused) = app
        .admin(Method::POST, "/admin/v1/test-clock", Some(json!({})))
        .await;
    assert_eq!(status, 400, "{refused}");
    assert_eq!(refused["error"]["fields"][0]["field"], "now");
    app.stop().await;

    let plain = TestApp::spawn(backend).await;
    let (status, _) = plain.admin(Method::GET, "/admin/v1/test-clock", None).await;
    assert_eq!(status, 404);
    let (status, _) = move_clock(&plain, end).await;
    assert_eq!(status, 404);
    plain.stop().await;
}

both_backends!(
    payments_make_and_renew_a_subscription,
    the_test_clock_issues_renewals_as_it_moves,
    the_scheduler_issues_one_renewal_invoice_a_period,
);

/// Paid one-month subscriptions of `range`'s organizations (aliases
/// `{prefix}-{i}`), each with a billing contact; the catalog must be in place.
async fn many_subscribed(app: &TestApp, prefix: &str, range: std::ops::Range<usize>) {
    for i in range {
        let (status, org) = app
            .admin(
                Method::POST,
                "/admin/v1/organizations",
                Some(json!({"alias": format!("{prefix}-{i}"),
                    "billingEmail": format!("{prefix}-{i}@example.com"),
                    "company": {"name": "ООО «Ромашка»", "inn": "7707083893", "kpp": "773601001"}})),
            )
            .await;
        assert_eq!(status, 201, "{org}");
        let shop = Shop {
            org: org["guid"].as_str().unwrap().to_owned(),
            token: app.admin_token.clone(),
        };
        paid_invoice(app, &shop, 1, 1).await;
    }
}

/// The invoice numbers (sequence) of each organization, sorted.
async fn numbers(app: &TestApp) -> std::collections::BTreeMap<String, Vec<i64>> {
    let mut conn = app.store().conn().await.unwrap();
    let rows: Vec<(String, i64)> = sqlx::query_as("SELECT organization_guid, seq FROM invoices")
        .fetch_all(&mut *conn)
        .await
        .unwrap();
    let mut by_org = std::collections::BTreeMap::<String, Vec<i64>>::new();
    for (org, seq) in rows {
        by_org.entry(org).or_default().push(seq);
    }
    for seqs in by_org.values_mut() {
        seqs.sort_unstable();
    }
    by_org
}

/// The recipients of the mails written, one entry a mail.
fn recipients(app: &TestApp) -> Vec<String> {
    crate::customers::eml_files(app)
        .iter()
        .map(|mail| {
            mail.lines()
                .find(|l| l.starts_with("To: "))
                .unwrap()
                .to_owned()
        })
        .collect()
}

/// Every one of `n` organizations has its first invoice and one renewal
/// invoice, numbered 1 and 2: none missing, none twice.
async fn assert_one_renewal_each(app: &TestApp, n: usize) {
    let by_org = numbers(app).await;
    assert_eq!(by_org.len(), n);
    for (org, seqs) in &by_org {
        assert_eq!(seqs, &[1, 2], "{org}");
    }
}

/// Two processes on one database, the test clock moved past the renewal of 1,000
/// subscriptions while both schedulers run: exactly one renewal invoice each,
/// numbered without gaps, and one mail each. (With the unique key ignored, this
/// test finds duplicates.)
async fn two_processes_issue_each_renewal_once(app: TestApp) {
    let n = 1000;
    put_catalog(&app, example_catalog()).await;
    let quarter = n / 4;
    tokio::join!(
        many_subscribed(&app, "pair", 0..quarter),
        many_subscribed(&app, "pair", quarter..2 * quarter),
        many_subscribed(&app, "pair", 2 * quarter..3 * quarter),
        many_subscribed(&app, "pair", 3 * quarter..n),
    );
    let env = [
        ("KOPEK_TEST_MODE", "true"),
        ("KOPEK_ADMIN_TOKEN", app.admin_token.as_str()),
    ];
    let one = spawn_process_with(&app, &env).await;
    let two = spawn_process_with(&app, &env).await;
    let (_, list) = app
        .admin(Method::GET, "/admin/v1/subscriptions?page_size=1", None)
        .await;
    let end = at(&list["subscriptions"][0]["current_period_end"]);
    // Process one runs the move's work before it answers. As soon as process two
    // sees the clock moved, it is moved a minute on too, so that it runs the same
    // due subscriptions at the same time (its own scheduler would only look every
    // two seconds, by which time one may be done).
    let due_at = end.plus_seconds(-6 * 24 * 3600);
    let move_clock = |base: &str, to: Timestamp| {
        app.client
            .post(format!("{base}/admin/v1/test-clock"))
            .bearer_auth(&app.admin_token)
            .json(&json!({"now": to.rfc3339()}))
            .send()
    };
    let first = tokio::spawn(move_clock(&one.base, due_at));
    for _ in 0..500 {
        let (_, clock) = read(
            app.client
                .get(format!("{}/admin/v1/test-clock", two.base))
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        if clock["now"]
            .as_str()
            .is_some_and(|now| at(&json!(now)) >= due_at)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, moved) = read(
        move_clock(&two.base, due_at.plus_seconds(60))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    let (status, moved) = read(first.await.unwrap().unwrap()).await;
    assert_eq!(status, 200, "{moved}");
    for _ in 0..300 {
        if recipients(&app).len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Both have had more passes meanwhile.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_one_renewal_each(&app, n).await;
    let (_, events) = app
        .admin(
            Method::GET,
            "/admin/v1/events?type=subscription.renewal_invoiced&limit=1000",
            None,
        )
        .await;
    assert_eq!(events["events"].as_array().unwrap().len(), n);
    let mut to = recipients(&app);
    assert_eq!(to.len(), n, "one mail each, no more");
    to.sort();
    to.dedup();
    assert_eq!(to.len(), n, "to each organization");
    drop((one, two));
}

both_backends!(two_processes_issue_each_renewal_once);

/// A process killed (SIGKILL) in the middle of a scheduler run: what it committed
/// stays, what it was doing is rolled back, and a restarted process issues the
/// rest, so every subscription has one renewal invoice, numbered without a gap,
/// and one mail queued for it.
async fn a_killed_scheduler_loses_and_duplicates_nothing(app: TestApp) {
    // More than one pass of the scheduler (up to 400 on PostgreSQL, whose four
    // batches may commit together), so that the kill falls between two.
    let n = 900;
    put_catalog(&app, example_catalog()).await;
    many_subscribed(&app, "kill", 0..n).await;
    let issued = || async {
        let (_, events) = app
            .admin(
                Method::GET,
                "/admin/v1/events?type=subscription.renewal_invoiced&limit=1000",
                None,
            )
            .await;
        events["events"].as_array().unwrap().len()
    };
    let env = [
        ("KOPEK_RENEWAL_LEAD_DAYS", "40"),
        ("KOPEK_ADMIN_TOKEN", app.admin_token.as_str()),
    ];
    let first = spawn_process_with(&app, &env).await;
    let mut at_kill = 0;
    for _ in 0..1000 {
        at_kill = issued().await;
        if at_kill > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(first);
    assert!(
        at_kill > 0 && at_kill < n,
        "killed mid-run: {at_kill} of {n}"
    );
    let second = spawn_process_with(&app, &env).await;
    for _ in 0..300 {
        if issued().await >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(issued().await, n);
    assert_one_renewal_each(&app, n).await;
    let mut conn = app.store().conn().await.unwrap();
    let mails: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE kind = 'mail.billing'")
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    assert_eq!(mails, n as i64);
    drop(second);
}

both_backends!(a_killed_scheduler_loses_and_duplicates_nothing);
