//! `qalqan intervention add|list` and `qalqan evaluate`: record a prevention measure (a camera
//! cluster, a post, a patrol plan, lighting, …) and measure whether it worked: target, buffer and
//! control areas before and after, the Weighted Displacement Quotient, and
//! difference-in-differences Poisson tests (see `qalqan_server::evaluation`).

use std::fmt::Write as _;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use qalqan_domain::audit::Actor;
use qalqan_domain::intervention::{InterventionKind, NewIntervention};
use qalqan_domain::{OffenceCategory, TerritoryName, Wgs84Point, time::local_day_start};
use qalqan_server::evaluation::{EvaluationParams, Period, evaluate, intervention_json, last_day};
use qalqan_store::{IncidentFilter, Store};

use crate::analyze::TableFormat;

#[derive(Debug, Subcommand)]
pub enum InterventionCommand {
    /// Record a measure: where (a centre and the radius it protects), when it started, what it
    /// is, and the assignment that ordered it.
    Add {
        #[arg(long)]
        territory: String,
        #[arg(long)]
        name: String,
        /// camera_cluster, post, mobile_point, patrol_plan, lighting or other.
        #[arg(long)]
        kind: InterventionKind,
        /// The day it started, YYYY-MM-DD.
        #[arg(long)]
        start: NaiveDate,
        /// The centre, LAT,LON.
        #[arg(long, value_parser = lat_lon)]
        at: Wgs84Point,
        /// The radius it protects, metres.
        #[arg(long, default_value_t = 150.0)]
        radius: f64,
        /// The assignment that ordered it.
        #[arg(long)]
        assignment: Option<i64>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// A territory's measures.
    List {
        #[arg(long)]
        territory: String,
    },
}

fn lat_lon(s: &str) -> Result<Wgs84Point, String> {
    let (lat, lon) = s.split_once(',').ok_or_else(|| format!("'{s}' is not LAT,LON"))?;
    let parse = |v: &str, what: &str| v.trim().parse::<f64>().map_err(|_| format!("{what} '{v}' is not a number"));
    Wgs84Point::new(parse(lat, "latitude")?, parse(lon, "longitude")?).map_err(|e| e.to_string())
}

pub async fn run_intervention(store: &Store, cmd: InterventionCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        InterventionCommand::Add { territory, name, kind, start, at, radius, assignment, note } => {
            let t = store.territory(&TerritoryName::parse(&territory)?).await?;
            let i = NewIntervention::new(&name, kind, start, at, radius, assignment, &note)?;
            let id = store.add_intervention(t.id, &i, actor).await.with_context(|| format!("recording intervention '{}'", i.name))?;
            println!("intervention {id} recorded: {} ({kind}) from {start}, {radius} m around {:.5},{:.5}", i.name, at.lat(), at.lon());
            Ok(())
        }
        InterventionCommand::List { territory } => {
            let t = store.territory(&TerritoryName::parse(&territory)?).await?;
            let mut out = String::new();
            let _ = writeln!(out, "{:>4}  {:<10}  {:<14}  {:>7}  {:<22}  name", "id", "start", "kind", "radius", "centre");
            for r in store.interventions(t.id).await? {
                let i = &r.intervention;
                let _ = writeln!(
                    out,
                    "{:>4}  {:<10}  {:<14}  {:>5} m  {:<22}  {}",
                    r.id,
                    i.starts_on,
                    i.kind.code(),
                    i.radius_m,
                    format!("{:.5},{:.5}", i.centre.lat(), i.centre.lon()),
                    i.name
                );
            }
            crate::print_stdout(&out)
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PeriodArg {
    Week,
    Month,
}

/// `qalqan evaluate`.
#[derive(Debug, clap::Args)]
pub struct EvaluateArgs {
    #[arg(long)]
    territory: String,
    /// The intervention's id or name.
    #[arg(long)]
    intervention: String,
    /// Days before the start in the regression.
    #[arg(long, default_value_t = 365)]
    before_days: u32,
    /// Days after the start (cut at the last day with data).
    #[arg(long, default_value_t = 180)]
    after_days: u32,
    /// Width of the displacement buffer around the target, metres.
    #[arg(long, default_value_t = 400.0)]
    buffer: f64,
    /// Outer radius of the control ring, metres.
    #[arg(long, default_value_t = 2000.0)]
    control_radius: f64,
    #[arg(long, value_enum, default_value_t = PeriodArg::Week)]
    period: PeriodArg,
    /// Only this category.
    #[arg(long)]
    category: Option<String>,
    #[arg(long, value_enum, default_value_t = TableFormat::Table)]
    format: TableFormat,
}

pub async fn run_evaluate(store: &Store, args: EvaluateArgs) -> anyhow::Result<()> {
    let territory = store.territory(&TerritoryName::parse(&args.territory)?).await?;
    let all = store.interventions(territory.id).await?;
    let rec = all
        .iter()
        .find(|r| r.id.to_string() == args.intervention.trim() || r.intervention.name == args.intervention.trim())
        .with_context(|| {
            let names: Vec<&str> = all.iter().map(|r| r.intervention.name.as_str()).collect();
            format!(
                "{} has no intervention '{}' (it has: {})",
                territory.name,
                args.intervention,
                if names.is_empty() { "none".to_owned() } else { names.join(", ") }
            )
        })?;
    let params = EvaluationParams {
        before_days: args.before_days,
        after_days: args.after_days,
        buffer_m: args.buffer,
        control_radius_m: args.control_radius,
        period: match args.period {
            PeriodArg::Week => Period::Week,
            PeriodArg::Month => Period::Month,
        },
        ..EvaluationParams::default()
    };
    params.check(rec.intervention.radius_m)?;
    let (from, to) = params.window(rec.intervention.starts_on);
    let tz = territory.time_zone;
    let filter = IncidentFilter {
        territory: territory.id,
        from: Some(local_day_start(from, tz)?),
        to: Some(local_day_start(to, tz)?),
        category: args.category.as_deref().map(str::parse::<OffenceCategory>).transpose().context("--category")?,
    };
    let records = store.incident_records(&filter).await?;
    let last = last_day(&territory, &records);
    let v = evaluate(&territory, &rec.intervention, &records, last, &params)?;
    let out = match args.format {
        TableFormat::Json => {
            serde_json::to_string_pretty(
                &serde_json::json!({"intervention_id": rec.id, "record": intervention_json(rec), "evaluation": v}),
            )? + "\n"
        }
        TableFormat::Csv => series_csv(&v),
        TableFormat::Table => report(&v),
    };
    crate::print_stdout(&out)
}

/// The weekly (or monthly) series as CSV.
fn series_csv(v: &serde_json::Value) -> String {
    let s = &v["series"];
    let first_after = s["first_after"].as_u64().unwrap_or(0) as usize;
    let mut out = String::from("period,after,target,buffer,control\n");
    for (i, p) in s["periods"].as_array().into_iter().flatten().enumerate() {
        let n = |k: &str| s[k][i].as_u64().unwrap_or(0);
        let _ = writeln!(out, "{},{},{},{},{}", p.as_str().unwrap_or(""), i >= first_after, n("target"), n("buffer"), n("control"));
    }
    out
}

/// The evaluation as a short text report.
fn report(v: &serde_json::Value) -> String {
    let mut out = String::new();
    let i = &v["intervention"];
    let a = &v["areas"];
    let w = &v["window"];
    let _ = writeln!(
        out,
        "{} ({}), from {}",
        i["name"].as_str().unwrap_or(""),
        i["kind"].as_str().unwrap_or(""),
        i["starts_on"].as_str().unwrap_or("")
    );
    let _ = writeln!(
        out,
        "areas: target ≤ {} m, buffer to {} m, control to {} m; {} days after the start (to {}), compared by {}",
        a["target_radius_m"],
        a["buffer_outer_m"],
        a["control_outer_m"],
        w["after_days"],
        w["after_to"].as_str().unwrap_or(""),
        w["period"].as_str().unwrap_or("")
    );
    let c = &v["counts"];
    let _ = writeln!(out, "\n{:<10} {:>8} {:>8} {:>8}", "", "target", "buffer", "control");
    for (label, k) in [(format!("before ({})", w["after_days"]), "before"), ("after".to_owned(), "after")] {
        let _ = writeln!(
            out,
            "{:<10} {:>8} {:>8} {:>8}",
            label.split(' ').next().unwrap_or(""),
            c[k]["target"],
            c[k]["buffer"],
            c[k]["control"]
        );
    }
    let wdq = &v["wdq"];
    let _ = writeln!(
        out,
        "\nWDQ: {}  (success {}, buffer {}, total net effect {})",
        wdq["wdq"], wdq["success"], wdq["buffer"], wdq["total_net_effect"]
    );
    let _ = writeln!(out, "  {}", wdq["sentence"].as_str().unwrap_or(""));
    for (label, k) in [("target", "target"), ("buffer", "buffer")] {
        let e = &v[k];
        if e.is_null() {
            continue;
        }
        if e["rate_ratio"].is_null() {
            let _ = writeln!(out, "\n{label}: {}", e["sentence"].as_str().unwrap_or(""));
        } else {
            let _ = writeln!(
                out,
                "\n{label} vs control: rate ratio {} ({}–{}), p = {}, dispersion {}, {} + {} periods",
                e["rate_ratio"], e["low"], e["high"], e["p_value"], e["dispersion"], e["periods_before"], e["periods_after"]
            );
            let _ = writeln!(out, "  {}", e["sentence"].as_str().unwrap_or(""));
        }
    }
    out
}
