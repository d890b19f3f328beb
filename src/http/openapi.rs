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

/// The values a parameter takes. A handler refuses what lies outside with 400 (404 where
/// the value names something, such as a tile beyond the pyramid) and accepts everything
/// inside: schemathesis checks both directions.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// Any text.
    Str,
    /// Text with at least one character other than a space, at most `max` characters.
    Text {
        /// Most characters.
        max: usize,
    },
    /// A whole number from `min` to `max`.
    Int {
        /// Smallest.
        min: i64,
        /// Largest.
        max: i64,
    },
    /// A decimal number from `min` to `max`.
    Num {
        /// Smallest.
        min: f64,
        /// Largest.
        max: f64,
    },
    /// `true` or `false`.
    Bool,
    /// A whole number ≥ 0, or empty (CKAN reads an empty value as absent).
    Natural,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Text matching this regular expression (anchored with `^…$`).
    Pattern(&'static str),
    /// From `min` to `max` numbers joined by commas (OGC `bbox`).
    Numbers {
        /// Fewest.
        min: usize,
        /// Most.
        max: usize,
    },
}

impl Ty {
    /// Whether a whole number lies within an `Int` (any number for other kinds).
    pub fn admits(&self, n: i64) -> bool {
        match *self {
            Ty::Int { min, max } => (min..=max).contains(&n),
            _ => true,
        }
    }

    /// The JSON schema of a value.
    pub fn schema(&self) -> Value {
        match *self {
            Ty::Str => json!({"type": "string"}),
            Ty::Text { max } => {
                json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S"})
            }
            Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Ty::Num { min, max } => json!({"type": "number", "minimum": min, "maximum": max}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::Natural => json!({"anyOf": [{"type": "integer", "minimum": 0},
                {"type": "string", "enum": [""]}]}),
            Ty::OneOf(words) => json!({"type": "string", "enum": words}),
            Ty::Pattern(p) => json!({"type": "string", "pattern": p}),
            Ty::Numbers { min, max } => json!({"type": "array", "items": {"type": "number"},
                "minItems": min, "maxItems": max}),
        }
    }
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
    /// What values it takes; the document's schema is made from it, so the bounds a handler
    /// checks and the bounds clients read are the same constants.
    pub ty: Ty,
    /// What it means.
    pub doc: &'static str,
    /// A value that makes the route answer on the sample city (used by the route test).
    pub example: &'static str,
}

/// One documented route.
#[derive(Debug, Clone, Copy)]
pub struct RouteDoc {
    /// HTTP methods in lower case (`get`, `post`) that take the same parameters; `HEAD` comes
    /// with `GET` and `OPTIONS` with every route (CORS), as the router answers them.
    pub methods: &'static [&'static str],
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
    /// What the request carries, for routes that take a body.
    pub body: Option<Body>,
}

/// The body a route takes: its media type and the JSON schema of its content, written next to
/// the handler that reads it (a function, as `serde_json` values cannot be constants).
#[derive(Debug, Clone, Copy)]
pub struct Body {
    /// `application/json` or `multipart/form-data`.
    pub media: &'static str,
    /// The schema of the content (for a multipart form, of its fields).
    pub schema: fn() -> Value,
    /// What it is.
    pub doc: &'static str,
    /// Statuses of a successful answer besides 200 (201 when something was created).
    pub success: &'static [u16],
}

/// Shorthand for a path parameter.
pub const fn path_param(name: &'static str, doc: &'static str, example: &'static str) -> Param {
    Param {
        name,
        at: In::Path,
        required: true,
        ty: Ty::Str,
        doc,
        example,
    }
}

/// A path parameter with its values.
pub const fn path_typed(
    name: &'static str,
    ty: Ty,
    doc: &'static str,
    example: &'static str,
) -> Param {
    Param {
        name,
        at: In::Path,
        required: true,
        ty,
        doc,
        example,
    }
}

/// Shorthand for an optional query parameter.
pub const fn query(name: &'static str, ty: Ty, doc: &'static str) -> Param {
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
        methods: &["get"],
        path: "/openapi.json",
        tag: "ops",
        summary: "This OpenAPI 3.0 document",
        params: &[],
        produces: &["application/vnd.oai.openapi+json;version=3.0"],
        errors: &[],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/healthz",
        tag: "ops",
        summary: "Liveness and the published version of every dataset",
        params: &[],
        produces: &["application/json"],
        errors: &[],
        body: None,
    },
    RouteDoc {
        methods: &["get"],
        path: "/metrics",
        tag: "ops",
        summary: "Prometheus metrics: requests by route and status, latency, tile cache, bytes out",
        params: &[],
        produces: &["text/plain; version=0.0.4"],
        errors: &[],
        body: None,
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
        401 => "Unauthorized (no valid API token)",
        403 => "Forbidden (the token's role does not allow it)",
        409 => "Conflict (the action does not fit the state; CKAN validation or search error)",
        413 => "Too large (past a length or size limit)",
        422 => "Unprocessable (the files were read and refused: see the report)",
        429 => "Too many requests (wait for Retry-After)",
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
                let mut v = json!({
                    "name": p.name,
                    "in": if p.at == In::Path { "path" } else { "query" },
                    "required": p.at == In::Path || p.required,
                    "description": p.doc,
                    "schema": p.ty.schema(),
                });
                if let Ty::Numbers { .. } = p.ty {
                    // a,b,c,d rather than a=…&a=…
                    v["style"] = json!("form");
                    v["explode"] = json!(false);
                }
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
        for ok in r.body.iter().flat_map(|b| b.success) {
            responses.insert(
                ok.to_string(),
                json!({"description": "Created", "content": content}),
            );
        }
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
        // A route taking `f` answers 406 for a format it does not offer.
        let takes_f = r.params.iter().any(|p| p.name == "f") && !r.errors.contains(&406);
        for e in r.errors.iter().chain(takes_f.then_some(&406)) {
            // CKAN answers a request it cannot read (an unknown action, a body that is not a
            // JSON object) with its message as a bare JSON string.
            let schema = if *e == 400 && schema.ends_with("CkanError") {
                json!({"type": "string"})
            } else {
                json!({"$ref": schema})
            };
            responses.insert(
                e.to_string(),
                json!({"description": reason(*e), "content": {"application/json":
                    {"schema": schema}}}),
            );
        }
        let mut op = json!({
            "tags": [r.tag],
            "summary": r.summary,
            "parameters": params,
            "responses": responses,
        });
        if r.path.starts_with("/api/admin") {
            op["security"] = json!([{"bearer": []}]);
        }
        if let Some(b) = &r.body {
            let mut content = json!({"schema": (b.schema)()});
            if b.media == "multipart/form-data" {
                // File parts are sent as bytes, whatever their name says.
                if let Some(props) = content["schema"]["properties"].as_object() {
                    let files: Map<String, Value> = props
                        .iter()
                        .filter(|(_, v)| {
                            v["format"] == "binary" || v["items"]["format"] == "binary"
                        })
                        .map(|(k, _)| {
                            (
                                k.clone(),
                                json!({"contentType": "application/octet-stream"}),
                            )
                        })
                        .collect();
                    content["encoding"] = Value::Object(files);
                }
            }
            op["requestBody"] = json!({"required": true, "description": b.doc,
                "content": {b.media: content}});
        }
        let entry = paths.entry(r.path.to_string()).or_insert_with(|| json!({}));
        if let Some(m) = entry.as_object_mut() {
            for method in r.methods {
                let mut op = op.clone();
                op["operationId"] = json!(operation_id(method, r.path));
                m.insert(method.to_string(), op);
            }
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

fn operation_id(method: &str, path: &str) -> String {
    let mut id = String::from(method);
    for seg in path.split(['/', '.', ',']) {
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
        let mut ids: Vec<String> = all_routes()
            .iter()
            .flat_map(|r| r.methods.iter().map(|m| operation_id(m, r.path)))
            .collect();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n);
    }

    #[test]
    fn document_lists_every_route() {
        let d = document("http://x");
        for r in all_routes() {
            for m in r.methods {
                assert!(d["paths"][r.path][m].is_object(), "{m} {}", r.path);
            }
        }
    }
}
