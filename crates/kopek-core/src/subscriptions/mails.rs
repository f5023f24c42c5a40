//! The mails an organization's billing contact gets about its renewals, in the
//! organization's language, queued in the outbox of the transaction that decided
//! to send them (so a rolled-back step sends nothing).

use crate::Core;
use crate::invoices::payment_links;
use kopek_domain::Error;
use kopek_domain::time::Timestamp;
use kopek_store::invoices::Invoice;
use kopek_store::organizations::{self, Organization};
use kopek_store::subscriptions::Subscription;
use kopek_store::{Conn, outbox};
use serde::Serialize;

/// The outbox kind of a billing mail, whose payload is a [`BillingMail`].
pub const BILLING_MAIL: &str = "mail.billing";

/// A mail ready to send.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct BillingMail {
    pub to: String,
    pub subject: String,
    pub text: String,
}

/// Why the billing contact is written to.
#[derive(Debug, Clone, Copy)]
pub(super) enum Notice {
    /// The renewal invoice was issued.
    Invoiced,
    /// The renewal invoice is unpaid this many days before the end.
    Reminder(u8),
    /// The period ended unpaid; the license works until this instant.
    PastDue(Timestamp),
    /// The grace days passed unpaid.
    Expired,
}

/// [`send_to`] the subscription's organization, read here.
pub(super) async fn send(
    core: &Core,
    conn: &mut Conn,
    s: &Subscription,
    invoice: &Invoice,
    notice: Notice,
) -> Result<Option<String>, Error> {
    let org = organizations::get(&mut *conn, &s.organization_guid)
        .await?
        .ok_or_else(|| Error::internal("subscription without organization"))?;
    send_to(core, conn, &org, s, invoice, notice).await
}

/// Queues the mail of `notice` about `invoice` to the organization's billing
/// contact; answers the address written to (none when the organization has no
/// billing contact).
pub(super) async fn send_to(
    core: &Core,
    conn: &mut Conn,
    org: &Organization,
    s: &Subscription,
    invoice: &Invoice,
    notice: Notice,
) -> Result<Option<String>, Error> {
    let Some(mail) = mail(core, org, s, invoice, notice) else {
        return Ok(None);
    };
    let payload = serde_json::to_value(&mail).map_err(Error::internal)?;
    outbox::enqueue(conn, BILLING_MAIL, &payload).await?;
    Ok(Some(mail.to))
}

/// The mail of `notice` to the organization's billing contact, if it has one.
pub(super) fn mail(
    core: &Core,
    org: &Organization,
    s: &Subscription,
    invoice: &Invoice,
    notice: Notice,
) -> Option<BillingMail> {
    let to = org.billing_email.as_ref()?.to_string();
    let (subject, text) = compose(core, org, s, invoice, notice);
    Some(BillingMail { to, subject, text })
}

fn compose(
    core: &Core,
    org: &Organization,
    s: &Subscription,
    invoice: &Invoice,
    notice: Notice,
) -> (String, String) {
    let lang = org.language;
    let what = invoice
        .quote
        .positions
        .first()
        .map_or(s.product_guid.as_str(), |p| p.name.as_str());
    let company = &org.company.name;
    let end = s.current_period_end.date();
    let number = &invoice.number;
    let total = format!("{} {}", invoice.quote.total, invoice.currency());
    let (card, transfer) = payment_links(
        &core.settings.public_url,
        core.store.page_key(),
        &invoice.guid,
    );
    let pay = lang.pick(
        format!("Pay by card: {card}\nPay by bank transfer: {transfer}"),
        format!("Оплатить картой: {card}\nОплатить по счёту (безналичный расчёт): {transfer}"),
    );
    let (subject, body) = match notice {
        Notice::Invoiced => (
            lang.pick(
                format!("Invoice {number} to renew {what}"),
                format!("Счёт {number} на продление: {what}"),
            ),
            lang.pick(
                format!(
                    "The subscription of {company} to {what} ends on {end}. Invoice {number} \
                     for the next period is {total}.\n\n{pay}"
                ),
                format!(
                    "Подписка {company} на {what} заканчивается {end}. Выставлен счёт {number} \
                     на следующий период: {total}.\n\n{pay}"
                ),
            ),
        ),
        Notice::Reminder(days) => (
            lang.pick(
                format!("Reminder: {what} ends in {days} {}", plural_en(days)),
                format!(
                    "Напоминание: {what} заканчивается через {days} {}",
                    plural_ru(days)
                ),
            ),
            lang.pick(
                format!(
                    "Invoice {number} ({total}) for the next period of {what} is not paid \
                     yet; the subscription of {company} ends on {end}.\n\n{pay}"
                ),
                format!(
                    "Счёт {number} ({total}) на следующий период ({what}) ещё не оплачен; \
                     подписка {company} заканчивается {end}.\n\n{pay}"
                ),
            ),
        ),
        Notice::PastDue(until) => {
            let until = until.date();
            (
                lang.pick(
                    format!("{what} has ended: pay invoice {number} by {until}"),
                    format!("{what}: период закончился, оплатите счёт {number} до {until}"),
                ),
                lang.pick(
                    format!(
                        "The paid period of {company} for {what} ended on {end}. The license \
                         keeps working until {until}; pay invoice {number} ({total}) by then \
                         to keep it.\n\n{pay}"
                    ),
                    format!(
                        "Оплаченный период {company} ({what}) закончился {end}. Лицензия \
                         действует до {until}; чтобы сохранить её, оплатите счёт {number} \
                         ({total}) до этого дня.\n\n{pay}"
                    ),
                ),
            )
        }
        Notice::Expired => (
            lang.pick(
                format!("{what} has expired"),
                format!("{what}: подписка прекращена"),
            ),
            lang.pick(
                format!(
                    "Invoice {number} was not paid, so the subscription of {company} to \
                     {what} has expired and the invoice is canceled. To subscribe again, \
                     order it anew."
                ),
                format!(
                    "Счёт {number} не оплачен, поэтому подписка {company} на {what} \
                     прекращена, а счёт аннулирован. Чтобы подключиться снова, оформите \
                     новый заказ."
                ),
            ),
        ),
    };
    (subject, crate::letter::letter(lang, &body))
}

fn plural_en(days: u8) -> &'static str {
    if days == 1 { "day" } else { "days" }
}

/// The Russian noun after a number: 1 день, 3 дня, 5 дней (and 11–14 дней).
fn plural_ru(days: u8) -> &'static str {
    match (days % 10, days % 100) {
        (_, 11..=14) => "дней",
        (1, _) => "день",
        (2..=4, _) => "дня",
        _ => "дней",
    }
}

#[cfg(test)]
mod tests {
    use super::plural_ru;

    #[test]
    fn russian_day_nouns_agree_with_the_number() {
        let words: Vec<_> = [1, 2, 3, 5, 11, 12, 21, 22, 25].map(plural_ru).into();
        assert_eq!(
            words,
            [
                "день", "дня", "дня", "дней", "дней", "дней", "день", "дня", "дней"
            ]
        );
    }
}
