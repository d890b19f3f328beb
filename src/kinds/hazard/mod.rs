//! Hazard zones: flood (KSJ A31a 第4.0版, A31 第2–3版, A31 第1.1版), landslide (A33), tsunami (A40),
//! storm surge (A49), and a generic form for each. All four share one schema, so one colour ramp
//! and one risk query serve them all. Raw attributes are kept in `raw`.
//!
//! A flood upload may mix the A31a families (10 計画規模 and 20 想定最大規模 depth ranks, 30
//! 浸水継続時間, 41/42 家屋倒壊等氾濫想定区域), each record's family told by its attribute group
//! (A31a_1xx…4xx, A31_1xx…4xx) and kept in `family`, so the evacuation decision
//! (`crate::risk::decide`) can weigh depth, duration and collapse zones per river.

use super::{Cells, Normalizer, Out, Row};
use crate::dataset::{fmt_float, DatasetId, Val};
use crate::read::{RawFeature, SourceInfo};
use crate::report::{code, issue, Report};

pub use machimap_risk::vocab::{
    depth_range, FAMILY_COLLAPSE, FAMILY_DEPTH, FAMILY_DURATION, SCENARIO_MAX, SCENARIO_PLAN,
};

/// A31 第1.1版 codes 11–15 and 21–27.
fn a31_v1_range(code: i64) -> Option<(f64, Option<f64>)> {
    Some(match code {
        11 | 21 => (0.0, Some(0.5)),
        12 | 22 => (0.5, Some(1.0)),
        13 | 23 => (1.0, Some(2.0)),
        14 => (2.0, Some(5.0)),
        15 | 27 => (5.0, None),
        24 => (2.0, Some(3.0)),
        25 => (3.0, Some(4.0)),
        26 => (4.0, Some(5.0)),
        _ => return None,
    })
}

/// Text label of a band, e.g. `0.5m以上3m未満`, `20m以上`.
pub fn band_label(min: f64, max: Option<f64>) -> String {
    match (min, max) {
        (m, Some(x)) if m <= 0.0 => format!("{}m未満", fmt_float(x)),
        (m, Some(x)) => format!("{}m以上{}m未満", fmt_float(m), fmt_float(x)),
        (m, None) => format!("{}m以上", fmt_float(m)),
    }
}

/// Parse a free-text depth band as prefectures write them (A40, A49, prefectural systems): after
/// NFKC, `0.3m以上1.0m未満`, `5m以上`, `0.5m未満`, `1.0〜2.0m`, `0.01m以上0.3m未満`,
/// `0.3~0.5m未満の区域`, `20.0m以上`, `～0.3m`, `20m～`. Text in brackets (`（1階床上浸水）`) is
/// a comment and is not read.
pub fn parse_band(s: &str) -> Option<(f64, Option<f64>)> {
    let (n, _) = crate::text::nfkc(s);
    let mut plain = String::with_capacity(n.len());
    let mut depth = 0u32;
    for ch in n.chars() {
        match ch {
            '(' | '[' | '【' | '〔' | '「' => depth += 1,
            ')' | ']' | '】' | '〕' | '」' => depth = depth.saturating_sub(1),
            c if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    let n = plain
        .replace("メートル", "m")
        .replace([' ', 'ｍ', 'M'], "m")
        .replace(['〜', '∼', '~', '～', 'ー', '―', '‐', '-'], "~");
    let mut nums = Vec::new();
    let mut first_at = None;
    let mut last_end = 0;
    let mut cur = String::new();
    for (i, ch) in n.char_indices().chain(std::iter::once((n.len(), ' '))) {
        if ch.is_ascii_digit() || (ch == '.' && !cur.is_empty()) {
            if cur.is_empty() && first_at.is_none() {
                first_at = Some(i);
            }
            cur.push(ch);
        } else if !cur.is_empty() {
            nums.push(cur.parse::<f64>().ok()?);
            cur.clear();
            last_end = i;
        }
    }
    let ge = n.contains("以上") || n.contains('超');
    let lt = n.contains("未満") || n.contains("以下");
    let tilde = n.contains('~');
    let lead_tilde = first_at.is_some_and(|i| n[..i].contains('~'));
    let trail_tilde = n[last_end..].contains('~');
    match (nums.as_slice(), ge, lt) {
        ([a, b], _, _) if (ge && lt) || tilde => (a < b).then_some((*a, Some(*b))),
        ([b], false, true) => Some((0.0, Some(*b))),
        ([a], true, false) => Some((*a, None)),
        ([b], false, false) if lead_tilde && !trail_tilde => Some((0.0, Some(*b))),
        ([a], false, false) if trail_tilde && !lead_tilde => Some((*a, None)),
        _ => None,
    }
}

/// The KSJ rank (1–6) whose range holds the whole band, if one does: the detailed breaks of
/// the national manual (0.3 m, 1.0 m) fall inside ranks 1 and 2.
pub fn rank_of_band(b: (f64, Option<f64>)) -> Option<i64> {
    (1..=6).find(|&r| match depth_range(r) {
        Some((lo, hi)) => {
            b.0 >= lo
                && match (hi, b.1) {
                    (None, _) => true,
                    (Some(h), Some(x)) => x <= h,
                    (Some(_), None) => false,
                }
        }
        None => false,
    })
}

/// A landslide phenomenon written as text (`急傾斜地の崩壊`, `土石流`, `地滑り`/`地すべり`) or as
/// the A33 code 1–3.
pub fn parse_phenomenon(s: &str) -> Option<i64> {
    let n = crate::text::nfkc(s).0.replace([' ', '\u{3000}'], "");
    if let Ok(i) = n.parse::<i64>() {
        return (1..=3).contains(&i).then_some(i);
    }
    let has = |p: &str| n.contains(p);
    let steep = has("急傾斜") || has("がけ崩") || has("崖崩") || has("がけくずれ");
    let debris = has("土石流");
    let slide = has("地すべり") || has("地滑") || has("地辷") || has("地スベリ");
    match (steep, debris, slide) {
        (true, false, false) => Some(1),
        (false, true, false) => Some(2),
        (false, false, true) => Some(3),
        _ => None,
    }
}

/// A landslide zone class written as text (`警戒区域`, `特別警戒区域`, either with `（指定前）` /
/// `基礎調査` for zones not yet designated, `イエロー`/`レッド`) or as the A33 code 1–4.
pub fn parse_zone_class(s: &str) -> Option<i64> {
    let n = crate::text::nfkc(s).0.replace([' ', '\u{3000}'], "");
    if let Ok(i) = n.parse::<i64>() {
        return (1..=4).contains(&i).then_some(i);
    }
    let lower = n.to_lowercase();
    let has = |p: &str| n.contains(p);
    let red = has("特別警戒") || has("レッド") || lower == "red" || lower == "redzone";
    let yellow =
        !red && (has("警戒") || has("イエロー") || lower == "yellow" || lower == "yellowzone");
    if !red && !yellow {
        return None;
    }
    let pending = has("指定前") || has("未指定") || has("基礎調査") || has("指定予定");
    Some(match (red, pending) {
        (false, false) => 1,
        (true, false) => 2,
        (false, true) => 3,
        (true, true) => 4,
    })
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    A31a,
    A31v2,
    A31v1,
    A33,
    A40,
    A49,
    Generic,
}

impl Layout {
    fn name(self) -> &'static str {
        match self {
            Layout::A31a => "a31a",
            Layout::A31v2 => "a31_v2",
            Layout::A31v1 => "a31_v1",
            Layout::A33 => "a33",
            Layout::A40 => "a40",
            Layout::A49 => "a49",
            Layout::Generic => "generic",
        }
    }
    fn fits(self, d: DatasetId) -> bool {
        match self {
            // Inland flooding maps are drawn with the same depth ranks as river floods.
            Layout::A31a | Layout::A31v2 | Layout::A31v1 => {
                matches!(d, DatasetId::Flood | DatasetId::InlandFlood)
            }
            Layout::A33 => d == DatasetId::Landslide,
            Layout::A40 => d == DatasetId::Tsunami,
            Layout::A49 => d == DatasetId::StormSurge,
            Layout::Generic => true,
        }
    }
}

// Attribute groups of A31a 第4.0版 and A31 第2–3版, by family: 1xx 計画規模 and 2xx 想定最大規模
// (river code, river name, manager code, manager, depth rank), 3xx 浸水継続時間 (…, duration
// class), 4xx 家屋倒壊等氾濫想定区域 (…, 1 氾濫流 / 2 河岸侵食 / 3 both).
const A31A_KEYS: [[&str; 5]; 4] = [
    ["A31a_101", "A31a_102", "A31a_103", "A31a_104", "A31a_105"],
    ["A31a_201", "A31a_202", "A31a_203", "A31a_204", "A31a_205"],
    ["A31a_301", "A31a_302", "A31a_303", "A31a_304", "A31a_305"],
    ["A31a_401", "A31a_402", "A31a_403", "A31a_404", "A31a_405"],
];
const A31_KEYS: [[&str; 5]; 4] = [
    ["A31_101", "A31_102", "A31_103", "A31_104", "A31_105"],
    ["A31_201", "A31_202", "A31_203", "A31_204", "A31_205"],
    ["A31_301", "A31_302", "A31_303", "A31_304", "A31_305"],
    ["A31_401", "A31_402", "A31_403", "A31_404", "A31_405"],
];

/// A31a_305 duration class 1–7 → hours `[from, to)` (None = open-ended). Class 3 ends at 72 h,
/// three days: the household stock the national guidance counts on.
pub fn duration_hours(class: i64) -> Option<(f64, Option<f64>)> {
    Some(match class {
        1 => (0.0, Some(12.0)),
        2 => (12.0, Some(24.0)),
        3 => (24.0, Some(72.0)),
        4 => (72.0, Some(168.0)),
        5 => (168.0, Some(336.0)),
        6 => (336.0, Some(672.0)),
        7 => (672.0, None),
        _ => return None,
    })
}

/// A duration written as a class (`1`–`7`) or as prefectures write it (`12時間未満`,
/// `1日～3日`, `3日以上1週間未満`, `4週間以上`): the class whose range holds the whole text band.
/// A band across a class boundary has no class (None): never rounded.
pub fn parse_duration(s: &str) -> Option<i64> {
    let n = crate::text::nfkc(s).0.replace([' ', '\u{3000}'], "");
    if let Ok(i) = n.parse::<i64>() {
        return duration_hours(i).map(|_| i);
    }
    // (number, hours per unit once known), in order of appearance.
    let mut nums: Vec<(f64, Option<f64>)> = Vec::new();
    let mut cur = String::new();
    let chars: Vec<char> = n.chars().collect();
    let mut i = 0;
    while i <= chars.len() {
        let ch = chars.get(i).copied();
        if ch.is_some_and(|c| c.is_ascii_digit() || (c == '.' && !cur.is_empty())) {
            cur.push(ch.unwrap_or('0'));
            i += 1;
            continue;
        }
        if !cur.is_empty() {
            let v: f64 = cur.parse().ok()?;
            cur.clear();
            let rest: String = chars[i..].iter().collect();
            let unit = if rest.starts_with("時間") || rest.starts_with('h') {
                Some(1.0)
            } else if rest.starts_with("日") {
                Some(24.0)
            } else if rest.starts_with("週") {
                Some(168.0)
            } else {
                None
            };
            nums.push((v, unit));
        }
        i += 1;
    }
    // A number without a unit takes the unit of the next number (`1～3日`).
    let mut next_unit = None;
    for (_, u) in nums.iter_mut().rev() {
        match u {
            Some(x) => next_unit = Some(*x),
            None => *u = next_unit,
        }
    }
    let hours: Vec<f64> = nums
        .iter()
        .map(|(v, u)| u.map(|u| v * u))
        .collect::<Option<_>>()?;
    let ge = n.contains("以上") || n.contains('超');
    let lt = n.contains("未満") || n.contains("以下");
    let tilde = n.contains(['~', '～', '〜']);
    let band = match (hours.as_slice(), ge, lt) {
        ([a, b], _, _) if (ge && lt) || tilde => (a < b).then_some((*a, Some(*b)))?,
        ([b], false, true) => (0.0, Some(*b)),
        ([a], true, false) => (*a, None),
        _ => return None,
    };
    (1..=7).find(|&c| match duration_hours(c) {
        Some((lo, hi)) => {
            band.0 >= lo
                && match (hi, band.1) {
                    (None, _) => true,
                    (Some(h), Some(x)) => x <= h,
                    (Some(_), None) => false,
                }
        }
        None => false,
    })
}

/// What a generic collapse cell says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollapseValue {
    /// Not a collapse zone (`なし`, `0`, `-`).
    No,
    /// 1 氾濫流, 2 河岸侵食, 3 both.
    Type(i64),
    /// Cannot be read.
    Unreadable,
}

/// A collapse type written as the A31a_405 code or as text.
pub fn parse_collapse(s: &str) -> CollapseValue {
    parse_collapse_inner(s).map_or(CollapseValue::Unreadable, |t| {
        t.map_or(CollapseValue::No, CollapseValue::Type)
    })
}

fn parse_collapse_inner(s: &str) -> Result<Option<i64>, ()> {
    let n = crate::text::nfkc(s).0.replace([' ', '\u{3000}'], "");
    if let Ok(i) = n.parse::<i64>() {
        return match i {
            0 => Ok(None),
            1..=3 => Ok(Some(i)),
            _ => Err(()),
        };
    }
    if ["なし", "無", "無し", "-", "対象外", "該当なし"].contains(&n.as_str()) {
        return Ok(None);
    }
    let flow = n.contains("氾濫流");
    let erosion = n.contains("河岸侵食") || n.contains("河岸浸食");
    match (flow, erosion) {
        (true, true) => Ok(Some(3)),
        (true, false) => Ok(Some(1)),
        (false, true) => Ok(Some(2)),
        _ => Err(()),
    }
}

/// The collapse type a file's name gives, as KSJ names the A31a layers (`…_41…` 氾濫流,
/// `…_42…` 河岸侵食): used only when the record leaves A31a_405 empty.
fn collapse_of_file_name(file: &str) -> Option<i64> {
    let stem = std::path::Path::new(file)
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or(file);
    let toks: Vec<&str> = stem.split(|c: char| !c.is_ascii_alphanumeric()).collect();
    match (toks.contains(&"41"), toks.contains(&"42")) {
        (true, false) => Some(1),
        (false, true) => Some(2),
        _ => None,
    }
}
// Header aliases of the generic form (prefectural systems, hand-made files). They are compared
// with the file's headers ignoring ASCII case and full-width forms; the first alias found wins.
const G_SCENARIO: &[&str] = &["scenario", "想定規模", "シナリオ", "規模", "想定", "kibo"];
const G_RANK: &[&str] = &[
    "depth_rank",
    "rank",
    "浸水深ランク",
    "ランク",
    "浸水ランク",
    "shinsui_rank",
];
const G_MIN: &[&str] = &["depth_min_m", "depth_min", "浸水深_下限", "下限"];
const G_MAX: &[&str] = &["depth_max_m", "depth_max", "浸水深_上限", "上限"];
const G_BAND: &[&str] = &[
    "depth_band",
    "depth",
    "浸水深",
    "浸水深の区分",
    "浸水深区分",
    "浸水深の範囲",
    "浸水深範囲",
    "浸水深(m)",
    "最大浸水深",
    "想定浸水深",
    "津波浸水深",
    "高潮浸水深",
    "浸水の深さ",
    "浸水ランク区分",
    "shinsui",
    "shinsuishin",
    "shinsui_kubun",
    "区分",
    "kubun",
    "凡例",
    "hanrei",
];
const G_PHENOMENON: &[&str] = &[
    "phenomenon",
    "現象",
    "現象の種類",
    "現象名",
    "現象区分",
    "自然現象",
    "自然現象の種類",
    "genshoname",
    "gensho_name",
    "gensho",
    "genshou",
    "genshouname",
    "災害種別",
    "種別",
];
const G_ZONE_CLASS: &[&str] = &[
    "zone_class",
    "区域区分",
    "区分",
    "kubun",
    "区域種別",
    "指定区分",
    "警戒区域区分",
    "kuiki_kubun",
    "kuikikubun",
    "shitei_kubun",
];
const G_ZONE_NAME: &[&str] = &[
    "zone_name",
    "区域名",
    "区域名称",
    "箇所名",
    "区域番号",
    "箇所番号",
    "kuiki_name",
    "kuikimei",
    "kasho_name",
    "kashomei",
];
const G_RIVER_NAME: &[&str] = &["river_name", "河川名", "kasen_name", "kasenmei"];
const G_RIVER_CODE: &[&str] = &["river_code", "河川コード"];
const G_DURATION: &[&str] = &[
    "duration",
    "duration_class",
    "浸水継続時間",
    "継続時間",
    "浸水継続時間区分",
    "keizoku",
    "keizoku_jikan",
];
const G_COLLAPSE: &[&str] = &[
    "collapse",
    "collapse_type",
    "家屋倒壊等氾濫想定区域",
    "家屋倒壊",
    "家屋倒壊区分",
    "倒壊区分",
    "tokai",
];

/// The headers of one record, normalised for alias lookup.
struct Cols<'f> {
    f: &'f RawFeature,
    heads: Vec<String>,
}

impl<'f> Cols<'f> {
    fn new(f: &'f RawFeature) -> Self {
        let heads = f
            .props
            .iter()
            .map(|(k, _)| crate::text::nfkc_header(k).to_ascii_lowercase())
            .collect();
        Cols { f, heads }
    }

    /// The column one of `aliases` names, as the file spells it, and its trimmed value (None
    /// when empty).
    fn get(&self, aliases: &[&str]) -> Option<(&'f str, Option<&'f str>)> {
        aliases.iter().find_map(|a| {
            let i = self.heads.iter().position(|h| h == a)?;
            let (k, v) = self.f.props.get(i)?;
            Some((
                k.as_str(),
                v.as_deref().map(str::trim).filter(|v| !v.is_empty()),
            ))
        })
    }
}

fn detect(f: &RawFeature) -> Layout {
    let has_prefix = |p: &str| f.props.iter().any(|(k, _)| k.starts_with(p));
    if has_prefix("A31a_1") || has_prefix("A31a_2") || has_prefix("A31a_3") || has_prefix("A31a_4")
    {
        Layout::A31a
    } else if f.has("A31_001") {
        Layout::A31v1
    } else if has_prefix("A31_") {
        Layout::A31v2
    } else if f.has("A33_001") {
        Layout::A33
    } else if f.has("A40_003") {
        Layout::A40
    } else if f.has("A49_003") {
        Layout::A49
    } else {
        Layout::Generic
    }
}

/// Normaliser for one hazard dataset. Streams: each feature becomes a row at once.
pub struct Hazards {
    dataset: DatasetId,
    /// The file and layout last announced in the report.
    reported: Option<(String, Layout)>,
    wrong_kind_reported: bool,
}

impl Hazards {
    /// Normaliser for `dataset` (flood, landslide, tsunami or storm_surge).
    pub fn new(dataset: DatasetId) -> Self {
        Hazards {
            dataset,
            reported: None,
            wrong_kind_reported: false,
        }
    }
}

struct Attrs {
    scenario: Option<String>,
    rank: Option<i64>,
    band: Option<(f64, Option<f64>)>,
    phenomenon: Option<i64>,
    zone_class: Option<i64>,
    river_code: Option<String>,
    river_name: Option<String>,
    zone_name: Option<String>,
    family: Option<&'static str>,
    duration: Option<i64>,
    collapse: Option<i64>,
}

impl Hazards {
    fn attrs(&self, layout: Layout, c: &mut Cells<'_>, first: bool) -> Attrs {
        let mut a = Attrs {
            scenario: None,
            rank: None,
            band: None,
            phenomenon: None,
            zone_class: None,
            river_code: None,
            river_name: None,
            zone_name: None,
            family: None,
            duration: None,
            collapse: None,
        };
        fn rank_in(c: &mut Cells<'_>, key: &'static str, a: &mut Attrs) {
            if let Some(r) = c.int(&[key]) {
                match depth_range(r) {
                    Some(b) => {
                        a.rank = Some(r);
                        a.band = Some(b);
                    }
                    None => c.report(
                        issue(code::VALUE_INVALID_CODE)
                            .column(key)
                            .value(r.to_string())
                            .expected("浸水深ランク1〜6", "water depth rank 1–6"),
                    ),
                }
            } else if c.find(&[key]).is_none() {
                c.report(issue(code::VALUE_REQUIRED).column(key));
            }
        }
        match layout {
            Layout::A31a | Layout::A31v2 => {
                let p = if layout == Layout::A31a {
                    "A31a_"
                } else {
                    "A31_"
                };
                let fam = ["1", "2", "3", "4"]
                    .into_iter()
                    .find(|d| {
                        c.f.props
                            .iter()
                            .any(|(k, _)| k.starts_with(&format!("{p}{d}")))
                    })
                    .unwrap_or("1");
                let fi: usize = match fam {
                    "1" => 0,
                    "2" => 1,
                    "3" => 2,
                    _ => 3,
                };
                let table = if layout == Layout::A31a {
                    &A31A_KEYS[fi]
                } else {
                    &A31_KEYS[fi]
                };
                let k = |n: usize| -> &'static str { table[n - 1] };
                a.river_code = c.text(&[k(1)]);
                a.river_name = c.text(&[k(2)]);
                // Some A31 第2–3版 files carry the code in _x01 instead of _x05: decide by value
                // shape.
                let code_key = if c.text(&[k(5)]).is_some() {
                    k(5)
                } else if c.text(&[k(1)]).is_some_and(|v| v.len() <= 2) {
                    a.river_code = None;
                    k(1)
                } else {
                    k(5)
                };
                match fi {
                    0 | 1 => {
                        a.family = Some(FAMILY_DEPTH);
                        a.scenario =
                            Some(if fi == 0 { SCENARIO_PLAN } else { SCENARIO_MAX }.into());
                        rank_in(c, code_key, &mut a);
                    }
                    2 => {
                        a.family = Some(FAMILY_DURATION);
                        let v = c.text(&[code_key]);
                        a.duration = v.as_deref().and_then(|v| {
                            v.parse::<i64>()
                                .ok()
                                .filter(|i| duration_hours(*i).is_some())
                        });
                        if a.duration.is_none() {
                            let b = issue(code::VALUE_UNREAD_KEPT)
                                .column(code_key)
                                .expected("浸水継続時間の区分1〜7", "flood duration class 1–7");
                            c.report(match v {
                                Some(v) => b.value(v),
                                None => b.detail("空欄", "empty"),
                            });
                        }
                    }
                    _ => {
                        a.family = Some(FAMILY_COLLAPSE);
                        let v = c.text(&[code_key]);
                        match v.as_deref() {
                            None => {
                                a.collapse = collapse_of_file_name(&c.src.file);
                                if a.collapse.is_none() {
                                    c.report(
                                        issue(code::VALUE_UNREAD_KEPT)
                                            .column(code_key)
                                            .detail(
                                                "空欄で、ファイル名にも41（氾濫流）・42（河岸侵食）がありません。家屋倒壊等氾濫想定区域（種別不明）として取り込みます",
                                                "empty, and the file name says neither 41 (flood flow) nor 42 (bank erosion): kept as a house-collapse zone of unknown type",
                                            )
                                            .expected("1 氾濫流・2 河岸侵食・3 両方", "1 flood flow, 2 bank erosion, 3 both"),
                                    );
                                }
                            }
                            Some(v) => match v.parse::<i64>() {
                                Ok(i @ 1..=3) => a.collapse = Some(i),
                                _ => c.report(
                                    issue(code::VALUE_UNREAD_KEPT)
                                        .column(code_key)
                                        .value(v)
                                        .expected(
                                            "1 氾濫流・2 河岸侵食・3 両方",
                                            "1 flood flow, 2 bank erosion, 3 both",
                                        ),
                                ),
                            },
                        }
                    }
                }
            }
            Layout::A31v1 => {
                a.family = Some(FAMILY_DEPTH);
                if let Some(v) = c.int(&["A31_001"]) {
                    match a31_v1_range(v) {
                        Some(b) => a.band = Some(b),
                        None => c.report(
                            issue(code::VALUE_INVALID_CODE)
                                .column("A31_001")
                                .value(v.to_string())
                                .expected("11〜15 または 21〜27", "11–15 or 21–27"),
                        ),
                    }
                }
            }
            Layout::A33 => {
                a.phenomenon = c.int(&["A33_001"]);
                a.zone_class = c.int(&["A33_002"]);
                a.zone_name = c.text(&["A33_005"]).or_else(|| c.text(&["A33_004"]));
            }
            Layout::A40 | Layout::A49 => {
                a.family = Some(FAMILY_DEPTH);
                let key = if layout == Layout::A40 {
                    "A40_003"
                } else {
                    "A49_003"
                };
                self.band_from_text(c, &[key], &mut a);
            }
            Layout::Generic => {
                self.generic(c, &mut a, first);
                if matches!(self.dataset, DatasetId::Flood | DatasetId::InlandFlood) {
                    self.generic_flood_extras(c, &mut a);
                } else if self.dataset != DatasetId::Landslide {
                    a.family = Some(FAMILY_DEPTH);
                }
                return a;
            }
        }
        if layout == Layout::A33 {
            if let Some(p) = a.phenomenon {
                if !(1..=3).contains(&p) {
                    c.report(
                        issue(code::VALUE_INVALID_CODE)
                            .column(if layout == Layout::A33 {
                                "A33_001"
                            } else {
                                "phenomenon"
                            })
                            .value(p.to_string())
                            .expected(
                                "1 急傾斜地の崩壊・2 土石流・3 地滑り",
                                "1 steep slope, 2 debris flow, 3 landslide",
                            ),
                    );
                }
            } else {
                c.report(
                    issue(code::VALUE_REQUIRED).column(if layout == Layout::A33 {
                        "A33_001"
                    } else {
                        "phenomenon"
                    }),
                );
            }
            match a.zone_class {
                Some(1..=4) => {}
                Some(z) => c.report(
                    issue(code::VALUE_INVALID_CODE)
                        .column(if layout == Layout::A33 {
                            "A33_002"
                        } else {
                            "zone_class"
                        })
                        .value(z.to_string())
                        .expected("1〜4（1 警戒区域・2 特別警戒区域・3/4 指定前）", "1–4"),
                ),
                None => c.report(
                    issue(code::VALUE_REQUIRED).column(if layout == Layout::A33 {
                        "A33_002"
                    } else {
                        "zone_class"
                    }),
                ),
            }
        }
        a
    }

    fn band_from_text(&self, c: &mut Cells<'_>, keys: &[&'static str], a: &mut Attrs) {
        match c.find(keys) {
            // A zone of unknown depth is still a zone.
            None => c.report(issue(code::DEPTH_UNKNOWN).column(keys[0])),
            Some((k, v)) => match parse_band(&v) {
                Some(b) => {
                    if crate::text::nfkc(&v).1 {
                        c.report(
                            issue(code::FULLWIDTH_NORMALIZED)
                                .column(k)
                                .value(v.clone())
                                .repaired(band_label(b.0, b.1)),
                        );
                    }
                    a.band = Some(b);
                }
                None => c.report(
                    issue(code::DEPTH_BAND_UNPARSEABLE)
                        .column(k)
                        .value(v)
                        .expected(
                            "「0.5m以上3.0m未満」「5m以上」「0.3m未満」の形",
                            "forms like 0.5m以上3.0m未満, 5m以上, 0.3m未満",
                        ),
                ),
            },
        }
    }
}

impl Hazards {
    /// The generic form: whatever of scenario, depth (rank, bounds or a text band), landslide
    /// phenomenon and zone class the file has, found by header alias. Nothing here refuses a
    /// zone: a value that cannot be read is stored as unknown with a warning (the original stays
    /// in `raw`), and a missing column is said once per file.
    fn generic(&self, c: &mut Cells<'_>, a: &mut Attrs, first: bool) {
        let cols = Cols::new(c.f);
        let file = c.src.file.clone();
        let once = |c: &mut Cells<'_>, b: crate::report::IssueBuilder| {
            if first {
                c.report.push_in(&file, b);
            }
        };
        let unread = |c: &mut Cells<'_>, k: &str, v: Option<&str>, ja: &str, en: &str| {
            let b = issue(code::VALUE_UNREAD_KEPT).column(k).expected(ja, en);
            c.report(match v {
                Some(v) => b.value(v),
                None => b.detail("空欄", "empty"),
            });
        };
        if let Some((_, Some(v))) = cols.get(G_SCENARIO) {
            a.scenario = Some(normalize_scenario(v));
        }
        if self.dataset == DatasetId::Landslide {
            const PHEN_JA: &str = "急傾斜地の崩壊・土石流・地滑り（または1〜3）";
            const PHEN_EN: &str =
                "急傾斜地の崩壊 (steep slope), 土石流 (debris flow), 地滑り (landslide), or 1–3";
            match cols.get(G_PHENOMENON) {
                Some((k, v)) => {
                    a.phenomenon = v.and_then(parse_phenomenon);
                    if a.phenomenon.is_none() {
                        unread(c, k, v, PHEN_JA, PHEN_EN);
                    }
                }
                None => once(
                    c,
                    issue(code::VALUE_UNREAD_KEPT)
                        .column("phenomenon")
                        .detail(
                            format!("現象の種類の列がありません（{}）", G_PHENOMENON.join("・")),
                            format!("no phenomenon column ({})", G_PHENOMENON.join(", ")),
                        )
                        .expected(PHEN_JA, PHEN_EN),
                ),
            }
            const ZONE_JA: &str =
                "警戒区域・特別警戒区域（指定前は「（指定前）」付き）、または1〜4";
            const ZONE_EN: &str =
                "警戒区域 (yellow), 特別警戒区域 (red), either marked （指定前） when not yet designated, or 1–4";
            match cols.get(G_ZONE_CLASS) {
                Some((k, v)) => {
                    a.zone_class = v.and_then(parse_zone_class);
                    if a.zone_class.is_none() {
                        unread(c, k, v, ZONE_JA, ZONE_EN);
                    }
                }
                None => once(
                    c,
                    issue(code::VALUE_UNREAD_KEPT)
                        .column("zone_class")
                        .detail(
                            format!("区域区分の列がありません（{}）", G_ZONE_CLASS.join("・")),
                            format!("no zone class column ({})", G_ZONE_CLASS.join(", ")),
                        )
                        .expected(ZONE_JA, ZONE_EN),
                ),
            }
            a.zone_name = cols
                .get(G_ZONE_NAME)
                .and_then(|(_, v)| v)
                .map(str::to_string);
            return;
        }
        a.river_name = cols
            .get(G_RIVER_NAME)
            .and_then(|(_, v)| v)
            .map(str::to_string);
        a.river_code = cols
            .get(G_RIVER_CODE)
            .and_then(|(_, v)| v)
            .map(str::to_string);
        let number = |v: &str| crate::text::parse_number(v).map(|(n, _)| n);
        if let Some((k, v)) = cols.get(G_RANK) {
            match v {
                None => c.report(issue(code::DEPTH_UNKNOWN).column(k)),
                Some(v) => match number(v)
                    .filter(|r| r.fract() == 0.0)
                    .and_then(|r| depth_range(r as i64).map(|b| (r as i64, b)))
                {
                    Some((r, b)) => {
                        a.rank = Some(r);
                        a.band = Some(b);
                    }
                    None => unread(c, k, Some(v), "浸水深ランク1〜6", "water depth rank 1–6"),
                },
            }
        } else if let Some((k, v)) = cols.get(G_MIN) {
            let max = cols.get(G_MAX);
            match v {
                None => c.report(issue(code::DEPTH_UNKNOWN).column(k)),
                Some(v) => {
                    let min = number(v).filter(|m| *m >= 0.0);
                    let upper = match max {
                        Some((_, Some(x))) => Some(number(x)),
                        _ => None,
                    };
                    match (min, upper) {
                        (Some(m), None) => a.band = Some((m, None)),
                        (Some(m), Some(Some(x))) if x > m => a.band = Some((m, Some(x))),
                        (_, Some(_)) => {
                            let (mk, mv) = max.unwrap_or((k, None));
                            unread(
                                c,
                                &format!("{k}/{mk}"),
                                Some(format!("{v} / {}", mv.unwrap_or("")).as_str()),
                                "下限 < 上限 の数値（m）",
                                "numbers in metres with lower < upper",
                            );
                        }
                        (None, None) => unread(c, k, Some(v), "数値（m）", "a number of metres"),
                    }
                }
            }
        } else if let Some((k, v)) = cols.get(G_BAND) {
            match v {
                None => c.report(issue(code::DEPTH_UNKNOWN).column(k)),
                Some(v) => match parse_band(v) {
                    Some(b) => a.band = Some(b),
                    None => unread(
                        c,
                        k,
                        Some(v),
                        "「0.5m以上3.0m未満」「0.3~0.5m未満の区域」「5m以上」「0.3m未満」の形",
                        "forms like 0.5m以上3.0m未満, 0.3~0.5m未満の区域, 5m以上, 0.3m未満",
                    ),
                },
            }
        } else if !(matches!(self.dataset, DatasetId::Flood | DatasetId::InlandFlood)
            && (cols.get(G_DURATION).is_some() || cols.get(G_COLLAPSE).is_some()))
        {
            // (A file of 浸水継続時間 or 家屋倒壊等氾濫想定区域 zones has no depth by design.)
            once(
                c,
                issue(code::DEPTH_UNKNOWN).detail(
                    format!(
                        "浸水深の列がありません（{}・{}・{}など）。全ての区域を浸水深「不明」として取り込みます",
                        G_RANK[0],
                        G_MIN[0],
                        G_BAND[1..4].join("・")
                    ),
                    format!(
                        "no depth column ({}, {}, {}, …); every zone is kept with depth unknown",
                        G_RANK[0],
                        G_MIN[0],
                        G_BAND[1..4].join(", ")
                    ),
                ),
            );
        }
        if matches!(self.dataset, DatasetId::Flood | DatasetId::InlandFlood) && a.rank.is_none() {
            a.rank = a.band.and_then(rank_of_band);
        }
    }

    /// The generic form's 浸水継続時間 and 家屋倒壊等氾濫想定区域 columns (floods only), and the
    /// family of the row: depth when it has a depth column, else duration or collapse when it has
    /// those, else depth (a zone of unknown depth).
    fn generic_flood_extras(&self, c: &mut Cells<'_>, a: &mut Attrs) {
        let cols = Cols::new(c.f);
        let has_depth = [G_RANK, G_MIN, G_BAND]
            .iter()
            .any(|g| cols.get(g).is_some());
        let dur = cols.get(G_DURATION);
        if let Some((k, Some(v))) = dur {
            a.duration = parse_duration(v);
            if a.duration.is_none() {
                c.report(
                    issue(code::VALUE_UNREAD_KEPT)
                        .column(k)
                        .value(v)
                        .expected(
                            "浸水継続時間の区分1〜7、または「12時間未満」「1日～3日」「3日以上1週間未満」の形（区分の境をまたがない範囲）",
                            "a duration class 1–7, or forms like 12時間未満, 1日～3日, 3日以上1週間未満 (within one class)",
                        ),
                );
            }
        }
        let col = cols.get(G_COLLAPSE);
        let mut collapse_zone = false;
        if let Some((k, Some(v))) = col {
            match parse_collapse(v) {
                CollapseValue::No => {}
                CollapseValue::Type(t) => {
                    a.collapse = Some(t);
                    collapse_zone = true;
                }
                CollapseValue::Unreadable => {
                    collapse_zone = true;
                    c.report(
                        issue(code::VALUE_UNREAD_KEPT)
                            .column(k)
                            .value(v)
                            .detail(
                                "家屋倒壊等氾濫想定区域（種別不明）として取り込みます",
                                "kept as a house-collapse zone of unknown type",
                            )
                            .expected(
                                "氾濫流・河岸侵食・なし（または1〜3・0）",
                                "氾濫流 (flood flow), 河岸侵食 (bank erosion), なし (none), or 1–3 / 0",
                            ),
                    );
                }
            }
        }
        a.family = Some(if has_depth || a.band.is_some() {
            FAMILY_DEPTH
        } else if dur.is_some() {
            FAMILY_DURATION
        } else if collapse_zone {
            FAMILY_COLLAPSE
        } else {
            FAMILY_DEPTH
        });
    }
}

/// What the generic form read from which column, for the report.
fn generic_mapping(d: DatasetId, f: &RawFeature) -> String {
    let cols = Cols::new(f);
    let roles: &[(&[&str], &str)] = if d == DatasetId::Landslide {
        &[
            (G_SCENARIO, "scenario"),
            (G_PHENOMENON, "phenomenon"),
            (G_ZONE_CLASS, "zone_class"),
            (G_ZONE_NAME, "zone_name"),
        ]
    } else {
        &[
            (G_SCENARIO, "scenario"),
            (G_RANK, "depth_rank"),
            (G_MIN, "depth_min_m"),
            (G_MAX, "depth_max_m"),
            (G_BAND, "depth_band"),
            (G_RIVER_NAME, "river_name"),
            (G_RIVER_CODE, "river_code"),
            (G_DURATION, "duration_class"),
            (G_COLLAPSE, "collapse_type"),
        ]
    };
    let found: Vec<String> = roles
        .iter()
        .filter_map(|(aliases, role)| cols.get(aliases).map(|(k, _)| format!("{k} → {role}")))
        .collect();
    if found.is_empty() {
        "—".into()
    } else {
        found.join(", ")
    }
}

fn normalize_scenario(s: &str) -> String {
    let n = crate::text::nfkc(s).0;
    if n.contains("最大") || n.eq_ignore_ascii_case("L2") {
        SCENARIO_MAX.into()
    } else if n.contains("計画") || n.eq_ignore_ascii_case("L1") {
        SCENARIO_PLAN.into()
    } else {
        n
    }
}

impl Normalizer for Hazards {
    fn feature(&mut self, src: &SourceInfo, f: RawFeature, report: &mut Report, out: &mut Out<'_>) {
        let layout = detect(&f);
        if !layout.fits(self.dataset) {
            if !self.wrong_kind_reported {
                self.wrong_kind_reported = true;
                report.push_in(
                    &src.file,
                    issue(code::HEADER_UNRECOGNIZED)
                        .at(f.loc)
                        .value(layout.name())
                        .detail(
                            format!(
                                "{}のファイルに見えます。データセットの選択を確認してください",
                                layout.name()
                            ),
                            format!(
                                "this looks like a {} file; check the dataset chosen",
                                layout.name()
                            ),
                        )
                        .expected(
                            format!("{}のファイル", self.dataset.title_ja()),
                            format!("a {} file", self.dataset.title_en()),
                        ),
                );
            } else {
                report.errors += 1;
            }
            return;
        }
        let first = self
            .reported
            .as_ref()
            .is_none_or(|(file, l)| *file != src.file || *l != layout);
        if first {
            self.reported = Some((src.file.clone(), layout));
            report.layout = Some(layout.name().into());
            let b = issue(code::LAYOUT_DETECTED).value(layout.name());
            let b = if layout == Layout::Generic {
                let m = generic_mapping(self.dataset, &f);
                b.detail(format!("読み取る列: {m}"), format!("columns read: {m}"))
            } else {
                b
            };
            report.push_in(&src.file, b);
        }
        let mut c = Cells::new(src, &f, report);
        let a = self.attrs(layout, &mut c, first);
        let geometry = c.polygon(f.geometry.clone());
        if c.errors > 0 {
            return;
        }
        let designated = a.zone_class.map(|z| z <= 2);
        let label = a.band.map(|(m, x)| band_label(m, x));
        report.records_accepted += 1;
        out(Row {
            key: None,
            values: vec![
                Val::text(self.dataset.as_str()),
                Val::opt_text(a.scenario),
                a.rank.map_or(Val::Null, Val::Int),
                a.band.map_or(Val::Null, |b| Val::Float(b.0)),
                a.band.and_then(|b| b.1).map_or(Val::Null, Val::Float),
                Val::opt_text(label),
                a.phenomenon.map_or(Val::Null, Val::Int),
                a.zone_class.map_or(Val::Null, Val::Int),
                designated.map_or(Val::Null, Val::Bool),
                Val::opt_text(a.river_code),
                Val::opt_text(a.river_name),
                Val::opt_text(a.zone_name),
                Val::text(layout.name()),
                a.family.map_or(Val::Null, Val::text),
                a.duration.map_or(Val::Null, Val::Int),
                a.collapse.map_or(Val::Null, Val::Int),
            ],
            geometry,
            raw: f.raw_json(),
        });
    }

    fn finish(&mut self, report: &mut Report, _out: &mut Out<'_>) {
        if report.records_read > 0 && report.records_accepted == 0 && !report.rejected() {
            report.push(issue(code::NO_RECORDS));
        }
    }
}

#[cfg(test)]
mod tests;
