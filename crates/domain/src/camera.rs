//! Video-surveillance cameras: where they are, where they look, who owns them.

use crate::{DomainError, Wgs84Point};

code_enum!(
    /// Who owns and maintains a camera.
    CameraOwner, "camera owner", {
        /// The city's street network.
        Street => "street",
        /// A residential complex's management.
        ResidentialComplex => "residential",
        /// A shop or shopping centre.
        Shop => "shop",
        /// On a bus, tram or train.
        TransportVehicle => "vehicle",
        /// At a public-transport stop or station.
        TransportStop => "stop",
        Other => "other",
    }
);

code_enum!(
    /// Whether the monitoring centre receives the camera's picture.
    MonitoringLink, "monitoring link", {
        Connected => "connected",
        Standalone => "standalone",
    }
);

code_enum!(
    /// A camera's state.
    CameraStatus, "camera status", {
        Working => "working",
        Faulty => "faulty",
        /// Proposed or approved, not yet installed.
        Planned => "planned",
        Dismantled => "dismantled",
    }
);

/// Longest useful range accepted, in metres.
pub const MAX_CAMERA_RANGE_M: f64 = 1_000.0;
/// Longest archive accepted, in days.
pub const MAX_ARCHIVE_DAYS: u32 = 3_650;

/// A camera as registered: every field checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCamera {
    /// The owner's identifier (unique within a territory).
    pub external_id: String,
    pub location: Wgs84Point,
    /// Degrees clockwise from north, in [0, 360).
    pub bearing_deg: f64,
    /// Horizontal field of view in degrees, (0, 360].
    pub fov_deg: f64,
    /// Useful range in metres, (0, 1000].
    pub range_m: f64,
    pub owner: CameraOwner,
    pub link: MonitoringLink,
    /// Days of recordings kept.
    pub archive_days: u32,
    pub status: CameraStatus,
}

impl NewCamera {
    /// Checks the numbers: a bearing is taken modulo 360; the field of view must be in (0, 360],
    /// the range in (0, 1000] metres, the archive at most ten years, the identifier non-empty.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        external_id: &str,
        location: Wgs84Point,
        bearing_deg: f64,
        fov_deg: f64,
        range_m: f64,
        owner: CameraOwner,
        link: MonitoringLink,
        archive_days: u32,
        status: CameraStatus,
    ) -> Result<Self, DomainError> {
        let external_id = external_id.trim();
        if external_id.is_empty() {
            return Err(DomainError::Empty { what: "camera id" });
        }
        if external_id.chars().count() > 100 {
            return Err(DomainError::TooLong { what: "camera id", len: external_id.chars().count(), max: 100 });
        }
        let out_of_range =
            |what: &'static str, value: f64, range: &'static str| DomainError::OutOfRange { what, value: value.to_string(), range };
        if !bearing_deg.is_finite() {
            return Err(out_of_range("bearing", bearing_deg, "a number of degrees"));
        }
        if !(fov_deg > 0.0 && fov_deg <= 360.0) {
            return Err(out_of_range("field of view", fov_deg, "(0, 360] degrees"));
        }
        if !(range_m > 0.0 && range_m <= MAX_CAMERA_RANGE_M) {
            return Err(out_of_range("range", range_m, "(0, 1000] metres"));
        }
        if archive_days > MAX_ARCHIVE_DAYS {
            return Err(out_of_range("archive", f64::from(archive_days), "0–3650 days"));
        }
        Ok(Self {
            external_id: external_id.to_owned(),
            location,
            bearing_deg: bearing_deg.rem_euclid(360.0),
            fov_deg,
            range_m,
            owner,
            link,
            archive_days,
            status,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Wgs84Point {
        Wgs84Point::new(51.1, 71.4).unwrap()
    }

    #[test]
    fn cameras_are_checked_and_bearings_wrap() {
        use CameraOwner::*;
        let c = NewCamera::new(" C-1 ", at(), -90.0, 60.0, 40.0, Street, MonitoringLink::Connected, 30, CameraStatus::Working).unwrap();
        assert_eq!((c.external_id.as_str(), c.bearing_deg), ("C-1", 270.0));
        assert!(NewCamera::new("", at(), 0.0, 60.0, 40.0, Shop, MonitoringLink::Standalone, 30, CameraStatus::Working).is_err());
        assert!(NewCamera::new("x", at(), 0.0, 0.0, 40.0, Shop, MonitoringLink::Standalone, 30, CameraStatus::Working).is_err());
        assert!(NewCamera::new("x", at(), 0.0, 60.0, 5000.0, Shop, MonitoringLink::Standalone, 30, CameraStatus::Working).is_err());
        assert!(NewCamera::new("x", at(), f64::NAN, 60.0, 40.0, Shop, MonitoringLink::Standalone, 30, CameraStatus::Working).is_err());
    }

    #[test]
    fn codes_round_trip_and_unknown_codes_list_the_known_ones() {
        for o in CameraOwner::ALL {
            assert_eq!(o.code().parse::<CameraOwner>().unwrap(), *o);
        }
        let e = "drone".parse::<CameraOwner>().unwrap_err().to_string();
        assert!(e.contains("drone") && e.contains("residential"), "{e}");
        assert_eq!("Connected".parse::<MonitoringLink>().unwrap(), MonitoringLink::Connected);
    }
}
