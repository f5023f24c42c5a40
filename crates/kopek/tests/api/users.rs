//! Family C: AIPIX VMS Billing user provisioning.

use crate::both_backends;
use crate::harness::{TestApp, logs, read};
use kopek_domain::user::User;
use kopek_store::users;
use reqwest::Method;
use serde_json::{Value, json};

const PATH: &str = "/api/v1/billing/user/manage";

pub async fn send(app: &TestApp, method: Method, token: &str, body: Value) -> (u16, Value) {
    read(
        app.request(method, PATH, Some(token))
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

/// The seed's example request.
pub fn seed_body() -> Value {
    json!({
        "login": "test@mail.com",
        "password": "qweasdzxc",
        "type": "type_value",
        "billing_info": {"billing_id": "123123123", "billing_extra": []},
        "status": "active",
        "billing_properties": [{"type": "phone", "value": "+80283289362"}]
    })
}

fn is_laravel_time(s: &str) -> bool {
    // 2023-05-02T10:18:50.000000Z
    s.len() == 27 && s.as_bytes()[10] == b'T' && s.as_bytes()[19] == b'.' && s.ends_with('Z')
}

async fn stored(app: &TestApp, login: &str) -> Option<User> {
    let mut conn = app.store().pool().acquire().await.unwrap();
    users::find_live(&mut conn, login).await.unwrap()
}

async fn the_seed_request_returns_the_seed_shape(app: TestApp) {
    let (_, token) = app.key("integration", None).await;
    let response = app
        .request(Method::POST, PATH, Some(&token))
        .json(&seed_body())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let raw = response.text().await.unwrap();
    let user: Value = serde_json::from_str(&raw).unwrap();
    // Every field of the seed's response, in the seed's order.
    let order = [
        "\"id\"",
        "\"login\"",
        "\"name\"",
        "\"type\"",
        "\"status\"",
        "\"created_at\"",
        "\"updated_at\"",
        "\"deleted_at\"",
        "\"can_update_password\"",
        "\"billing_properties\"",
    ];
    let positions: Vec<usize> = order.iter().map(|k| raw.find(k).expect(k)).collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{raw}");
    assert_eq!(user.as_object().unwrap().len(), order.len(), "{raw}");
    assert!(user["id"].as_i64().unwrap() >= 1);
    assert_eq!(user["login"], "test@mail.com");
    assert_eq!(user["name"], Value::Null);
    assert_eq!(user["type"], "type_value");
    assert_eq!(user["status"], "active");
    assert!(
        is_laravel_time(user["created_at"].as_str().unwrap()),
        "{user}"
    );
    assert!(
        is_laravel_time(user["updated_at"].as_str().unwrap()),
        "{user}"
    );
    assert_eq!(user["deleted_at"], Value::Null);
    assert_eq!(user["can_update_password"], true, "defaults to true");
    assert_eq!(
        user["billing_properties"],
        json!([{"type": "phone", "value": "+80283289362"}])
    );
    assert!(!user.to_string().contains("qweasdzxc"));

    // The seed's cURL sends `billing_info: []` and newer clients `properties`.
    let (status, other) = send(
        &app,
        Method::POST,
        &token,
        json!({"login": "curl@mail.com", "password": "x", "type": "user", "billing_info": [],
               "properties": [{"type": "email", "value": "curl@mail.com"}], "can_update_password": false}),
    )
    .await;
    assert_eq!(status, 200, "{other}");
    assert_eq!(other["billing_properties"][0]["type"], "email");
    assert_eq!(other["can_update_password"], false);
    assert!(other["id"].as_i64() > user["id"].as_i64());
}

async fn every_rule_and_every_failure_at_once(app: TestApp) {
    let (_, token) = app.key("integration", None).await;
    let body = json!({
        "password": "p".repeat(101),
        "type": "t".repeat(51),
        "status": "sleeping",
        "billing_info": "nope",
        "billing_properties": [{"type": "phone"}, "x"],
        "can_update_password": "maybe"
    });
    let (status, error) = send(&app, Method::POST, &token, body).await;
    assert_eq!(status, 422, "{error}");
    assert_eq!(error["message"], "The given data was invalid");
    let errors = error["errors"].as_object().unwrap();
    let mut fields: Vec<&str> = errors.keys().map(String::as_str).collect();
    fields.sort();
    assert_eq!(
        fields,
        [
            "billing_info",
            "billing_properties.0.value",
            "billing_properties.1",
            "can_update_password",
            "login",
            "password",
            "status",
            "type"
        ]
    );
    assert_eq!(errors["login"], json!(["The login field is required."]));
    assert_eq!(
        errors["password"],
        json!(["The password must not be greater than 100 characters."])
    );
    assert_eq!(
        errors["type"],
        json!([
            "The type must not be greater than 50 characters.",
            "The selected type is invalid."
        ]),
        "several reasons for one field"
    );
    assert_eq!(
        errors["can_update_password"],
        json!(["The can update password must be true or false."])
    );

    let single = |edit: Value| {
        let mut body = seed_body();
        for (k, v) in edit.as_object().unwrap() {
            body[k] = v.clone();
        }
        body
    };
    let cases = [
        (
            single(json!({"login": ""})),
            "login",
            "The login field is required.",
        ),
        (
            single(json!({"login": 42})),
            "login",
            "The login must be a string.",
        ),
        (
            single(json!({"password": null})),
            "password",
            "The password field is required.",
        ),
        (
            single(json!({"type": null})),
            "type",
            "The type field is required.",
        ),
        (
            single(json!({"type": "special"})),
            "type",
            "The selected type is invalid.",
        ),
        (
            single(json!({"type": "subuser"})),
            "type",
            "The selected type is invalid.",
        ),
        (
            single(json!({"type": "admin"})),
            "type",
            "The selected type is invalid.",
        ),
        (
            single(json!({"status": "deleted"})),
            "status",
            "The selected status is invalid.",
        ),
        (
            single(json!({"billing_properties": "string"})),
            "billing_properties",
            "The billing properties must be an array.",
        ),
        (
            single(json!({"billing_info": {"billing_extra": 5}})),
            "billing_info.billing_extra",
            "The billing info.billing extra must be an array.",
        ),
    ];
    for (body, field, message) in cases {
        let (status, error) = send(&app, Method::POST, &token, body.clone()).await;
        assert_eq!(status, 422, "{body} -> {error}");
        assert_eq!(
            error["errors"][field],
            json!([message]),
            "{body} -> {error}"
        );
    }
    let russian = app
        .request(Method::POST, PATH, Some(&token))
        .header("accept-language", "ru-RU,ru;q=0.9")
        .json(&json!({"password": "x", "type": "user"}))
        .send()
        .await
        .unwrap();
    let (status, error) = read(russian).await;
    assert_eq!(status, 422);
    assert_eq!(error["message"], "Переданные данные некорректны");
    assert_eq!(error["errors"]["login"], json!(["Поле login обязательно."]));
    // Not JSON at all is still this family's shape, never a 500.
    let broken = app
        .request(Method::POST, PATH, Some(&token))
        .header("content-type", "application/json")
        .body("{\"login\":")
        .send()
        .await
        .unwrap();
    let (status, error) = read(broken).await;
    assert_eq!(status, 400);
    assert!(error["message"].is_string());
    let (_, list) = app.admin(Method::GET, "/admin/v1/users", None).await;
    assert_eq!(list["users"], json!([]), "nothing half-written");
}

async fn a_login_is_taken_once_even_under_a_race(app: TestApp) {
    let (_, token) = app.key("integration", None).await;
    let mut tasks = Vec::new();
    for i in 0..6 {
        let request = app.request(Method::POST, PATH, Some(&token)).json(
            &json!({"login": "Racer@mail.com", "password": format!("pw{i}"), "type": "user"}),
        );
        tasks.push(tokio::spawn(async move {
            read(request.send().await.unwrap()).await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    let created = answers.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(created, 1, "{answers:?}");
    for (status, body) in answers.iter().filter(|(s, _)| *s != 200) {
        assert_eq!(*status, 422, "{body}");
        assert_eq!(
            body["errors"]["login"],
            json!(["The login has already been taken."])
        );
    }
    // Case does not make a login new.
    let (status, body) = send(
        &app,
        Method::POST,
        &token,
        json!({"login": "racer@MAIL.com", "password": "x", "type": "user", "status": 5}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(
        body["errors"]["login"],
        json!(["The login has already been taken."])
    );
    assert!(
        body["errors"]["status"].is_array(),
        "reported with the other failures: {body}"
    );
}

async fn update_block_and_delete_change_the_password_check(app: TestApp) {
    let (_, token) = app.key("integration", None).await;
    let (_, created) = send(&app, Method::POST, &token, seed_body()).await;
    let id = created["id"].as_i64().unwrap();
    assert!(
        stored(&app, "test@mail.com")
            .await
            .unwrap()
            .check_password("qweasdzxc")
    );

    let (status, updated) = send(
        &app,
        Method::PATCH,
        &token,
        json!({"login": "TEST@mail.com", "password": "n3w-secret", "permissions_to_attach": ["archives-show", "live"], "name": "Tess"}),
    )
    .await;
    assert_eq!(status, 200, "{updated}");
    assert_eq!(
        (updated["id"].as_i64(), updated["name"].as_str()),
        (Some(id), Some("Tess"))
    );
    let user = stored(&app, "test@mail.com").await.unwrap();
    assert!(!user.check_password("qweasdzxc") && user.check_password("n3w-secret"));
    assert_eq!(user.permissions, ["archives-show", "live"]);

    let (status, blocked) = send(
        &app,
        Method::PATCH,
        &token,
        json!({"login": "test@mail.com", "status": "blocked", "permissions_to_detach": ["live"]}),
    )
    .await;
    assert_eq!((status, blocked["status"].as_str()), (200, Some("blocked")));
    let user = stored(&app, "test@mail.com").await.unwrap();
    assert!(
        !user.check_password("n3w-secret"),
        "blocked users cannot sign in"
    );
    assert_eq!(user.permissions, ["archives-show"]);
    send(
        &app,
        Method::PATCH,
        &token,
        json!({"login": "test@mail.com", "status": "active"}),
    )
    .await;
    assert!(
        stored(&app, "test@mail.com")
            .await
            .unwrap()
            .check_password("n3w-secret")
    );

    let (status, error) = send(
        &app,
        Method::PATCH,
        &token,
        json!({"login": "nobody@mail.com", "status": "blocked"}),
    )
    .await;
    assert_eq!(
        (status, error["errors"]["login"].clone()),
        (422, json!(["The selected login is invalid."]))
    );
    let (status, error) = send(
        &app,
        Method::PATCH,
        &token,
        json!({"login": "test@mail.com", "type": "special", "password": "x".repeat(101)}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(error["errors"].as_object().unwrap().len(), 2);

    let (status, body) = read(
        app.request(Method::DELETE, PATH, Some(&token))
            .json(&json!({"login": "test@mail.com"}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, body), (204, Value::Null));
    assert!(stored(&app, "test@mail.com").await.is_none());
    let (_, deleted) = app
        .admin(Method::GET, &format!("/admin/v1/users/{id}"), None)
        .await;
    assert!(deleted["deletedAt"].is_string(), "{deleted}");

    for body in [
        json!({"login": "test@mail.com"}),
        json!({}),
        json!({"login": ""}),
    ] {
        let (status, error) = read(
            app.request(Method::DELETE, PATH, Some(&token))
                .json(&body)
                .send()
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(status, 400, "{body} -> {error}");
        assert_eq!(error["message"], "The given data was invalid");
        assert!(error["errors"]["login"].is_array(), "{error}");
    }
    // A deleted login may be created again, as a new user.
    let (status, again) = send(&app, Method::POST, &token, seed_body()).await;
    assert_eq!(status, 200, "{again}");
    assert_ne!(again["id"].as_i64(), Some(id));
}

async fn passwords_never_leave_in_bodies_or_logs(app: TestApp) {
    let (_, token) = app.key("integration", None).await;
    let secret = format!("Pw-{}", uuid::Uuid::new_v4().simple());
    let mut bodies = Vec::new();
    let mut body = seed_body();
    body["password"] = json!(secret);
    bodies.push(send(&app, Method::POST, &token, body.clone()).await.1);
    let retried = app
        .request(Method::POST, PATH, Some(&token))
        .header("idempotency-key", "pw-1")
        .json(&body)
        .send()
        .await
        .unwrap();
    bodies.push(read(retried).await.1);
    bodies.push(
        send(
            &app,
            Method::PATCH,
            &token,
            json!({"login": "test@mail.com", "password": format!("{secret}-2")}),
        )
        .await
        .1,
    );
    bodies.push(send(&app, Method::POST, &token, json!({"login": "x", "password": format!("{secret}{}", "!".repeat(100)), "type": "user"})).await.1);
    bodies.push(
        send(
            &app,
            Method::POST,
            &token,
            json!({"login": 1, "password": [secret.clone()], "type": "user"}),
        )
        .await
        .1,
    );
    let (_, listed) = app.admin(Method::GET, "/admin/v1/users", None).await;
    bodies.push(listed);
    for b in &bodies {
        let text = b.to_string();
        assert!(!text.contains(&secret), "{text}");
        assert!(!text.contains("argon2"), "no hash either: {text}");
    }
    let hashes: Vec<String> = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert!(
        hashes
            .iter()
            .all(|h| h.starts_with("$argon2id$") && !h.contains(&secret))
    );
    let logs = logs();
    assert!(
        logs.contains("/api/v1/billing/user/manage"),
        "the capture works"
    );
    assert!(!logs.contains(&secret), "a password reached the log");
}

async fn only_integration_and_admin_keys(app: TestApp) {
    let (status, body) = read(
        app.request(Method::POST, PATH, None)
            .json(&seed_body())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, body["message"].as_str()),
        (401, Some("Unauthenticated."))
    );
    let reseller = app.reseller("R").await;
    let (_, reseller_token) = app.key("reseller", Some(&reseller)).await;
    let (status, body) = send(&app, Method::POST, &reseller_token, seed_body()).await;
    assert_eq!(
        (status, body["message"].as_str()),
        (403, Some("This action is unauthorized."))
    );
    let (status, _) = send(&app, Method::POST, &app.admin_token, seed_body()).await;
    assert_eq!(status, 200);
    let (status, error) = send(&app, Method::POST, &app.admin_token, seed_body()).await;
    assert_eq!(status, 422, "{error}");
}

async fn a_repeat_with_the_same_key_creates_once(app: TestApp) {
    let (_, token) = app.key("integration", None).await;
    let post = |key: &'static str, body: Value| {
        let request = app
            .request(Method::POST, PATH, Some(&token))
            .header("idempotency-key", key)
            .json(&body);
        async move { read(request.send().await.unwrap()).await }
    };
    let first = post("u-1", seed_body()).await;
    let again = post("u-1", seed_body()).await;
    assert_eq!(first.0, 200);
    assert_eq!(first, again, "the same user, not a duplicate-login error");
    let mut other = seed_body();
    other["type"] = json!("user");
    let (status, _) = post("u-1", other).await;
    assert_eq!(status, 422);
}

async fn operators_read_users(app: TestApp) {
    let (_, token) = app.key("integration", None).await;
    for i in 0..3 {
        send(
            &app,
            Method::POST,
            &token,
            json!({"login": format!("u{i}@mail.com"), "password": "x", "type": "user"}),
        )
        .await;
    }
    let (status, page) = app
        .admin(Method::GET, "/admin/v1/users?pageSize=2", None)
        .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(page["users"].as_array().unwrap().len(), 2);
    let next = page["nextPageToken"].as_str().unwrap();
    let (_, rest) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/users?pageSize=2&pageToken={next}"),
            None,
        )
        .await;
    assert_eq!(rest["users"].as_array().unwrap().len(), 1);
    assert_eq!(rest["nextPageToken"], "");
    let id = page["users"][0]["id"].as_i64().unwrap();
    let (status, user) = app
        .admin(Method::GET, &format!("/admin/v1/users/{id}"), None)
        .await;
    assert_eq!((status, user["login"].as_str()), (200, Some("u0@mail.com")));
    assert!(user.get("password").is_none() && user.get("passwordHash").is_none());
    let (status, _) = app.admin(Method::GET, "/admin/v1/users/999999", None).await;
    assert_eq!(status, 404);
    let (status, _) = app.admin(Method::GET, "/admin/v1/users/abc", None).await;
    assert_eq!(status, 404);
}

/// Logins that read alike are one login: case folded fully, compatibility forms
/// and both normal forms of an accent alike; a login mixing scripts is refused;
/// keys made before this rule are made again when the schema is upgraded.
async fn logins_that_look_alike_are_one_login(app: TestApp) {
    let token = app.admin_token.clone();
    let create = |login: &str| json!({"login": login, "password": "pw-123456", "type": "user"});
    for (first, second) in [
        ("straße@mail.example", "STRASSE@mail.example"),
        ("ivan@mail.example", "İVAN@mail.example"),
        ("ren\u{e9}e@mail.example", "rene\u{301}e@mail.example"),
        ("petr@mail.example", "ｐｅｔｒ@mail.example"),
    ] {
        let (status, body) = send(&app, Method::POST, &token, create(first)).await;
        assert_eq!(status, 200, "{first}: {body}");
        let (status, body) = send(&app, Method::POST, &token, create(second)).await;
        assert_eq!(status, 422, "{second} is {first}: {body}");
        assert!(body["errors"]["login"].is_array(), "{body}");
        // The look-alike signs in as the same user.
        let (status, _) = crate::lifepos::sign_in(&app, second, "pw-123456").await;
        assert_eq!(status, 200, "{second}");
    }
    let (status, body) = send(&app, Method::POST, &token, create("ivаn@mail.example")).await;
    assert_eq!(status, 422, "Latin with a Cyrillic а: {body}");
    assert!(
        body["errors"]["login"][0]
            .as_str()
            .unwrap()
            .contains("one script"),
        "{body}"
    );

    // A key as the old rule made it (plain lowercasing) is made again on upgrade.
    let pool = app.store().pool();
    sqlx::query(
        "UPDATE users SET login_key = 'straße@mail.example' WHERE login = 'straße@mail.example'",
    )
    .execute(pool)
    .await
    .unwrap();
    let mut conn = app.store().conn().await.unwrap();
    users::rekey_logins(&mut conn).await.unwrap();
    let key: String =
        sqlx::query_scalar("SELECT login_key FROM users WHERE login = 'straße@mail.example'")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!(key, "strasse@mail.example");
}

both_backends!(
    logins_that_look_alike_are_one_login,
    the_seed_request_returns_the_seed_shape,
    every_rule_and_every_failure_at_once,
    a_login_is_taken_once_even_under_a_race,
    update_block_and_delete_change_the_password_check,
    passwords_never_leave_in_bodies_or_logs,
    only_integration_and_admin_keys,
    a_repeat_with_the_same_key_creates_once,
    operators_read_users,
);
