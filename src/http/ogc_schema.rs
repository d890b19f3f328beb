//! OGC API – Features Part 5 (Schemas, a draft standard): `/ogc/collections/{id}/schema`, the
//! JSON Schema (2020-12) of a collection's features, built from the canonical columns of
//! `crate::dataset`, with the `x-ogc-role` of the feature id and the primary geometry.

use super::ogc::{check_params, layer_of, params, reply};
use super::ogc_status::{cols_of, STATUS};
use super::replies;
use super::route::{path_typed, Param, Route, Serve, Ty, ROUTE};
use super::{ApiResult, AppState};
use crate::dataset::{DatasetId, Kind, SqlType};
use crate::ogc::{JsonType, Link};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use axum::response::Response;
use axum::routing::get;
use serde_json::json;
use std::sync::Arc;

const SCHEMA_JSON: &str = "application/schema+json";

const COLLECTION: Param = path_typed(
    "collectionId",
    Ty::OneOf(&crate::dataset::DatasetId::NAMES),
    "Dataset id",
    "flood",
);

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[Route {
    path: "/ogc/collections/{collectionId}/schema",
    serve: Serve::Here(|| get(schema)),
    returns: Some(replies::json_schema),
    tag: "ogc",
    summary: "JSON Schema of the collection's features (OGC API – Features Part 5)",
    params: &[COLLECTION],
    produces: &[SCHEMA_JSON],
    errors: &[400, 404],
    ..ROUTE
}];

/// The links from a collection to its schema.
pub fn links(b: &str, id: &str) -> Vec<Link> {
    let href = format!("{b}/ogc/collections/{id}/schema");
    vec![
        Link::new(
            href.clone(),
            "describedby",
            SCHEMA_JSON,
            "Schema of the features (JSON Schema)",
        ),
        Link::new(
            href,
            "http://www.opengis.net/def/rel/ogc/1.0/schema",
            SCHEMA_JSON,
            "Schema of the features (JSON Schema)",
        ),
    ]
}

/// The Part 5 `format` of a dataset's geometry.
fn geometry_format(d: DatasetId) -> &'static str {
    match d.kind() {
        Kind::Ward | Kind::Hazard => "geometry-polygon-or-multipolygon",
        Kind::Road => "geometry-linestring-or-multilinestring",
        Kind::Shelter | Kind::Address => "geometry-point",
        Kind::Stockpile => "geometry-any",
    }
}

async fn schema(
    State(st): State<Arc<AppState>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> ApiResult<Response> {
    let l = layer_of(&st, &id)?;
    check_params(&params(&q), &[])?;
    let b = st.base_url(&headers);
    let mut props = serde_json::Map::new();
    // The GeoJSON `id` member; named fid because shelters have an `id` column of their own.
    props.insert(
        "fid".into(),
        json!({
            "x-ogc-role": "id",
            "type": "integer",
            "readOnly": true,
            "title": "fid",
            "description": "Stable feature id (the GeoJSON id member); kept across versions \
                            for the same natural key",
        }),
    );
    let status = id == STATUS;
    if status || l.dataset.has_geometry() {
        props.insert(
            "geometry".into(),
            json!({
                "x-ogc-role": "primary-geometry",
                "format": if status { "geometry-point" } else { geometry_format(l.dataset) },
                "description": "Geometry, JGD2011 longitude/latitude (CRS84 unless crs= asks \
                                for another)",
            }),
        );
    }
    for c in cols_of(&l) {
        let mut p = json!({"title": c.name, "description": c.doc, "type": JsonType::of(c.ty)});
        if c.ty == SqlType::Date {
            p["format"] = json!("date");
        }
        props.insert(c.name.to_string(), p);
    }
    let title = if status {
        "Shelter status".to_string()
    } else {
        format!("{} / {}", l.dataset.title_ja(), l.dataset.title_en())
    };
    let doc = json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": format!("{b}/ogc/collections/{id}/schema"),
        "type": "object",
        "title": title,
        "description": "The features of this collection: every property of the GeoJSON \
                        features, with the feature id and the geometry.",
        "properties": props,
    });
    Ok(reply(
        SCHEMA_JSON,
        doc.to_string().into_bytes(),
        "public, max-age=60",
    ))
}
