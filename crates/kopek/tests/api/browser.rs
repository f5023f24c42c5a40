//! A real browser (Debian's headless Chromium, through chromedriver) pays an
//! invoice by clicking, the way a buyer would. Each page is saved as a screenshot
//! in the folder the test names in its output.

use crate::both_backends;
use crate::harness::{Backend, TestApp, have};
use crate::lifepos::{START_PLAN, START_PRODUCT, create, seed_request};
use crate::pages::invoice_app;
use fantoccini::{Client, ClientBuilder, Locator};
// chromedriver speaks plain HTTP on loopback: no TLS stack needed.
use hyper_util::client::legacy::connect::HttpConnector;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Browser {
    client: Client,
    driver: Child,
    shots: PathBuf,
    _profile: tempfile::TempDir,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Browser {
    async fn start(name: &str) -> Option<Browser> {
        if !have("chromedriver") || !have("chromium") {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".to_owned(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                    "--disable-background-networking", "--disable-component-update", "--disable-sync",
                    "--disable-dev-shm-usage", "--window-size=1000,1100", "--lang=ru-RU",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
                "prefs": {"intl.accept_languages": "ru-RU,ru"}
            }),
        );
        let url = format!("http://127.0.0.1:{port}");
        let mut client = None;
        for _ in 0..100 {
            match ClientBuilder::new(HttpConnector::new())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => {
                    client = Some(c);
                    break;
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join("screenshots")
            .join(name);
        std::fs::create_dir_all(&shots).unwrap();
        eprintln!("screenshots of the pages: {}", shots.display());
        Some(Browser {
            client: client.expect("chromedriver answers"),
            driver,
            shots,
            _profile: profile,
        })
    }

    async fn shot(&self, name: &str) {
        let png = self.client.screenshot().await.unwrap();
        std::fs::write(self.shots.join(format!("{name}.png")), png).unwrap();
    }

    /// The page's text once it shows `needle` (a click navigates; the new page
    /// may still be loading).
    async fn wait_for(&self, needle: &str) -> String {
        let mut last = String::new();
        for _ in 0..100 {
            if let Ok(body) = self.client.find(Locator::Css("body")).await
                && let Ok(text) = body.text().await
            {
                if text.contains(needle) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the page never showed {needle:?}; it shows: {last}");
    }

    async fn pay_with(&self, card: &str) {
        for (name, value) in [("card_number", card), ("expiry", "12/30"), ("cvc", "123")] {
            let input = self
                .client
                .find(Locator::Css(&format!("input[name={name}]")))
                .await
                .unwrap();
            input.send_keys(value).await.unwrap();
        }
        self.client
            .find(Locator::Css("form.card button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
}

async fn invoice_status(app: &TestApp, invoice: &Value) -> String {
    let (_, got) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/invoices/{}", invoice["guid"].as_str().unwrap()),
            None,
        )
        .await;
    got["status"].as_str().unwrap().to_owned()
}

async fn a_buyer_pays_by_card_in_a_real_browser(backend: Backend) {
    let Some(browser) = Browser::start(&format!("{backend:?}").to_lowercase()).await else {
        return;
    };
    let (app, invoice) = invoice_app(backend, None).await;
    let card_link = invoice["payment_by_card_link"].as_str().unwrap();

    browser.client.goto(card_link).await.unwrap();
    let page = browser.wait_for("Ожидает оплаты").await;
    assert!(page.contains("7707083893"), "{page}");
    browser.shot("1-invoice-pending").await;

    // The decline card leaves the invoice Pending, with a clear message.
    browser.pay_with("4000 0000 0000 0002").await;
    browser.wait_for("Банк отклонил платёж").await;
    browser.shot("2-card-declined").await;
    assert_eq!(invoice_status(&app, &invoice).await, "Pending");

    // The success card pays it: the page says Paid and shows a receipt.
    browser.pay_with("4242 4242 4242 4242").await;
    let page = browser.wait_for("Квитанция").await;
    assert!(page.contains("Оплачен"), "{page}");
    browser.shot("3-invoice-paid").await;

    // The API agrees, and the license is extended.
    assert_eq!(invoice_status(&app, &invoice).await, "Paid");
    let org = invoice["company"]["id"].as_str().unwrap();
    let (_, org_key) = app.key("organization", Some(org)).await;
    let (_, products) = crate::harness::read(
        crate::lifepos::lp(
            &app,
            Method::GET,
            &format!("/orgs/{org}/profile/subscriptions/products"),
            &org_key,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    let product = products["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["guid"] == START_PRODUCT)
        .unwrap();
    assert_eq!(product["acquired_license"]["quantity"], 2, "{product}");

    // A card that asks for confirmation: confirm on the bank's (test) page.
    let shop = crate::lifepos::Shop {
        org: org.to_owned(),
        token: org_key.clone(),
    };
    let (_, second) = create(&app, &shop, seed_request(START_PLAN, 1, 1, org)).await;
    browser
        .client
        .goto(second["payment_by_card_link"].as_str().unwrap())
        .await
        .unwrap();
    browser.pay_with("4000 0000 0000 3220").await;
    browser.wait_for("Подтвердите платёж").await;
    browser.shot("4-confirmation-step").await;
    browser
        .client
        .find(Locator::Css("button[value=confirm]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for("Оплачен").await;
    assert_eq!(invoice_status(&app, &second).await, "Paid");

    // The printable bank-transfer invoice.
    browser
        .client
        .goto(invoice["payment_by_transaction_link"].as_str().unwrap())
        .await
        .unwrap();
    browser.wait_for("Счёт на оплату").await;
    browser.shot("5-bank-transfer-invoice").await;
    // The payment QR code as the browser draws it reads back, every field right.
    if let Some(text) =
        crate::harness::qr_in_png(&browser.shots.join("5-bank-transfer-invoice.png"))
    {
        assert_eq!(
            crate::pages::payment_fields(&text),
            crate::pages::expected_payment_fields(&invoice),
            "{text}"
        );
    }

    // The invitation page, in the same look, accepted by clicking.
    let reseller = app.reseller("Партнёр").await;
    let (_, reseller_key) = app.key("reseller", Some(&reseller)).await;
    let (status, _) = crate::harness::read(
        app.request(Method::POST, "/billing/v1/customers:invite", Some(&reseller_key))
            .json(&json!({"resellerId": reseller, "name": "Ромашка", "invitationEmail": "owner@romashka.example", "person": {}}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    let link = invitation_link(&app).await;
    browser.client.goto(&link).await.unwrap();
    browser.wait_for("Партнёр").await;
    browser.shot("6-invitation").await;
    browser
        .client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for("Приглашение принято").await;
    browser.shot("7-invitation-accepted").await;
    browser.client.clone().close().await.unwrap();
}

/// With YooKassa taking cards: the buyer presses Pay, Chromium follows on to
/// YooKassa's page (the double's), pays there and comes back to the invoice paid.
async fn a_buyer_pays_through_yookassa_in_a_real_browser(backend: Backend) {
    let name = format!("{backend:?}-yookassa").to_lowercase();
    let Some(browser) = Browser::start(&name).await else {
        return;
    };
    let front = crate::yookassa::shopfront(backend).await;
    let (link, invoice) = front.invoice().await;
    browser.client.goto(&link).await.unwrap();
    browser.wait_for("Оплатить картой").await;
    browser.shot("1-invoice-with-yookassa").await;
    browser
        .client
        .find(Locator::Css("form.card button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    // The onward page moves on by itself to YooKassa's page.
    browser.wait_for("ЮKassa, тестовый магазин").await;
    browser.shot("2-yookassa-page").await;
    browser
        .client
        .find(Locator::Css("#pay"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let page = browser.wait_for("Оплачен").await;
    assert!(page.contains("yookassa"), "{page}");
    browser.shot("3-paid-through-yookassa").await;
    assert_eq!(invoice_status(&front.app, &invoice).await, "Paid");
    assert_eq!(front.double.payments().len(), 1);
    browser.client.clone().close().await.unwrap();
}

/// The accept link from the invitation mail the server wrote as a file.
async fn invitation_link(app: &TestApp) -> String {
    let raw = crate::customers::wait_for_eml(app, 1).await[0]
        .replace("=\r\n", "")
        .replace("=\n", "");
    let start = raw.find("http://").unwrap();
    raw[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ":/._-".contains(*c))
        .collect()
}

both_backends!(
    a_buyer_pays_by_card_in_a_real_browser,
    a_buyer_pays_through_yookassa_in_a_real_browser
);

/// The API reference at `/docs` renders in a browser from the served document,
/// with the operations of every family.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_renders() {
    let Some(browser) = Browser::start("docs").await else {
        return;
    };
    let app = TestApp::spawn(Backend::Sqlite).await;
    browser
        .client
        .goto(&format!("{}/docs", app.base))
        .await
        .unwrap();
    let text = browser.wait_for("/billing/v1/customers:invite").await;
    for needle in [
        "Kopek",
        "/orgs/{org_guid}/profile/subscriptions/products/{product_guid}:create-invoice",
        "/api/v1/billing/user/manage",
        "/admin/v1/invoices/{guid}:refund",
    ] {
        assert!(text.contains(needle), "{needle} missing from {text}");
    }
    browser.shot("docs").await;
}

impl Browser {
    /// The page at desktop width, then at a phone's.
    async fn shots(&self, name: &str) {
        self.shot(&format!("{name}-desktop")).await;
        self.client.set_window_size(390, 844).await.unwrap();
        self.shot(&format!("{name}-phone")).await;
        self.client.set_window_size(1000, 1100).await.unwrap();
    }

    async fn fill(&self, field: &str, value: &str) {
        let input = self
            .client
            .find(Locator::Css(&format!("input[name={field}]")))
            .await
            .unwrap();
        input.clear().await.unwrap();
        input.send_keys(value).await.unwrap();
    }

    async fn click_link(&self, text: &str) {
        self.client
            .find(Locator::LinkText(text))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    async fn click(&self, css: &str) {
        self.client
            .find(Locator::Css(css))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
}

/// An operator works the console by clicking: sets a password through the setup
/// link, signs in, finds an organization by INN, refunds an invoice through the
/// confirmation step, revokes a key and reads the audit log; a `support`
/// operator then sees the invoice without its actions. Every page is saved at
/// desktop and phone widths.
async fn an_operator_works_the_console_in_a_real_browser(backend: Backend) {
    let name = format!("console-{backend:?}").to_lowercase();
    let Some(browser) = Browser::start(&name).await else {
        return;
    };
    let (app, invoice) = invoice_app(backend, None).await;
    let guid = invoice["guid"].as_str().unwrap();
    let (status, paid) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/invoices/{guid}:pay"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{paid}");
    let (key, token) = app.key("integration", None).await;
    let (status, user) =
        crate::users::send(&app, Method::POST, &token, crate::users::seed_body()).await;
    assert_eq!(status, 200, "{user}");
    // An endpoint nobody listens at: its deliveries fail and are retried.
    let (status, hook) = app
        .admin(
            Method::POST,
            "/admin/v1/webhook-endpoints",
            Some(serde_json::json!({"url": "http://127.0.0.1:9/hooks", "description": "склад"})),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let (reseller, _, partner) = crate::customers::reseller_with_key(&app, "Партнёр").await;
    crate::customers::invited(&app, &partner, &reseller).await;
    let setup = |email: &str, role: &str| {
        let made = crate::cli::kopek(
            &app,
            &["operator", "create", "--email", email, "--role", role],
        );
        assert!(
            made.status.success(),
            "{}",
            String::from_utf8_lossy(&made.stderr)
        );
        let link = String::from_utf8(made.stdout).unwrap();
        format!(
            "{}{}",
            app.base,
            &link.trim()[link.find("/console/").unwrap()..]
        )
    };

    browser
        .client
        .goto(&setup("admin@example.com", "admin"))
        .await
        .unwrap();
    browser.wait_for("admin@example.com").await;
    browser.fill("password", "a long enough password").await;
    browser.shots("01-setup").await;
    browser.click("form.card button").await;
    browser.wait_for("Войти").await;
    browser.fill("email", "admin@example.com").await;
    browser.fill("password", "a long enough password").await;
    browser.shots("02-sign-in").await;
    browser.click("form.card button").await;
    browser.wait_for("Оплачено по месяцам").await;
    browser.shots("03-overview").await;

    browser.click_link("Организации").await;
    browser.wait_for("ИНН, псевдоним или название").await;
    browser.fill("q", "7707083893").await;
    browser.click("form[method=get] button").await;
    let found = browser.wait_for("7707083893").await;
    assert!(!found.contains("Ничего не найдено"), "{found}");
    browser.shots("04-organizations").await;
    browser.click("td a[href^='/console/organizations/']").await;
    browser.wait_for("Эл. почта для счетов").await;
    browser.shots("04b-organization").await;
    browser
        .click(&format!("a[href='/console/invoices/{guid}']"))
        .await;
    browser.wait_for("Вернуть деньги").await;
    browser.shots("05-invoice").await;
    browser.click_link("Вернуть деньги").await;
    browser.wait_for("Подтвердить").await;
    browser.shots("06-refund-confirmation").await;
    browser.click("form[action$='/refund'] button").await;
    let refunded = browser.wait_for("Refunded").await;
    assert!(refunded.contains("invoice.refunded"), "{refunded}");
    browser.shots("07-invoice-refunded").await;
    assert_eq!(invoice_status(&app, &invoice).await, "Refunded");

    browser.click_link("API-ключи").await;
    browser.wait_for(&key).await;
    browser.shots("08-api-keys").await;
    browser.click(&format!("a[href$='/{key}/revoke']")).await;
    browser.wait_for("Отозвать ключ").await;
    browser.shots("09-revoke-confirmation").await;
    browser.click("form[action$='/revoke'] button").await;
    browser.wait_for("отозван").await;
    browser.shots("10-api-key-revoked").await;

    browser.click_link("Журнал аудита").await;
    let log = browser.wait_for("/refund").await;
    assert!(log.contains(&format!("/{key}/revoke")), "{log}");
    browser.shots("11-audit-log").await;

    browser.click_link("Счета").await;
    browser.wait_for("Выставлен с").await;
    browser.shots("13-invoices").await;
    browser.click_link("События").await;
    let events = browser.wait_for("invoice.refunded").await;
    assert!(events.contains("invoice.paid"), "{events}");
    browser.shots("14-events").await;
    browser.click_link("Пользователи").await;
    browser.wait_for("test@mail.com").await;
    browser.shots("15-users").await;
    browser.click_link("Заблокировать").await;
    browser.wait_for("Назад к пользователям").await;
    browser.shots("16-block-confirmation").await;
    browser.click("form[action$='/block'] button").await;
    browser.wait_for("Разблокировать").await;
    browser.click_link("Операторы").await;
    browser.wait_for("НОВЫЙ ОПЕРАТОР").await;
    browser.shots("17-operators").await;
    browser.click_link("English").await;
    browser.wait_for("NEW OPERATOR").await;
    browser.shots("18-operators-in-english").await;
    browser.click_link("Русский").await;
    browser.wait_for("НОВЫЙ ОПЕРАТОР").await;
    browser.click_link("Реселлеры").await;
    browser.wait_for("Партнёр").await;
    browser.shots("22-resellers").await;
    browser.click_link("Партнёр").await;
    browser.wait_for("owner@romashka.example").await;
    browser.shots("23-reseller-customers").await;
    browser.click_link("Каталог").await;
    browser.wait_for("ЗАГРУЗИТЬ НОВУЮ ВЕРСИЮ").await;
    browser.shots("26-catalog").await;
    browser.click_link("Вебхуки").await;
    browser.wait_for("склад").await;
    browser.shots("24-webhooks").await;
    browser.click("td a[href^='/console/webhooks/']").await;
    browser.wait_for("customer.invited").await;
    browser.shots("25-webhook-deliveries").await;

    // Signed out everywhere, then in as support: the invoice without its actions.
    browser.click("nav form button").await;
    browser.wait_for("Войти").await;
    browser
        .client
        .goto(&setup("support@example.com", "support"))
        .await
        .unwrap();
    browser.wait_for("support@example.com").await;
    browser.fill("password", "another long password").await;
    browser.click("form.card button").await;
    browser.wait_for("Войти").await;
    browser.fill("email", "support@example.com").await;
    browser.fill("password", "another long password").await;
    browser.click("form.card button").await;
    browser.wait_for("Обзор").await;
    browser
        .client
        .goto(&format!("{}/console/invoices/{guid}", app.base))
        .await
        .unwrap();
    let seen = browser.wait_for("invoice.refunded").await;
    assert!(
        !seen.contains("Отметить оплаченным") && !seen.contains("Вернуть деньги"),
        "{seen}"
    );
    browser.shots("12-invoice-as-support").await;

    // A form support posts by hand (made in the page, with the page's own
    // anti-forgery token): refused.
    browser.click_link("API-ключи").await;
    browser.wait_for(&key).await;
    browser
        .client
        .execute(
            "const f = document.createElement('form'); f.method = 'post'; \
             f.action = '/console/api-keys'; \
             for (const [n, v] of [['role', 'admin'], ['name', 'by hand'], \
                 ['csrf', document.querySelector('input[name=csrf]').value]]) { \
               const i = document.createElement('input'); i.name = n; i.value = v; f.appendChild(i); } \
             document.body.appendChild(f); f.submit();",
            vec![],
        )
        .await
        .unwrap();
    browser.wait_for("Нет прав").await;
    browser.shots("19-support-posting-by-hand").await;

    // A sign-in form whose anti-forgery token was taken out: refused.
    browser.click("nav form button").await;
    browser.wait_for("Войти").await;
    browser.fill("email", "support@example.com").await;
    browser.fill("password", "another long password").await;
    browser
        .client
        .execute(
            "document.querySelector('input[name=csrf]').remove();",
            vec![],
        )
        .await
        .unwrap();
    browser.click("form.card button").await;
    browser.wait_for("Форма устарела").await;
    browser.shots("20-forged-form").await;

    // Five wrong passwords lock the e-mail, the right one included.
    for _ in 0..5 {
        browser
            .client
            .goto(&format!("{}/console/sign-in", app.base))
            .await
            .unwrap();
        browser.wait_for("Войти").await;
        browser.fill("email", "support@example.com").await;
        browser.fill("password", "not the password").await;
        browser.click("form.card button").await;
        browser.wait_for("Неверн").await;
    }
    browser.fill("email", "support@example.com").await;
    browser.fill("password", "another long password").await;
    browser.click("form.card button").await;
    browser.wait_for("Слишком много запросов").await;
    browser.shots("21-locked").await;
}

both_backends!(an_operator_works_the_console_in_a_real_browser);
