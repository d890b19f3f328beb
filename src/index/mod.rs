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
use std::collections::BTreeMap;
use std::sync::Arc;

pub mod image;
mod pool;
pub mod tileset;
pub use pool::Pool;

/// Entry of a layer's R-tree: a feature's bounding box and its index in `features`.
pub type TreeEntry = GeomWithData<Rectangle<[f64; 2]>, u32>;

/// One feature of a published version.
#[derive(Debug, Clone)]
pub struct Feature {
    /// Stable feature id.
    pub fid: i64,
    /// Values of the dataset's columns, in [`DatasetId::columns`] order. Shared: a published
    /// layer's rows repeat (a million flood zones have a few hundred distinct rows of river,
    /// scenario and depth band), and loading interns them ([`Pool`]).
    pub values: Arc<[Val]>,
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
    /// Tiles of this version drawn at publish, once found or drawn (`tiles::pyramid::attach`).
    pub tileset: std::sync::OnceLock<tileset::TileSet>,
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
            tileset: Default::default(),
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

    /// What identifies this version in the files beside the database.
    pub fn key(&self) -> image::Key {
        image::Key {
            dataset: self.dataset,
            version: self.version,
            created_at: self.created_at.clone(),
            source_sha256: self.source_sha256.clone(),
        }
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
    /// The coverage staff set per hazard dataset ([`crate::coverage`]); absent = the default.
    pub coverage: BTreeMap<DatasetId, Arc<crate::coverage::Spec>>,
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
        s.coverage = load_coverage(store)?;
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
        next.coverage = load_coverage(store)?;
        Ok((next, changed))
    }
}

fn load_coverage(
    store: &Store,
) -> Result<BTreeMap<DatasetId, Arc<crate::coverage::Spec>>, StoreError> {
    Ok(store
        .coverages()?
        .into_iter()
        .map(|(d, s)| (d, Arc::new(s)))
        .collect())
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
    // One connection per thread (a connection is not shared between threads).
    let conns = (0..threads)
        .map(|_| store.conn().try_clone().map(std::sync::Mutex::new))
        .collect::<Result<Vec<_>, _>>()?;
    concat_parallel(threads, |t| {
        let a = lo + t as i64 * step;
        let b = (a + step).min(hi + 1);
        let conn = conns[t].lock().unwrap_or_else(|e| e.into_inner());
        // The first range's vector is the layer's: sized for every feature, so the others are
        // appended to it without growing it (a large layer's feature array is 150 MB; doubling
        // and copying it was a third of the start's peak memory).
        let cap = if t == 0 {
            n
        } else {
            conn.query_row(
                &format!("SELECT count(*) FROM \"{d}\" WHERE version = ? AND fid >= ? AND fid < ?"),
                duckdb::params![version, a, b],
                |r| r.get(0),
            )?
        };
        load_range(&conn, d, version, a, b, cap as usize)
    })
}

/// `part(0..n)` on `n` threads side by side, the results concatenated in part order (the
/// loaders split a layer into fid ranges or chunk runs; the first part's vector is sized to
/// take the rest).
pub(crate) fn concat_parallel<T: Send, E: Send>(
    n: usize,
    part: impl Fn(usize) -> Result<Vec<T>, E> + Sync,
) -> Result<Vec<T>, E> {
    let parts: Vec<Result<Vec<T>, E>> = std::thread::scope(|s| {
        let part = &part;
        let handles: Vec<_> = (0..n).map(|t| s.spawn(move || part(t))).collect();
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
    // Every distinct text and every distinct row once.
    let mut pool = Pool::default();
    let mut values = Vec::with_capacity(n);
    // In slices of fids: DuckDB hands over a query's whole result at once, so one query for
    // half a million polygons held all their WKB twice (~800 MB more at a large start).
    let mut a = from;
    while a < to {
        let b = to.min(a.saturating_add(LOAD_SLICE));
        let mut rows = st.query(duckdb::params![version, a, b])?;
        a = b;
        while let Some(r) = rows.next()? {
            values.clear();
            for (i, c) in cols.iter().enumerate() {
                let idx = i + 1;
                values.push(match c.ty {
                    SqlType::Text | SqlType::Date => match r.get_ref(idx)? {
                        ValueRef::Text(b) => Val::Text(pool.text(&String::from_utf8_lossy(b))),
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
                values: pool.row(&values),
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

/// The published version of a dataset and its facts.
struct Published {
    version: i64,
    published_at: String,
    created_at: String,
    source_names: String,
    source_sha256: String,
}

impl Published {
    fn key(&self, d: DatasetId) -> image::Key {
        image::Key {
            dataset: d,
            version: self.version,
            created_at: self.created_at.clone(),
            source_sha256: self.source_sha256.clone(),
        }
    }
}

fn published(store: &Store, d: DatasetId) -> Result<Option<Published>, StoreError> {
    let meta = store.conn().query_row(
        "SELECT c.version, strftime(c.published_at, '%Y-%m-%dT%H:%M:%SZ'),
                strftime(v.created_at, '%Y-%m-%dT%H:%M:%SZ'), v.source_names, v.source_sha256
         FROM current c JOIN versions v ON v.dataset = c.dataset AND v.version = c.version
         WHERE c.dataset = ?",
        duckdb::params![d.as_str()],
        |r| {
            Ok(Published {
                version: r.get(0)?,
                published_at: r.get(1)?,
                created_at: r.get(2)?,
                source_names: r.get(3)?,
                source_sha256: r.get(4)?,
            })
        },
    );
    match meta {
        Ok(m) => Ok(Some(m)),
        Err(duckdb::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Load the published version of `d`, if any: from its image ([`image`]) when there is one,
/// else from DuckDB, writing the image for the next time.
pub fn load_layer(store: &Store, d: DatasetId) -> Result<Option<Layer>, StoreError> {
    let Some(m) = published(store, d)? else {
        return Ok(None);
    };
    let key = m.key(d);
    let version = m.version;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let features = match image::read(store.path(), &key, threads) {
        Ok(f) => f,
        Err(e) => {
            if !matches!(&e, image::ImageError::Io(io) if io.kind() == std::io::ErrorKind::NotFound)
            {
                tracing::warn!("{d} v{version}: {e}; loading from the database");
            }
            let f = load_features(store, d, version)?;
            // Best effort: without the image the next start loads from DuckDB again.
            if let Err(e) = image::write(store.path(), &key, &f) {
                tracing::warn!("{d} v{version}: cannot write the layer image: {e}");
            }
            f
        }
    };
    let layer = Layer {
        published_at: m.published_at,
        created_at: m.created_at,
        source_names: m.source_names,
        source_sha256: m.source_sha256,
        ..Layer::from_features(d, version, features)
    };
    Ok(Some(layer))
}

#[cfg(test)]
pub(crate) fn flood_fixture(dir: &std::path::Path) -> Store {
    use std::sync::OnceLock;
    static SRC: OnceLock<(tempfile::TempDir, std::path::PathBuf)> = OnceLock::new();
    let (_, src) = SRC.get_or_init(|| {
        let d = tempfile::tempdir().unwrap();
        let files = machimap_sample::generate(d.path(), &Default::default()).unwrap();
        let (_, flood) = files.files.iter().find(|(id, _)| id == "flood").unwrap();
        let db = d.path().join("src.duckdb");
        let mut store = Store::open(&db).unwrap();
        let paths: Vec<_> = flood.iter().map(|f| d.path().join(f)).collect();
        crate::ingest::ingest(&mut store, DatasetId::Flood, &paths, &Default::default()).unwrap();
        store.conn().execute_batch("CHECKPOINT").unwrap();
        drop(store);
        (d, db)
    });
    let db = dir.join("t.duckdb");
    std::fs::copy(src, &db).unwrap();
    Store::open(&db).unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loading_in_ranges_on_several_connections_equals_one_pass() {
        let dir = tempfile::tempdir().unwrap();
        let store = flood_fixture(dir.path());
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
