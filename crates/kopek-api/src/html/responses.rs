//! Responses that many pages' operations share in the OpenAPI document, each
//! worded once. An operation lists them by name beside its own, as in
//! `responses((status = 200, ...), NotSignedIn, PathNotText)`.

use std::collections::BTreeMap;
use utoipa::openapi::{ContentBuilder, ObjectBuilder, RefOr, Response, ResponseBuilder, Type};

/// A page of HTML.
fn page(description: &str) -> Response {
    let text = ObjectBuilder::new().schema_type(Type::String);
    ResponseBuilder::new()
        .description(description)
        .content(
            "text/html",
            ContentBuilder::new().schema(Some(text)).build(),
        )
        .build()
}

/// A redirect (303), which has no body.
fn moved(description: &str) -> Response {
    ResponseBuilder::new().description(description).build()
}

macro_rules! shared {
    ($($(#[$doc:meta])* $name:ident { $($status:literal => $kind:ident($description:literal)),+ $(,)? })*) => {$(
        $(#[$doc])*
        pub struct $name;

        impl utoipa::IntoResponses for $name {
            fn responses() -> BTreeMap<String, RefOr<Response>> {
                BTreeMap::from([$(($status.to_owned(), RefOr::T($kind($description)))),+])
            }
        }
    )*};
}

shared! {
    /// A console page asked for without a session.
    NotSignedIn { "303" => moved("Not signed in: on to sign in") }
    /// A console list's page token made for another list.
    ForeignPageToken { "400" => page("A page token not made for this list") }
    /// A console path whose parameter is not text.
    PathNotText { "400" => page("A path that is not text") }
    /// A console action posted by a support operator, or without the form's token.
    MayNotAct { "403" => page("A support operator, or a missing or forged anti-forgery token") }
    /// A page that asks before an action, opened by a support operator (who may
    /// only read).
    ReadOnly { "403" => page("A support operator: read only") }
    /// The console's page that asks before an action on the thing in its path.
    ConfirmPage {
        "303" => moved("Not signed in: on to sign in"),
        "400" => page("A path that is not text"),
        "403" => page("A support operator: read only"),
    }
    /// A hosted page's link that is not text.
    LinkNotText { "400" => page("A link that is not text") }
    /// A form posted without the anti-forgery cookie and field its page set.
    Forged { "403" => page("Missing or forged anti-forgery token") }
    /// An invoice page whose invoice or link is unknown.
    UnknownInvoice { "404" => page("Unknown invoice or link") }
    /// What paying by card may end in besides the result page.
    CardOutcome {
        "303" => moved("Paid: on to the invoice page"),
        "402" => page("The card was declined"),
    }
    /// An invoice paid, canceled or refunded meanwhile.
    NotPayable { "409" => page("The invoice is no longer payable") }
    /// An invitation link that no longer works.
    SpentInvitation {
        "404" => page("Unknown link"),
        "409" => page("The customer is no longer INVITED"),
        "410" => page("Used, replaced or expired"),
    }
}
