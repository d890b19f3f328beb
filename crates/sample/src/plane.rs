//! JGD2011 plane rectangular zone V (EPSG:6673) ↔ longitude/latitude, through PROJ.
//!
//! The sample city is designed in plane metres (so distances, widths and areas are easy to
//! control) and converted to longitude/latitude only for the files that are published in
//! EPSG:4326 / EPSG:6668. The projection is PROJ's Transverse Mercator, the one machimap's
//! reader uses, defined by a PROJ string (EPSG:6673's own parameters) rather than by the EPSG
//! code, so no `proj.db` lookup is needed: a copied binary writes the same sample.

use proj::Proj;

/// EPSG:6673's projection: origin 36°N 134°20′E, scale 0.9999 on the central meridian, no false
/// easting or northing, GRS80.
const ZONE5: &str =
    "+proj=tmerc +lat_0=36 +lon_0=134d20 +k=0.9999 +x_0=0 +y_0=0 +ellps=GRS80 +units=m";

thread_local! {
    // `proj::Proj` is neither `Send` nor `Sync`: one per thread that uses it.
    static ZONE5_PROJ: Proj = Proj::new(ZONE5).expect("the zone V PROJ string is valid");
}

/// Longitude/latitude in degrees → (easting, northing) in metres.
pub fn forward(lon: f64, lat: f64) -> (f64, f64) {
    ZONE5_PROJ.with(|p| {
        let (x, y) = p
            .project((lon.to_radians(), lat.to_radians()), false)
            .expect("a point of the sample area projects");
        (x, y)
    })
}

/// (easting, northing) in metres → longitude/latitude in degrees.
pub fn inverse(x: f64, y: f64) -> (f64, f64) {
    ZONE5_PROJ.with(|p| {
        let (lam, phi): (f64, f64) = p
            .project((x, y), true)
            .expect("a point of the sample area unprojects");
        (lam.to_degrees(), phi.to_degrees())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_maps_to_zero_and_round_trips() {
        let (x, y) = forward(134.0 + 20.0 / 60.0, 36.0);
        assert!(x.abs() < 1e-6 && y.abs() < 1e-6);
        for &(lon, lat) in &[(133.86, 34.56), (133.98, 34.66), (134.9, 35.4)] {
            let (x, y) = forward(lon, lat);
            let (lo, la) = inverse(x, y);
            assert!((lo - lon).abs() < 1e-9 && (la - lat).abs() < 1e-9);
        }
    }

    #[test]
    fn matches_known_scale() {
        // One degree of latitude along the central meridian near 35°N is
        // about 110.95 km (× k0).
        let (_, y1) = forward(134.333_333_333_333_3, 34.5);
        let (_, y2) = forward(134.333_333_333_333_3, 35.5);
        let d = y2 - y1;
        assert!((d - 110_950.0 * 0.9999).abs() < 150.0, "{d}");
        // Plane coordinates of the sample area are negative in both axes.
        let (x, y) = forward(133.92, 34.61);
        assert!(x < -30_000.0 && x > -45_000.0 && y < -150_000.0 && y > -160_000.0);
    }
}
