//! OGC API – Features Part 1 (Core, GeoJSON, OpenAPI 3.0) under `/ogc`, plus the queryables of
//! Part 3 for the property=value filters. Items come from the in-memory snapshot: a bbox goes
//! through the layer's R-tree, so `numberMatched` costs a tree query and a filter pass, never a
//! database count.

use super::limits::Class;
use super::ogc_status::{collection_name, cols_of, status_collection, status_layer, STATUS};
use super::replies;
use super::route::{path_typed, query, In, Param, Route, Serve, Ty, ROUTE};
use super::{ApiError, ApiResult, AppState};
use crate::crs::OgcCrs;
use crate::dataset::{Column, DatasetId, SqlType, Val};
use crate::index::{Feature, Layer};
use crate::ogc::{Collection, Collections, Conformance, Extent, ItemType, JsonType, Landing, Link};
use axum::extract::{Path, RawQuery, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use geo::{Intersects, Rect};
use serde::Serialize;
use serde_json::json;
use std::sync::Arc;

/// Largest `limit` accepted on items (larger values are served as this, as the standard asks).
pub const MAX_LIMIT: usize = 10_000;
/// `limit` when none is given.
pub const DEFAULT_LIMIT: usize = 100;

pub(super) const GEOJSON: &str = "application/geo+json";
const JSON: &str = "application/json";
const OAS30: &str = "application/vnd.oai.openapi+json;version=3.0";

/// Exactly the conformance classes implemented here.
pub const CONFORMANCE: &[&str] = &[
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/queryables-query-parameters",
    // Part 3 filtering and the CQL2 classes `crate::filter` implements (ACCENTI is not).
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/filter",
    "http://www.opengis.net/spec/ogcapi-features-3/1.0/conf/features-filter",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text",
    "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-cql2",
    "http://www.opengis.net/spec/cql2/1.0/conf/advanced-comparison-operators",
    "http://www.opengis.net/spec/cql2/1.0/conf/case-insensitive-comparison",
    "http://www.opengis.net/spec/cql2/1.0/conf/basic-spatial-functions",
    "http://www.opengis.net/spec/cql2/1.0/conf/property-property",
];

const COLLECTION: Param = path_typed(
    "collectionId",
    Ty::OneOf(&crate::dataset::DatasetId::NAMES),
    "Dataset id (404 until published)",
    "flood",
);
/// The `f` values [`check_params`] takes.
const FORMATS: &[&str] = &["json", "geojson", "application/json", GEOJSON];
const F: Param = Param {
    name: "f",
    at: In::Query,
    required: false,
    ty: Ty::OneOf(FORMATS),
    doc: "Response format: JSON (GeoJSON for items), the only one offered; 406 for others",
    example: "",
};
/// A CRS as `OgcCrs::from_uri` reads it: an OGC URI or safe CURIE of CRS84, EPSG 4326, 6668,
/// 3857 or 6669–6687.
const CRS: Ty = Ty::Pattern(
    "^\\s*(https?://www\\.opengis\\.net/def/crs/(OGC/1\\.3/CRS84|EPSG/0/(4326|6668|3857|66(69|7[0-9]|8[0-7])))|\\[(OGC:CRS84|EPSG:(4326|6668|3857|66(69|7[0-9]|8[0-7])))\\])\\s*$",
);

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[
    Route {
        path: "/ogc",
        serve: Serve::Here(|| get(landing)),
        returns: Some(replies::of::<Landing>),
        tag: "ogc",
        summary: "Landing page of the OGC API – Features service",
        params: &[F],
        produces: &[JSON],
        errors: &[400],
        ..ROUTE
    },
    Route {
        path: "/ogc/conformance",
        serve: Serve::Here(|| get(conformance)),
        returns: Some(replies::of::<Conformance>),
        tag: "ogc",
        summary: "Conformance classes implemented",
        params: &[F],
        produces: &[JSON],
        errors: &[400],
        ..ROUTE
    },
    Route {
        path: "/ogc/api",
        serve: Serve::Here(|| get(api)),
        tag: "ogc",
        summary: "The API definition (OpenAPI 3.0)",
        params: &[F],
        produces: &[OAS30],
        errors: &[400],
        ..ROUTE
    },
    Route {
        path: "/ogc/collections",
        serve: Serve::Here(|| get(collections)),
        returns: Some(replies::of::<Collections>),
        tag: "ogc",
        summary: "Every published dataset as a feature collection",
        params: &[F],
        produces: &[JSON],
        errors: &[400],
        ..ROUTE
    },
    Route {
        path: "/ogc/collections/{collectionId}",
        serve: Serve::Here(|| get(collection)),
        returns: Some(replies::of::<Collection>),
        tag: "ogc",
        summary: "One collection: title, extent, links",
        params: &[COLLECTION, F],
        produces: &[JSON],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/collections/{collectionId}/items",
        serve: Serve::Here(|| get(items)),
        returns: Some(replies::items),
        class: Some(Class::Items),
        tag: "ogc",
        summary: "Features of a collection, paged; any queryable property can be a filter \
                  (property=value)",
        params: &[
            COLLECTION,
            query(
                "limit",
                Ty::Int {
                    min: 1,
                    max: i64::MAX,
                },
                "Page size (values above the maximum are served as the maximum)",
            ),
            query(
                "offset",
                Ty::Int {
                    min: 0,
                    max: i64::MAX,
                },
                "Features to skip (the next/prev links carry it)",
            ),
            query(
                "bbox",
                Ty::Numbers { min: 4, max: 6 },
                "minLon,minLat,maxLon,maxLat in CRS84, or the corners in bbox-crs (its axis order)",
            ),
            query(
                "bbox-crs",
                CRS,
                "CRS of bbox (OGC URI): CRS84, EPSG 4326, 6668, 3857, 6669–6687",
            ),
            query(
                "crs",
                CRS,
                "CRS of the response (OGC URI, see the collection's crs list); its axis order",
            ),
            query(
                "datetime",
                Ty::Pattern("\\S"),
                "Accepted; no collection has a temporal extent, so it matches all",
            ),
            query(
                "filter",
                Ty::Text {
                    max: crate::filter::MAX_FILTER_BYTES,
                },
                "A CQL2 filter (at most 16 KiB): comparisons, AND/OR/NOT, IS NULL, LIKE, \
                 BETWEEN, IN, CASEI, S_INTERSECTS(geometry, POINT|LINESTRING|POLYGON|MULTI…|BBOX), \
                 property-property comparisons; names from the queryables",
            ),
            query(
                "filter-lang",
                Ty::OneOf(crate::filter::Lang::NAMES),
                "Encoding of filter: cql2-text (default) or cql2-json",
            ),
            query(
                "filter-crs",
                CRS,
                "CRS of the filter's geometry literals: CRS84 (default), EPSG 4326 and 6668 \
                 (lat/lon), 3857, JGD2011 plane zones 6669–6687 (northing, easting, as EPSG \
                 orders them and as crs= answers), as \
                 http://www.opengis.net/def/crs/… URIs",
            ),
            query(
                "sortby",
                Ty::Str,
                "Sort keys, comma-separated, each [+|-]property (at most 8); ties keep fid order, \
                 NULLs last",
            ),
            query(
                "properties",
                Ty::Str,
                "Only these properties (comma-separated) in each feature",
            ),
            F,
        ],
        produces: &[GEOJSON],
        errors: &[400, 404, 413, 503],
        ..ROUTE
    },
    Route {
        path: "/ogc/collections/{collectionId}/items/{featureId}",
        serve: Serve::Here(|| get(item)),
        returns: Some(replies::feature),
        tag: "ogc",
        summary: "One feature by its stable integer id",
        params: &[
            COLLECTION,
            path_typed("featureId", Ty::Str, "Feature id (fid)", "1"),
            query(
                "crs",
                CRS,
                "CRS of the response (OGC URI, see the collection's crs list); its axis order",
            ),
            F,
        ],
        produces: &[GEOJSON],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/collections/{collectionId}/queryables",
        serve: Serve::Here(|| get(queryables)),
        returns: Some(replies::json_schema),
        tag: "ogc",
        summary: "Properties usable as filters, as JSON Schema",
        params: &[COLLECTION, F],
        produces: &["application/schema+json"],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/ogc/",
        serve: Serve::Here(|| get(landing)),
        unlisted: Some("the landing page with a trailing slash, as some OGC clients ask for it"),
        ..ROUTE
    },
];

/// Query parameters as decoded pairs, in order.
pub(super) fn params(raw: &Option<String>) -> Vec<(String, String)> {
    super::query_pairs(raw.as_deref().unwrap_or("")).collect()
}

/// Refuse parameters other than `allowed` (the standard asks for 400 on unknown parameters) and
/// formats other than JSON.
pub(super) fn check_params(ps: &[(String, String)], allowed: &[&str]) -> ApiResult<()> {
    for (k, v) in ps {
        if k == "f" {
            if !FORMATS.contains(&v.as_str()) {
                return Err(ApiError::NotAcceptable(format!(
                    "f={v} is not offered; use f=json"
                )));
            }
        } else if !allowed.contains(&k.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "unknown parameter {k:?}; this resource takes {}",
                if allowed.is_empty() {
                    "only f".to_string()
                } else {
                    allowed.join(", ")
                }
            )));
        }
    }
    Ok(())
}

pub(super) fn reply(content_type: &'static str, body: Vec<u8>, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, cache),
        ],
        body,
    )
        .into_response()
}

/// A JSON document, cacheable for a minute.
pub(super) fn json_reply<T: Serialize>(doc: &T) -> ApiResult<Response> {
    let body = serde_json::to_vec(doc).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(reply(JSON, body, "public, max-age=60"))
}

/// The layer behind a collection id: a published dataset, or the live `shelter_status`.
pub(super) fn layer_of(st: &AppState, id: &str) -> ApiResult<Arc<Layer>> {
    if id == STATUS {
        return status_layer(st).map(Arc::new);
    }
    let d: DatasetId = id
        .parse()
        .map_err(|_| ApiError::NotFound(format!("no such collection: {id}")))?;
    st.snapshot
        .load()
        .layer(d)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("collection {id} has no published version")))
}

async fn landing(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_params(&params(&q), &[])?;
    let b = st.base_url(&headers);
    json_reply(&Landing {
        title: format!(
            "{} オープンデータ (OGC API – Features)",
            st.config.publisher
        ),
        description: "Wards, hazard zones, roads, shelters and stockpiles of the city, \
                      as OGC API – Features collections (GeoJSON, CRS84)."
            .into(),
        links: vec![
            Link::new(format!("{b}/ogc"), "self", JSON, "This document"),
            Link::new(
                format!("{b}/ogc/api"),
                "service-desc",
                OAS30,
                "The API definition",
            ),
            Link::new(
                format!("{b}/ogc/conformance"),
                "conformance",
                JSON,
                "Conformance classes",
            ),
            Link::new(format!("{b}/ogc/collections"), "data", JSON, "Collections"),
            Link::new(
                format!("{b}/ogc/tiles"),
                super::ogc_tiles::REL_TILESETS,
                JSON,
                "Vector tiles of every published layer (OGC API – Tiles)",
            ),
            Link::new(
                format!("{b}/ogc/tileMatrixSets"),
                super::ogc_tiles::REL_TILING_SCHEMES,
                JSON,
                "Tile matrix sets",
            ),
            Link::new(
                format!("{b}/ogc/styles/hazard"),
                "stylesheet",
                JSON,
                "MapLibre style over the OGC API – Tiles URLs",
            ),
            Link::new(
                format!("{b}/catalog"),
                "service-doc",
                "text/html",
                "Dataset catalog",
            ),
        ],
    })
}

async fn conformance(RawQuery(q): RawQuery) -> ApiResult<Response> {
    check_params(&params(&q), &[])?;
    let conforms_to = CONFORMANCE
        .iter()
        .chain(super::ogc_crs::CONFORMANCE)
        .chain(super::ogc_tiles::CONFORMANCE)
        .copied()
        .collect();
    json_reply(&Conformance { conforms_to })
}

async fn api(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_params(&params(&q), &[])?;
    let doc = super::openapi::document(&st.base_url(&headers));
    Ok(reply(
        OAS30,
        doc.to_string().into_bytes(),
        "public, max-age=60",
    ))
}

/// A collection's document: its links to itself, its items and queryables, then `more`, then
/// its schema's; the CRSs of Part 2.
pub(super) fn collection_doc(
    b: &str,
    id: &str,
    title: String,
    description: String,
    more: Vec<Link>,
    bbox: Option<[f64; 4]>,
) -> Collection {
    let url = format!("{b}/ogc/collections/{id}");
    let mut links = vec![
        Link::new(url.clone(), "self", JSON, "This collection"),
        Link::new(format!("{url}/items"), "items", GEOJSON, "Features"),
        Link::new(
            format!("{url}/queryables"),
            "http://www.opengis.net/def/rel/ogc/1.0/queryables",
            "application/schema+json",
            "Queryable properties",
        ),
    ];
    links.extend(more);
    links.extend(super::ogc_schema::links(b, id));
    Collection {
        crs: super::ogc_crs::offered(),
        description,
        extent: bbox.map(Extent::crs84),
        id: id.to_string(),
        item_type: ItemType::Feature,
        links,
        storage_crs: super::ogc_crs::STORAGE_CRS.to_string(),
        title,
    }
}

/// The collection of a published dataset.
fn dataset_collection(b: &str, l: &Layer) -> Collection {
    let d = l.dataset;
    let mut more = vec![Link::new(
        format!("{b}/datasets/{d}.csv"),
        "enclosure",
        "text/csv",
        "The whole dataset as CSV",
    )];
    if d.has_geometry() {
        more.extend([
            Link::new(
                format!("{b}/datasets/{d}.geojson"),
                "enclosure",
                GEOJSON,
                "The whole dataset as GeoJSON",
            ),
            Link::new(
                format!("{b}/tiles/{d}.json"),
                "describedby",
                JSON,
                "Vector tiles (TileJSON)",
            ),
            Link::new(
                format!("{b}/ogc/collections/{d}/tiles"),
                super::ogc_tiles::REL_TILESETS,
                JSON,
                "Vector tiles (OGC API – Tiles)",
            ),
        ]);
    }
    let title = format!("{} / {}", d.title_ja(), d.title_en());
    let (v, at, n) = (l.version, &l.published_at, l.features.len());
    let description = format!(
        "{} — version {v}, published {at}, {n} features",
        d.title_en()
    );
    collection_doc(b, d.as_str(), title, description, more, l.bbox)
}

async fn collections(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    check_params(&params(&q), &[])?;
    let b = st.base_url(&headers);
    let snap = st.snapshot.load();
    let mut collections: Vec<Collection> = snap
        .layers
        .values()
        .map(|l| dataset_collection(&b, l))
        .collect();
    if let Some(sh) = snap.layer(DatasetId::Shelters) {
        collections.push(status_collection(&b, sh));
    }
    json_reply(&Collections {
        collections,
        links: vec![Link::new(
            format!("{b}/ogc/collections"),
            "self",
            JSON,
            "Collections",
        )],
    })
}

async fn collection(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    if id == STATUS {
        check_params(&params(&q), &[])?;
        let sh = layer_of(&st, "shelters")?;
        return json_reply(&status_collection(&st.base_url(&headers), &sh));
    }
    let l = layer_of(&st, &id)?;
    check_params(&params(&q), &[])?;
    json_reply(&dataset_collection(&st.base_url(&headers), &l))
}

async fn queryables(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let l = layer_of(&st, &id)?;
    check_params(&params(&q), &[])?;
    let b = st.base_url(&headers);
    let mut props = serde_json::Map::new();
    for c in cols_of(&l) {
        let mut p = json!({"title": c.name, "description": c.doc, "type": JsonType::of(c.ty)});
        if c.ty == SqlType::Date {
            p["format"] = json!("date");
        }
        props.insert(c.name.to_string(), p);
    }
    // The spatial queryable of Part 3 (S_INTERSECTS): a GeoJSON schema reference without a
    // `type`, which is how QGIS recognises the geometry queryable.
    if l.dataset.has_geometry() {
        props.insert(
            crate::filter::GEOMETRY.to_string(),
            json!({
                "title": "geometry",
                "description": "The feature's geometry (JGD2011 lon/lat), for S_INTERSECTS",
                "format": "geometry-any",
                "x-ogc-role": "primary-geometry",
                "$ref": "https://geojson.org/schema/Geometry.json",
            }),
        );
    }
    let doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{b}/ogc/collections/{id}/queryables"),
        "type": "object",
        "title": l.dataset.title_en(),
        "properties": props,
        "additionalProperties": false,
    });
    Ok(reply(
        "application/schema+json",
        doc.to_string().into_bytes(),
        "public, max-age=60",
    ))
}

/// A parsed property=value filter.
struct Filter {
    col: usize,
    want: Val,
}

impl Filter {
    fn parse(cols: &[Column], name: &str, value: &str) -> ApiResult<Option<Filter>> {
        let Some(col) = cols.iter().position(|c| c.name == name) else {
            return Ok(None);
        };
        let c = &cols[col];
        let bad =
            |what: &str| ApiError::BadRequest(format!("{name} must be {what}, got {value:?}"));
        let want = match c.ty {
            SqlType::Int => Val::Int(value.trim().parse().map_err(|_| bad("an integer"))?),
            SqlType::Float => Val::Float(value.trim().parse().map_err(|_| bad("a number"))?),
            SqlType::Bool => match value.trim() {
                "true" | "1" => Val::Bool(true),
                "false" | "0" => Val::Bool(false),
                _ => return Err(bad("true or false")),
            },
            SqlType::Text | SqlType::Date => Val::Text(value.into()),
        };
        Ok(Some(Filter { col, want }))
    }

    fn matches(&self, f: &Feature) -> bool {
        match (f.values.get(self.col), &self.want) {
            (Some(Val::Float(a)), Val::Float(b)) => (a - b).abs() < 1e-9,
            (Some(Val::Bool(a)), Val::Bool(b)) => a == b,
            // An empty flag is false in the national layouts.
            (Some(Val::Null), Val::Bool(false)) => true,
            (Some(v), w) => v == w,
            (None, _) => false,
        }
    }
}

/// Parse `minx,miny,maxx,maxy` (or the 6-number 3D form) in CRS84.
fn parse_bbox(s: &str) -> ApiResult<[f64; 4]> {
    let n: Vec<f64> = s
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "bbox must be minLon,minLat,maxLon,maxLat (numbers), got {s:?}"
            ))
        })?;
    let b = match n.len() {
        4 => [n[0], n[1], n[2], n[3]],
        6 => [n[0], n[1], n[3], n[4]],
        _ => {
            return Err(ApiError::BadRequest(format!(
                "bbox must have 4 numbers (or 6 with heights), got {}",
                n.len()
            )))
        }
    };
    if b.iter().any(|x| !x.is_finite())
        || b[1] > b[3]
        || b[1] < -90.0
        || b[3] > 90.0
        || b[0] < -180.0
        || b[2] > 180.0
    {
        return Err(ApiError::BadRequest(format!(
            "bbox {s:?} is not a valid CRS84 box (lon −180…180, lat −90…90, minLat ≤ maxLat)"
        )));
    }
    Ok(b)
}

/// Indices of the features of `l` that intersect `b` (a box crossing the antimeridian when
/// minLon > maxLon), in fid order. Only features whose bbox pokes out of the box are tested
/// exactly; those inside it surely intersect.
fn in_bbox(l: &Layer, b: [f64; 4]) -> Vec<u32> {
    let boxes: Vec<[f64; 4]> = if b[0] > b[2] {
        vec![[b[0], b[1], 180.0, b[3]], [-180.0, b[1], b[2], b[3]]]
    } else {
        vec![b]
    };
    let mut out = Vec::new();
    for bx in boxes {
        let rect = Rect::new((bx[0], bx[1]), (bx[2], bx[3]));
        for i in l.query_bbox(bx) {
            let f = &l.features[i as usize];
            let inside = f.bbox.is_some_and(|fb| {
                fb[0] >= bx[0] && fb[1] >= bx[1] && fb[2] <= bx[2] && fb[3] <= bx[3]
            });
            if inside || f.geom.as_ref().is_some_and(|g| g.intersects(&rect)) {
                out.push(i);
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

async fn items(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let l = layer_of(&st, &id)?;
    let ps = params(&q);
    let cols = cols_of(&l);
    let mut limit = DEFAULT_LIMIT;
    let mut offset = 0usize;
    let mut bbox = None;
    let mut bbox_crs = None;
    let mut out_crs = OgcCrs::CRS84;
    let mut filters = Vec::new();
    let mut passthrough = Vec::new();
    let mut sel = Selection::default();
    for (k, v) in &ps {
        match k.as_str() {
            "filter" | "filter-lang" | "filter-crs" | "sortby" | "properties" => {
                sel.take(k, v)?;
                passthrough.push((k.clone(), v.clone()));
            }
            "limit" => {
                let n: i64 = v.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!("limit must be a whole number, got {v:?}"))
                })?;
                if n < 1 {
                    return Err(ApiError::BadRequest(format!(
                        "limit must be at least 1, got {n}"
                    )));
                }
                limit = usize::try_from(n).unwrap_or(MAX_LIMIT).min(MAX_LIMIT);
            }
            "offset" | "startindex" => {
                offset = v.trim().parse().map_err(|_| {
                    ApiError::BadRequest(format!("offset must be a whole number ≥ 0, got {v:?}"))
                })?;
            }
            "bbox" => {
                bbox = Some(v.clone());
                passthrough.push((k.clone(), v.clone()));
            }
            "bbox-crs" => {
                bbox_crs = Some(super::ogc_crs::parse_crs("bbox-crs", v)?);
                passthrough.push((k.clone(), v.clone()));
            }
            "crs" => {
                out_crs = super::ogc_crs::parse_crs("crs", v)?;
                passthrough.push((k.clone(), v.clone()));
            }
            "datetime" => {
                if v.trim().is_empty() {
                    return Err(ApiError::BadRequest(
                        "datetime must be an RFC 3339 instant or interval".into(),
                    ));
                }
                passthrough.push((k.clone(), v.clone()));
            }
            "f" => {
                check_params(&[(k.clone(), v.clone())], &[])?;
                passthrough.push((k.clone(), v.clone()));
            }
            _ => match Filter::parse(cols, k, v)? {
                Some(f) => {
                    filters.push(f);
                    passthrough.push((k.clone(), v.clone()));
                }
                None => {
                    return Err(ApiError::BadRequest(format!(
                        "unknown parameter {k:?}: use limit, offset, bbox, bbox-crs, crs, \
                         datetime, filter, filter-lang, filter-crs, sortby, properties, f, or a \
                         queryable property (see /ogc/collections/{id}/queryables)"
                    )))
                }
            },
        }
    }
    let bbox = match (bbox, bbox_crs) {
        (Some(b), Some(c)) if c != OgcCrs::CRS84 => Some(super::ogc_crs::bbox_in(b, c).await?),
        (Some(b), _) => Some(parse_bbox(&b)?),
        (None, _) => None,
    };
    let base = st.base_url(&headers);
    // The filter is compiled (PROJ for filter-crs) and the page selected on a blocking thread,
    // within a time budget, before the answer starts: a refused or slow filter is a status.
    let lc = l.clone();
    let (page, matched, only) = tokio::task::spawn_blocking(move || {
        let q = crate::filter::Queryables {
            columns: cols_of(&lc),
            geometry: lc.dataset.has_geometry(),
        };
        let plan = sel.compile(q)?;
        let deadline = std::time::Instant::now() + FILTER_BUDGET;
        let (page, matched) = select_page(&lc, bbox, &filters, &plan, limit, offset, deadline)?;
        Ok::<_, ApiError>((page, matched, plan.only))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("items selection: {e}")))??;
    // Streamed from a blocking thread as it is written (a page can be 10,000 features), not
    // built whole in memory; the thread stops when the client goes (see `datasets::stream`).
    let body = super::datasets::stream(false, move |w| {
        render_items(
            &l,
            &base,
            limit,
            offset,
            &page,
            matched,
            only.as_deref(),
            &passthrough,
            out_crs,
            w,
        )
    });
    Ok((
        [
            (header::CONTENT_TYPE, GEOJSON.to_string()),
            (header::CACHE_CONTROL, "public, max-age=60".to_string()),
            (super::ogc_crs::CONTENT_CRS, format!("<{}>", out_crs.uri())),
        ],
        body,
    )
        .into_response())
}

/// Time a filtered selection may take before it is refused (503).
const FILTER_BUDGET: std::time::Duration = std::time::Duration::from_secs(10);

/// The Part 3 parameters of an items request, as given.
#[derive(Default)]
struct Selection {
    filter: Option<String>,
    lang: Option<String>,
    crs: Option<String>,
    sortby: Option<String>,
    properties: Option<String>,
}

/// [`Selection`] checked against the collection.
struct Plan {
    filter: Option<crate::filter::Filter>,
    sort: Vec<crate::filter::SortKey>,
    only: Option<Vec<usize>>,
}

impl Selection {
    fn take(&mut self, k: &str, v: &str) -> ApiResult<()> {
        let slot = match k {
            "filter" => &mut self.filter,
            "filter-lang" => &mut self.lang,
            "filter-crs" => &mut self.crs,
            "sortby" => &mut self.sortby,
            _ => &mut self.properties,
        };
        if slot.is_some() {
            return Err(ApiError::BadRequest(format!("{k} is given twice")));
        }
        if k == "filter" && v.len() > crate::filter::MAX_FILTER_BYTES {
            return Err(crate::filter::FilterError::TooLong(v.len()).into());
        }
        *slot = Some(v.to_string());
        Ok(())
    }

    fn compile(self, q: crate::filter::Queryables<'_>) -> ApiResult<Plan> {
        use crate::filter::{self as flt, FilterCrs, Lang};
        let lang = self.lang.as_deref().map_or(Ok(Lang::Text), Lang::parse)?;
        let crs = self
            .crs
            .as_deref()
            .map_or(Ok(FilterCrs::CRS84), FilterCrs::parse)?;
        let filter = match self.filter {
            Some(t) => Some(flt::compile(&t, lang, crs, q)?),
            None => None,
        };
        let sort = match self.sortby {
            Some(s) => flt::parse_sortby(&s, q)?,
            None => Vec::new(),
        };
        let only = match self.properties {
            Some(p) => Some(flt::parse_properties(&p, q)?),
            None => None,
        };
        Ok(Plan { filter, sort, only })
    }
}

/// The page of feature indices and the number matched. Without a CQL2 filter or a sort this
/// is one pass that keeps only the page; otherwise every match is listed (4 bytes each).
fn select_page(
    l: &Layer,
    bbox: Option<[f64; 4]>,
    eqs: &[Filter],
    plan: &Plan,
    limit: usize,
    offset: usize,
    deadline: std::time::Instant,
) -> ApiResult<(Vec<u32>, usize)> {
    let cands = bbox.map(|b| in_bbox(l, b));
    let keep = |i: u32| {
        let f = &l.features[i as usize];
        eqs.iter().all(|e| e.matches(f))
    };
    if plan.filter.is_none() && plan.sort.is_empty() {
        let mut page = Vec::with_capacity(limit.min(1024));
        let mut matched = 0usize;
        let all: Box<dyn Iterator<Item = u32>> = match cands {
            Some(c) => Box::new(c.into_iter()),
            None => Box::new(0..l.features.len() as u32),
        };
        for i in all {
            if keep(i) {
                if matched >= offset && page.len() < limit {
                    page.push(i);
                }
                matched += 1;
            }
        }
        return Ok((page, matched));
    }
    let mut idx = match &plan.filter {
        Some(f) => f.select_until(l, cands.as_deref(), Some(deadline))?,
        None => cands.unwrap_or_else(|| (0..l.features.len() as u32).collect()),
    };
    if !eqs.is_empty() {
        idx.retain(|&i| keep(i));
    }
    if !plan.sort.is_empty() {
        crate::filter::sort(l, &mut idx, &plan.sort);
    }
    let matched = idx.len();
    let page = idx.into_iter().skip(offset).take(limit).collect();
    Ok((page, matched))
}

#[allow(clippy::too_many_arguments)]
fn render_items(
    l: &Layer,
    base: &str,
    limit: usize,
    offset: usize,
    page: &[u32],
    matched: usize,
    only: Option<&[usize]>,
    passthrough: &[(String, String)],
    out_crs: OgcCrs,
    out: &mut dyn std::io::Write,
) -> std::io::Result<()> {
    let d = collection_name(l);
    let page: Vec<&Feature> = page.iter().map(|&i| &l.features[i as usize]).collect();
    let qs = |off: usize| {
        let mut s = format!("limit={limit}&offset={off}");
        for (k, v) in passthrough {
            s.push('&');
            s.push_str(&super::encode_component(k));
            s.push('=');
            s.push_str(&super::encode_component(v));
        }
        s
    };
    let url = format!("{base}/ogc/collections/{d}/items");
    let mut links = vec![
        Link::new(
            format!("{url}?{}", qs(offset)),
            "self",
            GEOJSON,
            "This page",
        ),
        Link::new(
            format!("{base}/ogc/collections/{d}"),
            "collection",
            JSON,
            "The collection",
        ),
    ];
    if offset + page.len() < matched {
        links.push(Link::new(
            format!("{url}?{}", qs(offset + page.len())),
            "next",
            GEOJSON,
            "Next page",
        ));
    }
    if offset > 0 {
        links.push(Link::new(
            format!("{url}?{}", qs(offset.saturating_sub(limit))),
            "prev",
            GEOJSON,
            "Previous page",
        ));
    }
    let converted = super::ogc_crs::convert_page(&page, out_crs)?;
    out.write_all(b"{\"type\":\"FeatureCollection\",\"features\":[")?;
    let mut buf = Vec::with_capacity(4096);
    for (i, f) in page.iter().enumerate() {
        buf.clear();
        if i > 0 {
            buf.push(b',');
        }
        let g = converted.as_ref().and_then(|c| c.get(i));
        super::ogc_crs::write_feature(cols_of(l), f, g, only, &mut buf)?;
        out.write_all(&buf)?;
    }
    let tail = json!({
        "numberMatched": matched,
        "numberReturned": page.len(),
        "timeStamp": crate::admin::now_iso(),
        "links": links,
    });
    out.write_all(b"],")?;
    let t = tail.to_string();
    out.write_all(&t.as_bytes()[1..])
}

async fn item(
    State(st): State<Arc<AppState>>,
    Path((id, fid)): Path<(String, String)>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let l = layer_of(&st, &id)?;
    let ps = params(&q);
    check_params(&ps, &["crs"])?;
    let out_crs = match ps.iter().rev().find(|(k, _)| k == "crs") {
        Some((_, v)) => super::ogc_crs::parse_crs("crs", v)?,
        None => OgcCrs::CRS84,
    };
    let f = fid
        .parse::<i64>()
        .ok()
        .and_then(|n| l.by_fid(n))
        .ok_or_else(|| ApiError::NotFound(format!("collection {id} has no feature {fid}")))?;
    let b = st.base_url(&headers);
    let d = collection_name(&l);
    let mut out = Vec::with_capacity(1024);
    let converted = {
        let g = f.geom.clone();
        tokio::task::spawn_blocking(move || super::ogc_crs::convert(vec![g], out_crs))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
            .map_err(|e| ApiError::Internal(e.to_string()))?
    };
    let g = converted.as_ref().and_then(|c| c.first());
    super::ogc_crs::write_feature(cols_of(&l), f, g, None, &mut out)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    out.pop(); // the Feature's closing brace: links go inside it
    let links = [
        Link::new(
            format!("{b}/ogc/collections/{d}/items/{}", f.fid),
            "self",
            GEOJSON,
            "This feature",
        ),
        Link::new(
            format!("{b}/ogc/collections/{d}"),
            "collection",
            JSON,
            "The collection",
        ),
    ];
    out.extend_from_slice(b",\"links\":");
    serde_json::to_writer(&mut out, &links).map_err(|e| ApiError::Internal(e.to_string()))?;
    out.push(b'}');
    let mut resp = reply(GEOJSON, out, "public, max-age=60");
    super::ogc_crs::set_content_crs(&mut resp, out_crs);
    Ok(resp)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bbox_parsing() {
        assert_eq!(
            parse_bbox("133.8,34.5,134,34.7").unwrap(),
            [133.8, 34.5, 134.0, 34.7]
        );
        assert_eq!(parse_bbox("1,2,0,3,4,0").unwrap(), [1.0, 2.0, 3.0, 4.0]);
        for bad in ["", "1,2,3", "a,b,c,d", "0,10,1,5", "0,0,181,1", "NaN,0,1,1"] {
            assert!(parse_bbox(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn query_strings_round_trip() {
        let raw = Some("name=%E7%AC%AC%E4%B8%80+x&bbox=1,2,3,4&z=%ZZ".to_string());
        let p = params(&raw);
        assert_eq!(p[0], ("name".into(), "第一 x".into()));
        assert_eq!(p[1].1, "1,2,3,4");
        assert_eq!(p[2].1, "%ZZ");
        assert_eq!(
            params(&Some(format!(
                "q={}",
                super::super::encode_component("第一 x&y=1,2")
            )))[0]
                .1,
            "第一 x&y=1,2"
        );
        assert_eq!(super::super::encode_component("a b,c/d"), "a%20b,c%2Fd");
    }

    #[test]
    fn timestamps_are_iso() {
        let t = crate::admin::now_iso();
        assert_eq!(t.len(), 20, "{t}");
        assert!(t.starts_with("20") && t.ends_with('Z'));
    }
}
