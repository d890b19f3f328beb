//! The OGC 2D Tile Matrix Set `WebMercatorQuad` (OGC 17-083r4, the JSON encoding of TMS 2.0)
//! that machimap's XYZ tiles follow, and the limits of a tile set over a lon/lat box.
//!
//! Generated from the same constants as [`super::coord`], so the published definition and the
//! tiles drawn cannot disagree: tile matrix `z`, row `y` (0 at the top), column `x`.

use super::coord::{TileRange, HALF, MAX_LAT, MAX_ZOOM};
use crate::ogc::{BoundingBox, CornerOfOrigin, TileMatrix, TileMatrixSet, TileMatrixSetLimit};

/// The tile matrix set's id in URLs.
pub const ID: &str = "WebMercatorQuad";
/// Its registered URI.
pub const URI: &str = "http://www.opengis.net/def/tilematrixset/OGC/1.0/WebMercatorQuad";
/// Its title.
pub const TITLE: &str = "Google Maps Compatible for the World";
/// Its CRS (Web Mercator).
pub const CRS: &str = "http://www.opengis.net/def/crs/EPSG/0/3857";
/// Deepest tile matrix of the definition (as registered); tiles are drawn down to
/// [`MAX_ZOOM`].
pub const DEFINED_ZOOMS: u8 = 24;
/// Pixel size the scale denominators assume (0.28 mm, as every OGC tile matrix set does).
const PIXEL_M: f64 = 0.000_28;
/// Tile size in pixels.
const TILE_PX: u32 = 256;

/// The tile matrix set definition (JSON encoding of TMS 2.0).
///
/// It also carries the TMS 1.0 names of the same values (`identifier`, `supportedCRS`,
/// `lowerCorner`/`upperCorner`, `topLeftCorner`): GDAL before 3.7, which Debian 12 and the
/// QGIS built on it use, reads only those and cannot open the tile sets without them.
pub fn definition() -> TileMatrixSet {
    let tile_matrices = (0..=DEFINED_ZOOMS)
        .map(|z| {
            let n = 1u64 << z;
            let cell = 2.0 * HALF / (f64::from(TILE_PX) * n as f64);
            TileMatrix {
                cell_size: cell,
                corner_of_origin: CornerOfOrigin::TopLeft,
                id: z.to_string(),
                identifier: z.to_string(),
                matrix_height: n,
                matrix_width: n,
                point_of_origin: [-HALF, HALF],
                scale_denominator: cell / PIXEL_M,
                tile_height: TILE_PX,
                tile_width: TILE_PX,
                top_left_corner: [-HALF, HALF],
            }
        })
        .collect();
    TileMatrixSet {
        bounding_box: BoundingBox {
            crs: CRS.into(),
            lower_corner: Some([-HALF, -HALF]),
            lower_left: [-HALF, -HALF],
            upper_corner: Some([HALF, HALF]),
            upper_right: [HALF, HALF],
        },
        crs: CRS.into(),
        id: ID.into(),
        identifier: ID.into(),
        ordered_axes: vec!["X".into(), "Y".into()],
        supported_crs: CRS.into(),
        tile_matrices,
        title: TITLE.into(),
        uri: URI.into(),
        well_known_scale_set: "http://www.opengis.net/def/wkss/OGC/1.0/GoogleMapsCompatible".into(),
    }
}

/// The rows and columns of one tile matrix that hold data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Tile matrix (zoom).
    pub z: u8,
    /// First row.
    pub min_row: u32,
    /// Last row.
    pub max_row: u32,
    /// First column.
    pub min_col: u32,
    /// Last column.
    pub max_col: u32,
}

impl Limits {
    /// True when tile (`row`, `col`) of this matrix is inside the limits.
    pub fn contains(&self, row: u32, col: u32) -> bool {
        (self.min_row..=self.max_row).contains(&row) && (self.min_col..=self.max_col).contains(&col)
    }

    /// The `tileMatrixSetLimits` entry of a tile set's metadata.
    pub fn doc(&self) -> TileMatrixSetLimit {
        TileMatrixSetLimit {
            max_tile_col: self.max_col,
            max_tile_row: self.max_row,
            min_tile_col: self.min_col,
            min_tile_row: self.min_row,
            tile_matrix: self.z.to_string(),
        }
    }
}

/// The limits of a tile set over `bbox` (lon/lat) for zooms `min..=max` (at most
/// [`MAX_ZOOM`]): the tiles a feature inside the box can touch. A box beyond Web Mercator's
/// latitudes is clamped to them.
pub fn limits(bbox: [f64; 4], min: u8, max: u8) -> Vec<Limits> {
    let b = [
        bbox[0].clamp(-180.0, 180.0),
        bbox[1].clamp(-MAX_LAT, MAX_LAT),
        bbox[2].clamp(-180.0, 180.0),
        bbox[3].clamp(-MAX_LAT, MAX_LAT),
    ];
    (min..=max.min(MAX_ZOOM))
        .map(|z| {
            let r = TileRange::covering(b, z);
            Limits {
                z,
                min_row: r.min.y,
                max_row: r.max.y,
                min_col: r.min.x,
                max_col: r.max.x,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tiles::coord::tile_for;

    #[test]
    fn definition_matches_the_registered_numbers() {
        let d = definition();
        let m = &d.tile_matrices;
        assert_eq!(m.len(), 25);
        // The registered WebMercatorQuad: z0 scale 1:559082264.028717, cell 156543.033928041 m.
        let z0 = &m[0];
        assert!((z0.scale_denominator - 559_082_264.028_717).abs() < 1e-3);
        assert!((z0.cell_size - 156_543.033_928_041).abs() < 1e-6);
        assert_eq!(m[24].matrix_width, 1u64 << 24);
        let z18 = m[18].scale_denominator;
        assert!((z18 - 2_132.729_583_849_784).abs() < 1e-6, "{z18}");
        assert_eq!(z0.point_of_origin[0], -HALF);
        // As TMS 2.0 and GDAL < 3.7 read it: both names of each value, keys sorted.
        let v = serde_json::to_value(&d).unwrap();
        assert_eq!(v["tileMatrices"][0]["cornerOfOrigin"], "topLeft");
        assert_eq!(v["supportedCRS"], v["crs"]);
        assert_eq!(v["identifier"], ID);
        assert_eq!(
            v["boundingBox"]["lowerCorner"],
            v["boundingBox"]["lowerLeft"]
        );
        assert_eq!(serde_json::to_string(&d).unwrap(), v.to_string());
    }

    #[test]
    fn limits_cover_the_box_and_nothing_else() {
        let b = [133.85, 34.55, 134.0, 34.65];
        let ls = limits(b, 0, 16);
        assert_eq!(ls.len(), 17);
        assert_eq!(
            ls[0],
            Limits {
                z: 0,
                min_row: 0,
                max_row: 0,
                min_col: 0,
                max_col: 0
            }
        );
        for l in &ls {
            let tl = tile_for(b[0], b[3], l.z);
            let br = tile_for(b[2], b[1], l.z);
            assert!(l.contains(tl.y, tl.x) && l.contains(br.y, br.x));
            assert!(!l.contains(l.max_row + 1, l.min_col));
            assert!(!l.contains(l.min_row, l.max_col + 1));
        }
        assert_eq!(limits(b, 20, 30).len(), 3, "drawn down to z22 only");
    }
}
