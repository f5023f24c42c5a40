//! LIFE POS JSON beyond the invoice itself (which is in
//! [`crate::invoice_view`]): the invoice list.

pub use crate::invoice_view::{InvoiceView, Money, Reference};
use serde::Serialize;
use utoipa::ToSchema;

/// A LIFE POS list.
#[derive(Debug, Serialize, ToSchema)]
pub struct InvoiceList {
    pub items: Vec<InvoiceView>,
    /// Pass as `page_token` for the next page; null on the last page.
    pub next_page_token: Option<String>,
    pub page_number: i64,
    /// With `include_items_total=true` only.
    pub pages_total: Option<i64>,
    pub items_per_page: i64,
    pub items_total: Option<i64>,
    pub type_of: &'static str,
}
