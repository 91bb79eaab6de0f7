//! Opening an input file: format, checksum and a (decompressing) reader.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flate2::read::MultiGzDecoder;
use qalqan_domain::Sha256Hex;
use sha2::{Digest, Sha256};

use crate::IngestError;

/// The layout of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFormat {
    /// Delimited text with a header line.
    Csv,
    /// A GeoJSON FeatureCollection of Point features.
    GeoJson,
}

impl SourceFormat {
    /// Stable name stored with the import batch.
    pub fn code(self) -> &'static str {
        match self {
            SourceFormat::Csv => "csv",
            SourceFormat::GeoJson => "geojson",
        }
    }
}

impl FromStr for SourceFormat {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s.trim().to_ascii_lowercase().as_str() {
            "csv" => Ok(SourceFormat::Csv),
            "geojson" | "json" => Ok(SourceFormat::GeoJson),
            _ => Err(()),
        }
    }
}

/// An input file, identified by its SHA-256 checksum.
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: PathBuf,
    pub format: SourceFormat,
    pub gzip: bool,
    /// SHA-256 of the file's bytes as stored (compressed, if it is).
    pub checksum: Sha256Hex,
    /// Size in bytes as stored.
    pub len: u64,
    /// The name shown in messages and stored with the batch (default: the path).
    pub label: String,
}

impl SourceFile {
    /// Opens `path`, infers its format from the extension unless `forced`,
    /// and computes its checksum (one read of the whole file).
    pub fn open(path: &Path, forced: Option<SourceFormat>) -> Result<Self, IngestError> {
        let io_err = |e: io::Error| IngestError::Io { path: path.into(), reason: e.to_string() };
        let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
        let gzip = name.ends_with(".gz");
        let stem = name.trim_end_matches(".gz");
        let format = match forced {
            Some(f) => f,
            None if stem.ends_with(".csv") || stem.ends_with(".tsv") || stem.ends_with(".txt") => SourceFormat::Csv,
            None if stem.ends_with(".geojson") || stem.ends_with(".json") => SourceFormat::GeoJson,
            None => return Err(IngestError::UnknownFormat { path: path.into() }),
        };
        let mut file = File::open(path).map_err(io_err)?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        let mut len = 0u64;
        loop {
            let n = file.read(&mut buf).map_err(io_err)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            len += n as u64;
        }
        let digest: [u8; 32] = hasher.finalize().into();
        if len == 0 {
            return Err(if gzip {
                IngestError::Gzip { path: path.into(), reason: "the file is 0 bytes long".into() }
            } else {
                IngestError::EmptyFile { path: path.into() }
            });
        }
        Ok(Self { path: path.into(), format, gzip, checksum: Sha256Hex::from_digest(&digest), len, label: path.display().to_string() })
    }

    /// The file name shown in messages and stored with the batch.
    pub fn display_name(&self) -> String {
        self.label.clone()
    }

    /// The same file shown under another name (an upload under its original name).
    pub fn labelled(self, label: impl Into<String>) -> Self {
        Self { label: label.into(), ..self }
    }

    /// A buffered reader over the decompressed content.
    pub(crate) fn reader(&self, progress: Option<Arc<AtomicU64>>) -> Result<Box<dyn Read + Send>, IngestError> {
        let file = File::open(&self.path).map_err(|e| IngestError::Io { path: self.path.clone(), reason: e.to_string() })?;
        let counted = Counting { inner: file, progress };
        if self.gzip {
            let mut header = [0u8; 2];
            let mut probe = File::open(&self.path).map_err(|e| IngestError::Io { path: self.path.clone(), reason: e.to_string() })?;
            let n = probe.read(&mut header).map_err(|e| IngestError::Io { path: self.path.clone(), reason: e.to_string() })?;
            if n < 2 || header != [0x1f, 0x8b] {
                return Err(IngestError::Gzip {
                    path: self.path.clone(),
                    reason: "it does not start with the gzip signature 1f 8b".into(),
                });
            }
            Ok(Box::new(GzipErrors {
                inner: BufReader::with_capacity(1 << 16, MultiGzDecoder::new(BufReader::with_capacity(1 << 16, counted))),
            }))
        } else {
            Ok(Box::new(BufReader::with_capacity(1 << 16, counted)))
        }
    }
}

/// Counts bytes read from the underlying file.
struct Counting<R> {
    inner: R,
    progress: Option<Arc<AtomicU64>>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(p) = &self.progress {
            p.fetch_add(n as u64, Ordering::Relaxed);
        }
        Ok(n)
    }
}

/// Marks decompression failures so readers can report them as gzip problems.
struct GzipErrors<R> {
    inner: R,
}

impl<R: Read> Read for GzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.inner.read(buf).map_err(|e| io::Error::new(e.kind(), format!("gzip data is corrupt or truncated ({e})")))
    }
}
