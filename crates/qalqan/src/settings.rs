//! Settings: command-line flags and `QALQAN_*` variables override a config
//! file, which overrides the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Database URL.
    pub database: String,
    /// Where the embedded database and demo files live.
    pub data_dir: PathBuf,
    /// Default listen address of `serve` and `demo`.
    pub listen: SocketAddr,
    /// Who runs the command (for the audit trail).
    pub user: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    database: Option<String>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
}

impl Settings {
    pub fn resolve(
        database: Option<String>,
        data_dir: Option<PathBuf>,
        config: Option<PathBuf>,
        user: Option<String>,
    ) -> anyhow::Result<Self> {
        let file = match config {
            Some(path) => read_config(&path)?,
            None if Path::new("qalqan.toml").exists() => read_config(Path::new("qalqan.toml"))?,
            None => ConfigFile::default(),
        };
        let data_dir = data_dir.or(file.data_dir).unwrap_or_else(|| PathBuf::from("qalqan-data"));
        let database = database.or(file.database).unwrap_or_else(|| format!("sqlite://{}", data_dir.join("qalqan.db").display()));
        let listen = file.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080)));
        let user = user.or_else(|| std::env::var("USER").ok()).filter(|u| !u.trim().is_empty()).unwrap_or_else(|| "unknown".into());
        Ok(Self { database, data_dir, listen, user })
    }

    /// The command-line operator as an audit actor.
    pub fn actor(&self) -> qalqan_domain::audit::Actor {
        qalqan_domain::audit::Actor::cli(&self.user)
    }

    /// The database URL with any password hidden.
    pub fn database_display(&self) -> String {
        qalqan_store::redact(&self.database)
    }
}

fn read_config(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}
