//! The one error type of the web pages: each variant has its status code and is
//! rendered through the same layout as every page (maud's `Markup` responder always says
//! 200, so errors take this path).

use actix_web::http::StatusCode;
use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, ResponseError};

use crate::views;

/// What went wrong, in words for the person at the browser.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No such page, folder or message.
    #[error("{0}")]
    NotFound(String),
    /// The request does not make sense (a bad folder name, page number, form).
    #[error("{0}")]
    BadRequest(String),
    /// The CSRF token is missing or wrong, or the action is not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Too many failed logins.
    #[error("too many failed logins; try again in {minutes} minutes")]
    TooManyLogins {
        /// Seconds to wait.
        retry_after: u64,
        /// The same, rounded up to minutes, for the message.
        minutes: u64,
    },
    /// Not logged in, or the session ended: back to the login page.
    #[error("please log in")]
    NeedLogin {
        /// Why, for the login page (`expired`, `address`, or empty).
        reason: &'static str,
    },
    /// Our fault; the details are logged, not shown.
    #[error("something went wrong on the server; it has been logged")]
    Internal(String),
}

impl Error {
    /// An internal error, logged with its cause.
    pub fn internal(what: impl std::fmt::Display) -> Error {
        tracing::error!("webmail: {what}");
        Error::Internal(what.to_string())
    }
}

impl From<mta_core::maildir::Error> for Error {
    fn from(e: mta_core::maildir::Error) -> Error {
        match e {
            mta_core::maildir::Error::NoSuchFolder(name) => {
                Error::NotFound(format!("there is no folder {name:?}"))
            }
            mta_core::maildir::Error::InvalidFolderName { .. } => Error::BadRequest(e.to_string()),
            other => Error::internal(other),
        }
    }
}

impl From<mta_core::accounts::Error> for Error {
    fn from(e: mta_core::accounts::Error) -> Error {
        match e {
            mta_core::accounts::Error::Prefs(_) | mta_core::accounts::Error::Name(_) => {
                Error::BadRequest(e.to_string())
            }
            other => Error::internal(other),
        }
    }
}

impl ResponseError for Error {
    fn status_code(&self) -> StatusCode {
        match self {
            Error::NotFound(_) => StatusCode::NOT_FOUND,
            Error::BadRequest(_) => StatusCode::BAD_REQUEST,
            Error::Forbidden(_) => StatusCode::FORBIDDEN,
            Error::TooManyLogins { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::NeedLogin { .. } => StatusCode::SEE_OTHER,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let Error::NeedLogin { reason } = self {
            let to = if reason.is_empty() {
                "/login".to_string()
            } else {
                format!("/login?why={reason}")
            };
            return HttpResponse::SeeOther().insert_header((header::LOCATION, to)).finish();
        }
        let status = self.status_code();
        let mut response = HttpResponse::build(status);
        if let Error::TooManyLogins { retry_after, .. } = self {
            response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        let title = status.canonical_reason().unwrap_or("Error");
        response
            .content_type(ContentType::html())
            .body(views::error::page(status.as_u16(), title, &self.to_string()).into_string())
    }
}
