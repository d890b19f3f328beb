//! Integration tests: one binary (each file under tests/ would be its own binary to link).
//! They run the real `machimap` executable on files our own code generates, against a real DuckDB
//! file in a temporary folder.
#![allow(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "tests report what they measured, and a failing server's log"
)]

mod support;

mod addresses;
mod admin;
mod auth;
mod catalog;
mod decision;
mod disk_full;
mod downloads;
mod durability;
mod hostile;
mod ingest_cli;
mod inland_flood;
mod kill;
mod ogc;
mod ogc_crs;
mod ogc_filter;
mod ogc_tiles;
mod openapi;
mod pmtiles;
mod real_layouts;
mod real_shelters;
mod replicas;
mod reproject;
mod risk;
mod sample_city;
mod site;
mod tiles_http;
mod uploads_hostile;
