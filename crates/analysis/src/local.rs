//! Local and global spatial association: Getis-Ord Gi\*, Local Moran's I,
//! global Moran's I, and the Benjamini–Hochberg false discovery rate.
//!
//! Formulas follow PySAL's `esda` (2.9), which follows the papers:
//! - Gi\*: Ord & Getis, "Local spatial autocorrelation statistics",
//!   Geographical Analysis 27 (1995), binary weights including the focal unit.
//! - Local Moran: Anselin, "Local indicators of spatial association — LISA",
//!   Geographical Analysis 27 (1995), row-standardised weights.
//! - Global Moran: Cliff & Ord (1981), normality and randomisation variances.
//! - Inference by conditional randomisation (Anselin 1995): the focal value
//!   stays, its neighbours are redrawn without replacement from the other
//!   n − 1 values; pseudo p-value `(extreme + 1) / (permutations + 1)`, folded
//!   so both tails count as in esda. Units without neighbours get p = 1
//!   (esda reports 0.001 there, an artefact of folding an all-tied null).
//!
//! Speed: the null distribution of a unit depends only on its number of
//! neighbours `k` and its own value (the pool is every other value), so units
//! sharing `(k, y)` — most of a grid of counts — share one set of simulated
//! neighbour sums (sorted once when the group is large). The random draws
//! are one shared table of P rows, as esda's. Cost O(n·k̄ + G·P·k̄ + n·log P)
//! for n units, G distinct `(k, y)` pairs and P permutations; with continuous
//! values (G = n) this is esda's O(n·P·k̄). Groups run in parallel (rayon).

use std::collections::HashMap;

use crate::AnalysisError;
use crate::normal;
use crate::rng::Rng;
use crate::weights::Weights;
use rayon::prelude::*;

/// Settings of the permutation inference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permutations {
    /// Number of conditional permutations. Default 999, as esda and the Near Repeat Calculator.
    pub count: u32,
    /// Seed of the random draws; the same seed gives the same p-values. Default 12345.
    pub seed: u64,
}

impl Default for Permutations {
    fn default() -> Self {
        Self { count: 999, seed: 12345 }
    }
}

/// Getis-Ord Gi\* of every unit.
#[derive(Debug, Clone, PartialEq)]
pub struct GiStar {
    /// Gi\* as a share of the total: (y_i + Σ_neighbours y_j) / Σ y.
    pub g: Vec<f64>,
    /// Standardised Gi\* (Ord & Getis 1995, eq. 14): the analytic z-score.
    pub z: Vec<f64>,
    /// One-sided normal p-value of |z|, as esda's `p_norm`.
    pub p_norm: Vec<f64>,
    /// Folded pseudo p-value from the conditional permutations; `None` when none were run.
    pub p_sim: Option<Vec<f64>>,
}

/// Local Moran's I of every unit.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalMoran {
    /// I_i = (n − 1) · z_i · lag_i / Σ z², with z = y − ȳ and lag the neighbours' mean z.
    pub i: Vec<f64>,
    /// Quadrant of each unit.
    pub quadrant: Vec<Quadrant>,
    /// Folded pseudo p-value from the conditional permutations.
    pub p_sim: Option<Vec<f64>>,
}

/// Where a unit and its neighbours sit relative to the mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quadrant {
    /// High value among high values (a hot spot).
    HighHigh,
    /// Low value among high values.
    LowHigh,
    /// Low value among low values (a cold spot).
    LowLow,
    /// High value among low values (an outlier).
    HighLow,
}

impl Quadrant {
    /// esda's numbering: 1 HH, 2 LH, 3 LL, 4 HL.
    pub fn esda_code(self) -> u8 {
        match self {
            Quadrant::HighHigh => 1,
            Quadrant::LowHigh => 2,
            Quadrant::LowLow => 3,
            Quadrant::HighLow => 4,
        }
    }

    /// "HH", "LH", "LL" or "HL".
    pub fn label(self) -> &'static str {
        match self {
            Quadrant::HighHigh => "HH",
            Quadrant::LowHigh => "LH",
            Quadrant::LowLow => "LL",
            Quadrant::HighLow => "HL",
        }
    }
}

/// Global Moran's I with its normality and randomisation inference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GlobalMoran {
    pub i: f64,
    /// Expected value under no autocorrelation, −1 / (n − 1).
    pub expected: f64,
    pub variance_normal: f64,
    pub z_normal: f64,
    /// Two-sided.
    pub p_normal: f64,
    pub variance_random: f64,
    pub z_random: f64,
    /// Two-sided.
    pub p_random: f64,
}

fn check(y: &[f64], w: &Weights) -> Result<(), AnalysisError> {
    if y.len() != w.len() {
        return Err(AnalysisError::LengthMismatch { what: "values and weights", expected: w.len(), got: y.len() });
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(AnalysisError::NotFinite { what: "values" });
    }
    Ok(())
}

/// Σ_{j ∈ N(i)} y_j for every unit.
fn neighbour_sums(y: &[f64], w: &Weights) -> Vec<f64> {
    (0..y.len()).map(|i| w.neighbours(i).iter().map(|&j| y[j as usize]).sum()).collect()
}

/// Getis-Ord Gi\* with binary weights including the focal unit.
///
/// ```
/// use qalqan_analysis::local::{getis_ord_gi_star, Permutations};
/// use qalqan_analysis::grid::{Contiguity, Grid, GridParams};
/// use qalqan_analysis::weights::Weights;
/// let grid = Grid::covering([0.0, 0.0, 2490.0, 2490.0], &GridParams::default()).unwrap(); // 10 × 10
/// let mut y = vec![1.0; 100];
/// y[55] = 30.0; // one hot cell
/// let gi = getis_ord_gi_star(&y, &Weights::lattice(&grid, Contiguity::Queen), Some(Permutations::default())).unwrap();
/// let hottest = (0..100).max_by(|&a, &b| gi.z[a].total_cmp(&gi.z[b])).unwrap();
/// assert!(gi.z[hottest] > 3.0);
/// assert!(gi.p_sim.unwrap()[55] < 0.05);
/// ```
pub fn getis_ord_gi_star(y: &[f64], w: &Weights, permutations: Option<Permutations>) -> Result<GiStar, AnalysisError> {
    check(y, w)?;
    let n = y.len();
    let nf = n as f64;
    let total: f64 = y.iter().sum();
    let mean = total / nf;
    let s = ((y.iter().map(|v| v * v).sum::<f64>() / nf) - mean * mean).max(0.0).sqrt();
    let lag = neighbour_sums(y, w);
    let mut g = Vec::with_capacity(n);
    let mut z = Vec::with_capacity(n);
    for i in 0..n {
        let star_sum = lag[i] + y[i];
        let wi = (w.cardinality(i) + 1) as f64; // W_i* = S1_i* for binary weights
        g.push(if total != 0.0 { star_sum / total } else { f64::NAN });
        let denom = s * ((nf * wi - wi * wi) / (nf - 1.0)).sqrt();
        z.push(if denom > 0.0 { (star_sum - mean * wi) / denom } else { f64::NAN });
    }
    let p_norm = z.iter().map(|z| normal::sf(z.abs())).collect();
    let p_sim = permutations.map(|p| conditional_p(y, w, &lag, &vec![1.0; n], p));
    Ok(GiStar { g, z, p_norm, p_sim })
}

/// Local Moran's I with row-standardised weights.
///
/// Units without neighbours get I = 0 and no quadrant significance
/// (p = 1 when permutations are run), as esda does for islands.
pub fn local_moran(y: &[f64], w: &Weights, permutations: Option<Permutations>) -> Result<LocalMoran, AnalysisError> {
    check(y, w)?;
    let n = y.len();
    let mean = y.iter().sum::<f64>() / n as f64;
    let zs: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let den: f64 = zs.iter().map(|v| v * v).sum();
    let sums = neighbour_sums(&zs, w);
    let lag: Vec<f64> = (0..n).map(|i| if w.cardinality(i) > 0 { sums[i] / w.cardinality(i) as f64 } else { 0.0 }).collect();
    let scale = if den > 0.0 { (n as f64 - 1.0) / den } else { 0.0 };
    let i_values: Vec<f64> = (0..n).map(|i| scale * zs[i] * lag[i]).collect();
    let quadrant = (0..n)
        .map(|i| match (zs[i] > 0.0, lag[i] > 0.0) {
            (true, true) => Quadrant::HighHigh,
            (false, true) => Quadrant::LowHigh,
            (false, false) => Quadrant::LowLow,
            (true, false) => Quadrant::HighLow,
        })
        .collect();
    let p_sim = permutations.map(|p| {
        // For fixed z_i, I_i = c · z_i · (Σ y_j − k ȳ) is monotone in the neighbours' raw sum,
        // increasing when z_i > 0 and decreasing when z_i < 0: compare raw sums, exactly.
        let raw = neighbour_sums(y, w);
        let direction: Vec<f64> = zs
            .iter()
            .map(|&z| {
                if z > 0.0 {
                    1.0
                } else if z < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            })
            .collect();
        conditional_p(y, w, &raw, &direction, p)
    });
    Ok(LocalMoran { i: i_values, quadrant, p_sim })
}

/// Conditional-randomisation pseudo p-values.
///
/// For unit `i` the null draws `k_i` values without replacement from all
/// values but `y_i`; their sum `S` is compared with the observed neighbour
/// sum in the statistic's `direction[i]` (+1: the statistic grows with the
/// sum, −1: it shrinks, 0: it is constant, so every draw ties). Sums of
/// integer counts are exact in floating point, so ties are exact too and
/// count as "at least as large", as in esda. p = (min(L, P − L) + 1) / (P + 1)
/// with L the number of draws at least as large as the observation.
fn conditional_p(y: &[f64], w: &Weights, observed: &[f64], direction: &[f64], p: Permutations) -> Vec<f64> {
    let n = y.len();
    let perms = p.count.max(1) as usize;
    // Group units by (k, y_i): they share a null distribution of neighbour sums.
    let mut groups: HashMap<(usize, u64), usize> = HashMap::new();
    let mut reps: Vec<(usize, usize)> = Vec::new(); // (k, representative unit)
    let mut group_of = vec![0usize; n];
    for i in 0..n {
        let k = w.cardinality(i);
        let g = *groups.entry((k, y[i].to_bits())).or_insert_with(|| {
            reps.push((k, i));
            reps.len() - 1
        });
        group_of[i] = g;
    }
    // One table of draws shared by every unit, as esda: row r holds k_max distinct
    // positions among the n − 1 "other" units; unit i maps position j to unit j (j < i)
    // or j + 1 (j ≥ i). Each unit's draws are uniform without replacement.
    let k_max = reps.iter().map(|&(k, _)| k).max().unwrap_or(0).min(n.saturating_sub(1));
    let mut rng = Rng::seed(p.seed);
    let mut draws: Vec<u32> = Vec::with_capacity(perms * k_max);
    let mut row: Vec<u32> = Vec::with_capacity(k_max);
    let mut deck: Vec<u32> = Vec::new();
    for _ in 0..perms {
        row.clear();
        if 2 * k_max > n - 1 {
            // Dense: partial Fisher–Yates over all n − 1 positions.
            deck.clear();
            deck.extend(0..(n - 1) as u32);
            for c in 0..k_max {
                let j = c + rng.below((n - 1 - c) as u64) as usize;
                deck.swap(c, j);
                row.push(deck[c]);
            }
        } else {
            while row.len() < k_max {
                let j = rng.below((n - 1) as u64) as u32;
                if !row.contains(&j) {
                    row.push(j);
                }
            }
        }
        draws.extend_from_slice(&row);
    }
    // The values each draw can stand for, gathered once: position j is unit j for units
    // after it and unit j + 1 for units before it. Every unit then reads these small
    // tables in order instead of gathering from all of `y` at random (a million units ×
    // 999 permutations × k neighbours would be billions of cache misses).
    let below: Vec<f64> = draws.iter().map(|&j| y[j as usize]).collect();
    let above: Vec<f64> = draws.iter().map(|&j| y[(j as usize + 1).min(n - 1)]).collect();
    let simulated = |r: usize, k: usize, rep: usize| -> f64 {
        (r * k_max..r * k_max + k).map(|t| if (draws[t] as usize) < rep { below[t] } else { above[t] }).sum()
    };
    // Members of each group; the simulated neighbour sums of a group are shared.
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); reps.len()];
    for i in 0..n {
        members[group_of[i]].push(i);
    }
    let counted: Vec<Vec<(usize, f64)>> = reps
        .par_iter()
        .zip(members.par_iter())
        .map(|(&(k, rep), units)| {
            if k == 0 {
                return units.iter().map(|&i| (i, 1.0)).collect();
            }
            if let [i] = units[..] {
                // A unit alone in its group (continuous values): count as the sums come, keep none.
                let obs = observed[i];
                let larger = match (direction[i] > 0.0, direction[i] < 0.0) {
                    (true, _) => (0..perms).filter(|&r| simulated(r, k, rep) >= obs).count(),
                    (_, true) => (0..perms).filter(|&r| simulated(r, k, rep) <= obs).count(),
                    _ => perms,
                };
                return vec![(i, (larger.min(perms - larger) + 1) as f64 / (perms + 1) as f64)];
            }
            let mut sims: Vec<f64> = (0..perms).map(|r| simulated(r, k, rep)).collect();
            let larger_than = |sims: &[f64], sorted: bool, i: usize| -> usize {
                let obs = observed[i];
                match (direction[i] > 0.0, direction[i] < 0.0, sorted) {
                    (true, _, true) => perms - sims.partition_point(|&s| s < obs),
                    (_, true, true) => sims.partition_point(|&s| s <= obs),
                    (true, _, false) => sims.iter().filter(|&&s| s >= obs).count(),
                    (_, true, false) => sims.iter().filter(|&&s| s <= obs).count(),
                    _ => perms,
                }
            };
            let sorted = units.len() > 8;
            if sorted {
                sims.sort_by(f64::total_cmp);
            }
            units
                .iter()
                .map(|&i| {
                    let larger = larger_than(&sims, sorted, i);
                    (i, (larger.min(perms - larger) + 1) as f64 / (perms + 1) as f64)
                })
                .collect()
        })
        .collect();
    let mut p_values = vec![1.0; n];
    for (i, v) in counted.into_iter().flatten() {
        p_values[i] = v;
    }
    p_values
}

/// Global Moran's I with row-standardised weights (units without
/// neighbours contribute nothing).
pub fn global_moran(y: &[f64], w: &Weights) -> Result<GlobalMoran, AnalysisError> {
    check(y, w)?;
    let n = y.len();
    let nf = n as f64;
    let mean = y.iter().sum::<f64>() / nf;
    let z: Vec<f64> = y.iter().map(|v| v - mean).collect();
    let m2: f64 = z.iter().map(|v| v * v).sum();
    // Row-standardised weights w_ij = 1 / k_i.
    let mut s0 = 0.0;
    let mut num = 0.0;
    let mut s1 = 0.0;
    let mut col_sums = vec![0.0; n];
    let mut row_sums = vec![0.0; n];
    for i in 0..n {
        let k = w.cardinality(i);
        if k == 0 {
            continue;
        }
        let wij = 1.0 / k as f64;
        for &j in w.neighbours(i) {
            let j = j as usize;
            s0 += wij;
            num += wij * z[i] * z[j];
            col_sums[j] += wij;
            row_sums[i] += wij;
            // (w_ij + w_ji)²: add w_ij² twice plus the cross term once per ordered pair.
            let wji = if w.neighbours(j).binary_search(&(i as u32)).is_ok() { 1.0 / w.cardinality(j) as f64 } else { 0.0 };
            s1 += (wij + wji).powi(2);
        }
    }
    // Pairs (i, j) with w_ij = 0 but w_ji > 0 were not visited from i.
    for i in 0..n {
        for &j in w.neighbours(i) {
            let j = j as usize;
            if w.neighbours(j).binary_search(&(i as u32)).is_err() {
                s1 += (1.0 / w.cardinality(i) as f64).powi(2);
            }
        }
    }
    s1 /= 2.0;
    let s2: f64 = (0..n).map(|i| (row_sums[i] + col_sums[i]).powi(2)).sum();
    let i_stat = nf / s0 * num / m2;
    let ei = -1.0 / (nf - 1.0);
    let s02 = s0 * s0;
    let v_norm = (nf * nf * s1 - nf * s2 + 3.0 * s02) / ((nf * nf - 1.0) * s02) - ei * ei;
    let k = (z.iter().map(|v| v.powi(4)).sum::<f64>() / nf) / (m2 / nf).powi(2);
    let a = nf * ((nf * nf - 3.0 * nf + 3.0) * s1 - nf * s2 + 3.0 * s02);
    let b = k * ((nf * nf - nf) * s1 - 2.0 * nf * s2 + 6.0 * s02);
    let c = (nf - 1.0) * (nf - 2.0) * (nf - 3.0) * s02;
    let v_rand = (a - b) / c - ei * ei;
    let z_norm = (i_stat - ei) / v_norm.sqrt();
    let z_rand = (i_stat - ei) / v_rand.sqrt();
    Ok(GlobalMoran {
        i: i_stat,
        expected: ei,
        variance_normal: v_norm,
        z_normal: z_norm,
        p_normal: 2.0 * normal::sf(z_norm.abs()),
        variance_random: v_rand,
        z_random: z_rand,
        p_random: 2.0 * normal::sf(z_rand.abs()),
    })
}

/// Benjamini–Hochberg adjusted p-values (q-values): a unit is significant at
/// false discovery rate α when its q ≤ α (Benjamini & Hochberg 1995).
/// O(n log n). NaN p-values are treated as 1.
///
/// ```
/// let q = qalqan_analysis::local::benjamini_hochberg(&[0.01, 0.04, 0.03, 0.5]);
/// let expected = [0.04, 0.04 * 4.0 / 3.0, 0.04 * 4.0 / 3.0, 0.5];
/// assert!(q.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12), "{q:?}");
/// ```
pub fn benjamini_hochberg(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let clean = |v: f64| if v.is_nan() { 1.0 } else { v.clamp(0.0, 1.0) };
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&a, &b| clean(p[a]).total_cmp(&clean(p[b])));
    let mut q = vec![1.0; m];
    let mut running = 1.0f64;
    for (rank, &i) in order.iter().enumerate().rev() {
        let adjusted = clean(p[i]) * m as f64 / (rank + 1) as f64;
        running = running.min(adjusted);
        q[i] = running.min(1.0);
    }
    q
}
