//! `qalqan import incidents`: read a police export through a mapping and
//! store it as one batch, all or nothing.
//!
//! The file is read on a blocking thread while the async side inserts the
//! chunks it produces, so parsing and database writes overlap on two cores.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use qalqan_domain::audit::Actor;
use qalqan_domain::{ImportBatch, Territory, TerritoryName};
pub use qalqan_importer::InvalidRows;
use qalqan_importer::Staged;
use qalqan_ingest::{Mapping, ReadReport, SourceFile, write_rejects};
use qalqan_store::Store;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import incidents from CSV, CSV.gz or GeoJSON through a mapping file.
    Incidents(IncidentsArgs),
    /// Import a territory's streets and places from an OpenStreetMap extract (.osm.pbf), replacing
    /// any earlier one: the planning tools build the routable street graph from it.
    Osm {
        /// The extract (.osm.pbf).
        file: PathBuf,
        /// Territory the streets belong to.
        #[arg(long)]
        territory: String,
    },
    /// Import or update a camera register (CSV or GeoJSON; see the README for its columns).
    /// All or nothing: any bad row is reported (line and field) and nothing is written.
    Cameras {
        /// The register (.csv or .geojson).
        file: PathBuf,
        /// Territory the cameras belong to.
        #[arg(long)]
        territory: String,
    },
    /// Import or update the register of police posts and mobile points (CSV or GeoJSON: id, lat,
    /// lon, kind, name, hours, vehicle, officers, status; see the README). All or nothing.
    Posts {
        /// The register (.csv or .geojson).
        file: PathBuf,
        /// Territory the posts belong to.
        #[arg(long)]
        territory: String,
    },
    /// Replace the district inspectors' beat map with the polygons of a GeoJSON file (property
    /// `name`, optional `inspector`). All or nothing.
    Beats {
        /// The beats (.geojson), one (Multi)Polygon feature each.
        file: PathBuf,
        /// Territory the beats belong to.
        #[arg(long)]
        territory: String,
        /// The property holding each beat's name.
        #[arg(long, default_value = "name")]
        name_property: String,
        /// The property holding the inspector (absent or blank: vacant).
        #[arg(long, default_value = "inspector")]
        inspector_property: String,
    },
}

/// Prints a register's bad rows (the first 20) and fails.
fn refuse_register(file: &Path, errors: &[qalqan_ingest::RowError]) -> anyhow::Result<()> {
    for e in errors.iter().take(20) {
        eprintln!("{}: line {}: {}: {}", e.file, e.line, e.field, e.reason);
    }
    if errors.len() > 20 {
        eprintln!("… and {} more", errors.len() - 20);
    }
    anyhow::bail!("{}: {} invalid row(s); nothing was imported", file.display(), errors.len())
}

#[derive(Debug, clap::Args)]
pub struct IncidentsArgs {
    /// The export to import (.csv, .csv.gz, .geojson).
    pub file: PathBuf,
    /// Territory to import into.
    #[arg(long)]
    pub territory: String,
    /// Mapping file (TOML) naming the export's columns; see the README.
    #[arg(long)]
    pub mapping: PathBuf,
    /// Import the valid rows and write the rejected ones to a CSV beside the
    /// input, instead of importing nothing when any row is invalid.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Where to write rejected rows [default: FILE.rejects.csv]
    #[arg(long, requires = "skip_invalid")]
    pub rejects: Option<PathBuf>,
    /// Validate the file and report what would be imported; write nothing.
    #[arg(long, conflicts_with = "skip_invalid")]
    pub dry_run: bool,
}

pub async fn run(store: &Store, cmd: ImportCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        ImportCommand::Incidents(args) => {
            let territory = store.territory(&TerritoryName::parse(&args.territory)?).await?;
            let mapping = Mapping::from_file(&args.mapping)?;
            let policy = if args.skip_invalid { InvalidRows::SetAside } else { InvalidRows::AbortFile };
            if args.dry_run {
                return check_file(&territory, &args.file, &mapping);
            }
            import_file(store, &territory, &args.file, &mapping, policy, args.rejects, actor).await?;
            Ok(())
        }
        ImportCommand::Osm { file, territory } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            import_osm(store, &territory, &file, actor).await
        }
        ImportCommand::Cameras { file, territory } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let register = qalqan_ingest::cameras::read_cameras(&file)?;
            if !register.errors.is_empty() {
                return refuse_register(&file, &register.errors);
            }
            let cameras: Vec<_> = register.rows.into_iter().map(|(_, c)| c).collect();
            let outside = cameras.iter().filter(|c| !territory.covers(c.location)).count();
            let done = store.import_cameras(territory.id, &cameras, actor).await?;
            println!(
                "{}: {} cameras ({} added, {} updated) for {}",
                file.display(),
                cameras.len(),
                done.added,
                done.updated,
                territory.name
            );
            if outside > 0 {
                println!("note: {outside} of them lie outside the territory's boundary");
            }
            Ok(())
        }
        ImportCommand::Posts { file, territory } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let register = qalqan_ingest::posts::read_posts(&file)?;
            if !register.errors.is_empty() {
                return refuse_register(&file, &register.errors);
            }
            let posts: Vec<_> = register.rows.into_iter().map(|(_, p)| p).collect();
            let outside = posts.iter().filter(|p| !territory.covers(p.location)).count();
            let done = store.import_posts(territory.id, &posts, actor).await?;
            println!("{}: {} posts ({} added, {} updated) for {}", file.display(), posts.len(), done.added, done.updated, territory.name);
            if outside > 0 {
                println!("note: {outside} of them lie outside the territory's boundary");
            }
            Ok(())
        }
        ImportCommand::Beats { file, territory, name_property, inspector_property } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let beats = match qalqan_server::beats::parse_beats(&file.display().to_string(), &file, &name_property, &inspector_property) {
                Ok(b) => b,
                Err(errors) => return refuse_register(&file, &errors),
            };
            let replaced = store.replace_beats(territory.id, &beats, actor).await?;
            println!("{}: {} beats for {} (replacing {replaced})", file.display(), beats.len(), territory.name);
            Ok(())
        }
    }
}

/// Keeps an OpenStreetMap extract as the territory's street network (after reading it whole:
/// a file that does not parse changes nothing) and says what it holds.
pub async fn import_osm(store: &Store, territory: &Territory, file: &Path, actor: &Actor) -> anyhow::Result<()> {
    use sha2::Digest as _;
    let started = std::time::Instant::now();
    let extract = qalqan_ingest::osm::read_osm_extract(file)?;
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    let digest: [u8; 32] = sha2::Sha256::digest(&bytes).into();
    let s = &extract.summary;
    let summary = serde_json::json!({
        "nodes": extract.nodes.len(), "ways": extract.ways.len(), "places": extract.pois.len(),
        "missing_node_refs": s.missing_node_refs, "pieces_dropped": s.pieces_dropped, "places_dropped": s.pois_dropped,
    });
    let graph = qalqan_server::streets::street_graph(&extract, &qalqan_server::streets::street_projection(territory, &extract))?;
    let source = qalqan_store::StreetSource {
        file_name: file.file_name().map_or_else(|| file.display().to_string(), |n| n.to_string_lossy().into_owned()),
        sha256: qalqan_domain::Sha256Hex::from_digest(&digest).as_str().to_owned(),
        bytes,
        summary: summary.to_string(),
    };
    store.set_street_source(territory.id, &source, actor).await?;
    let km: f64 = graph.segments().iter().map(|s| s.length_m).sum::<f64>() / 1000.0;
    println!(
        "{}: {} routable ways, {} street segments ({km:.1} km), {} places of interest for {} ({:.2} s)",
        file.display(),
        extract.ways.len(),
        graph.segment_count(),
        extract.pois.len(),
        territory.name,
        started.elapsed().as_secs_f64()
    );
    if s.missing_node_refs > 0 {
        println!("note: {} node references point outside the extract (ways cut at its edge)", s.missing_node_refs);
    }
    Ok(())
}

/// Reads and validates a file without touching the database.
fn check_file(territory: &Territory, file: &Path, mapping: &Mapping) -> anyhow::Result<()> {
    let started = Instant::now();
    let source = SourceFile::open(file, mapping.format)?;
    let report = qalqan_importer::check(territory, &source, mapping)?;
    print_rejects(&report);
    println!(
        "{}: {} rows read, {} valid ({} identical to an earlier row), {} invalid; nothing written (dry run, {:.2} s)",
        file.display(),
        report.rows_read,
        report.rows_valid,
        report.rows_identical_in_file,
        report.rejects.len(),
        started.elapsed().as_secs_f64()
    );
    if report.rejects.is_empty() { Ok(()) } else { bail!("{} invalid rows", report.rejects.len()) }
}

/// Imports one file into `territory` and prints a report.
pub async fn import_file(
    store: &Store,
    territory: &Territory,
    file: &Path,
    mapping: &Mapping,
    policy: InvalidRows,
    rejects_path: Option<PathBuf>,
    actor: &Actor,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let source = SourceFile::open(file, mapping.format)?;
    let progress = Progress::new(source.len, &source.display_name());
    let staged = qalqan_importer::stage(store, territory, &source, mapping, policy, actor, &progress).await;
    progress.finish();
    let ready = match staged? {
        Staged::AlreadyImported(batch) => {
            println!(
                "{} was already imported into {} as batch {} on {} ({} incidents): nothing to do",
                file.display(),
                territory.name,
                batch.id.0,
                batch.imported_at.format("%Y-%m-%d %H:%M UTC"),
                batch.rows_imported
            );
            return Ok(());
        }
        Staged::Rejected(report) => {
            print_rejects(&report);
            bail!(
                "{} of {} rows of {} are invalid; nothing was imported. Fix the rows, or run again with --skip-invalid to import the {} valid rows and write the rejects to a CSV file",
                report.rejects.len(),
                report.rows_read,
                file.display(),
                report.rows_valid
            );
        }
        Staged::NoValidRows(report) => {
            print_rejects(&report);
            bail!("{} has no valid rows; nothing was imported", file.display());
        }
        Staged::Ready(ready) => ready,
    };
    if !ready.report.rejects.is_empty() {
        // Written before the commit: if the rejects cannot be kept, nothing is imported.
        let path = rejects_path.unwrap_or_else(|| default_rejects_path(file));
        if let Err(e) = write_rejects(&path, &ready.report.rejects) {
            ready.rollback().await?;
            return Err(e.into());
        }
        eprintln!("{} rejected rows written to {}", ready.report.rejects.len(), path.display());
    }
    let districts_created = ready.districts_created();
    let batch = ready.commit().await.context("committing the import")?;
    print_summary(&batch, territory, districts_created, started.elapsed());
    Ok(())
}

/// `export.csv.gz` → `export.csv.gz.rejects.csv`, beside the input.
fn default_rejects_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".rejects.csv");
    file.with_file_name(name)
}

fn print_rejects(report: &ReadReport) {
    const SHOWN: usize = 20;
    for r in report.rejects.iter().take(SHOWN) {
        eprintln!("rejected: {r}");
    }
    if report.rejects.len() > SHOWN {
        eprintln!("… and {} more rejected rows (use --skip-invalid to get all of them in a CSV file)", report.rejects.len() - SHOWN);
    }
}

fn print_summary(b: &ImportBatch, territory: &Territory, districts_created: u64, elapsed: Duration) {
    let secs = elapsed.as_secs_f64().max(1e-9);
    println!("imported batch {} into {} from {} (sha256 {})", b.id.0, territory.name, b.file_name, &b.checksum.as_str()[..16]);
    println!("  rows read           {:>10}", b.rows_read);
    println!("  imported            {:>10}", b.rows_imported);
    println!("  identical in file   {:>10}  (kept: separate incidents can look alike)", b.rows_identical_in_file);
    println!("  already present     {:>10}", b.rows_already_present);
    println!("  rejected            {:>10}", b.rows_rejected);
    println!("  districts created   {:>10}", districts_created);
    let peak = peak_memory_mib().map(|m| format!(", peak memory {m:.0} MiB")).unwrap_or_default();
    println!("  took {:.2} s ({:.0} rows/s){peak}", secs, b.rows_read as f64 / secs);
}

/// Peak resident memory of this process (Linux), in MiB.
fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// A progress bar on a terminal, plain log lines otherwise.
enum Progress {
    Bar(ProgressBar),
    Lines { total: u64, next_report: AtomicU64 },
}

impl Progress {
    const LINE_EVERY: u64 = 25_000;

    fn new(total_bytes: u64, name: &str) -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new(total_bytes);
            bar.set_style(
                ProgressStyle::with_template("{msg} [{bar:30}] {percent:>3}% {binary_bytes}/{binary_total_bytes} eta {eta}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            bar.set_message(format!("importing {name}"));
            Progress::Bar(bar)
        } else {
            eprintln!("importing {name} ({total_bytes} bytes)");
            Progress::Lines { total: total_bytes, next_report: AtomicU64::new(Self::LINE_EVERY) }
        }
    }
}

impl qalqan_importer::Progress for Progress {
    fn update(&self, bytes: u64, rows: u64) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(bytes);
                bar.set_message(format!("{rows} rows"));
            }
            Progress::Lines { total, next_report } => {
                if rows >= next_report.load(Ordering::Relaxed) {
                    let pct = if *total > 0 { bytes.min(*total) * 100 / total } else { 100 };
                    eprintln!("import: {rows} rows stored so far ({pct}% of the file read)");
                    next_report.store(rows - rows % Self::LINE_EVERY + Self::LINE_EVERY, Ordering::Relaxed);
                }
            }
        }
    }
}

impl Progress {
    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
