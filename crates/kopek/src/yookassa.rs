//! YooKassa (API v3) as Kopek's card acquirer: payments created with Basic auth
//! (`shopId:secretKey`) and an `Idempotence-Key`, amounts as decimal strings in
//! roubles, `capture: true`, a redirect confirmation, the invoice in `metadata`,
//! and a 54-FZ receipt with each position's VAT code; payments read back by id;
//! refunds with a receipt. An answer that leaves the outcome unknown (a timeout,
//! a 5xx, a broken connection) is `Unknown`, so the core sends the same request
//! again under the same key, as YooKassa asks.

use async_trait::async_trait;
use kopek_core::acquiring::{
    AcquiredPayment, AcquiredRefund, AcquiredState, Acquirer, AcquirerError, PaymentRequest,
    Receipt, RefundRequest,
};
use kopek_domain::money::{Currency, Money, parse_decimal};
use serde::Deserialize;
use serde_json::{Value, json};
use std::time::Duration;

pub const DEFAULT_API_URL: &str = "https://api.yookassa.ru/v3";

/// The most characters YooKassa takes in a payment's or an item's description.
const MAX_DESCRIPTION: usize = 128;

pub struct YooKassa {
    client: reqwest::Client,
    api_url: String,
    shop_id: String,
    secret_key: String,
    /// The shop's tax system (`tax_system_code`, 1 to 6), when it has several.
    tax_system_code: Option<u8>,
}

impl YooKassa {
    pub fn new(
        api_url: &str,
        shop_id: &str,
        secret_key: &str,
        tax_system_code: Option<u8>,
        timeout: Duration,
    ) -> anyhow::Result<YooKassa> {
        let client = reqwest::Client::builder()
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(YooKassa {
            client,
            api_url: api_url.trim_end_matches('/').to_owned(),
            shop_id: shop_id.to_owned(),
            secret_key: secret_key.to_owned(),
            tax_system_code,
        })
    }

    async fn send(
        &self,
        request: reqwest::RequestBuilder,
        what: &str,
    ) -> Result<Value, AcquirerError> {
        let response = request
            .basic_auth(&self.shop_id, Some(&self.secret_key))
            .send()
            .await
            .map_err(|e| AcquirerError::Unknown(format!("{what}: {e}")))?;
        let status = response.status();
        let body: Value = response.json().await.map_err(|e| {
            AcquirerError::Unknown(format!(
                "{what}: an answer that is not JSON ({status}): {e}"
            ))
        })?;
        if status.is_success() {
            return Ok(body);
        }
        let text = |key: &str| body[key].as_str().unwrap_or_default().to_owned();
        if status.is_server_error() {
            return Err(AcquirerError::Unknown(format!(
                "{what}: {status} {}",
                text("code")
            )));
        }
        let parameter = text("parameter");
        let description = if parameter.is_empty() {
            text("description")
        } else {
            format!("{} ({parameter})", text("description"))
        };
        Err(AcquirerError::Refused {
            code: text("code"),
            description,
        })
    }

    async fn post(&self, path: &str, key: &str, body: &Value) -> Result<Value, AcquirerError> {
        let request = self
            .client
            .post(format!("{}{path}", self.api_url))
            .header("Idempotence-Key", key)
            .json(body);
        self.send(request, path).await
    }

    fn receipt(&self, receipt: &Receipt) -> Result<Value, AcquirerError> {
        let mut items = Vec::with_capacity(receipt.items.len());
        for item in &receipt.items {
            items.push(json!({
                "description": clip(&item.description),
                "quantity": item.quantity,
                "amount": amount(item.unit_price),
                "vat_code": vat_code(item.vat_basis_points)?,
                // A subscription is paid for before it is rendered.
                "payment_mode": "full_prepayment",
                "payment_subject": "service",
            }));
        }
        let mut receipt = json!({
            "customer": {"email": receipt.email.as_str()},
            "items": items,
        });
        if let Some(code) = self.tax_system_code {
            receipt["tax_system_code"] = json!(code);
        }
        Ok(receipt)
    }
}

/// `{value: "990.00", currency: "RUB"}`: roubles as a decimal string.
fn amount(money: Money) -> Value {
    json!({"value": money.to_string(), "currency": money.currency().code()})
}

fn clip(text: &str) -> String {
    text.chars().take(MAX_DESCRIPTION).collect()
}

/// The VAT code YooKassa documents for a rate (tag 1199 of the fiscal format):
/// 1 without VAT, 3 10%, 4 20%, 7 5%, 8 7%, 11 22%.
fn vat_code(basis_points: i64) -> Result<u8, AcquirerError> {
    match basis_points {
        0 => Ok(1),
        1000 => Ok(3),
        2000 => Ok(4),
        500 => Ok(7),
        700 => Ok(8),
        2200 => Ok(11),
        other => Err(AcquirerError::Refused {
            code: "unsupported_vat_rate".to_owned(),
            description: format!("no YooKassa VAT code for a rate of {other} basis points"),
        }),
    }
}

#[derive(Deserialize)]
struct Amount {
    value: String,
    currency: String,
}

/// An amount as YooKassa writes it, back in minor units.
fn money(a: &Amount) -> Result<Money, AcquirerError> {
    let bad = || AcquirerError::Unknown(format!("an amount Kopek cannot read: {}", a.value));
    let currency = Currency::parse("currency", &a.currency).map_err(|_| bad())?;
    let minor = parse_decimal(&a.value, currency.exponent()).ok_or_else(bad)?;
    Ok(Money::new(minor, currency))
}

#[derive(Deserialize)]
struct Payment {
    id: String,
    status: String,
    amount: Amount,
    #[serde(default)]
    confirmation: Option<Confirmation>,
    #[serde(default)]
    cancellation_details: Option<Cancellation>,
    #[serde(default)]
    metadata: Option<serde_json::Map<String, Value>>,
}

#[derive(Deserialize)]
struct Confirmation {
    #[serde(default)]
    confirmation_url: Option<String>,
}

#[derive(Deserialize)]
struct Cancellation {
    party: String,
    reason: String,
}

fn payment(body: Value) -> Result<AcquiredPayment, AcquirerError> {
    let p: Payment = serde_json::from_value(body)
        .map_err(|e| AcquirerError::Unknown(format!("a payment Kopek cannot read: {e}")))?;
    let state = match p.status.as_str() {
        // Payments are created with capture: true, so a captured payment is the
        // only success; one waiting for capture is not done yet.
        "pending" | "waiting_for_capture" => AcquiredState::Pending,
        "succeeded" => AcquiredState::Succeeded,
        "canceled" => {
            let c = p.cancellation_details.ok_or_else(|| {
                AcquirerError::Unknown("a canceled payment without its reason".to_owned())
            })?;
            AcquiredState::Canceled {
                party: c.party,
                reason: c.reason,
            }
        }
        other => {
            return Err(AcquirerError::Unknown(format!(
                "a payment status Kopek does not know: {other}"
            )));
        }
    };
    Ok(AcquiredPayment {
        amount: money(&p.amount)?,
        confirmation_url: p.confirmation.and_then(|c| c.confirmation_url),
        attempt: p
            .metadata
            .as_ref()
            .and_then(|m| m.get(ATTEMPT))
            .and_then(Value::as_str)
            .map(str::to_owned),
        id: p.id,
        state,
    })
}

/// The metadata key of Kopek's attempt id.
const ATTEMPT: &str = "kopek_payment_id";

#[async_trait]
impl Acquirer for YooKassa {
    fn name(&self) -> &'static str {
        "yookassa"
    }

    async fn create(
        &self,
        key: &str,
        request: &PaymentRequest,
    ) -> Result<AcquiredPayment, AcquirerError> {
        let body = json!({
            "amount": amount(request.amount),
            "capture": true,
            "confirmation": {"type": "redirect", "return_url": request.return_url},
            "description": clip(&request.description),
            "metadata": {"invoice_guid": request.invoice.as_str(), ATTEMPT: request.attempt},
            "receipt": self.receipt(&request.receipt)?,
        });
        payment(self.post("/payments", key, &body).await?)
    }

    async fn payment(&self, id: &str) -> Result<AcquiredPayment, AcquirerError> {
        // An id goes into the path: only what YooKassa's ids are made of.
        if id.is_empty()
            || id.len() > 64
            || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        {
            return Err(AcquirerError::Refused {
                code: "invalid_request".to_owned(),
                description: "not a YooKassa payment id".to_owned(),
            });
        }
        let request = self.client.get(format!("{}/payments/{id}", self.api_url));
        payment(self.send(request, "/payments/{id}").await?)
    }

    async fn refund(
        &self,
        key: &str,
        request: &RefundRequest,
    ) -> Result<AcquiredRefund, AcquirerError> {
        let body = json!({
            "payment_id": request.payment_id,
            "amount": amount(request.amount),
            "description": request.description.chars().take(250).collect::<String>(),
            "receipt": self.receipt(&request.receipt)?,
        });
        let answer = self.post("/refunds", key, &body).await?;
        let id = answer["id"].as_str().unwrap_or_default();
        let status = answer["status"].as_str().unwrap_or_default();
        if id.is_empty() || status.is_empty() {
            return Err(AcquirerError::Unknown(
                "a refund answer without id or status".to_owned(),
            ));
        }
        Ok(AcquiredRefund {
            id: id.to_owned(),
            status: status.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_roubles_as_decimal_strings() {
        assert_eq!(
            amount(Money::new(99_000, Currency::Rub)),
            json!({"value": "990.00", "currency": "RUB"})
        );
        let read = |value: &str| {
            money(&Amount {
                value: value.to_owned(),
                currency: "RUB".to_owned(),
            })
        };
        assert_eq!(read("990.00").unwrap(), Money::new(99_000, Currency::Rub));
        assert_eq!(read("2.5").unwrap(), Money::new(250, Currency::Rub));
        assert_eq!(read("1").unwrap(), Money::new(100, Currency::Rub));
        for bad in [
            "",
            ".5",
            "1.234",
            "-1.00",
            "1e3",
            "1,00",
            "92233720368547758.08",
        ] {
            assert!(read(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn vat_codes_follow_yookassas_table() {
        assert_eq!(vat_code(2200).unwrap(), 11);
        assert_eq!(vat_code(2000).unwrap(), 4);
        assert_eq!(vat_code(1000).unwrap(), 3);
        assert_eq!(vat_code(0).unwrap(), 1);
        assert!(vat_code(1800).is_err());
    }

    #[test]
    fn descriptions_are_clipped_to_128_characters() {
        let long = "ж".repeat(200);
        assert_eq!(clip(&long).chars().count(), 128);
    }
}
