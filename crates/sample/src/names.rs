//! Fictional place names for the sample city, with katakana readings and
//! romanizations (for 名称_カナ / 名称_英字 of the shelter list).
//!
//! The names are ordinary-sounding Japanese 町 names chosen for their
//! setting (shore, town, hills); none is meant to denote a real place, and
//! README.txt says so. Every name appears at most once in the city.

/// A 町 base name: kanji, katakana reading, romanization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Base {
    pub kanji: &'static str,
    pub kana: &'static str,
    pub roman: &'static str,
}

const fn b(kanji: &'static str, kana: &'static str, roman: &'static str) -> Base {
    Base { kanji, kana, roman }
}

/// Where in the city a district lies; decides which pool its name comes
/// from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setting {
    Shore,
    Town,
    Hills,
}

pub const SHORE: &[Base] = &[
    b("港町", "ミナトマチ", "Minatomachi"),
    b("西浜", "ニシハマ", "Nishihama"),
    b("南浜", "ミナミハマ", "Minamihama"),
    b("汐見", "シオミ", "Shiomi"),
    b("千鳥", "チドリ", "Chidori"),
    b("浦崎", "ウラサキ", "Urasaki"),
    b("大浜", "オオハマ", "Ohama"),
    b("小浜", "コハマ", "Kohama"),
    b("松原", "マツバラ", "Matsubara"),
    b("白鳥", "シラトリ", "Shiratori"),
    b("岬町", "ミサキチョウ", "Misakicho"),
    b("浜野", "ハマノ", "Hamano"),
    b("舟入", "フナイリ", "Funairi"),
    b("東浜", "ヒガシハマ", "Higashihama"),
];

pub const TOWN: &[Base] = &[
    b("本町", "ホンマチ", "Honmachi"),
    b("中央", "チュウオウ", "Chuo"),
    b("桜台", "サクラダイ", "Sakuradai"),
    b("川端町", "カワバタチョウ", "Kawabatacho"),
    b("栄町", "サカエマチ", "Sakaemachi"),
    b("緑町", "ミドリマチ", "Midorimachi"),
    b("旭町", "アサヒマチ", "Asahimachi"),
    b("若葉", "ワカバ", "Wakaba"),
    b("東雲", "シノノメ", "Shinonome"),
    b("新町", "シンマチ", "Shinmachi"),
    b("宮前", "ミヤマエ", "Miyamae"),
    b("元町", "モトマチ", "Motomachi"),
    b("柳町", "ヤナギマチ", "Yanagimachi"),
    b("高砂", "タカサゴ", "Takasago"),
    b("日吉", "ヒヨシ", "Hiyoshi"),
    b("寺町", "テラマチ", "Teramachi"),
    b("鍛冶町", "カジマチ", "Kajimachi"),
    b("駅前", "エキマエ", "Ekimae"),
    b("春日", "カスガ", "Kasuga"),
    b("泉町", "イズミチョウ", "Izumicho"),
    b("中島", "ナカジマ", "Nakajima"),
    b("堤町", "ツツミチョウ", "Tsutsumicho"),
    b("上河原", "カミガワラ", "Kamigawara"),
    b("下河原", "シモガワラ", "Shimogawara"),
    b("田ノ口", "タノクチ", "Tanokuchi"),
    b("野田", "ノダ", "Noda"),
    b("高畑", "タカハタ", "Takahata"),
    b("森下", "モリシタ", "Morishita"),
    b("美原", "ミハラ", "Mihara"),
    b("白桃台", "ハクトウダイ", "Hakutodai"),
    b("菜の花", "ナノハナ", "Nanohana"),
    b("青葉台", "アオバダイ", "Aobadai"),
    b("梅ノ木", "ウメノキ", "Umenoki"),
    b("清水", "シミズ", "Shimizu"),
    b("石原", "イシハラ", "Ishihara"),
    b("吉野", "ヨシノ", "Yoshino"),
    b("岩井", "イワイ", "Iwai"),
    b("平和町", "ヘイワマチ", "Heiwamachi"),
    b("朝日ヶ丘", "アサヒガオカ", "Asahigaoka"),
    b("藤ヶ丘", "フジガオカ", "Fujigaoka"),
];

pub const HILLS: &[Base] = &[
    b("北山", "キタヤマ", "Kitayama"),
    b("城山", "シロヤマ", "Shiroyama"),
    b("桃山", "モモヤマ", "Momoyama"),
    b("奥谷", "オクタニ", "Okutani"),
    b("杉谷", "スギタニ", "Sugitani"),
    b("松ヶ谷", "マツガヤ", "Matsugaya"),
    b("上山", "カミヤマ", "Kamiyama"),
    b("大森", "オオモリ", "Omori"),
    b("長尾", "ナガオ", "Nagao"),
    b("西谷", "ニシタニ", "Nishitani"),
    b("東谷", "ヒガシタニ", "Higashitani"),
    b("鳴滝", "ナルタキ", "Narutaki"),
    b("滝ノ口", "タキノクチ", "Takinokuchi"),
    b("竹原", "タケハラ", "Takehara"),
    b("ひばりが丘", "ヒバリガオカ", "Hibarigaoka"),
    b("峠", "トウゲ", "Toge"),
    b("鷺沼", "サギヌマ", "Saginuma"),
    b("小野原", "オノハラ", "Onohara"),
    b("栗林", "クリバヤシ", "Kuribayashi"),
    b("萩原", "ハギワラ", "Hagiwara"),
    b("椿谷", "ツバキダニ", "Tsubakidani"),
    b("楓台", "カエデダイ", "Kaededai"),
    b("岩屋", "イワヤ", "Iwaya"),
    b("大杉", "オオスギ", "Osugi"),
    b("上谷", "カミダニ", "Kamidani"),
    b("中山", "ナカヤマ", "Nakayama"),
    b("小坂", "コサカ", "Kosaka"),
    b("高尾", "タカオ", "Takao"),
    b("宮ノ下", "ミヤノシタ", "Miyanoshita"),
    b("深谷", "フカタニ", "Fukatani"),
];

/// Industrial districts on the shore (population 0).
pub const INDUSTRIAL: &[Base] = &[
    b("臨海町", "リンカイチョウ", "Rinkaicho"),
    b("新港", "シンコウ", "Shinko"),
];

/// Hands out each base name once, per setting, falling back to the other
/// pools when one runs out.
#[derive(Debug, Clone, Default)]
pub struct NamePool {
    used: Vec<&'static str>,
}

impl NamePool {
    pub fn take(&mut self, setting: Setting) -> Base {
        let order: [&[Base]; 3] = match setting {
            Setting::Shore => [SHORE, TOWN, HILLS],
            Setting::Town => [TOWN, HILLS, SHORE],
            Setting::Hills => [HILLS, TOWN, SHORE],
        };
        for pool in order {
            if let Some(base) = pool.iter().find(|b| !self.used.contains(&b.kanji)) {
                self.used.push(base.kanji);
                return *base;
            }
        }
        panic!("name pools exhausted: more districts than names (a design invariant)");
    }

    pub fn take_industrial(&mut self, i: usize) -> Base {
        let base = INDUSTRIAL[i % INDUSTRIAL.len()];
        self.used.push(base.kanji);
        base
    }
}

/// 漢数字 for 丁目 numbers 1–10.
pub fn kansuji(n: usize) -> &'static str {
    [
        "〇", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十",
    ][n.min(10)]
}

/// The river of the city.
pub const RIVER_NAME: &str = "サンプル川";
/// Its 10-digit river code (A31a_101/201).
pub const RIVER_CODE: &str = "8806010001";

/// Fictional river names for the prefecture-scale benchmark layer.
pub fn scale_river_name(i: usize) -> String {
    const HEAD: [&str; 8] = ["白", "黒", "赤", "青", "大", "小", "長", "深"];
    const TAIL: [&str; 5] = ["石川", "谷川", "瀬川", "野川", "沢川"];
    format!("{}{}", HEAD[i % 8], TAIL[(i / 8) % 5])
}

/// Converts ASCII digits to full-width digits (for the deliberately
/// inconsistent spellings real spreadsheets contain).
pub fn fullwidth_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '0'..='9' => char::from_u32(c as u32 - '0' as u32 + 0xFF10).unwrap_or(c),
            '.' => '．',
            'm' => 'ｍ',
            _ => c,
        })
        .collect()
}

/// A date in the Japanese era calendar, e.g. `昭和60年4月1日` (元年 for
/// the first year).
pub fn wareki(y: i32, m: u32, d: u32) -> String {
    let ymd = (y, m, d);
    let (era, base) = if ymd >= (2019, 5, 1) {
        ("令和", 2018)
    } else if ymd >= (1989, 1, 8) {
        ("平成", 1988)
    } else if ymd >= (1926, 12, 25) {
        ("昭和", 1925)
    } else {
        ("大正", 1911)
    };
    let n = y - base;
    if n == 1 {
        format!("{era}元年{m}月{d}日")
    } else {
        format!("{era}{n}年{m}月{d}日")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_readings_are_katakana() {
        let mut all: Vec<&str> = Vec::new();
        for base in SHORE.iter().chain(TOWN).chain(HILLS).chain(INDUSTRIAL) {
            assert!(!all.contains(&base.kanji), "{}", base.kanji);
            all.push(base.kanji);
            assert!(
                base.kana
                    .chars()
                    .all(|c| ('\u{30A0}'..='\u{30FF}').contains(&c)),
                "{}",
                base.kana
            );
            assert!(base.roman.is_ascii());
        }
    }

    #[test]
    fn wareki_and_fullwidth() {
        assert_eq!(wareki(1985, 4, 1), "昭和60年4月1日");
        assert_eq!(wareki(1991, 10, 1), "平成3年10月1日");
        assert_eq!(wareki(2020, 3, 31), "令和2年3月31日");
        assert_eq!(wareki(2019, 5, 1), "令和元年5月1日");
        assert_eq!(fullwidth_digits("1.0m"), "１．０ｍ");
    }
}
