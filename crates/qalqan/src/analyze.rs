//! `qalqan analyze …`: the analysis core over stored incidents.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{Datelike, NaiveDate};
use clap::{Subcommand, ValueEnum};
use qalqan_analysis::compstat::{CompStatRow, Comparison, compstat_table};
use qalqan_analysis::concentration::repeat_places;
use qalqan_analysis::grid::{CellShape, Contiguity, GridParams};
use qalqan_analysis::hotspot::{CellStatistics, HotspotMethod, HotspotParams, Neighbourhood, gi_class, hotspot_map};
use qalqan_analysis::kde::{Bandwidth, KdeParams, Kernel};
use qalqan_analysis::local::Permutations;
use qalqan_analysis::time_pattern::{HourWeekdayParams, TimeRecord, hour_weekday, monthly_series};
use qalqan_domain::Wgs84Point;
use qalqan_store::Store;
use serde_json::json;

use qalqan_server::hotspots::{CellSelection, hotspot_csv, hotspot_geojson};

use crate::filter::FilterArgs;

#[derive(Debug, Subcommand)]
pub enum AnalyzeCommand {
    /// Hotspot map: counts, Getis-Ord Gi* or Local Moran per grid cell, written as GeoJSON or CSV.
    Hotspots(HotspotArgs),
    /// When: hour × weekday matrix (windows spread aoristically) and monthly series.
    Time {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// Repeat places: places ranked by incidents, share at the top 1/5/10 %, Lorenz curve, Gini.
    Places {
        #[command(flatten)]
        filter: FilterArgs,
        /// Places listed.
        #[arg(long, default_value_t = 20)]
        top: usize,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// Near repeats: the Knox test of the Near Repeat Calculator (pairs by distance and days apart
    /// against permutations of the dates), on stored incidents or on a Calculator input file.
    NearRepeat(NearRepeatArgs),
    /// Risk terrain: how much each nearby condition (places of interest from the OpenStreetMap
    /// import — bars, transit stops, schools, parking, … — and the registers: cameras, posts,
    /// facilities) raises the risk of a cell, by penalised regression with cross-validation
    /// (RTMDx-style), and the composite risk map.
    RiskTerrain(RiskTerrainArgs),
    /// Import (or replace) a point layer — CSV with lat, lon or GeoJSON points — to use as a
    /// risk-terrain factor named layer_NAME; all or nothing.
    Layer {
        file: std::path::PathBuf,
        #[arg(long)]
        territory: String,
        /// Letters, digits, _ or -.
        #[arg(long)]
        name: String,
    },
    /// CompStat: week-to-date, 28-day and year-to-date counts against a year earlier, with an exact test.
    Compstat {
        /// Territory name.
        #[arg(long)]
        territory: String,
        /// Report date, YYYY-MM-DD (local, inclusive).
        #[arg(long)]
        date: NaiveDate,
        /// Only this category.
        #[arg(long)]
        category: Option<String>,
        /// Significance level of the change flag.
        #[arg(long, default_value_t = 0.05)]
        alpha: f64,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
}

#[derive(Debug, clap::Args)]
pub struct NearRepeatArgs {
    /// Territory name (stored incidents); or give --input instead.
    #[arg(long, conflicts_with = "input", required_unless_present = "input")]
    pub territory: Option<String>,
    /// First local day, YYYY-MM-DD (inclusive).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last local day, YYYY-MM-DD (inclusive).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Only this category (a Qalqan code such as burglary).
    #[arg(long)]
    pub category: Option<String>,
    /// A Near Repeat Calculator input file instead of stored incidents: lines `x,y,date`
    /// (projected metres, YYYY-MM-DD or MM/DD/YYYY), no header.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Width of a spatial band in metres.
    #[arg(long, default_value_t = 100.0)]
    pub spatial_bandwidth: f64,
    /// Spatial bands (besides "same location" and "beyond").
    #[arg(long, default_value_t = 3)]
    pub spatial_bands: usize,
    /// Width of a temporal band in days (below 1: placed by hour, day-only incidents left out).
    #[arg(long, default_value_t = 7.0)]
    pub temporal_bandwidth: f64,
    /// Temporal bands (besides "beyond").
    #[arg(long, default_value_t = 3)]
    pub temporal_bands: usize,
    #[arg(long, value_enum, default_value_t = MetricArg::Manhattan)]
    pub metric: MetricArg,
    /// Coordinate arithmetic: single reproduces the Near Repeat Calculator 1.3 to the pair.
    #[arg(long, value_enum, default_value_t = PrecisionArg::Double)]
    pub precision: PrecisionArg,
    /// Monte Carlo permutations of the dates.
    #[arg(long, default_value_t = 999)]
    pub permutations: u32,
    /// Seed of the permutations (same seed, same result).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    pub format: TableFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricArg {
    Manhattan,
    Euclidean,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PrecisionArg {
    Double,
    Single,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TableFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Method {
    /// Counts and density per cell.
    Grid,
    /// Getis-Ord Gi* hot and cold spots.
    Gi,
    /// Local Moran's I clusters and outliers.
    Lisa,
    /// Kernel density surface (square cells).
    Kde,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KernelArg {
    Gaussian,
    Quartic,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Shape {
    Square,
    Hex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum OutputFormat {
    Geojson,
    Csv,
}

#[derive(Debug, clap::Args)]
pub struct HotspotArgs {
    #[command(flatten)]
    pub filter: FilterArgs,
    /// Statistic per cell.
    #[arg(long, value_enum, default_value_t = Method::Grid)]
    pub method: Method,
    /// Cell size in metres (hexagons: side of the square of equal area).
    #[arg(long, default_value_t = 250.0)]
    pub cell: f64,
    /// Cell shape.
    #[arg(long, value_enum, default_value_t = Shape::Square)]
    pub shape: Shape,
    /// Neighbours within this many metres (centre to centre) instead of touching cells.
    #[arg(long)]
    pub distance: Option<f64>,
    /// KDE kernel.
    #[arg(long, value_enum, default_value_t = KernelArg::Gaussian)]
    pub kernel: KernelArg,
    /// KDE bandwidth: scott, silverman, or metres (e.g. 300).
    #[arg(long, default_value = "scott")]
    pub bandwidth: String,
    /// Conditional permutations for pseudo p-values.
    #[arg(long, default_value_t = 999)]
    pub permutations: u32,
    /// Seed of the permutations (same seed, same result).
    #[arg(long, default_value_t = 12345)]
    pub seed: u64,
    /// Output file.
    #[arg(long)]
    pub out: PathBuf,
    /// Output format [default: from the extension of --out, else geojson].
    #[arg(long, value_enum)]
    pub format: Option<OutputFormat>,
}

pub async fn run(store: &Store, cmd: AnalyzeCommand, actor: &qalqan_domain::audit::Actor) -> anyhow::Result<()> {
    match cmd {
        AnalyzeCommand::NearRepeat(args) => near_repeat(Some(store), args).await,
        AnalyzeCommand::Hotspots(args) => hotspots(store, args).await,
        AnalyzeCommand::Time { filter, format } => time(store, filter, format).await,
        AnalyzeCommand::Places { filter, top, format } => places(store, filter, top, format).await,
        AnalyzeCommand::RiskTerrain(args) => risk_terrain(store, args).await,
        AnalyzeCommand::Layer { file, territory, name } => {
            let t = store.territory(&qalqan_domain::TerritoryName::parse(&territory)?).await?;
            let parsed = qalqan_ingest::layers::read_layer(&file)?;
            if let Some(e) = parsed.errors.first() {
                anyhow::bail!("{} invalid row(s), nothing imported; first: {e}", parsed.errors.len());
            }
            let points: Vec<Wgs84Point> = parsed.rows.iter().map(|(_, p)| p.location).collect();
            let n = store.replace_layer(t.id, &name, &points, actor).await?;
            println!("layer {name} of {}: {n} points (risk-terrain factor layer_{name})", t.name);
            Ok(())
        }
        AnalyzeCommand::Compstat { territory, date, category, alpha, format } => {
            let filter = FilterArgs { territory, from: NaiveDate::from_ymd_opt(date.year() - 1, 1, 1), to: Some(date), category };
            compstat(store, filter, date, alpha, format).await
        }
    }
}

/// `qalqan analyze risk-terrain`.
#[derive(Debug, clap::Args)]
pub struct RiskTerrainArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// Cell side, metres.
    #[arg(long, default_value_t = 100.0)]
    cell: f64,
    /// Only these factors (comma-separated names, e.g. bar,transit_stop,school).
    #[arg(long, value_delimiter = ',')]
    factors: Vec<String>,
    /// Bandwidths tried for every factor, metres (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [100.0, 200.0, 300.0, 400.0])]
    bandwidths: Vec<f64>,
    /// Regression family of the final model.
    #[arg(long, value_enum, default_value_t = FamilyArg::NegativeBinomial)]
    family: FamilyArg,
    /// Seed of the cross-validation folds.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the risk map (cells with their relative risk score and count) as GeoJSON.
    #[arg(long)]
    out: Option<std::path::PathBuf>,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    format: TableFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FamilyArg {
    NegativeBinomial,
    Poisson,
}

async fn risk_terrain(store: &Store, args: RiskTerrainArgs) -> anyhow::Result<()> {
    use qalqan_analysis::risk_terrain::{Family, RtmParams};
    use qalqan_server::risk_terrain::{StudyParams, conditions, risk_terrain_json};
    let (territory, filter) = args.filter.resolve(store).await?;
    let records = store.incident_records(&filter).await?;
    let sample: Vec<Wgs84Point> = records.iter().take(1000).map(|r| r.location).collect();
    let cond = conditions(store, &territory, &sample).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let study = StudyParams { cell_m: args.cell, factors: args.factors.clone(), ..StudyParams::default() };
    let model = RtmParams {
        bandwidths: args.bandwidths.clone(),
        family: match args.family {
            FamilyArg::NegativeBinomial => Family::NegativeBinomial,
            FamilyArg::Poisson => Family::Poisson,
        },
        seed: args.seed,
        ..RtmParams::default()
    };
    let v = tokio::task::spawn_blocking(move || risk_terrain_json(&territory, &cond, &records, &study, &model))
        .await?
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    if let Some(path) = &args.out {
        std::fs::write(path, serde_json::to_vec(&v["map"])?).with_context(|| format!("writing {}", path.display()))?;
    }
    let out = match args.format {
        TableFormat::Json => serde_json::to_string_pretty(&v)? + "\n",
        TableFormat::Csv => {
            let mut out = String::from("factor,operationalisation,bandwidth_m,relative_risk,low,high,p_value,cells\n");
            for f in v["factors"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{}",
                    f["factor"].as_str().unwrap_or(""),
                    f["operationalisation"].as_str().unwrap_or(""),
                    f["bandwidth_m"],
                    f["relative_risk"],
                    f["low"],
                    f["high"],
                    f["p_value"],
                    f["cells"]
                );
            }
            out
        }
        TableFormat::Table => {
            let mut out = String::new();
            let _ = writeln!(
                out,
                "{}: {} incidents in {} cells of {} m; {} variables tested; {} model, deviance explained {:.1} %",
                v["territory"].as_str().unwrap_or(""),
                v["incidents"],
                v["cells"],
                v["cell_m"],
                v["variables"],
                v["family"].as_str().unwrap_or(""),
                v["deviance_explained"].as_f64().unwrap_or(0.0) * 100.0
            );
            let _ = writeln!(
                out,
                "{:<22} {:<10} {:>6}  {:>8}  {:>17}  {:>8}  {:>6}",
                "factor", "influence", "within", "RRV", "interval", "p", "cells"
            );
            for f in v["factors"].as_array().into_iter().flatten() {
                let _ = writeln!(
                    out,
                    "{:<22} {:<10} {:>4.0} m  {:>8.3}  {:>7.3} – {:<7.3}  {:>8.4}  {:>6}",
                    f["factor"].as_str().unwrap_or(""),
                    f["operationalisation"].as_str().unwrap_or(""),
                    f["bandwidth_m"].as_f64().unwrap_or(0.0),
                    f["relative_risk"].as_f64().unwrap_or(0.0),
                    f["low"].as_f64().unwrap_or(0.0),
                    f["high"].as_f64().unwrap_or(0.0),
                    f["p_value"].as_f64().unwrap_or(1.0),
                    f["cells"]
                );
            }
            if v["factors"].as_array().is_none_or(|a| a.is_empty()) {
                out.push_str("no condition raises or lowers the risk beyond chance\n");
            }
            out
        }
    };
    crate::print_stdout(&out)
}

async fn places(store: &Store, args: FilterArgs, top: usize, format: TableFormat) -> anyhow::Result<()> {
    let (territory, filter) = args.resolve(store).await?;
    let records = store.incident_records(&filter).await?;
    let points: Vec<Wgs84Point> = records.iter().map(|r| r.location).collect();
    let c = repeat_places(&points);
    let mut out = String::new();
    match format {
        TableFormat::Json => {
            let v = qalqan_server::patterns::places_json(&territory, json!(args.describe()), &records, top);
            out = serde_json::to_string_pretty(&v)? + "\n";
        }
        TableFormat::Csv => {
            let _ = writeln!(out, "rank,lat,lon,incidents");
            for (i, p) in c.ranked.iter().enumerate() {
                let _ = writeln!(out, "{},{},{},{}", i + 1, p.location.lat(), p.location.lon(), p.incidents);
            }
        }
        TableFormat::Table => {
            let _ = writeln!(out, "{}: {} incidents at {} places ({})", territory.name, c.incidents, c.ranked.len(), args.describe());
            for (p, s) in &c.top_shares {
                let _ = writeln!(out, "  top {:>3.0} % of places hold {:>5.1} % of incidents", p * 100.0, s * 100.0);
            }
            let _ = writeln!(out, "  Gini {:.3} (places with at least one incident)", c.gini);
            let _ = writeln!(out, "\n{:>4}  {:>11} {:>12} {:>9}", "rank", "lat", "lon", "incidents");
            for (i, p) in c.ranked.iter().take(top).enumerate() {
                let _ = writeln!(out, "{:>4}  {:>11.6} {:>12.6} {:>9}", i + 1, p.location.lat(), p.location.lon(), p.incidents);
            }
        }
    }
    crate::print_stdout(&out)
}

use qalqan_server::patterns::WEEKDAYS;

async fn time(store: &Store, args: FilterArgs, format: TableFormat) -> anyhow::Result<()> {
    let (territory, filter) = args.resolve(store).await?;
    let stored = store.incident_records(&filter).await?;
    let records: Vec<TimeRecord> = stored.iter().map(|r| TimeRecord { start: r.start, end: r.end, precision: r.precision }).collect();
    let tz = territory.time_zone;
    let matrix = hour_weekday(&records, tz, &HourWeekdayParams::default());
    let months = monthly_series(&records, tz);
    let mut out = String::new();
    match format {
        TableFormat::Json => {
            out = serde_json::to_string_pretty(&qalqan_server::patterns::time_json(&territory, json!(args.describe()), &stored))? + "\n";
        }
        TableFormat::Csv => {
            let _ = writeln!(out, "weekday,{},hour_unknown", (0..24).map(|h| format!("h{h:02}")).collect::<Vec<_>>().join(","));
            for (d, row) in matrix.cells.iter().enumerate() {
                let cells: Vec<String> = row.iter().map(|v| format!("{v:.3}")).collect();
                let _ = writeln!(out, "{},{},{}", WEEKDAYS[d], cells.join(","), matrix.hour_unknown[d]);
            }
        }
        TableFormat::Table => {
            let _ = writeln!(out, "{}: {} incidents ({}; local time {})", territory.name, records.len(), args.describe(), tz.name());
            let _ = writeln!(out, "\nhour × weekday (windows spread over their hours; day-only records under '?')");
            let _ = writeln!(out, "     {} {:>6}", (0..24).map(|h| format!("{h:>5}")).collect::<String>(), "?");
            for (d, row) in matrix.cells.iter().enumerate() {
                let cells: String = row.iter().map(|v| format!("{:>5.0}", v)).collect();
                let _ = writeln!(out, "{:<4} {cells} {:>6.0}", WEEKDAYS[d], matrix.hour_unknown[d]);
            }
            if matrix.not_placed > 0 {
                let _ = writeln!(out, "not placed by hour or weekday (month precision or windows over 72 h): {}", matrix.not_placed);
            }
            let _ = writeln!(out, "\nby month");
            for (m, n) in &months {
                let _ = writeln!(out, "  {}  {:>8}", qalqan_server::dto::month_label(*m), n);
            }
        }
    }
    crate::print_stdout(&out)
}

async fn compstat(store: &Store, args: FilterArgs, date: NaiveDate, alpha: f64, format: TableFormat) -> anyhow::Result<()> {
    let (territory, filter) = args.resolve(store).await?;
    let incidents = qalqan_server::patterns::dated_incidents(&territory, &store.incident_records(&filter).await?);
    let table = compstat_table(&incidents, date);
    let label =
        |r: &CompStatRow| (r.district.clone().unwrap_or_else(|| "(all)".into()), r.category.clone().unwrap_or_else(|| "(all)".into()));
    let mut out = String::new();
    match format {
        TableFormat::Json => {
            out = serde_json::to_string_pretty(&qalqan_server::patterns::compstat_json(&territory, &table, date, alpha))? + "\n";
        }
        TableFormat::Csv => {
            let _ = writeln!(
                out,
                "district,category,wtd,wtd_prev,wtd_change_pct,wtd_p,d28,d28_prev,d28_change_pct,d28_p,ytd,ytd_prev,ytd_change_pct,ytd_p"
            );
            for r in &table {
                let (d, c) = label(r);
                let f = |c: &Comparison| {
                    format!(
                        "{},{},{},{:.6}",
                        c.current,
                        c.previous,
                        c.change_percent.map_or(String::new(), |v| format!("{v:.1}")),
                        c.p_value
                    )
                };
                let _ = writeln!(
                    out,
                    "\"{}\",{},{},{},{}",
                    d.replace('"', "\"\""),
                    c,
                    f(&r.week_to_date),
                    f(&r.last_28_days),
                    f(&r.year_to_date)
                );
            }
        }
        TableFormat::Table => {
            let _ = writeln!(out, "CompStat {} as of {} (change flagged * when p < {alpha})", territory.name, date);
            let _ = writeln!(out, "{:<28} {:<14} {:>22} {:>22} {:>22}", "district", "category", "week to date", "28 days", "year to date");
            let cell = |c: &Comparison| {
                let change = match c.change_percent {
                    Some(v) => format!("{v:+.0}%"),
                    None if c.current == 0 => "—".to_owned(),
                    None => "new".to_owned(),
                };
                format!("{} → {} {}{}", c.previous, c.current, change, if c.significant(alpha) { "*" } else { " " })
            };
            for r in &table {
                let (d, c) = label(r);
                let _ = writeln!(
                    out,
                    "{:<28} {:<14} {:>22} {:>22} {:>22}",
                    d,
                    c,
                    cell(&r.week_to_date),
                    cell(&r.last_28_days),
                    cell(&r.year_to_date)
                );
            }
        }
    }
    crate::print_stdout(&out)
}

async fn hotspots(store: &Store, args: HotspotArgs) -> anyhow::Result<()> {
    let started = Instant::now();
    let (territory, filter) = args.filter.resolve(store).await?;
    let records = store.incident_records(&filter).await?;
    let points: Vec<Wgs84Point> = records.iter().map(|r| r.location).collect();
    let params = HotspotParams {
        grid: GridParams {
            cell_metres: args.cell,
            shape: match args.shape {
                Shape::Square => CellShape::Square,
                Shape::Hex => CellShape::Hexagon,
            },
            ..GridParams::default()
        },
        method: match args.method {
            Method::Grid => HotspotMethod::Counts,
            Method::Gi => HotspotMethod::GiStar,
            Method::Lisa => HotspotMethod::LocalMoran,
            Method::Kde => HotspotMethod::Kde(KdeParams {
                kernel: match args.kernel {
                    KernelArg::Gaussian => Kernel::Gaussian,
                    KernelArg::Quartic => Kernel::Quartic,
                },
                bandwidth: match args.bandwidth.as_str() {
                    "scott" => Bandwidth::Scott,
                    "silverman" => Bandwidth::Silverman,
                    metres => Bandwidth::Metres(
                        metres.parse().map_err(|_| anyhow::anyhow!("--bandwidth must be scott, silverman or metres, got '{metres}'"))?,
                    ),
                },
            }),
        },
        neighbourhood: args.distance.map_or(Neighbourhood::Contiguity(Contiguity::Queen), Neighbourhood::DistanceBand),
        permutations: Permutations { count: args.permutations, seed: args.seed },
    };
    let map = tokio::task::spawn_blocking({
        let boundary = territory.boundary.clone();
        move || hotspot_map(&points, boundary.as_ref(), &params)
    })
    .await??;
    let format = args.format.unwrap_or_else(|| match args.out.extension().and_then(|e| e.to_str()) {
        Some("csv") => OutputFormat::Csv,
        _ => OutputFormat::Geojson,
    });
    let metadata = json!({
        "territory": territory.name.as_str(),
        "filter": args.filter.describe(),
        "incidents": records.len(),
        "method": format!("{:?}", args.method).to_lowercase(),
        "cell_metres": args.cell,
        "shape": format!("{:?}", args.shape).to_lowercase(),
        "neighbourhood": args.distance.map_or("queen contiguity".to_owned(), |d| format!("distance band {d} m")),
        "permutations": args.permutations,
        "seed": args.seed,
        "projection": format!("EPSG:{}", map.projection.epsg()),
        "qalqan_version": env!("CARGO_PKG_VERSION"),
    });
    let text = match format {
        OutputFormat::Geojson => hotspot_geojson(&map, metadata, CellSelection::All).to_string(),
        OutputFormat::Csv => hotspot_csv(&map),
    };
    write_atomically(&args.out, text.as_bytes())?;
    println!(
        "{}: {} incidents on {} cells of {} m → {} ({:.2} s)",
        territory.name,
        records.len(),
        map.cells.len(),
        args.cell,
        args.out.display(),
        started.elapsed().as_secs_f64()
    );
    match &map.statistics {
        CellStatistics::Counts => {}
        CellStatistics::Density { bandwidth, density_km2 } => {
            let peak = density_km2.iter().cloned().fold(0.0, f64::max);
            println!("bandwidth {bandwidth:.0} m, peak density {peak:.1} incidents/km²");
        }
        CellStatistics::GiStar { gi, q } => {
            let classes: Vec<i8> = (0..map.cells.len()).map(|k| gi_class(gi.z[k], q[k])).collect();
            let hot = classes.iter().filter(|&&c| c > 0).count();
            let cold = classes.iter().filter(|&&c| c < 0).count();
            println!("hot spots: {hot} cells, cold spots: {cold} cells (90 % or more after false-discovery-rate correction)");
        }
        CellStatistics::LocalMoran { lisa, q, global } => {
            let p_sim = lisa.p_sim.as_deref().unwrap_or(&[]);
            let (mut raw, mut fdr) = ([0usize; 4], [0usize; 4]);
            for (k, (quadrant, q)) in lisa.quadrant.iter().zip(q).enumerate() {
                let quadrant = usize::from(quadrant.esda_code() - 1);
                if p_sim.get(k).is_some_and(|&p| p <= 0.05) {
                    raw[quadrant] += 1;
                }
                if *q <= 0.05 {
                    fdr[quadrant] += 1;
                }
            }
            {
                let m = global;
                println!(
                    "global Moran's I {:.4} (expected {:.4}, z {:.2}, p {:.2e} under randomisation)",
                    m.i, m.expected, m.z_random, m.p_random
                );
            }
            println!("clusters at pseudo p ≤ 0.05: HH {} · LH {} · LL {} · HL {}", raw[0], raw[1], raw[2], raw[3]);
            println!("after false-discovery-rate correction (q ≤ 0.05): HH {} · LH {} · LL {} · HL {}", fdr[0], fdr[1], fdr[2], fdr[3]);
            let floor = 1.0 / f64::from(args.permutations + 1);
            if fdr.iter().sum::<usize>() == 0 && floor * map.cells.len() as f64 > 0.05 {
                println!(
                    "note: with {} permutations no p is below {floor:.4}; across {} cells that is too coarse for the correction: try --permutations 9999",
                    args.permutations,
                    map.cells.len()
                );
            }
        }
    }
    Ok(())
}

pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path.as_os_str().is_empty() {
        bail!("--out needs a file name");
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))
}

/// `qalqan analyze near-repeat`; `store` is needed unless the events come from `--input`.
pub async fn near_repeat(store: Option<&Store>, args: NearRepeatArgs) -> anyhow::Result<()> {
    use qalqan_analysis::near_repeat::{CoordinatePrecision, DistanceMetric, KnoxParams, knox_table_with_progress};
    let started = Instant::now();
    let params = KnoxParams {
        spatial_bandwidth: args.spatial_bandwidth,
        spatial_bands: args.spatial_bands,
        temporal_bandwidth: args.temporal_bandwidth,
        temporal_bands: args.temporal_bands,
        metric: match args.metric {
            MetricArg::Manhattan => DistanceMetric::Manhattan,
            MetricArg::Euclidean => DistanceMetric::Euclidean,
        },
        precision: match args.precision {
            PrecisionArg::Double => CoordinatePrecision::Double,
            PrecisionArg::Single => CoordinatePrecision::Single,
        },
        permutations: args.permutations,
        seed: args.seed,
        ..KnoxParams::default()
    };
    let (source, events, left_out) = match (&args.input, &args.territory, store) {
        (Some(path), _, _) => (path.display().to_string(), read_calculator_input(path)?, 0),
        (None, Some(territory), Some(store)) => {
            let filter = FilterArgs { territory: territory.clone(), from: args.from, to: args.to, category: args.category.clone() };
            let (territory, f) = filter.resolve(store).await?;
            let records = store.incident_records(&f).await?;
            let (events, left_out) = if params.temporal_bandwidth < 1.0 {
                qalqan_server::near_repeat::knox_events_hourly(&territory, &records)
            } else {
                qalqan_server::near_repeat::knox_events(&territory, &records)
            };
            (format!("{} ({})", territory.name, filter.describe()), events, left_out)
        }
        _ => bail!("give --territory or --input"),
    };
    let bar = indicatif::ProgressBar::new(u64::from(params.permutations));
    bar.set_style(
        indicatif::ProgressStyle::with_template("permutations [{bar:30}] {pos}/{len} eta {eta}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let table = tokio::task::spawn_blocking({
        let bar = bar.clone();
        move || knox_table_with_progress(&events, &params, &|done, _| bar.set_position(done as u64))
    })
    .await??;
    bar.finish_and_clear();
    let out = match args.format {
        TableFormat::Json => serde_json::to_string_pretty(&qalqan_server::near_repeat::knox_json(&table, left_out))? + "\n",
        TableFormat::Csv => qalqan_server::near_repeat::knox_csv(&table),
        TableFormat::Table => {
            use qalqan_server::near_repeat::{space_label, time_label};
            let mut out = String::new();
            let _ = writeln!(
                out,
                "Near repeats: {source}: {} events, {} pairs ({:.2} s)",
                table.events,
                table.pairs,
                started.elapsed().as_secs_f64()
            );
            if left_out > 0 {
                let _ = writeln!(out, "left out: {left_out} incidents whose day (or hour) is not known");
            }
            let _ = writeln!(out, "\nKnox ratio (observed ÷ mean expected), p-value; * significant and meaningful");
            let _ = write!(out, "{:<16}", "");
            for t in &table.temporal {
                let _ = write!(out, "{:>22}", time_label(t));
            }
            let _ = writeln!(out);
            for (r, s) in table.spatial.iter().enumerate() {
                let _ = write!(out, "{:<16}", space_label(s));
                for c in 0..table.temporal.len() {
                    let cell = table.cell(r, c);
                    let ratio = cell.knox_ratio.map_or("—".to_owned(), |v| format!("{v:.2}"));
                    let mark = if table.is_notable(r, c) { "*" } else { " " };
                    let _ = write!(out, "{:>22}", format!("{ratio} p={:.3}{mark}", cell.p_value));
                }
                let _ = writeln!(out);
            }
            let _ = writeln!(out, "\nObserved pairs");
            for (r, s) in table.spatial.iter().enumerate() {
                let _ = write!(out, "{:<16}", space_label(s));
                for c in 0..table.temporal.len() {
                    let _ = write!(out, "{:>22}", table.cell(r, c).observed);
                }
                let _ = writeln!(out);
            }
            let _ = writeln!(out, "\n{}", table.describe());
            out
        }
    };
    crate::print_stdout(&out)
}

/// Reads a Near Repeat Calculator input: `x,y,date` per line; errors name the line and field.
fn read_calculator_input(path: &Path) -> anyhow::Result<Vec<qalqan_analysis::near_repeat::SpaceTimeEvent>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut events = Vec::new();
    for (k, line) in text.lines().enumerate() {
        let line_no = k + 1;
        if line.trim().is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() < 3 {
            bail!("{}: line {line_no}: expected x,y,date, got {} field(s)", path.display(), fields.len());
        }
        let number = |i: usize, name: &str| -> anyhow::Result<f64> {
            fields[i]
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .with_context(|| format!("{}: line {line_no}: field {name}: '{}' is not a number", path.display(), fields[i]))
        };
        let (x, y) = (number(0, "x")?, number(1, "y")?);
        let date = NaiveDate::parse_from_str(fields[2], "%Y-%m-%d")
            .or_else(|_| NaiveDate::parse_from_str(fields[2], "%m/%d/%Y"))
            .with_context(|| format!("{}: line {line_no}: field date: '{}' is not YYYY-MM-DD or MM/DD/YYYY", path.display(), fields[2]))?;
        events.push(qalqan_analysis::near_repeat::SpaceTimeEvent { x, y, day: f64::from(date.num_days_from_ce()) });
    }
    Ok(events)
}
