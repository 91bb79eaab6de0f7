//! E-mail of reminders and escalations: every in-app notification of an account that has an
//! e-mail address is also submitted to the configured SMTP relay (see [`qalqan_mail`]).
//!
//! Delivery is at least once: a notification is marked e-mailed after the relay accepted it, so
//! a crash between the two sends it again at the next run. A relay that cannot be reached
//! leaves everything pending for the next run (the notifier runs hourly) without counting an
//! attempt; a message the relay refuses counts one, and a permanent refusal (5xx) or
//! [`qalqan_store::coordination::MAX_EMAIL_ATTEMPTS`] transient ones give it up (the in-app notification stays).
//!
//! Messages are in Russian, Kazakh and English, one paragraph each, with the assignment's text.

use chrono::NaiveDate;
use qalqan_domain::audit::Actor;
use qalqan_mail::{Message, Outcome, SmtpParams};
use qalqan_store::coordination::{EmailOutcome, PendingEmail};
use qalqan_store::{Store, StoreError};

/// E-mail settings: the relay, and the address users open Qalqan at (for links).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailer {
    pub smtp: SmtpParams,
    /// Base URL of the web UI, e.g. `https://qalqan.police.kz`; links are left out without it.
    pub public_url: Option<String>,
}

/// What one delivery run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeliveryReport {
    /// Accepted by the relay.
    pub sent: u64,
    /// Refused by the relay (counted as an attempt).
    pub refused: u64,
    /// Why the relay could not be used at all, when it could not (everything stays pending).
    pub relay_error: Option<String>,
}

/// Messages per SMTP session.
const BATCH: u32 = 100;

/// Submits every pending notification e-mail, batch by batch, and records the outcomes.
pub async fn deliver(store: &Store, mailer: &Mailer, today: NaiveDate, actor: &Actor) -> Result<DeliveryReport, StoreError> {
    let mut report = DeliveryReport::default();
    let mut tried = std::collections::HashSet::new();
    loop {
        let pending: Vec<PendingEmail> = store.pending_emails(BATCH).await?.into_iter().filter(|p| !tried.contains(&p.id)).collect();
        if pending.is_empty() {
            return Ok(report);
        }
        let mut messages = Vec::with_capacity(pending.len());
        let mut outcomes = Vec::new();
        for p in &pending {
            tried.insert(p.id);
            match qalqan_domain::account::EmailAddress::parse(&p.email) {
                Ok(to) => messages.push((p.id, compose(p, to, mailer, today))),
                Err(e) => outcomes.push((p.id, EmailOutcome::Failed { error: e.to_string(), permanent: true })),
            }
        }
        let batch: Vec<Message> = messages.iter().map(|(_, m)| m.clone()).collect();
        match qalqan_mail::send_all(&mailer.smtp, &batch).await {
            Ok(results) => {
                for ((id, _), outcome) in messages.iter().zip(results) {
                    outcomes.push((
                        *id,
                        match outcome {
                            Outcome::Sent => EmailOutcome::Sent,
                            Outcome::Refused { permanent, reply } => EmailOutcome::Failed { error: reply, permanent },
                        },
                    ));
                }
            }
            Err(e) => {
                // Nothing was accepted: leave the batch pending for the next run.
                store.record_emails(&outcomes, actor).await?;
                report.refused += outcomes.len() as u64;
                report.relay_error = Some(e.to_string());
                return Ok(report);
            }
        }
        report.sent += outcomes.iter().filter(|(_, o)| *o == EmailOutcome::Sent).count() as u64;
        report.refused += outcomes.iter().filter(|(_, o)| *o != EmailOutcome::Sent).count() as u64;
        store.record_emails(&outcomes, actor).await?;
    }
}

/// One notification as an e-mail (ru, kk, en).
fn compose(p: &PendingEmail, to: qalqan_domain::account::EmailAddress, mailer: &Mailer, today: NaiveDate) -> Message {
    let id = p.assignment_id;
    let due = p.due_on.format("%d.%m.%Y");
    let overdue = p.kind == "overdue";
    let left = (p.due_on - today).num_days();
    let subject = if overdue {
        format!("Qalqan: поручение №{id} просрочено (срок {due}) / assignment {id} overdue")
    } else {
        format!("Qalqan: поручение №{id}, срок {due} / assignment {id} due {}", p.due_on)
    };
    let (ru, kk, en) = if overdue {
        (
            format!("Поручение №{id} не исполнено в срок: срок исполнения истёк {due}."),
            format!("№{id} тапсырма мерзімінде орындалмады: орындау мерзімі {due} өтті."),
            format!("Assignment {id} is overdue: it was due on {}.", p.due_on),
        )
    } else {
        (
            format!("Напоминание: срок исполнения поручения №{id} — {due}, осталось дней: {}.", left.max(0)),
            format!("Еске салу: №{id} тапсырманы орындау мерзімі — {due}, қалған күн саны: {}.", left.max(0)),
            format!("Reminder: assignment {id} is due on {}, {} day(s) left.", p.due_on, left.max(0)),
        )
    };
    let link = match &mailer.public_url {
        Some(base) => format!("{}/#/coordination?assignment={id}", base.trim_end_matches('/')),
        None => format!("Qalqan → Координация / Үйлестіру / Coordination → №{id}"),
    };
    let body = format!(
        "{ru}\n{kk}\n{en}\n\n«{}»\n\n{link}\n\n--\nЭто сообщение отправлено Qalqan автоматически. / Бұл хабарды Qalqan автоматты түрде жіберді. / Sent automatically by Qalqan.\n",
        p.text.trim()
    );
    Message { to, subject, body, id: format!("qalqan-notification-{}", p.id) }
}
