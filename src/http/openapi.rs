//! `/openapi.json`: the OpenAPI 3.0 document of every endpoint, generated from the route tables
//! that each HTTP module declares next to its handlers ([`RouteDoc`]), so the document cannot
//! drift from the code: a test requests every documented path and checks it is routed.

use super::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// A `{name}` segment of the path.
    Path,
    /// A query-string parameter.
    Query,
}

/// One parameter of a documented route.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Name as it appears in the path template or query string.
    pub name: &'static str,
    /// Path or query.
    pub at: In,
    /// Required? (Path parameters always are.)
    pub required: bool,
    /// JSON schema type: `string`, `integer`, `number`, `boolean`.
    pub ty: &'static str,
    /// What it means.
    pub doc: &'static str,
    /// A value that makes the route answer on the sample city (used by the route test).
    pub example: &'static str,
}

/// One documented route (GET unless `method` says otherwise).
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// HTTP method in lower case (`get`, `post`).
    pub method: &'static str,
    /// OpenAPI path template, e.g. `/tiles/{id}/{z}/{x}/{y}.mvt`.
    pub path: &'static str,
    /// Group in the document (`tiles`, `ogc`, `downloads`, `catalog`, `risk`, `ops`).
    pub tag: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Parameters.
    pub params: &'static [Param],
    /// Media types of a successful answer.
    pub produces: &'static [&'static str],
    /// Error statuses this route can answer with (all use the one JSON error shape).
    pub errors: &'static [u16],
}

/// Shorthand for a path parameter.
pub const fn path_param(name: &'static str, doc: &'static str, example: &'static str) -> Param {
    Param {
        name,
        at: In::Path,
        required: true,
        ty: "string",
        doc,
        example,
    }
}

/// Shorthand for an optional query parameter.
pub const fn query(name: &'static str, ty: &'static str, doc: &'static str) -> Param {
    Param {
        name,
        at: In::Query,
        required: false,
        ty,
        doc,
        example: "",
    }
}

/// Routes of this module and of the server itself.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "get",
        path: "/openapi.json",
        tag: "ops",
        summary: "This OpenAPI 3.0 document",
        params: &[],
        produces: &["application/vnd.oai.openapi+json;version=3.0"],
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/healthz",
        tag: "ops",
        summary: "Liveness and the published version of every dataset",
        params: &[],
        produces: &["application/json"],
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/metrics",
        tag: "ops",
        summary: "Prometheus metrics: requests by route and status, latency, tile cache, bytes out",
        params: &[],
        produces: &["text/plain; version=0.0.4"],
        errors: &[],
    },
];

/// Every documented route of the server, from each module's table.
pub fn all_routes() -> Vec<&'static RouteDoc> {
    let tables: &[&[RouteDoc]] = &[
        ROUTES,
        super::tiles::ROUTES,
        super::ogc::ROUTES,
        super::ogc_schema::ROUTES,
        super::ogc_tiles::ROUTES,
        super::datasets::ROUTES,
        super::catalog::ROUTES,
        super::risk::ROUTES,
        super::search::ROUTES,
        super::geocode::ROUTES,
        super::web::ROUTES,
        super::admin::ROUTES,
    ];
    tables.iter().flat_map(|t| t.iter()).collect()
}

fn error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["ok", "status", "code", "error"],
        "properties": {
            "ok": {"type": "boolean", "enum": [false]},
            "status": {"type": "integer"},
            "code": {"type": "string", "description": "stable machine-readable code"},
            "error": {"type": "string", "description": "what was wrong and what is expected"}
        }
    })
}

fn ckan_error_schema() -> Value {
    json!({
        "type": "object",
        "required": ["success", "error"],
        "properties": {
            "help": {"type": "string"},
            "success": {"type": "boolean", "enum": [false]},
            "error": {
                "type": "object",
                "properties": {
                    "__type": {"type": "string", "description": "e.g. Not Found Error, Validation Error"},
                    "message": {"type": "string"}
                }
            }
        }
    })
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad request (malformed parameter)",
        404 => "Not found (unknown dataset, feature or tile outside the pyramid)",
        406 => "Not acceptable (unsupported format)",
        409 => "Conflict (CKAN validation or search error)",
        413 => "Too large (a filter past its length limit)",
        500 => "Internal error",
        503 => "Not ready",
        _ => "Error",
    }
}

/// The OpenAPI 3.0 document for every endpoint, with the server URL `base`.
pub fn document(base: &str) -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in all_routes() {
        let params: Vec<Value> = r
            .params
            .iter()
            .map(|p| {
                let mut schema = json!({"type": p.ty});
                if p.name == "limit" && r.path.starts_with("/ogc") {
                    schema = json!({"type": "integer", "minimum": 1,
                        "maximum": super::ogc::MAX_LIMIT, "default": super::ogc::DEFAULT_LIMIT});
                }
                if p.name == "filter-lang" && r.path.starts_with("/ogc") {
                    schema = json!({"type": "string", "enum": crate::filter::Lang::NAMES,
                        "default": "cql2-text"});
                }
                if p.name == "lang" && matches!(r.path, "/" | "/api/risk") {
                    schema = json!({"type": "string", "enum": crate::lang::Lang::CODES});
                }
                if p.name == "filter" && r.path.starts_with("/ogc") {
                    schema = json!({"type": "string",
                        "maxLength": crate::filter::MAX_FILTER_BYTES});
                }
                let mut v = json!({
                    "name": p.name,
                    "in": if p.at == In::Path { "path" } else { "query" },
                    "required": p.at == In::Path || p.required,
                    "description": p.doc,
                    "schema": schema,
                });
                if !p.example.is_empty() {
                    v["example"] = json!(p.example);
                }
                v
            })
            .collect();
        let mut responses = Map::new();
        let content: Map<String, Value> = r
            .produces
            .iter()
            .map(|m| ((*m).to_string(), json!({})))
            .collect();
        responses.insert(
            "200".into(),
            json!({"description": "OK", "content": content}),
        );
        if r.path.starts_with("/tiles/")
            || r.path.starts_with("/datasets/")
            || r.path.ends_with("/{tileMatrix}/{tileRow}/{tileCol}")
        {
            responses.insert(
                "304".into(),
                json!({"description": "Not modified (If-None-Match matched the ETag)"}),
            );
        }
        // The CKAN Action API answers in CKAN's own envelope, which harvesters parse.
        let schema = if r.path.starts_with("/api/3") || r.path.starts_with("/api/action") {
            "#/components/schemas/CkanError"
        } else {
            "#/components/schemas/Error"
        };
        for e in r.errors {
            responses.insert(
                e.to_string(),
                json!({"description": reason(*e), "content": {"application/json":
                    {"schema": {"$ref": schema}}}}),
            );
        }
        let mut op = json!({
            "tags": [r.tag],
            "summary": r.summary,
            "operationId": operation_id(r),
            "parameters": params,
            "responses": responses,
        });
        if r.path.starts_with("/api/admin") {
            op["security"] = json!([{"bearer": []}]);
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        if let Some(m) = entry.as_object_mut() {
            m.insert(r.method.to_string(), op);
        }
    }
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "machimap",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Open data and hazard maps of a Japanese municipality: vector tiles, \
                OGC API – Features, national-schema CSV downloads, a CKAN-compatible catalog \
                and risk at a point.",
            "license": {"name": "Data: CC BY 4.0 unless the catalog says otherwise"}
        },
        "servers": [{"url": base}],
        "tags": [
            {"name": "tiles", "description": "Mapbox Vector Tiles and TileJSON"},
            {"name": "ogc", "description": "OGC API – Features (Parts 1, 2, 3 queryables, 5 schemas) and OGC API – Tiles"},
            {"name": "downloads", "description": "Whole datasets as CSV and GeoJSON"},
            {"name": "catalog", "description": "Dataset catalog: HTML, DCAT, CKAN Action API"},
            {"name": "risk", "description": "Hazard risk at a point, for residents"},
            {"name": "web", "description": "The resident hazard map and its helpers"},
            {"name": "shelters", "description": "Shelter status (開設 / 満員 / 閉鎖) on a disaster day"},
            {"name": "admin", "description": "Staff console API (authentication required)"},
            {"name": "ops", "description": "Health, metrics, this document"}
        ],
        "paths": paths,
        "components": {
            "schemas": {"Error": error_schema(), "CkanError": ckan_error_schema()},
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                "description": "An API token created in the staff console (/admin → API tokens)"}}
        },
    })
}

fn operation_id(r: &RouteDoc) -> String {
    let mut id = String::from(r.method);
    for seg in r.path.split(['/', '.', ',']) {
        let seg = seg.trim_matches(|c| c == '{' || c == '}');
        let mut ch = seg.chars();
        if let Some(f) = ch.next() {
            id.extend(f.to_uppercase());
            id.extend(ch.filter(|c| c.is_ascii_alphanumeric()));
        }
    }
    id
}

/// The path with every parameter replaced by its example (for tests and docs).
pub fn example_path(r: &RouteDoc) -> String {
    let mut p = r.path.to_string();
    for prm in r.params.iter().filter(|p| p.at == In::Path) {
        p = p.replace(&format!("{{{}}}", prm.name), prm.example);
    }
    p
}

async fn get_openapi(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let doc = document(&st.base_url(&headers));
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/vnd.oai.openapi+json;version=3.0",
        )],
        doc.to_string(),
    )
        .into_response()
}

/// Routes of this module.
pub fn router() -> Router<Arc<AppState>> {
    Router::new().route("/openapi.json", get(get_openapi))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_parameter_is_declared_and_has_an_example() {
        for r in all_routes() {
            let declared: Vec<&str> = r
                .params
                .iter()
                .filter(|p| p.at == In::Path)
                .map(|p| p.name)
                .collect();
            let in_template: Vec<&str> = r
                .path
                .split('{')
                .skip(1)
                .filter_map(|s| s.split('}').next())
                .collect();
            assert_eq!(declared, in_template, "{}", r.path);
            let ex = example_path(r);
            assert!(!ex.contains('{'), "{ex}");
        }
    }

    #[test]
    fn operation_ids_are_unique() {
        let mut ids: Vec<String> = all_routes().iter().map(|r| operation_id(r)).collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn document_lists_every_route() {
        let d = document("http://x");
        for r in all_routes() {
            assert!(d["paths"][r.path][r.method].is_object(), "{}", r.path);
        }
    }
}
