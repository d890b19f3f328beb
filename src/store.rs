//! The versioned store: one DuckDB file holding every version of every dataset.
//!
//! **Invariant:** a version's rows, its feature-id assignments and its `versions` record are
//! written in one transaction, and publishing is one more transaction that moves the dataset's
//! pointer in `current`. A failed, rejected or killed ingest therefore leaves the published data
//! exactly as it was; DuckDB's write-ahead log discards the uncommitted transaction on reopen.
//! Every version is kept, so rolling back is the same pointer move.

use crate::dataset::{DatasetId, SqlType, Val};
use crate::kinds::{Context, Row};
use crate::report::Report;
use duckdb::types::Value;
use duckdb::{params, Connection, ToSql};
use std::collections::HashMap;
use std::path::Path;

/// Store errors.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// DuckDB failed.
    #[error("database error: {0}")]
    Db(#[from] duckdb::Error),
    /// A version that does not exist.
    #[error("{0} has no version {1}")]
    NoSuchVersion(DatasetId, i64),
    /// The file was written by a newer machimap.
    #[error("the database schema version {0} is newer than this program ({1})")]
    SchemaTooNew(i64, i64),
    /// The disk (or the quota) is full: DuckDB could not write the file, and the transaction
    /// did not commit, so nothing changed.
    #[error("{}", disk_full_message(.0))]
    DiskFull(std::path::PathBuf),
}

impl StoreError {
    /// This error, or [`StoreError::DiskFull`] of `db` when DuckDB's error says the disk or
    /// the quota is full (DuckDB reports it as text only: the system's message is matched).
    pub fn or_disk_full(self, db: &Path) -> StoreError {
        match &self {
            StoreError::Db(e) if says_disk_full(&e.to_string()) => {
                StoreError::DiskFull(db.to_path_buf())
            }
            _ => self,
        }
    }
}

/// Whether an error text is the system's "disk full" or "quota exceeded".
fn says_disk_full(m: &str) -> bool {
    let m = m.to_ascii_lowercase();
    m.contains("no space left on device") || m.contains("disk quota exceeded")
}

/// Whether an I/O error means the disk (or the quota) is full.
pub fn is_disk_full(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded
    ) || says_disk_full(&e.to_string())
}

/// What a clerk (or an operator at the command line) is told when a write found the disk full:
/// which file, that the disk is full, that nothing changed.
pub fn disk_full_message(file: &Path) -> String {
    format!(
        "ディスクの空きがないため {f} に書き込めませんでした。何も変更していません（公開中のデータはそのままです）。空きを作ってからもう一度どうぞ / the disk is full: could not write {f}; nothing was changed (the published data is as it was): free some space and try again",
        f = file.display()
    )
}

/// Result alias.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;

const SCHEMA_VERSION: i64 = 1;

/// Facts about one stored version.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct VersionInfo {
    /// Dataset.
    pub dataset: DatasetId,
    /// Version number, 1-based per dataset.
    pub version: i64,
    /// `staged`, `published` (current), or `superseded`.
    pub status: String,
    /// When it was written (UTC, ISO 8601).
    pub created_at: String,
    /// When it was last published, if ever.
    pub published_at: Option<String>,
    /// Who wrote it (`cli` for the command line).
    pub created_by: String,
    /// Source file names, `;`-separated.
    pub source_names: String,
    /// SHA-256 of the source files (of their hashes, in order, when several).
    pub source_sha256: String,
    /// Rows stored.
    pub row_count: i64,
    /// Warnings in its report.
    pub warnings: i64,
    /// Bounding box of the version's geometry.
    pub bbox: Option<[f64; 4]>,
}

/// What to record about a version being written.
#[derive(Debug, Clone)]
pub struct VersionMeta {
    /// Source file names.
    pub source_names: Vec<String>,
    /// SHA-256 over the sources.
    pub source_sha256: String,
    /// Who writes it.
    pub created_by: String,
}

/// Outcome of [`Store::write_version`].
#[derive(Debug)]
pub enum WriteOutcome {
    /// Stored (and published when asked) as this version.
    Stored {
        /// New version number.
        version: i64,
        /// Rows written.
        rows: i64,
        /// Whether it is now the published version.
        published: bool,
    },
    /// The report has errors: nothing was written.
    Rejected,
}

/// The DuckDB file.
pub struct Store {
    conn: Connection,
    /// The DuckDB file (files that belong to it live beside it: `{db}.layers/`, `{db}.admin/`).
    path: std::path::PathBuf,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Store")
    }
}

/// A row value as DuckDB's, converting ISO date text for DATE columns.
fn to_value(v: Val, ty: SqlType) -> Value {
    match (v, ty) {
        (Val::Null, _) => Value::Null,
        (Val::Text(s), SqlType::Date) => date_days(&s).map_or(Value::Null, Value::Date32),
        (Val::Int(i), _) => Value::BigInt(i),
        (Val::Float(f), _) => Value::Double(f),
        (Val::Text(s), _) => Value::Text(s.to_string()),
        (Val::Bool(b), _) => Value::Boolean(b),
    }
}

/// Rows per batch between the producing thread and the appender.
const PIPE_BATCH: usize = 512;

/// A row made ready for the appender: values converted, geometry as WKB with its bbox and
/// label point.
struct Prepared {
    key: Option<String>,
    values: Vec<Value>,
    wkb: Value,
    bbox: Option<[f64; 4]>,
    label: Option<geo::Coord<f64>>,
    raw: String,
}

impl Prepared {
    fn new(row: Row, cols: &[crate::dataset::Column]) -> Self {
        let (wkb, bbox, label) = match &row.geometry {
            Some(g) => (
                Value::Blob(crate::geom::to_wkb(g)),
                crate::geom::bbox(g),
                crate::geom::label_point(g).map(|p| p.0),
            ),
            None => (Value::Null, None, None),
        };
        Prepared {
            key: row.key,
            values: row
                .values
                .into_iter()
                .zip(cols)
                .map(|(v, c)| to_value(v, c.ty))
                .collect(),
            wkb,
            bbox,
            label,
            raw: row.raw,
        }
    }
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (DuckDB's Date32); None for no valid date.
pub fn date_days(s: &str) -> Option<i32> {
    let d: jiff::civil::Date = s.get(0..10)?.parse().ok()?;
    let epoch = jiff::civil::date(1970, 1, 1);
    Some(d.since((jiff::Unit::Day, epoch)).ok()?.get_days())
}

impl Store {
    /// Open (or create) the store at `path` and make sure its tables exist.
    pub fn open(path: &Path) -> Result<Store> {
        let conn = Connection::open(path).map_err(|e| StoreError::from(e).or_disk_full(path))?;
        let s = Store {
            conn,
            path: path.to_path_buf(),
        };
        s.migrate().map_err(|e| e.or_disk_full(path))?;
        Ok(s)
    }

    /// Open read-only (serving replicas). Fails if the file has never been initialised.
    pub fn open_read_only(path: &Path) -> Result<Store> {
        // Readers stream rows into their own structures (the server's snapshot): DuckDB's
        // buffer pool only needs the blocks of the rows in flight, and without a limit it
        // kept every block it read, doubling a large server's memory at start. The limit is
        // shared by the connections cloned from this one, one loading thread per core, each
        // holding a slice of results: 128 MB plus 64 MB per core (256 MB on two).
        let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
        let cfg = duckdb::Config::default()
            .access_mode(duckdb::AccessMode::ReadOnly)?
            .max_memory(&format!("{}MB", 128 + 64 * threads))?;
        let conn = Connection::open_with_flags(path, cfg)?;
        Ok(Store {
            conn,
            path: path.to_path_buf(),
        })
    }

    /// Open read-only, retrying while another process holds the write lock (an ingest in
    /// progress) for at most `wait`.
    pub fn open_read_only_retrying(path: &Path, wait: std::time::Duration) -> Result<Store> {
        let start = std::time::Instant::now();
        loop {
            match Store::open_read_only(path) {
                Ok(s) => return Ok(s),
                Err(e) if start.elapsed() < wait && is_lock_error(&e) => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Open read-write, retrying while a server holds a read lock for a moment.
    pub fn open_retrying(path: &Path, wait: std::time::Duration) -> Result<Store> {
        let start = std::time::Instant::now();
        loop {
            match Store::open(path) {
                Ok(s) => return Ok(s),
                Err(e) if start.elapsed() < wait && is_lock_error(&e) => {
                    std::thread::sleep(std::time::Duration::from_millis(50));
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The underlying connection, for read queries elsewhere in the crate.
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The DuckDB file this store was opened from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn migrate(&self) -> Result<()> {
        self.conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
             CREATE TABLE IF NOT EXISTS versions (
                dataset VARCHAR NOT NULL, version BIGINT NOT NULL, status VARCHAR NOT NULL,
                created_at TIMESTAMP NOT NULL, published_at TIMESTAMP, created_by VARCHAR NOT NULL,
                source_names VARCHAR NOT NULL, source_sha256 VARCHAR NOT NULL,
                format VARCHAR, encoding VARCHAR, crs VARCHAR, layout VARCHAR,
                records_read BIGINT, row_count BIGINT NOT NULL, errors BIGINT, warnings BIGINT,
                minx DOUBLE, miny DOUBLE, maxx DOUBLE, maxy DOUBLE, report VARCHAR,
                PRIMARY KEY (dataset, version));
             CREATE TABLE IF NOT EXISTS current (
                dataset VARCHAR PRIMARY KEY, version BIGINT NOT NULL, published_at TIMESTAMP NOT NULL);
             CREATE TABLE IF NOT EXISTS publish_log (
                logged_at TIMESTAMP NOT NULL, dataset VARCHAR NOT NULL, version BIGINT NOT NULL,
                previous BIGINT, action VARCHAR NOT NULL, actor VARCHAR NOT NULL);
             CREATE TABLE IF NOT EXISTS mappings (
                dataset VARCHAR NOT NULL, header_key VARCHAR NOT NULL, mapping VARCHAR NOT NULL,
                saved_at TIMESTAMP NOT NULL, saved_by VARCHAR NOT NULL, version BIGINT NOT NULL,
                PRIMARY KEY (dataset, header_key));
             CREATE TABLE IF NOT EXISTS feature_keys (
                dataset VARCHAR NOT NULL, key VARCHAR NOT NULL, fid BIGINT NOT NULL,
                PRIMARY KEY (dataset, key));
             CREATE TABLE IF NOT EXISTS coverage (
                dataset VARCHAR NOT NULL, set_at TIMESTAMP NOT NULL, set_by VARCHAR NOT NULL,
                kind VARCHAR NOT NULL, wards VARCHAR, polygon VARCHAR);",
        )?;
        for d in DatasetId::ALL {
            let cols = table_columns(d);
            self.conn
                .execute_batch(&format!("CREATE TABLE IF NOT EXISTS \"{d}\" ({cols});"))?;
            self.add_new_columns(d)?;
        }
        let v: Option<String> = self
            .conn
            .query_row(
                "SELECT value FROM meta WHERE key = 'schema_version'",
                [],
                |r| r.get(0),
            )
            .ok();
        match v.and_then(|v| v.parse::<i64>().ok()) {
            None => {
                self.conn.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)",
                    params![SCHEMA_VERSION.to_string()],
                )?;
            }
            Some(v) if v > SCHEMA_VERSION => {
                return Err(StoreError::SchemaTooNew(v, SCHEMA_VERSION))
            }
            Some(_) => {}
        }
        Ok(())
    }

    /// A dataset table made by an older build lacks the columns added since (e.g. shelters'
    /// `conditional`): it is rebuilt in one transaction with every old value kept and the new
    /// columns NULL, so the appender's column order (the table's) matches the dataset's again.
    fn add_new_columns(&self, d: DatasetId) -> Result<()> {
        let mut q = self.conn.prepare(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
        )?;
        let have: Vec<String> = q
            .query_map(params![d.as_str()], |r| r.get(0))?
            .collect::<std::result::Result<_, _>>()?;
        let want = table_column_names(d);
        if have == want {
            return Ok(());
        }
        let select = want
            .iter()
            .map(|c| {
                if have.contains(c) {
                    format!("\"{c}\"")
                } else {
                    format!("NULL AS \"{c}\"")
                }
            })
            .collect::<Vec<_>>()
            .join(", ");
        let cols = table_columns(d);
        self.conn.execute_batch(&format!(
            "BEGIN TRANSACTION;
             CREATE TABLE \"{d}__migrate\" ({cols});
             INSERT INTO \"{d}__migrate\" SELECT {select} FROM \"{d}\";
             DROP TABLE \"{d}\";
             ALTER TABLE \"{d}__migrate\" RENAME TO \"{d}\";
             COMMIT;"
        ))?;
        Ok(())
    }

    /// The column mappings saved for `dataset`, by header key ([`crate::mapping`]).
    pub fn mappings(&self, dataset: DatasetId) -> Result<HashMap<String, String>> {
        let mut q = self
            .conn
            .prepare("SELECT header_key, mapping FROM mappings WHERE dataset = ?")?;
        let rows = q.query_map(params![dataset.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// Save (or replace) the mapping of one layout of `dataset`, made for `version`.
    pub fn save_mapping(
        &self,
        dataset: DatasetId,
        header_key: &str,
        mapping: &str,
        by: &str,
        version: i64,
    ) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO mappings VALUES (?, ?, ?, now()::TIMESTAMP, ?, ?)",
                params![dataset.as_str(), header_key, mapping, by, version],
            )
            .map_err(|e| StoreError::from(e).or_disk_full(&self.path))?;
        Ok(())
    }

    /// Write a new version of `dataset` from the rows `produce` emits, in one transaction.
    /// `produce` returns the finished report; when it has errors the transaction is rolled back
    /// and nothing is stored. With `publish`, the version becomes current in the same transaction.
    pub fn write_version(
        &mut self,
        dataset: DatasetId,
        meta: &VersionMeta,
        publish: bool,
        produce: impl FnOnce(&mut dyn FnMut(Row)) -> Report + Send,
    ) -> Result<(WriteOutcome, Report)> {
        let path = self.path.clone();
        self.write_version_tx(dataset, meta, publish, produce)
            .map_err(|e| e.or_disk_full(&path))
    }

    fn write_version_tx(
        &mut self,
        dataset: DatasetId,
        meta: &VersionMeta,
        publish: bool,
        produce: impl FnOnce(&mut dyn FnMut(Row)) -> Report + Send,
    ) -> Result<(WriteOutcome, Report)> {
        let tx = self.conn.transaction()?;
        let version: i64 = tx.query_row(
            "SELECT coalesce(max(version), 0) + 1 FROM versions WHERE dataset = ?",
            params![dataset.as_str()],
            |r| r.get(0),
        )?;
        let mut keys: HashMap<String, i64> = HashMap::new();
        {
            let mut st = tx.prepare("SELECT key, fid FROM feature_keys WHERE dataset = ?")?;
            let rows = st.query_map(params![dataset.as_str()], |r| Ok((r.get(0)?, r.get(1)?)))?;
            for r in rows {
                let (k, f): (String, i64) = r?;
                keys.insert(k, f);
            }
        }
        let mut next_fid = keys.values().copied().max().unwrap_or(0) + 1;
        let mut new_keys: Vec<(String, i64)> = Vec::new();
        let mut used: std::collections::HashSet<i64> = std::collections::HashSet::new();
        let cols = dataset.columns();
        let mut err: Option<duckdb::Error> = None;
        let mut rows = 0i64;
        let mut bbox = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        // Two threads: `produce` (reading, parsing, normalising, validating) on one; the
        // geometry's WKB, bbox and label point and the appender on this one (DuckDB's appender
        // stays on the thread of its connection). Rows cross in batches through a bounded
        // channel, so memory stays flat however large the file.
        let report = {
            let mut app = tx.appender(dataset.as_str())?;
            let report = std::thread::scope(|s| {
                let (send, recv) = std::sync::mpsc::sync_channel::<Vec<Row>>(8);
                let producer = s.spawn(move || {
                    let mut batch = Vec::with_capacity(PIPE_BATCH);
                    let report = produce(&mut |row: Row| {
                        batch.push(row);
                        if batch.len() == PIPE_BATCH {
                            // A closed channel means the appender failed: the rest is dropped.
                            let _ = send.send(std::mem::replace(
                                &mut batch,
                                Vec::with_capacity(PIPE_BATCH),
                            ));
                        }
                    });
                    if !batch.is_empty() {
                        let _ = send.send(batch);
                    }
                    report
                });
                for row in recv.into_iter().flatten() {
                    let p = Prepared::new(row, cols);
                    let mut fid = match &p.key {
                        Some(k) => match keys.get(k) {
                            Some(&f) => f,
                            None => {
                                let f = next_fid;
                                next_fid += 1;
                                keys.insert(k.clone(), f);
                                new_keys.push((k.clone(), f));
                                f
                            }
                        },
                        None => {
                            let f = next_fid;
                            next_fid += 1;
                            f
                        }
                    };
                    // Two rows with one key (should not happen: normalisers dedupe) get distinct ids.
                    if !used.insert(fid) {
                        fid = next_fid;
                        next_fid += 1;
                        used.insert(fid);
                    }
                    if let Some(b) = p.bbox {
                        bbox = crate::geom::union_bbox(bbox, b);
                    }
                    let opt = |x: Option<f64>| x.map_or(Value::Null, Value::Double);
                    let head = [Value::BigInt(version), Value::BigInt(fid)];
                    let tail = [
                        p.wkb,
                        opt(p.bbox.map(|b| b[0])),
                        opt(p.bbox.map(|b| b[1])),
                        opt(p.bbox.map(|b| b[2])),
                        opt(p.bbox.map(|b| b[3])),
                        opt(p.label.map(|l| l.x)),
                        opt(p.label.map(|l| l.y)),
                        Value::Text(p.raw),
                    ];
                    let refs: Vec<&dyn ToSql> = head
                        .iter()
                        .chain(&p.values)
                        .chain(&tail)
                        .map(|v| v as &dyn ToSql)
                        .collect();
                    if let Err(e) = app.append_row(refs.as_slice()) {
                        err = Some(e);
                        break; // the loop drops `recv`: the producer's sends fail from here
                    }
                    rows += 1;
                }
                producer
                    .join()
                    .unwrap_or_else(|e| std::panic::resume_unwind(e))
            });
            if err.is_none() && !report.rejected() {
                app.flush()?;
            }
            report
        };
        if let Some(e) = err {
            return Err(e.into());
        }
        if report.rejected() {
            tx.rollback()?;
            return Ok((WriteOutcome::Rejected, report));
        }
        {
            let mut app = tx.appender("feature_keys")?;
            for (k, f) in &new_keys {
                app.append_row(params![dataset.as_str(), k, f])?;
            }
        }
        let b = (bbox[0] <= bbox[2]).then_some(bbox);
        let report_json = serde_json::to_string(&report).unwrap_or_default();
        tx.execute(
            "INSERT INTO versions VALUES (?, ?, 'staged', now()::TIMESTAMP, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            params![
                dataset.as_str(),
                version,
                meta.created_by,
                meta.source_names.join(";"),
                meta.source_sha256,
                report.format,
                report.encoding,
                report.crs,
                report.layout,
                report.records_read as i64,
                rows,
                report.errors as i64,
                report.warnings as i64,
                b.map(|b| b[0]),
                b.map(|b| b[1]),
                b.map(|b| b[2]),
                b.map(|b| b[3]),
                report_json,
            ],
        )?;
        if publish {
            set_current(&tx, dataset, version, "publish", &meta.created_by)?;
        }
        tx.commit()?;
        Ok((
            WriteOutcome::Stored {
                version,
                rows,
                published: publish,
            },
            report,
        ))
    }

    /// Make `version` the published version of `dataset` (publish a staged version, or roll
    /// back to an older one), atomically and logged.
    pub fn publish(&mut self, dataset: DatasetId, version: i64, actor: &str) -> Result<()> {
        let path = self.path.clone();
        self.publish_tx(dataset, version, actor)
            .map_err(|e| e.or_disk_full(&path))
    }

    fn publish_tx(&mut self, dataset: DatasetId, version: i64, actor: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        let n: i64 = tx.query_row(
            "SELECT count(*) FROM versions WHERE dataset = ? AND version = ?",
            params![dataset.as_str(), version],
            |r| r.get(0),
        )?;
        if n == 0 {
            return Err(StoreError::NoSuchVersion(dataset, version));
        }
        let action = match self_current(&tx, dataset)? {
            Some(c) if c > version => "rollback",
            _ => "publish",
        };
        set_current(&tx, dataset, version, action, actor)?;
        tx.commit()?;
        Ok(())
    }

    /// Record a coverage setting of a hazard dataset ([`crate::coverage`]); `None` goes back to
    /// the default (the published wards). Rows are only ever added: the newest is in force.
    pub fn set_coverage(
        &self,
        dataset: DatasetId,
        spec: Option<&crate::coverage::Spec>,
        by: &str,
    ) -> Result<()> {
        use crate::coverage::Spec;
        let (kind, wards, polygon) = match spec {
            None => ("default", None, None),
            Some(Spec::Wards(w)) => (
                "wards",
                Some(serde_json::to_string(w).unwrap_or_else(|_| "[]".into())),
                None,
            ),
            Some(Spec::Polygon(mp)) => (
                "polygon",
                None,
                Some(geojson::Geometry::new(geojson::GeometryValue::from(mp)).to_string()),
            ),
        };
        // Microseconds keep two settings made in one second in their order.
        self.conn.execute(
            "INSERT INTO coverage VALUES (?, now()::TIMESTAMP, ?, ?, ?, ?)",
            params![dataset.as_str(), by, kind, wards, polygon],
        )?;
        Ok(())
    }

    /// Every coverage setting, oldest first (only of `dataset` when given).
    pub fn coverage_log(&self, dataset: Option<DatasetId>) -> Result<Vec<crate::coverage::Record>> {
        // A database made by an older build and opened read-only has no coverage table yet.
        let has: i64 = self.conn.query_row(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = 'coverage'",
            [],
            |r| r.get(0),
        )?;
        if has == 0 {
            return Ok(Vec::new());
        }
        let mut st = self.conn.prepare(
            "SELECT dataset, kind, wards, polygon, strftime(set_at, '%Y-%m-%dT%H:%M:%S.%fZ'), set_by
             FROM coverage WHERE ? IS NULL OR dataset = ? ORDER BY set_at, rowid",
        )?;
        let d = dataset.map(|d| d.as_str());
        let rows = st.query_map(params![d, d], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (ds, kind, wards, polygon, set_at, set_by) = row?;
            // A row of a dataset this build does not know is left out, not an error.
            let Ok(dataset) = ds.parse::<DatasetId>() else {
                continue;
            };
            out.push(crate::coverage::Record {
                dataset,
                kind,
                wards: wards
                    .and_then(|w| serde_json::from_str(&w).ok())
                    .unwrap_or_default(),
                polygon,
                set_at,
                set_by,
            });
        }
        Ok(out)
    }

    /// The coverage in force per hazard dataset (datasets left at the default are absent). A
    /// stored polygon that no longer reads (it was checked when set) is left out, so the
    /// default applies rather than a wrong area.
    pub fn coverages(
        &self,
    ) -> Result<std::collections::BTreeMap<DatasetId, crate::coverage::Spec>> {
        use crate::coverage::Spec;
        let mut latest = std::collections::BTreeMap::new();
        for r in self.coverage_log(None)? {
            latest.insert(r.dataset, r);
        }
        let mut out = std::collections::BTreeMap::new();
        for (d, r) in latest {
            match r.kind.as_str() {
                "wards" => {
                    out.insert(d, Spec::Wards(r.wards));
                }
                "polygon" => {
                    if let Some(mp) = r
                        .polygon
                        .as_deref()
                        .and_then(|p| crate::coverage::polygon_from_geojson(p).ok())
                    {
                        out.insert(d, Spec::Polygon(mp));
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// The codes of the published wards (to check a coverage's ward list).
    pub fn published_ward_codes(&self) -> Result<Vec<String>> {
        let Some(v) = self.current(DatasetId::Wards)? else {
            return Ok(Vec::new());
        };
        let mut st = self.conn.prepare(
            "SELECT DISTINCT code FROM wards WHERE version = ? AND code IS NOT NULL ORDER BY code",
        )?;
        let rows = st.query_map(params![v], |r| r.get::<_, String>(0))?;
        Ok(rows.collect::<std::result::Result<_, _>>()?)
    }

    /// The published version of `dataset`, if any.
    pub fn current(&self, dataset: DatasetId) -> Result<Option<i64>> {
        self_current(&self.conn, dataset)
    }

    /// Every version of `dataset`, newest first.
    pub fn versions(&self, dataset: DatasetId) -> Result<Vec<VersionInfo>> {
        let current = self.current(dataset)?;
        let mut st = self.conn.prepare(
            "SELECT version, status, strftime(created_at, '%Y-%m-%dT%H:%M:%SZ'),
                    strftime(published_at, '%Y-%m-%dT%H:%M:%SZ'), created_by, source_names,
                    source_sha256, row_count, warnings, minx, miny, maxx, maxy
             FROM versions WHERE dataset = ? ORDER BY version DESC",
        )?;
        let rows = st.query_map(params![dataset.as_str()], |r| {
            let version: i64 = r.get(0)?;
            let status: String = r.get(1)?;
            let minx: Option<f64> = r.get(9)?;
            Ok(VersionInfo {
                dataset,
                version,
                status: if Some(version) == current {
                    "published".into()
                } else if status == "published" {
                    "superseded".into()
                } else {
                    status
                },
                created_at: r.get(2)?,
                published_at: r.get(3)?,
                created_by: r.get(4)?,
                source_names: r.get(5)?,
                source_sha256: r.get(6)?,
                row_count: r.get(7)?,
                warnings: r.get::<_, Option<i64>>(8)?.unwrap_or(0),
                bbox: match minx {
                    Some(x0) => Some([x0, r.get(10)?, r.get(11)?, r.get(12)?]),
                    None => None,
                },
            })
        })?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    /// Published shelters' ID and 共通ID → fid, for linking stockpile rows.
    pub fn context(&self) -> Result<Context> {
        let mut ctx = Context::default();
        let Some(v) = self.current(DatasetId::Shelters)? else {
            return Ok(ctx);
        };
        let mut st = self
            .conn
            .prepare("SELECT fid, id, common_id FROM shelters WHERE version = ?")?;
        let rows = st.query_map(params![v], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
            ))
        })?;
        for r in rows {
            let (fid, id, common) = r?;
            if let Some(id) = id {
                ctx.shelters_by_id.insert(id, fid);
            }
            if let Some(c) = common {
                ctx.shelters_by_common_id.insert(c, fid);
            }
        }
        Ok(ctx)
    }

    /// Number of rows of a version.
    pub fn row_count(&self, dataset: DatasetId, version: i64) -> Result<i64> {
        Ok(self.conn.query_row(
            &format!("SELECT count(*) FROM \"{dataset}\" WHERE version = ?"),
            params![version],
            |r| r.get(0),
        )?)
    }

    /// Discard a staged version (never published, not current): delete its rows and mark it
    /// `discarded` in the history, in one transaction. Returns false, changing nothing, when
    /// the version is not staged.
    pub fn discard_version(&mut self, dataset: DatasetId, version: i64) -> Result<bool> {
        let tx = self.conn.transaction()?;
        let status: Option<String> = match tx.query_row(
            "SELECT status FROM versions WHERE dataset = ? AND version = ?",
            params![dataset.as_str(), version],
            |r| r.get(0),
        ) {
            Ok(s) => Some(s),
            Err(duckdb::Error::QueryReturnedNoRows) => None,
            Err(e) => return Err(e.into()),
        };
        let Some(status) = status else {
            return Err(StoreError::NoSuchVersion(dataset, version));
        };
        if status != "staged" || self_current(&tx, dataset)? == Some(version) {
            return Ok(false);
        }
        tx.execute(
            &format!("DELETE FROM \"{dataset}\" WHERE version = ?"),
            params![version],
        )?;
        tx.execute(
            "UPDATE versions SET status = 'discarded' WHERE dataset = ? AND version = ?",
            params![dataset.as_str(), version],
        )?;
        tx.commit()?;
        Ok(true)
    }
}

fn is_lock_error(e: &StoreError) -> bool {
    let m = e.to_string();
    m.contains("lock") || m.contains("Conflicting")
}

fn self_current(conn: &Connection, dataset: DatasetId) -> Result<Option<i64>> {
    match conn.query_row(
        "SELECT version FROM current WHERE dataset = ?",
        params![dataset.as_str()],
        |r| r.get(0),
    ) {
        Ok(v) => Ok(Some(v)),
        Err(duckdb::Error::QueryReturnedNoRows) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

fn set_current(
    conn: &Connection,
    dataset: DatasetId,
    version: i64,
    action: &str,
    actor: &str,
) -> Result<()> {
    let previous = self_current(conn, dataset)?;
    conn.execute(
        "INSERT OR REPLACE INTO current VALUES (?, ?, now()::TIMESTAMP)",
        params![dataset.as_str(), version],
    )?;
    conn.execute(
        "UPDATE versions SET status = 'published', published_at = now()::TIMESTAMP WHERE dataset = ? AND version = ?",
        params![dataset.as_str(), version],
    )?;
    conn.execute(
        "INSERT INTO publish_log VALUES (now()::TIMESTAMP, ?, ?, ?, ?, ?)",
        params![dataset.as_str(), version, previous, action, actor],
    )?;
    Ok(())
}

/// The column definitions of a dataset's table: version and fid, the dataset's columns, then
/// geometry, bbox, label point and the raw record.
fn table_columns(d: DatasetId) -> String {
    let mut cols = String::from("version BIGINT NOT NULL, fid BIGINT NOT NULL");
    for c in d.columns() {
        cols.push_str(&format!(", \"{}\" {}", c.name, c.ty.sql()));
    }
    cols.push_str(
        ", geom BLOB USING COMPRESSION uncompressed, minx DOUBLE, miny DOUBLE, maxx DOUBLE, maxy DOUBLE, \
         label_lon DOUBLE, label_lat DOUBLE, raw VARCHAR",
    );
    cols
}

/// The names of [`table_columns`], in order.
fn table_column_names(d: DatasetId) -> Vec<String> {
    let mut v = vec!["version".to_string(), "fid".to_string()];
    v.extend(d.columns().iter().map(|c| c.name.to_string()));
    for c in [
        "geom",
        "minx",
        "miny",
        "maxx",
        "maxy",
        "label_lon",
        "label_lat",
        "raw",
    ] {
        v.push(c.to_string());
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_from_civil() {
        assert_eq!(date_days("1970-01-01"), Some(0));
        assert_eq!(date_days("2024-04-01"), Some(19814));
        assert_eq!(date_days("1969-12-31"), Some(-1));
    }
}
