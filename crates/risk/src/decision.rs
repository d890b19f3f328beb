//! The evacuation decision for a home: leave (立退き避難), stay on an upper floor (屋内安全確保),
//! or nothing to do. The rule is the national one (内閣府 避難情報に関するガイドライン R3.5 and
//! the prefectures' 避難行動判定フロー; see `/work/shared/reference/addresses-and-evacuation.md`
//! §3): inside a mapped zone the resident leaves unless all three conditions for staying hold —
//!
//! 1. the home is outside every 家屋倒壊等氾濫想定区域 (氾濫流 knocks wooden houses down, 河岸侵食
//!    takes the ground away);
//! 2. the floor of its top storey stands above the water: the depth band's upper bound against
//!    the floor heights of the 手引き's reading, 0.5 m for the ground floor (below 0.5 m is
//!    床下浸水) and 3 m per storey above (so 0.5–3 m: one-storey homes leave, two storeys may
//!    stay upstairs; 3–5 m: up to two storeys leave, three may stay; an open-ended band never
//!    lets anyone stay) — Tottori's published table agrees; a zone without a depth cannot show
//!    this, so it means leave;
//! 3. supplies last until the water recedes: 浸水継続時間 class 3 (1–3 days) or less, the usual
//!    three days of household stock; classes 4–7 mean leave. No duration data is said as a note
//!    (it does not decide).
//!
//! Landslide zones always mean leaving, early; tsunami zones mean leaving at once. The
//! thresholds (`decision.json`) and every sentence (one file per language,
//! `sentences/<code>.json`) are data, so an in-browser copy can share them; this file only
//! applies them.

use crate::lang::Lang;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::LazyLock;

#[derive(Deserialize)]
struct File {
    rules: Rules,
}

/// The thresholds of the rule.
#[derive(Debug, Deserialize)]
pub struct Rules {
    /// Height of one storey, metres (the floor of storey n stands at (n − 1) × this).
    pub storey_height_m: f64,
    /// Height of the ground floor above the ground, metres (water below it is 床下浸水).
    pub first_floor_m: f64,
    /// The longest 浸水継続時間 class household stock covers (3 = up to 3 days).
    pub stock_max_duration_class: i64,
    /// Storeys assumed when the resident has not said.
    pub assumed_floors: u32,
    /// A depth band starting at or above this (metres) makes the home part of the 早期の立退き
    /// 避難が必要な区域, as a collapse zone does: staying indoors cannot save lives there.
    pub early_depth_m: f64,
    /// Crowding levels: (evacuees ÷ capacity below this, level), ascending; at or above the
    /// last bound the level is `full`.
    pub crowding: Vec<(f64, String)>,
}

static FILE: LazyLock<File> = LazyLock::new(|| {
    // A test parses this file; a broken file fails the build's tests, never a request.
    serde_json::from_str(include_str!("decision.json")).expect("crates/risk/src/decision.json")
});

/// The sentences of `lang`: `sentences/<code>.json`, key → sentence, one file per language as
/// the map's strings are (a test checks every key and placeholder of Japanese in each).
fn sentences_file(lang: Lang) -> &'static str {
    match lang {
        Lang::Ja => include_str!("sentences/ja.json"),
        Lang::En => include_str!("sentences/en.json"),
        Lang::Easy => include_str!("sentences/easy.json"),
        Lang::ZhHans => include_str!("sentences/zh-Hans.json"),
        Lang::ZhHant => include_str!("sentences/zh-Hant.json"),
        Lang::Ko => include_str!("sentences/ko.json"),
        Lang::Vi => include_str!("sentences/vi.json"),
        Lang::Pt => include_str!("sentences/pt.json"),
    }
}

static TEXT: LazyLock<HashMap<Lang, HashMap<String, String>>> = LazyLock::new(|| {
    Lang::ALL
        .into_iter()
        .map(|l| {
            let m = serde_json::from_str(sentences_file(l))
                .unwrap_or_else(|e| panic!("crates/risk/src/sentences/{}.json: {e}", l.code()));
            (l, m)
        })
        .collect()
});

/// The thresholds.
pub fn rules() -> &'static Rules {
    &FILE.rules
}

/// The sentence `key` in `lang` (empty when missing, which a test forbids).
pub fn text(key: &str, lang: Lang) -> &'static str {
    TEXT.get(&lang)
        .and_then(|m| m.get(key))
        .map_or("", String::as_str)
}

/// The sentence `key` with its `{placeholders}` filled.
pub fn fill(key: &str, lang: Lang, vars: &[(&str, &str)]) -> String {
    let mut s = text(key, lang).to_string();
    for (k, v) in vars {
        s = s.replace(&format!("{{{k}}}"), v);
    }
    s
}

/// What to do.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// 立退き避難: leave the building for a safe place.
    Leave,
    /// 屋内安全確保: stay on an upper floor.
    UpperFloor,
    /// Outside every zone.
    None,
}

/// One reason, citing the data a resident can find on the map.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Reason {
    /// `collapse_flow` | `collapse_erosion` | `collapse_both` | `collapse_unknown` |
    /// `depth_reaches_top` | `depth_below_top` | `depth_unknown` | `duration_over` |
    /// `duration_within` | `duration_unknown` | `floors_assumed` | `outside` | `landslide` |
    /// `tsunami` | `tsunami_unknown`.
    pub code: &'static str,
    /// What it leads to: `leave`, `upper_floor`, `none`, or `note` (said, does not decide).
    pub effect: &'static str,
    /// River (floods).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub river: Option<String>,
    /// Scenario (想定最大規模 / 計画規模).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Depth band as text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth_band: Option<String>,
    /// 浸水継続時間 class.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration_class: Option<i64>,
    /// The sentence.
    pub text: String,
}

/// The decision for one hazard.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Decision {
    /// `leave`, `upper_floor` or `none`.
    pub action: Action,
    /// Storeys the answer is for.
    pub floors: u32,
    /// True when the resident did not say and `floors` is the assumption (said in `text`).
    pub floors_assumed: bool,
    /// For `upper_floor`: the lowest storey above the water.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refuge_floor: Option<u32>,
    /// Why, leaving reasons first.
    pub reasons: Vec<Reason>,
    /// The sentence to read first.
    pub text: String,
    /// When to start; absent for `none`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<Start>,
}

/// When to start acting, the third question of the 避難行動判定フロー.
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[derive(Debug, Clone, Serialize)]
pub struct Start {
    /// `at_once` (tsunami: on strong or long shaking, without waiting for a warning), `early`
    /// (早期の立退き避難が必要な区域 — a collapse zone, water from `early_depth_m` up, or a
    /// landslide zone: everyone at alert level 3, in daylight), `level4` (everyone at 避難指示,
    /// those needing time at level 3) or `upper_floor` (move up at level 4, before the water).
    pub code: &'static str,
    /// The sentence.
    pub text: String,
}

fn start(code: &'static str, lang: Lang) -> Option<Start> {
    Some(Start {
        code,
        text: text(&format!("start.{code}"), lang).to_string(),
    })
}

/// A depth zone holding the point.
#[derive(Debug, Clone, Default)]
pub struct DepthFact {
    /// River name.
    pub river: Option<String>,
    /// Scenario.
    pub scenario: Option<String>,
    /// Band lower bound (m).
    pub min_m: Option<f64>,
    /// Band upper bound (m, exclusive; None = open-ended).
    pub max_m: Option<f64>,
}

/// A 浸水継続時間 zone holding the point.
#[derive(Debug, Clone, Default)]
pub struct DurationFact {
    /// River name.
    pub river: Option<String>,
    /// Class 1–7 (None: not in the code list).
    pub class: Option<i64>,
}

/// A 家屋倒壊等氾濫想定区域 holding the point.
#[derive(Debug, Clone, Default)]
pub struct CollapseFact {
    /// River name.
    pub river: Option<String>,
    /// 1 氾濫流, 2 河岸侵食, 3 both, None unknown.
    pub kind: Option<i64>,
}

/// Everything the flood rule weighs at one point.
#[derive(Debug, Clone, Default)]
pub struct FloodFacts {
    /// Depth zones (every river and scenario).
    pub depth: Vec<DepthFact>,
    /// Duration zones.
    pub duration: Vec<DurationFact>,
    /// Collapse zones.
    pub collapse: Vec<CollapseFact>,
}

impl FloodFacts {
    /// True when the point lies in no zone of any family.
    pub fn is_empty(&self) -> bool {
        self.depth.is_empty() && self.duration.is_empty() && self.collapse.is_empty()
    }
}

/// Height above the ground of the floor of storey `n` (1 = ground floor).
pub fn floor_height_m(n: u32) -> f64 {
    let r = rules();
    if n <= 1 {
        r.first_floor_m
    } else {
        r.storey_height_m * f64::from(n - 1)
    }
}

/// Whether water of band `[min, max)` may reach the floor of storey `n`. An open-ended band
/// reaches every floor.
pub fn reaches(max_m: Option<f64>, n: u32) -> bool {
    max_m.is_none_or(|m| m > floor_height_m(n))
}

/// A band as text (`0.5m以上3m未満`, `0.5 to 3 m`, `0,5 a 3 m`): the forms are data
/// (`band.range` / `band.below` / `band.above`), the numbers written as the language writes them.
pub fn band_text(min: Option<f64>, max: Option<f64>, lang: Lang) -> String {
    let f = |x: f64| lang.number(x);
    match (min, max) {
        (Some(a), Some(b)) if a > 0.0 => fill("band.range", lang, &[("a", &f(a)), ("b", &f(b))]),
        (_, Some(b)) => fill("band.below", lang, &[("b", &f(b))]),
        (Some(a), None) => fill("band.above", lang, &[("a", &f(a))]),
        _ => String::new(),
    }
}

fn river_text(r: &Option<String>, lang: Lang) -> String {
    r.clone()
        .unwrap_or_else(|| text("river.unknown", lang).to_string())
}

/// The scenario in words. A scenario name the data spells otherwise is kept as written for
/// readers of Japanese and said generically in other languages.
pub(crate) fn scenario_text(s: &Option<String>, lang: Lang) -> String {
    match s.as_deref() {
        Some(crate::vocab::SCENARIO_MAX) => text("scenario.max", lang).into(),
        Some(crate::vocab::SCENARIO_PLAN) => text("scenario.plan", lang).into(),
        Some(other) if matches!(lang, Lang::Ja | Lang::Easy) => other.into(),
        _ => text("scenario.none", lang).into(),
    }
}

fn reason(code: &'static str, effect: &'static str) -> Reason {
    Reason {
        code,
        effect,
        river: None,
        scenario: None,
        depth_band: None,
        duration_class: None,
        text: String::new(),
    }
}

/// The flood rule (also inland flooding and storm surge, which have no duration or collapse
/// families but the same depth test). `floors` None = not said: the assumed storeys answer,
/// said aloud.
pub fn decide_flood(f: &FloodFacts, floors: Option<u32>, title: &str, lang: Lang) -> Decision {
    let r = rules();
    let n = floors.unwrap_or(r.assumed_floors).max(1);
    let ns = n.to_string();
    let mut leave: Vec<Reason> = Vec::new();
    let mut stay: Vec<Reason> = Vec::new();
    let mut notes: Vec<Reason> = Vec::new();
    if f.is_empty() {
        return outside(title, n, floors, lang);
    }
    // 1. Collapse zones.
    for c in &f.collapse {
        let (code, key) = match c.kind {
            Some(1) => ("collapse_flow", "reason.collapse_flow"),
            Some(2) => ("collapse_erosion", "reason.collapse_erosion"),
            Some(3) => ("collapse_both", "reason.collapse_both"),
            _ => ("collapse_unknown", "reason.collapse_unknown"),
        };
        let river = river_text(&c.river, lang);
        let mut x = reason(code, "leave");
        x.text = fill(key, lang, &[("river", &river)]);
        x.river = c.river.clone();
        push_unique(&mut leave, x);
    }
    // 2. Depth against the top storey's floor.
    let top = floor_height_m(n);
    let tops = lang.number(top);
    let mut worst_max: Option<Option<f64>> = None;
    for d in &f.depth {
        let river = river_text(&d.river, lang);
        let scen = scenario_text(&d.scenario, lang);
        if d.min_m.is_none() && d.max_m.is_none() {
            let mut x = reason("depth_unknown", "leave");
            x.text = fill("reason.depth_unknown", lang, &[("river", &river)]);
            x.river = d.river.clone();
            x.scenario = d.scenario.clone();
            push_unique(&mut leave, x);
            continue;
        }
        let band = band_text(d.min_m, d.max_m, lang);
        let vars = [
            ("river", river.as_str()),
            ("scenario", scen.as_str()),
            ("band", band.as_str()),
            ("floors", ns.as_str()),
            ("top", tops.as_str()),
        ];
        let reach = reaches(d.max_m, n);
        let mut x = reason(
            if reach {
                "depth_reaches_top"
            } else {
                "depth_below_top"
            },
            if reach { "leave" } else { "upper_floor" },
        );
        x.text = fill(
            if reach {
                "reason.depth_reaches_top"
            } else {
                "reason.depth_below_top"
            },
            lang,
            &vars,
        );
        x.river = d.river.clone();
        x.scenario = d.scenario.clone();
        x.depth_band = Some(band_text(d.min_m, d.max_m, Lang::Ja));
        if reach {
            push_unique(&mut leave, x);
        } else {
            worst_max = Some(match worst_max {
                Some(Some(w)) => d.max_m.map(|m| m.max(w)),
                Some(None) => None,
                None => d.max_m,
            });
            push_unique(&mut stay, x);
        }
    }
    // A point in a duration or collapse zone without any depth zone: nothing shows the top
    // floor stays dry.
    if f.depth.is_empty() {
        let river = f
            .duration
            .iter()
            .map(|d| &d.river)
            .chain(f.collapse.iter().map(|c| &c.river))
            .next()
            .cloned()
            .flatten();
        let mut x = reason("depth_unknown", "leave");
        x.text = fill(
            "reason.depth_unknown",
            lang,
            &[("river", &river_text(&river, lang))],
        );
        x.river = river;
        push_unique(&mut leave, x);
    }
    // 3. Duration against the household stock.
    let mut any_duration = false;
    for d in &f.duration {
        let river = river_text(&d.river, lang);
        if let Some(c) = d.class {
            any_duration = true;
            let over = c > r.stock_max_duration_class;
            let dur = text(&format!("duration.{c}"), lang).to_string();
            let cs = c.to_string();
            let mut x = reason(
                if over {
                    "duration_over"
                } else {
                    "duration_within"
                },
                if over { "leave" } else { "upper_floor" },
            );
            x.text = fill(
                if over {
                    "reason.duration_over"
                } else {
                    "reason.duration_within"
                },
                lang,
                &[("river", &river), ("duration", &dur), ("class", &cs)],
            );
            x.river = d.river.clone();
            x.duration_class = Some(c);
            if over {
                push_unique(&mut leave, x);
            } else {
                push_unique(&mut stay, x);
            }
        }
    }
    if !any_duration {
        let mut x = reason("duration_unknown", "note");
        x.text = fill("reason.duration_unknown", lang, &[]);
        notes.push(x);
    }
    if floors.is_none() {
        let mut x = reason("floors_assumed", "note");
        x.text = fill("reason.floors_assumed", lang, &[("floors", &ns)]);
        notes.push(x);
    }
    let assumed = if floors.is_none() {
        fill("decision.assumed", lang, &[("floors", &ns)])
    } else {
        String::new()
    };
    let sep = lang.sentence_sep();
    if !leave.is_empty() {
        let mut reasons = leave;
        reasons.extend(notes);
        let t = text("decision.flood.leave", lang);
        // 早期の立退き避難が必要な区域: a collapse zone, or water deep enough that no storey of
        // an ordinary home is a refuge.
        let early = !f.collapse.is_empty()
            || f.depth
                .iter()
                .any(|d| d.min_m.is_some_and(|m| m >= r.early_depth_m));
        return Decision {
            action: Action::Leave,
            floors: n,
            floors_assumed: floors.is_none(),
            refuge_floor: None,
            reasons,
            text: if assumed.is_empty() {
                t.to_string()
            } else {
                format!("{t}{sep}{assumed}")
            },
            start: start(if early { "early" } else { "level4" }, lang),
        };
    }
    // Every zone leaves the top storey dry: the lowest storey above the deepest band.
    let refuge = match worst_max {
        Some(Some(m)) => (1..=n).find(|&k| !reaches(Some(m), k)).unwrap_or(n),
        _ => n,
    };
    let fl = refuge.to_string();
    let mut reasons = stay;
    reasons.extend(notes);
    let t = fill("decision.flood.upper_floor", lang, &[("floor", &fl)]);
    Decision {
        action: Action::UpperFloor,
        floors: n,
        floors_assumed: floors.is_none(),
        refuge_floor: Some(refuge),
        reasons,
        text: if assumed.is_empty() {
            t
        } else {
            format!("{t}{sep}{assumed}")
        },
        start: start("upper_floor", lang),
    }
}

fn push_unique(v: &mut Vec<Reason>, r: Reason) {
    if !v.iter().any(|x| x.text == r.text) {
        v.push(r);
    }
}

/// Landslide: inside a zone, always leave early. `zone` names the zone in words.
pub fn decide_landslide(zone: Option<&str>, floors: Option<u32>, lang: Lang) -> Decision {
    let n = floors.unwrap_or(rules().assumed_floors).max(1);
    match zone {
        None => outside(
            &crate::title_in_sentence(crate::Hazard::Landslide, lang),
            n,
            floors,
            lang,
        ),
        Some(z) => {
            let mut x = reason("landslide", "leave");
            x.text = fill("reason.landslide", lang, &[("zone", z)]);
            Decision {
                action: Action::Leave,
                floors: n,
                floors_assumed: floors.is_none(),
                refuge_floor: None,
                reasons: vec![x],
                text: text("decision.landslide.leave", lang).into(),
                start: start("early", lang),
            }
        }
    }
}

/// Tsunami: inside a zone, leave at once. `band` is the worst depth band, when known.
pub fn decide_tsunami(
    in_zone: bool,
    band: Option<(Option<f64>, Option<f64>)>,
    floors: Option<u32>,
    lang: Lang,
) -> Decision {
    let n = floors.unwrap_or(rules().assumed_floors).max(1);
    if !in_zone {
        return outside(
            &crate::title_in_sentence(crate::Hazard::Tsunami, lang),
            n,
            floors,
            lang,
        );
    }
    let mut x = match band {
        Some((a, b)) if a.is_some() || b.is_some() => {
            let mut x = reason("tsunami", "leave");
            x.text = fill("reason.tsunami", lang, &[("band", &band_text(a, b, lang))]);
            x.depth_band = Some(band_text(a, b, Lang::Ja));
            x
        }
        _ => {
            let mut x = reason("tsunami_unknown", "leave");
            x.text = fill("reason.tsunami_unknown", lang, &[]);
            x
        }
    };
    x.effect = "leave";
    Decision {
        action: Action::Leave,
        floors: n,
        floors_assumed: floors.is_none(),
        refuge_floor: None,
        reasons: vec![x],
        text: text("decision.tsunami.leave", lang).into(),
        start: start("at_once", lang),
    }
}

fn outside(title: &str, n: u32, floors: Option<u32>, lang: Lang) -> Decision {
    let mut x = reason("outside", "none");
    x.text = fill("reason.outside", lang, &[("title", title)]);
    Decision {
        action: Action::None,
        floors: n,
        floors_assumed: floors.is_none(),
        refuge_floor: None,
        reasons: vec![x],
        text: fill("decision.none", lang, &[("title", title)]),
        start: None,
    }
}

/// Crowding level of an open shelter from evacuees ÷ capacity (`vacant`, `somewhat`,
/// `crowded`, `full`), by the thresholds of `decision.json` (0.3 / 0.6 / 0.8: the levels the
/// VACAN shelter-crowding service shows in many cities, 空いています / やや混雑 / 混雑 / 満). None
/// when either number is unknown or the capacity is not positive.
pub fn crowding(evacuees: Option<u32>, capacity: Option<i64>) -> Option<&'static str> {
    let (e, c) = (evacuees?, capacity?);
    if c <= 0 {
        return None;
    }
    let ratio = f64::from(e) / c as f64;
    for (bound, level) in &rules().crowding {
        if ratio < *bound {
            return Some(level.as_str());
        }
    }
    Some("full")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn depth_of_rank(rank: i64) -> DepthFact {
        let (lo, hi) = crate::vocab::depth_range(rank).unwrap();
        DepthFact {
            river: Some("サンプル川".into()),
            scenario: Some(crate::vocab::SCENARIO_MAX.into()),
            min_m: Some(lo),
            max_m: hi,
        }
    }

    /// The guidance's answer, written out by hand (not computed by the rule under test): the
    /// highest KSJ depth rank each storey count may stay above. Rank 1 (<0.5 m) stays below
    /// the ground floor; 2 (0.5–3 m) needs a second storey; 3 (3–5 m) a third; 4 (5–10 m) a
    /// fourth storey's floor is at 9 m, still below 10 m, so it needs five; 5 and 6 never on
    /// 1–3 storeys.
    fn guidance_depth_ok(rank: i64, floors: u32) -> bool {
        match floors {
            1 => rank <= 1,
            2 => rank <= 2,
            3 => rank <= 3,
            _ => unreachable!(),
        }
    }

    #[test]
    fn every_combination_gives_the_guidance_action() {
        let mut checked = 0;
        for collapse in [None, Some(1), Some(2), Some(3)] {
            for rank in 1..=6 {
                for class in 1..=7 {
                    for floors in 1..=3 {
                        let f = FloodFacts {
                            depth: vec![depth_of_rank(rank)],
                            duration: vec![DurationFact {
                                river: Some("サンプル川".into()),
                                class: Some(class),
                            }],
                            collapse: collapse
                                .map(|k| CollapseFact {
                                    river: Some("サンプル川".into()),
                                    kind: Some(k),
                                })
                                .into_iter()
                                .collect(),
                        };
                        let want =
                            if collapse.is_some() || !guidance_depth_ok(rank, floors) || class >= 4
                            {
                                Action::Leave
                            } else {
                                Action::UpperFloor
                            };
                        let d = decide_flood(&f, Some(floors), "洪水", Lang::Ja);
                        assert_eq!(
                            d.action, want,
                            "collapse {collapse:?} rank {rank} class {class} floors {floors}: {d:#?}"
                        );
                        // Every leaving reason is given, each citing its river.
                        let codes: Vec<&str> = d.reasons.iter().map(|r| r.code).collect();
                        assert_eq!(
                            codes.iter().any(|c| c.starts_with("collapse_")),
                            collapse.is_some()
                        );
                        assert_eq!(codes.contains(&"duration_over"), class >= 4, "{codes:?}");
                        assert_eq!(
                            codes.contains(&"depth_reaches_top"),
                            !guidance_depth_ok(rank, floors)
                        );
                        for r in &d.reasons {
                            if r.effect != "note" {
                                assert!(r.text.contains("サンプル川"), "{}", r.text);
                            }
                        }
                        // When to start, written out: early in a collapse zone or from 3 m of
                        // water (rank 3 is 3–5 m), else at level 4; upstairs at level 4.
                        let want_start = match want {
                            Action::UpperFloor => "upper_floor",
                            _ if collapse.is_some() || rank >= 3 => "early",
                            _ => "level4",
                        };
                        assert_eq!(
                            d.start.as_ref().map(|s| s.code),
                            Some(want_start),
                            "collapse {collapse:?} rank {rank} class {class} floors {floors}"
                        );
                        if want == Action::UpperFloor {
                            let refuge = d.refuge_floor.unwrap();
                            assert!(refuge <= floors);
                            assert_eq!(refuge, rank.max(1) as u32, "rank {rank}");
                        }
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 4 * 6 * 7 * 3);
    }

    #[test]
    fn when_to_start_is_said_for_every_hazard_in_every_language() {
        for lang in Lang::ALL {
            let t = decide_tsunami(true, None, None, lang);
            assert_eq!(t.start.as_ref().map(|s| s.code), Some("at_once"));
            let l = decide_landslide(Some("土砂災害警戒区域"), None, lang);
            assert_eq!(l.start.as_ref().map(|s| s.code), Some("early"));
            let none = decide_flood(&FloodFacts::default(), None, "洪水", lang);
            assert!(none.start.is_none());
            for d in [t, l] {
                let s = d.start.unwrap();
                assert!(
                    !s.text.is_empty() && !s.text.contains('{'),
                    "{lang:?}: {}",
                    s.text
                );
            }
        }
        // The early sentence names the early-evacuation area in Japanese.
        let l = decide_landslide(Some("土砂災害警戒区域"), None, Lang::Ja);
        assert!(l
            .start
            .unwrap()
            .text
            .contains("早期の立退き避難が必要な区域"));
    }

    #[test]
    fn unknowns_outside_and_assumed_storeys() {
        // No zone: nothing to do.
        let d = decide_flood(&FloodFacts::default(), Some(2), "洪水", Lang::Ja);
        assert_eq!(d.action, Action::None);
        // A zone without depth: cannot show the top floor is dry.
        let f = FloodFacts {
            depth: vec![DepthFact::default()],
            ..Default::default()
        };
        assert_eq!(
            decide_flood(&f, Some(3), "洪水", Lang::Ja).action,
            Action::Leave
        );
        // Only a duration zone (no depth zone holds the point): the top floor cannot be shown
        // dry.
        let f = FloodFacts {
            duration: vec![DurationFact {
                river: None,
                class: Some(1),
            }],
            ..Default::default()
        };
        assert_eq!(
            decide_flood(&f, Some(3), "洪水", Lang::Ja).action,
            Action::Leave
        );
        // A collapse zone of unknown type is still a collapse zone.
        let f = FloodFacts {
            collapse: vec![CollapseFact::default()],
            ..Default::default()
        };
        let d = decide_flood(&f, Some(3), "洪水", Lang::En);
        assert_eq!(d.action, Action::Leave);
        assert_eq!(d.reasons[0].code, "collapse_unknown");
        assert!(d.reasons[0].text.contains("an unnamed river"));
        // Storeys not said: the 2-storey answer, said aloud; a note on missing duration data.
        let f = FloodFacts {
            depth: vec![depth_of_rank(2)],
            ..Default::default()
        };
        let d = decide_flood(&f, None, "洪水", Lang::Ja);
        assert_eq!(
            (d.action, d.floors, d.floors_assumed),
            (Action::UpperFloor, 2, true)
        );
        assert!(d.text.contains("2階建てと仮定"), "{}", d.text);
        assert!(d.reasons.iter().any(|r| r.code == "floors_assumed"));
        assert!(d.reasons.iter().any(|r| r.code == "duration_unknown"));
        let d = decide_flood(&f, Some(1), "洪水", Lang::En);
        assert_eq!(d.action, Action::Leave);
        assert!(!d.text.contains("assumes"), "{}", d.text);
        // Two rivers: the deeper one decides, and both are cited.
        let mut other = depth_of_rank(3);
        other.river = Some("東川".into());
        let f = FloodFacts {
            depth: vec![depth_of_rank(2), other],
            ..Default::default()
        };
        let d = decide_flood(&f, Some(2), "洪水", Lang::Ja);
        assert_eq!(d.action, Action::Leave);
        assert!(d.reasons.iter().any(|r| r.river.as_deref() == Some("東川")));
        let d = decide_flood(&f, Some(3), "洪水", Lang::Ja);
        assert_eq!((d.action, d.refuge_floor), (Action::UpperFloor, Some(3)));
        // Landslide and tsunami.
        assert_eq!(
            decide_landslide(Some("土砂災害警戒区域"), None, Lang::Ja).action,
            Action::Leave
        );
        assert_eq!(decide_landslide(None, None, Lang::Ja).action, Action::None);
        let t = decide_tsunami(true, Some((Some(0.3), Some(1.0))), Some(5), Lang::En);
        assert_eq!(t.action, Action::Leave);
        assert!(t.text.contains("Every minute counts"));
    }

    #[test]
    fn crowding_levels() {
        assert_eq!(crowding(Some(0), Some(100)), Some("vacant"));
        assert_eq!(crowding(Some(29), Some(100)), Some("vacant"));
        assert_eq!(crowding(Some(30), Some(100)), Some("somewhat"));
        assert_eq!(crowding(Some(59), Some(100)), Some("somewhat"));
        assert_eq!(crowding(Some(60), Some(100)), Some("crowded"));
        assert_eq!(crowding(Some(79), Some(100)), Some("crowded"));
        assert_eq!(crowding(Some(80), Some(100)), Some("full"));
        assert_eq!(crowding(Some(150), Some(100)), Some("full"));
        assert_eq!(crowding(None, Some(100)), None);
        assert_eq!(crowding(Some(5), None), None);
        assert_eq!(crowding(Some(5), Some(0)), None);
    }

    /// The `{placeholders}` of a sentence, sorted, each once.
    fn placeholders(s: &str) -> Vec<String> {
        let mut v: Vec<String> = s
            .split('{')
            .skip(1)
            .filter_map(|p| p.split_once('}').map(|(a, _)| a.to_string()))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    #[test]
    fn every_sentence_in_every_language() {
        // One file per language, each with exactly the keys of Japanese.
        let ja = &TEXT[&Lang::Ja];
        for lang in Lang::ALL {
            let mut got: Vec<&String> = TEXT[&lang].keys().collect();
            let mut want: Vec<&String> = ja.keys().collect();
            got.sort();
            want.sort();
            assert_eq!(got, want, "sentences/{}.json: keys", lang.code());
        }
        for (k, t) in ja {
            let ja = placeholders(t);
            for lang in Lang::ALL {
                let s = text(k, lang);
                assert!(!s.trim().is_empty(), "{k} has no {} text", lang.code());
                assert!(!s.contains("{}"), "{k} {}", lang.code());
                let ph = placeholders(s);
                if lang == Lang::Easy {
                    // Easy Japanese may leave details out, never add.
                    assert!(ph.iter().all(|p| ja.contains(p)), "{k} easy: {ph:?}");
                } else {
                    // Every other language says what Japanese says.
                    assert_eq!(ph, ja, "{k} {}", lang.code());
                }
            }
        }
        for c in 1..=7 {
            assert!(!text(&format!("duration.{c}"), Lang::Ja).is_empty());
        }
        for level in ["vacant", "somewhat", "crowded", "full"] {
            assert!(!text(&format!("crowding.{level}"), Lang::Ja).is_empty());
        }
    }

    #[test]
    fn bands_per_script() {
        assert_eq!(band_text(Some(0.5), Some(3.0), Lang::Ja), "0.5m以上3m未満");
        assert_eq!(band_text(Some(0.5), Some(3.0), Lang::En), "0.5 to 3 m");
        assert_eq!(band_text(Some(0.5), Some(3.0), Lang::Pt), "0,5 a 3 m");
        assert_eq!(band_text(None, Some(0.3), Lang::Vi), "dưới 0,3 m");
        assert_eq!(band_text(Some(20.0), None, Lang::ZhHant), "20公尺以上");
        assert_eq!(band_text(Some(3.0), Some(5.0), Lang::Ko), "3~5m");
        assert_eq!(band_text(None, None, Lang::ZhHans), "");
    }

    #[test]
    fn decisions_in_the_new_languages() {
        let f = FloodFacts {
            depth: vec![depth_of_rank(2)],
            ..Default::default()
        };
        for (lang, word) in [
            (Lang::ZhHans, "层房屋作出的回答"),
            (Lang::ZhHant, "層房屋作出的回答"),
            (Lang::Ko, "층 집으로 가정한"),
            (Lang::Vi, "giả định nhà 2 tầng"),
            (Lang::Pt, "casa de 2 andares"),
        ] {
            let d = decide_flood(&f, None, "x", lang);
            assert_eq!(d.action, Action::UpperFloor);
            assert!(d.text.contains(word), "{}: {}", lang.code(), d.text);
            assert!(!d.text.contains('{'), "{}", d.text);
            for r in &d.reasons {
                assert!(!r.text.contains('{') && !r.text.is_empty(), "{}", r.text);
            }
            // The river stays in Japanese.
            assert!(
                d.reasons[0].text.contains("サンプル川"),
                "{}",
                d.reasons[0].text
            );
        }
        // Latin scripts put a space between the decision and its assumption, CJK does not.
        let pt = decide_flood(&f, None, "x", Lang::Pt);
        assert!(pt.text.contains(". (Esta"), "{}", pt.text);
        let zh = decide_flood(&f, None, "x", Lang::ZhHans);
        assert!(zh.text.contains("。（"), "{}", zh.text);
    }
}
