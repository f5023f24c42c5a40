//! Pages people open in a browser. They work without JavaScript, send no referrer
//! (their URLs carry secrets) and may not be framed.

pub mod bank_document;
pub mod checkout;
pub mod invitations;
pub mod invoice;

pub mod transfer;

use crate::Routes;
use crate::routes::routes;
use axum::response::Response;
use axum::routing::get;
use kopek_domain::lang::Lang;

/// An error met before a page's handler (a link that is not text, a method the
/// page does not take, no such page), as a page.
pub fn error_page(error: &kopek_domain::Error) -> Response {
    let status = crate::error::http_status(error);
    invoice::message(
        status,
        "This link does not work",
        "Эта ссылка не работает",
        &error.public_message(Lang::En),
        &error.public_message(Lang::Ru),
    )
}

pub fn routes() -> Routes {
    Routes::new()
        .dispatch(
            "/invitations/{segment}",
            get(invitations::show).post(invitations::accept),
            [routes!(invitations::show), routes!(invitations::accept)],
        )
        .api(routes!(invoice::show, invoice::pay))
        .api(routes!(invoice::confirm))
        .api(routes!(invoice::checkout))
        .api(routes!(transfer::show))
}
