use crate::both_backends;
use crate::harness::{TestApp, read};
use reqwest::Method;

async fn malformed_bodies_get_a_4xx_in_the_dialect(app: TestApp) {
    let post = |content_type: &'static str, body: Vec<u8>| {
        app.request(Method::POST, "/admin/v1/resellers", Some(&app.admin_token))
            .header("content-type", content_type)
            .body(body)
    };
    let cases: Vec<(&str, Vec<u8>, u16, &str)> = vec![
        (
            "application/json",
            b"{\"name\":".to_vec(),
            400,
            "malformed_body",
        ),
        ("application/json", b"[1,2]".to_vec(), 400, "malformed_body"),
        ("application/json", b"".to_vec(), 400, "malformed_body"),
        (
            "application/json",
            b"{\"name\": 5}".to_vec(),
            400,
            "invalid_argument",
        ),
        (
            "text/plain",
            b"{\"name\":\"x\"}".to_vec(),
            415,
            "unsupported_media_type",
        ),
        (
            "application/json",
            vec![b' '; 1024 * 1024 + 1],
            413,
            "payload_too_large",
        ),
    ];
    for (content_type, body, want, code) in cases {
        let len = body.len();
        let (status, answer) = read(post(content_type, body).send().await.unwrap()).await;
        assert_eq!(status, want, "{content_type} {len} bytes -> {answer}");
        assert_eq!(answer["error"]["code"], code, "{answer}");
        assert!(answer["error"]["requestId"].is_string());
    }
    let (status, answer) = read(
        post("application/json", b"{\"name\": 5}".to_vec())
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(answer["error"]["fields"][0]["field"], "name");
    // JSON with a vendor suffix is still JSON.
    let ok = post("application/json-patch+json", b"{\"name\":\"x\"}".to_vec())
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
}

async fn unknown_routes_answer_in_the_family_dialect(app: TestApp) {
    let (status, yandex) = read(
        app.request(Method::GET, "/billing/v1/nothing", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(yandex["code"], 5);
    assert_eq!(
        yandex["details"][0]["@type"],
        "type.googleapis.com/google.rpc.RequestInfo"
    );

    let (status, lifepos) = read(
        app.request(Method::GET, "/orgs/x/nothing", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(lifepos["code"], "NotFound");
    assert!(lifepos["info"].is_string());

    let (status, aipix) = read(
        app.request(Method::GET, "/api/v1/billing/nothing", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404);
    assert!(aipix["message"].is_string());

    let (status, admin) = read(
        app.request(Method::PUT, "/admin/v1/resellers", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 405);
    assert_eq!(admin["error"]["code"], "method_not_allowed");
}

/// A method a path does not have is a 4xx in the family's dialect with `Allow`,
/// never a 5xx (Yandex: NOT_FOUND, since UNIMPLEMENTED is for methods that exist).
async fn wrong_methods_are_4xx_in_the_dialect(app: TestApp) {
    for (method, path) in [
        (Method::PUT, "/billing/v1/billingAccounts"),
        (Method::DELETE, "/operations/x"),
        (Method::PUT, "/orgs/x/profile/invoices"),
        (Method::GET, "/api/v1/billing/user/manage"),
        (Method::PUT, "/admin/v1/resellers"),
    ] {
        let response = app
            .request(method.clone(), path, Some(&app.admin_token))
            .header("x-lp-client-identifier", crate::lifepos::CLIENT_ID)
            .header("x-lp-client-type", "Service")
            .send()
            .await
            .unwrap();
        assert!(response.headers().contains_key("allow"), "{method} {path}");
        let (status, body) = read(response).await;
        let in_dialect = if path.starts_with("/billing/") || path.starts_with("/operations") {
            status == 404 && body["code"] == 5
        } else if path.starts_with("/orgs/") {
            status == 405 && body["code"] == "NotAllowed"
        } else if path.starts_with("/api/") {
            status == 405 && body["message"].is_string()
        } else {
            status == 405 && body["error"]["code"] == "method_not_allowed"
        };
        assert!(in_dialect, "{method} {path}: {status} {body}");
    }
}

both_backends!(
    malformed_bodies_get_a_4xx_in_the_dialect,
    unknown_routes_answer_in_the_family_dialect,
    wrong_methods_are_4xx_in_the_dialect
);
