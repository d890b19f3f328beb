//! The datasets machimap publishes and the canonical table of each.
//!
//! The column lists here are the single source of truth: the store creates its tables from them,
//! the normalisers fill them in this order, and `datasets/README.md` documents them (a test keeps
//! that file in step).

use serde::Serialize;
use std::fmt;
use std::str::FromStr;

/// One of the datasets a city publishes. A closed set, so an enum (not a trait).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum DatasetId {
    /// 町丁・字 boundaries.
    Wards,
    /// 洪水浸水想定区域.
    Flood,
    /// 内水浸水想定区域 (inland flooding: rain that drains cannot carry away, distinct from a
    /// river overflowing; the shelter schema flags it separately).
    InlandFlood,
    /// 土砂災害警戒区域.
    Landslide,
    /// 津波浸水想定.
    Tsunami,
    /// 高潮浸水想定区域.
    StormSurge,
    /// 道路台帳 (road ledger).
    Roads,
    /// 指定緊急避難場所 / 指定避難所.
    Shelters,
    /// 備蓄品 (stockpile per shelter).
    Stockpile,
    /// アドレス・ベース・レジストリ addresses: 町字, 住居表示 街区 / 住居 and 地番 points, for
    /// finding a resident's home by its address.
    Addresses,
}

/// What kind of record a dataset holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Ward polygons.
    Ward,
    /// Hazard polygons (all five hazards share one schema).
    Hazard,
    /// Road lines.
    Road,
    /// Shelter points.
    Shelter,
    /// Stockpile rows without geometry.
    Stockpile,
    /// Address points (町字, 街区, 住居, 地番).
    Address,
}

impl DatasetId {
    /// All datasets, in catalog order.
    pub const ALL: [DatasetId; 10] = [
        DatasetId::Wards,
        DatasetId::Flood,
        DatasetId::InlandFlood,
        DatasetId::Landslide,
        DatasetId::Tsunami,
        DatasetId::StormSurge,
        DatasetId::Roads,
        DatasetId::Shelters,
        DatasetId::Stockpile,
        DatasetId::Addresses,
    ];

    /// The ids of [`DatasetId::ALL`], in the same order (the API description's enum).
    pub const NAMES: [&'static str; 10] = [
        "wards",
        "flood",
        "inland_flood",
        "landslide",
        "tsunami",
        "storm_surge",
        "roads",
        "shelters",
        "stockpile",
        "addresses",
    ];

    /// The id used in URLs, table names and the CLI.
    pub fn as_str(self) -> &'static str {
        // NAMES follows the declaration order (checked by `ids_round_trip`).
        Self::NAMES[self as usize]
    }

    /// The record kind.
    pub fn kind(self) -> Kind {
        match self {
            DatasetId::Wards => Kind::Ward,
            DatasetId::Flood
            | DatasetId::InlandFlood
            | DatasetId::Landslide
            | DatasetId::Tsunami
            | DatasetId::StormSurge => Kind::Hazard,
            DatasetId::Roads => Kind::Road,
            DatasetId::Shelters => Kind::Shelter,
            DatasetId::Stockpile => Kind::Stockpile,
            DatasetId::Addresses => Kind::Address,
        }
    }

    /// Japanese title.
    pub fn title_ja(self) -> &'static str {
        match self {
            DatasetId::Wards => "町丁・字界",
            DatasetId::Flood => "洪水浸水想定区域",
            DatasetId::InlandFlood => "内水浸水想定区域",
            DatasetId::Landslide => "土砂災害警戒区域",
            DatasetId::Tsunami => "津波浸水想定",
            DatasetId::StormSurge => "高潮浸水想定区域",
            DatasetId::Roads => "道路台帳（市道）",
            DatasetId::Shelters => "指定緊急避難場所・指定避難所",
            DatasetId::Stockpile => "避難所備蓄品",
            DatasetId::Addresses => "住所（アドレス・ベース・レジストリ）",
        }
    }

    /// English title.
    pub fn title_en(self) -> &'static str {
        match self {
            DatasetId::Wards => "Wards (town and block boundaries)",
            DatasetId::Flood => "Flood inundation zones",
            DatasetId::InlandFlood => "Inland flooding zones (内水氾濫)",
            DatasetId::Landslide => "Landslide hazard zones",
            DatasetId::Tsunami => "Tsunami inundation zones",
            DatasetId::StormSurge => "Storm surge inundation zones",
            DatasetId::Roads => "Road ledger (municipal roads)",
            DatasetId::Shelters => "Evacuation sites and shelters",
            DatasetId::Stockpile => "Shelter stockpiles",
            DatasetId::Addresses => "Addresses (Address Base Registry points)",
        }
    }

    /// True when records carry a geometry.
    pub fn has_geometry(self) -> bool {
        self.kind() != Kind::Stockpile
    }

    /// True when the resident map draws the dataset: every dataset with geometry except
    /// `addresses`, a lookup table for the address search (a city's hundreds of thousands of
    /// house points would fill every tile and crowd out the hazard zones).
    pub fn is_map_layer(self) -> bool {
        self.has_geometry() && self != DatasetId::Addresses
    }

    /// The table's kind-specific columns, between `fid` and the geometry columns.
    pub fn columns(self) -> &'static [Column] {
        match self.kind() {
            Kind::Ward => WARD_COLUMNS,
            Kind::Hazard => HAZARD_COLUMNS,
            Kind::Road => ROAD_COLUMNS,
            Kind::Shelter => SHELTER_COLUMNS,
            Kind::Stockpile => STOCKPILE_COLUMNS,
            Kind::Address => ADDRESS_COLUMNS,
        }
    }
}

impl fmt::Display for DatasetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An unknown dataset id.
#[derive(Debug, thiserror::Error)]
#[error("unknown dataset {0:?}: expected one of wards, flood, inland_flood, landslide, tsunami, storm_surge, roads, shelters, stockpile, addresses")]
pub struct UnknownDataset(pub String);

impl FromStr for DatasetId {
    type Err = UnknownDataset;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DatasetId::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| UnknownDataset(s.to_string()))
    }
}

/// SQL type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SqlType {
    /// VARCHAR
    Text,
    /// BIGINT
    Int,
    /// DOUBLE
    Float,
    /// BOOLEAN
    Bool,
    /// DATE (ISO text on the way in)
    Date,
}

impl SqlType {
    /// DuckDB type name.
    pub fn sql(self) -> &'static str {
        match self {
            SqlType::Text => "VARCHAR",
            SqlType::Int => "BIGINT",
            SqlType::Float => "DOUBLE",
            SqlType::Bool => "BOOLEAN",
            SqlType::Date => "DATE",
        }
    }
}

/// One documented column.
#[derive(Debug)]
pub struct Column {
    /// Column name in the table.
    pub name: &'static str,
    /// Its type.
    pub ty: SqlType,
    /// What it holds and where it comes from.
    pub doc: &'static str,
}

const fn c(name: &'static str, ty: SqlType, doc: &'static str) -> Column {
    Column { name, ty, doc }
}
use SqlType::{Bool, Date, Float, Int, Text};

/// Columns of `wards`.
pub const WARD_COLUMNS: &[Column] = &[
    c("code", Text, "Area code: e-Stat KEY_CODE (11 digits), N03 行政区域コード, or the code column of a plain file"),
    c("name", Text, "町丁・字 name (S_NAME; N03_004 + N03_005)"),
    c("name_kana", Text, "Reading, when the source has one"),
    c("city_code", Text, "全国地方公共団体コード of the municipality (6 digits with check digit)"),
    c("population", Int, "Population (JINKO), census year of the source"),
    c("households", Int, "Households (SETAI)"),
    c("parts", Int, "Number of source features dissolved into this ward"),
    c("source_layout", Text, "estat | n03 | generic"),
];

/// Columns of `flood`, `landslide`, `tsunami`, `storm_surge`.
pub const HAZARD_COLUMNS: &[Column] = &[
    c(
        "hazard",
        Text,
        "flood | inland_flood | landslide | tsunami | storm_surge",
    ),
    c(
        "scenario",
        Text,
        "想定最大規模 (L2) or 計画規模 (L1) for floods; NULL when the source does not say",
    ),
    c(
        "depth_rank",
        Int,
        "A31a water_depth_code 1–6 (floods); NULL otherwise",
    ),
    c(
        "depth_min_m",
        Float,
        "Lower bound of the depth band in metres (inclusive)",
    ),
    c(
        "depth_max_m",
        Float,
        "Upper bound in metres (exclusive); NULL for open-ended bands such as 20m以上",
    ),
    c(
        "depth_label",
        Text,
        "Band as text, normalised (e.g. 0.5m以上3.0m未満)",
    ),
    c(
        "phenomenon",
        Int,
        "A33 現象の種類: 1 急傾斜地の崩壊, 2 土石流, 3 地滑り",
    ),
    c(
        "zone_class",
        Int,
        "A33 区域区分: 1 警戒区域, 2 特別警戒区域, 3 警戒区域(指定前), 4 特別警戒区域(指定前)",
    ),
    c(
        "designated",
        Bool,
        "True when the zone is officially designated (A33 1/2), false for 指定前 (3/4)",
    ),
    c("river_code", Text, "A31a river code"),
    c("river_name", Text, "A31a river name"),
    c("zone_name", Text, "A33 区域名 / 区域番号"),
    c(
        "source_layout",
        Text,
        "a31a | a31_v2 | a31_v1 | a33 | a40 | a49 | generic",
    ),
    c(
        "family",
        Text,
        "What the zone maps: depth (A31a 10 計画規模 / 20 想定最大規模, and every depth band of the other hazards) | duration (A31a 30 浸水継続時間) | collapse (A31a 41/42 家屋倒壊等氾濫想定区域); NULL for landslide zones",
    ),
    c(
        "duration_class",
        Int,
        "A31a_305 浸水継続時間 class: 1 <12 h, 2 12 h–1 day, 3 1–3 days, 4 3 days–1 week, 5 1–2 weeks, 6 2–4 weeks, 7 ≥4 weeks; NULL when not given or not in the code list",
    ),
    c(
        "collapse_type",
        Int,
        "A31a_405 家屋倒壊等氾濫想定区域: 1 氾濫流 (flood flow), 2 河岸侵食 (bank erosion), 3 both; NULL when not in the code list (the zone is still a collapse zone)",
    ),
];

/// Columns of `roads`.
pub const ROAD_COLUMNS: &[Column] = &[
    c("route_no", Text, "路線番号"),
    c("route_name", Text, "路線名"),
    c(
        "road_class",
        Text,
        "道路種別: 1級 | 2級 | その他 | 緊急輸送道路1次 | 緊急輸送道路2次 | 緊急輸送道路3次",
    ),
    c("start_point", Text, "起点"),
    c("end_point", Text, "終点"),
    c("length_m", Float, "実延長 (m) as recorded in the ledger"),
    c(
        "geom_length_m",
        Float,
        "Length computed from the geometry (geodesic, m)",
    ),
    c("width_m", Float, "幅員 (m)"),
    c("certified_on", Date, "認定年月日"),
    c("note", Text, "備考"),
];

/// Columns of `shelters`.
pub const SHELTER_COLUMNS: &[Column] = &[
    c(
        "id",
        Text,
        "ID of the 03 layout (or NO of GSI files when no ID)",
    ),
    c(
        "common_id",
        Text,
        "全国共通避難所・避難場所ID (共通ID, 14 characters)",
    ),
    c("lg_code", Text, "全国地方公共団体コード"),
    c("name", Text, "名称"),
    c("name_kana", Text, "名称_カナ"),
    c("name_en", Text, "名称_英字 (also read from 名称_英語)"),
    c("address", Text, "所在地_連結表記 (G3) or 住所 (G1/GSI)"),
    c("address_pref", Text, "所在地_都道府県"),
    c("address_city", Text, "所在地_市区町村"),
    c("address_town", Text, "所在地_町字"),
    c("address_number", Text, "所在地_番地以下"),
    c("building", Text, "建物名等(方書)"),
    c("town_id", Text, "町字ID"),
    c("address_lg_code", Text, "所在地_全国地方公共団体コード"),
    c("lat", Float, "緯度 (JGD2011)"),
    c("lon", Float, "経度 (JGD2011)"),
    c("altitude_m", Float, "標高 (m)"),
    c("phone", Text, "電話番号"),
    c("phone_ext", Text, "内線番号"),
    c("email", Text, "連絡先メールアドレス"),
    c("form_url", Text, "連絡先FormURL"),
    c("contact_note", Text, "連絡先備考（その他、SNSなど）"),
    c("postcode", Text, "郵便番号 (7 digits)"),
    c(
        "city_code",
        Text,
        "市区町村コード (establishing municipality)",
    ),
    c("lg_name", Text, "地方公共団体名"),
    c("flood", Bool, "災害種別_洪水"),
    c("landslide", Bool, "災害種別_崖崩れ、土石流及び地滑り"),
    c("storm_surge", Bool, "災害種別_高潮"),
    c("earthquake", Bool, "災害種別_地震"),
    c("tsunami", Bool, "災害種別_津波"),
    c("large_fire", Bool, "災害種別_大規模な火事"),
    c("inland_flood", Bool, "災害種別_内水氾濫"),
    c("volcano", Bool, "災害種別_火山現象"),
    c(
        "conditional",
        Text,
        "Hazards designated with a condition (△, 条件付): ;-separated column names, e.g. flood;landslide. Their flag is NULL: neither yes nor no",
    ),
    c("is_emergency_site", Bool, "Designated 指定緊急避難場所"),
    c(
        "is_shelter",
        Bool,
        "Designated 指定避難所 (指定避難所との重複, or listed in a GSI _1 file)",
    ),
    c("capacity", Int, "想定収容人数"),
    c("communities", Text, "対象となる町会・自治会 (;-separated)"),
    c(
        "accepts",
        Text,
        "受入対象者 (GSI _1), e.g. 要配慮者 for 福祉避難所",
    ),
    c("url", Text, "URL"),
    c("image", Text, "画像"),
    c("image_license", Text, "画像_ライセンス"),
    c("note", Text, "備考"),
    c(
        "source_layout",
        Text,
        "ods_g3 | ods_g1 | gsi_1 | gsi_2 | list_opening | list_tsunami_refuge | list (several when merged, joined by +)",
    ),
];

/// Columns of `stockpile`.
pub const STOCKPILE_COLUMNS: &[Column] = &[
    c("lg_code", Text, "全国地方公共団体コード"),
    c("id", Text, "ID of the row"),
    c("shelter_common_id", Text, "避難所_共通ID"),
    c("shelter_id", Text, "避難所_ID (ID in the shelters dataset)"),
    c(
        "shelter_fid",
        Int,
        "fid of the linked shelter in the published shelters version",
    ),
    c("location_name", Text, "保管場所名称"),
    c(
        "location_type",
        Text,
        "保管場所種別: 避難所 | 備蓄倉庫 | 庁舎",
    ),
    c(
        "category",
        Text,
        "品目分類: 食料 | 飲料水 | 生活必需品 | 衛生用品 | 資機材 | 医薬品",
    ),
    c("item", Text, "品名"),
    c("spec", Text, "規格"),
    c("quantity", Float, "数量"),
    c("unit", Text, "単位"),
    c("expiry", Date, "賞味期限 / 使用期限"),
    c("updated_on", Date, "更新年月日 (last checked)"),
    c("lat", Float, "緯度 of the storage place, when given"),
    c("lon", Float, "経度 of the storage place, when given"),
    c("note", Text, "備考"),
];

/// Columns of `addresses`: one row per 町字, 街区, 住居 or 地番 of the アドレス・ベース・レジストリ,
/// its base file (names, numbers) joined to its 位置参照 file (representative point) by id.
pub const ADDRESS_COLUMNS: &[Column] = &[
    c(
        "precision",
        Text,
        "What the row's point stands for: machiaza (町字) | block (住居表示 街区) | residence (住居表示 住居) | parcel (地番)",
    ),
    c("lg_code", Text, "全国地方公共団体コード (lg_code, 6 digits)"),
    c("machiaza_id", Text, "町字ID (machiaza_id, 7 digits)"),
    c("blk_id", Text, "街区ID (blk_id, 3 digits); blocks and residences"),
    c("rsdt_id", Text, "住居ID (rsdt_id, 3 digits); residences"),
    c("rsdt2_id", Text, "住居2ID (rsdt2_id); residences, often empty"),
    c("prc_id", Text, "地番ID (prc_id, 15 digits); parcels"),
    c("pref", Text, "都道府県名"),
    c("pref_kana", Text, "都道府県名_カナ"),
    c("pref_roma", Text, "都道府県名_英字"),
    c("county", Text, "郡名"),
    c("city", Text, "市区町村名"),
    c("city_kana", Text, "市区町村名_カナ"),
    c("city_roma", Text, "市区町村名_英字"),
    c("ward", Text, "政令市区名"),
    c("ward_kana", Text, "政令市区名_カナ"),
    c("ward_roma", Text, "政令市区名_英字"),
    c("oaza_cho", Text, "大字・町名 (as written, 大字 kept)"),
    c("oaza_cho_kana", Text, "大字・町名_カナ"),
    c("oaza_cho_roma", Text, "大字・町名_英字"),
    c("chome", Text, "丁目名 (as written: 五丁目 or ７丁目)"),
    c("chome_kana", Text, "丁目名_カナ"),
    c("chome_number", Int, "丁目名_数字"),
    c("koaza", Text, "小字名 (as written, 字 kept)"),
    c("koaza_kana", Text, "小字名_カナ"),
    c("koaza_roma", Text, "小字名_英字"),
    c("blk_num", Text, "街区符号"),
    c("rsdt_num", Text, "住居番号"),
    c("rsdt_num2", Text, "住居番号2"),
    c("prc_num1", Text, "地番1"),
    c("prc_num2", Text, "地番2"),
    c("prc_num3", Text, "地番3"),
    c(
        "rsdt_addr_flg",
        Int,
        "住居表示フラグ: 1 住居表示 (residence indication), 0 地番 (parcel numbering)",
    ),
    c(
        "address",
        Text,
        "The address written out (e.g. 岡山県サンプル市泉町一丁目3番5号)",
    ),
    c("lon", Float, "代表点 longitude, JGD2011 (rep_lon transformed from rep_srid)"),
    c("lat", Float, "代表点 latitude, JGD2011"),
    c(
        "src_srid",
        Text,
        "代表点_座標参照系 as the row gave it (EPSG:6668 JGD2011, EPSG:4612 JGD2000)",
    ),
    c(
        "source_layout",
        Text,
        "abr (English headers) | abr_ja (older Japanese headers)",
    ),
];

/// A value of one column in one row.
#[derive(Clone, Debug, PartialEq)]
pub enum Val {
    /// SQL NULL.
    Null,
    /// Integer.
    Int(i64),
    /// Floating point.
    Float(f64),
    /// Text (also dates, as `YYYY-MM-DD`). Shared, because a published layer holds the same
    /// few values (a river name, a depth band) in a million features: loading interns them.
    Text(std::sync::Arc<str>),
    /// Boolean.
    Bool(bool),
}

impl Val {
    /// Text or NULL for an empty string.
    pub fn text(s: impl Into<String>) -> Val {
        let s = s.into();
        if s.is_empty() {
            Val::Null
        } else {
            Val::Text(s.into())
        }
    }
    /// Text or NULL.
    pub fn opt_text(s: Option<String>) -> Val {
        s.map_or(Val::Null, Val::text)
    }
    /// The value as text, for CSV output and diffs.
    pub fn as_text(&self) -> Option<String> {
        match self {
            Val::Null => None,
            Val::Int(i) => Some(i.to_string()),
            Val::Float(f) => Some(fmt_float(*f)),
            Val::Text(s) => Some(s.to_string()),
            Val::Bool(b) => Some(if *b { "1".into() } else { String::new() }),
        }
    }
}

pub use machimap_risk::fmt_float;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        for d in DatasetId::ALL {
            assert_eq!(d.as_str().parse::<DatasetId>().unwrap(), d);
        }
        assert!("parks".parse::<DatasetId>().is_err());
        for (i, d) in DatasetId::ALL.into_iter().enumerate() {
            assert_eq!(d as usize, i, "ALL and NAMES follow the declaration order");
        }
    }

    #[test]
    fn datasets_readme_documents_every_column() {
        let readme = include_str!("../datasets/README.md");
        for d in DatasetId::ALL {
            let heading = format!("`{}`", d.as_str());
            let start = readme
                .lines()
                .position(|l| l.starts_with("## ") && l.contains(&heading))
                .unwrap_or_else(|| panic!("no section for {d}"));
            let section: String = readme
                .lines()
                .skip(start + 1)
                .take_while(|l| !l.starts_with("## "))
                .collect::<Vec<_>>()
                .join("\n");
            for c in d.columns() {
                assert!(
                    section.contains(&format!("| `{}` | {} |", c.name, c.ty.sql())),
                    "datasets/README.md: {d} lacks column {}",
                    c.name
                );
            }
        }
    }

    #[test]
    fn column_names_unique() {
        for d in DatasetId::ALL {
            let mut seen = std::collections::HashSet::new();
            for c in d.columns() {
                assert!(seen.insert(c.name), "{d}: {}", c.name);
                assert!(!["version", "fid", "geom", "raw"].contains(&c.name));
            }
        }
    }
}
