//! The witness's HTTP interface (docs/http-api.md, *The witness*): `POST
//! /add-checkpoint` and the monitoring read `GET /<hex SHA-256 of the origin>/checkpoint`.
//!
//! The body is read with a size limit (a declared `Content-Length` over it is `413`
//! before anything is read) and within the body deadline (`408`); the decision runs on
//! the blocking pool, since it ends in an fsync.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use signet_core::witness::MAX_REQUEST_SIZE;

use crate::Witness;

#[derive(Clone, Debug)]
struct Shared {
    witness: Arc<Witness>,
    body_timeout: Duration,
}

/// The router of a witness; `body_timeout` is how long a request body may take.
pub fn app(witness: Arc<Witness>, body_timeout: Duration) -> Router {
    Router::new()
        .route(
            "/add-checkpoint",
            post(add_checkpoint).fallback(method_not_allowed),
        )
        .route(
            "/{origin}/checkpoint",
            get(checkpoint).fallback(method_not_allowed),
        )
        .fallback(not_found)
        .layer(middleware::from_fn(declared_too_large))
        .with_state(Shared {
            witness,
            body_timeout,
        })
}

fn text(status: StatusCode, content_type: &'static str, body: String) -> Response {
    let mut r = (status, body).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn plain(status: StatusCode, message: impl std::fmt::Display) -> Response {
    text(status, "text/plain; charset=utf-8", format!("{message}\n"))
}

async fn declared_too_large(request: Request, next: Next) -> Response {
    if signet_server::daemon::declared_length(request.headers())
        .is_some_and(|n| n > MAX_REQUEST_SIZE as u64)
    {
        return too_large();
    }
    next.run(request).await
}

fn too_large() -> Response {
    plain(
        StatusCode::PAYLOAD_TOO_LARGE,
        format_args!("an add-checkpoint body is at most {MAX_REQUEST_SIZE} bytes"),
    )
}

async fn add_checkpoint(State(s): State<Shared>, body: Body) -> Response {
    use http_body_util::BodyExt as _;
    let collect = http_body_util::Limited::new(body, MAX_REQUEST_SIZE).collect();
    let bytes = match tokio::time::timeout(s.body_timeout, collect).await {
        Err(_) => {
            return plain(
                StatusCode::REQUEST_TIMEOUT,
                format_args!(
                    "the body did not arrive within {} s",
                    s.body_timeout.as_secs()
                ),
            );
        }
        Ok(Ok(c)) => c.to_bytes(),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => return too_large(),
        Ok(Err(e)) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format_args!("cannot read the body: {e}"),
            );
        }
    };
    let witness = s.witness.clone();
    let answer = match tokio::task::spawn_blocking(move || witness.add_checkpoint(&bytes)).await {
        Ok(a) => a,
        Err(e) => {
            tracing::error!(error = %e, "an add-checkpoint request failed");
            return plain(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the witness failed on a bug",
            );
        }
    };
    let status = StatusCode::from_u16(answer.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if let crate::Answer::Conflict { reason, size } = &answer {
        tracing::info!(size, reason = %reason, "add-checkpoint: 409");
    } else if status != StatusCode::OK {
        tracing::info!(status = status.as_u16(), body = %answer.body().trim_end(), "add-checkpoint refused");
    }
    text(status, answer.content_type(), answer.body())
}

async fn checkpoint(State(s): State<Shared>, Path(origin): Path<String>) -> Response {
    match s.witness.latest(&origin) {
        Some(text_) => {
            let mut r = text(StatusCode::OK, "text/plain; charset=utf-8", text_);
            r.headers_mut().insert(
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            );
            r
        }
        None => plain(
            StatusCode::NOT_FOUND,
            "no checkpoint cosigned for this log (the path is the lowercase hex SHA-256 of its origin)",
        ),
    }
}

async fn not_found() -> Response {
    plain(
        StatusCode::NOT_FOUND,
        "not found: a witness serves POST /add-checkpoint and GET /<hex SHA-256 of an origin>/checkpoint",
    )
}

async fn method_not_allowed() -> Response {
    plain(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
}
