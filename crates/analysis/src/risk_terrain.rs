//! Risk terrain modelling: which nearby conditions make a place riskier, and by how much.
//!
//! Follows RTMDx (Caplan & Kennedy, *Risk Terrain Modeling: Crime Prediction and Risk Reduction*,
//! University of California Press, 2016; Caplan, Kennedy & Piza, "Joint utility of event-dependent
//! and environmental crime analysis techniques for violent crime forecasting", *Crime &
//! Delinquency* 59(2), 2013):
//!
//! 1. **Spatial influences.** For every factor (a layer of points: bars, transit stops, schools, …)
//!    and every bandwidth b, two binary variables per cell: *proximity* (a feature within b of the
//!    cell's centre) and *density* (the number of features within b is more than two standard
//!    deviations above its mean over the cells). Constant variables are dropped.
//! 2. **Selection.** A lasso-penalised Poisson regression of the incident count per cell on all
//!    variables (glmnet's coordinate descent inside IRLS: Friedman, Hastie & Tibshirani, "Regularization
//!    paths for generalized linear models via coordinate descent", *J. Stat. Software* 33(1), 2010),
//!    penalties scaled by each variable's standard deviation; the penalty is chosen by k-fold
//!    cross-validation (seeded folds) on held-out Poisson deviance. Per factor, the selected
//!    variable with the largest standardised coefficient is kept (one operationalisation each).
//! 3. **Model.** The kept variables are refitted without penalty as a negative-binomial (or
//!    Poisson) regression, θ by maximum likelihood alternating with IRLS as in MASS's `glm.nb`,
//!    then reduced backwards by BIC. Each factor's **relative risk value** is e^β with a Wald
//!    interval; a cell's **relative risk score** is the product of the values of the conditions
//!    present there (1 = none of them).
//!
//! Cost: influences O(cells × features within the largest bandwidth) with a bucket index; each
//! coordinate-descent sweep O(cells + non-zeros), over a path of `lambdas` penalties for each of
//! `folds + 1` fits; the refit O(cells × k²) per iteration for k kept factors.

use crate::AnalysisError;
use crate::normal;
use crate::rng::Rng;

/// A layer of conditions: features as projected points (metres).
#[derive(Debug, Clone, PartialEq)]
pub struct Factor {
    pub name: String,
    pub points: Vec<(f64, f64)>,
}

/// How a factor's influence on a cell is measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operationalisation {
    /// A feature within the bandwidth.
    Proximity,
    /// Unusually many features within the bandwidth (more than mean + 2 sd).
    Density,
}

impl Operationalisation {
    pub fn code(self) -> &'static str {
        match self {
            Self::Proximity => "proximity",
            Self::Density => "density",
        }
    }
}

/// The regression family of the final model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    Poisson,
    /// Poisson with a gamma-distributed rate: allows counts more variable than Poisson.
    NegativeBinomial,
}

/// Settings of [`risk_terrain`].
#[derive(Debug, Clone, PartialEq)]
pub struct RtmParams {
    /// Bandwidths tried for every factor, metres. Default 100, 200, 300, 400 (RTMDx's "half a
    /// block to two blocks" at typical block lengths).
    pub bandwidths: Vec<f64>,
    /// Cross-validation folds. Default 5.
    pub folds: usize,
    /// Penalties on the path, from the smallest that selects nothing down to 1/100 of it (the
    /// path stops early where the fit stops improving). Default 30.
    pub lambdas: usize,
    /// The final model's family. Default negative binomial.
    pub family: Family,
    /// Confidence level of the relative risk intervals. Default 0.95.
    pub confidence: f64,
    /// Seed of the cross-validation folds.
    pub seed: u64,
}

impl Default for RtmParams {
    fn default() -> Self {
        Self {
            bandwidths: vec![100.0, 200.0, 300.0, 400.0],
            folds: 5,
            lambdas: 30,
            family: Family::NegativeBinomial,
            confidence: 0.95,
            seed: 1,
        }
    }
}

/// A factor in the final model.
#[derive(Debug, Clone, PartialEq)]
pub struct RiskFactor {
    /// Index into the factors given.
    pub factor: usize,
    pub name: String,
    pub operationalisation: Operationalisation,
    pub bandwidth: f64,
    pub coefficient: f64,
    /// e^coefficient: how many times likelier an incident is where the condition holds.
    pub relative_risk: f64,
    pub low: f64,
    pub high: f64,
    pub p_value: f64,
    /// Cells where the condition holds.
    pub cells: usize,
}

/// The fitted risk terrain.
#[derive(Debug, Clone, PartialEq)]
pub struct RtmResult {
    /// The factors kept, strongest first.
    pub factors: Vec<RiskFactor>,
    /// Per cell: the product of the relative risk values of the conditions present.
    pub risk: Vec<f64>,
    /// e^intercept: the expected count in a cell with none of the conditions.
    pub baseline: f64,
    pub family: Family,
    /// The negative binomial's θ (variance μ + μ²/θ); `None` for Poisson.
    pub theta: Option<f64>,
    /// Poisson deviance of the final model and of the intercept-only model.
    pub deviance: f64,
    pub null_deviance: f64,
    /// BIC of the final model.
    pub bic: f64,
    /// The penalty chosen and its mean held-out deviance per cell.
    pub lambda: f64,
    pub cv_deviance: f64,
    /// Variables (factor × operationalisation × bandwidth) tested.
    pub variables: usize,
}

/// One binary variable: the cells where it is 1.
#[derive(Debug, Clone)]
struct Variable {
    factor: usize,
    kind: Operationalisation,
    bandwidth: f64,
    ones: Vec<u32>,
    sd: f64,
}

/// Fits the risk terrain of `counts` (incidents per cell) over cells with the given centres.
///
/// ```
/// use qalqan_analysis::risk_terrain::{Factor, RtmParams, risk_terrain};
/// // A 40 × 40 grid of 50 m cells; incidents cluster next to bars, not schools.
/// let cells: Vec<(f64, f64)> = (0..1600).map(|i| ((i % 40) as f64 * 50.0 + 25.0, (i / 40) as f64 * 50.0 + 25.0)).collect();
/// let bars = Factor { name: "bar".into(), points: vec![(300.0, 300.0), (1500.0, 900.0), (700.0, 1700.0)] };
/// let schools = Factor { name: "school".into(), points: vec![(1000.0, 400.0), (400.0, 1200.0)] };
/// let counts: Vec<u64> = cells.iter().enumerate().map(|(i, &(x, y))| {
///     let near_bar = bars.points.iter().any(|&(bx, by)| (x - bx).hypot(y - by) <= 100.0);
///     if near_bar { 3 + (i % 3) as u64 } else { (i % 7 == 0) as u64 }
/// }).collect();
/// let r = risk_terrain(&cells, &counts, &[bars, schools], &RtmParams::default()).unwrap();
/// assert_eq!(r.factors[0].name, "bar");
/// assert!(r.factors[0].relative_risk > 10.0);
/// assert!(r.factors.iter().all(|f| f.name != "school"));
/// ```
pub fn risk_terrain(cells: &[(f64, f64)], counts: &[u64], factors: &[Factor], params: &RtmParams) -> Result<RtmResult, AnalysisError> {
    if cells.len() != counts.len() {
        return Err(AnalysisError::LengthMismatch { what: "cell counts", expected: cells.len(), got: counts.len() });
    }
    if cells.len() < 20 {
        return Err(AnalysisError::InvalidParameter { name: "cells", reason: "must be at least 20 for a risk terrain" });
    }
    if params.bandwidths.is_empty() || params.bandwidths.iter().any(|b| !(b.is_finite() && *b > 0.0)) {
        return Err(AnalysisError::InvalidParameter { name: "bandwidths", reason: "must be positive metres, at least one" });
    }
    if !(2..=20).contains(&params.folds) {
        return Err(AnalysisError::InvalidParameter { name: "folds", reason: "must be 2-20" });
    }
    if !(5..=200).contains(&params.lambdas) {
        return Err(AnalysisError::InvalidParameter { name: "lambdas", reason: "must be 5-200" });
    }
    if !(0.5..1.0).contains(&params.confidence) {
        return Err(AnalysisError::InvalidParameter { name: "confidence", reason: "must be in [0.5, 1)" });
    }
    if counts.iter().all(|&c| c == 0) {
        return Err(AnalysisError::InvalidParameter { name: "counts", reason: "are all zero: there is nothing to explain" });
    }
    let y: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let vars = influences(cells, factors, &params.bandwidths);
    let all: Vec<u32> = (0..cells.len() as u32).collect();
    let null_deviance = poisson_deviance(&y, &vec![mean(&y); y.len()]);

    // Cross-validated penalty.
    let (lambda, cv_deviance, selected) = if vars.is_empty() {
        (0.0, null_deviance / y.len() as f64, Vec::new())
    } else {
        let lambda_max = lambda_max(&y, &vars);
        let mut path: Vec<f64> = (0..params.lambdas).map(|k| lambda_max * (1e-2f64).powf(k as f64 / (params.lambdas - 1) as f64)).collect();
        // glmnet's early stop: the path ends where the fit on all cells stops improving (the
        // deviance changes by less than 1e-5 of itself from one penalty to the next).
        let fits = lasso_path(&y, &vars, &all, &path);
        let devs: Vec<f64> = fits
            .iter()
            .map(|(b0, beta)| poisson_deviance(&y, &linear(&vars, *b0, beta, y.len()).iter().map(|e| e.exp()).collect::<Vec<_>>()))
            .collect();
        if let Some(k) = (1..devs.len()).find(|&k| (devs[k - 1] - devs[k]).abs() < 1e-5 * devs[k - 1].abs()) {
            path.truncate(k + 1);
        }
        let mut rng = Rng::seed(params.seed);
        let mut fold: Vec<usize> = (0..y.len()).map(|i| i % params.folds).collect();
        for i in (1..fold.len()).rev() {
            let j = rng.below(i as u64 + 1) as usize;
            fold.swap(i, j);
        }
        let mut cv = vec![0.0; path.len()];
        for f in 0..params.folds {
            let train: Vec<u32> = all.iter().copied().filter(|&i| fold[i as usize] != f).collect();
            let test: Vec<u32> = all.iter().copied().filter(|&i| fold[i as usize] == f).collect();
            let fits = lasso_path(&y, &vars, &train, &path);
            for (k, (b0, beta)) in fits.iter().enumerate() {
                let eta = linear(&vars, *b0, beta, y.len());
                cv[k] += test.iter().map(|&i| unit_deviance(y[i as usize], eta[i as usize].exp())).sum::<f64>();
            }
        }
        let best = (0..path.len()).min_by(|&a, &b| cv[a].total_cmp(&cv[b])).unwrap_or(0);
        let beta = &fits[best].1;
        // One operationalisation per factor: the largest standardised coefficient.
        let mut per_factor: Vec<Option<usize>> = vec![None; factors.len()];
        for (j, v) in vars.iter().enumerate() {
            if beta[j] == 0.0 {
                continue;
            }
            let better = per_factor[v.factor].is_none_or(|k| (beta[j] * v.sd).abs() > (beta[k] * vars[k].sd).abs());
            if better {
                per_factor[v.factor] = Some(j);
            }
        }
        (path[best], cv[best] / y.len() as f64, per_factor.into_iter().flatten().collect::<Vec<usize>>())
    };

    // Refit without penalty, then backward elimination by BIC.
    let mut kept = selected;
    let mut fit = refit(&y, &vars, &kept, params.family)?;
    loop {
        let mut best: Option<(usize, Refit)> = None;
        for drop in 0..kept.len() {
            let fewer: Vec<usize> = kept.iter().enumerate().filter(|(i, _)| *i != drop).map(|(_, &j)| j).collect();
            let f = refit(&y, &vars, &fewer, params.family)?;
            if f.bic < best.as_ref().map_or(fit.bic, |b| b.1.bic) {
                best = Some((drop, f));
            }
        }
        match best {
            Some((drop, f)) => {
                kept.remove(drop);
                fit = f;
            }
            None => break,
        }
    }

    let z = normal::quantile(0.5 + params.confidence / 2.0);
    let mut out: Vec<RiskFactor> = kept
        .iter()
        .enumerate()
        .map(|(i, &j)| {
            let v = &vars[j];
            let (b, se) = (fit.beta[i + 1], fit.se[i + 1]);
            RiskFactor {
                factor: v.factor,
                name: factors[v.factor].name.clone(),
                operationalisation: v.kind,
                bandwidth: v.bandwidth,
                coefficient: b,
                relative_risk: b.exp(),
                low: (b - z * se).exp(),
                high: (b + z * se).exp(),
                p_value: (2.0 * normal::sf((b / se).abs())).min(1.0),
                cells: v.ones.len(),
            }
        })
        .collect();
    let mut risk = vec![1.0; y.len()];
    for f in &out {
        let v = vars
            .iter()
            .find(|v| v.factor == f.factor && v.kind == f.operationalisation && v.bandwidth == f.bandwidth)
            .expect("a kept variable");
        for &i in &v.ones {
            risk[i as usize] *= f.relative_risk;
        }
    }
    out.sort_by(|a, b| b.relative_risk.total_cmp(&a.relative_risk));
    Ok(RtmResult {
        factors: out,
        risk,
        baseline: fit.beta[0].exp(),
        family: params.family,
        theta: fit.theta,
        deviance: poisson_deviance(&y, &fit.mu),
        null_deviance,
        bic: fit.bic,
        lambda,
        cv_deviance,
        variables: vars.len(),
    })
}

/// A regression fitted without penalty: coefficients (intercept first) with standard errors.
#[derive(Debug, Clone, PartialEq)]
pub struct GlmFit {
    pub coefficients: Vec<f64>,
    pub standard_errors: Vec<f64>,
    /// The negative binomial's θ; `None` for Poisson.
    pub theta: Option<f64>,
    pub bic: f64,
}

/// The model's last step on its own: a Poisson or negative-binomial regression (log link, θ by
/// maximum likelihood) of `counts` on binary columns, each given as the rows where it is 1.
///
/// ```
/// use qalqan_analysis::risk_terrain::{Family, fit_binary_glm};
/// // Rows 0-49 have the condition and three times the count.
/// let counts: Vec<u64> = (0..200).map(|i| if i < 50 { 3 } else { 1 }).collect();
/// let fit = fit_binary_glm(&counts, &[(0..50).collect()], Family::Poisson).unwrap();
/// assert!((fit.coefficients[1].exp() - 3.0).abs() < 1e-9);
/// ```
pub fn fit_binary_glm(counts: &[u64], columns: &[Vec<u32>], family: Family) -> Result<GlmFit, AnalysisError> {
    let n = counts.len();
    if columns.iter().flatten().any(|&i| i as usize >= n) {
        return Err(AnalysisError::InvalidParameter { name: "columns", reason: "name rows beyond the counts" });
    }
    let y: Vec<f64> = counts.iter().map(|&c| c as f64).collect();
    let vars: Vec<Variable> = columns
        .iter()
        .map(|ones| {
            let p = ones.len() as f64 / n.max(1) as f64;
            Variable { factor: 0, kind: Operationalisation::Proximity, bandwidth: 0.0, ones: ones.clone(), sd: (p * (1.0 - p)).sqrt() }
        })
        .collect();
    let chosen: Vec<usize> = (0..vars.len()).collect();
    let fit = refit(&y, &vars, &chosen, family)?;
    Ok(GlmFit { coefficients: fit.beta, standard_errors: fit.se, theta: fit.theta, bic: fit.bic })
}

/// The binary variables of every factor and bandwidth (constant ones dropped).
fn influences(cells: &[(f64, f64)], factors: &[Factor], bandwidths: &[f64]) -> Vec<Variable> {
    let reach = bandwidths.iter().copied().fold(0.0, f64::max);
    let mut vars = Vec::new();
    for (fi, factor) in factors.iter().enumerate() {
        let index = Buckets::new(&factor.points, reach);
        // Per cell: the distances to the features within reach.
        let near: Vec<Vec<f64>> = cells.iter().map(|&c| index.within(c, reach)).collect();
        for &b in bandwidths {
            let prox: Vec<u32> = (0..cells.len()).filter(|&i| near[i].iter().any(|&d| d <= b)).map(|i| i as u32).collect();
            push(&mut vars, fi, Operationalisation::Proximity, b, prox, cells.len());
            let n: Vec<f64> = near.iter().map(|d| d.iter().filter(|&&x| x <= b).count() as f64).collect();
            let m = mean(&n);
            let sd = (n.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n.len() as f64).sqrt();
            let dense: Vec<u32> = (0..cells.len()).filter(|&i| n[i] > m + 2.0 * sd && n[i] >= 2.0).map(|i| i as u32).collect();
            push(&mut vars, fi, Operationalisation::Density, b, dense, cells.len());
        }
    }
    vars
}

fn push(vars: &mut Vec<Variable>, factor: usize, kind: Operationalisation, bandwidth: f64, ones: Vec<u32>, n: usize) {
    if ones.is_empty() || ones.len() == n {
        return;
    }
    // The same cells as a variable already there add nothing.
    if vars.iter().any(|v| v.factor == factor && v.ones == ones) {
        return;
    }
    let p = ones.len() as f64 / n as f64;
    vars.push(Variable { factor, kind, bandwidth, ones, sd: (p * (1.0 - p)).sqrt() });
}

/// Points bucketed in square buckets of the search radius.
struct Buckets<'a> {
    size: f64,
    map: std::collections::HashMap<(i64, i64), Vec<usize>>,
    points: &'a [(f64, f64)],
}

impl<'a> Buckets<'a> {
    fn new(points: &'a [(f64, f64)], size: f64) -> Self {
        let mut map: std::collections::HashMap<(i64, i64), Vec<usize>> = std::collections::HashMap::new();
        for (i, &(x, y)) in points.iter().enumerate() {
            map.entry(((x / size).floor() as i64, (y / size).floor() as i64)).or_default().push(i);
        }
        Self { size, map, points }
    }

    fn within(&self, (x, y): (f64, f64), r: f64) -> Vec<f64> {
        let (cx, cy) = ((x / self.size).floor() as i64, (y / self.size).floor() as i64);
        let mut out = Vec::new();
        for dx in -1..=1 {
            for dy in -1..=1 {
                for &i in self.map.get(&(cx + dx, cy + dy)).map(Vec::as_slice).unwrap_or(&[]) {
                    let (px, py) = self.points[i];
                    let d = (px - x).hypot(py - y);
                    if d <= r {
                        out.push(d);
                    }
                }
            }
        }
        out
    }
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len().max(1) as f64
}

fn unit_deviance(y: f64, mu: f64) -> f64 {
    let mu = mu.max(1e-300);
    2.0 * (if y > 0.0 { y * (y / mu).ln() } else { 0.0 } - (y - mu))
}

fn poisson_deviance(y: &[f64], mu: &[f64]) -> f64 {
    y.iter().zip(mu).map(|(&y, &m)| unit_deviance(y, m)).sum()
}

/// The smallest penalty that keeps every coefficient at zero (standardised scale).
fn lambda_max(y: &[f64], vars: &[Variable]) -> f64 {
    let n = y.len() as f64;
    let ybar = mean(y);
    vars.iter().map(|v| (v.ones.iter().map(|&i| y[i as usize] - ybar).sum::<f64>() / n).abs() / v.sd).fold(0.0, f64::max).max(1e-12)
}

fn linear(vars: &[Variable], b0: f64, beta: &[f64], n: usize) -> Vec<f64> {
    let mut eta = vec![b0; n];
    for (v, &b) in vars.iter().zip(beta) {
        if b != 0.0 {
            for &i in &v.ones {
                eta[i as usize] += b;
            }
        }
    }
    eta
}

/// Lasso-penalised Poisson fits over `rows` for each penalty (warm starts down the path).
fn lasso_path(y: &[f64], vars: &[Variable], rows: &[u32], path: &[f64]) -> Vec<(f64, Vec<f64>)> {
    let n_all = y.len();
    let mut in_rows = vec![false; n_all];
    for &i in rows {
        in_rows[i as usize] = true;
    }
    let n = rows.len() as f64;
    // Each variable's ones restricted to the rows.
    let ones: Vec<Vec<u32>> = vars.iter().map(|v| v.ones.iter().copied().filter(|&i| in_rows[i as usize]).collect()).collect();
    let ybar = rows.iter().map(|&i| y[i as usize]).sum::<f64>() / n;
    let null_dev = rows.iter().map(|&i| unit_deviance(y[i as usize], ybar)).sum::<f64>() / n;
    // glmnet's convergence test: the largest h·Δβ² of a sweep below 1e-9 of the null deviance.
    let tol = 1e-9 * null_dev.max(1e-12);
    let mut b0 = ybar.max(1e-9).ln();
    let mut beta = vec![0.0; vars.len()];
    let mut out = Vec::with_capacity(path.len());
    let mut eta = vec![b0; n_all];
    for &lambda in path {
        let mut last_dev = f64::INFINITY;
        for _outer in 0..50 {
            // Working weights and response at the current fit.
            let mut w = vec![0.0; n_all];
            let mut r = vec![0.0; n_all]; // residual of the working response
            for &i in rows {
                let i = i as usize;
                let mu = eta[i].exp().clamp(1e-10, 1e10);
                w[i] = mu;
                r[i] = (y[i] - mu) / mu;
            }
            // Coordinate descent with an active set (glmnet): full sweeps alternate with sweeps
            // over the non-zero coefficients only, until a full sweep changes nothing.
            let mut full = true;
            for _sweep in 0..1000 {
                let mut biggest: f64 = 0.0;
                // Intercept.
                let (num, den) = rows.iter().fold((0.0, 0.0), |(a, b), &i| (a + w[i as usize] * r[i as usize], b + w[i as usize]));
                let d0 = num / den;
                b0 += d0;
                for &i in rows {
                    r[i as usize] -= d0;
                }
                biggest = biggest.max(den / n * d0 * d0);
                for j in 0..vars.len() {
                    let o = &ones[j];
                    if o.is_empty() || (!full && beta[j] == 0.0) {
                        continue;
                    }
                    let (mut g, mut h) = (0.0, 0.0);
                    for &i in o {
                        let i = i as usize;
                        g += w[i] * (r[i] + beta[j]);
                        h += w[i];
                    }
                    let (g, h) = (g / n, h / n);
                    let t = lambda * vars[j].sd;
                    let new = if g > t {
                        (g - t) / h
                    } else if g < -t {
                        (g + t) / h
                    } else {
                        0.0
                    };
                    let d = new - beta[j];
                    if d != 0.0 {
                        for &i in o {
                            r[i as usize] -= d;
                        }
                        beta[j] = new;
                        biggest = biggest.max(h * d * d);
                    }
                }
                let converged = biggest < tol;
                if converged && full {
                    break;
                }
                // Converged on the active set: check everything once more; else keep to the active set.
                full = converged;
            }
            eta = linear(vars, b0, &beta, n_all);
            // IRLS has converged when the training deviance stops moving.
            let dev = rows.iter().map(|&i| unit_deviance(y[i as usize], eta[i as usize].exp())).sum::<f64>();
            if (last_dev - dev).abs() <= 1e-6 * dev.abs().max(1e-12) {
                break;
            }
            last_dev = dev;
        }
        out.push((b0, beta.clone()));
    }
    out
}

/// An unpenalised fit on chosen variables.
struct Refit {
    /// Intercept, then one coefficient per variable.
    beta: Vec<f64>,
    se: Vec<f64>,
    mu: Vec<f64>,
    theta: Option<f64>,
    bic: f64,
}

/// IRLS for Poisson or negative binomial (θ by ML, alternating), on the chosen variables.
fn refit(y: &[f64], vars: &[Variable], chosen: &[usize], family: Family) -> Result<Refit, AnalysisError> {
    let n = y.len();
    let p = chosen.len() + 1;
    // Dense design columns (binary), column 0 the intercept.
    let mut x = vec![vec![0.0; n]; p];
    x[0] = vec![1.0; n];
    for (k, &j) in chosen.iter().enumerate() {
        for &i in &vars[j].ones {
            x[k + 1][i as usize] = 1.0;
        }
    }
    let mut beta = vec![0.0; p];
    beta[0] = mean(y).max(1e-9).ln();
    let mut theta: Option<f64> = None;
    let mut mu = vec![mean(y); n];
    let mut info = vec![vec![0.0; p]; p];
    for round in 0..30 {
        // IRLS for β at the current θ.
        for _ in 0..50 {
            let eta: Vec<f64> = (0..n).map(|i| (0..p).map(|k| x[k][i] * beta[k]).sum::<f64>()).collect();
            mu = eta.iter().map(|e| e.exp().clamp(1e-10, 1e10)).collect();
            let w: Vec<f64> = mu.iter().map(|&m| theta.map_or(m, |t| m / (1.0 + m / t))).collect();
            let mut score = vec![0.0; p];
            info = vec![vec![0.0; p]; p];
            for i in 0..n {
                // Working residual (y − μ)/μ times weight: score of the log link.
                let u = w[i] * (y[i] - mu[i]) / mu[i];
                for a in 0..p {
                    if x[a][i] == 0.0 {
                        continue;
                    }
                    score[a] += x[a][i] * u;
                    for b in 0..p {
                        info[a][b] += x[a][i] * x[b][i] * w[i];
                    }
                }
            }
            let step = solve(&info, &score)
                .ok_or(AnalysisError::InvalidParameter { name: "risk factors", reason: "are collinear: the model cannot be fitted" })?;
            for k in 0..p {
                beta[k] += step[k];
            }
            if step.iter().fold(0.0_f64, |m, s| m.max(s.abs())) < 1e-9 {
                break;
            }
        }
        if family == Family::Poisson {
            break;
        }
        // θ by Newton on the negative-binomial log-likelihood at the current μ.
        let old = theta;
        theta = Some(theta_ml(y, &mu, theta.unwrap_or(1.0)));
        if round > 0 && old.zip(theta).is_some_and(|(a, b)| ((a - b) / b).abs() < 1e-6) {
            break;
        }
    }
    let cov = invert(&info)
        .ok_or(AnalysisError::InvalidParameter { name: "risk factors", reason: "are collinear: the model cannot be fitted" })?;
    let se: Vec<f64> = (0..p).map(|k| cov[k][k].max(0.0).sqrt()).collect();
    let loglik = match theta {
        None => y.iter().zip(&mu).map(|(&y, &m)| y * m.ln() - m - ln_gamma(y + 1.0)).sum::<f64>(),
        Some(t) => y.iter().zip(&mu).map(|(&y, &m)| nb_loglik(y, m, t)).sum::<f64>(),
    };
    let params = p as f64 + f64::from(u8::from(theta.is_some()));
    let bic = -2.0 * loglik + params * (n as f64).ln();
    Ok(Refit { beta, se, mu, theta, bic })
}

fn nb_loglik(y: f64, m: f64, t: f64) -> f64 {
    ln_gamma(y + t) - ln_gamma(t) - ln_gamma(y + 1.0) + t * (t / (t + m)).ln() + y * (m / (t + m)).ln()
}

/// ML θ of the negative binomial at fixed μ (Newton on log θ, as MASS's `theta.ml`).
fn theta_ml(y: &[f64], mu: &[f64], start: f64) -> f64 {
    let mut t = start.clamp(1e-4, 1e6);
    for _ in 0..100 {
        let (mut score, mut info) = (0.0, 0.0);
        for (&y, &m) in y.iter().zip(mu) {
            score += digamma(y + t) - digamma(t) + (t / (t + m)).ln() + 1.0 - (y + t) / (t + m);
            info += -trigamma(y + t) + trigamma(t) - 1.0 / t + 2.0 / (t + m) - (y + t) / ((t + m) * (t + m));
        }
        if info <= 0.0 {
            break;
        }
        let next = (t + score / info).clamp(1e-4, 1e6);
        if ((next - t) / t).abs() < 1e-8 {
            return next;
        }
        t = next;
    }
    t
}

fn ln_gamma(x: f64) -> f64 {
    libm::lgamma(x)
}

fn digamma(mut x: f64) -> f64 {
    let mut r = 0.0;
    while x < 10.0 {
        r -= 1.0 / x;
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    r + x.ln() - 0.5 / x - f * (1.0 / 12.0 - f * (1.0 / 120.0 - f * (1.0 / 252.0 - f * (1.0 / 240.0 - f / 132.0))))
}

fn trigamma(mut x: f64) -> f64 {
    let mut r = 0.0;
    while x < 10.0 {
        r += 1.0 / (x * x);
        x += 1.0;
    }
    let f = 1.0 / (x * x);
    r + 1.0 / x + f / 2.0 + f / x * (1.0 / 6.0 - f * (1.0 / 30.0 - f * (1.0 / 42.0 - f / 30.0)))
}

/// Solves A·s = b for a small symmetric positive-definite A (Cholesky); `None` if singular.
fn solve(a: &[Vec<f64>], b: &[f64]) -> Option<Vec<f64>> {
    let l = cholesky(a)?;
    let n = b.len();
    let mut z = vec![0.0; n];
    for i in 0..n {
        z[i] = (b[i] - (0..i).map(|k| l[i][k] * z[k]).sum::<f64>()) / l[i][i];
    }
    let mut s = vec![0.0; n];
    for i in (0..n).rev() {
        s[i] = (z[i] - (i + 1..n).map(|k| l[k][i] * s[k]).sum::<f64>()) / l[i][i];
    }
    Some(s)
}

fn cholesky(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s = a[i][j] - (0..j).map(|k| l[i][k] * l[j][k]).sum::<f64>();
            if i == j {
                if s <= 1e-12 * a[i][i].abs().max(1e-300) {
                    return None;
                }
                l[i][i] = s.sqrt();
            } else {
                l[i][j] = s / l[j][j];
            }
        }
    }
    Some(l)
}

fn invert(a: &[Vec<f64>]) -> Option<Vec<Vec<f64>>> {
    let n = a.len();
    let mut cols = Vec::with_capacity(n);
    for k in 0..n {
        let mut e = vec![0.0; n];
        e[k] = 1.0;
        cols.push(solve(a, &e)?);
    }
    Some((0..n).map(|i| (0..n).map(|j| cols[j][i]).collect()).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2 × 2 km area of 50 m cells with three kinds of places at random; incidents with
    /// known relative risks: ×2.5 within 100 m of a bar, ×1.6 within 200 m of a stop, none for schools.
    fn simulated(seed: u64) -> (Vec<(f64, f64)>, Vec<u64>, Vec<Factor>) {
        let mut rng = Rng::seed(seed);
        let mut place = |n: usize| -> Vec<(f64, f64)> { (0..n).map(|_| (rng.unit() * 2000.0, rng.unit() * 2000.0)).collect() };
        let factors = vec![
            Factor { name: "bar".into(), points: place(25) },
            Factor { name: "transit_stop".into(), points: place(30) },
            Factor { name: "school".into(), points: place(12) },
        ];
        let cells: Vec<(f64, f64)> = (0..1600).map(|i| ((i % 40) as f64 * 50.0 + 25.0, (i / 40) as f64 * 50.0 + 25.0)).collect();
        let within = |f: &Factor, c: (f64, f64), r: f64| f.points.iter().any(|&(x, y)| (x - c.0).hypot(y - c.1) <= r);
        let mut rng = Rng::seed(seed ^ 0x5eed);
        let counts = cells
            .iter()
            .map(|&c| {
                let mut rate = 0.4;
                if within(&factors[0], c, 100.0) {
                    rate *= 2.5;
                }
                if within(&factors[1], c, 200.0) {
                    rate *= 1.6;
                }
                rng.poisson(rate)
            })
            .collect();
        (cells, counts, factors)
    }

    #[test]
    fn known_relative_risks_are_recovered_and_an_irrelevant_factor_is_left_out() {
        let mut bar = Vec::new();
        let mut stop = Vec::new();
        for seed in 1..=4 {
            let (cells, counts, factors) = simulated(seed);
            let r = risk_terrain(&cells, &counts, &factors, &RtmParams { seed, ..RtmParams::default() }).unwrap();
            let get = |name: &str| r.factors.iter().find(|f| f.name == name).cloned();
            let b = get("bar").expect("bars are found");
            assert_eq!((b.operationalisation, b.bandwidth), (Operationalisation::Proximity, 100.0), "{b:?}");
            assert!(b.low < 2.5 && 2.5 < b.high, "the interval covers 2.5: {b:?}");
            bar.push(b.relative_risk);
            let s = get("transit_stop").expect("stops are found");
            stop.push(s.relative_risk);
            assert!(get("school").is_none_or(|f| f.low < 1.0 && 1.0 < f.high), "{r:?}");
            assert!(r.deviance < r.null_deviance);
            assert!(
                (r.risk.iter().copied().fold(0.0, f64::max) - r.factors.iter().map(|f| f.relative_risk.max(1.0)).product::<f64>()).abs()
                    < 1e-9
            );
        }
        let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
        assert!((mean(&bar) - 2.5).abs() < 0.3, "bars {bar:?}");
        assert!((mean(&stop) - 1.6).abs() < 0.25, "stops {stop:?}");
    }

    #[test]
    fn theta_is_large_for_poisson_counts_and_small_for_overdispersed_ones() {
        let mut rng = Rng::seed(3);
        let y: Vec<f64> = (0..4000).map(|_| rng.poisson(2.0) as f64).collect();
        let mu = vec![mean(&y); y.len()];
        assert!(theta_ml(&y, &mu, 1.0) > 20.0);
        // A gamma-Poisson mixture with θ = 2: rate = 2 × Gamma(2, 1/2) via the sum of two exponentials.
        let y: Vec<f64> = (0..4000)
            .map(|_| {
                let g = -(rng.unit().max(1e-300)).ln() - (rng.unit().max(1e-300)).ln();
                rng.poisson(2.0 * g / 2.0) as f64
            })
            .collect();
        let mu = vec![mean(&y); y.len()];
        let t = theta_ml(&y, &mu, 1.0);
        assert!((1.5..2.7).contains(&t), "θ = {t}");
    }

    #[test]
    fn bad_input_is_named() {
        let cells: Vec<(f64, f64)> = (0..30).map(|i| (i as f64, 0.0)).collect();
        let e = risk_terrain(&cells, &[0; 29], &[], &RtmParams::default()).unwrap_err();
        assert!(e.to_string().contains("cell counts"));
        assert!(risk_terrain(&cells, &[0; 30], &[], &RtmParams::default()).unwrap_err().to_string().contains("all zero"));
        let p = RtmParams { bandwidths: vec![-1.0], ..RtmParams::default() };
        assert!(risk_terrain(&cells, &[1; 30], &[], &p).unwrap_err().to_string().contains("bandwidths"));
    }

    #[test]
    fn special_functions_match_known_values() {
        assert!((digamma(1.0) + 0.5772156649015329).abs() < 1e-10);
        assert!((trigamma(1.0) - std::f64::consts::PI.powi(2) / 6.0).abs() < 1e-10);
    }
}
