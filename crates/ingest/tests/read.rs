//! Reading exports: every malformed input is reported with its file, line and field.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use chrono::{TimeZone, Utc};
use geo_types::{MultiPolygon, polygon};
use qalqan_domain::{
    Area, District, DistrictId, DistrictName, DistrictRef, NewIncident, OffenceCategory, Territory, TerritoryId, TerritoryName,
    TimePrecision,
};
use qalqan_ingest::{ImportContext, IngestError, Mapping, ReadOptions, ReadReport, SourceFile, read_incidents, write_rejects};

const MAPPING: &str = r#"
[columns]
id = "id"
category = "type"
latitude = "lat"
longitude = "lon"
district = "district"
[time]
column = "date"
format = "%Y-%m-%d %H:%M"
[categories]
"Theft" = "theft"
"Burglary" = "burglary"
"#;

const HEADER: &str = "id,type,date,lat,lon,district\n";

fn territory() -> Territory {
    let square = polygon![(x: 71.0, y: 51.0), (x: 72.0, y: 51.0), (x: 72.0, y: 52.0), (x: 71.0, y: 52.0)];
    let west = polygon![(x: 71.0, y: 51.0), (x: 71.5, y: 51.0), (x: 71.5, y: 52.0), (x: 71.0, y: 52.0)];
    Territory {
        id: TerritoryId(1),
        name: TerritoryName::parse("Astana").unwrap(),
        time_zone: "Asia/Almaty".parse().unwrap(),
        boundary: Some(Area::new(MultiPolygon(vec![square])).unwrap()),
        districts: vec![District {
            id: DistrictId(7),
            name: DistrictName::parse("Yesil").unwrap(),
            parent: None,
            boundary: Some(Area::new(MultiPolygon(vec![west])).unwrap()),
        }],
    }
}

struct Case {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn file(name: &str, bytes: &[u8]) -> Case {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(name);
    std::fs::write(&path, bytes).unwrap();
    Case { _dir: dir, path }
}

fn read_with(path: &Path, mapping_text: &str) -> Result<(ReadReport, Vec<NewIncident>), IngestError> {
    let mapping = Mapping::parse(mapping_text, Path::new("test.toml")).unwrap();
    let source = SourceFile::open(path, mapping.format)?;
    let t = territory();
    let ctx = ImportContext { territory: &t, now: Utc.with_ymd_and_hms(2025, 6, 1, 0, 0, 0).unwrap() };
    let mut all = Vec::new();
    let report = read_incidents(&source, &mapping, &ctx, &ReadOptions { chunk_size: 2, ..Default::default() }, &mut |chunk| {
        all.extend(chunk);
        ControlFlow::Continue(())
    })?;
    Ok((report, all))
}

fn read(path: &Path) -> Result<(ReadReport, Vec<NewIncident>), IngestError> {
    read_with(path, MAPPING)
}

/// The single reject of a file, as (line, field, reason).
fn only_reject(body: &str) -> (u64, String, String) {
    let case = file("in.csv", format!("{HEADER}{body}").as_bytes());
    let (report, _) = read(&case.path).unwrap();
    assert_eq!(report.rejects.len(), 1, "{:?}", report.rejects);
    let r = &report.rejects[0];
    assert!(r.file.ends_with("in.csv"));
    (r.line, r.field.clone(), r.reason.clone())
}

#[test]
fn valid_rows_become_incidents_in_the_territory_zone() {
    let case = file("in.csv", format!("{HEADER}1,Theft,2024-03-01 22:15,51.2,71.3,\n2,Burglary,2024-03-02 08:00,51.2,71.8,\n").as_bytes());
    let (report, incidents) = read(&case.path).unwrap();
    assert_eq!((report.rows_read, report.rows_valid, report.rejects.len()), (2, 2, 0));
    let first = &incidents[0];
    assert_eq!(first.category, OffenceCategory::Theft);
    assert_eq!(first.source_line, 2);
    assert_eq!(first.external_id.as_deref(), Some("1"));
    assert_eq!(first.occurred.precision(), TimePrecision::Minute);
    // Asia/Almaty is UTC+5 since 2024-03-01 (tzdata 2024b): 22:15 local = 17:15 UTC.
    assert_eq!(first.occurred.start().to_rfc3339(), "2024-03-01T17:15:00+00:00");
    assert_eq!(first.district, Some(DistrictRef::Known(DistrictId(7))), "point-in-polygon when the column is empty");
    assert_eq!(incidents[1].district, None, "east half has no district");
}

#[test]
fn latitude_out_of_range_is_rejected_with_line_and_field() {
    let (line, field, reason) = only_reject("1,Theft,2024-03-01 22:15,51.2,71.3,\n2,Theft,2024-03-01 22:15,95.5,71.3,\n");
    assert_eq!((line, field.as_str()), (3, "lat"));
    assert!(reason.contains("latitude 95.5"), "{reason}");
}

#[test]
fn missing_and_non_numeric_coordinates_are_rejected() {
    let (line, field, reason) = only_reject("1,Theft,2024-03-01 22:15,,71.3,\n");
    assert_eq!((line, field.as_str()), (2, "lat"));
    assert!(reason.contains("missing"), "{reason}");
    let (_, field, reason) = only_reject("1,Theft,2024-03-01 22:15,51.2,seventy,\n");
    assert_eq!(field, "lon");
    assert!(reason.contains("'seventy' is not a number"), "{reason}");
    let (_, field, reason) = only_reject("1,Theft,2024-03-01 22:15,0,0,\n");
    assert_eq!(field, "lat/lon");
    assert!(reason.contains("(0, 0)"), "{reason}");
}

#[test]
fn point_outside_the_territory_boundary_is_rejected() {
    let (line, field, reason) = only_reject("1,Theft,2024-03-01 22:15,43.65,-79.38,\n");
    assert_eq!((line, field.as_str()), (2, "lat/lon"));
    assert!(reason.contains("outside the boundary of territory Astana"), "{reason}");
}

#[test]
fn unparsable_date_is_rejected_with_line_and_field() {
    let (line, field, reason) = only_reject("1,Theft,2024-13-45 10:00,51.2,71.3,\n");
    assert_eq!((line, field.as_str()), (2, "date"));
    assert!(reason.contains("'2024-13-45 10:00' does not match the format '%Y-%m-%d %H:%M'"), "{reason}");
}

#[test]
fn future_date_is_rejected() {
    let (_, field, reason) = only_reject("1,Theft,2031-01-01 10:00,51.2,71.3,\n");
    assert_eq!(field, "date");
    assert!(reason.contains("in the future"), "{reason}");
}

#[test]
fn unknown_category_is_rejected_and_points_at_the_mapping() {
    let (_, field, reason) = only_reject("1,Arson,2024-03-01 10:00,51.2,71.3,\n");
    assert_eq!(field, "type");
    assert!(reason.contains("unknown offence category 'Arson'") && reason.contains("[categories]"), "{reason}");
}

#[test]
fn unknown_district_is_rejected_by_default_and_created_on_request() {
    let (_, field, reason) = only_reject("1,Theft,2024-03-01 10:00,51.2,71.3,Saryarka\n");
    assert_eq!(field, "district");
    assert!(reason.contains("'Saryarka' is not registered"), "{reason}");

    let case = file(
        "in.csv",
        format!("{HEADER}1,Theft,2024-03-01 10:00,51.2,71.3,Saryarka\n2,Theft,2024-03-01 10:00,51.2,71.3,Yesil\n").as_bytes(),
    );
    let (report, incidents) = read_with(&case.path, &format!("{MAPPING}\n[districts]\nunknown = \"create\"\n")).unwrap();
    assert!(report.rejects.is_empty());
    assert_eq!(incidents[0].district, Some(DistrictRef::New(DistrictName::parse("Saryarka").unwrap())));
    assert_eq!(incidents[1].district, Some(DistrictRef::Known(DistrictId(7))));
}

#[test]
fn truncated_line_is_rejected_naming_the_first_missing_field() {
    let (line, field, reason) = only_reject("1,Theft,2024-03-01 10:00,51.2,71.3,\n2,Theft,2024-03-01 1");
    assert_eq!((line, field.as_str()), (3, "lat"));
    assert!(reason.contains("3 of the header's 6 fields"), "{reason}");
}

#[test]
fn wrong_delimiter_fails_the_file_and_suggests_the_right_one() {
    let case = file("in.csv", b"id;type;date;lat;lon;district\n1;Theft;2024-03-01 10:00;51.2;71.3;\n");
    let err = read(&case.path).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, IngestError::MissingColumn { .. }), "{msg}");
    assert!(msg.contains("in.csv: line 1: column 'id'"), "{msg}");
    assert!(msg.contains("delimiter = \";\""), "{msg}");
}

#[test]
fn empty_file_fails_with_line_one() {
    let case = file("in.csv", b"");
    let err = read(&case.path).unwrap_err();
    assert!(matches!(err, IngestError::EmptyFile { .. }));
    assert!(err.to_string().contains("in.csv: line 1: the file is empty"), "{err}");
}

#[test]
fn header_without_rows_fails() {
    let case = file("in.csv", HEADER.as_bytes());
    assert!(matches!(read(&case.path).unwrap_err(), IngestError::NoDataRows { .. }));
}

#[test]
fn zero_byte_gzip_fails_as_not_gzip() {
    let case = file("in.csv.gz", b"");
    let err = read(&case.path).unwrap_err();
    assert!(matches!(err, IngestError::Gzip { .. }), "{err}");
    assert!(err.to_string().contains("0 bytes"), "{err}");
}

#[test]
fn plain_text_named_gz_fails_as_not_gzip() {
    let case = file("in.csv.gz", HEADER.as_bytes());
    let err = read(&case.path).unwrap_err();
    assert!(err.to_string().contains("gzip signature"), "{err}");
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

#[test]
fn truncated_gzip_fails_with_a_read_error() {
    let body: String = (0..5000).map(|i| format!("{i},Theft,2024-03-01 10:00,51.2,71.3,\n")).collect();
    let gz = gzip(format!("{HEADER}{body}").as_bytes());
    let case = file("in.csv.gz", &gz[..gz.len() / 2]);
    let err = read(&case.path).unwrap_err();
    assert!(matches!(err, IngestError::Read { .. }), "{err}");
    assert!(err.to_string().contains("gzip data is corrupt or truncated"), "{err}");
}

#[test]
fn gzip_csv_reads_like_the_plain_file() {
    let text = format!("{HEADER}1,Theft,2024-03-01 22:15,51.2,71.3,\n2,Burglary,2024-03-02 08:00,51.2,71.8,\n");
    let plain = file("in.csv", text.as_bytes());
    let gz = file("in.csv.gz", &gzip(text.as_bytes()));
    assert_eq!(read(&plain.path).unwrap().1, read(&gz.path).unwrap().1);
}

#[test]
fn non_utf8_bytes_are_rejected_with_line_and_field() {
    let mut bytes = format!("{HEADER}1,Theft,2024-03-01 10:00,51.2,71.3,\n").into_bytes();
    bytes.extend_from_slice(b"2,Theft,2024-03-01 10:00,51.2,71.3,\xCF\xF0\xE8\n"); // cp1251 "При"
    let case = file("in.csv", &bytes);
    let (report, _) = read(&case.path).unwrap();
    assert_eq!(report.rejects.len(), 1);
    let r = &report.rejects[0];
    assert_eq!((r.line, r.field.as_str()), (3, "district"));
    assert!(r.reason.contains("not valid UTF-8 (byte 0xCF"), "{}", r.reason);
}

#[test]
fn duplicate_external_id_is_rejected() {
    let (line, field, reason) = only_reject("1,Theft,2024-03-01 10:00,51.2,71.3,\n1,Burglary,2024-03-01 11:00,51.2,71.3,\n");
    assert_eq!((line, field.as_str()), (3, "id"));
    assert!(reason.contains("already appeared on line 2"), "{reason}");
}

#[test]
fn identical_rows_without_ids_are_kept_and_counted_with_distinct_stable_keys() {
    let no_id = MAPPING.replace("id = \"id\"\n", "");
    let text =
        format!("{HEADER}1,Theft,2024-03-01 10:00,51.2,71.3,\n1,Theft,2024-03-01 10:00,51.2,71.3,\n1,Theft,2024-03-01 10:00,51.2,71.3,\n");
    let case = file("in.csv", text.as_bytes());
    let (report, first) = read_with(&case.path, &no_id).unwrap();
    assert_eq!((report.rows_valid, report.rows_identical_in_file), (3, 2));
    let keys: std::collections::HashSet<_> = first.iter().map(|i| i.row_key).collect();
    assert_eq!(keys.len(), 3, "each identical row has its own identity");
    let (_, again) = read_with(&case.path, &no_id).unwrap();
    assert_eq!(first.iter().map(|i| i.row_key).collect::<Vec<_>>(), again.iter().map(|i| i.row_key).collect::<Vec<_>>());
}

fn toronto() -> Territory {
    Territory {
        id: TerritoryId(1),
        name: TerritoryName::parse("Toronto").unwrap(),
        time_zone: "America/Toronto".parse().unwrap(),
        boundary: None,
        districts: vec![],
    }
}

fn toronto_mapping() -> Mapping {
    Mapping::from_file(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/mappings/toronto-mci.toml"))).unwrap()
}

fn read_toronto(path: &Path) -> (ReadReport, Vec<NewIncident>) {
    let mapping = toronto_mapping();
    let source = SourceFile::open(path, None).unwrap();
    let t = toronto();
    let ctx = ImportContext { territory: &t, now: Utc::now() };
    let mut all = Vec::new();
    let report = read_incidents(&source, &mapping, &ctx, &ReadOptions::default(), &mut |c| {
        all.extend(c);
        ControlFlow::Continue(())
    })
    .unwrap();
    (report, all)
}

#[test]
fn toronto_utc_midnight_dates_and_local_hour_column_give_the_local_hour() {
    // 2019-07-01 04:00 UTC is midnight in Toronto (EDT, UTC-4); hour 22 local is 02:00 UTC the next day.
    // 2019-01-15 05:00 UTC is midnight in winter (EST, UTC-5); hour 8 local is 13:00 UTC.
    let text = "occurrencedate,occurrencehour,premises_type,MCI,Neighbourhood,Lat,Long\n\
                2019/07/01 04:00:00+00,22,House,Break and Enter,Annex,43.67,-79.40\n\
                2019/01/15 05:00:00+00,8,Outside,Theft Over,Annex,43.67,-79.40\n";
    let case = file("t.csv", text.as_bytes());
    let (report, incidents) = read_toronto(&case.path);
    assert!(report.rejects.is_empty(), "{:?}", report.rejects);
    let summer = &incidents[0];
    assert_eq!(summer.occurred.precision(), TimePrecision::Hour);
    assert_eq!(summer.occurred.start().to_rfc3339(), "2019-07-02T02:00:00+00:00");
    assert_eq!(summer.occurred.local_month(toronto().time_zone), 201907);
    assert_eq!(summer.category, OffenceCategory::Burglary);
    assert_eq!(summer.premises.as_deref(), Some("House"));
    assert_eq!(summer.district, Some(DistrictRef::New(DistrictName::parse("Annex").unwrap())));
    let winter = &incidents[1];
    assert_eq!(winter.occurred.start().to_rfc3339(), "2019-01-15T13:00:00+00:00");
    assert_eq!((winter.category, winter.subcategory.as_deref()), (OffenceCategory::Theft, Some("Theft Over")));
}

#[test]
fn hour_out_of_range_is_rejected_on_the_hour_column() {
    let text = "occurrencedate,occurrencehour,premises_type,MCI,Neighbourhood,Lat,Long\n2019/07/01 04:00:00+00,24,House,Robbery,Annex,43.67,-79.40\n";
    let case = file("t.csv", text.as_bytes());
    let (report, _) = read_toronto(&case.path);
    assert_eq!(report.rejects[0].field, "occurrencehour");
    assert!(report.rejects[0].reason.contains("'24'"), "{}", report.rejects[0].reason);
}

#[test]
fn day_and_month_precision_are_kept() {
    let day = MAPPING.replace("%Y-%m-%d %H:%M", "%d.%m.%Y");
    let case = file("in.csv", format!("{HEADER}1,Theft,05.03.2024,51.2,71.3,\n").as_bytes());
    let (_, incidents) = read_with(&case.path, &day).unwrap();
    assert_eq!(incidents[0].occurred.precision(), TimePrecision::Day);
    assert_eq!(incidents[0].occurred.end() - incidents[0].occurred.start(), chrono::Duration::days(1));

    let month = MAPPING.replace("format = \"%Y-%m-%d %H:%M\"", "format = \"%Y-%m\"\nprecision = \"month\"");
    let case = file("in.csv", format!("{HEADER}1,Theft,2023-06,51.2,71.3,\n").as_bytes());
    let (report, incidents) = read_with(&case.path, &month).unwrap();
    assert!(report.rejects.is_empty(), "{:?}", report.rejects);
    assert_eq!(incidents[0].occurred.precision(), TimePrecision::Month);
    assert_eq!(incidents[0].occurred.end() - incidents[0].occurred.start(), chrono::Duration::days(30));
}

#[test]
fn time_windows_come_from_an_end_column() {
    let window = MAPPING.replace("format = \"%Y-%m-%d %H:%M\"", "format = \"%Y-%m-%d %H:%M\"\nend_column = \"until\"");
    let header = "id,type,date,until,lat,lon,district\n";
    let case = file(
        "in.csv",
        format!(
            "{header}1,Burglary,2024-03-01 18:00,2024-03-04 08:00,51.2,71.3,\n2,Burglary,2024-03-04 18:00,2024-03-01 08:00,51.2,71.3,\n"
        )
        .as_bytes(),
    );
    let (report, incidents) = read_with(&case.path, &window).unwrap();
    assert_eq!(incidents[0].occurred.precision(), TimePrecision::Window);
    assert_eq!((incidents[0].occurred.end() - incidents[0].occurred.start()).num_hours(), 62);
    assert_eq!(report.rejects[0].field, "until");
    assert!(report.rejects[0].reason.contains("ends"), "{}", report.rejects[0].reason);
}

const GEO_MAPPING: &str = r#"
[columns]
category = "type"
[time]
column = "date"
format = "%Y-%m-%d"
"#;

#[test]
fn geojson_points_are_read_and_bad_features_reported_by_line() {
    let text = r#"{"type": "FeatureCollection", "features": [
{"type": "Feature", "geometry": {"type": "Point", "coordinates": [71.4, 51.1]}, "properties": {"type": "robbery", "date": "2024-01-02"}},
{"type": "Feature", "geometry": {"type": "LineString", "coordinates": [[71.4, 51.1], [71.5, 51.2]]}, "properties": {"type": "robbery", "date": "2024-01-02"}},
{"type": "Feature", "geometry": {"type": "Point", "coordinates": [71.4, 51.1]}, "properties": {"type": "robbery"}}
]}"#;
    let case = file("in.geojson", text.as_bytes());
    let (report, incidents) = read_with(&case.path, GEO_MAPPING).unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].location.lon(), 71.4);
    assert_eq!(incidents[0].source_line, 2);
    let got: Vec<(u64, &str)> = report.rejects.iter().map(|r| (r.line, r.field.as_str())).collect();
    assert_eq!(got, vec![(3, "geometry"), (4, "date")]);
}

#[test]
fn geojson_that_is_not_a_feature_collection_fails() {
    let case = file("in.geojson", br#"{"type": "Point", "coordinates": [1, 2]}"#);
    let err = read_with(&case.path, GEO_MAPPING).unwrap_err();
    assert!(err.to_string().contains("expected a FeatureCollection"), "{err}");
    let case = file("in.geojson", b"{\"type\": \"FeatureCollection\",\n \"features\": [ {,] }");
    let err = read_with(&case.path, GEO_MAPPING).unwrap_err();
    assert!(err.to_string().contains("in.geojson: line 2"), "{err}");
}

#[test]
fn rejects_file_round_trips_every_reject() {
    let case = file("in.csv", format!("{HEADER}1,Theft,2024-03-01 22:15,95,71.3,\n2,Arson,2024-03-01 22:15,51.2,71.3,\n").as_bytes());
    let (report, _) = read(&case.path).unwrap();
    let out = case.path.with_file_name("rejects.csv");
    write_rejects(&out, &report.rejects).unwrap();
    let mut rdr = csv::Reader::from_path(&out).unwrap();
    let rows: Vec<csv::StringRecord> = rdr.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(&rows[0][1], "2");
    assert_eq!(&rows[1][2], "type");
    assert!(rows[1][4].contains("Arson"));
}

#[test]
fn the_shipped_toronto_file_reads_every_row() {
    let (report, incidents) = read_toronto(Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/demo/toronto-mci.csv.gz")));
    assert_eq!((report.rows_read, report.rows_valid, incidents.len()), (240_992, 240_992, 240_992));
    assert!(report.rejects.is_empty());
    assert_eq!(report.rows_identical_in_file, 1_603);
    let keys: std::collections::HashSet<_> = incidents.iter().map(|i| i.row_key).collect();
    assert_eq!(keys.len(), 240_992, "every row has its own identity");
}
