//! The incident filter shared by every query and analysis command.

use anyhow::Context;
use chrono::NaiveDate;
use qalqan_domain::{OffenceCategory, Territory, TerritoryName, time::local_day_start};
use qalqan_store::{IncidentFilter, Store};

/// Which incidents a command looks at.
#[derive(Debug, Clone, clap::Args)]
pub struct FilterArgs {
    /// Territory name.
    #[arg(long)]
    pub territory: String,
    /// First local day, YYYY-MM-DD (inclusive).
    #[arg(long)]
    pub from: Option<NaiveDate>,
    /// Last local day, YYYY-MM-DD (inclusive).
    #[arg(long)]
    pub to: Option<NaiveDate>,
    /// Only this category (a Qalqan code such as burglary).
    #[arg(long)]
    pub category: Option<String>,
}

impl FilterArgs {
    /// Loads the territory and turns local days into the UTC filter.
    pub async fn resolve(&self, store: &Store) -> anyhow::Result<(Territory, IncidentFilter)> {
        let territory = store.territory(&TerritoryName::parse(&self.territory)?).await?;
        let tz = territory.time_zone;
        let category = self.category.as_deref().map(str::parse::<OffenceCategory>).transpose().context("--category")?;
        let filter = IncidentFilter {
            territory: territory.id,
            from: self.from.map(|d| local_day_start(d, tz)).transpose()?,
            // --to is inclusive: stop at the start of the next local day.
            to: self.to.and_then(|d| d.succ_opt()).map(|d| local_day_start(d, tz)).transpose()?,
            category,
        };
        Ok((territory, filter))
    }

    /// "2019-01-01 … 2019-12-31, category burglary" for reports.
    pub fn describe(&self) -> String {
        let period = match (self.from, self.to) {
            (None, None) => "all time".to_owned(),
            (f, t) => format!("{} … {}", f.map_or("start".into(), |d| d.to_string()), t.map_or("now".into(), |d| d.to_string())),
        };
        match &self.category {
            Some(c) => format!("{period}, category {c}"),
            None => period,
        }
    }
}
