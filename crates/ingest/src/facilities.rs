//! Registers of facilities vulnerable to terrorism, and the table of measures each threat level
//! requires: CSV or GeoJSON → [`NewFacility`]s, CSV → [`RequiredMeasure`]s, every bad field named.
//!
//! Facility columns (the rules of [`crate::register`]):
//!
//! | column | required | default | meaning |
//! |---|---|---|---|
//! | `id` | yes | | the register's identifier, unique in the file |
//! | `name` | yes | | |
//! | `category` | yes | | strategic, life_support, railway_station, airport, bus_station, retail, sports, education, health, hotel, culture, other |
//! | `lat`, `lon` | yes | | WGS84 degrees |
//! | `owner` | no | | owner or operator |
//! | `passport` | no | | anti-terrorism passport number |
//! | `passport_valid_until` | no | | YYYY-MM-DD |
//! | `equipment` | no | none | `;`-separated: video, video_connected, access_control, alarm, guard_post, lighting, perimeter |
//!
//! Measure columns: `category` (a facility category, or `police` for the territory's police
//! units), `level` (yellow, orange, red: the lowest level requiring it), `code`, `text`.

use std::path::Path;

use qalqan_domain::facility::{EquipmentItem, FacilityCategory, NewFacility, RequiredMeasure};

use crate::register::{self, Fields, RegisterFile, RegisterRow};
use crate::{IngestError, RowError};

/// What a facility register holds.
pub type FacilityFile = RegisterFile<NewFacility>;

const REQUIRED: &[&str] = &["id", "name", "category", "lat", "lon"];

/// Reads a facility register (`.csv` or `.geojson`).
pub fn read_facilities(path: &Path) -> Result<FacilityFile, IngestError> {
    register::read_register(path, REQUIRED)
}

/// Parses a CSV facility register held in memory; `name` is used in messages.
pub fn parse_csv(name: &str, path: &Path, bytes: &[u8]) -> Result<FacilityFile, IngestError> {
    register::parse_csv(name, path, bytes, REQUIRED)
}

/// Parses a GeoJSON facility register held in memory.
pub fn parse_geojson(name: &str, path: &Path, bytes: &[u8]) -> Result<FacilityFile, IngestError> {
    register::parse_geojson(name, path, bytes)
}

impl RegisterRow for NewFacility {
    const ROLE: &'static str = "facility register";

    fn parse(row: &Fields<'_>) -> Result<Self, RowError> {
        let id = row.required("id")?;
        let name = row.required("name")?;
        let category: FacilityCategory = row.parsed("category", "")?;
        let location = row.location()?;
        let valid = match row.get("passport_valid_until") {
            None => None,
            Some(v) => Some(
                chrono::NaiveDate::parse_from_str(&v, "%Y-%m-%d")
                    .map_err(|_| row.error("passport_valid_until", format!("'{v}' is not a date YYYY-MM-DD")))?,
            ),
        };
        let equipment: Vec<EquipmentItem> = row
            .get("equipment")
            .unwrap_or_default()
            .split([';', ','])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(|s| s.parse().map_err(|e: qalqan_domain::DomainError| row.error("equipment", e.to_string())))
            .collect::<Result<_, _>>()?;
        NewFacility::new(
            &id,
            &name,
            category,
            &row.get("owner").unwrap_or_default(),
            location,
            row.get("passport").as_deref(),
            valid,
            &equipment,
        )
        .map_err(|e| {
            let field = match &e {
                qalqan_domain::DomainError::OutOfRange { what: "equipment", .. } => "equipment",
                qalqan_domain::DomainError::Empty { what: "facility name" }
                | qalqan_domain::DomainError::TooLong { what: "facility name", .. } => "name",
                _ => "id",
            };
            row.error(field, e.to_string())
        })
    }

    fn id(&self) -> &str {
        &self.external_id
    }
}

/// Reads the measures table (CSV: category, level, code, text); every bad row is reported.
pub fn read_measures(path: &Path) -> Result<(Vec<RequiredMeasure>, Vec<RowError>), IngestError> {
    let bytes = std::fs::read(path).map_err(|e| IngestError::Io { path: path.to_owned(), reason: e.to_string() })?;
    let name = path.display().to_string();
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(bytes.as_slice());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| IngestError::Read { path: path.to_owned(), line: 1, reason: e.to_string() })?
        .iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    for required in ["category", "level", "code", "text"] {
        if !header.iter().any(|h| h == required) {
            return Err(IngestError::MissingColumn {
                path: path.to_owned(),
                column: required.into(),
                role: "measures table",
                found: header.join(", "),
                hint: String::new(),
            });
        }
    }
    let (mut measures, mut errors) = (Vec::new(), Vec::new());
    for (k, record) in reader.records().enumerate() {
        let line = k as u64 + 2;
        let record = record.map_err(|e| IngestError::Read { path: path.to_owned(), line, reason: e.to_string() })?;
        let get = |f: &str| header.iter().position(|h| h == f).and_then(|i| record.get(i)).unwrap_or("").trim().to_owned();
        let err = |field: &str, reason: String| RowError {
            file: name.clone(),
            line,
            field: field.into(),
            reason,
            record: record.iter().collect::<Vec<_>>().join(","),
        };
        let category = match get("category").as_str() {
            "police" | "" => Ok(None),
            c => c.parse::<FacilityCategory>().map(Some).map_err(|e| err("category", e.to_string())),
        };
        let row = category.and_then(|category| {
            let level = get("level").parse().map_err(|e: qalqan_domain::DomainError| err("level", e.to_string()))?;
            RequiredMeasure::new(category, level, &get("code"), &get("text")).map_err(|e| {
                let field = if matches!(e, qalqan_domain::DomainError::OutOfRange { what: "measure code", .. }) { "code" } else { "text" };
                err(field, e.to_string())
            })
        });
        match row {
            Ok(m) if measures.iter().any(|o: &RequiredMeasure| o.category == m.category && o.code == m.code) => {
                errors.push(err("code", format!("'{}' is already used for this category", m.code)))
            }
            Ok(m) => measures.push(m),
            Err(e) => errors.push(e),
        }
    }
    if measures.is_empty() && errors.is_empty() {
        return Err(IngestError::NoDataRows { path: path.to_owned(), line: 1 });
    }
    Ok((measures, errors))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn facilities_are_read_and_every_bad_field_is_named() {
        let text = "id,name,category,owner,lat,lon,passport,passport_valid_until,equipment\n\
                    F1,Nurly Zhol,railway_station,KTZ,51.19,71.41,17,2027-01-01,video;video_connected;alarm\n\
                    F2,Airport,airport,,51.02,71.46,,,\n\
                    F3,Mall,mall,,51.1,71.4,,,\n\
                    F4,School,education,,51.1,71.4,,2027-13-01,\n\
                    F5,Stadium,sports,,51.1,71.4,,,video_connected\n";
        let f = parse_csv("f.csv", Path::new("f.csv"), text.as_bytes()).unwrap();
        assert_eq!(f.rows.len(), 2);
        assert_eq!(f.rows[0].1.equipment, [EquipmentItem::VideoSurveillance, EquipmentItem::VideoConnected, EquipmentItem::Alarm]);
        let errs: Vec<(u64, &str)> = f.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(errs, [(4, "category"), (5, "passport_valid_until"), (6, "equipment")]);
    }

    #[test]
    fn measures_are_read_with_police_rows_and_duplicates_named() {
        let dir = tempfile_dir();
        let p = dir.join("m.csv");
        std::fs::write(&p, "category,level,code,text\nairport,orange,guard_doubled,Double the guard\npolice,yellow,readiness,Readiness\nairport,purple,x,y\nairport,red,guard_doubled,Again\n").unwrap();
        let (m, e) = read_measures(&p).unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[1].category, None);
        assert_eq!(e.iter().map(|e| (e.line, e.field.as_str())).collect::<Vec<_>>(), [(4, "level"), (5, "code")]);
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("qalqan-measures-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
