//! `qalqan report council`: the council briefing pack as PDF or HTML (see
//! `qalqan_server::council`).

use std::path::PathBuf;

use anyhow::{Context, bail};
use chrono::NaiveDate;
use clap::Subcommand;
use qalqan_domain::TerritoryName;
use qalqan_domain::audit::Actor;
use qalqan_store::Store;

#[derive(Debug, Subcommand)]
pub enum ReportCommand {
    /// The briefing pack for the coordination council: CompStat, hotspot and forecast maps,
    /// hour × weekday, near repeats, camera and post coverage, assignments, threat levels,
    /// evaluated measures, and how to reproduce it. PDF or HTML by the file's extension.
    Council {
        #[arg(long)]
        territory: String,
        /// FROM..TO, local days YYYY-MM-DD (inclusive).
        #[arg(long, value_parser = period)]
        period: (NaiveDate, NaiveDate),
        /// ru, kk or en.
        #[arg(long, default_value = "ru")]
        lang: String,
        /// The file to write: .pdf or .html.
        #[arg(long)]
        out: PathBuf,
        /// The date printed on the pack and used as "today" for assignments [default: today].
        #[arg(long)]
        date: Option<NaiveDate>,
    },
}

fn period(s: &str) -> Result<(NaiveDate, NaiveDate), String> {
    let (a, b) = s.split_once("..").ok_or_else(|| format!("'{s}' is not FROM..TO, e.g. 2021-01-01..2021-12-31"))?;
    let d = |v: &str| NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| format!("'{v}' is not a date YYYY-MM-DD"));
    let (from, to) = (d(a)?, d(b)?);
    if to < from {
        return Err(format!("the period {from}..{to} runs backwards"));
    }
    Ok((from, to))
}

pub async fn run(store: &Store, cmd: ReportCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        ReportCommand::Council { territory, period: (from, to), lang, out, date } => {
            let html = match out.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
                Some("pdf") => false,
                Some("html" | "htm") => true,
                _ => bail!("--out {}: the file must end in .pdf or .html", out.display()),
            };
            let lang = qalqan_server::council::lang(&lang).map_err(|e| anyhow::anyhow!("--lang: {e}"))?;
            let t = store.territory(&TerritoryName::parse(&territory)?).await?;
            let today = date.unwrap_or_else(|| chrono::Local::now().date_naive());
            let params = qalqan_server::council::CouncilParams { from, to, lang, today };
            let started = std::time::Instant::now();
            let doc = qalqan_server::council::council_pack(store, &t, &params).await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let missing = qalqan_report::missing_glyphs(&doc.text())?;
            if !missing.is_empty() {
                tracing::warn!(?missing, "the embedded fonts have no glyph for some characters");
            }
            let bytes = if html {
                qalqan_report::html(&doc).into_bytes()
            } else {
                tokio::task::spawn_blocking(move || qalqan_report::pdf(&doc)).await??
            };
            // Written next to the target, then renamed: a reader never sees half a file.
            let tmp = out.with_extension("partial");
            std::fs::write(&tmp, &bytes).with_context(|| format!("writing {}", tmp.display()))?;
            std::fs::rename(&tmp, &out).with_context(|| format!("writing {}", out.display()))?;
            let entry = qalqan_domain::audit::NewAuditEntry {
                actor: actor.clone(),
                action: "report.council".into(),
                object: format!("territory:{}", t.id.0),
                detail: serde_json::json!({"from": from.to_string(), "to": to.to_string(), "lang": lang.code(), "file": out.display().to_string()}).to_string(),
                purpose: None,
            };
            store.audit(&entry).await?;
            println!("{}: {} bytes ({:.1} s)", out.display(), bytes.len(), started.elapsed().as_secs_f64());
            Ok(())
        }
    }
}
