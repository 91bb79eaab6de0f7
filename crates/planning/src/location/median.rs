//! The p-median problem (Hakimi 1964; ReVelle & Swain 1970) on a dense cost matrix.
//!
//! Demands of weight 0 are left out of the search (they change no objective); fixed sites are
//! open at every node. The Lagrangian relaxation dualises "each demand is assigned exactly once"
//! (Cornuéjols, Fisher & Nemhauser 1977; Beasley 1993); each demand's sites are kept sorted by
//! cost, so a site score only visits the sites cheaper than the demand's multiplier.
#![allow(clippy::needless_range_loop)] // index loops over parallel arrays read clearer here

use std::time::Instant;

use qalqan_analysis::rng::Rng;

use super::search::{self, Incumbent, Relaxation, SiteState};
use super::{Instance, LocationParams, Placement, Status, check_p, chosen_and_open, relative_gap};
use crate::PlanningError;

const NONE: u32 = u32::MAX;

/// Chooses `params.p` sites besides the fixed ones to minimise the total weighted cost of every
/// demand to its nearest open site (p-median).
///
/// [`Method::Exact`](super::Method::Exact) proves optimality by branch-and-bound on the Lagrangian bound (Beasley 1993);
/// [`Method::Heuristic`](super::Method::Heuristic) returns greedy + fast interchange (Whitaker 1983) with seeded perturbation
/// rounds, with that bound and the gap. With no fixed site, `p` must be at least 1. See the
/// [module docs](super) for the algorithms and their cost.
///
/// ```
/// use qalqan_planning::location::{CostMatrix, Instance, LocationParams, Status, p_median};
///
/// // Two clusters of demand; the sites are the demand points themselves.
/// let points = [0.0, 1.0, 2.0, 10.0, 11.0];
/// let costs = CostMatrix::from_fn(5, 5, |i, j| f64::abs(points[i] - points[j])).unwrap();
/// let instance = Instance::new(vec![1.0, 1.0, 1.0, 1.0, 3.0], costs).unwrap();
/// let placement = p_median(&instance, &LocationParams { p: 2, ..LocationParams::default() }).unwrap();
/// assert_eq!(placement.chosen, vec![1, 4]);
/// assert_eq!(placement.objective, 3.0);
/// assert_eq!((placement.status, placement.gap), (Status::Optimal, 0.0));
/// assert_eq!(placement.assignment, vec![Some(1), Some(1), Some(1), Some(4), Some(4)]);
/// ```
pub fn p_median(instance: &Instance, params: &LocationParams) -> Result<Placement, PlanningError> {
    let started = Instant::now();
    let deadline = started + params.time_limit;
    let candidates = check_p(params.p, instance.sites(), instance.fixed())?;
    if params.p == 0 && instance.fixed().is_empty() {
        return Err(PlanningError::InvalidParameter { name: "p", reason: "must be at least 1 when no site is fixed".to_owned() });
    }
    let k = params.p;
    let m = instance.sites();
    let dense = Dense::new(instance);
    let mut state = vec![SiteState::Free; m];
    for &j in instance.fixed() {
        state[j] = SiteState::In;
    }
    let fixed: Vec<u32> = instance.fixed().iter().map(|&j| j as u32).collect();
    let mut relaxation = Median::new(&dense);

    let (best, bound, status, nodes, iterations) = if k == 0 || k == candidates {
        let open: Vec<u32> = if k == 0 { fixed } else { (0..m as u32).collect() };
        let value = relaxation.evaluate(&open);
        (Incumbent { value, open }, value, Status::Optimal, 0, 0)
    } else {
        let start = relaxation.start(&state, k, &mut Rng::seed(params.seed));
        let granularity = if dense.weighted.iter().all(|c| c.fract() == 0.0 && *c < 2f64.powi(40)) { 1.0 } else { 0.0 };
        // Start the multipliers at each demand's weighted cost in the heuristic solution.
        let initial = relaxation.assigned_costs(&start.open);
        relaxation.set_multipliers(&initial);
        let settings = search::Settings {
            method: params.method,
            deadline,
            granularity,
            tolerance: 1e-9 * start.value.abs().max(1e-300),
            root_iterations: 5_000,
            node_iterations: 100,
            perturbations: params.perturbations,
            seed: params.seed,
        };
        let outcome = search::solve(&mut relaxation, state, k, start, settings);
        let status = if outcome.proved { Status::Optimal } else { Status::Feasible };
        (outcome.best, outcome.bound, status, outcome.nodes, outcome.iterations)
    };

    let (chosen, open) =
        chosen_and_open(best.open.iter().filter(|&&j| !instance.fixed().contains(&(j as usize))).map(|&j| j as usize), instance.fixed());
    let (assignment, objective) = assign(instance, &open, |w, c| w * c, |total, x| total + x);
    let bound = if status == Status::Optimal { objective } else { bound.min(objective) };
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

/// Each demand's nearest open site (lowest-numbered among ties) and the objective folded from
/// `term(weight, cost)` over the demands of positive weight.
pub(super) fn assign(
    instance: &Instance,
    open: &[usize],
    term: impl Fn(f64, f64) -> f64,
    fold: impl Fn(f64, f64) -> f64,
) -> (Vec<Option<usize>>, f64) {
    let mut objective = 0.0;
    let assignment = (0..instance.demands())
        .map(|i| {
            let row = instance.costs().row(i);
            let nearest = open.iter().copied().min_by(|a, b| row[*a].total_cmp(&row[*b]).then(a.cmp(b)));
            let w = instance.weights()[i];
            if let Some(j) = nearest
                && w > 0.0
            {
                objective = fold(objective, term(w, row[j]));
            }
            nearest
        })
        .collect();
    (assignment, objective)
}

/// The demands of positive weight: weighted costs, by row and by column, and each row's sites
/// in order of cost.
struct Dense {
    n: usize,
    m: usize,
    /// `weight × cost`, row-major (demand × site).
    weighted: Vec<f64>,
    /// The same, column-major (site × demand).
    by_site: Vec<f64>,
    /// Each demand's sites by increasing cost.
    order: Vec<u32>,
}

impl Dense {
    fn new(instance: &Instance) -> Self {
        let m = instance.sites();
        let kept: Vec<usize> = (0..instance.demands()).filter(|&i| instance.weights()[i] > 0.0).collect();
        let n = kept.len();
        let mut weighted = Vec::with_capacity(n * m);
        let mut order = Vec::with_capacity(n * m);
        for &i in &kept {
            let w = instance.weights()[i];
            let row = instance.costs().row(i);
            weighted.extend(row.iter().map(|c| w * c));
            let start = order.len();
            order.extend(0..m as u32);
            order[start..].sort_unstable_by(|a: &u32, b: &u32| row[*a as usize].total_cmp(&row[*b as usize]).then(a.cmp(b)));
        }
        let mut by_site = vec![0.0; n * m];
        for i in 0..n {
            for j in 0..m {
                by_site[j * n + i] = weighted[i * m + j];
            }
        }
        Self { n, m, weighted, by_site, order }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.weighted[i * self.m..(i + 1) * self.m]
    }

    fn order(&self, i: usize) -> &[u32] {
        &self.order[i * self.m..(i + 1) * self.m]
    }

    fn column(&self, j: usize) -> &[f64] {
        &self.by_site[j * self.n..(j + 1) * self.n]
    }
}

/// The Lagrangian relaxation of the assignment constraints and the interchange local search.
///
/// Bound: `Σᵢ uᵢ + Σ_{j open} Σᵢ min(0, wᵢcᵢⱼ − uᵢ)`; the subgradient of demand i is
/// `1 − (open sites j with wᵢcᵢⱼ < uᵢ)`.
struct Median<'a> {
    d: &'a Dense,
    u: Vec<f64>,
    sum_u: f64,
    scores: Vec<f64>,
    gradient: Vec<f64>,
    is_open: Vec<bool>,
    // Interchange scratch.
    nearest: Vec<f64>,
    second: Vec<f64>,
    nearest_site: Vec<u32>,
    loss: Vec<f64>,
    slot_of: Vec<u32>,
}

impl<'a> Median<'a> {
    fn new(d: &'a Dense) -> Self {
        Self {
            d,
            u: vec![0.0; d.n],
            sum_u: 0.0,
            scores: vec![0.0; d.m],
            gradient: vec![0.0; d.n],
            is_open: vec![false; d.m],
            nearest: vec![0.0; d.n],
            second: vec![0.0; d.n],
            nearest_site: vec![0; d.n],
            loss: Vec::new(),
            slot_of: vec![NONE; d.m],
        }
    }

    /// Each demand's weighted cost to its nearest site of `open`.
    fn assigned_costs(&self, open: &[u32]) -> Vec<f64> {
        (0..self.d.n).map(|i| open.iter().map(|&j| self.d.row(i)[j as usize]).fold(f64::INFINITY, f64::min)).collect()
    }

    fn recompute_scores(&mut self) {
        self.scores.fill(0.0);
        for i in 0..self.d.n {
            let u = self.u[i];
            let row = self.d.row(i);
            for &j in self.d.order(i) {
                let c = row[j as usize];
                if c >= u {
                    break;
                }
                self.scores[j as usize] += c - u;
            }
        }
        self.sum_u = self.u.iter().sum();
    }

    /// Greedy, then the interchange.
    fn start(&mut self, state: &[SiteState], k: usize, rng: &mut Rng) -> Incumbent {
        let mut open: Vec<u32> = (0..state.len() as u32).filter(|&j| state[j as usize] == SiteState::In).collect();
        self.greedy(&mut open, k, state, 1, rng);
        let value = self.improve(&mut open, state);
        Incumbent { value, open }
    }

    /// `rounds` of iterated local search from `start`: drop a fifth of the movable open sites at
    /// random, refill greedily choosing among the best three each time, interchange; keep the best.
    fn search(&mut self, start: &Incumbent, state: &[SiteState], rounds: usize, deadline: Instant, rng: &mut Rng) -> Incumbent {
        let mut best = start.clone();
        let movable = best.open.iter().filter(|&&j| state[j as usize] == SiteState::Free).count();
        let drop = (movable / 5).max(1).min(movable);
        for _ in 0..rounds {
            if movable == 0 || Instant::now() >= deadline {
                break;
            }
            let mut open = best.open.clone();
            for _ in 0..drop {
                let free: Vec<usize> = (0..open.len()).filter(|&r| state[open[r] as usize] == SiteState::Free).collect();
                open.swap_remove(free[rng.below(free.len() as u64) as usize]);
            }
            self.greedy(&mut open, drop, state, 3, rng);
            let value = self.improve(&mut open, state);
            if value < best.value {
                best = Incumbent { value, open };
            }
        }
        best
    }

    /// Adds `k` free closed sites to `open`, each time the one that lowers the total cost most (or
    /// one of the `choice` best, at random); leaves `open` ascending.
    fn greedy(&mut self, open: &mut Vec<u32>, k: usize, state: &[SiteState], choice: usize, rng: &mut Rng) {
        let d = self.d;
        let mut current = self.assigned_costs(open);
        let mut is_open = vec![false; d.m];
        for &j in open.iter() {
            is_open[j as usize] = true;
        }
        let mut top: Vec<(f64, u32)> = Vec::with_capacity(choice);
        for _ in 0..k {
            top.clear();
            for j in 0..d.m {
                if is_open[j] || state[j] != SiteState::Free {
                    continue;
                }
                let total: f64 = d.column(j).iter().zip(&current).map(|(c, now)| c.min(*now)).sum();
                if top.len() < choice {
                    top.push((total, j as u32));
                } else if let Some(worst) = top.iter_mut().max_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)))
                    && total < worst.0
                {
                    *worst = (total, j as u32);
                }
            }
            if top.is_empty() {
                break;
            }
            top.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let j = top[if top.len() > 1 { rng.below(top.len() as u64) as usize } else { 0 }].1 as usize;
            is_open[j] = true;
            open.push(j as u32);
            for (now, c) in current.iter_mut().zip(d.column(j)) {
                *now = now.min(*c);
            }
        }
        open.sort_unstable();
    }

    /// Nearest and second-nearest open site of every demand.
    fn nearest_two(&mut self, open: &[u32]) {
        for i in 0..self.d.n {
            let row = self.d.row(i);
            let (mut d1, mut d2, mut s1) = (f64::INFINITY, f64::INFINITY, NONE);
            for &j in open {
                let c = row[j as usize];
                if c < d1 {
                    d2 = d1;
                    d1 = c;
                    s1 = j;
                } else if c < d2 {
                    d2 = c;
                }
            }
            self.nearest[i] = d1;
            self.second[i] = d2;
            self.nearest_site[i] = s1;
        }
    }
}

impl Relaxation for Median<'_> {
    fn multipliers(&self) -> &[f64] {
        &self.u
    }

    fn set_multipliers(&mut self, multipliers: &[f64]) {
        self.u.copy_from_slice(multipliers);
        self.recompute_scores();
    }

    fn constant(&self) -> f64 {
        self.sum_u
    }

    fn scores(&self) -> &[f64] {
        &self.scores
    }

    fn subgradient(&mut self, open: &[u32]) -> f64 {
        for &j in open {
            self.is_open[j as usize] = true;
        }
        let mut norm = 0.0;
        for i in 0..self.d.n {
            let u = self.u[i];
            let row = self.d.row(i);
            let mut assigned = 0u32;
            for &j in self.d.order(i) {
                if row[j as usize] >= u {
                    break;
                }
                assigned += u32::from(self.is_open[j as usize]);
            }
            let g = 1.0 - f64::from(assigned);
            self.gradient[i] = g;
            norm += g * g;
        }
        for &j in open {
            self.is_open[j as usize] = false;
        }
        norm
    }

    fn step(&mut self, step: f64) {
        for (u, g) in self.u.iter_mut().zip(&self.gradient) {
            *u += step * g;
        }
        self.recompute_scores();
    }

    fn evaluate(&mut self, open: &[u32]) -> f64 {
        self.assigned_costs(open).iter().sum()
    }

    fn perturb(&mut self, start: &Incumbent, state: &[SiteState], rounds: usize, deadline: Instant, rng: &mut Rng) -> Incumbent {
        self.search(start, state, rounds, deadline, rng)
    }

    fn improve(&mut self, open: &mut Vec<u32>, state: &[SiteState]) -> f64 {
        let d = self.d;
        let slots: Vec<u32> = open.iter().copied().filter(|&j| state[j as usize] == SiteState::Free).collect();
        if slots.is_empty() {
            return self.evaluate(open);
        }
        self.slot_of.fill(NONE);
        for (s, &j) in slots.iter().enumerate() {
            self.slot_of[j as usize] = s as u32;
        }
        let mut slots = slots;
        self.loss.resize(slots.len(), 0.0);
        self.nearest_two(open);
        let mut value: f64 = self.nearest.iter().sum();
        let epsilon = 1e-12 * value.abs().max(1e-300);
        // Whitaker's fast interchange: for each closed site in turn, its best partner to leave;
        // stop after a full round without an improving swap.
        let mut since_improved = 0;
        let mut j = 0;
        while since_improved < d.m {
            let candidate = j;
            j = (j + 1) % d.m;
            since_improved += 1;
            if state[candidate] != SiteState::Free || self.slot_of[candidate] != NONE {
                continue;
            }
            let column = d.column(candidate);
            let mut gain = 0.0;
            self.loss.fill(0.0);
            for i in 0..d.n {
                let (c, d1) = (column[i], self.nearest[i]);
                if c < d1 {
                    gain += d1 - c;
                } else {
                    let s = self.slot_of[self.nearest_site[i] as usize];
                    if s != NONE {
                        self.loss[s as usize] += c.min(self.second[i]) - d1;
                    }
                }
            }
            let Some((s, loss)) = self.loss.iter().copied().enumerate().min_by(|a, b| a.1.total_cmp(&b.1)) else {
                continue;
            };
            if gain - loss > epsilon {
                let out = slots[s];
                self.slot_of[out as usize] = NONE;
                self.slot_of[candidate] = s as u32;
                slots[s] = candidate as u32;
                open.retain(|&x| x != out);
                open.push(candidate as u32);
                open.sort_unstable();
                self.nearest_two(open);
                value = self.nearest.iter().sum();
                since_improved = 0;
            }
        }
        value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::location::CostMatrix;

    #[test]
    fn interchange_moves_a_site_from_the_middle_to_the_second_cluster() {
        let sites = [0.0, 0.5, 5.0, 9.5, 10.0];
        let demand = [0.0, 0.0, 1.0, 10.0, 10.0];
        let costs = CostMatrix::from_fn(5, 5, |i, j| f64::abs(demand[i] - sites[j])).unwrap();
        let instance = Instance::new(vec![5.0, 5.0, 0.5, 5.0, 5.0], costs).unwrap();
        let dense = Dense::new(&instance);
        let mut median = Median::new(&dense);
        let state = vec![SiteState::Free; 5];
        let mut open = vec![0, 2];
        let value = median.improve(&mut open, &state);
        assert_eq!(open, vec![0, 4]);
        assert_eq!(value, 0.5);
    }
}
