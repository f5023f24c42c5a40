//! Family A: the Yandex Cloud Billing customers API over REST.

use crate::both_backends;
use crate::harness::{Backend, TestApp, read};
use crate::smtp::SmtpSink;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const METADATA: &str = "type.googleapis.com/yandex.cloud.billing.v1.CustomerMetadata";
const CUSTOMER: &str = "type.googleapis.com/yandex.cloud.billing.v1.Customer";

pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut request = app.request(method, path, Some(token));
    if let Some(body) = body {
        request = request.json(&body);
    }
    read(request.send().await.unwrap()).await
}

/// Seed 000's body with its placeholders replaced by valid values.
pub fn invite_body(reseller: &str) -> Value {
    json!({
        "resellerId": reseller,
        "name": "Romashka LLC",
        "invitationEmail": "owner@romashka.example",
        "person": {
            "name": "Ivan Petrov",
            "longname": "Limited Liability Company Romashka",
            "phone": "+7 495 739-70-00",
            "email": "ivan@romashka.example",
            "postCode": "119021",
            "postAddress": "Moscow, Lva Tolstogo 16",
            "legalAddress": "Moscow, Lva Tolstogo 16",
            "tin": "7704340310"
        }
    })
}

/// Seed 001's body with its placeholders replaced by valid values.
fn served_body(reseller: &str) -> Value {
    let mut body = invite_body(reseller);
    body.as_object_mut().unwrap().remove("invitationEmail");
    body
}

fn is_rfc3339_with_fraction(s: &str) -> bool {
    s.len() > 20 && s.ends_with('Z') && s.as_bytes()[10] == b'T' && s.contains('.')
}

/// Checks an Operation field by field against the seeds' documented shape.
fn check_operation(op: &Value, created_by: &str, reseller: &str) -> (String, String) {
    let keys: Vec<&str> = op.as_object().unwrap().keys().map(String::as_str).collect();
    for key in [
        "id",
        "description",
        "createdAt",
        "createdBy",
        "modifiedAt",
        "done",
        "metadata",
        "response",
    ] {
        assert!(keys.contains(&key), "{key} missing from {op}");
    }
    assert!(
        !keys.contains(&"error"),
        "only one of error and response: {op}"
    );
    assert!(!op["id"].as_str().unwrap().is_empty());
    assert!(op["description"].as_str().unwrap().len() <= 256);
    assert!(
        is_rfc3339_with_fraction(op["createdAt"].as_str().unwrap()),
        "{op}"
    );
    assert!(
        is_rfc3339_with_fraction(op["modifiedAt"].as_str().unwrap()),
        "{op}"
    );
    assert_eq!(op["createdBy"], created_by);
    assert_eq!(op["done"], true);
    assert_eq!(op["metadata"]["@type"], METADATA);
    assert_eq!(op["metadata"]["resellerId"], reseller);
    assert_eq!(op["response"]["@type"], CUSTOMER);
    assert_eq!(op["response"]["id"], op["metadata"]["customerId"]);
    let customer = op["response"]["id"].as_str().unwrap().to_owned();
    let account = op["response"]["billingAccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(!customer.is_empty() && !account.is_empty());
    (customer, account)
}

/// Creates a reseller-served customer (seed 001's body) and returns the Operation.
pub async fn served(app: &TestApp, token: &str, reseller: &str) -> Value {
    let path = "/billing/v1/customers:createResellerServedCustomer";
    let (status, op) = call(app, Method::POST, path, token, Some(served_body(reseller))).await;
    assert_eq!(status, 200, "{op}");
    op
}

/// Invites a customer (seed 000's body) and returns the Operation.
pub async fn invited(app: &TestApp, token: &str, reseller: &str) -> Value {
    let path = "/billing/v1/customers:invite";
    let (status, op) = call(app, Method::POST, path, token, Some(invite_body(reseller))).await;
    assert_eq!(status, 200, "{op}");
    op
}

pub async fn reseller_with_key(app: &TestApp, name: &str) -> (String, String, String) {
    let reseller = app.reseller(name).await;
    let (key_id, token) = app.key("reseller", Some(&reseller)).await;
    (reseller, key_id, token)
}

async fn account(app: &TestApp, token: &str, id: &str) -> Value {
    let (status, body) = call(
        app,
        Method::GET,
        &format!("/billing/v1/billingAccounts/{id}"),
        token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn seed_examples_return_the_documented_operation(app: TestApp) {
    let (reseller, key_id, token) = reseller_with_key(&app, "Reseller One").await;
    let op = invited(&app, &token, &reseller).await;
    let (invited, invited_account) = check_operation(&op, &key_id, &reseller);
    assert_eq!(
        account(&app, &token, &invited_account).await["active"],
        false,
        "INVITED is not active"
    );

    let op = served(&app, &token, &reseller).await;
    let (served, served_account) = check_operation(&op, &key_id, &reseller);
    assert_ne!(served, invited);
    let ba = account(&app, &token, &served_account).await;
    assert_eq!(ba["active"], true);
    assert_eq!(ba["name"], "Romashka LLC");
    assert_eq!(
        (ba["currency"].as_str(), ba["countryCode"].as_str()),
        (Some("RUB"), Some("RU"))
    );
    assert_eq!(ba["balance"], "0.00");

    // Protobuf JSON also takes the original field names; unknown fields are ignored.
    let (status, op) = call(
        &app,
        Method::POST,
        "/billing/v1/customers:createResellerServedCustomer",
        &token,
        Some(json!({"reseller_id": reseller, "name": "Snake", "person": {"post_code": "1"}, "futureField": 1})),
    )
    .await;
    assert_eq!(status, 200, "{op}");

    let (status, list) = call(
        &app,
        Method::GET,
        &format!("/billing/v1/customers?resellerId={reseller}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{list}");
    assert_eq!(list["customers"].as_array().unwrap().len(), 3);
    assert_eq!(list["nextPageToken"], "");
    let first = &list["customers"][0];
    assert!(first["id"].is_string() && first["billingAccountId"].is_string());
}

async fn every_validation_rule_names_its_field(app: TestApp) {
    let us = app
        .admin(
            Method::POST,
            "/admin/v1/resellers",
            Some(json!({"name": "US reseller", "countryCode": "US", "currency": "USD"})),
        )
        .await
        .1["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (reseller, _, token) = reseller_with_key(&app, "Validating").await;
    const INVITE: &str = "/billing/v1/customers:invite";
    const SERVED: &str = "/billing/v1/customers:createResellerServedCustomer";
    // (endpoint, member to change, its new value or None to drop it, field named)
    let cases: Vec<(&str, &str, Option<Value>, &str)> = vec![
        (INVITE, "resellerId", None, "resellerId"),
        (INVITE, "resellerId", Some(json!("")), "resellerId"),
        (
            INVITE,
            "resellerId",
            Some(json!("r".repeat(51))),
            "resellerId",
        ),
        (INVITE, "name", None, "name"),
        (INVITE, "name", Some(json!(["x"])), "name"),
        (INVITE, "invitationEmail", None, "invitationEmail"),
        (
            INVITE,
            "invitationEmail",
            Some(json!("not an email")),
            "invitationEmail",
        ),
        (INVITE, "person", None, "person"),
        (INVITE, "person.email", Some(json!("ivan@")), "person.email"),
        (INVITE, "person.phone", Some(json!("12")), "person.phone"),
        (
            INVITE,
            "person.phone",
            Some(json!("1-800-FLOWERS")),
            "person.phone",
        ),
        (
            INVITE,
            "person.phone",
            Some(json!(79991234567u64)),
            "person.phone",
        ),
        (
            SERVED,
            "resellerId",
            Some(json!("Not_A_Valid_Id")),
            "resellerId",
        ),
        (SERVED, "resellerId", None, "resellerId"),
        (SERVED, "name", None, "name"),
        (SERVED, "person", None, "person"),
        (SERVED, "person.email", Some(json!("@x")), "person.email"),
        (SERVED, "person.phone", Some(json!("phone")), "person.phone"),
    ];
    for (path, member, value, field) in cases {
        let mut body = if path == INVITE {
            invite_body(&reseller)
        } else {
            served_body(&reseller)
        };
        let (parent, key) = match member.split_once('.') {
            Some((parent, key)) => (&mut body[parent], key),
            None => (&mut body, member),
        };
        match value {
            Some(v) => parent[key] = v,
            None => {
                parent.as_object_mut().unwrap().remove(key);
            }
        }
        let (status, error) = call(&app, Method::POST, path, &token, Some(body.clone())).await;
        assert_eq!(status, 400, "{path} {body} -> {error}");
        assert_eq!(error["code"], 3, "{error}");
        let details = error["details"].as_array().unwrap();
        let bad_request = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .unwrap_or_else(|| panic!("no BadRequest in {error}"));
        let fields: Vec<&str> = bad_request["fieldViolations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["field"].as_str().unwrap())
            .collect();
        assert!(
            fields.contains(&field),
            "{path} {body}: wanted {field}, got {error}"
        );
        assert!(
            details.iter().any(
                |d| d["@type"] == "type.googleapis.com/google.rpc.RequestInfo"
                    && d["requestId"].is_string()
            ),
            "{error}"
        );
    }
    // Other person fields have no length limit within the body limit.
    let mut long = invite_body(&reseller);
    long["person"]["longname"] = json!("x".repeat(100_000));
    assert_eq!(
        call(&app, Method::POST, INVITE, &token, Some(long)).await.0,
        200
    );
    // A phoneword is read in the reseller's country.
    let mut word = served_body(&us);
    word["person"]["phone"] = json!("1-800-FLOWERS");
    let (status, body) = call(&app, Method::POST, SERVED, &app.admin_token, Some(word)).await;
    assert_eq!(status, 200, "{body}");
    // Bodies that are not JSON objects are INVALID_ARGUMENT too, never a 500.
    let broken = app
        .request(Method::POST, INVITE, Some(&token))
        .header("content-type", "application/json")
        .body("{")
        .send()
        .await
        .unwrap();
    let (status, error) = read(broken).await;
    assert_eq!((status, error["code"].as_i64()), (400, Some(3)), "{error}");
    let (_, list) = call(
        &app,
        Method::GET,
        &format!("/billing/v1/customers?resellerId={reseller}"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        list["customers"].as_array().unwrap().len(),
        1,
        "no half-written customers: {list}"
    );
}

async fn resellers_cannot_touch_each_others_customers(app: TestApp) {
    let (a, _, token_a) = reseller_with_key(&app, "A").await;
    let (b, _, token_b) = reseller_with_key(&app, "B").await;
    let op = served(&app, &token_b, &b).await;
    let customer_b = op["response"]["id"].as_str().unwrap().to_owned();
    let account_b = op["response"]["billingAccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    let op_b = op["id"].as_str().unwrap().to_owned();

    let denied = [
        call(
            &app,
            Method::GET,
            &format!("/billing/v1/customers?resellerId={b}"),
            &token_a,
            None,
        )
        .await,
        call(
            &app,
            Method::POST,
            "/billing/v1/customers:invite",
            &token_a,
            Some(invite_body(&b)),
        )
        .await,
        call(
            &app,
            Method::POST,
            "/billing/v1/customers:createResellerServedCustomer",
            &token_a,
            Some(served_body(&b)),
        )
        .await,
        call(
            &app,
            Method::POST,
            &format!("/billing/v1/customers/{customer_b}:suspend"),
            &token_a,
            None,
        )
        .await,
        call(
            &app,
            Method::POST,
            &format!("/billing/v1/customers/{customer_b}:activate"),
            &token_a,
            None,
        )
        .await,
        call(
            &app,
            Method::GET,
            &format!("/operations/{op_b}"),
            &token_a,
            None,
        )
        .await,
        call(
            &app,
            Method::GET,
            &format!("/billing/v1/billingAccounts/{account_b}"),
            &token_a,
            None,
        )
        .await,
        call(
            &app,
            Method::GET,
            &format!("/billing/v1/billingAccounts/{b}"),
            &token_a,
            None,
        )
        .await,
        // What does not exist looks the same as what belongs to another reseller.
        call(
            &app,
            Method::POST,
            "/billing/v1/customers/bcunosuchcustomer000:suspend",
            &token_a,
            None,
        )
        .await,
        call(
            &app,
            Method::GET,
            "/operations/bopnosuchoperation00",
            &token_a,
            None,
        )
        .await,
    ];
    for (status, body) in denied {
        assert_eq!((status, body["code"].as_i64()), (403, Some(7)), "{body}");
    }
    let (_, accounts) = call(
        &app,
        Method::GET,
        "/billing/v1/billingAccounts",
        &token_a,
        None,
    )
    .await;
    let ids: Vec<&str> = accounts["billingAccounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [a.as_str()], "A sees only its own account");
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/billing/v1/customers?resellerId={a}"),
        &token_a,
        None,
    )
    .await;
    assert_eq!(status, 200);
    // Admin sees everything, and NOT_FOUND for what does not exist.
    let (status, _) = call(
        &app,
        Method::GET,
        &format!("/operations/{op_b}"),
        &app.admin_token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    let (status, missing) = call(
        &app,
        Method::POST,
        "/billing/v1/customers/bcunosuchcustomer000:suspend",
        &app.admin_token,
        None,
    )
    .await;
    assert_eq!(
        (status, missing["code"].as_i64()),
        (404, Some(5)),
        "{missing}"
    );
    let (status, missing) = call(
        &app,
        Method::POST,
        "/billing/v1/customers:invite",
        &app.admin_token,
        Some(invite_body("dn2nosuchreseller000")),
    )
    .await;
    assert_eq!(
        (status, missing["code"].as_i64()),
        (404, Some(5)),
        "{missing}"
    );
    // Keys of other roles are refused, tokens missing or revoked are 401.
    let (_, integration) = app.key("integration", None).await;
    let (status, body) = call(
        &app,
        Method::GET,
        &format!("/billing/v1/customers?resellerId={a}"),
        &integration,
        None,
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (403, Some(7)));
    let (status, body) = read(
        app.request(Method::GET, "/billing/v1/billingAccounts", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body["code"].as_i64()), (401, Some(16)));
}

async fn pages_return_every_customer_exactly_once(app: TestApp) {
    let (reseller, _, token) = reseller_with_key(&app, "Big").await;
    let total = 2500;
    let mut tasks = Vec::new();
    for worker in 0..8 {
        let client = app.client.clone();
        let url = format!(
            "{}/billing/v1/customers:createResellerServedCustomer",
            app.base
        );
        let (token, reseller) = (token.clone(), reseller.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in (worker..total).step_by(8) {
                let body = json!({"resellerId": reseller, "name": format!("C{i}"), "person": {}});
                let response = client
                    .post(&url)
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                let (status, op) = read(response).await;
                assert_eq!(status, 200, "{op}");
                ids.push(op["response"]["id"].as_str().unwrap().to_owned());
            }
            ids
        }));
    }
    let mut created = Vec::new();
    for t in tasks {
        created.extend(t.await.unwrap());
    }
    created.sort();

    let mut seen = Vec::new();
    let mut page_token = String::new();
    let mut pages = 0;
    loop {
        let (status, page) = call(
            &app,
            Method::GET,
            &format!(
                "/billing/v1/customers?resellerId={reseller}&pageSize=300&pageToken={page_token}"
            ),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        pages += 1;
        seen.extend(
            page["customers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned()),
        );
        page_token = page["nextPageToken"].as_str().unwrap().to_owned();
        if page_token.is_empty() {
            break;
        }
        assert!(page_token.len() <= 100);
    }
    assert_eq!(pages, 9);
    assert_eq!(
        seen, created,
        "each customer exactly once, in a stable order"
    );

    let (_, first) = call(
        &app,
        Method::GET,
        &format!("/billing/v1/customers?resellerId={reseller}"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        first["customers"].as_array().unwrap().len(),
        100,
        "default page size"
    );
    let (_, max) = call(
        &app,
        Method::GET,
        &format!("/billing/v1/customers?resellerId={reseller}&pageSize=1000"),
        &token,
        None,
    )
    .await;
    assert_eq!(max["customers"].as_array().unwrap().len(), 1000);
    let token_1 = max["nextPageToken"].as_str().unwrap();
    let mut tampered = token_1.to_owned().into_bytes();
    tampered[2] = if tampered[2] == b'A' { b'B' } else { b'A' };
    let tampered = String::from_utf8(tampered).unwrap();
    for query in [
        "pageSize=1001".to_owned(),
        "pageSize=-1".to_owned(),
        format!("pageToken={tampered}"),
        "pageToken=garbage".to_owned(),
        format!("pageToken={}", "x".repeat(101)),
    ] {
        let (status, error) = call(
            &app,
            Method::GET,
            &format!("/billing/v1/customers?resellerId={reseller}&{query}"),
            &token,
            None,
        )
        .await;
        assert_eq!(
            (status, error["code"].as_i64()),
            (400, Some(3)),
            "{query}: {error}"
        );
    }
    let (status, error) = call(&app, Method::GET, "/billing/v1/customers", &token, None).await;
    assert_eq!(
        (
            status,
            error["details"][0]["fieldViolations"][0]["field"].as_str()
        ),
        (400, Some("resellerId"))
    );
}

/// Undoes quoted-printable soft line breaks, enough to find a link in a raw mail.
fn find_link(raw: &str) -> String {
    let text = raw.replace("=\r\n", "").replace("=\n", "");
    let start = text.find("http://").expect("a link in the mail");
    text[start..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || ":/._-".contains(*c))
        .collect()
}

async fn invitation_mail_over_smtp_and_accepting_it(backend: Backend) {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(
        backend,
        |c| c.smtp_url = Some(sink.url()),
        |w| w.with_poll_interval(Duration::from_millis(20)),
    )
    .await;
    let (reseller, _, token) = reseller_with_key(&app, "Mailing Reseller").await;
    let op = invited(&app, &token, &reseller).await;
    let customer = op["response"]["id"].as_str().unwrap().to_owned();
    let account_id = op["response"]["billingAccountId"]
        .as_str()
        .unwrap()
        .to_owned();

    let mails = sink.wait_for(1).await;
    assert_eq!(mails[0].to, ["<owner@romashka.example>"]);
    // Sent over SMTP: text and HTML alternatives, and a log line naming the recipient.
    assert!(
        mails[0].data.contains("multipart/alternative"),
        "{}",
        mails[0].data
    );
    assert!(mails[0].data.contains("text/html"), "{}", mails[0].data);
    let mut logged = false;
    for _ in 0..100 {
        logged = crate::harness::logs()
            .lines()
            .any(|l| l.contains("mail sent") && l.contains("owner@romashka.example"));
        if logged {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(logged, "no log line for the mail sent");
    assert_eq!(mails[0].from, "<noreply@localhost>");
    let link = find_link(&mails[0].data);
    assert!(
        link.starts_with(&format!("{}/invitations/inv_", app.base)),
        "{link}"
    );

    // Delivery is tracked on the invitation; the token is stored only as a hash,
    // and the outbox forgot the link once it was sent.
    let token_in_link = link.rsplit('/').next().unwrap().to_owned();
    // The worker records the delivery, then finishes the outbox row.
    let mut delivered = (String::new(), String::new());
    for _ in 0..100 {
        // One statement, so both states come from the same moment.
        delivered = sqlx::query_as(
            "SELECT invitations.delivery_state, outbox.state FROM invitations, outbox",
        )
        .fetch_one(app.store().pool())
        .await
        .unwrap();
        if delivered.1 == "done" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        (delivered.0.as_str(), delivered.1.as_str()),
        ("sent", "done")
    );
    let hashes: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM invitations")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert_eq!(hashes, [kopek_domain::auth::hash_token(&token_in_link)]);
    let payloads: Vec<String> = sqlx::query_scalar("SELECT payload FROM outbox")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert!(
        payloads.iter().all(|p| !p.contains(&token_in_link)),
        "{payloads:?}"
    );

    let page = app
        .client
        .get(&link)
        .header("accept-language", "ru-RU")
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.headers()["referrer-policy"], "no-referrer");
    let html = page.text().await.unwrap();
    assert!(
        html.contains("Mailing Reseller")
            && html.contains("Romashka LLC")
            && html.contains("Принять"),
        "{html}"
    );
    assert!(html.contains(&format!("action=\"/invitations/{token_in_link}:accept\"")));

    let accepted = app
        .client
        .post(format!("{link}:accept"))
        .send()
        .await
        .unwrap();
    assert_eq!(accepted.status(), 200);
    assert_eq!(account(&app, &token, &account_id).await["active"], true);
    let events: Vec<String> =
        sqlx::query_scalar("SELECT type FROM events WHERE subject = $1 ORDER BY id")
            .bind(&customer)
            .fetch_all(app.store().pool())
            .await
            .unwrap();
    assert_eq!(events, ["customer.invited", "customer.accepted"]);
    let (status, op) = call(
        &app,
        Method::POST,
        &format!("/billing/v1/customers/{customer}:suspend"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "suspending proves it is ACTIVE: {op}");

    let again = app
        .client
        .post(format!("{link}:accept"))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 410);
    let reopened = app.client.get(&link).send().await.unwrap();
    assert_eq!(reopened.status(), 410);
    let unknown = app
        .client
        .get(format!("{}/invitations/inv_nope", app.base))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    assert!(unknown.text().await.unwrap().contains("not valid"));
}

/// The mail files written so far, oldest first (their names are UUIDv7).
pub fn eml_files(app: &TestApp) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(app.data_dir().join("mail")) else {
        return Vec::new();
    };
    let mut files: Vec<_> = entries
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "eml"))
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).unwrap())
        .collect()
}

pub async fn wait_for_eml(app: &TestApp, n: usize) -> Vec<String> {
    for _ in 0..500 {
        let files = eml_files(app);
        if files.len() >= n {
            return files;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!(
        "expected {n} mail files in {}",
        app.data_dir().join("mail").display()
    );
}

/// A development server writes mails as files: text and HTML alternatives, the
/// link whole on one line of the raw file, and a log line naming the file (never
/// the link, which holds the token).
async fn mail_files_carry_the_link_whole(app: TestApp) {
    let (reseller, _, token) = reseller_with_key(&app, "Whole Link Reseller").await;
    invited(&app, &token, &reseller).await;
    let raw = wait_for_eml(&app, 1).await.remove(0);
    assert!(raw.contains("Content-Type: multipart/alternative"), "{raw}");
    assert!(
        raw.contains("Content-Type: text/plain; charset=utf-8"),
        "{raw}"
    );
    assert!(
        raw.contains("Content-Type: text/html; charset=utf-8"),
        "{raw}"
    );
    assert!(!raw.contains("quoted-printable"), "{raw}");
    let start = raw.find("http://").expect("a link");
    let link: String = raw[start..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '"' && *c != '<')
        .collect();
    assert!(link.contains("/invitations/inv_"), "{link}");
    assert!(raw.contains(&format!("<a href=\"{link}\">")), "{raw}");
    let secret = link.rsplit('/').next().unwrap();
    let logs = crate::harness::logs();
    let dir = app.data_dir().join("mail");
    let line = logs
        .lines()
        .find(|l| l.contains("mail written") && l.contains(&dir.display().to_string()))
        .unwrap_or_else(|| panic!("no log line for the mail in {}", dir.display()));
    assert!(line.contains("owner@romashka.example"), "{line}");
    // Opening, accepting, accepting again and a wrong method: the token is in
    // none of the log lines, at any level.
    for (method, path) in [
        (Method::GET, link.clone()),
        (Method::POST, format!("{link}:accept")),
        (Method::POST, format!("{link}:accept")),
        (Method::POST, format!("{link}:bogus")),
        (Method::DELETE, link.clone()),
    ] {
        app.client.request(method, &path).send().await.unwrap();
    }
    let logs = crate::harness::logs();
    assert!(
        logs.contains("/invitations/<token>:accept"),
        "the requests were logged"
    );
    assert!(
        !logs.contains(secret),
        "the invitation token reached the log"
    );
}

async fn resent_and_expired_invitations(app: TestApp) {
    let (reseller, _, token) = reseller_with_key(&app, "Files Reseller").await;
    let op = invited(&app, &token, &reseller).await;
    let customer = op["response"]["id"].as_str().unwrap().to_owned();
    let first = find_link(&wait_for_eml(&app, 1).await[0]);

    let (status, resent) = call(
        &app,
        Method::POST,
        &format!("/billing/v1/customers/{customer}:resendInvitation"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200, "{resent}");
    assert_eq!(resent["response"]["id"], customer.as_str());
    let mails = wait_for_eml(&app, 2).await;
    let second = find_link(&mails[1]);
    assert_ne!(first, second);
    let old = app.client.get(&first).send().await.unwrap();
    assert_eq!(old.status(), 410, "the older link is replaced");
    assert!(old.text().await.unwrap().contains("newer invitation"));
    assert_eq!(
        app.client
            .post(format!("{second}:accept"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let (status, error) = call(
        &app,
        Method::POST,
        &format!("/billing/v1/customers/{customer}:resendInvitation"),
        &token,
        None,
    )
    .await;
    assert_eq!(
        (status, error["code"].as_i64()),
        (400, Some(9)),
        "ACTIVE has no invitation to resend: {error}"
    );

    let op = served(&app, &token, &reseller).await;
    let served = op["response"]["id"].as_str().unwrap();
    let (status, _) = call(
        &app,
        Method::POST,
        &format!("/billing/v1/customers/{served}:resendInvitation"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 400);
}

async fn expired_links_are_refused(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        |c| c.invitation_ttl_days = 0,
        |w| w.with_poll_interval(Duration::from_millis(20)),
    )
    .await;
    let (reseller, _, token) = reseller_with_key(&app, "Slow").await;
    invited(&app, &token, &reseller).await;
    let link = find_link(&wait_for_eml(&app, 1).await[0]);
    let page = app.client.get(&link).send().await.unwrap();
    assert_eq!(page.status(), 410);
    assert!(page.text().await.unwrap().contains("expired"));
    assert_eq!(
        app.client
            .post(format!("{link}:accept"))
            .send()
            .await
            .unwrap()
            .status(),
        410
    );
}

async fn every_state_transition(app: TestApp) {
    let (reseller, _, token) = reseller_with_key(&app, "States").await;
    let op = invited(&app, &token, &reseller).await;
    let invited = op["response"]["id"].as_str().unwrap().to_owned();
    let op = served(&app, &token, &reseller).await;
    let active = op["response"]["id"].as_str().unwrap().to_owned();
    let account_id = op["response"]["billingAccountId"]
        .as_str()
        .unwrap()
        .to_owned();
    let step = |customer: String, method: &'static str| {
        let app = &app;
        let token = token.clone();
        async move {
            call(
                app,
                Method::POST,
                &format!("/billing/v1/customers/{customer}:{method}"),
                &token,
                None,
            )
            .await
        }
    };
    let refused = |(status, body): (u16, Value)| {
        assert_eq!(
            (status, body["code"].as_i64()),
            (400, Some(9)),
            "FAILED_PRECONDITION: {body}"
        );
    };
    // INVITED: only accepting the invitation moves it.
    refused(step(invited.clone(), "activate").await);
    refused(step(invited.clone(), "suspend").await);
    // ACTIVE -> SUSPENDED -> ACTIVE, and nothing else.
    refused(step(active.clone(), "activate").await);
    let (status, op) = step(active.clone(), "suspend").await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(op["description"], "Suspend customer");
    assert_eq!(account(&app, &token, &account_id).await["active"], false);
    refused(step(active.clone(), "suspend").await);
    let (status, op) = step(active.clone(), "activate").await;
    assert_eq!(status, 200, "{op}");
    assert_eq!(account(&app, &token, &account_id).await["active"], true);
    let (status, body) = step(active.clone(), "explode").await;
    assert_eq!((status, body["code"].as_i64()), (404, Some(5)));

    let events: Vec<String> =
        sqlx::query_scalar("SELECT type FROM events WHERE subject = $1 ORDER BY id")
            .bind(&active)
            .fetch_all(app.store().pool())
            .await
            .unwrap();
    assert_eq!(
        events,
        [
            "customer.created",
            "customer.suspended",
            "customer.activated"
        ]
    );
    let payload: String = sqlx::query_scalar(
        "SELECT payload FROM events WHERE subject = $1 AND type = 'customer.suspended'",
    )
    .bind(&active)
    .fetch_one(app.store().pool())
    .await
    .unwrap();
    let payload: Value = serde_json::from_str(&payload).unwrap();
    assert_eq!(
        (payload["state"].as_str(), payload["previousState"].as_str()),
        (Some("SUSPENDED"), Some("ACTIVE"))
    );
}

async fn a_repeat_with_the_same_key_returns_the_same_operation(app: TestApp) {
    let (reseller, _, token) = reseller_with_key(&app, "Retry").await;
    let send = |path: &'static str, body: Option<Value>, key: &'static str| {
        let mut request = app
            .request(Method::POST, path, Some(&token))
            .header("idempotency-key", key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        async move { read(request.send().await.unwrap()).await }
    };
    let (_, first) = send(
        "/billing/v1/customers:invite",
        Some(invite_body(&reseller)),
        "8c5b0d3e-invite",
    )
    .await;
    let (status, again) = send(
        "/billing/v1/customers:invite",
        Some(invite_body(&reseller)),
        "8c5b0d3e-invite",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(first, again);
    let (_, list) = call(
        &app,
        Method::GET,
        &format!("/billing/v1/customers?resellerId={reseller}"),
        &token,
        None,
    )
    .await;
    assert_eq!(list["customers"].as_array().unwrap().len(), 1);
    let mails: i64 = sqlx::query_scalar("SELECT CAST(COUNT(*) AS BIGINT) FROM outbox")
        .fetch_one(app.store().pool())
        .await
        .unwrap();
    assert_eq!(mails, 1, "one invitation mail");

    let (status, refused) = send(
        "/billing/v1/customers:invite",
        Some(served_body(&reseller)),
        "8c5b0d3e-invite",
    )
    .await;
    assert_eq!(
        (status, refused["code"].as_i64()),
        (400, Some(3)),
        "{refused}"
    );

    let (_, served) = send(
        "/billing/v1/customers:createResellerServedCustomer",
        Some(served_body(&reseller)),
        "k-served",
    )
    .await;
    let customer = served["response"]["id"].as_str().unwrap().to_owned();
    let path: &'static str =
        Box::leak(format!("/billing/v1/customers/{customer}:suspend").into_boxed_str());
    let (s1, suspend_1) = send(path, None, "k-suspend").await;
    let (s2, suspend_2) = send(path, None, "k-suspend").await;
    assert_eq!(
        (s1, s2),
        (200, 200),
        "a retried suspend is not FAILED_PRECONDITION"
    );
    assert_eq!(suspend_1, suspend_2);
}

async fn operations_get_and_cancel(app: TestApp) {
    let (reseller, key_id, token) = reseller_with_key(&app, "Ops").await;
    let op = served(&app, &token, &reseller).await;
    let id = op["id"].as_str().unwrap();
    let (status, got) = call(
        &app,
        Method::GET,
        &format!("/operations/{id}"),
        &token,
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(got, op);
    check_operation(&got, &key_id, &reseller);
    for method in [Method::POST, Method::GET] {
        let (status, cancelled) = call(
            &app,
            method,
            &format!("/operations/{id}:cancel"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{cancelled}");
        assert_eq!(cancelled, op, "a done operation is returned unchanged");
    }
    let (status, error) = call(
        &app,
        Method::GET,
        "/operations/bopnosuchoperation00",
        &app.admin_token,
        None,
    )
    .await;
    assert_eq!((status, error["code"].as_i64()), (404, Some(5)));
    let (status, error) = call(
        &app,
        Method::GET,
        &format!("/operations/{}", "o".repeat(51)),
        &token,
        None,
    )
    .await;
    assert_eq!((status, error["code"].as_i64()), (400, Some(3)));
}

async fn billing_accounts_get_and_list(app: TestApp) {
    let (reseller, _, token) = reseller_with_key(&app, "Accounts").await;
    for _ in 0..3 {
        served(&app, &token, &reseller).await;
    }
    app.reseller("Someone else").await;
    let mut seen = Vec::new();
    let mut page_token = String::new();
    loop {
        let (status, page) = call(
            &app,
            Method::GET,
            &format!("/billing/v1/billingAccounts?pageSize=2&pageToken={page_token}"),
            &token,
            None,
        )
        .await;
        assert_eq!(status, 200, "{page}");
        for a in page["billingAccounts"].as_array().unwrap() {
            for key in [
                "id",
                "name",
                "createdAt",
                "countryCode",
                "currency",
                "active",
                "balance",
            ] {
                assert!(a.get(key).is_some(), "{key} missing in {a}");
            }
            seen.push(a["id"].as_str().unwrap().to_owned());
        }
        page_token = page["nextPageToken"].as_str().unwrap().to_owned();
        if page_token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 4, "its own account and its three customers'");
    assert!(seen.contains(&reseller));
    let (_, all) = call(
        &app,
        Method::GET,
        "/billing/v1/billingAccounts",
        &app.admin_token,
        None,
    )
    .await;
    assert_eq!(all["billingAccounts"].as_array().unwrap().len(), 5);
    let (status, error) = call(
        &app,
        Method::GET,
        "/billing/v1/billingAccounts/dn2nosuchaccount0000",
        &app.admin_token,
        None,
    )
    .await;
    assert_eq!((status, error["code"].as_i64()), (404, Some(5)));
}

/// Two workers (two processes' pools) send 16 invitations through a slow SMTP
/// relay: each mail is delivered once.
async fn two_workers_and_a_slow_relay_deliver_each_mail_once(backend: Backend) {
    let sink = SmtpSink::start_slow(Duration::from_millis(250)).await;
    let lease = Duration::from_secs(1);
    let app = TestApp::spawn_with(
        backend,
        |c| c.smtp_url = Some(sink.url()),
        |w| {
            w.with_lease(lease)
                .with_poll_interval(Duration::from_millis(20))
        },
    )
    .await;
    let (reseller, _, token) = reseller_with_key(&app, "Busy Reseller").await;
    for _ in 0..16 {
        invited(&app, &token, &reseller).await;
    }
    let second = kopek_store::outbox::Worker::new(app.db.store().await)
        .with_lease(lease)
        .with_poll_interval(Duration::from_millis(20))
        .with_handler(
            kopek_store::invitations::MAIL_KIND,
            std::sync::Arc::new(kopek::mail::InvitationMailer {
                store: app.db.store().await,
                mailer: kopek::mail::Mailer::new(
                    Some(&sink.url()),
                    app.data_dir().join("mail"),
                    "Kopek <noreply@localhost>",
                )
                .unwrap(),
            }),
        );
    let stop = tokio_util::sync::CancellationToken::new();
    let running = tokio::spawn(second.run(stop.clone()));
    sink.wait_for(16).await;
    // Long enough for any lease to run out and a duplicate to show.
    tokio::time::sleep(lease * 3).await;
    stop.cancel();
    running.await.unwrap();
    let mails = sink.received();
    let links: std::collections::BTreeSet<String> =
        mails.iter().map(|m| find_link(&m.data)).collect();
    assert_eq!(
        (mails.len(), links.len()),
        (16, 16),
        "a mail was delivered twice"
    );
}

both_backends!(
    seed_examples_return_the_documented_operation,
    every_validation_rule_names_its_field,
    resellers_cannot_touch_each_others_customers,
    pages_return_every_customer_exactly_once,
    resent_and_expired_invitations,
    every_state_transition,
    a_repeat_with_the_same_key_returns_the_same_operation,
    operations_get_and_cancel,
    billing_accounts_get_and_list,
    invitation_mail_over_smtp_and_accepting_it,
    two_workers_and_a_slow_relay_deliver_each_mail_once,
    mail_files_carry_the_link_whole,
    expired_links_are_refused,
);
