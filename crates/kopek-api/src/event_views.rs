//! How an event's subject looks in the API it belongs to: the invoice as LIFE POS
//! shows it, the license as LIFE POS's `acquired_license`, the customer as Yandex,
//! the user as AIPIX, the organization, the subscription and the webhook endpoint
//! as the operator API. The core records events with this.

use crate::admin::organizations::view as organization_view;
use crate::admin::subscriptions::SubscriptionView;
use crate::admin::webhooks::EndpointView;
use crate::aipix::users::UserObject;
use crate::invoice_view::InvoiceView;
use crate::lifepos::products::LicenseView;
use crate::yandex::wire::CustomerView;
use kopek_core::events::{Render, Subject};
use kopek_store::Store;
use serde_json::Value;

pub struct Views {
    pub public_url: String,
    /// Whose page key signs the payment links in invoices.
    pub store: Store,
}

impl Render for Views {
    fn render(&self, subject: &Subject<'_>) -> Value {
        let value = match subject {
            Subject::Invoice(i) => {
                serde_json::to_value(InvoiceView::new(i, &self.public_url, self.store.page_key()))
            }
            Subject::License(l) => serde_json::to_value(LicenseView::from(*l)),
            Subject::Customer(c) => serde_json::to_value(CustomerView::from(*c)),
            Subject::User(u) => serde_json::to_value(UserObject::from(*u)),
            Subject::Organization(o, members) => {
                serde_json::to_value(organization_view((*o).clone(), members.to_vec()))
            }
            Subject::WebhookEndpoint(e) => serde_json::to_value(EndpointView::from(*e)),
            Subject::Subscription(s) => serde_json::to_value(SubscriptionView::from(*s)),
        };
        // These views are plain data: serializing them cannot fail.
        value.unwrap_or(Value::Null)
    }
}
