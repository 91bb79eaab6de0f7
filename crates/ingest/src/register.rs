//! Registers (cameras, posts, …): CSV or GeoJSON files of point objects with an identifier,
//! read into checked values with every bad field reported.
//!
//! CSV: a header line (names case-insensitive, any order), then one object per line. GeoJSON: a
//! FeatureCollection of Points whose properties carry the same names (`lat`/`lon` come from the
//! geometry; `true`/`false` properties read as the register's yes/no words). Every row is
//! checked; a file with any bad row is reported whole (file, line, field, reason) so it can be
//! fixed in one go. Identifiers must be unique within the file.

use std::collections::HashMap;
use std::path::Path;

use qalqan_domain::Wgs84Point;

use crate::{IngestError, RowError};

/// What a register file holds: the objects (with their line numbers) or the rows at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterFile<T> {
    pub rows: Vec<(u64, T)>,
    pub errors: Vec<RowError>,
}

/// How one kind of register reads a row.
pub(crate) trait RegisterRow: Sized {
    /// What the file is, for messages ("camera register").
    const ROLE: &'static str;
    /// The words a GeoJSON `true` / `false` property stands for.
    const YES_NO: (&'static str, &'static str) = ("yes", "no");
    /// Builds the object from the row's fields; `field.get(name)` is the trimmed value, `None`
    /// when absent or blank.
    fn parse(row: &Fields<'_>) -> Result<Self, RowError>;
    /// Its identifier (unique in the file).
    fn id(&self) -> &str;
}

/// One row's fields and where it came from.
pub(crate) struct Fields<'a> {
    get: &'a dyn Fn(&str) -> Option<String>,
    file: &'a str,
    line: u64,
    raw: &'a str,
}

impl Fields<'_> {
    /// The row's line number in its file (1 = the header).
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// The trimmed value, `None` when absent or blank.
    pub fn get(&self, field: &str) -> Option<String> {
        (self.get)(field)
    }

    /// An error about `field` of this row.
    pub fn error(&self, field: &str, reason: impl Into<String>) -> RowError {
        RowError { file: self.file.into(), line: self.line, field: field.into(), reason: reason.into(), record: self.raw.to_owned() }
    }

    /// A required field.
    pub fn required(&self, field: &str) -> Result<String, RowError> {
        self.get(field).ok_or_else(|| self.error(field, "is empty"))
    }

    /// A finite number, `default` when blank.
    pub fn number(&self, field: &str, default: f64) -> Result<f64, RowError> {
        match self.get(field) {
            None => Ok(default),
            Some(v) => v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| self.error(field, format!("'{v}' is not a number"))),
        }
    }

    /// A whole number ≥ 0 that fits in `u32`, `default` when blank.
    pub fn count(&self, field: &str, default: u32) -> Result<u32, RowError> {
        let v = self.number(field, f64::from(default))?;
        if v < 0.0 || v.fract() != 0.0 || v > f64::from(u32::MAX) {
            return Err(self.error(field, format!("'{v}' is not a whole number")));
        }
        Ok(v as u32)
    }

    /// A value parsed by `FromStr`, `default` when blank; the parser's message becomes the reason.
    pub fn parsed<T: std::str::FromStr>(&self, field: &str, default: &str) -> Result<T, RowError>
    where
        T::Err: std::fmt::Display,
    {
        self.get(field).as_deref().unwrap_or(default).parse::<T>().map_err(|e| self.error(field, e.to_string()))
    }

    /// The row's `lat` and `lon`.
    pub fn location(&self) -> Result<Wgs84Point, RowError> {
        let degrees = |field: &str| -> Result<f64, RowError> {
            let v = self.required(field)?;
            v.parse::<f64>().map_err(|_| self.error(field, format!("'{v}' is not a number")))
        };
        let (lat, lon) = (degrees("lat")?, degrees("lon")?);
        Wgs84Point::new(lat, lon).map_err(|e| self.error("lat/lon", e.to_string()))
    }
}

/// Reads a register (`.csv`, `.geojson` or `.json`).
pub(crate) fn read_register<T: RegisterRow>(path: &Path, required: &[&str]) -> Result<RegisterFile<T>, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| IngestError::Io { path: path.to_owned(), reason: e.to_string() })?;
    let name = path.display().to_string();
    let lower = name.to_lowercase();
    if lower.ends_with(".geojson") || lower.ends_with(".json") {
        parse_geojson(&name, path, &bytes)
    } else if lower.ends_with(".csv") {
        parse_csv(&name, path, &bytes, required)
    } else {
        Err(IngestError::UnknownFormat { path: path.to_owned() })
    }
}

/// Parses a CSV register held in memory; `name` is used in messages.
pub(crate) fn parse_csv<T: RegisterRow>(name: &str, path: &Path, bytes: &[u8], required: &[&str]) -> Result<RegisterFile<T>, IngestError> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| IngestError::Read { path: path.to_owned(), line: 1, reason: e.to_string() })?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if header.iter().all(|h| h.is_empty()) {
        return Err(IngestError::EmptyFile { path: path.to_owned() });
    }
    for required in required {
        if !header.iter().any(|h| h == required) {
            return Err(IngestError::MissingColumn {
                path: path.to_owned(),
                column: (*required).into(),
                role: T::ROLE,
                found: header.join(", "),
                hint: String::new(),
            });
        }
    }
    let mut out = RegisterFile { rows: Vec::new(), errors: Vec::new() };
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (k, record) in reader.records().enumerate() {
        let line = k as u64 + 2;
        let record = record.map_err(|e| IngestError::Read { path: path.to_owned(), line, reason: e.to_string() })?;
        let fields: HashMap<&str, &str> = header.iter().map(String::as_str).zip(record.iter()).collect();
        let raw = record.iter().collect::<Vec<_>>().join(",");
        let get = |f: &str| fields.get(f).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        push_row(&mut out, &mut seen, &Fields { get: &get, file: name, line, raw: &raw });
    }
    if out.rows.is_empty() && out.errors.is_empty() {
        return Err(IngestError::NoDataRows { path: path.to_owned(), line: 1 });
    }
    Ok(out)
}

/// Parses a GeoJSON register held in memory; features are numbered from 1 in messages.
pub(crate) fn parse_geojson<T: RegisterRow>(name: &str, path: &Path, bytes: &[u8]) -> Result<RegisterFile<T>, IngestError> {
    let text = std::str::from_utf8(bytes).map_err(|e| IngestError::GeoJson { path: path.to_owned(), line: 1, reason: e.to_string() })?;
    let fc: geojson::FeatureCollection =
        text.parse().map_err(|e: geojson::Error| IngestError::GeoJson { path: path.to_owned(), line: 1, reason: e.to_string() })?;
    let mut out = RegisterFile { rows: Vec::new(), errors: Vec::new() };
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (k, f) in fc.features.iter().enumerate() {
        let line = k as u64 + 1;
        let point = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::Point { coordinates: c }) if c.len() >= 2 => Some((c[1], c[0])),
            _ => None,
        };
        let props = f.properties.clone().unwrap_or_default();
        let raw = serde_json::to_string(&props).unwrap_or_default();
        let Some((lat, lon)) = point else {
            out.errors.push(RowError { file: name.into(), line, field: "geometry".into(), reason: "not a Point".into(), record: raw });
            continue;
        };
        let get = |field: &str| match field {
            "lat" => Some(lat.to_string()),
            "lon" => Some(lon.to_string()),
            other => props.get(other).and_then(|v| match v {
                serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(if *b { T::YES_NO.0.into() } else { T::YES_NO.1.into() }),
                _ => None,
            }),
        };
        push_row(&mut out, &mut seen, &Fields { get: &get, file: name, line, raw: &raw });
    }
    if out.rows.is_empty() && out.errors.is_empty() {
        return Err(IngestError::NoDataRows { path: path.to_owned(), line: 1 });
    }
    Ok(out)
}

fn push_row<T: RegisterRow>(out: &mut RegisterFile<T>, seen: &mut HashMap<String, u64>, fields: &Fields<'_>) {
    let row = T::parse(fields).and_then(|item| match seen.get(item.id()) {
        Some(first) => Err(fields.error("id", format!("'{}' is already used on line {first}", item.id()))),
        None => Ok(item),
    });
    match row {
        Ok(item) => {
            seen.insert(item.id().to_owned(), fields.line);
            out.rows.push((fields.line, item));
        }
        Err(e) => out.errors.push(e),
    }
}
