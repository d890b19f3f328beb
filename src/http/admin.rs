//! The staff console (`/admin`, server-rendered HTML, session cookies with CSRF tokens), the
//! same steps for scripts under `/api/admin` (Bearer API tokens), and the public shelter status
//! (`/api/shelter-status` as JSON with ETag, CSV, GeoJSON and a server-sent event stream).
//!
//! **Security model.** Every console and admin API route is listed once in [`ADMIN_ROUTES`]
//! with the access it needs; the router is built from that list, and the [`Staff`] extractor
//! that every non-public handler takes looks the route up there, so a route cannot be added
//! without its access level. Pages answer an unauthenticated request with a redirect to the
//! sign-in page, the API with 401 JSON. Every form POST carries the session's CSRF token
//! ([`StaffForm`], and the first field of the upload form). Every HTML response carries a
//! strict Content-Security-Policy (no script at all), `X-Content-Type-Options`,
//! `Referrer-Policy` and `frame-ancestors 'none'`. Cookies are `HttpOnly`, `SameSite=Strict`,
//! and `Secure` whenever the request came over https or `--base-url` is https.
//!
//! **Sign-in** (`POST /admin/login`) refuses, before any password check and without writing to
//! disk: too many attempts from the client address (429), a locked (account, address) pair
//! (429), and every password-check slot taken (503); each with `Retry-After`. The client
//! address is the socket peer, or its `X-Forwarded-For` when the peer is a `--trusted-proxy`
//! (see `admin::accounts`).

use super::error::{ApiError, ApiResult};
use super::openapi::{path_param, RouteDoc};
use super::AppState;
use crate::admin::pages::{self, Viewer};
use crate::admin::status::ShelterState;
use crate::admin::uploads::{self, PublishKind, Staged, UploadDir};
use crate::admin::{accounts, audit, diff, AdminError, Role};
use crate::dataset::{DatasetId, Val};
use crate::store::Store;
use axum::extract::{
    DefaultBodyLimit, FromRequest, FromRequestParts, MatchedPath, Path, Query, Request, State,
};
use axum::http::{header, request::Parts, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, MethodRouter};
use axum::{Form, Json, Router};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone (the sign-in page, the style sheet).
    Public,
    /// Any signed-in staff member (editor or admin).
    Editor,
    /// Admins only.
    Admin,
}

/// One route of the console or the admin API.
#[derive(Debug, Clone, Copy)]
pub struct AdminRoute {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// axum path template.
    pub path: &'static str,
    /// Who may use it.
    pub access: Access,
}

const fn r(method: &'static str, path: &'static str, access: Access) -> AdminRoute {
    AdminRoute {
        method,
        path,
        access,
    }
}

/// Every route under `/admin` and `/api/admin`: the router is built from this list.
pub const ADMIN_ROUTES: &[AdminRoute] = &[
    r("GET", "/admin/login", Access::Public),
    r("POST", "/admin/login", Access::Public),
    r("GET", "/admin/console.css", Access::Public),
    r("GET", "/admin", Access::Editor),
    r("POST", "/admin/logout", Access::Editor),
    r("GET", "/admin/datasets/{dataset}", Access::Editor),
    r("POST", "/admin/datasets/{dataset}/upload", Access::Editor),
    r(
        "GET",
        "/admin/datasets/{dataset}/versions/{version}",
        Access::Editor,
    ),
    r(
        "GET",
        "/admin/datasets/{dataset}/versions/{version}/csv",
        Access::Editor,
    ),
    r(
        "POST",
        "/admin/datasets/{dataset}/versions/{version}/publish",
        Access::Editor,
    ),
    r(
        "POST",
        "/admin/datasets/{dataset}/versions/{version}/discard",
        Access::Editor,
    ),
    r(
        "POST",
        "/admin/datasets/{dataset}/versions/{version}/rollback",
        Access::Admin,
    ),
    r("GET", "/admin/shelters", Access::Editor),
    r("POST", "/admin/shelters/{fid}/status", Access::Editor),
    r("GET", "/admin/users", Access::Admin),
    r("POST", "/admin/users", Access::Admin),
    r("POST", "/admin/users/{name}/disable", Access::Admin),
    r("GET", "/admin/tokens", Access::Admin),
    r("POST", "/admin/tokens", Access::Admin),
    r("POST", "/admin/tokens/{id}/revoke", Access::Admin),
    r("GET", "/admin/audit", Access::Admin),
    r("GET", "/admin/coverage", Access::Admin),
    r("POST", "/admin/coverage/{dataset}", Access::Admin),
    r("GET", "/api/admin/coverage", Access::Editor),
    r("POST", "/api/admin/coverage/{dataset}", Access::Admin),
    r("GET", "/api/admin/whoami", Access::Editor),
    r("GET", "/api/admin/datasets", Access::Editor),
    r(
        "GET",
        "/api/admin/datasets/{dataset}/versions",
        Access::Editor,
    ),
    r(
        "POST",
        "/api/admin/datasets/{dataset}/uploads",
        Access::Editor,
    ),
    r(
        "GET",
        "/api/admin/datasets/{dataset}/versions/{version}",
        Access::Editor,
    ),
    r(
        "GET",
        "/api/admin/datasets/{dataset}/versions/{version}/csv",
        Access::Editor,
    ),
    r(
        "POST",
        "/api/admin/datasets/{dataset}/versions/{version}/publish",
        Access::Editor,
    ),
    r(
        "POST",
        "/api/admin/datasets/{dataset}/versions/{version}/discard",
        Access::Editor,
    ),
    r(
        "POST",
        "/api/admin/datasets/{dataset}/versions/{version}/rollback",
        Access::Admin,
    ),
    r("POST", "/api/admin/shelters/{fid}/status", Access::Editor),
    r("GET", "/api/admin/audit", Access::Admin),
];

const DS: super::openapi::Param = path_param("dataset", "Dataset id", "wards");
const VER: super::openapi::Param = path_param("version", "Version number", "1");
const ADMIN_ERRORS: &[u16] = &[400, 401, 403, 404, 409];

/// Documented routes (see `openapi`): the public shelter status and the admin API (Bearer
/// token; the route test checks that each admin GET refuses an anonymous request with 401).
/// The console's HTML pages are in [`ADMIN_ROUTES`]; the event stream never ends, so it is
/// not listed.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "get",
        path: "/api/shelter-status",
        tag: "shelters",
        summary: "Which shelters are open (開設), full (満員) or closed (閉鎖), with evacuee counts (ETag; SSE at /api/shelter-status/events)",
        params: &[],
        produces: &["application/json"],
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/shelter-status.csv",
        tag: "shelters",
        summary: "Shelter status as CSV (UTF-8 with BOM), with the time of each change",
        params: &[],
        produces: &["text/csv"],
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/shelter-status.geojson",
        tag: "shelters",
        summary: "Shelter status as GeoJSON points, with the time of each change",
        params: &[],
        produces: &["application/geo+json"],
        errors: &[],
    },
    RouteDoc {
        method: "post",
        path: "/api/admin/datasets/{dataset}/uploads",
        tag: "admin",
        summary: "Upload files (multipart field `file`, repeatable) as an unpublished version; `?publish=true` publishes it. Bearer token. Same files as the published version: no new version. An optional multipart field `mapping` holds a column mapping as JSON (see datasets/README.md), saved for later files with the same headers",
        params: &[DS, super::openapi::query("publish", "boolean", "Publish at once when accepted")],
        produces: &["application/json"],
        errors: &[400, 401, 403, 404, 413, 422],
    },
    RouteDoc {
        method: "post",
        path: "/api/admin/datasets/{dataset}/versions/{version}/publish",
        tag: "admin",
        summary: "Publish a staged version (atomic). Bearer token",
        params: &[DS, VER],
        produces: &["application/json"],
        errors: ADMIN_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/api/admin/datasets/{dataset}/versions/{version}/discard",
        tag: "admin",
        summary: "Discard a staged version. Bearer token",
        params: &[DS, VER],
        produces: &["application/json"],
        errors: ADMIN_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/api/admin/datasets/{dataset}/versions/{version}/rollback",
        tag: "admin",
        summary: "Make an earlier published version current again (atomic, admins). Bearer token",
        params: &[DS, VER],
        produces: &["application/json"],
        errors: ADMIN_ERRORS,
    },
    RouteDoc {
        method: "post",
        path: "/api/admin/shelters/{fid}/status",
        tag: "admin",
        summary: "Set a shelter's status: JSON {\"status\": \"open|full|closed\", \"evacuees\": 12}. Bearer token",
        params: &[path_param("fid", "Shelter feature id", "1")],
        produces: &["application/json"],
        errors: ADMIN_ERRORS,
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/coverage",
        tag: "admin",
        summary: "The areas the hazard maps cover: every setting, oldest first (the last per dataset is in force; none = the published wards). Bearer token",
        params: &[],
        produces: &["application/json"],
        errors: &[401],
    },
    RouteDoc {
        method: "post",
        path: "/api/admin/coverage/{dataset}",
        tag: "admin",
        summary: "Set the area a hazard map covers (admins): JSON {\"wards\": [\"code\", …]} | {\"polygon\": GeoJSON Polygon/MultiPolygon in lon/lat} | {\"default\": true}. Outside it /api/risk says no_data. Bearer token",
        params: &[DS],
        produces: &["application/json"],
        errors: ADMIN_ERRORS,
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/whoami",
        tag: "admin",
        summary: "The account behind the Bearer token",
        params: &[],
        produces: &["application/json"],
        errors: &[401],
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/datasets",
        tag: "admin",
        summary: "Every dataset with its published version. Bearer token",
        params: &[],
        produces: &["application/json"],
        errors: &[401],
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/datasets/{dataset}/versions",
        tag: "admin",
        summary: "History: every version with who, when, source files and hash, rows, report summary. Bearer token",
        params: &[DS],
        produces: &["application/json"],
        errors: &[401, 404],
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/datasets/{dataset}/versions/{version}",
        tag: "admin",
        summary: "One version: its validation report and the preview against the published one. Bearer token",
        params: &[DS, VER],
        produces: &["application/json"],
        errors: &[401, 404],
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/datasets/{dataset}/versions/{version}/csv",
        tag: "admin",
        summary: "Any stored version as CSV (canonical layout). Bearer token",
        params: &[DS, VER],
        produces: &["text/csv"],
        errors: &[401, 404],
    },
    RouteDoc {
        method: "get",
        path: "/api/admin/audit",
        tag: "admin",
        summary: "The audit log (admins only). Bearer token",
        params: &[],
        produces: &["application/json"],
        errors: &[401, 403],
    },
];

fn handler(route: &AdminRoute) -> Option<MethodRouter<Arc<AppState>>> {
    let upload_limit_off = DefaultBodyLimit::disable();
    Some(match (route.method, route.path) {
        ("GET", "/admin/login") => get(login_page),
        ("POST", "/admin/login") => post(login_submit),
        ("GET", "/admin/console.css") => get(console_css),
        ("GET", "/admin") => get(dashboard),
        ("POST", "/admin/logout") => post(logout),
        ("GET", "/admin/datasets/{dataset}") => get(dataset_page),
        ("POST", "/admin/datasets/{dataset}/upload") => post(upload_page).layer(upload_limit_off),
        ("GET", "/admin/datasets/{dataset}/versions/{version}") => get(version_page),
        ("GET", "/admin/datasets/{dataset}/versions/{version}/csv") => get(version_csv),
        ("POST", "/admin/datasets/{dataset}/versions/{version}/publish") => post(publish_page),
        ("POST", "/admin/datasets/{dataset}/versions/{version}/discard") => post(discard_page),
        ("POST", "/admin/datasets/{dataset}/versions/{version}/rollback") => post(rollback_page),
        ("GET", "/admin/shelters") => get(shelters_page),
        ("POST", "/admin/shelters/{fid}/status") => post(shelter_status_page),
        ("GET", "/admin/users") => get(users_page),
        ("POST", "/admin/users") => post(user_add),
        ("POST", "/admin/users/{name}/disable") => post(user_disable),
        ("GET", "/admin/tokens") => get(tokens_page),
        ("POST", "/admin/tokens") => post(token_create),
        ("POST", "/admin/tokens/{id}/revoke") => post(token_revoke),
        ("GET", "/admin/audit") => get(audit_page),
        ("GET", "/admin/coverage") => get(coverage_page),
        ("POST", "/admin/coverage/{dataset}") => post(coverage_submit),
        ("GET", "/api/admin/coverage") => get(api_coverage),
        ("POST", "/api/admin/coverage/{dataset}") => post(api_coverage_set),
        ("GET", "/api/admin/whoami") => get(api_whoami),
        ("GET", "/api/admin/datasets") => get(api_datasets),
        ("GET", "/api/admin/datasets/{dataset}/versions") => get(api_versions),
        ("POST", "/api/admin/datasets/{dataset}/uploads") => {
            post(api_upload).layer(upload_limit_off)
        }
        ("GET", "/api/admin/datasets/{dataset}/versions/{version}") => get(api_version),
        ("GET", "/api/admin/datasets/{dataset}/versions/{version}/csv") => get(version_csv),
        ("POST", "/api/admin/datasets/{dataset}/versions/{version}/publish") => post(api_publish),
        ("POST", "/api/admin/datasets/{dataset}/versions/{version}/discard") => post(api_discard),
        ("POST", "/api/admin/datasets/{dataset}/versions/{version}/rollback") => post(api_rollback),
        ("POST", "/api/admin/shelters/{fid}/status") => post(api_shelter_status),
        ("GET", "/api/admin/audit") => get(api_audit),
        _ => return None,
    })
}

/// Routes of this module.
pub fn router() -> Router<Arc<AppState>> {
    let mut admin = Router::new();
    for route in ADMIN_ROUTES {
        if let Some(h) = handler(route) {
            admin = admin.route(route.path, h);
        } else {
            tracing::warn!("admin route {} {} has no handler", route.method, route.path);
        }
    }
    Router::new()
        .route("/api/shelter-status", get(status_json))
        .route("/api/shelter-status.csv", get(status_csv))
        .route("/api/shelter-status.geojson", get(status_geojson))
        .route("/api/shelter-status/events", get(status_events))
        .merge(admin.layer(axum::middleware::from_fn(security_headers)))
}

/// Security headers on every console response; no caching of anything staff-only.
async fn security_headers(req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let h = resp.headers_mut();
    let is_html = h
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
            ),
        );
        h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    }
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    resp
}

// ---------------------------------------------------------------------------------------------
// Authentication

const SESSION_COOKIE: &str = "mm_session";
const LOGIN_COOKIE: &str = "mm_login";

/// The authenticated staff member of a request.
#[derive(Debug, Clone)]
pub struct Staff {
    /// User name.
    pub user: String,
    /// Role.
    pub role: Role,
    /// The session's CSRF token (console only).
    pub csrf: Option<String>,
    /// `console` or `token:ID`.
    pub via: String,
}

impl Staff {
    fn viewer(&self) -> Viewer {
        Viewer {
            user: self.user.clone(),
            role: self.role,
            csrf: self.csrf.clone().unwrap_or_default(),
        }
    }
    fn log(&self, st: &AppState, action: &str, target: &str, detail: &str) {
        st.admin
            .audit
            .log(&self.user, &self.via, action, target, detail);
    }
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

fn ct_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        body,
    )
        .into_response()
}

fn see_other(location: &str) -> Response {
    (
        StatusCode::SEE_OTHER,
        [(header::LOCATION, location.to_string())],
    )
        .into_response()
}

fn is_api(path: &str) -> bool {
    path.starts_with("/api/")
}

/// The error of a console page: the one status mapping of [`ApiError`], drawn as HTML.
struct PageErr(AdminError);

impl From<AdminError> for PageErr {
    fn from(e: AdminError) -> Self {
        PageErr(e)
    }
}

impl IntoResponse for PageErr {
    fn into_response(self) -> Response {
        let retry = self.0.retry_after();
        let e = ApiError::from(self.0);
        let status = e.status();
        let msg = match &e {
            ApiError::Internal(m) => {
                tracing::error!("internal error: {m}");
                "内部エラーが発生しました / internal error".to_string()
            }
            other => other.to_string(),
        };
        let mut r = html(
            status,
            pages::message(None, "エラー", "Error", &msg, true, "/admin"),
        );
        if let Some(secs) = retry {
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        r
    }
}

type PageResult = Result<Response, PageErr>;

impl FromRequestParts<Arc<AppState>> for Staff {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, st: &Arc<AppState>) -> Result<Staff, Response> {
        let path = parts
            .extensions
            .get::<MatchedPath>()
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        let method = parts.method.as_str().to_string();
        // A route missing from the table gets the strictest access.
        let access = ADMIN_ROUTES
            .iter()
            .find(|r| r.path == path && r.method == method)
            .map_or(Access::Admin, |r| r.access);
        let api = is_api(&path);
        let who = if api {
            let bearer = parts
                .headers
                .get(header::AUTHORIZATION)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.strip_prefix("Bearer "))
                .map(str::trim);
            bearer
                .and_then(|t| st.admin.accounts.token_user(t))
                .map(|(u, t)| Staff {
                    user: u.name,
                    role: u.role,
                    csrf: None,
                    via: format!("token:{}", t.id),
                })
        } else {
            cookie(&parts.headers, SESSION_COOKIE)
                .and_then(|c| st.admin.console_user(&c))
                .map(|(u, s)| Staff {
                    user: u.name,
                    role: u.role,
                    csrf: Some(s.csrf),
                    via: "console".into(),
                })
        };
        let Some(staff) = who else {
            if api {
                let mut r = ApiError::Unauthorized(
                    "有効なAPIトークンが必要です（Authorization: Bearer …） / a valid API token is required (Authorization: Bearer …)".into(),
                )
                .into_response();
                r.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
                return Err(r);
            }
            let next = if parts.method == Method::GET {
                parts.uri.path().to_string()
            } else {
                "/admin".to_string()
            };
            return Err(see_other(&format!(
                "/admin/login?next={}",
                super::encode_path(&next)
            )));
        };
        if access == Access::Admin && staff.role != Role::Admin {
            let e =
                AdminError::Forbidden("管理者の権限が必要です / this needs the admin role".into());
            return Err(if api {
                ApiError::from(e).into_response()
            } else {
                PageErr(e).into_response()
            });
        }
        Ok(staff)
    }
}

/// A console form POST: the signed-in staff member and the form's fields, after checking the
/// form's `csrf` field against the session.
struct StaffForm {
    staff: Staff,
    /// Every field in order (a name may come more than once: check boxes).
    pairs: Vec<(String, String)>,
}

impl StaffForm {
    /// The field `k` (its last value, when given more than once), or "".
    fn get(&self, k: &str) -> &str {
        field(&self.pairs, k)
    }

    fn all(&self, k: &str) -> Vec<String> {
        self.pairs
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

impl FromRequest<Arc<AppState>> for StaffForm {
    type Rejection = Response;

    async fn from_request(req: Request, st: &Arc<AppState>) -> Result<StaffForm, Response> {
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, st).await?;
        let req = Request::from_parts(parts, body);
        let Form(pairs): Form<Vec<(String, String)>> = Form::from_request(req, st)
            .await
            .map_err(|e| PageErr(AdminError::BadInput(e.body_text())).into_response())?;
        let ok = staff
            .csrf
            .as_deref()
            .is_some_and(|s| ct_eq(s, field(&pairs, "csrf")));
        if !ok {
            return Err(PageErr(csrf_error()).into_response());
        }
        Ok(StaffForm { staff, pairs })
    }
}

/// The last value of `k` among `pairs`, or "".
fn field<'a>(pairs: &'a [(String, String)], k: &str) -> &'a str {
    pairs
        .iter()
        .rev()
        .find(|(n, _)| n == k)
        .map_or("", |(_, v)| v.as_str())
}

fn csrf_error() -> AdminError {
    AdminError::Forbidden(
        "フォームの確認用トークンがないか古くなっています。ページを読み込み直してください / the form's CSRF token is missing or stale: reload the page".into(),
    )
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AdminError> + Send + 'static,
) -> Result<T, AdminError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
}

fn parse_dataset(s: &str) -> Result<DatasetId, AdminError> {
    s.parse().map_err(|_| {
        AdminError::NotFound(format!("データセット {s} はありません / no dataset {s}"))
    })
}

fn parse_version(s: &str) -> Result<i64, AdminError> {
    s.parse()
        .map_err(|_| AdminError::BadInput(format!("版番号が正しくありません / bad version {s}")))
}

// ---------------------------------------------------------------------------------------------
// Sign-in

#[derive(serde::Deserialize)]
struct NextQuery {
    next: Option<String>,
}

fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/admin") && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/admin".into(),
    }
}

/// True when the request reached the server's proxy over https (`X-Forwarded-Proto` or
/// `Forwarded: proto=https`). Believed from anyone: it can only add `Secure` to a cookie, and a
/// client that lies about it only keeps its own browser from sending the cookie back over http.
fn arrived_over_https(headers: &HeaderMap) -> bool {
    let xfp = headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|p| p.trim().eq_ignore_ascii_case("https"));
    let fwd = headers
        .get(header::FORWARDED)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .is_some_and(|v| {
            v.split(';')
                .filter_map(|kv| kv.trim().split_once('='))
                .any(|(k, p)| {
                    k.eq_ignore_ascii_case("proto")
                        && p.trim_matches('"').eq_ignore_ascii_case("https")
                })
        });
    xfp || fwd
}

/// A console cookie: `HttpOnly`, `SameSite=Strict`, and `Secure` when the public base URL is
/// https or the request came over https. Over plain http (a loopback or office-LAN console
/// without TLS) it cannot be `Secure`, or the browser would never send it back.
fn cookie_header(
    st: &AppState,
    headers: &HeaderMap,
    name: &str,
    value: &str,
    path: &str,
    max_age: Option<u64>,
) -> String {
    let mut c = format!("{name}={value}; Path={path}; HttpOnly; SameSite=Strict");
    if st.admin.config.secure_cookies || arrived_over_https(headers) {
        c.push_str("; Secure");
    }
    if let Some(a) = max_age {
        c.push_str(&format!("; Max-Age={a}"));
    }
    c
}

fn login_form(
    st: &AppState,
    headers: &HeaderMap,
    next: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token = cookie(headers, LOGIN_COOKIE)
        .filter(|c| c.len() == 64 && c.bytes().all(|b| b.is_ascii_hexdigit()))
        .unwrap_or_else(|| crate::admin::random_hex(32));
    let mut r = html(status, pages::login(error, &token, next));
    if let Ok(v) = HeaderValue::from_str(&cookie_header(
        st,
        headers,
        LOGIN_COOKIE,
        &token,
        "/admin/login",
        None,
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

/// The sign-in form again, refused with `e` (its status from the one mapping, and
/// `Retry-After` where waiting helps).
fn login_refused(st: &AppState, headers: &HeaderMap, next: &str, e: AdminError) -> Response {
    let retry = e.retry_after();
    let msg = e.to_string();
    let mut r = login_form(st, headers, next, Some(&msg), ApiError::from(e).status());
    if let Some(secs) = retry {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    r
}

/// The client address of a request: the socket peer, or what a trusted proxy forwarded
/// (`serve --trusted-proxy`).
struct ClientIp(IpAddr);

impl FromRequestParts<Arc<AppState>> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        st: &Arc<AppState>,
    ) -> Result<ClientIp, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), |c| c.0.ip());
        let xff = parts
            .headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok());
        Ok(ClientIp(accounts::client_addr(
            peer,
            xff,
            &st.admin.config.trusted_proxies,
        )))
    }
}

async fn login_page(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Response {
    login_form(
        &st,
        &headers,
        &safe_next(q.next.as_deref()),
        None,
        StatusCode::OK,
    )
}

async fn login_submit(
    State(st): State<Arc<AppState>>,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    form: Result<Form<HashMap<String, String>>, axum::extract::rejection::FormRejection>,
) -> Response {
    let Ok(Form(f)) = form else {
        return PageErr(AdminError::BadInput("bad form".into())).into_response();
    };
    let field = |k: &str| f.get(k).map_or("", String::as_str).to_string();
    let next = safe_next(Some(&field("next")));
    let csrf_ok = cookie(&headers, LOGIN_COOKIE).is_some_and(|c| ct_eq(&c, &field("csrf")));
    if !csrf_ok {
        return PageErr(csrf_error()).into_response();
    }
    // Cheapest refusals first; none of them writes to disk (see `admin::audit`).
    if let Err(secs) = st.admin.login_gate.admit(ip) {
        return login_refused(&st, &headers, &next, AdminError::TooManyAttempts(secs));
    }
    let user: String = field("user").chars().take(64).collect();
    let password = field("password");
    let account = match st.admin.accounts.user(&user) {
        Some(u) => u.name,
        None => audit::UNKNOWN_ACCOUNT.to_string(),
    };
    let note = |what: audit::Refusal| {
        if let Some(detail) = st.admin.failed_logins.note(&account, &user, ip, what) {
            st.admin
                .audit
                .log(&account, "console", "login_failed", &account, &detail);
        }
    };
    // The attempt is counted before its password is checked, so parallel guesses cannot
    // outrun the lock.
    if let Err(secs) = st.admin.sessions.reserve(&user, ip) {
        note(audit::Refusal::Locked);
        return login_refused(&st, &headers, &next, AdminError::LockedOut(secs));
    }
    let Some(permit) = st.admin.login_gate.try_check() else {
        st.admin.sessions.unreserve(&user, ip);
        return login_refused(&st, &headers, &next, AdminError::Busy(1));
    };
    let st2 = st.clone();
    let u2 = user.clone();
    let verified = tokio::task::spawn_blocking(move || {
        let _permit = permit;
        st2.admin.accounts.verify_password(&u2, &password)
    })
    .await
    .ok()
    .flatten();
    let Some(u) = verified else {
        let locked = st.admin.sessions.fail(&user, ip);
        note(audit::Refusal::Failed { locked });
        return login_form(
            &st,
            &headers,
            &next,
            Some("ユーザー名またはパスワードが違います / wrong user name or password"),
            StatusCode::UNAUTHORIZED,
        );
    };
    st.admin.sessions.succeed(&user, ip);
    let c = st.admin.sessions.create(&u.name, u.generation);
    let detail = st
        .admin
        .failed_logins
        .take(&u.name)
        .map(|d| format!("from {ip}; not yet logged failures: {d}"))
        .unwrap_or_else(|| format!("from {ip}"));
    st.admin
        .audit
        .log(&u.name, "console", "login", &u.name, &detail);
    let mut r = see_other(&next);
    if let Ok(v) = HeaderValue::from_str(&cookie_header(
        &st,
        &headers,
        SESSION_COOKIE,
        &c,
        "/admin",
        None,
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    if let Ok(v) = HeaderValue::from_str(&cookie_header(
        &st,
        &headers,
        LOGIN_COOKIE,
        "",
        "/admin/login",
        Some(0),
    )) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn logout(State(st): State<Arc<AppState>>, headers: HeaderMap, f: StaffForm) -> Response {
    if let Some(c) = cookie(&headers, SESSION_COOKIE) {
        st.admin.sessions.remove(&c);
    }
    f.staff.log(&st, "logout", &f.staff.user, "");
    let mut r = see_other("/admin/login");
    if let Ok(v) = HeaderValue::from_str(&cookie_header(
        &st,
        &headers,
        SESSION_COOKIE,
        "",
        "/admin",
        Some(0),
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

async fn console_css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "public, max-age=3600"),
        ],
        pages::CSS,
    )
        .into_response()
}

// ---------------------------------------------------------------------------------------------
// Datasets and versions

async fn dashboard(State(st): State<Arc<AppState>>, staff: Staff) -> PageResult {
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

async fn dataset_page(
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

/// Preview of `version` against the published layer: (diff, svg map).
fn preview(st: &AppState, d: DatasetId, version: i64) -> Result<(diff::Diff, String), AdminError> {
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
    let svg = diff::svg_map(&df, wards);
    Ok((df, svg))
}

#[derive(serde::Deserialize)]
struct DoneQuery {
    done: Option<String>,
}

async fn version_page(
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
    let body = pv
        .map(|(df, svg)| pages::preview(&df, &svg))
        .unwrap_or_default();
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
        pages::version(&staff.viewer(), d, &info, report.as_ref(), &body, notice),
    ))
}

async fn version_csv(
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
fn reload_after_commit(st: &AppState, what: &str) -> bool {
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
fn injected_reload_failure() -> bool {
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
async fn decide(
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

async fn publish_page(
    State(st): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
    f: StaffForm,
) -> PageResult {
    let (d, v) = decide(&st, &f.staff, &ds, &v, "publish").await?;
    Ok(see_other(&format!(
        "/admin/datasets/{d}/versions/{v}?done=published"
    )))
}

async fn discard_page(
    State(st): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
    f: StaffForm,
) -> PageResult {
    let (d, v) = decide(&st, &f.staff, &ds, &v, "discard").await?;
    Ok(see_other(&format!(
        "/admin/datasets/{d}/versions/{v}?done=discarded"
    )))
}

async fn rollback_page(
    State(st): State<Arc<AppState>>,
    Path((ds, v)): Path<(String, String)>,
    f: StaffForm,
) -> PageResult {
    let (d, v) = decide(&st, &f.staff, &ds, &v, "rollback").await?;
    Ok(see_other(&format!(
        "/admin/datasets/{d}/versions/{v}?done=rollback"
    )))
}

// ---------------------------------------------------------------------------------------------
// Uploads

/// Files of one upload, on disk.
struct Received {
    dir: UploadDir,
    files: Vec<(PathBuf, String)>,
    fields: HashMap<String, String>,
}

/// The body of an upload request, with the multipart boundary from its `Content-Type`.
///
/// Not axum's `Multipart`: that hands the body to the multipart parser, which stops at the
/// closing boundary and may leave the last bytes unread; answering then makes the server close
/// a socket with unread data, the kernel sends a reset, and the client can lose the answer
/// (a refused upload looked like "peer disconnected"). [`receive`] reads the body itself.
struct UploadBody {
    boundary: Result<String, String>,
    body: axum::body::Body,
}

impl<S: Send + Sync> FromRequest<S> for UploadBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let boundary = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| "no Content-Type".to_string())
            .and_then(|ct| multer::parse_boundary(ct).map_err(|e| e.to_string()));
        Ok(Self {
            boundary,
            body: req.into_body(),
        })
    }
}

/// Stream a multipart upload to disk, enforcing the size limits while it streams (so a body
/// without `Content-Length` is held to them too): the whole body at most the upload limit and
/// [`FORM_SLACK`], each text (non-file) field at most the field limit, at most
/// [`MAX_TEXT_FIELDS`] of them. With `csrf`, the form's `csrf` field must come (and match)
/// before any file.
///
/// A pump task reads the request body and feeds the parser; whatever the parser leaves (the
/// rest of a refused upload, the bytes after the closing boundary) the pump reads and drops,
/// up to [`DRAIN_CAP`], before the answer goes out, so the client always sees the answer. A
/// body refused for its size whose length is unknown (chunked) is not drained: the answer goes
/// out at once and the connection is closed.
async fn receive(
    st: &AppState,
    headers: &HeaderMap,
    up: UploadBody,
    csrf: Option<&str>,
) -> Result<Received, AdminError> {
    let limit = st.admin.config.upload_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let early = match (&up.boundary, declared) {
        (Err(e), _) => Some(AdminError::BadInput(format!(
            "multipart/form-data で file を送ってください / send the files as multipart/form-data field `file`: {e}"
        ))),
        (Ok(_), Some(n)) if n > limit + FORM_SLACK => {
            if n > DRAIN_CAP {
                // Too big to read and drop: the client gets a reset, not a 413.
                return Err(AdminError::TooLarge(limit));
            }
            Some(AdminError::TooLarge(limit))
        }
        _ => None,
    };
    let pump = tokio::spawn(pump(up.body, tx));
    if let Some(e) = early {
        drop(rx); // nothing parses: the pump reads and drops
        let _ = pump.await;
        return Err(e);
    }
    let boundary = up.boundary.unwrap_or_default();
    // What the parser took from the body and what it handed on as field data: the difference
    // is what it holds (a preamble or part headers it is still looking for the end of).
    let parsed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stream = {
        use tokio_stream::StreamExt;
        let parsed = parsed.clone();
        let mut pulled = 0u64;
        tokio_stream::wrappers::ReceiverStream::new(rx).map(move |c| {
            let b = c.map_err(BodyError::Read)?;
            pulled += b.len() as u64;
            let held = pulled.saturating_sub(parsed.load(std::sync::atomic::Ordering::Relaxed));
            if held > PARSER_HOLD_CAP {
                return Err(BodyError::Held);
            }
            Ok(b)
        })
    };
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(limit + FORM_SLACK));
    let mut mp = multer::Multipart::with_constraints(stream, boundary, constraints);
    let res = receive_files(st, &mut mp, csrf, limit, &parsed).await;
    drop(mp);
    let oversize = matches!(
        res,
        Err(AdminError::TooLarge(_) | AdminError::FieldTooLarge { .. })
    );
    if oversize && declared.is_none_or(|n| n > DRAIN_CAP) {
        // The rest may be endless: answer now; hyper closes the connection after the answer.
        pump.abort();
    } else {
        let _ = pump.await;
    }
    res
}

/// Most bytes read and dropped after refusing an upload.
const DRAIN_CAP: u64 = 64 * 1024 * 1024;

/// Bytes of an upload beyond its files allowed for the form itself (boundaries, part
/// headers, text fields).
const FORM_SLACK: u64 = 64 * 1024;

/// Most text (non-file) fields of an upload form: the column-mapping form sends five per
/// column of the file (at most 200 columns, `admin::pages`).
const MAX_TEXT_FIELDS: usize = 1024;

/// Most bytes the multipart parser may hold without handing them on as field data: a
/// preamble or part headers that never end are refused at this size rather than buffered.
/// (It holds at most the few chunks it has just taken from the body otherwise.)
const PARSER_HOLD_CAP: u64 = 8 * 1024 * 1024;

/// Why the upload body stream stopped.
#[derive(Debug, thiserror::Error)]
enum BodyError {
    /// Reading the request body failed (the client went away).
    #[error("{0}")]
    Read(axum::Error),
    /// The parser held more than [`PARSER_HOLD_CAP`] bytes without finding a field's data.
    #[error("multipart headers too large")]
    Held,
}

/// The console error for a parser error.
fn multipart_error(e: multer::Error, limit: u64) -> AdminError {
    match e {
        multer::Error::StreamSizeExceeded { .. } => AdminError::TooLarge(limit),
        multer::Error::StreamReadFailed(inner)
            if matches!(inner.downcast_ref::<BodyError>(), Some(BodyError::Held)) =>
        {
            AdminError::FieldTooLarge {
                field: "(headers)".into(),
                limit: PARSER_HOLD_CAP,
            }
        }
        other => AdminError::BadInput(format!("upload interrupted: {other}")),
    }
}

/// Read `body` to its end, passing chunks on while the parser listens and dropping them after
/// (at most [`DRAIN_CAP`] bytes once it stopped).
async fn pump(
    body: axum::body::Body,
    tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, axum::Error>>,
) {
    use tokio_stream::StreamExt;
    let mut s = body.into_data_stream();
    let mut listening = true;
    let mut dropped = 0u64;
    while let Some(c) = s.next().await {
        let failed = c.is_err();
        let n = c.as_ref().map_or(0, |b| b.len() as u64);
        if !listening || tx.send(c).await.is_err() {
            listening = false;
            dropped += n;
        }
        if failed || dropped > DRAIN_CAP {
            return;
        }
    }
}

async fn receive_files(
    st: &AppState,
    mp: &mut multer::Multipart<'static>,
    csrf: Option<&str>,
    limit: u64,
    parsed: &std::sync::atomic::AtomicU64,
) -> Result<Received, AdminError> {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    let field_limit = st.admin.config.field_limit;
    let dir = UploadDir::new(&st.admin)?;
    let mut files = Vec::new();
    let mut fields = HashMap::new();
    let mut texts = 0usize;
    let mut csrf_ok = csrf.is_none();
    let mut total = 0u64;
    let bad = |e: multer::Error| multipart_error(e, limit);
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            None => {
                texts += 1;
                if texts > MAX_TEXT_FIELDS {
                    return Err(AdminError::BadInput(format!(
                        "フォームの項目が多すぎます（上限{MAX_TEXT_FIELDS}） / too many form fields (at most {MAX_TEXT_FIELDS})"
                    )));
                }
                // Read piece by piece: a text field is never held whole beyond its limit.
                let mut buf = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    parsed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if (buf.len() + chunk.len()) as u64 > field_limit {
                        return Err(AdminError::FieldTooLarge {
                            field: name.chars().take(64).collect(),
                            limit: field_limit,
                        });
                    }
                    buf.extend_from_slice(&chunk);
                }
                let text = String::from_utf8_lossy(&buf);
                if name == "csrf" {
                    csrf_ok = csrf.is_some_and(|c| ct_eq(c, &text));
                }
                // A mapping (JSON or the console's form) may be longer than a plain field.
                let keep = if name == "mapping" { 64 * 1024 } else { 1000 };
                fields.insert(name, text.chars().take(keep).collect());
            }
            Some(raw_name) => {
                if !csrf_ok {
                    return Err(csrf_error());
                }
                if raw_name.is_empty() {
                    // No file chosen: skip its (normally empty) data, counted like a file's.
                    while let Some(chunk) = field.chunk().await.map_err(bad)? {
                        parsed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        total += chunk.len() as u64;
                        if total > limit {
                            return Err(AdminError::TooLarge(limit));
                        }
                    }
                    continue;
                }
                if files.len() >= 8 {
                    return Err(AdminError::BadInput("too many files (at most 8)".into()));
                }
                let shown = uploads::safe_file_name(&raw_name);
                // Each file in its own folder so two files may share a name.
                let sub = dir.path.join(files.len().to_string());
                std::fs::create_dir_all(&sub).map_err(AdminError::writing(&sub))?;
                let path = sub.join(&shown);
                // Chunks are small and land in the page cache: written in place.
                let mut out = std::fs::File::create(&path).map_err(AdminError::writing(&path))?;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    parsed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    total += chunk.len() as u64;
                    if total > limit {
                        return Err(AdminError::TooLarge(limit));
                    }
                    out.write_all(&chunk).map_err(AdminError::writing(&path))?;
                }
                out.flush().map_err(AdminError::writing(&path))?;
                files.push((path, shown));
            }
        }
    }
    if !csrf_ok {
        return Err(csrf_error());
    }
    if files.is_empty() {
        return Err(AdminError::BadInput(
            "ファイルが選ばれていません / no file was sent (multipart field `file`)".into(),
        ));
    }
    Ok(Received { dir, files, fields })
}

/// Check archives, then stage (and publish when asked). Logged whatever happens.
async fn stage(
    st: &Arc<AppState>,
    staff: &Staff,
    d: DatasetId,
    rec: Received,
    publish: bool,
) -> Result<(Staged, crate::report::Report, bool), AdminError> {
    let names: Vec<String> = rec.files.iter().map(|(_, n)| n.clone()).collect();
    let mapping = crate::mapping::from_upload_fields(&rec.fields)
        .map_err(|e| AdminError::BadInput(e.to_string()))?;
    let st2 = st.clone();
    let (actor, role) = (staff.user.clone(), staff.role);
    let res = blocking(move || {
        let limits = st2.admin.config.zip_limits;
        for (p, n) in &rec.files {
            uploads::check_archive(p, n, &limits)?;
        }
        let paths: Vec<PathBuf> = rec.files.iter().map(|(p, _)| p.clone()).collect();
        let sha = uploads::sources_sha256(&paths)?;
        let out = uploads::stage(
            &st2.admin,
            d,
            &paths,
            &actor,
            role,
            publish,
            mapping.as_ref(),
        )?;
        drop(rec.dir);
        let live = out.2.is_none() || reload_after_commit(&st2, &d.to_string());
        Ok((out, sha, live))
    })
    .await;
    let target = d.to_string();
    match &res {
        Ok(((outcome, report, published), sha, live)) => {
            let what = match outcome {
                Staged::Staged { version, rows } => {
                    format!("staged version {version} ({rows} rows)")
                }
                Staged::Unchanged { version, .. } => {
                    format!("same as version {version}: no new version")
                }
                Staged::Rejected => format!("rejected ({} errors)", report.errors),
            };
            staff.log(
                st,
                "upload",
                &target,
                &format!("{}; sha256 {sha}; {what}", names.join(", ")),
            );
            if let Some(kind) = published {
                let v = match outcome {
                    Staged::Staged { version, .. } | Staged::Unchanged { version, .. } => *version,
                    Staged::Rejected => 0,
                };
                let action = match kind {
                    PublishKind::Publish => "publish",
                    PublishKind::Rollback => "rollback",
                };
                let detail = if *live {
                    "ok (with the upload)"
                } else {
                    "ok (with the upload; served from the next poll: the reload after it failed)"
                };
                staff.log(st, action, &format!("{d}/{v}"), detail);
            }
        }
        Err(e) => staff.log(
            st,
            "upload_refused",
            &target,
            &format!("{}: {e}", names.join(", ")),
        ),
    }
    res.map(|((outcome, report, published), _, _)| (outcome, report, published.is_some()))
}

async fn upload_page(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path(ds): Path<String>,
    headers: HeaderMap,
    up: UploadBody,
) -> PageResult {
    let d = parse_dataset(&ds)?;
    let rec = receive(
        &st,
        &headers,
        up,
        Some(staff.csrf.as_deref().unwrap_or("-")),
    )
    .await?;
    let (outcome, report, _) = stage(&st, &staff, d, rec, false).await?;
    Ok(match outcome {
        Staged::Staged { version, .. } => see_other(&format!(
            "/admin/datasets/{d}/versions/{version}?done=staged"
        )),
        Staged::Unchanged { version, .. } => see_other(&format!(
            "/admin/datasets/{d}/versions/{version}?done=unchanged"
        )),
        Staged::Rejected => {
            let rj = serde_json::to_value(&report).unwrap_or_default();
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                pages::rejected(&staff.viewer(), d, &rj),
            )
        }
    })
}

#[derive(serde::Deserialize)]
struct PublishQuery {
    publish: Option<String>,
}

fn truthy(s: Option<&str>) -> bool {
    matches!(s, Some("1" | "true" | "yes" | "on"))
}

async fn api_upload(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path(ds): Path<String>,
    Query(q): Query<PublishQuery>,
    headers: HeaderMap,
    up: UploadBody,
) -> ApiResult<Response> {
    let d = parse_dataset(&ds)?;
    let rec = receive(&st, &headers, up, None).await?;
    let want_publish =
        truthy(q.publish.as_deref()) || truthy(rec.fields.get("publish").map(String::as_str));
    let (outcome, report, published_now) = stage(&st, &staff, d, rec, want_publish).await?;
    let published = published_now
        || matches!(
            outcome,
            Staged::Unchanged {
                published: true,
                ..
            }
        );
    let mut body = serde_json::json!({
        "ok": outcome != Staged::Rejected,
        "dataset": d,
        "outcome": outcome,
        "report": report,
    });
    let status = match outcome {
        Staged::Rejected => {
            body["message"] = "エラーがあるため取り込みませんでした。公開中のデータは変わりません / rejected: the published data is unchanged".into();
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Staged::Unchanged {
            version,
            published: p,
        } => {
            body["message"] = format!(
                "{}版{version}と同じファイルです。新しい版は作りません / same files as {} version {version}: no new version",
                if p { "公開中の" } else { "未公開の" },
                if p { "published" } else { "staged" }
            )
            .into();
            StatusCode::OK
        }
        Staged::Staged { version, .. } => {
            if !published {
                let st2 = st.clone();
                let (df, _) = blocking(move || preview(&st2, d, version)).await?;
                body["preview"] = serde_json::to_value(&df).unwrap_or_default();
            }
            StatusCode::CREATED
        }
    };
    body["published"] = published.into();
    Ok((status, Json(body)).into_response())
}

// ---------------------------------------------------------------------------------------------
// Admin API (JSON)

async fn api_whoami(staff: Staff) -> Response {
    Json(serde_json::json!({"ok": true, "user": staff.user, "role": staff.role, "via": staff.via}))
        .into_response()
}

async fn api_datasets(State(st): State<Arc<AppState>>, _staff: Staff) -> ApiResult<Response> {
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

async fn api_versions(
    State(st): State<Arc<AppState>>,
    _staff: Staff,
    Path(ds): Path<String>,
) -> ApiResult<Response> {
    let d = parse_dataset(&ds)?;
    let st2 = st.clone();
    let vs = blocking(move || uploads::versions(&st2.admin, d)).await?;
    Ok(Json(serde_json::json!({"ok": true, "dataset": d, "versions": vs})).into_response())
}

async fn api_version(
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

async fn api_decide(
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

async fn api_publish(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path((ds, v)): Path<(String, String)>,
) -> ApiResult<Response> {
    api_decide(st, staff, ds, v, "publish").await
}

async fn api_discard(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path((ds, v)): Path<(String, String)>,
) -> ApiResult<Response> {
    api_decide(st, staff, ds, v, "discard").await
}

async fn api_rollback(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path((ds, v)): Path<(String, String)>,
) -> ApiResult<Response> {
    api_decide(st, staff, ds, v, "rollback").await
}

// ---------------------------------------------------------------------------------------------
// Hazard map coverage (`crate::coverage`)

async fn api_coverage(State(st): State<Arc<AppState>>, _staff: Staff) -> ApiResult<Response> {
    let log = coverage_log(&st).await?;
    Ok(Json(serde_json::json!({"ok": true, "settings": log})).into_response())
}

/// Every coverage setting in the store, oldest first (the API's answer and the console page).
async fn coverage_log(st: &Arc<AppState>) -> Result<Vec<crate::coverage::Record>, AdminError> {
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
struct CoverageBody {
    #[serde(default)]
    wards: Option<Vec<String>>,
    #[serde(default)]
    polygon: Option<serde_json::Value>,
    #[serde(default)]
    default: bool,
}

async fn api_coverage_set(
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
    Ok(Json(serde_json::json!({"ok": true, "dataset": d, "coverage": what})).into_response())
}

/// A coverage setting as asked, before it is checked.
enum CoverageAsk {
    Default,
    Wards(Vec<String>),
    /// GeoJSON text.
    Polygon(String),
}

/// Check and store the coverage of hazard `d`, reload, and audit it (refusals too): the one
/// path of the API and the console. Returns what was set, in words.
async fn set_coverage(
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
async fn coverage_page(State(st): State<Arc<AppState>>, staff: Staff) -> Response {
    coverage_page_with(&st, &staff, None, StatusCode::OK).await
}

async fn coverage_page_with(
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
async fn coverage_submit(
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

#[derive(serde::Deserialize)]
struct LimitQuery {
    limit: Option<usize>,
}

async fn api_audit(
    State(st): State<Arc<AppState>>,
    _staff: Staff,
    Query(q): Query<LimitQuery>,
) -> Response {
    let n = q.limit.unwrap_or(1000).min(100_000);
    Json(serde_json::json!({"ok": true, "entries": st.admin.audit.recent(n)})).into_response()
}

// ---------------------------------------------------------------------------------------------
// Users, tokens, audit (admins)

async fn users_page(State(st): State<Arc<AppState>>, staff: Staff) -> Response {
    html(
        StatusCode::OK,
        pages::users(&staff.viewer(), &st.admin.accounts.users(), None),
    )
}

async fn user_add(State(st): State<Arc<AppState>>, f: StaffForm) -> Response {
    let name = f.get("name").trim().to_string();
    let role: Result<Role, _> = f.get("role").parse();
    let password = f.get("password").to_string();
    let st2 = st.clone();
    let by = f.staff.user.clone();
    let n2 = name.clone();
    let res = match role {
        Ok(role) => blocking(move || st2.admin.accounts.add_user(&n2, role, &password, &by)).await,
        Err(e) => Err(AdminError::BadInput(e)),
    };
    let (status, notice, bad) = match res {
        Ok(()) => {
            f.staff.log(&st, "user_add", &name, f.get("role"));
            (
                StatusCode::OK,
                format!("ユーザー「{name}」を追加しました / added user “{name}”"),
                false,
            )
        }
        Err(e) => {
            f.staff.log(&st, "user_add_refused", &name, &e.to_string());
            let msg = format!("ユーザー「{name}」を追加できません / cannot add user “{name}”: {e}");
            (ApiError::from(e).status(), msg, true)
        }
    };
    html(
        status,
        pages::users(
            &f.staff.viewer(),
            &st.admin.accounts.users(),
            Some((&notice, bad)),
        ),
    )
}

async fn user_disable(
    State(st): State<Arc<AppState>>,
    Path(name): Path<String>,
    f: StaffForm,
) -> PageResult {
    if name == f.staff.user {
        return Err(AdminError::Conflict(
            "自分自身は無効にできません / you cannot disable yourself".into(),
        )
        .into());
    }
    st.admin.accounts.disable(&name, &f.staff.user)?;
    st.admin.sessions.remove_user(&name);
    f.staff.log(&st, "user_disable", &name, "");
    Ok(see_other("/admin/users"))
}

async fn tokens_page(State(st): State<Arc<AppState>>, staff: Staff) -> Response {
    html(
        StatusCode::OK,
        pages::tokens(
            &staff.viewer(),
            &st.admin.accounts.tokens(),
            &st.admin.accounts.users(),
            None,
        ),
    )
}

async fn token_create(State(st): State<Arc<AppState>>, f: StaffForm) -> PageResult {
    let user = f.get("user").to_string();
    let (t, secret) = st
        .admin
        .accounts
        .create_token(&user, f.get("label"), &f.staff.user)?;
    f.staff.log(
        &st,
        "token_create",
        &t.id,
        &format!("for {user}: {}", t.label),
    );
    Ok(html(
        StatusCode::OK,
        pages::tokens(
            &f.staff.viewer(),
            &st.admin.accounts.tokens(),
            &st.admin.accounts.users(),
            Some((&t, &secret)),
        ),
    ))
}

async fn token_revoke(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    f: StaffForm,
) -> PageResult {
    let t = st.admin.accounts.revoke_token(&id, &f.staff.user)?;
    f.staff
        .log(&st, "token_revoke", &t.id, &format!("of {}", t.user));
    Ok(see_other("/admin/tokens"))
}

async fn audit_page(State(st): State<Arc<AppState>>, staff: Staff) -> Response {
    html(
        StatusCode::OK,
        pages::audit(&staff.viewer(), &st.admin.audit.recent(1000)),
    )
}

// ---------------------------------------------------------------------------------------------
// Shelter status

#[derive(serde::Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn shelters_page(
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

fn parse_evacuees(s: &str) -> Result<Option<u32>, AdminError> {
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

fn set_status(
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

async fn shelter_status_page(
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

#[derive(serde::Deserialize)]
struct StatusBody {
    status: String,
    evacuees: Option<u32>,
}

async fn api_shelter_status(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path(fid): Path<String>,
    body: Result<Json<StatusBody>, axum::extract::rejection::JsonRejection>,
) -> ApiResult<Response> {
    let Json(b) = body.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let e = set_status(&st, &staff, &fid, &b.status, b.evacuees)?;
    Ok(Json(serde_json::json!({"ok": true, "fid": e.fid, "status": e.status, "evacuees": e.evacuees, "at": e.at})).into_response())
}

fn status_doc(st: &AppState) -> serde_json::Value {
    let snap = st.snapshot.load_full();
    let (rows, updated) = crate::admin::status::public(&snap, &st.admin.status);
    serde_json::json!({
        "updated_at": if updated.is_empty() { None } else { Some(updated) },
        "generated_at": crate::admin::now_iso(),
        "count": rows.len(),
        "shelters": rows,
    })
}

async fn status_json(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let mut doc = status_doc(&st);
    // The ETag covers the content, not the moment it was generated.
    let generated = doc["generated_at"].take();
    let tag_src = doc.to_string();
    doc["generated_at"] = generated;
    let etag = format!("\"ss-{}\"", &crate::admin::sha256_hex(&tag_src)[..20]);
    let base = [
        (header::ETAG, etag.clone()),
        (header::CACHE_CONTROL, "no-cache".to_string()),
    ];
    if super::not_modified(&headers, &etag) {
        return (StatusCode::NOT_MODIFIED, base).into_response();
    }
    (base, Json(doc)).into_response()
}

async fn status_csv(State(st): State<Arc<AppState>>) -> Response {
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
            r.status.to_string(),
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

async fn status_geojson(State(st): State<Arc<AppState>>) -> Response {
    let doc = status_doc(&st);
    let features: Vec<serde_json::Value> = doc["shelters"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let geometry = match (s["lon"].as_f64(), s["lat"].as_f64()) {
                        (Some(x), Some(y)) => serde_json::json!({"type": "Point", "coordinates": [x, y]}),
                        _ => serde_json::Value::Null,
                    };
                    serde_json::json!({"type": "Feature", "id": s["fid"], "geometry": geometry, "properties": s})
                })
                .collect()
        })
        .unwrap_or_default();
    let body = serde_json::json!({
        "type": "FeatureCollection",
        "name": "shelter_status",
        "updated_at": doc["updated_at"],
        "generated_at": doc["generated_at"],
        "features": features,
    });
    (
        [
            (header::CONTENT_TYPE, "application/geo+json"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        body.to_string(),
    )
        .into_response()
}

/// Server-sent events: the whole status document now and after every change.
async fn status_events(State(st): State<Arc<AppState>>) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Event, std::convert::Infallible>>(8);
    let mut changes = st.admin.status.changes.subscribe();
    tokio::spawn(async move {
        loop {
            let doc = status_doc(&st);
            let ev = Event::default().event("status").data(doc.to_string());
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_admin_route_has_a_handler_and_is_unique() {
        let mut seen = std::collections::HashSet::new();
        for r in ADMIN_ROUTES {
            assert!(handler(r).is_some(), "{} {}", r.method, r.path);
            assert!(seen.insert((r.method, r.path)), "{} {}", r.method, r.path);
            assert!(r.path.starts_with("/admin") || r.path.starts_with("/api/admin"));
        }
    }

    #[test]
    fn next_is_kept_inside_the_console() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("https://evil.example")), "/admin");
        assert_eq!(safe_next(Some("//evil.example")), "/admin");
        assert_eq!(safe_next(None), "/admin");
    }
}
