//! Writers for whole-dataset downloads and API features: CSV in the national layouts (03
//! 指定緊急避難場所一覧 for shelters, our documented Japanese layouts for stockpile, roads and
//! wards, the canonical columns for everything) and GeoJSON. They write to any `io::Write`, one
//! record at a time, so a download of a million polygons streams instead of being built in
//! memory; the OGC API and the downloads share the same feature encoder.

use crate::dataset::{fmt_float, DatasetId, Val};
use crate::index::{Feature, Layer};
use geo::Geometry;
use sha2::{Digest as _, Sha256};
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::time::Duration;

/// A download format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// CSV (UTF-8 with BOM, CRLF) in the dataset's published layout.
    Csv,
    /// GeoJSON FeatureCollection (RFC 7946).
    GeoJson,
}

/// Text encoding of a CSV download.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsvEncoding {
    /// UTF-8 with a BOM, which the national guidelines ask for and Excel needs to see UTF-8.
    Utf8Bom,
    /// CP932 (Shift_JIS) for old Excel; characters outside CP932 become `〓` (geta, the
    /// conventional substitute), counted in the return value of [`write_csv`].
    Cp932,
}

/// Which columns a CSV carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CsvLayout {
    /// The national or documented Japanese layout of the dataset (see `datasets/README.md`).
    Standard,
    /// Every canonical column under its canonical (English) name, plus `fid`.
    Canonical,
}

/// Where a CSV column's value comes from.
#[derive(Debug, Clone, Copy)]
enum Src {
    /// A canonical column.
    Col(&'static str),
    /// Latitude of the feature's label point.
    LabelLat,
    /// Longitude of the feature's label point.
    LabelLon,
}
use Src::{Col, LabelLat, LabelLon};

/// 03 指定緊急避難場所一覧, current layout: the 39 headers in order.
const SHELTERS_03: &[(&str, Src)] = &[
    ("全国地方公共団体コード", Col("lg_code")),
    ("ID", Col("id")),
    ("名称", Col("name")),
    ("名称_カナ", Col("name_kana")),
    ("名称_英字", Col("name_en")),
    ("所在地_全国地方公共団体コード", Col("address_lg_code")),
    ("町字ID", Col("town_id")),
    ("所在地_連結表記", Col("address")),
    ("所在地_都道府県", Col("address_pref")),
    ("所在地_市区町村", Col("address_city")),
    ("所在地_町字", Col("address_town")),
    ("所在地_番地以下", Col("address_number")),
    ("建物名等(方書)", Col("building")),
    ("緯度", Col("lat")),
    ("経度", Col("lon")),
    ("標高", Col("altitude_m")),
    ("電話番号", Col("phone")),
    ("内線番号", Col("phone_ext")),
    ("連絡先メールアドレス", Col("email")),
    ("連絡先FormURL", Col("form_url")),
    ("連絡先備考（その他、SNSなど）", Col("contact_note")),
    ("郵便番号", Col("postcode")),
    ("市区町村コード", Col("city_code")),
    ("地方公共団体名", Col("lg_name")),
    ("災害種別_洪水", Col("flood")),
    ("災害種別_崖崩れ、土石流及び地滑り", Col("landslide")),
    ("災害種別_高潮", Col("storm_surge")),
    ("災害種別_地震", Col("earthquake")),
    ("災害種別_津波", Col("tsunami")),
    ("災害種別_大規模な火事", Col("large_fire")),
    ("災害種別_内水氾濫", Col("inland_flood")),
    ("災害種別_火山現象", Col("volcano")),
    ("指定避難所との重複", Col("is_shelter")),
    ("想定収容人数", Col("capacity")),
    ("対象となる町会・自治会", Col("communities")),
    ("URL", Col("url")),
    ("画像", Col("image")),
    ("画像_ライセンス", Col("image_license")),
    ("備考", Col("note")),
];

/// Stockpile: the column set of schemas.md §1.9, which is also what ingestion reads.
const STOCKPILE_STD: &[(&str, Src)] = &[
    ("全国地方公共団体コード", Col("lg_code")),
    ("ID", Col("id")),
    ("避難所_共通ID", Col("shelter_common_id")),
    ("避難所_ID", Col("shelter_id")),
    ("保管場所名称", Col("location_name")),
    ("保管場所種別", Col("location_type")),
    ("品目分類", Col("category")),
    ("品名", Col("item")),
    ("規格", Col("spec")),
    ("数量", Col("quantity")),
    ("単位", Col("unit")),
    ("賞味期限", Col("expiry")),
    ("更新年月日", Col("updated_on")),
    ("緯度", Col("lat")),
    ("経度", Col("lon")),
    ("備考", Col("note")),
];

/// Roads: the 道路台帳 ledger columns, the measured length, and a representative point.
const ROADS_STD: &[(&str, Src)] = &[
    ("路線番号", Col("route_no")),
    ("路線名", Col("route_name")),
    ("道路種別", Col("road_class")),
    ("起点", Col("start_point")),
    ("終点", Col("end_point")),
    ("実延長", Col("length_m")),
    ("幅員", Col("width_m")),
    ("認定年月日", Col("certified_on")),
    ("備考", Col("note")),
    ("計測延長", Col("geom_length_m")),
    ("代表点_緯度", LabelLat),
    ("代表点_経度", LabelLon),
];

/// Wards: code, name, reading, municipality, population, households, label point.
const WARDS_STD: &[(&str, Src)] = &[
    ("地域コード", Col("code")),
    ("町丁字名", Col("name")),
    ("町丁字名_カナ", Col("name_kana")),
    ("全国地方公共団体コード", Col("city_code")),
    ("人口", Col("population")),
    ("世帯数", Col("households")),
    ("代表点_緯度", LabelLat),
    ("代表点_経度", LabelLon),
];

/// Headers of the standard CSV layout of `d`, or `None` when it has no Japanese layout (the
/// hazards, whose layouts differ by source; their CSV carries the canonical columns).
pub fn standard_headers(d: DatasetId) -> Option<Vec<&'static str>> {
    standard_layout(d).map(|l| l.iter().map(|(h, _)| *h).collect())
}

fn standard_layout(d: DatasetId) -> Option<&'static [(&'static str, Src)]> {
    match d {
        DatasetId::Shelters => Some(SHELTERS_03),
        DatasetId::Stockpile => Some(STOCKPILE_STD),
        DatasetId::Roads => Some(ROADS_STD),
        DatasetId::Wards => Some(WARDS_STD),
        _ => None,
    }
}

/// The columns (header, source) of a CSV of `d` in `layout`.
fn csv_columns(d: DatasetId, layout: CsvLayout) -> Vec<(String, Src)> {
    if layout == CsvLayout::Standard {
        if let Some(l) = standard_layout(d) {
            return l.iter().map(|(h, s)| ((*h).to_string(), *s)).collect();
        }
    }
    let mut v: Vec<(String, Src)> = d
        .columns()
        .iter()
        .map(|c| (c.name.to_string(), Col(c.name)))
        .collect();
    let has_latlon = d.columns().iter().any(|c| c.name == "lat");
    if d.has_geometry() && !has_latlon {
        v.push(("label_lat".into(), LabelLat));
        v.push(("label_lon".into(), LabelLon));
    }
    v
}

/// Rows a standard shelters CSV carries: the 03 list is of 指定緊急避難場所, so rows that are only
/// 指定避難所 (from a GSI `_1` file) are left out of it (they are in the canonical layout).
fn row_included(d: DatasetId, layout: CsvLayout, layer: &Layer, f: &Feature) -> bool {
    if d == DatasetId::Shelters && layout == CsvLayout::Standard {
        return !matches!(
            f.get(layer.columns(), "is_emergency_site"),
            Some(Val::Bool(false))
        );
    }
    true
}

fn cell(layer: &Layer, f: &Feature, src: Src) -> String {
    match src {
        Col(name) => {
            let v = f.get(layer.columns(), name);
            // A conditional designation (NULL flag named in `conditional`) is written as the
            // city wrote it, so it is neither lost nor read back as "no".
            if matches!(v, Some(Val::Null)) && is_conditional(layer, f, name) {
                return "△".into();
            }
            v.and_then(Val::as_text).unwrap_or_default()
        }
        LabelLat => f.label.map(|p| fmt_coord(p[1])).unwrap_or_default(),
        LabelLon => f.label.map(|p| fmt_coord(p[0])).unwrap_or_default(),
    }
}

/// True when `name` is one of the feature's conditional designations (shelters' `conditional`).
fn is_conditional(layer: &Layer, f: &Feature, name: &str) -> bool {
    matches!(f.get(layer.columns(), "conditional"), Some(Val::Text(s)) if s.split(';').any(|x| x == name))
}

/// True when a CSV column holds free text (the only cells a spreadsheet could take for a
/// formula: numbers, flags, dates and coordinates are written by us, never from the text).
fn is_text(layer: &Layer, src: Src) -> bool {
    match src {
        Col(name) => layer
            .columns()
            .iter()
            .any(|c| c.name == name && c.ty == crate::dataset::SqlType::Text),
        LabelLat | LabelLon => false,
    }
}

/// A text cell as spreadsheets may safely open it: one starting with `=`, `+`, `-`, `@`, a
/// tab or a CR (which Excel and LibreOffice run as a formula: CSV injection) gets a leading
/// `'`, which makes it text. Numbers (`-3.5`, `+81`) and a lone `-` (a common "none") are left
/// alone: a spreadsheet reads them as the number or the dash they are.
pub fn defuse_cell(v: &str) -> std::borrow::Cow<'_, str> {
    let risky = v.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = v.len() > 1
        && v.bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-' | b'e' | b'E'))
        && v.parse::<f64>().is_ok_and(f64::is_finite);
    if risky && !number && v != "-" {
        std::borrow::Cow::Owned(format!("'{v}"))
    } else {
        std::borrow::Cow::Borrowed(v)
    }
}

/// Coordinates are written to 7 decimals (about 1 cm), without trailing zeros.
fn fmt_coord(v: f64) -> String {
    fmt_float((v * 1e7).round() / 1e7)
}

/// Append one CSV field, quoted when it holds a comma, quote, CR or LF (RFC 4180).
fn push_field(line: &mut String, v: &str) {
    if v.contains([',', '"', '\r', '\n']) {
        line.push('"');
        line.push_str(&v.replace('"', "\"\""));
        line.push('"');
    } else {
        line.push_str(v);
    }
}

/// Write `layer` as CSV (CRLF line ends; BOM when UTF-8; text cells defused for spreadsheets,
/// see [`defuse_cell`]). Returns the number of characters that
/// had to be substituted because CP932 cannot encode them (always 0 for UTF-8).
pub fn write_csv<W: Write + ?Sized>(
    layer: &Layer,
    layout: CsvLayout,
    enc: CsvEncoding,
    out: &mut W,
) -> io::Result<u64> {
    let d = layer.dataset;
    let cols = csv_columns(d, layout);
    let text_cols: Vec<bool> = cols.iter().map(|(_, s)| is_text(layer, *s)).collect();
    let mut substituted = 0u64;
    if enc == CsvEncoding::Utf8Bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut line = String::with_capacity(1024);
    let mut emit = |line: &mut String, out: &mut W| -> io::Result<()> {
        line.push_str("\r\n");
        match enc {
            CsvEncoding::Utf8Bom => out.write_all(line.as_bytes())?,
            CsvEncoding::Cp932 => {
                let (bytes, n) = to_cp932(line);
                substituted += n;
                out.write_all(&bytes)?;
            }
        }
        line.clear();
        Ok(())
    };
    let canonical = layout == CsvLayout::Canonical;
    if canonical {
        line.push_str("fid,");
    }
    for (i, (h, _)) in cols.iter().enumerate() {
        if i > 0 {
            line.push(',');
        }
        push_field(&mut line, h);
    }
    emit(&mut line, out)?;
    for f in &layer.features {
        if !row_included(d, layout, layer, f) {
            continue;
        }
        if canonical {
            line.push_str(&f.fid.to_string());
            line.push(',');
        }
        for (i, (_, s)) in cols.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            let v = cell(layer, f, *s);
            if text_cols[i] {
                push_field(&mut line, &defuse_cell(&v));
            } else {
                push_field(&mut line, &v);
            }
        }
        emit(&mut line, out)?;
    }
    Ok(substituted)
}

/// Header row of a canonical CSV (fid first).
pub fn canonical_headers(d: DatasetId) -> Vec<String> {
    let mut v = vec!["fid".to_string()];
    v.extend(
        csv_columns(d, CsvLayout::Canonical)
            .into_iter()
            .map(|(h, _)| h),
    );
    v
}

/// Encode to CP932, substituting 〓 for what it cannot hold; returns the substitution count.
fn to_cp932(text: &str) -> (Vec<u8>, u64) {
    let mut out = Vec::with_capacity(text.len());
    let mut n = 0;
    let mut buf = [0u8; 4];
    for ch in text.chars() {
        let s = ch.encode_utf8(&mut buf);
        let (bytes, _, unmappable) = encoding_rs::SHIFT_JIS.encode(s);
        if unmappable {
            n += 1;
            out.extend_from_slice(&encoding_rs::SHIFT_JIS.encode("〓").0);
        } else {
            out.extend_from_slice(&bytes);
        }
    }
    (out, n)
}

/// Write `layer` as a GeoJSON FeatureCollection, one feature at a time.
pub fn write_geojson<W: Write + ?Sized>(layer: &Layer, out: &mut W) -> io::Result<()> {
    out.write_all(b"{\"type\":\"FeatureCollection\",\"name\":")?;
    write_json_str(out, layer.dataset.as_str())?;
    out.write_all(b",\"features\":[\n")?;
    let mut buf = Vec::with_capacity(4096);
    for (i, f) in layer.features.iter().enumerate() {
        buf.clear();
        if i > 0 {
            buf.extend_from_slice(b",\n");
        }
        feature_json(layer, f, &mut buf)?;
        out.write_all(&buf)?;
    }
    out.write_all(b"\n]}\n")
}

/// One GeoJSON Feature (`id` = fid, properties = canonical columns, coordinates to 7 decimals).
pub fn feature_json<W: Write + ?Sized>(layer: &Layer, f: &Feature, out: &mut W) -> io::Result<()> {
    feature_json_with(layer.columns(), f, out)
}

/// [`feature_json`] with explicit columns (for collections that are not a dataset table).
pub fn feature_json_with<W: Write + ?Sized>(
    columns: &[crate::dataset::Column],
    f: &Feature,
    out: &mut W,
) -> io::Result<()> {
    feature_json_geom(columns, f, f.geom.as_ref(), None, out)
}

/// [`feature_json_with`] with `geom` in place of the feature's own geometry (the geometry in
/// another CRS, for OGC API `crs=`) and, when `only` is given, only the columns at those
/// indices into `columns`, in that order (OGC API `properties=`).
pub fn feature_json_geom<W: Write + ?Sized>(
    columns: &[crate::dataset::Column],
    f: &Feature,
    geom: Option<&Geometry<f64>>,
    only: Option<&[usize]>,
    out: &mut W,
) -> io::Result<()> {
    write!(out, "{{\"type\":\"Feature\",\"id\":{},\"geometry\":", f.fid)?;
    match geom {
        Some(g) => write_geometry(g, out)?,
        None => out.write_all(b"null")?,
    }
    out.write_all(b",\"properties\":{")?;
    let all: Vec<usize>;
    let picked = match only {
        Some(o) => o,
        None => {
            all = (0..columns.len()).collect();
            &all
        }
    };
    let mut first = true;
    for &i in picked {
        let (Some(c), Some(v)) = (columns.get(i), f.values.get(i)) else {
            continue;
        };
        if !first {
            out.write_all(b",")?;
        }
        first = false;
        write_json_str(out, c.name)?;
        out.write_all(b":")?;
        write_val(v, out)?;
    }
    out.write_all(b"}}")
}

/// A value as JSON (NaN and infinities, which JSON cannot hold, become null).
pub fn write_val<W: Write + ?Sized>(v: &Val, out: &mut W) -> io::Result<()> {
    match v {
        Val::Null => out.write_all(b"null"),
        Val::Int(i) => write!(out, "{i}"),
        Val::Float(x) if x.is_finite() => write!(out, "{}", fmt_float(*x)),
        Val::Float(_) => out.write_all(b"null"),
        Val::Text(s) => write_json_str(out, s),
        Val::Bool(b) => out.write_all(if *b { b"true" } else { b"false" }),
    }
}

fn write_json_str<W: Write + ?Sized>(out: &mut W, s: &str) -> io::Result<()> {
    serde_json::to_writer(&mut *out, s).map_err(io::Error::other)
}

fn write_pos<W: Write + ?Sized>(c: geo::Coord<f64>, out: &mut W) -> io::Result<()> {
    write!(out, "[{},{}]", fmt_coord(c.x), fmt_coord(c.y))
}

fn write_line<W: Write + ?Sized>(l: &geo::LineString<f64>, out: &mut W) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, c) in l.0.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        write_pos(*c, out)?;
    }
    out.write_all(b"]")
}

fn write_rings<W: Write + ?Sized>(p: &geo::Polygon<f64>, out: &mut W) -> io::Result<()> {
    out.write_all(b"[")?;
    write_line(p.exterior(), out)?;
    for r in p.interiors() {
        out.write_all(b",")?;
        write_line(r, out)?;
    }
    out.write_all(b"]")
}

fn write_list<W: Write + ?Sized, T>(
    items: &[T],
    out: &mut W,
    each: impl Fn(&T, &mut W) -> io::Result<()>,
) -> io::Result<()> {
    out.write_all(b"[")?;
    for (i, it) in items.iter().enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        each(it, out)?;
    }
    out.write_all(b"]")
}

/// A geometry as RFC 7946 GeoJSON (exterior rings as stored: counter-clockwise).
pub fn write_geometry<W: Write + ?Sized>(g: &Geometry<f64>, out: &mut W) -> io::Result<()> {
    match g {
        Geometry::Point(p) => {
            out.write_all(b"{\"type\":\"Point\",\"coordinates\":")?;
            write_pos(p.0, out)?;
        }
        Geometry::MultiPoint(mp) => {
            out.write_all(b"{\"type\":\"MultiPoint\",\"coordinates\":")?;
            write_list(&mp.0, out, |p, o| write_pos(p.0, o))?;
        }
        Geometry::LineString(l) => {
            out.write_all(b"{\"type\":\"LineString\",\"coordinates\":")?;
            write_line(l, out)?;
        }
        Geometry::MultiLineString(ml) => {
            out.write_all(b"{\"type\":\"MultiLineString\",\"coordinates\":")?;
            write_list(&ml.0, out, write_line)?;
        }
        Geometry::Polygon(p) => {
            out.write_all(b"{\"type\":\"Polygon\",\"coordinates\":")?;
            write_rings(p, out)?;
        }
        Geometry::MultiPolygon(mp) => {
            out.write_all(b"{\"type\":\"MultiPolygon\",\"coordinates\":")?;
            write_list(&mp.0, out, write_rings)?;
        }
        Geometry::GeometryCollection(gc) => {
            out.write_all(b"{\"type\":\"GeometryCollection\",\"geometries\":")?;
            write_list(&gc.0, out, write_geometry)?;
        }
        Geometry::Line(l) => {
            out.write_all(b"{\"type\":\"LineString\",\"coordinates\":[")?;
            write_pos(l.start, out)?;
            out.write_all(b",")?;
            write_pos(l.end, out)?;
            out.write_all(b"]")?;
        }
        Geometry::Rect(r) => return write_geometry(&Geometry::Polygon(r.to_polygon()), out),
        Geometry::Triangle(t) => {
            return write_geometry(&Geometry::Polygon(t.to_polygon()), out);
        }
    }
    out.write_all(b"}")
}

/// Size and SHA-256 of a download.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// Bytes.
    pub size: u64,
    /// SHA-256, lower-case hex.
    pub sha256: String,
}

/// A writer that passes the bytes on to `inner` and counts and hashes them as they go: the
/// catalog's digest of a download, and the static export's download files written and hashed
/// in one pass.
pub struct DigestWriter<W> {
    inner: W,
    size: u64,
    hash: Sha256,
}

impl<W: Write> DigestWriter<W> {
    /// Hash what is written to `inner`.
    pub fn new(inner: W) -> Self {
        DigestWriter {
            inner,
            size: 0,
            hash: Sha256::new(),
        }
    }

    /// The writer back, and the size and SHA-256 of everything written through it.
    pub fn finish(self) -> (W, Digest) {
        let d = Digest {
            size: self.size,
            sha256: format!("{:x}", self.hash.finalize()),
        };
        (self.inner, d)
    }
}

impl<W: Write> Write for DigestWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.size += n as u64;
        self.hash.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Write `layer` as a download of `format`, exactly the bytes the catalog's digest is of (the
/// published CSV layout in UTF-8 with BOM, or GeoJSON).
pub fn write_download<W: Write + ?Sized>(
    layer: &Layer,
    format: Format,
    out: &mut W,
) -> io::Result<()> {
    match format {
        Format::Csv => write_csv(layer, CsvLayout::Standard, CsvEncoding::Utf8Bom, out).map(|_| ()),
        Format::GeoJson => write_geojson(layer, out),
    }
}

type DigestKey = (DatasetId, i64, String, Format);

/// One value being computed or computed, and the waiters for it.
struct Slot<V> {
    value: Mutex<Option<V>>,
    ready: Condvar,
}

impl<V: Clone> Slot<V> {
    fn set(&self, v: V) {
        *self.value.lock().unwrap_or_else(|e| e.into_inner()) = Some(v);
        self.ready.notify_all();
    }

    /// The value once set, waiting at most `wait`.
    fn wait(&self, wait: Duration) -> Option<V> {
        let g = self.value.lock().unwrap_or_else(|e| e.into_inner());
        let (g, _) = self
            .ready
            .wait_timeout_while(g, wait, |v| v.is_none())
            .unwrap_or_else(|e| e.into_inner());
        g.clone()
    }
}

/// Values computed once per key, however many ask at the same time: the first caller starts
/// the computation while the others wait for its result (single flight), and a key is never
/// computed twice while it is kept.
struct Once<K, V> {
    cells: Mutex<HashMap<K, Arc<Slot<V>>>>,
}

impl<K: std::hash::Hash + Eq + Clone, V: Clone + Send + 'static> Once<K, V> {
    fn new() -> Self {
        Once {
            cells: Mutex::new(HashMap::new()),
        }
    }

    /// The slot of `key` and whether this caller made it (and so must fill it); `forget` says
    /// which other keys to drop when a new key is added (old versions).
    fn slot(&self, key: &K, forget: impl Fn(&K) -> bool) -> (Arc<Slot<V>>, bool) {
        let mut m = self.cells.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = m.get(key) {
            return (c.clone(), false);
        }
        m.retain(|k, _| !forget(k));
        let slot = Arc::new(Slot {
            value: Mutex::new(None),
            ready: Condvar::new(),
        });
        m.insert(key.clone(), slot.clone());
        (slot, true)
    }

    /// The value of `key`, computed here by `compute` if no one has started it; otherwise
    /// waits for the one computing it (and computes it itself if that takes over a minute).
    fn get(&self, key: &K, forget: impl Fn(&K) -> bool, compute: impl FnOnce() -> V) -> V {
        let (slot, mine) = self.slot(key, forget);
        if !mine {
            if let Some(v) = slot.wait(Duration::from_secs(60)) {
                return v;
            }
        }
        let v = compute();
        slot.set(v.clone());
        v
    }

    /// The value of `key` if it is there within `wait`; the first caller starts `compute` on
    /// a thread of its own, so no caller waits longer than `wait` however long it takes.
    fn get_within(
        &self,
        key: &K,
        forget: impl Fn(&K) -> bool,
        compute: impl FnOnce() -> V + Send + 'static,
        wait: Duration,
    ) -> Option<V> {
        let (slot, mine) = self.slot(key, forget);
        if mine {
            let filled = slot.clone();
            let spawned = std::thread::Builder::new()
                .name("digest".into())
                .spawn(move || filled.set(compute()));
            if let Err(e) = spawned {
                tracing::warn!("could not start hashing a download: {e}");
                return None;
            }
        }
        slot.wait(wait)
    }
}

fn digests() -> &'static Once<DigestKey, Digest> {
    static D: OnceLock<Once<DigestKey, Digest>> = OnceLock::new();
    D.get_or_init(Once::new)
}

fn digest_key(layer: &Layer, format: Format) -> DigestKey {
    (
        layer.dataset,
        layer.version,
        layer.published_at.clone(),
        format,
    )
}

/// Size and SHA-256 of the download of `layer` in `format` (UTF-8 CSV with BOM in the standard
/// layout / GeoJSON), computed once per published version and cached. Concurrent callers for
/// a version not hashed yet wait for one hashing, so call it from a blocking thread.
pub fn digest(layer: &Layer, format: Format) -> Digest {
    let key = digest_key(layer, format);
    digests().get(
        &key,
        |k| k.0 == layer.dataset && k.1 != layer.version,
        || compute_digest(layer, format),
    )
}

/// The digest of `layer` in `format` if it is known within `wait`, else `None` (the hashing
/// goes on in the background and a later call has it). The catalog uses this so that the first
/// requests after the publish of a large layer are not held for the seconds its hashing takes.
pub fn digest_within(layer: &Arc<Layer>, format: Format, wait: Duration) -> Option<Digest> {
    let key = digest_key(layer, format);
    let owned = layer.clone();
    digests().get_within(
        &key,
        |k| k.0 == layer.dataset && k.1 != layer.version,
        move || compute_digest(&owned, format),
        wait,
    )
}

fn compute_digest(layer: &Layer, format: Format) -> Digest {
    let mut w = DigestWriter::new(io::sink());
    // Writing to a sink cannot fail.
    let _ = write_download(layer, format, &mut w);
    w.finish().1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::DatasetId;
    use geo::polygon;

    fn layer(d: DatasetId, features: Vec<Feature>) -> Layer {
        Layer {
            dataset: d,
            version: 3,
            published_at: "2026-04-01T00:00:00Z".into(),
            created_at: "2026-04-01T00:00:00Z".into(),
            source_names: "x.csv".into(),
            source_sha256: String::new(),
            features,
            tree: rstar::RTree::new(),
            bbox: None,
            tileset: Default::default(),
        }
    }

    fn shelter(fid: i64, name: &str, emergency: bool) -> Feature {
        let cols = DatasetId::Shelters.columns();
        let mut values = vec![Val::Null; cols.len()];
        let set = |values: &mut Vec<Val>, n: &str, v: Val| {
            let i = cols.iter().position(|c| c.name == n).unwrap();
            values[i] = v;
        };
        set(&mut values, "name", Val::text(name));
        set(&mut values, "id", Val::text(format!("S{fid}")));
        set(&mut values, "flood", Val::Bool(true));
        set(&mut values, "tsunami", Val::Bool(false));
        set(&mut values, "capacity", Val::Int(250));
        set(&mut values, "lat", Val::Float(34.6));
        set(&mut values, "is_emergency_site", Val::Bool(emergency));
        set(&mut values, "conditional", Val::text("landslide"));
        Feature {
            fid,
            values: values.into(),
            geom: Some(Geometry::Point(geo::point!(x: 133.9, y: 34.6))),
            bbox: None,
            label: None,
        }
    }

    #[test]
    fn shelters_csv_is_the_03_layout_with_bom_crlf_and_flags() {
        let l = layer(
            DatasetId::Shelters,
            vec![
                shelter(1, "第一小学校, 体育館", true),
                shelter(2, "福祉センター", false),
            ],
        );
        let mut out = Vec::new();
        write_csv(&l, CsvLayout::Standard, CsvEncoding::Utf8Bom, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with('\u{feff}'));
        let lines: Vec<&str> = text.trim_start_matches('\u{feff}').split("\r\n").collect();
        assert_eq!(lines[0].split(',').count(), 39);
        assert!(lines[0].starts_with("全国地方公共団体コード,ID,名称,名称_カナ,名称_英字,"));
        assert!(lines[0].ends_with(",URL,画像,画像_ライセンス,備考"));
        // Quoted name; flood 1, tsunami empty; the shelter-only row is not in the 03 list.
        assert!(
            lines[1].starts_with(",S1,\"第一小学校, 体育館\","),
            "{}",
            lines[1]
        );
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert_eq!(lines[2], "");
        let mut r = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
        let h = r.headers().unwrap().clone();
        let row = r.records().next().unwrap().unwrap();
        let get = |n: &str| row.get(h.iter().position(|x| x == n).unwrap()).unwrap();
        assert_eq!(get("災害種別_洪水"), "1");
        assert_eq!(get("災害種別_津波"), "");
        assert_eq!(
            get("災害種別_崖崩れ、土石流及び地滑り"),
            "△",
            "conditional kept"
        );
        assert_eq!(get("想定収容人数"), "250");
        assert_eq!(get("緯度"), "34.6");
        // The canonical layout keeps every row.
        let mut out = Vec::new();
        write_csv(&l, CsvLayout::Canonical, CsvEncoding::Utf8Bom, &mut out).unwrap();
        assert_eq!(String::from_utf8(out).unwrap().matches("\r\n").count(), 3);
    }

    #[test]
    fn cp932_csv_substitutes_what_it_cannot_hold() {
        let l = layer(DatasetId::Shelters, vec![shelter(1, "髙橋🏠会館", true)]);
        let mut out = Vec::new();
        let n = write_csv(&l, CsvLayout::Standard, CsvEncoding::Cp932, &mut out).unwrap();
        assert_eq!(n, 1, "the emoji is not in CP932; 髙 is (NEC extension)");
        let (text, _, bad) = encoding_rs::SHIFT_JIS.decode(&out);
        assert!(!bad);
        assert!(text.contains("髙橋〓会館"), "{text}");
        assert!(!text.starts_with('\u{feff}'));
    }

    #[test]
    fn geojson_is_valid_and_typed() {
        let mut f = shelter(7, "公民館 \"本館\"", true);
        f.geom = Some(Geometry::Polygon(polygon![
            (x: 133.0, y: 34.0), (x: 133.1, y: 34.0), (x: 133.1, y: 34.123456789), (x: 133.0, y: 34.0)
        ]));
        let l = layer(DatasetId::Shelters, vec![f, shelter(8, "b", true)]);
        let mut out = Vec::new();
        write_geojson(&l, &mut out).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["type"], "FeatureCollection");
        let f0 = &v["features"][0];
        assert_eq!(f0["id"], 7);
        assert_eq!(f0["properties"]["name"], "公民館 \"本館\"");
        assert_eq!(f0["properties"]["capacity"], 250);
        assert_eq!(f0["properties"]["flood"], true);
        assert_eq!(f0["properties"]["note"], serde_json::Value::Null);
        assert_eq!(f0["geometry"]["type"], "Polygon");
        assert_eq!(f0["geometry"]["coordinates"][0][2][1], 34.1234568);
        // The geojson crate (an independent parser) reads it.
        match String::from_utf8(out)
            .unwrap()
            .parse::<geojson::GeoJson>()
            .unwrap()
        {
            geojson::GeoJson::FeatureCollection(fc) => assert_eq!(fc.features.len(), 2),
            other => panic!("not a FeatureCollection: {other:?}"),
        }
    }

    #[test]
    fn digest_matches_the_bytes_and_is_cached_per_version() {
        let l = layer(DatasetId::Shelters, vec![shelter(1, "a", true)]);
        let mut out = Vec::new();
        write_csv(&l, CsvLayout::Standard, CsvEncoding::Utf8Bom, &mut out).unwrap();
        let d = digest(&l, Format::Csv);
        assert_eq!(d.size, out.len() as u64);
        assert_eq!(d.sha256, format!("{:x}", Sha256::digest(&out)));
        assert_eq!(digest(&l, Format::Csv), d);
        assert_ne!(digest(&l, Format::GeoJson), d);
    }

    #[test]
    fn concurrent_first_requests_compute_a_value_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let once: Arc<Once<(u8, i64), u64>> = Arc::new(Once::new());
        let computed = Arc::new(AtomicUsize::new(0));
        let barrier = Arc::new(std::sync::Barrier::new(8));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (once, computed, barrier) = (once.clone(), computed.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    once.get(
                        &(1, 1),
                        |_| false,
                        || {
                            computed.fetch_add(1, Ordering::SeqCst);
                            // Long enough for every other thread to ask meanwhile.
                            std::thread::sleep(std::time::Duration::from_millis(50));
                            42
                        },
                    )
                })
            })
            .collect();
        for t in threads {
            assert_eq!(t.join().unwrap(), 42);
        }
        assert_eq!(
            computed.load(Ordering::SeqCst),
            1,
            "hashed once, not once per request"
        );
        // A new version: computed once more, and the old one forgotten.
        let v2 = once.get(&(1, 2), |k| k.0 == 1 && k.1 != 2, || 43);
        assert_eq!(v2, 43);
        assert_eq!(
            once.get(&(1, 1), |_| false, || 7),
            7,
            "the old version was dropped"
        );
    }

    /// The catalog's wait for a digest: while the hashing is still going, every caller gets
    /// `None` after its wait instead of being held (the hashing here is held by the test, so
    /// it cannot finish early), one hashing runs however many ask, and its value is there for
    /// the callers after it ends.
    #[test]
    fn callers_are_not_held_by_a_digest_being_computed_and_it_runs_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::time::{Duration, Instant};
        let once: Once<(u8, i64), u64> = Once::new();
        let computed = Arc::new(AtomicUsize::new(0));
        let (release, released) = std::sync::mpsc::channel::<()>();
        let released = Arc::new(Mutex::new(released));
        for i in 0..20 {
            let (c, r) = (computed.clone(), released.clone());
            let t = Instant::now();
            let got = once.get_within(
                &(1, 1),
                |_| false,
                move || {
                    c.fetch_add(1, Ordering::SeqCst);
                    // A caller held by the hashing would be held these 10 s and fail below.
                    let _ = r.lock().map(|r| r.recv_timeout(Duration::from_secs(10)));
                    42
                },
                Duration::from_millis(if i == 0 { 0 } else { 20 }),
            );
            assert_eq!(got, None, "caller {i} got a value before the hashing ended");
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "caller {i} was held by the hashing"
            );
        }
        release.send(()).expect("the hashing thread waits");
        let got = once.get_within(&(1, 1), |_| false, || 7, Duration::from_secs(30));
        assert_eq!(got, Some(42));
        assert_eq!(computed.load(Ordering::SeqCst), 1, "hashed once");
    }

    #[test]
    fn csv_text_cells_cannot_run_as_formulas_and_numbers_stay_numbers() {
        let mut f = shelter(1, "=HYPERLINK(\"http://x\",\"y\")", true);
        let cols = DatasetId::Shelters.columns();
        let set = |f: &mut Feature, n: &str, v: Val| {
            let i = cols.iter().position(|c| c.name == n).unwrap();
            let mut vals = f.values.to_vec();
            vals[i] = v;
            f.values = vals.into();
        };
        set(&mut f, "name_kana", Val::text("+SUM(A1)"));
        set(&mut f, "name_en", Val::text("@cmd"));
        set(&mut f, "address", Val::text("-2+3"));
        set(&mut f, "building", Val::text("\tx"));
        set(&mut f, "note", Val::text("-"));
        set(&mut f, "phone", Val::text("-3.5"));
        set(&mut f, "lat", Val::Float(-33.9));
        set(&mut f, "lon", Val::Float(-70.5));
        set(&mut f, "altitude_m", Val::Float(-3.5));
        let l = layer(DatasetId::Shelters, vec![f]);
        for enc in [CsvEncoding::Utf8Bom, CsvEncoding::Cp932] {
            for layout in [CsvLayout::Standard, CsvLayout::Canonical] {
                let mut out = Vec::new();
                write_csv(&l, layout, enc, &mut out).unwrap();
                let text = match enc {
                    CsvEncoding::Utf8Bom => String::from_utf8(out).unwrap(),
                    CsvEncoding::Cp932 => encoding_rs::SHIFT_JIS.decode(&out).0.into_owned(),
                };
                let mut r =
                    csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
                let h = r.headers().unwrap().clone();
                let row = r.records().next().unwrap().unwrap();
                let get = |std: &str, canon: &str| {
                    let n = if layout == CsvLayout::Standard {
                        std
                    } else {
                        canon
                    };
                    row.get(h.iter().position(|x| x == n).unwrap())
                        .unwrap()
                        .to_string()
                };
                assert_eq!(get("名称", "name"), "'=HYPERLINK(\"http://x\",\"y\")");
                assert_eq!(get("名称_カナ", "name_kana"), "'+SUM(A1)");
                assert_eq!(get("名称_英字", "name_en"), "'@cmd");
                assert_eq!(get("所在地_連結表記", "address"), "'-2+3");
                assert_eq!(get("建物名等(方書)", "building"), "'\tx");
                assert_eq!(get("備考", "note"), "-");
                assert_eq!(get("電話番号", "phone"), "-3.5");
                // Numeric columns are never touched.
                assert_eq!(get("緯度", "lat"), "-33.9");
                assert_eq!(get("経度", "lon"), "-70.5");
                assert_eq!(get("標高", "altitude_m"), "-3.5");
            }
        }
        assert_eq!(defuse_cell("桜台"), "桜台");
        assert_eq!(defuse_cell(""), "");
        assert_eq!(defuse_cell("1-12"), "1-12");
        assert_eq!(defuse_cell("-inf"), "'-inf");
        assert_eq!(defuse_cell("=1"), "'=1");
    }

    #[test]
    fn datasets_readme_documents_every_standard_layout() {
        let readme = include_str!("../datasets/README.md");
        for d in DatasetId::ALL {
            if let Some(h) = standard_headers(d) {
                assert!(
                    readme.contains(&format!("`{}`", h.join(","))),
                    "datasets/README.md lacks the CSV layout of {d}"
                );
            }
        }
    }

    #[test]
    fn every_standard_layout_names_real_columns() {
        for d in DatasetId::ALL {
            if let Some(l) = standard_layout(d) {
                for (h, s) in l {
                    if let Col(c) = s {
                        assert!(d.columns().iter().any(|x| x.name == *c), "{d} {h} {c}");
                    }
                }
            }
        }
    }
}
