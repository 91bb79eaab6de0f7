//! Coordination records: bodies, meetings, assignments with their events, extension requests
//! and reports. One body of SQL for both backends (placeholders written `?`, numbered for
//! PostgreSQL), instantiated per backend by [`coordination_fns!`]; times are Unix seconds and
//! dates `YYYY-MM-DD` text on both.

use chrono::NaiveDate;
use qalqan_domain::assignment::{AssignmentAction, AssignmentStatus, BodyKind, Deadline, NewAssignment, Priority};

use crate::StoreError;

/// A body to register, with its member agencies (and optionally a person of each).
#[derive(Debug, Clone, PartialEq)]
pub struct NewBody {
    pub name: String,
    pub kind: BodyKind,
    /// (agency, person — empty for the agency as a whole).
    pub members: Vec<(String, String)>,
    /// The territory it serves; none: several.
    pub territory_id: Option<i64>,
}

/// A registered body.
#[derive(Debug, Clone, PartialEq)]
pub struct Body {
    pub id: i64,
    pub name: String,
    pub kind: BodyKind,
    pub members: Vec<(String, String)>,
    pub territory_id: Option<i64>,
}

/// A meeting to record.
#[derive(Debug, Clone, PartialEq)]
pub struct NewMeeting {
    pub body_id: i64,
    pub held_on: NaiveDate,
    /// The protocol's number ("4", "2026/3").
    pub number: String,
    pub agenda: String,
    /// The protocol's items, in order.
    pub items: Vec<ProtocolItem>,
}

/// An item of a meeting's protocol: its number ("1", "2.1") and what was heard and decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtocolItem {
    pub number: String,
    pub text: String,
}

impl ProtocolItem {
    /// Whether an assignment's item number refers to this item: the same number, or a sub-point
    /// of it ("2.1" of "2").
    pub fn covers(&self, item: &str) -> bool {
        item == self.number || item.strip_prefix(self.number.as_str()).is_some_and(|rest| rest.starts_with('.'))
    }
}

/// A recorded meeting.
#[derive(Debug, Clone, PartialEq)]
pub struct Meeting {
    pub id: i64,
    pub body_id: i64,
    pub held_on: NaiveDate,
    pub number: String,
    pub agenda: String,
    pub items: Vec<ProtocolItem>,
}

/// Where an assignment comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Source {
    pub body_id: i64,
    pub meeting_id: Option<i64>,
    /// The assignment this one is a part of.
    pub parent_id: Option<i64>,
}

/// A stored assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    pub id: i64,
    pub source: Source,
    pub author: String,
    pub assignment: NewAssignment,
    /// The current due date (the deadline's, moved by granted extensions and recurring periods).
    pub due_on: NaiveDate,
    pub status: AssignmentStatus,
    pub created_at: i64,
    pub updated_at: i64,
    /// Bumped by every change: a change made on an older version is refused (optimistic
    /// concurrency between users and instances).
    pub version: i64,
}

/// One change of an assignment.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignmentEvent {
    pub at: i64,
    pub actor: String,
    /// An [`AssignmentAction`] code, or `create`, `extension_request`, `extension_granted`,
    /// `extension_refused`, `next_period`.
    pub action: String,
    pub from: Option<AssignmentStatus>,
    pub to: AssignmentStatus,
    pub due_on: NaiveDate,
    pub note: String,
}

/// A request for more time.
#[derive(Debug, Clone, PartialEq)]
pub struct ExtensionRequest {
    pub id: i64,
    pub assignment_id: i64,
    pub requested_by: String,
    pub new_due_on: NaiveDate,
    pub reason: String,
    /// `None` while pending; `Some(true)` granted.
    pub granted: Option<bool>,
    pub decided_by: Option<String>,
    pub decision_note: Option<String>,
}

/// A file attached to a report.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAttachment {
    pub file_name: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// An executor's report.
#[derive(Debug, Clone, PartialEq)]
pub struct NewReport {
    pub text: String,
    pub attachments: Vec<NewAttachment>,
}

/// Largest attachment accepted, bytes.
pub const MAX_ATTACHMENT_BYTES: usize = 20 * 1024 * 1024;
/// Attachment types accepted.
pub const ATTACHMENT_TYPES: &[&str] = &[
    "application/pdf",
    "image/png",
    "image/jpeg",
    "text/plain",
    "text/csv",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
];

impl NewReport {
    /// Checks the text (1-20,000 characters) and each attachment (a name, an accepted type, 1 byte
    /// to [`MAX_ATTACHMENT_BYTES`]).
    pub fn check(&self) -> Result<(), StoreError> {
        let bad = |reason: String| StoreError::Invalid { what: "report", reason };
        let n = self.text.trim().chars().count();
        if n == 0 || n > 20_000 {
            return Err(bad(format!("the text must be 1-20000 characters, not {n}")));
        }
        for a in &self.attachments {
            if a.file_name.trim().is_empty() || a.file_name.len() > 255 {
                return Err(bad("an attachment needs a file name of at most 255 bytes".into()));
            }
            if !ATTACHMENT_TYPES.contains(&a.content_type.as_str()) {
                return Err(bad(format!("{}: type {} is not accepted (PDF, PNG, JPEG, text, CSV, DOCX)", a.file_name, a.content_type)));
            }
            if a.bytes.is_empty() || a.bytes.len() > MAX_ATTACHMENT_BYTES {
                return Err(bad(format!("{}: {} bytes; 1 byte to 20 MiB are accepted", a.file_name, a.bytes.len())));
            }
        }
        Ok(())
    }
}

/// A stored attachment's description (the bytes come separately).
#[derive(Debug, Clone, PartialEq)]
pub struct AttachmentInfo {
    pub id: i64,
    pub report_id: i64,
    pub file_name: String,
    pub content_type: String,
    pub size: i64,
    pub sha256: String,
}

/// A stored report with its attachments.
#[derive(Debug, Clone, PartialEq)]
pub struct Report {
    pub id: i64,
    pub submitted_by: String,
    pub submitted_at: i64,
    /// The due date it answered.
    pub due_on: NaiveDate,
    pub text: String,
    pub attachments: Vec<AttachmentInfo>,
}

/// What a notification says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotificationKind {
    /// The due date is near.
    Reminder,
    /// The due date has passed.
    Overdue,
}

impl NotificationKind {
    pub fn code(self) -> &'static str {
        match self {
            Self::Reminder => "reminder",
            Self::Overdue => "overdue",
        }
    }
}

/// A notification to write.
#[derive(Debug, Clone, PartialEq)]
pub struct NewNotification {
    pub login: String,
    pub assignment_id: i64,
    pub kind: NotificationKind,
    pub due_on: NaiveDate,
    pub message: String,
}

/// A stored notification.
#[derive(Debug, Clone, PartialEq)]
pub struct Notification {
    pub id: i64,
    pub assignment_id: i64,
    /// `reminder` or `overdue`.
    pub kind: String,
    pub due_on: NaiveDate,
    pub message: String,
    pub created_at: i64,
    pub read_at: Option<i64>,
}

/// A notification to be e-mailed: its recipient's address and the assignment's text.
#[derive(Debug, Clone, PartialEq)]
pub struct PendingEmail {
    pub id: i64,
    pub login: String,
    pub email: String,
    /// `reminder` or `overdue`.
    pub kind: String,
    pub assignment_id: i64,
    pub due_on: NaiveDate,
    pub message: String,
    /// The assignment's text.
    pub text: String,
    /// Attempts made so far.
    pub attempts: i64,
}

/// What happened to one e-mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailOutcome {
    /// The relay accepted it.
    Sent,
    /// It failed; a `permanent` failure is not retried.
    Failed { error: String, permanent: bool },
}

/// Attempts after which an e-mail is given up (the notifier tries once an hour).
pub const MAX_EMAIL_ATTEMPTS: i64 = 6;

/// An inspection of a facility.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInspection {
    pub facility_id: i64,
    pub held_on: NaiveDate,
    pub inspector: String,
    pub summary: String,
}

/// Which assignments to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AssignmentFilter {
    /// Only those this agency executes or co-executes.
    pub agency: Option<String>,
    pub status: Option<AssignmentStatus>,
    pub body_id: Option<i64>,
}

pub(crate) fn date(text: &str) -> Result<NaiveDate, StoreError> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| StoreError::Corrupt { what: "date", reason: format!("{text}: {e}") })
}

pub(crate) type AssignmentRow = (
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
    String,
    i64,
    i64,
    i64,
);

pub(crate) const ASSIGNMENT_COLUMNS: &str = "id, body_id, meeting_id, parent_id, item, text, author, executor, executor_person, co_executors, controller, deadline, due_on, priority, place, status, created_at, updated_at, version";

pub(crate) fn assignment_from_row(r: AssignmentRow) -> Result<Assignment, StoreError> {
    let (
        id,
        body_id,
        meeting_id,
        parent_id,
        item,
        text,
        author,
        executor,
        person,
        co,
        controller,
        deadline,
        due_on,
        priority,
        place,
        status,
        created,
        updated,
        version,
    ) = r;
    let corrupt = |e: qalqan_domain::DomainError| StoreError::Corrupt { what: "assignment", reason: e.to_string() };
    let co: Vec<String> = serde_json::from_str(&co).map_err(|e| StoreError::Corrupt { what: "assignment", reason: e.to_string() })?;
    let deadline: Deadline = deadline.parse().map_err(corrupt)?;
    let priority: Priority = priority.parse().map_err(corrupt)?;
    let assignment = NewAssignment::new(&item, &text, &executor, person.as_deref(), &co, &controller, deadline, priority, place.as_deref())
        .map_err(corrupt)?;
    Ok(Assignment {
        id,
        source: Source { body_id, meeting_id, parent_id },
        author,
        assignment,
        due_on: date(&due_on)?,
        status: status.parse().map_err(corrupt)?,
        created_at: created,
        updated_at: updated,
        version,
    })
}

/// What a transition does besides the status: the due date after it (recurring assignments
/// start their next period when a report is accepted) and the event's action.
pub(crate) fn transition(a: &Assignment, action: AssignmentAction) -> Result<(AssignmentStatus, NaiveDate, &'static str), StoreError> {
    let next = a.status.after(action).map_err(|e| StoreError::Invalid { what: "transition", reason: e.to_string() })?;
    if next == AssignmentStatus::Accepted {
        if let Some(due) = a.assignment.deadline.next_after(a.due_on) {
            return Ok((AssignmentStatus::OnExecution, due, "next_period"));
        }
    }
    Ok((next, a.due_on, action.code()))
}

/// Generates the coordination functions of one backend module: it must have `Pool`, `write_tx`,
/// `append_audit` and `sql` (placeholder translation) in scope.
macro_rules! coordination_fns {
    () => {
        use chrono::NaiveDate as CoordDate;
        use qalqan_domain::assignment::{AssignmentAction as CoordAction, AssignmentStatus as CoordStatus, NewAssignment as CoordNew};
        use $crate::coordination as co;

        fn now_s() -> i64 {
            chrono::Utc::now().timestamp()
        }

        /// An assignment row (more columns than sqlx decodes into a tuple).
        fn assignment_row(r: &DbRow) -> Result<co::AssignmentRow, sqlx::Error> {
            use sqlx::Row as _;
            Ok((
                r.try_get(0)?,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
                r.try_get(4)?,
                r.try_get(5)?,
                r.try_get(6)?,
                r.try_get(7)?,
                r.try_get(8)?,
                r.try_get(9)?,
                r.try_get(10)?,
                r.try_get(11)?,
                r.try_get(12)?,
                r.try_get(13)?,
                r.try_get(14)?,
                r.try_get(15)?,
                r.try_get(16)?,
                r.try_get(17)?,
                r.try_get(18)?,
            ))
        }

        pub(crate) async fn add_body(pool: &Pool, body: &co::NewBody, audit: &NewAuditEntry) -> Result<i64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let id: i64 =
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql("INSERT INTO bodies (name, kind, created_at, territory_id) VALUES (?, ?, ?, ?) RETURNING id")))
                    .bind(&body.name)
                    .bind(body.kind.code())
                    .bind(now_s())
                    .bind(body.territory_id)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| conflict(e, "body", &body.name))?;
            for (agency, person) in &body.members {
                sqlx::query(sqlx::AssertSqlSafe(sql("INSERT INTO body_members (body_id, agency, person) VALUES (?, ?, ?)")))
                    .bind(id)
                    .bind(agency)
                    .bind(person)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut audit = audit.clone();
            audit.object = format!("body:{id}");
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(id)
        }

        pub(crate) async fn bodies(pool: &Pool) -> Result<Vec<(i64, String, String, Option<i64>)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT id, name, kind, territory_id FROM bodies ORDER BY name"))).fetch_all(pool).await?)
        }

        /// Every body's members as (body, agency, person).
        pub(crate) async fn body_members(pool: &Pool) -> Result<Vec<(i64, String, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT body_id, agency, person FROM body_members ORDER BY body_id, agency, person")))
                .fetch_all(pool)
                .await?)
        }

        pub(crate) async fn add_meeting(pool: &Pool, m: &co::NewMeeting, audit: &NewAuditEntry) -> Result<i64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql(
                "INSERT INTO meetings (body_id, held_on, number, agenda, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            )))
            .bind(m.body_id)
            .bind(m.held_on.to_string())
            .bind(&m.number)
            .bind(&m.agenda)
            .bind(now_s())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| conflict(e, "meeting", &m.number))?;
            for item in &m.items {
                sqlx::query(sqlx::AssertSqlSafe(sql("INSERT INTO protocol_items (meeting_id, number, text) VALUES (?, ?, ?)")))
                    .bind(id)
                    .bind(&item.number)
                    .bind(&item.text)
                    .execute(&mut *tx)
                    .await?;
            }
            let mut audit = audit.clone();
            audit.object = format!("meeting:{id}");
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(id)
        }

        pub(crate) async fn meetings(pool: &Pool, body: i64) -> Result<Vec<(i64, i64, String, String, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT id, body_id, held_on, number, agenda FROM meetings WHERE body_id = ? ORDER BY held_on, id",
            )))
            .bind(body)
            .fetch_all(pool)
            .await?)
        }

        /// The protocol items of a body's meetings (meeting id, number, text), in order.
        pub(crate) async fn protocol_items(pool: &Pool, body: i64) -> Result<Vec<(i64, String, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT p.meeting_id, p.number, p.text FROM protocol_items p JOIN meetings m ON m.id = p.meeting_id WHERE m.body_id = ? ORDER BY p.id",
            )))
            .bind(body)
            .fetch_all(pool)
            .await?)
        }

        #[allow(clippy::too_many_arguments)]
        async fn event(
            tx: &mut Tx,
            id: i64,
            actor: &str,
            action: &str,
            from: Option<CoordStatus>,
            to: CoordStatus,
            due: CoordDate,
            note: &str,
        ) -> Result<(), StoreError> {
            sqlx::query(sqlx::AssertSqlSafe(sql(
                "INSERT INTO assignment_events (assignment_id, at, actor, action, from_status, to_status, due_on, note) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            )))
            .bind(id)
            .bind(now_s())
            .bind(actor)
            .bind(action)
            .bind(from.map(|s| s.code()))
            .bind(to.code())
            .bind(due.to_string())
            .bind(note)
            .execute(&mut **tx)
            .await?;
            Ok(())
        }

        /// Inserts an assignment and its first event inside `tx`.
        async fn insert_assignment(
            tx: &mut Tx,
            source: co::Source,
            a: &CoordNew,
            status: CoordStatus,
            due: CoordDate,
            author: &str,
        ) -> Result<i64, StoreError> {
            let now = now_s();
            let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql(&format!(
                "INSERT INTO assignments ({}) VALUES (DEFAULT_ID, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                co::ASSIGNMENT_COLUMNS
            )
            .replace("(id, ", "(")
            .replace(", version)", ")")
            .replace("DEFAULT_ID, ", ""))))
            .bind(source.body_id)
            .bind(source.meeting_id)
            .bind(source.parent_id)
            .bind(&a.item)
            .bind(&a.text)
            .bind(author)
            .bind(&a.executor)
            .bind(a.executor_person.as_deref())
            .bind(serde_json::to_string(&a.co_executors).unwrap_or_else(|_| "[]".into()))
            .bind(&a.controller)
            .bind(a.deadline.to_string())
            .bind(due.to_string())
            .bind(a.priority.code())
            .bind(a.place.as_deref())
            .bind(status.code())
            .bind(now)
            .bind(now)
            .fetch_one(&mut **tx)
            .await?;
            event(tx, id, author, "create", None, status, due, "").await?;
            Ok(id)
        }

        pub(crate) async fn add_assignment(
            pool: &Pool,
            source: co::Source,
            a: &CoordNew,
            status: CoordStatus,
            due: CoordDate,
            audit: &NewAuditEntry,
        ) -> Result<i64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let id = insert_assignment(&mut tx, source, a, status, due, &audit.actor.name).await?;
            let mut audit = audit.clone();
            audit.object = format!("assignment:{id}");
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(id)
        }

        /// Records an inspection of a facility and issues an assignment for each finding, all in
        /// one transaction.
        pub(crate) async fn add_inspection(
            pool: &Pool,
            inspection: &co::NewInspection,
            findings: &[(CoordNew, CoordDate)],
            source: co::Source,
            audit: &NewAuditEntry,
        ) -> Result<(i64, Vec<i64>), StoreError> {
            let mut tx = write_tx(pool).await?;
            let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql(
                "INSERT INTO inspections (facility_id, held_on, inspector, summary, created_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
            )))
            .bind(inspection.facility_id)
            .bind(inspection.held_on.to_string())
            .bind(&inspection.inspector)
            .bind(&inspection.summary)
            .bind(now_s())
            .fetch_one(&mut *tx)
            .await?;
            let mut ids = Vec::with_capacity(findings.len());
            for (a, due) in findings {
                let aid = insert_assignment(&mut tx, source, a, CoordStatus::OnExecution, *due, &audit.actor.name).await?;
                sqlx::query(sqlx::AssertSqlSafe(sql("INSERT INTO inspection_findings (inspection_id, text, assignment_id) VALUES (?, ?, ?)")))
                    .bind(id)
                    .bind(&a.text)
                    .bind(aid)
                    .execute(&mut *tx)
                    .await?;
                ids.push(aid);
            }
            let mut audit = audit.clone();
            audit.object = format!("inspection:{id}");
            audit.detail = serde_json::json!({"facility": inspection.facility_id, "findings": findings.len(), "assignments": ids}).to_string();
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok((id, ids))
        }

        pub(crate) async fn inspections(pool: &Pool, facility: i64) -> Result<Vec<(i64, String, String, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT id, held_on, inspector, summary FROM inspections WHERE facility_id = ? ORDER BY held_on, id")))
                .bind(facility)
                .fetch_all(pool)
                .await?)
        }

        pub(crate) async fn inspection_findings(pool: &Pool, inspection: i64) -> Result<Vec<(String, i64)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT text, assignment_id FROM inspection_findings WHERE inspection_id = ? ORDER BY id")))
                .bind(inspection)
                .fetch_all(pool)
                .await?)
        }

        pub(crate) async fn assignment(pool: &Pool, id: i64) -> Result<Option<co::AssignmentRow>, StoreError> {
            let row = sqlx::query(sqlx::AssertSqlSafe(sql(&format!("SELECT {} FROM assignments WHERE id = ?", co::ASSIGNMENT_COLUMNS))))
                .bind(id)
                .fetch_optional(pool)
                .await?;
            Ok(row.as_ref().map(assignment_row).transpose()?)
        }

        pub(crate) async fn assignments(pool: &Pool, f: &co::AssignmentFilter) -> Result<Vec<co::AssignmentRow>, StoreError> {
            // Co-executors are a JSON array of names: matched as the quoted name inside it.
            let text = format!(
                "SELECT {} FROM assignments WHERE (? IS NULL OR executor = ? OR co_executors LIKE ?) AND (? IS NULL OR status = ?) \
                 AND (? IS NULL OR body_id = ?) ORDER BY due_on, id",
                co::ASSIGNMENT_COLUMNS
            );
            let agency = f.agency.clone();
            let like = agency.as_ref().map(|a| format!("%{}%", serde_json::to_string(a).unwrap_or_default()));
            let status = f.status.map(|s| s.code().to_owned());
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql(&text)))
                .bind(agency.clone())
                .bind(agency)
                .bind(like)
                .bind(status.clone())
                .bind(status)
                .bind(f.body_id)
                .bind(f.body_id)
                .fetch_all(pool)
                .await?;
            Ok(rows.iter().map(assignment_row).collect::<Result<_, _>>()?)
        }

        /// Applies `action` if the assignment is still `expected` (another user may have acted
        /// first): the new status and due date, the event, the report if any, one audit entry.
        pub(crate) async fn act(
            pool: &Pool,
            current: &co::Assignment,
            action: CoordAction,
            note: &str,
            report: Option<&co::NewReport>,
            audit: &NewAuditEntry,
        ) -> Result<(), StoreError> {
            let (to, due, label) = co::transition(current, action)?;
            let mut tx = write_tx(pool).await?;
            let changed = sqlx::query(sqlx::AssertSqlSafe(sql(
                "UPDATE assignments SET status = ?, due_on = ?, updated_at = ?, version = version + 1 WHERE id = ? AND status = ? AND version = ?",
            )))
                .bind(to.code())
                .bind(due.to_string())
                .bind(now_s())
                .bind(current.id)
                .bind(current.status.code())
                .bind(current.version)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if changed != 1 {
                return Err(StoreError::Conflict { what: "assignment (changed meanwhile)", key: current.id.to_string() });
            }
            if let Some(r) = report {
                let report_id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql(
                    "INSERT INTO assignment_reports (assignment_id, submitted_by, submitted_at, due_on, text) VALUES (?, ?, ?, ?, ?) RETURNING id",
                )))
                .bind(current.id)
                .bind(&audit.actor.name)
                .bind(now_s())
                .bind(current.due_on.to_string())
                .bind(r.text.trim())
                .fetch_one(&mut *tx)
                .await?;
                for a in &r.attachments {
                    sqlx::query(sqlx::AssertSqlSafe(sql(
                        "INSERT INTO report_attachments (report_id, file_name, content_type, size, sha256, bytes) VALUES (?, ?, ?, ?, ?, ?)",
                    )))
                    .bind(report_id)
                    .bind(a.file_name.trim())
                    .bind(&a.content_type)
                    .bind(a.bytes.len() as i64)
                    .bind(qalqan_domain::Sha256Hex::of(&a.bytes).as_str().to_owned())
                    .bind(&a.bytes)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            if label == "next_period" {
                event(&mut tx, current.id, &audit.actor.name, CoordAction::Accept.code(), Some(current.status), CoordStatus::Accepted, current.due_on, note).await?;
                event(&mut tx, current.id, &audit.actor.name, label, Some(CoordStatus::Accepted), to, due, "").await?;
            } else {
                event(&mut tx, current.id, &audit.actor.name, label, Some(current.status), to, due, note).await?;
            }
            let mut audit = audit.clone();
            audit.object = format!("assignment:{}", current.id);
            audit.detail = serde_json::json!({"action": action.code(), "from": current.status.code(), "to": to.code(), "due_on": due.to_string()}).to_string();
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(())
        }

        /// Moves the assignment to its next version (and due date), if it is still at the version
        /// `current` was read at; otherwise someone changed it meanwhile: a conflict, nothing written.
        async fn bump(tx: &mut Tx, current: &co::Assignment, due: Option<CoordDate>) -> Result<(), StoreError> {
            let changed = sqlx::query(sqlx::AssertSqlSafe(sql(
                "UPDATE assignments SET due_on = COALESCE(?, due_on), updated_at = ?, version = version + 1 WHERE id = ? AND version = ?",
            )))
            .bind(due.map(|d| d.to_string()))
            .bind(now_s())
            .bind(current.id)
            .bind(current.version)
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if changed == 1 {
                Ok(())
            } else {
                Err(StoreError::Conflict { what: "assignment (changed meanwhile)", key: current.id.to_string() })
            }
        }

        pub(crate) async fn events(pool: &Pool, id: i64) -> Result<Vec<(i64, String, String, Option<String>, String, String, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT at, actor, action, from_status, to_status, due_on, note FROM assignment_events WHERE assignment_id = ? ORDER BY id",
            )))
            .bind(id)
            .fetch_all(pool)
            .await?)
        }

        pub(crate) async fn request_extension(
            pool: &Pool,
            current: &co::Assignment,
            new_due: CoordDate,
            reason: &str,
            audit: &NewAuditEntry,
        ) -> Result<i64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let pending: Option<(i64,)> =
                sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT id FROM extension_requests WHERE assignment_id = ? AND decision IS NULL")))
                    .bind(current.id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some((p,)) = pending {
                return Err(StoreError::Conflict { what: "pending extension request", key: p.to_string() });
            }
            bump(&mut tx, current, None).await?;
            let id: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql(
                "INSERT INTO extension_requests (assignment_id, requested_by, requested_at, new_due_on, reason) VALUES (?, ?, ?, ?, ?) RETURNING id",
            )))
            .bind(current.id)
            .bind(&audit.actor.name)
            .bind(now_s())
            .bind(new_due.to_string())
            .bind(reason)
            .fetch_one(&mut *tx)
            .await?;
            event(&mut tx, current.id, &audit.actor.name, "extension_request", Some(current.status), current.status, current.due_on, &format!("to {new_due}: {reason}")).await?;
            let mut audit = audit.clone();
            audit.object = format!("assignment:{}", current.id);
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(id)
        }

        pub(crate) async fn extension_requests(
            pool: &Pool,
            assignment: i64,
        ) -> Result<Vec<(i64, i64, String, String, String, Option<String>, Option<String>, Option<String>)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT id, assignment_id, requested_by, new_due_on, reason, decision, decided_by, decision_note FROM extension_requests WHERE assignment_id = ? ORDER BY id",
            )))
            .bind(assignment)
            .fetch_all(pool)
            .await?)
        }

        pub(crate) async fn decide_extension(
            pool: &Pool,
            current: &co::Assignment,
            request: &co::ExtensionRequest,
            grant: bool,
            note: &str,
            audit: &NewAuditEntry,
        ) -> Result<(), StoreError> {
            let mut tx = write_tx(pool).await?;
            let changed = sqlx::query(sqlx::AssertSqlSafe(sql(
                "UPDATE extension_requests SET decision = ?, decided_by = ?, decided_at = ?, decision_note = ? WHERE id = ? AND decision IS NULL",
            )))
            .bind(if grant { "granted" } else { "refused" })
            .bind(&audit.actor.name)
            .bind(now_s())
            .bind(note)
            .bind(request.id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if changed != 1 {
                return Err(StoreError::Conflict { what: "extension request (already decided)", key: request.id.to_string() });
            }
            let due = if grant { request.new_due_on } else { current.due_on };
            bump(&mut tx, current, Some(due)).await?;
            let label = if grant { "extension_granted" } else { "extension_refused" };
            event(&mut tx, current.id, &audit.actor.name, label, Some(current.status), current.status, due, note).await?;
            let mut audit = audit.clone();
            audit.object = format!("assignment:{}", current.id);
            append_audit(&mut tx, &audit).await?;
            tx.commit().await?;
            Ok(())
        }

        pub(crate) async fn reports(pool: &Pool, assignment: i64) -> Result<Vec<(i64, String, i64, String, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT id, submitted_by, submitted_at, due_on, text FROM assignment_reports WHERE assignment_id = ? ORDER BY id",
            )))
            .bind(assignment)
            .fetch_all(pool)
            .await?)
        }

        /// Every report's assignment, submission time and the due date it answered.
        pub(crate) async fn report_times(pool: &Pool) -> Result<Vec<(i64, i64, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT assignment_id, submitted_at, due_on FROM assignment_reports")))
                .fetch_all(pool)
                .await?)
        }

        /// Every decided extension request's assignment and decision.
        pub(crate) async fn extension_decisions(pool: &Pool) -> Result<Vec<(i64, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT assignment_id, decision FROM extension_requests WHERE decision IS NOT NULL")))
                .fetch_all(pool)
                .await?)
        }

        pub(crate) async fn attachments(pool: &Pool, assignment: i64) -> Result<Vec<(i64, i64, String, String, i64, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT a.id, a.report_id, a.file_name, a.content_type, a.size, a.sha256 FROM report_attachments a \
                 JOIN assignment_reports r ON r.id = a.report_id WHERE r.assignment_id = ? ORDER BY a.id",
            )))
            .bind(assignment)
            .fetch_all(pool)
            .await?)
        }

        pub(crate) async fn attachment_bytes(pool: &Pool, id: i64) -> Result<Option<Vec<u8>>, StoreError> {
            Ok(sqlx::query_scalar(sqlx::AssertSqlSafe(sql("SELECT bytes FROM report_attachments WHERE id = ?")))
                .bind(id)
                .fetch_optional(pool)
                .await?)
        }

        /// Inserts notifications, skipping those already there; how many are new.
        pub(crate) async fn insert_notifications(pool: &Pool, rows: &[co::NewNotification], audit: &NewAuditEntry) -> Result<u64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let mut added = 0;
            for n in rows {
                added += sqlx::query(sqlx::AssertSqlSafe(sql(
                    "INSERT INTO notifications (login, assignment_id, kind, due_on, message, created_at) VALUES (?, ?, ?, ?, ?, ?) \
                     ON CONFLICT (login, assignment_id, kind, due_on) DO NOTHING",
                )))
                .bind(&n.login)
                .bind(n.assignment_id)
                .bind(n.kind.code())
                .bind(n.due_on.to_string())
                .bind(&n.message)
                .bind(now_s())
                .execute(&mut *tx)
                .await?
                .rows_affected();
            }
            if added > 0 {
                let mut audit = audit.clone();
                audit.detail = serde_json::json!({"notifications": added}).to_string();
                append_audit(&mut tx, &audit).await?;
            }
            tx.commit().await?;
            Ok(added)
        }

        pub(crate) async fn notifications(
            pool: &Pool,
            login: &str,
            unread_only: bool,
        ) -> Result<Vec<(i64, i64, String, String, String, i64, Option<i64>)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql(
                "SELECT id, assignment_id, kind, due_on, message, created_at, read_at FROM notifications \
                 WHERE login = ? AND (? = 0 OR read_at IS NULL) ORDER BY id DESC LIMIT 500",
            )))
            .bind(login)
            .bind(i64::from(unread_only))
            .fetch_all(pool)
            .await?)
        }

        pub(crate) async fn mark_notification_read(pool: &Pool, id: i64, login: &str) -> Result<u64, StoreError> {
            Ok(sqlx::query(sqlx::AssertSqlSafe(sql("UPDATE notifications SET read_at = ? WHERE id = ? AND login = ? AND read_at IS NULL")))
                .bind(now_s())
                .bind(id)
                .bind(login)
                .execute(pool)
                .await?
                .rows_affected())
        }
        pub(crate) async fn set_email(pool: &Pool, login: &str, email: Option<&str>, audit: &NewAuditEntry) -> Result<u64, StoreError> {
            let mut tx = write_tx(pool).await?;
            let n = sqlx::query(sqlx::AssertSqlSafe(sql("UPDATE users SET email = ? WHERE login = ?")))
                .bind(email)
                .bind(login)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            if n == 1 {
                append_audit(&mut tx, audit).await?;
                tx.commit().await?;
            }
            Ok(n)
        }

        pub(crate) async fn user_emails(pool: &Pool) -> Result<Vec<(String, String)>, StoreError> {
            Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql("SELECT login, email FROM users WHERE email IS NOT NULL"))).fetch_all(pool).await?)
        }

        /// Unsent notifications of active accounts with an address, oldest first.
        pub(crate) async fn pending_emails(pool: &Pool, limit: i64) -> Result<Vec<co::PendingEmail>, StoreError> {
            use sqlx::Row as _;
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql(
                "SELECT n.id, n.login, u.email, n.kind, n.assignment_id, n.due_on, n.message, a.text, n.email_attempts \
                 FROM notifications n JOIN users u ON u.login = n.login JOIN assignments a ON a.id = n.assignment_id \
                 WHERE n.emailed_at IS NULL AND n.email_attempts < ? AND u.email IS NOT NULL AND NOT u.disabled \
                 ORDER BY n.id LIMIT ?",
            )))
            .bind(co::MAX_EMAIL_ATTEMPTS)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            rows.iter()
                .map(|r| {
                    let due: String = r.try_get(5)?;
                    Ok(co::PendingEmail {
                        id: r.try_get(0)?,
                        login: r.try_get(1)?,
                        email: r.try_get(2)?,
                        kind: r.try_get(3)?,
                        assignment_id: r.try_get(4)?,
                        due_on: co::date(&due)?,
                        message: r.try_get(6)?,
                        text: r.try_get(7)?,
                        attempts: i64::from(r.try_get::<i32, _>(8)?),
                    })
                })
                .collect()
        }

        /// Records what happened to each e-mail, with one audit entry, in one transaction.
        pub(crate) async fn record_emails(pool: &Pool, outcomes: &[(i64, co::EmailOutcome)], audit: &NewAuditEntry) -> Result<(), StoreError> {
            let mut tx = write_tx(pool).await?;
            for (id, outcome) in outcomes {
                let q = match outcome {
                    co::EmailOutcome::Sent => sqlx::query(sqlx::AssertSqlSafe(sql(
                        "UPDATE notifications SET emailed_at = ?, email_attempts = email_attempts + 1, email_error = NULL WHERE id = ?",
                    )))
                    .bind(now_s())
                    .bind(*id),
                    co::EmailOutcome::Failed { error, permanent } => sqlx::query(sqlx::AssertSqlSafe(sql(
                        "UPDATE notifications SET email_attempts = CASE WHEN ? = 1 THEN ? ELSE email_attempts + 1 END, email_error = ? WHERE id = ?",
                    )))
                    .bind(i64::from(*permanent))
                    .bind(co::MAX_EMAIL_ATTEMPTS as i32)
                    .bind(error.chars().take(500).collect::<String>())
                    .bind(*id),
                };
                q.execute(&mut *tx).await?;
            }
            append_audit(&mut tx, audit).await?;
            tx.commit().await?;
            Ok(())
        }
    };
}

pub(crate) use coordination_fns;
