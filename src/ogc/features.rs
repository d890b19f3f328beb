//! The collection documents of OGC API – Features Part 1 (`/ogc/collections` and
//! `/ogc/collections/{collectionId}`), with the `crs` and `storageCrs` members of Part 2.

use super::Link;
use crate::crs::CRS84_URI;
use schemars::JsonSchema;
use serde::Serialize;

/// `/ogc/collections`: every collection offered (Part 1, `collections`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Collections {
    /// The published datasets, then the live shelter status.
    pub collections: Vec<Collection>,
    /// This document.
    pub links: Vec<Link>,
}

/// One collection of features (Part 1, `collectionInfo`; Part 2's CRS members).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Collection {
    /// Every CRS a client may ask for with `crs=` (OGC URIs), CRS84 first.
    pub crs: Vec<String>,
    /// What the collection holds, with its version and publication time.
    pub description: String,
    /// Where the features lie; absent while the collection has no geometry to bound.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extent: Option<Extent>,
    /// The collection id of the URLs.
    pub id: String,
    /// What the items are.
    pub item_type: ItemType,
    /// Items, queryables, schema, downloads and tiles.
    pub links: Vec<Link>,
    /// The CRS the features are stored in.
    pub storage_crs: String,
    /// Japanese / English title.
    pub title: String,
}

/// What the items of a collection are: features (the standard's other value, `record`, is
/// for catalogues, which we do not serve this way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ItemType {
    /// GeoJSON features.
    Feature,
}

/// The extent of a collection (Part 1, `extent`): spatial only, no collection having a
/// temporal one.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Extent {
    /// The bounding box.
    pub spatial: SpatialExtent,
}

/// The spatial extent of a collection.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SpatialExtent {
    /// One box, `[minLon, minLat, maxLon, maxLat]`.
    pub bbox: Vec<[f64; 4]>,
    /// The CRS of `bbox`: CRS84.
    pub crs: String,
}

impl Extent {
    /// The extent of a lon/lat box (`[west, south, east, north]`, JGD2011, read as CRS84).
    pub fn crs84(bbox: [f64; 4]) -> Extent {
        Extent {
            spatial: SpatialExtent {
                bbox: vec![bbox],
                crs: CRS84_URI.to_string(),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_collection_is_a_feature_collection_with_its_extent_and_crs() {
        let c = Collection {
            crs: vec![CRS84_URI.into()],
            description: "d".into(),
            extent: Some(Extent::crs84([133.5, 34.5, 134.0, 35.0])),
            id: "flood".into(),
            item_type: ItemType::Feature,
            links: vec![Link::new(
                "u",
                "self",
                "application/json",
                "This collection",
            )],
            storage_crs: CRS84_URI.into(),
            title: "t".into(),
        };
        let v = serde_json::to_value(&c).unwrap();
        assert_eq!(v["itemType"], "feature");
        assert_eq!(v["storageCrs"], CRS84_URI);
        assert_eq!(
            v["extent"],
            json!({"spatial": {"bbox": [[133.5, 34.5, 134.0, 35.0]], "crs": CRS84_URI}})
        );
        // Keys in the order of a sorted map, as these documents always had them.
        let s = serde_json::to_string(&c).unwrap();
        assert_eq!(s, serde_json::to_string(&v).unwrap());
        let without = Collection { extent: None, ..c };
        assert!(serde_json::to_value(&without)
            .unwrap()
            .get("extent")
            .is_none());
    }
}
