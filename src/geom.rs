//! Geometry helpers shared by ingest and serving: WKB encoding (the store keeps geometry as WKB
//! because DuckDB's spatial extension cannot be installed offline), bounding boxes, label points,
//! and the validity repairs the report describes.

use geo::orient::Direction;
use geo::MakeValid;
use geo::{
    Area, BoundingRect, Coord, Geometry, InteriorPoint, LineString, MultiLineString, MultiPoint,
    MultiPolygon, Orient, Point, Polygon, Validation,
};

/// WKB decoding failure.
#[derive(Debug, thiserror::Error)]
pub enum WkbError {
    /// The bytes end before the geometry does.
    #[error("WKB truncated")]
    Truncated,
    /// A geometry type this module does not handle.
    #[error("unsupported WKB geometry type {0}")]
    Unsupported(u32),
}

/// Encode a geometry as little-endian 2D WKB (ISO/OGC simple features).
pub fn to_wkb(g: &Geometry<f64>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    write_geom(&mut out, g);
    out
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}
fn put_coord(out: &mut Vec<u8>, c: Coord<f64>) {
    out.extend_from_slice(&c.x.to_le_bytes());
    out.extend_from_slice(&c.y.to_le_bytes());
}
fn put_ring(out: &mut Vec<u8>, l: &LineString<f64>) {
    put_u32(out, l.0.len() as u32);
    for c in &l.0 {
        put_coord(out, *c);
    }
}
fn put_polygon_body(out: &mut Vec<u8>, p: &Polygon<f64>) {
    put_u32(out, 1 + p.interiors().len() as u32);
    put_ring(out, p.exterior());
    for r in p.interiors() {
        put_ring(out, r);
    }
}

fn write_geom(out: &mut Vec<u8>, g: &Geometry<f64>) {
    out.push(1);
    match g {
        Geometry::Point(p) => {
            put_u32(out, 1);
            put_coord(out, p.0);
        }
        Geometry::LineString(l) => {
            put_u32(out, 2);
            put_ring(out, l);
        }
        Geometry::Polygon(p) => {
            put_u32(out, 3);
            put_polygon_body(out, p);
        }
        Geometry::MultiPoint(mp) => {
            put_u32(out, 4);
            put_u32(out, mp.0.len() as u32);
            for p in &mp.0 {
                write_geom(out, &Geometry::Point(*p));
            }
        }
        Geometry::MultiLineString(ml) => {
            put_u32(out, 5);
            put_u32(out, ml.0.len() as u32);
            for l in &ml.0 {
                out.push(1);
                put_u32(out, 2);
                put_ring(out, l);
            }
        }
        Geometry::MultiPolygon(mp) => {
            put_u32(out, 6);
            put_u32(out, mp.0.len() as u32);
            for p in &mp.0 {
                out.push(1);
                put_u32(out, 3);
                put_polygon_body(out, p);
            }
        }
        Geometry::GeometryCollection(gc) => {
            put_u32(out, 7);
            put_u32(out, gc.0.len() as u32);
            for g in &gc.0 {
                write_geom(out, g);
            }
        }
        Geometry::Line(l) => {
            write_geom(out, &Geometry::LineString(LineString(vec![l.start, l.end])))
        }
        Geometry::Rect(r) => write_geom(out, &Geometry::Polygon(r.to_polygon())),
        Geometry::Triangle(t) => write_geom(out, &Geometry::Polygon(t.to_polygon())),
    }
}

struct Cursor<'a> {
    b: &'a [u8],
    p: usize,
    le: bool,
}

impl Cursor<'_> {
    fn u8(&mut self) -> Result<u8, WkbError> {
        let v = *self.b.get(self.p).ok_or(WkbError::Truncated)?;
        self.p += 1;
        Ok(v)
    }
    fn u32(&mut self) -> Result<u32, WkbError> {
        let s = self.b.get(self.p..self.p + 4).ok_or(WkbError::Truncated)?;
        self.p += 4;
        let a = [s[0], s[1], s[2], s[3]];
        Ok(if self.le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    }
    fn f64(&mut self) -> Result<f64, WkbError> {
        let s = self.b.get(self.p..self.p + 8).ok_or(WkbError::Truncated)?;
        self.p += 8;
        let mut a = [0u8; 8];
        a.copy_from_slice(s);
        Ok(if self.le {
            f64::from_le_bytes(a)
        } else {
            f64::from_be_bytes(a)
        })
    }
    fn coord(&mut self) -> Result<Coord<f64>, WkbError> {
        Ok(Coord {
            x: self.f64()?,
            y: self.f64()?,
        })
    }
    fn ring(&mut self) -> Result<LineString<f64>, WkbError> {
        let n = self.u32()? as usize;
        if n.saturating_mul(16) > self.b.len().saturating_sub(self.p) {
            return Err(WkbError::Truncated);
        }
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(self.coord()?);
        }
        Ok(LineString(v))
    }
    fn polygon(&mut self) -> Result<Polygon<f64>, WkbError> {
        let n = self.u32()? as usize;
        if n == 0 {
            return Ok(Polygon::new(LineString(vec![]), vec![]));
        }
        let ext = self.ring()?;
        let mut holes = Vec::with_capacity(n - 1);
        for _ in 1..n {
            holes.push(self.ring()?);
        }
        Ok(Polygon::new(ext, holes))
    }
    fn geom(&mut self) -> Result<Geometry<f64>, WkbError> {
        self.le = self.u8()? == 1;
        let t = self.u32()?;
        Ok(match t {
            1 => Geometry::Point(Point(self.coord()?)),
            2 => Geometry::LineString(self.ring()?),
            3 => Geometry::Polygon(self.polygon()?),
            4..=7 => {
                let n = self.u32()? as usize;
                let mut parts = Vec::with_capacity(n.min(1 << 16));
                for _ in 0..n {
                    parts.push(self.geom()?);
                }
                match t {
                    4 => Geometry::MultiPoint(MultiPoint(
                        parts
                            .into_iter()
                            .filter_map(|g| Point::try_from(g).ok())
                            .collect(),
                    )),
                    5 => Geometry::MultiLineString(MultiLineString(
                        parts
                            .into_iter()
                            .filter_map(|g| LineString::try_from(g).ok())
                            .collect(),
                    )),
                    6 => Geometry::MultiPolygon(MultiPolygon(
                        parts
                            .into_iter()
                            .filter_map(|g| Polygon::try_from(g).ok())
                            .collect(),
                    )),
                    _ => Geometry::GeometryCollection(geo::GeometryCollection(parts)),
                }
            }
            other => return Err(WkbError::Unsupported(other)),
        })
    }
}

/// Decode WKB written by [`to_wkb`] (or any 2D little- or big-endian WKB).
pub fn from_wkb(b: &[u8]) -> Result<Geometry<f64>, WkbError> {
    Cursor { b, p: 0, le: true }.geom()
}

/// The smallest box holding both `a` and `b` (`[minx, miny, maxx, maxy]`).
pub fn union_bbox(a: [f64; 4], b: [f64; 4]) -> [f64; 4] {
    [
        a[0].min(b[0]),
        a[1].min(b[1]),
        a[2].max(b[2]),
        a[3].max(b[3]),
    ]
}

/// `[minx, miny, maxx, maxy]`, or `None` for an empty geometry.
pub fn bbox(g: &Geometry<f64>) -> Option<[f64; 4]> {
    g.bounding_rect()
        .map(|r| [r.min().x, r.min().y, r.max().x, r.max().y])
}

/// A point guaranteed to lie inside a polygonal geometry (on its largest part), for labels and for
/// the point layer of the tiles; the centroid is not, for crescent-shaped depth bands.
pub fn label_point(g: &Geometry<f64>) -> Option<Point<f64>> {
    match g {
        Geometry::MultiPolygon(mp) => {
            mp.0.iter()
                .max_by(|a, b| a.unsigned_area().total_cmp(&b.unsigned_area()))
                .and_then(polygon_label)
        }
        Geometry::Polygon(p) => polygon_label(p),
        other => other.interior_point(),
    }
}

/// The middle of the widest inside stretch of the horizontal line through the middle of the
/// polygon's bbox, checked to be inside; geo's `interior_point` when that fails (a degenerate
/// ring). One pass over the edges: geo's own builds a full intersection matrix per polygon,
/// which was a third of a large ingest.
fn polygon_label(p: &Polygon<f64>) -> Option<Point<f64>> {
    let r = p.bounding_rect()?;
    let y = (r.min().y + r.max().y) / 2.0;
    let mut xs: Vec<f64> = Vec::new();
    for ring in std::iter::once(p.exterior()).chain(p.interiors()) {
        for w in ring.0.windows(2) {
            let (a, b) = (w[0], w[1]);
            // Half-open, so a line through a vertex counts it once.
            if (a.y <= y) != (b.y <= y) {
                xs.push(a.x + (y - a.y) * (b.x - a.x) / (b.y - a.y));
            }
        }
    }
    xs.sort_by(f64::total_cmp);
    let best = xs
        .chunks_exact(2)
        .max_by(|s, t| (s[1] - s[0]).total_cmp(&(t[1] - t[0])))
        .filter(|s| s[1] > s[0])
        .map(|s| Point::new((s[0] + s[1]) / 2.0, y));
    match best {
        Some(q) if geo::Contains::contains(p, &q) => Some(q),
        _ => p.interior_point(),
    }
}

/// What [`normalize_polygonal`] had to change.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PolygonRepairs {
    /// Rings were re-oriented to exterior counter-clockwise, holes clockwise.
    pub winding: bool,
    /// The geometry was invalid (self-intersection, overlapping parts…) and was rebuilt.
    pub rebuilt: bool,
}

/// The geometry is not polygonal or cannot be repaired.
#[derive(Debug, thiserror::Error)]
pub enum PolygonError {
    /// Not a (multi)polygon.
    #[error("expected a Polygon or MultiPolygon, found {0}")]
    WrongType(&'static str),
    /// Nothing valid left after repair.
    #[error("the polygon is empty or has no area after repair: {0}")]
    Unrepairable(String),
}

/// Name of a geometry type for messages.
pub fn type_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) | Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) | Geometry::Rect(_) | Geometry::Triangle(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
    }
}

/// True when `p` is certainly valid: every ring closed, of up to 256 finite, distinct
/// consecutive points with no three consecutive points on a line; no two edges (of one ring or
/// of two) touching unless adjacent in one ring (robust orientation tests, every pair); every
/// hole inside the exterior and outside the other holes. Anything else answers false and goes
/// to geo's full validation (which also accepts holes touching at a point).
///
/// City zones are mostly small simple rings, some with holes; geo's `is_valid` builds a
/// segment R-tree for each one, which made validation half of a large ingest.
pub fn simple_polygon(p: &Polygon<f64>) -> bool {
    use geo::coordinate_position::{coord_pos_relative_to_ring, CoordPos};
    use geo::kernels::{Kernel, Orientation, RobustKernel};
    let rings: Vec<&LineString<f64>> = std::iter::once(p.exterior()).chain(p.interiors()).collect();
    if rings.len() > 16 {
        return false;
    }
    let o = |a, b, q| RobustKernel::orient2d(a, b, q);
    for c in rings.iter().map(|r| r.0.as_slice()) {
        let n = c.len();
        if !(4..=256).contains(&n) || c[0] != c[n - 1] {
            return false;
        }
        if c.iter().any(|q| !q.x.is_finite() || !q.y.is_finite()) {
            return false;
        }
        let m = n - 1; // edges: c[i] → c[i + 1]
        for i in 0..m {
            let (a, b, q) = (c[i], c[i + 1], c[(i + 2) % m]);
            if a == b || o(a, b, q) == Orientation::Collinear {
                return false;
            }
        }
    }
    // Edges as (ring, index in ring, a, b), swept in order of their left end: an edge is only
    // tested against the edges that start before it ends (x ranges overlap).
    let mut edges: Vec<(usize, usize, Coord<f64>, Coord<f64>)> = rings
        .iter()
        .enumerate()
        .flat_map(|(r, c)| {
            c.0.windows(2)
                .enumerate()
                .map(move |(i, w)| (r, i, w[0], w[1]))
        })
        .collect();
    edges.sort_unstable_by(|p, q| p.2.x.min(p.3.x).total_cmp(&q.2.x.min(q.3.x)));
    for (k, &(r1, i, a, b)) in edges.iter().enumerate() {
        let ax1 = a.x.max(b.x);
        let (ay0, ay1) = (a.y.min(b.y), a.y.max(b.y));
        let m = rings[r1].0.len() - 1;
        for &(r2, j, d, e) in &edges[k + 1..] {
            if d.x.min(e.x) > ax1 {
                break; // this and every later edge start right of `ab`
            }
            let (lo, hi) = (i.min(j), i.max(j));
            if r1 == r2 && (hi == lo + 1 || (lo == 0 && hi == m - 1)) {
                continue; // adjacent edges share a vertex
            }
            if d.y.max(e.y) < ay0 || d.y.min(e.y) > ay1 {
                continue;
            }
            let (o1, o2) = (o(a, b, d), o(a, b, e));
            let (o3, o4) = (o(d, e, a), o(d, e, b));
            let collinear = Orientation::Collinear;
            if o1 == collinear || o2 == collinear || o3 == collinear || o4 == collinear {
                return false;
            }
            if o1 != o2 && o3 != o4 {
                return false;
            }
        }
    }
    // No edges meet, so a hole lies wholly inside or outside any other ring: one vertex tells.
    let inside = |q: Coord<f64>, ring: &LineString<f64>| {
        coord_pos_relative_to_ring(q, ring) == CoordPos::Inside
    };
    for (h, hole) in rings.iter().enumerate().skip(1) {
        if !inside(hole.0[0], rings[0]) {
            return false;
        }
        if rings
            .iter()
            .enumerate()
            .skip(1)
            .any(|(g, other)| g != h && inside(hole.0[0], other))
        {
            return false;
        }
    }
    true
}

/// Make a polygonal geometry valid and consistently oriented (RFC 7946: exterior counter-clockwise).
/// Invalid polygons (self-intersections, bow-ties, overlapping parts) are rebuilt by geo's
/// `MakeValid`; a single-part result stays a Polygon.
pub fn normalize_polygonal(
    g: Geometry<f64>,
) -> Result<(Geometry<f64>, PolygonRepairs), PolygonError> {
    let mp = match g {
        Geometry::Polygon(p) => MultiPolygon(vec![p]),
        Geometry::MultiPolygon(mp) => mp,
        Geometry::Rect(r) => MultiPolygon(vec![r.to_polygon()]),
        other => return Err(PolygonError::WrongType(type_name(&other))),
    };
    let mut rep = PolygonRepairs::default();
    let oriented = mp.orient(Direction::Default);
    if oriented != mp {
        rep.winding = true;
    }
    let valid = match oriented.0.as_slice() {
        [one] if simple_polygon(one) => true,
        _ => oriented.is_valid(),
    };
    let fixed = if valid {
        oriented
    } else {
        rep.rebuilt = true;
        let v = oriented
            .make_valid()
            .map_err(|e| PolygonError::Unrepairable(e.to_string()))?;
        v.orient(Direction::Default)
    };
    let fixed = MultiPolygon(
        fixed
            .0
            .into_iter()
            .filter(|p| p.exterior().0.len() >= 4 && p.unsigned_area() > 0.0)
            .collect(),
    );
    match fixed.0.len() {
        0 => Err(PolygonError::Unrepairable("no area".into())),
        1 => Ok((
            Geometry::Polygon(fixed.0.into_iter().next().expect("len checked")),
            rep,
        )),
        _ => Ok((Geometry::MultiPolygon(fixed), rep)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{polygon, wkt};

    #[test]
    fn wkb_round_trip() {
        let geoms: Vec<Geometry<f64>> = vec![
            wkt!(POINT(133.9 34.6)).into(),
            wkt!(LINESTRING(0. 0.,1. 1.,2. 0.5)).into(),
            wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.),(1. 1.,1. 2.,2. 2.,1. 1.))).into(),
            wkt!(MULTIPOLYGON(((0. 0.,1. 0.,1. 1.,0. 0.)),((5. 5.,6. 5.,6. 6.,5. 5.)))).into(),
            wkt!(MULTILINESTRING((0. 0.,1. 1.),(2. 2.,3. 3.))).into(),
            wkt!(MULTIPOINT(0. 0.,1. 1.)).into(),
        ];
        for g in geoms {
            let b = to_wkb(&g);
            assert_eq!(from_wkb(&b).unwrap(), g);
        }
        // Point WKB is 21 bytes: order, type, x, y.
        assert_eq!(to_wkb(&wkt!(POINT(1. 2.)).into()).len(), 21);
        assert!(matches!(
            from_wkb(&[1, 3, 0, 0, 0, 1]),
            Err(WkbError::Truncated)
        ));
        assert!(matches!(
            from_wkb(&[1, 99, 0, 0, 0]),
            Err(WkbError::Unsupported(99))
        ));
    }

    #[test]
    fn bow_tie_is_rebuilt() {
        let bow: Geometry<f64> = polygon![(x: 0., y: 0.), (x: 2., y: 2.), (x: 2., y: 0.), (x: 0., y: 2.), (x: 0., y: 0.)].into();
        let (g, rep) = normalize_polygonal(bow).unwrap();
        assert!(rep.rebuilt);
        assert!(g.is_valid());
        assert!(
            (g.unsigned_area() - 2.0).abs() < 1e-9,
            "{}",
            g.unsigned_area()
        );
    }

    #[test]
    fn clockwise_exterior_is_reoriented() {
        let cw: Geometry<f64> = polygon![(x: 0., y: 0.), (x: 0., y: 1.), (x: 1., y: 1.), (x: 1., y: 0.), (x: 0., y: 0.)].into();
        let (g, rep) = normalize_polygonal(cw).unwrap();
        assert!(rep.winding && !rep.rebuilt);
        let Geometry::Polygon(p) = g else {
            panic!("polygon expected")
        };
        assert!(geo::Winding::is_ccw(p.exterior()));
    }

    #[test]
    fn wrong_type_and_empty_are_refused() {
        assert!(matches!(
            normalize_polygonal(wkt!(POINT(1. 1.)).into()),
            Err(PolygonError::WrongType("Point"))
        ));
        let flat: Geometry<f64> =
            polygon![(x: 0., y: 0.), (x: 1., y: 0.), (x: 2., y: 0.), (x: 0., y: 0.)].into();
        assert!(normalize_polygonal(flat).is_err());
    }

    /// `n` points around the origin at increasing angles, each at a random radius in
    /// `min_r..1` (a star-shaped ring, not yet closed).
    fn star_ring(rng: &mut impl rand::Rng, n: usize, min_r: f64) -> Vec<(f64, f64)> {
        (0..n)
            .map(|i| {
                let t = std::f64::consts::TAU * i as f64 / n as f64;
                let r = rng.gen_range(min_r..1.0);
                (r * t.cos(), r * t.sin())
            })
            .collect()
    }

    #[test]
    fn simple_polygon_never_accepts_what_geo_rejects() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let (mut fast, mut total) = (0usize, 0usize);
        for k in 0..3000 {
            let n = rng.gen_range(3..40);
            // Star-shaped rings (valid) and, every other time, shuffled ones (often crossing).
            let mut pts = star_ring(&mut rng, n, 0.5);
            if k % 2 == 1 {
                let i = rng.gen_range(0..n);
                let j = rng.gen_range(0..n);
                pts.swap(i, j);
            }
            pts.push(pts[0]);
            // Every third ring gets up to three random holes: inside, crossing, outside, nested.
            let holes: Vec<LineString<f64>> = (0..if k % 3 == 0 { rng.gen_range(1..4) } else { 0 })
                .map(|_| {
                    let (cx, cy) = (rng.gen_range(-0.8..0.8), rng.gen_range(-0.8..0.8));
                    let r = rng.gen_range(0.02..0.4);
                    let m = rng.gen_range(3..12);
                    let mut h: Vec<(f64, f64)> = (0..m)
                        .map(|i| {
                            let t = -std::f64::consts::TAU * i as f64 / m as f64;
                            (cx + r * t.cos(), cy + r * t.sin())
                        })
                        .collect();
                    h.push(h[0]);
                    LineString::from(h)
                })
                .collect();
            let p = Polygon::new(LineString::from(pts), holes);
            let valid = p.is_valid();
            total += usize::from(valid);
            if simple_polygon(&p) {
                fast += 1;
                assert!(valid, "accepted an invalid polygon: {p:?}");
            }
        }
        // The fast path takes nearly every valid polygon (holes included).
        assert!(fast * 10 >= total * 9, "{fast} of {total} valid");
        let bowtie: Polygon<f64> = wkt!(POLYGON((0. 0.,2. 2.,2. 0.,0. 2.,0. 0.)));
        let spike: Polygon<f64> = wkt!(POLYGON((0. 0.,4. 0.,4. 4.,2. 4.,2. 6.,2. 4.,0. 4.,0. 0.)));
        let touching: Polygon<f64> = wkt!(POLYGON((0. 0.,4. 0.,2. 2.,4. 4.,0. 4.,2. 2.,0. 0.)));
        for p in [&bowtie, &spike, &touching] {
            assert!(!simple_polygon(p));
        }
        let square: Polygon<f64> = wkt!(POLYGON((0. 0.,4. 0.,4. 4.,0. 4.,0. 0.)));
        assert!(simple_polygon(&square));
        // Holes: inside and apart are taken; outside, nested, crossing or touching are not.
        let holed: Polygon<f64> = wkt!(POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(1. 1.,1. 3.,3. 3.,3. 1.,1. 1.),(5. 5.,5. 7.,7. 7.,7. 5.,5. 5.)));
        assert!(simple_polygon(&holed) && holed.is_valid());
        let refused: [Polygon<f64>; 4] = [
            wkt!(POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(11. 1.,11. 3.,13. 3.,13. 1.,11. 1.))),
            wkt!(POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(1. 1.,1. 8.,8. 8.,8. 1.,1. 1.),(2. 2.,2. 3.,3. 3.,3. 2.,2. 2.))),
            wkt!(POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(5. 5.,5. 12.,7. 12.,7. 5.,5. 5.))),
            wkt!(POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 0.),(0. 5.,2. 6.,2. 4.,0. 5.))),
        ];
        for p in &refused {
            assert!(!simple_polygon(p), "{p:?}");
        }
        // A repaired bow-tie is still reported as rebuilt.
        let (_, rep) = normalize_polygonal(Geometry::Polygon(bowtie)).unwrap();
        assert!(rep.rebuilt);
    }

    #[test]
    fn label_point_is_inside_a_crescent() {
        let c: Geometry<f64> =
            wkt!(POLYGON((0. 0.,10. 0.,10. 10.,0. 10.,0. 9.,9. 9.,9. 1.,0. 1.,0. 0.))).into();
        let p = label_point(&c).unwrap();
        assert!(geo::Contains::contains(&c, &p));
    }

    #[test]
    fn label_point_is_inside_holed_and_random_polygons() {
        use rand::{Rng, SeedableRng};
        // A ring whose middle line runs through a hole and through vertices.
        let holed: Geometry<f64> = wkt!(POLYGON((0. 0.,10. 0.,10. 5.,10. 10.,0. 10.,0. 0.),(2. 2.,2. 8.,8. 8.,8. 2.,2. 2.))).into();
        let p = label_point(&holed).unwrap();
        assert!(geo::Contains::contains(&holed, &p), "{p:?}");
        assert!(p.x() < 2.0 || p.x() > 8.0);
        let mut rng = rand::rngs::StdRng::seed_from_u64(11);
        for _ in 0..2000 {
            let n = rng.gen_range(3..30);
            let mut pts = star_ring(&mut rng, n, 0.1);
            pts.push(pts[0]);
            let g: Geometry<f64> = Polygon::new(LineString::from(pts), vec![]).into();
            let p = label_point(&g).unwrap();
            assert!(geo::Contains::contains(&g, &p), "{g:?} {p:?}");
        }
    }
}
