//! The resident map's page as the server and the static export both write it: the settings the
//! page reads (`config`) and `index.html` with them and the language filled in. No HTTP here,
//! so `http::web` and `site` share one copy.

use crate::dataset::DatasetId;
use crate::index::Snapshot;

/// URL template of the GSI 淡色地図 tiles.
pub const GSI_PALE_TILES: &str = "https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png";

/// What the page needs to know: language, publisher, the published datasets (version, date,
/// features), their bounds, the tile layers and, when set, the static mirror it may switch to.
pub fn config(
    snap: &Snapshot,
    lang: &str,
    publisher: &str,
    gsi_basemap: bool,
    mirror_url: Option<&str>,
) -> serde_json::Value {
    let mut data = serde_json::Map::new();
    let mut bounds: Option<[f64; 4]> = None;
    for (d, l) in &snap.layers {
        data.insert(
            d.to_string(),
            serde_json::json!({"version": l.version, "published_at": l.published_at,
                "features": l.features.len()}),
        );
        if *d != DatasetId::Stockpile {
            if let Some(b) = l.bbox {
                bounds = Some(match bounds {
                    None => b,
                    Some(a) => crate::geom::union_bbox(a, b),
                });
            }
        }
    }
    let tile_layers: Vec<&str> = snap
        .layers
        .keys()
        .filter(|d| d.is_map_layer())
        .map(|d| d.as_str())
        .collect();
    let mut v = serde_json::json!({
        "lang": lang,
        "publisher": publisher,
        "gsi_basemap": gsi_basemap,
        "gsi_tiles": if gsi_basemap { Some(GSI_PALE_TILES) } else { None },
        "bounds": bounds,
        "tile_layers": tile_layers,
        "datasets": data,
    });
    if let Some(m) = mirror_url {
        v["mirror"] = serde_json::Value::from(m.trim_end_matches('/'));
    }
    v
}

/// Text escaped for HTML.
pub fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// `index.html` with the language, the city name (`{city}`) and the config filled in.
pub fn render_index(template: &str, lang: crate::lang::Lang, config: &serde_json::Value) -> String {
    let html_lang = lang.html_lang();
    let city = html_escape(config["publisher"].as_str().unwrap_or(""));
    // `<` escaped so the JSON can never close the script element.
    let json = config.to_string().replace('<', "\\u003c");
    template
        .replace("{city}", &city)
        .replacen(
            "<html lang=\"ja\"",
            &format!("<html lang=\"{html_lang}\""),
            1,
        )
        .replacen(
            "<!--MACHIMAP_CONFIG-->",
            &format!("<script type=\"application/json\" id=\"machimap-config\">{json}</script>"),
            1,
        )
}
