//! The risk answer at a point — which hazard zones contain it (per river and scenario, with
//! flood duration and house-collapse zones), whether the hazard's map covers the point at all,
//! the evacuation decision for the home (`decision`: leave, stay upstairs, or nothing) and the
//! nearest shelters designated for each hazard, with the status staff set and a crowding level.
//!
//! One source for two callers that must never disagree: machimap's `/api/risk`, which reads its
//! in-memory snapshot, and the static site's in-browser copy (this crate compiled to
//! WebAssembly by `machimap-risk-web`), which reads the files `machimap export-site` wrote.
//! Both hand the data to [`assess`] through a [`Source`]; the rules, thresholds and sentences
//! live only here. No I/O, no HTTP, no database.

pub mod cells;
pub mod decision;
pub mod lang;
pub mod vocab;

use decision::{CollapseFact, Decision, DepthFact, DurationFact, FloodFacts};
pub use lang::Lang;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vocab::{FAMILY_COLLAPSE, FAMILY_DURATION};

/// A number as the sentences and the CSV write it: whole numbers without a decimal point.
pub fn fmt_float(f: f64) -> String {
    if f.fract() == 0.0 && f.abs() < 1e15 {
        format!("{}", f as i64)
    } else {
        format!("{f}")
    }
}

/// The hazards the answer covers, in the order it lists them.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Hazard {
    /// 洪水 (river flooding).
    Flood,
    /// 内水 (inland flooding).
    InlandFlood,
    /// 土砂災害.
    Landslide,
    /// 津波.
    Tsunami,
    /// 高潮.
    StormSurge,
}

impl Hazard {
    /// Every hazard, in the answer's order.
    pub const ALL: [Hazard; 5] = [
        Hazard::Flood,
        Hazard::InlandFlood,
        Hazard::Landslide,
        Hazard::Tsunami,
        Hazard::StormSurge,
    ];

    /// The dataset id (`flood`, `inland_flood`, …), also the shelter flag naming the designation.
    pub fn as_str(self) -> &'static str {
        match self {
            Hazard::Flood => "flood",
            Hazard::InlandFlood => "inland_flood",
            Hazard::Landslide => "landslide",
            Hazard::Tsunami => "tsunami",
            Hazard::StormSurge => "storm_surge",
        }
    }

    /// From a dataset id.
    pub fn parse(s: &str) -> Option<Hazard> {
        Hazard::ALL.into_iter().find(|h| h.as_str() == s)
    }
}

/// A shelter as the answer needs it: where it is, what it is designated for, what is stocked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Shelter {
    /// Feature id in `shelters`.
    pub fid: i64,
    /// ID of the 03 layout.
    pub id: Option<String>,
    /// 名称.
    pub name: String,
    /// 名称_英字.
    pub name_en: Option<String>,
    /// 名称_カナ.
    pub name_kana: Option<String>,
    /// Address.
    pub address: Option<String>,
    /// Latitude.
    pub lat: f64,
    /// Longitude.
    pub lon: f64,
    /// 想定収容人数.
    pub capacity: Option<i64>,
    /// 指定緊急避難場所.
    pub is_emergency_site: bool,
    /// 指定避難所.
    pub is_shelter: bool,
    /// The hazards the site is designated for.
    pub designated: Vec<Hazard>,
    /// The hazards whose zones contain the site (filled by the static export, which cannot ask
    /// the zones later; a live [`Source`] answers [`Source::shelter_in_zone`] itself).
    #[serde(default)]
    pub in_zone: Vec<Hazard>,
    /// Stockpile summary.
    pub stock: StockSummary,
}

/// A shelter's status when staff never set one (未開設).
pub const NOT_OPEN: &str = "not_open";

/// What staff set a shelter to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShelterState {
    /// 開設.
    Open,
    /// 満員.
    Full,
    /// 閉鎖.
    Closed,
}

/// A shelter's last status as staff set it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShelterStatus {
    /// Open, full or closed.
    pub status: ShelterState,
    /// Evacuees counted.
    pub evacuees: Option<u32>,
    /// When (UTC, ISO 8601).
    pub at: String,
}

/// The status staff set per shelter fid, as the risk answer reads it.
pub type Statuses = BTreeMap<i64, ShelterStatus>;

/// The data an answer reads. The server implements it over its published snapshot; the
/// browser over the export's files. Everything that decides lives in [`assess`], not here.
pub trait Source {
    /// When the hazard's dataset was published; None when it is not published.
    fn published_at(&self, h: Hazard) -> Option<String>;
    /// The zones of the hazard whose geometry contains the point, in feature order.
    fn zones_at(&self, h: Hazard, lon: f64, lat: f64) -> Vec<Zone>;
    /// Whether the hazard's map covers the point (see `machimap::coverage`).
    fn covers(&self, h: Hazard, lon: f64, lat: f64) -> bool;
    /// Every shelter with a position, in feature order.
    fn shelters(&self) -> &[Shelter];
    /// Whether the site lies inside a zone of the hazard.
    fn shelter_in_zone(&self, h: Hazard, s: &Shelter) -> bool;
}

/// Whether a geometry contains the point: the one predicate both sides use (geo's `Contains`).
pub fn contains(g: &geo::Geometry<f64>, lon: f64, lat: f64) -> bool {
    use geo::Contains;
    g.contains(&geo::Point::new(lon, lat))
}

/// One zone the point lies in.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
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
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::shelter_status"))]
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct HazardRisk {
    /// flood | inland_flood | landslide | tsunami | storm_surge.
    pub hazard: Hazard,
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
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Risk {
    /// Query latitude.
    pub lat: f64,
    /// Query longitude.
    pub lon: f64,
    /// Language used.
    #[cfg_attr(feature = "schema", schemars(schema_with = "schema::lang"))]
    pub lang: &'static str,
    /// One entry per hazard.
    pub hazards: Vec<HazardRisk>,
    /// A one-paragraph summary to read aloud.
    pub summary: String,
    /// Nearest shelters of any designation (for orientation even when no hazard applies).
    pub nearest_shelters: Vec<ShelterHit>,
}

/// How many shelters to suggest per hazard.
pub const SHELTERS_PER_HAZARD: usize = 3;

/// Great-circle distance in metres.
pub fn distance_m(lon1: f64, lat1: f64, lon2: f64, lat2: f64) -> f64 {
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = p2 - p1;
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * 6_371_008.8 * a.sqrt().asin()
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

fn shelter_hit(s: &Shelter, lon: f64, lat: f64, st: &Statuses, lang: Lang) -> ShelterHit {
    let ev = st.get(&s.fid);
    let status = match ev.map(|e| e.status) {
        Some(ShelterState::Open) => "open",
        Some(ShelterState::Full) => "full",
        Some(ShelterState::Closed) => "closed",
        None => NOT_OPEN,
    };
    let crowding = match ev.map(|e| e.status) {
        Some(ShelterState::Full) => Some("full"),
        Some(ShelterState::Open) => decision::crowding(ev.and_then(|e| e.evacuees), s.capacity),
        _ => None,
    };
    ShelterHit {
        in_zone: false,
        zone_note: None,
        status,
        status_text: decision::text(&format!("status.{status}"), lang).into(),
        evacuees: ev.and_then(|e| e.evacuees),
        crowding,
        crowding_text: crowding.map(|c| decision::text(&format!("crowding.{c}"), lang).into()),
        status_updated_at: ev.map(|e| e.at.clone()),
        fid: s.fid,
        id: s.id.clone(),
        name: s.name.clone(),
        name_en: s.name_en.clone(),
        name_kana: s.name_kana.clone(),
        address: s.address.clone(),
        lat: s.lat,
        lon: s.lon,
        distance_m: distance_m(lon, lat, s.lon, s.lat).round(),
        capacity: s.capacity,
        is_emergency_site: s.is_emergency_site,
        is_shelter: s.is_shelter,
        stock: s.stock.clone(),
    }
}

/// Shelters designated for `hazard` (None = any), nearest first. The designation is what makes
/// a site suitable: a site inside the hazard's zone is kept (the law designates tsunami
/// buildings and towers and flood shelters with high floors there) and marked, with where its
/// refuge is. Sites closed or full come after those that may take the resident, each group by
/// distance, so the nearest reachable refuge is first.
fn nearest_shelters(
    src: &dyn Source,
    hazard: Option<Hazard>,
    lon: f64,
    lat: f64,
    st: &Statuses,
    lang: Lang,
) -> Vec<ShelterHit> {
    let mut hits: Vec<ShelterHit> = src
        .shelters()
        .iter()
        .filter(|s| hazard.is_none_or(|h| s.designated.contains(&h)))
        .map(|s| {
            let mut hit = shelter_hit(s, lon, lat, st, lang);
            if let Some(hz) = hazard {
                if src.shelter_in_zone(hz, s) {
                    hit.in_zone = true;
                    let key = match hz {
                        Hazard::Tsunami => "shelter.in_zone.tsunami",
                        Hazard::Flood | Hazard::InlandFlood | Hazard::StormSurge => {
                            "shelter.in_zone.flood"
                        }
                        Hazard::Landslide => "shelter.in_zone",
                    };
                    hit.zone_note = Some(decision::text(key, lang).into());
                }
            }
            hit
        })
        .collect();
    let unavailable = |h: &ShelterHit| matches!(h.status, "closed" | "full");
    hits.sort_by(|a, b| {
        unavailable(a)
            .cmp(&unavailable(b))
            .then(a.distance_m.total_cmp(&b.distance_m))
    });
    hits.truncate(SHELTERS_PER_HAZARD);
    hits
}

/// The hazard's name in `lang` (`title.*` of the sentences files).
pub fn title(h: Hazard, lang: Lang) -> &'static str {
    decision::text(&format!("title.{}", h.as_str()), lang)
}

/// The hazard's name inside a sentence: lower case in the Latin scripts ("outside the mapped
/// flood zones"); Japanese, Chinese and Korean have no case, so this changes nothing there.
pub fn title_in_sentence(h: Hazard, lang: Lang) -> String {
    title(h, lang).to_lowercase()
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
fn message(h: Hazard, zones: &[Zone], shelters: &[ShelterHit], lang: Lang) -> String {
    let key = h.as_str();
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
        Hazard::Flood => {
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
        Hazard::Landslide => decision::fill(
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
    h: Hazard,
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
        Hazard::Flood | Hazard::InlandFlood | Hazard::StormSurge => {
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
        Hazard::Landslide => {
            let words = zones.first().map(|z| landslide_zone_words(z, lang, true));
            decision::decide_landslide(words.as_deref(), floors, lang)
        }
        Hazard::Tsunami => decision::decide_tsunami(
            !zones.is_empty(),
            zones.first().map(|z| (z.depth_min_m, z.depth_max_m)),
            floors,
            lang,
        ),
    })
}

fn hazard_risk(
    src: &dyn Source,
    h: Hazard,
    lat: f64,
    lon: f64,
    lang: Lang,
    floors: Option<u32>,
    status: &Statuses,
) -> HazardRisk {
    let Some(published_at) = src.published_at(h) else {
        return HazardRisk {
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
        };
    };
    let all = src.zones_at(h, lon, lat);
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
    } else if src.covers(h, lon, lat) {
        Coverage::Outside
    } else {
        Coverage::NoData
    };
    let shelters = if all.is_empty() {
        vec![]
    } else {
        nearest_shelters(src, Some(h), lon, lat, status, lang)
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
    HazardRisk {
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
        data_date: Some(published_at),
        shelters,
    }
}

/// Answer the risk question at (lat, lon) for a home of `floors` storeys (None: not said, the
/// decision assumes two and says so), with the shelter status staff set.
pub fn assess(
    src: &dyn Source,
    lat: f64,
    lon: f64,
    lang: Lang,
    floors: Option<u32>,
    status: &Statuses,
) -> Risk {
    let hazards: Vec<HazardRisk> = Hazard::ALL
        .into_iter()
        .map(|h| hazard_risk(src, h, lat, lon, lang, floors, status))
        .collect();
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
        nearest_shelters: nearest_shelters(src, None, lon, lat, status, lang),
        hazards,
        summary,
    }
}

/// The schemas of the answer's fields that are words from a closed set but `&str` in Rust.
#[cfg(feature = "schema")]
mod schema {
    use super::{Lang, NOT_OPEN};
    use schemars::{json_schema, Schema, SchemaGenerator};

    /// `lang`: one of [`Lang::CODES`].
    pub fn lang(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": "string", "enum": Lang::CODES})
    }

    /// A shelter's `status`: what [`super::ShelterState`] serializes to, or [`NOT_OPEN`].
    pub fn shelter_status(_: &mut SchemaGenerator) -> Schema {
        let mut words: Vec<serde_json::Value> = [
            super::ShelterState::Open,
            super::ShelterState::Full,
            super::ShelterState::Closed,
        ]
        .iter()
        .filter_map(|s| serde_json::to_value(s).ok())
        .collect();
        words.push(NOT_OPEN.into());
        json_schema!({"type": "string", "enum": words})
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
            scenario: Some(crate::vocab::SCENARIO_MAX.into()),
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
            Hazard::Flood,
            std::slice::from_ref(&z),
            std::slice::from_ref(&s),
            Lang::Ja,
        );
        assert!(
            ja.contains("3m以上5m未満") && ja.contains("桜台小学校") && ja.contains("2階"),
            "{ja}"
        );
        let en = message(
            Hazard::Flood,
            std::slice::from_ref(&z),
            std::slice::from_ref(&s),
            Lang::En,
        );
        assert!(
            en.contains("3 to 5 m") && en.contains("Sakuradai Elementary School"),
            "{en}"
        );
        let easy = message(Hazard::Flood, &[z], &[s], Lang::Easy);
        assert!(easy.contains("にげて"), "{easy}");
        let none = message(Hazard::Tsunami, &[], &[], Lang::Ja);
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
        for h in [Hazard::Flood, Hazard::Tsunami, Hazard::StormSurge] {
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
        let ja = message(Hazard::Flood, &zs, &[], Lang::Ja);
        assert!(
            ja.contains("0.5m以上3m未満") && !ja.contains("不明"),
            "{ja}"
        );
        // An open-ended band is not "unknown".
        let ja = message(
            Hazard::Tsunami,
            &[zone(Some(20.0), None, None)],
            &[],
            Lang::Ja,
        );
        assert!(ja.contains("20m以上の浸水"), "{ja}");
    }

    #[test]
    fn landslide_zone_of_unknown_class() {
        let z = zone(None, None, None);
        let ja = message(Hazard::Landslide, std::slice::from_ref(&z), &[], Lang::Ja);
        assert!(
            ja.contains("区域区分は不明") && !ja.contains("警戒区域です"),
            "{ja}"
        );
        let en = message(Hazard::Landslide, &[z], &[], Lang::En);
        assert!(en.contains("zone class unknown"), "{en}");
        let ja = message(
            Hazard::Landslide,
            &[zone(None, None, Some(2))],
            &[],
            Lang::Ja,
        );
        assert!(ja.contains("土砂災害特別警戒区域です"), "{ja}");
    }
}
