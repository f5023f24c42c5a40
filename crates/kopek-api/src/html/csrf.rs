//! Anti-forgery for the payment forms: a random value in a SameSite=Strict cookie,
//! and in each form a token derived from it and the invoice with the server's key.
//! A forged cross-site POST carries neither the cookie (SameSite) nor a matching
//! token; a POST whose Origin is another site is refused outright.

use axum::http::header::{HOST, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use kopek_domain::mac;
use rand::RngCore;

const COOKIE_NAME: &str = "kopek_csrf";

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    super::cookie(headers, COOKIE_NAME)
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_owned)
}

fn parts<'a>(cookie: &'a str, subject: &'a str) -> [&'a [u8]; 4] {
    [b"csrf\0", cookie.as_bytes(), b"\0", subject.as_bytes()]
}

fn token(key: &[u8], cookie: &str, subject: &str) -> String {
    hex::encode(&mac::sign(key, &parts(cookie, subject))[..16])
}

/// A form that carries the anti-forgery token its page set.
pub trait Guarded {
    fn csrf(&self) -> &str;
}

/// Makes forms whose token is their `csrf` field [`Guarded`].
macro_rules! guarded {
    ($($form:ty),+ $(,)?) => {$(
        impl $crate::html::csrf::Guarded for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        }
    )+};
}
pub(crate) use guarded;

/// The form token for `subject`, and the cookie to set when the browser has none.
pub fn issue(
    key: &[u8],
    headers: &HeaderMap,
    subject: &str,
    secure: bool,
) -> (String, Option<HeaderValue>) {
    match cookie_value(headers) {
        Some(cookie) => (token(key, &cookie, subject), None),
        None => {
            let mut raw = [0u8; 16];
            rand::rng().fill_bytes(&mut raw);
            let cookie = hex::encode(raw);
            let attributes = if secure { "; Secure" } else { "" };
            let header = HeaderValue::from_str(&format!(
                "{COOKIE_NAME}={cookie}; Path=/; HttpOnly; SameSite=Strict{attributes}"
            ))
            .ok();
            (token(key, &cookie, subject), header)
        }
    }
}

/// Whether a POST carries the cookie and the matching form token, and comes from
/// this site (when the browser says where it comes from: the public URL, or the
/// host the request was sent to).
pub fn verify(
    key: &[u8],
    headers: &HeaderMap,
    subject: &str,
    form_token: &str,
    public_url: &str,
) -> bool {
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` even for a
    // form on the same site; then the SameSite cookie and the token decide alone.
    if let Some(origin) = headers
        .get(ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
    {
        let own = public_url.trim_end_matches('/');
        let same_host = host.is_some_and(|h| origin.ends_with(&format!("//{h}")));
        if origin != own && !same_host {
            return false;
        }
    }
    let Some(cookie) = cookie_value(headers) else {
        return false;
    };
    hex::decode(form_token).is_ok_and(|given| mac::verify(key, &parts(&cookie, subject), &given))
}

pub fn set_cookie(response: &mut axum::response::Response, cookie: Option<HeaderValue>) {
    if let Some(cookie) = cookie {
        response.headers_mut().append(SET_COOKIE, cookie);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_need_the_cookie_and_the_subject() {
        let key = b"k";
        let (form, cookie) = issue(key, &HeaderMap::new(), "inv-1", false);
        let cookie = cookie.unwrap();
        let pair = cookie
            .to_str()
            .unwrap()
            .split(';')
            .next()
            .unwrap()
            .to_owned();
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            HeaderValue::from_str(&pair).unwrap(),
        );
        assert!(verify(key, &headers, "inv-1", &form, "http://x"));
        assert!(!verify(key, &headers, "inv-2", &form, "http://x"));
        assert!(!verify(key, &HeaderMap::new(), "inv-1", &form, "http://x"));
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!verify(key, &headers, "inv-1", &form, "http://x"));
        headers.insert(ORIGIN, HeaderValue::from_static("http://x"));
        assert!(verify(key, &headers, "inv-1", &form, "http://x"));
        headers.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(verify(key, &headers, "inv-1", &form, "http://x"));
    }
}
