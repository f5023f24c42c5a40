//! Passwords: argon2id, stored only as a PHC string. Both functions are slow on
//! purpose; async callers run them on a blocking thread.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

/// Hashes with argon2id (the crate's defaults: 19 MiB, 2 passes) and a random salt.
pub fn hash(password: &str) -> Result<String, String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| format!("hashing failed: {e}"))
}

/// Whether `password` matches a PHC string made by [`hash`]; a malformed hash
/// matches nothing.
pub fn verify(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|parsed| {
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("qweasdzxc").unwrap();
        let b = hash("qweasdzxc").unwrap();
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b, "salted");
        assert!(!a.contains("qweasdzxc"));
        assert!(verify(&a, "qweasdzxc"));
        assert!(!verify(&a, "qweasdzxC"));
        assert!(!verify("not a hash", "qweasdzxc"));
    }
}
