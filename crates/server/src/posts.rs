//! Police posts and mobile points: the register on the wire, what the working ones reach, and
//! where new ones would reach the most incidents within T minutes over the street network
//! (shared by the CLI and the API).
//!
//! Demand: the incidents of a shift (their local start hour inside the shift's window, on the
//! shift's weekdays; records known only to the day or month cannot be placed in a shift and are
//! counted apart), grouped by place. Candidate sites: street intersections; without a street
//! network, the incident places, with travel time estimated as 1.3 × the straight line (a usual
//! detour factor for city grids) at the mode's speed, and said so in the answer. Posts and mobile
//! points that are active and on duty in the shift are kept (fixed sites).
//!
//! Objectives: **coverage** — the maximal covering location problem (Church & ReVelle 1974): the
//! most incidents within T minutes of a post; **median** — the p-median (Hakimi 1964): the least
//! incident-weighted travel time to the nearest post (times beyond 3 T, at least 30 minutes, are
//! taken as the straight-line estimate, never less than that cut-off). Its cost matrix is dense:
//! when incident places × candidates exceed [`MAX_MEDIAN_CELLS`], both are taken per cell of the
//! smallest size (50 m, doubling) that fits — demand merged at its weighted centre, one candidate
//! per cell — and the answer gives that size (`aggregated_to_metres`).
//!
//! For mobile points the plan is made per shift, and each chosen point gets **patrol dosage**
//! guidance after Koper (1995): visits of 10-15 minutes to the hot spots within its reach, in an
//! unpredictable order (Telep, Mitchell & Weisburd 2014 found 15-minute random visits reduced
//! crime in Sacramento's hot spots); the number of rounds a shift allows is computed from the
//! travel times.

use std::collections::HashMap;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, Timelike};
use qalqan_analysis::projection::Utm;
use qalqan_domain::account::Role;
use qalqan_domain::post::{DailyWindow, PostKind, PostStatus};
use qalqan_domain::{Territory, TimePrecision};
use qalqan_planning::PlanningError;
use qalqan_planning::location::{CostMatrix, Coverage, Instance, LocationParams, Method, Placement, Status, maximal_covering, p_median};
use qalqan_planning::street::{self, CandidateParams, DemandPoints, Location, Mode, SegmentSet, StreetGraph};
use qalqan_store::{IncidentRecord, PostRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// Straight-line distance × this ≈ distance along streets, where there is no street network.
pub const DETOUR_FACTOR: f64 = 1.3;
/// Walking speed for straight-line estimates, metres per second (5 km/h).
pub const WALK_MPS: f64 = 5.0 / 3.6;
/// Driving speed for straight-line estimates, metres per second (30 km/h in town).
pub const DRIVE_MPS: f64 = 30.0 / 3.6;
/// Incidents farther than this from a usable street cannot be reached by the network.
pub const SNAP_METRES: f64 = 150.0;
/// Minutes of one hot-spot visit in the dosage guidance (Koper 1995: 10-15).
pub const VISIT_MINUTES: f64 = 15.0;
/// Largest demand × site matrix the p-median builds.
pub const MAX_MEDIAN_CELLS: usize = 40_000_000;

/// A shift: a window of the day on some weekdays.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub name: String,
    pub window: DailyWindow,
    /// Monday first.
    pub days: [bool; 7],
}

impl Shift {
    /// The whole week, round the clock.
    pub fn always() -> Self {
        Self { name: "all".into(), window: DailyWindow::ALL_DAY, days: [true; 7] }
    }

    /// Day 08-16, evening 16-24, night 00-08, every day.
    pub fn three_shifts() -> Vec<Shift> {
        [("day", 480, 960), ("evening", 960, 1440), ("night", 0, 480)]
            .into_iter()
            .map(|(name, a, b)| Shift { name: name.into(), window: DailyWindow::new(a, b).expect("fixed windows"), days: [true; 7] })
            .collect()
    }

    /// Parses `NAME=HH:MM-HH:MM` (every day) or `NAME=DAYS@HH:MM-HH:MM` with DAYS `weekdays`,
    /// `weekend` or a list like `fri,sat`.
    pub fn parse(s: &str) -> Result<Shift, String> {
        let (name, rest) = s.split_once('=').ok_or_else(|| format!("shift '{s}' must be NAME=HH:MM-HH:MM"))?;
        let (days, window) = match rest.split_once('@') {
            Some((d, w)) => (parse_days(d)?, w),
            None => ([true; 7], rest),
        };
        let window: DailyWindow = window.parse().map_err(|e| format!("shift '{s}': {e}"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("shift '{s}' has no name"));
        }
        Ok(Shift { name: name.to_owned(), window, days })
    }

    /// True when an incident with this local start belongs to the shift (a shift past midnight
    /// belongs to the weekday it started on).
    fn holds(&self, weekday: usize, minute: u16) -> bool {
        if !self.window.contains_minute(minute) {
            return false;
        }
        let started_yesterday = minute < self.window.start_min();
        self.days[if started_yesterday { (weekday + 6) % 7 } else { weekday }]
    }

    fn is_always(&self) -> bool {
        self.window == DailyWindow::ALL_DAY && self.days == [true; 7]
    }
}

fn parse_days(s: &str) -> Result<[bool; 7], String> {
    const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    match s.trim().to_lowercase().as_str() {
        "all" | "" => return Ok([true; 7]),
        "weekdays" => return Ok([true, true, true, true, true, false, false]),
        "weekend" => return Ok([false, false, false, false, false, true, true]),
        _ => {}
    }
    let mut days = [false; 7];
    for d in s.split([',', '+']) {
        let d = d.trim().to_lowercase();
        let k = NAMES.iter().position(|n| d.starts_with(n)).ok_or_else(|| format!("'{d}' is not a weekday (mon … sun)"))?;
        days[k] = true;
    }
    Ok(days)
}

/// What the optimiser minimises or maximises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Objective {
    /// The most incidents within the time standard (MCLP).
    Coverage,
    /// The least incident-weighted travel time (p-median).
    Median,
}

/// The settings of a post plan.
#[derive(Debug, Clone)]
pub struct PostPlanParams {
    /// Stationary posts (one plan over `shifts`' union) or mobile points (one plan per shift).
    pub kind: PostKind,
    /// Budgets: how many new posts or points, one plan each.
    pub budgets: Vec<usize>,
    /// The time standard, minutes.
    pub minutes: f64,
    pub mode: Mode,
    pub objective: Objective,
    /// Stationary: the hours demand is counted in (default: always). Mobile: one plan each
    /// (default: [`Shift::three_shifts`]).
    pub shifts: Vec<Shift>,
    pub method: Method,
    /// Per budget and shift.
    pub time_limit: Duration,
}

/// Demand places of one shift, in metres.
struct Demand {
    xy: Vec<(f64, f64)>,
    weight: Vec<f64>,
    /// Incidents without an hour (left out of a shift's demand).
    without_hour: u64,
}

fn shift_demand(territory: &Territory, records: &[IncidentRecord], utm: &Utm, shifts: &[&Shift]) -> Demand {
    let always = shifts.iter().any(|s| s.is_always());
    let mut places: HashMap<(u64, u64), (f64, f64, f64)> = HashMap::new();
    let mut without_hour = 0;
    for r in records {
        if !always {
            if !matches!(r.precision, TimePrecision::Minute | TimePrecision::Hour) {
                without_hour += 1;
                continue;
            }
            let local = r.start.with_timezone(&territory.time_zone);
            let (weekday, minute) = (local.weekday().num_days_from_monday() as usize, (local.hour() * 60 + local.minute()) as u16);
            if !shifts.iter().any(|s| s.holds(weekday, minute)) {
                continue;
            }
        }
        let (x, y) = utm.forward(r.location);
        places.entry((r.location.lat().to_bits(), r.location.lon().to_bits())).or_insert((x, y, 0.0)).2 += 1.0;
    }
    let mut v: Vec<(f64, f64, f64)> = places.into_values().collect();
    v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    Demand { xy: v.iter().map(|d| (d.0, d.1)).collect(), weight: v.iter().map(|d| d.2).collect(), without_hour }
}

fn cell_of((x, y): (f64, f64), size: f64) -> (i64, i64) {
    ((x / size).floor() as i64, (y / size).floor() as i64)
}

/// Demand places merged per `size`-metre cell, at their weighted centre.
fn aggregate(demand: Demand, size: f64) -> Demand {
    let mut cells: HashMap<(i64, i64), (f64, f64, f64)> = HashMap::new();
    for (&(x, y), &w) in demand.xy.iter().zip(&demand.weight) {
        let e = cells.entry(cell_of((x, y), size)).or_default();
        e.0 += w * x;
        e.1 += w * y;
        e.2 += w;
    }
    let mut v: Vec<_> = cells.into_iter().filter(|(_, c)| c.2 > 0.0).collect();
    v.sort_by_key(|(k, _)| *k);
    Demand {
        xy: v.iter().map(|(_, c)| (c.0 / c.2, c.1 / c.2)).collect(),
        weight: v.iter().map(|(_, c)| c.2).collect(),
        without_hour: demand.without_hour,
    }
}

/// The smallest cell size (50 m doubling) at which the p-median's dense matrix fits
/// [`MAX_MEDIAN_CELLS`], or `None` when it fits as it is.
fn median_cell(demand: &[(f64, f64)], sites: &[(f64, f64)]) -> Option<f64> {
    if demand.len().saturating_mul(sites.len()) <= MAX_MEDIAN_CELLS {
        return None;
    }
    let distinct = |xy: &[(f64, f64)], size: f64| xy.iter().map(|&p| cell_of(p, size)).collect::<std::collections::HashSet<_>>().len();
    let mut size = 50.0;
    while size < 10_000.0 && distinct(demand, size).saturating_mul(distinct(sites, size)) > MAX_MEDIAN_CELLS {
        size *= 2.0;
    }
    Some(size)
}

/// Travel seconds from sites to demand places, within a cut-off: over the street graph, or as
/// the straight-line estimate.
struct Times {
    /// Per demand: (site, seconds) within the cut-off.
    by_demand: Vec<Vec<(usize, f64)>>,
    /// Demand places the network cannot reach (too far from a usable street).
    unreachable: Vec<bool>,
}

fn times(
    streets: Option<&StreetGraph>,
    sites: &[(f64, f64)],
    site_locations: &[Option<Location>],
    demand: &[(f64, f64)],
    mode: Mode,
    limit_s: f64,
) -> Times {
    match streets {
        Some(graph) => {
            let points = DemandPoints::snap(graph, demand, SegmentSet::from(mode), SNAP_METRES);
            let sites: Vec<Location> =
                site_locations.iter().map(|l| l.unwrap_or(Location { segment: street::SegmentId(u32::MAX), offset_m: 0.0 })).collect();
            let matrix = street::cost_matrix(graph, &sites, &points, mode, limit_s).by_demand();
            let by_demand = (0..demand.len())
                .map(|i| {
                    let (s, t) = matrix.row(i);
                    s.iter().zip(t).map(|(&s, &t)| (s as usize, f64::from(t))).collect()
                })
                .collect();
            Times { by_demand, unreachable: (0..demand.len()).map(|i| points.location(i).is_none()).collect() }
        }
        None => {
            let speed = if mode == Mode::Walk { WALK_MPS } else { DRIVE_MPS };
            let reach = limit_s * speed / DETOUR_FACTOR;
            let cell = reach.max(1.0);
            let mut buckets: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
            for (j, &(x, y)) in sites.iter().enumerate() {
                buckets.entry(((x / cell).floor() as i64, (y / cell).floor() as i64)).or_default().push(j);
            }
            let by_demand = demand
                .iter()
                .map(|&(x, y)| {
                    let (cx, cy) = ((x / cell).floor() as i64, (y / cell).floor() as i64);
                    let mut out = Vec::new();
                    for dy in -1..=1 {
                        for dx in -1..=1 {
                            for &j in buckets.get(&(cx + dx, cy + dy)).map(Vec::as_slice).unwrap_or(&[]) {
                                let t = f64::hypot(sites[j].0 - x, sites[j].1 - y) * DETOUR_FACTOR / speed;
                                if t <= limit_s {
                                    out.push((j, t));
                                }
                            }
                        }
                    }
                    out.sort_by_key(|&(j, _)| j);
                    out
                })
                .collect();
            Times { by_demand, unreachable: vec![false; demand.len()] }
        }
    }
}

fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (v * f).round() / f + 0.0
}

fn lat_lon(utm: &Utm, (x, y): (f64, f64)) -> (f64, f64) {
    let p = utm.inverse(x, y);
    (round(p.lat(), 6), round(p.lon(), 6))
}

/// Whether a registered post is on duty (active, and its hours meet the shift's window).
fn on_duty(p: &PostRecord, kind: PostKind, shifts: &[&Shift]) -> bool {
    p.post.status == PostStatus::Active
        && p.post.kind == kind
        && shifts.iter().any(|s| s.is_always() || p.post.schedule.overlap_minutes(s.window) > 0)
}

/// Plans new posts (or mobile points, per shift) for each budget.
pub fn post_plan(
    territory: &Territory,
    records: &[IncidentRecord],
    posts: &[PostRecord],
    streets: Option<(&StreetGraph, &Utm)>,
    params: &PostPlanParams,
) -> Result<Value, PlanningError> {
    if !(params.minutes > 0.0 && params.minutes <= 60.0) {
        return Err(PlanningError::InvalidParameter { name: "minutes", reason: format!("{} must be in (0, 60]", params.minutes) });
    }
    if params.budgets.is_empty() {
        return Err(PlanningError::InvalidParameter { name: "k", reason: "needs at least one budget".into() });
    }
    let utm = match streets {
        Some((_, utm)) => *utm,
        None => crate::cameras::planning_projection(territory, &records.iter().map(|r| r.location).collect::<Vec<_>>()),
    };
    let graph = streets.map(|(g, _)| g);
    let always = [Shift::always()];
    let default_mobile = Shift::three_shifts();
    let shifts: Vec<&Shift> = match (params.kind, params.shifts.is_empty()) {
        (PostKind::Stationary, true) => always.iter().collect(),
        (PostKind::Mobile, true) => default_mobile.iter().collect(),
        _ => params.shifts.iter().collect(),
    };
    // Candidates: intersections (their locations on the graph) or incident places.
    let all_demand = shift_demand(territory, records, &utm, &[&always[0]]);
    type Sites = (Vec<(f64, f64)>, Vec<Option<Location>>);
    let (source, (mut sites, mut site_locations)): (&str, Sites) = match graph {
        Some(g) => {
            let nodes = g.candidate_sites(&CandidateParams { segments: params.mode.into(), ..CandidateParams::default() });
            ("intersections", (nodes.iter().map(|&n| g.node_xy(n)).collect(), nodes.iter().map(|&n| g.node_location(n)).collect()))
        }
        None => ("incident_places", (all_demand.xy.clone(), vec![None; all_demand.xy.len()])),
    };
    // A p-median too large for its dense matrix plans on cells: candidates thinned to one per cell
    // (the first), demand merged per cell; the answer says so.
    let median_cell = if params.objective == Objective::Median { median_cell(&all_demand.xy, &sites) } else { None };
    if let Some(size) = median_cell {
        let mut seen = std::collections::HashSet::new();
        let keep: Vec<usize> = (0..sites.len()).filter(|&j| seen.insert(cell_of(sites[j], size))).collect();
        sites = keep.iter().map(|&j| sites[j]).collect();
        site_locations = keep.iter().map(|&j| site_locations[j]).collect();
    }
    let candidates = sites.len();
    let groups: Vec<Vec<&Shift>> = match params.kind {
        PostKind::Stationary => vec![shifts.clone()],
        PostKind::Mobile => shifts.iter().map(|s| vec![*s]).collect(),
    };
    // Existing posts of the kind, appended as sites; fixed in the shifts they are on duty.
    let first_existing = sites.len();
    let existing: Vec<&PostRecord> = posts.iter().filter(|p| p.post.kind == params.kind && p.post.status == PostStatus::Active).collect();
    for p in &existing {
        let xy = utm.forward(p.post.location);
        sites.push(xy);
        site_locations.push(graph.and_then(|g| g.snap(xy.0, xy.1, params.mode.into(), SNAP_METRES)).map(|s| s.location));
    }
    let limit_s = params.minutes * 60.0;
    let median_limit = (3.0 * limit_s).max(1800.0);
    let speed = if params.mode == Mode::Walk { WALK_MPS } else { DRIVE_MPS };
    let mut shift_plans = Vec::new();
    for group in &groups {
        let demand = shift_demand(territory, records, &utm, group);
        let demand = match median_cell {
            Some(size) => aggregate(demand, size),
            None => demand,
        };
        let total: f64 = demand.weight.iter().sum::<f64>() + 0.0;
        let fixed: Vec<usize> =
            existing.iter().enumerate().filter(|(_, p)| on_duty(p, params.kind, group)).map(|(k, _)| first_existing + k).collect();
        let cutoff = if params.objective == Objective::Coverage { limit_s } else { median_limit };
        let t = times(graph, &sites, &site_locations, &demand.xy, params.mode, cutoff);
        let lists = || t.by_demand.iter().map(|row| row.iter().filter(|(_, s)| *s <= limit_s).map(|&(j, _)| j).collect::<Vec<_>>());
        let covered_by_fixed: f64 =
            lists().zip(&demand.weight).filter(|(row, _)| row.iter().any(|j| fixed.contains(j))).map(|(_, w)| w).sum::<f64>() + 0.0;
        let unreachable: f64 = t.unreachable.iter().zip(&demand.weight).filter(|(u, _)| **u).map(|(_, w)| w).sum::<f64>() + 0.0;
        let share = |v: f64| if total > 0.0 { round(v / total, 4) } else { 0.0 };
        let mut plans = Vec::new();
        let new_sites = first_existing;
        for &k in &params.budgets {
            let k = k.min(new_sites);
            let lp = LocationParams { p: k, method: params.method, time_limit: params.time_limit, ..LocationParams::default() };
            // Existing posts that are not on duty this shift cannot be chosen either.
            let off_duty: Vec<usize> = (first_existing..sites.len()).filter(|j| !fixed.contains(j)).collect();
            let (placement, covered): (Placement, Vec<bool>) = match params.objective {
                Objective::Coverage => {
                    let lists: Vec<Vec<usize>> = lists().map(|row| row.into_iter().filter(|j| !off_duty.contains(j)).collect()).collect();
                    let coverage = Coverage::new(demand.weight.clone(), sites.len(), lists.clone())?.with_fixed(&fixed)?;
                    let lp = LocationParams { p: k.min(new_sites), ..lp };
                    let placement = maximal_covering(&coverage, &lp)?;
                    let covered = placement.assignment.iter().map(Option::is_some).collect();
                    (placement, covered)
                }
                Objective::Median => {
                    let (n, m) = (demand.xy.len(), sites.len());
                    if n.saturating_mul(m) > MAX_MEDIAN_CELLS {
                        return Err(PlanningError::InvalidParameter {
                            name: "objective",
                            reason: format!("median over {n} incident places × {m} sites is too large: narrow the period or use coverage"),
                        });
                    }
                    let mut costs = vec![0.0; n * m];
                    for i in 0..n {
                        let row = &mut costs[i * m..(i + 1) * m];
                        for (j, c) in row.iter_mut().enumerate() {
                            let straight = f64::hypot(sites[j].0 - demand.xy[i].0, sites[j].1 - demand.xy[i].1) * DETOUR_FACTOR / speed;
                            *c = if off_duty.contains(&j) { 1e9 } else { straight.max(median_limit) };
                        }
                        for &(j, s) in &t.by_demand[i] {
                            if !off_duty.contains(&j) {
                                row[j] = s;
                            }
                        }
                    }
                    let instance = Instance::new(demand.weight.clone(), CostMatrix::new(n, m, costs.clone())?)?.with_fixed(&fixed)?;
                    let placement = p_median(&instance, &lp)?;
                    let covered =
                        placement.assignment.iter().enumerate().map(|(i, a)| a.is_some_and(|j| costs[i * m + j] <= limit_s)).collect();
                    (placement, covered)
                }
            };
            let covered_weight: f64 = covered.iter().zip(&demand.weight).filter(|(c, _)| **c).map(|(_, w)| w).sum::<f64>() + 0.0;
            let chosen: Vec<Value> = placement
                .chosen
                .iter()
                .map(|&j| {
                    let (lat, lon) = lat_lon(&utm, sites[j]);
                    let reach: Vec<(usize, f64)> = (0..demand.xy.len())
                        .filter_map(|i| t.by_demand[i].iter().find(|&&(s, secs)| s == j && secs <= limit_s).map(|&(_, secs)| (i, secs)))
                        .collect();
                    let within: f64 = reach.iter().map(|&(i, _)| demand.weight[i]).sum::<f64>() + 0.0;
                    let mut site = json!({"lat": lat, "lon": lon, "incidents_within": within});
                    if params.kind == PostKind::Mobile {
                        site["dosage"] = dosage(&utm, &demand, &reach, group[0].window.minutes());
                    }
                    site
                })
                .collect();
            plans.push(json!({
                "budget": k,
                "objective": round(placement.objective, 3),
                "objective_meaning": match params.objective { Objective::Coverage => "incidents within the time standard", Objective::Median => "incident-weighted travel seconds to the nearest post" },
                "incidents_within": covered_weight, "share_within": share(covered_weight),
                "gain_share": share(covered_weight - covered_by_fixed),
                "mean_minutes": (params.objective == Objective::Median && total > 0.0).then(|| round(placement.objective / total / 60.0, 2)),
                "bound": round(placement.bound, 3),
                "gap": placement.gap.is_finite().then(|| round(placement.gap, 6)),
                "status": if placement.status == Status::Optimal { "optimal" } else { "feasible" },
                "seconds": round(placement.seconds, 4),
                "sites": chosen,
            }));
        }
        let first = group[0];
        shift_plans.push(json!({
            "shift": if params.kind == PostKind::Mobile { first.name.clone() } else { group.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join("+") },
            "window": if params.kind == PostKind::Mobile { first.window.to_string() } else { group.iter().map(|s| s.window.to_string()).collect::<Vec<_>>().join(";") },
            "incidents": total, "demand_places": demand.xy.len(), "without_hour": demand.without_hour,
            "unreachable": unreachable,
            "existing": {"on_duty": fixed.len(), "incidents_within": covered_by_fixed, "share": share(covered_by_fixed)},
            "plans": plans,
        }));
    }
    Ok(json!({
        "kind": params.kind.code(),
        "objective": match params.objective { Objective::Coverage => "coverage", Objective::Median => "median" },
        "minutes": params.minutes,
        "mode": match params.mode { Mode::Walk => "walk", Mode::Drive => "drive" },
        "network": if graph.is_some() { "streets" } else { "straight line × 1.3" },
        "candidates": {"source": source, "count": candidates},
        "aggregated_to_metres": median_cell,
        "registered": existing.len(),
        "method": match params.method { Method::Exact => "exact", Method::Heuristic => "heuristic" },
        "shifts": shift_plans,
    }))
}

/// Side of the square cells hot spots are counted in for the dosage guidance, metres (a block or
/// two: the scale of the hot spots Koper's and Sherman & Weisburd's patrols visited).
pub const SPOT_METRES: f64 = 75.0;

/// Koper-curve guidance for one mobile point: the (up to) five busiest hot spots within its reach
/// (demand counted in [`SPOT_METRES`] cells, each spot at its cell's weighted centre), visited
/// 10-15 minutes each in a random order; how many rounds the shift allows, each visit costing
/// the stay plus the trip there and back from the point (the slowest demand of the cell).
fn dosage(utm: &Utm, demand: &Demand, reach: &[(usize, f64)], shift_minutes: u16) -> Value {
    let mut cells: HashMap<(i64, i64), (f64, f64, f64, f64)> = HashMap::new();
    for &(i, secs) in reach {
        let (x, y) = demand.xy[i];
        let w = demand.weight[i];
        let e = cells.entry(((x / SPOT_METRES).floor() as i64, (y / SPOT_METRES).floor() as i64)).or_default();
        e.0 += w * x;
        e.1 += w * y;
        e.2 += w;
        e.3 = e.3.max(secs);
    }
    let mut spots: Vec<_> = cells.into_iter().filter(|(_, v)| v.2 > 0.0).collect();
    spots.sort_by(|a, b| b.1.2.total_cmp(&a.1.2).then(a.0.cmp(&b.0)));
    spots.truncate(5);
    let cycle: f64 = spots.iter().map(|(_, v)| VISIT_MINUTES + 2.0 * v.3 / 60.0).sum();
    let rounds = if cycle > 0.0 { (f64::from(shift_minutes) / cycle).floor().max(1.0) } else { 0.0 };
    json!({
        "visit_minutes": "10-15",
        "rounds_per_shift": rounds,
        "order": "random",
        "spot_metres": SPOT_METRES,
        "spots": spots.iter().map(|(_, (sx, sy, w, secs))| {
            let (lat, lon) = lat_lon(utm, (sx / w, sy / w));
            json!({"lat": lat, "lon": lon, "incidents": w, "minutes_away": round(secs / 60.0, 1)})
        }).collect::<Vec<_>>(),
    })
}

/// The register as GeoJSON points.
pub fn posts_geojson(posts: &[PostRecord]) -> Value {
    let features: Vec<Value> = posts
        .iter()
        .map(|p| {
            let k = &p.post;
            json!({
                "type": "Feature",
                "geometry": {"type": "Point", "coordinates": [k.location.lon(), k.location.lat()]},
                "properties": {
                    "id": k.external_id, "name": k.name, "kind": k.kind.code(), "hours": k.schedule.to_string(),
                    "vehicle": k.vehicle, "officers": k.officers, "status": k.status.code(),
                },
            })
        })
        .collect();
    json!({"type": "FeatureCollection", "features": features})
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/posts", tag = "planning", summary = "Police posts and mobile points as GeoJSON points", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "One feature per post", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let posts = state.store.posts(territory.id).await?;
    Ok(axum::Json(posts_geojson(&posts)).into_response())
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/posts", tag = "planning", summary = "Add or update posts and mobile points from a register (the body: CSV or GeoJSON); all or nothing, with every bad row named", params(("name" = String, Path, description = "Territory name"), crate::cameras::UploadQuery), request_body(content = String, description = "The register", content_type = "text/csv"), responses((status = 200, description = "Posts added and updated", body = serde_json::Value), (status = 400, description = "Not a register", body = ErrorBody), (status = 422, description = "Invalid rows; nothing written", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<crate::cameras::UploadQuery>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !matches!(session.user.role, Role::Administrator | Role::Analyst | Role::Commander) {
        return Err(ApiError::Forbidden(format!("the {} role cannot change the post register", session.user.role)));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let posts = match crate::cameras::parse_upload(
        q.format.as_deref(),
        &body,
        qalqan_ingest::posts::parse_csv,
        qalqan_ingest::posts::parse_geojson,
    )? {
        Ok(rows) => rows,
        Err(rejects) => return Ok(rejects),
    };
    let done = state.store.import_posts(territory.id, &posts, &crate::session::actor(&session, peer)).await?;
    Ok(axum::Json(json!({"posts": posts.len(), "added": done.added, "updated": done.updated})).into_response())
}

/// Query of `GET …/plans/posts`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PostPlanQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// `stationary` (default) or `mobile`.
    pub kind: Option<String>,
    /// Budgets, comma-separated (default `5`; at most 5 budgets of at most 200).
    pub k: Option<String>,
    /// The time standard in minutes (default 5).
    pub minutes: Option<f64>,
    /// `walk` (default) or `drive`.
    pub mode: Option<String>,
    /// `coverage` (default) or `median`.
    pub objective: Option<String>,
    /// Shifts, `;`-separated, each `NAME=HH:MM-HH:MM` or `NAME=DAYS@HH:MM-HH:MM` (default: stationary
    /// round the clock; mobile day/evening/night).
    pub shifts: Option<String>,
    /// Seconds per budget and shift (default 10, at most 60).
    pub time_limit: Option<u64>,
}

/// Reads budgets `5,10,20`: 1-5 of them, each 1-200.
pub(crate) fn budgets(k: Option<&str>, default: &str) -> Result<Vec<usize>, ApiError> {
    let list: Vec<usize> = k
        .unwrap_or(default)
        .split(',')
        .map(|v| v.trim().parse::<usize>().ok().filter(|v| (1..=200).contains(v)))
        .collect::<Option<_>>()
        .ok_or_else(|| ApiError::BadRequest("k must be budgets 1-200, comma-separated".into()))?;
    if list.is_empty() || list.len() > 5 {
        return Err(ApiError::BadRequest("k takes one to five budgets".into()));
    }
    Ok(list)
}

/// Parses the plan's query into parameters.
pub fn post_params(q: &PostPlanQuery) -> Result<PostPlanParams, ApiError> {
    let bad = |m: String| ApiError::BadRequest(m);
    Ok(PostPlanParams {
        kind: q.kind.as_deref().unwrap_or("stationary").parse().map_err(|e: qalqan_domain::DomainError| bad(e.to_string()))?,
        budgets: budgets(q.k.as_deref(), "5")?,
        minutes: q.minutes.unwrap_or(5.0),
        mode: match q.mode.as_deref().unwrap_or("walk") {
            "walk" => Mode::Walk,
            "drive" => Mode::Drive,
            other => return Err(bad(format!("mode '{other}' must be walk or drive"))),
        },
        objective: match q.objective.as_deref().unwrap_or("coverage") {
            "coverage" => Objective::Coverage,
            "median" => Objective::Median,
            other => return Err(bad(format!("objective '{other}' must be coverage or median"))),
        },
        shifts: q
            .shifts
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(|s| s.split(';').map(Shift::parse).collect::<Result<Vec<_>, _>>())
            .transpose()
            .map_err(bad)?
            .unwrap_or_default(),
        method: Method::Exact,
        time_limit: Duration::from_secs(q.time_limit.unwrap_or(10).clamp(1, 60)),
    })
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/plans/posts", tag = "planning", summary = "Where k new posts (or mobile points, per shift) would reach the most incidents within T minutes (MCLP) or the least travel time (p-median), keeping the ones on duty", params(("name" = String, Path, description = "Territory name"), PostPlanQuery), responses((status = 200, description = "One plan per shift and budget with objective, bound, gap and time", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn plan(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<PostPlanQuery>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    Ok(axum::Json(run_post_plan(&state, territory, &q).await?).into_response())
}

/// Runs a post plan for the API.
pub(crate) async fn run_post_plan(state: &AppState, territory: Territory, q: &PostPlanQuery) -> Result<Value, ApiError> {
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let params = post_params(q)?;
    let posts = state.store.posts(territory.id).await?;
    let records = state.store.incident_records(&filter).await?;
    let streets = crate::streets::load_street_graph(&state.store, &territory).await?;
    tokio::task::spawn_blocking(move || post_plan(&territory, &records, &posts, streets.as_ref().map(|(g, u)| (g, u)), &params))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shifts_parse_and_hold_incidents_by_their_start() {
        let s = Shift::parse("night=fri,sat@22:00-06:00").unwrap();
        assert!(s.holds(4, 23 * 60), "Friday 23:00");
        assert!(s.holds(5, 3 * 60), "Saturday 03:00 belongs to Friday's night");
        assert!(!s.holds(4, 3 * 60), "Friday 03:00 belongs to Thursday's night");
        assert!(!s.holds(4, 12 * 60));
        assert!(Shift::parse("night").is_err() && Shift::parse("x=holiday@08-16").is_err() && Shift::parse("=08-16").is_err());
        assert_eq!(Shift::three_shifts().iter().map(|s| s.window.minutes()).sum::<u16>(), 1440);
    }

    #[test]
    fn a_median_too_large_for_its_matrix_is_planned_on_cells() {
        let d = Demand { xy: vec![(10.0, 10.0), (30.0, 10.0), (120.0, 10.0)], weight: vec![1.0, 3.0, 2.0], without_hour: 4 };
        let a = aggregate(d, 50.0);
        assert_eq!((a.xy, a.weight, a.without_hour), (vec![(25.0, 10.0), (120.0, 10.0)], vec![4.0, 2.0], 4));
        assert_eq!(median_cell(&[(0.0, 0.0); 10], &[(0.0, 0.0); 10]), None, "fits as it is");
        // 10,000 × 10,000 distinct places on a 10 m lattice: the first size with ≤ 40 million pairs.
        let lattice: Vec<(f64, f64)> = (0..10_000).map(|k| ((k % 100) as f64 * 10.0, (k / 100) as f64 * 10.0)).collect();
        let size = median_cell(&lattice, &lattice).unwrap();
        let cells = ((1000.0 / size).ceil() as usize).pow(2);
        assert!(cells * cells <= MAX_MEDIAN_CELLS && size == 50.0, "{size} m: {cells} cells");
    }
}
