//! The catalog's routes: `/catalog` (HTML, `?lang=en`), `/catalog.jsonld` (DCAT) and
//! `/api/3/action/*` (and `/api/action/*`, which `ckanapi` calls), the CKAN Action API. Handlers
//! only decode requests and call [`crate::catalog`].

use super::limits::Class;
use super::replies;
use super::route::{In, Param, Route, Serve, Ty, ROUTE};
use super::{ApiError, AppState};
use crate::catalog::*;
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

const fn q(
    name: &'static str,
    ty: Ty,
    required: bool,
    doc: &'static str,
    example: &'static str,
) -> Param {
    Param {
        name,
        at: In::Query,
        required,
        ty,
        doc,
        example,
    }
}

const ACTION: Param = Param {
    name: "action",
    at: In::Path,
    required: true,
    ty: Ty::OneOf(ACTION_NAMES),
    doc: "A CKAN action (an unknown one answers 400 with CKAN's message as a JSON string)",
    example: "package_list",
};

const CKAN_JSON: &[&str] = &["application/json"];

/// Routes of this module (see `route`). CKAN errors use CKAN's envelope, not the usual shape.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/catalog",
        serve: Serve::Here(|| get(get_html)),
        class: Some(Class::Catalog),
        tag: "catalog",
        summary: "The dataset catalog as an HTML page (Japanese; ?lang=en for English)",
        params: &[q("lang", Ty::Str, false, "ja (default) or en", "en")],
        produces: &["text/html"],
        errors: &[],
        ..ROUTE
    },
    Route {
        path: "/catalog.jsonld",
        serve: Serve::Here(|| get(get_jsonld)),
        class: Some(Class::Catalog),
        tag: "catalog",
        summary: "The catalog as DCAT (v3 terms) in JSON-LD",
        params: &[],
        produces: &["application/ld+json"],
        errors: &[],
        ..ROUTE
    },
    Route {
        path: "/api/3",
        serve: Serve::Here(|| get(get_api_version)),
        returns: Some(replies::of::<ApiVersion>),
        tag: "catalog",
        summary: "CKAN API version probe: {\"version\": 3}",
        params: &[],
        produces: CKAN_JSON,
        errors: &[],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/package_list",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<Vec<String>>>),
        tag: "catalog",
        summary: "CKAN: names of the published datasets",
        params: &[
            q("limit", Ty::Natural, false, "At most this many names", "10"),
            q("offset", Ty::Natural, false, "Skip this many names", "0"),
        ],
        produces: CKAN_JSON,
        errors: &[409],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/package_show",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<Package>>),
        tag: "catalog",
        summary: "CKAN: one dataset with its resources (404 in CKAN's envelope when unknown)",
        params: &[q("id", Ty::Str, true, "Dataset id or name", "shelters")],
        produces: CKAN_JSON,
        errors: &[404, 409],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/package_search",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<SearchResult>>),
        tag: "catalog",
        summary:
            "CKAN: search datasets (q over title/notes/tags, fq filters, rows ≤ 1000, start, sort)",
        params: &[
            q(
                "q",
                Ty::Str,
                false,
                "Free text over titles, descriptions and tags",
                "避難",
            ),
            q(
                "fq",
                Ty::Str,
                false,
                "Filters: tags:…, res_format:…, organization:…, name:…, license_id:…, \
                 metadata_modified:[FROM TO TO]; -field:… excludes",
                "tags:自治体標準ODS",
            ),
            q(
                "rows",
                Ty::Natural,
                false,
                "Page size, default 10, capped at 1000",
                "10",
            ),
            q(
                "start",
                Ty::Natural,
                false,
                "Offset of the first result",
                "0",
            ),
            q(
                "sort",
                Ty::Str,
                false,
                "score, name, title_string, metadata_modified, metadata_created or id, \
                 with asc/desc",
                "name asc",
            ),
            q(
                "facet.field",
                Ty::Str,
                false,
                "JSON list: tags, res_format, organization, license_id",
                "[\"tags\"]",
            ),
        ],
        produces: CKAN_JSON,
        errors: &[409],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/current_package_list_with_resources",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<Vec<Package>>>),
        tag: "catalog",
        summary: "CKAN: datasets with resources, most recently modified first",
        params: &[
            q("limit", Ty::Natural, false, "Page size, default 10", "10"),
            q("offset", Ty::Natural, false, "Offset", "0"),
        ],
        produces: CKAN_JSON,
        errors: &[409],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/organization_list",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<Vec<OrganizationListed>>>),
        tag: "catalog",
        summary: "CKAN: the publishing organisation (names, or dicts with all_fields=true)",
        params: &[q(
            "all_fields",
            Ty::OneOf(FLAG_WORDS),
            false,
            "Full dictionaries instead of names",
            "true",
        )],
        produces: CKAN_JSON,
        errors: &[409],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/organization_show",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<OrganizationShown>>),
        tag: "catalog",
        summary: "CKAN: the publishing organisation",
        params: &[
            q("id", Ty::Str, true, "Organisation name or id", "339997"),
            q(
                "include_datasets",
                Ty::OneOf(FLAG_WORDS),
                false,
                "With the published datasets",
                "true",
            ),
        ],
        produces: CKAN_JSON,
        errors: &[404, 409],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/license_list",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<Vec<LicenseDict>>>),
        tag: "catalog",
        summary: "CKAN: the licence the data is published under",
        params: &[],
        produces: CKAN_JSON,
        errors: &[],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/status_show",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<SiteStatus>>),
        tag: "catalog",
        summary: "CKAN: site title, URL and API compatibility",
        params: &[],
        produces: CKAN_JSON,
        errors: &[],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/help_show",
        serve: Serve::Within("/api/3/action/{action}"),
        returns: Some(replies::of::<replies::CkanOk<String>>),
        tag: "catalog",
        summary: "CKAN: what an action does",
        params: &[q("name", Ty::Str, true, "Action name", "package_search")],
        produces: CKAN_JSON,
        errors: &[404, 409],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/3/action/{action}",
        serve: Serve::Here(|| get(ckan_action).post(ckan_action)),
        returns: Some(replies::of::<replies::CkanOk<Value>>),
        class: Some(Class::Catalog),
        tag: "catalog",
        summary: "CKAN: any action above (POST: its parameters as a JSON object body)",
        params: &[ACTION],
        produces: CKAN_JSON,
        errors: &[400, 404, 409],
        ..ROUTE
    },
    Route {
        methods: &["get", "post"],
        path: "/api/action/{action}",
        serve: Serve::Here(|| get(ckan_action).post(ckan_action)),
        returns: Some(replies::of::<replies::CkanOk<Value>>),
        class: Some(Class::Catalog),
        tag: "catalog",
        summary: "CKAN: the same actions without the version segment (as ckanapi calls them)",
        params: &[ACTION],
        produces: CKAN_JSON,
        errors: &[400, 404, 409],
        ..ROUTE
    },
];

// ---------------------------------------------------------------------------------------------
// Request decoding
// ---------------------------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` (query strings and form bodies) as CKAN reads it: a
/// repeated key becomes a list.
pub fn parse_urlencoded(s: &str) -> Params {
    let mut p = Params::new();
    for (k, v) in super::query_pairs(s) {
        match p.get_mut(&k) {
            Some(Value::Array(a)) => a.push(json!(v)),
            Some(old) => {
                let first = old.take();
                *old = json!([first, v]);
            }
            None => {
                p.insert(k, json!(v));
            }
        }
    }
    p
}

/// Parameters of a request: the query string for GET, the body for POST (JSON object, or a
/// form; a form whose single key is JSON is read as that JSON, as CKAN does).
pub fn request_params(
    method: &Method,
    query: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Result<Params, CkanError> {
    if method == Method::GET || method == Method::HEAD {
        return Ok(parse_urlencoded(query.unwrap_or("")));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(body);
        let form = parse_urlencoded(&text);
        if form.len() == 1 {
            if let Some((k, v)) = form.iter().next() {
                if v == "1" || v == "" {
                    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(k) {
                        return Ok(o);
                    }
                }
            }
        }
        return Ok(form);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        // An empty POST: fall back to the query string (curl -X POST URL?id=…).
        return Ok(parse_urlencoded(query.unwrap_or("")));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => Err(CkanError::BadRequest(format!(
            "Bad request data: Request data JSON decoded to {other} but it needs to be a dictionary."
        ))),
        Err(e) => Err(CkanError::BadRequest(format!("JSON Error: {e}"))),
    }
}
// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// How long a catalog request waits for the size and checksum of a download being hashed
/// (the first requests after a large layer's publish); past it the resource is listed without
/// them and the next request has them.
const DIGEST_WAIT: Duration = Duration::from_secs(1);

/// Build the catalog off the async threads (a digest not known yet is waited for at most
/// [`DIGEST_WAIT`]).
async fn load_catalog(st: &Arc<AppState>, headers: &HeaderMap) -> Result<Catalog, String> {
    let st = st.clone();
    let base = st.base_url(headers);
    tokio::task::spawn_blocking(move || {
        let snap = st.snapshot.load_full();
        build_catalog(
            &snap,
            &st.config.publisher(),
            &base,
            &|d| st.downloads.of(d),
            &|l, f| crate::export::digest_within(l, f, DIGEST_WAIT),
        )
    })
    .await
    .map_err(|e| e.to_string())
}

fn with_headers(mut resp: Response, content_type: &'static str) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn get_html(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(qs): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::parse(qs.get("lang").map(String::as_str));
    let cat = match load_catalog(&st, &headers).await {
        Ok(c) => c,
        Err(e) => return ApiError::Internal(e).into_response(),
    };
    let mut resp = with_headers(
        crate::views::catalog::html(&cat, lang).into_response(),
        "text/html; charset=utf-8",
    );
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&crate::views::catalog::csp()) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
    resp
}

async fn get_jsonld(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match load_catalog(&st, &headers).await {
        Ok(cat) => with_headers(
            dcat(&cat).to_string().into_response(),
            "application/ld+json",
        ),
        Err(e) => ApiError::Internal(e).into_response(),
    }
}

async fn get_api_version() -> Response {
    ckan_response(StatusCode::OK, &API_VERSION)
}

fn ckan_response(status: StatusCode, body: &impl serde::Serialize) -> Response {
    // Strings, numbers and string-keyed maps: serializing cannot fail.
    let text = serde_json::to_string(body).unwrap_or_default();
    with_headers(
        (status, text).into_response(),
        "application/json;charset=utf-8",
    )
}

async fn ckan_action(
    State(st): State<Arc<AppState>>,
    Path(action): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let base = st.base_url(&headers);
    let help = format!("{base}/api/3/action/help_show?name={action}");
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let known = ACTIONS.iter().any(|(n, _)| *n == action);
    let result = match request_params(&method, query.as_deref(), content_type, &body) {
        _ if !known => Err(CkanError::BadRequest(format!(
            "Action name not known: {action}"
        ))),
        Err(e) => Err(e),
        Ok(params) => match load_catalog(&st, &headers).await {
            Ok(cat) => run_action(&cat, &action, &params),
            Err(e) => Err(CkanError::Internal(e)),
        },
    };
    match result {
        Ok(result) => ckan_response(StatusCode::OK, &replies::CkanOk::new(help, result)),
        Err(e) => {
            let (status, body) = e.to_status_body(&help);
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            ckan_response(status, &body)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_params_read_json_form_and_query() {
        let p =
            request_params(&Method::POST, None, "application/json", br#"{"rows": "2"}"#).unwrap();
        assert_eq!(p["rows"], "2");
        let p = request_params(
            &Method::GET,
            Some("fq=tags%3A%E9%98%B2%E7%81%BD&q=a+b"),
            "",
            b"",
        )
        .unwrap();
        assert_eq!(p["fq"], "tags:防災");
        assert_eq!(p["q"], "a b");
        let p = request_params(
            &Method::POST,
            None,
            "application/x-www-form-urlencoded",
            b"%7B%22id%22%3A%22x%22%7D=1",
        )
        .unwrap();
        assert_eq!(p["id"], "x");
        assert!(request_params(&Method::POST, None, "application/json", b"[1]").is_err());
        // A malformed escape stays as written.
        let p = request_params(&Method::GET, Some("q=%&fq=a%2"), "", b"").unwrap();
        assert_eq!(
            (p["q"].as_str(), p["fq"].as_str()),
            (Some("%"), Some("a%2"))
        );
    }
}
