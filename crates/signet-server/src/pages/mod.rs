//! The reader's pages (docs/http-api.md, "Pages"): server-rendered HTML for people, with
//! search and paging that work without JavaScript, in English or Chinese, and an entry
//! page whose script checks the entry in the reader's own browser.
//!
//! Every page is built from a view model (`view`) read with the same catalog queries as
//! the JSON API, then rendered by compile-time templates (`html`) that escape every
//! value. Assets are embedded and served under content-hashed names (`assets`).

mod assets;
mod html;
mod i18n;
mod view;

use axum::Router;
use axum::extract::{Path, RawQuery, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::Markup;

use crate::query::{Query, number};
use crate::routes::blocking;
use crate::{AppError, AppState};
use html::Chrome;
use i18n::Lang;
use view::{Cursor, ListRequest, Listing};

/// How many signers a page of the list shows.
const PAGE_SIZE: u32 = 100;

/// The policy of every page and asset: only this server's own scripts, styles and
/// images; no inline script or style; no framing; forms submit only here.
pub(crate) const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

/// The routes of the pages and their assets.
pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/letters/{slug}", get(letter))
        .route("/letters/{slug}/hidden", get(hidden))
        .route("/entries/{index}", get(entry))
        .route("/assets/{name}", get(asset))
        .layer(middleware::from_fn(security_headers))
}

/// The security headers of every page and asset, whatever the status.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// A page's request: its query, the interface language, and this server's URL.
struct Ctx {
    state: AppState,
    chrome: Chrome,
    server: String,
}

/// A page that could not be built: its status and what to tell the reader.
struct PageError {
    status: StatusCode,
    message: String,
}

impl From<AppError> for PageError {
    fn from(e: AppError) -> PageError {
        PageError {
            status: e.status(),
            message: e.message().to_owned(),
        }
    }
}

impl PageError {
    fn not_found(message: impl Into<String>) -> PageError {
        PageError {
            status: StatusCode::NOT_FOUND,
            message: message.into(),
        }
    }
}

impl Ctx {
    /// Parses the query strictly (only `known` and `lang`, each once) and chooses the
    /// language. A bad query still gets a page, in the language of `Accept-Language`.
    fn new(
        state: AppState,
        headers: &HeaderMap,
        path: String,
        raw: Option<&str>,
        known: &[&str],
    ) -> (Ctx, Result<Query, PageError>) {
        let mut all = known.to_vec();
        all.push("lang");
        let parsed = Query::parse(raw, &all).map_err(PageError::from);
        let mut param = None;
        let mut bad_lang = None;
        let mut params = Vec::new();
        if let Ok(q) = &parsed {
            if let Some(l) = q.get("lang") {
                param = Lang::parse(l);
                if param.is_none() {
                    bad_lang = Some(l.to_owned());
                }
            }
            for k in known {
                if let Some(v) = q.get(k) {
                    params.push(((*k).to_owned(), v.to_owned()));
                }
            }
        }
        let lang = Lang::choose(param, headers);
        let ctx = Ctx {
            server: server_url(headers, state.log().origin()),
            state,
            chrome: Chrome {
                lang,
                explicit: param.is_some(),
                path,
                params,
            },
        };
        let parsed = match bad_lang {
            Some(l) => Err(PageError {
                status: StatusCode::BAD_REQUEST,
                message: format!("lang must be en or zh, not {l:?}"),
            }),
            None => parsed,
        };
        (ctx, parsed)
    }

    fn log_view(&self) -> view::LogView {
        view::log_view(self.state.log(), self.server.clone())
    }

    /// The page, or the error page with the error's status.
    fn respond(&self, page: Result<Markup, PageError>) -> Response {
        let (status, markup) = match page {
            Ok(m) => (StatusCode::OK, m),
            Err(e) => (
                e.status,
                html::error(
                    &self.chrome,
                    &self.log_view(),
                    e.status.as_u16(),
                    &e.message,
                ),
            ),
        };
        (
            status,
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("text/html; charset=utf-8"),
                ),
                // The counts change with every entry: always ask again.
                (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
                (header::VARY, HeaderValue::from_static("Accept-Language")),
            ],
            markup.into_string(),
        )
            .into_response()
    }
}

/// The server's base URL as the reader reached it, for the commands the pages show:
/// the `Host` header (when it is a plain host and port), `https` when a reverse proxy
/// says so with `X-Forwarded-Proto`. Without a usable `Host`, the log's origin.
fn server_url(headers: &HeaderMap, origin: &str) -> String {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .filter(|h| {
            !h.is_empty()
                && h.len() <= 255
                && h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
        });
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|h| h.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    match host {
        Some(h) => format!("{}://{h}", if https { "https" } else { "http" }),
        None => format!("https://{origin}"),
    }
}

async fn home(State(s): State<AppState>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    let (ctx, query) = Ctx::new(s, &headers, "/".into(), q.as_deref(), &[]);
    let page = async {
        query?;
        let log = ctx.state.log_arc();
        let server = ctx.server.clone();
        let home = blocking(move || view::home(&log, server)).await?;
        // One letter: its page is the home page.
        if let [only] = home.letters.as_slice() {
            let slug = only.slug.clone();
            let log = ctx.state.log_arc();
            let server = ctx.server.clone();
            let request = ListRequest {
                q: None,
                listing: Listing::Active,
                after: None,
                limit: PAGE_SIZE,
            };
            let page = blocking(move || view::letter(&log, server, &slug, request)).await?;
            if let Some(page) = page {
                return Ok(html::letter(&ctx.chrome, &page));
            }
        }
        Ok(html::home(&ctx.chrome, &home))
    };
    let page = page.await;
    ctx.respond(page)
}

async fn letter(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let path = format!("/letters/{slug}");
    let (ctx, query) = Ctx::new(s, &headers, path, q.as_deref(), &["q", "status", "after"]);
    let page = async {
        let query = query?;
        let listing = match query.get("status") {
            None | Some("active") => Listing::Active,
            Some("withdrawn") => Listing::Withdrawn,
            Some(other) => {
                return Err(PageError {
                    status: StatusCode::BAD_REQUEST,
                    message: format!("status must be active or withdrawn, not {other:?}"),
                });
            }
        };
        let after = match query.get("after") {
            None => None,
            Some(a) => Some(Cursor::decode(a).ok_or_else(|| {
                PageError {
                    status: StatusCode::BAD_REQUEST,
                    message: "after is not a cursor this server gave out; start from the \
                          letter's page"
                        .into(),
                }
            })?),
        };
        let q = query.get("q").map(str::trim).filter(|q| !q.is_empty());
        if q.is_some_and(|q| q.chars().count() > 256) {
            return Err(PageError {
                status: StatusCode::BAD_REQUEST,
                message: "the search is at most 256 characters".into(),
            });
        }
        let request = ListRequest {
            q: q.map(str::to_owned),
            listing,
            after,
            limit: PAGE_SIZE,
        };
        let log = ctx.state.log_arc();
        let server = ctx.server.clone();
        let lookup = slug.clone();
        let page = blocking(move || view::letter(&log, server, &lookup, request)).await?;
        let page = page.ok_or_else(|| PageError::not_found(no_letter(&slug)))?;
        Ok(html::letter(&ctx.chrome, &page))
    };
    let page = page.await;
    ctx.respond(page)
}

fn no_letter(slug: &str) -> String {
    format!("this log hosts no letter {slug:?}; the home page lists its letters")
}

async fn hidden(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(slug): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let path = format!("/letters/{slug}/hidden");
    let (ctx, query) = Ctx::new(s, &headers, path, q.as_deref(), &[]);
    let page = async {
        query?;
        let log = ctx.state.log_arc();
        let server = ctx.server.clone();
        let lookup = slug.clone();
        let page = blocking(move || view::hidden(&log, server, &lookup)).await?;
        let page = page.ok_or_else(|| PageError::not_found(no_letter(&slug)))?;
        Ok(html::hidden(&ctx.chrome, &page))
    };
    let page = page.await;
    ctx.respond(page)
}

async fn entry(
    State(s): State<AppState>,
    headers: HeaderMap,
    Path(index): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let path = format!("/entries/{index}");
    let (ctx, query) = Ctx::new(s, &headers, path, q.as_deref(), &[]);
    let page = async {
        query?;
        let index = number("the entry index", &index)?;
        let size = ctx.state.log().head().size;
        if index >= size {
            return Err(PageError::not_found(format!(
                "no entry {index}: the log has {size} entries"
            )));
        }
        let log = ctx.state.log_arc();
        let server = ctx.server.clone();
        let page = blocking(move || view::entry(&log, server, index))
            .await?
            .map_err(|cause| PageError::from(AppError::corrupt_storage(cause)))?;
        Ok(html::entry(&ctx.chrome, &page))
    };
    let page = page.await;
    ctx.respond(page)
}

async fn asset(Path(name): Path<String>, RawQuery(q): RawQuery) -> Result<Response, AppError> {
    Query::parse(q.as_deref(), &[])?;
    let asset = assets::get(&name)
        .ok_or_else(|| AppError::not_found(format!("no asset {name:?} on this server")))?;
    Ok((
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static(asset.content_type),
            ),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=31536000, immutable"),
            ),
        ],
        asset.body,
    )
        .into_response())
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    fn check(accept: Option<&str>, param: Option<Lang>, want: Lang) {
        let mut headers = HeaderMap::new();
        if let Some(a) = accept {
            headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(a).unwrap());
        }
        assert_eq!(Lang::choose(param, &headers), want, "{accept:?} {param:?}");
    }

    #[test]
    fn language_negotiation() {
        check(None, None, Lang::En);
        check(Some("zh-CN,zh;q=0.9,en;q=0.8"), None, Lang::Zh);
        check(Some("en-US,en;q=0.9,zh;q=0.8"), None, Lang::En);
        check(Some("fr, zh-TW;q=0.5"), None, Lang::Zh);
        check(Some("fr, de"), None, Lang::En);
        check(Some("en;q=0.2, zh;q=0.7"), None, Lang::Zh);
        check(Some("zh;q=0"), None, Lang::En);
        check(Some("zh"), Some(Lang::En), Lang::En);
        check(Some("garbage;;q=x,,"), None, Lang::En);
    }

    #[test]
    fn server_url_from_host() {
        let mut h = HeaderMap::new();
        assert_eq!(server_url(&h, "example.org/log"), "https://example.org/log");
        h.insert(header::HOST, HeaderValue::from_static("127.0.0.1:8080"));
        assert_eq!(server_url(&h, "o"), "http://127.0.0.1:8080");
        h.insert("x-forwarded-proto", HeaderValue::from_static("https"));
        assert_eq!(server_url(&h, "o"), "https://127.0.0.1:8080");
        h.insert(header::HOST, HeaderValue::from_static("evil\"><script>"));
        assert_eq!(server_url(&h, "o"), "https://o");
    }
}
