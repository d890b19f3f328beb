//! The JSON documents of OGC API – Features and OGC API – Tiles that the server answers with
//! (landing page, conformance, collections, tile matrix sets, tile sets), as Rust types.
//!
//! They live outside `http` because they are document shapes, not request handling: the
//! handlers in `http::ogc` and `http::ogc_tiles` fill them in and serialize them, and the
//! route tables name them (`replies::of::<T>`), so the answer schemas in `/openapi.json` are
//! derived from the very types that are serialized and cannot drift from what is sent. No
//! HTTP here.
//!
//! Field order: fields are declared in the alphabetical order of their JSON names. These
//! documents used to be built as `serde_json` maps, which keep their keys sorted (the crate is
//! built without `preserve_order`); declaring the fields in that order keeps the bytes sent to
//! clients exactly as they were. Optional members are skipped when absent, as they were.
//!
//! Where the standards give a member a closed set of values (`itemType`, `dataType`,
//! `cornerOfOrigin`), the type is an enum of the values we send, so the derived schema states
//! them.
//!
//! GeoJSON features and items pages, the queryables and Part 5 schemas (JSON Schema documents
//! whose properties are the data's own) and the MapLibre style stay assembled as JSON by their
//! handlers.

pub mod features;
pub mod tiles;

pub use features::{Collection, Collections, Extent, ItemType, SpatialExtent};
pub use tiles::{
    BoundingBox, CornerOfOrigin, DataType, PropertiesSchema, PropertySchema, TileMatrix,
    TileMatrixSet, TileMatrixSetItem, TileMatrixSetLimit, TileMatrixSets, TileSet, TileSetItem,
    TileSetLayer, TileSets,
};

use crate::dataset::SqlType;
use schemars::JsonSchema;
use serde::Serialize;

/// A link of an OGC API document (OGC API – Common's `link`: RFC 8288's target, relation,
/// media type and title).
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Link {
    /// The target URL (or URI template, when `templated`).
    pub href: String,
    /// The relation: a registered name (`self`, `items`, …) or an OGC relation URI.
    pub rel: String,
    /// True when `href` is a URI template (`{tileMatrix}/{tileRow}/{tileCol}`) to fill in,
    /// not a URL to follow as it is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub templated: Option<bool>,
    /// What the target is, for people.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The media type of the target.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub media_type: Option<String>,
}

impl Link {
    /// A link to `href` with relation `rel`, its media type and title (every link we answer
    /// with says both).
    pub fn new(
        href: impl Into<String>,
        rel: impl Into<String>,
        media_type: &str,
        title: impl Into<String>,
    ) -> Link {
        Link {
            href: href.into(),
            rel: rel.into(),
            templated: None,
            title: Some(title.into()),
            media_type: Some(media_type.to_string()),
        }
    }

    /// The same link, its `href` a URI template.
    pub fn templated(self) -> Link {
        Link {
            templated: Some(true),
            ..self
        }
    }
}

/// `/ogc`: the landing page (OGC API – Features Part 1, `landingPage`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Landing {
    /// What the service offers.
    pub description: String,
    /// The API definition, conformance, collections, tile sets and tile matrix sets, style,
    /// catalog.
    pub links: Vec<Link>,
    /// The service's name.
    pub title: String,
}

/// `/ogc/conformance`: the conformance classes implemented (`confClasses`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Conformance {
    /// The URIs of the classes, each one implemented exactly.
    pub conforms_to: Vec<&'static str>,
}

/// A JSON Schema type, as the tile sets' `propertiesSchema` (and the queryables and Part 5
/// schemas) name a column's values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum JsonType {
    /// A whole number.
    Integer,
    /// A decimal number.
    Number,
    /// `true` or `false`.
    Boolean,
    /// Text (dates too, as `YYYY-MM-DD`).
    String,
}

impl JsonType {
    /// The JSON type a column of `ty` is written as.
    pub fn of(ty: SqlType) -> JsonType {
        match ty {
            SqlType::Int => JsonType::Integer,
            SqlType::Float => JsonType::Number,
            SqlType::Bool => JsonType::Boolean,
            SqlType::Text | SqlType::Date => JsonType::String,
        }
    }

    /// Its name in JSON Schema.
    pub fn as_str(self) -> &'static str {
        match self {
            JsonType::Integer => "integer",
            JsonType::Number => "number",
            JsonType::Boolean => "boolean",
            JsonType::String => "string",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_link_without_title_or_type_omits_the_keys() {
        let l = Link {
            href: "https://example.test/ogc".into(),
            rel: "self".into(),
            templated: None,
            title: None,
            media_type: None,
        };
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"href":"https://example.test/ogc","rel":"self"}"#
        );
        let t = Link::new(
            "https://example.test/t/{z}",
            "item",
            "application/json",
            "T",
        )
        .templated();
        assert_eq!(
            serde_json::to_value(&t).unwrap(),
            json!({"href": "https://example.test/t/{z}", "rel": "item", "templated": true,
                "title": "T", "type": "application/json"})
        );
    }

    #[test]
    fn conformance_and_json_types_use_the_standard_names() {
        let c = Conformance {
            conforms_to: vec!["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"],
        };
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            json!({"conformsTo": ["http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"]})
        );
        for ty in [SqlType::Int, SqlType::Float, SqlType::Bool, SqlType::Date] {
            let t = JsonType::of(ty);
            assert_eq!(serde_json::to_value(t).unwrap(), json!(t.as_str()));
        }
    }
}
