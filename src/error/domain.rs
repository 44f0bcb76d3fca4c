//! How each domain error becomes an HTTP error: the one place that decides their statuses.

use super::{ApiError, Invalid};
use crate::auth::login::LoginError;
use crate::auth::secrets::HashError;
use crate::auth::sessions::TokenError;
use crate::auth::throttle::RateLimited;
use crate::external_ldap::ExternalLdapError;
use crate::groups::GroupError;
use crate::users::UserError;

impl From<Invalid> for ApiError {
    fn from(Invalid(message): Invalid) -> Self {
        Self::BadRequest(message)
    }
}

impl From<crate::network::detect::DetectError> for ApiError {
    fn from(err: crate::network::detect::DetectError) -> Self {
        Self::FailedDependency(err.0)
    }
}

impl From<crate::tasks::TaskError> for ApiError {
    fn from(err: crate::tasks::TaskError) -> Self {
        use crate::tasks::TaskError;
        match err {
            TaskError::AlreadyRunning(_) | TaskError::ShuttingDown | TaskError::NotActive => {
                Self::Conflict(err.to_string())
            }
            TaskError::NotFound => Self::NotFound("task"),
            TaskError::TooManyStreams => Self::TooManyRequests {
                message: err.to_string(),
                retry_after_secs: 5,
            },
            TaskError::LogUnreadable(_) => Self::FailedDependency(err.to_string()),
            TaskError::Store(err) => err.into(),
            TaskError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<crate::certs::CertError> for ApiError {
    fn from(err: crate::certs::CertError) -> Self {
        match err {
            crate::certs::CertError::Task(err) => err.into(),
        }
    }
}

impl From<crate::updater::UpdateError> for ApiError {
    fn from(err: crate::updater::UpdateError) -> Self {
        use crate::updater::UpdateError;
        match err {
            UpdateError::Unavailable(message) => Self::Unprocessable(message),
            UpdateError::Feed(message) => Self::FailedDependency(message),
            UpdateError::Task(err) => err.into(),
            UpdateError::Store(err) => err.into(),
            UpdateError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<crate::images::ImageError> for ApiError {
    fn from(err: crate::images::ImageError) -> Self {
        match err {
            crate::images::ImageError::TooLarge => Self::PayloadTooLarge(err.to_string()),
            _ => Self::BadRequest(err.to_string()),
        }
    }
}

impl From<RateLimited> for ApiError {
    fn from(limited: RateLimited) -> Self {
        Self::TooManyRequests {
            message: limited.message,
            retry_after_secs: limited.retry_after_secs,
        }
    }
}

impl From<HashError> for ApiError {
    fn from(err: HashError) -> Self {
        match err {
            HashError::Busy(limited) => limited.into(),
            HashError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<LoginError> for ApiError {
    fn from(err: LoginError) -> Self {
        match err {
            LoginError::InvalidCredentials | LoginError::TotpRequired | LoginError::InvalidTotp => {
                Self::Unauthorized(err.to_string())
            }
            LoginError::WrongCurrentPassword => Self::PreconditionFailed(err.to_string()),
            LoginError::RateLimited(limited) => limited.into(),
            LoginError::DirectoryUnavailable => Self::FailedDependency(err.to_string()),
            LoginError::Store(err) => err.into(),
            LoginError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<TokenError> for ApiError {
    fn from(err: TokenError) -> Self {
        match err {
            TokenError::Invalid(invalid) => invalid.into(),
            TokenError::TooPowerful(message) => Self::Forbidden(message.into()),
            TokenError::Store(err) => err.into(),
        }
    }
}

impl From<UserError> for ApiError {
    fn from(err: UserError) -> Self {
        match err {
            UserError::Invalid(message) => Self::BadRequest(message),
            UserError::NotFound => Self::NotFound("user"),
            UserError::Forbidden(message) => Self::Forbidden(message),
            UserError::Conflict(message) => Self::Conflict(message),
            UserError::AlreadySetup => Self::Conflict(err.to_string()),
            UserError::WrongCode => Self::PreconditionFailed(err.to_string()),
            UserError::BadLink(message) => Self::Unauthorized(message.into()),
            UserError::Mail(err) => err.into(),
            UserError::Login(err) => err.into(),
            UserError::Store(err) => err.into(),
            UserError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<ExternalLdapError> for ApiError {
    fn from(err: ExternalLdapError) -> Self {
        match err {
            ExternalLdapError::Invalid(message)
            | ExternalLdapError::BindRefused(message)
            | ExternalLdapError::Failed(message)
            | ExternalLdapError::TooMany(message) => Self::BadRequest(message),
            ExternalLdapError::NotConfigured => Self::Conflict(err.to_string()),
            ExternalLdapError::Unreachable(message) => Self::FailedDependency(message),
            ExternalLdapError::Task(err) => err.into(),
            ExternalLdapError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<crate::system::SystemError> for ApiError {
    fn from(err: crate::system::SystemError) -> Self {
        use crate::system::SystemError;
        match err {
            SystemError::UnknownUnit => Self::Missing(err.to_string()),
            SystemError::Task(err) => err.into(),
            SystemError::Store(err) => err.into(),
            SystemError::Internal(err) => Self::Internal(err),
        }
    }
}

impl From<crate::mail::MailError> for ApiError {
    fn from(err: crate::mail::MailError) -> Self {
        use crate::mail::MailError;
        match err {
            MailError::NotConfigured => Self::Unprocessable(err.to_string()),
            MailError::Busy => Self::TooManyRequests {
                message: err.to_string(),
                retry_after_secs: 60,
            },
        }
    }
}

impl From<GroupError> for ApiError {
    fn from(err: GroupError) -> Self {
        match err {
            GroupError::Invalid(message) => Self::BadRequest(message),
            GroupError::NotFound => Self::NotFound("group"),
            GroupError::UserNotFound => Self::NotFound("user"),
            GroupError::UnknownUser(_) | GroupError::UnknownGroup(_) => {
                Self::Missing(err.to_string())
            }
            GroupError::Forbidden(message) => Self::Forbidden(message),
            GroupError::Conflict(message) => Self::Conflict(message),
            GroupError::Store(err) => err.into(),
        }
    }
}
