//! HMAC-SHA256, the one construction behind every signed value Kopek hands out or
//! checks (page tokens, invoice links, form tokens, provider callbacks). Checks
//! compare in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::cell::RefCell;

/// The shortest tag [`verify`] accepts: 128 bits.
pub const MIN_TAG_LEN: usize = 16;

fn keyed(key: &[u8], parts: &[&[u8]]) -> Hmac<Sha256> {
    // Keying hashes the key's two padded blocks, half the work of a short tag; a
    // thread keeps the last key's state (the page key, nearly always) to clone.
    thread_local! {
        static LAST: RefCell<Option<(Vec<u8>, Hmac<Sha256>)>> = const { RefCell::new(None) };
    }
    let mut mac = LAST.with_borrow_mut(|last| match last {
        Some((k, mac)) if k.as_slice() == key => mac.clone(),
        _ => {
            // HMAC takes keys of any length, so this cannot fail.
            let mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
            *last = Some((key.to_vec(), mac.clone()));
            mac
        }
    });
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
        // Another key in between, and back: each tag is its own key's.
        assert_eq!(sign(b"other", &[b"a\0b"]), sign(b"other", &[b"a", b"\0b"]));
        assert_ne!(sign(b"other", &[b"a\0b"]), tag);
        assert_eq!(sign(b"key", &[b"a\0b"]), tag);
        let mut changed = tag;
        changed[31] ^= 1;
        assert!(!verify(b"key", &[b"a\0b"], &changed));
    }
}
