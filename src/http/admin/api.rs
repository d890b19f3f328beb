//! The admin API (JSON) for scripts: who am I, datasets, versions and their decisions.

use super::*;
use crate::store::VersionInfo;

/// Who the token or session belongs to.
#[derive(Serialize, JsonSchema)]
pub(super) struct WhoAmI {
    /// User name.
    user: String,
    /// What they may do.
    role: Role,
    /// `console` or `token:ID`.
    via: String,
}

/// A dataset's versions at a glance.
#[derive(Serialize, JsonSchema)]
pub(super) struct DatasetVersions {
    dataset: DatasetId,
    /// The version served, if any.
    published: Option<i64>,
    /// How many versions are stored.
    versions: usize,
}

/// Every dataset with stored versions.
#[derive(Serialize, JsonSchema)]
pub(super) struct Datasets {
    datasets: Vec<DatasetVersions>,
}

/// One dataset's stored versions, newest first.
#[derive(Serialize, JsonSchema)]
pub(super) struct Versions {
    dataset: DatasetId,
    versions: Vec<VersionInfo>,
}

/// One version: its facts, its validation report and (unless discarded) its difference
/// from the published version.
#[derive(Serialize, JsonSchema)]
pub(super) struct Version {
    version: VersionInfo,
    /// The validation report as stored with the version (`crate::report::Report`'s JSON).
    report: Option<serde_json::Value>,
    /// Null for a discarded version.
    preview: Option<diff::Diff>,
}

/// A decision taken on a version.
#[derive(Serialize, JsonSchema)]
pub(super) struct Decided {
    dataset: DatasetId,
    version: i64,
    /// `publish`, `discard` or `rollback`.
    #[schemars(extend("enum" = ["publish", "discard", "rollback"]))]
    action: &'static str,
}

pub(super) async fn api_whoami(staff: Staff) -> Response {
    Json(Done::new(WhoAmI {
        user: staff.user,
        role: staff.role,
        via: staff.via,
    }))
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
            out.push(DatasetVersions {
                dataset: d,
                published: vs
                    .iter()
                    .find(|v| v.status == "published")
                    .map(|v| v.version),
                versions: vs.len(),
            });
        }
        Ok(out)
    })
    .await?;
    Ok(Json(Done::new(Datasets { datasets: v })).into_response())
}

pub(super) async fn api_versions(
    State(st): State<Arc<AppState>>,
    _staff: Staff,
    Path(ds): Path<String>,
) -> ApiResult<Response> {
    let d = parse_dataset(&ds)?;
    let st2 = st.clone();
    let vs = blocking(move || uploads::versions(&st2.admin, d)).await?;
    Ok(Json(Done::new(Versions {
        dataset: d,
        versions: vs,
    }))
    .into_response())
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
    Ok(Json(Done::new(Version {
        version: info,
        report,
        preview: pv,
    }))
    .into_response())
}

pub(super) async fn api_decide(
    st: Arc<AppState>,
    staff: Staff,
    ds: String,
    v: String,
    action: &'static str,
) -> ApiResult<Response> {
    let (d, v) = decide(&st, &staff, &ds, &v, action).await?;
    Ok(Json(Done::new(Decided {
        dataset: d,
        version: v,
        action,
    }))
    .into_response())
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
