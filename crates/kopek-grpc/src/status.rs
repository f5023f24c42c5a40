//! The domain error as a gRPC status: the code Yandex Cloud uses, a message, and a
//! `google.rpc.BadRequest` naming the fields in their protobuf (snake_case) names.

use kopek_domain::Error;
use kopek_domain::lang::Lang;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// `person.postCode` → `person.post_code`.
pub fn proto_field(field: &str) -> String {
    let mut out = String::with_capacity(field.len() + 4);
    for c in field.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

pub fn to_status(error: Error) -> Status {
    match &error {
        Error::Internal(detail) => {
            tracing::error!(error = %detail, "internal error in a gRPC call")
        }
        Error::Unavailable { cause, .. } => {
            tracing::warn!(error = %cause, "unavailable in a gRPC call")
        }
        _ => {}
    }
    let code = Code::from_i32(error.rpc_code());
    match &error {
        Error::Validation(fields) => {
            let violations: Vec<(String, String)> = fields
                .iter()
                .map(|f| {
                    let field = proto_field(&f.field);
                    let description = f.reason.message(&field, Lang::En);
                    (field, description)
                })
                .collect();
            let message = violations
                .iter()
                .map(|(field, description)| format!("{field}: {description}"))
                .collect::<Vec<_>>()
                .join("; ");
            let mut details = ErrorDetails::new();
            for (field, description) in &violations {
                details.add_bad_request_violation(field.clone(), description.clone());
            }
            Status::with_error_details(code, message, details)
        }
        other => Status::new(code, other.public_message(Lang::En)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kopek_domain::Reason;

    #[test]
    fn fields_in_protobuf_names() {
        assert_eq!(proto_field("person.postCode"), "person.post_code");
        assert_eq!(proto_field("invitationEmail"), "invitation_email");
        let status = to_status(Error::field("invitationEmail", Reason::Required));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().starts_with("invitation_email: "));
        let details = status.get_error_details();
        assert_eq!(
            details.bad_request().unwrap().field_violations[0].field,
            "invitation_email"
        );
        assert_eq!(to_status(Error::Forbidden).code(), Code::PermissionDenied);
        let internal = to_status(Error::Internal("db password=x".into()));
        assert!(!internal.message().contains("password"));
    }
}
