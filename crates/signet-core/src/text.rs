//! The value rules every parser enforces: text values and timestamps (see
//! docs/protocol.md, *Text values* and *Timestamps*).
//!
//! # Text values
//!
//! A text value (a name, an affiliation, a role, a title) is shown to people, so nothing
//! in it may be invisible, reorder the text around it, or pass for something else. The
//! rule is by character property, not by a list someone might leave incomplete:
//!
//! - refused: every control (Cc), format (Cf), private-use (Co) and unassigned (Cn) code
//!   point, noncharacters included; every `Default_Ignorable_Code_Point` (soft hyphen,
//!   combining grapheme joiner, Hangul fillers, Mongolian and other variation
//!   selectors, tags, ...); U+2800 BRAILLE PATTERN BLANK, which looks like a space; and
//!   every space or separator (Zs, Zl, Zp) but U+0020;
//! - the one exception: U+200C ZERO WIDTH NON-JOINER and U+200D ZERO WIDTH JOINER,
//!   exactly where IDNA's CONTEXTJ rules (RFC 5892, Appendix A.1 and A.2) allow them:
//!   right after a virama (canonical combining class 9), as Indic scripts need, or, for
//!   the non-joiner only, between a left- or dual-joining and a right- or dual-joining
//!   letter with only transparent marks between (Joining_Type, from ArabicShaping.txt),
//!   as Persian needs (`کتاب‌ها`). Anywhere else they are refused, so `Sam<ZWJ>Altman`
//!   cannot pass for `SamAltman`;
//! - U+0020 is never leading, trailing or doubled, and the value is in NFC.
//!
//! The properties come from ICU4X's compiled data (`icu_properties`), and NFC from
//! `unicode-normalization`; both implement the same Unicode version, which a test pins.
//! "Unassigned" is judged by that version, so a value accepted today keeps its NFC form
//! when a later version assigns more characters. The checks cost a few table look-ups
//! per non-ASCII character, and none for printable ASCII.

use std::fmt;

use icu_properties::props::{
    BidiControl, CanonicalCombiningClass, DefaultIgnorableCodePoint, GeneralCategory, JoiningType,
};
use icu_properties::{
    CodePointMapData, CodePointMapDataBorrowed, CodePointSetData, CodePointSetDataBorrowed,
};
use unicode_normalization::is_nfc;

use crate::Error;

/// A time in whole seconds, written exactly `YYYY-MM-DDTHH:MM:SSZ`, UTC, not before
/// 2000-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

/// 9999-12-31T23:59:59Z, the last time a four-digit year can write.
const MAX_UNIX: u64 = 253_402_300_799;

/// How far ahead of the clock a submitted time may be: 10 minutes (see
/// docs/protocol.md, *Timestamps*).
const MAX_AHEAD_SECONDS: u64 = 600;

const SECONDS_PER_DAY: u64 = 86_400;

impl Timestamp {
    /// The earliest accepted time, 2000-01-01T00:00:00Z.
    pub const MIN: Timestamp = Timestamp(946_684_800);

    /// Parses the exact form `YYYY-MM-DDTHH:MM:SSZ`: a real date, hours 00–23, minutes
    /// and seconds 00–59, not before [`Timestamp::MIN`].
    pub fn parse(s: &str) -> Result<Timestamp, Error> {
        let bad_form = || {
            Error::field(
                "time",
                format_args!(
                    "{s:?} is not of the form YYYY-MM-DDTHH:MM:SSZ (UTC, e.g. 2026-01-01T12:00:00Z)"
                ),
            )
        };
        let b = s.as_bytes();
        if b.len() != 20
            || b[4] != b'-'
            || b[7] != b'-'
            || b[10] != b'T'
            || b[13] != b':'
            || b[16] != b':'
            || b[19] != b'Z'
        {
            return Err(bad_form());
        }
        let number = |from: usize, to: usize| -> Result<u64, Error> {
            b[from..to].iter().try_fold(0u64, |n, &c| {
                if c.is_ascii_digit() {
                    Ok(n * 10 + u64::from(c - b'0'))
                } else {
                    Err(bad_form())
                }
            })
        };
        let (year, month, day) = (number(0, 4)?, number(5, 7)?, number(8, 10)?);
        let (hour, minute, second) = (number(11, 13)?, number(14, 16)?, number(17, 19)?);
        if year < 2000 {
            return Err(Error::field(
                "time",
                format_args!("{s} is before 2000-01-01T00:00:00Z"),
            ));
        }
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(Error::field("time", format_args!("{s} is not a real date")));
        }
        if hour > 23 || minute > 59 || second > 59 {
            return Err(Error::field(
                "time",
                format_args!(
                    "{s} is not a real time of day (hours 00-23, minutes and seconds 00-59)"
                ),
            ));
        }
        let days = days_from_civil(year, month, day);
        Ok(Timestamp(
            days * SECONDS_PER_DAY + hour * 3600 + minute * 60 + second,
        ))
    }

    /// From seconds since the Unix epoch; refuses times before [`Timestamp::MIN`] and
    /// after 9999-12-31T23:59:59Z.
    pub fn from_unix(seconds: u64) -> Result<Timestamp, Error> {
        if seconds < Timestamp::MIN.0 {
            return Err(Error::field(
                "time",
                format_args!(
                    "{seconds} seconds since the Unix epoch is before 2000-01-01T00:00:00Z"
                ),
            ));
        }
        if seconds > MAX_UNIX {
            return Err(Error::field(
                "time",
                format_args!(
                    "{seconds} seconds since the Unix epoch is after 9999-12-31T23:59:59Z"
                ),
            ));
        }
        Ok(Timestamp(seconds))
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> u64 {
        self.0
    }

    /// Refuses a time more than 10 minutes after `now` (the submission check; see
    /// docs/protocol.md, *Timestamps*).
    pub fn check_not_future(&self, now: Timestamp) -> Result<(), Error> {
        if self.0 > now.0.saturating_add(MAX_AHEAD_SECONDS) {
            return Err(Error::FutureTime {
                time: self.to_string(),
                now: now.to_string(),
            });
        }
        Ok(())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (year, month, day) = civil_from_days(self.0 / SECONDS_PER_DAY);
        let rest = self.0 % SECONDS_PER_DAY;
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            rest / 3600,
            rest % 3600 / 60,
            rest % 60
        )
    }
}

fn is_leap_year(year: u64) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u64, month: u64) -> u64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// The two conversions below are Howard Hinnant's `days_from_civil` and
// `civil_from_days` (https://howardhinnant.github.io/date_algorithms.html), restricted
// to years from 2000 on, so every quantity is non-negative and unsigned arithmetic is
// exact. Years are counted from March, which puts the leap day at the end of a year.

/// Days since 1970-01-01 of a valid date in a year from 2000 on.
fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y / 400;
    let year_of_era = y - era * 400;
    let month_from_march = (month + 9) % 12;
    let day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    // 719_468 days separate 0000-03-01 from 1970-01-01.
    era * 146_097 + day_of_era - 719_468
}

/// The date (year, month, day) of a count of days since 1970-01-01.
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// Checks a text value (see docs/protocol.md, *Text values*): 1..=`max_chars` scalar
/// values in NFC, none of them refused by the character rules of this module, and U+0020
/// as the only space, never leading, trailing or doubled. `field` names the value in the
/// error, which says what is wrong and how to fix it, and shows an offending character
/// as `U+XXXX`, never raw.
pub fn check_text(field: &'static str, value: &str, max_chars: usize) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::field(field, "is empty; give at least one character"));
    }
    let mut previous = None;
    for (at, c) in value.char_indices() {
        if let Some((what, fix)) = refused(c, &value[..at], &value[at + c.len_utf8()..]) {
            let c = u32::from(c);
            return Err(Error::field(
                field,
                format_args!("contains U+{c:04X} ({what}); {fix}"),
            ));
        }
        if c == ' ' && previous == Some(' ') {
            return Err(Error::field(
                field,
                "contains two spaces in a row; use single spaces",
            ));
        }
        previous = Some(c);
    }
    if value.starts_with(' ') {
        return Err(Error::field(field, "starts with a space; remove it"));
    }
    if value.ends_with(' ') {
        return Err(Error::field(field, "ends with a space; remove it"));
    }
    let chars = value.chars().count();
    if chars > max_chars {
        return Err(Error::field(
            field,
            format_args!(
                "is {chars} characters long; at most {max_chars} are allowed, so shorten it"
            ),
        ));
    }
    if !is_nfc(value) {
        return Err(Error::field(
            field,
            "is not in Unicode normalization form C (NFC); normalize it to NFC (composed characters)",
        ));
    }
    Ok(())
}

/// `value` with every character outside printable ASCII (and the space) written as
/// `<U+XXXX>`, for error messages: what came from the network never reaches a terminal
/// raw.
pub(crate) fn escaped(value: &str) -> String {
    use fmt::Write as _;
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        if c == ' ' || c.is_ascii_graphic() {
            out.push(c);
        } else {
            // Writing to a String cannot fail.
            let _ = write!(out, "<U+{:04X}>", u32::from(c));
        }
    }
    out
}

const ZWNJ: char = '\u{200C}';
const ZWJ: char = '\u{200D}';

/// The character properties, compiled into the binary: no data is loaded at run time.
const GENERAL_CATEGORY: CodePointMapDataBorrowed<'static, GeneralCategory> =
    CodePointMapData::new();
const JOINING_TYPE: CodePointMapDataBorrowed<'static, JoiningType> = CodePointMapData::new();
const COMBINING_CLASS: CodePointMapDataBorrowed<'static, CanonicalCombiningClass> =
    CodePointMapData::new();
const DEFAULT_IGNORABLE: CodePointSetDataBorrowed<'static> =
    CodePointSetData::new::<DefaultIgnorableCodePoint>();
const BIDI_CONTROL: CodePointSetDataBorrowed<'static> = CodePointSetData::new::<BidiControl>();

const REMOVE: &str = "remove it";

/// What `c` is and how to fix a value holding it, if it may not appear in a text value
/// between `before` and `after` (the rest of the value on each side).
fn refused(c: char, before: &str, after: &str) -> Option<(&'static str, &'static str)> {
    // Printable ASCII and the space are always allowed (spaces have their own rules);
    // most values are mostly ASCII, so this keeps the property look-ups off their path.
    if (' '..='~').contains(&c) {
        return None;
    }
    if c == ZWNJ || c == ZWJ {
        return (!joiner_allowed(c, before, after)).then_some(if c == ZWNJ {
            (
                "a zero width non-joiner, allowed only right after a virama or between two \
                 letters that would otherwise join, as in Persian",
                REMOVE,
            )
        } else {
            (
                "a zero width joiner, allowed only right after a virama",
                REMOVE,
            )
        });
    }
    // The categories first, then the invisible characters of other categories, so that
    // each character gets the most specific message.
    match GENERAL_CATEGORY.get(c) {
        GeneralCategory::Control => return Some(("a control character", REMOVE)),
        GeneralCategory::Format if BIDI_CONTROL.contains(c) => {
            return Some(("a bidirectional control character", REMOVE));
        }
        GeneralCategory::Format if c == '\u{FEFF}' => {
            return Some(("a byte-order mark or zero-width no-break space", REMOVE));
        }
        GeneralCategory::Format => return Some(("an invisible character", REMOVE)),
        GeneralCategory::PrivateUse => {
            return Some((
                "a private-use character, which shows differently on every system",
                REMOVE,
            ));
        }
        GeneralCategory::Unassigned => {
            return Some((
                "an unassigned code point or a noncharacter",
                "remove it or use an assigned character",
            ));
        }
        GeneralCategory::SpaceSeparator => {
            return Some((
                "a space other than U+0020",
                "replace it with an ordinary space",
            ));
        }
        GeneralCategory::LineSeparator | GeneralCategory::ParagraphSeparator => {
            return Some(("a line or paragraph separator", REMOVE));
        }
        _ => {}
    }
    if DEFAULT_IGNORABLE.contains(c) {
        return Some((
            "an invisible character (default ignorable: a filler, a selector or a joiner)",
            REMOVE,
        ));
    }
    if c == '\u{2800}' {
        return Some(("a blank braille pattern, which looks like a space", REMOVE));
    }
    None
}

/// The CONTEXTJ rules of IDNA (RFC 5892, Appendix A.1 and A.2): a ZWNJ or ZWJ is allowed
/// right after a virama (canonical combining class 9), and a ZWNJ also where it stops
/// two letters from joining: after a left- or dual-joining letter and before a right- or
/// dual-joining one, with only transparent characters (marks) between them and it.
fn joiner_allowed(joiner: char, before: &str, after: &str) -> bool {
    let Some(previous) = before.chars().next_back() else {
        return false;
    };
    if COMBINING_CLASS.get(previous) == CanonicalCombiningClass::Virama {
        return true;
    }
    if joiner != ZWNJ {
        return false;
    }
    // Each scan stops at the first character that is not transparent, and a ZWNJ is
    // not transparent, so each run of marks is scanned at most twice: linear time.
    let joining = |c: char| JOINING_TYPE.get(c);
    let left = before
        .chars()
        .rev()
        .map(joining)
        .find(|&t| t != JoiningType::Transparent);
    let right = after
        .chars()
        .map(joining)
        .find(|&t| t != JoiningType::Transparent);
    matches!(
        left,
        Some(JoiningType::LeftJoining | JoiningType::DualJoining)
    ) && matches!(
        right,
        Some(JoiningType::RightJoining | JoiningType::DualJoining)
    )
}

#[cfg(test)]
#[expect(
    clippy::unwrap_used,
    reason = "a test fails loudly on a broken invariant"
)]
mod tests {
    use super::*;

    /// Checks `value` as a 16-character field: `Ok(())` or an error message containing
    /// the expected text.
    fn check(value: &str, expected: Result<(), &str>) {
        match (check_text("name", value, 16), expected) {
            (Ok(()), Ok(())) => {}
            (Err(e), Err(want)) => {
                let got = e.to_string();
                assert!(
                    got.contains(want),
                    "{value:?}: error {got:?} does not mention {want:?}"
                );
                assert!(got.starts_with("invalid name: "), "{value:?}: {got:?}");
            }
            (got, want) => panic!("{value:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn text_values() {
        check("Alice", Ok(()));
        check("Ada Lovelace", Ok(()));
        check("测试 Alice", Ok(()));
        check("می‌خواهم", Ok(())); // U+200C ZERO WIDTH NON-JOINER, which Persian needs.
        check("Иван", Ok(()));
        check("محمد علي", Ok(()));
        check("é", Ok(()));
        check("0123456789", Ok(()));
        check("क्\u{200C}ष", Ok(())); // After a virama.
        check("क्\u{200D}ष", Ok(()));
        check("بِ\u{200C}ه", Ok(())); // A transparent mark between letter and ZWNJ.
        check("ب\u{200C}ِه", Ok(())); // ... and between ZWNJ and letter.

        check("", Err("is empty"));
        check(
            "a\u{200D}b",
            Err("contains U+200D (a zero width joiner, allowed only"),
        );
        check(
            "a\u{200C}b",
            Err("contains U+200C (a zero width non-joiner"),
        );
        check("\u{200C}", Err("contains U+200C"));
        check("\u{200D}क्", Err("contains U+200D"));
        check("ب\u{200D}ه", Err("contains U+200D"));
        check("ا\u{200C}ه", Err("contains U+200C")); // Alef joins only to its right.
        check("ب\u{200C}ا\u{200C}ه", Err("contains U+200C"));
        check("ب\u{200C}", Err("contains U+200C"));
        check("\u{200C}ه", Err("contains U+200C"));
        check("\u{E000}", Err("contains U+E000 (a private-use character"));
        check("a\u{10FFFD}", Err("contains U+10FFFD (a private-use"));
        check(
            "a\u{AD}b",
            Err("contains U+00AD (an invisible character); remove it"),
        );
        check("a\u{61C}b", Err("contains U+061C (a bidirectional control"));
        check(
            "a\u{3164}b",
            Err("contains U+3164 (an invisible character (default"),
        );
        check(
            "a\u{FE0F}",
            Err("contains U+FE0F (an invisible character (default"),
        );
        check(
            "a\u{2800}b",
            Err("contains U+2800 (a blank braille pattern"),
        );
        check(
            "a\u{1680}b",
            Err("contains U+1680 (a space other than U+0020"),
        );
        check("0123456789abcdef", Ok(()));
        check(
            "0123456789abcdefg",
            Err("is 17 characters long; at most 16"),
        );
        check("éééééééééééééééé", Ok(()));
        check("ééééééééééééééééé", Err("is 17 characters long"));
        check(" Alice", Err("starts with a space"));
        check("Alice ", Err("ends with a space"));
        check("Ada  Lovelace", Err("two spaces in a row"));
        check(" ", Err("starts with a space"));
        check("e\u{301}", Err("not in Unicode normalization form C"));
        check("a\0b", Err("contains U+0000 (a control character"));
        check("a\tb", Err("contains U+0009 (a control character"));
        check("a\nb", Err("contains U+000A (a control character"));
        check("a\u{7F}b", Err("contains U+007F (a control character"));
        check("a\u{85}b", Err("contains U+0085 (a control character"));
        check("a\u{9F}b", Err("contains U+009F (a control character"));
        check(
            "a\u{378}b",
            Err("contains U+0378 (an unassigned code point"),
        );
        check(
            "a\u{FFFF}b",
            Err("contains U+FFFF (an unassigned code point"),
        );
        check(
            "a\u{FDD0}b",
            Err("contains U+FDD0 (an unassigned code point"),
        );
        check("a\u{E0000}b", Err("contains U+E0000 (an unassigned"));
        check(
            "a\u{200B}b",
            Err("contains U+200B (an invisible character); remove it"),
        );
        check("a\u{2060}b", Err("contains U+2060 (an invisible character"));
        check("a\u{2064}b", Err("contains U+2064 (an invisible character"));
        check(
            "a\u{200E}b",
            Err("contains U+200E (a bidirectional control character"),
        );
        check(
            "a\u{200F}b",
            Err("contains U+200F (a bidirectional control character"),
        );
        check(
            "a\u{202A}b",
            Err("contains U+202A (a bidirectional control character"),
        );
        check(
            "a\u{202E}b",
            Err("contains U+202E (a bidirectional control character); remove it"),
        );
        check(
            "a\u{2066}b",
            Err("contains U+2066 (a bidirectional control character"),
        );
        check(
            "a\u{2069}b",
            Err("contains U+2069 (a bidirectional control character"),
        );
        check("\u{FEFF}Alice", Err("contains U+FEFF (a byte-order mark"));
        check(
            "a\u{A0}b",
            Err("contains U+00A0 (a space other than U+0020); replace it"),
        );
        check(
            "a\u{3000}b",
            Err("contains U+3000 (a space other than U+0020"),
        );
        check(
            "a\u{2009}b",
            Err("contains U+2009 (a space other than U+0020"),
        );
        check(
            "a\u{2028}b",
            Err("contains U+2028 (a line or paragraph separator"),
        );
        check(
            "a\u{2029}b",
            Err("contains U+2029 (a line or paragraph separator"),
        );
    }

    #[test]
    fn character_limit_counts_scalar_values() {
        // Ten CJK characters are 30 bytes but 10 characters.
        assert!(check_text("name", "测测测测测测测测测测", 10).is_ok());
        assert!(check_text("name", "测测测测测测测测测测测", 10).is_err());
        assert_eq!(
            check_text("x", "a", 0).map_err(|e| e.class()),
            Err(crate::ErrorClass::Malformed)
        );
    }

    /// Parses `s` and compares its Unix time, or checks that it is refused with an error
    /// mentioning `want`.
    fn check_time(s: &str, expected: Result<u64, &str>) {
        match (Timestamp::parse(s), expected) {
            (Ok(t), Ok(unix)) => {
                assert_eq!(t.unix(), unix, "{s}");
                assert_eq!(t.to_string(), s, "formatting {s}");
            }
            (Err(e), Err(want)) => {
                let got = e.to_string();
                assert!(
                    got.contains(want),
                    "{s:?}: error {got:?} does not mention {want:?}"
                );
            }
            (got, want) => panic!("{s:?}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn timestamps() {
        check_time("2000-01-01T00:00:00Z", Ok(946_684_800));
        check_time("2026-01-01T00:00:00Z", Ok(1_767_225_600));
        check_time("2024-02-29T12:34:56Z", Ok(1_709_210_096));
        check_time("2000-02-29T00:00:00Z", Ok(951_782_400));
        check_time("2001-03-01T00:00:00Z", Ok(983_404_800));
        check_time("2038-01-19T03:14:08Z", Ok(2_147_483_648));
        check_time("2100-03-01T00:00:00Z", Ok(4_107_542_400));
        check_time("9999-12-31T23:59:59Z", Ok(MAX_UNIX));

        check_time("1999-12-31T23:59:59Z", Err("before 2000-01-01"));
        check_time("0000-01-01T00:00:00Z", Err("before 2000-01-01"));
        check_time("2026-02-30T00:00:00Z", Err("not a real date"));
        check_time("2025-02-29T00:00:00Z", Err("not a real date"));
        check_time("2100-02-29T00:00:00Z", Err("not a real date"));
        check_time("2026-04-31T00:00:00Z", Err("not a real date"));
        check_time("2026-00-01T00:00:00Z", Err("not a real date"));
        check_time("2026-13-01T00:00:00Z", Err("not a real date"));
        check_time("2026-01-00T00:00:00Z", Err("not a real date"));
        check_time("2026-01-32T00:00:00Z", Err("not a real date"));
        check_time("2026-01-01T24:00:00Z", Err("not a real time of day"));
        check_time("2026-01-01T00:60:00Z", Err("not a real time of day"));
        check_time("2026-01-01T23:59:60Z", Err("not a real time of day"));

        for bad in [
            "",
            "2026-01-01T00:00:00",
            "2026-01-01T00:00:00z",
            "2026-01-01t00:00:00Z",
            "2026-01-01 00:00:00Z",
            "2026-01-01T00:00:00+00:00",
            "2026-01-01T00:00:00.0Z",
            "2026-1-01T00:00:00Z",
            "+2026-01-01T00:00:0Z",
            "2026-01-01T00:00:0 Z",
            "2026-01-01T0-:00:00Z",
            "20260-01-01T00:00:00Z",
            " 2026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z ",
            "２026-01-01T00:00:00Z",
            "2026-01-01T00:00:00Z\n",
        ] {
            check_time(bad, Err("is not of the form YYYY-MM-DDTHH:MM:SSZ"));
        }
    }

    #[test]
    fn timestamp_display_round_trips_every_day() {
        // Every day from 2000 to 2403 covers each leap-year rule at least once.
        let mut t = Timestamp::MIN.unix();
        while t < Timestamp::MIN.unix() + 404 * 366 * SECONDS_PER_DAY {
            let ts = Timestamp::from_unix(t + 86_399).unwrap();
            let parsed = Timestamp::parse(&ts.to_string()).unwrap();
            assert_eq!(parsed, ts);
            t += SECONDS_PER_DAY;
        }
    }

    #[test]
    fn from_unix_limits() {
        assert_eq!(Timestamp::from_unix(946_684_800), Ok(Timestamp::MIN));
        assert!(Timestamp::from_unix(946_684_799).is_err());
        assert!(Timestamp::from_unix(0).is_err());
        assert_eq!(
            Timestamp::from_unix(MAX_UNIX).unwrap().to_string(),
            "9999-12-31T23:59:59Z"
        );
        assert!(Timestamp::from_unix(MAX_UNIX + 1).is_err());
        assert!(Timestamp::from_unix(u64::MAX).is_err());
    }

    #[test]
    fn future_limit_is_ten_minutes() {
        let now = Timestamp::parse("2026-01-01T00:00:00Z").unwrap();
        let at = |s: &str| Timestamp::parse(s).unwrap().check_not_future(now);
        assert_eq!(at("2025-12-31T00:00:00Z"), Ok(()));
        assert_eq!(at("2026-01-01T00:00:00Z"), Ok(()));
        assert_eq!(at("2026-01-01T00:10:00Z"), Ok(()));
        let err = at("2026-01-01T00:10:01Z").unwrap_err();
        assert_eq!(
            err,
            Error::FutureTime {
                time: "2026-01-01T00:10:01Z".into(),
                now: "2026-01-01T00:00:00Z".into()
            }
        );
        assert_eq!(err.class(), crate::ErrorClass::Rejected);
        let latest = Timestamp::from_unix(MAX_UNIX).unwrap();
        assert_eq!(latest.check_not_future(latest), Ok(()));
    }
}
