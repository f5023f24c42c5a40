//! Family B: LIFE POS (snake_case JSON, `{guid,type_of}` references,
//! `{code,message,info}` errors).

pub mod error;

pub use error::LifePos;
