//! OGC API – Features Part 2 (Coordinate Reference Systems by Reference) on the items of
//! `http::ogc`: the `crs` and `bbox-crs` parameters, the `crs` / `storageCrs` members of a
//! collection and the `Content-Crs` header. The coordinates themselves are converted by
//! [`crate::crs::OgcCrs`] (PROJ), in the axis order of the CRS asked for.

use super::{ApiError, ApiResult};
use crate::crs::{ogc_crs_list, CrsError, OgcCrs, CRS84_URI};
use crate::dataset::Column;
use crate::index::Feature;
use axum::http::{HeaderName, HeaderValue};
use axum::response::Response;
use geo::Geometry;

/// The Part 2 conformance class.
pub const CONFORMANCE: &[&str] = &["http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs"];

/// The header naming the CRS of a response's coordinates (`<uri>`).
pub const CONTENT_CRS: HeaderName = HeaderName::from_static("content-crs");

/// Read the value of `crs` or `bbox-crs` (`param`): 400 naming the offered CRSs otherwise.
pub fn parse_crs(param: &str, v: &str) -> ApiResult<OgcCrs> {
    OgcCrs::from_uri(v).map_err(|e| {
        let why = match e {
            CrsError::NotOffered(_) => e.to_string(),
            _ => format!("{v:?} is not a CRS URI"),
        };
        ApiError::BadRequest(format!(
            "{param}: {why}; use one of the collection's crs list, e.g. {CRS84_URI} or \
             http://www.opengis.net/def/crs/EPSG/0/6673"
        ))
    })
}

/// A `bbox` given in `crs` (its corners in that CRS's axis order) as a CRS84 box. PROJ runs
/// on a blocking thread.
pub async fn bbox_in(raw: String, crs: OgcCrs) -> ApiResult<[f64; 4]> {
    let b = parse_box(&raw, crs)?;
    let ll = tokio::task::spawn_blocking(move || crs.bbox_to_store(b))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| {
            ApiError::BadRequest(format!("bbox {raw:?} cannot be read in {}: {e}", crs.uri()))
        })?;
    if ll.iter().any(|x| !x.is_finite())
        || ll[0] < -180.0
        || ll[2] > 180.0
        || ll[1] < -90.0
        || ll[3] > 90.0
    {
        return Err(ApiError::BadRequest(format!(
            "bbox {raw:?} in {} lies outside the world",
            crs.uri()
        )));
    }
    Ok(ll)
}

/// The four numbers of a `bbox` (or six, heights dropped), lower corner first.
fn parse_box(raw: &str, crs: OgcCrs) -> ApiResult<[f64; 4]> {
    let n: Vec<f64> = raw
        .split(',')
        .map(|x| x.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            ApiError::BadRequest(format!(
                "bbox must be 4 numbers (the lower and upper corners in bbox-crs {}), got {raw:?}",
                crs.uri()
            ))
        })?;
    let b = match n.len() {
        4 => [n[0], n[1], n[2], n[3]],
        6 => [n[0], n[1], n[3], n[4]],
        k => {
            return Err(ApiError::BadRequest(format!(
                "bbox must have 4 numbers (or 6 with heights), got {k}"
            )))
        }
    };
    if b.iter().any(|x| !x.is_finite()) || b[0] > b[2] || b[1] > b[3] {
        return Err(ApiError::BadRequest(format!(
            "bbox {raw:?} is not a box in {}: lower corner first, each value at most the \
             upper corner's",
            crs.uri()
        )));
    }
    Ok(b)
}

/// A collection's `crs` member: the URI of every CRS offered, CRS84 first.
pub fn offered() -> Vec<String> {
    ogc_crs_list().iter().map(OgcCrs::uri).collect()
}

/// A collection's `storageCrs`: the data is stored as JGD2011 longitude/latitude, which is
/// CRS84 at map scale.
pub const STORAGE_CRS: &str = CRS84_URI;

/// The geometries of a page of features in `crs`, in the page's order; `None` for CRS84
/// (the stored coordinates are written as they are). Waits for PROJ: call it from a blocking
/// thread.
pub fn convert_page(
    page: &[&Feature],
    crs: OgcCrs,
) -> std::io::Result<Option<Vec<Option<Geometry<f64>>>>> {
    if crs == OgcCrs::CRS84 {
        return Ok(None);
    }
    convert(page.iter().map(|f| f.geom.clone()).collect(), crs)
}

/// Stored geometries in `crs`, in order; `None` for CRS84. Waits for PROJ: call it from a
/// blocking thread.
pub fn convert(
    gs: Vec<Option<Geometry<f64>>>,
    crs: OgcCrs,
) -> std::io::Result<Option<Vec<Option<Geometry<f64>>>>> {
    if crs == OgcCrs::CRS84 {
        return Ok(None);
    }
    crs.geometries_from_store(gs)
        .map(Some)
        .map_err(|e| std::io::Error::other(format!("{}: {e}", crs.uri())))
}

/// Write feature `f` as GeoJSON, with `converted` (from [`convert_page`]) in place of its
/// stored geometry when given, and only the columns at `only` when given (`properties=`).
pub fn write_feature(
    cols: &[Column],
    f: &Feature,
    converted: Option<&Option<Geometry<f64>>>,
    only: Option<&[usize]>,
    out: &mut Vec<u8>,
) -> std::io::Result<()> {
    let geom = match converted {
        None => f.geom.as_ref(),
        Some(g) => g.as_ref(),
    };
    crate::export::feature_json_geom(cols, f, geom, only, out)
}

/// Set `Content-Crs` on a response.
pub fn set_content_crs(resp: &mut Response, crs: OgcCrs) {
    if let Ok(v) = HeaderValue::from_str(&format!("<{}>", crs.uri())) {
        resp.headers_mut().insert(CONTENT_CRS, v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crs_parameters() {
        assert_eq!(parse_crs("crs", CRS84_URI).unwrap(), OgcCrs::CRS84);
        let v = parse_crs("crs", "http://www.opengis.net/def/crs/EPSG/0/6673").unwrap();
        assert_eq!(v.crs.epsg, 6673);
        assert!(v.northing_first());
        assert_eq!(parse_crs("crs", "[EPSG:3857]").unwrap().crs.epsg, 3857);
        for bad in [
            "http://www.opengis.net/def/crs/EPSG/0/32654",
            "http://www.opengis.net/def/crs/EPSG/0/4612",
            "EPSG:6673",
            "nonsense",
            "",
        ] {
            let e = parse_crs("crs", bad).unwrap_err();
            assert!(matches!(e, ApiError::BadRequest(_)), "{bad}");
        }
    }

    #[test]
    fn bbox_in_a_plane_zone_is_read_northing_first() {
        let v = OgcCrs::from_uri("http://www.opengis.net/def/crs/EPSG/0/6673").unwrap();
        // Northing −100 km…−90 km, easting 0…10 km from the zone V origin (36°N, 134°20′E).
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let b = rt
            .block_on(bbox_in("-100000,0,-90000,10000".into(), v))
            .unwrap();
        assert!(
            b[0] > 134.3 && b[2] < 134.5 && b[1] > 35.0 && b[3] < 35.3,
            "{b:?}"
        );
        assert!(parse_box("0,0,-1,1", v).is_err());
        assert!(parse_box("a,b,c,d", v).is_err());
        let ll = OgcCrs::from_uri("http://www.opengis.net/def/crs/EPSG/0/4326").unwrap();
        assert_eq!(
            rt.block_on(bbox_in("34.5,133.8,34.7,134.0".into(), ll))
                .unwrap(),
            [133.8, 34.5, 134.0, 34.7]
        );
    }
}
