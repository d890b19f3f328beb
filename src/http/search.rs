//! `GET /api/search?q=&limit=`: find wards, shelters and roads by name for the resident map, and
//! `GET /api/shelters/{fid}`: one shelter with its stockpile rows (the map's shelter detail).
//!
//! The finding and the detail are `crate::search` (no HTTP); these handlers parse the request,
//! run them off the request runtime and answer.

use super::limits::Class;
use super::replies;
use super::route::{path_typed, query, In, Param, Route, Serve, Ty, ROUTE};
use super::{ApiError, ApiResult, AppState};
pub use crate::search::*;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// Results when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 10;
/// Largest `limit` accepted.
pub const MAX_LIMIT: usize = 50;
/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 100;

const LIMIT: Ty = Ty::Int {
    min: 1,
    max: MAX_LIMIT as i64,
};

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[
    Route {
        path: "/api/search",
        serve: Serve::Here(|| get(get_search)),
        returns: Some(replies::of::<Results>),
        class: Some(Class::Search),
        tag: "risk",
        summary: "Find wards, shelters and roads by name (width, case and kana insensitive); an address /api/geocode finds to a house, block or parcel comes first (kind address, with its precision)",
        params: &[
            Param {
                name: "q",
                at: In::Query,
                required: true,
                ty: Ty::Text {
                    max: MAX_QUERY_CHARS,
                },
                doc: "Name, reading or English name to look for (e.g. 小学校, しょうがっこう, ｼｮｳｶﾞｯｺｳ, school)",
                example: "school",
            },
            query("limit", LIMIT, "Most results to return (default 10)"),
        ],
        produces: &["application/json"],
        errors: &[400],
        ..ROUTE
    },
    Route {
        path: "/api/shelters/{fid}",
        serve: Serve::Here(|| get(get_shelter)),
        returns: Some(replies::of::<crate::search::ShelterDetail>),
        tag: "risk",
        summary: "One shelter with the fields residents need and its stockpile rows",
        params: &[path_typed(
            "fid",
            Ty::Int {
                min: i64::MIN,
                max: i64::MAX,
            },
            "Feature id in the shelters dataset (404 when there is none)",
            "1",
        )],
        produces: &["application/json"],
        errors: &[400, 404],
        ..ROUTE
    },
];

/// `/api/search`'s answer.
#[derive(Serialize, JsonSchema)]
struct Results<'a> {
    /// The query as searched (trimmed).
    query: &'a str,
    /// How many results follow.
    count: usize,
    /// Best first; an address point the query names comes before names.
    results: Vec<crate::search::Hit>,
}

fn parse_limit(q: &HashMap<String, String>) -> ApiResult<usize> {
    match q.get("limit").map(|s| s.trim()) {
        None => Ok(DEFAULT_LIMIT),
        Some(s) => match s.parse::<usize>() {
            Ok(n) if LIMIT.admits(n as i64) => Ok(n),
            _ => Err(ApiError::BadRequest(format!(
                "limit must be an integer from 1 to {MAX_LIMIT}, got {s:?}"
            ))),
        },
    }
}

async fn get_search(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let text = super::required_text(&q, "q", MAX_QUERY_CHARS, "a ward, shelter or road name")?;
    let limit = parse_limit(&q)?;
    let snap = st.snapshot.load_full();
    // Off the request runtime (one per core, shared with cached tiles); how many run at once
    // is capped by `http::limits`.
    let (st2, q2) = (st.clone(), text.to_string());
    let hits = tokio::task::spawn_blocking(move || {
        let mut hits = st2.search.get(&snap).search(&q2, limit);
        // An address the resident typed is what they look for: its point comes first. Only
        // below the 町字 (a house, block or parcel number matched): 「桜台小学校」 starts with the
        // 町字 桜台 but asks for the school, and a 町字 alone is already a ward hit.
        let found = st2.geocode.get(&snap).geocode(&q2);
        if let Some(a) = found.filter(|a| a.precision != crate::address::Precision::Machiaza) {
            hits.insert(0, address_hit(a));
            hits.truncate(limit);
        }
        hits
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [(header::CACHE_CONTROL, "no-cache")],
        Json(Results {
            query: text,
            count: hits.len(),
            results: hits,
        }),
    )
        .into_response())
}

async fn get_shelter(
    State(st): State<Arc<AppState>>,
    Path(fid): Path<String>,
) -> ApiResult<Response> {
    let n: i64 = fid
        .trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("fid must be an integer, got {fid:?}")))?;
    let snap = st.snapshot.load_full();
    let v = shelter_detail(&snap, n)
        .ok_or_else(|| ApiError::NotFound(format!("no published shelter with fid {n}")))?;
    Ok(([(header::CACHE_CONTROL, "no-cache")], Json(v)).into_response())
}
