//! Query strings, parsed with errors in the family's dialect.

use crate::error::{ApiError, Dialect};
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
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
