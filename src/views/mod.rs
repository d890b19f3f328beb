//! Every HTML page the server and the static export write, as askama templates
//! (`src/views/templates/`, set in `askama.toml`): compiled and type-checked with the crate, and
//! HTML-escaping every value by default. One module a family of pages: [`console`] (the staff
//! console), [`catalog`] (the open-data catalog), [`site`] (the resident map's page). The data
//! comes from the domain modules (`admin`, `catalog`, `page`) as plain values; no HTML is built
//! with `format!` anywhere else.

pub mod catalog;
pub mod console;
pub mod site;

use askama::Template;

/// A page as text. Rendering fails only when a value's `Display` fails, which none of the
/// values these templates show does.
fn render(page: &impl Template) -> String {
    page.render()
        .expect("templates render plain values, whose Display does not fail")
}

#[cfg(test)]
mod tests;
