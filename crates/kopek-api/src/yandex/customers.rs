//! CustomerService over REST: List, Invite, CreateResellerServed, Activate, Suspend
//! and our ResendInvitation.
//!
//! Who sees what: an admin key acts for every reseller; a reseller key only for its
//! own `resellerId`. A reseller asking about anything that is not its own (another
//! reseller's customer, or an id that does not exist) gets PERMISSION_DENIED either
//! way, so ids of other resellers' customers cannot be probed; an admin gets
//! NOT_FOUND for ids that do not exist.

use super::Yandex;
use super::wire::{
    CreateResellerServedCustomerRequest, CustomerView, InviteCustomerRequest,
    ListCustomersResponse, OperationView,
};
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::mutation::{Mutation, answer};
use crate::path::split_custom_method;
use crate::query::Params;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::customers::{self, Change};
use kopek_core::paging::PageQuery;
use kopek_core::write::Write;
use kopek_domain::Error;
use kopek_domain::customer::{NewCustomer, Onboarding};
use serde::Deserialize;
use utoipa::IntoParams;

/// Invites a customer to the specified reseller.
#[utoipa::path(post, path = "/billing/v1/customers:invite", tag = "yandex-billing", operation_id = "CustomerService_Invite",
    request_body = InviteCustomerRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat returns the same Operation")),
    responses((status = 200, body = OperationView), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn invite(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    mutation: Mutation<Yandex>,
    body: JsonBody<InviteCustomerRequest, Yandex>,
) -> Result<Response, ApiError<Yandex>> {
    let b = body.value;
    let new = NewCustomer::parse(
        Onboarding::Invite,
        b.reseller_id.unwrap_or_default(),
        b.name.unwrap_or_default(),
        b.invitation_email.unwrap_or_default(),
        b.person.map(Into::into),
    )?;
    created(&state, &caller, mutation.write(&body.raw), new).await
}

/// Creates a new reseller-served customer.
#[utoipa::path(post, path = "/billing/v1/customers:createResellerServedCustomer", tag = "yandex-billing", operation_id = "CustomerService_CreateResellerServed",
    request_body = CreateResellerServedCustomerRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "A repeat returns the same Operation")),
    responses((status = 200, body = OperationView), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn create_reseller_served(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    mutation: Mutation<Yandex>,
    body: JsonBody<CreateResellerServedCustomerRequest, Yandex>,
) -> Result<Response, ApiError<Yandex>> {
    let b = body.value;
    let new = NewCustomer::parse(
        Onboarding::ResellerServed,
        b.reseller_id.unwrap_or_default(),
        b.name.unwrap_or_default(),
        String::new(),
        b.person.map(Into::into),
    )?;
    created(&state, &caller, mutation.write(&body.raw), new).await
}

async fn created(
    state: &AppState,
    caller: &Caller<Yandex>,
    write: Write,
    new: NewCustomer,
) -> Result<Response, ApiError<Yandex>> {
    let ran = customers::create(
        &state.core,
        write,
        &caller.principal,
        new,
        StatusCode::OK.as_u16(),
        OperationView::of,
    )
    .await?;
    Ok(answer(ran))
}

/// `POST /billing/v1/customers/{segment}`: the segment is `{customerId}:activate`,
/// `:suspend` or `:resendInvitation`.
pub async fn customer_method(
    state: State<AppState>,
    caller: Caller<Yandex>,
    mutation: Mutation<Yandex>,
    Path(segment): Path<String>,
) -> Result<Response, ApiError<Yandex>> {
    let (customer_id, method) = split_custom_method(&segment);
    let customer_id = Path(customer_id.to_owned());
    match method {
        Some("activate") => activate(state, caller, mutation, customer_id).await,
        Some("suspend") => suspend(state, caller, mutation, customer_id).await,
        Some("resendInvitation") => resend_invitation(state, caller, mutation, customer_id).await,
        _ => Err(Error::NotFound {
            what: "method",
            id: format!("POST /billing/v1/customers/{segment}"),
        }
        .into()),
    }
}

/// One documented handler per customer method, each calling the core's change.
macro_rules! customer_change {
    ($name:ident, $change:expr, $path:literal, $id:literal, $doc:literal) => {
        #[doc = $doc]
        #[utoipa::path(post, path = $path, tag = "yandex-billing", operation_id = $id,
            params(("customerId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
            responses((status = 200, body = OperationView), (status = "4XX", body = super::status::Status)),
            security(("bearer" = [])))]
        pub async fn $name(
            State(state): State<AppState>,
            caller: Caller<Yandex>,
            mutation: Mutation<Yandex>,
            Path(customer_id): Path<String>,
        ) -> Result<Response, ApiError<Yandex>> {
            let ran = customers::change(
                &state.core,
                mutation.write(b""),
                &caller.principal,
                &customer_id,
                $change,
                StatusCode::OK.as_u16(),
                OperationView::of,
            )
            .await?;
            Ok(answer(ran))
        }
    };
}

customer_change!(
    activate,
    Change::Activate,
    "/billing/v1/customers/{customerId}:activate",
    "CustomerService_Activate",
    "Activates a SUSPENDED customer."
);
customer_change!(
    suspend,
    Change::Suspend,
    "/billing/v1/customers/{customerId}:suspend",
    "CustomerService_Suspend",
    "Suspends an ACTIVE customer."
);
customer_change!(
    resend_invitation,
    Change::ResendInvitation,
    "/billing/v1/customers/{customerId}:resendInvitation",
    "CustomerService_ResendInvitation",
    "Kopek extension: sends an INVITED customer a fresh invitation; older links stop working."
);

/// `?resellerId=`; the paging parameters are the shared [`PageQuery`].
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct ListCustomersQuery {
    /// Required. The reseller whose customers to list.
    #[serde(alias = "reseller_id")]
    #[param(min_length = 1, max_length = 50)]
    pub reseller_id: Option<String>,
}

/// Retrieves the list of customers of a reseller, in a stable (id) order.
#[utoipa::path(get, path = "/billing/v1/customers", tag = "yandex-billing", operation_id = "CustomerService_List", params(ListCustomersQuery, PageQuery),
    responses((status = 200, body = ListCustomersResponse), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    query: Params<ListCustomersQuery, Yandex>,
    page: Params<PageQuery, Yandex>,
) -> Result<Json<ListCustomersResponse>, ApiError<Yandex>> {
    let (rows, next_page_token) = customers::list(
        &state.core,
        &caller.principal,
        &query.value.reseller_id.unwrap_or_default(),
        &page.value,
    )
    .await?;
    Ok(Json(ListCustomersResponse {
        customers: rows.iter().map(CustomerView::from).collect(),
        next_page_token,
    }))
}
