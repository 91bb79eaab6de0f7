//! Writing rejected rows beside the input, for the analyst to fix.

use std::io::Write;
use std::path::Path;

use crate::{IngestError, RowError};

/// Writes `rejects` as CSV (`file,line,field,reason,record`) to `path`.
///
/// The file is written to a temporary name and renamed into place, so a
/// crash never leaves half a report.
pub fn write_rejects(path: &Path, rejects: &[RowError]) -> Result<(), IngestError> {
    let io = |e: std::io::Error| IngestError::Io { path: path.into(), reason: e.to_string() };
    let tmp = path.with_extension("csv.partial");
    {
        let file = std::fs::File::create(&tmp).map_err(io)?;
        let mut w = csv::Writer::from_writer(std::io::BufWriter::new(file));
        let csv_err = |e: csv::Error| IngestError::Io { path: path.into(), reason: e.to_string() };
        w.write_record(["file", "line", "field", "reason", "record"]).map_err(csv_err)?;
        for r in rejects {
            w.write_record([r.file.as_str(), &r.line.to_string(), &r.field, &r.reason, &r.record]).map_err(csv_err)?;
        }
        let mut inner = w.into_inner().map_err(|e| IngestError::Io { path: path.into(), reason: e.to_string() })?;
        inner.flush().map_err(io)?;
        inner.get_ref().sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}
