//! The printable bank-transfer invoice behind `payment_by_transaction_link`: the
//! usual Russian «Счёт на оплату» layout with the seller's bank details, as HTML
//! that prints on A4, and as PDF (`?format=pdf`).

use super::bank_document::{Document, document};
use super::invoice::{Link, failed, linked, message, not_found};
use crate::AppState;
use crate::html::responses::{LinkNotText, UnknownInvoice};
use crate::pdf::{Align, BODY, Block, Cell, STRONG, TITLE, cell, paragraph, render_blocks};
use crate::qr::Qr;
use axum::extract::{Path, Query, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, REFERRER_POLICY, X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, Markup, PreEscaped, html};

const PRINT_STYLE: &str = "\
@page{size:A4;margin:15mm}\
body{font-family:'DejaVu Sans',Arial,sans-serif;font-size:10pt;color:#000;max-width:180mm;margin:10mm auto}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #000;padding:3px 5px;vertical-align:top}\
th{background:#f0f0f0}td.num{text-align:right;white-space:nowrap}\
h1{font-size:14pt;border-bottom:2px solid #000;padding-bottom:4px;margin:16px 0 10px}\
.totals td{border:0;text-align:right}.words{font-weight:700}\
.qr{display:flex;gap:5mm;align-items:center;margin-top:6mm}.qr p{max-width:80mm;font-size:9pt}\
.signs{display:flex;gap:20mm;margin-top:18mm}.signs div{flex:1;border-top:1px solid #000;padding-top:2px;font-size:8pt}\
@media print{.noprint{display:none}}";

/// Under the payment QR code, in the HTML and the PDF.
pub const QR_CAPTION: &str = "Оплата по QR-коду: отсканируйте его в приложении банка, \
    реквизиты и сумма заполнятся сами.";

/// The QR code as SVG, with the quiet zone of four modules the standard asks for.
fn qr_svg(qr: &Qr) -> Markup {
    let quiet = 4;
    let size = qr.width + 2 * quiet;
    let mut d = String::new();
    for (x, y) in qr.modules() {
        d.push_str(&format!("M{} {}h1v1h-1z", x + quiet, y + quiet));
    }
    html! {
        svg xmlns="http://www.w3.org/2000/svg" viewBox={ "0 0 " (size) " " (size) }
            width="45mm" height="45mm" shape-rendering="crispEdges" role="img" aria-label="QR" {
            rect width=(size) height=(size) fill="#fff" {}
            path d=(d) fill="#000" {}
        }
    }
}

fn html(doc: &Document, pdf_link: &str) -> String {
    html! {
        (DOCTYPE)
        html lang="ru" {
            head {
                meta charset="utf-8";
                title { (doc.title) }
                style { (PreEscaped(PRINT_STYLE)) }
            }
            body {
                p.noprint { a href=(pdf_link) { "PDF" } }
                table {
                    @for (k, v) in &doc.bank { tr { td { (k) } td { (v) } } }
                }
                h1 { (doc.title) }
                p { strong { "Поставщик (Исполнитель):" } " " (doc.supplier) }
                p { strong { "Покупатель (Заказчик):" } " " (doc.buyer) }
                table {
                    thead {
                        tr { th { "№" } th { "Товары (работы, услуги)" } th { "Кол-во" } th { "Ед." } th { "Цена" } th { "Сумма" } }
                    }
                    tbody {
                        @for (i, [name, quantity, unit, price, sum]) in doc.rows.iter().enumerate() {
                            tr {
                                td { (i + 1) }
                                td { (name) }
                                td.num { (quantity) }
                                td { (unit) }
                                td.num { (price) }
                                td.num { (sum) }
                            }
                        }
                    }
                }
                table.totals {
                    @for (k, v) in &doc.totals { tr { td { (k) } td.num { strong { (v) } } } }
                }
                p { (doc.summary) }
                p.words { (doc.in_words) }
                @if let Some(qr) = &doc.qr {
                    div.qr {
                        (qr_svg(qr))
                        p { (QR_CAPTION) }
                    }
                }
                div.signs { div { "Руководитель" } div { "Бухгалтер" } }
            }
        }
    }
    .into_string()
}

fn headers(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(
        axum::http::header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
}

/// The printable bank-transfer invoice behind `payment_by_transaction_link`, as
/// HTML or (`format=pdf`) PDF.
#[utoipa::path(get, path = "/invoices/{guid}/bank-transfer", tag = "pages", operation_id = "showBankTransferInvoice",
    params(("guid" = String, Path), super::invoice::Link),
    responses(
        (status = 200, description = "The invoice with the seller's bank details: HTML, or PDF with `format=pdf`",
            content((String = "text/html"), (Vec<u8> = "application/pdf"))),
        (status = 503, description = "The seller's bank details are not configured", content_type = "text/html", body = String),
        LinkNotText, UnknownInvoice,
    ))]
pub async fn show(
    State(state): State<AppState>,
    Path(guid): Path<String>,
    Query(link): Query<Link>,
) -> Response {
    let inv = match linked(&state, &guid, &link).await {
        Ok(Some(inv)) => inv,
        Ok(None) => return not_found(),
        Err(e) => return failed(&e),
    };
    let missing = state.config.seller.missing();
    if !missing.is_empty() {
        let settings = missing.join(", ");
        return message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Bank details are not set up",
            "Реквизиты для оплаты не заданы",
            &format!(
                "This invoice cannot be paid by bank transfer yet: the seller's bank details \
                 are missing. The operator of this server must set {settings}."
            ),
            &format!(
                "Этот счёт пока нельзя оплатить переводом: не заданы реквизиты продавца. \
                 Оператору сервера нужно задать {settings}."
            ),
        );
    }
    let doc = document(&state.config.seller, &inv);
    let mut response = if link.format.as_deref() == Some("pdf") {
        let number = inv.number.clone();
        // Laying out a PDF is CPU work: off the async runtime.
        match kopek_core::cpu::run(move || render_blocks(&doc.title, &pdf_blocks(&doc))).await {
            Ok(Ok(bytes)) => {
                let mut r = (StatusCode::OK, bytes).into_response();
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
                if let Ok(v) =
                    HeaderValue::from_str(&format!("inline; filename=\"invoice-{number}.pdf\""))
                {
                    r.headers_mut().insert(CONTENT_DISPOSITION, v);
                }
                r
            }
            Ok(Err(e)) => return failed(&e),
            Err(e) => return failed(&e),
        }
    } else {
        let pdf_link = format!(
            "/invoices/{}/bank-transfer?token={}&format=pdf",
            inv.guid,
            link.token.as_deref().unwrap_or_default()
        );
        Html(html(&doc, &pdf_link)).into_response()
    };
    headers(&mut response);
    response
}

/// The bank-transfer invoice as PDF blocks.
pub fn pdf_blocks<'a>(doc: &'a Document) -> Vec<Block<'a>> {
    let bank: Vec<Vec<Cell>> = doc
        .bank
        .iter()
        .map(|(k, v)| vec![cell(k, BODY, Align::Left), cell(v, BODY, Align::Left)])
        .collect();
    let header: Vec<Cell> = [
        "№",
        "Товары (работы, услуги)",
        "Кол-во",
        "Ед.",
        "Цена",
        "Сумма",
    ]
    .iter()
    .map(|h| cell(h, STRONG, Align::Left))
    .collect();
    let rows: Vec<Vec<Cell>> = doc
        .rows
        .iter()
        .enumerate()
        .map(|(i, [name, quantity, unit, price, sum])| {
            vec![
                cell(&(i + 1).to_string(), BODY, Align::Left),
                cell(name, BODY, Align::Left),
                cell(quantity, BODY, Align::Right),
                cell(unit, BODY, Align::Left),
                cell(price, BODY, Align::Right),
                cell(sum, BODY, Align::Right),
            ]
        })
        .collect();
    let mut blocks = vec![
        Block::Table {
            columns: &[1.0, 3.0],
            header: None,
            rows: bank,
        },
        Block::Gap(1.0),
        paragraph(doc.title.clone(), TITLE, Align::Left),
        Block::Gap(0.5),
        Block::Paragraph(
            vec![
                ("Поставщик (Исполнитель):".to_owned(), STRONG),
                (doc.supplier.clone(), BODY),
            ],
            Align::Left,
        ),
        Block::Paragraph(
            vec![
                ("Покупатель (Заказчик):".to_owned(), STRONG),
                (doc.buyer.clone(), BODY),
            ],
            Align::Left,
        ),
        Block::Gap(0.5),
        Block::Table {
            columns: &[1.0, 9.0, 2.0, 2.0, 4.0, 4.0],
            header: Some(header),
            rows,
        },
        Block::Gap(0.5),
    ];
    for (k, v) in &doc.totals {
        blocks.push(paragraph(format!("{k} {v}"), STRONG, Align::Right));
    }
    blocks.extend([
        Block::Gap(1.0),
        paragraph(doc.summary.clone(), BODY, Align::Left),
        paragraph(doc.in_words.clone(), STRONG, Align::Left),
    ]);
    if let Some(qr) = &doc.qr {
        blocks.extend([Block::Gap(0.5), Block::Qr(qr, QR_CAPTION)]);
    }
    blocks.extend([
        Block::Gap(3.0),
        paragraph(
            "Руководитель ____________________        Бухгалтер ____________________",
            BODY,
            Align::Left,
        ),
    ]);
    blocks
}
