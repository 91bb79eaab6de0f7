//! CSV (and gzip-compressed CSV) input.

use std::io::Read;

use crate::convert::{Collector, Converter, FieldError, row_error};
use crate::{ImportContext, IngestError, Mapping, RowError, SourceFile};

/// Reads a delimited file with a header line.
///
/// Records are read as bytes so that invalid UTF-8 is reported per field
/// rather than aborting the file; a record with fewer or more fields than the
/// header (a truncated line, an unquoted delimiter) is rejected.
pub(crate) fn read(
    source: &SourceFile,
    reader: Box<dyn Read + Send>,
    mapping: &Mapping,
    ctx: &ImportContext<'_>,
    out: &mut Collector<'_>,
) -> Result<(), IngestError> {
    let mut csv = csv::ReaderBuilder::new()
        .delimiter(mapping.delimiter)
        .has_headers(false)
        .flexible(true)
        .buffer_capacity(1 << 16)
        .from_reader(reader);
    let read_err = |line: u64, e: csv::Error| IngestError::Read { path: source.path.clone(), line, reason: e.to_string() };

    let mut record = csv::ByteRecord::new();
    let has_header = csv.read_byte_record(&mut record).map_err(|e| read_err(1, e))?;
    if !has_header {
        return Err(IngestError::EmptyFile { path: source.path.clone() });
    }
    let mut header = Vec::with_capacity(record.len());
    for (i, field) in record.iter().enumerate() {
        let field = if i == 0 { field.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(field) } else { field };
        let name = std::str::from_utf8(field).map_err(|e| IngestError::Read {
            path: source.path.clone(),
            line: 1,
            reason: format!("header field {} is not valid UTF-8 (byte {} of it); export the file as UTF-8", i + 1, e.valid_up_to() + 1),
        })?;
        header.push(name.trim().to_owned());
    }
    let found = describe_header(&header);
    let hint = delimiter_hint(&record, mapping.delimiter);
    let position = |name: &str| header.iter().position(|h| h == name).or_else(|| header.iter().position(|h| h.eq_ignore_ascii_case(name)));
    let mut converter = Converter::new(mapping, ctx, source, &position, &found, &hint, true)?;
    let id_field = mapping.columns.id.clone().unwrap_or_default();

    let mut last_line = 1;
    loop {
        if out.stopped() {
            break;
        }
        let more = csv.read_byte_record(&mut record).map_err(|e| read_err(last_line + 1, e))?;
        if !more {
            break;
        }
        let line = record.position().map_or(last_line + 1, |p| p.line());
        last_line = line;
        out.count_row();

        if record.len() != header.len() {
            let (field, reason) = if record.len() < header.len() {
                (
                    header[record.len()].clone(),
                    format!(
                        "missing: the line has {} of the header's {} fields (truncated line or wrong delimiter?)",
                        record.len(),
                        header.len()
                    ),
                )
            } else {
                (
                    "(line)".to_owned(),
                    format!("the line has {} fields but the header has {} (an unquoted delimiter?)", record.len(), header.len()),
                )
            };
            out.reject(RowError { file: source.display_name(), line, field, reason, record: render(&record, mapping.delimiter) });
            continue;
        }

        let mut texts: Vec<&str> = Vec::with_capacity(header.len());
        let mut utf8_error = None;
        for (i, field) in record.iter().enumerate() {
            match std::str::from_utf8(field) {
                Ok(s) => texts.push(s),
                Err(e) => {
                    utf8_error = Some(FieldError {
                        field: header[i].clone(),
                        reason: format!(
                            "not valid UTF-8 (byte 0x{:02X} at position {}); export the file as UTF-8",
                            field[e.valid_up_to()],
                            e.valid_up_to() + 1
                        ),
                    });
                    break;
                }
            }
        }
        if let Some(e) = utf8_error {
            out.reject(row_error(source, line, e, render(&record, mapping.delimiter)));
            continue;
        }
        let fields: &[&str] = &texts;
        let result = converter
            .convert(line, &|i| fields[i], None)
            .and_then(|converted| out.accept(converted, &record.iter().collect::<Vec<_>>(), &id_field));
        if let Err(e) = result {
            out.reject(row_error(source, line, e, render(&record, mapping.delimiter)));
        }
    }
    if out.rows_read() == 0 {
        return Err(IngestError::NoDataRows { path: source.path.clone(), line: last_line });
    }
    Ok(())
}

/// "14 columns: occurrencedate, occurrencehour, …".
fn describe_header(header: &[String]) -> String {
    let shown: Vec<String> = header.iter().take(12).map(|h| format!("'{h}'")).collect();
    let more = if header.len() > 12 { ", …" } else { "" };
    format!("{} column{}: {}{more}", header.len(), if header.len() == 1 { "" } else { "s" }, shown.join(", "))
}

/// Suggests another delimiter when the header splits better with it.
fn delimiter_hint(header: &csv::ByteRecord, used: u8) -> String {
    let raw: Vec<u8> = header.iter().flat_map(|f| f.iter().copied()).collect();
    let best = [b',', b';', b'\t', b'|']
        .into_iter()
        .filter(|&d| d != used)
        .map(|d| (d, raw.iter().filter(|&&b| b == d).count()))
        .max_by_key(|&(_, n)| n);
    match best {
        Some((d, n)) if n > 0 && header.len() <= 2 => {
            let shown = if d == b'\t' { "tab".to_owned() } else { (d as char).to_string() };
            format!(" (the header looks {shown}-delimited: set [csv] delimiter = \"{shown}\" in the mapping)")
        }
        _ => String::new(),
    }
}

/// The record as a line of text, for reports.
fn render(record: &csv::ByteRecord, delimiter: u8) -> String {
    let parts: Vec<String> = record.iter().map(|f| String::from_utf8_lossy(f).into_owned()).collect();
    parts.join(&(delimiter as char).to_string())
}
