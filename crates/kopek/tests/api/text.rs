//! Control characters: a NUL (or any other control character) in any string field
//! of any write, in any path id or query value, is a validation error in the
//! family's own dialect on both backends, and nothing is stored. PostgreSQL's
//! `text` refuses NUL (a 500 before this check) while SQLite stored it.

use crate::both_backends;
use crate::harness::{Backend, TestApp, read};
use crate::lifepos::{CLIENT_ID, START_PLAN, START_PRODUCT, ready};
use kopek_api::payments::callback::sign;
use reqwest::Method;
use serde_json::{Value, json};
use std::collections::BTreeSet;

const SECRET: &str = "callback-secret";

/// Every string leaf of `body` (and every object key), as the path a validation
/// error names and the body with a NUL put into that one place.
fn poisoned(body: &Value) -> Vec<(String, Value)> {
    fn walk(
        value: &Value,
        path: String,
        out: &mut Vec<(String, Value)>,
        replace: &dyn Fn(Value) -> Value,
    ) {
        match value {
            Value::String(s) => out.push((path, replace(Value::String(format!("{s}\u{0}x"))))),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let items = items.clone();
                    walk(item, format!("{path}[{i}]"), out, &|v| {
                        let mut items = items.clone();
                        items[i] = v;
                        replace(Value::Array(items))
                    });
                }
            }
            Value::Object(members) => {
                for (key, member) in members {
                    let at = if path.is_empty() {
                        key.clone()
                    } else {
                        format!("{path}.{key}")
                    };
                    let members = members.clone();
                    let k = key.clone();
                    walk(member, at, out, &|v| {
                        let mut members = members.clone();
                        members.insert(k.clone(), v);
                        replace(Value::Object(members))
                    });
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(body, String::new(), &mut out, &|v| v);
    out
}

/// Row counts of every table but the ones a refused request may still touch
/// (the sign-in attempts it counts).
async fn rows(app: &TestApp) -> Vec<(String, i64)> {
    let names: Vec<String> = match app.store().backend() {
        kopek_store::Backend::Sqlite => {
            sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name")
                .fetch_all(app.store().pool())
                .await
                .unwrap()
        }
        kopek_store::Backend::Postgres => sqlx::query_scalar(
            "SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() ORDER BY 1",
        )
        .fetch_all(app.store().pool())
        .await
        .unwrap(),
    };
    let mut counts = Vec::new();
    // The events' queues and chain links change whenever the background workers
    // run; a refused request writing no event shows in the events' own count.
    let background = ["event_fan_out_queue", "event_links", "event_seal_queue"];
    for name in names
        .into_iter()
        .filter(|n| !background.contains(&n.as_str()))
    {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT CAST(COUNT(*) AS BIGINT) FROM {name}"
        )))
        .fetch_one(app.store().pool())
        .await
        .unwrap();
        counts.push((name, n));
    }
    counts
}

/// The family's validation error, naming `field`.
fn assert_refused(path: &str, status: u16, body: &Value, field: &str) {
    let text = body.to_string();
    assert!(
        status == 400 || status == 422,
        "{path} with a NUL in {field}: {status} {text}"
    );
    let dialect = if path.starts_with("/billing/") || path.starts_with("/operations") {
        body["code"] == 3 && text.contains("google.rpc.BadRequest")
    } else if path.starts_with("/orgs/") || path.starts_with("/auth/") {
        body["code"] == "RequestIsNotValid"
    } else if path.starts_with("/api/v1/billing/") {
        body["errors"].is_object()
    } else {
        body["error"]["code"].is_string()
    };
    assert!(dialect, "{path}: not the family's dialect: {text}");
    assert!(
        text.contains(field),
        "{path}: the error does not name {field}: {text}"
    );
}

async fn every_string_field_and_path_id_refuses_control_characters(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        |c| c.payment_callback_secret = Some(SECRET.to_owned()),
        |w| w,
    )
    .await;
    let shop = ready(&app, "textual").await;
    let reseller = app.reseller("Textual Reseller").await;
    let (status, invoice) = crate::lifepos::create(
        &app,
        &shop,
        crate::lifepos::seed_request(START_PLAN, 1, 1, &shop.org),
    )
    .await;
    assert_eq!(status, 201, "{invoice}");
    let invoice = invoice["guid"].as_str().unwrap().to_owned();
    let catalog = crate::lifepos::example_catalog();
    let person = json!({"name": "Ivan", "longname": "Ivan Petrov", "phone": "+74957397000",
        "email": "ivan@romashka.example", "postCode": "123456", "postAddress": "Moscow",
        "legalAddress": "Moscow", "tin": "7707083893"});
    let org = shop.org.clone();
    let (status, hook) = app
        .admin(
            Method::POST,
            "/admin/v1/webhook-endpoints",
            Some(json!({"url": "https://hooks.example.com/kopek"})),
        )
        .await;
    assert_eq!(status, 201, "{hook}");
    let hook = hook["id"].as_str().unwrap().to_owned();
    let w = |method: Method, template: &str, concrete: String, body: Value| {
        (method, template.to_owned(), concrete, body)
    };
    let writes = vec![
        w(
            Method::POST,
            "/admin/v1/webhook-endpoints",
            "/admin/v1/webhook-endpoints".into(),
            json!({"url": "https://hooks.example.com/a", "event_types": ["invoice."], "description": "books"}),
        ),
        w(
            Method::PATCH,
            "/admin/v1/webhook-endpoints/{id}",
            format!("/admin/v1/webhook-endpoints/{hook}"),
            json!({"url": "https://hooks.example.com/b", "event_types": ["*"], "description": "new"}),
        ),
        w(
            Method::POST,
            "/admin/v1/test-clock",
            "/admin/v1/test-clock".into(),
            json!({"now": "2030-01-01T00:00:00Z"}),
        ),
        w(
            Method::POST,
            "/admin/v1/resellers",
            "/admin/v1/resellers".into(),
            json!({"name": "R", "countryCode": "RU", "currency": "RUB"}),
        ),
        w(
            Method::POST,
            "/admin/v1/api-keys",
            "/admin/v1/api-keys".into(),
            json!({"role": "reseller", "scope": reseller, "name": "k"}),
        ),
        w(
            Method::PUT,
            "/admin/v1/catalog",
            "/admin/v1/catalog".into(),
            catalog,
        ),
        w(
            Method::POST,
            "/admin/v1/organizations",
            "/admin/v1/organizations".into(),
            json!({"alias": "nul", "company": {"name": "ООО", "inn": "7707083893", "kpp": "773601001"}}),
        ),
        w(
            Method::PATCH,
            "/admin/v1/organizations/{guid}",
            format!("/admin/v1/organizations/{org}"),
            json!({"billingEmail": "books@textual.example", "language": "en"}),
        ),
        w(
            Method::POST,
            "/admin/v1/subscriptions/{id}:cancel",
            "/admin/v1/subscriptions/sub_textual:cancel".into(),
            json!({"at": "now"}),
        ),
        w(
            Method::POST,
            "/admin/v1/subscriptions/{id}:change-plan",
            "/admin/v1/subscriptions/sub_textual:change-plan".into(),
            json!({"plan": START_PLAN}),
        ),
        w(
            Method::POST,
            "/admin/v1/organizations/{guid}/members",
            format!("/admin/v1/organizations/{org}/members"),
            json!({"login": "owner@textual.example"}),
        ),
        w(
            Method::POST,
            "/admin/v1/invoices/{guid}:pay",
            format!("/admin/v1/invoices/{invoice}:pay"),
            json!({"method": "transfer", "reference": "r1"}),
        ),
        w(
            Method::POST,
            "/api/v1/billing/user/manage",
            "/api/v1/billing/user/manage".into(),
            json!({"login": "new@textual.example", "password": "pw-123456",
            "type": "user", "name": "N", "status": "active", "billing_info": {"plan": "a"},
            "billing_properties": [{"type": "t", "value": "v"}]}),
        ),
        w(
            Method::PATCH,
            "/api/v1/billing/user/manage",
            "/api/v1/billing/user/manage".into(),
            json!({"login": "owner@textual.example", "name": "N",
            "permissions_to_attach": ["p"], "permissions_to_detach": ["q"]}),
        ),
        w(
            Method::DELETE,
            "/api/v1/billing/user/manage",
            "/api/v1/billing/user/manage".into(),
            json!({"login": "owner@textual.example"}),
        ),
        w(
            Method::POST,
            "/auth/sign-in",
            "/auth/sign-in".into(),
            json!({"full_username": "owner@textual.example", "password": "s3cret-pass", "response_type": "Session"}),
        ),
        w(
            Method::POST,
            "/orgs/{org_guid}/profile/subscriptions/products/{product_guid}:create-invoice",
            format!("/orgs/{org}/profile/subscriptions/products/{START_PRODUCT}:create-invoice"),
            json!({"plan": {"guid": START_PLAN, "type_of": "Plan"}, "who_pays": {"guid": org, "type_of": "Organization"},
                "type_of": "CreateInvoice"}),
        ),
        w(
            Method::POST,
            "/billing/v1/customers:invite",
            "/billing/v1/customers:invite".into(),
            json!({"resellerId": reseller, "name": "C",
            "invitationEmail": "c@romashka.example", "person": person}),
        ),
        w(
            Method::POST,
            "/billing/v1/customers:createResellerServedCustomer",
            "/billing/v1/customers:createResellerServedCustomer".into(),
            json!({"resellerId": reseller, "name": "C", "person": person}),
        ),
        w(
            Method::POST,
            "/payments/callback/{provider}",
            "/payments/callback/test".into(),
            json!({"invoice_guid": invoice, "reference": "r2", "status": "succeeded"}),
        ),
    ];

    // Every documented write with a JSON body is walked here.
    let (_, document) = read(
        app.request(Method::GET, "/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let mut with_body = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            if operation["requestBody"]["content"]["application/json"].is_object() {
                with_body.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    let walked: BTreeSet<String> = writes
        .iter()
        .map(|(m, t, _, _)| format!("{m} {t}"))
        .collect();
    assert_eq!(
        with_body.difference(&walked).collect::<Vec<_>>(),
        Vec::<&String>::new()
    );

    let before = rows(&app).await;
    for (method, _, path, body) in &writes {
        for (field, bad) in poisoned(body) {
            let raw = serde_json::to_vec(&bad).unwrap();
            let mut request = app
                .request(method.clone(), path, Some(&app.admin_token))
                .header("content-type", "application/json")
                .header("x-lp-client-identifier", CLIENT_ID)
                .header("x-lp-client-type", "Service")
                .header("accept-language", "en");
            if path.starts_with("/payments/") {
                let t = kopek_domain::time::Timestamp::now().micros() / 1_000_000;
                request = request.header("x-kopek-signature", sign(SECRET.as_bytes(), t, &raw));
            }
            let (status, answer) = read(request.body(raw).send().await.unwrap()).await;
            if path.starts_with("/payments/") {
                // The provider callback has its own small error body.
                assert_eq!(status, 400, "{field}: {answer}");
                continue;
            }
            assert_refused(path, status, &answer, &field);
        }
    }

    // Path ids and query values, on every documented route with a parameter.
    for (path, item) in document["paths"].as_object().unwrap() {
        if !path.contains('{') {
            continue;
        }
        let concrete = path
            .split('/')
            .map(|s| match s.find('{') {
                Some(at) => format!("{}a%00b{}", &s[..at], &s[s.find('}').unwrap() + 1..]),
                None => s.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        for method in item.as_object().unwrap().keys() {
            let (status, answer) = read(
                app.request(
                    method.to_uppercase().parse().unwrap(),
                    &concrete,
                    Some(&app.admin_token),
                )
                .header("x-lp-client-identifier", CLIENT_ID)
                .header("x-lp-client-type", "Service")
                .send()
                .await
                .unwrap(),
            )
            .await;
            if path.starts_with("/invitations/")
                || path.starts_with("/invoices/")
                || path.starts_with("/payments/")
                || path.starts_with("/console/")
                || path == "/docs"
            {
                assert!(
                    (400..500).contains(&status),
                    "{method} {concrete}: {status}"
                );
            } else {
                assert_refused(&concrete, status, &answer, "path");
            }
        }
    }
    let (status, answer) = read(
        app.request(
            Method::GET,
            "/billing/v1/customers?resellerId=a%00b",
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_refused("/billing/v1/customers", status, &answer, "resellerId");
    // Not UTF-8 at all: the same error, not axum's plain text.
    let (status, answer) = read(
        app.request(
            Method::GET,
            "/admin/v1/resellers/%FF%FE",
            Some(&app.admin_token),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_refused("/admin/v1/resellers", status, &answer, "path");

    assert_eq!(
        rows(&app).await,
        before,
        "a refused request stored something"
    );
    assert!(
        !crate::harness::logs().contains("invalid byte sequence"),
        "PostgreSQL saw a NUL"
    );
}

both_backends!(every_string_field_and_path_id_refuses_control_characters);
