//! The metrics listener, apart from the API's.

use std::future::IntoFuture;

use anyhow::Context;
use axum::routing::get;
use axum::{Extension, Router};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::error::not_found_fallback;
use crate::state::AppState;
use crate::{api, telemetry};

/// Serves `GET /metrics` on `--metrics-listen`, when set, until shutdown; its own listener, so
/// the public proxy in front of the API never exposes it by accident.
pub(super) async fn serve_metrics(state: &AppState) -> anyhow::Result<Option<JoinHandle<()>>> {
    let Some(listen) = state.config.metrics_listen else {
        return Ok(None);
    };
    let handle = telemetry::metrics::recorder()?;
    let listener = TcpListener::bind(listen)
        .await
        .with_context(|| format!("cannot listen for metrics on {listen}"))?;
    let addr = listener
        .local_addr()
        .context("the listener has no address")?;
    tracing::info!(metrics.addr = %addr, "metrics at http://{addr}/metrics");
    let app = Router::new()
        .route("/metrics", get(api::metrics::get_metrics))
        .fallback(not_found_fallback)
        .layer(Extension(handle.clone()))
        .with_state(state.clone());
    let cancel = state.shutdown.clone();
    Ok(Some(tokio::spawn(async move {
        let server = axum::serve(listener, app).with_graceful_shutdown(cancel.cancelled_owned());
        let mut server = std::pin::pin!(server.into_future());
        let mut upkeep = tokio::time::interval(telemetry::metrics::UPKEEP_EVERY);
        loop {
            tokio::select! {
                served = &mut server => {
                    if let Err(err) = served {
                        tracing::error!(error = %err, "the metrics listener failed");
                    }
                    return;
                }
                _ = upkeep.tick() => handle.run_upkeep(),
            }
        }
    })))
}
