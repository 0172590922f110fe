//! Which servers the benchmark may send traffic to.
//!
//! A load generator pointed at the wrong URL is a denial-of-service tool, so by default
//! it talks only to loopback addresses: `127.0.0.0/8`, `::1` (also written as the
//! IPv4-mapped `::ffff:127.x.y.z`) and the name `localhost`. Anything else needs
//! `--allow-remote`. Redirects are never followed (see `http::agent`), so a loopback
//! server cannot bounce the load elsewhere.

use std::net::IpAddr;

use anyhow::{Context as _, Result, bail};

/// A server base URL that passed the checks: `http://host[:port]` without a trailing
/// slash, ready to have `/v1/...` appended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerUrl(String);

impl ServerUrl {
    /// Parses `url` and, unless `allow_remote`, refuses a host that is not loopback.
    pub fn parse(url: &str, allow_remote: bool) -> Result<ServerUrl> {
        let host = host_of(url)?;
        if !allow_remote && !is_loopback_host(&host) {
            bail!(
                "{url} is not a loopback address (127.0.0.0/8, ::1 or localhost); \
                 pass --allow-remote to load a remote server you operate"
            );
        }
        Ok(ServerUrl(url.trim_end_matches('/').to_owned()))
    }

    /// The URL of `path`, which starts with `/`.
    pub fn join(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The base URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The host of an `http://` or `https://` URL, without brackets around an IPv6 address.
fn host_of(url: &str) -> Result<String> {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .with_context(|| format!("{url:?} is not an http:// or https:// URL"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if authority.contains('@') {
        bail!("{url:?} has user information; give the server as http://host:port");
    }
    let host = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6
            .split_once(']')
            .with_context(|| format!("{url:?} has an unclosed '[' in its host"))?;
        if !(after.is_empty() || after.starts_with(':')) {
            bail!("{url:?} has text after its IPv6 address");
        }
        host
    } else {
        authority.split(':').next().unwrap_or_default()
    };
    if host.is_empty() {
        bail!("{url:?} has no host");
    }
    Ok(host.to_owned())
}

/// Whether `host` (no brackets) names this machine: `localhost`, an address in
/// `127.0.0.0/8`, `::1`, or an IPv4-mapped loopback address.
pub fn is_loopback_host(host: &str) -> bool {
    if host.eq_ignore_ascii_case("localhost") || host.eq_ignore_ascii_case("localhost.") {
        return true;
    }
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(v4)) => v4.is_loopback(),
        Ok(IpAddr::V6(v6)) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
        Err(_) => false,
    }
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    /// `expected` is `Some(base)` when the URL is accepted without `--allow-remote`.
    fn check(url: &str, expected: Option<&str>) {
        let got = ServerUrl::parse(url, false).ok();
        assert_eq!(got.as_ref().map(ServerUrl::as_str), expected, "{url}");
    }

    #[test]
    fn loopback_urls_are_accepted() {
        check("http://127.0.0.1:8080", Some("http://127.0.0.1:8080"));
        check("http://127.0.0.1:8080/", Some("http://127.0.0.1:8080"));
        check("http://127.255.3.4", Some("http://127.255.3.4"));
        check("http://[::1]:9000/", Some("http://[::1]:9000"));
        check(
            "http://[::ffff:127.0.0.1]:1",
            Some("http://[::ffff:127.0.0.1]:1"),
        );
        check("http://localhost:8080", Some("http://localhost:8080"));
        check("https://LOCALHOST", Some("https://LOCALHOST"));
    }

    #[test]
    fn other_hosts_are_refused() {
        check("http://128.0.0.1:8080", None);
        check("http://10.0.0.1", None);
        check("http://0.0.0.0:8080", None);
        check("http://[::]:8080", None);
        check("http://[::2]:8080", None);
        check("http://example.org", None);
        check("http://localhost.example.org", None);
        check("http://127.0.0.1.example.org", None);
        check("http://127.1:8080", None);
        check("http://127.0.0.1@example.org", None);
        check("http://user@127.0.0.1", None);
        check("ftp://127.0.0.1", None);
        check("127.0.0.1:8080", None);
        check("http://", None);
        check("http://[::1", None);
    }

    #[test]
    fn allow_remote_accepts_any_host_but_not_garbage() {
        assert!(ServerUrl::parse("http://example.org:8080", true).is_ok());
        assert!(ServerUrl::parse("example.org", true).is_err());
    }

    #[test]
    fn join_appends_paths() {
        let url = ServerUrl::parse("http://127.0.0.1:1/", false).unwrap();
        assert_eq!(url.join("/v1/log"), "http://127.0.0.1:1/v1/log");
    }
}
