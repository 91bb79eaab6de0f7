//! Territories (jurisdictions such as a city) and their districts.

use std::fmt;

use chrono_tz::Tz;
use geo_types::MultiPolygon;

use crate::{DomainError, Wgs84Point};

macro_rules! name_type {
    ($name:ident, $what:literal) => {
        #[doc = concat!("A ", $what, ": trimmed, non-empty, at most 200 characters.")]
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses a name, trimming surrounding whitespace.
            pub fn parse(s: &str) -> Result<Self, DomainError> {
                let t = s.trim();
                if t.is_empty() {
                    return Err(DomainError::Empty { what: $what });
                }
                let len = t.chars().count();
                if len > 200 {
                    return Err(DomainError::TooLong { what: $what, len, max: 200 });
                }
                Ok(Self(t.to_owned()))
            }

            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

name_type!(TerritoryName, "territory name");
name_type!(DistrictName, "district name");

/// Database identifier of a territory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TerritoryId(pub i64);

/// Database identifier of a district.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DistrictId(pub i64);

/// A jurisdiction: a city, a region, a police department's area.
///
/// Local times of its incidents are read in `time_zone`; when it has a
/// boundary, incidents outside it are refused at import.
#[derive(Debug, Clone)]
pub struct Territory {
    pub id: TerritoryId,
    pub name: TerritoryName,
    pub time_zone: Tz,
    pub boundary: Option<Area>,
    pub districts: Vec<District>,
}

/// A named part of a territory (a city district, a police precinct, a
/// neighbourhood), possibly inside another district.
#[derive(Debug, Clone)]
pub struct District {
    pub id: DistrictId,
    pub name: DistrictName,
    pub parent: Option<DistrictId>,
    pub boundary: Option<Area>,
}

impl Territory {
    /// True when the territory has no boundary or the point lies inside it.
    pub fn covers(&self, p: Wgs84Point) -> bool {
        self.boundary.as_ref().is_none_or(|b| b.contains(p))
    }

    /// The innermost district whose boundary contains `p`, if any.
    ///
    /// Districts without a boundary are never chosen; among nested districts
    /// the deepest one wins.
    pub fn locate_district(&self, p: Wgs84Point) -> Option<DistrictId> {
        self.districts.iter().filter(|d| d.boundary.as_ref().is_some_and(|b| b.contains(p))).max_by_key(|d| self.depth(d.id)).map(|d| d.id)
    }

    /// The district with this name (exact, after trimming).
    pub fn district_by_name(&self, name: &str) -> Option<&District> {
        let name = name.trim();
        self.districts.iter().find(|d| d.name.as_str() == name)
    }

    /// `id` and every district nested in it, at any depth.
    pub fn district_and_descendants(&self, id: DistrictId) -> Vec<DistrictId> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() && out.len() <= self.districts.len() {
            let parent = out[i];
            out.extend(
                self.districts.iter().filter(|d| d.parent == Some(parent) && !out.contains(&d.id)).map(|d| d.id).collect::<Vec<_>>(),
            );
            i += 1;
        }
        out
    }

    /// `id` and the districts it is nested in, innermost first.
    pub fn district_and_ancestors(&self, id: DistrictId) -> Vec<DistrictId> {
        let mut out = vec![id];
        let mut current = self.districts.iter().find(|d| d.id == id).and_then(|d| d.parent);
        while let Some(parent) = current {
            if out.contains(&parent) {
                break; // a cycle cannot come out of the store, but never loop forever
            }
            out.push(parent);
            current = self.districts.iter().find(|d| d.id == parent).and_then(|d| d.parent);
        }
        out
    }

    fn depth(&self, id: DistrictId) -> usize {
        let mut depth = 0;
        let mut current = self.districts.iter().find(|d| d.id == id).and_then(|d| d.parent);
        while let Some(parent) = current {
            depth += 1;
            if depth > self.districts.len() {
                break; // a cycle cannot come out of the store, but never loop forever
            }
            current = self.districts.iter().find(|d| d.id == parent).and_then(|d| d.parent);
        }
        depth
    }
}

/// A (multi)polygon in WGS84 prepared for fast point-in-polygon tests.
///
/// Edges are bucketed into horizontal bands, so a test scans only the edges
/// whose latitude range meets the point's band: O(edges / bands) per point
/// instead of O(edges) — a city boundary with thousands of vertices answers
/// in well under a microsecond. The even-odd rule handles holes.
///
/// ```
/// use geo_types::{polygon, MultiPolygon};
/// use qalqan_domain::{territory::Area, Wgs84Point};
/// let square = polygon![(x: 71.0, y: 51.0), (x: 72.0, y: 51.0), (x: 72.0, y: 52.0), (x: 71.0, y: 52.0)];
/// let area = Area::new(MultiPolygon(vec![square])).unwrap();
/// assert!(area.contains(Wgs84Point::new(51.5, 71.5).unwrap()));
/// assert!(!area.contains(Wgs84Point::new(51.5, 72.5).unwrap()));
/// ```
#[derive(Debug, Clone)]
pub struct Area {
    shape: MultiPolygon<f64>,
    min_y: f64,
    band_height: f64,
    /// Per band: indices into `edges`.
    bands: Vec<Vec<u32>>,
    edges: Vec<[f64; 4]>,
    bbox: [f64; 4],
}

impl Area {
    /// Prepares a multipolygon; refuses one without any ring of three or more points.
    pub fn new(shape: MultiPolygon<f64>) -> Result<Self, DomainError> {
        let mut edges = Vec::new();
        for poly in &shape.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for line in ring.lines() {
                    let (a, b) = (line.start, line.end);
                    if a != b {
                        edges.push([a.x, a.y, b.x, b.y]);
                    }
                }
            }
        }
        if edges.len() < 3 || edges.iter().flatten().any(|v| !v.is_finite()) {
            return Err(DomainError::Empty { what: "boundary polygon" });
        }
        let (mut min_x, mut min_y, mut max_x, mut max_y) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
        for e in &edges {
            min_x = min_x.min(e[0]).min(e[2]);
            max_x = max_x.max(e[0]).max(e[2]);
            min_y = min_y.min(e[1]).min(e[3]);
            max_y = max_y.max(e[1]).max(e[3]);
        }
        let n_bands = (edges.len() / 4).clamp(1, 4096);
        let band_height = ((max_y - min_y) / n_bands as f64).max(f64::MIN_POSITIVE);
        let mut bands = vec![Vec::new(); n_bands];
        let band_of = |y: f64| (((y - min_y) / band_height) as usize).min(n_bands - 1);
        for (i, e) in edges.iter().enumerate() {
            let (lo, hi) = (band_of(e[1].min(e[3])), band_of(e[1].max(e[3])));
            for band in &mut bands[lo..=hi] {
                band.push(i as u32);
            }
        }
        Ok(Self { shape, min_y, band_height, bands, edges, bbox: [min_x, min_y, max_x, max_y] })
    }

    /// The original multipolygon.
    pub fn shape(&self) -> &MultiPolygon<f64> {
        &self.shape
    }

    /// Bounding box as `[min_lon, min_lat, max_lon, max_lat]`.
    pub fn bbox(&self) -> [f64; 4] {
        self.bbox
    }

    /// Point-in-polygon by ray casting (even-odd rule). Points exactly on an
    /// edge may fall either way.
    pub fn contains(&self, p: Wgs84Point) -> bool {
        let (x, y) = (p.lon(), p.lat());
        let [min_x, min_y, max_x, max_y] = self.bbox;
        if x < min_x || x > max_x || y < min_y || y > max_y {
            return false;
        }
        let band = (((y - self.min_y) / self.band_height) as usize).min(self.bands.len() - 1);
        let mut inside = false;
        for &i in &self.bands[band] {
            let [x1, y1, x2, y2] = self.edges[i as usize];
            if (y1 > y) != (y2 > y) {
                let cross_x = x1 + (y - y1) * (x2 - x1) / (y2 - y1);
                if x < cross_x {
                    inside = !inside;
                }
            }
        }
        inside
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{LineString, Polygon, polygon};

    fn square(x0: f64, y0: f64, side: f64) -> Polygon<f64> {
        polygon![(x: x0, y: y0), (x: x0 + side, y: y0), (x: x0 + side, y: y0 + side), (x: x0, y: y0 + side)]
    }

    fn pt(lat: f64, lon: f64) -> Wgs84Point {
        Wgs84Point::new(lat, lon).unwrap()
    }

    #[test]
    fn names_are_trimmed_and_must_not_be_blank() {
        assert_eq!(TerritoryName::parse("  Astana ").unwrap().as_str(), "Astana");
        assert!(TerritoryName::parse("   ").is_err());
        assert!(DistrictName::parse(&"x".repeat(201)).is_err());
    }

    #[test]
    fn area_respects_holes() {
        let outer = square(10.0, 10.0, 10.0);
        let hole = LineString::from(vec![(14.0, 14.0), (16.0, 14.0), (16.0, 16.0), (14.0, 16.0), (14.0, 14.0)]);
        let with_hole = Polygon::new(outer.exterior().clone(), vec![hole]);
        let area = Area::new(MultiPolygon(vec![with_hole])).unwrap();
        assert!(area.contains(pt(12.0, 12.0)));
        assert!(!area.contains(pt(15.0, 15.0)));
        assert!(!area.contains(pt(25.0, 15.0)));
    }

    #[test]
    fn area_agrees_with_brute_force_on_a_many_sided_polygon() {
        // A star with 500 spikes: many edges per band.
        let n = 1000;
        let ring: Vec<(f64, f64)> = (0..n)
            .map(|i| {
                let a = i as f64 / n as f64 * std::f64::consts::TAU;
                let r = if i % 2 == 0 { 1.0 } else { 0.6 };
                (50.0 + r * a.cos(), 40.0 + r * a.sin())
            })
            .collect();
        let poly = Polygon::new(LineString::from(ring.clone()), vec![]);
        let area = Area::new(MultiPolygon(vec![poly])).unwrap();
        let brute = |x: f64, y: f64| {
            let mut inside = false;
            for i in 0..n {
                let (x1, y1) = ring[i];
                let (x2, y2) = ring[(i + 1) % n];
                if (y1 > y) != (y2 > y) && x < x1 + (y - y1) * (x2 - x1) / (y2 - y1) {
                    inside = !inside;
                }
            }
            inside
        };
        let mut checked = 0;
        for i in 0..60 {
            for j in 0..60 {
                let (x, y) = (48.8 + i as f64 * 0.04, 38.8 + j as f64 * 0.04);
                assert_eq!(area.contains(pt(y, x)), brute(x, y), "at {x},{y}");
                checked += 1;
            }
        }
        assert_eq!(checked, 3600);
    }

    #[test]
    fn locate_district_picks_the_innermost_nested_district() {
        let outer = District {
            id: DistrictId(1),
            name: DistrictName::parse("Yesil").unwrap(),
            parent: None,
            boundary: Some(Area::new(MultiPolygon(vec![square(71.0, 51.0, 1.0)])).unwrap()),
        };
        let inner = District {
            id: DistrictId(2),
            name: DistrictName::parse("Yesil precinct 3").unwrap(),
            parent: Some(DistrictId(1)),
            boundary: Some(Area::new(MultiPolygon(vec![square(71.2, 51.2, 0.2)])).unwrap()),
        };
        let t = Territory {
            id: TerritoryId(1),
            name: TerritoryName::parse("Astana").unwrap(),
            time_zone: "Asia/Almaty".parse().unwrap(),
            boundary: None,
            districts: vec![inner, outer],
        };
        assert_eq!(t.locate_district(pt(51.3, 71.3)), Some(DistrictId(2)));
        assert_eq!(t.locate_district(pt(51.8, 71.8)), Some(DistrictId(1)));
        assert_eq!(t.locate_district(pt(50.0, 71.8)), None);
        assert!(t.covers(pt(10.0, 10.0)), "no boundary covers everything");
        assert_eq!(t.district_and_descendants(DistrictId(1)), vec![DistrictId(1), DistrictId(2)]);
        assert_eq!(t.district_and_descendants(DistrictId(2)), vec![DistrictId(2)]);
        assert_eq!(t.district_and_ancestors(DistrictId(2)), vec![DistrictId(2), DistrictId(1)]);
    }
}
