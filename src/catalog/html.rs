//! The HTML catalog page.

use super::*;

// ---------------------------------------------------------------------------------------------
// HTML
// ---------------------------------------------------------------------------------------------

/// Escape text for HTML element content and quoted attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn fmt_int(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn fmt_size(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{n} B")
    } else if f < 1024.0 * 1024.0 {
        format!("{:.1} KB", f / 1024.0)
    } else if f < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MB", f / 1024.0 / 1024.0)
    } else {
        format!("{:.2} GB", f / 1024.0 / 1024.0 / 1024.0)
    }
}

/// The page's style sheet (inline, allowed by its hash in the Content-Security-Policy).
const CSS: &str = "\
:root{color-scheme:light;--fg:#1a1a1a;--muted:#4a4a4a;--line:#c8c8c8;--accent:#0b5cad;--bg:#fff}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,'Hiragino Sans','Noto Sans JP',Meiryo,sans-serif;font-size:1.0625rem;line-height:1.7;color:var(--fg);background:var(--bg)}
.skip{position:absolute;left:-9999px}.skip:focus{left:1rem;top:1rem;background:#fff;padding:.5rem 1rem;border:2px solid var(--accent);z-index:1}
header,main,footer{max-width:64rem;margin:0 auto;padding:1rem}
h1{font-size:1.75rem;line-height:1.3;margin:.5rem 0 1rem}h2{font-size:1.4rem;margin:2.5rem 0 .75rem;border-bottom:2px solid var(--line)}h3{font-size:1.2rem;margin:2rem 0 .5rem}
a{color:var(--accent);text-underline-offset:.15em}a:focus-visible{outline:3px solid #f0a500;outline-offset:2px}
nav a{display:inline-block;min-height:44px;padding:.5rem .75rem;border:1px solid var(--line);border-radius:.4rem}
.wrap{overflow-x:auto}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
caption{text-align:left;color:var(--muted);padding:.25rem 0}
th,td{border:1px solid var(--line);padding:.5rem .6rem;text-align:left;vertical-align:top}
thead th{background:#eef3f8}
td.num{text-align:right;font-variant-numeric:tabular-nums}
code{font-size:.85em;word-break:break-all}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1rem;margin:.5rem 0}dt{font-weight:bold}dd{margin:0}
.alt{color:var(--muted);margin-top:-.25rem}
.badge{display:inline-block;border:1px solid #2e7d32;color:#1b5e20;border-radius:.3rem;padding:0 .5rem;font-size:.95rem}
";

pub(crate) fn csp() -> String {
    use sha2::{Digest as _, Sha256};
    let hash = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(CSS.as_bytes()))
    };
    format!(
        "default-src 'self'; style-src 'sha256-{hash}'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )
}

struct Words {
    skip: &'static str,
    other_lang: &'static str,
    intro: &'static str,
    list: &'static str,
    caption_list: &'static str,
    dataset: &'static str,
    updated: &'static str,
    records: &'static str,
    formats: &'static str,
    downloads: &'static str,
    details: &'static str,
    license: &'static str,
    publisher: &'static str,
    version: &'static str,
    keywords: &'static str,
    id: &'static str,
    standard: &'static str,
    format: &'static str,
    size: &'static str,
    caption_res: &'static str,
    machine: &'static str,
    machine_intro: &'static str,
    none: &'static str,
    empty: &'static str,
    total: &'static str,
    other_dl: &'static str,
}

const JA: Words = Words {
    skip: "本文へ移動",
    other_lang: "English",
    intro: "市が公開しているデータの一覧です。どなたでも、ライセンスの条件（出典の表示）を守れば、\
            商用を含めて自由に利用できます。各データは下の表のリンクからダウンロードできます。",
    list: "データセット一覧",
    caption_list: "公開中のデータセット。ダウンロード数は全形式の合計です。",
    dataset: "データセット",
    updated: "最終更新",
    records: "件数",
    formats: "形式",
    downloads: "ダウンロード数",
    details: "各データセットの詳細",
    license: "ライセンス",
    publisher: "公開者",
    version: "版",
    keywords: "キーワード",
    id: "データセットID",
    standard: "準拠する標準",
    format: "形式",
    size: "サイズ",
    caption_res: "の配布形式、サイズ、SHA-256、ダウンロード数",
    machine: "機械判読用のカタログ",
    machine_intro: "ポータルサイトや開発者向けに、同じ内容を機械判読できる形式でも提供しています。",
    none: "—",
    empty: "公開中のデータセットはまだありません。",
    total: "合計",
    other_dl: "その他の取得",
};

const EN: Words = Words {
    skip: "Skip to content",
    other_lang: "日本語",
    intro: "The data published by the city. Anyone may use it, commercially too, under the \
            licence (credit the source). Download each dataset from the links in the tables below.",
    list: "Datasets",
    caption_list: "Published datasets. Downloads are summed over all formats.",
    dataset: "Dataset",
    updated: "Last updated",
    records: "Records",
    formats: "Formats",
    downloads: "Downloads",
    details: "Dataset details",
    license: "Licence",
    publisher: "Publisher",
    version: "Version",
    keywords: "Keywords",
    id: "Dataset id",
    standard: "Conforms to",
    format: "Format",
    size: "Size",
    caption_res: ": formats, size, SHA-256 and downloads",
    machine: "Machine-readable catalog",
    machine_intro: "The same catalog for portals and developers:",
    none: "—",
    empty: "No dataset has been published yet.",
    total: "Total",
    other_dl: "Other requests",
};

/// The catalog as an HTML page in `lang`. All text is escaped.
pub fn html(cat: &Catalog, lang: Lang) -> String {
    let w = match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    };
    let other = match lang {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    let base = esc(&cat.base);
    let page_title = esc(&cat.title(lang));
    let publisher = format!("<span lang=\"ja\">{}</span>", esc(&cat.publisher));
    let lic_name = match lang {
        Lang::Ja => &cat.license.title_ja,
        Lang::En => &cat.license.title_en,
    };
    let lic = match &cat.license.url {
        Some(u) => format!(
            "<a href=\"{}\" rel=\"license\">{}</a>",
            esc(u),
            esc(lic_name)
        ),
        None => esc(lic_name),
    };
    let mut h = String::with_capacity(32 * 1024);
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"{lt}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{page_title}</title>\n\
         <link rel=\"alternate\" type=\"application/ld+json\" href=\"{base}/catalog.jsonld\">\n\
         <link rel=\"alternate\" hreflang=\"{ot}\" href=\"{base}/catalog{oq}\">\n\
         <style>{CSS}</style>\n</head>\n<body>\n\
         <a class=\"skip\" href=\"#main\">{skip}</a>\n<header>\n\
         <nav aria-label=\"{nav}\"><a href=\"{base}/catalog{oq}\" hreflang=\"{ot}\" lang=\"{ot}\">{ol}</a></nav>\n\
         <h1>{page_title}</h1>\n<p>{intro}</p>\n\
         <p>{lic_label}: {lic}<br>{pub_label}: {publisher}</p>\n</header>\n<main id=\"main\">",
        lt = lang.tag(),
        ot = other.tag(),
        oq = if other == Lang::En { "?lang=en" } else { "" },
        skip = w.skip,
        nav = if lang == Lang::Ja { "言語" } else { "Language" },
        ol = w.other_lang,
        intro = w.intro,
        lic_label = w.license,
        pub_label = w.publisher,
    );
    // Summary table.
    let _ = writeln!(h, "<h2 id=\"list\">{}</h2>", w.list);
    if cat.entries.is_empty() {
        let _ = writeln!(h, "<p>{}</p>", w.empty);
    } else {
        let _ = writeln!(
            h,
            "<div class=\"wrap\"><table>\n<caption>{}</caption>\n<thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">{}</th>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th></tr></thead>\n<tbody>",
            w.caption_list, w.dataset, w.updated, w.records, w.formats, w.downloads
        );
        for e in &cat.entries {
            let d = e.dataset;
            let formats: Vec<String> = e
                .resources
                .iter()
                .map(|r| format!("<a href=\"{}\">{}</a>", esc(&r.url), esc(r.kind.format())))
                .collect();
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\"><a href=\"#{d}\">{}</a></th>\
                 <td><time datetime=\"{}\">{}</time></td><td class=\"num\">{}</td>\
                 <td>{}</td><td class=\"num\">{}</td></tr>",
                esc(title(d, lang)),
                esc(&xsd_time(&e.modified)),
                esc(&human_time(&e.modified, lang)),
                fmt_int(e.records as u64),
                formats.join(", "),
                fmt_int(e.downloads()),
            );
        }
        let _ = writeln!(h, "</tbody>\n</table></div>");
    }
    // Details.
    if !cat.entries.is_empty() {
        let _ = writeln!(h, "<h2 id=\"details\">{}</h2>", w.details);
    }
    for e in &cat.entries {
        let d = e.dataset;
        let _ = writeln!(
            h,
            "<section id=\"{d}\" aria-labelledby=\"{d}-title\">\n<h3 id=\"{d}-title\">{}</h3>\n\
             <p class=\"alt\" lang=\"{}\">{}</p>",
            esc(title(d, lang)),
            other.tag(),
            esc(title(d, other)),
        );
        if let Some((ja, en)) = standard(d) {
            let _ = writeln!(
                h,
                "<p><span class=\"badge\">{}</span></p>",
                esc(if lang == Lang::Ja { ja } else { en })
            );
        }
        let _ = writeln!(h, "<p>{}</p>\n<dl>", esc(description(d, lang)));
        let kw: Vec<String> = match lang {
            Lang::Ja => tags(d).iter().map(|t| esc(t)).collect(),
            Lang::En => keywords_en(d).iter().map(|t| esc(t)).collect(),
        };
        let _ = writeln!(
            h,
            "<dt>{}</dt><dd>{lic}</dd>\n<dt>{}</dt><dd>{publisher}</dd>\n\
             <dt>{}</dt><dd><time datetime=\"{}\">{}</time>（{} {}）</dd>\n\
             <dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd>{}</dd>\n<dt>{}</dt><dd><code>{d}</code></dd>",
            w.license,
            w.publisher,
            w.updated,
            esc(&xsd_time(&e.modified)),
            esc(&human_time(&e.modified, lang)),
            w.version,
            e.version,
            w.records,
            fmt_int(e.records as u64),
            w.keywords,
            kw.join(", "),
            w.id,
        );
        if let Some((ja, en)) = standard(d) {
            let _ = writeln!(
                h,
                "<dt>{}</dt><dd>{}</dd>",
                w.standard,
                esc(if lang == Lang::Ja { ja } else { en })
            );
        }
        let _ = writeln!(
            h,
            "</dl>\n<div class=\"wrap\"><table>\n<caption>{}{}</caption>\n<thead><tr>\
             <th scope=\"col\">{}</th><th scope=\"col\">{}</th><th scope=\"col\">SHA-256</th>\
             <th scope=\"col\">{}</th></tr></thead>\n<tbody>",
            esc(title(d, lang)),
            w.caption_res,
            w.format,
            w.size,
            w.downloads
        );
        for r in &e.resources {
            let (size, hash) = match &r.digest {
                Some(g) => (
                    format!(
                        "{} <span class=\"alt\">({} bytes)</span>",
                        fmt_size(g.size),
                        fmt_int(g.size)
                    ),
                    format!("<code>{}</code>", esc(&g.sha256)),
                ),
                None => (w.none.to_string(), w.none.to_string()),
            };
            let dl = if r.kind.is_download() || r.downloads > 0 {
                fmt_int(r.downloads)
            } else {
                w.none.to_string()
            };
            let _ = writeln!(
                h,
                "<tr><th scope=\"row\"><a href=\"{}\" type=\"{}\">{}</a><br><small>{}</small></th>\
                 <td class=\"num\">{size}</td><td>{hash}</td><td class=\"num\">{dl}</td></tr>",
                esc(&r.url),
                esc(r.kind.media_type()),
                esc(r.kind.format()),
                esc(r.kind.description(lang)),
            );
        }
        let _ = writeln!(
            h,
            "</tbody>\n<tfoot><tr><th scope=\"row\" colspan=\"3\">{}</th><td class=\"num\">{}</td></tr></tfoot>\n</table></div>",
            w.total,
            fmt_int(e.downloads())
        );
        if let Some(n) = cat.other_downloads.get(&d) {
            let _ = writeln!(h, "<p>{}: {}</p>", w.other_dl, fmt_int(*n));
        }
        let _ = writeln!(h, "</section>");
    }
    // Machine-readable forms.
    let _ = writeln!(
        h,
        "<h2 id=\"machine\">{}</h2>\n<p>{}</p>\n<ul>\n\
         <li><a href=\"{base}/catalog.jsonld\" type=\"application/ld+json\">DCAT (JSON-LD)</a></li>\n\
         <li><a href=\"{base}/api/3/action/package_list\">CKAN API</a> (<code>{base}/api/3/action/</code>)</li>\n\
         <li><a href=\"{base}/openapi.json\">OpenAPI</a></li>\n</ul>\n</main>\n\
         <footer><p>{}: {publisher}<br>{}: {lic}</p></footer>\n</body>\n</html>",
        w.machine, w.machine_intro, w.publisher, w.license,
    );
    h
}
