//! The one error type of the HTTP API: every failure becomes
//! `{"error": "<code>", "message": "<text>"}` plus, for a conflict, the active entry.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use signet_core::ErrorClass;

/// The error code of a response, for the rejection metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// An HTTP error answer.
#[derive(Debug)]
pub struct AppError {
    status: StatusCode,
    code: &'static str,
    message: String,
    extra: Map<String, Value>,
    retry_after: Option<u64>,
    close: bool,
}

impl AppError {
    /// An error with a status, a stable code and a message for people.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> AppError {
        AppError {
            status,
            code,
            message: message.into(),
            extra: Map::new(),
            retry_after: None,
            close: false,
        }
    }

    /// The message for people.
    pub(crate) fn message(&self) -> &str {
        &self.message
    }

    /// `400 bad_request`.
    pub fn bad_request(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::BAD_REQUEST, "bad_request", message)
    }

    /// `404 not_found`.
    pub fn not_found(message: impl Into<String>) -> AppError {
        AppError::new(StatusCode::NOT_FOUND, "not_found", message)
    }

    /// `413 too_large`.
    pub fn too_large() -> AppError {
        AppError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too_large",
            format!("an entry is at most {} bytes", signet_core::MAX_ENTRY_SIZE),
        )
    }

    /// `408 body_timeout`: the body did not arrive in time after the headers. The
    /// connection is closed, since the rest of the body may still be on its way.
    pub fn body_timeout(deadline: std::time::Duration) -> AppError {
        AppError::new(
            StatusCode::REQUEST_TIMEOUT,
            "body_timeout",
            format!(
                "the request body did not arrive within {} s of its headers; send it all at once",
                deadline.as_secs_f64()
            ),
        )
        .closing()
    }

    /// `503 corrupt_storage`: stored data does not hash to the signed root, or does not
    /// parse. The cause (which file) is logged; nothing built from the bad data is served.
    pub fn corrupt_storage(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "corrupt storage");
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "corrupt_storage",
            "the stored log failed its integrity check; the operator must repair the storage \
             (the server log names the file)",
        )
    }

    /// `503 storage_unavailable`: reading or writing the log's storage failed, perhaps
    /// for a while (out of file descriptors, out of disk space). The cause is logged.
    pub fn storage_unavailable(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "storage failure");
        AppError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage_unavailable",
            "the log's storage failed for now; retry later",
        )
        .retry_after(1)
    }

    /// The answer to a failed read of the log: the request was already checked, so no
    /// error of the log is the client's fault, not even an entry that does not parse.
    pub(crate) fn from_read(e: signet_log::Error) -> AppError {
        match e {
            signet_log::Error::Entry(e) => {
                AppError::corrupt_storage(format!("a stored entry does not parse: {e}"))
            }
            e => e.into(),
        }
    }

    /// A generic `500`; the cause is logged, never shown.
    pub fn internal(cause: impl std::fmt::Display) -> AppError {
        tracing::error!(error = %cause, "internal error");
        AppError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the cause is in the server log",
        )
    }

    /// Adds a `Retry-After` header (seconds).
    pub fn retry_after(mut self, seconds: u64) -> AppError {
        self.retry_after = Some(seconds.max(1));
        self
    }

    /// Asks for the connection to be closed after this answer.
    fn closing(mut self) -> AppError {
        self.close = true;
        self
    }

    /// Adds a field to the JSON body.
    pub fn with(mut self, key: &str, value: Value) -> AppError {
        self.extra.insert(key.to_owned(), value);
        self
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let mut body = Map::new();
        body.insert("error".into(), json!(self.code));
        body.insert("message".into(), json!(self.message));
        body.extend(self.extra);
        let mut response = (self.status, axum::Json(Value::Object(body))).into_response();
        if let Some(s) = self.retry_after {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(s));
        }
        if self.close {
            response
                .headers_mut()
                .insert(header::CONNECTION, HeaderValue::from_static("close"));
        }
        response.extensions_mut().insert(ErrorCode(self.code));
        response
    }
}

impl From<signet_core::Error> for AppError {
    fn from(e: signet_core::Error) -> AppError {
        use signet_core::Error as E;
        match e.class() {
            ErrorClass::Malformed => {
                AppError::new(StatusCode::BAD_REQUEST, "malformed", e.to_string())
            }
            ErrorClass::Rejected => {
                let code = match &e {
                    E::BadSignature { .. } | E::BadPublicKey { .. } | E::UnknownSigner { .. } => {
                        "bad_signature"
                    }
                    E::FutureTime { .. } => "future_time",
                    E::StateRule(_) => "state_rule",
                    _ => "rejected",
                };
                AppError::new(StatusCode::UNPROCESSABLE_ENTITY, code, e.to_string())
            }
        }
    }
}

/// Every variant is mapped deliberately: only a refused entry or a conflict is the
/// client's doing (4xx); every failure of the log itself is a `503` (it may pass, or
/// needs the operator) or a `500`, never a `400`.
impl From<signet_log::Error> for AppError {
    fn from(e: signet_log::Error) -> AppError {
        use signet_log::Error as E;
        match e {
            E::Entry(e) => e.into(),
            E::Conflict(active) => AppError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{}", E::Conflict(active.clone())),
            )
            .with("index", json!(active.index))
            .with("entry", json!(String::from_utf8_lossy(&active.entry)))
            .with(
                "proof",
                json!(String::from_utf8_lossy(&active.proof.to_bytes())),
            ),
            E::Overloaded => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "overloaded",
                E::Overloaded.to_string(),
            )
            .retry_after(1),
            e @ E::Closed(_) => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            )
            .retry_after(5),
            E::NotStored => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "not_stored",
                E::NotStored.to_string(),
            )
            .retry_after(1),
            e @ E::Unavailable { .. } => AppError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                e.to_string(),
            )
            .retry_after(1),
            e @ (E::BadTile { .. } | E::Corrupt { .. } | E::CorruptStorage { .. }) => {
                AppError::corrupt_storage(e)
            }
            e @ (E::Io { .. }
            | E::Catalog(_)
            | E::CatalogDamaged { .. }
            | E::Storage { .. }
            | E::Injected(_)) => AppError::storage_unavailable(e),
            // Start-up errors, and faults that stop the log until the operator acts.
            e @ (E::Locked(_)
            | E::Config(_)
            | E::KeyPermissions { .. }
            | E::RolledBack { .. }
            | E::StaleCheckpoint { .. }
            | E::NoRandomness(_)
            | E::Panicked { .. }
            | E::Internal(_)) => AppError::internal(e),
            e => AppError::internal(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use signet_log::Error as E;

    fn check(e: E, status: StatusCode, code: &str) {
        let what = format!("{e:?}");
        let a = AppError::from(e);
        assert_eq!((a.status, a.code), (status, code), "{what}");
        if status == StatusCode::SERVICE_UNAVAILABLE {
            assert!(
                a.retry_after.is_some() || code == "corrupt_storage",
                "{what}"
            );
        }
    }

    #[test]
    fn every_log_error_has_a_deliberate_status() {
        let io = || std::io::Error::other("too many open files");
        let s503 = StatusCode::SERVICE_UNAVAILABLE;
        check(E::Overloaded, s503, "overloaded");
        check(E::Closed("it is shutting down"), s503, "unavailable");
        check(E::NotStored, s503, "not_stored");
        let path = std::path::PathBuf::from("/data/log/tile/0/000");
        check(
            E::Io {
                action: "read",
                path: path.clone(),
                source: io(),
            },
            s503,
            "storage_unavailable",
        );
        check(E::Injected("full"), s503, "storage_unavailable");
        check(
            E::BadTile {
                tile: "0/000".into(),
                reason: "hash mismatch".into(),
            },
            s503,
            "corrupt_storage",
        );
        check(
            E::Corrupt {
                dir: path.clone(),
                reason: "root mismatch".into(),
            },
            s503,
            "corrupt_storage",
        );
        check(
            E::CorruptStorage {
                file: "tile/0/000".into(),
                reason: "does not hash to its parent".into(),
            },
            s503,
            "corrupt_storage",
        );
        check(
            E::Unavailable {
                reason: "cannot write to storage".into(),
            },
            s503,
            "unavailable",
        );
        check(E::storage("test", io()), s503, "storage_unavailable");
        check(
            E::CatalogDamaged {
                reason: "garbage".into(),
            },
            s503,
            "storage_unavailable",
        );
        let s500 = StatusCode::INTERNAL_SERVER_ERROR;
        check(E::StaleCheckpoint { backend: "test" }, s500, "internal");
        check(E::Panicked { thread: "write" }, s500, "internal");
        check(E::Internal("a bug".into()), s500, "internal");
        check(
            E::Locked(path),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
        );
        check(
            E::Config("bad origin".into()),
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
        );
        // A refused entry is the client's; the same error from a read is the log's.
        let refused = || E::Entry(signet_core::Error::OutOfRange("index 9".into()));
        assert!(AppError::from(refused()).status.is_client_error());
        let read = AppError::from_read(refused());
        assert_eq!((read.status, read.code), (s503, "corrupt_storage"));
    }
}
