//! Closing documents through a year on the test clock, from December 2025: a
//! `monthly` product gets twelve УПД whose amounts add up to the invoice (the
//! December one at 20% VAT, the others at 22%), an `at_payment` product one;
//! numbers are gapless per year, also with two processes issuing at once; the
//! XML validates against the ФНС schema and meets the rules it embeds; the PDF
//! has the number, both INNs and the total; a refund makes a correction, and a
//! cancel now documents the days rendered; each document is mailed with its
//! files; the reconciliation statement adds up as SQL does.

use crate::both_backends;
use crate::customers::eml_files;
use crate::harness::{Backend, TestApp, have, pdf_text, read, spawn_process_with};
use crate::lifepos::{
    START_PLAN, START_PRODUCT, create_path, example_catalog, lp, organization, put_catalog,
    seed_request,
};
use crate::subscriptions::{invoice_action, move_clock, pay};
use kopek_domain::time::Timestamp;
use reqwest::Method;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

both_backends!(
    a_year_of_monthly_and_at_payment_documents,
    two_processes_number_documents_without_gaps,
    the_reconciliation_statement_equals_sums_in_sql,
    each_document_is_mailed_with_its_files,
    a_cancel_now_documents_the_days_rendered,
);

const EGAIS_PRODUCT: &str = "4d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c00";
const EGAIS_PLAN: &str = "4d2c1b0a-9e8f-4a7b-8c6d-5e4f3a2b1c01";
const SELLER_INN: &str = "7728168971";
const BUYER_INN: &str = "7707083893";
const SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../specs/upd-5.03/ON_NSCHFDOPPR_1_997_01_05_03_05.xsd"
);

fn seller(c: &mut kopek::config::Config) {
    c.seller_name = "ООО «Копейка»".to_owned();
    c.seller_inn = SELLER_INN.to_owned();
    c.seller_kpp = "770801001".to_owned();
    c.seller_address = "г. Москва, ул. Тверская, д. 1".to_owned();
    c.seller_edo_id = Some("2BM-7728168971-770801001-201801010000000000000".to_owned());
    c.seller_signer_name = "Петров Пётр Петрович".to_owned();
    c.seller_signer_position = "Генеральный директор".to_owned();
}

/// The example catalog with LIFE POS documented monthly (ЕГАИС stays at
/// payment, the default).
fn catalog() -> Value {
    let mut c = example_catalog();
    c["products"][0]["closing"] = json!("monthly");
    c
}

async fn buyer(app: &TestApp, alias: &str, edo_id: Option<&str>) -> (String, String) {
    let org = organization(app, alias, None).await;
    let mut patch = json!({"legalAddress": format!("г. Казань, ул. Баумана, д. {}", alias.len())});
    if let Some(id) = edo_id {
        patch["edoId"] = json!(id);
    }
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/admin/v1/organizations/{org}"),
            Some(patch),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["edoId"], json!(edo_id));
    let (_, token) = app.key("organization", Some(&org)).await;
    (org, token)
}

/// Creates and pays an invoice for `quantity` of a plan for 12 months.
async fn paid(
    app: &TestApp,
    (org, token): &(String, String),
    product: &str,
    plan: &str,
    quantity: i64,
) -> Value {
    let (status, invoice) = read(
        lp(app, Method::POST, &create_path(org, product), token)
            .json(&seed_request(plan, quantity, 12, org))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 201, "{invoice}");
    let (status, paid) = pay(app, invoice["guid"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{paid}");
    invoice
}

async fn documents(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, body) = app
        .admin(
            Method::GET,
            &format!("/admin/v1/closing-documents?pageSize=1000&{query}"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let mut docs = body["closingDocuments"].as_array().unwrap().clone();
    docs.reverse();
    docs
}

async fn file(app: &TestApp, path: &str) -> (u16, String, Vec<u8>) {
    let response = app
        .request(Method::GET, path, Some(&app.admin_token))
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let disposition = response
        .headers()
        .get("content-disposition")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (
        status,
        disposition,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// `expr` with each non-ASCII name written as a name test (`Файл` as
/// `*[name()='Файл']`, `@ИдФайл` as `@*[name()='ИдФайл']`): the XPath parser of
/// libxml2 2.9 takes no names beyond ASCII, while its string literals may hold
/// any.
fn ascii_names(expr: &str) -> String {
    let mut out = String::new();
    let mut name = String::new();
    let mut quote: Option<char> = None;
    let flush = |out: &mut String, name: &mut String| {
        if name.is_ascii() {
            out.push_str(name);
        } else if let Some(attr) = out.strip_suffix('@') {
            *out = format!("{attr}@*[name()='{name}']");
        } else {
            out.push_str(&format!("*[name()='{name}']"));
        }
        name.clear();
    };
    for c in expr.chars() {
        match quote {
            Some(q) => {
                out.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c.is_alphanumeric() || c == '_' => name.push(c),
            None => {
                flush(&mut out, &mut name);
                if c == '\'' || c == '"' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    flush(&mut out, &mut name);
    out
}

/// What `xmllint --xpath` answers for an expression (a string, number or
/// boolean).
fn xpath(xml: &Path, expr: &str) -> String {
    let out = std::process::Command::new("xmllint")
        .args(["--xpath", &ascii_names(expr)])
        .arg(xml)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// The VAT in `gross` at `basis_points`, half away from zero, computed here
/// apart from Kopek's own.
fn included(gross: i64, basis_points: i64) -> i64 {
    let (n, d) = (gross * basis_points, 10_000 + basis_points);
    (2 * n + d) / (2 * d)
}

/// Downloads a document's XML into the test's directory under the name it
/// carries, validates it with xmllint against the ФНС schema, checks the rules
/// the schema embeds for СЧФДОП, and answers the file's path.
async fn valid_xml(app: &TestApp, doc: &Value) -> Option<PathBuf> {
    let (status, disposition, bytes) = file(
        app,
        &format!(
            "/admin/v1/closing-documents/{}.xml",
            doc["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    let name = doc["xmlFileName"].as_str().unwrap();
    assert!(disposition.contains(name), "{disposition} {name}");
    assert!(
        bytes.starts_with(b"<?xml version=\"1.0\" encoding=\"windows-1251\"?>"),
        "the prolog names windows-1251"
    );
    checked_xml(app, name, &bytes, doc["number"].as_str().unwrap())
}

/// [`valid_xml`]'s checks of an XML named `name`, wherever it came from.
fn checked_xml(app: &TestApp, name: &str, bytes: &[u8], number: &str) -> Option<PathBuf> {
    let (text, _, bad) = encoding_rs::WINDOWS_1251.decode(bytes);
    assert!(!bad);
    assert!(text.contains(number));
    if !have("xmllint") {
        return None;
    }
    let path = app.data_dir().join(name);
    std::fs::write(&path, bytes).unwrap();
    let out = std::process::Command::new("xmllint")
        .args(["--noout", "--schema", SCHEMA])
        .arg(&path)
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success() && said.contains("validates"), "{said}");
    crate::harness::say(&format!("xmllint: {}", said.trim()));
    // The ФНС rules embedded in the schema that xmllint does not run (SOURCE.md).
    let stem = name.trim_end_matches(".xml");
    assert_eq!(
        xpath(&path, "string(/Файл/@ИдФайл)"),
        stem,
        "file name = ИдФайл"
    );
    for rule in [
        "/Файл/Документ/@Функция = 'СЧФДОП'",
        "count(/Файл/Документ/@НаимДокОпр) = 1",
        "count(/Файл/Документ/ТаблСчФакт) = 1",
        "count(/Файл/Документ/СвСчФакт/СвПрод/Адрес) = 1",
        "count(/Файл/Документ/СвСчФакт/СвПокуп/Адрес) = 1",
        "count(/Файл/Документ/СвПродПер/СвПер) = 1",
        "count(/Файл/Документ/СвПродПер/СвПер/@ДатаПер) = 1 or \
         (count(//СвПер/@ДатаНачПер) = 1 and count(//СвПер/@ДатаОконПер) = 1)",
        "count(/Файл/Документ/СвПродПер/СвПер/ОснПер) >= 1",
        "count(//СведТов[not(@НаимТов) or not(@СтТовБезНДС) or not(@СтТовУчНал)]) = 0",
        "count(//СведТов[@ОКЕИ_Тов and (not(@НаимЕдИзм) or not(@КолТов))]) = 0",
        "count(//СведТов[@КолТов and not(@ЦенаТов > 0)]) = 0",
        "count(//ВсегоОпл/@СтТовБезНДСВсего) = 1 and count(//ВсегоОпл/@СтТовУчНалВсего) = 1",
        "count(//Подписант[@СпосПодтПолном = '3' and not(СвДоверЭл)]) = 0",
        "count(//Подписант[@СпосПодтПолном = '5' and not(СвДоверБум)]) = 0",
    ] {
        assert_eq!(xpath(&path, &format!("boolean({rule})")), "true", "{rule}");
    }
    Some(path)
}

/// A number's sequence part: `2026-000007` is 7.
fn seq(doc: &Value) -> i64 {
    doc["number"].as_str().unwrap()[5..].parse().unwrap()
}

/// An app in test mode whose clock starts on 1 December 2025, with the seller's
/// details and the catalog.
async fn december_2025(backend: Backend) -> TestApp {
    let app = TestApp::spawn_with(
        backend,
        |c| {
            c.test_mode = true;
            c.fixed_time = Some("2025-12-01T09:00:00Z".to_owned());
            seller(c);
        },
        |w| w,
    )
    .await;
    put_catalog(&app, catalog()).await;
    app
}

async fn a_year_of_monthly_and_at_payment_documents(backend: Backend) {
    let app = december_2025(backend).await;
    let monthly_buyer = buyer(&app, "monthly", Some("2AE-7707083893-773601001-1")).await;
    let once_buyer = buyer(&app, "once", None).await;
    let monthly = paid(&app, &monthly_buyer, START_PRODUCT, START_PLAN, 1).await;
    let once = paid(&app, &once_buyer, EGAIS_PRODUCT, EGAIS_PLAN, 2).await;
    // One Старт for 12 months: 9 900,00 ₽ in the example catalog.
    let monthly_total = 990_000;

    // The at-payment document is due at once; the monthly ones at each month's end.
    let start = Timestamp::parse_rfc3339("2025-12-01T09:00:00Z").unwrap();
    let (status, body) = move_clock(&app, start.plus_seconds(1)).await;
    assert_eq!(status, 200, "{body}");
    let docs = documents(&app, "").await;
    assert_eq!(docs.len(), 1, "{docs:?}");
    assert_eq!(docs[0]["organizationGuid"], once_buyer.0.as_str());
    assert_eq!(docs[0]["total"], 1_080_000);
    assert_eq!(docs[0]["vat"], included(1_080_000, 2000));
    assert_eq!(docs[0]["vatRate"], "20%");
    assert_eq!(docs[0]["number"], "2025-000001");
    assert_eq!(docs[0]["date"], "2025-12-01");
    // No EDO id for this buyer: its XML is made but cannot go through an
    // operator until it is set.
    assert_eq!(docs[0]["edo"]["ready"], false, "{}", docs[0]);
    assert_eq!(docs[0]["edo"]["missing"], json!(["the buyer's edoId"]));
    assert!(
        docs[0]["xmlFileName"]
            .as_str()
            .unwrap()
            .starts_with("ON_NSCHFDOPPR_0_2BM-")
    );

    // A month on, minus a second: still none for the monthly product.
    let (status, _) = move_clock(&app, start.plus_months(1).plus_seconds(-1)).await;
    assert_eq!(status, 200);
    assert_eq!(
        documents(&app, &format!("organization={}", monthly_buyer.0))
            .await
            .len(),
        0
    );
    // The year through, a month a step, then well past its end: twelve, never
    // a thirteenth.
    for month in 1..=13 {
        let (status, body) = move_clock(&app, start.plus_months(month)).await;
        assert_eq!(status, 200, "{body}");
    }
    let docs = documents(&app, &format!("organization={}", monthly_buyer.0)).await;
    assert_eq!(docs.len(), 12, "{docs:?}");
    let sum: i64 = docs.iter().map(|d| d["total"].as_i64().unwrap()).sum();
    assert_eq!(sum, monthly_total, "the parts add up to the invoice");
    assert_eq!(docs[0]["total"], 82_500);
    assert_eq!(docs[0]["date"], "2025-12-31");
    assert_eq!(docs[0]["vatRate"], "20%", "December is rendered at 20%");
    assert_eq!(docs[1]["date"], "2026-01-31");
    assert_eq!(docs[1]["vatRate"], "22%", "January at 22%");
    let mut per_rate: std::collections::BTreeMap<String, (i64, i64)> = Default::default();
    for d in &docs {
        let rate = d["vatRate"].as_str().unwrap().trim_end_matches('%');
        let bp: i64 = rate.parse::<i64>().unwrap() * 100;
        assert_eq!(d["vat"], included(d["total"].as_i64().unwrap(), bp), "{d}");
        let e = per_rate
            .entry(d["vatRate"].as_str().unwrap().to_owned())
            .or_default();
        e.0 += d["total"].as_i64().unwrap();
        e.1 += d["vat"].as_i64().unwrap();
    }
    assert_eq!(per_rate["20%"], (82_500, included(82_500, 2000)));
    assert_eq!(per_rate["22%"].0, monthly_total - 82_500);
    // Numbers: gapless per year across both buyers.
    let all = documents(&app, "").await;
    let mut by_year: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for d in &all {
        by_year
            .entry(d["number"].as_str().unwrap()[..4].to_owned())
            .or_default()
            .push(seq(d));
    }
    for (year, mut seqs) in by_year.clone() {
        seqs.sort_unstable();
        assert_eq!(seqs, (1..=seqs.len() as i64).collect::<Vec<_>>(), "{year}");
    }
    assert_eq!(by_year["2025"].len(), 2);
    assert_eq!(by_year["2026"].len(), 11);

    // The January document as XML, read back.
    let jan = &docs[1];
    assert_eq!(jan["edo"]["ready"], true, "{jan}");
    if let Some(path) = valid_xml(&app, jan).await {
        let x = |e: &str| xpath(&path, e);
        assert_eq!(x("string(//СвПрод/ИдСв/СвЮЛУч/@ИННЮЛ)"), SELLER_INN);
        assert_eq!(x("string(//СвПокуп/ИдСв/СвЮЛУч/@ИННЮЛ)"), BUYER_INN);
        assert_eq!(x("string(//СвПокуп/ИдСв/СвЮЛУч/@НаимОрг)"), "ООО «monthly»");
        assert_eq!(
            x("string(//СвСчФакт/@НомерДок)"),
            jan["number"].as_str().unwrap()
        );
        assert_eq!(x("string(//СвСчФакт/@ДатаДок)"), "31.01.2026");
        assert_eq!(x("count(//СведТов)"), "1");
        assert_eq!(x("string(//СведТов/@НалСт)"), "22%");
        assert_eq!(x("string(//СведТов/@СтТовУчНал)"), "825.00");
        let vat = included(82_500, 2200);
        assert_eq!(
            x("string(//СведТов/СумНал/СумНал)"),
            format!("{}.{:02}", vat / 100, vat % 100)
        );
        let net = 82_500 - vat;
        assert_eq!(
            x("string(//ВсегоОпл/@СтТовБезНДСВсего)"),
            format!("{}.{:02}", net / 100, net % 100)
        );
        assert_eq!(x("string(//ВсегоОпл/@СтТовУчНалВсего)"), "825.00");
        assert_eq!(
            x("string(//СвПер/ОснПер/@РеквНомерДок)"),
            monthly["number"].as_str().unwrap()
        );
        assert_eq!(x("string(//Подписант/ФИО/@Фамилия)"), "Петров");
    }
    // The December document of the other buyer validates too (no EDO id).
    valid_xml(
        &app,
        &documents(&app, &format!("organization={}", once_buyer.0)).await[0],
    )
    .await;

    // The PDF: Russian, text extractable.
    let (status, _, pdf) = file(
        &app,
        &format!(
            "/admin/v1/closing-documents/{}.pdf",
            jan["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(status, 200);
    if let Some(text) = pdf_text(&pdf) {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [
            jan["number"].as_str().unwrap(),
            SELLER_INN,
            BUYER_INN,
            "825,00",
        ] {
            assert!(flat.contains(needle), "{needle} in {flat}");
        }
        assert!(
            flat.contains("Универсальный передаточный документ"),
            "{flat}"
        );
    }

    // A refund of the at-payment invoice after its document (the clock is in
    // January 2027 now): a correction to nothing, numbered in the refund's year;
    // the original is marked corrected.
    let (status, refunded) =
        invoice_action(&app, once["guid"].as_str().unwrap(), "refund", None).await;
    assert_eq!(status, 200, "{refunded}");
    let mine = documents(&app, &format!("organization={}", once_buyer.0)).await;
    assert_eq!(mine.len(), 2, "{mine:?}");
    let (original, correction) = (&mine[0], &mine[1]);
    assert_eq!(correction["kind"], "ukd");
    assert_eq!(correction["status"], "correction");
    assert_eq!(correction["correctsId"], original["id"]);
    assert_eq!(correction["total"], -1_080_000);
    assert_eq!(correction["vat"], -included(1_080_000, 2000));
    assert_eq!(correction["lines"][0]["amountBefore"], 1_080_000);
    assert_eq!(correction["lines"][0]["amount"], 0);
    assert_eq!(correction["number"], "2027-000001");
    let (status, original) = app
        .admin(
            Method::GET,
            &format!(
                "/admin/v1/closing-documents/{}",
                original["id"].as_str().unwrap()
            ),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(original["status"], "corrected");
    assert_eq!(original["correctedById"], correction["id"]);
    let corrections = documents(&app, "status=correction").await;
    assert_eq!(corrections.len(), 1);
    // Its XML (УКД) is not made yet, and says so; its PDF is.
    let id = correction["id"].as_str().unwrap();
    let (status, _, body) = file(&app, &format!("/admin/v1/closing-documents/{id}.xml")).await;
    assert_eq!(status, 409, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("УКД"));
    let (status, _, pdf) = file(&app, &format!("/admin/v1/closing-documents/{id}.pdf")).await;
    assert_eq!(status, 200);
    if let Some(text) = pdf_text(&pdf) {
        assert!(text.contains("корректировочный"), "{text}");
    }
    // Refunding the monthly invoice (every part issued): twelve corrections.
    let (status, _) = invoice_action(&app, monthly["guid"].as_str().unwrap(), "refund", None).await;
    assert_eq!(status, 200);
    let after = documents(&app, &format!("organization={}", monthly_buyer.0)).await;
    assert_eq!(after.len(), 24);
    let net: i64 = after.iter().map(|d| d["total"].as_i64().unwrap()).sum();
    assert_eq!(net, 0, "documents and corrections cancel out");

    // The buyer sees its own, with the same downloads, and not another's.
    let path = format!("/orgs/{}/profile/closing-documents", once_buyer.0);
    let (status, own) = read(
        lp(&app, Method::GET, &path, &once_buyer.1)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{own}");
    assert_eq!(own["closingDocuments"].as_array().unwrap().len(), 2);
    let pdf_path = format!("{path}/{}.pdf", mine[0]["id"].as_str().unwrap());
    let response = lp(&app, Method::GET, &pdf_path, &once_buyer.1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let others = format!("{path}/{}", jan["id"].as_str().unwrap());
    let response = lp(&app, Method::GET, &others, &once_buyer.1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
    let elsewhere = format!("/orgs/{}/profile/closing-documents", monthly_buyer.0);
    let response = lp(&app, Method::GET, &elsewhere, &once_buyer.1)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 403);
    // Bad filters are named.
    let (status, body) = app
        .admin(
            Method::GET,
            "/admin/v1/closing-documents?from=yesterday&status=lost",
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let text = body.to_string();
    assert!(text.contains("from") && text.contains("status"), "{text}");
    app.stop().await;
}

/// Two processes on one database, each with its scheduler, issue the documents
/// of forty payments: each once, numbered 1 to 40 without a gap.
async fn two_processes_number_documents_without_gaps(mut app: TestApp) {
    put_catalog(&app, catalog()).await;
    let shop = buyer(&app, "pair", None).await;
    app.stop_server().await;
    let env = [("KOPEK_ADMIN_TOKEN", app.admin_token.as_str())];
    let one = spawn_process_with(&app, &env).await;
    let two = spawn_process_with(&app, &env).await;
    let n = 40;
    for i in 0..n {
        let base = if i % 2 == 0 { &one.base } else { &two.base };
        let created = app
            .client
            .post(format!("{base}{}", create_path(&shop.0, EGAIS_PRODUCT)))
            .bearer_auth(&shop.1)
            .header("x-lp-client-identifier", crate::lifepos::CLIENT_ID)
            .header("x-lp-client-type", "WebApp")
            .header("accept-language", "ru-RU")
            .json(&seed_request(EGAIS_PLAN, 1, 1, &shop.0))
            .send()
            .await
            .unwrap();
        let (status, invoice) = read(created).await;
        assert_eq!(status, 201, "{invoice}");
        let guid = invoice["guid"].as_str().unwrap();
        let paid = app
            .client
            .post(format!("{base}/admin/v1/invoices/{guid}:pay"))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap();
        assert_eq!(paid.status().as_u16(), 200);
    }
    let mut docs = Vec::new();
    for _ in 0..150 {
        let (_, body) = read(
            app.client
                .get(format!(
                    "{}/admin/v1/closing-documents?pageSize=1000",
                    one.base
                ))
                .bearer_auth(&app.admin_token)
                .send()
                .await
                .unwrap(),
        )
        .await;
        docs = body["closingDocuments"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if docs.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let (_, body) = read(
        app.client
            .get(format!(
                "{}/admin/v1/closing-documents?pageSize=1000",
                two.base
            ))
            .bearer_auth(&app.admin_token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    let docs_after = body["closingDocuments"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(docs.len(), n, "every payment documented");
    assert_eq!(docs_after.len(), n, "and none twice");
    let mut seqs: Vec<i64> = docs_after.iter().map(seq).collect();
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=n as i64).collect::<Vec<_>>());
    let mut invoices: Vec<&str> = docs_after
        .iter()
        .map(|d| d["invoiceGuid"].as_str().unwrap())
        .collect();
    invoices.sort_unstable();
    invoices.dedup();
    assert_eq!(invoices.len(), n);
}

/// The statement's opening balance, turnovers and closing balance equal sums
/// over the same rows in SQL; its PDF is a two-sided акт сверки; the buyer reads
/// its own and no other's.
async fn the_reconciliation_statement_equals_sums_in_sql(backend: Backend) {
    let app = december_2025(backend).await;
    let shop = buyer(&app, "reconciled", None).await;
    let other = buyer(&app, "other", None).await;
    paid(&app, &shop, START_PRODUCT, START_PLAN, 1).await;
    let start = Timestamp::parse_rfc3339("2025-12-01T09:00:00Z").unwrap();
    for month in 1..=6 {
        let (status, body) = move_clock(&app, start.plus_months(month)).await;
        assert_eq!(status, 200, "{body}");
    }
    // In June an ЕГАИС year is bought, documented at payment, and refunded.
    let egais = paid(&app, &shop, EGAIS_PRODUCT, EGAIS_PLAN, 2).await;
    let (status, _) = move_clock(&app, start.plus_months(6).plus_seconds(1)).await;
    assert_eq!(status, 200);
    let (status, _) = invoice_action(&app, egais["guid"].as_str().unwrap(), "refund", None).await;
    assert_eq!(status, 200);

    let path = format!(
        "/admin/v1/organizations/{}/reconciliation?from=2026-01-01&to=2026-06-30",
        shop.0
    );
    let (status, st) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{st}");

    // The same sums, straight from the tables.
    let store = app.db.store().await;
    let pool = store.pool();
    let (from, to) = (
        Timestamp::parse_rfc3339("2026-01-01T00:00:00Z")
            .unwrap()
            .micros(),
        Timestamp::parse_rfc3339("2026-07-01T00:00:00Z")
            .unwrap()
            .micros(),
    );
    // Each sum over `[$2, $3)` (days as text for documents, times otherwise).
    let org = shop.0.as_str();
    let by_day = async |sql: &'static str, first: &str, until: &str| -> i64 {
        sqlx::query_scalar(sql)
            .bind(org)
            .bind(first.to_owned())
            .bind(until.to_owned())
            .fetch_one(pool)
            .await
            .unwrap()
    };
    let by_time = async |sql: &'static str, first: i64, until: i64| -> i64 {
        sqlx::query_scalar(sql)
            .bind(org)
            .bind(first)
            .bind(until)
            .fetch_one(pool)
            .await
            .unwrap()
    };
    const DOCS: &str = "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM closing_documents \
                        WHERE organization_guid = $1 AND issued_on >= $2 AND issued_on < $3";
    const PAID: &str = "SELECT CAST(COALESCE(SUM(p.amount), 0) AS BIGINT) FROM payments p \
                        JOIN invoices i ON i.guid = p.invoice_guid WHERE i.organization_guid = $1 \
                        AND p.created_at >= $2 AND p.created_at < $3";
    const REFUNDED: &str = "SELECT CAST(COALESCE(SUM(total), 0) AS BIGINT) FROM invoices \
                            WHERE organization_guid = $1 AND status = 'Refunded' \
                            AND updated_at >= $2 AND updated_at < $3";
    let docs_before = by_day(DOCS, "", "2026-01-01").await;
    let docs_in = by_day(DOCS, "2026-01-01", "2026-07-01").await;
    let paid_before = by_time(PAID, i64::MIN, from).await;
    let paid_in = by_time(PAID, from, to).await;
    let refunded_in = by_time(REFUNDED, from, to).await;
    // December's document and payment: the buyer paid ahead.
    assert_eq!((docs_before, paid_before), (82_500, 990_000));
    // By hand: the advance left after December, less January to May's five
    // monthly parts; the ЕГАИС year's document, correction, payment and refund
    // cancel out.
    assert_eq!(st["closingBalance"], 82_500 - 990_000 + 5 * 82_500);
    assert_eq!(st["openingBalance"], docs_before - paid_before);
    assert_eq!(st["debitTurnover"], docs_in + refunded_in);
    assert_eq!(st["creditTurnover"], paid_in);
    assert_eq!(
        st["closingBalance"],
        docs_before - paid_before + docs_in + refunded_in - paid_in
    );
    // Five monthly documents (January to May), the ЕГАИС document and its
    // correction, its refund, its invoice and its payment.
    let kinds: Vec<&str> = st["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| **k == "upd").count(),
        6,
        "{kinds:?}"
    );
    for kind in ["invoice", "payment", "refund", "ukd"] {
        assert_eq!(
            kinds.iter().filter(|k| **k == kind).count(),
            1,
            "{kind} {kinds:?}"
        );
    }
    assert_eq!(st["buyer"]["inn"], BUYER_INN);

    // As PDF.
    let (status, disposition, pdf) = file(&app, &format!("{path}&format=pdf")).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&pdf));
    assert!(
        disposition.contains("akt-sverki-2026-01-01-2026-06-30.pdf"),
        "{disposition}"
    );
    if let Some(text) = pdf_text(&pdf) {
        let flat = text.split_whitespace().collect::<Vec<_>>().join(" ");
        for needle in [
            "Акт сверки взаимных расчётов за период с 01.01.2026 по 30.06.2026",
            SELLER_INN,
            BUYER_INN,
            "Сальдо начальное",
            "Обороты за период",
            "Сальдо конечное",
            "По данным ООО «reconciled»",
        ] {
            assert!(flat.contains(needle), "{needle} in {flat}");
        }
    }

    // The buyer's own, the same; another's is refused.
    let own = format!(
        "/orgs/{}/profile/reconciliation?from=2026-01-01&to=2026-06-30",
        shop.0
    );
    let (status, mine) = read(lp(&app, Method::GET, &own, &shop.1).send().await.unwrap()).await;
    assert_eq!(status, 200, "{mine}");
    assert_eq!(mine["closingBalance"], st["closingBalance"]);
    let (status, _) = read(lp(&app, Method::GET, &own, &other.1).send().await.unwrap()).await;
    assert_eq!(status, 403);
    // Bad periods are named.
    for (query, field) in [
        ("to=2026-06-30", "from"),
        ("from=2026-07-01&to=2026-06-30", "to"),
        ("from=2026-01-01&to=2026-06-30&format=xls", "format"),
    ] {
        let (status, body) = app
            .admin(
                Method::GET,
                &format!("/admin/v1/organizations/{}/reconciliation?{query}", shop.0),
                None,
            )
            .await;
        assert_eq!(status, 400, "{body}");
        assert!(body.to_string().contains(field), "{field}: {body}");
    }
    app.stop().await;
}

/// The files attached to a raw mail, by name (each part base64, as Kopek
/// attaches them; a long name in RFC 2231 pieces, `filename*0="…"; …`).
fn attachments(eml: &str) -> Vec<(String, Vec<u8>)> {
    use base64::Engine;
    let mut out = Vec::new();
    let mut lines = eml.lines();
    while let Some(line) = lines.next() {
        if !line.starts_with("Content-Disposition: attachment") {
            continue;
        }
        // The part's headers up to the blank line, then its body up to the
        // boundary.
        let headers: String = std::iter::once(line)
            .chain(lines.by_ref().take_while(|l| !l.is_empty()))
            .collect();
        let name: String = headers
            .split("filename")
            .skip(1)
            .filter_map(|piece| piece.split('"').nth(1))
            .collect();
        let body: String = lines
            .by_ref()
            .take_while(|l| !l.starts_with("--"))
            .collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(body.trim())
            .unwrap();
        out.push((name, bytes));
    }
    out
}

/// Every mail with files attached, waiting (up to 10 s) until there are `n`.
async fn mails_with_files(app: &TestApp, n: usize) -> Vec<String> {
    for _ in 0..500 {
        let mails: Vec<String> = eml_files(app)
            .into_iter()
            .filter(|m| m.contains("Content-Disposition: attachment"))
            .collect();
        if mails.len() >= n {
            return mails;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("expected {n} mails with files");
}

/// A document goes to the organization's billing e-mail through the outbox
/// with its PDF and its XML, the same files as the downloads; a correction
/// with its PDF; an organization without a billing e-mail gets none.
async fn each_document_is_mailed_with_its_files(backend: Backend) {
    let app = december_2025(backend).await;
    let shop = buyer(&app, "mailed", Some("2AE-7707083893-773601001-1")).await;
    let quiet = buyer(&app, "quiet", None).await;
    let (status, body) = app
        .admin(
            Method::PATCH,
            &format!("/admin/v1/organizations/{}", shop.0),
            Some(json!({"billingEmail": "buh@mailed.example", "language": "ru"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let invoice = paid(&app, &shop, EGAIS_PRODUCT, EGAIS_PLAN, 1).await;
    paid(&app, &quiet, EGAIS_PRODUCT, EGAIS_PLAN, 1).await;
    let start = Timestamp::parse_rfc3339("2025-12-01T09:00:00Z").unwrap();
    let (status, body) = move_clock(&app, start.plus_seconds(1)).await;
    assert_eq!(status, 200, "{body}");
    let docs = documents(&app, &format!("organization={}", shop.0)).await;
    assert_eq!(docs.len(), 1, "{docs:?}");
    let doc = &docs[0];
    let number = doc["number"].as_str().unwrap();

    let mail = mails_with_files(&app, 1).await.remove(0);
    assert!(mail.contains("To: buh@mailed.example"), "{mail}");
    assert!(mail.contains(&format!("(УПД) № {number}")), "{mail}");
    let files = attachments(&mail);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let xml_name = doc["xmlFileName"].as_str().unwrap();
    assert_eq!(names, [format!("{number}.pdf").as_str(), xml_name]);
    if let Some(text) = pdf_text(&files[0].1) {
        assert!(text.contains(number) && text.contains(BUYER_INN), "{text}");
    }
    checked_xml(&app, xml_name, &files[1].1, number);
    let (_, _, downloaded) = file(
        &app,
        &format!(
            "/admin/v1/closing-documents/{}.xml",
            doc["id"].as_str().unwrap()
        ),
    )
    .await;
    assert_eq!(files[1].1, downloaded, "the mailed XML is the download");

    // The refund's correction comes with its PDF only (Kopek makes no УКД XML).
    let (status, _) = invoice_action(&app, invoice["guid"].as_str().unwrap(), "refund", None).await;
    assert_eq!(status, 200);
    let mails = mails_with_files(&app, 2).await;
    let correction = mails
        .iter()
        .find(|m| m.contains("(УКД) № "))
        .expect("the correction's mail");
    let files = attachments(correction);
    assert_eq!(files.len(), 1);
    assert!(files[0].0.ends_with(".pdf"));
    assert!(correction.contains("Счёт возвращён"), "{correction}");
    assert!(
        correction.contains("сумма уменьшена на 5400.00 RUB"),
        "{correction}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        mails_with_files(&app, 2).await.len(),
        2,
        "none to the quiet buyer"
    );
    app.stop().await;
}

/// Cancels an organization's only subscription now.
async fn cancel_now(app: &TestApp, org: &str) {
    let path = format!("/admin/v1/subscriptions?organization={org}");
    let (status, list) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{list}");
    let id = list["subscriptions"][0]["id"].as_str().unwrap().to_owned();
    let (status, body) = app
        .admin(
            Method::POST,
            &format!("/admin/v1/subscriptions/{id}:cancel"),
            Some(json!({"at": "now"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

fn amounts(doc: &Value) -> Vec<i64> {
    doc["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["amount"].as_i64().unwrap())
        .collect()
}

/// A cancel now on 15 January 2026 of a year paid on 1 December 2025: the
/// monthly product's January part is issued at once for 15 of its 31 days and
/// no part after it; the document made at payment for the whole year is
/// corrected (УКД) to the 46 days rendered, the rest of the payment being the
/// buyer's advance in the reconciliation statement; a refund then corrects
/// the correction to nothing. With a renewal paid ahead, a cancel now cuts the
/// period in progress and the one paid ahead alike.
async fn a_cancel_now_documents_the_days_rendered(backend: Backend) {
    let app = december_2025(backend).await;
    let monthly_buyer = buyer(&app, "monthly", None).await;
    let once_buyer = buyer(&app, "once", None).await;
    let monthly = paid(&app, &monthly_buyer, START_PRODUCT, START_PLAN, 1).await;
    let once = paid(&app, &once_buyer, EGAIS_PRODUCT, EGAIS_PLAN, 2).await;
    let cut = Timestamp::parse_rfc3339("2026-01-15T12:00:00Z").unwrap();
    let (status, body) = move_clock(&app, cut).await;
    assert_eq!(status, 200, "{body}");
    cancel_now(&app, &monthly_buyer.0).await;
    cancel_now(&app, &once_buyer.0).await;

    // Monthly: December whole, January for 15 of 31 days at 22%, then nothing.
    let (status, body) = move_clock(&app, cut.plus_months(5)).await;
    assert_eq!(status, 200, "{body}");
    let docs = documents(&app, &format!("organization={}", monthly_buyer.0)).await;
    assert_eq!(docs.len(), 2, "{docs:#?}");
    let (december, january) = (&docs[0], &docs[1]);
    assert_eq!(january["part"], 2);
    assert_eq!(january["date"], "2026-01-15");
    // Its service ends with the day of the cancel, which it charges.
    assert_eq!(january["serviceEnd"], "2026-01-16T00:00:00Z");
    assert!(
        january["lines"][0]["name"]
            .as_str()
            .unwrap()
            .ends_with("за период 01.01.2026 – 15.01.2026"),
        "{january}"
    );
    let expected: Vec<i64> = amounts(december).iter().map(|a| a * 15 / 31).collect();
    assert_eq!(amounts(january), expected);
    assert_eq!(january["total"], expected.iter().sum::<i64>());
    assert_eq!(january["vat"], included(expected.iter().sum(), 2200));
    valid_xml(&app, january).await;

    // At payment: the year's document, corrected to 46 of its 365 days.
    let docs = documents(&app, &format!("organization={}", once_buyer.0)).await;
    assert_eq!(docs.len(), 2, "{docs:#?}");
    let (year, correction) = (&docs[0], &docs[1]);
    assert_eq!(year["status"], "corrected");
    assert_eq!(correction["kind"], "ukd");
    assert_eq!(correction["correctsId"], year["id"]);
    assert_eq!(correction["serviceEnd"], "2026-01-16T00:00:00Z");
    let rendered: Vec<i64> = amounts(year).iter().map(|a| a * 46 / 365).collect();
    assert_eq!(amounts(correction), rendered);
    let total = year["total"].as_i64().unwrap();
    let kept: i64 = rendered.iter().sum();
    assert_eq!(correction["total"], kept - total);
    assert_eq!(
        correction["vat"].as_i64().unwrap(),
        included(kept, 2000) - year["vat"].as_i64().unwrap(),
        "the correction keeps the document's rate (20% in December 2025)"
    );
    let path = format!(
        "/admin/v1/organizations/{}/reconciliation?from=2025-12-01&to=2026-06-30",
        once_buyer.0
    );
    let (status, st) = app.admin(Method::GET, &path, None).await;
    assert_eq!(status, 200, "{st}");
    assert_eq!(st["closingBalance"], kept - total, "the buyer's advance");

    // A refund now corrects what is left to nothing, each part once.
    for invoice in [&once, &monthly] {
        let (status, body) =
            invoice_action(&app, invoice["guid"].as_str().unwrap(), "refund", None).await;
        assert_eq!(status, 200, "{body}");
    }
    let docs = documents(&app, &format!("organization={}", once_buyer.0)).await;
    assert_eq!(docs.len(), 3, "{docs:#?}");
    assert_eq!(docs[2]["correctsId"], correction["id"]);
    assert_eq!(docs[2]["total"], -kept);
    assert_eq!(amounts(&docs[2]), [0]);
    // Listed as the view shows them: the year's document corrected, both
    // corrections as corrections.
    let listed = |status: &'static str| {
        let query = format!("organization={}&status={status}", once_buyer.0);
        let app = &app;
        async move {
            documents(app, &query)
                .await
                .iter()
                .map(|d| d["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(listed("corrected").await, [year["id"].as_str().unwrap()]);
    assert_eq!(listed("correction").await.len(), 2);
    assert!(listed("issued").await.is_empty());
    let docs = documents(&app, &format!("organization={}", monthly_buyer.0)).await;
    let corrections: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "ukd").collect();
    assert_eq!(corrections.len(), 2, "{docs:#?}");
    let sum: i64 = docs.iter().map(|d| d["total"].as_i64().unwrap()).sum();
    assert_eq!(sum, 0, "refunded, the documents add up to nothing");

    // A renewal paid ahead, then a cancel now: the period in progress is cut to
    // its days (361 of 365) and the period paid ahead, not begun, to nothing.
    let ahead = buyer(&app, "ahead", None).await;
    paid(&app, &ahead, EGAIS_PRODUCT, EGAIS_PLAN, 1).await;
    // Paid on 15 June 2026 (the clock's time now) for a year: five days
    // before its end, the renewal is out.
    let late = cut.plus_months(17).plus_seconds(-5 * 86_400);
    let (status, body) = move_clock(&app, late).await;
    assert_eq!(status, 200, "{body}");
    let path = format!("/orgs/{}/profile/invoices?items_per_page=100", ahead.0);
    let (status, list) = read(lp(&app, Method::GET, &path, &ahead.1).send().await.unwrap()).await;
    assert_eq!(status, 200, "{list}");
    let renewal = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["status"] == "Pending")
        .unwrap_or_else(|| panic!("a renewal invoice in {list}"))
        .clone();
    let (status, body) = pay(&app, renewal["guid"].as_str().unwrap()).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = move_clock(&app, late.plus_seconds(1)).await;
    assert_eq!(status, 200, "{body}");
    cancel_now(&app, &ahead.0).await;
    let docs = documents(&app, &format!("organization={}", ahead.0)).await;
    let kinds: Vec<(&str, &str)> = docs
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap(),
                d["invoiceGuid"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(docs.len(), 4, "{kinds:?}");
    let of =
        |guid: &str| -> Vec<&Value> { docs.iter().filter(|d| d["invoiceGuid"] == guid).collect() };
    let renewal_docs = of(renewal["guid"].as_str().unwrap());
    assert_eq!(renewal_docs.len(), 2, "{kinds:?}");
    assert_eq!(amounts(renewal_docs[1]), [0], "not begun: nothing rendered");
    let first = &docs[0];
    let first_docs = of(first["invoiceGuid"].as_str().unwrap());
    assert_eq!(first_docs.len(), 2, "{kinds:?}");
    let rendered: Vec<i64> = amounts(first).iter().map(|a| a * 361 / 365).collect();
    assert_eq!(amounts(first_docs[1]), rendered);
    app.stop().await;
}
