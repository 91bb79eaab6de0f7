//! `qalqan user …`: accounts from the command line (the server's first
//! administrator, scripted provisioning, lock-outs).
//!
//! New and reset passwords are generated, printed once and must be changed
//! at the next login; no password is ever read from, or written to, a file.

use std::fmt::Write as _;

use anyhow::Context;
use clap::Subcommand;
use qalqan_domain::account::{Login, NewPassword, Role};
use qalqan_domain::audit::Actor;
use qalqan_domain::{DistrictName, TerritoryName};
use qalqan_server::auth::{generate_password, hash_password};
use qalqan_store::{AccountState, NewUser, PasswordState, Store};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; prints a one-time password to change at first login.
    Add {
        login: String,
        /// administrator, analyst, commander, district_inspector, agency_executor or viewer.
        #[arg(long)]
        role: String,
        /// Full name shown in the interface and the audit trail [default: the login].
        #[arg(long)]
        name: Option<String>,
        /// Agency (police department, akimat, prosecutor's office, …); created if new.
        #[arg(long)]
        agency: Option<String>,
        /// Territories the user may see (repeatable).
        #[arg(long)]
        territory: Vec<String>,
        /// Where reminders and escalations are e-mailed (when an SMTP relay is configured).
        #[arg(long)]
        email: Option<String>,
    },
    /// List accounts.
    List,
    /// Block an account and end its sessions.
    Disable { login: String },
    /// Unblock an account.
    Enable { login: String },
    /// Issue a new one-time password and end the account's sessions.
    Reset { login: String },
    /// Set the address a user's reminders and escalations are e-mailed to (--clear removes it).
    Email {
        login: String,
        #[arg(required_unless_present = "clear")]
        address: Option<String>,
        #[arg(long, conflicts_with = "address")]
        clear: bool,
    },
    /// Let a user see a territory, or one district of it.
    Grant {
        login: String,
        #[arg(long)]
        territory: String,
        #[arg(long)]
        district: Option<String>,
    },
}

fn login(s: &str) -> anyhow::Result<Login> {
    Ok(Login::parse(s)?)
}

fn one_time_password(login: &Login) -> anyhow::Result<(String, String)> {
    let plain = generate_password()?;
    let hash = hash_password(&NewPassword::parse(&plain, login)?)?;
    Ok((plain, hash))
}

pub async fn run(store: &Store, cmd: UserCommand, actor: &Actor) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add { login: l, role, name, agency, territory, email } => {
            let l = login(&l)?;
            let role: Role = role.parse()?;
            let email = email.as_deref().map(qalqan_domain::account::EmailAddress::parse).transpose()?;
            let mut territories = Vec::new();
            for t in &territory {
                territories.push(store.territory(&TerritoryName::parse(t)?).await?.id);
            }
            let (plain, hash) = one_time_password(&l)?;
            let user = NewUser {
                display_name: name.unwrap_or_else(|| l.to_string()),
                login: l.clone(),
                role,
                agency,
                password_hash: hash,
                password_state: PasswordState::MustChange,
            };
            store.add_user(&user, actor).await?;
            for t in territories {
                store.grant_scope(&l, t, None, actor).await?;
            }
            if let Some(e) = &email {
                store.set_email(&l, Some(e), actor).await?;
            }
            println!("user {l} created ({role}); one-time password, to be changed at first login:\n{plain}");
            Ok(())
        }
        UserCommand::List => {
            let territories = store.territories().await?;
            let name = |id: qalqan_domain::TerritoryId| territories.iter().find(|t| t.id == id).map_or("?".to_owned(), |t| t.name.clone());
            let mut out = String::new();
            let _ = writeln!(out, "{:<20} {:<18} {:<24} {:<9} territories", "login", "role", "agency", "state");
            for u in store.users().await? {
                let scopes: Vec<String> = u
                    .scopes
                    .iter()
                    .map(|(t, d)| match d {
                        None => name(*t),
                        Some(d) => format!("{} (district {})", name(*t), d.0),
                    })
                    .collect();
                let state = match u.state {
                    AccountState::Active => "active",
                    AccountState::Disabled => "disabled",
                };
                let _ = writeln!(
                    out,
                    "{:<20} {:<18} {:<24} {:<9} {}",
                    u.login,
                    u.role,
                    u.agency.as_deref().unwrap_or("-"),
                    state,
                    scopes.join(", ")
                );
            }
            crate::print_stdout(&out)
        }
        UserCommand::Disable { login: l } => {
            store.set_account_state(&login(&l)?, AccountState::Disabled, actor).await?;
            println!("user {l} disabled; its sessions are ended");
            Ok(())
        }
        UserCommand::Enable { login: l } => {
            store.set_account_state(&login(&l)?, AccountState::Active, actor).await?;
            println!("user {l} enabled");
            Ok(())
        }
        UserCommand::Reset { login: l } => {
            let l = login(&l)?;
            store.user(&l).await?.with_context(|| format!("no user '{l}'"))?;
            let (plain, hash) = one_time_password(&l)?;
            store.set_password(&l, &hash, PasswordState::MustChange, None, actor).await?;
            println!("password of {l} reset; one-time password, to be changed at next login:\n{plain}");
            Ok(())
        }
        UserCommand::Email { login: l, address, clear: _ } => {
            let l = login(&l)?;
            let email = address.as_deref().map(qalqan_domain::account::EmailAddress::parse).transpose()?;
            store.set_email(&l, email.as_ref(), actor).await?;
            match email {
                Some(e) => println!("{l}'s reminders and escalations are e-mailed to {e}"),
                None => println!("{l} has no e-mail address now (in-app notifications only)"),
            }
            Ok(())
        }
        UserCommand::Grant { login: l, territory, district } => {
            let l = login(&l)?;
            let t = store.territory(&TerritoryName::parse(&territory)?).await?;
            let d = match district {
                None => None,
                Some(name) => {
                    let name = DistrictName::parse(&name)?;
                    Some(t.district_by_name(name.as_str()).with_context(|| format!("territory {} has no district '{name}'", t.name))?.id)
                }
            };
            store.grant_scope(&l, t.id, d, actor).await?;
            println!("{l} may now see {}", t.name);
            Ok(())
        }
    }
}
