//! Risk at a point over the published snapshot. The answer itself — zones, coverage, the
//! decision, shelters, every sentence — is `machimap_risk::assess`, shared with the static
//! site's in-browser copy; this module only hands it the snapshot through
//! [`machimap_risk::Source`] (zones by the layer's R-tree, coverage, shelters with their
//! stock) and converts the status staff set. `http::risk` only parses and serialises.

use crate::admin::status::{ShelterState, StatusEvent};
use crate::dataset::{DatasetId, Val};
use crate::index::{Feature, Layer, Snapshot};
use machimap_risk::{Hazard, Shelter, ShelterStatus, StockSummary, Zone};
use std::collections::{BTreeMap, HashMap};

pub use machimap_risk::{
    decision, distance_m, title, title_in_sentence, Coverage, HazardRisk, Lang, Risk, ShelterHit,
    SHELTERS_PER_HAZARD,
};

/// The dataset of a hazard.
pub fn dataset(h: Hazard) -> DatasetId {
    match h {
        Hazard::Flood => DatasetId::Flood,
        Hazard::InlandFlood => DatasetId::InlandFlood,
        Hazard::Landslide => DatasetId::Landslide,
        Hazard::Tsunami => DatasetId::Tsunami,
        Hazard::StormSurge => DatasetId::StormSurge,
    }
}

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
    l.query_bbox([lon, lat, lon, lat])
        .into_iter()
        .map(|i| &l.features[i as usize])
        .filter(|f| {
            f.geom
                .as_ref()
                .is_some_and(|g| machimap_risk::contains(g, lon, lat))
        })
        .collect()
}

/// A hazard feature's zone properties.
pub fn zone_of(f: &Feature, l: &Layer) -> Zone {
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

/// Stockpile summed per shelter fid, by what residents ask about (water, food, blankets).
fn stock_by_shelter(snap: &Snapshot) -> HashMap<i64, StockSummary> {
    let mut out: HashMap<i64, StockSummary> = HashMap::new();
    let Some(l) = snap.layer(DatasetId::Stockpile) else {
        return out;
    };
    for f in &l.features {
        let Some(fid) = int(f, l, "shelter_fid") else {
            continue;
        };
        let s = out.entry(fid).or_default();
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
    out
}

/// Every published shelter with a position, as the answer reads it (in feature order).
pub fn shelters(snap: &Snapshot) -> Vec<Shelter> {
    let Some(l) = snap.layer(DatasetId::Shelters) else {
        return Vec::new();
    };
    let mut stock = stock_by_shelter(snap);
    l.features
        .iter()
        .filter_map(|f| {
            let (lon, lat) = (float(f, l, "lon")?, float(f, l, "lat")?);
            Some(Shelter {
                fid: f.fid,
                id: text(f, l, "id"),
                name: text(f, l, "name").unwrap_or_default(),
                name_en: text(f, l, "name_en"),
                name_kana: text(f, l, "name_kana"),
                address: text(f, l, "address"),
                lat,
                lon,
                capacity: int(f, l, "capacity"),
                is_emergency_site: flag(f, l, "is_emergency_site"),
                is_shelter: flag(f, l, "is_shelter"),
                designated: Hazard::ALL
                    .into_iter()
                    .filter(|h| flag(f, l, h.as_str()))
                    .collect(),
                in_zone: Vec::new(),
                stock: stock.remove(&f.fid).unwrap_or_default(),
            })
        })
        .collect()
}

/// The published snapshot as the risk answer's data.
pub struct SnapshotSource<'a> {
    snap: &'a Snapshot,
    shelters: Vec<Shelter>,
}

impl<'a> SnapshotSource<'a> {
    /// Read the shelters once; zones and coverage are asked per point.
    pub fn new(snap: &'a Snapshot) -> Self {
        SnapshotSource {
            snap,
            shelters: shelters(snap),
        }
    }
}

impl machimap_risk::Source for SnapshotSource<'_> {
    fn published_at(&self, h: Hazard) -> Option<String> {
        self.snap.layer(dataset(h)).map(|l| l.published_at.clone())
    }
    fn zones_at(&self, h: Hazard, lon: f64, lat: f64) -> Vec<Zone> {
        let Some(l) = self.snap.layer(dataset(h)) else {
            return Vec::new();
        };
        containing(l, lon, lat)
            .into_iter()
            .map(|f| zone_of(f, l))
            .collect()
    }
    fn covers(&self, h: Hazard, lon: f64, lat: f64) -> bool {
        crate::coverage::covers(self.snap, dataset(h), lon, lat)
    }
    fn shelters(&self) -> &[Shelter] {
        &self.shelters
    }
    fn shelter_in_zone(&self, h: Hazard, s: &Shelter) -> bool {
        self.snap
            .layer(dataset(h))
            .is_some_and(|l| !containing(l, s.lon, s.lat).is_empty())
    }
}

/// The status staff set per shelter fid (`admin::status`), as the risk answer reads it.
pub type Statuses = BTreeMap<i64, StatusEvent>;

/// Staff's status events as the shared answer reads them (who set it is not published).
pub fn statuses(st: &Statuses) -> machimap_risk::Statuses {
    st.iter()
        .map(|(fid, e)| {
            (
                *fid,
                ShelterStatus {
                    status: match e.status {
                        ShelterState::Open => machimap_risk::ShelterState::Open,
                        ShelterState::Full => machimap_risk::ShelterState::Full,
                        ShelterState::Closed => machimap_risk::ShelterState::Closed,
                    },
                    evacuees: e.evacuees,
                    at: e.at.clone(),
                },
            )
        })
        .collect()
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
    machimap_risk::assess(
        &SnapshotSource::new(snap),
        lat,
        lon,
        lang,
        floors,
        &statuses(status),
    )
}
