//! SubscriptionCreateInvoice, and reading an organization's invoices.

use super::LifePos;
use super::auth::Buyer;
use super::wire::{InvoiceList, InvoiceView, Reference};
use crate::AppState;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::mutation::{Mutation, answer};
use crate::path::split_custom_method;
use crate::query::{Params, time_param};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::invoices::{self as invoices_core, Listing, Order};
use kopek_domain::error::Violations;
use kopek_domain::{Error, Reason};

use kopek_store::invoices::Filter;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, ToSchema)]
pub struct CreateInvoiceRequest {
    /// Required: a plan of the product.
    pub plan: Option<Reference>,
    /// 1 to 100000; 1 when absent.
    pub quantity: Option<i64>,
    /// 1 to 60 and one of the plan's periods; the plan's shortest when absent.
    pub period_in_months: Option<i64>,
    /// The organization itself (the default) or a reseller billing account that pays for it.
    pub who_pays: Option<Reference>,
    pub type_of: Option<String>,
}

/// Creates an invoice for a subscription product.
#[utoipa::path(post, path = "/orgs/{org_guid}/profile/subscriptions/products/{product_guid}:create-invoice", tag = "lifepos", operation_id = "SubscriptionCreateInvoice",
    request_body(content = CreateInvoiceRequest, content_type = "application/json"),
    params(
        ("org_guid" = String, Path), ("product_guid" = String, Path),
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
        ("Accept-Language" = String, Header), ("Idempotency-Key" = Option<String>, Header),
    ),
    responses(
        (status = 201, body = InvoiceView),
        (status = 401, body = super::error::ErrorBody), (status = 403, body = super::error::ErrorBody),
        (status = 404, body = super::error::ErrorBody), (status = 422, body = super::error::ErrorBody),
        (status = 429, body = super::error::ErrorBody), (status = 500, body = super::error::ErrorBody),
    ),
    security(("bearer" = [])))]
pub async fn create_invoice(
    State(state): State<AppState>,
    buyer: Buyer,
    mutation: Mutation<LifePos>,
    Path((org_guid, segment)): Path<(String, String)>,
    body: JsonBody<CreateInvoiceRequest, LifePos>,
) -> Result<Response, ApiError<LifePos>> {
    let (product_guid, method) = split_custom_method(&segment);
    if method != Some("create-invoice") {
        return Err(Error::NotFound {
            what: "method",
            id: segment.clone(),
        }
        .into());
    }
    let b = body.value;
    let order = Order {
        organization: org_guid.into(),
        product: product_guid.to_owned(),
        plan: b.plan.and_then(|p| p.guid),
        quantity: b.quantity,
        period_in_months: b.period_in_months,
        payer: b.who_pays.and_then(|w| w.guid),
    };
    let ran = invoices_core::create(
        &state.core,
        mutation.write(&body.raw),
        &buyer.principal,
        &buyer.access,
        order,
        StatusCode::CREATED.as_u16(),
        // The event's data is the invoice as LIFE POS shows it: the same text the
        // view serializes to, made once.
        |_, view| view.to_owned(),
    )
    .await?;
    Ok(answer(ran))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListInvoicesQuery {
    /// RFC 3339; invoices created at or after.
    pub created_from: Option<String>,
    pub created_to: Option<String>,
    pub updated_from: Option<String>,
    pub updated_to: Option<String>,
    /// `full` (the default) or `compact`, which leaves out each invoice's positions.
    pub presentation: Option<String>,
    /// `alive_only` (default), `archived_only` or `all`. Invoices are never archived.
    pub selection: Option<String>,
    /// `created_at_desc` (default) or `created_at_asc`.
    pub order_by: Option<String>,
    /// Also count the matching invoices (`items_total`, `pages_total`); null otherwise.
    pub include_items_total: Option<bool>,
    /// 1 to 1000; 20 when absent.
    pub items_per_page: Option<i64>,
    /// `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

fn one_of(field: &str, value: &Option<String>, allowed: &[&str], v: &mut Violations) {
    if let Some(value) = value.as_deref().filter(|s| !s.is_empty())
        && !allowed.contains(&value)
    {
        v.add(
            field,
            Reason::OneOf(allowed.iter().map(|a| (*a).to_owned()).collect()),
        );
    }
}

/// Lists an organization's invoices.
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/invoices", tag = "lifepos", operation_id = "InvoiceList",
    params(
        ("org_guid" = String, Path), ListInvoicesQuery,
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
        ("Accept-Language" = String, Header),
    ),
    responses((status = 200, body = InvoiceList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(org_guid): Path<String>,
    query: Params<ListInvoicesQuery, LifePos>,
) -> Result<Json<InvoiceList>, ApiError<LifePos>> {
    let q = query.value;
    let mut v = Violations::default();
    let filter = Filter {
        created_from: time_param("created_from", q.created_from.as_deref(), &mut v),
        created_to: time_param("created_to", q.created_to.as_deref(), &mut v),
        updated_from: time_param("updated_from", q.updated_from.as_deref(), &mut v),
        updated_to: time_param("updated_to", q.updated_to.as_deref(), &mut v),
    };
    one_of(
        "presentation",
        &q.presentation,
        &["compact", "full"],
        &mut v,
    );
    one_of(
        "selection",
        &q.selection,
        &["alive_only", "archived_only", "all"],
        &mut v,
    );
    one_of(
        "order_by",
        &q.order_by,
        &["created_at_desc", "created_at_asc"],
        &mut v,
    );
    let per_page = q.items_per_page.unwrap_or(20);
    if !(1..=1000).contains(&per_page) {
        v.add(
            "items_per_page",
            Reason::Format {
                en: "between 1 and 1000",
                ru: "от 1 до 1000",
            },
        );
    }
    v.finish()?;
    let listing = Listing {
        filter,
        oldest_first: q.order_by.as_deref() == Some("created_at_asc"),
        per_page,
        archived_only: q.selection.as_deref() == Some("archived_only"),
        with_total: q.include_items_total.unwrap_or(false),
        page_token: q.page_token,
    };
    let compact = q.presentation.as_deref() == Some("compact");
    let page = invoices_core::list(&state.core, &buyer.access, &org_guid.into(), &listing).await?;
    let key = state.store.page_key();
    let items = page
        .invoices
        .iter()
        .map(|inv| {
            let view = InvoiceView::new(inv, &state.settings().public_url, key);
            if compact { view.compact() } else { view }
        })
        .collect();
    Ok(Json(InvoiceList {
        items,
        next_page_token: page.next_page_token,
        page_number: page.page_number,
        pages_total: page.total.map(|t| (t + per_page - 1) / per_page),
        items_per_page: per_page,
        items_total: page.total,
        type_of: "List",
    }))
}

/// One invoice of the organization.
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/invoices/{guid}", tag = "lifepos", operation_id = "InvoiceGet",
    params(
        ("org_guid" = String, Path), ("guid" = String, Path),
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
        ("Accept-Language" = String, Header),
    ),
    responses((status = 200, body = InvoiceView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    buyer: Buyer,
    Path((org_guid, guid)): Path<(String, String)>,
) -> Result<Json<InvoiceView>, ApiError<LifePos>> {
    let invoice =
        invoices_core::get_of(&state.core, &buyer.access, &org_guid.into(), &guid.into()).await?;
    Ok(Json(InvoiceView::new(
        &invoice,
        &state.settings().public_url,
        state.store.page_key(),
    )))
}
