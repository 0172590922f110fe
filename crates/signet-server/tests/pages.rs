//! The reader's pages through `oneshot` on `app()`: what each page shows, its headers,
//! escaping, languages, search and paging without JavaScript, and every bad request
//! answered with a page that says what is wrong.

#![expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]

mod support;

use support::{NOW, Registry, T0, letter};

/// The CSP that docs/http-api.md gives for the pages.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Every `attr="..."` value in `html`.
fn attrs<'a>(html: &'a str, attr: &str) -> Vec<&'a str> {
    let needle = format!(" {attr}=\"");
    html.match_indices(&needle)
        .map(|(i, _)| {
            let rest = &html[i + needle.len()..];
            &rest[..rest.find('"').unwrap()]
        })
        .collect()
}

/// The security headers and the page's own promises: no inline script or style, and
/// nothing loaded from anywhere but this server.
fn check_page(a: &support::Answer, what: &str) {
    assert_eq!(
        a.header("content-type"),
        "text/html; charset=utf-8",
        "{what}"
    );
    assert_eq!(a.header("content-security-policy"), CSP, "{what}");
    assert_eq!(a.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(a.header("referrer-policy"), "no-referrer", "{what}");
    assert_eq!(a.header("x-frame-options"), "DENY", "{what}");
    let html = a.text();
    assert!(html.starts_with("<!DOCTYPE html>"), "{what}");
    assert!(!html.contains(" style=\""), "{what}: inline style");
    assert!(!html.contains("<style"), "{what}: inline style");
    for (i, _) in html.match_indices("<script") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        assert!(
            tag.contains(" src=\"/assets/"),
            "{what}: inline script {tag}"
        );
    }
    for (i, _) in html.match_indices(" on") {
        let rest = &html[i + 3..];
        let word = rest.bytes().take_while(u8::is_ascii_lowercase).count();
        assert!(
            !(word > 0 && rest[word..].starts_with("=\"")),
            "{what}: an event handler attribute at {i}"
        );
    }
    for src in attrs(&html, "src") {
        assert!(src.starts_with('/'), "{what}: {src} is not this server's");
    }
    for (i, _) in html.match_indices("<link ") {
        let tag = &html[i..i + html[i..].find('>').unwrap()];
        let href = attrs(tag, "href");
        assert!(href.iter().all(|h| h.starts_with('/')), "{what}: {tag}");
    }
}

#[tokio::test]
async fn the_letter_page_shows_the_text_the_counts_and_the_signers() {
    let r = Registry::new();
    r.endorse(1, "张三", Some("清华大学"), Some("教授"), T0)
        .await;
    r.endorse(2, "Alice Example", None, None, T0 + 1).await;
    r.endorse(
        3,
        "Фёдор Достоевский",
        Some("Санкт-Петербург"),
        None,
        T0 + 2,
    )
    .await;
    let a = r.get("/letters/pause-giant-ai-experiments").await;
    assert_eq!(a.status, 200);
    check_page(&a, "letter page");
    let html = a.text();
    let log = r.get("/v1/log").await.json();
    let signers = log["letters"][0]["signers"].as_u64().unwrap();
    assert_eq!(signers, 3);
    assert!(html.contains(&format!("<strong id=\"count-signers\">{signers}</strong>")));
    assert!(html.contains("<strong id=\"count-withdrawn\">0</strong>"));
    assert!(html.contains("<strong id=\"count-hidden\">0</strong>"));
    // Every paragraph of the canonical text, in a block that carries the letter's lang.
    let letter = letter();
    assert!(html.contains("<div class=\"text\" lang=\"zh\">"));
    for paragraph in letter.text().split("\n\n") {
        let first_line = paragraph.trim().split('\n').next().unwrap();
        assert!(html.contains(first_line), "missing: {first_line}");
    }
    assert!(html.contains(&letter.id().to_string()));
    for name in [
        "张三",
        "Alice Example",
        "Фёдор Достоевский",
        "清华大学",
        "Санкт-Петербург",
    ] {
        assert!(html.contains(name), "missing {name}");
    }
    // The order of first endorsement.
    let at = |s: &str| html.find(s).unwrap();
    assert!(at("张三") < at("Alice Example") && at("Alice Example") < at("Фёдор"));
    // Links to each entry page, the hides page and the withdrawn list.
    assert!(html.contains("href=\"/entries/1\""), "{html}");
    assert!(html.contains("href=\"/letters/pause-giant-ai-experiments/hidden\""));
    assert!(html.contains("href=\"/letters/pause-giant-ai-experiments?status=withdrawn\""));
    // The sign-this-letter commands, with this server's URL and key.
    let vkey = log["vkey"].as_str().unwrap();
    assert!(html.contains(&format!(
        "signet submit me.endorsement --server https://{} --log-key {vkey}",
        log["origin"].as_str().unwrap()
    )));
    // The footer: origin, key, size and the audit command.
    assert!(html.contains(&format!("<code id=\"log-vkey\">{vkey}</code>")));
    assert!(html.contains(&format!("<dd id=\"log-size\">{}</dd>", log["size"])));
    assert!(html.contains("signet audit --server"));
    // With a Host header, the commands name the server as the reader reached it.
    let a = r
        .get_with(
            "/letters/pause-giant-ai-experiments",
            "host",
            "127.0.0.1:8080",
        )
        .await;
    assert!(
        a.text()
            .contains("--server http://127.0.0.1:8080 --log-key")
    );
}

#[tokio::test]
async fn the_home_page_is_the_letter_when_there_is_one() {
    let r = Registry::new();
    let a = r.get("/").await;
    assert_eq!(a.status, 200);
    check_page(&a, "home");
    let html = a.text();
    assert!(html.contains("暂停巨型人工智能实验"));
    assert!(html.contains("id=\"signers\""));
    assert!(html.contains("id=\"no-signers\""));
}

#[tokio::test]
async fn every_value_is_escaped() {
    let r = Registry::new();
    let name = "<script>alert(\"x\")</script> & 'quote'";
    let affiliation = "<img src=x onerror=alert(1)> \"&'";
    let role = "</li><li>fake & \"real\"";
    let index = r.endorse(1, name, Some(affiliation), Some(role), T0).await;
    for path in [
        "/letters/pause-giant-ai-experiments".to_owned(),
        format!("/entries/{index}"),
    ] {
        let a = r.get(&path).await;
        assert_eq!(a.status, 200, "{path}");
        check_page(&a, &path);
        let html = a.text();
        assert!(!html.contains("<script>alert"), "{path}");
        assert!(!html.contains("<img src=x"), "{path}");
        assert!(!html.contains("</li><li>fake"), "{path}");
        assert!(
            html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; 'quote'"),
            "{path}: {html}"
        );
        assert!(
            html.contains("&lt;img src=x onerror=alert(1)&gt; &quot;&amp;'"),
            "{path}"
        );
    }
    // A search is echoed in an attribute and in text, escaped in both.
    let a = r
        .get("/letters/pause-giant-ai-experiments?q=%22%3E%3Cscript%3Ex%27")
        .await;
    assert_eq!(a.status, 200);
    let html = a.text();
    assert!(
        html.contains("value=\"&quot;&gt;&lt;script&gt;x'\""),
        "{html}"
    );
    assert!(!html.contains("\"><script>x"));
}

#[tokio::test]
async fn the_interface_speaks_english_and_chinese() {
    let r = Registry::new();
    let path = "/letters/pause-giant-ai-experiments";
    let en = r.get(path).await.text();
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains("Sign this letter"));
    let zh = r
        .get_with(path, "accept-language", "zh-CN,zh;q=0.9,en;q=0.5")
        .await;
    assert_eq!(zh.header("vary"), "Accept-Language");
    let zh = zh.text();
    assert!(zh.contains("<html lang=\"zh\">"));
    assert!(zh.contains("签署这封信"));
    // ?lang= wins over the header, and the page's links keep it.
    let a = r
        .get_with(&format!("{path}?lang=en"), "accept-language", "zh")
        .await
        .text();
    assert!(a.contains("<html lang=\"en\">"));
    assert!(
        a.contains("href=\"/letters/pause-giant-ai-experiments?status=withdrawn&amp;lang=en\"")
    );
    assert!(a.contains("<input type=\"hidden\" name=\"lang\" value=\"en\">"));
    // The letter keeps its own language whatever the interface's.
    for html in [&en, &zh, &a] {
        assert!(html.contains("<div class=\"text\" lang=\"zh\">"));
        assert!(html.contains("<h1 lang=\"zh\">"));
    }
    // The switch links to the same page in the other language.
    assert!(en.contains("href=\"/letters/pause-giant-ai-experiments?lang=zh\""));
    let bad = r.get(&format!("{path}?lang=fr")).await;
    assert_eq!(bad.status, 400);
    check_page(&bad, "bad lang");
    assert!(bad.text().contains("lang must be en or zh"));
}

#[tokio::test]
async fn search_and_paging_work_without_javascript() {
    let r = Registry::new();
    let name = |n: u32| match n % 3 {
        0 => format!("Signer {n}"),
        1 => format!("签名人 {n}"),
        _ => format!("Подписант {n}"),
    };
    for n in 0..120u32 {
        r.endorse(n, &name(n), Some("Example Lab"), None, T0 + u64::from(n))
            .await;
    }
    let path = "/letters/pause-giant-ai-experiments";
    let first = r.get(path).await.text();
    assert_eq!(first.matches("<li class=\"signer\">").count(), 100);
    // The next page is a plain link, with the cursor the JSON API would give.
    let api = r
        .get("/v1/signatories?letter=pause-giant-ai-experiments")
        .await
        .json();
    let cursor = api["next"].as_str().unwrap();
    let next = format!("{path}?after={cursor}");
    assert!(first.contains(&format!("href=\"{}\"", next)), "{first}");
    let second = r.get(&next).await.text();
    assert_eq!(second.matches("<li class=\"signer\">").count(), 20);
    assert!(second.contains("Подписант 119"));
    assert!(!second.contains("rel=\"next\""));
    assert!(second.contains(&format!("rel=\"first\" href=\"{path}\"")));
    // Search, in any script, case-insensitive; the form is a GET to the same page.
    assert!(first.contains(&format!(
        "<form class=\"search\" role=\"search\" aria-label=\"Search signers\" method=\"get\" action=\"{path}\">"
    )));
    for q in ["signer 1", "签名人 11", "ПОДПИСАНТ 11", "nobody"] {
        // What a case-insensitive substring match finds, counted here independently.
        let want = (0..120)
            .filter(|n| name(*n).to_lowercase().contains(&q.to_lowercase()))
            .count() as u64;
        assert_eq!(
            want == 0,
            q == "nobody",
            "{q}: the cases cover hits and a miss"
        );
        let q: String = q.bytes().map(|b| format!("%{b:02X}")).collect();
        let html = r.get(&format!("{path}?q={q}")).await.text();
        let rows = html.matches("<li class=\"signer\">").count() as u64;
        let api = r
            .get(&format!(
                "/v1/signatories?letter=pause-giant-ai-experiments&q={q}"
            ))
            .await
            .json();
        assert_eq!(rows, api["items"].as_array().unwrap().len() as u64, "{q}");
        assert_eq!(rows, want, "{q}");
        if want == 0 {
            assert!(html.contains("id=\"no-signers\""));
        }
    }
    // A search with paging keeps the search in the next link.
    let html = r.get(&format!("{path}?q=example")).await.text();
    assert!(html.contains(&format!("href=\"{path}?q=example&amp;after={cursor}\"")));
}

/// The names of a letter page's rows, in order, and the `after` of its next link.
fn rows_and_next(html: &str) -> (Vec<String>, Option<String>) {
    let names = html
        .split("<li class=\"signer\"><span class=\"name\">")
        .skip(1)
        .map(|r| r.split('<').next().unwrap().to_owned())
        .collect();
    let next = html
        .split("rel=\"next\" href=\"")
        .nth(1)
        .and_then(|h| h.split('"').next())
        .map(|h| h.split("after=").nth(1).unwrap().to_owned());
    (names, next)
}

/// Every page of the list, following its next links (at most 10 pages).
async fn all_pages(r: &Registry, path: &str) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let uri = match &after {
            None => path.to_owned(),
            Some(a) => format!("{path}?after={a}"),
        };
        let a = r.get(&uri).await;
        assert_eq!(a.status, 200, "{uri}");
        let (rows, next) = rows_and_next(&a.text());
        pages.push(rows);
        match next {
            Some(n) => after = Some(n),
            None => return pages,
        }
    }
    panic!("more than 10 pages");
}

#[tokio::test]
async fn verified_signers_come_first_across_every_page() {
    let r = Registry::new();
    let total = 130u32;
    for n in 0..total {
        let claims = [format!("dns:s{n}.example")];
        let claims: Vec<&str> = claims.iter().map(String::as_str).collect();
        r.endorse_claiming(n, &format!("Signer {n}"), &claims, T0 + u64::from(n))
            .await;
    }
    let path = "/letters/pause-giant-ai-experiments";
    // What the list must be: the verified signers in order of first endorsement, then
    // the others in that order, 100 to a page.
    let want = |verified: &[u32]| -> Vec<Vec<String>> {
        let mut order: Vec<u32> = verified.to_vec();
        order.sort_unstable();
        order.extend((0..total).filter(|n| !verified.contains(n)));
        order
            .chunks(100)
            .map(|c| c.iter().map(|n| format!("Signer {n}")).collect())
            .collect()
    };
    // None verified: the order of first endorsement.
    assert_eq!(all_pages(&r, path).await, want(&[]));
    // A few verified, far down the list (the last on what would be the second page).
    // A claim that failed, or one the signer does not make, is no badge.
    for n in [129, 5, 60, 110] {
        r.verified(n, &format!("dns:s{n}.example"), NOW - 60);
    }
    r.log
        .record_claim(&signet_log::ClaimResult {
            held: false,
            evidence: None,
            reason: Some("no such record".into()),
            ..claim_result(7, "dns:s7.example")
        })
        .unwrap();
    r.verified(8, "dns:someone-else.example", NOW - 60);
    let pages = all_pages(&r, path).await;
    assert_eq!(pages, want(&[5, 60, 110, 129]));
    assert_eq!(pages[0][0], "Signer 5");
    let first = r.get(path).await.text();
    assert_eq!(first.matches("class=\"badge\"").count(), 4);
    // Exactly a page of verified signers: the next page starts the others.
    let hundred: Vec<u32> = (20..120).collect();
    for n in &hundred {
        r.verified(*n, &format!("dns:s{n}.example"), NOW - 60);
    }
    let mut verified: Vec<u32> = hundred.clone();
    verified.extend([5, 129]);
    verified.sort_unstable();
    let pages = all_pages(&r, path).await;
    assert_eq!(pages, want(&verified));
    // 102 verified: the second page ends the verified signers and goes on with the
    // others.
    assert_eq!(pages[1][0..2], ["Signer 119", "Signer 129"]);
    assert_eq!(pages[1].len(), 30);
    // Search keeps the order and the paging.
    let a = r.get(&format!("{path}?q=signer+12")).await.text();
    let (rows, next) = rows_and_next(&a);
    assert_eq!(next, None);
    let mut want_rows: Vec<String> = (0..total)
        .filter(|n| format!("signer {n}").contains("signer 12"))
        .map(|n| format!("Signer {n}"))
        .collect();
    want_rows.sort_by_key(|name| name != "Signer 129");
    assert_eq!(rows, want_rows);
}

#[tokio::test]
async fn verified_signers_first_in_a_list_longer_than_one_scan() {
    // Longer than the stretch of the list a verified listing reads in order (400
    // signers), so that its verified signers are also found from the claims that held.
    let r = Registry::new();
    let total = 450u32;
    for n in 0..total {
        let claims = [format!("dns:s{n}.example")];
        let claims: Vec<&str> = claims.iter().map(String::as_str).collect();
        r.endorse_claiming(n, &format!("Signer {n}"), &claims, T0 + u64::from(n))
            .await;
    }
    let path = "/letters/pause-giant-ai-experiments";
    let check = |verified: Vec<u32>| {
        let mut order = verified.clone();
        order.extend((0..total).filter(|n| !verified.contains(n)));
        order
            .chunks(100)
            .map(|c| c.iter().map(|n| format!("Signer {n}")).collect::<Vec<_>>())
            .collect::<Vec<_>>()
    };
    // Two verified signers, both past the first 400.
    for n in [449, 420] {
        r.verified(n, &format!("dns:s{n}.example"), NOW - 60);
    }
    let pages = all_pages(&r, path).await;
    assert_eq!(pages, check(vec![420, 449]));
    assert_eq!(pages.len(), 5);
    // Every fourth verified (113 of them): 100 within the first 400, the rest past it,
    // over two pages.
    for n in (0..total).step_by(4) {
        r.verified(n, &format!("dns:s{n}.example"), NOW - 60);
    }
    let mut verified: Vec<u32> = (0..total).step_by(4).collect();
    verified.extend([449]);
    verified.sort_unstable();
    let pages = all_pages(&r, path).await;
    assert_eq!(pages, check(verified));
    assert_eq!(pages[1][0], "Signer 400");
}

fn claim_result(n: u32, claim: &str) -> signet_log::ClaimResult {
    signet_log::ClaimResult {
        key: *support::key(n).verifier().public_key(),
        claim: claim.to_owned(),
        held: true,
        checked: signet_core::Timestamp::from_unix(NOW - 60).unwrap(),
        evidence: Some(format!("sha256:{}", "cd".repeat(32))),
        reason: None,
    }
}

#[tokio::test]
async fn withdrawn_signers_are_counted_and_listed_apart() {
    let r = Registry::new();
    let kept = r.endorse(1, "Kept Signer", None, None, T0).await;
    let gone = r.endorse(2, "Gone Signer", None, None, T0 + 1).await;
    let withdrawal = r.withdraw(2, T0 + 2).await;
    let path = "/letters/pause-giant-ai-experiments";
    let html = r.get(path).await.text();
    assert!(html.contains("<strong id=\"count-signers\">1</strong>"));
    assert!(html.contains("<strong id=\"count-withdrawn\">1</strong>"));
    assert!(html.contains("Kept Signer"));
    assert!(!html.contains("Gone Signer"));
    let html = r.get(&format!("{path}?status=withdrawn")).await.text();
    assert!(html.contains("Gone Signer"));
    assert!(html.contains("<span class=\"mark\">withdrawn</span>"));
    assert!(!html.contains("Kept Signer"));
    // The entry pages say where each stands, with a link to the withdrawal.
    let html = r.get(&format!("/entries/{gone}")).await.text();
    assert!(html.contains("data-status=\"withdrawn\""), "{html}");
    assert!(html.contains(&format!("href=\"/entries/{withdrawal}\"")));
    let html = r.get(&format!("/entries/{kept}")).await.text();
    assert!(html.contains("data-status=\"shown\""));
    let html = r.get(&format!("/entries/{withdrawal}")).await.text();
    assert!(html.contains("withdrawal"));
    assert!(html.contains(&format!("href=\"/entries/{gone}\"")));
    // Endorsing again supersedes the first endorsement.
    let again = r.endorse(2, "Gone Signer", None, None, T0 + 3).await;
    let html = r.get(&format!("/entries/{gone}")).await.text();
    assert!(html.contains("data-status=\"superseded\""));
    assert!(html.contains(&format!("href=\"/entries/{again}\"")));
}

#[tokio::test]
async fn the_hides_page_lists_every_hide_and_the_moderators() {
    let r = Registry::new();
    r.endorse(1, "Someone", None, None, T0).await;
    let a = r.get("/letters/pause-giant-ai-experiments/hidden").await;
    assert_eq!(a.status, 200);
    check_page(&a, "hides");
    let html = a.text();
    assert!(html.contains("id=\"no-hides\""));
    assert!(html.contains("<strong id=\"count-hidden\">0</strong>"));
    assert!(html.contains("This log has appointed no moderator."));
    let zh = r
        .get("/letters/pause-giant-ai-experiments/hidden?lang=zh")
        .await
        .text();
    assert!(zh.contains("没有被隐藏的签名人"));
}

#[tokio::test]
async fn the_entry_page_carries_everything_its_check_needs() {
    let r = Registry::new();
    let index = r
        .endorse(
            1,
            "Alice Example",
            Some("Example Lab"),
            Some("Researcher"),
            T0,
        )
        .await;
    let a = r.get(&format!("/entries/{index}")).await;
    assert_eq!(a.status, 200);
    check_page(&a, "entry");
    let html = a.text();
    let json = r.get(&format!("/v1/entries/{index}")).await.json();
    let vkey = r.get("/v1/log").await.json()["vkey"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(html.contains(&format!(
        "<section id=\"verify\" data-verify=\"pending\" data-step=\"\" data-index=\"{index}\" data-log-key=\"{vkey}\""
    )));
    // The note exactly, the proof and the checkpoint, as the JSON API and the proof route
    // give them.
    let note = json["entry"].as_str().unwrap();
    assert!(html.contains(&format!("<pre class=\"data\" id=\"note\">{note}</pre>")));
    let proof = r.get(&format!("/v1/proof/{index}")).await.text();
    let (head, checkpoint) = proof.split_once("\n\n").unwrap();
    assert!(html.contains(&format!("<pre class=\"data\" id=\"proof\">{head}\n</pre>")));
    assert!(html.contains(&format!(
        "<pre class=\"data\" id=\"checkpoint\">{checkpoint}</pre>"
    )));
    assert!(html.contains(json["leaf_hash"].as_str().unwrap()));
    // The letter's text, for the browser to hash, in its own language.
    assert!(html.contains("<pre class=\"data letter-text\" id=\"letter-text\" lang=\"zh\">"));
    assert!(html.contains(letter().text().lines().next().unwrap()));
    // The script is the server's own, under its content-hashed name.
    let src = attrs(&html, "src");
    assert_eq!(src.len(), 1);
    assert!(src[0].starts_with("/assets/verify.") && src[0].ends_with(".js"));
    // Without a witness policy: no quorum, an empty list of required cosigners.
    assert!(html.contains("<ul class=\"plain\" id=\"cosigners\"></ul>"));
    for field in ["Alice Example", "Example Lab", "Researcher", "endorsement"] {
        assert!(html.contains(field), "{field}");
    }
    // The registration entry has its own page too.
    let a = r.get("/entries/0").await;
    assert_eq!(a.status, 200);
    assert!(a.text().contains("letter registration"));
}

#[tokio::test]
async fn bad_requests_get_a_page_that_says_what_is_wrong() {
    let r = Registry::new();
    for (path, status, says) in [
        ("/entries/99", 404, "no entry 99: the log has"),
        ("/entries/abc", 400, "the entry index"),
        ("/entries/01", 400, "the entry index"),
        ("/letters/no-such-letter", 404, "this log hosts no letter"),
        (
            "/letters/no-such-letter/hidden",
            404,
            "this log hosts no letter",
        ),
        (
            "/letters/pause-giant-ai-experiments?status=hidden",
            400,
            "status must be active or withdrawn",
        ),
        (
            "/letters/pause-giant-ai-experiments?after=zz",
            400,
            "after is not a cursor",
        ),
        (
            "/letters/pause-giant-ai-experiments?after=v",
            400,
            "after is not a cursor",
        ),
        (
            "/letters/pause-giant-ai-experiments?after=u0",
            400,
            "after is not a cursor",
        ),
        (
            "/letters/pause-giant-ai-experiments?after=vA",
            400,
            "after is not a cursor",
        ),
        (
            "/letters/pause-giant-ai-experiments?unknown=1",
            400,
            "unknown",
        ),
        ("/letters/pause-giant-ai-experiments?q=a&q=b", 400, "q"),
        ("/?lang=de", 400, "lang must be en or zh"),
    ] {
        let a = r.get(path).await;
        assert_eq!(a.status, status, "{path}: {}", a.text());
        check_page(&a, path);
        let html = a.text();
        assert!(html.contains("id=\"error-message\""), "{path}");
        assert!(html.contains(says), "{path}: {html}");
    }
    let long = "x".repeat(257);
    let a = r
        .get(&format!("/letters/pause-giant-ai-experiments?q={long}"))
        .await;
    assert_eq!(a.status, 400);
    assert!(a.text().contains("at most 256 characters"));
}

#[tokio::test]
async fn assets_are_embedded_with_hashed_names_and_cached_forever() {
    let r = Registry::new();
    r.endorse(1, "Alice", None, None, T0).await;
    let html = r.get("/entries/1").await.text();
    let mut found = 0;
    for url in attrs(&html, "href")
        .into_iter()
        .chain(attrs(&html, "src"))
        .filter(|u| u.starts_with("/assets/"))
    {
        found += 1;
        let a = r.get(url).await;
        assert_eq!(a.status, 200, "{url}");
        assert_eq!(
            a.header("cache-control"),
            "public, max-age=31536000, immutable"
        );
        assert_eq!(a.header("x-content-type-options"), "nosniff");
        let name = url.strip_prefix("/assets/").unwrap();
        let parts: Vec<&str> = name.split('.').collect();
        assert_eq!(parts.len(), 3, "{name}");
        let hash = signet_core::Hash::sha256(&a.body).to_hex();
        assert_eq!(
            parts[1],
            &hash[..16],
            "{name}: the name carries the content's hash"
        );
        let want = match parts[2] {
            "css" => "text/css; charset=utf-8",
            "js" => "text/javascript; charset=utf-8",
            "svg" => "image/svg+xml",
            other => panic!("unexpected asset type {other}"),
        };
        assert_eq!(a.header("content-type"), want);
    }
    assert_eq!(found, 3, "the stylesheet, the icon and the verifier");
    for bad in [
        "/assets/style.0000000000000000.css",
        "/assets/verify.js",
        "/assets/..%2fCargo.toml",
    ] {
        assert_eq!(r.get(bad).await.status, 404, "{bad}");
    }
}

#[tokio::test]
async fn a_full_list_page_weighs_under_100_kb() {
    let r = Registry::new();
    // The longest fields the grammar allows, in a script of three-byte characters.
    let name: String = "名".repeat(128);
    let affiliation: String = "学".repeat(256);
    for n in 0..101u32 {
        r.endorse(
            n,
            &name,
            Some(&affiliation),
            Some(&affiliation),
            T0 + u64::from(n),
        )
        .await;
    }
    let a = r.get("/letters/pause-giant-ai-experiments").await;
    let html = a.text();
    assert_eq!(html.matches("<li class=\"signer\">").count(), 100);
    // Even with every field at its longest (which no real list has), the page is under
    // 100 KB for typical rows; measure that the structure around them stays small.
    let per_row = (name.len() + 2 * affiliation.len()) * 100;
    let overhead = a.body.len() - per_row;
    assert!(
        overhead < 40_000,
        "{overhead} bytes of markup around 100 rows"
    );
    // Rows of ordinary size: the page stays under 100 KB.
    let r = Registry::new();
    for n in 0..101u32 {
        r.endorse(
            n,
            &format!("Firstname Lastname-{n}"),
            Some("University of Somewhere, Department of Computer Science"),
            Some("Professor"),
            T0 + u64::from(n),
        )
        .await;
    }
    let a = r.get("/letters/pause-giant-ai-experiments").await;
    assert!(a.body.len() < 100_000, "{} bytes", a.body.len());
}
