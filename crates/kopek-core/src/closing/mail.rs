//! The mail that carries a new closing document to the organization's billing
//! contact, queued in the outbox of the transaction that issued the document (so
//! a rolled-back issue sends nothing). The files are rendered when the mail is
//! sent, from the stored document, by whoever handles [`MAIL`].

use kopek_domain::Error;
use kopek_domain::lang::Lang;
use kopek_domain::money::Money;
use kopek_store::closing_documents::ClosingDocument;
use kopek_store::organizations::Organization;
use kopek_store::{Conn, outbox};
use serde::{Deserialize, Serialize};

/// The outbox kind of a closing document's mail, whose payload is a
/// [`DocumentMail`].
pub const MAIL: &str = "mail.closing_document";

/// A closing document's mail: its text, and the document whose PDF and XML go
/// with it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DocumentMail {
    pub to: String,
    pub subject: String,
    pub text: String,
    pub closing_document_id: String,
    pub lang: String,
}

impl DocumentMail {
    pub fn lang(&self) -> Lang {
        Lang::parse(&self.lang).unwrap_or_default()
    }
}

/// Why a document is mailed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Why {
    Issued,
    /// A correction, because the invoice was refunded.
    Refunded,
    /// A correction, because the subscription ended before its period did.
    Canceled,
}

/// Queues the mail of `doc` when the organization has a billing e-mail and the
/// document names its seller: one without (a server whose `KOPEK_SELLER_*` are
/// not set yet) is of no use to the buyer's accountant, and is not sent.
pub(super) async fn queue(
    conn: &mut Conn,
    org: &Organization,
    doc: &ClosingDocument,
    why: Why,
) -> Result<(), Error> {
    let Some(to) = org.billing_email.as_ref() else {
        return Ok(());
    };
    if !doc.seller.is_named() {
        return Ok(());
    }
    let (subject, text) = compose(org.language, doc, why);
    let mail = DocumentMail {
        to: to.to_string(),
        subject,
        text,
        closing_document_id: doc.id.clone(),
        lang: org.language.as_str().to_owned(),
    };
    let payload = serde_json::to_value(&mail).map_err(Error::internal)?;
    outbox::enqueue(conn, MAIL, &payload).await?;
    Ok(())
}

fn compose(lang: Lang, doc: &ClosingDocument, why: Why) -> (String, String) {
    let number = &doc.number;
    let date = &doc.issued_on;
    let money = |minor: i64| format!("{} {}", Money::new(minor, doc.currency), doc.currency);
    let company = &doc.buyer.name;
    let (subject, body) = match why {
        Why::Issued => (
            lang.pick(
                format!("Closing document (УПД) {number} of {date}"),
                format!("УПД № {number} от {date}"),
            ),
            lang.pick(
                format!(
                    "Attached is the universal transfer document (УПД) {number} of {date} \
                     for {company}: {}.\n\nThe PDF is for printing; the XML, in the tax \
                     service's format 5.03, is for your EDO operator or for loading into 1C.",
                    money(doc.total)
                ),
                format!(
                    "Во вложении универсальный передаточный документ (УПД) № {number} от \
                     {date} для {company} на сумму {}.\n\nPDF — для печати; XML в формате \
                     ФНС 5.03 — для загрузки оператору ЭДО или в 1С.",
                    money(doc.total)
                ),
            ),
        ),
        Why::Refunded | Why::Canceled => {
            let reason = match why {
                Why::Refunded => lang.pick("The invoice was refunded", "Счёт возвращён"),
                _ => lang.pick(
                    "The subscription ended before its paid period did",
                    "Подписка прекращена до конца оплаченного периода",
                ),
            };
            let less = money(-doc.total);
            (
                lang.pick(
                    format!("Correction (УКД) {number} of {date}"),
                    format!("УКД № {number} от {date}"),
                ),
                lang.pick(
                    format!(
                        "{reason}, so the closing document issued for it is corrected by the \
                         adjustment document (УКД) {number} of {date} for {company}: the \
                         amount is reduced by {less}. The PDF is attached."
                    ),
                    format!(
                        "{reason}, поэтому выданный документ исправлен корректировочным \
                         документом (УКД) № {number} от {date} для {company}: сумма \
                         уменьшена на {less}. PDF во вложении."
                    ),
                ),
            )
        }
    };
    (subject, crate::letter::letter(lang, &body))
}
