//! Did a prevention measure work? Counts in a target area, a displacement buffer around it and
//! a control area, before and after the measure started.
//!
//! - [`wdq`]: the **Weighted Displacement Quotient** of Bowers & Johnson (2003), "Measuring the
//!   geographical displacement and diffusion of benefit effects of crime prevention activity",
//!   *Journal of Quantitative Criminology* 19(3): the buffer's change relative to the control
//!   divided by the target's, with the total net effect. O(1).
//! - [`did_poisson`]: a **difference-in-differences Poisson regression** on period counts
//!   (weeks or months) of the target and the control: log μ = τₜ + α·target + δ·(target ∧ after),
//!   where the period effects τₜ absorb everything the two areas share (season, trends, city-wide
//!   shocks). e^δ is the rate ratio the measure is credited with. Fitted by Newton's method on
//!   (α, δ) with each τₜ profiled out in closed form, so a fit is O(T) per iteration for T
//!   periods; overdispersion is allowed for (quasi-Poisson: standard errors scaled by the square
//!   root of the Pearson dispersion, never below 1). Wald confidence interval and p-value.
//! - [`Verdict`]: the result in plain words, with its uncertainty.

use crate::AnalysisError;
use crate::normal;

/// Incidents in the three areas over one period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AreaCounts {
    pub target: u64,
    pub buffer: u64,
    pub control: u64,
}

/// What the buffer did, judged by the WDQ (Bowers & Johnson 2003, table 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Displacement {
    /// The target did not improve relative to the control: the WDQ does not apply.
    NoSuccess,
    /// The buffer improved more than the target (WDQ > 1).
    DiffusionExceedsDirect,
    /// The buffer improved too (0 < WDQ ≤ 1).
    Diffusion,
    /// The buffer did not change relative to the control (WDQ = 0).
    None,
    /// Some crime moved to the buffer, less than the target's gain (−1 ≤ WDQ < 0).
    DisplacementLessThanGain,
    /// More crime moved to the buffer than the target gained: the measure backfired (WDQ < −1).
    DisplacementExceedsGain,
}

/// The WDQ and its parts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Wdq {
    /// R_A/C_A − R_B/C_B: negative when the target improved relative to the control.
    pub success: f64,
    /// B_A/C_A − B_B/C_B: positive when crime moved into the buffer.
    pub buffer: f64,
    /// buffer ÷ success; `None` when the target did not improve (success ≥ 0).
    pub wdq: Option<f64>,
    /// Incidents prevented in target and buffer together, the control's change taken as what
    /// would have happened: [R_B·C_A/C_B − R_A] + [B_B·C_A/C_B − B_A].
    pub total_net_effect: f64,
    pub displacement: Displacement,
}

/// The WDQ of Bowers & Johnson (2003) from before and after counts (the periods equally long).
///
/// ```
/// use qalqan_analysis::evaluation::{AreaCounts, Displacement, wdq};
/// // Target 100 → 60, buffer 80 → 90, control 400 → 400: a gain, partly displaced.
/// let w = wdq(AreaCounts { target: 100, buffer: 80, control: 400 }, AreaCounts { target: 60, buffer: 90, control: 400 }).unwrap();
/// assert!((w.success - (-0.1)).abs() < 1e-12);
/// assert!((w.wdq.unwrap() - (-0.25)).abs() < 1e-12);
/// assert_eq!(w.displacement, Displacement::DisplacementLessThanGain);
/// assert!((w.total_net_effect - 30.0).abs() < 1e-9);
/// ```
pub fn wdq(before: AreaCounts, after: AreaCounts) -> Result<Wdq, AnalysisError> {
    if before.control == 0 || after.control == 0 {
        return Err(AnalysisError::InvalidParameter {
            name: "control area",
            reason: "has no incidents before or after: the WDQ needs some",
        });
    }
    let (cb, ca) = (before.control as f64, after.control as f64);
    let success = after.target as f64 / ca - before.target as f64 / cb;
    let buffer = after.buffer as f64 / ca - before.buffer as f64 / cb;
    let total_net_effect = (before.target as f64 * ca / cb - after.target as f64) + (before.buffer as f64 * ca / cb - after.buffer as f64);
    let wdq = (success < 0.0).then(|| buffer / success);
    let displacement = match wdq {
        None => Displacement::NoSuccess,
        Some(q) if q > 1.0 => Displacement::DiffusionExceedsDirect,
        Some(q) if q > 0.0 => Displacement::Diffusion,
        Some(0.0) => Displacement::None,
        Some(q) if q >= -1.0 => Displacement::DisplacementLessThanGain,
        Some(_) => Displacement::DisplacementExceedsGain,
    };
    Ok(Wdq { success, buffer, wdq, total_net_effect, displacement })
}

/// Settings of [`did_poisson`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DidParams {
    /// Confidence level of the interval. Default 0.95.
    pub confidence: f64,
    /// Newton iterations at most. Default 100.
    pub max_iterations: u32,
}

impl Default for DidParams {
    fn default() -> Self {
        Self { confidence: 0.95, max_iterations: 100 }
    }
}

/// A difference-in-differences estimate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DidEstimate {
    /// e^δ: the treated area's rate after, relative to what the comparison area's change implies.
    pub rate_ratio: f64,
    /// Its confidence interval.
    pub low: f64,
    pub high: f64,
    /// Two-sided p-value of δ = 0 (no effect).
    pub p_value: f64,
    /// δ and its standard error (dispersion included).
    pub log_ratio: f64,
    pub standard_error: f64,
    /// Pearson dispersion (≥ 1; 1 when the counts are no more variable than Poisson).
    pub dispersion: f64,
    /// Periods used (those with any incident in either area), before and after.
    pub periods_before: usize,
    pub periods_after: usize,
    pub iterations: u32,
}

/// Fits the difference-in-differences Poisson model (see the module docs) to the counts of the
/// treated and the comparison area per period; periods from `first_after` on are "after".
///
/// ```
/// use qalqan_analysis::evaluation::{DidParams, did_poisson};
/// // Both areas level before; after, the target halves while the control stays.
/// let target = [20, 22, 18, 20, 10, 11, 9, 10];
/// let control = [40, 44, 36, 40, 40, 44, 36, 40];
/// let e = did_poisson(&target, &control, 4, &DidParams::default()).unwrap();
/// assert!((e.rate_ratio - 0.5).abs() < 1e-9);
/// assert!(e.high < 1.0 && e.p_value < 0.01);
/// ```
pub fn did_poisson(treated: &[u64], comparison: &[u64], first_after: usize, params: &DidParams) -> Result<DidEstimate, AnalysisError> {
    if treated.len() != comparison.len() {
        return Err(AnalysisError::LengthMismatch { what: "comparison-area periods", expected: treated.len(), got: comparison.len() });
    }
    if !(0.5..1.0).contains(&params.confidence) {
        return Err(AnalysisError::InvalidParameter { name: "confidence", reason: "must be in [0.5, 1)" });
    }
    // Periods where neither area has anything say nothing (their τ would be −∞).
    let rows: Vec<(f64, f64, bool)> = treated
        .iter()
        .zip(comparison)
        .enumerate()
        .filter(|(_, (t, c))| **t + **c > 0)
        .map(|(i, (t, c))| (*t as f64, *c as f64, i >= first_after))
        .collect();
    let before = rows.iter().filter(|r| !r.2).count();
    let after = rows.len() - before;
    if before < 2 || after < 1 || rows.len() < 4 {
        return Err(AnalysisError::InvalidParameter {
            name: "periods",
            reason: "need at least two periods with incidents before the start, one after, and four in all",
        });
    }
    let sum = |f: &dyn Fn(&(f64, f64, bool)) -> f64| rows.iter().map(f).sum::<f64>();
    if sum(&|r| if r.2 { r.0 } else { 0.0 }) == 0.0 {
        return Err(AnalysisError::InvalidParameter {
            name: "treated area",
            reason: "has no incidents after the start: the rate ratio would be 0 (use a longer period)",
        });
    }
    if sum(&|r| if r.2 { 0.0 } else { r.0 }) == 0.0 {
        return Err(AnalysisError::InvalidParameter {
            name: "treated area",
            reason: "has no incidents before the start: there is nothing to compare with",
        });
    }
    if sum(&|r| r.1) == 0.0 {
        return Err(AnalysisError::InvalidParameter { name: "comparison area", reason: "has no incidents at all" });
    }
    // Newton on θ = (α, δ) with τₜ = log((yT + yC) / (1 + e^(α + δ·postₜ))) profiled out.
    let mut theta = [0.0_f64, 0.0_f64];
    let mut iterations = 0;
    let info = |theta: &[f64; 2]| -> ([f64; 2], [[f64; 2]; 2], f64) {
        let (mut u, mut i_aa, mut i_ad, mut i_dd, mut pearson) = ([0.0; 2], 0.0, 0.0, 0.0, 0.0);
        for &(yt, yc, post) in &rows {
            let eta = theta[0] + if post { theta[1] } else { 0.0 };
            let share = 1.0 / (1.0 + (-eta).exp()); // μT / (μT + μC)
            let total = yt + yc;
            let (mt, mc) = (total * share, total * (1.0 - share));
            u[0] += yt - mt;
            // Profiled information: μT − μT²/(μT + μC) = total·share·(1 − share).
            let w = total * share * (1.0 - share);
            i_aa += w;
            if post {
                u[1] += yt - mt;
                i_ad += w;
                i_dd += w;
            }
            if mt > 0.0 {
                pearson += (yt - mt).powi(2) / mt;
            }
            if mc > 0.0 {
                pearson += (yc - mc).powi(2) / mc;
            }
        }
        (u, [[i_aa, i_ad], [i_ad, i_dd]], pearson)
    };
    loop {
        let (u, m, _) = info(&theta);
        let det = m[0][0] * m[1][1] - m[0][1] * m[0][1];
        if det.is_nan() || det <= 0.0 {
            return Err(AnalysisError::InvalidParameter {
                name: "counts",
                reason: "do not identify the effect (all after-periods or all before-periods empty)",
            });
        }
        let step = [(m[1][1] * u[0] - m[0][1] * u[1]) / det, (m[0][0] * u[1] - m[0][1] * u[0]) / det];
        theta[0] += step[0];
        theta[1] += step[1];
        iterations += 1;
        if step[0].abs().max(step[1].abs()) < 1e-12 || iterations >= params.max_iterations {
            break;
        }
    }
    let (_, m, pearson) = info(&theta);
    let det = m[0][0] * m[1][1] - m[0][1] * m[0][1];
    let var_delta = m[0][0] / det;
    // Residual degrees of freedom: 2 observations per period, one τ per period, α and δ.
    let df = (2 * rows.len()).saturating_sub(rows.len() + 2).max(1) as f64;
    let dispersion = (pearson / df).max(1.0);
    let se = (dispersion * var_delta).sqrt();
    let z = normal::quantile(0.5 + params.confidence / 2.0);
    let p_value = (2.0 * normal::sf(theta[1].abs() / se)).min(1.0);
    Ok(DidEstimate {
        rate_ratio: theta[1].exp(),
        low: (theta[1] - z * se).exp(),
        high: (theta[1] + z * se).exp(),
        p_value,
        log_ratio: theta[1],
        standard_error: se,
        dispersion,
        periods_before: before,
        periods_after: after,
        iterations,
    })
}

/// What a difference-in-differences estimate says, in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Fewer incidents than the comparison implies, and the interval excludes no change.
    Reduction,
    /// More incidents, and the interval excludes no change.
    Increase,
    /// The interval includes no change: no evidence either way at this confidence.
    NoEvidence,
}

impl Verdict {
    pub fn of(e: &DidEstimate) -> Self {
        if e.high < 1.0 {
            Verdict::Reduction
        } else if e.low > 1.0 {
            Verdict::Increase
        } else {
            Verdict::NoEvidence
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Verdict::Reduction => "reduction",
            Verdict::Increase => "increase",
            Verdict::NoEvidence => "no_evidence",
        }
    }

    /// One English sentence with the change and its interval ("target area" or "buffer").
    pub fn sentence(self, e: &DidEstimate, area: &str, confidence: f64) -> String {
        let pct = |r: f64| (r - 1.0) * 100.0;
        let range = format!("{:+.0}% to {:+.0}%, {:.0}% interval; p = {:.3}", pct(e.low), pct(e.high), confidence * 100.0, e.p_value);
        match self {
            Verdict::Reduction => {
                format!("Incidents in the {area} fell by {:.0}% relative to the comparison area ({range}).", -pct(e.rate_ratio))
            }
            Verdict::Increase => {
                format!("Incidents in the {area} rose by {:.0}% relative to the comparison area ({range}).", pct(e.rate_ratio))
            }
            Verdict::NoEvidence => format!(
                "No clear change in the {area} relative to the comparison area: {:+.0}% ({range}); the data cannot tell an effect from chance.",
                pct(e.rate_ratio)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Rng;

    /// Weekly counts with a shared seasonal swing; the target's rate × `effect` after week 26.
    fn simulate(seed: u64, effect: f64) -> (Vec<u64>, Vec<u64>) {
        let mut rng = Rng::seed(seed);
        let (mut t, mut c) = (Vec::new(), Vec::new());
        for w in 0..52 {
            let season = 1.0 + 0.3 * (w as f64 * std::f64::consts::TAU / 52.0).sin();
            let after = if w >= 26 { effect } else { 1.0 };
            t.push(rng.poisson(12.0 * season * after));
            c.push(rng.poisson(30.0 * season));
        }
        (t, c)
    }

    #[test]
    fn a_known_effect_is_recovered_and_its_interval_covers_it() {
        let (mut covered, mut found, mut sum) = (0, 0, 0.0);
        let runs = 300;
        for seed in 0..runs {
            let (t, c) = simulate(seed, 0.7);
            let e = did_poisson(&t, &c, 26, &DidParams::default()).unwrap();
            covered += u32::from(e.low <= 0.7 && 0.7 <= e.high);
            found += u32::from(Verdict::of(&e) == Verdict::Reduction);
            sum += e.log_ratio;
        }
        let mean = (sum / runs as f64).exp();
        assert!((mean - 0.7).abs() < 0.01, "mean rate ratio {mean}");
        assert!((0.92..=0.98).contains(&(covered as f64 / runs as f64)), "coverage {covered}/{runs}");
        // δ = ln 0.7 with ~300 incidents a side: about 9 runs in 10 find it at the 5% level.
        assert!(found as f64 / runs as f64 > 0.85, "power {found}/{runs}");
    }

    #[test]
    fn no_effect_is_found_about_as_often_as_the_level_allows() {
        let runs = 400;
        let false_alarms = (0..runs)
            .filter(|&s| {
                let (t, c) = simulate(1000 + s, 1.0);
                Verdict::of(&did_poisson(&t, &c, 26, &DidParams::default()).unwrap()) != Verdict::NoEvidence
            })
            .count();
        assert!((false_alarms as f64 / runs as f64) < 0.08, "{false_alarms}/{runs} false alarms at the 5% level");
    }

    #[test]
    fn a_city_wide_shock_shared_by_both_areas_is_not_credited_to_the_measure() {
        // Everything drops by half after week 4 in both areas: no effect.
        let target = [20, 20, 20, 20, 10, 10, 10, 10];
        let control = [50, 50, 50, 50, 25, 25, 25, 25];
        let e = did_poisson(&target, &control, 4, &DidParams::default()).unwrap();
        assert!((e.rate_ratio - 1.0).abs() < 1e-9 && e.p_value > 0.99, "{e:?}");
        assert_eq!(Verdict::of(&e), Verdict::NoEvidence);
    }

    #[test]
    fn overdispersed_counts_widen_the_interval() {
        let target = [5, 40, 8, 35, 4, 30, 6, 25, 3, 20];
        let control = [40, 5, 35, 8, 30, 4, 25, 6, 20, 3];
        let e = did_poisson(&target, &control, 6, &DidParams::default()).unwrap();
        assert!(e.dispersion > 5.0, "{e:?}");
    }

    #[test]
    fn bad_input_is_named() {
        let e = did_poisson(&[1, 2], &[1], 1, &DidParams::default()).unwrap_err();
        assert!(e.to_string().contains("comparison-area periods"));
        assert!(
            did_poisson(&[1, 2, 3, 0, 0], &[4, 5, 6, 7, 8], 3, &DidParams::default())
                .unwrap_err()
                .to_string()
                .contains("no incidents after")
        );
        assert!(did_poisson(&[1, 2, 3], &[1, 2, 3], 2, &DidParams::default()).is_err(), "too few periods");
        assert!(wdq(AreaCounts::default(), AreaCounts { control: 1, ..Default::default() }).is_err());
    }

    #[test]
    fn the_wdq_classifies_every_case_of_bowers_and_johnson() {
        let before = AreaCounts { target: 100, buffer: 100, control: 100 };
        let case = |t: u64, b: u64| wdq(before, AreaCounts { target: t, buffer: b, control: 100 }).unwrap().displacement;
        assert_eq!(case(110, 90), Displacement::NoSuccess);
        assert_eq!(case(80, 70), Displacement::DiffusionExceedsDirect);
        assert_eq!(case(80, 90), Displacement::Diffusion);
        assert_eq!(case(80, 100), Displacement::None);
        assert_eq!(case(80, 110), Displacement::DisplacementLessThanGain);
        assert_eq!(case(80, 130), Displacement::DisplacementExceedsGain);
    }
}
