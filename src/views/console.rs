//! The staff console's pages (`src/views/templates/console/`): Japanese first with English, no
//! JavaScript, usable on a phone (one column, large targets), accessible (a skip link, one `h1`
//! per page, labelled fields, tables with headers, visible focus). The data comes from
//! [`crate::admin`] as plain values; every value is escaped by the templates.

use super::render;
use crate::admin::accounts::{Token, User};
use crate::admin::audit::Entry;
use crate::admin::diff::{Diff, MapSketch};
use crate::admin::status::{ShelterState, StatusEvent};
use crate::admin::Viewer;
use crate::dataset::DatasetId;
use crate::mapping::Target;
use crate::store::VersionInfo;
use askama::Template;
use serde_json::Value;

/// The style sheet, served at `/admin/console.css`.
pub const CSS: &str = include_str!("console.css");

/// What every console page shows around its body: the titles and, once signed in, the menu.
struct Chrome<'a> {
    title_ja: &'a str,
    title_en: &'a str,
    viewer: Option<&'a Viewer>,
    /// The session's CSRF token, put in every form (empty when nobody is signed in).
    csrf: &'a str,
}

impl<'a> Chrome<'a> {
    fn new(title_ja: &'a str, title_en: &'a str, viewer: Option<&'a Viewer>) -> Chrome<'a> {
        Chrome {
            title_ja,
            title_en,
            viewer,
            csrf: viewer.map_or("", |v| v.csrf.as_str()),
        }
    }
}

/// A notice at the top of a page: a confirmation (`status`), or an error (`alert`) when `bad`.
struct Notice<'a> {
    text: &'a str,
    bad: bool,
}

impl Notice<'_> {
    fn class(&self) -> &'static str {
        if self.bad {
            "notice bad"
        } else {
            "notice"
        }
    }
    fn role(&self) -> &'static str {
        if self.bad {
            "alert"
        } else {
            "status"
        }
    }
}

fn notice((text, bad): (&str, bool)) -> Notice<'_> {
    Notice { text, bad }
}

#[derive(Template)]
#[template(path = "console/message.html")]
struct MessagePage<'a> {
    chrome: Chrome<'a>,
    notice: Notice<'a>,
    back: &'a str,
}

/// A page with one message (errors, confirmations).
pub fn message(
    viewer: Option<&Viewer>,
    title_ja: &str,
    title_en: &str,
    text: &str,
    bad: bool,
    back: &str,
) -> String {
    render(&MessagePage {
        chrome: Chrome::new(title_ja, title_en, viewer),
        notice: Notice { text, bad },
        back,
    })
}

#[derive(Template)]
#[template(path = "console/login.html")]
struct LoginPage<'a> {
    chrome: Chrome<'a>,
    error: Option<&'a str>,
    csrf: &'a str,
    next: &'a str,
}

/// The sign-in page.
pub fn login(error: Option<&str>, csrf: &str, next: &str) -> String {
    render(&LoginPage {
        chrome: Chrome::new("ログイン", "Sign in", None),
        error,
        csrf,
        next,
    })
}

#[derive(Template)]
#[template(path = "console/dashboard.html")]
struct DashboardPage<'a> {
    chrome: Chrome<'a>,
    rows: &'a [(DatasetId, Option<VersionInfo>, usize)],
}

/// The start page: every dataset with its published version.
pub fn dashboard(viewer: &Viewer, rows: &[(DatasetId, Option<VersionInfo>, usize)]) -> String {
    render(&DashboardPage {
        chrome: Chrome::new("データ管理", "Data", Some(viewer)),
        rows,
    })
}

fn status_label(s: &str) -> &'static str {
    match s {
        "published" => "公開中 / published",
        "superseded" => "過去に公開 / superseded",
        "staged" => "未公開 / staged",
        "discarded" => "破棄 / discarded",
        _ => "",
    }
}

/// One line of a dataset's history.
struct HistoryRow<'a> {
    v: &'a VersionInfo,
    status: &'static str,
    sha_short: String,
    /// The CSV link (not for discarded versions).
    csv: bool,
    /// The roll-back form's action (superseded versions, admins).
    rollback: Option<String>,
}

#[derive(Template)]
#[template(path = "console/dataset.html")]
struct DatasetPage<'a> {
    chrome: Chrome<'a>,
    d: DatasetId,
    files_hint: &'static str,
    limit_mb: u64,
    rows: Vec<HistoryRow<'a>>,
}

/// A dataset: upload form and the history of every version.
pub fn dataset(viewer: &Viewer, d: DatasetId, versions: &[VersionInfo], limit_mb: u64) -> String {
    let files_hint = if d == DatasetId::Roads {
        "道路台帳は台帳CSVと路線のファイルを一緒に選んでください / for roads choose the ledger CSV and the line file together"
    } else {
        "CSV（UTF-8・Shift_JIS）、GeoJSON、ZIP圧縮のシェープファイル / CSV (UTF-8 or Shift_JIS), GeoJSON or zipped Shapefile"
    };
    let rows = versions
        .iter()
        .map(|v| HistoryRow {
            v,
            status: status_label(&v.status),
            sha_short: v.source_sha256.chars().take(12).collect(),
            csv: v.status != "discarded",
            rollback: (v.status == "superseded" && viewer.is_admin())
                .then(|| format!("/admin/datasets/{d}/versions/{}/rollback", v.version)),
        })
        .collect();
    render(&DatasetPage {
        chrome: Chrome::new(d.title_ja(), d.title_en(), Some(viewer)),
        d,
        files_hint,
        limit_mb,
        rows,
    })
}

/// The validation report (its stored JSON) as the page shows it.
struct ReportView {
    errors: u64,
    warnings: u64,
    records_read: u64,
    format: String,
    encoding: String,
    crs: String,
    layout: String,
    issues: Vec<IssueRow>,
}

struct IssueRow {
    severity: String,
    severity_label: &'static str,
    file: String,
    location: String,
    column: String,
    value: String,
    message_ja: String,
    message_en: String,
    expected: String,
}

fn location(loc: &Value) -> String {
    let n = loc["n"].as_u64().unwrap_or(0);
    match loc["kind"].as_str() {
        Some("row") => format!("{n}行目 / row {n}"),
        Some("feature") => format!("{n}番目の地物 / feature {n}"),
        _ => "ファイル全体 / whole file".into(),
    }
}

impl ReportView {
    fn new(r: &Value) -> ReportView {
        let text = |v: &Value, or: &str| v.as_str().unwrap_or(or).to_string();
        let issues = r["issues"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default()
            .iter()
            .map(|i| {
                let severity = text(&i["severity"], "");
                let severity_label = match severity.as_str() {
                    "error" => "エラー / error",
                    "warning" => "修正 / repaired",
                    _ => "情報 / info",
                };
                let expected = match (i["expected_ja"].as_str(), i["expected_en"].as_str()) {
                    (Some(j), Some(e)) => format!("{j} / {e}"),
                    (Some(j), None) => j.to_string(),
                    _ => String::new(),
                };
                IssueRow {
                    severity,
                    severity_label,
                    file: text(&i["file"], ""),
                    location: location(&i["loc"]),
                    column: text(&i["column"], ""),
                    value: text(&i["value"], ""),
                    message_ja: text(&i["message_ja"], ""),
                    message_en: text(&i["message_en"], ""),
                    expected,
                }
            })
            .collect();
        ReportView {
            errors: r["errors"].as_u64().unwrap_or(0),
            warnings: r["warnings"].as_u64().unwrap_or(0),
            records_read: r["records_read"].as_u64().unwrap_or(0),
            format: text(&r["format"], "-"),
            encoding: text(&r["encoding"], "-"),
            crs: text(&r["crs"], "-"),
            layout: text(&r["layout"], "-"),
            issues,
        }
    }

    fn class(&self) -> &'static str {
        if self.errors > 0 {
            "error"
        } else {
            "ok"
        }
    }
}

/// The preview of a version against the published one.
struct PreviewView<'a> {
    diff: &'a Diff,
    against: String,
    map: Option<&'a MapSketch>,
    /// (title, labels) of the added and of the removed features, when there are any.
    lists: Vec<(&'static str, &'a [(i64, String)])>,
}

impl<'a> PreviewView<'a> {
    fn new(diff: &'a Diff, map: Option<&'a MapSketch>) -> PreviewView<'a> {
        PreviewView {
            diff,
            against: diff
                .against
                .map(|v| format!("公開中の版{v}との比較 / compared with published version {v}"))
                .unwrap_or_else(|| {
                    "公開中の版はありません（すべて追加） / nothing published yet: all added".into()
                }),
            map,
            lists: [
                ("追加される地物 / Added features", &diff.added_labels[..]),
                (
                    "削除される地物 / Removed features",
                    &diff.removed_labels[..],
                ),
            ]
            .into_iter()
            .filter(|(_, l)| !l.is_empty())
            .collect(),
        }
    }
}

/// A version's actions: publish / discard when staged, roll back when superseded (admins).
struct Action {
    action: String,
    label: &'static str,
    class: &'static str,
}

#[derive(Template)]
#[template(path = "console/version.html")]
struct VersionPage<'a> {
    chrome: Chrome<'a>,
    d: DatasetId,
    v: &'a VersionInfo,
    status: &'static str,
    notice: Option<&'a str>,
    actions: Vec<Action>,
    csv: bool,
    preview: Option<PreviewView<'a>>,
    report: Option<ReportView>,
}

/// A version: its report, the preview (the changes against the published version and their
/// map) and the decisions.
pub fn version(
    viewer: &Viewer,
    d: DatasetId,
    v: &VersionInfo,
    report_json: Option<&Value>,
    preview: Option<(&Diff, Option<&MapSketch>)>,
    notice: Option<&str>,
) -> String {
    let act = |what: &str, label: &'static str, class: &'static str| Action {
        action: format!("/admin/datasets/{d}/versions/{}/{what}", v.version),
        label,
        class,
    };
    let actions = match v.status.as_str() {
        "staged" => vec![
            act("publish", "公開する / Publish", ""),
            act("discard", "破棄する / Discard", "secondary"),
        ],
        "superseded" if viewer.is_admin() => vec![act(
            "rollback",
            "この版に戻す / Roll back to this version",
            "danger",
        )],
        _ => Vec::new(),
    };
    let title_ja = format!("{} 版{}", d.title_ja(), v.version);
    let title_en = format!("{} version {}", d.title_en(), v.version);
    render(&VersionPage {
        chrome: Chrome::new(&title_ja, &title_en, Some(viewer)),
        d,
        v,
        status: status_label(&v.status),
        notice,
        actions,
        csv: v.status != "discarded",
        preview: preview.map(|(diff, map)| PreviewView::new(diff, map)),
        report: report_json.map(ReportView::new),
    })
}

/// One column of a file whose layout was not recognised.
struct MappingRow {
    header: String,
    sample: String,
}

/// The column-mapping form: one row per column found (at most 200 a file), with its first
/// value, a choice of standard column (`targets`; a text field when the dataset has none) and,
/// for flags, which values mean yes / no / conditional.
struct MappingForm {
    rows: Vec<MappingRow>,
    targets: &'static [Target],
}

impl MappingForm {
    /// The form for the files of a report whose layout was not recognised (or whose mapping
    /// did not fit), if any.
    fn new(d: DatasetId, r: &Value) -> Option<MappingForm> {
        let unrecognised = r["issues"].as_array().is_some_and(|a| {
            a.iter().any(|i| {
                matches!(
                    i["code"].as_str(),
                    Some("HEADER_UNRECOGNIZED" | "MAPPING_UNFIT")
                )
            })
        });
        let files = r["files"]
            .as_array()
            .map(|a| a.as_slice())
            .unwrap_or_default();
        if !unrecognised || files.is_empty() {
            return None;
        }
        let mut rows = Vec::new();
        for f in files {
            let samples = f["samples"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default();
            let headers = f["headers"]
                .as_array()
                .map(|a| a.as_slice())
                .unwrap_or_default();
            for (j, h) in headers.iter().enumerate().take(200) {
                rows.push(MappingRow {
                    header: h.as_str().unwrap_or("").to_string(),
                    sample: samples
                        .get(j)
                        .and_then(Value::as_str)
                        .unwrap_or("")
                        .to_string(),
                });
            }
        }
        Some(MappingForm {
            rows,
            targets: crate::mapping::targets(d),
        })
    }
}

#[derive(Template)]
#[template(path = "console/rejected.html")]
struct RejectedPage<'a> {
    chrome: Chrome<'a>,
    d: DatasetId,
    mapping: Option<MappingForm>,
    report: Option<ReportView>,
}

/// A rejected upload: the report and, when a file's layout was not recognised, the form that
/// maps its columns once (saved for later files with the same headers).
pub fn rejected(viewer: &Viewer, d: DatasetId, report_json: &Value) -> String {
    render(&RejectedPage {
        chrome: Chrome::new("取り込めませんでした", "Upload rejected", Some(viewer)),
        d,
        mapping: MappingForm::new(d, report_json),
        report: Some(ReportView::new(report_json)),
    })
}

/// One shelter's card.
struct ShelterCard<'a> {
    fid: i64,
    name: &'a str,
    address: &'a str,
    /// The status in force, in words.
    now: String,
    states: Vec<(ShelterState, bool)>,
    evacuees: String,
}

#[derive(Template)]
#[template(path = "console/shelters.html")]
struct SheltersPage<'a> {
    chrome: Chrome<'a>,
    q: &'a str,
    cards: Vec<ShelterCard<'a>>,
}

/// Shelter status, one card per shelter, each with its own small form.
pub fn shelters(
    viewer: &Viewer,
    rows: &[(i64, String, String, Option<StatusEvent>)],
    q: &str,
) -> String {
    let cards = rows
        .iter()
        .map(|(fid, name, address, cur)| ShelterCard {
            fid: *fid,
            name,
            address,
            now: cur
                .as_ref()
                .map(|e| {
                    format!(
                        "{} / {}、避難者 / evacuees {}（{} {}）",
                        e.status.ja(),
                        e.status.as_str(),
                        e.evacuees
                            .map(|n| n.to_string())
                            .unwrap_or_else(|| "-".into()),
                        e.at,
                        e.by
                    )
                })
                .unwrap_or_else(|| "未設定 / not set".into()),
            states: ShelterState::ALL
                .into_iter()
                .map(|s| (s, cur.as_ref().is_some_and(|e| e.status == s)))
                .collect(),
            evacuees: cur
                .as_ref()
                .and_then(|e| e.evacuees)
                .map(|n| n.to_string())
                .unwrap_or_default(),
        })
        .collect();
    render(&SheltersPage {
        chrome: Chrome::new("避難所の状況", "Shelter status", Some(viewer)),
        q,
        cards,
    })
}

#[derive(Template)]
#[template(path = "console/users.html")]
struct UsersPage<'a> {
    chrome: Chrome<'a>,
    notice: Option<Notice<'a>>,
    /// Each user with the action of its disable form (none for the disabled and oneself).
    users: Vec<(&'a User, Option<String>)>,
}

/// Users (admins).
pub fn users(viewer: &Viewer, users: &[User], notice: Option<(&str, bool)>) -> String {
    render(&UsersPage {
        chrome: Chrome::new("ユーザー管理", "Users", Some(viewer)),
        notice: notice.map(self::notice),
        users: users
            .iter()
            .map(|u| {
                let act = (!u.disabled && u.name != viewer.user)
                    .then(|| format!("/admin/users/{}/disable", u.name));
                (u, act)
            })
            .collect(),
    })
}

#[derive(Template)]
#[template(path = "console/tokens.html")]
struct TokensPage<'a> {
    chrome: Chrome<'a>,
    created: Option<(&'a Token, &'a str)>,
    /// Each token with the action of its revoke form (none once revoked).
    tokens: Vec<(&'a Token, Option<String>)>,
    /// The users a token may be made for (the enabled ones).
    users: Vec<&'a User>,
}

/// API tokens (admins). `created` is a token just made, shown once.
pub fn tokens(
    viewer: &Viewer,
    tokens: &[Token],
    users: &[User],
    created: Option<(&Token, &str)>,
) -> String {
    render(&TokensPage {
        chrome: Chrome::new("APIトークン", "API tokens", Some(viewer)),
        created,
        tokens: tokens
            .iter()
            .map(|t| {
                let act = (!t.revoked).then(|| format!("/admin/tokens/{}/revoke", t.id));
                (t, act)
            })
            .collect(),
        users: users.iter().filter(|u| !u.disabled).collect(),
    })
}

#[derive(Template)]
#[template(path = "console/audit.html")]
struct AuditPage<'a> {
    chrome: Chrome<'a>,
    entries: &'a [Entry],
}

/// The audit log (admins).
pub fn audit(viewer: &Viewer, entries: &[Entry]) -> String {
    render(&AuditPage {
        chrome: Chrome::new("操作記録", "Audit log", Some(viewer)),
        entries,
    })
}

/// One hazard's coverage card.
struct CoverageCard<'a> {
    d: DatasetId,
    /// `default`, `wards` or `polygon`.
    kind: &'a str,
    /// What is in force, in words.
    now: String,
    record: Option<&'a crate::coverage::Record>,
    /// Every published ward (code, name) and whether the setting in force lists it.
    wards: Vec<(&'a str, &'a str, bool)>,
}

#[derive(Template)]
#[template(path = "console/coverage.html")]
struct CoveragePage<'a> {
    chrome: Chrome<'a>,
    notice: Option<Notice<'a>>,
    ward_count: usize,
    cards: Vec<CoverageCard<'a>>,
}

/// The area each hazard map covers (admins): what is in force and a form per hazard to set the
/// published wards (the default), a list of wards, or a polygon pasted as GeoJSON. `rows` are
/// the hazards with the setting in force (none: the default); `wards` the published wards as
/// (code, name).
pub fn coverage(
    viewer: &Viewer,
    rows: &[(DatasetId, Option<&crate::coverage::Record>)],
    wards: &[(String, String)],
    notice: Option<(&str, bool)>,
) -> String {
    let cards = rows
        .iter()
        .map(|&(d, r)| {
            let kind = r.map_or("default", |r| r.kind.as_str());
            let in_force: &[String] = r.map_or(&[], |r| &r.wards);
            let now = match kind {
                "wards" => format!(
                    "町丁・字 {} 件 / {} ward(s): {}",
                    in_force.len(),
                    in_force.len(),
                    in_force.join(", ")
                ),
                "polygon" => "範囲の図形 / a polygon".to_string(),
                _ => "既定（公開中の町丁・字の全域） / default (every published ward)".to_string(),
            };
            CoverageCard {
                d,
                kind,
                now,
                record: r,
                wards: wards
                    .iter()
                    .map(|(code, name)| (code.as_str(), name.as_str(), in_force.contains(code)))
                    .collect(),
            }
        })
        .collect();
    render(&CoveragePage {
        chrome: Chrome::new("想定区域図の範囲", "Hazard map coverage", Some(viewer)),
        notice: notice.map(self::notice),
        ward_count: wards.len(),
        cards,
    })
}
