//! `GET /api/geocode?q=`: a resident's address → the most precise point the published
//! `addresses` dataset has (住居, else 街区, else 町字; 地番 where there is no 住居表示), with
//! which precision it is, the matched part and the rest of the input. The matching rules live
//! in [`crate::address`]; this handler only checks the request and runs the lookup off the
//! request runtime, under the search routes' cap.

use super::limits::Class;
use super::replies;
use super::route::{In, Param, Route, Serve, Ty, ROUTE};
use super::{ApiError, ApiResult, AppState};
use crate::address::{Found, MAX_QUERY_CHARS};
use crate::dataset::DatasetId;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[Route {
    path: "/api/geocode",
    serve: Serve::Here(|| get(get_geocode)),
    returns: Some(replies::of::<Geocoded<'static>>),
    class: Some(Class::Search),
    tag: "risk",
    summary: "Find an address (住所) offline: the residence, block, 町字 or parcel point, with its precision",
    params: &[Param {
        name: "q",
        at: In::Query,
        required: true,
        ty: Ty::Text {
            max: MAX_QUERY_CHARS,
        },
        doc: "An address as residents write it: 泉町一丁目3-5, 岡山県サンプル市泉町1丁目3番5号, ｲｽﾞﾐﾁｮｳ1-3-5 (kanji or full-width numerals, 番地・号 or hyphens, with or without the prefecture and city). Answers found=false when no 町字 matches",
        example: "サンプル市港町一丁目1-1",
    }],
    produces: &["application/json"],
    errors: &[400],
    ..ROUTE
}];

/// `/api/geocode`'s answer: the query, whether it was found, and when it was, the point and
/// what matched beside the dataset that holds it.
#[derive(Serialize, JsonSchema)]
struct Geocoded<'a> {
    /// The query as given (trimmed).
    query: &'a str,
    /// Whether a 町字 matched.
    found: bool,
    /// `addresses`, when found.
    #[serde(skip_serializing_if = "Option::is_none")]
    dataset: Option<DatasetId>,
    #[serde(flatten)]
    place: Option<Found>,
}

async fn get_geocode(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let text = super::required_text(&q, "q", MAX_QUERY_CHARS, "an address, e.g. 泉町一丁目3-5")?;
    let snap = st.snapshot.load_full();
    let (st2, q2) = (st.clone(), text.to_string());
    // Off the request runtime: the first request after a publish may build the index.
    let found = tokio::task::spawn_blocking(move || st2.geocode.get(&snap).geocode(&q2))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let body = Geocoded {
        query: text,
        found: found.is_some(),
        dataset: found.as_ref().map(|_| DatasetId::Addresses),
        place: found,
    };
    Ok(([(header::CACHE_CONTROL, "no-cache")], Json(body)).into_response())
}
