//! Risk at a point: which hazard zones contain it, what that means in plain words with the action
//! to take, and the nearest shelters designated for each hazard present that are not themselves
//! inside that hazard's zone. The resident map is built on this; `http::risk` only parses and
//! serialises.

use crate::dataset::{DatasetId, Val};
use crate::index::{Feature, Layer, Snapshot};
use geo::{Contains, Point};
use serde::Serialize;

/// Language of the sentences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    /// Japanese.
    Ja,
    /// English.
    En,
    /// やさしい日本語 (easy Japanese, for residents who are learning Japanese).
    Easy,
}

impl Lang {
    /// From `ja`, `en`, `easy` / `ja-easy`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            "easy" | "ja-easy" | "yasashii" => Some(Lang::Easy),
            _ => None,
        }
    }
}

/// One zone the point lies in.
#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    /// Feature id in the hazard dataset.
    pub fid: i64,
    /// 想定最大規模 / 計画規模 (floods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Depth band lower bound, metres.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_min_m: Option<f64>,
    /// Depth band upper bound, metres (absent when open-ended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_max_m: Option<f64>,
    /// Band as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_label: Option<String>,
    /// KSJ depth rank 1–6.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_rank: Option<i64>,
    /// Landslide phenomenon (1 steep slope, 2 debris flow, 3 landslide).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phenomenon: Option<i64>,
    /// Landslide zone class (1 yellow, 2 red, 3/4 not yet designated).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_class: Option<i64>,
    /// River (floods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub river_name: Option<String>,
}

/// Stockpile at a shelter, summed by what residents ask about.
#[derive(Debug, Clone, Default, Serialize)]
pub struct StockSummary {
    /// Drinking water (飲料水), in the units recorded (e.g. 本).
    pub water: f64,
    /// Unit of `water`.
    pub water_unit: String,
    /// Food (食料), in the units recorded (e.g. 食).
    pub food: f64,
    /// Unit of `food`.
    pub food_unit: String,
    /// Blankets (毛布), pieces.
    pub blankets: f64,
    /// Number of stockpile rows at this shelter.
    pub items: usize,
}

/// A shelter suggested for a hazard.
#[derive(Debug, Clone, Serialize)]
pub struct ShelterHit {
    /// Feature id in `shelters`.
    pub fid: i64,
    /// ID of the 03 layout.
    pub id: Option<String>,
    /// 名称.
    pub name: String,
    /// 名称_英字.
    pub name_en: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// Straight-line distance, metres.
    pub distance_m: f64,
    /// 想定収容人数.
    pub capacity: Option<i64>,
    /// 指定緊急避難場所.
    pub is_emergency_site: bool,
    /// 指定避難所.
    pub is_shelter: bool,
    /// Stockpile summary.
    pub stock: StockSummary,
}

/// The answer for one hazard.
#[derive(Debug, Clone, Serialize)]
pub struct HazardRisk {
    /// flood | inland_flood | landslide | tsunami | storm_surge.
    pub hazard: DatasetId,
    /// Hazard name in the requested language.
    pub title: String,
    /// False when the dataset is not published (then nothing can be said).
    pub data_available: bool,
    /// True when the point lies in at least one zone.
    pub in_zone: bool,
    /// The zones containing the point (worst first).
    pub zones: Vec<Zone>,
    /// A plain sentence with the action to take.
    pub message: String,
    /// When the hazard data was published.
    pub data_date: Option<String>,
    /// Nearest shelters designated for this hazard and outside its zones (when in a zone).
    pub shelters: Vec<ShelterHit>,
}

/// The whole answer.
#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    /// Query latitude.
    pub lat: f64,
    /// Query longitude.
    pub lon: f64,
    /// Language used.
    pub lang: &'static str,
    /// One entry per hazard.
    pub hazards: Vec<HazardRisk>,
    /// A one-paragraph summary to read aloud.
    pub summary: String,
    /// Nearest shelters of any designation (for orientation even when no hazard applies).
    pub nearest_shelters: Vec<ShelterHit>,
}

const HAZARDS: [DatasetId; 5] = [
    DatasetId::Flood,
    DatasetId::InlandFlood,
    DatasetId::Landslide,
    DatasetId::Tsunami,
    DatasetId::StormSurge,
];

/// How many shelters to suggest per hazard.
pub const SHELTERS_PER_HAZARD: usize = 3;

fn text(f: &Feature, l: &Layer, c: &str) -> Option<String> {
    match f.get(l.columns(), c) {
        Some(Val::Text(s)) => Some(s.to_string()),
        _ => None,
    }
}
fn int(f: &Feature, l: &Layer, c: &str) -> Option<i64> {
    match f.get(l.columns(), c) {
        Some(Val::Int(i)) => Some(*i),
        _ => None,
    }
}
fn float(f: &Feature, l: &Layer, c: &str) -> Option<f64> {
    match f.get(l.columns(), c) {
        Some(Val::Float(x)) => Some(*x),
        Some(Val::Int(i)) => Some(*i as f64),
        _ => None,
    }
}
fn flag(f: &Feature, l: &Layer, c: &str) -> bool {
    matches!(f.get(l.columns(), c), Some(Val::Bool(true)))
}

/// Features of `l` whose geometry contains the point.
pub fn containing(l: &Layer, lon: f64, lat: f64) -> Vec<&Feature> {
    let p = Point::new(lon, lat);
    l.query_bbox([lon, lat, lon, lat])
        .into_iter()
        .map(|i| &l.features[i as usize])
        .filter(|f| f.geom.as_ref().is_some_and(|g| g.contains(&p)))
        .collect()
}

/// Great-circle distance in metres.
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().asin()
}

fn zone_of(f: &Feature, l: &Layer) -> Zone {
    Zone {
        fid: f.fid,
        scenario: text(f, l, "scenario"),
        depth_min_m: float(f, l, "depth_min_m"),
        depth_max_m: float(f, l, "depth_max_m"),
        depth_label: text(f, l, "depth_label"),
        depth_rank: int(f, l, "depth_rank"),
        phenomenon: int(f, l, "phenomenon"),
        zone_class: int(f, l, "zone_class"),
        river_name: text(f, l, "river_name"),
    }
}

/// Severity for ordering zones: deeper water, red before yellow. A zone of unknown depth comes
/// after every zone of known depth, so a known depth is what the sentence says when there is one.
fn severity(z: &Zone) -> f64 {
    match z.zone_class {
        Some(2 | 4) => 100.0,
        Some(_) => 50.0,
        None if depth_unknown(z) => 0.0,
        None => z.depth_max_m.unwrap_or(1000.0) + z.depth_min_m.unwrap_or(0.0),
    }
}

/// The zone says nothing about depth (a generic file without a depth column).
fn depth_unknown(z: &Zone) -> bool {
    z.depth_min_m.is_none() && z.depth_max_m.is_none()
}

fn stock_summary(snap: &Snapshot, shelter_fid: i64) -> StockSummary {
    let mut s = StockSummary::default();
    let Some(l) = snap.layer(DatasetId::Stockpile) else {
        return s;
    };
    for f in &l.features {
        if int(f, l, "shelter_fid") != Some(shelter_fid) {
            continue;
        }
        s.items += 1;
        let q = float(f, l, "quantity").unwrap_or(0.0);
        let unit = text(f, l, "unit").unwrap_or_default();
        let cat = text(f, l, "category").unwrap_or_default();
        let item = text(f, l, "item").unwrap_or_default();
        if cat == "飲料水" {
            s.water += q;
            if s.water_unit.is_empty() {
                s.water_unit = unit;
            }
        } else if cat == "食料" {
            s.food += q;
            if s.food_unit.is_empty() {
                s.food_unit = unit;
            }
        } else if item.contains("毛布") {
            s.blankets += q;
        }
    }
    s
}

fn shelter_hit(snap: &Snapshot, l: &Layer, f: &Feature, lon: f64, lat: f64) -> Option<ShelterHit> {
    let (slon, slat) = (float(f, l, "lon")?, float(f, l, "lat")?);
    Some(ShelterHit {
        fid: f.fid,
        id: text(f, l, "id"),
        name: text(f, l, "name").unwrap_or_default(),
        name_en: text(f, l, "name_en"),
        address: text(f, l, "address"),
        lat: slat,
        lon: slon,
        distance_m: distance_m(lon, lat, slon, slat).round(),
        capacity: int(f, l, "capacity"),
        is_emergency_site: flag(f, l, "is_emergency_site"),
        is_shelter: flag(f, l, "is_shelter"),
        stock: stock_summary(snap, f.fid),
    })
}

/// Shelters flagged for `hazard` (None = any), outside every zone of `zones_layer`, nearest first.
fn nearest_shelters(
    snap: &Snapshot,
    hazard: Option<DatasetId>,
    zones_layer: Option<&Layer>,
    lon: f64,
    lat: f64,
    n: usize,
) -> Vec<ShelterHit> {
    let Some(sl) = snap.layer(DatasetId::Shelters) else {
        return Vec::new();
    };
    let mut hits: Vec<ShelterHit> = sl
        .features
        .iter()
        .filter(|f| hazard.is_none_or(|h| flag(f, sl, h.as_str())))
        .filter(|f| {
            let (Some(slon), Some(slat)) = (float(f, sl, "lon"), float(f, sl, "lat")) else {
                return false;
            };
            zones_layer.is_none_or(|zl| containing(zl, slon, slat).is_empty())
        })
        .filter_map(|f| shelter_hit(snap, sl, f, lon, lat))
        .collect();
    hits.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    hits.truncate(n);
    hits
}

fn title(h: DatasetId, lang: Lang) -> &'static str {
    match (h, lang) {
        (DatasetId::Flood, Lang::En) => "Flood",
        (DatasetId::Flood, Lang::Ja) => "洪水",
        (DatasetId::Flood, Lang::Easy) => "川の 水が あふれる（洪水）",
        (DatasetId::Landslide, Lang::En) => "Landslide",
        (DatasetId::Landslide, Lang::Ja) => "土砂災害",
        (DatasetId::Landslide, Lang::Easy) => "がけくずれ・土石流（土砂災害）",
        (DatasetId::Tsunami, Lang::En) => "Tsunami",
        (DatasetId::Tsunami, Lang::Ja) => "津波",
        (DatasetId::Tsunami, Lang::Easy) => "つなみ",
        (DatasetId::StormSurge, Lang::En) => "Storm surge",
        (DatasetId::InlandFlood, Lang::En) => "Inland flooding",
        (DatasetId::InlandFlood, Lang::Ja) => "内水氾濫",
        (DatasetId::InlandFlood, Lang::Easy) => "大雨で まちに 水が あふれる（内水）",
        (DatasetId::StormSurge, Lang::Ja) => "高潮",
        (DatasetId::StormSurge, Lang::Easy) => "たかしお（台風で 海の 水が 上がる）",
        (_, _) => "",
    }
}

fn band_text(z: &Zone, lang: Lang) -> String {
    let f = |x: f64| crate::dataset::fmt_float(x);
    match (z.depth_min_m, z.depth_max_m, lang) {
        (Some(a), Some(b), Lang::En) if a > 0.0 => format!("{} to {} m", f(a), f(b)),
        (_, Some(b), Lang::En) => format!("up to {} m", f(b)),
        (Some(a), None, Lang::En) => format!("{} m or more", f(a)),
        (Some(a), Some(b), _) if a > 0.0 => format!("{}m以上{}m未満", f(a), f(b)),
        (_, Some(b), _) => format!("{}m未満", f(b)),
        (Some(a), None, _) => format!("{}m以上", f(a)),
        _ => String::new(),
    }
}

fn shelter_names(s: &[ShelterHit], lang: Lang) -> String {
    let names: Vec<String> = s
        .iter()
        .take(2)
        .map(|h| match lang {
            Lang::En => h.name_en.clone().unwrap_or_else(|| h.name.clone()),
            _ => h.name.clone(),
        })
        .collect();
    match lang {
        Lang::En => names.join(" or "),
        _ => names.join("または"),
    }
}

/// The sentence for one hazard.
fn message(h: DatasetId, zones: &[Zone], shelters: &[ShelterHit], lang: Lang) -> String {
    let Some(worst) = zones.first() else {
        return match lang {
            Lang::Ja => format!("この地点は{}の想定区域に入っていません。ただし想定を超える災害もあるため、避難情報に注意してください。", title(h, lang)),
            Lang::En => format!("This point is outside the mapped {} zones. Disasters can exceed the scenarios, so follow evacuation alerts.", title(h, lang).to_lowercase()),
            Lang::Easy => format!("ここは {}の きけんな ばしょでは ありません。でも ニュースや 市の お知らせに 気を つけて ください。", title(h, lang)),
        };
    };
    let go = shelter_names(shelters, lang);
    let band = band_text(worst, lang);
    let known = !depth_unknown(worst);
    // "{band}の浸水" / "{band} of water" / "水が {band} ぐらい 来ます", or their depth-unknown forms.
    let water_ja = if known {
        format!("{band}の浸水")
    } else {
        "浸水（浸水深は不明）".to_string()
    };
    let water_en = if known {
        format!("{band} of water")
    } else {
        "water of unknown depth".to_string()
    };
    let water_easy = if known {
        format!("{band} ぐらい 来ます")
    } else {
        "来ます（どのくらい 深いかは わかりません）".to_string()
    };
    match (h, lang) {
        (DatasetId::Flood, Lang::Ja) => {
            let deep = worst.depth_min_m.unwrap_or(0.0) >= 3.0;
            let how = if !known {
                "浸水の深さは分かりません。避難指示（警戒レベル4）が出たら"
            } else if deep {
                "2階まで水につかるおそれがあり、家にとどまるのは危険です。避難指示（警戒レベル4）が出たら、または出る前に明るいうちに"
            } else if worst.depth_min_m.unwrap_or(0.0) >= 0.5 {
                "1階の床上まで水につかるおそれがあります。避難指示（警戒レベル4）が出たら"
            } else {
                "床下まで水につかるおそれがあります。避難指示が出たら、または2階など高い所へ移る準備をしたうえで"
            };
            let scenario = worst.scenario.as_ref().map(|s| format!("（{s}）")).unwrap_or_default();
            format!("洪水のとき、この地点は{water_ja}が想定されています{scenario}。{how}{}へ避難してください。", if go.is_empty() { "浸水しない避難場所".into() } else { go })
        }
        (DatasetId::Flood, Lang::En) => format!(
            "In a flood this point may be under {water_en} ({}). {} When an evacuation order (alert level 4) is issued, go to {}.",
            scenario_en(worst.scenario.as_deref()),
            if worst.depth_min_m.unwrap_or(0.0) >= 3.0 { "The second floor may be flooded, so staying at home is dangerous." } else { "" },
            if go.is_empty() { "a shelter outside the flood zone".into() } else { go }
        ),
        (DatasetId::Flood, Lang::Easy) => format!(
            "大雨の とき、ここは 水が {water_easy}。「ひなん しじ」が 出たら、{}へ にげて ください。",
            if go.is_empty() { "水が 来ない ひなんじょ".into() } else { go }
        ),
        (DatasetId::Landslide, Lang::Ja) => {
            let red = matches!(worst.zone_class, Some(2 | 4));
            let pending = matches!(worst.zone_class, Some(3 | 4));
            let zone = if worst.zone_class.is_none() {
                "のおそれがある区域（区域区分は不明）".to_string()
            } else {
                format!(
                    "{}警戒区域{}",
                    if red { "特別" } else { "" },
                    if pending { "（指定前・基礎調査結果の公表済み）" } else { "" }
                )
            };
            format!(
                "この地点は土砂災害{zone}です。大雨のとき、高齢者等避難（警戒レベル3）で高齢の方などは、避難指示（警戒レベル4）で全員、区域の外の{}へ避難してください。",
                if go.is_empty() { "安全な場所".into() } else { go }
            )
        }
        (DatasetId::Landslide, Lang::En) => format!(
            "This point is in a {}landslide hazard {}. In heavy rain, older people should leave at alert level 3 and everyone at level 4, to {} outside the zone.",
            if matches!(worst.zone_class, Some(2 | 4)) { "special (red) " } else { "" },
            match worst.zone_class {
                None => "area (zone class unknown)",
                Some(3 | 4) => "zone (surveyed, not yet designated)",
                Some(_) => "zone",
            },
            if go.is_empty() { "a safe place".into() } else { go }
        ),
        (DatasetId::Landslide, Lang::Easy) => format!(
            "ここは がけくずれなどが おきやすい ばしょです。大雨の ときは はやく {}へ にげて ください。",
            if go.is_empty() { "あんぜんな ばしょ".into() } else { go }
        ),
        (DatasetId::Tsunami, Lang::Ja) => format!(
            "この地点は津波で{water_ja}が想定されています。強い揺れや長い揺れを感じたら、警報を待たずにすぐ{}や高台へ避難してください。",
            if go.is_empty() { "津波避難ビル".into() } else { go }
        ),
        (DatasetId::Tsunami, Lang::En) => format!(
            "A tsunami may flood this point with {water_en}. If you feel strong or long shaking, do not wait for a warning: go at once to {} or high ground.",
            if go.is_empty() { "a tsunami evacuation building".into() } else { go }
        ),
        (DatasetId::Tsunami, Lang::Easy) => format!(
            "つなみが 来ると、ここは 水が {water_easy}。大きく ゆれたら すぐに {}や たかい ところへ にげて ください。",
            if go.is_empty() { "たかい たてもの".into() } else { go }
        ),
        (DatasetId::InlandFlood, Lang::Ja) => format!(
            "大雨で下水道や水路があふれると（内水氾濫）、この地点は{water_ja}が想定されています。地下室や地下道、低い道路に近づかず、浸水が始まる前に{}へ避難するか、建物の2階以上へ移ってください。",
            if go.is_empty() { "内水氾濫の避難場所".into() } else { go }
        ),
        (DatasetId::InlandFlood, Lang::En) => format!(
            "When heavy rain overwhelms the drains (inland flooding), this point may be under {water_en}. Keep away from basements, underpasses and low roads; before the water rises go to {} or to an upper floor.",
            if go.is_empty() { "a site designated for inland flooding".into() } else { go }
        ),
        (DatasetId::InlandFlood, Lang::Easy) => format!(
            "大雨で まちに 水が あふれると、ここは 水が {water_easy}。ちかや ひくい みちに 行かないで、はやめに {}か たてものの 2かい より 上へ にげて ください。",
            if go.is_empty() { "水が 来ない ひなんじょ".into() } else { go }
        ),
        (DatasetId::StormSurge, Lang::Ja) => format!(
            "この地点は高潮で{water_ja}が想定されています。台風が近づくときは、早めに{}へ避難してください。",
            if go.is_empty() { "浸水しない避難場所".into() } else { go }
        ),
        (DatasetId::StormSurge, Lang::En) => format!(
            "A storm surge may flood this point with {water_en}. When a typhoon approaches, leave early for {}.",
            if go.is_empty() { "a shelter outside the zone".into() } else { go }
        ),
        (DatasetId::StormSurge, Lang::Easy) => format!(
            "台風の とき、ここは 海の 水が {water_easy}。はやめに {}へ にげて ください。",
            if go.is_empty() { "水が 来ない ひなんじょ".into() } else { go }
        ),
        _ => String::new(),
    }
}

fn scenario_en(s: Option<&str>) -> &'static str {
    match s {
        Some(crate::kinds::hazard::SCENARIO_MAX) => "largest assumed rainfall",
        Some(crate::kinds::hazard::SCENARIO_PLAN) => "planning-scale rainfall",
        _ => "mapped scenario",
    }
}

/// Answer the risk question at (lat, lon).
pub fn assess(snap: &Snapshot, lat: f64, lon: f64, lang: Lang) -> Risk {
    let mut hazards = Vec::new();
    for h in HAZARDS {
        let Some(l) = snap.layer(h) else {
            hazards.push(HazardRisk {
                hazard: h,
                title: title(h, lang).into(),
                data_available: false,
                in_zone: false,
                zones: vec![],
                message: match lang {
                    Lang::En => {
                        format!("No {} map is published yet.", title(h, lang).to_lowercase())
                    }
                    _ => format!(
                        "{}の想定区域データはまだ公開されていません。",
                        title(h, lang)
                    ),
                },
                data_date: None,
                shelters: vec![],
            });
            continue;
        };
        let mut zones: Vec<Zone> = containing(l, lon, lat)
            .into_iter()
            .map(|f| zone_of(f, l))
            .collect();
        zones.sort_by(|a, b| severity(b).total_cmp(&severity(a)));
        let shelters = if zones.is_empty() {
            vec![]
        } else {
            nearest_shelters(snap, Some(h), Some(l), lon, lat, SHELTERS_PER_HAZARD)
        };
        let message = message(h, &zones, &shelters, lang);
        hazards.push(HazardRisk {
            hazard: h,
            title: title(h, lang).into(),
            data_available: true,
            in_zone: !zones.is_empty(),
            zones,
            message,
            data_date: Some(l.published_at.clone()),
            shelters,
        });
    }
    let present: Vec<&HazardRisk> = hazards.iter().filter(|h| h.in_zone).collect();
    let summary = match (present.is_empty(), lang) {
        (true, Lang::En) => "This point is outside every mapped hazard zone. Keep following local alerts.".to_string(),
        (true, Lang::Easy) => "ここは きけんな ばしょの 地図に 入って いません。でも 市の お知らせに 気を つけて ください。".to_string(),
        (true, Lang::Ja) => "この地点はどの災害の想定区域にも入っていません。想定を超える災害もあるため、避難情報に注意してください。".to_string(),
        (false, _) => present.iter().map(|h| h.message.clone()).collect::<Vec<_>>().join(if lang == Lang::En { " " } else { "" }),
    };
    Risk {
        lat,
        lon,
        lang: match lang {
            Lang::Ja => "ja",
            Lang::En => "en",
            Lang::Easy => "easy",
        },
        nearest_shelters: nearest_shelters(snap, None, None, lon, lat, SHELTERS_PER_HAZARD),
        hazards,
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        // 0.01° of latitude ≈ 1.11 km.
        let d = distance_m(133.9, 34.6, 133.9, 34.61);
        assert!((d - 1112.0).abs() < 2.0, "{d}");
        assert_eq!(Lang::parse("en"), Some(Lang::En));
        assert_eq!(Lang::parse("fr"), None);
    }

    #[test]
    fn sentences_mention_depth_and_shelter() {
        let z = Zone {
            fid: 1,
            scenario: Some(crate::kinds::hazard::SCENARIO_MAX.into()),
            depth_min_m: Some(3.0),
            depth_max_m: Some(5.0),
            depth_label: None,
            depth_rank: Some(3),
            phenomenon: None,
            zone_class: None,
            river_name: None,
        };
        let s = ShelterHit {
            fid: 9,
            id: None,
            name: "桜台小学校".into(),
            name_en: Some("Sakuradai Elementary School".into()),
            address: None,
            lat: 0.0,
            lon: 0.0,
            distance_m: 100.0,
            capacity: None,
            is_emergency_site: true,
            is_shelter: true,
            stock: StockSummary::default(),
        };
        let ja = message(
            DatasetId::Flood,
            std::slice::from_ref(&z),
            std::slice::from_ref(&s),
            Lang::Ja,
        );
        assert!(
            ja.contains("3m以上5m未満") && ja.contains("桜台小学校") && ja.contains("2階"),
            "{ja}"
        );
        let en = message(
            DatasetId::Flood,
            std::slice::from_ref(&z),
            std::slice::from_ref(&s),
            Lang::En,
        );
        assert!(
            en.contains("3 to 5 m") && en.contains("Sakuradai Elementary School"),
            "{en}"
        );
        let easy = message(DatasetId::Flood, &[z], &[s], Lang::Easy);
        assert!(easy.contains("にげて"), "{easy}");
        let none = message(DatasetId::Tsunami, &[], &[], Lang::Ja);
        assert!(none.contains("入っていません"));
    }

    fn zone(min: Option<f64>, max: Option<f64>, zone_class: Option<i64>) -> Zone {
        Zone {
            fid: 1,
            scenario: None,
            depth_min_m: min,
            depth_max_m: max,
            depth_label: None,
            depth_rank: None,
            phenomenon: None,
            zone_class,
            river_name: None,
        }
    }

    #[test]
    fn unknown_depth_is_said_in_three_languages() {
        let z = zone(None, None, None);
        for h in [DatasetId::Flood, DatasetId::Tsunami, DatasetId::StormSurge] {
            let ja = message(h, std::slice::from_ref(&z), &[], Lang::Ja);
            assert!(ja.contains("浸水深は不明"), "{ja}");
            assert!(
                !ja.contains("床下") && !ja.contains("（）") && !ja.contains("の浸水が"),
                "{ja}"
            );
            let en = message(h, std::slice::from_ref(&z), &[], Lang::En);
            assert!(en.contains("unknown depth"), "{en}");
            assert!(
                !en.contains("under  of") && !en.contains("with  of"),
                "{en}"
            );
            let easy = message(h, std::slice::from_ref(&z), &[], Lang::Easy);
            assert!(easy.contains("わかりません"), "{easy}");
            assert!(!easy.contains("ぐらい"), "{easy}");
        }
        // A known depth is said even when a zone of unknown depth also holds the point.
        let mut zs = [z.clone(), zone(Some(0.5), Some(3.0), None)];
        zs.sort_by(|a, b| severity(b).total_cmp(&severity(a)));
        let ja = message(DatasetId::Flood, &zs, &[], Lang::Ja);
        assert!(
            ja.contains("0.5m以上3m未満") && !ja.contains("不明"),
            "{ja}"
        );
        // An open-ended band is not "unknown".
        let ja = message(
            DatasetId::Tsunami,
            &[zone(Some(20.0), None, None)],
            &[],
            Lang::Ja,
        );
        assert!(ja.contains("20m以上の浸水"), "{ja}");
    }

    #[test]
    fn landslide_zone_of_unknown_class() {
        let z = zone(None, None, None);
        let ja = message(
            DatasetId::Landslide,
            std::slice::from_ref(&z),
            &[],
            Lang::Ja,
        );
        assert!(
            ja.contains("区域区分は不明") && !ja.contains("警戒区域です"),
            "{ja}"
        );
        let en = message(DatasetId::Landslide, &[z], &[], Lang::En);
        assert!(en.contains("zone class unknown"), "{en}");
        let ja = message(
            DatasetId::Landslide,
            &[zone(None, None, Some(2))],
            &[],
            Lang::Ja,
        );
        assert!(ja.contains("土砂災害特別警戒区域です"), "{ja}");
    }
}
