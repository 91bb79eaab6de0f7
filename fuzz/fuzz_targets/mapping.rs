//! A mapping file (TOML), as uploaded with an import.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = qalqan_ingest::Mapping::parse(text, std::path::Path::new("mapping.toml"));
    }
});
