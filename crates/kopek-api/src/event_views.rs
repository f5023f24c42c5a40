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
use serde_json::value::{RawValue, to_raw_value};

pub struct Views {
    pub public_url: String,
    /// Whose page key signs the payment links in invoices.
    pub store: Store,
}

impl Render for Views {
    fn render(&self, subject: &Subject<'_>) -> Box<RawValue> {
        let text = match subject {
            Subject::Invoice(i) => to_raw_value(&InvoiceView::new(
                i,
                &self.public_url,
                self.store.page_key(),
            )),
            Subject::License(l) => to_raw_value(&LicenseView::from(*l)),
            Subject::Customer(c) => to_raw_value(&CustomerView::from(*c)),
            Subject::User(u) => to_raw_value(&UserObject::from(*u)),
            Subject::Organization(o, members) => {
                to_raw_value(&organization_view((*o).clone(), members.to_vec()))
            }
            Subject::WebhookEndpoint(e) => to_raw_value(&EndpointView::from(*e)),
            Subject::Subscription(s) => to_raw_value(&SubscriptionView::from(*s)),
            Subject::ClosingDocument(d) => {
                to_raw_value(&crate::closing::view(&kopek_core::closing::Listed {
                    document: (*d).clone(),
                    corrected_by: None,
                }))
            }
        };
        // These views are plain data: serializing them cannot fail.
        text.unwrap_or_else(|_| null())
    }
}

/// JSON's `null`, as text.
pub fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).expect("null is JSON")
}
