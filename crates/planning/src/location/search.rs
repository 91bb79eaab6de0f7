//! Branch-and-bound over which sites to open, on a Lagrangian bound: shared by MCLP and p-median.
//!
//! Both problems are cast as *minimise f(open)* over sets that contain the sites fixed `In`, avoid
//! those fixed `Out`, and add exactly `k` of the `Free` ones, with a Lagrangian lower bound of the
//! form `constant(μ) + Σ_{j open} score_j(μ)`: for given multipliers μ the relaxed problem is solved
//! by taking the `k` free sites of smallest score. The multipliers are improved by subgradient
//! optimisation with Polyak steps `θ (incumbent − bound) / ‖g‖²`, θ halved whenever the bound has
//! not improved for a while (Held, Wolfe & Crowder 1974; Beasley 1993). Reduced-cost fixing: with
//! `L` the bound, `s_k` the k-th smallest free score and `s_{k+1}` the next, opening an unchosen free
//! site `j` would give at least `L + s_j − s_k`, closing a chosen one `L − s_j + s_{k+1}`; when that is
//! not below the incumbent, the site is settled.

use std::time::Instant;

use qalqan_analysis::rng::Rng;

use super::Method;

/// The branch-and-bound state of one site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum SiteState {
    /// Undecided.
    Free,
    /// Open in every solution of this subtree.
    In,
    /// Closed in every solution of this subtree.
    Out,
}

/// A site-selection problem with a Lagrangian bound `constant + Σ_{open} score`.
pub(super) trait Relaxation {
    /// The current multipliers.
    fn multipliers(&self) -> &[f64];
    /// Sets the multipliers and recomputes the constant and the scores exactly.
    fn set_multipliers(&mut self, multipliers: &[f64]);
    /// The part of the bound that does not depend on the open sites.
    fn constant(&self) -> f64;
    /// Each site's contribution to the bound when open.
    fn scores(&self) -> &[f64];
    /// Stores the projected subgradient at the current multipliers for the relaxed solution
    /// `open` (ascending) and returns its squared norm.
    fn subgradient(&mut self, open: &[u32]) -> f64;
    /// Moves the multipliers by `step` times the stored subgradient, projected onto their domain,
    /// updating the constant and the scores.
    fn step(&mut self, step: f64);
    /// The objective of opening exactly `open` (ascending).
    fn evaluate(&mut self, open: &[u32]) -> f64;
    /// Local search from `open`: sites `In` stay open, sites `Out` never open; returns the
    /// objective of the improved `open` (ascending).
    fn improve(&mut self, open: &mut Vec<u32>, state: &[SiteState]) -> f64;
    /// `rounds` of iterated local search from `start` (a local optimum), seeded; the best found.
    /// Stops early at `deadline` (the only way a run's result can depend on the machine).
    fn perturb(&mut self, start: &Incumbent, state: &[SiteState], rounds: usize, deadline: Instant, rng: &mut Rng) -> Incumbent;
}

/// A solution and its objective.
#[derive(Debug, Clone)]
pub(super) struct Incumbent {
    pub value: f64,
    pub open: Vec<u32>,
}

/// How to search.
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub method: Method,
    pub deadline: Instant,
    /// The objective's granularity: 1 when every solution's objective is a whole number, else 0.
    pub granularity: f64,
    /// Absolute tolerance of the optimality proof.
    pub tolerance: f64,
    /// Subgradient iterations at the root.
    pub root_iterations: usize,
    /// Subgradient iterations at other nodes.
    pub node_iterations: usize,
    /// Rounds of iterated local search at the root, when a short dual probe does not settle it.
    pub perturbations: usize,
    /// Seed of the iterated local search.
    pub seed: u64,
}

/// What the search found.
#[derive(Debug, Clone)]
pub(super) struct Outcome {
    pub best: Incumbent,
    /// A lower bound on the optimum (equal to `best.value` when proved).
    pub bound: f64,
    pub proved: bool,
    pub nodes: u64,
    pub iterations: u64,
}

/// Subgradient iterations of the root's first probe, before any iterated local search.
const PROBE_ITERATIONS: usize = 300;
/// θ of the root's optimisation after the iterated local search (the probe and other nodes start
/// at 1 and 0.5). On the 50,000 × 5,000 MCLP benchmark, starting at 2 gave a slightly better bound
/// in fewer iterations than 1, and 0.25 or 0.1 a clearly worse one: the multipliers must travel
/// far from their complementary start, and θ is halved soon enough when it overshoots.
const ROOT_THETA: f64 = 2.0;
/// Rounds of "optimise the multipliers, fix sites" per node.
const FIXING_ROUNDS: usize = 3;
/// Iterations without a significant improvement of the bound before θ is halved.
const PATIENCE: usize = 200;
/// The subgradient stops when θ falls below this.
const THETA_MIN: f64 = 1e-3;
/// A node whose free sites allow at most this many completions is enumerated.
const ENUMERATION_LIMIT: u128 = 64;

struct Node {
    state: Vec<SiteState>,
    k: usize,
    multipliers: Vec<f64>,
    bound: f64,
    depth: usize,
}

struct Search<'r, R: Relaxation> {
    relaxation: &'r mut R,
    best: Incumbent,
    settings: Settings,
    nodes: u64,
    iterations: u64,
    timed_out: bool,
    /// The last relaxed solution evaluated (to skip re-evaluating it).
    last_evaluated: Vec<u32>,
}

/// Minimises over the sets that contain the `In` sites of `state` and `k` of its `Free` ones,
/// starting from `start` (a feasible solution) and the relaxation's current multipliers.
pub(super) fn solve<R: Relaxation>(relaxation: &mut R, state: Vec<SiteState>, k: usize, start: Incumbent, settings: Settings) -> Outcome {
    let multipliers = relaxation.multipliers().to_vec();
    let mut search = Search { relaxation, best: start, settings, nodes: 0, iterations: 0, timed_out: false, last_evaluated: Vec::new() };
    let mut stack = vec![Node { state, k, multipliers, bound: f64::NEG_INFINITY, depth: 0 }];
    // The smallest bound of the subtrees left unexplored.
    let mut unexplored = f64::INFINITY;
    while let Some(node) = stack.pop() {
        if search.prunes(node.bound) {
            continue;
        }
        if search.timed_out || Instant::now() >= search.settings.deadline {
            search.timed_out = true;
            unexplored = unexplored.min(node.bound);
            continue;
        }
        let depth = node.depth;
        match search.process(node) {
            Processed::Settled => {}
            Processed::Open { bound } => unexplored = unexplored.min(bound),
            Processed::Branch { children } => {
                if depth == 0 && search.settings.method == Method::Heuristic {
                    unexplored = unexplored.min(children[0].bound);
                } else {
                    stack.extend(children);
                }
            }
        }
    }
    let proved = unexplored == f64::INFINITY || search.prunes(unexplored);
    let bound = if proved { search.best.value } else { unexplored.min(search.best.value) };
    Outcome { best: search.best, bound, proved, nodes: search.nodes, iterations: search.iterations }
}

enum Processed {
    /// Pruned, or solved to the end.
    Settled,
    /// Stopped by the time limit with this bound.
    Open { bound: f64 },
    /// Two children: closing the branching site (explored second), opening it (first).
    Branch { children: [Node; 2] },
}

impl<R: Relaxation> Search<'_, R> {
    /// The bound a subtree must reach to be pruned: no solution in it improves on the incumbent
    /// by the granularity (or, for a continuous objective, by more than the tolerance).
    fn threshold(&self) -> f64 {
        let s = &self.settings;
        if s.granularity > 0.0 { self.best.value - s.granularity + s.tolerance } else { self.best.value - s.tolerance }
    }

    /// Both problems minimise a non-negative objective (uncovered weight; weighted cost, with
    /// weights and costs validated ≥ 0), so a bound below 0 is read as 0: an incumbent of 0 is
    /// optimal whatever the multipliers say.
    fn prunes(&self, bound: f64) -> bool {
        bound.max(0.0) >= self.threshold()
    }

    fn consider(&mut self, open: &[u32]) {
        if open == self.last_evaluated.as_slice() {
            return;
        }
        self.last_evaluated.clear();
        self.last_evaluated.extend_from_slice(open);
        let value = self.relaxation.evaluate(open);
        if value < self.best.value {
            self.best = Incumbent { value, open: open.to_vec() };
        }
    }

    fn process(&mut self, node: Node) -> Processed {
        self.nodes += 1;
        let Node { mut state, mut k, multipliers, mut bound, depth } = node;
        self.relaxation.set_multipliers(&multipliers);
        let (mut iterations, mut theta) =
            if depth == 0 { (self.settings.root_iterations, 1.0) } else { (self.settings.node_iterations, 0.5) };
        if depth == 0 {
            // A short probe first: when the bound already proves the start optimal, no search is
            // needed; otherwise iterated local search, whose better incumbent also aims the
            // subgradient steps better.
            bound = bound.max(self.dual(&state, k, PROBE_ITERATIONS, theta));
            if self.prunes(bound) {
                return Processed::Settled;
            }
            let mut rng = Rng::seed(self.settings.seed);
            let found = self.relaxation.perturb(&self.best, &state, self.settings.perturbations, self.settings.deadline, &mut rng);
            if found.value < self.best.value {
                self.best = found;
                if self.prunes(bound) {
                    return Processed::Settled;
                }
            }
            theta = ROOT_THETA;
        }
        for _ in 0..FIXING_ROUNDS {
            bound = bound.max(self.dual(&state, k, iterations, theta));
            if depth == 0 {
                // The relaxed solution at the best multipliers, improved by local search.
                let mut open = self.relaxed_solution(&state, k);
                let value = self.relaxation.improve(&mut open, &state);
                if value < self.best.value {
                    self.best = Incumbent { value, open };
                }
            }
            if self.prunes(bound) {
                return Processed::Settled;
            }
            if self.timed_out {
                return Processed::Open { bound };
            }
            let changed = self.fix(&mut state, &mut k);
            if !changed {
                break;
            }
            iterations = (iterations / 2).max(10);
        }
        let free: Vec<u32> = free_sites(&state);
        if k == 0 || free.len() <= k {
            let mut open: Vec<u32> = sites_in(&state);
            open.extend(&free);
            open.sort_unstable();
            self.consider(&open);
            return Processed::Settled;
        }
        if combinations(free.len(), k) <= ENUMERATION_LIMIT {
            return if self.enumerate(&state, &free, k) { Processed::Settled } else { Processed::Open { bound } };
        }
        // Branch on the most attractive free site of the relaxed solution.
        let scores = self.relaxation.scores();
        let Some(&j) = free.iter().min_by(|a, b| scores[**a as usize].total_cmp(&scores[**b as usize])) else {
            return Processed::Settled;
        };
        let multipliers = self.relaxation.multipliers().to_vec();
        let mut closed = state.clone();
        closed[j as usize] = SiteState::Out;
        state[j as usize] = SiteState::In;
        Processed::Branch {
            children: [
                Node { state: closed, k, multipliers: multipliers.clone(), bound, depth: depth + 1 },
                Node { state, k: k - 1, multipliers, bound, depth: depth + 1 },
            ],
        }
    }

    /// The relaxed solution (`In` sites and the `k` free ones of smallest score), ascending.
    fn relaxed_solution(&self, state: &[SiteState], k: usize) -> Vec<u32> {
        let scores = self.relaxation.scores();
        let mut free = free_sites(state);
        smallest(&mut free, k, scores);
        let mut open = sites_in(state);
        open.extend(&free[..k.min(free.len())]);
        open.sort_unstable();
        open
    }

    /// Subgradient optimisation of the multipliers from their current values; leaves the
    /// relaxation at the best multipliers found and returns the bound there.
    fn dual(&mut self, state: &[SiteState], k: usize, max_iterations: usize, mut theta: f64) -> f64 {
        let fixed_in = sites_in(state);
        let free = free_sites(state);
        let k = k.min(free.len());
        let mut order = free.clone();
        let mut best = f64::NEG_INFINITY;
        let mut best_multipliers = self.relaxation.multipliers().to_vec();
        let mut reference = f64::NEG_INFINITY;
        let mut stall = 0;
        let mut open = Vec::with_capacity(fixed_in.len() + k);
        for _ in 0..max_iterations {
            if Instant::now() >= self.settings.deadline {
                self.timed_out = true;
                break;
            }
            self.iterations += 1;
            let scores = self.relaxation.scores();
            smallest(&mut order, k, scores);
            let bound = self.relaxation.constant()
                + fixed_in.iter().map(|&j| scores[j as usize]).sum::<f64>()
                + order[..k].iter().map(|&j| scores[j as usize]).sum::<f64>();
            if bound > best {
                best = bound;
                best_multipliers.copy_from_slice(self.relaxation.multipliers());
            }
            let scale = self.best.value.abs().max(bound.abs()).max(1.0);
            if bound > reference + 1e-6 * scale {
                reference = bound;
                stall = 0;
            } else {
                stall += 1;
            }
            open.clear();
            open.extend_from_slice(&fixed_in);
            open.extend_from_slice(&order[..k]);
            open.sort_unstable();
            self.consider(&open);
            if self.prunes(best) {
                break;
            }
            let norm = self.relaxation.subgradient(&open);
            if norm == 0.0 {
                break; // the relaxed solution satisfies the relaxed constraints: it is optimal here
            }
            if stall >= PATIENCE {
                theta *= 0.5;
                stall = 0;
                if theta < THETA_MIN {
                    break;
                }
            }
            let distance = (self.best.value - bound).max(1e-9 * scale);
            self.relaxation.step(theta * distance / norm);
        }
        self.relaxation.set_multipliers(&best_multipliers);
        let scores = self.relaxation.scores();
        let mut order = free;
        smallest(&mut order, k, scores);
        self.relaxation.constant()
            + fixed_in.iter().map(|&j| scores[j as usize]).sum::<f64>()
            + order[..k].iter().map(|&j| scores[j as usize]).sum::<f64>()
    }

    /// Reduced-cost fixing at the current multipliers; returns whether any site was settled.
    fn fix(&mut self, state: &mut [SiteState], k: &mut usize) -> bool {
        let threshold = self.threshold();
        let scores = self.relaxation.scores();
        let mut free = free_sites(state);
        if free.is_empty() {
            return false;
        }
        if *k == 0 {
            for &j in &free {
                state[j as usize] = SiteState::Out;
            }
            return true;
        }
        if free.len() <= *k {
            return false;
        }
        free.sort_unstable_by(|a, b| scores[*a as usize].total_cmp(&scores[*b as usize]));
        let bound = self.relaxation.constant()
            + sites_in(state).iter().map(|&j| scores[j as usize]).sum::<f64>()
            + free[..*k].iter().map(|&j| scores[j as usize]).sum::<f64>();
        let last_in = scores[free[*k - 1] as usize];
        let first_out = scores[free[*k] as usize];
        let mut changed = false;
        for &j in &free[*k..] {
            if bound + scores[j as usize] - last_in >= threshold {
                state[j as usize] = SiteState::Out;
                changed = true;
            }
        }
        let mut opened = 0;
        for &j in &free[..*k] {
            if bound - scores[j as usize] + first_out >= threshold {
                state[j as usize] = SiteState::In;
                opened += 1;
                changed = true;
            }
        }
        *k -= opened;
        changed
    }

    /// Evaluates every way of adding `k` of `free` to the `In` sites; false when stopped by the
    /// time limit.
    fn enumerate(&mut self, state: &[SiteState], free: &[u32], k: usize) -> bool {
        let fixed_in = sites_in(state);
        let mut pick: Vec<usize> = (0..k).collect();
        let mut open = Vec::with_capacity(fixed_in.len() + k);
        loop {
            if Instant::now() >= self.settings.deadline {
                self.timed_out = true;
                return false;
            }
            open.clear();
            open.extend_from_slice(&fixed_in);
            open.extend(pick.iter().map(|&r| free[r]));
            open.sort_unstable();
            self.consider(&open);
            // Next combination in lexicographic order.
            let Some(r) = (0..k).rev().find(|&r| pick[r] < free.len() - k + r) else {
                return true;
            };
            pick[r] += 1;
            for s in r + 1..k {
                pick[s] = pick[s - 1] + 1;
            }
        }
    }
}

fn free_sites(state: &[SiteState]) -> Vec<u32> {
    (0..state.len() as u32).filter(|&j| state[j as usize] == SiteState::Free).collect()
}

fn sites_in(state: &[SiteState]) -> Vec<u32> {
    (0..state.len() as u32).filter(|&j| state[j as usize] == SiteState::In).collect()
}

/// Moves the `k` sites of smallest score to the front of `sites` (in no particular order).
fn smallest(sites: &mut [u32], k: usize, scores: &[f64]) {
    if k > 0 && k < sites.len() {
        sites.select_nth_unstable_by(k - 1, |a, b| scores[*a as usize].total_cmp(&scores[*b as usize]));
    }
}

/// `n choose k`, saturating at `u128::MAX`.
fn combinations(n: usize, k: usize) -> u128 {
    let k = k.min(n - k.min(n));
    let mut c: u128 = 1;
    for r in 0..k {
        c = match c.checked_mul((n - r) as u128) {
            Some(x) => x / (r as u128 + 1),
            None => return u128::MAX,
        };
    }
    c
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn combinations_counts_subsets() {
        assert_eq!(combinations(5, 2), 10);
        assert_eq!(combinations(5, 0), 1);
        assert_eq!(combinations(5, 5), 1);
        assert_eq!(combinations(100, 5), 75_287_520);
        assert_eq!(combinations(10_000, 5_000), u128::MAX);
    }

    #[test]
    fn smallest_moves_the_k_smallest_scores_to_the_front() {
        let scores = [5.0, 1.0, 4.0, 2.0, 3.0];
        let mut sites = vec![0, 1, 2, 3, 4];
        smallest(&mut sites, 2, &scores);
        let mut front = sites[..2].to_vec();
        front.sort_unstable();
        assert_eq!(front, vec![1, 3]);
    }
}
