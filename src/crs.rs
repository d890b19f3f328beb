//! Coordinate reference systems a Japanese city hands over, and the transformation of their
//! coordinates to JGD2011 longitude/latitude (which equals WGS 84 at map scale) with PROJ.
//!
//! Accepted: EPSG 4326, 6668 (JGD2011), 4612 (JGD2000), 3857 (Web Mercator), the 19 plane
//! rectangular zones of JGD2011 (6669–6687) and JGD2000 (2443–2461), and the Tokyo datum 4301 and
//! its zones 30161–30179, shifted with the published 3-parameter Helmert (approximate, metres).
//! Plane coordinates are always taken as x = easting, y = northing, as GDAL and QGIS write them.

use geo::{Coord, Geometry};
use std::path::PathBuf;
use std::sync::OnceLock;

/// Geodetic datum of a CRS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Datum {
    /// JGD2011 (EPSG 6668 family).
    Jgd2011,
    /// JGD2000 (EPSG 4612 family).
    Jgd2000,
    /// 旧日本測地系 (Bessel), EPSG 4301 family.
    Tokyo,
    /// WGS 84.
    Wgs84,
}

/// What a CRS's coordinates are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Longitude/latitude in degrees.
    Geographic,
    /// Plane rectangular zone 1–19 (平面直角座標系), metres.
    Plane(u8),
    /// Web Mercator metres.
    WebMercator,
}

/// A supported CRS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Crs {
    /// EPSG code.
    pub epsg: u32,
    /// Datum.
    pub datum: Datum,
    /// Geographic, plane zone or Web Mercator.
    pub kind: Kind,
}

/// The CRS everything is stored in.
pub const STORE_EPSG: u32 = 6668;

/// Origins (latitude, longitude in degrees) of the 19 plane rectangular zones (国土交通省告示第9号).
pub const ZONE_ORIGINS: [(f64, f64); 19] = [
    (33.0, 129.5),
    (33.0, 131.0),
    (36.0, 132.0 + 10.0 / 60.0),
    (33.0, 133.5),
    (36.0, 134.0 + 20.0 / 60.0),
    (36.0, 136.0),
    (36.0, 137.0 + 10.0 / 60.0),
    (36.0, 138.5),
    (36.0, 139.0 + 50.0 / 60.0),
    (40.0, 140.0 + 50.0 / 60.0),
    (44.0, 140.25),
    (44.0, 142.25),
    (44.0, 144.25),
    (26.0, 142.0),
    (26.0, 127.5),
    (26.0, 124.0),
    (26.0, 131.0),
    (20.0, 136.0),
    (26.0, 154.0),
];

/// Tokyo datum → JGD2011/WGS 84 3-parameter shift (metres), as PROJ and GSI publish it.
pub const TOKYO_TOWGS84: [f64; 3] = [-146.414, 507.337, 680.507];

const ROMAN: [&str; 19] = [
    "I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X", "XI", "XII", "XIII", "XIV", "XV",
    "XVI", "XVII", "XVIII", "XIX",
];

/// Errors of CRS identification and transformation.
#[derive(Debug, thiserror::Error)]
pub enum CrsError {
    /// An EPSG code outside the accepted list.
    #[error("EPSG:{0} is not supported (accepted: 4326, 6668, 4612, 3857, 6669–6687, 2443–2461, 4301, 30161–30179)")]
    Unsupported(u32),
    /// An EPSG CRS that OGC API clients cannot ask for (see [`ogc_crs_list`]).
    #[error("EPSG:{0} is not offered (offered: CRS84, EPSG 4326, 6668, 3857, 6669–6687)")]
    NotOffered(u32),
    /// A CRS name or URN that could not be read.
    #[error("cannot read the CRS name {0:?}")]
    Unreadable(String),
    /// A .prj WKT that matches no accepted CRS.
    #[error("the .prj does not describe an accepted CRS: {0}")]
    UnknownWkt(String),
    /// PROJ refused to build the transformation.
    #[error("PROJ cannot build the transformation from EPSG:{0}: {1}")]
    Create(u32, String),
    /// PROJ failed on a coordinate.
    #[error("PROJ failed to transform ({0}, {1}): {2}")]
    Transform(f64, f64, String),
}

impl Crs {
    /// The CRS for an EPSG code, if it is one machimap accepts.
    pub fn from_epsg(code: u32) -> Result<Crs, CrsError> {
        let (datum, kind) = match code {
            4326 => (Datum::Wgs84, Kind::Geographic),
            6668 => (Datum::Jgd2011, Kind::Geographic),
            4612 => (Datum::Jgd2000, Kind::Geographic),
            4301 => (Datum::Tokyo, Kind::Geographic),
            3857 => (Datum::Wgs84, Kind::WebMercator),
            6669..=6687 => (Datum::Jgd2011, Kind::Plane((code - 6668) as u8)),
            2443..=2461 => (Datum::Jgd2000, Kind::Plane((code - 2442) as u8)),
            30161..=30179 => (Datum::Tokyo, Kind::Plane((code - 30160) as u8)),
            _ => return Err(CrsError::Unsupported(code)),
        };
        Ok(Crs {
            epsg: code,
            datum,
            kind,
        })
    }

    /// The plane zone `zone` (1–19) of `datum`.
    pub fn plane(datum: Datum, zone: u8) -> Result<Crs, CrsError> {
        let base = match datum {
            Datum::Jgd2011 => 6668,
            Datum::Jgd2000 => 2442,
            Datum::Tokyo => 30160,
            Datum::Wgs84 => return Err(CrsError::Unsupported(0)),
        };
        if !(1..=19).contains(&zone) {
            return Err(CrsError::Unsupported(base + u32::from(zone)));
        }
        Crs::from_epsg(base + u32::from(zone))
    }

    /// True when the transformation is only approximate (Tokyo datum by 3 parameters).
    pub fn approximate(&self) -> bool {
        self.datum == Datum::Tokyo
    }

    /// True when coordinates are stored as given (JGD2011 and WGS 84 lon/lat).
    pub fn is_store_crs(&self) -> bool {
        matches!(self.epsg, 4326 | 6668)
    }

    /// Name for reports, e.g. `EPSG:6673 JGD2011 平面直角座標系 第V系`.
    pub fn label(&self) -> String {
        let d = match self.datum {
            Datum::Jgd2011 => "JGD2011",
            Datum::Jgd2000 => "JGD2000",
            Datum::Tokyo => "Tokyo (旧日本測地系)",
            Datum::Wgs84 => "WGS 84",
        };
        match self.kind {
            Kind::Geographic => format!("EPSG:{} {d} 経緯度", self.epsg),
            Kind::WebMercator => format!("EPSG:{} Web Mercator", self.epsg),
            Kind::Plane(z) => format!(
                "EPSG:{} {d} 平面直角座標系 第{}系",
                self.epsg,
                ROMAN[usize::from(z - 1)]
            ),
        }
    }
}

/// Read a CRS reference as GeoJSON's legacy `crs` member and CLI flags write it:
/// `EPSG:6673`, `urn:ogc:def:crs:EPSG::6673`, `urn:ogc:def:crs:EPSG:6.18:3:6673`,
/// `http://www.opengis.net/def/crs/EPSG/0/6673`, `urn:ogc:def:crs:OGC:1.3:CRS84`, `6673`.
pub fn parse_crs_ref(s: &str) -> Result<Crs, CrsError> {
    let t = s.trim();
    let upper = t.to_ascii_uppercase();
    if upper.ends_with("CRS84") {
        return Crs::from_epsg(4326);
    }
    let code = if upper.contains("EPSG") || t.bytes().all(|b| b.is_ascii_digit()) {
        t.rsplit([':', '/'])
            .next()
            .and_then(|c| c.trim().parse::<u32>().ok())
    } else {
        None
    };
    match code {
        Some(c) => Crs::from_epsg(c),
        None => Err(CrsError::Unreadable(t.to_string())),
    }
}

/// Identify the CRS of an ESRI or OGC WKT (`.prj`): an EPSG authority when present, else the
/// datum plus the projection parameters matched against the zone table.
pub fn identify_wkt(wkt: &str) -> Result<Crs, CrsError> {
    let w = wkt.replace([' ', '\r', '\n', '\t'], "");
    let lower = w.to_ascii_lowercase();
    // The outermost AUTHORITY/ID is the last one in WKT1 and WKT2.
    if let Some(code) = last_authority(&w) {
        if let Ok(c) = Crs::from_epsg(code) {
            return Ok(c);
        }
    }
    let datum = if lower.contains("2011") {
        Datum::Jgd2011
    } else if lower.contains("2000") {
        Datum::Jgd2000
    } else if lower.contains("tokyo") || lower.contains("bessel") {
        Datum::Tokyo
    } else if lower.contains("wgs") {
        Datum::Wgs84
    } else {
        return Err(CrsError::UnknownWkt(short(wkt)));
    };
    let projected = lower.starts_with("projcs") || lower.starts_with("projcrs");
    if !projected {
        let code = match datum {
            Datum::Jgd2011 => 6668,
            Datum::Jgd2000 => 4612,
            Datum::Tokyo => 4301,
            Datum::Wgs84 => 4326,
        };
        return Crs::from_epsg(code);
    }
    if lower.contains("mercator_auxiliary_sphere")
        || lower.contains("pseudo-mercator")
        || lower.contains("popular_visualisation")
        || lower.contains("popularvisualisation")
    {
        return Crs::from_epsg(3857);
    }
    if !lower.contains("transverse_mercator") && !lower.contains("transversemercator") {
        return Err(CrsError::UnknownWkt(short(wkt)));
    }
    let lon0 = wkt_param(&lower, &["central_meridian", "longitude_of_natural_origin"])
        .ok_or_else(|| CrsError::UnknownWkt(short(wkt)))?;
    let lat0 = wkt_param(
        &lower,
        &["latitude_of_origin", "latitude_of_natural_origin"],
    )
    .ok_or_else(|| CrsError::UnknownWkt(short(wkt)))?;
    let zone = ZONE_ORIGINS
        .iter()
        .position(|&(la, lo)| (la - lat0).abs() < 1e-6 && (lo - lon0).abs() < 1e-6)
        .ok_or_else(|| CrsError::UnknownWkt(short(wkt)))?;
    Crs::plane(datum, zone as u8 + 1)
}

fn short(s: &str) -> String {
    s.chars().take(120).collect()
}

fn last_authority(w: &str) -> Option<u32> {
    let upper = w.to_ascii_uppercase();
    let pos = upper
        .rfind("AUTHORITY[\"EPSG\",")
        .map(|p| p + "AUTHORITY[\"EPSG\",".len())
        .or_else(|| {
            upper
                .rfind("ID[\"EPSG\",")
                .map(|p| p + "ID[\"EPSG\",".len())
        })?;
    // Only the outermost authority counts: it must close the whole definition.
    let rest = &w[pos..];
    let digits: String = rest
        .trim_start_matches('"')
        .chars()
        .take_while(|c| c.is_ascii_digit())
        .collect();
    let after = rest
        .trim_start_matches('"')
        .trim_start_matches(|c: char| c.is_ascii_digit());
    let tail = after.trim_start_matches('"').trim_start_matches(']');
    if tail.chars().all(|c| c == ']') {
        digits.parse().ok()
    } else {
        None
    }
}

fn wkt_param(lower: &str, names: &[&str]) -> Option<f64> {
    for n in names {
        let key = format!("\"{n}\",");
        if let Some(p) = lower.find(&key) {
            let rest = &lower[p + key.len()..];
            let num: String = rest
                .chars()
                .take_while(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | 'e' | '+'))
                .collect();
            return num.parse().ok();
        }
    }
    None
}

/// True when (lon, lat) lies in Japan's bounding box (with its remote islands).
pub fn in_japan(lon: f64, lat: f64) -> bool {
    (122.0..=154.5).contains(&lon) && (20.0..=46.0).contains(&lat)
}

/// Converts coordinates of one source CRS to JGD2011 lon/lat.
pub struct Transformer {
    crs: Crs,
    proj: Option<proj::Proj>,
}

impl std::fmt::Debug for Transformer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transformer")
            .field("crs", &self.crs)
            .finish()
    }
}

impl Transformer {
    /// Build the transformation from `crs` to the store CRS.
    pub fn new(crs: Crs) -> Result<Transformer, CrsError> {
        if crs.is_store_crs() {
            return Ok(Transformer { crs, proj: None });
        }
        let builder = proj_builder();
        let proj = match crs.datum {
            Datum::Tokyo => builder.proj(&tokyo_pipeline(crs.kind)),
            _ => builder.proj_known_crs(&format!("EPSG:{}", crs.epsg), "EPSG:6668", None),
        }
        .map_err(|e| CrsError::Create(crs.epsg, e.to_string()))?;
        Ok(Transformer {
            crs,
            proj: Some(proj),
        })
    }

    /// The source CRS.
    pub fn crs(&self) -> Crs {
        self.crs
    }

    /// True when coordinates pass through unchanged.
    pub fn is_identity(&self) -> bool {
        self.proj.is_none()
    }

    /// Transform one coordinate (x = easting or longitude, y = northing or latitude).
    pub fn point(&self, x: f64, y: f64) -> Result<(f64, f64), CrsError> {
        match &self.proj {
            None => Ok((x, y)),
            Some(p) => {
                let c: Coord<f64> = p
                    .convert(Coord { x, y })
                    .map_err(|e| CrsError::Transform(x, y, e.to_string()))?;
                if c.x.is_finite() && c.y.is_finite() {
                    Ok((c.x, c.y))
                } else {
                    Err(CrsError::Transform(x, y, "not finite".into()))
                }
            }
        }
    }

    /// Transform a geometry in place.
    pub fn geometry(&self, g: &mut Geometry<f64>) -> Result<(), CrsError> {
        let Some(p) = &self.proj else {
            return Ok(());
        };
        for_each_coord_slice(g, &mut |cs: &mut [Coord<f64>]| {
            let first = cs.first().copied().unwrap_or(Coord { x: 0.0, y: 0.0 });
            p.convert_array(cs)
                .map_err(|e| CrsError::Transform(first.x, first.y, e.to_string()))?;
            match cs.iter().find(|c| !c.x.is_finite() || !c.y.is_finite()) {
                Some(c) => Err(CrsError::Transform(c.x, c.y, "not finite".into())),
                None => Ok(()),
            }
        })
    }
}

/// The OGC URI of CRS84 (WGS 84 longitude/latitude, in that order).
pub const CRS84_URI: &str = "http://www.opengis.net/def/crs/OGC/1.3/CRS84";

/// A CRS that OGC API – Features Part 2 clients may ask for (`crs=`, `bbox-crs=`), named by
/// its OGC URI.
///
/// Coordinates are written in the CRS's own axis order, as Part 2 requires and as GDAL and QGIS
/// read them: EPSG 4326 and 6668 are latitude, longitude; the plane rectangular zones 6669–6687
/// are northing (EPSG's X), easting (EPSG's Y); CRS84 and 3857 are easting first. Everywhere
/// else in machimap (storage, ingest, downloads, tiles) x is easting: the swap happens only
/// here, on the way out, and on a `bbox-crs` box on the way in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OgcCrs {
    /// The EPSG CRS (CRS84 is EPSG 4326 with longitude first).
    pub crs: Crs,
    /// True for CRS84 (longitude, latitude).
    pub crs84: bool,
}

/// The OGC CRSs offered, CRS84 first (the default of every collection).
pub fn ogc_crs_list() -> Vec<OgcCrs> {
    let mut out = vec![OgcCrs::CRS84];
    for code in [4326, 6668, 3857].into_iter().chain(6669..=6687) {
        if let Ok(crs) = Crs::from_epsg(code) {
            out.push(OgcCrs { crs, crs84: false });
        }
    }
    out
}

impl OgcCrs {
    /// CRS84: what every response is in unless another CRS is asked for.
    pub const CRS84: OgcCrs = OgcCrs {
        crs: Crs {
            epsg: 4326,
            datum: Datum::Wgs84,
            kind: Kind::Geographic,
        },
        crs84: true,
    };

    /// Read a CRS as Part 2 names it: the OGC URI
    /// (`http://www.opengis.net/def/crs/EPSG/0/6673`, `…/OGC/1.3/CRS84`) or a safe CURIE
    /// (`[EPSG:6673]`, `[OGC:CRS84]`). Only the offered CRSs are accepted.
    pub fn from_uri(s: &str) -> Result<OgcCrs, CrsError> {
        let t = s.trim();
        let body = t
            .strip_prefix("http://www.opengis.net/def/crs/")
            .or_else(|| t.strip_prefix("https://www.opengis.net/def/crs/"));
        let code = match body {
            Some("OGC/1.3/CRS84") => return Ok(OgcCrs::CRS84),
            Some(rest) => rest.strip_prefix("EPSG/0/"),
            None => match t.strip_prefix('[').and_then(|x| x.strip_suffix(']')) {
                Some("OGC:CRS84") => return Ok(OgcCrs::CRS84),
                Some(curie) => curie.strip_prefix("EPSG:"),
                None => None,
            },
        };
        let code: u32 = code
            .and_then(|c| c.parse().ok())
            .ok_or_else(|| CrsError::Unreadable(t.chars().take(200).collect()))?;
        ogc_crs_list()
            .into_iter()
            .find(|c| !c.crs84 && c.crs.epsg == code)
            .ok_or(CrsError::NotOffered(code))
    }

    /// The OGC URI.
    pub fn uri(&self) -> String {
        if self.crs84 {
            CRS84_URI.to_string()
        } else {
            format!("http://www.opengis.net/def/crs/EPSG/0/{}", self.crs.epsg)
        }
    }

    /// True when the CRS's first axis is latitude or northing (EPSG 4326, 6668, 6669–6687).
    pub fn northing_first(&self) -> bool {
        !self.crs84 && matches!(self.crs.kind, Kind::Geographic | Kind::Plane(_))
    }

    /// True when coordinates are the stored longitude/latitude (perhaps swapped): JGD2011 and
    /// WGS 84 agree at map scale, as PROJ's own JGD2011 → WGS 84 operation (a null one) says.
    fn is_lonlat(&self) -> bool {
        self.crs.kind == Kind::Geographic
    }

    /// Convert stored geometries (JGD2011 lon/lat; a page of features at a time) to this CRS,
    /// in its axis order. PROJ runs on the reprojection threads; the caller waits, so call it
    /// from a blocking thread.
    pub fn geometries_from_store(
        &self,
        mut gs: Vec<Option<Geometry<f64>>>,
    ) -> Result<Vec<Option<Geometry<f64>>>, CrsError> {
        if !self.is_lonlat() {
            let crs = self.crs;
            gs = on_reprojector(move || {
                with_proj(crs, Direction::FromStore, |p| {
                    for g in gs.iter_mut().flatten() {
                        for_each_coord_slice(g, &mut |cs: &mut [Coord<f64>]| convert_slice(p, cs))?;
                    }
                    Ok(gs)
                })?
            })?;
        }
        if self.northing_first() {
            gs.iter_mut().flatten().for_each(swap_axes);
        }
        Ok(gs)
    }

    /// Convert one stored point (JGD2011 lon, lat) to this CRS, in its axis order.
    pub fn point_from_store(&self, lon: f64, lat: f64) -> Result<(f64, f64), CrsError> {
        let g = Geometry::Point(geo::Point::new(lon, lat));
        match self.geometries_from_store(vec![Some(g)])?.pop().flatten() {
            Some(Geometry::Point(p)) => Ok((p.x(), p.y())),
            _ => Err(CrsError::Transform(lon, lat, "not a point".into())),
        }
    }

    /// A box given in this CRS (`minA,minB,maxA,maxB` in its axis order, as `bbox-crs` sends
    /// it) as a lon/lat box in the store CRS (waits for a reprojection thread: call it from a
    /// blocking thread). The edges are densified before the envelope is
    /// taken: a straight edge in a plane zone or in Web Mercator is a curve in lon/lat, and its
    /// corners alone would miss the bulge.
    pub fn bbox_to_store(&self, b: [f64; 4]) -> Result<[f64; 4], CrsError> {
        let [x0, y0, x1, y1] = if self.northing_first() {
            [b[1], b[0], b[3], b[2]]
        } else {
            b
        };
        if self.is_lonlat() {
            return Ok([x0, y0, x1, y1]);
        }
        const STEPS: usize = 32;
        let mut ring = Vec::with_capacity(4 * STEPS);
        for i in 0..STEPS {
            let t = i as f64 / STEPS as f64;
            let (x, y) = (x0 + (x1 - x0) * t, y0 + (y1 - y0) * t);
            ring.extend([
                Coord { x, y: y0 },
                Coord { x: x1, y },
                Coord {
                    x: x1 + x0 - x,
                    y: y1,
                },
                Coord {
                    x: x0,
                    y: y1 + y0 - y,
                },
            ]);
        }
        let crs = self.crs;
        let ring = on_reprojector(move || {
            with_proj(crs, Direction::ToStore, |p| convert_slice(p, &mut ring))??;
            Ok(ring)
        })?;
        let mut out = [
            f64::INFINITY,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::NEG_INFINITY,
        ];
        for c in &ring {
            out = [
                out[0].min(c.x),
                out[1].min(c.y),
                out[2].max(c.x),
                out[3].max(c.y),
            ];
        }
        Ok(out)
    }
}

fn convert_slice(p: &proj::Proj, cs: &mut [Coord<f64>]) -> Result<(), CrsError> {
    let first = cs.first().copied().unwrap_or(Coord { x: 0.0, y: 0.0 });
    p.convert_array(cs)
        .map_err(|e| CrsError::Transform(first.x, first.y, e.to_string()))?;
    match cs.iter().find(|c| !c.x.is_finite() || !c.y.is_finite()) {
        Some(c) => Err(CrsError::Transform(c.x, c.y, "not finite".into())),
        None => Ok(()),
    }
}

fn swap_axes(g: &mut Geometry<f64>) {
    // Cannot fail: the closure never errs.
    let _ = for_each_coord_slice(g, &mut |cs: &mut [Coord<f64>]| {
        for c in cs {
            std::mem::swap(&mut c.x, &mut c.y);
        }
        Ok(())
    });
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Direction {
    FromStore,
    ToStore,
}

/// Transformations kept per reprojection thread (each holds a PROJ context of about 3 MB).
const PROJ_PER_THREAD: usize = 4;

/// This thread's transformations by (EPSG code, direction), most recently used last.
type ProjCache = Vec<((u32, Direction), std::rc::Rc<proj::Proj>)>;

thread_local! {
    static PROJS: std::cell::RefCell<ProjCache> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Threads that own the PROJ transformations of [`OgcCrs`]: `proj::Proj` is neither `Send`
/// nor `Sync` (its PROJ context must stay on one thread) and each holds a PROJ context of
/// about 3 MB, so rather than every request thread keeping its own, a few threads keep them
/// ([`PROJ_PER_THREAD`] each, least recently used dropped) and conversions are sent to them,
/// a page of features per job.
struct Reprojector {
    jobs: std::sync::Mutex<std::sync::mpsc::Sender<Job>>,
}

type Job = Box<dyn FnOnce() + Send>;

fn reprojector() -> &'static Reprojector {
    static R: OnceLock<Reprojector> = OnceLock::new();
    R.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel::<Job>();
        let rx = std::sync::Arc::new(std::sync::Mutex::new(rx));
        let n = std::thread::available_parallelism().map_or(1, |n| n.get().min(4));
        for i in 0..n {
            let rx = rx.clone();
            let spawned =
                std::thread::Builder::new()
                    .name(format!("crs-{i}"))
                    .spawn(move || loop {
                        // The lock is held only to take the next job.
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        match job {
                            Ok(job) => job(),
                            Err(_) => return,
                        }
                    });
            if let Err(e) = spawned {
                tracing::warn!("cannot start a reprojection thread: {e}");
            }
        }
        Reprojector {
            jobs: std::sync::Mutex::new(tx),
        }
    })
}

/// Run `f` on a reprojection thread and wait for it (a panic becomes an error).
fn on_reprojector<R: Send + 'static>(
    f: impl FnOnce() -> Result<R, CrsError> + Send + 'static,
) -> Result<R, CrsError> {
    let (tx, rx) = std::sync::mpsc::sync_channel(1);
    let job: Job = Box::new(move || {
        let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
        let _ = tx.send(out);
    });
    let gone = || CrsError::Transform(0.0, 0.0, "reprojection threads gone".into());
    reprojector()
        .jobs
        .lock()
        .map_err(|_| gone())?
        .send(job)
        .map_err(|_| gone())?;
    match rx.recv() {
        Ok(Ok(r)) => r,
        Ok(Err(_)) => Err(CrsError::Transform(0.0, 0.0, "PROJ panicked".into())),
        Err(_) => Err(gone()),
    }
}

/// Run `f` with this thread's transformation between `crs` and the store CRS.
fn with_proj<R>(crs: Crs, dir: Direction, f: impl FnOnce(&proj::Proj) -> R) -> Result<R, CrsError> {
    let key = (crs.epsg, dir);
    let cached = PROJS.with(|m| {
        let mut m = m.borrow_mut();
        let i = m.iter().position(|(k, _)| *k == key)?;
        // Most recently used last.
        let e = m.remove(i);
        let p = e.1.clone();
        m.push(e);
        Some(p)
    });
    let p = match cached {
        Some(p) => p,
        None => {
            let (from, to) = match dir {
                Direction::FromStore => (STORE_EPSG, crs.epsg),
                Direction::ToStore => (crs.epsg, STORE_EPSG),
            };
            let p = proj_builder()
                .proj_known_crs(&format!("EPSG:{from}"), &format!("EPSG:{to}"), None)
                .map_err(|e| CrsError::Create(crs.epsg, e.to_string()))?;
            let p = std::rc::Rc::new(p);
            PROJS.with(|m| {
                let mut m = m.borrow_mut();
                if m.len() >= PROJ_PER_THREAD {
                    m.remove(0);
                }
                m.push((key, p.clone()));
            });
            p
        }
    };
    Ok(f(&p))
}

/// Receives one run of coordinates to transform in place.
type SliceFn<'a> = dyn FnMut(&mut [Coord<f64>]) -> Result<(), CrsError> + 'a;

/// Visit every run of coordinates (a point, a line, a ring) as one mutable slice, so PROJ can
/// convert a whole ring in one call.
fn for_each_coord_slice(g: &mut Geometry<f64>, f: &mut SliceFn<'_>) -> Result<(), CrsError> {
    fn poly(p: &mut geo::Polygon<f64>, f: &mut SliceFn<'_>) -> Result<(), CrsError> {
        let mut err = Ok(());
        p.exterior_mut(|r| err = f(&mut r.0));
        err?;
        let mut err = Ok(());
        p.interiors_mut(|rs| {
            for r in rs {
                if err.is_ok() {
                    err = f(&mut r.0);
                }
            }
        });
        err
    }
    match g {
        Geometry::Point(p) => f(std::slice::from_mut(&mut p.0)),
        Geometry::Line(l) => {
            let mut cs = [l.start, l.end];
            f(&mut cs)?;
            *l = geo::Line::new(cs[0], cs[1]);
            Ok(())
        }
        Geometry::LineString(l) => f(&mut l.0),
        Geometry::Polygon(p) => poly(p, f),
        Geometry::MultiPoint(mp) => {
            let mut cs: Vec<Coord<f64>> = mp.0.iter().map(|p| p.0).collect();
            f(&mut cs)?;
            for (p, c) in mp.0.iter_mut().zip(cs) {
                p.0 = c;
            }
            Ok(())
        }
        Geometry::MultiLineString(ml) => ml.0.iter_mut().try_for_each(|l| f(&mut l.0)),
        Geometry::MultiPolygon(mp) => mp.0.iter_mut().try_for_each(|p| poly(p, f)),
        Geometry::GeometryCollection(gc) => {
            gc.0.iter_mut().try_for_each(|g| for_each_coord_slice(g, f))
        }
        Geometry::Rect(r) => {
            let mut poly_g = Geometry::Polygon(r.to_polygon());
            for_each_coord_slice(&mut poly_g, f)?;
            *g = poly_g;
            Ok(())
        }
        Geometry::Triangle(t) => {
            let mut poly_g = Geometry::Polygon(t.to_polygon());
            for_each_coord_slice(&mut poly_g, f)?;
            *g = poly_g;
            Ok(())
        }
    }
}

/// An explicit PROJ pipeline for the Tokyo datum: (inverse tmerc on Bessel) → geocentric →
/// 3-parameter Helmert → GRS80, so the result never depends on which grids happen to be installed.
fn tokyo_pipeline(kind: Kind) -> String {
    let [tx, ty, tz] = TOKYO_TOWGS84;
    let first = match kind {
        Kind::Plane(z) => {
            let (lat0, lon0) = ZONE_ORIGINS[usize::from(z - 1)];
            format!(
                "+step +inv +proj=tmerc +lat_0={lat0} +lon_0={lon0:.12} +k=0.9999 +x_0=0 +y_0=0 +ellps=bessel"
            )
        }
        _ => "+step +proj=unitconvert +xy_in=deg +xy_out=rad".to_string(),
    };
    format!(
        "+proj=pipeline {first} +step +proj=push +v_3 +step +proj=cart +ellps=bessel \
         +step +proj=helmert +x={tx} +y={ty} +z={tz} +step +inv +proj=cart +ellps=GRS80 \
         +step +proj=pop +v_3 +step +proj=unitconvert +xy_in=rad +xy_out=deg"
    )
}

/// The bytes of PROJ's `proj.db`, embedded at build time so a copied binary still finds it.
static PROJ_DB: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/proj.db"));

/// A PROJ context that finds `proj.db`: `PROJ_DATA`/`PROJ_LIB` when set, else PROJ's compiled-in
/// path when it exists, else a copy of the embedded database written once to a cache folder.
fn proj_builder() -> proj::ProjBuilder {
    let mut b = proj::ProjBuilder::new();
    if let Some(dir) = proj_data_dir() {
        let _ = b.set_search_paths(dir);
    }
    b
}

fn proj_data_dir() -> Option<&'static PathBuf> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        for var in ["PROJ_DATA", "PROJ_LIB"] {
            if let Some(v) = std::env::var_os(var) {
                let p = PathBuf::from(v);
                if p.join("proj.db").exists() {
                    return Some(p);
                }
            }
        }
        if PROJ_DB.is_empty() {
            return None;
        }
        let base = std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
            .unwrap_or_else(std::env::temp_dir);
        let dir = base
            .join("machimap")
            .join(format!("proj-{}", PROJ_DB.len()));
        let db = dir.join("proj.db");
        let ok = db
            .metadata()
            .map(|m| m.len() as usize == PROJ_DB.len())
            .unwrap_or(false);
        if !ok {
            std::fs::create_dir_all(&dir).ok()?;
            let tmp = dir.join(format!("proj.db.{}", std::process::id()));
            std::fs::write(&tmp, PROJ_DB).ok()?;
            std::fs::rename(&tmp, &db).ok()?;
        }
        Some(dir)
    })
    .as_ref()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epsg_table() {
        assert_eq!(Crs::from_epsg(6673).unwrap().kind, Kind::Plane(5));
        assert_eq!(Crs::from_epsg(2447).unwrap().kind, Kind::Plane(5));
        assert_eq!(Crs::from_epsg(30165).unwrap().kind, Kind::Plane(5));
        assert_eq!(Crs::from_epsg(6687).unwrap().kind, Kind::Plane(19));
        assert!(Crs::from_epsg(6688).is_err());
        assert!(Crs::from_epsg(30165).unwrap().approximate());
        assert_eq!(
            Crs::from_epsg(6673).unwrap().label(),
            "EPSG:6673 JGD2011 平面直角座標系 第V系"
        );
    }

    #[test]
    fn crs_references() {
        for s in [
            "urn:ogc:def:crs:EPSG::6673",
            "EPSG:6673",
            "http://www.opengis.net/def/crs/EPSG/0/6673",
            "urn:ogc:def:crs:EPSG:6.18:3:6673",
            "6673",
        ] {
            assert_eq!(parse_crs_ref(s).unwrap().epsg, 6673, "{s}");
        }
        assert_eq!(
            parse_crs_ref("urn:ogc:def:crs:OGC:1.3:CRS84").unwrap().epsg,
            4326
        );
        assert!(parse_crs_ref("EPSG:32654").is_err());
        assert!(parse_crs_ref("nonsense").is_err());
    }

    #[test]
    fn wkt_identification() {
        let esri_v = r#"PROJCS["JGD_2011_Japan_Zone_5",GEOGCS["GCS_JGD_2011",DATUM["D_JGD_2011",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]],PROJECTION["Transverse_Mercator"],PARAMETER["False_Easting",0.0],PARAMETER["False_Northing",0.0],PARAMETER["Central_Meridian",134.3333333333333],PARAMETER["Scale_Factor",0.9999],PARAMETER["Latitude_Of_Origin",36.0],UNIT["Meter",1.0]]"#;
        assert_eq!(identify_wkt(esri_v).unwrap().epsg, 6673);
        let jgd2000_ix = esri_v
            .replace("2011", "2000")
            .replace("134.3333333333333", "139.8333333333333");
        assert_eq!(identify_wkt(&jgd2000_ix).unwrap().epsg, 2451);
        let geo = r#"GEOGCS["GCS_JGD_2011",DATUM["D_JGD_2011",SPHEROID["GRS_1980",6378137.0,298.257222101]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(identify_wkt(geo).unwrap().epsg, 6668);
        let tokyo = r#"GEOGCS["GCS_Tokyo",DATUM["D_Tokyo",SPHEROID["Bessel_1841",6377397.155,299.1528128]],PRIMEM["Greenwich",0.0],UNIT["Degree",0.0174532925199433]]"#;
        assert_eq!(identify_wkt(tokyo).unwrap().epsg, 4301);
        let with_auth = r#"PROJCS["JGD2011 / Japan Plane Rectangular CS V",GEOGCS["JGD2011",AUTHORITY["EPSG","6668"]],PROJECTION["Transverse_Mercator"],AUTHORITY["EPSG","6673"]]"#;
        assert_eq!(identify_wkt(with_auth).unwrap().epsg, 6673);
        let merc = r#"PROJCS["WGS_1984_Web_Mercator_Auxiliary_Sphere",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984",SPHEROID["WGS_1984",6378137.0,298.257223563]]],PROJECTION["Mercator_Auxiliary_Sphere"]]"#;
        assert_eq!(identify_wkt(merc).unwrap().epsg, 3857);
        let utm = r#"PROJCS["WGS_1984_UTM_Zone_54N",GEOGCS["GCS_WGS_1984",DATUM["D_WGS_1984"]],PROJECTION["Transverse_Mercator"],PARAMETER["Central_Meridian",141.0],PARAMETER["Latitude_Of_Origin",0.0]]"#;
        assert!(identify_wkt(utm).is_err());
    }

    #[test]
    fn zone_v_origin_maps_to_its_own_coordinates() {
        let t = Transformer::new(Crs::from_epsg(6673).unwrap()).unwrap();
        let (lon, lat) = t.point(0.0, 0.0).unwrap();
        assert!((lon - (134.0 + 20.0 / 60.0)).abs() < 1e-9, "{lon}");
        assert!((lat - 36.0).abs() < 1e-9, "{lat}");
        // 10 km east, 100 km south: east of the meridian and south of the origin.
        let (lon, lat) = t.point(10_000.0, -100_000.0).unwrap();
        assert!(
            lon > 134.4 && lon < 134.5 && lat > 35.0 && lat < 35.2,
            "{lon} {lat}"
        );
    }

    #[test]
    fn tokyo_datum_shift_is_about_400_m() {
        let t = Transformer::new(Crs::from_epsg(4301).unwrap()).unwrap();
        let (lon, lat) = t.point(139.7, 35.7).unwrap();
        // In Tokyo the old datum is off by about −12″ lon, +12″ lat.
        assert!(
            ((lon - 139.7) * 3600.0 + 11.6).abs() < 1.0,
            "{}",
            (lon - 139.7) * 3600.0
        );
        assert!(
            ((lat - 35.7) * 3600.0 - 11.6).abs() < 1.0,
            "{}",
            (lat - 35.7) * 3600.0
        );
        let z9 = Transformer::new(Crs::from_epsg(30169).unwrap()).unwrap();
        let (lon9, lat9) = z9.point(0.0, 0.0).unwrap();
        assert!((lon9 - (139.0 + 50.0 / 60.0)).abs() < 0.01 && (lat9 - 36.0).abs() < 0.01);
    }

    #[test]
    fn ogc_output_is_in_the_crs_axis_order() {
        let uri = |c: u32| format!("http://www.opengis.net/def/crs/EPSG/0/{c}");
        // Zone V's origin is (0, 0) in it; a point 10 km east and 100 km south is
        // northing ≈ −100 km first, easting ≈ +10 km second.
        let v = OgcCrs::from_uri(&uri(6673)).unwrap();
        let (n, e) = v.point_from_store(134.0 + 20.0 / 60.0, 36.0).unwrap();
        assert!(n.abs() < 1e-6 && e.abs() < 1e-6, "{n} {e}");
        let t = Transformer::new(Crs::from_epsg(6673).unwrap()).unwrap();
        let (lon, lat) = t.point(10_000.0, -100_000.0).unwrap();
        let (n, e) = v.point_from_store(lon, lat).unwrap();
        assert!(
            (n + 100_000.0).abs() < 1e-6 && (e - 10_000.0).abs() < 1e-6,
            "{n} {e}"
        );
        // Lat/lon for EPSG 4326 and 6668; lon/lat for CRS84; easting first for 3857.
        for c in [4326, 6668] {
            let ll = OgcCrs::from_uri(&uri(c)).unwrap();
            assert_eq!(ll.point_from_store(133.9, 34.6).unwrap(), (34.6, 133.9));
        }
        assert_eq!(
            OgcCrs::CRS84.point_from_store(133.9, 34.6).unwrap(),
            (133.9, 34.6)
        );
        let (x, y) = OgcCrs::from_uri(&uri(3857))
            .unwrap()
            .point_from_store(133.9, 34.6)
            .unwrap();
        let (mx, my) = crate::tiles::coord::lonlat_to_merc(133.9, 34.6);
        assert!((x - mx).abs() < 1e-3 && (y - my).abs() < 1e-3, "{x} {y}");
        // Back again: a box around that point in zone V holds it.
        let b = v
            .bbox_to_store([-100_010.0, 9_990.0, -99_990.0, 10_010.0])
            .unwrap();
        assert!(
            b[0] < lon && lon < b[2] && b[1] < lat && lat < b[3],
            "{b:?}"
        );
        assert_eq!(ogc_crs_list().len(), 23);
        assert_eq!(OgcCrs::from_uri(CRS84_URI).unwrap(), OgcCrs::CRS84);
        assert!(matches!(
            OgcCrs::from_uri(&uri(2443)),
            Err(CrsError::NotOffered(2443))
        ));
    }

    #[test]
    fn identity_for_store_crs() {
        let t = Transformer::new(Crs::from_epsg(4326).unwrap()).unwrap();
        assert!(t.is_identity());
        assert_eq!(t.point(133.9, 34.6).unwrap(), (133.9, 34.6));
    }
}
