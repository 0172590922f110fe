//! `Policy::parse` (C2SP tlog-policy) on arbitrary bytes: it never panics, and a parsed
//! policy can be asked about its witnesses and checked against a checkpoint.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::policy::Policy;
use signet_core::SignedCheckpoint;

const CHECKPOINT: &[u8] = "example.org/pause-letter-log\n2\nLyelCCwdQq+kiKw1Cp/EOQwIT1T3Hs3/hZ6Y24QptHk=\n\n\u{2014} example.org/pause-letter-log vS+De9Y5Jfoqtn+ohJfEukI5I+bTFYOKjKCYAMOJGAeeh1374LHtfNyHOayzq1fg0yt14nnzp2RWSqW7pTSwDtaPngU=\n".as_bytes();

fuzz_target!(|data: &[u8]| {
    if let Ok(policy) = Policy::parse(data) {
        let witnesses = policy.witnesses();
        assert!(witnesses.iter().all(|w| w.url.as_deref().is_none_or(|u| !u.ends_with('/'))));
        if let Ok(cp) = SignedCheckpoint::parse(CHECKPOINT) {
            let _ = policy.verify_checkpoint(&cp);
            let _ = policy.check_quorum(&cp);
        }
    }
});
