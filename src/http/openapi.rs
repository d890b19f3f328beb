//! `/openapi.json`: the OpenAPI 3.0 document of every endpoint, generated from the route tables
//! that each HTTP module declares next to its handlers ([`Route`]) and from which the router is
//! mounted, so the document cannot drift from the code.

use super::route::{self, Access, In, Route, Serve, Ty, ROUTE};
use super::AppState;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{json, Map, Value};
use std::sync::{Arc, OnceLock};

/// Routes of this module.
pub const ROUTES: &[Route] = &[Route {
    path: "/openapi.json",
    serve: Serve::Here(|| get(get_openapi)),
    tag: "ops",
    summary: "This OpenAPI 3.0 document",
    produces: &["application/vnd.oai.openapi+json;version=3.0"],
    ..ROUTE
}];

/// Every route the document lists.
pub fn listed() -> impl Iterator<Item = &'static Route> {
    route::all().filter(|r| r.unlisted.is_none())
}

/// Whether a media type is JSON (`application/json`, `application/geo+json`, `…+json;…`).
fn is_json(media: &str) -> bool {
    let base = media.split(';').next().unwrap_or(media).trim();
    base == "application/json" || base.ends_with("+json")
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

/// The OpenAPI 3.0 document for every endpoint, with the server URL `base`. The rest of the
/// document comes from the route tables, which are constants: it is made once per process
/// (deriving the answer schemas is not work for every request) and copied.
pub fn document(base: &str) -> Value {
    static DESCRIBED: OnceLock<Value> = OnceLock::new();
    let mut doc = DESCRIBED.get_or_init(described).clone();
    doc["servers"] = json!([{"url": base}]);
    doc
}

/// The document without its server URL.
fn described() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in listed() {
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
            .map(|m| {
                let schema = match r.returns {
                    Some(f) if is_json(m) => json!({"schema": f()}),
                    _ => json!({}),
                };
                ((*m).to_string(), schema)
            })
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
        if r.access != Access::Public {
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
        "servers": [],
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::route::example_path;

    #[test]
    fn every_path_parameter_is_declared_and_has_an_example() {
        for r in listed() {
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
        let mut ids: Vec<String> = listed()
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
        for r in listed() {
            for m in r.methods {
                assert!(d["paths"][r.path][m].is_object(), "{m} {}", r.path);
            }
        }
    }
}
