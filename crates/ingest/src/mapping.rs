//! Mapping files: which column of a police export holds what.
//!
//! A mapping is a small TOML file an analyst writes once per export format.
//! Its full format is documented in the README ("Mapping an export"); this
//! module parses it into a [`Mapping`] that the readers trust.

use std::collections::HashMap;
use std::path::Path;

use chrono_tz::Tz;
use qalqan_domain::{OffenceCategory, TimePrecision, time::parse_time_zone};
use serde::Deserialize;

use crate::IngestError;

/// A parsed mapping file.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Forced input format; `None` = from the file extension.
    pub format: Option<crate::SourceFormat>,
    pub columns: Columns,
    /// CSV field delimiter (default `,`).
    pub delimiter: u8,
    pub time: TimeMapping,
    pub unknown_districts: UnknownDistricts,
    /// Source value → category. Empty means the file already uses Qalqan's category codes.
    pub categories: HashMap<String, CategoryTarget>,
}

/// Column names for each incident field.
#[derive(Debug, Clone, Default)]
pub struct Columns {
    pub id: Option<String>,
    pub category: String,
    pub subcategory: Option<String>,
    /// Required for CSV; GeoJSON reads the point geometry instead.
    pub latitude: Option<String>,
    pub longitude: Option<String>,
    pub district: Option<String>,
    pub premises: Option<String>,
}

/// How the occurrence time is read.
#[derive(Debug, Clone)]
pub struct TimeMapping {
    /// Column with a date or date-time.
    pub column: String,
    /// chrono `strftime` format of `column`, or `rfc3339`.
    pub format: String,
    /// Optional column holding the local hour (0–23), as in Toronto's data.
    pub hour_column: Option<String>,
    /// Optional column with the end of a "between … and …" window.
    pub end_column: Option<String>,
    /// Format of `end_column` (default: `format`).
    pub end_format: String,
    /// Declared precision; `None` = inferred (hour column → hour, a time → minute, a date → day).
    pub precision: Option<TimePrecision>,
    /// Zone of times written without a UTC offset (default: the territory's zone).
    pub zone: Option<Tz>,
}

/// What to do with a district name that the territory does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownDistricts {
    /// Reject the row (default): an unknown name is usually a typo.
    #[default]
    Reject,
    /// Register the district (without a boundary) inside the import's transaction.
    Create,
}

/// Where a source category value goes.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryTarget {
    pub category: OffenceCategory,
    pub subcategory: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMapping {
    format: Option<String>,
    columns: RawColumns,
    #[serde(default)]
    csv: RawCsv,
    time: RawTime,
    #[serde(default)]
    districts: RawDistricts,
    #[serde(default)]
    categories: HashMap<String, RawTarget>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawColumns {
    id: Option<String>,
    category: String,
    subcategory: Option<String>,
    latitude: Option<String>,
    longitude: Option<String>,
    district: Option<String>,
    premises: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCsv {
    delimiter: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTime {
    column: String,
    format: String,
    hour_column: Option<String>,
    end_column: Option<String>,
    end_format: Option<String>,
    precision: Option<String>,
    zone: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawDistricts {
    unknown: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawTarget {
    Code(String),
    Full { category: String, subcategory: Option<String> },
}

impl Mapping {
    /// Reads and parses a mapping file.
    pub fn from_file(path: &Path) -> Result<Self, IngestError> {
        let text = std::fs::read_to_string(path).map_err(|e| IngestError::Io { path: path.into(), reason: e.to_string() })?;
        Self::parse(&text, path)
    }

    /// Parses mapping text; `path` is only used in error messages.
    pub fn parse(text: &str, path: &Path) -> Result<Self, IngestError> {
        let err = |reason: String| IngestError::Mapping { path: path.into(), reason };
        let raw: RawMapping = toml::from_str(text).map_err(|e| err(e.to_string().trim().to_owned()))?;
        let nonblank = |v: Option<String>| v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
        let columns = Columns {
            id: nonblank(raw.columns.id),
            category: raw.columns.category.trim().to_owned(),
            subcategory: nonblank(raw.columns.subcategory),
            latitude: nonblank(raw.columns.latitude),
            longitude: nonblank(raw.columns.longitude),
            district: nonblank(raw.columns.district),
            premises: nonblank(raw.columns.premises),
        };
        if columns.category.is_empty() {
            return Err(err("[columns] category must name a column".into()));
        }
        if columns.latitude.is_some() != columns.longitude.is_some() {
            return Err(err("[columns] latitude and longitude must be given together".into()));
        }
        let format = raw
            .format
            .as_deref()
            .map(|f| f.parse::<crate::SourceFormat>().map_err(|_| err(format!("format '{f}' is not csv or geojson"))))
            .transpose()?;
        let delimiter = match raw.csv.delimiter.as_deref() {
            None => b',',
            Some("\\t") | Some("\t") | Some("tab") => b'\t',
            Some(d) if d.len() == 1 && d.is_ascii() => d.as_bytes()[0],
            Some(d) => return Err(err(format!("[csv] delimiter '{d}' must be one ASCII character (or \"tab\")"))),
        };
        let precision = raw
            .time
            .precision
            .as_deref()
            .map(|p| p.parse::<TimePrecision>().map_err(|e| err(format!("[time] precision: {e}"))))
            .transpose()?;
        if precision == Some(TimePrecision::Window) && raw.time.end_column.is_none() {
            return Err(err("[time] precision \"window\" needs an end_column".into()));
        }
        let zone = raw.time.zone.as_deref().map(|z| parse_time_zone(z).map_err(|e| err(format!("[time] zone: {e}")))).transpose()?;
        let time = TimeMapping {
            column: raw.time.column.trim().to_owned(),
            end_format: raw.time.end_format.unwrap_or_else(|| raw.time.format.clone()),
            format: raw.time.format,
            hour_column: nonblank(raw.time.hour_column),
            end_column: nonblank(raw.time.end_column),
            precision,
            zone,
        };
        let unknown_districts = match raw.districts.unknown.as_deref() {
            None | Some("reject") => UnknownDistricts::Reject,
            Some("create") => UnknownDistricts::Create,
            Some(other) => return Err(err(format!("[districts] unknown = '{other}': expected \"reject\" or \"create\""))),
        };
        let mut categories = HashMap::new();
        for (source, target) in raw.categories {
            let (code, subcategory) = match target {
                RawTarget::Code(c) => (c, None),
                RawTarget::Full { category, subcategory } => (category, subcategory),
            };
            let category = code.parse::<OffenceCategory>().map_err(|e| err(format!("[categories] \"{source}\": {e}")))?;
            categories.insert(source.trim().to_owned(), CategoryTarget { category, subcategory: nonblank(subcategory) });
        }
        Ok(Self { format, columns, delimiter, time, unknown_districts, categories })
    }

    /// Resolves a source category value (exact match first, then ignoring case).
    pub fn category(&self, value: &str) -> Option<CategoryTarget> {
        let value = value.trim();
        if self.categories.is_empty() {
            return value.parse().ok().map(|category| CategoryTarget { category, subcategory: None });
        }
        self.categories.get(value).cloned().or_else(|| {
            self.categories
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(value) || k.to_lowercase() == value.to_lowercase())
                .map(|(_, t)| t.clone())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TORONTO: &str = include_str!("../../../data/mappings/toronto-mci.toml");

    #[test]
    fn toronto_mapping_parses() {
        let m = Mapping::parse(TORONTO, Path::new("toronto-mci.toml")).unwrap();
        assert_eq!(m.columns.category, "MCI");
        assert_eq!(m.time.hour_column.as_deref(), Some("occurrencehour"));
        assert_eq!(m.unknown_districts, UnknownDistricts::Create);
        assert_eq!(m.category("Break and Enter").unwrap().category, OffenceCategory::Burglary);
        assert_eq!(m.category("break and enter").unwrap().category, OffenceCategory::Burglary);
        assert!(m.category("Arson").is_none());
    }

    #[test]
    fn mapping_errors_name_the_file_and_the_problem() {
        let e = Mapping::parse("[columns]\ncategory = \"x\"\n", Path::new("m.toml")).unwrap_err().to_string();
        assert!(e.contains("m.toml") && e.contains("time"), "{e}");
        let bad_cat = "[columns]\ncategory='c'\n[time]\ncolumn='t'\nformat='%Y'\n[categories]\n'X' = 'arson'\n";
        let e = Mapping::parse(bad_cat, Path::new("m.toml")).unwrap_err().to_string();
        assert!(e.contains("arson") && e.contains("\"X\""), "{e}");
        let typo = "[columns]\ncategory='c'\nlatitud='y'\n[time]\ncolumn='t'\nformat='%Y'\n";
        let e = Mapping::parse(typo, Path::new("m.toml")).unwrap_err().to_string();
        assert!(e.contains("latitud"), "{e}");
    }

    #[test]
    fn without_a_category_table_qalqan_codes_are_accepted() {
        let m = Mapping::parse("[columns]\ncategory='c'\n[time]\ncolumn='t'\nformat='%Y-%m-%d'\n", Path::new("m")).unwrap();
        assert_eq!(m.category("robbery").unwrap().category, OffenceCategory::Robbery);
        assert!(m.category("Robbery!").is_none());
    }
}
