//! The event feed: every state change, newest or oldest first, with a cursor that
//! stays put as new events arrive. Each key reads what it may: the operator all,
//! a reseller its customers', an organization its own, an integration user events.

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::error::ApiError;
use crate::json::Json;
use crate::query::{Params, time_param};
use axum::extract::State;
use kopek_core::events::{self as events_core, MAX_FEED_PAGE};
use kopek_domain::error::Violations;
use kopek_domain::{Reason, text};
use kopek_store::events::{Event, Feed};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use utoipa::{IntoParams, ToSchema};

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EventQuery {
    /// The last `id` of the previous page (its `next_after`).
    #[param(max_length = 100)]
    pub after: Option<String>,
    /// 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
    /// An event type (`invoice.paid`), or a prefix ending in a dot (`invoice.`).
    #[serde(rename = "type")]
    #[param(rename = "type", max_length = 100)]
    pub kind: Option<String>,
    /// Only events about this subject id.
    #[param(max_length = 200)]
    pub subject_id: Option<String>,
    /// RFC 3339; events at or after.
    pub created_from: Option<String>,
    /// RFC 3339; events at or before.
    pub created_to: Option<String>,
    /// `desc` (newest first, the default) or `asc`.
    pub order: Option<String>,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct SubjectRef {
    /// `invoice`, `license`, `subscription`, `customer`, `user`, `organization` or
    /// `webhook_endpoint`.
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
}

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct TenantRef {
    /// `reseller`, `organization` or `integration`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The reseller's billing account id or the organization's guid; null for
    /// `integration`.
    pub id: Option<String>,
}

/// An event, as the feed lists it and as webhooks deliver it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// A UUIDv7; the same on every delivery of the event (`webhook-id`).
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub created_at: String,
    pub subject: SubjectRef,
    /// Whose keys may read the event; null for operator-wide events.
    pub tenant: Option<TenantRef>,
    /// The subject as its API showed it when the event happened: the invoice as
    /// LIFE POS shows it, the customer as Yandex, the user as AIPIX.
    #[schema(value_type = Object)]
    pub data: Box<RawValue>,
}

impl From<Event> for EventView {
    fn from(e: Event) -> EventView {
        EventView {
            id: e.id,
            kind: e.kind,
            created_at: e.created_at.rfc3339_micros(),
            subject: SubjectRef {
                kind: e.subject_type,
                id: e.subject,
            },
            tenant: e.tenant_type.map(|kind| TenantRef {
                kind,
                id: e.tenant_id,
            }),
            data: e.data.unwrap_or_else(crate::event_views::null),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct EventList {
    pub events: Vec<EventView>,
    /// Pass as `after` for the next page; null on the last page (for now: newer
    /// events may come, so an oldest-first reader keeps polling with its last id).
    pub next_after: Option<String>,
}

/// Lists events the caller may read.
#[utoipa::path(get, path = "/admin/v1/events", tag = "events", operation_id = "listEvents", params(EventQuery),
    responses((status = 200, body = EventList), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    query: Params<EventQuery, Admin>,
) -> Result<Json<EventList>, ApiError<Admin>> {
    let q = query.value;
    let mut v = Violations::default();
    let from = time_param("created_from", q.created_from.as_deref(), &mut v);
    let to = time_param("created_to", q.created_to.as_deref(), &mut v);
    let oldest_first = match q.order.as_deref() {
        None | Some("" | "desc") => false,
        Some("asc") => true,
        Some(_) => {
            v.add(
                "order",
                Reason::OneOf(vec!["asc".to_owned(), "desc".to_owned()]),
            );
            false
        }
    };
    for (field, value, max) in [
        ("after", &q.after, 100),
        ("type", &q.kind, 100),
        ("subject_id", &q.subject_id, 200),
    ] {
        if let Some(value) = value {
            if value.chars().count() > max {
                v.add(field, Reason::TooLong { max });
            } else {
                v.check(text::line(field, value));
            }
        }
    }
    v.finish()?;
    let nonempty = |s: Option<String>| s.filter(|s| !s.is_empty());
    let feed = Feed {
        kind: nonempty(q.kind),
        subject: nonempty(q.subject_id),
        from,
        to,
        tenant: None,
        oldest_first,
        after: nonempty(q.after),
        limit: q.limit.unwrap_or(100).min(MAX_FEED_PAGE + 1),
    };
    let (events, next_after) = events_core::feed(&state.core, &caller.principal, feed).await?;
    Ok(Json(EventList {
        events: events.into_iter().map(EventView::from).collect(),
        next_after,
    }))
}
