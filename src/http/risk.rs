//! `/api/risk` (placeholder: being written).

use super::AppState;
use axum::Router;
use std::sync::Arc;

/// Routes of this module.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
}
