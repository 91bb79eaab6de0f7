//! `qalqan body|meeting|assignment …`: inter-agency coordination from the command line — the
//! bodies that give assignments, their meetings, and each assignment's lifecycle (issue, report,
//! return, accept, cancel; extension requests and decisions), with its history and reports.
//!
//! "Today" (for first due dates, days left and overdue flags) is the operator's local calendar
//! date, `chrono::Local`: an assignment belongs to no territory, so there is no territory time
//! zone to use, and the machine's own zone is the one its operator works in.
//!
//! Every check that can be made before writing is made first, and each write is one store
//! transaction: a refused command changes nothing.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};
use qalqan_domain::account::Login;
use qalqan_domain::assignment::{AssignmentAction, AssignmentStatus, BodyKind, Deadline, NewAssignment, Priority, days_left, is_overdue};
use qalqan_domain::audit::Actor;
use qalqan_store::Store;
use qalqan_store::coordination::{
    ATTACHMENT_TYPES, Assignment, AssignmentFilter, Body, MAX_ATTACHMENT_BYTES, Meeting, NewAttachment, NewBody, NewMeeting, NewReport,
    ProtocolItem, Source,
};

use crate::analyze::TableFormat;

#[derive(Debug, Subcommand)]
pub enum BodyCommand {
    /// Register a body that gives assignments (council, commission, headquarters).
    Add {
        name: String,
        /// coordination_council, antiterrorist_commission, operational_headquarters or other.
        #[arg(long, value_parser = code::<BodyKind>)]
        kind: BodyKind,
        /// A member agency, optionally with its person: `AGENCY` or `AGENCY:PERSON` (repeatable).
        #[arg(long = "member", value_parser = member)]
        members: Vec<(String, String)>,
        /// The territory it serves (its council packs show its assignments).
        #[arg(long)]
        territory: Option<String>,
    },
    /// List bodies with their members.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum MeetingCommand {
    /// Record a meeting of a body (its protocol number, date, agenda and the protocol's items).
    Add {
        /// The body's name.
        #[arg(long)]
        body: String,
        /// YYYY-MM-DD.
        #[arg(long, value_parser = date)]
        date: NaiveDate,
        /// The protocol's number ("4", "2026/3"), unique within the body.
        #[arg(long)]
        number: String,
        #[arg(long, default_value = "")]
        agenda: String,
        /// A protocol item, "NUMBER|TEXT" (repeatable, in order): assignments given at this
        /// meeting must name one of them (or a sub-point such as 2.1 of 2).
        #[arg(long = "item", value_parser = protocol_item)]
        items: Vec<ProtocolItem>,
    },
    /// A body's meetings, oldest first.
    List {
        /// The body's name.
        #[arg(long)]
        body: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Debug, Subcommand)]
pub enum AssignmentCommand {
    /// Write an assignment; it is issued for execution at once unless --draft. Prints its id and
    /// due date.
    Add(AddArgs),
    /// List assignments by due date, with days left and an overdue flag.
    List {
        /// Only those this agency executes or co-executes.
        #[arg(long)]
        agency: Option<String>,
        /// Only those of this body.
        #[arg(long)]
        body: Option<String>,
        /// draft, on_execution, report_submitted, returned, accepted or cancelled.
        #[arg(long, value_parser = code::<AssignmentStatus>)]
        status: Option<AssignmentStatus>,
        /// Only those awaiting the executor past their due date.
        #[arg(long)]
        overdue: bool,
        /// Only those awaiting the executor and due within DAYS days from today, not yet overdue
        /// (use --overdue for the late ones).
        #[arg(long, value_name = "DAYS")]
        due_within: Option<u32>,
        #[arg(long, value_enum, default_value_t = TableFormat::Table)]
        format: TableFormat,
    },
    /// An assignment's fields, history, extension requests and reports with their attachments.
    Show {
        id: i64,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Issue a draft for execution.
    Issue(ActArgs),
    /// Accept the submitted report: the assignment is executed (a recurring one starts its next
    /// period).
    Accept(ActArgs),
    /// Return the submitted report for rework.
    Return(ActArgs),
    /// Cancel an assignment still on control (or a draft).
    Cancel(ActArgs),
    /// Submit the executor's report, with attached files (PDF, PNG, JPEG, TXT, CSV or DOCX, by
    /// extension; at most 20 MiB each).
    Report {
        id: i64,
        #[arg(long)]
        text: String,
        /// A file to attach (repeatable).
        #[arg(long = "attach", value_name = "FILE")]
        attachments: Vec<PathBuf>,
    },
    /// Ask for a later due date (one pending request at a time).
    Extend {
        id: i64,
        /// The new due date, YYYY-MM-DD.
        #[arg(long, value_parser = date)]
        to: NaiveDate,
        #[arg(long)]
        reason: String,
    },
    /// Grant (the due date moves) or refuse the pending extension request.
    #[command(group(clap::ArgGroup::new("decision").args(["grant", "refuse"]).required(true)))]
    Decide {
        id: i64,
        #[arg(long)]
        grant: bool,
        #[arg(long)]
        refuse: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Write an attachment of a report to a file.
    Attachment {
        /// The attachment's id (as `assignment show` lists it).
        id: i64,
        #[arg(long)]
        output: PathBuf,
    },
}

#[derive(Debug, Args)]
pub struct AddArgs {
    /// The body giving the assignment (its name).
    #[arg(long)]
    body: String,
    /// The protocol number of the body's meeting that gave it.
    #[arg(long, value_name = "NUMBER")]
    meeting: Option<String>,
    /// The protocol item ("3", "3.1").
    #[arg(long, default_value = "")]
    item: String,
    /// The assignment this one is a part of.
    #[arg(long, value_name = "ID")]
    parent: Option<i64>,
    #[arg(long)]
    text: String,
    /// The responsible agency.
    #[arg(long)]
    executor: String,
    /// A person of the responsible agency.
    #[arg(long)]
    executor_person: Option<String>,
    /// A co-executing agency (repeatable).
    #[arg(long = "co-executor", value_name = "AGENCY")]
    co_executors: Vec<String>,
    /// The login of who accepts the reports.
    #[arg(long)]
    controller: String,
    /// YYYY-MM-DD, or recurring PERIOD:DAY (monthly, quarterly, half_yearly or yearly; day 1-28),
    /// e.g. quarterly:5 for the 5th after each quarter.
    #[arg(long, value_parser = code::<Deadline>)]
    deadline: Deadline,
    /// normal, high or urgent.
    #[arg(long, value_parser = code::<Priority>, default_value = "normal")]
    priority: Priority,
    /// A place the assignment is about ("district:Saryarka", "facility:Railway station").
    #[arg(long)]
    place: Option<String>,
    /// Keep it as a draft (issue it later with `assignment issue`).
    #[arg(long)]
    draft: bool,
}

#[derive(Debug, Args)]
pub struct ActArgs {
    id: i64,
    /// Why (recorded in the assignment's history).
    #[arg(long, default_value = "")]
    note: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// A clap value parser for the domain's code enums and deadlines.
fn code<T>(s: &str) -> Result<T, String>
where
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    s.parse().map_err(|e: T::Err| e.to_string())
}

fn date(s: &str) -> Result<NaiveDate, String> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| format!("'{s}' is not a date YYYY-MM-DD"))
}

/// `AGENCY` or `AGENCY:PERSON`.
fn member(s: &str) -> Result<(String, String), String> {
    let (agency, person) = s.split_once(':').unwrap_or((s, ""));
    let agency = agency.trim();
    if agency.is_empty() {
        return Err(format!("'{s}' names no agency (AGENCY or AGENCY:PERSON)"));
    }
    Ok((agency.to_owned(), person.trim().to_owned()))
}

/// The operator's local calendar date (see the module docs).
fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

/// The body of this name: exactly, or else ignoring case if that names only one.
async fn body_by_name(store: &Store, name: &str) -> anyhow::Result<Body> {
    let mut bodies = store.bodies().await?;
    let wanted = name.trim();
    let exact = bodies.iter().position(|b| b.name == wanted);
    let folded: Vec<usize> =
        bodies.iter().enumerate().filter(|(_, b)| b.name.to_lowercase() == wanted.to_lowercase()).map(|(i, _)| i).collect();
    match (exact, folded.as_slice()) {
        (Some(i), _) | (None, &[i]) => Ok(bodies.swap_remove(i)),
        _ if bodies.is_empty() => bail!("no body '{wanted}' (none registered yet; add one with `qalqan body add`)"),
        _ => {
            let known: Vec<&str> = bodies.iter().map(|b| b.name.as_str()).collect();
            bail!("no body '{wanted}' (known: {})", known.join("; "))
        }
    }
}

pub async fn run_body(store: &Store, cmd: BodyCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        BodyCommand::Add { name, kind, members, territory } => {
            let territory_id = match territory {
                Some(t) => Some(store.territory(&qalqan_domain::TerritoryName::parse(&t)?).await?.id.0),
                None => None,
            };
            let body = NewBody { name: name.clone(), kind, members, territory_id };
            let id = store.add_body(&body, actor).await.with_context(|| format!("registering body '{}'", name.trim()))?;
            println!("body {id} '{}' registered ({kind}, {} members)", name.trim(), body.members.len());
            Ok(())
        }
        BodyCommand::List { format } => {
            let bodies = store.bodies().await?;
            let out = match format {
                Format::Json => {
                    let v: Vec<serde_json::Value> = bodies
                        .iter()
                        .map(|b| {
                            serde_json::json!({
                                "id": b.id,
                                "name": b.name,
                                "kind": b.kind.code(),
                                "members": b.members.iter().map(|(a, p)| serde_json::json!({"agency": a, "person": p})).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    serde_json::to_string_pretty(&v)? + "\n"
                }
                Format::Table => {
                    let mut out = String::new();
                    let _ = writeln!(out, "{:>4}  {:<40}  {:<26}  members", "id", "name", "kind");
                    for b in &bodies {
                        let members: Vec<String> =
                            b.members.iter().map(|(a, p)| if p.is_empty() { a.clone() } else { format!("{a} ({p})") }).collect();
                        let _ = writeln!(out, "{:>4}  {:<40}  {:<26}  {}", b.id, b.name, b.kind.code(), members.join(", "));
                    }
                    out
                }
            };
            crate::print_stdout(&out)
        }
    }
}

/// `NUMBER|TEXT` → a protocol item.
fn protocol_item(s: &str) -> Result<ProtocolItem, String> {
    match s.split_once('|') {
        Some((n, t)) if !n.trim().is_empty() && !t.trim().is_empty() => {
            Ok(ProtocolItem { number: n.trim().to_owned(), text: t.trim().to_owned() })
        }
        _ => Err(format!("'{s}' is not NUMBER|TEXT, e.g. \"2|On lighting in courtyards\"")),
    }
}

pub async fn run_meeting(store: &Store, cmd: MeetingCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        MeetingCommand::Add { body, date, number, agenda, items } => {
            let b = body_by_name(store, &body).await?;
            let m = NewMeeting { body_id: b.id, held_on: date, number: number.trim().to_owned(), agenda: agenda.trim().to_owned(), items };
            let id = store.add_meeting(&m, actor).await.with_context(|| format!("recording meeting {} of '{}'", m.number, b.name))?;
            println!("meeting {id} of '{}' recorded: protocol {} of {date}", b.name, m.number);
            Ok(())
        }
        MeetingCommand::List { body, format } => {
            let b = body_by_name(store, &body).await?;
            let meetings = store.meetings(b.id).await?;
            let out = match format {
                Format::Json => {
                    let v: Vec<serde_json::Value> = meetings
                        .iter()
                        .map(|m| {
                            serde_json::json!({
                                "id": m.id, "body": b.name, "held_on": m.held_on.to_string(), "number": m.number, "agenda": m.agenda,
                                "items": m.items.iter().map(|i| serde_json::json!({"number": i.number, "text": i.text})).collect::<Vec<_>>(),
                            })
                        })
                        .collect();
                    serde_json::to_string_pretty(&v)? + "\n"
                }
                Format::Table => {
                    let mut out = String::new();
                    let _ = writeln!(out, "{}: {} meetings", b.name, meetings.len());
                    let _ = writeln!(out, "{:>4}  {:<10}  {:<10}  agenda", "id", "date", "number");
                    for m in &meetings {
                        let _ = writeln!(out, "{:>4}  {:<10}  {:<10}  {}", m.id, m.held_on, m.number, m.agenda);
                        for i in &m.items {
                            let _ = writeln!(out, "{:>30}  {}. {}", "", i.number, i.text);
                        }
                    }
                    out
                }
            };
            crate::print_stdout(&out)
        }
    }
}

pub async fn run_assignment(store: &Store, cmd: AssignmentCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        AssignmentCommand::Add(args) => add(store, args, actor).await,
        AssignmentCommand::List { agency, body, status, overdue, due_within, format } => {
            let body_id = match body {
                Some(name) => Some(body_by_name(store, &name).await?.id),
                None => None,
            };
            let filter = AssignmentFilter { agency: agency.map(|a| a.trim().to_owned()), status, body_id };
            let today = today();
            let rows: Vec<Assignment> = store
                .assignments(&filter)
                .await?
                .into_iter()
                .filter(|a| !overdue || is_overdue(a.status, a.due_on, today))
                .filter(|a| {
                    due_within.is_none_or(|days| {
                        let left = days_left(a.due_on, today);
                        a.status.awaits_executor() && (0..=i64::from(days)).contains(&left)
                    })
                })
                .collect();
            let names = body_names(store).await?;
            crate::print_stdout(&list(&rows, &names, today, format)?)
        }
        AssignmentCommand::Show { id, format } => show(store, id, format).await,
        AssignmentCommand::Issue(a) => act(store, a, AssignmentAction::Issue, actor).await,
        AssignmentCommand::Accept(a) => act(store, a, AssignmentAction::Accept, actor).await,
        AssignmentCommand::Return(a) => act(store, a, AssignmentAction::Return, actor).await,
        AssignmentCommand::Cancel(a) => act(store, a, AssignmentAction::Cancel, actor).await,
        AssignmentCommand::Report { id, text, attachments } => {
            let mut files = Vec::with_capacity(attachments.len());
            for path in &attachments {
                files.push(attachment(path)?);
            }
            let report = NewReport { text, attachments: files };
            let before = store.assignment(id).await?;
            let a = store
                .act_on_assignment(id, AssignmentAction::SubmitReport, "", Some(&report), actor)
                .await
                .with_context(|| format!("reporting on assignment {id}"))?;
            let files = match report.attachments.len() {
                1 => "1 attachment".to_owned(),
                n => format!("{n} attachments"),
            };
            println!("assignment {id}: report submitted with {files} ({} → {}); due {}", before.status, a.status, a.due_on);
            Ok(())
        }
        AssignmentCommand::Extend { id, to, reason } => {
            let request =
                store.request_extension(id, to, &reason, actor).await.with_context(|| format!("asking to extend assignment {id}"))?;
            println!("assignment {id}: extension request {request} to {to} awaits the controller's decision");
            Ok(())
        }
        AssignmentCommand::Decide { id, grant, refuse, note } => {
            // clap's group makes exactly one of the two flags present.
            debug_assert!(grant != refuse);
            let a = store
                .decide_extension(id, grant, &note, actor)
                .await
                .with_context(|| format!("deciding the extension of assignment {id}"))?;
            let verb = if grant { "granted" } else { "refused" };
            println!("assignment {id}: extension {verb}; due {}", a.due_on);
            Ok(())
        }
        AssignmentCommand::Attachment { id, output } => {
            let bytes = store.attachment_bytes(id).await?;
            std::fs::write(&output, &bytes).with_context(|| format!("writing {}", output.display()))?;
            println!(
                "attachment {id}: {} bytes written to {} (sha256 {})",
                bytes.len(),
                output.display(),
                qalqan_domain::Sha256Hex::of(&bytes).as_str()
            );
            Ok(())
        }
    }
}

async fn add(store: &Store, args: AddArgs, actor: &Actor) -> anyhow::Result<()> {
    let body = body_by_name(store, &args.body).await?;
    let meeting_id = match &args.meeting {
        None => None,
        Some(number) => {
            let meetings = store.meetings(body.id).await?;
            let m = meetings.iter().find(|m| m.number == number.trim()).with_context(|| {
                format!(
                    "body '{}' has no meeting with protocol number '{}' (record it with `qalqan meeting add`)",
                    body.name,
                    number.trim()
                )
            })?;
            Some(m.id)
        }
    };
    if let Some(parent) = args.parent {
        store.assignment(parent).await.with_context(|| format!("--parent {parent}"))?;
    }
    let controller = Login::parse(&args.controller).context("--controller")?;
    if store.user(&controller).await?.is_none() {
        eprintln!("warning: no account '{controller}' yet: the controller needs one to accept reports in the web interface");
    }
    let assignment = NewAssignment::new(
        &args.item,
        &args.text,
        &args.executor,
        args.executor_person.as_deref(),
        &args.co_executors,
        controller.as_str(),
        args.deadline,
        args.priority,
        args.place.as_deref(),
    )?;
    let source = Source { body_id: body.id, meeting_id, parent_id: args.parent };
    let id = store
        .add_assignment(source, &assignment, !args.draft, today(), actor)
        .await
        .with_context(|| format!("writing an assignment of '{}'", body.name))?;
    let a = store.assignment(id).await?;
    println!("assignment {id} {} for {}, due {} (deadline {})", a.status, a.assignment.executor, a.due_on, a.assignment.deadline);
    Ok(())
}

async fn act(store: &Store, args: ActArgs, action: AssignmentAction, actor: &Actor) -> anyhow::Result<()> {
    let id = args.id;
    let before = store.assignment(id).await?;
    let a =
        store.act_on_assignment(id, action, &args.note, None, actor).await.with_context(|| format!("cannot {action} assignment {id}"))?;
    if action == AssignmentAction::Accept && a.status != AssignmentStatus::Accepted {
        println!("assignment {id}: report accepted; the next period is {}, due {}", a.status, a.due_on);
    } else {
        println!("assignment {id}: {} → {}; due {}", before.status, a.status, a.due_on);
    }
    Ok(())
}

/// Reads a file to attach; its type comes from its extension.
fn attachment(path: &Path) -> anyhow::Result<NewAttachment> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_lowercase).unwrap_or_default();
    let content_type = match ext.as_str() {
        "pdf" => "application/pdf",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "txt" => "text/plain",
        "csv" => "text/csv",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        _ => bail!(
            "{}: only .pdf, .png, .jpg, .jpeg, .txt, .csv and .docx files can be attached, not {}",
            path.display(),
            if ext.is_empty() { "a file without an extension".to_owned() } else { format!(".{ext}") }
        ),
    };
    debug_assert!(ATTACHMENT_TYPES.contains(&content_type));
    let size = std::fs::metadata(path).with_context(|| format!("reading {}", path.display()))?.len();
    if size > MAX_ATTACHMENT_BYTES as u64 {
        bail!("{}: {size} bytes; attachments may have at most 20 MiB", path.display());
    }
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let file_name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok(NewAttachment { file_name, content_type: content_type.to_owned(), bytes })
}

async fn body_names(store: &Store) -> anyhow::Result<std::collections::HashMap<i64, String>> {
    Ok(store.bodies().await?.into_iter().map(|b| (b.id, b.name)).collect())
}

/// Days left while on control; none for drafts and closed assignments.
fn open_days_left(a: &Assignment, today: NaiveDate) -> Option<i64> {
    a.status.is_open().then(|| days_left(a.due_on, today))
}

fn assignment_json(a: &Assignment, body: &str, today: NaiveDate) -> serde_json::Value {
    let n = &a.assignment;
    serde_json::json!({
        "id": a.id,
        "body_id": a.source.body_id,
        "body": body,
        "meeting_id": a.source.meeting_id,
        "parent_id": a.source.parent_id,
        "item": n.item,
        "text": n.text,
        "executor": n.executor,
        "executor_person": n.executor_person,
        "co_executors": n.co_executors,
        "controller": n.controller,
        "deadline": n.deadline.to_string(),
        "due_on": a.due_on.to_string(),
        "priority": n.priority.code(),
        "place": n.place,
        "status": a.status.code(),
        "author": a.author,
        "days_left": open_days_left(a, today),
        "overdue": is_overdue(a.status, a.due_on, today),
    })
}

/// A CSV field, quoted when it must be (RFC 4180).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

/// At most `n` characters, with an ellipsis when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { s.chars().take(n - 1).collect::<String>() + "…" }
}

fn list(
    rows: &[Assignment],
    names: &std::collections::HashMap<i64, String>,
    today: NaiveDate,
    format: TableFormat,
) -> anyhow::Result<String> {
    let body = |a: &Assignment| names.get(&a.source.body_id).cloned().unwrap_or_else(|| a.source.body_id.to_string());
    let mut out = String::new();
    match format {
        TableFormat::Json => {
            let v: Vec<serde_json::Value> = rows.iter().map(|a| assignment_json(a, &body(a), today)).collect();
            out = serde_json::to_string_pretty(&v)? + "\n";
        }
        TableFormat::Csv => {
            out.push_str("id,body,item,executor,due_on,status,days_left,overdue,priority,controller,text\n");
            for a in rows {
                let n = &a.assignment;
                let _ = writeln!(
                    out,
                    "{},{},{},{},{},{},{},{},{},{},{}",
                    a.id,
                    csv_field(&body(a)),
                    csv_field(&n.item),
                    csv_field(&n.executor),
                    a.due_on,
                    a.status,
                    open_days_left(a, today).map(|d| d.to_string()).unwrap_or_default(),
                    is_overdue(a.status, a.due_on, today),
                    n.priority,
                    csv_field(&n.controller),
                    csv_field(&n.text)
                );
            }
        }
        TableFormat::Table => {
            let _ = writeln!(
                out,
                "{:>5}  {:<30}  {:<6}  {:<24}  {:<10}  {:<16}  {:>9}  overdue",
                "id", "body", "item", "executor", "due", "status", "days left"
            );
            for a in rows {
                let n = &a.assignment;
                let left = open_days_left(a, today).map_or("-".to_owned(), |d| d.to_string());
                let late = if is_overdue(a.status, a.due_on, today) { "OVERDUE" } else { "" };
                let line = format!(
                    "{:>5}  {:<30}  {:<6}  {:<24}  {:<10}  {:<16}  {:>9}  {late}",
                    a.id,
                    clip(&body(a), 30),
                    clip(&n.item, 6),
                    clip(&n.executor, 24),
                    a.due_on,
                    a.status.code(),
                    left
                );
                let _ = writeln!(out, "{}", line.trim_end());
            }
            let _ = writeln!(out, "{} assignments (today is {today})", rows.len());
        }
    }
    Ok(out)
}

fn time(at: i64) -> String {
    chrono::DateTime::from_timestamp(at, 0).map_or_else(|| at.to_string(), |t| t.format("%Y-%m-%d %H:%M UTC").to_string())
}

async fn show(store: &Store, id: i64, format: Format) -> anyhow::Result<()> {
    let a = store.assignment(id).await?;
    let body = store.bodies().await?.into_iter().find(|b| b.id == a.source.body_id);
    let meeting: Option<Meeting> = match a.source.meeting_id {
        Some(m) => store.meetings(a.source.body_id).await?.into_iter().find(|x| x.id == m),
        None => None,
    };
    let events = store.assignment_events(id).await?;
    let extensions = store.extension_requests(id).await?;
    let reports = store.assignment_reports(id).await?;
    let today = today();
    let body_name = body.as_ref().map_or_else(|| a.source.body_id.to_string(), |b| b.name.clone());
    let out = match format {
        Format::Json => {
            let mut v = assignment_json(&a, &body_name, today);
            v["meeting"] = meeting
                .as_ref()
                .map_or(serde_json::Value::Null, |m| serde_json::json!({"id": m.id, "number": m.number, "held_on": m.held_on.to_string()}));
            v["created_at"] = time(a.created_at).into();
            v["events"] = events
                .iter()
                .map(|e| {
                    serde_json::json!({"at": time(e.at), "actor": e.actor, "action": e.action, "from": e.from.map(|s| s.code()),
                        "to": e.to.code(), "due_on": e.due_on.to_string(), "note": e.note})
                })
                .collect();
            v["extension_requests"] = extensions
                .iter()
                .map(|r| {
                    let decision = match r.granted {
                        None => "pending",
                        Some(true) => "granted",
                        Some(false) => "refused",
                    };
                    serde_json::json!({"id": r.id, "requested_by": r.requested_by, "new_due_on": r.new_due_on.to_string(),
                        "reason": r.reason, "decision": decision, "decided_by": r.decided_by, "note": r.decision_note})
                })
                .collect();
            v["reports"] = reports
                .iter()
                .map(|r| {
                    serde_json::json!({"id": r.id, "submitted_by": r.submitted_by, "submitted_at": time(r.submitted_at),
                        "due_on": r.due_on.to_string(), "text": r.text,
                        "attachments": r.attachments.iter().map(|f| serde_json::json!({"id": f.id, "file_name": f.file_name,
                            "content_type": f.content_type, "size": f.size, "sha256": f.sha256})).collect::<Vec<_>>()})
                })
                .collect();
            serde_json::to_string_pretty(&v)? + "\n"
        }
        Format::Table => {
            let n = &a.assignment;
            let mut out = String::new();
            let state = if is_overdue(a.status, a.due_on, today) {
                format!(" — OVERDUE by {} days", -days_left(a.due_on, today))
            } else {
                open_days_left(&a, today).map(|d| format!(" — {d} days left")).unwrap_or_default()
            };
            let _ = writeln!(out, "assignment {id}: {}{state}", a.status);
            let mut source = body_name.clone();
            if let Some(m) = &meeting {
                let _ = write!(source, ", meeting {} of {}", m.number, m.held_on);
            }
            if !n.item.is_empty() {
                let _ = write!(source, ", item {}", n.item);
            }
            let _ = writeln!(out, "  body:          {source}");
            if let Some(p) = a.source.parent_id {
                let _ = writeln!(out, "  part of:       assignment {p}");
            }
            let _ = writeln!(out, "  text:          {}", n.text);
            let person = n.executor_person.as_deref().map(|p| format!(" ({p})")).unwrap_or_default();
            let _ = writeln!(out, "  executor:      {}{person}", n.executor);
            if !n.co_executors.is_empty() {
                let _ = writeln!(out, "  co-executors:  {}", n.co_executors.join(", "));
            }
            let _ = writeln!(out, "  controller:    {}", n.controller);
            let _ = writeln!(out, "  deadline:      {} (due {})", n.deadline, a.due_on);
            let _ = writeln!(out, "  priority:      {}", n.priority);
            if let Some(p) = &n.place {
                let _ = writeln!(out, "  place:         {p}");
            }
            let _ = writeln!(out, "  written by:    {} at {}", a.author, time(a.created_at));
            let _ = writeln!(out, "history:");
            for e in &events {
                let from = e.from.map(|f| format!("{f} → ")).unwrap_or_default();
                let note = if e.note.is_empty() { String::new() } else { format!("  \"{}\"", e.note) };
                let _ = writeln!(out, "  {}  {:<12}  {:<19}  {from}{}, due {}{note}", time(e.at), e.actor, e.action, e.to, e.due_on);
            }
            let _ = writeln!(out, "extension requests:{}", if extensions.is_empty() { " none" } else { "" });
            for r in &extensions {
                let decision = match (r.granted, &r.decided_by) {
                    (None, _) => "pending".to_owned(),
                    (Some(g), by) => {
                        let note = r.decision_note.as_deref().filter(|n| !n.is_empty()).map(|n| format!(": {n}")).unwrap_or_default();
                        format!("{} by {}{note}", if g { "granted" } else { "refused" }, by.as_deref().unwrap_or("?"))
                    }
                };
                let _ = writeln!(out, "  #{} to {} asked by {} ({}) — {decision}", r.id, r.new_due_on, r.requested_by, r.reason);
            }
            let _ = writeln!(out, "reports:{}", if reports.is_empty() { " none" } else { "" });
            for r in &reports {
                let _ = writeln!(out, "  #{} by {} at {} (due {}): {}", r.id, r.submitted_by, time(r.submitted_at), r.due_on, r.text);
                for f in &r.attachments {
                    let _ = writeln!(
                        out,
                        "    attachment {}: {} ({}, {} bytes, sha256 {})",
                        f.id, f.file_name, f.content_type, f.size, f.sha256
                    );
                }
            }
            out
        }
    };
    crate::print_stdout(&out)
}

#[derive(Debug, Subcommand)]
pub enum NotifyCommand {
    /// Write today's reminders (assignments due within DAYS, to the executing agency's accounts)
    /// and escalations (overdue ones, to them and the controller), then e-mail them to accounts
    /// with an address when an SMTP relay is configured ([smtp] in qalqan.toml or
    /// QALQAN_SMTP_HOST/QALQAN_SMTP_FROM). Safe to run any number of times: each is written and
    /// e-mailed once. `qalqan serve` runs it every hour.
    Run {
        #[arg(long, default_value_t = 3)]
        days: i64,
    },
    /// A user's notifications, newest first.
    List {
        #[arg(long)]
        login: String,
        /// Only unread ones.
        #[arg(long)]
        unread: bool,
    },
    /// Send one test e-mail through the configured relay (checks the [smtp] settings).
    TestMail {
        /// The recipient.
        #[arg(long)]
        to: String,
    },
}

pub async fn run_notify(store: &Store, cmd: NotifyCommand, settings: &crate::settings::Settings) -> anyhow::Result<()> {
    let actor = &settings.actor();
    match cmd {
        NotifyCommand::Run { days } => {
            if !(0..=60).contains(&days) {
                bail!("--days {days} must be 0-60");
            }
            let today = chrono::Local::now().date_naive();
            let n = store.generate_notifications(today, days, actor).await?;
            println!("{n} new notification(s) for {today}");
            match &settings.mail {
                None => println!("e-mail: no SMTP relay configured (in-app notifications only)"),
                Some(mailer) => {
                    let r = qalqan_server::email::deliver(store, mailer, today, actor).await?;
                    println!("e-mail: {} sent, {} refused by the relay", r.sent, r.refused);
                    if let Some(e) = r.relay_error {
                        bail!("e-mail: {e}; the e-mails stay pending and are retried at the next run");
                    }
                }
            }
            Ok(())
        }
        NotifyCommand::TestMail { to } => {
            let Some(mailer) = &settings.mail else {
                bail!("no SMTP relay configured: set [smtp] host and from in qalqan.toml, or QALQAN_SMTP_HOST and QALQAN_SMTP_FROM");
            };
            let to = qalqan_domain::account::EmailAddress::parse(&to)?;
            let message = qalqan_mail::Message {
                to: to.clone(),
                subject: "Qalqan: проверка почты / пошта тексерісі / mail test".into(),
                body: "Это проверочное письмо Qalqan.\nБұл Qalqan-ның тексеру хаты.\nThis is a test message from Qalqan.\n".into(),
                id: format!("qalqan-test-{}", chrono::Utc::now().timestamp_millis()),
            };
            match qalqan_mail::send_all(&mailer.smtp, &[message]).await?.pop() {
                Some(qalqan_mail::Outcome::Sent) => {
                    println!("the relay {}:{} accepted a test message to {to}", mailer.smtp.host, mailer.smtp.port);
                    Ok(())
                }
                Some(qalqan_mail::Outcome::Refused { reply, .. }) => bail!("the relay refused the message to {to}: {reply}"),
                None => bail!("the relay gave no answer for the message"),
            }
        }
        NotifyCommand::List { login, unread } => {
            let mut out = String::new();
            for n in store.notifications(&login, unread).await? {
                let _ = writeln!(out, "{:>6} {:<8} {:<4} {}", n.id, n.kind, if n.read_at.is_some() { "read" } else { "new" }, n.message);
            }
            crate::print_stdout(&out)
        }
    }
}
