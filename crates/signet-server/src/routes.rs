//! The handlers of the HTTP API (see docs/http-api.md).

use axum::body::Body;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use signet_core::{Entry, MAX_ENTRY_SIZE, Statement, TileId, Timestamp};
use signet_log::{SignatoryQuery, StatusFilter};

use crate::query::{Query, number};
use crate::{AppError, AppState};

type Result<T, E = AppError> = std::result::Result<T, E>;

/// Runs a read of the log (tiles, bundles, SQLite) on the blocking pool: on a cache
/// miss it may wait for storage, which could be remote, and must not hold an async
/// worker meanwhile. Its errors are the log's own, never the client's.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, signet_log::Error> + Send + 'static,
) -> Result<T> {
    match tokio::task::spawn_blocking(f).await {
        Ok(r) => r.map_err(AppError::from_read),
        Err(e) => Err(AppError::internal(e)),
    }
}

/// Runs a read of the log's tree (a proof, an entry, a tile): on the async worker when
/// everything it needs is in the log's caches of checked tiles (the common case, with no
/// thread hand-off), else on the blocking pool like [`blocking`].
async fn tree_read<T: Send + 'static>(
    log: std::sync::Arc<signet_log::Log>,
    f: impl Fn(&signet_log::Log) -> Result<T, signet_log::Error> + Send + 'static,
) -> Result<T> {
    if let Some(answer) = log.cached(&f) {
        return answer.map_err(AppError::from_read);
    }
    blocking(move || f(&log)).await
}

/// Refuses any query parameter on a route that takes none.
fn no_query(q: Option<String>) -> Result<()> {
    Query::parse(q.as_deref(), &[]).map(drop)
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

pub(crate) async fn checkpoint(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    no_query(q)?;
    Ok(text(s.log().head().text.clone(), "no-store"))
}

pub(crate) async fn tile(
    State(s): State<AppState>,
    Path(rest): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    no_query(q)?;
    let path = format!("tile/{rest}");
    let tile = TileId::parse_path(&path)
        .map_err(|_| AppError::not_found(format!("no tile at /{path}")))?;
    let log = s.log_arc();
    let data = tree_read(log, move |log| log.tile(tile)).await?;
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

/// Reads a submission's body: at most [`MAX_ENTRY_SIZE`] bytes, all of them within the
/// body deadline of the headers.
async fn read_body(s: &AppState, body: Body) -> Result<axum::body::Bytes> {
    use http_body_util::BodyExt as _;
    let deadline = s.settings.body_timeout;
    let collect = http_body_util::Limited::new(body, MAX_ENTRY_SIZE).collect();
    match tokio::time::timeout(deadline, collect).await {
        Err(_) => Err(AppError::body_timeout(deadline)),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
        Ok(Err(e)) if e.is::<http_body_util::LengthLimitError>() => Err(AppError::too_large()),
        Ok(Err(e)) => Err(AppError::bad_request(format!(
            "cannot read the body: {e}; send the signed note as the whole body"
        ))),
    }
}

pub(crate) async fn submit(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
    body: Body,
) -> Result<Response> {
    no_query(q)?;
    let body = read_body(&s, body).await?;
    let entry = Entry::parse(&body)?;
    let now = Timestamp::from_unix(s.now())?;
    entry.statement().time().check_not_future(now)?;
    let ack = s.log().submit(entry.clone()).await?;
    if ack.new {
        // Only now, with the entry acknowledged, may its claims be looked at.
        s.identity.acknowledged(&entry);
    }
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

pub(crate) async fn log_info(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response> {
    no_query(q)?;
    let log = s.log_arc();
    let (letters, moderators) = blocking(move || Ok((log.letters()?, log.moderators()?))).await?;
    let log = s.log();
    let letters: Vec<Value> = letters
        .into_iter()
        .map(|l| {
            json!({
                "id": l.id.to_string(), "slug": l.slug, "title": l.title, "language": l.language,
                "index": l.index, "signers": l.signers, "withdrawn": l.withdrawn,
                "hidden": l.hidden,
            })
        })
        .collect();
    let moderators: Vec<Value> = moderators
        .into_iter()
        .map(|m| json!({"index": m.index, "name": m.name, "key": m.key}))
        .collect();
    Ok(axum::Json(json!({
        "origin": log.origin(),
        "vkey": log.verifier().to_string(),
        "size": log.head().size,
        "letters": letters,
        "moderators": moderators,
        "witnesses": log.witnesses().into_iter()
            .map(|(name, key)| json!({"name": name, "vkey": key.to_string()}))
            .collect::<Vec<Value>>(),
    }))
    .into_response())
}

pub(crate) async fn letter(
    State(s): State<AppState>,
    Path(key): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    no_query(q)?;
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

pub(crate) async fn entry(
    State(s): State<AppState>,
    Path(index): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    no_query(q)?;
    let index = number("the entry index", &index)?;
    let log = s.log_arc();
    if index >= log.head().size {
        return Err(AppError::not_found(format!(
            "no entry {index}: the log has {} entries",
            log.head().size
        )));
    }
    let bytes = tree_read(log, move |log| log.entry(index)).await?;
    let entry = Entry::parse(&bytes).map_err(|e| {
        AppError::corrupt_storage(format!("stored entry {index} does not parse: {e}"))
    })?;
    let st = entry.statement();
    let mut body = json!({
        "index": index,
        "leaf_hash": entry.leaf_hash().to_base64(),
        "kind": st.kind(),
        "entry": String::from_utf8_lossy(entry.bytes()),
        "key": st.key().to_string(),
        "time": st.time().to_string(),
    });
    let fields = body
        .as_object_mut()
        .ok_or_else(|| AppError::internal("entry JSON is an object"))?;
    if let Some(letter) = st.letter() {
        fields.insert("letter".into(), json!(letter.to_string()));
    }
    crate::moderation::entry_fields(st, fields);
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
            let verified = crate::identity::verified_of(&s, *e.key.public_key(), &identity).await?;
            fields.insert("verified".into(), verified);
        }
        Statement::Withdrawal(_) | Statement::Moderator(_) | Statement::Moderation(_) => {}
    }
    Ok(axum::Json(body).into_response())
}

pub(crate) async fn inclusion(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    proof_hashes(&s, q, "index", Below::Strictly, |log, index, size| {
        log.inclusion_proof(index, size)
    })
    .await
}

pub(crate) async fn consistency(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    proof_hashes(&s, q, "old", Below::OrEqual, |log, old, size| {
        log.consistency_proof(old, size)
    })
    .await
}

/// How the first parameter of a proof route must compare with `size`.
#[derive(Debug, Clone, Copy)]
enum Below {
    /// An inclusion proof's `index < size`.
    Strictly,
    /// A consistency proof's `old <= size`.
    OrEqual,
}

/// The JSON answer of both proof routes: `{<first>, "size", "hashes"}`, for a `first`
/// below `size` as `below` says, `size` being at most the tree size.
async fn proof_hashes(
    s: &AppState,
    q: Option<String>,
    first: &'static str,
    below: Below,
    read: fn(&signet_log::Log, u64, u64) -> Result<Vec<signet_core::Hash>, signet_log::Error>,
) -> Result<Response> {
    let params = Query::parse(q.as_deref(), &[first, "size"])?;
    let at = params.required_number(first)?;
    let size = params.required_number("size")?;
    let log = s.log_arc();
    let tree = log.head().size;
    let (fits, rule) = match below {
        Below::Strictly => (at < size, "<"),
        Below::OrEqual => (at <= size, "<="),
    };
    if !fits || size > tree {
        return Err(AppError::bad_request(format!(
            "need 0 <= {first} {rule} size <= {tree} (the tree size); got {first} {at}, size {size}"
        )));
    }
    let hashes = tree_read(log, move |log| read(log, at, size)).await?;
    let hashes: Vec<String> = hashes.iter().map(|h| h.to_base64()).collect();
    Ok(axum::Json(json!({first: at, "size": size, "hashes": hashes})).into_response())
}

pub(crate) async fn proof(
    State(s): State<AppState>,
    Path(index): Path<String>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    no_query(q)?;
    let index = number("the entry index", &index)?;
    let log = s.log_arc();
    let size = log.head().size;
    if index >= size {
        return Err(AppError::not_found(format!(
            "no entry {index}: the log has {size} entries"
        )));
    }
    let proof = tree_read(log, move |log| log.tlog_proof(index)).await?;
    Ok(text(
        String::from_utf8_lossy(&proof.to_bytes()).into_owned(),
        "no-store",
    ))
}

pub(crate) async fn signatories(
    State(s): State<AppState>,
    RawQuery(q): RawQuery,
) -> Result<Response> {
    let params = Query::parse(q.as_deref(), &["letter", "q", "status", "after", "limit"])?;
    let letter = params
        .get("letter")
        .ok_or_else(|| {
            AppError::bad_request("the parameter letter (a letter ID or slug) is required")
        })?
        .to_owned();
    let status = match params.get("status") {
        None | Some("active") => StatusFilter::Active,
        Some("withdrawn") => StatusFilter::Withdrawn,
        Some("hidden") => StatusFilter::Hidden,
        Some("all") => StatusFilter::All,
        Some(other) => {
            return Err(AppError::bad_request(format!(
                "status must be active, withdrawn, hidden or all, not {other:?}"
            )));
        }
    };
    let limit = match params.number("limit")? {
        None => 100,
        Some(n) => {
            if !(1..=500).contains(&n) {
                return Err(AppError::bad_request(format!(
                    "limit must be between 1 and 500, not {n}"
                )));
            }
            n as u32
        }
    };
    let after = params.get("after").map(decode_cursor).transpose()?;
    let q = params.get("q").map(str::to_owned).filter(|q| !q.is_empty());
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
    let verified = crate::identity::verified_of_page(&s, &page.items).await?;
    let items: Vec<Value> = page
        .items
        .into_iter()
        .zip(verified)
        .map(|(i, verified)| {
            json!({
                "index": i.index, "name": i.name, "affiliation": i.affiliation, "role": i.role,
                "identity": i.identity, "key": i.key, "fingerprint": i.fingerprint,
                "time": i.time.to_string(), "status": if i.active { "active" } else { "withdrawn" },
                "hidden": crate::moderation::hidden_json(i.hidden.as_ref()),
                "verified": verified,
            })
        })
        .collect();
    Ok(axum::Json(json!({"items": items, "next": page.next.map(encode_cursor)})).into_response())
}

/// Cursors are opaque to clients: a prefix and the position in hex.
pub(crate) fn encode_cursor(first_index: u64) -> String {
    format!("c{first_index:x}")
}

pub(crate) fn decode_cursor(cursor: &str) -> Result<u64> {
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

/// `200` while the log can write, `503` with the log's reason while it cannot.
pub(crate) async fn healthz(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response> {
    no_query(q)?;
    Ok(match s.log().health() {
        Ok(()) => axum::Json(json!({"status": "ok", "size": s.log().head().size})).into_response(),
        Err(reason) => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"status": "failing", "reason": reason})),
        )
            .into_response(),
    })
}

pub(crate) async fn metrics(State(s): State<AppState>, RawQuery(q): RawQuery) -> Result<Response> {
    no_query(q)?;
    let mut out = String::new();
    s.log().metrics().render(&mut out, s.log().head().size);
    s.metrics().render(&mut out);
    s.log().render_witness_metrics(&mut out);
    s.identity.render(&mut out);
    Ok((
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        out,
    )
        .into_response())
}

pub(crate) async fn not_found() -> AppError {
    AppError::not_found("no such route; docs/http-api.md lists the API")
}

pub(crate) async fn method_not_allowed() -> AppError {
    AppError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this route does not take that method",
    )
}
