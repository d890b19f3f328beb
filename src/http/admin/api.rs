//! The admin API (JSON) for scripts: who am I, datasets, versions and their decisions.

use super::*;

pub(super) async fn api_whoami(staff: Staff) -> Response {
    Json(serde_json::json!({"ok": true, "user": staff.user, "role": staff.role, "via": staff.via}))
        .into_response()
}

pub(super) async fn api_datasets(
    State(st): State<Arc<AppState>>,
    _staff: Staff,
) -> ApiResult<Response> {
    let st2 = st.clone();
    let v = blocking(move || {
        let mut out = Vec::new();
        for (d, vs) in uploads::all_versions(&st2.admin)? {
            out.push(serde_json::json!({
                "dataset": d,
                "published": vs.iter().find(|v| v.status == "published").map(|v| v.version),
                "versions": vs.len(),
            }));
        }
        Ok(out)
    })
    .await?;
    Ok(Json(serde_json::json!({"ok": true, "datasets": v})).into_response())
}

pub(super) async fn api_versions(
    State(st): State<Arc<AppState>>,
    _staff: Staff,
    Path(ds): Path<String>,
) -> ApiResult<Response> {
    let d = parse_dataset(&ds)?;
    let st2 = st.clone();
    let vs = blocking(move || uploads::versions(&st2.admin, d)).await?;
    Ok(Json(serde_json::json!({"ok": true, "dataset": d, "versions": vs})).into_response())
}

pub(super) async fn api_version(
    State(st): State<Arc<AppState>>,
    _staff: Staff,
    Path((ds, v)): Path<(String, String)>,
) -> ApiResult<Response> {
    let d = parse_dataset(&ds)?;
    let v = parse_version(&v)?;
    let st2 = st.clone();
    let (info, report, pv) = blocking(move || {
        let info = uploads::version_info(&st2.admin, d, v)?;
        let report = uploads::stored_report(&st2.admin, d, v)?;
        let pv = if info.status == "discarded" {
            None
        } else {
            Some(preview(&st2, d, v)?.0)
        };
        Ok((info, report, pv))
    })
    .await?;
    Ok(
        Json(serde_json::json!({"ok": true, "version": info, "report": report, "preview": pv}))
            .into_response(),
    )
}

pub(super) async fn api_decide(
    st: Arc<AppState>,
    staff: Staff,
    ds: String,
    v: String,
    action: &'static str,
) -> ApiResult<Response> {
    let (d, v) = decide(&st, &staff, &ds, &v, action).await?;
    Ok(
        Json(serde_json::json!({"ok": true, "dataset": d, "version": v, "action": action}))
            .into_response(),
    )
}

pub(super) async fn api_publish(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path((ds, v)): Path<(String, String)>,
) -> ApiResult<Response> {
    api_decide(st, staff, ds, v, "publish").await
}

pub(super) async fn api_discard(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path((ds, v)): Path<(String, String)>,
) -> ApiResult<Response> {
    api_decide(st, staff, ds, v, "discard").await
}

pub(super) async fn api_rollback(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path((ds, v)): Path<(String, String)>,
) -> ApiResult<Response> {
    api_decide(st, staff, ds, v, "rollback").await
}
