//! Where new cameras would see the most incidents: the maximal covering location problem
//! (Church & ReVelle 1974) on a territory's incidents, keeping the working cameras (shared by
//! the CLI and, later, the API).
//!
//! Demand: incidents grouped by exact place, weighted by count; the places an existing working
//! camera already sees are covered and count for nothing more. Candidate sites: street
//! intersections when the territory has a street network, else the places incidents were
//! recorded at (for data geocoded to intersections, as Toronto's, those are intersections too).
//! A new camera covers the demand within `range_m` of it (a dome, or a camera aimed where the
//! incidents are); the solver reports the objective, a bound and the gap for each budget.

use std::collections::HashMap;
use std::time::Duration;

use qalqan_analysis::projection::Utm;
use qalqan_domain::Territory;
use qalqan_domain::camera::CameraStatus;
use qalqan_planning::PlanningError;
use qalqan_planning::camera::CameraIndex;
use qalqan_planning::location::{Coverage, LocationParams, Method, Status, maximal_covering};
use qalqan_planning::street::{CandidateParams, NodeId, StreetGraph};
use qalqan_store::{CameraRecord, IncidentRecord};
use serde_json::{Value, json};

/// Where candidate sites come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CandidateSource {
    /// Street intersections (nodes of degree ≥ 3) of the territory's street network.
    Intersections,
    /// The distinct places incidents were recorded at.
    IncidentPlaces,
}

/// The settings of a camera plan.
#[derive(Debug, Clone)]
pub struct CameraPlanParams {
    /// Budgets: how many new cameras, one plan each (e.g. 10, 20, 50).
    pub budgets: Vec<usize>,
    /// What a new camera covers, metres.
    pub range_m: f64,
    pub method: Method,
    /// Per budget.
    pub time_limit: Duration,
}

/// Plans new cameras for each budget. `streets` is the territory's street graph and the
/// projection it was built in, when there is one (its intersections are then the candidates).
pub fn camera_plan(
    territory: &Territory,
    records: &[IncidentRecord],
    cameras: &[CameraRecord],
    streets: Option<(&StreetGraph, &Utm)>,
    params: &CameraPlanParams,
) -> Result<Value, PlanningError> {
    // At least a metre: the coverage grid's cells are the range (found by fuzzing the API: 3e-86 m overflowed them).
    if !(params.range_m >= 1.0 && params.range_m <= 1000.0) {
        return Err(PlanningError::InvalidParameter { name: "range", reason: format!("{} m must be in [1, 1000]", params.range_m) });
    }
    let utm = match streets {
        Some((_, utm)) => *utm,
        None => crate::cameras::planning_projection(territory, &records.iter().map(|r| r.location).collect::<Vec<_>>()),
    };
    // Demand: incidents by exact place.
    let mut places: HashMap<(u64, u64), (f64, f64, f64)> = HashMap::new();
    for r in records {
        let (x, y) = utm.forward(r.location);
        places.entry((r.location.lat().to_bits(), r.location.lon().to_bits())).or_insert((x, y, 0.0)).2 += 1.0;
    }
    let mut demand: Vec<(f64, f64, f64)> = places.into_values().collect();
    demand.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    // What the working cameras already see.
    let working: Vec<_> =
        cameras.iter().filter(|c| c.camera.status == CameraStatus::Working).filter_map(|c| crate::cameras::sector(&utm, c)).collect();
    let existing = CameraIndex::new(working.clone());
    let seen: Vec<bool> = demand.iter().map(|&(x, y, _)| !existing.seeing(x, y).is_empty()).collect();
    let total: f64 = demand.iter().map(|d| d.2).sum();
    let already: f64 = demand.iter().zip(&seen).filter(|(_, s)| **s).map(|(d, _)| d.2).sum();
    // Candidates.
    let (source, sites): (CandidateSource, Vec<(f64, f64)>) = match streets {
        Some((graph, _)) => (
            CandidateSource::Intersections,
            graph.candidate_sites(&CandidateParams::default()).into_iter().map(|n: NodeId| graph.node_xy(n)).collect(),
        ),
        None => (CandidateSource::IncidentPlaces, demand.iter().map(|&(x, y, _)| (x, y)).collect()),
    };
    // Coverage lists through a grid of the range.
    let cell = params.range_m;
    let mut buckets: HashMap<(i64, i64), Vec<usize>> = HashMap::new();
    for (j, &(x, y)) in sites.iter().enumerate() {
        buckets.entry(((x / cell).floor() as i64, (y / cell).floor() as i64)).or_default().push(j);
    }
    let r2 = params.range_m * params.range_m;
    let lists: Vec<Vec<usize>> = demand
        .iter()
        .map(|&(x, y, _)| {
            let (cx, cy) = ((x / cell).floor() as i64, (y / cell).floor() as i64);
            let mut out = Vec::new();
            for dy in -1..=1 {
                for dx in -1..=1 {
                    for &j in buckets.get(&(cx + dx, cy + dy)).map(Vec::as_slice).unwrap_or(&[]) {
                        let (sx, sy) = sites[j];
                        if (sx - x).powi(2) + (sy - y).powi(2) <= r2 {
                            out.push(j);
                        }
                    }
                }
            }
            out
        })
        .collect();
    let weights: Vec<f64> = demand.iter().zip(&seen).map(|(d, s)| if *s { 0.0 } else { d.2 }).collect();
    let coverage = Coverage::new(weights, sites.len(), lists)?;
    let share = |v: f64| if total > 0.0 { (v / total * 1e4).round() / 1e4 } else { 0.0 };
    let mut plans = Vec::new();
    for &k in &params.budgets {
        let k = k.min(sites.len());
        let lp = LocationParams { p: k, method: params.method, time_limit: params.time_limit, ..LocationParams::default() };
        let placement = maximal_covering(&coverage, &lp)?;
        let chosen: Vec<Value> = placement
            .chosen
            .iter()
            .map(|&j| {
                let p = utm.inverse(sites[j].0, sites[j].1);
                let gain: f64 = (0..demand.len()).filter(|&i| placement.assignment[i] == Some(j)).map(|i| coverage.weights()[i]).sum();
                json!({"lat": (p.lat() * 1e6).round() / 1e6, "lon": (p.lon() * 1e6).round() / 1e6, "incidents": gain})
            })
            .collect();
        plans.push(json!({
            "budget": k, "new_incidents_covered": placement.objective, "new_share": share(placement.objective),
            "total_share": share(already + placement.objective), "bound": placement.bound,
            "gap": if placement.gap.is_finite() { Some((placement.gap * 1e6).round() / 1e6) } else { None },
            "status": if placement.status == Status::Optimal { "optimal" } else { "feasible" },
            "seconds": (placement.seconds * 1e4).round() / 1e4, "sites": chosen,
        }));
    }
    Ok(json!({
        "incidents": total, "demand_places": demand.len(),
        "existing": {"working_cameras": working.len(), "incidents_covered": already + 0.0, "share": share(already) + 0.0},
        "candidates": {"source": match source { CandidateSource::Intersections => "intersections", CandidateSource::IncidentPlaces => "incident_places" }, "count": sites.len()},
        "range_m": params.range_m, "method": match params.method { Method::Exact => "exact", Method::Heuristic => "heuristic" },
        "plans": plans,
    }))
}
