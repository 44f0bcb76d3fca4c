//! Roles, and how they rank.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "TEXT", rename_all = "lowercase")]
pub enum Role {
    Owner,
    Admin,
    UserManager,
    MailManager,
    User,
}

impl Role {
    /// usermanager and mailmanager share a rank (DESIGN.md §2).
    fn rank(self) -> u8 {
        match self {
            Self::User => 0,
            Self::UserManager | Self::MailManager => 1,
            Self::Admin => 2,
            Self::Owner => 3,
        }
    }

    pub fn at_least(self, min: Role) -> bool {
        self.rank() >= min.rank()
    }

    pub fn outranks(self, other: Role) -> bool {
        self.rank() > other.rank()
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::UserManager => "usermanager",
            Self::MailManager => "mailmanager",
            Self::User => "user",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_order_the_roles() {
        assert!(Role::Owner.at_least(Role::Admin));
        assert!(Role::Admin.at_least(Role::UserManager));
        assert!(Role::MailManager.at_least(Role::UserManager));
        assert!(Role::UserManager.at_least(Role::MailManager));
        assert!(!Role::User.at_least(Role::UserManager));
        assert!(!Role::Admin.at_least(Role::Owner));
        assert!(Role::Owner.outranks(Role::Admin) && !Role::Admin.outranks(Role::Admin));
    }

    #[test]
    fn roles_use_cloudron_spellings() {
        assert_eq!(
            serde_json::to_value(Role::UserManager).unwrap(),
            "usermanager"
        );
        let role: Role = serde_json::from_value("mailmanager".into()).unwrap();
        assert_eq!(role, Role::MailManager);
    }
}
