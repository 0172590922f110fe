//! The one claim checker: a claim and a key in, a decision out (docs/protocol.md,
//! *Identity claims*).
//!
//! Signet resolves every claim host itself, applies the address rule to every address,
//! and connects to the address it checked: the HTTP client never resolves a name, so
//! nothing between the check and the connection can swap the address. Every redirect is
//! a new claim URL, resolved and checked the same way.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{NameServerConfigGroup, ResolveHosts, ResolverConfig, ResolverOpts};
use hickory_resolver::name_server::TokioConnectionProvider;
use http_body_util::{BodyExt as _, Empty};
use hyper::body::Bytes;
use hyper::{Request, StatusCode, header};
use hyper_util::rt::TokioIo;
use rustls::pki_types::ServerName;
use sha2::{Digest as _, Sha256};
use signet_core::Timestamp;
use signet_core::entry::IdentityClaim;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

use crate::{Error, address, keys, token};

/// The limits of one claim check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The whole check, every lookup, connection, redirect and byte included.
    pub timeout: Duration,
    /// The most bytes of a body.
    pub max_body: usize,
    /// The most redirects followed.
    pub max_redirects: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: Duration::from_secs(5),
            max_body: 64 * 1024,
            max_redirects: 3,
        }
    }
}

/// What the checker is configured with (see [`crate::IdentityArgs`]).
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// PEM root certificates trusted besides the web roots.
    pub extra_roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    /// The DNS server for `dns:` claims and for resolving claim hosts; the system's
    /// when `None`.
    pub dns: Option<SocketAddr>,
    /// Turns the address rule off (tests on loopback, private deployments).
    pub allow_private: bool,
    /// The limits of one check.
    pub limits: Limits,
}

/// `sha256:<hex>` of the bytes that proved a claim: the page's body, the TXT string,
/// the `.keys` body.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evidence(String);

impl Evidence {
    /// The evidence for `bytes`.
    pub fn of(bytes: &[u8]) -> Evidence {
        Evidence(format!("sha256:{}", hex::encode(Sha256::digest(bytes))))
    }

    /// Evidence as stored (`sha256:` and 64 lowercase hex digits).
    pub fn parse(s: &str) -> Option<Evidence> {
        let hex = s.strip_prefix("sha256:")?;
        (hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .then(|| Evidence(s.to_owned()))
    }

    /// The text, `sha256:<hex>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Evidence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// The decision on one claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The claim holds: the site, record or account names the key.
    Held(Evidence),
    /// The claim is unproven, for this reason (a sentence a reader can act on).
    Failed(String),
}

impl Outcome {
    /// Whether the claim held.
    pub fn held(&self) -> bool {
        matches!(self, Outcome::Held(_))
    }
}

/// One claim checked: the claim, when the check started, and its outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The claim.
    pub claim: IdentityClaim,
    /// When the check started.
    pub checked: Timestamp,
    /// What it found.
    pub outcome: Outcome,
}

/// The claim checker. Cheap to share (`Arc`); one per process.
pub struct Checker {
    resolver: TokioResolver,
    tls: TlsConnector,
    allow_private: bool,
    limits: Limits,
}

impl std::fmt::Debug for Checker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("allow_private", &self.allow_private)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

/// An `https://` URL that is a valid claim: its host and its path.
#[derive(Debug, Clone)]
struct Url {
    host: String,
    path: String,
}

impl Url {
    fn parse(s: &str) -> Result<Url, String> {
        IdentityClaim::parse(s).map_err(|e| e.to_string())?;
        let rest = s
            .strip_prefix("https://")
            .ok_or_else(|| format!("{s} is not an https:// URL"))?;
        let slash = rest.find('/').unwrap_or(rest.len());
        Ok(Url {
            host: rest[..slash].to_owned(),
            path: rest[slash..].to_owned(),
        })
    }

    /// The target of a redirect from this URL: `Location` absolute, scheme-relative,
    /// absolute-path or relative to this URL's folder.
    fn join(&self, location: &str) -> Result<Url, String> {
        let absolute = if location.contains("://") {
            location.to_owned()
        } else if let Some(rest) = location.strip_prefix("//") {
            format!("https://{rest}")
        } else if location.starts_with('/') {
            format!("https://{}{location}", self.host)
        } else {
            let folder = &self.path[..self.path.rfind('/').map_or(0, |i| i + 1)];
            format!("https://{}{folder}{location}", self.host)
        };
        if !absolute.starts_with("https://") {
            return Err(format!(
                "a redirect goes to {absolute:?}, which is not https://; every redirect must \
                 stay on https"
            ));
        }
        Url::parse(&absolute)
            .map_err(|e| format!("a redirect goes to {absolute:?}, which is not a claim URL: {e}"))
    }
}

impl std::fmt::Display for Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "https://{}{}", self.host, self.path)
    }
}

/// A page fetched: its final URL and body.
struct Page {
    url: Url,
    body: Vec<u8>,
}

impl Checker {
    /// A checker with this configuration. Must be called inside a Tokio runtime.
    pub fn new(config: Config) -> Result<Checker, Error> {
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in config.extra_roots {
            roots.add(cert).map_err(|e| Error::Tls {
                reason: format!("a root certificate cannot be used: {e}"),
            })?;
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Tls {
                reason: e.to_string(),
            })?
            .with_root_certificates(roots)
            .with_no_client_auth();

        let mut builder = match config.dns {
            Some(server) => TokioResolver::builder_with_config(
                ResolverConfig::from_parts(
                    None,
                    vec![],
                    NameServerConfigGroup::from_ips_clear(&[server.ip()], server.port(), true),
                ),
                TokioConnectionProvider::default(),
            ),
            None => TokioResolver::builder_tokio().map_err(|e| Error::Resolver {
                reason: format!("the system's DNS configuration cannot be read: {e}"),
            })?,
        };
        let mut options = ResolverOpts::default();
        // Every check asks afresh, so a recheck sees a changed record at once.
        options.cache_size = 0;
        options.timeout = config.limits.timeout;
        options.attempts = 1;
        if config.dns.is_some() {
            // The operator named the server to ask; `/etc/hosts` is not it.
            options.use_hosts_file = ResolveHosts::Never;
        }
        *builder.options_mut() = options;
        Ok(Checker {
            resolver: builder.build(),
            tls: TlsConnector::from(Arc::new(tls)),
            allow_private: config.allow_private,
            limits: config.limits,
        })
    }

    /// Checks one claim for `key`, within the time limit.
    pub async fn check(&self, claim: &IdentityClaim, key: &[u8; 32]) -> Check {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        // A clock before 2000 records the earliest time a timestamp can say.
        let checked =
            Timestamp::from_unix(now.max(EARLIEST)).unwrap_or_else(|_| earliest_timestamp());
        let outcome = match tokio::time::timeout(self.limits.timeout, self.decide(claim, key)).await
        {
            Ok(outcome) => outcome,
            Err(_) => Outcome::Failed(format!(
                "the check of {claim} took longer than {} s",
                self.limits.timeout.as_secs_f64()
            )),
        };
        Check {
            claim: claim.clone(),
            checked,
            outcome,
        }
    }

    async fn decide(&self, claim: &IdentityClaim, key: &[u8; 32]) -> Outcome {
        let token = token::token(key);
        let s = claim.as_str();
        if let Some(domain) = s.strip_prefix("dns:") {
            return self.check_dns(domain, &token).await;
        }
        if let Some(login) = s.strip_prefix("github:") {
            let url = Url {
                host: "github.com".into(),
                path: format!("/{login}.keys"),
            };
            return match self.get(url).await {
                Err(reason) => Outcome::Failed(reason),
                Ok(page) if keys::lists_key(&page.body, key) => {
                    Outcome::Held(Evidence::of(&page.body))
                }
                Ok(_) => Outcome::Failed(format!(
                    "github.com/{login}.keys lists no ssh-ed25519 key equal to this one (add \
                     the line `signet key ssh` prints to the account's SSH keys)",
                )),
            };
        }
        let url = match Url::parse(s) {
            Ok(u) => u,
            Err(e) => return Outcome::Failed(e),
        };
        match self.get(url).await {
            Err(reason) => Outcome::Failed(reason),
            Ok(page) if token::contains_token(&page.body, &token) => {
                Outcome::Held(Evidence::of(&page.body))
            }
            Ok(page) => Outcome::Failed(format!(
                "the page at {} does not contain {token} as a whole word",
                page.url
            )),
        }
    }

    async fn check_dns(&self, domain: &str, token: &str) -> Outcome {
        let name = format!("_signet.{domain}.");
        let records = match self.resolver.txt_lookup(name.as_str()).await {
            Ok(r) => r,
            Err(e) if e.is_no_records_found() || e.is_nx_domain() => {
                return Outcome::Failed(format!("no TXT record at _signet.{domain}"));
            }
            Err(e) => {
                return Outcome::Failed(format!(
                    "the TXT records at _signet.{domain} cannot be looked up: {e}"
                ));
            }
        };
        let mut others = Vec::new();
        for record in records.iter() {
            let joined: Vec<u8> = record
                .txt_data()
                .iter()
                .flat_map(|s| s.iter().copied())
                .collect();
            if joined == token.as_bytes() {
                return Outcome::Held(Evidence::of(&joined));
            }
            if joined.starts_with(b"signet-key=") {
                others.push(String::from_utf8_lossy(&joined).into_owned());
            }
        }
        if others.is_empty() {
            Outcome::Failed(format!("no TXT record at _signet.{domain} is {token}"))
        } else {
            Outcome::Failed(format!(
                "the TXT record at _signet.{domain} names another key ({}), not {token}",
                others.join(", ")
            ))
        }
    }

    /// The addresses of `host`, each checked by the address rule. A host with any
    /// refused address is refused: the rule must hold for whichever one a connection
    /// would use.
    async fn resolve(&self, host: &str) -> Result<Vec<IpAddr>, String> {
        let name = format!("{host}.");
        let found = self.resolver.lookup_ip(name.as_str()).await.map_err(|e| {
            if e.is_no_records_found() || e.is_nx_domain() {
                format!("{host} has no address")
            } else {
                format!("{host} cannot be resolved: {e}")
            }
        })?;
        let addrs: Vec<IpAddr> = found.iter().collect();
        if addrs.is_empty() {
            return Err(format!("{host} has no address"));
        }
        if !self.allow_private {
            for ip in &addrs {
                if let Err(kind) = address::check(*ip) {
                    return Err(format!(
                        "refused: {host} resolves to {ip}, a {kind} address, which is not \
                         globally reachable (see docs/protocol.md, The address rule)"
                    ));
                }
            }
        }
        Ok(addrs)
    }

    /// `GET` of a claim URL with the redirect, status and size rules.
    async fn get(&self, mut url: Url) -> Result<Page, String> {
        let mut redirects = 0;
        loop {
            let addrs = self.resolve(&url.host).await?;
            match self.get_once(&url, &addrs).await? {
                Fetched::Body(body) => return Ok(Page { url, body }),
                Fetched::Redirect(location) => {
                    redirects += 1;
                    if redirects > self.limits.max_redirects {
                        return Err(format!(
                            "{url} redirects again after {} redirects; at most {} are followed",
                            self.limits.max_redirects, self.limits.max_redirects
                        ));
                    }
                    url = url.join(&location)?;
                }
            }
        }
    }

    async fn get_once(&self, url: &Url, addrs: &[IpAddr]) -> Result<Fetched, String> {
        let mut last = String::new();
        let mut tcp = None;
        for ip in addrs {
            match TcpStream::connect(SocketAddr::new(*ip, 443)).await {
                Ok(s) => {
                    tcp = Some(s);
                    break;
                }
                Err(e) => last = format!("{ip}: {e}"),
            }
        }
        let Some(tcp) = tcp else {
            return Err(format!("cannot connect to {} ({last})", url.host));
        };
        let server_name = ServerName::try_from(url.host.clone())
            .map_err(|e| format!("{} is not a TLS server name: {e}", url.host))?;
        let tls = self
            .tls
            .connect(server_name, tcp)
            .await
            .map_err(|e| format!("TLS with {} failed: {e}", url.host))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| format!("HTTP with {} failed: {e}", url.host))?;
        let driver = tokio::spawn(conn);
        let _abort = AbortOnDrop(driver);
        let request = Request::get(url.path.as_str())
            .header(header::HOST, url.host.as_str())
            .header(
                header::USER_AGENT,
                concat!("signet/", env!("CARGO_PKG_VERSION")),
            )
            .header(header::ACCEPT, "*/*")
            .body(Empty::<Bytes>::new())
            .map_err(|e| format!("{url} cannot be requested: {e}"))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|e| format!("GET {url} failed: {e}"))?;
        let status = response.status();
        if matches!(
            status,
            StatusCode::MOVED_PERMANENTLY
                | StatusCode::FOUND
                | StatusCode::SEE_OTHER
                | StatusCode::TEMPORARY_REDIRECT
                | StatusCode::PERMANENT_REDIRECT
        ) {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| format!("{url} redirects ({status}) without a Location"))?;
            return Ok(Fetched::Redirect(location.to_owned()));
        }
        if status != StatusCode::OK {
            return Err(format!("{url} answered {status}, not 200 OK"));
        }
        let max = self.limits.max_body;
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| format!("the body of {url} broke off: {e}"))?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() + data.len() > max {
                    return Err(format!(
                        "the body of {url} is over {} KiB, the most a claim page may be",
                        max / 1024
                    ));
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(Fetched::Body(bytes))
    }
}

enum Fetched {
    Body(Vec<u8>),
    Redirect(String),
}

struct AbortOnDrop(tokio::task::JoinHandle<Result<(), hyper::Error>>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// 2000-01-01T00:00:00Z, the earliest timestamp.
const EARLIEST: u64 = 946_684_800;

fn earliest_timestamp() -> Timestamp {
    #[expect(
        clippy::expect_used,
        reason = "2000-01-01T00:00:00Z is the earliest valid timestamp, so it parses"
    )]
    Timestamp::parse("2000-01-01T00:00:00Z").expect("the earliest timestamp parses")
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    fn check(base: &str, location: &str, want: Result<&str, &str>) {
        let url = Url::parse(base).unwrap();
        match (url.join(location), want) {
            (Ok(u), Ok(w)) => assert_eq!(u.to_string(), w, "{base} + {location}"),
            (Err(e), Err(needle)) => assert!(e.contains(needle), "{base} + {location}: {e}"),
            (got, want) => panic!("{base} + {location}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn redirect_targets() {
        check(
            "https://a.test/x/y",
            "https://b.test/z",
            Ok("https://b.test/z"),
        );
        check("https://a.test/x/y", "//b.test/z", Ok("https://b.test/z"));
        check("https://a.test/x/y", "/z", Ok("https://a.test/z"));
        check("https://a.test/x/y", "z", Ok("https://a.test/x/z"));
        check("https://a.test/", "z", Ok("https://a.test/z"));
        check("https://a.test/x", "http://a.test/x", Err("not https://"));
        check("https://a.test/x", "ftp://a.test/x", Err("not https://"));
        check(
            "https://a.test/x",
            "https://a.test:8443/x",
            Err("has a port"),
        );
        check(
            "https://a.test/x",
            "https://u@a.test/x",
            Err("user information"),
        );
        check("https://a.test/x", "/x?y=1", Err("query"));
        check(
            "https://a.test/x",
            "https://A.test/x",
            Err("not a claim URL"),
        );
    }

    #[test]
    fn evidence_form() {
        let e = Evidence::of(b"abc");
        assert_eq!(
            e.as_str(),
            "sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Evidence::parse(e.as_str()), Some(e));
        assert_eq!(Evidence::parse("sha256:ABC"), None);
        assert_eq!(Evidence::parse("md5:00"), None);
    }
}
