//! The OpenAPI 3.1 document, generated from the handlers' own types.

use crate::json::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(title = "Kopek", description = "Billing platform server: Yandex Cloud Billing, LIFE POS and AIPIX VMS Billing compatible APIs, and the operator API."),
    paths(
        crate::health::healthz,
        crate::health::readyz,
        crate::admin::resellers::create,
        crate::admin::resellers::get,
        crate::admin::resellers::list,
        crate::admin::api_keys::create,
        crate::admin::api_keys::list,
        crate::admin::api_keys::revoke,
        crate::yandex::customers::list,
        crate::yandex::customers::invite,
        crate::yandex::customers::create_reseller_served,
        crate::yandex::customers::activate,
        crate::yandex::customers::suspend,
        crate::yandex::customers::resend_invitation,
        crate::yandex::operations::get,
        crate::yandex::operations::cancel,
        crate::yandex::billing_accounts::get,
        crate::yandex::billing_accounts::list,
        crate::pages::invitations::show,
        crate::pages::invitations::accept,
        crate::aipix::users::create,
        crate::aipix::users::update,
        crate::aipix::users::delete,
        crate::admin::users::get,
        crate::admin::users::list,
        crate::admin::catalog::get,
        crate::admin::catalog::replace,
        crate::admin::organizations::create,
        crate::admin::organizations::get,
        crate::admin::organizations::list,
        crate::admin::organizations::add_member,
        crate::admin::invoices::get,
        crate::admin::invoices::change,
        crate::lifepos::sign_in::sign_in,
        crate::lifepos::products::list,
        crate::lifepos::invoices::create_invoice,
        crate::lifepos::invoices::list,
        crate::lifepos::invoices::get,
    ),
    components(schemas(
        crate::yandex::status::Status,
        crate::lifepos::error::ErrorBody,
        crate::aipix::error::ErrorBody,
    )),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

pub fn document_value() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(document_value())
}
