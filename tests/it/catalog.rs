//! The catalog over real HTTP on the sample city: the HTML page (structure, languages, escaping,
//! security headers), DCAT JSON-LD read as RDF by rdflib, the CKAN Action API (envelope, errors,
//! paging) through the real `ckanapi` client, and download counts going up after a download.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

const ALL: [&str; 9] = [
    "addresses",
    "flood",
    "landslide",
    "roads",
    "shelters",
    "stockpile",
    "storm_surge",
    "tsunami",
    "wards",
];

/// Percent-encode a query value.
fn enc(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Run a Python script with `input` on stdin; panics with its stderr when it fails.
fn py(script: &str, input: &[u8], args: &[&str]) -> String {
    let mut child = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "python failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `ckanapi action ACTION ARGS -r BASE` (POST, ckanapi's default), parsed JSON on success.
fn ckanapi(base: &str, action: &str, args: &[&str]) -> Result<serde_json::Value, String> {
    let out = Command::new("ckanapi")
        .arg("action")
        .arg(action)
        .args(args)
        .args(["-r", base])
        .output()
        .expect("ckanapi (PyPI) is installed");
    if out.status.success() {
        Ok(serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "ckanapi output not JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        }))
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// POST `body` with `content_type`; returns status and JSON.
fn post(s: &Server, path: &str, content_type: &str, body: &str) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let mut r = agent
        .post(&format!("{}{path}", s.base))
        .header("Content-Type", content_type)
        .send(body)
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = r.status().as_u16();
    let text = r.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}")),
    )
}

fn ok_result(r: &Resp) -> serde_json::Value {
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(r
        .header("content-type")
        .unwrap()
        .starts_with("application/json"));
    let j = r.json();
    assert_eq!(j["success"], true, "{j}");
    assert!(j["help"]
        .as_str()
        .unwrap()
        .contains("/api/3/action/help_show?name="));
    j["result"].clone()
}

const HTML_CHECK: &str = r#"
import sys
from html.parser import HTMLParser
VOID = {'meta','link','br','hr','img','input','source','wbr','col','area','base','embed','track'}
class P(HTMLParser):
    def __init__(s):
        super().__init__(convert_charrefs=True)
        s.stack=[]; s.ids=set(); s.errors=[]; s.html_lang=None; s.th=0; s.scoped=0; s.heads=[]; s.text=[]
        s.captions=0; s.tags=set()
    def handle_starttag(s, tag, attrs):
        a=dict(attrs); s.tags.add(tag)
        if tag=='html': s.html_lang=a.get('lang')
        if 'id' in a:
            if a['id'] in s.ids: s.errors.append('duplicate id '+a['id'])
            s.ids.add(a['id'])
        if tag=='th':
            s.th+=1
            if a.get('scope') in ('col','row'): s.scoped+=1
        if tag in ('h1','h2','h3','h4'): s.heads.append(int(tag[1]))
        if tag=='caption': s.captions+=1
        if tag=='a' and 'href' in a and a['href'].startswith('#') and len(a['href'])>1:
            s.errors_links = getattr(s,'errors_links',[]) + [a['href'][1:]]
        if tag not in VOID: s.stack.append(tag)
    def handle_endtag(s, tag):
        if tag in VOID: return
        if not s.stack or s.stack[-1]!=tag: s.errors.append('mismatched </%s> with open %s' % (tag, s.stack[-3:]))
        else: s.stack.pop()
    def handle_data(s, d): s.text.append(d)
p=P(); p.feed(sys.stdin.read()); p.close()
assert not p.errors, p.errors
assert not p.stack, p.stack
assert p.html_lang==sys.argv[1], p.html_lang
assert p.th>0 and p.th==p.scoped, (p.th, p.scoped)
assert p.heads[0]==1 and p.heads.count(1)==1, p.heads
for a,b in zip(p.heads,p.heads[1:]): assert b<=a+1, ('heading level skipped', p.heads)
assert p.captions>=2
for target in getattr(p,'errors_links',[]): assert target in p.ids, 'dangling #'+target
assert 'script' not in p.tags and 'iframe' not in p.tags, p.tags
print(''.join(p.text))
"#;

#[test]
fn catalog_html_lists_every_dataset_in_valid_accessible_html() {
    let s = Server::start(sample_db());
    let r = s.get("/catalog");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'self'"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert!(r.header("referrer-policy").is_some());
    let html = r.text();
    let text = py(HTML_CHECK, html.as_bytes(), &["ja"]);
    // The inline style is allowed by exactly its hash.
    let style = html
        .split("<style>")
        .nth(1)
        .unwrap()
        .split("</style>")
        .next()
        .unwrap();
    let hash = py(
        "import sys,hashlib,base64;print(base64.b64encode(hashlib.sha256(sys.stdin.buffer.read()).digest()).decode())",
        style.as_bytes(),
        &[],
    );
    assert!(csp.contains(&format!("'sha256-{}'", hash.trim())), "{csp}");
    for t in [
        "町丁・字界",
        "洪水浸水想定区域",
        "土砂災害警戒区域",
        "津波浸水想定",
        "高潮浸水想定区域",
        "道路台帳（市道）",
        "指定緊急避難場所・指定避難所",
        "避難所備蓄品",
    ] {
        assert!(text.contains(t), "{t} missing");
    }
    assert!(text.contains("サンプル市"));
    assert!(text.contains("自治体標準オープンデータセット 03 指定緊急避難場所一覧"));
    assert!(html.contains("href=\"https://creativecommons.org/licenses/by/4.0/\" rel=\"license\""));
    assert!(text.contains("CC BY 4.0"));
    assert!(html.contains(&format!("href=\"{}/datasets/shelters.csv\"", s.base)));
    assert!(html.contains(&format!(
        "href=\"{}/ogc/collections/stockpile/items\"",
        s.base
    )));
    assert!(!html.contains("/datasets/stockpile.geojson"));
    assert!(!html.contains("/tiles/stockpile.json"));
    assert!(html.contains("<time datetime=\""));
    assert!(html.contains("ダウンロード数"));

    let r = s.get("/catalog?lang=en");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-language"), Some("en"));
    let text = py(HTML_CHECK, r.body.as_slice(), &["en"]);
    assert!(text.contains("Evacuation sites and shelters"));
    assert!(text.contains("Creative Commons Attribution 4.0 International"));
    assert!(text.contains("Downloads"));
    assert!(r.text().contains("<span lang=\"ja\">サンプル市</span>"));
}

#[test]
fn catalog_escapes_configured_text_everywhere() {
    let evil = "<script>x</script>\"'&";
    let s = Server::start_with(
        sample_db(),
        &["--publisher", evil, "--license", "<b>odd</b>"],
    );
    let r = s.get("/catalog");
    assert_eq!(r.status, 200);
    let html = r.text();
    assert!(!html.contains("<script>"), "unescaped publisher");
    assert!(!html.contains("<b>odd"), "unescaped licence");
    assert!(html.contains("&#60;script&#62;x&#60;/script&#62;&#34;&#39;&#38;"));
    py(HTML_CHECK, html.as_bytes(), &["ja"]);
    // JSON carries the same text as data.
    let p = ok_result(&s.get("/api/3/action/package_show?id=shelters"));
    assert_eq!(p["organization"]["title"], evil);
    assert_eq!(p["license_id"], "<b>odd</b>");
    assert!(p["license_url"].is_null());
    let j = s.get("/catalog.jsonld").json();
    assert_eq!(j["dct:publisher"]["foaf:name"]["@value"], evil);
}

const RDF_CHECK: &str = r#"
import sys, json
from rdflib import Graph, URIRef, Literal, Namespace
from rdflib.namespace import RDF, DCTERMS, XSD
DCAT = Namespace('http://www.w3.org/ns/dcat#'); SPDX = Namespace('http://spdx.org/rdf/terms#')
FOAF = Namespace('http://xmlns.com/foaf/0.1/')
data = sys.stdin.read()
g = Graph(); g.parse(data=data, format='json-ld')
exp = json.loads(sys.argv[1])
cats = list(g.subjects(RDF.type, DCAT.Catalog)); assert len(cats) == 1, cats
cat = cats[0]
ds = list(g.objects(cat, DCAT.dataset)); assert len(ds) == 9, len(ds)
assert set(g.subjects(RDF.type, DCAT.Dataset)) == set(ds)
pub = g.value(cat, DCTERMS.publisher); assert g.value(pub, FOAF.name) == Literal('サンプル市', lang='ja')
lic = URIRef('https://creativecommons.org/licenses/by/4.0/')
for d in ds:
    ident = str(g.value(d, DCTERMS.identifier))
    titles = {t.language: str(t) for t in g.objects(d, DCTERMS.title)}
    assert set(titles) == {'ja', 'en'}, (ident, titles)
    assert any(x.language == 'ja' for x in g.objects(d, DCTERMS.description))
    assert g.value(d, DCTERMS.license) == lic, ident
    assert g.value(d, DCTERMS.publisher) == pub
    m = g.value(d, DCTERMS.modified); assert m.datatype == XSD.dateTime and m.value.tzinfo is not None, m
    assert len(list(g.objects(d, DCAT.keyword))) >= 3
    dists = list(g.objects(d, DCAT.distribution))
    fmts = sorted(str(g.value(x, DCTERMS['format'])) for x in dists)
    e = exp[ident]
    assert fmts == sorted(e['formats']), (ident, fmts)
    for x in dists:
        assert (x, RDF.type, DCAT.Distribution) in g
        assert isinstance(g.value(x, DCAT.accessURL), URIRef)
        assert g.value(x, DCAT.mediaType) is not None
        f = str(g.value(x, DCTERMS['format']))
        if f in ('CSV', 'GeoJSON'):
            url = str(g.value(x, DCAT.downloadURL)); assert url == e['urls'][f], (url, e['urls'][f])
            size = g.value(x, DCAT.byteSize); assert size.datatype == XSD.nonNegativeInteger and int(size) == e['size'][f]
            ck = g.value(x, SPDX.checksum)
            assert g.value(ck, SPDX.algorithm) == SPDX.checksumAlgorithm_sha256
            assert str(g.value(ck, SPDX.checksumValue)).lower() == e['sha256'][f]
    sp = g.value(d, DCTERMS.spatial)
    if e['geometry']:
        bbox = g.value(sp, DCAT.bbox)
        assert str(bbox.datatype) == 'http://www.opengis.net/ont/geosparql#wktLiteral' and str(bbox).startswith('POLYGON(('), bbox
    else:
        assert sp is None, ident
print(len(g))
"#;

#[test]
fn dcat_jsonld_parses_as_rdf_with_the_expected_triples() {
    let s = Server::start(sample_db());
    // Files are hashed in the background and a request waits for them only so long: on a busy
    // machine the first answers may lack a size and hash that later ones have. Wait until every
    // download is hashed, so the document and the CKAN answers below describe the same state.
    let hashed = |s: &Server| {
        ALL.iter().all(|id| {
            let p = ok_result(&s.get(&format!("/api/3/action/package_show?id={id}")));
            p["resources"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|r| r["resource_type"] == "file")
                .all(|r| r["size"].is_u64())
        })
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    while !hashed(&s) {
        assert!(
            std::time::Instant::now() < deadline,
            "downloads never hashed"
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let r = s.get("/catalog.jsonld");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/ld+json"));
    // What the CKAN API says, to compare with the RDF.
    let mut exp = serde_json::Map::new();
    for id in ALL {
        let p = ok_result(&s.get(&format!("/api/3/action/package_show?id={id}")));
        let mut urls = serde_json::Map::new();
        let mut size = serde_json::Map::new();
        let mut sha = serde_json::Map::new();
        let mut formats = Vec::new();
        for res in p["resources"].as_array().unwrap() {
            let f = res["format"].as_str().unwrap().to_string();
            if res["size"].is_u64() {
                urls.insert(f.clone(), res["url"].clone());
                size.insert(f.clone(), res["size"].clone());
                let h = res["hash"]
                    .as_str()
                    .unwrap()
                    .strip_prefix("sha256:")
                    .unwrap();
                sha.insert(f.clone(), h.into());
            }
            formats.push(f);
        }
        exp.insert(
            id.into(),
            serde_json::json!({"formats": formats, "urls": urls, "size": size, "sha256": sha,
                "geometry": id != "stockpile"}),
        );
    }
    let triples = py(
        RDF_CHECK,
        &r.body,
        &[&serde_json::Value::Object(exp).to_string()],
    );
    assert!(triples.trim().parse::<usize>().unwrap() > 300, "{triples}");
}

#[test]
fn ckan_actions_answer_in_the_ckan_envelope() {
    let s = Server::start(sample_db());
    assert_eq!(s.get("/api/3").json()["version"], 3);
    let names = ok_result(&s.get("/api/3/action/package_list"));
    assert_eq!(names, serde_json::json!(ALL));
    assert_eq!(
        ok_result(&s.get("/api/3/action/package_list?limit=2&offset=1")),
        serde_json::json!(["flood", "landslide"])
    );

    let p = ok_result(&s.get("/api/3/action/package_show?id=shelters"));
    assert_eq!(p["id"], "shelters");
    assert_eq!(p["name"], "shelters");
    assert_eq!(p["title"], "指定緊急避難場所・指定避難所");
    assert!(p["notes"]
        .as_str()
        .unwrap()
        .contains("指定緊急避難場所一覧"));
    assert_eq!(p["license_id"], "cc-by-4.0");
    assert_eq!(
        p["license_url"],
        "https://creativecommons.org/licenses/by/4.0/"
    );
    assert_eq!(p["organization"]["title"], "サンプル市");
    let modified = p["metadata_modified"].as_str().unwrap();
    assert_eq!(modified.len(), 19, "ISO 8601 without zone: {modified}");
    assert_eq!(&modified[10..11], "T");
    assert!(p["metadata_created"].as_str().unwrap() <= modified);
    assert!(p["tags"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["name"] == "自治体標準ODS"));
    assert_eq!(p["num_resources"], 4);
    let fmts: Vec<&str> = p["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["format"].as_str().unwrap())
        .collect();
    assert_eq!(fmts, ["CSV", "GeoJSON", "OGC API Features", "TileJSON"]);
    let urls: Vec<&str> = p["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["url"].as_str().unwrap())
        .collect();
    assert_eq!(
        urls,
        [
            format!("{}/datasets/shelters.csv", s.base),
            format!("{}/datasets/shelters.geojson", s.base),
            format!("{}/ogc/collections/shelters/items", s.base),
            format!("{}/tiles/shelters.json", s.base),
        ]
    );
    let csv = &p["resources"][0];
    assert!(csv["size"].as_u64().unwrap() > 100);
    let h = csv["hash"].as_str().unwrap();
    assert!(h.starts_with("sha256:") && h.len() == 7 + 64, "{h}");
    assert_eq!(csv["last_modified"], p["metadata_modified"]);
    let spatial = p["extras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "spatial")
        .unwrap();
    let g: serde_json::Value = serde_json::from_str(spatial["value"].as_str().unwrap()).unwrap();
    assert_eq!(g["type"], "Polygon");
    let lon = g["coordinates"][0][0][0].as_f64().unwrap();
    assert!((133.0..135.0).contains(&lon), "{lon}");

    let st = ok_result(&s.get("/api/3/action/package_show?id=stockpile"));
    let fmts: Vec<&str> = st["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["format"].as_str().unwrap())
        .collect();
    assert_eq!(fmts, ["CSV", "OGC API Features"]);
    assert!(!st["extras"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["key"] == "spatial"));

    let search = |qs: &str| ok_result(&s.get(&format!("/api/3/action/package_search?{qs}")));
    let r = search(&format!("fq={}", enc("tags:自治体標準ODS")));
    assert_eq!(r["count"], 1);
    assert_eq!(r["results"][0]["name"], "shelters");
    assert_eq!(search("fq=res_format:CSV")["count"], 9);
    assert_eq!(
        search(&format!("fq={}", enc("res_format:\"OGC API Features\"")))["count"],
        9
    );
    assert_eq!(search("fq=res_format:GeoJSON")["count"], 8);
    assert_eq!(
        search(&format!(
            "fq={}",
            enc("organization:339997 -res_format:GeoJSON")
        ))["count"],
        1
    );
    assert_eq!(search("fq=organization:elsewhere")["count"], 0);
    assert_eq!(
        search(&format!(
            "fq={}",
            enc("metadata_modified:[2000-01-01T00:00:00Z TO *]")
        ))["count"],
        9
    );
    assert_eq!(
        search(&format!(
            "fq={}",
            enc("metadata_modified:[* TO 2000-01-01T00:00:00Z]")
        ))["count"],
        0
    );
    let r = search(&format!("q={}", enc("避難")));
    let hits: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(hits[0], "shelters", "{hits:?}");
    assert!(hits.contains(&"stockpile"));
    assert!(!hits.contains(&"roads"));
    assert_eq!(search("q=tsunami")["results"][0]["name"], "tsunami");
    let r = search("rows=3&start=0&sort=name+desc");
    assert_eq!(r["count"], 9);
    let hits: Vec<&str> = r["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap())
        .collect();
    assert_eq!(hits, ["wards", "tsunami", "storm_surge"]);
    let r = search(&format!(
        "rows=0&facet.field={}",
        enc("[\"tags\",\"res_format\"]")
    ));
    assert_eq!(r["results"].as_array().unwrap().len(), 0);
    assert_eq!(r["facets"]["res_format"]["CSV"], 9);
    assert!(!r["search_facets"]["tags"]["items"]
        .as_array()
        .unwrap()
        .is_empty());
    // rows above 1000 are capped, as CKAN's limit_to_configured_maximum does.
    let r = search("rows=5000");
    assert_eq!(r["results"].as_array().unwrap().len(), 9);

    let l = ok_result(&s.get("/api/3/action/current_package_list_with_resources?limit=3&offset=1"));
    assert_eq!(l.as_array().unwrap().len(), 3);
    assert!(l[0]["resources"].as_array().unwrap().len() >= 2);
    let all = ok_result(&s.get("/api/3/action/current_package_list_with_resources"));
    let mods: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata_modified"].as_str().unwrap())
        .collect();
    assert_eq!(mods.len(), 9);
    assert!(
        mods.windows(2).all(|w| w[0] >= w[1]),
        "most recent first: {mods:?}"
    );

    assert_eq!(
        ok_result(&s.get("/api/3/action/organization_list")),
        serde_json::json!(["339997"])
    );
    let o = ok_result(&s.get("/api/3/action/organization_list?all_fields=true"));
    assert_eq!(o[0]["name"], "339997");
    assert_eq!(o[0]["title"], "サンプル市");
    assert_eq!(o[0]["package_count"], 9);
    assert_eq!(
        ok_result(&s.get("/api/3/action/organization_show?id=339997"))["package_count"],
        9
    );
    let st = ok_result(&s.get("/api/3/action/status_show"));
    assert_eq!(st["site_url"], s.base);
    assert!(st["ckan_version"].is_string());
    assert_eq!(
        ok_result(&s.get("/api/3/action/license_list"))[0]["id"],
        "cc-by-4.0"
    );
    assert!(
        ok_result(&s.get("/api/3/action/help_show?name=package_search"))
            .as_str()
            .unwrap()
            .contains("rows")
    );
    // The version-less path ckanapi uses, by GET and POST (JSON body, and CKAN's JSON-as-form-key).
    assert_eq!(
        ok_result(&s.get("/api/action/package_list")),
        serde_json::json!(ALL)
    );
    let (st, j) = post(
        &s,
        "/api/3/action/package_search",
        "application/json",
        r#"{"rows": 2, "start": "2", "sort": "name asc"}"#,
    );
    assert_eq!(st, 200);
    assert_eq!(j["result"]["results"][0]["name"], "landslide");
    let (st, j) = post(
        &s,
        "/api/action/package_show",
        "application/x-www-form-urlencoded",
        "id=shelters",
    );
    assert_eq!(st, 200);
    assert_eq!(j["result"]["name"], "shelters");
}

#[test]
fn ckan_errors_use_ckans_statuses_and_envelope() {
    let s = Server::start(sample_db());
    let err = |path: &str, status: u16| {
        let r = s.get(path);
        assert_eq!(r.status, status, "{path}: {}", r.text());
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/json"));
        r.json()
    };
    let j = err("/api/3/action/package_show?id=no-such-dataset", 404);
    assert_eq!(j["success"], false);
    assert_eq!(j["error"]["__type"], "Not Found Error");
    assert_eq!(j["error"]["message"], "Not found");
    assert!(j["help"].is_string());
    let j = err("/api/3/action/package_show", 409);
    assert_eq!(j["error"]["__type"], "Validation Error");
    assert_eq!(j["error"]["id"], serde_json::json!(["Missing value"]));
    let j = err("/api/3/action/package_search?rows=abc&start=-1", 409);
    assert_eq!(j["success"], false);
    assert_eq!(j["error"]["__type"], "Validation Error");
    assert_eq!(j["error"]["rows"], serde_json::json!(["Invalid integer"]));
    assert_eq!(
        j["error"]["start"],
        serde_json::json!(["Must be a natural number"])
    );
    let j = err("/api/3/action/package_search?rows=2.5", 409);
    assert_eq!(j["error"]["rows"], serde_json::json!(["Invalid integer"]));
    let j = err(
        "/api/3/action/current_package_list_with_resources?limit=-3",
        409,
    );
    assert_eq!(
        j["error"]["limit"],
        serde_json::json!(["Must be a natural number"])
    );
    let j = err(
        &format!("/api/3/action/package_search?fq={}", enc("colour:red")),
        409,
    );
    assert_eq!(j["error"]["__type"], "Search Error");
    let j = err("/api/3/action/package_search?sort=popularity+desc", 409);
    assert_eq!(j["error"]["__type"], "Search Error");
    let j = err("/api/3/action/organization_show?id=other", 404);
    assert_eq!(j["error"]["__type"], "Not Found Error");
    // Unknown actions and bodies that are not objects: CKAN's 400 with a bare JSON string.
    let j = err("/api/3/action/package_create", 400);
    assert_eq!(j, "Bad request - Action name not known: package_create");
    let (st, j) = post(
        &s,
        "/api/3/action/package_show",
        "application/json",
        "[1, 2]",
    );
    assert_eq!(st, 400);
    assert!(j.as_str().unwrap().starts_with("Bad request - "), "{j}");
    let (st, j) = post(
        &s,
        "/api/3/action/package_show",
        "application/json",
        "{not json",
    );
    assert_eq!(st, 400);
    assert!(j.as_str().unwrap().contains("JSON Error"), "{j}");
    let (st, j) = post(
        &s,
        "/api/3/action/package_show",
        "application/json",
        r#"{"id": "nope"}"#,
    );
    assert_eq!(st, 404);
    assert_eq!(j["error"]["__type"], "Not Found Error");
}

#[test]
fn ckanapi_client_pages_through_the_whole_catalog() {
    let s = Server::start(sample_db());
    let mut seen = Vec::new();
    let mut start = 0;
    loop {
        let r = ckanapi(
            &s.base,
            "package_search",
            &["rows=2", &format!("start={start}")],
        )
        .unwrap_or_else(|e| panic!("ckanapi package_search: {e}"));
        assert_eq!(r["count"], 9);
        let page = r["results"].as_array().unwrap();
        assert!(page.len() <= 2);
        if page.is_empty() {
            break;
        }
        seen.extend(page.iter().map(|p| p["name"].as_str().unwrap().to_string()));
        start += 2;
        assert!(start <= 10, "paging does not end");
    }
    seen.sort();
    assert_eq!(seen, ALL);
    // Filters with Japanese text through the client (POSTed as JSON).
    let r = ckanapi(&s.base, "package_search", &["fq=tags:自治体標準ODS"]).unwrap();
    assert_eq!(r["count"], 1);

    let p = ckanapi(&s.base, "package_show", &["id=shelters"]).unwrap();
    assert_eq!(p["name"], "shelters");
    assert_eq!(p["resources"].as_array().unwrap().len(), 4);
    let l = ckanapi(&s.base, "current_package_list_with_resources", &[]).unwrap();
    assert_eq!(l.as_array().unwrap().len(), 9);
    assert!(l
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["num_resources"].as_u64().unwrap() >= 2));
    // GET mode (-g) too.
    let out = Command::new("ckanapi")
        .args(["action", "package_list", "-g", "-r", &s.base])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let names: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(names, serde_json::json!(ALL));
    // The client turns our 404 and 409 back into its NotFound and ValidationError.
    let e = ckanapi(&s.base, "package_show", &["id=nope"]).unwrap_err();
    assert!(e.contains("NotFound"), "{e}");
    let e = ckanapi(&s.base, "package_search", &["rows=x"]).unwrap_err();
    assert!(
        e.contains("ValidationError") && e.contains("Invalid integer"),
        "{e}"
    );
}

#[test]
fn downloads_are_counted_in_the_catalog_and_match_size_and_hash() {
    let dir = tmp();
    let db = sample_db_copy(dir.path());
    let s = Server::start(&db);
    let before = ok_result(&s.get("/api/3/action/package_show?id=shelters"));
    let csv = &before["resources"][0];
    assert_eq!(csv["format"], "CSV");
    assert_eq!(csv["downloads"], 0);
    let r = s.get("/datasets/shelters.csv");
    assert_eq!(r.status, 200, "{}", r.text());
    // The resource's size and hash are those of the bytes served.
    assert_eq!(r.body.len() as u64, csv["size"].as_u64().unwrap());
    let sha = py(
        "import sys,hashlib;print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest())",
        &r.body,
        &[],
    );
    assert_eq!(
        format!("sha256:{}", sha.trim()),
        csv["hash"].as_str().unwrap()
    );
    s.get("/datasets/shelters.csv");
    let g = s.get("/datasets/shelters.geojson");
    assert_eq!(g.status, 200);
    assert_eq!(
        g.body.len() as u64,
        before["resources"][1]["size"].as_u64().unwrap()
    );
    let after = ok_result(&s.get("/api/3/action/package_show?id=shelters"));
    assert_eq!(after["resources"][0]["downloads"], 2);
    assert_eq!(after["resources"][1]["downloads"], 1);
    let total = after["extras"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["key"] == "downloads")
        .unwrap();
    assert_eq!(total["value"], "3");
    // The HTML page shows the counts (the summary row of shelters ends with the total).
    let html = s.get("/catalog").text();
    let row = html
        .lines()
        .find(|l| l.contains("<a href=\"#shelters\">"))
        .unwrap();
    assert!(row.ends_with("<td class=\"num\">3</td></tr>"), "{row}");
    // The counts survive a restart (kept beside the database).
    drop(s);
    let s = Server::start(&db);
    let again = ok_result(&s.get("/api/3/action/package_show?id=shelters"));
    assert_eq!(again["resources"][0]["downloads"], 2);
}

#[test]
fn documented_catalog_routes_answer_their_examples() {
    let s = Server::start(sample_db());
    let doc = s.get("/openapi.json").json();
    let mut n = 0;
    for (path, ops) in doc["paths"].as_object().unwrap() {
        let Some(op) = ops.get("get") else { continue };
        if op["tags"][0] != "catalog" {
            continue;
        }
        let mut url = path.replace("{action}", "status_show");
        let required: Vec<String> = op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| {
                let name = p["name"].as_str().unwrap();
                let ex = match name {
                    "id" if path.contains("organization") => "339997",
                    "id" => "shelters",
                    "name" => "package_search",
                    _ => "x",
                };
                format!("{name}={ex}")
            })
            .collect();
        if !required.is_empty() {
            url = format!("{url}?{}", required.join("&"));
        }
        let r = s.get(&url);
        assert_eq!(r.status, 200, "{url}: {}", r.text());
        n += 1;
    }
    assert!(n >= 12, "{n} catalog GET routes documented");
}
