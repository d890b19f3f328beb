//! The 町丁・字 wards: outlines from the cell partition, grouping into 町
//! (whose 丁目 share the 町 name), codes, names and census-like figures,
//! and the e-Stat 小地域 attribute table.

use std::collections::BTreeSet;

use geo::{
    Area, BoundingRect, Centroid, Contains, Euclidean, InteriorPoint, Length, Polygon, Rect,
};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::geometry::{layout_wards, Frame, Partition, P};
use super::names::{kansuji, Base, NamePool, Setting};
use machimap_shp::{DbfField, DbfFieldKind, DbfValue};

/// One 町丁・字 (one KEY_CODE), possibly in several parts.
#[derive(Debug, Clone)]
pub struct Ward {
    /// Parts, largest first (KIGO_E E1, E2, …).
    pub parts: Vec<Polygon>,
    pub cells: Vec<usize>,
    pub base: Base,
    /// 丁目 number, 0 when the 町 has no 丁目.
    pub chome: usize,
    /// S_NAME, e.g. 桜台一丁目.
    pub name: String,
    /// 6-digit S_AREA: 4-digit 町 code + 2-digit 丁目.
    pub s_area: String,
    pub setting: Setting,
    pub industrial: bool,
    pub jinko: i64,
    pub setai: i64,
    /// A point inside part E1 (plane metres).
    pub inside: P,
    bbox: Vec<Rect>,
}

impl Ward {
    /// 11-digit KEY_CODE.
    pub fn key_code(&self) -> String {
        format!("33999{}", self.s_area)
    }

    /// 7-digit 町字ID in the address base registry style (町 code + 3-digit
    /// 丁目).
    pub fn machiaza_id(&self) -> String {
        format!("{}{:03}", &self.s_area[..4], self.chome)
    }

    #[cfg(test)]
    pub fn area(&self) -> f64 {
        self.parts.iter().map(|p| p.unsigned_area()).sum()
    }

    pub fn contains(&self, p: P) -> bool {
        self.parts
            .iter()
            .zip(&self.bbox)
            .any(|(poly, r)| r.contains(&p) && poly.contains(&p))
    }
}

/// The city: geography, partition and wards (sorted by KEY_CODE).
#[derive(Debug, Clone)]
pub struct City {
    pub frame: Frame,
    pub part: Partition,
    pub wards: Vec<Ward>,
    /// Index into `wards` of every cell.
    pub cell_ward: Vec<usize>,
}

impl City {
    pub fn build(seed: u64) -> City {
        let frame = Frame::new(seed);
        let part = Partition::build(&frame, seed.wrapping_add(1));
        let layout = layout_wards(&part, &frame, seed.wrapping_add(2));
        let mut rng = StdRng::seed_from_u64(seed.wrapping_add(3));

        // Outlines.
        let mut raw: Vec<(Vec<usize>, Vec<Polygon>)> = (0..layout.count)
            .map(|w| {
                let cells: Vec<usize> = (0..part.cells.len())
                    .filter(|&c| layout.owner[c] == w)
                    .collect();
                let mut parts = part.region_polygons(&cells, |c| layout.owner[c] == w);
                for (iw, poly) in &layout.islands {
                    if *iw == w {
                        parts.push(poly.clone());
                    }
                }
                parts.sort_by(|a, b| b.unsigned_area().total_cmp(&a.unsigned_area()));
                (cells, parts)
            })
            .collect();
        let centres: Vec<P> = raw
            .iter()
            .map(|(_, parts)| parts[0].centroid().map(|c| c.0).expect("non-empty ward"))
            .collect();
        let east: Vec<bool> = raw
            .iter()
            .map(|(cells, _)| part.cells[cells[0]].east_of_river)
            .collect();
        let mut adj: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); layout.count];
        for e in &part.edges {
            if let (Some(l), Some(r)) = (e.left, e.right) {
                let (a, b) = (layout.owner[l], layout.owner[r]);
                if a != b {
                    adj[a].insert(b);
                    adj[b].insert(a);
                }
            }
        }
        let setting = |w: usize| {
            let t = frame.rel_height(centres[w]);
            if t < 0.12 {
                Setting::Shore
            } else if t < 0.55 {
                Setting::Town
            } else {
                Setting::Hills
            }
        };

        // Districts (町): grow small groups of neighbouring wards of the
        // same setting on the same bank.
        let mut order: Vec<usize> = (0..layout.count).collect();
        order.sort_by(|&a, &b| {
            (centres[a].y, centres[a].x)
                .partial_cmp(&(centres[b].y, centres[b].x))
                .expect("finite")
        });
        let mut district_of = vec![usize::MAX; layout.count];
        let mut districts: Vec<Vec<usize>> = Vec::new();
        for &w in &order {
            if district_of[w] != usize::MAX {
                continue;
            }
            let s = setting(w);
            let target = match s {
                Setting::Shore => rng.gen_range(1..=3),
                Setting::Town => [1, 2, 3, 3, 4, 4, 5][rng.gen_range(0..7)],
                Setting::Hills => [1, 1, 1, 2, 2, 3][rng.gen_range(0..6)],
            };
            let d = districts.len();
            let mut members = vec![w];
            district_of[w] = d;
            while members.len() < target {
                let next = members
                    .iter()
                    .flat_map(|&m| adj[m].iter().copied())
                    .filter(|&o| {
                        district_of[o] == usize::MAX && setting(o) == s && east[o] == east[w]
                    })
                    .min_by(|&a, &b| {
                        let da = (centres[a].x - centres[w].x).hypot(centres[a].y - centres[w].y);
                        let db = (centres[b].x - centres[w].x).hypot(centres[b].y - centres[w].y);
                        da.total_cmp(&db)
                    });
                match next {
                    Some(o) => {
                        district_of[o] = d;
                        members.push(o);
                    }
                    None => break,
                }
            }
            districts.push(members);
        }

        // Names; the westernmost and easternmost shore districts are
        // industrial (no residents).
        let mut pool = NamePool::default();
        let mut bases: Vec<Base> = districts.iter().map(|m| pool.take(setting(m[0]))).collect();
        let shore: Vec<usize> = (0..districts.len())
            .filter(|&d| setting(districts[d][0]) == Setting::Shore)
            .collect();
        let mut industrial = vec![false; districts.len()];
        let west = shore.iter().copied().min_by(|&a, &b| {
            centres[districts[a][0]]
                .x
                .total_cmp(&centres[districts[b][0]].x)
        });
        let east_most = shore.iter().copied().max_by(|&a, &b| {
            centres[districts[a][0]]
                .x
                .total_cmp(&centres[districts[b][0]].x)
        });
        for (i, d) in [east_most, west].into_iter().flatten().enumerate() {
            if !industrial[d] {
                industrial[d] = true;
                bases[d] = pool.take_industrial(i);
            }
        }

        let mut wards: Vec<Ward> = Vec::with_capacity(layout.count);
        let mut ward_of_raw = vec![usize::MAX; layout.count];
        for (d, members) in districts.iter().enumerate() {
            let base = bases[d];
            for (i, &w) in members.iter().enumerate() {
                let chome = if members.len() > 1 { i + 1 } else { 0 };
                let name = if chome > 0 {
                    format!("{}{}丁目", base.kanji, kansuji(chome))
                } else {
                    base.kanji.to_string()
                };
                let (cells, parts) = std::mem::take(&mut raw[w]);
                let area_km2: f64 = parts.iter().map(|p| p.unsigned_area()).sum::<f64>() / 1e6;
                let t = frame.rel_height(centres[w]);
                let density = if industrial[d] {
                    0.0
                } else {
                    match setting(w) {
                        Setting::Shore => rng.gen_range(1000.0..3000.0),
                        Setting::Town => rng.gen_range(2000.0..5000.0) * (1.15 - 0.6 * t),
                        Setting::Hills => {
                            // Some hill 字 are forest only.
                            if rng.gen_bool(0.12) {
                                0.0
                            } else {
                                rng.gen_range(30.0..250.0) * (1.6 - t)
                            }
                        }
                    }
                };
                let jinko = (area_km2 * density).round() as i64;
                let setai = if jinko == 0 {
                    0
                } else {
                    ((jinko as f64) / rng.gen_range(1.9..2.7)).round().max(1.0) as i64
                };
                let inside = parts[0]
                    .interior_point()
                    .map(|p| p.0)
                    .expect("a non-empty polygon has an interior point");
                let bbox = parts
                    .iter()
                    .map(|p| p.bounding_rect().expect("non-empty polygon"))
                    .collect();
                ward_of_raw[w] = wards.len();
                wards.push(Ward {
                    parts,
                    cells,
                    base,
                    chome,
                    name,
                    s_area: format!("{:04}{:02}", (d + 1) * 10, chome),
                    setting: setting(w),
                    industrial: industrial[d],
                    jinko,
                    setai,
                    inside,
                    bbox,
                });
            }
        }
        let cell_ward = layout.owner.iter().map(|&w| ward_of_raw[w]).collect();
        City {
            frame,
            part,
            wards,
            cell_ward,
        }
    }

    /// The ward containing plane point `p`, if any.
    pub fn ward_at(&self, p: P) -> Option<usize> {
        self.wards.iter().position(|w| w.contains(p))
    }

    /// Ward indices adjacent to ward `w` (sharing an edge).
    pub fn neighbours(&self, w: usize) -> Vec<usize> {
        let mut out = BTreeSet::new();
        for &c in &self.wards[w].cells {
            for o in self.part.neighbours(c) {
                let ow = self.cell_ward[o];
                if ow != w {
                    out.insert(ow);
                }
            }
        }
        out.into_iter().collect()
    }
}

/// Rounds to `d` decimals (for DBF numeric values).
fn round_to(v: f64, d: i32) -> f64 {
    let f = 10f64.powi(d);
    (v * f).round() / f
}

/// The DBF columns of the e-Stat 2020 小地域 file that the sample carries.
pub fn estat_fields() -> Vec<DbfField> {
    use DbfFieldKind::{Character as C, Numeric as N};
    let f = |name: &str, kind, length, decimals| DbfField {
        name: name.to_string(),
        kind,
        length,
        decimals,
    };
    vec![
        f("KEY_CODE", C, 11, 0),
        f("PREF", C, 2, 0),
        f("CITY", C, 3, 0),
        f("S_AREA", C, 6, 0),
        f("PREF_NAME", C, 12, 0),
        f("CITY_NAME", C, 16, 0),
        f("S_NAME", C, 40, 0),
        f("KIGO_E", C, 2, 0),
        f("HCODE", N, 4, 0),
        f("AREA", N, 12, 3),
        f("PERIMETER", N, 12, 3),
        f("JINKO", N, 7, 0),
        f("SETAI", N, 7, 0),
        f("X_CODE", N, 11, 6),
        f("Y_CODE", N, 11, 6),
    ]
}

/// One shapefile feature per ward part, in KEY_CODE order: (plane
/// geometry, DBF record). JINKO/SETAI are carried by part E1; further parts
/// carry 0 so that summing by KEY_CODE gives the ward's figures.
pub fn estat_features(city: &City) -> Vec<(Polygon, Vec<DbfValue>)> {
    let mut out = Vec::new();
    for w in &city.wards {
        let split = w.parts.len() > 1;
        for (i, poly) in w.parts.iter().enumerate() {
            let rep = poly
                .interior_point()
                .map(|p| city.frame.to_lonlat(p.0))
                .expect("non-empty polygon");
            let perimeter: f64 = std::iter::once(poly.exterior())
                .chain(poly.interiors())
                .map(|r| Euclidean.length(r))
                .sum();
            let (jinko, setai) = if i == 0 { (w.jinko, w.setai) } else { (0, 0) };
            out.push((
                poly.clone(),
                vec![
                    DbfValue::Text(w.key_code()),
                    DbfValue::Text("33".into()),
                    DbfValue::Text("999".into()),
                    DbfValue::Text(w.s_area.clone()),
                    DbfValue::Text(super::PREF_NAME.into()),
                    DbfValue::Text(super::CITY_NAME.into()),
                    DbfValue::Text(w.name.clone()),
                    if split {
                        DbfValue::Text(format!("E{}", i + 1))
                    } else {
                        DbfValue::Null
                    },
                    DbfValue::Int(8101),
                    DbfValue::Float(round_to(poly.unsigned_area(), 3)),
                    DbfValue::Float(round_to(perimeter, 3)),
                    DbfValue::Int(jinko),
                    DbfValue::Int(setai),
                    DbfValue::Float(round_to(rep.x, 6)),
                    DbfValue::Float(round_to(rep.y, 6)),
                ],
            ));
        }
    }
    out
}
