//! Subscriptions through their lifecycle on the test clock: the renewal invoice
//! and its mail 7 days before the end, reminders 3 days and 1 day before, payment
//! moving the period on from its end, non-payment going past due then expired,
//! cancel and resume, and plan changes with their prorated invoices.

use crate::both_backends;
use crate::customers::{eml_files, wait_for_eml};
use crate::harness::{Backend, TestApp};
use crate::lifepos::{START_PLAN, Shop};
use crate::subscriptions::{at, invoices, license, move_clock, ms, paid_invoice, pay, subscribed};
use kopek_domain::time::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const BUSINESS_PLAN: &str = "0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f62";
const DAY: i64 = 24 * 3600;

async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, |c| c.test_mode = true, |w| w).await
}

/// A subscribed organization whose billing contact reads English.
async fn contact(app: &TestApp, alias: &str) -> (Shop, Value) {
    let shop = subscribed(app, alias).await;
    let (status, org) = app
        .admin(
            Method::PATCH,
            &format!("/admin/v1/organizations/{}", shop.org),
            Some(json!({"billingEmail": format!("{alias}@example.com"), "language": "en"})),
        )
        .await;
    assert_eq!(status, 200, "{org}");
    assert_eq!(org["billingEmail"], format!("{alias}@example.com"));
    let subscription = subscription_of(app, &shop).await;
    (shop, subscription)
}

async fn subscription_of(app: &TestApp, shop: &Shop) -> Value {
    let (status, list) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/subscriptions?organization={}", shop.org),
            None,
        )
        .await;
    assert_eq!(status, 200, "{list}");
    list["subscriptions"][0].clone()
}

async fn subscription(app: &TestApp, id: &str) -> Value {
    let (status, s) = app
        .admin(Method::GET, &format!("/admin/v1/subscriptions/{id}"), None)
        .await;
    assert_eq!(status, 200, "{s}");
    s
}

async fn moved(app: &TestApp, to: Timestamp) {
    let (status, body) = move_clock(app, to).await;
    assert_eq!(status, 200, "{body}");
}

/// Waits for the `n`th mail and answers it; a moment later there is no other.
async fn nth_mail(app: &TestApp, n: usize) -> String {
    let mail = wait_for_eml(app, n).await.remove(n - 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(eml_files(app).len(), n, "one mail, not more");
    mail
}

async fn pending(app: &TestApp, shop: &Shop) -> Vec<Value> {
    invoices(app, &app.base, shop)
        .await
        .into_iter()
        .filter(|i| i["status"] == "Pending")
        .collect()
}

async fn kinds(app: &TestApp, id: &str) -> Vec<String> {
    let feed = format!("/admin/v1/events?type=subscription.&subject_id={id}&order=asc&limit=100");
    let (status, events) = app.admin(Method::GET, &feed, None).await;
    assert_eq!(status, 200, "{events}");
    events["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Three monthly periods: the first renewed by paying its renewal invoice, the
/// second by an invoice of the buyer's own (so its renewal invoice may no longer
/// be paid), the third left unpaid until it expires.
async fn a_subscription_renews_reminds_and_expires(backend: Backend) {
    let app = spawn(backend).await;
    let (shop, first) = contact(&app, "year").await;
    let id = first["id"].as_str().unwrap().to_owned();
    let end = at(&first["current_period_end"]);

    // Seven days before the end, to the hour: not yet, then the renewal invoice
    // and its mail with the payment links.
    moved(&app, end.plus_seconds(-7 * DAY - 3600)).await;
    assert!(pending(&app, &shop).await.is_empty());
    moved(&app, end.plus_seconds(-7 * DAY)).await;
    let renewal = pending(&app, &shop).await;
    assert_eq!(renewal.len(), 1);
    let renewal = renewal[0].clone();
    let number = renewal["number"].as_str().unwrap();
    let mail = nth_mail(&app, 1).await;
    assert!(mail.contains("To: year@example.com"), "{mail}");
    assert!(
        mail.contains(&format!("Invoice {number} for the next period")),
        "{mail}"
    );
    let card = renewal["payment_by_card_link"].as_str().unwrap_or_default();
    assert!(!card.is_empty() && mail.contains(card), "{renewal}\n{mail}");

    // Reminders 3 days and 1 day before, each once.
    moved(&app, end.plus_seconds(-3 * DAY)).await;
    assert!(nth_mail(&app, 2).await.contains("ends in 3 days"));
    moved(&app, end.plus_seconds(-2 * DAY)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(eml_files(&app).len(), 2);
    moved(&app, end.plus_seconds(-DAY)).await;
    assert!(nth_mail(&app, 3).await.contains("ends in 1 day"));

    // Paid a day early: the period follows on from the end, not from the payment.
    let (status, paid) = pay(&app, renewal["guid"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{paid}");
    let second = subscription(&app, &id).await;
    assert_eq!(at(&second["current_period_start"]), end);
    let end = end.plus_months(1);
    assert_eq!(at(&second["current_period_end"]), end);
    assert_eq!(
        at(&license(&app, &shop).await["expires_at"]),
        ms(end),
        "LIFE POS's license agrees"
    );

    // The next renewal invoice is issued; the buyer pays an invoice of its own
    // for the period instead. The renewal invoice is canceled and refused.
    moved(&app, end.plus_seconds(-7 * DAY)).await;
    let renewal = pending(&app, &shop).await.remove(0);
    nth_mail(&app, 4).await;
    paid_invoice(&app, &shop, 3, 1).await;
    let third = subscription(&app, &id).await;
    assert_eq!(at(&third["current_period_start"]), end);
    let end = end.plus_months(1);
    assert_eq!(at(&third["current_period_end"]), end);
    let (status, refused) = pay(&app, renewal["guid"].as_str().unwrap()).await;
    assert_eq!(status, 409, "{refused}");
    assert_eq!(third["status"], "active");

    // Unpaid: past due at the end (the license still good for the grace days,
    // the invoice still payable), expired after them with the invoice canceled.
    moved(&app, end.plus_seconds(-7 * DAY)).await;
    let unpaid = pending(&app, &shop).await.remove(0);
    nth_mail(&app, 5).await;
    moved(&app, end.plus_seconds(-3 * DAY)).await;
    nth_mail(&app, 6).await;
    moved(&app, end.plus_seconds(-DAY)).await;
    nth_mail(&app, 7).await;
    moved(&app, end.plus_seconds(1)).await;
    assert_eq!(subscription(&app, &id).await["status"], "past_due");
    let mail = nth_mail(&app, 8).await;
    assert!(mail.contains("The license keeps working until"), "{mail}");
    moved(&app, end.plus_seconds(3 * DAY - 60)).await;
    assert_eq!(subscription(&app, &id).await["status"], "past_due");
    moved(&app, end.plus_seconds(3 * DAY)).await;
    assert_eq!(subscription(&app, &id).await["status"], "expired");
    assert!(nth_mail(&app, 9).await.contains("has expired"));
    let (status, invoice) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/invoices/{}", unpaid["guid"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(invoice["status"], "Canceled", "{invoice}");
    // Nothing more happens to an expired subscription.
    moved(&app, end.plus_months(2)).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(eml_files(&app).len(), 9);
    assert!(pending(&app, &shop).await.is_empty());

    assert_eq!(
        kinds(&app, &id).await,
        [
            "subscription.created",
            "subscription.renewal_invoiced",
            "subscription.reminder_sent",
            "subscription.reminder_sent",
            "subscription.renewed",
            "subscription.renewal_invoiced",
            "subscription.renewed",
            "subscription.renewal_invoiced",
            "subscription.reminder_sent",
            "subscription.reminder_sent",
            "subscription.past_due",
            "subscription.expired",
        ]
    );
    app.stop().await;
}

async fn act(app: &TestApp, id: &str, action: &str, body: Option<Value>) -> (u16, Value) {
    app.admin(
        Method::POST,
        &format!("/admin/v1/subscriptions/{id}:{action}"),
        body,
    )
    .await
}

/// Canceled at the period's end, no renewal is issued; resumed, it is; canceled
/// again, the issued renewal invoice is canceled and the subscription ends with
/// its period. Canceled now, the license ends at once.
async fn cancel_stops_renewals_and_resume_restarts_them(backend: Backend) {
    let app = spawn(backend).await;
    let (shop, first) = contact(&app, "cancel").await;
    let id = first["id"].as_str().unwrap();
    let end = at(&first["current_period_end"]);

    let (status, canceled) = act(&app, id, "cancel", None).await;
    assert_eq!(status, 200, "{canceled}");
    assert_eq!(canceled["cancel_at_period_end"], true);
    assert_eq!(canceled["status"], "active");
    moved(&app, end.plus_seconds(-6 * DAY)).await;
    assert!(pending(&app, &shop).await.is_empty(), "no renewal");

    let (status, resumed) = act(&app, id, "resume", Some(json!({}))).await;
    assert_eq!(status, 200, "{resumed}");
    assert_eq!(resumed["cancel_at_period_end"], false);
    let (status, again) = act(&app, id, "resume", None).await;
    assert_eq!(status, 409, "{again}");
    moved(&app, end.plus_seconds(-6 * DAY + 60)).await;
    let renewal = pending(&app, &shop).await;
    assert_eq!(renewal.len(), 1, "renewals go on");

    let (status, _) = act(&app, id, "cancel", Some(json!({"at": "period_end"}))).await;
    assert_eq!(status, 200);
    assert!(
        pending(&app, &shop).await.is_empty(),
        "the renewal is canceled"
    );
    moved(&app, end.plus_seconds(1)).await;
    let ended = subscription(&app, id).await;
    assert_eq!(ended["status"], "canceled", "{ended}");
    assert_eq!(at(&ended["current_period_end"]), end);
    let (status, refused) = act(&app, id, "resume", None).await;
    assert_eq!(status, 409, "{refused}");

    // Bad input names its field.
    let (status, bad) = act(&app, id, "cancel", Some(json!({"at": "tomorrow"}))).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"]["fields"][0]["field"], "at");
    let (status, _) = act(&app, id, "pause", None).await;
    assert_eq!(status, 404);
    let (status, _) = act(&app, "sub_missing", "cancel", None).await;
    assert_eq!(status, 404);

    // Now: the license ends at once.
    let (other, second) = contact(&app, "cancel-now").await;
    let id = second["id"].as_str().unwrap();
    let (status, now) = act(&app, id, "cancel", Some(json!({"at": "now"}))).await;
    assert_eq!(status, 200, "{now}");
    assert_eq!(now["status"], "canceled");
    let cut = at(&now["current_period_end"]);
    assert!(cut < at(&second["current_period_end"]));
    assert_eq!(at(&license(&app, &other).await["expires_at"]), ms(cut));
    assert_eq!(
        kinds(&app, id).await,
        ["subscription.created", "subscription.canceled"]
    );
    app.stop().await;
}

/// Noon (UTC) of the day `days` after `t`, so that a request a moment later is
/// still on that day.
fn noon(t: Timestamp, days: i64) -> Timestamp {
    let day = 86_400_000_000i64;
    let d = t.plus_seconds(days * DAY).micros().div_euclid(day);
    Timestamp::from_micros(d * day + day / 2)
}

/// An upgrade mid-period is invoiced for the price difference over the days
/// left, to the kopeck, and switches the plan when paid; a downgrade waits for
/// the period's end and the renewal is for it.
async fn plan_changes_are_prorated(backend: Backend) {
    let app = spawn(backend).await;
    let (shop, first) = contact(&app, "upgrade").await;
    let id = first["id"].as_str().unwrap();
    let (start, end) = (
        at(&first["current_period_start"]),
        at(&first["current_period_end"]),
    );
    let on = noon(start, 10);
    moved(&app, on).await;
    let (status, changed) = act(
        &app,
        id,
        "change-plan",
        Some(json!({"plan": BUSINESS_PLAN, "quantity": 3})),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    // 3 × (2 490 − 990) ₽ a month, for the days from the change's (counted whole)
    // to the end's, over the period's days; half a kopeck rounds up.
    let left = (end.date() - on.date()).whole_days() as i128;
    let total = (end.date() - start.date()).whole_days() as i128;
    let difference = 3 * (249_000 - 99_000) as i128;
    let expected = (2 * difference * left + total) / (2 * total);
    let invoice = &changed["invoice"];
    assert_eq!(
        invoice["total_sum"]["value"].as_i64().map(i128::from),
        Some(expected),
        "{invoice}"
    );
    assert_eq!(invoice["status"], "Pending");
    assert_eq!(changed["subscription"]["plan_guid"], START_PLAN);

    let (status, bad) = act(&app, id, "change-plan", Some(json!({"plan": "nope"}))).await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"]["fields"][0]["field"], "plan");
    let (status, bad) = act(&app, id, "change-plan", Some(json!({}))).await;
    assert_eq!(status, 400, "{bad}");

    let (status, paid) = pay(&app, invoice["guid"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{paid}");
    let upgraded = subscription(&app, id).await;
    assert_eq!(upgraded["plan_guid"], BUSINESS_PLAN);
    assert_eq!(upgraded["quantity"], 3);
    assert_eq!(upgraded["current_period_end"], first["current_period_end"]);
    let now = license(&app, &shop).await;
    assert_eq!(now["plan"]["guid"], BUSINESS_PLAN, "{now}");

    // Back down: nothing to pay, the renewal is for the cheaper plan.
    let (status, down) = act(
        &app,
        id,
        "change-plan",
        Some(json!({"plan": START_PLAN, "quantity": 1})),
    )
    .await;
    assert_eq!(status, 200, "{down}");
    assert_eq!(down["invoice"], Value::Null);
    assert_eq!(down["subscription"]["plan_guid"], BUSINESS_PLAN);
    assert_eq!(down["subscription"]["next_plan_guid"], START_PLAN);
    moved(&app, end.plus_seconds(-7 * DAY)).await;
    let renewal = pending(&app, &shop).await.remove(0);
    assert_eq!(renewal["meta_data"]["quantity"], 1, "{renewal}");
    assert_eq!(renewal["total_sum"]["value"], 99_000, "{renewal}");
    let (status, _) = pay(&app, renewal["guid"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let renewed = subscription(&app, id).await;
    assert_eq!(renewed["plan_guid"], START_PLAN);
    assert_eq!(renewed["next_plan_guid"], Value::Null);
    app.stop().await;
}

/// A renewal invoice states the VAT of the day it is issued, not of the period it
/// is for: issued in December 2025 for a period starting in 2026, 20%.
async fn renewal_vat_follows_the_invoice_date(backend: Backend) {
    for (day, rate) in [
        ("2025-12-27T12:00:00Z", "20%"),
        ("2026-01-01T00:00:00Z", "22%"),
    ] {
        let app = TestApp::spawn_with(
            backend,
            |c| {
                c.fixed_time = Some(day.to_owned());
                c.renewal_lead_days = 40;
            },
            |w| w,
        )
        .await;
        let shop = subscribed(&app, "vat").await;
        let mut renewal = Vec::new();
        for _ in 0..100 {
            renewal = pending(&app, &shop).await;
            if !renewal.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        assert_eq!(renewal.len(), 1, "{day}");
        let s = subscription_of(&app, &shop).await;
        assert!(at(&s["current_period_end"]).date().year() == 2026, "{s}");
        assert_eq!(
            renewal[0]["meta_data"]["vat"]["rate"], rate,
            "{day}: {}",
            renewal[0]
        );
        app.stop().await;
    }
}

both_backends!(
    renewal_vat_follows_the_invoice_date,
    a_subscription_renews_reminds_and_expires,
    cancel_stops_renewals_and_resume_restarts_them,
    plan_changes_are_prorated,
);
