//! Shelter status, staff side: the console page and the API call that set it. The public feed
//! that reads it is `http::shelter_status`.

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
