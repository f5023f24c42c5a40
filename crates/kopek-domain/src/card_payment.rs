//! Card payments through an acquirer: the states an attempt to pay an invoice
//! passes through, as Kopek keeps them.

/// Where an attempt to pay an invoice by card stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardPaymentStatus {
    /// The acquirer was asked and has not answered (a timeout, an error that leaves
    /// the outcome unknown): the same request is sent again, as the same payment.
    Creating,
    /// The acquirer made the payment; the buyer is to confirm it on its page.
    Pending,
    Succeeded,
    Canceled,
    /// Money taken for an invoice that could no longer take it (paid another way
    /// meanwhile, or canceled), given back in full.
    Returned,
}

impl CardPaymentStatus {
    pub const ALL: [CardPaymentStatus; 5] = [
        CardPaymentStatus::Creating,
        CardPaymentStatus::Pending,
        CardPaymentStatus::Succeeded,
        CardPaymentStatus::Canceled,
        CardPaymentStatus::Returned,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CardPaymentStatus::Creating => "creating",
            CardPaymentStatus::Pending => "pending",
            CardPaymentStatus::Succeeded => "succeeded",
            CardPaymentStatus::Canceled => "canceled",
            CardPaymentStatus::Returned => "returned",
        }
    }

    pub fn parse(s: &str) -> Option<CardPaymentStatus> {
        Self::ALL.into_iter().find(|st| st.as_str() == s)
    }

    /// Whether the attempt may still end either way (at most one a time an invoice).
    pub fn is_open(self) -> bool {
        matches!(
            self,
            CardPaymentStatus::Creating | CardPaymentStatus::Pending
        )
    }
}
