//! `package_search`: the Solr-style `q` / `fq` / `sort` query over the catalog, facets.

use super::*;

// ---------------------------------------------------------------------------------------------
// package_search
// ---------------------------------------------------------------------------------------------

/// Largest `rows` (CKAN's `ckan.search.rows_max` default); larger values are capped.
pub const MAX_ROWS: u64 = 1000;

/// One filter term of `fq` (or a fielded term of `q`).
#[derive(Debug, Clone, PartialEq)]
enum Filter {
    /// field equals value (`*` = has any value).
    Eq { field: String, value: String },
    /// field within a range; bounds normalised, `None` = open.
    Range {
        field: String,
        lo: Option<String>,
        hi: Option<String>,
        lo_incl: bool,
        hi_incl: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
struct Clause {
    negate: bool,
    filter: Filter,
}

const FIELDS: &[&str] = &[
    "tags",
    "res_format",
    "organization",
    "owner_org",
    "name",
    "id",
    "license_id",
    "title",
    "notes",
    "text",
    "metadata_modified",
    "metadata_created",
    "dataset_type",
    "type",
    "capacity",
    "state",
    "private",
];

/// Split Solr-ish syntax into tokens: whitespace separates, except inside quotes or brackets.
fn tokens(s: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = false;
    let mut bracket = false;
    for c in s.chars() {
        match c {
            '"' if !bracket => {
                quote = !quote;
                cur.push(c);
            }
            '[' | '{' if !quote => {
                bracket = true;
                cur.push(c);
            }
            ']' | '}' if !quote && bracket => {
                bracket = false;
                cur.push(c);
            }
            c if c.is_whitespace() && !quote && !bracket => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if quote || bracket {
        return Err(format!("unbalanced quote or bracket in {s:?}"));
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    Ok(out)
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    let v = v
        .strip_prefix('"')
        .and_then(|x| x.strip_suffix('"'))
        .unwrap_or(v);
    v.replace("\\:", ":").replace("\\\"", "\"")
}

/// A range bound as `YYYY-MM-DDTHH:MM:SS` (dates) or as given; `None` when open (`*`).
fn bound(b: &str) -> Result<Option<String>, String> {
    let b = unquote(b);
    if b == "*" {
        return Ok(None);
    }
    if let Some(rest) = b.strip_prefix("NOW") {
        let now = now_utc();
        let rest = rest.split('/').next().unwrap_or("");
        if rest.is_empty() {
            return Ok(Some(now));
        }
        let n = rest
            .strip_prefix('-')
            .and_then(|r| r.strip_suffix("DAYS").or_else(|| r.strip_suffix("DAY")))
            .and_then(|r| r.parse::<i64>().ok())
            .ok_or_else(|| format!("unsupported date math {b:?}"))?;
        return minus_days(&now, n)
            .map(Some)
            .ok_or_else(|| format!("bad date {b:?}"));
    }
    match parse_stamp(&b) {
        Some(_) => Ok(Some(ckan_time(&b))),
        None => Err(format!("invalid date {b:?}")),
    }
}

fn clause(tok: &str) -> Result<Option<Clause>, String> {
    let (negate, body) = match tok.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, tok.strip_prefix('+').unwrap_or(tok)),
    };
    if body.eq_ignore_ascii_case("AND") || body.is_empty() {
        return Ok(None);
    }
    if body == "OR" || body == "NOT" || body.starts_with('(') {
        return Err(format!("unsupported query syntax {tok:?}"));
    }
    if body == "*:*" {
        return Ok(None);
    }
    let Some((field, value)) = body.split_once(':') else {
        return Ok(Some(Clause {
            negate,
            filter: Filter::Eq {
                field: "text".into(),
                value: unquote(body),
            },
        }));
    };
    if !FIELDS.contains(&field) {
        return Err(format!("undefined field {field}"));
    }
    let value = value.trim();
    if (value.starts_with('[') || value.starts_with('{'))
        && (value.ends_with(']') || value.ends_with('}'))
    {
        let inner = &value[1..value.len() - 1];
        let parts: Vec<&str> = inner.split(" TO ").collect();
        let [lo, hi] = parts.as_slice() else {
            return Err(format!("bad range {value:?}"));
        };
        return Ok(Some(Clause {
            negate,
            filter: Filter::Range {
                field: field.into(),
                lo: bound(lo)?,
                hi: bound(hi)?,
                lo_incl: value.starts_with('['),
                hi_incl: value.ends_with(']'),
            },
        }));
    }
    Ok(Some(Clause {
        negate,
        filter: Filter::Eq {
            field: field.into(),
            value: unquote(value),
        },
    }))
}

fn clauses(s: &str) -> Result<Vec<Clause>, String> {
    let mut out = Vec::new();
    for t in tokens(s)? {
        if let Some(c) = clause(&t)? {
            out.push(c);
        }
    }
    Ok(out)
}

/// Searchable text of an entry, folded.
fn haystack(e: &Entry) -> (String, String) {
    let d = e.dataset;
    let title = crate::text::search_fold(&format!("{} {} {}", d.title_ja(), d.title_en(), d));
    let mut rest = String::new();
    rest.push_str(description(d, Lang::Ja));
    rest.push_str(description(d, Lang::En));
    for t in tags(d).iter().chain(keywords_en(d)) {
        rest.push_str(t);
        rest.push(' ');
    }
    (title, crate::text::search_fold(&rest))
}

fn field_values(cat: &Catalog, e: &Entry, field: &str) -> Vec<String> {
    let d = e.dataset;
    match field {
        "tags" => tags(d).iter().map(|t| (*t).to_string()).collect(),
        "res_format" => e
            .resources
            .iter()
            .map(|r| r.kind.format().to_string())
            .collect(),
        "organization" | "owner_org" => vec![cat.org_name()],
        "name" | "id" => vec![d.to_string()],
        "license_id" => vec![cat.license.id.clone()],
        "metadata_modified" => vec![ckan_time(&e.modified)],
        "metadata_created" => vec![ckan_time(&e.created)],
        "dataset_type" | "type" => vec!["dataset".into()],
        "capacity" => vec!["public".into()],
        "state" => vec!["active".into()],
        "private" => vec!["false".into()],
        _ => Vec::new(),
    }
}

fn matches(cat: &Catalog, e: &Entry, c: &Clause) -> bool {
    let hit = match &c.filter {
        Filter::Eq { field, value } if matches!(field.as_str(), "text" | "title" | "notes") => {
            let (title, rest) = haystack(e);
            let v = crate::text::search_fold(value);
            match field.as_str() {
                "title" => title.contains(&v),
                "notes" => rest.contains(&v),
                _ => title.contains(&v) || rest.contains(&v),
            }
        }
        Filter::Eq { field, value } => {
            let vals = field_values(cat, e, field);
            (value == "*" && !vals.is_empty()) || vals.iter().any(|x| x.eq_ignore_ascii_case(value))
        }
        Filter::Range {
            field,
            lo,
            hi,
            lo_incl,
            hi_incl,
        } => field_values(cat, e, field).iter().any(|x| {
            let x = x.as_str();
            let above = lo
                .as_deref()
                .is_none_or(|l| if *lo_incl { x >= l } else { x > l });
            let below = hi
                .as_deref()
                .is_none_or(|h| if *hi_incl { x <= h } else { x < h });
            above && below
        }),
    };
    hit != c.negate
}

/// Relevance of an entry for the free-text terms: title hits count more.
pub(crate) fn score(e: &Entry, terms: &[String]) -> usize {
    let (title, rest) = haystack(e);
    terms
        .iter()
        .map(|t| 3 * title.matches(t.as_str()).count() + rest.matches(t.as_str()).count())
        .sum()
}

/// Validated `package_search` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchParams {
    /// Free text (with optional `field:value` terms).
    pub q: String,
    /// Filter query.
    pub fq: String,
    /// Page size (capped at [`MAX_ROWS`]).
    pub rows: u64,
    /// Offset.
    pub start: u64,
    /// Sort, CKAN's default `score desc, metadata_modified desc`.
    pub sort: String,
    /// Fields to count values of.
    pub facet_fields: Vec<String>,
    /// `facet.limit` (default 50; negative = all).
    pub facet_limit: i64,
    /// `facet.mincount` (default 1).
    pub facet_mincount: u64,
}

/// Read and validate `package_search` parameters as CKAN's schema does.
pub fn search_params(p: &Params) -> Result<SearchParams, CkanError> {
    let [rows, start, mincount] = naturals(p, ["rows", "start", "facet.mincount"])?;
    let facet_fields = match p.get("facet.field") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(s)) if s.trim().is_empty() => Vec::new(),
        Some(Value::String(s)) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            Ok(Value::String(one)) => vec![one],
            _ => {
                return Err(CkanError::validation(
                    "facet.field",
                    "Not a list of strings",
                ))
            }
        },
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(String::from))
            .collect(),
        Some(_) => {
            return Err(CkanError::validation(
                "facet.field",
                "Not a list of strings",
            ))
        }
    };
    let facet_limit = match p.get("facet.limit") {
        None | Some(Value::Null) => 50,
        Some(Value::Number(n)) => n
            .as_i64()
            .ok_or_else(|| CkanError::validation("facet.limit", "Invalid integer"))?,
        Some(Value::String(s)) => s
            .trim()
            .parse()
            .map_err(|_| CkanError::validation("facet.limit", "Invalid integer"))?,
        Some(_) => return Err(CkanError::validation("facet.limit", "Invalid integer")),
    };
    Ok(SearchParams {
        q: text_param(p, "q").unwrap_or("").to_string(),
        fq: text_param(p, "fq").unwrap_or("").to_string(),
        rows: rows.unwrap_or(10).min(MAX_ROWS),
        start: start.unwrap_or(0),
        sort: text_param(p, "sort")
            .filter(|s| !s.trim().is_empty())
            .unwrap_or("score desc, metadata_modified desc")
            .to_string(),
        facet_fields,
        facet_limit,
        facet_mincount: mincount.unwrap_or(1),
    })
}

fn sort_key_cmp(a: (&Entry, usize), b: (&Entry, usize), field: &str) -> std::cmp::Ordering {
    match field {
        "score" => a.1.cmp(&b.1),
        "name" | "id" => a.0.dataset.as_str().cmp(b.0.dataset.as_str()),
        "title_string" | "title" => a.0.dataset.title_ja().cmp(b.0.dataset.title_ja()),
        "metadata_modified" => a.0.modified.cmp(&b.0.modified),
        "metadata_created" => a.0.created.cmp(&b.0.created),
        _ => std::cmp::Ordering::Equal,
    }
}

/// Run a search: the total count and the page of matching entries.
pub fn search<'a>(
    cat: &'a Catalog,
    sp: &SearchParams,
) -> Result<(usize, Vec<&'a Entry>), CkanError> {
    let mut filters = clauses(&sp.fq).map_err(CkanError::Search)?;
    let mut terms = Vec::new();
    for c in clauses(&sp.q).map_err(CkanError::Search)? {
        match &c.filter {
            Filter::Eq { field, value } if field == "text" && !c.negate => {
                terms.push(crate::text::search_fold(value));
                filters.push(c);
            }
            _ => filters.push(c),
        }
    }
    let mut order: Vec<(String, bool)> = Vec::new();
    for part in sp.sort.split(',') {
        let mut it = part.split_whitespace();
        let Some(field) = it.next() else { continue };
        let desc = match it.next().map(str::to_ascii_lowercase).as_deref() {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(_) => return Err(CkanError::Search("Invalid \"sort\" parameter".into())),
        };
        if !matches!(
            field,
            "score"
                | "name"
                | "id"
                | "title_string"
                | "title"
                | "metadata_modified"
                | "metadata_created"
        ) {
            return Err(CkanError::Search(format!("Can not sort on field: {field}")));
        }
        order.push((field.to_string(), desc));
    }
    let mut hits: Vec<(&Entry, usize)> = cat
        .entries
        .iter()
        .filter(|e| filters.iter().all(|c| matches(cat, e, c)))
        .map(|e| (e, score(e, &terms)))
        .collect();
    hits.sort_by(|a, b| {
        for (field, desc) in &order {
            let o = sort_key_cmp(*a, *b, field);
            let o = if *desc { o.reverse() } else { o };
            if o != std::cmp::Ordering::Equal {
                return o;
            }
        }
        a.0.dataset.cmp(&b.0.dataset)
    });
    let all: Vec<&Entry> = hits.into_iter().map(|(e, _)| e).collect();
    Ok((all.len(), page(&all, sp.start, Some(sp.rows))))
}

/// Facet counts over `entries` for `package_search`.
pub(crate) fn facets(cat: &Catalog, entries: &[&Entry], sp: &SearchParams) -> (Value, Value) {
    let mut facets = Map::new();
    let mut search_facets = Map::new();
    for f in &sp.facet_fields {
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        for e in entries {
            let mut vals = field_values(cat, e, f);
            vals.sort();
            vals.dedup();
            for v in vals {
                *counts.entry(v).or_default() += 1;
            }
        }
        let mut items: Vec<(String, u64)> = counts
            .into_iter()
            .filter(|(_, n)| *n >= sp.facet_mincount)
            .collect();
        items.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        if sp.facet_limit >= 0 {
            items.truncate(usize::try_from(sp.facet_limit).unwrap_or(usize::MAX));
        }
        let obj: Map<String, Value> = items.iter().map(|(k, n)| (k.clone(), json!(n))).collect();
        facets.insert(f.clone(), Value::Object(obj));
        let list: Vec<Value> = items
            .iter()
            .map(|(k, n)| json!({"name": k, "display_name": k, "count": n}))
            .collect();
        search_facets.insert(f.clone(), json!({"title": f, "items": list}));
    }
    (Value::Object(facets), Value::Object(search_facets))
}
