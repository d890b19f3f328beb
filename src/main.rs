//! The `machimap` command: sample data, ingestion, version management, the demo.

use clap::{Parser, Subcommand, ValueEnum};
use machimap::crs::{parse_crs_ref, Crs};
use machimap::dataset::DatasetId;
use machimap::ingest::{self, IngestOptions, Outcome};
use machimap::sample;

use machimap::store::Store;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
        /// wards, flood, landslide, tsunami, storm_surge, roads, shelters or stockpile.
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
        #[arg(long)]
        db: PathBuf,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        #[command(flatten)]
        opts: ServeOpts,
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
        #[arg(long, default_value = "127.0.0.1:8080")]
        bind: String,
        #[command(flatten)]
        opts: ServeOpts,
    },
}

/// Settings of the HTTP server.
#[derive(clap::Args)]
struct ServeOpts {
    /// Public base URL for links when behind a reverse proxy (e.g. https://data.example.lg.jp/map).
    #[arg(long)]
    base_url: Option<String>,
    /// Allowed CORS origin (repeatable); `*` allows any.
    #[arg(long = "cors-origin", default_value = "*")]
    cors_origins: Vec<String>,
    /// Tile cache size in MB (0 disables it).
    #[arg(long, default_value_t = 256)]
    cache_mb: usize,
    /// Licence of the published data (CKAN licence id).
    #[arg(long, default_value = "cc-by-4.0")]
    license: String,
    /// Publisher shown in the catalog.
    #[arg(long, default_value = "サンプル市")]
    publisher: String,
    /// 全国地方公共団体コード of the city (download file names).
    #[arg(long, default_value = "339997")]
    city_code: String,
}

impl ServeOpts {
    fn config(self) -> machimap::http::ServeConfig {
        machimap::http::ServeConfig {
            base_url: self.base_url,
            cors_origins: self.cors_origins,
            cache_mb: self.cache_mb,
            license_id: self.license,
            publisher: self.publisher,
            city_code: self.city_code,
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
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("machimap: {e:#}");
            ExitCode::from(1)
        }
    }
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
        } => {
            for p in &paths {
                if !p.is_file() {
                    eprintln!("machimap: no such file: {}", p.display());
                    return Ok(ExitCode::from(2));
                }
            }
            let mut store = Store::open_retrying(&db, std::time::Duration::from_secs(30))?;
            let opts = IngestOptions {
                crs,
                publish: !no_publish,
                actor: "cli".into(),
                progress: std::io::stderr().is_terminal(),
            };
            let res = ingest::ingest(&mut store, dataset, &paths, &opts)?;
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
            Ok(match res.outcome {
                Outcome::Rejected => ExitCode::from(1),
                _ => ExitCode::SUCCESS,
            })
        }
        Cmd::Publish {
            db,
            dataset,
            version,
        } => {
            let mut store = Store::open(&db)?;
            store.publish(dataset, version, "cli")?;
            println!("{dataset}: 版{version}を公開しました / version {version} is now published");
            Ok(ExitCode::SUCCESS)
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
        Cmd::Demo {
            db,
            data,
            bind,
            opts,
        } => demo(&db, &data, &bind, opts.config()),
    }
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
