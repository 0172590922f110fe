//! The witness in process: every status of add-checkpoint, through the router; the
//! state across restarts (a fork shown after one); concurrent inconsistent requests;
//! the key and its files.
#![expect(clippy::unwrap_used, reason = "tests")]

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, header};
use signet_core::keys::SignatureType;
use signet_core::merkle::{self, Subtree};
use signet_core::witness::AddCheckpoint;
use signet_core::{Checkpoint, Hash, KeyName, SignedCheckpoint, SigningKey, cosignature};
use signet_witness::{Answer, Witness, origin_hash};
use tower::ServiceExt as _;

const ORIGIN: &str = "example.org/log";
const NAME: &str = "witness.example/w1";

fn log_key() -> SigningKey {
    SigningKey::from_seed(
        KeyName::parse(ORIGIN).unwrap(),
        SignatureType::Ed25519,
        &[7; 32],
    )
}

/// A tree of `size` leaves, the `fork`-th variant (leaves differ between variants).
fn leaves(size: u64, fork: u8) -> Vec<Hash> {
    (0..size)
        .map(|i| Hash::leaf(format!("entry-{i}-{fork}").as_bytes()))
        .collect()
}

fn subtree(leaves: &[Hash], s: Subtree) -> Hash {
    let lo = (s.index << s.level) as usize;
    let hi = ((s.index + 1) << s.level) as usize;
    merkle::root_of(&leaves[lo..hi])
}

fn signed(leaves: &[Hash], key: &SigningKey) -> SignedCheckpoint {
    Checkpoint {
        origin: key.name().as_str().to_owned(),
        size: leaves.len() as u64,
        root: merkle::root_of(leaves),
        extensions: vec![],
    }
    .sign(key)
    .unwrap()
}

/// The add-checkpoint body for the tree `leaves` from `old`, with a real proof.
fn request(leaves: &[Hash], old: u64) -> Vec<u8> {
    let size = leaves.len() as u64;
    let proof = merkle::consistency_plan(old, size)
        .unwrap()
        .assemble(|s| Some(subtree(leaves, s)))
        .unwrap();
    AddCheckpoint {
        old,
        proof,
        checkpoint: signed(leaves, &log_key()),
    }
    .to_bytes()
}

fn open(dir: &Path) -> Witness {
    Witness::open(
        dir,
        KeyName::parse(NAME).unwrap(),
        vec![log_key().verifier()],
    )
    .unwrap()
    .with_clock(|| 1_700_000_000)
}

/// Sends `body` through the router; returns the status, content type and body.
fn post(w: &Arc<Witness>, body: Vec<u8>) -> (u16, String, String) {
    send(
        w,
        Request::post("/add-checkpoint")
            .body(Body::from(body))
            .unwrap(),
    )
}

fn send(w: &Arc<Witness>, req: Request<Body>) -> (u16, String, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let app = signet_witness::app(w.clone(), Duration::from_secs(5));
        let r = app.oneshot(req).await.unwrap();
        let status = r.status().as_u16();
        let ct = r
            .headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let body = axum::body::to_bytes(r.into_body(), 1 << 20).await.unwrap();
        (status, ct, String::from_utf8(body.to_vec()).unwrap())
    })
}

/// Checks that `body` is one valid cosignature by the witness on `leaves`' checkpoint.
fn assert_cosigned(w: &Witness, leaves: &[Hash], body: &str) {
    let cp = signed(leaves, &log_key());
    let sigs = signet_core::witness::parse_cosignatures(cp.checkpoint(), body.as_bytes()).unwrap();
    assert_eq!(sigs.len(), 1, "{body}");
    let t = cosignature::verify(cp.checkpoint(), &w.verifier(), &sigs[0]).unwrap();
    assert_eq!(t, 1_700_000_000);
}

#[test]
fn every_status_of_add_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let w = Arc::new(open(dir.path()));
    let tree = leaves(9, 0);

    // 422: a non-empty proof from old 0.
    let mut bad = AddCheckpoint::parse(&request(&tree[..5], 0)).unwrap();
    bad.proof = vec![Hash::leaf(b"x")];
    let (s, _, body) = post(&w, bad.to_bytes());
    assert_eq!(s, 422, "{body}");

    // 200 from old 0, then from the stored size with a real proof.
    let (s, ct, body) = post(&w, request(&tree[..5], 0));
    assert_eq!(
        (s, ct.as_str()),
        (200, "text/plain; charset=utf-8"),
        "{body}"
    );
    assert_cosigned(&w, &tree[..5], &body);
    let (s, _, body) = post(&w, request(&tree[..7], 5));
    assert_eq!(s, 200, "{body}");
    assert_cosigned(&w, &tree[..7], &body);
    // The same checkpoint again is cosigned again.
    let (s, _, body) = post(&w, request(&tree[..7], 7));
    assert_eq!(s, 200, "{body}");

    // 409: old is not the stored size; the body is the stored size.
    for old in [0, 5, 8] {
        let (s, ct, body) = post(&w, request(&tree[..9], old));
        assert_eq!(
            (s, ct.as_str(), body.as_str()),
            (409, "text/x.tlog.size", "7\n"),
            "old {old}"
        );
    }
    // 409: the stored size with another root.
    let (s, ct, body) = post(&w, request(&leaves(7, 1), 7));
    assert_eq!(
        (s, ct.as_str(), body.as_str()),
        (409, "text/x.tlog.size", "7\n")
    );

    // 422: a proof that does not verify (another tree, or a tampered proof).
    let (s, _, body) = post(&w, request(&leaves(9, 2), 7));
    assert_eq!(s, 422, "{body}");
    let mut tampered = AddCheckpoint::parse(&request(&tree, 7)).unwrap();
    tampered.proof[0] = Hash::leaf(b"tampered");
    let (s, _, body) = post(&w, tampered.to_bytes());
    assert_eq!(s, 422, "{body}");
    assert!(
        body.contains("consistency proof from size 7 to 9"),
        "{body}"
    );

    // 404: an unknown origin.
    let other = SigningKey::from_seed(
        KeyName::parse("example.org/other").unwrap(),
        SignatureType::Ed25519,
        &[8; 32],
    );
    let body = AddCheckpoint {
        old: 0,
        proof: vec![],
        checkpoint: signed(&tree, &other),
    }
    .to_bytes();
    let (s, _, msg) = post(&w, body);
    assert_eq!(s, 404, "{msg}");

    // 403: the right origin, but no valid signature by the log's key.
    let impostor = SigningKey::from_seed(
        KeyName::parse(ORIGIN).unwrap(),
        SignatureType::Ed25519,
        &[9; 32],
    );
    let body = AddCheckpoint {
        old: 7,
        proof: vec![],
        checkpoint: signed(&tree, &impostor),
    }
    .to_bytes();
    let (s, _, msg) = post(&w, body);
    assert_eq!(s, 403, "{msg}");
    let mut forged = signed(&tree, &log_key()).to_string();
    forged = forged.replace(&forged[forged.len() - 10..forged.len() - 3], "AAAAAAA");
    let (s, _, msg) = post(&w, format!("old 7\n\n{forged}").into_bytes());
    assert_eq!(s, 403, "{msg}");

    // 400: malformed bodies, and old larger than the checkpoint's size.
    for body in [
        b"hello".to_vec(),
        b"old 7\n".to_vec(),
        format!("old 10\n\n{}", signed(&tree, &log_key())).into_bytes(),
        format!("old 07\n\n{}", signed(&tree, &log_key())).into_bytes(),
    ] {
        let (s, _, msg) = post(&w, body);
        assert_eq!(s, 400, "{msg}");
    }

    // Nothing refused moved the state: 9 extends 7 still.
    let (s, _, body) = post(&w, request(&tree, 7));
    assert_eq!(s, 200, "{body}");
    assert_cosigned(&w, &tree, &body);

    // 413 for a declared body over the limit, before it is read.
    let req = Request::post("/add-checkpoint")
        .header(header::CONTENT_LENGTH, "10000000")
        .body(Body::empty())
        .unwrap();
    assert_eq!(send(&w, req).0, 413);
    // 405 and 404 elsewhere.
    assert_eq!(
        send(
            &w,
            Request::get("/add-checkpoint").body(Body::empty()).unwrap()
        )
        .0,
        405
    );
    assert_eq!(
        send(&w, Request::get("/nothing").body(Body::empty()).unwrap()).0,
        404
    );
}

#[test]
fn the_monitoring_endpoint_serves_the_latest_cosigned_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let w = Arc::new(open(dir.path()));
    let path = format!("/{}/checkpoint", origin_hash(ORIGIN));
    let get = |p: &str| Request::get(p).body(Body::empty()).unwrap();
    assert_eq!(send(&w, get(&path)).0, 404);
    let tree = leaves(3, 0);
    assert_eq!(post(&w, request(&tree, 0)).0, 200);
    let (s, ct, body) = send(&w, get(&path));
    assert_eq!((s, ct.as_str()), (200, "text/plain; charset=utf-8"));
    let cp = SignedCheckpoint::parse(body.as_bytes()).unwrap();
    assert_eq!(cp.verify(&log_key().verifier()).unwrap().size, 3);
    let cosig = &cp.note().signatures()[1];
    cosignature::verify(cp.checkpoint(), &w.verifier(), cosig).unwrap();
    assert_eq!(
        send(&w, get(&format!("/{}/checkpoint", origin_hash("other")))).0,
        404
    );
}

#[test]
fn a_restart_keeps_the_state_and_shows_a_fork() {
    let dir = tempfile::tempdir().unwrap();
    let tree = leaves(6, 0);
    {
        let w = open(dir.path());
        assert_eq!(w.add_checkpoint(&request(&tree[..4], 0)).status(), 200);
    }
    let w = open(dir.path());
    // The stored size survived: old 0 is now a conflict naming it.
    assert_eq!(
        w.add_checkpoint(&request(&tree[..4], 0)),
        Answer::Conflict {
            size: 4,
            reason: "old size 0 is not the size this witness holds".into()
        }
    );
    // A fork of the same size: 409; a bigger tree that does not extend it: 422.
    let fork = leaves(6, 1);
    assert_eq!(w.add_checkpoint(&request(&fork[..4], 4)).status(), 409);
    assert_eq!(w.add_checkpoint(&request(&fork, 4)).status(), 422);
    // The real continuation is cosigned.
    assert_eq!(w.add_checkpoint(&request(&tree, 4)).status(), 200);
    drop(w);
    let w = open(dir.path());
    assert_eq!(w.add_checkpoint(&request(&tree, 6)).status(), 200);
    assert_eq!(w.add_checkpoint(&request(&fork, 6)).status(), 409);
}

#[test]
fn two_concurrent_inconsistent_checkpoints_never_both_win() {
    let dir = tempfile::tempdir().unwrap();
    let w = Arc::new(open(dir.path()));
    let mut current = leaves(2, 0);
    assert_eq!(w.add_checkpoint(&request(&current, 0)).status(), 200);
    for round in 0..20u8 {
        // Two trees that both extend the stored one, and differ from each other.
        let size = current.len() as u64;
        let mut a = current.clone();
        let mut b = current.clone();
        a.push(Hash::leaf(&[round, 1]));
        b.push(Hash::leaf(&[round, 2]));
        let bodies = [request(&a, size), request(&b, size)];
        let barrier = Arc::new(Barrier::new(2));
        let answers: Vec<u16> = std::thread::scope(|s| {
            let handles: Vec<_> = bodies
                .iter()
                .map(|body| {
                    let (w, barrier) = (w.clone(), barrier.clone());
                    s.spawn(move || {
                        barrier.wait();
                        w.add_checkpoint(body).status()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        let mut sorted = answers.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [200, 409], "round {round}: {answers:?}");
        current = if answers[0] == 200 { a } else { b };
        let stored = w.latest(&origin_hash(ORIGIN)).unwrap();
        let stored = SignedCheckpoint::parse(stored.as_bytes()).unwrap();
        assert_eq!(
            stored.checkpoint().root,
            merkle::root_of(&current),
            "round {round}"
        );
    }
}

#[test]
fn the_key_is_private_and_fixed_with_its_name() {
    let dir = tempfile::tempdir().unwrap();
    let w = open(dir.path());
    let key = dir.path().join(signet_witness::KEY_FILE);
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let vkey = std::fs::read_to_string(dir.path().join(signet_witness::VKEY_FILE)).unwrap();
    assert_eq!(vkey, format!("{}\n", w.verifier()));
    assert!(vkey.starts_with(&format!("{NAME}+")));
    assert_eq!(w.verifier().sig_type(), SignatureType::CosignatureV1);
    drop(w);
    // The same key at the next start.
    assert_eq!(open(dir.path()).verifier().to_string(), vkey.trim_end());
    // Another name: refused, naming the key's.
    let err = Witness::open(
        dir.path(),
        KeyName::parse("other.example/w").unwrap(),
        vec![log_key().verifier()],
    )
    .unwrap_err();
    assert!(err.to_string().contains(NAME), "{err}");
    // A key others may read: refused.
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = Witness::open(
        dir.path(),
        KeyName::parse(NAME).unwrap(),
        vec![log_key().verifier()],
    )
    .unwrap_err();
    assert!(err.to_string().contains("chmod 600"), "{err}");
    // No log, or two keys for one origin: refused.
    let fresh = tempfile::tempdir().unwrap();
    assert!(Witness::open(fresh.path(), KeyName::parse(NAME).unwrap(), vec![]).is_err());
    let impostor = SigningKey::from_seed(
        KeyName::parse(ORIGIN).unwrap(),
        SignatureType::Ed25519,
        &[9; 32],
    );
    assert!(
        Witness::open(
            fresh.path(),
            KeyName::parse(NAME).unwrap(),
            vec![log_key().verifier(), impostor.verifier()]
        )
        .is_err()
    );
}

#[test]
fn a_state_signed_by_another_key_is_refused_at_start() {
    let dir = tempfile::tempdir().unwrap();
    assert_eq!(
        open(dir.path())
            .add_checkpoint(&request(&leaves(2, 0), 0))
            .status(),
        200
    );
    let other = SigningKey::from_seed(
        KeyName::parse(ORIGIN).unwrap(),
        SignatureType::Ed25519,
        &[9; 32],
    );
    let err = Witness::open(
        dir.path(),
        KeyName::parse(NAME).unwrap(),
        vec![other.verifier()],
    )
    .unwrap_err();
    assert!(err.to_string().contains("another key of this log"), "{err}");
}
