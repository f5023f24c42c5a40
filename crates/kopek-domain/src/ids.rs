//! Identifiers in the shapes the wire formats expect, and one type per kind of
//! thing named, so an organization's id cannot be passed where an invoice's is due.

use rand::Rng;
use std::fmt;

/// An id of one kind of thing. It holds the id as the wire gave it: its shape is
/// the wire's to check (each family words that error its own way); a lookup of a
/// malformed id simply finds nothing.
macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(String);

        impl $name {
            pub fn as_str(&self) -> &str {
                &self.0
            }

            pub fn into_string(self) -> String {
                self.0
            }
        }

        impl From<String> for $name {
            fn from(id: String) -> $name {
                $name(id)
            }
        }

        impl From<&str> for $name {
            fn from(id: &str) -> $name {
                $name(id.to_owned())
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl PartialEq<str> for $name {
            fn eq(&self, other: &str) -> bool {
                self.0 == other
            }
        }

        impl PartialEq<&str> for $name {
            fn eq(&self, other: &&str) -> bool {
                self.0 == *other
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id!(
    /// An organization (a LIFE POS buyer): a guid.
    OrganizationId
);
id!(
    /// An invoice: a guid.
    InvoiceId
);
id!(
    /// A reseller's customer: a Yandex-style id.
    CustomerId
);
id!(
    /// A billing account (a reseller's own or a customer's): a Yandex-style id.
    BillingAccountId
);

impl OrganizationId {
    pub fn generate() -> OrganizationId {
        OrganizationId(guid())
    }
}

impl InvoiceId {
    pub fn generate() -> InvoiceId {
        InvoiceId(guid())
    }
}

impl CustomerId {
    pub fn generate() -> CustomerId {
        CustomerId(yc_id(prefix::CUSTOMER))
    }
}

impl BillingAccountId {
    pub fn generate() -> BillingAccountId {
        BillingAccountId(yc_id(prefix::BILLING_ACCOUNT))
    }
}

/// A user (AIPIX): the integer the provisioning system sees.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct UserId(i64);

impl UserId {
    pub const fn new(id: i64) -> UserId {
        UserId(id)
    }

    pub const fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A random (version 4) guid, lowercase.
fn guid() -> String {
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    guid_text(&b)
}

/// The 8-4-4-4-12 lowercase hex form of a guid's bytes.
fn guid_text(b: &[u8; 16]) -> String {
    // Written straight into the string: a format! of hex::encode's pieces cost
    // ten times as much, on every invoice.
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(char::from(HEX[usize::from(byte >> 4)]));
        s.push(char::from(HEX[usize::from(byte & 0x0f)]));
    }
    s
}

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
    pub const OPERATOR: &str = "opr";
    pub const OPERATOR_SESSION: &str = "oss";
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

    #[test]
    fn guid_text_is_hex_in_groups() {
        let bytes: [u8; 16] =
            core::array::from_fn(|i| (i as u8).wrapping_mul(17).wrapping_add(0x0a));
        let h = hex::encode(bytes);
        let expected = format!(
            "{}-{}-{}-{}-{}",
            &h[..8],
            &h[8..12],
            &h[12..16],
            &h[16..20],
            &h[20..]
        );
        assert_eq!(guid_text(&bytes), expected);
        assert_eq!(
            guid_text(&[0xff; 16]),
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        );
    }

    #[test]
    fn generated_ids_have_their_kinds_shape() {
        for _ in 0..1000 {
            let org = OrganizationId::generate();
            assert!(is_guid(org.as_str()), "{org}");
            assert_eq!(org.as_str().as_bytes()[14], b'4', "version 4: {org}");
            assert!(b"89ab".contains(&org.as_str().as_bytes()[19]), "{org}");
            assert!(is_yc_id(CustomerId::generate().as_str()));
            assert!(BillingAccountId::generate().as_str().starts_with("dn2"));
        }
        assert_ne!(InvoiceId::generate(), InvoiceId::generate());
        let id = CustomerId::from("bcu00000000000000000");
        assert_eq!(id, "bcu00000000000000000");
        assert_eq!(String::from(id.clone()), id.to_string());
        assert_eq!(
            serde_json::to_string(&id).unwrap(),
            r#""bcu00000000000000000""#
        );
        assert_eq!(serde_json::to_string(&UserId::new(7)).unwrap(), "7");
        assert_eq!(UserId::new(7).to_string(), "7");
    }
}
