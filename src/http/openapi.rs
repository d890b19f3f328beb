//! `/openapi.json` (placeholder: being written).

use super::AppState;
use axum::Router;
use std::sync::Arc;

/// The OpenAPI 3.0 document for every endpoint, with links relative to `base`.
pub fn document(base: &str) -> serde_json::Value {
    serde_json::json!({"openapi": "3.0.3", "info": {"title": "machimap", "version": env!("CARGO_PKG_VERSION")}, "servers": [{"url": base}], "paths": {}})
}

/// Routes of this module.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
}
