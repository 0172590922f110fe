//! Fixtures for identity claims (docs/protocol.md, *Identity claims*), all on this
//! machine: a test CA, HTTPS sites on port 443 of addresses of their own in 127.0.0.0/8
//! (a claim has no port), and a DNS server on loopback that answers A and TXT records for
//! the test names, `github.com` included. Pages can be changed while a test runs, and a
//! page can be slow, redirect, be big or answer another status. Each site counts the
//! connections it accepted, so a test can show that a refused address was never dialled.
//!
//! Binding port 443 needs root or `CAP_NET_BIND_SERVICE`; the tests run as root.
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test fixtures: a failure is a test failure"
)]

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

/// What a site answers for one path.
#[derive(Debug, Clone)]
pub enum Page {
    /// `200` with this body.
    Body(Vec<u8>),
    /// A redirect with this status (301, 302, 303, 307, 308) to this `Location`.
    Redirect(u16, String),
    /// Another status, with an empty body.
    Status(u16),
    /// `200` announcing this body, then sending its first byte and stalling this long
    /// before the rest.
    Slow(Vec<u8>, Duration),
}

#[derive(Debug, Default)]
struct Zone {
    a: HashMap<String, Vec<Ipv4Addr>>,
    txt: HashMap<String, Vec<Vec<Vec<u8>>>>,
}

/// The test CA, the DNS server and the sites. Dropping it stops them all.
pub struct Fixtures {
    runtime: Option<tokio::runtime::Runtime>,
    dir: tempfile::TempDir,
    ca: Issuer<'static, KeyPair>,
    ca_pem: PathBuf,
    dns: SocketAddr,
    zone: Arc<Mutex<Zone>>,
}

impl std::fmt::Debug for Fixtures {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixtures")
            .field("dns", &self.dns)
            .field("ca_pem", &self.ca_pem)
            .finish()
    }
}

/// One HTTPS site on port 443 of an address of its own.
#[derive(Debug, Clone)]
pub struct Site {
    /// Its host name (in the fixture DNS, with a certificate from the test CA).
    pub name: String,
    /// Its address in 127.0.0.0/8.
    pub addr: Ipv4Addr,
    pages: Arc<Mutex<HashMap<String, Page>>>,
    accepts: Arc<AtomicUsize>,
}

impl Site {
    /// Sets what `path` answers (from the next request on).
    pub fn set(&self, path: &str, page: Page) {
        self.pages.lock().unwrap().insert(path.to_owned(), page);
    }

    /// The connections this site accepted so far.
    pub fn accepts(&self) -> usize {
        self.accepts.load(Ordering::SeqCst)
    }

    /// `https://<name><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("https://{}{path}", self.name)
    }
}

/// The next loopback address to try for a site: 127.<pid-based>.<n>.<m>, so test
/// processes running at once do not collide.
static NEXT_SITE: AtomicU32 = AtomicU32::new(0);

impl Fixtures {
    /// Starts the CA and the DNS server (sites come with [`Fixtures::site`]).
    pub fn start() -> Fixtures {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .thread_name("identity-fixtures")
            .build()
            .expect("fixture runtime");
        let dir = tempfile::tempdir().expect("fixture folder");
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "Signet test CA");
        let cert = params.self_signed(&key).expect("CA certificate");
        let ca_pem = dir.path().join("test-ca.pem");
        std::fs::write(&ca_pem, cert.pem()).expect("write the CA");
        let ca = Issuer::new(params, key);

        let zone = Arc::new(Mutex::new(Zone::default()));
        // Sockets are bound with std and handed to the fixture runtime, so the fixtures
        // start from sync and async tests alike.
        let socket = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind the fixture DNS server");
        socket
            .set_nonblocking(true)
            .expect("non-blocking DNS socket");
        let dns = socket.local_addr().expect("DNS address");
        let dns_zone = zone.clone();
        runtime.spawn(async move {
            if let Ok(socket) = tokio::net::UdpSocket::from_std(socket) {
                serve_dns(socket, dns_zone).await;
            }
        });
        Fixtures {
            runtime: Some(runtime),
            dir,
            ca,
            ca_pem,
            dns,
            zone,
        }
    }

    /// The DNS server's address, for `--identity-dns`.
    pub fn dns(&self) -> SocketAddr {
        self.dns
    }

    /// The test CA's PEM file, for `--identity-ca`.
    pub fn ca_pem(&self) -> &std::path::Path {
        &self.ca_pem
    }

    /// The identity flags that point a server or `signet verify --online` at these
    /// fixtures, with the address rule off (the sites are on loopback).
    pub fn flags(&self) -> Vec<String> {
        let mut flags = self.strict_flags();
        flags.push("--identity-allow-private".into());
        flags
    }

    /// The identity flags with the address rule on: every fixture site is refused.
    pub fn strict_flags(&self) -> Vec<String> {
        vec![
            "--identity-dns".into(),
            self.dns.to_string(),
            "--identity-ca".into(),
            self.ca_pem.display().to_string(),
        ]
    }

    /// A scratch folder that lives as long as the fixtures.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// Sets the A records of `name` (replacing any).
    pub fn set_a(&self, name: &str, addrs: &[Ipv4Addr]) {
        self.zone
            .lock()
            .unwrap()
            .a
            .insert(name.to_owned(), addrs.to_vec());
    }

    /// Sets the TXT records of `name`: each record a list of strings.
    pub fn set_txt(&self, name: &str, records: &[&[&str]]) {
        let records = records
            .iter()
            .map(|r| r.iter().map(|s| s.as_bytes().to_vec()).collect())
            .collect();
        self.zone
            .lock()
            .unwrap()
            .txt
            .insert(name.to_owned(), records);
    }

    /// Starts an HTTPS site for `name` on port 443 of a fresh loopback address, with a
    /// certificate from the test CA, and points `name`'s A record at it.
    pub fn site(&self, name: &str) -> Site {
        let key = KeyPair::generate().expect("site key");
        let params = CertificateParams::new(vec![name.to_owned()]).expect("site params");
        let cert = params.signed_by(&key, &self.ca).expect("site certificate");
        let chain = vec![cert.der().clone()];
        let private =
            rustls::pki_types::PrivateKeyDer::try_from(key.serialize_der()).expect("site key der");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, private)
            .expect("site TLS config");
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let runtime = self.runtime.as_ref().expect("running");
        let pid = std::process::id();
        let (listener, addr) = (0..2000)
            .find_map(|_| {
                let n = NEXT_SITE.fetch_add(1, Ordering::SeqCst);
                let addr = Ipv4Addr::new(
                    127,
                    10 + (pid % 200) as u8,
                    1 + ((n / 250) % 250) as u8,
                    1 + (n % 250) as u8,
                );
                let bound =
                    std::net::TcpListener::bind(SocketAddr::new(IpAddr::V4(addr), 443)).ok()?;
                bound.set_nonblocking(true).ok()?;
                Some((bound, addr))
            })
            .expect("a free 127.x.y.z:443 for a fixture site");
        let site = Site {
            name: name.to_owned(),
            addr,
            pages: Arc::new(Mutex::new(HashMap::new())),
            accepts: Arc::new(AtomicUsize::new(0)),
        };
        let pages = site.pages.clone();
        let accepts = site.accepts.clone();
        runtime.spawn(async move {
            let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
                return;
            };
            while let Ok((tcp, _)) = listener.accept().await {
                accepts.fetch_add(1, Ordering::SeqCst);
                let acceptor = acceptor.clone();
                let pages = pages.clone();
                tokio::spawn(async move {
                    if let Ok(tls) = acceptor.accept(tcp).await {
                        let _ =
                            tokio::time::timeout(Duration::from_secs(30), answer(tls, pages)).await;
                    }
                });
            }
        });
        self.set_a(name, &[addr]);
        site
    }
}

impl Drop for Fixtures {
    fn drop(&mut self) {
        // Tests may drop the fixtures inside an async context, where a blocking
        // shutdown is not allowed.
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// Answers one HTTP/1.1 request on a TLS stream, then closes it.
async fn answer(
    mut tls: tokio_rustls::server::TlsStream<tokio::net::TcpStream>,
    pages: Arc<Mutex<HashMap<String, Page>>>,
) -> std::io::Result<()> {
    let mut head = Vec::new();
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = tls.read(&mut buf).await?;
        if n == 0 || head.len() > 16 * 1024 {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&head);
    let path = text.split(' ').nth(1).unwrap_or("/").to_owned();
    let page = pages.lock().unwrap().get(&path).cloned();
    let (status, extra, body, stall) = match page {
        Some(Page::Body(b)) => (200, String::new(), b, None),
        Some(Page::Redirect(code, location)) => {
            (code, format!("Location: {location}\r\n"), Vec::new(), None)
        }
        Some(Page::Status(code)) => (code, String::new(), Vec::new(), None),
        Some(Page::Slow(b, delay)) => (200, String::new(), b, Some(delay)),
        None => (404, String::new(), b"not found".to_vec(), None),
    };
    let header = format!(
        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nContent-Type: text/plain\r\n{extra}Connection: close\r\n\r\n",
        body.len()
    );
    tls.write_all(header.as_bytes()).await?;
    match stall {
        Some(delay) if !body.is_empty() => {
            tls.write_all(&body[..1]).await?;
            tls.flush().await?;
            tokio::time::sleep(delay).await;
            tls.write_all(&body[1..]).await?;
        }
        _ => tls.write_all(&body).await?,
    }
    tls.flush().await?;
    tls.shutdown().await
}

/// The DNS responder: A and TXT from the zone, NXDOMAIN for unknown names, an empty
/// answer for other types of known names.
async fn serve_dns(socket: tokio::net::UdpSocket, zone: Arc<Mutex<Zone>>) {
    let mut buf = vec![0u8; 4096];
    loop {
        let Ok((n, peer)) = socket.recv_from(&mut buf).await else {
            return;
        };
        let Ok(query) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let mut reply = Message::new();
        reply
            .set_id(query.id())
            .set_message_type(MessageType::Response)
            .set_op_code(query.op_code())
            .set_recursion_desired(query.recursion_desired())
            .set_recursion_available(true)
            .set_authoritative(true);
        let mut known = false;
        for q in query.queries() {
            reply.add_query(q.clone());
            let name = q.name().to_ascii();
            let name = name.trim_end_matches('.').to_ascii_lowercase();
            let zone = zone.lock().unwrap();
            let a = zone.a.get(&name);
            let txt = zone.txt.get(&name);
            known |= a.is_some() || txt.is_some();
            let owner: Name = q.name().clone();
            match q.query_type() {
                RecordType::A => {
                    for ip in a.into_iter().flatten() {
                        reply.add_answer(Record::from_rdata(owner.clone(), 0, RData::A(A(*ip))));
                    }
                }
                RecordType::TXT => {
                    for record in txt.into_iter().flatten() {
                        let parts: Vec<&[u8]> = record.iter().map(Vec::as_slice).collect();
                        reply.add_answer(Record::from_rdata(
                            owner.clone(),
                            0,
                            RData::TXT(TXT::from_bytes(parts)),
                        ));
                    }
                }
                _ => {}
            }
        }
        if !known {
            reply.set_response_code(ResponseCode::NXDomain);
        }
        if let Ok(bytes) = reply.to_vec() {
            let _ = socket.send_to(&bytes, peer).await;
        }
    }
}

/// One claim of the standard set: what it is, whether it should hold, and a piece of
/// the reason it fails.
#[derive(Debug, Clone)]
pub struct Case {
    /// A short name for messages.
    pub name: &'static str,
    /// The claim.
    pub claim: String,
    /// Whether it holds.
    pub holds: bool,
    /// A substring of the failure reason (empty when it holds).
    pub reason: &'static str,
}

/// The token for a key, as docs/protocol.md gives it (computed here, apart from the
/// checker's own code).
pub fn token_for(key: &[u8; 32]) -> String {
    format!("signet-key={}", signet_core::b64::encode(key))
}

/// The `ssh-ed25519` line of a key, built by hand from RFC 8709's wire form.
pub fn ssh_line_for(key: &[u8; 32]) -> String {
    let mut blob = Vec::new();
    blob.extend_from_slice(&11u32.to_be_bytes());
    blob.extend_from_slice(b"ssh-ed25519");
    blob.extend_from_slice(&32u32.to_be_bytes());
    blob.extend_from_slice(key);
    format!("ssh-ed25519 {} test", signet_core::b64::encode(&blob))
}

/// How long the slow page stalls: well past the 5 s a check may take.
pub const SLOW_STALL: Duration = Duration::from_secs(8);

/// Sets up every case of the claim rules on these fixtures (sites, pages, records), the
/// `i`th case naming `key_for(i)`. Returns the cases and the sites, which tests use to
/// change pages or count connections.
pub fn standard_cases(
    fx: &Fixtures,
    key_for: &dyn Fn(usize) -> [u8; 32],
) -> (Vec<Case>, Vec<Site>) {
    let mut cases = Vec::new();
    let mut sites = Vec::new();
    let mut add = |name, claim: String, holds, reason| {
        cases.push(Case {
            name,
            claim,
            holds,
            reason,
        })
    };
    let page =
        |key: &[u8; 32]| format!("<html><p>my key: {}</p></html>\n", token_for(key)).into_bytes();

    let good = fx.site("good.test");
    good.set("/", Page::Body(page(&key_for(0))));
    add("a good https page", good.url("/"), true, "");

    let embedded = fx.site("embedded.test");
    embedded.set(
        "/",
        Page::Body(format!("run: QUJD{}QUJD\n", token_for(&key_for(1))).into_bytes()),
    );
    add(
        "the token inside a longer base64 run",
        embedded.url("/"),
        false,
        "does not contain",
    );

    let hop1 = fx.site("hop1.test");
    let hop2 = fx.site("hop2.test");
    hop1.set("/start", Page::Redirect(301, "https://hop2.test/b".into()));
    hop2.set("/b", Page::Redirect(302, "/c/x".into()));
    hop2.set("/c/x", Page::Redirect(307, "y".into()));
    hop2.set("/c/y", Page::Body(page(&key_for(2))));
    add(
        "a redirect chain to a good page",
        hop1.url("/start"),
        true,
        "",
    );

    let plain = fx.site("plain.test");
    plain.set("/", Page::Redirect(302, "http://plain.test/page".into()));
    plain.set("/page", Page::Body(page(&key_for(3))));
    add(
        "a redirect to http://",
        plain.url("/"),
        false,
        "not https://",
    );

    let four = fx.site("four.test");
    for i in 1..=4 {
        four.set(&format!("/{i}"), Page::Redirect(308, format!("/{}", i + 1)));
    }
    four.set("/5", Page::Body(page(&key_for(4))));
    add("four redirects", four.url("/1"), false, "at most 3");

    let big = fx.site("big.test");
    let mut body = page(&key_for(5));
    body.resize(64 * 1024 + 1, b' ');
    big.set("/", Page::Body(body));
    add("a body over 64 KiB", big.url("/"), false, "over 64 KiB");

    let slow = fx.site("slow.test");
    slow.set("/", Page::Slow(page(&key_for(6)), SLOW_STALL));
    add("a slow body", slow.url("/"), false, "longer than 5");

    fx.set_txt(
        "_signet.good-dns.test",
        &[&["v=spf1 -all"], &[&token_for(&key_for(7))]],
    );
    add("a good DNS TXT", "dns:good-dns.test".into(), true, "");

    let t = token_for(&key_for(8));
    fx.set_txt("_signet.split.test", &[&[&t[..20], &t[20..]]]);
    add(
        "a TXT split into two strings",
        "dns:split.test".into(),
        true,
        "",
    );

    fx.set_txt("_signet.other.test", &[&[&token_for(&[0xee; 32])]]);
    add(
        "a TXT with another key",
        "dns:other.test".into(),
        false,
        "names another key",
    );

    fx.set_a("none.test", &[Ipv4Addr::new(127, 0, 0, 1)]);
    add(
        "no TXT",
        "dns:none.test".into(),
        false,
        "no TXT record at _signet.none.test",
    );

    let github = fx.site("github.com");
    github.set(
        "/alice.keys",
        Page::Body(
            format!(
                "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ==\n{}\n",
                ssh_line_for(&key_for(11))
            )
            .into_bytes(),
        ),
    );
    add("a good github .keys", "github:alice".into(), true, "");
    github.set(
        "/bob.keys",
        Page::Body(format!("{}\n", ssh_line_for(&[0xee; 32])).into_bytes()),
    );
    add(
        "a .keys without the key",
        "github:bob".into(),
        false,
        "lists no ssh-ed25519 key",
    );

    sites.extend([good, embedded, hop1, hop2, plain, four, big, slow, github]);
    (cases, sites)
}

/// Claims whose hosts resolve to addresses the address rule refuses: loopback (a
/// real fixture site, whose accept count must stay 0), private, link-local and the
/// cloud metadata address. Each holds if the rule were off... except that only the
/// loopback one has a site behind it.
pub fn refused_cases(fx: &Fixtures, key: &[u8; 32]) -> (Vec<Case>, Site) {
    let site = fx.site("loopback.test");
    site.set(
        "/",
        Page::Body(format!("{}\n", token_for(key)).into_bytes()),
    );
    fx.set_a("private.test", &[Ipv4Addr::new(10, 1, 2, 3)]);
    fx.set_a("linklocal.test", &[Ipv4Addr::new(169, 254, 7, 7)]);
    fx.set_a("metadata.test", &[Ipv4Addr::new(169, 254, 169, 254)]);
    let case = |name, claim: String, reason| Case {
        name,
        claim,
        holds: false,
        reason,
    };
    (
        vec![
            case("loopback", site.url("/"), "a loopback address"),
            case(
                "private",
                "https://private.test/".into(),
                "a private address",
            ),
            case(
                "link-local",
                "https://linklocal.test/".into(),
                "a link-local address",
            ),
            case(
                "metadata",
                "https://metadata.test/".into(),
                "169.254.169.254, a link-local",
            ),
        ],
        site,
    )
}
