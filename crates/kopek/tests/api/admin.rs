use crate::both_backends;
use crate::harness::TestApp;
use reqwest::Method;
use serde_json::json;

async fn resellers_are_created_read_and_listed_in_pages(app: TestApp) {
    let (status, created) = app
        .admin(
            Method::POST,
            "/admin/v1/resellers",
            Some(json!({"name": "Acme", "countryCode": "KZ", "currency": "KZT"})),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_str().unwrap();
    assert!(kopek_domain::ids::is_yc_id(id), "{id}");
    assert_eq!(created["countryCode"], "KZ");
    assert_eq!(created["currency"], "KZT");
    assert_eq!(created["active"], true);
    assert!(created["createdAt"].as_str().unwrap().ends_with('Z'));

    let (status, got) = app
        .admin(Method::GET, &format!("/admin/v1/resellers/{id}"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(got, created);
    let (status, missing) = app
        .admin(
            Method::GET,
            "/admin/v1/resellers/dn2nosuchreseller000",
            None,
        )
        .await;
    assert_eq!(status, 404, "{missing}");

    for i in 0..4 {
        app.reseller(&format!("R{i}")).await;
    }
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let (status, page) = app
            .admin(
                Method::GET,
                &format!("/admin/v1/resellers?pageSize=2&pageToken={token}"),
                None,
            )
            .await;
        assert_eq!(status, 200, "{page}");
        let items = page["resellers"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(items.iter().map(|r| r["id"].as_str().unwrap().to_owned()));
        token = page["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(seen.len(), 5);
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted, seen, "each once, in id order");

    let (status, bad) = app
        .admin(Method::GET, "/admin/v1/resellers?pageToken=forged", None)
        .await;
    assert_eq!(status, 400, "{bad}");
    assert_eq!(bad["error"]["fields"][0]["field"], "pageToken");
    let (status, _) = app
        .admin(Method::GET, "/admin/v1/resellers?pageSize=1001", None)
        .await;
    assert_eq!(status, 400);
}

async fn reseller_validation_lists_every_field(app: TestApp) {
    let (status, body) = app
        .admin(
            Method::POST,
            "/admin/v1/resellers",
            Some(json!({"name": " ", "countryCode": "Russia", "currency": "DOGE"})),
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let fields: Vec<&str> = body["error"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["name", "countryCode", "currency"]);
    let (_, list) = app.admin(Method::GET, "/admin/v1/resellers", None).await;
    assert_eq!(
        list["resellers"].as_array().unwrap().len(),
        0,
        "nothing half-written"
    );
}

both_backends!(
    resellers_are_created_read_and_listed_in_pages,
    reseller_validation_lists_every_field
);
