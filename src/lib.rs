//! machimap: a Japanese municipality's GIS files as a live open-data service.
//!
//! # Layout
//! - [`read`]: CSV / GeoJSON / zipped Shapefile readers (encodings, CRS, located errors), built on
//!   [`shp`] (our Shapefile codec, the `machimap-shp` crate), [`text`] (encodings, full-width,
//!   和暦, codes) and [`crs`] (PROJ).
//! - [`kinds`]: one normaliser per dataset kind, producing rows of the canonical tables of
//!   [`dataset`], with every repair and rejection in a [`report::Report`].
//! - [`store`]: the versioned DuckDB store; [`ingest`] ties readers, normalisers and store together.
//! - [`geom`]: WKB, bounding boxes, label points, polygon repair.
//! - [`views`]: every HTML page, as askama templates that escape every value by default.
//! - [`ogc`]: the OGC API – Features and Tiles documents (collections, tile sets, tile matrix
//!   sets) as typed values, which `http` fills in and serializes.
//!
//! The fictional sample city is the `machimap-sample` crate, used by the binary's `sample` and
//! `demo` commands and by the tests, never by this library.
//!
//! See ARCHITECTURE.md for the data flow and invariants.

pub mod address;
pub mod admin;
pub mod catalog;
pub mod check;
pub mod coverage;
pub mod crs;
pub mod dataset;
pub mod export;
pub mod filter;
pub mod geom;
pub mod http;
pub mod index;
pub mod ingest;
pub mod kinds;
/// The languages of the map and the risk answer (in `machimap-risk`, shared with the static site).
pub use machimap_risk::lang;
pub mod mapping;
pub mod ogc;
pub mod page;
pub mod read;
pub mod report;
pub mod risk;
pub mod search;
/// Our Shapefile codec, reader and writer (in `machimap-shp`).
pub use machimap_shp as shp;
pub mod site;
pub mod store;
pub mod text;
pub mod tiles;
pub mod views;
