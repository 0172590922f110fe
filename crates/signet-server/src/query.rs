//! The one strict parser of query strings and numbers in paths (see docs/http-api.md,
//! *Query parameters*): canonical decimal numbers, and no unknown or repeated
//! parameters. Every route takes its query through [`Query::parse`].

use std::collections::HashMap;

use crate::AppError;

/// A parsed query string: each parameter at most once, each one known to the route.
#[derive(Debug)]
pub(crate) struct Query {
    params: HashMap<String, String>,
}

impl Query {
    /// Parses `raw` (the part after `?`, if any) for a route that takes the parameters
    /// `known`.
    pub(crate) fn parse(raw: Option<&str>, known: &[&str]) -> Result<Query, AppError> {
        let mut params = HashMap::new();
        for pair in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let k = percent_decode(k)?;
            let v = percent_decode(v)?;
            if !known.contains(&k.as_str()) {
                return Err(AppError::bad_request(if known.is_empty() {
                    format!("unknown parameter {k:?}: this route takes no parameters")
                } else {
                    format!(
                        "unknown parameter {k:?}: this route takes {}",
                        known.join(", ")
                    )
                }));
            }
            if params.insert(k.clone(), v).is_some() {
                return Err(AppError::bad_request(format!(
                    "the parameter {k:?} is given twice; give it once"
                )));
            }
        }
        Ok(Query { params })
    }

    /// The text of parameter `name`, if given.
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }

    /// The number in parameter `name`, which must be given.
    pub(crate) fn required_number(&self, name: &str) -> Result<u64, AppError> {
        let v = self
            .get(name)
            .ok_or_else(|| AppError::bad_request(format!("the parameter {name} is required")))?;
        number(name, v)
    }

    /// The number in parameter `name`, if given.
    pub(crate) fn number(&self, name: &str) -> Result<Option<u64>, AppError> {
        self.get(name).map(|v| number(name, v)).transpose()
    }
}

/// A canonical decimal number: digits only (no sign, no space), no leading zero.
pub(crate) fn number(what: &str, value: &str) -> Result<u64, AppError> {
    let digits = !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit());
    if !digits || (value.len() > 1 && value.starts_with('0')) {
        return Err(AppError::bad_request(format!(
            "{what} must be a decimal integer with no sign, spaces or leading zeros, not {value:?}"
        )));
    }
    value
        .parse()
        .map_err(|_| AppError::bad_request(format!("{what} is too large: {value:?}")))
}

/// Decodes `application/x-www-form-urlencoded` text (`+` is a space).
fn percent_decode(s: &str) -> Result<String, AppError> {
    let bad = || {
        AppError::bad_request(format!(
            "bad percent-encoding in {s:?}: write a byte as % and two hex digits"
        ))
    };
    let mut out = Vec::with_capacity(s.len());
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
                let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
                if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(bad());
                }
                out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(raw: &str, known: &[&str], expect: Result<&[(&str, &str)], &str>) {
        match (Query::parse(Some(raw), known), expect) {
            (Ok(q), Ok(pairs)) => {
                assert_eq!(q.params.len(), pairs.len(), "{raw}");
                for (k, v) in pairs {
                    assert_eq!(q.get(k), Some(*v), "{raw}");
                }
            }
            (Err(e), Err(needle)) => {
                let text = format!("{e:?}");
                assert!(text.contains(needle), "{raw}: {text}");
            }
            (got, want) => panic!("{raw}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn queries() {
        check("", &[], Ok(&[]));
        check("a=1&b=x%20y", &["a", "b"], Ok(&[("a", "1"), ("b", "x y")]));
        check("q=a+b", &["q"], Ok(&[("q", "a b")]));
        check("a=1", &[], Err("takes no parameters"));
        check("c=1", &["a"], Err("unknown parameter \\\"c\\\""));
        check("a=1&a=2", &["a"], Err("given twice"));
        check("a=%zz", &["a"], Err("percent-encoding"));
        check("a=%+1", &["a"], Err("percent-encoding"));
        check("a=%ff", &["a"], Err("percent-encoding"));
    }

    #[test]
    fn numbers() {
        for good in ["0", "1", "10", "18446744073709551615"] {
            assert_eq!(number("n", good).ok(), good.parse().ok(), "{good}");
        }
        for bad in [
            "",
            "00",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1x",
            "0x1",
            "1e3",
            "18446744073709551616",
        ] {
            assert!(number("n", bad).is_err(), "{bad:?}");
        }
    }
}
