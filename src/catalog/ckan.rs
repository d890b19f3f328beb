//! The CKAN Action API: dictionaries, errors, parameters and the actions.

use super::*;
use schemars::JsonSchema;
use serde::Serialize;

// ---------------------------------------------------------------------------------------------
// CKAN dictionaries
// ---------------------------------------------------------------------------------------------

/// The organisation dictionary (CKAN `organization_show`, `organization_list` with
/// `all_fields`, a package's `organization`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Organization {
    /// The city's slug (`organization_show`'s `id`).
    pub id: String,
    /// The same slug.
    pub name: String,
    /// The publisher's name.
    pub title: String,
    /// The publisher's name.
    pub display_name: String,
    /// `organization`.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["organization"]))]
    pub kind: &'static str,
    /// Always true.
    pub is_organization: bool,
    /// `active`.
    pub state: &'static str,
    /// `approved`.
    pub approval_status: &'static str,
    /// The publisher and its 全国地方公共団体コード.
    pub description: String,
    /// Empty: no logo.
    pub image_url: &'static str,
    /// When the oldest published dataset was created; null with none published.
    pub created: Option<String>,
    /// How many datasets it publishes (not inside a package).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub package_count: Option<usize>,
}

/// `organization_show`'s result: the organisation, with its datasets when asked
/// (`include_datasets`). A type of its own, as a package holds an organisation.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct OrganizationShown {
    /// The organisation.
    #[serde(flatten)]
    pub organization: Organization,
    /// Its datasets, with `include_datasets`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub packages: Option<Vec<Package>>,
}

/// The organisation dictionary, with its package count when `with_count`.
pub fn organization(cat: &Catalog, with_count: bool) -> Organization {
    let name = cat.org_name();
    let created = cat
        .entries
        .iter()
        .map(|e| e.created.as_str())
        .min()
        .map(ckan_time);
    Organization {
        id: name.clone(),
        name,
        title: cat.publisher.clone(),
        display_name: cat.publisher.clone(),
        kind: "organization",
        is_organization: true,
        state: "active",
        approval_status: "approved",
        description: format!(
            "{}（全国地方公共団体コード {}）",
            cat.publisher, cat.city_code
        ),
        image_url: "",
        created,
        package_count: with_count.then_some(cat.entries.len()),
    }
}

/// Spatial extent as GeoJSON Polygon text (ckanext-spatial's `spatial` extra).
pub fn bbox_geojson(b: [f64; 4]) -> String {
    json!({
        "type": "Polygon",
        "coordinates": [[[b[0], b[1]], [b[2], b[1]], [b[2], b[3]], [b[0], b[3]], [b[0], b[1]]]]
    })
    .to_string()
}

/// A CKAN resource dictionary: one download or API of a dataset.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResourceDict {
    /// `{dataset}-{format key}`.
    pub id: String,
    /// The dataset's id.
    pub package_id: &'static str,
    /// Title and format.
    pub name: String,
    /// What it holds (Japanese).
    pub description: &'static str,
    /// Absolute URL.
    pub url: String,
    /// CSV, GeoJSON, Shapefile, …
    pub format: &'static str,
    /// Media type.
    pub mimetype: &'static str,
    /// When the published version was created.
    pub created: String,
    /// When it was published.
    pub last_modified: String,
    /// The same.
    pub metadata_modified: String,
    /// `sha256:<hex>` of the bytes, empty until hashed (APIs: always empty).
    pub hash: String,
    /// Bytes, once hashed.
    pub size: Option<u64>,
    /// Place in the package's list.
    pub position: usize,
    /// `active`.
    pub state: &'static str,
    /// Always null (not an upload).
    pub url_type: Option<&'static str>,
    /// `file` for a download, `api` for a service.
    #[schemars(extend("enum" = ["file", "api"]))]
    pub resource_type: &'static str,
    /// Always false.
    pub datastore_active: bool,
    /// The licence id.
    pub license_id: String,
    /// Times downloaded.
    pub downloads: u64,
}

fn resource_dict(cat: &Catalog, e: &Entry, r: &Resource, position: usize) -> ResourceDict {
    let d = e.dataset;
    ResourceDict {
        id: format!("{d}-{}", r.kind.key()),
        package_id: d.as_str(),
        name: format!("{}（{}）", d.title_ja(), r.kind.format()),
        description: r.kind.description(Lang::Ja),
        url: r.url.clone(),
        format: r.kind.format(),
        mimetype: r.kind.media_type(),
        created: ckan_time(&e.created),
        last_modified: ckan_time(&e.modified),
        metadata_modified: ckan_time(&e.modified),
        hash: r
            .digest
            .as_ref()
            .map_or_else(String::new, |g| format!("sha256:{}", g.sha256)),
        size: r.digest.as_ref().map(|g| g.size),
        position,
        state: "active",
        url_type: None,
        resource_type: if r.kind.is_download() { "file" } else { "api" },
        datastore_active: false,
        license_id: cat.license.id.clone(),
        downloads: r.downloads,
    }
}

/// A CKAN tag.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Tag {
    /// The word.
    pub name: &'static str,
    /// The same word.
    pub display_name: &'static str,
    /// The same word.
    pub id: &'static str,
    /// `active`.
    pub state: &'static str,
    /// Always null (free tags).
    pub vocabulary_id: Option<&'static str>,
}

/// A CKAN extra: a key and its text.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Extra {
    /// `spatial`, `record_count`, `downloads`, `title_en`, `notes_en` or `conforms_to`.
    pub key: &'static str,
    /// The value as text (`spatial`: GeoJSON).
    pub value: String,
}

/// A text in Japanese and English (ckanext-fluent's `*_translated`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Translated {
    /// Japanese.
    pub ja: &'static str,
    /// English.
    pub en: &'static str,
}

/// The CKAN package dictionary of one dataset (`package_show`, and each result of
/// `package_search` and `current_package_list_with_resources`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Package {
    /// The dataset id (`flood`, `shelters`, …).
    pub id: &'static str,
    /// The same id.
    pub name: &'static str,
    /// Title in Japanese.
    pub title: &'static str,
    /// Title in Japanese and English.
    pub title_translated: Translated,
    /// Description in Japanese.
    pub notes: &'static str,
    /// Description in Japanese and English.
    pub notes_translated: Translated,
    /// `dataset`.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["dataset"]))]
    pub kind: &'static str,
    /// `active`.
    pub state: &'static str,
    /// Always false.
    pub private: bool,
    /// Whether the licence is open.
    pub isopen: bool,
    /// Licence id.
    pub license_id: String,
    /// Licence name (English).
    pub license_title: String,
    /// Licence text, when known.
    pub license_url: Option<String>,
    /// The publisher.
    pub author: String,
    /// Always null.
    pub author_email: Option<String>,
    /// The publisher.
    pub maintainer: String,
    /// Always null.
    pub maintainer_email: Option<String>,
    /// The dataset on the catalog page.
    pub url: String,
    /// The published version number, as text.
    pub version: String,
    /// When the published version was created.
    pub metadata_created: String,
    /// When it was published.
    pub metadata_modified: String,
    /// The organisation's name.
    pub owner_org: String,
    /// The organisation.
    pub organization: Organization,
    /// Keywords.
    pub tags: Vec<Tag>,
    /// How many.
    pub num_tags: usize,
    /// Always empty.
    #[schemars(length(max = 0))]
    pub groups: Vec<Value>,
    /// Always empty.
    #[schemars(length(max = 0))]
    pub relationships_as_object: Vec<Value>,
    /// Always empty.
    #[schemars(length(max = 0))]
    pub relationships_as_subject: Vec<Value>,
    /// Extent, counts, English texts and the national standard it follows.
    pub extras: Vec<Extra>,
    /// How many resources.
    pub num_resources: usize,
    /// Downloads and APIs.
    pub resources: Vec<ResourceDict>,
}

/// The CKAN package dictionary of one entry (as `package_show` answers).
pub fn package(cat: &Catalog, e: &Entry) -> Package {
    let d = e.dataset;
    let tag_list: Vec<Tag> = tags(d)
        .iter()
        .map(|t| Tag {
            name: t,
            display_name: t,
            id: t,
            state: "active",
            vocabulary_id: None,
        })
        .collect();
    let extra = |key, value: String| Extra { key, value };
    let mut extras = vec![
        extra("record_count", e.records.to_string()),
        extra("downloads", e.downloads().to_string()),
        extra("title_en", d.title_en().to_string()),
        extra("notes_en", description(d, Lang::En).to_string()),
    ];
    if let Some(b) = e.bbox {
        extras.insert(0, extra("spatial", bbox_geojson(b)));
    }
    if let Some((ja, _)) = standard(d) {
        extras.push(extra("conforms_to", ja.to_string()));
    }
    let resources: Vec<ResourceDict> = e
        .resources
        .iter()
        .enumerate()
        .map(|(i, r)| resource_dict(cat, e, r, i))
        .collect();
    Package {
        id: d.as_str(),
        name: d.as_str(),
        title: d.title_ja(),
        title_translated: Translated {
            ja: d.title_ja(),
            en: d.title_en(),
        },
        notes: description(d, Lang::Ja),
        notes_translated: Translated {
            ja: description(d, Lang::Ja),
            en: description(d, Lang::En),
        },
        kind: "dataset",
        state: "active",
        private: false,
        isopen: cat.license.open,
        license_id: cat.license.id.clone(),
        license_title: cat.license.title_en.clone(),
        license_url: cat.license.url.clone(),
        author: cat.publisher.clone(),
        author_email: None,
        maintainer: cat.publisher.clone(),
        maintainer_email: None,
        url: format!("{}/catalog#{d}", cat.base),
        version: e.version.to_string(),
        metadata_created: ckan_time(&e.created),
        metadata_modified: ckan_time(&e.modified),
        owner_org: cat.org_name(),
        organization: organization(cat, false),
        num_tags: tag_list.len(),
        tags: tag_list,
        groups: Vec::new(),
        relationships_as_object: Vec::new(),
        relationships_as_subject: Vec::new(),
        extras,
        num_resources: e.resources.len(),
        resources,
    }
}

/// A CKAN licence dictionary (`license_list`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LicenseDict {
    /// Licence id.
    pub id: String,
    /// Name (English).
    pub title: String,
    /// Licence text, empty when unknown.
    pub url: String,
    /// `approved` for an open licence, else `not reviewed`.
    pub od_conformance: &'static str,
    /// `not reviewed`.
    pub osd_conformance: &'static str,
    /// `active`.
    pub status: &'static str,
    /// False.
    pub domain_content: bool,
    /// True.
    pub domain_data: bool,
    /// False.
    pub domain_software: bool,
    /// False.
    pub is_generic: bool,
    /// Empty.
    pub family: &'static str,
    /// Empty.
    pub maintainer: &'static str,
}

/// `license_list`: the one licence of the data.
pub fn license_dict(l: &License) -> LicenseDict {
    LicenseDict {
        id: l.id.clone(),
        title: l.title_en.clone(),
        url: l.url.clone().unwrap_or_default(),
        od_conformance: if l.open { "approved" } else { "not reviewed" },
        osd_conformance: "not reviewed",
        status: "active",
        domain_content: false,
        domain_data: true,
        domain_software: false,
        is_generic: false,
        family: "",
        maintainer: "",
    }
}

/// `package_search`'s result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SearchResult {
    /// Datasets matching, over every page.
    pub count: usize,
    /// The sort applied.
    pub sort: String,
    /// Per facet field: value → count (CKAN's old shape).
    #[schemars(with = "Map<String, Value>")]
    pub facets: Value,
    /// Per facet field: its items with counts (CKAN's newer shape).
    #[schemars(with = "Map<String, Value>")]
    pub search_facets: Value,
    /// This page of datasets.
    pub results: Vec<Package>,
}

/// `/api/3`: the version probe CKAN clients (ckanapi, harvesters) send before any action.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ApiVersion {
    /// The action API's version: always 3.
    #[schemars(schema_with = "version_three")]
    pub version: u8,
}

/// The one answer to `/api/3`.
pub const API_VERSION: ApiVersion = ApiVersion { version: 3 };

fn version_three(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({"type": "integer", "enum": [3]})
}

/// `status_show`'s result.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SiteStatus {
    /// The catalog's title.
    pub site_title: String,
    /// What it offers.
    pub site_description: String,
    /// Base URL.
    pub site_url: String,
    /// The CKAN version whose API this follows.
    pub ckan_version: &'static str,
    /// `ja`.
    pub locale_default: &'static str,
    /// Always null.
    pub error_emails_to: Option<String>,
    /// Always empty.
    #[schemars(length(max = 0))]
    pub extensions: Vec<Value>,
    /// This server's version.
    pub machimap_version: &'static str,
}

/// `organization_list`: names, or dictionaries with `all_fields`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum OrganizationListed {
    /// The organisation's name.
    Name(String),
    /// The organisation.
    Dict(Box<Organization>),
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

/// A dictionary as the JSON the actions page and filter. Our own types of strings, numbers
/// and string-keyed maps: serializing them cannot fail.
fn to_json(v: impl Serialize) -> Value {
    serde_json::to_value(v).unwrap_or_default()
}

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
                .map(|e| to_json(package(cat, e)))
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
            Ok(to_json(SearchResult {
                count,
                sort: sp.sort.clone(),
                facets,
                search_facets,
                results: page.iter().map(|e| package(cat, e)).collect(),
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
            Ok(Value::Array(
                page.iter().map(|e| to_json(package(cat, e))).collect(),
            ))
        }
        "organization_list" => {
            let [limit, offset] = naturals(p, ["limit", "offset"])?;
            let all = if flag(p, "all_fields")? {
                vec![to_json(organization(cat, true))]
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
            let packages = flag(p, "include_datasets")?
                .then(|| cat.entries.iter().map(|e| package(cat, e)).collect());
            Ok(to_json(OrganizationShown {
                organization: organization(cat, true),
                packages,
            }))
        }
        "license_list" => Ok(to_json([license_dict(&cat.license)])),
        "status_show" => Ok(to_json(SiteStatus {
            site_title: cat.title(Lang::Ja),
            site_description: format!("{}が公開するオープンデータと地図", cat.publisher),
            site_url: cat.base.clone(),
            ckan_version: "2.10.0",
            locale_default: "ja",
            error_emails_to: None,
            extensions: Vec::new(),
            machimap_version: env!("CARGO_PKG_VERSION"),
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
