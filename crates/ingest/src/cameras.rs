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

use std::path::Path;

use qalqan_domain::camera::{CameraOwner, CameraStatus, MonitoringLink, NewCamera};

use crate::register::{self, Fields, RegisterFile, RegisterRow};
use crate::{IngestError, RowError};

/// What a camera file holds: the cameras (with their line numbers) or the rows at fault.
pub type CameraFile = RegisterFile<NewCamera>;

/// Reads a camera register (`.csv` or `.geojson`).
pub fn read_cameras(path: &Path) -> Result<CameraFile, IngestError> {
    register::read_register(path, REQUIRED)
}

/// Parses a CSV camera register held in memory; `name` is used in messages.
pub fn parse_csv(name: &str, path: &Path, bytes: &[u8]) -> Result<CameraFile, IngestError> {
    register::parse_csv(name, path, bytes, REQUIRED)
}

/// Parses a GeoJSON camera register held in memory.
pub fn parse_geojson(name: &str, path: &Path, bytes: &[u8]) -> Result<CameraFile, IngestError> {
    register::parse_geojson(name, path, bytes)
}

const REQUIRED: &[&str] = &["id", "lat", "lon"];

impl RegisterRow for NewCamera {
    const ROLE: &'static str = "camera register";
    const YES_NO: (&'static str, &'static str) = ("connected", "standalone");

    fn parse(row: &Fields<'_>) -> Result<Self, RowError> {
        let id = row.required("id")?;
        let location = row.location()?;
        let bearing = row.number("bearing", 0.0)?;
        let fov = row.number("fov", 90.0)?;
        let range = row.number("range", 30.0)?;
        let archive = row.count("archive_days", 30)?;
        let owner: CameraOwner = row.parsed("owner", "street")?;
        let link: MonitoringLink = row.parsed("link", "standalone")?;
        let status: CameraStatus = row.parsed("status", "working")?;
        NewCamera::new(&id, location, bearing, fov, range, owner, link, archive, status).map_err(|e| {
            let field = match &e {
                qalqan_domain::DomainError::OutOfRange { what, .. } => match *what {
                    "field of view" => "fov",
                    "range" => "range",
                    "archive" => "archive_days",
                    _ => "bearing",
                },
                _ => "id",
            };
            row.error(field, e.to_string())
        })
    }

    fn id(&self) -> &str {
        &self.external_id
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
        assert_eq!(f.rows.len(), 2);
        let c2 = &f.rows[1].1;
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
        assert_eq!(f.rows.len(), 1);
        assert_eq!(f.rows[0].1.link, MonitoringLink::Connected);
        assert_eq!((f.errors[0].line, f.errors[0].field.as_str()), (2, "geometry"));
    }

    #[test]
    fn a_register_without_the_required_columns_is_refused() {
        let e = parse_csv("c.csv", Path::new("c.csv"), b"name,lat,lon\nx,1,2\n").unwrap_err();
        assert!(e.to_string().contains("'id'"), "{e}");
    }
}
