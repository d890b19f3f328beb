//! Append-only JSON-lines files: one record per line, appended with a single write and
//! `fsync`ed before the action is reported done. A line torn by a crash is skipped on reading
//! and never glued to the next record.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Append `value` as one line to `path` (creating the file and its folder) and fsync it.
pub fn append<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let len = f.metadata()?.len();
    let mut line = Vec::with_capacity(256);
    if len > 0 {
        let mut last = [0u8; 1];
        f.seek(SeekFrom::Start(len - 1))?;
        f.read_exact(&mut last)?;
        if last[0] != b'\n' {
            // The previous writer died mid-line: end that line so this record stands alone.
            line.push(b'\n');
        }
    }
    serde_json::to_writer(&mut line, value)?;
    line.push(b'\n');
    f.write_all(&line)?;
    f.sync_data()
}

/// Every record of `path` that parses, in order (a missing file has none), and the file size.
pub fn read_all<T: DeserializeOwned>(path: &Path) -> std::io::Result<(Vec<T>, u64)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let out = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect();
    Ok((out, bytes.len() as u64))
}

/// Size of `path`, 0 when missing.
pub fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn torn_lines_are_skipped_and_not_glued() {
        let d = std::env::temp_dir().join(format!("mm-jsonl-{}", std::process::id()));
        let p = d.join("x.jsonl");
        let _ = std::fs::remove_file(&p);
        append(&p, &serde_json::json!({"a": 1})).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"a\": 2")
            .unwrap();
        append(&p, &serde_json::json!({"a": 3})).unwrap();
        let (v, _): (Vec<serde_json::Value>, u64) = read_all(&p).unwrap();
        assert_eq!(
            v,
            vec![serde_json::json!({"a": 1}), serde_json::json!({"a": 3})]
        );
        let _ = std::fs::remove_dir_all(&d);
    }
}
