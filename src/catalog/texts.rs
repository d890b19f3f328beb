//! The datasets' titles, descriptions, tags and standards, in Japanese and English.

use super::*;

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
