//! The catalog page for people (`src/views/templates/catalog/page.html`), in Japanese or English,
//! from the [`Catalog`] model of [`crate::catalog`]. Every value is escaped by the template.

use super::render;
use crate::catalog::{
    description, human_time, keywords_en, standard, tags, title, xsd_time, Catalog, Lang,
};
use crate::dataset::DatasetId;
use askama::Template;

/// The page's style sheet, inline in a `<style>` element and allowed by its hash in the
/// Content-Security-Policy ([`csp`]).
const CSS: &str = include_str!("catalog.css");

/// The page's Content-Security-Policy: its style sheet by hash, nothing else inline.
pub fn csp() -> String {
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

/// A line of the summary table.
struct SummaryRow<'a> {
    d: DatasetId,
    title: &'static str,
    modified: String,
    modified_human: String,
    records: String,
    /// (url, format) of every resource.
    formats: Vec<(&'a str, &'static str)>,
    downloads: String,
}

/// A dataset's section.
struct Section<'a> {
    d: DatasetId,
    title: &'static str,
    title_other: &'static str,
    standard: Option<&'static str>,
    description: &'static str,
    modified: String,
    modified_human: String,
    version: i64,
    records: String,
    keywords: String,
    resources: Vec<ResourceRow<'a>>,
    total: String,
    other_downloads: Option<String>,
}

/// A line of a dataset's resource table.
struct ResourceRow<'a> {
    url: &'a str,
    media_type: &'static str,
    format: &'static str,
    description: &'static str,
    /// (size, bytes), when the file's digest is known.
    size: Option<(String, String)>,
    sha256: Option<&'a str>,
    downloads: String,
}

#[derive(Template)]
#[template(path = "catalog/page.html")]
struct CatalogPage<'a> {
    w: &'static Words,
    css: &'static str,
    lang: &'static str,
    other_lang: &'static str,
    /// The query of the page in the other language.
    other_query: &'static str,
    nav_label: &'static str,
    base: &'a str,
    title: String,
    publisher: &'a str,
    license_name: &'a str,
    license_url: Option<&'a str>,
    rows: Vec<SummaryRow<'a>>,
    sections: Vec<Section<'a>>,
}

/// The catalog as an HTML page in `lang`.
pub fn html(cat: &Catalog, lang: Lang) -> String {
    let w = match lang {
        Lang::Ja => &JA,
        Lang::En => &EN,
    };
    let other = match lang {
        Lang::Ja => Lang::En,
        Lang::En => Lang::Ja,
    };
    let pick = |(ja, en): (&'static str, &'static str)| if lang == Lang::Ja { ja } else { en };
    let rows = cat
        .entries
        .iter()
        .map(|e| SummaryRow {
            d: e.dataset,
            title: title(e.dataset, lang),
            modified: xsd_time(&e.modified),
            modified_human: human_time(&e.modified, lang),
            records: fmt_int(e.records as u64),
            formats: e
                .resources
                .iter()
                .map(|r| (r.url.as_str(), r.kind.format()))
                .collect(),
            downloads: fmt_int(e.downloads()),
        })
        .collect();
    let sections = cat
        .entries
        .iter()
        .map(|e| {
            let d = e.dataset;
            Section {
                d,
                title: title(d, lang),
                title_other: title(d, other),
                standard: standard(d).map(pick),
                description: description(d, lang),
                modified: xsd_time(&e.modified),
                modified_human: human_time(&e.modified, lang),
                version: e.version,
                records: fmt_int(e.records as u64),
                keywords: match lang {
                    Lang::Ja => tags(d),
                    Lang::En => keywords_en(d),
                }
                .join(", "),
                resources: e
                    .resources
                    .iter()
                    .map(|r| ResourceRow {
                        url: &r.url,
                        media_type: r.kind.media_type(),
                        format: r.kind.format(),
                        description: r.kind.description(lang),
                        size: r
                            .digest
                            .as_ref()
                            .map(|g| (fmt_size(g.size), fmt_int(g.size))),
                        sha256: r.digest.as_ref().map(|g| g.sha256.as_str()),
                        downloads: if r.kind.is_download() || r.downloads > 0 {
                            fmt_int(r.downloads)
                        } else {
                            w.none.to_string()
                        },
                    })
                    .collect(),
                total: fmt_int(e.downloads()),
                other_downloads: cat.other_downloads.get(&d).map(|n| fmt_int(*n)),
            }
        })
        .collect();
    render(&CatalogPage {
        w,
        css: CSS,
        lang: lang.tag(),
        other_lang: other.tag(),
        other_query: if other == Lang::En { "?lang=en" } else { "" },
        nav_label: if lang == Lang::Ja {
            "言語"
        } else {
            "Language"
        },
        base: &cat.base,
        title: cat.title(lang),
        publisher: &cat.publisher,
        license_name: match lang {
            Lang::Ja => &cat.license.title_ja,
            Lang::En => &cat.license.title_en,
        },
        license_url: cat.license.url.as_deref(),
        rows,
        sections,
    })
}
