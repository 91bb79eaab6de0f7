//! Hotspot maps: incidents counted on a grid over the territory, with a
//! local statistic per cell.
//!
//! Steps: project the points to the UTM zone of their centroid; cover the
//! territory's boundary (or, without one, the points) with a grid; keep the
//! cells whose centre lies inside the boundary, plus any cell holding an
//! incident; count; then, for Gi\* or Local Moran, build contiguity weights
//! among the kept cells and compute the statistic with conditional
//! permutations and Benjamini–Hochberg q-values. Cost: O(points + cells·k̄)
//! plus the statistic's (see [`crate::local`]).

use qalqan_domain::{Area, Wgs84Point};

use crate::AnalysisError;
use crate::grid::{Contiguity, Grid, GridParams};
use crate::kde::{KdeParams, kernel_density};
use crate::local::{self, GiStar, GlobalMoran, LocalMoran, Permutations};
use crate::projection::Utm;
use crate::weights::Weights;

/// Which statistic to compute per cell.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum HotspotMethod {
    /// Counts and density only.
    #[default]
    Counts,
    /// Getis-Ord Gi\* (hot and cold spots).
    GiStar,
    /// Local Moran's I (clusters HH, LL and outliers HL, LH).
    LocalMoran,
    /// Kernel density surface (square cells only).
    Kde(KdeParams),
}

/// Neighbourhood of a cell for the local statistics.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Neighbourhood {
    /// Cells touching the cell (queen: edges and corners). Default.
    Contiguity(Contiguity),
    /// Cells whose centres lie within this many metres.
    DistanceBand(f64),
}

impl Default for Neighbourhood {
    fn default() -> Self {
        Neighbourhood::Contiguity(Contiguity::Queen)
    }
}

/// How to build a hotspot map.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct HotspotParams {
    /// Grid cell size and shape. Default 250 m squares.
    pub grid: GridParams,
    /// Default counts only.
    pub method: HotspotMethod,
    /// Default queen contiguity.
    pub neighbourhood: Neighbourhood,
    /// Default 999 permutations, seed 12345.
    pub permutations: Permutations,
}

/// Per-cell statistics of the chosen method.
#[derive(Debug, Clone, PartialEq)]
pub enum CellStatistics {
    Counts,
    GiStar {
        gi: GiStar,
        /// Benjamini–Hochberg q-values of the two-sided analytic p-values.
        q: Vec<f64>,
    },
    LocalMoran {
        lisa: LocalMoran,
        /// Benjamini–Hochberg q-values of the permutation p-values.
        q: Vec<f64>,
        /// Global Moran's I of the same counts and weights.
        global: GlobalMoran,
    },
    Density {
        /// Bandwidth used, metres.
        bandwidth: f64,
        /// Incidents per km² at each kept cell's centre.
        density_km2: Vec<f64>,
    },
}

/// A hotspot map: the kept cells of a grid, their counts and statistics.
#[derive(Debug, Clone, PartialEq)]
pub struct HotspotMap {
    pub projection: Utm,
    pub grid: Grid,
    /// Grid index of each kept cell; statistics are in the same order.
    pub cells: Vec<usize>,
    pub counts: Vec<u32>,
    pub statistics: CellStatistics,
}

impl HotspotMap {
    /// Centre of kept cell `k` in WGS84.
    pub fn centre(&self, k: usize) -> Wgs84Point {
        let (x, y) = self.grid.centre(self.cells[k]);
        self.projection.inverse(x, y)
    }

    /// Outline of kept cell `k` in WGS84 (closed ring).
    pub fn outline(&self, k: usize) -> Vec<Wgs84Point> {
        self.grid.outline(self.cells[k]).into_iter().map(|(x, y)| self.projection.inverse(x, y)).collect()
    }

    /// Incidents per square kilometre in kept cell `k`.
    pub fn density_per_km2(&self, k: usize) -> f64 {
        f64::from(self.counts[k]) / (self.grid.cell_area() / 1e6)
    }
}

/// A Gi\* cell's class in the style of ArcGIS's Gi_Bin: ±3, ±2, ±1 for
/// hot (+) or cold (−) spots significant at 99, 95 and 90 % (by q-value,
/// i.e. after the false-discovery-rate correction), 0 otherwise.
pub fn gi_class(z: f64, q: f64) -> i8 {
    let level = if q <= 0.01 {
        3
    } else if q <= 0.05 {
        2
    } else if q <= 0.10 {
        1
    } else {
        0
    };
    if z.is_nan() {
        0
    } else if z > 0.0 {
        level
    } else {
        -level
    }
}

/// Builds a hotspot map of `points` over `boundary` (if any).
///
/// ```
/// use qalqan_analysis::hotspot::{hotspot_map, HotspotMethod, HotspotParams};
/// use qalqan_domain::Wgs84Point;
/// let mut pts: Vec<Wgs84Point> = (0..400).map(|i| Wgs84Point::new(51.10 + (i % 20) as f64 * 0.002, 71.40 + (i / 20) as f64 * 0.003).unwrap()).collect();
/// pts.extend((0..60).map(|_| Wgs84Point::new(51.12, 71.43).unwrap())); // a hot corner
/// let map = hotspot_map(&pts, None, &HotspotParams { method: HotspotMethod::GiStar, ..Default::default() }).unwrap();
/// assert_eq!(map.counts.iter().sum::<u32>(), 460);
/// ```
pub fn hotspot_map(points: &[Wgs84Point], boundary: Option<&Area>, params: &HotspotParams) -> Result<HotspotMap, AnalysisError> {
    let projection = match boundary {
        Some(b) => {
            let [x0, y0, x1, y1] = b.bbox();
            Utm::for_centre((y0 + y1) / 2.0, (x0 + x1) / 2.0)
        }
        None => Utm::for_points(points),
    };
    let xy: Vec<(f64, f64)> = points.iter().map(|&p| projection.forward(p)).collect();
    let mut extent = [f64::MAX, f64::MAX, f64::MIN, f64::MIN];
    let mut grow = |x: f64, y: f64| {
        extent = [extent[0].min(x), extent[1].min(y), extent[2].max(x), extent[3].max(y)];
    };
    for &(x, y) in &xy {
        grow(x, y);
    }
    if let Some(b) = boundary {
        for poly in &b.shape().0 {
            for c in poly.exterior().coords() {
                if let Ok(p) = Wgs84Point::new(c.y, c.x) {
                    let (x, y) = projection.forward(p);
                    grow(x, y);
                }
            }
        }
    }
    if extent[0] > extent[2] {
        extent = [0.0, 0.0, 0.0, 0.0]; // no points, no boundary: one empty cell
    }
    let grid = Grid::covering(extent, &params.grid)?;
    let all_counts = grid.count(&xy);
    let keep: Vec<bool> = (0..grid.len())
        .map(|i| {
            all_counts[i] > 0
                || boundary.is_none_or(|b| {
                    let (x, y) = grid.centre(i);
                    b.contains(projection.inverse(x, y))
                })
        })
        .collect();
    let cells: Vec<usize> = (0..grid.len()).filter(|&i| keep[i]).collect();
    let counts: Vec<u32> = cells.iter().map(|&i| all_counts[i]).collect();

    let statistics = match params.method {
        HotspotMethod::Counts => CellStatistics::Counts,
        HotspotMethod::Kde(kde) => {
            let surface = kernel_density(&xy, &grid, &kde)?;
            CellStatistics::Density { bandwidth: surface.bandwidth, density_km2: cells.iter().map(|&i| surface.density_km2[i]).collect() }
        }
        method => {
            let weights = weights_among(&grid, &cells, &keep, params.neighbourhood)?;
            let y: Vec<f64> = counts.iter().map(|&c| f64::from(c)).collect();
            let perms = Some(params.permutations);
            if method == HotspotMethod::GiStar {
                let gi = local::getis_ord_gi_star(&y, &weights, perms)?;
                // Classes use the analytic two-sided p (as ArcGIS's Hot Spot Analysis): the conditional
                // permutation holds the focal value fixed, so it cannot flag a lone spike itself.
                let two_sided: Vec<f64> = gi.p_norm.iter().map(|p| (2.0 * p).min(1.0)).collect();
                let q = local::benjamini_hochberg(&two_sided);
                CellStatistics::GiStar { gi, q }
            } else {
                let lisa = local::local_moran(&y, &weights, perms)?;
                let q = local::benjamini_hochberg(lisa.p_sim.as_deref().unwrap_or(&[]));
                let global = local::global_moran(&y, &weights)?;
                CellStatistics::LocalMoran { lisa, q, global }
            }
        }
    };
    Ok(HotspotMap { projection, grid, cells, counts, statistics })
}

/// Weights among the kept cells only, indexed by position in `cells`.
fn weights_among(grid: &Grid, cells: &[usize], keep: &[bool], neighbourhood: Neighbourhood) -> Result<Weights, AnalysisError> {
    match neighbourhood {
        Neighbourhood::Contiguity(c) => {
            let mut position = vec![usize::MAX; grid.len()];
            for (k, &i) in cells.iter().enumerate() {
                position[i] = k;
            }
            let lists: Vec<Vec<usize>> =
                cells.iter().map(|&i| grid.neighbours(i, c).into_iter().filter(|&j| keep[j]).map(|j| position[j]).collect()).collect();
            Ok(Weights::from_lists(&lists))
        }
        Neighbourhood::DistanceBand(d) => {
            let centres: Vec<(f64, f64)> = cells.iter().map(|&i| grid.centre(i)).collect();
            Weights::distance_band(&centres, d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{MultiPolygon, polygon};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(16))]
        #[test]
        fn input_order_does_not_change_the_map(seed in 0u64..10_000) {
            let mut rng = crate::rng::Rng::seed(seed);
            let pts: Vec<Wgs84Point> =
                (0..600).map(|_| Wgs84Point::new(51.10 + rng.unit() * 0.03, 71.40 + rng.unit() * 0.05).unwrap()).collect();
            let mut shuffled = pts.clone();
            for i in (1..shuffled.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                shuffled.swap(i, j);
            }
            for method in [HotspotMethod::GiStar, HotspotMethod::LocalMoran, HotspotMethod::Kde(Default::default())] {
                let params = HotspotParams { method, ..Default::default() };
                let (a, b) = (hotspot_map(&pts, None, &params).unwrap(), hotspot_map(&shuffled, None, &params).unwrap());
                prop_assert_eq!(&a.counts, &b.counts);
                match (&a.statistics, &b.statistics) {
                    (CellStatistics::Density { density_km2: x, .. }, CellStatistics::Density { density_km2: y, .. }) => {
                        for (u, v) in x.iter().zip(y) {
                            prop_assert!((u - v).abs() <= 1e-9 * u.abs().max(1.0));
                        }
                    }
                    (x, y) => prop_assert_eq!(x, y),
                }
            }
        }
    }

    #[test]
    fn boundary_clips_cells_but_keeps_every_incident() {
        let square = polygon![(x: 71.30, y: 51.05), (x: 71.50, y: 51.05), (x: 71.50, y: 51.20), (x: 71.30, y: 51.20)];
        let area = Area::new(MultiPolygon(vec![square])).unwrap();
        let pts = vec![Wgs84Point::new(51.10, 71.40).unwrap(), Wgs84Point::new(51.21, 71.52).unwrap()];
        let map = hotspot_map(&pts, Some(&area), &HotspotParams::default()).unwrap();
        assert_eq!(map.counts.iter().sum::<u32>(), 2, "the point just outside still has its cell");
        assert!(map.cells.len() < map.grid.len(), "cells outside the boundary are dropped");
        let inside = (0..map.cells.len()).filter(|&k| area.contains(map.centre(k))).count();
        assert!(inside >= map.cells.len() - 1);
    }

    #[test]
    fn a_single_cell_spike_is_the_hottest_and_significant_after_fdr() {
        let mut pts = Vec::new();
        let mut rng = crate::rng::Rng::seed(5);
        for _ in 0..2_000 {
            pts.push(Wgs84Point::new(51.10 + rng.unit() * 0.05, 71.40 + rng.unit() * 0.08).unwrap());
        }
        for _ in 0..300 {
            pts.push(Wgs84Point::new(51.125, 71.44).unwrap());
        }
        let params = HotspotParams { method: HotspotMethod::GiStar, ..Default::default() };
        let map = hotspot_map(&pts, None, &params).unwrap();
        let CellStatistics::GiStar { gi, q } = &map.statistics else { panic!() };
        let spike = (0..map.cells.len()).max_by_key(|&k| map.counts[k]).unwrap();
        assert_eq!(gi_class(gi.z[spike], q[spike]), 3, "z {} q {}", gi.z[spike], q[spike]);
        let hot = (0..map.cells.len()).filter(|&k| gi_class(gi.z[k], q[k]) > 0).count();
        assert!(hot <= 9, "only the spike and its neighbours are hot, found {hot}");
    }

    #[test]
    fn uniform_counts_give_no_significant_cells_after_fdr() {
        // 30 × 30 lattice of counts drawn independently (sums of uniform draws): no spatial structure.
        let grid = Grid::covering([0.0, 0.0, 7_499.0, 7_499.0], &GridParams::default()).unwrap();
        let w = Weights::lattice(&grid, Contiguity::Queen);
        let mut rng = crate::rng::Rng::seed(11);
        let y: Vec<f64> = (0..grid.len()).map(|_| (0..40).filter(|_| rng.unit() < 0.5).count() as f64).collect();
        let gi = local::getis_ord_gi_star(&y, &w, Some(Permutations::default())).unwrap();
        let q = local::benjamini_hochberg(gi.p_sim.as_ref().unwrap());
        assert_eq!(q.iter().filter(|&&q| q <= 0.05).count(), 0);
        let two_sided: Vec<f64> = gi.p_norm.iter().map(|p| 2.0 * p).collect();
        assert_eq!(local::benjamini_hochberg(&two_sided).iter().filter(|&&q| q <= 0.05).count(), 0);
        let lisa = local::local_moran(&y, &w, Some(Permutations::default())).unwrap();
        let q = local::benjamini_hochberg(lisa.p_sim.as_ref().unwrap());
        assert_eq!(q.iter().filter(|&&q| q <= 0.05).count(), 0);
    }
}
