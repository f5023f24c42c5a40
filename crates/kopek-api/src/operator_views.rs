//! What the operator's actions answer with: keys, users, catalog versions and
//! webhook deliveries as JSON. The admin API returns them, and the console keeps
//! them as its actions' stored responses, so an action reads the same in the
//! idempotency and audit records whichever door it came through.

use kopek_core::webhooks::Logged;
use kopek_domain::auth::SecretToken;
use kopek_domain::catalog::Catalog;
use kopek_domain::time::Timestamp;
use kopek_domain::user::{Property, User};
use kopek_store::api_keys::ApiKey;
use kopek_store::webhooks::Attempt;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuedApiKey {
    pub id: String,
    /// The bearer token. It is shown only in this response (Kopek keeps its hash);
    /// null in the answer to a repeat with the same `Idempotency-Key`.
    pub token: Option<String>,
    pub role: String,
    pub scope: Option<String>,
    pub name: String,
    pub created_at: String,
}

impl IssuedApiKey {
    /// The key as issued, with its token.
    pub fn new(key: &ApiKey, token: &SecretToken) -> IssuedApiKey {
        IssuedApiKey {
            id: key.id.clone(),
            token: Some(token.expose().to_owned()),
            role: key.role.to_string(),
            scope: key.scope.clone(),
            name: key.name.clone(),
            created_at: key.created_at.rfc3339(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ApiKeyView {
    pub id: String,
    pub role: String,
    pub scope: Option<String>,
    pub name: String,
    pub created_at: String,
    pub revoked_at: Option<String>,
}

impl From<ApiKey> for ApiKeyView {
    fn from(k: ApiKey) -> ApiKeyView {
        ApiKeyView {
            id: k.id,
            role: k.role.to_string(),
            scope: k.scope,
            name: k.name,
            created_at: k.created_at.rfc3339(),
            revoked_at: k.revoked_at.map(Timestamp::rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct UserView {
    pub id: i64,
    pub login: String,
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub user_type: String,
    pub status: String,
    #[schema(value_type = Object)]
    pub billing_info: serde_json::Value,
    #[schema(value_type = Vec<Object>)]
    pub billing_properties: Vec<Property>,
    pub permissions: Vec<String>,
    pub can_update_password: bool,
    pub created_at: String,
    pub updated_at: String,
    pub deleted_at: Option<String>,
}

impl From<User> for UserView {
    fn from(u: User) -> UserView {
        UserView {
            id: u.id.get(),
            login: u.login,
            name: u.name,
            user_type: u.user_type,
            status: u.status.as_str().to_owned(),
            billing_info: u.billing_info,
            billing_properties: u.billing_properties,
            permissions: u.permissions,
            can_update_password: u.can_update_password,
            created_at: u.created_at.rfc3339(),
            updated_at: u.updated_at.rfc3339(),
            deleted_at: u.deleted_at.map(Timestamp::rfc3339),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogVersion {
    /// 0 before any catalog was loaded.
    pub version: i64,
    /// Whether this request made a new version (false when nothing changed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created: Option<bool>,
    pub catalog: Catalog,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AttemptView {
    /// 1 for the first.
    pub attempt: i64,
    pub started_at: String,
    pub latency_ms: i64,
    /// The receiver's HTTP status; null when no answer came.
    pub http_status: Option<i64>,
    /// Why the attempt failed, when no 2xx came (a timeout, a refused address, ...).
    pub error: Option<String>,
    /// The first KiB of the receiver's answer.
    pub response_excerpt: Option<String>,
}

impl From<Attempt> for AttemptView {
    fn from(a: Attempt) -> AttemptView {
        AttemptView {
            attempt: a.attempt,
            started_at: a.started_at.rfc3339_millis(),
            latency_ms: a.latency_ms,
            http_status: a.http_status,
            error: a.error,
            response_excerpt: a.response_excerpt,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct DeliveryView {
    pub id: String,
    pub event_id: String,
    pub event_type: String,
    /// `pending` (to be tried, perhaps again), `delivered` or `failed` (given up).
    pub state: String,
    pub next_attempt_at: Option<String>,
    /// Retries stop after this time.
    pub retry_until: String,
    pub created_at: String,
    pub finished_at: Option<String>,
    pub attempts: Vec<AttemptView>,
}

impl From<Logged> for DeliveryView {
    fn from(
        Logged {
            delivery: d,
            attempts,
        }: Logged,
    ) -> DeliveryView {
        DeliveryView {
            next_attempt_at: (d.state == "pending").then(|| d.next_attempt_at.rfc3339()),
            id: d.id,
            event_id: d.event_id,
            event_type: d.event_type,
            state: d.state,
            retry_until: d.give_up_at.rfc3339(),
            created_at: d.created_at.rfc3339(),
            finished_at: d.finished_at.map(Timestamp::rfc3339),
            attempts: attempts.into_iter().map(AttemptView::from).collect(),
        }
    }
}
