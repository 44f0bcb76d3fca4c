//! `/api/v1/cloudron/...`: status and platform-wide preferences.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::app::AppState;
use crate::error::ApiError;
use crate::settings::{self, CloudronName};
use crate::store;

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Status {
    /// The boxd version.
    #[schema(example = "0.1.0")]
    pub version: String,
    /// Whether an owner exists.
    pub activated: bool,
    pub cloudron_name: String,
}

/// Health and identity of the server; also the readiness probe. Public.
#[utoipa::path(get, path = "/api/v1/cloudron/status", tag = "Cloudron",
    responses((status = 200, body = Status)))]
pub async fn get_status(State(state): State<AppState>) -> Result<Json<Status>, ApiError> {
    let activated = store::users::owner_exists(&state.db).await?;
    let CloudronName(cloudron_name) = settings::get(&state.db).await?;
    Ok(Json(Status {
        version: env!("CARGO_PKG_VERSION").to_owned(),
        activated,
        cloudron_name,
    }))
}
