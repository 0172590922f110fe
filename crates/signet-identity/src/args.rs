//! The identity flags, the same on `signet-server`, `signet verify` and `signet audit`
//! (docs/operating.md, *Identity claims*).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use crate::{Config, Error, Limits};

/// The identity flags, for a binary to `#[command(flatten)]`.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct IdentityArgs {
    /// A PEM file of root certificates trusted for claim sites besides the usual web
    /// roots.
    #[arg(long, value_name = "FILE")]
    pub identity_ca: Option<PathBuf>,
    /// The DNS server for dns: claims and for resolving claim hosts, IP[:PORT] (port 53
    /// when omitted) [default: the system's resolver configuration].
    #[arg(long, value_name = "IP[:PORT]", value_parser = dns_server)]
    pub identity_dns: Option<SocketAddr>,
    /// Turn the address rule off, so claims may point at loopback and private
    /// addresses: for tests and private deployments only.
    #[arg(long)]
    pub identity_allow_private: bool,
}

impl IdentityArgs {
    /// The checker's configuration these flags ask for (reads `--identity-ca`).
    pub fn config(&self) -> Result<Config, Error> {
        let mut extra_roots = Vec::new();
        if let Some(path) = &self.identity_ca {
            let text = std::fs::read(path).map_err(|source| Error::CaFile {
                path: path.clone(),
                source,
            })?;
            for cert in CertificateDer::pem_slice_iter(&text) {
                extra_roots.push(cert.map_err(|e| Error::CaPem {
                    path: path.clone(),
                    reason: e.to_string(),
                })?);
            }
            if extra_roots.is_empty() {
                return Err(Error::CaPem {
                    path: path.clone(),
                    reason: "no certificate in it".into(),
                });
            }
        }
        Ok(Config {
            extra_roots,
            dns: self.identity_dns,
            allow_private: self.identity_allow_private,
            limits: Limits::default(),
        })
    }
}

/// `IP` or `IP:PORT` (an IPv6 address with a port in brackets: `[::1]:5353`).
pub fn dns_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = s.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, 53));
    }
    Err(format!(
        "{s:?} is not an IP address with an optional port (give one such as 127.0.0.1:5353 or 9.9.9.9)"
    ))
}

#[cfg(test)]
#[expect(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;

    #[test]
    fn dns_servers() {
        let cases: &[(&str, Option<&str>)] = &[
            ("127.0.0.1", Some("127.0.0.1:53")),
            ("127.0.0.1:5353", Some("127.0.0.1:5353")),
            ("::1", Some("[::1]:53")),
            ("[::1]:5353", Some("[::1]:5353")),
            ("dns.example", None),
            ("127.0.0.1:", None),
            ("127.0.0.1:99999", None),
            ("", None),
        ];
        for (input, want) in cases {
            let got = dns_server(input).ok().map(|a| a.to_string());
            assert_eq!(got.as_deref(), *want, "{input:?}");
        }
        assert!(dns_server("x").unwrap_err().contains("not an IP address"));
    }

    #[test]
    fn ca_files() {
        let dir = std::env::temp_dir().join(format!("signet-identity-ca-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let args = |p: &std::path::Path| IdentityArgs {
            identity_ca: Some(p.to_owned()),
            ..IdentityArgs::default()
        };
        let e = args(&empty).config().unwrap_err().to_string();
        assert!(e.contains("holds no PEM certificate"), "{e}");
        let e = args(&dir.join("missing.pem"))
            .config()
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot read the identity CA file"), "{e}");
        assert!(
            IdentityArgs::default()
                .config()
                .unwrap()
                .extra_roots
                .is_empty()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
