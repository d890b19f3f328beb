//! `machimap sample`: a fictional sample city (サンプル市, 岡山県, code
//! 339997) delivered in the formats a Japanese city really hands over.
//!
//! The demo, the tests and the benchmarks all need realistic input, and
//! real municipal data cannot be redistributed freely or shipped in the
//! repository. So this crate *generates* a city: ~150 町丁・字 wards as an
//! e-Stat 小地域 Shapefile (plane zone V, CP932 DBF), flood / landslide /
//! tsunami / storm-surge zones in their 国土数値情報 shapes (A31a, A33, A40,
//! A49), a 道路台帳 調書 as an Excel-style Shift_JIS CSV plus route lines,
//! shelters in the 03 指定緊急避難場所 layout and the GSI 指定避難所 layout,
//! and a per-shelter stockpile table. The quirks of real deliveries are
//! reproduced on purpose (trailing Excel columns, 和暦 dates, full-width
//! digits, mixed encodings, a legacy `crs` member, split wards, holes) so
//! that the ingesters are exercised on them.
//!
//! Everything is deterministic: a fixed seed, `StdRng`, no clocks, no hash
//! map iteration; two runs write identical bytes.
//!
//! Geometry is designed once in plane metres (see `geometry.rs`) with shared
//! boundaries generated once, so wards tile the land exactly and adjacent
//! hazard bands share their boundaries vertex for vertex.
//!
//! With `scale > 0` an additional prefecture-wide layer of `scale` small
//! flood polygons is streamed to disk for load tests (`scale.rs`).
//!
//! A data generator only: it depends on `machimap-shp` (the Shapefile writer), PROJ (plane
//! zone V ↔ lon/lat, `plane.rs`) and the `geojson` crate, not on machimap, whose binary calls it
//! for `machimap sample` and `machimap demo`.

pub mod addresses;
mod geometry;
mod hazards;
mod names;
mod plane;
mod roads;
mod scale;
mod shelters;
mod wards;
mod writers;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use geo::{Geometry, LineString, Polygon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use geometry::P;
use hazards::{Hazards, MAXIMUM, PLANNED};
use machimap_shp::{DbfField, DbfFieldKind, DbfValue, OutEncoding};
use writers::{
    csv_text, io_err, map_polygon, to_cp932, write_file, write_utf8_bom, GeoJsonWriter, Geom, Prop,
};

/// 全国地方公共団体コード of the sample city (5-digit 33999 + check digit 7).
pub const CITY_CODE: &str = "339997";
pub const CITY_NAME: &str = "サンプル市";
pub const PREF_NAME: &str = "岡山県";

/// The one seed everything derives from.
const SEED: u64 = 0x5A4D_5031_3399_9701;

/// The addresses of the sample city (the same values `generate` writes as ABR files), for the
/// tests and benchmarks that look them up.
pub fn address_book() -> Vec<addresses::SampleTown> {
    let city = wards::City::build(SEED);
    addresses::book(&city, SEED ^ 0x60)
}

/// Options of `machimap sample`.
#[derive(Debug, Clone, Default)]
pub struct SampleOptions {
    /// Number of extra flood polygons for benchmarks (0 = none).
    pub scale: usize,
    /// Print progress of the `scale` layer to stderr.
    pub progress: bool,
}

/// What was written: (dataset id, files) in a fixed order. Ids are
/// `wards`, `flood`, `landslide`, `tsunami`, `storm_surge`, `roads`,
/// `shelters`, `stockpile`, `addresses`; with `scale > 0` a second `flood` entry holding
/// the benchmark layer comes last.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleManifest {
    pub files: Vec<(String, Vec<PathBuf>)>,
}

#[derive(Debug, thiserror::Error)]
pub enum SampleError {
    #[error("I/O error on {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{file}: character {ch:?} cannot be encoded in CP932")]
    Unmappable { file: String, ch: char },
    #[error("CSV error in {file}: {source}")]
    Csv {
        file: String,
        #[source]
        source: csv::Error,
    },
    #[error("shapefile {file}: {message}")]
    Shapefile { file: String, message: String },
}

/// File names inside `out_dir`.
pub mod files {
    pub const README: &str = "README.txt";
    pub const WARDS: &str = "wards_r2ka33999.zip";
    pub const FLOOD: &str = "flood_A31a.geojson";
    /// A31a 30 浸水継続時間 (想定最大規模 bands, longer where deeper).
    pub const FLOOD_DURATION: &str = "flood_A31a_30.geojson";
    /// A31a 41 家屋倒壊等氾濫想定区域（氾濫流）: the bands of 5 m and deeper along the river.
    pub const FLOOD_COLLAPSE_FLOW: &str = "flood_A31a_41.geojson";
    /// A31a 42 家屋倒壊等氾濫想定区域（河岸侵食）: the deepest band, next to the river.
    pub const FLOOD_COLLAPSE_BANK: &str = "flood_A31a_42.geojson";
    pub const LANDSLIDE: &str = "landslide_A33.zip";
    pub const TSUNAMI: &str = "tsunami_A40.geojson";
    pub const STORM_SURGE: &str = "storm_surge_A49.geojson";
    pub const ROADS_CSV: &str = "roads_ledger.csv";
    pub const ROADS_LINES: &str = "roads_lines.geojson";
    pub const SHELTERS_03: &str = "shelters_339997_evacuation_space.csv";
    pub const SHELTERS_GSI: &str = "shelters_gsi_33999_1.csv";
    pub const STOCKPILE: &str = "stockpile.csv";

    /// The benchmark layer for `scale` polygons.
    pub fn flood_scale(scale: usize) -> String {
        format!("flood_scale_{scale}.geojson")
    }
}

/// ESRI WKT of JGD2011 plane rectangular zone V (EPSG:6673).
pub const PRJ_ZONE5: &str = "PROJCS[\"JGD_2011_Japan_Zone_5\",GEOGCS[\"GCS_JGD_2011\",DATUM[\"D_JGD_2011\",SPHEROID[\"GRS_1980\",6378137.0,298.257222101]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]],PROJECTION[\"Transverse_Mercator\"],PARAMETER[\"False_Easting\",0.0],PARAMETER[\"False_Northing\",0.0],PARAMETER[\"Central_Meridian\",134.3333333333333],PARAMETER[\"Scale_Factor\",0.9999],PARAMETER[\"Latitude_Of_Origin\",36.0],UNIT[\"Meter\",1.0]]";

/// ESRI WKT of JGD2011 geographic (EPSG:6668).
pub const PRJ_JGD2011: &str = "GEOGCS[\"GCS_JGD_2011\",DATUM[\"D_JGD_2011\",SPHEROID[\"GRS_1980\",6378137.0,298.257222101]],PRIMEM[\"Greenwich\",0.0],UNIT[\"Degree\",0.0174532925199433]]";

/// Generates the sample city into `out_dir` (created if missing).
pub fn generate(out_dir: &Path, opts: &SampleOptions) -> Result<SampleManifest, SampleError> {
    std::fs::create_dir_all(out_dir).map_err(io_err(out_dir))?;
    let city = wards::City::build(SEED);
    let hz = hazards::build(&city.frame, SEED ^ 0x10);
    let routes = roads::build(&city, SEED ^ 0x20);
    let sites = shelters::build(&city, &hz, SEED ^ 0x30);

    let path = |name: &str| out_dir.join(name);
    let mut manifest: Vec<(String, Vec<PathBuf>)> = Vec::new();

    write_file(&path(files::README), readme().as_bytes())?;

    write_wards(&city, &path(files::WARDS))?;
    manifest.push(("wards".into(), vec![path(files::WARDS)]));

    write_flood(&city, &hz, &path(files::FLOOD))?;
    for (fam, name) in [
        (30, files::FLOOD_DURATION),
        (41, files::FLOOD_COLLAPSE_FLOW),
        (42, files::FLOOD_COLLAPSE_BANK),
    ] {
        write_flood_family(&city, &hz, fam, &path(name))?;
    }
    manifest.push((
        "flood".into(),
        vec![
            path(files::FLOOD),
            path(files::FLOOD_DURATION),
            path(files::FLOOD_COLLAPSE_FLOW),
            path(files::FLOOD_COLLAPSE_BANK),
        ],
    ));

    write_landslide(&city, &hz, &path(files::LANDSLIDE))?;
    manifest.push(("landslide".into(), vec![path(files::LANDSLIDE)]));

    write_tsunami(&city, &hz, &path(files::TSUNAMI))?;
    manifest.push(("tsunami".into(), vec![path(files::TSUNAMI)]));

    write_surge(&hz, &path(files::STORM_SURGE))?;
    manifest.push(("storm_surge".into(), vec![path(files::STORM_SURGE)]));

    // 道路台帳: Excel-style Shift_JIS CSV (two trailing empty columns and a
    // blank last line) and the route lines.
    let mut ledger = csv_text(&roads::ledger_rows(&routes), files::ROADS_CSV)?;
    ledger.push_str("\r\n");
    write_file(
        &path(files::ROADS_CSV),
        &to_cp932(&ledger, files::ROADS_CSV)?,
    )?;
    write_road_lines(&city, &routes, &path(files::ROADS_LINES))?;
    manifest.push((
        "roads".into(),
        vec![path(files::ROADS_CSV), path(files::ROADS_LINES)],
    ));

    let t03 = csv_text(&shelters::rows_03(&city, &sites), files::SHELTERS_03)?;
    write_file(
        &path(files::SHELTERS_03),
        &to_cp932(&t03, files::SHELTERS_03)?,
    )?;
    let gsi = csv_text(&shelters::rows_gsi(&city, &sites), files::SHELTERS_GSI)?;
    write_utf8_bom(&path(files::SHELTERS_GSI), &gsi)?;
    manifest.push((
        "shelters".into(),
        vec![path(files::SHELTERS_03), path(files::SHELTERS_GSI)],
    ));

    let stock = csv_text(
        &shelters::stockpile_rows(&sites, SEED ^ 0x40),
        files::STOCKPILE,
    )?;
    write_utf8_bom(&path(files::STOCKPILE), &stock)?;
    manifest.push(("stockpile".into(), vec![path(files::STOCKPILE)]));

    // アドレス・ベース・レジストリ: 町字, 住居表示 and 地番 with their 位置参照 files.
    let book = addresses::book(&city, SEED ^ 0x60);
    let mut addr_files = Vec::new();
    for (name, rows, enc) in addresses::files(&book) {
        let text = csv_text(&rows, name)?;
        match enc {
            0 => write_file(&path(name), text.as_bytes())?,
            1 => write_utf8_bom(&path(name), &text)?,
            _ => write_file(&path(name), &to_cp932(&text, name)?)?,
        }
        addr_files.push(path(name));
    }
    manifest.push(("addresses".into(), addr_files));

    if opts.scale > 0 {
        let p = path(&files::flood_scale(opts.scale));
        scale::write(&p, opts.scale, opts.progress, SEED ^ 0x50)?;
        manifest.push(("flood".into(), vec![p]));
    }
    Ok(SampleManifest { files: manifest })
}

fn shp_err(file: &str) -> impl FnOnce(machimap_shp::ShpError) -> SampleError + '_ {
    move |e| SampleError::Shapefile {
        file: file.to_string(),
        message: e.to_string(),
    }
}

/// e-Stat 小地域: zone V plane metres, CP932 signalled by the LDID only.
fn write_wards(city: &wards::City, out: &Path) -> Result<(), SampleError> {
    let feats = wards::estat_features(city);
    let geoms: Vec<Geometry> = feats
        .iter()
        .map(|(p, _)| Geometry::Polygon(p.clone()))
        .collect();
    let records: Vec<Vec<DbfValue>> = feats.into_iter().map(|(_, r)| r).collect();
    machimap_shp::write_zip(
        out,
        "r2ka33999",
        &geoms,
        &wards::estat_fields(),
        &records,
        Some(PRJ_ZONE5),
        OutEncoding::Cp932 {
            ldid: true,
            cpg: false,
        },
    )
    .map_err(shp_err(files::WARDS))
}

/// Rounds degrees to 7 decimals (≈1 cm), the precision of the files.
fn deg7(p: P) -> P {
    P {
        x: (p.x * 1e7).round() / 1e7,
        y: (p.y * 1e7).round() / 1e7,
    }
}

fn to_lonlat(city: &wards::City, poly: &Polygon) -> Polygon {
    map_polygon(poly, |p| deg7(city.frame.to_lonlat(p)))
}

/// A31a (第4.0版): both scenarios in one RFC 7946 file.
fn write_flood(city: &wards::City, hz: &Hazards, out: &Path) -> Result<(), SampleError> {
    let mut w = GeoJsonWriter::create(out, "flood_A31a", None, 7)?;
    for f in &hz.flood {
        let s = if f.scenario == PLANNED { 1 } else { 2 };
        let k = |n: u8| format!("A31a_{s}0{n}");
        let keys = [k(1), k(2), k(3), k(4), k(5)];
        let props = [
            (keys[0].as_str(), Prop::Str(names::RIVER_CODE)),
            (keys[1].as_str(), Prop::Str(names::RIVER_NAME)),
            (keys[2].as_str(), Prop::Str("33")),
            (keys[3].as_str(), Prop::Str(PREF_NAME)),
            (keys[4].as_str(), Prop::Int(f.rank as i64)),
        ];
        w.feature(&props, Geom::Polygon(&to_lonlat(city, &f.poly)))?;
    }
    w.finish()
}

/// The 浸水継続時間 class (A31a_305) of the sample's 想定最大規模 band of depth rank `rank`:
/// deeper water stays longer (rank 1 → class 1 … rank 6 → class 6).
pub fn sample_duration_class(rank: u8) -> u8 {
    rank.clamp(1, 6)
}

/// A31a 30 (duration), 41 (氾濫流) or 42 (河岸侵食), each in its own file as KSJ ships them, on
/// the 想定最大規模 bands: 30 on every band ([`sample_duration_class`]), 41 on the bands of rank
/// 4 and deeper (5 m and more, along the river), 42 on rank 6 (next to the river).
fn write_flood_family(
    city: &wards::City,
    hz: &Hazards,
    family: u8,
    out: &Path,
) -> Result<(), SampleError> {
    let name = format!("flood_A31a_{family}");
    let mut w = GeoJsonWriter::create(out, &name, None, 7)?;
    let g = if family == 30 { 3 } else { 4 };
    let k = |n: u8| format!("A31a_{g}0{n}");
    let keys = [k(1), k(2), k(3), k(4), k(5)];
    for f in hz.flood.iter().filter(|f| f.scenario == MAXIMUM) {
        let code = match family {
            30 => i64::from(sample_duration_class(f.rank)),
            41 if f.rank >= 4 => 1,
            42 if f.rank == 6 => 2,
            _ => continue,
        };
        let props = [
            (keys[0].as_str(), Prop::Str(names::RIVER_CODE)),
            (keys[1].as_str(), Prop::Str(names::RIVER_NAME)),
            (keys[2].as_str(), Prop::Str("33")),
            (keys[3].as_str(), Prop::Str(PREF_NAME)),
            (keys[4].as_str(), Prop::Int(code)),
        ];
        w.feature(&props, Geom::Polygon(&to_lonlat(city, &f.poly)))?;
    }
    w.finish()
}

/// A40: depth bands written as prefectures write them, deliberately mixing
/// full-width and half-width spellings.
const TSUNAMI_TEXT: [[&str; 5]; 2] = [
    [
        "0.01m以上0.3m未満",
        "0.3m以上1.0m未満",
        "１．０ｍ以上２．０ｍ未満",
        "2m以上5m未満",
        "５．０ｍ以上１０．０ｍ未満",
    ],
    [
        "０．０１ｍ以上０．３ｍ未満",
        "0.3m以上1.0m未満",
        "1.0m以上2.0m未満",
        "２ｍ以上５ｍ未満",
        "5.0m以上10.0m未満",
    ],
];

fn write_tsunami(city: &wards::City, hz: &Hazards, out: &Path) -> Result<(), SampleError> {
    let mut w = GeoJsonWriter::create(out, "tsunami_A40", None, 7)?;
    for b in &hz.tsunami {
        let props = [
            ("A40_001", Prop::Str(PREF_NAME)),
            ("A40_002", Prop::Int(33)),
            ("A40_003", Prop::Str(TSUNAMI_TEXT[b.section][b.band])),
        ];
        w.feature(&props, Geom::Polygon(&to_lonlat(city, &b.poly)))?;
    }
    w.finish()
}

const SURGE_TEXT: [&str; 4] = [
    "0.5m未満",
    "0.5m以上3.0m未満",
    "3m以上5m未満",
    "5.0m以上10.0m未満",
];

/// A49: plane zone V metres with the legacy `crs` member (x = easting).
fn write_surge(hz: &Hazards, out: &Path) -> Result<(), SampleError> {
    let mut w = GeoJsonWriter::create(
        out,
        "storm_surge_A49",
        Some("urn:ogc:def:crs:EPSG::6673"),
        3,
    )?;
    for b in &hz.surge {
        let props = [
            ("A49_001", Prop::Str(PREF_NAME)),
            ("A49_002", Prop::Str("33")),
            ("A49_003", Prop::Str(SURGE_TEXT[b.band])),
        ];
        w.feature(&props, Geom::Polygon(&b.poly))?;
    }
    w.finish()
}

/// A33: JGD2011 geographic, CP932 with a `.cpg` and LDID 0.
fn write_landslide(city: &wards::City, hz: &Hazards, out: &Path) -> Result<(), SampleError> {
    use DbfFieldKind::{Character as C, Numeric as N};
    let f = |name: &str, kind, length| DbfField {
        name: name.to_string(),
        kind,
        length,
        decimals: 0,
    };
    let fields = vec![
        f("A33_001", N, 1),
        f("A33_002", N, 1),
        f("A33_003", C, 2),
        f("A33_004", C, 20),
        f("A33_005", C, 60),
        f("A33_006", C, 80),
        f("A33_007", C, 10),
        f("A33_008", N, 1),
    ];
    let mut rng = StdRng::seed_from_u64(SEED ^ 0x60);
    let mut counters: BTreeMap<(String, u8), usize> = BTreeMap::new();
    let mut serial = [0usize; 4];
    let mut before_seen = 0usize;
    // Per yellow zone: (区域番号, 区域名, 所在地, 公示日), reused by its red zone.
    let mut ids: Vec<(String, String, String, String)> = Vec::with_capacity(hz.landslide.len());
    let mut geoms = Vec::new();
    let mut records = Vec::new();
    for z in &hz.landslide {
        let (no, name, place, date) = match z.parent {
            Some(p) => ids[p].clone(),
            None => {
                let ward = city.ward_at(z.centre).map(|w| &city.wards[w]);
                let base = ward.map(|w| w.base.kanji).unwrap_or("北山");
                let c = counters
                    .entry((base.to_string(), z.phenomenon))
                    .or_insert(0);
                *c += 1;
                let name = match z.phenomenon {
                    1 => format!("{base}{c}"),
                    2 => format!("{base}沢{c}"),
                    _ => format!("{base}{c}地区"),
                };
                let place = format!("{CITY_NAME}{}", ward.map(|w| w.name.as_str()).unwrap_or(""));
                serial[z.phenomenon as usize] += 1;
                let letter = ["", "K", "D", "J"][z.phenomenon as usize];
                let no = format!("33999-{letter}-{:03}", serial[z.phenomenon as usize]);
                let date = if z.class == 3 && before_seen < 2 {
                    before_seen += 1;
                    "9999/1/1".to_string()
                } else {
                    format!(
                        "{}/{}/{}",
                        rng.gen_range(2005..=2023),
                        rng.gen_range(1..=12),
                        rng.gen_range(1..=28)
                    )
                };
                (no, name, place, date)
            }
        };
        ids.push((no.clone(), name.clone(), place.clone(), date.clone()));
        let unflagged = z.parent.is_none() && !z.has_red;
        records.push(vec![
            DbfValue::Int(z.phenomenon as i64),
            DbfValue::Int(z.class as i64),
            DbfValue::Text("33".into()),
            DbfValue::Text(no),
            DbfValue::Text(name),
            DbfValue::Text(place),
            DbfValue::Text(date),
            DbfValue::Int(i64::from(unflagged)),
        ]);
        geoms.push(Geometry::Polygon(to_lonlat(city, &z.poly)));
    }
    machimap_shp::write_zip(
        out,
        "A33-24_33",
        &geoms,
        &fields,
        &records,
        Some(PRJ_JGD2011),
        OutEncoding::Cp932 {
            ldid: false,
            cpg: true,
        },
    )
    .map_err(shp_err(files::LANDSLIDE))
}

fn write_road_lines(
    city: &wards::City,
    routes: &[roads::Route],
    out: &Path,
) -> Result<(), SampleError> {
    let mut w = GeoJsonWriter::create(out, "roads_lines", None, 7)?;
    for r in routes {
        let parts: Vec<LineString> = r
            .parts
            .iter()
            .map(|l| {
                LineString::from(
                    l.0.iter()
                        .map(|&p| deg7(city.frame.to_lonlat(p)))
                        .collect::<Vec<_>>(),
                )
            })
            .collect();
        let props = [
            ("路線番号", Prop::Str(&r.number)),
            ("路線名", Prop::Str(&r.name)),
        ];
        let geom = if parts.len() == 1 {
            Geom::LineString(&parts[0])
        } else {
            Geom::MultiLineString(&parts)
        };
        w.feature(&props, geom)?;
    }
    w.finish()
}

fn readme() -> String {
    format!(
        "\
サンプルデータ / SAMPLE DATA — 架空 / FICTIONAL
================================================

【日本語】
このフォルダのデータは machimap が生成した架空のサンプルデータです。
「{PREF_NAME}{CITY_NAME}」（全国地方公共団体コード {CITY_CODE}）は実在しません。
町丁・字名、河川名、施設名、住所、電話番号、人口・世帯数、道路・備蓄の数値、
災害の想定区域はすべて作り物で、実在の場所・施設・人物とは関係ありません。
現実の防災・避難・土地取引などの判断には絶対に使わないでください。
実際のデータの形式（文字コード、座標系、列構成、表記ゆれ）をまねて作っています。

[English]
Everything in this folder is FICTIONAL SAMPLE DATA generated by machimap.
\"{CITY_NAME}\" (Sample City, {PREF_NAME}, code {CITY_CODE}) does not exist. All names of
districts, rivers and facilities, addresses, phone numbers, population figures,
road and stockpile numbers and all hazard zones are invented and do not
describe any real place, facility or person. NOT FOR REAL-WORLD USE (no
evacuation, disaster-planning or property decisions). The files imitate the
formats real municipalities deliver: encodings, coordinate systems, column
layouts and their usual inconsistencies.

ファイル一覧 / Files
--------------------
{wards}
  e-Stat 国勢調査 小地域（町丁・字）境界風の Shapefile（zip）/ e-Stat small-area boundaries.
  JGD2011 平面直角座標系 第V系 (EPSG:6673), x = 東距 easting, y = 北距 northing (m).
  DBF: CP932, 言語ドライバ ID (LDID 0x13) のみで指定（.cpg なし）/ signalled by the LDID byte only.
  KIGO_E = E1/E2 の町丁は2つの部分からなる（飛び地・島）。人口・世帯数は E1 に計上。
  Wards split in two parts carry KIGO_E E1/E2; JINKO/SETAI are on part E1.
{flood}
  国土数値情報 A31a（洪水浸水想定区域 第4.0版）風 / A31a-like flood depth ranks 1–6.
  GeoJSON (RFC 7946), EPSG:4326 経緯度 lon/lat, UTF-8. 計画規模 = A31a_101…105,
  想定最大規模 = A31a_201…205 (両方を同じファイルに / both scenarios in one file).
{flood30} / {flood41} / {flood42}
  A31a 30 浸水継続時間（A31a_305 区分1〜7）・41 家屋倒壊等氾濫想定区域（氾濫流, A31a_405 = 1）・
  42（河岸侵食, A31a_405 = 2）風。想定最大規模の浸水深の区域の上に作図 / A31a-like flood
  duration and house-collapse zones, drawn on the maximum-scenario depth bands. 洪水と一緒に
  取り込む / ingest together with {flood} as one flood version.
{landslide}
  国土数値情報 A33（土砂災害警戒区域）風 Shapefile（zip）/ A33-like landslide zones.
  JGD2011 経緯度 (EPSG:6668). DBF: CP932, .cpg = CP932, LDID 0.
{tsunami}
  国土数値情報 A40（津波浸水想定）風 / A40-like tsunami depth bands.
  GeoJSON, EPSG:4326, UTF-8. A40_003 は全角・半角が混在 / mixes full- and half-width text.
{surge}
  国土数値情報 A49（高潮浸水想定区域）風 / A49-like storm-surge depth bands.
  GeoJSON with legacy \"crs\" member urn:ogc:def:crs:EPSG::6673 (平面直角 第V系, x = easting, y = northing, m), UTF-8.
{roads_csv}
  道路台帳 調書（Excel から書き出した CSV）/ road ledger exported from Excel.
  Shift_JIS (CP932), CRLF, 末尾に空の2列と空行1行 / two trailing empty columns and one blank last line.
  認定年月日 は主に ISO 形式、一部 和暦・全角数字 / mostly ISO dates, some Japanese-era and full-width dates.
  実延長 は2路線だけわざと約10%ずれている / two routes disagree with their geometry by ~10% on purpose.
{roads_lines}
  路線の線形 / route geometries. GeoJSON, EPSG:4326, UTF-8, properties 路線番号・路線名.
{sh03}
  自治体標準オープンデータセット 03 指定緊急避難場所一覧（39列）/ standard dataset 03 evacuation spaces.
  CP932 (Shift_JIS), CRLF, BOM なし / no BOM. 緯度・経度 JGD2011 (decimal degrees).
{shgsi}
  国土地理院 指定避難所データ（_1）形式 / GSI designated-shelter (_1) layout with 共通ID.
  UTF-8 (BOM 付き / with BOM), CRLF.
{stock}
  避難所ごとの備蓄品一覧（machimap 独自の列構成）/ per-shelter stockpile (machimap's own layout).
  UTF-8 (BOM 付き / with BOM), CRLF. 避難所_ID = 03 の ID, 避難所_共通ID = GSI の 共通ID.
flood_scale_N.geojson（--scale 指定時のみ / only with --scale N）
  ベンチマーク用の県域規模 A31a 風レイヤ（架空の河川沿い N ポリゴン）/ benchmark layer, EPSG:4326, UTF-8.
",
        wards = files::WARDS,
        flood = files::FLOOD,
        flood30 = files::FLOOD_DURATION,
        flood41 = files::FLOOD_COLLAPSE_FLOW,
        flood42 = files::FLOOD_COLLAPSE_BANK,
        landslide = files::LANDSLIDE,
        tsunami = files::TSUNAMI,
        surge = files::STORM_SURGE,
        roads_csv = files::ROADS_CSV,
        roads_lines = files::ROADS_LINES,
        sh03 = files::SHELTERS_03,
        shgsi = files::SHELTERS_GSI,
        stock = files::STOCKPILE,
    )
}
