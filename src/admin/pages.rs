//! Server-rendered pages of the staff console: Japanese first with English, no JavaScript,
//! usable on a phone (one column, large targets), accessible (a skip link, one `h1` per page,
//! labelled fields, tables with headers, visible focus). Every piece of user-supplied text goes
//! through [`esc`].

use super::accounts::{Token, User};
use super::audit::Entry;
use super::diff::Diff;
use super::status::{ShelterState, StatusEvent};
use super::Role;
use crate::dataset::DatasetId;
use crate::store::VersionInfo;
use serde_json::Value;
use std::fmt::Write as _;

/// HTML-escape text for element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// The signed-in staff member a page is drawn for.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token, put in every form.
    pub csrf: String,
}

impl Viewer {
    fn csrf_input(&self) -> String {
        format!(
            "<input type=\"hidden\" name=\"csrf\" value=\"{}\">",
            esc(&self.csrf)
        )
    }

    /// A form with one button posting to `action`.
    pub fn button(&self, action: &str, label: &str, class: &str) -> String {
        format!(
            "<form method=\"post\" action=\"{}\" class=\"inline\">{}<button type=\"submit\" class=\"{class}\">{label}</button></form>",
            esc(action),
            self.csrf_input()
        )
    }
}

/// The style sheet, served at `/admin/console.css`.
pub const CSS: &str = "
*{box-sizing:border-box}
body{font-family:system-ui,'Hiragino Sans','Noto Sans JP',sans-serif;margin:0;line-height:1.6;font-size:1.05rem;color:#1a1a1a;background:#fff}
a{color:#0645ad}
header{background:#0b3d91;color:#fff;padding:.5rem 1rem}
header a{color:#fff}
header nav ul{list-style:none;margin:0;padding:0;display:flex;flex-wrap:wrap;gap:.25rem 1rem}
main{padding:1rem;max-width:60rem;margin:0 auto}
.skip{position:absolute;left:-999px}
.skip:focus{left:1rem;top:1rem;background:#ff0;color:#000;padding:.5rem;z-index:9}
:focus-visible{outline:3px solid #ffbf47;outline-offset:2px}
button,input,select{font-size:1rem;min-height:44px}
button{padding:.5rem 1rem;border:1px solid #0b3d91;background:#0b3d91;color:#fff;border-radius:4px;cursor:pointer}
button.secondary{background:#fff;color:#0b3d91}
button.danger{background:#b3261e;border-color:#b3261e}
label{display:block;font-weight:600;margin-top:.75rem}
input[type=text],input[type=password],input[type=number],input[type=file],select,textarea{width:100%;max-width:30rem;padding:.4rem}
fieldset{border:1px solid #ccc;margin:.5rem 0}
fieldset label{font-weight:400;margin-top:.25rem}
fieldset.wards{max-height:16rem;overflow-y:auto}
form.inline{display:inline-block;margin:.25rem .25rem .25rem 0}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.95rem}
th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f8}
.scroll{overflow-x:auto}
.error{color:#b3261e;font-weight:600}
.warning{color:#7a4d00}
.ok{color:#1a7f37;font-weight:600}
.notice{border-left:6px solid #0b3d91;background:#eef2f8;padding:.5rem 1rem;margin:1rem 0}
.notice.bad{border-color:#b3261e;background:#fbeaea}
.secret{font-family:monospace;word-break:break-all;background:#ffc;padding:.5rem}
svg.map{width:100%;max-width:32rem;height:auto;border:1px solid #ccc}
.card{border:1px solid #ccc;border-radius:6px;padding:.75rem;margin:.75rem 0}
.card h2,.card h3{margin:.2rem 0}
";

/// A notice at the top of a page: a confirmation (`status`), or an error (`alert`) when `bad`.
fn notice_html((text, bad): (&str, bool)) -> String {
    format!(
        "<p class=\"notice{}\" role=\"{}\">{}</p>",
        if bad { " bad" } else { "" },
        if bad { "alert" } else { "status" },
        esc(text)
    )
}

/// A whole page.
pub fn layout(title_ja: &str, title_en: &str, viewer: Option<&Viewer>, body: &str) -> String {
    let mut nav = String::new();
    if let Some(v) = viewer {
        let _ = write!(
            nav,
            "<nav aria-label=\"管理メニュー / console menu\"><ul>\
             <li><a href=\"/admin\">データ / Data</a></li>\
             <li><a href=\"/admin/shelters\">避難所の状況 / Shelter status</a></li>"
        );
        if v.role == Role::Admin {
            nav.push_str(
                "<li><a href=\"/admin/users\">ユーザー / Users</a></li>\
                 <li><a href=\"/admin/tokens\">APIトークン / API tokens</a></li>\
                 <li><a href=\"/admin/coverage\">想定区域図の範囲 / Map coverage</a></li>\
                 <li><a href=\"/admin/audit\">操作記録 / Audit log</a></li>",
            );
        }
        let _ = write!(
            nav,
            "<li>{} （{} / {}）</li><li>{}</li></ul></nav>",
            esc(&v.user),
            v.role.ja(),
            v.role.as_str(),
            v.button("/admin/logout", "ログアウト / Sign out", "secondary")
        );
    }
    format!(
        "<!doctype html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{tj} / {te} — machimap 管理</title>\
         <link rel=\"stylesheet\" href=\"/admin/console.css\"></head><body>\
         <a class=\"skip\" href=\"#main\">本文へ移動 / Skip to content</a>\
         <header><p><strong>machimap 職員用管理画面</strong> / staff console</p>{nav}</header>\
         <main id=\"main\" tabindex=\"-1\"><h1>{tj} <span lang=\"en\">/ {te}</span></h1>{body}</main></body></html>",
        tj = esc(title_ja),
        te = esc(title_en),
    )
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
    layout(
        title_ja,
        title_en,
        viewer,
        &format!(
            "<p class=\"notice{}\" role=\"{}\">{}</p><p><a href=\"{}\">戻る / Back</a></p>",
            if bad { " bad" } else { "" },
            if bad { "alert" } else { "status" },
            esc(text),
            esc(back)
        ),
    )
}

/// The sign-in page.
pub fn login(error: Option<&str>, csrf: &str, next: &str) -> String {
    let err = error
        .map(|e| format!("<p class=\"notice bad\" role=\"alert\">{}</p>", esc(e)))
        .unwrap_or_default();
    layout(
        "ログイン",
        "Sign in",
        None,
        &format!(
            "{err}<form method=\"post\" action=\"/admin/login\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"next\" value=\"{}\">\
             <label for=\"user\">ユーザー名 / User name</label>\
             <input type=\"text\" id=\"user\" name=\"user\" autocomplete=\"username\" required autofocus>\
             <label for=\"password\">パスワード / Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <p><button type=\"submit\">ログイン / Sign in</button></p></form>",
            esc(csrf),
            esc(next)
        ),
    )
}

/// The start page: every dataset with its published version.
pub fn dashboard(viewer: &Viewer, rows: &[(DatasetId, Option<VersionInfo>, usize)]) -> String {
    let mut b = String::from(
        "<p>データセットを選んで、ファイルのアップロード・確認・公開・履歴の確認をします。<br>\
         <span lang=\"en\">Choose a dataset to upload, check, publish or see its history.</span></p>\
         <div class=\"scroll\"><table><caption>データセット / Datasets</caption><thead><tr>\
         <th scope=\"col\">データセット / Dataset</th><th scope=\"col\">公開中の版 / Published</th>\
         <th scope=\"col\">件数 / Rows</th><th scope=\"col\">未公開 / Staged</th></tr></thead><tbody>",
    );
    for (d, cur, staged) in rows {
        let _ = write!(
            b,
            "<tr><th scope=\"row\"><a href=\"/admin/datasets/{d}\">{} / {}</a></th><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(d.title_ja()),
            esc(d.title_en()),
            cur.as_ref()
                .map(|v| format!("版{} ({})", v.version, esc(&v.published_at.clone().unwrap_or_default())))
                .unwrap_or_else(|| "なし / none".into()),
            cur.as_ref().map(|v| v.row_count.to_string()).unwrap_or_default(),
            staged
        );
    }
    b.push_str("</tbody></table></div>");
    layout("データ管理", "Data", Some(viewer), &b)
}

fn status_ja(s: &str) -> &'static str {
    match s {
        "published" => "公開中 / published",
        "superseded" => "過去に公開 / superseded",
        "staged" => "未公開 / staged",
        "discarded" => "破棄 / discarded",
        _ => "",
    }
}

/// A dataset: upload form and the history of every version.
pub fn dataset(viewer: &Viewer, d: DatasetId, versions: &[VersionInfo], limit_mb: u64) -> String {
    let mut b = String::new();
    let files_hint = if d == DatasetId::Roads {
        "道路台帳は台帳CSVと路線のファイルを一緒に選んでください / for roads choose the ledger CSV and the line file together"
    } else {
        "CSV（UTF-8・Shift_JIS）、GeoJSON、ZIP圧縮のシェープファイル / CSV (UTF-8 or Shift_JIS), GeoJSON or zipped Shapefile"
    };
    let _ = write!(
        b,
        "<section aria-labelledby=\"up\" class=\"card\"><h2 id=\"up\">アップロード / Upload</h2>\
         <p>アップロードしたファイルは検査して未公開の版として保存します。公開中のデータは、確認して「公開」を押すまで変わりません。<br>\
         <span lang=\"en\">Uploads are checked and stored as an unpublished version; published data changes only when you press Publish.</span></p>\
         <form method=\"post\" action=\"/admin/datasets/{d}/upload\" enctype=\"multipart/form-data\">{}\
         <label for=\"file\">ファイル / File</label>\
         <input type=\"file\" id=\"file\" name=\"file\" required multiple aria-describedby=\"file-hint\">\
         <p id=\"file-hint\">{} （上限 {limit_mb} MB / up to {limit_mb} MB）</p>\
         <p><button type=\"submit\">アップロードして検査 / Upload and check</button></p></form></section>",
        viewer.csrf_input(),
        esc(files_hint)
    );
    let _ = write!(
        b,
        "<section aria-labelledby=\"hist\"><h2 id=\"hist\">履歴 / History</h2><div class=\"scroll\"><table><thead><tr>\
         <th scope=\"col\">版 / Version</th><th scope=\"col\">状態 / Status</th><th scope=\"col\">登録 / Created</th>\
         <th scope=\"col\">登録者 / By</th><th scope=\"col\">ファイル / Source</th><th scope=\"col\">SHA-256</th>\
         <th scope=\"col\">件数 / Rows</th><th scope=\"col\">修正 / Warnings</th><th scope=\"col\">操作 / Actions</th></tr></thead><tbody>"
    );
    for v in versions {
        let mut actions = format!(
            "<a href=\"/admin/datasets/{d}/versions/{n}\">確認 / Review</a>",
            n = v.version
        );
        if v.status != "discarded" {
            let _ = write!(
                actions,
                " · <a href=\"/admin/datasets/{d}/versions/{n}/csv\">CSV</a>",
                n = v.version
            );
        }
        if v.status == "superseded" && viewer.role == Role::Admin {
            actions.push_str(&viewer.button(
                &format!("/admin/datasets/{d}/versions/{}/rollback", v.version),
                "この版に戻す / Roll back to this",
                "danger",
            ));
        }
        let _ = write!(
            b,
            "<tr><th scope=\"row\">{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code title=\"{}\">{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
            v.version,
            status_ja(&v.status),
            esc(&v.created_at),
            esc(&v.created_by),
            esc(&v.source_names),
            esc(&v.source_sha256),
            esc(&v.source_sha256.chars().take(12).collect::<String>()),
            v.row_count,
            v.warnings,
            actions
        );
    }
    b.push_str("</tbody></table></div></section>");
    layout(d.title_ja(), d.title_en(), Some(viewer), &b)
}

fn loc_text(loc: &Value) -> String {
    let n = loc["n"].as_u64().unwrap_or(0);
    match loc["kind"].as_str() {
        Some("row") => format!("{n}行目 / row {n}"),
        Some("feature") => format!("{n}番目の地物 / feature {n}"),
        _ => "ファイル全体 / whole file".into(),
    }
}

/// The validation report (as its JSON), Japanese first, one row per issue.
pub fn report(r: &Value) -> String {
    let mut b = String::new();
    let errors = r["errors"].as_u64().unwrap_or(0);
    let _ = write!(
        b,
        "<section aria-labelledby=\"rep\"><h2 id=\"rep\">検査結果 / Validation report</h2>\
         <p class=\"{}\">エラー {} 件・修正 {} 件・読み込み {} 件 / {} errors, {} warnings (repairs), {} records read</p>\
         <ul><li>形式 / Format: {}</li><li>文字コード / Encoding: {}</li><li>座標系 / CRS: {}</li><li>レイアウト / Layout: {}</li></ul>",
        if errors > 0 { "error" } else { "ok" },
        errors,
        r["warnings"].as_u64().unwrap_or(0),
        r["records_read"].as_u64().unwrap_or(0),
        errors,
        r["warnings"].as_u64().unwrap_or(0),
        r["records_read"].as_u64().unwrap_or(0),
        esc(r["format"].as_str().unwrap_or("-")),
        esc(r["encoding"].as_str().unwrap_or("-")),
        esc(r["crs"].as_str().unwrap_or("-")),
        esc(r["layout"].as_str().unwrap_or("-")),
    );
    let issues = r["issues"].as_array().cloned().unwrap_or_default();
    if !issues.is_empty() {
        b.push_str(
            "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">重大度 / Severity</th>\
             <th scope=\"col\">場所 / Where</th><th scope=\"col\">列 / Column</th><th scope=\"col\">値 / Value</th>\
             <th scope=\"col\">内容 / What</th><th scope=\"col\">期待される値 / Expected</th></tr></thead><tbody>",
        );
        for i in &issues {
            let sev = i["severity"].as_str().unwrap_or("");
            let sev_ja = match sev {
                "error" => "エラー / error",
                "warning" => "修正 / repaired",
                _ => "情報 / info",
            };
            let expected = match (i["expected_ja"].as_str(), i["expected_en"].as_str()) {
                (Some(j), Some(e)) => format!("{} / {}", esc(j), esc(e)),
                (Some(j), None) => esc(j),
                _ => String::new(),
            };
            let _ = write!(
                b,
                "<tr class=\"{}\"><td>{}</td><td>{} {}</td><td>{}</td><td>{}</td><td>{}<br><span lang=\"en\">{}</span></td><td>{}</td></tr>",
                esc(sev),
                sev_ja,
                esc(i["file"].as_str().unwrap_or("")),
                loc_text(&i["loc"]),
                esc(i["column"].as_str().unwrap_or("")),
                esc(i["value"].as_str().unwrap_or("")),
                esc(i["message_ja"].as_str().unwrap_or("")),
                esc(i["message_en"].as_str().unwrap_or("")),
                expected
            );
        }
        b.push_str("</tbody></table></div>");
    }
    b.push_str("</section>");
    b
}

/// The preview of a version against the published one.
pub fn preview(diff: &Diff, map_svg: &str) -> String {
    let mut b = String::new();
    let _ = write!(
        b,
        "<section aria-labelledby=\"pre\"><h2 id=\"pre\">変更内容 / What changes</h2><p>{}</p>\
         <ul><li>追加 / added: <strong>{}</strong></li><li>削除 / removed: <strong>{}</strong></li>\
         <li>変更 / changed: <strong>{}</strong></li><li>変更なし / unchanged: {}</li></ul>",
        diff.against
            .map(|v| format!("公開中の版{v}との比較 / compared with published version {v}"))
            .unwrap_or_else(|| {
                "公開中の版はありません（すべて追加） / nothing published yet: all added".into()
            }),
        diff.added,
        diff.removed,
        diff.changed,
        diff.unchanged
    );
    if !map_svg.is_empty() {
        b.push_str("<figure>");
        b.push_str(map_svg);
        b.push_str("<figcaption>緑: 追加、赤: 削除、黄: 変更 / green: added, red: removed, amber: changed</figcaption></figure>");
    }
    if !diff.by_ward.is_empty() {
        b.push_str(
            "<h3>地区別 / By ward</h3><div class=\"scroll\"><table><thead><tr><th scope=\"col\">地区 / Ward</th>\
             <th scope=\"col\">追加 / Added</th><th scope=\"col\">削除 / Removed</th><th scope=\"col\">変更 / Changed</th></tr></thead><tbody>",
        );
        for w in &diff.by_ward {
            let _ = write!(
                b,
                "<tr><th scope=\"row\">{} {}</th><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&w.code),
                esc(&w.name),
                w.added,
                w.removed,
                w.changed
            );
        }
        b.push_str("</tbody></table></div>");
    }
    if !diff.changes.is_empty() {
        b.push_str(
            "<h3>変更された属性 / Changed attributes</h3><div class=\"scroll\"><table><thead><tr><th scope=\"col\">fid</th>\
             <th scope=\"col\">名称 / Feature</th><th scope=\"col\">項目 / Column</th><th scope=\"col\">公開中 / Published</th>\
             <th scope=\"col\">新しい値 / New</th></tr></thead><tbody>",
        );
        for c in &diff.changes {
            let _ = write!(
                b,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                c.fid,
                esc(&c.label),
                esc(&c.column),
                esc(&c.old),
                esc(&c.new)
            );
        }
        b.push_str("</tbody></table></div>");
        if diff.changes_truncated {
            b.push_str("<p>（一部のみ表示 / only the first rows are shown）</p>");
        }
    }
    for (title, list) in [
        ("追加される地物 / Added features", &diff.added_labels),
        ("削除される地物 / Removed features", &diff.removed_labels),
    ] {
        if list.is_empty() {
            continue;
        }
        let _ = write!(
            b,
            "<details><summary>{title}（{}）</summary><ul>",
            list.len()
        );
        for (fid, l) in list {
            let _ = write!(b, "<li>{fid}: {}</li>", esc(l));
        }
        b.push_str("</ul></details>");
    }
    b.push_str("</section>");
    b
}

/// A version: its report, the preview and the decisions.
pub fn version(
    viewer: &Viewer,
    d: DatasetId,
    v: &VersionInfo,
    report_json: Option<&Value>,
    body_preview: &str,
    notice: Option<&str>,
) -> String {
    let mut b = String::new();
    if let Some(n) = notice {
        let _ = write!(b, "<p class=\"notice\" role=\"status\">{}</p>", esc(n));
    }
    let _ = write!(
        b,
        "<p>状態 / Status: <strong>{}</strong>　ファイル / Source: {}　登録者 / By: {}　登録 / Created: {}　件数 / Rows: {}<br>SHA-256: <code>{}</code></p>",
        status_ja(&v.status),
        esc(&v.source_names),
        esc(&v.created_by),
        esc(&v.created_at),
        v.row_count,
        esc(&v.source_sha256)
    );
    let mut actions = String::new();
    match v.status.as_str() {
        "staged" => {
            actions.push_str(&viewer.button(
                &format!("/admin/datasets/{d}/versions/{}/publish", v.version),
                "公開する / Publish",
                "",
            ));
            actions.push_str(&viewer.button(
                &format!("/admin/datasets/{d}/versions/{}/discard", v.version),
                "破棄する / Discard",
                "secondary",
            ));
        }
        "superseded" if viewer.role == Role::Admin => {
            actions.push_str(&viewer.button(
                &format!("/admin/datasets/{d}/versions/{}/rollback", v.version),
                "この版に戻す / Roll back to this version",
                "danger",
            ));
        }
        _ => {}
    }
    if v.status != "discarded" {
        let _ = write!(
            actions,
            " <a href=\"/admin/datasets/{d}/versions/{}/csv\">CSVをダウンロード / Download CSV</a>",
            v.version
        );
    }
    let _ = write!(b, "<div class=\"card\">{actions}</div>");
    b.push_str(body_preview);
    if let Some(r) = report_json {
        b.push_str(&report(r));
    }
    let _ = write!(
        b,
        "<p><a href=\"/admin/datasets/{d}\">履歴へ戻る / Back to the history</a></p>"
    );
    layout(
        &format!("{} 版{}", d.title_ja(), v.version),
        &format!("{} version {}", d.title_en(), v.version),
        Some(viewer),
        &b,
    )
}

/// A rejected upload: the report and, when a file's layout was not recognised, the form that
/// maps its columns once (saved for later files with the same headers).
pub fn rejected(viewer: &Viewer, d: DatasetId, report_json: &Value) -> String {
    let b = format!(
        "<p class=\"notice bad\" role=\"alert\">エラーがあるため取り込みませんでした。公開中のデータは変わりません。下の表を見て修正してから、もう一度アップロードしてください。<br>\
         <span lang=\"en\">Rejected: the published data is unchanged. Fix the rows below and upload again.</span></p>{}{}\
         <p><a href=\"/admin/datasets/{d}\">戻る / Back</a></p>",
        mapping_form(viewer, d, report_json),
        report(report_json)
    );
    layout("取り込めませんでした", "Upload rejected", Some(viewer), &b)
}

/// The column-mapping form for the files of a report whose layout was not recognised (or
/// whose mapping did not fit): one row per column found, with its first value, a choice of
/// standard column and, for flags, which values mean yes / no / conditional.
fn mapping_form(viewer: &Viewer, d: DatasetId, r: &Value) -> String {
    let unrecognised = r["issues"].as_array().is_some_and(|a| {
        a.iter().any(|i| {
            matches!(
                i["code"].as_str(),
                Some("HEADER_UNRECOGNIZED" | "MAPPING_UNFIT")
            )
        })
    });
    let files = r["files"].as_array().cloned().unwrap_or_default();
    if !unrecognised || files.is_empty() {
        return String::new();
    }
    let targets = crate::mapping::targets(d);
    let mut options = String::from("<option value=\"\">（使わない / not used）</option>");
    for t in targets {
        let _ = write!(
            options,
            "<option value=\"{}\">{} / {}</option>",
            esc(t.header),
            esc(t.ja),
            esc(t.en)
        );
    }
    let mut b = String::new();
    let _ = write!(
        b,
        "<section aria-labelledby=\"map\" class=\"card\"><h2 id=\"map\">列の対応付け / Map the columns</h2>\
         <p>このファイルの見出しは標準の様式と異なります。各列が何を表すかを選んでください。対応付けは保存され、同じ見出しのファイルの次回以降のアップロードにも使われます。<br>\
         <span lang=\"en\">This file's headers are not a standard layout. Say what each column is; the mapping is saved and used again for later files with the same headers.</span></p>\
         <form method=\"post\" action=\"/admin/datasets/{d}/upload\" enctype=\"multipart/form-data\" id=\"mapping-form\">{}\
         <div class=\"scroll\"><table><thead><tr><th scope=\"col\">列 / Column</th><th scope=\"col\">1件目の値 / First value</th>\
         <th scope=\"col\">標準の列 / Standard column</th><th scope=\"col\">該当の値 / Values meaning yes</th>\
         <th scope=\"col\">該当なしの値 / Values meaning no</th><th scope=\"col\">条件付きの値 / Values meaning conditional</th></tr></thead><tbody>",
        viewer.csrf_input()
    );
    let mut i = 0usize;
    for f in &files {
        let headers = f["headers"].as_array().cloned().unwrap_or_default();
        let samples = f["samples"].as_array().cloned().unwrap_or_default();
        for (j, h) in headers.iter().enumerate().take(200) {
            let h = h.as_str().unwrap_or("");
            let sample = samples.get(j).and_then(Value::as_str).unwrap_or("");
            let select = if targets.is_empty() {
                format!("<input type=\"text\" id=\"t{i}\" name=\"t{i}\" aria-label=\"{} の標準の列 / standard column for {}\">", esc(h), esc(h))
            } else {
                format!("<select id=\"t{i}\" name=\"t{i}\" aria-label=\"{} の標準の列 / standard column for {}\">{options}</select>", esc(h), esc(h))
            };
            let _ = write!(
                b,
                "<tr><th scope=\"row\"><input type=\"hidden\" name=\"h{i}\" value=\"{}\">{}</th><td>{}</td><td>{select}</td>\
                 <td><input type=\"text\" name=\"y{i}\" id=\"y{i}\" aria-label=\"{} 該当の値 / yes values\" placeholder=\"例: 可, あり\"></td>\
                 <td><input type=\"text\" name=\"n{i}\" id=\"n{i}\" aria-label=\"{} 該当なしの値 / no values\" placeholder=\"例: 不可\"></td>\
                 <td><input type=\"text\" name=\"c{i}\" id=\"c{i}\" aria-label=\"{} 条件付きの値 / conditional values\" placeholder=\"例: 条件付\"></td></tr>",
                esc(h),
                esc(h),
                esc(sample),
                esc(h),
                esc(h),
                esc(h)
            );
            i += 1;
        }
    }
    b.push_str(
        "</tbody></table></div>\
         <label for=\"mapfile\">同じファイルをもう一度選んでください / Choose the same file(s) again</label>\
         <input type=\"file\" id=\"mapfile\" name=\"file\" required multiple>\
         <p><button type=\"submit\">この対応付けで取り込む / Upload with this mapping</button></p></form></section>",
    );
    b
}

/// Shelter status, one card per shelter, each with its own small form.
pub fn shelters(
    viewer: &Viewer,
    rows: &[(i64, String, String, Option<StatusEvent>)],
    q: &str,
) -> String {
    let mut b = format!(
        "<form method=\"get\" action=\"/admin/shelters\" role=\"search\"><label for=\"q\">避難所を検索 / Find a shelter</label>\
         <input type=\"text\" id=\"q\" name=\"q\" value=\"{}\"> <button type=\"submit\" class=\"secondary\">検索 / Search</button></form>\
         <p>公開: <a href=\"/api/shelter-status\">/api/shelter-status</a></p>",
        esc(q)
    );
    if rows.is_empty() {
        b.push_str("<p>該当する避難所はありません / no shelter found</p>");
    }
    for (fid, name, address, cur) in rows {
        let now = cur
            .as_ref()
            .map(|e| {
                format!(
                    "{} / {}、避難者 / evacuees {}（{} {}）",
                    e.status.ja(),
                    e.status.as_str(),
                    e.evacuees
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "-".into()),
                    esc(&e.at),
                    esc(&e.by)
                )
            })
            .unwrap_or_else(|| "未設定 / not set".into());
        let mut opts = String::new();
        for s in ShelterState::ALL {
            let sel = cur.as_ref().is_some_and(|e| e.status == s);
            let _ = write!(
                opts,
                "<option value=\"{}\"{}>{} / {}</option>",
                s.as_str(),
                if sel { " selected" } else { "" },
                s.ja(),
                s.as_str()
            );
        }
        let _ = write!(
            b,
            "<section class=\"card\" aria-labelledby=\"s{fid}\"><h2 id=\"s{fid}\">{}</h2><p>{}</p><p>現在 / Now: {now}</p>\
             <form method=\"post\" action=\"/admin/shelters/{fid}/status\">{}\
             <label for=\"st{fid}\">状態 / Status</label><select id=\"st{fid}\" name=\"status\">{opts}</select>\
             <label for=\"ev{fid}\">避難者数 / Evacuees</label><input type=\"number\" id=\"ev{fid}\" name=\"evacuees\" min=\"0\" max=\"1000000\" inputmode=\"numeric\" value=\"{}\">\
             <p><button type=\"submit\">更新 / Update</button></p></form></section>",
            esc(name),
            esc(address),
            viewer.csrf_input(),
            cur.as_ref().and_then(|e| e.evacuees).map(|n| n.to_string()).unwrap_or_default()
        );
    }
    layout("避難所の状況", "Shelter status", Some(viewer), &b)
}

/// Users (admins).
pub fn users(viewer: &Viewer, users: &[User], notice: Option<(&str, bool)>) -> String {
    let mut b = String::new();
    if let Some(n) = notice {
        b.push_str(&notice_html(n));
    }
    b.push_str(
        "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">ユーザー / User</th><th scope=\"col\">権限 / Role</th>\
         <th scope=\"col\">状態 / State</th><th scope=\"col\">作成 / Created</th><th scope=\"col\">操作 / Actions</th></tr></thead><tbody>",
    );
    for u in users {
        let act = if u.disabled || u.name == viewer.user {
            String::new()
        } else {
            viewer.button(
                &format!("/admin/users/{}/disable", u.name),
                "無効にする / Disable",
                "danger",
            )
        };
        let _ = write!(
            b,
            "<tr><th scope=\"row\">{}</th><td>{} / {}</td><td>{}</td><td>{} ({})</td><td>{act}</td></tr>",
            esc(&u.name),
            u.role.ja(),
            u.role.as_str(),
            if u.disabled { "無効 / disabled" } else { "有効 / active" },
            esc(&u.created_at),
            esc(&u.created_by)
        );
    }
    let _ = write!(
        b,
        "</tbody></table></div><section class=\"card\" aria-labelledby=\"add\"><h2 id=\"add\">ユーザーを追加 / Add a user</h2>\
         <form method=\"post\" action=\"/admin/users\">{}\
         <label for=\"name\">ユーザー名 / User name</label><input type=\"text\" id=\"name\" name=\"name\" required autocomplete=\"off\">\
         <label for=\"role\">権限 / Role</label><select id=\"role\" name=\"role\"><option value=\"editor\">編集者 / editor</option><option value=\"admin\">管理者 / admin</option></select>\
         <label for=\"pw\">初期パスワード（10文字以上） / Initial password (10+ characters)</label><input type=\"password\" id=\"pw\" name=\"password\" required minlength=\"10\" autocomplete=\"new-password\">\
         <p><button type=\"submit\">追加 / Add</button></p></form></section>",
        viewer.csrf_input()
    );
    layout("ユーザー管理", "Users", Some(viewer), &b)
}

/// API tokens (admins). `created` is a token just made, shown once.
pub fn tokens(
    viewer: &Viewer,
    tokens: &[Token],
    users: &[User],
    created: Option<(&Token, &str)>,
) -> String {
    let mut b = String::new();
    if let Some((t, secret)) = created {
        let _ = write!(
            b,
            "<div class=\"notice\" role=\"status\"><p>トークン {} を作成しました。この画面を離れると二度と表示されません。<br>\
             <span lang=\"en\">Token {} created. Copy it now: it is never shown again.</span></p>\
             <p class=\"secret\" id=\"new-token\">{}</p></div>",
            esc(&t.id),
            esc(&t.id),
            esc(secret)
        );
    }
    b.push_str(
        "<div class=\"scroll\"><table><thead><tr><th scope=\"col\">ID</th><th scope=\"col\">ユーザー / User</th>\
         <th scope=\"col\">用途 / Label</th><th scope=\"col\">作成 / Created</th><th scope=\"col\">状態 / State</th>\
         <th scope=\"col\">操作 / Actions</th></tr></thead><tbody>",
    );
    for t in tokens {
        let act = if t.revoked {
            String::new()
        } else {
            viewer.button(
                &format!("/admin/tokens/{}/revoke", t.id),
                "無効にする / Revoke",
                "danger",
            )
        };
        let _ = write!(
            b,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{} ({})</td><td>{}</td><td>{act}</td></tr>",
            esc(&t.id),
            esc(&t.user),
            esc(&t.label),
            esc(&t.created_at),
            esc(&t.created_by),
            if t.revoked { "無効 / revoked" } else { "有効 / active" }
        );
    }
    let mut opts = String::new();
    for u in users.iter().filter(|u| !u.disabled) {
        let _ = write!(
            opts,
            "<option value=\"{}\">{} ({})</option>",
            esc(&u.name),
            esc(&u.name),
            u.role.as_str()
        );
    }
    let _ = write!(
        b,
        "</tbody></table></div><section class=\"card\" aria-labelledby=\"new\"><h2 id=\"new\">トークンを作成 / Create a token</h2>\
         <form method=\"post\" action=\"/admin/tokens\">{}\
         <label for=\"user\">ユーザー（この権限で動きます） / User (the token acts with this role)</label><select id=\"user\" name=\"user\">{opts}</select>\
         <label for=\"label\">用途 / Label</label><input type=\"text\" id=\"label\" name=\"label\" maxlength=\"100\" placeholder=\"nightly refresh\">\
         <p><button type=\"submit\">作成 / Create</button></p></form></section>",
        viewer.csrf_input()
    );
    layout("APIトークン", "API tokens", Some(viewer), &b)
}

/// The audit log (admins).
pub fn audit(viewer: &Viewer, entries: &[Entry]) -> String {
    let mut b = String::from(
        "<p>新しい順に最大1000件 / newest first, up to 1000. JSON: <a href=\"/api/admin/audit\">/api/admin/audit</a></p>\
         <div class=\"scroll\"><table><thead><tr><th scope=\"col\">日時 / When (UTC)</th><th scope=\"col\">誰が / Who</th>\
         <th scope=\"col\">経路 / Via</th><th scope=\"col\">操作 / Action</th><th scope=\"col\">対象 / Target</th><th scope=\"col\">詳細 / Detail</th></tr></thead><tbody>",
    );
    for e in entries {
        let _ = write!(
            b,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&e.at),
            esc(&e.actor),
            esc(&e.via),
            esc(&e.action),
            esc(&e.target),
            esc(&e.detail)
        );
    }
    b.push_str("</tbody></table></div>");
    layout("操作記録", "Audit log", Some(viewer), &b)
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
    let mut b = String::new();
    if let Some(n) = notice {
        b.push_str(&notice_html(n));
    }
    b.push_str(
        "<p>ハザードマップが作られた範囲です。範囲の外の地点は「区域外（危険なし）」ではなく「データなし（分からない）」と住民に伝えます。\
         既定は公開中の町丁・字の全域です。<br><span lang=\"en\">The area each hazard map was drawn for. Outside it a resident is told \
         “no data (unknown)”, not “outside the zone”. By default: every published ward.</span> \
         JSON: <a href=\"/api/admin/coverage\">/api/admin/coverage</a></p>",
    );
    for &(d, r) in rows {
        let kind = r.map_or("default", |r| r.kind.as_str());
        let in_force: &[String] = r.map_or(&[], |r| &r.wards);
        let now = match kind {
            "wards" => format!(
                "町丁・字 {} 件 / {} ward(s): {}",
                in_force.len(),
                in_force.len(),
                esc(&in_force.join(", "))
            ),
            "polygon" => "範囲の図形 / a polygon".to_string(),
            _ => "既定（公開中の町丁・字の全域） / default (every published ward)".to_string(),
        };
        let set = r
            .map(|r| format!("（{} {}）", esc(&r.set_at), esc(&r.set_by)))
            .unwrap_or_default();
        let id = d.as_str();
        let checked = |k: &str| if kind == k { " checked" } else { "" };
        let _ = write!(
            b,
            "<section class=\"card\" aria-labelledby=\"h-{id}\"><h2 id=\"h-{id}\">{} / {}</h2>\
             <p>現在 / In force: {now} {set}</p>\
             <form method=\"post\" action=\"/admin/coverage/{id}\">{}\
             <fieldset><legend>範囲の決め方 / Coverage</legend>\
             <label><input type=\"radio\" name=\"mode\" value=\"default\"{}> 既定：公開中の町丁・字の全域 / default: every published ward</label>\
             <label><input type=\"radio\" name=\"mode\" value=\"wards\"{}> 町丁・字を選ぶ / the wards ticked below</label>\
             <label><input type=\"radio\" name=\"mode\" value=\"polygon\"{}> 範囲の図形（GeoJSON） / a polygon (GeoJSON)</label></fieldset>",
            esc(d.title_ja()),
            esc(d.title_en()),
            viewer.csrf_input(),
            checked("default"),
            checked("wards"),
            checked("polygon"),
        );
        let _ = write!(
            b,
            "<details><summary>町丁・字 / Wards ({})</summary><fieldset class=\"wards\"><legend>範囲に含める町丁・字 / Wards the map covers</legend>",
            wards.len()
        );
        for (code, name) in wards {
            let on = if in_force.iter().any(|w| w == code) {
                " checked"
            } else {
                ""
            };
            let _ = write!(
                b,
                "<label><input type=\"checkbox\" name=\"ward\" value=\"{}\"{on}> {} <small>{}</small></label>",
                esc(code),
                esc(name),
                esc(code)
            );
        }
        let _ = write!(
            b,
            "</fieldset></details>\
             <label for=\"poly-{id}\">範囲の図形（GeoJSON、経度・緯度） / Polygon (GeoJSON, longitude and latitude)</label>\
             <textarea id=\"poly-{id}\" name=\"polygon\" rows=\"3\" spellcheck=\"false\"></textarea>\
             <p><button type=\"submit\">設定する / Set</button></p></form></section>"
        );
    }
    layout("想定区域図の範囲", "Hazard map coverage", Some(viewer), &b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(esc("<script>\"'&"), "&lt;script&gt;&quot;&#39;&amp;");
        let v = Viewer {
            user: "<b>".into(),
            role: Role::Admin,
            csrf: "x".into(),
        };
        let p = layout("<t>", "<e>", Some(&v), "");
        assert!(!p.contains("<b>") && !p.contains("<t>") && p.contains("&lt;b&gt;"));
    }
}
