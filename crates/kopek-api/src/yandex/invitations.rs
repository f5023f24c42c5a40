//! Issuing an invitation: a fresh single-use token (only its hash is stored) and
//! the mail that carries the link, queued in the outbox of the same transaction.

use kopek_core::Settings;
use kopek_domain::Error;
use kopek_domain::auth::SecretToken;
use kopek_domain::ids::{prefix, yc_id};
use kopek_domain::time::Timestamp;
use kopek_store::Conn;
use kopek_store::customers::Customer;
use kopek_store::invitations::{self, Invitation, Mail};
use kopek_store::outbox;

pub async fn issue(
    conn: &mut Conn,
    config: &Settings,
    customer: &Customer,
    email: &str,
    reseller_name: &str,
    now: Timestamp,
) -> Result<Invitation, Error> {
    let token = SecretToken::generate("inv_");
    let invitation = Invitation {
        id: yc_id(prefix::INVITATION),
        customer_id: customer.id.clone(),
        email: email.to_owned(),
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
        to: email.to_owned(),
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
    outbox::enqueue(conn, invitations::MAIL_KIND, &payload, now).await?;
    Ok(invitation)
}
