//! The router with its layers, and the serve loop with graceful shutdown; [`http`] serves the
//! connections.

mod headers;
mod http;
mod metrics;

pub use http::raise_open_files_limit;

use std::convert::Infallible;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, header};
use axum::middleware::{from_fn, from_fn_with_state};
use axum::response::Response;
use axum::routing::get;
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower::util::BoxCloneSyncService;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;
use utoipa_swagger_ui::SwaggerUi;

use crate::config::Config;
use crate::error::{method_not_allowed_fallback, not_found_fallback, panic_response};
use crate::state::AppState;
use crate::{api, auth, jobs, ldap, mail, network, openapi, telemetry};
use headers::{browser_header, cors};
use http::ConnectionLimits;
use metrics::serve_metrics;

/// JSON bodies are small; image uploads raise this on their own routes.
pub const BODY_LIMIT: usize = 1024 * 1024;
/// How long in-flight requests get to finish after SIGTERM.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(8);
/// How long stopped tasks get to wind down after SIGTERM before they are marked.
const TASK_GRACE: Duration = Duration::from_secs(1);

/// The routes, split into public ones and ones behind the token layer, and their OpenAPI paths.
/// The routes: public ones, ones behind the token layer, uploads (behind it too, and limited in
/// number at once), and the OpenAPI document of them all.
struct Routes {
    public: Router<AppState>,
    protected: Router<AppState>,
    uploads: Router<AppState>,
    doc: utoipa::openapi::OpenApi,
}

fn routes() -> Routes {
    let (public, public_doc) = OpenApiRouter::new()
        .routes(routes!(api::auth::login))
        .routes(routes!(api::auth::setup_account))
        .routes(routes!(api::auth::request_password_reset))
        .routes(routes!(api::auth::reset_password))
        .routes(routes!(api::cloudron::get_cloudron_avatar))
        .routes(routes!(api::cloudron::get_cloudron_background))
        .routes(routes!(api::cloudron::list_languages))
        .routes(routes!(api::cloudron::get_status))
        .routes(routes!(api::profile::get_avatar))
        .routes(routes!(api::provision::activate))
        .split_for_parts();
    let (uploads, uploads_doc) = OpenApiRouter::new()
        .routes(routes!(
            api::branding::get_branding_avatar,
            api::branding::set_branding_avatar
        ))
        .routes(routes!(
            api::branding::get_branding_background,
            api::branding::set_branding_background
        ))
        .routes(routes!(api::profile::set_avatar))
        .routes(routes!(
            api::profile::get_background_image,
            api::profile::set_background_image
        ))
        .routes(routes!(
            api::profile::get_background_image_alias,
            api::profile::set_background_image_alias
        ))
        .layer(DefaultBodyLimit::max(api::uploads::UPLOAD_BODY_LIMIT))
        .split_for_parts();
    let (protected, protected_doc) = OpenApiRouter::new()
        .routes(routes!(
            api::app_passwords::list_app_passwords,
            api::app_passwords::create_app_password
        ))
        .routes(routes!(
            api::app_passwords::get_app_password,
            api::app_passwords::delete_app_password
        ))
        .routes(routes!(
            api::branding::get_cloudron_name,
            api::branding::set_cloudron_name
        ))
        .routes(routes!(
            api::branding::get_footer,
            api::branding::set_footer
        ))
        .routes(routes!(
            api::cloudron::get_language,
            api::cloudron::set_language
        ))
        .routes(routes!(
            api::cloudron::get_time_zone,
            api::cloudron::set_time_zone
        ))
        .routes(routes!(
            api::directory_server::get_directory_server_config,
            api::directory_server::set_directory_server_config
        ))
        .routes(routes!(
            api::docker::get_registry_config,
            api::docker::set_registry_config
        ))
        .routes(routes!(api::eventlog::list_events))
        .routes(routes!(api::eventlog::get_event))
        .routes(routes!(api::groups::list_groups, api::groups::create_group))
        .routes(routes!(api::groups::get_group, api::groups::delete_group))
        .routes(routes!(api::groups::set_group_name))
        .routes(routes!(api::groups::set_group_members))
        .routes(routes!(
            api::profile::get_profile,
            api::profile::update_profile
        ))
        .routes(routes!(
            api::external_ldap::get_external_ldap_config,
            api::external_ldap::set_external_ldap_config
        ))
        .routes(routes!(api::external_ldap::sync_external_ldap))
        .routes(routes!(
            api::network::get_blocklist,
            api::network::set_blocklist
        ))
        .routes(routes!(
            api::network::get_dynamic_dns,
            api::network::set_dynamic_dns
        ))
        .routes(routes!(
            api::network::get_ipv4_config,
            api::network::set_ipv4_config
        ))
        .routes(routes!(
            api::network::get_ipv6_config,
            api::network::set_ipv6_config
        ))
        .routes(routes!(api::network::get_ipv4))
        .routes(routes!(api::network::get_ipv6))
        .routes(routes!(api::notifications::list_notifications))
        .routes(routes!(
            api::notifications::get_notification,
            api::notifications::acknowledge_notification
        ))
        .routes(routes!(api::profile::change_password))
        .routes(routes!(api::profile::create_two_factor_secret))
        .routes(routes!(api::profile::enable_two_factor))
        .routes(routes!(api::profile::disable_two_factor))
        .routes(routes!(
            api::reverseproxy::get_trusted_ips,
            api::reverseproxy::set_trusted_ips
        ))
        .routes(routes!(api::reverseproxy::renew_certs))
        .routes(routes!(api::system::get_reboot, api::system::reboot))
        .routes(routes!(api::system::get_system_info))
        .routes(routes!(api::system::get_cpus))
        .routes(routes!(api::system::get_memory))
        .routes(routes!(api::system::get_block_devices))
        .routes(routes!(
            api::system::get_disk_usage,
            api::system::update_disk_usage
        ))
        .routes(routes!(api::system::get_system_logs))
        .routes(routes!(api::system::get_system_logstream))
        .routes(routes!(api::tasks::list_tasks))
        .routes(routes!(api::tasks::get_task))
        .routes(routes!(api::tasks::get_task_logs))
        .routes(routes!(api::tasks::get_task_logstream))
        .routes(routes!(api::tasks::stop_task))
        .routes(routes!(api::tokens::list_tokens, api::tokens::create_token))
        .routes(routes!(api::tokens::get_token, api::tokens::delete_token))
        .routes(routes!(
            api::user_directory::get_profile_config,
            api::user_directory::set_profile_config
        ))
        .routes(routes!(api::updater::get_updates))
        .routes(routes!(api::updater::check_for_updates))
        .routes(routes!(api::updater::update))
        .routes(routes!(
            api::updater::get_autoupdate_pattern,
            api::updater::set_autoupdate_pattern
        ))
        .routes(routes!(api::users::list_users, api::users::create_user))
        .routes(routes!(api::users::get_user, api::users::delete_user))
        .routes(routes!(api::users::update_user))
        .routes(routes!(api::users::set_user_role))
        .routes(routes!(api::users::set_user_active))
        .routes(routes!(api::users::set_user_password))
        .routes(routes!(api::users::disable_user_two_factor))
        .routes(routes!(api::users::set_user_groups))
        .routes(routes!(api::users::get_invite_link))
        .routes(routes!(api::users::send_invite_email))
        .routes(routes!(api::users::get_password_reset_link))
        .routes(routes!(api::users::send_password_reset_email))
        .routes(routes!(api::users::set_ghost))
        .split_for_parts();
    let mut doc = openapi::ApiDoc::openapi();
    doc.merge(public_doc);
    doc.merge(protected_doc);
    doc.merge(uploads_doc);
    Routes {
        public,
        protected,
        uploads,
        doc,
    }
}

/// The OpenAPI document as `boxd openapi` prints it and `/api/v1/openapi.json` serves it.
pub fn openapi_json() -> String {
    let doc = routes().doc;
    let mut json = serde_json::to_string_pretty(&doc).unwrap_or_default();
    json.push('\n');
    json
}

/// The app as connections call it: the router inside the layers every request passes.
pub type App = BoxCloneSyncService<Request, Response, Infallible>;

pub fn router(state: AppState) -> App {
    let Routes {
        public,
        protected,
        uploads,
        doc,
    } = routes();
    let spec: Arc<str> = serde_json::to_string_pretty(&doc)
        .unwrap_or_default()
        .into();
    let uploads = uploads.route_layer(from_fn_with_state(
        state.upload_slots.clone(),
        api::uploads::one_of_a_few,
    ));
    let protected = protected.merge(uploads).route_layer(from_fn_with_state(
        state.clone(),
        auth::layer::require_token,
    ));
    // The page loads only the vendored swagger-ui assets; no validator, nothing external.
    let docs_config =
        utoipa_swagger_ui::Config::new(["/api/v1/openapi.json"]).validator_url("none");
    let docs: Router<AppState> = SwaggerUi::new("/api/v1/docs").config(docs_config).into();
    let docs = docs
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(DOCS_CSP),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ));
    let serve_spec = get(move || {
        let spec = spec.clone();
        async move {
            (
                [(header::CONTENT_TYPE, "application/json")],
                format!("{spec}\n"),
            )
        }
    });

    let router = Router::new()
        .merge(public)
        .merge(protected)
        .merge(docs)
        .route("/api/v1/openapi.json", serve_spec)
        .route(
            "/.well-known/acme-challenge/{token}",
            get(api::well_known::get_acme_challenge),
        )
        .route("/setupaccount.html", get(api::pages::setup_account_page))
        .route("/passwordreset.html", get(api::pages::password_reset_page))
        .route("/account.js", get(api::pages::script))
        .route("/account.css", get(api::pages::style))
        .fallback(not_found_fallback)
        .method_not_allowed_fallback(method_not_allowed_fallback)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(from_fn_with_state(state.network.clone(), network::layer))
        .layer(CatchPanicLayer::custom(panic_response));
    // Only with a metrics listener: without one the request path does not pay for the labels.
    let router = if state.config.metrics_listen.is_some() {
        router.layer(from_fn(telemetry::metrics::track_request))
    } else {
        router
    };
    let router = router
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(telemetry::request_span)
                .on_response(telemetry::log_response)
                // Failures are logged once, where the error is rendered.
                .on_failure(()),
        )
        .with_state(state.clone());
    // Around the whole router rather than with `Router::layer`, which wraps (and clones, per
    // request) every route in each layer: these need no route.
    let app = ServiceBuilder::new()
        .option_layer(cors(&state.config.cors_origins))
        .layer(browser_header(header::REFERRER_POLICY, "no-referrer"))
        .layer(browser_header(header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .layer(browser_header(header::CACHE_CONTROL, "no-store"))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
            header::COOKIE,
        ]))
        .layer(SetRequestIdLayer::x_request_id(telemetry::NewRequestId))
        .layer(PropagateRequestIdLayer::x_request_id())
        .service(router);
    BoxCloneSyncService::new(app)
}

/// The API docs page loads its own scripts and styles only, and may not be framed.
const DOCS_CSP: &str = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
     frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Opens the store and serves on `listener` until `shutdown` resolves.
pub async fn serve(
    config: Config,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let state = AppState::start(config, None).await?;
    run(state, listener, shutdown).await
}

/// Serves until `shutdown`; then stops accepting, gives in-flight requests a bounded time, ends
/// streams and background jobs, and flushes what is buffered.
pub async fn run(
    state: AppState,
    listener: TcpListener,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener
        .local_addr()
        .context("the listener has no address")?;
    let cancel = state.shutdown.clone();
    tokio::spawn({
        let cancel = cancel.clone();
        async move {
            shutdown.await;
            cancel.cancel();
        }
    });

    let scheduler = jobs::start(&state);
    let directory = ldap::start(&state);
    let mail = mail::start(&state.mailer, state.db.clone(), cancel.clone());
    let metrics = serve_metrics(&state).await?;
    tracing::info!(listen.addr = %addr, "listening on {addr}");
    let limits = ConnectionLimits {
        total: state.config.max_connections,
        per_address: state.config.max_connections_per_address,
    };
    let app = router(state.clone());
    http::serve(
        listener,
        app,
        state.network.clone(),
        limits,
        cancel.clone(),
        SHUTDOWN_GRACE,
    )
    .await;
    tracing::info!("shutting down");
    directory.stopped().await;
    if let Some(metrics) = metrics {
        let _ = metrics.await;
    }
    scheduler.stopped().await;
    if let Some(mail) = mail {
        let _ = mail.await;
    }
    state.tasks.shut_down(TASK_GRACE).await;
    jobs::flush_last_used(state.clone()).await;
    state.db.close().await;
    tracing::info!("stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::auth::scope::RESOURCES;

    /// The resources of the routes behind the token layer (the first path segment after
    /// `/api/v1/` of every operation that declares a security scheme).
    fn protected_resources() -> BTreeSet<String> {
        let doc = serde_json::to_value(routes().doc).unwrap();
        let mut resources = BTreeSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            let secured = item
                .as_object()
                .unwrap()
                .values()
                .any(|operation| operation.get("security").is_some());
            if secured {
                let resource = path.trim_start_matches("/api/v1/").split('/').next();
                resources.insert(resource.unwrap().to_owned());
            }
        }
        resources
    }

    #[test]
    fn scopes_name_exactly_the_resources_of_the_protected_routes() {
        let known: BTreeSet<String> = RESOURCES.iter().map(|r| (*r).to_owned()).collect();
        assert_eq!(protected_resources(), known);
    }
}
