//! SIGKILL during an ingest: the published version must be unchanged and the file must open.

use crate::support::*;
use machimap::dataset::DatasetId;
use machimap::store::Store;
use std::process::{Command, Stdio};
use std::time::Instant;

#[test]
fn killed_ingest_leaves_published_data_and_file_intact() {
    let d = tmp();
    let db = d.path().join("m.duckdb");
    let sample = sample_dir();
    // Published version 1: the sample city's flood layer.
    let flood = sample.join("flood_A31a.geojson");
    let (code, v) = ingest_json(&db, "flood", &[&flood], &[]);
    assert_eq!(code, 0, "{v:#}");
    let rows_v1 = v["outcome"]["rows"].as_i64().unwrap();
    // A bigger file so the ingest takes a while.
    let big_dir = d.path().join("big");
    let out = run(&[
        "sample",
        "--out",
        big_dir.to_str().unwrap(),
        "--scale",
        "40000",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let big = big_dir.join("flood_scale_40000.geojson");
    assert!(big.exists());

    // How long a full ingest takes, to spread the kills across it.
    let t0 = Instant::now();
    let full = d.path().join("full.duckdb");
    let (code, _) = ingest_json(&full, "flood", &[&big], &[]);
    assert_eq!(code, 0);
    let span = t0.elapsed();

    let mut killed_midway = 0;
    for i in 0..6u32 {
        let at = span.mul_f64(f64::from(i + 1) / 8.0);
        let mut child = Command::new(bin())
            .args([
                "ingest",
                "--db",
                db.to_str().unwrap(),
                "--dataset",
                "flood",
                big.to_str().unwrap(),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let finished = child.try_wait().unwrap().is_some();
        let _ = child.kill(); // SIGKILL on Unix
        let _ = child.wait();
        if !finished {
            killed_midway += 1;
        }
        let store = Store::open(&db).expect("the file opens after SIGKILL");
        let cur = store.current(DatasetId::Flood).unwrap();
        if finished || cur != Some(1) {
            // It won the race and published a complete new version (it may have committed and
            // been killed before it could exit): that is allowed too, if the version is whole.
            let v = cur.unwrap();
            assert_eq!(store.row_count(DatasetId::Flood, v).unwrap(), 40000);
            return;
        }
        assert_eq!(cur, Some(1), "published version moved after kill {i}");
        assert_eq!(store.row_count(DatasetId::Flood, 1).unwrap(), rows_v1);
        // No half-written version is visible.
        let n: i64 = store
            .conn()
            .query_row("SELECT count(*) FROM flood WHERE version <> 1", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(n, 0, "rows of an unfinished version are visible");
        assert_eq!(store.versions(DatasetId::Flood).unwrap().len(), 1);
    }
    assert!(
        killed_midway >= 4,
        "only {killed_midway} kills landed mid-ingest"
    );
}
