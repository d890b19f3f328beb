//! Shelter status: the staff pages and API that set it, and the public feed (JSON with ETag, CSV,
//! GeoJSON, server-sent events).

use super::*;

#[derive(serde::Deserialize)]
pub(super) struct SearchQuery {
    q: Option<String>,
}

pub(super) async fn shelters_page(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Query(q): Query<SearchQuery>,
) -> Response {
    let query = q.q.unwrap_or_default();
    let needle = crate::text::search_fold(&query);
    let snap = st.snapshot.load_full();
    let (cur, _) = st.admin.status.current();
    let mut rows = Vec::new();
    if let Some(l) = snap.layer(DatasetId::Shelters) {
        let cols = l.columns();
        for f in &l.features {
            let text = |c: &str| f.get(cols, c).and_then(Val::as_text).unwrap_or_default();
            let (name, address) = (text("name"), text("address"));
            let hay = crate::text::search_fold(&format!("{name} {address} {}", text("id")));
            if !needle.is_empty() && !hay.contains(&needle) {
                continue;
            }
            rows.push((f.fid, name, address, cur.get(&f.fid).cloned()));
            if rows.len() >= 200 {
                break;
            }
        }
    }
    html(
        StatusCode::OK,
        pages::shelters(&staff.viewer(), &rows, &query),
    )
}

pub(super) fn parse_evacuees(s: &str) -> Result<Option<u32>, AdminError> {
    let s = s.trim();
    if s.is_empty() {
        return Ok(None);
    }
    crate::text::nfkc(s)
        .0
        .parse::<u32>()
        .map(Some)
        .map_err(|_| {
            AdminError::BadInput(format!(
                "避難者数は0以上の整数です / evacuees must be a whole number, not {s:?}"
            ))
        })
}

pub(super) fn set_status(
    st: &AppState,
    staff: &Staff,
    fid: &str,
    status: &str,
    evacuees: Option<u32>,
) -> Result<crate::admin::status::StatusEvent, AdminError> {
    let fid: i64 = fid
        .parse()
        .map_err(|_| AdminError::BadInput(format!("bad shelter id {fid}")))?;
    let state: ShelterState = status.parse()?;
    let snap = st.snapshot.load_full();
    let e = st
        .admin
        .status
        .set(&snap, fid, state, evacuees, &staff.user)?;
    staff.log(
        st,
        "shelter_status",
        &fid.to_string(),
        &format!(
            "{} ({}), evacuees {}",
            state.ja(),
            state.as_str(),
            evacuees.map_or("-".into(), |n| n.to_string())
        ),
    );
    Ok(e)
}

pub(super) async fn shelter_status_page(
    State(st): State<Arc<AppState>>,
    Path(fid): Path<String>,
    f: StaffForm,
) -> PageResult {
    let ev = parse_evacuees(f.get("evacuees"))?;
    let e = set_status(&st, &f.staff, &fid, f.get("status"), ev)?;
    Ok(see_other(&format!(
        "/admin/shelters?q=&updated={}#s{}",
        e.fid, e.fid
    )))
}

/// A shelter's status as staff set it through the API; its schema in the API description is
/// derived from it.
#[derive(serde::Deserialize, JsonSchema)]
pub(super) struct StatusBody {
    /// `open`, `full` or `closed`, or in Japanese 開設, 満員, 閉鎖.
    #[schemars(schema_with = "status_words")]
    status: String,
    /// Evacuees in the shelter now; absent or null when not counted.
    #[schemars(range(max = u32::MAX))]
    evacuees: Option<u32>,
}

/// The words `ShelterState` reads, English and Japanese.
fn status_words(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let words: Vec<&str> = ShelterState::ALL
        .iter()
        .flat_map(|s| [s.as_str(), s.ja()])
        .collect();
    schemars::json_schema!({"type": "string", "enum": words})
}

pub(super) async fn api_shelter_status(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path(fid): Path<String>,
    body: Result<Json<StatusBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let e = set_status(&st, &staff, &fid, &b.status, b.evacuees)?;
    Ok(Json(Done::new(StatusSet {
        fid: e.fid,
        status: e.status,
        evacuees: e.evacuees,
        at: e.at,
    }))
    .into_response())
}

/// What the staff API answers when a status was set (who set it is in the audit log).
#[derive(Serialize, JsonSchema)]
pub(super) struct StatusSet {
    /// Shelter fid.
    fid: i64,
    /// The state now.
    status: ShelterState,
    /// Evacuees now, when counted.
    evacuees: Option<u32>,
    /// When (UTC).
    at: String,
}

fn status_doc(st: &AppState) -> StatusDoc {
    StatusDoc::now(&st.snapshot.load_full(), &st.admin.status)
}

pub(super) async fn status_json(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
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

pub(super) async fn status_csv(State(st): State<Arc<AppState>>) -> Response {
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
    properties: crate::admin::status::PublicStatus,
}

#[derive(Serialize)]
struct PointGeometry {
    r#type: &'static str,
    coordinates: [f64; 2],
}

pub(super) async fn status_geojson(State(st): State<Arc<AppState>>) -> Response {
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
pub(super) async fn status_events(State(st): State<Arc<AppState>>) -> Response {
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
