//! The CKAN Action API: dictionaries, errors, parameters and the actions.

use super::*;

// ---------------------------------------------------------------------------------------------
// CKAN dictionaries
// ---------------------------------------------------------------------------------------------

/// The organisation dictionary (CKAN `organization_show` without datasets).
pub fn organization(cat: &Catalog, with_count: bool) -> Value {
    let name = cat.org_name();
    let created = cat
        .entries
        .iter()
        .map(|e| e.created.as_str())
        .min()
        .map(ckan_time);
    let mut o = json!({
        "id": name,
        "name": name,
        "title": cat.publisher,
        "display_name": cat.publisher,
        "type": "organization",
        "is_organization": true,
        "state": "active",
        "approval_status": "approved",
        "description": format!("{}（全国地方公共団体コード {}）", cat.publisher, cat.city_code),
        "image_url": "",
        "created": created,
    });
    if with_count {
        o["package_count"] = json!(cat.entries.len());
    }
    o
}

/// Spatial extent as GeoJSON Polygon text (ckanext-spatial's `spatial` extra).
pub fn bbox_geojson(b: [f64; 4]) -> String {
    json!({
        "type": "Polygon",
        "coordinates": [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]]
    })
    .to_string()
}

fn resource_dict(cat: &Catalog, e: &Entry, r: &Resource, position: usize) -> Value {
    let d = e.dataset;
    json!({
        "id": format!("{d}-{}", r.kind.key()),
        "package_id": d.as_str(),
        "name": format!("{}（{}）", d.title_ja(), r.kind.format()),
        "description": r.kind.description(Lang::Ja),
        "url": r.url,
        "format": r.kind.format(),
        "mimetype": r.kind.media_type(),
        "created": ckan_time(&e.created),
        "last_modified": ckan_time(&e.modified),
        "metadata_modified": ckan_time(&e.modified),
        "hash": r.digest.as_ref().map_or_else(String::new, |g| format!("sha256:{}", g.sha256)),
        "size": r.digest.as_ref().map(|g| g.size),
        "position": position,
        "state": "active",
        "url_type": Value::Null,
        "resource_type": if r.kind.is_download() { "file" } else { "api" },
        "datastore_active": false,
        "license_id": cat.license.id,
        "downloads": r.downloads,
    })
}

/// The CKAN package dictionary of one entry (as `package_show` answers).
pub fn package(cat: &Catalog, e: &Entry) -> Value {
    let d = e.dataset;
    let tag_list: Vec<Value> = tags(d)
        .iter()
        .map(|t| json!({"name": t, "display_name": t, "id": t, "state": "active", "vocabulary_id": Value::Null}))
        .collect();
    let mut extras = vec![
        json!({"key": "record_count", "value": e.records.to_string()}),
        json!({"key": "downloads", "value": e.downloads().to_string()}),
        json!({"key": "title_en", "value": d.title_en()}),
        json!({"key": "notes_en", "value": description(d, Lang::En)}),
    ];
    if let Some(b) = e.bbox {
        extras.insert(0, json!({"key": "spatial", "value": bbox_geojson(b)}));
    }
    if let Some((ja, _)) = standard(d) {
        extras.push(json!({"key": "conforms_to", "value": ja}));
    }
    let resources: Vec<Value> = e
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| resource_dict(cat, e, r, i))
        .collect();
    json!({
        "id": d.as_str(),
        "name": d.as_str(),
        "title": d.title_ja(),
        "title_translated": {"ja": d.title_ja(), "en": d.title_en()},
        "notes": description(d, Lang::Ja),
        "notes_translated": {"ja": description(d, Lang::Ja), "en": description(d, Lang::En)},
        "type": "dataset",
        "state": "active",
        "private": false,
        "isopen": cat.license.open,
        "license_id": cat.license.id,
        "license_title": cat.license.title_en,
        "license_url": cat.license.url,
        "author": cat.publisher,
        "author_email": Value::Null,
        "maintainer": cat.publisher,
        "maintainer_email": Value::Null,
        "url": format!("{}/catalog#{d}", cat.base),
        "version": e.version.to_string(),
        "metadata_created": ckan_time(&e.created),
        "metadata_modified": ckan_time(&e.modified),
        "owner_org": cat.org_name(),
        "organization": organization(cat, false),
        "tags": tag_list,
        "num_tags": tags(d).len(),
        "groups": [],
        "relationships_as_object": [],
        "relationships_as_subject": [],
        "extras": extras,
        "num_resources": e.resources.len(),
        "resources": resources,
    })
}

/// `license_list`: the one licence of the data.
pub fn license_dict(l: &License) -> Value {
    json!({
        "id": l.id,
        "title": l.title_en,
        "url": l.url.clone().unwrap_or_default(),
        "od_conformance": if l.open { "approved" } else { "not reviewed" },
        "osd_conformance": "not reviewed",
        "status": "active",
        "domain_content": false,
        "domain_data": true,
        "domain_software": false,
        "is_generic": false,
        "family": "",
        "maintainer": "",
    })
}
// ---------------------------------------------------------------------------------------------
// CKAN errors and parameters
// ---------------------------------------------------------------------------------------------

/// A CKAN action error, answered in CKAN's envelope.
#[derive(Debug, Clone, PartialEq)]
pub enum CkanError {
    /// 400 with a bare JSON string body, as CKAN answers unknown actions and bad bodies.
    BadRequest(String),
    /// 404 `Not Found Error`.
    NotFound(Option<String>),
    /// 409 `Validation Error` with messages per field.
    Validation(BTreeMap<String, Vec<String>>),
    /// 409 `Search Error`.
    Search(String),
    /// 500 `Internal Server Error` (details are logged).
    Internal(String),
}

impl CkanError {
    pub(crate) fn validation(field: &str, msg: &str) -> CkanError {
        CkanError::Validation(BTreeMap::from([(field.to_string(), vec![msg.to_string()])]))
    }

    /// HTTP status code and body (CKAN's statuses; `http::catalog` sends them).
    pub fn to_status_body(&self, help: &str) -> (u16, Value) {
        let env = |error: Value| json!({"help": help, "success": false, "error": error});
        match self {
            CkanError::BadRequest(m) => (400, json!(format!("Bad request - {m}"))),
            CkanError::NotFound(m) => {
                let message = match m {
                    Some(m) => format!("Not found: {m}"),
                    None => "Not found".into(),
                };
                (
                    404,
                    env(json!({"__type": "Not Found Error", "message": message})),
                )
            }
            CkanError::Validation(fields) => {
                let mut e = Map::new();
                for (k, v) in fields {
                    e.insert(k.clone(), json!(v));
                }
                e.insert("__type".into(), json!("Validation Error"));
                (409, env(Value::Object(e)))
            }
            CkanError::Search(m) => (
                409,
                env(json!({"__type": "Search Error",
                    "message": format!("Search error: ('{}',)", m.replace('\'', "\""))})),
            ),
            CkanError::Internal(m) => {
                tracing::error!("internal error in the CKAN API: {m}");
                (
                    500,
                    env(
                        json!({"__type": "Internal Server Error", "message": "Internal Server Error"}),
                    ),
                )
            }
        }
    }
}

/// Action parameters: from the query string (GET) or the JSON/form body (POST).
pub type Params = Map<String, Value>;

/// An integer parameter as CKAN's `natural_number_validator` reads it: JSON integers, whole
/// floats or digit strings; empty means absent.
pub(crate) fn natural(p: &Params, key: &str) -> Result<Option<u64>, CkanError> {
    let v = match p.get(key) {
        None | Some(Value::Null) => return Ok(None),
        Some(v) => v,
    };
    let n: Option<i64> = match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) if s.trim().is_empty() => return Ok(None),
        Value::String(s) => s.trim().parse::<i64>().ok(),
        Value::Bool(_) | Value::Array(_) | Value::Object(_) | Value::Null => None,
    };
    match n {
        None => Err(CkanError::validation(key, "Invalid integer")),
        Some(n) if n < 0 => Err(CkanError::validation(key, "Must be a natural number")),
        Some(n) => Ok(Some(n as u64)),
    }
}

/// Several integer parameters, all errors reported together as CKAN does.
pub(crate) fn naturals<const N: usize>(
    p: &Params,
    keys: [&str; N],
) -> Result<[Option<u64>; N], CkanError> {
    let mut out = [None; N];
    let mut errs = BTreeMap::new();
    for (i, k) in keys.iter().enumerate() {
        match natural(p, k) {
            Ok(v) => out[i] = v,
            Err(CkanError::Validation(m)) => errs.extend(m),
            Err(e) => return Err(e),
        }
    }
    if errs.is_empty() {
        Ok(out)
    } else {
        Err(CkanError::Validation(errs))
    }
}

pub(crate) fn text_param<'a>(p: &'a Params, key: &str) -> Option<&'a str> {
    match p.get(key) {
        Some(Value::String(s)) => Some(s.as_str()),
        Some(Value::Array(a)) => a.first().and_then(Value::as_str),
        _ => None,
    }
}

/// The words a yes/no parameter takes, as CKAN's `asbool` reads them (and empty, read as
/// absent). Anything else is refused rather than read as "no".
pub const FLAG_WORDS: &[&str] = &[
    "", "true", "false", "True", "False", "yes", "no", "on", "off", "y", "n", "t", "f", "1", "0",
];

fn flag(p: &Params, key: &str) -> Result<bool, CkanError> {
    let word = match p.get(key) {
        None | Some(Value::Null) => return Ok(false),
        Some(Value::Bool(b)) => return Ok(*b),
        Some(Value::Number(n)) if n.as_i64() == Some(1) => return Ok(true),
        Some(Value::Number(n)) if n.as_i64() == Some(0) => return Ok(false),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => "?",
    };
    if !FLAG_WORDS.contains(&word) {
        return Err(CkanError::validation(
            key,
            "Invalid boolean: use true or false",
        ));
    }
    Ok(matches!(
        word.to_ascii_lowercase().as_str(),
        "true" | "yes" | "on" | "y" | "t" | "1"
    ))
}

pub(crate) fn required<'a>(p: &'a Params, key: &str) -> Result<&'a str, CkanError> {
    match text_param(p, key) {
        Some(s) if !s.trim().is_empty() => Ok(s.trim()),
        _ => Err(CkanError::validation(key, "Missing value")),
    }
}

pub(crate) fn page<T: Clone>(items: &[T], offset: u64, limit: Option<u64>) -> Vec<T> {
    let start = usize::try_from(offset).unwrap_or(usize::MAX);
    let n = limit.map_or(usize::MAX, |l| usize::try_from(l).unwrap_or(usize::MAX));
    items.iter().skip(start).take(n).cloned().collect()
}
// ---------------------------------------------------------------------------------------------
// Actions
// ---------------------------------------------------------------------------------------------

/// The actions served, with a one-line help each (`help_show`).
pub const ACTIONS: &[(&str, &str)] = &[
    (
        "package_list",
        "Return the names of the published datasets. :param limit: :param offset:",
    ),
    (
        "package_show",
        "Return one dataset with its resources. :param id: the id or name of the dataset",
    ),
    (
        "package_search",
        "Search datasets. :param q: free text over title, notes and tags :param fq: filter \
         query (tags:, res_format:, organization:, name:, license_id:, metadata_modified:[A TO B]) \
         :param rows: page size, default 10, at most 1000 :param start: offset :param sort: \
         e.g. 'name asc' or 'metadata_modified desc' :param facet.field: JSON list of fields",
    ),
    (
        "current_package_list_with_resources",
        "Return datasets with their resources, most recently modified first. :param limit: \
         default 10 :param offset:",
    ),
    (
        "organization_list",
        "Return the publishing organisation. :param all_fields: dicts instead of names",
    ),
    (
        "organization_show",
        "Return the publishing organisation. :param id: its name or id",
    ),
    ("license_list", "Return the licence of the published data."),
    (
        "status_show",
        "Return the site's title, URL and CKAN API compatibility.",
    ),
    (
        "help_show",
        "Return the help of an action. :param name: the action",
    ),
];

/// The names of [`ACTIONS`], for the API description's enum.
pub const ACTION_NAMES: &[&str] = &[
    "package_list",
    "package_show",
    "package_search",
    "current_package_list_with_resources",
    "organization_list",
    "organization_show",
    "license_list",
    "status_show",
    "help_show",
];

/// Run a CKAN action on the catalog.
pub fn run_action(cat: &Catalog, action: &str, p: &Params) -> Result<Value, CkanError> {
    match action {
        "package_list" => {
            let [limit, offset] = naturals(p, ["limit", "offset"])?;
            let mut names: Vec<Value> = cat
                .entries
                .iter()
                .map(|e| json!(e.dataset.as_str()))
                .collect();
            names.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
            Ok(Value::Array(page(&names, offset.unwrap_or(0), limit)))
        }
        "package_show" => {
            let id = required(p, "id")?;
            cat.entry(id)
                .map(|e| package(cat, e))
                .ok_or(CkanError::NotFound(None))
        }
        "package_search" => {
            let sp = search_params(p)?;
            let (count, page) = search(cat, &sp)?;
            let (facets, search_facets) = if sp.facet_fields.is_empty() {
                (json!({}), json!({}))
            } else {
                let sp_all = SearchParams {
                    rows: MAX_ROWS,
                    start: 0,
                    ..sp.clone()
                };
                let (_, all) = search(cat, &sp_all)?;
                facets(cat, &all, &sp)
            };
            Ok(json!({
                "count": count,
                "sort": sp.sort,
                "facets": facets,
                "search_facets": search_facets,
                "results": page.iter().map(|e| package(cat, e)).collect::<Vec<_>>(),
            }))
        }
        "current_package_list_with_resources" => {
            let [limit, offset, page_no] = naturals(p, ["limit", "offset", "page"])?;
            let limit = limit.unwrap_or(10);
            let offset = match (offset, page_no) {
                (Some(o), _) => o,
                (None, Some(0)) => {
                    return Err(CkanError::validation("page", "Must be a positive integer"))
                }
                (None, Some(pg)) => (pg - 1) * limit,
                (None, None) => 0,
            };
            let mut p2 = Params::new();
            p2.insert("rows".into(), json!(limit));
            p2.insert("start".into(), json!(offset));
            let sp = search_params(&p2)?;
            let (_, page) = search(cat, &sp)?;
            Ok(Value::Array(page.iter().map(|e| package(cat, e)).collect()))
        }
        "organization_list" => {
            let [limit, offset] = naturals(p, ["limit", "offset"])?;
            let all = if flag(p, "all_fields")? {
                vec![organization(cat, true)]
            } else {
                vec![json!(cat.org_name())]
            };
            Ok(Value::Array(page(&all, offset.unwrap_or(0), limit)))
        }
        "organization_show" => {
            let id = required(p, "id")?;
            if id != cat.org_name() {
                return Err(CkanError::NotFound(Some(
                    "Organization was not found.".into(),
                )));
            }
            let mut o = organization(cat, true);
            if flag(p, "include_datasets")? {
                o["packages"] = Value::Array(cat.entries.iter().map(|e| package(cat, e)).collect());
            }
            Ok(o)
        }
        "license_list" => Ok(json!([license_dict(&cat.license)])),
        "status_show" => Ok(json!({
            "site_title": cat.title(Lang::Ja),
            "site_description": format!("{}が公開するオープンデータと地図", cat.publisher),
            "site_url": cat.base,
            "ckan_version": "2.10.0",
            "locale_default": "ja",
            "error_emails_to": Value::Null,
            "extensions": [],
            "machimap_version": env!("CARGO_PKG_VERSION"),
        })),
        "help_show" => {
            let name = required(p, "name")?;
            ACTIONS
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, h)| json!(h))
                .ok_or(CkanError::NotFound(Some(
                    "Action function not found".into(),
                )))
        }
        other => Err(CkanError::BadRequest(format!(
            "Action name not known: {other}"
        ))),
    }
}
