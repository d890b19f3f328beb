//! The dataset catalog, in the three forms its readers need, as plain functions of one model
//! (no HTTP here: `http::catalog` turns requests into calls):
//!
//! - an HTML page for people (Japanese by default, English on request) with the licence,
//!   publisher, last update, record count, formats, links and download counts of every
//!   published dataset (its template is `crate::views::catalog`; the texts are here, in
//!   [`title`], [`description`] …);
//! - DCAT (v3 terms) as JSON-LD, for DCAT harvesters ([`dcat`]);
//! - the read-only subset of the CKAN Action API that portals harvest from, with CKAN's
//!   envelope and CKAN's error shapes ([`run_action`]; its `package_search` query engine in
//!   `query`).
//!
//! The model ([`Catalog`], [`Entry`], [`Resource`]) is built from the published [`Snapshot`] by
//! [`build_catalog`]; every output is a plain function of it, so it can be tested without a
//! server.

mod ckan;
mod dates;
mod dcat;
mod query;
mod texts;

pub use ckan::*;
pub use dates::*;
pub use dcat::*;
pub use query::*;
pub use texts::*;

use crate::dataset::DatasetId;
use crate::export::{Digest, Format};
use crate::index::{Layer, Snapshot};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Who publishes the catalog and under which licence (from the server's settings).
#[derive(Debug, Clone, Default)]
pub struct Publisher {
    /// The publisher's name (the city).
    pub name: String,
    /// 全国地方公共団体コード of the city.
    pub city_code: String,
    /// Licence id (e.g. `CC-BY-4.0`).
    pub license_id: String,
}

// ---------------------------------------------------------------------------------------------
// Model
// ---------------------------------------------------------------------------------------------

/// The licence of the published data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct License {
    /// CKAN licence id as configured (`cc-by-4.0`).
    pub id: String,
    /// Name in Japanese.
    pub title_ja: String,
    /// Name in English (also CKAN's `license_title`).
    pub title_en: String,
    /// Canonical URL of the licence text, when known.
    pub url: Option<String>,
    /// True for an open licence (CKAN `isopen`).
    pub open: bool,
}

/// The licence for a configured CKAN licence id (case-insensitive). Unknown ids keep their
/// id as the name; an id that is itself an http(s) URL is used as the URL.
pub fn license(id: &str) -> License {
    let known: Option<(&str, &str, &str)> = match id.to_ascii_lowercase().as_str() {
        "cc-by-4.0" | "cc-by" | "cc_by_4.0" | "cc by 4.0" => Some((
            "クリエイティブ・コモンズ 表示 4.0 国際（CC BY 4.0）",
            "Creative Commons Attribution 4.0 International (CC BY 4.0)",
            "https://creativecommons.org/licenses/by/4.0/",
        )),
        "cc-by-sa-4.0" | "cc-by-sa" => Some((
            "クリエイティブ・コモンズ 表示-継承 4.0 国際（CC BY-SA 4.0）",
            "Creative Commons Attribution-ShareAlike 4.0 International (CC BY-SA 4.0)",
            "https://creativecommons.org/licenses/by-sa/4.0/",
        )),
        "cc-zero" | "cc0-1.0" | "cc0" => Some((
            "CC0 1.0 全世界 パブリック・ドメイン提供",
            "CC0 1.0 Universal Public Domain Dedication",
            "https://creativecommons.org/publicdomain/zero/1.0/",
        )),
        "odc-by" => Some((
            "Open Data Commons 帰属表示ライセンス",
            "Open Data Commons Attribution License",
            "https://opendatacommons.org/licenses/by/1-0/",
        )),
        "odc-odbl" => Some((
            "Open Data Commons Open Database License (ODbL)",
            "Open Data Commons Open Database License (ODbL)",
            "https://opendatacommons.org/licenses/odbl/1-0/",
        )),
        _ => None,
    };
    match known {
        Some((ja, en, url)) => License {
            id: id.to_string(),
            title_ja: ja.into(),
            title_en: en.into(),
            url: Some(url.into()),
            open: true,
        },
        None => {
            let is_url = id.starts_with("https://") || id.starts_with("http://");
            License {
                id: id.to_string(),
                title_ja: id.to_string(),
                title_en: id.to_string(),
                url: is_url.then(|| id.to_string()),
                open: false,
            }
        }
    }
}

/// How a dataset can be obtained: a CKAN resource, a DCAT distribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceKind {
    /// `/datasets/{id}.csv`.
    Csv,
    /// `/datasets/{id}.geojson`.
    GeoJson,
    /// `/ogc/collections/{id}/items`.
    Ogc,
    /// `/tiles/{id}.json`.
    TileJson,
}

impl ResourceKind {
    /// Key in the download counts and in resource ids (`shelters-csv`).
    pub fn key(self) -> &'static str {
        match self {
            ResourceKind::Csv => "csv",
            ResourceKind::GeoJson => "geojson",
            ResourceKind::Ogc => "ogc",
            ResourceKind::TileJson => "tilejson",
        }
    }
    /// CKAN `format`.
    pub fn format(self) -> &'static str {
        match self {
            ResourceKind::Csv => "CSV",
            ResourceKind::GeoJson => "GeoJSON",
            ResourceKind::Ogc => "OGC API Features",
            ResourceKind::TileJson => "TileJSON",
        }
    }
    /// Media type of what the URL answers.
    pub fn media_type(self) -> &'static str {
        match self {
            ResourceKind::Csv => "text/csv",
            ResourceKind::GeoJson | ResourceKind::Ogc => "application/geo+json",
            ResourceKind::TileJson => "application/json",
        }
    }
    /// True for a whole-file download (size and checksum known).
    pub fn is_download(self) -> bool {
        matches!(self, ResourceKind::Csv | ResourceKind::GeoJson)
    }
    fn export_format(self) -> Option<Format> {
        match self {
            ResourceKind::Csv => Some(Format::Csv),
            ResourceKind::GeoJson => Some(Format::GeoJson),
            _ => None,
        }
    }
    /// What the resource is, in `lang`.
    pub fn description(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (ResourceKind::Csv, Lang::Ja) => {
                "全件のCSV（UTF-8 BOM付き、CRLF）。?encoding=cp932 でShift_JISも取得できます。"
            }
            (ResourceKind::Csv, Lang::En) => {
                "All records as CSV (UTF-8 with BOM, CRLF); add ?encoding=cp932 for Shift_JIS."
            }
            (ResourceKind::GeoJson, Lang::Ja) => "全件のGeoJSON（RFC 7946、経度・緯度 JGD2011）。",
            (ResourceKind::GeoJson, Lang::En) => {
                "All features as GeoJSON (RFC 7946, JGD2011 longitude/latitude)."
            }
            (ResourceKind::Ogc, Lang::Ja) => {
                "OGC API – Features による検索・ページ分割（bbox、limit、offset）。QGISやGDALから読めます。"
            }
            (ResourceKind::Ogc, Lang::En) => {
                "OGC API – Features with bbox filter and paging; readable by QGIS and GDAL."
            }
            (ResourceKind::TileJson, Lang::Ja) => {
                "ベクトルタイル（MVT）のTileJSON。地図アプリで重ねて表示できます。"
            }
            (ResourceKind::TileJson, Lang::En) => {
                "TileJSON of the vector tiles (MVT), for web maps."
            }
        }
    }
    /// The formats a dataset is offered in.
    pub fn of(d: DatasetId) -> &'static [ResourceKind] {
        if d.has_geometry() {
            &[
                ResourceKind::Csv,
                ResourceKind::GeoJson,
                ResourceKind::Ogc,
                ResourceKind::TileJson,
            ]
        } else {
            &[ResourceKind::Csv, ResourceKind::Ogc]
        }
    }
}

/// One resource of a dataset.
#[derive(Debug, Clone)]
pub struct Resource {
    /// What it is.
    pub kind: ResourceKind,
    /// Absolute URL.
    pub url: String,
    /// Size and SHA-256 of the bytes, for downloads.
    pub digest: Option<Digest>,
    /// Times it was downloaded (catalog KPI).
    pub downloads: u64,
}

/// Everything the catalog says about one published dataset.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The dataset.
    pub dataset: DatasetId,
    /// Published version.
    pub version: i64,
    /// When the published version was created (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub created: String,
    /// When it was published (UTC, `YYYY-MM-DDTHH:MM:SSZ`).
    pub modified: String,
    /// Number of records.
    pub records: usize,
    /// Extent `[minx, miny, maxx, maxy]` (lon/lat), when the dataset has geometry.
    pub bbox: Option<[f64; 4]>,
    /// Resources in catalog order.
    pub resources: Vec<Resource>,
}

impl Entry {
    /// Downloads over all formats.
    pub fn downloads(&self) -> u64 {
        self.resources.iter().map(|r| r.downloads).sum()
    }
}

/// The catalog at one moment.
#[derive(Debug, Clone)]
pub struct Catalog {
    /// Base URL of links (no trailing slash).
    pub base: String,
    /// Publisher name.
    pub publisher: String,
    /// 全国地方公共団体コード of the city.
    pub city_code: String,
    /// Licence of every dataset.
    pub license: License,
    /// Published datasets in catalog order ([`DatasetId::ALL`]).
    pub entries: Vec<Entry>,
    /// Downloads counted under formats that have no resource (e.g. `ogc` page views), by dataset.
    pub other_downloads: BTreeMap<DatasetId, u64>,
}

impl Catalog {
    /// The entry of a dataset by its id/name.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.dataset.as_str() == name)
    }
    /// CKAN organisation name (and id): the city code as a CKAN-safe slug.
    pub fn org_name(&self) -> String {
        slug(&self.city_code).unwrap_or_else(|| "city".into())
    }
    /// Catalog title.
    pub fn title(&self, lang: Lang) -> String {
        match lang {
            Lang::Ja => format!("{} オープンデータカタログ", self.publisher),
            Lang::En => format!("{} Open Data Catalog", self.publisher),
        }
    }
    /// Latest publish of any dataset.
    pub fn modified(&self) -> Option<&str> {
        self.entries.iter().map(|e| e.modified.as_str()).max()
    }
}

fn slug(s: &str) -> Option<String> {
    let out: String = s
        .to_ascii_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect();
    (out.len() >= 2).then_some(out)
}

/// The catalog entry of one published layer.
pub fn entry(
    layer: &Arc<Layer>,
    base: &str,
    counts: &BTreeMap<String, u64>,
    digest: &dyn Fn(&Arc<Layer>, Format) -> Option<Digest>,
) -> Entry {
    let d = layer.dataset;
    let resources = ResourceKind::of(d)
        .iter()
        .map(|&kind| Resource {
            kind,
            url: resource_url(base, d, kind),
            digest: kind.export_format().and_then(|f| digest(layer, f)),
            downloads: counts.get(kind.key()).copied().unwrap_or(0),
        })
        .collect();
    Entry {
        dataset: d,
        version: layer.version,
        created: layer.created_at.clone(),
        modified: layer.published_at.clone(),
        records: layer.features.len(),
        bbox: if d.has_geometry() { layer.bbox } else { None },
        resources,
    }
}

fn resource_url(base: &str, d: DatasetId, kind: ResourceKind) -> String {
    match kind {
        ResourceKind::Csv => format!("{base}/datasets/{d}.csv"),
        ResourceKind::GeoJson => format!("{base}/datasets/{d}.geojson"),
        ResourceKind::Ogc => format!("{base}/ogc/collections/{d}/items"),
        ResourceKind::TileJson => format!("{base}/tiles/{d}.json"),
    }
}

/// Build the catalog of every published layer of `snap`.
pub fn build_catalog(
    snap: &Snapshot,
    publisher: &Publisher,
    base: &str,
    counts: &dyn Fn(DatasetId) -> BTreeMap<String, u64>,
    digest: &dyn Fn(&Arc<Layer>, Format) -> Option<Digest>,
) -> Catalog {
    let mut entries = Vec::new();
    let mut other_downloads = BTreeMap::new();
    for d in DatasetId::ALL {
        let Some(layer) = snap.layer(d) else { continue };
        let c = counts(d);
        let known: Vec<&str> = ResourceKind::of(d).iter().map(|k| k.key()).collect();
        let other: u64 = c
            .iter()
            .filter(|(k, _)| !known.contains(&k.as_str()))
            .map(|(_, v)| *v)
            .sum();
        if other > 0 {
            other_downloads.insert(d, other);
        }
        entries.push(entry(layer, base, &c, digest));
    }
    Catalog {
        base: base.to_string(),
        publisher: publisher.name.clone(),
        city_code: publisher.city_code.clone(),
        license: license(&publisher.license_id),
        entries,
        other_downloads,
    }
}

/// Start hashing a newly published layer's downloads in the background (the server calls this
/// when it swaps a version in), so catalog requests rarely wait at all.
pub fn warm_digests(layer: &Arc<Layer>) {
    for f in ResourceKind::of(layer.dataset)
        .iter()
        .filter_map(|k| k.export_format())
    {
        let _ = crate::export::digest_within(layer, f, std::time::Duration::ZERO);
    }
}

#[cfg(test)]
mod tests;
