//! Query strings, parsed with errors in the family's dialect.

use crate::error::{ApiError, Dialect};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use kopek_domain::error::Violations;
use kopek_domain::time::Timestamp;
use kopek_domain::{Error, FieldError, Reason};
use serde::de::DeserializeOwned;
use std::marker::PhantomData;

pub struct Params<T, D> {
    pub value: T,
    dialect: PhantomData<D>,
}

impl<S, T, D> FromRequestParts<S> for Params<T, D>
where
    S: Send + Sync,
    T: DeserializeOwned,
    D: Dialect,
{
    type Rejection = ApiError<D>;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Query(value) = Query::<T>::from_request_parts(parts, state)
            .await
            .map_err(|e| {
                Error::Validation(vec![FieldError::new("query", Reason::Type(e.body_text()))])
            })?;
        Ok(Params {
            value,
            dialect: PhantomData,
        })
    }
}

/// An optional RFC 3339 query value (empty counts as absent); its error recorded.
pub fn time_param(field: &str, value: Option<&str>, v: &mut Violations) -> Option<Timestamp> {
    let raw = value.filter(|s| !s.is_empty())?;
    let parsed = Timestamp::parse_rfc3339(raw);
    if parsed.is_none() {
        v.add(
            field,
            Reason::Format {
                en: "an RFC 3339 date-time",
                ru: "датой и временем в формате RFC 3339",
            },
        );
    }
    parsed
}
