//! Header variants of shelter lists as cities really publish them, mapped onto the names the
//! 03 layout uses (`名称`, `緯度`, `災害種別_洪水`, …) before the layout is recognised.
//!
//! Real files name the same column many ways: GIS exports prefix every field (`USER_施設名称`),
//! older lists write `施設名` or `避難所名`, a city's own design may be in English (`name`,
//! `latitude`, `flood_L1`), and 避難所一覧 files group hazards into one column
//! (`開設される災害の種類（地震・津波）`). Each alias here is one the clerk would read the same
//! way; every rename is reported (`HEADER_ALIASED`), so a reading the clerk disagrees with is
//! visible and can be overridden by a column mapping.

use crate::text;

/// The canonical 03 hazard headers, in the order of [`super::shelters`]' flag table.
pub const FLOOD: &str = "災害種別_洪水";
/// See [`FLOOD`].
pub const LANDSLIDE: &str = "災害種別_崖崩れ、土石流及び地滑り";
/// See [`FLOOD`].
pub const STORM_SURGE: &str = "災害種別_高潮";
/// See [`FLOOD`].
pub const EARTHQUAKE: &str = "災害種別_地震";
/// See [`FLOOD`].
pub const TSUNAMI: &str = "災害種別_津波";
/// See [`FLOOD`].
pub const LARGE_FIRE: &str = "災害種別_大規模な火事";
/// See [`FLOOD`].
pub const INLAND_FLOOD: &str = "災害種別_内水氾濫";
/// See [`FLOOD`].
pub const VOLCANO: &str = "災害種別_火山現象";

/// Hazard words inside a grouped header such as `開設される災害の種類（地震・津波）`.
/// `風水害` (wind and flood damage) covers river flooding, storm surge and inland flooding.
fn hazard_word(w: &str) -> &'static [&'static str] {
    match w {
        "地震" => &[EARTHQUAKE],
        "津波" => &[TSUNAMI],
        "洪水" | "河川氾濫" => &[FLOOD],
        "水害" => &[FLOOD, INLAND_FLOOD],
        "風水害" => &[FLOOD, STORM_SURGE, INLAND_FLOOD],
        "高潮" => &[STORM_SURGE],
        "内水" | "内水氾濫" => &[INLAND_FLOOD],
        "土砂災害"
        | "土砂"
        | "崖崩れ"
        | "がけ崩れ"
        | "土石流"
        | "地滑り"
        | "地すべり"
        | "崖崩れ、土石流及び地滑り" => &[LANDSLIDE],
        "火事" | "大火" | "火災" | "大規模な火事" | "大規模火災" => &[LARGE_FIRE],
        "火山" | "火山現象" | "噴火" => &[VOLCANO],
        _ => &[],
    }
}

/// Prefixes GIS exports put before every field name.
const PREFIXES: &[&str] = &["USER_", "user_", "User_"];

/// The 03 header names (or hazard headers) a source header stands for; empty when it is not
/// a known variant (the header is then kept as it is). `h` is NFKC-normalised.
pub fn canonical(h: &str) -> Vec<String> {
    let h = h.trim();
    let stripped = PREFIXES
        .iter()
        .find_map(|p| h.strip_prefix(p))
        .filter(|r| !r.is_empty());
    let v = canonical_name(stripped.unwrap_or(h));
    match (v.is_empty(), stripped) {
        (false, _) => v.into_iter().map(str::to_string).collect(),
        // `USER_電話番号`: the name under the prefix, as the file would have written it.
        (true, Some(rest)) => vec![rest.to_string()],
        (true, None) => Vec::new(),
    }
}

fn canonical_name(h: &str) -> Vec<&'static str> {
    if let Some(v) = grouped_hazards(h) {
        return v;
    }
    let lower = h.to_ascii_lowercase();
    let one: Option<&'static str> = match h {
        "施設名"
        | "施設名称"
        | "避難所名"
        | "避難所名称"
        | "避難場所名"
        | "避難場所名称"
        | "名前"
        | "避難所・避難場所名"
        | "避難施設名"
        | "津波避難ビル名"
        | "施設・場所名称" => Some("名称"),
        "施設名(カナ)" | "施設名カナ" | "名称カナ" | "ふりがな" | "フリガナ" | "名称_ふりがな" => {
            Some("名称_カナ")
        }
        "所在地" | "所在地住所" | "施設住所" | "住所(所在地)" => Some("住所"),
        "電話" | "TEL" | "Tel" | "電話番号(代表)" | "連絡先電話番号" | "連絡先" => {
            Some("電話番号")
        }
        "収容人数" | "収容可能人数" | "想定収容人数(人)" | "収容人員" | "収容定員" => {
            Some("想定収容人数")
        }
        "標高(m)" | "海抜" | "海抜(m)" => Some("標高"),
        "緯度(世界測地系)" | "緯度(JGD2011)" | "Y座標(緯度)" => Some("緯度"),
        "経度(世界測地系)" | "経度(JGD2011)" | "X座標(経度)" => Some("経度"),
        _ => None,
    };
    if let Some(c) = one {
        return vec![c];
    }
    let en: Option<&'static str> = match lower.as_str() {
        "name" | "name_ja" | "facility" | "facility_name" | "shelter_name" => Some("名称"),
        "name_en" | "name_english" | "english_name" => Some("名称_英字"),
        "name_kana" | "kana" | "yomi" => Some("名称_カナ"),
        "address" | "addr" | "address_ja" => Some("住所"),
        "lat" | "latitude" => Some("緯度"),
        "lon" | "lng" | "long" | "longitude" => Some("経度"),
        "phone" | "tel" | "telephone" => Some("電話番号"),
        "capacity" => Some("想定収容人数"),
        "id" => Some("ID"),
        "note" | "notes" | "remarks" => Some("備考"),
        "url" | "website" => Some("URL"),
        "postcode" | "postal_code" | "zip" | "zipcode" => Some("郵便番号"),
        "altitude" | "elevation" => Some("標高"),
        _ => None,
    };
    if let Some(c) = en {
        return vec![c];
    }
    english_hazard(&lower)
}

/// `flood`, `flood_L1`, `flood_l2`, `tsunami`, … (a city's own English design). A scale suffix
/// (`_L1` planned, `_L2` maximum) still designates the site for that hazard.
fn english_hazard(lower: &str) -> Vec<&'static str> {
    let base = match lower.rsplit_once('_') {
        Some((b, "l1" | "l2")) => b,
        _ => lower,
    };
    let c = match base {
        "flood" | "river_flood" => FLOOD,
        "landslide" | "sediment" | "sediment_disaster" => LANDSLIDE,
        "storm_surge" | "stormsurge" | "high_tide" => STORM_SURGE,
        "earthquake" | "quake" => EARTHQUAKE,
        "tsunami" => TSUNAMI,
        "fire" | "large_fire" => LARGE_FIRE,
        "inland_flood" | "inland_flooding" | "inundation" => INLAND_FLOOD,
        "volcano" | "volcanic" => VOLCANO,
        _ => return Vec::new(),
    };
    vec![c]
}

/// `開設される災害の種類（地震・津波）`, `対象災害(風水害)`, `災害種別（土砂災害）`: the hazards
/// named in the brackets. None when `h` is not such a header.
fn grouped_hazards(h: &str) -> Option<Vec<&'static str>> {
    const STEMS: &[&str] = &[
        "開設される災害の種類",
        "開設する災害の種類",
        "対象とする災害",
        "対象災害",
        "災害の種類",
        "災害種別",
        "対象となる災害",
    ];
    let stem = STEMS.iter().find(|s| h.starts_with(*s))?;
    let rest = h[stem.len()..].trim_start_matches(['_', ' ']);
    let inner = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .or_else(|| (!rest.is_empty()).then_some(rest))?;
    let mut out: Vec<&'static str> = Vec::new();
    for w in inner.split(['・', '、', ',', '/', '／', ' ']) {
        let w = w.trim();
        if w.is_empty() {
            continue;
        }
        let hs = hazard_word(w);
        if hs.is_empty() {
            return None;
        }
        for c in hs {
            if !out.contains(c) {
                out.push(c);
            }
        }
    }
    (!out.is_empty()).then_some(out)
}

/// True when the header names a 避難所一覧's "opened for these disasters" column, which says
/// the file lists 指定避難所 (shelters opened per disaster) rather than emergency sites.
pub fn is_opening_column(h: &str) -> bool {
    let h = h.trim();
    h.starts_with("開設される災害の種類") || h.starts_with("開設する災害の種類")
}

/// True when the file name or a header says the list is of tsunami evacuation buildings or
/// towers (津波避難ビル・津波避難タワー・津波避難施設).
pub fn names_tsunami_refuge(file: &str, headers: &[String]) -> bool {
    let (f, _) = text::nfkc(file);
    let f_lower = f.to_ascii_lowercase();
    let words = [
        "津波避難ビル",
        "津波避難タワー",
        "津波避難施設",
        "津波避難所",
    ];
    words.iter().any(|w| f.contains(w))
        || f_lower.contains("tsunami")
        || headers.iter().any(|h| words.iter().any(|w| h.contains(w)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grouped_hazard_columns_name_every_hazard() {
        assert_eq!(
            canonical("開設される災害の種類(地震・津波)"),
            vec![EARTHQUAKE, TSUNAMI]
        );
        assert_eq!(
            canonical("開設される災害の種類(風水害)"),
            vec![FLOOD, STORM_SURGE, INLAND_FLOOD]
        );
        assert_eq!(canonical("開設される災害の種類(土砂災害)"), vec![LANDSLIDE]);
        // An unknown word makes the whole header unknown rather than half-read.
        assert!(canonical("開設される災害の種類(その他)").is_empty());
    }

    #[test]
    fn prefixes_and_english_headers() {
        assert_eq!(canonical("USER_施設名称"), vec!["名称"]);
        assert_eq!(canonical("NAME"), vec!["名称"]);
        assert_eq!(canonical("latitude"), vec!["緯度"]);
        assert_eq!(canonical("Longitude"), vec!["経度"]);
        assert_eq!(canonical("flood_L1"), vec![FLOOD]);
        assert_eq!(canonical("flood_L2"), vec![FLOOD]);
        assert_eq!(canonical("tsunami"), vec![TSUNAMI]);
        assert!(canonical("ITEM004").is_empty());
        assert!(canonical("_id").is_empty());
        // Canonical names are not aliases of themselves.
        assert!(canonical("名称").is_empty());
    }

    #[test]
    fn tsunami_refuge_lists_are_recognised_by_name() {
        assert!(names_tsunami_refuge("津波避難ビル一覧.csv", &[]));
        assert!(names_tsunami_refuge("tsunami_buildings.csv", &[]));
        assert!(names_tsunami_refuge("list.csv", &["津波避難ビル名".into()]));
        assert!(!names_tsunami_refuge("shelters.csv", &["名称".into()]));
    }
}
