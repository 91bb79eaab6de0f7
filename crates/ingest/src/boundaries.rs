//! Reading polygons (territory boundaries, districts) from GeoJSON.

use std::path::Path;

use geo_types::{Geometry, MultiPolygon};
use serde_json::{Map, Value};

use crate::IngestError;

/// A WGS84 (multi)polygon as read from GeoJSON.
pub type Shape = MultiPolygon<f64>;

/// One polygon feature of a GeoJSON file.
#[derive(Debug, Clone)]
pub struct PolygonFeature {
    /// 0-based index of the feature in the collection.
    pub index: usize,
    pub properties: Map<String, Value>,
    pub shape: MultiPolygon<f64>,
}

impl PolygonFeature {
    /// A property as text (numbers in their JSON spelling), if present and not null.
    pub fn property(&self, key: &str) -> Option<String> {
        match self.properties.get(key)? {
            Value::Null => None,
            Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// Reads every Polygon/MultiPolygon feature of a FeatureCollection (or a
/// single Feature or bare geometry). Other geometry types are an error: a
/// boundary file with points in it is the wrong file.
pub fn read_polygons(path: &Path) -> Result<Vec<PolygonFeature>, IngestError> {
    let bad = |reason: String| IngestError::GeoJson { path: path.into(), line: 1, reason };
    let text = std::fs::read_to_string(path).map_err(|e| IngestError::Io { path: path.into(), reason: e.to_string() })?;
    let gj: geojson::GeoJson = text.parse().map_err(|e: geojson::Error| bad(e.to_string()))?;
    type Parts = (Option<geojson::Geometry>, Option<Map<String, Value>>);
    let features: Vec<Parts> = match gj {
        geojson::GeoJson::FeatureCollection(fc) => fc.features.into_iter().map(|f| (f.geometry, f.properties)).collect(),
        geojson::GeoJson::Feature(f) => vec![(f.geometry, f.properties)],
        geojson::GeoJson::Geometry(g) => vec![(Some(g), None)],
    };
    let mut out = Vec::with_capacity(features.len());
    for (index, (geometry, properties)) in features.into_iter().enumerate() {
        let Some(geometry) = geometry else { continue };
        let shape = match Geometry::<f64>::try_from(geometry).map_err(|e| bad(format!("feature {index}: {e}")))? {
            Geometry::Polygon(p) => MultiPolygon(vec![p]),
            Geometry::MultiPolygon(mp) => mp,
            other => return Err(bad(format!("feature {index} is not a polygon ({})", kind(&other)))),
        };
        out.push(PolygonFeature { index, properties: properties.unwrap_or_default(), shape });
    }
    if out.is_empty() {
        return Err(bad("the file has no polygon features".into()));
    }
    Ok(out)
}

fn kind(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::LineString(_) | Geometry::Line(_) => "LineString",
        Geometry::MultiLineString(_) => "MultiLineString",
        _ => "another geometry",
    }
}

/// Keeps the features whose `key` property equals `value`, merged into one
/// multipolygon; the error lists the values that do exist.
pub fn select_boundary(path: &Path, features: &[PolygonFeature], key: &str, value: &str) -> Result<MultiPolygon<f64>, IngestError> {
    let matching: Vec<&PolygonFeature> = features.iter().filter(|f| f.property(key).as_deref() == Some(value)).collect();
    if matching.is_empty() {
        let mut values: Vec<String> = features.iter().filter_map(|f| f.property(key)).collect();
        values.sort();
        values.dedup();
        let shown = values.iter().take(30).map(|v| format!("'{v}'")).collect::<Vec<_>>().join(", ");
        return Err(IngestError::GeoJson {
            path: path.into(),
            line: 1,
            reason: format!("no feature has {key} = '{value}'; values found: {}", if shown.is_empty() { "none".into() } else { shown }),
        });
    }
    Ok(MultiPolygon(matching.into_iter().flat_map(|f| f.shape.0.clone()).collect()))
}
