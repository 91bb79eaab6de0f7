//! WGS84 ↔ UTM, so that grids, distances and bandwidths are in metres.
//!
//! Transverse Mercator by the Krüger series to order n⁶ (Karney, "Transverse
//! Mercator with an accuracy of a few nanometers", J. Geodesy 85, 2011):
//! accurate to well under a millimetre within the zone. The zone is chosen
//! from the data's centroid ([`Utm::for_points`]); a city never spans more
//! than a zone's accuracy range. Cost: O(1) per point, ~40 flops.

use qalqan_domain::Wgs84Point;

const A: f64 = 6_378_137.0;
const F: f64 = 1.0 / 298.257_223_563;
const K0: f64 = 0.9996;
const FALSE_EASTING: f64 = 500_000.0;
const FALSE_NORTHING_SOUTH: f64 = 10_000_000.0;

/// A UTM zone (1–60) and hemisphere: a local metric projection.
///
/// ```
/// use qalqan_analysis::projection::Utm;
/// use qalqan_domain::Wgs84Point;
/// let baiterek = Wgs84Point::new(51.128207, 71.430411).unwrap();
/// let utm = Utm::for_points(&[baiterek]);
/// assert_eq!((utm.zone(), utm.north()), (42, true));
/// let (x, y) = utm.forward(baiterek);
/// let back = utm.inverse(x, y);
/// assert!((back.lat() - baiterek.lat()).abs() < 1e-9 && (back.lon() - baiterek.lon()).abs() < 1e-9);
/// ```
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Utm {
    zone: u8,
    north: bool,
    lon0: f64,
    k: Constants,
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Constants {
    e: f64,
    a_rect: f64,
    alpha: [f64; 6],
    beta: [f64; 6],
}

impl Constants {
    fn wgs84() -> Self {
        let n = F / (2.0 - F);
        let (n2, n3, n4, n5, n6) = (n * n, n.powi(3), n.powi(4), n.powi(5), n.powi(6));
        let a_rect = A / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0 + n6 / 256.0);
        let alpha = [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0 - 127.0 * n5 / 288.0 + 7891.0 * n6 / 37800.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0 + 281.0 * n5 / 630.0 - 1_983_433.0 * n6 / 1_935_360.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0 + 15061.0 * n5 / 26880.0 + 167_603.0 * n6 / 181_440.0,
            49561.0 * n4 / 161_280.0 - 179.0 * n5 / 168.0 + 6_601_661.0 * n6 / 7_257_600.0,
            34729.0 * n5 / 80640.0 - 3_418_889.0 * n6 / 1_995_840.0,
            212_378_941.0 * n6 / 319_334_400.0,
        ];
        let beta = [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0 - 81.0 * n5 / 512.0 + 96199.0 * n6 / 604_800.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0 + 46.0 * n5 / 105.0 - 1_118_711.0 * n6 / 3_870_720.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0 - 209.0 * n5 / 4480.0 + 5569.0 * n6 / 90720.0,
            4397.0 * n4 / 161_280.0 - 11.0 * n5 / 504.0 - 830_251.0 * n6 / 7_257_600.0,
            4583.0 * n5 / 161_280.0 - 108_847.0 * n6 / 3_991_680.0,
            20_648_693.0 * n6 / 638_668_800.0,
        ];
        Self { e: (F * (2.0 - F)).sqrt(), a_rect, alpha, beta }
    }
}

impl Utm {
    /// Zone `zone` (1–60, clamped) in the given hemisphere.
    pub fn new(zone: u8, north: bool) -> Self {
        let zone = zone.clamp(1, 60);
        Self { zone, north, lon0: f64::from(zone) * 6.0 - 183.0, k: Constants::wgs84() }
    }

    /// The zone of the points' mean position (zone 1 north for no points).
    pub fn for_points(points: &[Wgs84Point]) -> Self {
        if points.is_empty() {
            return Self::new(1, true);
        }
        let n = points.len() as f64;
        let lat = points.iter().map(|p| p.lat()).sum::<f64>() / n;
        let lon = points.iter().map(|p| p.lon()).sum::<f64>() / n;
        Self::for_centre(lat, lon)
    }

    /// The zone containing (`lat`, `lon`).
    pub fn for_centre(lat: f64, lon: f64) -> Self {
        let zone = (((lon + 180.0) / 6.0).floor() as i64 + 1).clamp(1, 60) as u8;
        Self::new(zone, lat >= 0.0)
    }

    /// UTM zone number.
    pub fn zone(&self) -> u8 {
        self.zone
    }

    /// True for the northern hemisphere.
    pub fn north(&self) -> bool {
        self.north
    }

    /// The EPSG code of this zone (326zz north, 327zz south).
    pub fn epsg(&self) -> u32 {
        (if self.north { 32600 } else { 32700 }) + u32::from(self.zone)
    }

    fn tau_prime(&self, tau: f64) -> f64 {
        let e = self.k.e;
        let sigma = (e * (e * tau / (1.0 + tau * tau).sqrt()).atanh()).sinh();
        tau * (1.0 + sigma * sigma).sqrt() - sigma * (1.0 + tau * tau).sqrt()
    }

    /// (easting, northing) in metres.
    pub fn forward(&self, p: Wgs84Point) -> (f64, f64) {
        let phi = p.lat().to_radians();
        let lam = (p.lon() - self.lon0).to_radians();
        let tau_p = self.tau_prime(phi.tan());
        let xi_p = tau_p.atan2(lam.cos());
        let eta_p = (lam.sin() / (tau_p * tau_p + lam.cos() * lam.cos()).sqrt()).asinh();
        let (mut xi, mut eta) = (xi_p, eta_p);
        for (j, a) in self.k.alpha.iter().enumerate() {
            let m = 2.0 * (j + 1) as f64;
            xi += a * (m * xi_p).sin() * (m * eta_p).cosh();
            eta += a * (m * xi_p).cos() * (m * eta_p).sinh();
        }
        let x = FALSE_EASTING + K0 * self.k.a_rect * eta;
        let y = K0 * self.k.a_rect * xi + if self.north { 0.0 } else { FALSE_NORTHING_SOUTH };
        (x, y)
    }

    /// The WGS84 point at (easting, northing). Points far outside any
    /// sensible range are clamped into valid latitude/longitude.
    pub fn inverse(&self, x: f64, y: f64) -> Wgs84Point {
        let xi = (y - if self.north { 0.0 } else { FALSE_NORTHING_SOUTH }) / (K0 * self.k.a_rect);
        let eta = (x - FALSE_EASTING) / (K0 * self.k.a_rect);
        let (mut xi_p, mut eta_p) = (xi, eta);
        for (j, b) in self.k.beta.iter().enumerate() {
            let m = 2.0 * (j + 1) as f64;
            xi_p -= b * (m * xi).sin() * (m * eta).cosh();
            eta_p -= b * (m * xi).cos() * (m * eta).sinh();
        }
        let tau_p = xi_p.sin() / (eta_p.sinh().powi(2) + xi_p.cos().powi(2)).sqrt();
        let lam = eta_p.sinh().atan2(xi_p.cos());
        // Newton's method for tau = tan(phi) from tau' (converges in 2-3 steps).
        let e2 = self.k.e * self.k.e;
        let mut tau = tau_p;
        for _ in 0..6 {
            let tp = self.tau_prime(tau);
            let d = (tau_p - tp) / ((1.0 - e2) * (1.0 + tp * tp).sqrt() * (1.0 + tau * tau).sqrt() / (1.0 + (1.0 - e2) * tau * tau));
            tau += d;
            if d.abs() < 1e-14 * tau.abs().max(1.0) {
                break;
            }
        }
        let lat = tau.atan().to_degrees().clamp(-90.0, 90.0);
        let lon = (self.lon0 + lam.to_degrees()).clamp(-180.0, 180.0);
        // Clamped values are in range; (0, 0) cannot come out of a city-scale zone.
        Wgs84Point::new(lat, lon).unwrap_or_else(|_| Wgs84Point::new(lat, lon + 1e-9).unwrap_or_else(|_| unreachable_point()))
    }
}

fn unreachable_point() -> Wgs84Point {
    // Only (0, 0) is refused by Wgs84Point::new among in-range values.
    Wgs84Point::new(1e-12, 1e-12).unwrap_or_else(|_| panic!("a tiny offset from (0, 0) is a valid point"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pt(lat: f64, lon: f64) -> Wgs84Point {
        Wgs84Point::new(lat, lon).unwrap()
    }

    #[test]
    fn matches_published_utm_coordinates() {
        // Reference values from PROJ 9.5.1 (pyproj 3.7.2, EPSG:4326 → EPSG:326zz, always_xy).
        let cases = [
            (43.6426, -79.3871, 17, 630_087.375_2, 4_833_442.311_9),
            (51.128207, 71.430411, 42, 670_059.752_7, 5_666_891.028_9),
            (60.1699, 24.9384, 35, 385_611.316_7, 6_672_118.380_3),
        ];
        for (lat, lon, zone, e, n) in cases {
            let utm = Utm::for_centre(lat, lon);
            assert_eq!(utm.zone(), zone);
            let (x, y) = utm.forward(pt(lat, lon));
            assert!((x - e).abs() < 1e-3 && (y - n).abs() < 1e-3, "{lat},{lon}: {x},{y} vs {e},{n}");
        }
    }

    #[test]
    fn round_trips_to_a_millimetre_across_the_zone() {
        let utm = Utm::new(42, true);
        for i in 0..50 {
            for j in 0..50 {
                let (lat, lon) = (40.0 + i as f64 * 0.4, 66.0 + j as f64 * 0.12 + 0.003);
                let (x, y) = utm.forward(pt(lat, lon));
                let back = utm.inverse(x, y);
                let (x2, y2) = utm.forward(back);
                assert!((x - x2).abs() < 1e-3 && (y - y2).abs() < 1e-3);
                assert!((back.lat() - lat).abs() < 1e-9 && (back.lon() - lon).abs() < 1e-9, "{lat},{lon}");
            }
        }
    }

    #[test]
    fn southern_hemisphere_uses_the_false_northing() {
        let utm = Utm::for_centre(-33.87, 151.21);
        assert_eq!((utm.zone(), utm.north(), utm.epsg()), (56, false, 32756));
        let (_, y) = utm.forward(pt(-33.87, 151.21));
        assert!(y > 6_000_000.0 && y < 10_000_000.0);
    }

    #[test]
    fn distances_in_metres_are_right() {
        // 0.01° of latitude at 51° N is 1,112.6 m on the ellipsoid; UTM scale there is ~0.9996–1.0008.
        let utm = Utm::for_centre(51.1, 71.4);
        let (x1, y1) = utm.forward(pt(51.10, 71.43));
        let (x2, y2) = utm.forward(pt(51.11, 71.43));
        let d = ((x2 - x1).powi(2) + (y2 - y1).powi(2)).sqrt();
        assert!((d - 1112.6).abs() < 2.0, "{d}");
    }
}
