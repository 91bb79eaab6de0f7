//! `qalqan audit …`: read and verify the tamper-evident audit trail.

use std::fmt::Write as _;

use anyhow::bail;
use clap::Subcommand;
use qalqan_domain::audit::ChainBreak;
use qalqan_store::Store;

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the hash chain; fails, naming the first bad entry, if any entry was edited, removed or inserted.
    Verify,
    /// List entries, oldest first.
    List {
        /// Only entries after this id.
        #[arg(long, default_value_t = 0)]
        after: i64,
        /// At most this many entries.
        #[arg(long, default_value_t = 50)]
        limit: u32,
    },
}

pub async fn run(store: &Store, cmd: AuditCommand) -> anyhow::Result<()> {
    match cmd {
        AuditCommand::Verify => {
            let (count, result) = store.verify_audit().await?;
            match result {
                Ok(head) => {
                    println!("audit trail intact: {count} entries; head hash {head}");
                    println!("(keep the head hash outside the database: removing entries from the end can only be seen against it)");
                    Ok(())
                }
                Err(ChainBreak::Altered { id }) => {
                    bail!("audit trail broken: entry {id} was altered (its hash does not match its content)")
                }
                Err(ChainBreak::Unlinked { id }) => {
                    bail!("audit trail broken: entry {id} does not follow the entry before it (entries removed, inserted or reordered)")
                }
                Err(ChainBreak::Gap { after, next }) => bail!("audit trail broken: entries between {after} and {next} are missing"),
            }
        }
        AuditCommand::List { after, limit } => {
            let mut out = String::new();
            for e in store.audit_entries(after, limit).await? {
                let purpose = e.purpose.as_deref().map(|p| format!(" purpose: {p}")).unwrap_or_default();
                let _ = writeln!(
                    out,
                    "{:>6}  {}  {}@{}  {}  {}  {}{purpose}",
                    e.id,
                    e.at.format("%Y-%m-%d %H:%M:%S%.3f UTC"),
                    e.actor,
                    e.origin,
                    e.action,
                    e.object,
                    e.detail
                );
            }
            crate::print_stdout(&out)
        }
    }
}
