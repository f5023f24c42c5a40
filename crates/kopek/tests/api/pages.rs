//! The pages people open, over plain HTTP: links, forms, anti-forgery, callbacks,
//! and the PDF's text.

use crate::both_backends;
use crate::harness::{Backend, TestApp, read};
use crate::lifepos::{START_PLAN, create, ready, seed_request};
use kopek_api::payments::callback::sign;
use reqwest::Method;
use serde_json::{Value, json};

pub const SELLER_INN: &str = "7704340310";

/// A server whose seller is configured, and an invoice on it.
pub async fn invoice_app(backend: Backend, callback_secret: Option<&str>) -> (TestApp, Value) {
    let secret = callback_secret.map(str::to_owned);
    let app = TestApp::spawn_with(
        backend,
        |c| {
            c.seller_name = "ООО «Копейка»".to_owned();
            c.seller_inn = SELLER_INN.to_owned();
            c.seller_kpp = "770401001".to_owned();
            c.seller_bank = "ПАО Сбербанк, г. Москва".to_owned();
            c.seller_bik = "044525225".to_owned();
            c.seller_account = "40702810938000000001".to_owned();
            c.seller_correspondent_account = "30101810400000000225".to_owned();
            c.payment_callback_secret = secret;
            // The console's browser test registers a webhook endpoint on this machine.
            c.webhook_allow_private = true;
        },
        |w| w,
    )
    .await;
    let shop = ready(&app, "pages").await;
    let (status, invoice) = create(&app, &shop, seed_request(START_PLAN, 2, 12, &shop.org)).await;
    assert_eq!(status, 201, "{invoice}");
    (app, invoice)
}

fn link(invoice: &Value, which: &str) -> String {
    invoice[which].as_str().unwrap().to_owned()
}

/// The invoice's status, as the operator reads it.
pub async fn status_of(app: &TestApp, invoice: &Value) -> String {
    let (_, got) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/invoices/{}", invoice["guid"].as_str().unwrap()),
            None,
        )
        .await;
    got["status"].as_str().unwrap().to_owned()
}

/// The invoice's payments as stored: method and reference each.
pub async fn stored_payments(app: &TestApp, invoice: &Value) -> Vec<(String, Option<String>)> {
    let guid = invoice["guid"].as_str().unwrap().into();
    let mut conn = app.store().conn().await.unwrap();
    kopek_store::invoices::payments_of(&mut conn, &guid)
        .await
        .unwrap()
        .into_iter()
        .map(|p| (p.method, p.reference))
        .collect()
}

/// A client that keeps cookies, as a browser does.
pub fn browser_like() -> reqwest::Client {
    reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    html[at..at + 32].to_owned()
}

async fn links_open_only_their_own_invoice(backend: Backend) {
    let (app, invoice) = invoice_app(backend, None).await;
    let card = link(&invoice, "payment_by_card_link");
    let page = app
        .client
        .get(&card)
        .header("accept-language", "ru-RU")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let headers = page.headers().clone();
    assert!(
        headers["content-security-policy"]
            .to_str()
            .unwrap()
            .contains("default-src 'none'")
    );
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    for needle in [
        "ООО «Копейка»",
        SELLER_INN,
        "ООО «pages»",
        "7707083893",
        "773601001",
        "НДС 22%",
        "19\u{a0}800,00\u{a0}₽",
        "Ожидает оплаты",
        "<form",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    assert!(!html.contains("<script"), "pages work without JavaScript");
    let english = app
        .client
        .get(&card)
        .header("accept-language", "en-US")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(english.contains("Awaiting payment") && english.contains("19,800.00 RUB"));

    let forged = card.replace("token=", "token=0");
    assert_eq!(app.client.get(&forged).send().await.unwrap().status(), 404);
    let other = card.replace(
        invoice["guid"].as_str().unwrap(),
        "00000000-0000-4000-8000-000000000000",
    );
    assert_eq!(app.client.get(&other).send().await.unwrap().status(), 404);
    let no_token = card.split('?').next().unwrap().to_owned();
    assert_eq!(
        app.client.get(&no_token).send().await.unwrap().status(),
        404
    );
}

async fn forms_refuse_forgery_and_closed_invoices(backend: Backend) {
    let (app, invoice) = invoice_app(backend, None).await;
    let card = link(&invoice, "payment_by_card_link");
    let form = [
        ("card_number", "4242424242424242"),
        ("expiry", "12/30"),
        ("cvc", "123"),
        ("csrf", "00000000000000000000000000000000"),
    ];
    // No cookie, a made-up token: refused, nothing paid.
    let forged = app.client.post(&card).form(&form).send().await.unwrap();
    assert_eq!(forged.status(), 403);
    // The real token but posted from another site: refused too.
    let browser = browser_like();
    let html = browser
        .get(&card)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&html);
    let mut good = form;
    good[3].1 = &csrf;
    let cross = browser
        .post(&card)
        .header("origin", "https://evil.example")
        .form(&good)
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    assert_eq!(status_of(&app, &invoice).await, "Pending");
    // A bad card number is said on the page.
    let mut bad = good;
    bad[0].1 = "4242424242424241";
    let response = browser.post(&card).form(&bad).send().await.unwrap();
    assert_eq!(response.status(), 422);
    assert!(
        response
            .text()
            .await
            .unwrap()
            .contains("card number is not valid")
    );
    // Canceled: no form, and a post cannot pay it.
    app.admin(
        Method::POST,
        &format!(
            "/admin/v1/invoices/{}:cancel",
            invoice["guid"].as_str().unwrap()
        ),
        None,
    )
    .await;
    let html = browser
        .get(&card)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(html.contains("canceled and cannot be paid") && !html.contains("<form"));
    let late = browser.post(&card).form(&good).send().await.unwrap();
    assert_eq!(late.status(), 409);
    assert_eq!(status_of(&app, &invoice).await, "Canceled");
}

async fn the_bank_transfer_invoice_as_html_and_pdf(backend: Backend) {
    let (app, invoice) = invoice_app(backend, None).await;
    let transfer = link(&invoice, "payment_by_transaction_link");
    let html = app
        .client
        .get(&transfer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for needle in [
        "Счёт на оплату №",
        "044525225",
        "40702810938000000001",
        "30101810400000000225",
        "ИНН 7707083893",
        "В том числе НДС (22%)",
        "Девятнадцать тысяч восемьсот рублей 00 копеек",
        "@page{size:A4",
    ] {
        assert!(html.contains(needle), "{needle} missing");
    }
    let pdf = app
        .client
        .get(format!("{transfer}&format=pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.headers()["content-type"], "application/pdf");
    let bytes = pdf.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF"));
    // Only the glyphs used are embedded: the whole fonts were 4 MB.
    assert!(
        bytes.len() < 100_000,
        "a one-page invoice is {} bytes",
        bytes.len()
    );
    // KOPEK_KEEP_PDF=1 keeps the PDF to look at (pdftoppm renders it to PNG).
    if std::env::var_os("KOPEK_KEEP_PDF").is_some() {
        std::fs::write(
            format!("{}/invoice-{backend:?}.pdf", env!("CARGO_TARGET_TMPDIR")),
            &bytes,
        )
        .unwrap();
    }
    let number = invoice["number"].as_str().unwrap();
    // The title as the HTML page gives it, shown as such by a PDF viewer.
    let title = html
        .split_once("<title>")
        .and_then(|(_, rest)| rest.split_once("</title>"))
        .map(|(t, _)| t.to_owned())
        .unwrap();
    assert!(
        title.starts_with(&format!("Счёт на оплату № {number} от ")),
        "{title}"
    );
    if let Some(info) = crate::harness::pdf_info(&bytes) {
        let shown = info
            .lines()
            .find_map(|l| l.strip_prefix("Title:"))
            .map(str::trim);
        assert_eq!(shown, Some(title.as_str()), "{info}");
        assert!(
            info.lines()
                .any(|l| l.split_whitespace().eq(["Pages:", "1"])),
            "{info}"
        );
    }
    let Some(text) = crate::harness::pdf_text(&bytes) else {
        return;
    };
    assert!(text.contains(number), "the number in {text}");
    assert!(text.contains("7707083893"), "the buyer's INN in {text}");
    assert!(text.contains("19 800,00"), "the total in {text}");
    assert!(
        text.contains("Девятнадцать тысяч восемьсот рублей"),
        "Cyrillic text in {text}"
    );
}

/// Without the seller's bank details there is no transfer invoice with dashes for
/// numbers: the page says which settings the operator must set, in both languages.
async fn a_transfer_invoice_needs_the_sellers_details(app: TestApp) {
    let shop = ready(&app, "no-seller").await;
    let (status, invoice) = create(&app, &shop, seed_request(START_PLAN, 1, 1, &shop.org)).await;
    assert_eq!(status, 201, "{invoice}");
    let transfer = link(&invoice, "payment_by_transaction_link");
    for (url, language, words) in [
        (transfer.clone(), "ru-RU", "Реквизиты для оплаты не заданы"),
        (
            format!("{transfer}&format=pdf"),
            "en-US",
            "Bank details are not set up",
        ),
    ] {
        let response = app
            .client
            .get(&url)
            .header("accept-language", language)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 503);
        let html = response.text().await.unwrap();
        assert!(html.contains(words), "{html}");
        for setting in [
            "KOPEK_SELLER_NAME",
            "KOPEK_SELLER_INN",
            "KOPEK_SELLER_BANK",
            "KOPEK_SELLER_BIK",
            "KOPEK_SELLER_ACCOUNT",
            "KOPEK_SELLER_CORRESPONDENT_ACCOUNT",
        ] {
            assert!(html.contains(setting), "{setting} missing from {html}");
        }
        assert!(!html.contains("БИК"), "no half-filled document: {html}");
    }
    assert!(
        crate::harness::logs().contains("bank-transfer invoices say they cannot be paid"),
        "the start-up log names the missing settings"
    );
}

/// The anonymous endpoints read at most 1 MiB, like the API: the payment callback
/// and both page forms refuse a larger body with 413 before reading it whole.
async fn anonymous_bodies_are_bounded(backend: Backend) {
    let (app, invoice) = invoice_app(backend, Some("bounded-secret")).await;
    let card = link(&invoice, "payment_by_card_link");
    let confirm = card.replace("/pay?", "/confirm?");
    // Just over the limit, so the whole body is sent before the answer comes.
    let big = vec![b'a'; kopek_api::body::MAX_BODY_BYTES + 4096];
    for (url, content_type) in [
        (
            format!("{}/payments/callback/test", app.base),
            "application/json",
        ),
        (card, "application/x-www-form-urlencoded"),
        (confirm, "application/x-www-form-urlencoded"),
    ] {
        let response = app
            .client
            .post(&url)
            .header("content-type", content_type)
            .body(big.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 413, "{url}");
    }
    assert_eq!(status_of(&app, &invoice).await, "Pending");
}

async fn signed_provider_callbacks(backend: Backend) {
    let (app, invoice) = invoice_app(backend, Some("whsec_test")).await;
    let body =
        json!({"invoice_guid": invoice["guid"], "reference": "yk-2f8a", "status": "succeeded"})
            .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let post = |signature: String| {
        app.client
            .post(format!("{}/payments/callback/yookassa", app.base))
            .header("x-kopek-signature", signature)
            .header("content-type", "application/json")
            .body(body.clone())
            .send()
    };
    assert_eq!(
        post(sign(b"wrong", now, body.as_bytes()))
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(
        post(sign(b"whsec_test", now - 3600, body.as_bytes()))
            .await
            .unwrap()
            .status(),
        401,
        "stale"
    );
    assert_eq!(status_of(&app, &invoice).await, "Pending");
    let (status, answer) = read(
        post(sign(b"whsec_test", now, body.as_bytes()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, answer["status"].as_str()), (200, Some("Paid")));
    let (status, again) = read(
        post(sign(b"whsec_test", now, body.as_bytes()))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, again["status"].as_str()),
        (200, Some("unchanged")),
        "a retried callback pays once"
    );
    let payments: i64 = sqlx::query_scalar(
        "SELECT CAST(COUNT(*) AS BIGINT) FROM payments WHERE method = 'yookassa'",
    )
    .fetch_one(app.store().pool())
    .await
    .unwrap();
    assert_eq!(payments, 1);
    // Without a configured secret there is no callback endpoint at all.
    let (plain, _) = invoice_app(backend, None).await;
    let response = plain
        .client
        .post(format!("{}/payments/callback/test", plain.base))
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

/// The fields of a GOST R 56042-2014 payment text, after its header
/// (`ST00012` and the separator).
pub fn payment_fields(text: &str) -> Vec<(String, String)> {
    assert!(text.starts_with("ST00012"), "{text}");
    let separator = text[7..].chars().next().unwrap();
    text[8..]
        .split(separator)
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap();
            (k.to_owned(), v.to_owned())
        })
        .collect()
}

/// What the payment QR code of this test's invoice must say, field by field.
pub fn expected_payment_fields(invoice: &Value) -> Vec<(String, String)> {
    let total = invoice["total_sum"]["value"].as_i64().unwrap();
    let vat = invoice["meta_data"]["vat"]["sum"]["value"]
        .as_i64()
        .unwrap();
    let created = &invoice["created_at"].as_str().unwrap()[..10];
    let (y, rest) = created.split_once('-').unwrap();
    let (m, d) = rest.split_once('-').unwrap();
    [
        ("Name", "ООО «Копейка»".to_owned()),
        ("PersonalAcc", "40702810938000000001".to_owned()),
        ("BankName", "ПАО Сбербанк, г. Москва".to_owned()),
        ("BIC", "044525225".to_owned()),
        ("CorrespAcc", "30101810400000000225".to_owned()),
        ("PayeeINN", SELLER_INN.to_owned()),
        ("KPP", "770401001".to_owned()),
        ("Sum", total.to_string()),
        (
            "Purpose",
            format!(
                "Оплата по счёту № {} от {d}.{m}.{y}, в т.ч. НДС 22% {}.{:02} руб.",
                invoice["number"].as_str().unwrap(),
                vat / 100,
                vat % 100
            ),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The QR code on the PDF, read back by a real decoder, says every field right.
async fn the_payment_qr_code_reads_back(backend: Backend) {
    let (app, invoice) = invoice_app(backend, None).await;
    let transfer = link(&invoice, "payment_by_transaction_link");
    let html = app
        .client
        .get(&transfer)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains("<svg") && html.contains("Оплата по QR-коду"),
        "{html}"
    );
    let pdf = app
        .client
        .get(format!("{transfer}&format=pdf"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    if let Some(text) = crate::harness::qr_in_pdf(&pdf) {
        assert_eq!(
            payment_fields(&text),
            expected_payment_fields(&invoice),
            "{text}"
        );
    }
}

both_backends!(
    links_open_only_their_own_invoice,
    forms_refuse_forgery_and_closed_invoices,
    the_bank_transfer_invoice_as_html_and_pdf,
    the_payment_qr_code_reads_back,
    signed_provider_callbacks,
    a_transfer_invoice_needs_the_sellers_details,
    anonymous_bodies_are_bounded,
);
