//! Anti-forgery for the payment forms: a random value in a SameSite=Strict cookie,
//! and in each form a token derived from it and the invoice with the server's key.
//! A forged cross-site POST carries neither the cookie (SameSite) nor a matching
//! token; a POST whose Origin is another site is refused outright.

use axum::http::header::{COOKIE, ORIGIN, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

const COOKIE_NAME: &str = "kopek_csrf";

fn cookie_value(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE_NAME)
        .map(|(_, value)| value.to_owned())
        .filter(|v| v.len() == 32 && v.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn token(key: &[u8], cookie: &str, subject: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(b"csrf\0");
    mac.update(cookie.as_bytes());
    mac.update(b"\0");
    mac.update(subject.as_bytes());
    hex::encode(&mac.finalize().into_bytes()[..16])
}

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
/// this site (when the browser says where it comes from).
pub fn verify(
    key: &[u8],
    headers: &HeaderMap,
    subject: &str,
    form_token: &str,
    public_url: &str,
    host: Option<&str>,
) -> bool {
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
    let expected = token(key, &cookie, subject);
    expected.len() == form_token.len()
        && expected
            .bytes()
            .zip(form_token.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
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
        headers.insert(COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert!(verify(key, &headers, "inv-1", &form, "http://x", None));
        assert!(!verify(key, &headers, "inv-2", &form, "http://x", None));
        assert!(!verify(
            key,
            &HeaderMap::new(),
            "inv-1",
            &form,
            "http://x",
            None
        ));
        headers.insert(ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!verify(key, &headers, "inv-1", &form, "http://x", None));
        headers.insert(ORIGIN, HeaderValue::from_static("http://x"));
        assert!(verify(key, &headers, "inv-1", &form, "http://x", None));
        headers.insert(ORIGIN, HeaderValue::from_static("null"));
        assert!(verify(key, &headers, "inv-1", &form, "http://x", None));
    }
}
