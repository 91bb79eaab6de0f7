//! The import pipeline shared by `qalqan import incidents` and the upload
//! endpoint: read an export through a mapping and stage its valid rows in
//! one database transaction, which the caller then commits or rolls back.
//!
//! The file is read on a blocking thread while the async side inserts the
//! chunks it produces, so parsing and database writes overlap on two cores.
//! Nothing is visible to readers before [`Staged::Ready`] is committed, and a
//! failure at any point (a bad file, a database error, a killed process)
//! leaves the database as it was.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use qalqan_domain::audit::Actor;
use qalqan_domain::{ImportBatch, NewIncident, Territory};
use qalqan_ingest::{ImportContext, IngestError, Mapping, ReadOptions, ReadReport, SourceFile, read_incidents};
use qalqan_store::{ImportTx, NewBatch, ReaderCounts, Store, StoreError};

/// Why an import could not run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file as a whole is unreadable (named with file and line).
    #[error(transparent)]
    File(#[from] IngestError),
    #[error("writing incidents failed; nothing was imported: {0}")]
    Store(#[from] StoreError),
    #[error("the file reader stopped unexpectedly: {0}")]
    Reader(String),
}

/// What to do with rows that fail validation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum InvalidRows {
    /// Import nothing from a file with any invalid row (the default).
    #[default]
    AbortFile,
    /// Import the valid rows; the caller keeps the rejects.
    SetAside,
}

/// Progress of a running import: bytes of the file read, rows stored so far.
pub trait Progress: Send + Sync {
    fn update(&self, bytes_read: u64, rows_stored: u64);
}

impl<F: Fn(u64, u64) + Send + Sync> Progress for F {
    fn update(&self, bytes_read: u64, rows_stored: u64) {
        self(bytes_read, rows_stored)
    }
}

/// The state of an import after reading the whole file.
#[must_use = "a ready import must be committed or rolled back"]
pub enum Staged {
    /// The same file (by SHA-256) is already in this territory: nothing to do.
    AlreadyImported(ImportBatch),
    /// Invalid rows under [`InvalidRows::AbortFile`]: rolled back, nothing written.
    Rejected(ReadReport),
    /// No valid row at all: rolled back, nothing written.
    NoValidRows(ReadReport),
    /// Every valid row is staged; commit to make the batch visible.
    Ready(ReadyImport),
}

/// Staged rows inside an open transaction.
pub struct ReadyImport {
    tx: ImportTx,
    counts: ReaderCounts,
    /// What the reader found, rejects included (under [`InvalidRows::SetAside`]).
    pub report: ReadReport,
}

impl ReadyImport {
    /// Districts the mapping's `unknown = "create"` added (visible on commit).
    pub fn districts_created(&self) -> u64 {
        self.tx.districts_created()
    }

    /// Makes the batch visible.
    pub async fn commit(self) -> Result<ImportBatch, ImportError> {
        Ok(self.tx.commit(self.counts).await?)
    }

    /// Drops every staged row.
    pub async fn rollback(self) -> Result<(), ImportError> {
        Ok(self.tx.rollback().await?)
    }
}

/// Reads and validates `source` without touching the database.
pub fn check(territory: &Territory, source: &SourceFile, mapping: &Mapping) -> Result<ReadReport, ImportError> {
    let ctx = ImportContext { territory, now: chrono::Utc::now() };
    Ok(read_incidents(source, mapping, &ctx, &ReadOptions::default(), &mut |_| ControlFlow::Continue(()))?)
}

/// Reads `source` through `mapping` into a new batch of `territory` and
/// stages it; see [`Staged`].
pub async fn stage(
    store: &Store,
    territory: &Territory,
    source: &SourceFile,
    mapping: &Mapping,
    policy: InvalidRows,
    actor: &Actor,
    progress: &dyn Progress,
) -> Result<Staged, ImportError> {
    if let Some(batch) = store.batch_by_checksum(territory.id, &source.checksum).await? {
        return Ok(Staged::AlreadyImported(batch));
    }
    let new_batch = NewBatch {
        file_name: source.display_name(),
        checksum: source.checksum.clone(),
        format: source.format.code().to_owned(),
        actor: actor.clone(),
    };
    let mut tx = store.begin_import(territory, &new_batch).await?;
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
    let read = reader.await.map_err(|e| ImportError::Reader(e.to_string()));
    if let Some(e) = insert_error {
        let _ = tx.rollback().await;
        return Err(e.into());
    }
    let report = match read {
        Ok(Ok(report)) => report,
        Ok(Err(e)) => {
            tx.rollback().await?;
            return Err(e.into());
        }
        Err(e) => {
            tx.rollback().await?;
            return Err(e);
        }
    };
    if !report.rejects.is_empty() && policy == InvalidRows::AbortFile {
        tx.rollback().await?;
        return Ok(Staged::Rejected(report));
    }
    if report.rows_valid == 0 {
        tx.rollback().await?;
        return Ok(Staged::NoValidRows(report));
    }
    let counts = ReaderCounts {
        rows_read: report.rows_read,
        rows_identical_in_file: report.rows_identical_in_file,
        rows_rejected: report.rejects.len() as u64,
    };
    Ok(Staged::Ready(ReadyImport { tx, counts, report }))
}
