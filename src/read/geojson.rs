//! GeoJSON (RFC 7946) and the legacy `crs` member Japanese portals still write.
//!
//! The file is parsed in one pass with serde, feature by feature: properties become text,
//! coordinates go straight into geo types without an intermediate JSON tree, so a 500 MB layer
//! streams at parser speed. The `crs` member must come before `features` (as GDAL, QGIS and the
//! KSJ files write it); one that comes after is refused rather than applied to nothing.

use super::{place_geometry, transformer_for, Fatal, Format, RawFeature, Sink, SourceInfo};
use crate::crs::{self, Crs};
use crate::report::{code, issue, Loc, Report};
use geo::{Coord, Geometry, LineString, MultiLineString, MultiPoint, MultiPolygon, Point, Polygon};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::fmt;
use std::path::Path;

/// Read a GeoJSON file.
pub fn read(
    path: &Path,
    name: &str,
    crs_override: Option<Crs>,
    report: &mut Report,
    sink: &mut Sink<'_>,
) -> Result<(), Fatal> {
    let bytes = std::fs::read(path).map_err(|e| {
        report.push_in(
            name,
            issue(code::IO_ERROR).detail(e.to_string(), e.to_string()),
        );
        Fatal
    })?;
    read_bytes(&bytes, name, crs_override, report, sink)
}

/// Parse GeoJSON bytes (split out for tests).
pub fn read_bytes(
    bytes: &[u8],
    name: &str,
    crs_override: Option<Crs>,
    report: &mut Report,
    sink: &mut Sink<'_>,
) -> Result<(), Fatal> {
    let body = match bytes.strip_prefix(b"\xEF\xBB\xBF") {
        Some(b) => {
            report.push_in(name, issue(code::BOM_REMOVED));
            b
        }
        None => bytes,
    };
    report.encoding = Some("UTF-8".into());
    let mut ctx = Ctx {
        name,
        crs_override,
        report,
        sink,
        src: None,
        n: 0,
        fatal: false,
        stopped: false,
    };
    let mut de = serde_json::Deserializer::from_slice(body);
    let res = (&mut de).deserialize_map(TopVisitor { ctx: &mut ctx });
    let res = res.and_then(|()| de.end());
    if ctx.stopped {
        return Ok(());
    }
    if ctx.fatal {
        return Err(Fatal);
    }
    if let Err(e) = res {
        ctx.report.push_in(
            name,
            issue(code::GEOJSON_INVALID)
                .at(if ctx.n > 0 {
                    Loc::Feature(ctx.n)
                } else {
                    Loc::File
                })
                .detail(
                    format!("{}行{}列付近: {e}", e.line(), e.column()),
                    format!("near line {} column {}: {e}", e.line(), e.column()),
                ),
        );
        return Err(Fatal);
    }
    if ctx.src.is_none() {
        ctx.report.push_in(
            name,
            issue(code::GEOJSON_INVALID).detail(
                "FeatureCollectionのfeaturesがありません",
                "no features member in a FeatureCollection",
            ),
        );
        return Err(Fatal);
    }
    Ok(())
}

struct Ctx<'a, 'b> {
    name: &'a str,
    crs_override: Option<Crs>,
    report: &'a mut Report,
    sink: &'a mut Sink<'b>,
    src: Option<SourceInfo>,
    n: u64,
    fatal: bool,
    /// The sink asked to stop: the rest of the file is not read.
    stopped: bool,
}

impl Ctx<'_, '_> {
    fn start(&mut self, declared: Option<Crs>) -> Result<(), Fatal> {
        if self.src.is_some() {
            return Ok(());
        }
        let (crs, how) = match (self.crs_override, declared) {
            (Some(c), _) => (c, "--crs"),
            (None, Some(c)) => (c, "GeoJSONのcrsメンバー / legacy crs member"),
            (None, None) => (
                Crs::from_epsg(4326).map_err(|_| Fatal)?,
                "RFC 7946 (WGS 84 経緯度 / lon-lat)",
            ),
        };
        let transformer = transformer_for(crs, how, self.name, self.report)?;
        self.src = Some(SourceInfo {
            file: self.name.to_string(),
            format: Format::GeoJson,
            fields: Vec::new(),
            transformer,
        });
        Ok(())
    }

    fn feature(&mut self, f: FeatureIn) {
        self.n += 1;
        let loc = Loc::Feature(self.n);
        self.report.records_read += 1;
        let Some(src) = &self.src else { return };
        let geometry = match f.geometry {
            None => None,
            Some(g) => match build(g, &mut 0) {
                Ok((g, closed)) => {
                    if closed > 0 {
                        self.report.push_in(
                            self.name,
                            issue(code::RING_CLOSED)
                                .at(loc)
                                .detail(format!("{closed}個の輪郭"), format!("{closed} rings")),
                        );
                    }
                    match place_geometry(src, loc, g, self.report) {
                        Some(g) => Some(g),
                        None => return,
                    }
                }
                Err(msg) => {
                    self.report.push_in(
                        self.name,
                        issue(code::GEOJSON_INVALID)
                            .at(loc)
                            .column("geometry")
                            .detail(msg.clone(), msg),
                    );
                    return;
                }
            },
        };
        let flow = (self.sink)(
            src,
            RawFeature {
                loc,
                props: f.properties.0,
                geometry,
                derived: 0,
            },
            self.report,
        );
        self.stopped = flow.is_break();
    }
}

struct TopVisitor<'c, 'a, 'b> {
    ctx: &'c mut Ctx<'a, 'b>,
}

impl<'de> Visitor<'de> for TopVisitor<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a GeoJSON FeatureCollection object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut declared: Option<Crs> = None;
        let mut ty: Option<String> = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "type" => {
                    let t: String = map.next_value()?;
                    if t != "FeatureCollection" {
                        return Err(de::Error::custom(format!(
                            "type is {t:?}; expected \"FeatureCollection\""
                        )));
                    }
                    ty = Some(t);
                }
                "crs" => {
                    let v: serde_json::Value = map.next_value()?;
                    if self.ctx.src.is_some() {
                        return Err(de::Error::custom(
                            "the crs member comes after features; put it before features",
                        ));
                    }
                    match legacy_crs(&v) {
                        Ok(c) => declared = Some(c),
                        Err(e) => {
                            self.ctx.report.push_in(
                                self.ctx.name,
                                issue(code::CRS_UNSUPPORTED)
                                    .column("crs")
                                    .value(v.to_string())
                                    .detail(e.to_string(), e.to_string()),
                            );
                            self.ctx.fatal = true;
                            return Err(de::Error::custom("unsupported crs"));
                        }
                    }
                }
                "features" => {
                    if self.ctx.start(declared).is_err() {
                        self.ctx.fatal = true;
                        return Err(de::Error::custom("crs"));
                    }
                    map.next_value_seed(FeaturesSeed { ctx: self.ctx })?;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        if ty.is_none() {
            return Err(de::Error::custom("missing \"type\": \"FeatureCollection\""));
        }
        Ok(())
    }
}

/// The legacy `crs` member: `{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::6673"}}`
/// or the older `{"type":"EPSG","properties":{"code":6673}}`.
fn legacy_crs(v: &serde_json::Value) -> Result<Crs, crs::CrsError> {
    let props = &v["properties"];
    if let Some(name) = props["name"].as_str() {
        return crs::parse_crs_ref(name);
    }
    if let Some(code) = props["code"].as_u64() {
        return Crs::from_epsg(code as u32);
    }
    if let Some(code) = props["code"].as_str() {
        return crs::parse_crs_ref(code);
    }
    Err(crs::CrsError::Unreadable(v.to_string()))
}

struct FeaturesSeed<'c, 'a, 'b> {
    ctx: &'c mut Ctx<'a, 'b>,
}

impl<'de> DeserializeSeed<'de> for FeaturesSeed<'_, '_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for FeaturesSeed<'_, '_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an array of features")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(f) = seq.next_element::<FeatureIn>()? {
            self.ctx.feature(f);
            if self.ctx.stopped {
                return Err(serde::de::Error::custom("stopped by the reader's caller"));
            }
        }
        Ok(())
    }
}

#[derive(Deserialize)]
struct FeatureIn {
    #[serde(rename = "type")]
    _ty: Option<IgnoredAny>,
    geometry: Option<GeomIn>,
    #[serde(default)]
    properties: Props,
}

#[derive(Deserialize)]
struct GeomIn {
    #[serde(rename = "type")]
    ty: String,
    coordinates: Option<Coords>,
    geometries: Option<Vec<GeomIn>>,
}

/// Properties as ordered (key, text) pairs.
#[derive(Default)]
struct Props(Vec<(String, Option<String>)>);

impl<'de> Deserialize<'de> for Props {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Props;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a properties object or null")
            }
            fn visit_unit<E: de::Error>(self) -> Result<Props, E> {
                Ok(Props::default())
            }
            fn visit_none<E: de::Error>(self) -> Result<Props, E> {
                Ok(Props::default())
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Props, A::Error> {
                let mut v = Vec::new();
                while let Some(k) = m.next_key::<String>()? {
                    let val: PropVal = m.next_value()?;
                    v.push((k, val.0));
                }
                Ok(Props(v))
            }
        }
        d.deserialize_any(V)
    }
}

struct PropVal(Option<String>);

impl<'de> Deserialize<'de> for PropVal {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PropVal;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a property value")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PropVal, E> {
                Ok(PropVal(Some(s.to_string())))
            }
            fn visit_string<E: de::Error>(self, s: String) -> Result<PropVal, E> {
                Ok(PropVal(Some(s)))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<PropVal, E> {
                Ok(PropVal(Some(n.to_string())))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<PropVal, E> {
                Ok(PropVal(Some(n.to_string())))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<PropVal, E> {
                Ok(PropVal(Some(crate::dataset::fmt_float(n))))
            }
            fn visit_bool<E: de::Error>(self, b: bool) -> Result<PropVal, E> {
                Ok(PropVal(Some(b.to_string())))
            }
            fn visit_unit<E: de::Error>(self) -> Result<PropVal, E> {
                Ok(PropVal(None))
            }
            fn visit_none<E: de::Error>(self) -> Result<PropVal, E> {
                Ok(PropVal(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<PropVal, A::Error> {
                let v = serde_json::Value::deserialize(de::value::SeqAccessDeserializer::new(s))?;
                Ok(PropVal(Some(v.to_string())))
            }
            fn visit_map<A: MapAccess<'de>>(self, m: A) -> Result<PropVal, A::Error> {
                let v = serde_json::Value::deserialize(de::value::MapAccessDeserializer::new(m))?;
                Ok(PropVal(Some(v.to_string())))
            }
        }
        d.deserialize_any(V)
    }
}

/// Nested coordinate arrays, read without a JSON tree: a position becomes a `Coord` directly,
/// and an array of positions one `Vec<Coord>`. Every array is sized to what it holds and an
/// empty array is refused inside another, so a hostile file cannot make the tree much bigger
/// than itself (`[[],[],…]` once cost ~60× the file).
enum Coords {
    Pos(Coord<f64>),
    Positions(Vec<Coord<f64>>),
    List(Vec<Coords>),
}

impl Coords {
    fn is_empty_list(&self) -> bool {
        matches!(self, Coords::List(v) if v.is_empty())
    }
}

enum Elem {
    Num(f64),
    C(Coords),
}

impl<'de> Deserialize<'de> for Elem {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Elem;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number or an array")
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Elem, E> {
                Ok(Elem::Num(n))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Elem, E> {
                Ok(Elem::Num(n as f64))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Elem, E> {
                Ok(Elem::Num(n as f64))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, s: A) -> Result<Elem, A::Error> {
                CoordsVisitor.visit_seq(s).map(Elem::C)
            }
        }
        d.deserialize_any(V)
    }
}

struct CoordsVisitor;

impl<'de> Visitor<'de> for CoordsVisitor {
    type Value = Coords;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a coordinate array")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut s: A) -> Result<Coords, A::Error> {
        match s.next_element::<Elem>()? {
            None => Ok(Coords::List(Vec::new())),
            Some(Elem::Num(x)) => {
                let y = match s.next_element::<Elem>()? {
                    Some(Elem::Num(y)) => y,
                    _ => return Err(de::Error::custom("a position needs two numbers")),
                };
                // Z and M are dropped.
                while s.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Coords::Pos(Coord { x, y }))
            }
            Some(Elem::C(Coords::Pos(p))) => {
                let mut v = vec![p];
                while let Some(e) = s.next_element::<Elem>()? {
                    match e {
                        Elem::C(Coords::Pos(q)) => v.push(q),
                        _ => return Err(de::Error::custom("mixed positions and other values")),
                    }
                }
                v.shrink_to_fit();
                Ok(Coords::Positions(v))
            }
            Some(Elem::C(first)) => {
                if first.is_empty_list() {
                    return Err(de::Error::custom(
                        "an empty coordinate array inside an array",
                    ));
                }
                let mut v = vec![first];
                while let Some(e) = s.next_element::<Elem>()? {
                    match e {
                        Elem::C(c) if c.is_empty_list() => {
                            return Err(de::Error::custom(
                                "an empty coordinate array inside an array",
                            ))
                        }
                        Elem::C(Coords::Pos(_)) => {
                            return Err(de::Error::custom("mixed positions and arrays"))
                        }
                        Elem::C(c) => v.push(c),
                        Elem::Num(_) => return Err(de::Error::custom("mixed numbers and arrays")),
                    }
                }
                v.shrink_to_fit();
                Ok(Coords::List(v))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Coords {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(CoordsVisitor)
    }
}

fn pos(c: &Coords) -> Result<Coord<f64>, String> {
    match c {
        Coords::Pos(p) => Ok(*p),
        _ => Err("expected a position [x, y]".into()),
    }
}

/// An array of positions (an empty array has none).
fn positions(c: &Coords) -> Result<&[Coord<f64>], String> {
    match c {
        Coords::Positions(v) => Ok(v),
        Coords::List(v) if v.is_empty() => Ok(&[]),
        _ => Err("expected an array of positions".into()),
    }
}

/// An array of arrays (rings, lines, polygons).
fn list(c: &Coords) -> Result<&[Coords], String> {
    match c {
        Coords::List(v) => Ok(v),
        Coords::Positions(_) => Err("expected an array of arrays of positions".into()),
        Coords::Pos(_) => Err("expected an array of positions".into()),
    }
}

fn line(c: &Coords) -> Result<LineString<f64>, String> {
    let pts = positions(c)?.to_vec();
    if pts.len() < 2 {
        return Err("a LineString needs at least 2 positions".into());
    }
    Ok(LineString(pts))
}

fn ring(c: &Coords, closed: &mut u32) -> Result<LineString<f64>, String> {
    let mut pts = positions(c)?.to_vec();
    if pts.first() != pts.last() {
        if let Some(&f) = pts.first() {
            pts.push(f);
            *closed += 1;
        }
    }
    if pts.len() < 4 {
        return Err(format!(
            "a polygon ring needs at least 4 positions, found {}",
            pts.len()
        ));
    }
    Ok(LineString(pts))
}

fn polygon(c: &Coords, closed: &mut u32) -> Result<Polygon<f64>, String> {
    let rings = list(c)?;
    let Some((ext, holes)) = rings.split_first() else {
        return Err("a Polygon needs at least one ring".into());
    };
    let ext = ring(ext, closed)?;
    let holes = holes
        .iter()
        .map(|h| ring(h, closed))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Polygon::new(ext, holes))
}

/// Build a geo geometry; returns it and the number of rings that had to be closed.
fn build(g: GeomIn, closed: &mut u32) -> Result<(Geometry<f64>, u32), String> {
    let need = |c: &Option<Coords>| -> Result<(), String> {
        if c.is_none() {
            Err(format!("{} without coordinates", g.ty))
        } else {
            Ok(())
        }
    };
    need(&g.coordinates).or_else(|e| {
        if g.ty == "GeometryCollection" {
            Ok(())
        } else {
            Err(e)
        }
    })?;
    let empty = Coords::List(Vec::new());
    let c = g.coordinates.as_ref().unwrap_or(&empty);
    let geom = match g.ty.as_str() {
        "Point" => Geometry::Point(Point(pos(c)?)),
        "LineString" => Geometry::LineString(line(c)?),
        "Polygon" => Geometry::Polygon(polygon(c, closed)?),
        "MultiPoint" => Geometry::MultiPoint(MultiPoint(
            positions(c)?.iter().map(|p| Point(*p)).collect(),
        )),
        "MultiLineString" => Geometry::MultiLineString(MultiLineString(
            list(c)?.iter().map(line).collect::<Result<_, _>>()?,
        )),
        "MultiPolygon" => Geometry::MultiPolygon(MultiPolygon(
            list(c)?
                .iter()
                .map(|p| polygon(p, closed))
                .collect::<Result<_, _>>()?,
        )),
        "GeometryCollection" => {
            let parts = g
                .geometries
                .unwrap_or_default()
                .into_iter()
                .map(|p| build(p, closed).map(|x| x.0))
                .collect::<Result<Vec<_>, _>>()?;
            Geometry::GeometryCollection(geo::GeometryCollection(parts))
        }
        other => return Err(format!("unknown geometry type {other:?}")),
    };
    Ok((geom, *closed))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(json: &str) -> (Vec<RawFeature>, Report, Result<(), Fatal>) {
        let mut report = Report::new("t.geojson");
        let mut out = Vec::new();
        let r = read_bytes(
            json.as_bytes(),
            "t.geojson",
            None,
            &mut report,
            &mut |_, f, _| {
                out.push(f);
                std::ops::ControlFlow::Continue(())
            },
        );
        (out, report, r)
    }

    #[test]
    fn plain_rfc7946() {
        let (fs, report, r) = run(r#"{"type":"FeatureCollection","features":[
              {"type":"Feature","properties":{"A31a_105":3,"A31a_102":"サンプル川","x":null,"o":{"a":1}},
               "geometry":{"type":"Polygon","coordinates":[[[133.9,34.6,5],[133.91,34.6],[133.91,34.61],[133.9,34.6]]]}}]}"#);
        assert!(r.is_ok(), "{}", report.render_text());
        assert_eq!(fs.len(), 1);
        assert_eq!(fs[0].get("A31a_105"), Some("3"));
        assert_eq!(fs[0].get("x"), None);
        assert_eq!(fs[0].get("o"), Some(r#"{"a":1}"#));
        assert_eq!(report.crs.as_deref(), Some("EPSG:4326 WGS 84 経緯度"));
        let Some(Geometry::Polygon(p)) = &fs[0].geometry else {
            panic!()
        };
        assert_eq!(p.exterior().0.len(), 4);
    }

    #[test]
    fn legacy_crs_member_in_plane_zone_v() {
        // Zone V origin (36N, 134°20'E) shifted 100 km south, 10 km east: x = easting, y = northing.
        let (fs, report, r) = run(
            r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"urn:ogc:def:crs:EPSG::6673"}},
              "features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[10000,-100000]}}]}"#,
        );
        assert!(r.is_ok(), "{}", report.render_text());
        assert!(report.crs.as_deref().unwrap().starts_with("EPSG:6673"));
        let Some(Geometry::Point(p)) = fs[0].geometry else {
            panic!()
        };
        assert!(
            (p.x() - 134.4436).abs() < 0.001 && (p.y() - 35.0984).abs() < 0.001,
            "{p:?}"
        );
    }

    #[test]
    fn old_style_epsg_crs_and_swapped_axes() {
        let (fs, report, r) = run(
            r#"{"type":"FeatureCollection","crs":{"type":"EPSG","properties":{"code":6668}},
              "features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[34.6,133.9]}}]}"#,
        );
        assert!(r.is_ok());
        assert_eq!(report.count(code::LATLON_SWAPPED), 1);
        let Some(Geometry::Point(p)) = fs[0].geometry else {
            panic!()
        };
        assert_eq!((p.x(), p.y()), (133.9, 34.6));
    }

    #[test]
    fn unclosed_ring_is_closed_with_warning() {
        let (fs, report, _) = run(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},
               "geometry":{"type":"Polygon","coordinates":[[[133.9,34.6],[133.91,34.6],[133.91,34.61],[133.9,34.61]]]}}]}"#,
        );
        assert_eq!(fs.len(), 1);
        assert_eq!(report.count(code::RING_CLOSED), 1);
        assert_eq!(
            report
                .issues
                .iter()
                .find(|i| i.code == "RING_CLOSED")
                .unwrap()
                .loc,
            Loc::Feature(1)
        );
    }

    #[test]
    fn refusals() {
        let (_, report, r) = run(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[1,2]]]}}"#,
        );
        assert!(r.is_err());
        assert!(report.count(code::GEOJSON_INVALID) >= 1);
        let (_, report, r) = run(
            r#"{"type":"FeatureCollection","crs":{"type":"name","properties":{"name":"EPSG:32654"}},"features":[]}"#,
        );
        assert!(r.is_err());
        assert_eq!(report.count(code::CRS_UNSUPPORTED), 1);
        let (_, report, _) = run(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[10.0,50.0]}}]}"#,
        );
        assert_eq!(report.count(code::COORD_OUTSIDE_JAPAN), 1);
        let (_, _, r) = run(r#"{"type":"Topology"}"#);
        assert!(r.is_err());
        let (_, report, r) = run(
            r#"{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[133.9,34.6],[133.91,34.6],[133.9,34.6]]]}}]}"#,
        );
        assert!(r.is_ok());
        assert_eq!(report.count(code::GEOJSON_INVALID), 1);
    }

    /// Heap bytes the parsed coordinate tree holds.
    fn heap_bytes(c: &Coords) -> usize {
        match c {
            Coords::Pos(_) => 0,
            Coords::Positions(v) => v.capacity() * std::mem::size_of::<Coord<f64>>(),
            Coords::List(v) => {
                v.capacity() * std::mem::size_of::<Coords>()
                    + v.iter().map(heap_bytes).sum::<usize>()
            }
        }
    }

    #[test]
    fn coordinate_trees_stay_within_ten_times_the_text() {
        let n = 20_000;
        let ring = format!("[{}[0,0]]", "[0,0],".repeat(n));
        let tiny_polys = format!("[{}[[[0,0]]]]", "[[[0,0]]],".repeat(n));
        let lines = format!("[{}[[1,2],[3,4]]]", "[[1,2],[3,4]],".repeat(n));
        for text in [&ring, &tiny_polys, &lines] {
            let c: Coords = serde_json::from_str(text).unwrap();
            let heap = heap_bytes(&c);
            assert!(
                heap <= 10 * text.len(),
                "{} bytes of text hold {heap} bytes",
                text.len()
            );
        }
        // Empty arrays inside arrays cost slots but carry nothing: refused.
        let empties = format!("[{}[]]", "[],".repeat(n));
        assert!(serde_json::from_str::<Coords>(&empties).is_err());
        let nested = format!("[{}[[]]]", "[[]],".repeat(n));
        assert!(serde_json::from_str::<Coords>(&nested).is_err());
        // A top-level empty array is an empty geometry, still read.
        assert!(
            matches!(serde_json::from_str::<Coords>("[]"), Ok(Coords::List(v)) if v.is_empty())
        );
    }
}
