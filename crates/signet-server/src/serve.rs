//! The connection handling of docs/http-api.md, *Connections*: an accept loop with a cap
//! on open connections, header and idle timeouts per connection, and graceful shutdown.
//!
//! `axum::serve` has neither header nor idle timeouts, so a client that opens
//! connections and sends nothing could hold descriptors until the server ran out. Here
//! every connection is an HTTP/1.1 connection of hyper's own builder.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::time::{Instant, Sleep};
use tower::ServiceExt as _;

use crate::Settings;

/// Serves `router` on `listener` until `shutdown` resolves, then stops accepting,
/// lets the requests in progress finish (for at most the longest a request may take)
/// and returns.
///
/// At most `settings.max_connections` connections are open at once: past the cap, new
/// connections wait in the listener's backlog instead of being accepted and starved.
/// A request's headers must arrive within `settings.header_timeout` of the accept or of
/// the previous response, and a connection on which nothing moves for
/// `settings.idle_timeout` is closed. When accepting fails (out of file descriptors),
/// the loop backs off instead of spinning.
///
/// # Errors
///
/// None today: accept errors are logged and retried. The `Result` leaves room for a
/// listener that can fail for good.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: Settings,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let slots = Arc::new(Semaphore::new(settings.max_connections.max(1)));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(settings.header_timeout)
        .keep_alive(true);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut backoff = Duration::ZERO;
    loop {
        // Take a slot before accepting, so a connection is accepted only when it can
        // be served.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                // The semaphore is never closed.
                Err(_) => break,
            },
            () = shutdown.as_mut() => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = shutdown.as_mut() => break,
        };
        let (stream, peer) = match accepted {
            Ok(a) => {
                backoff = Duration::ZERO;
                a
            }
            Err(e) if is_connection_error(&e) => continue,
            Err(e) => {
                // Out of descriptors or memory: wait for connections to close.
                backoff = (backoff * 2).clamp(Duration::from_millis(10), Duration::from_secs(1));
                tracing::warn!(error = %e, retry_in_ms = backoff.as_millis() as u64, "cannot accept a connection");
                tokio::time::sleep(backoff).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let io = TokioIo::new(Idle::new(stream, settings.idle_timeout));
        let service = hyper::service::service_fn({
            let router = router.clone();
            move |mut request: hyper::Request<Incoming>| {
                request.extensions_mut().insert(ConnectInfo(peer));
                router.clone().oneshot(request.map(axum::body::Body::new))
            }
        });
        let connection = graceful.watch(builder.serve_connection(io, service));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(%peer, error = %e, "connection ended");
            }
            drop(slot);
        });
    }
    drop(listener);
    // Requests in progress have at most their timeouts; then their connections go.
    let grace = settings.request_timeout + settings.body_timeout + settings.header_timeout;
    if tokio::time::timeout(grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open after the grace period");
    }
    Ok(())
}

/// Errors of one connection, not of the listener: accept the next one at once.
fn is_connection_error(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// A TCP stream that fails with `TimedOut` once nothing has been read or written for
/// its idle timeout, which closes the connection: a keep-alive connection that no one
/// uses, or a client that stopped reading its answer.
#[derive(Debug)]
struct Idle<S = TcpStream> {
    stream: S,
    timeout: Duration,
    deadline: Pin<Box<Sleep>>,
}

impl<S> Idle<S> {
    fn new(stream: S, timeout: Duration) -> Idle<S> {
        Idle {
            stream,
            timeout,
            deadline: Box::pin(tokio::time::sleep(timeout)),
        }
    }

    fn moved(&mut self) {
        let next = Instant::now() + self.timeout;
        self.deadline.as_mut().reset(next);
    }

    fn check(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        ready!(self.deadline.as_mut().poll(cx));
        Poll::Ready(io::Error::new(
            io::ErrorKind::TimedOut,
            "the connection was idle too long",
        ))
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.stream).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    this.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.check(cx).map(Err),
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_write(cx, data) {
            Poll::Ready(r) => {
                if r.as_ref().is_ok_and(|n| *n > 0) {
                    this.moved();
                }
                Poll::Ready(r)
            }
            Poll::Pending => this.check(cx).map(Err),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        match Pin::new(&mut this.stream).poll_flush(cx) {
            Poll::Ready(r) => Poll::Ready(r),
            Poll::Pending => this.check(cx).map(Err),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    #[tokio::test]
    async fn a_stalled_peer_times_out_and_an_active_one_does_not() {
        let timeout = Duration::from_millis(200);
        // A peer that never reads: the writes fill the pipe, then time out.
        let (ours, _theirs) = tokio::io::duplex(64);
        let mut idle = Idle::new(ours, timeout);
        let started = std::time::Instant::now();
        let written = idle.write_all(&[0u8; 4096]).await;
        let e = written.err().map(|e| e.kind());
        assert_eq!(e, Some(io::ErrorKind::TimedOut));
        assert!(started.elapsed() >= timeout);
        assert!(started.elapsed() < timeout * 10);

        // A peer that sends a byte every 100 ms keeps the connection open past the
        // timeout.
        let (ours, mut theirs) = tokio::io::duplex(64);
        let mut idle = Idle::new(ours, timeout);
        let sender = tokio::spawn(async move {
            for _ in 0..5 {
                tokio::time::sleep(Duration::from_millis(100)).await;
                theirs.write_all(b"x").await?;
            }
            Ok::<_, io::Error>(theirs)
        });
        let mut got = [0u8; 5];
        idle.read_exact(&mut got)
            .await
            .map_err(|e| e.kind())
            .unwrap_or_else(|k| panic!("{k:?}"));
        assert_eq!(&got, b"xxxxx");
        let _theirs = sender.await;
        // Then nothing moves: the read times out.
        let mut more = [0u8; 1];
        let e = idle.read(&mut more).await.err().map(|e| e.kind());
        assert_eq!(e, Some(io::ErrorKind::TimedOut));
    }
}
