//! `qalqan plan …`: what cameras and posts cover, and where new ones would cover the most.

use std::fmt::Write as _;

use clap::Subcommand;
use qalqan_store::Store;

use crate::analyze::TableFormat;
use crate::filter::FilterArgs;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Where k new cameras would see the most incidents (maximal covering, keeping the working
    /// cameras): one plan per budget with its objective, bound, gap and time.
    Cameras {
        #[command(flatten)]
        filter: FilterArgs,
        /// Budgets, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "10,20,50")]
        k: Vec<usize>,
        /// What a new camera covers, metres.
        #[arg(long, default_value_t = 50.0)]
        range: f64,
        /// exact (proves optimality within the time limit, else reports the gap) or heuristic.
        #[arg(long, value_enum, default_value_t = MethodArg::Exact)]
        method: MethodArg,
        /// Seconds per budget.
        #[arg(long, default_value_t = 30)]
        time_limit: u64,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// The street network (from `qalqan import osm`): length by class, connectivity, candidate
    /// intersections, places of interest, and the streets with the most incidents.
    Streets {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// What the working cameras cover: incidents inside a view sector (overall, per district,
    /// per owner, per camera) and Gi* hot-spot cells.
    CameraCoverage {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MethodArg {
    Exact,
    Heuristic,
}

/// The territory's street graph and its projection, from the kept extract (if any).
async fn street_graph(
    store: &Store,
    territory: &qalqan_domain::Territory,
) -> anyhow::Result<Option<(qalqan_planning::street::StreetGraph, qalqan_analysis::projection::Utm)>> {
    let Some(source) = store.street_source(territory.id).await? else { return Ok(None) };
    let territory = territory.clone();
    Ok(Some(
        tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let extract = read_kept_extract(&source)?;
            let utm = qalqan_server::streets::street_projection(&territory, &extract);
            Ok((qalqan_server::streets::street_graph(&extract, &utm)?, utm))
        })
        .await??,
    ))
}

/// Parses a kept extract again (through a private temporary file: the reader is file-based).
fn read_kept_extract(source: &qalqan_store::StreetSource) -> anyhow::Result<qalqan_ingest::osm::OsmExtract> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join(&source.file_name);
    std::fs::write(&path, &source.bytes)?;
    Ok(qalqan_ingest::osm::read_osm_extract(&path)?)
}

pub async fn run(store: &Store, cmd: PlanCommand) -> anyhow::Result<()> {
    match cmd {
        PlanCommand::Cameras { filter, k, range, method, time_limit, format } => {
            let (territory, f) = filter.resolve(store).await?;
            let cameras = store.cameras(territory.id).await?;
            let records = store.incident_records(&f).await?;
            let streets = street_graph(store, &territory).await?;
            let params = qalqan_server::placement::CameraPlanParams {
                budgets: k,
                range_m: range,
                method: match method {
                    MethodArg::Exact => qalqan_planning::location::Method::Exact,
                    MethodArg::Heuristic => qalqan_planning::location::Method::Heuristic,
                },
                time_limit: std::time::Duration::from_secs(time_limit.max(1)),
            };
            let name = territory.name.to_string();
            let v = tokio::task::spawn_blocking(move || {
                qalqan_server::placement::camera_plan(&territory, &records, &cameras, streets.as_ref().map(|(g, u)| (g, u)), &params)
            })
            .await??;
            let out = match format {
                TableFormat::Json => serde_json::to_string_pretty(&v)? + "\n",
                TableFormat::Csv => {
                    let mut out = String::from("budget,site,lat,lon,incidents\n");
                    for p in v["plans"].as_array().into_iter().flatten() {
                        for (i, s) in p["sites"].as_array().into_iter().flatten().enumerate() {
                            let _ = writeln!(out, "{},{},{},{},{}", p["budget"], i + 1, s["lat"], s["lon"], s["incidents"]);
                        }
                    }
                    out
                }
                TableFormat::Table => {
                    let pct = |v: &serde_json::Value| v.as_f64().map_or("—".to_owned(), |s| format!("{:.1} %", s * 100.0));
                    let mut out = String::new();
                    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
                    let _ = writeln!(
                        out,
                        "{name} ({}): {:.0} incidents at {} places; {} working cameras already see {:.0} ({}); {} candidate sites ({}); a new camera covers {} m",
                        filter.describe(),
                        num(&v["incidents"]),
                        v["demand_places"],
                        v["existing"]["working_cameras"],
                        num(&v["existing"]["incidents_covered"]).abs(),
                        pct(&v["existing"]["share"]),
                        v["candidates"]["count"],
                        v["candidates"]["source"].as_str().unwrap_or("").replace('_', " "),
                        num(&v["range_m"])
                    );
                    let _ = writeln!(
                        out,
                        "\n{:>6} {:>14} {:>10} {:>10} {:>10} {:>9} {:>9}",
                        "budget", "new incidents", "new share", "total", "gap", "status", "seconds"
                    );
                    for p in v["plans"].as_array().into_iter().flatten() {
                        let gap = p["gap"].as_f64().map_or("—".to_owned(), |g| format!("{:.2} %", g * 100.0));
                        let _ = writeln!(
                            out,
                            "{:>6.0} {:>14.0} {:>10} {:>10} {:>10} {:>9} {:>9.3}",
                            num(&p["budget"]),
                            num(&p["new_incidents_covered"]),
                            pct(&p["new_share"]),
                            pct(&p["total_share"]),
                            gap,
                            p["status"].as_str().unwrap_or(""),
                            num(&p["seconds"])
                        );
                    }
                    out
                }
            };
            crate::print_stdout(&out)
        }
        PlanCommand::Streets { filter, format } => {
            let (territory, f) = filter.resolve(store).await?;
            let Some(source) = store.street_source(territory.id).await? else {
                anyhow::bail!(
                    "{} has no street network yet: run `qalqan import osm FILE.osm.pbf --territory {}`",
                    territory.name,
                    territory.name
                );
            };
            let records = store.incident_records(&f).await?;
            let name = territory.name.to_string();
            let v = tokio::task::spawn_blocking(move || -> anyhow::Result<serde_json::Value> {
                let extract = read_kept_extract(&source)?;
                Ok(qalqan_server::streets::streets_report(&territory, &extract, &records)?)
            })
            .await??;
            let out = match format {
                TableFormat::Json => serde_json::to_string_pretty(&v)? + "\n",
                TableFormat::Csv => {
                    let mut out = String::from("street,incidents,km,per_km\n");
                    for s in v["streets"].as_array().into_iter().flatten() {
                        let _ = writeln!(
                            out,
                            "\"{}\",{},{},{}",
                            s["street"].as_str().unwrap_or("").replace('"', "\"\""),
                            s["incidents"],
                            s["km"],
                            s["per_km"]
                        );
                    }
                    out
                }
                TableFormat::Table => {
                    let mut out = String::new();
                    let _ = writeln!(
                        out,
                        "{name}: {} street segments, {} km, {} candidate intersections; largest connected part: {} of walkable, {} of drivable nodes",
                        v["segments"],
                        v["km"],
                        v["candidate_intersections"],
                        v["largest_component_share"]["walk"],
                        v["largest_component_share"]["drive"]
                    );
                    for c in v["km_by_class"].as_array().into_iter().flatten().take(8) {
                        let _ = writeln!(out, "  {:<16} {:>8} km", c["class"].as_str().unwrap_or(""), c["km"]);
                    }
                    let places: Vec<String> = v["places"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|p| format!("{} {}", p["count"], p["category"].as_str().unwrap_or("")))
                        .collect();
                    let _ = writeln!(out, "places of interest: {}", places.join(", "));
                    let _ = writeln!(
                        out,
                        "\nincidents within {} m of a street: {} of {}",
                        v["incidents"]["snap_metres"], v["incidents"]["on_streets"], v["incidents"]["total"]
                    );
                    let _ = writeln!(out, "{:<40} {:>9} {:>8} {:>8}", "street", "incidents", "km", "per km");
                    for s in v["streets"].as_array().into_iter().flatten().take(20) {
                        let _ = writeln!(
                            out,
                            "{:<40} {:>9} {:>8} {:>8}",
                            s["street"].as_str().unwrap_or(""),
                            s["incidents"],
                            s["km"],
                            s["per_km"]
                        );
                    }
                    out
                }
            };
            crate::print_stdout(&out)
        }
        PlanCommand::CameraCoverage { filter, format } => {
            let (territory, f) = filter.resolve(store).await?;
            let cameras = store.cameras(territory.id).await?;
            let records = store.incident_records(&f).await?;
            let name = territory.name.to_string();
            let v = tokio::task::spawn_blocking(move || qalqan_server::cameras::coverage_json(&territory, &cameras, &records)).await?;
            let out = match format {
                TableFormat::Json => serde_json::to_string_pretty(&v)? + "\n",
                TableFormat::Csv => {
                    let mut out = String::from("district,incidents,covered,share\n");
                    for d in v["districts"].as_array().into_iter().flatten() {
                        let _ = writeln!(
                            out,
                            "\"{}\",{},{},{}",
                            d["district"].as_str().unwrap_or("").replace('"', "\"\""),
                            d["incidents"],
                            d["covered"],
                            d["share"].as_f64().map_or(String::new(), |s| format!("{s:.4}"))
                        );
                    }
                    out
                }
                TableFormat::Table => {
                    let pct = |v: &serde_json::Value| v.as_f64().map_or("—".to_owned(), |s| format!("{:.1} %", s * 100.0));
                    let mut out = String::new();
                    let _ = writeln!(
                        out,
                        "{name} ({}): {} working cameras of {} registered",
                        filter.describe(),
                        v["cameras"]["working"],
                        v["cameras"]["registered"]
                    );
                    let _ = writeln!(
                        out,
                        "incidents inside a view sector: {} of {} ({})",
                        v["incidents"]["covered"],
                        v["incidents"]["total"],
                        pct(&v["incidents"]["share"])
                    );
                    if v["hotspot_cells"].is_object() {
                        let h = &v["hotspot_cells"];
                        let _ = writeln!(
                            out,
                            "Gi* hot-spot cells (250 m) with a camera on their centre: {} of {} ({})",
                            h["covered"],
                            h["cells"],
                            pct(&h["share"])
                        );
                    }
                    let _ = writeln!(out, "\n{:<36} {:>10} {:>10} {:>9}", "district", "incidents", "covered", "share");
                    for d in v["districts"].as_array().into_iter().flatten().take(30) {
                        let _ = writeln!(
                            out,
                            "{:<36} {:>10} {:>10} {:>9}",
                            d["district"].as_str().unwrap_or("(none)"),
                            d["incidents"],
                            d["covered"],
                            pct(&d["share"])
                        );
                    }
                    let _ = writeln!(out, "\n{:<14} {:>8} {:>14}", "owner", "cameras", "incidents seen");
                    for o in v["owners"].as_array().into_iter().flatten() {
                        let _ = writeln!(out, "{:<14} {:>8} {:>14}", o["owner"].as_str().unwrap_or(""), o["cameras"], o["incidents_seen"]);
                    }
                    out
                }
            };
            crate::print_stdout(&out)
        }
    }
}
