//! The documents of OGC API – Tiles Part 1 and OGC 2D Tile Matrix Set 2.0 (OGC 17-083r4,
//! JSON encoding): the tile matrix sets offered and their definition, the lists of tile sets
//! and each tile set's metadata with its `tileMatrixSetLimits`.
//!
//! The `WebMercatorQuad` definition and the limits are computed in `tiles::tms`, from the same
//! constants the tiles are drawn with; these are only their shapes.

use super::{JsonType, Link};
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::BTreeMap;

/// What the tiles of a tile set hold (2D TMS `dataType`): always vector tiles here (the
/// standard's other values, `map` and `coverage`, are images and grids we do not serve).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DataType {
    /// Mapbox Vector Tiles.
    Vector,
}

/// `/ogc/tileMatrixSets`: the tile matrix sets offered.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TileMatrixSets {
    /// This document.
    pub links: Vec<Link>,
    /// `WebMercatorQuad`, the one we offer.
    pub tile_matrix_sets: Vec<TileMatrixSetItem>,
}

/// A tile matrix set in the list: its id, registered URI and a link to its definition.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TileMatrixSetItem {
    /// Its CRS.
    pub crs: String,
    /// Its id in URLs.
    pub id: String,
    /// The definition.
    pub links: Vec<Link>,
    /// Its title.
    pub title: String,
    /// Its registered URI.
    pub uri: String,
}

/// A tile matrix set definition (2D TMS 2.0 `TileMatrixSet`, JSON encoding). It also carries
/// the TMS 1.0 names of the same values (`identifier`, `supportedCRS`, the corners), which
/// GDAL before 3.7 reads instead.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TileMatrixSet {
    /// The area covered, in the set's CRS.
    pub bounding_box: BoundingBox,
    /// The CRS of the tile matrices.
    pub crs: String,
    /// Its id in URLs.
    pub id: String,
    /// `id` under its TMS 1.0 name.
    pub identifier: String,
    /// The axes of `crs`, in the order coordinates are given.
    pub ordered_axes: Vec<String>,
    /// `crs` under its TMS 1.0 name.
    #[serde(rename = "supportedCRS")]
    pub supported_crs: String,
    /// One per zoom, from 0.
    pub tile_matrices: Vec<TileMatrix>,
    /// Its title.
    pub title: String,
    /// Its registered URI.
    pub uri: String,
    /// The well-known scale set it follows.
    pub well_known_scale_set: String,
}

/// A box in a CRS: lower-left and upper-right corners, in the CRS's axis order.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoundingBox {
    /// The CRS of the corners.
    pub crs: String,
    /// `lowerLeft` under its TMS 1.0 name (in a tile matrix set definition only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lower_corner: Option<[f64; 2]>,
    /// The lower-left corner.
    pub lower_left: [f64; 2],
    /// `upperRight` under its TMS 1.0 name (in a tile matrix set definition only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub upper_corner: Option<[f64; 2]>,
    /// The upper-right corner.
    pub upper_right: [f64; 2],
}

/// Where a tile matrix's rows and columns start (2D TMS `cornerOfOrigin`): the top left
/// corner here, rows counted downwards (the standard's other value is `bottomLeft`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum CornerOfOrigin {
    /// Row 0 at the top.
    TopLeft,
}

/// One tile matrix (zoom) of a tile matrix set.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TileMatrix {
    /// Size of a cell (a pixel of a tile) in CRS units.
    pub cell_size: f64,
    /// Where rows and columns start.
    pub corner_of_origin: CornerOfOrigin,
    /// The zoom, as text (the `{tileMatrix}` of tile URLs).
    pub id: String,
    /// `id` under its TMS 1.0 name.
    pub identifier: String,
    /// Rows.
    #[schemars(range(min = 1))]
    pub matrix_height: u64,
    /// Columns.
    #[schemars(range(min = 1))]
    pub matrix_width: u64,
    /// The corner of `cornerOfOrigin`, in CRS units.
    pub point_of_origin: [f64; 2],
    /// The scale at a 0.28 mm pixel.
    pub scale_denominator: f64,
    /// Pixels.
    pub tile_height: u32,
    /// Pixels.
    pub tile_width: u32,
    /// `pointOfOrigin` under its TMS 1.0 name.
    pub top_left_corner: [f64; 2],
}

/// `/ogc/tiles` and a collection's `/tiles`: the tile sets offered (Tiles Part 1,
/// `tileSets`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct TileSets {
    /// This document.
    pub links: Vec<Link>,
    /// One per tile matrix set: `WebMercatorQuad`.
    pub tilesets: Vec<TileSetItem>,
}

/// A tile set in a list (Tiles Part 1, `tileSet-item`): what it is and where its metadata is.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TileSetItem {
    /// The CRS of its tile matrix set.
    pub crs: String,
    /// Vector tiles.
    pub data_type: DataType,
    /// Its metadata and its tile matrix set.
    pub links: Vec<Link>,
    /// The registered URI of its tile matrix set.
    #[serde(rename = "tileMatrixSetURI")]
    pub tile_matrix_set_uri: String,
    /// Its title.
    pub title: String,
}

/// One tile set's metadata (2D TMS 2.0 `TileSetMetadata`, JSON encoding).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TileSet {
    /// The lon/lat box of its data (CRS84); absent when no layer has a box.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounding_box: Option<BoundingBox>,
    /// The CRS of its tile matrix set.
    pub crs: String,
    /// Vector tiles.
    pub data_type: DataType,
    /// The layers of its tiles (a polygon layer's label points are a layer of their own).
    pub layers: Vec<TileSetLayer>,
    /// Itself, its tile matrix set, the tile template and what it is a tile set of.
    pub links: Vec<Link>,
    /// The tiles holding data, per tile matrix; a tile outside them is 404.
    pub tile_matrix_set_limits: Vec<TileMatrixSetLimit>,
    /// The registered URI of its tile matrix set.
    #[serde(rename = "tileMatrixSetURI")]
    pub tile_matrix_set_uri: String,
    /// Its title.
    pub title: String,
}

/// A layer of a vector tile set (2D TMS 2.0 `geospatialData`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TileSetLayer {
    /// Vector tiles.
    pub data_type: DataType,
    /// What the layer is, where the title does not say it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The collection its features come from.
    pub feature_type: String,
    /// 0 points, 1 lines, 2 polygons.
    #[schemars(range(max = 3))]
    pub geometry_dimension: u8,
    /// The layer's name in the tiles.
    pub id: String,
    /// Its collection (none for a layer of label points).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<Link>,
    /// The deepest tile matrix drawn, as text.
    pub max_tile_matrix: String,
    /// The first tile matrix drawn, as text.
    pub min_tile_matrix: String,
    /// The attributes of its features.
    pub properties_schema: PropertiesSchema,
    /// Its title.
    pub title: String,
}

/// The attributes of a layer's features, as a JSON Schema of an object.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PropertiesSchema {
    /// Each attribute by name.
    pub properties: BTreeMap<String, PropertySchema>,
    /// `object`.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["object"]))]
    kind: &'static str,
}

impl PropertiesSchema {
    /// The schema of an object with these attributes.
    pub fn new(properties: BTreeMap<String, PropertySchema>) -> PropertiesSchema {
        PropertiesSchema {
            properties,
            kind: "object",
        }
    }
}

/// One attribute of a layer.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PropertySchema {
    /// What it means (the canonical column's documentation).
    pub description: String,
    /// Its JSON type.
    #[serde(rename = "type")]
    pub json_type: JsonType,
}

/// The rows and columns of one tile matrix that hold data (2D TMS 2.0 `tileMatrixLimits`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TileMatrixSetLimit {
    /// Last column.
    pub max_tile_col: u32,
    /// Last row.
    pub max_tile_row: u32,
    /// First column.
    pub min_tile_col: u32,
    /// First row.
    pub min_tile_row: u32,
    /// The tile matrix (zoom), as text.
    pub tile_matrix: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limit(z: u8) -> TileMatrixSetLimit {
        TileMatrixSetLimit {
            max_tile_col: 1,
            max_tile_row: 2,
            min_tile_col: 0,
            min_tile_row: 0,
            tile_matrix: z.to_string(),
        }
    }

    #[test]
    fn a_tile_set_says_vector_its_crs_limits_and_links() {
        let t = TileSet {
            bounding_box: None,
            crs: "http://www.opengis.net/def/crs/EPSG/0/3857".into(),
            data_type: DataType::Vector,
            layers: vec![TileSetLayer {
                data_type: DataType::Vector,
                description: None,
                feature_type: "shelters".into(),
                geometry_dimension: 0,
                id: "shelters".into(),
                links: Vec::new(),
                max_tile_matrix: "16".into(),
                min_tile_matrix: "0".into(),
                properties_schema: PropertiesSchema::new(BTreeMap::from([(
                    "name".to_string(),
                    PropertySchema {
                        description: "名称".into(),
                        json_type: JsonType::String,
                    },
                )])),
                title: "Shelters".into(),
            }],
            links: vec![
                Link::new("u", "self", "application/json", "This tile set"),
                Link::new(
                    "u/{tileMatrix}/{tileRow}/{tileCol}",
                    "item",
                    "application/vnd.mapbox-vector-tile",
                    "Tiles",
                )
                .templated(),
            ],
            tile_matrix_set_limits: vec![limit(0)],
            tile_matrix_set_uri: "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad"
                .into(),
            title: "t".into(),
        };
        let v = serde_json::to_value(&t).unwrap();
        assert_eq!(v["dataType"], "vector");
        assert_eq!(v["crs"], "http://www.opengis.net/def/crs/EPSG/0/3857");
        assert_eq!(v["links"][1]["templated"], true);
        assert!(v["links"][0].get("templated").is_none());
        assert!(v.get("boundingBox").is_none());
        assert_eq!(
            v["tileMatrixSetLimits"][0],
            json!({"tileMatrix": "0", "minTileRow": 0, "maxTileRow": 2, "minTileCol": 0,
                "maxTileCol": 1})
        );
        assert!(v["tileMatrixSetURI"].is_string());
        let layer = &v["layers"][0];
        assert!(layer.get("links").is_none() && layer.get("description").is_none());
        assert_eq!(
            layer["propertiesSchema"],
            json!({"type": "object", "properties": {"name": {"type": "string",
                "description": "名称"}}})
        );
        // Keys in the order of a sorted map, as these documents always had them.
        assert_eq!(serde_json::to_string(&t).unwrap(), v.to_string());
    }

    #[test]
    fn a_tile_set_list_entry_and_a_matrix_use_the_standard_words() {
        let item = TileSetItem {
            crs: "c".into(),
            data_type: DataType::Vector,
            links: Vec::new(),
            tile_matrix_set_uri: "u".into(),
            title: "t".into(),
        };
        let v = serde_json::to_value(&item).unwrap();
        assert_eq!(v["dataType"], "vector");
        assert_eq!(v["tileMatrixSetURI"], "u");
        assert_eq!(
            serde_json::to_value(CornerOfOrigin::TopLeft).unwrap(),
            json!("topLeft")
        );
    }
}
