//! Transverse Mercator for JGD2011 plane rectangular zone V (EPSG:6673).
//!
//! The sample city is designed in plane metres (so distances, widths and
//! areas are easy to control) and converted to longitude/latitude only for
//! the files that are published in EPSG:4326 / EPSG:6668. The sample module
//! must not depend on PROJ (the main crate bundles it, but the generator is
//! also used in small test builds), so this is a self-contained
//! implementation of the Krüger series to order n⁴ (Karney 2011), which is
//! accurate to well under a millimetre within a zone.

/// Krüger-series Transverse Mercator on the GRS80 ellipsoid.
#[derive(Debug, Clone)]
pub struct Tm {
    lon0: f64,
    k0a: f64,
    xi0: f64,
    alpha: [f64; 4],
    beta: [f64; 4],
    delta: [f64; 4],
    e: f64,
}

impl Tm {
    /// Zone V of the Japanese plane rectangular system: origin 36°N,
    /// 134°20′E, k0 = 0.9999, false easting/northing 0.
    pub fn zone5() -> Tm {
        Tm::new(
            6_378_137.0,
            1.0 / 298.257_222_101,
            36.0,
            134.0 + 20.0 / 60.0,
            0.9999,
        )
    }

    fn new(a: f64, f: f64, lat0: f64, lon0: f64, k0: f64) -> Tm {
        let n = f / (2.0 - f);
        let n2 = n * n;
        let n3 = n2 * n;
        let n4 = n3 * n;
        let big_a = a / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0);
        let alpha = [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0,
            49561.0 * n4 / 161_280.0,
        ];
        let beta = [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0,
            4397.0 * n4 / 161_280.0,
        ];
        let delta = [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3 + 116.0 * n4 / 45.0,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0 - 227.0 * n4 / 45.0,
            56.0 * n3 / 15.0 - 136.0 * n4 / 35.0,
            4279.0 * n4 / 630.0,
        ];
        let e = (f * (2.0 - f)).sqrt();
        let mut tm = Tm {
            lon0: lon0.to_radians(),
            k0a: k0 * big_a,
            xi0: 0.0,
            alpha,
            beta,
            delta,
            e,
        };
        // Meridian arc of the origin latitude, in units of k0·A.
        let (xi, _) = tm.xi_eta(lat0.to_radians(), 0.0);
        tm.xi0 = xi;
        tm
    }

    fn xi_eta(&self, phi: f64, dlam: f64) -> (f64, f64) {
        let s = phi.sin();
        let t = (s.atanh() - self.e * (self.e * s).atanh()).sinh();
        let xi_p = t.atan2(dlam.cos());
        let eta_p = (dlam.sin() / (1.0 + t * t).sqrt()).atanh();
        let mut xi = xi_p;
        let mut eta = eta_p;
        for (j, a) in self.alpha.iter().enumerate() {
            let k = 2.0 * (j as f64 + 1.0);
            xi += a * (k * xi_p).sin() * (k * eta_p).cosh();
            eta += a * (k * xi_p).cos() * (k * eta_p).sinh();
        }
        (xi, eta)
    }

    /// Longitude/latitude in degrees → (easting, northing) in metres.
    pub fn forward(&self, lon: f64, lat: f64) -> (f64, f64) {
        let (xi, eta) = self.xi_eta(lat.to_radians(), lon.to_radians() - self.lon0);
        (self.k0a * eta, self.k0a * (xi - self.xi0))
    }

    /// (easting, northing) in metres → longitude/latitude in degrees.
    pub fn inverse(&self, x: f64, y: f64) -> (f64, f64) {
        let xi = y / self.k0a + self.xi0;
        let eta = x / self.k0a;
        let mut xi_p = xi;
        let mut eta_p = eta;
        for (j, b) in self.beta.iter().enumerate() {
            let k = 2.0 * (j as f64 + 1.0);
            xi_p -= b * (k * xi).sin() * (k * eta).cosh();
            eta_p -= b * (k * xi).cos() * (k * eta).sinh();
        }
        let chi = (xi_p.sin() / eta_p.cosh()).asin();
        let mut phi = chi;
        for (j, d) in self.delta.iter().enumerate() {
            let k = 2.0 * (j as f64 + 1.0);
            phi += d * (k * chi).sin();
        }
        let lam = self.lon0 + eta_p.sinh().atan2(xi_p.cos());
        (lam.to_degrees(), phi.to_degrees())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origin_maps_to_zero_and_round_trips() {
        let tm = Tm::zone5();
        let (x, y) = tm.forward(134.0 + 20.0 / 60.0, 36.0);
        assert!(x.abs() < 1e-6 && y.abs() < 1e-6);
        for &(lon, lat) in &[(133.86, 34.56), (133.98, 34.66), (134.9, 35.4)] {
            let (x, y) = tm.forward(lon, lat);
            let (lo, la) = tm.inverse(x, y);
            assert!((lo - lon).abs() < 1e-9 && (la - lat).abs() < 1e-9);
        }
    }

    #[test]
    fn matches_known_scale() {
        // One degree of latitude along the central meridian near 35°N is
        // about 110.95 km (× k0).
        let tm = Tm::zone5();
        let (_, y1) = tm.forward(134.333_333_333_333_3, 34.5);
        let (_, y2) = tm.forward(134.333_333_333_333_3, 35.5);
        let d = y2 - y1;
        assert!((d - 110_950.0 * 0.9999).abs() < 150.0, "{d}");
        // Plane coordinates of the sample area are negative in both axes.
        let (x, y) = tm.forward(133.92, 34.61);
        assert!(x < -30_000.0 && x > -45_000.0 && y < -150_000.0 && y > -160_000.0);
    }
}
