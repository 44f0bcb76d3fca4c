//! Settings of the integrations: the Docker registry, the directory server (boxd as an LDAP
//! server) and an external LDAP directory. Each holds a secret that GET never shows.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{Setting, mask, merge_secret};
use crate::error::Invalid;
use crate::network::IpEntries;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum RegistryProvider {
    Aws,
    Digitalocean,
    Dockerhub,
    #[serde(rename = "google-cloud")]
    GoogleCloud,
    Linode,
    Quay,
    Treescale,
    Other,
    #[default]
    Noop,
}

/// A private Docker registry for the images of custom apps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryConfig {
    pub provider: RegistryProvider,
    #[schema(example = "registry.example.com")]
    pub server_address: String,
    pub username: String,
    pub email: String,
    /// `********` when set (never shown); send it back unchanged to keep the stored password.
    pub password: String,
}

impl Setting for RegistryConfig {
    const NAME: &'static str = "registry_config";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistryConfigRequest {
    pub provider: RegistryProvider,
    pub server_address: Option<String>,
    pub username: Option<String>,
    pub email: Option<String>,
    /// `********` keeps the stored password.
    pub password: Option<String>,
}

impl RegistryConfig {
    /// Every provider but `noop` needs a server address, a username and a password.
    pub fn from_request(req: RegistryConfigRequest, stored: &Self) -> Result<Self, Invalid> {
        let server_address = req.server_address.unwrap_or_default().trim().to_owned();
        let username = req.username.unwrap_or_default();
        let same = server_address == stored.server_address && username == stored.username;
        let config = Self {
            provider: req.provider,
            password: merge_secret("password", req.password, &stored.password, same)?,
            server_address,
            username,
            email: req.email.unwrap_or_default(),
        };
        if config.provider != RegistryProvider::Noop {
            required("serverAddress", &config.server_address)?;
            required("username", &config.username)?;
            required("password", &config.password)?;
        }
        Ok(config)
    }

    pub fn masked(&self) -> Self {
        Self {
            password: mask(&self.password),
            ..self.clone()
        }
    }
}

/// boxd as an LDAP server for apps outside it; the server reads this struct.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct DirectoryServerConfig {
    pub enabled: bool,
    /// `********` when set (never shown); send it back unchanged to keep the stored secret.
    pub secret: String,
    /// IpEntries: the clients allowed to connect.
    #[schema(example = "# office\n5.75.0.0/16\n2604:a880:1:4a::2:7000")]
    pub allowlist: String,
}

impl Setting for DirectoryServerConfig {
    const NAME: &'static str = "directory_server_config";
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct DirectoryServerConfigRequest {
    pub enabled: bool,
    /// `********` keeps the stored secret.
    pub secret: Option<String>,
    pub allowlist: Option<String>,
}

impl DirectoryServerConfig {
    /// The allowlist must parse; enabling needs a secret and at least one allowed entry.
    pub fn from_request(req: DirectoryServerConfigRequest, stored: &Self) -> Result<Self, Invalid> {
        let allowlist = req.allowlist.unwrap_or_default();
        let entries = IpEntries::parse_field("allowlist", &allowlist)?;
        let config = Self {
            enabled: req.enabled,
            secret: merge_secret("secret", req.secret, &stored.secret, true)?,
            allowlist,
        };
        if config.enabled {
            required("secret", &config.secret)?;
            if entries.is_empty() {
                return Err(Invalid::new(
                    "allowlist needs at least one entry to enable the directory server",
                ));
            }
        }
        Ok(config)
    }

    /// The allowed clients, as the LDAP server checks them.
    pub fn allowed(&self) -> IpEntries {
        IpEntries::parse(&self.allowlist).unwrap_or_default()
    }

    pub fn masked(&self) -> Self {
        Self {
            secret: mask(&self.secret),
            ..self.clone()
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum LdapProvider {
    Ad,
    Cloudron,
    Jumpcloud,
    Okta,
    Univention,
    Other,
    #[default]
    Noop,
}

/// An external LDAP or Active Directory that users are synced from.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalLdapConfig {
    pub provider: LdapProvider,
    /// `ldap://` or `ldaps://` URL of the directory.
    #[schema(example = "ldaps://ldap.example.com")]
    pub url: String,
    pub base_dn: String,
    pub username_field: String,
    pub filter: String,
    pub group_base_dn: String,
    pub bind_dn: String,
    /// `********` when set (never shown); send it back unchanged to keep the stored password.
    pub bind_password: String,
}

impl Setting for ExternalLdapConfig {
    const NAME: &'static str = "external_ldap_config";
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ExternalLdapConfigRequest {
    pub provider: LdapProvider,
    pub url: Option<String>,
    pub base_dn: Option<String>,
    pub username_field: Option<String>,
    pub filter: Option<String>,
    pub group_base_dn: Option<String>,
    pub bind_dn: Option<String>,
    /// `********` keeps the stored password.
    pub bind_password: Option<String>,
}

impl ExternalLdapConfig {
    /// Any provider but `noop` needs an ldap(s) URL, a base DN and a username field.
    pub fn from_request(req: ExternalLdapConfigRequest, stored: &Self) -> Result<Self, Invalid> {
        let url = req.url.unwrap_or_default().trim().to_owned();
        let bind_dn = req.bind_dn.unwrap_or_default();
        let same = url == stored.url && bind_dn == stored.bind_dn;
        let config = Self {
            provider: req.provider,
            bind_password: merge_secret(
                "bindPassword",
                req.bind_password,
                &stored.bind_password,
                same,
            )?,
            url,
            base_dn: req.base_dn.unwrap_or_default(),
            username_field: req.username_field.unwrap_or_default(),
            filter: req.filter.unwrap_or_default(),
            group_base_dn: req.group_base_dn.unwrap_or_default(),
            bind_dn,
        };
        if config.provider != LdapProvider::Noop {
            let host = config
                .url
                .strip_prefix("ldaps://")
                .or_else(|| config.url.strip_prefix("ldap://"));
            if host.is_none_or(|host| host.is_empty() || host.starts_with('/')) {
                return Err(Invalid::new("url must be an ldap:// or ldaps:// URL"));
            }
            required("baseDn", &config.base_dn)?;
            required("usernameField", &config.username_field)?;
            // It goes into search filters as is: an attribute name (RFC 4512 descr), nothing else.
            let field = config.username_field.as_bytes();
            if !field.first().is_some_and(u8::is_ascii_alphabetic)
                || !field
                    .iter()
                    .all(|c| c.is_ascii_alphanumeric() || *c == b'-')
            {
                return Err(Invalid::new("usernameField must be an attribute name"));
            }
        }
        Ok(config)
    }

    pub fn masked(&self) -> Self {
        Self {
            bind_password: mask(&self.bind_password),
            ..self.clone()
        }
    }
}

fn required(field: &str, value: &str) -> Result<(), Invalid> {
    if value.trim().is_empty() {
        return Err(Invalid::new(format!("{field} is required")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::SECRET_PLACEHOLDER;

    fn registry(provider: RegistryProvider, password: Option<&str>) -> RegistryConfigRequest {
        RegistryConfigRequest {
            provider,
            server_address: Some("registry.example.com".into()),
            username: Some("me".into()),
            email: None,
            password: password.map(Into::into),
        }
    }

    #[test]
    fn registry_secrets_are_masked_and_kept_by_the_placeholder() {
        let stored = RegistryConfig::from_request(
            registry(RegistryProvider::Quay, Some("s3cret")),
            &RegistryConfig::default(),
        )
        .unwrap();
        assert_eq!(stored.masked().password, SECRET_PLACEHOLDER);
        let kept = RegistryConfig::from_request(
            registry(RegistryProvider::Quay, Some(SECRET_PLACEHOLDER)),
            &stored,
        )
        .unwrap();
        assert_eq!(kept.password, "s3cret");
        let missing = RegistryConfig::from_request(registry(RegistryProvider::Quay, None), &stored);
        assert!(missing.is_err(), "a real provider needs a password");
        assert!(
            RegistryConfig::from_request(registry(RegistryProvider::Noop, None), &stored).is_ok()
        );
    }

    #[test]
    fn enabling_the_directory_server_needs_a_secret_and_an_allowlist() {
        let request =
            |enabled, secret: Option<&str>, allowlist: &str| DirectoryServerConfigRequest {
                enabled,
                secret: secret.map(Into::into),
                allowlist: Some(allowlist.into()),
            };
        let none = DirectoryServerConfig::default();
        assert!(
            DirectoryServerConfig::from_request(request(true, None, "10.0.0.0/8"), &none).is_err()
        );
        assert!(
            DirectoryServerConfig::from_request(
                request(true, Some("s"), "# only a comment"),
                &none
            )
            .is_err()
        );
        assert!(
            DirectoryServerConfig::from_request(request(false, None, "bad line"), &none).is_err()
        );
        let on = DirectoryServerConfig::from_request(request(true, Some("s"), "10.0.0.0/8"), &none)
            .unwrap();
        assert!(on.allowed().contains("10.1.1.1".parse().unwrap()));
    }

    #[test]
    fn external_ldap_needs_an_ldap_url_unless_off() {
        let request = |url: &str| ExternalLdapConfigRequest {
            provider: LdapProvider::Other,
            url: Some(url.into()),
            base_dn: Some("ou=users,dc=example,dc=com".into()),
            username_field: Some("uid".into()),
            filter: None,
            group_base_dn: None,
            bind_dn: None,
            bind_password: None,
        };
        let none = ExternalLdapConfig::default();
        assert!(
            ExternalLdapConfig::from_request(request("ldaps://ldap.example.com"), &none).is_ok()
        );
        assert!(ExternalLdapConfig::from_request(request("ldap://10.0.0.1:389"), &none).is_ok());
        for bad in ["https://ldap.example.com", "ldap://", "docker.io", ""] {
            assert!(
                ExternalLdapConfig::from_request(request(bad), &none).is_err(),
                "{bad}"
            );
        }
        let field = |field: &str| ExternalLdapConfigRequest {
            username_field: Some(field.into()),
            ..request("ldap://10.0.0.1")
        };
        for good in ["uid", "sAMAccountName", "x-500-name"] {
            assert!(
                ExternalLdapConfig::from_request(field(good), &none).is_ok(),
                "{good}"
            );
        }
        for bad in ["uid)(cn=*", "1uid", "u id", "uid*"] {
            assert!(
                ExternalLdapConfig::from_request(field(bad), &none).is_err(),
                "{bad}"
            );
        }
    }
}
