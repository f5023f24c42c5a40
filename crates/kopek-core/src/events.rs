//! Recording an event: the subject as its API shows it and the tenant whose keys
//! may read it, in the transaction of the change, so no event is lost or
//! delivered for a change that did not happen. The webhook worker queues its
//! deliveries after (see [`crate::webhooks::fan_out`]).

use crate::Core;
use kopek_domain::auth::{Principal, Role};
use kopek_domain::ids::UserId;
use kopek_domain::time::Timestamp;
use kopek_domain::user::User;
use kopek_domain::{Error, Reason};
use kopek_store::Conn;
use kopek_store::closing_documents::ClosingDocument;
use kopek_store::customers::Customer;
use kopek_store::events::{self, Event, Feed};
use kopek_store::invoices::{Invoice, License};
use kopek_store::organizations::Organization;
use kopek_store::subscriptions::Subscription;
use kopek_store::webhooks::Endpoint;
use serde_json::Value;
use serde_json::value::RawValue;

/// What an event is about, as the core holds it.
#[derive(Debug, Clone, Copy)]
pub enum Subject<'a> {
    Invoice(&'a Invoice),
    License(&'a License),
    Customer(&'a Customer),
    User(&'a User),
    Organization(&'a Organization, &'a [UserId]),
    WebhookEndpoint(&'a Endpoint),
    Subscription(&'a Subscription),
    ClosingDocument(&'a ClosingDocument),
}

/// Whose keys may read an event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tenant {
    /// Operator-wide (an endpoint scoped to all): admin keys only.
    Operator,
    Reseller(String),
    Organization(String),
    /// Users provisioned by an outside billing system.
    Integration,
}

impl Tenant {
    pub fn kind(&self) -> Option<&'static str> {
        match self {
            Tenant::Operator => None,
            Tenant::Reseller(_) => Some("reseller"),
            Tenant::Organization(_) => Some("organization"),
            Tenant::Integration => Some("integration"),
        }
    }

    pub fn id(&self) -> Option<&str> {
        match self {
            Tenant::Reseller(id) | Tenant::Organization(id) => Some(id),
            Tenant::Operator | Tenant::Integration => None,
        }
    }

    /// Whose events a key reads: all (`None`, the operator's), or one tenant's.
    pub fn of_caller(caller: &Principal) -> Result<Option<Tenant>, Error> {
        match (caller.role, caller.scope.as_deref()) {
            (Role::Admin, _) => Ok(None),
            (Role::Reseller, Some(id)) => Ok(Some(Tenant::Reseller(id.to_owned()))),
            (Role::Organization, Some(guid)) => Ok(Some(Tenant::Organization(guid.to_owned()))),
            (Role::Integration, _) => Ok(Some(Tenant::Integration)),
            _ => Err(Error::Forbidden),
        }
    }

    /// A webhook endpoint's scope is a tenant too.
    pub fn of_scope(scope_type: &str, scope_id: Option<&str>) -> Tenant {
        match (scope_type, scope_id) {
            ("reseller", Some(id)) => Tenant::Reseller(id.to_owned()),
            ("organization", Some(id)) => Tenant::Organization(id.to_owned()),
            _ => Tenant::Operator,
        }
    }
}

impl Subject<'_> {
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Invoice(_) => "invoice",
            Subject::License(_) => "license",
            Subject::Customer(_) => "customer",
            Subject::User(_) => "user",
            Subject::Organization(..) => "organization",
            Subject::WebhookEndpoint(_) => "webhook_endpoint",
            Subject::Subscription(_) => "subscription",
            Subject::ClosingDocument(_) => "closing_document",
        }
    }

    pub fn id(&self) -> String {
        match self {
            Subject::Invoice(i) => i.guid.to_string(),
            // Audit reads a license's events by its organization.
            Subject::License(l) => l.organization_guid.to_string(),
            Subject::Customer(c) => c.id.to_string(),
            Subject::User(u) => u.id.to_string(),
            Subject::Organization(o, _) => o.guid.to_string(),
            Subject::WebhookEndpoint(e) => e.id.clone(),
            Subject::Subscription(s) => s.id.clone(),
            Subject::ClosingDocument(d) => d.id.clone(),
        }
    }

    pub fn tenant(&self) -> Tenant {
        match self {
            Subject::Invoice(i) => Tenant::Organization(i.organization_guid.to_string()),
            Subject::License(l) => Tenant::Organization(l.organization_guid.to_string()),
            Subject::Customer(c) => Tenant::Reseller(c.reseller_id.to_string()),
            Subject::User(_) => Tenant::Integration,
            Subject::Organization(o, _) => Tenant::Organization(o.guid.to_string()),
            Subject::WebhookEndpoint(e) => Tenant::of_scope(&e.scope_type, e.scope_id.as_deref()),
            Subject::Subscription(s) => Tenant::Organization(s.organization_guid.to_string()),
            Subject::ClosingDocument(d) => Tenant::Organization(d.organization_guid.to_string()),
        }
    }
}

/// Renders a subject as the API it belongs to shows it (the invoice as LIFE POS,
/// the customer as Yandex, the user as AIPIX), as JSON text. The API layer
/// provides it, so the core stays free of wire formats.
pub trait Render: Send + Sync {
    fn render(&self, subject: &Subject<'_>) -> Box<RawValue>;
}

/// Writes the event `kind` about `subject` (with the change's own `payload`, kept
/// for audit) in the caller's transaction. The webhook worker fans it out to the
/// endpoints that take it (see [`crate::webhooks::fan_out`]).
pub async fn record(
    core: &Core,
    conn: &mut Conn,
    kind: &str,
    subject: Subject<'_>,
    payload: &Value,
    now: Timestamp,
) -> Result<Event, Error> {
    record_many(core, conn, &[(kind, subject, payload)], now)
        .await?
        .pop()
        .ok_or_else(|| Error::internal("an event recorded, none answered"))
}

/// [`record`] for many events at once, in one statement.
pub async fn record_many(
    core: &Core,
    conn: &mut Conn,
    events: &[(&str, Subject<'_>, &Value)],
    now: Timestamp,
) -> Result<Vec<Event>, Error> {
    let rows: Vec<(Event, &Value)> = events
        .iter()
        .map(|(kind, subject, payload)| {
            let tenant = subject.tenant();
            let event = Event {
                id: uuid::Uuid::now_v7().to_string(),
                kind: (*kind).to_owned(),
                subject_type: subject.kind().to_owned(),
                subject: subject.id(),
                tenant_type: tenant.kind().map(str::to_owned),
                tenant_id: tenant.id().map(str::to_owned),
                data: Some(core.views.render(subject)),
                created_at: now,
            };
            (event, *payload)
        })
        .collect();
    events::insert(&mut *conn, &rows).await?;
    Ok(rows.into_iter().map(|(e, _)| e).collect())
}

/// The most events one feed page holds.
pub const MAX_FEED_PAGE: i64 = 1000;

/// One page of the events the caller may read: all for the operator, a reseller's
/// customers' for its key, an organization's for its key, user events for an
/// integration key. Answers the page and the cursor of the next one (`None` on
/// the last).
pub async fn feed(
    core: &Core,
    caller: &Principal,
    mut feed: Feed,
) -> Result<(Vec<Event>, Option<String>), Error> {
    if !(1..=MAX_FEED_PAGE).contains(&feed.limit) {
        return Err(Error::field(
            "limit",
            Reason::Format {
                en: "between 1 and 1000",
                ru: "от 1 до 1000",
            },
        ));
    }
    feed.tenant = Tenant::of_caller(caller)?.map(|t| {
        (
            t.kind().unwrap_or_default().to_owned(),
            t.id().map(str::to_owned),
        )
    });
    let limit = feed.limit;
    feed.limit += 1;
    let mut conn = core.store.conn().await?;
    let mut rows = events::list(&mut conn, &feed).await?;
    let next = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last().map(|e| e.id.clone())
    } else {
        None
    };
    Ok((rows, next))
}
