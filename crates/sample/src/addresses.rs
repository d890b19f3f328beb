//! Address points of the sample city in the アドレス・ベース・レジストリ (ABR) layouts: 町字
//! (`mt_town` and its 位置参照 `mt_town_pos`), 住居表示 街区 and 住居 (`mt_rsdtdsp_blk`,
//! `mt_rsdtdsp_rsdt` and their `_pos` files) for the town and shore districts, and 地番
//! (`mt_parcel`, `mt_parcel_pos`) for the hill districts, which have no 住居表示.
//!
//! The quirks of real files are reproduced: the 町字 position file mixes JGD2000 (EPSG:4612)
//! and JGD2011 rows as the real prefecture files do, the 住居 files use the older Japanese
//! headers in CP932, the 街区 files have a BOM, 丁目 names are written both 五丁目 and ７丁目,
//! some blocks have no residence rows (search then answers the block) and some residences have
//! no point.
//!
//! [`book`] gives the same addresses as values, for the tests that look them up.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::geometry::P;
use super::names::{kansuji, Setting};
use super::wards::City;
use super::{deg7, CITY_CODE, CITY_NAME, PREF_NAME};

/// A 町字 of the sample city.
#[derive(Debug, Clone)]
pub struct SampleTown {
    /// 7-digit 町字ID.
    pub machiaza_id: String,
    /// 大字・町名.
    pub oaza: &'static str,
    /// Its reading (katakana).
    pub oaza_kana: &'static str,
    /// Its romanisation.
    pub oaza_roma: &'static str,
    /// 丁目 number, 0 when none.
    pub chome: usize,
    /// 丁目名 as written in the file (五丁目 or ７丁目).
    pub chome_text: String,
    /// Representative point, JGD2011 lon/lat.
    pub point: P,
    /// The position file writes this point in JGD2000.
    pub jgd2000: bool,
    /// 住居表示 (true) or 地番 (false).
    pub rsdt_addr: bool,
    /// Blocks (住居表示 towns).
    pub blocks: Vec<SampleBlock>,
    /// Parcels (地番 towns).
    pub parcels: Vec<SampleParcel>,
}

/// A 住居表示 街区.
#[derive(Debug, Clone)]
pub struct SampleBlock {
    /// 街区符号.
    pub num: u32,
    /// Point.
    pub point: P,
    /// Residences: 住居番号, point, whether the position file has the point.
    pub residences: Vec<(u32, P, bool)>,
}

/// A 地番.
#[derive(Debug, Clone)]
pub struct SampleParcel {
    /// 地番1.
    pub n1: u32,
    /// 地番2 (枝番), 0 when none.
    pub n2: u32,
    /// Point.
    pub point: P,
}

/// File names of the address files.
pub const TOWN: &str = "mt_town_city339997.csv";
/// See [`TOWN`].
pub const TOWN_POS: &str = "mt_town_pos_city339997.csv";
/// See [`TOWN`].
pub const BLK: &str = "mt_rsdtdsp_blk_city339997.csv";
/// See [`TOWN`].
pub const BLK_POS: &str = "mt_rsdtdsp_blk_pos_city339997.csv";
/// See [`TOWN`].
pub const RSDT: &str = "mt_rsdtdsp_rsdt_city339997.csv";
/// See [`TOWN`].
pub const RSDT_POS: &str = "mt_rsdtdsp_rsdt_pos_city339997.csv";
/// See [`TOWN`].
pub const PARCEL: &str = "mt_parcel_city339997.csv";
/// See [`TOWN`].
pub const PARCEL_POS: &str = "mt_parcel_pos_city339997.csv";

/// All address files, in the order they are ingested together.
pub const FILES: [&str; 8] = [
    TOWN, TOWN_POS, BLK, BLK_POS, RSDT, RSDT_POS, PARCEL, PARCEL_POS,
];

/// A random point inside ward `w` (plane metres), near `near` when given.
fn point_in(city: &City, w: usize, rng: &mut StdRng, near: Option<(P, f64)>) -> P {
    let ward = &city.wards[w];
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in &ward.parts {
        for c in p.exterior().coords() {
            x0 = x0.min(c.x);
            y0 = y0.min(c.y);
            x1 = x1.max(c.x);
            y1 = y1.max(c.y);
        }
    }
    if let Some((c, r)) = near {
        x0 = x0.max(c.x - r);
        y0 = y0.max(c.y - r);
        x1 = x1.min(c.x + r);
        y1 = y1.min(c.y + r);
    }
    for _ in 0..200 {
        let p = P {
            x: rng.gen_range(x0..=x1.max(x0 + 1e-6)),
            y: rng.gen_range(y0..=y1.max(y0 + 1e-6)),
        };
        if ward.contains(p) {
            return p;
        }
    }
    near.map_or(ward.inside, |(c, _)| c)
}

/// The addresses of the sample city, deterministic for `seed`.
pub(crate) fn book(city: &City, seed: u64) -> Vec<SampleTown> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for (w, ward) in city.wards.iter().enumerate() {
        let rsdt_addr = ward.setting != Setting::Hills;
        let chome_text = match ward.chome {
            0 => String::new(),
            n if n % 4 == 3 => format!("{}丁目", super::names::fullwidth_digits(&n.to_string())),
            n => format!("{}丁目", kansuji(n)),
        };
        let mut t = SampleTown {
            machiaza_id: ward.machiaza_id(),
            oaza: ward.base.kanji,
            oaza_kana: ward.base.kana,
            oaza_roma: ward.base.roman,
            chome: ward.chome,
            chome_text,
            point: deg7(city.frame.to_lonlat(ward.inside)),
            jgd2000: w % 3 == 1,
            rsdt_addr,
            blocks: Vec::new(),
            parcels: Vec::new(),
        };
        if rsdt_addr {
            let nb = rng.gen_range(4..=12u32);
            for b in 1..=nb {
                let bp = point_in(city, w, &mut rng, None);
                // Every seventh block has no residence rows: search answers the block.
                let nr = if (w as u32 + b).is_multiple_of(7) {
                    0
                } else {
                    rng.gen_range(3..=10u32)
                };
                let residences = (1..=nr)
                    .map(|r| {
                        let p = point_in(city, w, &mut rng, Some((bp, 40.0)));
                        // A few residences lack their point.
                        let has_pos = !(w as u32 * 31 + b * 7 + r).is_multiple_of(53);
                        (r * 2 - 1, deg7(city.frame.to_lonlat(p)), has_pos)
                    })
                    .collect();
                t.blocks.push(SampleBlock {
                    num: b,
                    point: deg7(city.frame.to_lonlat(bp)),
                    residences,
                });
            }
        } else {
            let np = rng.gen_range(5..=15u32);
            for i in 0..np {
                let n1 = 100 + i * 7 + rng.gen_range(0..5u32);
                let n2 = if i % 3 == 0 {
                    rng.gen_range(1..=4u32)
                } else {
                    0
                };
                let p = point_in(city, w, &mut rng, None);
                t.parcels.push(SampleParcel {
                    n1,
                    n2,
                    point: deg7(city.frame.to_lonlat(p)),
                });
            }
        }
        out.push(t);
    }
    out
}

/// `n` in full-width digits (１２), as some files and residents write numbers.
pub fn fullwidth(n: u32) -> String {
    super::names::fullwidth_digits(&n.to_string())
}

fn s(v: impl ToString) -> String {
    v.to_string()
}

fn fmt7(v: f64) -> String {
    format!("{v:.7}")
}

const TOWN_HEADER: &str = "lg_code,machiaza_id,machiaza_type,pref,pref_kana,pref_roma,county,county_kana,county_roma,city,city_kana,city_roma,ward,ward_kana,ward_roma,oaza_cho,oaza_cho_kana,oaza_cho_roma,chome,chome_kana,chome_number,koaza,koaza_kana,koaza_roma,machiaza_dist,rsdt_addr_flg,rsdt_addr_mtd_code,oaza_cho_aka_flg,koaza_aka_code,oaza_cho_gsi_uncmn,koaza_gsi_uncmn,status_flg,wake_num_flg,efct_date,ablt_date,src_code,post_code,remarks";
const REP: &str = "rep_lon,rep_lat,rep_srid,rep_scale,rep_src_code,plygn_fname,plygn_kcode,plygn_fmt,plygn_srid,plygn_scale,plygn_src_code";
const BLK_HEADER: &str = "lg_code,machiaza_id,blk_id,city,ward,oaza_cho,chome,koaza,machiaza_dist,blk_num,rsdt_addr_flg,rsdt_addr_mtd_code,status_flg,efct_date,ablt_date,src_code,remarks";
const PARCEL_HEADER: &str = "lg_code,machiaza_id,prc_id,city,ward,oaza_cho,chome,koaza,machiaza_dist,prc_num1,prc_num2,prc_num3,rsdt_addr_flg,prc_rec_flg,prc_area_code,efct_date,ablt_date,src_code,remarks,real_prop_num";
/// The older Japanese headers of the 住居 file and its position file.
const RSDT_HEADER_JA: &str = "全国地方公共団体コード,町字id,街区id,住居id,住居2id,市区町村名,政令市区名,大字・町名,丁目名,小字名,街区符号,住居番号,住居番号2,住居表示フラグ,住居表示方式コード,大字・町外字フラグ,小字外字フラグ,状態フラグ,効力発生日,廃止日,原典資料コード,備考";
const RSDT_POS_HEADER_JA: &str = "全国地方公共団体コード,町字id,街区id,住居id,住居2id,住居表示フラグ,住居表示方式コード,代表点_経度,代表点_緯度,代表点_座標参照系,代表点_地図情報レベル,住居表示住所_住所コード,住居表示住所_データ整備日";

fn header(h: &str) -> Vec<String> {
    h.split(',').map(str::to_string).collect()
}

fn chome_kana(n: usize) -> String {
    const K: [&str; 11] = [
        "",
        "イッ",
        "ニ",
        "サン",
        "ヨン",
        "ゴ",
        "ロク",
        "ナナ",
        "ハッ",
        "キュウ",
        "ジュッ",
    ];
    if n == 0 {
        String::new()
    } else {
        format!("{}チョウメ", K[n.min(10)])
    }
}

/// The rows of every address file: (file name, rows, encoding: 0 UTF-8, 1 UTF-8 + BOM, 2 CP932).
pub fn files(book: &[SampleTown]) -> Vec<(&'static str, Vec<Vec<String>>, u8)> {
    let (mut town, mut town_pos) = (vec![header(TOWN_HEADER)], vec![]);
    town_pos.push(header(&format!(
        "lg_code,machiaza_id,rsdt_addr_flg,{REP},pos_oaza_cho_chome_code,pos_data_mnt_year,cns_bnd_s_area_kcode,cns_bnd_year"
    )));
    let mut blk = vec![header(BLK_HEADER)];
    let mut blk_pos = vec![header(&format!(
        "lg_code,machiaza_id,blk_id,rsdt_addr_flg,rsdt_addr_mtd_code,{REP},pos_pref,pos_city,pos_oaza_cho_chome,pos_koaza_aka,pos_blk_prc_num,pos_data_mnt_year,rsdt_addr_code_rdbl,rsdt_addr_data_mnt_date"
    ))];
    let mut rsdt = vec![header(RSDT_HEADER_JA)];
    let mut rsdt_pos = vec![header(RSDT_POS_HEADER_JA)];
    let mut parcel = vec![header(PARCEL_HEADER)];
    let mut parcel_pos = vec![header(&format!(
        "lg_code,machiaza_id,prc_id,{REP},moj_map_city_code,moj_map_oaza_code,moj_map_chome_code,moj_map_koaza_code,moj_map_spare_code,moj_map_brushid"
    ))];
    let flg = |t: &SampleTown| s(u8::from(t.rsdt_addr));
    for t in book {
        let chome_no = if t.chome > 0 {
            s(t.chome)
        } else {
            String::new()
        };
        let mtype = if t.chome > 0 { "2" } else { "1" };
        let mut r = vec![
            s(CITY_CODE),
            t.machiaza_id.clone(),
            s(mtype),
            s(PREF_NAME),
            s("オカヤマケン"),
            s("Okayama"),
            String::new(),
            String::new(),
            String::new(),
            s(CITY_NAME),
            s("サンプルシ"),
            s("Sample-shi"),
            String::new(),
            String::new(),
            String::new(),
            s(t.oaza),
            s(t.oaza_kana),
            s(t.oaza_roma),
            t.chome_text.clone(),
            chome_kana(t.chome),
            chome_no,
            String::new(),
            String::new(),
            String::new(),
        ];
        r.extend([
            String::new(),
            flg(t),
            s(if t.rsdt_addr { "1" } else { "0" }),
            s("0"),
            String::new(),
            String::new(),
            String::new(),
            s("0"),
            s("0"),
            s("1970-01-01"),
            String::new(),
            s("0"),
            String::new(),
            String::new(),
        ]);
        town.push(r);
        let srid = if t.jgd2000 { "EPSG:4612" } else { "EPSG:6668" };
        let mut p = vec![
            s(CITY_CODE),
            t.machiaza_id.clone(),
            flg(t),
            fmt7(t.point.x),
            fmt7(t.point.y),
            s(srid),
            s("2500"),
            s("1"),
        ];
        p.extend(vec![String::new(); 6]);
        p.extend([String::new(), s("2020"), String::new(), String::new()]);
        town_pos.push(p);
        for b in &t.blocks {
            let blk_id = format!("{:03}", b.num);
            blk.push(vec![
                s(CITY_CODE),
                t.machiaza_id.clone(),
                blk_id.clone(),
                s(CITY_NAME),
                String::new(),
                s(t.oaza),
                t.chome_text.clone(),
                String::new(),
                String::new(),
                s(b.num),
                s("1"),
                s("1"),
                s("0"),
                s("1970-01-01"),
                String::new(),
                s("0"),
                String::new(),
            ]);
            let mut p = vec![
                s(CITY_CODE),
                t.machiaza_id.clone(),
                blk_id.clone(),
                s("1"),
                s("1"),
                fmt7(b.point.x),
                fmt7(b.point.y),
                s("EPSG:6668"),
                s("2500"),
                s("1"),
            ];
            p.extend(vec![String::new(); 6]);
            p.extend(vec![String::new(); 8]);
            blk_pos.push(p);
            for (i, (n, pt, has_pos)) in b.residences.iter().enumerate() {
                let rsdt_id = format!("{:03}", n);
                rsdt.push(vec![
                    s(CITY_CODE),
                    t.machiaza_id.clone(),
                    blk_id.clone(),
                    rsdt_id.clone(),
                    String::new(),
                    s(CITY_NAME),
                    String::new(),
                    s(t.oaza),
                    t.chome_text.clone(),
                    String::new(),
                    s(b.num),
                    s(n),
                    String::new(),
                    s("1"),
                    s("1"),
                    s("0"),
                    String::new(),
                    s("0"),
                    s("1970-01-01"),
                    String::new(),
                    s("0"),
                    String::new(),
                ]);
                if *has_pos {
                    // Every fifth residence point is written in JGD2000.
                    let srid = if i % 5 == 4 { "EPSG:4612" } else { "EPSG:6668" };
                    rsdt_pos.push(vec![
                        s(CITY_CODE),
                        t.machiaza_id.clone(),
                        blk_id.clone(),
                        rsdt_id,
                        String::new(),
                        s("1"),
                        s("1"),
                        fmt7(pt.x),
                        fmt7(pt.y),
                        s(srid),
                        s("500"),
                        String::new(),
                        String::new(),
                    ]);
                }
            }
        }
        for p in &t.parcels {
            let prc_id = format!("{:05}{:05}{:05}", p.n1, p.n2, 0);
            parcel.push(vec![
                s(CITY_CODE),
                t.machiaza_id.clone(),
                prc_id.clone(),
                s(CITY_NAME),
                String::new(),
                s(t.oaza),
                t.chome_text.clone(),
                String::new(),
                String::new(),
                s(p.n1),
                if p.n2 > 0 { s(p.n2) } else { String::new() },
                String::new(),
                s("0"),
                s("0"),
                String::new(),
                s("1970-01-01"),
                String::new(),
                s("0"),
                String::new(),
                String::new(),
            ]);
            let mut q = vec![
                s(CITY_CODE),
                t.machiaza_id.clone(),
                prc_id,
                fmt7(p.point.x),
                fmt7(p.point.y),
                s("EPSG:6668"),
                s("500"),
                s("1"),
            ];
            q.extend(vec![String::new(); 6]);
            q.extend(vec![String::new(); 6]);
            parcel_pos.push(q);
        }
    }
    vec![
        (TOWN, town, 0),
        (TOWN_POS, town_pos, 0),
        (BLK, blk, 1),
        (BLK_POS, blk_pos, 1),
        (RSDT, rsdt, 2),
        (RSDT_POS, rsdt_pos, 2),
        (PARCEL, parcel, 0),
        (PARCEL_POS, parcel_pos, 0),
    ]
}
