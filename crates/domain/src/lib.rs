//! Qalqan's domain: the validated types every other crate speaks.
//!
//! Values here are *parsed*, never merely checked: a [`Wgs84Point`] cannot hold
//! latitude 91, an [`OccurredAt`] cannot end before it starts, a
//! [`TerritoryName`] cannot be blank. Code past the parsing boundary trusts them.
//!
//! The crate does no I/O and knows nothing of files, SQL or HTTP.

#[macro_use]
mod macros;

pub mod account;
pub mod assignment;
pub mod audit;
pub mod batch;
pub mod beat;
pub mod camera;
pub mod category;
pub mod error;
pub mod facility;
pub mod incident;
pub mod intervention;
pub mod point;
pub mod post;
pub mod retention;
pub mod territory;
pub mod time;

pub use batch::{BatchId, ImportBatch, Sha256Hex};
pub use category::OffenceCategory;
pub use error::DomainError;
pub use incident::{DistrictRef, Incident, IncidentId, NewIncident, RowKey};
pub use point::Wgs84Point;
pub use territory::{Area, District, DistrictId, DistrictName, Territory, TerritoryId, TerritoryName};
pub use time::{OccurredAt, TimePrecision};
