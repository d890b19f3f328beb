//! The published data in memory: one [`Layer`] per dataset with its current version's features
//! and an R-tree over their bounding boxes. Tiles, OGC API Features, downloads and the risk query
//! all read from a [`Snapshot`]; a publish builds a new layer and swaps it in, so readers never
//! see a half-loaded dataset and never wait on the database.

use crate::dataset::{Column, DatasetId, SqlType, Val};
use crate::store::{Store, StoreError};
use duckdb::types::ValueRef;
use geo::Geometry;
use rstar::primitives::{GeomWithData, Rectangle};
use rstar::{RTree, AABB};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

/// Entry of a layer's R-tree: a feature's bounding box and its index in `features`.
pub type TreeEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// One feature of a published version.
#[derive(Debug, Clone)]
pub struct Feature {
    /// Stable feature id.
    pub fid: i64,
    /// Values of the dataset's columns, in [`DatasetId::columns`] order.
    pub values: Vec<Val>,
    /// Geometry in JGD2011 lon/lat.
    pub geom: Option<Geometry<f64>>,
    /// Bounding box `[minx, miny, maxx, maxy]` (lon/lat).
    pub bbox: Option<[f64; 4]>,
    /// A point inside the feature, for labels.
    pub label: Option<[f64; 2]>,
}

impl Feature {
    /// Value of a column by name.
    pub fn get<'a>(&'a self, columns: &[Column], name: &str) -> Option<&'a Val> {
        columns
            .iter()
            .position(|c| c.name == name)
            .and_then(|i| self.values.get(i))
    }
}

/// The published version of one dataset.
#[derive(Debug)]
pub struct Layer {
    /// Dataset.
    pub dataset: DatasetId,
    /// Published version.
    pub version: i64,
    /// When it was published (UTC, ISO 8601).
    pub published_at: String,
    /// When the version was created.
    pub created_at: String,
    /// Source file names.
    pub source_names: String,
    /// SHA-256 of the sources.
    pub source_sha256: String,
    /// Features in fid order.
    pub features: Vec<Feature>,
    /// R-tree over feature bounding boxes.
    pub tree: RTree<TreeEntry>,
    /// Extent of the layer.
    pub bbox: Option<[f64; 4]>,
}

impl Layer {
    /// A layer of `features` (in fid order) with its R-tree and extent; the version's
    /// metadata (dates, sources) left empty for the caller to fill in.
    pub fn from_features(dataset: DatasetId, version: i64, features: Vec<Feature>) -> Layer {
        let entries: Vec<TreeEntry> = features
            .iter()
            .enumerate()
            .filter_map(|(i, f)| {
                f.bbox.map(|b| {
                    GeomWithData::new(
                        Rectangle::from_corners([b[0], b[1]], [b[2], b[3]]),
                        i as u32,
                    )
                })
            })
            .collect();
        let bbox = features
            .iter()
            .filter_map(|f| f.bbox)
            .reduce(crate::geom::union_bbox);
        Layer {
            dataset,
            version,
            published_at: String::new(),
            created_at: String::new(),
            source_names: String::new(),
            source_sha256: String::new(),
            features,
            tree: RTree::bulk_load(entries),
            bbox,
        }
    }

    /// The dataset's columns.
    pub fn columns(&self) -> &'static [Column] {
        self.dataset.columns()
    }

    /// Indices of features whose bbox intersects `[minx, miny, maxx, maxy]`, in fid order.
    pub fn query_bbox(&self, b: [f64; 4]) -> Vec<u32> {
        let env = AABB::from_corners([b[0], b[1]], [b[2], b[3]]);
        let mut v: Vec<u32> = self
            .tree
            .locate_in_envelope_intersecting(&env)
            .map(|e| e.data)
            .collect();
        v.sort_unstable();
        v
    }

    /// A token that changes with every publish of this dataset (ETags, tile URLs).
    pub fn version_tag(&self) -> String {
        format!("{}-v{}", self.dataset, self.version)
    }

    /// Feature by fid.
    pub fn by_fid(&self, fid: i64) -> Option<&Feature> {
        self.features
            .binary_search_by_key(&fid, |f| f.fid)
            .ok()
            .map(|i| &self.features[i])
    }
}

/// All published layers at one moment.
#[derive(Debug, Default, Clone)]
pub struct Snapshot {
    /// Layers by dataset; a dataset never published is absent.
    pub layers: BTreeMap<DatasetId, Arc<Layer>>,
}

impl Snapshot {
    /// The layer of a dataset, if published.
    pub fn layer(&self, d: DatasetId) -> Option<&Arc<Layer>> {
        self.layers.get(&d)
    }

    /// Load every published layer.
    pub fn load(store: &Store) -> Result<Snapshot, StoreError> {
        let mut s = Snapshot::default();
        for d in DatasetId::ALL {
            if let Some(l) = load_layer(store, d)? {
                s.layers.insert(d, Arc::new(l));
            }
        }
        Ok(s)
    }

    /// A new snapshot reusing the layers whose published version did not change and loading
    /// the others. Returns it with the datasets that changed.
    pub fn refresh(&self, store: &Store) -> Result<(Snapshot, Vec<DatasetId>), StoreError> {
        let mut next = Snapshot::default();
        let mut changed = Vec::new();
        for d in DatasetId::ALL {
            let cur = store.current(d)?;
            match (self.layers.get(&d), cur) {
                (Some(l), Some(v)) if l.version == v => {
                    next.layers.insert(d, l.clone());
                }
                (None, None) => {}
                _ => {
                    changed.push(d);
                    if let Some(l) = load_layer(store, d)? {
                        next.layers.insert(d, Arc::new(l));
                    }
                }
            }
        }
        Ok((next, changed))
    }
}

/// Load the features of any stored version of `d`, in fid order.
///
/// Large versions are read in fid ranges on as many connections as there are cores: turning
/// DuckDB's rows into features (values, WKB) is the cost of a server's start, and it splits
/// evenly.
pub fn load_features(
    store: &Store,
    d: DatasetId,
    version: i64,
) -> Result<Vec<Feature>, StoreError> {
    let (lo, hi, n): (Option<i64>, Option<i64>, i64) = store.conn().query_row(
        &format!("SELECT min(fid), max(fid), count(*) FROM \"{d}\" WHERE version = ?"),
        duckdb::params![version],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let (Some(lo), Some(hi)) = (lo, hi) else {
        return Ok(Vec::new());
    };
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let parts = if n < 50_000 { 1 } else { threads };
    load_parts(store, d, version, lo, hi, n, parts)
}

/// [`load_features`] in `threads` fid ranges between `lo` and `hi`, one connection each.
fn load_parts(
    store: &Store,
    d: DatasetId,
    version: i64,
    lo: i64,
    hi: i64,
    n: i64,
    threads: usize,
) -> Result<Vec<Feature>, StoreError> {
    if threads < 2 {
        return load_range(store.conn(), d, version, lo, hi + 1, n as usize);
    }
    let step = (hi - lo) / threads as i64 + 1;
    let parts: Vec<Result<Vec<Feature>, StoreError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads as i64)
            .map(|t| {
                let conn = store.conn().try_clone();
                s.spawn(move || {
                    let a = lo + t * step;
                    let b = (a + step).min(hi + 1);
                    let conn = conn?;
                    // The first range's vector is the layer's: sized for every feature, so
                    // the others are appended to it without growing it (a large layer's
                    // feature array is 150 MB; doubling and copying it was a third of the
                    // start's peak memory).
                    let cap = if t == 0 {
                        n
                    } else {
                        conn.query_row(
                            &format!(
                                "SELECT count(*) FROM \"{d}\" WHERE version = ? AND fid >= ? AND fid < ?"
                            ),
                            duckdb::params![version, a, b],
                            |r| r.get(0),
                        )?
                    };
                    load_range(&conn, d, version, a, b, cap as usize)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    let mut parts = parts.into_iter();
    let mut out = parts.next().unwrap_or_else(|| Ok(Vec::new()))?;
    for p in parts {
        out.extend(p?);
    }
    Ok(out)
}

/// Fids per query when loading (see [`load_range`]).
const LOAD_SLICE: i64 = 32_768;

/// Features of `d`'s `version` with `from <= fid < to`, in fid order.
fn load_range(
    conn: &duckdb::Connection,
    d: DatasetId,
    version: i64,
    from: i64,
    to: i64,
    capacity: usize,
) -> Result<Vec<Feature>, StoreError> {
    let cols = d.columns();
    let mut select = String::from("SELECT fid");
    for c in cols {
        if c.ty == SqlType::Date {
            select.push_str(&format!(", strftime(\"{}\", '%Y-%m-%d')", c.name));
        } else {
            select.push_str(&format!(", \"{}\"", c.name));
        }
    }
    select.push_str(&format!(
        ", geom, minx, miny, maxx, maxy, label_lon, label_lat FROM \"{d}\" WHERE version = ? AND fid >= ? AND fid < ?"
    ));
    let mut st = conn.prepare(&select)?;
    let n = cols.len();
    let mut out = Vec::with_capacity(capacity);
    // Every distinct text once: a million flood zones share a few river names and bands.
    let mut pool: HashSet<Arc<str>> = HashSet::new();
    // In slices of fids: DuckDB hands over a query's whole result at once, so one query for
    // half a million polygons held all their WKB twice (~800 MB more at a large start).
    let mut a = from;
    while a < to {
        let b = to.min(a.saturating_add(LOAD_SLICE));
        let mut rows = st.query(duckdb::params![version, a, b])?;
        a = b;
        while let Some(r) = rows.next()? {
            let mut values = Vec::with_capacity(n);
            for (i, c) in cols.iter().enumerate() {
                let idx = i + 1;
                values.push(match c.ty {
                    SqlType::Text | SqlType::Date => match r.get_ref(idx)? {
                        ValueRef::Text(b) => {
                            Val::Text(intern(&mut pool, &String::from_utf8_lossy(b)))
                        }
                        _ => Val::Null,
                    },
                    SqlType::Int => r.get::<_, Option<i64>>(idx)?.map_or(Val::Null, Val::Int),
                    SqlType::Float => r.get::<_, Option<f64>>(idx)?.map_or(Val::Null, Val::Float),
                    SqlType::Bool => r.get::<_, Option<bool>>(idx)?.map_or(Val::Null, Val::Bool),
                });
            }
            let geom = match r.get_ref(n + 1)? {
                ValueRef::Blob(b) => crate::geom::from_wkb(b).ok(),
                _ => None,
            };
            let bbox = match r.get::<_, Option<f64>>(n + 2)? {
                Some(x0) => Some([x0, r.get(n + 3)?, r.get(n + 4)?, r.get(n + 5)?]),
                None => None,
            };
            let label = match r.get::<_, Option<f64>>(n + 6)? {
                Some(x) => Some([x, r.get(n + 7)?]),
                None => None,
            };
            out.push(Feature {
                fid: r.get(0)?,
                values,
                geom,
                bbox,
                label,
            });
        }
    }
    // Sorted here rather than by `ORDER BY`: DuckDB's sort copies every WKB blob twice (a
    // third of a large start). The rows come in fid order or nearly: checked first, and the
    // stable sort (a merge of runs) takes what order there is.
    if !out.is_sorted_by_key(|f| f.fid) {
        out.sort_by_key(|f| f.fid);
    }
    Ok(out)
}

fn intern(pool: &mut HashSet<Arc<str>>, s: &str) -> Arc<str> {
    if let Some(a) = pool.get(s) {
        return a.clone();
    }
    let a: Arc<str> = Arc::from(s);
    pool.insert(a.clone());
    a
}

/// Load the published version of `d`, if any.
pub fn load_layer(store: &Store, d: DatasetId) -> Result<Option<Layer>, StoreError> {
    let conn = store.conn();
    let meta = conn.query_row(
        "SELECT c.version, strftime(c.published_at, '%Y-%m-%dT%H:%M:%SZ'),
                strftime(v.created_at, '%Y-%m-%dT%H:%M:%SZ'), v.source_names, v.source_sha256
         FROM current c JOIN versions v ON v.dataset = c.dataset AND v.version = c.version
         WHERE c.dataset = ?",
        duckdb::params![d.as_str()],
        |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        },
    );
    let (version, published_at, created_at, source_names, source_sha256) = match meta {
        Ok(m) => m,
        Err(duckdb::Error::QueryReturnedNoRows) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let features = load_features(store, d, version)?;
    Ok(Some(Layer {
        published_at,
        created_at,
        source_names,
        source_sha256,
        ..Layer::from_features(d, version, features)
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_in_ranges_on_several_connections_equals_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let files = crate::sample::generate(dir.path(), &Default::default()).unwrap();
        let (_, flood) = files.files.iter().find(|(id, _)| id == "flood").unwrap();
        let db = dir.path().join("t.duckdb");
        let mut store = Store::open(&db).unwrap();
        let paths: Vec<_> = flood.iter().map(|f| dir.path().join(f)).collect();
        crate::ingest::ingest(&mut store, DatasetId::Flood, &paths, &Default::default()).unwrap();
        let v = store.current(DatasetId::Flood).unwrap().unwrap();
        let (lo, hi, n): (i64, i64, i64) = store
            .conn()
            .query_row(
                "SELECT min(fid), max(fid), count(*) FROM flood WHERE version = ?",
                duckdb::params![v],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .unwrap();
        assert!(n > 10);
        let one = load_parts(&store, DatasetId::Flood, v, lo, hi, n, 1).unwrap();
        let three = load_parts(&store, DatasetId::Flood, v, lo, hi, n, 3).unwrap();
        assert_eq!(one.len() as i64, n);
        assert_eq!(three.len(), one.len());
        for (a, b) in one.iter().zip(&three) {
            assert_eq!(
                (a.fid, &a.values, &a.geom, a.bbox),
                (b.fid, &b.values, &b.geom, b.bbox)
            );
        }
        assert!(one.windows(2).all(|w| w[0].fid < w[1].fid));
    }
}
