//! Settings: command-line flags and `QALQAN_*` variables override a config
//! file, which overrides the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

/// Resolved settings. `Debug` hides the database password: settings may be logged, secrets may not.
#[derive(Clone)]
pub struct Settings {
    /// Database URL (with the password, if any).
    pub database: String,
    /// Where the embedded database and demo files live.
    pub data_dir: PathBuf,
    /// Default listen address of `serve` and `demo`.
    pub listen: SocketAddr,
    /// Who runs the command (for the audit trail).
    pub user: String,
    /// Mark the session cookie `Secure` (set when users reach Qalqan over TLS, e.g. behind a proxy). Default false.
    pub secure_cookie: bool,
    /// Session lifetime in hours. Default 12 (a shift).
    pub session_hours: u32,
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &self.database_display())
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("user", &self.user)
            .field("secure_cookie", &self.secure_cookie)
            .field("session_hours", &self.session_hours)
            .finish()
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    database: Option<String>,
    /// A file holding the database password (a deployment secret), put into the URL at start.
    database_password_file: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
    secure_cookie: Option<bool>,
    session_hours: Option<u32>,
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
        let mut database = database.or(file.database).unwrap_or_else(|| format!("sqlite://{}", data_dir.join("qalqan.db").display()));
        let password_file = std::env::var_os("QALQAN_DATABASE_PASSWORD_FILE").map(PathBuf::from).or(file.database_password_file);
        if let Some(path) = password_file {
            let secret =
                std::fs::read_to_string(&path).with_context(|| format!("reading the database password file {}", path.display()))?;
            database = with_password(&database, secret.trim_end_matches(['\r', '\n']))?;
        }
        let listen = match std::env::var("QALQAN_LISTEN") {
            Ok(v) => v.parse().with_context(|| format!("QALQAN_LISTEN '{v}' is not an address such as 127.0.0.1:8080"))?,
            Err(_) => file.listen.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 8080))),
        };
        let user = user.or_else(|| std::env::var("USER").ok()).filter(|u| !u.trim().is_empty()).unwrap_or_else(|| "unknown".into());
        let secure_cookie = file.secure_cookie.unwrap_or(false);
        let session_hours = file.session_hours.unwrap_or(12);
        if !(1..=24 * 30).contains(&session_hours) {
            anyhow::bail!("session_hours {session_hours} must be between 1 and 720");
        }
        Ok(Self { database, data_dir, listen, user, secure_cookie, session_hours })
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

/// `postgres://user@host/db` + password → `postgres://user:PASSWORD@host/db` (percent-encoded).
fn with_password(url: &str, password: &str) -> anyhow::Result<String> {
    let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@')) else {
        anyhow::bail!("a database password file needs a URL with a user, such as postgres://qalqan@db.example/qalqan");
    };
    let user = &url[scheme_end + 3..at];
    if user.contains(':') {
        anyhow::bail!("the database URL already has a password; remove it or the password file");
    }
    let encoded: String = password
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-._~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    Ok(format!("{}{user}:{encoded}{}", &url[..scheme_end + 3], &url[at..]))
}

fn read_config(path: &Path) -> anyhow::Result<ConfigFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
    toml::from_str(&text).with_context(|| format!("config file {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_file_completes_the_url_and_debug_hides_it() {
        let url = with_password("postgres://qalqan@db:5432/q", "s3cr@t/x").unwrap();
        assert_eq!(url, "postgres://qalqan:s3cr%40t%2Fx@db:5432/q");
        assert!(with_password("postgres://a:b@db/q", "x").is_err());
        let s = Settings {
            database: url,
            data_dir: "d".into(),
            listen: SocketAddr::from(([127, 0, 0, 1], 1)),
            user: "u".into(),
            secure_cookie: false,
            session_hours: 12,
        };
        assert!(!format!("{s:?}").contains("s3cr"), "{s:?}");
    }
}
