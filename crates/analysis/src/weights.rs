//! Spatial weights: who is a neighbour of whom.
//!
//! Binary weights stored as compressed neighbour lists (CSR): `w_ij = 1` when
//! `j` is in `neighbours(i)`, 0 otherwise; a cell is never its own neighbour
//! here (Gi\* adds the focal cell itself). Row-standardised use divides by
//! the cardinality.

use crate::AnalysisError;
use crate::grid::{Contiguity, Grid};

/// Binary spatial weights as neighbour lists.
///
/// ```
/// use qalqan_analysis::weights::Weights;
/// let w = Weights::from_lists(&[vec![1], vec![0, 2], vec![1]]);
/// assert_eq!(w.neighbours(1), &[0, 2]);
/// assert_eq!(w.cardinality(0), 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weights {
    offsets: Vec<usize>,
    targets: Vec<u32>,
}

impl Weights {
    /// From explicit neighbour lists (each sorted and deduplicated here).
    pub fn from_lists(lists: &[Vec<usize>]) -> Self {
        let mut offsets = Vec::with_capacity(lists.len() + 1);
        let mut targets = Vec::new();
        offsets.push(0);
        for list in lists {
            let mut l: Vec<u32> = list.iter().map(|&j| j as u32).collect();
            l.sort_unstable();
            l.dedup();
            targets.extend(l);
            offsets.push(targets.len());
        }
        Self { offsets, targets }
    }

    /// Contiguity between the cells of a grid. O(cells).
    pub fn lattice(grid: &Grid, contiguity: Contiguity) -> Self {
        let lists: Vec<Vec<usize>> = (0..grid.len()).map(|i| grid.neighbours(i, contiguity)).collect();
        Self::from_lists(&lists)
    }

    /// Points within `threshold` metres of each other (distance ≤ threshold),
    /// as PySAL's `DistanceBand(binary=True)`. Uses a hash grid of
    /// threshold-sized buckets: O(n · neighbours) rather than O(n²).
    pub fn distance_band(points: &[(f64, f64)], threshold: f64) -> Result<Self, AnalysisError> {
        if !threshold.is_finite() || threshold <= 0.0 {
            return Err(AnalysisError::InvalidThreshold { metres: threshold });
        }
        if points.iter().any(|(x, y)| !x.is_finite() || !y.is_finite()) {
            return Err(AnalysisError::NotFinite { what: "point coordinates" });
        }
        // Buckets are the coordinates in thresholds: a band vanishingly small against the
        // coordinates (found by fuzzing the API: 2.7e-161 m) would overflow their indices.
        let reach = points.iter().fold(0.0_f64, |m, &(x, y)| m.max(x.abs()).max(y.abs()));
        if reach / threshold > 1e12 {
            return Err(AnalysisError::InvalidThreshold { metres: threshold });
        }
        let key = |x: f64, y: f64| ((x / threshold).floor() as i64, (y / threshold).floor() as i64);
        let mut buckets: std::collections::HashMap<(i64, i64), Vec<u32>> = std::collections::HashMap::new();
        for (i, &(x, y)) in points.iter().enumerate() {
            buckets.entry(key(x, y)).or_default().push(i as u32);
        }
        let t2 = threshold * threshold;
        let lists: Vec<Vec<usize>> = points
            .iter()
            .enumerate()
            .map(|(i, &(x, y))| {
                let (bx, by) = key(x, y);
                let mut out = Vec::new();
                for dx in -1..=1 {
                    for dy in -1..=1 {
                        if let Some(b) = buckets.get(&(bx + dx, by + dy)) {
                            for &j in b {
                                let (px, py) = points[j as usize];
                                if j as usize != i && (px - x).powi(2) + (py - y).powi(2) <= t2 {
                                    out.push(j as usize);
                                }
                            }
                        }
                    }
                }
                out
            })
            .collect();
        Ok(Self::from_lists(&lists))
    }

    /// Number of units.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// True when there are no units.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Neighbours of unit `i`, ascending.
    pub fn neighbours(&self, i: usize) -> &[u32] {
        &self.targets[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Number of neighbours of unit `i`.
    pub fn cardinality(&self, i: usize) -> usize {
        self.offsets[i + 1] - self.offsets[i]
    }

    /// Total number of (directed) links, S0 for binary weights.
    pub fn links(&self) -> usize {
        self.targets.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_band_vanishingly_small_against_the_coordinates_is_refused() {
        // Found by schemathesis through the hotspot endpoint: it overflowed the bucket indices.
        let points = [(500_000.0, 5_600_000.0), (500_250.0, 5_600_000.0)];
        assert!(matches!(Weights::distance_band(&points, 2.7e-161), Err(AnalysisError::InvalidThreshold { .. })));
        assert!(Weights::distance_band(&points, 1e-3).is_ok(), "a millimetre is still fine");
    }

    #[test]
    fn distance_band_matches_brute_force() {
        let mut rng = crate::rng::Rng::seed(9);
        let pts: Vec<(f64, f64)> = (0..400).map(|_| (rng.unit() * 3000.0, rng.unit() * 2000.0)).collect();
        let w = Weights::distance_band(&pts, 250.0).unwrap();
        for (i, &(x, y)) in pts.iter().enumerate() {
            let brute: Vec<u32> =
                pts.iter().enumerate().filter(|&(j, &(px, py))| j != i && (px - x).hypot(py - y) <= 250.0).map(|(j, _)| j as u32).collect();
            assert_eq!(w.neighbours(i), brute.as_slice());
        }
    }

    #[test]
    fn refuses_bad_thresholds() {
        assert!(Weights::distance_band(&[(0.0, 0.0)], 0.0).is_err());
        assert!(Weights::distance_band(&[(f64::NAN, 0.0)], 10.0).is_err());
    }
}
