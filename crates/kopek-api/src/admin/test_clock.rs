//! The test clock: only with `KOPEK_TEST_MODE=true` (otherwise 404).

use super::Admin;
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use axum::extract::State;
use kopek_core::test_clock;
use kopek_domain::Reason;
use kopek_domain::auth::Role;
use kopek_domain::error::Violations;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Deserialize, ToSchema)]
pub struct MoveClock {
    /// RFC 3339; not before the clock's present time.
    pub now: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ClockView {
    /// Kopek's time.
    pub now: String,
}

/// The test clock's time (test mode only).
#[utoipa::path(get, path = "/admin/v1/test-clock", tag = "test clock", operation_id = "getTestClock",
    responses((status = 200, body = ClockView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller<Admin>,
) -> Result<Json<ClockView>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let now = test_clock::now(&state.core).await?;
    Ok(Json(ClockView { now: now.rfc3339() }))
}

/// Moves the test clock forward and, before answering, issues everything that
/// became due (test mode only).
#[utoipa::path(post, path = "/admin/v1/test-clock", tag = "test clock", operation_id = "moveTestClock",
    request_body = MoveClock,
    responses((status = 200, body = ClockView), (status = "4XX", body = super::error::ErrorBody)),
    security(("bearer" = [])))]
pub async fn advance(
    State(state): State<AppState>,
    caller: Caller<Admin>,
    body: JsonBody<MoveClock, Admin>,
) -> Result<Json<ClockView>, ApiError<Admin>> {
    caller.require(Role::Admin)?;
    let mut v = Violations::default();
    let to = crate::query::time_param("now", body.value.now.as_deref(), &mut v);
    v.finish()?;
    // Absent or empty: a bad value was refused just above.
    let to = to.ok_or_else(|| kopek_domain::Error::field("now", Reason::Required))?;
    let now = test_clock::advance(&state.core, to).await?;
    Ok(Json(ClockView { now: now.rfc3339() }))
}
