//! Risk at a point: which hazard zones contain it (per river and scenario, with flood duration
//! and house-collapse zones), whether the hazard's map covers the point at all, the evacuation
//! decision for the home (`decision`: leave, stay upstairs, or nothing), and the nearest shelters
//! designated for each hazard — designated sites inside the zone included and marked, since
//! their refuge is upstairs or on the tower — with the status staff set and a crowding level.
//! The resident map is built on this; `http::risk` only parses and serialises.

pub mod decision;

use crate::admin::status::{ShelterState, StatusEvent};
use crate::dataset::{DatasetId, Val};
use crate::index::{Feature, Layer, Snapshot};
use crate::kinds::hazard::{FAMILY_COLLAPSE, FAMILY_DURATION};
use decision::{CollapseFact, Decision, DepthFact, DurationFact, FloodFacts};
use geo::{Contains, Point};
use serde::Serialize;
use std::collections::BTreeMap;

pub use crate::lang::Lang;

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
    /// River code (floods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub river_code: Option<String>,
    /// `depth`, `duration` or `collapse` (floods; see `datasets/README.md`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    /// 浸水継続時間 class 1–7.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_class: Option<i64>,
    /// 家屋倒壊等氾濫想定区域: 1 氾濫流, 2 河岸侵食, 3 both.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collapse_type: Option<i64>,
}

/// Whether the hazard's map says something at the point.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Coverage {
    /// Inside at least one zone.
    InZone,
    /// Inside the area the map covers, outside every zone.
    Outside,
    /// Outside the area the map covers (or no map published): unknown, not "no risk".
    NoData,
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
    /// 名称_カナ: the reading, for residents who read kana but not every kanji (said beside the
    /// Japanese name, which stays as written).
    pub name_kana: Option<String>,
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
    /// True when the site lies inside the hazard's zone (kept because it is designated for the
    /// hazard: its refuge floors stand above the water).
    pub in_zone: bool,
    /// What that means for the resident (refuge upstairs / on the tower), in the language asked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zone_note: Option<String>,
    /// `open`, `full`, `closed` as staff set it, or `not_open` (未開設) when never set.
    pub status: &'static str,
    /// The status in words.
    pub status_text: String,
    /// Evacuees as staff last counted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evacuees: Option<u32>,
    /// `vacant` | `somewhat` | `crowded` | `full` (evacuees ÷ capacity; see `decision::crowding`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crowding: Option<&'static str>,
    /// The crowding level in words (空いています / やや混雑 / 混雑 / 満員).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub crowding_text: Option<String>,
    /// When staff last set the status (UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_updated_at: Option<String>,
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
    /// `in_zone`, `outside` (inside the area the map covers), or `no_data`.
    pub coverage: Coverage,
    /// The depth zones containing the point, per river and scenario (worst first).
    pub zones: Vec<Zone>,
    /// The 浸水継続時間 zones containing the point (floods).
    pub duration_zones: Vec<Zone>,
    /// The 家屋倒壊等氾濫想定区域 containing the point (floods).
    pub collapse_zones: Vec<Zone>,
    /// What the resident of a home here should do; absent when nothing can be said (`no_data`)
    /// and for the hazards without a rule.
    pub decision: Option<Decision>,
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
        river_code: text(f, l, "river_code"),
        family: text(f, l, "family"),
        duration_class: int(f, l, "duration_class"),
        collapse_type: int(f, l, "collapse_type"),
    }
}

/// A zone that is a house-collapse zone: its family says so, or (generic files) it carries a
/// collapse type beside its depth.
fn is_collapse(z: &Zone) -> bool {
    z.family.as_deref() == Some(FAMILY_COLLAPSE) || z.collapse_type.is_some()
}

/// A zone of the depth family (every zone that is neither a duration nor a collapse zone).
fn is_depth(z: &Zone) -> bool {
    !matches!(
        z.family.as_deref(),
        Some(FAMILY_DURATION) | Some(FAMILY_COLLAPSE)
    )
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

/// The status staff set per shelter fid (`admin::status`), as the risk answer reads it.
pub type Statuses = BTreeMap<i64, StatusEvent>;

fn shelter_hit(
    snap: &Snapshot,
    l: &Layer,
    f: &Feature,
    lon: f64,
    lat: f64,
    st: &Statuses,
    lang: Lang,
) -> Option<ShelterHit> {
    let (slon, slat) = (float(f, l, "lon")?, float(f, l, "lat")?);
    let capacity = int(f, l, "capacity");
    let ev = st.get(&f.fid);
    let status = match ev.map(|e| e.status) {
        Some(ShelterState::Open) => "open",
        Some(ShelterState::Full) => "full",
        Some(ShelterState::Closed) => "closed",
        None => "not_open",
    };
    let crowding = match ev.map(|e| e.status) {
        Some(ShelterState::Full) => Some("full"),
        Some(ShelterState::Open) => decision::crowding(ev.and_then(|e| e.evacuees), capacity),
        _ => None,
    };
    Some(ShelterHit {
        in_zone: false,
        zone_note: None,
        status,
        status_text: decision::text(&format!("status.{status}"), lang).into(),
        evacuees: ev.and_then(|e| e.evacuees),
        crowding,
        crowding_text: crowding.map(|c| decision::text(&format!("crowding.{c}"), lang).into()),
        status_updated_at: ev.map(|e| e.at.clone()),
        fid: f.fid,
        id: text(f, l, "id"),
        name: text(f, l, "name").unwrap_or_default(),
        name_en: text(f, l, "name_en"),
        name_kana: text(f, l, "name_kana"),
        address: text(f, l, "address"),
        lat: slat,
        lon: slon,
        distance_m: distance_m(lon, lat, slon, slat).round(),
        capacity,
        is_emergency_site: flag(f, l, "is_emergency_site"),
        is_shelter: flag(f, l, "is_shelter"),
        stock: stock_summary(snap, f.fid),
    })
}

/// Shelters designated for `hazard` (None = any), nearest first. The designation is what makes
/// a site suitable: a site inside the hazard's zone is kept (the law designates tsunami
/// buildings and towers and flood shelters with high floors there) and marked, with where its
/// refuge is. Sites closed or full come after those that may take the resident, each group by
/// distance, so the nearest reachable refuge is first.
#[allow(clippy::too_many_arguments)]
fn nearest_shelters(
    snap: &Snapshot,
    hazard: Option<DatasetId>,
    zones_layer: Option<&Layer>,
    lon: f64,
    lat: f64,
    n: usize,
    st: &Statuses,
    lang: Lang,
) -> Vec<ShelterHit> {
    let Some(sl) = snap.layer(DatasetId::Shelters) else {
        return Vec::new();
    };
    let mut hits: Vec<ShelterHit> = sl
        .features
        .iter()
        .filter(|f| hazard.is_none_or(|h| flag(f, sl, h.as_str())))
        .filter_map(|f| {
            let mut h = shelter_hit(snap, sl, f, lon, lat, st, lang)?;
            if let (Some(zl), Some(hz)) = (zones_layer, hazard) {
                if !containing(zl, h.lon, h.lat).is_empty() {
                    h.in_zone = true;
                    let key = match hz {
                        DatasetId::Tsunami => "shelter.in_zone.tsunami",
                        DatasetId::Flood | DatasetId::InlandFlood | DatasetId::StormSurge => {
                            "shelter.in_zone.flood"
                        }
                        _ => "shelter.in_zone",
                    };
                    h.zone_note = Some(decision::text(key, lang).into());
                }
            }
            Some(h)
        })
        .collect();
    let unavailable = |h: &ShelterHit| matches!(h.status, "closed" | "full");
    hits.sort_by(|a, b| {
        unavailable(a)
            .cmp(&unavailable(b))
            .then(a.distance_m.total_cmp(&b.distance_m))
    });
    hits.truncate(n);
    hits
}

/// The hazard's name in `lang` (`title.*` of the sentences files; empty for a dataset that is no
/// hazard).
pub fn title(h: DatasetId, lang: Lang) -> &'static str {
    match hazard_key(h) {
        Some(k) => decision::text(&format!("title.{k}"), lang),
        None => "",
    }
}

/// The hazard's name inside a sentence: lower case in the Latin scripts ("outside the mapped
/// flood zones"); Japanese, Chinese and Korean have no case, so this changes nothing there.
pub fn title_in_sentence(h: DatasetId, lang: Lang) -> String {
    title(h, lang).to_lowercase()
}

/// The hazard's key in the sentences files (`title.flood`, `message.flood`, `go.flood`).
fn hazard_key(h: DatasetId) -> Option<&'static str> {
    match h {
        DatasetId::Flood => Some("flood"),
        DatasetId::InlandFlood => Some("inland_flood"),
        DatasetId::Landslide => Some("landslide"),
        DatasetId::Tsunami => Some("tsunami"),
        DatasetId::StormSurge => Some("storm_surge"),
        _ => None,
    }
}

fn band_text(z: &Zone, lang: Lang) -> String {
    decision::band_text(z.depth_min_m, z.depth_max_m, lang)
}

fn shelter_names(s: &[ShelterHit], lang: Lang) -> String {
    let names: Vec<String> = s
        .iter()
        .filter(|h| !matches!(h.status, "closed" | "full"))
        .take(2)
        // Place names stay in Japanese, except where the city gave an English name for
        // English readers.
        .map(|h| match lang {
            Lang::En => h.name_en.clone().unwrap_or_else(|| h.name.clone()),
            _ => h.name.clone(),
        })
        .collect();
    names.join(decision::text("message.or", lang))
}

/// The sentence for one hazard: `message.{hazard}` of the sentences files with the water
/// (`message.water`, or `message.water_unknown` when the worst zone has no depth), the shelters
/// to go to (else `go.{hazard}`), and for floods the scenario and what the depth means
/// (`message.flood.how.*`: unknown, 3 m or more reaches the second floor, 0.5 m or more the
/// ground floor, less stays under it); for landslides the zone in words.
fn message(h: DatasetId, zones: &[Zone], shelters: &[ShelterHit], lang: Lang) -> String {
    let Some(key) = hazard_key(h) else {
        return String::new();
    };
    let Some(worst) = zones.first() else {
        return decision::fill(
            "message.outside",
            lang,
            &[("title", &title_in_sentence(h, lang))],
        );
    };
    let mut go = shelter_names(shelters, lang);
    if go.is_empty() {
        go = decision::text(&format!("go.{key}"), lang).into();
    }
    let known = !depth_unknown(worst);
    let water = if known {
        decision::fill("message.water", lang, &[("band", &band_text(worst, lang))])
    } else {
        decision::text("message.water_unknown", lang).into()
    };
    match h {
        DatasetId::Flood => {
            let min = worst.depth_min_m.unwrap_or(0.0);
            let how = if !known {
                "unknown"
            } else if min >= 3.0 {
                "deep"
            } else if min >= 0.5 {
                "floor"
            } else {
                "below"
            };
            let scenario = match worst.scenario {
                Some(_) => decision::fill(
                    "message.scenario",
                    lang,
                    &[("scenario", &decision::scenario_text(&worst.scenario, lang))],
                ),
                None => String::new(),
            };
            decision::fill(
                "message.flood",
                lang,
                &[
                    ("water", &water),
                    ("scenario", &scenario),
                    (
                        "how",
                        decision::text(&format!("message.flood.how.{how}"), lang),
                    ),
                    ("go", &go),
                ],
            )
        }
        DatasetId::Landslide => decision::fill(
            "message.landslide",
            lang,
            &[
                ("zone", &landslide_zone_words(worst, lang, true)),
                ("go", &go),
            ],
        ),
        _ => decision::fill(
            &format!("message.{key}"),
            lang,
            &[("water", &water), ("go", &go)],
        ),
    }
}

/// The landslide zone in words (`landslide.*`): red or yellow, with "not yet designated" for a
/// zone of the basic survey when `pending` is said; of unknown class, an area that may slide.
fn landslide_zone_words(z: &Zone, lang: Lang, pending: bool) -> String {
    let base = match z.zone_class {
        None => return decision::text("landslide.unknown", lang).into(),
        Some(2 | 4) => decision::text("landslide.red", lang),
        Some(_) => decision::text("landslide.yellow", lang),
    };
    if pending && matches!(z.zone_class, Some(3 | 4)) {
        format!("{base}{}", decision::text("landslide.pending", lang))
    } else {
        base.into()
    }
}

/// The decision for hazard `h` given its zones at the point (None for `no_data`).
fn decide(
    h: DatasetId,
    cov: Coverage,
    zones: &[Zone],
    duration: &[Zone],
    collapse: &[Zone],
    floors: Option<u32>,
    lang: Lang,
) -> Option<Decision> {
    if cov == Coverage::NoData {
        return None;
    }
    let t = title_in_sentence(h, lang);
    let t = t.as_str();
    Some(match h {
        DatasetId::Flood | DatasetId::InlandFlood | DatasetId::StormSurge => {
            let facts = FloodFacts {
                depth: zones
                    .iter()
                    .map(|z| DepthFact {
                        river: z.river_name.clone(),
                        scenario: z.scenario.clone(),
                        min_m: z.depth_min_m,
                        max_m: z.depth_max_m,
                    })
                    .collect(),
                duration: duration
                    .iter()
                    .chain(zones.iter().filter(|z| z.duration_class.is_some()))
                    .map(|z| DurationFact {
                        river: z.river_name.clone(),
                        class: z.duration_class,
                    })
                    .collect(),
                collapse: collapse
                    .iter()
                    .map(|z| CollapseFact {
                        river: z.river_name.clone(),
                        kind: z.collapse_type,
                    })
                    .collect(),
            };
            decision::decide_flood(&facts, floors, t, lang)
        }
        DatasetId::Landslide => {
            let words = zones.first().map(|z| landslide_zone_words(z, lang, true));
            decision::decide_landslide(words.as_deref(), floors, lang)
        }
        DatasetId::Tsunami => decision::decide_tsunami(
            !zones.is_empty(),
            zones.first().map(|z| (z.depth_min_m, z.depth_max_m)),
            floors,
            lang,
        ),
        _ => return None,
    })
}

/// Answer the risk question at (lat, lon) for a home of `floors` storeys (None: not said, the
/// decision assumes two and says so), with the shelter status staff set.
pub fn assess(
    snap: &Snapshot,
    lat: f64,
    lon: f64,
    lang: Lang,
    floors: Option<u32>,
    status: &Statuses,
) -> Risk {
    let mut hazards = Vec::new();
    for h in HAZARDS {
        let Some(l) = snap.layer(h) else {
            hazards.push(HazardRisk {
                hazard: h,
                title: title(h, lang).into(),
                data_available: false,
                in_zone: false,
                coverage: Coverage::NoData,
                zones: vec![],
                duration_zones: vec![],
                collapse_zones: vec![],
                decision: None,
                message: decision::fill(
                    "message.unpublished",
                    lang,
                    &[("title", &title_in_sentence(h, lang))],
                ),
                data_date: None,
                shelters: vec![],
            });
            continue;
        };
        let all: Vec<Zone> = containing(l, lon, lat)
            .into_iter()
            .map(|f| zone_of(f, l))
            .collect();
        let collapse_zones: Vec<Zone> = all
            .iter()
            .filter(|z| is_collapse(z) && !is_depth(z))
            .cloned()
            .collect();
        let duration_zones: Vec<Zone> = all
            .iter()
            .filter(|z| z.family.as_deref() == Some(FAMILY_DURATION))
            .cloned()
            .collect();
        let mut zones: Vec<Zone> = all.iter().filter(|z| is_depth(z)).cloned().collect();
        zones.sort_by(|a, b| severity(b).total_cmp(&severity(a)));
        // A depth zone that also carries a collapse type (generic files) counts as both.
        let mut collapse_all = collapse_zones.clone();
        collapse_all.extend(zones.iter().filter(|z| is_collapse(z)).cloned());
        let coverage = if !all.is_empty() {
            Coverage::InZone
        } else if crate::coverage::covers(snap, h, lon, lat) {
            Coverage::Outside
        } else {
            Coverage::NoData
        };
        let shelters = if all.is_empty() {
            vec![]
        } else {
            nearest_shelters(
                snap,
                Some(h),
                Some(l),
                lon,
                lat,
                SHELTERS_PER_HAZARD,
                status,
                lang,
            )
        };
        let decision = decide(
            h,
            coverage,
            &zones,
            &duration_zones,
            &collapse_all,
            floors,
            lang,
        );
        let message = if coverage == Coverage::NoData {
            decision::fill(
                "coverage.no_data",
                lang,
                &[("title", &title_in_sentence(h, lang))],
            )
        } else if zones.is_empty() && !all.is_empty() {
            // Only duration or collapse zones hold the point: the decision says it all.
            decision
                .as_ref()
                .map(|d| d.text.clone())
                .unwrap_or_default()
        } else {
            message(h, &zones, &shelters, lang)
        };
        hazards.push(HazardRisk {
            hazard: h,
            title: title(h, lang).into(),
            data_available: true,
            in_zone: !all.is_empty(),
            coverage,
            zones,
            duration_zones,
            collapse_zones,
            decision,
            message,
            data_date: Some(l.published_at.clone()),
            shelters,
        });
    }
    let present: Vec<&HazardRisk> = hazards.iter().filter(|h| h.in_zone).collect();
    let no_data: Vec<&str> = hazards
        .iter()
        .filter(|h| h.coverage == Coverage::NoData)
        .map(|h| h.title.as_str())
        .collect();
    let all_no_data = no_data.len() == hazards.len();
    let sep = lang.sentence_sep();
    let summary = if present.is_empty() && all_no_data {
        decision::text("summary.no_data", lang).to_string()
    } else if present.is_empty() {
        let outside = decision::text("summary.outside", lang);
        if no_data.is_empty() {
            outside.to_string()
        } else {
            let list = no_data
                .join(decision::text("sep.list", lang))
                .to_lowercase();
            let missing = decision::fill("summary.missing", lang, &[("list", &list)]);
            format!("{outside}{sep}{missing}")
        }
    } else {
        present
            .iter()
            .map(|h| h.message.clone())
            .collect::<Vec<_>>()
            .join(sep)
    };
    Risk {
        lat,
        lon,
        lang: lang.code(),
        nearest_shelters: nearest_shelters(
            snap,
            None,
            None,
            lon,
            lat,
            SHELTERS_PER_HAZARD,
            status,
            lang,
        ),
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
            river_code: None,
            family: None,
            duration_class: None,
            collapse_type: None,
        };
        let s = ShelterHit {
            fid: 9,
            id: None,
            name: "桜台小学校".into(),
            name_en: Some("Sakuradai Elementary School".into()),
            name_kana: Some("サクラダイショウガッコウ".into()),
            address: None,
            lat: 0.0,
            lon: 0.0,
            distance_m: 100.0,
            capacity: None,
            is_emergency_site: true,
            is_shelter: true,
            stock: StockSummary::default(),
            in_zone: false,
            zone_note: None,
            status: "open",
            status_text: String::new(),
            evacuees: None,
            crowding: None,
            crowding_text: None,
            status_updated_at: None,
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
            river_code: None,
            family: None,
            duration_class: None,
            collapse_type: None,
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
