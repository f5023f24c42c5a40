//! CustomerService over REST: List, Invite, CreateResellerServed, Activate, Suspend
//! and our ResendInvitation.
//!
//! Who sees what: an admin key acts for every reseller; a reseller key only for its
//! own `resellerId`. A reseller asking about anything that is not its own (another
//! reseller's customer, or an id that does not exist) gets PERMISSION_DENIED either
//! way, so ids of other resellers' customers cannot be probed; an admin gets
//! NOT_FOUND for ids that do not exist.

use super::Yandex;
use super::invitations;
use super::wire::{
    CreateResellerServedCustomerRequest, CustomerView, InviteCustomerRequest,
    ListCustomersResponse, OperationView, customer_any, customer_metadata,
};
use crate::AppState;
use crate::auth::Caller;
use crate::body::JsonBody;
use crate::error::ApiError;
use crate::json::Json;
use crate::mutation::{Mutation, answer};
use crate::paging::PageQuery;
use crate::path::split_custom_method;
use crate::query::Params;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use kopek_core::write::{Ran, Write};
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role};
use kopek_domain::customer::{CustomerState, NewCustomer, Onboarding, id_rule};
use kopek_domain::ids::{prefix, yc_id};
use kopek_domain::time::Timestamp;
use kopek_store::billing_accounts::{self, AccountKind, BillingAccount};
use kopek_store::customers::{self, Customer};
use kopek_store::operations::{self, Operation};
use kopek_store::{Conn, events};
use serde::Deserialize;
use serde_json::json;
use utoipa::IntoParams;

/// The reseller a caller acts for, checked against the caller's scope.
async fn reseller_for(
    conn: &mut Conn,
    caller: &Principal,
    reseller_id: &str,
) -> Result<BillingAccount, Error> {
    if !caller.may_act_for(Role::Reseller, reseller_id) {
        return Err(Error::Forbidden);
    }
    billing_accounts::get(conn, AccountKind::Reseller, reseller_id)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "reseller",
            id: reseller_id.to_owned(),
        })
}

/// A customer the caller may touch (see the module notes for what others get).
pub async fn visible_customer(
    conn: &mut Conn,
    caller: &Principal,
    customer_id: &str,
) -> Result<Customer, Error> {
    id_rule("customerId", customer_id).map_err(|e| Error::Validation(vec![e]))?;
    match customers::get(conn, customer_id).await? {
        Some(c) if caller.may_act_for(Role::Reseller, &c.reseller_id) => Ok(c),
        _ if !caller.is_admin() => Err(Error::Forbidden),
        _ => Err(Error::NotFound {
            what: "customer",
            id: customer_id.to_owned(),
        }),
    }
}

/// Every customer operation finishes inside its request: it is stored done, with
/// the customer as its response.
async fn record_operation(
    conn: &mut Conn,
    description: &str,
    caller: &Principal,
    customer: &Customer,
    now: Timestamp,
) -> Result<OperationView, Error> {
    let op = Operation {
        id: yc_id(prefix::OPERATION),
        description: description.to_owned(),
        created_by: caller.id.clone(),
        created_at: now,
        modified_at: now,
        done: true,
        metadata: customer_metadata(customer),
        response: Some(customer_any(customer)),
        error: None,
        reseller_id: Some(customer.reseller_id.clone()),
    };
    operations::insert(conn, &op).await?;
    Ok(OperationView::from(op))
}

fn event_payload(customer: &Customer, previous: Option<CustomerState>) -> serde_json::Value {
    json!({
        "customerId": customer.id,
        "resellerId": customer.reseller_id,
        "billingAccountId": customer.billing_account_id,
        "state": customer.state.as_str(),
        "previousState": previous.map(CustomerState::as_str),
    })
}

/// Creates the customer with its own billing account; for an invitation also the
/// invitation and its mail. Shared by REST and gRPC.
pub async fn create_customer(
    state: &AppState,
    caller: &Principal,
    write: Write,
    new: NewCustomer,
) -> Result<Ran<OperationView>, Error> {
    let mut conn = state.store.conn().await?;
    let reseller = reseller_for(&mut conn, caller, &new.reseller_id).await?;
    drop(conn);
    new.check_phone(&reseller.country_code)?;
    write
        .run(caller, StatusCode::OK.as_u16(), async |work| {
            let now = Timestamp::now();
            let customer_state = match new.onboarding {
                Onboarding::Invite => CustomerState::Invited,
                Onboarding::ResellerServed => CustomerState::Active,
            };
            let account = BillingAccount {
                id: yc_id(prefix::BILLING_ACCOUNT),
                kind: AccountKind::Customer,
                name: new.name.clone(),
                country_code: reseller.country_code.clone(),
                currency: reseller.currency.clone(),
                active: customer_state.account_active(),
                balance: 0,
                reseller_id: Some(reseller.id.clone()),
                created_at: now,
            };
            billing_accounts::insert(work.conn(), &account).await?;
            let customer = Customer {
                id: yc_id(prefix::CUSTOMER),
                reseller_id: reseller.id.clone(),
                billing_account_id: account.id,
                name: new.name,
                state: customer_state,
                person: new.person,
                invitation_email: new.invitation_email,
                created_at: now,
                updated_at: now,
            };
            customers::insert(work.conn(), &customer).await?;
            let (event, description) = match &customer.invitation_email {
                Some(email) => {
                    invitations::issue(
                        work.conn(),
                        state.settings(),
                        &customer,
                        email,
                        &reseller.name,
                        now,
                    )
                    .await?;
                    ("customer.invited", "Invite customer")
                }
                None => ("customer.created", "Create reseller-served customer"),
            };
            events::record(
                work.conn(),
                event,
                &customer.id,
                &event_payload(&customer, None),
                now,
            )
            .await?;
            record_operation(work.conn(), description, caller, &customer, now).await
        })
        .await
}

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
    let ran = create_customer(&state, &caller.principal, mutation.write(&body.raw), new).await?;
    Ok(answer(ran))
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
    let ran = create_customer(&state, &caller.principal, mutation.write(&body.raw), new).await?;
    Ok(answer(ran))
}

#[derive(Debug, Clone, Copy)]
pub enum Change {
    Activate,
    Suspend,
    ResendInvitation,
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

/// Activates a SUSPENDED customer.
#[utoipa::path(post, path = "/billing/v1/customers/{customerId}:activate", tag = "yandex-billing", operation_id = "CustomerService_Activate",
    params(("customerId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = OperationView), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn activate(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    mutation: Mutation<Yandex>,
    Path(customer_id): Path<String>,
) -> Result<Response, ApiError<Yandex>> {
    Ok(answer(
        change_customer(
            &state,
            &caller.principal,
            mutation.write(b""),
            &customer_id,
            Change::Activate,
        )
        .await?,
    ))
}

/// Suspends an ACTIVE customer.
#[utoipa::path(post, path = "/billing/v1/customers/{customerId}:suspend", tag = "yandex-billing", operation_id = "CustomerService_Suspend",
    params(("customerId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = OperationView), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn suspend(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    mutation: Mutation<Yandex>,
    Path(customer_id): Path<String>,
) -> Result<Response, ApiError<Yandex>> {
    Ok(answer(
        change_customer(
            &state,
            &caller.principal,
            mutation.write(b""),
            &customer_id,
            Change::Suspend,
        )
        .await?,
    ))
}

/// Kopek extension: sends an INVITED customer a fresh invitation; older links stop working.
#[utoipa::path(post, path = "/billing/v1/customers/{customerId}:resendInvitation", tag = "yandex-billing", operation_id = "CustomerService_ResendInvitation",
    params(("customerId" = String, Path), ("Idempotency-Key" = Option<String>, Header)),
    responses((status = 200, body = OperationView), (status = "4XX", body = super::status::Status)),
    security(("bearer" = [])))]
pub async fn resend_invitation(
    State(state): State<AppState>,
    caller: Caller<Yandex>,
    mutation: Mutation<Yandex>,
    Path(customer_id): Path<String>,
) -> Result<Response, ApiError<Yandex>> {
    Ok(answer(
        change_customer(
            &state,
            &caller.principal,
            mutation.write(b""),
            &customer_id,
            Change::ResendInvitation,
        )
        .await?,
    ))
}

/// Activates, suspends or re-invites a customer. Shared by REST and gRPC.
pub async fn change_customer(
    state: &AppState,
    caller: &Principal,
    write: Write,
    customer_id: &str,
    change: Change,
) -> Result<Ran<OperationView>, Error> {
    write
        .run(caller, StatusCode::OK.as_u16(), async |work| {
            // Read inside the write transaction, so the state checked is the state changed.
            let mut customer = visible_customer(work.conn(), caller, customer_id).await?;
            let now = Timestamp::now();
            let previous = customer.state;
            let (next, event, description) = match change {
                Change::Activate => (
                    previous.activate()?,
                    "customer.activated",
                    "Activate customer",
                ),
                Change::Suspend => (
                    previous.suspend()?,
                    "customer.suspended",
                    "Suspend customer",
                ),
                Change::ResendInvitation => (
                    previous.resend_invitation()?,
                    "customer.invitation_resent",
                    "Resend customer invitation",
                ),
            };
            match change {
                Change::Activate | Change::Suspend => {
                    if !customers::transition(work.conn(), &customer, previous, next, now).await? {
                        return Err(Error::FailedPrecondition(
                            "The customer changed state meanwhile; read it and try again"
                                .to_owned(),
                        ));
                    }
                    customer.state = next;
                }
                Change::ResendInvitation => {
                    let email = customer.invitation_email.clone().ok_or_else(|| {
                        Error::FailedPrecondition(
                            "The customer was not invited by email".to_owned(),
                        )
                    })?;
                    let reseller = billing_accounts::get(
                        work.conn(),
                        AccountKind::Reseller,
                        &customer.reseller_id,
                    )
                    .await?
                    .ok_or_else(|| Error::internal("customer without reseller"))?;
                    kopek_store::invitations::supersede_open(work.conn(), &customer.id, now)
                        .await?;
                    invitations::issue(
                        work.conn(),
                        state.settings(),
                        &customer,
                        &email,
                        &reseller.name,
                        now,
                    )
                    .await?;
                }
            }
            events::record(
                work.conn(),
                event,
                &customer.id,
                &event_payload(&customer, Some(previous)),
                now,
            )
            .await?;
            record_operation(work.conn(), description, caller, &customer, now).await
        })
        .await
}

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
    let list = list_customers(
        &state,
        &caller.principal,
        &query.value.reseller_id.unwrap_or_default(),
        &page.value,
    )
    .await?;
    Ok(Json(list))
}

/// One page of a reseller's customers. Shared by REST and gRPC.
pub async fn list_customers(
    state: &AppState,
    caller: &Principal,
    reseller_id: &str,
    query: &PageQuery,
) -> Result<ListCustomersResponse, Error> {
    id_rule("resellerId", reseller_id).map_err(|e| Error::Validation(vec![e]))?;
    let key = state.store.page_key();
    let page = query.page(key, format!("customers:{reseller_id}"))?;
    let mut conn = state.store.conn().await?;
    reseller_for(&mut conn, caller, reseller_id).await?;
    let mut rows = customers::list(
        &mut conn,
        reseller_id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(key, &mut rows, |c| c.id.as_str());
    Ok(ListCustomersResponse {
        customers: rows.iter().map(CustomerView::from).collect(),
        next_page_token,
    })
}
