//! Signed tokens: page cursors a client can hand back but not forge or alter, and
//! the unguessable tokens of invoice links.

use crate::mac;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

const MAC_LEN: usize = 16;

/// Makes a token for `cursor` (for example the last id of a page) that is valid
/// only for the listing named by `context` (for example `customers:<resellerId>`).
pub fn encode(key: &[u8], context: &str, cursor: &str) -> String {
    let mut raw = cursor.as_bytes().to_vec();
    raw.extend_from_slice(&mac(key, context, cursor)[..MAC_LEN]);
    URL_SAFE_NO_PAD.encode(raw)
}

/// Returns the cursor of a token made by [`encode`] with the same key and context.
pub fn decode(key: &[u8], context: &str, token: &str) -> Option<String> {
    let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
    if raw.len() < MAC_LEN {
        return None;
    }
    let (cursor, tag) = raw.split_at(raw.len() - MAC_LEN);
    let cursor = std::str::from_utf8(cursor).ok()?;
    mac::verify(key, &[context.as_bytes(), &[0], cursor.as_bytes()], tag).then(|| cursor.to_owned())
}

fn mac(key: &[u8], context: &str, cursor: &str) -> [u8; 32] {
    mac::sign(key, &[context.as_bytes(), &[0], cursor.as_bytes()])
}

/// The token of an invoice's payment links: anyone holding the link may see that
/// invoice and no other. It is recomputed, so nothing is stored.
pub fn link_token(key: &[u8], invoice_guid: &str) -> String {
    hex::encode(&mac(key, "invoice-link", &invoice_guid.to_ascii_lowercase())[..16])
}

/// Whether `token` is the link token of `invoice_guid`, compared in constant time.
pub fn check_link_token(key: &[u8], invoice_guid: &str, token: &str) -> bool {
    let Ok(given) = hex::decode(token) else {
        return false;
    };
    let guid = invoice_guid.to_ascii_lowercase();
    given.len() == 16 && mac::verify(key, &[b"invoice-link", &[0], guid.as_bytes()], &given)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_tampering() {
        let key = b"0123456789abcdef0123456789abcdef";
        let t = encode(key, "customers:r1", "dn2abc");
        assert_eq!(decode(key, "customers:r1", &t).as_deref(), Some("dn2abc"));
        assert_eq!(decode(key, "customers:r2", &t), None);
        assert_eq!(decode(b"another key", "customers:r1", &t), None);
        let mut forged = t.clone().into_bytes();
        forged[0] = if forged[0] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            decode(key, "customers:r1", std::str::from_utf8(&forged).unwrap()),
            None
        );
        assert_eq!(decode(key, "customers:r1", "!!"), None);
        assert_eq!(decode(key, "customers:r1", ""), None);
    }

    #[test]
    fn link_tokens_belong_to_one_invoice() {
        let key = b"0123456789abcdef0123456789abcdef";
        let t = link_token(key, "3FA85F64-5717-4562-B3FC-2C963F66AFA6");
        assert_eq!(t.len(), 32);
        assert!(check_link_token(
            key,
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            &t
        ));
        assert!(!check_link_token(
            key,
            "3fa85f64-5717-4562-b3fc-2c963f66afa7",
            &t
        ));
        assert!(!check_link_token(
            b"other",
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            &t
        ));
        assert!(!check_link_token(
            key,
            "3fa85f64-5717-4562-b3fc-2c963f66afa6",
            "zz"
        ));
    }
}
