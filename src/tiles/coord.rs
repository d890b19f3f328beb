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

/// Lon/lat to the tile space of one tile (x right, y down, `extent` units across).
///
/// Web Mercator's y needs a `tan` and a `ln` per vertex, a sixth of a large render. Within
/// 0.003 rad (about 19 km) of the tile's middle latitude a fourth-order Taylor polynomial is
/// used instead, for tiles up to 60° of latitude: its error there is under 8 µm, a hundredth
/// of a tile unit at zoom 22 (the test checks it). Farther vertices (clipped away, or corners
/// of large features) and tiles nearer the poles take the exact formula.
#[derive(Clone, Copy, Debug)]
pub struct TileProjection {
    ax: f64,
    bx: f64,
    lat0: f64,
    c: [f64; 5],
    y1: f64,
    scale: f64,
    poly: bool,
}

/// Half-width (radians of latitude) of the band where [`TileProjection`] uses its polynomial.
const POLY_BAND: f64 = 0.003;
/// Beyond this latitude the polynomial's error grows past a hundredth of a unit at zoom 22
/// (0.026 at 70°), so tiles there use the exact formula throughout.
const POLY_MAX_LAT: f64 = 60.0;

impl TileProjection {
    /// The projection of `coord` for tiles `extent` units across.
    pub fn new(coord: TileCoord, extent: u32) -> TileProjection {
        let [x0, y0, x1, y1] = coord.merc_bounds();
        let scale = f64::from(extent) / (x1 - x0);
        let (_, lat_mid) = merc_to_lonlat(0.0, (y0 + y1) / 2.0);
        let lat0 = lat_mid.to_radians();
        let (s, t) = (1.0 / lat0.cos(), lat0.tan());
        // Tile y = (y1 - R·Y(φ))·scale with Y = ln tan(π/4 + φ/2); Y's derivatives at φ0.
        let k = -scale * HALF / PI;
        let y_at = (PI / 4.0 + lat0 / 2.0).tan().ln();
        let c = [
            y1 * scale + k * y_at,
            k * s,
            k * s * t / 2.0,
            k * s * (t * t + s * s) / 6.0,
            k * s * t * (t * t + 5.0 * s * s) / 24.0,
        ];
        TileProjection {
            ax: HALF / 180.0 * scale,
            bx: -x0 * scale,
            lat0,
            c,
            y1,
            scale,
            poly: lat_mid.abs() < POLY_MAX_LAT,
        }
    }

    /// Tile x of a longitude.
    #[inline]
    pub fn x(&self, lon: f64) -> f64 {
        lon * self.ax + self.bx
    }

    /// Tile y of a latitude.
    #[inline]
    pub fn y(&self, lat: f64) -> f64 {
        let h = lat.to_radians() - self.lat0;
        if self.poly && h.abs() < POLY_BAND {
            let c = &self.c;
            c[0] + h * (c[1] + h * (c[2] + h * (c[3] + h * c[4])))
        } else {
            self.exact_y(lat)
        }
    }

    /// Tile y by the exact formula.
    pub fn exact_y(&self, lat: f64) -> f64 {
        let (_, my) = lonlat_to_merc(0.0, lat);
        (self.y1 - my) * self.scale
    }
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

/// The tiles of one zoom that cover a lon/lat box (an export, the tiles drawn at publish).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TileRange {
    /// Top-left tile.
    pub min: TileCoord,
    /// Bottom-right tile.
    pub max: TileCoord,
}

impl TileRange {
    /// The tiles at zoom `z` covering `[minx, miny, maxx, maxy]` (lon/lat).
    pub fn covering(b: [f64; 4], z: u8) -> TileRange {
        TileRange {
            min: tile_for(b[0], b[3], z),
            max: tile_for(b[2], b[1], z),
        }
    }

    /// How many tiles (counted before any is listed: a range can be vast).
    pub fn count(&self) -> u64 {
        u64::from(self.max.x - self.min.x + 1) * u64::from(self.max.y - self.min.y + 1)
    }

    /// The tiles, column by column.
    pub fn tiles(self) -> impl Iterator<Item = TileCoord> {
        let (z, a, b) = (self.min.z, self.min, self.max);
        (a.x..=b.x).flat_map(move |x| (a.y..=b.y).map(move |y| TileCoord { z, x, y }))
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
    fn tile_projection_matches_the_exact_formula() {
        // Within a hundredth of a unit at every zoom, for vertices near the tile and far away.
        for &(lon, lat) in &[
            (133.9, 34.6),
            (141.35, 43.06),
            (127.68, 26.21),
            (-70.0, -59.7),
            (18.9, 69.6),
            (-40.0, 79.9),
        ] {
            for z in [0u8, 5, 8, 12, 14, 16, 18, 20, 22] {
                let t = tile_for(lon, lat, z);
                let p = TileProjection::new(t, 4096);
                for k in -200..=200 {
                    let la = lat + f64::from(k) * 0.001;
                    let lo = lon + f64::from(k) * 0.001;
                    let dy = (p.y(la) - p.exact_y(la)).abs();
                    // x by way of Web Mercator metres, as `lonlat_to_merc` computes them.
                    let x0 = t.merc_bounds()[0];
                    let dx = (p.x(lo) - (lonlat_to_merc(lo, 0.0).0 - x0) * p.scale).abs();
                    assert!(dy < 1e-2 && dx < 1e-2, "z{z} at {lo},{la}: {dx} {dy}");
                }
            }
        }
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
