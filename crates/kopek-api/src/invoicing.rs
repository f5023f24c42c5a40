//! What happens to an invoice after it is made: paid (a recorded payment, which
//! extends the organization's license), canceled, refunded. The operator API uses
//! this now and the payment pages will, so each rule is written once.

use kopek_domain::Error;
use kopek_domain::ids::{prefix, yc_id};
use kopek_domain::license::extended_expiry;
use kopek_domain::time::Timestamp;
use kopek_store::invoices::{self, Invoice, License, Payment};
use kopek_store::{Conn, catalog, events};
use serde_json::json;

#[derive(Debug, Clone)]
pub enum Change {
    /// Record a payment of the whole total.
    Pay {
        method: String,
        reference: Option<String>,
    },
    Cancel,
    Refund,
}

/// Applies `change` to the invoice in the caller's transaction and returns it as
/// it now is. Any change the lifecycle does not allow is `FailedPrecondition`.
pub async fn apply(
    conn: &mut Conn,
    guid: &str,
    change: Change,
    now: Timestamp,
) -> Result<Invoice, Error> {
    let mut invoice = invoices::get(&mut *conn, guid)
        .await?
        .ok_or_else(|| Error::NotFound {
            what: "invoice",
            id: guid.to_owned(),
        })?;
    let previous = invoice.status;
    let (next, event) = match &change {
        Change::Pay { .. } => (previous.pay()?, "invoice.paid"),
        Change::Cancel => (previous.cancel()?, "invoice.canceled"),
        Change::Refund => (previous.refund()?, "invoice.refunded"),
    };
    if !invoices::transition(&mut *conn, &invoice.guid, previous, next, now).await? {
        return Err(Error::FailedPrecondition(
            "The invoice changed meanwhile; read it and try again".to_owned(),
        ));
    }
    invoice.status = next;
    invoice.updated_at = now;
    if let Change::Pay { method, reference } = change {
        invoice.paid_at = Some(now);
        let payment = Payment {
            id: yc_id(prefix::PAYMENT),
            invoice_guid: invoice.guid.clone(),
            amount: invoice.total,
            currency: invoice.currency.clone(),
            method,
            reference,
            created_at: now,
        };
        invoices::insert_payment(&mut *conn, &payment).await?;
        extend_license(&mut *conn, &invoice, now).await?;
    }
    let payload = json!({
        "invoiceGuid": invoice.guid,
        "organizationGuid": invoice.organization_guid,
        "number": invoice.number,
        "status": next.as_str(),
        "previousStatus": previous.as_str(),
        "total": invoice.total,
        "currency": invoice.currency,
    });
    events::record(conn, event, &invoice.guid, &payload, now).await?;
    Ok(invoice)
}

/// Paying moves the license's end by the period bought, with the invoice's plan
/// and quantity.
async fn extend_license(conn: &mut Conn, invoice: &Invoice, now: Timestamp) -> Result<(), Error> {
    let plan_name = catalog::get(&mut *conn, invoice.catalog_version)
        .await?
        .and_then(|c| {
            c.product(&invoice.product_guid)
                .and_then(|p| p.plan(&invoice.plan_guid))
                .map(|p| p.name.clone())
        })
        .unwrap_or_default();
    let current = invoices::licenses(&mut *conn, &invoice.organization_guid)
        .await?
        .into_iter()
        .find(|l| l.product_guid.eq_ignore_ascii_case(&invoice.product_guid));
    let months = u32::try_from(invoice.period_in_months).map_err(Error::internal)?;
    let license = License {
        organization_guid: invoice.organization_guid.clone(),
        product_guid: invoice.product_guid.clone(),
        plan_guid: invoice.plan_guid.clone(),
        plan_name,
        quantity: invoice.quantity,
        expires_at: extended_expiry(current.map(|l| l.expires_at), now, months),
        updated_at: now,
    };
    invoices::save_license(&mut *conn, &license).await?;
    let payload = json!({
        "organizationGuid": license.organization_guid,
        "productGuid": license.product_guid,
        "planGuid": license.plan_guid,
        "quantity": license.quantity,
        "expiresAt": license.expires_at.rfc3339(),
        "invoiceGuid": invoice.guid,
    });
    events::record(
        conn,
        "license.extended",
        &invoice.organization_guid,
        &payload,
        now,
    )
    .await
}
