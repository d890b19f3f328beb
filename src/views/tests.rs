//! The pages escape what they show: user text (names, labels, file names, notes) and configured
//! text (publisher, licence) come out as text, never as markup.

use super::*;
use crate::admin::audit::Entry;
use crate::admin::diff::{map_sketch, Diff, Marker};
use crate::admin::{Role, Viewer};
use crate::catalog::{license, Catalog, Entry as CatalogEntry, Lang, Resource, ResourceKind};
use crate::dataset::DatasetId;
use crate::store::VersionInfo;

/// Every character HTML gives a meaning to.
const EVIL: &str = "<script>alert('x')</script>\"&";
/// [`EVIL`] as askama's HTML escaper writes it.
const EVIL_ESCAPED: &str = "&#60;script&#62;alert(&#39;x&#39;)&#60;/script&#62;&#34;&#38;";

fn viewer(user: &str) -> Viewer {
    Viewer {
        user: user.into(),
        role: Role::Admin,
        csrf: "token".into(),
    }
}

fn assert_escaped(page: &str) {
    assert!(!page.contains("<script"), "{page}");
    assert!(!page.contains("alert('x')"), "{page}");
    assert!(page.contains(EVIL_ESCAPED), "{page}");
}

#[test]
fn console_pages_escape_user_text() {
    let v = viewer(EVIL);
    let p = console::message(Some(&v), EVIL, EVIL, EVIL, true, "/admin");
    assert_escaped(&p);
    // The titles (in `title` and `h1`), the user in the menu and the message.
    assert_eq!(p.matches(EVIL_ESCAPED).count(), 6, "{p}");
    // An audit entry's detail (a dataset's note, a label) and the version's source files.
    let e = Entry {
        at: "2025-04-01T00:00:00Z".into(),
        actor: "alice".into(),
        action: "token.create".into(),
        target: "t1".into(),
        detail: EVIL.into(),
        via: "console".into(),
    };
    assert_escaped(&console::audit(&viewer("alice"), &[e]));
    let version = VersionInfo {
        dataset: DatasetId::Shelters,
        version: 2,
        status: "staged".into(),
        created_at: "2025-04-01T00:00:00Z".into(),
        published_at: None,
        created_by: "alice".into(),
        source_names: EVIL.into(),
        source_sha256: "00".into(),
        row_count: 1,
        warnings: 0,
        bbox: None,
    };
    let page = console::dataset(
        &viewer("alice"),
        DatasetId::Shelters,
        std::slice::from_ref(&version),
        50,
    );
    assert_escaped(&page);
    let report = serde_json::json!({"errors": 1, "issues": [{"severity": "error", "value": EVIL,
        "loc": {"kind": "row", "n": 2}, "code": "HEADER_UNRECOGNIZED"}],
        "files": [{"headers": [EVIL], "samples": [EVIL]}]});
    let page = console::rejected(&viewer("alice"), DatasetId::Shelters, &report);
    assert_escaped(&page);
    // The column's name in the mapping form's hidden field, as an attribute value.
    assert!(
        page.contains(&format!("name=\"h0\" value=\"{EVIL_ESCAPED}\"")),
        "{page}"
    );
    let page = console::shelters(
        &viewer("alice"),
        &[(1, EVIL.to_string(), EVIL.to_string(), None)],
        EVIL,
    );
    assert_escaped(&page);
    assert!(
        page.contains(&format!("name=\"q\" value=\"{EVIL_ESCAPED}\"")),
        "{page}"
    );
}

#[test]
fn console_forms_carry_the_csrf_token_and_the_menu_follows_the_role() {
    let mut v = viewer("alice");
    let p = console::users(&v, &[], Some(("done", false)));
    // The sign-out form and the add-user form.
    assert_eq!(
        p.matches("<input type=\"hidden\" name=\"csrf\" value=\"token\">")
            .count(),
        2
    );
    assert!(p.contains("<p class=\"notice\" role=\"status\">done</p>"));
    assert!(p.contains("href=\"/admin/audit\""));
    v.role = Role::Editor;
    let p = console::dashboard(&v, &[]);
    assert!(!p.contains("href=\"/admin/audit\""));
    assert!(
        p.starts_with("<!doctype html>\n<html lang=\"ja\"><head>"),
        "{p}"
    );
    assert!(
        p.ends_with("</tbody></table></div></main></body></html>"),
        "{p}"
    );
    let login = console::login(Some("bad"), "c", "/admin");
    assert!(login.contains("<p class=\"notice bad\" role=\"alert\">bad</p><form"));
    assert!(!login.contains("<nav"));
}

#[test]
fn the_map_of_changes_is_svg() {
    let diff = Diff {
        markers: vec![Marker {
            kind: "added",
            lon: 133.9,
            lat: 34.6,
        }],
        ..Diff::default()
    };
    let map = map_sketch(&diff, None);
    let v = VersionInfo {
        dataset: DatasetId::Shelters,
        version: 1,
        status: "staged".into(),
        created_at: String::new(),
        published_at: None,
        created_by: String::new(),
        source_names: String::new(),
        source_sha256: String::new(),
        row_count: 1,
        warnings: 0,
        bbox: None,
    };
    let page = console::version(
        &viewer("alice"),
        DatasetId::Shelters,
        &v,
        None,
        Some((&diff, map.as_ref())),
        None,
    );
    assert!(
        page.contains("<figure><svg class=\"map\" viewBox=\"0 0 320 240\""),
        "{page}"
    );
    assert!(
        page.contains("\" r=\"3\" fill=\"#1a7f37\"/></svg><figcaption>"),
        "{page}"
    );
}

fn catalog(publisher: &str) -> Catalog {
    let mut license = license("cc-by-4.0");
    license.title_ja = format!("{publisher}（ライセンス）");
    Catalog {
        base: "http://x".into(),
        publisher: publisher.into(),
        city_code: "339997".into(),
        license,
        entries: vec![CatalogEntry {
            dataset: DatasetId::Shelters,
            version: 2,
            created: "2025-03-31T15:30:00Z".into(),
            modified: "2025-04-01T10:00:00Z".into(),
            records: 1234,
            bbox: None,
            resources: vec![Resource {
                kind: ResourceKind::Csv,
                url: "http://x/datasets/shelters.csv?a=1&b=2".into(),
                digest: None,
                downloads: 5,
            }],
        }],
        other_downloads: Default::default(),
    }
}

#[test]
fn catalog_page_escapes_configured_text_and_labels() {
    let c = catalog(EVIL);
    let h = catalog::html(&c, Lang::Ja);
    assert!(
        h.starts_with("<!DOCTYPE html>\n<html lang=\"ja\">\n<head>\n"),
        "{h}"
    );
    assert_escaped(&h);
    // The publisher in the title, the header, the details and the footer; the licence's name.
    assert!(h.contains(&format!(
        "<title>{EVIL_ESCAPED} オープンデータカタログ</title>"
    )));
    assert!(h.contains(&format!("<span lang=\"ja\">{EVIL_ESCAPED}</span>")));
    assert!(h.contains(&format!(">{EVIL_ESCAPED}（ライセンス）</a>")));
    // A link's `&` in an attribute.
    assert!(h.contains("href=\"http://x/datasets/shelters.csv?a=1&#38;b=2\""));
    assert!(h.contains("<th scope=\"row\">"));
    // The style sheet is written as is (its hash is in the CSP).
    assert!(h.contains("font-family:system-ui,-apple-system,'Hiragino Sans'"));
    assert!(h.contains("<td class=\"num\">1,234</td>"));
    let e = catalog::html(&c, Lang::En);
    assert!(e.contains("<html lang=\"en\">"));
    assert!(e.contains("Evacuation sites and shelters"));
    assert!(catalog::csp().contains("style-src 'sha256-"));
}

#[test]
fn index_page_fills_in_escaped_text_and_json() {
    let t = "<!doctype html><html lang=\"ja\"><head><title>{city}</title><!--MACHIMAP_CONFIG--></head></html>";
    let out = site::render_index(
        t,
        crate::lang::Lang::En,
        &serde_json::json!({"publisher": EVIL}),
    );
    assert!(
        out.contains(&format!("<title>{EVIL_ESCAPED}</title>")),
        "{out}"
    );
    assert!(out.contains("<html lang=\"en\">"));
    // In the JSON, the characters that could end the script element are \u escapes.
    assert!(
        out.contains("\"publisher\":\"\\u003cscript\\u003ealert(\\u0027x\\u0027)\\u003c/script\\u003e\\\"\\u0026\""),
        "{out}"
    );
    assert_eq!(out.matches("</script>").count(), 1, "{out}");
    assert_eq!(
        site::pin_release("<html><head><title>", "2025-04-01"),
        "<html><head>\n<base href=\"releases/2025-04-01/\"><title>"
    );
}
