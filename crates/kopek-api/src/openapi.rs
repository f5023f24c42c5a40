//! The OpenAPI 3.1 document, generated from the handlers' own types, and the
//! browsable reference (Swagger UI, served from the binary) at `/docs`.

use crate::AppState;
use crate::json::Json;
use axum::Router;
use axum::extract::State;
use std::sync::LazyLock;
use utoipa::openapi::path::{HttpMethod, OperationBuilder};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, ResponseBuilder, Server};
use utoipa::{Modify, OpenApi};
use utoipa_swagger_ui::{Config, SwaggerUi};

/// Where the browsable reference is served.
pub const REFERENCE_PATH: &str = "/docs";

#[derive(OpenApi)]
#[openapi(
    info(title = "Kopek", description = "Billing platform server: Yandex Cloud Billing, LIFE POS and AIPIX VMS Billing compatible APIs, and the operator API."),
    components(schemas(
        crate::yandex::status::Status,
        crate::lifepos::error::ErrorBody,
        crate::aipix::error::ErrorBody,
    )),
    modifiers(&BearerAuth, &Reference, &EventTypes),
)]
pub struct ApiDoc;

struct BearerAuth;

/// Limits every operation shares, stated once: the `Idempotency-Key` header, and
/// the Yandex ids in paths (at most 50 characters, as the service definitions say).
struct Limits;

impl Modify for Limits {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::{ObjectBuilder, RefOr, Type};
        let text = |min: usize, max: usize, pattern: Option<&str>| {
            RefOr::T(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(min))
                    .max_length(Some(max))
                    .pattern(pattern)
                    .into(),
            )
        };
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.post,
                &mut item.put,
                &mut item.patch,
                &mut item.delete,
            ]
            .into_iter()
            .flatten()
            {
                for parameter in operation.parameters.iter_mut().flatten() {
                    match parameter.name.as_str() {
                        "Idempotency-Key" => {
                            parameter.schema = Some(text(1, 255, Some("^[!-~]+$")));
                        }
                        "customerId" | "operationId" | "billingAccountId" => {
                            parameter.schema = Some(text(1, 50, None));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

/// Every event type, in the `events` tag's description (the feed and webhooks
/// carry them).
struct EventTypes;

impl Modify for EventTypes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let mut table = String::from(
            "Every state change is an event; the feed lists them and webhooks deliver them.\n\n\
             | type | subject | when |\n| --- | --- | --- |\n",
        );
        for (kind, subject, when) in kopek_domain::webhook::EVENT_TYPES {
            table.push_str(&format!("| `{kind}` | {subject} | {when} |\n"));
        }
        let tag = utoipa::openapi::tag::TagBuilder::new()
            .name("events")
            .description(Some(table))
            .build();
        openapi.tags.get_or_insert_with(Vec::new).push(tag);
    }
}

/// The reference page is served by Swagger UI's router, not a handler of ours.
struct Reference;

impl Modify for Reference {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let page = ResponseBuilder::new()
            .description("Swagger UI for this document")
            .content("text/html", ContentBuilder::new().build())
            .build();
        let operation = OperationBuilder::new()
            .operation_id(Some("apiReference"))
            .tag("docs")
            .summary(Some(
                "This API's reference, to browse and try in a browser.",
            ))
            .response("200", page)
            .build();
        openapi
            .paths
            .add_path_operation(REFERENCE_PATH, vec![HttpMethod::Get], operation);
    }
}

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// What is said once (info, shared schemas, security) with every route's operations,
/// then the limits they share.
static DOCUMENT: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(|| {
    let mut document = ApiDoc::openapi().merge_from(crate::documented());
    Limits.modify(&mut document);
    document
});

/// The document with the server it is served from.
pub fn document_for(public_url: &str) -> utoipa::openapi::OpenApi {
    let mut document = DOCUMENT.clone();
    document.servers = Some(vec![Server::new(public_url)]);
    document
}

/// This document; `servers` is the server's public URL.
#[utoipa::path(get, path = "/openapi.json", tag = "docs", operation_id = "openApiDocument",
    responses((status = 200, description = "OpenAPI 3.1", content_type = "application/json", body = Object)))]
pub async fn document(State(state): State<AppState>) -> Json<utoipa::openapi::OpenApi> {
    Json(document_for(&state.settings().public_url))
}

/// Swagger UI at [`REFERENCE_PATH`], reading `/openapi.json`.
pub fn reference() -> Router<AppState> {
    SwaggerUi::new(REFERENCE_PATH)
        .config(Config::from("/openapi.json"))
        .into()
}
