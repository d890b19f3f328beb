//! The sample city's ground: coast, river, hills and the planar partition
//! from which the 町丁・字 wards are cut.
//!
//! Everything is designed in JGD2011 zone V plane metres (x = easting,
//! y = northing). The key property the rest of the generator relies on is
//! that the partition is *one planar graph*: every boundary between two cells
//! is an [`Edge`] generated exactly once and referenced by both neighbours,
//! and the coast is simply the bottom line of the graph. Wards are unions of
//! cells whose outlines are traced along those shared edges, so neighbouring
//! wards share their common boundary vertex for vertex, and the wards tile the
//! land without gaps or overlaps by construction (no floating-point clipping
//! is involved anywhere).
//!
//! Layout of the graph: `ROWS` wavy east–west lines (line 0 is the coast,
//! line `ROWS` the northern city limit) and, in each row between two lines,
//! roughly north–south edges in a brick pattern (alternate rows offset by
//! half a column), so ordinary nodes have degree 3 and the tracing of a
//! region's outline is never ambiguous. One north–south edge per row follows
//! the river (サンプル川), so wards never straddle it; the outermost edges of
//! each row are the (noisy) west and east city limits.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap};

use geo::{Area, Centroid, Contains, Coord, LineString, Polygon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::plane;

/// A plane point in metres.
pub type P = Coord<f64>;

/// Number of east–west lines minus one (rows of cells).
pub const ROWS: usize = 22;
/// Nominal spacing of the north–south edges (metres).
const COL_SPACING: f64 = 470.0;
/// Spacing of the vertices sampled along wavy lines (metres). The hazard
/// layers sample the coast on the same grid so their shore vertices coincide
/// with the wards'.
pub const LINE_STEP: f64 = 40.0;

/// Rounds a plane coordinate to the millimetre, the precision municipal GIS
/// data usually carries. Every vertex passes through here once, when it is
/// created, so shared vertices stay bitwise identical.
pub fn q(x: f64, y: f64) -> P {
    Coord {
        x: (x * 1000.0).round() / 1000.0,
        y: (y * 1000.0).round() / 1000.0,
    }
}

/// A smooth bounded wiggle: a sum of a few sines with random phases.
/// Used for the coast, the river course, band widths and so on; bounded by
/// the sum of the amplitudes, which keeps the construction provably valid.
#[derive(Debug, Clone)]
pub struct Wave {
    terms: Vec<(f64, f64, f64)>,
}

impl Wave {
    /// `specs` are (amplitude, wavelength in metres) pairs.
    pub fn new(rng: &mut StdRng, specs: &[(f64, f64)]) -> Wave {
        let terms = specs
            .iter()
            .map(|&(amp, wl)| {
                let wl = wl * rng.gen_range(0.85..1.15);
                let phase = rng.gen_range(0.0..std::f64::consts::TAU);
                (amp, std::f64::consts::TAU / wl, phase)
            })
            .collect();
        Wave { terms }
    }

    pub fn at(&self, t: f64) -> f64 {
        self.terms
            .iter()
            .map(|&(a, w, p)| a * (w * t + p).sin())
            .sum()
    }
}

/// The fixed geography of the sample city.
#[derive(Debug, Clone)]
pub struct Frame {
    /// Nominal west and east city limits (plane x).
    pub x_w: f64,
    pub x_e: f64,
    coast_base: f64,
    coast: Wave,
    north_base: f64,
    north: Wave,
    river_x0: f64,
    river: Wave,
    hill: Wave,
}

impl Frame {
    pub fn new(seed: u64) -> Frame {
        let mut rng = StdRng::seed_from_u64(seed);
        let (x_w, _) = plane::forward(133.866, 34.61);
        let (x_e, _) = plane::forward(133.974, 34.61);
        let (_, coast_base) = plane::forward(133.92, 34.570);
        let (_, north_base) = plane::forward(133.92, 34.655);
        let (river_x0, _) = plane::forward(133.921, 34.61);
        // Coast: ±0.0045° at most; slopes kept below ~0.8 so the river and
        // every band boundary cross it exactly once.
        let coast = Wave::new(&mut rng, &[(260.0, 7000.0), (120.0, 2600.0), (30.0, 800.0)]);
        let north = Wave::new(&mut rng, &[(120.0, 3500.0), (40.0, 1100.0)]);
        // River: large bends plus meanders; |dx/dy| stays below ~0.95.
        let river = Wave::new(&mut rng, &[(300.0, 6000.0), (90.0, 1500.0), (25.0, 600.0)]);
        let hill = Wave::new(&mut rng, &[(1.0, 2300.0), (0.6, 900.0)]);
        Frame {
            x_w,
            x_e,
            coast_base,
            coast,
            north_base,
            north,
            river_x0,
            river,
            hill,
        }
    }

    /// Northing of the shore at easting `x`.
    pub fn coast_y(&self, x: f64) -> f64 {
        self.coast_base + self.coast.at(x)
    }

    /// Lowest and highest possible shore northing (bounds of the wave).
    pub fn coast_range(&self) -> (f64, f64) {
        (self.coast_base - 410.0, self.coast_base + 410.0)
    }

    /// Northing of the northern city limit at easting `x`.
    pub fn north_y(&self, x: f64) -> f64 {
        self.north_base + self.north.at(x)
    }

    /// Nominal northing of the coast and of the northern limit.
    pub fn base_ys(&self) -> (f64, f64) {
        (self.coast_base, self.north_base)
    }

    /// Easting of the river centre line at northing `y`.
    pub fn river_x(&self, y: f64) -> f64 {
        self.river_x0 + self.river.at(y)
    }

    /// Relative height between coast (0) and northern limit (1).
    pub fn rel_height(&self, p: P) -> f64 {
        let c = self.coast_y(p.x);
        (p.y - c) / (self.north_y(p.x) - c)
    }

    /// A plausible ground elevation in metres: a coastal plain rising
    /// gently, hills in the north cut by the river valley.
    pub fn elevation(&self, p: P) -> f64 {
        let t = self.rel_height(p).clamp(0.0, 1.2);
        let hills = smoothstep(0.45, 1.0, t) * (180.0 + 60.0 * self.hill.at(p.x + 0.5 * p.y));
        let d = (p.x - self.river_x(p.y)).abs();
        let valley = 1.0 - 0.7 * (-(d / 700.0).powi(2)).exp();
        let plain = 0.8 + 7.0 * t + 2.5 * (1.0 - (-(d / 900.0).powi(2)).exp());
        plain + hills * valley
    }

    /// Plane metres → (longitude, latitude).
    pub fn to_lonlat(&self, p: P) -> P {
        let (lon, lat) = plane::inverse(p.x, p.y);
        Coord { x: lon, y: lat }
    }
}

/// Hermite smoothstep from 0 at `a` to 1 at `b`.
pub fn smoothstep(a: f64, b: f64, x: f64) -> f64 {
    let t = ((x - a) / (b - a)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

/// What an edge of the partition is, which decides whether a road may run
/// along it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EdgeKind {
    /// Interior east–west line.
    Line,
    /// Interior north–south edge.
    Vertical,
    /// The river centre line.
    River,
    /// The shore (line 0).
    Coast,
    /// The northern city limit.
    North,
    /// The west or east city limit.
    Boundary,
}

/// One boundary piece between two nodes, shared by the cells on its two
/// sides.
#[derive(Debug, Clone)]
pub struct Edge {
    pub a: usize,
    pub b: usize,
    /// Vertices from node `a` to node `b`, both included.
    pub pts: Vec<P>,
    pub kind: EdgeKind,
    /// Cell on the left when walking from `a` to `b`.
    pub left: Option<usize>,
    pub right: Option<usize>,
}

/// A cell: a ring of edges, counter-clockwise.
#[derive(Debug, Clone)]
pub struct Cell {
    pub row: usize,
    pub east_of_river: bool,
    /// (edge id, traversed from b to a).
    pub ring: Vec<(usize, bool)>,
    pub centre: P,
}

#[derive(Debug, Clone)]
pub struct Partition {
    pub nodes: Vec<P>,
    pub edges: Vec<Edge>,
    pub cells: Vec<Cell>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum VKind {
    Boundary,
    River,
    Interior,
}

/// One end of a north–south edge: (row, index in row, is the top end).
type EndRef = (usize, usize, bool);

#[derive(Debug, Clone, Copy)]
struct VSpec {
    xb: f64,
    xt: f64,
    kind: VKind,
}

impl Partition {
    /// Builds the cell graph over the whole land part of the city.
    pub fn build(frame: &Frame, seed: u64) -> Partition {
        let mut rng = StdRng::seed_from_u64(seed);
        let line_waves: Vec<Wave> = (0..=ROWS)
            .map(|_| Wave::new(&mut rng, &[(30.0, 2200.0), (15.0, 700.0)]))
            .collect();
        let line_y = |j: usize, x: f64| -> f64 {
            let c = frame.coast_y(x);
            if j == 0 {
                return c;
            }
            let n = frame.north_y(x);
            if j == ROWS {
                return n;
            }
            c + (n - c) * (j as f64 / ROWS as f64) + line_waves[j].at(x)
        };

        // City-limit nodes and river crossings on every line.
        let lb: Vec<f64> = (0..=ROWS)
            .map(|_| frame.x_w + rng.gen_range(-120.0..120.0))
            .collect();
        let rb: Vec<f64> = (0..=ROWS)
            .map(|_| frame.x_e + rng.gen_range(-120.0..120.0))
            .collect();
        let river_y: Vec<f64> = (0..=ROWS)
            .map(|j| {
                let y0 = line_y(j, frame.river_x0);
                bisect(y0 - 900.0, y0 + 900.0, |y| y - line_y(j, frame.river_x(y)))
            })
            .collect();
        let rv: Vec<f64> = river_y.iter().map(|&y| frame.river_x(y)).collect();

        // North–south edges of each row.
        let mut rows: Vec<Vec<VSpec>> = Vec::with_capacity(ROWS);
        for j in 0..ROWS {
            let mut vs = vec![VSpec {
                xb: lb[j],
                xt: lb[j + 1],
                kind: VKind::Boundary,
            }];
            let (mut rmin, mut rmax) = (f64::MAX, f64::MIN);
            let steps = 40;
            for s in 0..=steps {
                let y = river_y[j] + (river_y[j + 1] - river_y[j]) * s as f64 / steps as f64;
                let x = frame.river_x(y);
                rmin = rmin.min(x);
                rmax = rmax.max(x);
            }
            let left_lim = lb[j].max(lb[j + 1]) + 230.0;
            let right_lim = rb[j].min(rb[j + 1]) - 230.0;
            let offset = if j % 2 == 0 { 0.0 } else { COL_SPACING / 2.0 };
            let mut k = 0usize;
            loop {
                let xc = frame.x_w + offset + COL_SPACING * k as f64 + rng.gen_range(-50.0..50.0);
                k += 1;
                if xc > frame.x_e {
                    break;
                }
                let xb = xc + rng.gen_range(-30.0..30.0);
                let xt = xc + rng.gen_range(-30.0..30.0);
                let (lo, hi) = (xb.min(xt), xb.max(xt));
                if lo < left_lim || hi > right_lim || (hi > rmin - 230.0 && lo < rmax + 230.0) {
                    continue;
                }
                vs.push(VSpec {
                    xb,
                    xt,
                    kind: VKind::Interior,
                });
            }
            vs.push(VSpec {
                xb: rv[j],
                xt: rv[j + 1],
                kind: VKind::River,
            });
            vs.push(VSpec {
                xb: rb[j],
                xt: rb[j + 1],
                kind: VKind::Boundary,
            });
            vs.sort_by(|a, b| (a.xb + a.xt).total_cmp(&(b.xb + b.xt)));
            rows.push(vs);
        }

        // Nodes along every line, in west-to-east order.
        let mut nodes: Vec<P> = Vec::new();
        let mut line_nodes: Vec<Vec<usize>> = Vec::with_capacity(ROWS + 1);
        // bottom_pos[j][k] / top_pos[j][k]: index into line j / j+1 lists.
        let mut bottom_pos: Vec<Vec<usize>> = rows.iter().map(|r| vec![0; r.len()]).collect();
        let mut top_pos: Vec<Vec<usize>> = rows.iter().map(|r| vec![0; r.len()]).collect();
        for j in 0..=ROWS {
            // (x, the vertical ends meeting there as (row, k, is_top)).
            let mut entries: Vec<(f64, Vec<EndRef>)> = Vec::new();
            let mut add = |x: f64, r: usize, k: usize, top: bool| {
                if let Some(e) = entries.iter_mut().find(|e| e.0 == x) {
                    e.1.push((r, k, top));
                } else {
                    entries.push((x, vec![(r, k, top)]));
                }
            };
            if j > 0 {
                for (k, v) in rows[j - 1].iter().enumerate() {
                    add(v.xt, j - 1, k, true);
                }
            }
            if j < ROWS {
                for (k, v) in rows[j].iter().enumerate() {
                    add(v.xb, j, k, false);
                }
            }
            entries.sort_by(|a, b| a.0.total_cmp(&b.0));
            let mut ids = Vec::with_capacity(entries.len());
            for (pos, (x, refs)) in entries.iter().enumerate() {
                ids.push(nodes.len());
                nodes.push(q(*x, line_y(j, *x)));
                for &(r, k, top) in refs {
                    if top {
                        top_pos[r][k] = pos;
                    } else {
                        bottom_pos[r][k] = pos;
                    }
                }
            }
            line_nodes.push(ids);
        }

        // East–west edges.
        let mut edges: Vec<Edge> = Vec::new();
        let mut line_edges: Vec<Vec<usize>> = Vec::with_capacity(ROWS + 1);
        for (j, ids) in line_nodes.iter().enumerate() {
            let kind = match j {
                0 => EdgeKind::Coast,
                ROWS => EdgeKind::North,
                _ => EdgeKind::Line,
            };
            let mut list = Vec::new();
            for w in ids.windows(2) {
                let (a, b) = (w[0], w[1]);
                let (xa, xb) = (nodes[a].x, nodes[b].x);
                let mut pts = vec![nodes[a]];
                let mut g = (xa / LINE_STEP).floor() + 1.0;
                while g * LINE_STEP < xb - 8.0 {
                    let x = g * LINE_STEP;
                    if x > xa + 8.0 {
                        pts.push(q(x, line_y(j, x)));
                    }
                    g += 1.0;
                }
                pts.push(nodes[b]);
                list.push(edges.len());
                edges.push(Edge {
                    a,
                    b,
                    pts,
                    kind,
                    left: None,
                    right: None,
                });
            }
            line_edges.push(list);
        }

        // North–south edges.
        let mut vert_edges: Vec<Vec<usize>> = Vec::with_capacity(ROWS);
        for (j, vs) in rows.iter().enumerate() {
            let mut list = Vec::with_capacity(vs.len());
            for (k, v) in vs.iter().enumerate() {
                let a = line_nodes[j][bottom_pos[j][k]];
                let b = line_nodes[j + 1][top_pos[j][k]];
                let (pa, pb) = (nodes[a], nodes[b]);
                let mut pts = vec![pa];
                let kind = match v.kind {
                    VKind::River => {
                        let n = ((pb.y - pa.y) / 25.0).ceil().max(2.0) as usize;
                        for s in 1..n {
                            let y = pa.y + (pb.y - pa.y) * s as f64 / n as f64;
                            pts.push(q(frame.river_x(y), y));
                        }
                        EdgeKind::River
                    }
                    VKind::Boundary => {
                        for s in 1..7 {
                            let t = s as f64 / 7.0;
                            pts.push(q(
                                pa.x + (pb.x - pa.x) * t + rng.gen_range(-35.0..35.0),
                                pa.y + (pb.y - pa.y) * t + rng.gen_range(-10.0..10.0),
                            ));
                        }
                        EdgeKind::Boundary
                    }
                    VKind::Interior => {
                        let n = rng.gen_range(3..=4);
                        for s in 1..n {
                            let t = s as f64 / n as f64;
                            pts.push(q(
                                pa.x + (pb.x - pa.x) * t + rng.gen_range(-25.0..25.0),
                                pa.y + (pb.y - pa.y) * t,
                            ));
                        }
                        EdgeKind::Vertical
                    }
                };
                pts.push(pb);
                list.push(edges.len());
                edges.push(Edge {
                    a,
                    b,
                    pts,
                    kind,
                    left: None,
                    right: None,
                });
            }
            vert_edges.push(list);
        }

        // Cells.
        let mut cells = Vec::new();
        for (j, vs) in rows.iter().enumerate() {
            let river_k = vs
                .iter()
                .position(|v| v.kind == VKind::River)
                .expect("every row has exactly one river edge by construction");
            for k in 0..vs.len() - 1 {
                let id = cells.len();
                let mut ring = Vec::new();
                for &e in &line_edges[j][bottom_pos[j][k]..bottom_pos[j][k + 1]] {
                    ring.push((e, false));
                }
                ring.push((vert_edges[j][k + 1], false));
                for &e in line_edges[j + 1][top_pos[j][k]..top_pos[j][k + 1]]
                    .iter()
                    .rev()
                {
                    ring.push((e, true));
                }
                ring.push((vert_edges[j][k], true));
                for &(e, rev) in &ring {
                    if rev {
                        edges[e].right = Some(id);
                    } else {
                        edges[e].left = Some(id);
                    }
                }
                let poly = Polygon::new(LineString::from(ring_points(&edges, &ring)), vec![]);
                let centre = poly
                    .centroid()
                    .map(|c| c.0)
                    .expect("a cell ring is a non-degenerate polygon");
                cells.push(Cell {
                    row: j,
                    east_of_river: k >= river_k,
                    ring,
                    centre,
                });
            }
        }
        Partition {
            nodes,
            edges,
            cells,
        }
    }

    /// Cells across each edge of `c` (no duplicates, in ring order).
    pub fn neighbours(&self, c: usize) -> Vec<usize> {
        let mut out = Vec::new();
        for &(e, rev) in &self.cells[c].ring {
            let other = if rev {
                self.edges[e].left
            } else {
                self.edges[e].right
            };
            if let Some(o) = other {
                if !out.contains(&o) {
                    out.push(o);
                }
            }
        }
        out
    }

    /// Node ids on the outline of cell `c`.
    pub fn cell_nodes(&self, c: usize) -> BTreeSet<usize> {
        self.cells[c]
            .ring
            .iter()
            .flat_map(|&(e, _)| [self.edges[e].a, self.edges[e].b])
            .collect()
    }

    /// The outline of a set of cells as polygons (with holes), traced along
    /// the shared edges. `member(c)` says whether cell `c` is in the set;
    /// `cells` lists the members.
    pub fn region_polygons(&self, cells: &[usize], member: impl Fn(usize) -> bool) -> Vec<Polygon> {
        let mut half: BTreeMap<usize, (usize, bool)> = BTreeMap::new();
        for &c in cells {
            for &(e, rev) in &self.cells[c].ring {
                let edge = &self.edges[e];
                let other = if rev { edge.left } else { edge.right };
                if other.is_none_or(|o| !member(o)) {
                    let start = if rev { edge.b } else { edge.a };
                    let dup = half.insert(start, (e, rev));
                    assert!(dup.is_none(), "pinch node {start} in a region outline");
                }
            }
        }
        let mut rings: Vec<Vec<P>> = Vec::new();
        while let Some((&start, _)) = half.iter().next() {
            let mut ring_edges = Vec::new();
            let mut node = start;
            while let Some((e, rev)) = half.remove(&node) {
                ring_edges.push((e, rev));
                let edge = &self.edges[e];
                node = if rev { edge.a } else { edge.b };
            }
            assert_eq!(node, start, "region outline does not close");
            rings.push(ring_points(&self.edges, &ring_edges));
        }
        assemble(rings)
    }
}

/// Groups closed rings into polygons: counter-clockwise rings are shells,
/// clockwise rings are holes of the shell that contains them.
pub fn assemble(rings: Vec<Vec<P>>) -> Vec<Polygon> {
    let mut shells: Vec<(LineString, Vec<LineString>)> = Vec::new();
    let mut holes: Vec<LineString> = Vec::new();
    for r in rings {
        if signed_area(&r) > 0.0 {
            shells.push((LineString::from(r), Vec::new()));
        } else {
            holes.push(LineString::from(r));
        }
    }
    for h in holes {
        let probe = h.0[0];
        let idx = shells
            .iter()
            .position(|(s, _)| Polygon::new(s.clone(), vec![]).contains(&probe))
            .expect("every hole of a region lies inside one of its shells");
        shells[idx].1.push(h);
    }
    let mut polys: Vec<Polygon> = shells
        .into_iter()
        .map(|(s, h)| Polygon::new(s, h))
        .collect();
    polys.sort_by(|a, b| b.unsigned_area().total_cmp(&a.unsigned_area()));
    polys
}

/// Concatenates the vertex lists of a chain of edges into a closed ring.
pub fn ring_points(edges: &[Edge], ring: &[(usize, bool)]) -> Vec<P> {
    let mut pts: Vec<P> = Vec::new();
    for &(e, rev) in ring {
        let src = &edges[e].pts;
        let iter: Box<dyn Iterator<Item = &P>> = if rev {
            Box::new(src.iter().rev())
        } else {
            Box::new(src.iter())
        };
        for (i, p) in iter.enumerate() {
            if i == 0 && !pts.is_empty() {
                continue;
            }
            pts.push(*p);
        }
    }
    if pts.first() != pts.last() {
        pts.push(pts[0]);
    }
    pts
}

/// Shoelace signed area (positive = counter-clockwise) of a closed ring.
pub fn signed_area(r: &[P]) -> f64 {
    r.windows(2)
        .map(|w| w[0].x * w[1].y - w[1].x * w[0].y)
        .sum::<f64>()
        / 2.0
}

/// Root of a monotone function by bisection on [lo, hi].
pub fn bisect(mut lo: f64, mut hi: f64, f: impl Fn(f64) -> f64) -> f64 {
    let flo = f(lo);
    for _ in 0..80 {
        let mid = 0.5 * (lo + hi);
        if (f(mid) > 0.0) == (flo > 0.0) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

/// The cell → ward assignment and the extra island parts.
#[derive(Debug, Clone)]
pub struct WardLayout {
    /// Ward index of each cell.
    pub owner: Vec<usize>,
    /// Number of wards.
    pub count: usize,
    /// Islands: (ward, polygon). Each is a second part of a coastal ward.
    pub islands: Vec<(usize, Polygon)>,
}

/// Grows about 150 wards over the cells: seeds spaced more closely in the
/// town near the coast than in the hills, then a randomly weighted
/// shortest-path growth (a Voronoi-like partition on the cell graph) that
/// never crosses the river. Finally three cells become exclaves of a nearby
/// ward and three coastal wards get a small island.
pub fn layout_wards(part: &Partition, frame: &Frame, seed: u64) -> WardLayout {
    let mut rng = StdRng::seed_from_u64(seed);
    let n = part.cells.len();
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.gen_range(0..=i));
    }
    let spacing = |c: usize| {
        let t = frame.rel_height(part.cells[c].centre);
        0.55 + 1.6 * smoothstep(0.3, 1.0, t)
    };
    let pick = |k: f64| -> Vec<usize> {
        let mut seeds: Vec<usize> = Vec::new();
        for &c in &order {
            let pc = part.cells[c].centre;
            let r = k * spacing(c);
            if seeds.iter().all(|&s| {
                let ps = part.cells[s].centre;
                ((pc.x - ps.x).powi(2) + (pc.y - ps.y).powi(2)).sqrt() >= r
            }) {
                seeds.push(c);
            }
        }
        seeds
    };
    // Binary search the spacing scale for ~150 seeds.
    let (mut lo, mut hi) = (100.0, 3000.0);
    let mut seeds = pick(hi);
    for _ in 0..40 {
        let mid = 0.5 * (lo + hi);
        seeds = pick(mid);
        if seeds.len() == 150 {
            break;
        }
        if seeds.len() > 150 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    // Wards are numbered south to north, west to east by their seed.
    seeds.sort_by(|&a, &b| {
        let (pa, pb) = (part.cells[a].centre, part.cells[b].centre);
        (pa.y.round(), pa.x)
            .partial_cmp(&(pb.y.round(), pb.x))
            .expect("finite")
    });

    let edge_w: Vec<f64> = part.edges.iter().map(|_| rng.gen_range(0.7..1.3)).collect();
    let mut dist = vec![f64::INFINITY; n];
    let mut owner = vec![usize::MAX; n];
    let mut heap = BinaryHeap::new();
    for (w, &s) in seeds.iter().enumerate() {
        dist[s] = 0.0;
        owner[s] = w;
        heap.push(std::cmp::Reverse((0u64, s, w)));
    }
    while let Some(std::cmp::Reverse((dbits, c, w))) = heap.pop() {
        let d = f64::from_bits(dbits);
        if d > dist[c] || owner[c] != w {
            continue;
        }
        for &(e, rev) in &part.cells[c].ring {
            let edge = &part.edges[e];
            let Some(o) = (if rev { edge.left } else { edge.right }) else {
                continue;
            };
            if part.cells[o].east_of_river != part.cells[c].east_of_river {
                continue;
            }
            let (pc, po) = (part.cells[c].centre, part.cells[o].centre);
            let nd = d + ((pc.x - po.x).powi(2) + (pc.y - po.y).powi(2)).sqrt() * edge_w[e];
            if nd < dist[o] {
                dist[o] = nd;
                owner[o] = w;
                heap.push(std::cmp::Reverse((nd.to_bits(), o, w)));
            }
        }
    }
    assert!(
        owner.iter().all(|&o| o != usize::MAX),
        "every cell reached by growth"
    );
    let count = seeds.len();

    // Exclaves: move a cell to a ward two steps away that touches it
    // nowhere, keeping the donor connected.
    let mut used: BTreeSet<usize> = BTreeSet::new();
    let mut exclaves = 0;
    for &c in &order {
        if exclaves == 3 {
            break;
        }
        let a = owner[c];
        if used.contains(&a) || part.cells[c].row == 0 {
            continue;
        }
        let a_cells: Vec<usize> = (0..n).filter(|&x| owner[x] == a && x != c).collect();
        if a_cells.len() < 2 || !connected(part, &a_cells, |x| owner[x] == a && x != c) {
            continue;
        }
        let nb = part.neighbours(c);
        let c_nodes = part.cell_nodes(c);
        let mut cands: BTreeSet<usize> = BTreeSet::new();
        for &m in &nb {
            for o in part.neighbours(m) {
                cands.insert(owner[o]);
            }
        }
        let target = cands.into_iter().find(|&b| {
            b != a
                && !used.contains(&b)
                && nb.iter().all(|&m| owner[m] != b)
                && (0..n)
                    .filter(|&x| owner[x] == b)
                    .all(|x| part.cell_nodes(x).is_disjoint(&c_nodes))
        });
        if let Some(b) = target {
            owner[c] = b;
            used.insert(a);
            used.insert(b);
            exclaves += 1;
        }
    }

    // Islands off the shore of three coastal wards.
    let mut islands = Vec::new();
    let coastal: Vec<(usize, f64)> = part
        .edges
        .iter()
        .filter(|e| e.kind == EdgeKind::Coast)
        .filter_map(|e| {
            e.left
                .map(|c| (c, 0.5 * (e.pts[0].x + e.pts[e.pts.len() - 1].x)))
        })
        .collect();
    let river_mouth = frame.river_x(frame.base_ys().0);
    let mut picks: Vec<usize> = (0..coastal.len()).collect();
    for i in (1..picks.len()).rev() {
        picks.swap(i, rng.gen_range(0..=i));
    }
    for ci in picks {
        if islands.len() == 3 {
            break;
        }
        let (c, xm) = coastal[ci];
        let w = owner[c];
        if used.contains(&w) || (xm - river_mouth).abs() < 800.0 {
            continue;
        }
        let r0 = rng.gen_range(60.0..130.0);
        let mut lowest = f64::MAX;
        let mut x = xm - 3.0 * r0;
        while x <= xm + 3.0 * r0 {
            lowest = lowest.min(frame.coast_y(x));
            x += 10.0;
        }
        let centre = Coord {
            x: xm,
            y: lowest - 2.0 * r0 - rng.gen_range(80.0..250.0),
        };
        let wave = Wave::new(&mut rng, &[(0.18, 1.0), (0.08, 0.45)]);
        let nv = rng.gen_range(18..30);
        let mut ring: Vec<P> = (0..nv)
            .map(|i| {
                let th = std::f64::consts::TAU * i as f64 / nv as f64;
                let r = r0 * (1.0 + wave.at(th * 1.3) * 0.9);
                q(centre.x + r * th.cos() * 1.3, centre.y + r * th.sin())
            })
            .collect();
        ring.push(ring[0]);
        islands.push((w, Polygon::new(LineString::from(ring), vec![])));
        used.insert(w);
    }
    WardLayout {
        owner,
        count,
        islands,
    }
}

/// Whether `cells` form one edge-connected group.
fn connected(part: &Partition, cells: &[usize], member: impl Fn(usize) -> bool) -> bool {
    let Some(&first) = cells.first() else {
        return true;
    };
    let mut seen: BTreeSet<usize> = BTreeSet::new();
    let mut stack = vec![first];
    seen.insert(first);
    while let Some(c) = stack.pop() {
        for o in part.neighbours(c) {
            if member(o) && seen.insert(o) {
                stack.push(o);
            }
        }
    }
    seen.len() == cells.len()
}
