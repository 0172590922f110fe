//! The handlers of DESIGN §5.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signet_core::{Entry, MAX_ENTRY_SIZE, Statement, TileId, Timestamp};
use signet_log::{SignatoryQuery, StatusFilter};

use crate::{AppError, AppState};

type Result<T, E = AppError> = std::result::Result<T, E>;

/// Runs blocking log work (file reads, SQLite) off the async workers.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, signet_log::Error> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(AppError::from),
        Err(e) => Err(AppError::internal(e)),
    }
}

fn text(body: String, cache: &'static str) -> Response {
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        body,
    )
        .into_response()
}

pub(crate) async fn checkpoint(State(s): State<AppState>) -> Response {
    text(s.log().head().text.clone(), "no-store")
}

pub(crate) async fn tile(State(s): State<AppState>, Path(rest): Path<String>) -> Result<Response> {
    let path = format!("tile/{rest}");
    let tile = TileId::parse_path(&path)
        .map_err(|_| AppError::not_found(format!("no tile at /{path}")))?;
    let log = s.log_arc();
    let data = blocking(move || log.tile(tile)).await?;
    let Some(data) = data else {
        return Err(AppError::not_found(format!(
            "the tree does not cover /{path}"
        )));
    };
    let cache = if tile.is_full() {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/octet-stream"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        ],
        data,
    )
        .into_response())
}

pub(crate) async fn submit(
    State(s): State<AppState>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response> {
    let body = body.map_err(|r| {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::too_large()
        } else {
            AppError::bad_request(format!("cannot read the body: {r}"))
        }
    })?;
    if body.len() > MAX_ENTRY_SIZE {
        return Err(AppError::too_large());
    }
    let entry = Entry::parse(&body)?;
    let now = Timestamp::from_unix(s.now())?;
    entry.statement().time().check_not_future(now)?;
    let ack = s.log().submit(entry).await?;
    let status = if ack.new {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    let body = json!({
        "index": ack.index,
        "leaf_hash": ack.leaf_hash.to_base64(),
        "checkpoint": ack.head.text,
        "proof": String::from_utf8_lossy(&ack.proof.to_bytes()),
    });
    Ok((status, axum::Json(body)).into_response())
}

pub(crate) async fn log_info(State(s): State<AppState>) -> Result<Response> {
    let log = s.log_arc();
    let letters = blocking(move || log.letters()).await?;
    let log = s.log();
    let letters: Vec<Value> = letters
        .into_iter()
        .map(|l| {
            json!({
                "id": l.id.to_string(), "slug": l.slug, "title": l.title, "language": l.language,
                "index": l.index, "signers": l.signers, "withdrawn": l.withdrawn,
            })
        })
        .collect();
    Ok(axum::Json(json!({
        "origin": log.origin(),
        "vkey": log.verifier().to_string(),
        "size": log.head().size,
        "letters": letters,
    }))
    .into_response())
}

pub(crate) async fn letter(State(s): State<AppState>, Path(key): Path<String>) -> Result<Response> {
    let log = s.log_arc();
    let lookup = key.clone();
    let found = blocking(move || log.letter(&lookup)).await?;
    let Some(l) = found else {
        return Err(AppError::not_found(format!(
            "no letter {key:?} in this log; see /v1/log for the list"
        )));
    };
    Ok(axum::Json(json!({
        "id": l.info.id.to_string(), "slug": l.info.slug, "title": l.info.title,
        "language": l.info.language, "source": l.source, "index": l.info.index, "text": l.text,
    }))
    .into_response())
}

fn parse_index(what: &str, value: &str) -> Result<u64> {
    // Only plain decimal digits: no sign, no spaces, no hex.
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AppError::bad_request(format!(
            "{what} must be a non-negative decimal integer, not {value:?}"
        )));
    }
    value
        .parse()
        .map_err(|_| AppError::bad_request(format!("{what} is too large: {value:?}")))
}

pub(crate) async fn entry(
    State(s): State<AppState>,
    Path(index): Path<String>,
) -> Result<Response> {
    let index = parse_index("index", &index)?;
    let log = s.log_arc();
    if index >= log.head().size {
        return Err(AppError::not_found(format!(
            "no entry {index}: the log has {} entries",
            log.head().size
        )));
    }
    let bytes = blocking(move || log.entry(index)).await?;
    let entry = Entry::parse(&bytes)
        .map_err(|e| AppError::internal(format!("stored entry {index}: {e}")))?;
    let st = entry.statement();
    let mut body = json!({
        "index": index,
        "leaf_hash": entry.leaf_hash().to_base64(),
        "kind": st.kind(),
        "entry": String::from_utf8_lossy(entry.bytes()),
        "letter": st.letter().to_string(),
        "key": st.key().to_string(),
        "time": st.time().to_string(),
    });
    let fields = body
        .as_object_mut()
        .ok_or_else(|| AppError::internal("entry JSON is an object"))?;
    match st {
        Statement::Letter(r) => {
            fields.insert("slug".into(), json!(r.slug.as_str()));
            fields.insert("title".into(), json!(r.title));
            fields.insert("language".into(), json!(r.language.as_str()));
        }
        Statement::Endorsement(e) => {
            fields.insert("name".into(), json!(e.name));
            if let Some(a) = &e.affiliation {
                fields.insert("affiliation".into(), json!(a));
            }
            if let Some(r) = &e.role {
                fields.insert("role".into(), json!(r));
            }
            let identity: Vec<&str> = e.identity.iter().map(|c| c.as_str()).collect();
            fields.insert("identity".into(), json!(identity));
        }
        Statement::Withdrawal(_) => {}
    }
    Ok(axum::Json(body).into_response())
}

fn query_map(q: Option<String>) -> Result<HashMap<String, String>> {
    let mut out = HashMap::new();
    for pair in q
        .as_deref()
        .unwrap_or("")
        .split('&')
        .filter(|p| !p.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = percent_decode(k)?;
        let v = percent_decode(v)?;
        if out.insert(k.clone(), v).is_some() {
            return Err(AppError::bad_request(format!(
                "the parameter {k:?} is given twice"
            )));
        }
    }
    Ok(out)
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn percent_decode(s: &str) -> Result<String> {
    let bad = || AppError::bad_request(format!("bad percent-encoding in {s:?}"));
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

fn required(params: &HashMap<String, String>, name: &str) -> Result<u64> {
    let v = params
        .get(name)
        .ok_or_else(|| AppError::bad_request(format!("the parameter {name} is required")))?;
    parse_index(name, v)
}

pub(crate) async fn inclusion(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let params = query_map(q)?;
    let index = required(&params, "index")?;
    let size = required(&params, "size")?;
    let log = s.log_arc();
    let tree = log.head().size;
    if index >= size || size > tree {
        return Err(AppError::bad_request(format!(
            "need 0 <= index < size <= {tree} (the tree size); got index {index}, size {size}"
        )));
    }
    // Proofs come from cached tiles (or small page-cached files): cheaper inline than
    // the hand-off to a blocking thread.
    let hashes = log.inclusion_proof(index, size)?;
    let hashes: Vec<String> = hashes.iter().map(|h| h.to_base64()).collect();
    Ok(axum::Json(json!({"index": index, "size": size, "hashes": hashes})).into_response())
}

pub(crate) async fn consistency(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let params = query_map(q)?;
    let old = required(&params, "old")?;
    let size = required(&params, "size")?;
    let log = s.log_arc();
    let tree = log.head().size;
    if old > size || size > tree {
        return Err(AppError::bad_request(format!(
            "need 0 <= old <= size <= {tree} (the tree size); got old {old}, size {size}"
        )));
    }
    let hashes = log.consistency_proof(old, size)?;
    let hashes: Vec<String> = hashes.iter().map(|h| h.to_base64()).collect();
    Ok(axum::Json(json!({"old": old, "size": size, "hashes": hashes})).into_response())
}

pub(crate) async fn proof(
    State(s): State<AppState>,
    Path(index): Path<String>,
) -> Result<Response> {
    let index = parse_index("index", &index)?;
    let log = s.log_arc();
    let size = log.head().size;
    if index >= size {
        return Err(AppError::not_found(format!(
            "no entry {index}: the log has {size} entries"
        )));
    }
    let proof = log.tlog_proof(index)?;
    Ok(text(
        String::from_utf8_lossy(&proof.to_bytes()).into_owned(),
        "no-store",
    ))
}

pub(crate) async fn signatories(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let params = query_map(q)?;
    for k in params.keys() {
        if !matches!(k.as_str(), "letter" | "q" | "status" | "after" | "limit") {
            return Err(AppError::bad_request(format!("unknown parameter {k:?}")));
        }
    }
    let letter = params
        .get("letter")
        .ok_or_else(|| {
            AppError::bad_request("the parameter letter (a letter ID or slug) is required")
        })?
        .clone();
    let status = match params.get("status").map(String::as_str) {
        None | Some("active") => StatusFilter::Active,
        Some("withdrawn") => StatusFilter::Withdrawn,
        Some("all") => StatusFilter::All,
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "status must be active, withdrawn or all, not {other:?}"
            )));
        }
    };
    let limit = match params.get("limit") {
        None => 100,
        Some(v) => {
            let n = parse_index("limit", v)?;
            if !(1..=500).contains(&n) {
                return Err(AppError::bad_request(format!(
                    "limit must be between 1 and 500, not {n}"
                )));
            }
            n as u32
        }
    };
    let after = params.get("after").map(|c| decode_cursor(c)).transpose()?;
    let q = params.get("q").cloned().filter(|q| !q.is_empty());
    if q.as_ref().is_some_and(|q| q.chars().count() > 256) {
        return Err(AppError::bad_request("q is at most 256 characters"));
    }
    let log = s.log_arc();
    let page = blocking(move || {
        let Some(details) = log.letter(&letter)? else {
            return Ok(None);
        };
        let query = SignatoryQuery {
            letter: details.info.id,
            q,
            status,
            after,
            limit,
        };
        log.signatories(&query).map(Some)
    })
    .await?
    .ok_or_else(|| AppError::not_found("no such letter in this log; see /v1/log for the list"))?;
    let items: Vec<Value> = page
        .items
        .into_iter()
        .map(|i| {
            json!({
                "index": i.index, "name": i.name, "affiliation": i.affiliation, "role": i.role,
                "identity": i.identity, "key": i.key, "fingerprint": i.fingerprint,
                "time": i.time.to_string(), "status": if i.active { "active" } else { "withdrawn" },
                "verified": [],
            })
        })
        .collect();
    Ok(axum::Json(json!({"items": items, "next": page.next.map(encode_cursor)})).into_response())
}

/// Cursors are opaque to clients: a prefix and the position in hex.
fn encode_cursor(first_index: u64) -> String {
    format!("c{first_index:x}")
}

fn decode_cursor(cursor: &str) -> Result<u64> {
    cursor
        .strip_prefix('c')
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 16
                && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        })
        .and_then(|h| u64::from_str_radix(h, 16).ok())
        .ok_or_else(|| AppError::bad_request("after is not a cursor this server gave out"))
}

pub(crate) async fn healthz(State(s): State<AppState>) -> Response {
    axum::Json(json!({"status": "ok", "size": s.log().head().size})).into_response()
}

pub(crate) async fn metrics(State(s): State<AppState>) -> Response {
    let mut out = String::new();
    s.log().metrics().render(&mut out, s.log().head().size);
    s.metrics().render(&mut out);
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response()
}

pub(crate) async fn not_found() -> AppError {
    AppError::not_found("no such route; see DESIGN §5 for the API")
}

pub(crate) async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
