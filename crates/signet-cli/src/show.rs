//! Showing text that came from elsewhere (a server's error message, a name, a note, an
//! origin, an entry as served) without letting it drive the terminal.
//!
//! A server could answer `ESC ] 0 ; title BEL` to retitle the window, `ESC [ 2 J` to
//! clear the screen and draw a fake "VALID", or a right-to-left override to make a name
//! read backwards. So every control character (C0, DEL and C1), every bidirectional
//! formatting character and the Unicode line and paragraph separators are written as
//! `\u{…}`, always: whether the output is a terminal or a file that a terminal shows
//! later. Everything else, any script included, passes unchanged.

use std::borrow::Cow;

/// Whether `c` must not reach a terminal as it is.
fn is_dangerous(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            // Arabic letter mark, left-to-right and right-to-left marks.
            '\u{061C}' | '\u{200E}' | '\u{200F}'
            // Line and paragraph separators.
            | '\u{2028}' | '\u{2029}'
            // Embeddings and overrides (LRE, RLE, PDF, LRO, RLO) and isolates (LRI, RLI,
            // FSI, PDI).
            | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
        )
}

/// `text` with every dangerous character written as `\u{hex}`: the one way this program
/// shows text it did not write itself. A newline is escaped too; show multi-line text
/// with [`escape_lines`].
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(is_dangerous) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_dangerous(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// [`escape`] applied to each line of `text`, keeping the line breaks (`\n`) themselves.
pub fn escape_lines(text: &str) -> String {
    text.split('\n').map(escape).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(input: &str, expected: &str) {
        assert_eq!(escape(input), expected, "{input:?}");
    }

    #[test]
    fn dangerous_characters_are_escaped() {
        check("plain text, 日本語, کتاب‌ها", "plain text, 日本語, کتاب‌ها");
        check("\u{1b}]0;pwned\u{7}", "\\u{1b}]0;pwned\\u{7}");
        check("\u{1b}[2J", "\\u{1b}[2J");
        check("a\nb\rc\td\0", "a\\u{a}b\\u{d}c\\u{9}d\\u{0}");
        check("del\u{7f} csi\u{9b}", "del\\u{7f} csi\\u{9b}");
        check("\u{202e}evil\u{202c}", "\\u{202e}evil\\u{202c}");
        check("\u{2066}\u{2069}\u{200f}", "\\u{2066}\\u{2069}\\u{200f}");
        check("line\u{2028}sep", "line\\u{2028}sep");
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(escape_lines("a\u{1b}\nb\r\n"), "a\\u{1b}\nb\\u{d}\n");
    }
}
