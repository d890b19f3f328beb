//! The hazard zones and map coverage of a static export, cut into square cells of a lon/lat
//! grid so the browser fetches only the few kilobytes around a point: `risk/{hazard}/{x}_{y}.bin`
//! holds every zone and coverage shape whose bounding box meets the cell, whole (not clipped),
//! with coordinates as the store's `f64`s bit for bit, so the browser's point-in-polygon test
//! ([`crate::contains`]) gives the server's answer.
//!
//! A cell file is `MMRC` and a version byte, then records: kind (0 zone, 1 coverage), fid
//! (`i64`), zone index into the hazard's `zones.json` (`u32`), geometry type (0 Polygon,
//! 1 MultiPolygon), polygon count, and per polygon its rings, each a point count and `x, y`
//! pairs; every integer and float little-endian. The grid of level `k` has cells of 2⁻ᵏ degrees:
//! a multiplication by a power of two is exact, so JavaScript and Rust pick the same cell.

use geo::{Coord, Geometry, LineString, MultiPolygon, Polygon};

const MAGIC: &[u8; 4] = b"MMRC";
const VERSION: u8 = 1;

/// What a record is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A hazard zone (its properties are `zones.json[zone]`).
    Zone,
    /// Part of the area the hazard's map covers.
    Coverage,
}

/// One shape of a cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// Zone or coverage.
    pub kind: Kind,
    /// Feature id (of the hazard dataset for zones; of the ward, or 0, for coverage).
    pub fid: i64,
    /// Index into the hazard's zone table (0 for coverage).
    pub zone: u32,
    /// A Polygon or a MultiPolygon.
    pub geom: Geometry<f64>,
}

/// A cell file that cannot be read.
#[derive(Debug)]
pub struct CellError(pub String);

impl std::fmt::Display for CellError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "damaged risk cell: {}", self.0)
    }
}

impl std::error::Error for CellError {}

/// The cell of a point at grid level `level`.
pub fn cell_of(lon: f64, lat: f64, level: u8) -> (i64, i64) {
    let n = f64::from(1u32 << level);
    ((lon * n).floor() as i64, (lat * n).floor() as i64)
}

/// Every cell a bounding box `[minx, miny, maxx, maxy]` meets.
pub fn cells_of_bbox(b: [f64; 4], level: u8) -> impl Iterator<Item = (i64, i64)> {
    let (x0, y0) = cell_of(b[0], b[1], level);
    let (x1, y1) = cell_of(b[2], b[3], level);
    (x0..=x1).flat_map(move |x| (y0..=y1).map(move |y| (x, y)))
}

/// The name of a cell (`{x}_{y}`), as the export's `cells.json` lists it.
pub fn name(cell: (i64, i64)) -> String {
    format!("{}_{}", cell.0, cell.1)
}

/// The file name of a cell.
pub fn file_name(cell: (i64, i64)) -> String {
    format!("{}.bin", name(cell))
}

/// A new cell file's first bytes.
pub fn header() -> Vec<u8> {
    let mut v = MAGIC.to_vec();
    v.push(VERSION);
    v
}

fn put_polygon(out: &mut Vec<u8>, p: &Polygon<f64>) {
    let rings: Vec<&LineString<f64>> = std::iter::once(p.exterior())
        .chain(p.interiors().iter())
        .collect();
    out.extend_from_slice(&(rings.len() as u32).to_le_bytes());
    for r in rings {
        out.extend_from_slice(&(r.0.len() as u32).to_le_bytes());
        for c in &r.0 {
            out.extend_from_slice(&c.x.to_le_bytes());
            out.extend_from_slice(&c.y.to_le_bytes());
        }
    }
}

/// Append a record; false (and nothing written) for a geometry that is not polygonal.
pub fn push(out: &mut Vec<u8>, kind: Kind, fid: i64, zone: u32, geom: &Geometry<f64>) -> bool {
    let (tag, polys): (u8, Vec<&Polygon<f64>>) = match geom {
        Geometry::Polygon(p) => (0, vec![p]),
        Geometry::MultiPolygon(mp) => (1, mp.0.iter().collect()),
        _ => return false,
    };
    out.push(match kind {
        Kind::Zone => 0,
        Kind::Coverage => 1,
    });
    out.extend_from_slice(&fid.to_le_bytes());
    out.extend_from_slice(&zone.to_le_bytes());
    out.push(tag);
    out.extend_from_slice(&(polys.len() as u32).to_le_bytes());
    for p in polys {
        put_polygon(out, p);
    }
    true
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], CellError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.b.len())
            .ok_or_else(|| CellError(format!("truncated at byte {}", self.at)))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self) -> Result<u8, CellError> {
        Ok(self.take(1)?[0])
    }
    fn u32(&mut self) -> Result<u32, CellError> {
        let mut a = [0; 4];
        a.copy_from_slice(self.take(4)?);
        Ok(u32::from_le_bytes(a))
    }
    fn i64(&mut self) -> Result<i64, CellError> {
        let mut a = [0; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(i64::from_le_bytes(a))
    }
    fn f64(&mut self) -> Result<f64, CellError> {
        let mut a = [0; 8];
        a.copy_from_slice(self.take(8)?);
        Ok(f64::from_le_bytes(a))
    }
    /// A count of items of at least `min` bytes each, refused when the rest cannot hold it.
    fn count(&mut self, min: usize) -> Result<usize, CellError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(min) > self.b.len() - self.at {
            return Err(CellError(format!(
                "count {n} at byte {} too large",
                self.at
            )));
        }
        Ok(n)
    }
    fn polygon(&mut self) -> Result<Polygon<f64>, CellError> {
        let nr = self.count(4)?;
        let mut rings = Vec::with_capacity(nr);
        for _ in 0..nr {
            let np = self.count(16)?;
            let mut pts = Vec::with_capacity(np);
            for _ in 0..np {
                pts.push(Coord {
                    x: self.f64()?,
                    y: self.f64()?,
                });
            }
            rings.push(LineString(pts));
        }
        let mut it = rings.into_iter();
        let ext = it
            .next()
            .ok_or_else(|| CellError("a polygon without rings".into()))?;
        Ok(Polygon::new(ext, it.collect()))
    }
}

/// Every record of a cell file.
pub fn read(bytes: &[u8]) -> Result<Vec<Record>, CellError> {
    if bytes.len() < 5 || &bytes[..4] != MAGIC || bytes[4] != VERSION {
        return Err(CellError("not a risk cell of this version".into()));
    }
    let mut r = Reader { b: bytes, at: 5 };
    let mut out = Vec::new();
    while r.at < bytes.len() {
        let kind = match r.u8()? {
            0 => Kind::Zone,
            1 => Kind::Coverage,
            k => return Err(CellError(format!("unknown record kind {k}"))),
        };
        let fid = r.i64()?;
        let zone = r.u32()?;
        let tag = r.u8()?;
        let n = r.count(4)?;
        let mut polys = Vec::with_capacity(n);
        for _ in 0..n {
            polys.push(r.polygon()?);
        }
        let geom = match (tag, polys.len()) {
            (0, 1) => Geometry::Polygon(polys.remove(0)),
            (1, _) => Geometry::MultiPolygon(MultiPolygon(polys)),
            _ => return Err(CellError(format!("bad geometry tag {tag}"))),
        };
        out.push(Record {
            kind,
            fid,
            zone,
            geom,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn records_round_trip_bit_for_bit_and_damage_is_refused() {
        let p = polygon![(x: 133.9, y: 34.6), (x: 133.9000000000001, y: 34.6), (x: 133.95, y: 34.65), (x: 133.9, y: 34.6)];
        let mp = Geometry::MultiPolygon(MultiPolygon(vec![p.clone(), p.clone()]));
        let mut b = header();
        assert!(push(
            &mut b,
            Kind::Zone,
            -7,
            3,
            &Geometry::Polygon(p.clone())
        ));
        assert!(push(&mut b, Kind::Coverage, 1 << 40, 0, &mp));
        assert!(!push(
            &mut b,
            Kind::Zone,
            1,
            1,
            &Geometry::Point(geo::Point::new(1.0, 2.0))
        ));
        let r = read(&b).unwrap();
        assert_eq!(r.len(), 2);
        assert_eq!((r[0].kind, r[0].fid, r[0].zone), (Kind::Zone, -7, 3));
        assert_eq!(r[0].geom, Geometry::Polygon(p));
        assert_eq!((r[1].kind, r[1].fid), (Kind::Coverage, 1 << 40));
        assert_eq!(r[1].geom, mp);
        // Cut anywhere, a file is refused or (cut between records) reads fewer records.
        for cut in 5..b.len() {
            assert!(read(&b[..cut]).map_or(true, |r| r.len() < 2), "cut {cut}");
        }
        assert!(read(b"MMRC\x02").is_err());
        // A count larger than the file is refused before anything is allocated.
        let mut huge = header();
        huge.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert!(read(&huge).is_err());
    }

    #[test]
    fn a_point_is_in_a_cell_its_containing_box_lists() {
        for level in [4u8, 7, 12] {
            let b = [133.90625, 34.5, 133.99, 34.7];
            let cells: Vec<_> = cells_of_bbox(b, level).collect();
            for (lon, lat) in [(133.90625, 34.5), (133.99, 34.7), (133.95, 34.6)] {
                assert!(cells.contains(&cell_of(lon, lat, level)));
            }
        }
        assert_eq!(cell_of(-0.5, 0.5, 1), (-1, 1));
        assert_eq!(file_name((-1, 2)), "-1_2.bin");
    }
}
