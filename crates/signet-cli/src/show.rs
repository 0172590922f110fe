//! Showing text that came from elsewhere (a server's error message, a name, a note, an
//! origin, an entry as served) without letting it drive the terminal.
//!
//! A server could answer `ESC ] 0 ; title BEL` to retitle the window, `ESC [ 2 J` to
//! clear the screen and draw a fake "VALID", or a right-to-left override to make a name
//! read backwards. So every control character (C0, DEL and C1), every bidirectional
//! formatting character and the Unicode line and paragraph separators are written as
//! `\u{…}`, always: whether the output is a terminal or a file that a terminal shows
//! later. Everything else, any script included, passes unchanged. `--json` output
//! ([`json`]) writes the same characters as JSON `\uXXXX` escapes, which decode to the
//! very same data.

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

/// `value` as pretty JSON, then a newline. JSON escapes C0 controls itself; this also
/// writes every other character [`escape`] would escape as a JSON `\uXXXX` escape, so the
/// data a JSON reader decodes is exactly the same, and the text printed is inert.
pub fn json(value: &impl serde::Serialize) -> serde_json::Result<String> {
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(&mut out, InertJson::default());
    value.serialize(&mut ser)?;
    out.push(b'\n');
    // The serializer writes only UTF-8: the input strings and ASCII escapes.
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// serde_json's pretty layout, with dangerous characters in strings escaped.
#[derive(Debug, Default)]
struct InertJson(serde_json::ser::PrettyFormatter<'static>);

/// Forwards formatter methods to the pretty formatter.
macro_rules! forward {
    ($($name:ident($($arg:ident: $ty:ty),*);)*) => {$(
        fn $name<W: ?Sized + std::io::Write>(&mut self, w: &mut W $(, $arg: $ty)*) -> std::io::Result<()> {
            self.0.$name(w $(, $arg)*)
        }
    )*};
}

impl serde_json::ser::Formatter for InertJson {
    forward! {
        begin_array();
        end_array();
        begin_array_value(first: bool);
        end_array_value();
        begin_object();
        end_object();
        begin_object_key(first: bool);
        begin_object_value();
        end_object_value();
    }

    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        let mut rest = fragment;
        while let Some((at, c)) = rest.char_indices().find(|(_, c)| is_dangerous(*c)) {
            w.write_all(&rest.as_bytes()[..at])?;
            // Every dangerous character is in the Basic Multilingual Plane.
            write!(w, "\\u{:04x}", u32::from(c))?;
            rest = &rest[at + c.len_utf8()..];
        }
        w.write_all(rest.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    #![expect(clippy::unwrap_used, reason = "tests")]

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
    fn json_is_inert_and_decodes_to_the_same_data() {
        let value = serde_json::json!({
            "message": "\u{1b}[2J \u{9b}31m \u{202e}evil\u{2069} 日本 \"q\"",
            "list": [1, "x\u{2028}"],
        });
        let text = json(&value).unwrap();
        assert!(!text.chars().any(is_dangerous_but_newline), "{text:?}");
        assert!(
            text.contains("\\u001b[2J \\u009b31m \\u202eevil\\u2069 日本"),
            "{text}"
        );
        assert!(text.ends_with("}\n"));
        let back: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
        assert_eq!(
            text,
            format!(
                "{}\n",
                serde_json::to_string_pretty(&back)
                    .unwrap()
                    .replace('\u{9b}', "\\u009b")
                    .replace('\u{202e}', "\\u202e")
                    .replace('\u{2069}', "\\u2069")
                    .replace('\u{2028}', "\\u2028")
            )
        );
        // Without dangerous characters, the layout is serde_json's own.
        let plain = serde_json::json!({"a": [1, {"b": "日本"}], "c": null});
        let expected = format!("{}\n", serde_json::to_string_pretty(&plain).unwrap());
        assert_eq!(json(&plain).unwrap(), expected);
    }

    fn is_dangerous_but_newline(c: char) -> bool {
        c != '\n' && is_dangerous(c)
    }

    #[test]
    fn lines_keep_their_breaks() {
        assert_eq!(escape_lines("a\u{1b}\nb\r\n"), "a\\u{1b}\nb\\u{d}\n");
    }
}
