//! Invoices: what a purchase costs, how invoices are numbered, and the states an
//! invoice moves through.

use crate::catalog::{Period, Plan, Product};
use crate::error::{Error, FieldError, Reason};
use crate::ids::{BillingAccountId, OrganizationId};
use crate::money::{Money, MoneyError};
use crate::time::Timestamp;
use crate::vat;

pub const MAX_QUANTITY: i64 = 100_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    Pending,
    Paid,
    Canceled,
    Refunded,
}

impl InvoiceStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceStatus::Pending => "Pending",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::Canceled => "Canceled",
            InvoiceStatus::Refunded => "Refunded",
        }
    }

    pub fn parse(s: &str) -> Option<InvoiceStatus> {
        [
            InvoiceStatus::Pending,
            InvoiceStatus::Paid,
            InvoiceStatus::Canceled,
            InvoiceStatus::Refunded,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    fn step(
        self,
        from: InvoiceStatus,
        to: InvoiceStatus,
        verb: &str,
    ) -> Result<InvoiceStatus, Error> {
        if self == from {
            Ok(to)
        } else {
            Err(Error::FailedPrecondition(format!(
                "Cannot {verb} an invoice that is {}; it must be {}",
                self.as_str(),
                from.as_str()
            )))
        }
    }

    /// Pending → Paid.
    pub fn pay(self) -> Result<InvoiceStatus, Error> {
        self.step(InvoiceStatus::Pending, InvoiceStatus::Paid, "pay")
    }

    /// Pending → Canceled.
    pub fn cancel(self) -> Result<InvoiceStatus, Error> {
        self.step(InvoiceStatus::Pending, InvoiceStatus::Canceled, "cancel")
    }

    /// Paid → Refunded.
    pub fn refund(self) -> Result<InvoiceStatus, Error> {
        self.step(InvoiceStatus::Paid, InvoiceStatus::Refunded, "refund")
    }
}

/// Who pays an invoice: the buying organization itself, or the reseller billing
/// account that serves it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payer {
    Organization(OrganizationId),
    BillingAccount(BillingAccountId),
}

impl Payer {
    /// The kind, as the wire's `who_pays.type_of` and the store name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Payer::Organization(_) => "Organization",
            Payer::BillingAccount(_) => "BillingAccount",
        }
    }

    pub fn id(&self) -> &str {
        match self {
            Payer::Organization(id) => id.as_str(),
            Payer::BillingAccount(id) => id.as_str(),
        }
    }

    /// The payer of a kind (as [`Payer::kind`] names it); None for another name.
    pub fn of_kind(kind: &str, id: String) -> Option<Payer> {
        match kind {
            "Organization" => Some(Payer::Organization(id.into())),
            "BillingAccount" => Some(Payer::BillingAccount(id.into())),
            _ => None,
        }
    }
}

/// One line of an invoice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    pub name: String,
    pub quantity: i64,
    /// Per unit, VAT included.
    pub price: Money,
    /// `price × quantity`.
    pub total: Money,
    /// The VAT contained in `total`, rounded half away from zero.
    pub vat: Money,
}

/// What buying `quantity` units of a plan for a period costs on a date.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub positions: Vec<Position>,
    /// The sum of the positions' totals.
    pub total: Money,
    /// The sum of the positions' VAT.
    pub vat: Money,
    pub vat_basis_points: i64,
}

/// An amount out of range is the request's fault (too many units of too dear a
/// plan); a second currency on one invoice would be ours.
fn refused(e: MoneyError) -> Error {
    match e {
        MoneyError::Overflow => Error::Validation(vec![FieldError::new(
            "quantity",
            Reason::Format {
                en: "small enough for the invoice total to be representable",
                ru: "таким, чтобы сумма счёта была представима",
            },
        )]),
        MoneyError::Mismatch(..) => Error::internal(e),
    }
}

/// Prices a purchase. Every product of amounts is checked: an overflow is a
/// validation error, never a wrap or a panic. Totals are sums of rounded lines.
pub fn quote(
    product: &Product,
    plan: &Plan,
    period: &Period,
    quantity: i64,
    on: Timestamp,
) -> Result<Quote, Error> {
    let price = period.price();
    let name = format!(
        "{} «{}», {} мес.",
        product.name, plan.name, period.period_in_months
    );
    one_line(name, price, quantity, plan, on)
}

/// The invoice of an upgrade: one line, the prorated difference `amount` for the
/// `left` of `total` days to the period's end, with VAT at the new plan's rate on
/// `on` (the invoice date, as every invoice).
pub fn upgrade_quote(
    product: &Product,
    plan: &Plan,
    quantity: i64,
    amount: Money,
    (left, total): (i64, i64),
    on: Timestamp,
) -> Result<Quote, Error> {
    let name = format!(
        "{} «{}» × {quantity}: доплата за {left} из {total} дн.",
        product.name, plan.name
    );
    one_line(name, amount, 1, plan, on)
}

/// A quote of one line: `quantity` at `price`, with the VAT of `plan`'s rate on
/// `on`.
fn one_line(
    name: String,
    price: Money,
    quantity: i64,
    plan: &Plan,
    on: Timestamp,
) -> Result<Quote, Error> {
    let rate = vat::rate_basis_points(plan.vat, on.date());
    let total = price.times(quantity).map_err(refused)?;
    let position = Position {
        name,
        quantity,
        price,
        total,
        vat: total.vat_included(rate).map_err(refused)?,
    };
    let positions = vec![position];
    let currency = price.currency();
    Ok(Quote {
        total: Money::sum(currency, positions.iter().map(|p| p.total)).map_err(refused)?,
        vat: Money::sum(currency, positions.iter().map(|p| p.vat)).map_err(refused)?,
        positions,
        vat_basis_points: rate,
    })
}

/// A per-month figure of a period price, rounded half away from zero.
pub fn per_month(price: Money, months: i64) -> Money {
    let minor = vat::div_round(i128::from(price.minor()), i128::from(months.max(1)));
    minor.map_or(price, |m| Money::new(m, price.currency()))
}

/// Formats an invoice number from a template with `{year}` and `{seq}` or
/// `{seq:N}` (zero-padded to N digits): `{year}-{seq:06}` gives `2026-000123`.
pub fn format_number(template: &str, year: i32, seq: i64) -> String {
    let mut out = String::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            break;
        };
        let field = &rest[open + 1..open + close];
        match field.split_once(':') {
            _ if field == "year" => out.push_str(&year.to_string()),
            _ if field == "seq" => out.push_str(&seq.to_string()),
            Some(("seq", width)) => {
                let width = width.parse::<usize>().unwrap_or(0);
                out.push_str(&format!("{seq:0width$}"));
            }
            _ => out.push_str(&rest[open..=open + close]),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// A template must number invoices apart: it needs `{seq}`.
pub fn check_number_template(template: &str) -> Result<(), String> {
    if template.contains("{seq}") || template.contains("{seq:") {
        Ok(())
    } else {
        Err(format!(
            "invoice number format {template:?} has no {{seq}} or {{seq:N}}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn catalog(final_price: i64) -> Catalog {
        serde_json::from_value(serde_json::json!({"products": [{
            "guid": "6f1c2a52-1b1e-4c55-9b7e-0a5d4f3e2a10", "code": "pos", "name": "POS",
            "plans": [{"guid": "6f1c2a52-1b1e-4c55-9b7e-0a5d4f3e2a11", "code": "start", "name": "Start",
                "periods": [{"period_in_months": 12, "base_price": final_price, "final_price": final_price}]}]
        }]}))
        .unwrap()
    }

    fn at(s: &str) -> Timestamp {
        Timestamp::from_datetime(
            time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).unwrap(),
        )
    }

    fn price(final_price: i64, quantity: i64, on: &str) -> Result<Quote, Error> {
        let c = catalog(final_price);
        let product = &c.products[0];
        let plan = &product.plans[0];
        quote(product, plan, &plan.periods[0], quantity, at(on))
    }

    #[test]
    fn vat_by_date_and_half_kopeck_rounding() {
        let minor = |q: &Quote| (q.total.minor(), q.vat.minor(), q.vat_basis_points);
        let q = price(12_200, 3, "2026-01-01T00:00:00Z").unwrap();
        assert_eq!(minor(&q), (36_600, 6_600, 2200));
        assert_eq!(q.total.currency(), crate::money::Currency::Rub);
        let q = price(12_000, 1, "2025-12-31T23:59:59Z").unwrap();
        assert_eq!(minor(&q), (12_000, 2_000, 2000));
        // 3 kopecks hold 0.5 kopeck of 20% VAT: half rounds away from zero.
        let q = price(1, 3, "2025-12-31T12:00:00Z").unwrap();
        assert_eq!((q.total.minor(), q.vat.minor()), (3, 1));
        assert_eq!(q.positions[0].name, "POS «Start», 12 мес.");
        let rub = |m| Money::new(m, crate::money::Currency::Rub);
        assert_eq!(per_month(rub(18), 12), rub(2));
        assert_eq!(per_month(rub(17), 12), rub(1));
    }

    #[test]
    fn overflow_is_a_validation_error() {
        assert!(matches!(
            price(i64::MAX / 2, 3, "2026-01-01T00:00:00Z"),
            Err(Error::Validation(_))
        ));
        assert!(
            price(
                i64::MAX / MAX_QUANTITY,
                MAX_QUANTITY,
                "2026-01-01T00:00:00Z"
            )
            .is_ok()
        );
    }

    #[test]
    fn payers_round_trip_through_their_kind() {
        for payer in [
            Payer::Organization(OrganizationId::generate()),
            Payer::BillingAccount(BillingAccountId::generate()),
        ] {
            assert_eq!(
                Payer::of_kind(payer.kind(), payer.id().to_owned()),
                Some(payer)
            );
        }
        assert_eq!(Payer::of_kind("Reseller", "x".into()), None);
    }

    #[test]
    fn lifecycle() {
        use InvoiceStatus::*;
        assert_eq!(Pending.pay().unwrap(), Paid);
        assert_eq!(Pending.cancel().unwrap(), Canceled);
        assert_eq!(Paid.refund().unwrap(), Refunded);
        for bad in [
            Paid.pay(),
            Canceled.pay(),
            Refunded.pay(),
            Paid.cancel(),
            Canceled.cancel(),
            Pending.refund(),
            Canceled.refund(),
            Refunded.refund(),
        ] {
            assert!(matches!(bad, Err(Error::FailedPrecondition(_))), "{bad:?}");
        }
    }

    #[test]
    fn numbers() {
        assert_eq!(format_number("{year}-{seq:06}", 2026, 123), "2026-000123");
        assert_eq!(format_number("INV-{seq}", 2026, 7), "INV-7");
        assert_eq!(format_number("{other}/{seq:3}", 2026, 7), "{other}/007");
        assert!(check_number_template("{year}").is_err());
        assert!(check_number_template("{year}-{seq:06}").is_ok());
    }
}
