//! Family A's JSON: lowerCamelCase as protobuf JSON prints it; request field names
//! are also accepted in their original snake_case, as protobuf JSON parsers do.

use kopek_domain::customer::Person;
use kopek_store::billing_accounts::BillingAccount;
use kopek_store::customers::Customer;
use kopek_store::operations::Operation;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPerson {
    pub name: Option<String>,
    pub longname: Option<String>,
    /// A valid telephone number (E.164, or national in the reseller's country) or phoneword.
    pub phone: Option<String>,
    /// A valid email address.
    pub email: Option<String>,
    #[serde(alias = "post_code")]
    pub post_code: Option<String>,
    #[serde(alias = "post_address")]
    pub post_address: Option<String>,
    #[serde(alias = "legal_address")]
    pub legal_address: Option<String>,
    pub tin: Option<String>,
}

impl From<CustomerPerson> for Person {
    fn from(p: CustomerPerson) -> Person {
        Person {
            name: p.name.unwrap_or_default(),
            longname: p.longname.unwrap_or_default(),
            phone: p.phone.unwrap_or_default(),
            email: p.email.unwrap_or_default(),
            post_code: p.post_code.unwrap_or_default(),
            post_address: p.post_address.unwrap_or_default(),
            legal_address: p.legal_address.unwrap_or_default(),
            tin: p.tin.unwrap_or_default(),
        }
    }
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct InviteCustomerRequest {
    /// Required. Billing account id of the reseller; at most 50 characters.
    #[serde(alias = "reseller_id")]
    #[schema(min_length = 1, max_length = 50)]
    pub reseller_id: Option<String>,
    /// Required. Name of the customer.
    pub name: Option<String>,
    /// Required. Customer email to send the invitation to.
    #[serde(alias = "invitation_email")]
    pub invitation_email: Option<String>,
    /// Required. Person of the customer.
    pub person: Option<CustomerPerson>,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CreateResellerServedCustomerRequest {
    /// Required. Id of the reseller, matching one of the three documented patterns.
    #[serde(alias = "reseller_id")]
    #[schema(
        max_length = 50,
        pattern = "^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{32}|[a-z][-a-zA-Z0-9.]{0,48}[a-zA-Z0-9])$"
    )]
    pub reseller_id: Option<String>,
    /// Required. Name of the customer.
    pub name: Option<String>,
    /// Required. Person of the customer.
    pub person: Option<CustomerPerson>,
}

/// A Customer resource.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView {
    pub id: String,
    pub billing_account_id: String,
}

impl From<&Customer> for CustomerView {
    fn from(c: &Customer) -> CustomerView {
        CustomerView {
            id: c.id.to_string(),
            billing_account_id: c.billing_account_id.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListCustomersResponse {
    pub customers: Vec<CustomerView>,
    /// Empty on the last page.
    pub next_page_token: String,
}

/// An Operation resource.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationView {
    pub id: String,
    /// 0-256 characters.
    pub description: String,
    /// RFC 3339 with fractional seconds.
    pub created_at: String,
    /// Id of the API key (or `bootstrap-admin`) that started the operation.
    pub created_by: String,
    pub modified_at: String,
    pub done: bool,
    /// `CustomerMetadata` with its `@type`.
    #[schema(value_type = Object)]
    pub metadata: Value,
    /// `google.rpc.Status`, when the operation failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub error: Option<Value>,
    /// `Customer` with its `@type`, when the operation succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub response: Option<Value>,
}

impl OperationView {
    /// The view of a stored operation (as the core's use cases answer).
    pub fn of(op: &Operation) -> OperationView {
        OperationView::from(op.clone())
    }
}

impl From<Operation> for OperationView {
    fn from(op: Operation) -> OperationView {
        OperationView {
            id: op.id,
            description: op.description,
            created_at: op.created_at.rfc3339(),
            created_by: op.created_by,
            modified_at: op.modified_at.rfc3339(),
            done: op.done,
            metadata: op.metadata,
            error: op.error,
            response: op.response,
        }
    }
}

/// A BillingAccount resource.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BillingAccountView {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub country_code: String,
    pub currency: String,
    pub active: bool,
    /// Decimal amount in `currency`, e.g. `0.00`.
    pub balance: String,
}

impl From<BillingAccount> for BillingAccountView {
    fn from(a: BillingAccount) -> BillingAccountView {
        BillingAccountView {
            id: a.id.to_string(),
            name: a.name,
            created_at: a.created_at.rfc3339(),
            country_code: a.country_code,
            currency: a.balance.currency().code().to_owned(),
            active: a.active,
            balance: a.balance.to_string(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ListBillingAccountsResponse {
    pub billing_accounts: Vec<BillingAccountView>,
    pub next_page_token: String,
}
