//! Replicas: two `serve` processes on the same DuckDB file under load while a third process
//! publishes a new version. Every request must succeed during the hand-over, and both replicas
//! must end up serving the new version (each loads it whole beside the old one, then swaps).

use crate::support::*;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[test]
fn a_publish_reaches_every_replica_without_a_failed_request() {
    let d = tmp();
    let db = sample_db_copy(d.path());
    let replicas = [Server::start(&db), Server::start(&db)];
    let stop = AtomicBool::new(false);
    let ok = AtomicU64::new(0);
    let failed = std::sync::Mutex::new(Vec::<String>::new());
    let paths = [
        "/tiles/flood,wards/13/7158/3254.mvt",
        "/tiles/flood/12/3579/1627.mvt",
        "/ogc/collections/flood/items?limit=50",
        "/api/risk?lat=34.61&lon=133.92",
        "/datasets/shelters.csv",
        "/healthz",
    ];
    // The new flood version: every other feature of the sample file.
    let src: serde_json::Value =
        serde_json::from_slice(&std::fs::read(sample_dir().join("flood_A31a.geojson")).unwrap())
            .unwrap();
    let mut fc = src.clone();
    let feats: Vec<serde_json::Value> = src["features"]
        .as_array()
        .unwrap()
        .iter()
        .step_by(2)
        .cloned()
        .collect();
    fc["features"] = serde_json::Value::Array(feats);
    let p = d.path().join("flood_half.geojson");
    std::fs::write(&p, serde_json::to_vec(&fc).unwrap()).unwrap();

    std::thread::scope(|sc| {
        for r in &replicas {
            for t in 0..2 {
                let (stop, ok, failed) = (&stop, &ok, &failed);
                sc.spawn(move || {
                    let mut i = t;
                    while !stop.load(Ordering::Relaxed) {
                        let path = paths[i % paths.len()];
                        let resp = r.get(path);
                        if resp.status == 200 {
                            ok.fetch_add(1, Ordering::Relaxed);
                        } else {
                            failed.lock().unwrap().push(format!(
                                "{path}: {} {}",
                                resp.status,
                                resp.text()
                            ));
                        }
                        i += 1;
                    }
                });
            }
        }
        std::thread::sleep(Duration::from_millis(500));
        let t_ingest = Instant::now();
        let (code, v) = ingest_json(&db, "flood", &[&p], &[]);
        assert_eq!(code, 0, "{v:#}");
        eprintln!("publish under load took {:?}", t_ingest.elapsed());
        let t0 = Instant::now();
        for r in &replicas {
            while r.get("/healthz").json()["datasets"]["flood"]["version"] != 2 {
                assert!(
                    t0.elapsed() < Duration::from_secs(20),
                    "replica {} never picked up the publish",
                    r.base
                );
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        eprintln!(
            "both replicas switched {:?} after the publish",
            t0.elapsed()
        );
        std::thread::sleep(Duration::from_millis(500));
        stop.store(true, Ordering::Relaxed);
    });
    let failed = failed.into_inner().unwrap();
    assert!(
        failed.is_empty(),
        "{} failed requests: {:?}",
        failed.len(),
        &failed[..failed.len().min(5)]
    );
    assert!(
        ok.load(Ordering::Relaxed) > 50,
        "load too light to mean anything"
    );
    let n = |r: &Server| r.get("/healthz").json()["datasets"]["flood"]["features"].as_u64();
    assert_eq!(n(&replicas[0]), n(&replicas[1]));
    assert_eq!(
        replicas[0].get("/datasets/flood.csv").body,
        replicas[1].get("/datasets/flood.csv").body,
        "both replicas serve the same version"
    );
}
