//! `qalqan territory …`: register territories, their boundaries and districts.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use qalqan_domain::audit::Actor;
use qalqan_domain::{DistrictName, TerritoryName, time::parse_time_zone};
use qalqan_ingest::boundaries::{read_polygons, select_boundary};
use qalqan_store::{NewDistrict, NewTerritory, Store};

#[derive(Debug, Subcommand)]
pub enum TerritoryCommand {
    /// Register a territory (a city, a region), optionally with its boundary.
    Add {
        /// Name, e.g. Astana.
        name: String,
        /// IANA time zone of the territory's local times.
        #[arg(long, default_value = "Asia/Almaty")]
        time_zone: String,
        /// GeoJSON file with the boundary polygon(s).
        #[arg(long)]
        boundary: Option<PathBuf>,
        /// Pick the features whose property equals a value, e.g. ADM1_EN=Astana.
        #[arg(long, value_name = "KEY=VALUE", requires = "boundary")]
        feature_property: Option<String>,
    },
    /// List territories with their district and incident counts.
    List,
    /// Publish the territory's aggregated figures (counts by month, category, district and on a
    /// 250 m grid, small counts withheld) on the public page and open-data export.
    Publish { name: String },
    /// Withdraw them.
    Unpublish { name: String },
    /// Register districts of a territory from GeoJSON polygons (all or none).
    Districts {
        /// Territory name.
        territory: String,
        /// GeoJSON file with one polygon feature per district.
        #[arg(long)]
        file: PathBuf,
        /// Feature property holding the district name.
        #[arg(long, default_value = "name")]
        name_property: String,
        /// Feature property holding the parent district's name (for nested districts).
        #[arg(long)]
        parent_property: Option<String>,
    },
}

pub async fn run(store: &Store, cmd: TerritoryCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        TerritoryCommand::Add { name, time_zone, boundary, feature_property } => {
            let name = TerritoryName::parse(&name).context("territory name")?;
            let time_zone = parse_time_zone(&time_zone)?;
            let boundary = match boundary {
                None => None,
                Some(path) => {
                    let features = read_polygons(&path)?;
                    Some(match feature_property {
                        Some(kv) => {
                            let Some((key, value)) = kv.split_once('=') else {
                                bail!("--feature-property must look like KEY=VALUE, got '{kv}'");
                            };
                            select_boundary(&path, &features, key.trim(), value.trim())?
                        }
                        None if features.len() == 1 => features[0].shape.clone(),
                        None => bail!(
                            "{} has {} polygon features; choose one with --feature-property KEY=VALUE",
                            path.display(),
                            features.len()
                        ),
                    })
                }
            };
            let has_boundary = boundary.is_some();
            let id = store.add_territory(&NewTerritory { name: name.clone(), time_zone, boundary }, actor).await?;
            println!(
                "territory {name} registered (id {}, time zone {}, {})",
                id.0,
                time_zone.name(),
                if has_boundary { "with boundary" } else { "no boundary" }
            );
            Ok(())
        }
        TerritoryCommand::Publish { name } => {
            let t = store.territory(&TerritoryName::parse(&name)?).await?;
            store.set_published(t.id, true, actor).await?;
            println!(
                "{}'s aggregated figures are public: /api/v1/public/territories/{}/summary and …/cells (counts under 5 withheld)",
                t.name, t.name
            );
            Ok(())
        }
        TerritoryCommand::Unpublish { name } => {
            let t = store.territory(&TerritoryName::parse(&name)?).await?;
            store.set_published(t.id, false, actor).await?;
            println!("{}'s figures are no longer public", t.name);
            Ok(())
        }
        TerritoryCommand::List => {
            let list = store.territories().await?;
            if list.is_empty() {
                println!("no territories yet: qalqan territory add NAME --time-zone ZONE [--boundary FILE.geojson]");
            }
            println!("{:<24} {:<20} {:>8} {:>9} {:>10}", "territory", "time zone", "boundary", "districts", "incidents");
            for t in list {
                println!(
                    "{:<24} {:<20} {:>8} {:>9} {:>10}",
                    t.name,
                    t.time_zone,
                    if t.has_boundary { "yes" } else { "no" },
                    t.districts,
                    t.incidents
                );
            }
            Ok(())
        }
        TerritoryCommand::Districts { territory, file, name_property, parent_property } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let features = read_polygons(&file)?;
            let mut districts = Vec::with_capacity(features.len());
            for f in &features {
                let name = f.property(&name_property).with_context(|| {
                    format!("{}: feature {} has no '{name_property}' property (use --name-property)", file.display(), f.index)
                })?;
                let name = DistrictName::parse(&name).with_context(|| format!("{}: feature {}", file.display(), f.index))?;
                let parent = parent_property
                    .as_deref()
                    .and_then(|p| f.property(p))
                    .map(|p| DistrictName::parse(&p))
                    .transpose()
                    .with_context(|| format!("{}: feature {}", file.display(), f.index))?;
                districts.push(NewDistrict { name, parent, boundary: Some(f.shape.clone()) });
            }
            let districts = parents_first(districts, territory.districts.iter().map(|d| d.name.clone()).collect())?;
            let ids = store.add_districts(territory.id, &districts, actor).await?;
            println!("{} districts registered for {}", ids.len(), territory.name);
            Ok(())
        }
    }
}

/// Orders districts so every parent comes before its children. Parents may
/// also be districts the territory already has; any other parent is an error.
fn parents_first(mut pending: Vec<NewDistrict>, mut placed: std::collections::HashSet<DistrictName>) -> anyhow::Result<Vec<NewDistrict>> {
    let mut ordered = Vec::with_capacity(pending.len());
    while !pending.is_empty() {
        let (ready, rest): (Vec<_>, Vec<_>) = pending.into_iter().partition(|d| d.parent.as_ref().is_none_or(|p| placed.contains(p)));
        if ready.is_empty() {
            let names: Vec<String> =
                rest.iter().map(|d| format!("{} (parent {})", d.name, d.parent.as_ref().map(|p| p.as_str()).unwrap_or(""))).collect();
            bail!(
                "these districts name a parent that is neither in the file nor registered (or the parents form a cycle): {}",
                names.join(", ")
            );
        }
        for d in ready {
            placed.insert(d.name.clone());
            ordered.push(d);
        }
        pending = rest;
    }
    Ok(ordered)
}
