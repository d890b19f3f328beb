//! Text in the forms Japanese municipal files really use: encodings, full-width characters,
//! Japanese-era dates, local government codes with check digits, and 1/empty flags.
//!
//! Every normaliser returns the clean value together with what it had to repair, so the caller can
//! put a located warning in the report instead of changing data silently.

use unicode_normalization::UnicodeNormalization;

/// The encoding a text file was found to be in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextEncoding {
    /// UTF-8 with a byte-order mark.
    Utf8Bom,
    /// UTF-8 without a BOM.
    Utf8,
    /// Shift_JIS as Windows writes it (CP932 / windows-31j).
    Cp932,
}

impl TextEncoding {
    /// Name shown in reports.
    pub fn label(self) -> &'static str {
        match self {
            TextEncoding::Utf8Bom => "UTF-8 (BOM付き / with BOM)",
            TextEncoding::Utf8 => "UTF-8",
            TextEncoding::Cp932 => "Shift_JIS (CP932)",
        }
    }
}

/// Where decoding failed: neither UTF-8 nor CP932.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: bytes are neither UTF-8 nor Shift_JIS (CP932)")]
pub struct DecodeError {
    /// 1-based line of the first byte that fits neither encoding.
    pub line: u64,
}

/// Decode a text file: a BOM decides, else strict UTF-8, else strict CP932; never a silent guess
/// with replacement characters.
pub fn decode(bytes: &[u8]) -> Result<(String, TextEncoding), DecodeError> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok((s.to_string(), TextEncoding::Utf8Bom)),
            Err(e) => Err(DecodeError {
                line: line_of(rest, e.valid_up_to()),
            }),
        };
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok((s.to_string(), TextEncoding::Utf8));
    }
    match encoding_rs::SHIFT_JIS.decode_without_bom_handling_and_without_replacement(bytes) {
        Some(s) => Ok((s.into_owned(), TextEncoding::Cp932)),
        None => Err(DecodeError {
            line: first_bad_cp932_line(bytes),
        }),
    }
}

fn line_of(bytes: &[u8], offset: usize) -> u64 {
    bytes[..offset.min(bytes.len())]
        .iter()
        .filter(|&&b| b == b'\n')
        .count() as u64
        + 1
}

fn first_bad_cp932_line(bytes: &[u8]) -> u64 {
    for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
        if encoding_rs::SHIFT_JIS
            .decode_without_bom_handling_and_without_replacement(line)
            .is_none()
        {
            return i as u64 + 1;
        }
    }
    1
}

/// Encode text as CP932 for Excel users; characters CP932 lacks become `?` only here, at export.
pub fn encode_cp932(s: &str) -> Vec<u8> {
    encoding_rs::SHIFT_JIS.encode(s).0.into_owned()
}

/// NFKC-normalise and trim: full-width digits, letters and signs become half-width, half-width
/// katakana become full-width. Returns whether anything changed besides trimming.
pub fn nfkc(s: &str) -> (String, bool) {
    let t = s.trim_matches(|c: char| c.is_whitespace() || c == '\u{3000}');
    let n: String = t
        .nfkc()
        .map(|c| match c {
            // NFKC leaves these; spreadsheets use them as minus signs and hyphens.
            '\u{2212}' | '\u{2010}' | '\u{2011}' | '\u{2012}' | '\u{2013}' | '\u{FE63}' => '-',
            c => c,
        })
        .collect();
    let changed = n != t;
    (n, changed)
}

/// Normalise a header name: NFKC (so `ＩＤ` and `（）` match their half-width forms), no BOM,
/// no surrounding spaces.
pub fn nfkc_header(s: &str) -> String {
    nfkc(s.trim_start_matches('\u{FEFF}')).0
}

/// Parse a number written by hand: full-width digits, thousands separators, surrounding spaces.
/// Returns the value and whether full-width characters were converted.
pub fn parse_number(s: &str) -> Option<(f64, bool)> {
    let (n, changed) = nfkc(s);
    let cleaned: String = n.chars().filter(|&c| c != ',').collect();
    if cleaned.is_empty() {
        return None;
    }
    let v: f64 = cleaned.parse().ok()?;
    v.is_finite().then_some((v, changed))
}

/// How a date was repaired.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DateRepair {
    /// Already `YYYY-MM-DD`.
    None,
    /// Written in a Japanese era (令和6年4月1日, R6.4.1).
    Wareki,
    /// Another Gregorian form (2024/4/1, 2024年4月1日, 20240401) or full-width digits.
    Reformatted,
}

/// Parse a date in any of the forms seen in municipal files into `YYYY-MM-DD`.
pub fn parse_date(s: &str) -> Option<(String, DateRepair)> {
    let (n, _) = nfkc(s);
    let n = n.replace(' ', "");
    if n.is_empty() {
        return None;
    }
    // Era prefix.
    const ERAS: &[(&str, i32)] = &[
        ("令和", 2018),
        ("平成", 1988),
        ("昭和", 1925),
        ("大正", 1911),
        ("明治", 1867),
        ("R", 2018),
        ("H", 1988),
        ("S", 1925),
        ("T", 1911),
        ("M", 1867),
    ];
    for (era, base) in ERAS {
        if let Some(rest) = n.strip_prefix(era).or_else(|| {
            if era.len() == 1 {
                n.strip_prefix(&era.to_lowercase())
            } else {
                None
            }
        }) {
            let rest = rest.replacen("元", "1", 1);
            let (y, m, d) = split_ymd(&rest)?;
            if y == 0 {
                return None;
            }
            let year = base + y;
            return valid_date(year, m, d).map(|s| (s, DateRepair::Wareki));
        }
    }
    if n.len() == 10 && n.as_bytes()[4] == b'-' && n.as_bytes()[7] == b'-' {
        let (y, m, d) = split_ymd(&n)?;
        let out = valid_date(y, m, d)?;
        let repair = if out == s.trim() {
            DateRepair::None
        } else {
            DateRepair::Reformatted
        };
        return Some((out, repair));
    }
    if n.len() == 8 && n.bytes().all(|b| b.is_ascii_digit()) {
        let y = n[0..4].parse().ok()?;
        let m = n[4..6].parse().ok()?;
        let d = n[6..8].parse().ok()?;
        return valid_date(y, m, d).map(|s| (s, DateRepair::Reformatted));
    }
    let (y, m, d) = split_ymd(&n)?;
    if y < 1000 {
        return None;
    }
    valid_date(y, m, d).map(|s| (s, DateRepair::Reformatted))
}

/// Split `Y?M?D` with any of the separators `年月日/.-`.
fn split_ymd(s: &str) -> Option<(i32, u32, u32)> {
    let parts: Vec<&str> = s
        .split(['年', '月', '日', '/', '.', '-'])
        .filter(|p| !p.is_empty())
        .collect();
    if parts.len() != 3 || !parts.iter().all(|p| p.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    Some((
        parts[0].parse().ok()?,
        parts[1].parse().ok()?,
        parts[2].parse().ok()?,
    ))
}

fn valid_date(y: i32, m: u32, d: u32) -> Option<String> {
    if !(1000..=9999).contains(&y) || !(1..=12).contains(&m) || d == 0 {
        return None;
    }
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let dim = match m {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    (d <= dim).then(|| format!("{y:04}-{m:02}-{d:02}"))
}

/// The check digit of a 5-digit local government code (総務省's rule: weights 6,5,4,3,2, mod 11).
pub fn check_digit(c5: &str) -> Option<u8> {
    let b = c5.as_bytes();
    if b.len() != 5 || !b.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let s: u32 = b
        .iter()
        .zip([6u32, 5, 4, 3, 2])
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    Some(((11 - s % 11) % 10) as u8)
}

/// Outcome of reading a local government code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LgCode {
    /// A valid 6-digit code, and the repair applied if any.
    Ok(String, LgRepair),
    /// Six digits whose last digit is not the check digit; carries the expected code.
    BadCheckDigit {
        /// The code with the right check digit.
        expected: String,
    },
    /// Not a code at all.
    Invalid,
}

/// Repairs applied to a local government code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LgRepair {
    /// Nothing to repair.
    None,
    /// Full-width digits converted.
    FullWidth,
    /// A spreadsheet dropped the leading zero (`92011` → `092011`).
    ZeroRestored,
    /// A 5-digit code without check digit got one (`33999` → `339997`).
    CheckDigitAdded,
}

/// Read a 全国地方公共団体コード: 6 digits with a valid check digit. A 5-digit value is first read
/// as a 6-digit code that lost its leading zero (when that gives a valid check digit), else as the
/// 5-digit form without check digit.
pub fn lg_code(s: &str) -> LgCode {
    let (n, changed) = nfkc(s);
    let n = n.strip_suffix(".0").unwrap_or(&n).to_string();
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return LgCode::Invalid;
    }
    let base = if changed {
        LgRepair::FullWidth
    } else {
        LgRepair::None
    };
    match n.len() {
        6 => {
            let cd = check_digit(&n[..5]).unwrap_or(10);
            if n.as_bytes()[5] - b'0' == cd {
                LgCode::Ok(n, base)
            } else {
                LgCode::BadCheckDigit {
                    expected: format!("{}{cd}", &n[..5]),
                }
            }
        }
        5 => {
            let padded = format!("0{n}");
            if check_digit(&padded[..5]) == Some(padded.as_bytes()[5] - b'0')
                && valid_pref(&padded[..2])
            {
                return LgCode::Ok(padded, LgRepair::ZeroRestored);
            }
            if valid_pref(&n[..2]) {
                if let Some(cd) = check_digit(&n) {
                    return LgCode::Ok(format!("{n}{cd}"), LgRepair::CheckDigitAdded);
                }
            }
            LgCode::Invalid
        }
        4 => {
            // A 5-digit code of prefectures 01–09 that lost its zero.
            let padded = format!("0{n}");
            match check_digit(&padded) {
                Some(cd) if valid_pref(&padded[..2]) => {
                    LgCode::Ok(format!("{padded}{cd}"), LgRepair::ZeroRestored)
                }
                _ => LgCode::Invalid,
            }
        }
        _ => LgCode::Invalid,
    }
}

/// Read a column that holds the 5-digit 全国地方公共団体コード *without* check digit by definition
/// (KSJ N03 `N03_007`, e-Stat `PREF`+`CITY`). Unlike [`lg_code`], a 5-digit value is never taken
/// for a 6-digit code that lost its leading zero: `13102` is 中央区 (131024), not `013102`.
/// Four digits are a code of prefectures 01–09 that lost its zero (`1101` → `011011`); six
/// digits are accepted when their check digit is right (some conversions add it).
pub fn lg_code5(s: &str) -> LgCode {
    let (n, _) = nfkc(s);
    let n = n.strip_suffix(".0").unwrap_or(&n).to_string();
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return LgCode::Invalid;
    }
    let five = match n.len() {
        5 => n.clone(),
        4 => format!("0{n}"),
        6 => return lg_code(&n),
        _ => return LgCode::Invalid,
    };
    if !valid_pref(&five[..2]) {
        return LgCode::Invalid;
    }
    match check_digit(&five) {
        Some(cd) if n.len() == 4 => LgCode::Ok(format!("{five}{cd}"), LgRepair::ZeroRestored),
        Some(cd) => LgCode::Ok(format!("{five}{cd}"), LgRepair::CheckDigitAdded),
        None => LgCode::Invalid,
    }
}

fn valid_pref(pp: &str) -> bool {
    matches!(pp.parse::<u8>(), Ok(1..=47))
}

/// The name of prefecture `01`–`47` (JIS X 0401 order).
pub fn pref_name(pp: &str) -> Option<&'static str> {
    const NAMES: [&str; 47] = [
        "北海道",
        "青森県",
        "岩手県",
        "宮城県",
        "秋田県",
        "山形県",
        "福島県",
        "茨城県",
        "栃木県",
        "群馬県",
        "埼玉県",
        "千葉県",
        "東京都",
        "神奈川県",
        "新潟県",
        "富山県",
        "石川県",
        "福井県",
        "山梨県",
        "長野県",
        "岐阜県",
        "静岡県",
        "愛知県",
        "三重県",
        "滋賀県",
        "京都府",
        "大阪府",
        "兵庫県",
        "奈良県",
        "和歌山県",
        "鳥取県",
        "島根県",
        "岡山県",
        "広島県",
        "山口県",
        "徳島県",
        "香川県",
        "愛媛県",
        "高知県",
        "福岡県",
        "佐賀県",
        "長崎県",
        "熊本県",
        "大分県",
        "宮崎県",
        "鹿児島県",
        "沖縄県",
    ];
    let i = pp.get(..2)?.parse::<usize>().ok()?;
    NAMES.get(i.checked_sub(1)?).copied()
}

/// For a 5-digit value both readings of which are valid codes — a 6-digit code that lost its
/// leading zero (`92011` → `092011`) and a 5-digit code without its check digit (`13102` →
/// `131024`) — the two candidates, zero-restored first. None when only one reading is valid.
pub fn lg_code_readings(s: &str) -> Option<(String, String)> {
    let (n, _) = nfkc(s);
    let n = n.strip_suffix(".0").unwrap_or(&n).to_string();
    if n.len() != 5 || !n.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let padded = format!("0{n}");
    let zero_ok =
        check_digit(&padded[..5]) == Some(padded.as_bytes()[5] - b'0') && valid_pref(&padded[..2]);
    let cd = check_digit(&n).filter(|_| valid_pref(&n[..2]))?;
    zero_ok.then(|| (padded, format!("{n}{cd}")))
}

/// Read a 1/empty flag. `0`, `○`, `有`, `×`, `無` and the like are accepted as repairs.
/// Returns the value and whether it was written in a non-standard way; `None` when unreadable.
pub fn parse_flag(s: &str) -> Option<(bool, bool)> {
    let (n, _) = nfkc(s);
    match n.as_str() {
        "1" => Some((true, s.trim() != "1")),
        "" => Some((false, false)),
        "0" | "×" | "✕" | "無" | "なし" | "無し" | "-" | "FALSE" | "false" | "False" | "N"
        | "n" => Some((false, true)),
        "○" | "〇" | "◯" | "●" | "◎" | "有" | "あり" | "有り" | "TRUE" | "true" | "True" | "Y"
        | "y" | "可" => Some((true, true)),
        _ => None,
    }
}

/// Fold text for name search: NFKC (width), katakana → hiragana, lower case, no spaces.
/// Lets a resident find 「サクラダイ」 by typing 「さくらだい」 or 「ｻｸﾗﾀﾞｲ」.
pub fn search_fold(s: &str) -> String {
    let (n, _) = nfkc(s);
    n.chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| match c {
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            c => c.to_lowercase().next().unwrap_or(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_prefers_bom_then_utf8_then_cp932() {
        assert_eq!(
            decode(b"\xEF\xBB\xBFa,b").unwrap(),
            ("a,b".to_string(), TextEncoding::Utf8Bom)
        );
        assert_eq!(
            decode("名称".as_bytes()).unwrap(),
            ("名称".to_string(), TextEncoding::Utf8)
        );
        let sjis = encode_cp932("名称,住所\r\n");
        assert_eq!(decode(&sjis).unwrap().1, TextEncoding::Cp932);
        assert_eq!(decode(&sjis).unwrap().0, "名称,住所\r\n");
        // 0x80 alone is invalid in both; the report must say which line.
        let bad = b"a,b\nc,\x80\xFF\n";
        assert_eq!(decode(bad).unwrap_err().line, 2);
    }

    #[test]
    fn dates_in_all_forms() {
        assert_eq!(
            parse_date("令和6年4月1日"),
            Some(("2024-04-01".into(), DateRepair::Wareki))
        );
        assert_eq!(
            parse_date("平成元年1月8日"),
            Some(("1989-01-08".into(), DateRepair::Wareki))
        );
        assert_eq!(
            parse_date("R2.3.31"),
            Some(("2020-03-31".into(), DateRepair::Wareki))
        );
        assert_eq!(
            parse_date("昭和６０年４月１日"),
            Some(("1985-04-01".into(), DateRepair::Wareki))
        );
        assert_eq!(
            parse_date("2024-04-01"),
            Some(("2024-04-01".into(), DateRepair::None))
        );
        assert_eq!(
            parse_date("2024/4/1"),
            Some(("2024-04-01".into(), DateRepair::Reformatted))
        );
        assert_eq!(
            parse_date("20240229"),
            Some(("2024-02-29".into(), DateRepair::Reformatted))
        );
        assert_eq!(parse_date("2023-02-29"), None);
        assert_eq!(parse_date("令和0年1月1日"), None);
        assert_eq!(parse_date("someday"), None);
    }

    #[test]
    fn local_government_codes() {
        assert_eq!(check_digit("13101"), Some(6)); // 千代田区 131016
        assert_eq!(
            lg_code("339997"),
            LgCode::Ok("339997".into(), LgRepair::None)
        );
        assert_eq!(
            lg_code("092011"),
            LgCode::Ok("092011".into(), LgRepair::None)
        );
        assert_eq!(
            lg_code("92011"),
            LgCode::Ok("092011".into(), LgRepair::ZeroRestored)
        );
        assert_eq!(
            lg_code("33999"),
            LgCode::Ok("339997".into(), LgRepair::CheckDigitAdded)
        );
        assert_eq!(
            lg_code("３３９９９７"),
            LgCode::Ok("339997".into(), LgRepair::FullWidth)
        );
        assert_eq!(
            lg_code("339990"),
            LgCode::BadCheckDigit {
                expected: "339997".into()
            }
        );
        assert_eq!(lg_code("東京"), LgCode::Invalid);
        assert_eq!(lg_code("1234567"), LgCode::Invalid);
        // Known published codes.
        assert_eq!(
            lg_code("130001"),
            LgCode::Ok("130001".into(), LgRepair::None)
        );
        assert_eq!(
            lg_code("382019"),
            LgCode::Ok("382019".into(), LgRepair::None)
        );
        assert_eq!(
            lg_code("111007"),
            LgCode::Ok("111007".into(), LgRepair::None)
        );
    }

    #[test]
    fn five_digit_codes_by_definition() {
        // 13102 and 22101 also read as valid 6-digit codes 013102 / 022101 that lost a zero: the
        // general reader takes that path, a column that is 5 digits by definition must not.
        assert_eq!(
            lg_code("13102"),
            LgCode::Ok("013102".into(), LgRepair::ZeroRestored)
        );
        assert_eq!(
            lg_code5("13102"),
            LgCode::Ok("131024".into(), LgRepair::CheckDigitAdded)
        );
        assert_eq!(
            lg_code5("22101"),
            LgCode::Ok("221015".into(), LgRepair::CheckDigitAdded)
        );
        assert_eq!(
            lg_code5("01101"),
            LgCode::Ok("011011".into(), LgRepair::CheckDigitAdded)
        );
        assert_eq!(
            lg_code5("1101"),
            LgCode::Ok("011011".into(), LgRepair::ZeroRestored)
        );
        assert_eq!(
            lg_code5("１３１０２"),
            LgCode::Ok("131024".into(), LgRepair::CheckDigitAdded)
        );
        assert_eq!(
            lg_code5("131024"),
            LgCode::Ok("131024".into(), LgRepair::None)
        );
        assert_eq!(
            lg_code5("131020"),
            LgCode::BadCheckDigit {
                expected: "131024".into()
            }
        );
        assert_eq!(lg_code5("99101"), LgCode::Invalid);
        assert_eq!(lg_code5("所属未定"), LgCode::Invalid);
        assert_eq!(lg_code5("123"), LgCode::Invalid);
    }

    #[test]
    fn flags() {
        assert_eq!(parse_flag("1"), Some((true, false)));
        assert_eq!(parse_flag(""), Some((false, false)));
        assert_eq!(parse_flag("0"), Some((false, true)));
        assert_eq!(parse_flag("○"), Some((true, true)));
        assert_eq!(parse_flag("有"), Some((true, true)));
        assert_eq!(parse_flag("１"), Some((true, true)));
        assert_eq!(parse_flag("maybe"), None);
    }

    #[test]
    fn numbers_and_width() {
        assert_eq!(parse_number("１，２３４．５"), Some((1234.5, true)));
        assert_eq!(parse_number(" 12 "), Some((12.0, false)));
        assert_eq!(parse_number("−3"), Some((-3.0, true)));
        assert_eq!(parse_number("abc"), None);
        assert_eq!(nfkc("ｻｸﾗ").0, "サクラ");
    }

    #[test]
    fn search_folding() {
        assert_eq!(search_fold("サクラダイ"), search_fold("さくらだい"));
        assert_eq!(search_fold("ｻｸﾗﾀﾞｲ"), search_fold("さくらだい"));
        assert_eq!(search_fold("Ｓａｋｕｒａ Dai"), "sakuradai");
    }
}
