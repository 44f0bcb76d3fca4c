//! The HTTP contract: one module per `/api/v1/<resource>`, plus the wire helpers they share.

pub mod app_passwords;
pub mod auth;
pub mod branding;
pub mod cloudron;
pub mod directory_server;
pub mod docker;
pub mod eventlog;
pub mod external_ldap;
pub mod groups;
pub mod logs;
pub mod metrics;
pub mod network;
pub mod notifications;
pub mod pages;
pub mod profile;
pub mod provision;
pub mod reverseproxy;
pub mod system;
pub mod tasks;
pub mod tokens;
pub mod updater;
pub mod uploads;
pub mod user_directory;
pub mod users;
pub mod well_known;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::auth::Caller;
use crate::error::{ApiError, ApiQuery};
pub use crate::store::Page;
use crate::users::Actor;

/// Cloudron clients ask for pages of up to 5000; beyond that is refused rather than clamped, so a
/// client never mistakes a short page for the end of the list.
pub const MAX_PER_PAGE: u32 = 5000;

/// `page` and `per_page` as the list endpoints take them.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page number, from 1.
    #[param(value_type = Option<u32>, minimum = 1, default = 1)]
    page: Option<String>,
    /// Items per page.
    #[param(value_type = Option<u32>, minimum = 1, maximum = 5000, default = 25)]
    per_page: Option<String>,
}

impl TryFrom<PageQuery> for Page {
    type Error = ApiError;

    fn try_from(query: PageQuery) -> Result<Self, ApiError> {
        let number = |name: &str, value: Option<String>, default: u32, max: u32| match value {
            None => Ok(default),
            Some(text) => match text.parse::<u32>() {
                Ok(n) if (1..=max).contains(&n) => Ok(n),
                _ => Err(ApiError::bad_request(format!(
                    "{name} must be an integer between 1 and {max}"
                ))),
            },
        };
        Ok(Self {
            page: number("page", query.page, 1, u32::MAX)?,
            per_page: number("per_page", query.per_page, 25, MAX_PER_PAGE)?,
        })
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Page {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let ApiQuery(query) = ApiQuery::<PageQuery>::from_request_parts(parts, state).await?;
        Page::try_from(query)
    }
}

/// A numeric id from a path (tasks, notifications); anything else (`-1`, `1e3`, `../x`) names
/// no `what`.
pub fn parse_id(raw: &str, what: &'static str) -> Result<i64, ApiError> {
    match raw.parse::<i64>() {
        Ok(id) if id > 0 && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(id),
        _ => Err(ApiError::NotFound(what)),
    }
}

/// A `true`/`false` query filter; anything else is a 400 with `message`.
pub fn parse_bool_filter(raw: Option<&str>, message: &str) -> Result<Option<bool>, ApiError> {
    match raw {
        None => Ok(None),
        Some("true") => Ok(Some(true)),
        Some("false") => Ok(Some(false)),
        Some(_) => Err(ApiError::bad_request(message)),
    }
}

impl Caller {
    /// The caller as the author of an account change.
    pub fn actor(&self) -> Actor<'_> {
        Actor {
            user: &self.user,
            source: self.source(),
        }
    }
}

/// The `{}` body of Cloudron's "200 No Content" setters.
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct Empty {}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(page: Option<&str>, per_page: Option<&str>) -> Result<Page, ApiError> {
        Page::try_from(PageQuery {
            page: page.map(Into::into),
            per_page: per_page.map(Into::into),
        })
    }

    #[test]
    fn defaults_are_page_one_of_25() {
        assert_eq!(
            page(None, None).unwrap(),
            Page {
                page: 1,
                per_page: 25
            }
        );
    }

    #[test]
    fn pages_parse_from_the_query() {
        let p = page(Some("3"), Some("10")).unwrap();
        assert_eq!((p.page, p.per_page), (3, 10));
    }

    #[test]
    fn zero_negative_garbage_and_oversize_are_refused() {
        for (p, pp) in [
            ("0", "1"),
            ("-1", "1"),
            ("abc", "1"),
            ("1", "0"),
            ("1", "abc"),
            ("1", "5001"),
            ("2abc", "1"),
        ] {
            assert!(page(Some(p), Some(pp)).is_err(), "{p} {pp}");
        }
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(2000))]

            /// A task or notification id is a positive decimal number written plainly; anything
            /// else names nothing.
            #[test]
            fn ids_are_plain_positive_numbers_or_nothing(raw in ".{0,24}") {
                match parse_id(&raw, "task") {
                    Ok(id) => prop_assert!(id > 0 && id.to_string() == raw.trim_start_matches('0')),
                    Err(err) => prop_assert!(matches!(err, ApiError::NotFound("task"))),
                }
            }
        }
    }
}
