//! `/openapi.json`: valid OpenAPI 3.0 (checked by PyPI openapi-spec-validator, an independent
//! validator), and every documented route is really served: each is requested with its example
//! parameters and must answer 200.

use crate::support::*;
use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn the_document_is_valid_openapi_3() {
    let s = Server::start(sample_db());
    let r = s.get("/openapi.json");
    assert_eq!(r.status, 200);
    let mut c = Command::new("python3")
        .args([
            "-c",
            "import sys, json\nfrom openapi_spec_validator import validate\nvalidate(json.load(sys.stdin))\nprint('ok')",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python3");
    c.stdin.take().unwrap().write_all(&r.body).unwrap();
    let o = c.wait_with_output().unwrap();
    assert!(
        o.status.success(),
        "openapi-spec-validator: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let j = r.json();
    assert_eq!(j["openapi"], "3.0.3");
    assert_eq!(j["servers"][0]["url"], s.base.as_str());
}

#[test]
fn every_documented_route_answers() {
    let s = Server::start(sample_db());
    let doc = s.get("/openapi.json").json();
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 15, "{} paths", paths.len());
    for (template, ops) in paths {
        let Some(op) = ops.get("get") else { continue };
        let mut path = template.clone();
        let mut query = Vec::new();
        for p in op["parameters"].as_array().unwrap() {
            let name = p["name"].as_str().unwrap();
            let ex = p["example"].as_str();
            if p["in"] == "path" {
                let ex = ex.unwrap_or_else(|| panic!("{template}: {name} has no example"));
                path = path.replace(&format!("{{{name}}}"), ex);
            } else if p["required"] == true {
                let ex = ex.unwrap_or_else(|| panic!("{template}: {name} has no example"));
                query.push(format!("{name}={ex}"));
            }
        }
        if !query.is_empty() {
            path = format!("{path}?{}", query.join("&"));
        }
        let r = s.get(&path);
        if op["tags"][0] == "admin" {
            // Staff API: documented, routed, and closed to anonymous callers.
            assert_eq!(r.status, 401, "{template} → GET {path}: {}", r.text());
            assert_eq!(r.json()["ok"], false);
            assert!(
                op["security"].is_array(),
                "{template} declares its Bearer security"
            );
            continue;
        }
        assert_eq!(r.status, 200, "{template} → GET {path}: {}", r.text());
        let documented: Vec<&String> = op["responses"]["200"]["content"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        let ct = r.header("content-type").unwrap_or("");
        let essence = ct.split(';').next().unwrap_or("");
        assert!(
            documented
                .iter()
                .any(|d| d.split(';').next() == Some(essence)),
            "{path}: content-type {ct} not among {documented:?}"
        );
    }
}
