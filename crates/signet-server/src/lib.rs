#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub mod cli;
pub mod daemon;
mod error;
pub mod identity;
mod metrics;
mod moderation;
mod pages;
mod query;
mod routes;
mod serve;
pub mod witnesses;

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use signet_log::Log;
use tower_governor::GovernorLayer;
use tower_governor::governor::GovernorConfigBuilder;
use tower_governor::key_extractor::PeerIpKeyExtractor;

pub use error::{AppError, ErrorCode};
pub use identity::{IdentityChecks, IdentitySettings};
pub use metrics::ServerMetrics;
pub use serve::serve;

/// The limits the server applies to connections and requests (see docs/http-api.md,
/// *Connections*).
#[derive(Debug, Clone)]
pub struct Settings {
    /// Submissions per second allowed to one client IP (with a small burst); 0 is off.
    pub rate_limit: u32,
    /// The longest a request may take before it is answered `503`.
    pub request_timeout: Duration,
    /// Read requests (checkpoint, tiles, proofs, pages) handled at once; more wait
    /// their turn.
    pub concurrency: usize,
    /// Submissions handled at once, in a budget of their own so that slow or numerous
    /// submissions never starve the reads; more wait their turn.
    pub submit_concurrency: usize,
    /// Connections open at once; more wait in the listener's backlog.
    pub max_connections: usize,
    /// How long a request's headers may take to arrive, from the connection's accept
    /// or the previous response.
    pub header_timeout: Duration,
    /// How long a request's body may take to arrive after its headers (`408`).
    pub body_timeout: Duration,
    /// A connection on which nothing is read or written for this long is closed.
    pub idle_timeout: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            rate_limit: 20,
            request_timeout: Duration::from_secs(30),
            concurrency: 1024,
            submit_concurrency: 256,
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

type Clock = dyn Fn() -> u64 + Send + Sync;

/// Everything the handlers share.
#[derive(Clone)]
pub struct AppState {
    log: Arc<Log>,
    metrics: Arc<ServerMetrics>,
    settings: Settings,
    clock: Arc<Clock>,
    identity: IdentityChecks,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("origin", &self.log.origin())
            .field("settings", &self.settings)
            .finish()
    }
}

impl AppState {
    /// The state of a server over `log`, reading the system clock.
    pub fn new(log: Arc<Log>, settings: Settings) -> AppState {
        AppState {
            log,
            metrics: Arc::new(ServerMetrics::default()),
            settings,
            clock: Arc::new(|| {
                SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs())
            }),
            identity: IdentityChecks::off(),
        }
    }

    /// Checks the identity claims of new endorsements with `checks` (off by default).
    pub fn with_identity(mut self, checks: IdentityChecks) -> AppState {
        self.identity = checks;
        self
    }

    /// Replaces the clock (seconds since the Unix epoch) that submissions are checked
    /// against; for tests.
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> AppState {
        self.clock = Arc::new(clock);
        self
    }

    /// The log.
    pub fn log(&self) -> &Log {
        &self.log
    }

    fn log_arc(&self) -> Arc<Log> {
        self.log.clone()
    }

    fn metrics(&self) -> &ServerMetrics {
        &self.metrics
    }

    fn now(&self) -> u64 {
        (self.clock)()
    }
}

/// The whole HTTP API of docs/http-api.md.
///
/// The rate limit keys on the peer address: [`serve`] provides it (as
/// `ConnectInfo<SocketAddr>`), and so does `into_make_service_with_connect_info`.
pub fn app(state: AppState) -> Router {
    // Submissions have a concurrency budget of their own, apart from the reads'.
    let mut submit = Router::new()
        .route(
            "/v1/endorsements",
            post(routes::submit).fallback(routes::method_not_allowed),
        )
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            state.settings.submit_concurrency.max(1),
        ));
    if state.settings.rate_limit > 0 {
        let per_second = u64::from(state.settings.rate_limit);
        let mut builder = GovernorConfigBuilder::default().key_extractor(PeerIpKeyExtractor);
        builder.per_nanosecond((1_000_000_000 / per_second).max(1));
        builder.burst_size(state.settings.rate_limit.saturating_mul(2).max(4));
        if let Some(config) = builder.finish() {
            let config = Arc::new(config);
            let limiter = config.limiter().clone();
            // Forget idle clients now and then, so the limiter's memory stays bounded.
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    let mut tick = tokio::time::interval(Duration::from_secs(60));
                    loop {
                        tick.tick().await;
                        limiter.retain_recent();
                    }
                });
            }
            let metrics = state.metrics.clone();
            submit = submit.layer(GovernorLayer::new(config).error_handler(move |e| {
                use tower_governor::GovernorError as G;
                match e {
                    G::TooManyRequests { wait_time, .. } => {
                        metrics.record_error("rate_limited");
                        AppError::new(
                            axum::http::StatusCode::TOO_MANY_REQUESTS,
                            "rate_limited",
                            "too many submissions from this address; retry later",
                        )
                        .retry_after(wait_time)
                        .into_response()
                    }
                    G::UnableToExtractKey => {
                        AppError::internal("rate limit: no peer address").into_response()
                    }
                    G::Other { msg, .. } => {
                        AppError::internal(format!("rate limit: {msg:?}")).into_response()
                    }
                }
            }));
        }
    }

    let reads = Router::new()
        .route("/checkpoint", get(routes::checkpoint))
        .route("/tile/{*path}", get(routes::tile))
        .route("/v1/log", get(routes::log_info))
        .route("/v1/letters/{key}", get(routes::letter))
        .route("/v1/entries/{index}", get(routes::entry))
        .route("/v1/proof/inclusion", get(routes::inclusion))
        .route("/v1/proof/consistency", get(routes::consistency))
        .route("/v1/proof/{index}", get(routes::proof))
        .route("/v1/signatories", get(routes::signatories))
        .route("/healthz", get(routes::healthz))
        .route("/metrics", get(routes::metrics))
        .merge(pages::router())
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            state.settings.concurrency.max(1),
        ));

    Router::new()
        .merge(reads)
        .merge(submit.layer(middleware::from_fn(declared_too_large)))
        .fallback(routes::not_found)
        .layer(middleware::from_fn(cors_reads))
        .layer(middleware::from_fn_with_state(state.clone(), observe))
        .with_state(state)
}

/// `413` at once for a declared `Content-Length` over the entry limit, before any of
/// the body is read and before the request waits for a place in the submission budget.
async fn declared_too_large(request: Request, next: Next) -> Response {
    if daemon::declared_length(request.headers())
        .is_some_and(|n| n > signet_core::MAX_ENTRY_SIZE as u64)
    {
        return AppError::too_large().into_response();
    }
    next.run(request).await
}

/// `Access-Control-Allow-Origin: *` on every read, whether or not the request carried
/// an `Origin`: the whole log is public.
async fn cors_reads(request: Request, next: Next) -> Response {
    let read = matches!(*request.method(), Method::GET | Method::HEAD);
    let mut response = next.run(request).await;
    if read {
        response.headers_mut().insert(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
    }
    response
}

/// The request timeout, request logs and request metrics.
async fn observe(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().clone();
    let response =
        match tokio::time::timeout(state.settings.request_timeout, next.run(request)).await {
            Ok(r) => r,
            Err(_) => AppError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                "the request took too long",
            )
            .retry_after(1)
            .into_response(),
        };
    let elapsed = started.elapsed();
    let code = response.extensions().get::<ErrorCode>().map(|c| c.0);
    state.metrics.record(
        &route,
        response.status().as_u16(),
        elapsed.as_secs_f64(),
        code,
    );
    tracing::debug!(%method, route, status = response.status().as_u16(), micros = elapsed.as_micros() as u64, "request");
    response
}
