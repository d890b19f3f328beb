//! Finding places by name for the resident map — wards, shelters and roads, folded for width,
//! case and katakana/hiragana ([`search_fold`]) so 「ｻｸﾗ」, 「さくら」 and 「サクラ」 find the same
//! place, also by readings (名称_カナ) and English names — and a shelter's detail with its
//! stockpile rows. Plain functions of the [`Snapshot`]: `http::search` answers `/api/search`
//! and `/api/shelters/{fid}` with them, and `site` writes them into the static export.

use crate::dataset::{DatasetId, Val};
use crate::index::{Feature, Layer, Snapshot};
use crate::text::search_fold;
use serde::Serialize;
use serde_json::{Map, Value};
use std::sync::Arc;

/// What was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HitKind {
    /// A 町丁・字.
    Ward,
    /// An evacuation site or shelter.
    Shelter,
    /// A road of the ledger.
    Road,
    /// An address point (`/api/geocode`'s answer to the same query, first when found).
    Address,
}

/// One search result.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Hit {
    /// Name to show (Japanese).
    pub name: String,
    /// English name, when the data has one (shelters).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_en: Option<String>,
    /// Reading or other detail (address, route number) to tell similar names apart.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// ward | shelter | road.
    pub kind: HitKind,
    /// Dataset id.
    pub dataset: DatasetId,
    /// Feature id in the dataset.
    pub fid: i64,
    /// A point on or inside the feature (JGD2011 longitude).
    pub lon: f64,
    /// Latitude of that point.
    pub lat: f64,
    /// Bounding box `[minx, miny, maxx, maxy]`.
    pub bbox: Option<[f64; 4]>,
    /// For an address: what the point stands for (residence | block | machiaza | parcel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub precision: Option<crate::address::Precision>,
    #[serde(skip)]
    score: u32,
}

fn text<'a>(f: &'a Feature, l: &Layer, c: &str) -> Option<&'a str> {
    match f.get(l.columns(), c) {
        Some(Val::Text(s)) if !s.is_empty() => Some(&**s),
        _ => None,
    }
}

/// How well `folded_q` matches an already folded candidate: 0 = not at all, higher is better.
fn score(folded_q: &str, c: &str) -> u32 {
    if c.is_empty() {
        0
    } else if c == folded_q {
        4
    } else if c.starts_with(folded_q) {
        3
    } else if c.contains(folded_q) {
        2
    } else {
        0
    }
}

/// Which columns are searched in each dataset: (dataset, kind, name column, other columns).
const SEARCHED: &[(DatasetId, HitKind, &str, &[&str])] = &[
    (
        DatasetId::Wards,
        HitKind::Ward,
        "name",
        &["name_kana", "code"],
    ),
    (
        DatasetId::Shelters,
        HitKind::Shelter,
        "name",
        &["name_kana", "name_en", "address"],
    ),
    (DatasetId::Roads, HitKind::Road, "route_name", &["route_no"]),
];

/// One searchable place, its texts folded once.
#[derive(Debug)]
struct Entry {
    /// The hit to answer (score 0 until matched).
    hit: Hit,
    /// The folded name.
    name: String,
    /// The folded readings, English names, addresses… (non-empty ones).
    others: Vec<String>,
}

/// The searched names of one snapshot, folded once ([`search_fold`] is NFKC and more: doing it
/// for every name on every request held up the other requests of the core).
#[derive(Debug, Default)]
pub struct SearchIndex {
    entries: Vec<Entry>,
}

impl SearchIndex {
    /// Every entry with its folded texts, for the static site's in-browser search
    /// (`site`): `{"hit": …, "name": folded name, "others": [folded texts]}`.
    pub fn entries_json(&self) -> Vec<serde_json::Value> {
        self.entries
            .iter()
            .map(|e| serde_json::json!({"hit": e.hit, "name": e.name, "others": e.others}))
            .collect()
    }

    /// Fold the names of the searched datasets of `snap`.
    pub fn build(snap: &Snapshot) -> SearchIndex {
        let mut entries = Vec::new();
        for (d, kind, name_col, others) in SEARCHED {
            let Some(l) = snap.layer(*d) else { continue };
            for f in &l.features {
                let Some(name) = text(f, l, name_col) else {
                    continue;
                };
                let (lon, lat) = match (f.label, f.bbox) {
                    (Some([x, y]), _) => (x, y),
                    (None, Some(b)) => ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0),
                    (None, None) => continue,
                };
                let detail = match kind {
                    HitKind::Ward => text(f, l, "name_kana"),
                    HitKind::Shelter => text(f, l, "address"),
                    HitKind::Road => text(f, l, "route_no"),
                    HitKind::Address => None,
                };
                entries.push(Entry {
                    name: search_fold(name),
                    others: others
                        .iter()
                        .filter_map(|c| text(f, l, c))
                        .map(search_fold)
                        .collect(),
                    hit: Hit {
                        name: name.to_string(),
                        name_en: text(f, l, "name_en")
                            .filter(|_| *kind == HitKind::Shelter)
                            .map(str::to_string),
                        detail: detail.map(str::to_string),
                        kind: *kind,
                        dataset: *d,
                        fid: f.fid,
                        lon,
                        lat,
                        bbox: f.bbox,
                        precision: None,
                        score: 0,
                    },
                });
            }
        }
        SearchIndex { entries }
    }

    /// Results best first (exact, prefix, substring; names before readings), then shelters
    /// before wards before roads, then by name.
    pub fn search(&self, q: &str, limit: usize) -> Vec<Hit> {
        let fq = search_fold(q);
        if fq.is_empty() {
            return Vec::new();
        }
        let mut hits = Vec::new();
        for e in &self.entries {
            // A match on the name counts double a match on a reading or an address.
            let mut best = score(&fq, &e.name) * 2;
            for v in &e.others {
                let s = score(&fq, v);
                best = best.max(s * 2 - u32::from(s > 0));
            }
            if best > 0 {
                let mut h = e.hit.clone();
                h.score = best;
                hits.push(h);
            }
        }
        best_first(&mut hits, limit);
        hits
    }
}

/// Order hits best first — score, then shelters before wards before roads, then shorter
/// names, name, fid — and keep the first `limit`.
fn best_first(hits: &mut Vec<Hit>, limit: usize) {
    let rank = |k: HitKind| match k {
        HitKind::Shelter => 0,
        HitKind::Ward => 1,
        HitKind::Road => 2,
        HitKind::Address => 3,
    };
    hits.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(rank(a.kind).cmp(&rank(b.kind)))
            .then(a.name.chars().count().cmp(&b.name.chars().count()))
            .then(a.name.cmp(&b.name))
            .then(a.fid.cmp(&b.fid))
    });
    hits.truncate(limit);
}

/// Which published versions an index was built from.
type IndexKey = Vec<(DatasetId, i64, String, String)>;

fn index_key(snap: &Snapshot) -> IndexKey {
    SEARCHED
        .iter()
        .filter_map(|(d, ..)| snap.layer(*d))
        .map(|l| {
            (
                l.dataset,
                l.version,
                l.published_at.clone(),
                l.created_at.clone(),
            )
        })
        .collect()
}

/// The [`SearchIndex`] of the snapshot being served, built once per set of published versions
/// (when a snapshot is loaded or swapped in; by the first search otherwise), once however many
/// ask at the same time.
#[derive(Debug, Default)]
pub struct SearchCache {
    current: std::sync::Mutex<Option<(IndexKey, Arc<SearchIndex>)>>,
    builds: std::sync::atomic::AtomicUsize,
}

impl SearchCache {
    /// The index of `snap`: the cached one if built from the same versions, else a new one.
    /// May block while an index is built: call it from a blocking thread.
    pub fn get(&self, snap: &Snapshot) -> Arc<SearchIndex> {
        let key = index_key(snap);
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, idx)) = cur.as_ref() {
            if *k == key {
                return idx.clone();
            }
        }
        let idx = Arc::new(SearchIndex::build(snap));
        self.builds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *cur = Some((key, idx.clone()));
        idx
    }

    /// Indexes built so far.
    pub fn builds(&self) -> usize {
        self.builds.load(std::sync::atomic::Ordering::Relaxed)
    }
}

/// Search the snapshot (building its index: servers use [`SearchCache`]).
pub fn search(snap: &Snapshot, q: &str, limit: usize) -> Vec<Hit> {
    SearchIndex::build(snap).search(q, limit)
}

/// An address found by [`crate::address`] as a search result.
pub fn address_hit(a: crate::address::Found) -> Hit {
    Hit {
        name: a.address,
        name_en: None,
        detail: (!a.rest.is_empty()).then_some(a.rest),
        kind: HitKind::Address,
        dataset: DatasetId::Addresses,
        fid: a.fid,
        lon: a.lon,
        lat: a.lat,
        bbox: None,
        precision: Some(a.precision),
        score: 0,
    }
}

fn val_json(v: &Val) -> Value {
    match v {
        Val::Null => Value::Null,
        Val::Int(i) => Value::from(*i),
        Val::Float(x) => serde_json::Number::from_f64(*x).map_or(Value::Null, Value::Number),
        Val::Text(s) => Value::from(&**s),
        Val::Bool(b) => Value::from(*b),
    }
}

fn props(f: &Feature, l: &Layer) -> Map<String, Value> {
    l.columns()
        .iter()
        .zip(f.values.iter())
        .map(|(c, v)| (c.name.to_string(), val_json(v)))
        .collect()
}

/// A shelter with its stockpile rows: `/api/shelters/{fid}` and the static site's
/// `data/shelters/{fid}.json`.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ShelterDetail {
    /// Feature id in the shelters dataset.
    pub fid: i64,
    /// Every column of the shelter's row (the 03 layout's fields, as the dataset names them).
    pub properties: Map<String, Value>,
    /// Longitude of the shelter's point (JGD2011), when it has one.
    pub lon: Option<f64>,
    /// Latitude of that point.
    pub lat: Option<f64>,
    /// When the shelters dataset was published.
    pub published_at: String,
    /// The stockpile rows naming this shelter (`shelter_fid`), each with its own `fid`.
    pub stockpile: Vec<Map<String, Value>>,
    /// When the stockpile dataset was published; null when none is.
    pub stockpile_published_at: Option<String>,
}

/// A shelter and its stockpile rows, or `None` when `fid` is not a published shelter.
pub fn shelter_detail(snap: &Snapshot, fid: i64) -> Option<ShelterDetail> {
    let sl = snap.layer(DatasetId::Shelters)?;
    let f = sl.by_fid(fid)?;
    let stockpile = snap
        .layer(DatasetId::Stockpile)
        .map(|l| {
            l.features
                .iter()
                .filter(
                    |s| matches!(s.get(l.columns(), "shelter_fid"), Some(Val::Int(i)) if *i == fid),
                )
                .map(|s| {
                    let mut m = props(s, l);
                    m.insert("fid".into(), Value::from(s.fid));
                    m
                })
                .collect()
        })
        .unwrap_or_default();
    Some(ShelterDetail {
        fid: f.fid,
        properties: props(f, sl),
        lon: f.label.map(|p| p[0]),
        lat: f.label.map(|p| p[1]),
        published_at: sl.published_at.clone(),
        stockpile,
        stockpile_published_at: snap
            .layer(DatasetId::Stockpile)
            .map(|l| l.published_at.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::index::TreeEntry;
    use rstar::RTree;

    /// fid, column values by name, label point.
    type Row<'a> = (i64, Vec<(&'a str, Val)>, [f64; 2]);

    fn layer(d: DatasetId, rows: Vec<Row<'_>>) -> Arc<Layer> {
        let cols = d.columns();
        let features = rows
            .into_iter()
            .map(|(fid, vals, p)| {
                let values = cols
                    .iter()
                    .map(|c| {
                        vals.iter()
                            .find(|(n, _)| *n == c.name)
                            .map_or(Val::Null, |(_, v)| v.clone())
                    })
                    .collect();
                Feature {
                    fid,
                    values,
                    geom: None,
                    bbox: Some([p[0], p[1], p[0], p[1]]),
                    label: Some(p),
                }
            })
            .collect();
        Arc::new(Layer {
            dataset: d,
            version: 1,
            published_at: "2025-04-01T00:00:00Z".into(),
            created_at: "2025-04-01T00:00:00Z".into(),
            source_names: String::new(),
            source_sha256: String::new(),
            features,
            tree: RTree::<TreeEntry>::new(),
            bbox: None,
            tileset: Default::default(),
        })
    }

    fn snap() -> Snapshot {
        let t = |s: &str| Val::Text(s.into());
        let mut s = Snapshot::default();
        s.layers.insert(
            DatasetId::Shelters,
            layer(
                DatasetId::Shelters,
                vec![
                    (
                        1,
                        vec![
                            ("name", t("桜台小学校")),
                            ("name_kana", t("サクラダイショウガッコウ")),
                            ("name_en", t("Sakuradai Elementary School")),
                        ],
                        [133.9, 34.6],
                    ),
                    (
                        2,
                        vec![
                            ("name", t("港公民館")),
                            ("name_kana", t("ミナトコウミンカン")),
                        ],
                        [133.91, 34.61],
                    ),
                ],
            ),
        );
        s.layers.insert(
            DatasetId::Wards,
            layer(
                DatasetId::Wards,
                vec![(
                    7,
                    vec![
                        ("name", t("桜台一丁目")),
                        ("name_kana", t("サクラダイ1チョウメ")),
                    ],
                    [133.92, 34.62],
                )],
            ),
        );
        s.layers.insert(
            DatasetId::Roads,
            layer(
                DatasetId::Roads,
                vec![(
                    3,
                    vec![("route_name", t("市道桜台線")), ("route_no", t("1-12"))],
                    [133.93, 34.63],
                )],
            ),
        );
        s.layers.insert(
            DatasetId::Stockpile,
            layer(
                DatasetId::Stockpile,
                vec![
                    (
                        10,
                        vec![("shelter_fid", Val::Int(1)), ("item", t("毛布"))],
                        [0.0, 0.0],
                    ),
                    (
                        11,
                        vec![("shelter_fid", Val::Int(2)), ("item", t("水"))],
                        [0.0, 0.0],
                    ),
                ],
            ),
        );
        s
    }

    #[test]
    fn folds_width_and_kana() {
        let s = snap();
        for q in [
            "さくらだい",
            "ｻｸﾗﾀﾞｲ",
            "サクラダイ",
            "桜台",
            "ｓａｋｕｒａｄａｉ",
            "sakuradai",
        ] {
            let hits = search(&s, q, 10);
            assert!(
                hits.iter()
                    .any(|h| h.kind == HitKind::Shelter && h.fid == 1),
                "{q}: {hits:?}"
            );
        }
        let hits = search(&s, "桜台", 10);
        assert_eq!(hits.len(), 3, "{hits:?}");
        // Shelters first among equal scores; the road comes last.
        assert_eq!(hits[0].kind, HitKind::Shelter);
        assert_eq!(hits[2].kind, HitKind::Road);
        assert_eq!(hits[0].lon, 133.9);
        assert!(search(&s, "みなと", 10).iter().all(|h| h.fid == 2));
        assert!(search(&s, "存在しない", 10).is_empty());
        assert!(search(&s, "  ", 10).is_empty());
        assert_eq!(search(&s, "桜台", 1).len(), 1);
    }

    #[test]
    fn exact_names_rank_above_readings_and_substrings() {
        let s = snap();
        let hits = search(&s, "市道桜台線", 10);
        assert_eq!(hits[0].kind, HitKind::Road);
        let hits = search(&s, "1-12", 10);
        assert_eq!(hits[0].fid, 3);
    }

    /// The search as it was before the index: every name folded on every request.
    fn reference(snap: &Snapshot, q: &str, limit: usize) -> Vec<Hit> {
        let fq = search_fold(q);
        if fq.is_empty() {
            return Vec::new();
        }
        let sc = |c: &str| score(&fq, &search_fold(c));
        let mut hits = Vec::new();
        for (d, kind, name_col, others) in SEARCHED {
            let Some(l) = snap.layer(*d) else { continue };
            for f in &l.features {
                let Some(name) = text(f, l, name_col) else {
                    continue;
                };
                let mut best = sc(name) * 2;
                for c in *others {
                    if let Some(v) = text(f, l, c) {
                        best = best.max(sc(v) * 2 - u32::from(sc(v) > 0));
                    }
                }
                if best == 0 {
                    continue;
                }
                let (lon, lat) = match (f.label, f.bbox) {
                    (Some([x, y]), _) => (x, y),
                    (None, Some(b)) => ((b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0),
                    (None, None) => continue,
                };
                let detail = match kind {
                    HitKind::Ward => text(f, l, "name_kana"),
                    HitKind::Shelter => text(f, l, "address"),
                    HitKind::Road => text(f, l, "route_no"),
                    HitKind::Address => None,
                };
                hits.push(Hit {
                    name: name.to_string(),
                    name_en: text(f, l, "name_en")
                        .filter(|_| *kind == HitKind::Shelter)
                        .map(str::to_string),
                    detail: detail.map(str::to_string),
                    kind: *kind,
                    dataset: *d,
                    fid: f.fid,
                    lon,
                    lat,
                    bbox: f.bbox,
                    precision: None,
                    score: best,
                });
            }
        }
        best_first(&mut hits, limit);
        hits
    }

    fn same(a: &[Hit], b: &[Hit]) -> bool {
        let j = |h: &[Hit]| {
            h.iter()
                .map(|x| (serde_json::to_value(x).unwrap(), x.score))
                .collect::<Vec<_>>()
        };
        j(a) == j(b)
    }

    #[test]
    fn the_index_is_built_once_per_published_version_and_answers_as_before() {
        let mut s = snap();
        let cache = SearchCache::default();
        let queries = [
            "さくらだい",
            "ｻｸﾗﾀﾞｲ",
            "桜台",
            "sakuradai",
            "SCHOOL",
            "1-12",
            "みなと",
            "市道",
            "存在しない",
            " ",
        ];
        for _ in 0..3 {
            for q in queries {
                for limit in [1, 2, 10] {
                    let got = cache.get(&s).search(q, limit);
                    assert!(same(&got, &reference(&s, q, limit)), "{q} {limit}: {got:?}");
                }
            }
        }
        assert_eq!(cache.builds(), 1, "one index for one set of versions");
        // A new version of a searched dataset: a new index, once.
        let mut roads = Arc::try_unwrap(layer(DatasetId::Roads, vec![])).unwrap();
        roads.version = 2;
        s.layers.insert(DatasetId::Roads, Arc::new(roads));
        for q in queries {
            assert!(same(&cache.get(&s).search(q, 10), &reference(&s, q, 10)));
        }
        assert_eq!(cache.builds(), 2);
        assert!(cache.get(&s).search("市道", 10).is_empty());
        // A dataset that is not searched does not rebuild it.
        let mut stock = Arc::try_unwrap(layer(DatasetId::Stockpile, vec![])).unwrap();
        stock.version = 9;
        s.layers.insert(DatasetId::Stockpile, Arc::new(stock));
        cache.get(&s);
        assert_eq!(cache.builds(), 2);
    }

    #[test]
    fn shelter_detail_links_stockpile_rows() {
        let s = snap();
        let d = shelter_detail(&s, 1).expect("shelter 1");
        assert_eq!(d.properties["name"], "桜台小学校");
        assert_eq!(d.stockpile.len(), 1);
        assert_eq!(d.stockpile[0]["item"], "毛布");
        assert!(shelter_detail(&s, 99).is_none());
    }
}
