//! An incident export as CSV (plain and gzip), read through the import's own reader.
#![no_main]
#[path = "common.rs"]
mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // The first byte picks plain CSV or gzip: both paths meet hostile bytes.
    match data.split_first() {
        Some((b, rest)) if b % 2 == 1 => common::read("export.csv.gz", rest),
        Some((_, rest)) => common::read("export.csv", rest),
        None => {}
    }
});
