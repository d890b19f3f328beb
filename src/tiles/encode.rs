//! The MVT 2.1 protobuf, written directly into bytes.
//!
//! The `mvt` crate builds a tree of `prost` messages, dedupes tag values through a SipHash map
//! of owned copies and checks every point against a bounding box; on a large tile those steps
//! were a third of the render (`perf`, bench-tiles, 2026-12-01). Here a feature becomes its
//! final bytes as soon as it is drawn, so a tile over the size limit can drop features without
//! being rendered again, and a layer's tag values are deduplicated by the address of the
//! interned text the snapshot already shares. The geometry commands follow the `mvt` crate's
//! encoder point for point (repeated points skipped, axis-aligned collinear points in rings
//! removed); a test decodes both encoders' output and compares them.

use crate::dataset::{Column, Val};
use std::collections::HashMap;
use std::ops::Range;

/// A point in tile units.
pub type IPt = [i32; 2];

/// MVT geometry type (spec 4.3.4).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GeomType {
    /// POINT.
    Point = 1,
    /// LINESTRING.
    Line = 2,
    /// POLYGON.
    Polygon = 3,
}

const MOVE_TO: u32 = 1;
const LINE_TO: u32 = 2;
const CLOSE_PATH: u32 = 7;

fn command(id: u32, count: u32) -> u32 {
    (id & 7) | (count << 3)
}

fn zigzag(v: i32) -> u32 {
    ((v << 1) ^ (v >> 31)) as u32
}

/// The geometry commands of one feature (spec 4.3), written part by part straight into their
/// packed varint bytes. Reused between features: [`GeomBuf::clear`] keeps the allocations.
#[derive(Debug, Default)]
pub struct GeomBuf {
    /// Command and parameter integers, as packed varints.
    pub bytes: Vec<u8>,
    cursor: IPt,
    ring: Vec<IPt>,
}

impl GeomBuf {
    /// Start a new feature.
    pub fn clear(&mut self) {
        self.bytes.clear();
        self.cursor = [0, 0];
    }

    /// True when nothing was written since [`GeomBuf::clear`].
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    fn param(&mut self, p: IPt) {
        put_varint(
            &mut self.bytes,
            u64::from(zigzag(p[0].wrapping_sub(self.cursor[0]))),
        );
        put_varint(
            &mut self.bytes,
            u64::from(zigzag(p[1].wrapping_sub(self.cursor[1]))),
        );
        self.cursor = p;
    }

    fn command(&mut self, id: u32, count: u32) {
        put_varint(&mut self.bytes, u64::from(command(id, count)));
    }

    /// Points of a (multi)point feature, in one MoveTo (a point repeating the one before it
    /// is skipped).
    pub fn points(&mut self, pts: &[IPt]) {
        self.gather(pts);
        if self.ring.is_empty() {
            return;
        }
        let ring = std::mem::take(&mut self.ring);
        self.command(MOVE_TO, ring.len() as u32);
        for &p in &ring {
            self.param(p);
        }
        self.ring = ring;
    }

    /// One line part: consecutive repeated points are skipped; fewer than two distinct points
    /// write nothing.
    pub fn line(&mut self, pts: &[IPt]) {
        self.gather(pts);
        if self.ring.len() >= 2 {
            self.write_part(false);
        }
    }

    /// `pts` into `self.ring` without consecutive repeats.
    fn gather(&mut self, pts: &[IPt]) {
        self.ring.clear();
        for &p in pts {
            if self.ring.last() != Some(&p) {
                self.ring.push(p);
            }
        }
    }

    /// Write the points gathered in `self.ring` as one part: MoveTo, LineTo, and ClosePath
    /// for a ring.
    fn write_part(&mut self, close: bool) {
        let ring = std::mem::take(&mut self.ring);
        self.command(MOVE_TO, 1);
        self.param(ring[0]);
        self.command(LINE_TO, ring.len() as u32 - 1);
        for &p in &ring[1..] {
            self.param(p);
        }
        if close {
            self.command(CLOSE_PATH, 1);
        }
        self.ring = ring;
    }

    /// One polygon ring (without its closing point), forwards or reversed: repeated points
    /// skipped, a point between two others on the same horizontal or vertical line removed.
    /// Fewer than three points left write nothing.
    pub fn ring(&mut self, pts: &[IPt], forward: bool) {
        self.ring.clear();
        let push = |ring: &mut Vec<IPt>, p: IPt| {
            if ring.last() == Some(&p) {
                return;
            }
            if let [.., a, b] = ring[..] {
                if between(a, b, p) {
                    ring.pop();
                }
            }
            ring.push(p);
        };
        if forward {
            pts.iter().for_each(|&p| push(&mut self.ring, p));
        } else {
            pts.iter().rev().for_each(|&p| push(&mut self.ring, p));
        }
        if self.ring.len() >= 3 {
            self.write_part(true);
        }
    }
}

/// `b` strictly between `a` and `c` on one axis-aligned line.
fn between(a: IPt, b: IPt, c: IPt) -> bool {
    if a[0] == b[0] && b[0] == c[0] {
        return (a[1] < b[1] && b[1] < c[1]) || (a[1] > b[1] && b[1] > c[1]);
    }
    if a[1] == b[1] && b[1] == c[1] {
        return (a[0] < b[0] && b[0] < c[0]) || (a[0] > b[0] && b[0] > c[0]);
    }
    false
}

/// Identity of a tag value within one tile.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum ValKey {
    /// Interned text, by address (the snapshot shares one `Arc<str>` per distinct text and
    /// load thread; equal texts with different addresses meet again in `by_text`).
    Text(usize),
    Int(i64),
    Float(u64),
    Bool(bool),
}

/// One layer of a tile being written: its features as final bytes, its keys and values.
pub struct LayerWriter<'a> {
    name: &'a str,
    extent: u32,
    /// Encoded `features` fields (tag, length, message), one after another.
    features: Vec<u8>,
    /// Key index per column (`u32::MAX`: not used yet).
    key_of_col: Vec<u32>,
    keys: Vec<u8>,
    n_keys: u32,
    values: Vec<u8>,
    n_values: u32,
    by_key: HashMap<ValKey, u32, foldhash::fast::RandomState>,
    by_text: HashMap<&'a str, u32, foldhash::fast::RandomState>,
    tags: Vec<u32>,
}

impl<'a> LayerWriter<'a> {
    /// An empty layer `name` for features with `columns`.
    pub fn new(name: &'a str, extent: u32, columns: &[Column]) -> Self {
        LayerWriter {
            name,
            extent,
            features: Vec::new(),
            key_of_col: vec![u32::MAX; columns.len()],
            keys: Vec::new(),
            n_keys: 0,
            values: Vec::new(),
            n_values: 0,
            by_key: HashMap::default(),
            by_text: HashMap::default(),
            tags: Vec::new(),
        }
    }

    fn key(&mut self, col: usize, name: &str) -> u32 {
        if self.key_of_col[col] == u32::MAX {
            self.keys.push(0x1a);
            put_bytes(&mut self.keys, name.as_bytes());
            self.key_of_col[col] = self.n_keys;
            self.n_keys += 1;
        }
        self.key_of_col[col]
    }

    fn value(&mut self, v: &'a Val) -> Option<u32> {
        let k = match v {
            Val::Null => return None,
            Val::Text(s) => ValKey::Text(s.as_ptr() as usize),
            Val::Int(i) => ValKey::Int(*i),
            Val::Float(x) => ValKey::Float(x.to_bits()),
            Val::Bool(b) => ValKey::Bool(*b),
        };
        if let Some(&i) = self.by_key.get(&k) {
            return Some(i);
        }
        if let Val::Text(s) = v {
            if let Some(&i) = self.by_text.get(&**s) {
                self.by_key.insert(k, i);
                return Some(i);
            }
        }
        // A new value: its Value message (spec 4.1), made once per distinct value and tile.
        let mut msg = Vec::with_capacity(16);
        match v {
            Val::Text(s) => {
                msg.push(0x0a);
                put_bytes(&mut msg, s.as_bytes());
            }
            Val::Float(x) => {
                msg.push(0x19);
                msg.extend_from_slice(&x.to_le_bytes());
            }
            Val::Int(i) => {
                msg.push(0x20);
                put_varint(&mut msg, *i as u64);
            }
            Val::Bool(b) => msg.extend_from_slice(&[0x38, u8::from(*b)]),
            Val::Null => return None,
        }
        self.values.push(0x22);
        put_bytes(&mut self.values, &msg);
        let i = self.n_values;
        self.n_values += 1;
        self.by_key.insert(k, i);
        if let Val::Text(s) = v {
            self.by_text.insert(s, i);
        }
        Some(i)
    }

    /// Append a feature; returns the byte range it occupies in this layer's features, so a
    /// tile over its size limit can leave it out. Null values get no tag.
    pub fn add(
        &mut self,
        id: u64,
        columns: &[Column],
        values: &'a [Val],
        ty: GeomType,
        geom: &[u8],
    ) -> Range<usize> {
        self.tags.clear();
        for (i, (c, v)) in columns.iter().zip(values).enumerate() {
            if let Some(vi) = self.value(v) {
                let ki = self.key(i, c.name);
                self.tags.push(ki);
                self.tags.push(vi);
            }
        }
        let tags_len: usize = self.tags.iter().map(|&t| varint_len(u64::from(t))).sum();
        let geom_len = geom.len();
        let mut body = 1 + varint_len(id) + 2 + 1 + varint_len(geom_len as u64) + geom_len;
        if tags_len > 0 {
            body += 1 + varint_len(tags_len as u64) + tags_len;
        }
        let start = self.features.len();
        let f = &mut self.features;
        f.reserve(body + 6);
        f.push(0x12);
        put_varint(f, body as u64);
        f.push(0x08);
        put_varint(f, id);
        if tags_len > 0 {
            f.push(0x12);
            put_varint(f, tags_len as u64);
            for &t in &self.tags {
                put_varint(f, u64::from(t));
            }
        }
        f.push(0x18);
        f.push(ty as u8);
        f.push(0x22);
        put_varint(f, geom_len as u64);
        f.extend_from_slice(geom);
        start..self.features.len()
    }

    /// Bytes of the layer besides its features (name, keys, values, extent, version, and the
    /// tile's field header around it).
    pub fn overhead(&self) -> usize {
        self.name.len() + self.keys.len() + self.values.len() + 24
    }

    /// Bytes of all features written so far.
    pub fn features_len(&self) -> usize {
        self.features.len()
    }

    /// Append the layer to `tile` with the features whose ranges `keep` yields (in order);
    /// nothing when none is kept (an empty layer is not written).
    pub fn finish_into(&self, tile: &mut Vec<u8>, keep: impl Iterator<Item = Range<usize>>) {
        let kept: Vec<Range<usize>> = keep.collect();
        if kept.is_empty() {
            return;
        }
        let feats: usize = kept.iter().map(|r| r.len()).sum();
        let len = 1
            + varint_len(self.name.len() as u64)
            + self.name.len()
            + feats
            + self.keys.len()
            + self.values.len()
            + 1
            + varint_len(u64::from(self.extent))
            + 2;
        tile.reserve(len + 6);
        tile.push(0x1a);
        put_varint(tile, len as u64);
        tile.push(0x0a);
        put_bytes(tile, self.name.as_bytes());
        for r in kept {
            tile.extend_from_slice(&self.features[r]);
        }
        tile.extend_from_slice(&self.keys);
        tile.extend_from_slice(&self.values);
        tile.push(0x28);
        put_varint(tile, u64::from(self.extent));
        tile.extend_from_slice(&[0x78, 2]);
    }
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

/// Append `v` as an unsigned LEB128 varint (protobuf; PMTiles directories use the same).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dataset::SqlType;
    use std::sync::Arc;

    /// A decoded tag value.
    #[derive(Debug, Clone, PartialEq)]
    pub enum DVal {
        S(String),
        D(f64),
        I(i64),
        B(bool),
    }

    /// A decoded feature: id, type, tags as (key, value), geometry integers.
    pub type DFeature = (u64, u64, Vec<(String, DVal)>, Vec<u32>);

    /// A decoded layer: name, extent, version, features.
    pub type DLayer = (String, u64, u64, Vec<DFeature>);

    fn varint(b: &[u8], i: &mut usize) -> u64 {
        crate::tiles::pmtiles::read_varint(b, i).expect("a whole varint")
    }

    /// (field, varint value or bytes) of one message; panics on malformed input.
    fn fields(b: &[u8]) -> Vec<(u64, Result<&[u8], u64>)> {
        let mut out = Vec::new();
        let mut i = 0;
        while i < b.len() {
            let key = varint(b, &mut i);
            match key & 7 {
                0 => out.push((key >> 3, Err(varint(b, &mut i)))),
                1 => {
                    out.push((key >> 3, Ok(&b[i..i + 8])));
                    i += 8;
                }
                2 => {
                    let n = varint(b, &mut i) as usize;
                    out.push((key >> 3, Ok(&b[i..i + n])));
                    i += n;
                }
                w => panic!("wire type {w}"),
            }
        }
        out
    }

    fn packed(b: &[u8]) -> Vec<u32> {
        let mut i = 0;
        let mut v = Vec::new();
        while i < b.len() {
            v.push(varint(b, &mut i) as u32);
        }
        v
    }

    /// Decode a whole tile, resolving tags to their keys and values.
    pub fn decode(tile: &[u8]) -> Vec<DLayer> {
        let mut layers = Vec::new();
        for (f, l) in fields(tile) {
            assert_eq!(f, 3, "a tile holds only layers");
            let l = l.expect("a layer is a message");
            let (mut name, mut extent, mut version) = (String::new(), 4096, 1);
            let (mut keys, mut values, mut feats) = (Vec::new(), Vec::new(), Vec::new());
            for (f, v) in fields(l) {
                match (f, v) {
                    (1, Ok(b)) => name = String::from_utf8(b.to_vec()).expect("utf-8"),
                    (2, Ok(b)) => feats.push(b),
                    (3, Ok(b)) => keys.push(String::from_utf8(b.to_vec()).expect("utf-8")),
                    (4, Ok(b)) => {
                        let (f, v) = fields(b).into_iter().next().expect("one value");
                        values.push(match (f, v) {
                            (1, Ok(s)) => DVal::S(String::from_utf8(s.to_vec()).expect("utf-8")),
                            (3, Ok(d)) => DVal::D(f64::from_le_bytes(d.try_into().expect("8"))),
                            (4, Err(i)) => DVal::I(i as i64),
                            (7, Err(b)) => DVal::B(b != 0),
                            other => panic!("value {other:?}"),
                        });
                    }
                    (5, Err(e)) => extent = e,
                    (15, Err(v)) => version = v,
                    other => panic!("layer field {other:?}"),
                }
            }
            let features = feats
                .into_iter()
                .map(|b| {
                    let (mut id, mut ty, mut tags, mut geom) = (0, 0, Vec::new(), Vec::new());
                    for (f, v) in fields(b) {
                        match (f, v) {
                            (1, Err(v)) => id = v,
                            (2, Ok(b)) => {
                                tags = packed(b)
                                    .chunks(2)
                                    .map(|kv| {
                                        (
                                            keys[kv[0] as usize].clone(),
                                            values[kv[1] as usize].clone(),
                                        )
                                    })
                                    .collect()
                            }
                            (3, Err(v)) => ty = v,
                            (4, Ok(b)) => geom = packed(b),
                            other => panic!("feature field {other:?}"),
                        }
                    }
                    (id, ty, tags, geom)
                })
                .collect();
            layers.push((name, extent, version, features));
        }
        layers
    }

    /// The parts of a geometry as absolute points (spec 4.3: a cursor carried across parts).
    pub fn parts(cmds: &[u32]) -> Vec<Vec<IPt>> {
        let (mut out, mut cur, mut i) = (Vec::<Vec<IPt>>::new(), [0i32, 0], 0);
        let unzig = |v: u32| ((v >> 1) as i32) ^ -((v & 1) as i32);
        while i < cmds.len() {
            let (id, n) = (cmds[i] & 7, cmds[i] >> 3);
            i += 1;
            if id == CLOSE_PATH {
                continue;
            }
            for k in 0..n as usize {
                cur = [cur[0] + unzig(cmds[i]), cur[1] + unzig(cmds[i + 1])];
                i += 2;
                if id == MOVE_TO && (k == 0 || out.is_empty()) {
                    out.push(Vec::new());
                }
                out.last_mut().expect("a part").push(cur);
            }
        }
        out
    }

    fn columns() -> Vec<Column> {
        ["name", "depth", "ratio", "open"]
            .iter()
            .zip([SqlType::Text, SqlType::Int, SqlType::Float, SqlType::Bool])
            .map(|(n, ty)| Column {
                name: n,
                ty,
                doc: "",
            })
            .collect()
    }

    /// A deterministic pseudo-random source (no dependency on the rand version in tests).
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self, n: u64) -> u64 {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (self.0 >> 33) % n
        }
    }

    #[test]
    fn equals_the_mvt_crate_decoded() {
        let cols = columns();
        let names: Vec<Arc<str>> = ["旭川", "吉井川", "高梁川"]
            .iter()
            .map(|s| Arc::from(*s))
            .collect();
        // A second copy of one text at another address: must share the value entry.
        let again: Arc<str> = Arc::from("旭川");
        let mut rng = Lcg(42);
        let mut feats = Vec::new();
        for id in 1..=300u64 {
            let values = vec![
                match rng.next(5) {
                    0 => Val::Null,
                    1 => Val::Text(again.clone()),
                    k => Val::Text(names[k as usize - 2].clone()),
                },
                if rng.next(5) == 0 {
                    Val::Null
                } else {
                    Val::Int(rng.next(7) as i64 - 2)
                },
                Val::Float(rng.next(4) as f64 * 0.5),
                Val::Bool(rng.next(2) == 0),
            ];
            let ty = [GeomType::Point, GeomType::Line, GeomType::Polygon][rng.next(3) as usize];
            let mut parts = Vec::new();
            let n_parts = if ty == GeomType::Point {
                1
            } else {
                1 + rng.next(3)
            };
            for _ in 0..n_parts {
                let n = match ty {
                    GeomType::Point => 1 + rng.next(3),
                    _ => 3 + rng.next(12),
                };
                // Small steps on a coarse grid: repeats and axis-aligned runs happen often.
                let mut p = [rng.next(4096) as i32 - 64, rng.next(4096) as i32 - 64];
                let mut part = Vec::new();
                for _ in 0..n {
                    part.push(p);
                    p[rng.next(2) as usize] += rng.next(5) as i32 * 3 - 3;
                }
                parts.push(part);
            }
            feats.push((id, values, ty, parts));
        }

        let mut ours = LayerWriter::new("flood", 4096, &cols);
        let mut g = GeomBuf::default();
        let mut theirs = mvt::Tile::new(4096).create_layer("flood");
        for (id, values, ty, parts) in &feats {
            g.clear();
            let mut enc = mvt::GeomEncoder::<i32>::new(match ty {
                GeomType::Point => mvt::GeomType::Point,
                GeomType::Line => mvt::GeomType::Linestring,
                GeomType::Polygon => mvt::GeomType::Polygon,
            });
            let mut last_end: Option<IPt> = None;
            for part in parts {
                // The mvt crate skips the MoveTo of a part that starts where the last ended
                // (invalid for rings); such parts are not compared.
                if last_end == Some(part[0]) {
                    continue;
                }
                match ty {
                    GeomType::Point => g.points(part),
                    GeomType::Line => g.line(part),
                    GeomType::Polygon => g.ring(part, true),
                }
                for p in part {
                    enc.add_point(p[0], p[1]).unwrap();
                }
                if *ty != GeomType::Point {
                    enc.complete_geom().unwrap();
                }
                last_end = part.last().copied();
            }
            ours.add(*id, &cols, values, *ty, &g.bytes);
            let mut f = theirs.into_feature(enc.encode().unwrap());
            f.set_id(*id);
            for (c, v) in cols.iter().zip(values) {
                match v {
                    Val::Null => {}
                    Val::Text(s) => f.add_tag_string(c.name, s),
                    Val::Int(i) => f.add_tag_int(c.name, *i),
                    Val::Float(x) => f.add_tag_double(c.name, *x),
                    Val::Bool(b) => f.add_tag_bool(c.name, *b),
                }
            }
            theirs = f.into_layer();
        }
        let mut tile = Vec::new();
        ours.finish_into(&mut tile, std::iter::once(0..ours.features_len()));
        let mut t = mvt::Tile::new(4096);
        t.add_layer(theirs).unwrap();
        let (a, b) = (decode(&tile), decode(&t.to_bytes().unwrap()));
        // Where the mvt crate wrote a degenerate part (a ring of fewer than three points), we
        // write none: compare those features by everything but geometry.
        let mut same_geom = 0;
        assert_eq!(a.len(), 1);
        assert_eq!((&a[0].0, a[0].1, a[0].2), (&b[0].0, b[0].1, b[0].2));
        assert_eq!(a[0].3.len(), b[0].3.len());
        for (fa, fb) in a[0].3.iter().zip(&b[0].3) {
            assert_eq!((fa.0, fa.1, &fa.2), (fb.0, fb.1, &fb.2));
            if fa.3 == fb.3 {
                same_geom += 1;
            } else {
                let min = if fa.1 == 3 { 3 } else { 2 };
                let mut theirs = parts(&fb.3);
                theirs.retain(|p| p.len() >= min);
                assert_eq!(parts(&fa.3), theirs, "feature {}", fa.0);
            }
        }
        assert!(same_geom >= 250, "{same_geom} of 300 geometries equal");
        // One value entry per distinct text, whatever its address.
        let texts = fields(&tile[..])
            .into_iter()
            .flat_map(|(_, l)| fields(l.unwrap()))
            .filter(|(f, _)| *f == 4)
            .filter(|(_, v)| v.unwrap()[0] == 0x0a)
            .count();
        assert_eq!(texts, 3);
    }

    #[test]
    fn varints() {
        for v in [
            0u64,
            1,
            127,
            128,
            16_383,
            16_384,
            u64::from(u32::MAX),
            u64::MAX,
        ] {
            let mut b = Vec::new();
            put_varint(&mut b, v);
            assert_eq!(b.len(), varint_len(v), "{v}");
            assert_eq!(varint(&b, &mut 0), v);
        }
    }

    #[test]
    fn rings_drop_collinear_and_repeated_points() {
        let mut g = GeomBuf::default();
        g.ring(&[[0, 0], [5, 0], [5, 0], [10, 0], [10, 10], [0, 10]], true);
        // MoveTo(1) 0,0; LineTo(3) 10,0 0,10 -10,0; ClosePath.
        assert_eq!(packed(&g.bytes), vec![9, 0, 0, 26, 20, 0, 0, 20, 19, 0, 15]);
        let n = g.bytes.len();
        g.ring(&[[0, 0], [0, 0], [1, 1]], true);
        assert_eq!(
            g.bytes.len(),
            n,
            "a ring of two distinct points is not written"
        );
    }
}
