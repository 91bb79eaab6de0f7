//! Camera registers: CSV or GeoJSON files → [`NewCamera`]s, every bad field reported.
//!
//! CSV: a header line, then one camera per line. Columns (names case-insensitive, any order):
//!
//! | column | required | default | meaning |
//! |---|---|---|---|
//! | `id` | yes | | the owner's identifier, unique in the file |
//! | `lat`, `lon` | yes | | WGS84 degrees |
//! | `bearing` | no | 0 | degrees clockwise from north (ignored when `fov` is 360) |
//! | `fov` | no | 90 | horizontal field of view, degrees |
//! | `range` | no | 30 | useful range, metres |
//! | `owner` | no | street | street, residential, shop, vehicle, stop, other |
//! | `link` | no | standalone | connected (to the monitoring centre) or standalone |
//! | `archive_days` | no | 30 | days of recordings kept |
//! | `status` | no | working | working, faulty, planned, dismantled |
//!
//! GeoJSON: a FeatureCollection of Points with the same names as properties
//! (`lat`/`lon` from the geometry). Every row is checked; a file with any bad
//! row is reported whole (file, line, field, reason) so it can be fixed in one go.

use std::collections::HashMap;
use std::path::Path;

use qalqan_domain::Wgs84Point;
use qalqan_domain::camera::{CameraOwner, CameraStatus, MonitoringLink, NewCamera};

use crate::{IngestError, RowError};

/// What a camera file holds: the cameras (with their line numbers) or the rows at fault.
#[derive(Debug, Clone, PartialEq)]
pub struct CameraFile {
    pub cameras: Vec<(u64, NewCamera)>,
    pub errors: Vec<RowError>,
}

/// Reads a camera register (`.csv` or `.geojson`).
pub fn read_cameras(path: &Path) -> Result<CameraFile, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| IngestError::Io { path: path.to_owned(), reason: e.to_string() })?;
    let name = path.display().to_string();
    let lower = name.to_lowercase();
    if lower.ends_with(".geojson") || lower.ends_with(".json") {
        parse_geojson(&name, path, &bytes)
    } else if lower.ends_with(".csv") {
        parse_csv(&name, path, &bytes)
    } else {
        Err(IngestError::UnknownFormat { path: path.to_owned() })
    }
}

/// Parses a CSV camera register held in memory; `name` is used in messages.
pub fn parse_csv(name: &str, path: &Path, bytes: &[u8]) -> Result<CameraFile, IngestError> {
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
    for required in ["id", "lat", "lon"] {
        if !header.iter().any(|h| h == required) {
            return Err(IngestError::MissingColumn {
                path: path.to_owned(),
                column: required.into(),
                role: "camera register",
                found: header.join(", "),
                hint: String::new(),
            });
        }
    }
    let mut out = CameraFile { cameras: Vec::new(), errors: Vec::new() };
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (k, record) in reader.records().enumerate() {
        let line = k as u64 + 2;
        let record = record.map_err(|e| IngestError::Read { path: path.to_owned(), line, reason: e.to_string() })?;
        let fields: HashMap<&str, &str> = header.iter().map(String::as_str).zip(record.iter()).collect();
        let raw = record.iter().collect::<Vec<_>>().join(",");
        push_row(&mut out, &mut seen, name, line, &raw, |f| fields.get(f).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty()));
    }
    if out.cameras.is_empty() && out.errors.is_empty() {
        return Err(IngestError::NoDataRows { path: path.to_owned(), line: 1 });
    }
    Ok(out)
}

/// Parses a GeoJSON camera register held in memory.
pub fn parse_geojson(name: &str, path: &Path, bytes: &[u8]) -> Result<CameraFile, IngestError> {
    let text = std::str::from_utf8(bytes).map_err(|e| IngestError::GeoJson { path: path.to_owned(), line: 1, reason: e.to_string() })?;
    let fc: geojson::FeatureCollection =
        text.parse().map_err(|e: geojson::Error| IngestError::GeoJson { path: path.to_owned(), line: 1, reason: e.to_string() })?;
    let mut out = CameraFile { cameras: Vec::new(), errors: Vec::new() };
    let mut seen: HashMap<String, u64> = HashMap::new();
    for (k, f) in fc.features.iter().enumerate() {
        // Features are numbered from 1 in messages ("feature 3"), as the file has no useful lines.
        let line = k as u64 + 1;
        let point = match f.geometry.as_ref().map(|g| &g.value) {
            Some(geojson::GeometryValue::Point { coordinates: c }) if c.len() >= 2 => Some((c[1], c[0])),
            _ => None,
        };
        let props = f.properties.clone().unwrap_or_default();
        let raw = serde_json::to_string(&props).unwrap_or_default();
        if point.is_none() {
            out.errors.push(RowError { file: name.into(), line, field: "geometry".into(), reason: "not a Point".into(), record: raw });
            continue;
        }
        let (lat, lon) = point.unwrap_or_default();
        push_row(&mut out, &mut seen, name, line, &raw, |field| match field {
            "lat" => Some(lat.to_string()),
            "lon" => Some(lon.to_string()),
            other => props.get(other).and_then(|v| match v {
                serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
                serde_json::Value::Number(n) => Some(n.to_string()),
                serde_json::Value::Bool(b) => Some(if *b { "connected".into() } else { "standalone".into() }),
                _ => None,
            }),
        });
    }
    if out.cameras.is_empty() && out.errors.is_empty() {
        return Err(IngestError::NoDataRows { path: path.to_owned(), line: 1 });
    }
    Ok(out)
}

fn push_row(out: &mut CameraFile, seen: &mut HashMap<String, u64>, name: &str, line: u64, raw: &str, get: impl Fn(&str) -> Option<String>) {
    let err = |field: &str, reason: String| RowError { file: name.into(), line, field: field.into(), reason, record: raw.to_owned() };
    let number = |field: &str, default: f64| -> Result<f64, RowError> {
        match get(field) {
            None => Ok(default),
            Some(v) => v.parse::<f64>().ok().filter(|x| x.is_finite()).ok_or_else(|| err(field, format!("'{v}' is not a number"))),
        }
    };
    let code = |field: &str, default: &str| get(field).unwrap_or_else(|| default.to_owned());
    let row = (|| -> Result<NewCamera, RowError> {
        let id = get("id").ok_or_else(|| err("id", "is empty".into()))?;
        if let Some(first) = seen.get(&id) {
            return Err(err("id", format!("'{id}' is already used on line {first}")));
        }
        let lat = get("lat").ok_or_else(|| err("lat", "is empty".into()))?;
        let lon = get("lon").ok_or_else(|| err("lon", "is empty".into()))?;
        let lat = lat.parse::<f64>().map_err(|_| err("lat", format!("'{lat}' is not a number")))?;
        let lon = lon.parse::<f64>().map_err(|_| err("lon", format!("'{lon}' is not a number")))?;
        let location = Wgs84Point::new(lat, lon).map_err(|e| err("lat/lon", e.to_string()))?;
        let bearing = number("bearing", 0.0)?;
        let fov = number("fov", 90.0)?;
        let range = number("range", 30.0)?;
        let archive = number("archive_days", 30.0)?;
        if archive < 0.0 || archive.fract() != 0.0 {
            return Err(err("archive_days", format!("'{archive}' is not a whole number of days")));
        }
        let owner = code("owner", "street").parse::<CameraOwner>().map_err(|e| err("owner", e.to_string()))?;
        let link = code("link", "standalone").parse::<MonitoringLink>().map_err(|e| err("link", e.to_string()))?;
        let status = code("status", "working").parse::<CameraStatus>().map_err(|e| err("status", e.to_string()))?;
        NewCamera::new(&id, location, bearing, fov, range, owner, link, archive.min(f64::from(u32::MAX)) as u32, status).map_err(|e| {
            let field = match &e {
                qalqan_domain::DomainError::OutOfRange { what, .. } => match *what {
                    "field of view" => "fov",
                    "range" => "range",
                    "archive" => "archive_days",
                    _ => "bearing",
                },
                _ => "id",
            };
            err(field, e.to_string())
        })
    })();
    match row {
        Ok(c) => {
            seen.insert(c.external_id.clone(), line);
            out.cameras.push((line, c));
        }
        Err(e) => out.errors.push(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cameras_are_read_with_defaults_and_every_bad_field_is_named() {
        let text = "ID,lat,lon,bearing,fov,range,owner,link,archive_days,status\n\
                    C1,51.10,71.40,90,60,40,shop,connected,14,working\n\
                    C2,51.11,71.41,,,,,,,\n\
                    C3,north,71.41,0,60,40,street,connected,30,working\n\
                    C4,51.12,71.42,0,0,40,street,connected,30,working\n\
                    C1,51.13,71.43,0,60,40,street,connected,30,working\n\
                    C6,51.13,71.43,0,60,40,drone,connected,30,working\n";
        let f = parse_csv("cams.csv", Path::new("cams.csv"), text.as_bytes()).unwrap();
        assert_eq!(f.cameras.len(), 2);
        let c2 = &f.cameras[1].1;
        assert_eq!(
            (c2.fov_deg, c2.range_m, c2.owner, c2.link, c2.archive_days),
            (90.0, 30.0, CameraOwner::Street, MonitoringLink::Standalone, 30)
        );
        let errs: Vec<(u64, &str)> = f.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(errs, vec![(4, "lat"), (5, "fov"), (6, "id"), (7, "owner")]);
        assert!(f.errors[2].reason.contains("line 2"), "{}", f.errors[2].reason);
    }

    #[test]
    fn geojson_cameras_take_their_position_from_the_geometry() {
        let text = r#"{"type":"FeatureCollection","features":[
            {"type":"Feature","geometry":{"type":"Point","coordinates":[71.4,51.1]},"properties":{"id":"G1","fov":360,"range":25,"link":true}},
            {"type":"Feature","geometry":{"type":"LineString","coordinates":[[71.4,51.1],[71.5,51.2]]},"properties":{"id":"G2"}}]}"#;
        let f = parse_geojson("c.geojson", Path::new("c.geojson"), text.as_bytes()).unwrap();
        assert_eq!(f.cameras.len(), 1);
        assert_eq!(f.cameras[0].1.link, MonitoringLink::Connected);
        assert_eq!((f.errors[0].line, f.errors[0].field.as_str()), (2, "geometry"));
    }

    #[test]
    fn a_register_without_the_required_columns_is_refused() {
        let e = parse_csv("c.csv", Path::new("c.csv"), b"name,lat,lon\nx,1,2\n").unwrap_err();
        assert!(e.to_string().contains("'id'"), "{e}");
    }
}
