//! The route tables: every route of the server written once, next to its handlers, in a
//! [`Route`] that the router, the API description, the staff extractor and the request
//! limiter all read. A module declares `pub const ROUTES: &[Route]`; [`TABLES`] lists them.

use super::limits::Class;
use super::AppState;
use axum::routing::MethodRouter;
use axum::Router;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

/// Where a parameter goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum In {
    /// A `{name}` segment of the path.
    Path,
    /// A query-string parameter.
    Query,
}

/// The values a parameter takes. A handler refuses what lies outside with 400 (404 where
/// the value names something, such as a tile beyond the pyramid) and accepts everything
/// inside: schemathesis checks both directions.
#[derive(Debug, Clone, Copy)]
pub enum Ty {
    /// Any text.
    Str,
    /// Text with at least one character other than a space, at most `max` characters.
    Text {
        /// Most characters.
        max: usize,
    },
    /// A whole number from `min` to `max`.
    Int {
        /// Smallest.
        min: i64,
        /// Largest.
        max: i64,
    },
    /// A decimal number from `min` to `max`.
    Num {
        /// Smallest.
        min: f64,
        /// Largest.
        max: f64,
    },
    /// `true` or `false`.
    Bool,
    /// A whole number ≥ 0, or empty (CKAN reads an empty value as absent).
    Natural,
    /// One of these words.
    OneOf(&'static [&'static str]),
    /// Text matching this regular expression (anchored with `^…$`).
    Pattern(&'static str),
    /// From `min` to `max` numbers joined by commas (OGC `bbox`).
    Numbers {
        /// Fewest.
        min: usize,
        /// Most.
        max: usize,
    },
}

impl Ty {
    /// Whether a whole number lies within an `Int` (any number for other kinds).
    pub fn admits(&self, n: i64) -> bool {
        match *self {
            Ty::Int { min, max } => (min..=max).contains(&n),
            _ => true,
        }
    }

    /// The JSON schema of a value.
    pub fn schema(&self) -> Value {
        match *self {
            Ty::Str => json!({"type": "string"}),
            Ty::Text { max } => {
                json!({"type": "string", "minLength": 1, "maxLength": max, "pattern": "\\S"})
            }
            Ty::Int { min, max } => json!({"type": "integer", "minimum": min, "maximum": max}),
            Ty::Num { min, max } => json!({"type": "number", "minimum": min, "maximum": max}),
            Ty::Bool => json!({"type": "boolean"}),
            Ty::Natural => json!({"anyOf": [{"type": "integer", "minimum": 0},
                {"type": "string", "enum": [""]}]}),
            Ty::OneOf(words) => json!({"type": "string", "enum": words}),
            Ty::Pattern(p) => json!({"type": "string", "pattern": p}),
            Ty::Numbers { min, max } => json!({"type": "array", "items": {"type": "number"},
                "minItems": min, "maxItems": max}),
        }
    }
}

/// One parameter of a documented route.
#[derive(Debug, Clone, Copy)]
pub struct Param {
    /// Name as it appears in the path template or query string.
    pub name: &'static str,
    /// Path or query.
    pub at: In,
    /// Required? (Path parameters always are.)
    pub required: bool,
    /// What values it takes; the document's schema is made from it, so the bounds a handler
    /// checks and the bounds clients read are the same constants.
    pub ty: Ty,
    /// What it means.
    pub doc: &'static str,
    /// A value that makes the route answer on the sample city (used by the route test).
    pub example: &'static str,
}

/// One route, declared once: where the router matches it, what answers it, who may use it,
/// which cap it shares, and what the API description says of it. The router is mounted from
/// these tables ([`mount`]), `/openapi.json` is generated from them, the staff extractor reads
/// access from them and the request limiter its class, so none of these can name a path the
/// others do not know.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    /// HTTP methods in lower case (`get`, `post`) that take the same parameters; `HEAD` comes
    /// with `GET` and `OPTIONS` with every route (CORS), as the router answers them.
    pub methods: &'static [&'static str],
    /// OpenAPI path template, e.g. `/tiles/{ids}/{z}/{x}/{y}.mvt` (for an unlisted route, the
    /// router's pattern).
    pub path: &'static str,
    /// How the router answers it.
    pub serve: Serve,
    /// Who may use it.
    pub access: Access,
    /// The cap it shares with other costly routes ([`Class`]), if any.
    pub class: Option<Class>,
    /// Why the API description leaves it out (an event stream that never ends, a console
    /// page, an alias); `None` for every route the description lists.
    pub unlisted: Option<&'static str>,
    /// Group in the document (`tiles`, `ogc`, `downloads`, `catalog`, `risk`, `ops`).
    pub tag: &'static str,
    /// One line.
    pub summary: &'static str,
    /// Parameters.
    pub params: &'static [Param],
    /// Media types of a successful answer.
    pub produces: &'static [&'static str],
    /// Error statuses this route can answer with (all use the one JSON error shape).
    pub errors: &'static [u16],
    /// What the request carries, for routes that take a body.
    pub body: Option<Body>,
    /// The JSON schema of a successful JSON answer (see `replies`), `None` where the answer is
    /// not JSON or its shape is the data's own (a CSV, a tile, a page).
    pub returns: Option<fn() -> Value>,
}

/// What the fields of a [`Route`] are unless it says otherwise (`..ROUTE`): `GET`, public,
/// no cap, listed.
pub const ROUTE: Route = Route {
    methods: &["get"],
    path: "",
    serve: Serve::Within(""),
    access: Access::Public,
    class: None,
    unlisted: None,
    tag: "",
    summary: "",
    params: &[],
    produces: &[],
    errors: &[],
    body: None,
    returns: None,
};

/// A handler as the router mounts it (a function, so that a route table can be a constant).
pub type Mount = fn() -> MethodRouter<Arc<AppState>>;

/// How the router answers a route.
#[derive(Debug, Clone, Copy)]
pub enum Serve {
    /// Matched at the route's path as written.
    Here(Mount),
    /// Matched at this pattern instead, where the router cannot match the documented template:
    /// a suffix after a parameter (`{y}.mvt`), a rest-of-path wildcard (`{*path}`).
    At(&'static str, Mount),
    /// Answered by the route of the same table mounted at this pattern, whose handler reads
    /// several documented shapes from one segment (`/datasets/{id}.csv` and
    /// `/datasets/{id}.geojson` from `/datasets/{file}`; each CKAN action).
    Within(&'static str),
}

/// Who may use a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone.
    Public,
    /// Any signed-in staff member (editor or admin).
    Editor,
    /// Admins only.
    Admin,
}

impl Route {
    /// The pattern the router matches this route at, `None` for a route answered within
    /// another's.
    pub fn pattern(&self) -> Option<&'static str> {
        match self.serve {
            Serve::Here(_) => Some(self.path),
            Serve::At(p, _) => Some(p),
            Serve::Within(_) => None,
        }
    }

    /// Whether `method` (any case) is one of this route's.
    pub fn takes(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }
}

/// The body a route takes: its media type and the JSON schema of its content, written next to
/// the handler that reads it (a function, as `serde_json` values cannot be constants).
#[derive(Debug, Clone, Copy)]
pub struct Body {
    /// `application/json` or `multipart/form-data`.
    pub media: &'static str,
    /// The schema of the content (for a multipart form, of its fields).
    pub schema: fn() -> Value,
    /// What it is.
    pub doc: &'static str,
    /// Statuses of a successful answer besides 200 (201 when something was created).
    pub success: &'static [u16],
}

/// Shorthand for a path parameter.
pub const fn path_param(name: &'static str, doc: &'static str, example: &'static str) -> Param {
    Param {
        name,
        at: In::Path,
        required: true,
        ty: Ty::Str,
        doc,
        example,
    }
}

/// A path parameter with its values.
pub const fn path_typed(
    name: &'static str,
    ty: Ty,
    doc: &'static str,
    example: &'static str,
) -> Param {
    Param {
        name,
        at: In::Path,
        required: true,
        ty,
        doc,
        example,
    }
}

/// Shorthand for an optional query parameter.
pub const fn query(name: &'static str, ty: Ty, doc: &'static str) -> Param {
    Param {
        name,
        at: In::Query,
        required: false,
        ty,
        doc,
        example: "",
    }
}

/// Every route table of the server, one per interface. The staff routes come last, apart
/// ([`STAFF`]), because the console mounts them under its own security headers.
pub const PUBLIC: &[&[Route]] = &[
    super::ROUTES,
    super::openapi::ROUTES,
    super::tiles::ROUTES,
    super::ogc::ROUTES,
    super::ogc_schema::ROUTES,
    super::ogc_tiles::ROUTES,
    super::datasets::ROUTES,
    super::catalog::ROUTES,
    super::risk::ROUTES,
    super::search::ROUTES,
    super::geocode::ROUTES,
    super::web::ROUTES,
    super::shelter_status::ROUTES,
];

/// The console and the staff API (`/admin`, `/api/admin`).
pub const STAFF: &[Route] = super::admin::ROUTES;

/// Every route, public then staff.
pub fn all() -> impl Iterator<Item = &'static Route> {
    PUBLIC.iter().flat_map(|t| t.iter()).chain(STAFF.iter())
}

/// The router of one table: each route mounted at its pattern (routes answered within
/// another's are not mounted again). Two routes at one pattern with different methods are
/// merged by axum; the same method twice is a programming error that axum refuses at start.
pub fn mount(table: &'static [Route]) -> Router<Arc<AppState>> {
    table.iter().fold(Router::new(), |router, r| match r.serve {
        Serve::Here(m) => router.route(r.path, m()),
        Serve::At(pattern, m) => router.route(pattern, m()),
        Serve::Within(_) => router,
    })
}

/// The routes mounted at each pattern, for lookups by the matched path of a request.
fn by_pattern() -> &'static HashMap<&'static str, Vec<&'static Route>> {
    static INDEX: OnceLock<HashMap<&'static str, Vec<&'static Route>>> = OnceLock::new();
    INDEX.get_or_init(|| {
        let mut m: HashMap<&'static str, Vec<&'static Route>> = HashMap::new();
        for r in all() {
            if let Some(p) = r.pattern() {
                m.entry(p).or_default().push(r);
            }
        }
        m
    })
}

/// Who may use the route matched at `pattern` with `method`: the strictest access for a
/// pattern no table declares (it cannot be reached through the router, but a mistake here
/// must not open anything).
pub fn access(pattern: &str, method: &str) -> Access {
    by_pattern()
        .get(pattern)
        .and_then(|rs| rs.iter().find(|r| r.takes(method)))
        .map_or(Access::Admin, |r| r.access)
}

/// The cap the route matched at `pattern` shares, if any.
pub fn class(pattern: &str) -> Option<Class> {
    by_pattern()
        .get(pattern)
        .and_then(|rs| rs.iter().find_map(|r| r.class))
}

/// The path with every parameter replaced by its example (for tests and docs).
pub fn example_path(r: &Route) -> String {
    let mut p = r.path.to_string();
    for prm in r.params.iter().filter(|p| p.at == In::Path) {
        p = p.replace(&format!("{{{}}}", prm.name), prm.example);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn tables() -> impl Iterator<Item = &'static [Route]> {
        PUBLIC.iter().copied().chain(std::iter::once(STAFF))
    }

    #[test]
    fn a_route_answered_within_another_names_a_route_of_its_table() {
        for t in tables() {
            let mounted: HashSet<&str> = t.iter().filter_map(Route::pattern).collect();
            for r in t {
                if let Serve::Within(p) = r.serve {
                    assert!(mounted.contains(p), "{} within {p}", r.path);
                    assert!(
                        r.unlisted.is_none(),
                        "{}: an alias that says nothing",
                        r.path
                    );
                }
            }
        }
    }

    #[test]
    fn each_method_and_pattern_is_mounted_once() {
        let mut seen = HashSet::new();
        for r in all() {
            if let Some(p) = r.pattern() {
                for m in r.methods {
                    assert!(seen.insert((*m, p)), "{m} {p} mounted twice");
                }
            }
        }
    }

    #[test]
    fn every_route_says_what_it_is() {
        for r in all() {
            assert!(!r.methods.is_empty(), "{}", r.path);
            assert!(r.path.starts_with('/'), "{}", r.path);
            match r.unlisted {
                Some(why) => assert!(!why.trim().is_empty(), "{}", r.path),
                None => {
                    assert!(!r.tag.is_empty() && !r.summary.is_empty(), "{}", r.path);
                    assert!(
                        !r.path.contains("{*"),
                        "{}: a wildcard in a template",
                        r.path
                    );
                }
            }
        }
    }

    #[test]
    fn staff_routes_are_staff_only_and_public_ones_public() {
        for r in STAFF {
            assert!(r.path.starts_with("/admin") || r.path.starts_with("/api/admin"));
        }
        assert!(STAFF.iter().any(|r| r.access == Access::Admin));
        for t in PUBLIC {
            for r in *t {
                assert_eq!(r.access, Access::Public, "{}", r.path);
            }
        }
    }

    #[test]
    fn lookups_by_matched_pattern() {
        assert_eq!(class("/datasets/{file}"), Some(Class::Downloads));
        assert_eq!(
            class("/ogc/collections/{collectionId}/items"),
            Some(Class::Items)
        );
        assert_eq!(class("/api/3/action/{action}"), Some(Class::Catalog));
        assert_eq!(class("/api/shelter-status/events"), Some(Class::Events));
        assert_eq!(class("/tiles/{ids}/{z}/{x}/{file}"), None);
        assert_eq!(access("/admin/login", "POST"), Access::Public);
        assert_eq!(access("/api/admin/audit", "GET"), Access::Admin);
        assert_eq!(access("/admin/datasets/{dataset}", "GET"), Access::Editor);
        assert_eq!(access("/admin/nowhere", "GET"), Access::Admin);
        assert_eq!(access("/admin/login", "DELETE"), Access::Admin);
    }
}
