//! The operator console over HTTP, as a browser uses it: an operator made on the
//! command line sets a password through the setup link, signs in, finds an
//! organization by INN and signs out everywhere; five wrong passwords lock the
//! e-mail; a form without the anti-forgery token is refused.

use crate::both_backends;
use crate::cli::kopek;
use crate::harness::{Backend, TestApp, read};
use crate::lifepos::{create_request, ready, shop};
use crate::pages::{browser_like, csrf_of};
use crate::subscriptions::{at, invoice_action, move_clock};
use kopek_domain::time::Timestamp;
use reqwest::Method;
use reqwest::header::{LOCATION, SET_COOKIE};
use serde_json::json;
use time::Date;

both_backends!(
    an_operator_sets_up_signs_in_finds_by_inn_and_signs_out,
    five_wrong_passwords_lock_and_forged_forms_are_refused,
    an_admin_pays_and_refunds_with_a_confirmation_and_support_cannot,
    an_admin_creates_and_revokes_a_key_and_support_cannot,
    the_overview_charts_equal_sums_in_sql,
    invoices_of_every_organization_are_filtered_and_paged,
    an_admin_blocks_and_unblocks_a_user_and_support_cannot,
    the_language_is_the_browsers_until_switched,
    an_admin_adds_and_disables_operators_and_support_cannot,
    an_admin_manages_a_resellers_customers_and_support_cannot,
    an_admin_loads_a_catalog_version_with_errors_shown_inline,
);

/// Makes an operator on the command line and returns the setup link's path.
fn create_operator(app: &TestApp, email: &str, role: &str) -> String {
    let made = kopek(
        app,
        &["operator", "create", "--email", email, "--role", role],
    );
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    let link = String::from_utf8(made.stdout).unwrap().trim().to_owned();
    let path = &link[link.find("/console/setup?token=").expect(&link)..];
    path.to_owned()
}

pub async fn page(app: &TestApp, client: &reqwest::Client, path: &str) -> (u16, String) {
    let response = client
        .get(format!("{}{path}", app.base))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

pub async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    form: &[(&str, &str)],
) -> reqwest::Response {
    client
        .post(format!("{}{path}", app.base))
        .form(form)
        .send()
        .await
        .unwrap()
}

async fn set_up(app: &TestApp, client: &reqwest::Client, link: &str, password: &str) {
    let (status, html) = page(app, client, link).await;
    assert_eq!(status, 200, "{html}");
    let token = &link[link.find("token=").unwrap() + 6..];
    let done = post(
        app,
        client,
        "/console/setup",
        &[
            ("csrf", &csrf_of(&html)),
            ("token", token),
            ("password", password),
        ],
    )
    .await;
    let status = done.status().as_u16();
    assert_eq!(status, 303, "{}", done.text().await.unwrap());
}

async fn sign_in(
    app: &TestApp,
    client: &reqwest::Client,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let (_, html) = page(app, client, "/console/sign-in").await;
    post(
        app,
        client,
        "/console/sign-in",
        &[
            ("csrf", &csrf_of(&html)),
            ("email", email),
            ("password", password),
        ],
    )
    .await
}

async fn organization(app: &TestApp, alias: &str, name: &str, inn: &str, kpp: &str) {
    let (status, body) = app
        .admin(
            Method::POST,
            "/admin/v1/organizations",
            Some(json!({"alias": alias, "company": {"name": name, "inn": inn, "kpp": kpp}})),
        )
        .await;
    assert_eq!(status, 201, "{body}");
}

async fn an_operator_sets_up_signs_in_finds_by_inn_and_signs_out(app: TestApp) {
    organization(&app, "yandex", "ООО «Яндекс»", "7736207543", "770401001").await;
    organization(&app, "sber", "ПАО «Сбербанк»", "7707083893", "773601001").await;
    let link = create_operator(&app, "ops@example.com", "admin");
    let browser = browser_like();

    // Not signed in: every console page sends the browser to sign in.
    let (status, _) = page(&app, &browser, "/console/organizations").await;
    assert_eq!(status, 303);

    set_up(&app, &browser, &link, "a long enough password").await;
    // The link works once.
    let (status, _) = page(&app, &browser, &link).await;
    assert_eq!(status, 404);

    let signed = sign_in(&app, &browser, "OPS@example.com", "a long enough password").await;
    assert_eq!(signed.status().as_u16(), 303);
    assert_eq!(signed.headers()[LOCATION], "/console/overview");
    let cookie = signed
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|v| v.starts_with("kopek_console="))
        .expect("a session cookie")
        .to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/console"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }

    let (status, html) = page(&app, &browser, "/console/organizations?q=7736207543").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("Яндекс") && !html.contains("Сбербанк"),
        "{html}"
    );
    assert!(html.contains("ops@example.com"), "{html}");
    let (_, html) = page(
        &app,
        &browser,
        "/console/organizations?q=%D0%A1%D0%B1%D0%B5%D1%80",
    )
    .await;
    assert!(
        html.contains("Сбербанк") && !html.contains("Яндекс"),
        "{html}"
    );
    let (_, html) = page(&app, &browser, "/console/organizations?q=nobody").await;
    assert!(
        html.contains("Nothing found") || html.contains("Ничего не найдено"),
        "{html}"
    );

    // A second browser of the same operator; signing out in the first ends both.
    let other = browser_like();
    assert_eq!(
        sign_in(&app, &other, "ops@example.com", "a long enough password")
            .await
            .status()
            .as_u16(),
        303
    );
    assert_eq!(page(&app, &other, "/console/organizations").await.0, 200);
    let (_, html) = page(&app, &browser, "/console/organizations").await;
    let out = post(
        &app,
        &browser,
        "/console/sign-out",
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(out.status().as_u16(), 303);
    assert_eq!(page(&app, &browser, "/console/organizations").await.0, 303);
    assert_eq!(page(&app, &other, "/console/organizations").await.0, 303);
}

async fn five_wrong_passwords_lock_and_forged_forms_are_refused(app: TestApp) {
    let link = create_operator(&app, "support@example.com", "support");
    let browser = browser_like();
    set_up(&app, &browser, &link, "the right password").await;

    for _ in 0..5 {
        let refused = sign_in(&app, &browser, "support@example.com", "a wrong password").await;
        assert_eq!(refused.status().as_u16(), 401);
    }
    let locked = sign_in(&app, &browser, "support@example.com", "the right password").await;
    assert_eq!(locked.status().as_u16(), 429);
    assert!(locked.headers().contains_key("retry-after"));

    // A form posted without the token, as from another site: refused, whatever
    // the credentials.
    let other = browser_like();
    let forged = post(
        &app,
        &other,
        "/console/sign-in",
        &[
            ("email", "support@example.com"),
            ("password", "the right password"),
        ],
    )
    .await;
    assert_eq!(forged.status().as_u16(), 403);
    let forged = post(
        &app,
        &other,
        "/console/sign-in",
        &[
            ("csrf", "00000000000000000000000000000000"),
            ("email", "support@example.com"),
            ("password", "the right password"),
        ],
    )
    .await;
    assert_eq!(forged.status().as_u16(), 403);

    // The same e-mail twice is refused on the command line.
    let again = kopek(
        &app,
        &[
            "operator",
            "create",
            "--email",
            "SUPPORT@example.com",
            "--role",
            "admin",
        ],
    );
    assert!(!again.status.success());
}

/// An operator signed in in a browser of its own.
pub async fn signed_in(app: &TestApp, email: &str, role: &str) -> reqwest::Client {
    let link = create_operator(app, email, role);
    let browser = browser_like();
    set_up(app, &browser, &link, "a long enough password").await;
    let signed = sign_in(app, &browser, email, "a long enough password").await;
    assert_eq!(signed.status().as_u16(), 303);
    browser
}

async fn an_admin_pays_and_refunds_with_a_confirmation_and_support_cannot(app: TestApp) {
    let shop = ready(&app, "console-shop").await;
    let (status, created) = read(create_request(&app, &shop, 1).send().await.unwrap()).await;
    assert_eq!(status, 201, "{created}");
    let guid = created["guid"].as_str().unwrap().to_owned();
    let invoice = format!("/console/invoices/{guid}");
    let admin = signed_in(&app, "admin@example.com", "admin").await;
    let support = signed_in(&app, "support@example.com", "support").await;

    // The organization's page lists the invoice and links to it.
    let (status, html) = page(
        &app,
        &support,
        &format!("/console/organizations/{}", shop.org),
    )
    .await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(&format!("href=\"{invoice}\"")), "{html}");
    assert!(html.contains(created["number"].as_str().unwrap()), "{html}");
    let (status, _) = page(&app, &support, "/console/organizations/no-such-org").await;
    assert_eq!(status, 404);

    // Support reads the invoice and sees no action; a form posted by hand is refused.
    let (status, html) = page(&app, &support, &invoice).await;
    assert_eq!(status, 200, "{html}");
    assert!(html.contains(created["number"].as_str().unwrap()), "{html}");
    assert!(!html.contains(&format!("{invoice}/pay")), "{html}");
    // The invoice's own links, as the buyer got them, open its pages.
    for kind in ["card", "transfer"] {
        let at = html.find(&format!("data-link=\"{kind}\"")).expect(&html);
        let href = html[..at].rfind("href=\"").unwrap() + 6;
        let link = html[href..href + html[href..].find('"').unwrap()].replace("&amp;", "&");
        assert!(link.contains(&format!("/invoices/{guid}/")), "{link}");
        // The bank-transfer page needs the seller's bank details, not set here.
        let opened = app.client.get(&link).send().await.unwrap().status();
        let expected = if kind == "card" { 200 } else { 503 };
        assert_eq!(opened.as_u16(), expected, "{link}");
    }
    assert_eq!(page(&app, &support, &format!("{invoice}/pay")).await.0, 403);
    let by_hand = post(
        &app,
        &support,
        &format!("{invoice}/pay"),
        &[("csrf", &csrf_of(&html))],
    )
    .await;
    assert_eq!(by_hand.status().as_u16(), 403);
    let said = by_hand.text().await.unwrap();
    assert!(
        said.contains("(support)"),
        "refused for its role, not its form: {said}"
    );

    // The admin pays it, then refunds it, each through its confirmation page.
    let (_, html) = page(&app, &admin, &invoice).await;
    assert!(html.contains(&format!("{invoice}/pay")), "{html}");
    assert!(!html.contains(&format!("{invoice}/refund")), "{html}");
    for action in ["pay", "refund"] {
        let (status, confirmation) = page(&app, &admin, &format!("{invoice}/{action}")).await;
        assert_eq!(status, 200, "{confirmation}");
        let done = post(
            &app,
            &admin,
            &format!("{invoice}/{action}"),
            &[("csrf", &csrf_of(&confirmation))],
        )
        .await;
        assert_eq!(done.status().as_u16(), 303);
        assert_eq!(done.headers()[LOCATION], invoice.as_str());
        if action == "pay" {
            let org = format!("/console/organizations/{}", shop.org);
            let (_, html) = page(&app, &admin, &org).await;
            assert!(
                html.contains("data-license="),
                "the license paid for: {html}"
            );
        }
    }
    let (_, html) = page(&app, &admin, &invoice).await;
    assert!(html.contains("status-Refunded"), "{html}");
    assert!(
        html.contains("invoice.paid") && html.contains("invoice.refunded"),
        "{html}"
    );
    // Refunded: nothing more to do, and a second refund is refused.
    assert_eq!(
        page(&app, &admin, &format!("{invoice}/refund")).await.0,
        409
    );

    // Support's attempt changed nothing, and the admin's actions are audited as theirs.
    let (_, api) = app
        .admin(Method::GET, &format!("/admin/v1/invoices/{guid}"), None)
        .await;
    assert_eq!(api["status"], "Refunded");
    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let entries = kopek_store::audit::newest(&mut conn, None, &Default::default(), 10)
        .await
        .unwrap();
    let refund = &entries[0];
    assert_eq!(refund.action, format!("POST {invoice}/refund"));
    assert!(refund.actor.starts_with("opr"), "{refund:?}");
    assert_eq!(refund.address.as_deref(), Some("127.0.0.1"));
    assert!(refund.before_state.as_deref().unwrap().contains("\"Paid\""));
    assert!(
        refund
            .after_state
            .as_deref()
            .unwrap()
            .contains("\"Refunded\"")
    );
    assert_eq!(entries[1].action, format!("POST {invoice}/pay"));
    assert!(
        entries[2..]
            .iter()
            .all(|e| !e.action.starts_with("POST /console"))
    );
}

async fn an_admin_creates_and_revokes_a_key_and_support_cannot(app: TestApp) {
    let admin = signed_in(&app, "keys@example.com", "admin").await;
    let support = signed_in(&app, "reader@example.com", "support").await;

    let (status, html) = page(&app, &admin, "/console/api-keys").await;
    assert_eq!(status, 200, "{html}");
    let created = post(
        &app,
        &admin,
        "/console/api-keys",
        &[
            ("csrf", &csrf_of(&html)),
            ("role", "admin"),
            ("name", "from the console"),
        ],
    )
    .await;
    assert_eq!(created.status().as_u16(), 201);
    let html = created.text().await.unwrap();
    let at = html.find("<code>kpk_").expect("the token on the page") + 6;
    let token = html[at..at + html[at..].find('<').unwrap()].to_owned();
    let list_with = |token: &str| {
        app.request(Method::GET, "/admin/v1/api-keys", Some(token))
            .send()
    };
    assert_eq!(list_with(&token).await.unwrap().status().as_u16(), 200);
    let (_, listed) = page(&app, &admin, "/console/api-keys").await;
    assert!(
        listed.contains("from the console") && !listed.contains(&token),
        "{listed}"
    );

    // Support sees the keys and no way to change them; by hand it is refused.
    let (_, seen) = page(&app, &support, "/console/api-keys").await;
    assert!(seen.contains("from the console"), "{seen}");
    assert!(
        !seen.contains("/revoke") && !seen.contains("name=\"role\""),
        "{seen}"
    );
    let by_hand = post(
        &app,
        &support,
        "/console/api-keys",
        &[("csrf", &csrf_of(&seen)), ("role", "admin")],
    )
    .await;
    assert_eq!(by_hand.status().as_u16(), 403);

    // Revoked through its confirmation page: the token stops working at once.
    let at = listed.find("/console/api-keys/").unwrap();
    let revoke = &listed[at..at + listed[at..].find('"').unwrap()];
    let (status, confirmation) = page(&app, &admin, revoke).await;
    assert_eq!(status, 200, "{confirmation}");
    let done = post(&app, &admin, revoke, &[("csrf", &csrf_of(&confirmation))]).await;
    assert_eq!(done.status().as_u16(), 303);
    assert_eq!(list_with(&token).await.unwrap().status().as_u16(), 401);

    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let entries = kopek_store::audit::newest(&mut conn, None, &Default::default(), 10)
        .await
        .unwrap();
    assert_eq!(entries[0].action, format!("POST {revoke}"));
    assert_eq!(entries[1].action, "POST /console/api-keys");
    assert!(entries[1].actor.starts_with("opr"));
    let after = entries[1].after_state.as_deref().unwrap();
    assert!(
        after.contains("\"token\":null") && !after.contains(&token),
        "{after}"
    );

    // The console's audit page, filtered by action and by actor, read by support.
    let (status, html) = page(&app, &support, "/console/audit?action=revoke").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains(revoke) && !html.contains("POST /console/api-keys<"),
        "{html}"
    );
    let actor = &entries[0].actor;
    let (_, html) = page(&app, &support, &format!("/console/audit?actor={actor}")).await;
    assert!(
        html.contains(revoke) && html.contains("POST /console/api-keys<"),
        "{html}"
    );
    let (_, html) = page(&app, &support, "/console/audit?actor=nobody").await;
    assert!(!html.contains(revoke), "{html}");
}

/// The value a chart's bar carries.
fn bar(html: &str, series: &str, key: &str) -> i64 {
    let marker = format!("data-series=\"{series}\" data-key=\"{key}\" data-value=\"");
    let at = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no bar {series} {key}"))
        + marker.len();
    html[at..at + html[at..].find('"').unwrap()]
        .parse()
        .unwrap()
}

/// Each chart's bar for `today` and its month equals a sum in SQL over the same
/// data; the recurring revenue counts each day's paid groups whose period covers
/// this month.
async fn assert_charts_match_sql(app: &TestApp, html: &str, now: Timestamp, days: &[Date]) {
    let today = now.date();
    let month = today.replace_day(1).unwrap();
    let start_of = |d: Date| Timestamp::from_datetime(d.midnight().assume_utc());
    let month_key = format!("{:04}-{:02}", month.year(), u8::from(month.month()));
    let pool = app.store().pool();
    let sum = |from: Timestamp, to: Timestamp| {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT CAST(SUM(amount) AS BIGINT) FROM payments \
             WHERE currency = 'RUB' AND created_at >= $1 AND created_at < $2",
        )
        .bind(from.micros())
        .bind(to.micros())
        .fetch_one(pool)
    };
    let count = |column: &'static str, since: Timestamp| {
        sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!(
            "SELECT COUNT(*) FROM invoices WHERE {column} >= $1"
        )))
        .bind(since.micros())
        .fetch_one(pool)
    };
    let mut paid_days = 0;
    for day in days {
        let paid = sum(start_of(*day), start_of(day.next_day().unwrap()))
            .await
            .unwrap()
            .unwrap_or(0);
        paid_days += paid;
        assert_eq!(
            bar(html, "paid-per-day-RUB", &day.to_string()),
            paid,
            "{day}"
        );
    }
    assert!(paid_days > 0);
    let far = start_of(today.next_day().unwrap());
    assert_eq!(
        bar(html, "paid-per-month-RUB", &month_key),
        sum(start_of(month), far).await.unwrap().unwrap_or(0)
    );
    assert_eq!(
        bar(html, "issued-per-month", &month_key),
        count("created_at", start_of(month)).await.unwrap()
    );
    assert_eq!(
        bar(html, "paid-invoices-per-month", &month_key),
        count("paid_at", start_of(month)).await.unwrap()
    );
    // Recurring revenue: each paid invoice's total spread over its period's months
    // from the month paid, summed per day, period and currency before the division
    // (rounded down).
    let groups: Vec<(i64, i64, i64)> = sqlx::query_as(
        "SELECT paid_at / 86400000000, period_in_months, CAST(SUM(total) AS BIGINT) \
         FROM invoices WHERE status = 'Paid' GROUP BY paid_at / 86400000000, period_in_months",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    let index = |d: Date| i64::from(d.year()) * 12 + i64::from(u8::from(d.month()));
    let recurring: i64 = groups
        .iter()
        .filter(|(day, period, _)| {
            let paid_in = Timestamp::from_micros(day * 86_400_000_000).date();
            (0..*period).contains(&(index(today) - index(paid_in)))
        })
        .map(|(_, period, total)| total / period)
        .sum();
    assert_eq!(bar(html, "recurring-per-month-RUB", &month_key), recurring);
    let past_due: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM subscriptions WHERE status = 'past_due'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert!(
        html.contains(&format!("data-past-due=\"{past_due}\"")),
        "{html}"
    );
    let active: Vec<(String, i64)> = sqlx::query_as(
        "SELECT product_guid, COUNT(*) FROM subscriptions WHERE status = 'active' GROUP BY product_guid",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert!(!active.is_empty());
    for (product, n) in active {
        let cell = format!("data-subscriptions=\"{product}/active\">{n}<");
        assert!(html.contains(&cell), "{cell} in {html}");
    }
}

async fn clock_now(app: &TestApp) -> Timestamp {
    let (status, clock) = app.admin(Method::GET, "/admin/v1/test-clock", None).await;
    assert_eq!(status, 200, "{clock}");
    at(&clock["now"])
}

async fn act(app: &TestApp, guid: &str, action: &str) {
    let (status, body) = invoice_action(app, guid, action, None).await;
    assert_eq!(status, 200, "{body}");
}

/// Invoices paid today and three days ago (a settled day, whose sums the overview
/// stores): the charts equal SQL's sums; a refund of an invoice paid on the
/// settled day changes them again.
async fn the_overview_charts_equal_sums_in_sql(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.test_mode = true, |w| w).await;
    let shop = ready(&app, "charted").await;
    let mut guids = Vec::new();
    for months in [1, 12, 36, 12] {
        let (status, created) =
            read(create_request(&app, &shop, months).send().await.unwrap()).await;
        assert_eq!(status, 201, "{created}");
        guids.push(created["guid"].as_str().unwrap().to_owned());
    }
    for guid in &guids[..2] {
        act(&app, guid, "pay").await;
    }
    let paid_first = clock_now(&app).await;
    let (status, moved) = move_clock(&app, paid_first.plus_seconds(3 * 86_400)).await;
    assert_eq!(status, 200, "{moved}");
    act(&app, &guids[3], "pay").await;

    let admin = signed_in(&app, "charts@example.com", "support").await;
    let now = clock_now(&app).await;
    let days = [paid_first.date(), now.date()];
    let (status, html) = page(&app, &admin, "/console/overview").await;
    assert_eq!(status, 200, "{html}");
    assert_charts_match_sql(&app, &html, now, &days).await;
    let stored: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM daily_totals_days")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert!(stored > 365, "the settled days are stored: {stored}");

    act(&app, &guids[1], "refund").await;
    let (status, html) = page(&app, &admin, "/console/overview").await;
    assert_eq!(status, 200, "{html}");
    assert_charts_match_sql(&app, &html, now, &days).await;
}

/// The guids of the invoices a console page links to, in order.
fn invoice_links(html: &str) -> Vec<String> {
    html.split("href=\"/console/invoices/")
        .skip(1)
        .map(|rest| rest[..rest.find('"').unwrap()].to_owned())
        .collect()
}

/// The invoices page lists every organization's invoices, newest first, narrowed
/// by status, organization, number and day, the filters kept in the next page's
/// link; a date not understood is a 400 page.
async fn invoices_of_every_organization_are_filtered_and_paged(app: TestApp) {
    let first = ready(&app, "listed-one").await;
    let second = shop(&app, "listed-two").await;
    let mut made = Vec::new();
    for (i, shop) in std::iter::repeat_n(&first, 51)
        .chain([&second, &second])
        .enumerate()
    {
        let months = if i % 2 == 0 { 1 } else { 12 };
        let (status, created) =
            read(create_request(&app, shop, months).send().await.unwrap()).await;
        assert_eq!(status, 201, "{created}");
        made.push(created);
    }
    let paid = made[52]["guid"].as_str().unwrap();
    act(&app, paid, "pay").await;
    let operator = signed_in(&app, "lists@example.com", "support").await;

    let (status, html) = page(&app, &operator, "/console/invoices").await;
    assert_eq!(status, 200, "{html}");
    let newest: Vec<String> = made
        .iter()
        .rev()
        .take(50)
        .map(|i| i["guid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(invoice_links(&html), newest);
    let marker = "href=\"/console/invoices?page=";
    let next = &html[html.find(marker).expect(&html) + 6..];
    let next = next[..next.find('"').unwrap()].replace("&amp;", "&");
    let (status, html) = page(&app, &operator, &next).await;
    assert_eq!(status, 200, "{html}");
    let oldest: Vec<String> = made
        .iter()
        .take(3)
        .rev()
        .map(|i| i["guid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(invoice_links(&html), oldest);
    assert!(!html.contains(marker), "the last page links no further");

    let (_, html) = page(&app, &operator, "/console/invoices?status=Paid").await;
    assert_eq!(invoice_links(&html), [paid]);
    let path = format!(
        "/console/invoices?organization={}&status=Pending",
        second.org
    );
    let (_, html) = page(&app, &operator, &path).await;
    assert_eq!(invoice_links(&html), [made[51]["guid"].as_str().unwrap()]);
    let number = made[7]["number"].as_str().unwrap();
    let path = format!(
        "/console/invoices?organization={}&number={number}",
        first.org
    );
    let (_, html) = page(&app, &operator, &path).await;
    assert_eq!(invoice_links(&html), [made[7]["guid"].as_str().unwrap()]);
    let today = Timestamp::now().date();
    let path = format!("/console/invoices?status=Paid&from={today}&to={today}");
    let (_, html) = page(&app, &operator, &path).await;
    assert_eq!(invoice_links(&html), [paid]);
    let path = format!("/console/invoices?from={}", today.next_day().unwrap());
    let (_, html) = page(&app, &operator, &path).await;
    assert!(invoice_links(&html).is_empty(), "{html}");

    // The events page: a type prefix, paged with the filter kept; a subject.
    let invoice_events: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM events WHERE type LIKE 'invoice.%'")
            .fetch_one(app.store().pool())
            .await
            .unwrap();
    assert!(invoice_events > 50, "{invoice_events}");
    let (status, html) = page(&app, &operator, "/console/events?type=invoice.").await;
    assert_eq!(status, 200, "{html}");
    let rows = |html: &str| html.matches("data-event=").count() as i64;
    assert_eq!(rows(&html), 50);
    let marker = "href=\"/console/events?type=invoice.&amp;after=";
    let next = &html[html.find(marker).expect(&html) + 6..];
    let next = next[..next.find('"').unwrap()].replace("&amp;", "&");
    let (_, html) = page(&app, &operator, &next).await;
    assert_eq!(rows(&html), invoice_events - 50, "{html}");
    let path = format!("/console/events?type=invoice.paid&subject={paid}");
    let (_, html) = page(&app, &operator, &path).await;
    assert_eq!(rows(&html), 1, "{html}");
    assert!(
        html.contains(&format!("href=\"/console/invoices/{paid}\"")),
        "{html}"
    );

    let (status, html) = page(&app, &operator, "/console/invoices?from=yesterday").await;
    assert_eq!(status, 400, "{html}");
    assert!(html.contains("YYYY-MM-DD"), "{html}");
    let (status, _) = page(&app, &operator, "/console/invoices?status=Lost").await;
    assert_eq!(status, 400);
    let (status, _) = page(&app, &operator, "/console/invoices?status=Paid&page=forged").await;
    assert_eq!(status, 400);
}

/// Users are listed with a block or unblock link for an admin, each action behind
/// a confirmation, audited with the user before and after; support sees no link
/// and is refused a form posted by hand; a deleted or unknown user is 404.
async fn an_admin_blocks_and_unblocks_a_user_and_support_cannot(app: TestApp) {
    let (_, token) = app.key("integration", None).await;
    let (status, created) =
        crate::users::send(&app, Method::POST, &token, crate::users::seed_body()).await;
    assert_eq!(status, 200, "{created}");
    let id = created["id"].as_i64().unwrap();
    let admin = signed_in(&app, "users-admin@example.com", "admin").await;
    let support = signed_in(&app, "users-support@example.com", "support").await;
    let block = format!("/console/users/{id}/block");

    let (status, html) = page(&app, &support, "/console/users").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("test@mail.com") && !html.contains(&block),
        "{html}"
    );
    let (status, _) = page(&app, &support, &block).await;
    assert_eq!(status, 403);
    let refused = post(&app, &support, &block, &[("csrf", &csrf_of(&html))]).await;
    assert_eq!(refused.status().as_u16(), 403);

    let (_, html) = page(&app, &admin, "/console/users").await;
    assert!(html.contains(&format!("href=\"{block}\"")), "{html}");
    let (status, confirm) = page(&app, &admin, &block).await;
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("test@mail.com"), "{confirm}");
    let forged = post(&app, &admin, &block, &[("csrf", "forged")]).await;
    assert_eq!(forged.status().as_u16(), 403);
    let (_, user) = app
        .admin(Method::GET, &format!("/admin/v1/users/{id}"), None)
        .await;
    assert_eq!(
        user["status"], "active",
        "neither support nor a forged form changed it"
    );
    let done = post(&app, &admin, &block, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(done.status().as_u16(), 303);
    let (_, user) = app
        .admin(Method::GET, &format!("/admin/v1/users/{id}"), None)
        .await;
    assert_eq!(user["status"], "blocked");
    let (_, html) = page(&app, &admin, "/console/users").await;
    let unblock = format!("/console/users/{id}/unblock");
    assert!(
        html.contains("status-blocked") && html.contains(&unblock),
        "{html}"
    );
    let (_, confirm) = page(&app, &admin, &unblock).await;
    let done = post(&app, &admin, &unblock, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(done.status().as_u16(), 303);
    let (_, user) = app
        .admin(Method::GET, &format!("/admin/v1/users/{id}"), None)
        .await;
    assert_eq!(user["status"], "active");

    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let entries = kopek_store::audit::newest(&mut conn, None, &Default::default(), 10)
        .await
        .unwrap();
    assert_eq!(entries[0].action, format!("POST {unblock}"));
    assert_eq!(entries[1].action, format!("POST {block}"));
    let blocked = &entries[1];
    assert!(blocked.actor.starts_with("opr"), "{blocked:?}");
    assert!(
        blocked
            .before_state
            .as_deref()
            .unwrap()
            .contains("\"active\"")
    );
    assert!(
        blocked
            .after_state
            .as_deref()
            .unwrap()
            .contains("\"blocked\"")
    );

    for path in [
        "/console/users/999999/block",
        &format!("/console/users/{id}/delete"),
        "/console/users/x/block",
    ] {
        assert_eq!(page(&app, &admin, path).await.0, 404, "{path}");
    }
    let (status, _) = crate::users::send(
        &app,
        Method::DELETE,
        &token,
        json!({"login": "test@mail.com"}),
    )
    .await;
    assert!(status < 300);
    let (_, confirm) = page(&app, &admin, "/console/users").await;
    let gone = post(&app, &admin, &block, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(gone.status().as_u16(), 404);
}

/// The console speaks the browser's language until the operator switches, then
/// the one chosen (a cookie on the console's paths), going back to the page the
/// switch was made on and never to another site.
async fn the_language_is_the_browsers_until_switched(app: TestApp) {
    let browser = browser_like();
    let sign_in = format!("{}/console/sign-in", app.base);
    let get = |lang: &'static str| browser.get(&sign_in).header("Accept-Language", lang).send();
    let html = get("ru-RU,ru;q=0.9").await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Войти") && html.contains("/console/language?to=en"),
        "{html}"
    );
    let html = get("en-US").await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Sign in") && html.contains("/console/language?to=ru"),
        "{html}"
    );

    assert!(
        html.contains("/console/language?to=ru&amp;back=%2Fconsole%2Fsign-in"),
        "the switch comes back here: {html}"
    );
    let switched = browser
        .get(format!(
            "{}/console/language?to=ru&back=%2Fconsole%2Fsign-in%3Ffrom%3Dhere",
            app.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(switched.status().as_u16(), 303);
    assert_eq!(switched.headers()[LOCATION], "/console/sign-in?from=here");
    let cookie = switched.headers()[SET_COOKIE].to_str().unwrap();
    assert!(
        cookie.starts_with("kopek_lang=ru;") && cookie.contains("Path=/console"),
        "{cookie}"
    );
    let html = get("en-US").await.unwrap().text().await.unwrap();
    assert!(
        html.contains("Войти"),
        "the choice wins over Accept-Language: {html}"
    );

    for elsewhere in [
        "https://elsewhere.example/console/x",
        "//elsewhere.example/console/",
        "/console//elsewhere.example",
        "/admin/v1/events",
    ] {
        let mut url = url_encoded(elsewhere);
        url.insert_str(0, &format!("{}/console/language?to=en&back=", app.base));
        let refused = browser.get(url).send().await.unwrap();
        assert_eq!(
            refused.headers()[LOCATION],
            "/console/overview",
            "{elsewhere}"
        );
    }
    let html = get("ru").await.unwrap().text().await.unwrap();
    assert!(html.contains("Sign in"), "{html}");
    let bad = browser
        .get(format!("{}/console/language?to=de", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status().as_u16(), 400);
}

/// An admin adds an operator from the console (the setup link shown once, as the
/// command line prints it) and disables one, whose session ends at once; nobody
/// disables themselves; support sees no form and is refused one posted by hand.
/// Each change is in the audit log, the command line's too.
async fn an_admin_adds_and_disables_operators_and_support_cannot(app: TestApp) {
    let admin = signed_in(&app, "boss@example.com", "admin").await;
    let support = signed_in(&app, "helper@example.com", "support").await;
    let (status, html) = page(&app, &support, "/console/operators").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("boss@example.com") && !html.contains("name=\"email\""),
        "{html}"
    );
    let refused = post(
        &app,
        &support,
        "/console/operators",
        &[
            ("csrf", &csrf_of(&html)),
            ("email", "x@example.com"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(refused.status().as_u16(), 403);

    let (_, html) = page(&app, &admin, "/console/operators").await;
    let form = csrf_of(&html);
    let made = post(
        &app,
        &admin,
        "/console/operators",
        &[
            ("csrf", &form),
            ("email", "new@example.com"),
            ("role", "support"),
        ],
    )
    .await;
    assert_eq!(made.status().as_u16(), 201);
    let shown = made.text().await.unwrap();
    let at = shown.find("/console/setup?token=").expect(&shown);
    let link = &shown[at..at + shown[at..].find('<').unwrap()];
    let newcomer = browser_like();
    set_up(&app, &newcomer, link, "a newcomer's long password").await;
    let signed = sign_in(
        &app,
        &newcomer,
        "new@example.com",
        "a newcomer's long password",
    )
    .await;
    assert_eq!(signed.status().as_u16(), 303);
    assert_eq!(page(&app, &newcomer, "/console/overview").await.0, 200);
    let again = post(
        &app,
        &admin,
        "/console/operators",
        &[
            ("csrf", &form),
            ("email", "NEW@example.com"),
            ("role", "admin"),
        ],
    )
    .await;
    assert_eq!(again.status().as_u16(), 400, "an e-mail taken");
    let bad = post(
        &app,
        &admin,
        "/console/operators",
        &[
            ("csrf", &form),
            ("email", "new@example.com"),
            ("role", "owner"),
        ],
    )
    .await;
    assert_eq!(bad.status().as_u16(), 400);

    let list = kopek(&app, &["operator", "list"]);
    let listed = String::from_utf8(list.stdout).unwrap();
    let id_of = |email: &str| {
        listed
            .lines()
            .find(|l| l.contains(email))
            .unwrap()
            .split('\t')
            .next()
            .unwrap()
            .to_owned()
    };
    let (newcomer_id, boss_id) = (id_of("new@example.com"), id_of("boss@example.com"));
    let disable = format!("/console/operators/{newcomer_id}/disable");
    let (_, html) = page(&app, &admin, "/console/operators").await;
    assert!(
        html.contains(&disable) && !html.contains(&format!("/console/operators/{boss_id}/disable")),
        "{html}"
    );
    let (status, confirm) = page(&app, &admin, &disable).await;
    assert_eq!(status, 200, "{confirm}");
    let done = post(&app, &admin, &disable, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(done.status().as_u16(), 303);
    let (status, _) = page(&app, &newcomer, "/console/overview").await;
    assert_eq!(status, 303, "a disabled operator's session ends at once");
    let self_disable = format!("/console/operators/{boss_id}/disable");
    let mine = post(&app, &admin, &self_disable, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(mine.status().as_u16(), 409);
    let twice = post(&app, &admin, &disable, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(twice.status().as_u16(), 404);

    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let entries = kopek_store::audit::newest(&mut conn, None, &Default::default(), 20)
        .await
        .unwrap();
    let disabled = entries
        .iter()
        .find(|e| e.action == format!("POST {disable}"))
        .unwrap();
    assert!(
        disabled
            .before_state
            .as_deref()
            .unwrap()
            .contains("\"disabled_at\":null")
    );
    assert!(
        !disabled
            .after_state
            .as_deref()
            .unwrap()
            .contains("\"disabled_at\":null")
    );
    let created = entries
        .iter()
        .find(|e| e.action == "POST /console/operators")
        .unwrap();
    assert!(
        created
            .after_state
            .as_deref()
            .unwrap()
            .contains("new@example.com")
    );
    assert!(
        !created.after_state.as_deref().unwrap().contains("kos_"),
        "no setup token in the log"
    );
    let by_cli = entries
        .iter()
        .filter(|e| e.action == "kopek operator create")
        .count();
    assert_eq!(by_cli, 2, "the two operators made on the command line");
}

/// A reseller's customers with their states and invitations (the mail's delivery
/// state shown); an admin resends an invitation and suspends and activates a
/// customer, each behind a confirmation and audited; support sees no actions and
/// is refused them; an action the state does not allow is 409.
async fn an_admin_manages_a_resellers_customers_and_support_cannot(app: TestApp) {
    use crate::customers::{invited, reseller_with_key, served, wait_for_eml};
    let (reseller, _, token) = reseller_with_key(&app, "Console Reseller").await;
    let invite = invited(&app, &token, &reseller).await;
    let invitee = invite["response"]["id"].as_str().unwrap().to_owned();
    let serve = served(&app, &token, &reseller).await;
    let servee = serve["response"]["id"].as_str().unwrap().to_owned();
    wait_for_eml(&app, 1).await;
    let admin = signed_in(&app, "resellers-admin@example.com", "admin").await;
    let support = signed_in(&app, "resellers-support@example.com", "support").await;

    let (status, html) = page(&app, &support, "/console/resellers").await;
    assert_eq!(status, 200, "{html}");
    let shown = format!("/console/resellers/{reseller}");
    assert!(
        html.contains(&shown) && html.contains("Console Reseller"),
        "{html}"
    );
    let resend = format!("/console/customers/{invitee}/resend-invitation");
    let suspend = format!("/console/customers/{servee}/suspend");
    let mut delivered = String::new();
    for _ in 0..100 {
        delivered = page(&app, &support, &shown).await.1;
        if delivered.contains("data-delivery=\"sent\"") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        delivered.contains("owner@romashka.example")
            && delivered.contains("data-delivery=\"sent\""),
        "{delivered}"
    );
    assert!(
        delivered.contains("status-INVITED") && delivered.contains("status-ACTIVE"),
        "{delivered}"
    );
    assert!(
        !delivered.contains(&resend) && !delivered.contains(&suspend),
        "{delivered}"
    );
    assert_eq!(page(&app, &support, &resend).await.0, 403);
    let refused = post(&app, &support, &resend, &[("csrf", &csrf_of(&delivered))]).await;
    assert_eq!(refused.status().as_u16(), 403);

    let (_, html) = page(&app, &admin, &shown).await;
    assert!(html.contains(&resend) && html.contains(&suspend), "{html}");
    assert!(
        !html.contains(&format!("/console/customers/{invitee}/suspend")),
        "an invited customer is not suspended"
    );
    for (path, state) in [(&resend, "INVITED"), (&suspend, "SUSPENDED")] {
        let (status, confirm) = page(&app, &admin, path).await;
        assert_eq!(status, 200, "{confirm}");
        let done = post(&app, &admin, path, &[("csrf", &csrf_of(&confirm))]).await;
        assert_eq!(done.status().as_u16(), 303, "{path}");
        assert_eq!(done.headers()[LOCATION], shown.as_str());
        let (_, html) = page(&app, &admin, &shown).await;
        assert!(html.contains(&format!("status-{state}")), "{html}");
    }
    wait_for_eml(&app, 2).await;
    assert_eq!(
        page(&app, &admin, &suspend).await.0,
        409,
        "suspended already"
    );
    let activate = format!("/console/customers/{servee}/activate");
    let (_, html) = page(&app, &admin, &shown).await;
    assert!(html.contains(&activate), "{html}");
    let (_, confirm) = page(&app, &admin, &activate).await;
    let done = post(&app, &admin, &activate, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(done.status().as_u16(), 303);
    let again = post(&app, &admin, &activate, &[("csrf", &csrf_of(&confirm))]).await;
    assert_eq!(again.status().as_u16(), 409);

    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let entries = kopek_store::audit::newest(&mut conn, None, &Default::default(), 10)
        .await
        .unwrap();
    assert_eq!(entries[0].action, format!("POST {activate}"));
    assert!(
        entries[0]
            .before_state
            .as_deref()
            .unwrap()
            .contains("SUSPENDED")
    );
    assert_eq!(entries[1].action, format!("POST {suspend}"));
    assert_eq!(entries[2].action, format!("POST {resend}"));
    assert_eq!(
        page(&app, &admin, "/console/resellers/nothing-here")
            .await
            .0,
        404
    );
}

fn url_encoded(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// The catalog page shows the version in force as products and prices; a new
/// version posted as JSON is checked by the operator API's rules, each error shown
/// beside the kept text (400, nothing stored); a good one becomes the next version,
/// compared line by line with the one before, audited before and after; support
/// sees no form and is refused one posted by hand.
async fn an_admin_loads_a_catalog_version_with_errors_shown_inline(app: TestApp) {
    use crate::lifepos::{example_catalog, put_catalog};
    put_catalog(&app, example_catalog()).await;
    let admin = signed_in(&app, "catalog-admin@example.com", "admin").await;
    let support = signed_in(&app, "catalog-support@example.com", "support").await;
    let (status, html) = page(&app, &support, "/console/catalog").await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("LIFE POS") && (html.contains("990.00") || html.contains("990,00")),
        "{html}"
    );
    assert!(!html.contains("<textarea"), "{html}");
    let refused = post(
        &app,
        &support,
        "/console/catalog",
        &[("csrf", &csrf_of(&html)), ("catalog", "{}")],
    )
    .await;
    assert_eq!(refused.status().as_u16(), 403);

    let (_, html) = page(&app, &admin, "/console/catalog").await;
    assert!(html.contains("<textarea"), "{html}");
    let csrf = csrf_of(&html);
    let versions = || async {
        sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM catalog_versions")
            .fetch_one(app.store().pool())
            .await
            .unwrap()
    };
    let broken = "{\"products\": [ oops";
    let answer = post(
        &app,
        &admin,
        "/console/catalog",
        &[("csrf", &csrf), ("catalog", broken)],
    )
    .await;
    assert_eq!(answer.status().as_u16(), 400);
    let html = answer.text().await.unwrap();
    assert!(
        html.contains("data-error") && html.contains("Line 1, column"),
        "{html}"
    );
    assert!(
        html.contains("{&quot;products&quot;: [ oops") || html.contains("{\"products\": [ oops"),
        "the text is kept: {html}"
    );

    let priced = async |final_price: i64| {
        let mut catalog = example_catalog();
        catalog["products"][0]["plans"][0]["periods"][0]["final_price"] = json!(final_price);
        let text = serde_json::to_string_pretty(&catalog).unwrap();
        post(
            &app,
            &admin,
            "/console/catalog",
            &[("csrf", &csrf), ("catalog", &text)],
        )
        .await
    };
    // Dearer after discounts than before them.
    let answer = priced(100_000).await;
    assert_eq!(answer.status().as_u16(), 400);
    let html = answer.text().await.unwrap();
    assert!(html.contains("final_price"), "the field is named: {html}");
    assert_eq!(versions().await, 1, "nothing stored");

    let answer = priced(89_000).await;
    assert_eq!(answer.status().as_u16(), 303);
    assert_eq!(answer.headers()[LOCATION], "/console/catalog?version=2");
    assert_eq!(versions().await, 2);
    let (status, html) = page(&app, &admin, "/console/catalog?version=2&compare=1").await;
    assert_eq!(status, 200, "{html}");
    let changed = |kind: &str| {
        let marker = format!("data-diff=\"{kind}\">");
        let at = html.find(&marker).expect(&html) + marker.len();
        html[at..at + html[at..].find('<').unwrap()].to_owned()
    };
    assert!(
        changed("gone").starts_with("- ")
            && changed("gone").ends_with("&quot;final_price&quot;: 99000"),
        "{}",
        changed("gone")
    );
    assert!(
        changed("added").starts_with("+ ")
            && changed("added").ends_with("&quot;final_price&quot;: 89000"),
        "{}",
        changed("added")
    );
    assert_eq!(
        html.matches("data-diff=").count(),
        2,
        "one line changed: {html}"
    );
    assert_eq!(
        page(&app, &admin, "/console/catalog?version=9").await.0,
        404
    );
    assert_eq!(
        page(&app, &admin, "/console/catalog?version=x").await.0,
        400
    );

    let store = app.db.store().await;
    let mut conn = store.conn().await.unwrap();
    let entries = kopek_store::audit::newest(&mut conn, None, &Default::default(), 5)
        .await
        .unwrap();
    assert_eq!(entries[0].action, "POST /console/catalog");
    assert!(
        entries[0]
            .before_state
            .as_deref()
            .unwrap()
            .contains("99000")
    );
    assert!(entries[0].after_state.as_deref().unwrap().contains("89000"));
}
