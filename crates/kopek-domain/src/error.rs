//! The one error enum. Every API family renders it in its own dialect; no handler
//! builds an error body by hand.

use crate::lang::Lang;

#[derive(Debug, Clone, thiserror::Error)]
pub enum Error {
    /// One or more fields of the request are wrong; all of them are listed.
    #[error("invalid request: {0:?}")]
    Validation(Vec<FieldError>),
    /// The body could not be read as the expected document (not JSON, cut short).
    #[error("malformed body: {0}")]
    MalformedBody(String),
    #[error("unsupported content type {0:?}")]
    UnsupportedMediaType(String),
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    /// No credentials, or credentials that are unknown, revoked or expired.
    #[error("unauthenticated")]
    Unauthenticated,
    /// A sign-in with an unknown login, a wrong password, or a user who may not sign in.
    #[error("wrong username or password")]
    WrongCredentials,
    /// Valid credentials that may not touch this resource.
    #[error("permission denied")]
    Forbidden,
    #[error("{what} {id} not found")]
    NotFound { what: &'static str, id: String },
    #[error("{what} {id} already exists")]
    AlreadyExists { what: &'static str, id: String },
    /// The resource is not in a state that allows the change.
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// The same `Idempotency-Key` was used before with a different request.
    #[error("idempotency key reused with a different request")]
    IdempotencyKeyReused,
    /// Refused for now; the client may try again after `retry_after` seconds.
    #[error("too many requests (retry after {retry_after} s)")]
    TooManyRequests { retry_after: u64 },
    #[error("method not allowed")]
    MethodNotAllowed,
    /// The request (its body, or all of it) took longer than the server allows.
    #[error("request timeout")]
    RequestTimeout,
    /// A service Kopek depends on (the database, an acquirer) did not answer: the
    /// same request may be sent again after `retry_after` seconds (with its
    /// idempotency key, it takes effect once). `outcome_unknown` when the request
    /// may have taken effect all the same (the connection was lost during the
    /// commit, the acquirer's answer never came), which the client is told. `cause`
    /// goes to the log, never to the client.
    #[error("unavailable: {cause}")]
    Unavailable {
        retry_after: u64,
        outcome_unknown: bool,
        cause: String,
    },
    /// Anything the caller cannot fix. The text goes to the log, never to the client.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The `google.rpc.Code` of the error, as Yandex Cloud answers it over gRPC
    /// and in its REST `Status` bodies.
    pub fn rpc_code(&self) -> i32 {
        match self {
            Error::Validation(_)
            | Error::MalformedBody(_)
            | Error::UnsupportedMediaType(_)
            | Error::PayloadTooLarge { .. }
            | Error::IdempotencyKeyReused => 3,
            Error::NotFound { .. } => 5,
            Error::AlreadyExists { .. } => 6,
            Error::Forbidden => 7,
            Error::TooManyRequests { .. } => 8,
            Error::FailedPrecondition(_) => 9,
            // UNIMPLEMENTED is for methods that exist but are not implemented; a method
            // the path does not have is not found, as Google's REST gateways say.
            Error::MethodNotAllowed => 5,
            Error::RequestTimeout => 4,
            Error::Internal(_) => 13,
            Error::Unavailable { .. } => 14,
            Error::Unauthenticated | Error::WrongCredentials => 16,
        }
    }

    pub fn field(field: impl Into<String>, reason: Reason) -> Error {
        Error::Validation(vec![FieldError::new(field, reason)])
    }

    pub fn internal(err: impl std::fmt::Display) -> Error {
        Error::Internal(err.to_string())
    }

    /// A short English sentence safe to show to a client (never internal text).
    pub fn public_message(&self, lang: Lang) -> String {
        match self {
            Error::Validation(fields) => match fields.as_slice() {
                [one] => one.message(lang),
                _ => lang
                    .pick("The request is invalid", "Запрос содержит ошибки")
                    .to_owned(),
            },
            Error::MalformedBody(why) => lang.pick(
                format!("The request body is not valid JSON: {why}"),
                format!("Тело запроса не является корректным JSON: {why}"),
            ),
            Error::UnsupportedMediaType(ct) => lang.pick(
                format!("Unsupported content type {ct:?}; send application/json"),
                format!("Неподдерживаемый тип содержимого {ct:?}; используйте application/json"),
            ),
            Error::PayloadTooLarge { limit } => lang.pick(
                format!("The request body is larger than {limit} bytes"),
                format!("Тело запроса больше {limit} байт"),
            ),
            Error::Unauthenticated => lang
                .pick(
                    "Missing or invalid credentials",
                    "Учётные данные отсутствуют или недействительны",
                )
                .to_owned(),
            Error::WrongCredentials => lang
                .pick(
                    "Wrong username or password",
                    "Неверное имя пользователя или пароль",
                )
                .to_owned(),
            Error::Forbidden => lang
                .pick(
                    "The credentials do not allow this request",
                    "Недостаточно прав для выполнения запроса",
                )
                .to_owned(),
            Error::NotFound { what, id } => lang.pick(
                format!("{what} {id} not found"),
                format!("Объект {what} {id} не найден"),
            ),
            Error::AlreadyExists { what, id } => lang.pick(
                format!("{what} {id} already exists"),
                format!("Объект {what} {id} уже существует"),
            ),
            Error::FailedPrecondition(why) => why.clone(),
            Error::IdempotencyKeyReused => lang
                .pick(
                    "The Idempotency-Key was already used with a different request",
                    "Idempotency-Key уже использован с другим запросом",
                )
                .to_owned(),
            Error::TooManyRequests { .. } => lang
                .pick(
                    "Too many requests; try later",
                    "Слишком много запросов; повторите позже",
                )
                .to_owned(),
            Error::RequestTimeout => lang
                .pick(
                    "The request took too long; send it again",
                    "Запрос выполнялся слишком долго; отправьте его снова",
                )
                .to_owned(),
            Error::MethodNotAllowed => lang
                .pick(
                    "The method is not supported for this path",
                    "Метод не поддерживается для этого пути",
                )
                .to_owned(),
            Error::Internal(_) => lang
                .pick("Internal server error", "Внутренняя ошибка сервера")
                .to_owned(),
            Error::Unavailable {
                outcome_unknown: false,
                ..
            } => lang
                .pick(
                    "The service is unavailable for a moment; try again shortly",
                    "Сервис временно недоступен; повторите запрос чуть позже",
                )
                .to_owned(),
            Error::Unavailable {
                outcome_unknown: true,
                ..
            } => lang
                .pick(
                    "The service stopped answering before the request was confirmed, so it \
                     may or may not have taken effect; send it again with the same \
                     Idempotency-Key shortly, and it takes effect once",
                    "Сервис перестал отвечать до подтверждения запроса, поэтому неизвестно, \
                     выполнен ли он; повторите его чуть позже с тем же Idempotency-Key, и он \
                     будет выполнен один раз",
                )
                .to_owned(),
        }
    }
}

/// One failing field: where (a dotted path such as `person.email`) and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub reason: Reason,
}

impl FieldError {
    pub fn new(field: impl Into<String>, reason: Reason) -> FieldError {
        FieldError {
            field: field.into(),
            reason,
        }
    }

    pub fn message(&self, lang: Lang) -> String {
        self.reason.message(&self.field, lang)
    }
}

/// Why a field failed. Messages are built from these, so every family words the
/// same rule the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    Required,
    TooLong {
        max: usize,
    },
    /// The value does not have the expected form; the text names the form
    /// (`"a valid email address"`), in English and Russian.
    Format {
        en: &'static str,
        ru: &'static str,
    },
    OneOf(Vec<String>),
    /// The value has the wrong JSON type (the text comes from the parser).
    Type(String),
    /// The value must be absent.
    NotAllowed,
    /// The value names something that does not exist, or is not a choice offered.
    UnknownReference,
    /// The value must be unique and is in use.
    Taken,
    /// A document that cannot be read as what it must be (a bank statement); the
    /// text says where and why.
    Unreadable(String),
}

impl Reason {
    pub fn message(&self, field: &str, lang: Lang) -> String {
        match (self, lang) {
            (Reason::Required, Lang::En) => format!("The {field} field is required."),
            (Reason::Required, Lang::Ru) => format!("Поле {field} обязательно."),
            (Reason::TooLong { max }, Lang::En) => {
                format!("The {field} must not be greater than {max} characters.")
            }
            (Reason::TooLong { max }, Lang::Ru) => {
                format!("Поле {field} не может быть длиннее {max} символов.")
            }
            (Reason::Format { en, .. }, Lang::En) => format!("The {field} must be {en}."),
            (Reason::Format { ru, .. }, Lang::Ru) => format!("Поле {field} должно быть {ru}."),
            (Reason::OneOf(values), Lang::En) => {
                format!("The {field} must be one of: {}.", values.join(", "))
            }
            (Reason::OneOf(values), Lang::Ru) => {
                format!("Поле {field} должно быть одним из: {}.", values.join(", "))
            }
            (Reason::Type(why), Lang::En) => format!("The {field} has the wrong type: {why}."),
            (Reason::Type(why), Lang::Ru) => format!("Поле {field} имеет неверный тип: {why}."),
            (Reason::NotAllowed, Lang::En) => format!("The {field} field must be empty."),
            (Reason::NotAllowed, Lang::Ru) => format!("Поле {field} должно быть пустым."),
            (Reason::UnknownReference, Lang::En) => format!("The selected {field} is invalid."),
            (Reason::UnknownReference, Lang::Ru) => {
                format!("Выбранное значение для {field} некорректно.")
            }
            (Reason::Taken, Lang::En) => format!("The {field} has already been taken."),
            (Reason::Taken, Lang::Ru) => format!("Такое значение поля {field} уже существует."),
            (Reason::Unreadable(why), Lang::En) => format!("The {field} cannot be read: {why}."),
            (Reason::Unreadable(why), Lang::Ru) => format!("Поле {field} не читается: {why}."),
        }
    }
}

/// Collects field errors so a validator can report every failing field at once.
#[derive(Debug, Default)]
pub struct Violations(Vec<FieldError>);

impl Violations {
    pub fn add(&mut self, field: impl Into<String>, reason: Reason) {
        self.0.push(FieldError::new(field, reason));
    }

    /// Keeps the value of a check, recording its error.
    pub fn check<T>(&mut self, result: Result<T, FieldError>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    pub fn finish(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::Validation(self.0))
        }
    }
}
