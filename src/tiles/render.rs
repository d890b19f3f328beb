//! Features to a Mapbox Vector Tile (spec 2.1): project to tile space, clip to the tile plus a
//! buffer, simplify by snapping to the tile's integer grid, drop what is smaller than a pixel,
//! fix winding, encode.
//!
//! Simplification is grid snapping on purpose: two wards (or two depth bands) that share an edge
//! share its vertices, and the same vertex always snaps to the same grid point, so shared edges
//! stay identical at every zoom — no gaps, no slivers. Line simplification algorithms that look
//! at a ring's own neighbours (Douglas–Peucker, Visvalingam) cannot promise that.

use super::coord::{lonlat_to_merc, TileCoord};
use crate::dataset::Val;
use crate::index::{Feature, Layer};
use geo::{Geometry, LineString, Polygon};
use mvt::{GeomEncoder, GeomType, Tile};

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

/// One source-layer of a tile.
#[derive(Debug)]
pub struct LayerRef<'a> {
    /// The published layer.
    pub layer: &'a Layer,
    /// Source-layer name (the dataset id).
    pub name: String,
    /// Also emit a `{name}_label` point layer with one point inside each polygon.
    pub labels: bool,
}

/// Largest tile [`render_layers`] produces, uncompressed. Past it, polygons are dropped
/// smallest first: a low-zoom overview of a million small zones cannot show each one, and a
/// phone should not download megabytes for it (tippecanoe's default limit is the same).
pub const MAX_TILE_BYTES: usize = 500 * 1024;

/// Render published layers as the server and the PMTiles export do: one source-layer per
/// dataset, named by its id, plus a label-point layer for wards and hazard polygons.
///
/// If the tile would exceed [`MAX_TILE_BYTES`], it is rendered again with the smallest
/// polygon kept twice as large, until it fits. Tiles at city zooms are far below the
/// limit, so only overview zooms of very large layers ever lose features.
pub fn render_layers(layers: &[&crate::index::Layer], coord: TileCoord) -> Vec<u8> {
    let mut o = RenderOptions::default();
    loop {
        let t = render_layers_with(layers, coord, &o);
        // 2^24 units² is the whole tile: past that only the tile-sized polygons are left.
        if t.len() <= MAX_TILE_BYTES || o.min_area >= f64::from(1u32 << 24) {
            return t;
        }
        o.min_area *= 2.0;
    }
}

fn render_layers_with(
    layers: &[&crate::index::Layer],
    coord: TileCoord,
    o: &RenderOptions,
) -> Vec<u8> {
    let refs: Vec<LayerRef<'_>> = layers
        .iter()
        .map(|l| LayerRef {
            layer: l,
            name: l.dataset.to_string(),
            labels: matches!(
                l.dataset.kind(),
                crate::dataset::Kind::Ward | crate::dataset::Kind::Hazard
            ),
        })
        .collect();
    render_tile(&refs, coord, o)
}

/// Render the features of `layers` that touch `coord` into an uncompressed MVT.
pub fn render_tile(layers: &[LayerRef<'_>], coord: TileCoord, o: &RenderOptions) -> Vec<u8> {
    let mut tile = Tile::new(o.extent);
    let [x0, y0, x1, y1] = coord.merc_bounds();
    let scale = f64::from(o.extent) / (x1 - x0);
    let to_tile = |lon: f64, lat: f64| -> [f64; 2] {
        let (mx, my) = lonlat_to_merc(lon, lat);
        [(mx - x0) * scale, (y1 - my) * scale]
    };
    let _ = y0;
    let lo = -f64::from(o.buffer);
    let hi = f64::from(o.extent + o.buffer);
    let query = coord.lonlat_bounds(f64::from(o.buffer) / f64::from(o.extent));
    for lr in layers {
        let cols = lr.layer.columns();
        let hits = lr.layer.query_bbox(query);
        let mut layer = tile.create_layer(&lr.name);
        let mut labels = lr
            .labels
            .then(|| tile.create_layer(&format!("{}_label", lr.name)));
        for i in hits {
            let f = &lr.layer.features[i as usize];
            let Some(g) = &f.geom else { continue };
            let polygonal = matches!(g, Geometry::Polygon(_) | Geometry::MultiPolygon(_));
            // A polygon whose bounding box is below a pixel is dropped before any vertex is
            // projected: at low zooms that is most of a large layer.
            if polygonal && f.bbox.is_some_and(|b| sub_pixel(b, &to_tile, o.min_area)) {
                continue;
            }
            let drawn = match encode_geometry(g, &to_tile, lo, hi, o) {
                Some(data) => {
                    let mut feat = layer.into_feature(data);
                    feat.set_id(f.fid as u64);
                    add_tags(&mut feat, cols, f);
                    layer = feat.into_layer();
                    true
                }
                None => false,
            };
            // No label for a polygon that was not drawn (dropped as sub-pixel).
            if polygonal && !drawn {
                continue;
            }
            if let (Some(ll), Some([lx, ly])) = (labels.take(), f.label) {
                let [tx, ty] = to_tile(lx, ly);
                let inside = (0.0..f64::from(o.extent)).contains(&tx)
                    && (0.0..f64::from(o.extent)).contains(&ty);
                let enc = GeomEncoder::<i32>::new(GeomType::Point)
                    .point(tx.round() as i32, ty.round() as i32)
                    .and_then(GeomEncoder::encode);
                labels = Some(match (inside, enc) {
                    (true, Ok(d)) => {
                        let mut feat = ll.into_feature(d);
                        feat.set_id(f.fid as u64);
                        add_tags(&mut feat, cols, f);
                        feat.into_layer()
                    }
                    _ => ll,
                });
            }
        }
        if layer.num_features() > 0 {
            let _ = tile.add_layer(layer);
        }
        if let Some(ll) = labels {
            if ll.num_features() > 0 {
                let _ = tile.add_layer(ll);
            }
        }
    }
    tile.to_bytes().unwrap_or_default()
}

/// True when a polygon with lon/lat bounding box `b` cannot reach `min_area` in tile units even
/// after snapping (each vertex moves at most half a unit, so the snapped ring fits in the box
/// grown by one unit).
fn sub_pixel(b: [f64; 4], to_tile: &dyn Fn(f64, f64) -> Pt, min_area: f64) -> bool {
    let [x0, y0] = to_tile(b[0], b[3]);
    let [x1, y1] = to_tile(b[2], b[1]);
    ((x1 - x0).abs() + 1.0) * ((y1 - y0).abs() + 1.0) < min_area
}

fn add_tags(feat: &mut mvt::Feature, cols: &[crate::dataset::Column], f: &Feature) {
    for (c, v) in cols.iter().zip(&f.values) {
        match v {
            Val::Null => {}
            Val::Text(s) => feat.add_tag_string(c.name, s),
            Val::Int(i) => feat.add_tag_int(c.name, *i),
            Val::Float(x) => feat.add_tag_double(c.name, *x),
            Val::Bool(b) => feat.add_tag_bool(c.name, *b),
        }
    }
}

type Pt = [f64; 2];
type IPt = [i32; 2];

fn encode_geometry(
    g: &Geometry<f64>,
    to_tile: &dyn Fn(f64, f64) -> Pt,
    lo: f64,
    hi: f64,
    o: &RenderOptions,
) -> Option<mvt::GeomData> {
    match g {
        Geometry::Point(p) => encode_points(&[to_tile(p.x(), p.y())], lo, hi),
        Geometry::MultiPoint(mp) => {
            let pts: Vec<Pt> = mp.0.iter().map(|p| to_tile(p.x(), p.y())).collect();
            encode_points(&pts, lo, hi)
        }
        Geometry::LineString(l) => encode_lines(std::slice::from_ref(l), to_tile, lo, hi),
        Geometry::MultiLineString(ml) => encode_lines(&ml.0, to_tile, lo, hi),
        Geometry::Polygon(p) => encode_polygons(std::slice::from_ref(p), to_tile, lo, hi, o),
        Geometry::MultiPolygon(mp) => encode_polygons(&mp.0, to_tile, lo, hi, o),
        _ => None,
    }
}

fn encode_points(pts: &[Pt], lo: f64, hi: f64) -> Option<mvt::GeomData> {
    let mut enc = GeomEncoder::<i32>::new(GeomType::Point);
    let mut n = 0;
    for p in pts {
        if p[0] >= lo && p[0] < hi && p[1] >= lo && p[1] < hi {
            enc.add_point(p[0].round() as i32, p[1].round() as i32)
                .ok()?;
            n += 1;
        }
    }
    if n == 0 {
        return None;
    }
    enc.encode().ok()
}

fn encode_lines(
    lines: &[LineString<f64>],
    to_tile: &dyn Fn(f64, f64) -> Pt,
    lo: f64,
    hi: f64,
) -> Option<mvt::GeomData> {
    let mut enc = GeomEncoder::<i32>::new(GeomType::Linestring);
    let mut parts = 0;
    for l in lines {
        let pts: Vec<Pt> = l.0.iter().map(|c| to_tile(c.x, c.y)).collect();
        for part in clip_line(&pts, lo, hi) {
            let snapped = snap_line(&part);
            if snapped.len() < 2 {
                continue;
            }
            for p in &snapped {
                enc.add_point(p[0], p[1]).ok()?;
            }
            enc.complete_geom().ok()?;
            parts += 1;
        }
    }
    if parts == 0 {
        return None;
    }
    enc.encode().ok()
}

fn encode_polygons(
    polys: &[Polygon<f64>],
    to_tile: &dyn Fn(f64, f64) -> Pt,
    lo: f64,
    hi: f64,
    o: &RenderOptions,
) -> Option<mvt::GeomData> {
    let mut enc = GeomEncoder::<i32>::new(GeomType::Polygon);
    let mut rings = 0;
    for p in polys {
        let Some(ext) = tile_ring(p.exterior(), to_tile, lo, hi) else {
            continue;
        };
        let area = area2(&ext);
        if (area.abs() as f64) / 2.0 < o.min_area {
            continue; // sub-pixel: dropped
        }
        // MVT: exterior rings have positive area in tile coordinates (y down).
        emit_ring(&mut enc, &ext, area > 0)?;
        rings += 1;
        for h in p.interiors() {
            let Some(hole) = tile_ring(h, to_tile, lo, hi) else {
                continue;
            };
            let a = area2(&hole);
            if (a.abs() as f64) / 2.0 < 1.0 {
                continue;
            }
            emit_ring(&mut enc, &hole, a < 0)?;
        }
    }
    if rings == 0 {
        return None;
    }
    enc.encode().ok()
}

fn emit_ring(enc: &mut GeomEncoder<i32>, ring: &[IPt], forward: bool) -> Option<()> {
    if forward {
        for p in ring {
            enc.add_point(p[0], p[1]).ok()?;
        }
    } else {
        for p in ring.iter().rev() {
            enc.add_point(p[0], p[1]).ok()?;
        }
    }
    enc.complete_geom().ok()
}

/// Project, clip and snap one ring; `None` when fewer than 3 distinct points remain.
fn tile_ring(
    r: &LineString<f64>,
    to_tile: &dyn Fn(f64, f64) -> Pt,
    lo: f64,
    hi: f64,
) -> Option<Vec<IPt>> {
    let mut pts: Vec<Pt> = r.0.iter().map(|c| to_tile(c.x, c.y)).collect();
    if pts.len() > 1 && pts.first() == pts.last() {
        pts.pop();
    }
    let inside = pts
        .iter()
        .all(|p| p[0] >= lo && p[0] <= hi && p[1] >= lo && p[1] <= hi);
    let clipped = if inside { pts } else { clip_ring(&pts, lo, hi) };
    let snapped = snap_ring(&clipped);
    (snapped.len() >= 3).then_some(snapped)
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

fn snap_ring(pts: &[Pt]) -> Vec<IPt> {
    let mut out: Vec<IPt> = Vec::with_capacity(pts.len());
    for p in pts {
        let q = [p[0].round() as i32, p[1].round() as i32];
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    while out.len() > 1 && out.first() == out.last() {
        out.pop();
    }
    out
}

fn snap_line(pts: &[Pt]) -> Vec<IPt> {
    let mut out: Vec<IPt> = Vec::with_capacity(pts.len());
    for p in pts {
        let q = [p[0].round() as i32, p[1].round() as i32];
        if out.last() != Some(&q) {
            out.push(q);
        }
    }
    out
}

/// Sutherland–Hodgman clipping of a ring (without its closing point) to the square [lo, hi]².
pub fn clip_ring(pts: &[Pt], lo: f64, hi: f64) -> Vec<Pt> {
    let mut input: Vec<Pt> = pts.to_vec();
    // (axis, bound, keep >= bound?)
    for (axis, bound, keep_ge) in [
        (0usize, lo, true),
        (0, hi, false),
        (1, lo, true),
        (1, hi, false),
    ] {
        if input.is_empty() {
            break;
        }
        let inside = |p: &Pt| {
            if keep_ge {
                p[axis] >= bound
            } else {
                p[axis] <= bound
            }
        };
        let mut out = Vec::with_capacity(input.len() + 4);
        let n = input.len();
        for i in 0..n {
            let cur = input[i];
            let prev = input[(i + n - 1) % n];
            let (ci, pi) = (inside(&cur), inside(&prev));
            if ci {
                if !pi {
                    out.push(intersect(prev, cur, axis, bound));
                }
                out.push(cur);
            } else if pi {
                out.push(intersect(prev, cur, axis, bound));
            }
        }
        input = out;
    }
    input
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
                    values,
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

    fn decoded_fids(tile: &[u8]) -> Vec<u64> {
        // The MVT feature id is field 1 of a feature (field 2 of a layer, field 3 of a tile):
        // count them by decoding just enough protobuf.
        fn varint(b: &[u8], i: &mut usize) -> u64 {
            crate::tiles::pmtiles::read_varint(b, i).expect("a whole varint")
        }
        fn fields(b: &[u8]) -> Vec<(u64, Result<&[u8], u64>)> {
            let mut out = Vec::new();
            let mut i = 0;
            while i < b.len() {
                let key = varint(b, &mut i);
                match key & 7 {
                    0 => out.push((key >> 3, Err(varint(b, &mut i)))),
                    2 => {
                        let n = varint(b, &mut i) as usize;
                        out.push((key >> 3, Ok(&b[i..i + n])));
                        i += n;
                    }
                    1 => i += 8,
                    5 => i += 4,
                    _ => break,
                }
            }
            out
        }
        let mut ids = Vec::new();
        for (f, layer) in fields(tile) {
            let (3, Ok(layer)) = (f, layer) else { continue };
            let name = fields(layer).into_iter().find(|(f, _)| *f == 1);
            if !matches!(name, Some((1, Ok(b"flood")))) {
                continue;
            }
            for (f, feat) in fields(layer) {
                if let (2, Ok(feat)) = (f, feat) {
                    for (f, v) in fields(feat) {
                        if let (1, Err(id)) = (f, v) {
                            ids.push(id);
                        }
                    }
                }
            }
        }
        ids
    }

    #[test]
    fn overview_tiles_stay_under_the_limit_by_dropping_the_smallest() {
        // 15,000 zones of 500–950 m, every tenth 2 km: at z8 one tile holds them all, over 500 KB.
        let layer = squares(15_000, 500.0, 520.0, 10);
        let coord = super::super::coord::tile_for(134.5, 35.0, 8);
        let all = render_layers_with(&[&layer], coord, &RenderOptions::default());
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
        let full = render_layers_with(&[&small], z14, &RenderOptions::default());
        assert_eq!(t, full);
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
