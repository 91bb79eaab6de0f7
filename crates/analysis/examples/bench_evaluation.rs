//! Timing harness used by `bench/evaluation.py` (Qalqan side of the side-by-side with statsmodels).
//!
//! `bench_evaluation did SERIES.csv FIRST_AFTER RUNS` — SERIES.csv: `target,control` per period;
//! fits [`did_poisson`] and prints JSON: rate ratio, interval, p-value, dispersion, median seconds.
//!
//! `bench_evaluation nb DESIGN.csv RUNS` — DESIGN.csv: `y,x1,…,xk` with binary x; fits the
//! negative-binomial regression ([`fit_binary_glm`]) and prints the coefficients, their standard
//! errors, θ and the median seconds. Only the fit is timed (data already in memory).

use std::time::Instant;

use qalqan_analysis::evaluation::{DidParams, did_poisson};
use qalqan_analysis::risk_terrain::{Family, fit_binary_glm};

fn rows(path: &str) -> Vec<Vec<f64>> {
    std::fs::read_to_string(path)
        .expect("input file")
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.split(',').map(|f| f.trim().parse().expect("number")).collect())
        .collect()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    match a.get(1).map(String::as_str) {
        Some("did") if a.len() == 5 => {
            let data = rows(&a[2]);
            let target: Vec<u64> = data.iter().map(|r| r[0] as u64).collect();
            let control: Vec<u64> = data.iter().map(|r| r[1] as u64).collect();
            let first: usize = a[3].parse().expect("first after");
            let runs: usize = a[4].parse().expect("runs");
            let mut times = Vec::new();
            let mut e = None;
            for _ in 0..runs {
                let t = Instant::now();
                e = Some(did_poisson(&target, &control, first, &DidParams::default()).expect("estimate"));
                times.push(t.elapsed().as_secs_f64());
            }
            let e = e.expect("a run");
            println!(
                "{{\"rate_ratio\": {}, \"low\": {}, \"high\": {}, \"p_value\": {}, \"dispersion\": {}, \"log_ratio\": {}, \"se\": {}, \"seconds\": {}}}",
                e.rate_ratio,
                e.low,
                e.high,
                e.p_value,
                e.dispersion,
                e.log_ratio,
                e.standard_error,
                median(times)
            );
        }
        Some("nb") if a.len() == 4 => {
            let data = rows(&a[2]);
            let y: Vec<u64> = data.iter().map(|r| r[0] as u64).collect();
            let k = data.first().map_or(0, |r| r.len() - 1);
            let columns: Vec<Vec<u32>> =
                (0..k).map(|j| (0..data.len()).filter(|&i| data[i][j + 1] != 0.0).map(|i| i as u32).collect()).collect();
            let runs: usize = a[3].parse().expect("runs");
            let mut times = Vec::new();
            let mut fit = None;
            for _ in 0..runs {
                let t = Instant::now();
                fit = Some(fit_binary_glm(&y, &columns, Family::NegativeBinomial).expect("fit"));
                times.push(t.elapsed().as_secs_f64());
            }
            let f = fit.expect("a run");
            println!(
                "{{\"coefficients\": {:?}, \"standard_errors\": {:?}, \"theta\": {}, \"seconds\": {}}}",
                f.coefficients,
                f.standard_errors,
                f.theta.unwrap_or(f64::NAN),
                median(times)
            );
        }
        _ => {
            eprintln!("usage: bench_evaluation did SERIES.csv FIRST_AFTER RUNS | nb DESIGN.csv RUNS");
            std::process::exit(2);
        }
    }
}
