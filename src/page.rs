//! The settings the resident map's page reads (`config`), as the server and the static export
//! both write them (into `index.html` by `views::site`). No HTTP here, so `http::web` and `site`
//! share one copy.

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
