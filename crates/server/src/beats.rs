//! District inspectors' beats on the wire: each beat's workload, and a redistricting proposal
//! (shared by the CLI and the API).
//!
//! Workload of a beat = `incident` × incidents + `facility` × places of interest + `street_km` ×
//! kilometres of street inside it ([`WorkloadWeights`], incidents only by default: the one measure
//! every police force has; calls for service are not imported yet). A segment belongs to the beat
//! holding its middle, a place or incident to the beat holding it.
//!
//! The proposal cuts the territory into square cells (`cell` metres; kept when their centre is in
//! the territory's boundary, or in a current beat, or — with neither — within the incidents'
//! extent), joins rook neighbours, and runs [`qalqan_planning::beats::redistrict`] for `n`
//! inspectors, starting from the current beats when there are any (their cells keep their beat
//! numbers). The proposed beats come back dissolved into polygons.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::response::{IntoResponse, Response};
use qalqan_domain::account::Role;
use qalqan_domain::beat::NewBeat;
use qalqan_domain::{Territory, Wgs84Point};
use qalqan_planning::PlanningError;
use qalqan_planning::beats::{BeatSummary, RedistrictParams, Unit, beat_summary, redistrict};
use qalqan_planning::street::SegmentId;
use qalqan_store::{BeatRecord, IncidentRecord, PostRecord};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::session::CurrentSession;
use crate::streets::Streets;
use crate::{ApiError, AppState, ErrorBody};

/// Most cells a proposal works on.
pub const MAX_CELLS: usize = 60_000;

/// How a beat's workload is made up.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorkloadWeights {
    /// Per incident. Default 1.
    pub incident: f64,
    /// Per place of interest (bar, shop, school, stop …). Default 0.
    pub facility: f64,
    /// Per kilometre of street. Default 0.
    pub street_km: f64,
}

impl Default for WorkloadWeights {
    fn default() -> Self {
        Self { incident: 1.0, facility: 0.0, street_km: 0.0 }
    }
}

/// The counts a workload is made of.
#[derive(Debug, Clone, Copy, Default)]
struct Counts {
    incidents: f64,
    facilities: f64,
    street_km: f64,
    posts: f64,
}

impl Counts {
    fn workload(&self, w: &WorkloadWeights) -> f64 {
        w.incident * self.incidents + w.facility * self.facilities + w.street_km * self.street_km
    }
}

fn round(v: f64, d: i32) -> f64 {
    let f = 10f64.powi(d);
    (v * f).round() / f + 0.0
}

fn summary_json(s: &BeatSummary) -> Value {
    json!({
        "beats": s.beats.len(), "mean_workload": round(s.mean_workload, 2), "max_to_mean": round(s.max_to_mean, 4),
        "max_deviation": round(s.max_deviation, 4), "coefficient_of_variation": round(s.coefficient_of_variation, 4),
        "range_to_mean": round(s.range_to_mean, 4), "all_contiguous": s.all_contiguous(), "unassigned_cells": s.unassigned,
    })
}

/// Imbalance of plain per-beat workloads (for registered beats, which are polygons, not cells).
fn imbalance(workloads: &[f64]) -> Value {
    let n = workloads.len() as f64;
    if workloads.is_empty() {
        return Value::Null;
    }
    let mean = workloads.iter().sum::<f64>() / n;
    let max = workloads.iter().copied().fold(f64::MIN, f64::max);
    let min = workloads.iter().copied().fold(f64::MAX, f64::min);
    let sd = (workloads.iter().map(|w| (w - mean).powi(2)).sum::<f64>() / n).sqrt();
    let ratio = |v: f64| if mean > 0.0 { Some(round(v / mean, 4)) } else { None };
    json!({"beats": workloads.len(), "mean_workload": round(mean, 2), "max_to_mean": ratio(max), "coefficient_of_variation": ratio(sd), "range_to_mean": ratio(max - min)})
}

/// The registered beats as GeoJSON with each one's workload, and the imbalance between them.
pub fn beats_json(
    beats: &[BeatRecord],
    records: &[IncidentRecord],
    streets: Option<&Streets>,
    posts: &[PostRecord],
    weights: &WorkloadWeights,
) -> Value {
    let mut counts = vec![Counts::default(); beats.len()];
    let find = |p: Wgs84Point| beats.iter().position(|b| b.beat.boundary.contains(p));
    let mut outside = 0u64;
    for r in records {
        match find(r.location) {
            Some(k) => counts[k].incidents += 1.0,
            None => outside += 1,
        }
    }
    for p in posts {
        if let Some(k) = find(p.post.location) {
            counts[k].posts += 1.0;
        }
    }
    if let Some(s) = streets {
        for &(x, y, _) in &s.places {
            if let Some(k) = find(s.utm.inverse(x, y)) {
                counts[k].facilities += 1.0;
            }
        }
        for k in 0..s.graph.segment_count() {
            let id = SegmentId(k as u32);
            let line = s.graph.segment_geometry(id);
            let mid = line[line.len() / 2];
            if let Some(b) = find(s.utm.inverse(mid.0, mid.1)) {
                counts[b].street_km += s.graph.segment(id).length_m / 1000.0;
            }
        }
    }
    let workloads: Vec<f64> = counts.iter().map(|c| c.workload(weights)).collect();
    let features: Vec<Value> = beats
        .iter()
        .zip(&counts)
        .zip(&workloads)
        .map(|((b, c), w)| {
            json!({
                "type": "Feature",
                "geometry": crate::layers::multipolygon(b.beat.boundary.shape()),
                "properties": {
                    "name": b.beat.name, "inspector": b.beat.inspector, "incidents": c.incidents, "facilities": c.facilities,
                    "street_km": round(c.street_km, 2), "posts": c.posts, "workload": round(*w, 2),
                },
            })
        })
        .collect();
    json!({
        "type": "FeatureCollection", "features": features, "summary": imbalance(&workloads), "incidents_outside_beats": outside,
        "weights": {"incident": weights.incident, "facility": weights.facility, "street_km": weights.street_km},
    })
}

/// The settings of a redistricting proposal.
#[derive(Debug, Clone)]
pub struct BeatPlanParams {
    /// Inspectors (beats).
    pub inspectors: usize,
    /// Cell side, metres.
    pub cell_m: f64,
    pub weights: WorkloadWeights,
    /// Allowed deviation from the mean workload.
    pub tolerance: f64,
    pub seed: u64,
}

impl Default for BeatPlanParams {
    fn default() -> Self {
        Self { inspectors: 6, cell_m: 250.0, weights: WorkloadWeights::default(), tolerance: 0.10, seed: 1 }
    }
}

/// Proposes `inspectors` balanced, compact, contiguous beats (see the module docs).
pub fn beat_plan(
    territory: &Territory,
    beats: &[BeatRecord],
    records: &[IncidentRecord],
    streets: Option<&Streets>,
    params: &BeatPlanParams,
) -> Result<Value, PlanningError> {
    if !(params.cell_m >= 25.0 && params.cell_m <= 5000.0) {
        return Err(PlanningError::InvalidParameter { name: "cell", reason: format!("{} m must be in [25, 5000]", params.cell_m) });
    }
    if !(1..=500).contains(&params.inspectors) {
        return Err(PlanningError::InvalidParameter { name: "n", reason: format!("{} inspectors must be 1-500", params.inspectors) });
    }
    let utm = match streets {
        Some(s) => s.utm,
        None => crate::cameras::planning_projection(territory, &records.iter().map(|r| r.location).collect::<Vec<_>>()),
    };
    // The extent: the boundary, else the beats, else the incidents.
    let mut corners: Vec<Wgs84Point> = Vec::new();
    let mut add_bbox = |b: [f64; 4]| {
        corners.extend(
            [Wgs84Point::new(b[1], b[0]), Wgs84Point::new(b[3], b[2]), Wgs84Point::new(b[1], b[2]), Wgs84Point::new(b[3], b[0])]
                .into_iter()
                .flatten(),
        )
    };
    if let Some(b) = &territory.boundary {
        add_bbox(b.bbox());
    } else if !beats.is_empty() {
        beats.iter().for_each(|b| add_bbox(b.beat.boundary.bbox()));
    } else if let Some(s) = streets.filter(|s| s.graph.node_count() > 0) {
        corners.extend((0..s.graph.node_count()).map(|v| {
            let (x, y) = s.graph.node_xy(qalqan_planning::street::NodeId(v as u32));
            utm.inverse(x, y)
        }));
    } else {
        corners.extend(records.iter().map(|r| r.location));
    }
    if corners.is_empty() {
        return Err(PlanningError::InvalidParameter {
            name: "territory",
            reason: "has no boundary, beats or incidents to cut into cells".into(),
        });
    }
    let xy: Vec<(f64, f64)> = corners.iter().map(|&p| utm.forward(p)).collect();
    let (x0, y0) = xy.iter().fold((f64::MAX, f64::MAX), |a, p| (a.0.min(p.0), a.1.min(p.1)));
    let (x1, y1) = xy.iter().fold((f64::MIN, f64::MIN), |a, p| (a.0.max(p.0), a.1.max(p.1)));
    let c = params.cell_m;
    // Cells on multiples of their size: the same cells whatever the extent, so a proposal made
    // earlier (and kept as beats) is cut the same way again.
    let (x0, y0) = ((x0 / c).floor() * c, (y0 / c).floor() * c);
    let (nx, ny) = (((x1 - x0) / c).floor() as usize + 1, ((y1 - y0) / c).floor() as usize + 1);
    if nx.saturating_mul(ny) > 4 * MAX_CELLS {
        return Err(PlanningError::InvalidParameter {
            name: "cell",
            reason: format!("{c} m cuts the territory into {} cells: use larger cells", nx * ny),
        });
    }
    let centre = |i: usize, j: usize| (x0 + (i as f64 + 0.5) * c, y0 + (j as f64 + 0.5) * c);
    let current = |p: Wgs84Point| beats.iter().position(|b| b.beat.boundary.contains(p));
    // Which cells are kept, and the current beat of each.
    let mut index = vec![u32::MAX; nx * ny];
    let mut cells: Vec<(usize, usize)> = Vec::new();
    let mut start: Vec<Option<u32>> = Vec::new();
    for j in 0..ny {
        for i in 0..nx {
            let (x, y) = centre(i, j);
            let p = utm.inverse(x, y);
            let beat = current(p);
            let keep = match &territory.boundary {
                Some(b) => b.contains(p),
                None => beats.is_empty() || beat.is_some(),
            };
            // Without a boundary or beats, cells with neither street nor incident (water, rail
            // yards) are dropped below.
            if keep {
                index[j * nx + i] = cells.len() as u32;
                cells.push((i, j));
                start.push(beat.map(|b| b as u32));
            }
        }
    }
    if cells.len() > MAX_CELLS {
        return Err(PlanningError::InvalidParameter { name: "cell", reason: format!("{} cells of {c} m: use larger cells", cells.len()) });
    }
    if cells.len() < params.inspectors {
        return Err(PlanningError::InvalidParameter {
            name: "n",
            reason: format!("{} inspectors need at least as many cells; there are {}: use smaller cells", params.inspectors, cells.len()),
        });
    }
    // Workload per cell.
    let cell_of = |x: f64, y: f64| -> Option<usize> {
        let (i, j) = (((x - x0) / c).floor(), ((y - y0) / c).floor());
        if i < 0.0 || j < 0.0 || i as usize >= nx || j as usize >= ny {
            return None;
        }
        let k = index[j as usize * nx + i as usize];
        (k != u32::MAX).then_some(k as usize)
    };
    let mut counts = vec![Counts::default(); cells.len()];
    for r in records {
        let (x, y) = utm.forward(r.location);
        if let Some(k) = cell_of(x, y) {
            counts[k].incidents += 1.0;
        }
    }
    if let Some(s) = streets {
        for &(x, y, _) in &s.places {
            if let Some(k) = cell_of(x, y) {
                counts[k].facilities += 1.0;
            }
        }
        for k in 0..s.graph.segment_count() {
            let id = SegmentId(k as u32);
            let line = s.graph.segment_geometry(id);
            let mid = line[line.len() / 2];
            if let Some(cell) = cell_of(mid.0, mid.1) {
                counts[cell].street_km += s.graph.segment(id).length_m / 1000.0;
            }
        }
    }
    if territory.boundary.is_none() && beats.is_empty() {
        // Keep only cells with a street or an incident, re-indexed.
        let kept: Vec<usize> = (0..cells.len()).filter(|&k| counts[k].street_km > 0.0 || counts[k].incidents > 0.0).collect();
        index.iter_mut().for_each(|v| *v = u32::MAX);
        for (new, &old) in kept.iter().enumerate() {
            let (i, j) = cells[old];
            index[j * nx + i] = new as u32;
        }
        cells = kept.iter().map(|&k| cells[k]).collect();
        counts = kept.iter().map(|&k| counts[k]).collect();
        start = kept.iter().map(|&k| start[k]).collect();
        if cells.len() < params.inspectors {
            return Err(PlanningError::InvalidParameter {
                name: "n",
                reason: format!(
                    "{} inspectors need at least as many cells; there are {}: use smaller cells",
                    params.inspectors,
                    cells.len()
                ),
            });
        }
    }
    let units: Vec<Unit> = cells
        .iter()
        .zip(&counts)
        .map(|(&(i, j), k)| {
            let (x, y) = centre(i, j);
            Unit { x, y, area_m2: c * c, workload: k.workload(&params.weights) }
        })
        .collect();
    let adjacency: Vec<Vec<u32>> = cells
        .iter()
        .map(|&(i, j)| {
            let mut n = Vec::with_capacity(4);
            let mut push = |ii: usize, jj: usize| {
                let k = index[jj * nx + ii];
                if k != u32::MAX {
                    n.push(k);
                }
            };
            if i > 0 {
                push(i - 1, j);
            }
            if i + 1 < nx {
                push(i + 1, j);
            }
            if j > 0 {
                push(i, j - 1);
            }
            if j + 1 < ny {
                push(i, j + 1);
            }
            n
        })
        .collect();
    let had_beats = start.iter().any(Option::is_some);
    let usable_start = had_beats && beats.len() <= params.inspectors;
    let before = if had_beats { Some(beat_summary(&units, &adjacency, &start, beats.len())?) } else { None };
    let rp = RedistrictParams {
        beats: params.inspectors,
        tolerance: params.tolerance,
        seed: params.seed,
        start: usable_start.then(|| start.clone()),
        ..RedistrictParams::default()
    };
    let result = redistrict(&units, &adjacency, &rp)?;
    // Per proposed beat: incidents, workload, and its outline.
    let mut per_beat = vec![Counts::default(); params.inspectors];
    for (k, &b) in result.assignment.iter().enumerate() {
        let p = &mut per_beat[b as usize];
        p.incidents += counts[k].incidents;
        p.facilities += counts[k].facilities;
        p.street_km += counts[k].street_km;
    }
    let features: Vec<Value> = (0..params.inspectors)
        .map(|b| {
            let polygons = dissolve(&cells, &result.assignment, b as u32);
            let coords: Vec<Vec<Vec<[f64; 2]>>> = polygons
                .into_iter()
                .map(|rings| {
                    rings
                        .into_iter()
                        .map(|ring| {
                            ring.into_iter()
                                .map(|(i, j)| {
                                    let p = utm.inverse(x0 + i as f64 * c, y0 + j as f64 * c);
                                    [round(p.lon(), 6), round(p.lat(), 6)]
                                })
                                .collect()
                        })
                        .collect()
                })
                .collect();
            let s = &result.after.beats[b];
            let name = if usable_start { beats.get(b).map(|r| r.beat.name.clone()) } else { None };
            json!({
                "type": "Feature",
                "geometry": {"type": "MultiPolygon", "coordinates": coords},
                "properties": {
                    "beat": b + 1, "name": name, "workload": round(s.workload, 2), "incidents": per_beat[b].incidents,
                    "facilities": per_beat[b].facilities, "street_km": round(per_beat[b].street_km, 2),
                    "cells": s.units, "compactness": s.compactness.map(|v| round(v, 3)), "contiguous": s.is_contiguous(),
                },
            })
        })
        .collect();
    let changed = if usable_start { result.assignment.iter().zip(&start).filter(|(a, s)| Some(**a) != **s).count() } else { cells.len() };
    Ok(json!({
        "inspectors": params.inspectors, "cell_m": c, "units": cells.len(), "tolerance": params.tolerance, "seed": params.seed,
        "weights": {"incident": params.weights.incident, "facility": params.weights.facility, "street_km": params.weights.street_km},
        "started_from": if usable_start { "current beats" } else { "scratch" },
        "cells_changing_beat": changed,
        "before": before.as_ref().map(summary_json), "after": summary_json(&result.after),
        "seconds": round(result.seconds, 3), "timed_out": result.timed_out, "attached_islands": result.attached.len(),
        "beats": {"type": "FeatureCollection", "features": features},
    }))
}

/// The outline of the cells assigned to `beat`, as polygons (outer ring counter-clockwise, then
/// holes), in cell-corner coordinates: boundary edges (those not shared with a cell of the beat)
/// are chained into rings, the interior on their left.
fn dissolve(cells: &[(usize, usize)], assignment: &[u32], beat: u32) -> Vec<Vec<Vec<(usize, usize)>>> {
    let mine: std::collections::HashSet<(usize, usize)> =
        cells.iter().zip(assignment).filter(|(_, b)| **b == beat).map(|(c, _)| *c).collect();
    let mut edges: HashMap<(usize, usize), Vec<(usize, usize)>> = HashMap::new();
    let mut sorted: Vec<&(usize, usize)> = mine.iter().collect();
    sorted.sort();
    for &&(i, j) in &sorted {
        let has = |di: isize, dj: isize| {
            let (ii, jj) = (i as isize + di, j as isize + dj);
            ii >= 0 && jj >= 0 && mine.contains(&(ii as usize, jj as usize))
        };
        // Counter-clockwise around the cell: bottom, right, top, left.
        if !has(0, -1) {
            edges.entry((i, j)).or_default().push((i + 1, j));
        }
        if !has(1, 0) {
            edges.entry((i + 1, j)).or_default().push((i + 1, j + 1));
        }
        if !has(0, 1) {
            edges.entry((i + 1, j + 1)).or_default().push((i, j + 1));
        }
        if !has(-1, 0) {
            edges.entry((i, j + 1)).or_default().push((i, j));
        }
    }
    let mut rings: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut starts: Vec<(usize, usize)> = edges.keys().copied().collect();
    starts.sort();
    for s in starts {
        while let Some(next) = edges.get_mut(&s).and_then(Vec::pop) {
            let mut ring = vec![s];
            let mut at = next;
            while at != s {
                ring.push(at);
                match edges.get_mut(&at).and_then(Vec::pop) {
                    Some(n) => at = n,
                    None => break,
                }
            }
            ring.push(s);
            rings.push(ring);
        }
    }
    let area = |r: &[(usize, usize)]| -> f64 {
        r.windows(2).map(|w| w[0].0 as f64 * w[1].1 as f64 - w[1].0 as f64 * w[0].1 as f64).sum::<f64>() / 2.0
    };
    let inside = |p: (f64, f64), r: &[(usize, usize)]| -> bool {
        let mut c = false;
        for w in r.windows(2) {
            let ((xa, ya), (xb, yb)) = ((w[0].0 as f64, w[0].1 as f64), (w[1].0 as f64, w[1].1 as f64));
            if (ya > p.1) != (yb > p.1) && p.0 < xa + (p.1 - ya) / (yb - ya) * (xb - xa) {
                c = !c;
            }
        }
        c
    };
    let (outer, holes): (Vec<_>, Vec<_>) = rings.into_iter().partition(|r| area(r) > 0.0);
    let mut polygons: Vec<Vec<Vec<(usize, usize)>>> = outer.into_iter().map(|r| vec![r]).collect();
    for h in holes {
        // A hole's first edge midpoint, nudged inside the hole, lies in the polygon holding it.
        let p = ((h[0].0 + h[1].0) as f64 / 2.0 + 0.01, (h[0].1 + h[1].1) as f64 / 2.0 + 0.01);
        if let Some(poly) = polygons.iter_mut().find(|poly| inside(p, &poly[0])) {
            poly.push(h);
        }
    }
    polygons
}

/// Query of the beat endpoints.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BeatQuery {
    /// First local day, `YYYY-MM-DD` (inclusive).
    pub from: Option<String>,
    /// Last local day, `YYYY-MM-DD` (inclusive).
    pub to: Option<String>,
    /// A category code.
    pub category: Option<String>,
    /// Weight of an incident in the workload (default 1).
    pub w_incident: Option<f64>,
    /// Weight of a place of interest (default 0).
    pub w_facility: Option<f64>,
    /// Weight of a kilometre of street (default 0).
    pub w_street_km: Option<f64>,
    /// Proposal: inspectors (default 6).
    pub n: Option<usize>,
    /// Proposal: cell side in metres (default 250).
    pub cell: Option<f64>,
    /// Proposal: allowed deviation from the mean workload (default 0.10).
    pub tolerance: Option<f64>,
    /// Proposal: seed (default 1).
    pub seed: Option<u64>,
}

impl BeatQuery {
    fn weights(&self) -> Result<WorkloadWeights, ApiError> {
        let d = WorkloadWeights::default();
        let w = WorkloadWeights {
            incident: self.w_incident.unwrap_or(d.incident),
            facility: self.w_facility.unwrap_or(d.facility),
            street_km: self.w_street_km.unwrap_or(d.street_km),
        };
        if [w.incident, w.facility, w.street_km].iter().any(|v| !(v.is_finite() && *v >= 0.0 && *v <= 1e6)) {
            return Err(ApiError::BadRequest("workload weights must be numbers in [0, 1000000]".into()));
        }
        Ok(w)
    }
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/beats", tag = "planning", summary = "The inspectors' beats as GeoJSON with each one's workload (incidents, places, street length, posts) and the imbalance between them", params(("name" = String, Path, description = "Territory name"), BeatQuery), responses((status = 200, description = "One feature per beat", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<BeatQuery>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let weights = q.weights()?;
    let beats = state.store.beats(territory.id).await?;
    let posts = state.store.posts(territory.id).await?;
    let records = state.store.incident_records(&filter).await?;
    let streets = crate::streets::load_streets(&state.store, &territory).await?;
    let value = tokio::task::spawn_blocking(move || beats_json(&beats, &records, streets.as_ref(), &posts, &weights))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Json(value).into_response())
}

/// Runs a redistricting proposal for the API.
pub(crate) async fn run_beat_plan(state: &AppState, territory: Territory, q: &BeatQuery) -> Result<Value, ApiError> {
    let filter = crate::incident_filter(&territory, q.from.as_deref(), q.to.as_deref(), q.category.as_deref())?;
    let d = BeatPlanParams::default();
    let params = BeatPlanParams {
        inspectors: q.n.unwrap_or(d.inspectors),
        cell_m: q.cell.unwrap_or(d.cell_m),
        weights: q.weights()?,
        tolerance: q.tolerance.unwrap_or(d.tolerance),
        seed: q.seed.unwrap_or(d.seed),
    };
    let beats = state.store.beats(territory.id).await?;
    let records = state.store.incident_records(&filter).await?;
    let streets = crate::streets::load_streets(&state.store, &territory).await?;
    tokio::task::spawn_blocking(move || beat_plan(&territory, &beats, &records, streets.as_ref(), &params))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/plans/beats", tag = "planning", summary = "A redistricting proposal: n beats balanced in workload, compact and contiguous, with the imbalance before and after", params(("name" = String, Path, description = "Territory name"), BeatQuery), responses((status = 200, description = "The proposal", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn plan(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Query(q): Query<BeatQuery>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    Ok(Json(run_beat_plan(&state, territory, &q).await?).into_response())
}

/// Reads a beat map: (Multi)Polygon features with a `name` and an optional `inspector` property;
/// every bad feature is named.
pub fn parse_beats(
    file: &str,
    path: &std::path::Path,
    name_property: &str,
    inspector_property: &str,
) -> Result<Vec<NewBeat>, Vec<qalqan_ingest::RowError>> {
    let features = qalqan_ingest::boundaries::read_polygons(path).map_err(|e| {
        vec![qalqan_ingest::RowError { file: file.into(), line: 1, field: "file".into(), reason: e.to_string(), record: String::new() }]
    })?;
    let mut beats: Vec<NewBeat> = Vec::new();
    let mut errors = Vec::new();
    for f in &features {
        let err = |field: &str, reason: String| qalqan_ingest::RowError {
            file: file.into(),
            line: f.index as u64 + 1,
            field: field.into(),
            reason,
            record: String::new(),
        };
        let Some(name) = f.property(name_property) else {
            errors.push(err(name_property, "is empty".into()));
            continue;
        };
        let beat = qalqan_domain::Area::new(f.shape.clone()).map_err(|e| err("geometry", e.to_string())).and_then(|area| {
            NewBeat::new(&name, f.property(inspector_property).as_deref(), area).map_err(|e| err(name_property, e.to_string()))
        });
        match beat {
            Ok(b) if beats.iter().any(|o| o.name == b.name) => errors.push(err(name_property, format!("'{}' names two beats", b.name))),
            Ok(b) => beats.push(b),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() { Ok(beats) } else { Err(errors) }
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/beats", tag = "planning", summary = "Replace the beat map with the body's GeoJSON polygons (property `name`, optional `inspector`); all or nothing, every bad feature named", params(("name" = String, Path, description = "Territory name")), request_body(content = String, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"), responses((status = 200, description = "Beats replaced", body = serde_json::Value), (status = 422, description = "Invalid features; nothing written", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn upload(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    if !matches!(session.user.role, Role::Administrator | Role::Analyst | Role::Commander) {
        return Err(ApiError::Forbidden(format!("the {} role cannot change the beat map", session.user.role)));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let dir = tempfile::tempdir().map_err(|e| ApiError::Internal(e.to_string()))?;
    let path = dir.path().join("beats.geojson");
    std::fs::write(&path, &body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let beats = match parse_beats("beats.geojson", &path, "name", "inspector") {
        Ok(b) => b,
        Err(errors) => return Ok(crate::cameras::rejects_response(&errors)),
    };
    let replaced = state.store.replace_beats(territory.id, &beats, &crate::session::actor(&session, peer)).await?;
    Ok(Json(json!({"beats": beats.len(), "replaced": replaced})).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_dissolve_into_rings_with_holes() {
        // A 3 × 3 block with its centre in another beat: one polygon with one hole.
        let cells: Vec<(usize, usize)> = (0..3).flat_map(|j| (0..3).map(move |i| (i, j))).collect();
        let assignment: Vec<u32> = cells.iter().map(|&c| u32::from(c == (1, 1))).collect();
        let p = dissolve(&cells, &assignment, 0);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].len(), 2, "outer ring and the hole");
        assert_eq!(p[0][0].len(), 13, "12 unit edges around a 3 × 3 block, closed");
        assert_eq!(p[0][1].len(), 5);
        let centre = dissolve(&cells, &assignment, 1);
        assert_eq!(centre, vec![vec![vec![(1, 1), (2, 1), (2, 2), (1, 2), (1, 1)]]]);
        // Two separate cells: two polygons.
        let two = dissolve(&[(0, 0), (2, 0)], &[0, 0], 0);
        assert_eq!(two.len(), 2);
    }
}
