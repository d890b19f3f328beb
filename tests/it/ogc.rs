//! HTTP tests (being written).
