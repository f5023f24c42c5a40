//! How the domain's values sit in the store's columns: each as the text or BIGINT
//! its column holds, so rows decode straight into them and binds take them as
//! they are. Reading back goes through the same checks as the wire: a value the
//! rules would refuse is a decode error, not a value.

use crate::auth::{OperatorRole, Role};
use crate::bank_statement::Outcome;
use crate::card_payment::CardPaymentStatus;
use crate::catalog::Catalog;
use crate::company::Company;
use crate::company::{Inn, Kpp};
use crate::contact::Email;
use crate::customer::CustomerState;
use crate::customer::Person;
use crate::ids::{BillingAccountId, CustomerId, InvoiceId, OrganizationId, UserId};
use crate::invoice::InvoiceStatus;
use crate::lang::Lang;
use crate::money::Currency;
use crate::subscription::SubscriptionStatus;
use crate::time::Timestamp;
use crate::user::Property;
use crate::user::UserStatus;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::any::Any;
use sqlx::encode::IsNull;
use sqlx::error::BoxDynError;
use sqlx::{Database, Decode, Encode, Type};

/// `$ty` stored as `$repr`: `into` makes the column's value, `from` reads it back.
macro_rules! column {
    ($ty:ty as $repr:ty, into: $into:expr, from: $from:expr) => {
        impl Type<Any> for $ty {
            fn type_info() -> <Any as Database>::TypeInfo {
                <$repr as Type<Any>>::type_info()
            }

            fn compatible(ty: &<Any as Database>::TypeInfo) -> bool {
                <$repr as Type<Any>>::compatible(ty)
            }
        }

        impl<'r> Decode<'r, Any> for $ty {
            fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<$ty, BoxDynError> {
                let from: fn($repr) -> Result<$ty, BoxDynError> = $from;
                from(<$repr as Decode<'r, Any>>::decode(value)?)
            }
        }

        impl Encode<'_, Any> for $ty {
            fn encode_by_ref(
                &self,
                buf: &mut <Any as Database>::ArgumentBuffer,
            ) -> Result<IsNull, BoxDynError> {
                let into: fn(&$ty) -> $repr = $into;
                <$repr as Encode<'_, Any>>::encode(into(self), buf)
            }
        }
    };
}

/// A text column of a type that converts from and to `String`.
macro_rules! text_column {
    ($($ty:ty),*) => {$(
        column!($ty as String, into: |v| v.to_string(), from: |s| Ok(<$ty>::try_from(s)?));
    )*};
}

/// Unknown names in an enum's column.
fn unknown(what: &str, s: &str) -> BoxDynError {
    format!("unknown {what} {s:?}").into()
}

column!(Timestamp as i64, into: |t| t.micros(), from: |v| Ok(Timestamp::from_micros(v)));
column!(UserId as i64, into: |id| id.get(), from: |v| Ok(UserId::new(v)));
column!(Currency as String, into: |c| c.code().to_owned(), from: |s| {
    Currency::parse("currency", &s).map_err(|_| unknown("currency", &s))
});
column!(InvoiceStatus as String, into: |st| st.as_str().to_owned(), from: |s| {
    InvoiceStatus::parse(&s).ok_or_else(|| unknown("invoice status", &s))
});
column!(CustomerState as String, into: |st| st.as_str().to_owned(), from: |s| {
    CustomerState::parse(&s).ok_or_else(|| unknown("customer state", &s))
});
column!(Role as String, into: |r| r.as_str().to_owned(), from: |s| {
    s.parse::<Role>().map_err(|_| unknown("role", &s))
});
column!(OperatorRole as String, into: |r| r.as_str().to_owned(), from: |s| {
    s.parse::<OperatorRole>().map_err(|_| unknown("operator role", &s))
});
column!(SubscriptionStatus as String, into: |st| st.as_str().to_owned(), from: |s| {
    SubscriptionStatus::parse(&s).ok_or_else(|| unknown("subscription status", &s))
});
column!(Outcome as String, into: |o| o.as_str().to_owned(), from: |s| {
    Outcome::parse(&s).ok_or_else(|| unknown("statement line outcome", &s))
});
column!(CardPaymentStatus as String, into: |st| st.as_str().to_owned(), from: |s| {
    CardPaymentStatus::parse(&s).ok_or_else(|| unknown("card payment status", &s))
});
column!(Lang as String, into: |l| l.as_str().to_owned(), from: |s| {
    Lang::parse(&s).ok_or_else(|| unknown("language", &s))
});
column!(UserStatus as String, into: |st| st.as_str().to_owned(), from: |s| {
    UserStatus::parse(&s).ok_or_else(|| unknown("user status", &s))
});
text_column!(
    OrganizationId,
    InvoiceId,
    CustomerId,
    BillingAccountId,
    Email,
    Inn,
    Kpp
);

/// A document kept as JSON text. `#[sqlx(try_from = "Json<T>")]` reads a column
/// into a `T` (for each `T` that says `From<Json<T>>`); binding `Json(&value)`
/// writes one.
pub struct Json<T>(pub T);

/// A JSON column that may be NULL.
pub struct NullableJson<T>(pub Option<T>);

/// A flag in a BIGINT column: 0 or 1 (SQLite has no boolean).
pub struct Flag(pub bool);

impl<T> Type<Any> for Json<T> {
    fn type_info() -> <Any as Database>::TypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &<Any as Database>::TypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r, T: DeserializeOwned> Decode<'r, Any> for Json<T> {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<Json<T>, BoxDynError> {
        let text = <&str as Decode<'r, Any>>::decode(value)?;
        Ok(Json(serde_json::from_str(text)?))
    }
}

impl<T: Serialize> Encode<'_, Any> for Json<T> {
    fn encode_by_ref(
        &self,
        buf: &mut <Any as Database>::ArgumentBuffer,
    ) -> Result<IsNull, BoxDynError> {
        <String as Encode<'_, Any>>::encode(serde_json::to_string(&self.0)?, buf)
    }
}

impl<T> Type<Any> for NullableJson<T> {
    fn type_info() -> <Any as Database>::TypeInfo {
        <String as Type<Any>>::type_info()
    }

    fn compatible(ty: &<Any as Database>::TypeInfo) -> bool {
        <String as Type<Any>>::compatible(ty)
    }
}

impl<'r, T: DeserializeOwned> Decode<'r, Any> for NullableJson<T> {
    fn decode(value: <Any as Database>::ValueRef<'r>) -> Result<NullableJson<T>, BoxDynError> {
        let text = <Option<&str> as Decode<'r, Any>>::decode(value)?;
        Ok(NullableJson(text.map(serde_json::from_str).transpose()?))
    }
}

column!(Flag as i64, into: |f| i64::from(f.0), from: |v| Ok(Flag(v != 0)));

impl From<Flag> for bool {
    fn from(flag: Flag) -> bool {
        flag.0
    }
}

/// The types kept in JSON columns.
macro_rules! json_column {
    ($($ty:ty),*) => {$(
        impl From<Json<$ty>> for $ty {
            fn from(json: Json<$ty>) -> $ty {
                json.0
            }
        }

        impl From<NullableJson<$ty>> for Option<$ty> {
            fn from(json: NullableJson<$ty>) -> Option<$ty> {
                json.0
            }
        }
    )*};
}

json_column!(
    Value,
    Box<serde_json::value::RawValue>,
    Catalog,
    Company,
    crate::closing::Party,
    Vec<crate::closing::Line>,
    Person,
    Vec<Property>,
    Vec<String>
);
