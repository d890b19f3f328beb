//! The risk answer in the browser: `machimap_risk::assess` over the files of a static export,
//! behind a three-function C ABI (no generated bindings to keep in step). The page writes one
//! request into memory it got from [`mm_alloc`] — a little-endian `u32` length, the JSON of
//! [`Request`], then the cell files it fetched back to back — calls [`mm_assess`] and reads
//! the answer it points to: a `u32` length and the JSON of `machimap_risk::Risk` (or
//! `{"error": …}`), which it frees with [`mm_free`]. `web/src/offline.js` is the other side.
#![allow(
    unsafe_code,
    reason = "the WebAssembly interface: the page passes buffers across it by pointer and length"
)]

use machimap_risk::cells::{self, Kind};
use machimap_risk::{Hazard, Lang, Shelter, Source, Statuses, Zone};
use serde::Deserialize;
use std::collections::BTreeMap;

/// One hazard's data around the point.
#[derive(Deserialize)]
pub struct HazardData {
    /// When the dataset was published.
    pub published_at: String,
    /// The hazard's zone table (`risk/{hazard}/zones.json`).
    pub zones: Vec<Zone>,
    /// Byte range of the point's cell file in the request's tail (absent: no cell file, so
    /// no zone and no coverage there).
    #[serde(default)]
    pub cell: Option<(usize, usize)>,
}

/// What the page sends.
#[derive(Deserialize)]
pub struct Request {
    /// Latitude, as the text the live page would put in `/api/risk?lat=` (parsed here as
    /// the server parses it, so both start from the same number).
    pub lat: String,
    /// Longitude, likewise.
    pub lon: String,
    /// Language code.
    pub lang: String,
    /// Storeys of the home.
    #[serde(default)]
    pub floors: Option<u32>,
    /// The published hazards.
    pub hazards: BTreeMap<Hazard, HazardData>,
    /// `shelters.json`.
    pub shelters: Vec<Shelter>,
    /// `status.json`.
    #[serde(default)]
    pub status: Statuses,
}

struct Loaded {
    published: BTreeMap<Hazard, String>,
    zones: BTreeMap<Hazard, Vec<Zone>>,
    covered: BTreeMap<Hazard, bool>,
    shelters: Vec<Shelter>,
}

impl Source for Loaded {
    fn published_at(&self, h: Hazard) -> Option<String> {
        self.published.get(&h).cloned()
    }
    fn zones_at(&self, h: Hazard, _lon: f64, _lat: f64) -> Vec<Zone> {
        self.zones.get(&h).cloned().unwrap_or_default()
    }
    fn covers(&self, h: Hazard, _lon: f64, _lat: f64) -> bool {
        self.covered.get(&h).copied().unwrap_or(false)
    }
    fn shelters(&self) -> &[Shelter] {
        &self.shelters
    }
    fn shelter_in_zone(&self, h: Hazard, s: &Shelter) -> bool {
        s.in_zone.contains(&h)
    }
}

/// Answer a request (the framing of [`mm_assess`] without the pointers).
pub fn answer(input: &[u8]) -> Result<String, String> {
    let head: [u8; 4] = input
        .get(..4)
        .and_then(|b| b.try_into().ok())
        .ok_or("request shorter than its length")?;
    let n = u32::from_le_bytes(head) as usize;
    let json = input.get(4..4 + n).ok_or("request shorter than its JSON")?;
    let tail = &input[4 + n..];
    let req: Request = serde_json::from_slice(json).map_err(|e| e.to_string())?;
    let lang = Lang::parse(&req.lang).ok_or_else(|| format!("unknown lang {:?}", req.lang))?;
    let coord = |s: &str, name: &str| {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .ok_or_else(|| format!("{name} must be a decimal number, got {s:?}"))
    };
    let (lon, lat) = (coord(&req.lon, "lon")?, coord(&req.lat, "lat")?);
    let mut loaded = Loaded {
        published: BTreeMap::new(),
        zones: BTreeMap::new(),
        covered: BTreeMap::new(),
        shelters: req.shelters,
    };
    for (h, d) in req.hazards {
        let mut here = Vec::new();
        let mut covered = false;
        if let Some((at, len)) = d.cell {
            let bytes = tail
                .get(at..at.saturating_add(len))
                .ok_or("a cell outside the request")?;
            for r in cells::read(bytes).map_err(|e| e.to_string())? {
                if !machimap_risk::contains(&r.geom, lon, lat) {
                    continue;
                }
                match r.kind {
                    Kind::Coverage => covered = true,
                    Kind::Zone => {
                        let mut z = d
                            .zones
                            .get(r.zone as usize)
                            .cloned()
                            .ok_or("a zone index outside the table")?;
                        z.fid = r.fid;
                        here.push(z);
                    }
                }
            }
        }
        loaded.published.insert(h, d.published_at);
        loaded.zones.insert(h, here);
        loaded.covered.insert(h, covered);
    }
    let risk = machimap_risk::assess(&loaded, lat, lon, lang, req.floors, &req.status);
    serde_json::to_string(&risk).map_err(|e| e.to_string())
}

/// Memory for a request of `len` bytes.
#[no_mangle]
pub extern "C" fn mm_alloc(len: usize) -> *mut u8 {
    let mut v = Vec::<u8>::with_capacity(len.max(1));
    let p = v.as_mut_ptr();
    std::mem::forget(v);
    p
}

/// Give back memory from [`mm_alloc`] or an answer (`len` as allocated).
///
/// # Safety
/// `ptr` must come from `mm_alloc(len)` or be an answer of `mm_assess` with `len` its whole
/// size (4 + the JSON's length), freed once.
#[no_mangle]
pub unsafe extern "C" fn mm_free(ptr: *mut u8, len: usize) {
    drop(Vec::from_raw_parts(ptr, 0, len.max(1)));
}

/// Answer the request of `len` bytes at `ptr` (which it frees); returns the answer's address.
///
/// # Safety
/// `ptr` must come from `mm_alloc(len)` and hold the request.
#[no_mangle]
pub unsafe extern "C" fn mm_assess(ptr: *mut u8, len: usize) -> *mut u8 {
    let input = Vec::from_raw_parts(ptr, len, len.max(1));
    let json = match answer(&input) {
        Ok(j) => j,
        Err(e) => serde_json::json!({ "error": e }).to_string(),
    };
    drop(input);
    let mut out = Vec::with_capacity(4 + json.len());
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(json.as_bytes());
    // A boxed slice: its allocation is exactly the length the page reads, which it frees with.
    Box::into_raw(out.into_boxed_slice()) as *mut u8
}
