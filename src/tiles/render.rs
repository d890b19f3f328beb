//! Features to a Mapbox Vector Tile (spec 2.1): project to tile space, clip to the tile plus a
//! buffer, simplify by snapping to the tile's integer grid, drop what is smaller than a pixel,
//! fix winding, encode ([`super::encode`]).
//!
//! Simplification is grid snapping on purpose: two wards (or two depth bands) that share an edge
//! share its vertices, and the same vertex always snaps to the same grid point, so shared edges
//! stay identical at every zoom — no gaps, no slivers. Line simplification algorithms that look
//! at a ring's own neighbours (Douglas–Peucker, Visvalingam) cannot promise that.
//!
//! Every feature is encoded once into its final bytes; a tile over [`MAX_TILE_BYTES`] then
//! keeps its largest polygons and drops the smallest, without rendering again.

use super::coord::{TileCoord, TileProjection};
use super::encode::{GeomBuf, GeomType, LayerWriter};
use crate::index::{Feature, Layer};
use geo::{Geometry, LineString, Polygon};
use std::ops::Range;

/// Tile geometry parameters.
#[derive(Clone, Copy, Debug)]
pub struct RenderOptions {
    /// Tile extent (MVT default 4096).
    pub extent: u32,
    /// Buffer around the tile, in extent units, kept so strokes and labels join across tiles.
    pub buffer: u32,
    /// Polygons whose snapped area is below this (extent units²) are dropped; 64 units² is one
    /// screen pixel of a 512-pixel tile.
    pub min_area: f64,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            extent: 4096,
            buffer: 64,
            min_area: 64.0,
        }
    }
}

/// Largest tile [`render_layers`] produces, uncompressed. Past it, polygons are dropped
/// smallest first: a low-zoom overview of a million small zones cannot show each one, and a
/// phone should not download megabytes for it (tippecanoe's default limit is the same).
pub const MAX_TILE_BYTES: usize = 500 * 1024;

/// Render published layers as the server and the PMTiles export do: one source-layer per
/// dataset, named by its id, plus a `{id}_label` point layer (one point inside each polygon)
/// for wards and hazard polygons.
///
/// If the tile would exceed [`MAX_TILE_BYTES`], polygons are left out smallest first (with
/// their labels) until it fits. Tiles at city zooms are far below the limit, so only overview
/// zooms of very large layers ever lose features.
pub fn render_layers(layers: &[&Layer], coord: TileCoord) -> Vec<u8> {
    render(layers, coord, &RenderOptions::default(), MAX_TILE_BYTES)
}

/// True when a dataset's tiles carry a `{id}_label` point layer beside its own (wards and
/// hazard polygons).
pub fn has_label_layer(d: crate::dataset::DatasetId) -> bool {
    matches!(
        d.kind(),
        crate::dataset::Kind::Ward | crate::dataset::Kind::Hazard
    )
}

/// A drawn feature: where its bytes are and how large it is on the tile.
struct Drawn {
    /// Index of its dataset in the tile.
    layer: usize,
    /// Index of the feature in its layer (fid order): the order features are written in.
    index: u32,
    bytes: Range<usize>,
    label: Option<Range<usize>>,
    /// Polygon area in tile units² (infinite for points and lines, which are always kept).
    area: f64,
}

/// Reused buffers of one render.
#[derive(Default)]
struct Scratch {
    pts: Vec<Pt>,
    tmp: Vec<Pt>,
    snapped: Vec<IPt>,
    geom: GeomBuf,
}

fn render(layers: &[&Layer], coord: TileCoord, o: &RenderOptions, limit: usize) -> Vec<u8> {
    let proj = TileProjection::new(coord, o.extent);
    let lo = -f64::from(o.buffer);
    let hi = f64::from(o.extent + o.buffer);
    let query = coord.lonlat_bounds(f64::from(o.buffer) / f64::from(o.extent));
    let names: Vec<(String, String)> = layers
        .iter()
        .map(|l| (l.dataset.to_string(), format!("{}_label", l.dataset)))
        .collect();
    let mut writers: Vec<(LayerWriter<'_>, Option<LayerWriter<'_>>)> = layers
        .iter()
        .zip(&names)
        .map(|(l, (name, label_name))| {
            let labels = has_label_layer(l.dataset);
            let cols = l.columns();
            (
                LayerWriter::new(name, o.extent, cols),
                labels.then(|| LayerWriter::new(label_name, o.extent, cols)),
            )
        })
        .collect();
    // The features touching the tile, with the area of their box on it (infinite for points
    // and lines); polygons whose box is below a pixel are dropped before any vertex is
    // projected (at low zooms that is most of a large layer).
    // (rank, layer, feature, box wholly inside the buffered tile)
    let mut todo: Vec<(f64, u32, u32, bool)> = Vec::new();
    let mut estimate = 0usize;
    for (li, l) in layers.iter().enumerate() {
        for i in l.query_bbox(query) {
            let f = &l.features[i as usize];
            let Some(g) = &f.geom else { continue };
            // The feature's box on the tile: `[x0, y0, x1, y1]`, y down.
            let tbox = f
                .bbox
                .map(|b| [proj.x(b[0]), proj.y(b[3]), proj.x(b[2]), proj.y(b[1])]);
            let key = match (g, tbox) {
                (Geometry::Polygon(_) | Geometry::MultiPolygon(_), Some([x0, y0, x1, y1])) => {
                    if ((x1 - x0).abs() + 1.0) * ((y1 - y0).abs() + 1.0) < o.min_area {
                        continue;
                    }
                    // Ranked by the part of the box on the tile: a large zone mostly
                    // elsewhere does not crowd out small ones wholly here.
                    let clip = |v: f64| v.clamp(lo, hi);
                    let (w, h) = (clip(x1) - clip(x0), clip(y1) - clip(y0));
                    (w.abs() + 1.0) * (h.abs() + 1.0)
                }
                _ => f64::INFINITY,
            };
            // A feature whose box lies wholly inside the buffered tile needs no clipping.
            let inside =
                tbox.is_some_and(|[x0, y0, x1, y1]| x0 >= lo && y0 >= lo && x1 <= hi && y1 <= hi);
            // About 2.5 bytes per vertex and 40 per feature and label, when drawn whole.
            estimate += 40 + vertices(g) * 5 / 2;
            todo.push((key, li as u32, i, inside));
        }
    }
    // A tile that may go over the limit is drawn largest first and stops once full, instead
    // of drawing every small polygon only to leave it out.
    let full_at = if estimate > limit / 2 {
        todo.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
        limit
    } else {
        usize::MAX
    };
    let mut drawn: Vec<Drawn> = Vec::new();
    let mut s = Scratch::default();
    let mut used = 0usize;
    for &(_, li, i, inside) in &todo {
        let l = layers[li as usize];
        let f: &Feature = &l.features[i as usize];
        let Some(g) = &f.geom else { continue };
        let cols = l.columns();
        let Some((ty, area)) = draw(g, inside, &proj, lo, hi, o, &mut s) else {
            continue;
        };
        let (w, lw) = &mut writers[li as usize];
        let bytes = w.add(f.fid as u64, cols, &f.values, ty, &s.geom.bytes);
        // A label only for a polygon that was drawn, and only inside the tile proper.
        let mut label = None;
        if let (Some(lw), Some([lx, ly]), GeomType::Polygon) = (lw.as_mut(), f.label, ty) {
            let (tx, ty) = (proj.x(lx), proj.y(ly));
            let e = f64::from(o.extent);
            if (0.0..e).contains(&tx) && (0.0..e).contains(&ty) {
                s.geom.clear();
                s.geom.points(&[[snap(tx), snap(ty)]]);
                let g = &s.geom.bytes;
                label = Some(lw.add(f.fid as u64, cols, &f.values, GeomType::Point, g));
            }
        }
        used += bytes.len() + label.as_ref().map_or(0, |r| r.len());
        drawn.push(Drawn {
            layer: li as usize,
            index: i,
            bytes,
            label,
            area,
        });
        if used > full_at && area.is_finite() {
            break;
        }
    }
    let fixed: usize = writers
        .iter()
        .map(|(w, lw)| w.overhead() + lw.as_ref().map_or(0, LayerWriter::overhead))
        .sum();
    let size = |d: &Drawn| d.bytes.len() + d.label.as_ref().map_or(0, |r| r.len());
    let total: usize = fixed + drawn.iter().map(size).sum::<usize>();
    let mut keep = vec![true; drawn.len()];
    if total > limit {
        // Largest first (points and lines before any polygon), ties in drawing order.
        let mut order: Vec<usize> = (0..drawn.len()).collect();
        order.sort_by(|&a, &b| drawn[b].area.total_cmp(&drawn[a].area).then(a.cmp(&b)));
        let mut used = fixed;
        for i in order {
            used += size(&drawn[i]);
            keep[i] = used <= limit;
        }
    }
    // Written in fid order whatever order they were drawn in, so overlapping polygons stack
    // the same way on both sides of a tile border.
    let mut kept: Vec<&Drawn> = drawn
        .iter()
        .zip(&keep)
        .filter(|(_, k)| **k)
        .map(|(d, _)| d)
        .collect();
    kept.sort_by_key(|d| (d.layer, d.index));
    let mut tile = Vec::with_capacity(total.min(limit) + 64);
    for (li, (w, lw)) in writers.iter().enumerate() {
        let mine = || kept.iter().filter(move |d| d.layer == li);
        w.finish_into(&mut tile, mine().map(|d| d.bytes.clone()));
        if let Some(lw) = lw {
            lw.finish_into(&mut tile, mine().filter_map(|d| d.label.clone()));
        }
    }
    tile
}

/// Vertices of a geometry (for the size estimate).
fn vertices(g: &Geometry<f64>) -> usize {
    let ring = |p: &Polygon<f64>| {
        p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>()
    };
    match g {
        Geometry::Polygon(p) => ring(p),
        Geometry::MultiPolygon(mp) => mp.0.iter().map(ring).sum(),
        Geometry::LineString(l) => l.0.len(),
        Geometry::MultiLineString(ml) => ml.0.iter().map(|l| l.0.len()).sum(),
        Geometry::MultiPoint(mp) => mp.0.len(),
        _ => 1,
    }
}

/// Round to the nearest tile unit (half away from zero) without a libm call: `f64::round` is
/// a function call on baseline x86-64, and every vertex goes through here.
#[inline]
fn snap(v: f64) -> i32 {
    (v + 0.5f64.copysign(v)) as i32
}

/// Draw one geometry into `s.geom` (clipping skipped when its box is `inside` the buffered
/// tile); its MVT type and its area in tile units² (infinite for points and lines), or `None`
/// when nothing of it shows on this tile.
fn draw(
    g: &Geometry<f64>,
    inside: bool,
    p: &TileProjection,
    lo: f64,
    hi: f64,
    o: &RenderOptions,
    s: &mut Scratch,
) -> Option<(GeomType, f64)> {
    s.geom.clear();
    let ty = match g {
        Geometry::Point(pt) => {
            point_into(&[pt.0], p, lo, hi, s);
            GeomType::Point
        }
        Geometry::MultiPoint(mp) => {
            let cs: Vec<geo::Coord<f64>> = mp.0.iter().map(|q| q.0).collect();
            point_into(&cs, p, lo, hi, s);
            GeomType::Point
        }
        Geometry::LineString(l) => {
            lines_into(std::slice::from_ref(l), p, lo, hi, s);
            GeomType::Line
        }
        Geometry::MultiLineString(ml) => {
            lines_into(&ml.0, p, lo, hi, s);
            GeomType::Line
        }
        Geometry::Polygon(poly) => {
            let area = polygons_into(std::slice::from_ref(poly), p, lo, hi, inside, o, s);
            return (area > 0.0).then_some((GeomType::Polygon, area));
        }
        Geometry::MultiPolygon(mp) => {
            let area = polygons_into(&mp.0, p, lo, hi, inside, o, s);
            return (area > 0.0).then_some((GeomType::Polygon, area));
        }
        _ => return None,
    };
    (!s.geom.is_empty()).then_some((ty, f64::INFINITY))
}

type Pt = [f64; 2];
type IPt = [i32; 2];

fn point_into(cs: &[geo::Coord<f64>], p: &TileProjection, lo: f64, hi: f64, s: &mut Scratch) {
    s.snapped.clear();
    for c in cs {
        let (x, y) = (p.x(c.x), p.y(c.y));
        if x >= lo && x < hi && y >= lo && y < hi {
            s.snapped.push([snap(x), snap(y)]);
        }
    }
    s.geom.points(&s.snapped);
}

fn lines_into(lines: &[LineString<f64>], p: &TileProjection, lo: f64, hi: f64, s: &mut Scratch) {
    for l in lines {
        s.pts.clear();
        s.pts.extend(l.0.iter().map(|c| [p.x(c.x), p.y(c.y)]));
        for part in clip_line(&s.pts, lo, hi) {
            s.snapped.clear();
            s.snapped
                .extend(part.iter().map(|q| [snap(q[0]), snap(q[1])]));
            s.geom.line(&s.snapped);
        }
    }
}

/// Draw polygons; returns the area of the exteriors drawn (0 when none reached `min_area`).
fn polygons_into(
    polys: &[Polygon<f64>],
    p: &TileProjection,
    lo: f64,
    hi: f64,
    inside: bool,
    o: &RenderOptions,
    s: &mut Scratch,
) -> f64 {
    let mut total = 0.0;
    for poly in polys {
        if !ring_into(poly.exterior(), p, lo, hi, inside, s) {
            continue;
        }
        let a = area2(&s.snapped);
        let area = (a.abs() as f64) / 2.0;
        if area < o.min_area {
            continue; // sub-pixel: dropped
        }
        // MVT: exterior rings have positive area in tile coordinates (y down).
        s.geom.ring(&s.snapped, a > 0);
        total += area;
        for h in poly.interiors() {
            if !ring_into(h, p, lo, hi, inside, s) {
                continue;
            }
            let a = area2(&s.snapped);
            if (a.abs() as f64) / 2.0 < 1.0 {
                continue;
            }
            s.geom.ring(&s.snapped, a < 0);
        }
    }
    total
}

/// Project, clip (unless the whole feature is `inside`) and snap one ring into `s.snapped`;
/// false when fewer than 3 distinct points remain.
fn ring_into(
    r: &LineString<f64>,
    p: &TileProjection,
    lo: f64,
    hi: f64,
    inside: bool,
    s: &mut Scratch,
) -> bool {
    s.pts.clear();
    s.pts.extend(r.0.iter().map(|c| [p.x(c.x), p.y(c.y)]));
    if s.pts.len() > 1 && s.pts.first() == s.pts.last() {
        s.pts.pop();
    }
    let all_in = inside
        || s.pts
            .iter()
            .all(|q| q[0] >= lo && q[0] <= hi && q[1] >= lo && q[1] <= hi);
    if !all_in {
        clip_ring_in_place(&mut s.pts, &mut s.tmp, lo, hi);
    }
    snap_ring_into(&s.pts, &mut s.snapped);
    s.snapped.len() >= 3
}

/// Twice the signed area (shoelace) in integer tile units: positive = clockwise on screen.
pub fn area2(r: &[IPt]) -> i64 {
    let n = r.len();
    let mut s = 0i64;
    for i in 0..n {
        let [x0, y0] = r[i];
        let [x1, y1] = r[(i + 1) % n];
        s += i64::from(x0) * i64::from(y1) - i64::from(x1) * i64::from(y0);
    }
    s
}

/// Snap a ring to the integer grid, skipping repeated points and the closing one.
fn snap_ring_into(pts: &[Pt], out: &mut Vec<IPt>) {
    out.clear();
    for p in pts {
        let q = [snap(p[0]), snap(p[1])];
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
}

/// Sutherland–Hodgman clipping of a ring (without its closing point) to the square [lo, hi]².
pub fn clip_ring(pts: &[Pt], lo: f64, hi: f64) -> Vec<Pt> {
    let mut v = pts.to_vec();
    clip_ring_in_place(&mut v, &mut Vec::new(), lo, hi);
    v
}

/// [`clip_ring`] of `pts` into itself, with `tmp` as the other buffer of each pass.
fn clip_ring_in_place(pts: &mut Vec<Pt>, tmp: &mut Vec<Pt>, lo: f64, hi: f64) {
    // (axis, bound, keep >= bound?)
    for (axis, bound, keep_ge) in [
        (0usize, lo, true),
        (0, hi, false),
        (1, lo, true),
        (1, hi, false),
    ] {
        if pts.is_empty() {
            break;
        }
        let inside = |p: &Pt| {
            if keep_ge {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        tmp.clear();
        let n = pts.len();
        let mut prev = pts[n - 1];
        let mut pi = inside(&prev);
        for &cur in pts.iter() {
            let ci = inside(&cur);
            if ci {
                if !pi {
                    tmp.push(intersect(prev, cur, axis, bound));
                }
                tmp.push(cur);
            } else if pi {
                tmp.push(intersect(prev, cur, axis, bound));
            }
            prev = cur;
            pi = ci;
        }
        std::mem::swap(pts, tmp);
    }
}

fn intersect(a: Pt, b: Pt, axis: usize, bound: f64) -> Pt {
    let t = (bound - a[axis]) / (b[axis] - a[axis]);
    let other = 1 - axis;
    let mut p = [0.0; 2];
    p[axis] = bound;
    p[other] = a[other] + t * (b[other] - a[other]);
    p
}

/// Clip a polyline to the square [lo, hi]² (Liang–Barsky per segment); returns the visible parts.
pub fn clip_line(pts: &[Pt], lo: f64, hi: f64) -> Vec<Vec<Pt>> {
    let mut parts: Vec<Vec<Pt>> = Vec::new();
    let mut cur: Vec<Pt> = Vec::new();
    for w in pts.windows(2) {
        let (a, b) = (w[0], w[1]);
        match clip_segment(a, b, lo, hi) {
            Some((p, q)) => {
                if cur.last() != Some(&p) {
                    if !cur.is_empty() {
                        parts.push(std::mem::take(&mut cur));
                    }
                    cur.push(p);
                }
                cur.push(q);
                if q != b {
                    parts.push(std::mem::take(&mut cur));
                }
            }
            None => {
                if !cur.is_empty() {
                    parts.push(std::mem::take(&mut cur));
                }
            }
        }
    }
    if !cur.is_empty() {
        parts.push(cur);
    }
    parts.retain(|p| p.len() >= 2);
    parts
}

fn clip_segment(a: Pt, b: Pt, lo: f64, hi: f64) -> Option<(Pt, Pt)> {
    let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
    let (mut t0, mut t1) = (0.0f64, 1.0f64);
    for (p, q) in [
        (-dx, a[0] - lo),
        (dx, hi - a[0]),
        (-dy, a[1] - lo),
        (dy, hi - a[1]),
    ] {
        if p == 0.0 {
            if q < 0.0 {
                return None;
            }
        } else {
            let r = q / p;
            if p < 0.0 {
                t0 = t0.max(r);
            } else {
                t1 = t1.min(r);
            }
        }
    }
    if t0 > t1 {
        return None;
    }
    let at = |t: f64| [a[0] + t * dx, a[1] + t * dy];
    Some((
        if t0 == 0.0 { a } else { at(t0) },
        if t1 == 1.0 { b } else { at(t1) },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dataset::Val;

    fn snap_ring(pts: &[Pt]) -> Vec<IPt> {
        let mut v = Vec::new();
        snap_ring_into(pts, &mut v);
        v
    }

    /// `n` square flood zones of `side_m` metres in a grid of `step_m` from (134.0, 34.6); with
    /// `big_every` = k > 0, every k-th one (fid 1, k + 1, …) is four times larger and the
    /// others vary from 1 to 1.9 times `side_m`.
    fn squares(n: usize, side_m: f64, step_m: f64, big_every: usize) -> Layer {
        let cols = crate::dataset::DatasetId::Flood.columns();
        let per_row = (n as f64).sqrt().ceil() as usize;
        let features = (0..n)
            .map(|i| {
                let s = if big_every > 0 && i % big_every == 0 {
                    4.0 * side_m
                } else {
                    side_m * (1.0 + (i % 7) as f64 * 0.15 * (big_every as f64).min(1.0))
                };
                let (dx, dy) = (s / 91_000.0, s / 111_000.0);
                let x = 134.0 + (i % per_row) as f64 * step_m / 91_000.0;
                let y = 34.6 + (i / per_row) as f64 * step_m / 111_000.0;
                let ring = vec![(x, y), (x + dx, y), (x + dx, y + dy), (x, y + dy), (x, y)];
                let mut values = vec![Val::Null; cols.len()];
                values[0] = Val::Text("flood".into());
                values[2] = Val::Int(1 + (i % 6) as i64);
                Feature {
                    fid: i as i64 + 1,
                    values: values.into(),
                    geom: Some(Geometry::Polygon(Polygon::new(
                        LineString::from(ring),
                        vec![],
                    ))),
                    bbox: Some([x, y, x + dx, y + dy]),
                    label: Some([x + dx / 2.0, y + dy / 2.0]),
                }
            })
            .collect();
        Layer::from_features(crate::dataset::DatasetId::Flood, 1, features)
    }

    /// Ids of the features of the `flood` layer of a tile.
    fn decoded_fids(tile: &[u8]) -> Vec<u64> {
        crate::tiles::encode::tests::decode(tile)
            .into_iter()
            .filter(|l| l.0 == "flood")
            .flat_map(|l| l.3.into_iter().map(|f| f.0))
            .collect()
    }

    #[test]
    fn overview_tiles_stay_under_the_limit_by_dropping_the_smallest() {
        // 15,000 zones of 500–950 m, every tenth 2 km: at z8 one tile holds them all, over 500 KB.
        let layer = squares(15_000, 500.0, 520.0, 10);
        let coord = super::super::coord::tile_for(134.5, 35.0, 8);
        let all = render(&[&layer], coord, &RenderOptions::default(), usize::MAX);
        assert!(all.len() > MAX_TILE_BYTES, "unlimited: {} bytes", all.len());
        let t = render_layers(&[&layer], coord);
        assert!(t.len() <= MAX_TILE_BYTES, "{} bytes", t.len());
        let kept = decoded_fids(&t);
        // Smallest first: every large zone is kept, and only some of the small ones.
        let big = kept.iter().filter(|&&fid| (fid - 1) % 10 == 0).count();
        assert_eq!(big, 1_500, "{} kept", kept.len());
        assert!(
            kept.len() < 15_000 && kept.len() > 3_000,
            "{} kept",
            kept.len()
        );
        // At a city zoom nothing is dropped.
        let small = squares(400, 150.0, 160.0, 0);
        let z14 = super::super::coord::tile_for(134.005, 34.605, 14);
        let t = render_layers(&[&small], z14);
        let full = render(&[&small], z14, &RenderOptions::default(), usize::MAX);
        assert_eq!(t, full);
    }

    #[test]
    fn a_tile_drawn_largest_first_holds_what_an_unlimited_one_does_when_it_fits() {
        // 8,100 squares of 8–15 m (every 7th 32 m), all on one z14 tile: the estimate passes
        // half the limit, so the tile is drawn largest first, yet it fits, so nothing may be
        // missing or out of fid order.
        let layer = squares(8_100, 8.0, 11.0, 7);
        let coord = super::super::coord::tile_for(134.005, 34.605, 14);
        let hits = layer.query_bbox(coord.lonlat_bounds(64.0 / 4096.0)).len();
        assert_eq!(hits, 8_100);
        assert!(hits * (40 + 5 * 5 / 2) > MAX_TILE_BYTES / 2);
        let limited = render_layers(&[&layer], coord);
        let full = render(&[&layer], coord, &RenderOptions::default(), usize::MAX);
        assert!(full.len() <= MAX_TILE_BYTES, "{} bytes", full.len());
        let (a, b) = (
            crate::tiles::encode::tests::decode(&limited),
            crate::tiles::encode::tests::decode(&full),
        );
        assert_eq!(a[0].3.len(), 8_100);
        assert_eq!(a, b);
    }

    #[test]
    fn sub_pixel_polygons_and_their_labels_are_dropped() {
        // 5 m squares: invisible at z10 (a pixel is ~76 m), drawn with labels at z18.
        let layer = squares(100, 5.0, 20.0, 0);
        let z10 = super::super::coord::tile_for(134.0, 34.6, 10);
        assert!(decoded_fids(&render_layers(&[&layer], z10)).is_empty());
        let z18 = super::super::coord::tile_for(134.00001, 34.60001, 18);
        let t = render_layers(&[&layer], z18);
        assert!(!decoded_fids(&t).is_empty());
        assert!(String::from_utf8_lossy(&t).contains("flood_label"));
        assert!(!String::from_utf8_lossy(&render_layers(&[&layer], z10)).contains("flood_label"));
    }

    #[test]
    fn clip_square_against_tile() {
        let sq = [[-10.0, -10.0], [10.0, -10.0], [10.0, 10.0], [-10.0, 10.0]];
        let c = clip_ring(&sq, 0.0, 100.0);
        let s = snap_ring(&c);
        assert_eq!(area2(&s).abs(), 200); // 10 × 10, twice
    }

    #[test]
    fn lines_split_when_leaving_and_reentering() {
        let l = [[10.0, 10.0], [200.0, 10.0], [200.0, 20.0], [10.0, 20.0]];
        let parts = clip_line(&l, 0.0, 100.0);
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], vec![[10.0, 10.0], [100.0, 10.0]]);
        assert_eq!(parts[1], vec![[100.0, 20.0], [10.0, 20.0]]);
    }

    #[test]
    fn shared_edges_snap_identically() {
        // Two polygons sharing the edge (5.3,0)-(5.6,10): both keep the same snapped points.
        let a = [[0.0, 0.0], [5.3, 0.0], [5.6, 10.0], [0.0, 10.0]];
        let b = [[5.3, 0.0], [20.0, 0.0], [20.0, 10.0], [5.6, 10.0]];
        let sa = snap_ring(&a);
        let sb = snap_ring(&b);
        assert!(sa.contains(&[5, 0]) && sa.contains(&[6, 10]));
        assert!(sb.contains(&[5, 0]) && sb.contains(&[6, 10]));
        assert_eq!(area2(&sa).abs() + area2(&sb).abs(), 400);
    }
}
