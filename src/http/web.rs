//! The resident hazard map: the built front end (`web/dist`, made by `bash scripts/build-web`)
//! at `/` and `/assets/…`, the MapLibre styles at `/styles/…`, and `/config.json` (what the page
//! needs to know about this server: basemap switch, data dates, extent).
//!
//! `index.html` is templated per request (language, config) and sent with a strict
//! Content-Security-Policy that only allows this server (plus the GSI tile host when the server
//! runs with `--gsi-basemap`). Hashed asset names are cached forever; the build writes `.br` and
//! `.gz` siblings that are sent when the client accepts them.

use super::route::{path_param, query, Route, Serve, Ty, ROUTE};
use super::{not_modified, pick_encoding, ApiError, ApiResult, AppState};
use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path as FsPath, PathBuf};
use std::sync::Arc;

/// Host of the GSI 淡色地図 tiles (allowed by the CSP only with `--gsi-basemap`).
pub const GSI_HOST: &str = "https://cyberjapandata.gsi.go.jp";
pub use crate::page::GSI_PALE_TILES;

/// The built front end when `ServeConfig.web_dir` is not set.
pub const DEFAULT_WEB_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/web/dist");
/// The style sources, used when the built front end has no `styles/` copy.
pub const SOURCE_STYLES_DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/styles");

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const NO_CACHE: &str = "no-cache";

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[
    Route {
        path: "/",
        serve: Serve::Here(|| get(get_index)),
        tag: "web",
        summary: "The resident hazard map (503 until `bash scripts/build-web` has been run)",
        params: &[query(
            "lang",
            Ty::Str,
            "ja, en, easy (やさしい日本語), zh-Hans, zh-Hant, ko, vi or pt; without it (or with \
             another value) the best of Accept-Language, else ja",
        )],
        produces: &["text/html"],
        errors: &[503],
        ..ROUTE
    },
    Route {
        path: "/config.json",
        serve: Serve::Here(|| get(get_config)),
        tag: "web",
        summary: "Settings of the resident map: basemap switch, data dates, extent",
        params: &[],
        produces: &["application/json"],
        errors: &[],
        ..ROUTE
    },
    Route {
        path: "/styles/{file}",
        serve: Serve::At("/styles/{*path}", || get(get_style)),
        tag: "web",
        summary: "MapLibre style of the hazard map (national hazard-map colours)",
        params: &[path_param("file", "Style file name", "hazard.json")],
        produces: &["application/json"],
        errors: &[404],
        ..ROUTE
    },
    Route {
        path: "/assets/{file}",
        serve: Serve::At("/assets/{*path}", || get(get_asset)),
        tag: "web",
        summary: "Built scripts, stylesheets and images of the resident map (hashed names)",
        params: &[path_param(
            "file",
            "Asset file name as written by the build",
            "manifest.json",
        )],
        produces: MEDIA_TYPES,
        errors: &[404],
        ..ROUTE
    },
    Route {
        path: "/sw.js",
        serve: Serve::Here(|| get(get_service_worker)),
        tag: "web",
        summary:
            "The map's service worker: keeps what a phone last saw for when the connection drops",
        params: &[],
        produces: &["text/javascript"],
        errors: &[404],
        ..ROUTE
    },
    Route {
        path: "/index.html",
        serve: Serve::Here(|| get(get_index)),
        unlisted: Some("the same page as `/`, for links that name the file"),
        ..ROUTE
    },
];

/// The folder of the built front end.
pub fn web_dir(st: &AppState) -> PathBuf {
    st.config
        .web_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(DEFAULT_WEB_DIR))
}

/// Every type [`content_type`] answers, without parameters (the API description's).
const MEDIA_TYPES: &[&str] = &[
    "text/html",
    "text/javascript",
    "text/css",
    "application/json",
    "image/svg+xml",
    "image/png",
    "image/x-icon",
    "font/woff2",
    "application/x-protobuf",
    "text/plain",
    "application/manifest+json",
    "application/octet-stream",
];

/// Content type by file extension.
pub fn content_type(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "html" => "text/html; charset=utf-8",
        "js" | "mjs" => "text/javascript; charset=utf-8",
        "css" => "text/css; charset=utf-8",
        "json" | "map" => "application/json",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "ico" => "image/x-icon",
        "woff2" => "font/woff2",
        "pbf" => "application/x-protobuf",
        "txt" => "text/plain; charset=utf-8",
        "webmanifest" => "application/manifest+json",
        _ => "application/octet-stream",
    }
}

/// True for names the build made unique by content (`name-HASH8.ext`): cached forever.
pub fn is_hashed(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    let stem = file.split('.').next().unwrap_or("");
    stem.rsplit_once('-').is_some_and(|(_, h)| {
        h.len() >= 8
            && h.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
    })
}

/// A relative path of plain segments (letters, digits, `-`, `_`, `.`; no dot files, no `..`).
pub fn safe_relative(path: &str) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for seg in path.split('/') {
        let ok = !seg.is_empty()
            && !seg.starts_with('.')
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !ok {
            return None;
        }
        out.push(seg);
    }
    (!out.as_os_str().is_empty()).then_some(out)
}

/// The origin (`scheme://host[:port]`) of a URL, for the CSP; None for anything else.
fn origin_of(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))?;
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let host = &rest[..host_end];
    let ok = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    ok.then(|| &url[..url.len() - rest.len() + host_end])
}

/// The Content-Security-Policy of the HTML page: its own files, the GSI tiles when enabled,
/// the static mirror's origin when one is named (the page reads tiles and the risk data from
/// it when this server fails), and WebAssembly (the in-browser risk answer).
pub fn csp(gsi: bool, mirror: Option<&str>) -> String {
    let extra = if gsi {
        format!(" {GSI_HOST}")
    } else {
        String::new()
    };
    let connect = match mirror.and_then(origin_of) {
        Some(o) => format!("{extra} {o}"),
        None => extra.clone(),
    };
    format!(
        "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self'; img-src 'self' data: blob:{extra}; \
         connect-src 'self'{connect}; worker-src 'self'; child-src 'self'; font-src 'self'; \
         object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
    )
}

fn etag_of(bytes: &[u8]) -> String {
    let h = Sha256::digest(bytes);
    let hex: String = h.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

fn compress(bytes: &[u8], enc: &str) -> Option<Vec<u8>> {
    match enc {
        "br" => {
            let mut out = Vec::new();
            {
                let mut w = brotli::CompressorWriter::new(&mut out, 4096, 5, 22);
                w.write_all(bytes).ok()?;
            }
            Some(out)
        }
        "gzip" => {
            let mut w = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            w.write_all(bytes).ok()?;
            w.finish().ok()
        }
        _ => None,
    }
}

fn compressible(ct: &str) -> bool {
    ct.starts_with("text/") || ct.starts_with("application/json") || ct.starts_with("image/svg")
}

/// Answer with `bytes`: ETag/304, and a compressed body when asked and worth it. `pre` holds
/// pre-compressed variants read from disk (`.br`, `.gz`).
fn send(
    headers: &HeaderMap,
    bytes: Vec<u8>,
    pre: Vec<(&'static str, Vec<u8>)>,
    ct: &str,
    cache: &str,
    extra: &[(header::HeaderName, HeaderValue)],
) -> Response {
    let etag = etag_of(&bytes);
    // One Vary header: Accept-Encoding always, plus what `extra` names (Accept-Language).
    let mut vary = String::from("Accept-Encoding");
    for (_, v) in extra.iter().filter(|(k, _)| k == header::VARY) {
        if let Ok(v) = v.to_str() {
            vary.push_str(", ");
            vary.push_str(v);
        }
    }
    let mut b = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, cache)
        .header(header::VARY, vary)
        .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    for (k, v) in extra.iter().filter(|(k, _)| k != header::VARY) {
        b = b.header(k, v);
    }
    if not_modified(headers, &etag) {
        return b
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .unwrap_or_default();
    }
    b = b.header(header::CONTENT_TYPE, ct);
    let enc = pick_encoding(headers);
    let wanted: Vec<&str> = match enc {
        Some("br") => vec!["br", "gzip"],
        Some("gzip") => vec!["gzip"],
        _ => vec![],
    };
    let mut body = None;
    for w in &wanted {
        if let Some((e, v)) = pre.iter().find(|(e, _)| e == w) {
            body = Some((*e, v.clone()));
            break;
        }
    }
    if body.is_none() && bytes.len() > 1024 && compressible(ct) {
        if let Some(e) = wanted.first() {
            body = compress(&bytes, e).map(|v| (*e, v));
        }
    }
    let (enc, body) = match body {
        Some((e, v)) => (Some(e), v),
        None => (None, bytes),
    };
    if let Some(e) = enc {
        b = b.header(header::CONTENT_ENCODING, e);
    }
    b.header(header::CONTENT_LENGTH, body.len())
        .body(Body::from(body))
        .unwrap_or_default()
}

/// A file and its pre-compressed `.br` / `.gz` siblings.
type Variants = (Vec<u8>, Vec<(&'static str, Vec<u8>)>);

/// Read a file and its `.br` / `.gz` siblings (on the blocking pool).
async fn read_with_variants(path: PathBuf) -> Option<Variants> {
    tokio::task::spawn_blocking(move || {
        let bytes = std::fs::read(&path).ok()?;
        let mut pre = Vec::new();
        for (enc, ext) in [("br", "br"), ("gzip", "gz")] {
            let mut p = path.as_os_str().to_owned();
            p.push(".");
            p.push(ext);
            if let Ok(v) = std::fs::read(PathBuf::from(p)) {
                pre.push((enc, v));
            }
        }
        Some((bytes, pre))
    })
    .await
    .ok()
    .flatten()
}

/// What the page needs to know about this server.
pub fn config_json(st: &AppState, lang: &str) -> serde_json::Value {
    crate::page::config(
        &st.snapshot.load(),
        lang,
        &st.config.publisher,
        st.config.gsi_basemap,
        st.config.mirror_url.as_deref(),
    )
}

/// The page's language for this request (`crate::lang::negotiate`: `?lang=`, else
/// `Accept-Language`, else Japanese).
fn lang_of(q: &HashMap<String, String>, headers: &HeaderMap) -> crate::lang::Choice {
    let accept = headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    crate::lang::negotiate(q.get("lang").map(String::as_str), accept)
}

/// `Vary: Accept-Language` for an answer the header chose, so a shared cache keeps one copy
/// per language.
fn vary_language(c: crate::lang::Choice) -> Option<(header::HeaderName, HeaderValue)> {
    c.from_header
        .then(|| (header::VARY, HeaderValue::from_static("Accept-Language")))
}

async fn get_config(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let choice = lang_of(&q, &headers);
    let mut res = (
        [(header::CACHE_CONTROL, NO_CACHE)],
        axum::Json(config_json(&st, choice.lang.code())),
    )
        .into_response();
    if let Some((k, v)) = vary_language(choice) {
        res.headers_mut().insert(k, v);
    }
    res
}

pub use crate::views::site::render_index;

async fn get_index(
    State(st): State<Arc<AppState>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let dir = web_dir(&st);
    let index = dir.join("index.html");
    let read = tokio::task::spawn_blocking(move || std::fs::read_to_string(index)).await;
    let Ok(Ok(template)) = read else {
        return Err(ApiError::Unavailable(format!(
            "the resident map is not built (no {}): run `bash scripts/build-web` / \
             住民向けマップがビルドされていません。`bash scripts/build-web` を実行してください",
            dir.join("index.html").display()
        )));
    };
    let choice = lang_of(&q, &headers);
    let html = render_index(
        &template,
        choice.lang,
        &config_json(&st, choice.lang.code()),
    );
    let policy =
        HeaderValue::from_str(&csp(st.config.gsi_basemap, st.config.mirror_url.as_deref()))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
    let extra = [
        (header::CONTENT_SECURITY_POLICY, policy),
        (
            header::REFERRER_POLICY,
            HeaderValue::from_static("strict-origin-when-cross-origin"),
        ),
        (header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")),
        (
            header::HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("geolocation=(self), camera=(), microphone=()"),
        ),
    ];
    let mut extra = extra.to_vec();
    extra.extend(vary_language(choice));
    Ok(send(
        &headers,
        html.into_bytes(),
        Vec::new(),
        "text/html; charset=utf-8",
        NO_CACHE,
        &extra,
    ))
}

async fn get_asset(
    State(st): State<Arc<AppState>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let not_found = || ApiError::NotFound(format!("no such asset: /assets/{path}"));
    let rel = safe_relative(&path).ok_or_else(not_found)?;
    let full = web_dir(&st).join("assets").join(rel);
    let (bytes, pre) = read_with_variants(full).await.ok_or_else(not_found)?;
    let cache = if is_hashed(&path) {
        IMMUTABLE
    } else {
        NO_CACHE
    };
    Ok(send(&headers, bytes, pre, content_type(&path), cache, &[]))
}

async fn get_style(
    State(st): State<Arc<AppState>>,
    Path(path): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let not_found = || ApiError::NotFound(format!("no such style file: /styles/{path}"));
    let rel = safe_relative(&path).ok_or_else(not_found)?;
    let built = web_dir(&st).join("styles").join(&rel);
    let found = match read_with_variants(built).await {
        Some(v) => Some(v),
        None => read_with_variants(FsPath::new(SOURCE_STYLES_DIR).join(&rel)).await,
    };
    let (bytes, pre) = found.ok_or_else(not_found)?;
    Ok(send(
        &headers,
        bytes,
        pre,
        content_type(&path),
        NO_CACHE,
        &[],
    ))
}

/// `web/sw.js` as built: at the root, so its scope is the whole site; never cached long, so a
/// new build's worker replaces the old one at the next visit.
async fn get_service_worker(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (bytes, pre) = read_with_variants(web_dir(&st).join("sw.js"))
        .await
        .ok_or_else(|| {
            ApiError::NotFound("no service worker: run `bash scripts/build-web`".into())
        })?;
    Ok(send(
        &headers,
        bytes,
        pre,
        content_type("sw.js"),
        NO_CACHE,
        &[],
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_confined() {
        assert!(safe_relative("main-ABCD1234.js").is_some());
        assert!(safe_relative("img/icon.svg").is_some());
        for bad in [
            "../x", "a/../b", ".env", "a//b", "", "a\\b", "a/.git/x", "%2e%2e",
        ] {
            assert!(safe_relative(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("main-5KQ2ZP7A.js"));
        assert!(is_hashed("maplibre-gl-csp-worker-ABCDEFGH.js"));
        assert!(!is_hashed("manifest.json"));
        assert!(!is_hashed("main.js"));
        assert!(!is_hashed("maplibre-gl.css"));
    }

    #[test]
    fn csp_allows_gsi_only_when_enabled() {
        assert!(!csp(false, None).contains("gsi.go.jp"));
        assert!(csp(true, None).contains(GSI_HOST));
        assert!(csp(false, None).contains("frame-ancestors 'none'"));
        let m = csp(false, Some("https://mirror.example.jp:8443/map/"));
        assert!(
            m.contains("connect-src 'self' https://mirror.example.jp:8443;"),
            "{m}"
        );
        // Anything that is not a plain origin adds nothing.
        assert!(csp(false, Some("https://x; script-src *")).contains("connect-src 'self';"));
    }

    #[test]
    fn index_template_gets_lang_and_escaped_config() {
        let t = "<!doctype html><html lang=\"ja\"><head><!--MACHIMAP_CONFIG--></head></html>";
        let out = render_index(
            t,
            crate::lang::Lang::En,
            &serde_json::json!({"x": "</script>"}),
        );
        let city = render_index(
            "<h1>{city} map</h1>",
            crate::lang::Lang::Ja,
            &serde_json::json!({"publisher": "<b>市"}),
        );
        assert_eq!(city, "<h1>&#60;b&#62;市 map</h1>");
        assert!(out.contains("<html lang=\"en\""));
        let pt = render_index(t, crate::lang::Lang::Pt, &serde_json::json!({}));
        assert!(pt.contains("<html lang=\"pt-BR\""), "{pt}");
        assert!(out.contains("id=\"machimap-config\""));
        assert!(!out.contains("</script></script>"));
        assert!(out.contains("\\u003c/script\\u003e"));
    }

    #[test]
    fn content_types() {
        assert_eq!(content_type("a.js"), "text/javascript; charset=utf-8");
        for f in [
            "a.html", "a.js", "a.css", "a.map", "a.svg", "a.png", "a.ico", "a.woff2",
        ]
        .into_iter()
        .chain(["a.pbf", "a.txt", "a.webmanifest", "a.br", "a.json"])
        {
            let t = content_type(f).split(';').next().unwrap_or("");
            assert!(MEDIA_TYPES.contains(&t), "{f}: {t} is not documented");
        }
        assert_eq!(content_type("a.css"), "text/css; charset=utf-8");
        assert_eq!(content_type("hazard.json"), "application/json");
    }
}
