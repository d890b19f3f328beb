//! The search over the sample city's ABR files, read and normalised as an upload is.
#![allow(
    clippy::print_stdout,
    reason = "the 1,000-address test reports its misses"
)]

use super::*;
use crate::dataset::ADDRESS_COLUMNS;
use crate::kinds::Row;
use crate::report::Report;
use machimap_sample::addresses::SampleTown;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::OnceLock;

/// Rows of `files` (in `dir`) through the readers and the `addresses` normaliser.
pub(crate) fn normalise(dir: &Path, files: &[&str]) -> (Vec<Row>, Report) {
    let mut report = Report::new("addresses");
    let mut n = crate::kinds::normalizer(DatasetId::Addresses, Default::default());
    let mut rows = Vec::new();
    for name in files {
        let _ = crate::read::read(
            &dir.join(name),
            name,
            None,
            &mut report,
            &mut |src, f, rep| {
                n.feature(src, f, rep, &mut |r| rows.push(r));
                std::ops::ControlFlow::Continue(())
            },
        );
    }
    n.finish(&mut report, &mut |r| rows.push(r));
    (rows, report)
}

fn index_of(rows: &[Row]) -> AddressIndex {
    AddressIndex::build(
        rows.iter()
            .enumerate()
            .map(|(i, r)| Record::from_values(i as i64 + 1, ADDRESS_COLUMNS, &r.values)),
    )
}

struct Sample {
    book: Vec<SampleTown>,
    index: AddressIndex,
    report: Report,
}

/// The sample city's address files, written once, read once.
fn sample() -> &'static Sample {
    static S: OnceLock<Sample> = OnceLock::new();
    S.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        machimap_sample::generate(dir.path(), &Default::default()).expect("sample");
        let (rows, report) = normalise(dir.path(), &machimap_sample::addresses::FILES);
        Sample {
            book: machimap_sample::address_book(),
            index: index_of(&rows),
            report,
        }
    })
}

fn close(f: &Found, p: geo::Coord<f64>) -> bool {
    (f.lon - p.x).abs() < 1e-7 && (f.lat - p.y).abs() < 1e-7
}

const KANJI: [&str; 11] = [
    "〇", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
];

fn fw(n: u32) -> String {
    machimap_sample::addresses::fullwidth(n)
}

/// A town name written another way: ヶ / ケ / が swapped.
fn ke_variant(s: &str) -> String {
    if s.contains('ヶ') {
        s.replace('ヶ', "ケ")
    } else if s.contains('が') {
        s.replace('が', "ヶ")
    } else {
        s.to_string()
    }
}

/// `t`'s 丁目 in form `form`.
fn chome(t: &SampleTown, form: usize) -> String {
    if t.chome == 0 {
        return String::new();
    }
    match form % 4 {
        0 => format!("{}丁目", KANJI[t.chome.min(10)]),
        1 => format!("{}丁目", t.chome),
        2 => format!("{}丁目", fw(t.chome as u32)),
        _ => format!("{}-", t.chome),
    }
}

/// The block-and-number part in form `form`.
fn numbers(b: u32, r: Option<u32>, form: usize) -> String {
    let k = |n: u32| {
        if n <= 10 {
            KANJI[n as usize].to_string()
        } else {
            n.to_string()
        }
    };
    match (r, form % 5) {
        (Some(r), 0) => format!("{b}番{r}号"),
        (Some(r), 1) => format!("{b}-{r}"),
        (Some(r), 2) => format!("{}－{}", fw(b), fw(r)),
        (Some(r), 3) => format!("{}番{}号", k(b), k(r)),
        (Some(r), _) => format!("{b}番地{r}"),
        (None, 0 | 3) => format!("{b}番"),
        (None, 1) => format!("{b}"),
        (None, 2) => format!("{}番地", fw(b)),
        (None, _) => format!("{}番", k(b)),
    }
}

/// `oaza + chome + numbers` with a prefix (none, city, prefecture + city) and spacing.
fn write(t: &SampleTown, nums: &str, form: usize, rng: &mut StdRng) -> String {
    let town = if rng.gen_bool(0.3) {
        ke_variant(t.oaza)
    } else {
        t.oaza.to_string()
    };
    let ch = chome(t, form);
    let prefix = match rng.gen_range(0..3) {
        0 => "",
        1 => "サンプル市",
        _ => "岡山県サンプル市",
    };
    let nums = if ch.ends_with('-') {
        nums.replace('番', "-").replace('号', "").replace("地", "")
    } else {
        nums.to_string()
    };
    if rng.gen_bool(0.25) {
        format!("{prefix} {town} {ch} {nums}")
    } else if rng.gen_bool(0.15) {
        // The reading instead of the kanji name.
        format!("{prefix}{}{ch}{nums}", t.oaza_kana)
    } else {
        format!("{prefix}{town}{ch}{nums}")
    }
}

#[test]
fn the_sample_reads_without_errors() {
    let s = sample();
    assert_eq!(s.report.errors, 0, "{}", s.report.render_text());
    // The residences without a point are reported, kept, and searched at their block.
    assert!(
        s.report
            .counts
            .get("ADDRESS_POSITION_MISSING")
            .copied()
            .unwrap_or(0)
            > 0
    );
    assert!(s.index.len() > 5000, "{}", s.index.len());
}

#[test]
fn a_thousand_sample_addresses_in_variant_forms() {
    let s = sample();
    let mut rng = StdRng::seed_from_u64(17);
    let mut tried = 0;
    let mut misses = Vec::new();
    let mut by_precision: HashMap<&str, usize> = HashMap::new();
    while tried < 1000 {
        let t = &s.book[rng.gen_range(0..s.book.len())];
        let form = rng.gen_range(0..20usize);
        let (q, want_p, want) = if t.rsdt_addr {
            let b = &t.blocks[rng.gen_range(0..t.blocks.len())];
            if b.residences.is_empty() {
                let q = write(t, &numbers(b.num, None, form), form, &mut rng);
                (q, Precision::Block, b.point)
            } else {
                let (r, p, has) = b.residences[rng.gen_range(0..b.residences.len())];
                let q = write(t, &numbers(b.num, Some(r), form), form, &mut rng);
                if has {
                    (q, Precision::Residence, p)
                } else {
                    (q, Precision::Block, b.point)
                }
            }
        } else {
            let p = &t.parcels[rng.gen_range(0..t.parcels.len())];
            let nums = match (p.n2, form % 3) {
                (0, 0) => format!("{}番地", p.n1),
                (0, _) => fw(p.n1),
                (n2, 0) => format!("{}番地{n2}", p.n1),
                (n2, 1) => format!("{}-{n2}", p.n1),
                (n2, _) => format!("{}番地の{}", fw(p.n1), fw(n2)),
            };
            (write(t, &nums, form, &mut rng), Precision::Parcel, p.point)
        };
        tried += 1;
        if tried <= 12 {
            println!("  e.g. {q}");
        }
        match s.index.geocode(&q) {
            Some(f) if f.precision == want_p && close(&f, want) => {
                *by_precision.entry(want_p.as_str()).or_default() += 1;
            }
            other => misses.push(format!(
                "{q} → {:?} (wanted {} at {:.7},{:.7})",
                other.map(|f| (f.precision, f.address, f.matched, f.rest, f.lon, f.lat)),
                want_p.as_str(),
                want.x,
                want.y
            )),
        }
    }
    let found = tried - misses.len();
    println!(
        "found {found} of {tried} at the right point and precision ({by_precision:?}); misses {}:",
        misses.len()
    );
    for m in &misses {
        println!("  {m}");
    }
    assert!(found * 100 >= tried * 95, "{found}/{tried}");
    // Every precision was exercised.
    for p in ["residence", "block", "parcel"] {
        assert!(
            by_precision.get(p).copied().unwrap_or(0) > 10,
            "{p}: {by_precision:?}"
        );
    }
}

/// The first 住居表示 town with a 丁目 and a block with residences.
fn town_with_chome() -> (&'static SampleTown, usize) {
    let s = sample();
    let t = s
        .book
        .iter()
        .find(|t| {
            t.rsdt_addr
                && t.chome > 0
                && t.blocks
                    .iter()
                    .any(|b| b.residences.iter().filter(|r| r.2).count() > 1)
        })
        .expect("a town");
    let bi = t
        .blocks
        .iter()
        .position(|b| b.residences.iter().filter(|r| r.2).count() > 1)
        .expect("a block");
    (t, bi)
}

#[test]
fn house_else_block_else_machiaza() {
    let s = sample();
    let (t, bi) = town_with_chome();
    let b = &t.blocks[bi];
    let (r, rp, _) = *b.residences.iter().find(|r| r.2).expect("residence");
    let base = format!("{}{}丁目", t.oaza, KANJI[t.chome.min(10)]);
    let f = s
        .index
        .geocode(&format!("{base}{}-{r}", b.num))
        .expect("house");
    assert_eq!(f.precision, Precision::Residence);
    assert!(close(&f, rp));
    assert_eq!(f.rest, "");
    // A house number the data lacks: its block.
    let f = s
        .index
        .geocode(&format!("{base}{}-999", b.num))
        .expect("block");
    assert_eq!(f.precision, Precision::Block);
    assert!(close(&f, b.point));
    assert_eq!(f.rest, "999");
    // A block number the data lacks: the 町字.
    let f = s.index.geocode(&format!("{base}998-1")).expect("town");
    assert_eq!(f.precision, Precision::Machiaza);
    assert!(close(&f, t.point));
    assert_eq!(f.rest, "998-1");
    // The 町字 alone.
    let f = s.index.geocode(&base).expect("town");
    assert_eq!(f.precision, Precision::Machiaza);
    assert_eq!(f.machiaza_id, t.machiaza_id);
    // A residence without a point: its block.
    let (t2, b2, r2) = s
        .book
        .iter()
        .find_map(|t| {
            t.blocks
                .iter()
                .find_map(|b| b.residences.iter().find(|r| !r.2).map(|r| (t, b, r.0)))
        })
        .expect("a residence without a point");
    let q = format!("{}{}{}-{r2}", t2.oaza, chome(t2, 1), b2.num);
    let f = s.index.geocode(&q).expect("block");
    assert_eq!(f.precision, Precision::Block, "{q}");
    assert!(close(&f, b2.point));
}

#[test]
fn the_rest_is_given_back_as_written() {
    let s = sample();
    let (t, bi) = town_with_chome();
    let b = &t.blocks[bi];
    let r = b.residences.iter().find(|r| r.2).expect("residence").0;
    let q = format!(
        "岡山県サンプル市{}{}丁目{}番{}号　サンプルハイツ１０１号室",
        t.oaza, t.chome, b.num, r
    );
    let f = s.index.geocode(&q).expect("found");
    assert_eq!(f.precision, Precision::Residence);
    assert_eq!(f.rest, "サンプルハイツ１０１号室");
    assert!(f.address.starts_with("岡山県サンプル市"), "{}", f.address);
    assert!(
        f.matched.ends_with(&format!("{}-{}", b.num, r)),
        "{}",
        f.matched
    );
}

#[test]
fn no_town_no_answer() {
    let s = sample();
    assert!(s.index.geocode("東京都千代田区霞が関1-3-1").is_none());
    assert!(s.index.geocode("").is_none());
    assert!(s.index.geocode("----").is_none());
    // Long input is cut, not refused, here (the route refuses it).
    let long = "あ".repeat(10_000);
    assert!(s.index.geocode(&long).is_none());
}

#[test]
fn a_chome_number_does_not_match_a_longer_one() {
    // 泉町1 must not answer 泉町12.
    let rows = vec![
        town_row("0001001", "泉町", "一丁目", 1, [133.9, 34.6]),
        town_row("0001012", "泉町", "十二丁目", 12, [133.91, 34.61]),
    ];
    let idx = AddressIndex::build(rows);
    let f = idx.geocode("泉町12丁目").expect("found");
    assert_eq!(f.machiaza_id, "0001012");
    let f = idx.geocode("泉町1-5").expect("found");
    assert_eq!(f.machiaza_id, "0001001");
    assert_eq!(f.rest, "5");
}

fn town_row(id: &str, oaza: &str, chome: &str, n: i64, p: [f64; 2]) -> Record {
    let mut fields = HashMap::new();
    for (k, v) in [
        ("precision", "machiaza".to_string()),
        ("lg_code", "339997".to_string()),
        ("machiaza_id", id.to_string()),
        ("city", "サンプル市".to_string()),
        ("oaza_cho", oaza.to_string()),
        ("chome", chome.to_string()),
        ("chome_number", n.to_string()),
        ("address", format!("サンプル市{oaza}{chome}")),
    ] {
        fields.insert(k, v);
    }
    Record {
        fid: n,
        fields,
        point: Some(p),
    }
}
