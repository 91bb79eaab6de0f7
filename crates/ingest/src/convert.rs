//! Turning one source record into a [`NewIncident`], and collecting results.

use std::collections::HashMap;
use std::ops::ControlFlow;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};
use chrono_tz::Tz;
use qalqan_domain::time::resolve_local;
use qalqan_domain::{DistrictName, DistrictRef, DomainError, NewIncident, OccurredAt, RowKey, TimePrecision, Wgs84Point};
use sha2::{Digest, Sha256};

use crate::mapping::UnknownDistricts;
use crate::{ImportContext, IngestError, Mapping, ReadReport, RowError, SourceFile};

/// Where each mapped field sits in a record.
#[derive(Debug, Clone, Copy)]
struct Slots {
    id: Option<usize>,
    category: usize,
    subcategory: Option<usize>,
    latitude: Option<usize>,
    longitude: Option<usize>,
    time: usize,
    hour: Option<usize>,
    end: Option<usize>,
    district: Option<usize>,
    premises: Option<usize>,
}

/// A field-level failure: which column, and why.
pub(crate) struct FieldError {
    pub field: String,
    pub reason: String,
}

fn fail<T>(field: &str, reason: impl Into<String>) -> Result<T, FieldError> {
    Err(FieldError { field: field.to_owned(), reason: reason.into() })
}

/// Everything of an incident but its row key.
pub(crate) struct Converted {
    external_id: Option<String>,
    incident: NewIncident,
}

/// Converts records of one file, given how to find each mapped column.
pub(crate) struct Converter<'a> {
    mapping: &'a Mapping,
    ctx: &'a ImportContext<'a>,
    slots: Slots,
    tz: Tz,
    districts: HashMap<String, Result<DistrictRef, String>>,
}

impl<'a> Converter<'a> {
    /// Resolves the mapping's columns with `position`, failing on the first
    /// column the file lacks. `header` describes what was found, `hint` may
    /// suggest a fix (a different delimiter).
    pub fn new(
        mapping: &'a Mapping,
        ctx: &'a ImportContext<'a>,
        source: &SourceFile,
        position: &dyn Fn(&str) -> Option<usize>,
        header: &str,
        hint: &str,
        coordinates_required: bool,
    ) -> Result<Self, IngestError> {
        let find = |column: &str, role: &'static str| {
            position(column).ok_or_else(|| IngestError::MissingColumn {
                path: source.path.clone(),
                column: column.to_owned(),
                role,
                found: header.to_owned(),
                hint: hint.to_owned(),
            })
        };
        let opt = |column: &Option<String>, role: &'static str| column.as_deref().map(|c| find(c, role)).transpose();
        let c = &mapping.columns;
        if coordinates_required && c.latitude.is_none() {
            return Err(IngestError::NoCoordinates { path: source.path.clone() });
        }
        let slots = Slots {
            id: opt(&c.id, "id")?,
            category: find(&c.category, "category")?,
            subcategory: opt(&c.subcategory, "subcategory")?,
            latitude: opt(&c.latitude, "latitude")?,
            longitude: opt(&c.longitude, "longitude")?,
            time: find(&mapping.time.column, "time")?,
            hour: opt(&mapping.time.hour_column, "hour")?,
            end: opt(&mapping.time.end_column, "end time")?,
            district: opt(&c.district, "district")?,
            premises: opt(&c.premises, "premises")?,
        };
        Ok(Self { mapping, ctx, slots, tz: ctx.territory.time_zone, districts: HashMap::new() })
    }

    /// Whether the mapping reads coordinates from columns (CSV) rather than geometry.
    pub fn has_coordinate_columns(&self) -> bool {
        self.slots.latitude.is_some()
    }

    /// Converts one record. `get(i)` returns field `i`, `geometry` the
    /// `(lat, lon)` of a GeoJSON point when the mapping has no coordinate columns.
    pub fn convert<'r>(
        &mut self,
        line: u64,
        get: &dyn Fn(usize) -> &'r str,
        geometry: Option<Result<(f64, f64), FieldError>>,
    ) -> Result<Converted, FieldError> {
        let m = self.mapping;
        let cols = &m.columns;
        let s = self.slots;
        let opt_text = |slot: Option<usize>| slot.map(|i| get(i).trim()).filter(|v| !v.is_empty()).map(str::to_owned);

        // Category.
        let raw_category = get(s.category).trim();
        if raw_category.is_empty() {
            return fail(&cols.category, "offence category is missing");
        }
        let Some(target) = m.category(raw_category) else {
            let hint = if m.categories.is_empty() {
                "it is not a Qalqan category code; add a [categories] table to the mapping".to_owned()
            } else {
                "add it to [categories] in the mapping".to_owned()
            };
            return fail(&cols.category, format!("unknown offence category '{raw_category}': {hint}"));
        };
        let subcategory = target.subcategory.or_else(|| opt_text(s.subcategory));

        // Location.
        let location = match (s.latitude, s.longitude, geometry) {
            (Some(la), Some(lo), _) => {
                let lat_name = cols.latitude.as_deref().unwrap_or("latitude");
                let lon_name = cols.longitude.as_deref().unwrap_or("longitude");
                let lat = number(get(la), lat_name, "latitude")?;
                let lon = number(get(lo), lon_name, "longitude")?;
                point(lat, lon, lat_name, lon_name)?
            }
            (_, _, Some(g)) => {
                let (lat, lon) = g?;
                point(lat, lon, "geometry.coordinates", "geometry.coordinates")?
            }
            _ => return fail("geometry", "the feature has no point geometry"),
        };
        if !self.ctx.territory.covers(location) {
            let field = match (&cols.latitude, &cols.longitude) {
                (Some(a), Some(b)) => format!("{a}/{b}"),
                _ => "geometry.coordinates".to_owned(),
            };
            return fail(
                &field,
                format!(
                    "point ({:.6}, {:.6}) lies outside the boundary of territory {}",
                    location.lat(),
                    location.lon(),
                    self.ctx.territory.name
                ),
            );
        }

        // Time.
        let occurred = self.occurred(get)?;

        // District.
        let district = match opt_text(s.district) {
            Some(name) => Some(self.district_by_name(&name)?),
            None => self.ctx.territory.locate_district(location).map(DistrictRef::Known),
        };

        let incident = NewIncident {
            row_key: RowKey([0; 16]),
            source_line: line,
            external_id: None,
            category: target.category,
            subcategory,
            occurred,
            location,
            district,
            premises: opt_text(s.premises),
        };
        Ok(Converted { external_id: opt_text(s.id), incident })
    }

    fn district_by_name(&mut self, name: &str) -> Result<DistrictRef, FieldError> {
        let column = self.mapping.columns.district.as_deref().unwrap_or("district");
        let territory = self.ctx.territory;
        let policy = self.mapping.unknown_districts;
        let resolved = self.districts.entry(name.to_owned()).or_insert_with(|| {
            if let Some(d) = territory.district_by_name(name) {
                return Ok(DistrictRef::Known(d.id));
            }
            match policy {
                UnknownDistricts::Create => DistrictName::parse(name).map(DistrictRef::New).map_err(|e| e.to_string()),
                UnknownDistricts::Reject => Err(format!(
                    "district '{name}' is not registered for territory {}; import the districts first, or set [districts] unknown = \"create\" in the mapping",
                    territory.name
                )),
            }
        });
        resolved.clone().map_err(|reason| FieldError { field: column.to_owned(), reason })
    }

    fn occurred<'r>(&self, get: &dyn Fn(usize) -> &'r str) -> Result<OccurredAt, FieldError> {
        let t = &self.mapping.time;
        let s = self.slots;
        let value = get(s.time).trim();
        if value.is_empty() {
            return fail(&t.column, "occurrence time is missing");
        }
        let want_month = t.precision == Some(TimePrecision::Month);
        let (local, has_time) =
            parse_local(value, &t.format, t.zone, self.tz, want_month).map_err(|reason| FieldError { field: t.column.clone(), reason })?;
        let domain = |field: &str, e: DomainError| FieldError { field: field.to_owned(), reason: e.to_string() };

        let end_value = s.end.map(|i| get(i).trim()).filter(|v| !v.is_empty());
        let occurred = if let Some(end_value) = end_value {
            let end_col = t.end_column.as_deref().unwrap_or("end");
            let (end_local, _) = parse_local(end_value, &t.end_format, t.zone, self.tz, false)
                .map_err(|reason| FieldError { field: end_col.to_owned(), reason })?;
            let start = resolve_local(local, self.tz).map_err(|e| domain(&t.column, e))?;
            let end = resolve_local(end_local, self.tz).map_err(|e| domain(end_col, e))?;
            OccurredAt::window(start, end).map_err(|e| domain(end_col, e))?
        } else {
            let precision = t.precision.unwrap_or(match (s.hour, has_time) {
                (Some(_), _) => TimePrecision::Hour,
                (None, true) => TimePrecision::Minute,
                (None, false) => TimePrecision::Day,
            });
            match precision {
                TimePrecision::Hour => {
                    let hour = match (s.hour, t.hour_column.as_deref()) {
                        (Some(i), Some(col)) => parse_hour(get(i), col)?,
                        _ if has_time => local.hour(),
                        _ => return fail(&t.column, format!("'{value}' has no time of day, but the mapping says precision = \"hour\"")),
                    };
                    OccurredAt::in_hour(local.date(), hour, self.tz).map_err(|e| domain(&t.column, e))?
                }
                TimePrecision::Minute | TimePrecision::Window => {
                    if !has_time {
                        return fail(&t.column, format!("'{value}' has no time of day, but the mapping says precision = \"{precision}\""));
                    }
                    OccurredAt::at_local_minute(local, self.tz).map_err(|e| domain(&t.column, e))?
                }
                TimePrecision::Day => OccurredAt::on_day(local.date(), self.tz).map_err(|e| domain(&t.column, e))?,
                TimePrecision::Month => OccurredAt::in_month(local.date(), self.tz).map_err(|e| domain(&t.column, e))?,
            }
        };
        if occurred.start() > self.ctx.now {
            return fail(
                &t.column,
                format!("'{value}' is in the future (the import runs at {})", self.ctx.now.format("%Y-%m-%d %H:%M UTC")),
            );
        }
        Ok(occurred)
    }
}

fn number(raw: &str, field: &str, what: &str) -> Result<f64, FieldError> {
    let v = raw.trim();
    if v.is_empty() {
        return fail(field, format!("{what} is missing"));
    }
    v.parse::<f64>().or_else(|_| v.replace(',', ".").parse::<f64>()).or_else(|_| fail(field, format!("{what} '{v}' is not a number")))
}

fn point(lat: f64, lon: f64, lat_field: &str, lon_field: &str) -> Result<Wgs84Point, FieldError> {
    Wgs84Point::new(lat, lon).map_err(|e| {
        let field = match e {
            DomainError::LatitudeOutOfRange { .. } => lat_field.to_owned(),
            DomainError::LongitudeOutOfRange { .. } => lon_field.to_owned(),
            _ if lat_field == lon_field => lat_field.to_owned(),
            _ => format!("{lat_field}/{lon_field}"),
        };
        FieldError { field, reason: e.to_string() }
    })
}

fn parse_hour(raw: &str, field: &str) -> Result<u32, FieldError> {
    let v = raw.trim();
    let parsed = v.parse::<u32>().ok().or_else(|| v.parse::<f64>().ok().filter(|f| f.fract() == 0.0 && *f >= 0.0).map(|f| f as u32));
    match parsed {
        Some(h) if h <= 23 => Ok(h),
        _ if v.is_empty() => fail(field, "hour is missing"),
        _ => fail(field, format!("hour '{v}' is not a whole number from 0 to 23")),
    }
}

fn has_offset(format: &str) -> bool {
    format.contains("%z") || format.contains("%#z") || format.contains("%:z") || format.contains("%::z")
}

/// Parses a date or date-time into a wall-clock time in the territory's zone.
/// Returns whether the value carried a time of day.
fn parse_local(value: &str, format: &str, zone: Option<Tz>, territory: Tz, month_only: bool) -> Result<(NaiveDateTime, bool), String> {
    let to_local = |t: DateTime<Utc>| t.with_timezone(&territory).naive_local();
    if format.eq_ignore_ascii_case("rfc3339") {
        return DateTime::parse_from_rfc3339(value)
            .map(|t| (to_local(t.with_timezone(&Utc)), true))
            .map_err(|e| format!("'{value}' is not an RFC 3339 date-time ({e})"));
    }
    if has_offset(format) {
        return DateTime::parse_from_str(value, format)
            .map(|t| (to_local(t.with_timezone(&Utc)), true))
            .map_err(|e| format!("'{value}' does not match the format '{format}' ({e})"));
    }
    let from_zone = |naive: NaiveDateTime| -> Result<NaiveDateTime, String> {
        match zone {
            Some(z) if z != territory => resolve_local(naive, z).map(to_local).map_err(|e| e.to_string()),
            _ => Ok(naive),
        }
    };
    if let Ok(t) = NaiveDateTime::parse_from_str(value, format) {
        return Ok((from_zone(t)?, true));
    }
    let date = NaiveDate::parse_from_str(value, format)
        .or_else(|e| if month_only { NaiveDate::parse_from_str(&format!("{value}-01"), &format!("{format}-%d")) } else { Err(e) });
    match date {
        Ok(d) => Ok((d.and_hms_opt(0, 0, 0).unwrap_or_default(), false)),
        Err(e) => Err(format!("'{value}' does not match the format '{format}' ({e})")),
    }
}

/// Gathers converted rows into chunks, assigns row keys and counts.
pub(crate) struct Collector<'s> {
    chunk_size: usize,
    sink: &'s mut dyn FnMut(Vec<NewIncident>) -> ControlFlow<()>,
    chunk: Vec<NewIncident>,
    report: ReadReport,
    /// Content hash → rows seen with that content (for ordinals of identical rows).
    seen: HashMap<[u8; 16], u32>,
    /// External id → line where it first appeared.
    ids: HashMap<String, u64>,
}

impl<'s> Collector<'s> {
    pub fn new(chunk_size: usize, sink: &'s mut dyn FnMut(Vec<NewIncident>) -> ControlFlow<()>) -> Self {
        Self {
            chunk_size,
            sink,
            chunk: Vec::with_capacity(chunk_size),
            report: ReadReport::default(),
            seen: HashMap::new(),
            ids: HashMap::new(),
        }
    }

    /// True once the sink asked to stop.
    pub fn stopped(&self) -> bool {
        self.report.stopped_early
    }

    pub fn rows_read(&self) -> u64 {
        self.report.rows_read
    }

    pub fn count_row(&mut self) {
        self.report.rows_read += 1;
    }

    pub fn reject(&mut self, error: RowError) {
        self.report.rejects.push(error);
    }

    /// Accepts a converted row whose raw content (all fields, as read) is `content`.
    /// Returns an error when its external id repeats an earlier row's.
    pub fn accept(&mut self, converted: Converted, content: &[&[u8]], id_field: &str) -> Result<(), FieldError> {
        let Converted { external_id, mut incident } = converted;
        let key = match external_id {
            Some(id) => {
                if let Some(first) = self.ids.get(&id) {
                    return fail(id_field, format!("id '{id}' already appeared on line {first}"));
                }
                self.ids.insert(id.clone(), incident.source_line);
                let key = digest(&[b"id\x1f", id.as_bytes()]);
                incident.external_id = Some(id);
                key
            }
            None => {
                let mut parts: Vec<&[u8]> = Vec::with_capacity(content.len() * 2);
                for field in content {
                    parts.push(field);
                    parts.push(b"\x1f");
                }
                let content_key = digest(&parts);
                let ordinal = self.seen.entry(content_key).or_insert(0);
                if *ordinal > 0 {
                    self.report.rows_identical_in_file += 1;
                }
                let key = digest(&[b"row\x1f", &content_key, &ordinal.to_le_bytes()]);
                *ordinal += 1;
                key
            }
        };
        incident.row_key = RowKey(key);
        self.chunk.push(incident);
        self.report.rows_valid += 1;
        if self.chunk.len() >= self.chunk_size {
            self.flush();
        }
        Ok(())
    }

    fn flush(&mut self) {
        if self.chunk.is_empty() || self.report.stopped_early {
            return;
        }
        let chunk = std::mem::replace(&mut self.chunk, Vec::with_capacity(self.chunk_size));
        if (self.sink)(chunk).is_break() {
            self.report.stopped_early = true;
        }
    }

    pub fn finish(mut self) -> ReadReport {
        self.flush();
        self.report
    }
}

fn digest(parts: &[&[u8]]) -> [u8; 16] {
    let mut h = Sha256::new();
    for p in parts {
        h.update(p);
    }
    let full: [u8; 32] = h.finalize().into();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

/// Builds a [`RowError`] from a field error.
pub(crate) fn row_error(source: &SourceFile, line: u64, e: FieldError, record: String) -> RowError {
    RowError { file: source.display_name(), line, field: e.field, reason: e.reason, record }
}
