//! The OpenAPI document is checked against a committed snapshot, so any change to
//! the API shows in review. `KOPEK_UPDATE_SNAPSHOTS=1 cargo test openapi` rewrites it.

use crate::harness::{Backend, TestApp, read};
use reqwest::Method;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");

#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let (status, served) = read(
        app.request(Method::GET, "/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    let pretty = serde_json::to_string_pretty(&served).unwrap() + "\n";
    if std::env::var_os("KOPEK_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &pretty).unwrap();
    }
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        committed == pretty,
        "/openapi.json differs from {SNAPSHOT}; review the change and rerun with KOPEK_UPDATE_SNAPSHOTS=1"
    );
}
