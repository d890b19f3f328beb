//! The `machimap` command: sample data, ingestion, version management, the demo.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the command line answers on standard output and reports errors on standard error"
)]

use clap::{Parser, Subcommand, ValueEnum};
use machimap::crs::{parse_crs_ref, Crs};
use machimap::dataset::DatasetId;
use machimap::ingest::{self, IngestOptions, Outcome};
use machimap_sample as sample;

use machimap::store::Store;
use machimap::tiles::pmtiles;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// mimalloc instead of glibc malloc: allocation was 10–15 % of the rendering, serving and ingest
/// profiles (see Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "machimap",
    version,
    about = "Open-data and public GIS server for a Japanese municipality"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Clone, Copy, ValueEnum)]
enum ReportFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Cmd {
    /// Write the fictional sample city (サンプル市) in the formats cities hand over.
    Sample {
        /// Output folder.
        #[arg(long)]
        out: PathBuf,
        /// Extra flood polygons for benchmarks (1000000 works).
        #[arg(long, default_value_t = 0)]
        scale: usize,
    },
    /// Validate files and store them as a new version of a dataset (published unless --no-publish).
    /// Exit status: 0 stored, 1 rejected, 2 usage error.
    Ingest {
        /// DuckDB file (created if missing).
        #[arg(long)]
        db: PathBuf,
        /// wards, flood, inland_flood, landslide, tsunami, storm_surge, roads, shelters or stockpile.
        #[arg(long)]
        dataset: DatasetId,
        /// Files: CSV, GeoJSON or zipped Shapefile (roads: ledger CSV and line file together).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Coordinate reference system of the files, overriding what they declare (e.g. EPSG:6673).
        #[arg(long, value_parser = parse_crs)]
        crs: Option<Crs>,
        /// Stage the version without publishing it.
        #[arg(long)]
        no_publish: bool,
        /// Report format on stdout.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        report: ReportFormat,
        /// Column mapping (JSON: {"columns": {"source header": "standard column"}, "values":
        /// {"source header": {"as written": "read as"}}, "set": {"column": "value"}}) for files
        /// whose layout is not recognised; saved and reused for later files with the same headers.
        #[arg(long)]
        mapping: Option<PathBuf>,
        #[command(flatten)]
        site: SiteRefresh,
    },
    /// Publish a staged version, or roll back to an older one.
    Publish {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
        /// Dataset.
        #[arg(long)]
        dataset: DatasetId,
        /// Version to make current.
        #[arg(long)]
        version: i64,
        #[command(flatten)]
        site: SiteRefresh,
    },
    /// Write the files servers start and serve from for the published versions (layer images
    /// and the overview tiles of large layers, beside the database in `{db}.layers/`); ingest
    /// and publish do this themselves, so this is for a database published by the staff
    /// console or by an older machimap.
    Prepare {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
        /// Only this dataset (default: every published one).
        #[arg(long)]
        dataset: Option<DatasetId>,
    },
    /// Check that a database folder is whole (after a crash, a power cut or a full disk):
    /// every version complete or absent, the published ones complete, the staff files
    /// (`FILE.admin/`) readable line by line, the layer files and download counts whole.
    /// Read-only; safe beside a running server. Exit status: 0 whole (warnings are things the
    /// next start or write repairs), 1 not whole.
    Check {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
        /// Output format on stdout.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        report: ReportFormat,
    },
    /// List stored versions.
    Versions {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
        /// Only this dataset.
        #[arg(long)]
        dataset: Option<DatasetId>,
    },
    /// Serve the published data: vector tiles, OGC API Features, downloads, catalog, risk API.
    Serve {
        /// DuckDB file.
        #[arg(long, env = "MACHIMAP_DB")]
        db: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = DEFAULT_BIND)]
        bind: String,
        #[command(flatten)]
        opts: ServeOpts,
    },
    /// The area each hazard map covers: a point outside it is answered "no data", not "no
    /// risk". By default the union of the published wards.
    Coverage {
        #[command(subcommand)]
        cmd: CoverageCmd,
    },
    /// Staff accounts of the console at /admin (kept in FILE.admin/ beside the database).
    User {
        #[command(subcommand)]
        cmd: UserCmd,
    },
    /// Write every published layer, pre-rendered, into a PMTiles v3 archive (static fallback
    /// for object storage / a CDN; `serve --pmtiles` answers from it too).
    ExportPmtiles {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
        /// Archive to write.
        #[arg(long)]
        out: PathBuf,
        #[command(flatten)]
        zooms: Zooms,
    },
    /// Write the public site as static files (map, tiles, risk data, shelters, search,
    /// downloads, catalog) into DIR/releases/ and point DIR/current at it: any web server or
    /// CDN serves it without machimap, and the map answers the risk question in the browser.
    ExportSite {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
        /// Folder of the releases and the `current` link a web server serves.
        #[arg(long)]
        out: PathBuf,
        /// Where the copy will be served (catalog and DCAT links).
        #[arg(long, default_value = "")]
        base_url: String,
        /// Also write the release as one zip (offline pack; `python3 -m http.server` serves it).
        #[arg(long)]
        zip: Option<PathBuf>,
        /// Built resident map (web/dist).
        #[arg(long)]
        web_dir: Option<PathBuf>,
        #[command(flatten)]
        who: PublisherArgs,
        #[command(flatten)]
        zooms: Zooms,
    },
    /// Make the sample city if missing, ingest it, and serve it.
    Demo {
        /// DuckDB file.
        #[arg(long, default_value = "machimap-demo/machimap.duckdb")]
        db: PathBuf,
        /// Folder for the sample files.
        #[arg(long, default_value = "machimap-demo/sample")]
        data: PathBuf,
        /// Address to serve on.
        #[arg(long, default_value = DEFAULT_BIND)]
        bind: String,
        #[command(flatten)]
        opts: ServeOpts,
    },
}

#[derive(Subcommand)]
enum CoverageCmd {
    /// Set the coverage of a hazard dataset: the wards it covers, a polygon, or the default.
    /// Every setting is kept (see `coverage show`) and written to the audit log.
    Set {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
        /// flood, inland_flood, landslide, tsunami or storm_surge.
        #[arg(long)]
        dataset: DatasetId,
        /// Codes of the published wards the map covers (comma-separated).
        #[arg(long, value_delimiter = ',', required_unless_present_any = ["polygon", "default"], conflicts_with_all = ["polygon", "default"])]
        wards: Vec<String>,
        /// GeoJSON file with the covered area (Polygon / MultiPolygon, lon/lat degrees).
        #[arg(long, conflicts_with = "default")]
        polygon: Option<PathBuf>,
        /// Back to the default: the union of the published wards.
        #[arg(long)]
        default: bool,
    },
    /// Show the coverage settings, oldest first (the last of each dataset is in force).
    Show {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
        /// Only this dataset.
        #[arg(long)]
        dataset: Option<DatasetId>,
    },
}

#[derive(Subcommand)]
enum UserCmd {
    /// Add a user. The password is asked for on the terminal, or read from standard input
    /// (first line) when that is not a terminal.
    Add {
        /// Login name (letters, digits, . _ - @).
        name: String,
        /// editor (uploads, publishes, shelter status) or admin (also users, tokens, rollbacks).
        #[arg(long)]
        role: machimap::admin::Role,
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Set a user's password (read like `add`). A running server ends the user's console
    /// sessions; API tokens stay valid unless --revoke-tokens is given.
    Passwd {
        /// Login name.
        name: String,
        /// Also revoke every API token of the user (when the password may have leaked).
        #[arg(long)]
        revoke_tokens: bool,
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Disable a user: they can no longer sign in and their API tokens stop working.
    Disable {
        /// Login name.
        name: String,
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
    },
    /// Create an API token for a user (scripts calling /api/admin). The secret goes to
    /// standard output, alone on its line, and is shown only this once.
    Token {
        /// Login name of the user the token acts as.
        name: String,
        /// What the token is for (shown in the console's token list).
        #[arg(long, default_value = "")]
        label: String,
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
    },
    /// List users.
    List {
        /// DuckDB file.
        #[arg(long)]
        db: PathBuf,
    },
}

/// `--export-site` of `ingest` and `publish`: refresh the static site after a publish.
#[derive(clap::Args)]
struct SiteRefresh {
    /// After a publish, refresh the static site in DIR (see `export-site`).
    #[arg(long, value_name = "DIR")]
    export_site: Option<PathBuf>,
    /// The built resident map for `--export-site` (default: web/dist beside the sources).
    #[arg(long, value_name = "DIR", requires = "export_site")]
    site_web_dir: Option<PathBuf>,
    #[command(flatten)]
    who: PublisherArgs,
}

/// Who publishes the data (catalog, downloads, DCAT): `serve`, `export-site` and the refresh.
#[derive(clap::Args)]
struct PublisherArgs {
    /// Licence of the published data (CKAN licence id).
    #[arg(long, default_value_t = defaults().license_id.clone(), env = "MACHIMAP_LICENSE")]
    license: String,
    /// Publisher shown in the catalog.
    #[arg(long, default_value_t = defaults().publisher.clone(), env = "MACHIMAP_PUBLISHER")]
    publisher: String,
    /// 全国地方公共団体コード of the city (download file names).
    #[arg(long, default_value_t = defaults().city_code.clone(), env = "MACHIMAP_CITY_CODE")]
    city_code: String,
}

impl PublisherArgs {
    fn publisher(self) -> machimap::catalog::Publisher {
        machimap::catalog::Publisher {
            name: self.publisher,
            city_code: self.city_code,
            license_id: self.license,
        }
    }
}

/// Settings of the HTTP server.
#[derive(clap::Args)]
struct ServeOpts {
    /// Public base URL for links when behind a reverse proxy (e.g. https://data.example.lg.jp/map).
    #[arg(long, env = "MACHIMAP_BASE_URL")]
    base_url: Option<String>,
    /// Allowed CORS origin (repeatable); `*` allows any.
    #[arg(long = "cors-origin", default_values_t = defaults().cors_origins.clone(), env = "MACHIMAP_CORS_ORIGIN")]
    cors_origins: Vec<String>,
    /// Tile cache size in MB (0 disables it).
    #[arg(long, default_value_t = defaults().cache_mb, env = "MACHIMAP_CACHE_MB")]
    cache_mb: usize,
    #[command(flatten)]
    who: PublisherArgs,
    /// Folder of the built resident map (web/dist); defaults to the one beside the sources.
    #[arg(long, env = "MACHIMAP_WEB_DIR")]
    web_dir: Option<PathBuf>,
    /// Also serve this PMTiles archive (from export-pmtiles) under /pmtiles/{z}/{x}/{y}.mvt.
    #[arg(long, env = "MACHIMAP_PMTILES")]
    pmtiles: Option<PathBuf>,
    /// Show GSI 淡色地図 raster tiles under the map (for deployments that are online).
    #[arg(long, env = "MACHIMAP_GSI_BASEMAP")]
    gsi_basemap: bool,
    /// The static mirror of this site (`machimap export-site`, served by any web server or
    /// CDN with CORS); the map switches to it by itself when this server fails or times out.
    #[arg(long, env = "MACHIMAP_MIRROR_URL")]
    mirror_url: Option<String>,
    /// Draw every tile on request, leaving aside the overview tiles drawn at publish (to
    /// compare the two; the tiles are the same).
    #[arg(long, env = "MACHIMAP_DRAW_ON_DEMAND")]
    draw_on_demand: bool,
    /// Largest file staff may upload in the console, in MB.
    #[arg(long, default_value_t = machimap::admin::UPLOAD_LIMIT_MB, env = "MACHIMAP_UPLOAD_LIMIT_MB")]
    upload_limit_mb: u64,
    /// Most entries an uploaded zip may hold.
    #[arg(long, default_value_t = machimap::shp::ZIP_MAX_ENTRIES, env = "MACHIMAP_ZIP_MAX_ENTRIES")]
    zip_max_entries: usize,
    /// Most bytes an uploaded zip may uncompress to, in MB.
    #[arg(long, default_value_t = machimap::shp::ZIP_MAX_TOTAL_MB, env = "MACHIMAP_ZIP_MAX_TOTAL_MB")]
    zip_max_total_mb: u64,
    /// Highest compression ratio of an entry (over 1 MB) of an uploaded zip.
    #[arg(long, default_value_t = machimap::shp::ZIP_MAX_RATIO, env = "MACHIMAP_ZIP_MAX_RATIO")]
    zip_max_ratio: u64,
    /// Staff sign-in attempts allowed per client address (IPv6: per /64) per minute.
    #[arg(long, default_value_t = machimap::admin::accounts::LOGIN_RATE_PER_MIN, env = "MACHIMAP_LOGIN_RATE_PER_MIN")]
    login_rate_per_min: u32,
    /// Staff password checks allowed at once (each holds ~19 MiB); default one per core, at
    /// least 2. Beyond it sign-ins are answered 503 with Retry-After.
    #[arg(long, env = "MACHIMAP_PASSWORD_CHECKS")]
    password_checks: Option<usize>,
    /// A reverse proxy (IP address, repeatable) whose X-Forwarded-For names the client for the
    /// sign-in limits; without one the client is the connection's peer address.
    #[arg(long = "trusted-proxy", env = "MACHIMAP_TRUSTED_PROXY")]
    trusted_proxies: Vec<std::net::IpAddr>,
    /// Believe X-Forwarded-Proto / X-Forwarded-Host for links (only behind a proxy that sets
    /// them; prefer --base-url).
    #[arg(long, env = "MACHIMAP_TRUST_FORWARDED")]
    trust_forwarded: bool,
    /// Seconds a client has to send a request's head; also closes idle keep-alive connections.
    #[arg(long, default_value_t = defaults().limits.header_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..), env = "MACHIMAP_HEADER_TIMEOUT_SECS")]
    header_timeout_secs: u64,
    /// Seconds a response write may make no progress (client not reading) before the
    /// connection is dropped.
    #[arg(long, default_value_t = defaults().limits.write_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..), env = "MACHIMAP_WRITE_TIMEOUT_SECS")]
    write_timeout_secs: u64,
    /// Bytes a second a client must take a response at while the server waits to send it
    /// more, judged over each --write-timeout-secs of waiting (slower: dropped); 0: no floor.
    #[arg(long, default_value_t = defaults().limits.min_write_rate, env = "MACHIMAP_MIN_WRITE_RATE")]
    min_write_rate: u64,
    /// Connections open at once in all (also kept below the open-file limit); beyond it a new
    /// connection is answered 503 and closed.
    #[arg(long, default_value_t = defaults().limits.max_connections as u64, value_parser = clap::value_parser!(u64).range(1..), env = "MACHIMAP_MAX_CONNECTIONS")]
    max_connections: u64,
    /// Connections open at once from one client address (IPv6: one /64; trusted proxies are
    /// not capped); 0: no cap.
    #[arg(long, default_value_t = defaults().limits.max_connections_per_client, env = "MACHIMAP_MAX_CONNECTIONS_PER_CLIENT")]
    max_connections_per_client: usize,
    /// Largest request head (request line and headers) in KiB; longer: 431.
    #[arg(long, default_value_t = (defaults().limits.max_header_bytes >> 10) as u64, value_parser = clap::value_parser!(u64).range(8..=1024), env = "MACHIMAP_MAX_HEADER_KB")]
    max_header_kb: u64,
    /// Seconds a request body (an upload) may send nothing before the request fails.
    #[arg(long, default_value_t = defaults().limits.read_timeout.as_secs(), value_parser = clap::value_parser!(u64).range(1..), env = "MACHIMAP_READ_TIMEOUT_SECS")]
    read_timeout_secs: u64,
    /// Whole-dataset downloads streaming at once (more: 503 with Retry-After).
    #[arg(long, default_value_t = defaults().limits.downloads, env = "MACHIMAP_MAX_DOWNLOADS")]
    max_downloads: usize,
    /// OGC API items requests at once.
    #[arg(long, default_value_t = defaults().limits.items, env = "MACHIMAP_MAX_ITEMS")]
    max_items: usize,
    /// /api/search requests at once.
    #[arg(long, default_value_t = defaults().limits.search, env = "MACHIMAP_MAX_SEARCH")]
    max_search: usize,
    /// Catalog requests at once (/catalog, /catalog.jsonld, CKAN API).
    #[arg(long, default_value_t = defaults().limits.catalog, env = "MACHIMAP_MAX_CATALOG")]
    max_catalog: usize,
    /// /api/risk requests at once.
    #[arg(long, default_value_t = defaults().limits.risk, env = "MACHIMAP_MAX_RISK")]
    max_risk: usize,
    /// Subscribers of /api/shelter-status/events at once.
    #[arg(long, default_value_t = defaults().limits.events, env = "MACHIMAP_MAX_EVENT_SUBSCRIBERS")]
    max_event_subscribers: usize,
    /// Largest text (non-file) field of an upload form, in KiB.
    #[arg(long, default_value_t = machimap::admin::FIELD_LIMIT_KB, env = "MACHIMAP_UPLOAD_FIELD_LIMIT_KB")]
    upload_field_limit_kb: u64,
    /// Longest an upload's files may take to read and check, in seconds; over it the upload
    /// is refused (the command line has no such limit).
    #[arg(long, default_value_t = machimap::admin::PARSE_BUDGET_SECS as f64, env = "MACHIMAP_UPLOAD_PARSE_SECS")]
    upload_parse_secs: f64,
    /// Seconds without a request after which a staff console session ends.
    #[arg(long, default_value_t = defaults().session_idle.as_secs(), value_parser = clap::value_parser!(u64).range(1..), env = "MACHIMAP_SESSION_IDLE_SECS")]
    session_idle_secs: u64,
}

/// Where `serve` and `demo` listen unless told.
const DEFAULT_BIND: &str = "127.0.0.1:8080";

/// The server's defaults, written once in the library (`ServeConfig::default`); every flag's
/// default above reads them, so the CLI and an embedding program agree.
fn defaults() -> &'static machimap::http::ServeConfig {
    static D: std::sync::OnceLock<machimap::http::ServeConfig> = std::sync::OnceLock::new();
    D.get_or_init(machimap::http::ServeConfig::default)
}

impl ServeOpts {
    fn config(self) -> machimap::http::ServeConfig {
        machimap::http::ServeConfig {
            base_url: self.base_url,
            trust_forwarded: self.trust_forwarded,
            limits: machimap::http::limits::Limits {
                header_timeout: std::time::Duration::from_secs(self.header_timeout_secs),
                max_header_bytes: (self.max_header_kb as usize) << 10,
                max_connections: usize::try_from(self.max_connections).unwrap_or(usize::MAX),
                max_connections_per_client: self.max_connections_per_client,
                write_timeout: std::time::Duration::from_secs(self.write_timeout_secs),
                min_write_rate: self.min_write_rate,
                read_timeout: std::time::Duration::from_secs(self.read_timeout_secs),
                downloads: self.max_downloads,
                items: self.max_items,
                search: self.max_search,
                catalog: self.max_catalog,
                risk: self.max_risk,
                events: self.max_event_subscribers,
                ..Default::default()
            },
            cors_origins: self.cors_origins,
            cache_mb: self.cache_mb,
            license_id: self.who.license,
            publisher: self.who.publisher,
            city_code: self.who.city_code,
            web_dir: self.web_dir,
            pmtiles: self.pmtiles,
            gsi_basemap: self.gsi_basemap,
            mirror_url: self.mirror_url,
            tilesets: !self.draw_on_demand,
            upload_limit: self.upload_limit_mb.saturating_mul(1024 * 1024),
            zip_limits: machimap::shp::ZipLimits {
                max_entries: self.zip_max_entries,
                max_total_uncompressed: self.zip_max_total_mb.saturating_mul(1024 * 1024),
                max_ratio: self.zip_max_ratio,
            },
            login_rate_per_min: self.login_rate_per_min,
            password_checks: self
                .password_checks
                .unwrap_or_else(machimap::admin::default_password_checks),
            trusted_proxies: self.trusted_proxies,
            session_idle: std::time::Duration::from_secs(self.session_idle_secs),
            upload_field_limit: self.upload_field_limit_kb.saturating_mul(1024),
            upload_parse_budget: std::time::Duration::try_from_secs_f64(self.upload_parse_secs)
                .unwrap_or(defaults().upload_parse_budget),
            ..machimap::http::ServeConfig::default()
        }
    }
}

fn serve_blocking(
    db: PathBuf,
    bind: &str,
    config: machimap::http::ServeConfig,
) -> anyhow::Result<ExitCode> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(machimap::http::serve(db, bind, config))?;
    Ok(ExitCode::SUCCESS)
}

fn parse_crs(s: &str) -> Result<Crs, String> {
    parse_crs_ref(s).map_err(|e| e.to_string())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logs();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("machimap: {e:#}");
            ExitCode::from(1)
        }
    }
}

/// The library's logs (warnings, the server's start and publishes, a span per request) go to
/// stderr at `info` and above; `RUST_LOG` chooses others (e.g. `RUST_LOG=machimap=debug` adds a
/// line per answered request). What a command tells its user is printed, not logged.
fn init_logs() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.cmd {
        Cmd::Sample { out, scale } => {
            let m = sample::generate(
                &out,
                &sample::SampleOptions {
                    scale,
                    progress: std::io::stderr().is_terminal(),
                },
            )?;
            for (id, files) in &m.files {
                for f in files {
                    println!("{id}\t{}", f.display());
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Ingest {
            db,
            dataset,
            paths,
            crs,
            no_publish,
            report,
            mapping,
            site,
        } => {
            for p in &paths {
                if !p.is_file() {
                    eprintln!("machimap: no such file: {}", p.display());
                    return Ok(ExitCode::from(2));
                }
            }
            let mapping = match mapping {
                None => None,
                Some(p) => {
                    let text = match std::fs::read_to_string(&p) {
                        Ok(t) => t,
                        Err(e) => {
                            eprintln!("machimap: cannot read {}: {e}", p.display());
                            return Ok(ExitCode::from(2));
                        }
                    };
                    match machimap::mapping::Mapping::from_json(&text) {
                        Ok(m) => Some(m),
                        Err(e) => {
                            eprintln!("machimap: {}: {e}", p.display());
                            return Ok(ExitCode::from(2));
                        }
                    }
                }
            };
            let mut store = Store::open_retrying(&db, std::time::Duration::from_secs(30))?;
            let opts = IngestOptions {
                crs,
                publish: !no_publish,
                actor: "cli".into(),
                progress: std::io::stderr().is_terminal(),
                mapping,
            };
            let res = ingest::ingest(&mut store, dataset, &paths, &opts)?;
            drop(store);
            match report {
                ReportFormat::Json => {
                    let v = serde_json::json!({
                        "dataset": dataset,
                        "outcome": outcome_json(res.outcome),
                        "report": res.report,
                    });
                    println!("{}", serde_json::to_string_pretty(&v)?);
                }
                ReportFormat::Text => {
                    print!("{}", res.report.render_text());
                    println!("{}", outcome_text(dataset, res.outcome));
                }
            }
            if matches!(res.outcome, Outcome::Published { .. }) {
                prepare_after_publish(&db, dataset);
                if !refresh_site(&db, site) {
                    return Ok(ExitCode::from(1));
                }
            }
            Ok(match res.outcome {
                Outcome::Rejected => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            })
        }
        Cmd::Publish {
            db,
            dataset,
            version,
            site,
        } => {
            let mut store = Store::open(&db)?;
            store.publish(dataset, version, "cli")?;
            drop(store);
            println!("{dataset}: 版{version}を公開しました / version {version} is now published");
            prepare_after_publish(&db, dataset);
            if !refresh_site(&db, site) {
                return Ok(ExitCode::from(1));
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Prepare { db, dataset } => {
            prepare(&db, dataset)?;
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Check { db, report } => {
            if !db.is_file() {
                eprintln!("machimap: no such database: {}", db.display());
                return Ok(ExitCode::from(2));
            }
            let r = machimap::check::check(&db);
            match report {
                ReportFormat::Json => println!("{}", serde_json::to_string_pretty(&r)?),
                ReportFormat::Text => print!("{}", r.render_text(&db)),
            }
            Ok(if r.errors() == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        Cmd::Versions { db, dataset } => {
            let store = Store::open(&db)?;
            let ids: Vec<DatasetId> = dataset.map_or_else(|| DatasetId::ALL.to_vec(), |d| vec![d]);
            println!("dataset\tversion\tstatus\tcreated_at\trows\twarnings\tsha256\tsources");
            for d in ids {
                for v in store.versions(d)? {
                    println!(
                        "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}",
                        d,
                        v.version,
                        v.status,
                        v.created_at,
                        v.row_count,
                        v.warnings,
                        &v.source_sha256[..12.min(v.source_sha256.len())],
                        v.source_names
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Cmd::Serve { db, bind, opts } => {
            if !db.is_file() {
                eprintln!("machimap: no such database: {}", db.display());
                return Ok(ExitCode::from(2));
            }
            serve_blocking(db, &bind, opts.config())
        }
        Cmd::User { cmd } => user(cmd),
        Cmd::Coverage { cmd } => coverage(cmd),
        Cmd::ExportPmtiles { db, out, zooms } => export_pmtiles(&db, &out, zooms),
        Cmd::ExportSite {
            db,
            out,
            base_url,
            zip,
            web_dir,
            who,
            zooms,
        } => {
            if !zooms.ok() {
                return Ok(ExitCode::from(2));
            }
            let opts = machimap::site::Options {
                out,
                base_url,
                web_dir: web_dir
                    .unwrap_or_else(|| PathBuf::from(machimap::http::web::DEFAULT_WEB_DIR)),
                publisher: who.publisher(),
                zooms: (zooms.minzoom, zooms.maxzoom),
                zip,
            };
            export_site(&db, &opts)
        }
        Cmd::Demo {
            db,
            data,
            bind,
            opts,
        } => demo(&db, &data, &bind, opts.config()),
    }
}

/// The published snapshot of `db`, read without holding the database (a server may be writing).
fn published(db: &Path) -> anyhow::Result<machimap::index::Snapshot> {
    let store =
        machimap::store::Store::open_read_only_retrying(db, std::time::Duration::from_secs(30))?;
    Ok(machimap::index::Snapshot::load(&store)?)
}

/// The zooms of a tile archive (`export-pmtiles`, `export-site`), defaults from the library.
#[derive(clap::Args, Debug, Clone, Copy)]
struct Zooms {
    /// Smallest zoom of the tile archive.
    #[arg(long, default_value_t = pmtiles::DEFAULT_ZOOMS.0)]
    minzoom: u8,
    /// Largest zoom of the tile archive (maps overzoom above it).
    #[arg(long, default_value_t = pmtiles::DEFAULT_ZOOMS.1)]
    maxzoom: u8,
}

impl Zooms {
    /// Whether an archive of these zooms can be written (said on stderr when not).
    fn ok(self) -> bool {
        let ok = self.minzoom <= self.maxzoom && self.maxzoom <= pmtiles::MAX_EXPORT_ZOOM;
        if !ok {
            eprintln!(
                "machimap: need minzoom ≤ maxzoom ≤ {}",
                pmtiles::MAX_EXPORT_ZOOM
            );
        }
        ok
    }
}

/// `export-site`: load the published snapshot and the shelter status, write a release.
fn export_site(db: &Path, opts: &machimap::site::Options) -> anyhow::Result<ExitCode> {
    if !db.is_file() {
        eprintln!("machimap: no such database: {}", db.display());
        return Ok(ExitCode::from(2));
    }
    let started = std::time::Instant::now();
    let snap = published(db)?;
    let board = machimap::admin::status::StatusBoard::open(&machimap::admin::admin_dir(db));
    let (status, _) = board.current();
    let stats = machimap::site::export(&snap, &status, opts)?;
    eprintln!(
        "machimap: wrote {} ({} files, {} bytes: tiles {}, risk {} in {} cells) in {:.1} s; {} now points to it",
        stats.release.display(),
        stats.files,
        stats.bytes,
        stats.tile_bytes,
        stats.risk_bytes,
        stats.risk_cells,
        started.elapsed().as_secs_f64(),
        opts.out.join("current").display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `--export-site DIR` of `ingest` and `publish`: a new release after the publish. The publish
/// has happened whatever this says; false (said on stderr) when the copy could not be written,
/// so a script notices a mirror left behind. True when no refresh was asked for.
fn refresh_site(db: &Path, site: SiteRefresh) -> bool {
    let Some(out) = site.export_site else {
        return true;
    };
    let opts = machimap::site::Options {
        out,
        base_url: String::new(),
        web_dir: site
            .site_web_dir
            .unwrap_or_else(|| PathBuf::from(machimap::http::web::DEFAULT_WEB_DIR)),
        publisher: site.who.publisher(),
        zooms: pmtiles::DEFAULT_ZOOMS,
        zip: None,
    };
    match export_site(db, &opts) {
        Ok(c) if c == ExitCode::SUCCESS => true,
        Ok(_) => false,
        Err(e) => {
            eprintln!(
                "machimap: 公開しましたが、静的サイトを更新できませんでした / published, but the static site was not refreshed: {e}"
            );
            false
        }
    }
}

fn export_pmtiles(db: &Path, out: &Path, zooms: Zooms) -> anyhow::Result<ExitCode> {
    let Zooms { minzoom, maxzoom } = zooms;
    if !zooms.ok() {
        return Ok(ExitCode::from(2));
    }
    if !db.is_file() {
        eprintln!("machimap: no such database: {}", db.display());
        return Ok(ExitCode::from(2));
    }
    let snap = published(db)?;
    let bar = indicatif::ProgressBar::new(0);
    let stats = machimap::tiles::pmtiles::export(&snap, out, minzoom, maxzoom, |done, total| {
        bar.set_length(total);
        bar.set_position(done);
    })?;
    bar.finish_and_clear();
    eprintln!(
        "machimap: wrote {} ({} tiles, {} distinct, {} bytes)",
        out.display(),
        stats.tiles,
        stats.contents,
        stats.bytes
    );
    Ok(ExitCode::SUCCESS)
}

fn outcome_json(o: Outcome) -> serde_json::Value {
    match o {
        Outcome::Published { version, rows } => {
            serde_json::json!({"status": "published", "version": version, "rows": rows})
        }
        Outcome::Staged { version, rows } => {
            serde_json::json!({"status": "staged", "version": version, "rows": rows})
        }
        Outcome::Unchanged { version } => {
            serde_json::json!({"status": "unchanged", "version": version})
        }
        Outcome::Rejected => serde_json::json!({"status": "rejected"}),
    }
}

fn outcome_text(d: DatasetId, o: Outcome) -> String {
    match o {
        Outcome::Published { version, rows } => {
            format!("{d}: 版{version}（{rows}件）を公開しました / published version {version} ({rows} rows)")
        }
        Outcome::Staged { version, rows } => format!(
            "{d}: 版{version}（{rows}件）を登録しました（未公開） / staged version {version} ({rows} rows), not published"
        ),
        Outcome::Unchanged { version } => format!(
            "{d}: 公開中の版{version}と同じ内容のため新しい版は作りません / same as published version {version}: nothing new"
        ),
        Outcome::Rejected => format!(
            "{d}: エラーがあるため取り込みませんでした。公開中のデータは変わりません / rejected: published data unchanged"
        ),
    }
}

/// Read a password: from the terminal without echo (asked twice), or the first line of stdin.
fn read_password() -> anyhow::Result<String> {
    use std::io::BufRead;
    let tty = std::io::stdin().is_terminal();
    let read_line = || -> anyhow::Result<String> {
        let mut s = String::new();
        std::io::stdin().lock().read_line(&mut s)?;
        Ok(s.trim_end_matches(['\r', '\n']).to_string())
    };
    if !tty {
        return read_line();
    }
    // rpassword turns the terminal's echo off and back on itself (also when reading fails).
    let a = rpassword::prompt_password("パスワード / Password: ")?;
    let b = rpassword::prompt_password("もう一度 / Again: ")?;
    if a != b {
        anyhow::bail!("パスワードが一致しません / the passwords differ");
    }
    Ok(a)
}

fn coverage(cmd: CoverageCmd) -> anyhow::Result<ExitCode> {
    use machimap::coverage::{self, Spec};
    match cmd {
        CoverageCmd::Set {
            db,
            dataset,
            wards,
            polygon,
            default,
        } => {
            if let Err(e) = coverage::check_dataset(dataset) {
                eprintln!("machimap: {e}");
                return Ok(ExitCode::from(2));
            }
            let store = Store::open_retrying(&db, std::time::Duration::from_secs(30))?;
            let spec = if default {
                None
            } else if let Some(p) = polygon {
                let text = match std::fs::read_to_string(&p) {
                    Ok(t) => t,
                    Err(e) => {
                        eprintln!("machimap: cannot read {}: {e}", p.display());
                        return Ok(ExitCode::from(2));
                    }
                };
                match coverage::polygon_from_geojson(&text) {
                    Ok(mp) => Some(Spec::Polygon(mp)),
                    Err(e) => {
                        eprintln!("machimap: {}: {e}", p.display());
                        return Ok(ExitCode::from(1));
                    }
                }
            } else {
                match coverage::check_wards(&wards, &store.published_ward_codes()?) {
                    Ok(w) => Some(Spec::Wards(w)),
                    Err(e) => {
                        eprintln!("machimap: {e}");
                        return Ok(ExitCode::from(1));
                    }
                }
            };
            store.set_coverage(dataset, spec.as_ref(), "cli")?;
            let what = match &spec {
                None => "default (published wards)".to_string(),
                Some(Spec::Wards(w)) => format!("wards {}", w.join(",")),
                Some(Spec::Polygon(mp)) => format!("polygon of {} part(s)", mp.0.len()),
            };
            let dir = machimap::admin::admin_dir(&db);
            if machimap::admin::jsonl::private_dir(&dir).is_ok() {
                machimap::admin::audit::Audit::open(&dir).log(
                    "cli",
                    "cli",
                    "coverage_set",
                    dataset.as_str(),
                    &what,
                );
            }
            println!("{dataset}	{what}");
            Ok(ExitCode::SUCCESS)
        }
        CoverageCmd::Show { db, dataset } => {
            // A server reloading after a `set` holds the file for a moment: wait, as `set` does.
            let store = Store::open_retrying(&db, std::time::Duration::from_secs(30))?;
            println!("dataset	set_at	set_by	kind	wards	polygon");
            for r in store.coverage_log(dataset)? {
                println!(
                    "{}	{}	{}	{}	{}	{}",
                    r.dataset,
                    r.set_at,
                    r.set_by,
                    r.kind,
                    r.wards.join(","),
                    r.polygon.as_deref().unwrap_or("")
                );
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn user(cmd: UserCmd) -> anyhow::Result<ExitCode> {
    use machimap::admin::{Actor, Admin, AdminConfig};
    let db = match &cmd {
        UserCmd::Add { db, .. }
        | UserCmd::Passwd { db, .. }
        | UserCmd::Disable { db, .. }
        | UserCmd::Token { db, .. }
        | UserCmd::List { db } => db.clone(),
    };
    // The same actions as the console's, with the same rules and audit entries.
    let admin = Admin::open(&db, AdminConfig::default());
    let cli = Actor::cli();
    match cmd {
        UserCmd::Add { name, role, .. } => {
            let pw = read_password()?;
            admin.add_user(&cli, &name, role, &pw)?;
            println!(
                "ユーザー {name}（{}）を追加しました / added {name} as {}",
                role.ja(),
                role.as_str()
            );
        }
        UserCmd::Passwd {
            name,
            revoke_tokens,
            ..
        } => {
            let pw = read_password()?;
            let revoked = admin.set_password(&cli, &name, &pw, revoke_tokens)?;
            println!("{name}: パスワードを変更しました。ログイン中のセッションは終了します / password changed; signed-in sessions end");
            for t in revoked {
                println!(
                    "トークン {} を失効しました / revoked token {} ({})",
                    t.id, t.id, t.label
                );
            }
            if !revoke_tokens {
                for t in admin
                    .accounts
                    .tokens()
                    .iter()
                    .filter(|t| t.user == name && !t.revoked)
                {
                    println!(
                        "APIトークン {} は有効のままです（--revoke-tokens で失効） / API token {} ({}) stays valid (--revoke-tokens revokes it)",
                        t.id, t.id, t.label
                    );
                }
            }
        }
        UserCmd::Disable { name, .. } => {
            admin.disable_user(&cli, &name)?;
            println!("{name}: 無効にしました / disabled");
        }
        UserCmd::Token { name, label, .. } => {
            let (t, secret) = admin.create_token(&cli, &name, &label)?;
            eprintln!(
                "{name} の APIトークン {} を作りました。秘密の値は今だけ表示します / created API token {} for {name}; its secret is shown only now:",
                t.id, t.id
            );
            println!("{secret}");
        }
        UserCmd::List { .. } => {
            println!("name\trole\tstate\tcreated_at\tcreated_by");
            for u in admin.accounts.users() {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.name,
                    u.role.as_str(),
                    if u.disabled { "disabled" } else { "active" },
                    u.created_at,
                    u.created_by
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Ingest the sample city in dependency order (shelters before stockpile).
fn demo(
    db: &Path,
    data: &Path,
    bind: &str,
    config: machimap::http::ServeConfig,
) -> anyhow::Result<ExitCode> {
    // The sample is deterministic and takes a second to write, so it is simply written again.
    eprintln!(
        "サンプル市のデータを作成中 / writing the sample city to {}",
        data.display()
    );
    let manifest = sample::generate(
        data,
        &sample::SampleOptions {
            scale: 0,
            progress: false,
        },
    )?;
    if let Some(dir) = db.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut store = Store::open(db)?;
    let opts = IngestOptions {
        progress: std::io::stderr().is_terminal(),
        ..IngestOptions::default()
    };
    for (id, files) in &manifest.files {
        let Ok(dataset) = id.parse::<DatasetId>() else {
            continue;
        };
        let res = ingest::ingest(&mut store, dataset, files, &opts)?;
        eprintln!(
            "{}  (修正 warnings {}, エラー errors {})",
            outcome_text(dataset, res.outcome),
            res.report.warnings,
            res.report.errors
        );
        if res.outcome == Outcome::Rejected {
            eprint!("{}", res.report.render_text());
            return Ok(ExitCode::from(1));
        }
    }
    drop(store);
    serve_blocking(db.to_path_buf(), bind, config)
}

/// [`prepare`] after a publish that has already succeeded (and been reported): a failure here
/// costs only speed (servers load from DuckDB and draw on demand), so it is a warning.
fn prepare_after_publish(db: &Path, d: DatasetId) {
    if let Err(e) = prepare(db, Some(d)) {
        eprintln!(
            "警告: 配信用ファイルを書けませんでした（公開は完了しています）/ warning: the files servers start from were not written (the publish itself succeeded): {e:#}"
        );
    }
}

/// After a publish from the command line: the layer images and the tiles drawn at publish of
/// `dataset` (or of every published one), so that servers start and serve from files (see
/// `index::image`, `tiles::pyramid`); the files of other versions are removed. Reads the
/// database read-only (after the write connection is closed): serving replicas keep reading it
/// meanwhile.
fn prepare(db: &Path, dataset: Option<DatasetId>) -> anyhow::Result<()> {
    let store = Store::open_read_only_retrying(db, std::time::Duration::from_secs(30))?;
    for d in dataset.map_or_else(|| DatasetId::ALL.to_vec(), |d| vec![d]) {
        if let Some(b) = machimap::tiles::pyramid::prepare(&store, d)? {
            eprintln!(
                "{d}: {} tiles drawn at publish (z0–{}, {} MB)",
                b.tiles,
                b.max_zoom.map_or(0, |z| z),
                b.gzip_bytes / 1_000_000
            );
        }
    }
    Ok(())
}
