//! Simple binds: anonymous, the directory server's admin DN with the setting's secret, and
//! users under `ou=users,dc=cloudron` (RDN `cn=`, `uid=` or `mail=` holding a user id, username or
//! email) with their password (and TOTP code) or an app password. Failed binds count in the
//! throttle of HTTP logins; a successful user bind records `user.login`.

use std::net::IpAddr;

use ldap3_proto::LdapResultCode;
use ldap3_proto::proto::{LdapBindCred, LdapBindRequest};
use serde_json::json;
use sqlx::SqlitePool;

use super::dn::Dn;
use super::tree;
use crate::auth::login::{self, LoginError, Verifier};
use crate::auth::secrets;
use crate::auth::throttle::Throttle;
use crate::eventlog::{self, Action, Source};
use crate::external_ldap::ExternalLdap;

/// The throttle's account for binds as the admin DN.
const ADMIN_ACCOUNT: &str = "ldap:cn=admin,ou=system,dc=cloudron";

/// Who a connection is bound as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Bound {
    Anonymous,
    /// The admin DN, with the secret it bound with: a new secret ends the binding.
    Admin {
        secret: [u8; 32],
    },
    User(String),
}

impl Bound {
    /// The DN, for the WhoAmI operation.
    pub fn authz_id(&self) -> String {
        match self {
            Self::Anonymous => String::new(),
            Self::Admin { .. } => format!("dn:{}", tree::ADMIN),
            Self::User(id) => format!("dn:{}", tree::user_dn(id)),
        }
    }
}

/// What a bind answers: its result code and message, and the binding it leaves.
pub struct Outcome {
    pub code: LdapResultCode,
    pub message: String,
    pub bound: Bound,
}

impl Outcome {
    fn ok(bound: Bound) -> Self {
        Self {
            code: LdapResultCode::Success,
            message: String::new(),
            bound,
        }
    }

    fn refused(code: LdapResultCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            bound: Bound::Anonymous,
        }
    }
}

/// The context a bind is checked in.
pub struct Binder<'a> {
    pub db: &'a SqlitePool,
    pub throttle: &'a Throttle,
    pub external: &'a ExternalLdap,
    pub ip: IpAddr,
    /// The directory server's current secret.
    pub secret: &'a str,
}

impl Binder<'_> {
    pub async fn bind(&self, request: LdapBindRequest) -> Outcome {
        if request.version != 3 {
            return Outcome::refused(LdapResultCode::ProtocolError, "Only LDAPv3 is supported");
        }
        let LdapBindCred::Simple(password) = request.cred else {
            return Outcome::refused(
                LdapResultCode::AuthMethodNotSupported,
                "Only simple binds are supported",
            );
        };
        match (request.dn.trim().is_empty(), password.is_empty()) {
            (true, true) => return Outcome::ok(Bound::Anonymous),
            (true, false) => {
                return Outcome::refused(LdapResultCode::InvalidCredentials, "");
            }
            // RFC 4513 §5.1.2: an unauthenticated bind (a DN without a password) is refused.
            (false, true) => {
                return Outcome::refused(
                    LdapResultCode::UnwillingToPerform,
                    "Unauthenticated binds are not allowed",
                );
            }
            (false, false) => {}
        }
        let dn = Dn::parse(&request.dn).map(|dn| dn.normal());
        let admin = Dn::parse(tree::ADMIN).map(|dn| dn.normal());
        if dn.is_some() && dn == admin {
            return self.bind_admin(password);
        }
        // Anything else names a user; what names none still costs the time a user would.
        let login = dn.as_ref().and_then(user_login).unwrap_or_default();
        self.bind_user(&login, password).await
    }

    fn bind_admin(&self, password: String) -> Outcome {
        let attempt = match self.throttle.begin(self.ip, ADMIN_ACCOUNT) {
            Ok(attempt) => attempt,
            Err(limited) => {
                return Outcome::refused(LdapResultCode::UnwillingToPerform, limited.message);
            }
        };
        let sent = secrets::token_hash(&password);
        let secret = secrets::token_hash(self.secret);
        if !self.secret.is_empty() && secrets::hashes_equal(&sent, &secret) {
            self.throttle.succeeded(attempt);
            return Outcome::ok(Bound::Admin { secret });
        }
        let ip = self.ip;
        tracing::warn!(client.ip = %ip, "failed LDAP bind as the directory server admin from {ip}");
        Outcome::refused(LdapResultCode::InvalidCredentials, "")
    }

    async fn bind_user(&self, login: &str, password: String) -> Outcome {
        let verifier = Verifier {
            db: self.db,
            throttle: self.throttle,
            directory: self.external,
        };
        match login::authenticate_app(verifier, self.ip, login, password).await {
            Ok(user) => {
                let data = json!({
                    "userId": user.id,
                    "user": eventlog::public_user(&user),
                    "authType": "ldap",
                });
                let source = Source::user(&user, self.ip);
                if let Err(err) = eventlog::record(self.db, Action::UserLogin, &source, data).await
                {
                    tracing::error!(error = %err, "could not record an LDAP login: {err}");
                    return Outcome::refused(LdapResultCode::OperationsError, "Internal error");
                }
                Outcome::ok(Bound::User(user.id))
            }
            Err(LoginError::RateLimited(limited)) => {
                Outcome::refused(LdapResultCode::UnwillingToPerform, limited.message)
            }
            Err(err @ LoginError::DirectoryUnavailable) => {
                Outcome::refused(LdapResultCode::Unavailable, err.to_string())
            }
            Err(LoginError::Store(err)) => {
                tracing::error!(error = %err, "an LDAP bind failed: {err}");
                Outcome::refused(LdapResultCode::OperationsError, "Internal error")
            }
            Err(LoginError::Internal(err)) => {
                tracing::error!(error = ?err, "an LDAP bind failed");
                Outcome::refused(LdapResultCode::OperationsError, "Internal error")
            }
            Err(_) => Outcome::refused(LdapResultCode::InvalidCredentials, ""),
        }
    }
}

/// The user id, username or email a user DN names: `cn=`, `uid=` or `mail=` directly under
/// `ou=users,dc=cloudron`.
fn user_login(dn: &Dn) -> Option<String> {
    let users = Dn::parse(tree::USERS)?.normal();
    let (attr, value) = dn.rdn()?;
    let named = matches!(attr, "cn" | "uid" | "mail");
    (named && dn.parent()? == users).then(|| value.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn login(dn: &str) -> Option<String> {
        user_login(&Dn::parse(dn).unwrap().normal())
    }

    #[test]
    fn users_are_named_by_cn_uid_or_mail_under_ou_users() {
        assert_eq!(
            login("cn=Alice,ou=users,dc=cloudron").as_deref(),
            Some("alice")
        );
        assert_eq!(
            login("UID=uid-1, OU=Users,DC=Cloudron").as_deref(),
            Some("uid-1")
        );
        assert_eq!(
            login("mail=alice@example.com,ou=users,dc=cloudron").as_deref(),
            Some("alice@example.com")
        );
        assert_eq!(login("sn=alice,ou=users,dc=cloudron"), None);
        assert_eq!(login("cn=alice,ou=groups,dc=cloudron"), None);
        assert_eq!(login("cn=alice,ou=x,ou=users,dc=cloudron"), None);
    }
}
