//! The dataset catalog, in the three forms its readers need:
//!
//! - `/catalog`: an HTML page for people (Japanese by default, `?lang=en` for English) with the
//!   licence, publisher, last update, record count, formats, links and download counts of every
//!   published dataset;
//! - `/catalog.jsonld`: DCAT (v3 terms) as JSON-LD, for DCAT harvesters;
//! - `/api/3/action/*` (and `/api/action/*`, which `ckanapi` calls): the read-only subset of the
//!   CKAN Action API that portals harvest from, with CKAN's envelope and CKAN's error shapes.
//!
//! The model ([`Catalog`], [`Entry`], [`Resource`]) is built from the published [`Snapshot`] by
//! [`build_catalog`]; every output is a plain function of it ([`package`], [`search`], [`dcat`],
//! [`html`]) so it can be tested without a server.

use super::openapi::{In, Param, RouteDoc};
use super::{ApiError, AppState, ServeConfig};
use crate::dataset::DatasetId;
use crate::export::{Digest, Format};
use crate::index::{Layer, Snapshot};
use axum::body::Bytes;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::Arc;

// ---------------------------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------------------------

const fn q(
    name: &'static str,
    ty: &'static str,
    required: bool,
    doc: &'static str,
    example: &'static str,
) -> Param {
    Param {
        name,
        at: In::Query,
        required,
        ty,
        doc,
        example,
    }
}

const ACTION: Param = Param {
    name: "action",
    at: In::Path,
    required: true,
    ty: "string",
    doc: "A CKAN action: package_list, package_show, package_search, \
          current_package_list_with_resources, organization_list, organization_show, \
          license_list, status_show, help_show",
    example: "package_list",
};

const CKAN_JSON: &[&str] = &["application/json"];

/// Documented routes (see `openapi`). CKAN errors use CKAN's envelope, not the usual shape.
pub const ROUTES: &[RouteDoc] = &[
    RouteDoc {
        method: "get",
        path: "/catalog",
        tag: "catalog",
        summary: "The dataset catalog as an HTML page (Japanese; ?lang=en for English)",
        params: &[q("lang", "string", false, "ja (default) or en", "en")],
        produces: &["text/html"],
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/catalog.jsonld",
        tag: "catalog",
        summary: "The catalog as DCAT (v3 terms) in JSON-LD",
        params: &[],
        produces: &["application/ld+json"],
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/3",
        tag: "catalog",
        summary: "CKAN API version probe: {\"version\": 3}",
        params: &[],
        produces: CKAN_JSON,
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/package_list",
        tag: "catalog",
        summary: "CKAN: names of the published datasets",
        params: &[
            q("limit", "integer", false, "At most this many names", "10"),
            q("offset", "integer", false, "Skip this many names", "0"),
        ],
        produces: CKAN_JSON,
        errors: &[409],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/package_show",
        tag: "catalog",
        summary: "CKAN: one dataset with its resources (404 in CKAN's envelope when unknown)",
        params: &[q("id", "string", true, "Dataset id or name", "shelters")],
        produces: CKAN_JSON,
        errors: &[404, 409],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/package_search",
        tag: "catalog",
        summary:
            "CKAN: search datasets (q over title/notes/tags, fq filters, rows ≤ 1000, start, sort)",
        params: &[
            q(
                "q",
                "string",
                false,
                "Free text over titles, descriptions and tags",
                "避難",
            ),
            q(
                "fq",
                "string",
                false,
                "Filters: tags:…, res_format:…, organization:…, name:…, license_id:…, \
                 metadata_modified:[FROM TO TO]; -field:… excludes",
                "tags:自治体標準ODS",
            ),
            q(
                "rows",
                "integer",
                false,
                "Page size, default 10, capped at 1000",
                "10",
            ),
            q("start", "integer", false, "Offset of the first result", "0"),
            q(
                "sort",
                "string",
                false,
                "score, name, title_string, metadata_modified, metadata_created or id, \
                 with asc/desc",
                "name asc",
            ),
            q(
                "facet.field",
                "string",
                false,
                "JSON list: tags, res_format, organization, license_id",
                "[\"tags\"]",
            ),
        ],
        produces: CKAN_JSON,
        errors: &[409],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/current_package_list_with_resources",
        tag: "catalog",
        summary: "CKAN: datasets with resources, most recently modified first",
        params: &[
            q("limit", "integer", false, "Page size, default 10", "10"),
            q("offset", "integer", false, "Offset", "0"),
        ],
        produces: CKAN_JSON,
        errors: &[409],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/organization_list",
        tag: "catalog",
        summary: "CKAN: the publishing organisation (names, or dicts with all_fields=true)",
        params: &[q(
            "all_fields",
            "boolean",
            false,
            "Full dictionaries instead of names",
            "true",
        )],
        produces: CKAN_JSON,
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/organization_show",
        tag: "catalog",
        summary: "CKAN: the publishing organisation",
        params: &[q("id", "string", true, "Organisation name or id", "339997")],
        produces: CKAN_JSON,
        errors: &[404, 409],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/license_list",
        tag: "catalog",
        summary: "CKAN: the licence the data is published under",
        params: &[],
        produces: CKAN_JSON,
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/status_show",
        tag: "catalog",
        summary: "CKAN: site title, URL and API compatibility",
        params: &[],
        produces: CKAN_JSON,
        errors: &[],
    },
    RouteDoc {
        method: "get",
        path: "/api/3/action/help_show",
        tag: "catalog",
        summary: "CKAN: what an action does",
        params: &[q("name", "string", true, "Action name", "package_search")],
        produces: CKAN_JSON,
        errors: &[404, 409],
    },
    RouteDoc {
        method: "post",
        path: "/api/3/action/{action}",
        tag: "catalog",
        summary: "CKAN: any action above with its parameters as a JSON object body",
        params: &[ACTION],
        produces: CKAN_JSON,
        errors: &[400, 404, 409],
    },
    RouteDoc {
        method: "get",
        path: "/api/action/{action}",
        tag: "catalog",
        summary: "CKAN: the same actions without the version segment (as ckanapi calls them)",
        params: &[ACTION],
        produces: CKAN_JSON,
        errors: &[400, 404, 409],
    },
    RouteDoc {
        method: "post",
        path: "/api/action/{action}",
        tag: "catalog",
        summary: "CKAN: POST form of /api/action/{action} (ckanapi's default)",
        params: &[ACTION],
        produces: CKAN_JSON,
        errors: &[400, 404, 409],
    },
];

/// Routes of this module.
pub fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/catalog", get(get_html))
        .route("/catalog.jsonld", get(get_jsonld))
        .route("/api/3", get(get_api_version))
        .route("/api/3/action/{action}", get(ckan_action).post(ckan_action))
        .route("/api/action/{action}", get(ckan_action).post(ckan_action))
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
    layer: &Layer,
    base: &str,
    counts: &BTreeMap<String, u64>,
    digest: &dyn Fn(&Layer, Format) -> Digest,
) -> Entry {
    let d = layer.dataset;
    let resources = ResourceKind::of(d)
        .iter()
        .map(|&kind| Resource {
            kind,
            url: resource_url(base, d, kind),
            digest: kind.export_format().map(|f| digest(layer, f)),
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
    config: &ServeConfig,
    base: &str,
    counts: &dyn Fn(DatasetId) -> BTreeMap<String, u64>,
    digest: &dyn Fn(&Layer, Format) -> Digest,
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
        publisher: config.publisher.clone(),
        city_code: config.city_code.clone(),
        license: license(&config.license_id),
        entries,
        other_downloads,
    }
}

/// A language of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Japanese (default).
    Ja,
    /// English.
    En,
}

impl Lang {
    /// From `?lang=`: `en…` is English, anything else Japanese.
    pub fn parse(s: Option<&str>) -> Lang {
        match s {
            Some(v) if v.to_ascii_lowercase().starts_with("en") => Lang::En,
            _ => Lang::Ja,
        }
    }
    /// BCP 47 tag.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }
}

/// Dataset title in `lang`.
pub fn title(d: DatasetId, lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => d.title_ja(),
        Lang::En => d.title_en(),
    }
}

/// What a dataset holds, for people deciding whether to use it.
pub fn description(d: DatasetId, lang: Lang) -> &'static str {
    match (d, lang) {
        (DatasetId::Wards, Lang::Ja) => {
            "市内の町丁・字の区域（ポリゴン）です。町丁・字コード、名称、読み、国勢調査の人口・世帯数（元データにある場合）を含みます。\
             e-Stat 小地域境界または国土数値情報 行政区域から作成しています。"
        }
        (DatasetId::Wards, Lang::En) => {
            "Boundaries of the city's towns and blocks (町丁・字) as polygons, with area code, name, \
             reading and, where the source has them, census population and households. Made from \
             e-Stat small-area boundaries or the National Land Numerical Information boundaries."
        }
        (DatasetId::Flood, Lang::Ja) => {
            "河川が氾濫した場合に浸水が想定される区域と浸水深のランク（洪水浸水想定区域）です。\
             想定最大規模・計画規模の別と河川名を含みます。国土数値情報 A31a 等の形式から作成しています。"
        }
        (DatasetId::InlandFlood, Lang::Ja) => {
            "大雨が下水道や水路で排水しきれずにあふれた場合（内水氾濫）に浸水が想定される区域と浸水深です。\
             河川の氾濫（洪水浸水想定区域）とは別のハザードで、指定緊急避難場所は内水氾濫について別に指定されます。"
        }
        (DatasetId::InlandFlood, Lang::En) => {
            "Areas expected to flood when heavy rain overwhelms sewers and drains (inland flooding, \
             内水氾濫), with the depth band. A hazard of its own, distinct from rivers overflowing: \
             emergency evacuation sites are designated for it separately."
        }
        (DatasetId::Flood, Lang::En) => {
            "Areas expected to flood when rivers overflow, with the depth band (flood inundation \
             zones), the scenario (maximum assumed or planned scale) and the river. Made from \
             National Land Numerical Information A31a and similar layouts."
        }
        (DatasetId::Landslide, Lang::Ja) => {
            "土砂災害警戒区域・土砂災害特別警戒区域です。現象の種類（急傾斜地の崩壊・土石流・地滑り）と区域区分を含みます。\
             国土数値情報 A33 の形式から作成しています。"
        }
        (DatasetId::Landslide, Lang::En) => {
            "Landslide hazard zones and special hazard zones, with the phenomenon (steep slope \
             failure, debris flow, landslide) and zone class. Made from National Land Numerical \
             Information A33."
        }
        (DatasetId::Tsunami, Lang::Ja) => {
            "最大クラスの津波が発生した場合に浸水が想定される区域と浸水深です（津波浸水想定）。\
             国土数値情報 A40 の形式から作成しています。"
        }
        (DatasetId::Tsunami, Lang::En) => {
            "Areas and depths expected to flood in a maximum-class tsunami (tsunami inundation \
             assumption). Made from National Land Numerical Information A40."
        }
        (DatasetId::StormSurge, Lang::Ja) => {
            "想定し得る最大規模の高潮で浸水が想定される区域と浸水深です（高潮浸水想定区域）。\
             国土数値情報 A49 の形式から作成しています。"
        }
        (DatasetId::StormSurge, Lang::En) => {
            "Areas and depths expected to flood in the largest assumed storm surge (storm surge \
             inundation zones). Made from National Land Numerical Information A49."
        }
        (DatasetId::Roads, Lang::Ja) => {
            "市が管理する市道の道路台帳です。路線番号、路線名、道路種別（1級・2級・その他）、起点・終点、\
             実延長、幅員、認定年月日と路線の形状（ライン）を含みます。"
        }
        (DatasetId::Roads, Lang::En) => {
            "The road ledger of municipal roads: route number and name, road class (class 1, \
             class 2, other), start and end points, recorded length, width, date of \
             certification, and the route lines."
        }
        (DatasetId::Shelters, Lang::Ja) => {
            "災害時の指定緊急避難場所・指定避難所の一覧です。名称、所在地、緯度経度、対応する災害の種別\
             （洪水・崖崩れ等・高潮・地震・津波・大規模な火事・内水氾濫・火山現象）、想定収容人数を含みます。\
             CSVは自治体標準オープンデータセット「指定緊急避難場所一覧」の項目と順序に従い、\
             国土地理院の指定避難所データとも照合しています。"
        }
        (DatasetId::Shelters, Lang::En) => {
            "Designated emergency evacuation sites and designated shelters, with name, address, \
             coordinates, the hazards each site is designated for (flood, landslide, storm surge, \
             earthquake, tsunami, large fire, inland flooding, volcano) and capacity. The CSV \
             follows the columns and order of the national Municipal Standard Open Dataset \
             \"Designated emergency evacuation sites\" (03); shelters are matched with GSI's \
             designated-shelter data."
        }
        (DatasetId::Addresses, Lang::Ja) => {
            "住所の代表点です（アドレス・ベース・レジストリの町字・住居表示の街区と住居・地番とその位置参照）。\
             都道府県・市区町村・町字の名称と読み、街区符号・住居番号・地番、全国地方公共団体コード・町字IDと経緯度（JGD2011）を含みます。\
             地図の住所検索に使います。"
        }
        (DatasetId::Addresses, Lang::En) => {
            "Address points from the Address Base Registry (町字, residence-indication blocks and \
             residences, parcels, with their position files): names and readings of the \
             prefecture, city and district, block, residence and parcel numbers, local government \
             code, 町字ID and JGD2011 coordinates. The map's address search uses them."
        }
        (DatasetId::Stockpile, Lang::Ja) => {
            "避難所・備蓄倉庫ごとの備蓄品（食料、飲料水、生活必需品、資機材など）の品名、数量、単位、\
             賞味期限・使用期限、最終確認日です。各行は指定避難所の共通ID・IDで避難所データと結び付きます。位置情報はありません。"
        }
        (DatasetId::Stockpile, Lang::En) => {
            "What is stockpiled at each shelter and storehouse (food, water, daily necessities, \
             equipment…): item, quantity, unit, expiry and date last checked. Each row links to a \
             shelter by its national common ID or ID. No geometry."
        }
    }
}

/// The 自治体標準オープンデータセット a dataset follows, if any.
pub fn standard(d: DatasetId) -> Option<(&'static str, &'static str)> {
    match d {
        DatasetId::Shelters => Some((
            "自治体標準オープンデータセット 03 指定緊急避難場所一覧",
            "Municipal Standard Open Dataset 03: designated emergency evacuation sites",
        )),
        _ => None,
    }
}

/// Tag of the standard datasets (as portals filter on it).
pub const STANDARD_TAG: &str = "自治体標準ODS";

/// CKAN tags (Japanese) of a dataset.
pub fn tags(d: DatasetId) -> &'static [&'static str] {
    match d {
        DatasetId::Wards => &["町丁字", "境界", "行政区域", "人口"],
        DatasetId::Flood => &["防災", "ハザードマップ", "洪水", "浸水想定区域"],
        DatasetId::InlandFlood => &["防災", "ハザードマップ", "内水氾濫", "浸水想定区域"],
        DatasetId::Landslide => &["防災", "ハザードマップ", "土砂災害", "土砂災害警戒区域"],
        DatasetId::Tsunami => &["防災", "ハザードマップ", "津波", "浸水想定区域"],
        DatasetId::StormSurge => &["防災", "ハザードマップ", "高潮", "浸水想定区域"],
        DatasetId::Roads => &["道路", "道路台帳", "市道"],
        DatasetId::Shelters => &[
            STANDARD_TAG,
            "防災",
            "避難所",
            "指定緊急避難場所",
            "指定避難所",
        ],
        DatasetId::Stockpile => &["防災", "避難所", "備蓄"],
        DatasetId::Addresses => &["住所", "アドレス・ベース・レジストリ", "位置参照"],
    }
}

/// English keywords of a dataset (DCAT).
pub fn keywords_en(d: DatasetId) -> &'static [&'static str] {
    match d {
        DatasetId::Wards => &["boundaries", "administrative areas", "population"],
        DatasetId::Flood => &["disaster prevention", "hazard map", "flood"],
        DatasetId::InlandFlood => &["disaster prevention", "hazard map", "inland flooding"],
        DatasetId::Landslide => &["disaster prevention", "hazard map", "landslide"],
        DatasetId::Tsunami => &["disaster prevention", "hazard map", "tsunami"],
        DatasetId::StormSurge => &["disaster prevention", "hazard map", "storm surge"],
        DatasetId::Roads => &["roads", "road ledger"],
        DatasetId::Shelters => &["disaster prevention", "evacuation", "shelters"],
        DatasetId::Stockpile => &["disaster prevention", "shelters", "stockpile"],
        DatasetId::Addresses => &["addresses", "address base registry", "geocoding"],
    }
}

// ---------------------------------------------------------------------------------------------
// Dates (UTC `YYYY-MM-DDTHH:MM:SSZ` in the layers; no date crate)
// ---------------------------------------------------------------------------------------------

/// A parsed UTC timestamp.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    y: i64,
    mo: u32,
    d: u32,
    h: u32,
    mi: u32,
    s: u32,
}

fn parse_stamp(iso: &str) -> Option<Stamp> {
    let b = iso.as_bytes();
    let num = |r: std::ops::Range<usize>| iso.get(r).and_then(|t| t.parse::<u32>().ok());
    if b.len() < 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    let (h, mi, s) = if b.len() >= 19 {
        (num(11..13)?, num(14..16)?, num(17..19)?)
    } else {
        (0, 0, 0)
    };
    Some(Stamp {
        y: i64::from(num(0..4)?),
        mo: num(5..7)?,
        d: num(8..10)?,
        h,
        mi,
        s,
    })
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Civil date of days since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// The timestamp shifted to Japan Standard Time (UTC+9).
fn to_jst(t: Stamp) -> Stamp {
    let secs = days_from_civil(t.y, t.mo, t.d) * 86_400
        + i64::from(t.h) * 3600
        + i64::from(t.mi) * 60
        + i64::from(t.s)
        + 9 * 3600;
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    Stamp {
        y,
        mo,
        d,
        h: (r / 3600) as u32,
        mi: (r % 3600 / 60) as u32,
        s: (r % 60) as u32,
    }
}

/// CKAN's timestamp form: ISO 8601 in UTC without a zone (`2025-04-01T09:30:00`).
pub fn ckan_time(iso: &str) -> String {
    match parse_stamp(iso) {
        Some(t) => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            t.y, t.mo, t.d, t.h, t.mi, t.s
        ),
        None => iso.trim_end_matches('Z').to_string(),
    }
}

/// xsd:dateTime in UTC (`2025-04-01T09:30:00Z`).
pub fn xsd_time(iso: &str) -> String {
    format!("{}Z", ckan_time(iso))
}

/// A timestamp for people, in Japan Standard Time.
pub fn human_time(iso: &str, lang: Lang) -> String {
    let Some(t) = parse_stamp(iso).map(to_jst) else {
        return iso.to_string();
    };
    match lang {
        Lang::Ja => format!("{}年{}月{}日 {:02}:{:02}", t.y, t.mo, t.d, t.h, t.mi),
        Lang::En => format!(
            "{:04}-{:02}-{:02} {:02}:{:02} JST",
            t.y, t.mo, t.d, t.h, t.mi
        ),
    }
}

/// Now, UTC, `YYYY-MM-DDTHH:MM:SS`.
fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    let r = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        r / 3600,
        r % 3600 / 60,
        r % 60
    )
}

/// Shift a `YYYY-MM-DDTHH:MM:SS` timestamp by whole days.
fn minus_days(t: &str, days: i64) -> Option<String> {
    let s = parse_stamp(t)?;
    let (y, m, d) = civil_from_days(days_from_civil(s.y, s.mo, s.d) - days);
    Some(format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}",
        s.h, s.mi, s.s
    ))
}

// ---------------------------------------------------------------------------------------------
// CKAN dictionaries
// ---------------------------------------------------------------------------------------------

/// The organisation dictionary (CKAN `organization_show` without datasets).
pub fn organization(cat: &Catalog, with_count: bool) -> Value {
    let name = cat.org_name();
    let created = cat
        .entries
        .iter()
        .map(|e| e.created.as_str())
        .min()
        .map(ckan_time);
    let mut o = json!({
        "id": name,
        "name": name,
        "title": cat.publisher,
        "display_name": cat.publisher,
        "type": "organization",
        "is_organization": true,
        "state": "active",
        "approval_status": "approved",
        "description": format!("{}（全国地方公共団体コード {}）", cat.publisher, cat.city_code),
        "image_url": "",
        "created": created,
    });
    if with_count {
        o["package_count"] = json!(cat.entries.len());
    }
    o
}

/// Spatial extent as GeoJSON Polygon text (ckanext-spatial's `spatial` extra).
pub fn bbox_geojson(b: [f64; 4]) -> String {
    json!({
        "type": "Polygon",
        "coordinates": [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]]
    })
    .to_string()
}

fn resource_dict(cat: &Catalog, e: &Entry, r: &Resource, position: usize) -> Value {
    let d = e.dataset;
    json!({
        "id": format!("{d}-{}", r.kind.key()),
        "package_id": d.as_str(),
        "name": format!("{}（{}）", d.title_ja(), r.kind.format()),
        "description": r.kind.description(Lang::Ja),
        "url": r.url,
        "format": r.kind.format(),
        "mimetype": r.kind.media_type(),
        "created": ckan_time(&e.created),
        "last_modified": ckan_time(&e.modified),
        "metadata_modified": ckan_time(&e.modified),
        "hash": r.digest.as_ref().map_or_else(String::new, |g| format!("sha256:{}", g.sha256)),
        "size": r.digest.as_ref().map(|g| g.size),
        "position": position,
        "state": "active",
        "url_type": Value::Null,
        "resource_type": if r.kind.is_download() { "file" } else { "api" },
        "datastore_active": false,
        "license_id": cat.license.id,
        "downloads": r.downloads,
    })
}

/// The CKAN package dictionary of one entry (as `package_show` answers).
pub fn package(cat: &Catalog, e: &Entry) -> Value {
    let d = e.dataset;
    let tag_list: Vec<Value> = tags(d)
        .iter()
        .map(|t| json!({"name": t, "display_name": t, "id": t, "state": "active", "vocabulary_id": Value::Null}))
        .collect();
    let mut extras = vec![
        json!({"key": "record_count", "value": e.records.to_string()}),
        json!({"key": "downloads", "value": e.downloads().to_string()}),
        json!({"key": "title_en", "value": d.title_en()}),
        json!({"key": "notes_en", "value": description(d, Lang::En)}),
    ];
    if let Some(b) = e.bbox {
        extras.insert(0, json!({"key": "spatial", "value": bbox_geojson(b)}));
    }
    if let Some((ja, _)) = standard(d) {
        extras.push(json!({"key": "conforms_to", "value": ja}));
    }
    let resources: Vec<Value> = e
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| resource_dict(cat, e, r, i))
        .collect();
    json!({
        "id": d.as_str(),
        "name": d.as_str(),
        "title": d.title_ja(),
        "title_translated": {"ja": d.title_ja(), "en": d.title_en()},
        "notes": description(d, Lang::Ja),
        "notes_translated": {"ja": description(d, Lang::Ja), "en": description(d, Lang::En)},
        "type": "dataset",
        "state": "active",
        "private": false,
        "isopen": cat.license.open,
        "license_id": cat.license.id,
        "license_title": cat.license.title_en,
        "license_url": cat.license.url,
        "author": cat.publisher,
        "author_email": Value::Null,
        "maintainer": cat.publisher,
        "maintainer_email": Value::Null,
        "url": format!("{}/catalog#{d}", cat.base),
        "version": e.version.to_string(),
        "metadata_created": ckan_time(&e.created),
        "metadata_modified": ckan_time(&e.modified),
        "owner_org": cat.org_name(),
        "organization": organization(cat, false),
        "tags": tag_list,
        "num_tags": tags(d).len(),
        "groups": [],
        "relationships_as_object": [],
        "relationships_as_subject": [],
        "extras": extras,
        "num_resources": e.resources.len(),
        "resources": resources,
    })
}

/// `license_list`: the one licence of the data.
pub fn license_dict(l: &License) -> Value {
    json!({
        "id": l.id,
        "title": l.title_en,
        "url": l.url.clone().unwrap_or_default(),
        "od_conformance": if l.open { "approved" } else { "not reviewed" },
        "osd_conformance": "not reviewed",
        "status": "active",
        "domain_content": false,
        "domain_data": true,
        "domain_software": false,
        "is_generic": false,
        "family": "",
        "maintainer": "",
    })
}

// ---------------------------------------------------------------------------------------------
// CKAN errors and parameters
// ---------------------------------------------------------------------------------------------

/// A CKAN action error, answered in CKAN's envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum CkanError {
    /// 400 with a bare JSON string body, as CKAN answers unknown actions and bad bodies.
    BadRequest(String),
    /// 404 `Not Found Error`.
    NotFound(Option<String>),
    /// 409 `Validation Error` with messages per field.
    Validation(BTreeMap<String, Vec<String>>),
    /// 409 `Search Error`.
    Search(String),
    /// 500 `Internal Server Error` (details are logged).
    Internal(String),
}

impl CkanError {
    fn validation(field: &str, msg: &str) -> CkanError {
        CkanError::Validation(BTreeMap::from([(field.to_string(), vec![msg.to_string()])]))
    }

    /// Status and body.
    pub fn to_status_body(&self, help: &str) -> (StatusCode, Value) {
        let env = |error: Value| json!({"help": help, "success": false, "error": error});
        match self {
            CkanError::BadRequest(m) => {
                (StatusCode::BAD_REQUEST, json!(format!("Bad request - {m}")))
            }
            CkanError::NotFound(m) => {
                let message = match m {
                    Some(m) => format!("Not found: {m}"),
                    None => "Not found".into(),
                };
                (
                    StatusCode::NOT_FOUND,
                    env(json!({"__type": "Not Found Error", "message": message})),
                )
            }
            CkanError::Validation(fields) => {
                let mut e = Map::new();
                for (k, v) in fields {
                    e.insert(k.clone(), json!(v));
                }
                e.insert("__type".into(), json!("Validation Error"));
                (StatusCode::CONFLICT, env(Value::Object(e)))
            }
            CkanError::Search(m) => (
                StatusCode::CONFLICT,
                env(json!({"__type": "Search Error",
                    "message": format!("Search error: ('{}',)", m.replace('\'', "\""))})),
            ),
            CkanError::Internal(m) => {
                eprintln!("machimap: internal error in the CKAN API: {m}");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    env(
                        json!({"__type": "Internal Server Error", "message": "Internal Server Error"}),
                    ),
                )
            }
        }
    }
}

/// Action parameters: from the query string (GET) or the JSON/form body (POST).
pub type Params = Map<String, Value>;

/// An integer parameter as CKAN's `natural_number_validator` reads it: JSON integers, whole
/// floats or digit strings; empty means absent.
fn natural(p: &Params, key: &str) -> Result<Option<u64>, CkanError> {
    let v = match p.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n: Option<i64> = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) | Value::Null => None,
    };
    match n {
        None => Err(CkanError::validation(key, "Invalid integer")),
        Some(n) if n < 0 => Err(CkanError::validation(key, "Must be a natural number")),
        Some(n) => Ok(Some(n as u64)),
    }
}

/// Several integer parameters, all errors reported together as CKAN does.
fn naturals<const N: usize>(p: &Params, keys: [&str; N]) -> Result<[Option<u64>; N], CkanError> {
    let mut out = [None; N];
    let mut errs = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        match natural(p, k) {
            Ok(v) => out[i] = v,
            Err(CkanError::Validation(m)) => errs.extend(m),
            Err(e) => return Err(e),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(CkanError::Validation(errs))
    }
}

fn text_param<'a>(p: &'a Params, key: &str) -> Option<&'a str> {
    match p.get(key) {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        _ => None,
    }
}

fn bool_param(p: &Params, key: &str) -> bool {
    match p.get(key) {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => {
            matches!(
                s.to_ascii_lowercase().as_str(),
                "true" | "yes" | "t" | "y" | "1"
            )
        }
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

fn required<'a>(p: &'a Params, key: &str) -> Result<&'a str, CkanError> {
    match text_param(p, key) {
        Some(s) if !s.trim().is_empty() => Ok(s.trim()),
        _ => Err(CkanError::validation(key, "Missing value")),
    }
}

fn page<T: Clone>(items: &[T], offset: u64, limit: Option<u64>) -> Vec<T> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let n = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    items.iter().skip(start).take(n).cloned().collect()
}

// ---------------------------------------------------------------------------------------------
// package_search
// ---------------------------------------------------------------------------------------------

/// Largest `rows` (CKAN's `ckan.search.rows_max` default); larger values are capped.
pub const MAX_ROWS: u64 = 1000;

/// One filter term of `fq` (or a fielded term of `q`).
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    /// field equals value (`*` = has any value).
    Eq { field: String, value: String },
    /// field within a range; bounds normalised, `None` = open.
    Range {
        field: String,
        lo: Option<String>,
        hi: Option<String>,
        lo_incl: bool,
        hi_incl: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    negate: bool,
    filter: Filter,
}

const FIELDS: &[&str] = &[
    "tags",
    "res_format",
    "organization",
    "owner_org",
    "name",
    "id",
    "license_id",
    "title",
    "notes",
    "text",
    "metadata_modified",
    "metadata_created",
    "dataset_type",
    "type",
    "capacity",
    "state",
    "private",
];

/// Split Solr-ish syntax into tokens: whitespace separates, except inside quotes or brackets.
fn tokens(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = false;
    let mut bracket = false;
    for c in s.chars() {
        match c {
            '"' if !bracket => {
                quote = !quote;
                cur.push(c);
            }
            '[' | '{' if !quote => {
                bracket = true;
                cur.push(c);
            }
            ']' | '}' if !quote && bracket => {
                bracket = false;
                cur.push(c);
            }
            c if c.is_whitespace() && !quote && !bracket => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quote || bracket {
        return Err(format!("unbalanced quote or bracket in {s:?}"));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    v.replace("\\:", ":").replace("\\\"", "\"")
}

/// A range bound as `YYYY-MM-DDTHH:MM:SS` (dates) or as given; `None` when open (`*`).
fn bound(b: &str) -> Result<Option<String>, String> {
    let b = unquote(b);
    if b == "*" {
        return Ok(None);
    }
    if let Some(rest) = b.strip_prefix("NOW") {
        let now = now_utc();
        let rest = rest.split('/').next().unwrap_or("");
        if rest.is_empty() {
            return Ok(Some(now));
        }
        let n = rest
            .strip_prefix('-')
            .and_then(|r| r.strip_suffix("DAYS").or_else(|| r.strip_suffix("DAY")))
            .and_then(|r| r.parse::<i64>().ok())
            .ok_or_else(|| format!("unsupported date math {b:?}"))?;
        return minus_days(&now, n)
            .map(Some)
            .ok_or_else(|| format!("bad date {b:?}"));
    }
    match parse_stamp(&b) {
        Some(_) => Ok(Some(ckan_time(&b))),
        None => Err(format!("invalid date {b:?}")),
    }
}

fn clause(tok: &str) -> Result<Option<Clause>, String> {
    let (negate, body) = match tok.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, tok.strip_prefix('+').unwrap_or(tok)),
    };
    if body.eq_ignore_ascii_case("AND") || body.is_empty() {
        return Ok(None);
    }
    if body == "OR" || body == "NOT" || body.starts_with('(') {
        return Err(format!("unsupported query syntax {tok:?}"));
    }
    if body == "*:*" {
        return Ok(None);
    }
    let Some((field, value)) = body.split_once(':') else {
        return Ok(Some(Clause {
            negate,
            filter: Filter::Eq {
                field: "text".into(),
                value: unquote(body),
            },
        }));
    };
    if !FIELDS.contains(&field) {
        return Err(format!("undefined field {field}"));
    }
    let value = value.trim();
    if (value.starts_with('[') || value.starts_with('{'))
        && (value.ends_with(']') || value.ends_with('}'))
    {
        let inner = &value[1..value.len() - 1];
        let parts: Vec<&str> = inner.split(" TO ").collect();
        let [lo, hi] = parts.as_slice() else {
            return Err(format!("bad range {value:?}"));
        };
        return Ok(Some(Clause {
            negate,
            filter: Filter::Range {
                field: field.into(),
                lo: bound(lo)?,
                hi: bound(hi)?,
                lo_incl: value.starts_with('['),
                hi_incl: value.ends_with(']'),
            },
        }));
    }
    Ok(Some(Clause {
        negate,
        filter: Filter::Eq {
            field: field.into(),
            value: unquote(value),
        },
    }))
}

fn clauses(s: &str) -> Result<Vec<Clause>, String> {
    let mut out = Vec::new();
    for t in tokens(s)? {
        if let Some(c) = clause(&t)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Searchable text of an entry, folded.
fn haystack(e: &Entry) -> (String, String) {
    let d = e.dataset;
    let title = crate::text::search_fold(&format!("{} {} {}", d.title_ja(), d.title_en(), d));
    let mut rest = String::new();
    rest.push_str(description(d, Lang::Ja));
    rest.push_str(description(d, Lang::En));
    for t in tags(d).iter().chain(keywords_en(d)) {
        rest.push_str(t);
        rest.push(' ');
    }
    (title, crate::text::search_fold(&rest))
}

fn field_values(cat: &Catalog, e: &Entry, field: &str) -> Vec<String> {
    let d = e.dataset;
    match field {
        "tags" => tags(d).iter().map(|t| (*t).to_string()).collect(),
        "res_format" => e
            .resources
            .iter()
            .map(|r| r.kind.format().to_string())
            .collect(),
        "organization" | "owner_org" => vec![cat.org_name()],
        "name" | "id" => vec![d.to_string()],
        "license_id" => vec![cat.license.id.clone()],
        "metadata_modified" => vec![ckan_time(&e.modified)],
        "metadata_created" => vec![ckan_time(&e.created)],
        "dataset_type" | "type" => vec!["dataset".into()],
        "capacity" => vec!["public".into()],
        "state" => vec!["active".into()],
        "private" => vec!["false".into()],
        _ => Vec::new(),
    }
}

fn matches(cat: &Catalog, e: &Entry, c: &Clause) -> bool {
    let hit = match &c.filter {
        Filter::Eq { field, value } if matches!(field.as_str(), "text" | "title" | "notes") => {
            let (title, rest) = haystack(e);
            let v = crate::text::search_fold(value);
            match field.as_str() {
                "title" => title.contains(&v),
                "notes" => rest.contains(&v),
                _ => title.contains(&v) || rest.contains(&v),
            }
        }
        Filter::Eq { field, value } => {
            let vals = field_values(cat, e, field);
            (value == "*" && !vals.is_empty()) || vals.iter().any(|x| x.eq_ignore_ascii_case(value))
        }
        Filter::Range {
            field,
            lo,
            hi,
            lo_incl,
            hi_incl,
        } => field_values(cat, e, field).iter().any(|x| {
            let x = x.as_str();
            let above = lo
                .as_deref()
                .is_none_or(|l| if *lo_incl { x >= l } else { x > l });
            let below = hi
                .as_deref()
                .is_none_or(|h| if *hi_incl { x <= h } else { x < h });
            above && below
        }),
    };
    hit != c.negate
}

/// Relevance of an entry for the free-text terms: title hits count more.
fn score(e: &Entry, terms: &[String]) -> usize {
    let (title, rest) = haystack(e);
    terms
        .iter()
        .map(|t| 3 * title.matches(t.as_str()).count() + rest.matches(t.as_str()).count())
        .sum()
}

/// Validated `package_search` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchParams {
    /// Free text (with optional `field:value` terms).
    pub q: String,
    /// Filter query.
    pub fq: String,
    /// Page size (capped at [`MAX_ROWS`]).
    pub rows: u64,
    /// Offset.
    pub start: u64,
    /// Sort, CKAN's default `score desc, metadata_modified desc`.
    pub sort: String,
    /// Fields to count values of.
    pub facet_fields: Vec<String>,
    /// `facet.limit` (default 50; negative = all).
    pub facet_limit: i64,
    /// `facet.mincount` (default 1).
    pub facet_mincount: u64,
}

/// Read and validate `package_search` parameters as CKAN's schema does.
pub fn search_params(p: &Params) -> Result<SearchParams, CkanError> {
    let [rows, start, mincount] = naturals(p, ["rows", "start", "facet.mincount"])?;
    let facet_fields = match p.get("facet.field") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.trim().is_empty() => Vec::new(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Ok(Value::String(one)) => vec![one],
            _ => {
                return Err(CkanError::validation(
                    "facet.field",
                    "Not a list of strings",
                ))
            }
        },
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Some(_) => {
            return Err(CkanError::validation(
                "facet.field",
                "Not a list of strings",
            ))
        }
    };
    let facet_limit = match p.get("facet.limit") {
        None | Some(Value::Null) => 50,
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| CkanError::validation("facet.limit", "Invalid integer"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| CkanError::validation("facet.limit", "Invalid integer"))?,
        Some(_) => return Err(CkanError::validation("facet.limit", "Invalid integer")),
    };
    Ok(SearchParams {
        q: text_param(p, "q").unwrap_or("").to_string(),
        fq: text_param(p, "fq").unwrap_or("").to_string(),
        rows: rows.unwrap_or(10).min(MAX_ROWS),
        start: start.unwrap_or(0),
        sort: text_param(p, "sort")
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("score desc, metadata_modified desc")
            .to_string(),
        facet_fields,
        facet_limit,
        facet_mincount: mincount.unwrap_or(1),
    })
}

fn sort_key_cmp(a: (&Entry, usize), b: (&Entry, usize), field: &str) -> std::cmp::Ordering {
    match field {
        "score" => a.1.cmp(&b.1),
        "name" | "id" => a.0.dataset.as_str().cmp(b.0.dataset.as_str()),
        "title_string" | "title" => a.0.dataset.title_ja().cmp(b.0.dataset.title_ja()),
        "metadata_modified" => a.0.modified.cmp(&b.0.modified),
        "metadata_created" => a.0.created.cmp(&b.0.created),
        _ => std::cmp::Ordering::Equal,
    }
}

/// Run a search: the total count and the page of matching entries.
pub fn search<'a>(
    cat: &'a Catalog,
    sp: &SearchParams,
) -> Result<(usize, Vec<&'a Entry>), CkanError> {
    let mut filters = clauses(&sp.fq).map_err(CkanError::Search)?;
    let mut terms = Vec::new();
    for c in clauses(&sp.q).map_err(CkanError::Search)? {
        match &c.filter {
            Filter::Eq { field, value } if field == "text" && !c.negate => {
                terms.push(crate::text::search_fold(value));
                filters.push(c);
            }
            _ => filters.push(c),
        }
    }
    let mut order: Vec<(String, bool)> = Vec::new();
    for part in sp.sort.split(',') {
        let mut it = part.split_whitespace();
        let Some(field) = it.next() else { continue };
        let desc = match it.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(CkanError::Search("Invalid \"sort\" parameter".into())),
        };
        if !matches!(
            field,
            "score"
                | "name"
                | "id"
                | "title_string"
                | "title"
                | "metadata_modified"
                | "metadata_created"
        ) {
            return Err(CkanError::Search(format!("Can not sort on field: {field}")));
        }
        order.push((field.to_string(), desc));
    }
    let mut hits: Vec<(&Entry, usize)> = cat
        .entries
        .iter()
        .filter(|e| filters.iter().all(|c| matches(cat, e, c)))
        .map(|e| (e, score(e, &terms)))
        .collect();
    hits.sort_by(|a, b| {
        for (field, desc) in &order {
            let o = sort_key_cmp(*a, *b, field);
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        a.0.dataset.cmp(&b.0.dataset)
    });
    let all: Vec<&Entry> = hits.into_iter().map(|(e, _)| e).collect();
    Ok((all.len(), page(&all, sp.start, Some(sp.rows))))
}

/// Facet counts over `entries` for `package_search`.
fn facets(cat: &Catalog, entries: &[&Entry], sp: &SearchParams) -> (Value, Value) {
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for f in &sp.facet_fields {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for e in entries {
            let mut vals = field_values(cat, e, f);
            vals.sort();
            vals.dedup();
            for v in vals {
                *counts.entry(v).or_default() += 1;
            }
        }
        let mut items: Vec<(String, u64)> = counts
            .into_iter()
            .filter(|(_, n)| *n >= sp.facet_mincount)
            .collect();
        items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if sp.facet_limit >= 0 {
            items.truncate(usize::try_from(sp.facet_limit).unwrap_or(usize::MAX));
        }
        let obj: Map<String, Value> = items.iter().map(|(k, n)| (k.clone(), json!(n))).collect();
        facets.insert(f.clone(), Value::Object(obj));
        let list: Vec<Value> = items
            .iter()
            .map(|(k, n)| json!({"name": k, "display_name": k, "count": n}))
            .collect();
        search_facets.insert(f.clone(), json!({"title": f, "items": list}));
    }
    (Value::Object(facets), Value::Object(search_facets))
}

// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

/// The actions served, with a one-line help each (`help_show`).
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "package_list",
        "Return the names of the published datasets. :param limit: :param offset:",
    ),
    (
        "package_show",
        "Return one dataset with its resources. :param id: the id or name of the dataset",
    ),
    (
        "package_search",
        "Search datasets. :param q: free text over title, notes and tags :param fq: filter \
         query (tags:, res_format:, organization:, name:, license_id:, metadata_modified:[A TO B]) \
         :param rows: page size, default 10, at most 1000 :param start: offset :param sort: \
         e.g. 'name asc' or 'metadata_modified desc' :param facet.field: JSON list of fields",
    ),
    (
        "current_package_list_with_resources",
        "Return datasets with their resources, most recently modified first. :param limit: \
         default 10 :param offset:",
    ),
    (
        "organization_list",
        "Return the publishing organisation. :param all_fields: dicts instead of names",
    ),
    (
        "organization_show",
        "Return the publishing organisation. :param id: its name or id",
    ),
    ("license_list", "Return the licence of the published data."),
    (
        "status_show",
        "Return the site's title, URL and CKAN API compatibility.",
    ),
    (
        "help_show",
        "Return the help of an action. :param name: the action",
    ),
];

/// Run a CKAN action on the catalog.
pub fn run_action(cat: &Catalog, action: &str, p: &Params) -> Result<Value, CkanError> {
    match action {
        "package_list" => {
            let [limit, offset] = naturals(p, ["limit", "offset"])?;
            let mut names: Vec<Value> = cat
                .entries
                .iter()
                .map(|e| json!(e.dataset.as_str()))
                .collect();
            names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            Ok(Value::Array(page(&names, offset.unwrap_or(0), limit)))
        }
        "package_show" => {
            let id = required(p, "id")?;
            cat.entry(id)
                .map(|e| package(cat, e))
                .ok_or(CkanError::NotFound(None))
        }
        "package_search" => {
            let sp = search_params(p)?;
            let (count, page) = search(cat, &sp)?;
            let (facets, search_facets) = if sp.facet_fields.is_empty() {
                (json!({}), json!({}))
            } else {
                let sp_all = SearchParams {
                    rows: MAX_ROWS,
                    start: 0,
                    ..sp.clone()
                };
                let (_, all) = search(cat, &sp_all)?;
                facets(cat, &all, &sp)
            };
            Ok(json!({
                "count": count,
                "sort": sp.sort,
                "facets": facets,
                "search_facets": search_facets,
                "results": page.iter().map(|e| package(cat, e)).collect::<Vec<_>>(),
            }))
        }
        "current_package_list_with_resources" => {
            let [limit, offset, page_no] = naturals(p, ["limit", "offset", "page"])?;
            let limit = limit.unwrap_or(10);
            let offset = match (offset, page_no) {
                (Some(o), _) => o,
                (None, Some(0)) => {
                    return Err(CkanError::validation("page", "Must be a positive integer"))
                }
                (None, Some(pg)) => (pg - 1) * limit,
                (None, None) => 0,
            };
            let mut p2 = Params::new();
            p2.insert("rows".into(), json!(limit));
            p2.insert("start".into(), json!(offset));
            let sp = search_params(&p2)?;
            let (_, page) = search(cat, &sp)?;
            Ok(Value::Array(page.iter().map(|e| package(cat, e)).collect()))
        }
        "organization_list" => {
            let [limit, offset] = naturals(p, ["limit", "offset"])?;
            let all = if bool_param(p, "all_fields") {
                vec![organization(cat, true)]
            } else {
                vec![json!(cat.org_name())]
            };
            Ok(Value::Array(page(&all, offset.unwrap_or(0), limit)))
        }
        "organization_show" => {
            let id = required(p, "id")?;
            if id != cat.org_name() {
                return Err(CkanError::NotFound(Some(
                    "Organization was not found.".into(),
                )));
            }
            let mut o = organization(cat, true);
            if bool_param(p, "include_datasets") {
                o["packages"] = Value::Array(cat.entries.iter().map(|e| package(cat, e)).collect());
            }
            Ok(o)
        }
        "license_list" => Ok(json!([license_dict(&cat.license)])),
        "status_show" => Ok(json!({
            "site_title": cat.title(Lang::Ja),
            "site_description": format!("{}が公開するオープンデータと地図", cat.publisher),
            "site_url": cat.base,
            "ckan_version": "2.10.0",
            "locale_default": "ja",
            "error_emails_to": Value::Null,
            "extensions": [],
            "machimap_version": env!("CARGO_PKG_VERSION"),
        })),
        "help_show" => {
            let name = required(p, "name")?;
            ACTIONS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, h)| json!(h))
                .ok_or(CkanError::NotFound(Some(
                    "Action function not found".into(),
                )))
        }
        other => Err(CkanError::BadRequest(format!(
            "Action name not known: {other}"
        ))),
    }
}

// ---------------------------------------------------------------------------------------------
// Request decoding
// ---------------------------------------------------------------------------------------------

/// `application/x-www-form-urlencoded` (query strings and form bodies) as CKAN reads it: a
/// repeated key becomes a list.
pub fn parse_urlencoded(s: &str) -> Params {
    let mut p = Params::new();
    for pair in s.split('&').filter(|x| !x.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let (k, v) = (super::percent_decode(k), super::percent_decode(v));
        match p.get_mut(&k) {
            Some(Value::Array(a)) => a.push(json!(v)),
            Some(old) => {
                let first = old.take();
                *old = json!([first, v]);
            }
            None => {
                p.insert(k, json!(v));
            }
        }
    }
    p
}

/// Parameters of a request: the query string for GET, the body for POST (JSON object, or a
/// form; a form whose single key is JSON is read as that JSON, as CKAN does).
pub fn request_params(
    method: &Method,
    query: Option<&str>,
    content_type: &str,
    body: &[u8],
) -> Result<Params, CkanError> {
    if method == Method::GET || method == Method::HEAD {
        return Ok(parse_urlencoded(query.unwrap_or("")));
    }
    if content_type.starts_with("application/x-www-form-urlencoded") {
        let text = String::from_utf8_lossy(body);
        let form = parse_urlencoded(&text);
        if form.len() == 1 {
            if let Some((k, v)) = form.iter().next() {
                if v == "1" || v == "" {
                    if let Ok(Value::Object(o)) = serde_json::from_str::<Value>(k) {
                        return Ok(o);
                    }
                }
            }
        }
        return Ok(form);
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        // An empty POST: fall back to the query string (curl -X POST URL?id=…).
        return Ok(parse_urlencoded(query.unwrap_or("")));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(o)) => Ok(o),
        Ok(other) => Err(CkanError::BadRequest(format!(
            "Bad request data: Request data JSON decoded to {other} but it needs to be a dictionary."
        ))),
        Err(e) => Err(CkanError::BadRequest(format!("JSON Error: {e}"))),
    }
}

// ---------------------------------------------------------------------------------------------
// DCAT (JSON-LD)
// ---------------------------------------------------------------------------------------------

fn lit(s: &str, lang: &str) -> Value {
    json!({"@value": s, "@language": lang})
}

fn typed(s: impl Into<Value>, ty: &str) -> Value {
    json!({"@value": s.into(), "@type": ty})
}

/// The catalog as DCAT in JSON-LD (compacted with an inline context; no remote context).
pub fn dcat(cat: &Catalog) -> Value {
    let base = &cat.base;
    let publisher = json!({
        "@id": format!("{base}/catalog#publisher"),
        "@type": "foaf:Organization",
        "foaf:name": lit(&cat.publisher, "ja"),
        "dct:identifier": cat.city_code,
    });
    let contact = json!({
        "@type": "vcard:Organization",
        "vcard:fn": lit(&cat.publisher, "ja"),
        "vcard:hasURL": {"@id": format!("{base}/catalog")},
    });
    let license = cat.license.url.as_ref().map(|u| json!({"@id": u}));
    let datasets: Vec<Value> = cat
        .entries
        .iter()
        .map(|e| {
            let d = e.dataset;
            let id = format!("{base}/catalog#{d}");
            let distributions: Vec<Value> = e
                .resources
                .iter()
                .map(|r| {
                    let mut dist = json!({
                        "@id": format!("{base}/catalog#{d}-{}", r.kind.key()),
                        "@type": "dcat:Distribution",
                        "dct:title": [lit(&format!("{}（{}）", d.title_ja(), r.kind.format()), "ja"),
                                      lit(&format!("{} ({})", d.title_en(), r.kind.format()), "en")],
                        "dct:description": [lit(r.kind.description(Lang::Ja), "ja"),
                                            lit(r.kind.description(Lang::En), "en")],
                        "dcat:accessURL": {"@id": r.url},
                        "dcat:mediaType": {"@id": format!("https://www.iana.org/assignments/media-types/{}", r.kind.media_type())},
                        "dct:format": r.kind.format(),
                        "dct:modified": typed(xsd_time(&e.modified), "xsd:dateTime"),
                    });
                    if let Some(l) = &license {
                        dist["dct:license"] = l.clone();
                    }
                    if let Some(g) = &r.digest {
                        dist["dcat:downloadURL"] = json!({"@id": r.url});
                        dist["dcat:byteSize"] = typed(g.size, "xsd:nonNegativeInteger");
                        dist["spdx:checksum"] = json!({
                            "@type": "spdx:Checksum",
                            "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                            "spdx:checksumValue": typed(g.sha256.as_str(), "xsd:hexBinary"),
                        });
                    }
                    if r.kind == ResourceKind::Ogc {
                        dist["dct:conformsTo"] =
                            json!({"@id": "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"});
                    }
                    dist
                })
                .collect();
            let mut keywords: Vec<Value> = tags(d).iter().map(|t| lit(t, "ja")).collect();
            keywords.extend(keywords_en(d).iter().map(|t| lit(t, "en")));
            let mut ds = json!({
                "@id": id,
                "@type": "dcat:Dataset",
                "dct:identifier": d.as_str(),
                "dct:title": [lit(d.title_ja(), "ja"), lit(d.title_en(), "en")],
                "dct:description": [lit(description(d, Lang::Ja), "ja"), lit(description(d, Lang::En), "en")],
                "dct:publisher": {"@id": format!("{base}/catalog#publisher")},
                "dcat:contactPoint": contact.clone(),
                "dct:issued": typed(xsd_time(&e.created), "xsd:dateTime"),
                "dct:modified": typed(xsd_time(&e.modified), "xsd:dateTime"),
                "dcat:version": e.version.to_string(),
                "dcat:keyword": keywords,
                "dcat:landingPage": {"@id": format!("{base}/catalog#{d}")},
                "dct:language": {"@id": "http://id.loc.gov/vocabulary/iso639-1/ja"},
                "dcat:distribution": distributions,
            });
            if let Some(l) = &license {
                ds["dct:license"] = l.clone();
            }
            if let Some(b) = e.bbox {
                ds["dct:spatial"] = json!({
                    "@type": "dct:Location",
                    "dcat:bbox": typed(bbox_wkt(b), "gsp:wktLiteral"),
                });
            }
            if let Some((ja, en)) = standard(d) {
                ds["dct:conformsTo"] = json!({
                    "@id": "https://www.digital.go.jp/resources/open_data/municipal-standard-data-set-test",
                    "@type": "dct:Standard",
                    "dct:title": [lit(ja, "ja"), lit(en, "en")],
                });
            }
            ds
        })
        .collect();
    let mut catalog = json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "vcard": "http://www.w3.org/2006/vcard/ns#",
            "spdx": "http://spdx.org/rdf/terms#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "gsp": "http://www.opengis.net/ont/geosparql#",
        },
        "@id": format!("{base}/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": [lit(&cat.title(Lang::Ja), "ja"), lit(&cat.title(Lang::En), "en")],
        "dct:description": [
            lit(&format!("{}が公開するオープンデータ（防災・地図・道路台帳など）の一覧です。", cat.publisher), "ja"),
            lit(&format!("Open data published by {}: hazards, maps, roads and shelters.", cat.publisher), "en"),
        ],
        "dct:publisher": publisher,
        "foaf:homepage": {"@id": format!("{base}/catalog")},
        "dct:language": {"@id": "http://id.loc.gov/vocabulary/iso639-1/ja"},
        "dcat:dataset": datasets,
    });
    if let Some(l) = &license {
        catalog["dct:license"] = l.clone();
    }
    if let Some(m) = cat.modified() {
        catalog["dct:modified"] = typed(xsd_time(m), "xsd:dateTime");
    }
    catalog
}

/// A bbox as a WKT polygon (lon/lat, CRS84 order).
pub fn bbox_wkt(b: [f64; 4]) -> String {
    format!(
        "POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))",
        x0 = b[0],
        y0 = b[1],
        x1 = b[2],
        y1 = b[3]
    )
}

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn fmt_int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_size(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if f < 1024.0 * 1024.0 {
        format!("{:.1} KB", f / 1024.0)
    } else if f < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", f / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GB", f / 1024.0 / 1024.0 / 1024.0)
    }
}

/// The page's style sheet (inline, allowed by its hash in the Content-Security-Policy).
const CSS: &str = "\
:root{color-scheme:light;--fg:#1a1a1a;--muted:#4a4a4a;--line:#c8c8c8;--accent:#0b5cad;--bg:#fff}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',Meiryo,sans-serif;font-size:1.0625rem;line-height:1.7;color:var(--fg);background:var(--bg)}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem 1rem;border:2px solid var(--accent);z-index:1}
header,main,footer{max-width:64rem;margin:0 auto;padding:1rem}
h1{font-size:1.75rem;line-height:1.3;margin:.5rem 0 1rem}h2{font-size:1.4rem;margin:2.5rem 0 .75rem;border-bottom:2px solid var(--line)}h3{font-size:1.2rem;margin:2rem 0 .5rem}
a{color:var(--accent);text-underline-offset:.15em}a:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
nav a{display:inline-block;min-height:44px;padding:.5rem .75rem;border:1px solid var(--line);border-radius:.4rem}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
caption{text-align:left;color:var(--muted);padding:.25rem 0}
th,td{border:1px solid var(--line);padding:.5rem .6rem;text-align:left;vertical-align:top}
thead th{background:#eef3f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.85em;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.5rem 0}dt{font-weight:bold}dd{margin:0}
.alt{color:var(--muted);margin-top:-.25rem}
.badge{display:inline-block;border:1px solid #2e7d32;color:#1b5e20;border-radius:.3rem;padding:0 .5rem;font-size:.95rem}
";

fn csp() -> String {
    use sha2::{Digest as _, Sha256};
    let hash = b64(&Sha256::digest(CSS.as_bytes()));
    format!(
        "default-src 'self'; style-src 'sha256-{hash}'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

fn b64(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for ch in bytes.chunks(3) {
        let n = (u32::from(ch[0]) << 16)
            | (u32::from(*ch.get(1).unwrap_or(&0)) << 8)
            | u32::from(*ch.get(2).unwrap_or(&0));
        for i in 0..4 {
            if i <= ch.len() {
                out.push(char::from(A[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

struct Words {
    skip: &'static str,
    other_lang: &'static str,
    intro: &'static str,
    list: &'static str,
    caption_list: &'static str,
    dataset: &'static str,
    updated: &'static str,
    records: &'static str,
    formats: &'static str,
    downloads: &'static str,
    details: &'static str,
    license: &'static str,
    publisher: &'static str,
    version: &'static str,
    keywords: &'static str,
    id: &'static str,
    standard: &'static str,
    format: &'static str,
    size: &'static str,
    caption_res: &'static str,
    machine: &'static str,
    machine_intro: &'static str,
    none: &'static str,
    empty: &'static str,
    total: &'static str,
    other_dl: &'static str,
}

const JA: Words = Words {
    skip: "本文へ移動",
    other_lang: "English",
    intro: "市が公開しているデータの一覧です。どなたでも、ライセンスの条件（出典の表示）を守れば、\
            商用を含めて自由に利用できます。各データは下の表のリンクからダウンロードできます。",
    list: "データセット一覧",
    caption_list: "公開中のデータセット。ダウンロード数は全形式の合計です。",
    dataset: "データセット",
    updated: "最終更新",
    records: "件数",
    formats: "形式",
    downloads: "ダウンロード数",
    details: "各データセットの詳細",
    license: "ライセンス",
    publisher: "公開者",
    version: "版",
    keywords: "キーワード",
    id: "データセットID",
    standard: "準拠する標準",
    format: "形式",
    size: "サイズ",
    caption_res: "の配布形式、サイズ、SHA-256、ダウンロード数",
    machine: "機械判読用のカタログ",
    machine_intro: "ポータルサイトや開発者向けに、同じ内容を機械判読できる形式でも提供しています。",
    none: "—",
    empty: "公開中のデータセットはまだありません。",
    total: "合計",
    other_dl: "その他の取得",
};

const EN: Words = Words {
    skip: "Skip to content",
    other_lang: "日本語",
    intro: "The data published by the city. Anyone may use it, commercially too, under the \
            licence (credit the source). Download each dataset from the links in the tables below.",
    list: "Datasets",
    caption_list: "Published datasets. Downloads are summed over all formats.",
    dataset: "Dataset",
    updated: "Last updated",
    records: "Records",
    formats: "Formats",
    downloads: "Downloads",
    details: "Dataset details",
    license: "Licence",
    publisher: "Publisher",
    version: "Version",
    keywords: "Keywords",
    id: "Dataset id",
    standard: "Conforms to",
    format: "Format",
    size: "Size",
    caption_res: ": formats, size, SHA-256 and downloads",
    machine: "Machine-readable catalog",
    machine_intro: "The same catalog for portals and developers:",
    none: "—",
    empty: "No dataset has been published yet.",
    total: "Total",
    other_dl: "Other requests",
};

/// The catalog as an HTML page in `lang`. All text is escaped.
pub fn html(cat: &Catalog, lang: Lang) -> String {
    let w = match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    };
    let other = match lang {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    let base = esc(&cat.base);
    let page_title = esc(&cat.title(lang));
    let publisher = format!("<span lang=\"ja\">{}</span>", esc(&cat.publisher));
    let lic_name = match lang {
        Lang::Ja => &cat.license.title_ja,
        Lang::En => &cat.license.title_en,
    };
    let lic = match &cat.license.url {
        Some(u) => format!(
            "<a href=\"{}\" rel=\"license\">{}</a>",
            esc(u),
            esc(lic_name)
        ),
        None => esc(lic_name),
    };
    let mut h = String::with_capacity(32 * 1024);
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{lt}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{page_title}</title>\n\
         <link rel=\"alternate\" type=\"application/ld+json\" href=\"{base}/catalog.jsonld\">\n\
         <link rel=\"alternate\" hreflang=\"{ot}\" href=\"{base}/catalog{oq}\">\n\
         <style>{CSS}</style>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">{skip}</a>\n<header>\n\
         <nav aria-label=\"{nav}\"><a href=\"{base}/catalog{oq}\" hreflang=\"{ot}\" lang=\"{ot}\">{ol}</a></nav>\n\
         <h1>{page_title}</h1>\n<p>{intro}</p>\n\
         <p>{lic_label}: {lic}<br>{pub_label}: {publisher}</p>\n</header>\n<main id=\"main\">",
        lt = lang.tag(),
        ot = other.tag(),
        oq = if other == Lang::En { "?lang=en" } else { "" },
        skip = w.skip,
        nav = if lang == Lang::Ja { "言語" } else { "Language" },
        ol = w.other_lang,
        intro = w.intro,
        lic_label = w.license,
        pub_label = w.publisher,
    );
    // Summary table.
    let _ = writeln!(h, "<h2 id=\"list\">{}</h2>", w.list);
    if cat.entries.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", w.empty);
    } else {
        let _ = writeln!(
            h,
            "<div class=\"wrap\"><table>\n<caption>{}</caption>\n<thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>",
            w.caption_list, w.dataset, w.updated, w.records, w.formats, w.downloads
        );
        for e in &cat.entries {
            let d = e.dataset;
            let formats: Vec<String> = e
                .resources
                .iter()
                .map(|r| format!("<a href=\"{}\">{}</a>", esc(&r.url), esc(r.kind.format())))
                .collect();
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\"><a href=\"#{d}\">{}</a></th>\
                 <td><time datetime=\"{}\">{}</time></td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"num\">{}</td></tr>",
                esc(title(d, lang)),
                esc(&xsd_time(&e.modified)),
                esc(&human_time(&e.modified, lang)),
                fmt_int(e.records as u64),
                formats.join(", "),
                fmt_int(e.downloads()),
            );
        }
        let _ = writeln!(h, "</tbody>\n</table></div>");
    }
    // Details.
    if !cat.entries.is_empty() {
        let _ = writeln!(h, "<h2 id=\"details\">{}</h2>", w.details);
    }
    for e in &cat.entries {
        let d = e.dataset;
        let _ = writeln!(
            h,
            "<section id=\"{d}\" aria-labelledby=\"{d}-title\">\n<h3 id=\"{d}-title\">{}</h3>\n\
             <p class=\"alt\" lang=\"{}\">{}</p>",
            esc(title(d, lang)),
            other.tag(),
            esc(title(d, other)),
        );
        if let Some((ja, en)) = standard(d) {
            let _ = writeln!(
                h,
                "<p><span class=\"badge\">{}</span></p>",
                esc(if lang == Lang::Ja { ja } else { en })
            );
        }
        let _ = writeln!(h, "<p>{}</p>\n<dl>", esc(description(d, lang)));
        let kw: Vec<String> = match lang {
            Lang::Ja => tags(d).iter().map(|t| esc(t)).collect(),
            Lang::En => keywords_en(d).iter().map(|t| esc(t)).collect(),
        };
        let _ = writeln!(
            h,
            "<dt>{}</dt><dd>{lic}</dd>\n<dt>{}</dt><dd>{publisher}</dd>\n\
             <dt>{}</dt><dd><time datetime=\"{}\">{}</time>（{} {}）</dd>\n\
             <dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd><code>{d}</code></dd>",
            w.license,
            w.publisher,
            w.updated,
            esc(&xsd_time(&e.modified)),
            esc(&human_time(&e.modified, lang)),
            w.version,
            e.version,
            w.records,
            fmt_int(e.records as u64),
            w.keywords,
            kw.join(", "),
            w.id,
        );
        if let Some((ja, en)) = standard(d) {
            let _ = writeln!(
                h,
                "<dt>{}</dt><dd>{}</dd>",
                w.standard,
                esc(if lang == Lang::Ja { ja } else { en })
            );
        }
        let _ = writeln!(
            h,
            "</dl>\n<div class=\"wrap\"><table>\n<caption>{}{}</caption>\n<thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">SHA-256</th>\
             <th scope=\"col\">{}</th></tr></thead>\n<tbody>",
            esc(title(d, lang)),
            w.caption_res,
            w.format,
            w.size,
            w.downloads
        );
        for r in &e.resources {
            let (size, hash) = match &r.digest {
                Some(g) => (
                    format!(
                        "{} <span class=\"alt\">({} bytes)</span>",
                        fmt_size(g.size),
                        fmt_int(g.size)
                    ),
                    format!("<code>{}</code>", esc(&g.sha256)),
                ),
                None => (w.none.to_string(), w.none.to_string()),
            };
            let dl = if r.kind.is_download() || r.downloads > 0 {
                fmt_int(r.downloads)
            } else {
                w.none.to_string()
            };
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\"><a href=\"{}\" type=\"{}\">{}</a><br><small>{}</small></th>\
                 <td class=\"num\">{size}</td><td>{hash}</td><td class=\"num\">{dl}</td></tr>",
                esc(&r.url),
                esc(r.kind.media_type()),
                esc(r.kind.format()),
                esc(r.kind.description(lang)),
            );
        }
        let _ = writeln!(
            h,
            "</tbody>\n<tfoot><tr><th scope=\"row\" colspan=\"3\">{}</th><td class=\"num\">{}</td></tr></tfoot>\n</table></div>",
            w.total,
            fmt_int(e.downloads())
        );
        if let Some(n) = cat.other_downloads.get(&d) {
            let _ = writeln!(h, "<p>{}: {}</p>", w.other_dl, fmt_int(*n));
        }
        let _ = writeln!(h, "</section>");
    }
    // Machine-readable forms.
    let _ = writeln!(
        h,
        "<h2 id=\"machine\">{}</h2>\n<p>{}</p>\n<ul>\n\
         <li><a href=\"{base}/catalog.jsonld\" type=\"application/ld+json\">DCAT (JSON-LD)</a></li>\n\
         <li><a href=\"{base}/api/3/action/package_list\">CKAN API</a> (<code>{base}/api/3/action/</code>)</li>\n\
         <li><a href=\"{base}/openapi.json\">OpenAPI</a></li>\n</ul>\n</main>\n\
         <footer><p>{}: {publisher}<br>{}: {lic}</p></footer>\n</body>\n</html>",
        w.machine, w.machine_intro, w.publisher, w.license,
    );
    h
}

// ---------------------------------------------------------------------------------------------
// Handlers
// ---------------------------------------------------------------------------------------------

/// Build the catalog off the async threads (the first digest of a version hashes its bytes).
async fn load_catalog(st: &Arc<AppState>, headers: &HeaderMap) -> Result<Catalog, String> {
    let st = st.clone();
    let base = st.base_url(headers);
    tokio::task::spawn_blocking(move || {
        let snap = st.snapshot.load_full();
        build_catalog(
            &snap,
            &st.config,
            &base,
            &|d| st.downloads.of(d),
            &crate::export::digest,
        )
    })
    .await
    .map_err(|e| e.to_string())
}

fn with_headers(mut resp: Response, content_type: &'static str) -> Response {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

async fn get_html(
    State(st): State<Arc<AppState>>,
    headers: HeaderMap,
    Query(qs): Query<HashMap<String, String>>,
) -> Response {
    let lang = Lang::parse(qs.get("lang").map(String::as_str));
    let cat = match load_catalog(&st, &headers).await {
        Ok(c) => c,
        Err(e) => return ApiError::Internal(e).into_response(),
    };
    let mut resp = with_headers(html(&cat, lang).into_response(), "text/html; charset=utf-8");
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&csp()) {
        h.insert(header::CONTENT_SECURITY_POLICY, v);
    }
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("strict-origin-when-cross-origin"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(lang.tag()),
    );
    resp
}

async fn get_jsonld(State(st): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    match load_catalog(&st, &headers).await {
        Ok(cat) => with_headers(
            dcat(&cat).to_string().into_response(),
            "application/ld+json",
        ),
        Err(e) => ApiError::Internal(e).into_response(),
    }
}

async fn get_api_version() -> Response {
    with_headers(
        json!({"version": 3}).to_string().into_response(),
        "application/json;charset=utf-8",
    )
}

fn ckan_response(status: StatusCode, body: &Value) -> Response {
    with_headers(
        (status, body.to_string()).into_response(),
        "application/json;charset=utf-8",
    )
}

async fn ckan_action(
    State(st): State<Arc<AppState>>,
    Path(action): Path<String>,
    method: Method,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
    body: Bytes,
) -> Response {
    let base = st.base_url(&headers);
    let help = format!("{base}/api/3/action/help_show?name={action}");
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let known = ACTIONS.iter().any(|(n, _)| *n == action);
    let result = match request_params(&method, query.as_deref(), content_type, &body) {
        _ if !known => Err(CkanError::BadRequest(format!(
            "Action name not known: {action}"
        ))),
        Err(e) => Err(e),
        Ok(params) => match load_catalog(&st, &headers).await {
            Ok(cat) => run_action(&cat, &action, &params),
            Err(e) => Err(CkanError::Internal(e)),
        },
    };
    match result {
        Ok(result) => ckan_response(
            StatusCode::OK,
            &json!({"help": help, "success": true, "result": result}),
        ),
        Err(e) => {
            let (status, body) = e.to_status_body(&help);
            ckan_response(status, &body)
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Val;
    use crate::index::Feature;
    use rstar::RTree;

    fn layer(d: DatasetId, n: usize, published: &str) -> Layer {
        let features = (0..n)
            .map(|i| Feature {
                fid: i as i64 + 1,
                values: vec![Val::Null; d.columns().len()].into(),
                geom: None,
                bbox: d.has_geometry().then_some([133.9, 34.6, 133.95, 34.65]),
                label: None,
            })
            .collect();
        Layer {
            dataset: d,
            version: 2,
            published_at: published.into(),
            created_at: "2025-03-31T15:30:00Z".into(),
            source_names: "x.csv".into(),
            source_sha256: "00".into(),
            features,
            tree: RTree::new(),
            bbox: d.has_geometry().then_some([133.9, 34.6, 133.95, 34.65]),
            tileset: Default::default(),
        }
    }

    fn fake_digest(l: &Layer, f: Format) -> Digest {
        Digest {
            size: 100 + l.features.len() as u64 + u64::from(f == Format::GeoJson),
            sha256: format!("{:064x}", l.features.len()),
        }
    }

    fn catalog(publisher: &str) -> Catalog {
        let mut snap = Snapshot::default();
        // The eight datasets the fixture was written for (inland flooding and addresses left
        // unpublished).
        let ds = DatasetId::ALL
            .into_iter()
            .filter(|d| !matches!(d, DatasetId::InlandFlood | DatasetId::Addresses));
        for (i, d) in ds.enumerate() {
            if d == DatasetId::Tsunami {
                continue; // never published
            }
            let when = format!("2025-04-{:02}T10:00:00Z", i + 1);
            snap.layers.insert(d, Arc::new(layer(d, i + 1, &when)));
        }
        let config = ServeConfig {
            publisher: publisher.into(),
            ..ServeConfig::default()
        };
        let counts = |d: DatasetId| {
            let mut m = BTreeMap::new();
            if d == DatasetId::Shelters {
                m.insert("csv".to_string(), 5);
                m.insert("geojson".to_string(), 2);
                m.insert("ogc".to_string(), 1);
            }
            m
        };
        build_catalog(&snap, &config, "http://x", &counts, &fake_digest)
    }

    #[test]
    fn unpublished_datasets_are_left_out_and_stockpile_has_no_geometry_resources() {
        let c = catalog("サンプル市");
        assert_eq!(c.entries.len(), 7);
        assert!(c.entry("tsunami").is_none());
        let s = c.entry("stockpile").unwrap();
        let kinds: Vec<_> = s.resources.iter().map(|r| r.kind).collect();
        assert_eq!(kinds, vec![ResourceKind::Csv, ResourceKind::Ogc]);
        assert!(s.bbox.is_none());
        let sh = c.entry("shelters").unwrap();
        assert_eq!(sh.downloads(), 8);
        assert_eq!(sh.resources[0].downloads, 5);
    }

    #[test]
    fn package_dict_has_ckan_fields() {
        let c = catalog("サンプル市");
        let p = package(&c, c.entry("shelters").unwrap());
        assert_eq!(p["name"], "shelters");
        assert_eq!(p["title"], "指定緊急避難場所・指定避難所");
        assert_eq!(p["metadata_modified"], "2025-04-07T10:00:00");
        assert_eq!(p["license_id"], "cc-by-4.0");
        assert_eq!(
            p["license_url"],
            "https://creativecommons.org/licenses/by/4.0/"
        );
        assert_eq!(p["num_resources"], 4);
        assert_eq!(p["organization"]["name"], "339997");
        assert!(p["tags"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == STANDARD_TAG));
        let r = &p["resources"][0];
        assert_eq!(r["format"], "CSV");
        assert_eq!(r["url"], "http://x/datasets/shelters.csv");
        assert_eq!(r["size"], 107);
        assert!(r["hash"].as_str().unwrap().starts_with("sha256:"));
        assert_eq!(
            p["resources"][2]["url"],
            "http://x/ogc/collections/shelters/items"
        );
        assert_eq!(p["resources"][3]["url"], "http://x/tiles/shelters.json");
        let spatial = p["extras"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["key"] == "spatial")
            .unwrap();
        let g: Value = serde_json::from_str(spatial["value"].as_str().unwrap()).unwrap();
        assert_eq!(g["type"], "Polygon");
    }

    fn params(v: Value) -> Params {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn search_filters_pages_and_validates() {
        let c = catalog("サンプル市");
        let r = run_action(
            &c,
            "package_search",
            &params(json!({"fq": "tags:自治体標準ODS"})),
        )
        .unwrap();
        assert_eq!(r["count"], 1);
        assert_eq!(r["results"][0]["name"], "shelters");
        let r = run_action(&c, "package_search", &params(json!({"q": "避難"}))).unwrap();
        let names: Vec<&str> = r["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert_eq!(names[0], "shelters", "{names:?}");
        assert!(names.contains(&"stockpile"));
        let r = run_action(
            &c,
            "package_search",
            &params(json!({"fq": "res_format:GeoJSON"})),
        )
        .unwrap();
        assert_eq!(r["count"], 6);
        let r = run_action(
            &c,
            "package_search",
            &params(json!({"fq": "-res_format:GeoJSON"})),
        )
        .unwrap();
        assert_eq!(r["count"], 1);
        let r = run_action(
            &c,
            "package_search",
            &params(
                json!({"fq": "organization:339997", "rows": "2", "start": "1", "sort": "name asc"}),
            ),
        )
        .unwrap();
        assert_eq!(r["count"], 7);
        assert_eq!(r["results"].as_array().unwrap().len(), 2);
        assert_eq!(r["results"][0]["name"], "landslide");
        let r = run_action(
            &c,
            "package_search",
            &params(json!({"fq": "metadata_modified:[2025-04-06T00:00:00Z TO *]"})),
        )
        .unwrap();
        assert_eq!(r["count"], 3);
        let r = run_action(&c, "package_search", &params(json!({"rows": 5000}))).unwrap();
        assert_eq!(r["results"].as_array().unwrap().len(), 7);
        assert_eq!(
            run_action(
                &c,
                "package_search",
                &params(json!({"rows": "x", "start": -1}))
            ),
            Err(CkanError::Validation(BTreeMap::from([
                ("rows".into(), vec!["Invalid integer".into()]),
                ("start".into(), vec!["Must be a natural number".into()]),
            ])))
        );
        assert!(matches!(
            run_action(&c, "package_search", &params(json!({"fq": "colour:red"}))),
            Err(CkanError::Search(_))
        ));
        assert!(matches!(
            run_action(&c, "package_search", &params(json!({"sort": "bogus asc"}))),
            Err(CkanError::Search(_))
        ));
        let r = run_action(
            &c,
            "package_search",
            &params(json!({"facet.field": "[\"tags\"]", "rows": 0})),
        )
        .unwrap();
        assert_eq!(r["facets"]["tags"]["防災"], 5);
    }

    #[test]
    fn other_actions() {
        let c = catalog("サンプル市");
        assert_eq!(
            run_action(&c, "package_show", &params(json!({"id": "nope"}))),
            Err(CkanError::NotFound(None))
        );
        assert!(matches!(
            run_action(&c, "package_show", &Params::new()),
            Err(CkanError::Validation(_))
        ));
        let l = run_action(&c, "package_list", &Params::new()).unwrap();
        assert_eq!(l.as_array().unwrap().len(), 7);
        assert_eq!(l[0], "flood");
        let r = run_action(
            &c,
            "current_package_list_with_resources",
            &params(json!({"limit": 3})),
        )
        .unwrap();
        assert_eq!(r.as_array().unwrap().len(), 3);
        assert_eq!(r[0]["name"], "stockpile", "most recently modified first");
        let o = run_action(
            &c,
            "organization_list",
            &params(json!({"all_fields": "true"})),
        )
        .unwrap();
        assert_eq!(o[0]["package_count"], 7);
        assert_eq!(o[0]["title"], "サンプル市");
        assert!(run_action(&c, "status_show", &Params::new()).unwrap()["site_title"].is_string());
    }

    #[test]
    fn request_params_read_json_form_and_query() {
        let p =
            request_params(&Method::POST, None, "application/json", br#"{"rows": "2"}"#).unwrap();
        assert_eq!(p["rows"], "2");
        let p = request_params(
            &Method::GET,
            Some("fq=tags%3A%E9%98%B2%E7%81%BD&q=a+b"),
            "",
            b"",
        )
        .unwrap();
        assert_eq!(p["fq"], "tags:防災");
        assert_eq!(p["q"], "a b");
        let p = request_params(
            &Method::POST,
            None,
            "application/x-www-form-urlencoded",
            b"%7B%22id%22%3A%22x%22%7D=1",
        )
        .unwrap();
        assert_eq!(p["id"], "x");
        assert!(request_params(&Method::POST, None, "application/json", b"[1]").is_err());
        assert_eq!(crate::http::percent_decode("%"), "%");
        assert_eq!(crate::http::percent_decode("a%2"), "a%2");
    }

    #[test]
    fn dates() {
        assert_eq!(ckan_time("2025-04-01T09:30:00Z"), "2025-04-01T09:30:00");
        assert_eq!(
            human_time("2025-12-31T15:30:00Z", Lang::Ja),
            "2026年1月1日 00:30"
        );
        assert_eq!(
            human_time("2024-02-28T20:00:00Z", Lang::En),
            "2024-02-29 05:00 JST"
        );
        for days in [-1000, 0, 1, 59, 365 * 55 + 13] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(
            minus_days("2025-03-01T00:00:00", 1).unwrap(),
            "2025-02-28T00:00:00"
        );
    }

    #[test]
    fn html_escapes_and_labels() {
        let c = catalog("<script>alert('x')</script>&");
        let h = html(&c, Lang::Ja);
        assert!(h.contains("<html lang=\"ja\">"));
        assert!(!h.contains("<script>"));
        assert!(h.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;&amp;"));
        assert!(h.contains("<th scope=\"row\">"));
        let e = html(&c, Lang::En);
        assert!(e.contains("<html lang=\"en\">"));
        assert!(e.contains("Evacuation sites and shelters"));
    }

    #[test]
    fn dcat_has_distributions_with_checksums() {
        let c = catalog("サンプル市");
        let d = dcat(&c);
        let ds = d["dcat:dataset"].as_array().unwrap();
        assert_eq!(ds.len(), 7);
        let sh = ds
            .iter()
            .find(|x| x["dct:identifier"] == "shelters")
            .unwrap();
        assert!(sh["dct:spatial"]["dcat:bbox"]["@value"]
            .as_str()
            .unwrap()
            .starts_with("POLYGON(("));
        let csv = &sh["dcat:distribution"][0];
        assert_eq!(csv["dcat:byteSize"]["@value"], 107);
        let st = ds
            .iter()
            .find(|x| x["dct:identifier"] == "stockpile")
            .unwrap();
        assert!(st.get("dct:spatial").is_none());
    }

    #[test]
    fn base64_matches_known_vectors() {
        assert_eq!(b64(b""), "");
        assert_eq!(b64(b"f"), "Zg==");
        assert_eq!(b64(b"fo"), "Zm8=");
        assert_eq!(b64(b"foo"), "Zm9v");
        assert_eq!(b64(b"foobar"), "Zm9vYmFy");
    }

    #[test]
    fn unknown_licence_keeps_its_id() {
        let l = license("my-city-terms");
        assert_eq!(l.title_en, "my-city-terms");
        assert!(l.url.is_none());
        assert_eq!(
            license("CC-BY-4.0").url.as_deref(),
            Some("https://creativecommons.org/licenses/by/4.0/")
        );
    }
}
