//! Invitations: issued with a fresh single-use token (only its hash is stored) and
//! the mail that carries the link, queued in the outbox of the same transaction;
//! opened and accepted through that link.

use crate::events::{self, Subject};
use crate::{Core, Settings};
use kopek_domain::Error;
use kopek_domain::auth::{SecretToken, hash_token};
use kopek_domain::contact::Email;
use kopek_domain::customer::CustomerState;
use kopek_domain::ids::{prefix, yc_id};
use kopek_domain::time::Timestamp;
use kopek_store::billing_accounts::{self, AccountKind, BillingAccount};
use kopek_store::customers::{self, Customer};
use kopek_store::invitations::{self, Invitation, Mail, Unusable};
use kopek_store::{Conn, outbox};
use serde_json::json;

pub async fn issue(
    conn: &mut Conn,
    config: &Settings,
    customer: &Customer,
    email: &Email,
    reseller_name: &str,
    now: Timestamp,
) -> Result<Invitation, Error> {
    let token = SecretToken::generate("inv_");
    let invitation = Invitation {
        id: yc_id(prefix::INVITATION),
        customer_id: customer.id.clone(),
        email: email.clone(),
        created_at: now,
        expires_at: now.plus_seconds(config.invitation_ttl_seconds),
        used_at: None,
        superseded_at: None,
        delivery_state: "pending".to_owned(),
        delivered_at: None,
        delivery_error: None,
    };
    invitations::insert(&mut *conn, &invitation, &token.hash()).await?;
    let link = format!(
        "{}/invitations/{}",
        config.public_url.trim_end_matches('/'),
        token.expose()
    );
    let mail = Mail {
        invitation_id: invitation.id.clone(),
        to: email.to_string(),
        subject: format!("{reseller_name} invites {} to Kopek billing", customer.name),
        text: format!(
            "Hello,\n\n{reseller_name} invites {customer} to use its billing.\n\
             Open this link to accept the invitation:\n\n{link}\n\n\
             The link works once and until {expires}.\n\n\
             --\n\n\
             Здравствуйте!\n\n{reseller_name} приглашает {customer} подключиться к биллингу.\n\
             Чтобы принять приглашение, откройте ссылку:\n\n{link}\n\n\
             Ссылка одноразовая и действует до {expires}.\n",
            customer = customer.name,
            expires = invitation.expires_at.rfc3339(),
        ),
    };
    let payload = serde_json::to_value(&mail).map_err(Error::internal)?;
    outbox::enqueue(conn, invitations::MAIL_KIND, &payload).await?;
    Ok(invitation)
}

/// Why an invitation link cannot be accepted.
#[derive(Debug)]
pub enum Refusal {
    /// No invitation has this token.
    Unknown,
    /// Used, replaced by a newer one, or expired.
    Unusable(Unusable),
    /// The customer is no longer waiting for acceptance.
    NotInvited,
    Internal(Error),
}

impl From<Error> for Refusal {
    fn from(e: Error) -> Refusal {
        Refusal::Internal(e)
    }
}

/// The invitation of a token with its customer, if the link may still be used.
async fn usable(
    conn: &mut Conn,
    token: &str,
    now: Timestamp,
) -> Result<(Invitation, Customer), Refusal> {
    let invitation = invitations::find_by_token_hash(&mut *conn, &hash_token(token))
        .await?
        .ok_or(Refusal::Unknown)?;
    invitation.usable(now).map_err(Refusal::Unusable)?;
    let customer = customers::get(conn, &invitation.customer_id)
        .await?
        .ok_or_else(|| Refusal::Internal(Error::internal("invitation without customer")))?;
    if customer.state != CustomerState::Invited {
        return Err(Refusal::NotInvited);
    }
    Ok((invitation, customer))
}

/// What an open invitation link shows: the customer invited and the reseller
/// inviting it.
pub async fn open(core: &Core, token: &str) -> Result<(Customer, BillingAccount), Refusal> {
    let mut conn = core.store.conn().await?;
    let (_, customer) = usable(&mut conn, token, Timestamp::now()).await?;
    let reseller = billing_accounts::get(&mut conn, AccountKind::Reseller, &customer.reseller_id)
        .await?
        .ok_or_else(|| Refusal::Internal(Error::internal("customer without reseller")))?;
    Ok((customer, reseller))
}

/// Accepts the invitation of `token`: the customer becomes ACTIVE, once, with a
/// `customer.accepted` event. Of two racing accepts only the first succeeds.
pub async fn accept(core: &Core, token: &str) -> Result<Customer, Refusal> {
    let mut tx = core.store.begin().await?;
    let now = Timestamp::now();
    let (invitation, mut customer) = usable(&mut tx, token, now).await?;
    let next = customer.state.accept().map_err(|_| Refusal::NotInvited)?;
    // Both guards hold only for the first of two racing accepts.
    if !invitations::mark_used(&mut tx, &invitation.id, now).await?
        || !customers::transition(&mut tx, &customer, customer.state, next, now).await?
    {
        return Err(Refusal::Unusable(Unusable::Used));
    }
    customer.state = next;
    let payload = json!({
        "customerId": customer.id,
        "resellerId": customer.reseller_id,
        "billingAccountId": customer.billing_account_id,
        "state": next.as_str(),
        "previousState": CustomerState::Invited.as_str(),
        "invitationId": invitation.id,
    });
    events::record(
        core,
        &mut tx,
        "customer.accepted",
        Subject::Customer(&customer),
        &payload,
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(customer)
}
