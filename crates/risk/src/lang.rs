//! The languages residents read the map and the risk answer in, and the choice of one for a
//! request: `?lang=` first (the page's own switch writes it into the URL, so a resident's pick
//! always wins), else the browser's `Accept-Language` with its q-values, else Japanese. Plain
//! functions without HTTP types, so `http::web` and `http::risk` only call them.
//!
//! The set follows the languages of the Cabinet Office's multilingual evacuation leaflet that
//! the largest foreign communities read (the project's reference notes on addresses and
//! evacuation, §6): Chinese (both scripts: mainland and Taiwan), Vietnamese, Korean and
//! Brazilian Portuguese, beside Japanese, English and やさしい日本語.

/// Language of the sentences and of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Lang {
    /// Japanese.
    Ja,
    /// English.
    En,
    /// やさしい日本語 (easy Japanese, for residents who are learning Japanese).
    Easy,
    /// 简体中文.
    ZhHans,
    /// 繁體中文.
    ZhHant,
    /// 한국어.
    Ko,
    /// Tiếng Việt.
    Vi,
    /// Português (Brazilian: the Portuguese-speaking community in Japan is Brazilian).
    Pt,
}

impl Lang {
    /// Every language, in the order the page lists them.
    pub const ALL: [Lang; 8] = [
        Lang::Ja,
        Lang::En,
        Lang::Easy,
        Lang::ZhHans,
        Lang::ZhHant,
        Lang::Ko,
        Lang::Vi,
        Lang::Pt,
    ];

    /// The codes of [`Lang::ALL`], for the OpenAPI enum of `lang`.
    pub const CODES: [&'static str; 8] =
        ["ja", "en", "easy", "zh-Hans", "zh-Hant", "ko", "vi", "pt"];

    /// From the codes `?lang=` takes (`ja`, `en`, `easy`, `zh-Hans`, `zh-Hant`, `ko`, `vi`,
    /// `pt`), case-insensitive, plus the aliases older links used (`ja-easy`, `yasashii`) and
    /// `pt-BR`. None for anything else (the API answers 400, the page negotiates instead).
    pub fn parse(s: &str) -> Option<Lang> {
        match s.trim().to_ascii_lowercase().as_str() {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            "easy" | "ja-easy" | "yasashii" => Some(Lang::Easy),
            "zh-hans" => Some(Lang::ZhHans),
            "zh-hant" => Some(Lang::ZhHant),
            "ko" => Some(Lang::Ko),
            "vi" => Some(Lang::Vi),
            "pt" | "pt-br" => Some(Lang::Pt),
            _ => None,
        }
    }

    /// The code `?lang=` and the answers use.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
            Lang::Easy => "easy",
            Lang::ZhHans => "zh-Hans",
            Lang::ZhHant => "zh-Hant",
            Lang::Ko => "ko",
            Lang::Vi => "vi",
            Lang::Pt => "pt",
        }
    }

    /// The BCP 47 tag for `<html lang>` (easy Japanese is Japanese to a screen reader and to
    /// font selection).
    pub fn html_lang(self) -> &'static str {
        match self {
            Lang::Ja | Lang::Easy => "ja",
            Lang::En => "en",
            Lang::ZhHans => "zh-Hans",
            Lang::ZhHant => "zh-Hant",
            Lang::Ko => "ko",
            Lang::Vi => "vi",
            Lang::Pt => "pt-BR",
        }
    }

    /// What goes between two sentences: a space in the languages that write one (English,
    /// Korean, Vietnamese, Portuguese), nothing in Japanese and Chinese.
    pub fn sentence_sep(self) -> &'static str {
        match self {
            Lang::En | Lang::Ko | Lang::Vi | Lang::Pt => " ",
            Lang::Ja | Lang::Easy | Lang::ZhHans | Lang::ZhHant => "",
        }
    }

    /// A number of metres as the language writes it (`0.5`, `0,5` in Vietnamese and
    /// Portuguese, whose decimal mark is a comma).
    pub fn number(self, x: f64) -> String {
        let s = crate::fmt_float(x);
        match self {
            Lang::Vi | Lang::Pt => s.replace('.', ","),
            _ => s,
        }
    }
}

/// The language of one `Accept-Language` tag (`zh-TW`, `pt-BR`, `ko-KR`…), by the rules
/// browsers' tags need: Chinese by script or region (Taiwan, Hong Kong and Macau write
/// traditional characters, a bare `zh` is the mainland's simplified), everything else by its
/// primary subtag. None when the language is not one the map speaks.
pub fn from_tag(tag: &str) -> Option<Lang> {
    let tag = tag.trim().to_ascii_lowercase().replace('_', "-");
    let mut parts = tag.split('-');
    let primary = parts.next()?;
    let rest: Vec<&str> = parts.collect();
    match primary {
        "ja" => Some(Lang::Ja),
        "en" => Some(Lang::En),
        "ko" => Some(Lang::Ko),
        "vi" => Some(Lang::Vi),
        "pt" => Some(Lang::Pt),
        "zh" => {
            if rest.contains(&"hant") {
                Some(Lang::ZhHant)
            } else if rest.contains(&"hans") {
                Some(Lang::ZhHans)
            } else if rest.iter().any(|r| matches!(*r, "tw" | "hk" | "mo")) {
                Some(Lang::ZhHant)
            } else {
                Some(Lang::ZhHans)
            }
        }
        _ => None,
    }
}

/// The language `Accept-Language` prefers: the tag of highest q among those the map speaks
/// (ties in the header's order; `q=0` means "not this one"; a malformed q counts as 1, as
/// browsers never send one). None when no tag matches.
pub fn from_accept_language(header: &str) -> Option<Lang> {
    let mut best: Option<(f64, Lang)> = None;
    for item in header.split(',') {
        let mut fields = item.split(';');
        let tag = fields.next().unwrap_or("").trim();
        if tag.is_empty() || tag == "*" {
            continue;
        }
        let q = fields
            .filter_map(|f| {
                let (k, v) = f.split_once('=')?;
                (k.trim().eq_ignore_ascii_case("q")).then(|| v.trim().parse::<f64>().ok())
            })
            .next()
            .flatten()
            .unwrap_or(1.0);
        if q.is_nan() || q <= 0.0 {
            continue;
        }
        if let Some(l) = from_tag(tag) {
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, l));
            }
        }
    }
    best.map(|(_, l)| l)
}

/// Where the answer's language came from: the caller sends `Vary: Accept-Language` only when
/// the header decided (or could have).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Choice {
    /// The language.
    pub lang: Lang,
    /// True when `?lang=` did not name a language, so `Accept-Language` was consulted.
    pub from_header: bool,
}

/// The page's choice: a known `?lang=` wins, else `Accept-Language`, else Japanese (an unknown
/// `?lang=` is ignored here; the page has no error to show).
pub fn negotiate(query: Option<&str>, accept_language: Option<&str>) -> Choice {
    if let Some(l) = query.and_then(Lang::parse) {
        return Choice {
            lang: l,
            from_header: false,
        };
    }
    Choice {
        lang: accept_language
            .and_then(from_accept_language)
            .unwrap_or(Lang::Ja),
        from_header: true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_round_trip() {
        for (l, c) in Lang::ALL.iter().zip(Lang::CODES) {
            assert_eq!(l.code(), c);
        }
        for l in Lang::ALL {
            assert_eq!(Lang::parse(l.code()), Some(l));
        }
        assert_eq!(Lang::parse("ZH-hant"), Some(Lang::ZhHant));
        assert_eq!(Lang::parse("pt-BR"), Some(Lang::Pt));
        assert_eq!(Lang::parse("yasashii"), Some(Lang::Easy));
        assert_eq!(Lang::parse("zh"), None);
        assert_eq!(Lang::parse("fr"), None);
        assert_eq!(Lang::parse(""), None);
    }

    #[test]
    fn tags_of_browsers() {
        for (tag, want) in [
            ("zh-CN", Some(Lang::ZhHans)),
            ("zh-SG", Some(Lang::ZhHans)),
            ("zh-Hans", Some(Lang::ZhHans)),
            ("zh-Hans-HK", Some(Lang::ZhHans)),
            ("zh", Some(Lang::ZhHans)),
            ("zh-TW", Some(Lang::ZhHant)),
            ("zh-HK", Some(Lang::ZhHant)),
            ("zh-MO", Some(Lang::ZhHant)),
            ("zh-Hant", Some(Lang::ZhHant)),
            ("zh_Hant_TW", Some(Lang::ZhHant)),
            ("ko-KR", Some(Lang::Ko)),
            ("vi", Some(Lang::Vi)),
            ("pt-BR", Some(Lang::Pt)),
            ("pt-PT", Some(Lang::Pt)),
            ("en-GB", Some(Lang::En)),
            ("ja-JP", Some(Lang::Ja)),
            ("fr-FR", None),
            ("", None),
        ] {
            assert_eq!(from_tag(tag), want, "{tag}");
        }
    }

    #[test]
    fn q_values_decide() {
        assert_eq!(
            from_accept_language("fr-FR, vi;q=0.8, en;q=0.9"),
            Some(Lang::En)
        );
        assert_eq!(
            from_accept_language("en;q=0.5, zh-TW;q=0.9"),
            Some(Lang::ZhHant)
        );
        // Equal q: the header's order.
        assert_eq!(from_accept_language("ko, pt"), Some(Lang::Ko));
        // q=0 refuses.
        assert_eq!(from_accept_language("pt;q=0, en;q=0.1"), Some(Lang::En));
        assert_eq!(from_accept_language("pt;q=0"), None);
        assert_eq!(from_accept_language("fr, de, *"), None);
        assert_eq!(from_accept_language(""), None);
        assert_eq!(from_accept_language(" ; q=1, ,"), None);
        assert_eq!(from_accept_language("pt-BR;q=abc"), Some(Lang::Pt));
    }

    #[test]
    fn query_wins_then_header_then_japanese() {
        let c = negotiate(Some("vi"), Some("ko"));
        assert_eq!((c.lang, c.from_header), (Lang::Vi, false));
        let c = negotiate(None, Some("ko-KR,ko;q=0.9"));
        assert_eq!((c.lang, c.from_header), (Lang::Ko, true));
        let c = negotiate(Some("xx"), Some("zh-HK"));
        assert_eq!((c.lang, c.from_header), (Lang::ZhHant, true));
        let c = negotiate(None, None);
        assert_eq!((c.lang, c.from_header), (Lang::Ja, true));
        let c = negotiate(Some("easy"), None);
        assert_eq!(c.lang, Lang::Easy);
    }

    #[test]
    fn html_tags_and_numbers() {
        assert_eq!(Lang::Easy.html_lang(), "ja");
        assert_eq!(Lang::Pt.html_lang(), "pt-BR");
        assert_eq!(Lang::Pt.number(0.5), "0,5");
        assert_eq!(Lang::Ko.number(0.5), "0.5");
        assert_eq!(Lang::Vi.number(3.0), "3");
    }
}
