//! The staff console (`/admin`, server-rendered HTML, session cookies with CSRF tokens), the
//! same steps for scripts under `/api/admin` (Bearer API tokens), and the public shelter status
//! (`/api/shelter-status` as JSON with ETag, CSV, GeoJSON and a server-sent event stream).
//!
//! **Security model.** Every console and admin API route is listed once in [`ROUTES`] with
//! the access it needs; the router is built from that list, and the [`Staff`] extractor that
//! every non-public handler takes looks the route up there (`route::access`), so a route
//! cannot be added without its access level. Pages answer an unauthenticated request with a redirect to the
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
use super::replies::{self, Done};
use super::route::{self, path_typed, query, Access, Body, Mount, Param, Route, Serve, Ty, ROUTE};
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
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use schemars::JsonSchema;
use serde::Serialize;
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

/// What a staff API route is unless it says otherwise: a `GET` answered in JSON, refused with
/// the statuses of [`ADMIN_ERRORS`].
const API: Route = Route {
    tag: "admin",
    produces: &["application/json"],
    errors: ADMIN_ERRORS,
    ..ROUTE
};

/// Why the console's pages are left out of the API description.
const CONSOLE_PAGE: &str = "a console page: HTML forms behind a session cookie and a CSRF \
    token; scripts use the same steps under /api/admin";

/// A console page (`GET`), as its table entry.
const fn page(path: &'static str, access: Access, mount: Mount) -> Route {
    Route {
        path,
        serve: Serve::Here(mount),
        access,
        unlisted: Some(CONSOLE_PAGE),
        tag: "admin",
        ..ROUTE
    }
}

/// A console form's target (`POST`), as its table entry: a page but for the method.
const fn form(path: &'static str, access: Access, mount: Mount) -> Route {
    Route {
        methods: &["post"],
        ..page(path, access, mount)
    }
}

/// Every route under `/admin` (the console) and `/api/admin` (the staff API, Bearer token; the
/// route test checks that each refuses an anonymous request), with the access it needs.
pub const ROUTES: &[Route] = &[
    page("/admin/login", Access::Public, || get(login_page)),
    form("/admin/login", Access::Public, || post(login_submit)),
    page("/admin/console.css", Access::Public, || get(console_css)),
    page("/admin", Access::Editor, || get(dashboard)),
    form("/admin/logout", Access::Editor, || post(logout)),
    page("/admin/datasets/{dataset}", Access::Editor, || get(dataset_page)),
    form("/admin/datasets/{dataset}/upload", Access::Editor, || post(upload_page).layer(DefaultBodyLimit::disable())),
    page("/admin/datasets/{dataset}/versions/{version}", Access::Editor, || get(version_page)),
    page("/admin/datasets/{dataset}/versions/{version}/csv", Access::Editor, || get(version_csv)),
    form("/admin/datasets/{dataset}/versions/{version}/publish", Access::Editor, || post(publish_page)),
    form("/admin/datasets/{dataset}/versions/{version}/discard", Access::Editor, || post(discard_page)),
    form("/admin/datasets/{dataset}/versions/{version}/rollback", Access::Admin, || post(rollback_page)),
    page("/admin/shelters", Access::Editor, || get(shelters_page)),
    form("/admin/shelters/{fid}/status", Access::Editor, || post(shelter_status_page)),
    page("/admin/users", Access::Admin, || get(users_page)),
    form("/admin/users", Access::Admin, || post(user_add)),
    form("/admin/users/{name}/disable", Access::Admin, || post(user_disable)),
    page("/admin/tokens", Access::Admin, || get(tokens_page)),
    form("/admin/tokens", Access::Admin, || post(token_create)),
    form("/admin/tokens/{id}/revoke", Access::Admin, || post(token_revoke)),
    page("/admin/audit", Access::Admin, || get(audit_page)),
    page("/admin/coverage", Access::Admin, || get(coverage_page)),
    form("/admin/coverage/{dataset}", Access::Admin, || post(coverage_submit)),
    Route {
        path: "/api/admin/coverage",
        serve: Serve::Here(|| get(api_coverage)),
        returns: Some(replies::of::<Done<CoverageLog>>),
        access: Access::Editor,
        summary: "The areas the hazard maps cover: every setting, oldest first (the last per dataset is in force; none = the published wards). Bearer token",
        params: &[],
        errors: &[401],
        ..API
    },
    Route {
        methods: &["post"],
        path: "/api/admin/coverage/{dataset}",
        serve: Serve::Here(|| post(api_coverage_set)),
        returns: Some(replies::of::<Done<CoverageSet>>),
        access: Access::Admin,
        summary: "Set the area a hazard map covers (admins): JSON {\"wards\": [\"code\", …]} | {\"polygon\": GeoJSON Polygon/MultiPolygon in lon/lat} | {\"default\": true}. Outside it /api/risk says no_data. Bearer token",
        params: &[HAZARD],
        errors: &[400, 401, 403, 404, 409],
        body: Some(Body {
            media: "application/json",
            schema: coverage_schema,
            doc: "Exactly one of: the ward codes covered, a polygon, or the default",
            success: &[],
        }),
        ..API
    },
    Route {
        path: "/api/admin/whoami",
        serve: Serve::Here(|| get(api_whoami)),
        returns: Some(replies::of::<Done<WhoAmI>>),
        access: Access::Editor,
        summary: "The account behind the Bearer token",
        params: &[],
        errors: &[401],
        ..API
    },
    Route {
        path: "/api/admin/datasets",
        serve: Serve::Here(|| get(api_datasets)),
        returns: Some(replies::of::<Done<Datasets>>),
        access: Access::Editor,
        summary: "Every dataset with its published version. Bearer token",
        params: &[],
        errors: &[401],
        ..API
    },
    Route {
        path: "/api/admin/datasets/{dataset}/versions",
        serve: Serve::Here(|| get(api_versions)),
        returns: Some(replies::of::<Done<Versions>>),
        access: Access::Editor,
        summary: "History: every version with who, when, source files and hash, rows, report summary. Bearer token",
        params: &[DS],
        errors: &[401, 404],
        ..API
    },
    Route {
        methods: &["post"],
        path: "/api/admin/datasets/{dataset}/uploads",
        serve: Serve::Here(|| post(api_upload).layer(DefaultBodyLimit::disable())),
        returns: Some(replies::of::<Uploaded>),
        access: Access::Editor,
        summary: "Upload files (multipart field `file`, repeatable) as an unpublished version; `?publish=true` publishes it. Bearer token. Same files as the published version: no new version. An optional multipart field `mapping` holds a column mapping as JSON (see datasets/README.md), saved for later files with the same headers",
        params: &[DS, query("publish", Ty::Bool, "Publish at once when accepted")],
        errors: &[400, 401, 403, 404, 409, 413, 422],
        body: Some(Body {
            media: "multipart/form-data",
            schema: upload_schema,
            doc: "The files of one version, and optionally a column mapping",
            success: &[201],
        }),
        ..API
    },
    Route {
        path: "/api/admin/datasets/{dataset}/versions/{version}",
        serve: Serve::Here(|| get(api_version)),
        returns: Some(replies::of::<Done<Version>>),
        access: Access::Editor,
        summary: "One version: its validation report and the preview against the published one. Bearer token",
        params: &[DS, VER],
        errors: &[400, 401, 404],
        ..API
    },
    Route {
        path: "/api/admin/datasets/{dataset}/versions/{version}/csv",
        serve: Serve::Here(|| get(version_csv)),
        access: Access::Editor,
        summary: "Any stored version as CSV (canonical layout). Bearer token",
        params: &[DS, VER],
        produces: &["text/csv"],
        errors: &[400, 401, 404],
        ..API
    },
    Route {
        methods: &["post"],
        path: "/api/admin/datasets/{dataset}/versions/{version}/publish",
        serve: Serve::Here(|| post(api_publish)),
        returns: Some(replies::of::<Done<Decided>>),
        access: Access::Editor,
        summary: "Publish a staged version (atomic). Bearer token",
        params: &[DS, VER],
        ..API
    },
    Route {
        methods: &["post"],
        path: "/api/admin/datasets/{dataset}/versions/{version}/discard",
        serve: Serve::Here(|| post(api_discard)),
        returns: Some(replies::of::<Done<Decided>>),
        access: Access::Editor,
        summary: "Discard a staged version. Bearer token",
        params: &[DS, VER],
        ..API
    },
    Route {
        methods: &["post"],
        path: "/api/admin/datasets/{dataset}/versions/{version}/rollback",
        serve: Serve::Here(|| post(api_rollback)),
        returns: Some(replies::of::<Done<Decided>>),
        access: Access::Admin,
        summary: "Make an earlier published version current again (atomic, admins). Bearer token",
        params: &[DS, VER],
        ..API
    },
    Route {
        methods: &["post"],
        path: "/api/admin/shelters/{fid}/status",
        serve: Serve::Here(|| post(api_shelter_status)),
        returns: Some(replies::of::<Done<StatusSet>>),
        access: Access::Editor,
        summary: "Set a shelter's status: JSON {\"status\": \"open|full|closed\", \"evacuees\": 12}. Bearer token",
        params: &[path_typed("fid", FID, "Shelter feature id", "1")],
        errors: &[400, 401, 403, 404, 409],
        body: Some(Body {
            media: "application/json",
            schema: replies::body_of::<StatusBody>,
            doc: "The shelter's state and, when known, how many evacuees are in it",
            success: &[],
        }),
        ..API
    },
    Route {
        methods: &["get"],
        path: "/api/admin/audit",
        serve: Serve::Here(|| get(api_audit)),
        returns: Some(replies::of::<Done<AuditEntries>>),
        access: Access::Admin,
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
        ..ROUTE
    },
];

/// Routes of this module.
pub fn router() -> Router<Arc<AppState>> {
    route::mount(ROUTES).layer(axum::middleware::from_fn(security_headers))
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
        let access = route::access(&path, &method);
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
    fn next_is_kept_inside_the_console() {
        assert_eq!(safe_next(Some("/admin/users")), "/admin/users");
        assert_eq!(safe_next(Some("https://evil.example")), "/admin");
        assert_eq!(safe_next(Some("//evil.example")), "/admin");
        assert_eq!(safe_next(None), "/admin");
    }
}
