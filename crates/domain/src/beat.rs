//! District inspectors' beats: the part of a territory one inspector answers for.

use crate::DomainError;
use crate::territory::Area;

/// A beat as registered or proposed: a name unique in its territory, the inspector (may be
/// vacant) and the boundary.
#[derive(Debug, Clone)]
pub struct NewBeat {
    pub name: String,
    /// The inspector's name or service number; `None` for a vacant beat.
    pub inspector: Option<String>,
    pub boundary: Area,
}

impl NewBeat {
    /// Checks the name (non-empty, ≤ 200 characters) and the inspector (≤ 200, blank = vacant).
    pub fn new(name: &str, inspector: Option<&str>, boundary: Area) -> Result<Self, DomainError> {
        let name = name.trim();
        if name.is_empty() {
            return Err(DomainError::Empty { what: "beat name" });
        }
        let inspector = inspector.map(str::trim).filter(|s| !s.is_empty());
        for (what, value) in [("beat name", Some(name)), ("inspector", inspector)] {
            if let Some(v) = value {
                if v.chars().count() > 200 {
                    return Err(DomainError::TooLong { what, len: v.chars().count(), max: 200 });
                }
            }
        }
        Ok(Self { name: name.to_owned(), inspector: inspector.map(str::to_owned), boundary })
    }
}
