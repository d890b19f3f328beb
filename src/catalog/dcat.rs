//! DCAT (v3 terms) as JSON-LD.

use super::*;

// ---------------------------------------------------------------------------------------------
// DCAT (JSON-LD)
// ---------------------------------------------------------------------------------------------

fn lit(s: &str, lang: &str) -> Value {
    json!({"@value": s, "@language": lang})
}

fn typed(s: impl Into<Value>, ty: &str) -> Value {
    json!({"@value": s.into(), "@type": ty})
}

/// The catalog as DCAT in JSON-LD (compacted with an inline context; no remote context).
pub fn dcat(cat: &Catalog) -> Value {
    let base = &cat.base;
    let publisher = json!({
        "@id": format!("{base}/catalog#publisher"),
        "@type": "foaf:Organization",
        "foaf:name": lit(&cat.publisher, "ja"),
        "dct:identifier": cat.city_code,
    });
    let contact = json!({
        "@type": "vcard:Organization",
        "vcard:fn": lit(&cat.publisher, "ja"),
        "vcard:hasURL": {"@id": format!("{base}/catalog")},
    });
    let license = cat.license.url.as_ref().map(|u| json!({"@id": u}));
    let datasets: Vec<Value> = cat
        .entries
        .iter()
        .map(|e| {
            let d = e.dataset;
            let id = format!("{base}/catalog#{d}");
            let distributions: Vec<Value> = e
                .resources
                .iter()
                .map(|r| {
                    let mut dist = json!({
                        "@id": format!("{base}/catalog#{d}-{}", r.kind.key()),
                        "@type": "dcat:Distribution",
                        "dct:title": [lit(&format!("{}（{}）", d.title_ja(), r.kind.format()), "ja"),
                                      lit(&format!("{} ({})", d.title_en(), r.kind.format()), "en")],
                        "dct:description": [lit(r.kind.description(Lang::Ja), "ja"),
                                            lit(r.kind.description(Lang::En), "en")],
                        "dcat:accessURL": {"@id": r.url},
                        "dcat:mediaType": {"@id": format!("https://www.iana.org/assignments/media-types/{}", r.kind.media_type())},
                        "dct:format": r.kind.format(),
                        "dct:modified": typed(xsd_time(&e.modified), "xsd:dateTime"),
                    });
                    if let Some(l) = &license {
                        dist["dct:license"] = l.clone();
                    }
                    if let Some(g) = &r.digest {
                        dist["dcat:downloadURL"] = json!({"@id": r.url});
                        dist["dcat:byteSize"] = typed(g.size, "xsd:nonNegativeInteger");
                        dist["spdx:checksum"] = json!({
                            "@type": "spdx:Checksum",
                            "spdx:algorithm": {"@id": "spdx:checksumAlgorithm_sha256"},
                            "spdx:checksumValue": typed(g.sha256.as_str(), "xsd:hexBinary"),
                        });
                    }
                    if r.kind == ResourceKind::Ogc {
                        dist["dct:conformsTo"] =
                            json!({"@id": "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core"});
                    }
                    dist
                })
                .collect();
            let mut keywords: Vec<Value> = tags(d).iter().map(|t| lit(t, "ja")).collect();
            keywords.extend(keywords_en(d).iter().map(|t| lit(t, "en")));
            let mut ds = json!({
                "@id": id,
                "@type": "dcat:Dataset",
                "dct:identifier": d.as_str(),
                "dct:title": [lit(d.title_ja(), "ja"), lit(d.title_en(), "en")],
                "dct:description": [lit(description(d, Lang::Ja), "ja"), lit(description(d, Lang::En), "en")],
                "dct:publisher": {"@id": format!("{base}/catalog#publisher")},
                "dcat:contactPoint": contact.clone(),
                "dct:issued": typed(xsd_time(&e.created), "xsd:dateTime"),
                "dct:modified": typed(xsd_time(&e.modified), "xsd:dateTime"),
                "dcat:version": e.version.to_string(),
                "dcat:keyword": keywords,
                "dcat:landingPage": {"@id": format!("{base}/catalog#{d}")},
                "dct:language": {"@id": "http://id.loc.gov/vocabulary/iso639-1/ja"},
                "dcat:distribution": distributions,
            });
            if let Some(l) = &license {
                ds["dct:license"] = l.clone();
            }
            if let Some(b) = e.bbox {
                ds["dct:spatial"] = json!({
                    "@type": "dct:Location",
                    "dcat:bbox": typed(bbox_wkt(b), "gsp:wktLiteral"),
                });
            }
            if let Some((ja, en)) = standard(d) {
                ds["dct:conformsTo"] = json!({
                    "@id": "https://www.digital.go.jp/resources/open_data/municipal-standard-data-set-test",
                    "@type": "dct:Standard",
                    "dct:title": [lit(ja, "ja"), lit(en, "en")],
                });
            }
            ds
        })
        .collect();
    let mut catalog = json!({
        "@context": {
            "dcat": "http://www.w3.org/ns/dcat#",
            "dct": "http://purl.org/dc/terms/",
            "foaf": "http://xmlns.com/foaf/0.1/",
            "vcard": "http://www.w3.org/2006/vcard/ns#",
            "spdx": "http://spdx.org/rdf/terms#",
            "xsd": "http://www.w3.org/2001/XMLSchema#",
            "gsp": "http://www.opengis.net/ont/geosparql#",
        },
        "@id": format!("{base}/catalog.jsonld"),
        "@type": "dcat:Catalog",
        "dct:title": [lit(&cat.title(Lang::Ja), "ja"), lit(&cat.title(Lang::En), "en")],
        "dct:description": [
            lit(&format!("{}が公開するオープンデータ（防災・地図・道路台帳など）の一覧です。", cat.publisher), "ja"),
            lit(&format!("Open data published by {}: hazards, maps, roads and shelters.", cat.publisher), "en"),
        ],
        "dct:publisher": publisher,
        "foaf:homepage": {"@id": format!("{base}/catalog")},
        "dct:language": {"@id": "http://id.loc.gov/vocabulary/iso639-1/ja"},
        "dcat:dataset": datasets,
    });
    if let Some(l) = &license {
        catalog["dct:license"] = l.clone();
    }
    if let Some(m) = cat.modified() {
        catalog["dct:modified"] = typed(xsd_time(m), "xsd:dateTime");
    }
    catalog
}

/// A bbox as a WKT polygon (lon/lat, CRS84 order).
pub fn bbox_wkt(b: [f64; 4]) -> String {
    format!(
        "POLYGON(({x0} {y0}, {x1} {y0}, {x1} {y1}, {x0} {y1}, {x0} {y0}))",
        x0 = b[0],
        y0 = b[1],
        x1 = b[2],
        y1 = b[3]
    )
}
