//! `/api/v1/network/...`: blocklist, dynamic DNS, and the server's public addresses, for admins.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Empty;
use crate::auth::Admin;
use crate::error::{ApiError, ApiJson, ErrorBody};
use crate::network::{Family, IpConfig, IpEntries, Policy, detect};
use crate::settings::{Blocklist, DynamicDns, Ipv4Config, Ipv6Config};
use crate::state::AppState;

#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlocklistBody {
    /// IpEntries: addresses or CIDR ranges, one per line; `#` starts a comment.
    #[schema(example = "# scanners\n192.0.2.0/24\n2001:db8::1")]
    pub blocklist: String,
}

/// The blocklist: clients refused (403) on every route.
#[utoipa::path(get, path = "/api/v1/network/blocklist", tag = "Network",
    responses((status = 200, body = BlocklistBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_blocklist(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<BlocklistBody>, ApiError> {
    let Blocklist(blocklist) = state.settings.get().await?;
    Ok(Json(BlocklistBody { blocklist }))
}

/// Set the blocklist; it applies at once. A list that holds your own address is refused.
#[utoipa::path(post, path = "/api/v1/network/blocklist", tag = "Network", request_body = BlocklistBody,
    responses((status = 200, body = Empty),
              (status = 400, description = "A bad line, or your own address", body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_blocklist(
    Admin(caller): Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<BlocklistBody>,
) -> Result<Json<Empty>, ApiError> {
    let entries = IpEntries::parse_field("blocklist", &req.blocklist)?;
    let change = |policy: &Policy| {
        if entries.contains(caller.ip) {
            return Err(ApiError::bad_request(format!(
                "The blocklist contains your own address {}; you would lock yourself out",
                caller.ip
            )));
        }
        Ok(Policy {
            blocklist: entries.clone(),
            ..policy.clone()
        })
    };
    let store = async { Ok(state.settings.set(Blocklist(req.blocklist.clone())).await?) };
    state.network.update(change, store).await?;
    Ok(Json(Empty {}))
}

/// Whether the dynamic DNS job keeps the DNS records on the current public addresses.
#[utoipa::path(get, path = "/api/v1/network/dynamic_dns", tag = "Network",
    responses((status = 200, body = DynamicDns), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_dynamic_dns(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<DynamicDns>, ApiError> {
    Ok(Json(state.settings.get().await?))
}

/// Turn dynamic DNS on or off.
#[utoipa::path(post, path = "/api/v1/network/dynamic_dns", tag = "Network", request_body = DynamicDns,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_dynamic_dns(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<DynamicDns>,
) -> Result<Json<Empty>, ApiError> {
    state.settings.set(req).await?;
    Ok(Json(Empty {}))
}

/// How the IPv4 address is found [default: `generic`].
#[utoipa::path(get, path = "/api/v1/network/ipv4_config", tag = "Network",
    responses((status = 200, body = IpConfig), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_ipv4_config(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<IpConfig>, ApiError> {
    let Ipv4Config(config) = state.settings.get().await?;
    Ok(Json(config))
}

/// Set how the IPv4 address is found: `noop`, `fixed` (`ip`), `generic`, or
/// `network-interface` (`ifname`; the spec's `interface`/`iface` are accepted too).
#[utoipa::path(post, path = "/api/v1/network/ipv4_config", tag = "Network", request_body = IpConfig,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_ipv4_config(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<IpConfig>,
) -> Result<Json<Empty>, ApiError> {
    state
        .settings
        .set(Ipv4Config(req.validate(Family::V4)?))
        .await?;
    Ok(Json(Empty {}))
}

/// How the IPv6 address is found [default: `noop`].
#[utoipa::path(get, path = "/api/v1/network/ipv6_config", tag = "Network",
    responses((status = 200, body = IpConfig), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_ipv6_config(
    _: Admin,
    State(state): State<AppState>,
) -> Result<Json<IpConfig>, ApiError> {
    let Ipv6Config(config) = state.settings.get().await?;
    Ok(Json(config))
}

/// Set how the IPv6 address is found (as for IPv4).
#[utoipa::path(post, path = "/api/v1/network/ipv6_config", tag = "Network", request_body = IpConfig,
    responses((status = 200, body = Empty), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn set_ipv6_config(
    _: Admin,
    State(state): State<AppState>,
    ApiJson(req): ApiJson<IpConfig>,
) -> Result<Json<Empty>, ApiError> {
    state
        .settings
        .set(Ipv6Config(req.validate(Family::V6)?))
        .await?;
    Ok(Json(Empty {}))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct IpBody {
    /// The address, or null when the provider is `noop`.
    #[schema(example = "5.75.134.144")]
    pub ip: Option<String>,
}

/// The server's IPv4 address, found through the configured provider.
#[utoipa::path(get, path = "/api/v1/network/ipv4", tag = "Network",
    responses((status = 200, body = IpBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 424, description = "Detection failed", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_ipv4(_: Admin, State(state): State<AppState>) -> Result<Json<IpBody>, ApiError> {
    let Ipv4Config(config) = state.settings.get().await?;
    let ip = detect::resolve(
        &state.http,
        &config,
        Family::V4,
        &state.config.ipv4_detect_url,
    )
    .await?;
    Ok(Json(IpBody {
        ip: ip.map(|ip| ip.to_string()),
    }))
}

/// The server's IPv6 address, found through the configured provider.
#[utoipa::path(get, path = "/api/v1/network/ipv6", tag = "Network",
    responses((status = 200, body = IpBody), (status = 401, body = ErrorBody),
              (status = 403, body = ErrorBody),
              (status = 424, description = "Detection failed", body = ErrorBody)),
    security(("bearer_auth" = []), ("query_auth" = [])))]
pub async fn get_ipv6(_: Admin, State(state): State<AppState>) -> Result<Json<IpBody>, ApiError> {
    let Ipv6Config(config) = state.settings.get().await?;
    let ip = detect::resolve(
        &state.http,
        &config,
        Family::V6,
        &state.config.ipv6_detect_url,
    )
    .await?;
    Ok(Json(IpBody {
        ip: ip.map(|ip| ip.to_string()),
    }))
}
