//! What one client can hold: per-connection timeouts, and how many requests of each expensive
//! route may run at once (beyond that: 503 with `Retry-After`, at once, instead of a queue that
//! slows every other route).
//!
//! Why: a client that stops reading a large download used to keep its connection, its blocking
//! producer thread and its buffers for ever; 1,100 of them filled the blocking pools and made
//! `/api/risk` take a second instead of milliseconds. Now a response write that makes no
//! progress for [`Limits::write_timeout`] drops the connection (and with it the producer), a
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

/// Timeouts and caps (`machimap serve` flags; see README, "Limits").
#[derive(Debug, Clone)]
pub struct Limits {
    /// A request head (request line and headers) must arrive within this, counted from when
    /// the server starts waiting for it, so it also closes idle keep-alive connections.
    pub header_timeout: Duration,
    /// A response write that makes no progress for this long (the client stopped reading, or
    /// reads slower than about a third of a socket buffer per this time) drops the connection.
    pub write_timeout: Duration,
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
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
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

/// A route with a cap of its own.
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

    /// The class of a matched route, if it has a cap.
    pub fn of(route: &str) -> Option<Class> {
        Some(match route {
            "/datasets/{file}" => Class::Downloads,
            "/ogc/collections/{id}/items" => Class::Items,
            "/api/search" | "/api/geocode" => Class::Search,
            "/catalog" | "/catalog.jsonld" | "/api/3/action/{action}" | "/api/action/{action}" => {
                Class::Catalog
            }
            "/api/risk" => Class::Risk,
            "/api/shelter-status/events" => Class::Events,
            _ => return None,
        })
    }

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
    pub async fn run<F, Fut>(&self, route: Option<&str>, method: &Method, run: F) -> Response
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Response>,
    {
        let class = match route.and_then(Class::of) {
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
/// for `timeout` fails, which ends the connection and drops the response body (and so stops
/// its producer). Reads pass through; the head timeout of hyper covers them.
pub struct StallTimeout<T> {
    inner: T,
    timeout: Duration,
    /// Armed while writes are pending; allocated at the first stall of the connection only.
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    armed: bool,
}

impl<T> StallTimeout<T> {
    /// `inner` with writes timing out after `timeout` without progress.
    pub fn new(inner: T, timeout: Duration) -> StallTimeout<T> {
        StallTimeout {
            inner,
            timeout,
            sleep: None,
            armed: false,
        }
    }

    fn on_write<R>(&mut self, cx: &mut Context<'_>, r: Poll<io::Result<R>>) -> Poll<io::Result<R>> {
        if r.is_ready() {
            self.armed = false;
            return r;
        }
        let deadline = tokio::time::Instant::now() + self.timeout;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
        if !self.armed {
            sleep.as_mut().reset(deadline);
            self.armed = true;
        }
        match sleep.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client stopped reading the response",
            ))),
            Poll::Pending => Poll::Pending,
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

impl<T: AsyncWrite + Unpin> AsyncWrite for StallTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write(cx, buf);
        this.on_write(cx, r)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        this.on_write(cx, r)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_flush(cx);
        this.on_write(cx, r)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.inner).poll_shutdown(cx);
        this.on_write(cx, r)
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

/// Accept connections from `listener` and serve each with `service` under `limits`, until
/// `stopped` turns true; then let the open connections finish and return.
pub async fn serve<S>(
    listener: tokio::net::TcpListener,
    service: S,
    limits: &Limits,
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
        .keep_alive(true);
    let (write_timeout, read_timeout) = (limits.write_timeout, limits.read_timeout);
    // Every connection holds a receiver; when all are gone, every connection has ended.
    let (open_tx, open_rx) = tokio::sync::watch::channel(());
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) if is_connection_error(&e) => continue,
                Err(e) => {
                    // Out of file descriptors and the like: wait rather than spin.
                    eprintln!("machimap: accept: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                }
            },
            _ = stopped.wait_for(|s| *s) => break,
        };
        // Each write is a whole response (headers and body in one writev), so Nagle's wait
        // for an ACK only delays the last short segment of a large one.
        let _ = stream.set_nodelay(true);
        let io = hyper_util::rt::TokioIo::new(StallTimeout::new(stream, write_timeout));
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
        });
    }
    drop(open_rx);
    open_tx.closed().await;
}
