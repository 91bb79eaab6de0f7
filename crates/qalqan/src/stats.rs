//! `qalqan incidents stats`: counts by category, month and district.

use std::fmt::Write as _;

use anyhow::Context;
use chrono::NaiveDate;
use clap::{Subcommand, ValueEnum};
use qalqan_domain::{OffenceCategory, TerritoryName, time::local_day_start};
use qalqan_server::dto::{StatsDto, month_label};
use qalqan_store::{IncidentFilter, Store};

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Count incidents by category, by month and by district.
    Stats {
        /// Territory name.
        #[arg(long)]
        territory: String,
        /// First local day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        from: Option<NaiveDate>,
        /// Last local day, YYYY-MM-DD (inclusive).
        #[arg(long)]
        to: Option<NaiveDate>,
        /// Only this category (a Qalqan code such as burglary).
        #[arg(long)]
        category: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

pub async fn run(store: &Store, cmd: IncidentsCommand) -> anyhow::Result<()> {
    let IncidentsCommand::Stats { territory, from, to, category, format } = cmd;
    let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
    let tz = territory.time_zone;
    let category = category.as_deref().map(str::parse::<OffenceCategory>).transpose().context("--category")?;
    let filter = IncidentFilter {
        territory: territory.id,
        from: from.map(|d| local_day_start(d, tz)).transpose()?,
        // --to is inclusive: stop at the start of the next local day.
        to: to.and_then(|d| d.succ_opt()).map(|d| local_day_start(d, tz)).transpose()?,
        category,
    };
    let stats = store.incident_stats(&filter).await?;
    let dto = StatsDto::new(territory.name.as_str(), &stats);
    let mut out = String::new();
    match format {
        Format::Json => out = serde_json::to_string_pretty(&dto)? + "\n",
        Format::Table => {
            let period = match (from, to) {
                (None, None) => "all time".to_owned(),
                (f, t) => format!("{} … {}", f.map_or("start".into(), |d| d.to_string()), t.map_or("now".into(), |d| d.to_string())),
            };
            let cat = category.map(|c| format!(", category {c}")).unwrap_or_default();
            writeln!(out, "{}: {} incidents ({period}{cat}; times in {})", dto.territory, dto.total, tz.name())?;
            writeln!(out, "\nby category")?;
            for c in &dto.by_category {
                writeln!(out, "  {:<28} {:>10}", c.category, c.count)?;
            }
            writeln!(out, "\nby month")?;
            for (m, n) in &stats.by_month {
                writeln!(out, "  {:<28} {:>10}", month_label(*m), n)?;
            }
            writeln!(out, "\nby district")?;
            for d in &dto.by_district {
                writeln!(out, "  {:<28} {:>10}", d.district.as_deref().unwrap_or("(no district)"), d.count)?;
            }
        }
    }
    crate::print_stdout(&out)
}
