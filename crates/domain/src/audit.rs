//! The tamper-evident audit trail: every write (and, with the server, every
//! read of incident detail) is an [`AuditEntry`] chained to the previous one
//! by SHA-256.
//!
//! `hash = SHA-256(canonical(entry fields) ‖ prev_hash)`, where the canonical
//! form writes each field as its byte length, a colon and the bytes, so no
//! two different entries share an encoding. Editing any field of a stored
//! entry, deleting or inserting one in the middle, or reordering entries
//! breaks the chain at that point ([`verify_chain`]). Removing entries from
//! the end cannot be seen from the chain alone: keep the head hash somewhere
//! else (a report, a printout) to anchor it.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

/// Hash of the (imaginary) entry before the first one.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Who did something, and from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    /// Account or OS user name.
    pub name: String,
    /// "cli", or the client address for HTTP requests.
    pub origin: String,
}

impl Actor {
    /// The operator of a command-line invocation.
    pub fn cli(name: &str) -> Self {
        Self { name: name.to_owned(), origin: "cli".to_owned() }
    }
}

/// What is being recorded, before it gets its place in the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub actor: Actor,
    /// Dotted verb, e.g. `territory.add`, `import.incidents`.
    pub action: String,
    /// What it was done to, e.g. `territory:3`, `batch:12`.
    pub object: String,
    /// Details as JSON text.
    pub detail: String,
    /// Why, when the user gave a purpose.
    pub purpose: Option<String>,
}

/// A stored audit entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// 1, 2, 3, … without gaps.
    pub id: i64,
    /// Microsecond precision, so the stored value hashes the same on every backend.
    pub at: DateTime<Utc>,
    pub actor: String,
    pub origin: String,
    pub action: String,
    pub object: String,
    pub detail: String,
    pub purpose: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

impl AuditEntry {
    /// The hash this entry must have, given its fields and `prev_hash`.
    ///
    /// ```
    /// use qalqan_domain::audit::{AuditEntry, GENESIS};
    /// let at = chrono::DateTime::from_timestamp_micros(1_700_000_000_000_000).unwrap();
    /// let mut e = AuditEntry { id: 1, at, actor: "ivanov".into(), origin: "cli".into(), action: "territory.add".into(),
    ///     object: "territory:1".into(), detail: "{}".into(), purpose: None, prev_hash: GENESIS.into(), hash: String::new() };
    /// e.hash = e.expected_hash();
    /// assert_eq!(e.hash.len(), 64);
    /// e.actor = "petrov".into();
    /// assert_ne!(e.expected_hash(), e.hash);
    /// ```
    pub fn expected_hash(&self) -> String {
        let mut h = Sha256::new();
        let mut field = |bytes: &[u8]| {
            h.update(bytes.len().to_string().as_bytes());
            h.update(b":");
            h.update(bytes);
        };
        field(self.id.to_string().as_bytes());
        field(self.at.timestamp_micros().to_string().as_bytes());
        field(self.actor.as_bytes());
        field(self.origin.as_bytes());
        field(self.action.as_bytes());
        field(self.object.as_bytes());
        field(self.detail.as_bytes());
        match &self.purpose {
            None => field(b"-"),
            Some(p) => field(format!("+{p}").as_bytes()),
        }
        field(self.prev_hash.as_bytes());
        let digest: [u8; 32] = h.finalize().into();
        digest.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

/// Where a chain stops being intact.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// Entry `id` does not hash to its stored hash: it was edited.
    #[error("entry {id} was altered: it no longer matches its hash")]
    Altered { id: i64 },
    /// Entry `id` does not point at the previous entry's hash: one was removed, inserted or reordered before it.
    #[error("entry {id} does not follow the entry before it: entries were removed, inserted or reordered")]
    Unlinked { id: i64 },
    /// Ids jump from `after` to `next`: entries in between were deleted.
    #[error("entries between {after} and {next} are missing")]
    Gap { after: i64, next: i64 },
}

/// Checks entries in id order; `Ok(head hash)` when intact (GENESIS for none).
pub fn verify_chain<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Result<String, ChainBreak> {
    let mut prev_hash = GENESIS.to_owned();
    let mut prev_id = 0;
    for e in entries {
        if e.id != prev_id + 1 {
            return Err(ChainBreak::Gap { after: prev_id, next: e.id });
        }
        if e.prev_hash != prev_hash {
            return Err(ChainBreak::Unlinked { id: e.id });
        }
        if e.expected_hash() != e.hash {
            return Err(ChainBreak::Altered { id: e.id });
        }
        prev_hash = e.hash.clone();
        prev_id = e.id;
    }
    Ok(prev_hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|id| {
                let mut e = AuditEntry {
                    id,
                    at: DateTime::from_timestamp_micros(1_700_000_000_000_000 + id).unwrap(),
                    actor: "analyst".into(),
                    origin: "cli".into(),
                    action: "import.incidents".into(),
                    object: format!("batch:{id}"),
                    detail: format!("{{\"rows\":{id}}}"),
                    purpose: None,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = e.expected_hash();
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies_to_its_head() {
        let c = chain(5);
        assert_eq!(verify_chain(&c), Ok(c[4].hash.clone()));
        assert_eq!(verify_chain(&[]), Ok(GENESIS.to_owned()));
    }

    #[test]
    fn edits_deletions_and_reordering_are_detected() {
        let mut edited = chain(5);
        edited[2].detail = "{\"rows\":999}".into();
        assert_eq!(verify_chain(&edited), Err(ChainBreak::Altered { id: 3 }));

        let mut deleted = chain(5);
        deleted.remove(2);
        assert_eq!(verify_chain(&deleted), Err(ChainBreak::Gap { after: 2, next: 4 }));

        // Deleting and renumbering the rest still breaks the links.
        let mut renumbered = chain(5);
        renumbered.remove(2);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.id = i as i64 + 1;
        }
        assert!(matches!(verify_chain(&renumbered), Err(ChainBreak::Altered { id: 3 } | ChainBreak::Unlinked { id: 3 })));

        let mut purpose_added = chain(3);
        purpose_added[1].purpose = Some("".into());
        assert_eq!(verify_chain(&purpose_added), Err(ChainBreak::Altered { id: 2 }), "None and Some(\"\") differ");
    }
}
