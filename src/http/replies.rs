//! JSON schemas of what routes answer with 200 (or 201), named in each route's table entry
//! ([`super::route::Route::returns`]) and put in `/openapi.json`, and of the JSON request
//! bodies handlers deserialize ([`body_of`]). They state the fields a
//! client may rely on, their types and, where the set is closed, their values; schemathesis'
//! response check (`scripts/test-api`) holds every answer to them.
//!
//! Two sources:
//! - **answers built from our types** (risk, search, geocode, a shelter, shelter status,
//!   health, the staff API, TileJSON, every CKAN action's result in [`CkanOk`], the OGC API
//!   landing page, conformance, collections, tile matrix sets and tile sets of
//!   [`crate::ogc`]) are Rust types the handler serializes; [`of`] derives their schema from
//!   the type and its serde attributes (schemars), so a field added, renamed or skipped in
//!   the type is in the document too;
//! - **documents assembled as JSON** whose content is open-ended (GeoJSON features and items
//!   pages, whose geometry and properties are the data's own; the queryables and Part 5 JSON
//!   Schemas; the MapLibre style) have their schemas written below from their standards,
//!   stating the fields the standard requires.

use schemars::generate::{Contract, SchemaSettings};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::{json, Value};

/// The OpenAPI 3.0 schema of what `T` serializes to: derived from the type (its fields, serde
/// renames, skipped and optional fields, closed enums), every subschema inlined because the
/// document has no shared components.
pub fn of<T: JsonSchema>() -> Value {
    derive::<T>(Contract::Serialize)
}

/// The OpenAPI 3.0 schema of a request body a handler deserializes into `T` (what serde
/// accepts: defaults make a field optional).
pub fn body_of<T: JsonSchema>() -> Value {
    derive::<T>(Contract::Deserialize)
}

fn derive<T: JsonSchema>(contract: Contract) -> Value {
    let mut v = SchemaSettings::openapi3()
        .with(|s| {
            s.inline_subschemas = true;
            s.contract = contract;
            s.meta_schema = None;
        })
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    untuple(&mut v);
    v
}

/// OpenAPI 3.0 has no tuples: `items` is one schema. A Rust tuple (`(fid, label)`, TileJSON's
/// `center`) comes out of schemars as a list of `items`, one per position; it becomes one
/// schema any position fits (the length stays fixed by `minItems`/`maxItems`).
fn untuple(v: &mut Value) {
    match v {
        Value::Object(m) => {
            if let Some(Value::Array(positions)) = m.get_mut("items") {
                let mut kinds: Vec<Value> = Vec::new();
                for p in positions.drain(..) {
                    if !kinds.contains(&p) {
                        kinds.push(p);
                    }
                }
                let one = if kinds.len() == 1 {
                    kinds.remove(0)
                } else {
                    json!({ "anyOf": kinds })
                };
                m.insert("items".into(), one);
            }
            m.values_mut().for_each(untuple);
        }
        Value::Array(a) => a.iter_mut().for_each(untuple),
        _ => {}
    }
}

/// A staff API answer: `"ok": true` beside the fields of `T` (what scripts test first).
#[derive(Debug, Serialize, JsonSchema)]
pub struct Done<T> {
    /// Always true: a refusal is an error answer, never `ok: false`.
    #[schemars(schema_with = "always_true")]
    ok: bool,
    #[serde(flatten)]
    body: T,
}

impl<T> Done<T> {
    /// `body` with `ok: true`.
    pub fn new(body: T) -> Self {
        Done { ok: true, body }
    }
}

/// A CKAN action's answer: CKAN's envelope around the action's result `T`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CkanOk<T> {
    /// The action's help URL.
    help: String,
    /// Always true: a failure is an error answer with `success: false` and `error`.
    #[schemars(schema_with = "always_true")]
    success: bool,
    result: T,
}

impl<T> CkanOk<T> {
    /// `result` in the envelope, with the action's `help`.
    pub fn new(help: String, result: T) -> Self {
        CkanOk {
            help,
            success: true,
            result,
        }
    }
}

fn always_true(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "boolean", "enum": [true]})
}

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

/// A list of links, as the OGC documents of [`crate::ogc`] carry them (derived from
/// [`crate::ogc::Link`]).
fn links() -> Value {
    let mut v = of::<Vec<crate::ogc::Link>>();
    if let Some(m) = v.as_object_mut() {
        m.remove("title");
    }
    v
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

/// A JSON Schema document (queryables, Part 5 schema).
pub fn json_schema() -> Value {
    object(
        &["$schema", "type", "properties"],
        json!({"$schema": string(), "$id": string(), "type": {"type": "string", "enum": ["object"]},
            "properties": {"type": "object"}}),
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

#[cfg(test)]
mod tests {
    use super::super::route;
    use super::*;

    /// Where a schema holds a key that OpenAPI 3.0 has no place for in a document without
    /// components: a `$ref` (schemars puts shared types under `/components/schemas`, which
    /// this document does not have), `$schema`, `$defs`, `definitions`, `const`, or a tuple's
    /// list of `items`.
    fn stray_keys(v: &Value, at: &str, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    if ["$ref", "$schema", "$defs", "definitions", "const"].contains(&k.as_str())
                        || (k == "items" && x.is_array())
                    {
                        out.push(format!("{at}/{k}"));
                    }
                    match (k.as_str(), x) {
                        // Field names, which may be anything (a JSON Schema's own `$schema`).
                        ("properties", Value::Object(fields)) => {
                            for (f, y) in fields {
                                stray_keys(y, &format!("{at}/properties/{f}"), out);
                            }
                        }
                        _ => stray_keys(x, &format!("{at}/{k}"), out),
                    }
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    stray_keys(x, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    /// Every answer schema of every route, derived or written: an object whose required
    /// fields it describes (a misspelt or flattened-away name would make the schema demand a
    /// field no answer has), self-contained and in OpenAPI 3.0's dialect. Whether answers fit
    /// is schemathesis' check (`scripts/test-api`).
    #[test]
    fn every_answer_schema_is_a_self_contained_object_declaring_what_it_requires() {
        let mut seen = 0;
        for r in route::all() {
            let Some(returns) = r.returns else { continue };
            let s = returns();
            let name = r.path;
            assert_eq!(s["type"], "object", "{name}: {s}");
            for f in s["required"].as_array().into_iter().flatten() {
                let f = f.as_str().unwrap();
                assert!(
                    s["properties"].get(f).is_some(),
                    "{name}: {f} required, not declared"
                );
            }
            let mut stray = Vec::new();
            stray_keys(&s, "", &mut stray);
            assert!(stray.is_empty(), "{name}: {stray:?}");
            seen += 1;
        }
        assert!(seen > 30, "{seen} routes name an answer schema");
    }

    /// The words a schema allows: its `enum`, or those of its `oneOf`/`anyOf` branches
    /// (schemars writes an enum whose variants have doc comments as one branch per variant,
    /// and an optional one as a branch beside null).
    fn words(s: &Value) -> Vec<Value> {
        if let Some(Value::Array(w)) = s.get("enum") {
            return w.clone();
        }
        ["oneOf", "anyOf"]
            .iter()
            .filter_map(|k| s.get(*k).and_then(Value::as_array))
            .flatten()
            .flat_map(words)
            .collect()
    }

    /// The derived schemas carry what the types say: serde's renames and skipped fields,
    /// closed sets from Rust enums and the words the answer types mark as closed (the OGC
    /// documents' `dataType`, `itemType`, `cornerOfOrigin`), the staff envelope's `ok: true`
    /// beside the body's fields.
    #[test]
    fn derived_schemas_follow_the_types() {
        let risk = of::<machimap_risk::Risk>();
        assert_eq!(
            json!(words(&risk["properties"]["lang"])),
            json!(machimap_risk::Lang::CODES)
        );
        let hazard = &risk["properties"]["hazards"]["items"];
        assert_eq!(
            json!(words(&hazard["properties"]["hazard"])),
            json!([
                "flood",
                "inland_flood",
                "landslide",
                "tsunami",
                "storm_surge"
            ])
        );
        let shelter = &risk["properties"]["nearest_shelters"]["items"];
        assert_eq!(
            json!(words(&shelter["properties"]["status"])),
            json!(["open", "full", "closed", "not_open"])
        );
        // Skipped when absent: described, not required.
        let required = shelter["required"].as_array().unwrap();
        assert!(shelter["properties"].get("zone_note").is_some());
        assert!(!required.contains(&json!("zone_note")));
        assert!(required.contains(&json!("status")));

        let hit = of::<crate::search::Hit>();
        assert!(hit["properties"].get("score").is_none(), "{hit}");
        assert_eq!(
            json!(words(&hit["properties"]["precision"])),
            // Optional in the type: null beside the words (never sent, the field is skipped).
            json!(["residence", "block", "parcel", "machiaza", null])
        );

        // The OGC documents: the standard's closed sets of words, optional members optional.
        let tileset = of::<crate::ogc::TileSet>();
        assert_eq!(words(&tileset["properties"]["dataType"]), [json!("vector")]);
        let layer = &tileset["properties"]["layers"]["items"];
        assert_eq!(words(&layer["properties"]["dataType"]), [json!("vector")]);
        let required = tileset["required"].as_array().unwrap();
        assert!(required.contains(&json!("tileMatrixSetLimits")));
        assert!(!required.contains(&json!("boundingBox")));
        let link = &tileset["properties"]["links"]["items"];
        assert_eq!(link["required"], json!(["href", "rel"]));
        assert!(link["properties"].get("type").is_some());
        let list = of::<crate::ogc::TileSets>();
        let entry = &list["properties"]["tilesets"]["items"];
        assert_eq!(words(&entry["properties"]["dataType"]), [json!("vector")]);
        let collection = of::<crate::ogc::Collection>();
        assert_eq!(
            words(&collection["properties"]["itemType"]),
            [json!("feature")]
        );
        let tms = of::<crate::ogc::TileMatrixSet>();
        let matrix = &tms["properties"]["tileMatrices"]["items"];
        assert_eq!(
            words(&matrix["properties"]["cornerOfOrigin"]),
            [json!("topLeft")]
        );
        assert_eq!(matrix["properties"]["matrixWidth"]["minimum"], json!(1));
        assert_eq!(
            links()["items"]["properties"]["templated"]["type"],
            json!("boolean")
        );
        assert!(links().get("title").is_none());

        let done = of::<Done<crate::admin::audit::Entry>>();
        assert_eq!(done["properties"]["ok"]["enum"], json!([true]));
        assert!(done["properties"].get("actor").is_some(), "{done}");
        let required = done["required"].as_array().unwrap();
        assert!(required.contains(&json!("ok")) && required.contains(&json!("actor")));
    }
}
