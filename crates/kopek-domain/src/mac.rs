//! HMAC-SHA256, the one construction behind every signed value Kopek hands out or
//! checks (page tokens, invoice links, form tokens, provider callbacks). Checks
//! compare in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// The shortest tag [`verify`] accepts: 128 bits.
pub const MIN_TAG_LEN: usize = 16;

fn keyed(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(part);
    }
    mac
}

/// The HMAC of `parts`, fed in order (the caller's separators included).
pub fn sign(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    keyed(key, parts).finalize().into_bytes().into()
}

/// Whether `tag` is the HMAC of `parts`, or its first bytes (at least
/// [`MIN_TAG_LEN`]), compared in constant time.
pub fn verify(key: &[u8], parts: &[&[u8]], tag: &[u8]) -> bool {
    tag.len() >= MIN_TAG_LEN
        && tag.len() <= 32
        && keyed(key, parts).verify_truncated_left(tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_verify_whole_or_truncated_and_nothing_else() {
        let tag = sign(b"key", &[b"a", b"\0", b"b"]);
        assert!(verify(b"key", &[b"a\0b"], &tag));
        assert!(verify(b"key", &[b"a", b"\0", b"b"], &tag[..16]));
        assert!(
            !verify(b"key", &[b"a", b"\0", b"b"], &tag[..15]),
            "too short"
        );
        assert!(!verify(b"other", &[b"a\0b"], &tag));
        assert!(!verify(b"key", &[b"a\0c"], &tag));
        let mut changed = tag;
        changed[31] ^= 1;
        assert!(!verify(b"key", &[b"a\0b"], &changed));
    }
}
