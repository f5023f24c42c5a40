use crate::both_backends;
use crate::harness::{TestApp, read};
use reqwest::Method;

async fn request_ids_are_echoed_or_made(app: TestApp) {
    let given = app
        .request(Method::GET, "/healthz", None)
        .header("x-request-id", "trace-me-42")
        .send()
        .await
        .unwrap();
    assert_eq!(given.headers()["x-request-id"], "trace-me-42");
    let made = app
        .request(Method::GET, "/healthz", None)
        .send()
        .await
        .unwrap();
    assert_eq!(made.headers()["x-request-id"].len(), 36);

    let error = app
        .request(Method::GET, "/billing/v1/none", None)
        .header("x-request-id", "trace-me-43")
        .send()
        .await
        .unwrap();
    let (_, body) = read(error).await;
    assert_eq!(body["details"][0]["requestId"], "trace-me-43");
}

async fn health_readiness_and_metrics(app: TestApp) {
    let (status, health) = read(
        app.request(Method::GET, "/healthz", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
    let (status, ready) = read(
        app.request(Method::GET, "/readyz", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!((status, ready["status"].as_str()), (200, Some("ok")));
    app.request(Method::GET, "/admin/v1/resellers", None)
        .send()
        .await
        .unwrap();

    let metrics = app
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap();
    assert!(
        metrics.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = metrics.text().await.unwrap();
    assert!(
        text.contains(
            r#"kopek_http_requests_total{method="GET",route="/admin/v1/resellers",status="401"} 1"#
        ),
        "{text}"
    );
    assert!(
        text.contains(r#"kopek_http_request_duration_seconds_bucket{method="GET",route="/readyz""#)
    );
    assert!(text.contains("kopek_db_pool_connections "));

    app.store().close().await;
    let (status, ready) = read(
        app.request(Method::GET, "/readyz", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        (status, ready["status"].as_str()),
        (503, Some("unavailable"))
    );
}

both_backends!(request_ids_are_echoed_or_made, health_readiness_and_metrics);
