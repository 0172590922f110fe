//! The checker against the fixture sites and DNS server: every case of the claim rules.
#![expect(clippy::unwrap_used, reason = "tests")]

use signet_core::entry::IdentityClaim;
use signet_identity::{Checker, IdentityArgs, Outcome};
use signet_testkit::identity::{Fixtures, refused_cases, standard_cases};

fn checker(fx: &Fixtures, allow_private: bool) -> Checker {
    let args = IdentityArgs {
        identity_ca: Some(fx.ca_pem().to_owned()),
        identity_dns: Some(fx.dns()),
        identity_allow_private: allow_private,
    };
    Checker::new(args.config().unwrap()).unwrap()
}

const KEY: [u8; 32] = [42; 32];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_case() {
    let fx = Fixtures::start();
    let (cases, _sites) = standard_cases(&fx, &|_| KEY);
    let checker = checker(&fx, true);
    let checks = cases.iter().map(|case| {
        let claim = IdentityClaim::parse(&case.claim).unwrap();
        let checker = &checker;
        async move { (case, checker.check(&claim, &KEY).await) }
    });
    let started = std::time::Instant::now();
    let results = futures_join(checks).await;
    // All at once: the slow one takes its 5 s and no more.
    assert!(
        started.elapsed() < std::time::Duration::from_secs(7),
        "{:?}",
        started.elapsed()
    );
    for (case, check) in results {
        match (&check.outcome, case.holds) {
            (Outcome::Held(e), true) => assert!(e.as_str().starts_with("sha256:"), "{}", case.name),
            (Outcome::Failed(reason), false) => {
                assert!(reason.contains(case.reason), "{}: {reason}", case.name)
            }
            (got, _) => panic!("{} ({}): {got:?}", case.name, case.claim),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_is_the_proving_bytes() {
    let fx = Fixtures::start();
    let site = fx.site("evidence.test");
    let body = format!("signet-key={}\n", signet_core::b64::encode(&KEY));
    site.set(
        "/",
        signet_testkit::identity::Page::Body(body.clone().into_bytes()),
    );
    let checker = checker(&fx, true);
    let claim = IdentityClaim::parse("https://evidence.test/").unwrap();
    let check = checker.check(&claim, &KEY).await;
    use sha2::Digest as _;
    let want = format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(body.as_bytes()))
    );
    assert_eq!(
        check.outcome,
        Outcome::Held(signet_identity::Evidence::parse(&want).unwrap())
    );
    // Another key's check of the same page fails, naming the page.
    let other = checker.check(&claim, &[1; 32]).await;
    match other.outcome {
        Outcome::Failed(r) => assert!(
            r.contains("the page at https://evidence.test/ does not contain"),
            "{r}"
        ),
        o => panic!("{o:?}"),
    }
    // A page that changes stops holding.
    site.set(
        "/",
        signet_testkit::identity::Page::Body(b"gone\n".to_vec()),
    );
    assert!(!checker.check(&claim, &KEY).await.outcome.held());
    // A status other than 200 fails too.
    site.set("/", signet_testkit::identity::Page::Status(500));
    match checker.check(&claim, &KEY).await.outcome {
        Outcome::Failed(r) => assert!(r.contains("not 200"), "{r}"),
        o => panic!("{o:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_address_rule_refuses_without_connecting() {
    let fx = Fixtures::start();
    let (cases, site) = refused_cases(&fx, &KEY);
    let strict = checker(&fx, false);
    for case in &cases {
        let claim = IdentityClaim::parse(&case.claim).unwrap();
        match strict.check(&claim, &KEY).await.outcome {
            Outcome::Failed(r) => {
                assert!(r.starts_with("refused: "), "{}: {r}", case.name);
                assert!(r.contains(case.reason), "{}: {r}", case.name);
            }
            o => panic!("{}: {o:?}", case.name),
        }
    }
    assert_eq!(site.accepts(), 0, "a refused address is never dialled");
    // github.com on loopback is refused the same way.
    let (_, _) = standard_cases(&fx, &|_| KEY);
    let github = IdentityClaim::parse("github:alice").unwrap();
    match strict.check(&github, &KEY).await.outcome {
        Outcome::Failed(r) => assert!(r.contains("refused: github.com resolves to 127."), "{r}"),
        o => panic!("{o:?}"),
    }
    // With the rule off, the loopback site is reached and the claim holds.
    let open = checker(&fx, true);
    let claim = IdentityClaim::parse(&cases[0].claim).unwrap();
    assert!(open.check(&claim, &KEY).await.outcome.held());
    assert_eq!(site.accepts(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_hosts_and_a_wrong_certificate() {
    let fx = Fixtures::start();
    let site = fx.site("cert.test");
    site.set("/", signet_testkit::identity::Page::Body(b"x".to_vec()));
    // A checker without the test CA does not trust the site.
    let args = IdentityArgs {
        identity_ca: None,
        identity_dns: Some(fx.dns()),
        identity_allow_private: true,
    };
    let untrusting = Checker::new(args.config().unwrap()).unwrap();
    let claim = IdentityClaim::parse("https://cert.test/").unwrap();
    match untrusting.check(&claim, &KEY).await.outcome {
        Outcome::Failed(r) => assert!(r.contains("TLS with cert.test failed"), "{r}"),
        o => panic!("{o:?}"),
    }
    assert_eq!(site.accepts(), 1);
    let trusting = checker(&fx, true);
    let nowhere = IdentityClaim::parse("https://nowhere.test/").unwrap();
    match trusting.check(&nowhere, &KEY).await.outcome {
        Outcome::Failed(r) => assert!(r.contains("nowhere.test has no address"), "{r}"),
        o => panic!("{o:?}"),
    }
}

/// Runs the futures at once and returns their results in order.
async fn futures_join<F: std::future::Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut out = Vec::new();
    let pinned: Vec<_> = futures.map(Box::pin).collect();
    // A tiny join_all: poll every future until all are done.
    let mut slots: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    let mut pinned = pinned;
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (slot, fut) in slots.iter_mut().zip(pinned.iter_mut()) {
            if slot.is_none() {
                match fut.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *slot = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(slots.into_iter().flatten());
    out
}
