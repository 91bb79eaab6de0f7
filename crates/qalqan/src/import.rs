//! `qalqan import incidents`: read a police export through a mapping and
//! store it as one batch, all or nothing.
//!
//! The file is read on a blocking thread while the async side inserts the
//! chunks it produces, so parsing and database writes overlap on two cores.

use std::io::IsTerminal;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Subcommand;
use indicatif::{ProgressBar, ProgressStyle};
use qalqan_domain::audit::Actor;
use qalqan_domain::{ImportBatch, NewIncident, Territory, TerritoryName};
use qalqan_ingest::{ImportContext, Mapping, ReadOptions, ReadReport, SourceFile, read_incidents, write_rejects};
use qalqan_store::{NewBatch, ReaderCounts, Store};

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import incidents from CSV, CSV.gz or GeoJSON through a mapping file.
    Incidents(IncidentsArgs),
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

/// What to do with rows that fail validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvalidRows {
    /// Import nothing from a file with any invalid row (the default).
    AbortFile,
    /// Import the valid rows; write the invalid ones to a rejects file.
    SetAside,
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
    }
}

/// Reads and validates a file without touching the database.
fn check_file(territory: &Territory, file: &Path, mapping: &Mapping) -> anyhow::Result<()> {
    let started = Instant::now();
    let source = SourceFile::open(file, mapping.format)?;
    let ctx = ImportContext { territory, now: chrono::Utc::now() };
    let report = read_incidents(&source, mapping, &ctx, &ReadOptions::default(), &mut |_| ControlFlow::Continue(()))?;
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
    if let Some(batch) = store.batch_by_checksum(territory.id, &source.checksum).await? {
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

    let new_batch = NewBatch {
        file_name: source.display_name(),
        checksum: source.checksum.clone(),
        format: source.format.code().to_owned(),
        actor: actor.clone(),
    };
    let mut tx = store.begin_import(territory, &new_batch).await?;
    let progress = Progress::new(source.len, &source.display_name());
    let bytes_read = Arc::new(AtomicU64::new(0));

    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<NewIncident>>(4);
    let reader = {
        let (source, mapping, territory) = (source.clone(), mapping.clone(), territory.clone());
        let options = ReadOptions { bytes_read: Some(bytes_read.clone()), ..ReadOptions::default() };
        tokio::task::spawn_blocking(move || {
            let ctx = ImportContext { territory: &territory, now: chrono::Utc::now() };
            read_incidents(&source, &mapping, &ctx, &options, &mut |chunk| match sender.blocking_send(chunk) {
                Ok(()) => ControlFlow::Continue(()),
                Err(_) => ControlFlow::Break(()),
            })
        })
    };

    let mut stored = 0u64;
    let mut insert_error = None;
    while let Some(chunk) = receiver.recv().await {
        match tx.insert(&chunk).await {
            Ok(outcome) => {
                stored += outcome.inserted + outcome.already_present;
                progress.update(bytes_read.load(Ordering::Relaxed), stored);
            }
            Err(e) => {
                insert_error = Some(e);
                break;
            }
        }
    }
    drop(receiver); // stops the reader if we broke off
    let report: ReadReport = reader.await.context("the file reader stopped unexpectedly")??;
    progress.finish();
    if let Some(e) = insert_error {
        return Err(e).context("writing incidents; nothing was imported");
    }

    let counts = ReaderCounts {
        rows_read: report.rows_read,
        rows_identical_in_file: report.rows_identical_in_file,
        rows_rejected: report.rejects.len() as u64,
    };
    if !report.rejects.is_empty() {
        match policy {
            InvalidRows::AbortFile => {
                tx.rollback().await?;
                print_rejects(&report);
                bail!(
                    "{} of {} rows of {} are invalid; nothing was imported. Fix the rows, or run again with --skip-invalid to import the {} valid rows and write the rejects to a CSV file",
                    report.rejects.len(),
                    report.rows_read,
                    file.display(),
                    report.rows_valid
                );
            }
            InvalidRows::SetAside => {
                let path = rejects_path.unwrap_or_else(|| default_rejects_path(file));
                write_rejects(&path, &report.rejects)?;
                eprintln!("{} rejected rows written to {}", report.rejects.len(), path.display());
            }
        }
    }
    if report.rows_valid == 0 {
        tx.rollback().await?;
        bail!("{} has no valid rows; nothing was imported", file.display());
    }
    let districts_created = tx.districts_created();
    let batch = tx.commit(counts).await.context("committing the import")?;
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

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}
