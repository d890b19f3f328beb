//! Hazard map coverage (`crate::coverage`): the admin API, the console page, one audited path.

use super::*;

pub(super) async fn api_coverage(
    State(st): State<Arc<AppState>>,
    _staff: Staff,
) -> ApiResult<Response> {
    let log = coverage_log(&st).await?;
    Ok(Json(Done::new(CoverageLog { settings: log })).into_response())
}

/// Every coverage setting, oldest first.
#[derive(Serialize, JsonSchema)]
pub(super) struct CoverageLog {
    settings: Vec<crate::coverage::Record>,
}

/// A coverage setting taken.
#[derive(Serialize, JsonSchema)]
pub(super) struct CoverageSet {
    dataset: DatasetId,
    /// What the hazard map now covers, in words.
    coverage: String,
}

/// The latest entries of the audit log.
#[derive(Serialize, JsonSchema)]
pub(super) struct AuditEntries {
    entries: Vec<audit::Entry>,
}

/// Every coverage setting in the store, oldest first (the API's answer and the console page).
pub(super) async fn coverage_log(
    st: &Arc<AppState>,
) -> Result<Vec<crate::coverage::Record>, AdminError> {
    let st2 = st.clone();
    blocking(move || {
        let _g = st2.admin.lock_db();
        let store = Store::open_retrying(&st2.admin.db, Duration::from_secs(30))?;
        Ok(store.coverage_log(None)?)
    })
    .await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CoverageBody {
    #[serde(default)]
    wards: Option<Vec<String>>,
    #[serde(default)]
    polygon: Option<serde_json::Value>,
    #[serde(default)]
    default: bool,
}

pub(super) async fn api_coverage_set(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path(ds): Path<String>,
    body: Result<Json<CoverageBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let d = parse_dataset(&ds)?;
    let given =
        usize::from(b.wards.is_some()) + usize::from(b.polygon.is_some()) + usize::from(b.default);
    if given != 1 {
        return Err(AdminError::BadInput(
            "wards・polygon・default のどれか1つを指定してください / give exactly one of wards, polygon, default".into(),
        )
        .into());
    }
    let asked = match (b.wards, b.polygon) {
        (Some(w), _) => CoverageAsk::Wards(w),
        (_, Some(p)) => CoverageAsk::Polygon(p.to_string()),
        _ => CoverageAsk::Default,
    };
    let what = set_coverage(&st, &staff, d, asked).await?;
    Ok(Json(Done::new(CoverageSet {
        dataset: d,
        coverage: what,
    }))
    .into_response())
}

/// The coverage body, for the API description: exactly one of three forms.
pub(super) fn coverage_schema() -> serde_json::Value {
    let ring = serde_json::json!({"type": "array", "minItems": 4, "items": {"type": "array",
        "minItems": 2, "maxItems": 3, "items": {"type": "number"}}});
    serde_json::json!({
        "type": "object",
        "oneOf": [
            {"required": ["wards"], "properties": {"wards": {"type": "array", "minItems": 1,
                "items": {"type": "string", "pattern": "\\S"},
                "description": "Codes of published wards (町丁・字)"}}},
            {"required": ["polygon"], "properties": {"polygon": {"type": "object",
                "required": ["type", "coordinates"],
                "description": "A GeoJSON Polygon or MultiPolygon in longitude/latitude",
                "properties": {"type": {"type": "string", "enum": ["Polygon", "MultiPolygon"]},
                    "coordinates": {"type": "array", "minItems": 1,
                        "items": {"anyOf": [ring, {"type": "array", "minItems": 1, "items": ring}]}}}}}},
            {"required": ["default"], "properties": {"default": {"type": "boolean", "enum": [true],
                "description": "Back to the default: the published wards"}}}
        ]
    })
}

/// A coverage setting as asked, before it is checked.
pub(super) enum CoverageAsk {
    Default,
    Wards(Vec<String>),
    /// GeoJSON text.
    Polygon(String),
}

/// Check and store the coverage of hazard `d`, reload, and audit it (refusals too): the one
/// path of the API and the console. Returns what was set, in words.
pub(super) async fn set_coverage(
    st: &Arc<AppState>,
    staff: &Staff,
    d: DatasetId,
    asked: CoverageAsk,
) -> Result<String, AdminError> {
    use crate::coverage::{self, Spec};
    if let Err(e) = coverage::check_dataset(d) {
        return Err(AdminError::BadInput(e.to_string()));
    }
    let (st2, actor) = (st.clone(), staff.user.clone());
    let res = blocking(move || {
        let what = {
            let _g = st2.admin.lock_db();
            let store = Store::open_retrying(&st2.admin.db, Duration::from_secs(30))?;
            let spec = match &asked {
                CoverageAsk::Default => None,
                CoverageAsk::Polygon(p) => Some(Spec::Polygon(
                    coverage::polygon_from_geojson(p)
                        .map_err(|e| AdminError::BadInput(e.to_string()))?,
                )),
                CoverageAsk::Wards(w) => {
                    let published = store.published_ward_codes()?;
                    Some(Spec::Wards(
                        coverage::check_wards(w, &published)
                            .map_err(|e| AdminError::BadInput(e.to_string()))?,
                    ))
                }
            };
            store.set_coverage(d, spec.as_ref(), &actor)?;
            match spec {
                None => "default (published wards)".to_string(),
                Some(Spec::Wards(w)) => format!("wards {}", w.join(",")),
                Some(Spec::Polygon(mp)) => format!("polygon of {} part(s)", mp.0.len()),
            }
        };
        // Stored: the next poll would serve it too; reload now so the answer is live.
        reload_after_commit(&st2, &format!("coverage of {d}"));
        Ok(what)
    })
    .await;
    match &res {
        Ok(what) => staff.log(st, "coverage_set", d.as_str(), what),
        Err(e) => staff.log(st, "coverage_set", d.as_str(), &format!("refused: {e}")),
    }
    res
}

/// The console's coverage page: what is in force per hazard, from the served snapshot and the
/// store's history.
pub(super) async fn coverage_page(State(st): State<Arc<AppState>>, staff: Staff) -> Response {
    coverage_page_with(&st, &staff, None, StatusCode::OK).await
}

pub(super) async fn coverage_page_with(
    st: &Arc<AppState>,
    staff: &Staff,
    notice: Option<(&str, bool)>,
    status: StatusCode,
) -> Response {
    let log = match coverage_log(st).await {
        Ok(l) => l,
        Err(e) => return PageErr(e).into_response(),
    };
    // The setting in force per hazard: its newest record, none for the default.
    let rows: Vec<(DatasetId, Option<&crate::coverage::Record>)> = DatasetId::ALL
        .into_iter()
        .filter(|d| crate::coverage::check_dataset(*d).is_ok())
        .map(|d| (d, log.iter().rev().find(|r| r.dataset == d)))
        .collect();
    let wards = crate::coverage::ward_choices(&st.snapshot.load());
    html(
        status,
        pages::coverage(&staff.viewer(), &rows, &wards, notice),
    )
}

/// A coverage form: `mode` = `default`, `wards` (the ticked `ward` boxes) or `polygon` (the
/// `polygon` text).
pub(super) async fn coverage_submit(
    State(st): State<Arc<AppState>>,
    Path(ds): Path<String>,
    f: StaffForm,
) -> Response {
    let d = match parse_dataset(&ds) {
        Ok(d) => d,
        Err(e) => return PageErr(e).into_response(),
    };
    let asked = match f.get("mode") {
        "default" => Ok(CoverageAsk::Default),
        "wards" => Ok(CoverageAsk::Wards(f.all("ward"))),
        "polygon" => Ok(CoverageAsk::Polygon(f.get("polygon").to_string())),
        _ => Err(AdminError::BadInput(
            "範囲の決め方を選んでください / choose how the coverage is set".into(),
        )),
    };
    let res = match asked {
        Ok(a) => set_coverage(&st, &f.staff, d, a).await,
        Err(e) => Err(e),
    };
    match res {
        Ok(what) => {
            let msg = format!(
                "{}の範囲を設定しました / set the coverage of {d}: {what}",
                d.title_ja()
            );
            coverage_page_with(&st, &f.staff, Some((&msg, false)), StatusCode::OK).await
        }
        Err(e) => {
            let msg = format!(
                "{}の範囲を設定できません / cannot set the coverage of {d}: {e}",
                d.title_ja()
            );
            let status = ApiError::from(e).status();
            coverage_page_with(&st, &f.staff, Some((&msg, true)), status).await
        }
    }
}

pub(super) async fn api_audit(
    State(st): State<Arc<AppState>>,
    _staff: Staff,
    Query(q): Query<HashMap<String, String>>,
) -> ApiResult<Response> {
    let n = match q.get("limit") {
        None => AUDIT_DEFAULT,
        Some(s) => s
            .parse::<i64>()
            .ok()
            .filter(|n| AUDIT_LIMIT.admits(*n))
            .and_then(|n| usize::try_from(n).ok())
            .ok_or_else(|| {
                ApiError::BadRequest(format!(
                    "limit は 1〜100000 の整数です / limit is a whole number from 1 to 100000, not {s:?}"
                ))
            })?,
    };
    Ok(Json(Done::new(AuditEntries {
        entries: st.admin.audit.recent(n),
    }))
    .into_response())
}
