//! The ingest pipeline: files → readers → the dataset's normaliser → one staged (and optionally
//! published) version in the store, with one validation report for the whole upload.

use crate::crs::Crs;
use crate::dataset::DatasetId;
use crate::kinds;
use crate::read;
use crate::report::{code, issue, Report};
use crate::store::{Store, StoreError, VersionMeta, WriteOutcome};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::path::{Path, PathBuf};

/// How to ingest.
#[derive(Debug, Clone)]
pub struct IngestOptions {
    /// Replace the CRS the files declare (`--crs`).
    pub crs: Option<Crs>,
    /// Publish the new version at once (otherwise it stays staged).
    pub publish: bool,
    /// Who is ingesting, for the version history.
    pub actor: String,
    /// Draw a progress bar on stderr.
    pub progress: bool,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            crs: None,
            publish: true,
            actor: "cli".into(),
            progress: false,
        }
    }
}

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored and published.
    Published {
        /// New version.
        version: i64,
        /// Rows.
        rows: i64,
    },
    /// Stored, not published (`--no-publish`).
    Staged {
        /// New version.
        version: i64,
        /// Rows.
        rows: i64,
    },
    /// The same files as the published version: no new version.
    Unchanged {
        /// The published version they match.
        version: i64,
    },
    /// The report has errors; nothing was stored.
    Rejected,
}

/// Result of one ingest.
#[derive(Debug)]
pub struct Ingested {
    /// Dataset.
    pub dataset: DatasetId,
    /// Outcome.
    pub outcome: Outcome,
    /// The validation report.
    pub report: Report,
}

/// Errors that are not about the data (the data's problems are in the report).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A file could not be hashed.
    #[error("cannot read {0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// SHA-256 of one file, hex.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex(&h.finalize()))
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Read `paths` (named `names` in the report), normalise and validate their records as
/// `dataset` and emit the rows to `out`; returns the report. `tick` is called every 4096
/// records read with the count so far.
pub fn produce(
    dataset: DatasetId,
    paths: &[PathBuf],
    names: &[String],
    crs: Option<Crs>,
    ctx: kinds::Context,
    tick: &mut dyn FnMut(u64),
    out: &mut kinds::Out<'_>,
) -> Report {
    let mut report = Report::new(names.join(", "));
    let mut norm = kinds::normalizer(dataset, ctx);
    let mut fatal = false;
    for (path, name) in paths.iter().zip(names) {
        let mut n = 0u64;
        let r = read::read(path, name, crs, &mut report, &mut |src, f, rep| {
            n += 1;
            if n.is_multiple_of(4096) {
                tick(n);
            }
            norm.feature(src, f, rep, out);
        });
        if r.is_err() {
            fatal = true;
            break;
        }
    }
    if !fatal {
        norm.finish(&mut report, out);
    }
    if report.records_read == 0 && !report.rejected() {
        report.push(issue(code::NO_RECORDS));
    }
    report
}

/// Ingest `paths` as a new version of `dataset`.
pub fn ingest(
    store: &mut Store,
    dataset: DatasetId,
    paths: &[PathBuf],
    opts: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let names: Vec<String> = paths
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect();
    let mut hashes = Vec::new();
    for p in paths {
        hashes.push(sha256_file(p).map_err(|e| IngestError::Io(p.clone(), e))?);
    }
    let sha = if hashes.len() == 1 {
        hashes[0].clone()
    } else {
        hex(&Sha256::digest(hashes.join("\n").as_bytes()))
    };
    if opts.publish {
        if let Some(cur) = store.current(dataset)? {
            let same = store
                .versions(dataset)?
                .into_iter()
                .any(|v| v.version == cur && v.source_sha256 == sha);
            if same {
                let mut report = Report::new(names.join(", "));
                report.push(issue(code::LAYOUT_DETECTED).detail(
                    format!("公開中の版{cur}と同じファイルです。新しい版は作りません"),
                    format!("same files as published version {cur}: no new version"),
                ));
                return Ok(Ingested {
                    dataset,
                    outcome: Outcome::Unchanged { version: cur },
                    report,
                });
            }
        }
    }
    let ctx = store.context()?;
    let meta = VersionMeta {
        source_names: names.clone(),
        source_sha256: sha,
        created_by: opts.actor.clone(),
    };
    let bar = opts.progress.then(|| {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{spinner} {msg} {human_pos} 件 / records ({per_sec}, {elapsed})",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_spinner()),
        );
        b.set_message(format!("{dataset}"));
        b
    });
    let crs = opts.crs;
    let (written, report) = store.write_version(dataset, &meta, opts.publish, |out| {
        let mut tick = |_: u64| {
            if let Some(b) = &bar {
                b.inc(4096);
            }
        };
        produce(dataset, paths, &names, crs, ctx, &mut tick, out)
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    let outcome = match written {
        WriteOutcome::Rejected => Outcome::Rejected,
        WriteOutcome::Stored {
            version,
            rows,
            published: true,
        } => Outcome::Published { version, rows },
        WriteOutcome::Stored { version, rows, .. } => Outcome::Staged { version, rows },
    };
    Ok(Ingested {
        dataset,
        outcome,
        report,
    })
}
