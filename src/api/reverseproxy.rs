//! `/api/v1/reverseproxy/...`: the proxies whose `X-Forwarded-For` is believed, and the renewal
//! of the dashboard's certificate.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use super::updater::TaskStarted;
use crate::auth::Admin;
use crate::certs;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::network::{IpEntries, Policy, TrustedProxies, resolve_client_ip};
use crate::settings::TrustedIps;
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustedIpsBody {
    /// IpEntries: addresses or CIDR ranges, one per line; `#` starts a comment.
    #[schema(example = "# nginx on the host\n172.17.0.1")]
    pub trusted_ips: String,
}

/// The trusted reverse proxies.
#[utoipa::path(get, path = "/api/v1/reverseproxy/trusted_ips", tag = "Reverse Proxy",
    responses((status = 200, body = TrustedIpsBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_trusted_ips(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<TrustedIpsBody>, ApiError> {
    let TrustedIps(trusted_ips) = state.settings.get().await?;
    Ok(Json(TrustedIpsBody { trusted_ips }))
}

/// Set the trusted proxies (besides loopback peers, trusted unless boxd runs with
/// `--no-trust-loopback-proxy`); it applies at once. A list under which this very request would
/// come from a blocked address is refused.
#[utoipa::path(post, path = "/api/v1/reverseproxy/trusted_ips", tag = "Reverse Proxy",
    request_body = TrustedIpsBody,
    responses((status = 200, body = Empty),
              (status = 400, description = "A bad line, or it would lock you out", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_trusted_ips(
    _: Admin,
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<TrustedIpsBody>,
) -> Result<Json<Empty>, ApiError> {
    let listed = IpEntries::parse_field("trustedIps", &req.trusted_ips)?;
    let change = |policy: &Policy| {
        let trusted = TrustedProxies {
            listed: listed.clone(),
            ..policy.trusted.clone()
        };
        let ip = resolve_client_ip(peer.ip(), &headers, &trusted).map_err(ApiError::bad_request)?;
        if policy.blocklist.contains(ip) {
            return Err(ApiError::bad_request(format!(
                "With these trusted proxies your address would be {ip}, which is blocklisted"
            )));
        }
        Ok(Policy {
            trusted,
            ..policy.clone()
        })
    };
    let store = async {
        Ok(state
            .settings
            .set(TrustedIps(req.trusted_ips.clone()))
            .await?)
    };
    state.network.update(change, store).await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct RenewCertsRequest {
    /// Obtain a new certificate even when the installed one is valid.
    #[serde(default)]
    #[schema(default = false)]
    pub rebuild: bool,
}

/// Check the certificate of the dashboard domain: a `checkCerts` task obtains one over ACME
/// when none is installed, it expires within 30 days, or `rebuild` is set.
#[utoipa::path(post, path = "/api/v1/reverseproxy/renew_certs", tag = "Reverse Proxy",
    request_body(content = Option<RenewCertsRequest>, description = "Optional; `{}` when absent"),
    responses((status = 202, body = TaskStarted), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
              (status = 409, description = "A certificate check is already running", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn renew_certs(
    Admin(caller): Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<RenewCertsRequest>,
) -> Result<(StatusCode, Json<TaskStarted>), ApiError> {
    let task = certs::renew(&state, req.rebuild, caller.source()).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(TaskStarted {
            task_id: task.to_string(),
        }),
    ))
}
