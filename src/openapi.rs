//! The OpenAPI document root: info, tags and the two security schemes. Paths come from the
//! router (`utoipa_axum::routes!`), so the document and the routes cannot drift.

use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::error::ErrorBody;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "boxd",
        description = "The Cloudron REST API, served by boxd. Authenticate with \
                       `Authorization: Bearer <token>` or `?access_token=<token>`."
    ),
    tags(
        (name = "App Passwords", description = "App passwords can be used as a security measure in desktop, email & mobile clients. They authenticate apps (LDAP, mail), not this API."),
        (name = "Auth", description = "Password login (boxd's API-level equivalent of Cloudron's OIDC login)."),
        (name = "Branding", description = "The Branding configuration can be used to customize various aspects of the Cloudron like it's name, logo and footer."),
        (name = "Cloudron", description = "Cloudron Healthcheck route and various global configuration like language & timezone can be found here."),
        (name = "Directory Server", description = "Directory Server Configuration"),
        (name = "Docker", description = "Docker related configuration."),
        (name = "Eventlog", description = "Cloudron server activity can be monitored using the Eventlog API."),
        (name = "External LDAP", description = "The External Directory connector allows users from your existing LDAP or active directory to authenticate with Cloudron."),
        (name = "Groups", description = "Groups of users. Apps signing in through the directory server authorise by group (memberof)."),
        (name = "Network", description = "Networking and Firewall related configuration."),
        (name = "Notifications", description = "Notifications about the platform: failed tasks, users added or removed, reboot required, updates available."),
        (name = "Profile", description = "User's profile information"),
        (name = "Provision", description = "Activation of a fresh server: creates the owner."),
        (name = "Reverse Proxy", description = "The Reverse Proxy manages the nginx config and TLS certificates."),
        (name = "System", description = "Server related information."),
        (name = "Tasks", description = "Tasks are asynchronous operations performed in the background. Each task can be monitored separately using the task id."),
        (name = "Tokens", description = "Tokens are used for API authentication."),
        (name = "Updater", description = "Updater checks and manages updates of the platform: a signed release feed, staged verified updates, and the automatic update schedule."),
        (name = "User Directory", description = "Settings & Configuration for the Cloudron User Directory."),
        (name = "Users", description = "Add, update and remove users from Cloudron User Directory."),
    ),
    components(schemas(ErrorBody)),
    modifiers(&SecuritySchemes)
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer_auth",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        components.add_security_scheme(
            "query_auth",
            SecurityScheme::ApiKey(ApiKey::Query(ApiKeyValue::new("access_token"))),
        );
    }
}
