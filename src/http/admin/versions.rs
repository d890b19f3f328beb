//! Datasets and versions: the dashboard, a dataset's versions, a version's preview and CSV, publish
//! / discard / roll back.

use super::*;

pub(super) async fn dashboard(State(st): State<Arc<AppState>>, staff: Staff) -> PageResult {
    let st2 = st.clone();
    let rows = blocking(move || {
        let mut rows = Vec::new();
        for (d, vs) in uploads::all_versions(&st2.admin)? {
            let cur = vs.iter().find(|v| v.status == "published").cloned();
            let staged = vs.iter().filter(|v| v.status == "staged").count();
            rows.push((d, cur, staged));
        }
        Ok(rows)
    })
    .await?;
    Ok(html(
        StatusCode::OK,
        pages::dashboard(&staff.viewer(), &rows),
    ))
}

pub(super) async fn dataset_page(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path(ds): Path<String>,
) -> PageResult {
    let d = parse_dataset(&ds)?;
    let st2 = st.clone();
    let vs = blocking(move || uploads::versions(&st2.admin, d)).await?;
    let mb = st.admin.config.upload_limit.div_ceil(1024 * 1024);
    Ok(html(
        StatusCode::OK,
        pages::dataset(&staff.viewer(), d, &vs, mb),
    ))
}

/// Preview of `version` against the published layer: (diff, map of the changes).
pub(super) fn preview(
    st: &AppState,
    d: DatasetId,
    version: i64,
) -> Result<(diff::Diff, Option<diff::MapSketch>), AdminError> {
    let new = {
        let _g = st.admin.lock_db();
        let store = Store::open_read_only_retrying(&st.db, Duration::from_secs(30))?;
        diff::load_version(&store, d, version)?
    };
    let snap = st.snapshot.load_full();
    let old = snap.layer(d);
    let wards = snap.layer(DatasetId::Wards).map(|l| &**l);
    let df = diff::diff(
        d,
        old.map(|l| l.version),
        old.map_or(&[][..], |l| &l.features[..]),
        &new,
        wards,
    );
    let map = diff::map_sketch(&df, wards);
    Ok((df, map))
}

#[derive(serde::Deserialize)]
pub(super) struct DoneQuery {
    done: Option<String>,
}

pub(super) async fn version_page(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path((ds, v)): Path<(String, String)>,
    Query(q): Query<DoneQuery>,
) -> PageResult {
    let d = parse_dataset(&ds)?;
    let v = parse_version(&v)?;
    let st2 = st.clone();
    let (info, report, pv) = blocking(move || {
        let info = uploads::version_info(&st2.admin, d, v)?;
        let report = uploads::stored_report(&st2.admin, d, v)?;
        let pv = if info.status == "discarded" {
            None
        } else {
            Some(preview(&st2, d, v)?)
        };
        Ok((info, report, pv))
    })
    .await?;
    let notice = match q.done.as_deref() {
        Some("published") => Some("公開しました / published"),
        Some("rollback") => Some("この版に戻しました / rolled back to this version"),
        Some("discarded") => Some("破棄しました / discarded"),
        Some("unchanged") => Some("同じファイルです。新しい版は作りません / same files: no new version"),
        Some("staged") => Some("検査を通りました。内容を確認して公開してください / accepted: review the changes, then publish"),
        _ => None,
    };
    Ok(html(
        StatusCode::OK,
        pages::version(
            &staff.viewer(),
            d,
            &info,
            report.as_ref(),
            pv.as_ref().map(|(df, map)| (df, map.as_ref())),
            notice,
        ),
    ))
}

pub(super) async fn version_csv(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path((ds, v)): Path<(String, String)>,
) -> Response {
    let api = staff.via != "console";
    let res = async {
        let d = parse_dataset(&ds)?;
        let v = parse_version(&v)?;
        let st2 = st.clone();
        blocking(move || {
            let info = uploads::version_info(&st2.admin, d, v)?;
            if info.status == "discarded" {
                return Err(AdminError::NotFound(format!(
                    "版{v}は破棄されています / version {v} was discarded"
                )));
            }
            let features = {
                let _g = st2.admin.lock_db();
                let store = Store::open_read_only_retrying(&st2.db, Duration::from_secs(30))?;
                diff::load_version(&store, d, v)?
            };
            let layer = diff::version_layer(d, v, features);
            let mut out = Vec::new();
            crate::export::write_csv(
                &layer,
                crate::export::CsvLayout::Standard,
                crate::export::CsvEncoding::Utf8Bom,
                &mut out,
            )?;
            Ok((d, v, out))
        })
        .await
    }
    .await;
    match res {
        Ok((d, v, out)) => (
            [
                (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()),
                (
                    header::CONTENT_DISPOSITION,
                    format!("attachment; filename=\"{d}_v{v}.csv\""),
                ),
            ],
            out,
        )
            .into_response(),
        Err(e) if api => ApiError::from(e).into_response(),
        Err(e) => PageErr(e).into_response(),
    }
}

/// Serve a just-committed publish now rather than at the next poll. The publish is done
/// whatever happens here: a failed reload (the read-only open losing a race with another
/// process's write, say) is logged, and the poll, which sees the database file changed and
/// has not read it yet, tries again within a second. Returns whether the reload worked.
pub(super) fn reload_after_commit(st: &AppState, what: &str) -> bool {
    let res = if injected_reload_failure() {
        Err(anyhow::anyhow!(
            "injected failure (MACHIMAP_TEST_FAIL_RELOADS)"
        ))
    } else {
        st.refresh()
    };
    match res {
        Ok(_) => true,
        Err(e) => {
            tracing::warn!(
                "{what} is published, but reloading it failed ({e}); the next poll tries again"
            );
            false
        }
    }
}

/// Test hook: the environment variable `MACHIMAP_TEST_FAIL_RELOADS=N` makes the first `N`
/// reloads after a publish fail, as when the read-only open loses its race.
pub(super) fn injected_reload_failure() -> bool {
    use std::sync::atomic::{AtomicU64, Ordering};
    static LEFT: std::sync::OnceLock<AtomicU64> = std::sync::OnceLock::new();
    let left = LEFT.get_or_init(|| {
        AtomicU64::new(
            std::env::var("MACHIMAP_TEST_FAIL_RELOADS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(0),
        )
    });
    left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
        .is_ok()
}

/// Publish, roll back or discard; audited as what it was once its transaction committed (a
/// publish of a staged version older than the published one is a rollback).
pub(super) async fn decide(
    st: &Arc<AppState>,
    staff: &Staff,
    ds: &str,
    v: &str,
    action: &'static str,
) -> Result<(DatasetId, i64), AdminError> {
    let d = parse_dataset(ds)?;
    let v = parse_version(v)?;
    let st2 = st.clone();
    let (actor, role) = (staff.user.clone(), staff.role);
    let res = blocking(move || {
        let did = match action {
            "discard" => {
                uploads::discard(&st2.admin, d, v)?;
                return Ok((action, true));
            }
            "rollback" => uploads::publish(&st2.admin, d, v, PublishKind::Rollback, &actor, role)?,
            _ => uploads::publish(&st2.admin, d, v, PublishKind::Publish, &actor, role)?,
        };
        let done = match did {
            PublishKind::Rollback => "rollback",
            PublishKind::Publish => action,
        };
        // Committed: from here on it is published, whatever the reload says.
        let live = reload_after_commit(&st2, &format!("{d}/{v}"));
        Ok((done, live))
    })
    .await;
    match &res {
        Ok((done, true)) => staff.log(st, done, &format!("{d}/{v}"), "ok"),
        Ok((done, false)) => staff.log(
            st,
            done,
            &format!("{d}/{v}"),
            "ok (served from the next poll: the reload after it failed)",
        ),
        Err(e) => staff.log(st, action, &format!("{d}/{v}"), &format!("refused: {e}")),
    }
    res.map(|_| (d, v))
}

pub(super) async fn publish_page(
    State(st): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
    f: StaffForm,
) -> PageResult {
    let (d, v) = decide(&st, &f.staff, &ds, &v, "publish").await?;
    Ok(see_other(&format!(
        "/admin/datasets/{d}/versions/{v}?done=published"
    )))
}

pub(super) async fn discard_page(
    State(st): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
    f: StaffForm,
) -> PageResult {
    let (d, v) = decide(&st, &f.staff, &ds, &v, "discard").await?;
    Ok(see_other(&format!(
        "/admin/datasets/{d}/versions/{v}?done=discarded"
    )))
}

pub(super) async fn rollback_page(
    State(st): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
    f: StaffForm,
) -> PageResult {
    let (d, v) = decide(&st, &f.staff, &ds, &v, "rollback").await?;
    Ok(see_other(&format!(
        "/admin/datasets/{d}/versions/{v}?done=rollback"
    )))
}
