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
    /// The SMTP relay reminders and escalations are e-mailed through; none: in-app only.
    pub mail: Option<qalqan_server::email::Mailer>,
    /// `[retention]`: how long each category of data is kept.
    pub retention: qalqan_domain::retention::RetentionPolicy,
    /// `[jobs]`: this instance's job workers.
    pub jobs: qalqan_server::jobs::JobSettings,
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
            .field("mail", &self.mail)
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
    smtp: Option<SmtpFile>,
    retention: Option<RetentionFile>,
    jobs: Option<JobsFile>,
}

/// `[jobs]` of the config file: the job workers of this instance.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct JobsFile {
    workers: Option<usize>,
    stale_seconds: Option<u64>,
}

/// `[jobs]`, each field overridden by `QALQAN_JOB_WORKERS` / `QALQAN_JOB_STALE_SECONDS`.
fn job_settings(file: JobsFile) -> anyhow::Result<qalqan_server::jobs::JobSettings> {
    let mut j = qalqan_server::jobs::JobSettings::default();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    if let Some(w) = env("QALQAN_JOB_WORKERS") {
        j.workers = w.trim().parse().with_context(|| format!("QALQAN_JOB_WORKERS '{w}' is not a number"))?;
    } else if let Some(w) = file.workers {
        j.workers = w;
    }
    if let Some(s) = env("QALQAN_JOB_STALE_SECONDS") {
        j.stale_seconds = s.trim().parse().with_context(|| format!("QALQAN_JOB_STALE_SECONDS '{s}' is not a number"))?;
    } else if let Some(s) = file.stale_seconds {
        j.stale_seconds = s;
    }
    if j.workers > 64 || !(2..=86_400).contains(&j.stale_seconds) {
        anyhow::bail!("[jobs] workers must be 0-64 and stale_seconds 2-86400 (got {} and {})", j.workers, j.stale_seconds);
    }
    Ok(j)
}

/// `[retention]` of the config file: how long each category of data is kept.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RetentionFile {
    incidents_years: Option<u32>,
    sessions_days: Option<u32>,
    notifications_days: Option<u32>,
}

/// The rules of `[retention]`, defaults where unset; nonsense (0 days, 500 years) refused.
fn retention_settings(file: RetentionFile) -> anyhow::Result<qalqan_domain::retention::RetentionPolicy> {
    let mut p = qalqan_domain::retention::RetentionPolicy::default();
    if let Some(y) = file.incidents_years {
        if !(1..=100).contains(&y) {
            anyhow::bail!("[retention] incidents_years {y} must be 1-100 (leave it out to keep incidents for ever)");
        }
        p.incidents_years = Some(y);
    }
    for (name, value, target) in [
        ("sessions_days", file.sessions_days, &mut p.sessions_days),
        ("notifications_days", file.notifications_days, &mut p.notifications_days),
    ] {
        if let Some(d) = value {
            if !(1..=36_500).contains(&d) {
                anyhow::bail!("[retention] {name} {d} must be 1-36500");
            }
            *target = d;
        }
    }
    Ok(p)
}

/// `[smtp]` of the config file: the relay reminders and escalations are e-mailed through.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct SmtpFile {
    host: Option<String>,
    port: Option<u16>,
    from: Option<String>,
    from_name: Option<String>,
    helo: Option<String>,
    timeout_seconds: Option<u64>,
    /// Base URL of the web UI, for links in the e-mails.
    public_url: Option<String>,
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
        let mail = mail_settings(file.smtp.unwrap_or_default())?;
        let retention = retention_settings(file.retention.unwrap_or_default())?;
        let jobs = job_settings(file.jobs.unwrap_or_default())?;
        Ok(Self { database, data_dir, listen, user, secure_cookie, session_hours, mail, retention, jobs })
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

/// The relay from `[smtp]`, each field overridden by `QALQAN_SMTP_HOST`, `QALQAN_SMTP_PORT`,
/// `QALQAN_SMTP_FROM` and `QALQAN_PUBLIC_URL`; none when no host is set.
fn mail_settings(file: SmtpFile) -> anyhow::Result<Option<qalqan_server::email::Mailer>> {
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
    let Some(host) = env("QALQAN_SMTP_HOST").or(file.host) else {
        return Ok(None);
    };
    let from = env("QALQAN_SMTP_FROM").or(file.from).context("an SMTP relay needs a sender: set [smtp] from or QALQAN_SMTP_FROM")?;
    let from = qalqan_domain::account::EmailAddress::parse(&from).context("[smtp] from")?;
    let mut smtp = qalqan_mail::SmtpParams::new(host.trim(), from);
    if let Some(p) = env("QALQAN_SMTP_PORT") {
        smtp.port = p.parse().with_context(|| format!("QALQAN_SMTP_PORT '{p}' is not a port number"))?;
    } else if let Some(p) = file.port {
        smtp.port = p;
    }
    if let Some(name) = file.from_name {
        smtp.from_name = name;
    }
    if let Some(helo) = file.helo {
        smtp.helo = helo;
    }
    if let Some(t) = file.timeout_seconds {
        if !(1..=300).contains(&t) {
            anyhow::bail!("[smtp] timeout_seconds {t} must be 1-300");
        }
        smtp.timeout = std::time::Duration::from_secs(t);
    }
    let public_url = env("QALQAN_PUBLIC_URL").or(file.public_url);
    if let Some(u) = &public_url {
        if !(u.starts_with("https://") || u.starts_with("http://")) {
            anyhow::bail!("public_url '{u}' must start with https:// or http://");
        }
    }
    Ok(Some(qalqan_server::email::Mailer { smtp, public_url }))
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
            mail: None,
            retention: Default::default(),
            jobs: Default::default(),
        };
        assert!(!format!("{s:?}").contains("s3cr"), "{s:?}");
    }

    #[test]
    fn an_smtp_section_names_what_is_missing_or_wrong() {
        let file = |t: &str| toml::from_str::<ConfigFile>(t).unwrap().smtp.unwrap_or_default();
        assert_eq!(mail_settings(file("")).unwrap(), None, "no relay: in-app notifications only");
        let e = mail_settings(file("[smtp]\nhost = \"mail.police.local\"")).unwrap_err();
        assert!(e.to_string().contains("[smtp] from"), "{e}");
        let e = mail_settings(file("[smtp]\nhost = \"m\"\nfrom = \"qalqan\"")).unwrap_err();
        assert!(format!("{e:#}").contains("'qalqan' is not an e-mail address"), "{e:#}");
        let m = mail_settings(file(
            "[smtp]\nhost = \"mail.police.local\"\nfrom = \"qalqan@police.kz\"\npublic_url = \"https://qalqan.police.kz\"",
        ))
        .unwrap()
        .unwrap();
        assert_eq!((m.smtp.host.as_str(), m.smtp.port, m.smtp.from.as_str()), ("mail.police.local", 25, "qalqan@police.kz"));
        assert_eq!(m.public_url.as_deref(), Some("https://qalqan.police.kz"));
        assert!(mail_settings(file("[smtp]\nhost = \"m\"\nfrom = \"q@p.kz\"\npublic_url = \"qalqan.kz\"")).is_err());
        assert!(toml::from_str::<ConfigFile>("[smtp]\npassword = \"x\"").is_err(), "unknown keys are refused");
    }
}
