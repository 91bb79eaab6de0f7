//! Wire types: the JSON shapes of the API (also used by the CLI's `--format json`).

use qalqan_store::{IncidentStats, TerritorySummary};
use serde::Serialize;

/// A territory in lists.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TerritoryDto {
    pub name: String,
    pub time_zone: String,
    pub has_boundary: bool,
    pub districts: u64,
    pub incidents: u64,
}

impl From<&TerritorySummary> for TerritoryDto {
    fn from(t: &TerritorySummary) -> Self {
        Self {
            name: t.name.clone(),
            time_zone: t.time_zone.clone(),
            has_boundary: t.has_boundary,
            districts: t.districts,
            incidents: t.incidents,
        }
    }
}

/// Incident counts by category, month and district.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StatsDto {
    pub territory: String,
    pub total: u64,
    pub by_category: Vec<CategoryCount>,
    pub by_month: Vec<MonthCount>,
    pub by_district: Vec<DistrictCount>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CategoryCount {
    pub category: String,
    pub count: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MonthCount {
    /// `YYYY-MM`, local to the territory.
    pub month: String,
    pub count: u64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct DistrictCount {
    /// `null` for incidents without a district.
    pub district: Option<String>,
    pub count: u64,
}

impl StatsDto {
    pub fn new(territory: &str, s: &IncidentStats) -> Self {
        Self {
            territory: territory.to_owned(),
            total: s.total,
            by_category: s.by_category.iter().map(|(c, n)| CategoryCount { category: c.clone(), count: *n }).collect(),
            by_month: s.by_month.iter().map(|(m, n)| MonthCount { month: month_label(*m), count: *n }).collect(),
            by_district: s.by_district.iter().map(|(d, n)| DistrictCount { district: d.clone(), count: *n }).collect(),
        }
    }
}

/// `201907` → `"2019-07"`.
pub fn month_label(yyyymm: i32) -> String {
    format!("{:04}-{:02}", yyyymm / 100, yyyymm % 100)
}
