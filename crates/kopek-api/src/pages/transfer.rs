//! The printable bank-transfer invoice behind `payment_by_transaction_link`: the
//! usual Russian «Счёт на оплату» layout with the seller's bank details, as HTML
//! that prints on A4, and as PDF (`?format=pdf`).

use super::bank_document::{Document, Qr, document};
use super::invoice::{Link, failed, linked, message, not_found};
use super::pdf;
use crate::AppState;
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
        (status = 400, description = "A link that is not text", content_type = "text/html", body = String),
        (status = 200, description = "The invoice with the seller's bank details: HTML, or PDF with `format=pdf`",
            content((String = "text/html"), (Vec<u8> = "application/pdf"))),
        (status = 404, description = "Unknown invoice or link", content_type = "text/html", body = String),
        (status = 503, description = "The seller's bank details are not configured", content_type = "text/html", body = String),
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
        match kopek_core::cpu::run(move || pdf::render(&doc)).await {
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
