//! Kopek's HTTP surface. Each API family has its folder and its error dialect; what
//! they share (auth, bodies, idempotency, paging, metrics) lives beside them.

pub mod admin;
pub mod aipix;
pub mod auth;
pub mod body;
pub mod closing;
pub mod console;
pub mod context;

pub mod error;
pub mod event_views;
pub mod health;
pub mod html;
pub mod invoice_view;
pub mod json;
pub mod licenses;
pub mod lifepos;
pub mod limits;
pub mod metrics;
pub mod mutation;
pub mod openapi;
pub mod operator_views;
pub mod pages;

pub mod path;
pub mod payments;
pub mod pdf;
pub mod plain;
pub mod qr;
pub mod query;
pub mod routes;
pub mod yandex;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::Method;
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use kopek_core::limits::RateLimit;
use kopek_core::{Core, Settings};
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use kopek_store::Store;
use std::sync::Arc;
use tower_http::LatencyUnit;
use tower_http::trace::{DefaultOnResponse, TraceLayer};

/// What handlers need from the configuration beyond the core's [`Settings`].
#[derive(Clone)]
pub struct ApiConfig {
    /// Who sells: printed on invoices, with the bank details for transfers.
    pub seller: Seller,
    /// The shared secret payment providers sign callbacks with; callbacks are
    /// refused while it is unset.
    pub payment_callback_secret: Option<String>,
    /// Sign-in requests per minute from one client address (0: no limit).
    pub sign_in_per_minute: u32,
    /// The longest a request body may pause, and a whole request may take.
    pub body_timeout: std::time::Duration,
    pub request_timeout: std::time::Duration,
}

/// The seller's details, from configuration (`KOPEK_SELLER_*`).
#[derive(Debug, Clone, Default)]
pub struct Seller {
    pub name: String,
    pub inn: String,
    pub kpp: String,
    pub address: String,
    pub bank: String,
    pub bik: String,
    /// The seller's settlement account (расчётный счёт).
    pub account: String,
    /// The bank's correspondent account (корреспондентский счёт).
    pub correspondent_account: String,
}

impl Seller {
    /// The settings a bank transfer needs that are blank: without them a transfer
    /// invoice would carry dashes where the buyer needs numbers.
    pub fn missing(&self) -> Vec<&'static str> {
        [
            ("KOPEK_SELLER_NAME", &self.name),
            ("KOPEK_SELLER_INN", &self.inn),
            ("KOPEK_SELLER_BANK", &self.bank),
            ("KOPEK_SELLER_BIK", &self.bik),
            ("KOPEK_SELLER_ACCOUNT", &self.account),
            (
                "KOPEK_SELLER_CORRESPONDENT_ACCOUNT",
                &self.correspondent_account,
            ),
        ]
        .into_iter()
        .filter(|(_, value)| value.trim().is_empty())
        .map(|(name, _)| name)
        .collect()
    }
}

/// What every handler reads, behind one `Arc`: axum clones the state into each
/// layer of a route for every request (27 clones a create-invoice), and one
/// reference count is cheaper to move than the twenty-odd of its parts.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Clone)]
pub struct Shared {
    pub core: Core,
    /// The core's store, for reads a handler makes itself.
    pub store: Store,
    pub config: Arc<ApiConfig>,
    pub metrics: metrics::Metrics,
    pub limits: Arc<limits::Limits>,
}

impl AppState {
    /// The time business records are dated with: now, unless the configuration fixes it.
    pub fn now(&self) -> Timestamp {
        self.core.now()
    }

    /// The core, to change before the state is shared (a copy is made if it is).
    pub fn core_mut(&mut self) -> &mut Core {
        &mut Arc::make_mut(&mut self.0).core
    }

    /// The core's settings (public URL, numbering, ...).
    pub fn settings(&self) -> &Settings {
        &self.core.settings
    }

    pub fn new(store: Store, settings: Settings, config: ApiConfig) -> Result<AppState, Error> {
        let limits = limits::Limits {
            sign_in: RateLimit::new(config.sign_in_per_minute),
            body_timeout: config.body_timeout,
            request_timeout: config.request_timeout,
        };
        Ok(AppState(Arc::new(Shared {
            core: core(store.clone(), settings),
            store,
            limits: Arc::new(limits),
            config: Arc::new(config),
            metrics: metrics::Metrics::new().map_err(Error::internal)?,
        })))
    }
}

pub use routes::Routes;
use utoipa_axum::routes;

fn routes() -> Routes {
    Routes::new()
        .api(routes!(health::healthz))
        .api(routes!(health::readyz))
        .api(routes!(metrics::render))
        .api(routes!(openapi::document))
        .api(routes!(licenses::keys))
        .api(routes!(licenses::revocations))
        .api(routes!(payments::callback::receive))
        .mount(openapi::REFERENCE_PATH, openapi::reference())
        .merge(admin::routes())
        .merge(yandex::routes())
        .merge(aipix::routes())
        .merge(lifepos::routes())
        .merge(pages::routes())
        .merge(console::routes())
}

/// The core with this API's views of event subjects, for the server and for
/// every other caller (the command line).
pub fn core(store: Store, settings: Settings) -> Core {
    let views = event_views::Views {
        public_url: settings.public_url.clone(),
        store: store.clone(),
    };
    Core::new(store, settings, Arc::new(views))
}

/// The path patterns the router serves, as axum writes them (`{segment}` where a
/// custom method such as `{id}:activate` is split off by the handler).
pub fn served_paths() -> Vec<String> {
    routes().served_paths()
}

/// The OpenAPI paths and schemas of every documented route.
pub(crate) fn documented() -> utoipa::openapi::OpenApi {
    routes().documented()
}

pub fn router(state: AppState) -> Router {
    routes()
        .into_router()
        .route_layer(from_fn(metrics::mark_route))
        .fallback(unmatched)
        .method_not_allowed_fallback(method_not_allowed)
        // Our own extractors read bodies with this limit and their own error; the
        // same limit bounds axum's (the payment callback's bytes, the page forms).
        .layer(DefaultBodyLimit::max(body::MAX_BODY_BYTES))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request| {
                    let request_id = request
                        .headers()
                        .get(&context::REQUEST_ID)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    let path = loggable_path(request.uri().path());
                    tracing::info_span!("request", method = %request.method(), %path, request_id, caller = tracing::field::Empty)
                })
                // One line per request at the default level: its status and time.
                .on_response(
                    DefaultOnResponse::new()
                        .level(tracing::Level::INFO)
                        .latency_unit(LatencyUnit::Micros),
                ),
        )
        .layer(from_fn_with_state(state.clone(), metrics::track))
        .layer(from_fn_with_state(state.clone(), limits::timeouts))
        .layer(from_fn(plain::middleware))
        .layer(from_fn(context::middleware))
        .with_state(state)
}

/// The path as logs may show it: an invitation link's token is a secret, so its
/// segment is replaced (the custom method after it is kept).
pub fn loggable_path(path: &str) -> std::borrow::Cow<'_, str> {
    match path.strip_prefix("/invitations/") {
        Some(rest) if !rest.is_empty() => {
            let method = rest.rfind(':').map_or("", |i| &rest[i..]);
            format!("/invitations/<token>{method}").into()
        }
        _ => path.into(),
    }
}

/// The family a path belongs to decides the dialect of errors outside any handler.
pub(crate) fn render_for_path(path: &str, error: Error) -> Response {
    if path.starts_with("/billing/") || path.starts_with("/operations") {
        error::render::<yandex::Yandex>(&error)
    } else if path.starts_with("/orgs/") || path.starts_with("/auth/") {
        error::render::<lifepos::LifePos>(&error)
    } else if path.starts_with("/api/v1/billing/") {
        error::render::<aipix::Aipix>(&error)
    } else if path.starts_with("/console") {
        error::render::<console::Console>(&error)
    } else if path.starts_with("/invitations/") || path.starts_with("/invoices/") {
        pages::error_page(&error)
    } else {
        error::render::<admin::Admin>(&error)
    }
}

async fn unmatched(method: Method, request: Request) -> Response {
    let path = request.uri().path().to_owned();
    render_for_path(
        &path,
        Error::NotFound {
            what: "route",
            id: format!("{method} {path}"),
        },
    )
}

async fn method_not_allowed(request: Request) -> Response {
    render_for_path(request.uri().path(), Error::MethodNotAllowed)
}

#[cfg(test)]
mod layers;

#[cfg(test)]
mod tests {
    use super::loggable_path;

    #[test]
    fn invitation_tokens_stay_out_of_logs() {
        assert_eq!(
            loggable_path("/invitations/inv_secret"),
            "/invitations/<token>"
        );
        assert_eq!(
            loggable_path("/invitations/inv_secret:accept"),
            "/invitations/<token>:accept"
        );
        assert_eq!(loggable_path("/healthz"), "/healthz");
    }
}
