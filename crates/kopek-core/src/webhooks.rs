//! Webhook endpoints and their deliveries: made, changed, rotated and deleted by
//! the operator or, within their own scope, by reseller and organization keys;
//! attempts recorded, retried with backoff and jitter until the retry window
//! closes, and an endpoint that failed for the whole window disabled.

use crate::Core;
use crate::events::{self, Subject, Tenant};
use crate::paging::PageQuery;
use crate::write::{Begun, Ran, Write};
use kopek_domain::auth::Principal;
use kopek_domain::time::Timestamp;
use kopek_domain::webhook::{Secret, check_url, is_event_pattern, wants};
use kopek_domain::{Error, FieldError, Reason};
use kopek_store::events::Event;
use kopek_store::webhooks::{self, Attempt, Delivery, Due, Endpoint, Queued};
use kopek_store::{Conn, billing_accounts, organizations, outbox};
use rand::Rng;
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// How many events one fan-out pass takes.
pub const FAN_OUT_BATCH: usize = 500;

/// What a worker takes for itself of the deliveries a fan-out queues.
pub struct Claim<'a> {
    pub worker: &'a str,
    pub lease: Duration,
    /// How many more deliveries each endpoint may have claimed (none if absent).
    pub room: &'a HashMap<String, usize>,
}

/// What a fan-out did: how many events it took, and the deliveries it claimed with
/// their events.
#[derive(Default)]
pub struct FannedOut {
    pub taken: usize,
    pub claimed: Vec<Due>,
    pub events: Vec<Event>,
}

/// Queues the deliveries of the events written since the last pass: each to every
/// enabled endpoint whose scope and event types take it and that was made by the
/// time of the event. An event's own transaction only writes the event, so no
/// request waits for this; the webhook worker runs it before each claim, so a
/// delivery is queued within a pass of its event. The worker takes the new
/// deliveries (its `claim`), as far as their endpoints have room, in the statement
/// that queues them, and sends them with the events read here: a delivery that
/// succeeds first time is then written twice (queued, then done), not claimed
/// and its event read again in between.
pub async fn fan_out(core: &Core, claim: Claim<'_>) -> Result<FannedOut, Error> {
    let mut tx = core.store.begin().await?;
    let limit = i64::try_from(FAN_OUT_BATCH).map_err(Error::internal)?;
    let taken = kopek_store::events::unfanned(&mut tx, core.store.backend(), limit).await?;
    if taken.is_empty() {
        return Ok(FannedOut::default());
    }
    let mut tenants: Vec<(&str, &str)> = taken
        .iter()
        .filter_map(|e| Some((e.tenant_type.as_deref()?, e.tenant_id.as_deref()?)))
        .collect();
    tenants.sort_unstable();
    tenants.dedup();
    let subscribed = webhooks::subscribed(&mut tx, &tenants).await?;
    let mut room: HashMap<&str, usize> =
        claim.room.iter().map(|(id, n)| (id.as_str(), *n)).collect();
    let deliveries: Vec<Queued> = taken
        .iter()
        .flat_map(|e| {
            subscribed
                .iter()
                .filter(|s| {
                    s.created_at <= e.created_at
                        && s.covers(e.tenant_type.as_deref(), e.tenant_id.as_deref())
                        && wants(&s.event_types, &e.kind)
                })
                .map(|s| (s.id.as_str(), e.id.as_str()))
        })
        .map(|(endpoint_id, event_id)| {
            let claimed = room.get_mut(endpoint_id).is_some_and(|left| {
                let some = *left > 0;
                *left = left.saturating_sub(1);
                some
            });
            Queued {
                endpoint_id,
                event_id,
                claimed,
            }
        })
        .collect();
    let claimed = webhooks::enqueue(
        &mut tx,
        &deliveries,
        core.settings.webhook_retry_seconds,
        Some((claim.worker, claim.lease)),
    )
    .await?;
    let ids: Vec<&str> = taken.iter().map(|e| e.id.as_str()).collect();
    kopek_store::events::fanned_out(&mut tx, &ids).await?;
    // The data of the events delivered now, read once for all their endpoints.
    let mut wanted: Vec<&str> = claimed.iter().map(|d| d.event_id.as_str()).collect();
    wanted.sort_unstable();
    wanted.dedup();
    let events = kopek_store::events::get_many(&mut tx, &wanted).await?;
    tx.commit().await?;
    let count = taken.len();
    Ok(FannedOut {
        taken: count,
        claimed,
        events,
    })
}

/// How long the secret before a rotation keeps being signed with.
pub const ROTATION_OVERLAP_SECONDS: i64 = 24 * 60 * 60;

/// The endpoints a caller may manage: all (the operator), or one reseller's or
/// organization's; integration keys manage none.
fn reach(caller: &Principal) -> Result<Option<Tenant>, Error> {
    match Tenant::of_caller(caller)? {
        Some(Tenant::Integration) => Err(Error::Forbidden),
        reach => Ok(reach),
    }
}

fn endpoint_tenant(e: &Endpoint) -> Tenant {
    Tenant::of_scope(&e.scope_type, e.scope_id.as_deref())
}

fn not_found(what: &'static str, id: &str) -> Error {
    Error::NotFound {
        what,
        id: id.to_owned(),
    }
}

/// The endpoint, if the caller may reach it; another tenant's is `NotFound`.
async fn reachable(conn: &mut Conn, caller: &Principal, id: &str) -> Result<Endpoint, Error> {
    let reach = reach(caller)?;
    webhooks::get(conn, id)
        .await?
        .filter(|e| reach.as_ref().is_none_or(|t| *t == endpoint_tenant(e)))
        .ok_or_else(|| not_found("webhook endpoint", id))
}

/// An endpoint as asked for, before it is checked.
#[derive(Debug, Clone, Default)]
pub struct EndpointInput {
    pub url: Option<String>,
    pub event_types: Option<Vec<String>>,
    /// `all`, a reseller's billing account id or an organization's guid.
    pub scope: Option<String>,
    pub description: Option<String>,
    pub enabled: Option<bool>,
}

/// The URL to keep, or its error recorded.
fn checked_url(url: &str, allow_private: bool, errors: &mut Vec<FieldError>) -> Option<String> {
    check_url("url", url, allow_private)
        .map(|u| u.to_string())
        .map_err(|e| errors.push(e))
        .ok()
}

fn check_types(types: &[String], errors: &mut Vec<FieldError>) {
    if types.is_empty() || types.len() > 100 {
        errors.push(FieldError::new(
            "event_types",
            Reason::Format {
                en: "a list of 1 to 100 event types, or [\"*\"]",
                ru: "списком из 1–100 типов событий или [\"*\"]",
            },
        ));
    }
    for (i, t) in types.iter().enumerate() {
        if !is_event_pattern(t) {
            errors.push(FieldError::new(
                format!("event_types[{i}]"),
                Reason::Format {
                    en: "an event type, a prefix such as invoice., or *",
                    ru: "типом события, префиксом вида invoice. или *",
                },
            ));
        }
    }
}

fn check_description(description: &str, errors: &mut Vec<FieldError>) {
    if let Err(e) = kopek_domain::text::multiline("description", description) {
        errors.push(e);
    } else if description.chars().count() > 500 {
        errors.push(FieldError::new("description", Reason::TooLong { max: 500 }));
    }
}

/// What `scope` names, which the caller must be allowed to reach.
async fn resolve_scope(
    conn: &mut Conn,
    reach: Option<&Tenant>,
    scope: Option<&str>,
) -> Result<Tenant, Error> {
    let scope = match (scope.filter(|s| !s.is_empty()), reach) {
        (None, Some(own)) => return Ok(own.clone()),
        (None, None) | (Some("all"), None) => return Ok(Tenant::Operator),
        (Some("all"), Some(_)) => return Err(Error::Forbidden),
        (Some(s), _) => s,
    };
    let tenant = if billing_accounts::get(
        &mut *conn,
        billing_accounts::AccountKind::Reseller,
        &scope.into(),
    )
    .await?
    .is_some()
    {
        Tenant::Reseller(scope.to_owned())
    } else if let Some(org) = organizations::get(&mut *conn, &scope.into()).await? {
        Tenant::Organization(org.guid.to_string())
    } else {
        return Err(Error::field("scope", Reason::UnknownReference));
    };
    match reach {
        Some(own) if *own != tenant => Err(Error::Forbidden),
        _ => Ok(tenant),
    }
}

fn scope_columns(tenant: &Tenant) -> (String, Option<String>) {
    (
        tenant.kind().unwrap_or("all").to_owned(),
        tenant.id().map(str::to_owned),
    )
}

/// Creates an endpoint. Its secret is in this answer only: what is stored for a
/// repeat has `secret_field` null.
pub async fn create<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    input: EndpointInput,
    status: u16,
    secret_field: &str,
    answer: impl FnOnce(&Endpoint, &Secret) -> T,
) -> Result<Ran<T>, Error> {
    let reach = reach(caller)?;
    let mut errors = Vec::new();
    let url = match input.url.as_deref().filter(|u| !u.is_empty()) {
        None => {
            errors.push(FieldError::new("url", Reason::Required));
            None
        }
        Some(u) => checked_url(u, core.settings.webhook_allow_private, &mut errors),
    };
    let event_types = input.event_types.unwrap_or_else(|| vec!["*".to_owned()]);
    check_types(&event_types, &mut errors);
    let description = input.description.unwrap_or_default();
    check_description(&description, &mut errors);
    let (Some(url), true) = (url, errors.is_empty()) else {
        return Err(Error::Validation(errors));
    };
    match write.begin(caller).await? {
        Begun::Replay(stored) => Ok(Ran::Replayed(stored)),
        Begun::Work(mut work) => {
            let tenant = resolve_scope(work.conn(), reach.as_ref(), input.scope.as_deref()).await?;
            let (scope_type, scope_id) = scope_columns(&tenant);
            let now = core.now();
            let secret = Secret::generate();
            let endpoint = Endpoint {
                id: format!("whe_{}", uuid::Uuid::now_v7().simple()),
                url,
                event_types,
                scope_type,
                scope_id,
                description,
                enabled: input.enabled.unwrap_or(true),
                secret: secret.expose().to_owned(),
                previous_secret: None,
                previous_secret_until: None,
                created_by: caller.id.clone(),
                created_at: now,
                updated_at: now,
                last_success_at: None,
                disabled_reason: None,
            };
            webhooks::insert(work.conn(), &endpoint).await?;
            let answered = answer(&endpoint, &secret);
            let stored = work.commit_secret(status, &answered, secret_field).await?;
            Ok(Ran::Done(answered, stored))
        }
    }
}

/// Changes what is given of url, event types, description and enabled (the scope
/// stays); enabling again clears why it was disabled.
pub async fn update<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    id: &str,
    input: EndpointInput,
    status: u16,
    answer: impl Fn(&Endpoint) -> T,
) -> Result<Ran<T>, Error> {
    let mut errors = Vec::new();
    let url = input
        .url
        .as_deref()
        .and_then(|u| checked_url(u, core.settings.webhook_allow_private, &mut errors));
    if let Some(types) = &input.event_types {
        check_types(types, &mut errors);
    }
    if let Some(d) = &input.description {
        check_description(d, &mut errors);
    }
    if input.scope.is_some() {
        errors.push(FieldError::new(
            "scope",
            Reason::Format {
                en: "left out: an endpoint's scope cannot change (make a new endpoint)",
                ru: "не указанным: область конечной точки не меняется (создайте новую)",
            },
        ));
    }
    if !errors.is_empty() {
        return Err(Error::Validation(errors));
    }
    write
        .run(caller, status, async |work| {
            let mut endpoint = reachable(work.conn(), caller, id).await?;
            work.before(|| answer(&endpoint))?;
            if let Some(url) = url {
                endpoint.url = url;
            }
            if let Some(types) = input.event_types {
                endpoint.event_types = types;
            }
            if let Some(d) = input.description {
                endpoint.description = d;
            }
            if let Some(enabled) = input.enabled {
                if enabled && !endpoint.enabled {
                    endpoint.disabled_reason = None;
                    // The window for disabling counts again from now.
                    endpoint.last_success_at = Some(core.now());
                }
                endpoint.enabled = enabled;
            }
            endpoint.updated_at = core.now();
            webhooks::save(work.conn(), &endpoint).await?;
            Ok(answer(&endpoint))
        })
        .await
}

/// Issues a new secret; the old one is still signed with for a day.
pub async fn rotate_secret<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    id: &str,
    status: u16,
    secret_field: &str,
    answer: impl FnOnce(&Endpoint, &Secret) -> T,
) -> Result<Ran<T>, Error> {
    match write.begin(caller).await? {
        Begun::Replay(stored) => Ok(Ran::Replayed(stored)),
        Begun::Work(mut work) => {
            let mut endpoint = reachable(work.conn(), caller, id).await?;
            work.before(|| shown(&endpoint))?;
            let now = core.now();
            let secret = Secret::generate();
            endpoint.previous_secret = Some(std::mem::replace(
                &mut endpoint.secret,
                secret.expose().to_owned(),
            ));
            endpoint.previous_secret_until = Some(now.plus_seconds(ROTATION_OVERLAP_SECONDS));
            endpoint.updated_at = now;
            webhooks::save(work.conn(), &endpoint).await?;
            let answered = answer(&endpoint, &secret);
            let stored = work.commit_secret(status, &answered, secret_field).await?;
            Ok(Ran::Done(answered, stored))
        }
    }
}

/// An endpoint as the audit log records it where no answer shows it (never a
/// secret).
fn shown(endpoint: &Endpoint) -> serde_json::Value {
    serde_json::json!({
        "id": endpoint.id,
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "scope": {"type": endpoint.scope_type, "id": endpoint.scope_id},
        "description": endpoint.description,
        "enabled": endpoint.enabled,
    })
}

/// Deletes an endpoint with its deliveries and their log.
pub async fn delete(write: Write, caller: &Principal, id: &str) -> Result<Ran<()>, Error> {
    write
        .run_no_content(caller, async |work| {
            let endpoint = reachable(work.conn(), caller, id).await?;
            work.before(|| shown(&endpoint))?;
            webhooks::delete(work.conn(), id).await?;
            Ok(())
        })
        .await
}

pub async fn get(core: &Core, caller: &Principal, id: &str) -> Result<Endpoint, Error> {
    let mut conn = core.store.conn().await?;
    reachable(&mut conn, caller, id).await
}

/// One page of the endpoints the caller may reach, and the next page's token.
pub async fn list(
    core: &Core,
    caller: &Principal,
    query: &PageQuery,
) -> Result<(Vec<Endpoint>, String), Error> {
    let reach = reach(caller)?;
    let key = core.store.page_key();
    let scope = reach.as_ref().map(scope_columns);
    let context = format!("webhookEndpoints:{scope:?}");
    let page = query.page(key, context)?;
    let mut conn = core.store.conn().await?;
    let mut rows = webhooks::list(
        &mut conn,
        scope
            .as_ref()
            .map(|(t, id)| (t.as_str(), id.as_deref().unwrap_or(""))),
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(key, &mut rows, |e| e.id.as_str());
    Ok((rows, next))
}

/// A delivery with its attempts.
#[derive(Debug, Clone)]
pub struct Logged {
    pub delivery: Delivery,
    pub attempts: Vec<Attempt>,
}

/// The deliveries with their attempts, read in one query.
async fn logged(conn: &mut Conn, deliveries: Vec<Delivery>) -> Result<Vec<Logged>, Error> {
    let ids: Vec<String> = deliveries.iter().map(|d| d.id.clone()).collect();
    let mut by_delivery: HashMap<String, Vec<Attempt>> = HashMap::new();
    for attempt in webhooks::attempts(conn, &ids).await? {
        by_delivery
            .entry(attempt.delivery_id.clone())
            .or_default()
            .push(attempt);
    }
    Ok(deliveries
        .into_iter()
        .map(|delivery| Logged {
            attempts: by_delivery.remove(&delivery.id).unwrap_or_default(),
            delivery,
        })
        .collect())
}

/// One page of an endpoint's deliveries, newest first, each with every attempt.
pub async fn deliveries(
    core: &Core,
    caller: &Principal,
    endpoint_id: &str,
    query: &PageQuery,
) -> Result<(Vec<Logged>, String), Error> {
    let key = core.store.page_key();
    let page = query.page(key, format!("webhookDeliveries:{endpoint_id}"))?;
    let mut conn = core.store.conn().await?;
    reachable(&mut conn, caller, endpoint_id).await?;
    let mut rows = webhooks::deliveries(
        &mut conn,
        endpoint_id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next = page.finish(key, &mut rows, |d| d.id.as_str());
    Ok((logged(&mut conn, rows).await?, next))
}

/// Sends a delivery again at once (whatever became of it), with a fresh retry
/// window.
pub async fn resend<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    endpoint_id: &str,
    delivery_id: &str,
    status: u16,
    answer: impl FnOnce(Logged) -> T,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            reachable(work.conn(), caller, endpoint_id).await?;
            let found = webhooks::delivery(work.conn(), delivery_id)
                .await?
                .filter(|d| d.endpoint_id == endpoint_id)
                .ok_or_else(|| not_found("webhook delivery", delivery_id))?;
            let now = core.now();
            webhooks::requeue(
                work.conn(),
                &found.id,
                now.plus_seconds(core.settings.webhook_retry_seconds),
                now,
            )
            .await?;
            let delivery = webhooks::delivery(work.conn(), &found.id)
                .await?
                .ok_or_else(|| Error::internal("the delivery vanished"))?;
            let mut logged = logged(work.conn(), vec![delivery]).await?;
            Ok(answer(logged.remove(0)))
        })
        .await
}

/// The secrets a delivery is signed with now: the current one, and the one before
/// a rotation while its day lasts.
pub fn secrets_in_force(endpoint: &Endpoint, now: Timestamp) -> Vec<Secret> {
    let previous = endpoint.previous_secret.as_deref().filter(|_| {
        endpoint
            .previous_secret_until
            .is_some_and(|until| until > now)
    });
    std::iter::once(endpoint.secret.as_str())
        .chain(previous)
        .filter_map(Secret::parse)
        .collect()
}

/// Seconds before the next try after failed attempt `attempt` (1-based): `first`
/// doubling up to 6 hours, each spread by up to a fifth either way (`jitter` in
/// -1..=1) so that a receiver coming back is not met by every retry at once.
pub fn retry_delay(first: i64, attempt: i64, jitter: f64) -> i64 {
    let exp = u32::try_from(attempt.clamp(1, 30) - 1).unwrap_or(0);
    let base = first.saturating_mul(1i64 << exp).min(6 * 60 * 60) as f64;
    (base * (1.0 + 0.2 * jitter.clamp(-1.0, 1.0)))
        .round()
        .max(1.0) as i64
}

/// How one attempt went.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub started_at: Timestamp,
    pub latency_ms: i64,
    pub http_status: Option<u16>,
    pub error: Option<String>,
    pub response_excerpt: Option<String>,
}

impl Outcome {
    pub fn succeeded(&self) -> bool {
        self.error.is_none() && self.http_status.is_some_and(|s| (200..300).contains(&s))
    }
}

/// Records attempts, in one transaction: each delivered, to be retried, or given up
/// once the window has closed; an endpoint with no success for the whole window is
/// then disabled, with an event and a mail to the operator. Answers whether each
/// lease was still held (a lost one writes nothing). The deliveries that succeeded,
/// nearly all of them as a rule, are recorded together in a few statements.
pub async fn attempted(
    core: &Core,
    worker: &str,
    mut done: Vec<(Due, Outcome)>,
) -> Result<Vec<(Due, bool)>, Error> {
    // Rows are locked in one order by every worker, so two cannot deadlock.
    done.sort_by(|(a, _), (b, _)| (&a.endpoint_id, &a.id).cmp(&(&b.endpoint_id, &b.id)));
    let now = Timestamp::now();
    let (delivered, others): (Vec<_>, Vec<_>) = done
        .into_iter()
        .partition(|(_, outcome)| outcome.succeeded());
    let delivered: Vec<(Due, Attempt)> = delivered
        .into_iter()
        .map(|(due, outcome)| {
            let attempt = attempt_of(&due, outcome);
            (due, attempt)
        })
        .collect();
    let mut tx = core.store.begin().await?;
    let kept: HashSet<String> = webhooks::finish_delivered(&mut tx, worker, &delivered, now)
        .await?
        .into_iter()
        .collect();
    let mut held: Vec<(Due, bool)> = delivered
        .into_iter()
        .map(|(due, _)| {
            let kept = kept.contains(&due.id);
            (due, kept)
        })
        .collect();
    for (due, outcome) in others {
        let wait = retry_delay(
            core.settings.webhook_first_retry_seconds,
            due.attempts,
            rand::rng().random_range(-1.0..=1.0),
        );
        let next = now.plus_seconds(wait);
        let (state, next) = if next <= due.give_up_at {
            ("pending", Some(next))
        } else {
            ("failed", None)
        };
        let attempt = attempt_of(&due, outcome);
        let kept = webhooks::finish(&mut tx, &due, worker, &attempt, state, next, now).await?;
        if kept && state == "failed" {
            disable_if_dead(core, &mut tx, &due.endpoint_id, now).await?;
        }
        held.push((due, kept));
    }
    tx.commit().await?;
    Ok(held)
}

/// An attempt's line in the delivery log.
fn attempt_of(due: &Due, outcome: Outcome) -> Attempt {
    Attempt {
        delivery_id: due.id.clone(),
        attempt: due.attempts,
        started_at: outcome.started_at,
        latency_ms: outcome.latency_ms,
        http_status: outcome.http_status.map(i64::from),
        error: outcome.error,
        response_excerpt: outcome.response_excerpt,
    }
}

async fn disable_if_dead(
    core: &Core,
    conn: &mut Conn,
    endpoint_id: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let Some(mut endpoint) = webhooks::get(&mut *conn, endpoint_id).await? else {
        return Ok(());
    };
    let window_start = now.plus_seconds(-core.settings.webhook_retry_seconds);
    let last_good = endpoint.last_success_at.unwrap_or(endpoint.created_at);
    if !endpoint.enabled || last_good > window_start {
        return Ok(());
    }
    endpoint.enabled = false;
    endpoint.disabled_reason = Some(format!(
        "no delivery succeeded since {}",
        last_good.rfc3339()
    ));
    endpoint.updated_at = now;
    webhooks::save(&mut *conn, &endpoint).await?;
    let payload = serde_json::json!({
        "endpointId": endpoint.id,
        "url": endpoint.url,
        "reason": endpoint.disabled_reason,
    });
    events::record(
        core,
        &mut *conn,
        "webhook_endpoint.disabled",
        Subject::WebhookEndpoint(&endpoint),
        &payload,
        now,
    )
    .await?;
    if let Some(to) = &core.settings.operator_email {
        let mail = serde_json::json!({
            "to": to,
            "endpointId": endpoint.id,
            "url": endpoint.url,
            "reason": endpoint.disabled_reason,
        });
        outbox::enqueue(conn, OPERATOR_MAIL, &mail).await?;
    }
    Ok(())
}

/// The outbox kind of the mail telling the operator an endpoint was disabled.
pub const OPERATOR_MAIL: &str = "mail.webhook_endpoint_disabled";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_double_to_a_cap_with_a_fifth_of_jitter() {
        assert_eq!(retry_delay(5, 1, 0.0), 5);
        assert_eq!(retry_delay(5, 2, 0.0), 10);
        assert_eq!(retry_delay(5, 4, 0.0), 40);
        assert_eq!(retry_delay(5, 30, 0.0), 6 * 60 * 60);
        assert_eq!(retry_delay(5, 1000, 0.0), 6 * 60 * 60);
        assert_eq!(retry_delay(100, 1, 1.0), 120);
        assert_eq!(retry_delay(100, 1, -1.0), 80);
        assert_eq!(retry_delay(100, 1, 7.0), 120);
        assert_eq!(retry_delay(1, 1, -1.0), 1);
    }
}
