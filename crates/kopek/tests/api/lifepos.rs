//! Family B: LIFE POS subscriptions and invoices.

use crate::both_backends;
use crate::harness::{Backend, TestApp, read};
use reqwest::{Method, RequestBuilder};
use serde_json::{Value, json};
use std::collections::BTreeSet;

pub const START_PRODUCT: &str = "0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f60";
pub const START_PLAN: &str = "0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f61";
const EGAIS_PLAN: &str = "4d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c01";
pub const CLIENT_ID: &str = "9a1b2c3d-4e5f-4a6b-8c7d-0e1f2a3b4c5d";

pub fn example_catalog() -> Value {
    serde_json::from_str(include_str!("../../../../examples/catalog.json")).unwrap()
}

/// A LIFE POS request with the headers every LIFE POS client sends.
pub fn lp(app: &TestApp, method: Method, path: &str, token: &str) -> RequestBuilder {
    client_headers(app.request(method, path, Some(token)))
}

/// The headers every LIFE POS client sends, without `Authorization`.
fn client_headers(request: RequestBuilder) -> RequestBuilder {
    request
        .header("x-lp-client-identifier", CLIENT_ID)
        .header("x-lp-client-type", "WebApp")
        .header("x-lp-client-name", "Kopek tests")
        .header("accept-language", "en-US")
}

/// An organization with a signed-in member, on a server with the example catalog.
pub struct Shop {
    pub org: String,
    pub token: String,
}

pub async fn put_catalog(app: &TestApp, catalog: Value) -> Value {
    let (status, body) = app
        .admin(Method::PUT, "/admin/v1/catalog", Some(catalog))
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

pub async fn organization(app: &TestApp, alias: &str, reseller: Option<&str>) -> String {
    let (status, org) = app
        .admin(
            Method::POST,
            "/admin/v1/organizations",
            Some(json!({"alias": alias, "resellerId": reseller,
                "company": {"name": format!("ООО «{alias}»"), "inn": "7707083893", "kpp": "773601001"}})),
        )
        .await;
    assert_eq!(status, 201, "{org}");
    org["guid"].as_str().unwrap().to_owned()
}

async fn provision(app: &TestApp, login: &str, password: &str) {
    let (status, body) = read(
        app.request(
            Method::POST,
            "/api/v1/billing/user/manage",
            Some(&app.admin_token),
        )
        .json(&json!({"login": login, "password": password, "type": "user"}))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
}

pub async fn sign_in(app: &TestApp, login: &str, password: &str) -> (u16, Value) {
    read(
        lp(app, Method::POST, "/auth/sign-in", "")
            .json(
                &json!({"full_username": login, "password": password, "response_type": "Session"}),
            )
            .send()
            .await
            .unwrap(),
    )
    .await
}

pub async fn shop(app: &TestApp, alias: &str) -> Shop {
    served_shop(app, alias, None).await
}

/// A shop whose organization a reseller serves (and may pay for).
pub async fn served_shop(app: &TestApp, alias: &str, reseller: Option<&str>) -> Shop {
    let org = organization(app, alias, reseller).await;
    let login = format!("owner@{alias}.example");
    provision(app, &login, "s3cret-pass").await;
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/organizations/{org}/members"),
            Some(json!({"login": login})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, signed) = sign_in(app, &login, "s3cret-pass").await;
    assert_eq!(status, 200, "{signed}");
    Shop {
        org,
        token: signed["token"].as_str().unwrap().to_owned(),
    }
}

pub async fn ready(app: &TestApp, alias: &str) -> Shop {
    put_catalog(app, example_catalog()).await;
    shop(app, alias).await
}

/// The seed's request body with its placeholders filled in.
pub fn seed_request(plan: &str, quantity: i64, months: i64, payer: &str) -> Value {
    json!({
        "plan": {"guid": plan, "type_of": "Plan"},
        "quantity": quantity,
        "period_in_months": months,
        "who_pays": {"guid": payer, "type_of": "Organization"},
        "type_of": "CreateInvoice"
    })
}

/// The start product as LIFE POS lists it to the shop (with its `acquired_license`).
pub async fn start_product(app: &TestApp, shop: &Shop) -> Value {
    let path = format!("/orgs/{}/profile/subscriptions/products", shop.org);
    let (status, body) = read(
        lp(app, Method::GET, &path, &shop.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["guid"] == START_PRODUCT)
        .unwrap()
        .clone()
}

pub fn create_path(org: &str, product: &str) -> String {
    format!("/orgs/{org}/profile/subscriptions/products/{product}:create-invoice")
}

/// A create-invoice request for the start plan, ready to send (and send again).
pub fn create_request(app: &TestApp, shop: &Shop, months: i64) -> RequestBuilder {
    lp(
        app,
        Method::POST,
        &create_path(&shop.org, START_PRODUCT),
        &shop.token,
    )
    .json(&seed_request(START_PLAN, 1, months, &shop.org))
}

pub async fn create(app: &TestApp, shop: &Shop, body: Value) -> (u16, Value) {
    read(
        lp(
            app,
            Method::POST,
            &create_path(&shop.org, START_PRODUCT),
            &shop.token,
        )
        .json(&body)
        .send()
        .await
        .unwrap(),
    )
    .await
}

fn is_money(v: &Value) -> bool {
    v["value"].is_i64() && v["currency"].is_string() && v["type_of"].is_string()
}

async fn the_seed_request_creates_the_documented_invoice(app: TestApp) {
    let shop = ready(&app, "romashka").await;
    let (status, inv) = create(&app, &shop, seed_request(START_PLAN, 2, 12, &shop.org)).await;
    assert_eq!(status, 201, "{inv}");
    for key in [
        "company",
        "number",
        "total_sum",
        "status",
        "payment_by_card_link",
        "payment_by_transaction_link",
        "positions",
        "created_at",
        "updated_at",
        "deleted_at",
        "meta",
        "meta_data",
        "guid",
        "type_of",
    ] {
        assert!(inv.get(key).is_some(), "{key} missing: {inv}");
    }
    assert_eq!(inv["company"]["id"], shop.org.as_str());
    assert_eq!(inv["company"]["inn"], "7707083893");
    assert_eq!(inv["company"]["kpp"], "773601001");
    assert_eq!(inv["company"]["name"], "ООО «romashka»");
    assert!(
        inv["number"].as_str().unwrap().ends_with("-000001"),
        "{inv}"
    );
    assert!(is_money(&inv["total_sum"]));
    assert_eq!(
        inv["total_sum"],
        json!({"value": 1_980_000, "currency": "RUB", "type_of": "Money"})
    );
    assert_eq!(inv["status"], "Pending");
    for link in ["payment_by_card_link", "payment_by_transaction_link"] {
        assert!(
            inv[link]
                .as_str()
                .unwrap()
                .starts_with(&format!("{}/invoices/", app.base)),
            "{inv}"
        );
        assert!(inv[link].as_str().unwrap().contains("token="));
    }
    let position = &inv["positions"][0];
    assert_eq!(position["name"], "LIFE POS «Старт», 12 мес.");
    assert_eq!(position["quantity"], 2);
    assert_eq!(position["price"]["value"], 990_000);
    assert_eq!(position["total_sum"]["value"], 1_980_000);
    assert!(
        is_money(&position["price"])
            && is_money(&position["total_sum"])
            && position["type_of"].is_string()
    );
    for t in ["created_at", "updated_at"] {
        let s = inv[t].as_str().unwrap();
        assert!(
            s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.',
            "{s}"
        );
    }
    assert_eq!(inv["deleted_at"], Value::Null);
    assert!(inv["meta"].is_string());
    assert!(inv["meta_data"].is_object());
    assert_eq!(inv["meta_data"]["vat"]["rate"], "22%");
    assert_eq!(
        inv["meta_data"]["vat"]["sum"]["value"], 357_049,
        "1 980 000 × 22/122, rounded"
    );
    assert!(uuid::Uuid::parse_str(inv["guid"].as_str().unwrap()).is_ok());
    assert_eq!(inv["type_of"], "Invoice");

    // Every JSON content type LIFE POS clients send is accepted.
    for content_type in [
        "application/json-patch+json",
        "text/json",
        "application/vnd.lifepos+json",
    ] {
        let response = lp(
            &app,
            Method::POST,
            &create_path(&shop.org, START_PRODUCT),
            &shop.token,
        )
        .header("content-type", content_type)
        .body(seed_request(START_PLAN, 1, 1, &shop.org).to_string())
        .send()
        .await
        .unwrap();
        assert_eq!(response.status(), 201, "{content_type}");
    }
    let (status, got) = read(
        lp(
            &app,
            Method::GET,
            &format!(
                "/orgs/{}/profile/invoices/{}",
                shop.org,
                inv["guid"].as_str().unwrap()
            ),
            &shop.token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got, inv);
}

async fn every_validation_rule(app: TestApp) {
    let reseller = app.reseller("Payer").await;
    let stranger = app.reseller("Someone Else").await;
    put_catalog(&app, example_catalog()).await;
    let shop = served_shop(&app, "checks", Some(&reseller)).await;
    let org = shop.org.clone();
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (
            json!({"quantity": 1, "period_in_months": 1}),
            422,
            "RequestIsNotValid",
            "plan",
        ),
        (
            json!({"plan": {}, "quantity": 1}),
            422,
            "RequestIsNotValid",
            "plan",
        ),
        (
            seed_request(EGAIS_PLAN, 1, 1, &org),
            422,
            "ReferenceNotFound",
            "plan",
        ),
        (
            seed_request("00000000-0000-4000-8000-000000000000", 1, 1, &org),
            422,
            "ReferenceNotFound",
            "plan",
        ),
        (
            seed_request(START_PLAN, 0, 1, &org),
            422,
            "RequestIsNotValid",
            "quantity",
        ),
        (
            seed_request(START_PLAN, 100_001, 1, &org),
            422,
            "RequestIsNotValid",
            "quantity",
        ),
        (
            seed_request(START_PLAN, 1, 0, &org),
            422,
            "RequestIsNotValid",
            "period_in_months",
        ),
        (
            seed_request(START_PLAN, 1, 61, &org),
            422,
            "RequestIsNotValid",
            "period_in_months",
        ),
        (
            seed_request(START_PLAN, 1, 6, &org),
            422,
            "RequestIsNotValid",
            "period_in_months",
        ),
        (
            json!({"plan": {"guid": START_PLAN}, "quantity": "two"}),
            422,
            "RequestIsNotValid",
            "quantity",
        ),
        (
            seed_request(START_PLAN, 1, 1, "dn2nosuchreseller000"),
            422,
            "ReferenceNotFound",
            "who_pays",
        ),
        // Another tenant's reseller is refused exactly like one that does not exist.
        (
            seed_request(START_PLAN, 1, 1, &stranger),
            422,
            "ReferenceNotFound",
            "who_pays",
        ),
    ];
    let mut payer_errors = Vec::new();
    for (body, status, code, field) in cases {
        let (got, error) = create(&app, &shop, body.clone()).await;
        assert_eq!(
            (got, error["code"].as_str()),
            (status, Some(code)),
            "{body} -> {error}"
        );
        assert!(
            error["info"].as_str().unwrap().contains(field),
            "{body} -> {error}"
        );
        assert!(error["message"].is_string());
        if field == "who_pays" {
            payer_errors.push(error);
        }
    }
    // Unknown and not-yours say the same, so reseller ids cannot be probed.
    assert_eq!(payer_errors.len(), 2);
    assert_eq!(payer_errors[0], payer_errors[1]);
    let (status, error) = read(
        lp(
            &app,
            Method::POST,
            &create_path(&org, "00000000-0000-4000-8000-00000000beef"),
            &shop.token,
        )
        .json(&seed_request(START_PLAN, 1, 1, &org))
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!((status, error["code"].as_str()), (404, Some("NotFound")));
    let (status, paid_by_reseller) =
        create(&app, &shop, seed_request(START_PLAN, 1, 12, &reseller)).await;
    assert_eq!(status, 201, "{paid_by_reseller}");
    assert_eq!(
        paid_by_reseller["meta_data"]["who_pays"],
        json!({"guid": reseller, "type_of": "BillingAccount"})
    );
    let (status, defaults) = create(
        &app,
        &shop,
        json!({"plan": {"guid": START_PLAN, "type_of": "Plan"}}),
    )
    .await;
    assert_eq!(status, 201, "{defaults}");
    assert_eq!(
        (
            defaults["meta_data"]["quantity"].as_i64(),
            defaults["meta_data"]["period_in_months"].as_i64()
        ),
        (Some(1), Some(1))
    );

    // The client headers are required, each named when missing or bad.
    let path = create_path(&org, START_PRODUCT);
    let without = |skip: &str, bad: Option<(&str, &str)>| {
        let mut request = app
            .request(Method::POST, &path, Some(&shop.token))
            .json(&seed_request(START_PLAN, 1, 1, &org));
        for (name, value) in [
            ("X-LP-Client-Identifier", CLIENT_ID),
            ("X-LP-Client-Type", "App"),
            ("Accept-Language", "en"),
        ] {
            if name != skip {
                let value = bad.filter(|(n, _)| *n == name).map_or(value, |(_, v)| v);
                request = request.header(name, value);
            }
        }
        request
    };
    for (skip, bad, header) in [
        ("X-LP-Client-Identifier", None, "X-LP-Client-Identifier"),
        ("X-LP-Client-Type", None, "X-LP-Client-Type"),
        ("Accept-Language", None, "Accept-Language"),
        (
            "",
            Some(("X-LP-Client-Identifier", "not-a-uuid")),
            "X-LP-Client-Identifier",
        ),
        (
            "",
            Some(("X-LP-Client-Type", "Toaster")),
            "X-LP-Client-Type",
        ),
    ] {
        let (status, error) = read(without(skip, bad).send().await.unwrap()).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (422, Some("RequestIsNotValid")),
            "{header}: {error}"
        );
        assert!(error["info"].as_str().unwrap().contains(header), "{error}");
    }
    let russian = app
        .request(Method::POST, &path, Some(&shop.token))
        .header("x-lp-client-identifier", CLIENT_ID)
        .header("x-lp-client-type", "Android")
        .header("accept-language", "ru-RU")
        .json(&json!({"quantity": 1}))
        .send()
        .await
        .unwrap();
    let (status, error) = read(russian).await;
    assert_eq!(status, 422);
    assert!(
        error["info"].as_str().unwrap().contains("обязательно"),
        "{error}"
    );
    let (_, list) = read(
        lp(
            &app,
            Method::GET,
            &format!("/orgs/{org}/profile/invoices?include_items_total=true"),
            &shop.token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        list["items_total"], 2,
        "only the two good requests made invoices: {list}"
    );
}

async fn organizations_keep_to_themselves(app: TestApp) {
    let a = ready(&app, "alpha").await;
    let b = shop(&app, "beta").await;
    let (_, invoice_b) = create(&app, &b, seed_request(START_PLAN, 1, 1, &b.org)).await;
    let invoice_b = invoice_b["guid"].as_str().unwrap().to_owned();
    let (_, org_key_a) = app.key("organization", Some(&a.org)).await;
    for token in [&a.token, &org_key_a] {
        let attempts = [
            lp(
                &app,
                Method::GET,
                &format!("/orgs/{}/profile/subscriptions/products", b.org),
                token,
            ),
            lp(
                &app,
                Method::POST,
                &create_path(&b.org, START_PRODUCT),
                token,
            )
            .json(&seed_request(START_PLAN, 1, 1, &b.org)),
            lp(
                &app,
                Method::GET,
                &format!("/orgs/{}/profile/invoices", b.org),
                token,
            ),
            lp(
                &app,
                Method::GET,
                &format!("/orgs/{}/profile/invoices/{invoice_b}", b.org),
                token,
            ),
            lp(
                &app,
                Method::GET,
                "/orgs/00000000-0000-4000-8000-000000000000/profile/invoices",
                token,
            ),
        ];
        for attempt in attempts {
            let (status, error) = read(attempt.send().await.unwrap()).await;
            assert_eq!(
                (status, error["code"].as_str()),
                (403, Some("NoPermissions")),
                "{error}"
            );
        }
        // Its own invoice list does not show B's invoice either.
        let (status, own) = read(
            lp(
                &app,
                Method::GET,
                &format!("/orgs/{}/profile/invoices/{invoice_b}", a.org),
                token,
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!((status, own["code"].as_str()), (404, Some("NotFound")));
    }
    let (status, ok) = create(
        &app,
        &Shop {
            org: a.org.clone(),
            token: org_key_a,
        },
        seed_request(START_PLAN, 1, 1, &a.org),
    )
    .await;
    assert_eq!(
        status, 201,
        "an organization key bills its own organization: {ok}"
    );
    for token in ["lps_nope", "kpk_nope", ""] {
        let (status, error) = read(
            lp(
                &app,
                Method::GET,
                &format!("/orgs/{}/profile/invoices", a.org),
                token,
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(
            (status, error["code"].as_str()),
            (401, Some("Unauthorized")),
            "{token}"
        );
    }
    let (_, integration) = app.key("integration", None).await;
    let (status, _) = read(
        lp(
            &app,
            Method::GET,
            &format!("/orgs/{}/profile/invoices", a.org),
            &integration,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
}

async fn vat_follows_the_invoice_date(backend: Backend) {
    for (day, rate, vat) in [
        ("2025-12-31T20:59:59Z", "20%", 165_000),
        ("2026-01-01T00:00:00Z", "22%", 178_525),
    ] {
        let app =
            TestApp::spawn_with(backend, |c| c.fixed_time = Some(day.to_owned()), |w| w).await;
        let shop = ready(&app, "dated").await;
        let (status, inv) = create(&app, &shop, seed_request(START_PLAN, 1, 12, &shop.org)).await;
        assert_eq!(status, 201, "{inv}");
        assert_eq!(inv["meta_data"]["vat"]["rate"], rate, "{day}");
        assert_eq!(
            inv["meta_data"]["vat"]["sum"]["value"], vat,
            "{day}: 990 000 × rate / (100% + rate)"
        );
        assert_eq!(inv["created_at"].as_str().unwrap()[..10], day[..10]);
        assert!(inv["number"].as_str().unwrap().starts_with(&day[..4]));
    }
    // Half a kopeck: 3 kopecks at 20% hold 0.5 of VAT, which rounds up to 1.
    let app = TestApp::spawn_with(
        backend,
        |c| c.fixed_time = Some("2025-06-01T12:00:00Z".to_owned()),
        |w| w,
    )
    .await;
    let mut catalog = example_catalog();
    catalog["products"][0]["plans"][0]["periods"][0]["base_price"] = json!(1);
    catalog["products"][0]["plans"][0]["periods"][0]["final_price"] = json!(1);
    put_catalog(&app, catalog.clone()).await;
    let shop = shop(&app, "pennies").await;
    let (_, inv) = create(&app, &shop, seed_request(START_PLAN, 3, 1, &shop.org)).await;
    assert_eq!(inv["total_sum"]["value"], 3);
    assert_eq!(inv["meta_data"]["vat"]["sum"]["value"], 1);
    let (_, inv) = create(&app, &shop, seed_request(START_PLAN, 2, 1, &shop.org)).await;
    assert_eq!(
        inv["meta_data"]["vat"]["sum"]["value"], 0,
        "a third of a kopeck rounds down"
    );
    // A total that would overflow is refused, not wrapped.
    catalog["products"][0]["plans"][0]["periods"][0]["base_price"] = json!(i64::MAX / 2);
    catalog["products"][0]["plans"][0]["periods"][0]["final_price"] = json!(i64::MAX / 2);
    put_catalog(&app, catalog).await;
    let (status, error) = create(&app, &shop, seed_request(START_PLAN, 3, 1, &shop.org)).await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("RequestIsNotValid")),
        "{error}"
    );
}

fn seq_of(number: &str) -> i64 {
    number.rsplit('-').next().unwrap().parse().unwrap()
}

async fn fire(app_base: &str, shop: &Shop, count: usize, connections: usize) -> Vec<(u16, Value)> {
    let mut tasks = Vec::new();
    for c in 0..connections {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(1)
            .build()
            .unwrap();
        let url = format!("{app_base}{}", create_path(&shop.org, START_PRODUCT));
        let (token, org) = (shop.token.clone(), shop.org.clone());
        let mine = (c..count).step_by(connections).count();
        tasks.push(tokio::spawn(async move {
            let mut answers = Vec::new();
            for _ in 0..mine {
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("x-lp-client-identifier", CLIENT_ID)
                    .header("x-lp-client-type", "Service")
                    .header("accept-language", "en")
                    .json(&seed_request(START_PLAN, 1, 1, &org))
                    .send()
                    .await
                    .unwrap();
                answers.push(read(response).await);
            }
            answers
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all
}

fn assert_gapless(answers: &[(u16, Value)], expected: usize) {
    let mut seqs = Vec::new();
    for (status, inv) in answers {
        assert_eq!(*status, 201, "{inv}");
        seqs.push(seq_of(inv["number"].as_str().unwrap()));
    }
    seqs.sort();
    assert_eq!(
        seqs,
        (1..=expected as i64).collect::<Vec<_>>(),
        "numbers 1 to {expected}, no gap, no duplicate"
    );
}

async fn numbers_are_gapless_under_concurrency(app: TestApp) {
    let shop = ready(&app, "busy").await;
    // Four times as many clients as the pool has connections: a handler that held
    // one connection while it waited for another would stall here.
    let answers = fire(&app.base, &shop, 200, 32).await;
    assert_gapless(&answers, 200);
    // Failed requests use no number; a repeat with the same key uses none either.
    let (status, _) = create(&app, &shop, seed_request(START_PLAN, 0, 1, &shop.org)).await;
    assert_eq!(status, 422);
    let keyed = |key: &'static str| {
        lp(
            &app,
            Method::POST,
            &create_path(&shop.org, START_PRODUCT),
            &shop.token,
        )
        .header("idempotency-key", key)
        .json(&seed_request(START_PLAN, 1, 1, &shop.org))
    };
    let (s1, first) = read(keyed("inv-201").send().await.unwrap()).await;
    let (s2, again) = read(keyed("inv-201").send().await.unwrap()).await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, again);
    assert_eq!(seq_of(first["number"].as_str().unwrap()), 201);
    let (_, next) = create(&app, &shop, seed_request(START_PLAN, 1, 1, &shop.org)).await;
    assert_eq!(seq_of(next["number"].as_str().unwrap()), 202);
    // Numbering is per organization.
    let other = self::shop(&app, "other").await;
    let (_, theirs) = create(&app, &other, seed_request(START_PLAN, 1, 1, &other.org)).await;
    assert_eq!(seq_of(theirs["number"].as_str().unwrap()), 1);
}

/// Two `kopek serve` processes on one PostgreSQL database share the numbering.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_on_one_postgres_share_gapless_numbers() {
    if !crate::harness::postgres_available().await {
        return;
    }
    let app = TestApp::spawn(Backend::Postgres).await;
    let shop = ready(&app, "shared").await;
    let second = crate::harness::spawn_process(&app).await;
    let (a, b) = tokio::join!(
        fire(&app.base, &shop, 100, 4),
        fire(&second.base, &shop, 100, 4)
    );
    let all: Vec<_> = a.into_iter().chain(b).collect();
    assert_gapless(&all, 200);
}

async fn the_lifecycle_and_licenses(app: TestApp) {
    let shop = ready(&app, "life").await;
    let invoice = |months: i64, quantity: i64| {
        let app = &app;
        let shop = &shop;
        async move {
            let (status, inv) = create(
                app,
                shop,
                seed_request(START_PLAN, quantity, months, &shop.org),
            )
            .await;
            assert_eq!(status, 201, "{inv}");
            inv["guid"].as_str().unwrap().to_owned()
        }
    };
    let act = |guid: String, method: &'static str| {
        let app = &app;
        async move {
            app.admin(
                Method::POST,
                &format!("/admin/v1/invoices/{guid}:{method}"),
                None,
            )
            .await
        }
    };
    let products = || start_product(&app, &shop);
    let before = products().await;
    assert_eq!(before["acquired_license"], Value::Null);
    let plan = &before["plans"][0];
    assert_eq!(plan["periods"].as_array().unwrap().len(), 3);
    let twelve = &plan["periods"][1]["price"];
    assert_eq!(twelve["final_price"]["value"], 990_000);
    assert_eq!(twelve["base_price"]["value"], 1_188_000);
    assert_eq!(twelve["final_price_per_month"]["value"], 82_500);
    assert_eq!(twelve["base_price_per_month"]["value"], 99_000);

    let first = invoice(12, 3).await;
    let (status, paid) = act(first.clone(), "pay").await;
    assert_eq!(
        (status, paid["status"].as_str()),
        (200, Some("Paid")),
        "{paid}"
    );
    let after = products().await;
    let license = &after["acquired_license"];
    assert_eq!(license["quantity"], 3);
    assert_eq!(
        license["plan"],
        json!({"guid": START_PLAN, "type_of": "Plan"})
    );
    assert_eq!(license["name"], "Старт");
    let expires = license["expires_at"].as_str().unwrap().to_owned();
    let paid_on = paid["meta_data"]["paid_at"].as_str().unwrap();
    assert_eq!(expires[4..], paid_on[4..], "twelve months later, same day");
    assert_eq!(
        expires[..4].parse::<i32>().unwrap(),
        paid_on[..4].parse::<i32>().unwrap() + 1
    );
    assert_eq!(after["last_paid_subscription_expired_at"], expires.as_str());

    // A second payment extends from the end of the running license.
    let second = invoice(1, 1).await;
    act(second.clone(), "pay").await;
    let extended = products().await["acquired_license"]["expires_at"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(extended > expires, "{extended} after {expires}");

    let illegal = [(first.clone(), "pay"), (first.clone(), "cancel")];
    for (guid, method) in illegal {
        let (status, error) = act(guid, method).await;
        assert_eq!(
            (status, error["error"]["code"].as_str()),
            (409, Some("failed_precondition")),
            "{method}: {error}"
        );
    }
    let (status, refunded) = act(first.clone(), "refund").await;
    assert_eq!(
        (status, refunded["status"].as_str()),
        (200, Some("Refunded"))
    );
    for method in ["refund", "pay", "cancel"] {
        assert_eq!(
            act(first.clone(), method).await.0,
            409,
            "{method} after refund"
        );
    }
    let third = invoice(1, 1).await;
    assert_eq!(
        act(third.clone(), "refund").await.0,
        409,
        "a pending invoice cannot be refunded"
    );
    let (status, canceled) = act(third.clone(), "cancel").await;
    assert_eq!(
        (status, canceled["status"].as_str()),
        (200, Some("Canceled"))
    );
    for method in ["pay", "refund", "cancel"] {
        assert_eq!(
            act(third.clone(), method).await.0,
            409,
            "{method} after cancel"
        );
    }
    let (status, _) = act("00000000-0000-4000-8000-000000000000".to_owned(), "pay").await;
    assert_eq!(status, 404);
    let (status, _) = act(third.clone(), "explode").await;
    assert_eq!(status, 404);
    // The LIFE POS client sees the statuses too, and every change left an event.
    let (_, seen) = read(
        lp(
            &app,
            Method::GET,
            &format!("/orgs/{}/profile/invoices/{first}", shop.org),
            &shop.token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(seen["status"], "Refunded");
    let events: Vec<String> =
        sqlx::query_scalar("SELECT type FROM events WHERE subject = $1 ORDER BY id")
            .bind(&first)
            .fetch_all(app.store().pool())
            .await
            .unwrap();
    assert_eq!(
        events,
        ["invoice.created", "invoice.paid", "invoice.refunded"]
    );
    let extensions: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM events WHERE type = 'license.extended' AND subject = $1")
        .bind(&shop.org)
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(extensions, 2);
}

async fn sign_in_rules_and_lockout(app: TestApp) {
    let shop = ready(&app, "signin").await;
    let login = "owner@signin.example";
    let (status, error) = sign_in(&app, login, "wrong").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("WrongUsernameOrPassword")),
        "{error}"
    );
    let (status, error) = sign_in(&app, "nobody@signin.example", "wrong").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (401, Some("WrongUsernameOrPassword"))
    );
    let (status, error) = read(
        lp(&app, Method::POST, "/auth/sign-in", "")
            .json(&json!({"password": "x", "response_type": "Cookie"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, error["code"].as_str()),
        (422, Some("RequestIsNotValid"))
    );
    assert!(
        error["info"].as_str().unwrap().contains("full_username")
            && error["info"].as_str().unwrap().contains("response_type")
    );
    let (status, token) = read(
        lp(&app, Method::POST, "/auth/sign-in", "")
            .json(&json!({"full_username": login.to_uppercase(), "password": "s3cret-pass", "response_type": "Token"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{token}");
    assert!(token["token"].as_str().unwrap().starts_with("lps_"));

    // The successful sign-in forgot the earlier failure; five new ones lock.
    for _ in 0..5 {
        assert_eq!(sign_in(&app, login, "wrong").await.0, 401);
    }
    let (status, error) = sign_in(&app, login, "s3cret-pass").await;
    assert_eq!(
        (status, error["code"].as_str()),
        (429, Some("TooManyRequests")),
        "five failures lock the login out"
    );
    assert_eq!(sign_in(&app, login, "wrong").await.0, 429);

    // Blocked and deleted users cannot sign in, and their tokens stop working.
    provision(&app, "clerk@signin.example", "pw-clerk").await;
    app.admin(
        Method::POST,
        &format!("/admin/v1/organizations/{}/members", shop.org),
        Some(json!({"login": "clerk@signin.example"})),
    )
    .await;
    let (_, clerk) = sign_in(&app, "clerk@signin.example", "pw-clerk").await;
    let clerk_token = clerk["token"].as_str().unwrap().to_owned();
    let invoices = format!("/orgs/{}/profile/invoices", shop.org);
    assert_eq!(
        read(
            lp(&app, Method::GET, &invoices, &clerk_token)
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        200
    );
    let manage = |method: Method, body: Value| {
        app.request(
            method,
            "/api/v1/billing/user/manage",
            Some(&app.admin_token),
        )
        .json(&body)
        .send()
    };
    manage(
        Method::PATCH,
        json!({"login": "clerk@signin.example", "status": "blocked"}),
    )
    .await
    .unwrap();
    assert_eq!(
        sign_in(&app, "clerk@signin.example", "pw-clerk").await.0,
        401
    );
    assert_eq!(
        read(
            lp(&app, Method::GET, &invoices, &clerk_token)
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        401
    );
    manage(
        Method::PATCH,
        json!({"login": "clerk@signin.example", "status": "active"}),
    )
    .await
    .unwrap();
    assert_eq!(
        read(
            lp(&app, Method::GET, &invoices, &clerk_token)
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        200
    );
    manage(Method::DELETE, json!({"login": "clerk@signin.example"}))
        .await
        .unwrap();
    assert_eq!(
        sign_in(&app, "clerk@signin.example", "pw-clerk").await.0,
        401
    );
    assert_eq!(
        read(
            lp(&app, Method::GET, &invoices, &clerk_token)
                .send()
                .await
                .unwrap()
        )
        .await
        .0,
        401
    );
    // A member of no organization signs in but can touch none.
    provision(&app, "loner@signin.example", "pw-loner").await;
    let (_, loner) = sign_in(&app, "loner@signin.example", "pw-loner").await;
    assert_eq!(
        read(
            lp(
                &app,
                Method::GET,
                &invoices,
                loner["token"].as_str().unwrap()
            )
            .send()
            .await
            .unwrap()
        )
        .await
        .0,
        403
    );
}

async fn invoice_lists_filter_and_page(backend: Backend) {
    let mut days = Vec::new();
    let mut shop_token = None;
    let base_app = TestApp::spawn(backend).await;
    let shop = ready(&base_app, "pages").await;
    // Invoices on three different days, made by servers whose clock is fixed.
    for (i, day) in [
        "2026-03-01T10:00:00Z",
        "2026-03-02T10:00:00Z",
        "2026-03-03T10:00:00Z",
    ]
    .iter()
    .enumerate()
    {
        let mut config_app = base_app.db.config();
        config_app.fixed_time = Some((*day).to_owned());
        let server = kopek::Server::start(&config_app, |w| w).await.unwrap();
        let base = format!("http://{}", server.addr);
        for _ in 0..=i {
            let response = reqwest::Client::new()
                .post(format!("{base}{}", create_path(&shop.org, START_PRODUCT)))
                .bearer_auth(&shop.token)
                .header("x-lp-client-identifier", CLIENT_ID)
                .header("x-lp-client-type", "App")
                .header("accept-language", "en")
                .json(&seed_request(START_PLAN, 1, 1, &shop.org))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 201);
        }
        server.stop().await;
        days.push(*day);
        shop_token = Some(shop.token.clone());
    }
    let token = shop_token.unwrap();
    let list_as = |token: String, org: String, query: String| {
        let app = &base_app;
        async move {
            read(
                lp(
                    app,
                    Method::GET,
                    &format!("/orgs/{org}/profile/invoices?{query}"),
                    &token,
                )
                .send()
                .await
                .unwrap(),
            )
            .await
        }
    };
    let list = |query: String| list_as(token.clone(), shop.org.clone(), query);
    let (status, all) =
        list("include_items_total=true&presentation=full&selection=alive_only".to_owned()).await;
    assert_eq!(status, 200, "{all}");
    assert_eq!(all["items_total"], 6);
    assert_eq!(all["type_of"], "List");
    let created: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["created_at"].as_str().unwrap())
        .collect();
    assert!(
        created.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {created:?}"
    );
    let (_, window) =
        list("created_from=2026-03-02T00:00:00Z&created_to=2026-03-02T23:59:59Z&include_items_total=true".to_owned()).await;
    assert_eq!(window["items_total"], 2, "{window}");
    let (_, later) = list(
        "created_from=2026-03-02T00:00:00%2B03:00&order_by=created_at_asc&include_items_total=true"
            .to_owned(),
    )
    .await;
    assert_eq!(later["items_total"], 5);
    assert_eq!(
        later["items"][0]["created_at"].as_str().unwrap()[..10],
        *"2026-03-02"
    );

    let mut seen = BTreeSet::new();
    let mut page_token = String::new();
    let mut page = 0;
    loop {
        let (status, body) = list(format!(
            "items_per_page=4&include_items_total=true&page_token={page_token}"
        ))
        .await;
        assert_eq!(status, 200, "{body}");
        page += 1;
        assert_eq!(
            (
                body["page_number"].as_i64(),
                body["pages_total"].as_i64(),
                body["items_per_page"].as_i64()
            ),
            (Some(page), Some(2), Some(4))
        );
        for item in body["items"].as_array().unwrap() {
            assert!(
                seen.insert(item["guid"].as_str().unwrap().to_owned()),
                "each invoice once"
            );
        }
        match body["next_page_token"].as_str() {
            Some(t) => page_token = t.to_owned(),
            None => break,
        }
    }
    assert_eq!(seen.len(), 6);
    for bad in [
        "created_from=yesterday",
        "order_by=price",
        "items_per_page=0",
        "page_token=forged",
        "selection=deleted",
    ] {
        let (status, error) = list(bad.to_owned()).await;
        assert_eq!(
            (status, error["code"].as_str()),
            (422, Some("RequestIsNotValid")),
            "{bad}: {error}"
        );
    }
    let (_, archived) = list("selection=archived_only&include_items_total=true".to_owned()).await;
    assert_eq!(archived["items_total"], 0);
    let (_, compact) = list("presentation=compact".to_owned()).await;
    assert_eq!(
        compact["items"][0]["positions"],
        Value::Null,
        "compact leaves out positions"
    );
    assert!(compact["items"][0]["total_sum"].is_object());
    let (_, full) = list("presentation=full".to_owned()).await;
    assert!(full["items"][0]["positions"].is_array());
    let (_, uncounted) = list(String::new()).await;
    assert_eq!(
        (
            uncounted["items_total"].clone(),
            uncounted["pages_total"].clone()
        ),
        (Value::Null, Value::Null),
        "counted only when asked"
    );
    assert_eq!(uncounted["items"].as_array().unwrap().len(), 6);

    // The organization's guid in capitals is the same organization.
    let upper = list_as(token.clone(), shop.org.to_ascii_uppercase(), String::new()).await;
    assert_eq!(
        upper.1["items"].as_array().map(Vec::len),
        Some(6),
        "{upper:?}"
    );
    // An admin learns which organizations exist: empty is not missing.
    let admin_list = |org: String| list_as(base_app.admin_token.clone(), org, String::new());
    let (status, missing) = admin_list("00000000-0000-4000-8000-000000000000".to_owned()).await;
    assert_eq!(
        (status, missing["code"].as_str()),
        (404, Some("NotFound")),
        "{missing}"
    );
    let empty = organization(&base_app, "empty", None).await;
    let (status, none) = admin_list(empty).await;
    assert_eq!(
        (status, none["items"].as_array().map(Vec::len)),
        (200, Some(0)),
        "{none}"
    );
}

async fn catalog_versions_keep_invoice_prices(app: TestApp) {
    let shop = ready(&app, "prices").await;
    let (_, before) = create(&app, &shop, seed_request(START_PLAN, 1, 1, &shop.org)).await;
    assert_eq!(before["total_sum"]["value"], 99_000);
    let mut cheaper = example_catalog();
    cheaper["products"][0]["plans"][0]["periods"][0]["final_price"] = json!(79_000);
    let replaced = put_catalog(&app, cheaper.clone()).await;
    assert_eq!(
        (replaced["version"].as_i64(), replaced["created"].as_bool()),
        (Some(2), Some(true))
    );
    let same = put_catalog(&app, cheaper).await;
    assert_eq!(
        (same["version"].as_i64(), same["created"].as_bool()),
        (Some(2), Some(false)),
        "nothing changed"
    );
    let (_, after) = create(&app, &shop, seed_request(START_PLAN, 1, 1, &shop.org)).await;
    assert_eq!(after["total_sum"]["value"], 79_000);
    let (_, old) = read(
        lp(
            &app,
            Method::GET,
            &format!(
                "/orgs/{}/profile/invoices/{}",
                shop.org,
                before["guid"].as_str().unwrap()
            ),
            &shop.token,
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(
        old["total_sum"]["value"], 99_000,
        "an invoice keeps its prices"
    );
    let (_, current) = app.admin(Method::GET, "/admin/v1/catalog", None).await;
    assert_eq!(current["version"], 2);

    let mut broken = example_catalog();
    broken["products"][0]["plans"][0]["periods"][0]["period_in_months"] = json!(0);
    broken["products"][1]["guid"] = broken["products"][0]["guid"].clone();
    let (status, error) = app
        .admin(Method::PUT, "/admin/v1/catalog", Some(broken))
        .await;
    assert_eq!(status, 400, "{error}");
    let fields: Vec<&str> = error["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "products.0.plans.0.periods.0.period_in_months",
            "products.1.guid"
        ]
    );
    let (status, _) = app
        .admin(
            Method::PUT,
            "/admin/v1/catalog",
            Some(json!({"products": [], "extra": 1})),
        )
        .await;
    assert_eq!(status, 400);
}

async fn a_catalog_file_loads_at_start(backend: Backend) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/catalog.json");
    let app = TestApp::spawn_with(backend, |c| c.catalog = Some(path.into()), |w| w).await;
    let (_, current) = app.admin(Method::GET, "/admin/v1/catalog", None).await;
    assert_eq!(current["version"], 1);
    let products = current["catalog"]["products"].as_array().unwrap();
    assert!(products.len() >= 2);
    for product in products {
        for plan in product["plans"].as_array().unwrap() {
            let months: Vec<i64> = plan["periods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["period_in_months"].as_i64().unwrap())
                .collect();
            assert_eq!(months, [1, 12, 36]);
            assert!(
                plan["periods"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["currency"] == "RUB")
            );
        }
    }
    // Loading the same file again (a restart) makes no new version.
    kopek::load_catalog(app.store(), std::path::Path::new(path))
        .await
        .unwrap();
    let (_, again) = app.admin(Method::GET, "/admin/v1/catalog", None).await;
    assert_eq!(again["version"], 1);
}

async fn organizations_are_validated(app: TestApp) {
    let cases = [
        (
            json!({"alias": "ok", "company": {"name": "A", "inn": "7707083894", "kpp": "773601001"}}),
            "company.inn",
        ),
        (
            json!({"alias": "ok", "company": {"name": "A", "inn": "7707083893", "kpp": "77360100"}}),
            "company.kpp",
        ),
        (
            json!({"alias": "ok", "company": {"name": "A", "inn": "7707083893"}}),
            "company.kpp",
        ),
        (
            json!({"alias": "Not OK", "company": {"name": "A", "inn": "500100732259"}}),
            "alias",
        ),
        (json!({"alias": "ok"}), "company"),
    ];
    for (body, field) in cases {
        let (status, error) = app
            .admin(Method::POST, "/admin/v1/organizations", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body} -> {error}");
        assert_eq!(
            error["error"]["fields"][0]["field"], field,
            "{body} -> {error}"
        );
    }
    let guid = organization(&app, "unique", None).await;
    let (status, error) = app
        .admin(
            Method::POST,
            "/admin/v1/organizations",
            Some(json!({"alias": "unique", "company": {"name": "B", "inn": "500100732259"}})),
        )
        .await;
    assert_eq!(
        (status, error["error"]["fields"][0]["field"].as_str()),
        (400, Some("alias"))
    );
    let (status, org) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/organizations/{guid}"),
            None,
        )
        .await;
    assert_eq!(
        (status, org["company"]["inn"].as_str()),
        (200, Some("7707083893"))
    );
    let (status, list) = app
        .admin(Method::GET, "/admin/v1/organizations", None)
        .await;
    assert_eq!(
        (status, list["organizations"].as_array().unwrap().len()),
        (200, 1)
    );
    let (status, error) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/organizations/{guid}/members"),
            Some(json!({"login": "ghost@x.example"})),
        )
        .await;
    assert_eq!(
        (status, error["error"]["fields"][0]["field"].as_str()),
        (400, Some("login"))
    );
}

/// LIFE POS clients in the wild send `Authorization: <token>` without a scheme: a
/// session token and an organization key both work so; any other scheme does not.
async fn a_bare_token_is_accepted(app: TestApp) {
    let shop = ready(&app, "bare").await;
    let (_, org_key) = app.key("organization", Some(&shop.org)).await;
    let products = format!("/orgs/{}/profile/subscriptions/products", shop.org);
    for (value, expected) in [
        (shop.token.clone(), 200),
        (format!("Bearer {}", shop.token), 200),
        (org_key.clone(), 200),
        (format!("bearer {org_key}"), 200),
        (format!("Basic {org_key}"), 401),
        (format!("Token {}", shop.token), 401),
        ("lps_nonsense".to_owned(), 401),
    ] {
        let (status, body) = read(
            client_headers(app.request(Method::GET, &products, None))
                .header("authorization", &value)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, expected, "{value}: {body}");
        if expected == 401 {
            assert_eq!(body["code"], "Unauthorized", "{body}");
        }
    }
    let (status, invoice) = read(
        client_headers(app.request(Method::POST, &create_path(&shop.org, START_PRODUCT), None))
            .header("authorization", &shop.token)
            .json(&seed_request(START_PLAN, 1, 1, &shop.org))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{invoice}");
}

both_backends!(
    a_bare_token_is_accepted,
    the_seed_request_creates_the_documented_invoice,
    every_validation_rule,
    organizations_keep_to_themselves,
    vat_follows_the_invoice_date,
    numbers_are_gapless_under_concurrency,
    the_lifecycle_and_licenses,
    sign_in_rules_and_lockout,
    invoice_lists_filter_and_page,
    catalog_versions_keep_invoice_prices,
    a_catalog_file_loads_at_start,
    organizations_are_validated,
);
