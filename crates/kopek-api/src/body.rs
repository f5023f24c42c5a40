//! JSON request bodies: content type, size limit and parsing, each failure an error
//! in the family's dialect. The raw bytes stay available for idempotency hashing.

use crate::error::{ApiError, Dialect};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::CONTENT_TYPE;
use kopek_domain::{Error, FieldError, Reason, text};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

/// The largest body any endpoint reads.
pub const MAX_BODY_BYTES: usize = 1024 * 1024;

pub struct JsonBody<T, D> {
    pub value: T,
    pub raw: Bytes,
    dialect: PhantomData<D>,
}

/// `application/json`, `text/json` and any `application/*+json` (LIFE POS clients
/// send `application/json-patch+json`), parameters such as charset ignored.
pub fn is_json_content_type(value: &str) -> bool {
    let essence = value
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || essence == "text/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

impl<S, T, D> FromRequest<S> for JsonBody<T, D>
where
    S: Send + Sync,
    T: DeserializeOwned,
    D: Dialect,
{
    type Rejection = ApiError<D>;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let content_type = request
            .headers()
            .get(CONTENT_TYPE)
            .map(|v| v.to_str().unwrap_or("(not text)").to_owned());
        match content_type {
            Some(ct) if is_json_content_type(&ct) => {}
            Some(ct) => return Err(Error::UnsupportedMediaType(ct).into()),
            None => return Err(Error::UnsupportedMediaType(String::new()).into()),
        }
        let raw = read(request).await?;
        let value = parse(&raw)?;
        Ok(JsonBody {
            value,
            raw,
            dialect: PhantomData,
        })
    }
}

/// A body of any type, read up to the same limit (for endpoints whose body is
/// optional or not JSON).
pub struct RawBody<D> {
    pub bytes: Bytes,
    dialect: PhantomData<D>,
}

impl<S: Send + Sync, D: Dialect> FromRequest<S> for RawBody<D> {
    type Rejection = ApiError<D>;

    async fn from_request(request: Request, _state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read(request).await?;
        Ok(RawBody {
            bytes,
            dialect: PhantomData,
        })
    }
}

/// Reads a whole body up to [`MAX_BODY_BYTES`]. Past the limit it is
/// `PayloadTooLarge`; a body that stops arriving (the server's body timeout, or a
/// client gone) is `RequestTimeout`.
pub async fn read(request: Request) -> Result<Bytes, Error> {
    axum::body::to_bytes(request.into_body(), MAX_BODY_BYTES)
        .await
        .map_err(|e| {
            let too_large = std::error::Error::source(&e)
                .is_some_and(|inner| inner.is::<http_body_util::LengthLimitError>());
            if too_large {
                Error::PayloadTooLarge {
                    limit: MAX_BODY_BYTES,
                }
            } else {
                Error::RequestTimeout
            }
        })
}

/// A body that may be left empty, when every field takes its default.
pub fn parse_optional<T: Default + DeserializeOwned>(raw: &[u8]) -> Result<T, Error> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        Ok(T::default())
    } else {
        parse(raw)
    }
}

/// Parses a JSON object, naming the field whose value has the wrong type.
pub fn parse<T: DeserializeOwned>(raw: &[u8]) -> Result<T, Error> {
    match raw.iter().find(|b| !b.is_ascii_whitespace()) {
        None => return Err(Error::MalformedBody("the body is empty".to_owned())),
        // serde would happily read a struct from an array; no client means that.
        Some(b) if *b != b'{' => {
            return Err(Error::MalformedBody("expected a JSON object".to_owned()));
        }
        Some(_) => {}
    }
    if may_hold_controls(raw)
        && let Ok(tree) = serde_json::from_slice::<serde_json::Value>(raw)
    {
        let mut found = Vec::new();
        controls(&tree, &mut String::new(), false, &mut found);
        if !found.is_empty() {
            return Err(Error::Validation(found));
        }
    }
    let mut de = serde_json::Deserializer::from_slice(raw);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let text = without_position(&inner.to_string());
        match inner.classify() {
            serde_json::error::Category::Data if path != "." => {
                Error::Validation(vec![FieldError::new(path, Reason::Type(text))])
            }
            _ => Error::MalformedBody(text),
        }
    })?;
    de.end()
        .map_err(|e| Error::MalformedBody(without_position(&e.to_string())))?;
    Ok(value)
}

/// Fields whose text may span lines (tabs and line breaks allowed); the AIPIX
/// billing fields hold whatever the outside billing system keeps there.
const MULTILINE: [&str; 6] = [
    "postAddress",
    "post_address",
    "legalAddress",
    "legal_address",
    "billing_info",
    "billing_properties",
];

/// A control character reaches a JSON string only as an escape (`\u0000`, `\n`)
/// or as a raw DEL or C1 character, so a body without a backslash or those bytes
/// needs no walk (most bodies).
fn may_hold_controls(raw: &[u8]) -> bool {
    raw.iter().enumerate().any(|(i, &b)| {
        b == b'\\'
            || b == 0x7f
            || (b == 0xc2 && raw.get(i + 1).is_some_and(|n| (0x80..0xa0).contains(n)))
    })
}

/// Every string (and object key) of a JSON body that holds a control character,
/// named by its path as serde_path_to_error names fields (`person.name`, `a[0]`).
fn controls(
    value: &serde_json::Value,
    path: &mut String,
    multiline: bool,
    found: &mut Vec<FieldError>,
) {
    use serde_json::Value;
    let at = path.len();
    match value {
        Value::String(text) => {
            let check = if multiline {
                text::multiline
            } else {
                text::line
            };
            if let Err(e) = check(path, text) {
                found.push(e);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push_str(&format!("[{i}]"));
                controls(item, path, multiline, found);
                path.truncate(at);
            }
        }
        Value::Object(members) => {
            for (key, member) in members {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                if !text::is_line(key) {
                    found.push(FieldError::new(path.clone(), text::NO_CONTROLS));
                }
                controls(
                    member,
                    path,
                    multiline || MULTILINE.contains(&key.as_str()),
                    found,
                );
                path.truncate(at);
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// serde_json appends " at line L column C"; the field path says more to a client.
fn without_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(at) => message[..at].to_owned(),
        None => message.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        person: Option<Person>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Person {
        phone: Option<String>,
    }

    #[test]
    fn content_types() {
        for ok in [
            "application/json",
            "application/json; charset=utf-8",
            "text/json",
            "application/json-patch+json",
            "Application/JSON",
        ] {
            assert!(is_json_content_type(ok), "{ok}");
        }
        for bad in ["text/plain", "application/xml", "multipart/form-data", ""] {
            assert!(!is_json_content_type(bad), "{bad}");
        }
    }

    #[test]
    fn names_the_field_with_the_wrong_type() {
        let err = parse::<Body>(br#"{"person":{"phone":5}}"#).unwrap_err();
        let Error::Validation(fields) = err else {
            panic!("{err:?}")
        };
        assert_eq!(fields[0].field, "person.phone");
        assert!(matches!(
            parse::<Body>(b"{\"name\":").unwrap_err(),
            Error::MalformedBody(_)
        ));
        assert!(matches!(
            parse::<Body>(b"[]").unwrap_err(),
            Error::MalformedBody(_)
        ));
        assert!(matches!(
            parse::<Body>(b"  ").unwrap_err(),
            Error::MalformedBody(_)
        ));
        assert!(matches!(
            parse::<Body>(b"{} x").unwrap_err(),
            Error::MalformedBody(_)
        ));
        assert!(parse::<Body>(br#"{"unknown":1}"#).is_ok());
    }
}
