//! Text values that only their check makes.

/// A text newtype whose one way in is its check. It serializes as the text and
/// deserializes through the check, so a value read back is one that passed.
macro_rules! checked_text {
    ($(#[$doc:meta])* $name:ident, $check:expr, $reason:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            /// Why a value is refused.
            pub const REASON: $crate::error::Reason = $reason;

            /// The value, or the error that names `field`.
            pub fn parse(field: &str, value: &str) -> Result<$name, $crate::error::FieldError> {
                if $check(value) {
                    Ok($name(value.to_owned()))
                } else {
                    Err($crate::error::FieldError::new(field, $name::REASON))
                }
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = String;

            fn try_from(value: String) -> Result<$name, String> {
                if $check(&value) {
                    Ok($name(value))
                } else {
                    Err($name::REASON.message(stringify!($name), $crate::lang::Lang::En))
                }
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

pub(crate) use checked_text;
