//! The ingest pipeline: files → readers → the dataset's normaliser → one staged (and optionally
//! published) version in the store, with one validation report for the whole upload.

use crate::crs::Crs;
use crate::dataset::DatasetId;
use crate::kinds;
use crate::mapping::{self, Mapping};
use crate::read;
use crate::report::{code, issue, FileColumns, Report};
use crate::store::{Store, StoreError, VersionMeta, WriteOutcome};
use sha2::{Digest, Sha256};
use std::io::Read;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// A column mapping for files whose layout it fits (`--mapping`, the console's form);
    /// saved with the dataset when the version is stored. Files it does not fit get the
    /// mapping saved earlier for their header set, if any.
    pub mapping: Option<Mapping>,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            crs: None,
            publish: true,
            actor: "cli".into(),
            progress: false,
            mapping: None,
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
    Ok(hex::encode(h.finalize()))
}

/// The column mappings an ingest may apply: the one given with it, and those saved for the
/// dataset by header key.
#[derive(Debug, Clone, Default)]
pub struct Mappings {
    /// Given with this upload (`--mapping`, the console's form).
    pub given: Option<Mapping>,
    /// Saved by earlier uploads, by [`mapping::header_key`].
    pub saved: std::collections::HashMap<String, Mapping>,
}

impl Mappings {
    /// The given mapping and the dataset's saved ones.
    pub fn load(
        store: &Store,
        dataset: DatasetId,
        given: Option<Mapping>,
    ) -> Result<Mappings, StoreError> {
        let saved = store
            .mappings(dataset)?
            .into_iter()
            .filter_map(|(k, m)| Some((k, Mapping::from_json(&m).ok()?)))
            .collect();
        Ok(Mappings { given, saved })
    }

    /// Save the given mapping for every file of `report` it was applied to, once `version`
    /// made with it is stored.
    pub fn save_given(
        &self,
        store: &Store,
        dataset: DatasetId,
        report: &Report,
        actor: &str,
        version: i64,
    ) -> Result<(), StoreError> {
        let Some(m) = &self.given else {
            return Ok(());
        };
        for f in report
            .files
            .iter()
            .filter(|f| f.mapping_source == Some("given"))
        {
            store.save_mapping(dataset, &f.header_key, &m.to_json(), actor, version)?;
        }
        Ok(())
    }
}

/// Read `paths` (named `names` in the report), apply the column mapping that fits each file,
/// normalise and validate their records as `dataset` and emit the rows to `out`; returns the
/// report. `tick` is called every 4096 records read with the count so far. When `cancel` is
/// set (an upload over its time budget), reading stops before the next record and no rows
/// follow; the report is then incomplete and must not be used.
#[allow(clippy::too_many_arguments)]
pub fn produce(
    dataset: DatasetId,
    paths: &[PathBuf],
    names: &[String],
    crs: Option<Crs>,
    ctx: kinds::Context,
    mappings: &Mappings,
    cancel: Option<&AtomicBool>,
    tick: &mut dyn FnMut(u64),
    out: &mut kinds::Out<'_>,
) -> Report {
    let mut report = Report::new(names.join(", "));
    let mut norm = kinds::normalizer(dataset, ctx);
    let mut fatal = false;
    for (path, name) in paths.iter().zip(names) {
        let mut n = 0u64;
        let mut file_mapping: Option<Mapping> = None;
        let r = read::read(path, name, crs, &mut report, &mut |src, mut f, rep| {
            if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
                return ControlFlow::Break(());
            }
            n += 1;
            if n == 1 {
                file_mapping = choose_mapping(src, &f, mappings, rep);
            }
            if n.is_multiple_of(4096) {
                tick(n);
            }
            if let Some(m) = &file_mapping {
                m.apply(&mut f);
            }
            norm.feature(src, f, rep, out);
            ControlFlow::Continue(())
        });
        if r.is_err() {
            fatal = true;
            break;
        }
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return report;
        }
    }
    if !fatal {
        norm.finish(&mut report, out);
    }
    if report.records_read == 0 && !report.rejected() {
        report.push(issue(code::NO_RECORDS));
    }
    if let Some(m) = &mappings.given {
        let used = report
            .files
            .iter()
            .any(|f| f.mapping_source == Some("given"));
        if !used && !fatal {
            let cols: Vec<&str> = m
                .columns
                .keys()
                .chain(m.values.keys())
                .map(String::as_str)
                .collect();
            report.push(issue(code::MAPPING_UNFIT).value(cols.join(", ")));
        }
    }
    report
}

/// How the clerk knows each file: its name without the folder.
pub fn file_names(paths: &[PathBuf]) -> Vec<String> {
    paths
        .iter()
        .map(|p| {
            p.file_name().map_or_else(
                || p.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

/// Ingest `paths` as a new version of `dataset`.
pub fn ingest(
    store: &mut Store,
    dataset: DatasetId,
    paths: &[PathBuf],
    opts: &IngestOptions,
) -> Result<Ingested, IngestError> {
    let names = file_names(paths);
    let mut hashes = Vec::new();
    for p in paths {
        hashes.push(sha256_file(p).map_err(|e| IngestError::Io(p.clone(), e))?);
    }
    let sha = if hashes.len() == 1 {
        hashes[0].clone()
    } else {
        hex::encode(Sha256::digest(hashes.join("\n").as_bytes()))
    };
    // A new mapping for the same files is a new reading of them: not "unchanged".
    if opts.publish && opts.mapping.is_none() {
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
    let mappings = Mappings::load(store, dataset, opts.mapping.clone())?;
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
        produce(
            dataset, paths, &names, crs, ctx, &mappings, None, &mut tick, out,
        )
    })?;
    if let Some(b) = bar {
        b.finish_and_clear();
    }
    if let WriteOutcome::Stored { version, .. } = &written {
        mappings.save_given(store, dataset, &report, &opts.actor, *version)?;
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

/// The mapping for one file: the one given with the upload if it fits the file's header set,
/// else the one saved for that header set. Records the file's columns (with the first record's
/// values) and the choice in the report.
fn choose_mapping(
    src: &read::SourceInfo,
    first: &read::RawFeature,
    mappings: &Mappings,
    report: &mut Report,
) -> Option<Mapping> {
    // No mapping has been applied yet: these are the file's own headers.
    let headers = src.header_names(first);
    let key = mapping::header_key(&headers);
    let chosen = match &mappings.given {
        Some(m) if m.fits(&headers) => Some((m.clone(), "given")),
        _ => mappings.saved.get(&key).map(|m| (m.clone(), "saved")),
    };
    if let Some((m, from)) = &chosen {
        let (ja, en) = if *from == "given" {
            (
                "この取り込みで指定された対応付け",
                "the mapping given with this upload",
            )
        } else {
            (
                "同じ見出しのファイルに以前保存された対応付け",
                "the mapping saved earlier for files with these headers",
            )
        };
        report.push_in(
            &src.file,
            issue(code::MAPPING_APPLIED)
                .value(m.to_json())
                .detail(ja, en),
        );
    }
    report.files.push(FileColumns {
        file: src.file.clone(),
        header_key: key,
        samples: headers
            .iter()
            .map(|h| first.get(h).map(str::to_string))
            .collect(),
        headers,
        mapping: chosen.as_ref().map(|(m, _)| m.clone()),
        mapping_source: chosen.as_ref().map(|(_, s)| *s),
    });
    chosen.map(|(m, _)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flood layer of `n` small A31a zones (計画規模, river サンプル川, depth rank 2).
    fn flood_geojson(dir: &Path, n: usize) -> PathBuf {
        let mut s = String::from("{\"type\":\"FeatureCollection\",\"features\":[");
        for i in 0..n {
            let x = 133.9 + i as f64 * 1e-4;
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                "{{\"type\":\"Feature\",\"properties\":{{\"A31a_101\":\"8806010001\",\"A31a_102\":\"サンプル川\",\"A31a_105\":\"2\"}},\
                 \"geometry\":{{\"type\":\"Polygon\",\"coordinates\":[[[{x},34.6],[{x2},34.6],[{x2},34.6001],[{x},34.6]]]}}}}",
                x2 = x + 5e-5
            ));
        }
        s.push_str("]}");
        let p = dir.join("flood.geojson");
        std::fs::write(&p, s).expect("write");
        p
    }

    #[test]
    fn a_cancelled_read_stops_before_the_next_record() {
        let d = tempfile::tempdir().expect("tmp");
        let p = flood_geojson(d.path(), 5_000);
        let names = vec!["flood.geojson".to_string()];
        let run = |cancel_after: Option<u64>| {
            let cancel = AtomicBool::new(false);
            let mut rows = 0u64;
            let report = produce(
                DatasetId::Flood,
                std::slice::from_ref(&p),
                &names,
                None,
                kinds::Context::default(),
                &Mappings::default(),
                Some(&cancel),
                &mut |_| {},
                &mut |_| {
                    rows += 1;
                    if Some(rows) == cancel_after {
                        cancel.store(true, Ordering::Relaxed);
                    }
                },
            );
            (report.records_read, rows)
        };
        let (read_all, rows_all) = run(None);
        assert_eq!(read_all, 5_000);
        assert_eq!(rows_all, 5_000);
        // Cancelled at the 100th row: the reader stops at once, not at the end of the file.
        let (read, rows) = run(Some(100));
        assert!(read <= 101, "{read} records read after the cancel");
        assert_eq!(rows, 100);
    }
}
