//! Offline address search over the published `addresses` dataset: a resident types the
//! address of their home as they would write it on an envelope, and gets the most precise
//! point the data has — the 住居 (residence) point, else its 街区 (block), else its 町字 — or
//! the 地番 (parcel) point where the city has no 住居表示, and is told which one it is.
//!
//! The index is built once per published version ([`GeocodeCache`]): every 町字 name (and its
//! reading) is folded by [`normalize::key`] into a hash map, as are the cities. A query is folded
//! the same way; the prefecture and city are stripped when present (they may be omitted), the
//! longest 町字 key that prefixes the rest is looked up, and the numbers after it are matched
//! against the 町字's blocks, residences and parcels. Everything is hash lookups over at most
//! the query's length: the cost does not grow with the number of addresses.

pub mod normalize;

use crate::dataset::{Column, DatasetId, Val};
use crate::index::Snapshot;
use normalize::{key, normalize, number};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::Arc;

/// What the point found stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Precision {
    /// A 住居表示 住居 (the house itself).
    Residence,
    /// A 住居表示 街区 (the block the house is in).
    Block,
    /// A 地番 (parcel) point.
    Parcel,
    /// The 町字 (the district) only.
    Machiaza,
}

impl Precision {
    /// The value used in the `precision` column and the API.
    pub fn as_str(self) -> &'static str {
        match self {
            Precision::Residence => "residence",
            Precision::Block => "block",
            Precision::Parcel => "parcel",
            Precision::Machiaza => "machiaza",
        }
    }

    fn parse(s: &str) -> Option<Precision> {
        Some(match s {
            "residence" => Precision::Residence,
            "block" => Precision::Block,
            "parcel" => Precision::Parcel,
            "machiaza" => Precision::Machiaza,
            _ => return None,
        })
    }
}

/// One row of the `addresses` dataset, by column name.
#[derive(Debug, Clone)]
pub struct Record {
    /// Feature id.
    pub fid: i64,
    /// Column name → text of the value (non-empty ones).
    pub fields: HashMap<&'static str, String>,
    /// The point (JGD2011 lon/lat), if the row has one.
    pub point: Option<[f64; 2]>,
}

impl Record {
    /// A record from a row's values in `columns` order.
    pub fn from_values(fid: i64, columns: &'static [Column], values: &[Val]) -> Record {
        let mut fields = HashMap::new();
        for (c, v) in columns.iter().zip(values) {
            if let Some(t) = v.as_text().filter(|t| !t.is_empty()) {
                fields.insert(c.name, t);
            }
        }
        let f = |k: &str| fields.get(k).and_then(|v: &String| v.parse::<f64>().ok());
        let point = match (f("lon"), f("lat")) {
            (Some(x), Some(y)) => Some([x, y]),
            _ => None,
        };
        Record { fid, fields, point }
    }
}

/// A point the search can answer with.
#[derive(Debug, Clone)]
struct Pt {
    fid: i64,
    lonlat: [f64; 2],
    address: Arc<str>,
}

/// One 町字 and what lies in it.
#[derive(Debug, Default)]
struct Town {
    lg_code: String,
    machiaza_id: String,
    city: Option<u32>,
    names: HashMap<&'static str, String>,
    point: Option<u32>,
    blocks: HashMap<String, u32>,
    /// (block, residence, residence2 or "").
    residences: HashMap<(String, String, String), u32>,
    /// `n1`, `n1-n2`, `n1-n2-n3`.
    parcels: HashMap<String, u32>,
}

/// The answer to a query.
#[derive(Debug, Clone, Serialize, PartialEq, schemars::JsonSchema)]
pub struct Found {
    /// What the point stands for.
    pub precision: Precision,
    /// JGD2011 longitude.
    pub lon: f64,
    /// JGD2011 latitude.
    pub lat: f64,
    /// The address of the point found, written out from the data.
    pub address: String,
    /// The part of the query that was matched, normalised (e.g. `泉町1-3-5`).
    pub matched: String,
    /// The rest of the query as the resident wrote it (a room number, a building name, or
    /// numbers the data does not have), empty when everything matched.
    pub rest: String,
    /// Feature id in the `addresses` dataset.
    pub fid: i64,
    /// 全国地方公共団体コード.
    pub lg_code: String,
    /// 町字ID.
    pub machiaza_id: String,
    /// How many 町字 matched equally well (more than 1: the city or prefecture would tell them
    /// apart; the first in data order is answered).
    pub candidates: usize,
}

/// The searchable addresses of one published version.
#[derive(Debug, Default)]
pub struct AddressIndex {
    points: Vec<Pt>,
    towns: Vec<Town>,
    town_keys: HashMap<String, Vec<u32>>,
    city_keys: HashMap<String, Vec<u32>>,
    pref_keys: Vec<Vec<char>>,
    max_town_key: usize,
    max_city_key: usize,
}

/// Longest query accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 100;

fn chars_of(s: &str) -> Vec<char> {
    s.chars().collect()
}

impl AddressIndex {
    /// The index of the published `addresses` layer of `snap` (empty when none is published).
    pub fn from_snapshot(snap: &Snapshot) -> AddressIndex {
        let Some(l) = snap.layer(DatasetId::Addresses) else {
            return AddressIndex::build(Vec::new());
        };
        let cols = l.columns();
        AddressIndex::build(l.features.iter().map(|f| {
            let mut r = Record::from_values(f.fid, cols, &f.values);
            if r.point.is_none() {
                r.point = f.label;
            }
            r
        }))
    }

    /// Build from rows of the `addresses` dataset.
    pub fn build(records: impl IntoIterator<Item = Record>) -> AddressIndex {
        let mut idx = AddressIndex::default();
        let mut town_of: HashMap<(String, String), u32> = HashMap::new();
        let mut city_of: HashMap<String, u32> = HashMap::new();
        let mut cities: Vec<HashMap<&'static str, String>> = Vec::new();
        for r in records {
            let g = |k: &str| r.fields.get(k).cloned().unwrap_or_default();
            let Some(prec) = r.fields.get("precision").and_then(|p| Precision::parse(p)) else {
                continue;
            };
            let tk = (g("lg_code"), g("machiaza_id"));
            let ti = *town_of.entry(tk.clone()).or_insert_with(|| {
                idx.towns.push(Town {
                    lg_code: tk.0.clone(),
                    machiaza_id: tk.1.clone(),
                    ..Town::default()
                });
                (idx.towns.len() - 1) as u32
            });
            let city_id = format!("{}|{}|{}|{}", g("pref"), g("county"), g("city"), g("ward"));
            let ci = if g("city").is_empty() && g("ward").is_empty() {
                None
            } else {
                Some(*city_of.entry(city_id).or_insert_with(|| {
                    let mut m = HashMap::new();
                    for k in ["pref", "county", "city", "ward", "city_kana", "ward_kana"] {
                        m.insert(k, g(k));
                    }
                    cities.push(m);
                    (cities.len() - 1) as u32
                }))
            };
            let t = &mut idx.towns[ti as usize];
            if t.city.is_none() {
                t.city = ci;
            }
            if t.names.is_empty() || prec == Precision::Machiaza {
                for k in [
                    "oaza_cho",
                    "oaza_cho_kana",
                    "chome",
                    "chome_number",
                    "koaza",
                    "koaza_kana",
                ] {
                    if let Some(v) = r.fields.get(k) {
                        t.names.insert(k, v.clone());
                    }
                }
            }
            let Some(lonlat) = r.point else { continue };
            let pi = idx.points.len() as u32;
            idx.points.push(Pt {
                fid: r.fid,
                lonlat,
                address: g("address").into(),
            });
            let t = &mut idx.towns[ti as usize];
            let num = |k: &str| r.fields.get(k).and_then(|v| number(v));
            match prec {
                Precision::Machiaza => t.point = Some(pi),
                Precision::Block => {
                    if let Some(b) = num("blk_num") {
                        t.blocks.entry(b).or_insert(pi);
                    }
                }
                Precision::Residence => {
                    if let (Some(b), Some(n)) = (num("blk_num"), num("rsdt_num")) {
                        let n2 = num("rsdt_num2").unwrap_or_default();
                        t.residences.entry((b, n, n2)).or_insert(pi);
                    }
                }
                Precision::Parcel => {
                    let mut k = String::new();
                    for f in ["prc_num1", "prc_num2", "prc_num3"] {
                        let Some(n) = num(f) else { break };
                        if !k.is_empty() {
                            k.push('-');
                        }
                        k.push_str(&n);
                        t.parcels.entry(k.clone()).or_insert(pi);
                    }
                }
            }
        }
        // 町字 keys: the names as written and the reading, with and without the 小字.
        for (i, t) in idx.towns.iter().enumerate() {
            let n = |k: &str| t.names.get(k).map_or("", String::as_str);
            let chome_no = n("chome_number");
            let chome = if n("chome").is_empty() && !chome_no.is_empty() && chome_no != "0" {
                format!("{chome_no}丁目")
            } else {
                n("chome").to_string()
            };
            let mut keys = vec![
                key(&format!("{}{}{}", n("oaza_cho"), chome, n("koaza"))),
                key(&format!("{}{}", n("oaza_cho"), chome)),
            ];
            if !n("oaza_cho_kana").is_empty() {
                let c = if chome.is_empty() {
                    String::new()
                } else {
                    key(&chome)
                };
                keys.push(format!(
                    "{}{}{}",
                    key(n("oaza_cho_kana")),
                    c,
                    key(n("koaza_kana"))
                ));
                keys.push(format!("{}{}", key(n("oaza_cho_kana")), c));
            }
            keys.sort();
            keys.dedup();
            for k in keys.into_iter().filter(|k| !k.is_empty()) {
                idx.max_town_key = idx.max_town_key.max(k.chars().count());
                idx.town_keys.entry(k).or_default().push(i as u32);
            }
        }
        for (i, c) in cities.iter().enumerate() {
            let n = |k: &str| c.get(k).map_or("", String::as_str);
            let mut keys = vec![
                key(&format!("{}{}{}", n("county"), n("city"), n("ward"))),
                key(&format!("{}{}", n("city"), n("ward"))),
                key(&format!("{}{}", n("city_kana"), n("ward_kana"))),
            ];
            if !n("ward").is_empty() {
                keys.push(key(n("ward")));
            }
            keys.sort();
            keys.dedup();
            for k in keys.into_iter().filter(|k| !k.is_empty()) {
                idx.max_city_key = idx.max_city_key.max(k.chars().count());
                idx.city_keys.entry(k).or_default().push(i as u32);
            }
        }
        let mut prefs: Vec<Vec<char>> = (1..=47)
            .filter_map(|p| crate::text::pref_name(&format!("{p:02}")))
            .map(|p| chars_of(&key(p)))
            .collect();
        prefs.sort_by_key(|p| std::cmp::Reverse(p.len()));
        idx.pref_keys = prefs;
        idx
    }

    /// Number of address points.
    pub fn len(&self) -> usize {
        self.points.len()
    }

    /// True when there is no address point.
    pub fn is_empty(&self) -> bool {
        self.points.is_empty()
    }

    /// The most precise point for `q`, or None when no 町字 of the data is in it.
    pub fn geocode(&self, q: &str) -> Option<Found> {
        let q: String = q.chars().take(MAX_QUERY_CHARS).collect();
        let n = normalize(&q);
        let cs = &n.chars;
        // Where the 町字 may start: after the prefecture (if written), and after the city.
        let p0 = self
            .pref_keys
            .iter()
            .find(|p| cs.starts_with(p))
            .map_or(0, Vec::len);
        let mut starts: Vec<(usize, Option<&Vec<u32>>)> = Vec::new();
        for len in (1..=self.max_city_key.min(cs.len() - p0.min(cs.len()))).rev() {
            let k: String = cs[p0..p0 + len].iter().collect();
            if let Some(c) = self.city_keys.get(&k) {
                starts.push((p0 + len, Some(c)));
                break;
            }
        }
        starts.push((p0, None));
        // (rank, key length, town, point, end of match)
        let mut best: Option<(u8, usize, u32, u32, usize, Precision)> = None;
        let mut ties = 0usize;
        for (s, cities) in starts {
            let avail = cs.len().saturating_sub(s);
            for len in (1..=self.max_town_key.min(avail)).rev() {
                let k: String = cs[s..s + len].iter().collect();
                let Some(towns) = self.town_keys.get(&k) else {
                    continue;
                };
                // 泉町1 must not match 泉町12.
                if cs[s + len - 1].is_ascii_digit()
                    && cs.get(s + len).is_some_and(char::is_ascii_digit)
                {
                    continue;
                }
                for &ti in towns {
                    let t = &self.towns[ti as usize];
                    if let Some(cities) = cities {
                        if !t.city.is_some_and(|c| cities.contains(&c)) {
                            continue;
                        }
                    }
                    let Some((prec, pi, end)) = self.resolve(t, cs, s + len) else {
                        continue;
                    };
                    let rank = match prec {
                        Precision::Residence => 3,
                        Precision::Parcel => 2 + u8::from(end > s + len),
                        Precision::Block => 2,
                        Precision::Machiaza => 1,
                    };
                    let cand = (rank, len, ti, pi, end, prec);
                    match &best {
                        Some(b) if (b.0, b.1) > (rank, len) => {}
                        Some(b) if (b.0, b.1) == (rank, len) => ties += 1,
                        _ => {
                            best = Some(cand);
                            ties = 1;
                        }
                    }
                }
            }
            if best.is_some() {
                // A match after the city named in the query wins over one that ignores it.
                break;
            }
        }
        let (_, _, ti, pi, end, precision) = best?;
        let t = &self.towns[ti as usize];
        let p = &self.points[pi as usize];
        // The separator after the match (丁目, 番, 号 or a dash) is not part of the rest.
        let rest_at = if cs.get(end) == Some(&'-') {
            end + 1
        } else {
            end
        };
        let rest = n
            .origin
            .get(rest_at)
            .map_or(String::new(), |&o| q[o..].trim().to_string());
        Some(Found {
            precision,
            lon: p.lonlat[0],
            lat: p.lonlat[1],
            address: p.address.to_string(),
            matched: cs[..end].iter().collect(),
            rest,
            fid: p.fid,
            lg_code: t.lg_code.clone(),
            machiaza_id: t.machiaza_id.clone(),
            candidates: ties,
        })
    }

    /// The most precise point of town `t` for the numbers at `cs[at..]`: (precision, point,
    /// end of the matched characters).
    fn resolve(&self, t: &Town, cs: &[char], at: usize) -> Option<(Precision, u32, usize)> {
        // Up to three numbers separated by single dashes.
        let mut nums: Vec<(String, usize)> = Vec::new();
        let mut j = at;
        while nums.len() < 3 {
            let mut k = j;
            if k < cs.len() && cs[k] == '-' {
                k += 1;
            }
            let d0 = k;
            while k < cs.len() && cs[k].is_ascii_digit() {
                k += 1;
            }
            if k == d0 {
                break;
            }
            let s: String = cs[d0..k].iter().collect();
            let t = s.trim_start_matches('0');
            nums.push((if t.is_empty() { "0".into() } else { t.into() }, k));
            j = k;
        }
        let n = |i: usize| nums.get(i).map(|(s, _)| s.clone());
        let end = |i: usize| nums[i].1;
        if let (Some(b), Some(r)) = (n(0), n(1)) {
            if let Some(r2) = n(2) {
                if let Some(&p) = t.residences.get(&(b.clone(), r.clone(), r2)) {
                    return Some((Precision::Residence, p, end(2)));
                }
            }
            if let Some(&p) = t.residences.get(&(b, r, String::new())) {
                return Some((Precision::Residence, p, end(1)));
            }
        }
        if let Some(b) = n(0) {
            if let Some(&p) = t.blocks.get(&b) {
                return Some((Precision::Block, p, end(0)));
            }
        }
        for i in (0..nums.len()).rev() {
            let k = nums[..=i]
                .iter()
                .map(|(s, _)| s.as_str())
                .collect::<Vec<_>>()
                .join("-");
            if let Some(&p) = t.parcels.get(&k) {
                return Some((Precision::Parcel, p, end(i)));
            }
        }
        t.point.map(|p| (Precision::Machiaza, p, at))
    }
}

/// The published `addresses` version an index was built from: (number, creation time).
type VersionKey = Option<(i64, String)>;

/// The [`AddressIndex`] of the snapshot being served, built once per published `addresses`
/// version, once however many ask at the same time.
#[derive(Debug, Default)]
pub struct GeocodeCache {
    current: std::sync::Mutex<Option<(VersionKey, Arc<AddressIndex>)>>,
}

impl GeocodeCache {
    /// The index of `snap`: the cached one if built from the same version, else a new one.
    /// May block while an index is built: call it from a blocking thread.
    pub fn get(&self, snap: &Snapshot) -> Arc<AddressIndex> {
        let key = snap
            .layer(DatasetId::Addresses)
            .map(|l| (l.version, l.created_at.clone()));
        let mut cur = self.current.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((k, idx)) = cur.as_ref() {
            if *k == key {
                return idx.clone();
            }
        }
        let idx = Arc::new(AddressIndex::from_snapshot(snap));
        *cur = Some((key, idx.clone()));
        idx
    }
}

#[cfg(test)]
mod tests;
