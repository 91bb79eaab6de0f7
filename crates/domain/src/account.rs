//! Accounts: who may use Qalqan, in which role, for which agency and territories.

use std::fmt;
use std::str::FromStr;

use crate::DomainError;

/// What a user may do. Territory scope limits *where*; the role limits *what*.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Accounts, agencies, territories, the audit view.
    Administrator,
    /// Imports, analyses, reports.
    Analyst,
    /// Reads analyses and plans deployments.
    Commander,
    /// Sees their beat.
    DistrictInspector,
    /// Sees and reports on their agency's assignments.
    AgencyExecutor,
    /// Reads aggregated figures only.
    Viewer,
}

impl Role {
    pub const ALL: &'static [Role] =
        &[Role::Administrator, Role::Analyst, Role::Commander, Role::DistrictInspector, Role::AgencyExecutor, Role::Viewer];

    /// Stable code stored in the database.
    pub fn code(self) -> &'static str {
        match self {
            Role::Administrator => "administrator",
            Role::Analyst => "analyst",
            Role::Commander => "commander",
            Role::DistrictInspector => "district_inspector",
            Role::AgencyExecutor => "agency_executor",
            Role::Viewer => "viewer",
        }
    }
}

impl FromStr for Role {
    type Err = DomainError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL.iter().copied().find(|r| r.code() == s.trim()).ok_or_else(|| DomainError::UnknownRole { value: s.to_owned() })
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

/// A login name: 2–64 characters of lowercase letters, digits, `.`, `_`, `-`.
///
/// ```
/// use qalqan_domain::account::Login;
/// assert_eq!(Login::parse(" A.Kassymova ").unwrap().as_str(), "a.kassymova");
/// assert!(Login::parse("a b").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Login(String);

impl Login {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let l = s.trim().to_lowercase();
        let ok =
            (2..=64).contains(&l.chars().count()) && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-_".contains(c));
        if ok { Ok(Self(l)) } else { Err(DomainError::BadLogin { value: s.to_owned() }) }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address that reminders and escalations may be sent to: one `@`, a non-empty local
/// part, a domain with a dot, at most 254 characters, and nothing that could break out of an
/// e-mail header (no spaces, control characters, `<`, `>`, `,`, `;` or quotes). Lower-cased
/// domain; the local part is kept as written.
///
/// ```
/// use qalqan_domain::account::EmailAddress;
/// assert_eq!(EmailAddress::parse(" Duty.Officer@Police.KZ ").unwrap().as_str(), "Duty.Officer@police.kz");
/// assert!(EmailAddress::parse("officer@police").is_err());
/// assert!(EmailAddress::parse("a@b.kz\r\nBcc: x@y.kz").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        let t = s.trim();
        let bad = || DomainError::BadEmail { value: s.to_owned() };
        if t.len() > 254 || t.chars().any(|c| c.is_whitespace() || c.is_control() || "<>,;\"\\()[]".contains(c)) {
            return Err(bad());
        }
        let (local, domain) = t.split_once('@').ok_or_else(bad)?;
        let labels_ok = domain.split('.').count() >= 2
            && domain.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if local.is_empty() || local.len() > 64 || local.starts_with('.') || local.ends_with('.') || !labels_ok {
            return Err(bad());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password a user may set: at least 12 characters, not the login, not
/// one repeated character. (Length beats composition rules: NIST SP 800-63B.)
///
/// ```
/// use qalqan_domain::account::{Login, NewPassword};
/// let login = Login::parse("analyst").unwrap();
/// assert!(NewPassword::parse("correct horse battery", &login).is_ok());
/// assert!(NewPassword::parse("short", &login).is_err());
/// assert!(NewPassword::parse("analystanalyst", &login).is_err());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct NewPassword(String);

impl NewPassword {
    pub const MIN_CHARS: usize = 12;

    pub fn parse(s: &str, login: &Login) -> Result<Self, DomainError> {
        let n = s.chars().count();
        if n < Self::MIN_CHARS {
            return Err(DomainError::WeakPassword { reason: format!("it has {n} characters; at least {} are needed", Self::MIN_CHARS) });
        }
        if n > 256 {
            return Err(DomainError::WeakPassword { reason: "it is longer than 256 characters".into() });
        }
        if s.to_lowercase().contains(login.as_str()) {
            return Err(DomainError::WeakPassword { reason: "it contains the login".into() });
        }
        let mut chars = s.chars();
        let first = chars.next();
        if chars.all(|c| Some(c) == first) {
            return Err(DomainError::WeakPassword { reason: "it is one character repeated".into() });
        }
        Ok(Self(s.to_owned()))
    }

    /// The password itself, for hashing.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for NewPassword {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewPassword(***)")
    }
}
