//! Subscriptions: the first payment for a product makes one, each later payment
//! moves it on from the end of the running period, LIFE POS's license agrees with
//! it, and the operator lists and reads them.

use crate::both_backends;
use crate::harness::{Backend, TestApp};
use crate::lifepos::{START_PLAN, create, ready, seed_request, start_product};
use kopek_domain::time::Timestamp;
use reqwest::Method;
use serde_json::Value;

fn at(value: &Value) -> Timestamp {
    Timestamp::parse_rfc3339(value.as_str().unwrap()).unwrap()
}

/// LIFE POS shows times to the millisecond.
fn ms(t: Timestamp) -> Timestamp {
    Timestamp::from_micros(t.micros() / 1000 * 1000)
}

async fn paid_invoice(app: &TestApp, shop: &crate::lifepos::Shop, quantity: i64, months: i64) {
    let (status, invoice) = create(
        app,
        shop,
        seed_request(START_PLAN, quantity, months, &shop.org),
    )
    .await;
    assert_eq!(status, 201, "{invoice}");
    let guid = invoice["guid"].as_str().unwrap();
    let (status, paid) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/invoices/{guid}:pay"),
            Some(serde_json::json!({"method": "transfer"})),
        )
        .await;
    assert_eq!(status, 200, "{paid}");
}

async fn license(app: &TestApp, shop: &crate::lifepos::Shop) -> Value {
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

both_backends!(payments_make_and_renew_a_subscription);
