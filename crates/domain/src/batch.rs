//! Import batches: the provenance of every stored incident.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::{DomainError, TerritoryId};

/// Database identifier of an import batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct BatchId(pub i64);

/// A SHA-256 digest as 64 lowercase hex digits.
///
/// ```
/// use qalqan_domain::Sha256Hex;
/// assert!(Sha256Hex::parse(&"ab".repeat(32)).is_ok());
/// assert!(Sha256Hex::parse("abc").is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Sha256Hex(String);

impl Sha256Hex {
    /// Parses 64 lowercase hex digits.
    pub fn parse(s: &str) -> Result<Self, DomainError> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            Ok(Self(s.to_owned()))
        } else {
            Err(DomainError::BadChecksum { value: s.to_owned() })
        }
    }

    /// Formats raw digest bytes.
    /// The SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        let digest: [u8; 32] = sha2::Sha256::digest(bytes).into();
        Self::from_digest(&digest)
    }

    pub fn from_digest(bytes: &[u8; 32]) -> Self {
        use fmt::Write;
        let mut s = String::with_capacity(64);
        for b in bytes {
            let _ = write!(s, "{b:02x}");
        }
        Self(s)
    }

    /// The digest as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Sha256Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One import of one file into one territory, with its counts.
///
/// `rows_read = rows_imported + rows_already_present + rows_rejected`;
/// `rows_identical_in_file` counts rows equal to an earlier row of the same
/// file, which are imported as separate incidents (two thefts can look alike).
#[derive(Debug, Clone, PartialEq)]
pub struct ImportBatch {
    pub id: BatchId,
    pub territory: TerritoryId,
    pub file_name: String,
    pub checksum: Sha256Hex,
    pub format: String,
    pub rows_read: u64,
    pub rows_imported: u64,
    pub rows_identical_in_file: u64,
    pub rows_already_present: u64,
    pub rows_rejected: u64,
    pub imported_by: String,
    pub imported_at: DateTime<Utc>,
}
