//! Prevention measures whose effect is to be measured: a new camera cluster, a post, a patrol
//! plan, lighting, … — each with its place (a centre and the radius it is meant to protect), the
//! day it started, and optionally the assignment that ordered it.

use chrono::NaiveDate;

use crate::{DomainError, Wgs84Point};

code_enum!(
    /// What was done.
    InterventionKind, "intervention kind", {
        /// Cameras installed or connected to the monitoring centre.
        CameraCluster => "camera_cluster",
        /// A stationary police post.
        Post => "post",
        /// A mobile police point.
        MobilePoint => "mobile_point",
        /// A patrol plan (hot-spot patrols).
        PatrolPlan => "patrol_plan",
        /// Street or courtyard lighting.
        Lighting => "lighting",
        Other => "other",
    }
);

/// A measure to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIntervention {
    pub name: String,
    pub kind: InterventionKind,
    pub starts_on: NaiveDate,
    pub centre: Wgs84Point,
    /// The radius of the area it protects, metres (10–5,000).
    pub radius_m: f64,
    /// The assignment that ordered it.
    pub assignment_id: Option<i64>,
    pub note: String,
}

impl NewIntervention {
    /// Checks the name (1–200 characters) and the radius (10–5,000 m).
    ///
    /// ```
    /// use qalqan_domain::{Wgs84Point, intervention::{InterventionKind, NewIntervention}};
    /// let at = Wgs84Point::new(51.1283, 71.4305).unwrap();
    /// let day = chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap();
    /// assert!(NewIntervention::new("Cameras at Baiterek", InterventionKind::CameraCluster, day, at, 150.0, None, "").is_ok());
    /// assert!(NewIntervention::new("x", InterventionKind::Post, day, at, 5.0, None, "").is_err());
    /// ```
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        kind: InterventionKind,
        starts_on: NaiveDate,
        centre: Wgs84Point,
        radius_m: f64,
        assignment_id: Option<i64>,
        note: &str,
    ) -> Result<Self, DomainError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(DomainError::Empty { what: "intervention name" });
        }
        if name.chars().count() > 200 {
            return Err(DomainError::TooLong { what: "intervention name", len: name.chars().count(), max: 200 });
        }
        if !(10.0..=5000.0).contains(&radius_m) {
            return Err(DomainError::OutOfRange { what: "radius", value: radius_m.to_string(), range: "10-5000 metres" });
        }
        Ok(Self { name: name.to_owned(), kind, starts_on, centre, radius_m, assignment_id, note: note.trim().to_owned() })
    }
}
