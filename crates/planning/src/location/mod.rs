//! Facility location: which `p` candidate sites (cameras, posts, patrol bases) to open so that
//! weighted demand (incidents) is best served, with a proof of how good the answer is.
//!
//! Three models on a demand × candidate-site cost (travel time or metres):
//!
//! | Function | Model | Objective | Follows |
//! |---|---|---|---|
//! | [`maximal_covering`] | MCLP | maximise the demand weight within the service standard S of an open site | Church & ReVelle 1974 |
//! | [`p_median`] | p-median | minimise Σ weight × cost to the nearest open site | Hakimi 1964; ReVelle & Swain 1970 |
//! | [`p_center`] | p-center | minimise the largest cost from a demand to its nearest open site | Hakimi 1965; Minieka 1970; Daskin 2000 |
//!
//! The input is an [`Instance`] (demand weights and a dense [`CostMatrix`]) or, for MCLP on large
//! instances, a sparse [`Coverage`] (for each demand, the sites within the service standard). Sites
//! that are already open (existing cameras, posts) are *fixed*: open in every solution, and not
//! counted in `p`. Every solver returns a [`Placement`]: the chosen sites, the objective, a
//! **bound** on the optimum and the **gap** between them, so that a heuristic answer can say
//! "within x % of optimal", and an exact one says it is optimal.
//!
//! # Methods
//!
//! [`Method::Heuristic`] builds a solution greedily and improves it by vertex substitution (Teitz &
//! Bart 1968) with the fast interchange bookkeeping of Whitaker 1983 and Resende & Werneck 2004 (the
//! best swap found in O(m · p) from gain, loss and "extra" tables updated only for the demands the
//! swap touches), then a few seeded perturbation rounds (iterated local search). Its bound comes
//! from Lagrangian relaxation with subgradient optimisation (Held, Wolfe & Crowder 1974; step sizes
//! after Beasley 1993):
//!
//! - MCLP (Galvão & ReVelle 1996): relax "demand i is covered only if an open site covers it" with
//!   multipliers λᵢ ∈ [0, wᵢ]; the bound is Σᵢ (wᵢ − λᵢ) + the p largest site scores Σ_{i covered by
//!   j} λᵢ. Sites' scores are updated incrementally, only for the demands whose multiplier moved.
//! - p-median (Cornuéjols, Fisher & Nemhauser 1977; Beasley 1993): relax "each demand is assigned
//!   once" with multipliers uᵢ; the bound is Σᵢ uᵢ + the p smallest site scores Σᵢ min(0, wᵢcᵢⱼ − uᵢ).
//!
//! Both bounds equal the linear-programming relaxation at best, and the relaxed solutions are
//! themselves evaluated as candidate solutions (a Lagrangian heuristic).
//!
//! [`Method::Exact`] adds a depth-first branch-and-bound on the same Lagrangian bound: each node
//! re-optimises the multipliers from its parent's, fixes sites by their Lagrangian reduced costs
//! (a site whose opening, or closing, alone pushes the bound past the incumbent is settled), branches
//! on the most attractive undecided site, and enumerates the last few combinations outright. When
//! all weights (and, for p-median, all costs) are whole numbers the objective is too, and a node is
//! pruned as soon as its bound shows it cannot improve by 1. p-center is solved as a sequence of
//! set-cover feasibility problems over the sorted distinct costs (Minieka 1970; Daskin 2000),
//! bisected, each decided by a depth-first search that branches on the demand with the fewest
//! covering sites and prunes with a packing bound (demands no two of which share a covering site
//! each need their own site).
//!
//! A pure-Rust MIP solver (`good_lp` with `microlp`) was measured on the same formulations and was
//! orders of magnitude slower than these specialised methods; see `BENCHMARKS.md`.
//!
//! # Bound and gap
//!
//! `bound` is an upper bound on the optimum for MCLP and a lower bound for p-median and p-center;
//! `gap = |objective − bound| / |objective|` (the convention of MIP solvers; 0 when both are 0), so
//! the optimum differs from the objective by at most `gap × objective`. An exact run that finishes
//! reports [`Status::Optimal`], `bound == objective` and `gap == 0`: proved to a relative tolerance
//! of 10⁻⁹ (exactly, when the objective is whole-numbered). A heuristic run, or an exact run stopped
//! by its time limit, reports [`Status::Feasible`] and the gap it could prove.
//!
//! # Complexity
//!
//! n demands, m candidate sites, p to open, nnz the (demand, covering site) pairs of a [`Coverage`]:
//! - MCLP: greedy O(nnz + p · m); one swap O(m · p + Σ over the demands the swap touches of their
//!   covering sites); one subgradient iteration O(n + Σ of the open sites' demands + Σ of the
//!   moved demands' sites) — at most O(nnz). Memory O(nnz + m · p).
//! - p-median: greedy O(p · n · m); one interchange pass O(n · m); one subgradient iteration
//!   O(n · m) at worst, usually far less (each demand's sites are visited in order of cost, only
//!   while cheaper than its multiplier). Memory O(n · m).
//! - p-center: O(n · m log(n · m)) to sort the costs, then O(log(n · m)) feasibility problems, each
//!   exponential in p at worst (the exact method; bounded by the time limit), and O(n · m) for the
//!   heuristic's greedy covers and packing bounds.
//!
//! Exact branch-and-bound is exponential at worst: set [`LocationParams::time_limit`]; a stopped
//! search still returns its best solution and a valid bound.
//!
//! # Example
//!
//! ```
//! use qalqan_planning::location::{CostMatrix, Instance, LocationParams, Method, Status, maximal_covering, p_center, p_median};
//!
//! // Four demand points on a line at 0, 1, 2 and 10 km; candidate sites at 0.5, 1.5 and 9.5 km.
//! let demand = [0.0, 1.0, 2.0, 10.0];
//! let sites = [0.5, 1.5, 9.5];
//! let costs = CostMatrix::from_fn(4, 3, |i, j| f64::abs(demand[i] - sites[j])).unwrap();
//! let instance = Instance::new(vec![3.0, 1.0, 1.0, 2.0], costs).unwrap();
//! let params = LocationParams { p: 2, method: Method::Exact, ..LocationParams::default() };
//!
//! // Within 0.6 km, two sites can cover the 3 + 1 at 0 and 1 km and the 2 at 10 km.
//! let mclp = maximal_covering(&instance.coverage(0.6).unwrap(), &params).unwrap();
//! assert_eq!((mclp.chosen.as_slice(), mclp.objective, mclp.status), ([0, 2].as_slice(), 6.0, Status::Optimal));
//!
//! let median = p_median(&instance, &params).unwrap();
//! assert_eq!(median.chosen, vec![0, 2]); // 3·0.5 + 1·0.5 + 1·1.5 + 2·0.5
//! assert!((median.objective - 4.5).abs() < 1e-9 && median.gap == 0.0);
//!
//! // Nobody need be farther than 1.5 km from a site (either 0.5 or 1.5 km, with 9.5 km).
//! let center = p_center(&instance, &params).unwrap();
//! assert_eq!((center.objective, center.bound), (1.5, 1.5));
//! assert_eq!(center.assignment[3], Some(2));
//! ```

use std::collections::HashSet;
use std::time::Duration;

use crate::PlanningError;

mod center;
mod mclp;
mod median;
mod search;

pub use center::p_center;
pub use mclp::maximal_covering;
pub use median::p_median;

/// Costs (travel times, metres …) from every demand point to every candidate site, row-major:
/// the cost of demand `i` to site `j` is `costs[i * sites + j]`.
///
/// Costs must be finite and ≥ 0. To mark a pair as unreachable, give it a cost larger than any
/// service standard you will use (MCLP never counts it) — p-median and p-center then pay that cost
/// if nothing better is open.
///
/// ```
/// use qalqan_planning::location::CostMatrix;
/// let c = CostMatrix::new(2, 3, vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
/// assert_eq!(c.cost(1, 0), 4.0);
/// assert!(CostMatrix::new(2, 3, vec![1.0; 5]).is_err());
/// assert!(CostMatrix::new(1, 1, vec![f64::NAN]).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct CostMatrix {
    demands: usize,
    sites: usize,
    costs: Vec<f64>,
}

impl CostMatrix {
    /// A `demands × sites` matrix from its row-major values.
    pub fn new(demands: usize, sites: usize, costs: Vec<f64>) -> Result<Self, PlanningError> {
        let expected = demands
            .checked_mul(sites)
            .ok_or_else(|| PlanningError::InvalidParameter { name: "cost matrix", reason: format!("{demands} × {sites} is too large") })?;
        if costs.len() != expected {
            return Err(PlanningError::LengthMismatch { what: "costs (demands × sites)", expected, got: costs.len() });
        }
        if costs.iter().any(|c| !c.is_finite()) {
            return Err(PlanningError::NotFinite { what: "every cost" });
        }
        if costs.iter().any(|&c| c < 0.0) {
            return Err(PlanningError::InvalidParameter { name: "costs", reason: "must be ≥ 0".to_owned() });
        }
        Ok(Self { demands, sites, costs })
    }

    /// A matrix whose entry `(i, j)` is `cost(i, j)`.
    pub fn from_fn(demands: usize, sites: usize, mut cost: impl FnMut(usize, usize) -> f64) -> Result<Self, PlanningError> {
        let mut costs = Vec::with_capacity(demands.saturating_mul(sites));
        for i in 0..demands {
            costs.extend((0..sites).map(|j| cost(i, j)));
        }
        Self::new(demands, sites, costs)
    }

    /// Number of demand points (rows).
    pub fn demands(&self) -> usize {
        self.demands
    }

    /// Number of candidate sites (columns).
    pub fn sites(&self) -> usize {
        self.sites
    }

    /// The cost from `demand` to `site`. Panics when either is out of range.
    pub fn cost(&self, demand: usize, site: usize) -> f64 {
        assert!(site < self.sites, "site {site} out of range");
        self.costs[demand * self.sites + site]
    }

    /// The costs from `demand` to every site. Panics when `demand` is out of range.
    pub fn row(&self, demand: usize) -> &[f64] {
        &self.costs[demand * self.sites..(demand + 1) * self.sites]
    }

    /// All values, row-major.
    pub fn values(&self) -> &[f64] {
        &self.costs
    }
}

/// A facility-location instance on a dense cost matrix: demand weights, costs, and the sites
/// that are already open.
///
/// Weights must be finite and ≥ 0; a demand of weight 0 is no demand (it is assigned, but never
/// counted by any objective, p-center included).
///
/// ```
/// use qalqan_planning::location::{CostMatrix, Instance};
/// let costs = CostMatrix::new(2, 2, vec![0.0, 5.0, 5.0, 0.0]).unwrap();
/// let instance = Instance::new(vec![1.0, 2.0], costs.clone()).unwrap().with_fixed(&[1]).unwrap();
/// assert_eq!(instance.fixed(), &[1]);
/// assert!(Instance::new(vec![1.0], costs.clone()).is_err()); // one weight for two demands
/// assert!(Instance::new(vec![1.0, -2.0], costs).is_err());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Instance {
    weights: Vec<f64>,
    costs: CostMatrix,
    fixed: Vec<usize>,
}

impl Instance {
    /// An instance with one weight per row of `costs` and no fixed sites.
    pub fn new(weights: Vec<f64>, costs: CostMatrix) -> Result<Self, PlanningError> {
        validate_weights(&weights, costs.demands)?;
        Ok(Self { weights, costs, fixed: Vec::new() })
    }

    /// The same instance with `fixed` sites already open (duplicates ignored).
    pub fn with_fixed(mut self, fixed: &[usize]) -> Result<Self, PlanningError> {
        self.fixed = validate_fixed(fixed, self.costs.sites)?;
        Ok(self)
    }

    /// Demand weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// The cost matrix.
    pub fn costs(&self) -> &CostMatrix {
        &self.costs
    }

    /// Sites open in every solution, ascending.
    pub fn fixed(&self) -> &[usize] {
        &self.fixed
    }

    /// Number of demand points.
    pub fn demands(&self) -> usize {
        self.costs.demands
    }

    /// Number of candidate sites (fixed ones included).
    pub fn sites(&self) -> usize {
        self.costs.sites
    }

    /// The coverage of this instance at `service_standard`: demand `i` is covered by site `j` when
    /// `cost(i, j) ≤ service_standard` (as spopt's MCLP). Weights and fixed sites carry over.
    pub fn coverage(&self, service_standard: f64) -> Result<Coverage, PlanningError> {
        if service_standard.is_nan() || service_standard < 0.0 {
            return Err(PlanningError::InvalidParameter { name: "service standard", reason: format!("{service_standard} must be ≥ 0") });
        }
        let lists =
            (0..self.demands()).map(|i| self.costs.row(i).iter().enumerate().filter(move |(_, c)| **c <= service_standard).map(|(j, _)| j));
        Coverage::new(self.weights.clone(), self.sites(), lists)?.with_fixed(&self.fixed)
    }
}

/// A sparse maximal-covering instance: for each demand, the candidate sites that cover it (those
/// within the service standard), plus the demand weights and the sites already open.
///
/// The form to use for large instances: memory and time grow with the number of (demand, covering
/// site) pairs, not with demands × sites. Build it from lists, or from a dense instance with
/// [`Instance::coverage`].
///
/// ```
/// use qalqan_planning::location::Coverage;
/// let cover = Coverage::new(vec![2.0, 1.0, 4.0], 3, vec![vec![0, 1], vec![1], vec![]]).unwrap();
/// assert_eq!(cover.covering(0), &[0, 1]);
/// assert_eq!(cover.pairs(), 3);
/// assert!(Coverage::new(vec![1.0], 2, vec![vec![2]]).is_err()); // there is no site 2
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Coverage {
    weights: Vec<f64>,
    sites: usize,
    offsets: Vec<usize>,
    covering: Vec<u32>,
    fixed: Vec<usize>,
}

impl Coverage {
    /// A coverage from one list of covering sites per demand (any order; duplicates ignored).
    pub fn new<L, I>(weights: Vec<f64>, sites: usize, lists: L) -> Result<Self, PlanningError>
    where
        L: IntoIterator<Item = I>,
        I: IntoIterator<Item = usize>,
    {
        if u32::try_from(sites).is_err() {
            return Err(PlanningError::InvalidParameter { name: "sites", reason: format!("{sites} exceeds {}", u32::MAX) });
        }
        let mut offsets = Vec::with_capacity(weights.len() + 1);
        offsets.push(0);
        let mut covering: Vec<u32> = Vec::new();
        for list in lists {
            let start = covering.len();
            for j in list {
                if j >= sites {
                    return Err(PlanningError::SiteOutOfRange { what: "covering site", index: j, sites });
                }
                covering.push(j as u32);
            }
            covering[start..].sort_unstable();
            let mut kept = start;
            for r in start..covering.len() {
                if r == start || covering[r] != covering[kept - 1] {
                    covering[kept] = covering[r];
                    kept += 1;
                }
            }
            covering.truncate(kept);
            offsets.push(covering.len());
        }
        validate_weights(&weights, offsets.len() - 1)?;
        Ok(Self { weights, sites, offsets, covering, fixed: Vec::new() })
    }

    /// The same coverage with `fixed` sites already open (duplicates ignored).
    pub fn with_fixed(mut self, fixed: &[usize]) -> Result<Self, PlanningError> {
        self.fixed = validate_fixed(fixed, self.sites)?;
        Ok(self)
    }

    /// Number of demand points.
    pub fn demands(&self) -> usize {
        self.weights.len()
    }

    /// Number of candidate sites (fixed ones included).
    pub fn sites(&self) -> usize {
        self.sites
    }

    /// Demand weights.
    pub fn weights(&self) -> &[f64] {
        &self.weights
    }

    /// Sites open in every solution, ascending.
    pub fn fixed(&self) -> &[usize] {
        &self.fixed
    }

    /// The sites covering `demand`, ascending. Panics when `demand` is out of range.
    pub fn covering(&self, demand: usize) -> &[u32] {
        &self.covering[self.offsets[demand]..self.offsets[demand + 1]]
    }

    /// Number of (demand, covering site) pairs.
    pub fn pairs(&self) -> usize {
        self.covering.len()
    }
}

fn validate_weights(weights: &[f64], demands: usize) -> Result<(), PlanningError> {
    if weights.len() != demands {
        return Err(PlanningError::LengthMismatch { what: "demand weights", expected: demands, got: weights.len() });
    }
    if weights.iter().any(|w| !w.is_finite()) {
        return Err(PlanningError::NotFinite { what: "every demand weight" });
    }
    if weights.iter().any(|&w| w < 0.0) {
        return Err(PlanningError::InvalidParameter { name: "demand weights", reason: "must be ≥ 0".to_owned() });
    }
    Ok(())
}

fn validate_fixed(fixed: &[usize], sites: usize) -> Result<Vec<usize>, PlanningError> {
    if let Some(&j) = fixed.iter().find(|&&j| j >= sites) {
        return Err(PlanningError::SiteOutOfRange { what: "fixed site", index: j, sites });
    }
    let mut fixed = fixed.to_vec();
    fixed.sort_unstable();
    fixed.dedup();
    Ok(fixed)
}

/// How hard to search.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Method {
    /// Prove optimality (branch-and-bound on the Lagrangian bound; for p-center, exact set-cover
    /// decisions), or stop at the time limit with the best solution and a valid bound. Default.
    #[default]
    Exact,
    /// Greedy + fast interchange + seeded perturbation rounds, with the Lagrangian (p-center: packing)
    /// bound: for instances too large to prove, with a gap that says how close the answer is.
    Heuristic,
}

/// Parameters of [`maximal_covering`], [`p_median`] and [`p_center`].
#[derive(Debug, Clone, PartialEq)]
pub struct LocationParams {
    /// Sites to open besides the fixed ones. Default 1. Must not exceed the number of candidate
    /// sites that are not fixed; with no fixed site, p-median and p-center need p ≥ 1.
    pub p: usize,
    /// Default [`Method::Exact`].
    pub method: Method,
    /// Wall-clock budget of the exact search (the heuristic's perturbation rounds and bound
    /// optimisation also stop at it; only then can a result depend on the machine). Default 60 s.
    pub time_limit: Duration,
    /// Rounds of iterated local search after greedy + interchange: each round replaces some
    /// chosen sites at random (MCLP: a neighbourhood of up to a fifth of them; p-median: a fifth,
    /// anywhere) and runs the interchange again. Default 1,000.
    pub perturbations: usize,
    /// Seed of the perturbations. Default 1.
    pub seed: u64,
}

impl Default for LocationParams {
    fn default() -> Self {
        Self { p: 1, method: Method::Exact, time_limit: Duration::from_secs(60), perturbations: 1_000, seed: 1 }
    }
}

/// What is known about a [`Placement`]'s optimality.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Proved optimal: `bound == objective`, `gap == 0`.
    Optimal,
    /// The best solution found (heuristic, or an exact search stopped by its time limit); the
    /// optimum lies between `objective` and `bound`.
    Feasible,
}

/// The sites chosen by a facility-location solver, with their objective and how close to optimal
/// they are proved to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Placement {
    /// The newly opened sites (`p` of them), ascending.
    pub chosen: Vec<usize>,
    /// All open sites: the fixed ones and the chosen ones, ascending.
    pub open: Vec<usize>,
    /// MCLP: the covered weight (fixed sites' coverage included); p-median: Σ weight × cost to the
    /// nearest open site; p-center: the largest cost from a demand of positive weight to its
    /// nearest open site.
    pub objective: f64,
    /// A bound on the optimal objective: upper for MCLP, lower for p-median and p-center.
    pub bound: f64,
    /// `|objective − bound| / |objective|` (0 when both are 0, infinite when only the objective
    /// is): the optimum is within `gap × objective` of the objective.
    pub gap: f64,
    /// Proved optimal, or not.
    pub status: Status,
    /// For each demand: MCLP, an open site covering it (the lowest-numbered), or `None`; p-median
    /// and p-center, its nearest open site (the lowest-numbered among ties).
    pub assignment: Vec<Option<usize>>,
    /// Branch-and-bound nodes (p-center: nodes of the set-cover searches).
    pub nodes: u64,
    /// Subgradient iterations (p-center: feasibility problems decided).
    pub iterations: u64,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// `|objective − bound| / |objective|`, 0 when they are equal (both 0 included).
pub(crate) fn relative_gap(objective: f64, bound: f64) -> f64 {
    let diff = (objective - bound).abs();
    if diff == 0.0 { 0.0 } else { diff / objective.abs() }
}

/// Checks `p` against the sites that are not fixed and returns the number of those.
fn check_p(p: usize, sites: usize, fixed: &[usize]) -> Result<usize, PlanningError> {
    let candidates = sites - fixed.len();
    if p > candidates {
        return Err(PlanningError::InvalidParameter {
            name: "p",
            reason: format!("{p} is more than the {candidates} candidate sites that are not already open"),
        });
    }
    Ok(candidates)
}

/// The sets of chosen and open sites, both ascending.
fn chosen_and_open(chosen: impl IntoIterator<Item = usize>, fixed: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mut chosen: Vec<usize> = chosen.into_iter().collect();
    chosen.sort_unstable();
    let mut open: Vec<usize> = chosen.iter().chain(fixed).copied().collect::<HashSet<_>>().into_iter().collect();
    open.sort_unstable();
    (chosen, open)
}

/// Compressed rows of site (or demand) indices.
#[derive(Debug, Clone, Default)]
pub(crate) struct Csr {
    offsets: Vec<usize>,
    items: Vec<u32>,
}

impl Csr {
    pub(crate) fn from_rows(rows: impl IntoIterator<Item = impl IntoIterator<Item = u32>>) -> Self {
        let mut offsets = vec![0];
        let mut items = Vec::new();
        for row in rows {
            items.extend(row);
            offsets.push(items.len());
        }
        Self { offsets, items }
    }

    /// The transpose, with `columns` rows; each row ascending.
    pub(crate) fn transpose(&self, columns: usize) -> Self {
        let mut counts = vec![0usize; columns + 1];
        for &j in &self.items {
            counts[j as usize + 1] += 1;
        }
        for c in 1..counts.len() {
            counts[c] += counts[c - 1];
        }
        let offsets = counts.clone();
        let mut next = counts;
        let mut items = vec![0u32; self.items.len()];
        for r in 0..self.rows() {
            for &j in self.row(r) {
                items[next[j as usize]] = r as u32;
                next[j as usize] += 1;
            }
        }
        Self { offsets, items }
    }

    pub(crate) fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    pub(crate) fn row(&self, r: usize) -> &[u32] {
        &self.items[self.offsets[r]..self.offsets[r + 1]]
    }
}

#[cfg(test)]
mod tests;
