//! Safe reading of untrusted zip archives into memory.
//!
//! Every entry of the archive is checked before anything is decompressed:
//! entry count, declared total size, path safety (no `..`, no absolute path,
//! no drive letter, backslashes treated as separators) and symbolic links.
//! Entries are then decompressed with a running count, so an entry that
//! produces more bytes than it declared, or than the total limit, is stopped
//! at once rather than after the fact.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use zip::result::ZipError;
use zip::ZipArchive;

use super::ShpError;

/// Most entries an uploaded zip may hold, by default (`serve --zip-max-entries`).
pub const ZIP_MAX_ENTRIES: usize = 1000;
/// Most an uploaded zip may uncompress to by default, MB (`--zip-max-total-mb`).
pub const ZIP_MAX_TOTAL_MB: u64 = 2048;
/// Highest compression ratio of a large entry by default (`--zip-max-ratio`).
pub const ZIP_MAX_RATIO: u64 = 200;

/// Limits applied to an uploaded zip before and while it is decompressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZipLimits {
    /// Maximum number of entries (files and folders) in the archive.
    pub max_entries: usize,
    /// Maximum sum of uncompressed sizes, declared and actual, in bytes.
    pub max_total_uncompressed: u64,
    /// Maximum uncompressed/compressed ratio of one entry. Only applied to
    /// entries larger than 1 MiB: tiny files of blanks legitimately compress
    /// very well and cannot be bombs.
    pub max_ratio: u64,
}

impl Default for ZipLimits {
    fn default() -> Self {
        ZipLimits {
            max_entries: ZIP_MAX_ENTRIES,
            max_total_uncompressed: ZIP_MAX_TOTAL_MB * 1024 * 1024,
            max_ratio: ZIP_MAX_RATIO,
        }
    }
}

/// Entries at or below this uncompressed size are not subject to the ratio check.
const RATIO_MIN_SIZE: u64 = 1024 * 1024;

/// Metadata of one entry that passed the safety checks.
#[derive(Debug, Clone)]
pub(crate) struct EntryMeta {
    index: usize,
    /// Normalised path inside the archive: `/`-separated, no `.` or empty parts.
    pub(crate) name: String,
    size: u64,
    compressed: u64,
    /// True for folders, `__MACOSX/` content and dot-files.
    pub(crate) ignored: bool,
}

/// An opened archive whose entry list passed the safety checks.
pub(crate) struct SafeZip {
    path: String,
    archive: ZipArchive<BufReader<File>>,
    limits: ZipLimits,
    pub(crate) entries: Vec<EntryMeta>,
    read_total: u64,
}

impl SafeZip {
    /// Opens `path` and validates every entry.
    pub(crate) fn open(path: &Path, limits: &ZipLimits) -> Result<SafeZip, ShpError> {
        let shown = path.display().to_string();
        let file = File::open(path).map_err(|source| ShpError::Io {
            path: shown.clone(),
            source,
        })?;
        let mut reader = BufReader::new(file);
        let mut magic = [0u8; 4];
        let starts_like_zip = match reader.read(&mut magic) {
            Ok(n) => n == 4 && magic == *b"PK\x03\x04",
            Err(_) => false,
        };
        // ZipArchive seeks on its own; the magic bytes read above do not matter.
        let mut archive = ZipArchive::new(reader).map_err(|e| match e {
            ZipError::Io(source) if source.kind() != std::io::ErrorKind::UnexpectedEof => {
                ShpError::Io {
                    path: shown.clone(),
                    source,
                }
            }
            other if starts_like_zip => ShpError::ZipTruncated {
                path: shown.clone(),
                detail: format!("the end of the archive is missing ({other})"),
            },
            other => ShpError::ZipInvalid {
                path: shown.clone(),
                detail: other.to_string(),
            },
        })?;

        let count = archive.len();
        if count > limits.max_entries {
            return Err(ShpError::ZipTooManyEntries {
                path: shown,
                entries: count,
                max: limits.max_entries,
            });
        }

        let mut entries = Vec::with_capacity(count);
        let mut declared_total: u64 = 0;
        for index in 0..count {
            let f = archive
                .by_index_raw(index)
                .map_err(|e| map_zip_error(&shown, &format!("#{}", index + 1), e))?;
            let raw_name = decode_entry_name(f.name_raw(), f.name());
            let name = normalize_entry_path(&raw_name).ok_or_else(|| ShpError::ZipUnsafePath {
                path: shown.clone(),
                entry: raw_name.clone(),
            })?;
            if f.unix_mode().is_some_and(|m| m & 0o170000 == 0o120000) {
                return Err(ShpError::ZipLink {
                    path: shown.clone(),
                    entry: name,
                });
            }
            declared_total = declared_total.saturating_add(f.size());
            if declared_total > limits.max_total_uncompressed {
                return Err(ShpError::ZipTooLarge {
                    path: shown.clone(),
                    entry: None,
                    limit: limits.max_total_uncompressed,
                });
            }
            let is_dir = raw_name.ends_with('/') || raw_name.ends_with('\\') || name.is_empty();
            let hidden = name
                .split('/')
                .any(|part| part.starts_with('.') || part.eq_ignore_ascii_case("__MACOSX"));
            entries.push(EntryMeta {
                index,
                name,
                size: f.size(),
                compressed: f.compressed_size(),
                ignored: is_dir || hidden,
            });
        }
        Ok(SafeZip {
            path: shown,
            archive,
            limits: *limits,
            entries,
            read_total: 0,
        })
    }

    /// The zip path as shown in messages.
    pub(crate) fn path(&self) -> &str {
        &self.path
    }

    /// Decompresses entry number `pos` (index into [`SafeZip::entries`]) into
    /// memory, enforcing the ratio, declared-size and total limits.
    pub(crate) fn read(&mut self, pos: usize) -> Result<Vec<u8>, ShpError> {
        let meta = self
            .entries
            .get(pos)
            .cloned()
            .ok_or_else(|| ShpError::InvalidInput {
                detail: format!("no zip entry number {pos}"),
            })?;
        let limits = self.limits;
        if meta.size > RATIO_MIN_SIZE
            && meta.size > meta.compressed.saturating_mul(limits.max_ratio)
        {
            return Err(ShpError::ZipRatio {
                path: self.path.clone(),
                entry: meta.name,
                uncompressed: meta.size,
                compressed: meta.compressed,
                max_ratio: limits.max_ratio,
            });
        }
        let path = self.path.clone();
        let mut f = self
            .archive
            .by_index(meta.index)
            .map_err(|e| map_zip_error(&path, &meta.name, e))?;
        // Never trust the declared size for the allocation beyond a modest amount: a 1 KB zip
        // claiming 64 MB must not cost 64 MB before a byte is read (found by tests/fuzz).
        let mut out = Vec::with_capacity(usize::try_from(meta.size.min(1 << 20)).unwrap_or(0));
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(map_read_error(&path, &meta.name, e)),
            };
            let chunk = buf.get(..n).unwrap_or(&[]);
            let new_len = (out.len() as u64).saturating_add(n as u64);
            if new_len > meta.size {
                return Err(ShpError::ZipInvalid {
                    path,
                    detail: format!(
                        "entry '{}' expands beyond its declared size of {} bytes",
                        meta.name, meta.size
                    ),
                });
            }
            if self.read_total.saturating_add(new_len) > limits.max_total_uncompressed {
                return Err(ShpError::ZipTooLarge {
                    path,
                    entry: Some(meta.name),
                    limit: limits.max_total_uncompressed,
                });
            }
            out.extend_from_slice(chunk);
        }
        if (out.len() as u64) < meta.size {
            return Err(ShpError::ZipTruncated {
                path,
                detail: format!(
                    "entry '{}' holds {} bytes instead of the declared {}",
                    meta.name,
                    out.len(),
                    meta.size
                ),
            });
        }
        self.read_total = self.read_total.saturating_add(out.len() as u64);
        Ok(out)
    }
}

/// Entry names are UTF-8 when flagged, but Japanese Windows zips store CP932
/// without a flag; the zip crate would show those as CP437 mojibake.
fn decode_entry_name(raw: &[u8], fallback: &str) -> String {
    if let Ok(s) = std::str::from_utf8(raw) {
        return s.to_string();
    }
    if let Some(s) = encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(raw)
    {
        return s.into_owned();
    }
    fallback.to_string()
}

/// Normalises an entry path, or `None` when it is unsafe: absolute, with a
/// drive letter or any colon, with a `..` component or a NUL byte.
/// Backslashes count as separators (zips made on Windows).
pub(crate) fn normalize_entry_path(name: &str) -> Option<String> {
    if name.contains('\0') {
        return None;
    }
    let unified = name.replace('\\', "/");
    if unified.starts_with('/') {
        return None;
    }
    let mut parts: Vec<&str> = Vec::new();
    for part in unified.split('/') {
        if part.is_empty() || part == "." {
            continue;
        }
        if part == ".." || part.contains(':') {
            return None;
        }
        parts.push(part);
    }
    Some(parts.join("/"))
}

fn map_zip_error(path: &str, entry: &str, e: ZipError) -> ShpError {
    match e {
        ZipError::Io(source) => map_read_error(path, entry, source),
        ZipError::UnsupportedArchive(what) => ShpError::ZipUnsupported {
            path: path.to_string(),
            entry: entry.to_string(),
            detail: if what == ZipError::PASSWORD_REQUIRED {
                "the entry is encrypted".to_string()
            } else {
                what.to_string()
            },
        },
        ZipError::InvalidPassword => ShpError::ZipUnsupported {
            path: path.to_string(),
            entry: entry.to_string(),
            detail: "the entry is encrypted".to_string(),
        },
        other => ShpError::ZipInvalid {
            path: path.to_string(),
            detail: format!("entry '{entry}': {other}"),
        },
    }
}

fn map_read_error(path: &str, entry: &str, e: std::io::Error) -> ShpError {
    match e.kind() {
        std::io::ErrorKind::UnexpectedEof => ShpError::ZipTruncated {
            path: path.to_string(),
            detail: format!("entry '{entry}' ends early"),
        },
        std::io::ErrorKind::InvalidData | std::io::ErrorKind::InvalidInput => {
            ShpError::ZipInvalid {
                path: path.to_string(),
                detail: format!("entry '{entry}': {e}"),
            }
        }
        _ => ShpError::Io {
            path: path.to_string(),
            source: e,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised_or_refused() {
        assert_eq!(normalize_entry_path("a/b.shp").as_deref(), Some("a/b.shp"));
        assert_eq!(
            normalize_entry_path("a\\.\\b.shp").as_deref(),
            Some("a/b.shp")
        );
        assert_eq!(normalize_entry_path("dir/").as_deref(), Some("dir"));
        for bad in [
            "../evil.shp",
            "a/../../evil.shp",
            "a/../b.shp",
            "/etc/passwd",
            "\\\\server\\share\\x.shp",
            "C:/x.shp",
            "C:x.shp",
            "a\\..\\..\\x.shp",
            "a\0b",
        ] {
            assert_eq!(normalize_entry_path(bad), None, "{bad:?} must be refused");
        }
    }

    #[test]
    fn cp932_entry_names_are_decoded() {
        // "表.shp" in CP932: 0x95 0x5C is one character, the 0x5C is not a backslash.
        let raw = [0x95, 0x5C, b'.', b's', b'h', b'p'];
        let name = decode_entry_name(&raw, "mojibake");
        assert_eq!(name, "表.shp");
        assert_eq!(normalize_entry_path(&name).as_deref(), Some("表.shp"));
    }

    #[test]
    fn default_limits() {
        let l = ZipLimits::default();
        assert_eq!(l.max_entries, 1000);
        assert_eq!(l.max_total_uncompressed, 2 * 1024 * 1024 * 1024);
        assert_eq!(l.max_ratio, 200);
    }
}
