//! The `shelter_status` collection of OGC API – Features: the live status board that staff
//! set in the console (開設 / 満員 / 閉鎖, evacuees), served as a small layer built on each
//! request from the board and the published shelters, with columns of its own.

use super::ogc::{collection_doc, GEOJSON};
use super::{ApiError, ApiResult, AppState};
use crate::dataset::{Column, DatasetId, SqlType, Val};
use crate::index::{Feature, Layer};
use crate::ogc::{Collection, Link};

/// The collection of live shelter status (開設 / 満員 / 閉鎖) set in the staff console: one
/// feature per shelter with a status, at the shelter's point, id = the shelter's fid.
pub const STATUS: &str = "shelter_status";

/// Marks a layer built from the status board (its `source_names`), so links name the
/// `shelter_status` collection rather than `shelters`.
const STATUS_SOURCE: &str = "shelter_status";

/// The columns of a layer: the status board's for the `shelter_status` collection.
pub(super) fn cols_of(l: &Layer) -> &'static [Column] {
    if l.source_names == STATUS_SOURCE {
        STATUS_COLUMNS
    } else {
        l.columns()
    }
}

/// The collection id of a layer's links.
pub(super) fn collection_name(l: &Layer) -> String {
    if l.source_names == STATUS_SOURCE {
        STATUS.to_string()
    } else {
        l.dataset.to_string()
    }
}

/// Columns of the status collection.
pub const STATUS_COLUMNS: &[Column] = &[
    Column {
        name: "id",
        ty: SqlType::Text,
        doc: "ID of the shelter (03 layout)",
    },
    Column {
        name: "name",
        ty: SqlType::Text,
        doc: "名称",
    },
    Column {
        name: "status",
        ty: SqlType::Text,
        doc: "open | full | closed",
    },
    Column {
        name: "status_ja",
        ty: SqlType::Text,
        doc: "開設 | 満員 | 閉鎖",
    },
    Column {
        name: "evacuees",
        ty: SqlType::Int,
        doc: "Evacuees in the shelter now",
    },
    Column {
        name: "capacity",
        ty: SqlType::Int,
        doc: "想定収容人数",
    },
    Column {
        name: "updated_at",
        ty: SqlType::Text,
        doc: "When the status was set (UTC)",
    },
];

/// The current status board as a layer (small: one feature per shelter with a status).
pub(super) fn status_layer(st: &AppState) -> ApiResult<Layer> {
    let snap = st.snapshot.load_full();
    let sh = snap
        .layer(DatasetId::Shelters)
        .ok_or_else(|| ApiError::NotFound("shelters has no published version".into()))?;
    let (rows, updated) = crate::admin::status::public(&snap, &st.admin.status);
    let features = rows
        .into_iter()
        .map(|r| {
            let point = r.lon.zip(r.lat);
            Feature {
                fid: r.fid,
                values: vec![
                    Val::opt_text(r.id),
                    Val::opt_text(r.name),
                    Val::text(r.status.as_str()),
                    Val::text(r.status_ja),
                    r.evacuees.map_or(Val::Null, |n| Val::Int(i64::from(n))),
                    r.capacity.map_or(Val::Null, Val::Int),
                    Val::text(r.updated_at),
                ]
                .into(),
                geom: point.map(|(x, y)| geo::Geometry::Point(geo::Point::new(x, y))),
                bbox: point.map(|(x, y)| [x, y, x, y]),
                label: point.map(|(x, y)| [x, y]),
            }
        })
        .collect::<Vec<_>>();
    let entries = features
        .iter()
        .enumerate()
        .filter_map(|(i, f)| {
            f.bbox.map(|b| {
                rstar::primitives::GeomWithData::new(
                    rstar::primitives::Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
                    i as u32,
                )
            })
        })
        .collect();
    Ok(Layer {
        dataset: DatasetId::Shelters,
        version: sh.version,
        published_at: updated,
        created_at: String::new(),
        source_names: STATUS_SOURCE.into(),
        source_sha256: String::new(),
        features,
        tree: rstar::RTree::bulk_load(entries),
        bbox: sh.bbox,
        tileset: Default::default(),
    })
}

/// The collection of live shelter status, over the published shelters' box.
pub(super) fn status_collection(b: &str, shelters: &Layer) -> Collection {
    let csv = Link::new(
        format!("{b}/api/shelter-status.csv"),
        "enclosure",
        "text/csv",
        "As CSV",
    );
    let geojson = Link::new(
        format!("{b}/api/shelter-status.geojson"),
        "enclosure",
        GEOJSON,
        "As GeoJSON",
    );
    collection_doc(
        b,
        STATUS,
        "避難所の開設状況 / Shelter status".into(),
        "Live status (open / full / closed, evacuees) of shelters, set by city staff on a \
         disaster day; one feature per shelter with a status."
            .into(),
        vec![csv, geojson],
        shelters.bbox,
    )
}
