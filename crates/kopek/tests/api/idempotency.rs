use crate::both_backends;
use crate::harness::{TestApp, read};
use reqwest::Method;
use serde_json::{Value, json};

async fn create_with_key(app: &TestApp, key: &str, body: &Value) -> (u16, Value) {
    read(
        app.request(Method::POST, "/admin/v1/resellers", Some(&app.admin_token))
            .header("idempotency-key", key)
            .json(body)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn reseller_count(app: &TestApp) -> usize {
    let (_, list) = app.admin(Method::GET, "/admin/v1/resellers", None).await;
    list["resellers"].as_array().unwrap().len()
}

async fn a_repeat_replays_the_first_response(app: TestApp) {
    let body = json!({"name": "Acme"});
    let (status, first) = create_with_key(&app, "k-1", &body).await;
    assert_eq!(status, 201);
    let (status, again) = create_with_key(&app, "k-1", &body).await;
    assert_eq!(status, 201);
    assert_eq!(again, first, "the stored response, unchanged");
    assert_eq!(reseller_count(&app).await, 1);

    let (status, refused) = create_with_key(&app, "k-1", &json!({"name": "Other"})).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["error"]["code"], "idempotency_key_reused");
    assert_eq!(reseller_count(&app).await, 1);

    // Keys belong to their caller: another key's "k-1" is a new request.
    let (_, other_admin) = app.key("admin", None).await;
    let (status, _) = read(
        app.request(Method::POST, "/admin/v1/resellers", Some(&other_admin))
            .header("idempotency-key", "k-1")
            .json(&body)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201);
    assert_eq!(reseller_count(&app).await, 2);
}

async fn a_failed_request_leaves_the_key_free(app: TestApp) {
    let (status, _) = create_with_key(&app, "k-2", &json!({"name": ""})).await;
    assert_eq!(status, 400);
    let (status, _) = create_with_key(&app, "k-2", &json!({"name": "Fixed"})).await;
    assert_eq!(status, 201);
    let (status, _) = create_with_key(&app, "bad key with spaces", &json!({"name": "x"})).await;
    assert_eq!(status, 400);
}

async fn concurrent_requests_with_one_key_do_the_work_once(app: TestApp) {
    let body = json!({"name": "Racer"});
    let mut tasks = Vec::new();
    for _ in 0..12 {
        let request = app
            .request(Method::POST, "/admin/v1/resellers", Some(&app.admin_token))
            .header("idempotency-key", "same-key")
            .json(&body);
        tasks.push(tokio::spawn(async move {
            read(request.send().await.unwrap()).await
        }));
    }
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    for (status, answer) in &answers {
        assert_eq!(*status, 201, "{answer}");
        assert_eq!(answer, &answers[0].1);
    }
    assert_eq!(reseller_count(&app).await, 1);
}

/// A repeat gets the first answer even when what the first request was checked
/// against has changed since: here the product is no longer in the catalog.
async fn a_repeat_is_answered_before_anything_is_checked_again(app: TestApp) {
    use crate::lifepos::{START_PLAN, create_request, put_catalog, ready, seed_request};
    let shop = ready(&app, "replayed").await;
    let send = || create_request(&app, &shop, 12).header("idempotency-key", "order-1");
    let (status, first) = read(send().send().await.unwrap()).await;
    assert_eq!(status, 201, "{first}");
    put_catalog(&app, json!({"products": []})).await;
    let (status, again) = read(send().send().await.unwrap()).await;
    assert_eq!((status, &again), (201, &first));
    // A new order for the product now fails: the replay was not re-checked.
    let (status, fresh) =
        crate::lifepos::create(&app, &shop, seed_request(START_PLAN, 1, 12, &shop.org)).await;
    assert_eq!(status, 404, "{fresh}");
}

both_backends!(
    a_repeat_is_answered_before_anything_is_checked_again,
    a_repeat_replays_the_first_response,
    a_failed_request_leaves_the_key_free,
    concurrent_requests_with_one_key_do_the_work_once,
);
