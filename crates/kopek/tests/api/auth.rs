use crate::both_backends;
use crate::harness::{TestApp, read};
use reqwest::Method;

async fn missing_unknown_and_revoked_tokens_are_401(app: TestApp) {
    let (status, body) = read(
        app.request(Method::GET, "/admin/v1/resellers", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["code"], "unauthenticated");

    let (status, _) = read(
        app.request(Method::GET, "/admin/v1/resellers", Some("kpk_0000"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);

    let not_bearer = app
        .client
        .get(format!("{}/admin/v1/resellers", app.base))
        .header("authorization", format!("Basic {}", app.admin_token))
        .send()
        .await
        .unwrap();
    assert_eq!(not_bearer.status(), 401);

    let (id, token) = app.key("admin", None).await;
    let ok = app
        .request(Method::GET, "/admin/v1/resellers", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let (status, revoked) = app
        .admin(Method::DELETE, &format!("/admin/v1/api-keys/{id}"), None)
        .await;
    assert_eq!(status, 200, "{revoked}");
    assert!(revoked["revokedAt"].is_string());
    let after = app
        .request(Method::GET, "/admin/v1/resellers", Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(after.status(), 401);
    let (status, _) = app
        .admin(
            Method::DELETE,
            "/admin/v1/api-keys/ajenotakey0000000000",
            None,
        )
        .await;
    assert_eq!(status, 404);
}

async fn scoped_keys_are_403_outside_their_scope(app: TestApp) {
    let reseller = app.reseller("Acme").await;
    let (_, reseller_token) = app.key("reseller", Some(&reseller)).await;
    let (_, integration_token) = app.key("integration", None).await;
    for token in [&reseller_token, &integration_token] {
        let (status, body) = read(
            app.request(
                Method::GET,
                &format!("/admin/v1/resellers/{reseller}"),
                Some(token),
            )
            .send()
            .await
            .unwrap(),
        )
        .await;
        assert_eq!(status, 403, "{body}");
        assert_eq!(body["error"]["code"], "permission_denied");
    }
}

async fn tokens_are_shown_once_and_stored_as_hashes(app: TestApp) {
    let (id, token) = app.key("integration", None).await;
    assert!(token.len() >= 32, "at least 128 bits");
    let (status, list) = app.admin(Method::GET, "/admin/v1/api-keys", None).await;
    assert_eq!(status, 200);
    assert!(!list.to_string().contains(&token));
    assert!(
        list["apiKeys"]
            .as_array()
            .unwrap()
            .iter()
            .any(|k| k["id"] == id.as_str())
    );
    let stored: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM api_keys")
        .fetch_all(app.store().pool())
        .await
        .unwrap();
    assert!(!stored.iter().any(|h| h.contains(&token)));
    assert!(stored.contains(&kopek_domain::auth::hash_token(&token)));
}

async fn key_scopes_are_validated(app: TestApp) {
    let cases = [
        (serde_json::json!({"role": "reseller"}), "scope"),
        (
            serde_json::json!({"role": "reseller", "scope": "dn2aaaaaaaaaaaaaaaaa"}),
            "scope",
        ),
        (serde_json::json!({"role": "admin", "scope": "x"}), "scope"),
        (serde_json::json!({"role": "root"}), "role"),
        (serde_json::json!({}), "role"),
    ];
    for (body, field) in cases {
        let (status, answer) = app
            .admin(Method::POST, "/admin/v1/api-keys", Some(body.clone()))
            .await;
        assert_eq!(status, 400, "{body} -> {answer}");
        assert_eq!(
            answer["error"]["fields"][0]["field"], field,
            "{body} -> {answer}"
        );
    }
}

both_backends!(
    missing_unknown_and_revoked_tokens_are_401,
    scoped_keys_are_403_outside_their_scope,
    tokens_are_shown_once_and_stored_as_hashes,
    key_scopes_are_validated,
);
