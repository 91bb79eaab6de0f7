//! Timing harness used by `bench/near_repeat.py` (Qalqan side of the side-by-side).
//!
//! `cargo run --release -p qalqan-analysis --example bench_knox -- EVENTS.csv KIND SPATIAL_BW S_BANDS TEMPORAL_BW T_BANDS METRIC PERMUTATIONS RUNS`
//!
//! EVENTS.csv: `x,y,day` (KIND `xy`, projected metres) or `lat,lon,day` (KIND
//! `wgs84`, projected here to UTM); day a number of days. METRIC is
//! `manhattan` or `euclidean`. Times only `knox_table` (events already in
//! memory), median of RUNS runs, and prints one JSON object: the median
//! seconds, the number of events and the observed table (row-major).

use std::time::Instant;

use qalqan_analysis::near_repeat::{DistanceMetric, KnoxParams, SpaceTimeEvent, knox_table};
use qalqan_analysis::projection::Utm;
use qalqan_domain::Wgs84Point;

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() != 10 {
        eprintln!("usage: bench_knox EVENTS.csv xy|wgs84 SPATIAL_BW S_BANDS TEMPORAL_BW T_BANDS manhattan|euclidean PERMUTATIONS RUNS");
        std::process::exit(2);
    }
    let text = std::fs::read_to_string(&a[1]).expect("events file");
    let rows: Vec<[f64; 3]> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Vec<f64> = l.split(',').map(|f| f.trim().parse().expect("number")).collect();
            [v[0], v[1], v[2]]
        })
        .collect();
    let events: Vec<SpaceTimeEvent> = if a[2] == "wgs84" {
        let points: Vec<Wgs84Point> = rows.iter().map(|r| Wgs84Point::new(r[0], r[1]).expect("lat,lon")).collect();
        let utm = Utm::for_points(&points);
        points
            .iter()
            .zip(&rows)
            .map(|(p, r)| {
                let (x, y) = utm.forward(*p);
                SpaceTimeEvent { x, y, day: r[2] }
            })
            .collect()
    } else {
        rows.iter().map(|r| SpaceTimeEvent { x: r[0], y: r[1], day: r[2] }).collect()
    };
    let params = KnoxParams {
        spatial_bandwidth: a[3].parse().expect("spatial bandwidth"),
        spatial_bands: a[4].parse().expect("spatial bands"),
        temporal_bandwidth: a[5].parse().expect("temporal bandwidth"),
        temporal_bands: a[6].parse().expect("temporal bands"),
        metric: if a[7] == "euclidean" { DistanceMetric::Euclidean } else { DistanceMetric::Manhattan },
        permutations: a[8].parse().expect("permutations"),
        seed: 20261125,
        ..KnoxParams::default()
    };
    let runs: usize = a[9].parse().expect("runs");
    let mut times = Vec::new();
    let mut table = None;
    for _ in 0..runs.max(1) {
        let t = Instant::now();
        table = Some(knox_table(&events, &params).expect("knox table"));
        times.push(t.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    let table = table.expect("one run");
    let observed: Vec<String> = table.cells.iter().map(|c| c.observed.to_string()).collect();
    println!(
        "{{\"seconds\": {}, \"events\": {}, \"rows\": {}, \"columns\": {}, \"observed\": [{}]}}",
        times[times.len() / 2],
        events.len(),
        table.spatial.len(),
        table.temporal.len(),
        observed.join(",")
    );
}
