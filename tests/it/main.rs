//! Integration tests: one binary (each file under tests/ would be its own binary to link).
//! They run the real `machimap` executable on files our own code generates, against a real DuckDB
//! file in a temporary folder.

mod support;

mod admin;
mod catalog;
mod downloads;
mod ingest_cli;
mod kill;
mod ogc;
mod openapi;
mod pmtiles;
mod replicas;
mod reproject;
mod risk;
mod sample_city;
mod tiles_http;
mod uploads_hostile;
