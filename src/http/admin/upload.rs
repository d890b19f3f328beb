//! Uploads: multipart bodies streamed to disk within their limits, staged and validated off the
//! database lock.

use super::*;

/// Files of one upload, on disk.
pub(super) struct Received {
    dir: UploadDir,
    files: Vec<(PathBuf, String)>,
    fields: HashMap<String, String>,
}

/// The body of an upload request, with the multipart boundary from its `Content-Type`.
///
/// Not axum's `Multipart`: that hands the body to the multipart parser, which stops at the
/// closing boundary and may leave the last bytes unread; answering then makes the server close
/// a socket with unread data, the kernel sends a reset, and the client can lose the answer
/// (a refused upload looked like "peer disconnected"). [`receive`] reads the body itself.
pub(super) struct UploadBody {
    boundary: Result<String, String>,
    body: axum::body::Body,
}

impl<S: Send + Sync> FromRequest<S> for UploadBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, _: &S) -> Result<Self, Self::Rejection> {
        let boundary = req
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| "no Content-Type".to_string())
            .and_then(|ct| multer::parse_boundary(ct).map_err(|e| e.to_string()));
        Ok(Self {
            boundary,
            body: req.into_body(),
        })
    }
}

/// Stream a multipart upload to disk, enforcing the size limits while it streams (so a body
/// without `Content-Length` is held to them too): the whole body at most the upload limit and
/// [`FORM_SLACK`], each text (non-file) field at most the field limit, at most
/// [`MAX_TEXT_FIELDS`] of them. With `csrf`, the form's `csrf` field must come (and match)
/// before any file.
///
/// A pump task reads the request body and feeds the parser; whatever the parser leaves (the
/// rest of a refused upload, the bytes after the closing boundary) the pump reads and drops,
/// up to [`DRAIN_CAP`], before the answer goes out, so the client always sees the answer. A
/// body refused for its size whose length is unknown (chunked) is not drained: the answer goes
/// out at once and the connection is closed.
pub(super) async fn receive(
    st: &AppState,
    headers: &HeaderMap,
    up: UploadBody,
    csrf: Option<&str>,
) -> Result<Received, AdminError> {
    let limit = st.admin.config.upload_limit;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let (tx, rx) = tokio::sync::mpsc::channel(8);
    let early = match (&up.boundary, declared) {
        (Err(e), _) => Some(AdminError::BadInput(format!(
            "multipart/form-data で file を送ってください / send the files as multipart/form-data field `file`: {e}"
        ))),
        (Ok(_), Some(n)) if n > limit + FORM_SLACK => {
            if n > DRAIN_CAP {
                // Too big to read and drop: the client gets a reset, not a 413.
                return Err(AdminError::TooLarge(limit));
            }
            Some(AdminError::TooLarge(limit))
        }
        _ => None,
    };
    let pump = tokio::spawn(pump(up.body, tx));
    if let Some(e) = early {
        drop(rx); // nothing parses: the pump reads and drops
        let _ = pump.await;
        return Err(e);
    }
    let boundary = up.boundary.unwrap_or_default();
    // What the parser took from the body and what it handed on as field data: the difference
    // is what it holds (a preamble or part headers it is still looking for the end of).
    let parsed = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let stream = {
        use tokio_stream::StreamExt;
        let parsed = parsed.clone();
        let mut pulled = 0u64;
        tokio_stream::wrappers::ReceiverStream::new(rx).map(move |c| {
            let b = c.map_err(BodyError::Read)?;
            pulled += b.len() as u64;
            let held = pulled.saturating_sub(parsed.load(std::sync::atomic::Ordering::Relaxed));
            if held > PARSER_HOLD_CAP {
                return Err(BodyError::Held);
            }
            Ok(b)
        })
    };
    let constraints = multer::Constraints::new()
        .size_limit(multer::SizeLimit::new().whole_stream(limit + FORM_SLACK));
    let mut mp = multer::Multipart::with_constraints(stream, boundary, constraints);
    let res = receive_files(st, &mut mp, csrf, limit, &parsed).await;
    drop(mp);
    let oversize = matches!(
        res,
        Err(AdminError::TooLarge(_) | AdminError::FieldTooLarge { .. })
    );
    if oversize && declared.is_none_or(|n| n > DRAIN_CAP) {
        // The rest may be endless: answer now; hyper closes the connection after the answer.
        pump.abort();
    } else {
        let _ = pump.await;
    }
    res
}

/// Most bytes read and dropped after refusing an upload.
pub(super) const DRAIN_CAP: u64 = 64 * 1024 * 1024;

/// Bytes of an upload beyond its files allowed for the form itself (boundaries, part
/// headers, text fields).
pub(super) const FORM_SLACK: u64 = 64 * 1024;

/// Most text (non-file) fields of an upload form: the column-mapping form sends five per
/// column of the file (at most 200 columns, `views::console`).
pub(super) const MAX_TEXT_FIELDS: usize = 1024;

/// Most bytes the multipart parser may hold without handing them on as field data: a
/// preamble or part headers that never end are refused at this size rather than buffered.
/// (It holds at most the few chunks it has just taken from the body otherwise.)
pub(super) const PARSER_HOLD_CAP: u64 = 8 * 1024 * 1024;

/// Why the upload body stream stopped.
#[derive(Debug, thiserror::Error)]
pub(super) enum BodyError {
    /// Reading the request body failed (the client went away).
    #[error("{0}")]
    Read(axum::Error),
    /// The parser held more than [`PARSER_HOLD_CAP`] bytes without finding a field's data.
    #[error("multipart headers too large")]
    Held,
}

/// The console error for a parser error.
pub(super) fn multipart_error(e: multer::Error, limit: u64) -> AdminError {
    match e {
        multer::Error::StreamSizeExceeded { .. } => AdminError::TooLarge(limit),
        multer::Error::StreamReadFailed(inner)
            if matches!(inner.downcast_ref::<BodyError>(), Some(BodyError::Held)) =>
        {
            AdminError::FieldTooLarge {
                field: "(headers)".into(),
                limit: PARSER_HOLD_CAP,
            }
        }
        other => AdminError::BadInput(format!("upload interrupted: {other}")),
    }
}

/// Read `body` to its end, passing chunks on while the parser listens and dropping them after
/// (at most [`DRAIN_CAP`] bytes once it stopped).
pub(super) async fn pump(
    body: axum::body::Body,
    tx: tokio::sync::mpsc::Sender<Result<bytes::Bytes, axum::Error>>,
) {
    use tokio_stream::StreamExt;
    let mut s = body.into_data_stream();
    let mut listening = true;
    let mut dropped = 0u64;
    while let Some(c) = s.next().await {
        let failed = c.is_err();
        let n = c.as_ref().map_or(0, |b| b.len() as u64);
        if !listening || tx.send(c).await.is_err() {
            listening = false;
            dropped += n;
        }
        if failed || dropped > DRAIN_CAP {
            return;
        }
    }
}

pub(super) async fn receive_files(
    st: &AppState,
    mp: &mut multer::Multipart<'static>,
    csrf: Option<&str>,
    limit: u64,
    parsed: &std::sync::atomic::AtomicU64,
) -> Result<Received, AdminError> {
    use std::io::Write;
    use std::sync::atomic::Ordering;
    let field_limit = st.admin.config.field_limit;
    let dir = UploadDir::new(&st.admin)?;
    let mut files = Vec::new();
    let mut fields = HashMap::new();
    let mut texts = 0usize;
    let mut csrf_ok = csrf.is_none();
    let mut total = 0u64;
    let bad = |e: multer::Error| multipart_error(e, limit);
    while let Some(mut field) = mp.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        match field.file_name().map(str::to_string) {
            None => {
                texts += 1;
                if texts > MAX_TEXT_FIELDS {
                    return Err(AdminError::BadInput(format!(
                        "フォームの項目が多すぎます（上限{MAX_TEXT_FIELDS}） / too many form fields (at most {MAX_TEXT_FIELDS})"
                    )));
                }
                // Read piece by piece: a text field is never held whole beyond its limit.
                let mut buf = Vec::new();
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    parsed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    if (buf.len() + chunk.len()) as u64 > field_limit {
                        return Err(AdminError::FieldTooLarge {
                            field: name.chars().take(64).collect(),
                            limit: field_limit,
                        });
                    }
                    buf.extend_from_slice(&chunk);
                }
                let text = String::from_utf8_lossy(&buf);
                if name == "csrf" {
                    csrf_ok = csrf.is_some_and(|c| ct_eq(c, &text));
                }
                // A mapping (JSON or the console's form) may be longer than a plain field.
                let keep = if name == "mapping" { 64 * 1024 } else { 1000 };
                fields.insert(name, text.chars().take(keep).collect());
            }
            Some(raw_name) => {
                if !csrf_ok {
                    return Err(csrf_error());
                }
                if raw_name.is_empty() {
                    // No file chosen: skip its (normally empty) data, counted like a file's.
                    while let Some(chunk) = field.chunk().await.map_err(bad)? {
                        parsed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                        total += chunk.len() as u64;
                        if total > limit {
                            return Err(AdminError::TooLarge(limit));
                        }
                    }
                    continue;
                }
                if files.len() >= 8 {
                    return Err(AdminError::BadInput("too many files (at most 8)".into()));
                }
                let shown = uploads::safe_file_name(&raw_name);
                // Each file in its own folder so two files may share a name.
                let sub = dir.path.join(files.len().to_string());
                std::fs::create_dir_all(&sub).map_err(AdminError::writing(&sub))?;
                let path = sub.join(&shown);
                // Chunks are small and land in the page cache: written in place.
                let mut out = std::fs::File::create(&path).map_err(AdminError::writing(&path))?;
                while let Some(chunk) = field.chunk().await.map_err(bad)? {
                    parsed.fetch_add(chunk.len() as u64, Ordering::Relaxed);
                    total += chunk.len() as u64;
                    if total > limit {
                        return Err(AdminError::TooLarge(limit));
                    }
                    out.write_all(&chunk).map_err(AdminError::writing(&path))?;
                }
                out.flush().map_err(AdminError::writing(&path))?;
                files.push((path, shown));
            }
        }
    }
    if !csrf_ok {
        return Err(csrf_error());
    }
    if files.is_empty() {
        return Err(AdminError::BadInput(
            "ファイルが選ばれていません / no file was sent (multipart field `file`)".into(),
        ));
    }
    Ok(Received { dir, files, fields })
}

/// Check archives, then stage (and publish when asked). Logged whatever happens.
pub(super) async fn stage(
    st: &Arc<AppState>,
    staff: &Staff,
    d: DatasetId,
    rec: Received,
    publish: bool,
) -> Result<(Staged, crate::report::Report, bool), AdminError> {
    let names: Vec<String> = rec.files.iter().map(|(_, n)| n.clone()).collect();
    let mapping = crate::mapping::from_upload_fields(&rec.fields)
        .map_err(|e| AdminError::BadInput(e.to_string()))?;
    let st2 = st.clone();
    let (actor, role) = (staff.user.clone(), staff.role);
    let res = blocking(move || {
        let limits = st2.admin.config.zip_limits;
        for (p, n) in &rec.files {
            uploads::check_archive(p, n, &limits)?;
        }
        let paths: Vec<PathBuf> = rec.files.iter().map(|(p, _)| p.clone()).collect();
        let sha = uploads::sources_sha256(&paths)?;
        let out = uploads::stage(
            &st2.admin,
            d,
            &paths,
            &actor,
            role,
            publish,
            mapping.as_ref(),
        )?;
        drop(rec.dir);
        let live = out.2.is_none() || reload_after_commit(&st2, &d.to_string());
        Ok((out, sha, live))
    })
    .await;
    let target = d.to_string();
    match &res {
        Ok(((outcome, report, published), sha, live)) => {
            let what = match outcome {
                Staged::Staged { version, rows } => {
                    format!("staged version {version} ({rows} rows)")
                }
                Staged::Unchanged { version, .. } => {
                    format!("same as version {version}: no new version")
                }
                Staged::Rejected => format!("rejected ({} errors)", report.errors),
            };
            staff.log(
                st,
                "upload",
                &target,
                &format!("{}; sha256 {sha}; {what}", names.join(", ")),
            );
            if let Some(kind) = published {
                let v = match outcome {
                    Staged::Staged { version, .. } | Staged::Unchanged { version, .. } => *version,
                    Staged::Rejected => 0,
                };
                let action = match kind {
                    PublishKind::Publish => "publish",
                    PublishKind::Rollback => "rollback",
                };
                let detail = if *live {
                    "ok (with the upload)"
                } else {
                    "ok (with the upload; served from the next poll: the reload after it failed)"
                };
                staff.log(st, action, &format!("{d}/{v}"), detail);
            }
        }
        Err(e) => staff.log(
            st,
            "upload_refused",
            &target,
            &format!("{}: {e}", names.join(", ")),
        ),
    }
    res.map(|((outcome, report, published), _, _)| (outcome, report, published.is_some()))
}

pub(super) async fn upload_page(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path(ds): Path<String>,
    headers: HeaderMap,
    up: UploadBody,
) -> PageResult {
    let d = parse_dataset(&ds)?;
    let rec = receive(
        &st,
        &headers,
        up,
        Some(staff.csrf.as_deref().unwrap_or("-")),
    )
    .await?;
    let (outcome, report, _) = stage(&st, &staff, d, rec, false).await?;
    Ok(match outcome {
        Staged::Staged { version, .. } => see_other(&format!(
            "/admin/datasets/{d}/versions/{version}?done=staged"
        )),
        Staged::Unchanged { version, .. } => see_other(&format!(
            "/admin/datasets/{d}/versions/{version}?done=unchanged"
        )),
        Staged::Rejected => {
            let rj = serde_json::to_value(&report).unwrap_or_default();
            html(
                StatusCode::UNPROCESSABLE_ENTITY,
                pages::rejected(&staff.viewer(), d, &rj),
            )
        }
    })
}

/// The `publish` flag of an upload (query or form field): `true` or `false`, as documented.
/// Any other word is refused rather than read as "no" (a flag read wrongly is worse than a
/// clear refusal).
pub(super) fn publish_flag(s: Option<&str>) -> Result<bool, AdminError> {
    match s {
        None | Some("false") => Ok(false),
        Some("true") => Ok(true),
        Some(other) => Err(AdminError::BadInput(format!(
            "publish は true か false です / publish is true or false, not {other:?}"
        ))),
    }
}

/// The API upload's form, for the API description.
pub(super) fn upload_schema() -> serde_json::Value {
    serde_json::json!({
        "type": "object",
        "required": ["file"],
        "properties": {
            "file": {"type": "array", "minItems": 1,
                "items": {"type": "string", "format": "binary"},
                "description": "A file of the dataset (CSV, GeoJSON, zipped Shapefile); repeat the part for several"},
            "mapping": {"type": "string",
                "description": "A column mapping as JSON (see datasets/README.md)"},
            "publish": {"type": "string", "enum": ["true", "false"],
                "description": "Publish at once when accepted (as the query parameter)"}
        }
    })
}

pub(super) async fn api_upload(
    State(st): State<Arc<AppState>>,
    staff: Staff,
    Path(ds): Path<String>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
    up: UploadBody,
) -> ApiResult<Response> {
    let d = parse_dataset(&ds)?;
    let in_query = publish_flag(q.get("publish").map(String::as_str))?;
    let rec = receive(&st, &headers, up, None).await?;
    let want_publish = in_query || publish_flag(rec.fields.get("publish").map(String::as_str))?;
    let (outcome, report, published_now) = stage(&st, &staff, d, rec, want_publish).await?;
    let published = published_now
        || matches!(
            outcome,
            Staged::Unchanged {
                published: true,
                ..
            }
        );
    let mut body = Uploaded {
        ok: outcome != Staged::Rejected,
        dataset: d,
        outcome,
        report,
        message: None,
        error: None,
        status: None,
        code: None,
        preview: None,
        published,
    };
    let status = match outcome {
        Staged::Rejected => {
            // The one error shape (status, code, error) beside the report.
            let msg = "エラーがあるため取り込みませんでした。公開中のデータは変わりません / rejected: the published data is unchanged";
            body.message = Some(msg.into());
            body.error = Some(msg.into());
            body.status = Some(StatusCode::UNPROCESSABLE_ENTITY.as_u16());
            body.code = Some("rejected");
            StatusCode::UNPROCESSABLE_ENTITY
        }
        Staged::Unchanged {
            version,
            published: p,
        } => {
            body.message = Some(format!(
                "{}版{version}と同じファイルです。新しい版は作りません / same files as {} version {version}: no new version",
                if p { "公開中の" } else { "未公開の" },
                if p { "published" } else { "staged" }
            ));
            StatusCode::OK
        }
        Staged::Staged { version, .. } => {
            if !published {
                let st2 = st.clone();
                let (df, _) = blocking(move || preview(&st2, d, version)).await?;
                body.preview = Some(df);
            }
            StatusCode::CREATED
        }
    };
    Ok((status, Json(body)).into_response())
}

/// What an upload through the API answers: 201 with a new version, 200 for the same files
/// again, 422 when refused (then with the one error shape's `status`, `code` and `error`
/// beside the report; the published data is unchanged).
#[derive(Serialize, JsonSchema)]
pub(super) struct Uploaded {
    /// False only when refused (422).
    ok: bool,
    dataset: DatasetId,
    outcome: Staged,
    /// The validation report: every issue located by file, row and column.
    report: crate::report::Report,
    /// What happened, Japanese and English, unless a new version was staged.
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<String>,
    /// When refused: the message again, as the error shape has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    /// When refused: 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<u16>,
    /// When refused: `rejected`.
    #[serde(skip_serializing_if = "Option::is_none")]
    code: Option<&'static str>,
    /// A new version left unpublished: its difference from the published one.
    #[serde(skip_serializing_if = "Option::is_none")]
    preview: Option<diff::Diff>,
    /// Whether the upload is what is served now.
    published: bool,
}
