//! Platform-wide preferences: name, language, time zone, profile policy.

use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Setting;
use crate::error::Invalid;

/// The name shown in the dashboard, emails and `/cloudron/status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudronName(pub String);

impl Default for CloudronName {
    fn default() -> Self {
        Self("Cloudron".into())
    }
}

impl Setting for CloudronName {
    const NAME: &'static str = "cloudron_name";
}

/// `/user_directory/profile_config`: whether users may edit their profile, and whether 2FA is
/// mandatory.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ProfileConfig {
    /// Non-admins cannot change their email, fallback email or display name.
    #[serde(rename = "lockUserProfiles")]
    pub lock_user_profiles: bool,
    /// Users without 2FA are told to set it up (login and profile report it).
    #[serde(rename = "mandatory2FA")]
    pub mandatory_2fa: bool,
}

impl Setting for ProfileConfig {
    const NAME: &'static str = "profile_config";
}

impl CloudronName {
    /// 1 to 64 characters.
    pub fn new(name: &str) -> Result<Self, Invalid> {
        let name = name.trim();
        match name.chars().count() {
            0 => Err(Invalid::new("name is empty")),
            65.. => Err(Invalid::new("name must be at most 64 characters")),
            _ => Ok(Self(name.to_owned())),
        }
    }
}

/// The footer of the dashboard and login pages: markdown, where `%YEAR%` and `%VERSION%` stand
/// for the current year and the version.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Footer(pub String);

impl Setting for Footer {
    const NAME: &'static str = "footer";
}

impl Footer {
    pub const MAX_CHARS: usize = 4096;

    pub fn new(footer: &str) -> Result<Self, Invalid> {
        if footer.chars().count() > Self::MAX_CHARS {
            return Err(Invalid::new(format!(
                "footer must be at most {} characters",
                Self::MAX_CHARS
            )));
        }
        Ok(Self(footer.to_owned()))
    }
}

/// The languages the dashboard has translations for.
pub const LANGUAGES: &[&str] = &[
    "de", "en", "es", "fr", "it", "nl", "pl", "pt", "ru", "zh_Hans",
];

/// The default language of the dashboard, login page and emails.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Language(pub String);

impl Default for Language {
    fn default() -> Self {
        Self("en".into())
    }
}

impl Setting for Language {
    const NAME: &'static str = "language";
}

impl Language {
    pub fn new(language: &str) -> Result<Self, Invalid> {
        if LANGUAGES.contains(&language) {
            Ok(Self(language.to_owned()))
        } else {
            Err(Invalid::new("Invalid language"))
        }
    }
}

/// The IANA zone that schedules run in; the server and its data stay in UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimeZone(#[serde(with = "tz_name")] pub Tz);

impl Default for TimeZone {
    fn default() -> Self {
        Self(Tz::UTC)
    }
}

impl Setting for TimeZone {
    const NAME: &'static str = "time_zone";
}

impl TimeZone {
    pub fn new(name: &str) -> Result<Self, Invalid> {
        name.parse::<Tz>()
            .map(Self)
            .map_err(|_| Invalid::new("Bad timeZone"))
    }
}

mod tz_name {
    use chrono_tz::Tz;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(tz: &Tz, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(tz.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tz, D::Error> {
        let name = String::deserialize(deserializer)?;
        name.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_languages_and_zones_are_checked() {
        assert_eq!(CloudronName::new(" Home ").unwrap().0, "Home");
        assert!(CloudronName::new("").is_err());
        assert!(CloudronName::new(&"x".repeat(65)).is_err());
        assert!(CloudronName::new(&"é".repeat(64)).is_ok());
        assert!(Language::new("de").is_ok() && Language::new("xx").is_err());
        assert_eq!(
            TimeZone::new("Europe/Zurich").unwrap().0,
            chrono_tz::Europe::Zurich
        );
        assert!(TimeZone::new("Mars/Olympus").is_err() && TimeZone::new("").is_err());
        assert!(Footer::new(&"é".repeat(4096)).is_ok());
        assert!(Footer::new(&"x".repeat(4097)).is_err());
        let stored = serde_json::to_string(&TimeZone::new("Africa/Lome").unwrap()).unwrap();
        assert_eq!(stored, "\"Africa/Lome\"");
    }
}
