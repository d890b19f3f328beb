//! The resident map's page. Its `index.html` is written by the web build (`web/dist`, hashed
//! asset names) and read at run time, so it cannot be a compile-time template; what the server
//! and the static export put into it are: the `<html lang>`, the city's name (`{city}`), the
//! settings the page reads (`<!--MACHIMAP_CONFIG-->`) and, at the root of a static site, the
//! `<base>` that pins a release.

use super::render;
use askama::Template;

#[derive(Template)]
#[template(source = r#"<html lang="{{ lang }}""#, ext = "html")]
struct HtmlLang<'a> {
    lang: &'a str,
}

#[derive(Template)]
#[template(source = "{{ city }}", ext = "html")]
struct City<'a> {
    city: &'a str,
}

/// The settings as JSON in a data block: askama's `json` filter writes no `<`, `>`, `&` or `'`
/// (they become `\u003c` …), so the JSON can never close the script element.
#[derive(Template)]
#[template(
    source = r#"<script type="application/json" id="machimap-config">{{ config|json|safe }}</script>"#,
    ext = "html"
)]
struct Config<'a> {
    config: &'a serde_json::Value,
}

#[derive(Template)]
#[template(source = "<head>\n<base href=\"releases/{{ name }}/\">", ext = "html")]
struct ReleaseBase<'a> {
    name: &'a str,
}

/// `index.html` with the language, the city name (`{city}`) and the config filled in.
pub fn render_index(template: &str, lang: crate::lang::Lang, config: &serde_json::Value) -> String {
    let city = render(&City {
        city: config["publisher"].as_str().unwrap_or(""),
    });
    template
        .replace("{city}", &city)
        .replacen(
            "<html lang=\"ja\"",
            &render(&HtmlLang {
                lang: lang.html_lang(),
            }),
            1,
        )
        .replacen("<!--MACHIMAP_CONFIG-->", &render(&Config { config }), 1)
}

/// The static site's root page: the release's page with a `<base>` pointing into
/// `releases/{name}/`.
pub fn pin_release(page: &str, name: &str) -> String {
    page.replacen("<head>", &render(&ReleaseBase { name }), 1)
}
