//! Licenses that work offline: a subscription's period as an Ed25519-signed token,
//! checked here by an implementation that is not Kopek's (Python's `cryptography`,
//! OpenSSL underneath), the published keys and their rotation, and the signed list
//! of tokens a refund or a cancel cut short.

use crate::both_backends;
use crate::harness::{Backend, TestApp, missing, python_with, read, run_python};
use crate::lifepos::{START_PRODUCT, Shop, lp, start_product};
use crate::subscriptions::{at, invoice_action, invoices, paid_invoice, pay, subscribed};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Duration;

const DAY: i64 = 24 * 3600;

fn token_path(shop: &Shop) -> String {
    format!(
        "/orgs/{}/profile/subscriptions/products/{START_PRODUCT}/license-token",
        shop.org
    )
}

async fn license_token(app: &TestApp, shop: &Shop) -> (u16, Value) {
    read(
        lp(app, Method::GET, &token_path(shop), &shop.token)
            .send()
            .await
            .unwrap(),
    )
    .await
}

async fn issued(app: &TestApp, shop: &Shop) -> Value {
    let (status, body) = license_token(app, shop).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn public(app: &TestApp, path: &str) -> reqwest::Response {
    app.request(Method::GET, path, None).send().await.unwrap()
}

async fn key_set(app: &TestApp) -> Vec<Value> {
    let (status, body) = read(public(app, "/.well-known/kopek-license-keys").await).await;
    assert_eq!(status, 200, "{body}");
    body["keys"].as_array().unwrap().clone()
}

/// The signed revocation list, as text.
async fn revocation_list(app: &TestApp) -> String {
    let (status, body) = read(public(app, "/.well-known/kopek-license-revocations").await).await;
    assert_eq!(status, 200, "{body}");
    body["jwt"].as_str().unwrap().to_owned()
}

/// A part of a compact token, decoded.
fn part(token: &str, index: usize) -> Value {
    let text = token.split('.').nth(index).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(text).unwrap()).unwrap()
}

fn claims(token: &str) -> Value {
    part(token, 1)
}

/// The token with its claims replaced and its signature kept.
fn with_claims(token: &str, claims: &Value) -> String {
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    parts[1] = URL_SAFE_NO_PAD.encode(claims.to_string());
    parts.join(".")
}

/// The token with one byte of its signature changed.
fn with_signature_flipped(token: &str) -> String {
    let (signed, signature) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(signature).unwrap();
    bytes[10] ^= 1;
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// Whether each token verifies, as an offline device would check it: the header
/// names EdDSA and a key of the set whose `kid` is its RFC 7638 thumbprint, and
/// the Ed25519 signature over `header.claims` holds. Checked by Python's
/// `cryptography`; None (and said so) where it is not installed.
fn verified(keys: &[Value], tokens: &[&str]) -> Option<Vec<bool>> {
    let script = r#"
import base64, hashlib, json, sys
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
case = json.load(sys.stdin)
def b64u(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))
def thumbprint(k):
    canonical = json.dumps({"crv": k["crv"], "kty": k["kty"], "x": k["x"]},
                           separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(hashlib.sha256(canonical.encode()).digest()).rstrip(b"=").decode()
keys = {k["kid"]: Ed25519PublicKey.from_public_bytes(b64u(k["x"]))
        for k in case["keys"]
        if k["kty"] == "OKP" and k["crv"] == "Ed25519" and k["kid"] == thumbprint(k)}
def ok(token):
    try:
        header, claims, signature = token.split(".")
        h = json.loads(b64u(header))
        if h["alg"] != "EdDSA":
            return False
        keys[h["kid"]].verify(b64u(signature), (header + "." + claims).encode())
        return True
    except Exception:
        return False
print(json.dumps([ok(t) for t in case["tokens"]]))
"#;
    let Some(python) = python_with("cryptography") else {
        missing("cryptography (Python)");
        return None;
    };
    let answer = run_python(&python, script, &json!({"keys": keys, "tokens": tokens}));
    Some(serde_json::from_value(answer).unwrap())
}

fn subscription_of(list: &Value) -> Value {
    list["subscriptions"][0].clone()
}

async fn subscription(app: &TestApp, shop: &Shop) -> Value {
    let path = format!("/admin/v1/subscriptions?organization={}", shop.org);
    let (status, list) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{list}");
    subscription_of(&list)
}

async fn tokens_verify_offline_and_tampering_shows(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let shop = subscribed(&app, "offline").await;
    let s = subscription(&app, &shop).await;
    let body = issued(&app, &shop).await;
    let token = body["token"].as_str().unwrap();
    assert_eq!(body["type_of"], "LicenseToken");
    assert_eq!(body["quantity"], 3);
    assert!(
        body["keys_url"]
            .as_str()
            .unwrap()
            .ends_with("/.well-known/kopek-license-keys")
    );

    let header = part(token, 0);
    assert_eq!(header["alg"], "EdDSA");
    assert_eq!(header["typ"], "kopek-license+jwt");
    assert_eq!(header["kid"], body["key_id"]);
    let c = claims(token);
    let end = at(&s["current_period_end"]);
    assert_eq!(c["sub"], shop.org.as_str());
    assert_eq!(c["subscription"], s["id"]);
    assert_eq!(c["product"], START_PRODUCT);
    assert_eq!(c["plan"], s["plan_guid"]);
    assert_eq!(c["quantity"], 3);
    assert_eq!(c["status"], "active");
    assert_eq!(c["iss"], app.base.as_str());
    assert_eq!(
        c["period_start"],
        at(&s["current_period_start"]).unix_seconds()
    );
    assert_eq!(c["period_end"], end.unix_seconds());
    assert_eq!(c["grace_end"], end.plus_seconds(3 * DAY).unix_seconds());
    assert_eq!(c["exp"], c["grace_end"]);
    assert_eq!(c["jti"].as_str().unwrap().len(), 32);
    // LIFE POS shows the same period as the license.
    let license = start_product(&app, &shop).await["acquired_license"].clone();
    assert_eq!(
        at(&license["expires_at"]).unix_seconds(),
        end.unix_seconds()
    );
    // A second token of the period has the same id.
    let again = issued(&app, &shop).await;
    assert_eq!(claims(again["token"].as_str().unwrap())["jti"], c["jti"]);

    let keys = key_set(&app).await;
    assert_eq!(keys.len(), 1, "{keys:?}");
    assert_eq!(keys[0]["kid"], body["key_id"]);
    assert_eq!(keys[0]["kty"], "OKP");
    assert_eq!(keys[0]["crv"], "Ed25519");
    let mut more = c.clone();
    more["quantity"] = json!(300);
    let mut longer = c.clone();
    longer["exp"] = json!(c["exp"].as_i64().unwrap() + 365 * DAY);
    let revocations = revocation_list(&app).await;
    let checks = [
        token.to_owned(),
        with_claims(token, &more),
        with_claims(token, &longer),
        with_signature_flipped(token),
        revocations.clone(),
    ];
    let checks: Vec<&str> = checks.iter().map(String::as_str).collect();
    if let Some(results) = verified(&keys, &checks) {
        assert_eq!(results, [true, false, false, false, true]);
    }
    assert_eq!(
        part(&revocations, 0)["typ"],
        "kopek-license-revocations+jwt"
    );
    assert_eq!(claims(&revocations)["revoked"], json!([]));

    // Another organization's key may not have it; an unknown product has none; a
    // token is needed.
    let other = subscribed(&app, "offline-other").await;
    let foreign = Shop {
        org: shop.org.clone(),
        token: other.token.clone(),
    };
    let (status, refused) = license_token(&app, &foreign).await;
    assert_eq!(status, 403, "{refused}");
    assert_eq!(refused["code"], "NoPermissions");
    let unknown = token_path(&shop).replace(START_PRODUCT, "00000000-0000-4000-8000-000000000000");
    let (status, none) = read(
        lp(&app, Method::GET, &unknown, &shop.token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 404, "{none}");
    assert_eq!(none["code"], "NotFound");
    let (status, _) = read(
        app.request(Method::GET, &token_path(&shop), None)
            .header("X-LP-Client-Identifier", crate::lifepos::CLIENT_ID)
            .header("X-LP-Client-Type", "Service")
            .header("Accept-Language", "en")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 401);
    app.stop().await;
}

async fn rotation_keeps_earlier_tokens_checkable(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let shop = subscribed(&app, "rotate").await;
    let first = issued(&app, &shop).await;
    let old_kid = first["key_id"].as_str().unwrap().to_owned();

    let (status, rotated) = app
        .admin(Method::POST, "/admin/v1/license-keys:rotate", None)
        .await;
    assert_eq!(status, 201, "{rotated}");
    assert_eq!(rotated["active"], true);
    let new_kid = rotated["kid"].as_str().unwrap().to_owned();
    assert_ne!(new_kid, old_kid);
    assert!(rotated.get("privateKey").is_none(), "{rotated}");

    let second = issued(&app, &shop).await;
    assert_eq!(second["key_id"], new_kid.as_str());
    let keys = key_set(&app).await;
    let kids: Vec<&str> = keys.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(kids, [new_kid.as_str(), old_kid.as_str()]);

    // Each token verifies with the set; a token whose header names the other key
    // does not.
    let first = first["token"].as_str().unwrap();
    let second = second["token"].as_str().unwrap();
    let (_, rest) = first.split_once('.').unwrap();
    let mut header = part(first, 0);
    header["kid"] = json!(new_kid);
    let relabeled = format!("{}.{rest}", URL_SAFE_NO_PAD.encode(header.to_string()));
    if let Some(results) = verified(&keys, &[first, second, &relabeled]) {
        assert_eq!(results, [true, true, false]);
    }

    let (status, list) = app.admin(Method::GET, "/admin/v1/license-keys", None).await;
    assert_eq!(status, 200, "{list}");
    let listed = list["licenseKeys"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["kid"], new_kid.as_str());
    assert_eq!(listed[0]["active"], true);
    assert_eq!(listed[1]["active"], false);
    assert!(listed[1]["retiredAt"].is_string());
    // The old key stays published while its token runs: to the grace end.
    assert_eq!(
        at(&listed[1]["signedUntil"]).unix_seconds(),
        claims(first)["exp"].as_i64().unwrap()
    );
    let (status, _) = read(
        app.request(
            Method::POST,
            "/admin/v1/license-keys:rotate",
            Some(&shop.token),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(status, 403);
    app.stop().await;
}

/// The revocation list's ids and reasons, once it verifies.
async fn revoked(app: &TestApp) -> Vec<(String, String)> {
    let list = revocation_list(app).await;
    if let Some(results) = verified(&key_set(app).await, &[&list]) {
        assert_eq!(results, [true]);
    }
    claims(&list)["revoked"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["jti"].as_str().unwrap().to_owned(),
                r["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

async fn refunds_and_cancels_revoke_the_period(backend: Backend) {
    let app = TestApp::spawn(backend).await;

    // A refund of the invoice that bought the period ends it now.
    let refunded = subscribed(&app, "refunded").await;
    let jti = claims(issued(&app, &refunded).await["token"].as_str().unwrap())["jti"].clone();
    let invoice = invoices(&app, &app.base, &refunded).await[0]["guid"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = invoice_action(&app, &invoice, "refund", None).await;
    assert_eq!(status, 200, "{body}");
    let s = subscription(&app, &refunded).await;
    assert_eq!(s["status"], "canceled");
    let (status, refused) = license_token(&app, &refunded).await;
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["code"], "OperationCannotBePerformed");
    assert_eq!(
        revoked(&app).await,
        [(jti.as_str().unwrap().to_owned(), "refund".to_owned())]
    );
    let license = start_product(&app, &refunded).await["acquired_license"].clone();
    assert_eq!(
        at(&license["expires_at"]).unix_seconds(),
        at(&s["current_period_end"]).unix_seconds()
    );

    // So does a cancel now.
    let canceled = subscribed(&app, "canceled").await;
    let jti = claims(issued(&app, &canceled).await["token"].as_str().unwrap())["jti"].clone();
    let id = subscription(&app, &canceled).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/subscriptions/{id}:cancel"),
            Some(json!({"at": "now"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, _) = license_token(&app, &canceled).await;
    assert_eq!(status, 422);
    assert!(
        revoked(&app)
            .await
            .contains(&(jti.as_str().unwrap().to_owned(), "canceled".to_owned()))
    );
    app.stop().await;
}

/// A renewal paid ahead and refunded before its period began: the running period
/// keeps its token, the refunded one's is revoked, and the subscription ends with
/// the running period (so its tokens carry no grace days any more).
async fn a_renewal_refunded_ahead_keeps_the_running_period(backend: Backend) {
    let app = TestApp::spawn_with(backend, |c| c.renewal_lead_days = 40, |w| w).await;
    let shop = subscribed(&app, "ahead").await;
    let first = subscription(&app, &shop).await;
    let end = at(&first["current_period_end"]);
    let running = claims(issued(&app, &shop).await["token"].as_str().unwrap());
    let mut renewal = None;
    for _ in 0..100 {
        renewal = invoices(&app, &app.base, &shop)
            .await
            .into_iter()
            .find(|i| i["status"] == "Pending");
        if renewal.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let renewal = renewal.expect("the renewal invoice");
    let guid = renewal["guid"].as_str().unwrap();
    let (status, paid) = pay(&app, guid).await;
    assert_eq!(status, 200, "{paid}");
    let ahead = claims(issued(&app, &shop).await["token"].as_str().unwrap());
    assert_eq!(ahead["period_end"], end.plus_months(1).unix_seconds());
    assert_ne!(ahead["jti"], running["jti"]);

    let (status, body) = invoice_action(&app, guid, "refund", None).await;
    assert_eq!(status, 200, "{body}");
    let s = subscription(&app, &shop).await;
    assert_eq!(s["status"], "active");
    assert_eq!(s["cancel_at_period_end"], true);
    assert_eq!(at(&s["current_period_end"]), end);
    assert_eq!(
        at(&s["current_period_start"]),
        at(&first["current_period_start"])
    );
    assert_eq!(
        revoked(&app).await,
        [(
            ahead["jti"].as_str().unwrap().to_owned(),
            "refund".to_owned()
        )]
    );
    let now = claims(issued(&app, &shop).await["token"].as_str().unwrap());
    assert_eq!(now["jti"], running["jti"]);
    assert_eq!(now["period_end"], end.unix_seconds());
    assert_eq!(
        now["exp"],
        end.unix_seconds(),
        "no grace: it ends with the period"
    );
    let license = start_product(&app, &shop).await["acquired_license"].clone();
    assert_eq!(
        at(&license["expires_at"]).unix_seconds(),
        end.unix_seconds()
    );
    // No renewal is issued for a subscription ending with its period.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let pending = invoices(&app, &app.base, &shop)
        .await
        .into_iter()
        .filter(|i| i["status"] == "Pending")
        .count();
    assert_eq!(pending, 0);
    // A later purchase for the product starts paying again.
    paid_invoice(&app, &shop, 1, 1).await;
    assert_eq!(subscription(&app, &shop).await["status"], "active");
    app.stop().await;
}

both_backends!(
    tokens_verify_offline_and_tampering_shows,
    rotation_keeps_earlier_tokens_checkable,
    refunds_and_cancels_revoke_the_period,
    a_renewal_refunded_ahead_keeps_the_running_period,
);
