//! `qalqan`: the one binary of the Qalqan public-safety platform.
//!
//! Parses the command line, resolves settings (flags > `QALQAN_*` environment >
//! config file > defaults), opens the store chosen by the database URL's
//! scheme, and runs the command. Everything here is glue: the work happens
//! in the library crates.

mod analyze;
mod audit;
mod backup;
mod coordination;
mod demo;
mod evaluate;
mod filter;
mod forecast;
mod import;
mod plan;
mod report;
mod settings;
mod stats;
mod territory;
mod threat;
mod user;

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use qalqan_store::Store;

use crate::settings::Settings;

/// Qalqan — place-based crime analysis and inter-agency coordination.
#[derive(Debug, Parser)]
#[command(name = "qalqan", version, about, long_about = None)]
struct Cli {
    /// Database URL: sqlite://PATH or postgres://USER@HOST:PORT/DB [default: sqlite://DATA_DIR/qalqan.db]
    #[arg(long, global = true, env = "QALQAN_DATABASE", hide_env_values = true)]
    database: Option<String>,
    /// Directory for the embedded database and demo files [default: ./qalqan-data]
    #[arg(long, global = true, env = "QALQAN_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Who is working, recorded in the audit trail [default: $USER]
    #[arg(long, global = true, env = "QALQAN_USER")]
    user: Option<String>,
    /// Config file (TOML: database, database_password_file, data_dir, listen, secure_cookie, session_hours, [smtp]) [default: ./qalqan.toml if present]
    #[arg(long, global = true, env = "QALQAN_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load the demo data (Toronto incidents, Astana boundary) and serve the web page.
    Demo {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, env = "QALQAN_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Serve the web page and API.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080]
        #[arg(long, env = "QALQAN_LISTEN")]
        listen: Option<SocketAddr>,
    },
    /// Apply database migrations (every command also does this on start).
    Migrate,
    /// Territories and their districts.
    #[command(subcommand)]
    Territory(territory::TerritoryCommand),
    /// Import data files.
    #[command(subcommand)]
    Import(import::ImportCommand),
    /// Query incidents.
    #[command(subcommand)]
    Incidents(stats::IncidentsCommand),
    /// User accounts.
    #[command(subcommand)]
    User(user::UserCommand),
    /// The tamper-evident audit trail.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Analyse incidents: hotspot maps, time patterns, CompStat, near repeats.
    #[command(subcommand)]
    Analyze(analyze::AnalyzeCommand),
    /// Short-term hotspot forecasts and their backtests.
    #[command(subcommand)]
    Forecast(forecast::ForecastCommand),
    /// Planning: camera and post coverage, placement.
    #[command(subcommand)]
    Plan(plan::PlanCommand),
    /// Coordination bodies (councils, commissions, headquarters) that give assignments.
    #[command(subcommand)]
    Body(coordination::BodyCommand),
    /// Meetings of coordination bodies.
    #[command(subcommand)]
    Meeting(coordination::MeetingCommand),
    /// Assignments (поручения): issue, report, extend, accept; overdue lists.
    #[command(subcommand)]
    Assignment(coordination::AssignmentCommand),
    /// Reminders and escalations of assignments (in-app notifications).
    #[command(subcommand)]
    Notify(coordination::NotifyCommand),
    /// Facilities vulnerable to terrorism (the register).
    #[command(subcommand)]
    Facility(threat::FacilityCommand),
    /// The measures each threat level requires, by facility category (data).
    #[command(subcommand)]
    Measures(threat::MeasuresCommand),
    /// Inspections of protected facilities; findings become assignments.
    #[command(subcommand)]
    Inspection(threat::InspectionCommand),
    /// Terrorism threat levels: declare, extend, lift; checklists and readiness.
    #[command(subcommand)]
    Threat(threat::ThreatCommand),
    /// Prevention measures (camera clusters, posts, patrol plans, …) to evaluate.
    #[command(subcommand)]
    Intervention(evaluate::InterventionCommand),
    /// Did a measure work? Target, buffer and control before and after: WDQ and
    /// difference-in-differences tests, with a verdict.
    Evaluate(evaluate::EvaluateArgs),
    /// Reports: the council briefing pack (PDF or HTML, ru/kk/en).
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Writes a consistent backup of the whole store to one file, while the server goes on.
    Backup(backup::BackupArgs),
    /// Restores a backup into the configured database, which must be empty (all or nothing).
    Restore(backup::RestoreArgs),
    /// Retention rules per data category (`[retention]` in qalqan.toml): show them, or apply them now.
    #[command(subcommand)]
    Retention(backup::RetentionCommand),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("QALQAN_LOG").unwrap_or_else(|_| EnvFilter::new("info,sqlx=error"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .try_init();
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    let settings = Settings::resolve(cli.database, cli.data_dir, cli.config, cli.user)?;
    match cli.command {
        Command::Demo { listen } => demo::run(&settings, listen.unwrap_or(settings.listen)).await,
        Command::Serve { listen } => {
            let store = open_store(&settings).await?;
            serve(store, listen.unwrap_or(settings.listen), &settings).await
        }
        Command::Migrate => {
            let store = open_store(&settings).await?;
            let counts = store.table_counts().await?;
            println!(
                "database {} is up to date ({} territories, {} incidents)",
                settings.database_display(),
                counts.territories,
                counts.incidents
            );
            Ok(())
        }
        Command::Territory(cmd) => territory::run(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Import(cmd) => import::run(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Audit(cmd) => audit::run(&open_store(&settings).await?, cmd).await,
        Command::User(cmd) => user::run(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Incidents(cmd) => stats::run(&open_store(&settings).await?, cmd).await,
        // A Near Repeat Calculator file needs no database.
        Command::Analyze(analyze::AnalyzeCommand::NearRepeat(args)) if args.input.is_some() => analyze::near_repeat(None, args).await,
        Command::Analyze(cmd) => analyze::run(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Forecast(cmd) => forecast::run(&open_store(&settings).await?, cmd).await,
        Command::Plan(cmd) => plan::run(&open_store(&settings).await?, cmd).await,
        Command::Body(cmd) => coordination::run_body(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Meeting(cmd) => coordination::run_meeting(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Assignment(cmd) => coordination::run_assignment(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Notify(cmd) => coordination::run_notify(&open_store(&settings).await?, cmd, &settings).await,
        Command::Facility(cmd) => threat::run_facility(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Measures(cmd) => threat::run_measures(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Inspection(cmd) => threat::run_inspection(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Threat(cmd) => threat::run_threat(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Intervention(cmd) => evaluate::run_intervention(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Evaluate(args) => evaluate::run_evaluate(&open_store(&settings).await?, args).await,
        Command::Report(cmd) => report::run(&open_store(&settings).await?, cmd, &settings.actor()).await,
        Command::Backup(args) => backup::backup(&open_store(&settings).await?, args, &settings.actor()).await,
        Command::Restore(args) => backup::restore(&open_store(&settings).await?, args, &settings.actor()).await,
        Command::Retention(cmd) => backup::retention(&open_store(&settings).await?, cmd, &settings).await,
    }
}

/// Connects to the configured database and brings its schema up to date.
async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let store = Store::connect(&settings.database).await.with_context(|| format!("opening database {}", settings.database_display()))?;
    let report = store.migrate().await.with_context(|| format!("migrating database {}", settings.database_display()))?;
    if !report.applied.is_empty() {
        tracing::info!(applied = ?report.applied, "database migrated");
    }
    Ok(store)
}

/// Serves HTTP until Ctrl-C or SIGTERM.
async fn serve(store: Store, listen: SocketAddr, settings: &Settings) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let addr = listener.local_addr()?;
    let mut state = qalqan_server::AppState::new(store.clone());
    state.sessions.secure_cookie = settings.secure_cookie;
    state.sessions.ttl = chrono::Duration::hours(i64::from(settings.session_hours));
    state.mailer = settings.mail.clone().map(std::sync::Arc::new);
    state.retention = settings.retention;
    state.jobs = settings.jobs;
    if let Some(m) = &settings.mail {
        tracing::info!(relay = %format!("{}:{}", m.smtp.host, m.smtp.port), from = %m.smtp.from, "notifications are also e-mailed");
    }
    if !qalqan_server::web::has_embedded_ui() && matches!(state.web, qalqan_server::web::WebAssets::Embedded) {
        tracing::warn!("this binary was built without the web UI (web/dist); only the API is served");
    }
    if let Some(token) = qalqan_server::setup::issue_token(&state).await.map_err(|e| anyhow::anyhow!("{e}"))? {
        println!("No accounts yet. Create the first administrator at this one-time link (valid until the server stops):");
        // The token travels in the URL fragment, which browsers never send to the server (or to its logs).
        println!("  http://{addr}/#/setup?token={token}");
        println!(
            "  or: curl -X POST http://{addr}/api/v1/setup -H 'Content-Type: application/json' -d '{{\"token\":\"{token}\",\"login\":\"admin\",\"display_name\":\"Administrator\",\"password\":\"…at least 12 characters…\"}}'"
        );
        println!("  or from the command line: qalqan user add LOGIN --role administrator");
    }
    // The exact line tests and scripts wait for.
    println!("Qalqan is serving on http://{addr}/");
    tracing::info!(%addr, "serving");
    qalqan_server::serve(state, listener, shutdown_signal()).await.context("serving HTTP")?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

/// Writes to stdout; a closed pipe (`qalqan … | head`) is not an error.
pub(crate) fn print_stdout(text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}
