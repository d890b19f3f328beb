//! The area each hazard map covers. A point outside a hazard's zones is "no risk mapped" only
//! where the map was drawn: a river map of one ward says nothing about the next, and a resident
//! told "outside the zone" there would be told a falsehood. So a hazard dataset has a coverage:
//! by default the union of the city's published wards, or what staff set — a list of ward codes
//! or a polygon. Settings are rows of the store's `coverage` table, never updated in place: the
//! newest row per dataset is in force and the older ones are the history (who set what, when).

use crate::dataset::{DatasetId, Kind, Val};
use crate::index::{Feature, Layer, Snapshot};
use geo::{Contains, Geometry, MultiPolygon, Point};

/// What staff set as the coverage of one hazard dataset.
#[derive(Debug, Clone, PartialEq)]
pub enum Spec {
    /// The wards (the `code` of the published `wards` dataset) the map covers.
    Wards(Vec<String>),
    /// A polygon in JGD2011 lon/lat.
    Polygon(MultiPolygon<f64>),
}

/// One coverage setting as stored.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Record {
    /// Hazard dataset.
    pub dataset: DatasetId,
    /// `wards`, `polygon` or `default` (back to the union of the published wards).
    pub kind: String,
    /// The ward codes, for `wards`.
    pub wards: Vec<String>,
    /// The polygon as GeoJSON, for `polygon`.
    pub polygon: Option<String>,
    /// When (UTC, ISO 8601).
    pub set_at: String,
    /// Who.
    pub set_by: String,
}

/// A coverage setting that cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum CoverageError {
    /// Only hazard datasets have a coverage.
    #[error("{0} は災害の想定区域のデータではありません / {0} is not a hazard dataset (flood, inland_flood, landslide, tsunami, storm_surge)")]
    NotHazard(DatasetId),
    /// Ward codes not among the published wards.
    #[error("公開中の町丁・字にないコードです: {0} / not codes of the published wards: {0}")]
    UnknownWards(String),
    /// A ward list without any code, or without published wards to check it against.
    #[error("{0}")]
    Wards(String),
    /// The polygon file.
    #[error("範囲の図形を読めません: {0} / cannot read the coverage polygon: {0}")]
    Polygon(String),
}

/// Whether every position of a geometry has at least two numbers.
fn positions_complete(v: &geojson::GeometryValue) -> bool {
    use geojson::GeometryValue as G;
    let ok = |p: &geojson::Position| p.len() >= 2;
    match v {
        G::Point { coordinates } => ok(coordinates),
        G::MultiPoint { coordinates } | G::LineString { coordinates } => coordinates.iter().all(ok),
        G::MultiLineString { coordinates } | G::Polygon { coordinates } => {
            coordinates.iter().flatten().all(ok)
        }
        G::MultiPolygon { coordinates } => coordinates.iter().flatten().flatten().all(ok),
        G::GeometryCollection { geometries } => {
            geometries.iter().all(|g| positions_complete(&g.value))
        }
    }
}

/// Read a coverage polygon from GeoJSON (a Polygon or MultiPolygon geometry, a Feature, or a
/// FeatureCollection of them, unioned as parts), in lon/lat degrees.
pub fn polygon_from_geojson(text: &str) -> Result<MultiPolygon<f64>, CoverageError> {
    let gj: geojson::GeoJson = text
        .parse()
        .map_err(|e: geojson::Error| CoverageError::Polygon(e.to_string()))?;
    let geoms: Vec<geojson::Geometry> = match gj {
        geojson::GeoJson::Geometry(g) => vec![g],
        geojson::GeoJson::Feature(f) => f.geometry.into_iter().collect(),
        geojson::GeoJson::FeatureCollection(fc) => {
            fc.features.into_iter().filter_map(|f| f.geometry).collect()
        }
    };
    let mut parts = Vec::new();
    for g in geoms {
        // geojson's conversion indexes a position's first two numbers without looking: a
        // shorter position must be refused here, not panic there.
        if !positions_complete(&g.value) {
            return Err(CoverageError::Polygon(
                "座標は経度・緯度の2つの数で書いてください / a position needs two numbers (lon, lat)"
                    .into(),
            ));
        }
        match geo::Geometry::<f64>::try_from(g)
            .map_err(|e| CoverageError::Polygon(e.to_string()))?
        {
            geo::Geometry::Polygon(p) => parts.push(p),
            geo::Geometry::MultiPolygon(mp) => parts.extend(mp.0),
            other => {
                let kind = match other {
                    geo::Geometry::Point(_) => "Point",
                    geo::Geometry::MultiPoint(_) => "MultiPoint",
                    geo::Geometry::LineString(_) => "LineString",
                    geo::Geometry::MultiLineString(_) => "MultiLineString",
                    _ => "other",
                };
                return Err(CoverageError::Polygon(format!(
                    "ポリゴンではありません / not a polygon: {kind}"
                )));
            }
        }
    }
    if parts.is_empty() {
        return Err(CoverageError::Polygon(
            "ポリゴンがありません / no polygon in the file".into(),
        ));
    }
    for p in &parts {
        if p.exterior().0.len() < 4 {
            return Err(CoverageError::Polygon(
                "頂点が4つ未満の輪郭があります / a ring has fewer than 4 points".into(),
            ));
        }
        for c in p
            .exterior()
            .0
            .iter()
            .chain(p.interiors().iter().flat_map(|r| r.0.iter()))
        {
            if !(c.x.is_finite()
                && c.y.is_finite()
                && (120.0..=155.0).contains(&c.x)
                && (20.0..=46.0).contains(&c.y))
            {
                return Err(CoverageError::Polygon(format!(
                    "経度・緯度（JGD2011の度）として日本の範囲外です: ({}, {}) / outside Japan as lon/lat degrees: ({}, {})",
                    c.x, c.y, c.x, c.y
                )));
            }
        }
    }
    Ok(MultiPolygon(parts))
}

/// Check a ward list against the published wards' codes; returns the list sorted, without
/// duplicates.
pub fn check_wards(codes: &[String], published: &[String]) -> Result<Vec<String>, CoverageError> {
    let mut v: Vec<String> = codes
        .iter()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty())
        .collect();
    v.sort();
    v.dedup();
    if v.is_empty() {
        return Err(CoverageError::Wards(
            "町丁・字のコードが1つもありません / no ward code given".into(),
        ));
    }
    if published.is_empty() {
        return Err(CoverageError::Wards(
            "町丁・字（wards）が公開されていないため、コードを確かめられません / no wards are published to check the codes against".into(),
        ));
    }
    let unknown: Vec<&str> = v
        .iter()
        .filter(|c| !published.contains(c))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(CoverageError::UnknownWards(unknown.join(", ")));
    }
    Ok(v)
}

/// Whether a dataset may have a coverage.
pub fn check_dataset(d: DatasetId) -> Result<(), CoverageError> {
    if d.kind() == Kind::Hazard {
        Ok(())
    } else {
        Err(CoverageError::NotHazard(d))
    }
}

/// Whether the map of hazard `d` covers the point: inside the staff's polygon, inside one of
/// the staff's wards, or (by default) inside any published ward. Without a setting and without
/// published wards nothing is known to be covered, so the answer is no.
pub fn covers(snap: &Snapshot, d: DatasetId, lon: f64, lat: f64) -> bool {
    let p = Point::new(lon, lat);
    match snap.coverage.get(&d).map(|s| s.as_ref()) {
        Some(Spec::Polygon(mp)) => mp.contains(&p),
        Some(Spec::Wards(codes)) => in_wards(snap, lon, lat, Some(codes)),
        None => in_wards(snap, lon, lat, None),
    }
}

fn in_wards(snap: &Snapshot, lon: f64, lat: f64, codes: Option<&[String]>) -> bool {
    let Some(l) = snap.layer(DatasetId::Wards) else {
        return false;
    };
    crate::risk::containing(l, lon, lat)
        .into_iter()
        .any(|f| ward_listed(l, f, codes))
}

/// Whether a ward counts for a coverage: every ward by default, else those whose code is listed.
fn ward_listed(l: &Layer, f: &Feature, codes: Option<&[String]>) -> bool {
    codes.is_none_or(|codes| match f.get(l.columns(), "code") {
        Some(Val::Text(c)) => codes.iter().any(|x| x.as_str() == &**c),
        _ => false,
    })
}

/// Every shape [`covers`] tests for hazard `d`, with its fid (0 for the staff's polygon): the
/// static export writes these, so the browser's answer covers exactly what the server's does.
pub fn shapes(snap: &Snapshot, d: DatasetId) -> Vec<(i64, Geometry<f64>)> {
    let codes = match snap.coverage.get(&d).map(|s| s.as_ref()) {
        Some(Spec::Polygon(mp)) => return vec![(0, Geometry::MultiPolygon(mp.clone()))],
        Some(Spec::Wards(codes)) => Some(codes.as_slice()),
        None => None,
    };
    let Some(l) = snap.layer(DatasetId::Wards) else {
        return Vec::new();
    };
    l.features
        .iter()
        .filter(|f| ward_listed(l, f, codes))
        .filter_map(|f| Some((f.fid, f.geom.clone()?)))
        .collect()
}

/// The published wards as (code, name), by code: the choices of a ward list. Wards without a
/// code cannot be listed (a list names codes).
pub fn ward_choices(snap: &Snapshot) -> Vec<(String, String)> {
    let Some(l) = snap.layer(DatasetId::Wards) else {
        return Vec::new();
    };
    let mut out: Vec<(String, String)> = l
        .features
        .iter()
        .filter_map(|f| {
            let code = match f.get(l.columns(), "code") {
                Some(Val::Text(c)) => c.to_string(),
                _ => return None,
            };
            let name = match f.get(l.columns(), "name") {
                Some(Val::Text(n)) => n.to_string(),
                _ => String::new(),
            };
            Some((code, name))
        })
        .collect();
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn polygon_files_and_ward_lists() {
        let sq = r#"{"type":"Polygon","coordinates":[[[133.9,34.6],[134.0,34.6],[134.0,34.7],[133.9,34.6]]]}"#;
        let mp = polygon_from_geojson(sq).unwrap();
        assert!(mp.contains(&Point::new(133.99, 34.61)));
        let fc = format!(
            r#"{{"type":"FeatureCollection","features":[{{"type":"Feature","properties":{{}},"geometry":{sq}}}]}}"#
        );
        assert_eq!(polygon_from_geojson(&fc).unwrap(), mp);
        // Plane metres (a file left in EPSG:6673) are refused, not read as degrees.
        let metres = r#"{"type":"Polygon","coordinates":[[[-40000,-150000],[-39000,-150000],[-39000,-149000],[-40000,-150000]]]}"#;
        assert!(polygon_from_geojson(metres).is_err());
        // A position of one number is refused (geojson's conversion would panic on it).
        let short =
            r#"{"type": "Polygon", "coordinates": [[[0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0]]]}"#;
        assert!(
            matches!(polygon_from_geojson(short), Err(CoverageError::Polygon(m)) if m.contains("two numbers"))
        );
        let nested = r#"{"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [134.0]}]}"#;
        assert!(polygon_from_geojson(nested).is_err());
        assert!(polygon_from_geojson(r#"{"type":"Point","coordinates":[133.9,34.6]}"#).is_err());
        assert!(polygon_from_geojson("not json").is_err());
        let published = vec!["a".to_string(), "b".to_string()];
        assert_eq!(
            check_wards(&["b".into(), " a".into(), "b".into()], &published).unwrap(),
            vec!["a".to_string(), "b".to_string()]
        );
        assert!(matches!(
            check_wards(&["c".into()], &published),
            Err(CoverageError::UnknownWards(c)) if c == "c"
        ));
        assert!(check_wards(&[], &published).is_err());
        assert!(check_wards(&["a".into()], &[]).is_err());
        assert!(check_dataset(DatasetId::Flood).is_ok());
        assert!(check_dataset(DatasetId::Shelters).is_err());
    }
}
