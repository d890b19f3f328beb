//! Append-only JSON-lines files: one record per line, appended with a single write and
//! `fsync`ed before the action is reported done.
//!
//! **Torn lines.** A writer killed mid-write, or a write cut short by a full disk, can leave a
//! last line without its end. Such a line is never glued to the next record: an append, holding
//! the file's lock (`flock`, shared with the command line and other servers), first cuts an
//! unended last line off, and a failed append cuts the file back to where it began. So a torn
//! line can only ever be the *last* line, until the next write removes it; readers skip it and
//! say so on stderr, and `machimap check` reports it as a warning (any other unreadable line is
//! an error).
//!
//! The files hold password hashes and staff names: on Unix the folder is created `0700` and the
//! files `0600` ([`private_dir`]).

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Create `dir` (and missing parents) readable by its owner only; an existing `dir` is made so.
pub fn private_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
        if !dir.is_dir() {
            std::fs::DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)?;
        }
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
    }
    #[cfg(not(unix))]
    {
        std::fs::create_dir_all(dir)
    }
}

/// Make an existing file readable by its owner only (files written before this rule).
pub fn private_file(path: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        match std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// Append `value` as one line to `path` (creating the file `0600` and its folder `0700`) and
/// fsync it. Under the file's exclusive lock: an unended last line (a writer killed mid-write)
/// is cut off first, and if the write or the sync fails (a full disk) the file is cut back to
/// its length before, so no torn record stays behind. The error keeps its kind
/// (`StorageFull` for a full disk).
pub fn append<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        if !dir.is_dir() {
            private_dir(dir)?;
        }
    }
    let mut line = Vec::with_capacity(256);
    serde_json::to_writer(&mut line, value)?;
    line.push(b'\n');
    let mut opts = std::fs::OpenOptions::new();
    opts.read(true).write(true).create(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path)?;
    // Released when `f` is closed.
    f.lock()?;
    let len = f.metadata()?.len();
    let start = whole_lines_end(&mut f, len)?;
    if start < len {
        tracing::warn!(
            "{}: removed a torn last line of {} bytes (a write cut short by a crash or a full disk)",
            path.display(),
            len - start
        );
        f.set_len(start)?;
    }
    let res = (|| {
        f.seek(SeekFrom::Start(start))?;
        f.write_all(&line)?;
        f.sync_data()
    })();
    if res.is_err() {
        // Nothing half-written stays (this also gives the space back).
        let _ = f.set_len(start).and_then(|()| f.sync_data());
    }
    res
}

/// The length of `f` up to the end of its last whole line (`len` when it ends with a newline).
fn whole_lines_end(f: &mut std::fs::File, len: u64) -> std::io::Result<u64> {
    let mut end = len;
    let mut buf = vec![0u8; 4096];
    while end > 0 {
        let from = end.saturating_sub(buf.len() as u64);
        let n = usize::try_from(end - from).unwrap_or(0);
        f.seek(SeekFrom::Start(from))?;
        f.read_exact(&mut buf[..n])?;
        if end == len && buf[n - 1] == b'\n' {
            return Ok(len);
        }
        if let Some(i) = buf[..n].iter().rposition(|b| *b == b'\n') {
            return Ok(from + i as u64 + 1);
        }
        end = from;
    }
    Ok(0)
}

/// Every record of `path` that parses, in order (a missing file has none), and the file size.
pub fn read_all<T: DeserializeOwned>(path: &Path) -> std::io::Result<(Vec<T>, u64)> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok((Vec::new(), 0)),
        Err(e) => return Err(e),
    };
    let mut skipped = 0usize;
    let out = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .filter_map(|l| {
            let r = serde_json::from_slice(l).ok();
            skipped += usize::from(r.is_none());
            r
        })
        .collect();
    if skipped > 0 {
        tracing::warn!(
            "{}: skipped {skipped} unreadable line(s) (a write cut short by a crash or a full disk; see `machimap check`)",
            path.display()
        );
    }
    Ok((out, bytes.len() as u64))
}

/// The last `n` records of `path` that parse, in order, reading the file from its end only as
/// far back as they need (a missing file has none).
pub fn read_tail<T: DeserializeOwned>(path: &Path, n: usize) -> std::io::Result<Vec<T>> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    if n == 0 {
        return Ok(Vec::new());
    }
    let mut start = f.metadata()?.len();
    let mut chunk: u64 = 64 * 1024;
    let mut buf: Vec<u8> = Vec::new();
    loop {
        let from = start.saturating_sub(chunk);
        let mut head = vec![0u8; usize::try_from(start - from).unwrap_or(0)];
        f.seek(SeekFrom::Start(from))?;
        f.read_exact(&mut head)?;
        head.extend_from_slice(&buf);
        buf = head;
        start = from;
        let mut lines = buf.split(|b| *b == b'\n');
        if start > 0 {
            // The first line may begin before what was read.
            lines.next();
        }
        let lines: Vec<&[u8]> = lines.filter(|l| !l.is_empty()).collect();
        let mut recs: Vec<T> = lines
            .iter()
            .rev()
            .filter_map(|l| serde_json::from_slice(l).ok())
            .take(n)
            .collect();
        if recs.len() >= n || start == 0 {
            recs.reverse();
            return Ok(recs);
        }
        chunk = chunk.saturating_mul(2);
    }
}

/// Size of `path`, 0 when missing.
pub fn size(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |m| m.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_skipped_then_cut_off_by_the_next_append() {
        let d = std::env::temp_dir().join(format!("mm-jsonl-{}", std::process::id()));
        let p = d.join("x.jsonl");
        let _ = std::fs::remove_file(&p);
        append(&p, &serde_json::json!({"a": 1})).unwrap();
        let whole = std::fs::read(&p).unwrap();
        // A writer killed mid-line.
        std::fs::OpenOptions::new()
            .append(true)
            .open(&p)
            .unwrap()
            .write_all(b"{\"a\": 2")
            .unwrap();
        let (v, _): (Vec<serde_json::Value>, u64) = read_all(&p).unwrap();
        assert_eq!(
            v,
            vec![serde_json::json!({"a": 1})],
            "the torn line is skipped"
        );
        assert_eq!(read_tail::<serde_json::Value>(&p, 5).unwrap().len(), 1);
        append(&p, &serde_json::json!({"a": 3})).unwrap();
        let (v, _): (Vec<serde_json::Value>, u64) = read_all(&p).unwrap();
        assert_eq!(
            v,
            vec![serde_json::json!({"a": 1}), serde_json::json!({"a": 3})]
        );
        // The torn bytes are gone, not kept as a bad line in the middle of the file.
        let mut want = whole.clone();
        want.extend_from_slice(b"{\"a\":3}\n");
        assert_eq!(std::fs::read(&p).unwrap(), want);
        // A file that is one torn line only.
        std::fs::write(&p, b"{\"a\"").unwrap();
        append(&p, &serde_json::json!({"a": 4})).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"{\"a\":4}\n");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_failed_append_keeps_its_kind() {
        // /dev/full answers every write with ENOSPC.
        let e = append(Path::new("/dev/full"), &serde_json::json!({"a": 1})).unwrap_err();
        assert_eq!(e.kind(), std::io::ErrorKind::StorageFull);
    }

    #[test]
    fn the_tail_is_read_from_the_end_across_chunks() {
        let d = std::env::temp_dir().join(format!("mm-jsonl-tail-{}", std::process::id()));
        let p = d.join("x.jsonl");
        let _ = std::fs::remove_dir_all(&d);
        assert!(read_tail::<serde_json::Value>(&p, 5).unwrap().is_empty());
        // Lines of ~1 kB so the tail spans several 64 kB reads; one torn line among them.
        let pad = "x".repeat(1000);
        for i in 0..300 {
            append(&p, &serde_json::json!({"i": i, "pad": pad})).unwrap();
            if i == 250 {
                std::fs::OpenOptions::new()
                    .append(true)
                    .open(&p)
                    .unwrap()
                    .write_all(b"{\"torn\": ")
                    .unwrap();
            }
        }
        let tail: Vec<serde_json::Value> = read_tail(&p, 100).unwrap();
        let ids: Vec<i64> = tail.iter().map(|v| v["i"].as_i64().unwrap()).collect();
        // The torn line is skipped; the records around it are whole.
        assert_eq!(ids, (200..300).collect::<Vec<_>>());
        let all: Vec<serde_json::Value> = read_tail(&p, 10_000).unwrap();
        assert_eq!(all.len(), 300);
        assert_eq!(read_tail::<serde_json::Value>(&p, 1).unwrap()[0]["i"], 299);
        let _ = std::fs::remove_dir_all(&d);
    }

    #[cfg(unix)]
    #[test]
    fn files_and_folder_are_private() {
        use std::os::unix::fs::PermissionsExt;
        let d = std::env::temp_dir().join(format!("mm-jsonl-mode-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        let p = d.join("sub.admin").join("x.jsonl");
        append(&p, &serde_json::json!({"a": 1})).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(p.parent().unwrap()), 0o700);
        assert_eq!(mode(&p), 0o600);
        let _ = std::fs::remove_dir_all(&d);
    }
}
