//! Japanese address normalisation for matching: the same function folds the names of the
//! index and the resident's query, so any two spellings it maps to one string match.
//!
//! What it folds, in this order (each output character remembers where in the input it came
//! from, so the unmatched rest of a query can be given back as the resident wrote it):
//! 1. NFKC per character (full-width digits and letters, half-width katakana with their
//!    voiced marks), lower case, katakana → hiragana; ヶ ケ ヵ が → け, ノ 之 → の (桜ヶ丘 /
//!    桜ケ丘 / 桜が丘, 一ノ宮 / 一の宮); the dash family (－ ‐ ‑ ‒ – — ― − ─ ━) → `-`.
//! 2. Kanji numerals → arabic (一 → 1, 十二 → 12, 二〇 → 20), everywhere: names such as 八幡
//!    become 8幡 on both sides, so they still match.
//! 3. After a digit: 丁目, 番地, 番, 号, 地割 → `-`; の or ー between digits → `-`.
//! 4. Spaces: between two digits a `-`, elsewhere dropped.
//! 5. 大字 and 字 dropped (ABR names keep them, residents rarely write them); runs of `-`
//!    collapsed.

use unicode_normalization::UnicodeNormalization;

/// A normalised string: its characters and, for each, the byte offset in the input of the
/// character it came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Norm {
    /// Normalised characters.
    pub chars: Vec<char>,
    /// Byte offset in the input of each character's source.
    pub origin: Vec<usize>,
}

impl Norm {
    /// The normalised text.
    pub fn as_string(&self) -> String {
        self.chars.iter().collect()
    }

    fn push(&mut self, c: char, o: usize) {
        self.chars.push(c);
        self.origin.push(o);
    }
}

fn is_dash(c: char) -> bool {
    matches!(
        c,
        '-' | '\u{2010}'
            ..='\u{2015}' | '\u{2212}' | '\u{FE63}' | '\u{FF0D}' | '\u{2500}' | '\u{2501}'
    )
}

fn kanji_digit(c: char) -> Option<u32> {
    Some(match c {
        '〇' | '零' => 0,
        '一' | '壱' => 1,
        '二' | '弐' => 2,
        '三' | '参' => 3,
        '四' => 4,
        '五' => 5,
        '六' => 6,
        '七' => 7,
        '八' => 8,
        '九' => 9,
        _ => return None,
    })
}

fn kanji_unit(c: char) -> Option<u32> {
    Some(match c {
        '十' => 10,
        '百' => 100,
        '千' => 1000,
        _ => return None,
    })
}

/// The value of a run of kanji numerals: positional (二〇 = 20) when it has no 十百千,
/// else additive (二十三 = 23, 百五 = 105).
fn kanji_value(run: &[char]) -> u64 {
    if run.iter().all(|c| kanji_digit(*c).is_some()) {
        return run.iter().fold(0u64, |a, c| {
            a.saturating_mul(10)
                .saturating_add(kanji_digit(*c).unwrap_or(0) as u64)
        });
    }
    let (mut total, mut cur) = (0u64, 0u64);
    for &c in run {
        if let Some(d) = kanji_digit(c) {
            cur = cur.saturating_mul(10).saturating_add(d as u64);
        } else if let Some(u) = kanji_unit(c) {
            total = total.saturating_add(cur.max(1).saturating_mul(u as u64));
            cur = 0;
        }
    }
    total.saturating_add(cur)
}

/// Step 1: per character NFKC, width, kana and the ケ / の / dash families.
fn fold_chars(s: &str) -> Norm {
    let mut n = Norm::default();
    for (o, c) in s.char_indices() {
        if c.is_whitespace() || c == '\u{3000}' {
            n.push(' ', o);
            continue;
        }
        let mut buf = [0u8; 4];
        for d in c.encode_utf8(&mut buf).nfkc() {
            // A voiced mark (ﾞ → U+3099) composes with the kana before it: ｶﾞ → ガ.
            if matches!(d, '\u{3099}' | '\u{309A}') {
                if let Some(prev) = n.chars.last_mut() {
                    if let Some(comp) = unicode_normalization::char::compose(*prev, d) {
                        *prev = comp;
                        continue;
                    }
                }
            }
            let d = match d {
                'ァ'..='ヶ' => char::from_u32(d as u32 - 0x60).unwrap_or(d),
                d => d.to_lowercase().next().unwrap_or(d),
            };
            let d = match d {
                // ゖ ゕ are ヶ ヵ after the kana shift.
                'ゖ' | 'ゕ' | 'が' => 'け',
                '之' => 'の',
                d if is_dash(d) => '-',
                d => d,
            };
            n.push(d, o);
        }
    }
    n
}

/// Step 2: kanji numeral runs → arabic digits (each digit keeps the run's first origin).
fn kanji_numerals(n: Norm) -> Norm {
    let mut out = Norm::default();
    let mut i = 0;
    while i < n.chars.len() {
        let c = n.chars[i];
        if kanji_digit(c).is_some() || kanji_unit(c).is_some() {
            let start = i;
            while i < n.chars.len()
                && (kanji_digit(n.chars[i]).is_some() || kanji_unit(n.chars[i]).is_some())
            {
                i += 1;
            }
            let v = kanji_value(&n.chars[start..i]);
            for d in v.to_string().chars() {
                out.push(d, n.origin[start]);
            }
        } else {
            out.push(c, n.origin[i]);
            i += 1;
        }
    }
    out
}

/// Markers that stand for a dash after a number.
const MARKERS: &[&str] = &["丁目", "番地", "番", "号", "地割"];

/// Steps 3–5.
fn separators(n: Norm) -> Norm {
    let mut out = Norm::default();
    let cs = &n.chars;
    let mut i = 0;
    let prev_digit = |o: &Norm| o.chars.last().is_some_and(|c| c.is_ascii_digit());
    let next_digit = |j: usize| {
        cs[j..]
            .iter()
            .find(|c| **c != ' ')
            .is_some_and(|c| c.is_ascii_digit())
    };
    while i < cs.len() {
        let c = cs[i];
        if prev_digit(&out) {
            if let Some(m) = MARKERS.iter().find(|m| {
                let mc: Vec<char> = m.chars().collect();
                cs[i..].starts_with(&mc)
            }) {
                out.push('-', n.origin[i]);
                i += m.chars().count();
                continue;
            }
            if matches!(c, 'の' | 'ー' | '-') && next_digit(i + 1) {
                out.push('-', n.origin[i]);
                i += 1;
                continue;
            }
            if c == ' ' && next_digit(i + 1) {
                out.push('-', n.origin[i]);
                i += 1;
                continue;
            }
        }
        // 3番地の5: the の after a marker's dash.
        if c == 'の' && out.chars.last() == Some(&'-') && next_digit(i + 1) {
            i += 1;
            continue;
        }
        if c == ' ' {
            i += 1;
            continue;
        }
        if c == '大' && cs.get(i + 1) == Some(&'字') {
            i += 2;
            continue;
        }
        if c == '字' {
            i += 1;
            continue;
        }
        if c == '-' && out.chars.last() == Some(&'-') {
            i += 1;
            continue;
        }
        out.push(c, n.origin[i]);
        i += 1;
    }
    out
}

/// Normalise `s` for matching (see the module documentation).
pub fn normalize(s: &str) -> Norm {
    separators(kanji_numerals(fold_chars(s)))
}

/// The normalised text of a name for the index: [`normalize`] without a trailing `-`
/// (一丁目 → `1`).
pub fn key(s: &str) -> String {
    let mut k = normalize(s).as_string();
    while k.ends_with('-') {
        k.pop();
    }
    k
}

/// A house or block number as digits without leading zeros (`003` → `3`, `３` → `3`); None
/// when it is not a number.
pub fn number(s: &str) -> Option<String> {
    let k = key(s);
    if k.is_empty() || !k.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let t = k.trim_start_matches('0');
    Some(if t.is_empty() { "0".into() } else { t.into() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chome_forms_agree() {
        for q in [
            "泉町一丁目",
            "泉町1丁目",
            "泉町１丁目",
            "泉町1-",
            "泉町１－",
            "泉町 1丁目",
        ] {
            assert_eq!(key(q), "泉町1", "{q}");
        }
        assert_eq!(key("泉町十二丁目"), "泉町12");
        assert_eq!(key("泉町二〇丁目"), "泉町20");
    }

    #[test]
    fn banchi_go_and_dashes_agree() {
        for q in [
            "泉町1丁目3番5号",
            "泉町1丁目3番地5",
            "泉町一丁目三番五号",
            "泉町1-3-5",
            "泉町１－３－５",
            "泉町1‐3‐5",
            "泉町1―3―5",
            "泉町1ー3ー5",
            "泉町1−3−5",
            "泉町1丁目3番地の5",
            "泉町1丁目3の5",
            "泉町 1 3 5",
            "泉町1丁目 3番 5号",
        ] {
            assert_eq!(key(q), "泉町1-3-5", "{q}");
        }
    }

    #[test]
    fn ke_ga_variants_agree() {
        let k = key("朝日ヶ丘");
        for q in ["朝日ケ丘", "朝日が丘", "朝日ヵ丘", "朝日ｹ丘"] {
            assert_eq!(key(q), k, "{q}");
        }
        assert_eq!(key("一ノ宮"), key("一の宮"));
    }

    #[test]
    fn kana_width_and_case() {
        assert_eq!(key("ｲｽﾞﾐﾁｮｳ"), "いずみちょう");
        assert_eq!(key("イズミチョウ"), "いずみちょう");
        assert_eq!(key("ＡＢＣ"), "abc");
    }

    #[test]
    fn oaza_and_aza_dropped() {
        assert_eq!(key("大字池島字土ノ河"), key("池島土の河"));
    }

    #[test]
    fn katakana_long_vowel_kept_in_words() {
        // ー is a dash only between digits.
        assert_eq!(key("サンプルセンター"), "さんぷるせんたー");
    }

    #[test]
    fn origins_point_into_the_input() {
        let q = "泉町一丁目3-5 101号室";
        let nn = normalize(q);
        let s = nn.as_string();
        assert_eq!(s, "泉町1-3-5-101-室");
        // The character after 3-5 came from the space before 101.
        let i = s.find("-101").map(|b| s[..b].chars().count()).unwrap();
        assert_eq!(&q[nn.origin[i]..], " 101号室");
    }

    #[test]
    fn numbers_lose_leading_zeros() {
        assert_eq!(number("003").as_deref(), Some("3"));
        assert_eq!(number("３").as_deref(), Some("3"));
        assert_eq!(number("十").as_deref(), Some("10"));
        assert_eq!(number("0").as_deref(), Some("0"));
        assert_eq!(number("3の2"), None);
    }
}
