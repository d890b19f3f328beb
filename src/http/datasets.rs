//! `/datasets/{id}.csv` and `/datasets/{id}.geojson`: whole published datasets, streamed.
//!
//! The bytes are produced by `crate::export` on a blocking thread and sent in 64 KB chunks
//! through a bounded channel, so memory stays flat however big the dataset is and a slow client
//! slows the writer instead of filling memory. gzip is applied on the fly when the client asks.

use super::limits::Class;
use super::route::{path_typed, query, Route, Serve, Ty, ROUTE};
use super::{accepts_encoding, not_modified, ApiError, ApiResult, AppState};
use crate::dataset::DatasetId;
use crate::export::{write_csv, write_geojson, CsvEncoding, CsvLayout};
use axum::body::{Body, Bytes};
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::Response;
use axum::routing::get;
use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

const DATASET: Ty = Ty::OneOf(&DatasetId::NAMES);
/// `encoding=` of a CSV download (any case).
const ENCODINGS: &[&str] = &["utf-8", "utf8", "cp932", "shift_jis", "sjis", "windows-31j"];
/// `layout=` of a CSV download.
const LAYOUTS: &[&str] = &["standard", "canonical"];

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[
    Route {
        path: "/datasets/{id}.csv",
        serve: Serve::At("/datasets/{file}", || get(get_download)),
        class: Some(Class::Downloads),
        tag: "downloads",
        summary: "A whole dataset as CSV: shelters in the 03 指定緊急避難場所一覧 layout, \
                  stockpile/roads/wards in the layouts of datasets/README.md; UTF-8 with BOM, CRLF",
        params: &[
            path_typed("id", DATASET, "Dataset id", "shelters"),
            query(
                "encoding",
                Ty::OneOf(ENCODINGS),
                "utf-8 (default, with BOM) or cp932 (Shift_JIS, for old Excel); any case",
            ),
            query(
                "layout",
                Ty::OneOf(LAYOUTS),
                "standard (default) or canonical (every column, English names, fid)",
            ),
        ],
        produces: &["text/csv"],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/datasets/{id}.geojson",
        serve: Serve::Within("/datasets/{file}"),
        tag: "downloads",
        summary: "A whole dataset as a GeoJSON FeatureCollection (id = feature id)",
        params: &[path_typed(
            "id",
            DATASET,
            "Dataset id with geometry",
            "wards",
        )],
        produces: &["application/geo+json"],
        errors: &[404],
        ..ROUTE
    },
];

/// A `Write` that sends 64 KB chunks into a channel (blocking when the client is slow).
struct ChannelWriter {
    buf: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes, io::Error>>,
}

const CHUNK: usize = 64 * 1024;

impl ChannelWriter {
    fn send(&mut self) -> io::Result<()> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.buf, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "client went away"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(b);
        if self.buf.len() >= CHUNK {
            self.send()?;
        }
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        self.send()
    }
}

/// Producer threads of streamed bodies running now (a gauge in `/metrics`).
pub static PRODUCERS: AtomicUsize = AtomicUsize::new(0);

/// Run `produce` on a blocking thread and stream what it writes (gzip-compressed if `gzip`).
///
/// The thread ends at its next chunk once the body is dropped: when the transfer ends, the
/// client goes away, or the connection is dropped for not reading (`http::limits`).
pub(crate) fn stream<F>(gzip: bool, produce: F) -> Body
where
    F: FnOnce(&mut dyn Write) -> io::Result<()> + Send + 'static,
{
    let (tx, rx) = mpsc::channel(8);
    let err_tx = tx.clone();
    tokio::task::spawn_blocking(move || {
        PRODUCERS.fetch_add(1, Ordering::Relaxed);
        struct Done;
        impl Drop for Done {
            fn drop(&mut self) {
                PRODUCERS.fetch_sub(1, Ordering::Relaxed);
            }
        }
        let _done = Done;
        let w = ChannelWriter {
            buf: Vec::with_capacity(CHUNK),
            tx,
        };
        let result = if gzip {
            let mut gz = flate2::write::GzEncoder::new(w, flate2::Compression::fast());
            produce(&mut gz).and_then(|()| gz.finish()?.flush())
        } else {
            let mut w = w;
            produce(&mut w).and_then(|()| w.flush())
        };
        if let Err(e) = result {
            if e.kind() != io::ErrorKind::BrokenPipe {
                tracing::warn!("download failed: {e}");
                // Ending the body with an error makes the client see a broken transfer rather
                // than a silently truncated file.
                let _ = err_tx.blocking_send(Err(e));
            }
        }
    });
    Body::from_stream(tokio_stream::wrappers::ReceiverStream::new(rx))
}

fn parse_file(file: &str) -> ApiResult<(DatasetId, &'static str)> {
    let (id, ext) = file.rsplit_once('.').ok_or_else(|| {
        ApiError::NotFound(format!(
            "no such download: {file} (expected {{id}}.csv or {{id}}.geojson)"
        ))
    })?;
    let d: DatasetId = id
        .parse()
        .map_err(|e: crate::dataset::UnknownDataset| ApiError::NotFound(e.to_string()))?;
    let fmt = match ext {
        "csv" => "csv",
        "geojson" => "geojson",
        other => {
            return Err(ApiError::NotFound(format!(
                "no such format: .{other} (offered: .csv, .geojson)"
            )))
        }
    };
    if fmt == "geojson" && !d.has_geometry() {
        return Err(ApiError::NotFound(format!(
            "{d} has no geometry: download {d}.csv instead"
        )));
    }
    Ok((d, fmt))
}

/// The file name of a download: `{code}_evacuation_space.csv` for shelters (the name the national
/// guideline gives the 03 file), `{code}_{id}.{ext}` otherwise.
pub fn file_name(city_code: &str, d: DatasetId, fmt: &str) -> String {
    match (d, fmt) {
        (DatasetId::Shelters, "csv") => format!("{city_code}_evacuation_space.csv"),
        _ => format!("{city_code}_{d}.{fmt}"),
    }
}

async fn get_download(
    State(st): State<Arc<AppState>>,
    method: Method,
    Path(file): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let (d, fmt) = parse_file(&file)?;
    for k in q.keys() {
        if !(fmt == "csv" && (k == "encoding" || k == "layout")) {
            return Err(ApiError::BadRequest(format!(
                "unknown parameter {k:?} (this download takes {})",
                if fmt == "csv" {
                    "encoding and layout"
                } else {
                    "no parameters"
                }
            )));
        }
    }
    let enc = encoding_of(q.get("encoding").map(String::as_str))?;
    let layout = layout_of(q.get("layout").map(String::as_str))?;
    let layer = st
        .snapshot
        .load()
        .layer(d)
        .cloned()
        .ok_or_else(|| ApiError::NotFound(format!("{d} has no published version yet")))?;
    let gzip = accepts_encoding(&headers, "gzip");
    let variant = match (fmt, enc, layout) {
        ("geojson", _, _) => "geojson".to_string(),
        (_, e, l) => format!("csv-{e:?}-{l:?}").to_lowercase(),
    };
    let etag = format!(
        "\"{}-{}-{variant}\"",
        layer.version_tag(),
        layer.published_at.replace([':', ' '], "")
    );
    let base = Response::builder()
        .header(header::ETAG, &etag)
        .header(header::CACHE_CONTROL, "public, max-age=60")
        .header(header::VARY, "Accept-Encoding");
    if not_modified(&headers, &etag) {
        return base
            .status(StatusCode::NOT_MODIFIED)
            .body(Body::empty())
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    let name = file_name(&st.config.city_code, d, fmt);
    let content_type = match (fmt, enc) {
        ("geojson", _) => "application/geo+json",
        (_, CsvEncoding::Cp932) => "text/csv; charset=Shift_JIS",
        _ => "text/csv; charset=utf-8",
    };
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let mut b = base
        .header(header::CONTENT_TYPE, content_type)
        .header(header::CONTENT_DISPOSITION, disposition);
    if gzip {
        b = b.header(header::CONTENT_ENCODING, "gzip");
    }
    if method == Method::HEAD {
        // The headers a GET would get; nothing produced, and not a download.
        return b
            .body(Body::empty())
            .map_err(|e| ApiError::Internal(e.to_string()));
    }
    // Counted when the body is produced (a 200 to a GET), on the producer's thread: the
    // counts file is written there, not on the request runtime.
    let body = if fmt == "csv" {
        stream(gzip, move |w| {
            st.downloads.count(d, fmt);
            write_csv(&layer, layout, enc, w).map(|_| ())
        })
    } else {
        stream(gzip, move |w| {
            st.downloads.count(d, fmt);
            write_geojson(&layer, w)
        })
    };
    b.body(body).map_err(|e| ApiError::Internal(e.to_string()))
}

/// `encoding=` of a CSV download (any case); every word of [`ENCODINGS`].
fn encoding_of(word: Option<&str>) -> ApiResult<CsvEncoding> {
    match word.map(str::to_ascii_lowercase).as_deref() {
        None | Some("utf-8" | "utf8") => Ok(CsvEncoding::Utf8Bom),
        Some("cp932" | "shift_jis" | "sjis" | "windows-31j") => Ok(CsvEncoding::Cp932),
        Some(other) => Err(ApiError::BadRequest(format!(
            "encoding must be utf-8 or cp932, got {other:?}"
        ))),
    }
}

/// `layout=` of a CSV download; every word of [`LAYOUTS`].
fn layout_of(word: Option<&str>) -> ApiResult<CsvLayout> {
    match word {
        None | Some("standard") => Ok(CsvLayout::Standard),
        Some("canonical") => Ok(CsvLayout::Canonical),
        Some(other) => Err(ApiError::BadRequest(format!(
            "layout must be standard or canonical, got {other:?}"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_words_are_the_accepted_ones() {
        for w in ENCODINGS {
            assert!(encoding_of(Some(w)).is_ok(), "{w}");
            assert!(encoding_of(Some(&w.to_uppercase())).is_ok(), "{w}");
        }
        for w in LAYOUTS {
            assert!(layout_of(Some(w)).is_ok(), "{w}");
        }
        assert!(encoding_of(Some("latin1")).is_err());
        assert!(layout_of(Some("")).is_err());
    }

    #[test]
    fn file_names_follow_the_guideline() {
        assert_eq!(
            file_name("339997", DatasetId::Shelters, "csv"),
            "339997_evacuation_space.csv"
        );
        assert_eq!(
            file_name("339997", DatasetId::Wards, "geojson"),
            "339997_wards.geojson"
        );
    }

    #[test]
    fn file_parsing_refuses_unknown_things() {
        assert!(parse_file("shelters.csv").is_ok());
        assert!(matches!(
            parse_file("stockpile.geojson"),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(parse_file("nope.csv"), Err(ApiError::NotFound(_))));
        assert!(matches!(
            parse_file("shelters.xlsx"),
            Err(ApiError::NotFound(_))
        ));
        assert!(matches!(parse_file("shelters"), Err(ApiError::NotFound(_))));
    }
}
