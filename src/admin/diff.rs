//! The preview of a version: features added, removed and changed against the published
//! version, by stable fid (the natural key keeps its fid across versions), counted by ward
//! (the label point of each feature located in the published wards) with a table of changed
//! attributes and a small SVG map of the changes.

use crate::dataset::{DatasetId, Val};
use crate::index::{Feature, Layer};
use crate::store::{Store, StoreError};
use geo::{Contains, Point};
use std::collections::BTreeMap;

/// Load the features of any stored version of `d`, in fid order.
pub fn load_version(store: &Store, d: DatasetId, version: i64) -> Result<Vec<Feature>, StoreError> {
    crate::index::load_features(store, d, version)
}

/// A stored version as a [`Layer`] (for the CSV exporter; no R-tree).
pub fn version_layer(d: DatasetId, version: i64, features: Vec<Feature>) -> Layer {
    Layer {
        dataset: d,
        version,
        published_at: String::new(),
        created_at: String::new(),
        source_names: String::new(),
        source_sha256: String::new(),
        features,
        tree: rstar::RTree::new(),
        bbox: None,
        tileset: Default::default(),
    }
}

/// What a feature is called in the preview: its name, route name, item or code.
pub fn feature_label(d: DatasetId, f: &Feature) -> String {
    let cols = d.columns();
    for c in [
        "name",
        "route_name",
        "item",
        "code",
        "id",
        "route_no",
        "hazard",
    ] {
        if let Some(t) = f.get(cols, c).and_then(Val::as_text) {
            if !t.is_empty() {
                return t;
            }
        }
    }
    format!("#{}", f.fid)
}

/// One changed attribute.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct ChangedValue {
    /// Feature id.
    pub fid: i64,
    /// Feature label.
    pub label: String,
    /// Column (`geometry` for the shape).
    pub column: String,
    /// Published value.
    pub old: String,
    /// Value in the version.
    pub new: String,
}

/// Counts of one ward.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct WardCount {
    /// Ward code (empty outside every ward).
    pub code: String,
    /// Ward name (`区域外 / outside` when in none).
    pub name: String,
    /// Added features.
    pub added: usize,
    /// Removed features.
    pub removed: usize,
    /// Changed features.
    pub changed: usize,
}

/// Where a change is, for the map.
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct Marker {
    /// `added`, `removed` or `changed`.
    pub kind: &'static str,
    /// Longitude.
    pub lon: f64,
    /// Latitude.
    pub lat: f64,
}

/// The preview of a version against the published one.
#[derive(Debug, Clone, Default, serde::Serialize, schemars::JsonSchema)]
pub struct Diff {
    /// Published version compared with (none when nothing is published).
    pub against: Option<i64>,
    /// Features only in the version.
    pub added: usize,
    /// Features only in the published version.
    pub removed: usize,
    /// Features in both with different values or geometry.
    pub changed: usize,
    /// Features in both, identical.
    pub unchanged: usize,
    /// Counts by ward (wards with no change are left out).
    pub by_ward: Vec<WardCount>,
    /// Changed attributes (at most [`MAX_CHANGES`] rows).
    pub changes: Vec<ChangedValue>,
    /// True when `changes` was cut.
    pub changes_truncated: bool,
    /// Labels of added and removed features (at most [`MAX_CHANGES`] each).
    pub added_labels: Vec<(i64, String)>,
    /// Labels of removed features.
    pub removed_labels: Vec<(i64, String)>,
    /// Where the changes are (at most 2000).
    pub markers: Vec<Marker>,
}

/// Most rows of the changed-attribute table.
pub const MAX_CHANGES: usize = 500;

fn point_of(f: &Feature) -> Option<[f64; 2]> {
    f.label
        .or_else(|| f.bbox.map(|b| [(b[0] + b[2]) / 2.0, (b[1] + b[3]) / 2.0]))
}

fn show(v: &Val) -> String {
    v.as_text().unwrap_or_default()
}

/// Compare `new` (a version's features) with `old` (the published layer's), by fid, counting by
/// the wards of `wards`.
pub fn diff(
    d: DatasetId,
    against: Option<i64>,
    old: &[Feature],
    new: &[Feature],
    wards: Option<&Layer>,
) -> Diff {
    let mut out = Diff {
        against,
        ..Diff::default()
    };
    let old_by: BTreeMap<i64, &Feature> = old.iter().map(|f| (f.fid, f)).collect();
    let new_by: BTreeMap<i64, &Feature> = new.iter().map(|f| (f.fid, f)).collect();
    let mut counts: BTreeMap<String, WardCount> = BTreeMap::new();
    let mut count = |f: &Feature, kind: &'static str, markers: &mut Vec<Marker>| {
        let p = point_of(f);
        let (code, name) = p
            .and_then(|p| ward_at(wards, p))
            .unwrap_or_else(|| (String::new(), "区域外 / outside the wards".to_string()));
        let e = counts.entry(code.clone()).or_insert_with(|| WardCount {
            code,
            name,
            ..WardCount::default()
        });
        match kind {
            "added" => e.added += 1,
            "removed" => e.removed += 1,
            _ => e.changed += 1,
        }
        if let Some(p) = p {
            if markers.len() < 2000 {
                markers.push(Marker {
                    kind,
                    lon: p[0],
                    lat: p[1],
                });
            }
        }
    };
    let cols = d.columns();
    for (fid, f) in &new_by {
        match old_by.get(fid) {
            None => {
                out.added += 1;
                if out.added_labels.len() < MAX_CHANGES {
                    out.added_labels.push((*fid, feature_label(d, f)));
                }
                count(f, "added", &mut out.markers);
            }
            Some(o) => {
                let mut diffs = Vec::new();
                for (i, c) in cols.iter().enumerate() {
                    let (a, b) = (o.values.get(i), f.values.get(i));
                    if a != b {
                        diffs.push(ChangedValue {
                            fid: *fid,
                            label: feature_label(d, f),
                            column: c.name.to_string(),
                            old: a.map(show).unwrap_or_default(),
                            new: b.map(show).unwrap_or_default(),
                        });
                    }
                }
                if o.geom != f.geom {
                    diffs.push(ChangedValue {
                        fid: *fid,
                        label: feature_label(d, f),
                        column: "geometry".into(),
                        old: o
                            .label
                            .map(|p| format!("{:.6}, {:.6}", p[1], p[0]))
                            .unwrap_or_default(),
                        new: f
                            .label
                            .map(|p| format!("{:.6}, {:.6}", p[1], p[0]))
                            .unwrap_or_default(),
                    });
                }
                if diffs.is_empty() {
                    out.unchanged += 1;
                } else {
                    out.changed += 1;
                    count(f, "changed", &mut out.markers);
                    for c in diffs {
                        if out.changes.len() < MAX_CHANGES {
                            out.changes.push(c);
                        } else {
                            out.changes_truncated = true;
                        }
                    }
                }
            }
        }
    }
    for (fid, f) in &old_by {
        if !new_by.contains_key(fid) {
            out.removed += 1;
            if out.removed_labels.len() < MAX_CHANGES {
                out.removed_labels.push((*fid, feature_label(d, f)));
            }
            count(f, "removed", &mut out.markers);
        }
    }
    out.by_ward = counts.into_values().collect();
    out
}

/// Code and name of the published ward holding `p`.
fn ward_at(wards: Option<&Layer>, p: [f64; 2]) -> Option<(String, String)> {
    let l = wards?;
    let pt = Point::new(p[0], p[1]);
    let cols = l.columns();
    for i in l.query_bbox([p[0], p[1], p[0], p[1]]) {
        let f = l.features.get(i as usize)?;
        if f.geom.as_ref().is_some_and(|g| g.contains(&pt)) {
            let code = f
                .get(cols, "code")
                .and_then(Val::as_text)
                .unwrap_or_default();
            let name = f
                .get(cols, "name")
                .and_then(Val::as_text)
                .unwrap_or_default();
            return Some((code, name));
        }
    }
    None
}

/// A small map of the changes over the outline of the wards, in the coordinates of its drawing
/// (`width` × `height`, y down); the console draws it as SVG (no script, no remote tiles).
#[derive(Debug, Clone)]
pub struct MapSketch {
    /// Width of the drawing.
    pub width: u32,
    /// Height of the drawing.
    pub height: u32,
    /// Each ward's outer ring as the points of an SVG polygon (`x,y x,y …`, one decimal).
    pub outlines: Vec<String>,
    /// Where the changes are.
    pub dots: Vec<Dot>,
}

/// One change on a [`MapSketch`].
#[derive(Debug, Clone)]
pub struct Dot {
    /// x, one decimal.
    pub x: String,
    /// y, one decimal.
    pub y: String,
    /// Green for added, red for removed, amber for changed.
    pub color: &'static str,
}

/// The map of the changes of `diff` over `wards`; none when there is nothing to place.
pub fn map_sketch(diff: &Diff, wards: Option<&Layer>) -> Option<MapSketch> {
    let mut b = [
        f64::INFINITY,
        f64::INFINITY,
        f64::NEG_INFINITY,
        f64::NEG_INFINITY,
    ];
    let mut grow = |x: f64, y: f64| {
        b = [b[0].min(x), b[1].min(y), b[2].max(x), b[3].max(y)];
    };
    if let Some(wb) = wards.and_then(|w| w.bbox) {
        grow(wb[0], wb[1]);
        grow(wb[2], wb[3]);
    }
    for m in &diff.markers {
        grow(m.lon, m.lat);
    }
    if b[0] > b[2] {
        return None;
    }
    let (width, height) = (320u32, 240u32);
    let (w, h) = (f64::from(width), f64::from(height));
    let span_x = (b[2] - b[0]).max(1e-6);
    let span_y = (b[3] - b[1]).max(1e-6);
    let s = (w / span_x).min(h / span_y) * 0.95;
    let tx = |x: f64| (x - b[0]) * s + (w - span_x * s) / 2.0;
    let ty = |y: f64| h - ((y - b[1]) * s + (h - span_y * s) / 2.0);
    let mut outlines = Vec::new();
    if let Some(l) = wards {
        for f in &l.features {
            let Some(g) = &f.geom else { continue };
            let polys: Vec<&geo::Polygon<f64>> = match g {
                geo::Geometry::Polygon(p) => vec![p],
                geo::Geometry::MultiPolygon(mp) => mp.0.iter().collect(),
                _ => Vec::new(),
            };
            for p in polys {
                let pts: Vec<String> = p
                    .exterior()
                    .0
                    .iter()
                    .map(|c| format!("{:.1},{:.1}", tx(c.x), ty(c.y)))
                    .collect();
                outlines.push(pts.join(" "));
            }
        }
    }
    let dots = diff
        .markers
        .iter()
        .map(|m| Dot {
            x: format!("{:.1}", tx(m.lon)),
            y: format!("{:.1}", ty(m.lat)),
            color: match m.kind {
                "added" => "#1a7f37",
                "removed" => "#cf222e",
                _ => "#9a6700",
            },
        })
        .collect();
    Some(MapSketch {
        width,
        height,
        outlines,
        dots,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(fid: i64, name: &str, x: f64) -> Feature {
        let mut values = vec![Val::Null; DatasetId::Wards.columns().len()];
        values[1] = Val::Text(name.into());
        Feature {
            fid,
            values: values.into(),
            geom: Some(geo::Geometry::Point(Point::new(x, 0.0))),
            bbox: Some([x, 0.0, x, 0.0]),
            label: Some([x, 0.0]),
        }
    }

    #[test]
    fn added_removed_changed_by_fid() {
        let old = vec![f(1, "a", 0.0), f(2, "b", 1.0), f(3, "c", 2.0)];
        let new = vec![f(1, "a", 0.0), f(2, "B", 1.0), f(4, "d", 3.0)];
        let d = diff(DatasetId::Wards, Some(1), &old, &new, None);
        assert_eq!((d.added, d.removed, d.changed, d.unchanged), (1, 1, 1, 1));
        assert_eq!(d.changes.len(), 1);
        assert_eq!(d.changes[0].column, "name");
        assert_eq!(
            (d.changes[0].old.as_str(), d.changes[0].new.as_str()),
            ("b", "B")
        );
        assert_eq!(d.by_ward.len(), 1);
        assert_eq!(d.markers.len(), 3);
        let map = map_sketch(&d, None).expect("a map of three changes");
        assert_eq!(map.dots.len(), 3);
    }
}
