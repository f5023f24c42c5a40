//! `GET /orgs/{org_guid}/profile/subscriptions/products`: what an organization can
//! buy, at what price, and the licenses it holds.

use super::LifePos;
use super::auth::Buyer;
use super::wire::{Money, Reference};
use crate::AppState;
use crate::error::ApiError;
use crate::json::Json;
use axum::extract::{Path, State};
use kopek_core::invoices;
use kopek_domain::invoice::per_month;
use kopek_store::invoices::License;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
pub struct PriceView {
    pub final_price: Money,
    pub base_price: Money,
    pub final_price_per_month: Money,
    pub base_price_per_month: Money,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PeriodView {
    pub period_in_months: i64,
    pub price: PriceView,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct PlanView {
    pub guid: String,
    pub code: String,
    pub name: String,
    pub features: Vec<String>,
    pub periods: Vec<PeriodView>,
    pub type_of: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LicenseView {
    pub name: String,
    pub plan: Reference,
    pub quantity: i64,
    pub expires_at: String,
}

impl From<&License> for LicenseView {
    fn from(l: &License) -> LicenseView {
        LicenseView {
            name: l.plan_name.clone(),
            plan: Reference::to(&l.plan_guid, "Plan"),
            quantity: l.quantity,
            expires_at: l.expires_at.rfc3339_millis(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductView {
    pub guid: String,
    pub code: String,
    pub name: String,
    pub plans: Vec<PlanView>,
    /// The organization's license for this product, if it ever paid for one.
    pub acquired_license: Option<LicenseView>,
    /// When the last paid subscription runs (or ran) out.
    pub last_paid_subscription_expired_at: Option<String>,
    pub type_of: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductList {
    pub items: Vec<ProductView>,
    pub type_of: &'static str,
}

/// Lists subscription products with plans, periods and prices.
#[utoipa::path(get, path = "/orgs/{org_guid}/profile/subscriptions/products", tag = "lifepos", operation_id = "SubscriptionProductList",
    params(
        ("org_guid" = String, Path),
        ("X-LP-Client-Identifier" = String, Header), ("X-LP-Client-Type" = String, Header),
        ("Accept-Language" = String, Header),
    ),
    responses((status = 200, body = ProductList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    buyer: Buyer,
    Path(org_guid): Path<String>,
) -> Result<Json<ProductList>, ApiError<LifePos>> {
    let licenses = invoices::licenses(&state.core, &buyer.access, &org_guid.into()).await?;
    let (_, catalog) = kopek_core::catalog::in_force(&state.core).await?;
    let items = std::sync::Arc::unwrap_or_clone(catalog)
        .products
        .into_iter()
        .map(|product| {
            let license = licenses
                .iter()
                .find(|l| l.product_guid.eq_ignore_ascii_case(&product.guid));
            ProductView {
                plans: product
                    .plans
                    .into_iter()
                    .map(|plan| PlanView {
                        periods: plan
                            .periods
                            .iter()
                            .map(|p| PeriodView {
                                period_in_months: p.period_in_months,
                                price: PriceView {
                                    final_price: p.price().into(),
                                    base_price: p.list_price().into(),
                                    final_price_per_month: per_month(p.price(), p.period_in_months)
                                        .into(),
                                    base_price_per_month: per_month(
                                        p.list_price(),
                                        p.period_in_months,
                                    )
                                    .into(),
                                },
                            })
                            .collect(),
                        guid: plan.guid,
                        code: plan.code,
                        name: plan.name,
                        features: plan.features,
                        type_of: "Plan",
                    })
                    .collect(),
                acquired_license: license.map(LicenseView::from),
                last_paid_subscription_expired_at: license.map(|l| l.expires_at.rfc3339_millis()),
                guid: product.guid,
                code: product.code,
                name: product.name,
                type_of: "Product",
            }
        })
        .collect();
    Ok(Json(ProductList {
        items,
        type_of: "List",
    }))
}
