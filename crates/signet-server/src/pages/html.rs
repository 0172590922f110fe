//! The templates: maud checks them when the crate compiles and escapes every value it
//! inserts (`(value)` is always HTML-escaped; nothing here uses `PreEscaped` on data).

use maud::{DOCTYPE, Markup, html};

use super::assets;
use super::i18n::{Lang, Ui};
use super::view::{
    ClaimView, EntryPage, EntryStatus, HiddenPage, HideView, HomePage, LetterPage, LetterView,
    Listing, LogView, QuorumView, SignerRow, split_claim,
};
use signet_core::policy::QuorumNode;

/// How a page links to itself and its neighbours: the interface language, and whether
/// the reader chose it with `?lang=` (then every link keeps it).
#[derive(Debug, Clone)]
pub(crate) struct Chrome {
    pub lang: Lang,
    pub explicit: bool,
    /// This page's path and its query parameters other than `lang`.
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl Chrome {
    fn ui(&self) -> &'static Ui {
        self.lang.ui()
    }

    /// A link to `path` with `params`, keeping `?lang=` when the reader chose it.
    fn href(&self, path: &str, params: &[(&str, &str)]) -> String {
        let mut all: Vec<(&str, &str)> = params.to_vec();
        if self.explicit {
            all.push(("lang", self.lang.tag()));
        }
        link(path, &all)
    }

    /// This page in another language.
    fn in_lang(&self, lang: Lang) -> String {
        let mut all: Vec<(&str, &str)> = self
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        all.push(("lang", lang.tag()));
        link(&self.path, &all)
    }
}

/// `path?k=v&...`, each key and value percent-encoded.
fn link(path: &str, params: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    for (i, (k, v)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `2026-03-22T10:00:00Z` as `2026-03-22 10:00:00 UTC`, for people; the `datetime`
/// attribute keeps the exact form.
fn readable_time(t: &str) -> String {
    match t.strip_suffix('Z').and_then(|t| t.split_once('T')) {
        Some((date, time)) => format!("{date} {time} UTC"),
        None => t.to_owned(),
    }
}

/// The frame of every page: head, header, main, footer.
fn layout(chrome: &Chrome, title: &str, log: &LogView, script: bool, main: Markup) -> Markup {
    let ui = chrome.ui();
    let audit = format!(
        "signet audit --server {} --log-key {}",
        log.server, log.vkey
    );
    html! {
        (DOCTYPE)
        html lang=(chrome.lang.tag()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="color-scheme" content="light dark";
                title { (title) " · " (ui.site) }
                link rel="stylesheet" href=(assets::path("style"));
                link rel="icon" href=(assets::path("icon")) type="image/svg+xml";
                @if script {
                    script type="module" src=(assets::path("verify")) {}
                }
            }
            body {
                a.skip href="#main" { (ui.skip) }
                header.site {
                    a.brand href=(chrome.href("/", &[])) { (ui.site) }
                    nav.langs aria-label=(ui.language) {
                        @for (lang, label) in [(Lang::En, "English"), (Lang::Zh, "中文")] {
                            @if lang == chrome.lang {
                                span aria-current="true" lang=(lang.tag()) { (label) }
                            } @else {
                                a href=(chrome.in_lang(lang)) lang=(lang.tag()) hreflang=(lang.tag()) { (label) }
                            }
                        }
                    }
                }
                main #main { (main) }
                footer.site {
                    h2 { (ui.footer_log) }
                    dl.facts {
                        dt { (ui.origin) } dd { code { (log.origin) } }
                        dt { (ui.vkey) } dd { code #log-vkey { (log.vkey) } }
                        dt { (ui.size) } dd #log-size { (log.size) }
                        dt { (ui.witnesses) }
                        dd {
                            @if log.witnesses.is_empty() {
                                (ui.no_witnesses)
                            } @else {
                                ul.plain {
                                    @for w in &log.witnesses {
                                        li { (w.name) " " code { (w.vkey) } }
                                    }
                                }
                            }
                        }
                    }
                    p { (ui.audit) }
                    pre.cmd { code { (audit) } }
                    p.links {
                        a href="/v1/log" { (ui.api) } " · "
                        a href="/checkpoint" { "checkpoint" }
                    }
                }
            }
        }
    }
}

fn counts(chrome: &Chrome, letter: &LetterView) -> Markup {
    let ui = chrome.ui();
    let slug_path = format!("/letters/{}", letter.slug);
    html! {
        p.counts {
            span.count { strong #count-signers { (letter.signers) } " " (ui.signers_now) }
            " · "
            a.count href=(chrome.href(&slug_path, &[("status", "withdrawn")])) {
                strong #count-withdrawn { (letter.withdrawn) } " " (ui.withdrawn)
            }
            " · "
            a.count href=(chrome.href(&format!("{slug_path}/hidden"), &[])) {
                strong #count-hidden { (letter.hidden) } " " (ui.hidden)
            }
        }
    }
}

fn letter_head(chrome: &Chrome, letter: &LetterView) -> Markup {
    let ui = chrome.ui();
    html! {
        h1 lang=(letter.language) { (letter.title) }
        dl.meta {
            dt { (ui.letter_id) } dd { code #letter-id { (letter.id) } }
            dt { (ui.registered_in) }
            dd { a href=(chrome.href(&format!("/entries/{}", letter.index), &[])) { (ui.entry) " #" (letter.index) } }
            @if let Some(source) = &letter.source {
                dt { (ui.source) } dd { a href=(source) rel="noreferrer" { (source) } }
            }
        }
    }
}

/// A quorum in words: a witness's name, or `2 of 3: a, b, c` for a group, whose
/// member groups are put in parentheses.
fn quorum_words(ui: &Ui, q: &QuorumView, node: QuorumNode, top: bool) -> String {
    match node {
        QuorumNode::Witness(w) => q
            .witnesses
            .get(w)
            .map_or_else(|| format!("#{w}"), |w| w.name.clone()),
        QuorumNode::Group(g) => {
            let Some(group) = q.groups.get(g) else {
                return format!("#{g}");
            };
            let members: Vec<String> = group
                .members
                .iter()
                .map(|m| quorum_words(ui, q, *m, false))
                .collect();
            let rule = if group.threshold == members.len() && members.len() > 1 {
                ui.quorum_all
            } else if group.threshold == 1 && members.len() > 1 {
                ui.quorum_any
            } else {
                ui.quorum_rule
            };
            let rule = rule
                .replace("{k}", &group.threshold.to_string())
                .replace("{n}", &members.len().to_string());
            let words = format!("{rule}{}", members.join(ui.list_sep));
            if top { words } else { format!("({words})") }
        }
    }
}

fn badge(ui: &Ui, claim: &ClaimView) -> Markup {
    let (kind, value) = claim.kind_and_value();
    html! {
        span.badge title=(format!("{} {} {}", ui.verified_badge, ui.checked, claim.checked)) {
            span.check aria-hidden="true" { "✓" } " " span.kind { (kind) } " " (value)
        }
    }
}

fn signer_row(chrome: &Chrome, row: &SignerRow) -> Markup {
    let ui = chrome.ui();
    html! {
        li.signer {
            span.name { (row.name) }
            @for claim in &row.verified { " " (badge(ui, claim)) }
            @if row.withdrawn { " " span.mark { (ui.withdrawn_mark) } }
            @if let Some(h) = &row.hidden { " " span.mark { (ui.hidden_mark) ": " (h.reason) } }
            @if row.affiliation.is_some() || row.role.is_some() {
                span.aff {
                    @if let Some(a) = &row.affiliation { (a) }
                    @if row.affiliation.is_some() && row.role.is_some() { " · " }
                    @if let Some(r) = &row.role { (r) }
                }
            }
            span.when {
                time datetime=(row.time) { (readable_time(&row.time)) }
                " · "
                span.fp { (ui.fingerprint) " " code { (row.fingerprint) } }
                " · "
                a href=(chrome.href(&format!("/entries/{}", row.index), &[])) {
                    (ui.entry) " #" (row.index)
                }
            }
        }
    }
}

fn sign_section(chrome: &Chrome, log: &LogView, letter: &LetterView) -> Markup {
    let ui = chrome.ui();
    let keygen = "signet keygen --name me --dir keys".to_owned();
    let sign = format!(
        "signet sign --key keys/me.key --letter {} --name \"Your Name\" -o me.endorsement",
        letter.id
    );
    let submit = format!(
        "signet submit me.endorsement --server {} --log-key {}",
        log.server, log.vkey
    );
    let verify = format!(
        "signet verify me.endorsement --proof me.endorsement.tlog-proof --log-key {}",
        log.vkey
    );
    html! {
        section #sign aria-labelledby="sign-h" {
            h2 #sign-h { (ui.sign_title) }
            p { (ui.sign_intro) }
            ol.steps {
                li { (ui.sign_step_key) pre.cmd { code { (keygen) } } }
                li { (ui.sign_step_sign) pre.cmd { code { (sign) } } }
                li { (ui.sign_step_submit) pre.cmd { code { (submit) } } }
                li { (ui.sign_step_verify) pre.cmd { code { (verify) } } }
            }
            p.note { (ui.sign_forever) }
        }
    }
}

/// `/`: the hosted letters.
pub(crate) fn home(chrome: &Chrome, page: &HomePage) -> Markup {
    let ui = chrome.ui();
    let main = html! {
        h1 { (ui.letters) }
        p { (ui.letters_intro) }
        ul.letters {
            @for l in &page.letters {
                li {
                    a href=(chrome.href(&format!("/letters/{}", l.slug), &[])) lang=(l.language) { (l.title) }
                    " " (counts(chrome, l))
                }
            }
        }
    };
    layout(chrome, ui.letters, &page.log, false, main)
}

/// `/letters/<slug>`: the letter, its counts and its list.
pub(crate) fn letter(chrome: &Chrome, page: &LetterPage) -> Markup {
    let ui = chrome.ui();
    let letter = &page.letter;
    let path = format!("/letters/{}", letter.slug);
    let mut keep: Vec<(&str, &str)> = Vec::new();
    if let Some(q) = &page.q {
        keep.push(("q", q));
    }
    if page.listing == Listing::Withdrawn {
        keep.push(("status", "withdrawn"));
    }
    let main = html! {
        article.letter {
            (letter_head(chrome, letter))
            div.text lang=(letter.language) {
                @for paragraph in letter.paragraphs() {
                    p {
                        @for (i, line) in paragraph.iter().enumerate() {
                            @if i > 0 { br; }
                            (line)
                        }
                    }
                }
            }
        }
        section #signers aria-labelledby="signers-h" {
            h2 #signers-h { (ui.signers) }
            (counts(chrome, letter))
            @if letter.hidden > 0 {
                p.hidden-line {
                    (letter.hidden) " " (if letter.hidden == 1 { ui.hidden_line_one } else { ui.hidden_line }) " "
                    a href=(chrome.href(&format!("{path}/hidden"), &[])) { (ui.hidden_link) }
                }
            }
            form.search role="search" aria-label=(ui.search) method="get" action=(path) {
                label for="q" { (ui.search_label) }
                div.row {
                    input #q type="search" name="q" value=[page.q.as_deref()] maxlength="256" autocomplete="off";
                    @if page.listing == Listing::Withdrawn {
                        input type="hidden" name="status" value="withdrawn";
                    }
                    @if chrome.explicit {
                        input type="hidden" name="lang" value=(chrome.lang.tag());
                    }
                    button type="submit" { (ui.search_button) }
                }
            }
            p.tabs {
                (ui.show) ": "
                @if page.listing == Listing::Active {
                    strong aria-current="true" { (ui.show_active) }
                    " · "
                    a href=(chrome.href(&path, &[("status", "withdrawn")])) { (ui.show_withdrawn) }
                } @else {
                    a href=(chrome.href(&path, &[])) { (ui.show_active) }
                    " · "
                    strong aria-current="true" { (ui.show_withdrawn) }
                }
            }
            @if let Some(q) = &page.q {
                p.results { (ui.results_for) " “" (q) "”" }
            }
            p.note { (ui.self_asserted) }
            @if page.rows.is_empty() {
                p #no-signers { (ui.no_signers) }
            } @else {
                ol.signers #signer-list {
                    @for row in &page.rows { (signer_row(chrome, row)) }
                }
            }
            @if page.paged || page.next.is_some() {
                nav.paging aria-label=(ui.signers) {
                    @if page.paged {
                        a rel="first" href=(chrome.href(&path, &keep)) { (ui.first_page) }
                    }
                    @if let Some(next) = &page.next {
                        @let params = [keep.as_slice(), &[("after", next.as_str())]].concat();
                        a #next rel="next" href=(chrome.href(&path, &params)) { (ui.next_page) " →" }
                    }
                }
            }
        }
        (sign_section(chrome, &page.log, letter))
    };
    layout(chrome, &letter.title, &page.log, false, main)
}

/// Who hid a signer: the moderator's name, if appointed under one, and its key.
fn moderator(hide: &HideView) -> Markup {
    html! {
        @if let Some(name) = &hide.moderator_name { span.moderator { (name) } " " }
        code.vkey { (hide.moderator) }
    }
}

fn hide_row(chrome: &Chrome, hide: &HideView) -> Markup {
    let ui = chrome.ui();
    html! {
        li.hide {
            span.name { (hide.name) }
            dl.meta {
                dt { (ui.reason) } dd.reason { (hide.reason) }
                @if let Some(note) = &hide.note { dt { (ui.note) } dd { (note) } }
                dt { (ui.time) } dd { time datetime=(hide.time) { (readable_time(&hide.time)) } }
                dt { (ui.moderator) } dd { (moderator(hide)) }
                dt { (ui.target) } dd { a href=(chrome.href(&format!("/entries/{}", hide.target), &[])) { "#" (hide.target) } }
                dt { (ui.entry) } dd { a href=(chrome.href(&format!("/entries/{}", hide.index), &[])) { "#" (hide.index) } }
            }
        }
    }
}

/// `/letters/<slug>/hidden`: every hide in effect, with its reason.
pub(crate) fn hidden(chrome: &Chrome, page: &HiddenPage) -> Markup {
    let ui = chrome.ui();
    let letter = &page.letter;
    let main = html! {
        h1 { (ui.hides_title) }
        p.letter-link {
            a href=(chrome.href(&format!("/letters/{}", letter.slug), &[])) lang=(letter.language) { (letter.title) }
        }
        (counts(chrome, letter))
        p { (ui.hides_intro) }
        @if page.hides.is_empty() {
            p #no-hides { (ui.no_hides) }
        } @else {
            ol.hides #hide-list { @for h in &page.hides { (hide_row(chrome, h)) } }
        }
        h2 { (ui.moderators) }
        @if page.moderators.is_empty() {
            p { (ui.no_moderators) }
        } @else {
            ul.plain {
                @for m in &page.moderators {
                    li {
                        (m.name) " " code { (m.key) } " · "
                        a href=(chrome.href(&format!("/entries/{}", m.index), &[])) { (ui.entry) " #" (m.index) }
                    }
                }
            }
        }
        p { a href=(chrome.href(&format!("/letters/{}", letter.slug), &[])) { "← " (ui.back_to_letter) } }
    };
    layout(
        chrome,
        &format!("{} · {}", ui.hides_title, letter.title),
        &page.log,
        false,
        main,
    )
}

/// The status box's look: a hide stands out, so that a hidden look-alike's page cannot
/// pass for its signer's.
fn status_class(status: &EntryStatus) -> &'static str {
    match status {
        EntryStatus::Hidden(_) => "status-hidden",
        EntryStatus::Withdrawn { .. } | EntryStatus::Superseded { .. } => "status-gone",
        EntryStatus::Shown | EntryStatus::None => "status-shown",
    }
}

fn entry_link(chrome: &Chrome, index: u64) -> Markup {
    let ui = chrome.ui();
    html! { a href=(chrome.href(&format!("/entries/{index}"), &[])) { (ui.see_entry) " #" (index) } }
}

fn claim_row(ui: &Ui, claim: &str, verified: Option<&ClaimView>) -> Markup {
    let (kind, value) = split_claim(claim);
    html! {
        li {
            span.badge.plain { span.kind { (kind) } " " (value) }
            " "
            @match verified {
                Some(v) => {
                    strong.ok { (ui.claim_verified) } ", " (ui.checked) " "
                    time datetime=(v.checked) { (v.checked) } ", " (ui.evidence) " " code { (v.evidence) }
                }
                None => { span.mark { (ui.claim_unverified) } }
            }
        }
    }
}

/// `/entries/<index>`: the entry, its status, and its check in the browser.
pub(crate) fn entry(chrome: &Chrome, page: &EntryPage) -> Markup {
    let ui = chrome.ui();
    let kind = ui.kind_name(page.kind);
    let letter_lang = page.letter.as_ref().map(|l| l.language.as_str());
    let main = html! {
        @match page.fields.iter().find(|(f, _)| *f == "name") {
            Some((_, name)) => {
                h1 { (name) }
                p.subtitle { (ui.entry_title) " #" (page.index) " · " (kind) }
            }
            None => { h1 { (ui.entry_title) " #" (page.index) ": " (kind) } }
        }
        @if let Some(letter) = &page.letter {
            p.letter-link {
                a href=(chrome.href(&format!("/letters/{}", letter.slug), &[])) lang=(letter.language) { (letter.title) }
            }
        }
        @if !matches!(page.status, EntryStatus::None) || page.signer_now.is_some() {
            section #status.status-box.(status_class(&page.status)) aria-labelledby="status-h" {
                h2 #status-h { (ui.status) }
                @match &page.status {
                    EntryStatus::None => {}
                    EntryStatus::Shown => { p data-status="shown" { (ui.status_shown) } }
                    EntryStatus::Superseded { by } => {
                        p data-status="superseded" { (ui.status_superseded) " " (entry_link(chrome, *by)) }
                    }
                    EntryStatus::Withdrawn { by } => {
                        p data-status="withdrawn" { (ui.status_withdrawn) " " (entry_link(chrome, *by)) }
                    }
                    EntryStatus::Hidden(h) => {
                        p data-status="hidden" { (ui.status_hidden) }
                        dl.meta {
                            dt { (ui.reason) } dd { (h.reason) }
                            @if let Some(note) = &h.note { dt { (ui.note) } dd { (note) } }
                            dt { (ui.time) } dd { time datetime=(h.time) { (readable_time(&h.time)) } }
                            dt { (ui.moderator) } dd { (moderator(h)) }
                            dt { (ui.entry) } dd { (entry_link(chrome, h.index)) }
                        }
                    }
                }
                @if let (Some(now), false) = (page.signer_now, matches!(page.status, EntryStatus::Superseded { .. })) {
                    p { (ui.status_signer_now) " " (entry_link(chrome, now)) }
                }
            }
        }
        section #verify data-verify="pending" data-step="" data-index=(page.index)
            data-log-key=(page.log.vkey) data-valid=(ui.verify_valid) data-invalid=(ui.verify_invalid)
            aria-labelledby="verify-h" {
            h2 #verify-h { (ui.verify_title) }
            p.said data-said aria-live="polite" { (ui.verify_pending) }
            noscript { p { (ui.verify_nojs) } }
            ol.checks data-checks {}
            p.cosigners {
                (ui.cosigners) ": "
                @match &page.quorum {
                    None => { (ui.no_cosigners) }
                    Some(q) => { (quorum_words(ui, q, q.quorum, true)) }
                }
            }
            @match &page.quorum {
                None => { ul.plain #cosigners {} }
                Some(q) => {
                    ul.plain #cosigners data-quorum=(QuorumView::node(q.quorum)) data-groups=(q.groups_attr())
                        data-words=(quorum_words(ui, q, q.quorum, true)) {
                        @for w in &q.witnesses {
                            li { span.name { (w.name) } " " code data-cosigner=(w.vkey) data-name=(w.name) { (w.vkey) } }
                        }
                    }
                }
            }
        }
        section #fields {
            h2 { (ui.fields) }
            dl.fields {
                dt { (ui.kind) } dd { code { (page.kind) } }
                @for (name, value) in &page.fields {
                    dt { (ui.field_name(name)) }
                    dd {
                        @if matches!(*name, "key" | "letter") {
                            code { (value) }
                        } @else if let (&"title", Some(lang)) = (name, letter_lang) {
                            span lang=(lang) { (value) }
                        } @else {
                            (value)
                        }
                    }
                }
                dt { (ui.leaf_hash) } dd { code { (page.leaf_hash) } }
            }
        }
        @if !page.claims.is_empty() {
            section #claims {
                h2 { (ui.claims) }
                ul.plain {
                    @for c in &page.claims { (claim_row(ui, &c.claim, c.verified.as_ref())) }
                }
            }
        }
        section {
            h2 { (ui.signed_note) }
            pre.data #note { (page.note) }
            h2 { (ui.proof) }
            p { (ui.proof_intro) }
            pre.data #proof { (page.proof) }
            h3 { (ui.checkpoint) }
            pre.data #checkpoint { (page.checkpoint) }
            p.links { a href=(format!("/v1/proof/{}", page.index)) { ".tlog-proof" } " · " a href=(format!("/v1/entries/{}", page.index)) { "JSON" } }
        }
        @if let Some(letter) = &page.letter {
            @if let Some(text) = &letter.text {
                details {
                    summary { (ui.letter_text) }
                    pre.data.letter-text #letter-text lang=(letter.language) { (text) }
                }
            }
        }
    };
    layout(
        chrome,
        &format!("{} #{}", ui.entry_title, page.index),
        &page.log,
        true,
        main,
    )
}

/// A page that says what went wrong.
pub(crate) fn error(chrome: &Chrome, log: &LogView, status: u16, message: &str) -> Markup {
    let ui = chrome.ui();
    let title = if status == 404 {
        ui.not_found
    } else {
        ui.error
    };
    let main = html! {
        h1 { (title) " (" (status) ")" }
        p #error-message { (message) }
        p { a href=(chrome.href("/", &[])) { (ui.letters) } }
    };
    layout(chrome, title, log, false, main)
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    fn check(input: &str, want: &str) {
        assert_eq!(readable_time(input), want, "{input}");
    }

    /// A policy of witnesses `a`, `b`, `c`, `d` and the given group and quorum lines.
    fn quorum(lines: &str) -> Option<QuorumView> {
        use signet_core::keys::SignatureType;
        let mut policy = String::new();
        for (i, name) in ["a", "b", "c", "d"].iter().enumerate() {
            let key = signet_core::SigningKey::from_seed(
                signet_core::KeyName::parse(&format!("{name}.example")).unwrap(),
                SignatureType::CosignatureV1,
                &[i as u8 + 1; 32],
            );
            policy.push_str(&format!("witness {name} {}\n", key.verifier()));
        }
        policy.push_str(lines);
        QuorumView::of(&signet_core::policy::Policy::parse(policy.as_bytes()).unwrap())
    }

    #[test]
    fn the_quorum_in_words_and_for_the_check() {
        let q = quorum("group three 2 a b c\ngroup top all three d\nquorum top\n").unwrap();
        assert_eq!(QuorumView::node(q.quorum), "g1");
        assert_eq!(q.groups_attr(), "2:w0 w1 w2;2:g0 w3");
        assert_eq!(
            quorum_words(Lang::En.ui(), &q, q.quorum, true),
            "all 2 of these: (2 of these 3: a, b, c), d"
        );
        assert_eq!(
            quorum_words(Lang::Zh.ui(), &q, q.quorum, true),
            "以下 2 个全部：(以下 3 个中的 2 个：a、b、c)、d"
        );
        let any = quorum("group g any a b c\nquorum g\n").unwrap();
        assert_eq!(any.groups_attr(), "1:w0 w1 w2");
        assert_eq!(
            quorum_words(Lang::En.ui(), &any, any.quorum, true),
            "any one of these 3: a, b, c"
        );
        let one = quorum("quorum c\n").unwrap();
        assert_eq!(
            (QuorumView::node(one.quorum), one.groups_attr()),
            ("w2".to_owned(), String::new())
        );
        assert_eq!(quorum_words(Lang::En.ui(), &one, one.quorum, true), "c");
        assert!(quorum("quorum none\n").is_none(), "nothing to check");
    }

    #[test]
    fn times_for_people() {
        check("2026-03-22T10:00:00Z", "2026-03-22 10:00:00 UTC");
        check("not a time", "not a time");
    }

    fn log() -> LogView {
        LogView {
            origin: "example.org/log".into(),
            vkey: "example.org/log+01234567+AAAA".into(),
            size: 9,
            witnesses: vec![super::super::view::WitnessView {
                name: "w<1>".into(),
                vkey: "w1+89abcdef+BBBB".into(),
            }],
            server: "https://example.org".into(),
        }
    }

    fn letter_view() -> LetterView {
        LetterView {
            id: "sha256:00".into(),
            slug: "s".into(),
            title: "T".into(),
            language: "en".into(),
            source: None,
            text: Some("One.\n\nTwo,\nlines.\n".into()),
            index: 0,
            signers: 1,
            withdrawn: 0,
            hidden: 2,
        }
    }

    fn hide(name: &str) -> HideView {
        HideView {
            index: 7,
            target: 3,
            name: name.into(),
            reason: "impersonation".into(),
            note: Some("<b>not</b> the real one".into()),
            time: "2026-03-22T10:00:00Z".into(),
            moderator: "mod+00000000+CCCC".into(),
            moderator_name: Some("mod".into()),
        }
    }

    fn chrome() -> Chrome {
        Chrome {
            lang: Lang::En,
            explicit: false,
            path: "/letters/s".into(),
            params: vec![],
        }
    }

    /// The fields other features fill (verified claims, hides, moderators, witnesses)
    /// render from the view model, escaped like everything else.
    #[test]
    fn badges_hides_moderators_and_witnesses_render_from_the_view_model() {
        let row = SignerRow {
            index: 3,
            name: "Sam <Altman>".into(),
            affiliation: None,
            role: None,
            fingerprint: "0011223344556677".into(),
            time: "2026-03-22T10:00:00Z".into(),
            withdrawn: false,
            verified: vec![ClaimView {
                claim: "dns:example.org".into(),
                checked: "2026-03-23T00:00:00Z".into(),
                evidence: "sha256:ab".into(),
            }],
            hidden: Some(hide("Sam <Altman>")),
        };
        let unverified = SignerRow {
            verified: vec![],
            hidden: None,
            index: 1,
            ..row.clone()
        };
        let page = LetterPage {
            log: log(),
            letter: letter_view(),
            rows: vec![row, unverified],
            q: None,
            listing: Listing::Active,
            paged: false,
            next: None,
        };
        let html = letter(&chrome(), &page).into_string();
        assert!(
            html.contains("<span class=\"kind\">dns</span> example.org"),
            "{html}"
        );
        assert!(html.contains("<span class=\"mark\">hidden: impersonation</span>"));
        assert!(html.contains("Sam &lt;Altman&gt;"));
        assert!(html.contains("2 signers are hidden from this list by moderators."));
        assert!(html.contains("<li>w&lt;1&gt; <code>w1+89abcdef+BBBB</code></li>"));
        assert!(html.contains("<p>One.</p><p>Two,<br>lines.</p>"));

        let page = HiddenPage {
            log: log(),
            letter: letter_view(),
            hides: vec![hide("Sam <Altman>")],
            moderators: vec![super::super::view::ModeratorView {
                index: 5,
                name: "mod".into(),
                key: "mod+00000000+CCCC".into(),
            }],
        };
        let html = hidden(&chrome(), &page).into_string();
        assert!(html.contains("<dd class=\"reason\">impersonation</dd>"));
        assert!(html.contains("&lt;b&gt;not&lt;/b&gt; the real one"));
        assert!(html.contains("href=\"/entries/3\""));
        assert!(html.contains("href=\"/entries/7\""));
        assert!(html.contains("<code>mod+00000000+CCCC</code>"));
        assert!(!html.contains("id=\"no-hides\""));
    }

    #[test]
    fn links_encode_their_parameters() {
        assert_eq!(link("/p", &[]), "/p");
        assert_eq!(
            link("/p", &[("q", "a b&c=\"d\""), ("lang", "zh")]),
            "/p?q=a%20b%26c%3D%22d%22&lang=zh"
        );
        assert_eq!(link("/p", &[("q", "名")]), "/p?q=%E5%90%8D");
    }
}
