//! Inspectors' beats: each beat's workload, and a redistricting proposal that balances workload
//! across `N` district inspectors with compact, contiguous beats.
//!
//! The territory is cut by the caller into small areal [`Unit`]s (grid cells clipped to the
//! territory, in projected metres) with a workload each (a weighted sum of incidents, calls,
//! facilities, street length …), and an adjacency between them (rook or queen neighbours). A beat
//! is a set of units; an assignment gives each unit its beat.
//!
//! - [`beat_summary`] describes an assignment: per beat its units, workload, area, compactness and
//!   whether it is contiguous, and the imbalance between beats.
//! - [`redistrict`] proposes an assignment from scratch, or improves an existing one while keeping
//!   its beat numbers, and reports the imbalance before and after.
//!
//! # Compactness
//!
//! Polsby–Popper needs a perimeter, which is awkward for a union of cells. Beats are measured by
//! their moment of inertia instead (the criterion of Hess et al. 1965, here weighted by area): a
//! beat of area A whose polar moment of inertia about its centroid is I has compactness
//! `A² / (2π I)`: 1 for a disc, the most compact shape, 0.955 for a square, 0.76 for a 2 × 1
//! rectangle, less for anything elongated or ragged. Each unit counts as a square of its area at
//! its centre (`I = Σ a·r² + a²/6`, the parallel-axis theorem), which is exact for square cells and
//! close for hexagons or clipped cells.
//!
//! # Objective
//!
//! With T the mean workload per beat (total / N), `d_b = (W_b − T) / T` a beat's relative
//! deviation, τ the tolerance and λ the compactness weight, [`redistrict`] minimises, in this
//! order (lexicographically):
//!
//! 1. the **excess** `E = Σ_b max(0, |d_b| − τ)`: how far beats are outside the tolerance, and
//!    then, with E as small as found,
//! 2. `F = Σ_b d_b² + λ · Σ_b 1 / compactness_b`.
//!
//! The local search never makes a move that increases E, so once every beat is within the
//! tolerance they stay within it, and `max_to_mean ≤ 1 + τ`. When no beat can be within the tolerance (a single unit
//! heavier than the tolerance allows, say), E is only minimised and `after` shows what was
//! achieved. A workload of zero everywhere makes `d_b = 0`: only compactness counts.
//!
//! # Method
//!
//! 1. **Seeds.** With no start, beats are shared among the connected components of the adjacency
//!    by the D'Hondt rule on their workload (area, when there is no workload); in each component
//!    the seeds are drawn k-means++-like (Arthur & Vassilvitskii 2007) with probability ∝
//!    (workload + its mean) × squared distance to the nearest seed, so they fall far apart and on
//!    the busy places.
//! 2. **Region growing.** The beat with the least `W/T + ½ A/Ā` (Ā = mean area per beat) takes
//!    its unassigned neighbouring unit nearest its seed, until no beat can grow. Beats stay
//!    contiguous by construction.
//! 3. **Islands.** Components that received no beat (D'Hondt gave them none: roughly, they hold
//!    less than one beat's share of the workload) are attached whole to the beat of the nearest unit and listed in
//!    [`Redistricting::attached`]; those beats are then not contiguous (an island cannot be), so
//!    their `pieces` exceed 1.
//! 4. **Local search** (AZP, Openshaw & Rao 1995): moves of one boundary unit to a neighbouring
//!    beat, never emptying a beat and never disconnecting the donor (a graph search from one of the
//!    unit's neighbours in the donor, without the unit, which stops as soon as it has reached the
//!    others: a few steps on a grid). Moves are proposed at random and accepted by simulated annealing
//!    (AZP-SA; as D'Amico et al. 2002 for police districting, and one of the local searches Ricca
//!    & Simeone 2008 compare for political districting) on the lexicographic objective above: the
//!    first temperature accepts a typical worsening move with probability 0.3, and it falls
//!    geometrically by 10³ over [`RedistrictParams::sweeps`] sweeps of `n` proposals. The best
//!    assignment seen is then polished by descent passes (each unit in turn takes its best
//!    improving move) until no move improves.
//!
//! With a **start** (an existing assignment): each of its beats keeps its heaviest connected piece,
//! the rest is released; beats that are empty (an inspector added) are seeded in a component
//! without a beat, or else in the farthest unassigned area when it holds at least half a beat's
//! workload, or else by splitting the heaviest beat in two; unassigned units are grown into as
//! above, then the local search runs. Beat numbers are kept.
//!
//! Everything is deterministic for a seed, unless [`RedistrictParams::time_limit`] cuts the
//! annealing short ([`Redistricting::timed_out`]).
//!
//! References: Hess, Weaver, Siegfeldt, Whelan & Zitlau 1965, *Nonpartisan political redistricting
//! by computer* (Operations Research 13); Openshaw & Rao 1995, *Algorithms for reengineering 1991
//! Census geography* (Environment and Planning A 27); D'Amico, Wang, Batta & Rump 2002, *A
//! simulated annealing approach to police district design* (Computers & Operations Research 29);
//! Arthur & Vassilvitskii 2007, *k-means++*; Ricca & Simeone 2008, *Local search algorithms for
//! political districting* (European Journal of Operational Research 189).
//!
//! # Complexity
//!
//! n units, m adjacency pairs, N beats, S sweeps: validation O(m log m); seeds O(N · n); growth
//! O((n + m) log n); islands O(island units × n); each start repair O(n + m) per empty beat; the
//! annealing S · n proposals, each O(1) for the objective plus the donor check, O(1) on grids and
//! O(beat size) at worst; each descent pass O(m) plus the checks; the summary O(n + m). Memory
//! O(n + m). 5,000 grid cells into 30 beats take well under a second in release builds.
//!
//! # Example
//!
//! ```
//! use qalqan_planning::beats::{RedistrictParams, Unit, beat_summary, redistrict};
//!
//! // Four cells in a row, 100 m apart; the first is busy.
//! let units: Vec<Unit> = [3.0, 1.0, 1.0, 1.0]
//!     .iter()
//!     .enumerate()
//!     .map(|(i, &workload)| Unit { x: 100.0 * i as f64, y: 0.0, area_m2: 10_000.0, workload })
//!     .collect();
//! let adjacency = vec![vec![1], vec![0, 2], vec![1, 3], vec![2]];
//!
//! let today = beat_summary(&units, &adjacency, &[Some(0), Some(0), Some(1), Some(1)], 2).unwrap();
//! assert_eq!((today.beats[0].workload, today.beats[1].workload), (4.0, 2.0));
//!
//! let params = RedistrictParams { beats: 2, ..RedistrictParams::default() };
//! let plan = redistrict(&units, &adjacency, &params).unwrap();
//! assert_eq!(plan.after.max_to_mean, 1.0); // 3 | 1 + 1 + 1
//! assert!(plan.assignment[0] != plan.assignment[1]);
//! assert!(plan.after.all_contiguous());
//! ```

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::f64::consts::PI;
use std::time::{Duration, Instant};

use qalqan_analysis::rng::Rng;

use crate::PlanningError;

/// No beat (yet), inside this module.
const NONE: u32 = u32::MAX;
/// Differences of the excess below this are ties.
const EPS: f64 = 1e-12;
/// Weight of the area share next to the workload share when beats grow.
const AREA_IN_GROWTH: f64 = 0.5;
/// Probability of accepting a typical worsening move at the first temperature.
const FIRST_ACCEPTANCE: f64 = 0.3;
/// Last temperature relative to the first.
const COOLING: f64 = 1e-3;
/// At most this many steepest-descent passes after the annealing.
const DESCENT_PASSES: usize = 200;

/// One areal unit: a grid cell clipped to the territory, in projected metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Unit {
    /// Easting of the unit's centre, metres.
    pub x: f64,
    /// Northing of the unit's centre, metres.
    pub y: f64,
    /// Area, m² (finite, > 0).
    pub area_m2: f64,
    /// Workload (finite, ≥ 0), in whatever units the caller weighs incidents, calls, facilities
    /// and street length in.
    pub workload: f64,
}

/// Parameters of [`redistrict`].
#[derive(Debug, Clone, PartialEq)]
pub struct RedistrictParams {
    /// Number of beats (inspectors): at least 1, at most the number of units. Default 1.
    pub beats: usize,
    /// Allowed deviation of a beat's workload from the mean, as a fraction (finite, ≥ 0).
    /// Default 0.10: every beat within ±10 % of the mean.
    pub tolerance: f64,
    /// λ, the weight of compactness (Σ 1/compactness over beats) against balance (Σ d_b²)
    /// once the tolerance is met (finite, ≥ 0). Default 0.1: moving a boundary cell that improves
    /// a beat's shape by a few per cent is worth a few per cent of imbalance inside the tolerance.
    /// 0 balances only.
    pub compactness_weight: f64,
    /// Annealing sweeps; each proposes as many moves as there are units. Default 400.
    pub sweeps: usize,
    /// Wall-clock budget of the annealing; when it runs out the best assignment so far is
    /// polished and returned (no longer reproducible from the seed). Default 30 s.
    pub time_limit: Duration,
    /// Seed of the seeds and of the annealing. Default 1.
    pub seed: u64,
    /// An existing assignment to improve from (one entry per unit, `None` for units without a
    /// beat), keeping its beat numbers. Its beat numbers must be below `beats`; beats it leaves
    /// empty (inspectors added) are seeded. Default `None`: start from scratch.
    pub start: Option<Vec<Option<u32>>>,
}

impl Default for RedistrictParams {
    fn default() -> Self {
        Self { beats: 1, tolerance: 0.10, compactness_weight: 0.1, sweeps: 400, time_limit: Duration::from_secs(30), seed: 1, start: None }
    }
}

/// One beat of a [`BeatSummary`].
#[derive(Debug, Clone, PartialEq)]
pub struct Beat {
    /// Units in the beat.
    pub units: usize,
    /// Σ workload of its units.
    pub workload: f64,
    /// Σ area of its units, m².
    pub area_m2: f64,
    /// Area-weighted centroid (x, y), metres; `None` for an empty beat.
    pub centroid: Option<(f64, f64)>,
    /// `A² / (2π I)` (1 for a disc, see the module docs); `None` for an empty beat.
    pub compactness: Option<f64>,
    /// Connected pieces of the beat in the adjacency: 1 when contiguous, 0 when empty.
    pub pieces: usize,
}

impl Beat {
    /// One piece: non-empty and contiguous.
    pub fn is_contiguous(&self) -> bool {
        self.pieces == 1
    }
}

/// Beats of an assignment and the imbalance between them.
///
/// Imbalance measures are relative to the mean workload per beat (assigned workload / beats, empty
/// beats included). When the mean is 0 (no workload) the beats are equal: `max_to_mean` is 1 and the
/// others 0.
#[derive(Debug, Clone, PartialEq)]
pub struct BeatSummary {
    /// Beat `b` at index `b`.
    pub beats: Vec<Beat>,
    /// Units without a beat.
    pub unassigned: usize,
    /// Mean workload per beat.
    pub mean_workload: f64,
    /// Largest workload / mean.
    pub max_to_mean: f64,
    /// Largest |workload − mean| / mean: the smallest tolerance this assignment meets.
    pub max_deviation: f64,
    /// Population standard deviation of the workloads / mean.
    pub coefficient_of_variation: f64,
    /// (largest − smallest workload) / mean.
    pub range_to_mean: f64,
}

impl BeatSummary {
    /// Every beat non-empty and contiguous.
    pub fn all_contiguous(&self) -> bool {
        self.beats.iter().all(Beat::is_contiguous)
    }
}

/// A redistricting proposal from [`redistrict`].
#[derive(Debug, Clone, PartialEq)]
pub struct Redistricting {
    /// The beat of each unit; every beat has at least one unit.
    pub assignment: Vec<u32>,
    /// The summary of [`RedistrictParams::start`] as given, when there was one.
    pub before: Option<BeatSummary>,
    /// The summary of `assignment`.
    pub after: BeatSummary,
    /// Units of islands (connected components of the adjacency) too small for a beat of their
    /// own, attached to the beat of the nearest unit; ascending. Their beats are not contiguous.
    pub attached: Vec<u32>,
    /// Moves evaluated (annealing and descent).
    pub iterations: u64,
    /// Moves made.
    pub moves: u64,
    /// The seed used.
    pub seed: u64,
    /// The annealing was cut short by the time limit (the result then depends on the machine).
    pub timed_out: bool,
    /// Wall-clock seconds.
    pub seconds: f64,
}

/// Describes `assignment` (one entry per unit, `None` for a unit without a beat) as `beats` beats.
///
/// Validates the units and the adjacency as [`redistrict`] does; every beat number must be below
/// `beats`. Cost O(n + m log m) for n units and m adjacency pairs.
///
/// ```
/// use qalqan_planning::beats::{Unit, beat_summary};
/// let cell = |x: f64, workload: f64| Unit { x, y: 0.0, area_m2: 1.0, workload };
/// let units = [cell(0.0, 2.0), cell(1.0, 2.0), cell(2.0, 2.0)];
/// let adjacency = vec![vec![1], vec![0, 2], vec![1]];
/// // Beat 0 holds the two ends, which do not touch: two pieces.
/// let s = beat_summary(&units, &adjacency, &[Some(0), Some(1), Some(0)], 2).unwrap();
/// assert_eq!((s.beats[0].pieces, s.beats[1].pieces), (2, 1));
/// assert_eq!((s.mean_workload, s.max_to_mean, s.range_to_mean), (3.0, 4.0 / 3.0, 2.0 / 3.0));
/// // One square cell: 1 / (2π / 6).
/// assert!((s.beats[1].compactness.unwrap() - 3.0 / std::f64::consts::PI).abs() < 1e-12);
/// assert!(beat_summary(&units, &adjacency, &[Some(0), Some(2), None], 2).is_err());
/// ```
pub fn beat_summary(
    units: &[Unit],
    adjacency: &[Vec<u32>],
    assignment: &[Option<u32>],
    beats: usize,
) -> Result<BeatSummary, PlanningError> {
    validate_units(units)?;
    let graph = Graph::new(adjacency, units.len())?;
    let assignment = checked_assignment(assignment, units.len(), beats, "assignment")?;
    Ok(summarise(units, &graph, &assignment, beats))
}

/// Proposes beats for `params.beats` inspectors: contiguous, compact, each within
/// `params.tolerance` of the mean workload when that can be done. See the module docs for the
/// objective, the method and its cost.
///
/// Errors: a unit with a non-finite coordinate, an area that is not > 0, or a workload that is not
/// finite and ≥ 0; an adjacency of the wrong length, naming a unit that does not exist or the unit
/// itself, or not symmetric; `beats` 0 or more than the units; a tolerance or compactness weight
/// that is not finite and ≥ 0; a start of the wrong length or naming a beat ≥ `beats`.
///
/// ```
/// use qalqan_planning::beats::{RedistrictParams, Unit, redistrict};
///
/// // A 6 × 4 grid of 100 m cells; the two western columns are three times as busy.
/// let (w, h) = (6usize, 4usize);
/// let units: Vec<Unit> = (0..w * h)
///     .map(|i| Unit {
///         x: (i % w) as f64 * 100.0,
///         y: (i / w) as f64 * 100.0,
///         area_m2: 10_000.0,
///         workload: if i % w < 2 { 3.0 } else { 1.0 },
///     })
///     .collect();
/// let adjacency: Vec<Vec<u32>> = (0..w * h)
///     .map(|i| {
///         let (c, r) = (i % w, i / w);
///         let mut next = Vec::new();
///         if c > 0 { next.push(i - 1) }
///         if c + 1 < w { next.push(i + 1) }
///         if r > 0 { next.push(i - w) }
///         if r + 1 < h { next.push(i + w) }
///         next.into_iter().map(|j| j as u32).collect()
///     })
///     .collect();
///
/// // Today: a west and an east beat of three columns each, 28 against 12.
/// let today: Vec<Option<u32>> = (0..w * h).map(|i| Some(u32::from(i % w >= 3))).collect();
/// let params = RedistrictParams { beats: 2, start: Some(today), ..RedistrictParams::default() };
/// let plan = redistrict(&units, &adjacency, &params).unwrap();
///
/// assert_eq!(plan.before.as_ref().unwrap().max_to_mean, 1.4);
/// assert!(plan.after.max_to_mean <= 1.1); // 20 each would be perfect
/// assert!(plan.after.all_contiguous());
/// // Beat numbers are kept: beat 0 is still the western one.
/// let x = |b: usize| plan.after.beats[b].centroid.unwrap().0;
/// assert!(x(0) < x(1));
/// assert_eq!(plan.assignment, redistrict(&units, &adjacency, &params).unwrap().assignment); // same seed
/// ```
pub fn redistrict(units: &[Unit], adjacency: &[Vec<u32>], params: &RedistrictParams) -> Result<Redistricting, PlanningError> {
    let clock = Instant::now();
    validate_units(units)?;
    let graph = Graph::new(adjacency, units.len())?;
    let n = units.len();
    let beats = params.beats;
    if beats == 0 || beats > n {
        return Err(PlanningError::InvalidParameter { name: "beats", reason: format!("{beats} must be between 1 and the {n} units") });
    }
    if !(params.tolerance.is_finite() && params.tolerance >= 0.0) {
        return Err(PlanningError::InvalidParameter {
            name: "tolerance", reason: format!("{} must be finite and ≥ 0", params.tolerance)
        });
    }
    if !(params.compactness_weight.is_finite() && params.compactness_weight >= 0.0) {
        return Err(PlanningError::InvalidParameter {
            name: "compactness weight",
            reason: format!("{} must be finite and ≥ 0", params.compactness_weight),
        });
    }
    let start = params.start.as_deref().map(|s| checked_assignment(s, n, beats, "start")).transpose()?;
    let before = start.as_ref().map(|s| summarise(units, &graph, s, beats));

    let problem = Problem::new(units, beats, params.tolerance, params.compactness_weight);
    let components = Components::new(&graph);
    let mut rng = Rng::seed(params.seed);
    let mut assign = match start {
        Some(s) if s.iter().any(|&b| b != NONE) => repair(s, &problem, &graph, &components),
        _ => seed(&problem, &components, &mut rng),
    };
    grow(&mut assign, &problem, &graph);
    let attached = attach_islands(&mut assign, units, &components);

    let mut search = Search::new(&problem, &graph, assign);
    let deadline = clock + params.time_limit;
    let timed_out = search.anneal(params.sweeps, deadline, &mut rng);
    search.descend();
    let assignment = search.assign;
    let after = summarise(units, &graph, &assignment, beats);
    Ok(Redistricting {
        assignment,
        before,
        after,
        attached,
        iterations: search.iterations,
        moves: search.moves,
        seed: params.seed,
        timed_out,
        seconds: clock.elapsed().as_secs_f64(),
    })
}

fn validate_units(units: &[Unit]) -> Result<(), PlanningError> {
    if units.len() >= NONE as usize {
        return Err(PlanningError::InvalidParameter { name: "units", reason: format!("{} are more than {}", units.len(), NONE - 1) });
    }
    for (index, u) in units.iter().enumerate() {
        let reason = if !(u.x.is_finite() && u.y.is_finite()) {
            format!("coordinates ({}, {}) must be finite", u.x, u.y)
        } else if !(u.area_m2.is_finite() && u.area_m2 > 0.0) {
            format!("area {} m² must be finite and > 0", u.area_m2)
        } else if !(u.workload.is_finite() && u.workload >= 0.0) {
            format!("workload {} must be finite and ≥ 0", u.workload)
        } else {
            continue;
        };
        return Err(PlanningError::InvalidUnit { index, reason });
    }
    Ok(())
}

/// The assignment with `NONE` for `None`, checked against `n` units and `beats` beats.
fn checked_assignment(assignment: &[Option<u32>], n: usize, beats: usize, what: &'static str) -> Result<Vec<u32>, PlanningError> {
    if assignment.len() != n {
        return Err(PlanningError::LengthMismatch { what, expected: n, got: assignment.len() });
    }
    assignment
        .iter()
        .enumerate()
        .map(|(i, b)| match *b {
            None => Ok(NONE),
            Some(b) if (b as usize) < beats => Ok(b),
            Some(b) => {
                Err(PlanningError::InvalidParameter { name: what, reason: format!("unit {i} is in beat {b}, but there are {beats} beats") })
            }
        })
        .collect()
}

/// The adjacency as sorted, deduplicated neighbour lists (CSR), checked.
struct Graph {
    offsets: Vec<usize>,
    items: Vec<u32>,
}

impl Graph {
    fn new(adjacency: &[Vec<u32>], n: usize) -> Result<Self, PlanningError> {
        if adjacency.len() != n {
            return Err(PlanningError::LengthMismatch { what: "adjacency (one list per unit)", expected: n, got: adjacency.len() });
        }
        let mut offsets = Vec::with_capacity(n + 1);
        offsets.push(0);
        let mut items = Vec::with_capacity(adjacency.iter().map(Vec::len).sum());
        let mut row = Vec::new();
        for (unit, list) in adjacency.iter().enumerate() {
            row.clear();
            row.extend_from_slice(list);
            row.sort_unstable();
            row.dedup();
            if let Some(&j) = row.iter().find(|&&j| j as usize >= n) {
                return Err(PlanningError::InvalidAdjacency { unit, reason: format!("neighbour {j} is not a unit (there are {n})") });
            }
            if row.binary_search(&(unit as u32)).is_ok() {
                return Err(PlanningError::InvalidAdjacency { unit, reason: "lists itself as a neighbour".to_owned() });
            }
            items.extend_from_slice(&row);
            offsets.push(items.len());
        }
        let graph = Self { offsets, items };
        for unit in 0..n {
            if let Some(&j) = graph.row(unit).iter().find(|&&j| graph.row(j as usize).binary_search(&(unit as u32)).is_err()) {
                return Err(PlanningError::InvalidAdjacency {
                    unit,
                    reason: format!("lists {j} as a neighbour, but {j} does not list {unit} (the adjacency must be symmetric)"),
                });
            }
        }
        Ok(graph)
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn row(&self, i: usize) -> &[u32] {
        &self.items[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// Connected components of the adjacency: the members of each, ascending; components are
/// numbered in order of their smallest unit.
struct Components {
    members: Vec<Vec<u32>>,
}

impl Components {
    fn new(graph: &Graph) -> Self {
        let mut label = vec![NONE; graph.len()];
        let mut members = Vec::new();
        let mut queue = VecDeque::new();
        for s in 0..graph.len() {
            if label[s] != NONE {
                continue;
            }
            let c = members.len() as u32;
            let mut list = vec![s as u32];
            label[s] = c;
            queue.push_back(s as u32);
            while let Some(u) = queue.pop_front() {
                for &v in graph.row(u as usize) {
                    if label[v as usize] == NONE {
                        label[v as usize] = c;
                        list.push(v);
                        queue.push_back(v);
                    }
                }
            }
            list.sort_unstable();
            members.push(list);
        }
        Self { members }
    }
}

fn summarise(units: &[Unit], graph: &Graph, assignment: &[u32], beats: usize) -> BeatSummary {
    let mut count = vec![0usize; beats];
    let mut workload = vec![0.0; beats];
    let mut area = vec![0.0; beats];
    let mut ax = vec![0.0; beats];
    let mut ay = vec![0.0; beats];
    for (u, &b) in units.iter().zip(assignment) {
        if b == NONE {
            continue;
        }
        let b = b as usize;
        count[b] += 1;
        workload[b] += u.workload;
        area[b] += u.area_m2;
        ax[b] += u.area_m2 * u.x;
        ay[b] += u.area_m2 * u.y;
    }
    let centroid: Vec<(f64, f64)> =
        (0..beats).map(|b| if count[b] > 0 { (ax[b] / area[b], ay[b] / area[b]) } else { (0.0, 0.0) }).collect();
    let mut inertia = vec![0.0; beats];
    for (u, &b) in units.iter().zip(assignment) {
        if b != NONE {
            let (cx, cy) = centroid[b as usize];
            inertia[b as usize] += u.area_m2 * ((u.x - cx).powi(2) + (u.y - cy).powi(2)) + u.area_m2 * u.area_m2 / 6.0;
        }
    }
    let mut pieces = vec![0usize; beats];
    let mut seen = vec![false; units.len()];
    let mut queue = Vec::new();
    for s in 0..units.len() {
        let b = assignment[s];
        if b == NONE || seen[s] {
            continue;
        }
        pieces[b as usize] += 1;
        seen[s] = true;
        queue.push(s as u32);
        while let Some(u) = queue.pop() {
            for &v in graph.row(u as usize) {
                if assignment[v as usize] == b && !seen[v as usize] {
                    seen[v as usize] = true;
                    queue.push(v);
                }
            }
        }
    }
    let beat_list: Vec<Beat> = (0..beats)
        .map(|b| Beat {
            units: count[b],
            workload: workload[b],
            area_m2: area[b],
            centroid: (count[b] > 0).then_some(centroid[b]),
            compactness: (count[b] > 0).then(|| area[b] * area[b] / (2.0 * PI * inertia[b])),
            pieces: pieces[b],
        })
        .collect();
    let mean = workload.iter().sum::<f64>() / beats as f64;
    let max = workload.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let min = workload.iter().copied().fold(f64::INFINITY, f64::min);
    let (max_to_mean, max_deviation, coefficient_of_variation, range_to_mean) = if mean > 0.0 {
        let variance = workload.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / beats as f64;
        (max / mean, (max - mean).max(mean - min) / mean, variance.sqrt() / mean, (max - min) / mean)
    } else {
        (1.0, 0.0, 0.0, 0.0)
    };
    BeatSummary {
        beats: beat_list,
        unassigned: assignment.iter().filter(|&&b| b == NONE).count(),
        mean_workload: mean,
        max_to_mean,
        max_deviation,
        coefficient_of_variation,
        range_to_mean,
    }
}

/// A unit's contribution to its beat's sums, in coordinates centred on the territory.
#[derive(Debug, Clone, Copy, Default)]
struct Mass {
    workload: f64,
    area: f64,
    ax: f64,
    ay: f64,
    ar2: f64,
    own: f64,
}

/// Sums over a beat's units, from which its workload, area and moment of inertia follow.
#[derive(Debug, Clone, Copy, Default)]
struct Stats {
    count: u32,
    sum: Mass,
}

impl Stats {
    fn add(&mut self, m: &Mass) {
        self.count += 1;
        let s = &mut self.sum;
        s.workload += m.workload;
        s.area += m.area;
        s.ax += m.ax;
        s.ay += m.ay;
        s.ar2 += m.ar2;
        s.own += m.own;
    }

    fn without(mut self, m: &Mass) -> Self {
        self.count -= 1;
        let s = &mut self.sum;
        s.workload -= m.workload;
        s.area -= m.area;
        s.ax -= m.ax;
        s.ay -= m.ay;
        s.ar2 -= m.ar2;
        s.own -= m.own;
        self
    }

    fn with(mut self, m: &Mass) -> Self {
        self.add(m);
        self
    }
}

/// The units as masses and the constants of the objective.
struct Problem<'a> {
    units: &'a [Unit],
    mass: Vec<Mass>,
    beats: usize,
    /// Mean workload per beat (T).
    target: f64,
    /// Mean area per beat (Ā).
    mean_area: f64,
    tolerance: f64,
    lambda: f64,
}

impl<'a> Problem<'a> {
    fn new(units: &'a [Unit], beats: usize, tolerance: f64, lambda: f64) -> Self {
        let n = units.len() as f64;
        let (cx, cy) = (units.iter().map(|u| u.x).sum::<f64>() / n, units.iter().map(|u| u.y).sum::<f64>() / n);
        let mass = units
            .iter()
            .map(|u| {
                let (x, y, a) = (u.x - cx, u.y - cy, u.area_m2);
                Mass { workload: u.workload, area: a, ax: a * x, ay: a * y, ar2: a * (x * x + y * y), own: a * a / 6.0 }
            })
            .collect();
        let total_workload: f64 = units.iter().map(|u| u.workload).sum();
        let total_area: f64 = units.iter().map(|u| u.area_m2).sum();
        Self { units, mass, beats, target: total_workload / beats as f64, mean_area: total_area / beats as f64, tolerance, lambda }
    }

    /// A beat's (excess, objective) terms.
    fn score(&self, s: &Stats) -> (f64, f64) {
        let d = if self.target > 0.0 { (s.sum.workload - self.target) / self.target } else { 0.0 };
        let excess = (d.abs() - self.tolerance).max(0.0);
        let shape = if s.count == 0 || s.sum.area <= 0.0 {
            0.0
        } else {
            let spread = (s.sum.ar2 - (s.sum.ax * s.sum.ax + s.sum.ay * s.sum.ay) / s.sum.area).max(0.0);
            2.0 * PI * (s.sum.own + spread) / (s.sum.area * s.sum.area)
        };
        (excess, d * d + self.lambda * shape)
    }

    /// The growth priority of a beat: lower grows first.
    fn growth_key(&self, workload: f64, area: f64) -> f64 {
        let w = if self.target > 0.0 { workload / self.target } else { 0.0 };
        w + AREA_IN_GROWTH * area / self.mean_area
    }
}

/// Seeds from scratch: beats shared among components by D'Hondt, seeds k-means++-like.
fn seed(problem: &Problem, components: &Components, rng: &mut Rng) -> Vec<u32> {
    let units = problem.units;
    let sums: Vec<(f64, f64)> = components
        .members
        .iter()
        .map(|c| c.iter().fold((0.0, 0.0), |(w, a), &i| (w + units[i as usize].workload, a + units[i as usize].area_m2)))
        .collect();
    let mut share = vec![0usize; sums.len()];
    for _ in 0..problem.beats {
        let mut best: Option<(usize, (f64, f64))> = None;
        for (c, &(w, a)) in sums.iter().enumerate() {
            if share[c] >= components.members[c].len() {
                continue;
            }
            let k = (share[c] + 1) as f64;
            let quotient = (w / k, a / k);
            if best.is_none_or(|(_, q)| quotient.0 > q.0 || (quotient.0 == q.0 && quotient.1 > q.1)) {
                best = Some((c, quotient));
            }
        }
        if let Some((c, _)) = best {
            share[c] += 1;
        }
    }
    let mut assign = vec![NONE; units.len()];
    let mut next_beat = 0u32;
    for (c, &k) in share.iter().enumerate() {
        for s in kmeans_pp(&components.members[c], k, units, rng) {
            assign[s as usize] = next_beat;
            next_beat += 1;
        }
    }
    assign
}

/// `k` distinct seeds among `members`: the first with probability ∝ workload + mean workload,
/// the others ∝ that × squared distance to the nearest seed.
fn kmeans_pp(members: &[u32], k: usize, units: &[Unit], rng: &mut Rng) -> Vec<u32> {
    let mut seeds = Vec::with_capacity(k);
    if k == 0 {
        return seeds;
    }
    let mean = members.iter().map(|&i| units[i as usize].workload).sum::<f64>() / members.len() as f64;
    let base = if mean > 0.0 { mean } else { 1.0 };
    let weight: Vec<f64> = members.iter().map(|&i| units[i as usize].workload + base).collect();
    let mut d2 = vec![f64::INFINITY; members.len()];
    let mut chosen = vec![false; members.len()];
    while seeds.len() < k {
        let p: Vec<f64> = (0..members.len())
            .map(|m| {
                if chosen[m] {
                    0.0
                } else if seeds.is_empty() {
                    weight[m]
                } else {
                    weight[m] * d2[m]
                }
            })
            .collect();
        let total: f64 = p.iter().sum();
        let pick = if total > 0.0 && total.is_finite() {
            let mut r = rng.unit() * total;
            let mut pick = None;
            for (m, &pm) in p.iter().enumerate() {
                if pm > 0.0 {
                    pick = Some(m);
                    if r < pm {
                        break;
                    }
                    r -= pm;
                }
            }
            pick
        } else {
            None
        };
        // Duplicated positions leave only zero weights: take the first unit not yet chosen.
        let Some(m) = pick.or_else(|| chosen.iter().position(|&c| !c)) else { break };
        chosen[m] = true;
        let s = units[members[m] as usize];
        seeds.push(members[m]);
        for (d, &i) in d2.iter_mut().zip(members) {
            let u = units[i as usize];
            *d = d.min((u.x - s.x).powi(2) + (u.y - s.y).powi(2));
        }
    }
    seeds
}

/// Makes a start usable: each beat keeps its heaviest connected piece, and every empty beat is
/// seeded (see the module docs).
fn repair(mut assign: Vec<u32>, problem: &Problem, graph: &Graph, components: &Components) -> Vec<u32> {
    let units = problem.units;
    let n = units.len();
    // Pieces of every beat; keep the heaviest (then largest, then first found).
    let mut piece = vec![NONE; n];
    let mut best: Vec<Option<(u32, f64, usize)>> = vec![None; problem.beats];
    let mut stack = Vec::new();
    let mut pieces = 0u32;
    for s in 0..n {
        let b = assign[s];
        if b == NONE || piece[s] != NONE {
            continue;
        }
        let (mut w, mut size) = (0.0, 0usize);
        piece[s] = pieces;
        stack.push(s as u32);
        while let Some(u) = stack.pop() {
            w += units[u as usize].workload;
            size += 1;
            for &v in graph.row(u as usize) {
                if assign[v as usize] == b && piece[v as usize] == NONE {
                    piece[v as usize] = pieces;
                    stack.push(v);
                }
            }
        }
        let slot = &mut best[b as usize];
        if slot.is_none_or(|(_, bw, bs)| w > bw || (w == bw && size > bs)) {
            *slot = Some((pieces, w, size));
        }
        pieces += 1;
    }
    for i in 0..n {
        if assign[i] != NONE && best[assign[i] as usize].is_none_or(|(p, _, _)| p != piece[i]) {
            assign[i] = NONE;
        }
    }
    for empty in 0..problem.beats as u32 {
        if best[empty as usize].is_none() {
            seed_empty_beat(&mut assign, empty, problem, graph, components);
        }
    }
    assign
}

/// Gives the empty beat `e` a first unit (or, by splitting, a share of the heaviest beat).
fn seed_empty_beat(assign: &mut [u32], e: u32, problem: &Problem, graph: &Graph, components: &Components) {
    let units = problem.units;
    let n = units.len();
    let half = |w: f64, a: f64| if problem.target > 0.0 { w >= 0.5 * problem.target } else { a >= 0.5 * problem.mean_area };
    // 1. The heaviest component without a beat, if it holds half a beat: its unit nearest its centroid.
    let mut lonely: Option<(usize, f64, f64)> = None;
    for (c, members) in components.members.iter().enumerate() {
        if members.iter().any(|&i| assign[i as usize] != NONE) {
            continue;
        }
        let (w, a) = members.iter().fold((0.0, 0.0), |(w, a), &i| (w + units[i as usize].workload, a + units[i as usize].area_m2));
        if half(w, a) && lonely.is_none_or(|(_, bw, ba)| w > bw || (w == bw && a > ba)) {
            lonely = Some((c, w, a));
        }
    }
    if let Some((c, _, a)) = lonely {
        let members = &components.members[c];
        let cx = members.iter().map(|&i| units[i as usize].area_m2 * units[i as usize].x).sum::<f64>() / a;
        let cy = members.iter().map(|&i| units[i as usize].area_m2 * units[i as usize].y).sum::<f64>() / a;
        let nearest = members.iter().copied().min_by(|&i, &j| {
            let d = |k: u32| (units[k as usize].x - cx).powi(2) + (units[k as usize].y - cy).powi(2);
            d(i).total_cmp(&d(j))
        });
        if let Some(s) = nearest {
            assign[s as usize] = e;
            return;
        }
    }
    // 2. Unassigned units reachable from beats, if they hold half a beat: the one farthest (in
    //    steps) from every beat.
    let mut hops = vec![u32::MAX; n];
    let mut queue: VecDeque<u32> = (0..n as u32).filter(|&i| assign[i as usize] != NONE).collect();
    for &i in &queue {
        hops[i as usize] = 0;
    }
    let (mut free_w, mut free_a, mut farthest) = (0.0, 0.0, None::<u32>);
    while let Some(u) = queue.pop_front() {
        if assign[u as usize] == NONE {
            free_w += units[u as usize].workload;
            free_a += units[u as usize].area_m2;
            farthest = Some(u);
        }
        for &v in graph.row(u as usize) {
            if hops[v as usize] == u32::MAX {
                hops[v as usize] = hops[u as usize] + 1;
                queue.push_back(v);
            }
        }
    }
    if let Some(f) = farthest.filter(|_| half(free_w, free_a)) {
        assign[f as usize] = e;
        return;
    }
    // 3. Split the heaviest beat of two units or more: release it, seed it again at its unit
    //    farthest from the other seed, which is its unit farthest from its centroid.
    let mut stats = vec![(0usize, 0.0, 0.0, 0.0, 0.0); problem.beats];
    for (u, &b) in units.iter().zip(assign.iter()) {
        if b != NONE {
            let s = &mut stats[b as usize];
            *s = (s.0 + 1, s.1 + u.workload, s.2 + u.area_m2, s.3 + u.area_m2 * u.x, s.4 + u.area_m2 * u.y);
        }
    }
    let heaviest = (0..problem.beats).filter(|&b| stats[b].0 >= 2).max_by(|&a, &b| stats[a].1.total_cmp(&stats[b].1).then(b.cmp(&a)));
    if let Some(b) = heaviest {
        let (_, _, a, ax, ay) = stats[b];
        let members: Vec<usize> = (0..n).filter(|&i| assign[i] == b as u32).collect();
        // The member farthest from (x, y), other than `not`; the first among ties.
        let farthest_from = |x: f64, y: f64, not: usize| {
            members.iter().copied().filter(|&k| k != not).max_by(|&i, &j| {
                let d = |k: usize| (units[k].x - x).powi(2) + (units[k].y - y).powi(2);
                d(i).total_cmp(&d(j)).then(j.cmp(&i))
            })
        };
        if let Some(first) = farthest_from(ax / a, ay / a, usize::MAX)
            && let Some(second) = farthest_from(units[first].x, units[first].y, first)
        {
            for &i in &members {
                assign[i] = NONE;
            }
            assign[first] = e;
            assign[second] = b as u32;
            return;
        }
    }
    // 4. Only single-unit beats: some unit is unassigned (beats ≤ units); take the farthest.
    if let Some(f) = farthest.or_else(|| assign.iter().position(|&b| b == NONE).map(|i| i as u32)) {
        assign[f as usize] = e;
    }
}

/// Region growing: the beat with the least workload-and-area key takes its unassigned
/// neighbouring unit nearest its seed (its centroid when growth starts), until none can grow.
fn grow(assign: &mut [u32], problem: &Problem, graph: &Graph) {
    let units = problem.units;
    let beats = problem.beats;
    let mut workload = vec![0.0; beats];
    let mut area = vec![0.0; beats];
    let mut centre = vec![(0.0, 0.0); beats];
    for (u, &b) in units.iter().zip(assign.iter()) {
        if b != NONE {
            let b = b as usize;
            workload[b] += u.workload;
            area[b] += u.area_m2;
            centre[b].0 += u.area_m2 * u.x;
            centre[b].1 += u.area_m2 * u.y;
        }
    }
    for b in 0..beats {
        if area[b] > 0.0 {
            centre[b] = (centre[b].0 / area[b], centre[b].1 / area[b]);
        }
    }
    let distance = |b: usize, i: u32| {
        let u = units[i as usize];
        ((u.x - centre[b].0).powi(2) + (u.y - centre[b].1).powi(2)).to_bits()
    };
    let mut frontier: Vec<BinaryHeap<Reverse<(u64, u32)>>> = vec![BinaryHeap::new(); beats];
    for i in 0..assign.len() {
        let b = assign[i];
        if b == NONE {
            continue;
        }
        for &j in graph.row(i) {
            if assign[j as usize] == NONE {
                frontier[b as usize].push(Reverse((distance(b as usize, j), j)));
            }
        }
    }
    let mut queue: BinaryHeap<Reverse<(u64, u32)>> = (0..beats)
        .filter(|&b| !frontier[b].is_empty())
        .map(|b| Reverse((problem.growth_key(workload[b], area[b]).to_bits(), b as u32)))
        .collect();
    while let Some(Reverse((_, b))) = queue.pop() {
        let b = b as usize;
        let mut taken = None;
        while let Some(Reverse((_, i))) = frontier[b].pop() {
            if assign[i as usize] == NONE {
                taken = Some(i);
                break;
            }
        }
        let Some(i) = taken else { continue };
        assign[i as usize] = b as u32;
        workload[b] += units[i as usize].workload;
        area[b] += units[i as usize].area_m2;
        for &j in graph.row(i as usize) {
            if assign[j as usize] == NONE {
                frontier[b].push(Reverse((distance(b, j), j)));
            }
        }
        queue.push(Reverse((problem.growth_key(workload[b], area[b]).to_bits(), b as u32)));
    }
}

/// Gives each component without a beat, whole, to the beat of the nearest assigned unit; returns
/// its units, ascending.
fn attach_islands(assign: &mut [u32], units: &[Unit], components: &Components) -> Vec<u32> {
    let islands: Vec<&Vec<u32>> = components.members.iter().filter(|c| assign[c[0] as usize] == NONE).collect();
    if islands.is_empty() {
        return Vec::new();
    }
    let mainland: Vec<u32> = (0..units.len() as u32).filter(|&i| assign[i as usize] != NONE).collect();
    let mut attached = Vec::new();
    for island in islands {
        let mut best = (f64::INFINITY, NONE);
        for &i in island {
            let u = units[i as usize];
            for &j in &mainland {
                let v = units[j as usize];
                let d = (u.x - v.x).powi(2) + (u.y - v.y).powi(2);
                if d < best.0 {
                    best = (d, j);
                }
            }
        }
        let beat = if best.1 == NONE { 0 } else { assign[best.1 as usize] };
        for &i in island {
            assign[i as usize] = beat;
        }
        attached.extend_from_slice(island);
    }
    attached.sort_unstable();
    attached
}

/// The local search over a complete assignment.
struct Search<'a> {
    problem: &'a Problem<'a>,
    graph: &'a Graph,
    assign: Vec<u32>,
    stats: Vec<Stats>,
    /// BFS scratch: `seen[v] == stamp` visited; `goal[v] == stamp` a neighbour to reach.
    seen: Vec<u32>,
    goal: Vec<u32>,
    stamp: u32,
    stack: Vec<u32>,
    iterations: u64,
    moves: u64,
}

impl<'a> Search<'a> {
    fn new(problem: &'a Problem<'a>, graph: &'a Graph, assign: Vec<u32>) -> Self {
        let n = assign.len();
        let mut search = Self {
            problem,
            graph,
            assign,
            stats: Vec::new(),
            seen: vec![0; n],
            goal: vec![0; n],
            stamp: 0,
            stack: Vec::new(),
            iterations: 0,
            moves: 0,
        };
        search.recompute();
        search
    }

    /// Beat sums from scratch (no drift from incremental updates).
    fn recompute(&mut self) {
        self.stats = vec![Stats::default(); self.problem.beats];
        for (m, &b) in self.problem.mass.iter().zip(&self.assign) {
            self.stats[b as usize].add(m);
        }
    }

    /// (E, F) of the current assignment.
    fn objective(&self) -> (f64, f64) {
        self.stats.iter().map(|s| self.problem.score(s)).fold((0.0, 0.0), |(e, f), (de, df)| (e + de, f + df))
    }

    /// The change of (E, F) when unit `i` moves from beat `from` to beat `to`.
    fn delta(&self, i: usize, from: u32, to: u32) -> (f64, f64) {
        let m = &self.problem.mass[i];
        let (f, t) = (self.stats[from as usize], self.stats[to as usize]);
        let (e0, f0) = self.problem.score(&f);
        let (e1, f1) = self.problem.score(&t);
        let (e2, f2) = self.problem.score(&f.without(m));
        let (e3, f3) = self.problem.score(&t.with(m));
        ((e2 + e3) - (e0 + e1), (f2 + f3) - (f0 + f1))
    }

    fn apply(&mut self, i: usize, from: u32, to: u32) {
        let m = self.problem.mass[i];
        self.stats[from as usize] = self.stats[from as usize].without(&m);
        self.stats[to as usize].add(&m);
        self.assign[i] = to;
        self.moves += 1;
    }

    /// Whether beat `beat` stays connected without unit `i`: its neighbours in the beat must still
    /// reach each other (a BFS that stops once it has found them all).
    fn stays_connected(&mut self, i: usize, beat: u32) -> bool {
        let graph = self.graph;
        let mut goals = 0usize;
        let mut first = NONE;
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.fill(0);
            self.goal.fill(0);
            self.stamp = 1;
        }
        let stamp = self.stamp;
        for &v in graph.row(i) {
            if self.assign[v as usize] == beat {
                self.goal[v as usize] = stamp;
                goals += 1;
                first = v;
            }
        }
        if goals <= 1 {
            return true;
        }
        self.seen[i] = stamp;
        self.seen[first as usize] = stamp;
        self.stack.clear();
        self.stack.push(first);
        let mut found = 1;
        // Depth-first: on grids it walks the ring around `i` and finds the others in a few steps.
        while let Some(u) = self.stack.pop() {
            for &v in graph.row(u as usize) {
                let v = v as usize;
                if self.seen[v] != stamp && self.assign[v] == beat {
                    self.seen[v] = stamp;
                    if self.goal[v] == stamp {
                        found += 1;
                        if found == goals {
                            return true;
                        }
                    }
                    self.stack.push(v as u32);
                }
            }
        }
        false
    }

    /// Simulated annealing; returns whether the deadline cut it short. Ends on the best
    /// assignment seen.
    fn anneal(&mut self, sweeps: usize, deadline: Instant, rng: &mut Rng) -> bool {
        let n = self.assign.len();
        if sweeps == 0 || n < 2 || self.problem.beats < 2 {
            return false;
        }
        // A random neighbouring-beat move: (unit, from, to).
        let propose = |s: &Self, rng: &mut Rng| {
            let i = rng.below(n as u64) as usize;
            let row = s.graph.row(i);
            if row.is_empty() {
                return None;
            }
            let j = row[rng.below(row.len() as u64) as usize];
            let (from, to) = (s.assign[i], s.assign[j as usize]);
            (from != to && s.stats[from as usize].count > 1).then_some((i, from, to))
        };
        // First temperature: a typical worsening move is accepted with FIRST_ACCEPTANCE.
        let (mut sum, mut count) = (0.0, 0u32);
        for _ in 0..20 * n.min(1_000) {
            if let Some((i, from, to)) = propose(self, rng) {
                let (de, df) = self.delta(i, from, to);
                if de.abs() <= EPS && df > 0.0 {
                    sum += df;
                    count += 1;
                }
            }
        }
        let mut temperature = if count > 0 { sum / f64::from(count) / (1.0 / FIRST_ACCEPTANCE).ln() } else { 0.0 };
        let cooling = COOLING.powf(1.0 / sweeps as f64);
        let mut best = (self.objective(), self.assign.clone());
        let mut timed_out = false;
        'sweeps: for _ in 0..sweeps {
            for k in 0..n {
                if k % 1024 == 0 && Instant::now() > deadline {
                    timed_out = true;
                    break 'sweeps;
                }
                let Some((i, from, to)) = propose(self, rng) else { continue };
                self.iterations += 1;
                let (de, df) = self.delta(i, from, to);
                let accept = if de < -EPS {
                    true
                } else if de > EPS {
                    false
                } else {
                    df <= 0.0 || (temperature > 0.0 && rng.unit() < (-df / temperature).exp())
                };
                if accept && self.stays_connected(i, from) {
                    self.apply(i, from, to);
                }
            }
            self.recompute();
            let now = self.objective();
            if better(now, best.0) {
                best = (now, self.assign.clone());
            }
            temperature *= cooling;
        }
        self.recompute();
        if better(best.0, self.objective()) {
            self.assign = best.1;
            self.recompute();
        }
        timed_out
    }

    /// Steepest descent: each unit in turn takes its best improving move, until none improves.
    fn descend(&mut self) {
        for _ in 0..DESCENT_PASSES {
            let mut improved = false;
            for i in 0..self.assign.len() {
                let from = self.assign[i];
                if self.stats[from as usize].count <= 1 {
                    continue;
                }
                let mut best: Option<(u32, (f64, f64))> = None;
                for &j in self.graph.row(i) {
                    let to = self.assign[j as usize];
                    if to == from || best.is_some_and(|(b, _)| b == to) {
                        continue;
                    }
                    self.iterations += 1;
                    let d = self.delta(i, from, to);
                    if better(d, best.map_or((0.0, 0.0), |(_, bd)| bd)) {
                        best = Some((to, d));
                    }
                }
                if let Some((to, _)) = best
                    && self.stays_connected(i, from)
                {
                    self.apply(i, from, to);
                    improved = true;
                }
            }
            self.recompute();
            if !improved {
                break;
            }
        }
    }
}

/// Lexicographic (excess, objective) comparison: `a` strictly better than `b`.
fn better(a: (f64, f64), b: (f64, f64)) -> bool {
    a.0 < b.0 - EPS || (a.0 <= b.0 + EPS && a.1 < b.1 - EPS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A `w × h` grid of 100 m cells with rook adjacency; workload by `f(column, row)`.
    fn grid(w: usize, h: usize, f: impl Fn(usize, usize) -> f64) -> (Vec<Unit>, Vec<Vec<u32>>) {
        let units = (0..w * h)
            .map(|i| Unit { x: 100.0 * (i % w) as f64, y: 100.0 * (i / w) as f64, area_m2: 10_000.0, workload: f(i % w, i / w) })
            .collect();
        let adjacency = (0..w * h)
            .map(|i| {
                let (c, r) = (i % w, i / w);
                let mut next = Vec::new();
                if c > 0 {
                    next.push(i - 1);
                }
                if c + 1 < w {
                    next.push(i + 1);
                }
                if r > 0 {
                    next.push(i - w);
                }
                if r + 1 < h {
                    next.push(i + w);
                }
                next.into_iter().map(|j| j as u32).collect()
            })
            .collect();
        (units, adjacency)
    }

    /// 1 per cell plus three Gaussian hot spots.
    fn hot_spots(w: usize, h: usize) -> (Vec<Unit>, Vec<Vec<u32>>) {
        let spots = [(4.0, 5.0, 20.0), (14.0, 15.0, 30.0), (15.0, 4.0, 12.0)];
        grid(w, h, |c, r| {
            1.0 + spots.iter().map(|&(x, y, peak)| peak * (-((c as f64 - x).powi(2) + (r as f64 - y).powi(2)) / 4.5).exp()).sum::<f64>()
        })
    }

    fn assert_valid(plan: &Redistricting, units: usize, beats: usize) {
        assert_eq!(plan.assignment.len(), units);
        assert!(plan.assignment.iter().all(|&b| (b as usize) < beats));
        assert_eq!(plan.after.beats.len(), beats);
        assert_eq!(plan.after.unassigned, 0);
        assert!(plan.after.all_contiguous(), "{:?}", plan.after.beats);
    }

    #[test]
    fn hot_spot_grid_gets_six_contiguous_beats_within_tolerance() {
        let (units, adjacency) = hot_spots(20, 20);
        let params = RedistrictParams { beats: 6, ..RedistrictParams::default() };
        let plan = redistrict(&units, &adjacency, &params).unwrap();
        assert_valid(&plan, 400, 6);
        assert!(plan.after.max_to_mean <= 1.0 + params.tolerance + 1e-12, "{:?}", plan.after);
        assert!(plan.after.max_deviation <= params.tolerance + 1e-12, "{:?}", plan.after);
        assert!(plan.attached.is_empty() && plan.before.is_none() && !plan.timed_out);
        // Compact: no beat worse than a 1 × 4 strip (0.5); the mean well above.
        let shapes: Vec<f64> = plan.after.beats.iter().map(|b| b.compactness.unwrap()).collect();
        assert!(shapes.iter().all(|&c| c > 0.5), "{shapes:?}");
        assert!(shapes.iter().sum::<f64>() / 6.0 > 0.7, "{shapes:?}");
        // The hot spots make small beats: areas differ, workloads do not.
        let areas: Vec<f64> = plan.after.beats.iter().map(|b| b.area_m2).collect();
        assert!(areas.iter().copied().fold(0.0, f64::max) > 1.5 * areas.iter().copied().fold(f64::INFINITY, f64::min), "{areas:?}");
    }

    #[test]
    fn redistricting_is_deterministic_for_a_seed_and_valid_for_others() {
        let (units, adjacency) = hot_spots(20, 20);
        let params = RedistrictParams { beats: 6, ..RedistrictParams::default() };
        let mut a = redistrict(&units, &adjacency, &params).unwrap();
        let mut b = redistrict(&units, &adjacency, &params).unwrap();
        (a.seconds, b.seconds) = (0.0, 0.0);
        assert_eq!(a, b);
        let mut differ = false;
        for seed in [2, 3, 4] {
            let other = redistrict(&units, &adjacency, &RedistrictParams { seed, ..params.clone() }).unwrap();
            assert_valid(&other, 400, 6);
            assert!(other.after.max_deviation <= params.tolerance + 1e-12, "seed {seed}: {:?}", other.after);
            assert_eq!(other.seed, seed);
            differ |= other.assignment != a.assignment;
        }
        assert!(differ, "the seed changes nothing");
    }

    #[test]
    fn striped_start_is_rebalanced_and_keeps_its_beat_numbers() {
        let (units, adjacency) = hot_spots(20, 20);
        // Six vertical stripes (widths 4, 3, 3, 3, 3, 4): contiguous, badly unbalanced.
        let stripe = |c: usize| [0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5, 5, 5][c];
        let start: Vec<Option<u32>> = (0..400).map(|i| Some(stripe(i % 20))).collect();
        let params = RedistrictParams { beats: 6, start: Some(start.clone()), ..RedistrictParams::default() };
        let plan = redistrict(&units, &adjacency, &params).unwrap();
        let before = plan.before.clone().unwrap();
        assert_eq!(before, beat_summary(&units, &adjacency, &start, 6).unwrap());
        assert!(before.all_contiguous() && before.max_deviation > 0.3, "{before:?}");
        assert_valid(&plan, 400, 6);
        assert!(plan.after.max_deviation <= params.tolerance + 1e-12, "{:?}", plan.after);
        assert!(plan.after.coefficient_of_variation < before.coefficient_of_variation / 3.0);
        assert!(plan.after.range_to_mean < before.range_to_mean);
        // Beat numbers are kept: every beat still holds cells of its own stripe.
        for b in 0..6 {
            assert!((0..400).any(|i| plan.assignment[i] == b && start[i] == Some(b)), "beat {b} left its stripe");
        }
    }

    #[test]
    fn a_good_start_is_mostly_kept() {
        let (units, adjacency) = hot_spots(20, 20);
        let params = RedistrictParams { beats: 6, ..RedistrictParams::default() };
        let first = redistrict(&units, &adjacency, &params).unwrap();
        let start: Vec<Option<u32>> = first.assignment.iter().map(|&b| Some(b)).collect();
        let again = redistrict(&units, &adjacency, &RedistrictParams { seed: 9, start: Some(start), ..params.clone() }).unwrap();
        assert_valid(&again, 400, 6);
        let kept = first.assignment.iter().zip(&again.assignment).filter(|(a, b)| a == b).count();
        assert!(kept >= 300, "{kept} of 400 cells kept their beat");
    }

    #[test]
    fn an_added_inspector_gets_a_beat_and_a_broken_start_is_repaired() {
        let (units, adjacency) = hot_spots(20, 20);
        // Five stripes for six beats; beat 2 also holds a stray cell inside beat 0; unit 399 has none.
        let mut start: Vec<Option<u32>> = (0..400).map(|i| Some((i % 20 / 4) as u32)).collect();
        start[21] = Some(2);
        start[399] = None;
        let params = RedistrictParams { beats: 6, start: Some(start), ..RedistrictParams::default() };
        let plan = redistrict(&units, &adjacency, &params).unwrap();
        let before = plan.before.as_ref().unwrap();
        assert_eq!((before.unassigned, before.beats[2].pieces, before.beats[5].units), (1, 2, 0));
        assert_valid(&plan, 400, 6);
        assert!(plan.after.max_deviation <= params.tolerance + 1e-12, "{:?}", plan.after);
    }

    #[test]
    fn islands_without_a_beat_of_their_own_are_attached_and_flagged() {
        // A 10 × 10 grid, a separate 5 × 5 grid with a quarter of the workload, and two lone cells.
        let (mut units, mut adjacency) = grid(10, 10, |_, _| 1.0);
        let (far, far_adjacency) = grid(5, 5, |_, _| 33.0 / 25.0);
        units.extend(far.iter().map(|u| Unit { x: u.x + 5_000.0, ..*u }));
        adjacency.extend(far_adjacency.into_iter().map(|row| row.into_iter().map(|j| j + 100).collect::<Vec<_>>()));
        units.push(Unit { x: -300.0, y: 450.0, area_m2: 10_000.0, workload: 2.0 });
        units.push(Unit { x: 5_200.0, y: 900.0, area_m2: 10_000.0, workload: 0.0 });
        adjacency.extend([vec![], vec![]]);
        let params = RedistrictParams { beats: 4, ..RedistrictParams::default() };
        let plan = redistrict(&units, &adjacency, &params).unwrap();
        assert_eq!(plan.attached, vec![125, 126]);
        // The far grid is one beat (with the lone cell north of it); the main grid three.
        let far_beat = plan.assignment[100];
        assert!(plan.assignment[100..125].iter().all(|&b| b == far_beat));
        assert_eq!(plan.assignment[126], far_beat);
        assert!(plan.assignment[..100].iter().all(|&b| b != far_beat));
        let west = plan.assignment[40]; // the cell at (0, 400) is the nearest to (−300, 450)
        assert_eq!(plan.assignment[125], west);
        for (b, beat) in plan.after.beats.iter().enumerate() {
            assert_eq!(beat.pieces, if b as u32 == far_beat || b as u32 == west { 2 } else { 1 });
        }
    }

    #[test]
    fn zero_workload_everywhere_still_makes_compact_contiguous_beats() {
        let (units, adjacency) = grid(8, 8, |_, _| 0.0);
        let plan = redistrict(&units, &adjacency, &RedistrictParams { beats: 4, ..RedistrictParams::default() }).unwrap();
        assert_valid(&plan, 64, 4);
        assert_eq!((plan.after.max_to_mean, plan.after.coefficient_of_variation), (1.0, 0.0));
        assert!(plan.after.beats.iter().all(|b| b.compactness.unwrap() > 0.6), "{:?}", plan.after.beats);
    }

    #[test]
    fn as_many_beats_as_units_gives_each_unit_its_own() {
        let (units, adjacency) = grid(3, 2, |c, _| c as f64);
        let plan = redistrict(&units, &adjacency, &RedistrictParams { beats: 6, ..RedistrictParams::default() }).unwrap();
        let mut beats = plan.assignment.clone();
        beats.sort_unstable();
        assert_eq!(beats, vec![0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn new_beats_split_the_heaviest_even_when_units_share_a_position() {
        // Three units at one place in a chain, all in beat 0: beats 1 and 2 must be split off it.
        let units = vec![Unit { x: 5.0, y: 5.0, area_m2: 1.0, workload: 1.0 }; 3];
        let adjacency = vec![vec![1], vec![0, 2], vec![1]];
        let params = RedistrictParams { beats: 3, start: Some(vec![Some(0); 3]), ..RedistrictParams::default() };
        let plan = redistrict(&units, &adjacency, &params).unwrap();
        let mut beats = plan.assignment.clone();
        beats.sort_unstable();
        assert_eq!(beats, vec![0, 1, 2]);
        assert_eq!(plan.after.max_to_mean, 1.0);
    }

    #[test]
    fn summary_measures_shapes_pieces_and_imbalance() {
        let (units, adjacency) = grid(3, 1, |c, _| [1.0, 2.0, 3.0][c]);
        // Cells 0 and 1 (a 200 × 100 m rectangle) in beat 0, cell 2 in beat 2, beat 1 empty.
        let s = beat_summary(&units, &adjacency, &[Some(0), Some(0), Some(2)], 3).unwrap();
        let rectangle = 2.0_f64.powi(2) / (2.0 * PI * (5.0 / 6.0)); // A² / (2π I) with A = 2, I = 5/6 in cell units
        assert!((s.beats[0].compactness.unwrap() - rectangle).abs() < 1e-12);
        assert_eq!(s.beats[0].centroid, Some((50.0, 0.0)));
        assert_eq!((s.beats[1].units, s.beats[1].pieces, s.beats[1].compactness), (0, 0, None));
        assert!(!s.all_contiguous());
        assert_eq!(s.mean_workload, 2.0);
        assert_eq!((s.max_to_mean, s.max_deviation, s.range_to_mean), (1.5, 1.0, 1.5));
        assert!((s.coefficient_of_variation - (2.0_f64 / 3.0).sqrt() / 2.0 * 3.0_f64.sqrt()).abs() < 1e-12);
        let none = beat_summary(&units, &adjacency, &[None, None, None], 2).unwrap();
        assert_eq!((none.unassigned, none.max_to_mean, none.range_to_mean), (3, 1.0, 0.0));
    }

    #[test]
    fn invalid_inputs_are_errors() {
        let (units, adjacency) = grid(3, 3, |_, _| 1.0);
        let run = |units: &[Unit], adjacency: &[Vec<u32>], params: RedistrictParams| redistrict(units, adjacency, &params);
        let two = RedistrictParams { beats: 2, ..RedistrictParams::default() };
        assert!(matches!(
            run(&units, &adjacency, RedistrictParams { beats: 0, ..two.clone() }),
            Err(PlanningError::InvalidParameter { name: "beats", .. })
        ));
        assert!(matches!(
            run(&units, &adjacency, RedistrictParams { beats: 10, ..two.clone() }),
            Err(PlanningError::InvalidParameter { name: "beats", .. })
        ));
        assert!(run(&[], &[], two.clone()).is_err());

        let mut asymmetric = adjacency.clone();
        asymmetric[0].push(8);
        assert!(matches!(run(&units, &asymmetric, two.clone()), Err(PlanningError::InvalidAdjacency { unit: 0, .. })));
        let mut self_loop = adjacency.clone();
        self_loop[4].push(4);
        assert!(matches!(run(&units, &self_loop, two.clone()), Err(PlanningError::InvalidAdjacency { unit: 4, .. })));
        let mut out_of_range = adjacency.clone();
        out_of_range[2].push(9);
        assert!(matches!(run(&units, &out_of_range, two.clone()), Err(PlanningError::InvalidAdjacency { unit: 2, .. })));
        assert!(matches!(run(&units, &adjacency[..8], two.clone()), Err(PlanningError::LengthMismatch { .. })));

        for (field, value) in [("workload", f64::NAN), ("workload", -1.0), ("area", 0.0), ("x", f64::INFINITY)] {
            let mut bad = units.clone();
            match field {
                "workload" => bad[5].workload = value,
                "area" => bad[5].area_m2 = value,
                _ => bad[5].x = value,
            }
            assert!(matches!(run(&bad, &adjacency, two.clone()), Err(PlanningError::InvalidUnit { index: 5, .. })), "{field} {value}");
            assert!(beat_summary(&bad, &adjacency, &[None; 9], 1).is_err());
        }
        for (tolerance, weight) in [(f64::NAN, 0.1), (-0.1, 0.1), (0.1, -1.0), (0.1, f64::INFINITY)] {
            assert!(run(&units, &adjacency, RedistrictParams { tolerance, compactness_weight: weight, ..two.clone() }).is_err());
        }
        let short = RedistrictParams { start: Some(vec![Some(0); 8]), ..two.clone() };
        assert!(matches!(run(&units, &adjacency, short), Err(PlanningError::LengthMismatch { .. })));
        let mut beyond = vec![Some(0); 9];
        beyond[3] = Some(2);
        let beyond = RedistrictParams { start: Some(beyond), ..two };
        assert!(matches!(run(&units, &adjacency, beyond), Err(PlanningError::InvalidParameter { name: "start", .. })));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

        #[test]
        fn every_unit_is_covered_and_every_beat_is_non_empty_and_contiguous(
            (w, h, beats, workload, start) in (1usize..8, 1usize..8).prop_flat_map(|(w, h)| {
                let n = w * h;
                (1..=n.min(6)).prop_flat_map(move |beats| (
                    Just(w),
                    Just(h),
                    Just(beats),
                    proptest::collection::vec(prop_oneof![Just(0.0), 0.0f64..10.0, 50.0f64..100.0], n),
                    proptest::option::of(proptest::collection::vec(proptest::option::weighted(0.9, 0..beats as u32), n)),
                ))
            }),
            seed in 0u64..1_000,
        ) {
            let (mut units, adjacency) = grid(w, h, |_, _| 0.0);
            for (u, &wl) in units.iter_mut().zip(&workload) {
                u.workload = wl;
            }
            let params = RedistrictParams { beats, sweeps: 30, seed, start, ..RedistrictParams::default() };
            let plan = redistrict(&units, &adjacency, &params).unwrap();
            prop_assert_eq!(plan.assignment.len(), w * h);
            prop_assert!(plan.assignment.iter().all(|&b| (b as usize) < beats));
            prop_assert!(plan.after.all_contiguous(), "{:?}", plan.after.beats);
            prop_assert_eq!(plan.after.beats.iter().map(|b| b.units).sum::<usize>(), w * h);
        }
    }

    /// `cargo test -p qalqan-planning --release --lib beats -- --ignored --nocapture`
    #[test]
    #[ignore = "timing; run in release"]
    fn five_thousand_units_into_thirty_beats_is_fast() {
        let spots: Vec<(f64, f64, f64)> =
            (0..12).map(|k| ((k * 37 % 100) as f64, (k * 61 % 50) as f64, 5.0 + (k % 4) as f64 * 10.0)).collect();
        let (units, adjacency) = grid(100, 50, |c, r| {
            0.5 + spots.iter().map(|&(x, y, p)| p * (-((c as f64 - x).powi(2) + (r as f64 - y).powi(2)) / 18.0).exp()).sum::<f64>()
        });
        let params = RedistrictParams { beats: 30, ..RedistrictParams::default() };
        let plan = redistrict(&units, &adjacency, &params).unwrap();
        let shapes: Vec<f64> = plan.after.beats.iter().map(|b| b.compactness.unwrap()).collect();
        println!(
            "5,000 units, 30 beats: {:.3} s, {} iterations, {} moves; max/mean {:.4}, CV {:.4}, compactness mean {:.3} min {:.3}",
            plan.seconds,
            plan.iterations,
            plan.moves,
            plan.after.max_to_mean,
            plan.after.coefficient_of_variation,
            shapes.iter().sum::<f64>() / 30.0,
            shapes.iter().copied().fold(f64::INFINITY, f64::min),
        );
        assert_valid(&plan, 5_000, 30);
        assert!(plan.after.max_deviation <= params.tolerance + 1e-12);
        assert!(plan.seconds < 5.0);
    }
}
