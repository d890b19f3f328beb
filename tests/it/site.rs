//! `machimap export-site`: the static site's files, its release switch, and the in-browser
//! risk answer (`machimap-risk-web`, here called natively with the request the page builds from
//! the export's files) against `/api/risk` of a live server on the same database.

use crate::support::*;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

/// A stand-in for the built map: the template's markers and an empty module (the browser tests
/// use the real build).
fn web_dir(dir: &Path) -> PathBuf {
    let w = dir.join("web");
    std::fs::create_dir_all(w.join("assets")).unwrap();
    std::fs::write(
        w.join("index.html"),
        "<!doctype html><html lang=\"ja\"><head><title>{city}</title><!--MACHIMAP_CONFIG--></head></html>",
    )
    .unwrap();
    std::fs::write(w.join("risk.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(w.join("assets/main-TEST.js"), "0").unwrap();
    w
}

fn export(db: &Path, out: &Path, web: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec![
        "export-site",
        "--db",
        db.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--web-dir",
        web.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run(&args)
}

fn current(out: &Path) -> PathBuf {
    std::fs::read_link(out.join("current")).expect("current is a link")
}

/// The release the root page pins (its `<base>`) is the one `current` names.
fn assert_root_page_pins_current(out: &Path) {
    let name = current(out);
    let name = name.file_name().unwrap().to_string_lossy();
    let root = std::fs::read_to_string(out.join("index.html")).unwrap();
    assert!(
        root.contains(&format!("<base href=\"releases/{name}/\">")),
        "{root}"
    );
}

/// The request `web/src/offline.js` builds for a point: texts of the point, the hazards of the
/// manifest with their zone tables and the point's cell (when the export has one), shelters and
/// status as written.
fn request(site: &Path, lat: &str, lon: &str, lang: &str, floors: Option<u32>) -> Vec<u8> {
    let read = |p: &str| std::fs::read_to_string(site.join(p)).unwrap();
    let manifest: serde_json::Value = serde_json::from_str(&read("manifest.json")).unwrap();
    let mut tail = Vec::new();
    let mut hazards = Vec::new();
    for (h, info) in manifest["risk"]["hazards"].as_object().unwrap() {
        let n = f64::from(1u32 << info["level"].as_u64().unwrap());
        let cell = format!(
            "{}_{}",
            (lon.parse::<f64>().unwrap() * n).floor(),
            (lat.parse::<f64>().unwrap() * n).floor()
        );
        let range = match std::fs::read(site.join(format!("risk/{h}/{cell}.bin"))) {
            Ok(b) => {
                let r = format!("[{},{}]", tail.len(), b.len());
                tail.extend_from_slice(&b);
                r
            }
            Err(_) => "null".into(),
        };
        hazards.push(format!(
            "\"{h}\":{{\"published_at\":{},\"zones\":{},\"cell\":{range}}}",
            info["published_at"],
            read(&format!("risk/{h}/zones.json"))
        ));
    }
    let json = format!(
        "{{\"lat\":\"{lat}\",\"lon\":\"{lon}\",\"lang\":\"{lang}\",\"floors\":{},\"hazards\":{{{}}},\"shelters\":{},\"status\":{}}}",
        floors.map_or("null".into(), |f| f.to_string()),
        hazards.join(","),
        read("data/shelters.json"),
        read("data/status.json"),
    );
    let mut out = (json.len() as u32).to_le_bytes().to_vec();
    out.extend_from_slice(json.as_bytes());
    out.extend_from_slice(&tail);
    out
}

#[test]
fn site_the_copy_answers_as_the_server_and_releases_switch_whole() {
    let dir = tmp();
    let db = sample_db_copy(dir.path());
    // A status staff set, so crowding and status words are compared too.
    let admin = dir.path().join("copy.duckdb.admin");
    std::fs::create_dir_all(&admin).unwrap();
    std::fs::write(
        admin.join("shelter_status.jsonl"),
        "{\"fid\":1,\"status\":\"open\",\"evacuees\":120,\"at\":\"2026-12-06T01:00:00Z\",\"by\":\"test\"}\n\
         {\"fid\":2,\"status\":\"full\",\"evacuees\":300,\"at\":\"2026-12-06T01:05:00Z\",\"by\":\"test\"}\n\
         {\"fid\":3,\"status\":\"closed\",\"evacuees\":null,\"at\":\"2026-12-06T01:10:00Z\",\"by\":\"test\"}\n",
    )
    .unwrap();
    let web = web_dir(dir.path());
    let out = dir.path().join("site");
    let o = export(
        &db,
        &out,
        &web,
        &["--zip", dir.path().join("pack.zip").to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let site = out.join(current(&out));
    assert_root_page_pins_current(&out);
    for f in [
        "index.html",
        "risk.wasm",
        "manifest.json",
        "data/tiles.pmtiles",
        "data/shelters.json",
        "data/status.json",
        "data/search.json",
        "datasets/shelters.csv",
        "datasets/flood.geojson",
        "catalog/index.html",
        "catalog.jsonld",
        "risk/flood/zones.json",
        "assets/main-TEST.js",
    ] {
        assert!(site.join(f).is_file(), "{f} missing");
    }
    let html = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(html.contains("\"static\":{\"exported_at\""), "{html}");
    // The offline pack holds the same release and says how to serve it.
    let zip =
        zip::ZipArchive::new(std::fs::File::open(dir.path().join("pack.zip")).unwrap()).unwrap();
    let names: Vec<&str> = zip.file_names().collect();
    for f in [
        "README.txt",
        "index.html",
        "data/tiles.pmtiles",
        "risk.wasm",
    ] {
        assert!(names.contains(&f), "{f} not in the zip");
    }

    // The same answer as /api/risk at random points in and around the city, in every language
    // and for several home heights.
    let server = Server::start(&db);
    let bounds = server.get("/config.json").json()["bounds"].clone();
    let b: Vec<f64> = (0..4).map(|i| bounds[i].as_f64().unwrap()).collect();
    let (w, h) = (b[2] - b[0], b[3] - b[1]);
    let langs = ["ja", "en", "easy", "zh-Hans", "zh-Hant", "ko", "vi", "pt"];
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261206);
    let (mut in_zone, mut leave, mut upstairs, mut no_data) = (0, 0, 0, 0);
    let points = 400;
    for i in 0..points {
        let lat = format!("{:.6}", b[1] - h * 0.1 + rng.gen::<f64>() * h * 1.2);
        let lon = format!("{:.6}", b[0] - w * 0.1 + rng.gen::<f64>() * w * 1.2);
        let lang = langs[i % langs.len()];
        let floors = [None, Some(1), Some(2), Some(3), Some(6)][i % 5];
        let q = format!(
            "/api/risk?lat={lat}&lon={lon}&lang={lang}{}",
            floors.map_or(String::new(), |f| format!("&floors={f}"))
        );
        let live = server.get(&q).json();
        let copy: serde_json::Value = serde_json::from_str(
            &machimap_risk_web::answer(&request(&site, &lat, &lon, lang, floors)).unwrap(),
        )
        .unwrap();
        assert_eq!(copy, live, "{q}");
        for hz in live["hazards"].as_array().unwrap() {
            in_zone += usize::from(hz["in_zone"] == true);
            no_data += usize::from(hz["coverage"] == "no_data" && hz["data_available"] == true);
            leave += usize::from(hz["decision"]["action"] == "leave");
            upstairs += usize::from(hz["decision"]["action"] == "upper_floor");
        }
    }
    // The points say something: zones, both decisions and unmapped ground were all compared.
    assert!(
        in_zone > 40 && leave > 10 && upstairs > 5 && no_data > 20,
        "in zone {in_zone}, leave {leave}, upper floor {upstairs}, no data {no_data}"
    );
    println!(
        "{points} points: 0 differences (hazard answers in a zone {in_zone}, leave {leave}, upper floor {upstairs}, no data {no_data})"
    );

    // A second export becomes current in one switch; the one before stays for readers who are
    // still on it; a third removes the oldest.
    let first = current(&out);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(export(&db, &out, &web, &[]).status.success());
    let second = current(&out);
    assert_ne!(first, second);
    assert_root_page_pins_current(&out);
    assert!(out.join(&first).is_dir());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    assert!(export(&db, &out, &web, &[]).status.success());
    assert!(!out.join(&first).exists(), "the oldest release is removed");
    assert!(out.join(&second).is_dir());
    // A publish refreshes the copy when asked to.
    let before = current(&out);
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let o = run(&[
        "publish",
        "--db",
        db.to_str().unwrap(),
        "--dataset",
        "flood",
        "--version",
        "1",
        "--export-site",
        out.to_str().unwrap(),
        "--site-web-dir",
        web.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_ne!(current(&out), before);
    // An export that cannot be made leaves the current release as it was.
    let before = current(&out);
    std::fs::remove_file(web.join("risk.wasm")).unwrap();
    let o = export(&db, &out, &web, &[]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("scripts/build-web"));
    assert_eq!(current(&out), before);
}
