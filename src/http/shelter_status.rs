//! The public shelter status feed (its own interface): which shelters are open (開設), full
//! (満員) or closed (閉鎖), with evacuee counts, as JSON with a content ETag, CSV, GeoJSON
//! points and a server-sent event stream. Residents' phones and other systems read it on a
//! disaster day; staff change it through the console and `/api/admin` (`http::admin`), and
//! the rules and the document live in `admin::status`.

use super::limits::Class;
use super::replies;
use super::route::{Route, Serve, ROUTE};
use super::AppState;
use crate::admin::status::{PublicStatus, StatusDoc};
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use serde::Serialize;
use std::sync::Arc;
use std::time::Duration;

/// The public shelter status (its own interface: residents and other systems read it on a
/// disaster day; staff change it through `http::admin::ROUTES`).
pub const ROUTES: &[Route] = &[
    Route {
        methods: &["get"],
        path: "/api/shelter-status",
        serve: Serve::Here(|| get(status_json)),
        returns: Some(replies::of::<StatusDoc>),
        tag: "shelters",
        summary: "Which shelters are open (開設), full (満員) or closed (閉鎖), with evacuee counts (ETag; SSE at /api/shelter-status/events)",
        params: &[],
        produces: &["application/json"],
        errors: &[],
        body: None,
        ..ROUTE
    },
    Route {
        methods: &["get"],
        path: "/api/shelter-status.csv",
        serve: Serve::Here(|| get(status_csv)),
        tag: "shelters",
        summary: "Shelter status as CSV (UTF-8 with BOM), with the time of each change",
        params: &[],
        produces: &["text/csv"],
        errors: &[],
        body: None,
        ..ROUTE
    },
    Route {
        methods: &["get"],
        path: "/api/shelter-status.geojson",
        serve: Serve::Here(|| get(status_geojson)),
        returns: Some(replies::feature_collection),
        tag: "shelters",
        summary: "Shelter status as GeoJSON points, with the time of each change",
        params: &[],
        produces: &["application/geo+json"],
        errors: &[],
        body: None,
        ..ROUTE
    },
    Route {
        path: "/api/shelter-status/events",
        serve: Serve::Here(|| get(status_events)),
        class: Some(Class::Events),
        unlisted: Some(
            "a server-sent event stream, which never ends: a client that tests every listed \
             route would wait on it forever",
        ),
        ..ROUTE
    },
];

fn status_doc(st: &AppState) -> StatusDoc {
    StatusDoc::now(&st.snapshot.load_full(), &st.admin.status)
}

async fn status_json(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let doc = status_doc(&st);
    let etag = doc.etag();
    let base = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_string()),
    ];
    if crate::http::not_modified(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, base).into_response();
    }
    (base, Json(doc)).into_response()
}

async fn status_csv(State(st): State<Arc<AppState>>) -> Response {
    let snap = st.snapshot.load_full();
    let (rows, _) = crate::admin::status::public(&snap, &st.admin.status);
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(Vec::from("\u{feff}".as_bytes()));
    let _ = w.write_record([
        "fid",
        "ID",
        "名称",
        "状態",
        "status",
        "避難者数",
        "想定収容人数",
        "更新日時",
        "緯度",
        "経度",
    ]);
    for r in &rows {
        let _ = w.write_record([
            r.fid.to_string(),
            r.id.clone().unwrap_or_default(),
            r.name.clone().unwrap_or_default(),
            r.status_ja.to_string(),
            r.status.as_str().to_string(),
            r.evacuees.map(|n| n.to_string()).unwrap_or_default(),
            r.capacity.map(|n| n.to_string()).unwrap_or_default(),
            r.updated_at.clone(),
            r.lat.map(|v| format!("{v:.7}")).unwrap_or_default(),
            r.lon.map(|v| format!("{v:.7}")).unwrap_or_default(),
        ]);
    }
    let body = w.into_inner().unwrap_or_default();
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
            (
                header::CONTENT_DISPOSITION,
                "inline; filename=\"shelter_status.csv\"",
            ),
        ],
        body,
    )
        .into_response()
}

/// The status document as a GeoJSON FeatureCollection: each shelter a Point feature (null
/// geometry when the shelter has no point) whose properties are its status row.
#[derive(Serialize)]
struct StatusCollection {
    r#type: &'static str,
    name: &'static str,
    updated_at: Option<String>,
    generated_at: String,
    features: Vec<StatusFeature>,
}

#[derive(Serialize)]
struct StatusFeature {
    r#type: &'static str,
    id: i64,
    geometry: Option<PointGeometry>,
    properties: PublicStatus,
}

#[derive(Serialize)]
struct PointGeometry {
    r#type: &'static str,
    coordinates: [f64; 2],
}

async fn status_geojson(State(st): State<Arc<AppState>>) -> Response {
    let doc = status_doc(&st);
    let features = doc
        .shelters
        .into_iter()
        .map(|s| StatusFeature {
            r#type: "Feature",
            id: s.fid,
            geometry: s.lon.zip(s.lat).map(|(x, y)| PointGeometry {
                r#type: "Point",
                coordinates: [x, y],
            }),
            properties: s,
        })
        .collect();
    let body = StatusCollection {
        r#type: "FeatureCollection",
        name: "shelter_status",
        updated_at: doc.updated_at,
        generated_at: doc.generated_at,
        features,
    };
    (
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        Json(body),
    )
        .into_response()
}

/// Server-sent events: the whole status document now and after every change.
async fn status_events(State(st): State<Arc<AppState>>) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, std::convert::Infallible>>(8);
    let mut changes = st.admin.status.changes.subscribe();
    tokio::spawn(async move {
        loop {
            let ev = match Event::default().event("status").json_data(status_doc(&st)) {
                Ok(ev) => ev,
                Err(e) => {
                    tracing::error!(error = %e, "shelter status event not written");
                    break;
                }
            };
            if tx.send(Ok(ev)).await.is_err() {
                break;
            }
            tokio::select! {
                r = changes.changed() => if r.is_err() { break },
                () = tx.closed() => break,
            }
        }
    });
    let mut r = Sse::new(tokio_stream::wrappers::ReceiverStream::new(rx))
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    r.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    r
}
