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
use super::openapi::{path_typed, query, Body, Param, RouteDoc, Ty};
use super::AppState;
use crate::admin::status::ShelterState;
use crate::admin::uploads::{self, PublishKind, Staged, UploadDir};
use crate::admin::Viewer;
use crate::admin::{accounts, audit, diff, AdminError, Role};
use crate::dataset::{DatasetId, Val};
use crate::store::Store;
use crate::views::console as pages;
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

mod api;
mod coverage;
mod shelters;
mod sign_in;
mod upload;
mod users;
mod versions;
use api::*;
use coverage::*;
use shelters::*;
use sign_in::*;
use upload::*;
use users::*;
use versions::*;

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

const DS: Param = path_typed(
    "dataset",
    Ty::OneOf(&DatasetId::NAMES),
    "Dataset id",
    "wards",
);
/// The hazard datasets, whose coverage staff set (checked against `DatasetId::kind`).
const HAZARDS: &[&str] = &[
    "flood",
    "inland_flood",
    "landslide",
    "tsunami",
    "storm_surge",
];
const HAZARD: Param = path_typed("dataset", Ty::OneOf(HAZARDS), "Hazard dataset id", "flood");
/// Version numbers start at 1.
const VERSION: Ty = Ty::Int {
    min: 1,
    max: i64::MAX,
};
const VER: Param = path_typed("version", VERSION, "Version number", "1");
/// Shelter feature ids.
const FID: Ty = Ty::Int {
    min: 0,
    max: i64::MAX,
};
/// Most entries `/api/admin/audit` answers with, and how many without `limit`.
const AUDIT_LIMIT: Ty = Ty::Int {
    min: 1,
    max: 100_000,
};
const AUDIT_DEFAULT: usize = 1000;
const ADMIN_ERRORS: &[u16] = &[400, 401, 403, 404, 409];

/// Documented routes (see `openapi`): the public shelter status and the admin API (Bearer
/// token; the route test checks that each admin GET refuses an anonymous request with 401).
/// The console's HTML pages are in [`ADMIN_ROUTES`]; the event stream never ends, so it is
/// not listed.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        methods: &["get"],
        path: "/api/shelter-status",
        tag: "shelters",
        summary: "Which shelters are open (開設), full (満員) or closed (閉鎖), with evacuee counts (ETag; SSE at /api/shelter-status/events)",
        params: &[],
        produces: &["application/json"],
        errors: &[],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/shelter-status.csv",
        tag: "shelters",
        summary: "Shelter status as CSV (UTF-8 with BOM), with the time of each change",
        params: &[],
        produces: &["text/csv"],
        errors: &[],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/shelter-status.geojson",
        tag: "shelters",
        summary: "Shelter status as GeoJSON points, with the time of each change",
        params: &[],
        produces: &["application/geo+json"],
        errors: &[],
        body: None,
    },
    RouteDoc {
        methods: &["post"],
        path: "/api/admin/datasets/{dataset}/uploads",
        tag: "admin",
        summary: "Upload files (multipart field `file`, repeatable) as an unpublished version; `?publish=true` publishes it. Bearer token. Same files as the published version: no new version. An optional multipart field `mapping` holds a column mapping as JSON (see datasets/README.md), saved for later files with the same headers",
        params: &[DS, query("publish", Ty::Bool, "Publish at once when accepted")],
        produces: &["application/json"],
        errors: &[400, 401, 403, 404, 409, 413, 422],
        body: Some(Body {
            media: "multipart/form-data",
            schema: upload_schema,
            doc: "The files of one version, and optionally a column mapping",
            success: &[201],
        }),
    },
    RouteDoc {
        methods: &["post"],
        path: "/api/admin/datasets/{dataset}/versions/{version}/publish",
        tag: "admin",
        summary: "Publish a staged version (atomic). Bearer token",
        params: &[DS, VER],
        produces: &["application/json"],
        errors: ADMIN_ERRORS,
        body: None,
    },
    RouteDoc {
        methods: &["post"],
        path: "/api/admin/datasets/{dataset}/versions/{version}/discard",
        tag: "admin",
        summary: "Discard a staged version. Bearer token",
        params: &[DS, VER],
        produces: &["application/json"],
        errors: ADMIN_ERRORS,
        body: None,
    },
    RouteDoc {
        methods: &["post"],
        path: "/api/admin/datasets/{dataset}/versions/{version}/rollback",
        tag: "admin",
        summary: "Make an earlier published version current again (atomic, admins). Bearer token",
        params: &[DS, VER],
        produces: &["application/json"],
        errors: ADMIN_ERRORS,
        body: None,
    },
    RouteDoc {
        methods: &["post"],
        path: "/api/admin/shelters/{fid}/status",
        tag: "admin",
        summary: "Set a shelter's status: JSON {\"status\": \"open|full|closed\", \"evacuees\": 12}. Bearer token",
        params: &[path_typed("fid", FID, "Shelter feature id", "1")],
        produces: &["application/json"],
        errors: &[400, 401, 403, 404, 409],
        body: Some(Body {
            media: "application/json",
            schema: status_schema,
            doc: "The shelter's state and, when known, how many evacuees are in it",
            success: &[],
        }),
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/admin/coverage",
        tag: "admin",
        summary: "The areas the hazard maps cover: every setting, oldest first (the last per dataset is in force; none = the published wards). Bearer token",
        params: &[],
        produces: &["application/json"],
        errors: &[401],
        body: None,
    },
    RouteDoc {
        methods: &["post"],
        path: "/api/admin/coverage/{dataset}",
        tag: "admin",
        summary: "Set the area a hazard map covers (admins): JSON {\"wards\": [\"code\", …]} | {\"polygon\": GeoJSON Polygon/MultiPolygon in lon/lat} | {\"default\": true}. Outside it /api/risk says no_data. Bearer token",
        params: &[HAZARD],
        produces: &["application/json"],
        errors: &[400, 401, 403, 404, 409],
        body: Some(Body {
            media: "application/json",
            schema: coverage_schema,
            doc: "Exactly one of: the ward codes covered, a polygon, or the default",
            success: &[],
        }),
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/admin/whoami",
        tag: "admin",
        summary: "The account behind the Bearer token",
        params: &[],
        produces: &["application/json"],
        errors: &[401],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/admin/datasets",
        tag: "admin",
        summary: "Every dataset with its published version. Bearer token",
        params: &[],
        produces: &["application/json"],
        errors: &[401],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/admin/datasets/{dataset}/versions",
        tag: "admin",
        summary: "History: every version with who, when, source files and hash, rows, report summary. Bearer token",
        params: &[DS],
        produces: &["application/json"],
        errors: &[401, 404],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/admin/datasets/{dataset}/versions/{version}",
        tag: "admin",
        summary: "One version: its validation report and the preview against the published one. Bearer token",
        params: &[DS, VER],
        produces: &["application/json"],
        errors: &[400, 401, 404],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/admin/datasets/{dataset}/versions/{version}/csv",
        tag: "admin",
        summary: "Any stored version as CSV (canonical layout). Bearer token",
        params: &[DS, VER],
        produces: &["text/csv"],
        errors: &[400, 401, 404],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/api/admin/audit",
        tag: "admin",
        summary: "The audit log, newest first (admins only). Bearer token",
        params: &[query(
            "limit",
            AUDIT_LIMIT,
            "How many entries (the newest); 1000 when absent",
        )],
        produces: &["application/json"],
        errors: &[400, 401, 403],
        body: None,
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
    /// Who this is, for the audit log.
    fn actor(&self) -> crate::admin::Actor {
        crate::admin::Actor::new(&self.user, &self.via)
    }
    fn log(&self, st: &AppState, action: &str, target: &str, detail: &str) {
        st.admin.log(&self.actor(), action, target, detail);
    }
}

/// The value of the request's cookie `name` (every `Cookie` header, parsed by the `cookie` crate;
/// a malformed pair is skipped, not fatal).
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(cookie::Cookie::split_parse)
        .filter_map(Result::ok)
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
}

/// Tokens compared in constant time (a CSRF token must not leak through timing).
fn ct_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.as_bytes().ct_eq(b.as_bytes()).into()
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
        .ok()
        .filter(|v| VERSION.admits(*v))
        .ok_or_else(|| {
            AdminError::BadInput(format!(
                "版番号が正しくありません（1以上の整数） / bad version {s} (a whole number from 1)"
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_in_every_cookie_header() {
        let mut h = HeaderMap::new();
        h.append(
            header::COOKIE,
            HeaderValue::from_static("a=1; mm_session=abc"),
        );
        h.append(
            header::COOKIE,
            HeaderValue::from_static("broken; mm_csrf=def"),
        );
        assert_eq!(cookie(&h, "mm_session").as_deref(), Some("abc"));
        assert_eq!(cookie(&h, "mm_csrf").as_deref(), Some("def"));
        assert_eq!(cookie(&h, "a").as_deref(), Some("1"));
        assert_eq!(cookie(&h, "mm"), None);
    }

    #[test]
    fn hazards_are_the_hazard_datasets() {
        let want: Vec<&str> = DatasetId::ALL
            .iter()
            .filter(|d| d.kind() == crate::dataset::Kind::Hazard)
            .map(|d| d.as_str())
            .collect();
        assert_eq!(HAZARDS, want.as_slice());
    }

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
