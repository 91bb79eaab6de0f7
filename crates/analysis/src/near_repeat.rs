//! Near-repeat analysis: the Knox test on a table of space × time bands.
//!
//! Follows the Near Repeat Calculator 1.3 (Ratcliffe 2009; the method of
//! Townsley, Homel & Chaseling 2003 and Johnson & Bowers 2004 after Knox
//! 1964). Every pair of events falls into one spatial band and one temporal
//! band; the observed count of pairs in each cell is compared with the counts
//! when the event dates are shuffled among the event locations (a Monte Carlo
//! permutation test, seeded). For each cell the table reports the observed
//! count, the mean expected count, the Knox ratio (observed ÷ mean expected)
//! and the p-value (# simulated ≥ observed + 1) ÷ (permutations + 1).
//!
//! Bands, for spatial bandwidth `s` metres × `S` bands and temporal bandwidth
//! `w` days × `T` bands:
//! - rows: *same location* (distance exactly 0), then `[0, s)`, `[s, 2s)`, …,
//!   `[(S−1)s, Ss)` (pairs at distance 0 are only in the first row), then
//!   *beyond* (≥ `Ss`);
//! - columns: `[0, w)`, `[w, 2w)`, …, `[(T−1)w, Tw)` days, then *beyond*.
//!
//! This is what the Calculator computes; its labels say "1 to 100" for
//! `[0, 100)` metres and "0 to 7" for `[0, 7)` days (Steenbeek's NearRepeat R
//! package documents this). The Calculator also reads coordinates as 32-bit
//! floats, which moves a pair lying within a few centimetres of a band edge:
//! [`CoordinatePrecision::Single`] reproduces its observed tables exactly.
//!
//! Algorithm. Only pairs closer than `Ss` depend on the permutation in an
//! interesting way: the row totals (pairs per spatial band) and the column
//! totals (pairs per temporal band) do not change when dates are shuffled.
//! So the close pairs are found once with a uniform grid of cell `Ss`
//! (events renumbered in cell order so that neighbours sit close in memory),
//! the column totals once with a sorted two-pointer sweep, and each
//! permutation only re-bins the close pairs' time gaps; the *beyond* row and
//! column follow from the totals. Cost O(n log n + P · (1 + R)) for n events,
//! P close pairs and R permutations, instead of O(n² · R). One pass over the
//! close pairs serves eight permutations (their days interleaved, 32 bytes an
//! event), so the pair list is read R / 8 times; batches run in parallel and
//! each permutation draws from its own seeded stream, so the result depends
//! only on the seed. Days are compared in 32-bit floats relative to the
//! earliest event: exact for whole days, within seconds for fractional days.
//!
//! ```
//! use qalqan_analysis::near_repeat::{knox_table, KnoxParams, SpaceTimeEvent};
//!
//! // A burst of three events a few metres and days apart, and far-away noise.
//! let mut events = vec![
//!     SpaceTimeEvent { x: 0.0, y: 0.0, day: 10.0 },
//!     SpaceTimeEvent { x: 30.0, y: 0.0, day: 12.0 },
//!     SpaceTimeEvent { x: 0.0, y: 40.0, day: 13.0 },
//! ];
//! for k in 0..40 {
//!     events.push(SpaceTimeEvent { x: 5_000.0 + 700.0 * f64::from(k % 7), y: 900.0 * f64::from(k / 7), day: f64::from(k) * 9.0 });
//! }
//! let table = knox_table(&events, &KnoxParams { permutations: 99, seed: 7, ..KnoxParams::default() }).unwrap();
//! let cell = table.cell(1, 0); // [0, 100) m, [0, 7) days
//! assert_eq!(cell.observed, 3);
//! assert!(cell.knox_ratio.unwrap() > 1.0);
//! ```

use rayon::prelude::*;

use crate::AnalysisError;
use crate::rng::Rng;

/// An event for the Knox test: projected metres and a time in days.
///
/// Days may be fractional (hour-resolution data: `day = hours / 24`); the
/// Calculator's inputs are whole dates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpaceTimeEvent {
    pub x: f64,
    pub y: f64,
    pub day: f64,
}

/// How the distance between two events is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DistanceMetric {
    /// |dx| + |dy|, along a street grid. Default, as the Near Repeat Calculator's default.
    #[default]
    Manhattan,
    /// Straight-line distance.
    Euclidean,
}

/// The arithmetic the distances are computed in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CoordinatePrecision {
    /// 64-bit floats. Default.
    #[default]
    Double,
    /// 32-bit floats, as the Near Repeat Calculator 1.3 stores coordinates:
    /// reproduces its tables to the pair.
    Single,
}

/// Parameters of [`knox_table`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnoxParams {
    /// Width of each spatial band in metres. Default 100.
    pub spatial_bandwidth: f64,
    /// Number of spatial bands before *beyond*. Default 3 (the Calculator adds
    /// *same location* and *beyond*).
    pub spatial_bands: usize,
    /// Width of each temporal band in days. Default 7.
    pub temporal_bandwidth: f64,
    /// Number of temporal bands before *beyond*. Default 3.
    pub temporal_bands: usize,
    /// Default Manhattan, as the Calculator.
    pub metric: DistanceMetric,
    /// Default double; `Single` to match the Calculator exactly.
    pub precision: CoordinatePrecision,
    /// Monte Carlo permutations of the dates. Default 999.
    pub permutations: u32,
    /// Seed of the permutations. Default 1.
    pub seed: u64,
    /// A cell is significant when its p-value is at most this. Default 0.05.
    pub significance: f64,
    /// A significant cell is meaningful when its Knox ratio is at least this
    /// (20 % more pairs than expected). Default 1.2.
    pub meaningful_ratio: f64,
}

impl Default for KnoxParams {
    fn default() -> Self {
        Self {
            spatial_bandwidth: 100.0,
            spatial_bands: 3,
            temporal_bandwidth: 7.0,
            temporal_bands: 3,
            metric: DistanceMetric::Manhattan,
            precision: CoordinatePrecision::Double,
            permutations: 999,
            seed: 1,
            significance: 0.05,
            meaningful_ratio: 1.2,
        }
    }
}

/// Most spatial or temporal bands a table may have.
pub const MAX_BANDS: usize = 50;

/// One spatial band (a row of the table).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SpatialBand {
    /// Distance exactly 0.
    SameLocation,
    /// `[from, to)` metres, excluding distance 0.
    Within { from: f64, to: f64 },
    /// At least `from` metres.
    Beyond { from: f64 },
}

/// One temporal band (a column of the table).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TemporalBand {
    /// `[from, to)` days.
    Within { from: f64, to: f64 },
    /// At least `from` days.
    Beyond { from: f64 },
}

/// One cell of the Knox table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KnoxCell {
    /// Pairs of events in this space and time band.
    pub observed: u64,
    /// Mean count over the permutations.
    pub mean_expected: f64,
    /// Smallest and largest simulated count.
    pub min_expected: u64,
    pub max_expected: u64,
    /// Observed ÷ mean expected; `None` when nothing is expected.
    pub knox_ratio: Option<f64>,
    /// (# simulated ≥ observed + 1) ÷ (permutations + 1).
    pub p_value: f64,
}

/// The Knox table: rows are spatial bands, columns temporal bands.
#[derive(Debug, Clone, PartialEq)]
pub struct KnoxTable {
    pub spatial: Vec<SpatialBand>,
    pub temporal: Vec<TemporalBand>,
    /// Row-major: `cells[row * temporal.len() + column]`.
    pub cells: Vec<KnoxCell>,
    /// Events and pairs analysed.
    pub events: usize,
    pub pairs: u64,
    /// The parameters the table was made with.
    pub params: KnoxParams,
}

/// A spatial band over-represented up to some temporal band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearRepeatFinding {
    /// Row of the table.
    pub spatial_row: usize,
    /// Last column of the run of significant, meaningful cells starting at the first column.
    pub up_to_column: usize,
}

/// The plain-language findings, as the Calculator's summary page.
#[derive(Debug, Clone, PartialEq)]
pub struct KnoxSummary {
    /// Near repeats: spatial bands (not *same location*, not *beyond*) whose first
    /// temporal band is significant and meaningful, with how far in time that lasts.
    pub near_repeats: Vec<NearRepeatFinding>,
    /// The significant, meaningful cell with the largest Knox ratio among the
    /// near-repeat bands' first temporal band: `(row, column, ratio)`.
    pub strongest_near_repeat: Option<(usize, usize, f64)>,
    /// Repeat victimisation: same location, significant and meaningful from the
    /// first temporal band, up to this column.
    pub repeat_up_to_column: Option<usize>,
    /// The largest significant, meaningful ratio in that run: `(column, ratio)`.
    pub strongest_repeat: Option<(usize, f64)>,
}

impl KnoxTable {
    /// The cell at `row` (spatial band) and `column` (temporal band).
    pub fn cell(&self, row: usize, column: usize) -> &KnoxCell {
        &self.cells[row * self.temporal.len() + column]
    }

    /// Whether a cell is significant (p ≤ significance) and meaningful (ratio ≥ threshold).
    pub fn is_notable(&self, row: usize, column: usize) -> bool {
        let c = self.cell(row, column);
        c.p_value <= self.params.significance && c.knox_ratio.is_some_and(|r| r >= self.params.meaningful_ratio)
    }

    /// The findings the Calculator states in words.
    pub fn summary(&self) -> KnoxSummary {
        let columns = self.temporal.len() - 1; // without *beyond*
        let run = |row: usize| -> Option<usize> {
            let n = (0..columns).take_while(|&c| self.is_notable(row, c)).count();
            n.checked_sub(1)
        };
        let mut near_repeats = Vec::new();
        let mut strongest_near_repeat: Option<(usize, usize, f64)> = None;
        for row in 1..self.spatial.len() - 1 {
            if let Some(up_to_column) = run(row) {
                near_repeats.push(NearRepeatFinding { spatial_row: row, up_to_column });
                let ratio = self.cell(row, 0).knox_ratio.unwrap_or(0.0);
                if strongest_near_repeat.is_none_or(|(_, _, r)| ratio > r) {
                    strongest_near_repeat = Some((row, 0, ratio));
                }
            }
        }
        let repeat_up_to_column = run(0);
        let strongest_repeat = repeat_up_to_column.map(|last| {
            (0..=last)
                .map(|c| (c, self.cell(0, c).knox_ratio.unwrap_or(0.0)))
                .fold((0, f64::MIN), |best, x| if x.1 > best.1 { x } else { best })
        });
        KnoxSummary { near_repeats, strongest_near_repeat, repeat_up_to_column, strongest_repeat }
    }

    /// The summary in English, in the Calculator's words but with exact intervals.
    pub fn describe(&self) -> String {
        let s = self.summary();
        let mut out = String::new();
        let space = |row: usize| match self.spatial[row] {
            SpatialBand::SameLocation => "at the same location".to_string(),
            SpatialBand::Within { from, to } => format!("within [{from}, {to}) metres"),
            SpatialBand::Beyond { from } => format!("at least {from} metres away"),
        };
        let until = |column: usize| match self.temporal[column] {
            TemporalBand::Within { to, .. } => format!("less than {to} days"),
            TemporalBand::Beyond { from } => format!("{from} days or more"),
        };
        if s.near_repeats.is_empty() {
            out.push_str("No significant and meaningful near-repeat pattern was found.\n");
        } else {
            out.push_str("A significant and meaningful near-repeat pattern was found: after an incident, more incidents than expected follow nearby for a while.\n");
            for f in &s.near_repeats {
                out.push_str(&format!(
                    "- {} of an incident, near repeats are over-represented for {} after it.\n",
                    capitalise(&space(f.spatial_row)),
                    until(f.up_to_column)
                ));
            }
            if let Some((row, column, ratio)) = s.strongest_near_repeat {
                out.push_str(&format!(
                    "The strongest significant zone is {} and {}: about {:.0} % more pairs than if there were no pattern.\n",
                    space(row),
                    until(column),
                    (ratio - 1.0) * 100.0
                ));
            }
        }
        match (s.repeat_up_to_column, s.strongest_repeat) {
            (Some(last), Some((_, ratio))) => out.push_str(&format!(
                "A significant and meaningful repeat pattern was found: more incidents than expected at the same location for {} after an incident (up to about {:.0} % more).\n",
                until(last),
                (ratio - 1.0) * 100.0
            )),
            _ => out.push_str("No significant and meaningful repeat pattern at the same location was found.\n"),
        }
        out.push_str(&format!(
            "{} events, {} pairs, {} permutations (seed {}); significant: p ≤ {}, meaningful: Knox ratio ≥ {}.\n",
            self.events, self.pairs, self.params.permutations, self.params.seed, self.params.significance, self.params.meaningful_ratio
        ));
        out
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// The Knox table of `events`; see the module documentation.
pub fn knox_table(events: &[SpaceTimeEvent], params: &KnoxParams) -> Result<KnoxTable, AnalysisError> {
    knox_table_with_progress(events, params, &|_, _| {})
}

/// [`knox_table`], calling `progress(done, total)` as permutations complete.
pub fn knox_table_with_progress(
    events: &[SpaceTimeEvent],
    params: &KnoxParams,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<KnoxTable, AnalysisError> {
    check_params(params)?;
    if events.iter().any(|e| !(e.x.is_finite() && e.y.is_finite() && e.day.is_finite())) {
        return Err(AnalysisError::NotFinite { what: "event coordinates and days" });
    }
    if events.len() > PARTNER_MASK as usize {
        return Err(AnalysisError::InvalidParameter { name: "events", reason: "must be at most 67,108,863" });
    }
    let close = ClosePairs::find(events, params);
    let s_rows = params.spatial_bands + 1; // same location + the close bands
    let n = events.len();
    let pairs = (n as u64) * (n.saturating_sub(1) as u64) / 2;

    // Margins, which no permutation changes.
    let mut row_totals = vec![0u64; s_rows];
    for &packed in &close.pairs {
        row_totals[(packed >> BAND_SHIFT) as usize] += 1;
    }
    let column_totals = temporal_totals(events, params);

    // Days relative to the earliest, in 32 bits (exact for whole days; within seconds
    // for fractional days over decades), laid out in the pair list's order.
    let first = events.iter().map(|e| e.day).fold(f64::INFINITY, f64::min);
    let days: Vec<f32> = close.order.iter().map(|&i| (events[i].day - first) as f32).collect();
    // Observed close counts with the true days (every lane the same), then the permutations,
    // LANES at a time: each pass over the close pairs serves LANES permutations.
    let observed = {
        let lanes: Vec<[f32; LANES]> = days.iter().map(|&d| [d; LANES]).collect();
        let counts = close.count(&lanes, params);
        complete(&counts[0], &row_totals, &column_totals, pairs, params)
    };
    let total = params.permutations as usize;
    let done = std::sync::atomic::AtomicUsize::new(0);
    let batches: Vec<Vec<Vec<u64>>> = (0..total.div_ceil(LANES))
        .into_par_iter()
        .map_init(
            || (days.clone(), vec![[0f32; LANES]; days.len()]),
            |(shuffled, lanes), b| {
                let members = (b * LANES..((b + 1) * LANES).min(total)).collect::<Vec<_>>();
                for (k, &r) in members.iter().enumerate() {
                    let mut rng = Rng::stream(params.seed, r as u64);
                    shuffled.copy_from_slice(&days);
                    for i in (1..shuffled.len()).rev() {
                        let j = rng.below(i as u64 + 1) as usize;
                        shuffled.swap(i, j);
                    }
                    for (lane, &d) in lanes.iter_mut().zip(shuffled.iter()) {
                        lane[k] = d;
                    }
                }
                let counts = close.count(lanes, params);
                let tables: Vec<Vec<u64>> =
                    (0..members.len()).map(|k| complete(&counts[k], &row_totals, &column_totals, pairs, params)).collect();
                let d = done.fetch_add(members.len(), std::sync::atomic::Ordering::Relaxed) + members.len();
                progress(d, total);
                tables
            },
        )
        .collect();
    let simulated: Vec<Vec<u64>> = batches.into_iter().flatten().collect();
    let t_cols = params.temporal_bands;

    let width = t_cols + 1;
    let cells = (0..observed.len())
        .map(|k| {
            let obs = observed[k];
            let sims = simulated.iter().map(|s| s[k]);
            let sum: u64 = sims.clone().sum();
            let mean_expected = sum as f64 / total as f64;
            let larger = sims.clone().filter(|&v| v >= obs).count();
            KnoxCell {
                observed: obs,
                mean_expected,
                min_expected: sims.clone().min().unwrap_or(0),
                max_expected: sims.max().unwrap_or(0),
                knox_ratio: (mean_expected > 0.0).then(|| obs as f64 / mean_expected),
                p_value: (larger + 1) as f64 / (total + 1) as f64,
            }
        })
        .collect::<Vec<_>>();
    debug_assert_eq!(cells.len(), (s_rows + 1) * width);

    let sb = params.spatial_bandwidth;
    let mut spatial = vec![SpatialBand::SameLocation];
    spatial.extend((0..params.spatial_bands).map(|k| SpatialBand::Within { from: sb * k as f64, to: sb * (k + 1) as f64 }));
    spatial.push(SpatialBand::Beyond { from: sb * params.spatial_bands as f64 });
    let tb = params.temporal_bandwidth;
    let mut temporal: Vec<TemporalBand> =
        (0..t_cols).map(|k| TemporalBand::Within { from: tb * k as f64, to: tb * (k + 1) as f64 }).collect();
    temporal.push(TemporalBand::Beyond { from: tb * t_cols as f64 });
    Ok(KnoxTable { spatial, temporal, cells, events: n, pairs, params: *params })
}

fn check_params(p: &KnoxParams) -> Result<(), AnalysisError> {
    if !(p.spatial_bandwidth.is_finite() && p.spatial_bandwidth > 0.0) {
        return Err(AnalysisError::InvalidBandwidth { metres: p.spatial_bandwidth });
    }
    if !(p.temporal_bandwidth.is_finite() && p.temporal_bandwidth > 0.0) {
        return Err(AnalysisError::InvalidParameter { name: "temporal bandwidth", reason: "must be a positive number of days" });
    }
    if !(1..=MAX_BANDS).contains(&p.spatial_bands) || !(1..=MAX_BANDS).contains(&p.temporal_bands) {
        return Err(AnalysisError::InvalidParameter { name: "number of bands", reason: "must be between 1 and 50" });
    }
    if p.permutations == 0 || p.permutations > 99_999 {
        return Err(AnalysisError::InvalidParameter { name: "permutations", reason: "must be between 1 and 99999" });
    }
    if !(p.significance > 0.0 && p.significance < 1.0) {
        return Err(AnalysisError::InvalidParameter { name: "significance", reason: "must be between 0 and 1" });
    }
    if !p.meaningful_ratio.is_finite() {
        return Err(AnalysisError::NotFinite { what: "meaningful ratio" });
    }
    Ok(())
}

/// Counts per close row (same location + close bands) × temporal band for `days`
/// laid out in the pair list's order.
type CloseCounts = Vec<u64>;

/// The full table (with the *beyond* row and column) from close counts and the margins.
fn complete(close: &CloseCounts, row_totals: &[u64], column_totals: &[u64], pairs: u64, p: &KnoxParams) -> Vec<u64> {
    let rows = p.spatial_bands + 1;
    let cols = p.temporal_bands;
    let width = cols + 1;
    let mut t = vec![0u64; (rows + 1) * width];
    for r in 0..rows {
        let mut in_time = 0;
        for c in 0..cols {
            let v = close[r * cols + c];
            t[r * width + c] = v;
            in_time += v;
        }
        t[r * width + cols] = row_totals[r] - in_time;
    }
    let close_pairs: u64 = row_totals.iter().sum();
    let mut rest = pairs - close_pairs;
    for c in 0..cols {
        let near: u64 = (0..rows).map(|r| close[r * cols + c]).sum();
        let v = column_totals[c] - near;
        t[rows * width + c] = v;
        rest -= v;
    }
    t[rows * width + cols] = rest;
    t
}

/// Pairs per temporal band over all pairs: a sort and one two-pointer sweep per band edge.
fn temporal_totals(events: &[SpaceTimeEvent], p: &KnoxParams) -> Vec<u64> {
    let mut days: Vec<f64> = events.iter().map(|e| e.day).collect();
    days.sort_by(f64::total_cmp);
    let mut below = vec![0u64; p.temporal_bands + 1]; // pairs with gap < k·w
    for (k, slot) in below.iter_mut().enumerate().skip(1) {
        let edge = p.temporal_bandwidth * k as f64;
        let mut j = 0;
        let mut count = 0u64;
        for i in 0..days.len() {
            if j < i + 1 {
                j = i + 1;
            }
            while j < days.len() && days[j] - days[i] < edge {
                j += 1;
            }
            count += (j - i - 1) as u64;
        }
        *slot = count;
    }
    (0..p.temporal_bands).map(|k| below[k + 1] - below[k]).collect()
}

/// Pairs closer than the outer spatial edge, as a CSR list over events renumbered
/// in grid-cell order.
struct ClosePairs {
    /// `order[k]` is the original index of renumbered event k.
    order: Vec<usize>,
    /// For renumbered event i, its partners `pairs[start[i]..start[i+1]]` (all > i), each
    /// `row << BAND_SHIFT | partner` with row 0 for the same location and k for band k.
    start: Vec<u32>,
    pairs: Vec<u32>,
}

/// Permutations counted in one pass over the close pairs.
const LANES: usize = 8;
/// A close pair packs its table row above the partner's index.
const BAND_SHIFT: u32 = 26;
const PARTNER_MASK: u32 = (1 << BAND_SHIFT) - 1;

impl ClosePairs {
    fn find(events: &[SpaceTimeEvent], p: &KnoxParams) -> Self {
        let reach = p.spatial_bandwidth * p.spatial_bands as f64;
        // Candidate cells a bit larger than the reach so that rounding in single
        // precision never hides a pair; the exact band test decides.
        let cell = reach * (1.0 + 1e-6) + 1e-3;
        let (x0, y0) = events.iter().fold((f64::MAX, f64::MAX), |(a, b), e| (a.min(e.x), b.min(e.y)));
        let key = |e: &SpaceTimeEvent| (((e.x - x0) / cell).floor() as i64, ((e.y - y0) / cell).floor() as i64);
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by_key(|&i| {
            let (cx, cy) = key(&events[i]);
            (cy, cx)
        });
        let keys: Vec<(i64, i64)> = order.iter().map(|&i| key(&events[i])).collect();
        // Start of each occupied cell in the renumbered order.
        let mut cells: std::collections::HashMap<(i64, i64), (usize, usize)> = std::collections::HashMap::new();
        let mut k = 0;
        while k < keys.len() {
            let mut e = k;
            while e < keys.len() && keys[e] == keys[k] {
                e += 1;
            }
            cells.insert(keys[k], (k, e));
            k = e;
        }
        let xs: Vec<f64> = order.iter().map(|&i| events[i].x).collect();
        let ys: Vec<f64> = order.iter().map(|&i| events[i].y).collect();
        let xf: Vec<f32> = xs.iter().map(|&v| v as f32).collect();
        let yf: Vec<f32> = ys.iter().map(|&v| v as f32).collect();
        let distance = |i: usize, j: usize| -> f64 {
            match (p.precision, p.metric) {
                (CoordinatePrecision::Double, DistanceMetric::Manhattan) => (xs[i] - xs[j]).abs() + (ys[i] - ys[j]).abs(),
                (CoordinatePrecision::Double, DistanceMetric::Euclidean) => (xs[i] - xs[j]).hypot(ys[i] - ys[j]),
                (CoordinatePrecision::Single, DistanceMetric::Manhattan) => f64::from((xf[i] - xf[j]).abs() + (yf[i] - yf[j]).abs()),
                (CoordinatePrecision::Single, DistanceMetric::Euclidean) => f64::from((xf[i] - xf[j]).hypot(yf[i] - yf[j])),
            }
        };
        let bw = p.spatial_bandwidth;
        let bands = p.spatial_bands;
        // Each event's partners, found in parallel over events.
        let lists: Vec<Vec<(u32, u8)>> = (0..keys.len())
            .into_par_iter()
            .map(|i| {
                let (cx, cy) = keys[i];
                let mut out = Vec::new();
                for dy in -1..=1 {
                    for dx in -1..=1 {
                        let Some(&(a, b)) = cells.get(&(cx + dx, cy + dy)) else { continue };
                        for j in a.max(i + 1)..b {
                            let d = distance(i, j);
                            if d == 0.0 {
                                out.push((j as u32, 0));
                            } else {
                                let band = (d / bw).floor();
                                if band < bands as f64 {
                                    out.push((j as u32, band as u8 + 1));
                                }
                            }
                        }
                    }
                }
                out.sort_unstable();
                out
            })
            .collect();
        let mut start = Vec::with_capacity(lists.len() + 1);
        let total: usize = lists.iter().map(Vec::len).sum();
        let mut pairs = Vec::with_capacity(total);
        start.push(0u32);
        for l in lists {
            pairs.extend(l.into_iter().map(|(j, b)| u32::from(b) << BAND_SHIFT | j));
            start.push(pairs.len() as u32);
        }
        Self { order, start, pairs }
    }

    /// Close pairs per row × temporal band (without *beyond*), for each of the LANES
    /// sets of days in `days[event][lane]`.
    fn count(&self, days: &[[f32; LANES]], p: &KnoxParams) -> Vec<CloseCounts> {
        let cols = p.temporal_bands;
        let w = p.temporal_bandwidth as f32;
        let reach = (p.temporal_bandwidth * cols as f64) as f32;
        let mut counts = vec![vec![0u64; (p.spatial_bands + 1) * cols]; LANES];
        for (i, di) in days.iter().enumerate() {
            let (a, b) = (self.start[i] as usize, self.start[i + 1] as usize);
            for &packed in &self.pairs[a..b] {
                let dj = &days[(packed & PARTNER_MASK) as usize];
                // Which lanes see this pair close in time: usually none.
                let mut near = 0u32;
                for k in 0..LANES {
                    near |= u32::from((di[k] - dj[k]).abs() < reach) << k;
                }
                while near != 0 {
                    let k = near.trailing_zeros() as usize;
                    near &= near - 1;
                    let c = (((di[k] - dj[k]).abs() / w) as usize).min(cols - 1);
                    counts[k][(packed >> BAND_SHIFT) as usize * cols + c] += 1;
                }
            }
        }
        counts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(x: f64, y: f64, day: f64) -> SpaceTimeEvent {
        SpaceTimeEvent { x, y, day }
    }

    fn brute(events: &[SpaceTimeEvent], p: &KnoxParams) -> Vec<u64> {
        let rows = p.spatial_bands + 2;
        let cols = p.temporal_bands + 1;
        let mut t = vec![0u64; rows * cols];
        for i in 0..events.len() {
            for j in i + 1..events.len() {
                let (a, b) = (events[i], events[j]);
                let d = match p.metric {
                    DistanceMetric::Manhattan => (a.x - b.x).abs() + (a.y - b.y).abs(),
                    DistanceMetric::Euclidean => (a.x - b.x).hypot(a.y - b.y),
                };
                let r = if d == 0.0 { 0 } else { ((d / p.spatial_bandwidth).floor() as usize + 1).min(rows - 1) };
                let c = (((a.day - b.day).abs() / p.temporal_bandwidth).floor() as usize).min(cols - 1);
                t[r * cols + c] += 1;
            }
        }
        t
    }

    fn scattered(n: usize, seed: u64) -> Vec<SpaceTimeEvent> {
        let mut rng = Rng::seed(seed);
        (0..n)
            .map(|_| {
                // Clustered on a few hundred sites so that same-location pairs occur.
                let site = rng.below(300) as f64;
                ev((site * 37.0) % 1_500.0, (site * 53.0) % 1_100.0 + (rng.below(3) as f64) * 40.0, rng.below(200) as f64)
            })
            .collect()
    }

    #[test]
    fn observed_counts_match_all_pairs_for_both_metrics() {
        let events = scattered(600, 3);
        for metric in [DistanceMetric::Manhattan, DistanceMetric::Euclidean] {
            let p = KnoxParams { metric, permutations: 9, ..KnoxParams::default() };
            let t = knox_table(&events, &p).unwrap();
            let obs: Vec<u64> = t.cells.iter().map(|c| c.observed).collect();
            assert_eq!(obs, brute(&events, &p), "{metric:?}");
            assert_eq!(obs.iter().sum::<u64>(), t.pairs);
        }
    }

    #[test]
    fn margins_do_not_change_under_permutation() {
        let events = scattered(300, 5);
        let p = KnoxParams { permutations: 49, ..KnoxParams::default() };
        let t = knox_table(&events, &p).unwrap();
        let width = t.temporal.len();
        for r in 0..t.spatial.len() {
            let obs: u64 = (0..width).map(|c| t.cell(r, c).observed).sum();
            let mean: f64 = (0..width).map(|c| t.cell(r, c).mean_expected).sum();
            assert!((obs as f64 - mean).abs() < 1e-6, "row {r}");
        }
        for c in 0..width {
            let obs: u64 = (0..t.spatial.len()).map(|r| t.cell(r, c).observed).sum();
            let mean: f64 = (0..t.spatial.len()).map(|r| t.cell(r, c).mean_expected).sum();
            assert!((obs as f64 - mean).abs() < 1e-6, "column {c}");
        }
    }

    #[test]
    fn same_seed_gives_the_same_table_and_p_values_are_bounded() {
        let events = scattered(200, 9);
        let p = KnoxParams { permutations: 19, seed: 42, ..KnoxParams::default() };
        let a = knox_table(&events, &p).unwrap();
        assert_eq!(a, knox_table(&events, &p).unwrap());
        for c in &a.cells {
            assert!(c.p_value >= 1.0 / 20.0 && c.p_value <= 1.0);
            assert!(c.min_expected as f64 <= c.mean_expected && c.mean_expected <= c.max_expected as f64);
        }
        let b = knox_table(&events, &KnoxParams { seed: 43, ..p }).unwrap();
        assert_ne!(a.cells, b.cells);
    }

    #[test]
    fn a_planted_burst_is_found_and_described() {
        let mut events = scattered(400, 11);
        for k in 0..12 {
            events.push(ev(5_000.0 + 10.0 * k as f64, 5_000.0, 50.0 + (k % 3) as f64));
        }
        let t = knox_table(&events, &KnoxParams { permutations: 99, ..KnoxParams::default() }).unwrap();
        assert!(t.is_notable(1, 0));
        let s = t.summary();
        assert!(s.near_repeats.iter().any(|f| f.spatial_row == 1));
        assert!(t.describe().contains("near-repeat pattern was found"));
    }

    #[test]
    fn degenerate_inputs_give_empty_tables_and_bad_params_errors() {
        let t = knox_table(&[], &KnoxParams { permutations: 9, ..KnoxParams::default() }).unwrap();
        assert_eq!(t.pairs, 0);
        assert!(t.cells.iter().all(|c| c.observed == 0 && c.knox_ratio.is_none() && c.p_value == 1.0));
        let one = knox_table(&[ev(0.0, 0.0, 0.0)], &KnoxParams { permutations: 9, ..KnoxParams::default() }).unwrap();
        assert_eq!(one.pairs, 0);
        assert!(knox_table(&[ev(f64::NAN, 0.0, 0.0)], &KnoxParams::default()).is_err());
        assert!(knox_table(&[], &KnoxParams { spatial_bandwidth: 0.0, ..KnoxParams::default() }).is_err());
        assert!(knox_table(&[], &KnoxParams { temporal_bands: 0, ..KnoxParams::default() }).is_err());
        assert!(knox_table(&[], &KnoxParams { permutations: 0, ..KnoxParams::default() }).is_err());
    }

    #[test]
    fn single_precision_moves_only_pairs_at_band_edges() {
        // Two Chicago arsons 399.96 m apart; in 32-bit floats the gap is exactly 400 m.
        let a = ev(348_018.932_322_266, 585_589.372_982_202, 0.0);
        let b = ev(347_822.010_536_06, 585_386.333_409_594, 147.0);
        let p = KnoxParams { spatial_bandwidth: 200.0, spatial_bands: 3, permutations: 1, ..KnoxParams::default() };
        let double = knox_table(&[a, b], &p).unwrap();
        let single = knox_table(&[a, b], &KnoxParams { precision: CoordinatePrecision::Single, ..p }).unwrap();
        assert_eq!(double.cell(2, 3).observed, 1);
        assert_eq!(single.cell(3, 3).observed, 1);
    }
}
