//! Prometheus metrics: requests by route and status, a latency histogram per route, bytes out,
//! tile cache hits and misses, and the published version of each dataset.

use super::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Histogram bucket upper bounds, seconds.
pub const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default, Clone)]
struct Hist {
    counts: [u64; BUCKETS.len()],
    sum: f64,
    n: u64,
}

/// One route's counts: requests by status and the latency histogram.
#[derive(Default, Clone)]
struct RouteStats {
    by_status: Vec<(u16, u64)>,
    latency: Hist,
}

/// Counters shared by all requests.
#[derive(Default)]
pub struct Metrics {
    /// One lock per request, and no allocation once a route has been seen (this runs on every
    /// tile request).
    routes: Mutex<BTreeMap<String, RouteStats>>,
    /// Response bytes sent (as declared by Content-Length).
    pub bytes_out: AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Record one finished request.
    pub fn record(&self, route: &str, status: u16, took: Duration, bytes: u64) {
        if let Ok(mut m) = self.routes.lock() {
            let r = match m.get_mut(route) {
                Some(r) => r,
                None => m.entry(route.to_string()).or_default(),
            };
            match r.by_status.iter_mut().find(|(s, _)| *s == status) {
                Some((_, n)) => *n += 1,
                None => {
                    r.by_status.push((status, 1));
                    r.by_status.sort_unstable();
                }
            }
            let h = &mut r.latency;
            let s = took.as_secs_f64();
            for (i, b) in BUCKETS.iter().enumerate() {
                if s <= *b {
                    h.counts[i] += 1;
                }
            }
            h.sum += s;
            h.n += 1;
        }
        self.bytes_out.fetch_add(bytes, Ordering::Relaxed);
    }
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// `GET /metrics`
pub async fn get_metrics(State(st): State<Arc<AppState>>) -> Response {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "# HELP machimap_http_requests_total HTTP requests by route and status."
    );
    let _ = writeln!(o, "# TYPE machimap_http_requests_total counter");
    let routes = st
        .metrics
        .routes
        .lock()
        .map(|m| m.clone())
        .unwrap_or_default();
    for (r, stats) in &routes {
        for (s, n) in &stats.by_status {
            let _ = writeln!(
                o,
                "machimap_http_requests_total{{route=\"{}\",status=\"{s}\"}} {n}",
                esc(r)
            );
        }
    }
    let _ = writeln!(
        o,
        "# HELP machimap_http_request_duration_seconds Time to answer, by route."
    );
    let _ = writeln!(o, "# TYPE machimap_http_request_duration_seconds histogram");
    for (r, stats) in &routes {
        let h = &stats.latency;
        let r = esc(r);
        for (i, b) in BUCKETS.iter().enumerate() {
            let _ = writeln!(
                o,
                "machimap_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{b}\"}} {}",
                h.counts[i]
            );
        }
        let _ = writeln!(
            o,
            "machimap_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
            h.n
        );
        let _ = writeln!(
            o,
            "machimap_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
            h.sum
        );
        let _ = writeln!(
            o,
            "machimap_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
            h.n
        );
    }
    let _ = writeln!(
        o,
        "# HELP machimap_http_response_bytes_total Response body bytes sent."
    );
    let _ = writeln!(o, "# TYPE machimap_http_response_bytes_total counter");
    let _ = writeln!(
        o,
        "machimap_http_response_bytes_total {}",
        st.metrics.bytes_out.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        o,
        "# HELP machimap_tile_cache_hits_total Tiles answered from the cache."
    );
    let _ = writeln!(o, "# TYPE machimap_tile_cache_hits_total counter");
    let _ = writeln!(
        o,
        "machimap_tile_cache_hits_total {}",
        st.tiles.hits.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        o,
        "# HELP machimap_tile_cache_misses_total Tiles that had to be rendered."
    );
    let _ = writeln!(o, "# TYPE machimap_tile_cache_misses_total counter");
    let _ = writeln!(
        o,
        "machimap_tile_cache_misses_total {}",
        st.tiles.misses.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        o,
        "# HELP machimap_tile_cache_bytes Bytes held by the tile cache."
    );
    let _ = writeln!(o, "# TYPE machimap_tile_cache_bytes gauge");
    let _ = writeln!(o, "machimap_tile_cache_bytes {}", st.tiles.bytes());
    let flights = st.limits.in_flight();
    let _ = writeln!(
        o,
        "# HELP machimap_http_in_flight Requests of capped routes under way, by class."
    );
    let _ = writeln!(o, "# TYPE machimap_http_in_flight gauge");
    for (c, n, _) in &flights {
        let _ = writeln!(o, "machimap_http_in_flight{{class=\"{}\"}} {n}", c.name());
    }
    let _ = writeln!(
        o,
        "# HELP machimap_http_in_flight_limit The cap of each class (more are answered 503)."
    );
    let _ = writeln!(o, "# TYPE machimap_http_in_flight_limit gauge");
    for (c, _, cap) in &flights {
        let _ = writeln!(
            o,
            "machimap_http_in_flight_limit{{class=\"{}\"}} {cap}",
            c.name()
        );
    }
    let _ = writeln!(
        o,
        "# HELP machimap_stream_producers Threads producing streamed bodies (downloads, items)."
    );
    let _ = writeln!(o, "# TYPE machimap_stream_producers gauge");
    let _ = writeln!(
        o,
        "machimap_stream_producers {}",
        super::datasets::PRODUCERS.load(Ordering::Relaxed)
    );
    let _ = writeln!(
        o,
        "# HELP machimap_dataset_version Published version of each dataset."
    );
    let _ = writeln!(o, "# TYPE machimap_dataset_version gauge");
    for (d, l) in &st.snapshot.load().layers {
        let _ = writeln!(
            o,
            "machimap_dataset_version{{dataset=\"{d}\"}} {}",
            l.version
        );
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        o,
    )
        .into_response()
}
