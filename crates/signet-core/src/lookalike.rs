//! Look-alike matching (see docs/protocol.md, *Look-alike names*): the one reduction that
//! search and `signet watch` both compare names by.
//!
//! A name is reduced to the Unicode Technical Standard #39 confusable *skeleton* of its
//! case-folded NFKC form: NFKC (compatibility forms such as fullwidth letters become
//! plain ones), then full case folding (`SAM` and `sam`, `Straße` and `STRASSE`), then
//! NFKC again (folding can denormalise), then the skeleton, which maps each character to
//! the prototype it is confusable with (Cyrillic `ѕ` and Latin `s`, Greek `ο` and Latin
//! `o`). Two names that look alike have the same skeleton; a name "contains" a filter when
//! the filter's skeleton is a substring of the name's. The confusables table is the one
//! `unicode-security` compiles in; the case folding is ICU4X's.

use icu_casemap::CaseMapper;
use unicode_normalization::UnicodeNormalization as _;

/// The skeleton of `text`'s case-folded NFKC form.
pub fn skeleton(text: &str) -> String {
    let nfkc: String = text.nfkc().collect();
    let folded = CaseMapper::new().fold_string(&nfkc);
    let refolded: String = folded.nfkc().collect();
    unicode_security::skeleton(&refolded).collect()
}

/// Whether `text` contains something that looks like `filter`: the filter's skeleton is
/// a substring of the text's. An empty filter matches everything.
pub fn contains(text: &str, filter: &str) -> bool {
    skeleton(text).contains(&skeleton(filter))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `filter` matches `text` exactly when `want` says so.
    fn check(text: &str, filter: &str, want: bool) {
        assert_eq!(
            contains(text, filter),
            want,
            "{text:?} contains {filter:?}: skeletons {:?} and {:?}",
            skeleton(text),
            skeleton(filter)
        );
    }

    #[test]
    fn look_alikes_case_and_compatibility_forms_match() {
        check("Sam Altman", "sam altman", true);
        check("SAM ALTMAN", "sam altman", true);
        // Cyrillic DZE (U+0405) for the S.
        check("\u{0405}am Altman", "sam altman", true);
        // Cyrillic а for the a, Greek Α for the A.
        check("S\u{0430}m \u{0391}ltman", "Sam Altman", true);
        // Fullwidth letters are compatibility forms.
        check("\u{FF33}am Altman", "sam", true);
        check("Bill Gates", "gates", true);
        check("Yann LeCun", "sam altman", false);
        check("习近平", "近平", true);
        check("习近平", "习进平", false);
    }
}
