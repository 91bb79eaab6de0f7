//! Did a measure work? An intervention's target area (its radius around its centre), a
//! displacement buffer (a ring around it) and a control area (a wider ring beyond), compared
//! before and after its start: counts, the Weighted Displacement Quotient, and
//! difference-in-differences Poisson tests of the target and of the buffer against the control
//! (see [`qalqan_analysis::evaluation`]), with a verdict in plain words. Shared by
//! `qalqan evaluate` and `GET …/interventions/{id}/evaluation`.
//!
//! Periods: the "after" window runs from the start for `after_days`, cut at the last day with
//! data; the WDQ compares it with the same number of days just before the start, the regression
//! uses every whole week (or month) of the `before_days` before the start and of the after window.
//! Incidents are dated by their local calendar day (their window's start) and placed by their
//! distance to the centre in a UTM projection.

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{Datelike, NaiveDate};
use qalqan_analysis::evaluation::{AreaCounts, DidEstimate, DidParams, Verdict, Wdq, did_poisson, wdq};
use qalqan_analysis::projection::Utm;
use qalqan_domain::Territory;
use qalqan_domain::account::Role;
use qalqan_domain::intervention::NewIntervention;
use qalqan_store::IncidentRecord;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::assignments::date;
use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// The period of the regression's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Week,
    Month,
}

/// Settings of an evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct EvaluationParams {
    /// Days before the start in the regression. Default 365.
    pub before_days: u32,
    /// Days after the start. Default 180.
    pub after_days: u32,
    /// Width of the displacement buffer around the target, metres. Default 400.
    pub buffer_m: f64,
    /// Outer radius of the control ring (which starts where the buffer ends), metres. Default 2,000.
    pub control_radius_m: f64,
    /// Default weeks.
    pub period: Period,
    /// Default 0.95.
    pub confidence: f64,
}

impl Default for EvaluationParams {
    fn default() -> Self {
        Self { before_days: 365, after_days: 180, buffer_m: 400.0, control_radius_m: 2000.0, period: Period::Week, confidence: 0.95 }
    }
}

/// Why an evaluation cannot be made.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvaluationError {
    #[error("{0}")]
    Invalid(String),
}

impl EvaluationParams {
    /// Checks the ranges.
    pub fn check(&self, radius_m: f64) -> Result<(), EvaluationError> {
        let bad = |m: String| Err(EvaluationError::Invalid(m));
        if !(28..=3650).contains(&self.before_days) {
            return bad(format!("before_days {} must be 28-3650", self.before_days));
        }
        if !(14..=3650).contains(&self.after_days) {
            return bad(format!("after_days {} must be 14-3650", self.after_days));
        }
        if !(self.buffer_m.is_finite() && (0.0..=5000.0).contains(&self.buffer_m)) {
            return bad(format!("buffer {} m must be 0-5000", self.buffer_m));
        }
        if !(self.control_radius_m.is_finite() && self.control_radius_m > radius_m + self.buffer_m && self.control_radius_m <= 20_000.0) {
            return bad(format!(
                "control radius {} m must be beyond the target and buffer ({} m) and at most 20000",
                self.control_radius_m,
                radius_m + self.buffer_m
            ));
        }
        if !(0.5..1.0).contains(&self.confidence) {
            return bad(format!("confidence {} must be in [0.5, 1)", self.confidence));
        }
        Ok(())
    }

    /// The first and last day (exclusive) of incidents an evaluation reads.
    pub fn window(&self, starts_on: NaiveDate) -> (NaiveDate, NaiveDate) {
        (starts_on - chrono::Duration::days(i64::from(self.before_days)), starts_on + chrono::Duration::days(i64::from(self.after_days)))
    }
}

/// Which area a distance from the centre falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Area {
    Target,
    Buffer,
    Control,
}

/// Evaluates an intervention on the territory's incidents (those of the window; others are
/// ignored); `last_day` is the last day with data in the territory.
pub fn evaluate(
    territory: &Territory,
    intervention: &NewIntervention,
    records: &[IncidentRecord],
    last_day: Option<NaiveDate>,
    params: &EvaluationParams,
) -> Result<Value, EvaluationError> {
    params.check(intervention.radius_m)?;
    let start = intervention.starts_on;
    let (from, to) = params.window(start);
    let end = match last_day {
        Some(d) if d < start => {
            return Err(EvaluationError::Invalid(format!(
                "the data end on {d}, before the measure started on {start}: nothing to evaluate yet"
            )));
        }
        Some(d) => to.min(d + chrono::Duration::days(1)),
        None => {
            return Err(EvaluationError::Invalid(format!(
                "no incidents between {from} and {to}: the data do not cover the measure's period (it started on {start})"
            )));
        }
    };
    let after_days = (end - start).num_days();
    if after_days < 14 {
        return Err(EvaluationError::Invalid(format!(
            "only {after_days} day(s) of data after the start on {start}: at least 14 are needed"
        )));
    }
    let utm = Utm::for_centre(intervention.centre.lat(), intervention.centre.lon());
    let (cx, cy) = utm.forward(intervention.centre);
    let r = intervention.radius_m;
    let area_of = |d: f64| {
        if d <= r {
            Some(Area::Target)
        } else if d <= r + params.buffer_m {
            Some(Area::Buffer)
        } else if d <= params.control_radius_m {
            Some(Area::Control)
        } else {
            None
        }
    };
    // Periods: whole weeks (or calendar months) before and after the start.
    let period_of = |day: NaiveDate| -> i64 {
        match params.period {
            Period::Week => (day - start).num_days().div_euclid(7),
            Period::Month => (day.year() as i64 * 12 + day.month0() as i64) - (start.year() as i64 * 12 + start.month0() as i64),
        }
    };
    let first = period_of(from);
    // Only whole periods: the first period must start on or after `from`, the last must end by `end`.
    let whole = |p: i64| -> bool {
        match params.period {
            Period::Week => start + chrono::Duration::days(p * 7) >= from && start + chrono::Duration::days(p * 7 + 7) <= end,
            Period::Month => {
                let (y, m) = month_of(start, p);
                let first_day = NaiveDate::from_ymd_opt(y, m, 1).expect("a month");
                let (ny, nm) = month_of(start, p + 1);
                let next = NaiveDate::from_ymd_opt(ny, nm, 1).expect("a month");
                // The start's own month counts as "after" only from the start: require it to begin there.
                first_day >= from && next <= end && (p != 0 || first_day == start)
            }
        }
    };
    let last = period_of(end - chrono::Duration::days(1));
    let periods: Vec<i64> = (first..=last).filter(|&p| whole(p)).collect();
    let index: std::collections::HashMap<i64, usize> = periods.iter().enumerate().map(|(i, &p)| (p, i)).collect();
    let mut series = [vec![0u64; periods.len()], vec![0u64; periods.len()], vec![0u64; periods.len()]];
    let wdq_from = start - chrono::Duration::days(after_days);
    let (mut before, mut after) = (AreaCounts::default(), AreaCounts::default());
    for rec in records {
        let day = rec.start.with_timezone(&territory.time_zone).date_naive();
        if day < from || day >= end {
            continue;
        }
        let (x, y) = utm.forward(rec.location);
        let Some(area) = area_of((x - cx).hypot(y - cy)) else { continue };
        let slot = match area {
            Area::Target => 0,
            Area::Buffer => 1,
            Area::Control => 2,
        };
        if let Some(&i) = index.get(&period_of(day)) {
            series[slot][i] += 1;
        }
        let bump = |c: &mut AreaCounts| match area {
            Area::Target => c.target += 1,
            Area::Buffer => c.buffer += 1,
            Area::Control => c.control += 1,
        };
        if day >= start {
            bump(&mut after);
        } else if day >= wdq_from {
            bump(&mut before);
        }
    }
    let first_after = periods.iter().position(|&p| p >= 0).unwrap_or(periods.len());
    let did = DidParams { confidence: params.confidence, ..DidParams::default() };
    let target = did_poisson(&series[0], &series[2], first_after, &did);
    let buffer = if params.buffer_m > 0.0 { Some(did_poisson(&series[1], &series[2], first_after, &did)) } else { None };
    let w = wdq(before, after);
    let estimate_json = |e: &Result<DidEstimate, qalqan_analysis::AnalysisError>, area: &str| match e {
        Ok(e) => {
            let v = Verdict::of(e);
            json!({
                "rate_ratio": round(e.rate_ratio), "low": round(e.low), "high": round(e.high), "p_value": round(e.p_value),
                "dispersion": round(e.dispersion), "periods_before": e.periods_before, "periods_after": e.periods_after,
                "verdict": v.code(), "sentence": v.sentence(e, area, params.confidence),
            })
        }
        Err(e) => json!({"verdict": "not_estimable", "sentence": format!("The {area} cannot be assessed: {e}.")}),
    };
    let wdq_json = match &w {
        Ok(w) => wdq_value(w),
        Err(e) => json!({"displacement": "not_estimable", "sentence": format!("The WDQ cannot be computed: {e}.")}),
    };
    let counts = |c: &AreaCounts| json!({"target": c.target, "buffer": c.buffer, "control": c.control});
    Ok(json!({
        "intervention": {
            "name": intervention.name, "kind": intervention.kind.code(), "starts_on": start.to_string(),
            "lat": intervention.centre.lat(), "lon": intervention.centre.lon(), "radius_m": r, "assignment_id": intervention.assignment_id,
        },
        "areas": {"target_radius_m": r, "buffer_outer_m": r + params.buffer_m, "control_outer_m": params.control_radius_m},
        "window": {
            "before_from": from.to_string(), "after_to": end.to_string(), "after_days": after_days,
            "wdq_before_from": wdq_from.to_string(), "period": match params.period { Period::Week => "week", Period::Month => "month" },
        },
        "counts": {"before": counts(&before), "after": counts(&after)},
        "wdq": wdq_json,
        "target": estimate_json(&target, "target area"),
        "buffer": buffer.as_ref().map(|b| estimate_json(b, "buffer")),
        "confidence": params.confidence,
        "series": {
            "periods": periods.iter().map(|&p| period_label(start, p, params.period)).collect::<Vec<_>>(),
            "first_after": first_after,
            "target": series[0], "buffer": series[1], "control": series[2],
        },
    }))
}

fn month_of(start: NaiveDate, offset: i64) -> (i32, u32) {
    let m = start.year() as i64 * 12 + start.month0() as i64 + offset;
    (m.div_euclid(12) as i32, m.rem_euclid(12) as u32 + 1)
}

fn period_label(start: NaiveDate, p: i64, period: Period) -> String {
    match period {
        Period::Week => (start + chrono::Duration::days(p * 7)).to_string(),
        Period::Month => {
            let (y, m) = month_of(start, p);
            format!("{y}-{m:02}")
        }
    }
}

fn round(x: f64) -> f64 {
    (x * 1e4).round() / 1e4
}

fn wdq_value(w: &Wdq) -> Value {
    use qalqan_analysis::evaluation::Displacement as D;
    let (code, sentence) = match w.displacement {
        D::NoSuccess => ("no_success", "The target area did not improve relative to the control, so displacement cannot be judged."),
        D::DiffusionExceedsDirect => {
            ("diffusion_exceeds_direct", "The buffer improved even more than the target area: a diffusion of benefits.")
        }
        D::Diffusion => ("diffusion", "The buffer improved too: a diffusion of benefits, no displacement."),
        D::None => ("none", "The buffer did not change relative to the control: no displacement."),
        D::DisplacementLessThanGain => {
            ("displacement_less_than_gain", "Some crime moved into the buffer, less than the target area gained: a net benefit.")
        }
        D::DisplacementExceedsGain => {
            ("displacement_exceeds_gain", "More crime moved into the buffer than the target area gained: the measure backfired.")
        }
    };
    json!({
        "success": round(w.success), "buffer": round(w.buffer), "wdq": w.wdq.map(round),
        "total_net_effect": round(w.total_net_effect), "displacement": code, "sentence": sentence,
    })
}

/// The last local day with any of the territory's incidents among `records`.
pub fn last_day(territory: &Territory, records: &[IncidentRecord]) -> Option<NaiveDate> {
    records.iter().map(|r| r.start.with_timezone(&territory.time_zone).date_naive()).max()
}

/// An intervention as JSON.
pub fn intervention_json(r: &qalqan_store::evaluation::InterventionRecord) -> Value {
    let i = &r.intervention;
    json!({
        "id": r.id, "name": i.name, "kind": i.kind.code(), "starts_on": i.starts_on.to_string(), "lat": i.centre.lat(), "lon": i.centre.lon(),
        "radius_m": i.radius_m, "assignment_id": i.assignment_id, "note": i.note, "created_by": r.created_by, "created_at": r.created_at,
    })
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/interventions", tag = "evaluation", summary = "The territory's prevention measures recorded for evaluation", params(("name" = String, Path, description = "Territory name")), responses((status = 200, description = "The interventions", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "No such territory (or outside the user's scope)", body = ErrorBody)))]
pub(crate) async fn list_interventions(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let list = state.store.interventions(territory.id).await?;
    Ok(Json(json!({"interventions": list.iter().map(intervention_json).collect::<Vec<_>>()})).into_response())
}

/// Body of `POST …/interventions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InterventionBody {
    pub name: String,
    /// camera_cluster, post, mobile_point, patrol_plan, lighting or other.
    pub kind: String,
    /// `YYYY-MM-DD`.
    pub starts_on: String,
    pub lat: f64,
    pub lon: f64,
    /// Metres, 10-5000.
    pub radius_m: f64,
    pub assignment_id: Option<i64>,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/territories/{name}/interventions", tag = "evaluation", summary = "Record a prevention measure to evaluate (audited)", params(("name" = String, Path, description = "Territory name")), request_body = InterventionBody, responses((status = 201, description = "Recorded", body = serde_json::Value), (status = 400, description = "Invalid field (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role does not allow it", body = ErrorBody), (status = 404, description = "No such territory or assignment", body = ErrorBody), (status = 409, description = "That name exists", body = ErrorBody)))]
pub(crate) async fn add_intervention(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(name): Path<String>,
    Json(req): Json<InterventionBody>,
) -> Result<Response, ApiError> {
    if !matches!(session.user.role, Role::Administrator | Role::Analyst | Role::Commander) {
        return Err(ApiError::Forbidden(format!("the {} role cannot record interventions", session.user.role)));
    }
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let bad = |e: qalqan_domain::DomainError| ApiError::BadRequest(e.to_string());
    let i = NewIntervention::new(
        &req.name,
        req.kind.parse().map_err(bad)?,
        date("starts_on", &req.starts_on)?,
        qalqan_domain::Wgs84Point::new(req.lat, req.lon).map_err(bad)?,
        req.radius_m,
        req.assignment_id,
        &req.note,
    )
    .map_err(bad)?;
    let id = state.store.add_intervention(territory.id, &i, &crate::session::actor(&session, peer)).await?;
    let rec = state
        .store
        .interventions(territory.id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::Internal("lost intervention".into()))?;
    Ok((StatusCode::CREATED, Json(intervention_json(&rec))).into_response())
}

/// Query of `GET …/interventions/{id}/evaluation`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct EvaluationQuery {
    /// Days before the start in the regression (28-3650). Default 365.
    pub before_days: Option<u32>,
    /// Days after the start (14-3650). Default 180.
    pub after_days: Option<u32>,
    /// Buffer width, metres. Default 400.
    pub buffer: Option<f64>,
    /// Outer radius of the control ring, metres. Default 2000.
    pub control_radius: Option<f64>,
    /// `week` (default) or `month`.
    pub period: Option<String>,
    /// Only this offence category.
    pub category: Option<String>,
}

impl EvaluationQuery {
    pub(crate) fn params(&self) -> Result<EvaluationParams, ApiError> {
        let d = EvaluationParams::default();
        Ok(EvaluationParams {
            before_days: self.before_days.unwrap_or(d.before_days),
            after_days: self.after_days.unwrap_or(d.after_days),
            buffer_m: self.buffer.unwrap_or(d.buffer_m),
            control_radius_m: self.control_radius.unwrap_or(d.control_radius_m),
            period: match self.period.as_deref().map(str::trim) {
                None | Some("") | Some("week") => Period::Week,
                Some("month") => Period::Month,
                Some(p) => return Err(ApiError::BadRequest(format!("period '{p}' must be week or month"))),
            },
            confidence: d.confidence,
        })
    }
}

#[utoipa::path(get, path = "/api/v1/territories/{name}/interventions/{id}/evaluation", tag = "evaluation", summary = "Did it work? Target, buffer and control before and after: counts, WDQ, difference-in-differences Poisson tests, verdicts", params(("name" = String, Path, description = "Territory name"), ("id" = i64, Path, description = "Intervention id"), EvaluationQuery), responses((status = 200, description = "The evaluation", body = serde_json::Value), (status = 400, description = "Invalid parameter, or not enough data (the message says which)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "No such territory or intervention", body = ErrorBody)))]
pub(crate) async fn get_evaluation(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path((name, id)): Path<(String, i64)>,
    Query(q): Query<EvaluationQuery>,
) -> Result<Response, ApiError> {
    let params = q.params()?;
    let territory = crate::scope::whole_territory(&state, &session, &name).await?;
    let rec = state
        .store
        .interventions(territory.id)
        .await?
        .into_iter()
        .find(|r| r.id == id)
        .ok_or_else(|| ApiError::NotFound(format!("intervention '{id}' not found")))?;
    params.check(rec.intervention.radius_m).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let (from, to) = params.window(rec.intervention.starts_on);
    let filter = crate::incident_filter(
        &territory,
        Some(&from.to_string()),
        Some(&(to - chrono::Duration::days(1)).to_string()),
        q.category.as_deref(),
    )?;
    let records = state.store.incident_records(&filter).await?;
    let last = last_day(&territory, &records);
    let v = tokio::task::spawn_blocking(move || evaluate(&territory, &rec.intervention, &records, last, &params))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    Ok(Json(v).into_response())
}
