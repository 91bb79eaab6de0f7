//! How long each category of data is kept.
//!
//! Qalqan holds police records, accounts' sessions and inter-agency notifications; each category
//! has its own rule, set in `[retention]` of the config and enforced by a job (hourly in the
//! server, `qalqan retention run` by hand). Every purge is audited with its cutoff and count.
//! The audit log itself is never purged: it is the evidence of who did what, hash-chained, and
//! append-only in the database.

use chrono::{DateTime, Duration, Months, Utc};

/// A category of data with its own retention rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RetentionCategory {
    /// Incident records, by when they occurred.
    Incidents,
    /// Login sessions, once expired or revoked.
    Sessions,
    /// Reminders and escalations, once their assignment is accepted or cancelled.
    Notifications,
}

impl RetentionCategory {
    /// Every category, in the order the job purges them.
    pub const ALL: [RetentionCategory; 3] = [RetentionCategory::Incidents, RetentionCategory::Sessions, RetentionCategory::Notifications];

    /// Stable name used in the config, the audit trail and messages.
    pub fn code(self) -> &'static str {
        match self {
            RetentionCategory::Incidents => "incidents",
            RetentionCategory::Sessions => "sessions",
            RetentionCategory::Notifications => "notifications",
        }
    }
}

/// The retention rules. Defaults keep incident records for ever (the analyses compare years, and
/// the law of the deployment decides), ended sessions 30 days, settled notifications a year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Incident records older than this many years (by occurrence) are deleted; `None`: kept.
    pub incidents_years: Option<u32>,
    /// Sessions that ended (expired or revoked) more than this many days ago are deleted.
    pub sessions_days: u32,
    /// Notifications older than this many days, of assignments accepted or cancelled, are deleted.
    pub notifications_days: u32,
}

impl Default for RetentionPolicy {
    fn default() -> Self {
        Self { incidents_years: None, sessions_days: 30, notifications_days: 365 }
    }
}

impl RetentionPolicy {
    /// The cutoff of each category with a rule at `now`: data older than it goes.
    ///
    /// ```
    /// use chrono::{TimeZone, Utc};
    /// use qalqan_domain::retention::{RetentionCategory, RetentionPolicy};
    /// let now = Utc.with_ymd_and_hms(2026, 12, 5, 0, 0, 0).unwrap();
    /// let rules = RetentionPolicy { incidents_years: Some(5), ..RetentionPolicy::default() }.cutoffs(now);
    /// assert_eq!(rules[0], (RetentionCategory::Incidents, Utc.with_ymd_and_hms(2021, 12, 5, 0, 0, 0).unwrap()));
    /// assert_eq!(rules.len(), 3);
    /// ```
    pub fn cutoffs(&self, now: DateTime<Utc>) -> Vec<(RetentionCategory, DateTime<Utc>)> {
        let mut out = Vec::new();
        if let Some(y) = self.incidents_years {
            out.push((RetentionCategory::Incidents, now.checked_sub_months(Months::new(12 * y)).unwrap_or(DateTime::<Utc>::MIN_UTC)));
        }
        out.push((RetentionCategory::Sessions, now - Duration::days(i64::from(self.sessions_days))));
        out.push((RetentionCategory::Notifications, now - Duration::days(i64::from(self.notifications_days))));
        out
    }
}
