//! `/api/v1/reverseproxy/trusted_ips`: the proxies whose `X-Forwarded-For` is believed.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::network::{IpEntries, Policy, resolve_client_ip};
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

/// Set the trusted proxies; it applies at once. A list under which this very request would
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
    let trusted = IpEntries::parse_field("trustedIps", &req.trusted_ips)?;
    let change = |policy: &Policy| {
        let ip = resolve_client_ip(peer.ip(), &headers, &trusted).map_err(ApiError::bad_request)?;
        if policy.blocklist.contains(ip) {
            return Err(ApiError::bad_request(format!(
                "With these trusted proxies your address would be {ip}, which is blocklisted"
            )));
        }
        Ok(Policy {
            trusted: trusted.clone(),
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
