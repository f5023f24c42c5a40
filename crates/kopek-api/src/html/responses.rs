//! Responses that many pages' operations share in the OpenAPI document, each
//! worded once. An operation lists them by name beside its own, as in
//! `responses((status = 200, ...), NotSignedIn, PathNotText)`. They describe
//! answers; no handler builds them (a page's body is its HTML).

use utoipa::IntoResponses;

/// A console page asked for without a session.
#[derive(IntoResponses)]
#[response(status = 303, description = "Not signed in: on to sign in")]
pub struct NotSignedIn;

/// A console list's page token made for another list.
#[derive(IntoResponses)]
#[response(
    status = 400,
    description = "A page token not made for this list",
    content_type = "text/html"
)]
pub struct ForeignPageToken(pub String);

/// A console path whose parameter is not text.
#[derive(IntoResponses)]
#[response(
    status = 400,
    description = "A path that is not text",
    content_type = "text/html"
)]
pub struct PathNotText(pub String);

/// A console action posted by a support operator, or without the form's token.
#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "A support operator, or a missing or forged anti-forgery token",
    content_type = "text/html"
)]
pub struct MayNotAct(pub String);

/// A page that asks before an action, opened by a support operator (who may
/// only read).
#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "A support operator: read only",
    content_type = "text/html"
)]
pub struct ReadOnly(pub String);

/// The console's page that asks before an action on the thing in its path.
#[derive(IntoResponses)]
pub enum ConfirmPage {
    #[response(status = 303, description = "Not signed in: on to sign in")]
    NotSignedIn,
    #[response(
        status = 400,
        description = "A path that is not text",
        content_type = "text/html"
    )]
    PathNotText(String),
    #[response(
        status = 403,
        description = "A support operator: read only",
        content_type = "text/html"
    )]
    ReadOnly(String),
}

/// A hosted page's link that is not text.
#[derive(IntoResponses)]
#[response(
    status = 400,
    description = "A link that is not text",
    content_type = "text/html"
)]
pub struct LinkNotText(pub String);

/// A form posted without the anti-forgery cookie and field its page set.
#[derive(IntoResponses)]
#[response(
    status = 403,
    description = "Missing or forged anti-forgery token",
    content_type = "text/html"
)]
pub struct Forged(pub String);

/// An invoice page whose invoice or link is unknown.
#[derive(IntoResponses)]
#[response(
    status = 404,
    description = "Unknown invoice or link",
    content_type = "text/html"
)]
pub struct UnknownInvoice(pub String);

/// What paying by card may end in besides the result page.
#[derive(IntoResponses)]
pub enum CardOutcome {
    #[response(status = 303, description = "Paid: on to the invoice page")]
    Paid,
    #[response(
        status = 402,
        description = "The card was declined",
        content_type = "text/html"
    )]
    Declined(String),
}

/// An invoice paid, canceled or refunded meanwhile.
#[derive(IntoResponses)]
#[response(
    status = 409,
    description = "The invoice is no longer payable",
    content_type = "text/html"
)]
pub struct NotPayable(pub String);

/// An invitation link that no longer works.
#[derive(IntoResponses)]
pub enum SpentInvitation {
    #[response(status = 404, description = "Unknown link", content_type = "text/html")]
    Unknown(String),
    #[response(
        status = 409,
        description = "The customer is no longer INVITED",
        content_type = "text/html"
    )]
    NotInvited(String),
    #[response(
        status = 410,
        description = "Used, replaced or expired",
        content_type = "text/html"
    )]
    Used(String),
}
