//! Oracle test: the Knox table against the Near Repeat Calculator 1.3's own
//! output on the two example data sets shipped with the NearRepeat R package
//! (read from `../shared/data/near-repeat`, not copied into the repository).
//!
//! - Observed counts must equal the Calculator's table exactly (with its
//!   32-bit coordinates and Manhattan distance).
//! - Mean expected counts (hence Knox ratios) must agree within Monte Carlo
//!   error: the Calculator's mean over its 19 or 99 runs and ours over 999
//!   runs differ by less than 4 standard errors, the standard error taken from
//!   the spread of the Calculator's own runs (listed in its verbose file).

use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use qalqan_analysis::near_repeat::{CoordinatePrecision, DistanceMetric, KnoxParams, SpaceTimeEvent, knox_table};

fn data(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/near-repeat").join(name)
}

fn events(name: &str) -> Vec<SpaceTimeEvent> {
    let epoch = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
    std::fs::read_to_string(data(name))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            let date = NaiveDate::parse_from_str(f[2].trim(), "%Y-%m-%d").unwrap();
            SpaceTimeEvent { x: f[0].parse().unwrap(), y: f[1].parse().unwrap(), day: (date - epoch).num_days() as f64 }
        })
        .collect()
}

/// The Calculator's verbose file: the observed table and each cell's simulated counts.
struct Verbose {
    observed: Vec<Vec<u64>>,
    /// `simulated[row][column]`: the counts of each Monte Carlo run.
    simulated: Vec<Vec<Vec<f64>>>,
}

fn verbose(name: &str, rows: usize, cols: usize) -> Verbose {
    let text = std::fs::read_to_string(data(name)).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| l.starts_with("Observed frequencies distribution")).unwrap();
    let observed = lines[at + 3..at + 3 + rows]
        .iter()
        .map(|l| l.split(',').skip(2).take(cols).map(|v| v.trim().parse().unwrap_or(0)).collect())
        .collect();
    let mut simulated = vec![vec![Vec::new(); cols]; rows];
    for (k, l) in lines.iter().enumerate() {
        if let Some(rest) = l.strip_prefix("Row ") {
            let parts: Vec<&str> = rest.split_whitespace().collect();
            let (r, c): (usize, usize) = (parts[0].parse().unwrap(), parts[2].parse().unwrap());
            // The runs follow "Expected," and wrap onto lines that start with a comma.
            let mut runs = lines[k + 1].strip_prefix("Expected").unwrap().to_string();
            runs.extend(lines[k + 2..].iter().take_while(|l| l.starts_with(',')).copied());
            simulated[r - 1][c - 1] = runs.split(',').filter(|v| !v.trim().is_empty()).map(|v| v.trim().parse().unwrap()).collect();
        }
    }
    Verbose { observed, simulated }
}

/// The Calculator's summary findings: near-repeat rows (each up to which column) and
/// the repeat run's last column.
struct Findings {
    near: &'static [(usize, usize)],
    repeat: Option<usize>,
}

fn check(input: &str, verbose_file: &str, params: KnoxParams, runs: usize, findings: Findings) {
    let events = events(input);
    let rows = params.spatial_bands + 2;
    let cols = params.temporal_bands + 1;
    let theirs = verbose(verbose_file, rows, cols);
    let table = knox_table(&events, &params).unwrap();
    assert_eq!(table.spatial.len(), rows);
    assert_eq!(table.temporal.len(), cols);
    let ours: Vec<Vec<u64>> = (0..rows).map(|r| (0..cols).map(|c| table.cell(r, c).observed).collect()).collect();
    assert_eq!(ours, theirs.observed, "{input}: observed table");

    let summary = table.summary();
    let near: Vec<(usize, usize)> = summary.near_repeats.iter().map(|f| (f.spatial_row, f.up_to_column)).collect();
    assert_eq!(near, findings.near, "{input}: near-repeat findings\n{}", table.describe());
    assert_eq!(summary.repeat_up_to_column, findings.repeat, "{input}: repeat finding\n{}", table.describe());

    for r in 0..rows {
        for c in 0..cols {
            let runs_of = &theirs.simulated[r][c];
            assert_eq!(runs_of.len(), runs, "{input}: runs listed for row {r} column {c}");
            let n = runs as f64;
            let mean = runs_of.iter().sum::<f64>() / n;
            let var = runs_of.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let se = (var / n + var / f64::from(params.permutations)).sqrt();
            let cell = table.cell(r, c);
            let diff = (cell.mean_expected - mean).abs();
            assert!(
                diff <= 4.0 * se + 1e-9,
                "{input} row {r} column {c}: our mean expected {} vs the Calculator's {mean} (se {se})",
                cell.mean_expected
            );
            // The Knox ratio, observed over mean expected, then agrees to the same relative error.
            if let Some(ratio) = cell.knox_ratio {
                assert!(mean > 0.0);
                let theirs_ratio = cell.observed as f64 / mean;
                assert!((ratio - theirs_ratio).abs() <= theirs_ratio * 4.0 * se / mean + 1e-9);
            }
        }
    }
}

#[test]
fn chicago_burglary_month_matches_the_near_repeat_calculator() {
    let params = KnoxParams {
        spatial_bandwidth: 100.0,
        spatial_bands: 3,
        temporal_bandwidth: 7.0,
        temporal_bands: 3,
        metric: DistanceMetric::Manhattan,
        precision: CoordinatePrecision::Single,
        permutations: 999,
        seed: 20261125,
        ..KnoxParams::default()
    };
    check(
        "chicago_be_month1.csv",
        "chicago_be_month1_NRverbose_2019-09-23_143005.csv",
        params,
        19,
        Findings { near: &[(1, 0), (2, 0)], repeat: Some(0) },
    );
}

#[test]
fn chicago_arson_matches_the_near_repeat_calculator() {
    let params = KnoxParams {
        spatial_bandwidth: 200.0,
        spatial_bands: 3,
        temporal_bandwidth: 1.0,
        temporal_bands: 3,
        metric: DistanceMetric::Manhattan,
        precision: CoordinatePrecision::Single,
        permutations: 999,
        seed: 20261125,
        ..KnoxParams::default()
    };
    check(
        "chicago_arson.csv",
        "chicago_arson_NRverbose_2019-09-23_145637.csv",
        params,
        99,
        Findings { near: &[(1, 0), (2, 0), (3, 0)], repeat: None },
    );
}

#[test]
fn double_precision_differs_from_the_calculator_by_one_pair_on_arson() {
    // The one arson pair 399.96 m apart lands in [200, 400) in 64-bit arithmetic,
    // where the Calculator (32-bit) puts it in [400, 600).
    let events = events("chicago_arson.csv");
    let p = KnoxParams { spatial_bandwidth: 200.0, temporal_bandwidth: 1.0, permutations: 1, ..KnoxParams::default() };
    let t = knox_table(&events, &p).unwrap();
    assert_eq!((t.cell(2, 3).observed, t.cell(3, 3).observed), (141, 233));
}
