//! Inter-agency coordination: bodies (councils, commissions, headquarters), their meetings and
//! protocol items, and the assignments (поручения) those items give, with the lifecycle every
//! assignment follows until it is executed or cancelled.
//!
//! The lifecycle is a closed state machine ([`AssignmentStatus::after`]): an assignment is drafted,
//! issued for execution, reported on by its executor, then accepted by its controller (removed from
//! control) or returned for rework; it may be cancelled while open. Deadlines are fixed dates or
//! recurring ("quarterly by the 5th"); an open assignment past its deadline is overdue
//! ([`is_overdue`]). An executor may ask for more time; the controller grants or refuses it.

use chrono::{Datelike, Months, NaiveDate};

use crate::DomainError;

code_enum!(
    /// What kind of body gives assignments.
    BodyKind, "body kind", {
        /// Coordination council on law and order (координационный совет).
        CoordinationCouncil => "coordination_council",
        /// Anti-terrorism commission (антитеррористическая комиссия).
        AntiTerroristCommission => "antiterrorist_commission",
        /// Operational headquarters (оперативный штаб).
        OperationalHeadquarters => "operational_headquarters",
        Other => "other",
    }
);

code_enum!(
    /// How urgent an assignment is.
    Priority, "priority", {
        Normal => "normal",
        High => "high",
        Urgent => "urgent",
    }
);

code_enum!(
    /// Where an assignment stands.
    AssignmentStatus, "assignment status", {
        /// Being written; not yet binding.
        Draft => "draft",
        /// Issued: the executor works on it (на исполнении).
        OnExecution => "on_execution",
        /// The executor has reported; the controller decides.
        ReportSubmitted => "report_submitted",
        /// Sent back by the controller: the executor works on it again.
        Returned => "returned",
        /// Accepted by the controller: executed, removed from control (снято с контроля).
        Accepted => "accepted",
        Cancelled => "cancelled",
    }
);

code_enum!(
    /// What happens to an assignment.
    AssignmentAction, "assignment action", {
        /// Draft → on execution (the author).
        Issue => "issue",
        /// On execution or returned → report submitted (the executor).
        SubmitReport => "submit_report",
        /// Report submitted → accepted (the controller).
        Accept => "accept",
        /// Report submitted → returned for rework (the controller).
        Return => "return",
        /// Any open state → cancelled (the author or the controller).
        Cancel => "cancel",
    }
);

impl AssignmentStatus {
    /// Still on control: issued and neither accepted nor cancelled.
    pub fn is_open(self) -> bool {
        matches!(self, Self::OnExecution | Self::ReportSubmitted | Self::Returned)
    }

    /// The executor is (again) working on it.
    pub fn awaits_executor(self) -> bool {
        matches!(self, Self::OnExecution | Self::Returned)
    }

    /// The state after `action`, or why the action is not possible now.
    ///
    /// ```
    /// use qalqan_domain::assignment::{AssignmentAction::*, AssignmentStatus::*};
    /// assert_eq!(Draft.after(Issue).unwrap(), OnExecution);
    /// assert_eq!(OnExecution.after(SubmitReport).unwrap(), ReportSubmitted);
    /// assert_eq!(ReportSubmitted.after(Return).unwrap(), Returned);
    /// assert_eq!(Returned.after(SubmitReport).unwrap(), ReportSubmitted);
    /// assert_eq!(ReportSubmitted.after(Accept).unwrap(), Accepted);
    /// assert!(Accepted.after(Cancel).is_err() && Draft.after(Accept).is_err());
    /// ```
    pub fn after(self, action: AssignmentAction) -> Result<AssignmentStatus, DomainError> {
        use AssignmentAction as A;
        use AssignmentStatus as S;
        let next = match (self, action) {
            (S::Draft, A::Issue) => S::OnExecution,
            (S::OnExecution | S::Returned, A::SubmitReport) => S::ReportSubmitted,
            (S::ReportSubmitted, A::Accept) => S::Accepted,
            (S::ReportSubmitted, A::Return) => S::Returned,
            (S::Draft | S::OnExecution | S::ReportSubmitted | S::Returned, A::Cancel) => S::Cancelled,
            _ => {
                return Err(DomainError::InvalidTransition { from: self.code(), action: action.code() });
            }
        };
        Ok(next)
    }
}

code_enum!(
    /// How often a recurring assignment is due.
    Recurrence, "recurrence", {
        Monthly => "monthly",
        Quarterly => "quarterly",
        HalfYearly => "half_yearly",
        Yearly => "yearly",
    }
);

impl Recurrence {
    fn months(self) -> u32 {
        match self {
            Self::Monthly => 1,
            Self::Quarterly => 3,
            Self::HalfYearly => 6,
            Self::Yearly => 12,
        }
    }
}

/// When an assignment is due: a date, or every period by a day of its first month's following
/// month ("quarterly by the 5th": 5 April, 5 July, 5 October, 5 January — the 5th after each
/// quarter ends).
///
/// ```
/// use chrono::NaiveDate;
/// use qalqan_domain::assignment::Deadline;
/// let d = |y, m, day| NaiveDate::from_ymd_opt(y, m, day).unwrap();
/// let q: Deadline = "quarterly:5".parse().unwrap();
/// assert_eq!(q.first_due(d(2026, 2, 10)), d(2026, 4, 5));
/// assert_eq!(q.first_due(d(2026, 4, 5)), d(2026, 4, 5));
/// assert_eq!(q.next_after(d(2026, 4, 5)), Some(d(2026, 7, 5)));
/// let fixed: Deadline = "2026-03-01".parse().unwrap();
/// assert_eq!((fixed.first_due(d(2026, 1, 1)), fixed.next_after(d(2026, 3, 1))), (d(2026, 3, 1), None));
/// assert_eq!(q.to_string(), "quarterly:5");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Deadline {
    Fixed(NaiveDate),
    /// By `day` (1-28) of the month after each period ends, periods aligned to the calendar year.
    Recurring {
        every: Recurrence,
        day: u8,
    },
}

impl Deadline {
    /// A recurring deadline; the day must be 1-28 (every month has it).
    pub fn recurring(every: Recurrence, day: u8) -> Result<Self, DomainError> {
        if !(1..=28).contains(&day) {
            return Err(DomainError::OutOfRange { what: "day of a recurring deadline", value: day.to_string(), range: "1–28" });
        }
        Ok(Self::Recurring { every, day })
    }

    /// The first due date on or after `issued` (a fixed date is due when it says).
    pub fn first_due(self, issued: NaiveDate) -> NaiveDate {
        match self {
            Self::Fixed(d) => d,
            Self::Recurring { every, day } => {
                let months = every.months();
                // The month after the end of the period `issued` falls in.
                let period_start = (issued.month0() / months) * months;
                let first = NaiveDate::from_ymd_opt(issued.year(), period_start + 1, 1).expect("a month start");
                let due = first.checked_add_months(Months::new(months)).expect("a date").with_day(u32::from(day)).expect("day ≤ 28");
                // Issued after the previous period's due date but before this one's: this one.
                let previous = due.checked_sub_months(Months::new(months)).expect("a date");
                if issued <= previous { previous } else { due }
            }
        }
    }

    /// For a recurring deadline, the due date after `due`; none for a fixed one.
    pub fn next_after(self, due: NaiveDate) -> Option<NaiveDate> {
        match self {
            Self::Fixed(_) => None,
            Self::Recurring { every, day } => due.checked_add_months(Months::new(every.months())).and_then(|d| d.with_day(u32::from(day))),
        }
    }
}

impl std::fmt::Display for Deadline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fixed(d) => write!(f, "{d}"),
            Self::Recurring { every, day } => write!(f, "{every}:{day}"),
        }
    }
}

impl std::str::FromStr for Deadline {
    type Err = DomainError;

    /// `YYYY-MM-DD`, or `monthly|quarterly|half_yearly|yearly:DAY`.
    fn from_str(s: &str) -> Result<Self, DomainError> {
        let s = s.trim();
        if let Some((every, day)) = s.split_once(':') {
            let every: Recurrence = every.parse()?;
            let day: u8 = day.trim().parse().map_err(|_| DomainError::OutOfRange {
                what: "day of a recurring deadline",
                value: day.to_owned(),
                range: "1–28",
            })?;
            return Self::recurring(every, day);
        }
        NaiveDate::parse_from_str(s, "%Y-%m-%d").map(Self::Fixed).map_err(|_| DomainError::OutOfRange {
            what: "deadline",
            value: s.to_owned(),
            range: "a date YYYY-MM-DD or PERIOD:DAY",
        })
    }
}

/// Overdue: still awaiting the executor after its due date (a report submitted on time is not
/// overdue while the controller decides).
pub fn is_overdue(status: AssignmentStatus, due: NaiveDate, today: NaiveDate) -> bool {
    status.awaits_executor() && today > due
}

/// Days until the due date (negative when overdue).
pub fn days_left(due: NaiveDate, today: NaiveDate) -> i64 {
    (due - today).num_days()
}

/// An assignment as written: every field checked.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAssignment {
    /// The protocol item's number in its meeting ("3", "3.1"); may be empty for a standing order.
    pub item: String,
    pub text: String,
    /// The responsible executor: an agency.
    pub executor: String,
    /// Optionally a person in that agency.
    pub executor_person: Option<String>,
    /// Co-executing agencies.
    pub co_executors: Vec<String>,
    /// Who accepts the reports: a login.
    pub controller: String,
    pub deadline: Deadline,
    pub priority: Priority,
    /// A place the assignment is about ("district:Saryarka", "facility:Railway station", …).
    pub place: Option<String>,
}

impl NewAssignment {
    /// Checks the text (1-4000 characters), the executor and controller (non-empty), that no
    /// agency is both executor and co-executor, and trims everything.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        item: &str,
        text: &str,
        executor: &str,
        executor_person: Option<&str>,
        co_executors: &[String],
        controller: &str,
        deadline: Deadline,
        priority: Priority,
        place: Option<&str>,
    ) -> Result<Self, DomainError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::Empty { what: "assignment text" });
        }
        if text.chars().count() > 4000 {
            return Err(DomainError::TooLong { what: "assignment text", len: text.chars().count(), max: 4000 });
        }
        let executor = executor.trim();
        if executor.is_empty() {
            return Err(DomainError::Empty { what: "executor" });
        }
        let controller = controller.trim();
        if controller.is_empty() {
            return Err(DomainError::Empty { what: "controller" });
        }
        let mut co: Vec<String> = co_executors.iter().map(|c| c.trim().to_owned()).filter(|c| !c.is_empty()).collect();
        co.sort();
        co.dedup();
        if co.iter().any(|c| c == executor) {
            return Err(DomainError::OutOfRange {
                what: "co-executor",
                value: executor.to_owned(),
                range: "agencies other than the executor",
            });
        }
        let opt = |v: Option<&str>| v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        Ok(Self {
            item: item.trim().to_owned(),
            text: text.to_owned(),
            executor: executor.to_owned(),
            executor_person: opt(executor_person),
            co_executors: co,
            controller: controller.to_owned(),
            deadline,
            priority,
            place: opt(place),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn every_transition_is_allowed_or_refused_as_the_lifecycle_says() {
        use AssignmentAction::*;
        use AssignmentStatus::*;
        let allowed = [
            (Draft, Issue, OnExecution),
            (Draft, Cancel, Cancelled),
            (OnExecution, SubmitReport, ReportSubmitted),
            (OnExecution, Cancel, Cancelled),
            (ReportSubmitted, Accept, Accepted),
            (ReportSubmitted, Return, Returned),
            (ReportSubmitted, Cancel, Cancelled),
            (Returned, SubmitReport, ReportSubmitted),
            (Returned, Cancel, Cancelled),
        ];
        for &from in AssignmentStatus::ALL {
            for &action in AssignmentAction::ALL {
                let want = allowed.iter().find(|(f, a, _)| *f == from && *a == action).map(|t| t.2);
                match (from.after(action), want) {
                    (Ok(got), Some(want)) => assert_eq!(got, want, "{from} {action}"),
                    (Err(e), None) => assert!(e.to_string().contains(from.code()) && e.to_string().contains(action.code()), "{e}"),
                    (got, want) => panic!("{from} {action}: got {got:?}, want {want:?}"),
                }
            }
        }
    }

    #[test]
    fn recurring_deadlines_fall_after_each_period() {
        let monthly: Deadline = "monthly:10".parse().unwrap();
        assert_eq!(monthly.first_due(d(2026, 1, 20)), d(2026, 2, 10));
        assert_eq!(monthly.first_due(d(2026, 2, 3)), d(2026, 2, 10), "issued before the 10th: January's report is due");
        assert_eq!(monthly.next_after(d(2026, 12, 10)), Some(d(2027, 1, 10)));
        let yearly = Deadline::recurring(Recurrence::Yearly, 15).unwrap();
        assert_eq!(yearly.first_due(d(2026, 6, 1)), d(2027, 1, 15));
        let q: Deadline = "quarterly:5".parse().unwrap();
        assert_eq!(q.first_due(d(2026, 11, 25)), d(2027, 1, 5));
        for bad in ["quarterly:29", "quarterly:0", "weekly:5", "2026-02-30", "tomorrow"] {
            assert!(bad.parse::<Deadline>().is_err(), "{bad}");
        }
    }

    #[test]
    fn overdue_is_awaiting_the_executor_after_the_due_date() {
        use AssignmentStatus::*;
        let due = d(2026, 3, 1);
        assert!(!is_overdue(OnExecution, due, due), "due today is not late");
        assert!(is_overdue(OnExecution, due, d(2026, 3, 2)));
        assert!(is_overdue(Returned, due, d(2026, 3, 2)));
        assert!(!is_overdue(ReportSubmitted, due, d(2026, 3, 2)), "reported: the controller decides");
        assert!(!is_overdue(Accepted, due, d(2026, 3, 2)) && !is_overdue(Draft, due, d(2026, 3, 2)));
        assert_eq!(days_left(due, d(2026, 2, 22)), 7);
    }

    #[test]
    fn assignments_are_checked() {
        let dl = Deadline::Fixed(d(2026, 3, 1));
        let co = vec![" Akimat ".to_owned(), "Akimat".to_owned(), String::new()];
        let a =
            NewAssignment::new(" 3.1 ", " Install cameras ", " Police ", None, &co, "secretary", dl, Priority::High, Some(" ")).unwrap();
        assert_eq!(
            (a.item.as_str(), a.text.as_str(), a.co_executors.clone(), a.place),
            ("3.1", "Install cameras", vec!["Akimat".to_owned()], None)
        );
        assert!(NewAssignment::new("", " ", "Police", None, &[], "s", dl, Priority::Normal, None).is_err());
        assert!(NewAssignment::new("", "x", "Police", None, &["Police".into()], "s", dl, Priority::Normal, None).is_err());
        assert!(NewAssignment::new("", "x", "Police", None, &[], " ", dl, Priority::Normal, None).is_err());
    }
}
