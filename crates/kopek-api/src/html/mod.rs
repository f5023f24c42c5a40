//! What every page people open in a browser is built from, hosted pages and the
//! operator console alike: the frame with its security headers, cookies, the
//! anti-forgery token, and amounts and dates written for people (the PDFs use
//! those too).

pub mod csrf;
pub mod responses;

use crate::context::RequestContext;
use axum::http::{HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use kopek_domain::lang::Lang;
use kopek_domain::money::{Currency, Money};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// A whole page around `body`, with the security headers. Every page shares this
/// look; none needs JavaScript. Pages are maud templates, so every value is
/// escaped unless it is already markup.
pub fn page(status: StatusCode, title: &str, body: Markup) -> Response {
    page_with(status, title, body, None)
}

/// A page that loads itself again every `seconds` (no JavaScript needed).
pub fn page_refreshing(status: StatusCode, title: &str, body: Markup, seconds: u32) -> Response {
    page_with(status, title, body, Some(seconds.to_string()))
}

/// A page the browser leaves for `url` at once (the link in `body` is for the
/// rare browser that does not).
pub fn page_moving_on(title: &str, body: Markup, url: &str) -> Response {
    page_with(StatusCode::OK, title, body, Some(format!("0;url={url}")))
}

fn page_with(status: StatusCode, title: &str, body: Markup, refresh: Option<String>) -> Response {
    let lang = match RequestContext::current().lang {
        Lang::En => "en",
        Lang::Ru => "ru",
    };
    let html = html! {
        (DOCTYPE)
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                @if let Some(refresh) = &refresh { meta http-equiv="refresh" content=(refresh); }
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header.brand { "Kopek" }
                main { (body) }
            }
        }
    };
    let mut response = (status, Html(html.into_string())).into_response();
    let headers = response.headers_mut();
    for (name, value) in [
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::CACHE_CONTROL, "no-store"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ] {
        headers.insert(name, HeaderValue::from_static(value));
    }
    headers.insert(
        HeaderName::from_static("cross-origin-opener-policy"),
        HeaderValue::from_static("same-origin"),
    );
    response
}

const STYLE: &str = "\
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;color:#1d1d1f;background:#f5f6f8}\
.brand{background:#1a56db;color:#fff;font-weight:700;padding:.8rem 1.5rem;letter-spacing:.05em}\
main{max-width:44rem;margin:2rem auto;padding:1.5rem 2rem;background:#fff;border-radius:.6rem;box-shadow:0 1px 4px rgba(0,0,0,.08)}\
h1{font-size:1.5rem;margin-top:0}h2{font-size:1rem;margin:.2rem 0;color:#6b7280;text-transform:uppercase;letter-spacing:.04em}\
table{border-collapse:collapse;width:100%;margin:1rem 0}th,td{border-bottom:1px solid #e5e7eb;padding:.45rem;text-align:left}\
td.num,th.num{text-align:right;white-space:nowrap}\
.parties{display:flex;gap:2rem;flex-wrap:wrap}.parties>div{flex:1;min-width:14rem}\
.total{font-size:1.2rem;font-weight:700}.muted{color:#6b7280}\
.status{display:inline-block;padding:.2rem .7rem;border-radius:1rem;font-weight:600;font-size:.9rem}\
.status-Pending{background:#fef3c7;color:#92400e}.status-Paid{background:#d1fae5;color:#065f46}\
.status-Canceled,.status-Refunded{background:#e5e7eb;color:#374151}\
.alert{padding:.8rem 1rem;border-radius:.4rem;background:#fee2e2;color:#991b1b;margin:1rem 0}\
.receipt{padding:.8rem 1rem;border-radius:.4rem;background:#ecfdf5;margin:1rem 0}\
form.card{display:grid;gap:.7rem;max-width:22rem;margin-top:1rem}label{display:grid;gap:.2rem;font-size:.9rem}\
input,select{font-size:1rem;padding:.5rem;border:1px solid #d1d5db;border-radius:.3rem}\
button{font-size:1rem;padding:.6rem 1.4rem;border:0;border-radius:.4rem;background:#1a56db;color:#fff;cursor:pointer}\
button.secondary{background:#6b7280}.test-cards{font-size:.85rem;color:#6b7280}\
nav.console{display:flex;flex-wrap:wrap;gap:.4rem 1rem;align-items:center;margin-bottom:1rem}\
nav.console form{margin-left:auto}figure.chart{margin:1rem 0}pre{white-space:pre-wrap;word-break:break-all}\
main:has(nav.console){max-width:72rem}form.filters{display:flex;flex-wrap:wrap;gap:.5rem 1rem;align-items:end}\
textarea{width:100%;box-sizing:border-box;font-family:monospace;font-size:.85rem}form.upload{display:grid;gap:.7rem}\
pre.diff del{color:#991b1b;background:#fee2e2;text-decoration:none}pre.diff ins{color:#065f46;background:#d1fae5;text-decoration:none}\
@media (max-width:40rem){main{margin:0;padding:1rem;border-radius:0}table{display:block;overflow-x:auto}}";

/// A 303 to `to`, where a posted form goes on.
pub fn see_other(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
}

/// Whether cookies are to be marked Secure: the public URL is https.
pub fn secure(state: &crate::AppState) -> bool {
    state.settings().public_url.starts_with("https://")
}

/// The value of the cookie `name` that the browser sent, if any.
pub fn cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

/// An amount for people: `19 800,00 ₽` in Russian, `19,800.00 RUB` in English.
pub fn money(amount: Money, lang: Lang) -> String {
    let sign = if amount.is_negative() { "-" } else { "" };
    let abs = amount.minor().unsigned_abs();
    let (major, minor) = (abs / 100, abs % 100);
    let digits = major.to_string();
    let separator = match lang {
        Lang::Ru => '\u{a0}',
        Lang::En => ',',
    };
    let mut grouped = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(separator);
        }
        grouped.push(c);
    }
    match (lang, amount.currency()) {
        (Lang::Ru, Currency::Rub) => format!("{sign}{grouped},{minor:02}\u{a0}₽"),
        (Lang::Ru, c) => format!("{sign}{grouped},{minor:02}\u{a0}{c}"),
        (Lang::En, c) => format!("{sign}{grouped}.{minor:02} {c}"),
    }
}

/// A date for people: `22 ноября 2026 г.` or `22 November 2026`.
pub fn date(t: kopek_domain::time::Timestamp, lang: Lang) -> String {
    const RU: [&str; 12] = [
        "января",
        "февраля",
        "марта",
        "апреля",
        "мая",
        "июня",
        "июля",
        "августа",
        "сентября",
        "октября",
        "ноября",
        "декабря",
    ];
    let d = t.datetime();
    let month = u8::from(d.month()) as usize - 1;
    match lang {
        Lang::Ru => format!("{} {} {} г.", d.day(), RU[month], d.year()),
        Lang::En => format!("{} {} {}", d.day(), d.month(), d.year()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_dates_for_people() {
        let rub = |minor| Money::new(minor, Currency::Rub);
        assert_eq!(money(rub(1_980_000), Lang::Ru), "19\u{a0}800,00\u{a0}₽");
        assert_eq!(money(rub(1_980_000), Lang::En), "19,800.00 RUB");
        assert_eq!(money(rub(-5), Lang::Ru), "-0,05\u{a0}₽");
        assert_eq!(money(Money::new(5, Currency::Usd), Lang::En), "0.05 USD");
        assert_eq!(
            money(Money::new(123_456, Currency::Kzt), Lang::Ru),
            "1\u{a0}234,56\u{a0}KZT"
        );
        let t = kopek_domain::time::Timestamp::parse_rfc3339("2026-11-22T10:00:00Z").unwrap();
        assert_eq!(date(t, Lang::Ru), "22 ноября 2026 г.");
        assert_eq!(date(t, Lang::En), "22 November 2026");
    }
}
