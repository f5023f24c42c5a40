//! A local YooKassa (API v3) for the tests, written from YooKassa's public API
//! reference and strict where it is: Basic auth with the shop's id and secret
//! key; an `Idempotence-Key` on every POST (the same key and body answer the
//! object as it now is, the same key with another body is refused); amounts as
//! decimal strings; descriptions of at most 128 characters; metadata of at most
//! 16 string keys; a 54-FZ receipt with the buyer's e-mail or phone, items whose
//! unit prices times quantities add up to the amount, VAT codes 1 to 12; the
//! documented objects and `{type: error, id, code, description, parameter}`
//! errors. Its confirmation page lets the buyer pay or be declined, and it sends
//! `payment.succeeded` / `payment.canceled` notifications to Kopek.
//!
//! The test says what goes wrong: answers that time out (the payment made all
//! the same), 500s (nothing made), notifications sent twice, notifications held
//! until after the buyer is back, refunds refused.

use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use kopek_domain::money::parse_decimal;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const SHOP_ID: &str = "506751";
pub const SECRET_KEY: &str = "test_LsGqVTS5N3HdR0dOuble";

/// How long an answer that "times out" is held back: longer than the client's
/// timeout in the tests.
const HELD_BACK: Duration = Duration::from_secs(3);

/// What the test asks to go wrong.
#[derive(Debug, Default, Clone)]
pub struct Faults {
    /// The next N payment creations are made, but answered only after the client
    /// gave up waiting.
    pub time_out: usize,
    /// The next N payment creations answer 500 without making anything.
    pub fail: usize,
    /// Every notification is sent twice.
    pub notify_twice: bool,
    /// Notifications wait until the test sends them ([`Double::deliver_held`]): the
    /// buyer is back first.
    pub hold_notifications: bool,
    /// Refunds are canceled by the bank.
    pub refuse_refunds: bool,
}

/// A request the double took, as sent.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub key: Option<String>,
    pub body: Value,
}

#[derive(Default)]
pub struct Books {
    pub faults: Faults,
    pub notify_url: Option<String>,
    /// Payments in the order made.
    pub payments: Vec<Value>,
    pub refunds: Vec<Value>,
    /// Idempotence keys: the request body they came with, and what they made.
    keys: HashMap<String, (Value, String)>,
    pub seen: Vec<Seen>,
    held: Vec<Value>,
}

#[derive(Clone)]
pub struct Double {
    /// The API's base, as `KOPEK_YOOKASSA_API_URL` takes it.
    pub api_url: String,
    pub books: Arc<Mutex<Books>>,
    client: reqwest::Client,
}

/// An error answer of the API: its status and `{type: error, ...}` body (none
/// for the statuses YooKassa answers without one).
pub struct Refusal {
    status: StatusCode,
    body: Option<Value>,
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        match self.body {
            Some(body) => (self.status, Json(body)).into_response(),
            None => self.status.into_response(),
        }
    }
}

fn error(status: StatusCode, code: &str, description: &str, parameter: Option<&str>) -> Refusal {
    let mut body = json!({
        "type": "error",
        "id": uuid::Uuid::new_v4().to_string(),
        "code": code,
        "description": description,
    });
    if let Some(p) = parameter {
        body["parameter"] = json!(p);
    }
    Refusal {
        status,
        body: Some(body),
    }
}

fn invalid(description: &str, parameter: &str) -> Refusal {
    error(
        StatusCode::BAD_REQUEST,
        "invalid_request",
        description,
        Some(parameter),
    )
}

/// Times as YooKassa writes them: UTC with milliseconds.
fn now() -> String {
    kopek_domain::time::Timestamp::now().rfc3339_millis()
}

/// Basic auth with the shop's id and secret key.
fn authorized(headers: &HeaderMap) -> bool {
    let expected =
        base64::engine::general_purpose::STANDARD.encode(format!("{SHOP_ID}:{SECRET_KEY}"));
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Basic {expected}"))
}

fn unauthorized() -> Refusal {
    error(
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
        "Authentication by given credentials failed",
        None,
    )
}

/// Kopecks from a decimal string of roubles with at most two decimals, above zero.
fn kopecks(value: &Value) -> Option<i64> {
    parse_decimal(value.as_str()?, 2).filter(|k| *k > 0)
}

/// Thousandths of a unit from a quantity: a number, or a decimal string with at
/// most three decimals; above zero.
fn thousandths(value: &Value) -> Option<i64> {
    let text = match value {
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        _ => return None,
    };
    parse_decimal(&text, 3).filter(|q| *q > 0)
}

/// `{value, currency}`: the kopecks, or the error answer.
fn amount(v: &Value, parameter: &str) -> Result<i64, Refusal> {
    if v["currency"] != "RUB" {
        return Err(invalid("Currency is not supported by the shop", parameter));
    }
    kopecks(&v["value"]).ok_or_else(|| {
        invalid(
            "Amount must be a string with a decimal point and at most two decimals, above zero",
            parameter,
        )
    })
}

const PAYMENT_MODES: [&str; 7] = [
    "full_prepayment",
    "partial_prepayment",
    "advance",
    "full_payment",
    "partial_payment",
    "credit",
    "credit_payment",
];

const PAYMENT_SUBJECTS: [&str; 13] = [
    "commodity",
    "excise",
    "job",
    "service",
    "gambling_bet",
    "gambling_prize",
    "lottery",
    "lottery_prize",
    "intellectual_activity",
    "payment",
    "agent_commission",
    "property_right",
    "another",
];

/// The 54-FZ receipt rules: a customer with an e-mail or phone, at least one
/// item, each described in 1 to 128 characters with a quantity, a unit price and
/// a VAT code from 1 to 12, and the items adding up to `total`.
fn check_receipt(receipt: &Value, total: i64) -> Result<(), Refusal> {
    if !receipt.is_object() {
        return Err(invalid(
            "Receipt is required: the shop sends receipts (54-FZ)",
            "receipt",
        ));
    }
    let customer = &receipt["customer"];
    let email = customer["email"].as_str().unwrap_or_default();
    let phone = customer["phone"].as_str().unwrap_or_default();
    if email.is_empty() && phone.is_empty() {
        return Err(invalid(
            "Both email and phone values are empty in receipt",
            "receipt.customer",
        ));
    }
    if !email.is_empty() && !email.contains('@') {
        return Err(invalid("Invalid email value", "receipt.customer.email"));
    }
    if !phone.is_empty() && !phone.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid(
            "Phone must be digits in ITU-T E.164",
            "receipt.customer.phone",
        ));
    }
    if let Some(code) = receipt.get("tax_system_code")
        && !code.as_i64().is_some_and(|c| (1..=6).contains(&c))
    {
        return Err(invalid(
            "Invalid tax_system_code",
            "receipt.tax_system_code",
        ));
    }
    let Some(items) = receipt["items"].as_array().filter(|i| !i.is_empty()) else {
        return Err(invalid("Receipt must have items", "receipt.items"));
    };
    let mut sum: i128 = 0;
    for (i, item) in items.iter().enumerate() {
        let at = |field: &str| format!("receipt.items[{i}].{field}");
        let description = item["description"].as_str().unwrap_or_default();
        if description.is_empty() || description.chars().count() > 128 {
            return Err(invalid(
                "Item description must be 1 to 128 characters",
                &at("description"),
            ));
        }
        let quantity = thousandths(&item["quantity"])
            .ok_or_else(|| invalid("Invalid quantity", &at("quantity")))?;
        let price = amount(&item["amount"], &at("amount"))?;
        if !item["vat_code"]
            .as_i64()
            .is_some_and(|c| (1..=12).contains(&c))
        {
            return Err(invalid("Invalid vat_code", &at("vat_code")));
        }
        if let Some(mode) = item.get("payment_mode")
            && !PAYMENT_MODES.contains(&mode.as_str().unwrap_or_default())
        {
            return Err(invalid("Invalid payment_mode", &at("payment_mode")));
        }
        if let Some(subject) = item.get("payment_subject")
            && !PAYMENT_SUBJECTS.contains(&subject.as_str().unwrap_or_default())
        {
            return Err(invalid("Invalid payment_subject", &at("payment_subject")));
        }
        sum += i128::from(price) * i128::from(quantity);
    }
    if sum != i128::from(total) * 1000 {
        return Err(invalid(
            "The sum of the receipt items does not match the amount",
            "receipt",
        ));
    }
    Ok(())
}

fn check_payment(body: &Value) -> Result<i64, Refusal> {
    let total = amount(&body["amount"], "amount")?;
    if let Some(capture) = body.get("capture")
        && !capture.is_boolean()
    {
        return Err(invalid("capture must be a boolean", "capture"));
    }
    let confirmation = &body["confirmation"];
    if confirmation["type"] != "redirect" {
        return Err(invalid(
            "Only the redirect confirmation is enabled for this shop",
            "confirmation.type",
        ));
    }
    let return_url = confirmation["return_url"].as_str().unwrap_or_default();
    if return_url.is_empty() || return_url.len() > 2048 || url::Url::parse(return_url).is_err() {
        return Err(invalid("Invalid return_url", "confirmation.return_url"));
    }
    if let Some(d) = body.get("description")
        && d.as_str().is_none_or(|d| d.chars().count() > 128)
    {
        return Err(invalid(
            "Description must be a string of at most 128 characters",
            "description",
        ));
    }
    if let Some(meta) = body.get("metadata") {
        let Some(meta) = meta.as_object() else {
            return Err(invalid("Metadata must be an object", "metadata"));
        };
        let fits = meta.len() <= 16
            && meta.iter().all(|(k, v)| {
                k.chars().count() <= 32 && v.as_str().is_some_and(|v| v.chars().count() <= 512)
            });
        if !fits {
            return Err(invalid(
                "Metadata: at most 16 keys, keys of at most 32 characters, string values of at most 512",
                "metadata",
            ));
        }
    }
    check_receipt(&body["receipt"], total)?;
    Ok(total)
}

fn roubles(kopecks: i64) -> String {
    format!("{}.{:02}", kopecks / 100, kopecks % 100)
}

impl Double {
    pub async fn start() -> Double {
        let books = Arc::new(Mutex::new(Books::default()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let double = Double {
            api_url: format!("http://{addr}/v3"),
            books,
            client: reqwest::Client::new(),
        };
        let app = Router::new()
            .route("/v3/payments", post(create_payment))
            .route("/v3/payments/{id}", get(read_payment))
            .route("/v3/refunds", post(create_refund))
            .route("/checkout/{id}", get(confirmation_page).post(confirm))
            .with_state(double.clone());
        tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        double
    }

    pub fn faults(&self, f: impl FnOnce(&mut Faults)) {
        f(&mut self.books.lock().unwrap().faults);
    }

    pub fn notify(&self, url: String) {
        self.books.lock().unwrap().notify_url = Some(url);
    }

    pub fn payments(&self) -> Vec<Value> {
        self.books.lock().unwrap().payments.clone()
    }

    pub fn refunds(&self) -> Vec<Value> {
        self.books.lock().unwrap().refunds.clone()
    }

    /// The requests to `path` the double took.
    pub fn seen(&self, method: &str, path: &str) -> Vec<Seen> {
        self.books
            .lock()
            .unwrap()
            .seen
            .iter()
            .filter(|s| s.method == method && s.path == path)
            .cloned()
            .collect()
    }

    /// The buyer's answer on the confirmation page, as a browser would post it:
    /// where the buyer is sent back to.
    pub async fn answer(&self, confirmation_url: &str, decision: &str) -> String {
        let response = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(confirmation_url)
            .form(&[("decision", decision)])
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 303);
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    /// Sends the notifications held back.
    pub async fn deliver_held(&self) {
        let held = std::mem::take(&mut self.books.lock().unwrap().held);
        for notice in held {
            self.send(notice).await;
        }
    }

    /// A notification as YooKassa sends it: retried until answered 200 (a few
    /// times here).
    async fn send(&self, notice: Value) {
        let Some(url) = self.books.lock().unwrap().notify_url.clone() else {
            return;
        };
        for _ in 0..5 {
            match self.client.post(&url).json(&notice).send().await {
                Ok(r) if r.status() == 200 => return,
                _ => tokio::time::sleep(Duration::from_millis(200)).await,
            }
        }
        panic!("Kopek did not acknowledge a notification: {notice}");
    }

    async fn notify_change(&self, payment: &Value) {
        let event = match payment["status"].as_str() {
            Some("succeeded") => "payment.succeeded",
            Some("canceled") => "payment.canceled",
            _ => return,
        };
        let notice = json!({"type": "notification", "event": event, "object": payment});
        let (hold, twice) = {
            let b = self.books.lock().unwrap();
            (b.faults.hold_notifications, b.faults.notify_twice)
        };
        if hold {
            self.books.lock().unwrap().held.push(notice);
            return;
        }
        self.send(notice.clone()).await;
        if twice {
            self.send(notice).await;
        }
    }

    fn find(&self, id: &str) -> Option<Value> {
        self.books
            .lock()
            .unwrap()
            .payments
            .iter()
            .find(|p| p["id"] == id)
            .cloned()
    }

    fn update(&self, id: &str, f: impl FnOnce(&mut Value)) -> Option<Value> {
        let mut books = self.books.lock().unwrap();
        let p = books.payments.iter_mut().find(|p| p["id"] == id)?;
        f(p);
        Some(p.clone())
    }
}

/// The idempotence rules of a POST: a key is required; a key seen before answers
/// what it made (`Ok(Some(id))`) when the body is the same, and is refused when it
/// is not.
fn idempotence(
    double: &Double,
    headers: &HeaderMap,
    body: &Value,
) -> Result<Option<String>, Refusal> {
    let key = headers
        .get("idempotence-key")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if key.is_empty() || key.len() > 64 {
        return Err(invalid(
            "Idempotence key is required: 1 to 64 characters",
            "Idempotence-Key",
        ));
    }
    match double.books.lock().unwrap().keys.get(key) {
        Some((first, made)) if first == body => Ok(Some(made.clone())),
        Some(_) => Err(invalid("Idempotence key duplicated", "Idempotence-Key")),
        None => Ok(None),
    }
}

fn json_body(headers: &HeaderMap, raw: &str) -> Result<Value, Refusal> {
    let json = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !json {
        return Err(Refusal {
            status: StatusCode::UNSUPPORTED_MEDIA_TYPE,
            body: None,
        });
    }
    serde_json::from_str(raw).map_err(|_| invalid("Request body is not valid JSON", "body"))
}

fn seen(double: &Double, method: &str, path: &str, headers: &HeaderMap, body: &Value) {
    double.books.lock().unwrap().seen.push(Seen {
        method: method.to_owned(),
        path: path.to_owned(),
        key: headers
            .get("idempotence-key")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body: body.clone(),
    });
}

async fn create_payment(State(double): State<Double>, headers: HeaderMap, raw: String) -> Response {
    if !authorized(&headers) {
        return unauthorized().into_response();
    }
    let body = match json_body(&headers, &raw) {
        Ok(body) => body,
        Err(answer) => return answer.into_response(),
    };
    seen(&double, "POST", "/v3/payments", &headers, &body);
    let made = match idempotence(&double, &headers, &body) {
        Ok(made) => made,
        Err(answer) => return answer.into_response(),
    };
    if let Some(id) = made {
        return Json(double.find(&id).unwrap()).into_response();
    }
    let total = match check_payment(&body) {
        Ok(total) => total,
        Err(answer) => return answer.into_response(),
    };
    let (fail, time_out) = {
        let mut b = double.books.lock().unwrap();
        let fail = b.faults.fail > 0;
        let time_out = !fail && b.faults.time_out > 0;
        if fail {
            b.faults.fail -= 1;
        } else if time_out {
            b.faults.time_out -= 1;
        }
        (fail, time_out)
    };
    if fail {
        // The outcome is unknown to the client; nothing was made and the key is
        // not kept, so the same request may be sent again.
        return error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal_server_error",
            "Internal server error",
            None,
        )
        .into_response();
    }
    let id = uuid::Uuid::new_v4().to_string();
    let base = double.api_url.trim_end_matches("/v3").to_owned();
    let payment = json!({
        "id": id,
        "status": "pending",
        "paid": false,
        "amount": {"value": roubles(total), "currency": "RUB"},
        "confirmation": {
            "type": "redirect",
            "return_url": body["confirmation"]["return_url"],
            "confirmation_url": format!("{base}/checkout/{id}"),
        },
        "created_at": now(),
        "description": body.get("description").cloned().unwrap_or(Value::Null),
        "metadata": body.get("metadata").cloned().unwrap_or(json!({})),
        "recipient": {"account_id": SHOP_ID, "gateway_id": "100700"},
        "refundable": false,
        "test": true,
        "capture": body.get("capture").cloned().unwrap_or(json!(false)),
        "receipt": body["receipt"].clone(),
    });
    {
        let mut b = double.books.lock().unwrap();
        let key = headers["idempotence-key"].to_str().unwrap().to_owned();
        b.keys.insert(key, (body.clone(), id.clone()));
        b.payments.push(payment.clone());
    }
    if time_out {
        tokio::time::sleep(HELD_BACK).await;
    }
    Json(public(&payment)).into_response()
}

/// The payment as the API shows it (without the double's own bookkeeping).
fn public(payment: &Value) -> Value {
    let mut p = payment.clone();
    if let Some(map) = p.as_object_mut() {
        map.remove("capture");
        map.remove("receipt");
    }
    p
}

async fn read_payment(
    State(double): State<Double>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    if !authorized(&headers) {
        return unauthorized().into_response();
    }
    seen(
        &double,
        "GET",
        "/v3/payments/{id}",
        &headers,
        &json!({"id": id}),
    );
    match double.find(&id) {
        Some(p) => Json(public(&p)).into_response(),
        None => error(
            StatusCode::NOT_FOUND,
            "not_found",
            "Payment doesn't exist or access denied",
            Some("payment_id"),
        )
        .into_response(),
    }
}

async fn create_refund(State(double): State<Double>, headers: HeaderMap, raw: String) -> Response {
    if !authorized(&headers) {
        return unauthorized().into_response();
    }
    let body = match json_body(&headers, &raw) {
        Ok(body) => body,
        Err(answer) => return answer.into_response(),
    };
    seen(&double, "POST", "/v3/refunds", &headers, &body);
    let made = match idempotence(&double, &headers, &body) {
        Ok(made) => made,
        Err(answer) => return answer.into_response(),
    };
    if let Some(id) = made {
        let books = double.books.lock().unwrap();
        let refund = books.refunds.iter().find(|r| r["id"] == id).unwrap();
        return Json(refund.clone()).into_response();
    }
    let payment_id = body["payment_id"].as_str().unwrap_or_default();
    let Some(payment) = double.find(payment_id) else {
        return invalid("Payment doesn't exist", "payment_id").into_response();
    };
    if payment["status"] != "succeeded" {
        return invalid("Only a succeeded payment can be refunded", "payment_id").into_response();
    }
    let value = match amount(&body["amount"], "amount") {
        Ok(v) => v,
        Err(answer) => return answer.into_response(),
    };
    let paid = kopecks(&payment["amount"]["value"]).unwrap_or(0);
    let refunded: i64 = double
        .refunds()
        .iter()
        .filter(|r| r["payment_id"] == payment_id && r["status"] == "succeeded")
        .filter_map(|r| kopecks(&r["amount"]["value"]))
        .sum();
    if value > paid - refunded {
        return invalid(
            "Refund amount exceeds what is left of the payment",
            "amount",
        )
        .into_response();
    }
    if let Err(answer) = check_receipt(&body["receipt"], value) {
        return answer.into_response();
    }
    let refused = double.books.lock().unwrap().faults.refuse_refunds;
    let mut refund = json!({
        "id": uuid::Uuid::new_v4().to_string(),
        "payment_id": payment_id,
        "status": if refused { "canceled" } else { "succeeded" },
        "amount": body["amount"].clone(),
        "created_at": now(),
        "description": body.get("description").cloned().unwrap_or(Value::Null),
    });
    if refused {
        refund["cancellation_details"] =
            json!({"party": "payment_network", "reason": "general_decline"});
    } else {
        double.update(payment_id, |p| {
            p["refunded_amount"] = json!({"value": roubles(refunded + value), "currency": "RUB"});
        });
    }
    {
        let mut b = double.books.lock().unwrap();
        let key = headers["idempotence-key"].to_str().unwrap().to_owned();
        b.keys.insert(
            key,
            (body.clone(), refund["id"].as_str().unwrap().to_owned()),
        );
        b.refunds.push(refund.clone());
    }
    Json(refund).into_response()
}

/// YooKassa's payment page, as far as the tests need it: the amount, and the
/// buyer's two outcomes.
async fn confirmation_page(State(double): State<Double>, Path(id): Path<String>) -> Response {
    let Some(p) = double.find(&id) else {
        return (StatusCode::NOT_FOUND, Html("no such payment".to_owned())).into_response();
    };
    let html = format!(
        "<!doctype html><html lang=\"ru\"><head><meta charset=\"utf-8\"><title>ЮKassa (тест)</title></head>\
         <body><h1>ЮKassa, тестовый магазин</h1><p id=\"amount\">{} ₽</p><p>{}</p>\
         <form method=\"post\"><button id=\"pay\" name=\"decision\" value=\"pay\">Заплатить</button></form>\
         <form method=\"post\"><button id=\"decline\" name=\"decision\" value=\"decline\">Карта отклонена</button></form>\
         </body></html>",
        p["amount"]["value"].as_str().unwrap_or_default(),
        p["description"].as_str().unwrap_or_default(),
    );
    Html(html).into_response()
}

#[derive(serde::Deserialize)]
struct Decision {
    decision: String,
}

/// The buyer paid (or the bank declined): the payment moves on, Kopek is
/// notified, and the buyer goes back to the shop.
async fn confirm(
    State(double): State<Double>,
    Path(id): Path<String>,
    Form(form): Form<Decision>,
) -> Response {
    let Some(p) = double.find(&id) else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if p["status"] != "pending" {
        return (StatusCode::CONFLICT, Html("already decided".to_owned())).into_response();
    }
    let updated = double
        .update(&id, |p| match form.decision.as_str() {
            "pay" => {
                p["status"] = json!("succeeded");
                p["paid"] = json!(true);
                p["refundable"] = json!(true);
                p["captured_at"] = json!(now());
                let value = kopecks(&p["amount"]["value"]).unwrap_or(0);
                // YooKassa keeps its commission (3.5% here).
                p["income_amount"] = json!({"value": roubles(value - value * 35 / 1000), "currency": "RUB"});
                p["payment_method"] = json!({"type": "bank_card", "id": p["id"], "saved": false,
                    "title": "Bank card *4444",
                    "card": {"first6": "555555", "last4": "4444", "expiry_month": "12", "expiry_year": "2030", "card_type": "MasterCard"}});
            }
            _ => {
                p["status"] = json!("canceled");
                p["cancellation_details"] = json!({"party": "payment_network", "reason": "insufficient_funds"});
            }
        })
        .unwrap();
    double.notify_change(&public(&updated)).await;
    let back = updated["confirmation"]["return_url"]
        .as_str()
        .unwrap()
        .to_owned();
    Redirect::to(&back).into_response()
}

/// The double's own rules, against requests as the reference writes them.
mod rules {
    use super::*;

    fn payment() -> Value {
        json!({
            "amount": {"value": "2980.00", "currency": "RUB"},
            "capture": true,
            "confirmation": {"type": "redirect", "return_url": "https://shop.example/back"},
            "description": "Заказ №1",
            "metadata": {"order": "1"},
            "receipt": {
                "customer": {"email": "buh@example.com"},
                "items": [
                    {"description": "Подписка", "quantity": "2.00", "amount": {"value": "990.00", "currency": "RUB"}, "vat_code": 11},
                    {"description": "Установка", "quantity": 1, "amount": {"value": "1000.00", "currency": "RUB"}, "vat_code": 4,
                     "payment_mode": "full_prepayment", "payment_subject": "service"},
                ],
            },
        })
    }

    fn refused(body: Value) {
        let answer = check_payment(&body).expect_err("refused");
        assert_eq!(answer.status, StatusCode::BAD_REQUEST);
    }

    #[test]
    fn a_reference_payment_passes_and_each_rule_bites() {
        assert_eq!(check_payment(&payment()).ok(), Some(298_000));
        let mut p = payment();
        p["amount"]["value"] = json!(2980);
        refused(p);
        let mut p = payment();
        p["amount"]["value"] = json!("2980.001");
        refused(p);
        let mut p = payment();
        p["description"] = json!("ж".repeat(129));
        refused(p);
        let mut p = payment();
        p["receipt"]["customer"] = json!({});
        refused(p);
        let mut p = payment();
        p["receipt"]["items"][0]["vat_code"] = json!(13);
        refused(p);
        let mut p = payment();
        p["receipt"]["items"][1]["amount"]["value"] = json!("1000.01");
        refused(p);
        let mut p = payment();
        p["receipt"]["items"][1]["payment_mode"] = json!("whenever");
        refused(p);
        let mut p = payment();
        p["metadata"] = json!({"a_key_that_is_far_longer_than_32_chars": "x"});
        refused(p);
        let mut p = payment();
        p["confirmation"] = json!({"type": "embedded"});
        refused(p);
        let mut p = payment();
        p.as_object_mut().unwrap().remove("receipt");
        refused(p);
    }
}
