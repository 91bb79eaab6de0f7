//! Timing harness for facility location: Qalqan's side of a side-by-side with spopt.
//!
//! ```text
//! bench_location INSTANCE.csv [exact|heuristic] [RUNS]
//! bench_location --synthetic N M P SEED [SERVICE_STANDARD_M] [exact|heuristic]
//! bench_location --write N M P SEED SERVICE_STANDARD_M FILE.csv
//! bench_location --write-coverage N M SEED SERVICE_STANDARD_M FILE.txt
//! ```
//!
//! The first form reads a dense instance, solves MCLP, p-median and p-center (default exact) and
//! prints one JSON object with, for each, the objective, bound, gap, status, chosen sites and the
//! median seconds of RUNS runs (default 3). MCLP's seconds include building the coverage from the
//! matrix.
//!
//! The second generates a seeded clustered instance (below), builds the sparse coverage within the
//! service standard (default 500 m) through a bucket grid, solves MCLP (default heuristic) and
//! prints objective, bound, gap and seconds, with the library's default parameters (the
//! environment variable `PERTURB` overrides the rounds of iterated local search). The third writes
//! a generated instance as a file of the first form, with dense Euclidean costs. The fourth writes
//! the sparse coverage of the second form instead (the dense file of 50,000 × 5,000 would take
//! gigabytes), one line per demand: its weight, then the sites covering it, space-separated — for
//! checking the bound against an LP solver (e.g. HiGHS through `scipy.optimize.linprog`).
//!
//! # Instance file (CSV)
//!
//! ```text
//! p,5
//! service_standard,1500
//! fixed,3,17            ← sites already open (0-based column numbers); "fixed" alone for none
//! weight,c0,c1,…,c{M-1} ← header
//! 2,1234.5,…            ← one row per demand: its weight, then its cost to each site
//! ```
//!
//! Numbers are written in Rust's shortest round-trip form, so `float()` in Python reads exactly
//! the same values. In Python: `lines = open(f).read().splitlines()`, `p = int(lines[0].split(',')[1])`,
//! `S = float(lines[1].split(',')[1])`, `fixed = [int(x) for x in lines[2].split(',')[1:]]`,
//! `rows = numpy.loadtxt(f, delimiter=',', skiprows=4, ndmin=2)`, weights `rows[:, 0]`, costs `rows[:, 1:]`.
//!
//! # Synthetic instances
//!
//! Demand over 20 km × 20 km like city incidents: 80 % in 30 Gaussian hot spots (σ 150-1,000 m,
//! shares falling as 1/rank), 20 % uniform; weights 1-9 incidents (1 + a geometric count). Half
//! the candidate sites (rounded down to a square) on a regular grid, the rest drawn like the demand
//! (street corners near incidents). Euclidean metres.

use std::error::Error;
use std::fmt::Write as _;
use std::time::Instant;

use qalqan_analysis::rng::Rng;
use qalqan_planning::location::{
    CostMatrix, Coverage, Instance, LocationParams, Method, Placement, Status, maximal_covering, p_center, p_median,
};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

const SIDE: f64 = 20_000.0;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--synthetic") if args.len() >= 5 => synthetic_run(&args[1..]),
        Some("--write-coverage") if args.len() == 6 => {
            let (n, m, seed): (usize, usize, u64) = (args[1].parse()?, args[2].parse()?, args[3].parse()?);
            let standard: f64 = args[4].parse()?;
            let s = Synthetic::new(n, m, seed, SiteLayout::from_env()?);
            write_coverage(&args[5], &s.coverage(standard)?)?;
            println!("wrote {} ({n} demands × {m} sites, S = {standard} m)", args[5]);
            Ok(())
        }
        Some("--write") if args.len() == 7 => {
            let (n, m, p, seed) = (args[1].parse()?, args[2].parse()?, args[3].parse()?, args[4].parse()?);
            let standard: f64 = args[5].parse()?;
            let s = Synthetic::new(n, m, seed, SiteLayout::from_env()?);
            let costs = CostMatrix::from_fn(n, m, |i, j| distance(s.demand[i], s.sites[j]))?;
            write_instance(&args[6], &s.weights, &costs, p, standard, &[])?;
            println!("wrote {} ({n} demands × {m} sites, p = {p}, S = {standard} m)", args[6]);
            Ok(())
        }
        Some(path) if !path.starts_with("--") => {
            let method = method(args.get(1).map(String::as_str).unwrap_or("exact"))?;
            let runs: usize = args.get(2).map(|r| r.parse()).transpose()?.unwrap_or(3);
            file_run(path, method, runs.max(1))
        }
        _ => Err("usage: bench_location INSTANCE.csv [exact|heuristic] [RUNS] | --synthetic N M P SEED [S] [exact|heuristic] | --write N M P SEED S FILE | --write-coverage N M SEED S FILE".into()),
    }
}

fn method(name: &str) -> Result<Method> {
    match name {
        "exact" => Ok(Method::Exact),
        "heuristic" => Ok(Method::Heuristic),
        other => Err(format!("method must be exact or heuristic, not {other}").into()),
    }
}

fn file_run(path: &str, method: Method, runs: usize) -> Result<()> {
    let (instance, p, standard) = read_instance(path)?;
    let params = LocationParams { p, method, ..LocationParams::default() };
    let mut out = format!(
        "{{\"file\":{path:?},\"demands\":{},\"sites\":{},\"p\":{p},\"service_standard\":{standard},\"fixed\":{:?}",
        instance.demands(),
        instance.sites(),
        instance.fixed()
    );
    type Solver<'a> = Box<dyn Fn() -> Result<Placement> + 'a>;
    let solvers: [(&str, Solver); 3] = [
        ("mclp", Box::new(|| Ok(maximal_covering(&instance.coverage(standard)?, &params)?))),
        ("p_median", Box::new(|| Ok(p_median(&instance, &params)?))),
        ("p_center", Box::new(|| Ok(p_center(&instance, &params)?))),
    ];
    for (name, solve) in solvers {
        let mut seconds = Vec::with_capacity(runs);
        let mut last = None;
        for _ in 0..runs {
            let t = Instant::now();
            let placement = solve()?;
            seconds.push(t.elapsed().as_secs_f64());
            last = Some(placement);
        }
        let placement = last.ok_or("no run")?;
        seconds.sort_by(f64::total_cmp);
        write!(out, ",\"{name}\":{}", placement_json(&placement, seconds[seconds.len() / 2]))?;
    }
    out.push('}');
    println!("{out}");
    Ok(())
}

fn placement_json(p: &Placement, seconds: f64) -> String {
    format!(
        "{{\"objective\":{},\"bound\":{},\"gap\":{},\"status\":\"{}\",\"chosen\":{:?},\"nodes\":{},\"iterations\":{},\"seconds\":{seconds:.6}}}",
        p.objective,
        p.bound,
        if p.gap.is_finite() { p.gap.to_string() } else { "null".to_owned() },
        if p.status == Status::Optimal { "optimal" } else { "feasible" },
        p.chosen,
        p.nodes,
        p.iterations
    )
}

fn synthetic_run(args: &[String]) -> Result<()> {
    let (n, m, p, seed): (usize, usize, usize, u64) = (args[0].parse()?, args[1].parse()?, args[2].parse()?, args[3].parse()?);
    let standard: f64 = args.get(4).map(|s| s.parse()).transpose()?.unwrap_or(500.0);
    let method = method(args.get(5).map(String::as_str).unwrap_or("heuristic"))?;
    let t = Instant::now();
    let s = Synthetic::new(n, m, seed, SiteLayout::from_env()?);
    let generated = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let coverage = s.coverage(standard)?;
    let built = t.elapsed().as_secs_f64();
    let covered_at_all = (0..n).filter(|&i| !coverage.covering(i).is_empty()).count();
    let params = LocationParams {
        p,
        method,
        perturbations: std::env::var("PERTURB").ok().and_then(|v| v.parse().ok()).unwrap_or(LocationParams::default().perturbations),
        ..LocationParams::default()
    };
    let placement = maximal_covering(&coverage, &params)?;
    let total: f64 = s.weights.iter().sum();
    println!(
        "{{\"demands\":{n},\"sites\":{m},\"p\":{p},\"seed\":{seed},\"service_standard\":{standard},\"pairs\":{},\"mean_covering_sites\":{:.1},\"coverable_demands\":{covered_at_all},\"total_weight\":{total},\"generate_seconds\":{generated:.3},\"coverage_seconds\":{built:.3},\"mclp\":{},\"covered_share\":{:.4}}}",
        coverage.pairs(),
        coverage.pairs() as f64 / n as f64,
        placement_json(&placement, placement.seconds),
        placement.objective / total
    );
    Ok(())
}

fn distance(a: (f64, f64), b: (f64, f64)) -> f64 {
    f64::hypot(a.0 - b.0, a.1 - b.1)
}

/// Where the candidate sites are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SiteLayout {
    /// Half on a square grid, the rest drawn like the demand. The default.
    Mixed,
    /// On a square grid (rounded down), the rest uniform.
    Grid,
    /// Uniform.
    Random,
}

impl SiteLayout {
    fn from_env() -> Result<Self> {
        match std::env::var("SITES").as_deref() {
            Err(_) | Ok("mixed") => Ok(Self::Mixed),
            Ok("grid") => Ok(Self::Grid),
            Ok("random") => Ok(Self::Random),
            Ok(other) => Err(format!("SITES must be mixed, grid or random, not {other}").into()),
        }
    }
}

/// A seeded clustered instance (see the module docs).
struct Synthetic {
    demand: Vec<(f64, f64)>,
    weights: Vec<f64>,
    sites: Vec<(f64, f64)>,
}

impl Synthetic {
    fn new(n: usize, m: usize, seed: u64, layout: SiteLayout) -> Self {
        let mut rng = Rng::seed(seed);
        let clusters: Vec<((f64, f64), f64)> =
            (0..30).map(|_| ((2_000.0 + 16_000.0 * rng.unit(), 2_000.0 + 16_000.0 * rng.unit()), 150.0 + 850.0 * rng.unit())).collect();
        let shares: Vec<f64> = (1..=clusters.len()).map(|r| 1.0 / r as f64).collect();
        let share_total: f64 = shares.iter().sum();
        let point = |rng: &mut Rng| -> (f64, f64) {
            if rng.unit() < 0.2 {
                return (SIDE * rng.unit(), SIDE * rng.unit());
            }
            let mut u = rng.unit() * share_total;
            let mut c = 0;
            while c + 1 < clusters.len() && u >= shares[c] {
                u -= shares[c];
                c += 1;
            }
            let ((x, y), sigma) = clusters[c];
            // Box-Muller.
            let r = sigma * (-2.0 * (1.0 - rng.unit()).ln()).sqrt();
            let a = std::f64::consts::TAU * rng.unit();
            ((x + r * a.cos()).clamp(0.0, SIDE), (y + r * a.sin()).clamp(0.0, SIDE))
        };
        let demand: Vec<(f64, f64)> = (0..n).map(|_| point(&mut rng)).collect();
        let weights: Vec<f64> = (0..n)
            .map(|_| {
                let mut w = 1.0;
                while w < 9.0 && rng.unit() < 0.35 {
                    w += 1.0;
                }
                w
            })
            .collect();
        let g = match layout {
            SiteLayout::Mixed => ((m / 2) as f64).sqrt().floor() as usize,
            SiteLayout::Grid => (m as f64).sqrt().floor() as usize,
            SiteLayout::Random => 0,
        };
        let mut sites: Vec<(f64, f64)> = (0..g * g)
            .map(|c| ((c % g) as f64 + 0.5, (c / g) as f64 + 0.5))
            .map(|(x, y)| (x * SIDE / g as f64, y * SIDE / g as f64))
            .collect();
        while sites.len() < m {
            let site = if layout == SiteLayout::Mixed { point(&mut rng) } else { (SIDE * rng.unit(), SIDE * rng.unit()) };
            sites.push(site);
        }
        Self { demand, weights, sites }
    }

    /// The sites within `standard` metres of each demand, found through a bucket grid.
    fn coverage(&self, standard: f64) -> Result<Coverage> {
        let cell = standard.max(1.0);
        let cols = (SIDE / cell).ceil() as usize + 1;
        let key = |(x, y): (f64, f64)| ((x / cell) as usize).min(cols - 1) + cols * ((y / cell) as usize).min(cols - 1);
        let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); cols * cols];
        for (j, &s) in self.sites.iter().enumerate() {
            buckets[key(s)].push(j as u32);
        }
        let lists = self.demand.iter().map(|&d| {
            let (cx, cy) = (((d.0 / cell) as usize).min(cols - 1), ((d.1 / cell) as usize).min(cols - 1));
            let mut list = Vec::new();
            for y in cy.saturating_sub(1)..=(cy + 1).min(cols - 1) {
                for x in cx.saturating_sub(1)..=(cx + 1).min(cols - 1) {
                    list.extend(buckets[x + cols * y].iter().map(|&j| j as usize).filter(|&j| distance(d, self.sites[j]) <= standard));
                }
            }
            list
        });
        Ok(Coverage::new(self.weights.clone(), self.sites.len(), lists)?)
    }
}

fn write_coverage(path: &str, coverage: &Coverage) -> Result<()> {
    let mut text = String::new();
    for i in 0..coverage.demands() {
        write!(text, "{}", coverage.weights()[i])?;
        for j in coverage.covering(i) {
            write!(text, " {j}")?;
        }
        text.push('\n');
    }
    std::fs::write(path, text)?;
    Ok(())
}

fn write_instance(path: &str, weights: &[f64], costs: &CostMatrix, p: usize, standard: f64, fixed: &[usize]) -> Result<()> {
    let mut text = format!("p,{p}\nservice_standard,{standard}\nfixed");
    for j in fixed {
        write!(text, ",{j}")?;
    }
    text.push_str("\nweight");
    for j in 0..costs.sites() {
        write!(text, ",c{j}")?;
    }
    text.push('\n');
    for (i, w) in weights.iter().enumerate() {
        write!(text, "{w}")?;
        for c in costs.row(i) {
            write!(text, ",{c}")?;
        }
        text.push('\n');
    }
    std::fs::write(path, text)?;
    Ok(())
}

fn read_instance(path: &str) -> Result<(Instance, usize, f64)> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let mut lines = text.lines();
    let mut field = |name: &str| -> Result<Vec<String>> {
        let line = lines.next().ok_or_else(|| format!("{path}: missing the {name} line"))?;
        let mut parts = line.split(',').map(|s| s.trim().to_owned());
        if parts.next().as_deref() != Some(name) {
            return Err(format!("{path}: expected a line starting with {name:?}, got {line:?}").into());
        }
        Ok(parts.filter(|s| !s.is_empty()).collect())
    };
    let p: usize = field("p")?.first().ok_or("p needs a value")?.parse()?;
    let standard: f64 = field("service_standard")?.first().ok_or("service_standard needs a value")?.parse()?;
    let fixed: Vec<usize> = field("fixed")?.iter().map(|s| s.parse()).collect::<std::result::Result<_, _>>()?;
    let sites = field("weight")?.len();
    let mut weights = Vec::new();
    let mut costs = Vec::new();
    for (r, line) in lines.enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let values: Vec<f64> = line
            .split(',')
            .map(|s| s.trim().parse::<f64>())
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| format!("{path}: row {}: {e}", r + 5))?;
        if values.len() != sites + 1 {
            return Err(format!("{path}: row {} has {} values, expected {}", r + 5, values.len(), sites + 1).into());
        }
        weights.push(values[0]);
        costs.extend_from_slice(&values[1..]);
    }
    let instance = Instance::new(weights.clone(), CostMatrix::new(weights.len(), sites, costs)?)?.with_fixed(&fixed)?;
    Ok((instance, p, standard))
}
