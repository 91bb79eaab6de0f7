//! `qalqan facility|measures|threat …`: the register of facilities vulnerable to terrorism, the
//! measures each threat level requires (data, not code), and threat levels declared for a
//! territory with the checklists they generate and a readiness summary.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Context;
use chrono::NaiveDate;
use clap::Subcommand;
use qalqan_domain::TerritoryName;
use qalqan_domain::audit::Actor;
use qalqan_domain::facility::ThreatLevel;
use qalqan_store::Store;
use serde_json::json;

use crate::analyze::TableFormat;

#[derive(Debug, Subcommand)]
pub enum FacilityCommand {
    /// Add or update facilities from a register (CSV or GeoJSON: id, name, category, lat, lon,
    /// owner, passport, passport_valid_until, equipment). All or nothing, every bad row named.
    Import {
        file: PathBuf,
        #[arg(long)]
        territory: String,
    },
    /// A territory's facilities.
    List {
        #[arg(long)]
        territory: String,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
}

#[derive(Debug, Subcommand)]
pub enum MeasuresCommand {
    /// Replace the measures each threat level requires (CSV: category — a facility category or
    /// `police` —, level, code, text). All or nothing.
    Import { file: PathBuf },
    /// The measures, by category and level.
    List,
}

#[derive(Debug, Subcommand)]
pub enum ThreatCommand {
    /// Declare a threat level for a territory; its checklist is generated for every facility (by
    /// category) and for the police units.
    Declare {
        #[arg(long)]
        territory: String,
        /// yellow, orange or red.
        #[arg(long)]
        level: String,
        /// First day, YYYY-MM-DD (default today).
        #[arg(long)]
        from: Option<String>,
        /// Last day, YYYY-MM-DD (default: until lifted).
        #[arg(long)]
        until: Option<String>,
        /// The grounds of the decision.
        #[arg(long)]
        reason: String,
    },
    /// Move a declaration's last day (or `--until none`: until lifted).
    Extend {
        id: i64,
        #[arg(long)]
        until: String,
    },
    /// Lift a declaration.
    Lift { id: i64 },
    /// A territory's declarations, the whole history.
    List {
        #[arg(long)]
        territory: String,
    },
    /// A declaration's checklist and readiness (share of items done, per category and overall).
    Checklist {
        id: i64,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// Mark a checklist item done.
    Done {
        item: i64,
        #[arg(long, default_value = "")]
        note: String,
    },
}

fn day(what: &str, s: &str) -> anyhow::Result<NaiveDate> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").with_context(|| format!("{what} '{s}' is not a date YYYY-MM-DD"))
}

fn refuse(file: &std::path::Path, errors: &[qalqan_ingest::RowError]) -> anyhow::Result<()> {
    for e in errors.iter().take(20) {
        eprintln!("{}: line {}: {}: {}", e.file, e.line, e.field, e.reason);
    }
    anyhow::bail!("{}: {} invalid row(s); nothing was imported", file.display(), errors.len())
}

pub async fn run_facility(store: &Store, cmd: FacilityCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        FacilityCommand::Import { file, territory } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let register = qalqan_ingest::facilities::read_facilities(&file)?;
            if !register.errors.is_empty() {
                return refuse(&file, &register.errors);
            }
            let facilities: Vec<_> = register.rows.into_iter().map(|(_, f)| f).collect();
            let done = store.import_facilities(territory.id, &facilities, actor).await?;
            println!(
                "{}: {} facilities ({} added, {} updated) for {}",
                file.display(),
                facilities.len(),
                done.added,
                done.updated,
                territory.name
            );
            Ok(())
        }
        FacilityCommand::List { territory, format } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let list = store.facilities(territory.id).await?;
            let rows: Vec<serde_json::Value> = list
                .iter()
                .map(|r| {
                    let f = &r.facility;
                    json!({"id": f.external_id, "name": f.name, "category": f.category.code(), "owner": f.owner, "lat": f.location.lat(), "lon": f.location.lon(),
                           "passport": f.passport_number, "passport_valid_until": f.passport_valid_until.map(|d| d.to_string()),
                           "equipment": f.equipment.iter().map(|e| e.code()).collect::<Vec<_>>()})
                })
                .collect();
            let out = match format {
                TableFormat::Json => serde_json::to_string_pretty(&rows)? + "\n",
                _ => {
                    let mut out = format!("{:<10} {:<36} {:<18} {:<10} equipment\n", "id", "name", "category", "passport");
                    for r in &rows {
                        let _ = writeln!(
                            out,
                            "{:<10} {:<36} {:<18} {:<10} {}",
                            r["id"].as_str().unwrap_or(""),
                            r["name"].as_str().unwrap_or(""),
                            r["category"].as_str().unwrap_or(""),
                            r["passport"].as_str().unwrap_or("—"),
                            r["equipment"]
                                .as_array()
                                .map(|e| e.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join(", "))
                                .unwrap_or_default()
                        );
                    }
                    out
                }
            };
            crate::print_stdout(&out)
        }
    }
}

pub async fn run_measures(store: &Store, cmd: MeasuresCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        MeasuresCommand::Import { file } => {
            let (measures, errors) = qalqan_ingest::facilities::read_measures(&file)?;
            if !errors.is_empty() {
                return refuse(&file, &errors);
            }
            let replaced = store.replace_measures(&measures, actor).await?;
            println!("{}: {} measures (replacing {replaced})", file.display(), measures.len());
            Ok(())
        }
        MeasuresCommand::List => {
            let mut out = String::new();
            for m in store.measures().await? {
                let _ = writeln!(out, "{:<16} {:<7} {:<24} {}", m.category.map_or("police", |c| c.code()), m.level.code(), m.code, m.text);
            }
            crate::print_stdout(&out)
        }
    }
}

pub async fn run_threat(store: &Store, cmd: ThreatCommand, actor: &Actor) -> anyhow::Result<()> {
    let today = chrono::Local::now().date_naive();
    match cmd {
        ThreatCommand::Declare { territory, level, from, until, reason } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let level: ThreatLevel = level.parse()?;
            let from = from.as_deref().map(|s| day("--from", s)).transpose()?.unwrap_or(today);
            let until = until.as_deref().map(|s| day("--until", s)).transpose()?;
            let id = store.declare_threat_level(territory.id, level, from, until, &reason, actor).await?;
            let items = store.checklist(id).await?.len();
            println!(
                "threat level {id}: {level} for {} from {from}{}; {items} checklist items",
                territory.name,
                until.map_or_else(|| " until lifted".to_owned(), |u| format!(" to {u}"))
            );
            Ok(())
        }
        ThreatCommand::Extend { id, until } => {
            let until = if until == "none" { None } else { Some(day("--until", &until)?) };
            store.extend_threat_level(id, until, actor).await.with_context(|| format!("cannot extend threat level {id}"))?;
            println!("threat level {id}: {}", until.map_or_else(|| "until lifted".to_owned(), |u| format!("to {u}")));
            Ok(())
        }
        ThreatCommand::Lift { id } => {
            store.lift_threat_level(id, actor).await.with_context(|| format!("cannot lift threat level {id}"))?;
            println!("threat level {id} lifted");
            Ok(())
        }
        ThreatCommand::List { territory } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let mut out = format!("{:>4} {:<7} {:<10} {:<10} {:<8} {:<12} reason\n", "id", "level", "from", "to", "state", "declared by");
            for d in store.threat_levels(territory.id).await? {
                let state = if d.lifted_at.is_some() {
                    "lifted"
                } else if d.in_force(today) {
                    "in force"
                } else if d.starts_on > today {
                    "coming"
                } else {
                    "ended"
                };
                let _ = writeln!(
                    out,
                    "{:>4} {:<7} {:<10} {:<10} {:<8} {:<12} {}",
                    d.id,
                    d.level.code(),
                    d.starts_on.to_string(),
                    d.ends_on.map_or("—".to_owned(), |e| e.to_string()),
                    state,
                    d.declared_by,
                    d.reason
                );
            }
            crate::print_stdout(&out)
        }
        ThreatCommand::Checklist { id, format } => {
            let d = store.threat_level(id).await?;
            let facilities = store.facilities(qalqan_domain::TerritoryId(d.territory_id)).await?;
            let items = store.checklist(id).await?;
            let category =
                |f: Option<i64>| f.and_then(|f| facilities.iter().find(|x| x.id == f)).map_or("police", |x| x.facility.category.code());
            let name =
                |f: Option<i64>| f.and_then(|f| facilities.iter().find(|x| x.id == f)).map_or("police units", |x| x.facility.name.as_str());
            let mut by_category: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
            for i in &items {
                let e = by_category.entry(category(i.facility_id)).or_default();
                e.0 += 1;
                e.1 += u64::from(i.done_at.is_some());
            }
            let done = items.iter().filter(|i| i.done_at.is_some()).count();
            let share = |n: u64, of: u64| if of == 0 { 0.0 } else { n as f64 / of as f64 };
            let v = json!({
                "declaration": id, "level": d.level.code(), "items": items.len(), "done": done, "readiness": share(done as u64, items.len() as u64),
                "by_category": by_category.iter().map(|(c, (n, k))| json!({"category": c, "items": n, "done": k, "readiness": share(*k, *n)})).collect::<Vec<_>>(),
                "checklist": items.iter().map(|i| json!({"id": i.id, "facility": name(i.facility_id), "category": category(i.facility_id), "measure": i.measure_code, "text": i.text, "done_by": i.done_by, "note": i.note})).collect::<Vec<_>>(),
            });
            let out = match format {
                TableFormat::Json => serde_json::to_string_pretty(&v)? + "\n",
                _ => {
                    let mut out = format!(
                        "threat level {id} ({}): {done} of {} items done ({:.0} %)\n",
                        d.level,
                        items.len(),
                        share(done as u64, items.len() as u64) * 100.0
                    );
                    for (c, (n, k)) in &by_category {
                        let _ = writeln!(out, "  {c:<18} {k}/{n}");
                    }
                    let _ = writeln!(out, "\n{:>5} {:<4} {:<30} {:<20} text", "item", "done", "facility", "measure");
                    for i in &items {
                        let _ = writeln!(
                            out,
                            "{:>5} {:<4} {:<30} {:<20} {}",
                            i.id,
                            if i.done_at.is_some() { "yes" } else { "" },
                            name(i.facility_id),
                            i.measure_code,
                            i.text
                        );
                    }
                    out
                }
            };
            crate::print_stdout(&out)
        }
        ThreatCommand::Done { item, note } => {
            store.check_item(item, &note, actor).await.with_context(|| format!("cannot mark checklist item {item} done"))?;
            println!("checklist item {item} done");
            Ok(())
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum InspectionCommand {
    /// Record an inspection of a facility; each finding becomes an assignment (issued at once,
    /// from the given body, to the executor — by default the facility's owner).
    Add {
        #[arg(long)]
        territory: String,
        /// The facility's register id.
        #[arg(long)]
        facility: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        date: String,
        #[arg(long)]
        inspector: String,
        #[arg(long, default_value = "")]
        summary: String,
        /// The body the assignments come from (its name).
        #[arg(long)]
        body: String,
        /// Who accepts the reports (a login).
        #[arg(long)]
        controller: String,
        /// The executing agency (default: the facility's owner).
        #[arg(long)]
        executor: Option<String>,
        /// A finding and its deadline: `TEXT|YYYY-MM-DD` (repeatable).
        #[arg(long = "finding", required = true)]
        findings: Vec<String>,
    },
    /// A facility's inspections with the assignments their findings became.
    List {
        #[arg(long)]
        territory: String,
        #[arg(long)]
        facility: String,
    },
}

/// One of the territory's facilities by its register id.
async fn facility_by_id(
    store: &Store,
    territory: &qalqan_domain::Territory,
    id: &str,
) -> anyhow::Result<qalqan_store::threat::FacilityRecord> {
    store
        .facilities(territory.id)
        .await?
        .into_iter()
        .find(|f| f.facility.external_id == id)
        .with_context(|| format!("no facility '{id}' in {}", territory.name))
}

pub async fn run_inspection(store: &Store, cmd: InspectionCommand, actor: &Actor) -> anyhow::Result<()> {
    use qalqan_domain::assignment::{Deadline, NewAssignment, Priority};
    match cmd {
        InspectionCommand::Add { territory, facility, date, inspector, summary, body, controller, executor, findings } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let f = facility_by_id(store, &territory, &facility).await?;
            let body_id = store.bodies().await?.into_iter().find(|b| b.name == body).with_context(|| format!("no body '{body}'"))?.id;
            let executor = executor.unwrap_or_else(|| f.facility.owner.clone());
            let held_on = day("--date", &date)?;
            let mut list = Vec::new();
            for finding in &findings {
                let (text, deadline) = finding.rsplit_once('|').with_context(|| format!("finding '{finding}' must be TEXT|YYYY-MM-DD"))?;
                let deadline = Deadline::Fixed(day("finding deadline", deadline)?);
                let place = format!("facility:{}", f.facility.external_id);
                list.push(
                    NewAssignment::new("", text, &executor, None, &[], &controller, deadline, Priority::High, Some(&place))
                        .with_context(|| format!("finding '{finding}'"))?,
                );
            }
            let inspection = qalqan_store::coordination::NewInspection { facility_id: f.id, held_on, inspector, summary };
            let today = chrono::Local::now().date_naive();
            let (id, assignments) = store.add_inspection(territory.id, &inspection, &list, body_id, today, actor).await?;
            println!(
                "inspection {id} of {}: {} finding(s) → assignment(s) {}",
                f.facility.name,
                assignments.len(),
                assignments.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
            );
            Ok(())
        }
        InspectionCommand::List { territory, facility } => {
            let territory = store.territory(&TerritoryName::parse(&territory)?).await?;
            let f = facility_by_id(store, &territory, &facility).await?;
            let mut out = String::new();
            for (id, held_on, inspector, summary, findings) in store.inspections(f.id).await? {
                let _ = writeln!(out, "inspection {id}, {held_on}, {inspector}: {summary}");
                for (text, assignment) in findings {
                    let _ = writeln!(out, "  assignment {assignment}: {text}");
                }
            }
            crate::print_stdout(&out)
        }
    }
}
