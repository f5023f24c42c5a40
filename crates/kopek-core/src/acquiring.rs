//! Card payments through an acquirer, the redirect model: Kopek creates the
//! payment at the acquirer, sends the buyer to the acquirer's page, and learns
//! the outcome from its notification, which it never takes at its word: it asks
//! the acquirer's API and acts on what that says. Card data never passes through
//! Kopek. The acquirer itself (YooKassa) is an adapter beside the core, behind
//! [`Acquirer`].
//!
//! Every attempt is stored before the acquirer is asked, and its id is the
//! request's idempotency key, so a request whose answer was lost (a timeout, a
//! 500) is sent again as the same payment. An invoice has at most one open
//! attempt, so two clicks never make two payments; money that arrives for an
//! invoice that can no longer take it (paid another way meanwhile, or canceled)
//! is given back in full.

use crate::Core;
use crate::invoices::{self, Change};
use async_trait::async_trait;
use kopek_domain::Error;
use kopek_domain::card_payment::CardPaymentStatus;
use kopek_domain::contact::Email;
use kopek_domain::ids::InvoiceId;
use kopek_domain::invoice::InvoiceStatus;
use kopek_domain::money::Money;
use kopek_store::card_payments::{self, CardPayment};
use kopek_store::invoices::{self as invoice_rows, Invoice};

/// What an acquirer does for Kopek.
#[async_trait]
pub trait Acquirer: Send + Sync {
    /// The payment method its payments are recorded under (`yookassa`).
    fn name(&self) -> &'static str;
    /// Creates a payment; `key` makes a repeat of the request the same payment.
    async fn create(
        &self,
        key: &str,
        request: &PaymentRequest,
    ) -> Result<AcquiredPayment, AcquirerError>;
    /// The payment as the acquirer's API says it is now.
    async fn payment(&self, id: &str) -> Result<AcquiredPayment, AcquirerError>;
    /// Gives a payment back; `key` makes a repeat the same refund.
    async fn refund(
        &self,
        key: &str,
        request: &RefundRequest,
    ) -> Result<AcquiredRefund, AcquirerError>;
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRequest {
    pub amount: Money,
    pub description: String,
    /// Where the acquirer sends the buyer back.
    pub return_url: String,
    pub invoice: InvoiceId,
    /// Kopek's id of the attempt, kept by the acquirer with the payment.
    pub attempt: String,
    pub receipt: Receipt,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    pub payment_id: String,
    pub amount: Money,
    pub description: String,
    pub receipt: Receipt,
}

/// The fiscal receipt (54-FZ) the acquirer's cash register issues: who gets it,
/// and what was sold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub email: Email,
    pub items: Vec<ReceiptItem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptItem {
    pub description: String,
    pub quantity: i64,
    /// Per unit, VAT included.
    pub unit_price: Money,
    /// The VAT rate in basis points; 0 is "without VAT".
    pub vat_basis_points: i64,
}

impl Receipt {
    /// The invoice's positions, as a receipt for `email`.
    pub fn of(invoice: &Invoice, email: Email) -> Receipt {
        Receipt {
            email,
            items: invoice
                .quote
                .positions
                .iter()
                .map(|p| ReceiptItem {
                    description: p.name.clone(),
                    quantity: p.quantity,
                    unit_price: p.price,
                    vat_basis_points: invoice.quote.vat_basis_points,
                })
                .collect(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AcquiredState {
    /// Waiting for the buyer (or the bank).
    Pending,
    Succeeded,
    /// `party` canceled it (`merchant`, `yoo_money`, `payment_network`) for `reason`.
    Canceled {
        party: String,
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquiredPayment {
    pub id: String,
    pub state: AcquiredState,
    pub amount: Money,
    /// The page the buyer confirms the payment on, while it is pending.
    pub confirmation_url: Option<String>,
    /// Kopek's id of the attempt, as the acquirer kept it.
    pub attempt: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcquiredRefund {
    pub id: String,
    /// `pending`, `succeeded` or `canceled`.
    pub status: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcquirerError {
    /// No answer, or one that leaves the outcome unknown (a timeout, a 5xx): the
    /// same request, with the same key, may be sent again.
    #[error("the acquirer's answer is unknown: {0}")]
    Unknown(String),
    /// Refused: the same request would be refused again.
    #[error("the acquirer refused ({code}): {description}")]
    Refused { code: String, description: String },
}

/// How long a buyer or operator is asked to wait after the acquirer did not answer.
const RETRY_AFTER_SECONDS: u64 = 5;

impl From<AcquirerError> for Error {
    fn from(e: AcquirerError) -> Error {
        match e {
            AcquirerError::Unknown(cause) => Error::Unavailable {
                retry_after: RETRY_AFTER_SECONDS,
                outcome_unknown: true,
                cause,
            },
            AcquirerError::Refused { description, .. } => Error::FailedPrecondition(format!(
                "The payment service refused the request: {description}"
            )),
        }
    }
}

fn acquirer(core: &Core) -> Result<&dyn Acquirer, Error> {
    core.acquirer
        .as_deref()
        .ok_or_else(|| Error::internal("no acquirer is configured"))
}

/// What the buyer's page does after asking to pay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checkout {
    /// On to the acquirer's page.
    Redirect(String),
    /// The invoice is no longer payable (paid, perhaps just now): show it.
    Settled,
}

/// Starts paying `invoice` by card, or takes up its open attempt: the receipt
/// goes to `email` (an open attempt keeps its own), the acquirer sends the buyer
/// back to `return_url`. An attempt the acquirer canceled is followed by a new one.
pub async fn checkout(
    core: &Core,
    invoice: &InvoiceId,
    email: Email,
    return_url: String,
) -> Result<Checkout, Error> {
    let acquirer = acquirer(core)?;
    // Each round either answers or closes an attempt (canceled), so a few rounds
    // are enough unless attempts keep being canceled at once.
    for _ in 0..3 {
        let mut conn = core.store.conn().await?;
        let inv = read_invoice(&mut conn, invoice).await?;
        if inv.status != InvoiceStatus::Pending {
            return Ok(Checkout::Settled);
        }
        let attempt = match card_payments::open(&mut conn, invoice).await? {
            Some(open) => open,
            None => {
                let now = core.now();
                let made = CardPayment {
                    id: uuid::Uuid::new_v4().to_string(),
                    invoice_guid: invoice.clone(),
                    acquirer: acquirer.name().to_owned(),
                    status: CardPaymentStatus::Creating,
                    acquirer_payment_id: None,
                    amount: inv.quote.total,
                    receipt_email: email.clone(),
                    return_url: return_url.clone(),
                    confirmation_url: None,
                    cancel_party: None,
                    cancel_reason: None,
                    refund_id: None,
                    refund_status: None,
                    created_at: now,
                    updated_at: now,
                };
                if !card_payments::insert_open(&mut conn, &made).await? {
                    continue;
                }
                made
            }
        };
        drop(conn);
        let current = bring_up_to_date(core, acquirer, attempt, &inv).await?;
        match (current.status, current.confirmation_url) {
            (CardPaymentStatus::Pending, Some(url)) => return Ok(Checkout::Redirect(url)),
            (CardPaymentStatus::Pending, None) => {
                return Err(Error::internal(
                    "a pending payment without a confirmation page",
                ));
            }
            (CardPaymentStatus::Canceled, _) => continue,
            _ => return Ok(Checkout::Settled),
        }
    }
    Err(Error::Unavailable {
        retry_after: RETRY_AFTER_SECONDS,
        outcome_unknown: false,
        cause: "the acquirer canceled every new payment at once".to_owned(),
    })
}

/// The invoice's newest attempt, brought up to date from the acquirer while it is
/// open (the buyer's page asks on each view, so it shows the outcome even before
/// the acquirer's notification arrives). An acquirer that does not answer leaves
/// the attempt as stored.
pub async fn latest(core: &Core, invoice: &Invoice) -> Result<Option<CardPayment>, Error> {
    let Some(acquirer) = core.acquirer.as_deref() else {
        return Ok(None);
    };
    let mut conn = core.store.conn().await?;
    let Some(newest) = card_payments::of_invoice(&mut conn, &invoice.guid)
        .await?
        .into_iter()
        .next()
    else {
        return Ok(None);
    };
    drop(conn);
    if newest.status != CardPaymentStatus::Pending {
        return Ok(Some(newest));
    }
    match bring_up_to_date(core, acquirer, newest.clone(), invoice).await {
        Ok(current) => Ok(Some(current)),
        Err(Error::Unavailable { cause, .. }) => {
            tracing::warn!(error = %cause, "the acquirer did not say how a payment stands");
            Ok(Some(newest))
        }
        Err(e) => Err(e),
    }
}

/// Where the buyer's fiscal receipt goes unless the buyer says otherwise: the
/// paying organization's billing contact.
pub async fn receipt_email(core: &Core, invoice: &Invoice) -> Result<Option<Email>, Error> {
    let mut conn = core.store.conn().await?;
    let org = kopek_store::organizations::get(&mut conn, &invoice.organization_guid).await?;
    Ok(org.and_then(|o| o.billing_email))
}

/// The acquirer says something happened to its payment `id`: what its API says
/// about that payment is applied. A payment Kopek did not make is ignored (false).
pub async fn notified(core: &Core, id: &str) -> Result<bool, Error> {
    let acquirer = acquirer(core)?;
    let mut conn = core.store.conn().await?;
    let known = card_payments::by_acquirer_id(&mut conn, id).await?;
    let payment = acquirer.payment(id).await?;
    // The answer to the request that made it may have been lost: the acquirer
    // keeps Kopek's id of the attempt.
    let attempt = match known {
        Some(attempt) => Some(attempt),
        None => match &payment.attempt {
            Some(ours) => card_payments::get(&mut conn, ours)
                .await?
                .filter(|a| a.acquirer_payment_id.is_none()),
            None => None,
        },
    };
    let Some(attempt) = attempt else {
        return Ok(false);
    };
    let invoice = read_invoice(&mut conn, &attempt.invoice_guid).await?;
    drop(conn);
    apply(core, acquirer, attempt, payment, &invoice).await?;
    Ok(true)
}

/// Gives back at the acquirer the card payment that paid `invoice`, before the
/// operator's refund is recorded (a refund the acquirer refuses is no refund).
/// Nothing to do for an invoice paid another way, or not paid. A repeat after a
/// lost answer is the same refund.
pub(crate) async fn refund_paid(core: &Core, invoice: &InvoiceId) -> Result<(), Error> {
    let Some(acquirer) = core.acquirer.as_deref() else {
        return Ok(());
    };
    let mut conn = core.store.conn().await?;
    let inv = read_invoice(&mut conn, invoice).await?;
    if inv.status != InvoiceStatus::Paid {
        return Ok(());
    }
    let paid_by = card_payments::of_invoice(&mut conn, invoice)
        .await?
        .into_iter()
        .find(|a| a.status == CardPaymentStatus::Succeeded);
    drop(conn);
    match paid_by {
        Some(attempt) if attempt.refund_status.as_deref() != Some("succeeded") => {
            let description = format!("Возврат оплаты по счёту № {}", inv.number);
            give_back(core, acquirer, attempt, &inv, description, "refund").await?;
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Refunds the whole of `attempt` at the acquirer and records it on the attempt.
async fn give_back(
    core: &Core,
    acquirer: &dyn Acquirer,
    mut attempt: CardPayment,
    invoice: &Invoice,
    description: String,
    why: &str,
) -> Result<CardPayment, Error> {
    let Some(payment_id) = attempt.acquirer_payment_id.clone() else {
        return Err(Error::internal(
            "a succeeded payment without the acquirer's id",
        ));
    };
    let request = RefundRequest {
        payment_id,
        amount: attempt.amount,
        description,
        receipt: Receipt::of(invoice, attempt.receipt_email.clone()),
    };
    let refund = acquirer
        .refund(&format!("{why}-{}", attempt.id), &request)
        .await?;
    if refund.status == "canceled" {
        return Err(Error::FailedPrecondition(
            "The payment service refused to give the payment back".to_owned(),
        ));
    }
    let read_at = attempt.status;
    if why != "refund" {
        attempt.status = CardPaymentStatus::Returned;
    }
    attempt.refund_id = Some(refund.id);
    attempt.refund_status = Some(refund.status);
    attempt.updated_at = core.now();
    let mut conn = core.store.conn().await?;
    card_payments::update(&mut conn, &attempt, read_at).await?;
    Ok(attempt)
}

/// Asks the acquirer about an open attempt (creating it there first when it has
/// not answered yet) and applies the answer.
async fn bring_up_to_date(
    core: &Core,
    acquirer: &dyn Acquirer,
    attempt: CardPayment,
    invoice: &Invoice,
) -> Result<CardPayment, Error> {
    let answer = match (&attempt.status, &attempt.acquirer_payment_id) {
        (CardPaymentStatus::Creating, _) => {
            let request = PaymentRequest {
                amount: attempt.amount,
                description: format!("Оплата счёта № {}", invoice.number),
                return_url: attempt.return_url.clone(),
                invoice: invoice.guid.clone(),
                attempt: attempt.id.clone(),
                receipt: Receipt::of(invoice, attempt.receipt_email.clone()),
            };
            acquirer.create(&attempt.id, &request).await
        }
        (CardPaymentStatus::Pending, Some(id)) => acquirer.payment(id).await,
        _ => return Ok(attempt),
    };
    match answer {
        Ok(payment) => apply(core, acquirer, attempt, payment, invoice).await,
        Err(AcquirerError::Refused { code, description }) => {
            // The request itself is wrong (a receipt the acquirer's rules refuse,
            // the shop's keys): this attempt cannot succeed; the next is new.
            tracing::error!(%code, %description, attempt = %attempt.id, "the acquirer refused a payment");
            let mut closed = attempt.clone();
            closed.status = CardPaymentStatus::Canceled;
            closed.cancel_party = Some("merchant".to_owned());
            closed.cancel_reason = Some(code.clone());
            closed.updated_at = core.now();
            let mut conn = core.store.conn().await?;
            card_payments::update(&mut conn, &closed, attempt.status).await?;
            Err(AcquirerError::Refused { code, description }.into())
        }
        Err(e) => Err(e.into()),
    }
}

/// Applies what the acquirer's API says about an attempt: the attempt moves on
/// (never back), and a succeeded payment pays the invoice in the same
/// transaction, through the same use case as the operator's `:pay`. Money for an
/// invoice that can no longer take it is given back. Applying the same word twice
/// changes nothing.
async fn apply(
    core: &Core,
    acquirer: &dyn Acquirer,
    attempt: CardPayment,
    payment: AcquiredPayment,
    invoice: &Invoice,
) -> Result<CardPayment, Error> {
    if payment.amount != attempt.amount {
        return Err(Error::internal(format!(
            "the acquirer's payment {} is for {}, not the {} asked",
            payment.id, payment.amount, attempt.amount
        )));
    }
    let mut next = attempt.clone();
    next.acquirer_payment_id = Some(payment.id.clone());
    if payment.confirmation_url.is_some() {
        next.confirmation_url = payment.confirmation_url.clone();
    }
    match &payment.state {
        AcquiredState::Pending => next.status = CardPaymentStatus::Pending,
        AcquiredState::Succeeded => next.status = CardPaymentStatus::Succeeded,
        AcquiredState::Canceled { party, reason } => {
            next.status = CardPaymentStatus::Canceled;
            next.cancel_party = Some(party.clone());
            next.cancel_reason = Some(reason.clone());
        }
    }
    let moves_on = attempt.status.is_open() && next != attempt;
    let settled = if moves_on {
        next.updated_at = core.now();
        let mut tx = core.store.begin().await?;
        if !card_payments::update(&mut tx, &next, attempt.status).await? {
            // Another notification or page view applied it first.
            drop(tx);
            let mut conn = core.store.conn().await?;
            return card_payments::get(&mut conn, &attempt.id)
                .await?
                .ok_or_else(|| Error::internal("a card payment vanished"));
        }
        let mut paid = false;
        if next.status == CardPaymentStatus::Succeeded
            && read_invoice(&mut tx, &invoice.guid).await?.status == InvoiceStatus::Pending
        {
            let pay = Change::Pay {
                method: acquirer.name().to_owned(),
                reference: Some(payment.id.clone()),
            };
            match invoices::apply(core, &mut tx, &invoice.guid, pay, core.now()).await {
                Ok(_) => paid = true,
                // The invoice may not be paid (a renewal whose period another
                // invoice paid): the attempt is recorded, the money given back.
                Err(Error::FailedPrecondition(why)) => {
                    tracing::warn!(invoice = %invoice.guid, %why, "a card payment could not pay its invoice");
                    drop(tx);
                    tx = core.store.begin().await?;
                    if !card_payments::update(&mut tx, &next, attempt.status).await? {
                        return Err(Error::internal(
                            "a card payment changed while it was applied",
                        ));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        paid
    } else {
        false
    };
    if next.status == CardPaymentStatus::Succeeded && !settled {
        return return_unpayable(core, acquirer, next, &payment.id).await;
    }
    Ok(next)
}

/// A succeeded payment that did not pay its invoice now: unless an earlier
/// reading already paid the invoice with it, the invoice could no longer take it
/// (paid another way, or canceled), and the money is given back.
async fn return_unpayable(
    core: &Core,
    acquirer: &dyn Acquirer,
    attempt: CardPayment,
    payment_id: &str,
) -> Result<CardPayment, Error> {
    let mut conn = core.store.conn().await?;
    let invoice = read_invoice(&mut conn, &attempt.invoice_guid).await?;
    let paid_by_it = invoice_rows::payments_of(&mut conn, &invoice.guid)
        .await?
        .iter()
        .any(|p| p.reference.as_deref() == Some(payment_id));
    drop(conn);
    if paid_by_it || attempt.refund_id.is_some() {
        return Ok(attempt);
    }
    tracing::warn!(
        invoice = %invoice.guid,
        payment = %payment_id,
        status = invoice.status.as_str(),
        "a card payment arrived for an invoice that can no longer take it; giving it back"
    );
    let description = format!("Возврат: счёт № {} уже не к оплате", invoice.number);
    give_back(core, acquirer, attempt, &invoice, description, "return").await
}

async fn read_invoice(conn: &mut kopek_store::Conn, guid: &InvoiceId) -> Result<Invoice, Error> {
    invoice_rows::get(conn, guid)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "invoice",
            id: guid.to_string(),
        })
}
