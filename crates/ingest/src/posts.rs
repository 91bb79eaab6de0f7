//! Registers of police posts and mobile points: CSV or GeoJSON files → [`NewPost`]s, every bad
//! field reported (the same rules as the camera register: [`crate::cameras`]).
//!
//! | column | required | default | meaning |
//! |---|---|---|---|
//! | `id` | yes | | the department's identifier, unique in the file |
//! | `lat`, `lon` | yes | | WGS84 degrees: the post, or the mobile point's usual place |
//! | `kind` | no | stationary | stationary or mobile |
//! | `name` | no | | what people call it |
//! | `hours` | no | 24h | opening hours or shifts, local time: `08:00-20:00`, `08:00-16:00;16:00-24:00`, `22:00-06:00` |
//! | `vehicle` | for mobile | | plate or call sign (only mobile points have one) |
//! | `officers` | no | 2 | officers on duty at a time, 1–100 |
//! | `status` | no | active | active, planned, closed |

use std::path::Path;

use qalqan_domain::post::{NewPost, PostKind, PostStatus, Schedule};

use crate::register::{self, Fields, RegisterFile, RegisterRow};
use crate::{IngestError, RowError};

/// What a post register holds.
pub type PostFile = RegisterFile<NewPost>;

const REQUIRED: &[&str] = &["id", "lat", "lon"];

/// Reads a post register (`.csv` or `.geojson`).
pub fn read_posts(path: &Path) -> Result<PostFile, IngestError> {
    register::read_register(path, REQUIRED)
}

/// Parses a CSV post register held in memory; `name` is used in messages.
pub fn parse_csv(name: &str, path: &Path, bytes: &[u8]) -> Result<PostFile, IngestError> {
    register::parse_csv(name, path, bytes, REQUIRED)
}

/// Parses a GeoJSON post register held in memory.
pub fn parse_geojson(name: &str, path: &Path, bytes: &[u8]) -> Result<PostFile, IngestError> {
    register::parse_geojson(name, path, bytes)
}

impl RegisterRow for NewPost {
    const ROLE: &'static str = "post register";

    fn parse(row: &Fields<'_>) -> Result<Self, RowError> {
        let id = row.required("id")?;
        let location = row.location()?;
        let kind: PostKind = row.parsed("kind", "stationary")?;
        let schedule: Schedule = row.parsed("hours", "24h")?;
        let officers = row.count("officers", 2)?;
        let status: PostStatus = row.parsed("status", "active")?;
        let name = row.get("name").unwrap_or_default();
        let vehicle = row.get("vehicle");
        NewPost::new(&id, &name, kind, location, schedule, vehicle.as_deref(), officers, status).map_err(|e| {
            let field = match &e {
                qalqan_domain::DomainError::Empty { what } if what.starts_with("vehicle") => "vehicle",
                qalqan_domain::DomainError::OutOfRange { what: "vehicle", .. } => "vehicle",
                qalqan_domain::DomainError::OutOfRange { what: "officers", .. } => "officers",
                qalqan_domain::DomainError::TooLong { what: "post name", .. } => "name",
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
    fn posts_are_read_with_defaults_and_every_bad_field_is_named() {
        let text = "id,kind,name,lat,lon,hours,vehicle,officers,status\n\
                    P1,stationary,Vokzal,51.10,71.40,08:00-20:00,,3,active\n\
                    M1,mobile,,51.11,71.41,08:00-16:00;16:00-24:00,123ABC01,,\n\
                    P3,,,51.12,71.42,,,,\n\
                    M2,mobile,,51.11,71.41,24h,,2,active\n\
                    P5,stationary,,51.11,71.41,8-25,,2,active\n\
                    P6,stationary,,51.11,71.41,24h,,0,active\n\
                    P7,boat,,51.11,71.41,24h,,1,active\n\
                    P1,stationary,,51.11,71.41,24h,,1,active\n";
        let f = parse_csv("posts.csv", Path::new("posts.csv"), text.as_bytes()).unwrap();
        let ids: Vec<&str> = f.rows.iter().map(|(_, p)| p.external_id.as_str()).collect();
        assert_eq!(ids, ["P1", "M1", "P3"]);
        let m1 = &f.rows[1].1;
        assert_eq!((m1.kind, m1.vehicle.as_deref(), m1.officers, m1.schedule.windows().len()), (PostKind::Mobile, Some("123ABC01"), 2, 2));
        assert_eq!(f.rows[2].1.schedule, Schedule::all_day());
        let errs: Vec<(u64, &str)> = f.errors.iter().map(|e| (e.line, e.field.as_str())).collect();
        assert_eq!(errs, vec![(5, "vehicle"), (6, "hours"), (7, "officers"), (8, "kind"), (9, "id")]);
    }
}
