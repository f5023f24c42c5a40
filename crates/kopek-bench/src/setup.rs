//! Prepares a fresh server over its own API: the example catalog, organizations
//! with their keys, a reseller with a key, an operation and users to read.

use anyhow::{Context, bail};
use serde_json::{Value, json};

pub const PRODUCT: &str = "0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f60";
pub const PLAN: &str = "0b6f3f0e-6c1a-4f4e-9d3a-1c2b3d4e5f61";
pub const ORGS: usize = 64;

pub struct Fixture {
    /// (organization guid, its organization key)
    pub orgs: Vec<(String, String)>,
    pub reseller: String,
    pub reseller_key: String,
    pub integration_key: String,
    pub operation: String,
    /// An organization nobody bills, whose invoices only fill the table.
    pub archive: String,
}

pub async fn call(
    client: &reqwest::Client,
    base: &str,
    admin: &str,
    method: reqwest::Method,
    path: &str,
    body: Value,
) -> anyhow::Result<Value> {
    let response = client
        .request(method, format!("{base}{path}"))
        .bearer_auth(admin)
        .json(&body)
        .send()
        .await?;
    let status = response.status();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        bail!("{path}: {status} {answer}");
    }
    Ok(answer)
}

pub async fn prepare(base: &str, admin: &str) -> anyhow::Result<Fixture> {
    use reqwest::Method;
    let client = reqwest::Client::new();
    let catalog: Value = serde_json::from_str(include_str!("../../../examples/catalog.json"))?;
    call(
        &client,
        base,
        admin,
        Method::PUT,
        "/admin/v1/catalog",
        catalog,
    )
    .await?;
    let mut orgs = Vec::new();
    for i in 0..ORGS {
        let org = call(
            &client,
            base,
            admin,
            Method::POST,
            "/admin/v1/organizations",
            json!({"alias": format!("bench-{i}"), "company": {"name": format!("Bench {i}"), "inn": "7707083893", "kpp": "773601001"}}),
        )
        .await?;
        let guid = org["guid"].as_str().context("org guid")?.to_owned();
        let key = call(
            &client,
            base,
            admin,
            Method::POST,
            "/admin/v1/api-keys",
            json!({"role": "organization", "scope": guid}),
        )
        .await?;
        orgs.push((guid, key["token"].as_str().context("token")?.to_owned()));
    }
    let reseller = call(
        &client,
        base,
        admin,
        Method::POST,
        "/admin/v1/resellers",
        json!({"name": "Bench reseller"}),
    )
    .await?;
    let reseller = reseller["id"].as_str().context("reseller id")?.to_owned();
    let key = call(
        &client,
        base,
        admin,
        Method::POST,
        "/admin/v1/api-keys",
        json!({"role": "reseller", "scope": reseller}),
    )
    .await?;
    let reseller_key = key["token"].as_str().context("token")?.to_owned();
    let key = call(
        &client,
        base,
        admin,
        Method::POST,
        "/admin/v1/api-keys",
        json!({"role": "integration"}),
    )
    .await?;
    let integration_key = key["token"].as_str().context("token")?.to_owned();
    let op = call(
        &client,
        base,
        &reseller_key,
        Method::POST,
        "/billing/v1/customers:createResellerServedCustomer",
        json!({"resellerId": reseller, "name": "Read me", "person": {}}),
    )
    .await?;
    let operation = op["id"].as_str().context("operation id")?.to_owned();
    let archive = call(
        &client,
        base,
        admin,
        Method::POST,
        "/admin/v1/organizations",
        json!({"alias": "bench-archive", "company": {"name": "Archive", "inn": "7707083893", "kpp": "773601001"}}),
    )
    .await?;
    let archive = archive["guid"].as_str().context("archive guid")?.to_owned();
    Ok(Fixture {
        archive,
        orgs,
        reseller,
        reseller_key,
        integration_key,
        operation,
    })
}
