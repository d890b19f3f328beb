//! JSON schemas of what routes answer with 200 (or 201), named in each route's table entry
//! ([`super::route::Route::returns`]) and put in `/openapi.json`. They state the fields a
//! client may rely on, their types and, where the set is closed, their values; schemathesis'
//! response check (`scripts/test-api`) holds every answer to them.

use serde_json::{json, Value};

fn object(required: &[&str], properties: Value) -> Value {
    json!({"type": "object", "required": required, "properties": properties})
}

fn array_of(items: Value) -> Value {
    json!({"type": "array", "items": items})
}

fn string() -> Value {
    json!({"type": "string"})
}

fn integer(min: i64) -> Value {
    json!({"type": "integer", "minimum": min})
}

fn number() -> Value {
    json!({"type": "number"})
}

/// A link of OGC API and of our own documents.
fn link() -> Value {
    object(
        &["href", "rel"],
        json!({"href": string(), "rel": string(), "type": string(), "title": string()}),
    )
}

fn links() -> Value {
    array_of(link())
}

/// A GeoJSON Feature: an id, a geometry (null for stockpile rows) and properties.
pub fn feature() -> Value {
    object(
        &["type", "geometry", "properties"],
        json!({
            "type": {"type": "string", "enum": ["Feature"]},
            "id": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            "geometry": {"type": "object", "nullable": true, "required": ["type"],
                "properties": {"type": string()}},
            "properties": {"type": "object", "nullable": true},
        }),
    )
}

/// A GeoJSON FeatureCollection.
pub fn feature_collection() -> Value {
    object(
        &["type", "features"],
        json!({
            "type": {"type": "string", "enum": ["FeatureCollection"]},
            "features": array_of(feature()),
        }),
    )
}

/// An OGC API – Features items page: a FeatureCollection with its counts and links.
pub fn items() -> Value {
    let mut v = feature_collection();
    v["required"] = json!(["type", "features", "numberReturned", "links"]);
    v["properties"]["numberReturned"] = integer(0);
    v["properties"]["numberMatched"] = integer(0);
    v["properties"]["links"] = links();
    v["properties"]["timeStamp"] = string();
    v
}

/// `/ogc`: the landing page.
pub fn landing() -> Value {
    object(
        &["links"],
        json!({"title": string(), "description": string(), "links": links()}),
    )
}

/// `/ogc/conformance`.
pub fn conformance() -> Value {
    object(&["conformsTo"], json!({"conformsTo": array_of(string())}))
}

fn collection_props() -> Value {
    json!({"id": string(), "title": string(), "description": string(), "links": links(),
        "crs": array_of(string()), "itemType": string()})
}

/// `/ogc/collections/{collectionId}`.
pub fn collection() -> Value {
    object(&["id", "links"], collection_props())
}

/// `/ogc/collections`.
pub fn collections() -> Value {
    object(
        &["collections", "links"],
        json!({"collections": array_of(collection()), "links": links()}),
    )
}

/// A JSON Schema document (queryables, Part 5 schema).
pub fn json_schema() -> Value {
    object(
        &["$schema", "type", "properties"],
        json!({"$schema": string(), "$id": string(), "type": {"type": "string", "enum": ["object"]},
            "properties": {"type": "object"}}),
    )
}

/// `/ogc/tileMatrixSets`.
pub fn tile_matrix_sets() -> Value {
    object(
        &["tileMatrixSets", "links"],
        json!({"tileMatrixSets": array_of(object(&["id", "links"],
            json!({"id": string(), "links": links()}))), "links": links()}),
    )
}

/// `/ogc/tiles` and a collection's tile sets.
pub fn tilesets() -> Value {
    object(
        &["tilesets", "links"],
        json!({"tilesets": array_of(object(&["links"], json!({"links": links()}))),
            "links": links()}),
    )
}

/// One tile set's metadata.
pub fn tileset() -> Value {
    object(
        &["dataType", "crs", "links"],
        json!({"dataType": {"type": "string", "enum": ["vector"]}, "crs": string(),
            "links": links(), "tileMatrixSetLimits": array_of(json!({"type": "object"}))}),
    )
}

/// One tile matrix set (OGC 2D Tile Matrix Set 2.0).
pub fn tile_matrix_set() -> Value {
    object(
        &["id", "crs", "tileMatrices"],
        json!({"id": string(), "crs": string(), "tileMatrices": array_of(object(
            &["id", "scaleDenominator", "matrixWidth", "matrixHeight"],
            json!({"id": string(), "scaleDenominator": number(), "matrixWidth": integer(1),
                "matrixHeight": integer(1)})))}),
    )
}

/// A MapLibre style document.
pub fn style() -> Value {
    object(
        &["version", "sources", "layers"],
        json!({"version": {"type": "integer", "enum": [8]}, "sources": {"type": "object"},
            "layers": array_of(object(&["id", "type"], json!({"id": string(), "type": string()})))}),
    )
}

/// TileJSON 3.0.0.
pub fn tilejson() -> Value {
    object(
        &["tilejson", "tiles", "vector_layers"],
        json!({
            "tilejson": {"type": "string", "enum": ["3.0.0"]},
            "tiles": {"type": "array", "minItems": 1, "items": string()},
            "minzoom": integer(0), "maxzoom": integer(0),
            "bounds": {"type": "array", "items": number(), "minItems": 4, "maxItems": 4},
            "vector_layers": array_of(object(&["id", "fields"],
                json!({"id": string(), "fields": {"type": "object"}}))),
        }),
    )
}

/// `/healthz`.
pub fn health() -> Value {
    object(
        &["status", "datasets"],
        json!({
            "status": {"type": "string", "enum": ["ok"]},
            "datasets": {"type": "object", "additionalProperties": object(
                &["version", "features"],
                json!({"version": integer(1), "features": integer(0)}))},
        }),
    )
}

/// `/api/risk`.
pub fn risk() -> Value {
    let hazard = object(
        &[
            "hazard",
            "title",
            "data_available",
            "in_zone",
            "coverage",
            "zones",
            "message",
        ],
        json!({
            "hazard": string(), "title": string(), "data_available": {"type": "boolean"},
            "in_zone": {"type": "boolean"}, "coverage": string(), "zones": array_of(json!({"type": "object"})),
            "message": string(), "decision": {"type": "string", "nullable": true},
        }),
    );
    object(
        &[
            "lat",
            "lon",
            "lang",
            "hazards",
            "summary",
            "nearest_shelters",
        ],
        json!({"lat": number(), "lon": number(), "lang": string(), "hazards": array_of(hazard),
            "summary": string(), "nearest_shelters": array_of(json!({"type": "object"}))}),
    )
}

/// `/api/search`.
pub fn search() -> Value {
    let hit = object(
        &["dataset", "fid", "kind", "name", "lat", "lon"],
        json!({"dataset": string(), "fid": integer(0), "kind": string(), "name": string(),
            "name_en": string(), "detail": string(), "lat": number(), "lon": number(),
            "bbox": {"type": "array", "items": number(), "minItems": 4, "maxItems": 4}}),
    );
    object(
        &["query", "count", "results"],
        json!({"query": string(), "count": integer(0), "results": array_of(hit)}),
    )
}

/// `/api/geocode`: the query and whether it was found; the point and what matched when it was.
pub fn geocode() -> Value {
    object(
        &["query", "found"],
        json!({"query": string(), "found": {"type": "boolean"}, "lat": number(), "lon": number(),
            "precision": string(), "matched": string(), "rest": string(), "address": string()}),
    )
}

/// `/api/shelters/{fid}`.
pub fn shelter() -> Value {
    object(
        &["fid", "properties"],
        json!({"fid": integer(0), "lat": number(), "lon": number(),
            "properties": {"type": "object"}}),
    )
}

/// `/api/shelter-status`.
pub fn shelter_status() -> Value {
    object(
        &["count", "generated_at", "shelters", "updated_at"],
        json!({"count": integer(0), "generated_at": string(),
            "updated_at": {"type": "string", "nullable": true},
            "shelters": array_of(json!({"type": "object"}))}),
    )
}

/// Every CKAN action's answer: CKAN's envelope with `success: true`.
pub fn ckan() -> Value {
    object(
        &["help", "success", "result"],
        json!({"help": string(), "success": {"type": "boolean", "enum": [true]}, "result": {}}),
    )
}

/// `/api/3`.
pub fn ckan_version() -> Value {
    object(
        &["version"],
        json!({"version": {"type": "integer", "enum": [3]}}),
    )
}

/// A staff API answer: `ok: true` and these fields.
fn staff(required: &[&str]) -> Value {
    let mut props = serde_json::Map::new();
    props.insert("ok".into(), json!({"type": "boolean", "enum": [true]}));
    let mut req = vec!["ok"];
    req.extend_from_slice(required);
    for r in required {
        props.insert((*r).into(), json!({}));
    }
    object(&req, Value::Object(props))
}

/// `/api/admin/whoami`.
pub fn whoami() -> Value {
    let mut v = staff(&["user", "role", "via"]);
    v["properties"]["user"] = string();
    v["properties"]["role"] = json!({"type": "string", "enum": ["admin", "editor"]});
    v["properties"]["via"] = string();
    v
}

/// `/api/admin/datasets`.
pub fn staff_datasets() -> Value {
    let mut v = staff(&["datasets"]);
    v["properties"]["datasets"] = array_of(json!({"type": "object"}));
    v
}

/// `/api/admin/datasets/{dataset}/versions`.
pub fn staff_versions() -> Value {
    let mut v = staff(&["dataset", "versions"]);
    v["properties"]["versions"] = array_of(json!({"type": "object"}));
    v
}

/// `/api/admin/datasets/{dataset}/versions/{version}`.
pub fn staff_version() -> Value {
    staff(&["version", "report", "preview"])
}

/// Publish, discard, rollback.
pub fn staff_action() -> Value {
    let mut v = staff(&["dataset", "version", "action"]);
    v["properties"]["version"] = integer(1);
    v["properties"]["action"] = string();
    v
}

/// An upload that was read and not refused (201 staged, 200 the same files again).
pub fn staff_upload() -> Value {
    let mut v = staff(&["dataset", "outcome", "report"]);
    v["properties"]["report"] = json!({"type": "object"});
    v
}

/// A shelter's status set by staff.
pub fn staff_shelter_status() -> Value {
    let mut v = staff(&["fid", "status", "evacuees", "at"]);
    v["properties"]["fid"] = integer(0);
    v["properties"]["status"] = json!({"type": "string", "enum": ["open", "full", "closed"]});
    v
}

/// `/api/admin/coverage`.
pub fn staff_coverage_log() -> Value {
    let mut v = staff(&["settings"]);
    v["properties"]["settings"] = array_of(json!({"type": "object"}));
    v
}

/// `/api/admin/coverage/{dataset}`.
pub fn staff_coverage() -> Value {
    staff(&["dataset", "coverage"])
}

/// `/api/admin/audit`.
pub fn staff_audit() -> Value {
    let mut v = staff(&["entries"]);
    v["properties"]["entries"] = array_of(json!({"type": "object"}));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A field a schema requires is one it describes (a misspelt name would otherwise make
    /// the schema demand a field no answer has). Whether answers fit is schemathesis' check.
    #[test]
    fn schemas_are_objects_with_their_required_fields_declared() {
        for (name, s) in [
            ("feature_collection", feature_collection()),
            ("items", items()),
            ("health", health()),
            ("risk", risk()),
            ("search", search()),
            ("geocode", geocode()),
            ("shelter_status", shelter_status()),
            ("ckan", ckan()),
            ("whoami", whoami()),
            ("staff_action", staff_action()),
            ("tilejson", tilejson()),
            ("collections", collections()),
        ] {
            assert_eq!(s["type"], "object", "{name}");
            for r in s["required"].as_array().unwrap() {
                let r = r.as_str().unwrap();
                assert!(
                    s["properties"].get(r).is_some(),
                    "{name}: {r} required, not declared"
                );
            }
        }
    }
}
