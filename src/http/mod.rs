//! The HTTP server (axum): routes, shared state, caching headers, metrics, and the loop that
//! picks up new publishes without a restart.
//!
//! **Boundary:** this is the only module that knows about axum, status codes or response shapes.
//! Handlers read an immutable [`Snapshot`] and call into `tiles`, `index` and the exporters.

pub mod admin;
pub mod catalog;
pub mod datasets;
pub mod downloads;
pub mod error;
pub mod geocode;
pub mod limits;
pub mod metrics;
pub mod ogc;
pub mod ogc_crs;
pub mod ogc_schema;
pub mod ogc_status;
pub mod ogc_tiles;
pub mod openapi;
pub mod replies;
pub mod risk;
pub mod route;
pub mod search;
pub mod shelter_status;
pub mod tiles;
pub mod web;

use crate::index::Snapshot;
use crate::store::Store;
use crate::tiles::cache::{CachedTile, Encoding, TileCache};
use arc_swap::ArcSwap;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
pub use error::{ApiError, ApiResult};
use route::{Route, Serve, ROUTE};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tower::Layer as _;

/// Server settings (`machimap serve` flags).
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Public base URL (e.g. `https://opendata.example.lg.jp/machimap`) for links behind a
    /// reverse proxy; derived from the Host header when unset (see [`AppState::base_url`]).
    pub base_url: Option<String>,
    /// Believe `X-Forwarded-Proto` / `X-Forwarded-Host` when building links without a base
    /// URL (only behind a proxy that sets them; anyone else could send them).
    pub trust_forwarded: bool,
    /// Timeouts and caps of what one client can hold.
    pub limits: limits::Limits,
    /// Allowed CORS origins; `*` for any (the default: this is open data).
    pub cors_origins: Vec<String>,
    /// Tile cache budget in MB; 0 disables the cache.
    pub cache_mb: usize,
    /// How often to look for a new publish.
    pub poll: Duration,
    /// Licence id for the catalog (CKAN style), default `cc-by-4.0`.
    pub license_id: String,
    /// Publisher name (Japanese).
    pub publisher: String,
    /// 全国地方公共団体コード of the city (file names of downloads).
    pub city_code: String,
    /// Folder holding the built resident map; `None` = `web/dist` beside the sources.
    pub web_dir: Option<PathBuf>,
    /// A PMTiles archive (from `machimap export-pmtiles`) to serve under `/pmtiles/`.
    pub pmtiles: Option<PathBuf>,
    /// Offer the GSI 淡色地図 raster basemap (off by default: no request leaves the server).
    pub gsi_basemap: bool,
    /// The static copy of the site (`machimap export-site`) the page switches to when this
    /// server fails or times out.
    pub mirror_url: Option<String>,
    /// Serve the overview tiles drawn at publish (`tiles::pyramid`); off, every tile is drawn
    /// on request (for comparisons).
    pub tilesets: bool,
    /// Largest staff upload in bytes (default 200 MB).
    pub upload_limit: u64,
    /// Limits on uploaded zip archives (entries, total size, compression ratio).
    pub zip_limits: crate::shp::ZipLimits,
    /// Staff sign-in attempts allowed per client address per minute.
    pub login_rate_per_min: u32,
    /// Staff password checks allowed at once (each holds ~19 MiB for a moment).
    pub password_checks: usize,
    /// Reverse proxies whose `X-Forwarded-For` names the client; none by default (the client is
    /// the socket peer).
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// How long a console session may go without a request before it ends.
    pub session_idle: Duration,
    /// Largest text (non-file) field of an upload form in bytes (default 64 KiB).
    pub upload_field_limit: u64,
    /// Longest an upload's files may take to read and check (default 300 s).
    pub upload_parse_budget: Duration,
}

impl Default for ServeConfig {
    fn default() -> Self {
        // The console's defaults are written once, in `admin`.
        let admin = crate::admin::AdminConfig::default();
        ServeConfig {
            base_url: None,
            trust_forwarded: false,
            limits: limits::Limits::default(),
            cors_origins: vec!["*".into()],
            cache_mb: 256,
            poll: Duration::from_millis(1000),
            license_id: "cc-by-4.0".into(),
            publisher: "サンプル市".into(),
            city_code: "339997".into(),
            web_dir: None,
            pmtiles: None,
            gsi_basemap: false,
            mirror_url: None,
            tilesets: true,
            upload_limit: admin.upload_limit,
            zip_limits: admin.zip_limits,
            login_rate_per_min: admin.login_rate_per_min,
            password_checks: admin.password_checks,
            trusted_proxies: Vec::new(),
            session_idle: admin.session_idle,
            upload_field_limit: admin.field_limit,
            upload_parse_budget: admin.parse_budget,
        }
    }
}

impl ServeConfig {
    /// The console settings of this server (built here, so `admin` needs nothing of `http`):
    /// its upload and zip limits, `Secure` cookies when the public base URL is https, and the
    /// session idle time.
    pub fn admin_config(&self) -> crate::admin::AdminConfig {
        crate::admin::AdminConfig {
            upload_limit: self.upload_limit,
            zip_limits: self.zip_limits,
            field_limit: self.upload_field_limit,
            parse_budget: self.upload_parse_budget,
            secure_cookies: self
                .base_url
                .as_deref()
                .is_some_and(|u| u.to_ascii_lowercase().starts_with("https://")),
            session_idle: self.session_idle,
            login_rate_per_min: self.login_rate_per_min,
            password_checks: self.password_checks,
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

impl ServeConfig {
    /// Who publishes the catalog, from these settings.
    pub fn publisher(&self) -> crate::catalog::Publisher {
        crate::catalog::Publisher {
            name: self.publisher.clone(),
            city_code: self.city_code.clone(),
            license_id: self.license_id.clone(),
        }
    }
}

/// State shared by all handlers.
pub struct AppState {
    /// The published data, swapped whole on publish.
    pub snapshot: ArcSwap<Snapshot>,
    /// Rendered tiles.
    pub tiles: TileCache,
    /// Where tile renders queue (one per core, one per tile).
    pub render: tiles::RenderGate,
    /// Settings.
    pub config: ServeConfig,
    /// Request counters and histograms.
    pub metrics: metrics::Metrics,
    /// The DuckDB file.
    pub db: PathBuf,
    /// Download counts (catalog KPI).
    pub downloads: downloads::Downloads,
    /// Staff console state: accounts, sessions, audit log, shelter status, the database lock.
    pub admin: crate::admin::Admin,
    /// A PMTiles archive served under `/pmtiles/` (`serve --pmtiles`).
    pub pmtiles: Option<crate::tiles::pmtiles::Archive>,
    /// Requests of each expensive route under way, and their caps.
    pub limits: limits::RouteLimits,
    /// The names of the searched datasets, folded once per published version.
    pub search: search::SearchCache,
    /// The address index, built once per published `addresses` version.
    pub geocode: crate::address::GeocodeCache,
    /// The address the server listens on (links when a request has no usable Host).
    pub bound: std::sync::OnceLock<String>,
    /// Size and modification time of the DuckDB file and its WAL when last read, so a poll
    /// that finds them unchanged does not open the database.
    seen: std::sync::Mutex<Option<FileStamp>>,
}

/// (length, modified) of the database file and of its write-ahead log.
type FileStamp = [(u64, Option<std::time::SystemTime>); 2];

fn file_stamp(db: &std::path::Path) -> FileStamp {
    let one = |p: &std::path::Path| {
        std::fs::metadata(p).map_or((0, None), |m| (m.len(), m.modified().ok()))
    };
    [
        one(db),
        one(&PathBuf::from(format!("{}.wal", db.display()))),
    ]
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").field("db", &self.db).finish()
    }
}

impl AppState {
    /// Load the published data of `db` and build the state.
    pub fn open(db: PathBuf, config: ServeConfig) -> anyhow::Result<AppState> {
        let stamp = file_stamp(&db);
        let store = Store::open_read_only_retrying(&db, Duration::from_secs(30))?;
        // Temporary files of writers killed before their rename (never read; only space).
        crate::index::image::sweep_temp(&db);
        let snap = Snapshot::load(&store)?;
        drop(store);
        if config.tilesets {
            attach_tilesets(&db, snap.layers.values());
        }
        let search = search::SearchCache::default();
        search.get(&snap);
        let geocode = crate::address::GeocodeCache::default();
        geocode.get(&snap);
        Ok(AppState {
            seen: std::sync::Mutex::new(Some(stamp)),
            limits: limits::RouteLimits::new(&config.limits),
            search,
            geocode,
            bound: std::sync::OnceLock::new(),
            snapshot: ArcSwap::from_pointee(snap),
            tiles: TileCache::new(config.cache_mb),
            render: tiles::RenderGate::new(cores()),
            metrics: metrics::Metrics::default(),
            downloads: downloads::Downloads::beside(&db),
            pmtiles: match &config.pmtiles {
                Some(p) => Some(crate::tiles::pmtiles::Archive::open(p)?),
                None => None,
            },
            admin: crate::admin::Admin::open(&db, config.admin_config()),
            db,
            config,
        })
    }

    /// Look for newly published versions; swap them in and purge their tiles.
    /// Returns the datasets that changed.
    pub fn refresh(&self) -> anyhow::Result<Vec<crate::dataset::DatasetId>> {
        // One connection per process at a time (the console writes from this process too).
        let _db = self.admin.lock_db();
        // Every write (a commit appends to the WAL, a checkpoint rewrites the file) changes a
        // length or a modification time; if neither changed there is nothing to read.
        let stamp = file_stamp(&self.db);
        if let Ok(seen) = self.seen.lock() {
            if seen.as_ref() == Some(&stamp) {
                return Ok(Vec::new());
            }
        }
        let store = Store::open_read_only_retrying(&self.db, Duration::from_millis(200))?;
        let cur = self.snapshot.load_full();
        let (next, changed) = cur.refresh(&store)?;
        drop(store);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(stamp);
        }
        if changed.is_empty() && next.coverage != cur.coverage {
            // Only a hazard map's coverage changed: nothing to draw or purge.
            self.snapshot.store(Arc::new(next));
            return Ok(changed);
        }
        if !changed.is_empty() {
            if self.config.tilesets {
                attach_tilesets(
                    &self.db,
                    next.layers
                        .values()
                        .filter(|l| changed.contains(&l.dataset)),
                );
            }
            let next = Arc::new(next);
            self.snapshot.store(next.clone());
            self.tiles.purge(&changed);
            for l in next
                .layers
                .values()
                .filter(|l| changed.contains(&l.dataset))
            {
                crate::catalog::warm_digests(l);
            }
            // Fold the new names now, on this thread, rather than in the first search.
            self.search.get(&next);
            self.geocode.get(&next);
        }
        Ok(changed)
    }

    /// Base URL for links in responses: the configured one; else from the request's Host
    /// (only when it is a plain host name or address with an optional port) and `http`;
    /// `X-Forwarded-Proto` / `X-Forwarded-Host` only when configured to trust them. Anything
    /// else falls back to the address the server listens on, so a crafted header cannot put
    /// another site into links (or into a CDN's cached copy of them).
    pub fn base_url(&self, headers: &HeaderMap) -> String {
        if let Some(b) = &self.config.base_url {
            return b.trim_end_matches('/').to_string();
        }
        let text = |name: &str| headers.get(name).and_then(|h| h.to_str().ok());
        let forwarded = |name: &str| {
            self.config
                .trust_forwarded
                .then(|| text(name))
                .flatten()
                // A chain of proxies appends; the first is the client's.
                .and_then(|v| v.split(',').next())
                .map(str::trim)
        };
        let proto = forwarded("x-forwarded-proto")
            .filter(|p| matches!(*p, "http" | "https"))
            .unwrap_or("http");
        let host = forwarded("x-forwarded-host")
            .filter(|h| valid_host(h))
            .or_else(|| text(header::HOST.as_str()).filter(|h| valid_host(h)))
            .map(str::to_string)
            .or_else(|| self.bound.get().cloned())
            .unwrap_or_else(|| "localhost".into());
        format!("{proto}://{host}")
    }
}

/// A Host value fit for links: a DNS name, IPv4 address or bracketed IPv6 address, with an
/// optional port; nothing that could end the authority (`/`, `@`, `?`, `#`, quotes, spaces).
fn valid_host(h: &str) -> bool {
    let (name, port) = match h.strip_prefix('[') {
        Some(rest) => match rest.split_once(']') {
            Some((v6, after)) => {
                let ok = !v6.is_empty()
                    && v6
                        .bytes()
                        .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
                if !ok {
                    return false;
                }
                match after {
                    "" => ("v6", None),
                    p => match p.strip_prefix(':') {
                        Some(p) => ("v6", Some(p)),
                        None => return false,
                    },
                }
            }
            None => return false,
        },
        None => match h.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (h, None),
        },
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let name_ok = !name.is_empty()
        && name.len() <= 253
        && !name.starts_with(['.', '-'])
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    port_ok && name_ok
}

/// The server's own routes: health and metrics.
pub const ROUTES: &[Route] = &[
    Route {
        path: "/healthz",
        serve: Serve::Here(|| get(healthz)),
        returns: Some(replies::of::<Health>),
        tag: "ops",
        summary: "Liveness and the published version of every dataset",
        produces: &["application/json"],
        ..ROUTE
    },
    Route {
        path: "/metrics",
        serve: Serve::Here(|| get(metrics::get_metrics)),
        tag: "ops",
        summary: "Prometheus metrics: requests by route and status, latency, tile cache, bytes out",
        produces: &["text/plain; version=0.0.4"],
        ..ROUTE
    },
];

/// The whole application router: every table of [`route::PUBLIC`], then the staff console.
pub fn router(state: Arc<AppState>) -> Router {
    route::PUBLIC
        .iter()
        .fold(Router::new(), |r, table| r.merge(route::mount(table)))
        .merge(admin::router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state.clone(), track))
        .with_state(state)
}

async fn not_found(uri: axum::http::Uri) -> ApiError {
    ApiError::NotFound(format!("no such resource: {}", uri.path()))
}

/// `/healthz`'s answer: the server answers, and what it serves.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Health {
    status: Up,
    /// Each published dataset by id.
    datasets: std::collections::BTreeMap<String, Served>,
}

/// `ok`: the only status a server that answers gives.
#[derive(serde::Serialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
enum Up {
    Ok,
}

/// A published dataset's version and size.
#[derive(serde::Serialize, schemars::JsonSchema)]
struct Served {
    /// The version being served.
    version: i64,
    /// Its features.
    features: usize,
}

async fn healthz(State(st): State<Arc<AppState>>) -> Response {
    let snap = st.snapshot.load();
    let datasets = snap
        .layers
        .iter()
        .map(|(d, l)| {
            (
                d.to_string(),
                Served {
                    version: l.version,
                    features: l.features.len(),
                },
            )
        })
        .collect();
    axum::Json(Health {
        status: Up::Ok,
        datasets,
    })
    .into_response()
}

/// Metrics, CORS and the route label for every request the router answers.
async fn track(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let start = Instant::now();
    // A clone of the matched path is a reference count, not a copy of the text.
    let route = req
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .cloned();
    let label = route.as_ref().map_or("unmatched", |m| m.as_str());
    // What the handler logs carries the request it answers.
    let span = tracing::info_span!("request", method = %req.method(), route = label);
    let resp = {
        use tracing::Instrument as _;
        let method = req.method().clone();
        let class = route.as_ref().and_then(|m| self::route::class(m.as_str()));
        st.limits
            .run(class, &method, || next.run(req).instrument(span.clone()))
            .await
    };
    span.in_scope(|| {
        tracing::debug!(
            status = resp.status().as_u16(),
            ms = start.elapsed().as_secs_f64() * 1e3,
            "answered"
        )
    });
    finish(&st, label, start, resp)
}

/// What every response the router or a door answers goes through on its way out: its count in
/// the metrics. (CORS and `nosniff` are the layers [`service`] puts around them.)
fn finish(st: &AppState, route: &str, start: Instant, resp: Response) -> Response {
    let bytes = resp
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(0);
    st.metrics
        .record(route, resp.status().as_u16(), start.elapsed(), bytes);
    resp
}

/// What `serve` runs: the [`FrontDoor`] for cached tiles, then, for everything else, the
/// [`CacheDoor`] inside CORS for the configured origins (tower-http: preflights answered,
/// `Access-Control-*` on the answers) and `X-Content-Type-Options: nosniff` on every
/// response, JSON and errors included, so that browsers never guess another type.
///
/// An `OPTIONS` that is not a CORS preflight (no `Access-Control-Request-Method`) goes past
/// CORS to the router, which answers 405 with the route's `Allow` (404 on no route) instead
/// of a 2xx for any path.
pub fn service(state: Arc<AppState>) -> FrontDoor {
    let cached = CacheDoor::new(state.clone());
    let door = Door {
        cors: cors(&state.config.cors_origins).layer(cached.clone()),
        plain: cached,
    };
    let layered = tower_http::set_header::SetResponseHeaderLayer::overriding(
        header::X_CONTENT_TYPE_OPTIONS,
        NOSNIFF,
    )
    .layer(door);
    FrontDoor {
        open: state.config.cors_origins.iter().any(|o| o == "*"),
        state,
        layered,
    }
}

/// The service of [`service`]: a cached tile answered at once, with the headers the layers
/// would have added, when every origin is allowed (the default); anything else through them.
///
/// Why by hand: a warm tile is most of a busy day's traffic, and going through tower-http's
/// CORS future (and one more boxed future) cost measurably in the paired tile benchmark
/// (`scripts/bench-pair`). With every origin allowed the layers add the same three headers to
/// every tile whatever the request says, so they are written here as constants; a test holds
/// them to what the layers send. With a list of origins the answer depends on `Origin` and
/// `Vary`, and the layers make it.
#[derive(Clone)]
pub struct FrontDoor {
    state: Arc<AppState>,
    open: bool,
    layered: tower_http::set_header::SetResponseHeader<Door, HeaderValue>,
}

impl tower_service::Service<Request> for FrontDoor {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Answer;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        if self.open {
            let start = Instant::now();
            if let Some(mut resp) = tiles::from_cache(&self.state, &req) {
                let h = resp.headers_mut();
                h.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_ORIGIN,
                    HeaderValue::from_static("*"),
                );
                h.insert(
                    header::ACCESS_CONTROL_EXPOSE_HEADERS,
                    HeaderValue::from_static("etag"),
                );
                let resp = finish(&self.state, tiles::TILE_ROUTE, start, resp);
                return Box::pin(std::future::ready(Ok(resp)));
            }
        }
        Box::pin(tower_service::Service::call(&mut self.layered, req))
    }
}

fn cors(origins: &[String]) -> tower_http::cors::CorsLayer {
    use tower_http::cors::{AllowOrigin, CorsLayer};
    let layer = CorsLayer::new()
        .allow_methods([Method::GET, Method::HEAD, Method::POST, Method::OPTIONS])
        .allow_headers([
            header::IF_NONE_MATCH,
            header::ACCEPT,
            header::ACCEPT_ENCODING,
            header::CONTENT_TYPE,
        ])
        .expose_headers([header::ETAG]);
    if origins.iter().any(|o| o == "*") {
        // The same answer for every origin: nothing to vary on, so shared caches keep one
        // copy of a tile.
        layer
            .allow_origin(AllowOrigin::any())
            .vary(Vec::<HeaderName>::new())
    } else {
        layer.allow_origin(AllowOrigin::list(
            origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()),
        ))
    }
}

/// The future of an answer from [`FrontDoor`], [`Door`] or [`CacheDoor`].
pub type Answer = std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<Response, std::convert::Infallible>> + Send>,
>;

/// CORS around the cache door for everything but an `OPTIONS` that is no preflight.
#[derive(Clone)]
pub struct Door {
    cors: tower_http::cors::Cors<CacheDoor>,
    plain: CacheDoor,
}

impl tower_service::Service<Request> for Door {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Answer;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let preflight = req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if req.method() == Method::OPTIONS && !preflight {
            return tower_service::Service::call(&mut self.plain, req);
        }
        Box::pin(tower_service::Service::call(&mut self.cors, req))
    }
}

/// Inside the layers: a tile request the cache can answer is answered here, before routing
/// ([`tiles::from_cache`]); everything else goes to the router.
///
/// Why: warm tile requests are most of the traffic on a busy day, and the routed path
/// (matching, middleware, extractors copying the path, query and headers) was three times
/// nginx's user time per request for the same bytes (bench-tiles). The answer is made by the
/// same code as the router's ([`send_cached`], [`finish`]), so it is the same response.
#[derive(Clone)]
pub struct CacheDoor {
    state: Arc<AppState>,
    router: Router,
}

impl CacheDoor {
    /// The cache door of `state`'s router.
    pub fn new(state: Arc<AppState>) -> CacheDoor {
        CacheDoor {
            router: router(state.clone()),
            state,
        }
    }
}

impl tower_service::Service<Request> for CacheDoor {
    type Response = Response;
    type Error = std::convert::Infallible;
    type Future = Answer;

    fn poll_ready(
        &mut self,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let start = Instant::now();
        if let Some(resp) = tiles::from_cache(&self.state, &req) {
            let resp = finish(&self.state, tiles::TILE_ROUTE, start, resp);
            return Box::pin(std::future::ready(Ok(resp)));
        }
        Box::pin(tower_service::Service::call(&mut self.router, req))
    }
}

/// A required text parameter as `openapi::Ty::Text { max }` documents it: at most `max`
/// characters as sent, and something besides spaces; trimmed. `missing` says what to send.
pub fn required_text<'a>(
    q: &'a std::collections::HashMap<String, String>,
    name: &str,
    max: usize,
    missing: &str,
) -> ApiResult<&'a str> {
    let text = q.get(name).map(String::as_str).unwrap_or("");
    if text.chars().count() > max {
        return Err(ApiError::BadRequest(format!(
            "{name} is too long (at most {max} characters)"
        )));
    }
    let text = text.trim();
    if text.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "{name} is required: {missing}"
        )));
    }
    Ok(text)
}

/// A query string or form body as decoded (name, value) pairs in order (`+` is a space; a
/// malformed `%` stays as is).
pub fn query_pairs(s: &str) -> impl Iterator<Item = (String, String)> + '_ {
    form_urlencoded::parse(s.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned()))
}

/// Bytes a query component keeps as they are: RFC 3986 unreserved, and `,` (bbox and list
/// values read better unescaped and mean the same).
const COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b',');

/// Percent-encode one query component.
pub fn encode_component(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, COMPONENT).to_string()
}

/// Bytes a path keeps as they are: RFC 3986 unreserved and `/`.
const PATH: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'/')
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode a path (a `next` link back into the console).
pub fn encode_path(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, PATH).to_string()
}

/// True when Accept-Encoding accepts `name` (and does not give it q=0).
pub fn accepts_encoding(headers: &HeaderMap, name: &str) -> bool {
    let ae = headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    ae.split(',').any(|part| {
        let mut it = part.trim().split(';');
        let n = it.next().unwrap_or("").trim();
        let q0 = it.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        n.eq_ignore_ascii_case(name) && !q0
    })
}

/// Which encoding to send, from Accept-Encoding: brotli, then gzip, then none.
pub fn pick_encoding(headers: &HeaderMap) -> Option<&'static str> {
    if accepts_encoding(headers, "br") {
        Some("br")
    } else if accepts_encoding(headers, "gzip") {
        Some("gzip")
    } else {
        None
    }
}

/// The encoding of a tile: gzip when the client takes it, else brotli, else none. Tiles are
/// compressed on the request path of a miss, and on MVT fast gzip beats fast brotli in time
/// and size (see [`crate::tiles::cache::CachedTile`]).
pub fn tile_encoding(headers: &HeaderMap) -> Encoding {
    if accepts_encoding(headers, "gzip") {
        Encoding::Gzip
    } else if accepts_encoding(headers, "br") {
        Encoding::Brotli
    } else {
        Encoding::Identity
    }
}

/// True when If-None-Match matches `etag`.
pub fn not_modified(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',').any(|t| {
                let t = t.trim();
                t == "*" || t.trim_start_matches("W/") == etag
            })
        })
}

/// Answer with cached, pre-compressed bytes: 304 on a matching ETag, else the best encoding.
pub fn send_cached(
    headers: &HeaderMap,
    t: &CachedTile,
    content_type: &'static str,
    cache_control: &'static str,
) -> Response {
    // Built field by field rather than through `Response::builder`, which parses every value
    // it is given: this runs for every tile sent.
    let etag = HeaderValue::from_str(&t.etag).ok();
    let mut resp = if not_modified(headers, &t.etag) {
        let mut r = Response::new(axum::body::Body::empty());
        *r.status_mut() = StatusCode::NOT_MODIFIED;
        // What axum's router adds to an empty body, so both paths answer alike.
        r.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
        r
    } else {
        let enc = tile_encoding(headers);
        let body = t.body(enc);
        let len = body.len();
        let mut r = Response::new(axum::body::Body::from(body));
        let h = r.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        match enc {
            Encoding::Brotli => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("br"));
            }
            Encoding::Gzip => {
                h.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
            }
            Encoding::Identity => {}
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        r
    };
    let h = resp.headers_mut();
    if let Some(e) = etag {
        h.insert(header::ETAG, e);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(cache_control),
    );
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, NOSNIFF);
    resp
}

/// `X-Content-Type-Options` of every response.
const NOSNIFF: HeaderValue = HeaderValue::from_static("nosniff");

/// Attach the tiles drawn at publish to the layers that have them; draw them for large layers
/// published without them (by the console, or by an older machimap) on one background thread
/// each, at low cost to serving: until they are there, those tiles are drawn on demand as
/// before. A drawing stops when its version is no longer served (only the thread holds it).
fn attach_tilesets<'a>(
    db: &std::path::Path,
    layers: impl Iterator<Item = &'a Arc<crate::index::Layer>>,
) {
    for l in layers {
        if crate::tiles::pyramid::attach(db, l)
            || l.features.len() < crate::tiles::pyramid::MIN_FEATURES
        {
            continue;
        }
        let (db, l) = (db.to_path_buf(), l.clone());
        let _ = std::thread::Builder::new()
            .name("draw-tileset".into())
            .spawn(move || {
                let give_up = || Arc::strong_count(&l) < 2;
                if let Err(e) = crate::tiles::pyramid::ensure(&db, &l, 1, &give_up) {
                    tracing::warn!(
                        "{}: overview tiles not drawn at start: {e}",
                        l.version_tag()
                    );
                }
            });
    }
}

/// Cores to serve with: one request runtime each, and as many render and read threads.
/// Blocking threads per request runtime (one runtime per core). The routes that use them have
/// caps of their own (`http::limits`), so beyond this they wait for a thread, not fail.
const MAX_BLOCKING_THREADS: usize = 32;

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// Raise the soft limit of open files to the hard one (each connection holds a descriptor; a
/// distribution's default soft limit of 1,024 would cap a busy day's connections well below
/// what the machine allows). The limit in force afterwards, when it can be read.
fn raise_fd_limit() -> Option<u64> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let now = getrlimit(Resource::Nofile);
    if now.current < now.maximum {
        let raised = Rlimit {
            current: now.maximum,
            maximum: now.maximum,
        };
        if let Err(e) = setrlimit(Resource::Nofile, raised) {
            tracing::warn!("cannot raise the open-file limit: {e}");
        }
    }
    getrlimit(Resource::Nofile).current
}

/// Run the server until Ctrl-C: load the published data, bind, and poll for publishes.
pub async fn serve(db: PathBuf, bind: &str, config: ServeConfig) -> anyhow::Result<()> {
    let poll = config.poll;
    let state = Arc::new(tokio::task::spawn_blocking(move || AppState::open(db, config)).await??);
    let listener = tokio::net::TcpListener::bind(bind).await?;
    let addr = listener.local_addr()?;
    let _ = state.bound.set(addr.to_string());
    tracing::info!("serving on http://{addr}/  (Ctrl-C to stop)");
    let watcher = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(poll);
        loop {
            tick.tick().await;
            let st = watcher.clone();
            let res = tokio::task::spawn_blocking(move || {
                // Shelter status set by another process serving the same folder.
                st.admin.status.reload_if_changed();
                st.refresh()
            })
            .await;
            if let Ok(Ok(changed)) = res {
                if !changed.is_empty() {
                    let names: Vec<String> = changed.iter().map(ToString::to_string).collect();
                    tracing::info!("new publish of {}", names.join(", "));
                }
            }
        }
    });
    // One single-threaded runtime per core, each accepting from the same socket and keeping
    // the connections it accepted: a request's tasks never move between threads. Against
    // tokio's work-stealing runtime this took a warm tile from ~31 to ~25 µs of server CPU
    // (user 11 → 8, system 20 → 16; the cross-thread wakes and reference counts) and from
    // ~0.87 to ~1.1 of nginx (bench-tiles list). Handlers already keep heavy work on blocking
    // threads, so one connection's work does not hold up the others on its runtime; renders
    // still take turns through the one `RenderGate`, shared by all.
    let listener = listener.into_std()?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let connections = limits::Connections::new(
        &state.config.limits,
        raise_fd_limit(),
        state.config.trusted_proxies.clone(),
    );
    let mut threads = Vec::new();
    for i in 0..cores() {
        let (l, st, stopped) = (listener.try_clone()?, state.clone(), stopped.clone());
        let connections = connections.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("http-{i}"))
                .spawn(move || -> std::io::Result<()> {
                    // Blocking work (items pages, downloads, search, catalog) queues for a
                    // bounded pool: tokio's default of 512 threads per runtime grew to over
                    // 500 threads and GBs of per-thread allocator pages in `scripts/soak`.
                    let rt = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .max_blocking_threads(MAX_BLOCKING_THREADS)
                        .build()?;
                    rt.block_on(async move {
                        let l = tokio::net::TcpListener::from_std(l)?;
                        let limits = st.config.limits.clone();
                        limits::serve(l, service(st), &limits, connections, stopped).await;
                        Ok(())
                    })
                })?,
        );
    }
    drop(listener);
    let _ = tokio::signal::ctrl_c().await;
    let _ = stop.send(true);
    tokio::task::spawn_blocking(move || {
        for t in threads {
            if let Ok(Err(e)) = t.join() {
                tracing::warn!("{e}");
            }
        }
    })
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_hosts_make_links() {
        for ok in [
            "localhost",
            "127.0.0.1:8080",
            "opendata.example.lg.jp",
            "[::1]:8080",
            "[2001:db8::1]",
        ] {
            assert!(valid_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example/x",
            "a@b",
            "\"><script>",
            "-x",
            ".x",
            "x:",
            "x:123456",
            "x:80:80",
            "::1",
            "[::1",
            "[::1]x",
            "a b",
        ] {
            assert!(!valid_host(bad), "{bad}");
        }
    }
}
