//! Geographic points in WGS84 (EPSG:4326).

use crate::DomainError;

/// A location in WGS84 degrees, guaranteed finite and in range.
///
/// `(0, 0)` is refused: police exports use it for "location unknown", and a
/// hotspot in the Gulf of Guinea helps nobody.
///
/// ```
/// use qalqan_domain::Wgs84Point;
/// let p = Wgs84Point::new(51.128, 71.430).unwrap(); // Astana
/// assert_eq!(p.lat(), 51.128);
/// assert!(Wgs84Point::new(91.0, 0.5).is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wgs84Point {
    lat: f64,
    lon: f64,
}

impl Wgs84Point {
    /// Parses a latitude/longitude pair in degrees.
    pub fn new(lat: f64, lon: f64) -> Result<Self, DomainError> {
        if !lat.is_finite() || !lon.is_finite() {
            return Err(DomainError::CoordinateNotFinite);
        }
        if !(-90.0..=90.0).contains(&lat) {
            return Err(DomainError::LatitudeOutOfRange { value: lat });
        }
        if !(-180.0..=180.0).contains(&lon) {
            return Err(DomainError::LongitudeOutOfRange { value: lon });
        }
        if lat == 0.0 && lon == 0.0 {
            return Err(DomainError::NullIsland);
        }
        Ok(Self { lat, lon })
    }

    /// Latitude in degrees, north positive.
    pub fn lat(self) -> f64 {
        self.lat
    }

    /// Longitude in degrees, east positive.
    pub fn lon(self) -> f64 {
        self.lon
    }

    /// The point as a `geo` coordinate (x = longitude, y = latitude).
    pub fn to_geo(self) -> geo_types::Point<f64> {
        geo_types::Point::new(self.lon, self.lat)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_out_of_range_and_non_finite_coordinates() {
        assert_eq!(Wgs84Point::new(-90.5, 10.0), Err(DomainError::LatitudeOutOfRange { value: -90.5 }));
        assert_eq!(Wgs84Point::new(10.0, 180.01), Err(DomainError::LongitudeOutOfRange { value: 180.01 }));
        assert_eq!(Wgs84Point::new(f64::NAN, 1.0), Err(DomainError::CoordinateNotFinite));
        assert_eq!(Wgs84Point::new(0.0, 0.0), Err(DomainError::NullIsland));
    }

    #[test]
    fn accepts_the_edges_of_the_range() {
        assert!(Wgs84Point::new(90.0, 180.0).is_ok());
        assert!(Wgs84Point::new(-90.0, -180.0).is_ok());
        assert!(Wgs84Point::new(0.0, 1e-9).is_ok());
    }
}
