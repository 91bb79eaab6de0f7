//! `qalqan forecast …`: short-term hotspot forecasts and their backtests.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use qalqan_analysis::forecast::{BacktestParams, ForecastArea, backtest};
use qalqan_server::forecast::{ForecastInput, backtest_csv, backtest_json, local_midnight, model_named};
use qalqan_store::Store;

use crate::analyze::TableFormat;
use crate::filter::FilterArgs;

#[derive(Debug, Subcommand)]
pub enum ForecastCommand {
    /// Roll the forecast origin over a period, never using data after the origin, and score every
    /// model: hit rate, PAI and PEI* at 1 %, 5 % and 10 % of the area, and run time.
    Backtest(BacktestArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Step {
    Day,
    Week,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Horizon {
    /// The next 8 hours.
    Shift,
    Day,
    Week,
}

impl Horizon {
    fn hours(self) -> f64 {
        match self {
            Horizon::Shift => 8.0,
            Horizon::Day => 24.0,
            Horizon::Week => 168.0,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct BacktestArgs {
    /// Territory name.
    #[arg(long)]
    pub territory: String,
    /// First forecast origin: local midnight of this day (YYYY-MM-DD).
    #[arg(long)]
    pub from: NaiveDate,
    /// Last forecast origin (inclusive when the steps land on it).
    #[arg(long)]
    pub to: NaiveDate,
    /// Only this category (a Qalqan code such as burglary).
    #[arg(long)]
    pub category: Option<String>,
    /// Time between origins.
    #[arg(long, value_enum, default_value_t = Step::Week)]
    pub step: Step,
    /// Length of each forecast window [default: the step].
    #[arg(long, value_enum)]
    pub horizon: Option<Horizon>,
    /// Grid cell size in metres.
    #[arg(long, default_value_t = 200.0)]
    pub cell: f64,
    /// Models, comma-separated: naive, rolling-kde, prospective, sepp.
    #[arg(long, default_value = "naive,rolling-kde,prospective,sepp", value_delimiter = ',')]
    pub models: Vec<String>,
    /// Every origin, model and coverage as CSV.
    #[arg(long)]
    pub out: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

pub async fn run(store: &Store, cmd: ForecastCommand) -> anyhow::Result<()> {
    match cmd {
        ForecastCommand::Backtest(args) => run_backtest(store, args).await,
    }
}

async fn run_backtest(store: &Store, args: BacktestArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let models = args
        .models
        .iter()
        .map(|m| model_named(m.trim()).with_context(|| format!("--models: unknown model '{m}' (naive, rolling-kde, prospective, sepp)")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    if args.to < args.from {
        bail!("--to must not be before --from");
    }
    // Every incident up to the end of the last window; the models look back themselves.
    let horizon = args.horizon.unwrap_or(match args.step {
        Step::Day => Horizon::Day,
        Step::Week => Horizon::Week,
    });
    let last_day = args.to + chrono::TimeDelta::days(8);
    let filter = FilterArgs { territory: args.territory.clone(), from: None, to: Some(last_day), category: args.category.clone() };
    let (territory, f) = filter.resolve(store).await?;
    let records = store.incident_records(&f).await?;
    let first_origin = local_midnight(args.from);
    let input = ForecastInput::new(&territory, &records, args.cell, first_origin)?;
    let params = BacktestParams {
        step_hours: match args.step {
            Step::Day => 24.0,
            Step::Week => 168.0,
        },
        horizon_hours: horizon.hours(),
        ..BacktestParams::daily(first_origin, local_midnight(args.to))
    };
    let origin_list = params.origins()?;
    let origins = origin_list.len();
    // Incidents of the test windows anywhere, to say how many fell outside the scored area.
    let in_windows: u64 =
        origin_list.iter().map(|&o| input.events.iter().filter(|e| e.t() >= o && e.t() < o + params.horizon_hours).count() as u64).sum();
    let bar = indicatif::ProgressBar::new((origins * models.len()) as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("forecasts [{bar:30}] {pos}/{len} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let result = tokio::task::spawn_blocking({
        let bar = bar.clone();
        move || {
            let area = ForecastArea::new(&input.grid, Some(&input.eligible))?;
            let mut forecasters: Vec<_> = models.iter().map(|m| m.forecaster()).collect();
            let bt = backtest(&input.events, &area, &mut forecasters, &params, &|done, _| bar.set_position(done as u64))?;
            Ok::<_, qalqan_analysis::AnalysisError>((bt, input.events.len(), input.left_out, input.eligible.iter().filter(|&&e| e).count()))
        }
    })
    .await??;
    bar.finish_and_clear();
    let (bt, events, left_out, cells) = result;
    let outside = in_windows.saturating_sub(bt.summaries.first().map_or(0, |s| s.test_events));
    if let Some(path) = &args.out {
        crate::analyze::write_atomically(path, backtest_csv(&bt).as_bytes())?;
    }
    let out = match args.format {
        TableFormat::Json => {
            let mut v = backtest_json(&bt, true);
            v["test_events_outside_area"] = serde_json::json!(outside);
            v["area_cells"] = serde_json::json!(cells);
            v["left_out"] = serde_json::json!(left_out);
            serde_json::to_string_pretty(&v)? + "\n"
        }
        TableFormat::Csv => backtest_csv(&bt),
        TableFormat::Table => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "Backtest {}: {origins} origins {} … {} every {:?}, horizon {:?}, {} m cells ({cells} in the area), {events} incidents{} ({:.1} s)",
                territory.name,
                args.from,
                args.to,
                args.step,
                horizon,
                args.cell,
                if left_out > 0 { format!(", {left_out} left out (month or long windows)") } else { String::new() },
                started.elapsed().as_secs_f64()
            );
            let _ = writeln!(
                out,
                "\n{:<13} {:>8} {:>24} {:>24} {:>24} {:>9}",
                "model", "events", "hit rate 1/5/10 %", "PAI 1/5/10 %", "PEI* 1/5/10 %", "seconds"
            );
            let fmt = |v: Option<f64>, scale: f64| v.map_or("—".to_owned(), |v| format!("{:.2}", v * scale));
            for s in &bt.summaries {
                let three = |f: &dyn Fn(&qalqan_analysis::forecast::backtest::CoverageSummary) -> String| {
                    s.coverages.iter().map(f).collect::<Vec<_>>().join(" / ")
                };
                let _ = writeln!(
                    out,
                    "{:<13} {:>8} {:>24} {:>24} {:>24} {:>9.1}",
                    s.name,
                    s.test_events,
                    three(&|c| fmt(c.pooled_hit_rate, 100.0)),
                    three(&|c| fmt(c.mean_pai, 1.0)),
                    three(&|c| fmt(c.mean_pei_star, 1.0)),
                    s.seconds
                );
            }
            let _ = writeln!(
                out,
                "\nhit rate: % of the period's incidents in the top-scored cells (pooled over origins); PAI = hit rate ÷ area share;\nPEI* = hits ÷ the most any choice of as many cells could have had (means over origins with incidents)."
            );
            if outside > 0 {
                let _ = writeln!(
                    out,
                    "{outside} incidents of the test windows fell outside the scored area (cells {}) and are not counted.",
                    if territory.boundary.is_some() {
                        "whose centre is outside the boundary"
                    } else {
                        "without an incident before the first origin"
                    }
                );
            }
            if let Some(path) = &args.out {
                let _ = writeln!(out, "every origin: {}", path.display());
            }
            out
        }
    };
    crate::print_stdout(&out)
}
