//! Download counts per dataset and format — a KPI cities report — kept beside the database in
//! `{db}.downloads.json` so they survive restarts and replicas can be summed.

use crate::dataset::DatasetId;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Counter of downloads by (dataset, format).
#[derive(Debug)]
pub struct Downloads {
    counts: Mutex<BTreeMap<String, BTreeMap<String, u64>>>,
    file: Option<PathBuf>,
}

impl Downloads {
    /// Counts stored beside `db` (loaded if the file exists).
    pub fn beside(db: &Path) -> Downloads {
        let mut name = db.as_os_str().to_owned();
        name.push(".downloads.json");
        let file = PathBuf::from(name);
        let counts = std::fs::read(&file)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Downloads {
            counts: Mutex::new(counts),
            file: Some(file),
        }
    }

    /// Count one download of `dataset` as `format` (`csv`, `geojson`, `ogc`…).
    pub fn count(&self, dataset: DatasetId, format: &str) {
        let snapshot = {
            let Ok(mut c) = self.counts.lock() else {
                return;
            };
            *c.entry(dataset.to_string())
                .or_default()
                .entry(format.to_string())
                .or_insert(0) += 1;
            serde_json::to_vec_pretty(&*c).ok()
        };
        if let (Some(f), Some(bytes)) = (&self.file, snapshot) {
            let tmp = f.with_extension("json.tmp");
            if std::fs::write(&tmp, bytes).is_ok() {
                let _ = std::fs::rename(&tmp, f);
            }
        }
    }

    /// Downloads of `dataset` by format.
    pub fn of(&self, dataset: DatasetId) -> BTreeMap<String, u64> {
        self.counts
            .lock()
            .ok()
            .and_then(|c| c.get(dataset.as_str()).cloned())
            .unwrap_or_default()
    }
}
