//! `qalqan plan …`: what cameras and posts cover, and where new ones would cover the most.

use std::fmt::Write as _;

use clap::Subcommand;
use qalqan_store::Store;

use crate::analyze::TableFormat;
use crate::filter::FilterArgs;

#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// What the working cameras cover: incidents inside a view sector (overall, per district,
    /// per owner, per camera) and Gi* hot-spot cells.
    CameraCoverage {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
}

pub async fn run(store: &Store, cmd: PlanCommand) -> anyhow::Result<()> {
    match cmd {
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
