//! The overview: charts drawn by the server as inline SVG (no script), each bar
//! carrying its exact value (a tooltip, and `data-value` in minor units or a
//! count), and the subscriptions by product.

use super::prelude::*;
use axum::extract::State;
use kopek_core::overview::{self, Overview};
use kopek_domain::money::{Currency, Money};
use maud::{Markup, html};
use std::collections::BTreeSet;

const HEIGHT: i64 = 120;
const BAR: i64 = 18;

/// One bar: its key (a date or a month), its value, and how the value reads.
struct Point {
    key: String,
    value: i64,
    shown: String,
}

/// A bar chart of `points`, named `series` (in `data-series`).
fn bars(series: &str, title: &str, points: &[Point]) -> Markup {
    let top = points.iter().map(|p| p.value).max().unwrap_or(0).max(1);
    let width = BAR * i64::try_from(points.len()).unwrap_or(0);
    html! {
        figure.chart {
            figcaption { (title) }
            svg xmlns="http://www.w3.org/2000/svg" viewBox={"0 0 " (width) " " (HEIGHT)}
                width="100%" height=(HEIGHT) preserveAspectRatio="none" role="img" aria-label=(title) {
                @for (i, p) in points.iter().enumerate() {
                    @let h = p.value.max(0) * (HEIGHT - 2) / top;
                    rect x=(i64::try_from(i).unwrap_or(0) * BAR + 2) y=(HEIGHT - h) width=(BAR - 4) height=(h)
                        fill="#1a56db" data-series=(series) data-key=(p.key) data-value=(p.value) {
                        title { (p.key) ": " (p.shown) }
                    }
                }
            }
        }
    }
}

fn currencies(o: &Overview) -> BTreeSet<String> {
    o.days
        .iter()
        .flat_map(|d| d.paid.keys())
        .chain(o.months.iter().flat_map(|m| m.revenue.keys()))
        .cloned()
        .collect()
}

fn amount(minor: i64, code: &str) -> String {
    let lang = RequestContext::current().lang;
    match Currency::parse("currency", code) {
        Ok(currency) => money(Money::new(minor, currency), lang),
        Err(_) => format!("{minor} {code}"),
    }
}

#[utoipa::path(get, path = "/console/overview", tag = "console", operation_id = "consoleOverview",
    responses(
        (status = 200, description = "Charts of money paid, invoices and subscriptions", content_type = "text/html", body = String),
        NotSignedIn,
    ))]
pub async fn show(State(state): State<AppState>, signed: Signed) -> Response {
    let o = match overview::overview(&state.core, state.core.now()).await {
        Ok(o) => o,
        Err(e) => return failed(&e),
    };
    let month_key = |m: &overview::MonthTotals| {
        format!("{:04}-{:02}", m.start.year(), u8::from(m.start.month()))
    };
    let count = |key: String, value: i64| Point {
        key,
        value,
        shown: value.to_string(),
    };
    let issued: Vec<Point> = o
        .months
        .iter()
        .map(|m| count(month_key(m), m.issued))
        .collect();
    let paid: Vec<Point> = o
        .months
        .iter()
        .map(|m| count(month_key(m), m.paid))
        .collect();
    let body = html! {
        @for code in currencies(&o) {
            @let daily: Vec<Point> = o.days.iter().map(|d| {
                let value = d.paid.get(&code).copied().unwrap_or(0);
                Point { key: d.date.to_string(), value, shown: amount(value, &code) }
            }).collect();
            @let monthly: Vec<Point> = o.months.iter().map(|m| {
                let value = m.revenue.get(&code).copied().unwrap_or(0);
                Point { key: month_key(m), value, shown: amount(value, &code) }
            }).collect();
            (bars(&format!("paid-per-day-{code}"), &format!("{} ({code}), {} {}", pick("Paid per day", "Оплачено по дням"), overview::DAYS, pick("days", "дней")), &daily))
            (bars(&format!("paid-per-month-{code}"), &format!("{} ({code})", pick("Paid per month", "Оплачено по месяцам")), &monthly))
            @let recurring: Vec<Point> = o.months.iter().map(|m| {
                let value = m.recurring.get(&code).copied().unwrap_or(0);
                Point { key: month_key(m), value, shown: amount(value, &code) }
            }).collect();
            (bars(&format!("recurring-per-month-{code}"), &format!("{} ({code})", pick("Monthly recurring revenue", "Ежемесячная регулярная выручка")), &recurring))
        }
        (bars("issued-per-month", pick("Invoices issued per month", "Счетов выставлено по месяцам"), &issued))
        (bars("paid-invoices-per-month", pick("Invoices paid per month", "Счетов оплачено по месяцам"), &paid))
        @let past_due: i64 = o.subscriptions.iter().filter(|(_, status, _)| status == "past_due").map(|(_, _, n)| n).sum();
        p { (pick("Subscriptions past due (renewal unpaid)", "Подписок с просроченной оплатой продления")) ": "
            strong data-past-due=(past_due) { (past_due) } }
        h2 { (pick("Subscriptions by product", "Подписки по продуктам")) }
        table {
            thead { tr { th { (pick("Product", "Продукт")) } th { (pick("Status", "Статус")) } th.num { (pick("Count", "Число")) } } }
            tbody {
                @for (product, status, n) in &o.subscriptions {
                    tr { td { (product) } td { (status) } td.num data-subscriptions=(format!("{product}/{status}")) { (n) } }
                }
            }
        }
    };
    signed.page(&state, StatusCode::OK, pick("Overview", "Обзор"), body)
}
