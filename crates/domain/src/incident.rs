//! Incidents: one recorded offence at a place and a time.

use crate::{BatchId, DistrictId, DistrictName, OccurredAt, OffenceCategory, TerritoryId, Wgs84Point};

/// Database identifier of an incident.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IncidentId(pub i64);

/// The identity of a source row, used to make re-imports idempotent.
///
/// With an external id it is a hash of that id; without one it is a hash of
/// the whole source row plus its ordinal among identical rows of the same
/// file, so two identical lines stay two incidents, while importing the same
/// lines again adds nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RowKey(pub [u8; 16]);

/// Which district an incoming incident belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DistrictRef {
    /// A district already registered for the territory.
    Known(DistrictId),
    /// A district named by the file that the import will register.
    New(DistrictName),
}

/// An incident parsed from a source file, not yet stored.
#[derive(Debug, Clone, PartialEq)]
pub struct NewIncident {
    pub row_key: RowKey,
    /// Line of the source file the incident came from (1-based; the header is line 1).
    pub source_line: u64,
    pub external_id: Option<String>,
    pub category: OffenceCategory,
    pub subcategory: Option<String>,
    pub occurred: OccurredAt,
    pub location: Wgs84Point,
    pub district: Option<DistrictRef>,
    pub premises: Option<String>,
}

/// A stored incident.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub id: IncidentId,
    pub territory: TerritoryId,
    pub batch: BatchId,
    pub external_id: Option<String>,
    pub category: OffenceCategory,
    pub subcategory: Option<String>,
    pub occurred: OccurredAt,
    pub location: Wgs84Point,
    pub district: Option<DistrictId>,
    pub premises: Option<String>,
}
