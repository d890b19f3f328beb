//! Tile coordinates (XYZ, Web Mercator) and the projections between lon/lat, Web Mercator metres
//! and tile space.

use std::f64::consts::PI;

/// Web Mercator half-circumference in metres.
pub const HALF: f64 = 20_037_508.342_789_244;
/// Deepest zoom served (clients overzoom above the TileJSON maxzoom; we render up to here).
pub const MAX_ZOOM: u8 = 22;
/// Latitude limit of Web Mercator.
pub const MAX_LAT: f64 = 85.051_128_779_806_59;

/// A tile address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TileCoord {
    /// Zoom.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row (XYZ: 0 at the top).
    pub y: u32,
}

/// Why a tile address is invalid.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum CoordError {
    /// Zoom above [`MAX_ZOOM`].
    #[error("zoom {0} is above the maximum {MAX_ZOOM}")]
    Zoom(u32),
    /// x or y outside 0..2^z.
    #[error("tile {x}/{y} does not exist at zoom {z} (0 ≤ x, y < {n})")]
    OutOfRange {
        /// Zoom.
        z: u8,
        /// Column.
        x: u64,
        /// Row.
        y: u64,
        /// 2^z.
        n: u64,
    },
}

impl TileCoord {
    /// Validated tile address.
    pub fn new(z: u32, x: u64, y: u64) -> Result<TileCoord, CoordError> {
        if z > u32::from(MAX_ZOOM) {
            return Err(CoordError::Zoom(z));
        }
        let n = 1u64 << z;
        if x >= n || y >= n {
            return Err(CoordError::OutOfRange {
                z: z as u8,
                x,
                y,
                n,
            });
        }
        Ok(TileCoord {
            z: z as u8,
            x: x as u32,
            y: y as u32,
        })
    }

    /// Bounds in Web Mercator metres: `[minx, miny, maxx, maxy]`.
    pub fn merc_bounds(&self) -> [f64; 4] {
        let size = 2.0 * HALF / f64::from(1u32 << self.z.min(31));
        let minx = -HALF + f64::from(self.x) * size;
        let maxy = HALF - f64::from(self.y) * size;
        [minx, maxy - size, minx + size, maxy]
    }

    /// Bounds in lon/lat, widened by `buffer` as a fraction of the tile size.
    pub fn lonlat_bounds(&self, buffer: f64) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.merc_bounds();
        let b = (x1 - x0) * buffer;
        let (lon0, lat0) = merc_to_lonlat(x0 - b, y0 - b);
        let (lon1, lat1) = merc_to_lonlat(x1 + b, y1 + b);
        [lon0, lat0, lon1, lat1]
    }
}

/// Lon/lat (degrees) to Web Mercator metres.
#[inline]
pub fn lonlat_to_merc(lon: f64, lat: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LAT, MAX_LAT);
    let x = lon * HALF / 180.0;
    let y = (PI / 4.0 + lat.to_radians() / 2.0).tan().ln() * HALF / PI;
    (x, y)
}

/// Web Mercator metres to lon/lat.
#[inline]
pub fn merc_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 180.0 / HALF;
    let lat = (2.0 * (y * PI / HALF).exp().atan() - PI / 2.0).to_degrees();
    (lon, lat)
}

/// The tile containing a lon/lat at zoom `z`.
pub fn tile_for(lon: f64, lat: f64, z: u8) -> TileCoord {
    let (x, y) = lonlat_to_merc(lon, lat);
    let n = f64::from(1u32 << z);
    let tx = (((x + HALF) / (2.0 * HALF)) * n)
        .floor()
        .clamp(0.0, n - 1.0);
    let ty = (((HALF - y) / (2.0 * HALF)) * n)
        .floor()
        .clamp(0.0, n - 1.0);
    TileCoord {
        z,
        x: tx as u32,
        y: ty as u32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        assert!(TileCoord::new(0, 0, 0).is_ok());
        assert_eq!(TileCoord::new(23, 0, 0), Err(CoordError::Zoom(23)));
        assert!(matches!(
            TileCoord::new(2, 4, 0),
            Err(CoordError::OutOfRange { .. })
        ));
        assert!(TileCoord::new(14, 16383, 16383).is_ok());
    }

    #[test]
    fn projections_round_trip() {
        let (x, y) = lonlat_to_merc(133.9, 34.6);
        let (lon, lat) = merc_to_lonlat(x, y);
        assert!((lon - 133.9).abs() < 1e-12 && (lat - 34.6).abs() < 1e-12);
        let (x0, y0) = lonlat_to_merc(0.0, 0.0);
        assert!(x0.abs() < 1e-6 && y0.abs() < 1e-6, "{x0} {y0}");
        let t = tile_for(133.9, 34.6, 14);
        let [lon0, lat0, lon1, lat1] = t.lonlat_bounds(0.0);
        assert!(lon0 <= 133.9 && 133.9 < lon1 && lat0 <= 34.6 && 34.6 < lat1);
        // Known tile: Okayama at z14.
        assert_eq!((t.x, t.y), (14285, 6511));
    }
}
