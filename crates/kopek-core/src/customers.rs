//! Customers of a reseller (Yandex Cloud Billing's CustomerService): invited or
//! created served, then activated, suspended or invited again. Each change is a
//! long-running operation finished inside its call, an event, and for invitations
//! a mail in the outbox.
//!
//! Who sees what: an admin acts for every reseller; a reseller only for its own.
//! A reseller asking about anything not its own (another reseller's customer, or
//! an id that does not exist) is `Forbidden` either way, so ids cannot be probed;
//! an admin gets `NotFound` for ids that do not exist.

use crate::Core;
use crate::events::{self, Subject};
use crate::invitations;
use crate::paging::PageQuery;
use crate::write::{Ran, Write};
use kopek_domain::Error;
use kopek_domain::auth::{Principal, Role};
use kopek_domain::customer::{CustomerState, NewCustomer, Onboarding, id_rule};
use kopek_domain::ids::{BillingAccountId, CustomerId, prefix, yc_id};
use kopek_domain::money::Money;
use kopek_domain::time::Timestamp;
use kopek_store::Conn;
use kopek_store::billing_accounts::{self, AccountKind, BillingAccount};
use kopek_store::customers::{self, Customer};
use kopek_store::operations::{self, Operation};
use serde::Serialize;
use serde_json::{Value, json};

/// The `@type`s of the operation's metadata and response, as `google.protobuf.Any`
/// names them: operations are stored in the shape Yandex's Operation carries.
pub const CUSTOMER_METADATA: &str = "type.googleapis.com/yandex.cloud.billing.v1.CustomerMetadata";
pub const CUSTOMER: &str = "type.googleapis.com/yandex.cloud.billing.v1.Customer";

pub fn customer_any(c: &Customer) -> Value {
    json!({"@type": CUSTOMER, "id": c.id, "billingAccountId": c.billing_account_id})
}

pub fn customer_metadata(c: &Customer) -> Value {
    json!({"@type": CUSTOMER_METADATA, "resellerId": c.reseller_id, "customerId": c.id})
}

/// The reseller a caller acts for, checked against the caller's scope.
pub async fn reseller_for(
    conn: &mut Conn,
    caller: &Principal,
    reseller_id: &BillingAccountId,
) -> Result<BillingAccount, Error> {
    if !caller.may_act_for(Role::Reseller, reseller_id.as_str()) {
        return Err(Error::Forbidden);
    }
    billing_accounts::get(conn, AccountKind::Reseller, reseller_id)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "reseller",
            id: reseller_id.to_string(),
        })
}

/// A customer the caller may touch (see the module notes for what others get).
pub async fn visible_customer(
    conn: &mut Conn,
    caller: &Principal,
    customer_id: &str,
) -> Result<Customer, Error> {
    id_rule("customerId", customer_id).map_err(|e| Error::Validation(vec![e]))?;
    match customers::get(conn, &CustomerId::from(customer_id)).await? {
        Some(c) if caller.may_act_for(Role::Reseller, c.reseller_id.as_str()) => Ok(c),
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
) -> Result<Operation, Error> {
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
    Ok(op)
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

/// What an existing customer's change is.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Activate,
    Suspend,
    ResendInvitation,
}

/// Creates the customer (Yandex's Invite and CreateResellerServed) with its own
/// billing account; for an invitation also the invitation and its mail. The
/// operation is done when returned; `answer` renders it for the caller's wire.
pub async fn create<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    new: NewCustomer,
    status: u16,
    answer: impl FnOnce(&Operation) -> T,
) -> Result<Ran<T>, Error> {
    if let Some(stored) = write.replay(caller).await? {
        return Ok(Ran::Replayed(stored));
    }
    let mut conn = core.store.conn().await?;
    let reseller = reseller_for(&mut conn, caller, &new.reseller_id).await?;
    drop(conn);
    new.check_phone(&reseller.country_code)?;
    write
        .run(caller, status, async |work| {
            let now = Timestamp::now();
            let customer_state = match new.onboarding {
                Onboarding::Invite => CustomerState::Invited,
                Onboarding::ResellerServed => CustomerState::Active,
            };
            let account = BillingAccount {
                id: BillingAccountId::generate(),
                kind: AccountKind::Customer,
                name: new.name.clone(),
                country_code: reseller.country_code.clone(),
                active: customer_state.account_active(),
                balance: Money::zero(reseller.balance.currency()),
                reseller_id: Some(reseller.id.clone()),
                created_at: now,
            };
            billing_accounts::insert(work.conn(), &account).await?;
            let customer = Customer {
                id: CustomerId::generate(),
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
                        &core.settings,
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
                core,
                work.conn(),
                event,
                Subject::Customer(&customer),
                &event_payload(&customer, None),
                now,
            )
            .await?;
            let op = record_operation(work.conn(), description, caller, &customer, now).await?;
            Ok(answer(&op))
        })
        .await
}

/// Activates, suspends or re-invites a customer; the operation is done when
/// returned, and `answer` renders it for the caller's wire.
pub async fn change<T: Serialize>(
    core: &Core,
    write: Write,
    caller: &Principal,
    customer_id: &str,
    change: Change,
    status: u16,
    answer: impl FnOnce(&Operation) -> T,
) -> Result<Ran<T>, Error> {
    write
        .run(caller, status, async |work| {
            // Read inside the write transaction, so the state checked is the state changed.
            let mut customer = visible_customer(work.conn(), caller, customer_id).await?;
            work.before(|| event_payload(&customer, None))?;
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
                        &core.settings,
                        &customer,
                        &email,
                        &reseller.name,
                        now,
                    )
                    .await?;
                }
            }
            events::record(
                core,
                work.conn(),
                event,
                Subject::Customer(&customer),
                &event_payload(&customer, Some(previous)),
                now,
            )
            .await?;
            let op = record_operation(work.conn(), description, caller, &customer, now).await?;
            Ok(answer(&op))
        })
        .await
}

/// One page of a reseller's customers, and the next page's token (empty on the
/// last).
pub async fn list(
    core: &Core,
    caller: &Principal,
    reseller_id: &str,
    query: &PageQuery,
) -> Result<(Vec<Customer>, String), Error> {
    id_rule("resellerId", reseller_id).map_err(|e| Error::Validation(vec![e]))?;
    let key = core.store.page_key();
    let page = query.page(key, format!("customers:{reseller_id}"))?;
    let reseller_id = BillingAccountId::from(reseller_id);
    let mut conn = core.store.conn().await?;
    reseller_for(&mut conn, caller, &reseller_id).await?;
    let mut rows = customers::list(
        &mut conn,
        &reseller_id,
        page.after.as_deref(),
        page.fetch_limit(),
    )
    .await?;
    let next_page_token = page.finish(key, &mut rows, |c| c.id.as_str());
    Ok((rows, next_page_token))
}

/// The newest invitation of each of `customers` that was invited, with how its
/// mail went (the operator's console).
pub async fn newest_invitations(
    core: &Core,
    customers: &[CustomerId],
) -> Result<Vec<kopek_store::invitations::Invitation>, Error> {
    let mut conn = core.store.conn().await?;
    kopek_store::invitations::newest_of(&mut conn, customers).await
}

/// A customer the caller may see.
pub async fn get(core: &Core, caller: &Principal, customer_id: &str) -> Result<Customer, Error> {
    let mut conn = core.store.conn().await?;
    visible_customer(&mut conn, caller, customer_id).await
}
