//! Facility location (being written).
