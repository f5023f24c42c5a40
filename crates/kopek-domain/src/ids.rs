//! Identifiers in the shapes the wire formats expect.

use rand::Rng;

/// A Yandex Cloud style id: 20 characters of lowercase letters and digits, starting
/// with a letter (the real ones start with a three-character service prefix).
pub fn yc_id(prefix: &str) -> String {
    debug_assert!(prefix.len() < 20 && prefix.starts_with(|c: char| c.is_ascii_lowercase()));
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuv0123456789";
    let mut rng = rand::rng();
    let mut id = String::with_capacity(20);
    id.push_str(prefix);
    while id.len() < 20 {
        id.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
    }
    id
}

pub fn is_yc_id(s: &str) -> bool {
    s.len() == 20
        && s.starts_with(|c: char| c.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

/// A guid in its canonical lowercase or uppercase 8-4-4-4-12 hex form.
pub fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, len)| g.len() == len && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Prefixes per kind, so an id tells what it names.
pub mod prefix {
    pub const BILLING_ACCOUNT: &str = "dn2";
    pub const API_KEY: &str = "aje";
    pub const CUSTOMER: &str = "bcu";
    pub const INVITATION: &str = "bin";
    pub const OPERATION: &str = "bop";
    pub const SESSION: &str = "ses";
    pub const PAYMENT: &str = "pay";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yc_ids_have_the_documented_shape() {
        for _ in 0..1000 {
            let id = yc_id(prefix::BILLING_ACCOUNT);
            assert!(is_yc_id(&id), "{id}");
            assert!(id.starts_with("dn2"));
        }
        assert!(!is_yc_id("Dn2aaaaaaaaaaaaaaaaa"));
        assert!(!is_yc_id("1n2aaaaaaaaaaaaaaaaa"));
        assert!(!is_yc_id("dn2aaaa"));
        assert!(is_guid("3fa85f64-5717-4562-b3fc-2c963f66afa6"));
        assert!(!is_guid("3fa85f64-5717-4562-b3fc-2c963f66afa"));
        assert!(!is_guid("3fa85f64x5717-4562-b3fc-2c963f66afa6"));
    }
}
