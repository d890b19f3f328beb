//! Vector tiles: tile coordinates and Web Mercator maths ([`coord`]), geometry to MVT in tile
//! space with clipping, grid-snapping simplification and winding ([`render`]), a cache of
//! rendered, compressed tiles bounded in bytes ([`cache`]), and the overview zooms of large
//! layers drawn at publish ([`pyramid`]).
//!
//! Nothing here knows about HTTP; `http::tiles` turns requests into [`render::render_layers`] calls.

pub mod cache;
pub mod coord;
pub mod encode;
pub mod pmtiles;
pub mod pyramid;
pub mod render;
pub mod tms;

pub use coord::TileCoord;
