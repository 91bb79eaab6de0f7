//! What a camera sees: its view sector, the incidents inside it and the
//! length of street inside it.
//!
//! A camera at (x, y) metres looks along a bearing (degrees clockwise from
//! grid north) with a horizontal field of view `fov` (degrees, up to 360) to a
//! range `r` metres: it covers the circular sector of radius `r` and opening
//! `fov` centred on the bearing. Occlusion by buildings is not modelled (the
//! range should be the useful identification distance, which is shorter than
//! the line of sight in most streets).
//!
//! Street coverage is exact: on each straight piece of a street the points
//! inside the disk form one interval of the piece's parameter, those inside
//! the wedge one interval (fov ≤ 180°, the intersection of two half-planes) or
//! two (fov > 180°, the union of two half-planes); the covered length is the
//! measure of their intersection. Cost O(pieces) per camera; with the grid
//! index of [`CameraIndex`] each point or piece is tested only against the
//! cameras whose range reaches its cell.
//!
//! ```
//! use qalqan_planning::camera::Camera;
//! // Looking east with a 90° view, 50 m range.
//! let cam = Camera::new(0.0, 0.0, 90.0, 90.0, 50.0).unwrap();
//! assert!(cam.sees(30.0, 10.0));
//! assert!(!cam.sees(-30.0, 0.0)); // behind it
//! assert!(!cam.sees(60.0, 0.0)); // out of range
//! // A street along the x axis from -100 to 100: the camera covers its first 50 m east.
//! let covered = cam.covered_length(&[(-100.0, 0.0), (100.0, 0.0)]);
//! assert!((covered - 50.0).abs() < 1e-9);
//! ```

use crate::PlanningError;

/// A camera's view sector, in projected metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    x: f64,
    y: f64,
    /// Unit vector of the bearing (east, north).
    dir: (f64, f64),
    /// cos of half the field of view.
    half_fov: f64,
    fov_deg: f64,
    range: f64,
}

impl Camera {
    /// A camera at (`x`, `y`) looking along `bearing_deg` (clockwise from north) with a field of
    /// view of `fov_deg` (0 < fov ≤ 360) to `range_m` metres (> 0).
    pub fn new(x: f64, y: f64, bearing_deg: f64, fov_deg: f64, range_m: f64) -> Result<Self, PlanningError> {
        if ![x, y, bearing_deg, fov_deg, range_m].iter().all(|v| v.is_finite()) {
            return Err(PlanningError::NotFinite { what: "camera position, bearing, field of view and range" });
        }
        if !(fov_deg > 0.0 && fov_deg <= 360.0) {
            return Err(PlanningError::InvalidParameter {
                name: "field of view",
                reason: format!("{fov_deg}° must be more than 0 and at most 360"),
            });
        }
        if range_m <= 0.0 {
            return Err(PlanningError::InvalidParameter { name: "range", reason: format!("{range_m} m must be positive") });
        }
        let b = bearing_deg.to_radians();
        Ok(Self { x, y, dir: (b.sin(), b.cos()), half_fov: (fov_deg.to_radians() / 2.0).cos(), fov_deg, range: range_m })
    }

    /// Position in metres.
    pub fn position(&self) -> (f64, f64) {
        (self.x, self.y)
    }

    /// Range in metres.
    pub fn range(&self) -> f64 {
        self.range
    }

    /// The view sector as a closed ring of points (the camera, then the arc in `steps` pieces),
    /// for drawing; a 360° view is a circle.
    pub fn sector_outline(&self, steps: usize) -> Vec<(f64, f64)> {
        let steps = steps.max(2);
        let bearing = self.dir.0.atan2(self.dir.1); // radians clockwise from north
        let half = self.fov_deg.to_radians() / 2.0;
        let arc = (0..=steps).map(|k| {
            let a = bearing - half + 2.0 * half * k as f64 / steps as f64;
            (self.x + self.range * a.sin(), self.y + self.range * a.cos())
        });
        let mut ring: Vec<(f64, f64)> =
            if self.fov_deg >= 360.0 { arc.collect() } else { std::iter::once((self.x, self.y)).chain(arc).collect() };
        if let Some(&first) = ring.first() {
            if ring.last() != Some(&first) {
                ring.push(first);
            }
        }
        ring
    }

    /// Whether the point (`px`, `py`) is inside the view sector (the camera's own position counts).
    pub fn sees(&self, px: f64, py: f64) -> bool {
        let (dx, dy) = (px - self.x, py - self.y);
        let d2 = dx * dx + dy * dy;
        if d2 > self.range * self.range {
            return false;
        }
        if d2 == 0.0 || self.fov_deg >= 360.0 {
            return true;
        }
        // cos of the angle to the bearing ≥ cos(fov / 2).
        (dx * self.dir.0 + dy * self.dir.1) >= self.half_fov * d2.sqrt()
    }

    /// Length in metres of the polyline inside the view sector.
    pub fn covered_length(&self, polyline: &[(f64, f64)]) -> f64 {
        polyline.windows(2).map(|w| self.covered_on_piece(w[0], w[1])).sum()
    }

    /// Covered length of one straight piece from `a` to `b`.
    fn covered_on_piece(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        self.piece_intervals(a, b).iter().map(|(lo, hi)| hi - lo).sum::<f64>() * len
    }

    /// The parameter intervals of `a + t v`, t ∈ [0, 1], inside the wedge.
    fn wedge_intervals(&self, ax: f64, ay: f64, vx: f64, vy: f64) -> [Option<(f64, f64)>; 2] {
        if self.fov_deg >= 360.0 {
            return [Some((0.0, 1.0)), None];
        }
        // The wedge's two edges at ±fov/2 from the bearing; n1, n2 point into the wedge's side of each.
        let half = (self.fov_deg / 2.0).to_radians();
        let rot = |(x, y): (f64, f64), a: f64| (x * a.cos() - y * a.sin(), x * a.sin() + y * a.cos());
        // Rotating (east, north) by +a turns anticlockwise. Edge L (anticlockwise side) and R.
        let left = rot(self.dir, half);
        let right = rot(self.dir, -half);
        // Half-plane "to the right of the left edge" (clockwise from it) and "to the left of the right edge".
        let n_left = (left.1, -left.0); // left edge rotated clockwise by 90°
        let n_right = (-right.1, right.0); // right edge rotated anticlockwise by 90°
        let half_plane = |n: (f64, f64)| -> Option<(f64, f64)> {
            // n · (a + t v) ≥ 0
            let (c0, c1) = (n.0 * ax + n.1 * ay, n.0 * vx + n.1 * vy);
            if c1.abs() < 1e-15 {
                return (c0 >= 0.0).then_some((0.0, 1.0));
            }
            let t = -c0 / c1;
            let (lo, hi) = if c1 > 0.0 { (t.max(0.0), 1.0) } else { (0.0, t.min(1.0)) };
            (hi > lo).then_some((lo, hi))
        };
        let h1 = half_plane(n_left);
        let h2 = half_plane(n_right);
        if self.fov_deg <= 180.0 {
            // Convex wedge: both half-planes.
            let both = match (h1, h2) {
                (Some(a), Some(b)) => {
                    let (lo, hi) = (a.0.max(b.0), a.1.min(b.1));
                    (hi > lo).then_some((lo, hi))
                }
                _ => None,
            };
            [both, None]
        } else {
            // Reflex wedge: either half-plane (their union), as two disjoint-or-merged intervals.
            match (h1, h2) {
                (Some(a), Some(b)) if a.0 <= b.1 && b.0 <= a.1 => [Some((a.0.min(b.0), a.1.max(b.1))), None],
                (a, b) => [a, b],
            }
        }
    }
}

/// Cameras bucketed on a square grid of their largest range, so that a point is
/// tested only against cameras that can reach it.
#[derive(Debug, Clone)]
pub struct CameraIndex {
    cameras: Vec<Camera>,
    cell: f64,
    buckets: std::collections::HashMap<(i64, i64), Vec<u32>>,
}

impl CameraIndex {
    /// Indexes `cameras`.
    pub fn new(cameras: Vec<Camera>) -> Self {
        let cell = cameras.iter().map(|c| c.range).fold(1.0, f64::max);
        let mut buckets: std::collections::HashMap<(i64, i64), Vec<u32>> = std::collections::HashMap::new();
        for (k, c) in cameras.iter().enumerate() {
            buckets.entry(((c.x / cell).floor() as i64, (c.y / cell).floor() as i64)).or_default().push(k as u32);
        }
        Self { cameras, cell, buckets }
    }

    /// The cameras.
    pub fn cameras(&self) -> &[Camera] {
        &self.cameras
    }

    /// Indices of the cameras that see (`x`, `y`).
    pub fn seeing(&self, x: f64, y: f64) -> Vec<usize> {
        let (cx, cy) = ((x / self.cell).floor() as i64, (y / self.cell).floor() as i64);
        let mut out = Vec::new();
        for dy in -1..=1 {
            for dx in -1..=1 {
                if let Some(list) = self.buckets.get(&(cx + dx, cy + dy)) {
                    out.extend(list.iter().map(|&k| k as usize).filter(|&k| self.cameras[k].sees(x, y)));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// Indices of the cameras that may see part of the polyline (those bucketed within a cell of
    /// its bounding box), ascending; [`Camera::covered_length`] says how much each one sees.
    pub fn near(&self, polyline: &[(f64, f64)]) -> Vec<usize> {
        let Some(&first) = polyline.first() else { return Vec::new() };
        let (mut x0, mut y0, mut x1, mut y1) = (first.0, first.1, first.0, first.1);
        for &(x, y) in polyline {
            (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
        }
        let cell = |v: f64| (v / self.cell).floor() as i64;
        let mut out = Vec::new();
        for cy in cell(y0) - 1..=cell(y1) + 1 {
            for cx in cell(x0) - 1..=cell(x1) + 1 {
                if let Some(list) = self.buckets.get(&(cx, cy)) {
                    out.extend(list.iter().map(|&k| k as usize));
                }
            }
        }
        out.sort_unstable();
        out
    }

    /// For each point, whether any camera sees it.
    pub fn covered(&self, points: &[(f64, f64)]) -> Vec<bool> {
        points.iter().map(|&(x, y)| !self.seeing(x, y).is_empty()).collect()
    }

    /// Length of the polyline seen by at least one camera (overlapping views counted once).
    ///
    /// Each straight piece's covered parameter intervals from every nearby camera are merged
    /// before measuring, so two cameras watching the same stretch do not count it twice.
    pub fn covered_length(&self, polyline: &[(f64, f64)]) -> f64 {
        let mut total = 0.0;
        for w in polyline.windows(2) {
            let (a, b) = (w[0], w[1]);
            let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
            if len == 0.0 {
                continue;
            }
            // Cameras near either end or the middle (pieces longer than a cell are split first).
            let steps = (len / self.cell).ceil().max(1.0) as usize;
            for s in 0..steps {
                let (t0, t1) = (s as f64 / steps as f64, (s + 1) as f64 / steps as f64);
                let p0 = (a.0 + (b.0 - a.0) * t0, a.1 + (b.1 - a.1) * t0);
                let p1 = (a.0 + (b.0 - a.0) * t1, a.1 + (b.1 - a.1) * t1);
                total += self.covered_on_short_piece(p0, p1);
            }
        }
        total
    }

    fn covered_on_short_piece(&self, a: (f64, f64), b: (f64, f64)) -> f64 {
        let mid = ((a.0 + b.0) / 2.0, (a.1 + b.1) / 2.0);
        let (cx, cy) = ((mid.0 / self.cell).floor() as i64, (mid.1 / self.cell).floor() as i64);
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let mut intervals: Vec<(f64, f64)> = Vec::new();
        for dy in -2..=2 {
            for dx in -2..=2 {
                let Some(list) = self.buckets.get(&(cx + dx, cy + dy)) else { continue };
                for &k in list {
                    intervals.extend(self.cameras[k as usize].piece_intervals(a, b));
                }
            }
        }
        intervals.sort_by(|p, q| p.0.total_cmp(&q.0));
        let mut covered = 0.0;
        let mut current: Option<(f64, f64)> = None;
        for (lo, hi) in intervals {
            match current {
                Some((clo, chi)) if lo <= chi => current = Some((clo, chi.max(hi))),
                Some((clo, chi)) => {
                    covered += chi - clo;
                    current = Some((lo, hi));
                }
                None => current = Some((lo, hi)),
            }
        }
        if let Some((lo, hi)) = current {
            covered += hi - lo;
        }
        covered * len
    }
}

impl Camera {
    /// The parameter intervals of the piece `a → b` inside the sector.
    fn piece_intervals(&self, a: (f64, f64), b: (f64, f64)) -> Vec<(f64, f64)> {
        let (ax, ay) = (a.0 - self.x, a.1 - self.y);
        let (vx, vy) = (b.0 - a.0, b.1 - a.1);
        let len2 = vx * vx + vy * vy;
        if len2 == 0.0 {
            return Vec::new();
        }
        let (qa, qb, qc) = (len2, 2.0 * (ax * vx + ay * vy), ax * ax + ay * ay - self.range * self.range);
        let disc = qb * qb - 4.0 * qa * qc;
        if disc < 0.0 {
            return Vec::new();
        }
        let root = disc.sqrt();
        let (d0, d1) = (((-qb - root) / (2.0 * qa)).max(0.0), ((-qb + root) / (2.0 * qa)).min(1.0));
        self.wedge_intervals(ax, ay, vx, vy)
            .into_iter()
            .flatten()
            .filter_map(|(lo, hi)| {
                let (lo, hi) = (lo.max(d0), hi.min(d1));
                (hi > lo).then_some((lo, hi))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Covered length by fine sampling, for checking the exact computation.
    fn sampled(cam: &Camera, a: (f64, f64), b: (f64, f64)) -> f64 {
        let n = 200_000;
        let len = ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
        let inside = (0..n)
            .filter(|&k| {
                let t = (k as f64 + 0.5) / n as f64;
                cam.sees(a.0 + (b.0 - a.0) * t, a.1 + (b.1 - a.1) * t)
            })
            .count();
        inside as f64 / n as f64 * len
    }

    #[test]
    fn covered_length_matches_sampling_for_narrow_wide_and_full_views() {
        let pieces =
            [((-80.0, 30.0), (90.0, -20.0)), ((10.0, -70.0), (15.0, 90.0)), ((-60.0, -60.0), (70.0, 65.0)), ((5.0, 5.0), (40.0, 8.0))];
        for fov in [30.0, 90.0, 180.0, 250.0, 360.0] {
            for bearing in [0.0, 45.0, 170.0, 300.0] {
                let cam = Camera::new(0.0, 0.0, bearing, fov, 75.0).unwrap();
                for &(a, b) in &pieces {
                    let exact = cam.covered_length(&[a, b]);
                    let approx = sampled(&cam, a, b);
                    assert!((exact - approx).abs() < 0.01, "fov {fov} bearing {bearing} {a:?}→{b:?}: {exact} vs {approx}");
                }
            }
        }
    }

    #[test]
    fn a_camera_sees_only_its_sector() {
        let north = Camera::new(100.0, 100.0, 0.0, 60.0, 40.0).unwrap();
        assert!(north.sees(100.0, 139.0));
        assert!(!north.sees(100.0, 141.0));
        assert!(!north.sees(100.0, 60.0));
        assert!(north.sees(110.0, 130.0)); // 18° off the bearing
        assert!(!north.sees(130.0, 110.0)); // 72° off
        assert!(north.sees(100.0, 100.0));
    }

    #[test]
    fn overlapping_cameras_count_a_street_once() {
        let a = Camera::new(0.0, 0.0, 90.0, 360.0, 50.0).unwrap();
        let b = Camera::new(20.0, 0.0, 90.0, 360.0, 50.0).unwrap();
        let index = CameraIndex::new(vec![a, b]);
        let street = [(-200.0, 0.0), (200.0, 0.0)];
        // Union of [-50, 50] and [-30, 70]: 120 m.
        assert!((index.covered_length(&street) - 120.0).abs() < 1e-9);
        assert_eq!(index.seeing(10.0, 0.0), vec![0, 1]);
        assert_eq!(index.covered(&[(60.0, 0.0), (80.0, 0.0)]), vec![true, false]);
    }

    #[test]
    fn the_sector_outline_starts_at_the_camera_and_closes() {
        let cam = Camera::new(10.0, 20.0, 90.0, 60.0, 50.0).unwrap();
        let ring = cam.sector_outline(12);
        assert_eq!(ring.first(), ring.last());
        assert_eq!(ring[0], (10.0, 20.0));
        assert_eq!(ring.len(), 15);
        for &(x, y) in &ring[1..ring.len() - 1] {
            assert!((((x - 10.0).powi(2) + (y - 20.0).powi(2)).sqrt() - 50.0).abs() < 1e-9);
        }
        // Inside the arc's interior points (the ends lie on the wedge's edges).
        for &(x, y) in &ring[2..ring.len() - 2] {
            assert!(cam.sees(10.0 + (x - 10.0) * 0.99, 20.0 + (y - 20.0) * 0.99));
        }
    }

    #[test]
    fn invalid_cameras_are_refused() {
        assert!(Camera::new(0.0, 0.0, 0.0, 0.0, 10.0).is_err());
        assert!(Camera::new(0.0, 0.0, 0.0, 400.0, 10.0).is_err());
        assert!(Camera::new(0.0, 0.0, 0.0, 90.0, -1.0).is_err());
        assert!(Camera::new(f64::NAN, 0.0, 0.0, 90.0, 10.0).is_err());
    }

    #[test]
    fn cameras_near_a_street_are_found_and_measure_their_own_stretch() {
        let near = Camera::new(0.0, 5.0, 180.0, 360.0, 20.0).unwrap();
        let also = Camera::new(10.0, -5.0, 0.0, 360.0, 20.0).unwrap();
        let far = Camera::new(500.0, 500.0, 0.0, 360.0, 20.0).unwrap();
        let index = CameraIndex::new(vec![near, also, far]);
        let street = [(-100.0, 0.0), (100.0, 0.0)];
        assert_eq!(index.near(&street), vec![0, 1]);
        let own: Vec<f64> = index.near(&street).iter().map(|&k| index.cameras()[k].covered_length(&street)).collect();
        // Each sees 2·√(20² − 5²) ≈ 38.7 m; together 48.7 m (they overlap over 28.7 m).
        assert!(own.iter().all(|m| (m - 2.0 * 375f64.sqrt()).abs() < 1e-6), "{own:?}");
        assert!((index.covered_length(&street) - (10.0 + 2.0 * 375f64.sqrt())).abs() < 1e-6);
        assert!(index.near(&[]).is_empty());
    }
}
