//! The p-center problem (Hakimi 1965) by bisection over the sorted distinct costs, each step a
//! set-cover feasibility problem (Minieka 1970; Daskin 2000): "can `p` sites, with the fixed ones,
//! bring every demand within radius r?".
//!
//! The optimal radius is one of the costs, so the search runs over the sorted distinct costs not
//! below `max_i min_j c_ij` (every demand needs some site). Each radius is decided on a reduced
//! problem: demands the fixed sites already reach drop out, a demand whose covering sites include
//! all of another demand's drops out (covering the other covers it), and a site whose demands are a
//! subset of another site's drops out. The exact decision is a depth-first search: branch on the
//! uncovered demand with the fewest usable sites (one branch per site, sites already tried excluded
//! from later branches), prune when a packing — uncovered demands no two of which share a usable
//! site, found greedily — needs more sites than are left. Both methods start from a bisection with
//! greedy covers (Chvátal 1979; an upper bound) and one with the packing alone (radii it proves
//! infeasible give the first lower bound); the heuristic then bisects with decisions limited to
//! 5,000 nodes each (an undecided radius is skipped for the search, never counted as proved).

use std::time::Instant;

use super::{Instance, LocationParams, Method, Placement, Status, check_p, chosen_and_open, relative_gap};
use crate::PlanningError;
use crate::location::median::assign;

/// Chooses `params.p` sites besides the fixed ones to minimise the largest cost from a demand of
/// positive weight to its nearest open site (p-center; weights otherwise play no part).
///
/// [`Method::Exact`] bisects the sorted distinct costs with exact set-cover decisions (stopping at
/// the time limit with the radii proved so far); [`Method::Heuristic`] limits each decision to
/// 5,000 search nodes, so its bound is what the packings and the finished decisions proved. With no fixed site, `p` must be at least 1. See the
/// [module docs](super) for the cost.
///
/// ```
/// use qalqan_planning::location::{CostMatrix, Instance, LocationParams, p_center};
///
/// // Demand at 0, 1, 2, 6 and 10 km; the sites are the demand points. One site at 6 km serves
/// // 2-10 km within 4 km; with the one at 1 km, nobody is farther than 4 km.
/// let points = [0.0, 1.0, 2.0, 6.0, 10.0];
/// let costs = CostMatrix::from_fn(5, 5, |i, j| f64::abs(points[i] - points[j])).unwrap();
/// let instance = Instance::new(vec![1.0; 5], costs).unwrap();
/// let placement = p_center(&instance, &LocationParams { p: 2, ..LocationParams::default() }).unwrap();
/// assert_eq!(placement.objective, 4.0);
/// assert_eq!(placement.bound, 4.0);
/// ```
pub fn p_center(instance: &Instance, params: &LocationParams) -> Result<Placement, PlanningError> {
    let started = Instant::now();
    let deadline = started + params.time_limit;
    let candidates = check_p(params.p, instance.sites(), instance.fixed())?;
    if params.p == 0 && instance.fixed().is_empty() {
        return Err(PlanningError::InvalidParameter { name: "p", reason: "must be at least 1 when no site is fixed".to_owned() });
    }
    let k = params.p;
    let fixed = instance.fixed();
    let mut is_fixed = vec![false; instance.sites()];
    for &j in fixed {
        is_fixed[j] = true;
    }
    let free: Vec<usize> = (0..instance.sites()).filter(|&j| !is_fixed[j]).collect();
    let demands: Vec<usize> = (0..instance.demands()).filter(|&i| instance.weights()[i] > 0.0).collect();

    let mut nodes = 0;
    let mut iterations = 0;
    let (chosen_free, lower, proved): (Vec<usize>, f64, bool) = if k == 0 || k == candidates || demands.is_empty() {
        let chosen = if k == candidates { (0..free.len()).collect() } else { (0..k).collect() };
        (chosen, 0.0, true)
    } else {
        let mut problem = Radii::new(instance, &demands, &free, fixed);
        let mut search = Decider { deadline, nodes: 0, budget: u64::MAX, timed_out: false };
        let outcome = problem.solve(k, params.method, &mut search, &mut iterations);
        nodes = search.nodes;
        outcome
    };

    let (chosen, open) = chosen_and_open(chosen_free.iter().map(|&f| free[f]), fixed);
    let (assignment, objective) = assign(instance, &open, |_, c| c, f64::max);
    let bound = if proved { objective } else { lower.min(objective) };
    let status = if proved || bound == objective { Status::Optimal } else { Status::Feasible };
    Ok(Placement {
        chosen,
        open,
        objective,
        bound,
        gap: relative_gap(objective, bound),
        status,
        assignment,
        nodes,
        iterations,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The instance seen by the bisection: demands of positive weight and the free (not fixed) sites.
struct Radii<'a> {
    instance: &'a Instance,
    demands: &'a [usize],
    free: &'a [usize],
    /// Each demand's cost to its nearest fixed site (∞ without fixed sites).
    fixed_cost: Vec<f64>,
    /// The candidate radii, ascending.
    radii: Vec<f64>,
}

/// The outcome of a feasibility decision.
enum Decision {
    /// These free sites (indices into `free`) reach every demand.
    Feasible(Vec<usize>),
    Infeasible,
    /// Stopped by the time limit.
    Unknown,
}

impl<'a> Radii<'a> {
    fn new(instance: &'a Instance, demands: &'a [usize], free: &'a [usize], fixed: &[usize]) -> Self {
        let fixed_cost: Vec<f64> =
            demands.iter().map(|&i| fixed.iter().map(|&j| instance.costs().row(i)[j]).fold(f64::INFINITY, f64::min)).collect();
        // Every demand needs a site: the radius is at least the largest nearest-site cost.
        let lowest = demands
            .iter()
            .zip(&fixed_cost)
            .map(|(&i, &fc)| free.iter().map(|&j| instance.costs().row(i)[j]).fold(fc, f64::min))
            .fold(0.0, f64::max);
        let mut radii: Vec<f64> = demands
            .iter()
            .flat_map(|&i| {
                let row = instance.costs().row(i);
                free.iter().map(move |&j| row[j])
            })
            .chain(fixed_cost.iter().copied().filter(|c| c.is_finite()))
            .filter(|&c| c >= lowest)
            .collect();
        radii.sort_unstable_by(f64::total_cmp);
        radii.dedup();
        Self { instance, demands, free, fixed_cost, radii }
    }

    /// The largest cost from a demand to its nearest site of `chosen` (free indices) or a fixed site.
    fn radius_of(&self, chosen: &[usize]) -> f64 {
        self.demands
            .iter()
            .zip(&self.fixed_cost)
            .map(|(&i, &fc)| {
                let row = self.instance.costs().row(i);
                chosen.iter().map(|&f| row[self.free[f]]).fold(fc, f64::min)
            })
            .fold(0.0, f64::max)
    }

    /// The index of `radius` among the candidate radii (the first not below it).
    fn index_of(&self, radius: f64) -> usize {
        self.radii.partition_point(|&r| r < radius).min(self.radii.len() - 1)
    }

    /// Completes `chosen` to `k` sites, each time with the site nearest to the farthest demand.
    fn complete(&self, chosen: &mut Vec<usize>, k: usize) {
        let mut used = vec![false; self.free.len()];
        for &f in chosen.iter() {
            used[f] = true;
        }
        let mut nearest: Vec<f64> = self
            .demands
            .iter()
            .zip(&self.fixed_cost)
            .map(|(&i, &fc)| chosen.iter().map(|&f| self.instance.costs().row(i)[self.free[f]]).fold(fc, f64::min))
            .collect();
        while chosen.len() < k {
            let far = (0..self.demands.len()).max_by(|a, b| nearest[*a].total_cmp(&nearest[*b])).unwrap_or(0);
            let row = self.instance.costs().row(self.demands.get(far).copied().unwrap_or(0));
            let Some(f) = (0..self.free.len()).filter(|&f| !used[f]).min_by(|a, b| row[self.free[*a]].total_cmp(&row[self.free[*b]]))
            else {
                break;
            };
            used[f] = true;
            chosen.push(f);
            for (r, &i) in self.demands.iter().enumerate() {
                nearest[r] = nearest[r].min(self.instance.costs().row(i)[self.free[f]]);
            }
        }
    }

    /// Bisection; returns the chosen free sites, a lower bound on the optimal radius and whether
    /// it is proved optimal.
    fn solve(&mut self, k: usize, method: Method, decider: &mut Decider, iterations: &mut u64) -> (Vec<usize>, f64, bool) {
        // Upper bound: the smallest radius the greedy cover manages with k sites.
        let (mut lo, mut hi) = (0, self.radii.len() - 1);
        let mut best = {
            let cover = Cover::new(self, self.radii[hi], false);
            let mut chosen = cover.greedy().unwrap_or_default();
            self.complete(&mut chosen, k);
            chosen
        };
        let mut best_radius = self.radius_of(&best);
        hi = self.index_of(best_radius);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            *iterations += 1;
            let cover = Cover::new(self, self.radii[mid], false);
            match cover.greedy() {
                Some(mut chosen) if chosen.len() <= k => {
                    self.complete(&mut chosen, k);
                    let radius = self.radius_of(&chosen);
                    if radius < best_radius {
                        best_radius = radius;
                        best = chosen;
                    }
                    hi = self.index_of(best_radius).min(mid);
                }
                _ => lo = mid + 1,
            }
        }
        hi = self.index_of(best_radius);
        // Lower bound: the radii a packing proves infeasible.
        let mut proved = 0;
        let mut top = hi;
        while proved < top {
            let mid = proved + (top - proved) / 2;
            *iterations += 1;
            if Cover::new(self, self.radii[mid], false).packing_exceeds(k) {
                proved = mid + 1;
            } else {
                top = mid;
            }
        }
        // Bisection with the depth-first decisions: unlimited (exact, up to the time limit) or
        // with a node budget per decision (heuristic: an undecided radius counts as infeasible for
        // the search, but not for the bound).
        let budget = if method == Method::Exact { u64::MAX } else { HEURISTIC_NODES };
        let mut lo = proved;
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            *iterations += 1;
            let cover = Cover::new(self, self.radii[mid], true);
            decider.budget = decider.nodes.saturating_add(budget);
            match cover.decide(k, decider) {
                Decision::Feasible(mut chosen) => {
                    self.complete(&mut chosen, k);
                    let radius = self.radius_of(&chosen);
                    if radius < best_radius {
                        best_radius = radius;
                        best = chosen;
                    }
                    hi = self.index_of(best_radius).min(mid);
                }
                Decision::Infeasible => {
                    lo = mid + 1;
                    proved = proved.max(lo);
                }
                Decision::Unknown if decider.timed_out => break,
                Decision::Unknown => lo = mid + 1,
            }
        }
        (best, self.radii[proved.min(hi)], proved >= hi)
    }
}

/// A set-cover feasibility problem at one radius, reduced.
struct Cover {
    /// Words of a bitset over the demands still to cover.
    words: usize,
    /// Each remaining demand's covering sites (indices into `sites`), fewest first.
    sites_of: Vec<Vec<u32>>,
    /// The remaining sites: their free index and the demands they cover (bitset).
    sites: Vec<(usize, Vec<u64>)>,
}

/// Search state of the exact decisions.
struct Decider {
    deadline: Instant,
    nodes: u64,
    /// The decision in progress gives up (undecided) when `nodes` reaches this.
    budget: u64,
    timed_out: bool,
}

/// Nodes a heuristic decision may explore.
const HEURISTIC_NODES: u64 = 5_000;

/// Pairwise dominance checks are skipped beyond this many word comparisons.
const DOMINANCE_BUDGET: usize = 50_000_000;

impl Cover {
    fn new(radii: &Radii<'_>, radius: f64, reduce: bool) -> Self {
        let costs = radii.instance.costs();
        // Demands the fixed sites do not reach, with their covering free sites.
        let mut lists: Vec<Vec<u32>> = radii
            .demands
            .iter()
            .zip(&radii.fixed_cost)
            .filter(|(_, fc)| **fc > radius)
            .map(|(&i, _)| {
                let row = costs.row(i);
                (0..radii.free.len() as u32).filter(|&f| row[radii.free[f as usize]] <= radius).collect()
            })
            .collect();
        lists.sort_unstable_by_key(Vec::len);
        let site_words = radii.free.len().div_ceil(64);
        if reduce && lists.len() * lists.len() / 2 * site_words <= DOMINANCE_BUDGET {
            // Drop a demand whose sites include all of a kept demand's sites.
            let bits: Vec<Vec<u64>> = lists.iter().map(|l| bitset(l, site_words)).collect();
            let mut kept: Vec<usize> = Vec::new();
            for b in 0..lists.len() {
                if !kept.iter().any(|&a| subset(&bits[a], &bits[b])) {
                    kept.push(b);
                }
            }
            lists = kept.into_iter().map(|a| std::mem::take(&mut lists[a])).collect();
        }
        let n = lists.len();
        let words = n.div_ceil(64);
        let mut covers: Vec<Vec<u32>> = vec![Vec::new(); radii.free.len()];
        for (d, list) in lists.iter().enumerate() {
            for &f in list {
                covers[f as usize].push(d as u32);
            }
        }
        let mut sites: Vec<(usize, Vec<u64>)> =
            covers.iter().enumerate().filter(|(_, c)| !c.is_empty()).map(|(f, c)| (f, bitset(c, words))).collect();
        if reduce && sites.len() * sites.len() / 2 * words <= DOMINANCE_BUDGET {
            // Drop a site whose demands are a subset of another's (the larger, or the lower-numbered if equal).
            sites.sort_by_key(|(f, b)| (std::cmp::Reverse(b.iter().map(|w| w.count_ones()).sum::<u32>()), *f));
            let mut kept: Vec<(usize, Vec<u64>)> = Vec::new();
            for site in sites {
                if !kept.iter().any(|(_, big)| subset(&site.1, big)) {
                    kept.push(site);
                }
            }
            sites = kept;
        }
        let mut sites_of: Vec<Vec<u32>> = vec![Vec::new(); n];
        for (s, (_, bits)) in sites.iter().enumerate() {
            for d in ones(bits) {
                sites_of[d].push(s as u32);
            }
        }
        Self { words, sites_of, sites }
    }

    /// A greedy cover (Chvátal 1979): the site covering most uncovered demands, until none is
    /// left; `None` when some demand has no site.
    fn greedy(&self) -> Option<Vec<usize>> {
        if self.sites_of.iter().any(Vec::is_empty) {
            return None;
        }
        let mut uncovered = full(self.sites_of.len(), self.words);
        let mut chosen = Vec::new();
        while uncovered.iter().any(|&w| w != 0) {
            let (s, _) = self
                .sites
                .iter()
                .enumerate()
                .map(|(s, (_, bits))| (s, and_count(bits, &uncovered)))
                .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))?;
            and_not(&mut uncovered, &self.sites[s].1);
            chosen.push(self.sites[s].0);
        }
        Some(chosen)
    }

    /// Whether a greedy packing already needs more than `k` sites (or a demand has none).
    fn packing_exceeds(&self, k: usize) -> bool {
        let uncovered = full(self.sites_of.len(), self.words);
        let excluded = vec![false; self.sites.len()];
        packing(&self.sites_of, &uncovered, &excluded, k).is_none()
    }

    /// Exact decision: can `k` sites cover every demand?
    fn decide(&self, k: usize, decider: &mut Decider) -> Decision {
        let uncovered = full(self.sites_of.len(), self.words);
        let mut excluded = vec![false; self.sites.len()];
        let mut chosen = Vec::new();
        match self.branch(&uncovered, k, &mut excluded, &mut chosen, decider) {
            Some(true) => Decision::Feasible(chosen.iter().map(|&s| self.sites[s].0).collect()),
            Some(false) => Decision::Infeasible,
            None => Decision::Unknown,
        }
    }

    /// `Some(true)` with `chosen` completed when `k` sites can cover `uncovered`; `None` at the time limit.
    fn branch(&self, uncovered: &[u64], k: usize, excluded: &mut [bool], chosen: &mut Vec<usize>, decider: &mut Decider) -> Option<bool> {
        decider.nodes += 1;
        if decider.timed_out || (decider.nodes % 1024 == 0 && Instant::now() >= decider.deadline) {
            decider.timed_out = true;
            return None;
        }
        if decider.nodes >= decider.budget {
            return None;
        }
        if uncovered.iter().all(|&w| w == 0) {
            return Some(true);
        }
        if k == 0 {
            return Some(false);
        }
        // The packing bound, and the demand with the fewest usable sites.
        let Some(demand) = packing(&self.sites_of, uncovered, excluded, k) else {
            return Some(false);
        };
        let mut options: Vec<(u32, usize)> = self.sites_of[demand]
            .iter()
            .filter(|&&s| !excluded[s as usize])
            .map(|&s| (and_count(&self.sites[s as usize].1, uncovered), s as usize))
            .collect();
        options.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let mut tried = Vec::with_capacity(options.len());
        let mut result = Some(false);
        let mut rest = uncovered.to_vec();
        for &(_, s) in &options {
            rest.copy_from_slice(uncovered);
            and_not(&mut rest, &self.sites[s].1);
            chosen.push(s);
            match self.branch(&rest, k - 1, excluded, chosen, decider) {
                Some(true) => {
                    result = Some(true);
                    break;
                }
                Some(false) => {}
                None => {
                    result = None;
                    chosen.pop();
                    break;
                }
            }
            chosen.pop();
            // No cover through s exists here: later branches need not consider it.
            excluded[s] = true;
            tried.push(s);
        }
        for s in tried {
            excluded[s] = false;
        }
        result
    }
}

/// Greedy packing of the uncovered demands (taken fewest usable sites first in the reduced
/// order): `None` when it needs more than `k` sites or a demand has no usable site, else the
/// uncovered demand with the fewest usable sites.
fn packing(sites_of: &[Vec<u32>], uncovered: &[u64], excluded: &[bool], k: usize) -> Option<usize> {
    let mut taken: Vec<bool> = vec![false; excluded.len()];
    let mut packed = 0;
    let mut fewest = (usize::MAX, 0);
    for d in ones(uncovered) {
        let usable = sites_of[d].iter().filter(|&&s| !excluded[s as usize]);
        let count = usable.clone().count();
        if count == 0 {
            return None;
        }
        if count < fewest.0 {
            fewest = (count, d);
        }
        if usable.clone().all(|&s| !taken[s as usize]) {
            for &s in usable {
                taken[s as usize] = true;
            }
            packed += 1;
            if packed > k {
                return None;
            }
        }
    }
    Some(fewest.1)
}

fn bitset(items: &[u32], words: usize) -> Vec<u64> {
    let mut bits = vec![0u64; words];
    for &x in items {
        bits[x as usize / 64] |= 1 << (x % 64);
    }
    bits
}

fn full(n: usize, words: usize) -> Vec<u64> {
    let mut bits = vec![u64::MAX; words];
    if n % 64 != 0
        && let Some(last) = bits.last_mut()
    {
        *last = (1u64 << (n % 64)) - 1;
    }
    bits
}

fn subset(small: &[u64], big: &[u64]) -> bool {
    small.iter().zip(big).all(|(s, b)| s & !b == 0)
}

fn and_count(a: &[u64], b: &[u64]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum()
}

fn and_not(a: &mut [u64], b: &[u64]) {
    for (x, y) in a.iter_mut().zip(b) {
        *x &= !y;
    }
}

fn ones(bits: &[u64]) -> impl Iterator<Item = usize> + '_ {
    bits.iter().enumerate().flat_map(|(w, &word)| {
        let mut word = word;
        std::iter::from_fn(move || {
            (word != 0).then(|| {
                let b = word.trailing_zeros() as usize;
                word &= word - 1;
                w * 64 + b
            })
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bitset_helpers_agree_with_sets() {
        let a = bitset(&[0, 5, 64, 70], 2);
        let b = bitset(&[0, 1, 5, 64, 70, 127], 2);
        assert!(subset(&a, &b) && !subset(&b, &a));
        assert_eq!(and_count(&a, &b), 4);
        assert_eq!(ones(&b).collect::<Vec<_>>(), vec![0, 1, 5, 64, 70, 127]);
        assert_eq!(ones(&full(66, 2)).count(), 66);
        let mut c = b.clone();
        and_not(&mut c, &a);
        assert_eq!(ones(&c).collect::<Vec<_>>(), vec![1, 127]);
    }

    #[test]
    fn packing_of_three_disjoint_demands_needs_three_sites() {
        let sites_of = vec![vec![0], vec![1, 2], vec![3], vec![0, 3]];
        let uncovered = full(4, 1);
        assert!(packing(&sites_of, &uncovered, &[false; 4], 2).is_none());
        assert_eq!(packing(&sites_of, &uncovered, &[false; 4], 3), Some(0));
    }
}
