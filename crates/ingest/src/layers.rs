//! Point layers a user imports as risk-terrain factors (liquor shops from the akimat's licence
//! list, abandoned buildings, dark courtyards, …): CSV with `lat`, `lon` (an optional `id`; other
//! columns are ignored) or GeoJSON points, every bad field named (the rules of
//! [`crate::register`]).

use std::path::Path;

use qalqan_domain::Wgs84Point;

use crate::register::{self, Fields, RegisterFile, RegisterRow};
use crate::{IngestError, RowError};

/// A point of a layer.
#[derive(Debug, Clone, PartialEq)]
pub struct LayerPoint {
    /// The file's id, else the line number.
    pub id: String,
    pub location: Wgs84Point,
}

impl RegisterRow for LayerPoint {
    const ROLE: &'static str = "point layer";

    fn parse(row: &Fields<'_>) -> Result<Self, RowError> {
        let location = row.location()?;
        let id = row.get("id").unwrap_or_else(|| format!("line {}", row.line()));
        Ok(Self { id, location })
    }

    fn id(&self) -> &str {
        &self.id
    }
}

/// Reads a point layer (`.csv` or `.geojson`).
pub fn read_layer(path: &Path) -> Result<RegisterFile<LayerPoint>, IngestError> {
    register::read_register(path, &["lat", "lon"])
}

/// Parses a CSV point layer held in memory; `name` is used in messages.
pub fn parse_csv(name: &str, path: &Path, bytes: &[u8]) -> Result<RegisterFile<LayerPoint>, IngestError> {
    register::parse_csv(name, path, bytes, &["lat", "lon"])
}

/// Parses a GeoJSON point layer held in memory.
pub fn parse_geojson(name: &str, path: &Path, bytes: &[u8]) -> Result<RegisterFile<LayerPoint>, IngestError> {
    register::parse_geojson(name, path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_are_read_with_or_without_ids_and_bad_rows_are_named() {
        let f = parse_csv("shops.csv", Path::new("shops.csv"), b"name,lat,lon\nA,51.1,71.4\nB,91,71.4\nC,51.2,71.5\n").unwrap();
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[0].1.id, "line 2");
        assert_eq!((f.errors[0].line, f.errors[0].field.as_str()), (3, "lat/lon"));
    }
}
