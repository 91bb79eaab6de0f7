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
            let gz = GzipErrors {
                inner: BufReader::with_capacity(1 << 16, MultiGzDecoder::new(BufReader::with_capacity(1 << 16, counted))),
                produced: 0,
                limit: inflation_limit(self.len),
                compressed: self.len,
            };
            Ok(self.line_guard(gz))
        } else {
            Ok(self.line_guard(BufReader::with_capacity(1 << 16, counted)))
        }
    }

    /// CSV lines are bounded ([`MAX_LINE_BYTES`]); GeoJSON may legitimately be one long line.
    fn line_guard<R: Read + Send + 'static>(&self, inner: R) -> Box<dyn Read + Send> {
        match self.format {
            SourceFormat::Csv => Box::new(LineGuard { inner, since_newline: 0 }),
            SourceFormat::GeoJson => Box::new(inner),
        }
    }
}

/// Largest ratio of decompressed to compressed size accepted beyond [`INFLATION_ALLOWANCE`]:
/// real exports compress 5–20×; a decompression bomb (gigabytes of one repeated byte) 1,000×.
pub const MAX_INFLATION: u64 = 100;

/// Decompressed bytes always accepted, whatever the ratio (small, very regular files).
pub const INFLATION_ALLOWANCE: u64 = 64 << 20;

/// Longest CSV line accepted, bytes: far above any real record, far below what would let one
/// line (a file without line breaks) take the memory of the machine.
pub const MAX_LINE_BYTES: u64 = 1 << 20;

/// Decompressed bytes a gzip file of `compressed` bytes may produce.
fn inflation_limit(compressed: u64) -> u64 {
    INFLATION_ALLOWANCE.saturating_add(compressed.saturating_mul(MAX_INFLATION))
}

/// Refuses lines longer than [`MAX_LINE_BYTES`] (a quoted field spanning lines counts per line).
struct LineGuard<R> {
    inner: R,
    since_newline: u64,
}

impl<R: Read> Read for LineGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        for &b in &buf[..n] {
            if b == b'\n' {
                self.since_newline = 0;
            } else {
                self.since_newline += 1;
                if self.since_newline > MAX_LINE_BYTES {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("a line is longer than {MAX_LINE_BYTES} bytes (no line breaks?): refused"),
                    ));
                }
            }
        }
        Ok(n)
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

/// Marks decompression failures so readers can report them as gzip problems, and stops a
/// decompression bomb: more than [`inflation_limit`] bytes out is an error, not a full disk or memory.
struct GzipErrors<R> {
    inner: R,
    produced: u64,
    limit: u64,
    compressed: u64,
}

impl<R: Read> Read for GzipErrors<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf).map_err(|e| io::Error::new(e.kind(), format!("gzip data is corrupt or truncated ({e})")))?;
        self.produced += n as u64;
        if self.produced > self.limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the gzip data decompresses to more than {} bytes from {} (over {MAX_INFLATION}× plus {} MiB): refused as a likely decompression bomb",
                    self.limit,
                    self.compressed,
                    INFLATION_ALLOWANCE >> 20
                ),
            ));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::Compression;
    use flate2::write::GzEncoder;
    use std::io::Write;

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::best());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    fn drain(mut r: Box<dyn Read + Send>) -> io::Result<u64> {
        io::copy(&mut r, &mut io::sink())
    }

    #[test]
    fn a_decompression_bomb_is_stopped_at_the_inflation_limit() {
        // One member of 1 MiB of short CSV lines, repeated: ~1 KiB each, 1,000× inflation.
        let member = gz(&b"1,2,3\n".repeat((1 << 20) / 6));
        let copies = 200;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bomb.csv.gz");
        std::fs::write(&path, member.repeat(copies)).unwrap();
        let source = SourceFile::open(&path, None).unwrap();
        assert!(inflation_limit(source.len) < (copies as u64) << 20, "the test file must exceed the limit");
        let err = drain(source.reader(None).unwrap()).unwrap_err().to_string();
        assert!(err.contains("decompression bomb"), "{err}");
    }

    #[test]
    fn ordinary_gzip_and_long_geojson_lines_pass_while_endless_csv_lines_do_not() {
        let dir = tempfile::tempdir().unwrap();
        let csv = dir.path().join("ok.csv.gz");
        let text = b"a,b\n1,2\n".repeat(10_000);
        std::fs::write(&csv, gz(&text)).unwrap();
        assert_eq!(drain(SourceFile::open(&csv, None).unwrap().reader(None).unwrap()).unwrap(), text.len() as u64);

        let one_line = vec![b'x'; MAX_LINE_BYTES as usize + 10];
        let geojson = dir.path().join("long.geojson");
        std::fs::write(&geojson, &one_line).unwrap();
        assert!(drain(SourceFile::open(&geojson, None).unwrap().reader(None).unwrap()).is_ok(), "GeoJSON may be one line");
        let flat = dir.path().join("flat.csv");
        std::fs::write(&flat, &one_line).unwrap();
        let err = drain(SourceFile::open(&flat, None).unwrap().reader(None).unwrap()).unwrap_err().to_string();
        assert!(err.contains("longer than"), "{err}");
    }
}
