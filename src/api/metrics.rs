//! `GET /metrics` on the metrics listener (`--metrics-listen`), never on the API's: the
//! Prometheus text exposition. Not part of the Cloudron API, so not in the OpenAPI document.

use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::error::ApiError;
use crate::state::AppState;
use crate::telemetry;

/// The Prometheus text format, version 0.0.4.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

pub async fn get_metrics(
    State(state): State<AppState>,
    Extension(handle): Extension<PrometheusHandle>,
) -> Result<impl IntoResponse, ApiError> {
    let text = telemetry::metrics::render(&state, &handle).await?;
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], text))
}
