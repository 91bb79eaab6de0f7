//! Speed of the SEPP fit on a year of Toronto, and optionally a backtest of all forecast models.
//!
//! `cargo run --release -p qalqan-analysis --example forecast_speed -- [DIR] [--backtest DAYS] [--synthetic]`
//!
//! DIR holds the Toronto Police MCI export as `train.csv` and `test.csv`
//! (default `/work/shared/data/toronto-mci`). Times are the local date and
//! hour of occurrence (hour precision; DST ignored), places projected to UTM.
//! The fit is at 2020-01-01 00:00 over the 365 days before it (2019's events),
//! cold and then warm-started one day later. `--backtest DAYS` also runs every
//! model with next-day forecasts at the last DAYS origins of 2019 and prints
//! the summary, scoring the cells that had an event in 2014–2018 (a stand-in for
//! the city's outline). `--synthetic` fits a simulated process of similar size instead.

use std::time::Instant;

use chrono::NaiveDate;
use qalqan_analysis::forecast::sepp::{SeppSimulation, simulate_sepp};
use qalqan_analysis::forecast::{BacktestParams, Event, ForecastArea, Model, SeppParams, backtest, fit_sepp};
use qalqan_analysis::grid::{Grid, GridParams};
use qalqan_analysis::projection::Utm;
use qalqan_domain::Wgs84Point;

fn hours_since_epoch(date: NaiveDate, hour: u32) -> f64 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).expect("epoch");
    (date - epoch).num_days() as f64 * 24.0 + f64::from(hour)
}

/// (lat, lon, hours since epoch) of every usable row.
fn read_toronto(dir: &str) -> Vec<(f64, f64, f64)> {
    let mut out = Vec::new();
    for file in ["train.csv", "test.csv"] {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("read the Toronto CSV");
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split(',').collect();
            let (Some(date), Some(hour), Some(lat), Some(lon)) = (f.first(), f.get(1), f.get(12), f.get(13)) else { continue };
            let (Ok(date), Ok(hour), Ok(lat), Ok(lon)) = (
                NaiveDate::parse_from_str(&date[..10.min(date.len())], "%Y/%m/%d"),
                hour.parse::<u32>(),
                lat.parse::<f64>(),
                lon.parse::<f64>(),
            ) else {
                continue;
            };
            out.push((lat, lon, hours_since_epoch(date, hour)));
        }
    }
    out
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args
        .iter()
        .find(|a| !a.starts_with("--") && a.parse::<usize>().is_err())
        .cloned()
        .unwrap_or("/work/shared/data/toronto-mci".into());
    let backtest_days = args.iter().position(|a| a == "--backtest").and_then(|i| args.get(i + 1)).and_then(|d| d.parse::<usize>().ok());
    let synthetic = args.iter().any(|a| a == "--synthetic");
    let fit_at = hours_since_epoch(NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"), 0);

    let (events, bbox) = if synthetic {
        // Toronto-like: ~34,000 events a year over 25 km × 25 km.
        let sim = SeppSimulation {
            width_metres: 25_000.0,
            height_metres: 25_000.0,
            hours: 365.0 * 24.0,
            background_per_hour: 2.7,
            theta: 0.3,
            omega_per_hour: 1.0 / 72.0,
            sigma_metres: 100.0,
            precision_hours: 1.0,
        };
        let events: Vec<Event> = simulate_sepp(&sim, 2019)
            .expect("simulate")
            .into_iter()
            .map(|e| Event::new(e.x(), e.y(), e.t() + fit_at - sim.hours, e.precision()).expect("event"))
            .collect();
        println!("synthetic: {} events (θ {}, ω 1/{} h, σ {} m)", events.len(), sim.theta, 1.0 / sim.omega_per_hour, sim.sigma_metres);
        (events, [0.0, 0.0, sim.width_metres - 1e-6, sim.height_metres - 1e-6])
    } else {
        let rows = read_toronto(&dir);
        let points: Vec<Wgs84Point> = rows.iter().filter_map(|&(lat, lon, _)| Wgs84Point::new(lat, lon).ok()).collect();
        let utm = Utm::for_points(&points);
        let events: Vec<Event> = rows
            .iter()
            .filter_map(|&(lat, lon, t)| {
                let p = Wgs84Point::new(lat, lon).ok()?;
                let (x, y) = utm.forward(p);
                Event::new(x, y, t, 1.0).ok()
            })
            .collect();
        let bbox = events
            .iter()
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |b, e| [b[0].min(e.x()), b[1].min(e.y()), b[2].max(e.x()), b[3].max(e.y())]);
        let in_2019 = events.iter().filter(|e| e.t() >= fit_at - 365.0 * 24.0 && e.t() < fit_at).count();
        println!("Toronto: {} events, {} in 2019, UTM zone {}", events.len(), in_2019, utm.zone());
        (events, bbox)
    };
    let grid = Grid::covering(bbox, &GridParams::default()).expect("grid");
    // Eligible cells (a stand-in for the city's outline): those with an event before 2019 (synthetic: all).
    let mut eligible = vec![synthetic; grid.len()];
    for e in events.iter().filter(|e| e.t() < fit_at - 365.0 * 24.0) {
        if let Some(c) = grid.cell_of(e.x(), e.y()) {
            eligible[c] = true;
        }
    }
    let area = ForecastArea::new(&grid, Some(&eligible)).expect("area");
    println!("grid: {} × {} cells of 250 m, {} eligible", grid.cols(), grid.rows(), area.eligible_cells());

    let params = SeppParams::default();
    let clock = Instant::now();
    let fit = fit_sepp(&events, &area, fit_at, &params, None).expect("fit");
    let cold = clock.elapsed().as_secs_f64();
    println!(
        "cold fit: {cold:.2} s, {} events, {} pairs, {} iterations (converged: {}), θ = {:.4}, 1/ω = {:.1} h, σ = {:.1} m, background {:.1}/day, log-likelihood {:.1}",
        fit.events,
        fit.pairs,
        fit.iterations,
        fit.converged,
        fit.theta,
        1.0 / fit.omega_per_hour,
        fit.sigma_metres,
        fit.background_total_per_hour() * 24.0,
        fit.log_likelihood
    );
    let clock = Instant::now();
    let warm = fit_sepp(&events, &area, fit_at + 24.0, &params, Some(&fit)).expect("warm fit");
    println!(
        "warm refit one day later: {:.2} s, {} iterations, θ = {:.4}, 1/ω = {:.1} h, σ = {:.1} m",
        clock.elapsed().as_secs_f64(),
        warm.iterations,
        warm.theta,
        1.0 / warm.omega_per_hour,
        warm.sigma_metres
    );

    if let Some(days) = backtest_days {
        let last = fit_at - 24.0;
        let first = last - 24.0 * (days as f64 - 1.0);
        let mut models: Vec<_> = Model::all_default().iter().map(|m| m.forecaster()).collect();
        let result = backtest(&events, &area, &mut models, &BacktestParams::daily(first, last), &|done, total| {
            if done % 20 == 0 || done == total {
                eprint!("\r{done}/{total}");
            }
        })
        .expect("backtest");
        eprintln!();
        println!("{days} next-day forecasts (last {days} days of 2019): mean hit rate / PAI / PEI* at 1 %, 5 %, 10 % of the area; seconds");
        for s in &result.summaries {
            let cells: Vec<String> = s
                .coverages
                .iter()
                .map(|c| {
                    format!(
                        "{:.3} / {:5.2} / {:.3}",
                        c.mean_hit_rate.unwrap_or(f64::NAN),
                        c.mean_pai.unwrap_or(f64::NAN),
                        c.mean_pei_star.unwrap_or(f64::NAN)
                    )
                })
                .collect();
            println!("{:12} {}   {:.1} s", s.name, cells.join("   "), s.seconds);
        }
    }
}
