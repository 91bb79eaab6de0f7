//! GeoJSON input: a FeatureCollection of Point features.

use std::io::Read;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::convert::{Collector, Converter, FieldError, row_error};
use crate::{ImportContext, IngestError, Mapping, SourceFile};

#[derive(Deserialize)]
struct Collection<'a> {
    #[serde(rename = "type")]
    kind: String,
    #[serde(borrow, default)]
    features: Vec<&'a RawValue>,
}

#[derive(Deserialize)]
struct Feature {
    geometry: Option<Geometry>,
    #[serde(default)]
    properties: Option<Map<String, Value>>,
}

#[derive(Deserialize)]
struct Geometry {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    coordinates: Value,
}

/// Largest GeoJSON content (decompressed) read, bytes: GeoJSON is parsed whole.
pub const MAX_GEOJSON_BYTES: u64 = 1 << 30;

/// Reads every feature; line numbers are those where each feature starts.
///
/// Properties named by the mapping are read as text (numbers in their JSON
/// spelling); coordinates come from the point geometry unless the mapping
/// names latitude/longitude properties.
pub(crate) fn read(
    source: &SourceFile,
    mut reader: Box<dyn Read + Send>,
    mapping: &Mapping,
    ctx: &ImportContext<'_>,
    out: &mut Collector<'_>,
) -> Result<(), IngestError> {
    let mut bytes = Vec::new();
    (&mut reader).take(MAX_GEOJSON_BYTES + 1).read_to_end(&mut bytes).map_err(|e| IngestError::Read {
        path: source.path.clone(),
        line: 1,
        reason: e.to_string(),
    })?;
    if bytes.len() as u64 > MAX_GEOJSON_BYTES {
        return Err(IngestError::Read {
            path: source.path.clone(),
            line: 1,
            reason: format!("GeoJSON is read whole, and this file is over {} MiB: split it, or export CSV", MAX_GEOJSON_BYTES >> 20),
        });
    }
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = line_of(&bytes, e.valid_up_to());
            return Err(IngestError::GeoJson {
                path: source.path.clone(),
                line,
                reason: format!("byte 0x{:02X} is not valid UTF-8; GeoJSON must be UTF-8", bytes[e.valid_up_to()]),
            });
        }
    };
    if text.trim().is_empty() {
        return Err(IngestError::EmptyFile { path: source.path.clone() });
    }
    let collection: Collection<'_> = serde_json::from_str(text).map_err(|e| IngestError::GeoJson {
        path: source.path.clone(),
        line: e.line() as u64,
        reason: e.to_string(),
    })?;
    if collection.kind != "FeatureCollection" {
        return Err(IngestError::GeoJson {
            path: source.path.clone(),
            line: 1,
            reason: format!("expected a FeatureCollection, found type '{}'", collection.kind),
        });
    }
    if collection.features.is_empty() {
        return Err(IngestError::NoDataRows { path: source.path.clone(), line: line_of(text.as_bytes(), text.len()) });
    }

    let needed = needed_properties(mapping);
    let position = |name: &str| needed.iter().position(|n| n == name);
    let converter_header = format!("properties of each feature ({})", needed.join(", "));
    let mut converter = Converter::new(mapping, ctx, source, &position, &converter_header, "", false)?;
    let id_field = mapping.columns.id.clone().unwrap_or_default();
    let base = text.as_ptr() as usize;
    let mut values: Vec<String> = vec![String::new(); needed.len()];

    for raw in collection.features {
        if out.stopped() {
            break;
        }
        let line = line_of(text.as_bytes(), raw.get().as_ptr() as usize - base);
        out.count_row();
        let record = raw.get().to_owned();
        let feature: Feature = match serde_json::from_str(raw.get()) {
            Ok(f) => f,
            Err(e) => {
                let err = FieldError { field: "(feature)".into(), reason: format!("not a GeoJSON feature: {e}") };
                out.reject(row_error(source, line, err, record));
                continue;
            }
        };
        let props = feature.properties.unwrap_or_default();
        for (slot, name) in values.iter_mut().zip(&needed) {
            slot.clear();
            match props.get(name) {
                None | Some(Value::Null) => {}
                Some(Value::String(s)) => slot.push_str(s),
                Some(other) => slot.push_str(&other.to_string()),
            }
        }
        let geometry = if converter.has_coordinate_columns() { None } else { Some(point_of(feature.geometry)) };
        let fields: &[String] = &values;
        let result = converter
            .convert(line, &|i| fields[i].as_str(), geometry)
            .and_then(|converted| out.accept(converted, &[raw.get().as_bytes()], &id_field));
        if let Err(e) = result {
            out.reject(row_error(source, line, e, record));
        }
    }
    Ok(())
}

/// The property names the mapping reads, in a fixed order.
fn needed_properties(mapping: &Mapping) -> Vec<String> {
    let c = &mapping.columns;
    let t = &mapping.time;
    let mut names: Vec<String> = [
        c.id.as_ref(),
        Some(&c.category),
        c.subcategory.as_ref(),
        c.latitude.as_ref(),
        c.longitude.as_ref(),
        Some(&t.column),
        t.hour_column.as_ref(),
        t.end_column.as_ref(),
        c.district.as_ref(),
        c.premises.as_ref(),
    ]
    .into_iter()
    .flatten()
    .cloned()
    .collect();
    names.dedup();
    names
}

fn point_of(geometry: Option<Geometry>) -> Result<(f64, f64), FieldError> {
    let bad = |reason: String| FieldError { field: "geometry".into(), reason };
    let g = geometry.ok_or_else(|| bad("the feature has no geometry".into()))?;
    if g.kind != "Point" {
        return Err(bad(format!("geometry is a {}, not a Point", g.kind)));
    }
    let coords = g.coordinates.as_array().ok_or_else(|| bad("Point coordinates are not an array".into()))?;
    match (coords.first().and_then(Value::as_f64), coords.get(1).and_then(Value::as_f64)) {
        (Some(lon), Some(lat)) => Ok((lat, lon)),
        _ => Err(FieldError { field: "geometry.coordinates".into(), reason: "expected [longitude, latitude] numbers".into() }),
    }
}

/// 1-based line number of byte offset `at`.
fn line_of(bytes: &[u8], at: usize) -> u64 {
    bytes[..at.min(bytes.len())].iter().filter(|&&b| b == b'\n').count() as u64 + 1
}
