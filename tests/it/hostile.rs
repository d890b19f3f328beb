//! Hostile clients and bad days (issue 14): clients that stop reading or never finish a request,
//! floods of one expensive route, HEAD requests inflating download counts, crafted Host and
//! X-Forwarded-* headers, and URLs that differ only in the order of a list. All on loopback,
//! bounded in connections and time.

use crate::support::*;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

fn addr(s: &Server) -> SocketAddr {
    s.base
        .trim_start_matches("http://")
        .parse()
        .expect("server address")
}

/// A connection to `s`, with a small receive buffer if `rcvbuf` (so a client that does not
/// read stalls the server's writes soon).
fn connect(s: &Server, rcvbuf: Option<usize>) -> TcpStream {
    let sock =
        socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).expect("socket");
    if let Some(n) = rcvbuf {
        sock.set_recv_buffer_size(n).expect("SO_RCVBUF");
    }
    sock.connect(&addr(s).into()).expect("connect");
    sock.into()
}

/// Send `request` as is on a new connection and read until the server closes it.
fn raw(s: &Server, request: &str) -> String {
    let mut c = connect(s, None);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    c.write_all(request.as_bytes()).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out)
        .expect("the server answers and closes");
    String::from_utf8_lossy(&out).into_owned()
}

/// Read from `c` until the server closes it; (bytes read, closed by the server). A read that
/// times out (the server kept the connection) is `false`.
fn drain(c: &mut TcpStream, timeout: Duration) -> (usize, bool) {
    c.set_read_timeout(Some(timeout)).unwrap();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0;
    loop {
        match c.read(&mut buf) {
            Ok(0) => return (n, true),
            Ok(k) => n += k,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return (n, false)
            }
            // Reset by the server: closed too.
            Err(_) => return (n, true),
        }
    }
}

/// A gauge or counter of `/metrics` (the first sample whose line starts with `name`).
fn metric(s: &Server, name: &str) -> Option<f64> {
    s.get("/metrics")
        .text()
        .lines()
        .find(|l| l.starts_with(name))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|v| v.parse().ok())
}

/// Wait (bounded) until `cond` holds.
fn eventually(what: &str, limit: Duration, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn counts(db: &std::path::Path) -> serde_json::Value {
    let mut f = db.as_os_str().to_owned();
    f.push(".downloads.json");
    std::fs::read(std::path::PathBuf::from(f))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn head_requests_and_revalidations_are_not_downloads() {
    let dir = tmp();
    let db = sample_db_copy(dir.path());
    let s = Server::start(&db);
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let url = format!("{}/datasets/shelters.csv", s.base);
    let get = s.get("/datasets/shelters.csv");
    assert_eq!(get.status, 200);
    for _ in 0..30 {
        let r = agent.head(&url).call().unwrap();
        assert_eq!(r.status().as_u16(), 200);
        assert_eq!(
            r.headers()["content-type"],
            get.header("content-type").unwrap()
        );
        assert_eq!(
            r.headers()["content-disposition"],
            get.header("content-disposition").unwrap()
        );
    }
    let etag = get.header("etag").unwrap().to_string();
    assert_eq!(
        s.get_with("/datasets/shelters.csv", &[("If-None-Match", &etag)])
            .status,
        304
    );
    assert_eq!(s.get("/datasets/shelters.csv").status, 200);
    assert_eq!(
        counts(&db)["shelters"]["csv"],
        2,
        "two GETs sent the file; 30 HEADs and a 304 did not"
    );
}

#[test]
fn every_response_says_nosniff() {
    let s = Server::start(sample_db());
    let (x, y) = {
        let t = machimap::tiles::coord::tile_for(133.93, 34.60, 13);
        (t.x, t.y)
    };
    let tile = format!("/tiles/flood/13/{x}/{y}.mvt");
    for path in [
        "/healthz",
        "/api/risk?lat=34.61&lon=133.92",
        "/api/search?q=school",
        "/api/search",
        "/no/such/page",
        "/datasets/wards.geojson",
        "/ogc/collections/flood/items?limit=2",
        "/openapi.json",
        tile.as_str(),
        // The second time from the cache, answered before routing.
        tile.as_str(),
    ] {
        let r = s.get(path);
        assert_eq!(
            r.header("x-content-type-options"),
            Some("nosniff"),
            "{path} ({})",
            r.status
        );
    }
}

#[test]
fn links_ignore_forwarded_headers_and_crafted_hosts_unless_trusted() {
    let s = Server::start(sample_db());
    let a = addr(&s);
    let self_link = |resp: &str| -> String {
        let body = resp.split("\r\n\r\n").nth(1).unwrap_or("");
        let j: serde_json::Value =
            serde_json::from_str(body).unwrap_or_else(|e| panic!("not JSON ({e}): {resp}"));
        j["links"][0]["href"].as_str().unwrap_or("").to_string()
    };
    let ask = |s: &Server, host: &str, extra: &str| {
        raw(
            s,
            &format!("GET /ogc HTTP/1.1\r\nHost: {host}\r\n{extra}Connection: close\r\n\r\n"),
        )
    };
    // Forwarded headers from anyone are not believed.
    let r = ask(
        &s,
        &a.to_string(),
        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\n",
    );
    assert_eq!(self_link(&r), format!("http://{a}/ogc"));
    // A Host that would break out of the authority falls back to the listening address.
    for host in ["evil.example/x?", "a@evil.example", "\"><script>", "-x"] {
        let r = ask(&s, host, "");
        assert_eq!(self_link(&r), format!("http://{a}/ogc"), "Host: {host}");
    }
    // A plain host name is used (no base URL is configured).
    assert_eq!(
        self_link(&ask(&s, "opendata.example.lg.jp:8080", "")),
        "http://opendata.example.lg.jp:8080/ogc"
    );
    // Behind a proxy that is trusted to set them, they are used.
    let p = Server::start_with(sample_db(), &["--trust-forwarded"]);
    let r = ask(
        &p,
        "internal:8080",
        "X-Forwarded-Proto: https\r\nX-Forwarded-Host: data.example.lg.jp\r\n",
    );
    assert_eq!(self_link(&r), "https://data.example.lg.jp/ogc");
    let r = ask(&p, "internal:8080", "X-Forwarded-Proto: gopher\r\n");
    assert_eq!(self_link(&r), "http://internal:8080/ogc");
}

#[test]
fn dataset_lists_in_any_order_are_one_tile_set() {
    let s = Server::start(sample_db());
    let t = machimap::tiles::coord::tile_for(133.93, 34.60, 14);
    let one = s.get(&format!("/tiles/flood,wards/14/{}/{}.mvt", t.x, t.y));
    assert_eq!(one.status, 200);
    let misses = metric(&s, "machimap_tile_cache_misses_total").unwrap();
    let other = s.get(&format!("/tiles/wards,flood/14/{}/{}.mvt", t.x, t.y));
    assert_eq!(other.status, 200);
    assert_eq!(other.header("etag"), one.header("etag"));
    assert!(other.body == one.body, "the same tile");
    assert_eq!(
        metric(&s, "machimap_tile_cache_misses_total").unwrap(),
        misses,
        "the other order is the same cache entry, not a new draw"
    );
    let tj = s.get("/tiles/wards,flood.json").json();
    let url = tj["tiles"][0].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "{}/tiles/wards,flood/{{z}}/{{x}}/{{y}}.mvt?v=wards-v1,flood-v1",
            s.base
        )),
        "{url}"
    );
    // Immutable under the canonical token whichever order the URL has.
    let imm = s.get(&format!(
        "/tiles/flood,wards/14/{}/{}.mvt?v=wards-v1,flood-v1",
        t.x, t.y
    ));
    assert_eq!(
        imm.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        s.get(&format!("/tiles/flood,wards,flood/14/{}/{}.mvt", t.x, t.y))
            .status,
        400
    );
}

#[test]
fn ogc_item_pages_are_streamed_not_built_whole() {
    let s = Server::start(sample_db());
    let r = s.get("/ogc/collections/flood/items?limit=10000");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("content-type"), Some("application/geo+json"));
    assert_eq!(r.header("content-length"), None, "sent as it is written");
    let j = r.json();
    assert_eq!(
        j["numberReturned"].as_u64(),
        Some(j["features"].as_array().unwrap().len() as u64)
    );
    assert!(j["numberReturned"].as_u64().unwrap() > 10);
}

#[test]
fn a_route_at_its_cap_answers_503_with_retry_after() {
    let s = Server::start_with(sample_db(), &["--max-event-subscribers", "1"]);
    // One subscriber holds the only turn while its stream is open.
    let mut sub = connect(&s, None);
    sub.write_all(b"GET /api/shelter-status/events HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    sub.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut head = [0u8; 12];
    sub.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    // Read with a time limit: a server without the cap would start a second endless stream.
    let mut c = connect(&s, None);
    c.write_all(b"GET /api/shelter-status/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut out = Vec::new();
    let _ = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out).to_ascii_lowercase();
    assert!(text.starts_with("http/1.1 503"), "{text}");
    assert!(text.contains("\r\nretry-after: 5\r\n"), "{text}");
    assert!(text.contains("\"code\":\"busy\""), "{text}");
    // Other routes are not held up.
    assert_eq!(s.get("/api/risk?lat=34.61&lon=133.92").status, 200);
    // When it leaves, the next one gets in.
    drop(sub);
    let mut status = 0;
    eventually("the turn comes back", Duration::from_secs(20), || {
        let mut c = connect(&s, None);
        c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        c.write_all(b"GET /api/shelter-status/events HTTP/1.1\r\nHost: x\r\n\r\n")
            .unwrap();
        let mut head = [0u8; 12];
        if c.read_exact(&mut head).is_ok() {
            status = if &head == b"HTTP/1.1 200" { 200 } else { 503 };
        }
        status == 200
    });
}

/// The routes of every capped class (downloads, items, search and geocode, catalog and the CKAN
/// API, risk, the status stream).
const CAPPED: &[&str] = &[
    "/datasets/shelters.csv",
    "/ogc/collections/flood/items?limit=1",
    "/api/search?q=%E6%A1%9C",
    "/api/geocode?q=%E6%A1%9C",
    "/catalog",
    "/catalog.jsonld",
    "/api/3/action/package_list",
    "/api/action/package_list",
    "/api/risk?lat=34.61&lon=133.92",
    "/api/shelter-status/events",
];

#[test]
fn every_capped_route_is_under_its_cap() {
    // A cap of 0 closes its routes: each must answer 503 with Retry-After, which shows every
    // route is wired to its class (a route left out would answer 200).
    let closed = Server::start_with(
        sample_db(),
        &[
            "--max-downloads",
            "0",
            "--max-items",
            "0",
            "--max-search",
            "0",
            "--max-catalog",
            "0",
            "--max-risk",
            "0",
            "--max-event-subscribers",
            "0",
        ],
    );
    for path in CAPPED {
        let r = closed.get(path);
        assert_eq!(r.status, 503, "{path}: {}", r.text());
        assert_eq!(r.header("retry-after"), Some("5"), "{path}");
        assert_eq!(r.json()["code"], "busy", "{path}");
    }
    // Routes without a cap are not touched by the others' caps.
    for path in ["/healthz", "/ogc/collections", "/ogc/collections/flood"] {
        assert_eq!(closed.get(path).status, 200, "{path}");
    }
    // With the default caps the same routes answer (the stream's head is enough).
    let open = Server::start(sample_db());
    for path in CAPPED.iter().filter(|p| !p.ends_with("/events")) {
        let r = open.get(path);
        assert_eq!(r.status, 200, "{path}: {}", r.text());
    }
    let head = raw_head(&open, "/api/shelter-status/events");
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
}

/// The status line and headers of a GET of `path` whose body may never end.
fn raw_head(s: &Server, path: &str) -> String {
    let mut c = connect(s, None);
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    c.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
        .unwrap();
    let mut out = Vec::new();
    let mut b = [0u8; 1];
    while !out.ends_with(b"\r\n\r\n") && c.read(&mut b).map(|n| n == 1).unwrap_or(false) {
        out.push(b[0]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn one_client_cannot_hold_every_connection() {
    let s = Server::start_with(
        sample_db(),
        &[
            "--max-connections-per-client",
            "4",
            "--header-timeout-secs",
            "30",
        ],
    );
    // Four idle connections (a slowloris holding sockets without a request) fill the client's
    // share.
    let held: Vec<TcpStream> = (0..4).map(|_| connect(&s, None)).collect();
    // Give the accept loops a moment to take them.
    std::thread::sleep(Duration::from_millis(300));
    // The fifth is answered 503 (or reset) and closed at once, never served.
    let r = raw_lossy(
        &s,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(
        r.is_empty() || r.starts_with("HTTP/1.1 503"),
        "{}",
        &r[..60.min(r.len())]
    );
    if !r.is_empty() {
        assert!(
            r.contains("Retry-After: 5") && r.contains("\"busy\""),
            "{r}"
        );
    }
    // One held connection is still served.
    let mut c = held.into_iter().collect::<Vec<_>>();
    c[0].set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    c[0].write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = Vec::new();
    let _ = c[0].read_to_end(&mut out);
    assert!(
        out.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    // Its slot came back when it closed: a new connection is served again.
    eventually("a slot comes back", Duration::from_secs(10), || {
        raw_lossy(
            &s,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        )
        .starts_with("HTTP/1.1 200")
    });
    drop(c);
    // With the cap off, many connections from one client are served.
    let open = Server::start_with(sample_db(), &["--max-connections-per-client", "0"]);
    let many: Vec<TcpStream> = (0..40).map(|_| connect(&open, None)).collect();
    let r = raw_lossy(
        &open,
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert!(r.starts_with("HTTP/1.1 200"), "{}", &r[..40.min(r.len())]);
    drop(many);
}

/// Send `request` and read what comes back until the server closes or resets the connection
/// (a server refusing a request it has not read whole may reset it: the answer can be lost).
fn raw_lossy(s: &Server, request: &[u8]) -> String {
    let mut c = connect(s, None);
    c.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let _ = c.write_all(request);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = c.read(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A request head over the limit is refused: 431, or the connection reset before the answer
/// arrived; never served.
fn refused_head(r: &str) -> bool {
    r.is_empty() || r.starts_with("HTTP/1.1 431")
}

#[test]
fn request_heads_over_the_limit_are_refused_with_431() {
    let s = Server::start_with(sample_db(), &["--max-header-kb", "16"]);
    let get = |headers: &str| {
        raw_lossy(
            &s,
            format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}Connection: close\r\n\r\n")
                .as_bytes(),
        )
    };
    let small = get(&format!("X-Pad: {}\r\n", "a".repeat(12 << 10)));
    assert!(
        small.starts_with("HTTP/1.1 200"),
        "{}",
        &small[..40.min(small.len())]
    );
    // One long header, and many headers adding up past the limit (hyper's own ceiling is
    // about 400 KiB, so both were served before the limit).
    let long = get(&format!("X-Pad: {}\r\n", "a".repeat(40 << 10)));
    assert!(refused_head(&long), "{}", &long[..40.min(long.len())]);
    let many: String = (0..600)
        .map(|i| format!("X-H{i}: {}\r\n", "b".repeat(40)))
        .collect();
    let many = get(&many);
    assert!(refused_head(&many), "{}", &many[..40.min(many.len())]);
    // The server goes on answering.
    assert_eq!(s.get("/healthz").status, 200);
}

/// Requests to pipeline so that a client that does not read is sent more than every socket
/// buffer on the way can hold (8 MB), whatever the size of one download (`len`).
fn enough(len: usize) -> usize {
    (8 << 20) / len.max(1) + 2
}

/// `n` pipelined requests for a download on a connection that never reads: the server's writes
/// stall as soon as the socket buffers are full.
fn stalled_download(s: &Server, n: usize) -> TcpStream {
    let mut c = connect(s, Some(4096));
    let one = "GET /datasets/flood.geojson HTTP/1.1\r\nHost: x\r\n\r\n";
    c.write_all(one.repeat(n).as_bytes()).unwrap();
    c
}

#[test]
fn downloads_have_a_cap_of_their_own() {
    let s = Server::start_with(
        sample_db(),
        &["--max-downloads", "1", "--write-timeout-secs", "120"],
    );
    let n = enough(s.get("/datasets/flood.geojson").body.len());
    // The measuring download gives its turn back when the server drops its body, a moment
    // after the client has read it; a pipelined request in that moment would get the 503.
    eventually(
        "the measuring download ended",
        Duration::from_secs(20),
        || metric(&s, "machimap_http_in_flight{class=\"downloads\"}") == Some(0.0),
    );
    let stalled = stalled_download(&s, n);
    eventually(
        "the stalled download holds the turn",
        Duration::from_secs(20),
        || metric(&s, "machimap_http_in_flight{class=\"downloads\"}") == Some(1.0),
    );
    let r = s.get("/datasets/shelters.csv");
    assert_eq!(r.status, 503, "{}", r.text());
    assert!(r.header("retry-after").is_some());
    assert_eq!(s.get("/api/risk?lat=34.61&lon=133.92").status, 200);
    drop(stalled);
    eventually("the turn comes back", Duration::from_secs(20), || {
        s.get("/datasets/shelters.csv").status == 200
    });
}

#[test]
fn clients_that_stop_reading_are_dropped_and_risk_still_answers() {
    const CLIENTS: usize = 30;
    let s = Server::start_with(
        sample_db(),
        &["--write-timeout-secs", "1", "--max-downloads", "64"],
    );
    let one = s.get("/datasets/flood.geojson").body.len();
    let per_client = enough(one);
    let mut stalled: Vec<TcpStream> = (0..CLIENTS)
        .map(|_| stalled_download(&s, per_client))
        .collect();
    eventually("downloads under way", Duration::from_secs(20), || {
        metric(&s, "machimap_http_in_flight{class=\"downloads\"}").unwrap_or(0.0) >= 1.0
    });
    // Meanwhile the rest of the server answers.
    for _ in 0..10 {
        let r = s.get("/api/risk?lat=34.61&lon=133.92");
        assert_eq!(r.status, 200, "{}", r.text());
    }
    // After the write timeout every stalled connection is dropped, and with it its download
    // and the thread producing it.
    // A pipelined connection is briefly between two downloads after each response, so "none in
    // flight" counts only when it holds for three write timeouts in a row: by then every
    // connection still open would have started its next download.
    let idle = || {
        metric(&s, "machimap_http_in_flight{class=\"downloads\"}") == Some(0.0)
            && metric(&s, "machimap_stream_producers") == Some(0.0)
    };
    eventually("stalled downloads dropped", Duration::from_secs(60), || {
        idle()
            && (0..3).all(|_| {
                std::thread::sleep(Duration::from_secs(1));
                idle()
            })
    });
    for (i, c) in stalled.iter_mut().enumerate() {
        let (got, closed) = drain(c, Duration::from_secs(10));
        assert!(
            closed,
            "client {i}: the server kept a connection that stopped reading"
        );
        assert!(
            got < per_client * one,
            "client {i}: got all {got} bytes; the stalled transfer was not cut"
        );
    }
    assert_eq!(s.get("/api/risk?lat=34.61&lon=133.92").status, 200);
}

/// Reads `c` at about 20 KB a second (2 KB every 100 ms) for at most `limit`; (bytes read,
/// closed by the server).
fn read_slowly(c: &mut TcpStream, limit: Duration) -> (usize, bool) {
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 2048];
    let mut n = 0;
    while start.elapsed() < limit {
        match c.read(&mut buf) {
            Ok(0) | Err(_) => return (n, true),
            Ok(k) => n += k,
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    (n, false)
}

#[test]
fn clients_reading_slower_than_the_floor_rate_are_dropped_and_faster_ones_are_not() {
    // A floor of 100 KB/s judged over 2 s windows of waiting on the client.
    let strict = Server::start_with(
        sample_db(),
        &["--write-timeout-secs", "2", "--min-write-rate", "100000"],
    );
    let one = strict.get("/datasets/flood.geojson").body.len();
    let n = enough(one);
    // A client that reads at once gets every byte of several pipelined downloads.
    let mut fast = connect(&strict, None);
    let req = "GET /datasets/flood.geojson HTTP/1.1\r\nHost: x\r\n\r\n";
    fast.write_all(
        format!(
            "{}{}",
            req.repeat(2),
            req.replace("\r\n\r\n", "\r\nConnection: close\r\n\r\n")
        )
        .as_bytes(),
    )
    .unwrap();
    let (got, closed) = drain(&mut fast, Duration::from_secs(30));
    assert!(
        closed && got > 3 * one,
        "a fast reader got {got} of {} bytes",
        3 * one
    );
    // One reading 20 KB/s (it never stops, so the stall timeout alone keeps it) is dropped.
    let mut slow = stalled_download(&strict, n);
    let (got, closed) = read_slowly(&mut slow, Duration::from_secs(30));
    assert!(
        closed,
        "a client reading 20 KB/s kept its download for 30 s against a 100 KB/s floor ({got} bytes)"
    );
    assert!(got < n * one, "got all {got} bytes");
    assert_eq!(strict.get("/api/risk?lat=34.61&lon=133.92").status, 200);
    // With the floor off, the same reader keeps its download (only a full stall is dropped).
    let lax = Server::start_with(
        sample_db(),
        &["--write-timeout-secs", "2", "--min-write-rate", "0"],
    );
    let mut slow = stalled_download(&lax, n);
    let (got, closed) = read_slowly(&mut slow, Duration::from_secs(12));
    assert!(
        !closed,
        "with no floor a reader making progress was dropped after {got} bytes"
    );
}

#[test]
fn requests_that_never_finish_their_head_and_idle_connections_are_closed() {
    let s = Server::start_with(sample_db(), &["--header-timeout-secs", "1"]);
    // Half a request head, then nothing (slowloris).
    let mut c = connect(&s, None);
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    let (_, closed) = drain(&mut c, Duration::from_secs(15));
    assert!(
        closed,
        "a request head that never ends keeps its connection"
    );
    // A whole request answered, then an idle keep-alive connection.
    let mut c = connect(&s, None);
    c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .unwrap();
    let (got, closed) = drain(&mut c, Duration::from_secs(15));
    assert!(got > 0, "answered first");
    assert!(closed, "an idle keep-alive connection is kept for ever");
}

#[test]
fn request_bodies_that_stall_do_not_hold_a_handler() {
    let s = Server::start_with(sample_db(), &["--read-timeout-secs", "1"]);
    // Promises 100 bytes, sends one, then nothing.
    let mut c = connect(&s, None);
    c.write_all(
        b"POST /api/3/action/package_search HTTP/1.1\r\nHost: x\r\n\
          Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
    let mut out = Vec::new();
    let r = c.read_to_end(&mut out);
    let text = String::from_utf8_lossy(&out);
    assert!(
        r.is_ok() && text.starts_with("HTTP/1.1 4"),
        "a stalled body was waited for: {r:?} {text}"
    );
    // A whole body is answered as before.
    let body = r#"{"q":"flood"}"#;
    let ok = raw(
        &s,
        &format!(
            "POST /api/3/action/package_search HTTP/1.1\r\nHost: x\r\nContent-Type: \
             application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        ),
    );
    assert!(ok.starts_with("HTTP/1.1 200"), "{ok}");
}
