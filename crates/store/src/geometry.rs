//! Boundaries are stored as GeoJSON text in both backends (no PostGIS needed).

use geo_types::{Geometry, MultiPolygon};
use qalqan_domain::{Area, District, DistrictName, Territory, TerritoryName, time::parse_time_zone};

use crate::{DistrictRow, StoreError, TerritoryRow};

pub(crate) fn to_geojson(shape: &MultiPolygon<f64>) -> String {
    geojson::Geometry::from(shape).to_string()
}

pub(crate) fn from_geojson(text: &str) -> Result<MultiPolygon<f64>, StoreError> {
    let corrupt = |reason: String| StoreError::Corrupt { what: "boundary", reason };
    let g: geojson::Geometry = text.parse().map_err(|e: geojson::Error| corrupt(e.to_string()))?;
    match Geometry::<f64>::try_from(g).map_err(|e| corrupt(e.to_string()))? {
        Geometry::MultiPolygon(mp) => Ok(mp),
        Geometry::Polygon(p) => Ok(MultiPolygon(vec![p])),
        other => Err(corrupt(format!("expected a polygon, found {other:?}").chars().take(80).collect())),
    }
}

fn area(text: Option<String>) -> Result<Option<Area>, StoreError> {
    text.map(|t| from_geojson(&t).and_then(|mp| Area::new(mp).map_err(|e| StoreError::Corrupt { what: "boundary", reason: e.to_string() })))
        .transpose()
}

pub(crate) fn build_territory(row: TerritoryRow, districts: Vec<DistrictRow>) -> Result<Territory, StoreError> {
    let corrupt = |what: &'static str, e: qalqan_domain::DomainError| StoreError::Corrupt { what, reason: e.to_string() };
    let districts = districts
        .into_iter()
        .map(|d| {
            Ok(District {
                id: d.id,
                name: DistrictName::parse(&d.name).map_err(|e| corrupt("district name", e))?,
                parent: d.parent,
                boundary: area(d.boundary)?,
            })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    Ok(Territory {
        id: row.id,
        name: TerritoryName::parse(&row.name).map_err(|e| corrupt("territory name", e))?,
        time_zone: parse_time_zone(&row.time_zone).map_err(|e| corrupt("time zone", e))?,
        boundary: area(row.boundary)?,
        districts,
    })
}
