//! From the REST views (which the shared code returns) to protobuf messages.

use crate::proto::google::rpc;
use crate::proto::yandex::cloud::billing::v1 as billing;
use crate::proto::yandex::cloud::operation::{Operation, operation};
use kopek_api::yandex::wire::{BillingAccountView, CUSTOMER, CUSTOMER_METADATA, OperationView};
use kopek_domain::time::Timestamp;
use prost::Message;
use prost_types::Any;
use serde_json::Value;

pub fn timestamp(rfc3339: &str) -> Option<prost_types::Timestamp> {
    let micros = Timestamp::parse_rfc3339(rfc3339)?.micros();
    Some(prost_types::Timestamp {
        seconds: micros.div_euclid(1_000_000),
        nanos: (micros.rem_euclid(1_000_000) * 1_000) as i32,
    })
}

fn text(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or_default().to_owned()
}

/// A `google.protobuf.Any` from its JSON form (with `@type`): the two message types
/// customer operations carry.
fn any(value: &Value) -> Option<Any> {
    let type_url = value["@type"].as_str()?;
    let bytes = match type_url {
        CUSTOMER_METADATA => billing::CustomerMetadata {
            reseller_id: text(value, "resellerId"),
            customer_id: text(value, "customerId"),
        }
        .encode_to_vec(),
        CUSTOMER => billing::Customer {
            id: text(value, "id"),
            billing_account_id: text(value, "billingAccountId"),
        }
        .encode_to_vec(),
        _ => return None,
    };
    Some(Any {
        type_url: type_url.to_owned(),
        value: bytes,
    })
}

pub fn operation(view: OperationView) -> Operation {
    let result = match (&view.error, &view.response) {
        (Some(error), _) => Some(operation::Result::Error(rpc::Status {
            code: error["code"].as_i64().unwrap_or(2) as i32,
            message: text(error, "message"),
            details: Vec::new(),
        })),
        (None, Some(response)) => any(response).map(operation::Result::Response),
        (None, None) => None,
    };
    Operation {
        id: view.id,
        description: view.description,
        created_at: timestamp(&view.created_at),
        created_by: view.created_by,
        modified_at: timestamp(&view.modified_at),
        done: view.done,
        metadata: any(&view.metadata),
        result,
    }
}

pub fn billing_account(view: BillingAccountView) -> billing::BillingAccount {
    billing::BillingAccount {
        created_at: timestamp(&view.created_at),
        id: view.id,
        name: view.name,
        country_code: view.country_code,
        currency: view.currency,
        active: view.active,
        balance: view.balance,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn operations_carry_typed_anys() {
        let view: OperationView = serde_json::from_value(json!({
            "id": "bop1", "description": "Invite customer", "createdAt": "2026-11-22T08:00:00.5Z",
            "createdBy": "aje1", "modifiedAt": "2026-11-22T08:00:00.5Z", "done": true,
            "metadata": {"@type": CUSTOMER_METADATA, "resellerId": "r", "customerId": "c"},
            "response": {"@type": CUSTOMER, "id": "c", "billingAccountId": "b"}
        }))
        .unwrap();
        let op = operation(view);
        assert_eq!(op.created_at.unwrap().nanos, 500_000_000);
        let meta =
            billing::CustomerMetadata::decode(op.metadata.unwrap().value.as_slice()).unwrap();
        assert_eq!(
            (meta.reseller_id.as_str(), meta.customer_id.as_str()),
            ("r", "c")
        );
        let Some(operation::Result::Response(any)) = op.result else {
            panic!()
        };
        assert_eq!(
            any.type_url,
            "type.googleapis.com/yandex.cloud.billing.v1.Customer"
        );
        assert_eq!(
            billing::Customer::decode(any.value.as_slice())
                .unwrap()
                .billing_account_id,
            "b"
        );
    }
}
