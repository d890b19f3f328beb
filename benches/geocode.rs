//! Address search latency: the sample city's ABR files plus 100,000 generated residence points
//! (written as ABR CSVs and read through the same reader and normaliser as an upload), one
//! index, then 20,000 queries in the variant forms residents write (kanji and full-width
//! numerals, 番地・号 or hyphens, with and without the city, misses). Prints the index build
//! time and the p50 / p95 / p99 / max latency of one lookup.
//!
//! Baseline, measured in the same run on a sample of the same queries: the linear scan a first
//! version would write — every address point's 町字 and numbers folded once by the same
//! `normalize::key`, and each query answered by the point whose folded address shares the
//! longest prefix with the folded query (prefecture and city dropped from both). The index's
//! figures are printed as ratios against it.
//!
//! `cargo bench --bench geocode` (release profile). Not a test: nothing here asserts a time.
#![allow(clippy::print_stdout, reason = "a benchmark prints its figures")]

use machimap::address::{AddressIndex, Record};
use machimap::dataset::{DatasetId, ADDRESS_COLUMNS};
use machimap::kinds::Row;
use machimap::report::Report;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::time::Instant;

const EXTRA: usize = 100_000;
const QUERIES: usize = 20_000;
const KANJI: &[char] = &[
    '青', '赤', '白', '黒', '東', '西', '南', '北', '上', '下', '中', '新', '本', '高', '松', '竹',
    '梅', '森', '林', '川', '山', '田', '野', '原', '島', '浜', '岡', '谷', '沢', '宮', '寺', '石',
    '金', '銀', '花', '鳥', '風', '星', '月', '雪',
];

fn read_rows(dir: &Path, files: &[&str]) -> Vec<Row> {
    let mut report = Report::new("addresses");
    let mut n = machimap::kinds::normalizer(DatasetId::Addresses, Default::default());
    let mut rows = Vec::new();
    for name in files {
        let _ = machimap::read::read(
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
    assert_eq!(report.errors, 0, "{}", report.render_text());
    rows
}

/// Generated towns (name, 丁目 count) with 100 residences each, as ABR residence files.
fn write_extra(dir: &Path) -> Vec<(String, u32, u32, u32)> {
    let mut rng = StdRng::seed_from_u64(7);
    let mut base = String::from("lg_code,machiaza_id,blk_id,rsdt_id,rsdt2_id,city,ward,oaza_cho,chome,koaza,blk_num,rsdt_num,rsdt_num2\n");
    let mut pos =
        String::from("lg_code,machiaza_id,blk_id,rsdt_id,rsdt2_id,rep_lon,rep_lat,rep_srid\n");
    let mut addrs = Vec::new();
    let mut i = 0usize;
    'outer: for a in KANJI {
        for b in KANJI {
            for chome in 1..=3u32 {
                let name = format!("{a}{b}台");
                let mid = format!("{:04}{:03}", 5000 + i / 3, chome);
                for blk in 1..=10u32 {
                    for r in 1..=10u32 {
                        if addrs.len() >= EXTRA {
                            break 'outer;
                        }
                        base.push_str(&format!(
                            "339997,{mid},{blk:03},{r:03},,サンプル市,,{name},{chome}丁目,,{blk},{r},\n"
                        ));
                        let (x, y) = (
                            133.5 + rng.gen_range(0.0..0.5),
                            34.5 + rng.gen_range(0.0..0.3),
                        );
                        pos.push_str(&format!(
                            "339997,{mid},{blk:03},{r:03},,{x:.7},{y:.7},EPSG:6668\n"
                        ));
                        addrs.push((name.clone(), chome, blk, r));
                    }
                }
                i += 1;
            }
        }
    }
    std::fs::write(dir.join("extra_rsdt.csv"), base).expect("write");
    std::fs::write(dir.join("extra_rsdt_pos.csv"), pos).expect("write");
    addrs
}

fn kanji_num(n: u32) -> String {
    const K: [&str; 11] = [
        "〇", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
    ];
    if n <= 10 {
        K[n as usize].into()
    } else {
        n.to_string()
    }
}

fn main() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path();
    machimap_sample::generate(dir, &Default::default()).expect("sample");
    let extra = write_extra(dir);
    let mut files: Vec<&str> = machimap_sample::addresses::FILES.to_vec();
    files.extend(["extra_rsdt.csv", "extra_rsdt_pos.csv"]);
    let t0 = Instant::now();
    let rows = read_rows(dir, &files);
    let read_s = t0.elapsed().as_secs_f64();
    let t1 = Instant::now();
    let idx = AddressIndex::build(
        rows.iter()
            .enumerate()
            .map(|(i, r)| Record::from_values(i as i64 + 1, ADDRESS_COLUMNS, &r.values)),
    );
    let build_s = t1.elapsed().as_secs_f64();

    let book = machimap_sample::address_book();
    let mut rng = StdRng::seed_from_u64(17);
    let mut queries = Vec::with_capacity(QUERIES);
    for k in 0..QUERIES {
        let q = match k % 10 {
            0..=3 => {
                let t = &book[rng.gen_range(0..book.len())];
                let chome = if t.chome > 0 {
                    format!("{}丁目", kanji_num(t.chome as u32))
                } else {
                    String::new()
                };
                if let Some(b) = t.blocks.first() {
                    format!("岡山県サンプル市{}{chome}{}番{}号", t.oaza, b.num, 1)
                } else {
                    format!(
                        "{}{chome}{}番地",
                        t.oaza,
                        t.parcels.first().map_or(1, |p| p.n1)
                    )
                }
            }
            4..=8 => {
                let (name, chome, blk, r) = &extra[rng.gen_range(0..extra.len())];
                match k % 3 {
                    0 => format!("{name}{chome}丁目{blk}番{r}号"),
                    1 => format!("サンプル市 {name} {}－{}－{}", chome, blk, r),
                    _ => format!("{name}{}丁目{}番地{}", kanji_num(*chome), blk, r),
                }
            }
            _ => format!("東京都千代田区霞が関{}-{}-{}", k % 7, k % 11, k % 13),
        };
        queries.push(q);
    }
    let mut found = 0usize;
    let mut times: Vec<f64> = Vec::with_capacity(QUERIES);
    for q in &queries {
        let t = Instant::now();
        let r = idx.geocode(q);
        times.push(t.elapsed().as_secs_f64() * 1e3);
        found += usize::from(r.is_some());
    }
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() as f64 * p) as usize).min(times.len() - 1)];
    let scan = linear_scan(&rows, &queries[..BASELINE_QUERIES]);
    println!(
        "address points: {} ({} rows read in {read_s:.2} s, index built in {build_s:.2} s)",
        idx.len(),
        rows.len()
    );
    println!(
        "{QUERIES} queries ({found} found): p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        pct(0.50),
        pct(0.95),
        pct(0.99),
        times[times.len() - 1]
    );
    let spct = |p: f64| scan[((scan.len() as f64 * p) as usize).min(scan.len() - 1)];
    println!(
        "baseline, linear scan over the folded addresses ({BASELINE_QUERIES} of the same \
         queries): p50 {:.3} ms, p95 {:.3} ms, p99 {:.3} ms",
        spct(0.50),
        spct(0.95),
        spct(0.99)
    );
    println!(
        "index against the linear scan: p50 {:.0}x, p95 {:.0}x, p99 {:.0}x faster",
        spct(0.50) / pct(0.50),
        spct(0.95) / pct(0.95),
        spct(0.99) / pct(0.99)
    );
}

/// Queries answered by the baseline (it takes milliseconds each).
const BASELINE_QUERIES: usize = 1_000;

/// Sorted latencies (ms) of the linear-scan baseline over `queries`.
fn linear_scan(rows: &[Row], queries: &[String]) -> Vec<f64> {
    use machimap::address::normalize::key;
    let col = |name: &str| ADDRESS_COLUMNS.iter().position(|c| c.name == name);
    let idx: Vec<Option<usize>> = [
        "oaza_cho", "chome", "koaza", "blk_num", "rsdt_num", "prc_num1", "lon",
    ]
    .iter()
    .map(|n| col(n))
    .collect();
    let text =
        |r: &Row, i: Option<usize>| i.and_then(|i| r.values[i].as_text()).unwrap_or_default();
    let folded: Vec<Vec<char>> = rows
        .iter()
        .filter(|r| !text(r, idx[6]).is_empty())
        .map(|r| {
            let nums = [text(r, idx[3]), text(r, idx[4]), text(r, idx[5])]
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join("-");
            key(&format!(
                "{}{}{}{nums}",
                text(r, idx[0]),
                text(r, idx[1]),
                text(r, idx[2])
            ))
            .chars()
            .collect()
        })
        .collect();
    let drop: Vec<Vec<char>> = ["岡山県", "サンプル市"]
        .iter()
        .map(|s| key(s).chars().collect())
        .collect();
    let mut times = Vec::with_capacity(queries.len());
    let mut hits = 0usize;
    for q in queries {
        let t = Instant::now();
        let mut qk: Vec<char> = key(q).chars().collect();
        for d in &drop {
            if qk.starts_with(d) {
                qk.drain(..d.len());
            }
        }
        let best = folded
            .iter()
            .enumerate()
            .map(|(i, a)| (a.iter().zip(&qk).take_while(|(x, y)| x == y).count(), i))
            .max();
        times.push(t.elapsed().as_secs_f64() * 1e3);
        hits += usize::from(best.is_some_and(|(n, _)| n > 0));
    }
    std::hint::black_box(hits);
    times.sort_by(f64::total_cmp);
    times
}
