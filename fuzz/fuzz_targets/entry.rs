//! `Entry::parse` on arbitrary bytes, and the statement grammar on its own.
//!
//! A random input almost never carries a valid signature, so `Entry::parse` alone would
//! leave the body grammar barely explored. The target therefore also hands the text of
//! any well-formed note (and the whole input, when it is UTF-8) to
//! `Statement::parse_body`, which needs no signature. Every statement has exactly one
//! encoding (docs/protocol.md): whatever parses must format back to its input.

#![no_main]

use libfuzzer_sys::fuzz_target;
use signet_core::{Entry, Note, Statement};

/// Checks that a body the grammar accepts is the one encoding of its statement.
fn check_body(body: &str) -> Option<Statement> {
    let statement = Statement::parse_body(body).ok()?;
    assert_eq!(
        statement.body(),
        body,
        "a parsed statement does not re-encode to its body"
    );
    Some(statement)
}

fuzz_target!(|data: &[u8]| {
    if let Ok(entry) = Entry::parse(data) {
        assert_eq!(
            entry.bytes(),
            data,
            "an entry does not keep its exact bytes"
        );
        // An entry is a signed note whose text is a statement.
        let note = Note::parse(data);
        assert!(note.is_ok(), "an entry is not a note: {note:?}");
        if let Ok(note) = note {
            let statement = check_body(note.text());
            assert_eq!(
                statement.as_ref(),
                Some(entry.statement()),
                "the entry's statement differs from its body's"
            );
        }
    } else if let Ok(note) = Note::parse(data) {
        check_body(note.text());
    }
    if let Ok(text) = std::str::from_utf8(data) {
        check_body(text);
    }
});
