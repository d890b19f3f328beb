//! 市道 routes for the 道路台帳 調書 (CSV) and its line geometry.
//!
//! Roads run along the interior edges of the ward partition (never along
//! the river, the shore or the city limits), which makes a plausible grid
//! network that crosses the river on the east–west lines (bridges). Each
//! edge carries at most one route, so 実延長 (which excludes overlaps) is
//! simply the length of the geometry.

use std::collections::BTreeSet;

use geo::{Euclidean, Length, LineString};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::geometry::{EdgeKind, P};
use super::names::{fullwidth_digits, wareki};
use super::wards::City;

/// One certified route.
#[derive(Debug, Clone)]
pub struct Route {
    /// 路線番号, e.g. `1-03`, `3-112`.
    pub number: String,
    /// 路線名, e.g. 市道桜台川端町線.
    pub name: String,
    /// 1 (1級), 2 (2級) or 3 (その他).
    pub class: u8,
    /// Plane polylines (one for a LineString, more for a MultiLineString).
    pub parts: Vec<LineString>,
    /// 実延長 as recorded in the ledger (deliberately off for two routes).
    pub recorded: i64,
    /// 幅員 in metres.
    pub width: f64,
    pub start: String,
    pub end: String,
    /// 認定年月日 as written in the ledger (mostly ISO, some 和暦).
    pub certified: String,
    pub note: String,
}

impl Route {
    pub fn class_label(&self) -> &'static str {
        match self.class {
            1 => "1級",
            2 => "2級",
            _ => "その他",
        }
    }
}

type RouteSpec = (u8, P, (f64, f64), f64, bool);

struct Graph {
    adj: Vec<Vec<usize>>,
}

/// Builds 40 routes: 8 × 1級, 12 × 2級, 20 × その他.
pub fn build(city: &City, seed: u64) -> Vec<Route> {
    let mut rng = StdRng::seed_from_u64(seed);
    let part = &city.part;
    let mut adj = vec![Vec::new(); part.nodes.len()];
    for (i, e) in part.edges.iter().enumerate() {
        if matches!(e.kind, EdgeKind::Line | EdgeKind::Vertical) {
            adj[e.a].push(i);
            adj[e.b].push(i);
        }
    }
    let graph = Graph { adj };
    let mut used = vec![false; part.edges.len()];
    let frame = &city.frame;
    let (c0, n0) = frame.base_ys();
    let span = n0 - c0;

    // Start nodes: interior nodes with at least one road edge.
    let road_nodes: Vec<usize> = (0..part.nodes.len())
        .filter(|&n| graph.adj[n].len() >= 2)
        .collect();
    let nearest = |target: P, used: &[bool]| -> usize {
        *road_nodes
            .iter()
            .filter(|&&n| graph.adj[n].iter().any(|&e| !used[e]))
            .min_by(|&&a, &&b| {
                let da = (part.nodes[a].x - target.x).hypot(part.nodes[a].y - target.y);
                let db = (part.nodes[b].x - target.x).hypot(part.nodes[b].y - target.y);
                da.total_cmp(&db)
            })
            .expect("the road graph has free nodes")
    };

    // (class, near where to start, direction, target length, two parts).
    let mut specs: Vec<RouteSpec> = Vec::new();
    // 1級: four east–west arterials, four north–south.
    for (i, t) in [0.08, 0.24, 0.4, 0.58].iter().enumerate() {
        let y = c0 + span * t;
        specs.push((
            1,
            P {
                x: frame.x_w + 300.0,
                y,
            },
            (1.0, 0.0),
            9000.0 - 800.0 * i as f64,
            false,
        ));
    }
    for f in [0.18, 0.38, 0.62, 0.82] {
        let x = frame.x_w + (frame.x_e - frame.x_w) * f;
        specs.push((1, P { x, y: c0 + 300.0 }, (0.0, 1.0), 6500.0, false));
    }
    let dirs = [(1.0, 0.0), (-1.0, 0.0), (0.0, 1.0), (0.0, -1.0)];
    for i in 0..12 {
        let p = P {
            x: rng.gen_range(frame.x_w + 600.0..frame.x_e - 600.0),
            y: c0 + span * rng.gen_range(0.05..0.6),
        };
        specs.push((2, p, dirs[i % 4], rng.gen_range(1800.0..3500.0), false));
    }
    for i in 0..20 {
        let p = P {
            x: rng.gen_range(frame.x_w + 500.0..frame.x_e - 500.0),
            y: c0 + span * rng.gen_range(0.05..0.8),
        };
        specs.push((
            3,
            p,
            dirs[(i + 1) % 4],
            rng.gen_range(350.0..1300.0),
            i % 7 == 2,
        ));
    }

    let mut routes = Vec::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    let mut counters = [0usize; 3];
    for (idx, (class, at, dir, target, multi)) in specs.into_iter().enumerate() {
        // Retry from points around the intended start until the walk gets
        // a reasonable length (the nearest node may be boxed in).
        let mut attempt = 0usize;
        let (mut path, start) = loop {
            let a = attempt as f64;
            let at2 = P {
                x: at.x + 150.0 * a * (1.7 * a).cos(),
                y: at.y + 150.0 * a * (1.7 * a).sin(),
            };
            let start = nearest(at2, &used);
            let mut trial = used.clone();
            let (p, len) = walk(city, &graph, &mut trial, start, dir, target, &mut rng);
            if !p.is_empty() && (len >= 0.5 * target || attempt >= 30) {
                used = trial;
                break (p, start);
            }
            attempt += 1;
            assert!(attempt < 200, "no room for another road");
        };
        let mut parts = vec![path_line(city, &path)];
        if multi {
            // A second, disconnected section (a gap where the road is not
            // yet built): restart two edges further on.
            let end_node = path.last().map(|&(_, n)| n).unwrap_or(start);
            let p = part.nodes[end_node];
            let p2 = P {
                x: p.x + dir.0 * 450.0,
                y: p.y + dir.1 * 450.0,
            };
            let s2 = nearest(p2, &used);
            let (more, _) = walk(city, &graph, &mut used, s2, dir, target * 0.6, &mut rng);
            if !more.is_empty() {
                parts.push(path_line(city, &more));
                path.extend(more);
            }
        }
        let length: f64 = parts.iter().map(|l| Euclidean.length(l)).sum();
        let first_cell = |e: usize| {
            let edge = &part.edges[e];
            edge.left.or(edge.right).expect("road edges are interior")
        };
        let (e0, _) = path[0];
        let (e1, _) = path[path.len() - 1];
        let w0 = city.cell_ward[first_cell(e0)];
        let w1 = city.cell_ward[first_cell(e1)];
        let (b0, b1) = (city.wards[w0].base.kanji, city.wards[w1].base.kanji);
        let mut name = if b0 == b1 {
            format!("市道{b0}線")
        } else {
            format!("市道{b0}{b1}線")
        };
        let mut k = 2;
        while names.contains(&name) {
            name = format!("市道{b0}{k}号線");
            k += 1;
        }
        names.insert(name.clone());
        let ci = class as usize - 1;
        counters[ci] += 1;
        let number = match class {
            1 => format!("1-{:02}", counters[ci]),
            2 => format!("2-{:02}", counters[ci]),
            _ => format!("3-{}", 100 + counters[ci]),
        };
        let width = match class {
            1 => rng.gen_range(9.0..16.0f64),
            2 => rng.gen_range(6.0..9.5),
            _ => rng.gen_range(3.5..6.0),
        };
        let factor = match idx {
            5 => 1.10,
            27 => 0.90,
            _ => 1.0,
        };
        let (y, m, d) = (
            rng.gen_range(1962..=2022),
            rng.gen_range(1..=12u32),
            rng.gen_range(1..=28u32),
        );
        let certified = match idx {
            2 | 9 | 21 | 33 => wareki(y, m, d),
            17 => fullwidth_digits(&wareki(y, m, d)),
            _ => format!("{y:04}-{m:02}-{d:02}"),
        };
        let note = match idx {
            3 => "歩道設置済,一部区間は県道と重複".to_string(),
            11 => "通称\"浜通り\"".to_string(),
            14 => "起点側200m未改良\n(令和8年度改良予定)".to_string(),
            25 => "橋梁を含む(サンプル橋 L=86m)".to_string(),
            _ if parts.len() > 1 => "一部未供用区間あり".to_string(),
            _ => String::new(),
        };
        routes.push(Route {
            number,
            name,
            class,
            recorded: (length * factor).round() as i64,
            width: (width * 10.0).round() / 10.0,
            start: format!(
                "サンプル市{}{}番",
                city.wards[w0].name,
                rng.gen_range(1..=60)
            ),
            end: format!(
                "サンプル市{}{}番",
                city.wards[w1].name,
                rng.gen_range(1..=60)
            ),
            parts,
            certified,
            note,
        });
    }
    routes
}

/// A random walk on unused road edges that keeps roughly to `dir` and never
/// revisits a node. Returns the (edge, node reached) steps and the length.
fn walk(
    city: &City,
    g: &Graph,
    used: &mut [bool],
    start: usize,
    dir: (f64, f64),
    target: f64,
    rng: &mut StdRng,
) -> (Vec<(usize, usize)>, f64) {
    let part = &city.part;
    let mut visited: BTreeSet<usize> = BTreeSet::new();
    visited.insert(start);
    let mut node = start;
    let mut len = 0.0;
    let mut path = Vec::new();
    while len < target {
        let here = part.nodes[node];
        let mut best: Option<(f64, usize, usize)> = None;
        for &e in &g.adj[node] {
            let edge = &part.edges[e];
            let other = if edge.a == node { edge.b } else { edge.a };
            if used[e] || visited.contains(&other) {
                continue;
            }
            let p = part.nodes[other];
            let (dx, dy) = (p.x - here.x, p.y - here.y);
            let l = dx.hypot(dy).max(1e-9);
            let dot = (dx * dir.0 + dy * dir.1) / l;
            if dot < -0.1 {
                continue;
            }
            let score = dot + rng.gen_range(0.0..0.35);
            if best.is_none_or(|(s, _, _)| score > s) {
                best = Some((score, e, other));
            }
        }
        let Some((_, e, other)) = best else {
            break;
        };
        used[e] = true;
        visited.insert(other);
        len += Euclidean.length(&LineString::from(part.edges[e].pts.clone()));
        path.push((e, other));
        node = other;
    }
    (path, len)
}

/// Concatenates the edge vertices of a walk into one polyline.
fn path_line(city: &City, path: &[(usize, usize)]) -> LineString {
    let part = &city.part;
    let mut pts: Vec<P> = Vec::new();
    for &(e, to) in path {
        let edge = &part.edges[e];
        let fwd = edge.b == to;
        let seq: Vec<P> = if fwd {
            edge.pts.clone()
        } else {
            edge.pts.iter().rev().copied().collect()
        };
        for (i, p) in seq.into_iter().enumerate() {
            if i == 0 && !pts.is_empty() {
                continue;
            }
            pts.push(p);
        }
    }
    LineString::from(pts)
}

/// The 調書 rows (header first), each followed by the two empty columns an
/// Excel export leaves behind.
pub fn ledger_rows(routes: &[Route]) -> Vec<Vec<String>> {
    let mut rows = vec![[
        "路線番号",
        "路線名",
        "道路種別",
        "起点",
        "終点",
        "実延長",
        "幅員",
        "認定年月日",
        "備考",
        "",
        "",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect::<Vec<_>>()];
    for r in routes {
        rows.push(vec![
            r.number.clone(),
            r.name.clone(),
            r.class_label().to_string(),
            r.start.clone(),
            r.end.clone(),
            r.recorded.to_string(),
            format!("{:.1}", r.width),
            r.certified.clone(),
            r.note.clone(),
            String::new(),
            String::new(),
        ]);
    }
    rows
}
