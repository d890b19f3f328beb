//! `/tiles/{ids}/{z}/{x}/{y}.mvt` and `/tiles/{ids}.json` (TileJSON 3.0.0). `ids` is one dataset
//! or several joined by commas (one source-layer each).

use super::replies;
use super::route::{path_param, path_typed, query, Param, Route, Serve, Ty, ROUTE};
use super::{send_cached, ApiError, ApiResult, AppState};
use crate::dataset::{DatasetId, SqlType};
use crate::index::Layer;
use crate::tiles::cache::CachedTile;
use crate::tiles::render::render_layers;
use crate::tiles::TileCoord;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Zoom range announced in TileJSON; clients overzoom above `MAXZOOM`.
pub const MINZOOM: u8 = 5;
/// See [`MINZOOM`].
pub const MAXZOOM: u8 = 16;

const IDS: Param = path_param(
    "ids",
    "A dataset id, or several joined by commas (one source-layer each)",
    "flood,landslide",
);

/// The deepest zoom a tile may be asked for (overzoomed from [`MAXZOOM`]).
const MAX_REQUEST_ZOOM: i64 = crate::tiles::coord::MAX_ZOOM as i64;
/// A column or row at the deepest zoom.
const TILE_INDEX: Ty = Ty::Int {
    min: 0,
    max: (1 << MAX_REQUEST_ZOOM) - 1,
};

/// Routes of this module (see `route`).
pub const ROUTES: &[Route] = &[
    Route {
        path: "/tiles/{ids}.json",
        serve: Serve::At("/tiles/{file}", || get(get_tilejson)),
        returns: Some(replies::of::<TileJson>),
        tag: "tiles",
        summary: "TileJSON 3.0.0 of one dataset or a comma-joined composite",
        params: &[IDS],
        produces: &["application/json"],
        errors: &[404],
        ..ROUTE
    },
    Route {
        path: "/tiles/{ids}/{z}/{x}/{y}.mvt",
        serve: Serve::At(TILE_ROUTE, || get(get_tile)),
        tag: "tiles",
        summary: "A Mapbox Vector Tile (MVT 2.1); add ?v=VERSION for an immutable URL",
        params: &[
            IDS,
            path_typed(
                "z",
                Ty::Int {
                    min: 0,
                    max: MAX_REQUEST_ZOOM,
                },
                "Zoom (overzoomed above 16)",
                "12",
            ),
            path_typed(
                "x",
                TILE_INDEX,
                "Column (404 beyond the zoom's columns)",
                "3571",
            ),
            path_typed("y", TILE_INDEX, "Row (404 beyond the zoom's rows)", "1627"),
            query(
                "v",
                Ty::Str,
                "Data version token from TileJSON; makes the response immutable",
            ),
        ],
        produces: &["application/vnd.mapbox-vector-tile"],
        errors: &[400, 404],
        ..ROUTE
    },
    Route {
        path: "/pmtiles/{z}/{x}/{file}",
        serve: Serve::Here(|| get(get_pmtile)),
        unlisted: Some(
            "only with `serve --pmtiles FILE`, and it answers 204 for a tile the archive lacks \
             (as static tile servers do), which the description's success shapes do not cover",
        ),
        ..ROUTE
    },
];

/// The tile route, as the router matches it and as metrics label it.
pub const TILE_ROUTE: &str = "/tiles/{ids}/{z}/{x}/{file}";

/// Where tile renders wait their turn: at most one per core at a time, first come first
/// served, and one render per tile however many ask for it at once.
///
/// Without it every miss got its own blocking thread, so under a burst 64 renders shared two
/// cores and a small city tile waited behind slices of every overview tile (bench-tiles cold
/// p99 7–9 s). In turn, a request waits only for the renders queued before it. On a disaster
/// day thousands of phones ask for the same few tiles at the same moment; the ones asking
/// while a tile is being rendered share that render instead of each starting one.
///
/// Renders and reads run on threads of their own ([`Workers`]), not on tokio's blocking pool:
/// that pool starts a thread whenever none is idle at the moment of asking, so even with one
/// turn per core it grew to ~30 threads under cold load, each keeping its allocator pages
/// (1.67 GB resident against 1.0 GB at start).
pub struct RenderGate {
    renders: Workers,
    inflight: Arc<std::sync::Mutex<HashMap<String, Pending>>>,
    /// Reads of stored tiles, one per core like renders, on threads apart from the renders
    /// so a read (well under a millisecond) never waits behind a render.
    reads: Workers,
}

/// The outcome of a render under way, for every request waiting on it.
type Pending = tokio::sync::watch::Receiver<Option<Result<Arc<CachedTile>, String>>>;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of named threads running jobs in the order they were given. The threads end
/// when the set is dropped (after the jobs already given).
pub struct Workers {
    jobs: std::sync::mpsc::Sender<Job>,
}

impl Workers {
    /// `n` threads named `name-0`, `name-1`, ….
    pub fn new(n: usize, name: &str) -> Workers {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for i in 0..n.max(1) {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{name}-{i}"))
                .spawn(move || loop {
                    // The lock is held only to take the next job, not while running it.
                    let job = match rx.lock() {
                        Ok(r) => r.recv(),
                        Err(_) => return,
                    };
                    match job {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                });
            if let Err(e) = spawned {
                tracing::warn!("cannot start a {name} thread: {e}");
            }
        }
        Workers { jobs: tx }
    }

    /// Run `f` on one of the threads when its turn comes; `Err` if it panicked.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, String> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(move || {
            let _ = tx.send(catch(f));
        })?;
        rx.await.map_err(|_| "worker thread gone".to_string())?
    }

    fn submit(&self, job: impl FnOnce() + Send + 'static) -> Result<(), String> {
        self.jobs
            .send(Box::new(job))
            .map_err(|_| "worker threads gone".to_string())
    }
}

/// `f()`, with a panic turned into its message (the worker thread lives on).
fn catch<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|p| {
        p.downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| p.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "panicked".into())
    })
}

impl RenderGate {
    /// A gate letting `workers` renders (and as many reads) run at once.
    pub fn new(workers: usize) -> RenderGate {
        RenderGate {
            renders: Workers::new(workers, "render"),
            reads: Workers::new(workers, "read-tile"),
            inflight: Arc::new(std::sync::Mutex::new(HashMap::new())),
        }
    }

    /// The tile of `key`: rendered by `render` once a worker is free, or the result of the
    /// render of the same key already under way.
    ///
    /// The render is a job of its own: a client that goes away neither frees a worker early
    /// nor makes the next waiter render again, and the key leaves the list of renders under
    /// way when its render ends, whoever still waits.
    pub async fn run<F>(&self, key: &str, render: F) -> ApiResult<Arc<CachedTile>>
    where
        F: FnOnce() -> Arc<CachedTile> + Send + 'static,
    {
        let mut rx = {
            let mut m = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            match m.get(key) {
                Some(rx) => rx.clone(),
                None => {
                    let (tx, rx) = tokio::sync::watch::channel(None);
                    let (inflight, owned) = (self.inflight.clone(), key.to_string());
                    self.renders
                        .submit(move || {
                            let out = catch(render);
                            inflight
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .remove(&owned);
                            let _ = tx.send(Some(out));
                        })
                        .map_err(ApiError::Internal)?;
                    m.insert(key.to_string(), rx.clone());
                    rx
                }
            }
        };
        let done = rx
            .wait_for(Option::is_some)
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        match done.as_ref() {
            Some(Ok(t)) => Ok(t.clone()),
            Some(Err(e)) => Err(ApiError::Internal(format!("tile render failed: {e}"))),
            None => Err(ApiError::Internal("tile render vanished".into())),
        }
    }

    /// `read` (a disk read of a stored tile) on a read thread, at most one per core at a
    /// time; `None` if it panicked.
    pub async fn read<T: Send + 'static>(
        &self,
        read: impl FnOnce() -> T + Send + 'static,
    ) -> Option<T> {
        self.reads.run(read).await.ok()
    }

    /// Renders under way or waiting (the tests check that finished ones leave).
    pub fn pending(&self) -> usize {
        self.inflight.lock().map_or(0, |m| m.len())
    }
}

/// Parse `flood,landslide` into published layers (404 for unknown or unpublished ones), in
/// the canonical order (catalog order, as the PMTiles export draws them): `landslide,flood` is the same tile set as `flood,landslide`,
/// drawn, cached and versioned once.
pub fn layers_for(st: &AppState, ids: &str) -> ApiResult<Vec<Arc<Layer>>> {
    let snap = st.snapshot.load();
    let mut out = Vec::new();
    for id in ids.split(',') {
        let d: DatasetId = id
            .parse()
            .map_err(|_| ApiError::NotFound(format!("no tile set {id:?}")))?;
        if !d.has_geometry() {
            return Err(ApiError::NotFound(format!(
                "{d} has no geometry, so no tiles"
            )));
        }
        let l = snap
            .layer(d)
            .ok_or_else(|| ApiError::NotFound(format!("{d} is not published yet")))?;
        if out.iter().any(|x: &Arc<Layer>| x.dataset == d) {
            return Err(ApiError::BadRequest(format!("{d} is listed twice")));
        }
        out.push(l.clone());
    }
    out.sort_unstable_by_key(|l| l.dataset);
    Ok(out)
}

/// The ids of `layers` as a tile URL names them, in canonical order.
fn canonical_ids(layers: &[Arc<Layer>]) -> String {
    let ids: Vec<&str> = layers.iter().map(|l| l.dataset.as_str()).collect();
    ids.join(",")
}

/// The version token of a set of layers, as used in tile URLs (`?v=`) and cache keys.
pub fn version_token(layers: &[Arc<Layer>]) -> String {
    let mut token = String::new();
    push_token(&mut token, layers.iter().map(|l| l.as_ref()));
    token
}

fn push_token<'a>(out: &mut String, layers: impl IntoIterator<Item = &'a Layer>) {
    for (i, l) in layers.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(&l.version_tag());
    }
}

/// The cache key of tile `coord` of `layers` — their [`version_token`], then `/z/x/y` — and the
/// length of the token part (what `?v=` must equal for an immutable URL). One function for
/// the routed handler and the front door, so a tile is cached and found under one key.
fn tile_key<'a>(layers: impl IntoIterator<Item = &'a Layer>, coord: TileCoord) -> (String, usize) {
    use std::fmt::Write as _;
    let mut key = String::with_capacity(64);
    push_token(&mut key, layers);
    let token_len = key.len();
    let _ = write!(key, "/{}/{}/{}", coord.z, coord.x, coord.y);
    (key, token_len)
}

fn num<T: std::str::FromStr>(s: &str, what: &str) -> ApiResult<T> {
    s.parse().map_err(|_| {
        ApiError::BadRequest(format!("{what} must be a non-negative integer, got {s:?}"))
    })
}

/// `Cache-Control` of a tile: a year for a URL naming the versions it was drawn from
/// (`?v=` equal to the version token), a minute otherwise.
fn cache_control(immutable: bool) -> &'static str {
    if immutable {
        "public, max-age=31536000, immutable"
    } else {
        "public, max-age=60"
    }
}

/// A `GET` of a tile the cache holds, answered without the router (see `http::CacheDoor` and
/// `http::FrontDoor`):
/// the same key, validator and response as [`get_tile`] gives on a hit, with nothing copied
/// out of the request.
///
/// `None` for everything else — a miss, another method, any URL needing decoding (`%` or `+`
/// in the dataset ids or the query) or that the router would reject — and the router then
/// answers it as always (a miss is counted there, not here).
pub fn from_cache(st: &AppState, req: &axum::extract::Request) -> Option<Response> {
    if req.method() != axum::http::Method::GET {
        return None;
    }
    let rest = req.uri().path().strip_prefix("/tiles/")?;
    let mut parts = rest.split('/');
    let (ids, z, x, file) = (parts.next()?, parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || ids.contains(['%', '+']) {
        return None;
    }
    let y = file
        .strip_suffix(".mvt")
        .or_else(|| file.strip_suffix(".pbf"))?;
    let coord = TileCoord::new(z.parse().ok()?, x.parse().ok()?, y.parse().ok()?).ok()?;
    // Ids the router would refuse (unknown, no geometry, listed twice) make keys no tile is
    // put under.
    let snap = st.snapshot.load();
    let mut layers = ids
        .split(',')
        .map(|id| snap.layer(id.parse().ok()?).map(|l| l.as_ref()))
        .collect::<Option<Vec<&Layer>>>()?;
    // The canonical order, as [`layers_for`] gives it.
    layers.sort_unstable_by_key(|l| l.dataset);
    let (key, token_len) = tile_key(layers, coord);
    let immutable = match req.uri().query() {
        None => false,
        Some(q) if q.contains(['%', '+']) => return None,
        // As `Query<HashMap>` reads it: the last `v` wins.
        Some(q) => q
            .rsplit('&')
            .map(|p| p.split_once('=').unwrap_or((p, "")))
            .find(|(k, _)| *k == "v")
            .is_some_and(|(_, v)| v == &key[..token_len]),
    };
    let tile = st.tiles.get_hit(&key)?;
    Some(send_cached(
        req.headers(),
        &tile,
        "application/vnd.mapbox-vector-tile",
        cache_control(immutable),
    ))
}

async fn get_tile(
    State(st): State<Arc<AppState>>,
    Path((ids, z, x, file)): Path<(String, String, String, String)>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let y = file
        .strip_suffix(".mvt")
        .or_else(|| file.strip_suffix(".pbf"))
        .ok_or_else(|| ApiError::NotFound(format!("tiles end in .mvt, got {file:?}")))?;
    // A tile beyond the zoom's rows or columns is not there (404); a zoom past the deepest
    // is a request that cannot be (400).
    let z: u32 = num(&z, "z")?;
    if i64::from(z) > MAX_REQUEST_ZOOM {
        return Err(ApiError::BadRequest(format!(
            "z must be from 0 to {MAX_REQUEST_ZOOM}, got {z}"
        )));
    }
    let coord = TileCoord::new(z, num(&x, "x")?, num(y, "y")?)
        .map_err(|e| ApiError::NotFound(e.to_string()))?;
    let layers = layers_for(&st, &ids)?;
    tile_response(&st, layers, coord, q.get("v").map(String::as_str), &headers).await
}

/// The response for tile `coord` of `layers` (in canonical order, see [`layers_for`]): from
/// the cache, read from the tile set drawn at publish, or drawn, then cached. `v` is the
/// version token of an immutable URL. Every URL of a tile comes here (`/tiles/…` and the OGC
/// API – Tiles template), so one tile has one cache entry, one ETag and the same bytes.
pub async fn tile_response(
    st: &AppState,
    layers: Vec<Arc<Layer>>,
    coord: TileCoord,
    v: Option<&str>,
    headers: &HeaderMap,
) -> ApiResult<Response> {
    let (key, token_len) = tile_key(layers.iter().map(|l| l.as_ref()), coord);
    let cache_control = cache_control(v.is_some_and(|v| v == &key[..token_len]));
    let tile = match st.tiles.get(&key) {
        Some(t) => t,
        None => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            key.hash(&mut h);
            let etag = format!("\"{:016x}\"", h.finish());
            let enc = super::tile_encoding(headers);
            // A tile drawn at publish (overview zooms of a large layer, single-layer
            // requests): read, not drawn; on a read thread of the gate (a disk read, and the
            // other encodings made from it for clients without gzip). A damaged one is drawn
            // instead.
            let stored = match layers.as_slice() {
                [l] if st.config.tilesets && l.tileset.get().is_some() => {
                    let (l, key, etag) = (l.clone(), key.clone(), etag.clone());
                    st.render
                        .read(move || {
                            let t = l.tileset.get()?.get(coord.z, coord.x, coord.y)?;
                            let t = t
                                .map_err(|e| tracing::warn!("{key}: {e}; drawing it instead"))
                                .ok()?;
                            let t = CachedTile::from_gzip(t.gzip, t.raw_len, etag);
                            t.body(enc);
                            Some(Arc::new(t))
                        })
                        .await
                        .flatten()
                }
                _ => None,
            };
            let t = match stored {
                Some(t) => t,
                None => {
                    let ls = layers.clone();
                    // Render and compress (only the encoding this client wants) off the async
                    // workers.
                    st.render
                        .run(&key, move || {
                            let refs: Vec<&Layer> = ls.iter().map(|l| l.as_ref()).collect();
                            let raw = render_layers(&refs, coord);
                            let t = Arc::new(CachedTile::new(raw, etag));
                            t.body(enc);
                            t
                        })
                        .await?
                }
            };
            st.tiles
                .put(key, layers.iter().map(|l| l.dataset).collect(), t.clone());
            t
        }
    };
    Ok(send_cached(
        headers,
        &tile,
        "application/vnd.mapbox-vector-tile",
        cache_control,
    ))
}

/// A tile from the PMTiles archive given to `serve --pmtiles` (204 where it has none, as
/// static tile servers answer for empty tiles).
async fn get_pmtile(
    State(st): State<Arc<AppState>>,
    Path((z, x, file)): Path<(String, String, String)>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let archive = st.pmtiles.as_ref().ok_or_else(|| {
        ApiError::NotFound("no PMTiles archive is served (serve --pmtiles FILE)".into())
    })?;
    let y = file
        .strip_suffix(".mvt")
        .ok_or_else(|| ApiError::NotFound(format!("tiles end in .mvt, got {file:?}")))?;
    let coord = TileCoord::new(num(&z, "z")?, num(&x, "x")?, num(y, "y")?)
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let version = archive.metadata["version"]
        .as_str()
        .unwrap_or("")
        .to_string();
    match archive
        .tile(coord.z, u64::from(coord.x), u64::from(coord.y))
        .map_err(|e| ApiError::Internal(e.to_string()))?
    {
        Some(raw) => {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (&version, coord.z, coord.x, coord.y).hash(&mut h);
            let t = CachedTile::new(raw, format!("\"p{:016x}\"", h.finish()));
            Ok(send_cached(
                &headers,
                &t,
                "application/vnd.mapbox-vector-tile",
                cache_control(false),
            ))
        }
        None => Ok(axum::http::StatusCode::NO_CONTENT.into_response()),
    }
}

/// TileJSON 3.0.0 for a set of layers: the fields MapLibre and GDAL read, typed so the API
/// description is derived from what is sent.
#[derive(Debug, Serialize, JsonSchema)]
pub struct TileJson {
    /// `3.0.0`.
    #[schemars(extend("enum" = ["3.0.0"]))]
    tilejson: &'static str,
    /// The layers' Japanese titles joined by ` + `.
    name: String,
    /// The document's own version.
    version: &'static str,
    /// `xyz`: y grows southwards.
    #[schemars(extend("enum" = ["xyz"]))]
    scheme: &'static str,
    attribution: &'static str,
    /// The tile URL template, with `?v=` naming the published versions.
    #[schemars(length(min = 1))]
    tiles: Vec<String>,
    minzoom: u8,
    /// Clients overzoom above it.
    maxzoom: u8,
    /// `[west, south, east, north]` (JGD2011 degrees) of the layers' data.
    bounds: [f64; 4],
    /// `[longitude, latitude, zoom]` at the middle of `bounds`.
    center: (f64, f64, u8),
    /// One per layer of the tiles (a polygon layer's label points are a layer of their own).
    vector_layers: Vec<VectorLayer>,
}

/// A layer of the tiles (TileJSON `vector_layers`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct VectorLayer {
    /// The layer's name in the tiles.
    id: String,
    /// Japanese / English title.
    description: String,
    /// Each attribute's type.
    fields: BTreeMap<String, FieldType>,
    minzoom: u8,
    maxzoom: u8,
}

/// A vector tile attribute's type, as TileJSON names it.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
pub enum FieldType {
    Number,
    Boolean,
    String,
}

fn field_type(ty: SqlType) -> FieldType {
    match ty {
        SqlType::Int | SqlType::Float => FieldType::Number,
        SqlType::Bool => FieldType::Boolean,
        SqlType::Text | SqlType::Date => FieldType::String,
    }
}

/// TileJSON 3.0.0 for a set of layers.
pub fn tilejson(base: &str, ids: &str, layers: &[Arc<Layer>]) -> TileJson {
    let token = version_token(layers);
    let bounds = layers
        .iter()
        .filter_map(|l| l.bbox)
        .reduce(crate::geom::union_bbox)
        .unwrap_or([122.0, 20.0, 154.0, 46.0]);
    let mut vector_layers = Vec::new();
    for l in layers {
        let fields: BTreeMap<String, FieldType> = l
            .columns()
            .iter()
            .map(|c| (c.name.to_string(), field_type(c.ty)))
            .collect();
        let layer = |id: String, description: String| VectorLayer {
            id,
            description,
            fields: fields.clone(),
            minzoom: MINZOOM,
            maxzoom: MAXZOOM,
        };
        vector_layers.push(layer(
            l.dataset.as_str().to_string(),
            format!("{} / {}", l.dataset.title_ja(), l.dataset.title_en()),
        ));
        if crate::tiles::render::has_label_layer(l.dataset) {
            vector_layers.push(layer(
                format!("{}_label", l.dataset),
                "label points (one point inside each polygon)".to_string(),
            ));
        }
    }
    let names: Vec<&str> = layers.iter().map(|l| l.dataset.title_ja()).collect();
    TileJson {
        tilejson: "3.0.0",
        name: names.join(" + "),
        version: "1.0.0",
        scheme: "xyz",
        attribution: "machimap",
        tiles: vec![format!(
            "{base}/tiles/{ids}/{{z}}/{{x}}/{{y}}.mvt?v={token}"
        )],
        minzoom: MINZOOM,
        maxzoom: MAXZOOM,
        bounds,
        center: (
            (bounds[0] + bounds[2]) / 2.0,
            (bounds[1] + bounds[3]) / 2.0,
            13,
        ),
        vector_layers,
    }
}

async fn get_tilejson(
    State(st): State<Arc<AppState>>,
    Path(file): Path<String>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let ids = file
        .strip_suffix(".json")
        .ok_or_else(|| ApiError::NotFound(format!("no such resource /tiles/{file}")))?;
    let layers = layers_for(&st, ids)?;
    let base = st.base_url(&headers);
    // Tile URLs in the canonical order, whatever order this was asked in.
    let body = tilejson(&base, &canonical_ids(&layers), &layers);
    let etag = format!("\"tj-{}\"", version_token(&layers));
    if super::not_modified(&headers, &etag) {
        return Ok((
            axum::http::StatusCode::NOT_MODIFIED,
            [(axum::http::header::ETAG, etag)],
        )
            .into_response());
    }
    Ok((
        [
            (axum::http::header::ETAG, etag),
            (
                axum::http::header::CACHE_CONTROL,
                "public, max-age=60".to_string(),
            ),
        ],
        Json(body),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    /// One request through the router, as hyper would hand it over.
    async fn routed(router: &mut axum::Router, req: axum::extract::Request) -> (Response, Vec<u8>) {
        let resp = tower_service::Service::call(router, req).await.unwrap();
        split(resp).await
    }

    async fn split(resp: Response) -> (Response, Vec<u8>) {
        let (parts, body) = resp.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX)
            .await
            .unwrap()
            .to_vec();
        (Response::from_parts(parts, axum::body::Body::empty()), body)
    }

    fn request(uri: &str, headers: &[(&str, &str)]) -> axum::extract::Request {
        let mut b = axum::http::Request::get(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(axum::body::Body::empty()).unwrap()
    }

    /// The server state of the flood fixture, with the default configuration (the folder
    /// must outlive the state).
    async fn flood_state() -> (tempfile::TempDir, Arc<AppState>) {
        let dir = tempfile::tempdir().unwrap();
        drop(crate::index::flood_fixture(dir.path()));
        let db = dir.path().join("t.duckdb");
        let st = tokio::task::spawn_blocking(move || AppState::open(db, Default::default()))
            .await
            .unwrap()
            .unwrap();
        (dir, Arc::new(st))
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cached_tiles_are_answered_before_routing_with_the_routers_response() {
        let (_dir, st) = flood_state().await;
        let mut router = super::super::router(st.clone());
        let token = version_token(&layers_for(&st, "flood").unwrap());
        // The middle of サンプル市.
        let (x, y) = {
            let c = crate::tiles::coord::tile_for(133.93, 34.60, 14);
            (c.x, c.y)
        };
        let path = format!("/tiles/flood/14/{x}/{y}.mvt");
        // Not cached yet: the front door passes, the router draws and caches.
        let plain = request(&path, &[]);
        assert!(from_cache(&st, &plain).is_none());
        let misses = st.tiles.misses.load(std::sync::atomic::Ordering::Relaxed);
        let (first, first_body) = routed(&mut router, plain).await;
        assert_eq!(first.status(), 200);
        assert_eq!(
            st.tiles.misses.load(std::sync::atomic::Ordering::Relaxed),
            misses + 1,
            "a miss is counted once, by the router"
        );
        let etag = first.headers()["etag"].to_str().unwrap().to_string();
        let imm = format!("{path}?v={token}");
        let other = format!("{path}?v=flood-v999&v={token}");
        let cases: Vec<(String, Vec<(&str, &str)>)> = vec![
            (path.clone(), vec![]),
            (path.clone(), vec![("Accept-Encoding", "gzip, deflate, br")]),
            (path.clone(), vec![("Accept-Encoding", "br")]),
            (path.clone(), vec![("If-None-Match", etag.as_str())]),
            (path.clone(), vec![("If-None-Match", "\"other\"")]),
            (path.replace(".mvt", ".pbf"), vec![]),
            (imm.clone(), vec![("Accept-Encoding", "gzip")]),
            (other, vec![]),
            (format!("{path}?v=old"), vec![]),
        ];
        let hits = st.tiles.hits.load(std::sync::atomic::Ordering::Relaxed);
        for (uri, headers) in &cases {
            let fast = from_cache(&st, &request(uri, headers))
                .unwrap_or_else(|| panic!("{uri} {headers:?}: cached, so answered at the door"));
            let (fast, fast_body) = split(fast).await;
            let (slow, slow_body) = routed(&mut router, request(uri, headers)).await;
            assert_eq!(fast.status(), slow.status(), "{uri} {headers:?}");
            // The router's answer also passed through `track`, which adds CORS headers only
            // for an Origin; none here, so the header sets must be equal.
            let mut a: Vec<_> = fast.headers().iter().collect();
            let mut b: Vec<_> = slow.headers().iter().collect();
            a.sort_by_key(|(k, v)| (k.as_str(), v.as_bytes()));
            b.sort_by_key(|(k, v)| (k.as_str(), v.as_bytes()));
            assert_eq!(a, b, "{uri} {headers:?}");
            assert!(fast_body == slow_body, "{uri} {headers:?}: bodies differ");
        }
        assert_eq!(
            st.tiles.hits.load(std::sync::atomic::Ordering::Relaxed),
            hits + 2 * cases.len() as u64
        );
        let (gz, _) = split(from_cache(&st, &request(&imm, &[])).unwrap()).await;
        assert_eq!(
            gz.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(
            first_body.len(),
            gz.headers()["content-length"]
                .to_str()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        );
        // Left to the router: other methods, anything needing decoding, what it refuses, and
        // tiles not cached.
        let head = axum::http::Request::head(&path)
            .body(axum::body::Body::empty())
            .unwrap();
        assert!(from_cache(&st, &head).is_none());
        for uri in [
            path.replace("flood", "fl%6Fod"),
            format!("{path}?v=flood%2Dv1"),
            format!("{path}?v=a+b"),
            path.replace("flood", "flood,flood"),
            path.replace("flood", "parks"),
            path.replace("flood", "stockpile"),
            path.replace(".mvt", ".png"),
            format!("{path}/"),
            format!("/tiles/flood/14/{x}/{}.mvt", y + 1),
            "/tiles/flood/2/9/0.mvt".to_string(),
        ] {
            assert!(from_cache(&st, &request(&uri, &[])).is_none(), "{uri}");
        }
    }

    /// With every origin allowed, a cached tile is answered by `http::FrontDoor` itself with
    /// the headers the layers (tower-http's CORS, `nosniff`) give the same tile: header for
    /// header, with and without an `Origin`. (With a list of origins every request goes
    /// through the layers.)
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn the_front_door_answers_cached_tiles_as_the_layers_would() {
        let (_dir, st) = flood_state().await;
        assert_eq!(st.config.cors_origins, vec!["*".to_string()], "the default");
        let mut door = super::super::service(st.clone());
        assert!(door.open);
        let c = crate::tiles::coord::tile_for(133.93, 34.60, 14);
        let path = format!("/tiles/flood/14/{}/{}.mvt", c.x, c.y);
        let (first, _) = split(
            tower_service::Service::call(&mut door, request(&path, &[]))
                .await
                .unwrap(),
        )
        .await;
        assert_eq!(first.status(), 200);
        for headers in [
            vec![],
            vec![("Origin", "https://example.org")],
            vec![("Accept-Encoding", "gzip"), ("Origin", "null")],
        ] {
            let hits = st.tiles.hits.load(Ordering::Relaxed);
            let (fast, fast_body) = split(
                tower_service::Service::call(&mut door, request(&path, &headers))
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(st.tiles.hits.load(Ordering::Relaxed), hits + 1);
            let (layered, layered_body) = split(
                tower_service::Service::call(&mut door.layered, request(&path, &headers))
                    .await
                    .unwrap(),
            )
            .await;
            assert_eq!(
                st.tiles.hits.load(Ordering::Relaxed),
                hits + 2,
                "a hit both ways"
            );
            let mut a: Vec<_> = fast.headers().iter().collect();
            let mut b: Vec<_> = layered.headers().iter().collect();
            a.sort_by_key(|(k, v)| (k.as_str(), v.as_bytes()));
            b.sort_by_key(|(k, v)| (k.as_str(), v.as_bytes()));
            assert_eq!(a, b, "{headers:?}");
            assert!(fast.headers().contains_key("access-control-allow-origin"));
            assert!(fast_body == layered_body);
        }
    }

    /// A render that takes `ms`, counting how many run at once and in all.
    fn slow(
        ms: u64,
        now: Arc<AtomicUsize>,
        peak: Arc<AtomicUsize>,
        total: Arc<AtomicUsize>,
    ) -> impl FnOnce() -> Arc<CachedTile> + Send + 'static {
        move || {
            let n = now.fetch_add(1, Ordering::SeqCst) + 1;
            peak.fetch_max(n, Ordering::SeqCst);
            total.fetch_add(1, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(ms));
            now.fetch_sub(1, Ordering::SeqCst);
            Arc::new(CachedTile::new(vec![1, 2, 3], "\"e\"".into()))
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn renders_queue_per_worker_and_share_one_render_per_tile() {
        let gate = Arc::new(RenderGate::new(2));
        let counters = || Arc::new(AtomicUsize::new(0));
        let (now, peak, total) = (counters(), counters(), counters());
        // 12 different tiles at once: never more than 2 renders at a time, each rendered once.
        let mut tasks = Vec::new();
        for i in 0..12 {
            let (g, f) = (
                gate.clone(),
                slow(30, now.clone(), peak.clone(), total.clone()),
            );
            tasks.push(tokio::spawn(
                async move { g.run(&format!("t/{i}"), f).await },
            ));
        }
        for t in tasks {
            assert_eq!(t.await.unwrap().unwrap().raw().as_ref(), &[1, 2, 3]);
        }
        assert_eq!(peak.load(Ordering::SeqCst), 2);
        assert_eq!(total.load(Ordering::SeqCst), 12);
        // 20 requests for one tile at once: one render, every request answered with it.
        total.store(0, Ordering::SeqCst);
        let mut tasks = Vec::new();
        for _ in 0..20 {
            let (g, f) = (
                gate.clone(),
                slow(50, now.clone(), peak.clone(), total.clone()),
            );
            tasks.push(tokio::spawn(async move { g.run("same/1/2/3", f).await }));
        }
        let mut tiles = Vec::new();
        for t in tasks {
            tiles.push(t.await.unwrap().unwrap());
        }
        assert_eq!(total.load(Ordering::SeqCst), 1);
        assert!(tiles.iter().all(|t| Arc::ptr_eq(t, &tiles[0])));
        assert_eq!(gate.pending(), 0, "finished renders leave nothing behind");
        // Once done, a later request for that tile renders again (the cache, not the gate,
        // keeps tiles).
        let f = slow(1, now.clone(), peak.clone(), total.clone());
        gate.run("same/1/2/3", f).await.unwrap();
        assert_eq!(total.load(Ordering::SeqCst), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn workers_run_jobs_on_their_own_threads_and_outlive_a_panic() {
        let w = Workers::new(1, "test-worker");
        let e = w.run(|| -> u8 { panic!("boom") }).await.unwrap_err();
        assert!(e.contains("boom"), "{e}");
        // The one thread survived and runs the next job, on itself, not a pool thread.
        let name = w
            .run(|| std::thread::current().name().map(str::to_string))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("test-worker-0"));
        // A render that panics reaches its waiters as an error and leaves no key behind.
        let gate = RenderGate::new(1);
        let r = gate.run("k", || panic!("render broke")).await;
        assert!(matches!(r, Err(ApiError::Internal(m)) if m.contains("render broke")));
        assert_eq!(gate.pending(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn clients_that_leave_neither_free_a_worker_nor_restart_a_render() {
        let gate = Arc::new(RenderGate::new(1));
        let counters = || Arc::new(AtomicUsize::new(0));
        let (now, peak, total) = (counters(), counters(), counters());
        // The first request for a tile gives up while its render runs; a second one waits.
        let f = slow(150, now.clone(), peak.clone(), total.clone());
        let g = gate.clone();
        let first = tokio::spawn(async move { g.run("k/1", f).await });
        tokio::time::sleep(Duration::from_millis(30)).await;
        first.abort();
        let f = slow(150, now.clone(), peak.clone(), total.clone());
        let g = gate.clone();
        let second = tokio::spawn(async move { g.run("k/1", f).await });
        // Another tile meanwhile: it must wait for the one worker, not run beside the render.
        let f = slow(10, now.clone(), peak.clone(), total.clone());
        let g = gate.clone();
        let other = tokio::spawn(async move { g.run("k/2", f).await });
        assert!(second.await.unwrap().is_ok());
        assert!(other.await.unwrap().is_ok());
        assert_eq!(
            total.load(Ordering::SeqCst),
            2,
            "k/1 rendered once, k/2 once"
        );
        assert_eq!(peak.load(Ordering::SeqCst), 1);
        // Every waiter gone: the entry still leaves when the render ends.
        let f = slow(50, now.clone(), peak.clone(), total.clone());
        let g = gate.clone();
        let lone = tokio::spawn(async move { g.run("k/3", f).await });
        tokio::time::sleep(Duration::from_millis(10)).await;
        lone.abort();
        tokio::time::sleep(Duration::from_millis(120)).await;
        assert_eq!(gate.pending(), 0);
    }
}
