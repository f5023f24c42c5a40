//! An invoice as the wire shows it: LIFE POS's shape (money as `{value,
//! currency, type_of}`, references as `{guid, type_of}`), which the operator API
//! answers in too, and its payment links.

use kopek_core::invoices::payment_links;
use kopek_domain::invoice::Position;
use kopek_domain::time::Timestamp;
use kopek_domain::vat;
use kopek_store::invoices::Invoice;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Money {
    /// Minor units (kopecks for RUB).
    pub value: i64,
    /// `RUB`, `GBP`, `USD`, `EUR` or `Unknown`.
    pub currency: String,
    pub type_of: &'static str,
}

impl From<kopek_domain::money::Money> for Money {
    fn from(m: kopek_domain::money::Money) -> Money {
        Money {
            value: m.minor(),
            currency: m.currency().code().to_owned(),
            type_of: "Money",
        }
    }
}

/// A reference to another object.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct Reference {
    pub guid: Option<String>,
    pub type_of: Option<String>,
}

impl Reference {
    pub fn to(guid: &str, type_of: &str) -> Reference {
        Reference {
            guid: Some(guid.to_owned()),
            type_of: Some(type_of.to_owned()),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CompanyView {
    /// The organization's guid.
    pub id: String,
    pub inn: String,
    pub kpp: Option<String>,
    pub name: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PositionView {
    pub name: String,
    pub quantity: i64,
    pub price: Money,
    pub total_sum: Money,
    pub type_of: &'static str,
}

/// An invoice, as SubscriptionCreateInvoice returns it.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceView {
    pub company: CompanyView,
    pub number: String,
    pub total_sum: Money,
    /// `Pending`, `Paid`, `Canceled` or `Refunded`.
    pub status: String,
    /// Opens the hosted invoice page with a card form.
    pub payment_by_card_link: String,
    /// Opens the printable bank-transfer invoice.
    pub payment_by_transaction_link: String,
    /// Null in a `presentation=compact` list.
    pub positions: Option<Vec<PositionView>>,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
    /// At most 128 characters; empty when not set.
    pub meta: String,
    /// What was bought, its VAT and who pays.
    pub meta_data: InvoiceMeta,
    pub guid: String,
    pub type_of: &'static str,
}

// The fields are in alphabetical order: the order this object has always had on the wire.
/// What an invoice was made for.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceMeta {
    pub catalog_version: i64,
    /// When it was paid; null until then.
    pub paid_at: Option<String>,
    pub period_in_months: i64,
    pub plan: Reference,
    pub product: Reference,
    pub quantity: i64,
    pub vat: VatView,
    /// The organization itself, or the reseller billing account that pays for it.
    pub who_pays: Reference,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct VatView {
    /// Such as `22%` or `9.09%`.
    pub rate: String,
    pub sum: Money,
}

impl InvoiceView {
    /// The invoice without its positions, as a compact list shows it.
    pub fn compact(mut self) -> InvoiceView {
        self.positions = None;
        self
    }

    pub fn new(inv: &Invoice, public_url: &str, key: &[u8]) -> InvoiceView {
        let (card, transfer) = payment_links(public_url, key, &inv.guid);
        InvoiceView {
            company: CompanyView {
                id: inv.organization_guid.to_string(),
                inn: inv.company.inn.to_string(),
                kpp: inv.company.kpp.as_ref().map(ToString::to_string),
                name: inv.company.name.clone(),
            },
            number: inv.number.clone(),
            total_sum: inv.quote.total.into(),
            status: inv.status.as_str().to_owned(),
            payment_by_card_link: card,
            payment_by_transaction_link: transfer,
            positions: Some(
                inv.quote
                    .positions
                    .iter()
                    .map(|p: &Position| PositionView {
                        name: p.name.clone(),
                        quantity: p.quantity,
                        price: p.price.into(),
                        total_sum: p.total.into(),
                        type_of: "InvoicePosition",
                    })
                    .collect(),
            ),
            created_at: inv.created_at.rfc3339_millis(),
            updated_at: inv.updated_at.rfc3339_millis(),
            deleted_at: None,
            meta: inv.meta.clone().unwrap_or_default(),
            meta_data: InvoiceMeta {
                catalog_version: inv.catalog_version,
                paid_at: inv.paid_at.map(Timestamp::rfc3339_millis),
                period_in_months: inv.period_in_months,
                plan: Reference::to(&inv.plan_guid, "Plan"),
                product: Reference::to(&inv.product_guid, "Product"),
                quantity: inv.quantity,
                vat: VatView {
                    rate: vat::percent(inv.quote.vat_basis_points),
                    sum: inv.quote.vat.into(),
                },
                who_pays: Reference::to(inv.payer.id(), inv.payer.kind()),
            },
            guid: inv.guid.to_string(),
            type_of: "Invoice",
        }
    }
}
