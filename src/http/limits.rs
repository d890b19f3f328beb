//! What one client can hold: per-connection timeouts, and how many requests of each expensive
//! route may run at once (beyond that: 503 with `Retry-After`, at once, instead of a queue that
//! slows every other route).
//!
//! Why: a client that stops reading a large download used to keep its connection, its blocking
//! producer thread and its buffers for ever; 1,100 of them filled the blocking pools and made
//! `/api/risk` take a second instead of milliseconds. Now a response write that makes no
//! progress for [`Limits::write_timeout`], or a client that takes the response slower than
//! [`Limits::min_write_rate`], drops the connection (and with it the producer), a
//! request head must arrive within [`Limits::header_timeout`] (which also ends idle keep-alive
//! connections), and each expensive route has its own cap.

use axum::http::{HeaderValue, Method};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The smallest request-head buffer hyper accepts.
const MIN_HEADER_BYTES: usize = 8192;

/// Timeouts and caps (`machimap serve` flags; see README, "Limits").
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request head (request line and headers) must arrive within this, counted from when
    /// the server starts waiting for it, so it also closes idle keep-alive connections.
    pub header_timeout: Duration,
    /// Largest request head (request line and headers) in bytes; a longer one is answered
    /// 431 and the connection closed, so a client cannot make the server buffer much for a
    /// request it has not finished (hyper's own ceiling is about 400 KiB). At least 8 KiB.
    pub max_header_bytes: usize,
    /// A response write that makes no progress for this long (the client stopped reading)
    /// drops the connection; also the window over which [`Limits::min_write_rate`] is judged.
    pub write_timeout: Duration,
    /// Bytes a second a client must take while the server waits to send it more, judged over
    /// each [`Limits::write_timeout`] of waiting; slower drops the connection. 0: no floor.
    pub min_write_rate: u64,
    /// A request body that sends nothing for this long fails (the handler answers 400 and the
    /// connection closes): uploads that stall do not hold a handler for ever.
    pub read_timeout: Duration,
    /// Whole-dataset downloads streaming at once (each holds a producer thread).
    pub downloads: usize,
    /// OGC API items requests at once.
    pub items: usize,
    /// `/api/search` and `/api/geocode` requests at once (one shared cap).
    pub search: usize,
    /// Catalog requests at once (HTML, DCAT, CKAN API).
    pub catalog: usize,
    /// `/api/risk` requests at once.
    pub risk: usize,
    /// Subscribers of `/api/shelter-status/events` (server-sent events) at once.
    pub events: usize,
    /// `Retry-After` of a 503 for a route at its cap, in seconds.
    pub retry_after_secs: u32,
    /// Connections open at once in all; beyond it a new one is answered 503 and closed. Also
    /// held under the process's file-descriptor limit (see [`Connections::new`]).
    pub max_connections: usize,
    /// Connections open at once from one client address (IPv6: one /64); beyond it its new
    /// ones are answered 503 and closed, so one client cannot hold every socket. 0: no cap.
    /// Trusted proxies are not capped (every client behind them shares their address).
    pub max_connections_per_client: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            max_header_bytes: 32 << 10,
            max_connections: 10_000,
            max_connections_per_client: 256,
            write_timeout: Duration::from_secs(30),
            min_write_rate: 500,
            read_timeout: Duration::from_secs(30),
            downloads: 32,
            items: 64,
            search: 64,
            catalog: 16,
            risk: 256,
            events: 1000,
            retry_after_secs: 5,
        }
    }
}

/// A cap that costly routes share; each route names its class in its table (`route::Route::class`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// `/datasets/{file}`
    Downloads,
    /// `/ogc/collections/{id}/items`
    Items,
    /// `/api/search`, `/api/geocode`
    Search,
    /// `/catalog`, `/catalog.jsonld`, the CKAN action API
    Catalog,
    /// `/api/risk`
    Risk,
    /// `/api/shelter-status/events`
    Events,
}

impl Class {
    const ALL: [Class; 6] = [
        Class::Downloads,
        Class::Items,
        Class::Search,
        Class::Catalog,
        Class::Risk,
        Class::Events,
    ];

    /// The name in metrics.
    pub fn name(self) -> &'static str {
        match self {
            Class::Downloads => "downloads",
            Class::Items => "items",
            Class::Search => "search",
            Class::Catalog => "catalog",
            Class::Risk => "risk",
            Class::Events => "events",
        }
    }

    /// True when the response body is streamed for long: the cap then holds until the body
    /// ends, not only until the handler returns.
    pub fn streams(self) -> bool {
        matches!(self, Class::Downloads | Class::Items | Class::Events)
    }

    fn cap(self, l: &Limits) -> usize {
        match self {
            Class::Downloads => l.downloads,
            Class::Items => l.items,
            Class::Search => l.search,
            Class::Catalog => l.catalog,
            Class::Risk => l.risk,
            Class::Events => l.events,
        }
    }
}

/// The caps of every [`Class`].
#[derive(Debug)]
pub struct RouteLimits {
    sems: Vec<(Class, usize, Arc<Semaphore>)>,
    retry_after: HeaderValue,
}

impl RouteLimits {
    /// Caps from `l`.
    pub fn new(l: &Limits) -> RouteLimits {
        RouteLimits {
            sems: Class::ALL
                .iter()
                .map(|&c| (c, c.cap(l), Arc::new(Semaphore::new(c.cap(l)))))
                .collect(),
            retry_after: HeaderValue::from(l.retry_after_secs),
        }
    }

    fn sem(&self, c: Class) -> Option<&Arc<Semaphore>> {
        self.sems
            .iter()
            .find(|(k, _, _)| *k == c)
            .map(|(_, _, s)| s)
    }

    /// A turn of `c`, or `None` when it is at its cap.
    pub fn try_acquire(&self, c: Class) -> Option<OwnedSemaphorePermit> {
        self.sem(c)?.clone().try_acquire_owned().ok()
    }

    /// Requests of each class under way: (class, running, cap).
    pub fn in_flight(&self) -> Vec<(Class, usize, usize)> {
        self.sems
            .iter()
            .map(|(c, cap, s)| (*c, cap.saturating_sub(s.available_permits()), *cap))
            .collect()
    }

    /// Answer `req` with `run` within the cap of its class (none for other routes): 503 with
    /// `Retry-After` when the class is full. For streamed classes the turn is held until the
    /// body ends or the client is gone.
    pub async fn run<F, Fut>(&self, class: Option<Class>, method: &Method, run: F) -> Response
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Response>,
    {
        let class = match class {
            Some(c) if method != Method::OPTIONS => c,
            _ => return run().await,
        };
        let Some(permit) = self.try_acquire(class) else {
            let mut r = super::ApiError::Busy(format!(
                "混み合っています。しばらくしてからもう一度お試しください / Too many {} \
                 requests at once; try again in a few seconds",
                class.name()
            ))
            .into_response();
            r.headers_mut()
                .insert(axum::http::header::RETRY_AFTER, self.retry_after.clone());
            return r;
        };
        let resp = run().await;
        if !class.streams() {
            return resp;
        }
        use http_body_util::BodyExt as _;
        resp.map(|b| {
            axum::body::Body::new(b.map_frame(move |f| {
                let _turn = &permit;
                f
            }))
        })
    }
}

/// A connection whose writes time out: a write that stays pending (the client is not reading)
/// for `timeout` fails, and so does a connection whose client reads slower than `min_rate`
/// bytes a second; either ends the connection and drops the response body (and so stops its
/// producer). Reads pass through; the head timeout of hyper covers them.
///
/// The rate is judged over time spent *waiting for the client* only (writes pending), never
/// over time the server had nothing to send (idle keep-alive, a slow producer, server-sent
/// events between events): each window is `timeout` of such waiting, and the bytes the client
/// took during it (counting those written between waits too, which can only favour it) must
/// reach `min_rate × window`. A window that passes starts the next.
pub struct StallTimeout<T> {
    inner: T,
    timeout: Duration,
    /// Bytes a second; 0 turns the floor off (then only a full stall is dropped).
    min_rate: u64,
    /// Allocated at the first wait of the connection only.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// What `sleep` is set to.
    deadline: Option<tokio::time::Instant>,
    /// Since when a write has been pending (`None`: the last write went through).
    blocked_since: Option<tokio::time::Instant>,
    /// Since when the current wait counts towards the current window (`blocked_since`, or
    /// later when a window ended during the wait).
    counted_since: Option<tokio::time::Instant>,
    /// Waiting in the current window before `counted_since`.
    window_waited: Duration,
    /// Bytes written in the current window.
    window_bytes: u64,
}

/// A connection that can be cut off at once: a client dropped for stalling or reading too
/// slowly would otherwise still be sent what the kernel holds for it (megabytes on a fast
/// link, minutes at its pace), keeping that memory and the socket.
pub trait Abort {
    /// Make the coming close discard unsent data and reset the connection.
    fn abort(&self);
}

impl Abort for tokio::net::TcpStream {
    fn abort(&self) {
        // SO_LINGER 0: close() sends RST and frees the send queue.
        let _ = socket2::SockRef::from(self).set_linger(Some(Duration::ZERO));
    }
}

#[cfg(test)]
impl Abort for tokio::io::DuplexStream {
    fn abort(&self) {}
}

impl<T: Abort> StallTimeout<T> {
    /// `inner` with writes timing out after `timeout` without progress, and (when `min_rate`
    /// is above 0) with a client dropped that takes fewer than `min_rate` bytes a second while
    /// the server waits for it.
    pub fn new(inner: T, timeout: Duration, min_rate: u64) -> StallTimeout<T> {
        StallTimeout {
            inner,
            timeout,
            min_rate,
            sleep: None,
            deadline: None,
            blocked_since: None,
            counted_since: None,
            window_waited: Duration::ZERO,
            window_bytes: 0,
        }
    }

    /// The bytes a window of `waited` must have carried.
    fn floor(&self, waited: Duration) -> f64 {
        self.min_rate as f64 * waited.as_secs_f64()
    }

    /// Account for the result `r` of a write (`bytes` of it went out when it is ready), and
    /// turn a wait that lasts too long or goes too slowly into an error.
    fn on_write<R>(
        &mut self,
        cx: &mut Context<'_>,
        r: Poll<io::Result<R>>,
        bytes: impl FnOnce(&R) -> usize,
    ) -> Poll<io::Result<R>> {
        let mut now = tokio::time::Instant::now();
        if let Poll::Ready(res) = &r {
            self.blocked_since = None;
            if let Some(since) = self.counted_since.take() {
                self.window_waited += now - since;
            }
            if let Ok(v) = res {
                self.window_bytes = self.window_bytes.saturating_add(bytes(v) as u64);
            }
            // A window that is over and was fast enough starts the next; one too slow is
            // judged at the next wait (this write did go out).
            if self.window_waited >= self.timeout
                && self.window_bytes as f64 >= self.floor(self.window_waited)
            {
                self.window_waited = Duration::ZERO;
                self.window_bytes = 0;
            }
            return r;
        }
        loop {
            let since = *self.blocked_since.get_or_insert(now);
            let counted = *self.counted_since.get_or_insert(now);
            let waited = self.window_waited + (now - counted);
            if self.min_rate > 0 && waited >= self.timeout {
                if (self.window_bytes as f64) < self.floor(waited) {
                    self.inner.abort();
                    return Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "the client reads the response slower than the minimum rate",
                    )));
                }
                // Fast enough: a new window from now, still waiting.
                self.window_waited = Duration::ZERO;
                self.window_bytes = 0;
                self.counted_since = Some(now);
                continue;
            }
            if now - since >= self.timeout {
                self.inner.abort();
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the client stopped reading the response",
                )));
            }
            let mut deadline = since + self.timeout;
            if self.min_rate > 0 {
                deadline = deadline.min(now + (self.timeout - waited));
            }
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
            if self.deadline != Some(deadline) {
                sleep.as_mut().reset(deadline);
                self.deadline = Some(deadline);
            }
            match sleep.as_mut().poll(cx) {
                Poll::Ready(()) => now = tokio::time::Instant::now(),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for StallTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin + Abort> AsyncWrite for StallTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.on_write(cx, r, |n| *n)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.on_write(cx, r, |n| *n)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.on_write(cx, r, |_| 0)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.on_write(cx, r, |_| 0)
    }
}

/// A request body whose frames must each arrive within `timeout` of asking.
pub struct ReadTimeout<B> {
    inner: B,
    timeout: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
}

impl<B> ReadTimeout<B> {
    /// `inner`, failing when it stalls for `timeout`.
    pub fn new(inner: B, timeout: Duration) -> ReadTimeout<B> {
        ReadTimeout {
            inner,
            timeout,
            sleep: None,
            armed: false,
        }
    }
}

impl<B> http_body::Body for ReadTimeout<B>
where
    B: http_body::Body + Unpin,
    B::Error: Into<axum::BoxError>,
{
    type Data = B::Data;
    type Error = axum::BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<B::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Poll::Ready(r) = Pin::new(&mut this.inner).poll_frame(cx) {
            this.armed = false;
            return Poll::Ready(r.map(|f| f.map_err(Into::into)));
        }
        let deadline = tokio::time::Instant::now() + this.timeout;
        let sleep = this
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !this.armed {
            sleep.as_mut().reset(deadline);
            this.armed = true;
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Some(Err(
                "the client stopped sending the request body".into(),
            ))),
            Poll::Pending => Poll::Pending,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Errors of `accept` that concern one connection, not the listener.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Bytes a connection may hold unsent in the kernel before its writer waits
/// (`TCP_NOTSENT_LOWAT`). Without it the kernel buffers up to megabytes per connection and
/// wakes the writer only when a third of that has gone, so a client reading slowly but
/// steadily looks stalled for minutes and a dropped one is still sent it all; with it the
/// writer sees the client's pace every few kilobytes (the write timeout and the minimum rate
/// judge that pace) and a slow reader holds little kernel memory.
const NOTSENT_LOWAT: u32 = 16 << 10;

#[cfg(target_os = "linux")]
#[allow(
    unsafe_code,
    reason = "no safe wrapper sets TCP_NOTSENT_LOWAT (tokio, socket2); one setsockopt call"
)]
fn set_notsent_lowat(s: &tokio::net::TcpStream, bytes: u32) {
    use std::os::fd::AsRawFd;
    let v = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    // SAFETY: the descriptor is the stream's own, open for the whole call; the value is a
    // c_int read by the kernel during the call only, and its size is given.
    let r = unsafe {
        libc::setsockopt(
            s.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_NOTSENT_LOWAT,
            std::ptr::from_ref(&v).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r != 0 {
        tracing::debug!("TCP_NOTSENT_LOWAT: {}", io::Error::last_os_error());
    }
}

#[cfg(not(target_os = "linux"))]
fn set_notsent_lowat(_: &tokio::net::TcpStream, _: u32) {}

/// Descriptors kept free of connections for the database, layer files and logs.
const FD_RESERVE: u64 = 512;

/// The connections open in all and per client address, shared by the accept loops of every
/// runtime, so that neither one client nor a crowd can take every socket (and with them the
/// file descriptors the server needs to answer anyone).
#[derive(Debug)]
pub struct Connections {
    max: usize,
    per_client: usize,
    exempt: Vec<std::net::IpAddr>,
    open: std::sync::Mutex<(usize, std::collections::HashMap<std::net::IpAddr, usize>)>,
}

/// One admitted connection; its slot is given back when dropped.
#[derive(Debug)]
pub struct Slot {
    gate: Arc<Connections>,
    key: Option<std::net::IpAddr>,
}

impl Connections {
    /// Caps from `l`, the total also kept `FD_RESERVE` below the descriptor limit `fd_limit`
    /// (when known); clients at `exempt` (trusted proxies) have no cap of their own.
    pub fn new(l: &Limits, fd_limit: Option<u64>, exempt: Vec<std::net::IpAddr>) -> Arc<Self> {
        let by_fds = fd_limit
            .map(|n| usize::try_from(n.saturating_sub(FD_RESERVE).max(64)).unwrap_or(usize::MAX))
            .unwrap_or(usize::MAX);
        Arc::new(Connections {
            max: l.max_connections.min(by_fds),
            per_client: l.max_connections_per_client,
            exempt,
            open: std::sync::Mutex::new((0, std::collections::HashMap::new())),
        })
    }

    /// The cap in all, after the descriptor limit.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.lock().unwrap_or_else(|e| e.into_inner()).0
    }

    /// A slot for a connection from `peer`, or `None` when it would pass a cap.
    pub fn admit(self: &Arc<Self>, peer: std::net::IpAddr) -> Option<Slot> {
        let key = (self.per_client > 0 && !self.exempt.contains(&peer))
            .then(|| crate::admin::accounts::rate_key(peer));
        let mut g = self.open.lock().unwrap_or_else(|e| e.into_inner());
        if g.0 >= self.max {
            return None;
        }
        if let Some(k) = key {
            let n = g.1.entry(k).or_insert(0);
            if *n >= self.per_client {
                return None;
            }
            *n += 1;
        }
        g.0 += 1;
        Some(Slot {
            gate: self.clone(),
            key,
        })
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut g = self.gate.open.lock().unwrap_or_else(|e| e.into_inner());
        g.0 = g.0.saturating_sub(1);
        if let Some(k) = self.key {
            if let Some(n) = g.1.get_mut(&k) {
                *n -= 1;
                if *n == 0 {
                    g.1.remove(&k);
                }
            }
        }
    }
}

/// What a connection over a cap is told before it is closed (it has not been read: a client
/// that already sent its request may see the connection reset instead).
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nRetry-After: 5\r\n\
Content-Type: application/json\r\nX-Content-Type-Options: nosniff\r\nConnection: close\r\n\
Content-Length: 65\r\n\r\n{\"ok\":false,\"code\":\"busy\",\"error\":\"too many connections at once\"}";

/// Accept connections from `listener` and serve each with `service` under `limits`, until
/// `stopped` turns true; then let the open connections finish and return.
pub async fn serve<S>(
    listener: tokio::net::TcpListener,
    service: S,
    limits: &Limits,
    connections: Arc<Connections>,
    mut stopped: tokio::sync::watch::Receiver<bool>,
) where
    S: tower_service::Service<
            axum::extract::Request,
            Response = Response,
            Error = std::convert::Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(hyper_util::rt::TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_header_bytes.max(MIN_HEADER_BYTES))
        .keep_alive(true);
    let (write_timeout, read_timeout) = (limits.write_timeout, limits.read_timeout);
    let min_write_rate = limits.min_write_rate;
    // Every connection holds a receiver; when all are gone, every connection has ended.
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            _ = stopped.wait_for(|s| *s) => break,
        };
        let Some(slot) = connections.admit(peer.ip()) else {
            let _ = stream.try_write(TOO_MANY);
            continue;
        };
        // Each write is a whole response (headers and body in one writev), so Nagle's wait
        // for an ACK only delays the last short segment of a large one.
        let _ = stream.set_nodelay(true);
        set_notsent_lowat(&stream, NOTSENT_LOWAT);
        let io =
            hyper_util::rt::TokioIo::new(StallTimeout::new(stream, write_timeout, min_write_rate));
        let service = service.clone();
        let hyper_service =
            hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                let mut s = service.clone();
                let mut req = req.map(|b| axum::body::Body::new(ReadTimeout::new(b, read_timeout)));
                // The peer address goes with each request (the staff sign-in limits).
                req.extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
                tower_service::Service::call(&mut s, req)
            });
        let conn = builder.serve_connection(io, hyper_service);
        let (mut stopped, open) = (stopped.clone(), open_rx.clone());
        tokio::spawn(async move {
            let mut conn = std::pin::pin!(conn);
            let stop = async move {
                let _ = stopped.wait_for(|s| *s).await;
            };
            tokio::select! {
                _ = conn.as_mut() => {}
                () = stop => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
            drop(open);
            drop(slot);
        });
    }
    drop(open_rx);
    open_tx.closed().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::time::Instant;

    #[test]
    fn connections_are_capped_per_client_and_in_all_and_given_back() {
        use std::net::IpAddr;
        let l = Limits {
            max_connections: 5,
            max_connections_per_client: 2,
            ..Limits::default()
        };
        let proxy: IpAddr = "10.0.0.9".parse().unwrap();
        let c = Connections::new(&l, None, vec![proxy]);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let (a1, a2) = (c.admit(a).unwrap(), c.admit(a).unwrap());
        assert!(c.admit(a).is_none(), "a third from one client");
        // One IPv6 /64 is one client; another /64 is another.
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        let b1 = c.admit(v6("2001:db8:1:2::1")).unwrap();
        let _b2 = c.admit(v6("2001:db8:1:2::ffff")).unwrap();
        assert!(c.admit(v6("2001:db8:1:2:abcd::1")).is_none());
        // A trusted proxy has no cap of its own, only the total's.
        let p1 = c.admit(proxy).unwrap();
        assert_eq!(c.open(), 5);
        assert!(
            c.admit(v6("2001:db8:9::1")).is_none(),
            "the total is reached"
        );
        drop((a1, b1, p1));
        assert_eq!(c.open(), 2);
        let _a3 = c.admit(a).unwrap();
        assert!(c.admit(a).is_none());
        drop(a2);
        assert!(c.admit(a).is_some());
        // The total stays under the descriptor limit.
        let c = Connections::new(&Limits::default(), Some(1024), vec![]);
        assert_eq!(c.max(), 1024 - FD_RESERVE as usize);
    }

    #[test]
    fn the_refusal_is_a_whole_response() {
        let text = std::str::from_utf8(TOO_MANY).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(head.starts_with("HTTP/1.1 503 "));
        assert!(head.contains(&format!("\r\nContent-Length: {}", body.len())));
        let v: serde_json::Value = serde_json::from_str(body).unwrap();
        assert_eq!(v["code"], "busy");
    }

    /// Writes `total` bytes through a [`StallTimeout`] into a pipe of `pipe` bytes whose other
    /// end `reader` drains; the write's result and how long it took (paused time, so exact
    /// and instant).
    async fn send<F, Fut>(
        total: usize,
        timeout: Duration,
        min_rate: u64,
        reader: F,
    ) -> (io::Result<()>, Duration)
    where
        F: FnOnce(tokio::io::DuplexStream) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let (near, far) = tokio::io::duplex(1024);
        let reading = tokio::spawn(reader(far));
        let mut w = StallTimeout::new(near, timeout, min_rate);
        let start = Instant::now();
        let data = vec![b'x'; total];
        let r = w.write_all(&data).await;
        let took = start.elapsed();
        drop(w);
        reading.abort();
        (r, took)
    }

    /// A reader taking `chunk` bytes every 100 ms, for ever.
    fn paced(
        chunk: usize,
    ) -> impl FnOnce(tokio::io::DuplexStream) -> Pin<Box<dyn Future<Output = ()> + Send>> {
        move |mut far| {
            Box::pin(async move {
                let mut buf = vec![0u8; chunk];
                loop {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    if far.read(&mut buf).await.unwrap_or(0) == 0 {
                        return;
                    }
                }
            })
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_slower_than_the_floor_is_dropped_within_two_windows() {
        // 1,000 bytes a second against a floor of 5,000.
        let (r, took) = send(1 << 20, Duration::from_secs(2), 5000, paced(100)).await;
        let e = r.expect_err("a slow reader kept its download");
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        assert!(e.to_string().contains("minimum rate"), "{e}");
        assert!(
            took <= Duration::from_secs(5),
            "dropped only after {took:?}"
        );
        // Without a floor the same reader is served to the end (it never stalls).
        let (r, _) = send(20_000, Duration::from_secs(2), 0, paced(100)).await;
        assert!(r.is_ok(), "{r:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_above_the_floor_gets_everything() {
        // 20,000 bytes a second against a floor of 5,000, for 20 windows.
        let (r, took) = send(800_000, Duration::from_secs(2), 5000, paced(2000)).await;
        assert!(r.is_ok(), "{r:?}");
        assert!(took >= Duration::from_secs(39), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn time_the_server_has_nothing_to_send_does_not_count() {
        // The client reads at once whatever comes; the server sends 100 bytes every 10 s (a
        // keep-alive connection between requests, server-sent events): 10 bytes a second on
        // the clock, far below the floor, but the server never waits for the client.
        let (near, mut far) = tokio::io::duplex(1024);
        let reading = tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            while far.read(&mut buf).await.unwrap_or(0) > 0 {}
        });
        let mut w = StallTimeout::new(near, Duration::from_secs(2), 5000);
        for _ in 0..20 {
            w.write_all(&[b'x'; 100])
                .await
                .expect("an idle connection was dropped");
            tokio::time::sleep(Duration::from_secs(10)).await;
        }
        drop(w);
        reading.await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_reader_that_stops_is_dropped_after_the_timeout_whatever_it_took_before() {
        let stops = |mut far: tokio::io::DuplexStream| async move {
            // 100 KB at once, then nothing.
            let mut buf = vec![0u8; 1024];
            let mut got = 0;
            while got < 100_000 {
                got += far.read(&mut buf).await.unwrap_or(0);
            }
            std::future::pending::<()>().await;
        };
        for floor in [0, 5000] {
            let (r, took) = send(1 << 20, Duration::from_secs(2), floor, stops).await;
            let e = r.expect_err("a reader that stopped kept its download");
            assert_eq!(e.kind(), io::ErrorKind::TimedOut);
            assert!(
                took >= Duration::from_secs(2) && took <= Duration::from_millis(2100),
                "floor {floor}: dropped after {took:?}"
            );
        }
    }
}
