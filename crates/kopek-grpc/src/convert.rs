//! From the core's and the store's typed values to protobuf messages.

use crate::proto::google::rpc;
use crate::proto::yandex::cloud::billing::v1 as billing;
use crate::proto::yandex::cloud::operation::{Operation, operation};
use kopek_core::customers::{CUSTOMER, CUSTOMER_METADATA};
use kopek_domain::time::Timestamp;
use kopek_store::billing_accounts::BillingAccount;
use kopek_store::operations::Operation as StoredOperation;
use prost::Message;
use prost_types::Any;
use serde_json::Value;

pub fn timestamp(at: Timestamp) -> Option<prost_types::Timestamp> {
    let micros = at.micros();
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

pub fn operation(op: &StoredOperation) -> Operation {
    let result = match (&op.error, &op.response) {
        (Some(error), _) => Some(operation::Result::Error(rpc::Status {
            code: error["code"].as_i64().unwrap_or(2) as i32,
            message: text(error, "message"),
            details: Vec::new(),
        })),
        (None, Some(response)) => any(response).map(operation::Result::Response),
        (None, None) => None,
    };
    Operation {
        id: op.id.clone(),
        description: op.description.clone(),
        created_at: timestamp(op.created_at),
        created_by: op.created_by.clone(),
        modified_at: timestamp(op.modified_at),
        done: op.done,
        metadata: any(&op.metadata),
        result,
    }
}

pub fn billing_account(account: &BillingAccount) -> billing::BillingAccount {
    billing::BillingAccount {
        created_at: timestamp(account.created_at),
        id: account.id.to_string(),
        name: account.name.clone(),
        country_code: account.country_code.clone(),
        currency: account.balance.currency().to_string(),
        active: account.active,
        balance: account.balance.to_string(),
    }
}
