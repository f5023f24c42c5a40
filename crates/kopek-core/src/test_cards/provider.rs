//! The built-in test provider: no money moves; the card number decides.
//!
//! | card number | outcome |
//! | --- | --- |
//! | 4242 4242 4242 4242 | approved |
//! | 4000 0000 0000 0002 | declined |
//! | 4000 0000 0000 3220 | needs a confirmation step, then approved (or declined when the buyer refuses) |
//! | any other valid number | declined as unknown to the test provider |

use super::{Card, Outcome, Provider};
use kopek_domain::ids::InvoiceId;
use kopek_domain::money::Money;

pub const SUCCESS: &str = "4242424242424242";
pub const DECLINE: &str = "4000000000000002";
pub const CONFIRM: &str = "4000000000003220";

pub struct TestProvider;

fn reference() -> String {
    format!("test_{}", uuid::Uuid::new_v4().simple())
}

impl Provider for TestProvider {
    fn name(&self) -> &'static str {
        "test"
    }

    fn charge(&self, _invoice_guid: &InvoiceId, card: &Card, _amount: Money) -> Outcome {
        match card.number.as_str() {
            SUCCESS => Outcome::Approved {
                reference: reference(),
            },
            CONFIRM => Outcome::NeedsConfirmation {
                challenge: "3ds".to_owned(),
            },
            DECLINE => Outcome::Declined {
                reason: "card_declined".to_owned(),
            },
            _ => Outcome::Declined {
                reason: "unknown_test_card".to_owned(),
            },
        }
    }

    fn confirm(&self, _invoice_guid: &InvoiceId, _challenge: &str, approved: bool) -> Outcome {
        if approved {
            Outcome::Approved {
                reference: reference(),
            }
        } else {
            Outcome::Declined {
                reason: "authentication_failed".to_owned(),
            }
        }
    }
}
