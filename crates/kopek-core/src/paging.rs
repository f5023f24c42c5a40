//! Keyset paging with opaque, signed page tokens.

use kopek_domain::{Error, Reason, paging};
use serde::Deserialize;
use utoipa::IntoParams;

/// `?pageSize=&pageToken=` (also as `page_size`, `page_token`), the paging query of
/// the operator API and of Yandex Cloud's lists.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1 to 1000; 100 when absent or 0.
    #[serde(alias = "page_size")]
    #[param(minimum = 0, maximum = 1000)]
    pub page_size: Option<i64>,
    /// `nextPageToken` of the previous page.
    #[serde(alias = "page_token")]
    #[param(max_length = 100)]
    pub page_token: Option<String>,
}

impl PageQuery {
    /// The page asked for. `context` names the listing, so a token from one listing
    /// is refused by another.
    pub fn page(&self, key: &[u8], context: String) -> Result<Page, Error> {
        let size = match self.page_size {
            None | Some(0) => DEFAULT_PAGE_SIZE,
            Some(n) if (1..=MAX_PAGE_SIZE).contains(&n) => n,
            Some(_) => {
                return Err(Error::field(
                    "pageSize",
                    Reason::Format {
                        en: "between 0 and 1000",
                        ru: "числом от 0 до 1000",
                    },
                ));
            }
        };
        let after = match self.page_token.as_deref().filter(|t| !t.is_empty()) {
            None => None,
            Some(t) if t.len() > MAX_PAGE_TOKEN_LEN => {
                return Err(Error::field(
                    "pageToken",
                    Reason::TooLong {
                        max: MAX_PAGE_TOKEN_LEN,
                    },
                ));
            }
            Some(t) => Some(open_token(key, &context, t, "pageToken")?),
        };
        Ok(Page {
            size,
            after,
            context,
        })
    }
}

/// The cursor a page token holds, if it was made for the listing `context` (by
/// [`seal_token`]); otherwise a validation error naming `field`. Every listing's
/// tokens, whatever their cursor holds, are opened and sealed so.
pub fn open_token(key: &[u8], context: &str, token: &str, field: &str) -> Result<String, Error> {
    paging::decode(key, context, token).ok_or_else(|| bad_token(field))
}

/// The error for a page token that is not one this listing made.
pub fn bad_token(field: &str) -> Error {
    Error::field(
        field,
        Reason::Format {
            en: "a token returned by the previous page",
            ru: "токеном, полученным с предыдущей страницей",
        },
    )
}

/// The token of `cursor` for the listing `context`.
pub fn seal_token(key: &[u8], context: &str, cursor: &str) -> String {
    paging::encode(key, context, cursor)
}

pub const DEFAULT_PAGE_SIZE: i64 = 100;
pub const MAX_PAGE_SIZE: i64 = 1000;
pub const MAX_PAGE_TOKEN_LEN: usize = 100;

/// A page asked for: how many items, after which cursor.
pub struct Page {
    pub size: i64,
    pub after: Option<String>,
    context: String,
}

impl Page {
    /// How many rows to fetch: one more than the page, to learn whether more follow.
    pub fn fetch_limit(&self) -> i64 {
        self.size + 1
    }

    /// Cuts the fetched rows to the page and returns the next token (empty on the
    /// last page).
    pub fn finish<T>(&self, key: &[u8], rows: &mut Vec<T>, cursor: impl Fn(&T) -> &str) -> String {
        let size = usize::try_from(self.size).unwrap_or(usize::MAX);
        if rows.len() <= size {
            return String::new();
        }
        rows.truncate(size);
        rows.last()
            .map(|last| seal_token(key, &self.context, cursor(last)))
            .unwrap_or_default()
    }
}
