//! `signet-bench search`: how fast `GET /v1/signatories?q=` answers a look-alike search
//! on a letter with many signers.
//!
//! The queries are the names `signet-bench ingest` gives its signers (`Bench Signer <n>`
//! for a random `n` below the letter's signer count), each in one of four spellings: lower
//! case, upper case, with Cyrillic look-alike letters (`Bеnch Ѕignеr`), and the
//! `signer <n>` part alone. Each answer must list at least one signer, and every signer
//! it lists must match the query as the server promises (docs/http-api.md): the query's
//! look-alike skeleton is a substring of the name's or the affiliation's. A query that
//! matches only a handful of the signers makes the server scan them all, the slow case.

use std::time::Duration;

use anyhow::{Context as _, Result, bail};
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use signet_core::lookalike::skeleton;

use crate::http;
use crate::reads;
use crate::stats::Latency;

/// What to run.
#[derive(Debug)]
pub struct Options {
    /// The server and the load.
    pub load: reads::Options,
    /// The letter (ID or slug); default: the first letter the log lists.
    pub letter: Option<String>,
}

/// The outcome (the `--json` schema of `signet-bench search` in README.md).
#[derive(Debug, Serialize)]
pub struct SearchOutcome {
    /// `"search"`.
    pub command: &'static str,
    /// The letter searched.
    pub letter: String,
    /// Its signers shown now, as `/v1/log` counts them.
    pub signers: u64,
    /// The load and what it measured (`ok` counts answers that matched as promised).
    #[serde(flatten)]
    pub load: reads::Outcome,
}

#[derive(Debug, Deserialize)]
struct Log {
    letters: Vec<Letter>,
}

#[derive(Debug, Deserialize)]
struct Letter {
    id: String,
    slug: String,
    signers: u64,
}

#[derive(Debug, Deserialize)]
struct Page {
    items: Vec<Row>,
}

#[derive(Debug, Deserialize)]
struct Row {
    name: String,
    affiliation: Option<String>,
}

/// The query for signer `n` in spelling `variant % 4`.
pub fn query(n: u64, variant: u64) -> String {
    match variant % 4 {
        0 => format!("bench signer {n}"),
        1 => format!("BENCH SIGNER {n}"),
        // Cyrillic ie, Dze and ie: a different string, the same skeleton.
        2 => format!("B\u{435}nch \u{405}ign\u{435}r {n}"),
        _ => format!("signer {n}"),
    }
}

/// Every row matches `q` as the server promises, and there is at least one.
fn check(q: &str, body: &str) -> Result<()> {
    let page: Page = serde_json::from_str(body).context("not the JSON of /v1/signatories")?;
    if page.items.is_empty() {
        bail!("no signer matched {q:?}");
    }
    let want = skeleton(q);
    for row in &page.items {
        let matches = skeleton(&row.name).contains(&want)
            || row
                .affiliation
                .as_deref()
                .is_some_and(|a| skeleton(a).contains(&want));
        if !matches {
            bail!("{:?} was listed for {q:?} but does not match it", row.name);
        }
    }
    Ok(())
}

/// Runs the benchmark.
pub fn run(options: &Options) -> Result<SearchOutcome> {
    let agent = http::agent(Duration::from_secs(10));
    let answer = http::get(&agent, &options.load.server, "/v1/log")?;
    let log: Log = serde_json::from_str(&answer.body).context("GET /v1/log")?;
    let letter = match &options.letter {
        None => log.letters.into_iter().next(),
        Some(l) => log.letters.into_iter().find(|x| &x.id == l || &x.slug == l),
    }
    .context("the log has no such letter; give --letter with an ID or slug from /v1/log")?;
    if letter.signers == 0 {
        bail!(
            "letter {} has no signers; fill it first with `signet-bench ingest`",
            letter.slug
        );
    }
    let signers = letter.signers;
    let id = letter.id.clone();
    let outcome = reads::run(
        &options.load,
        |rng| {
            let n = reads::next_random(rng) % signers;
            let q = query(n, reads::next_random(rng));
            let path = format!(
                "/v1/signatories?letter={id}&q={}",
                utf8_percent_encode(&q, NON_ALPHANUMERIC)
            );
            (path, q)
        },
        |q, body| check(q, body),
    )?;
    Ok(SearchOutcome {
        command: "search",
        letter: letter.id,
        signers,
        load: outcome,
    })
}

/// The text report.
pub fn text(o: &SearchOutcome, latency: impl Fn(&Latency) -> String) -> String {
    format!(
        "signet-bench search: GET /v1/signatories?q= on a letter of {} signers, {} workers\n\
         requests         {} ({} answers matched as promised)\n\
         elapsed          {:.3} s\n\
         searches         {:.0} /s\n\
         latency ms       {}\n",
        o.signers,
        o.load.concurrency,
        o.load.requests,
        o.load.ok,
        o.load.elapsed_s,
        o.load.ok_per_s,
        latency(&o.load.latency_ms),
    )
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_has_the_names_skeleton() {
        let name = skeleton("Bench Signer 4821");
        for v in 0..3 {
            let q = query(4821, v);
            assert_eq!(skeleton(&q), name, "{q}");
        }
        assert!(name.contains(&skeleton(&query(4821, 3))));
        // A spelling that differs from the name in bytes, not only in case.
        assert!(!query(1, 2).to_lowercase().contains("bench signer"));
    }

    #[test]
    fn a_row_that_does_not_match_is_caught() {
        let good = r#"{"items":[{"name":"Bench Signer 12","affiliation":null}]}"#;
        check("bench signer 12", good).unwrap();
        let bad = r#"{"items":[{"name":"Someone Else","affiliation":"x"}]}"#;
        assert!(check("bench signer 12", bad).is_err());
        assert!(check("bench signer 12", r#"{"items":[]}"#).is_err());
        assert!(check("bench signer 12", "not json").is_err());
    }
}
