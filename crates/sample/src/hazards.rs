//! Hazard zones of the sample city, in plane metres: flood depth bands
//! along サンプル川, tsunami and storm-surge bands along the coast, and
//! landslide (土砂災害警戒区域) zones in the northern hills.
//!
//! Bands are built as *nested regions whose boundary curves are generated
//! once*: the region of rank k is bounded by curve k, the band of rank k is
//! the region between curve k and curve k+1, so the two bands on either side
//! of a curve use the very same vertex list (vertex-for-vertex shared
//! boundaries, no overlaps, no slivers). Every curve is a function
//! (`x = f(y)` along the river, `y = f(x)` along the coast) sampled on one
//! common grid, which is what makes the nesting hold exactly after
//! linearisation too.

use geo::{Coord, Distance, Euclidean, LineString, Point, Polygon};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::geometry::{bisect, q, signed_area, smoothstep, Frame, Wave, P};

/// 計画規模 (planned scale) scenario number, as in the A31a_1xx columns.
pub const PLANNED: u8 = 1;
/// 想定最大規模 (maximum assumed) scenario number, A31a_2xx columns.
pub const MAXIMUM: u8 = 2;

/// One flood polygon: scenario 1/2 and depth rank 1–6.
#[derive(Debug, Clone)]
pub struct FloodPoly {
    pub scenario: u8,
    pub rank: u8,
    pub poly: Polygon,
}

/// One coastal band polygon: `band` counts from the landward (shallowest)
/// band 0; `section` tells the separate stretches of coast apart.
#[derive(Debug, Clone)]
pub struct BandPoly {
    pub section: usize,
    pub band: usize,
    pub poly: Polygon,
}

/// One 土砂災害警戒区域 polygon.
#[derive(Debug, Clone)]
pub struct Zone {
    /// A33_001: 1 急傾斜地の崩壊, 2 土石流, 3 地滑り.
    pub phenomenon: u8,
    /// A33_002: 1/3 警戒区域 (yellow), 2/4 特別警戒区域 (red).
    pub class: u8,
    /// For a red zone, the index of the yellow zone it lies in.
    pub parent: Option<usize>,
    /// For a yellow zone, whether a red zone lies inside.
    pub has_red: bool,
    pub centre: P,
    pub poly: Polygon,
}

#[derive(Debug, Clone)]
pub struct Hazards {
    pub flood: Vec<FloodPoly>,
    pub tsunami: Vec<BandPoly>,
    pub surge: Vec<BandPoly>,
    pub landslide: Vec<Zone>,
    /// Centre of a raised, unflooded area (a hole in a 想定最大規模 band
    /// left empty): a good place for a flood shelter.
    pub dry_mound: P,
}

/// Sampling step of the flood curves along the river (metres of northing).
const FLOOD_DY: f64 = 4.0;
/// Sampling step of the coastal curves and of their shore segments.
const COAST_DX: f64 = 20.0;

pub fn build(frame: &Frame, seed: u64) -> Hazards {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut flood = Vec::new();
    let (max_polys, dry) = flood_scenario(
        frame,
        &mut rng,
        MAXIMUM,
        [0.62, 0.50, 0.40, 0.30, 0.22, 0.14],
        [430.0, 330.0, 260.0, 200.0, 150.0, 130.0],
        &[(4, Some(2)), (2, None)],
    );
    let (plan_polys, _) = flood_scenario(
        frame,
        &mut rng,
        PLANNED,
        [0.50, 0.38, 0.30, 0.22, 0.15, 0.09],
        [280.0, 220.0, 170.0, 130.0, 95.0, 80.0],
        &[(3, Some(1)), (1, None)],
    );
    flood.extend(plan_polys);
    flood.extend(max_polys);

    let mouth = frame.river_x(frame.base_ys().0);
    let mut tsunami = Vec::new();
    let sections = [
        (frame.x_w + 450.0, mouth - 700.0),
        (mouth + 350.0, frame.x_e - 450.0),
    ];
    for (s, &(xa, xb)) in sections.iter().enumerate() {
        for (band, poly) in coast_bands(
            frame,
            &mut rng,
            xa,
            xb,
            &[330.0, 210.0, 150.0, 100.0, 60.0],
            None,
        ) {
            tsunami.push(BandPoly {
                section: s,
                band,
                poly,
            });
        }
    }
    let mut surge = Vec::new();
    for (band, poly) in coast_bands(
        frame,
        &mut rng,
        frame.x_w + 300.0,
        frame.x_e - 300.0,
        &[850.0, 650.0, 420.0, 200.0],
        Some(mouth),
    ) {
        surge.push(BandPoly {
            section: 0,
            band,
            poly,
        });
    }
    let landslide = landslide_zones(frame, &mut rng);
    Hazards {
        flood,
        tsunami,
        surge,
        landslide,
        dry_mound: dry.expect("the maximum scenario has one empty hole"),
    }
}

/// One flood scenario: six nested regions around the river, region k
/// (rank k+1) reaching `tops[k]` of the way from coast to hills and
/// `widths[k]` metres (plus those of the inner regions) to each side.
/// `holes` lists (band rank, Some(rank of the mound filling it) or None for
/// an unflooded hole).
fn flood_scenario(
    frame: &Frame,
    rng: &mut StdRng,
    scenario: u8,
    tops: [f64; 6],
    widths: [f64; 6],
    holes: &[(u8, Option<u8>)],
) -> (Vec<FloodPoly>, Option<P>) {
    let (c0, n0) = frame.base_ys();
    let span = n0 - c0;
    let y_lo = frame.coast_range().0 - 100.0;
    let top_y: Vec<f64> = tops.iter().map(|t| c0 + span * t).collect();
    let waves: Vec<Wave> = (0..6)
        .map(|_| Wave::new(rng, &[(1.0, 2500.0), (0.5, 900.0)]))
        .collect();
    let side_l = Wave::new(
        rng,
        &[(0.8, 3000.0), (0.4, 1100.0), (0.03, 420.0), (0.015, 190.0)],
    );
    let side_r = Wave::new(
        rng,
        &[(0.8, 3000.0), (0.4, 1100.0), (0.03, 420.0), (0.015, 190.0)],
    );
    // Floodplain: wider near the sea.
    let prof = |y: f64| 1.0 + 0.6 * (1.0 - smoothstep(c0, c0 + 0.5 * span, y));
    // Unscaled half-width of region k: strictly decreasing in k.
    let big_w = |k: usize, y: f64| -> f64 {
        (k..6)
            .map(|i| widths[i] * (1.0 + 0.2 * waves[i].at(y)))
            .sum::<f64>()
            * prof(y)
    };
    // Round tip: width ∝ sqrt(1 - u⁴); a region with a lower top is
    // narrower everywhere, so nesting holds.
    let taper = |k: usize, y: f64| -> f64 {
        let u = ((y - y_lo) / (top_y[k] - y_lo)).max(0.0);
        if u >= 1.0 {
            0.0
        } else {
            (1.0 - u.powi(4)).sqrt()
        }
    };
    let half = |k: usize, y: f64, left: bool| -> f64 {
        let s = if left {
            1.0 + 0.25 * side_l.at(y)
        } else {
            1.0 + 0.25 * side_r.at(y)
        };
        big_w(k, y) * taper(k, y) * s
    };
    let x_at = |k: usize, y: f64, left: bool| -> f64 {
        let h = half(k, y, left);
        if left {
            frame.river_x(y) - h
        } else {
            frame.river_x(y) + h
        }
    };
    // Highest crossing of a curve side with the coast.
    let coast_start = |k: usize, left: bool| -> f64 {
        let f = |y: f64| y - frame.coast_y(x_at(k, y, left));
        let mut y = frame.coast_range().1 + 50.0;
        while f(y) > 0.0 {
            y -= 5.0;
        }
        bisect(y, y + 5.0, f)
    };

    struct Curve {
        pts: Vec<P>,
        y_start: [f64; 2],
        x_start: [f64; 2],
    }
    let mut curves: Vec<Curve> = Vec::with_capacity(6);
    for (k, &top) in top_y.iter().enumerate() {
        let yl = coast_start(k, true);
        let yr = coast_start(k, false);
        let xl = x_at(k, yl, true);
        let xr = x_at(k, yr, false);
        let mut pts = vec![q(xl, frame.coast_y(xl))];
        let mut g = (yl / FLOOD_DY).floor() + 1.0;
        while g * FLOOD_DY < top - 0.5 {
            let y = g * FLOOD_DY;
            if y > yl + 0.5 {
                pts.push(q(x_at(k, y, true), y));
            }
            g += 1.0;
        }
        pts.push(q(frame.river_x(top), top));
        let mut right = Vec::new();
        let mut g = (yr / FLOOD_DY).floor() + 1.0;
        while g * FLOOD_DY < top - 0.5 {
            let y = g * FLOOD_DY;
            if y > yr + 0.5 {
                right.push(q(x_at(k, y, false), y));
            }
            g += 1.0;
        }
        pts.extend(right.into_iter().rev());
        pts.push(q(xr, frame.coast_y(xr)));
        curves.push(Curve {
            pts,
            y_start: [yl, yr],
            x_start: [xl, xr],
        });
    }

    let mut polys: Vec<FloodPoly> = Vec::new();
    for k in 0..6 {
        let c = &curves[k];
        let mut ring = c.pts.clone();
        if k < 5 {
            let inner = &curves[k + 1];
            ring.extend(coast_path(
                frame,
                c.x_start[1],
                inner.x_start[1],
                super::geometry::LINE_STEP,
            ));
            ring.extend(inner.pts.iter().rev().copied());
            ring.extend(coast_path(
                frame,
                inner.x_start[0],
                c.x_start[0],
                super::geometry::LINE_STEP,
            ));
        } else {
            ring.extend(coast_path(
                frame,
                c.x_start[1],
                c.x_start[0],
                super::geometry::LINE_STEP,
            ));
        }
        ring.push(ring[0]);
        if signed_area(&ring) < 0.0 {
            ring.reverse();
        }
        polys.push(FloodPoly {
            scenario,
            rank: k as u8 + 1,
            poly: Polygon::new(LineString::from(ring), vec![]),
        });
    }

    // Raised areas: holes in a band, filled by a shallower mound or left dry.
    let mut dry = None;
    for (i, &(band_rank, mound)) in holes.iter().enumerate() {
        let k = band_rank as usize - 1;
        let left = i % 2 == 0;
        let side = usize::from(!left);
        let inner_top = top_y[k + 1];
        let y0 = curves[k + 1].y_start[side].max(curves[k].y_start[side]);
        let y_h = y0 + 0.45 * (inner_top - y0);
        let xo = x_at(k, y_h, left);
        let xi = x_at(k + 1, y_h, left);
        let centre = Coord {
            x: 0.5 * (xo + xi),
            y: y_h,
        };
        // Radius from the true clearance to both bounding curves (the
        // curves may be slanted where the river meanders).
        let clearance = [&curves[k].pts, &curves[k + 1].pts]
            .iter()
            .map(|pts| Euclidean.distance(&Point(centre), &LineString::from((*pts).clone())))
            .fold(f64::MAX, f64::min);
        let r = 0.4 * clearance;
        let wave = [rng.gen_range(0.0..6.3), rng.gen_range(0.0..6.3)];
        let n = 24;
        // Clockwise (hole orientation).
        let mut hole: Vec<P> = (0..n)
            .map(|j| {
                let th = -std::f64::consts::TAU * j as f64 / n as f64;
                let rr = r
                    * (1.0 + 0.12 * (2.0 * th + wave[0]).sin() + 0.06 * (3.0 * th + wave[1]).sin());
                q(centre.x + rr * th.cos(), centre.y + rr * th.sin())
            })
            .collect();
        hole.push(hole[0]);
        polys[k].poly.interiors_push(LineString::from(hole.clone()));
        match mound {
            Some(rank) => {
                hole.reverse();
                polys.push(FloodPoly {
                    scenario,
                    rank,
                    poly: Polygon::new(LineString::from(hole), vec![]),
                });
            }
            None => dry = Some(centre),
        }
    }
    (polys, dry)
}

/// Shore vertices strictly between eastings `from` and `to` (either
/// direction), on the multiples of `step`.
fn coast_path(frame: &Frame, from: f64, to: f64, step: f64) -> Vec<P> {
    let (lo, hi) = (from.min(to), from.max(to));
    let mut out = Vec::new();
    let mut g = (lo / step).floor() + 1.0;
    while g * step < hi - 1.0 {
        let x = g * step;
        if x > lo + 1.0 {
            out.push(q(x, frame.coast_y(x)));
        }
        g += 1.0;
    }
    if from > to {
        out.reverse();
    }
    out
}

/// Nested bands along the coast between eastings `xa` and `xb`. `depths`
/// are the extra inland reach of each band from the outermost (shallowest)
/// inwards. With `river`, the bands reach further inland near the mouth.
fn coast_bands(
    frame: &Frame,
    rng: &mut StdRng,
    xa: f64,
    xb: f64,
    depths: &[f64],
    river: Option<f64>,
) -> Vec<(usize, Polygon)> {
    let n = depths.len();
    let waves: Vec<Wave> = (0..n)
        .map(|_| {
            Wave::new(
                rng,
                &[(1.0, 1800.0), (0.4, 600.0), (0.04, 380.0), (0.02, 170.0)],
            )
        })
        .collect();
    let mut ends = vec![(xa, xb)];
    for i in 1..n {
        let (a, b) = ends[i - 1];
        ends.push((
            a + rng.gen_range(120.0..420.0),
            b - rng.gen_range(120.0..420.0),
        ));
    }
    let ramp = 400.0;
    let s = |z: f64| -> f64 {
        if z <= 0.0 {
            0.0
        } else if z >= 1.0 {
            1.0
        } else {
            (1.0 - (1.0 - z).powi(4)).sqrt()
        }
    };
    let bump = |x: f64| match river {
        Some(m) => 1.0 + 1.0 * (-((x - m) / 900.0).powi(2)).exp(),
        None => 1.0,
    };
    let h = |i: usize, x: f64| -> f64 {
        let (a, b) = ends[i];
        let big: f64 = (i..n)
            .map(|m| depths[m] * (1.0 + 0.22 * waves[m].at(x)))
            .sum();
        big * bump(x) * s((x - a) / ramp) * s((b - x) / ramp)
    };
    let curves: Vec<Vec<P>> = (0..n)
        .map(|i| {
            let (a, b) = ends[i];
            let mut pts = vec![q(a, frame.coast_y(a))];
            let first = ((a / COAST_DX).floor() + 1.0) * COAST_DX;
            for f in [0.003, 0.02, 0.1, 0.35] {
                let x = a + (first - a) * f;
                pts.push(q(x, frame.coast_y(x) + h(i, x)));
            }
            let mut x = first;
            let mut tail = Vec::new();
            while x < b - 0.5 {
                pts.push(q(x, frame.coast_y(x) + h(i, x)));
                x += COAST_DX;
            }
            let last = x - COAST_DX;
            for f in [0.35, 0.1, 0.02, 0.003] {
                let xx = b - (b - last) * f;
                tail.push(q(xx, frame.coast_y(xx) + h(i, xx)));
            }
            pts.extend(tail);
            pts.push(q(b, frame.coast_y(b)));
            pts
        })
        .collect();
    let mut out = Vec::new();
    for i in 0..n {
        let (a, b) = ends[i];
        let mut ring = curves[i].clone();
        if i + 1 < n {
            let (a2, b2) = ends[i + 1];
            ring.extend(coast_path(frame, b, b2, COAST_DX));
            ring.extend(curves[i + 1].iter().rev().copied());
            ring.extend(coast_path(frame, a2, a, COAST_DX));
        } else {
            ring.extend(coast_path(frame, b, a, COAST_DX));
        }
        ring.push(ring[0]);
        if signed_area(&ring) < 0.0 {
            ring.reverse();
        }
        out.push((i, Polygon::new(LineString::from(ring), vec![])));
    }
    out
}

/// About 80 landslide zones in the hills: yellow zones of the three
/// phenomena, spaced so they do not overlap, with a red zone (a scaled copy
/// of the same star-shaped outline, hence strictly inside) in some.
fn landslide_zones(frame: &Frame, rng: &mut StdRng) -> Vec<Zone> {
    struct Cand {
        phen: u8,
        centre: P,
        radius: f64,
        ring: Vec<P>,
    }
    let mut yellow: Vec<Cand> = Vec::new();
    let mut tries = 0;
    while yellow.len() < 56 && tries < 20_000 {
        tries += 1;
        let phen = match yellow.len() % 7 {
            0..=3 => 1u8,
            4 | 5 => 2,
            _ => 3,
        };
        let (a, b, nv) = match phen {
            1 => (
                rng.gen_range(120.0..260.0f64),
                rng.gen_range(40.0..80.0f64),
                rng.gen_range(80..130),
            ),
            2 => (
                rng.gen_range(180.0..340.0),
                rng.gen_range(70.0..130.0),
                rng.gen_range(100..150),
            ),
            _ => (
                rng.gen_range(120.0..240.0),
                rng.gen_range(90.0..190.0),
                rng.gen_range(90..140),
            ),
        };
        let radius = a.max(b) * if phen == 2 { 1.7 } else { 1.2 };
        let x = rng.gen_range(frame.x_w + 350.0..frame.x_e - 350.0);
        let (c0, n0) = frame.base_ys();
        let y = rng.gen_range(c0 + 0.5 * (n0 - c0)..n0);
        let centre = Coord { x, y };
        let t = frame.rel_height(centre);
        let t_edge = frame.rel_height(Coord { x, y: y + radius });
        if !(0.58..=0.97).contains(&t) || t_edge > 0.985 {
            continue;
        }
        if (frame.river_x(y) - x).abs() < radius + 80.0 {
            continue;
        }
        if yellow.iter().any(|o| {
            let d = ((o.centre.x - x).powi(2) + (o.centre.y - y).powi(2)).sqrt();
            d < o.radius + radius + 40.0
        }) {
            continue;
        }
        let rot = rng.gen_range(0.0..std::f64::consts::TAU);
        let ph: Vec<f64> = (0..4).map(|_| rng.gen_range(0.0..6.3)).collect();
        let ring: Vec<P> = (0..nv)
            .map(|i| {
                let th = std::f64::consts::TAU * i as f64 / nv as f64;
                let mut r = 1.0
                    + 0.06 * (2.0 * th + ph[0]).sin()
                    + 0.04 * (3.0 * th + ph[1]).sin()
                    + 0.025 * (5.0 * th + ph[2]).sin()
                    + 0.015 * (7.0 * th + ph[3]).sin();
                if phen == 2 {
                    r *= 1.0 + 0.45 * th.cos();
                }
                let (lx, ly) = (a * r * th.cos(), b * r * th.sin());
                Coord {
                    x: lx * rot.cos() - ly * rot.sin(),
                    y: lx * rot.sin() + ly * rot.cos(),
                }
            })
            .collect();
        yellow.push(Cand {
            phen,
            centre,
            radius,
            ring,
        });
    }
    let mut zones = Vec::new();
    for (i, c) in yellow.iter().enumerate() {
        // A few zones are only surveyed, not yet designated (指定前).
        let before = i % 11 == 5;
        let has_red = i % 7 != 3 && i % 9 < 4 || i % 13 == 0;
        let make = |scale: f64| -> Polygon {
            let mut pts: Vec<P> = c
                .ring
                .iter()
                .map(|p| q(c.centre.x + scale * p.x, c.centre.y + scale * p.y))
                .collect();
            pts.push(pts[0]);
            Polygon::new(LineString::from(pts), vec![])
        };
        let yi = zones.len();
        zones.push(Zone {
            phenomenon: c.phen,
            class: if before { 3 } else { 1 },
            parent: None,
            has_red,
            centre: c.centre,
            poly: make(1.0),
        });
        if has_red {
            zones.push(Zone {
                phenomenon: c.phen,
                class: if before { 4 } else { 2 },
                parent: Some(yi),
                has_red: false,
                centre: c.centre,
                poly: make(rng.gen_range(0.45..0.6)),
            });
        }
    }
    zones
}
