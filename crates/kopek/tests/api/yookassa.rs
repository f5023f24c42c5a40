//! Card payments through YooKassa, against the local double: the hosted page sends
//! the buyer to YooKassa's page, YooKassa's notification is checked with its API
//! before anything is paid, and whatever goes wrong (a timeout, a 500, a
//! notification twice or before the buyer is back, a decline, a forged
//! notification, money for an invoice already settled) nothing is paid twice.

use crate::both_backends;
use crate::harness::{Backend, TestApp, read};
use crate::lifepos::{START_PLAN, Shop, create, ready, seed_request};
use crate::pages::{status_of, stored_payments};
use crate::subscriptions::invoice_action;
use crate::yookassa_double::{Double, SECRET_KEY, SHOP_ID};
use kopek::config::PaymentProvider;
use reqwest::Method;
use serde_json::{Value, json};

pub struct Shopfront {
    pub app: TestApp,
    pub double: Double,
    pub shop: Shop,
}

/// A server taking cards through the double, and a shop with a billing contact.
pub async fn shopfront(backend: Backend) -> Shopfront {
    let double = Double::start().await;
    let api_url = double.api_url.clone();
    let app = TestApp::spawn_with(
        backend,
        |c| {
            c.payment_provider = PaymentProvider::Yookassa;
            c.yookassa_shop_id = Some(SHOP_ID.to_owned());
            c.yookassa_secret_key = Some(SECRET_KEY.to_owned());
            c.yookassa_api_url = api_url;
            c.yookassa_timeout_seconds = 1;
        },
        |w| w,
    )
    .await;
    double.notify(format!("{}/payments/callback/yookassa", app.base));
    let shop = ready(&app, "yookassa").await;
    let (status, org) = app
        .admin(
            Method::PATCH,
            &format!("/admin/v1/organizations/{}", shop.org),
            Some(json!({"billingEmail": "buh@yookassa.example"})),
        )
        .await;
    assert_eq!(status, 200, "{org}");
    Shopfront { app, double, shop }
}

impl Shopfront {
    /// A new invoice for 2 units for 12 months: its payment link and the invoice.
    pub async fn invoice(&self) -> (String, Value) {
        let (status, invoice) = create(
            &self.app,
            &self.shop,
            seed_request(START_PLAN, 2, 12, &self.shop.org),
        )
        .await;
        assert_eq!(status, 201, "{invoice}");
        let link = invoice["payment_by_card_link"].as_str().unwrap().to_owned();
        (link, invoice)
    }
}

/// A client that keeps cookies and does not follow redirects, as the tests of a
/// browser's steps need.
pub fn buyer() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn page(buyer: &reqwest::Client, url: &str) -> String {
    let response = buyer
        .get(url)
        .header("accept-language", "ru-RU")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{url}");
    response.text().await.unwrap()
}

fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 32].to_owned()
}

/// Presses "Pay by card" on the invoice page: the status, and the page answered.
async fn press_pay(buyer: &reqwest::Client, link: &str, email: &str) -> (u16, String) {
    let html = page(buyer, link).await;
    submit(buyer, link, email, &csrf_of(&html)).await
}

/// Posts the page's form (perhaps from a page opened a while ago).
async fn submit(buyer: &reqwest::Client, link: &str, email: &str, csrf: &str) -> (u16, String) {
    let checkout = link.replace("/pay?", "/checkout?");
    let response = buyer
        .post(&checkout)
        .header("accept-language", "ru-RU")
        .form(&[("email", email), ("csrf", csrf)])
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

/// The acquirer's page the onward page sends the browser to.
fn onward(html: &str) -> String {
    let at = html.find("id=\"onward\" href=\"").expect("an onward link") + 18;
    let end = html[at..].find('"').unwrap();
    html[at..at + end].replace("&amp;", "&")
}

async fn events(app: &TestApp, kind: &str, subject: &str) -> usize {
    let (status, body) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/events?type={kind}&subject_id={subject}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body["events"].as_array().unwrap().len()
}

async fn a_card_payment_goes_through_yookassa(backend: Backend) {
    let front = shopfront(backend).await;
    let (link, invoice) = front.invoice().await;
    let buyer = buyer();
    let html = page(&buyer, &link).await;
    assert!(html.contains("Оплатить картой"), "{html}");
    assert!(html.contains("value=\"buh@yookassa.example\""));
    assert!(
        !html.contains("card_number"),
        "no card form: YooKassa takes the card"
    );

    let (status, html) = press_pay(&buyer, &link, "anna@yookassa.example").await;
    assert_eq!(status, 200, "{html}");
    let confirmation = onward(&html);
    assert!(html.contains(&format!("0;url={confirmation}")), "{html}");

    // What Kopek asked YooKassa for.
    let asked = front.double.seen("POST", "/v3/payments");
    assert_eq!(asked.len(), 1);
    let body = &asked[0].body;
    let total = invoice["total_sum"]["value"].as_i64().unwrap();
    let roubles = format!("{}.{:02}", total / 100, total % 100);
    assert_eq!(body["amount"], json!({"value": roubles, "currency": "RUB"}));
    assert_eq!(body["capture"], true);
    assert_eq!(body["confirmation"]["type"], "redirect");
    assert_eq!(body["confirmation"]["return_url"], link.as_str());
    assert_eq!(
        body["description"],
        format!("Оплата счёта № {}", invoice["number"].as_str().unwrap())
    );
    assert_eq!(body["metadata"]["invoice_guid"], invoice["guid"]);
    let receipt = &body["receipt"];
    assert_eq!(
        receipt["customer"],
        json!({"email": "anna@yookassa.example"})
    );
    let position = &invoice["positions"][0];
    let item = &receipt["items"][0];
    assert_eq!(receipt["items"].as_array().unwrap().len(), 1);
    assert_eq!(item["quantity"], position["quantity"]);
    let unit = position["price"]["value"].as_i64().unwrap();
    assert_eq!(
        item["amount"],
        json!({"value": format!("{}.{:02}", unit / 100, unit % 100), "currency": "RUB"})
    );
    assert_eq!(item["vat_code"], 11, "22% from 2026: YooKassa's code 11");
    assert_eq!(item["payment_mode"], "full_prepayment");
    assert_eq!(item["payment_subject"], "service");
    assert!(asked[0].key.as_ref().is_some_and(|k| k.len() == 36));

    // The buyer pays on YooKassa's page; YooKassa notifies Kopek, which asks the
    // API before paying the invoice.
    let back = front.double.answer(&confirmation, "pay").await;
    assert_eq!(back, link);
    let payment_id = front.double.payments()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!front.double.seen("GET", "/v3/payments/{id}").is_empty());
    assert_eq!(status_of(&front.app, &invoice).await, "Paid");
    assert_eq!(
        stored_payments(&front.app, &invoice).await,
        [("yookassa".to_owned(), Some(payment_id.clone()))]
    );
    let guid = invoice["guid"].as_str().unwrap();
    assert_eq!(events(&front.app, "invoice.paid", guid).await, 1);
    let (_, subscriptions) = front
        .app
        .admin(
            Method::GET,
            &format!("/admin/v1/subscriptions?organization={}", front.shop.org),
            None,
        )
        .await;
    assert_eq!(subscriptions["subscriptions"][0]["status"], "active");
    // Back on the page: paid, with the receipt.
    let html = page(&buyer, &back).await;
    assert!(
        html.contains("Оплачен") && html.contains(&payment_id),
        "{html}"
    );
    front.app.stop().await;
}

async fn faults_never_pay_twice(backend: Backend) {
    let front = shopfront(backend).await;
    let (link, invoice) = front.invoice().await;
    let buyer = buyer();
    // A 500, then an answer that never comes in time: the buyer is told so each
    // time, and each press sends the same request under the same key.
    front.double.faults(|f| {
        f.fail = 1;
        f.time_out = 1;
    });
    for _ in 0..2 {
        let (status, html) = press_pay(&buyer, &link, "buh@yookassa.example").await;
        assert_eq!(status, 503, "{html}");
        assert!(html.contains("Платёжный сервис не ответил"), "{html}");
        assert!(html.contains("Оплатить картой"));
    }
    let stale = csrf_of(&page(&buyer, &link).await);
    let (status, html) = submit(&buyer, &link, "buh@yookassa.example", &stale).await;
    assert_eq!(status, 200, "{html}");
    let asked = front.double.seen("POST", "/v3/payments");
    assert_eq!(asked.len(), 3);
    assert!(
        asked
            .iter()
            .all(|s| s.key == asked[0].key && s.body == asked[0].body)
    );
    assert_eq!(front.double.payments().len(), 1, "one payment at YooKassa");

    // The buyer pays and is back before YooKassa's notification, which then comes
    // twice: the page asks the API and shows the invoice paid; the notifications
    // change nothing more.
    front.double.faults(|f| {
        f.notify_twice = true;
        f.hold_notifications = true;
    });
    let back = front.double.answer(&onward(&html), "pay").await;
    let html = page(&buyer, &back).await;
    assert!(html.contains("Оплачен"), "{html}");
    front.double.deliver_held().await;
    assert_eq!(stored_payments(&front.app, &invoice).await.len(), 1);
    let guid = invoice["guid"].as_str().unwrap();
    assert_eq!(events(&front.app, "invoice.paid", guid).await, 1);
    assert!(front.double.refunds().is_empty());
    // Pressing again on the page opened before pays nothing.
    let (status, _) = submit(&buyer, &link, "buh@yookassa.example", &stale).await;
    assert_eq!(status, 409);
    assert_eq!(front.double.payments().len(), 1);
    front.app.stop().await;
}

async fn a_declined_payment_can_be_tried_again(backend: Backend) {
    let front = shopfront(backend).await;
    let (link, invoice) = front.invoice().await;
    let buyer = buyer();
    let (_, html) = press_pay(&buyer, &link, "buh@yookassa.example").await;
    let back = front.double.answer(&onward(&html), "decline").await;
    let html = page(&buyer, &back).await;
    assert!(
        html.contains("Платёж не прошёл: на карте недостаточно средств"),
        "{html}"
    );
    assert!(html.contains("Оплатить картой"), "the form again");
    assert_eq!(status_of(&front.app, &invoice).await, "Pending");

    let (status, html) = press_pay(&buyer, &link, "buh@yookassa.example").await;
    assert_eq!(status, 200, "{html}");
    let payments = front.double.payments();
    assert_eq!(payments.len(), 2, "a new payment after a decline");
    let keys: Vec<_> = front
        .double
        .seen("POST", "/v3/payments")
        .into_iter()
        .map(|s| s.key)
        .collect();
    assert_ne!(keys[0], keys[1]);
    front.double.answer(&onward(&html), "pay").await;
    assert_eq!(status_of(&front.app, &invoice).await, "Paid");
    front.app.stop().await;
}

async fn notifications_are_checked_with_the_api(backend: Backend) {
    let front = shopfront(backend).await;
    let (link, invoice) = front.invoice().await;
    let (_, html) = press_pay(&buyer(), &link, "buh@yookassa.example").await;
    assert!(html.contains("onward"));
    let id = front.double.payments()[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let notify = async |body: Value| {
        read(
            front
                .app
                .request(Method::POST, "/payments/callback/yookassa", None)
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await
    };
    // A forged "succeeded" for a payment still pending at YooKassa pays nothing.
    let forged = json!({"type": "notification", "event": "payment.succeeded",
        "object": {"id": id, "status": "succeeded", "paid": true,
                   "amount": {"value": "1.00", "currency": "RUB"}}});
    let (status, body) = notify(forged).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(status_of(&front.app, &invoice).await, "Pending");
    // One about a payment YooKassa does not know is acknowledged and ignored.
    let unknown = json!({"type": "notification", "event": "payment.succeeded",
        "object": {"id": "2f000000-000f-5000-8000-000000000000"}});
    let (status, body) = notify(unknown).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["known"], false);
    let (status, _) = notify(json!({"nothing": "here"})).await;
    assert_eq!(status, 400);
    front.app.stop().await;
}

async fn refunds_go_back_through_yookassa(backend: Backend) {
    let front = shopfront(backend).await;
    let buyer = buyer();
    let pay = async |front: &Shopfront| {
        let (link, invoice) = front.invoice().await;
        let (_, html) = press_pay(&buyer, &link, "buh@yookassa.example").await;
        front.double.answer(&onward(&html), "pay").await;
        assert_eq!(status_of(&front.app, &invoice).await, "Paid");
        invoice
    };
    let invoice = pay(&front).await;
    let guid = invoice["guid"].as_str().unwrap();
    let (status, body) = invoice_action(&front.app, guid, "refund", None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "Refunded");
    let refunds = front.double.seen("POST", "/v3/refunds");
    assert_eq!(refunds.len(), 1);
    let asked = &refunds[0].body;
    assert_eq!(asked["payment_id"], front.double.payments()[0]["id"]);
    assert_eq!(asked["amount"], front.double.payments()[0]["amount"]);
    assert_eq!(
        asked["receipt"]["customer"]["email"],
        "buh@yookassa.example"
    );
    assert_eq!(asked["receipt"]["items"][0]["vat_code"], 11);
    assert_eq!(front.double.refunds()[0]["status"], "succeeded");

    // A refund the bank refuses is no refund.
    let invoice = pay(&front).await;
    front.double.faults(|f| f.refuse_refunds = true);
    let guid = invoice["guid"].as_str().unwrap();
    let (status, body) = invoice_action(&front.app, guid, "refund", None).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(status_of(&front.app, &invoice).await, "Paid");
    front.app.stop().await;
}

async fn money_for_a_settled_invoice_goes_back(backend: Backend) {
    let front = shopfront(backend).await;
    let (link, invoice) = front.invoice().await;
    let buyer = buyer();
    let (_, html) = press_pay(&buyer, &link, "buh@yookassa.example").await;
    let confirmation = onward(&html);
    // Paid by bank transfer meanwhile, then the card payment completes too.
    let guid = invoice["guid"].as_str().unwrap();
    let (status, body) =
        invoice_action(&front.app, guid, "pay", Some(json!({"method": "transfer"}))).await;
    assert_eq!(status, 200, "{body}");
    let back = front.double.answer(&confirmation, "pay").await;
    let refunds = front.double.refunds();
    assert_eq!(refunds.len(), 1, "the card payment is given back");
    assert_eq!(refunds[0]["payment_id"], front.double.payments()[0]["id"]);
    let payments = stored_payments(&front.app, &invoice).await;
    assert_eq!(payments.len(), 1);
    assert_eq!(payments[0].0, "transfer");
    let html = page(&buyer, &back).await;
    assert!(html.contains("деньги возвращены на карту"), "{html}");
    // YooKassa's notification again: nothing more is given back.
    front.double.faults(|f| f.notify_twice = true);
    let notice = json!({"type": "notification", "event": "payment.succeeded",
        "object": {"id": front.double.payments()[0]["id"]}});
    let (status, _) = read(
        front
            .app
            .request(Method::POST, "/payments/callback/yookassa", None)
            .json(&notice)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(front.double.refunds().len(), 1);
    front.app.stop().await;
}

both_backends!(
    a_card_payment_goes_through_yookassa,
    faults_never_pay_twice,
    a_declined_payment_can_be_tried_again,
    notifications_are_checked_with_the_api,
    refunds_go_back_through_yookassa,
    money_for_a_settled_invoice_goes_back,
);
