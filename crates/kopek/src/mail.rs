//! Sending mail: over SMTP when `KOPEK_SMTP_URL` is set, otherwise as `.eml` files
//! in the data directory (so a fresh server needs nothing to "send").

use anyhow::Context;
use async_trait::async_trait;
use kopek_domain::time::Timestamp;
use kopek_store::Store;
use kopek_store::invitations::{self, Mail};
use kopek_store::outbox::Handler;
use lettre::message::Mailbox;
use lettre::message::SinglePart;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

pub struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    pub fn new(smtp_url: Option<&str>, files: PathBuf, from: &str) -> anyhow::Result<Mailer> {
        let transport = match smtp_url {
            Some(url) => Transport::Smtp(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .context("KOPEK_SMTP_URL is not a valid smtp:// or smtps:// URL")?
                    .build(),
            ),
            None => Transport::Files(files),
        };
        let from = from
            .parse()
            .with_context(|| format!("KOPEK_MAIL_FROM {from:?} is not a mailbox"))?;
        Ok(Mailer { transport, from })
    }

    /// A plain-text mail. The error text is safe to record (no credentials).
    pub async fn send(&self, to: &str, subject: &str, text: &str) -> Result<(), String> {
        let to: Mailbox = to.parse().map_err(|e| format!("bad recipient: {e}"))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            // Quoted-printable keeps links readable in the raw mail and is safe
            // for any relay.
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::QuotedPrintable)
                    .body(text.to_owned()),
            )
            .map_err(|e| format!("cannot build the mail: {e}"))?;
        match &self.transport {
            Transport::Smtp(smtp) => smtp
                .send(message)
                .await
                .map(drop)
                .map_err(|e| format!("SMTP: {e}")),
            Transport::Files(dir) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(|e| format!("creating {}: {e}", dir.display()))?;
                // Written under another name first, so that whoever picks up
                // `*.eml` files never reads half a mail.
                let name = uuid::Uuid::now_v7();
                let path = dir.join(format!("{name}.eml"));
                let partial = dir.join(format!("{name}.eml.partial"));
                tokio::fs::write(&partial, message.formatted())
                    .await
                    .map_err(|e| format!("writing {}: {e}", partial.display()))?;
                tokio::fs::rename(&partial, &path)
                    .await
                    .map_err(|e| format!("renaming to {}: {e}", path.display()))
            }
        }
    }
}

/// Sends invitation mails from the outbox and records the delivery on the invitation.
pub struct InvitationMailer {
    pub store: Store,
    pub mailer: Mailer,
}

#[async_trait]
impl Handler for InvitationMailer {
    async fn handle(&self, payload: &str) -> Result<(), String> {
        let mail: Mail = serde_json::from_str(payload).map_err(|e| format!("bad payload: {e}"))?;
        let outcome = self.mailer.send(&mail.to, &mail.subject, &mail.text).await;
        let mut conn = self.store.conn().await.map_err(|e| e.to_string())?;
        invitations::record_delivery(
            &mut conn,
            &mail.invitation_id,
            outcome.as_ref().map(|_| ()).map_err(String::as_str),
            Timestamp::now(),
        )
        .await
        .map_err(|e| e.to_string())?;
        outcome
    }

    fn sensitive(&self) -> bool {
        true
    }
}
