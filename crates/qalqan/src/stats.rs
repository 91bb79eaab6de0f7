//! `qalqan incidents stats`: counts by category, month and district.

use std::fmt::Write as _;

use clap::{Subcommand, ValueEnum};
use qalqan_server::dto::{StatsDto, month_label};
use qalqan_store::Store;

use crate::filter::FilterArgs;

#[derive(Debug, Subcommand)]
pub enum IncidentsCommand {
    /// Count incidents by category, by month and by district.
    Stats {
        #[command(flatten)]
        filter: FilterArgs,
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
    let IncidentsCommand::Stats { filter: args, format } = cmd;
    let (territory, filter) = args.resolve(store).await?;
    let tz = territory.time_zone;
    let stats = store.incident_stats(&filter).await?;
    let dto = StatsDto::new(territory.name.as_str(), &stats);
    let mut out = String::new();
    match format {
        Format::Json => out = serde_json::to_string_pretty(&dto)? + "\n",
        Format::Table => {
            let period = args.describe();
            writeln!(out, "{}: {} incidents ({period}; times in {})", dto.territory, dto.total, tz.name())?;
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
