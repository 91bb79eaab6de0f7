//! Reading police exports into Qalqan incidents.
//!
//! An export (CSV, gzip-compressed CSV or GeoJSON points) is read through a
//! [`Mapping`] and turned into [`NewIncident`]s for one territory. Every row
//! that cannot become an incident is reported as a [`RowError`] naming the
//! file, the line and the field; problems with the file as a whole (empty,
//! not gzip, a column the mapping names is missing) are an [`IngestError`].
//!
//! The crate reads files but writes nothing to any store: the caller decides
//! whether rejected rows abort the import (the default, all-or-nothing) or are
//! set aside ([`write_rejects`]).
//!
//! ```no_run
//! # use std::path::Path;
//! # use qalqan_ingest::*;
//! # fn demo(territory: &qalqan_domain::Territory) -> Result<(), IngestError> {
//! let mapping = Mapping::from_file(Path::new("data/mappings/toronto-mci.toml"))?;
//! let source = SourceFile::open(Path::new("toronto-mci.csv.gz"), mapping.format)?;
//! let ctx = ImportContext { territory, now: chrono::Utc::now() };
//! let report = read_incidents(&source, &mapping, &ctx, &ReadOptions::default(), &mut |chunk| {
//!     println!("{} incidents", chunk.len());
//!     std::ops::ControlFlow::Continue(())
//! })?;
//! println!("{} rejected", report.rejects.len());
//! # Ok(()) }
//! ```

pub mod boundaries;
pub mod cameras;
mod convert;
mod csv_source;
pub mod facilities;
mod geojson_source;
pub mod layers;
pub mod mapping;
pub mod osm;
pub mod posts;
pub mod register;
mod rejects;
mod source;

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use chrono::{DateTime, Utc};
use qalqan_domain::{NewIncident, Territory};

pub use geojson_source::MAX_GEOJSON_BYTES;
pub use mapping::Mapping;
pub use rejects::write_rejects;
pub use source::{INFLATION_ALLOWANCE, MAX_INFLATION, MAX_LINE_BYTES, SourceFile, SourceFormat};

/// A problem with a file as a whole. Nothing from such a file is imported.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    #[error("{}: {reason}", path.display())]
    Io { path: PathBuf, reason: String },
    #[error("{}: line 1: the file is empty (no header line)", path.display())]
    EmptyFile { path: PathBuf },
    #[error("{}: line {line}: the file has a header but no data rows", path.display())]
    NoDataRows { path: PathBuf, line: u64 },
    #[error("{}: not a valid gzip file: {reason}", path.display())]
    Gzip { path: PathBuf, reason: String },
    #[error("{}: line {line}: reading failed: {reason}", path.display())]
    Read { path: PathBuf, line: u64, reason: String },
    #[error("{}: line 1: column '{column}' named in the mapping ({role}) is not in the header; found {found}{hint}", path.display())]
    MissingColumn { path: PathBuf, column: String, role: &'static str, found: String, hint: String },
    #[error("{}: line {line}: {reason}", path.display())]
    GeoJson { path: PathBuf, line: u64, reason: String },
    #[error("mapping {}: {reason}", path.display())]
    Mapping { path: PathBuf, reason: String },
    #[error("{}: cannot tell the format from the extension; use .csv, .csv.gz, .geojson or .geojson.gz, or set format in the mapping", path.display())]
    UnknownFormat { path: PathBuf },
    #[error("{}: the mapping has no latitude/longitude columns, which a CSV file needs", path.display())]
    NoCoordinates { path: PathBuf },
    #[error("{}: {reason}", path.display())]
    Osm { path: PathBuf, reason: String },
}

/// One row that could not become an incident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowError {
    /// File name as given on the command line.
    pub file: String,
    /// 1-based line number in the (decompressed) file; the CSV header is line 1.
    pub line: u64,
    /// The column (or GeoJSON member) at fault.
    pub field: String,
    /// What is wrong, in words an analyst can act on.
    pub reason: String,
    /// The offending record as it appeared in the file.
    pub record: String,
}

impl std::fmt::Display for RowError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: line {}: field '{}': {}", self.file, self.line, self.field, self.reason)
    }
}

/// The territory being imported into, and the moment of import (dates after
/// it are refused as being in the future).
#[derive(Debug, Clone, Copy)]
pub struct ImportContext<'a> {
    pub territory: &'a Territory,
    pub now: DateTime<Utc>,
}

/// Knobs of [`read_incidents`].
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Valid incidents handed to the sink at a time. Default 5,000.
    pub chunk_size: usize,
    /// Updated with the number of (compressed) bytes read, for progress bars.
    pub bytes_read: Option<Arc<AtomicU64>>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { chunk_size: 5_000, bytes_read: None }
    }
}

/// What reading a file produced besides its incidents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// Data rows (CSV records or GeoJSON features) read.
    pub rows_read: u64,
    /// Rows handed to the sink.
    pub rows_valid: u64,
    /// Valid rows identical to an earlier row of the file; they are kept, each as its own incident.
    pub rows_identical_in_file: u64,
    /// Rows that could not become incidents, in file order.
    pub rejects: Vec<RowError>,
    /// True when the sink asked to stop before the end of the file.
    pub stopped_early: bool,
}

/// Reads every row of `source`, handing valid incidents to `sink` in chunks
/// and collecting the rejects.
///
/// The sink returns [`ControlFlow::Break`] to stop reading (for example when
/// the consumer failed). Cost: one pass over the file, O(rows) time, memory
/// O(chunk + rejects + distinct rows) (a 16-byte hash per row for duplicate
/// detection).
pub fn read_incidents(
    source: &SourceFile,
    mapping: &Mapping,
    ctx: &ImportContext<'_>,
    options: &ReadOptions,
    sink: &mut dyn FnMut(Vec<NewIncident>) -> ControlFlow<()>,
) -> Result<ReadReport, IngestError> {
    let reader = source.reader(options.bytes_read.clone())?;
    let mut out = convert::Collector::new(options.chunk_size.max(1), sink);
    match source.format {
        SourceFormat::Csv => csv_source::read(source, reader, mapping, ctx, &mut out)?,
        SourceFormat::GeoJson => geojson_source::read(source, reader, mapping, ctx, &mut out)?,
    }
    Ok(out.finish())
}
