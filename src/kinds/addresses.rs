//! Addresses from the Digital Agency's アドレス・ベース・レジストリ (ABR) CSVs: 町字 (`mt_town`),
//! 住居表示 街区 (`mt_rsdtdsp_blk`) and 住居 (`mt_rsdtdsp_rsdt`), 地番 (`mt_parcel`), each with its
//! 位置参照 file (`*_pos`), in the current English headers (`lg_code, machiaza_id, …`) and the
//! older Japanese ones (`全国地方公共団体コード, 町字id, …`).
//!
//! A file is recognised by the ids it carries, never by its name or column order: `prc_id` makes
//! parcels, else `rsdt_id` residences, else `blk_id` blocks, else `machiaza_id` 町字. A record
//! with names or numbers is a base record; one with `rep_lon`/`rep_lat` a position record (a file
//! may be both). Base and position records of one upload are joined by their ids, so the 住居
//! file and its 位置参照 file become one row with its point. Every position carries its own
//! `rep_srid` (a real `mt_town_pos` mixes JGD2000 and JGD2011 rows), so each point is transformed
//! by its own CRS. Block and residence rows get the 都道府県 and readings of their 町字 row when
//! the 町字 file is in the same upload.

use super::shelters::headers_found;
use super::{Cells, Normalizer, Out, Row};
// What a row's point stands for: the `precision` column's value is the precision the address
// lookup answers with (one enum for both, so the column and the API say the same words).
use crate::address::Precision;
use crate::crs::{self, Transformer};
use crate::dataset::{Val, ADDRESS_COLUMNS};
use crate::read::{RawFeature, SourceInfo};
use crate::report::{code, issue, Loc, Report};
use crate::text;
use geo::{Geometry, Point};
use std::collections::HashMap;

/// ABR fields: the current English header and the older Japanese ones (compared after NFKC;
/// older files wrote `町字id` with a lower-case `id`, the specification `町字ID`).
const FIELDS: &[(&str, &[&str])] = &[
    ("lg_code", &["全国地方公共団体コード"]),
    ("machiaza_id", &["町字id", "町字ID"]),
    ("blk_id", &["街区id", "街区ID"]),
    ("rsdt_id", &["住居id", "住居ID"]),
    ("rsdt2_id", &["住居2id", "住居2ID"]),
    ("prc_id", &["地番id", "地番ID"]),
    ("pref", &["都道府県名"]),
    ("pref_kana", &["都道府県名_カナ"]),
    ("pref_roma", &["都道府県名_英字"]),
    ("county", &["郡名"]),
    ("city", &["市区町村名"]),
    ("city_kana", &["市区町村名_カナ"]),
    ("city_roma", &["市区町村名_英字"]),
    ("ward", &["政令市区名"]),
    ("ward_kana", &["政令市区名_カナ"]),
    ("ward_roma", &["政令市区名_英字"]),
    ("oaza_cho", &["大字・町名"]),
    ("oaza_cho_kana", &["大字・町名_カナ"]),
    ("oaza_cho_roma", &["大字・町名_英字"]),
    ("chome", &["丁目名"]),
    ("chome_kana", &["丁目名_カナ"]),
    ("chome_number", &["丁目名_数字"]),
    ("koaza", &["小字名"]),
    ("koaza_kana", &["小字名_カナ"]),
    ("koaza_roma", &["小字名_英字"]),
    ("blk_num", &["街区符号"]),
    ("rsdt_num", &["住居番号"]),
    ("rsdt_num2", &["住居番号2"]),
    ("prc_num1", &["地番1"]),
    ("prc_num2", &["地番2"]),
    ("prc_num3", &["地番3"]),
    ("rsdt_addr_flg", &["住居表示フラグ"]),
    ("rep_lon", &["代表点_経度"]),
    ("rep_lat", &["代表点_緯度"]),
    ("rep_srid", &["代表点_座標参照系"]),
];

/// Fields that make a record a base record (names or numbers).
const BASE_FIELDS: &[&str] = &[
    "pref", "city", "oaza_cho", "chome", "koaza", "blk_num", "rsdt_num", "prc_num1",
];

/// Name fields a 町字 row lends to the blocks, residences and parcels of its 町字.
const TOWN_NAMES: &[&str] = &[
    "pref",
    "pref_kana",
    "pref_roma",
    "county",
    "city",
    "city_kana",
    "city_roma",
    "ward",
    "ward_kana",
    "ward_roma",
    "oaza_cho",
    "oaza_cho_kana",
    "oaza_cho_roma",
    "chome",
    "chome_kana",
    "chome_number",
    "koaza",
    "koaza_kana",
    "koaza_roma",
];

/// The kind of base registry file a level is read from, in Japanese (for the clerk's report).
fn file_ja(level: Precision) -> &'static str {
    match level {
        Precision::Machiaza => "町字",
        Precision::Block => "住居表示 街区",
        Precision::Residence => "住居表示 住居",
        Precision::Parcel => "地番",
    }
}

/// The same, by the registry's file name.
fn file_en(level: Precision) -> &'static str {
    match level {
        Precision::Machiaza => "mt_town (町字)",
        Precision::Block => "mt_rsdtdsp_blk (住居表示 街区)",
        Precision::Residence => "mt_rsdtdsp_rsdt (住居表示 住居)",
        Precision::Parcel => "mt_parcel (地番)",
    }
}

/// How a file was recognised.
#[derive(Clone, Debug)]
struct FileLayout {
    level: Precision,
    /// Japanese headers (the older ABR files).
    japanese: bool,
    /// For each canonical field, the header name this file uses.
    names: HashMap<&'static str, String>,
    base: bool,
    pos: bool,
}

/// One address being assembled from its base and position records.
#[derive(Debug, Default)]
struct Entry {
    level: Option<Precision>,
    /// The row's ids (lg_code, machiaza_id, blk_id, …).
    ids: HashMap<&'static str, String>,
    /// Canonical field → value of the base record (ids included).
    base: Option<HashMap<&'static str, String>>,
    /// Point in JGD2011 and the SRID the row gave.
    pos: Option<(Point<f64>, String)>,
    /// Both records' properties, base first.
    raw: serde_json::Map<String, serde_json::Value>,
    /// Where the first record was, for the warnings at the end.
    file: String,
    loc: Loc,
    japanese: bool,
}

/// Normaliser of ABR address files.
#[derive(Default)]
pub struct Addresses {
    files: HashMap<String, Option<FileLayout>>,
    /// Entries in the order first seen, and their index by natural key.
    entries: Vec<Entry>,
    by_key: HashMap<String, usize>,
    /// Transformers by EPSG code of `rep_srid`.
    transformers: HashMap<u32, Transformer>,
}

/// Fixed widths of ABR ids: a spreadsheet that read them as numbers dropped their zeros.
const ID_WIDTHS: &[(&str, usize)] = &[
    ("machiaza_id", 7),
    ("blk_id", 3),
    ("rsdt_id", 3),
    ("prc_id", 15),
];

fn detect(src: &SourceInfo, f: &RawFeature) -> Result<FileLayout, Vec<String>> {
    let headers = src.header_names(f);
    let mut names = HashMap::new();
    let mut japanese = false;
    for (field, ja) in FIELDS {
        if let Some(h) = headers.iter().find(|h| h.as_str() == *field) {
            names.insert(*field, h.clone());
        } else if let Some(h) = headers
            .iter()
            .find(|h| ja.iter().any(|j| text::nfkc_header(j) == **h))
        {
            names.insert(*field, h.clone());
            japanese = true;
        }
    }
    let has = |k: &str| names.contains_key(k);
    let level = if has("prc_id") {
        Precision::Parcel
    } else if has("rsdt_id") {
        Precision::Residence
    } else if has("blk_id") {
        Precision::Block
    } else {
        Precision::Machiaza
    };
    let base = BASE_FIELDS.iter().any(|k| has(k));
    let pos = has("rep_lon") && has("rep_lat");
    if !has("lg_code") || !has("machiaza_id") || !(base || pos) {
        return Err(headers);
    }
    Ok(FileLayout {
        level,
        japanese,
        names,
        base,
        pos,
    })
}

impl Addresses {
    fn start_file(src: &SourceInfo, f: &RawFeature, report: &mut Report) -> Option<FileLayout> {
        match detect(src, f) {
            Ok(l) => {
                let what = match (l.base, l.pos) {
                    (true, true) => ("（本体・位置参照）", " (base and position)"),
                    (false, true) => ("の位置参照", " position (_pos)"),
                    _ => ("", ""),
                };
                let hdr = if l.japanese {
                    ("日本語見出し", "Japanese headers")
                } else {
                    ("英語見出し", "English headers")
                };
                let ja = format!(
                    "アドレス・ベース・レジストリ {}{}（{}）",
                    file_ja(l.level),
                    what.0,
                    hdr.0
                );
                let en = format!(
                    "Address Base Registry {}{} ({})",
                    file_en(l.level),
                    what.1,
                    hdr.1
                );
                report.push_in(
                    &src.file,
                    issue(code::LAYOUT_DETECTED)
                        .value(if l.japanese { "abr_ja" } else { "abr" })
                        .detail(ja.clone(), en),
                );
                if report.layout.is_none() {
                    report.layout = Some(ja);
                }
                Some(l)
            }
            Err(headers) => {
                report.push_in(
                    &src.file,
                    issue(code::HEADER_UNRECOGNIZED)
                        .value(super::headers_with_samples(&headers, f))
                        .expected(
                            "アドレス・ベース・レジストリのCSV（町字・住居表示街区・住居表示住居・地番とその位置参照）: \
                             lg_code と machiaza_id（全国地方公共団体コード・町字id）、名称・番号の列（city, oaza_cho, blk_num, rsdt_num, prc_num1 …）\
                             または代表点の列（rep_lon, rep_lat, rep_srid）",
                            "an Address Base Registry CSV (mt_town, mt_rsdtdsp_blk, mt_rsdtdsp_rsdt, mt_parcel or their _pos files): \
                             lg_code and machiaza_id (全国地方公共団体コード, 町字id) with name or number columns (city, oaza_cho, \
                             blk_num, rsdt_num, prc_num1 …) or the point columns (rep_lon, rep_lat, rep_srid)",
                        ),
                );
                report.push_in(
                    &src.file,
                    issue(code::COLUMN_MISSING)
                        .value(headers_found(&headers))
                        .column("lg_code / machiaza_id / rep_lon, rep_lat")
                        .expected(
                            "lg_code と machiaza_id、名称・番号の列または代表点の列",
                            "lg_code and machiaza_id, and name/number or point columns",
                        ),
                );
                None
            }
        }
    }

    fn transformer(&mut self, epsg: u32) -> Result<&Transformer, String> {
        use std::collections::hash_map::Entry as E;
        match self.transformers.entry(epsg) {
            E::Occupied(o) => Ok(o.into_mut()),
            E::Vacant(v) => {
                let crs = crs::Crs::from_epsg(epsg).map_err(|e| e.to_string())?;
                let t = Transformer::new(crs).map_err(|e| e.to_string())?;
                Ok(v.insert(t))
            }
        }
    }

    /// The point of a position record in JGD2011, transformed from its own `rep_srid`.
    fn point(
        &mut self,
        c: &mut Cells<'_>,
        l: &FileLayout,
        key: impl Fn(&str) -> &'static [&'static str],
    ) -> Option<(Point<f64>, String)> {
        let lon = c.number(key("rep_lon"));
        let lat = c.number(key("rep_lat"));
        let (lon, lat) = match (lon, lat) {
            (Some(x), Some(y)) => (x, y),
            (None, None)
                if c.find(key("rep_lon")).is_none() && c.find(key("rep_lat")).is_none() =>
            {
                return None;
            }
            _ => {
                c.report(issue(code::COORD_MISSING).column(l.names["rep_lon"].clone()));
                return None;
            }
        };
        let srid_text = c.text(key("rep_srid")).map(|s| text::nfkc(&s).0);
        let epsg = match srid_text.as_deref() {
            None => {
                c.report(issue(code::ADDRESS_SRID_ASSUMED).column("rep_srid"));
                crs::STORE_EPSG
            }
            Some(s) => match crs::parse_crs_ref(s) {
                Ok(crs) => crs.epsg,
                Err(e) => {
                    c.report(
                        issue(code::CRS_UNSUPPORTED)
                            .column("rep_srid")
                            .value(s)
                            .detail(e.to_string(), e.to_string())
                            .expected(
                                "EPSG:6668（JGD2011）または EPSG:4612（JGD2000）",
                                "EPSG:6668 (JGD2011) or EPSG:4612 (JGD2000)",
                            ),
                    );
                    return None;
                }
            },
        };
        let t = match self.transformer(epsg) {
            Ok(t) => t,
            Err(e) => {
                c.report(
                    issue(code::CRS_UNSUPPORTED)
                        .column("rep_srid")
                        .value(srid_text.unwrap_or_default())
                        .detail(e.clone(), e),
                );
                return None;
            }
        };
        let (x, y) = match t.point(lon, lat) {
            Ok(p) => p,
            Err(e) => {
                c.report(issue(code::CRS_UNSUPPORTED).detail(e.to_string(), e.to_string()));
                return None;
            }
        };
        if !crs::in_japan(x, y) {
            c.report(
                issue(code::COORD_OUTSIDE_JAPAN)
                    .column("rep_lon, rep_lat")
                    .value(format!("{lon}, {lat}")),
            );
            return None;
        }
        Some((
            Point::new(x, y),
            srid_text.unwrap_or_else(|| format!("EPSG:{epsg}")),
        ))
    }
}

/// Header names of `field` for a [`Cells`] lookup: the English name and the Japanese ones.
fn keys_of(field: &str) -> &'static [&'static str] {
    // FIELDS is static, so its entries can be handed out as `'static` slices.
    static KEYS: std::sync::OnceLock<HashMap<&'static str, &'static [&'static str]>> =
        std::sync::OnceLock::new();
    let m = KEYS.get_or_init(|| {
        FIELDS
            .iter()
            .map(|(f, ja)| {
                let mut v: Vec<&'static str> = vec![*f];
                v.extend_from_slice(ja);
                (*f, &*Vec::leak(v))
            })
            .collect()
    });
    m.get(field).copied().unwrap_or(&[])
}

/// An id, NFKC'd, with the zeros a spreadsheet dropped restored (warning).
fn id_cell(c: &mut Cells<'_>, field: &'static str) -> Option<String> {
    let (k, v) = c.find(keys_of(field))?;
    let (mut n, _) = text::nfkc(&v);
    if let Some((_, w)) = ID_WIDTHS.iter().find(|(f, _)| *f == field) {
        if n.len() < *w && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) {
            let padded = format!("{n:0>w$}");
            c.report(
                issue(code::ADDRESS_ID_PADDED)
                    .column(k)
                    .value(v.clone())
                    .repaired(padded.clone()),
            );
            n = padded;
        }
    }
    (!n.is_empty()).then_some(n)
}

/// The natural key of an address row.
fn natural_key(level: Precision, ids: &HashMap<&'static str, String>) -> String {
    let g = |k: &str| ids.get(k).map_or("", String::as_str);
    match level {
        Precision::Machiaza => format!("town:{}:{}", g("lg_code"), g("machiaza_id")),
        Precision::Block => format!("blk:{}:{}:{}", g("lg_code"), g("machiaza_id"), g("blk_id")),
        Precision::Residence => format!(
            "rsdt:{}:{}:{}:{}:{}",
            g("lg_code"),
            g("machiaza_id"),
            g("blk_id"),
            g("rsdt_id"),
            g("rsdt2_id")
        ),
        Precision::Parcel => format!("prc:{}:{}:{}", g("lg_code"), g("machiaza_id"), g("prc_id")),
    }
}

impl Normalizer for Addresses {
    fn feature(
        &mut self,
        src: &SourceInfo,
        f: RawFeature,
        report: &mut Report,
        _out: &mut Out<'_>,
    ) {
        let layout = match self.files.get(&src.file) {
            Some(l) => l.clone(),
            None => {
                let l = Self::start_file(src, &f, report);
                self.files.insert(src.file.clone(), l.clone());
                l
            }
        };
        let Some(l) = layout else { return };
        let mut c = Cells::new(src, &f, report);
        let mut ids: HashMap<&'static str, String> = HashMap::new();
        match c.lg_code(keys_of("lg_code")) {
            Some(v) => {
                ids.insert("lg_code", v);
            }
            None => {
                if c.find(keys_of("lg_code")).is_none() {
                    c.report(issue(code::VALUE_REQUIRED).column(l.names["lg_code"].clone()));
                }
                return;
            }
        }
        for field in ["machiaza_id", "blk_id", "rsdt_id", "rsdt2_id", "prc_id"] {
            if let Some(v) = id_cell(&mut c, field) {
                ids.insert(field, v);
            }
        }
        let required: &[&str] = match l.level {
            Precision::Machiaza => &["machiaza_id"],
            Precision::Block => &["machiaza_id", "blk_id"],
            Precision::Residence => &["machiaza_id", "blk_id", "rsdt_id"],
            Precision::Parcel => &["machiaza_id", "prc_id"],
        };
        for r in required {
            if !ids.contains_key(r) {
                let col = l.names.get(r).cloned().unwrap_or_else(|| r.to_string());
                c.report(issue(code::VALUE_REQUIRED).column(col));
            }
        }
        let base = l.base.then(|| {
            let mut m: HashMap<&'static str, String> = HashMap::new();
            for (field, _) in FIELDS {
                if field.starts_with("rep_") || ids.contains_key(field) {
                    continue;
                }
                if let Some(v) = c.text(keys_of(field)) {
                    m.insert(*field, v);
                }
            }
            m
        });
        let pos = if l.pos {
            self.point(&mut c, &l, keys_of)
        } else {
            None
        };
        let errors = c.errors;
        if errors > 0 {
            return;
        }
        let key = natural_key(l.level, &ids);
        let idx = match self.by_key.get(&key) {
            Some(&i) => i,
            None => {
                self.entries.push(Entry {
                    level: Some(l.level),
                    ids: ids.clone(),
                    file: src.file.clone(),
                    loc: f.loc,
                    japanese: l.japanese,
                    ..Entry::default()
                });
                self.by_key.insert(key.clone(), self.entries.len() - 1);
                self.entries.len() - 1
            }
        };
        let e = &mut self.entries[idx];
        let dup = (l.base && e.base.is_some()) || (l.pos && e.pos.is_some() && pos.is_some());
        if dup {
            report.push_in(
                &src.file,
                issue(code::DUPLICATE_ID).at(f.loc).value(key).detail(
                    "同じIDの住所が2回あります",
                    "the same address ids appear twice",
                ),
            );
            return;
        }
        if let Some(mut b) = base {
            for (k, v) in &ids {
                b.insert(k, v.clone());
            }
            e.base = Some(b);
        }
        if pos.is_some() {
            e.pos = pos;
        }
        // Both records' properties, the base's first; a position value that differs from the
        // base's under the same header is kept under `_pos:` so nothing is lost.
        let props = f.props[f.derived.min(f.props.len())..].iter();
        for (k, v) in props {
            let v = v.as_ref().map_or(serde_json::Value::Null, |s| {
                serde_json::Value::String(s.clone())
            });
            match e.raw.get(k) {
                None => {
                    e.raw.insert(k.clone(), v);
                }
                Some(old) if *old == v => {}
                Some(_) => {
                    e.raw.insert(format!("_pos:{k}"), v);
                }
            }
        }
        e.japanese |= l.japanese;
    }

    fn finish(&mut self, report: &mut Report, out: &mut Out<'_>) {
        // 町字 names by (lg_code, machiaza_id), lent to the rows below them.
        let mut towns: HashMap<(String, String), usize> = HashMap::new();
        for (i, e) in self.entries.iter().enumerate() {
            if e.level == Some(Precision::Machiaza) {
                if let Some(b) = &e.base {
                    if let (Some(lg), Some(m)) = (b.get("lg_code"), b.get("machiaza_id")) {
                        towns.insert((lg.clone(), m.clone()), i);
                    }
                }
            }
        }
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let Some(level) = e.level else { continue };
            let had_base = e.base.is_some();
            let mut vals: HashMap<&'static str, String> =
                e.base.clone().unwrap_or_else(|| e.ids.clone());
            if !had_base {
                report.push_in(
                    &e.file,
                    issue(code::ADDRESS_BASE_MISSING)
                        .at(e.loc)
                        .value(natural_key(level, &vals)),
                );
            }
            if e.pos.is_none() {
                report.push_in(
                    &e.file,
                    issue(code::ADDRESS_POSITION_MISSING)
                        .at(e.loc)
                        .value(natural_key(level, &vals)),
                );
            }
            if level != Precision::Machiaza {
                let town_key = (
                    vals.get("lg_code").cloned().unwrap_or_default(),
                    vals.get("machiaza_id").cloned().unwrap_or_default(),
                );
                if let Some(t) = towns.get(&town_key).and_then(|&t| entries[t].base.as_ref()) {
                    for k in TOWN_NAMES {
                        if !vals.contains_key(k) {
                            if let Some(v) = t.get(k) {
                                vals.insert(k, v.clone());
                            }
                        }
                    }
                }
            }
            out(make_row(level, &vals, e));
        }
    }
}

/// The address written out: 都道府県 市区町村 町字 and the numbers in the usual style
/// (3番5号 for 住居表示, 103番地3 for 地番).
pub fn display_address(level: Precision, v: &HashMap<&'static str, String>) -> String {
    let g = |k: &str| v.get(k).map_or("", String::as_str);
    let mut s = String::new();
    for k in [
        "pref", "county", "city", "ward", "oaza_cho", "chome", "koaza",
    ] {
        s.push_str(g(k));
    }
    let num = |k: &str| {
        let t = g(k).trim_start_matches('0');
        if t.is_empty() && !g(k).is_empty() {
            "0".to_string()
        } else {
            t.to_string()
        }
    };
    match level {
        Precision::Machiaza => {}
        Precision::Block => {
            if !g("blk_num").is_empty() {
                s.push_str(&format!("{}番", num("blk_num")));
            }
        }
        Precision::Residence => {
            if !g("blk_num").is_empty() {
                s.push_str(&format!("{}番", num("blk_num")));
            }
            if !g("rsdt_num").is_empty() {
                s.push_str(&format!("{}号", num("rsdt_num")));
            }
            if !g("rsdt_num2").is_empty() {
                s.push_str(&format!("の{}", num("rsdt_num2")));
            }
        }
        Precision::Parcel => {
            if !g("prc_num1").is_empty() {
                s.push_str(&format!("{}番地", num("prc_num1")));
            }
            for k in ["prc_num2", "prc_num3"] {
                if !g(k).is_empty() {
                    s.push_str(&format!(
                        "{}{}",
                        if k == "prc_num2" { "" } else { "-" },
                        num(k)
                    ));
                }
            }
        }
    }
    s
}

fn make_row(level: Precision, v: &HashMap<&'static str, String>, e: &Entry) -> Row {
    let values = ADDRESS_COLUMNS
        .iter()
        .map(|c| match c.name {
            "precision" => Val::text(level.as_str()),
            "chome_number" | "rsdt_addr_flg" => v
                .get(c.name)
                .and_then(|s| text::nfkc(s).0.parse::<i64>().ok())
                .map_or(Val::Null, Val::Int),
            "address" => Val::text(display_address(level, v)),
            "lon" => e.pos.as_ref().map_or(Val::Null, |(p, _)| Val::Float(p.x())),
            "lat" => e.pos.as_ref().map_or(Val::Null, |(p, _)| Val::Float(p.y())),
            "src_srid" => e
                .pos
                .as_ref()
                .map_or(Val::Null, |(_, s)| Val::text(s.clone())),
            "source_layout" => Val::text(if e.japanese { "abr_ja" } else { "abr" }),
            name => Val::opt_text(v.get(name).cloned()),
        })
        .collect();
    Row {
        key: Some(natural_key(level, v)),
        values,
        geometry: e.pos.as_ref().map(|(p, _)| Geometry::Point(*p)),
        raw: serde_json::Value::Object(e.raw.clone()).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::DatasetId;
    use crate::report::Severity;

    /// Rows and report of `files` (name, bytes) read as one upload.
    fn run(files: &[(&str, Vec<u8>)]) -> (Vec<Row>, Report) {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut report = Report::new("addresses");
        let mut n = crate::kinds::normalizer(DatasetId::Addresses, Default::default());
        let mut rows = Vec::new();
        for (name, bytes) in files {
            let p = dir.path().join(name);
            std::fs::write(&p, bytes).expect("write");
            let _ = crate::read::read(&p, name, None, &mut report, &mut |src, f, rep| {
                n.feature(src, f, rep, &mut |r| rows.push(r));
                std::ops::ControlFlow::Continue(())
            });
        }
        n.finish(&mut report, &mut |r| rows.push(r));
        (rows, report)
    }

    fn get(r: &Row, col: &str) -> Val {
        let i = ADDRESS_COLUMNS
            .iter()
            .position(|c| c.name == col)
            .expect("column");
        r.values[i].clone()
    }

    fn text(r: &Row, col: &str) -> String {
        get(r, col).as_text().unwrap_or_default()
    }

    fn codes(rep: &Report) -> Vec<&'static str> {
        rep.issues.iter().map(|i| i.code).collect()
    }

    const TOWN: &str = "lg_code,machiaza_id,machiaza_type,pref,pref_kana,pref_roma,county,county_kana,county_roma,city,city_kana,city_roma,ward,ward_kana,ward_roma,oaza_cho,oaza_cho_kana,oaza_cho_roma,chome,chome_kana,chome_number,koaza,koaza_kana,koaza_roma,rsdt_addr_flg\n\
        339997,0001001,2,岡山県,オカヤマケン,Okayama,,,,サンプル市,サンプルシ,Sample-shi,,,,泉町,イズミチョウ,Izumicho,一丁目,イッチョウメ,1,,,,1\n\
        339997,0002000,1,岡山県,オカヤマケン,Okayama,,,,サンプル市,サンプルシ,Sample-shi,,,,大字池島,オオアザイケシマ,Ikeshima,,,,字土ノ河,アザツチノカワ,Tsuchinokawa,0\n";
    const TOWN_POS: &str = "lg_code,machiaza_id,rsdt_addr_flg,rep_lon,rep_lat,rep_srid,rep_scale\n\
        339997,0001001,1,133.9012345,34.6012345,EPSG:6668,2500\n\
        339997,2000,0,133.9112345,34.6112345,EPSG:4612,2500\n";

    #[test]
    fn town_and_position_join_with_mixed_srids() {
        let (rows, rep) = run(&[
            ("mt_town_city339997.csv", TOWN.as_bytes().to_vec()),
            ("mt_town_pos_city339997.csv", TOWN_POS.as_bytes().to_vec()),
        ]);
        assert_eq!(rep.errors, 0, "{}", rep.render_text());
        assert_eq!(rows.len(), 2);
        let a = &rows[0];
        assert_eq!(text(a, "precision"), "machiaza");
        assert_eq!(text(a, "address"), "岡山県サンプル市泉町一丁目");
        assert_eq!(get(a, "chome_number"), Val::Int(1));
        assert_eq!(text(a, "src_srid"), "EPSG:6668");
        assert_eq!(text(a, "source_layout"), "abr");
        assert_eq!(get(a, "lon"), Val::Float(133.9012345));
        // The JGD2000 row is transformed by its own CRS (PROJ's JGD2000 → JGD2011 has no
        // grid here, so the numbers stay: the integration test compares with pyproj).
        let b = &rows[1];
        assert_eq!(text(b, "machiaza_id"), "0002000");
        assert_eq!(text(b, "src_srid"), "EPSG:4612");
        let (Val::Float(x), Val::Float(y)) = (get(b, "lon"), get(b, "lat")) else {
            panic!("no point");
        };
        assert!((x - 133.9112345).abs() < 1e-7 && (y - 34.6112345).abs() < 1e-7);
        // The zeros a spreadsheet dropped are restored and reported.
        assert!(codes(&rep).contains(&"ADDRESS_ID_PADDED"));
        assert!(
            b.raw.contains("EPSG:4612") && b.raw.contains("字土ノ河"),
            "{}",
            b.raw
        );
        assert_eq!(b.key.as_deref(), Some("town:339997:0002000"));
    }

    #[test]
    fn a_tokyo_datum_row_is_shifted_by_its_own_crs() {
        // Rows of one file in two CRSs: the same numbers must land hundreds of metres apart.
        let pos = "lg_code,machiaza_id,rsdt_addr_flg,rep_lon,rep_lat,rep_srid\n\
            339997,0001001,1,133.9,34.6,EPSG:6668\n\
            339997,0002000,0,133.9,34.6,EPSG:4301\n";
        let (rows, rep) = run(&[("mt_town_pos.csv", pos.as_bytes().to_vec())]);
        assert_eq!(rep.errors, 0, "{}", rep.render_text());
        let lon = |r: &Row| match get(r, "lon") {
            Val::Float(x) => x,
            _ => f64::NAN,
        };
        let d = (lon(&rows[0]) - lon(&rows[1])).abs();
        assert!(d > 0.001, "{d}");
        // Position rows without their base rows are kept, and said so.
        assert!(codes(&rep).contains(&"ADDRESS_BASE_MISSING"));
    }

    const RSDT_JA: &str = "全国地方公共団体コード,町字id,街区id,住居id,住居2id,市区町村名,政令市区名,大字・町名,丁目名,小字名,街区符号,住居番号,住居番号2,住居表示フラグ\r\n\
        339997,0001001,003,005,,サンプル市,,泉町,一丁目,,3,5,,1\r\n\
        339997,0001001,003,007,,サンプル市,,泉町,一丁目,,3,7,,1\r\n";
    const RSDT_POS_JA: &str = "全国地方公共団体コード,町字id,街区id,住居id,住居2id,住居表示フラグ,代表点_経度,代表点_緯度,代表点_座標参照系\r\n\
        339997,0001001,003,005,,1,133.9020000,34.6020000,EPSG:6668\r\n";

    #[test]
    fn japanese_headers_in_cp932_join_and_take_the_town_names() {
        let (rows, rep) = run(&[
            ("mt_town.csv", TOWN.as_bytes().to_vec()),
            ("住居.csv", crate::text::encode_cp932(RSDT_JA)),
            ("住居_位置参照.csv", crate::text::encode_cp932(RSDT_POS_JA)),
        ]);
        assert_eq!(rep.errors, 0, "{}", rep.render_text());
        let r: Vec<&Row> = rows
            .iter()
            .filter(|r| text(r, "precision") == "residence")
            .collect();
        assert_eq!(r.len(), 2);
        assert_eq!(text(r[0], "address"), "岡山県サンプル市泉町一丁目3番5号");
        assert_eq!(text(r[0], "oaza_cho_kana"), "イズミチョウ");
        assert_eq!(text(r[0], "source_layout"), "abr_ja");
        assert_eq!(get(r[0], "lon"), Val::Float(133.902));
        assert!(r[0].geometry.is_some());
        // The second residence has no point: kept, reported.
        assert!(r[1].geometry.is_none());
        assert!(codes(&rep).contains(&"ADDRESS_POSITION_MISSING"));
        assert_eq!(rep.encoding.as_deref(), Some("Shift_JIS (CP932)"));
    }

    #[test]
    fn blocks_with_a_bom_and_parcels() {
        let blk = "\u{FEFF}lg_code,machiaza_id,blk_id,city,oaza_cho,chome,blk_num\n339997,0001001,003,サンプル市,泉町,一丁目,3\n";
        let blk_pos = "lg_code,machiaza_id,blk_id,rep_lon,rep_lat,rep_srid\n339997,0001001,003,133.903,34.603,EPSG:6668\n";
        let prc = "lg_code,machiaza_id,prc_id,city,oaza_cho,prc_num1,prc_num2,prc_num3\n339997,0002000,001030000200000,サンプル市,大字池島,103,2,\n";
        let prc_pos = "lg_code,machiaza_id,prc_id,rep_lon,rep_lat,rep_srid\n339997,0002000,001030000200000,133.913,34.613,EPSG:6668\n";
        let (rows, rep) = run(&[
            ("blk.csv", blk.as_bytes().to_vec()),
            ("blk_pos.csv", blk_pos.as_bytes().to_vec()),
            ("prc.csv", prc.as_bytes().to_vec()),
            ("prc_pos.csv", prc_pos.as_bytes().to_vec()),
        ]);
        assert_eq!(rep.errors, 0, "{}", rep.render_text());
        assert_eq!(rows.len(), 2);
        assert_eq!(text(&rows[0], "precision"), "block");
        assert_eq!(text(&rows[0], "address"), "サンプル市泉町一丁目3番");
        assert_eq!(text(&rows[1], "precision"), "parcel");
        assert_eq!(text(&rows[1], "address"), "サンプル市大字池島103番地2");
        assert!(rows.iter().all(|r| r.geometry.is_some()));
        assert!(codes(&rep).contains(&"BOM_REMOVED"));
    }

    #[test]
    fn an_unknown_layout_is_refused_with_every_column_found() {
        let f = "住所,緯度,経度\n泉町1-3-5,34.6,133.9\n";
        let (rows, rep) = run(&[("list.csv", f.as_bytes().to_vec())]);
        assert!(rows.is_empty());
        assert!(rep.errors > 0);
        let i = rep
            .issues
            .iter()
            .find(|i| i.code == "HEADER_UNRECOGNIZED")
            .expect("refused");
        assert_eq!(i.severity, Severity::Error);
        let v = i.value.clone().unwrap_or_default();
        assert!(
            v.contains("住所") && v.contains("緯度") && v.contains("経度"),
            "{v}"
        );
    }

    #[test]
    fn a_bad_srid_or_a_duplicate_is_an_error() {
        let pos =
            "lg_code,machiaza_id,rep_lon,rep_lat,rep_srid\n339997,0001001,133.9,34.6,EPSG:9999\n";
        let (_, rep) = run(&[("p.csv", pos.as_bytes().to_vec())]);
        assert!(
            codes(&rep).contains(&"CRS_UNSUPPORTED"),
            "{}",
            rep.render_text()
        );
        let (_, rep) = run(&[
            ("a.csv", TOWN.as_bytes().to_vec()),
            ("b.csv", TOWN.as_bytes().to_vec()),
        ]);
        assert!(codes(&rep).contains(&"DUPLICATE_ID"));
        // An empty SRID is taken as JGD2011, with a warning.
        let pos = "lg_code,machiaza_id,rep_lon,rep_lat,rep_srid\n339997,0001001,133.9,34.6,\n";
        let (rows, rep) = run(&[("p.csv", pos.as_bytes().to_vec())]);
        assert_eq!(rows.len(), 1);
        assert!(codes(&rep).contains(&"ADDRESS_SRID_ASSUMED"));
    }
}
