//! The OpenAPI document: checked against a committed snapshot (so any change to the
//! API shows in review; `KOPEK_UPDATE_SNAPSHOTS=1 cargo test openapi` rewrites it),
//! against every route the router serves, by the reference validator, and by a
//! client generated from it.

use crate::harness::{Backend, TestApp, have, read};
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots/openapi.json");
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

async fn served_document(app: &TestApp) -> Value {
    let (status, served) = read(
        app.request(Method::GET, "/openapi.json", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    served
}

#[tokio::test]
async fn openapi_document_matches_the_snapshot() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let mut served = served_document(&app).await;
    assert!(served["openapi"].as_str().unwrap().starts_with("3.1"));
    // The server is the one answering; the snapshot names a placeholder.
    assert_eq!(served["servers"][0]["url"], app.base.as_str());
    served["servers"][0]["url"] = "http://127.0.0.1:8080".into();
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

/// A path as the router matches it: a segment with a parameter (and perhaps a
/// custom method after it, which handlers split off) is one `{}`.
fn route_of(path: &str) -> String {
    path.split('/')
        .map(|segment| if segment.contains('{') { "{}" } else { segment })
        .collect::<Vec<_>>()
        .join("/")
}

/// Every documented (route, method) with its operationId.
fn operations(document: &Value) -> BTreeMap<(String, String), Vec<String>> {
    let mut found: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in METHODS {
            if let Some(operation) = item.get(method) {
                let id = operation["operationId"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
                found
                    .entry((route_of(path), method.to_owned()))
                    .or_default()
                    .push(id.to_owned());
            }
        }
    }
    found
}

/// Every route the router serves is documented with each method it answers, and
/// everything documented is served; operationIds are unique.
#[tokio::test]
async fn every_route_is_documented_and_every_operation_is_served() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document = served_document(&app).await;
    let documented = operations(&document);
    let ids: Vec<&String> = documented.values().flatten().collect();
    let unique: BTreeSet<&String> = ids.iter().copied().collect();
    assert_eq!(ids.len(), unique.len(), "duplicate operationIds in {ids:?}");

    let served: BTreeSet<String> = kopek_api::served_paths()
        .iter()
        .map(|path| route_of(path))
        .collect();
    let documented_routes: BTreeSet<String> =
        documented.keys().map(|(route, _)| route.clone()).collect();
    assert_eq!(
        served
            .symmetric_difference(&documented_routes)
            .collect::<Vec<_>>(),
        Vec::<&String>::new(),
        "routes served but not documented, or documented but not served"
    );

    // A method a route lacks is answered (in the family's dialect) with axum's
    // `Allow` header, which names every method the route has.
    for route in &served {
        let url = format!("{}{}", app.base, route.replace("{}", "x"));
        let response = app
            .client
            .request(Method::OPTIONS, &url)
            .header("x-lp-client-identifier", crate::lifepos::CLIENT_ID)
            .header("x-lp-client-type", "Service")
            .header("accept-language", "en")
            .send()
            .await
            .unwrap();
        let allow = response
            .headers()
            .get("allow")
            .unwrap_or_else(|| panic!("OPTIONS {route}: no Allow header"))
            .to_str()
            .unwrap()
            .to_ascii_lowercase();
        let handled: BTreeSet<&str> = allow.split(',').filter(|m| *m != "head").collect();
        let listed: BTreeSet<&str> = METHODS
            .into_iter()
            .filter(|m| documented.contains_key(&(route.clone(), (*m).to_owned())))
            .collect();
        assert_eq!(
            handled, listed,
            "{route}: served methods and documented ones"
        );
    }
}

/// The document passes the reference validator (openapi-spec-validator, which
/// `.ci/run` installs), and openapi-python-client makes a client with a function
/// for every operation.
#[tokio::test]
async fn validators_and_generated_clients_accept_the_document() {
    let app = TestApp::spawn(Backend::Sqlite).await;
    let document = served_document(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("openapi.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&document).unwrap()).unwrap();

    if have("openapi-spec-validator") {
        let out = std::process::Command::new("openapi-spec-validator")
            .arg(&file)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "openapi-spec-validator: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    if have("openapi-python-client") {
        let config = dir.path().join("config.yaml");
        // No formatter run afterwards: only the generated code matters here.
        // Downloads (PDF, XML) are bytes to a client, as the generator is told.
        std::fs::write(
            &config,
            "post_hooks: []\ncontent_type_overrides:\n  application/pdf: application/octet-stream\n  \
             application/xml: application/octet-stream\n",
        )
        .unwrap();
        let out = std::process::Command::new("openapi-python-client")
            .current_dir(dir.path())
            .args(["generate", "--meta", "none", "--output-path", "client"])
            .arg("--path")
            .arg(&file)
            .arg("--config")
            .arg(&config)
            .output()
            .unwrap();
        let said = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "openapi-python-client: {said}");
        // It warns, and leaves the endpoint out, when it cannot read an operation.
        assert!(!said.contains("Warning"), "openapi-python-client: {said}");
        let mut functions = 0;
        for tag in std::fs::read_dir(dir.path().join("client/api")).unwrap() {
            let tag = tag.unwrap().path();
            if tag.is_dir() {
                functions += std::fs::read_dir(&tag)
                    .unwrap()
                    .filter(|f| {
                        let name = f.as_ref().unwrap().file_name();
                        name != "__init__.py" && name.to_string_lossy().ends_with(".py")
                    })
                    .count();
            }
        }
        let operations: usize = operations(&document).values().map(Vec::len).sum();
        assert_eq!(functions, operations, "{said}");
    }
}
