//! OGC CQL2 filters on the in-memory layers (OGC API – Features Part 3), plus the `sortby` and
//! `properties` selections of items pages. No HTTP here: `http::ogc` hands over the parameter
//! texts and gets a [`Filter`] to run on a blocking thread.
//!
//! Parsing is our own (`text`, `json`) rather than the `cql2` crate: that crate turns on
//! serde_json's `preserve_order` for the whole build (every JSON answer would change its key
//! order) and brings jsonschema, sqlparser, geozero and a second geojson; its evaluation works
//! on JSON documents, not on typed rows and an R-tree. The grammar of the classes we declare is
//! small and LL(1), so a recursive-descent parser gives exact positions in every error.
//!
//! Semantics are SQL's three-valued logic: a comparison with NULL is unknown, and a feature is
//! kept only when the whole filter is true (so `flood = false` never matches a shelter whose
//! flood flag is unknown — a value whose meaning is not known is never read as "no").

pub mod ast;
pub mod json;
pub mod text;

use crate::dataset::{Column, SqlType, Val};
use crate::index::{Feature, Layer};
use ast::{Ast, Atom, CmpOp, Operand};
use geo::{BoundingRect, Geometry, Intersects};
use std::cmp::Ordering;

/// Longest filter text accepted (bytes, after URL decoding).
pub const MAX_FILTER_BYTES: usize = 16 * 1024;
/// Deepest nesting of parentheses, NOT and CASEI.
pub const MAX_DEPTH: usize = 32;
/// Most predicates and connectives in one filter (IN list items count one each).
pub const MAX_NODES: usize = 1_000;
/// Most coordinates in the geometry literals of one filter.
pub const MAX_COORDS: usize = 10_000;
/// Most `sortby` keys.
pub const MAX_SORT_KEYS: usize = 8;

/// Name of the geometry queryable of every collection that has geometry.
pub const GEOMETRY: &str = "geometry";

/// Why a filter, sortby or properties value was refused. Each says where and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum FilterError {
    /// The text does not parse.
    #[error("filter: at {at}: found {found}; expected {expected}")]
    Syntax {
        /// `character N` or `JSON /pointer`.
        at: String,
        /// The token or value found there.
        found: String,
        /// What would have been accepted.
        expected: String,
    },
    /// A name that is not a queryable of the collection.
    #[error("filter: at {at}: unknown property {name:?}; the queryables of this collection are: {known}")]
    UnknownProperty {
        /// Where.
        at: String,
        /// The name.
        name: String,
        /// The queryables, comma-separated.
        known: String,
    },
    /// Operands of types that cannot be compared.
    #[error("filter: at {at}: {message}")]
    Type {
        /// Where.
        at: String,
        /// What did not fit.
        message: String,
    },
    /// A function or operator outside the declared conformance classes.
    #[error("filter: at {at}: {what} is not supported (offered: comparisons, AND/OR/NOT, IS NULL, LIKE, BETWEEN, IN, CASEI, S_INTERSECTS)")]
    Unsupported {
        /// Where.
        at: String,
        /// What.
        what: String,
    },
    /// Past a size limit (text length is refused as too large; nesting and node counts here).
    #[error("filter too complex: {0}")]
    TooComplex(String),
    /// The filter text is longer than [`MAX_FILTER_BYTES`].
    #[error("filter is {0} bytes; at most {MAX_FILTER_BYTES} are accepted")]
    TooLong(usize),
    /// A parameter value that is not one of the offered ones (filter-lang, filter-crs).
    #[error("{0}")]
    Parameter(String),
    /// Evaluation passed its time budget.
    #[error("the filter took too long to evaluate; narrow it (a bbox or S_INTERSECTS helps)")]
    TooSlow,
}

/// The encoding of a filter (`filter-lang`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// `cql2-text` (the default).
    Text,
    /// `cql2-json`.
    Json,
}

impl Lang {
    /// The values `filter-lang` accepts.
    pub const NAMES: &'static [&'static str] = &["cql2-text", "cql2-json"];

    /// From the parameter value.
    pub fn parse(s: &str) -> Result<Lang, FilterError> {
        match s.trim() {
            "cql2-text" => Ok(Lang::Text),
            "cql2-json" => Ok(Lang::Json),
            other => Err(FilterError::Parameter(format!(
                "filter-lang {other:?} is not offered; use cql2-text or cql2-json"
            ))),
        }
    }
}

/// The CRS of the coordinates in a filter's geometry literals (`filter-crs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FilterCrs {
    /// EPSG code (4326 for CRS84).
    pub epsg: u32,
    /// True when the first coordinate is latitude or northing (EPSG 4326 and 6668, and the
    /// plane rectangular zones 6669–6687, as EPSG orders their axes and as `crs=` answers).
    pub lat_first: bool,
}

/// The CRS URIs `filter-crs` accepts (besides the same codes as `EPSG:n` or URNs).
pub const FILTER_CRS_DOC: &str =
    "http://www.opengis.net/def/crs/OGC/1.3/CRS84 (default, lon/lat), \
    http://www.opengis.net/def/crs/EPSG/0/4326 and …/6668 (lat/lon, as EPSG orders them), …/3857, \
    and the JGD2011 plane rectangular zones …/6669 to …/6687 (northing, easting, as EPSG orders them)";

impl FilterCrs {
    /// CRS84: longitude, latitude.
    pub const CRS84: FilterCrs = FilterCrs {
        epsg: 4326,
        lat_first: false,
    };

    /// From the parameter value.
    pub fn parse(s: &str) -> Result<FilterCrs, FilterError> {
        let t = s.trim();
        let refused = || {
            FilterError::Parameter(format!(
                "filter-crs {t:?} is not offered; use one of {FILTER_CRS_DOC}"
            ))
        };
        if t.to_ascii_uppercase().ends_with("CRS84") {
            return Ok(FilterCrs::CRS84);
        }
        let crs = crate::crs::parse_crs_ref(t).map_err(|_| refused())?;
        match crs.epsg {
            4326 | 6668 | 6669..=6687 => Ok(FilterCrs {
                epsg: crs.epsg,
                lat_first: true,
            }),
            3857 => Ok(FilterCrs {
                epsg: crs.epsg,
                lat_first: false,
            }),
            _ => Err(refused()),
        }
    }

    /// Bring a literal to the store's lon/lat.
    fn to_lonlat(self, g: &mut Geometry<f64>, at: &str) -> Result<(), FilterError> {
        if self.lat_first {
            use geo::MapCoordsInPlace;
            g.map_coords_in_place(|c| geo::Coord { x: c.y, y: c.x });
        }
        if self.epsg == 4326 || self.epsg == 6668 {
            use geo::CoordsIter;
            // A position outside lon −180…180, lat −90…90 is an error, not an empty result.
            if let Some(c) = g
                .coords_iter()
                .find(|c| !(-180.0..=180.0).contains(&c.x) || !(-90.0..=90.0).contains(&c.y))
            {
                return Err(FilterError::Type {
                    at: at.into(),
                    message: format!(
                        "position ({}, {}) is outside lon −180…180, lat −90…90{}",
                        c.x,
                        c.y,
                        if self.lat_first {
                            " (this filter-crs is lat/lon)"
                        } else {
                            " (CRS84 is lon/lat)"
                        }
                    ),
                });
            }
            return Ok(());
        }
        let crs = crate::crs::Crs::from_epsg(self.epsg)
            .map_err(|e| FilterError::Parameter(e.to_string()))?;
        let t =
            crate::crs::Transformer::new(crs).map_err(|e| FilterError::Parameter(e.to_string()))?;
        t.geometry(g).map_err(|e| FilterError::Type {
            at: at.into(),
            message: format!(
                "the geometry cannot be brought from EPSG:{}: {e}",
                self.epsg
            ),
        })
    }
}

/// What a collection offers to filter on: its columns (in value order) and whether features
/// have a geometry (then `geometry` is a queryable too).
#[derive(Debug, Clone, Copy)]
pub struct Queryables<'a> {
    /// Columns, in the order of `Feature::values`.
    pub columns: &'a [Column],
    /// True when `geometry` is queryable.
    pub geometry: bool,
}

impl Queryables<'_> {
    fn known(&self) -> String {
        let mut v: Vec<&str> = self.columns.iter().map(|c| c.name).collect();
        if self.geometry {
            v.push(GEOMETRY);
        }
        v.join(", ")
    }

    fn column(&self, name: &str, at: &str) -> Result<usize, FilterError> {
        self.columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| FilterError::UnknownProperty {
                at: at.into(),
                name: name.into(),
                known: self.known(),
            })
    }
}

/// Parse and check a filter against a collection's queryables, with literals brought from
/// `crs` to lon/lat. The result is ready to run on any feature of that collection.
pub fn compile(
    text: &str,
    lang: Lang,
    crs: FilterCrs,
    q: Queryables<'_>,
) -> Result<Filter, FilterError> {
    if text.len() > MAX_FILTER_BYTES {
        return Err(FilterError::TooLong(text.len()));
    }
    let ast = match lang {
        Lang::Text => text::parse(text)?,
        Lang::Json => json::parse(text)?,
    };
    let n = ast.size();
    if n > MAX_NODES {
        return Err(FilterError::TooComplex(format!(
            "{n} predicates and connectives; at most {MAX_NODES}"
        )));
    }
    let mut b = Binder { q, crs, coords: 0 };
    let root = b.node(ast)?;
    let envelope = root.envelope();
    Ok(Filter { root, envelope })
}

/// A compiled filter.
#[derive(Debug)]
pub struct Filter {
    root: Node,
    envelope: Option<[f64; 4]>,
}

impl Filter {
    /// True when the feature passes (the filter is TRUE for it, not FALSE nor unknown).
    pub fn matches(&self, f: &Feature) -> bool {
        self.root.eval(f) == Some(true)
    }

    /// A lon/lat box every passing feature's bbox intersects, when the filter implies one
    /// (S_INTERSECTS with a literal, ANDed at the top): the R-tree answers it first.
    pub fn envelope(&self) -> Option<[f64; 4]> {
        self.envelope
    }

    /// Indices of the matching features of `l`, in fid order: from the R-tree when the filter
    /// has an envelope, else a scan. `within` restricts to candidate indices (a bbox query).
    pub fn select(&self, l: &Layer, within: Option<&[u32]>) -> Vec<u32> {
        self.select_until(l, within, None).unwrap_or_default()
    }

    /// [`Filter::select`] that gives up once `deadline` has passed (checked every 1024
    /// features), so one costly filter cannot hold a thread for long.
    pub fn select_until(
        &self,
        l: &Layer,
        within: Option<&[u32]>,
        deadline: Option<std::time::Instant>,
    ) -> Result<Vec<u32>, FilterError> {
        let tree;
        let cands: Box<dyn Iterator<Item = u32> + '_> = match (within, self.envelope) {
            (Some(c), _) => Box::new(c.iter().copied()),
            (None, Some(env)) => {
                tree = l.query_bbox(env);
                Box::new(tree.iter().copied())
            }
            (None, None) => Box::new(0..l.features.len() as u32),
        };
        let mut out = Vec::new();
        for (n, i) in cands.enumerate() {
            if n % 1024 == 1023 {
                if let Some(d) = deadline {
                    if std::time::Instant::now() > d {
                        return Err(FilterError::TooSlow);
                    }
                }
            }
            if self.matches(&l.features[i as usize]) {
                out.push(i);
            }
        }
        Ok(out)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    Text,
    Num,
    Bool,
    Date,
    Timestamp,
}

fn ty_name(t: Ty) -> &'static str {
    match t {
        Ty::Text => "a string",
        Ty::Num => "a number",
        Ty::Bool => "a boolean",
        Ty::Date => "a date",
        Ty::Timestamp => "a timestamp",
    }
}

#[derive(Debug, Clone)]
enum Lit {
    Text(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug, Clone)]
enum Src {
    Col(usize),
    Lit(Lit),
}

#[derive(Debug, Clone)]
struct Arg {
    src: Src,
    casei: bool,
}

/// A value during evaluation.
#[derive(Debug, PartialEq, PartialOrd)]
enum V<'a> {
    Text(std::borrow::Cow<'a, str>),
    Num(f64),
    Bool(bool),
}

impl Arg {
    fn value<'a>(&'a self, f: &'a Feature) -> Option<V<'a>> {
        let v = match &self.src {
            Src::Lit(Lit::Text(s)) => V::Text(s.as_str().into()),
            Src::Lit(Lit::Num(n)) => V::Num(*n),
            Src::Lit(Lit::Bool(b)) => V::Bool(*b),
            Src::Col(i) => match f.values.get(*i)? {
                Val::Null => return None,
                Val::Int(n) => V::Num(*n as f64),
                Val::Float(x) => V::Num(*x),
                Val::Bool(b) => V::Bool(*b),
                Val::Text(s) => V::Text((&**s).into()),
            },
        };
        Some(match v {
            V::Text(s) if self.casei => V::Text(s.to_lowercase().into()),
            other => other,
        })
    }
}

#[derive(Debug)]
enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Const(bool),
    Cmp(CmpOp, Arg, Arg),
    Like(Arg, Vec<LikeTok>, bool),
    Between(Arg, Arg, Arg, bool),
    In(Arg, Vec<Arg>, bool),
    IsNull(Arg, bool),
    /// The feature's geometry intersects this literal (lon/lat) with this bbox.
    Intersects(Box<Geometry<f64>>, [f64; 4]),
    /// The feature has a geometry (S_INTERSECTS(geometry, geometry)).
    HasGeometry,
}

fn kleene_not(v: Option<bool>) -> Option<bool> {
    v.map(|b| !b)
}

fn cmp(op: CmpOp, o: Ordering) -> bool {
    match op {
        CmpOp::Eq => o == Ordering::Equal,
        CmpOp::Ne => o != Ordering::Equal,
        CmpOp::Lt => o == Ordering::Less,
        CmpOp::Le => o != Ordering::Greater,
        CmpOp::Gt => o == Ordering::Greater,
        CmpOp::Ge => o != Ordering::Less,
    }
}

fn order(a: &V<'_>, b: &V<'_>) -> Option<Ordering> {
    a.partial_cmp(b)
}

impl Node {
    fn eval(&self, f: &Feature) -> Option<bool> {
        match self {
            Node::And(v) => {
                let mut unknown = false;
                for n in v {
                    match n.eval(f) {
                        Some(false) => return Some(false),
                        None => unknown = true,
                        Some(true) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(true)
                }
            }
            Node::Or(v) => {
                let mut unknown = false;
                for n in v {
                    match n.eval(f) {
                        Some(true) => return Some(true),
                        None => unknown = true,
                        Some(false) => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(false)
                }
            }
            Node::Not(n) => kleene_not(n.eval(f)),
            Node::Const(b) => Some(*b),
            Node::Cmp(op, a, b) => {
                let (a, b) = (a.value(f)?, b.value(f)?);
                Some(cmp(*op, order(&a, &b)?))
            }
            Node::Like(a, pat, neg) => match a.value(f)? {
                V::Text(s) => Some(like(&s, pat) != *neg),
                _ => None,
            },
            Node::Between(a, lo, hi, neg) => {
                let (a, lo, hi) = (a.value(f)?, lo.value(f)?, hi.value(f)?);
                let inside =
                    order(&a, &lo)? != Ordering::Less && order(&a, &hi)? != Ordering::Greater;
                Some(inside != *neg)
            }
            Node::In(a, list, neg) => {
                let a = a.value(f)?;
                let mut unknown = false;
                for x in list {
                    match x.value(f) {
                        Some(x) if order(&a, &x) == Some(Ordering::Equal) => return Some(!*neg),
                        None => unknown = true,
                        _ => {}
                    }
                }
                if unknown {
                    None
                } else {
                    Some(*neg)
                }
            }
            Node::IsNull(a, neg) => Some(a.value(f).is_none() != *neg),
            Node::Intersects(g, b) => {
                let (Some(fb), Some(fg)) = (f.bbox, f.geom.as_ref()) else {
                    return None;
                };
                if fb[0] > b[2] || fb[2] < b[0] || fb[1] > b[3] || fb[3] < b[1] {
                    return Some(false);
                }
                Some(fg.intersects(&**g))
            }
            Node::HasGeometry => Some(f.geom.is_some()),
        }
    }

    /// See [`Filter::envelope`].
    fn envelope(&self) -> Option<[f64; 4]> {
        match self {
            Node::Intersects(_, b) => Some(*b),
            Node::And(v) => v.iter().filter_map(Node::envelope).reduce(|a, b| {
                [
                    a[0].max(b[0]),
                    a[1].max(b[1]),
                    a[2].min(b[2]),
                    a[3].min(b[3]),
                ]
            }),
            Node::Or(v) => v
                .iter()
                .map(Node::envelope)
                .collect::<Option<Vec<_>>>()?
                .into_iter()
                .reduce(crate::geom::union_bbox),
            _ => None,
        }
        .map(|b| {
            // An empty intersection stays a (degenerate) box that matches nothing.
            if b[0] > b[2] || b[1] > b[3] {
                [b[0], b[1], b[0], b[1]]
            } else {
                b
            }
        })
    }
}

/// One element of a LIKE pattern.
#[derive(Debug, Clone, PartialEq)]
enum LikeTok {
    Char(char),
    /// `_`
    One,
    /// `%`
    Any,
}

fn like_pattern(p: &str, lower: bool) -> Vec<LikeTok> {
    let mut out = Vec::new();
    let mut it = p.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => {
                if let Some(n) = it.next() {
                    out.push(LikeTok::Char(n));
                }
            }
            '%' => {
                if out.last() != Some(&LikeTok::Any) {
                    out.push(LikeTok::Any)
                }
            }
            '_' => out.push(LikeTok::One),
            c if lower => out.extend(c.to_lowercase().map(LikeTok::Char)),
            c => out.push(LikeTok::Char(c)),
        }
    }
    out
}

/// Wildcard match with one backtrack point per `%` (linear for the usual patterns, at worst
/// text × pattern, both bounded).
fn like(s: &str, p: &[LikeTok]) -> bool {
    let t: Vec<char> = s.chars().collect();
    let (mut i, mut j) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while i < t.len() {
        match p.get(j) {
            Some(LikeTok::Any) => {
                star = Some((j, i));
                j += 1;
            }
            Some(LikeTok::One) => {
                i += 1;
                j += 1;
            }
            Some(LikeTok::Char(c)) if *c == t[i] => {
                i += 1;
                j += 1;
            }
            _ => match star {
                Some((sj, si)) => {
                    j = sj + 1;
                    i = si + 1;
                    star = Some((sj, si + 1));
                }
                None => return false,
            },
        }
    }
    p[j..].iter().all(|x| *x == LikeTok::Any)
}

struct Binder<'a> {
    q: Queryables<'a>,
    crs: FilterCrs,
    coords: usize,
}

/// A bound operand with its type.
enum Bound {
    Scalar(Arg, Ty, String),
    Geometry(Option<Box<Geometry<f64>>>, String),
}

impl Binder<'_> {
    fn node(&mut self, a: Ast) -> Result<Node, FilterError> {
        Ok(match a {
            Ast::And(v) => Node::And(
                v.into_iter()
                    .map(|x| self.node(x))
                    .collect::<Result<_, _>>()?,
            ),
            Ast::Or(v) => Node::Or(
                v.into_iter()
                    .map(|x| self.node(x))
                    .collect::<Result<_, _>>()?,
            ),
            Ast::Not(x) => Node::Not(Box::new(self.node(*x)?)),
            Ast::Bool(b) => Node::Const(b),
            Ast::Cmp(op, a, b) => {
                let (a, ta, _) = self.scalar(a)?;
                let (b, tb, at) = self.scalar(b)?;
                same(ta, tb, &at)?;
                Node::Cmp(op, a, b)
            }
            Ast::Like(a, p, neg) => {
                let (a, ta, at) = self.scalar(a)?;
                if ta != Ty::Text {
                    return Err(FilterError::Type {
                        at,
                        message: format!("LIKE needs a string operand, got {}", ty_name(ta)),
                    });
                }
                let (p, tp, at) = self.scalar(p)?;
                match p.src {
                    Src::Lit(Lit::Text(s)) if tp == Ty::Text => {
                        Node::Like(a, like_pattern(&s, p.casei), neg)
                    }
                    _ => {
                        return Err(FilterError::Type {
                            at,
                            message: "the LIKE pattern must be a string literal (or CASEI of one)"
                                .into(),
                        })
                    }
                }
            }
            Ast::Between(a, lo, hi, neg) => {
                let (a, ta, _) = self.scalar(a)?;
                let (lo, tl, at_l) = self.scalar(lo)?;
                let (hi, th, at_h) = self.scalar(hi)?;
                if ta != Ty::Num {
                    return Err(FilterError::Type {
                        at: at_l,
                        message: format!("BETWEEN compares numbers, got {}", ty_name(ta)),
                    });
                }
                same(ta, tl, &at_l)?;
                same(ta, th, &at_h)?;
                Node::Between(a, lo, hi, neg)
            }
            Ast::In(a, list, neg) => {
                let (a, ta, _) = self.scalar(a)?;
                let mut v = Vec::with_capacity(list.len());
                for x in list {
                    let (x, tx, at) = self.scalar(x)?;
                    same(ta, tx, &at)?;
                    v.push(x);
                }
                Node::In(a, v, neg)
            }
            Ast::IsNull(a, neg) => match self.operand(a)? {
                Bound::Scalar(a, _, _) => Node::IsNull(a, neg),
                Bound::Geometry(None, _) => {
                    if neg {
                        Node::HasGeometry
                    } else {
                        Node::Not(Box::new(Node::HasGeometry))
                    }
                }
                Bound::Geometry(Some(_), _) => Node::Const(neg),
            },
            Ast::Intersects(a, b) => {
                let ga = self.geometry(a)?;
                let gb = self.geometry(b)?;
                match (ga, gb) {
                    (None, None) => Node::HasGeometry,
                    (Some(g), None) | (None, Some(g)) => {
                        let b = g
                            .bounding_rect()
                            .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
                            .unwrap_or([f64::NAN; 4]);
                        Node::Intersects(g, b)
                    }
                    (Some(x), Some(y)) => Node::Const(x.intersects(&*y)),
                }
            }
        })
    }

    fn operand(&mut self, o: Operand) -> Result<Bound, FilterError> {
        let at = o.at.clone();
        Ok(match o.atom {
            Atom::Prop(name) if name == GEOMETRY && self.q.geometry => Bound::Geometry(None, at),
            Atom::Prop(name) => {
                let i = self.q.column(&name, &at)?;
                let ty = match self.q.columns[i].ty {
                    SqlType::Text => Ty::Text,
                    SqlType::Int | SqlType::Float => Ty::Num,
                    SqlType::Bool => Ty::Bool,
                    SqlType::Date => Ty::Date,
                };
                Bound::Scalar(
                    Arg {
                        src: Src::Col(i),
                        casei: false,
                    },
                    ty,
                    at,
                )
            }
            Atom::Str(s) => Bound::Scalar(lit(Lit::Text(s)), Ty::Text, at),
            Atom::Num(n) => Bound::Scalar(lit(Lit::Num(n)), Ty::Num, at),
            Atom::Bool(b) => Bound::Scalar(lit(Lit::Bool(b)), Ty::Bool, at),
            Atom::Date(d) => {
                if !valid_date(&d) {
                    return Err(FilterError::Type {
                        at,
                        message: format!("DATE({d:?}) is not a date YYYY-MM-DD"),
                    });
                }
                Bound::Scalar(lit(Lit::Text(d)), Ty::Date, at)
            }
            Atom::Timestamp(t) => Bound::Scalar(lit(Lit::Text(t)), Ty::Timestamp, at),
            Atom::Casei(inner) => match self.operand(*inner)? {
                Bound::Scalar(mut a, Ty::Text, at) => {
                    a.casei = true;
                    // A literal is lowered once here (a LIKE pattern keeps its escapes: `\` and
                    // the wildcards have no case).
                    let lowered = match &a.src {
                        Src::Lit(Lit::Text(s)) => Some(s.to_lowercase()),
                        _ => None,
                    };
                    if let Some(l) = lowered {
                        a.src = Src::Lit(Lit::Text(l));
                    }
                    Bound::Scalar(a, Ty::Text, at)
                }
                Bound::Scalar(_, t, at) => {
                    return Err(FilterError::Type {
                        at,
                        message: format!("CASEI takes a string, got {}", ty_name(t)),
                    })
                }
                Bound::Geometry(_, at) => {
                    return Err(FilterError::Type {
                        at,
                        message: "CASEI takes a string, got a geometry".into(),
                    })
                }
            },
            Atom::Geom(mut g) => {
                use geo::CoordsIter;
                self.coords += g.coords_count();
                if self.coords > MAX_COORDS {
                    return Err(FilterError::TooComplex(format!(
                        "more than {MAX_COORDS} coordinates in geometry literals (at {at})"
                    )));
                }
                self.crs.to_lonlat(&mut g, &at)?;
                Bound::Geometry(Some(Box::new(g)), at)
            }
        })
    }

    fn scalar(&mut self, o: Operand) -> Result<(Arg, Ty, String), FilterError> {
        match self.operand(o)? {
            Bound::Scalar(a, t, at) => Ok((a, t, at)),
            Bound::Geometry(_, at) => Err(FilterError::Type {
                at,
                message: "a geometry can only be an argument of S_INTERSECTS or IS NULL".into(),
            }),
        }
    }

    fn geometry(&mut self, o: Operand) -> Result<Option<Box<Geometry<f64>>>, FilterError> {
        match self.operand(o)? {
            Bound::Geometry(g, _) => Ok(g),
            Bound::Scalar(_, t, at) => Err(FilterError::Type {
                at,
                message: format!(
                    "S_INTERSECTS takes geometries (the geometry property or a literal), got {}",
                    ty_name(t)
                ),
            }),
        }
    }
}

fn lit(l: Lit) -> Arg {
    Arg {
        src: Src::Lit(l),
        casei: false,
    }
}

fn same(a: Ty, b: Ty, at: &str) -> Result<(), FilterError> {
    if a == b {
        Ok(())
    } else {
        Err(FilterError::Type {
            at: at.into(),
            message: format!(
                "cannot compare {} with {}{}",
                ty_name(a),
                ty_name(b),
                if a == Ty::Date || b == Ty::Date {
                    " (write dates as DATE('YYYY-MM-DD'))"
                } else {
                    ""
                }
            ),
        })
    }
}

fn valid_date(d: &str) -> bool {
    let b = d.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
        && (1..=12).contains(&d[5..7].parse::<u32>().unwrap_or(0))
        && (1..=31).contains(&d[8..10].parse::<u32>().unwrap_or(0))
}

/// One `sortby` key: a column index and descending or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SortKey {
    /// Index into the collection's columns.
    pub column: usize,
    /// `-name`.
    pub descending: bool,
}

/// Parse `sortby` (`+a,-b,c`; a `+` may arrive decoded as a space).
pub fn parse_sortby(s: &str, q: Queryables<'_>) -> Result<Vec<SortKey>, FilterError> {
    let mut keys = Vec::new();
    for (n, part) in s.split(',').enumerate() {
        let p = part.trim();
        let (descending, name) = match p.strip_prefix('-') {
            Some(rest) => (true, rest.trim()),
            None => (false, p.strip_prefix('+').unwrap_or(p).trim()),
        };
        if name.is_empty() {
            return Err(FilterError::Parameter(format!(
                "sortby: key {} is empty; expected [+|-]property, comma-separated",
                n + 1
            )));
        }
        let column = q
            .columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| {
                FilterError::Parameter(format!(
                    "sortby: unknown property {name:?}; sortable properties are: {}",
                    q.columns
                        .iter()
                        .map(|c| c.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        keys.push(SortKey { column, descending });
    }
    if keys.len() > MAX_SORT_KEYS {
        return Err(FilterError::Parameter(format!(
            "sortby: {} keys; at most {MAX_SORT_KEYS}",
            keys.len()
        )));
    }
    Ok(keys)
}

fn val_order(a: &Val, b: &Val) -> Ordering {
    match (a, b) {
        // NULLs last whatever the direction (applied before reversing: see `sort`).
        (Val::Null, Val::Null) => Ordering::Equal,
        (Val::Int(x), Val::Int(y)) => x.cmp(y),
        (Val::Int(x), Val::Float(y)) => (*x as f64).total_cmp(y),
        (Val::Float(x), Val::Int(y)) => x.total_cmp(&(*y as f64)),
        (Val::Float(x), Val::Float(y)) => x.total_cmp(y),
        (Val::Text(x), Val::Text(y)) => x.cmp(y),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(y),
        _ => Ordering::Equal,
    }
}

/// Sort feature indices (given in fid order) by `keys`; stable, so ties stay in fid order.
/// NULLs sort last in both directions.
pub fn sort(l: &Layer, idx: &mut [u32], keys: &[SortKey]) {
    idx.sort_by(|&a, &b| {
        let (fa, fb) = (&l.features[a as usize], &l.features[b as usize]);
        for k in keys {
            let va = fa.values.get(k.column).unwrap_or(&Val::Null);
            let vb = fb.values.get(k.column).unwrap_or(&Val::Null);
            let o = match (va, vb) {
                (Val::Null, Val::Null) => Ordering::Equal,
                (Val::Null, _) => Ordering::Greater,
                (_, Val::Null) => Ordering::Less,
                _ if k.descending => val_order(vb, va),
                _ => val_order(va, vb),
            };
            if o != Ordering::Equal {
                return o;
            }
        }
        Ordering::Equal
    });
}

/// Parse `properties` (comma-separated names) into column indices, in the order asked.
pub fn parse_properties(s: &str, q: Queryables<'_>) -> Result<Vec<usize>, FilterError> {
    let mut out = Vec::new();
    for name in s.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let i = q
            .columns
            .iter()
            .position(|c| c.name == name)
            .ok_or_else(|| {
                FilterError::Parameter(format!(
                    "properties: unknown property {name:?}; the properties are: {}",
                    q.columns
                        .iter()
                        .map(|c| c.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
            })?;
        if !out.contains(&i) {
            out.push(i);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests;
