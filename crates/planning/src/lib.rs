//! Qalqan's planning core: where cameras, posts and patrols cover the most harm.
//!
//! Pure, synchronous functions over projected coordinates (metres), graphs and
//! demand weights; no files, no SQL, no HTTP. Each algorithm names its paper,
//! its parameters (in a params struct with documented defaults) and its cost.
//!
//! - [`street`]: the routable street graph, snapping points to segments, shortest travel times.
//! - [`camera`]: a camera's view sector; incidents and street length inside it, overlaps counted once.
//! - [`location`]: facility location — maximal covering (MCLP), p-median, p-center — exact and heuristic.
//! - [`beats`]: district inspectors' beats — workload, compactness, contiguity — and a redistricting
//!   proposal that balances workload with compact, contiguous beats.

pub mod beats;
pub mod camera;
pub mod location;
pub mod street;

/// Errors of the planning boundary: inputs or parameters that make no sense.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum PlanningError {
    #[error("{what}: expected {expected} values, got {got}")]
    LengthMismatch { what: &'static str, expected: usize, got: usize },
    #[error("{what} must be finite")]
    NotFinite { what: &'static str },
    #[error("{name} {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    #[error("way {way} names node {node}, which is not among the street nodes")]
    UnknownNode { way: i64, node: i64 },
    #[error("{what} {index} is not a site (there are {sites})")]
    SiteOutOfRange { what: &'static str, index: usize, sites: usize },
    #[error("unit {index}: {reason}")]
    InvalidUnit { index: usize, reason: String },
    #[error("adjacency of unit {unit}: {reason}")]
    InvalidAdjacency { unit: usize, reason: String },
}
