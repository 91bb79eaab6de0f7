//! Maximal covering location (Church & ReVelle 1974) on a sparse coverage.
//!
//! Before solving, the instance is reduced: demands of weight 0, demands no site covers and
//! demands a fixed site already covers drop out (the last count as covered), the fixed sites
//! leave the candidate list, and demands covered by exactly the same sites are merged (their
//! weights added). The reduced problem is solved as "minimise the uncovered weight".
#![allow(clippy::needless_range_loop)] // index loops over parallel arrays read clearer here

use std::collections::HashMap;
use std::time::Instant;

use qalqan_analysis::rng::Rng;

use super::search::{self, Incumbent, Relaxation, SiteState};
use super::{Coverage, Csr, LocationParams, Placement, Status, check_p, chosen_and_open, relative_gap};
use crate::PlanningError;

/// No slot: the site is closed (or open and fixed).
const NONE: u32 = u32::MAX;
/// Weight of the previous direction in the deflected subgradient.
const DEFLECTION: f64 = 1.0;
/// The iterated local search accepts a round that uncovers at most this share of the total
/// weight more than the current solution, the allowance falling linearly to 0 over the rounds
/// (threshold accepting, Dueck & Scheuer 1990); 0.2 % did best among 0-1 % on the benchmarks.
const ACCEPTANCE: f64 = 0.002;

/// Chooses `params.p` sites besides the fixed ones to maximise the weight of demand covered by at
/// least one open site (MCLP, Church & ReVelle 1974).
///
/// [`Method::Exact`](super::Method::Exact) proves optimality by branch-and-bound on the Lagrangian bound of Galvão &
/// ReVelle (1996); [`Method::Heuristic`](super::Method::Heuristic) returns the greedy + fast-interchange solution (improved
/// by seeded perturbation rounds) with that bound, so its `gap` says how far from optimal it can
/// be. See the [module docs](super) for the algorithms and their cost.
///
/// ```
/// use qalqan_planning::location::{Coverage, LocationParams, Method, maximal_covering};
///
/// // Five demands; site 0 covers demands 0-2, site 1 covers 2-3, site 2 covers 3-4; site 1 is an existing camera.
/// let cover = Coverage::new(vec![1.0, 1.0, 5.0, 1.0, 3.0], 3, vec![vec![0], vec![0], vec![0, 1], vec![1, 2], vec![2]])
///     .unwrap()
///     .with_fixed(&[1])
///     .unwrap();
/// let params = LocationParams { p: 1, method: Method::Heuristic, ..LocationParams::default() };
/// let placement = maximal_covering(&cover, &params).unwrap();
/// assert_eq!(placement.chosen, vec![2]); // adds 3 (demand 4) to the camera's 6, where site 0 would add 1 + 1
/// assert_eq!(placement.open, vec![1, 2]);
/// assert_eq!(placement.objective, 9.0);
/// assert!(placement.bound >= placement.objective && placement.gap == 0.0);
/// ```
pub fn maximal_covering(coverage: &Coverage, params: &LocationParams) -> Result<Placement, PlanningError> {
    let started = Instant::now();
    let deadline = started + params.time_limit;
    let candidates = check_p(params.p, coverage.sites(), coverage.fixed())?;
    let reduced = Reduced::new(coverage);
    let k = params.p;
    let m = reduced.site_map.len();

    let mut relaxation = Mclp::new(&reduced);
    let (best, bound, status, nodes, iterations) = if k == 0 || k == candidates {
        let open: Vec<u32> = if k == 0 { Vec::new() } else { (0..m as u32).collect() };
        let value = relaxation.evaluate(&open);
        (Incumbent { value, open }, value, Status::Optimal, 0, 0)
    } else {
        let state = vec![SiteState::Free; m];
        let start = relaxation.start(&state, k);
        if start.value <= 1e-9 * reduced.total.max(1.0) {
            // Greedy + interchange already covers every coverable demand: optimal, whatever a bound says.
            return Ok(placement(coverage, &reduced, &start, 0.0, Status::Optimal, (0, 0), started));
        }
        let granularity = if reduced.weights.iter().all(|w| w.fract() == 0.0 && *w < 2f64.powi(52)) { 1.0 } else { 0.0 };
        let settings = search::Settings {
            method: params.method,
            deadline,
            granularity,
            tolerance: 1e-9 * reduced.total.max(1.0),
            root_iterations: 30_000,
            node_iterations: 100,
            perturbations: params.perturbations,
            seed: params.seed,
        };
        let initial = relaxation.complementary_multipliers(&start.open);
        relaxation.set_multipliers(&initial);
        let outcome = search::solve(&mut relaxation, state, k, start, settings);
        let status = if outcome.proved { Status::Optimal } else { Status::Feasible };
        // The uncovered weight is never negative: a bound below 0 says nothing more than 0.
        (outcome.best, outcome.bound.max(0.0), status, outcome.nodes, outcome.iterations)
    };

    Ok(placement(coverage, &reduced, &best, bound, status, (nodes, iterations), started))
}

/// The answer in the caller's site numbers; `bound` is the lower bound on the reduced problem's
/// uncovered weight.
fn placement(
    coverage: &Coverage,
    reduced: &Reduced,
    best: &Incumbent,
    bound: f64,
    status: Status,
    (nodes, iterations): (u64, u64),
    started: Instant,
) -> Placement {
    let (chosen, open) = chosen_and_open(best.open.iter().map(|&j| reduced.site_map[j as usize]), coverage.fixed());
    let mut is_open = vec![false; coverage.sites()];
    for &j in &open {
        is_open[j] = true;
    }
    let assignment: Vec<Option<usize>> =
        (0..coverage.demands()).map(|i| coverage.covering(i).iter().map(|&j| j as usize).find(|&j| is_open[j])).collect();
    let objective: f64 = coverage.weights().iter().zip(&assignment).filter(|(_, a)| a.is_some()).map(|(w, _)| w).sum();
    let bound = if status == Status::Optimal { objective } else { (reduced.base + reduced.total - bound).max(objective) };
    Placement {
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
    }
}

/// The instance after removing what no choice can change.
struct Reduced {
    /// Weight of each remaining (merged) demand.
    weights: Vec<f64>,
    /// Their covering sites, in reduced site numbers.
    demand_sites: Csr,
    /// Each reduced site's demands.
    site_demands: Csr,
    /// Reduced site → original site.
    site_map: Vec<usize>,
    /// Weight already covered by the fixed sites.
    base: f64,
    /// Σ `weights`.
    total: f64,
}

impl Reduced {
    fn new(coverage: &Coverage) -> Self {
        let mut new_number = vec![NONE; coverage.sites()];
        for &j in coverage.fixed() {
            new_number[j] = NONE - 1;
        }
        let mut site_map = Vec::with_capacity(coverage.sites());
        for (j, n) in new_number.iter_mut().enumerate() {
            if *n == NONE {
                *n = site_map.len() as u32;
                site_map.push(j);
            }
        }
        let mut base = 0.0;
        let mut weights = Vec::new();
        let mut rows: Vec<Vec<u32>> = Vec::new();
        let mut merged: HashMap<Vec<u32>, usize> = HashMap::new();
        for (i, &w) in coverage.weights().iter().enumerate() {
            let list = coverage.covering(i);
            if w == 0.0 || list.is_empty() {
                continue;
            }
            if list.iter().any(|&j| new_number[j as usize] == NONE - 1) {
                base += w;
                continue;
            }
            let row: Vec<u32> = list.iter().map(|&j| new_number[j as usize]).collect();
            match merged.get(&row) {
                Some(&r) => weights[r] += w,
                None => {
                    merged.insert(row.clone(), weights.len());
                    weights.push(w);
                    rows.push(row);
                }
            }
        }
        let demand_sites = Csr::from_rows(rows);
        let site_demands = demand_sites.transpose(site_map.len());
        let total = weights.iter().sum();
        Self { weights, demand_sites, site_demands, site_map, base, total }
    }
}

/// The Lagrangian relaxation of the coverage constraints, and the local search, of a [`Reduced`]
/// instance, as "minimise the uncovered weight".
///
/// Bound: `Σᵢ λᵢ − Σ_{j open} Σ_{i ∈ M_j} λᵢ` for λᵢ ∈ [0, wᵢ] (M_j the demands site j covers); the
/// subgradient of demand i is `1 − (open sites covering i)`.
struct Mclp<'a> {
    r: &'a Reduced,
    lambda: Vec<f64>,
    sum_lambda: f64,
    /// `−Σ_{i ∈ M_j} λᵢ`.
    scores: Vec<f64>,
    gradient: Vec<f64>,
    direction: Vec<f64>,
    moving: Vec<u32>,
    steps: usize,
    count: Vec<u32>,
    stamp: Vec<u32>,
    epoch: u32,
    interchange: Interchange,
}

/// The fast interchange for coverage: Resende & Werneck's (2004) gain / loss / extra tables for
/// one solution, updated swap by swap for the demands the swap touches.
#[derive(Default)]
struct Interchange {
    /// Open sites covering each demand.
    count: Vec<u32>,
    /// Σ of the open sites covering each demand: the one site when `count == 1`.
    sum: Vec<u64>,
    /// Weight of uncovered demand a closed site would cover.
    gain: Vec<f64>,
    /// Weight an open site covers alone.
    loss: Vec<f64>,
    /// `extra[j · slots + s]`: weight covered alone by the site in slot `s` that site `j` also covers.
    extra: Vec<f64>,
    /// Each movable open site's slot, `NONE` for the others.
    slot_of: Vec<u32>,
    /// The movable (free) open sites.
    slots: Vec<u32>,
    /// The open sites that stay (fixed `In`).
    locked: Vec<u32>,
    /// Uncovered weight.
    uncovered: f64,
    stamp: Vec<u32>,
    epoch: u32,
    affected: Vec<u32>,
}

impl<'a> Mclp<'a> {
    fn new(r: &'a Reduced) -> Self {
        let n = r.weights.len();
        let m = r.site_map.len();
        let mut this = Self {
            r,
            lambda: vec![0.0; n],
            sum_lambda: 0.0,
            scores: vec![0.0; m],
            gradient: vec![0.0; n],
            direction: vec![0.0; n],
            moving: Vec::new(),
            steps: 0,
            count: vec![0; n],
            stamp: vec![0; n],
            epoch: 0,
            interchange: Interchange::default(),
        };
        this.set_multipliers(&r.weights);
        this
    }

    /// Multipliers complementary to the solution `open`: wᵢ for the demands it leaves uncovered
    /// (their coverage constraint binds), 0 for those it covers twice or more (slack), and 0.3 wᵢ
    /// (measured best among 0.3-1) for those it covers once.
    fn complementary_multipliers(&self, open: &[u32]) -> Vec<f64> {
        let mut count = vec![0u32; self.r.weights.len()];
        for &j in open {
            for &i in self.r.site_demands.row(j as usize) {
                count[i as usize] += 1;
            }
        }
        self.r
            .weights
            .iter()
            .zip(&count)
            .map(|(&w, &c)| match c {
                0 => w,
                1 => 0.3 * w,
                _ => 0.0,
            })
            .collect()
    }

    /// Uncovered weight of `open`.
    fn uncovered(&mut self, open: &[u32]) -> f64 {
        self.epoch = self.epoch.wrapping_add(1);
        if self.epoch == 0 {
            self.stamp.fill(0);
            self.epoch = 1;
        }
        let mut covered = 0.0;
        for &j in open {
            for &i in self.r.site_demands.row(j as usize) {
                if self.stamp[i as usize] != self.epoch {
                    self.stamp[i as usize] = self.epoch;
                    covered += self.r.weights[i as usize];
                }
            }
        }
        (self.r.total - covered).max(0.0)
    }

    /// Greedy, then the interchange.
    fn start(&mut self, state: &[SiteState], k: usize) -> Incumbent {
        let mut open: Vec<u32> = (0..state.len() as u32).filter(|&j| state[j as usize] == SiteState::In).collect();
        self.greedy(&mut open, k, state);
        let value = self.improve(&mut open, state);
        Incumbent { value, open }
    }

    /// `rounds` of iterated local search from `start`: ruin a neighbourhood (a random open site
    /// and the open sites sharing demand with it, at most a fifth of them) by forced swaps, each to
    /// one of the three best replacements not just removed, descend again, then keep the round if
    /// it is not much worse ([`ACCEPTANCE`]) or undo its swaps. Returns the best solution seen
    /// (early, at `deadline`).
    fn search(&mut self, start: &Incumbent, state: &[SiteState], rounds: usize, deadline: Instant, rng: &mut Rng) -> Incumbent {
        let r = self.r;
        let mut best = start.clone();
        self.interchange.load(r, &best.open, state);
        let ic = &mut self.interchange;
        let slots = ic.slots.len();
        let closed = (0..state.len()).filter(|&j| state[j] == SiteState::Free).count() - slots;
        if slots == 0 || closed == 0 {
            return best;
        }
        let limit = (slots / 5).max(1);
        let epsilon = 1e-9 * r.total.max(1.0);
        let mut log: Vec<(u32, usize, u32)> = Vec::new();
        let mut group: Vec<usize> = Vec::new();
        let mut removed: Vec<u32> = Vec::new();
        let mut current = best.value;
        for round in 0..rounds {
            if round % 16 == 0 && Instant::now() >= deadline {
                break;
            }
            if round % 256 == 255 {
                ic.load(r, &ic.open(), state); // clears rounding from the incremental updates
                current = ic.uncovered;
            }
            log.clear();
            // The neighbourhood of a random open site.
            let centre = rng.below(slots as u64) as usize;
            ic.mark(r, ic.slots[centre]);
            group.clear();
            group
                .extend((0..slots).filter(|&s| r.site_demands.row(ic.slots[s] as usize).iter().any(|&i| ic.stamp[i as usize] == ic.epoch)));
            while group.len() > limit {
                group.swap_remove(rng.below(group.len() as u64) as usize);
            }
            if group.len() < 2 && slots > 1 {
                let other = rng.below(slots as u64) as usize;
                if !group.contains(&other) {
                    group.push(other);
                }
            }
            removed.clear();
            removed.extend(group.iter().map(|&s| ic.slots[s]));
            for &s in &group {
                let Some(j_in) = ic.replacement(state, s, &removed, rng) else { continue };
                let j_out = ic.swap(r, j_in, s);
                log.push((j_in, s, j_out));
            }
            ic.descend(r, state, epsilon, &mut log);
            if ic.uncovered < best.value - epsilon {
                best = Incumbent { value: ic.uncovered, open: ic.open() };
                current = ic.uncovered;
            } else if ic.uncovered <= current + ACCEPTANCE * r.total * (1.0 - round as f64 / rounds as f64) + epsilon {
                current = ic.uncovered;
            } else {
                for &(j_in, s, j_out) in log.iter().rev() {
                    let back = ic.swap(r, j_out, s);
                    debug_assert_eq!(back, j_in);
                }
            }
        }
        best.value = self.uncovered(&best.open);
        best
    }

    /// Adds `k` free closed sites to `open`, each time the one covering the most uncovered weight
    /// (the lowest-numbered among ties); leaves `open` ascending.
    fn greedy(&mut self, open: &mut Vec<u32>, k: usize, state: &[SiteState]) {
        let r = self.r;
        let m = r.site_map.len();
        let ic = &mut self.interchange;
        ic.count.clear();
        ic.count.resize(r.weights.len(), 0);
        ic.gain.clear();
        ic.gain.resize(m, 0.0);
        let mut is_open = vec![false; m];
        for &j in open.iter() {
            is_open[j as usize] = true;
            for &i in r.site_demands.row(j as usize) {
                ic.count[i as usize] += 1;
            }
        }
        for (i, &w) in r.weights.iter().enumerate() {
            if ic.count[i] == 0 {
                for &j in r.demand_sites.row(i) {
                    ic.gain[j as usize] += w;
                }
            }
        }
        for _ in 0..k {
            let mut pick: Option<usize> = None;
            for j in 0..m {
                if !is_open[j] && state[j] == SiteState::Free && pick.is_none_or(|p| ic.gain[j] > ic.gain[p]) {
                    pick = Some(j);
                }
            }
            let Some(j) = pick else { break };
            is_open[j] = true;
            open.push(j as u32);
            for &i in r.site_demands.row(j) {
                if ic.count[i as usize] == 0 {
                    let w = r.weights[i as usize];
                    for &s in r.demand_sites.row(i as usize) {
                        ic.gain[s as usize] -= w;
                    }
                }
                ic.count[i as usize] += 1;
            }
        }
        open.sort_unstable();
    }
}

impl Interchange {
    /// Sets the tables up for `open`; its sites `Free` in `state` get slots (they may move).
    fn load(&mut self, r: &Reduced, open: &[u32], state: &[SiteState]) {
        let n = r.weights.len();
        let m = r.site_map.len();
        self.slots.clear();
        self.slots.extend(open.iter().copied().filter(|&j| state[j as usize] == SiteState::Free));
        self.locked.clear();
        self.locked.extend(open.iter().copied().filter(|&j| state[j as usize] != SiteState::Free));
        let slots = self.slots.len();
        self.slot_of.clear();
        self.slot_of.resize(m, NONE);
        for (s, &j) in self.slots.iter().enumerate() {
            self.slot_of[j as usize] = s as u32;
        }
        self.count.clear();
        self.count.resize(n, 0);
        self.sum.clear();
        self.sum.resize(n, 0);
        for &j in open {
            for &i in r.site_demands.row(j as usize) {
                self.count[i as usize] += 1;
                self.sum[i as usize] += u64::from(j);
            }
        }
        self.gain.clear();
        self.gain.resize(m, 0.0);
        self.loss.clear();
        self.loss.resize(m, 0.0);
        self.extra.clear();
        self.extra.resize(m * slots, 0.0);
        self.stamp.clear();
        self.stamp.resize(n, 0);
        self.epoch = 0;
        self.uncovered = 0.0;
        for i in 0..n {
            if self.count[i] == 0 {
                self.uncovered += r.weights[i];
            }
            self.contribute(r, i, 1.0);
        }
    }

    /// Adds (`sign` = 1) or removes (−1) demand `i`'s part of the gain, loss and extra tables.
    fn contribute(&mut self, r: &Reduced, i: usize, sign: f64) {
        let w = sign * r.weights[i];
        match self.count[i] {
            0 => {
                for &j in r.demand_sites.row(i) {
                    self.gain[j as usize] += w;
                }
            }
            1 => {
                let s = self.sum[i] as usize;
                self.loss[s] += w;
                let slot = self.slot_of[s];
                if slot != NONE {
                    let slots = self.slots.len();
                    for &j in r.demand_sites.row(i) {
                        if j as usize != s {
                            self.extra[j as usize * slots + slot as usize] += w;
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// Stamps the demands site `j` covers with a new epoch.
    fn mark(&mut self, r: &Reduced, j: u32) {
        self.epoch += 1;
        for &i in r.site_demands.row(j as usize) {
            self.stamp[i as usize] = self.epoch;
        }
    }

    /// Opens `j_in` in place of the site in `slot`; returns the site closed.
    fn swap(&mut self, r: &Reduced, j_in: u32, slot: usize) -> u32 {
        let j_out = self.slots[slot];
        self.epoch += 1;
        let mut affected = std::mem::take(&mut self.affected);
        affected.clear();
        for &j in &[j_in, j_out] {
            for &i in r.site_demands.row(j as usize) {
                if self.stamp[i as usize] != self.epoch {
                    self.stamp[i as usize] = self.epoch;
                    affected.push(i);
                }
            }
        }
        for &i in &affected {
            self.contribute(r, i as usize, -1.0);
        }
        for &i in r.site_demands.row(j_out as usize) {
            let i = i as usize;
            self.count[i] -= 1;
            self.sum[i] -= u64::from(j_out);
            if self.count[i] == 0 {
                self.uncovered += r.weights[i];
            }
        }
        for &i in r.site_demands.row(j_in as usize) {
            let i = i as usize;
            if self.count[i] == 0 {
                self.uncovered -= r.weights[i];
            }
            self.count[i] += 1;
            self.sum[i] += u64::from(j_in);
        }
        self.slot_of[j_out as usize] = NONE;
        self.slot_of[j_in as usize] = slot as u32;
        self.slots[slot] = j_in;
        for &i in &affected {
            self.contribute(r, i as usize, 1.0);
        }
        self.affected = affected;
        j_out
    }

    /// The profit of opening closed site `j` in place of the site in `slot`.
    fn profit(&self, j: usize, slot: usize) -> f64 {
        self.gain[j] - self.loss[self.slots[slot] as usize] + self.extra[j * self.slots.len() + slot]
    }

    /// The best swap (site in, slot) improving coverage by more than `epsilon`. A swap's profit
    /// is at most the gain of the site coming in (what the slot's site covers alone and the new
    /// site covers too is part of its loss), so only sites whose gain beats the best so far are
    /// scanned.
    fn best_swap(&self, state: &[SiteState], epsilon: f64) -> Option<(u32, usize)> {
        let slots = self.slots.len();
        let losses: Vec<f64> = self.slots.iter().map(|&j| self.loss[j as usize]).collect();
        let mut best = (epsilon, None);
        for (j, &gain) in self.gain.iter().enumerate() {
            if gain <= best.0 || state[j] != SiteState::Free || self.slot_of[j] != NONE {
                continue;
            }
            let row = &self.extra[j * slots..(j + 1) * slots];
            for s in 0..slots {
                let profit = gain - losses[s] + row[s];
                if profit > best.0 {
                    best = (profit, Some((j as u32, s)));
                }
            }
        }
        best.1
    }

    /// Best-improvement swaps until none improves by more than `epsilon`; logs each as (site in,
    /// slot, site out).
    fn descend(&mut self, r: &Reduced, state: &[SiteState], epsilon: f64, log: &mut Vec<(u32, usize, u32)>) {
        while let Some((j_in, slot)) = self.best_swap(state, epsilon) {
            let j_out = self.swap(r, j_in, slot);
            log.push((j_in, slot, j_out));
        }
    }

    /// One of the three best closed free sites (not in `removed`) to put in `slot`.
    fn replacement(&self, state: &[SiteState], slot: usize, removed: &[u32], rng: &mut Rng) -> Option<u32> {
        let mut top: [(f64, u32); 3] = [(f64::NEG_INFINITY, NONE); 3];
        for j in 0..self.gain.len() {
            if state[j] != SiteState::Free || self.slot_of[j] != NONE || removed.contains(&(j as u32)) {
                continue;
            }
            let profit = self.profit(j, slot);
            if profit > top[2].0 {
                top[2] = (profit, j as u32);
                top.sort_unstable_by(|a, b| b.0.total_cmp(&a.0));
            }
        }
        let candidates = top.iter().filter(|t| t.1 != NONE).count();
        (candidates > 0).then(|| top[rng.below(candidates as u64) as usize].1)
    }

    /// The open sites, ascending.
    fn open(&self) -> Vec<u32> {
        let mut open: Vec<u32> = self.locked.iter().chain(&self.slots).copied().collect();
        open.sort_unstable();
        open
    }
}

impl Relaxation for Mclp<'_> {
    fn multipliers(&self) -> &[f64] {
        &self.lambda
    }

    fn set_multipliers(&mut self, multipliers: &[f64]) {
        self.lambda.copy_from_slice(multipliers);
        self.sum_lambda = self.lambda.iter().sum();
        for (j, score) in self.scores.iter_mut().enumerate() {
            *score = -self.r.site_demands.row(j).iter().map(|&i| self.lambda[i as usize]).sum::<f64>();
        }
        self.steps = 0;
        self.direction.fill(0.0);
    }

    fn constant(&self) -> f64 {
        self.sum_lambda
    }

    fn scores(&self) -> &[f64] {
        &self.scores
    }

    fn subgradient(&mut self, open: &[u32]) -> f64 {
        for &j in open {
            for &i in self.r.site_demands.row(j as usize) {
                self.count[i as usize] += 1;
            }
        }
        // The projected subgradient g, and its products with the previous direction.
        let (mut dot, mut previous) = (0.0, 0.0);
        for (i, &w) in self.r.weights.iter().enumerate() {
            let g = 1.0 - f64::from(self.count[i]);
            let l = self.lambda[i];
            let g = if (g > 0.0 && l >= w) || (g < 0.0 && l <= 0.0) { 0.0 } else { g };
            self.gradient[i] = g;
            let d = self.direction[i];
            dot += g * d;
            previous += d * d;
        }
        for &j in open {
            for &i in self.r.site_demands.row(j as usize) {
                self.count[i as usize] = 0;
            }
        }
        // Deflection (Camerini, Fratta & Maffioli 1975): add the previous direction when g turns
        // back against it, which damps the zig-zag of plain subgradient steps.
        let beta = if previous > 0.0 { (-DEFLECTION * dot / previous).max(0.0) } else { 0.0 };
        self.moving.clear();
        let mut norm = 0.0;
        for (i, &w) in self.r.weights.iter().enumerate() {
            let mut d = self.gradient[i] + beta * self.direction[i];
            let l = self.lambda[i];
            if (d > 0.0 && l >= w) || (d < 0.0 && l <= 0.0) {
                d = 0.0;
            }
            self.direction[i] = d;
            if d != 0.0 {
                self.moving.push(i as u32);
                norm += d * d;
            }
        }
        norm
    }

    fn step(&mut self, step: f64) {
        self.steps += 1;
        if self.steps % 64 == 0 {
            // Refresh from scratch now and then, so rounding never accumulates.
            let mut lambda = self.lambda.clone();
            for &i in &self.moving {
                let i = i as usize;
                lambda[i] = (lambda[i] + step * self.direction[i]).clamp(0.0, self.r.weights[i]);
            }
            let direction = std::mem::take(&mut self.direction);
            self.set_multipliers(&lambda);
            self.direction = direction;
            return;
        }
        for &i in &self.moving {
            let i = i as usize;
            let new = (self.lambda[i] + step * self.direction[i]).clamp(0.0, self.r.weights[i]);
            let delta = new - self.lambda[i];
            if delta != 0.0 {
                self.lambda[i] = new;
                self.sum_lambda += delta;
                for &j in self.r.demand_sites.row(i) {
                    self.scores[j as usize] -= delta;
                }
            }
        }
    }

    fn evaluate(&mut self, open: &[u32]) -> f64 {
        self.uncovered(open)
    }

    fn perturb(&mut self, start: &Incumbent, state: &[SiteState], rounds: usize, deadline: Instant, rng: &mut Rng) -> Incumbent {
        self.search(start, state, rounds, deadline, rng)
    }

    fn improve(&mut self, open: &mut Vec<u32>, state: &[SiteState]) -> f64 {
        let r = self.r;
        let ic = &mut self.interchange;
        ic.load(r, open, state);
        let epsilon = 1e-9 * r.total.max(1.0);
        let mut log = Vec::new();
        ic.descend(r, state, epsilon, &mut log);
        *open = ic.open();
        self.uncovered(open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reduction_merges_identical_demands_and_drops_those_fixed_sites_cover() {
        let cover =
            Coverage::new(vec![1.0, 2.0, 3.0, 0.0, 4.0, 5.0], 4, vec![vec![0, 1], vec![1, 0], vec![2], vec![3], vec![], vec![3, 1]])
                .unwrap()
                .with_fixed(&[3])
                .unwrap();
        let r = Reduced::new(&cover);
        assert_eq!(r.site_map, vec![0, 1, 2]);
        assert_eq!(r.weights, vec![3.0, 3.0]);
        assert_eq!(r.base, 5.0);
        assert_eq!(r.total, 6.0);
        assert_eq!(r.demand_sites.row(0), &[0, 1]);
        assert_eq!(r.site_demands.row(1), &[0]);
    }

    #[test]
    fn interchange_finds_the_swap_a_greedy_start_misses() {
        // Site 0 covers a + b (6), site 1 a + c (5), site 2 b + d (5): greedy opens 0 then 1 (8), but 1 + 2 cover all 10.
        let cover = Coverage::new(vec![3.0, 3.0, 2.0, 2.0], 3, vec![vec![0, 1], vec![0, 2], vec![1], vec![2]]).unwrap();
        let r = Reduced::new(&cover);
        let mut mclp = Mclp::new(&r);
        let state = vec![SiteState::Free; 3];
        let mut open = Vec::new();
        mclp.greedy(&mut open, 2, &state);
        assert_eq!(open, vec![0, 1]);
        assert_eq!(mclp.evaluate(&open), 2.0);
        assert_eq!(mclp.improve(&mut open, &state), 0.0);
        assert_eq!(open, vec![1, 2]);
    }
}
