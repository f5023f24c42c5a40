//! Sending mail: over SMTP when `KOPEK_SMTP_URL` is set, otherwise as `.eml` files
//! in the data directory (so a fresh server needs nothing to "send").

use anyhow::Context;
use async_trait::async_trait;
use kopek_domain::time::Timestamp;
use kopek_store::Store;
use kopek_store::invitations::{self, Mail};
use kopek_store::outbox::Handler;
use lettre::message::Mailbox;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Attachment, Body, MultiPart, SinglePart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::PathBuf;

#[derive(Clone)]
pub enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Files(PathBuf),
}

/// Clones share the SMTP connection pool.
#[derive(Clone)]
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

    /// A mail in plain text with an HTML alternative made from it. The error text is
    /// safe to record (no credentials).
    pub async fn send(&self, to: &str, subject: &str, text: &str) -> Result<(), String> {
        self.send_with(to, subject, text, Vec::new()).await
    }

    /// [`Mailer::send`] with files attached.
    pub async fn send_with(
        &self,
        to: &str,
        subject: &str,
        text: &str,
        files: Vec<kopek_api::closing::File>,
    ) -> Result<(), String> {
        let recipient: Mailbox = to.parse().map_err(|e| format!("bad recipient: {e}"))?;
        // An SMTP server may lack 8BITMIME, which lettre then refuses to use; files
        // are read by people and tools that take 8-bit text.
        let eight_bit = matches!(self.transport, Transport::Files(_));
        let alternative = MultiPart::alternative()
            .singlepart(part(ContentType::TEXT_PLAIN, text.to_owned(), eight_bit))
            .singlepart(part(ContentType::TEXT_HTML, html(text), eight_bit));
        let body = if files.is_empty() {
            alternative
        } else {
            let mut mixed = MultiPart::mixed().multipart(alternative);
            for f in files {
                let content_type = ContentType::parse(f.content_type)
                    .map_err(|e| format!("content type {}: {e}", f.content_type))?;
                // Base64 whatever the bytes: a windows-1251 XML must reach the
                // reader byte for byte.
                let body = Body::new_with_encoding(f.bytes, ContentTransferEncoding::Base64)
                    .map_err(|_| format!("cannot encode {}", f.name))?;
                mixed = mixed.singlepart(Attachment::new(f.name).body(body, content_type));
            }
            mixed
        };
        let message = Message::builder()
            .from(self.from.clone())
            .to(recipient)
            .subject(subject)
            .multipart(body)
            .map_err(|e| format!("cannot build the mail: {e}"))?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.map_err(|e| format!("SMTP: {e}"))?;
                tracing::info!(to, subject, "mail sent");
                Ok(())
            }
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
                    .map_err(|e| format!("renaming to {}: {e}", path.display()))?;
                tracing::info!(to, subject, file = %path.display(), "mail written");
                Ok(())
            }
        }
    }
}

/// A body part whose lines reach the reader whole, so that a link is one line of
/// the raw mail (quoted-printable would break it every 76 characters, and lettre
/// picks that for any line over 76): 7-bit text when it is ASCII, 8-bit text when
/// the transport takes it. RFC 5322 allows 998 bytes a line. Otherwise, and for a
/// NUL, lettre chooses the encoding.
fn part(content_type: ContentType, body: String, eight_bit: bool) -> SinglePart {
    let builder = SinglePart::builder().header(content_type);
    let encoding = if body.is_ascii() {
        ContentTransferEncoding::SevenBit
    } else {
        ContentTransferEncoding::EightBit
    };
    let whole = body.lines().all(|l| l.len() <= 998) && !body.contains('\0');
    if !whole || (encoding == ContentTransferEncoding::EightBit && !eight_bit) {
        return builder.body(body);
    }
    let crlf = body.replace("\r\n", "\n").replace('\n', "\r\n");
    builder.body(Body::dangerous_pre_encoded(crlf.into_bytes(), encoding))
}

/// The HTML alternative of a plain-text mail: paragraphs at blank lines, line breaks
/// kept, and every `http(s)://` link made clickable. Each line of the text is a
/// line of the HTML too, so no line grows past what 8-bit mail carries.
fn html(text: &str) -> String {
    let paragraphs = text.split("\n\n").filter(|p| !p.trim().is_empty());
    maud::html! {
        (maud::DOCTYPE)
        html {
            head { meta charset="utf-8"; }
            body style="font-family:sans-serif" {
                @for paragraph in paragraphs {
                    p {
                        @for (i, line) in paragraph.lines().enumerate() {
                            @if i > 0 { br; (maud::PreEscaped("\n")) }
                            @for (j, word) in line.split(' ').enumerate() {
                                @if j > 0 { " " }
                                @if word.starts_with("https://") || word.starts_with("http://") {
                                    a href=(word) { (word) }
                                } @else {
                                    (word)
                                }
                            }
                        }
                    }
                    (maud::PreEscaped("\n"))
                }
            }
        }
    }
    .into_string()
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

/// Tells the operator that Kopek disabled a webhook endpoint.
pub struct OperatorMailer {
    pub mailer: Mailer,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct EndpointDisabled {
    to: String,
    endpoint_id: String,
    url: String,
    reason: Option<String>,
}

#[async_trait]
impl Handler for OperatorMailer {
    async fn handle(&self, payload: &str) -> Result<(), String> {
        let mail: EndpointDisabled =
            serde_json::from_str(payload).map_err(|e| format!("bad payload: {e}"))?;
        let text = format!(
            "Kopek disabled the webhook endpoint {} ({}): {}.\n\n\
             Its deliveries stay in its log. Once the receiver works again, enable the \
             endpoint (PATCH /admin/v1/webhook-endpoints/{} with {{\"enabled\": true}}) \
             and resend what it missed.\n",
            mail.endpoint_id,
            mail.url,
            mail.reason.as_deref().unwrap_or("every delivery failed"),
            mail.endpoint_id,
        );
        self.mailer
            .send(&mail.to, "Kopek: a webhook endpoint was disabled", &text)
            .await
    }
}

/// Sends the mails about renewals that the core composed (see
/// `kopek_core::subscriptions::BillingMail`).
pub struct BillingMailer {
    pub mailer: Mailer,
}

#[async_trait]
impl Handler for BillingMailer {
    async fn handle(&self, payload: &str) -> Result<(), String> {
        let mail: kopek_core::subscriptions::BillingMail =
            serde_json::from_str(payload).map_err(|e| format!("bad payload: {e}"))?;
        self.mailer.send(&mail.to, &mail.subject, &mail.text).await
    }

    fn sensitive(&self) -> bool {
        // The payment links carry their tokens.
        true
    }
}

/// Sends a new closing document to the organization's billing contact with its
/// PDF and, when it can be made, its XML attached (see
/// `kopek_core::closing::DocumentMail`); the files are rendered now, from the
/// stored document, as a download would give them.
pub struct ClosingMailer {
    pub core: kopek_core::Core,
    pub mailer: Mailer,
}

#[async_trait]
impl Handler for ClosingMailer {
    async fn handle(&self, payload: &str) -> Result<(), String> {
        use kopek_api::closing::{pdf, xml};
        let mail: kopek_core::closing::DocumentMail =
            serde_json::from_str(payload).map_err(|e| format!("bad payload: {e}"))?;
        let d = kopek_core::closing::download(&self.core, &mail.closing_document_id, None)
            .await
            .map_err(|e| e.to_string())?;
        let upd = d.listed.document.kind == "upd";
        let lang = mail.lang();
        let mut text = mail.text;
        let xml = match xml(&d) {
            Ok(file) => Some(file),
            // A correction's mail says that only its PDF comes.
            Err(_) if !upd => None,
            Err(why) => {
                text.push_str(&lang.pick(
                    format!("\nThe XML is not attached: {why}.\n"),
                    format!("\nXML не приложен: {why}.\n"),
                ));
                None
            }
        };
        let pdf = pdf(d).await.map_err(|e| e.to_string())?;
        let files = std::iter::once(pdf).chain(xml).collect();
        self.mailer
            .send_with(&mail.to, &mail.subject, &text, files)
            .await
    }
}
