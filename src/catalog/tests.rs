//! Tests of the catalog model and its outputs.
use super::*;
use crate::dataset::Val;
use crate::index::Feature;
use rstar::RTree;

fn layer(d: DatasetId, n: usize, published: &str) -> Layer {
    let features = (0..n)
        .map(|i| Feature {
            fid: i as i64 + 1,
            values: vec![Val::Null; d.columns().len()].into(),
            geom: None,
            bbox: d.has_geometry().then_some([133.9, 34.6, 133.95, 34.65]),
            label: None,
        })
        .collect();
    Layer {
        dataset: d,
        version: 2,
        published_at: published.into(),
        created_at: "2025-03-31T15:30:00Z".into(),
        source_names: "x.csv".into(),
        source_sha256: "00".into(),
        features,
        tree: RTree::new(),
        bbox: d.has_geometry().then_some([133.9, 34.6, 133.95, 34.65]),
        tileset: Default::default(),
    }
}

fn fake_digest(l: &Arc<Layer>, f: Format) -> Option<Digest> {
    Some(Digest {
        size: 100 + l.features.len() as u64 + u64::from(f == Format::GeoJson),
        sha256: format!("{:064x}", l.features.len()),
    })
}

fn catalog(publisher: &str) -> Catalog {
    let mut snap = Snapshot::default();
    // The eight datasets the fixture was written for (inland flooding and addresses left
    // unpublished).
    let ds = DatasetId::ALL
        .into_iter()
        .filter(|d| !matches!(d, DatasetId::InlandFlood | DatasetId::Addresses));
    for (i, d) in ds.enumerate() {
        if d == DatasetId::Tsunami {
            continue; // never published
        }
        let when = format!("2025-04-{:02}T10:00:00Z", i + 1);
        snap.layers.insert(d, Arc::new(layer(d, i + 1, &when)));
    }
    let config = Publisher {
        name: publisher.into(),
        city_code: "339997".into(),
        license_id: "cc-by-4.0".into(),
    };
    let counts = |d: DatasetId| {
        let mut m = BTreeMap::new();
        if d == DatasetId::Shelters {
            m.insert("csv".to_string(), 5);
            m.insert("geojson".to_string(), 2);
            m.insert("ogc".to_string(), 1);
        }
        m
    };
    build_catalog(&snap, &config, "http://x", &counts, &fake_digest)
}

#[test]
fn unpublished_datasets_are_left_out_and_stockpile_has_no_geometry_resources() {
    let c = catalog("サンプル市");
    assert_eq!(c.entries.len(), 7);
    assert!(c.entry("tsunami").is_none());
    let s = c.entry("stockpile").unwrap();
    let kinds: Vec<_> = s.resources.iter().map(|r| r.kind).collect();
    assert_eq!(kinds, vec![ResourceKind::Csv, ResourceKind::Ogc]);
    assert!(s.bbox.is_none());
    let sh = c.entry("shelters").unwrap();
    assert_eq!(sh.downloads(), 8);
    assert_eq!(sh.resources[0].downloads, 5);
}

#[test]
fn package_dict_has_ckan_fields() {
    let c = catalog("サンプル市");
    let p = serde_json::to_value(package(&c, c.entry("shelters").unwrap())).unwrap();
    assert_eq!(p["name"], "shelters");
    assert_eq!(p["title"], "指定緊急避難場所・指定避難所");
    assert_eq!(p["metadata_modified"], "2025-04-07T10:00:00");
    assert_eq!(p["license_id"], "cc-by-4.0");
    assert_eq!(
        p["license_url"],
        "https://creativecommons.org/licenses/by/4.0/"
    );
    assert_eq!(p["num_resources"], 4);
    assert_eq!(p["organization"]["name"], "339997");
    assert!(p["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == STANDARD_TAG));
    let r = &p["resources"][0];
    assert_eq!(r["format"], "CSV");
    assert_eq!(r["url"], "http://x/datasets/shelters.csv");
    assert_eq!(r["size"], 107);
    assert!(r["hash"].as_str().unwrap().starts_with("sha256:"));
    assert_eq!(
        p["resources"][2]["url"],
        "http://x/ogc/collections/shelters/items"
    );
    assert_eq!(p["resources"][3]["url"], "http://x/tiles/shelters.json");
    let spatial = p["extras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "spatial")
        .unwrap();
    let g: Value = serde_json::from_str(spatial["value"].as_str().unwrap()).unwrap();
    assert_eq!(g["type"], "Polygon");
}

fn params(v: Value) -> Params {
    v.as_object().unwrap().clone()
}

#[test]
fn search_filters_pages_and_validates() {
    let c = catalog("サンプル市");
    let r = run_action(
        &c,
        "package_search",
        &params(json!({"fq": "tags:自治体標準ODS"})),
    )
    .unwrap();
    assert_eq!(r["count"], 1);
    assert_eq!(r["results"][0]["name"], "shelters");
    let r = run_action(&c, "package_search", &params(json!({"q": "避難"}))).unwrap();
    let names: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(names[0], "shelters", "{names:?}");
    assert!(names.contains(&"stockpile"));
    let r = run_action(
        &c,
        "package_search",
        &params(json!({"fq": "res_format:GeoJSON"})),
    )
    .unwrap();
    assert_eq!(r["count"], 6);
    let r = run_action(
        &c,
        "package_search",
        &params(json!({"fq": "-res_format:GeoJSON"})),
    )
    .unwrap();
    assert_eq!(r["count"], 1);
    let r = run_action(
        &c,
        "package_search",
        &params(
            json!({"fq": "organization:339997", "rows": "2", "start": "1", "sort": "name asc"}),
        ),
    )
    .unwrap();
    assert_eq!(r["count"], 7);
    assert_eq!(r["results"].as_array().unwrap().len(), 2);
    assert_eq!(r["results"][0]["name"], "landslide");
    let r = run_action(
        &c,
        "package_search",
        &params(json!({"fq": "metadata_modified:[2025-04-06T00:00:00Z TO *]"})),
    )
    .unwrap();
    assert_eq!(r["count"], 3);
    let r = run_action(&c, "package_search", &params(json!({"rows": 5000}))).unwrap();
    assert_eq!(r["results"].as_array().unwrap().len(), 7);
    assert_eq!(
        run_action(
            &c,
            "package_search",
            &params(json!({"rows": "x", "start": -1}))
        ),
        Err(CkanError::Validation(BTreeMap::from([
            ("rows".into(), vec!["Invalid integer".into()]),
            ("start".into(), vec!["Must be a natural number".into()]),
        ])))
    );
    assert!(matches!(
        run_action(&c, "package_search", &params(json!({"fq": "colour:red"}))),
        Err(CkanError::Search(_))
    ));
    assert!(matches!(
        run_action(&c, "package_search", &params(json!({"sort": "bogus asc"}))),
        Err(CkanError::Search(_))
    ));
    let r = run_action(
        &c,
        "package_search",
        &params(json!({"facet.field": "[\"tags\"]", "rows": 0})),
    )
    .unwrap();
    assert_eq!(r["facets"]["tags"]["防災"], 5);
}

#[test]
fn other_actions() {
    let c = catalog("サンプル市");
    assert_eq!(
        run_action(&c, "package_show", &params(json!({"id": "nope"}))),
        Err(CkanError::NotFound(None))
    );
    assert!(matches!(
        run_action(&c, "package_show", &Params::new()),
        Err(CkanError::Validation(_))
    ));
    let l = run_action(&c, "package_list", &Params::new()).unwrap();
    assert_eq!(l.as_array().unwrap().len(), 7);
    assert_eq!(l[0], "flood");
    let r = run_action(
        &c,
        "current_package_list_with_resources",
        &params(json!({"limit": 3})),
    )
    .unwrap();
    assert_eq!(r.as_array().unwrap().len(), 3);
    assert_eq!(r[0]["name"], "stockpile", "most recently modified first");
    let o = run_action(
        &c,
        "organization_list",
        &params(json!({"all_fields": "true"})),
    )
    .unwrap();
    assert_eq!(o[0]["package_count"], 7);
    assert_eq!(o[0]["title"], "サンプル市");
    // A yes/no word CKAN does not know is refused, not read as "no".
    for bad in ["-354840", "maybe", "TRUE "] {
        assert!(
            matches!(
                run_action(&c, "organization_list", &params(json!({"all_fields": bad}))),
                Err(CkanError::Validation(_))
            ),
            "{bad}"
        );
    }
    for (word, dicts) in [("yes", true), ("0", false), ("", false), ("False", false)] {
        let o = run_action(
            &c,
            "organization_list",
            &params(json!({"all_fields": word})),
        );
        assert_eq!(o.unwrap()[0].is_object(), dicts, "{word}");
    }
    assert!(run_action(&c, "status_show", &Params::new()).unwrap()["site_title"].is_string());
}

#[test]
fn action_names_are_the_actions() {
    let names: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, ACTION_NAMES);
}

#[test]
fn dates() {
    assert_eq!(ckan_time("2025-04-01T09:30:00Z"), "2025-04-01T09:30:00");
    assert_eq!(
        human_time("2025-12-31T15:30:00Z", Lang::Ja),
        "2026年1月1日 00:30"
    );
    assert_eq!(
        human_time("2024-02-28T20:00:00Z", Lang::En),
        "2024-02-29 05:00 JST"
    );
    assert_eq!(ckan_time("2025-04-01"), "2025-04-01T00:00:00");
    assert_eq!(ckan_time("2025-04-01T09:30:00Z"), "2025-04-01T09:30:00");
    // Not a date: left as written (without its Z), never a date that does not exist.
    assert_eq!(ckan_time("2025-13-45T00:00:00Z"), "2025-13-45T00:00:00");
    assert!(parse_stamp("2025-02-29").is_none());
    assert_eq!(
        minus_days("2025-03-01T00:00:00", 1).unwrap(),
        "2025-02-28T00:00:00"
    );
}

#[test]
fn dcat_has_distributions_with_checksums() {
    let c = catalog("サンプル市");
    let d = dcat(&c);
    let ds = d["dcat:dataset"].as_array().unwrap();
    assert_eq!(ds.len(), 7);
    let sh = ds
        .iter()
        .find(|x| x["dct:identifier"] == "shelters")
        .unwrap();
    assert!(sh["dct:spatial"]["dcat:bbox"]["@value"]
        .as_str()
        .unwrap()
        .starts_with("POLYGON(("));
    let csv = &sh["dcat:distribution"][0];
    assert_eq!(csv["dcat:byteSize"]["@value"], 107);
    let st = ds
        .iter()
        .find(|x| x["dct:identifier"] == "stockpile")
        .unwrap();
    assert!(st.get("dct:spatial").is_none());
}

#[test]
fn unknown_licence_keeps_its_id() {
    let l = license("my-city-terms");
    assert_eq!(l.title_en, "my-city-terms");
    assert!(l.url.is_none());
    assert_eq!(
        license("CC-BY-4.0").url.as_deref(),
        Some("https://creativecommons.org/licenses/by/4.0/")
    );
}
