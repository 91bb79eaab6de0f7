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
    /// Where k new police posts (or mobile points, per shift) would reach the most incidents
    /// within T minutes over the street network (MCLP) or the least travel time (p-median),
    /// keeping those on duty; mobile points get patrol dosage guidance (Koper curve).
    Posts {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, value_enum, default_value_t = PostKindArg::Stationary)]
        kind: PostKindArg,
        /// Budgets, comma-separated.
        #[arg(long, value_delimiter = ',', default_value = "5,10")]
        k: Vec<usize>,
        /// The time standard, minutes.
        #[arg(long, default_value_t = 5.0)]
        minutes: f64,
        #[arg(long, value_enum, default_value_t = ModeArg::Walk)]
        mode: ModeArg,
        #[arg(long, value_enum, default_value_t = ObjectiveArg::Coverage)]
        objective: ObjectiveArg,
        /// Shifts, `;`-separated: `NAME=HH:MM-HH:MM` or `NAME=DAYS@HH:MM-HH:MM` (DAYS: weekdays,
        /// weekend, or e.g. fri,sat). Default: stationary round the clock; mobile
        /// day=08:00-16:00;evening=16:00-24:00;night=00:00-08:00.
        #[arg(long)]
        shifts: Option<String>,
        #[arg(long, value_enum, default_value_t = MethodArg::Exact)]
        method: MethodArg,
        /// Seconds per budget and shift.
        #[arg(long, default_value_t = 30)]
        time_limit: u64,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// The district inspectors' beats: each beat's workload now, and a redistricting proposal
    /// for n inspectors (balanced within the tolerance, contiguous, compact) with the imbalance
    /// before and after.
    Beats {
        #[command(flatten)]
        filter: FilterArgs,
        /// Inspectors (beats) in the proposal.
        #[arg(long, default_value_t = 6)]
        n: usize,
        /// Cell side of the proposal, metres.
        #[arg(long, default_value_t = 250.0)]
        cell: f64,
        /// Allowed deviation from the mean workload.
        #[arg(long, default_value_t = 0.10)]
        tolerance: f64,
        /// Workload weight of an incident.
        #[arg(long, default_value_t = 1.0)]
        w_incident: f64,
        /// Workload weight of a place of interest.
        #[arg(long, default_value_t = 0.0)]
        w_facility: f64,
        /// Workload weight of a kilometre of street.
        #[arg(long, default_value_t = 0.0)]
        w_street_km: f64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Write the proposed beats here as GeoJSON (importable with `qalqan import beats`).
        #[arg(long)]
        output: Option<std::path::PathBuf>,
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
pub enum PostKindArg {
    Stationary,
    Mobile,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ModeArg {
    Walk,
    Drive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ObjectiveArg {
    /// The most incidents within the time standard (MCLP).
    Coverage,
    /// The least incident-weighted travel time (p-median).
    Median,
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
    Ok(qalqan_server::streets::load_street_graph(store, territory).await?)
}

fn method_of(m: MethodArg) -> qalqan_planning::location::Method {
    match m {
        MethodArg::Exact => qalqan_planning::location::Method::Exact,
        MethodArg::Heuristic => qalqan_planning::location::Method::Heuristic,
    }
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
                method: method_of(method),
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
                let extract = qalqan_server::streets::read_kept_extract(&source)?;
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
        PlanCommand::Posts { filter, kind, k, minutes, mode, objective, shifts, method, time_limit, format } => {
            use qalqan_server::posts::{Objective, PostPlanParams, Shift};
            let (territory, f) = filter.resolve(store).await?;
            let shifts = match shifts.as_deref().filter(|s| !s.trim().is_empty()) {
                Some(s) => s.split(';').map(Shift::parse).collect::<Result<Vec<_>, _>>().map_err(anyhow::Error::msg)?,
                None => Vec::new(),
            };
            let params = PostPlanParams {
                kind: match kind {
                    PostKindArg::Stationary => qalqan_domain::post::PostKind::Stationary,
                    PostKindArg::Mobile => qalqan_domain::post::PostKind::Mobile,
                },
                budgets: k,
                minutes,
                mode: match mode {
                    ModeArg::Walk => qalqan_planning::street::Mode::Walk,
                    ModeArg::Drive => qalqan_planning::street::Mode::Drive,
                },
                objective: match objective {
                    ObjectiveArg::Coverage => Objective::Coverage,
                    ObjectiveArg::Median => Objective::Median,
                },
                shifts,
                method: method_of(method),
                time_limit: std::time::Duration::from_secs(time_limit.max(1)),
            };
            let posts = store.posts(territory.id).await?;
            let records = store.incident_records(&f).await?;
            let streets = street_graph(store, &territory).await?;
            let name = territory.name.to_string();
            let v = tokio::task::spawn_blocking(move || {
                qalqan_server::posts::post_plan(&territory, &records, &posts, streets.as_ref().map(|(g, u)| (g, u)), &params)
            })
            .await??;
            let out = match format {
                TableFormat::Json => serde_json::to_string_pretty(&v)? + "\n",
                TableFormat::Csv => {
                    let mut out = String::from("shift,budget,site,lat,lon,incidents_within\n");
                    for sh in v["shifts"].as_array().into_iter().flatten() {
                        for p in sh["plans"].as_array().into_iter().flatten() {
                            for (i, s) in p["sites"].as_array().into_iter().flatten().enumerate() {
                                let _ = writeln!(
                                    out,
                                    "{},{},{},{},{},{}",
                                    sh["shift"].as_str().unwrap_or(""),
                                    p["budget"],
                                    i + 1,
                                    s["lat"],
                                    s["lon"],
                                    s["incidents_within"]
                                );
                            }
                        }
                    }
                    out
                }
                TableFormat::Table => posts_table(&name, &filter.describe(), &v),
            };
            crate::print_stdout(&out)
        }
        PlanCommand::Beats { filter, n, cell, tolerance, w_incident, w_facility, w_street_km, seed, output, format } => {
            use qalqan_server::beats::{BeatPlanParams, WorkloadWeights};
            let (territory, f) = filter.resolve(store).await?;
            let weights = WorkloadWeights { incident: w_incident, facility: w_facility, street_km: w_street_km };
            let params = BeatPlanParams { inspectors: n, cell_m: cell, weights, tolerance, seed };
            let beats = store.beats(territory.id).await?;
            let posts = store.posts(territory.id).await?;
            let records = store.incident_records(&f).await?;
            let streets = qalqan_server::streets::load_streets(store, &territory).await?;
            let name = territory.name.to_string();
            let (current, v) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
                let current = qalqan_server::beats::beats_json(&beats, &records, streets.as_ref(), &posts, &weights);
                let v = qalqan_server::beats::beat_plan(&territory, &beats, &records, streets.as_ref(), &params)?;
                Ok((current, v))
            })
            .await??;
            if let Some(path) = &output {
                let mut fc = v["beats"].clone();
                for (k, f) in fc["features"].as_array_mut().into_iter().flatten().enumerate() {
                    let label = f["properties"]["name"].as_str().map_or_else(|| format!("Beat {}", k + 1), str::to_owned);
                    f["properties"]["name"] = serde_json::json!(label);
                }
                std::fs::write(path, serde_json::to_string(&fc)?)?;
            }
            let out = match format {
                TableFormat::Json => serde_json::to_string_pretty(&serde_json::json!({"current": current, "proposal": v}))? + "\n",
                TableFormat::Csv => {
                    let mut out = String::from("beat,workload,incidents,facilities,street_km,cells,compactness,contiguous\n");
                    for b in v["beats"]["features"].as_array().into_iter().flatten() {
                        let p = &b["properties"];
                        let _ = writeln!(
                            out,
                            "{},{},{},{},{},{},{},{}",
                            p["beat"],
                            p["workload"],
                            p["incidents"],
                            p["facilities"],
                            p["street_km"],
                            p["cells"],
                            p["compactness"],
                            p["contiguous"]
                        );
                    }
                    out
                }
                TableFormat::Table => beats_table(&name, &filter.describe(), &current, &v),
            };
            crate::print_stdout(&out)
        }
        PlanCommand::CameraCoverage { filter, format } => {
            let (territory, f) = filter.resolve(store).await?;
            let cameras = store.cameras(territory.id).await?;
            let records = store.incident_records(&f).await?;
            let streets = street_graph(store, &territory).await?;
            let name = territory.name.to_string();
            let v = tokio::task::spawn_blocking(move || {
                qalqan_server::cameras::coverage_json(&territory, &cameras, &records, streets.as_ref().map(|(g, u)| (g, u)))
            })
            .await?;
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
                    if v["streets"].is_object() {
                        let st = &v["streets"];
                        let _ = writeln!(
                            out,
                            "street length inside a view sector: {} of {} km ({}); {} street segments with incidents are gaps (seen < 50 %)",
                            st["km_covered"],
                            st["km"],
                            pct(&st["share"]),
                            st["gap_segments"]
                        );
                    }
                    let _ = writeln!(
                        out,
                        "\n{:<36} {:>10} {:>10} {:>9} {:>9} {:>9} {:>10}",
                        "district", "incidents", "covered", "share", "hot cells", "hot seen", "street seen"
                    );
                    for d in v["districts"].as_array().into_iter().flatten().take(30) {
                        let _ = writeln!(
                            out,
                            "{:<36} {:>10} {:>10} {:>9} {:>9} {:>9} {:>10}",
                            d["district"].as_str().unwrap_or("(none)"),
                            d["incidents"],
                            d["covered"],
                            pct(&d["share"]),
                            d["hot_cells"].to_string(),
                            pct(&d["hot_cells_share"]),
                            pct(&d["street_share"])
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

/// The post plan as text: a line per shift, a row per budget, and each mobile point's dosage.
fn posts_table(name: &str, period: &str, v: &serde_json::Value) -> String {
    let pct = |v: &serde_json::Value| v.as_f64().map_or("—".to_owned(), |s| format!("{:.1} %", s * 100.0));
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{name} ({period}): {} {} posts registered; {} {} min by {} ({}); {} candidate sites ({})",
        v["registered"],
        v["kind"].as_str().unwrap_or(""),
        v["objective"].as_str().unwrap_or(""),
        v["minutes"],
        v["mode"].as_str().unwrap_or(""),
        v["network"].as_str().unwrap_or(""),
        v["candidates"]["count"],
        v["candidates"]["source"].as_str().unwrap_or("").replace('_', " ")
    );
    if let Some(size) = v["aggregated_to_metres"].as_f64() {
        let _ = writeln!(out, "(too many places for the p-median's matrix: incidents and candidates taken per {size} m cell)");
    }
    for sh in v["shifts"].as_array().into_iter().flatten() {
        let _ = writeln!(
            out,
            "\nshift {} ({}): {:.0} incidents at {} places ({} without an hour left out, {:.0} out of the network's reach); {} on duty reach {:.0} ({})",
            sh["shift"].as_str().unwrap_or(""),
            sh["window"].as_str().unwrap_or(""),
            num(&sh["incidents"]),
            sh["demand_places"],
            sh["without_hour"],
            num(&sh["unreachable"]),
            sh["existing"]["on_duty"],
            num(&sh["existing"]["incidents_within"]),
            pct(&sh["existing"]["share"])
        );
        let _ =
            writeln!(out, "{:>6} {:>12} {:>9} {:>9} {:>10} {:>9} {:>9}", "budget", "within T", "share", "gain", "gap", "status", "seconds");
        for p in sh["plans"].as_array().into_iter().flatten() {
            let gap = p["gap"].as_f64().map_or("—".to_owned(), |g| format!("{:.2} %", g * 100.0));
            let _ = writeln!(
                out,
                "{:>6.0} {:>12.0} {:>9} {:>9} {:>10} {:>9} {:>9.3}",
                num(&p["budget"]),
                num(&p["incidents_within"]),
                pct(&p["share_within"]),
                pct(&p["gain_share"]),
                gap,
                p["status"].as_str().unwrap_or(""),
                num(&p["seconds"])
            );
            if let Some(m) = p["mean_minutes"].as_f64() {
                let _ = writeln!(out, "{:>6} mean travel {m:.2} min", "");
            }
        }
        if let Some(last) = sh["plans"].as_array().and_then(|p| p.last()) {
            for (i, s) in last["sites"].as_array().into_iter().flatten().enumerate() {
                let d = &s["dosage"];
                if d.is_object() {
                    let spots: Vec<String> = d["spots"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .map(|x| format!("{},{} ({:.0}, {} min)", x["lat"], x["lon"], num(&x["incidents"]), x["minutes_away"]))
                        .collect();
                    let _ = writeln!(
                        out,
                        "  point {} at {},{}: {} rounds a shift, {} min a visit, random order: {}",
                        i + 1,
                        s["lat"],
                        s["lon"],
                        d["rounds_per_shift"],
                        d["visit_minutes"].as_str().unwrap_or(""),
                        spots.join("; ")
                    );
                }
            }
        }
    }
    out
}

/// The beats as text: the registered ones with their workload, then the proposal.
fn beats_table(name: &str, period: &str, current: &serde_json::Value, v: &serde_json::Value) -> String {
    let num = |v: &serde_json::Value| v.as_f64().unwrap_or(0.0);
    let imbalance = |s: &serde_json::Value| {
        if s.is_null() {
            return "—".to_owned();
        }
        format!(
            "max/mean {:.2}, coefficient of variation {:.2}, (max − min)/mean {:.2}",
            num(&s["max_to_mean"]),
            num(&s["coefficient_of_variation"]),
            num(&s["range_to_mean"])
        )
    };
    let mut out = String::new();
    let beats = current["features"].as_array().map_or(0, Vec::len);
    let _ = writeln!(out, "{name} ({period}): {beats} registered beats");
    if beats > 0 {
        let _ = writeln!(
            out,
            "{:<24} {:<20} {:>9} {:>10} {:>9} {:>6} {:>9}",
            "beat", "inspector", "incidents", "facilities", "street km", "posts", "workload"
        );
        for f in current["features"].as_array().into_iter().flatten() {
            let p = &f["properties"];
            let _ = writeln!(
                out,
                "{:<24} {:<20} {:>9} {:>10} {:>9} {:>6} {:>9}",
                p["name"].as_str().unwrap_or(""),
                p["inspector"].as_str().unwrap_or("(vacant)"),
                p["incidents"].to_string(),
                p["facilities"].to_string(),
                p["street_km"].to_string(),
                p["posts"].to_string(),
                p["workload"].to_string()
            );
        }
        let _ = writeln!(out, "imbalance now: {}", imbalance(&current["summary"]));
    }
    let _ = writeln!(
        out,
        "\nproposal for {} inspectors ({} cells of {} m, from {}; tolerance ±{:.0} %): {:.3} s",
        v["inspectors"],
        v["units"],
        v["cell_m"],
        v["started_from"].as_str().unwrap_or(""),
        num(&v["tolerance"]) * 100.0,
        num(&v["seconds"])
    );
    let _ = writeln!(out, "  before (on cells): {}", imbalance(&v["before"]));
    let _ = writeln!(out, "  after:             {}", imbalance(&v["after"]));
    let _ = writeln!(out, "{:>5} {:>9} {:>9} {:>6} {:>12} {:>10}", "beat", "workload", "incidents", "cells", "compactness", "contiguous");
    for f in v["beats"]["features"].as_array().into_iter().flatten() {
        let p = &f["properties"];
        let _ = writeln!(
            out,
            "{:>5} {:>9} {:>9} {:>6} {:>12} {:>10}",
            p["beat"].to_string(),
            p["workload"].to_string(),
            p["incidents"].to_string(),
            p["cells"].to_string(),
            p["compactness"].to_string(),
            p["contiguous"].to_string()
        );
    }
    out
}
