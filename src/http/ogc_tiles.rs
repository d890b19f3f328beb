//! OGC API – Tiles Part 1 under `/ogc`: the `WebMercatorQuad` tile matrix set, the vector tile
//! sets of each collection (geodata tilesets) and of the whole dataset (every published layer
//! with geometry, one source-layer each), their metadata with the limits of each tile matrix,
//! and the tiles under the standard template `{tileMatrix}/{tileRow}/{tileCol}`.
//!
//! A tile here is the tile of `/tiles/{ids}/{z}/{x}/{y}.mvt` with `z` = tileMatrix,
//! `y` = tileRow and `x` = tileCol: it is answered by [`super::tiles::tile_response`], so both
//! URLs share one cache entry, one ETag and the same bytes. Tiles outside the tile set's
//! limits are 404, as the standard asks. `/ogc/styles/hazard` is the resident map's style over
//! these URLs.

use super::ogc::{check_params, json_reply, params, reply};
use super::replies;
use super::route::{path_typed, Param, Route, Serve, Ty, ROUTE};
use super::tiles::{layers_for, tile_response, MAXZOOM};
use super::{ApiError, ApiResult, AppState};
use crate::crs::CRS84_URI;
use crate::index::Layer;
use crate::ogc::{
    BoundingBox, DataType, JsonType, Link, PropertiesSchema, PropertySchema, TileMatrixSet,
    TileMatrixSetItem, TileMatrixSets, TileSet, TileSetItem, TileSetLayer, TileSets,
};
use crate::tiles::render::has_label_layer;
use crate::tiles::tms::{self, Limits};
use crate::tiles::TileCoord;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::{json, Value};
use std::sync::Arc;

/// Exactly the OGC API – Tiles and 2D TMS classes implemented here.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tileset",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/tilesets-list",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/geodata-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/dataset-tilesets",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/mvt",
    "http://www.opengis.net/spec/ogcapi-tiles-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixset",
    "http://www.opengis.net/spec/tms/2.0/conf/tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilesetmetadata",
    "http://www.opengis.net/spec/tms/2.0/conf/tilematrixsetlimits",
    "http://www.opengis.net/spec/tms/2.0/conf/json-tilematrixsetlimits",
];

/// Link relation to a list of vector tile sets.
pub const REL_TILESETS: &str = "http://www.opengis.net/def/rel/ogc/1.0/tilesets-vector";
/// Link relation to the tile matrix sets.
pub const REL_TILING_SCHEMES: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-schemes";
const REL_TILING_SCHEME: &str = "http://www.opengis.net/def/rel/ogc/1.0/tiling-scheme";

const JSON: &str = "application/json";
const MVT: &str = "application/vnd.mapbox-vector-tile";
/// Tile matrices of every tile set: from the world (0) to the deepest zoom drawn for
/// clients (above it MapLibre overzooms, as with `/tiles/`).
const MIN_MATRIX: u8 = 0;

const COLLECTION: Param = path_typed(
    "collectionId",
    Ty::OneOf(&crate::dataset::DatasetId::NAMES),
    "Dataset id (with geometry)",
    "flood",
);
const TMS: Param = path_typed(
    "tileMatrixSetId",
    Ty::Str,
    "Tile matrix set: WebMercatorQuad",
    tms::ID,
);
const MATRIX: Param = path_typed(
    "tileMatrix",
    Ty::Int {
        min: MIN_MATRIX as i64,
        max: MAXZOOM as i64,
    },
    "Tile matrix (zoom)",
    "12",
);
/// A row or column of the deepest tile matrix.
const INDEX: Ty = Ty::Int {
    min: 0,
    max: (1 << MAXZOOM) - 1,
};
const ROW: Param = path_typed(
    "tileRow",
    INDEX,
    "Row (0 at the top; XYZ y); 404 outside tileMatrixSetLimits",
    "1627",
);
const COL: Param = path_typed(
    "tileCol",
    INDEX,
    "Column (XYZ x); 404 outside tileMatrixSetLimits",
    "3571",
);

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[
    Route {
        path: "/ogc/tileMatrixSets",
        serve: Serve::Here(|| get(matrix_sets)),
        returns: Some(replies::of::<TileMatrixSets>),
        tag: "ogc",
        summary: "Tile matrix sets offered (OGC API – Tiles)",
        params: &[],
        produces: &[JSON],
        errors: &[400],
        ..ROUTE
    },
    Route {
        path: "/ogc/tileMatrixSets/{tileMatrixSetId}",
        serve: Serve::Here(|| get(matrix_set)),
        returns: Some(replies::of::<TileMatrixSet>),
        tag: "ogc",
        summary: "A tile matrix set definition (OGC 2D TMS 2.0, JSON)",
        params: &[TMS],
        produces: &[JSON],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/tiles",
        serve: Serve::Here(|| get(dataset_tilesets)),
        returns: Some(replies::of::<TileSets>),
        tag: "ogc",
        summary: "Vector tile sets of the whole dataset (every published layer)",
        params: &[],
        produces: &[JSON],
        errors: &[400],
        ..ROUTE
    },
    Route {
        path: "/ogc/tiles/{tileMatrixSetId}",
        serve: Serve::Here(|| get(dataset_tileset)),
        returns: Some(replies::of::<TileSet>),
        tag: "ogc",
        summary: "Tile set metadata of the whole dataset: layers, limits per tile matrix",
        params: &[TMS],
        produces: &[JSON],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        serve: Serve::Here(|| get(dataset_tile)),
        tag: "ogc",
        summary: "A vector tile (MVT) of every published layer; 404 outside the limits",
        params: &[TMS, MATRIX, ROW, COL],
        produces: &[MVT],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/collections/{collectionId}/tiles",
        serve: Serve::Here(|| get(collection_tilesets)),
        returns: Some(replies::of::<TileSets>),
        tag: "ogc",
        summary: "Vector tile sets of one collection",
        params: &[COLLECTION],
        produces: &[JSON],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}",
        serve: Serve::Here(|| get(collection_tileset)),
        returns: Some(replies::of::<TileSet>),
        tag: "ogc",
        summary: "Tile set metadata of one collection: layers, limits per tile matrix",
        params: &[COLLECTION, TMS],
        produces: &[JSON],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/collections/{collectionId}/tiles/{tileMatrixSetId}/{tileMatrix}/{tileRow}/{tileCol}",
        serve: Serve::Here(|| get(collection_tile)),
        tag: "ogc",
        summary: "A vector tile (MVT) of one collection; 404 outside the limits",
        params: &[COLLECTION, TMS, MATRIX, ROW, COL],
        produces: &[MVT],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/styles/hazard",
        serve: Serve::Here(|| get(style)),
        returns: Some(replies::style),
        tag: "ogc",
        summary: "The hazard map's MapLibre style, its source the OGC API – Tiles template",
        params: &[],
        produces: &[JSON],
        errors: &[404],
        ..ROUTE
    },
];

fn check_tms(id: &str) -> ApiResult<()> {
    if id == tms::ID {
        Ok(())
    } else {
        Err(ApiError::NotFound(format!(
            "no tile matrix set {id:?}; offered: {}",
            tms::ID
        )))
    }
}

async fn matrix_sets(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_params(&params(&q), &[])?;
    let b = st.base_url(&headers);
    json_reply(&TileMatrixSets {
        links: vec![Link::new(
            format!("{b}/ogc/tileMatrixSets"),
            "self",
            JSON,
            "Tile matrix sets",
        )],
        tile_matrix_sets: vec![TileMatrixSetItem {
            crs: tms::CRS.into(),
            id: tms::ID.into(),
            links: vec![Link::new(
                format!("{b}/ogc/tileMatrixSets/{}", tms::ID),
                "self",
                JSON,
                "The definition",
            )],
            title: tms::TITLE.into(),
            uri: tms::URI.into(),
        }],
    })
}

async fn matrix_set(Path(id): Path<String>, RawQuery(q): RawQuery) -> ApiResult<Response> {
    check_tms(&id)?;
    check_params(&params(&q), &[])?;
    json_reply(&tms::definition())
}

/// Every published layer with geometry, in canonical order: the dataset tile set.
fn all_layers(st: &AppState) -> ApiResult<Vec<Arc<Layer>>> {
    let snap = st.snapshot.load();
    let ids: Vec<&str> = snap
        .layers
        .values()
        .filter(|l| l.dataset.has_geometry())
        .map(|l| l.dataset.as_str())
        .collect();
    if ids.is_empty() {
        return Err(ApiError::NotFound(
            "no layer with geometry is published yet".into(),
        ));
    }
    layers_for(st, &ids.join(","))
}

/// The lon/lat box of `layers` (their union).
fn bbox_of(layers: &[Arc<Layer>]) -> Option<[f64; 4]> {
    layers
        .iter()
        .filter_map(|l| l.bbox)
        .reduce(crate::geom::union_bbox)
}

/// Limits per tile matrix of a tile set over `layers`.
fn limits_of(layers: &[Arc<Layer>]) -> Vec<Limits> {
    bbox_of(layers).map_or_else(Vec::new, |b| tms::limits(b, MIN_MATRIX, MAXZOOM))
}

/// The link from a tile set to its tile matrix set.
fn tiling_scheme(b: &str) -> Link {
    Link::new(
        format!("{b}/ogc/tileMatrixSets/{}", tms::ID),
        REL_TILING_SCHEME,
        JSON,
        tms::ID,
    )
}

/// One entry of a tile set list.
fn tileset_entry(url: &str, title: &str, b: &str) -> TileSetItem {
    TileSetItem {
        crs: tms::CRS.into(),
        data_type: DataType::Vector,
        links: vec![
            Link::new(url, "self", JSON, "Tile set metadata"),
            tiling_scheme(b),
        ],
        tile_matrix_set_uri: tms::URI.into(),
        title: title.into(),
    }
}

/// The layers of the tiles of `layers`: one per dataset, and one of label points after each
/// polygon layer that has them.
fn tile_layers(layers: &[Arc<Layer>], b: &str) -> Vec<TileSetLayer> {
    let mut out = Vec::new();
    for l in layers {
        let d = l.dataset;
        let schema = PropertiesSchema::new(
            l.columns()
                .iter()
                .map(|c| {
                    let p = PropertySchema {
                        description: c.doc.into(),
                        json_type: JsonType::of(c.ty),
                    };
                    (c.name.to_string(), p)
                })
                .collect(),
        );
        let geometry_dimension = match d.kind() {
            crate::dataset::Kind::Shelter => 0,
            crate::dataset::Kind::Road => 1,
            _ => 2,
        };
        let layer = TileSetLayer {
            data_type: DataType::Vector,
            description: None,
            feature_type: d.as_str().into(),
            geometry_dimension,
            id: d.as_str().into(),
            links: vec![Link::new(
                format!("{b}/ogc/collections/{d}"),
                "collection",
                JSON,
                "The collection",
            )],
            max_tile_matrix: MAXZOOM.to_string(),
            min_tile_matrix: MIN_MATRIX.to_string(),
            properties_schema: schema,
            title: format!("{} / {}", d.title_ja(), d.title_en()),
        };
        let label = has_label_layer(d).then(|| TileSetLayer {
            description: Some(
                "One point inside each polygon, with the polygon's properties".into(),
            ),
            geometry_dimension: 0,
            id: format!("{d}_label"),
            links: Vec::new(),
            title: format!("{} (label points)", d.title_en()),
            ..layer.clone()
        });
        out.push(layer);
        out.extend(label);
    }
    out
}

/// Tile set metadata (OGC 2D TMS 2.0 TileSetMetadata, JSON) of `layers` under `url`; `up`
/// links to what it is a tile set of.
fn tileset_doc(url: &str, title: &str, layers: &[Arc<Layer>], b: &str, up: Link) -> TileSet {
    TileSet {
        bounding_box: bbox_of(layers).map(|bb| BoundingBox {
            crs: CRS84_URI.into(),
            lower_corner: None,
            lower_left: [bb[0], bb[1]],
            upper_corner: None,
            upper_right: [bb[2], bb[3]],
        }),
        crs: tms::CRS.into(),
        data_type: DataType::Vector,
        layers: tile_layers(layers, b),
        links: vec![
            Link::new(url, "self", JSON, "This tile set"),
            tiling_scheme(b),
            Link::new(
                format!("{url}/{{tileMatrix}}/{{tileRow}}/{{tileCol}}"),
                "item",
                MVT,
                "Tiles (Mapbox Vector Tiles)",
            )
            .templated(),
            up,
        ],
        tile_matrix_set_limits: limits_of(layers).iter().map(Limits::doc).collect(),
        tile_matrix_set_uri: tms::URI.into(),
        title: title.into(),
    }
}

async fn dataset_tilesets(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_params(&params(&q), &[])?;
    let b = st.base_url(&headers);
    let url = format!("{b}/ogc/tiles/{}", tms::ID);
    json_reply(&TileSets {
        links: vec![Link::new(
            format!("{b}/ogc/tiles"),
            "self",
            JSON,
            "Tile sets",
        )],
        tilesets: vec![tileset_entry(&url, "Every published layer", &b)],
    })
}

async fn dataset_tileset(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_tms(&id)?;
    check_params(&params(&q), &[])?;
    let layers = all_layers(&st)?;
    let b = st.base_url(&headers);
    let url = format!("{b}/ogc/tiles/{}", tms::ID);
    let up = Link::new(
        format!("{b}/ogc"),
        "http://www.opengis.net/def/rel/ogc/1.0/dataset",
        JSON,
        "The dataset",
    );
    json_reply(&tileset_doc(&url, "Every published layer", &layers, &b, up))
}

async fn collection_tilesets(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let layers = layers_for(&st, &id)?;
    check_params(&params(&q), &[])?;
    let b = st.base_url(&headers);
    let d = layers[0].dataset;
    let url = format!("{b}/ogc/collections/{d}/tiles/{}", tms::ID);
    json_reply(&TileSets {
        links: vec![Link::new(
            format!("{b}/ogc/collections/{d}/tiles"),
            "self",
            JSON,
            "Tile sets",
        )],
        tilesets: vec![tileset_entry(&url, d.title_en(), &b)],
    })
}

async fn collection_tileset(
    State(st): State<Arc<AppState>>,
    Path((id, tms_id)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let layers = layers_for(&st, &id)?;
    check_tms(&tms_id)?;
    check_params(&params(&q), &[])?;
    let b = st.base_url(&headers);
    let d = layers[0].dataset;
    let url = format!("{b}/ogc/collections/{d}/tiles/{}", tms::ID);
    let up = Link::new(
        format!("{b}/ogc/collections/{d}"),
        "http://www.opengis.net/def/rel/ogc/1.0/geodata",
        JSON,
        "The collection",
    );
    json_reply(&tileset_doc(
        &url,
        &format!("{} / {}", d.title_ja(), d.title_en()),
        &layers,
        &b,
        up,
    ))
}

/// The tile coordinate of `{tileMatrix}/{tileRow}/{tileCol}` within the limits of `layers`:
/// 400 for what is not a tile address, 404 for a tile outside the tile set.
fn tile_coord(layers: &[Arc<Layer>], z: &str, row: &str, col: &str) -> ApiResult<TileCoord> {
    let num = |s: &str, what: &str| {
        s.parse::<u32>().map_err(|_| {
            ApiError::BadRequest(format!("{what} must be a whole number ≥ 0, got {s:?}"))
        })
    };
    let (z, row, col) = (
        num(z, "tileMatrix")?,
        num(row, "tileRow")?,
        num(col, "tileCol")?,
    );
    if z > u32::from(tms::DEFINED_ZOOMS) {
        return Err(ApiError::NotFound(format!(
            "tile matrix {z} is not one of WebMercatorQuad's (0–{})",
            tms::DEFINED_ZOOMS
        )));
    }
    let inside = limits_of(layers)
        .iter()
        .find(|l| u32::from(l.z) == z)
        .is_some_and(|l| l.contains(row, col));
    if !inside {
        return Err(ApiError::NotFound(format!(
            "tile {z}/{row}/{col} is outside this tile set (see tileMatrixSetLimits; tile \
             matrices {MIN_MATRIX}–{MAXZOOM})"
        )));
    }
    TileCoord::new(z, u64::from(col), u64::from(row)).map_err(|e| ApiError::NotFound(e.to_string()))
}

/// Query parameters of a tile: `f=mvt` and the version token `v` of `/tiles/` URLs.
fn tile_query(q: &Option<String>) -> ApiResult<Option<String>> {
    let mut v = None;
    for (k, val) in params(q) {
        match k.as_str() {
            "v" => v = Some(val),
            "f" if matches!(val.as_str(), "mvt" | MVT) => {}
            "f" => {
                return Err(ApiError::NotAcceptable(format!(
                    "f={val} is not offered; tiles are Mapbox Vector Tiles (f=mvt)"
                )))
            }
            _ => {
                return Err(ApiError::BadRequest(format!(
                    "unknown parameter {k:?}; a tile takes only f=mvt"
                )))
            }
        }
    }
    Ok(v)
}

async fn dataset_tile(
    State(st): State<Arc<AppState>>,
    Path((tms_id, z, row, col)): Path<(String, String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_tms(&tms_id)?;
    let v = tile_query(&q)?;
    let layers = all_layers(&st)?;
    let coord = tile_coord(&layers, &z, &row, &col)?;
    tile_response(&st, layers, coord, v.as_deref(), &headers).await
}

async fn collection_tile(
    State(st): State<Arc<AppState>>,
    Path((id, tms_id, z, row, col)): Path<(String, String, String, String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let layers = layers_for(&st, &id)?;
    check_tms(&tms_id)?;
    let v = tile_query(&q)?;
    let coord = tile_coord(&layers, &z, &row, &col)?;
    tile_response(&st, layers, coord, v.as_deref(), &headers).await
}

/// The resident map's style (`styles/hazard.json`, from the built front end or the sources)
/// with its vector source replaced by the dataset tile set's template.
async fn style(State(st): State<Arc<AppState>>, headers: HeaderMap) -> ApiResult<Response> {
    let built = super::web::web_dir(&st).join("styles").join("hazard.json");
    let source = std::path::Path::new(super::web::SOURCE_STYLES_DIR).join("hazard.json");
    let bytes = tokio::task::spawn_blocking(move || {
        std::fs::read(&built).or_else(|_| std::fs::read(&source))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(|e| ApiError::NotFound(format!("the hazard style is not installed: {e}")))?;
    let mut s: Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::Internal(format!("styles/hazard.json: {e}")))?;
    let b = st.base_url(&headers);
    let layers = all_layers(&st)?;
    let mut src = json!({
        "type": "vector",
        "tiles": [format!("{b}/ogc/tiles/{}/{{z}}/{{y}}/{{x}}", tms::ID)],
        "minzoom": MIN_MATRIX,
        "maxzoom": MAXZOOM,
        "attribution": "machimap",
    });
    if let Some(bb) = bbox_of(&layers) {
        src["bounds"] = json!(bb);
    }
    s["sources"]["machimap"] = src;
    s["name"] = json!("machimap hazard map (OGC API – Tiles)");
    Ok(reply(
        JSON,
        s.to_string().into_bytes(),
        "public, max-age=60",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_queries() {
        assert_eq!(tile_query(&None).unwrap(), None);
        assert_eq!(
            tile_query(&Some("f=mvt&v=a".into())).unwrap().as_deref(),
            Some("a")
        );
        assert!(matches!(
            tile_query(&Some("f=png".into())),
            Err(ApiError::NotAcceptable(_))
        ));
        assert!(matches!(
            tile_query(&Some("x=1".into())),
            Err(ApiError::BadRequest(_))
        ));
    }
}
