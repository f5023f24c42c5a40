//! Errors as Laravel writes them: 422 `{message, errors: {field: [reasons]}}` for
//! validation, `{message}` otherwise.

use crate::context::RequestContext;
use crate::error::Dialect;
use crate::json::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use kopek_domain::Error;
use kopek_domain::lang::Lang;
use serde::Serialize;
use serde::ser::SerializeMap;
use utoipa::ToSchema;

pub struct Aipix;

/// What creating or changing a user answers when it is refused, for the OpenAPI
/// document: 422 with every failing field, or another 4xx.
#[derive(utoipa::IntoResponses)]
pub enum Refused {
    #[response(status = 422, description = "Every failing field with its reasons")]
    Invalid(ErrorBody),
    #[response(status = "4XX")]
    Other(ErrorBody),
}

/// The same dialect for DELETE, where a failed validation is 400 instead of 422.
pub struct AipixDelete;

/// Field names in the order they first failed, each with all its reasons.
#[derive(Debug, Default, ToSchema)]
#[schema(as = AipixFieldErrors, value_type = std::collections::BTreeMap<String, Vec<String>>)]
pub struct FieldErrors(Vec<(String, Vec<String>)>);

impl Serialize for FieldErrors {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (field, reasons) in &self.0 {
            map.serialize_entry(field, reasons)?;
        }
        map.end()
    }
}

/// AIPIX's (Laravel's) error: `{message, errors: {field: [reasons]}}`.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AipixError)]
pub struct ErrorBody {
    pub message: String,
    /// Present on validation failures (422, and 400 for a failed delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<FieldErrors>,
}

/// Laravel answers every validation failure, and a taken value, with 422; the
/// rest as anywhere else.
pub fn status(error: &Error) -> StatusCode {
    match error {
        Error::Validation(_) | Error::IdempotencyKeyReused | Error::AlreadyExists { .. } => {
            StatusCode::UNPROCESSABLE_ENTITY
        }
        other => crate::error::http_status(other),
    }
}

pub fn body(error: &Error, lang: Lang) -> ErrorBody {
    match error {
        Error::Validation(fields) => {
            let mut errors = FieldErrors::default();
            for f in fields {
                let message = f.reason.message(&f.field.replace('_', " "), lang);
                match errors.0.iter_mut().find(|(name, _)| *name == f.field) {
                    Some((_, reasons)) => reasons.push(message),
                    None => errors.0.push((f.field.clone(), vec![message])),
                }
            }
            ErrorBody {
                message: lang
                    .pick(
                        "The given data was invalid",
                        "Переданные данные некорректны",
                    )
                    .to_owned(),
                errors: Some(errors),
            }
        }
        Error::Unauthenticated => ErrorBody {
            message: lang
                .pick("Unauthenticated.", "Не аутентифицирован.")
                .to_owned(),
            errors: None,
        },
        Error::Forbidden => ErrorBody {
            message: lang
                .pick("This action is unauthorized.", "Действие не разрешено.")
                .to_owned(),
            errors: None,
        },
        other => ErrorBody {
            message: other.public_message(lang),
            errors: None,
        },
    }
}

impl Dialect for Aipix {
    fn render(error: &Error, context: &RequestContext) -> Response {
        (status(error), Json(body(error, context.lang))).into_response()
    }
}

impl Dialect for AipixDelete {
    fn render(error: &Error, context: &RequestContext) -> Response {
        let status = match status(error) {
            StatusCode::UNPROCESSABLE_ENTITY => StatusCode::BAD_REQUEST,
            other => other,
        };
        (status, Json(body(error, context.lang))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopek_domain::{FieldError, Reason};

    #[test]
    fn groups_reasons_by_field_in_order() {
        let error = Error::Validation(vec![
            FieldError::new("password", Reason::Required),
            FieldError::new("login", Reason::Required),
            FieldError::new("password", Reason::TooLong { max: 100 }),
        ]);
        let json = serde_json::to_value(body(&error, Lang::En)).unwrap();
        assert_eq!(json["message"], "The given data was invalid");
        assert_eq!(json["errors"]["password"].as_array().unwrap().len(), 2);
        let text = serde_json::to_string(&body(&error, Lang::En)).unwrap();
        assert!(text.find("password").unwrap() < text.find("login").unwrap());
        assert_eq!(status(&error), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
