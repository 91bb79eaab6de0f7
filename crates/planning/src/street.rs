//! Street graph (being written).
