//! schemathesis (from PyPI; `.ci/run` installs it) generates requests from the
//! served OpenAPI document, valid and invalid, and checks every answer: no 5xx,
//! and status, content type, headers and body as the document says. A fixed seed
//! and a bounded number of examples keep the run repeatable.

use crate::both_backends;
use crate::harness::{Backend, TestApp, have, say};

const SEED: &str = "7";
const EXAMPLES: &str = "30";

async fn generated_requests_match_the_document(backend: Backend) {
    if !have("st") {
        return;
    }
    let app = TestApp::spawn_with(backend, |c| c.sign_in_per_minute = 0, |w| w).await;
    // Some data, so that not every id in a path is unknown.
    crate::lifepos::ready(&app, "fuzzed").await;
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new("st")
        .current_dir(dir.path())
        .args(["run", &format!("{}/openapi.json", app.base)])
        .args(["-H", &format!("Authorization: Bearer {}", app.admin_token)])
        .args([
            "--checks",
            "not_a_server_error,status_code_conformance,content_type_conformance,\
             response_headers_conformance,response_schema_conformance",
            "--max-examples",
            EXAMPLES,
            "--seed",
            SEED,
            "--workers",
            "2",
            "--no-color",
            "--generation-database",
            "none",
        ])
        .output()
        .expect("run schemathesis");
    let report = String::from_utf8_lossy(&out.stdout);
    let summary = report
        .lines()
        .rev()
        .find(|l| l.starts_with("====") && l.contains(" in "))
        .unwrap_or("(no summary)")
        .trim_matches(|c| c == '=' || c == ' ');
    let generated = report
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" generated"))
        .unwrap_or("");
    say(&format!(
        "schemathesis ({backend:?}, seed {SEED}, {EXAMPLES} examples an operation): {generated}; {summary}"
    ));
    assert!(
        out.status.success() && !summary.contains("failure") && !summary.contains("error"),
        "schemathesis found problems:\n{report}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

both_backends!(generated_requests_match_the_document);
