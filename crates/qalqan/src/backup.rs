//! `qalqan backup` and `qalqan restore`: the whole store to one gzip file and back; and
//! `qalqan retention`: what is kept how long, applied on demand.

use std::fs::File;
use std::io::{BufReader, BufWriter};
use std::path::{Path, PathBuf};

use anyhow::Context;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use qalqan_domain::audit::{Actor, NewAuditEntry};
use qalqan_store::Store;

/// Arguments of `qalqan backup`.
#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    /// The file to write (gzip JSON lines; `.qalqan.gz` by convention). Written beside, then renamed: never half a file.
    pub file: PathBuf,
}

/// Arguments of `qalqan restore`.
#[derive(Debug, clap::Args)]
pub struct RestoreArgs {
    /// A file written by `qalqan backup`, restored into the configured database, which must be empty.
    pub file: PathBuf,
}

/// Writes a consistent backup while the server may go on writing; audited.
pub async fn backup(store: &Store, args: BackupArgs, actor: &Actor) -> anyhow::Result<()> {
    let partial = partial_path(&args.file);
    let file = File::create(&partial).with_context(|| format!("cannot create {}", partial.display()))?;
    let mut out = GzEncoder::new(BufWriter::new(file), Compression::new(6));
    let mut progress = |table: &str, rows: u64| eprintln!("  {table}: {rows} rows");
    let summary = match store.backup(&mut out, &mut progress).await {
        Ok(s) => s,
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            return Err(e.into());
        }
    };
    let file = out.finish().context("finishing the gzip stream")?.into_inner().context("flushing the backup")?;
    file.sync_all().context("syncing the backup to disk")?;
    drop(file);
    std::fs::rename(&partial, &args.file).with_context(|| format!("cannot rename {} to {}", partial.display(), args.file.display()))?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
    store
        .audit(&NewAuditEntry {
            actor: actor.clone(),
            action: "store.backup".into(),
            object: format!("file:{}", args.file.display()),
            detail: serde_json::json!({"tables": summary.tables.len(), "rows": summary.rows(), "bytes": size, "schema": summary.schema})
                .to_string(),
            purpose: None,
        })
        .await?;
    println!(
        "backup written to {}: {} tables, {} rows, {:.1} MiB (schema version {})",
        args.file.display(),
        summary.tables.len(),
        summary.rows(),
        size as f64 / (1024.0 * 1024.0),
        summary.schema
    );
    Ok(())
}

/// Restores into an empty store, all or nothing; audited.
pub async fn restore(store: &Store, args: RestoreArgs, actor: &Actor) -> anyhow::Result<()> {
    let file = File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?;
    let mut input = BufReader::with_capacity(1 << 16, MultiGzDecoder::new(BufReader::new(file)));
    let mut progress = |table: &str, rows: u64| eprintln!("  {table}: {rows} rows");
    let summary =
        store.restore(&mut input, &mut progress).await.with_context(|| format!("{}: nothing was restored", args.file.display()))?;
    store
        .audit(&NewAuditEntry {
            actor: actor.clone(),
            action: "store.restore".into(),
            object: format!("file:{}", args.file.display()),
            detail: serde_json::json!({"tables": summary.tables.len(), "rows": summary.rows(), "schema": summary.schema}).to_string(),
            purpose: None,
        })
        .await?;
    println!("restored {} tables, {} rows from {}", summary.tables.len(), summary.rows(), args.file.display());
    Ok(())
}

fn partial_path(file: &Path) -> PathBuf {
    let mut name = file.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    name.push(".partial");
    file.with_file_name(name)
}

/// `qalqan retention …`.
#[derive(Debug, clap::Subcommand)]
pub enum RetentionCommand {
    /// The rules in force and what each would delete now.
    Show,
    /// Applies every rule now (the server also does, hourly); audited per category.
    Run {
        /// Only count what would go.
        #[arg(long)]
        dry_run: bool,
    },
}

pub async fn retention(store: &Store, cmd: RetentionCommand, settings: &crate::settings::Settings) -> anyhow::Result<()> {
    let p = settings.retention;
    let dry_run = match cmd {
        RetentionCommand::Show => {
            println!(
                "incidents:      {}",
                p.incidents_years.map_or("kept for ever".to_owned(), |y| format!("{y} years after they occurred"))
            );
            println!("sessions:       {} days after they ended", p.sessions_days);
            println!("notifications:  {} days, once their assignment is accepted or cancelled", p.notifications_days);
            println!("audit log:      kept for ever (the hash-chained evidence; append-only)");
            true
        }
        RetentionCommand::Run { dry_run } => dry_run,
    };
    let done = qalqan_server::apply_retention(store, &p, chrono::Utc::now(), dry_run, &settings.actor()).await?;
    for (category, cutoff, rows) in done {
        let verb = if dry_run { "would delete" } else { "deleted" };
        println!("{}: {verb} {rows} from before {}", category.code(), cutoff.format("%Y-%m-%d %H:%M UTC"));
    }
    Ok(())
}
