//! The official Yandex Cloud Python SDK (`yandexcloud` from PyPI), unchanged, drives
//! Kopek's gRPC surface over TLS: once with a Kopek key as IAM token, once with it
//! as OAuth token (the SDK then exchanges it through IamTokenService.Create).

use crate::both_backends;
use crate::harness::{Backend, TestApp, have};
use reqwest::Method;
use std::path::PathBuf;
use std::process::Command;
use tokio::sync::OnceCell;

/// The SDK version the .proto files were checked against (proto/README.md).
const SDK: &str = "yandexcloud==0.413.0";

/// A virtual environment with the SDK, made once and kept in the target directory.
async fn python() -> Option<PathBuf> {
    static VENV: OnceCell<Option<PathBuf>> = OnceCell::const_new();
    VENV.get_or_init(|| async {
        if !have("python3") {
            return None;
        }
        let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("ycvenv");
        let python = venv.join("bin/python");
        tokio::task::spawn_blocking(move || {
            let ready = |p: &PathBuf| {
                Command::new(p)
                    .args(["-c", "import yandexcloud"])
                    .output()
                    .is_ok_and(|o| o.status.success())
            };
            if !ready(&python) {
                let made = Command::new("python3")
                    .args(["-m", "venv"])
                    .arg(&venv)
                    .status()
                    .expect("python3 -m venv");
                assert!(made.success(), "creating the virtual environment failed");
                let pip = Command::new(venv.join("bin/pip"))
                    .args(["install", "--quiet", "--disable-pip-version-check", SDK])
                    .status()
                    .expect("pip");
                assert!(pip.success(), "pip install {SDK} failed");
            }
            assert!(ready(&python), "the SDK does not import");
            Some(python)
        })
        .await
        .unwrap()
    })
    .await
    .clone()
}

const SCRIPT: &str = r#"
import os, sys, json, grpc, yandexcloud
from google.rpc import status_pb2, error_details_pb2
from yandex.cloud.billing.v1.customer_pb2 import Customer, CustomerPerson
from yandex.cloud.billing.v1.customer_service_pb2 import (
    ActivateCustomerRequest, CreateResellerServedCustomerRequest, CustomerMetadata,
    InviteCustomerRequest, ListCustomersRequest, SuspendCustomerRequest)
from yandex.cloud.billing.v1.customer_service_pb2_grpc import CustomerServiceStub

auth = {"iam_token": os.environ["KEY"]} if os.environ["MODE"] == "iam_token" else {"token": os.environ["KEY"]}
sdk = yandexcloud.SDK(endpoint=os.environ["ENDPOINT"], root_certificates=open(os.environ["CERT"], "rb").read(), **auth)
customers = sdk.client(CustomerServiceStub)
rid = os.environ["RESELLER"]
out = {}

op = customers.Invite(InviteCustomerRequest(
    reseller_id=rid, name="Romashka LLC", invitation_email="owner@romashka.example",
    person=CustomerPerson(name="Ivan Petrov", phone="+7 495 739-70-00", email="ivan@romashka.example")))
invited = sdk.wait_operation_and_get_result(op, response_type=Customer, meta_type=CustomerMetadata)
out["invited"] = {"id": invited.response.id, "account": invited.response.billing_account_id,
                  "meta_reseller": invited.meta.reseller_id, "meta_customer": invited.meta.customer_id}

served = []
for i in range(4):
    op = customers.CreateResellerServed(CreateResellerServedCustomerRequest(
        reseller_id=rid, name=f"Served {i}", person=CustomerPerson(phone="8 (812) 309-73-00")))
    served.append(sdk.wait_operation_and_get_result(op, response_type=Customer, meta_type=CustomerMetadata).response.id)
out["served"] = served

ids, token, pages = [], "", 0
while True:
    page = customers.List(ListCustomersRequest(reseller_id=rid, page_size=2, page_token=token))
    ids += [c.id for c in page.customers]
    pages += 1
    token = page.next_page_token
    if not token:
        break
out["listed"], out["pages"] = ids, pages

op = customers.Suspend(SuspendCustomerRequest(customer_id=served[0]))
out["suspended"] = sdk.wait_operation_and_get_result(op, response_type=Customer).response.id
op = customers.Activate(ActivateCustomerRequest(customer_id=served[0]))
out["activated"] = sdk.wait_operation_and_get_result(op, response_type=Customer).response.id

try:
    customers.Invite(InviteCustomerRequest(reseller_id=rid, name="x", invitation_email="not-an-email", person=CustomerPerson()))
    out["invalid"] = None
except grpc.RpcError as e:
    fields = []
    for key, value in e.trailing_metadata() or ():
        if key == "grpc-status-details-bin":
            for detail in status_pb2.Status.FromString(value).details:
                if detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                    bad = error_details_pb2.BadRequest()
                    detail.Unpack(bad)
                    fields += [v.field for v in bad.field_violations]
    out["invalid"] = {"code": e.code().name, "details": e.details(), "fields": fields}

try:
    customers.Suspend(SuspendCustomerRequest(customer_id=served[0]))
    customers.Suspend(SuspendCustomerRequest(customer_id=served[0]))
    out["illegal"] = None
except grpc.RpcError as e:
    out["illegal"] = e.code().name

# A NUL in any string is INVALID_ARGUMENT naming the field, never an internal error.
out["nul"] = {}
for what, call in [
    ("name", lambda: customers.Invite(InviteCustomerRequest(reseller_id=rid, name="a\x00b",
        invitation_email="nul@romashka.example", person=CustomerPerson()))),
    ("person.longname", lambda: customers.CreateResellerServed(CreateResellerServedCustomerRequest(
        reseller_id=rid, name="n", person=CustomerPerson(longname="a\x00b")))),
    ("customer_id", lambda: customers.Suspend(SuspendCustomerRequest(customer_id="a\x00b"))),
    ("reseller_id", lambda: customers.List(ListCustomersRequest(reseller_id="a\x00b"))),
]:
    try:
        call()
        out["nul"][what] = None
    except grpc.RpcError as e:
        out["nul"][what] = {"code": e.code().name, "details": e.details()}

print(json.dumps(out))
"#;

async fn the_official_sdk_drives_kopek_over_grpc(backend: Backend) {
    let Some(python) = python().await else { return };
    let certs = tempfile::tempdir().unwrap();
    let (cert, key) = kopek::self_signed("localhost", certs.path()).unwrap();
    let app = TestApp::spawn_with(
        backend,
        |c| {
            c.grpc_listen = Some("127.0.0.1:0".to_owned());
            c.grpc_tls_cert = Some(cert.clone());
            c.grpc_tls_key = Some(key.clone());
        },
        |w| w,
    )
    .await;
    let port = app.grpc_addr().expect("gRPC is on").port();
    // The certificate names localhost, and so does the address endpoints announce.
    let endpoint = format!("localhost:{port}");
    assert!(std::env::var_os("KOPEK_GRPC_PUBLIC_ADDRESS").is_none());

    for mode in ["iam_token", "token"] {
        let reseller = app.reseller(&format!("Partner via {mode}")).await;
        let (_, api_key) = app.key("reseller", Some(&reseller)).await;
        let script = certs.path().join("sdk.py");
        std::fs::write(&script, SCRIPT).unwrap();
        let reseller_id = reseller.clone();
        let (python, endpoint, cert) = (python.clone(), endpoint.clone(), cert.clone());
        let output = tokio::task::spawn_blocking(move || {
            Command::new(&python)
                .arg(&script)
                .env("ENDPOINT", &endpoint)
                .env("CERT", &cert)
                .env("KEY", &api_key)
                .env("MODE", mode)
                .env("RESELLER", &reseller)
                .output()
                .unwrap()
        })
        .await
        .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{mode}: {stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let out: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(
            out["invited"]["id"].as_str().unwrap().starts_with("bcu"),
            "{out}"
        );
        assert_eq!(out["invited"]["id"], out["invited"]["meta_customer"]);
        assert_eq!(out["invited"]["meta_reseller"], reseller_id.as_str());
        let listed: Vec<&str> = out["listed"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut unique = listed.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(
            (listed.len(), unique.len(), out["pages"].as_i64()),
            (5, 5, Some(3)),
            "{mode}: every customer once across pages"
        );
        assert_eq!(out["suspended"], out["served"][0]);
        assert_eq!(out["activated"], out["served"][0]);
        assert_eq!(out["invalid"]["code"], "INVALID_ARGUMENT", "{out}");
        assert!(
            out["invalid"]["details"]
                .as_str()
                .unwrap()
                .contains("invitation_email")
        );
        assert_eq!(
            out["invalid"]["fields"],
            serde_json::json!(["invitation_email"])
        );
        assert_eq!(out["illegal"], "FAILED_PRECONDITION");
        for (field, answer) in out["nul"].as_object().unwrap() {
            assert_eq!(answer["code"], "INVALID_ARGUMENT", "{field}: {answer}");
            assert!(
                answer["details"].as_str().unwrap().contains(field.as_str()),
                "{field}: {answer}"
            );
        }
        assert_eq!(out["nul"].as_object().unwrap().len(), 4);
        // The same customers are there over REST: one domain underneath.
        let (status, rest) = app
            .admin(
                Method::GET,
                &format!("/billing/v1/customers?resellerId={reseller_id}"),
                None,
            )
            .await;
        assert_eq!(
            (status, rest["customers"].as_array().unwrap().len()),
            (200, 5)
        );
    }
}

both_backends!(the_official_sdk_drives_kopek_over_grpc);
