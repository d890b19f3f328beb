//! `GET /api/risk?lat=&lon=&lang=ja|en|easy|zh-Hans|zh-Hant|ko|vi|pt&floors=N`: hazard zones at a point, the map's
//! coverage there, the evacuation decision for a home of N storeys, and the nearest suitable
//! shelters with their status (logic in `crate::risk`).

use super::limits::Class;
use super::replies;
use super::route::{query, In, Param, Route, Serve, Ty, ROUTE};
use super::{ApiError, ApiResult, AppState};
use crate::risk::{assess, Lang};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use std::collections::HashMap;
use std::sync::Arc;

const LAT: Ty = Ty::Num {
    min: -90.0,
    max: 90.0,
};
const LON: Ty = Ty::Num {
    min: -180.0,
    max: 180.0,
};
/// Storeys of a home: the decision's question, 1–99.
const FLOORS: Ty = Ty::Int { min: 1, max: 99 };

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[Route {
    path: "/api/risk",
    serve: Serve::Here(|| get(get_risk)),
    returns: Some(replies::of::<machimap_risk::Risk>),
    class: Some(Class::Risk),
    tag: "risk",
    summary: "Hazard zones at a point, whether to leave or stay upstairs, and the nearest suitable shelters",
    params: &[
        Param {
            name: "lat",
            at: In::Query,
            required: true,
            ty: LAT,
            doc: "Latitude (JGD2011/WGS84 decimal degrees)",
            example: "34.61",
        },
        Param {
            name: "lon",
            at: In::Query,
            required: true,
            ty: LON,
            doc: "Longitude",
            example: "133.92",
        },
        query(
            "lang",
            Ty::OneOf(&Lang::CODES),
            "ja, en, easy (やさしい日本語), zh-Hans (简体中文), zh-Hant (繁體中文), ko (한국어), \
             vi (Tiếng Việt) or pt (Português do Brasil); without it, the best of Accept-Language, \
             else ja. Place names stay in Japanese",
        ),
        query(
            "floors",
            FLOORS,
            "Storeys of the home, 1–99; without it the decision assumes 2 and says so",
        ),
    ],
    produces: &["application/json"],
    errors: &[400],
    ..ROUTE
}];

fn coord(q: &HashMap<String, String>, name: &str, ty: Ty) -> ApiResult<f64> {
    let Ty::Num { min, max } = ty else {
        return Err(ApiError::Internal(format!(
            "{name} is not a number parameter"
        )));
    };
    let v = q
        .get(name)
        .ok_or_else(|| ApiError::BadRequest(format!("{name} is required (decimal degrees)")))?;
    let x: f64 = v
        .trim()
        .parse()
        .map_err(|_| ApiError::BadRequest(format!("{name} must be a decimal number, got {v:?}")))?;
    if !x.is_finite() || x < min || x > max {
        return Err(ApiError::BadRequest(format!(
            "{name} must be between {min} and {max}, got {v}"
        )));
    }
    Ok(x)
}

async fn get_risk(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: axum::http::HeaderMap,
) -> ApiResult<Response> {
    let lat = coord(&q, "lat", LAT)?;
    let lon = coord(&q, "lon", LON)?;
    // An unknown or empty `lang` is refused (a client asked for something it will not get); no
    // `lang` negotiates like the page.
    let (lang, negotiated) = match q.get("lang").map(String::as_str) {
        None => {
            let accept = headers
                .get(axum::http::header::ACCEPT_LANGUAGE)
                .and_then(|v| v.to_str().ok());
            (crate::lang::negotiate(None, accept).lang, true)
        }
        Some(l) => (
            Lang::parse(l).ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "lang must be one of {}, got {l:?}",
                    Lang::CODES.join(", ")
                ))
            })?,
            false,
        ),
    };
    let floors = match q.get("floors") {
        None => None,
        Some(f) => Some(
            f.parse::<u32>()
                .ok()
                .filter(|n| FLOORS.admits(i64::from(*n)))
                .ok_or_else(|| {
                    ApiError::BadRequest(format!(
                        "floors must be a whole number of storeys from 1 to 99, got {f:?}"
                    ))
                })?,
        ),
    };
    let snap = st.snapshot.load_full();
    let (status, _) = st.admin.status.current();
    let risk = tokio::task::spawn_blocking(move || assess(&snap, lat, lon, lang, floors, &status))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut res = (
        [(axum::http::header::CACHE_CONTROL, "no-cache")],
        Json(risk),
    )
        .into_response();
    if negotiated {
        res.headers_mut().insert(
            axum::http::header::VARY,
            axum::http::HeaderValue::from_static("Accept-Language"),
        );
    }
    Ok(res)
}
