//! Paths and query strings are checked before routing: percent-decoded, each must
//! be UTF-8 without control characters. Otherwise axum answers invalid UTF-8 with a
//! plain-text 400 outside every dialect, and a decoded NUL reaches PostgreSQL,
//! which refuses it (while SQLite would store it).

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use kopek_domain::{Error, FieldError, Reason, text};

const NOT_TEXT: Reason = Reason::Format {
    en: "percent-encoded UTF-8 text without control characters",
    ru: "текстом UTF-8 без управляющих символов",
};

pub async fn middleware(request: Request, next: Next) -> Response {
    let uri = request.uri();
    let mut found = Vec::new();
    if !is_text(decode(uri.path(), false)) {
        found.push(FieldError::new("path", NOT_TEXT));
    }
    for pair in uri.query().unwrap_or_default().split('&') {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        match decode(name, true) {
            Some(name) if text::is_line(&name) => {
                if !is_text(decode(value, true)) {
                    found.push(FieldError::new(name, NOT_TEXT));
                }
            }
            _ => found.push(FieldError::new("query", NOT_TEXT)),
        }
    }
    if found.is_empty() {
        next.run(request).await
    } else {
        crate::render_for_path(uri.path(), Error::Validation(found))
    }
}

fn is_text(decoded: Option<String>) -> bool {
    decoded.is_some_and(|s| text::is_line(&s))
}

/// Percent-decodes `raw` (and `+` as a space in a query); None when the bytes are
/// not UTF-8. A `%` without two hex digits after it stays as it is.
fn decode(raw: &str, query: bool) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |at: usize| bytes.get(at).and_then(|b| (*b as char).to_digit(16));
        match bytes[i] {
            b'%' if hex(i + 1).is_some() && hex(i + 2).is_some() => {
                out.push((hex(i + 1)? * 16 + hex(i + 2)?) as u8);
                i += 3;
            }
            b'+' if query => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::decode;

    #[test]
    fn decodes_percent_escapes_and_refuses_what_is_not_utf8() {
        assert_eq!(decode("/a%20b", false).as_deref(), Some("/a b"));
        assert_eq!(decode("a+b", true).as_deref(), Some("a b"));
        assert_eq!(decode("a+b", false).as_deref(), Some("a+b"));
        assert_eq!(decode("%zz%4", false).as_deref(), Some("%zz%4"));
        assert_eq!(decode("a%00b", false).as_deref(), Some("a\0b"));
        assert_eq!(decode("%D0%AF", false).as_deref(), Some("Я"));
        assert_eq!(decode("%FF%FE", false), None);
    }
}
