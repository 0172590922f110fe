//! The value rules of DESIGN §3: text values and timestamps.

use std::fmt;

use crate::Error;

/// A time in whole seconds, written exactly `YYYY-MM-DDTHH:MM:SSZ`, UTC, not before
/// 2000-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

impl Timestamp {
    /// The earliest accepted time, 2000-01-01T00:00:00Z.
    pub const MIN: Timestamp = Timestamp(946_684_800);

    /// Parses the exact form `YYYY-MM-DDTHH:MM:SSZ`: a real date, hours 00–23, minutes
    /// and seconds 00–59, not before [`Timestamp::MIN`].
    pub fn parse(s: &str) -> Result<Timestamp, Error> {
        let _ = s;
        todo!()
    }

    /// From seconds since the Unix epoch; refuses times before [`Timestamp::MIN`] and
    /// after 9999-12-31T23:59:59Z.
    pub fn from_unix(seconds: u64) -> Result<Timestamp, Error> {
        let _ = seconds;
        todo!()
    }

    /// Seconds since the Unix epoch.
    pub fn unix(&self) -> u64 {
        self.0
    }

    /// Refuses a time more than 10 minutes after `now` (the submission check of DESIGN §3).
    pub fn check_not_future(&self, now: Timestamp) -> Result<(), Error> {
        let _ = now;
        todo!()
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let _ = f;
        todo!()
    }
}

/// Checks a text value against DESIGN §3: NFC, no control, unassigned, invisible or
/// bidirectional-control characters, U+0020 as the only space and never leading,
/// trailing or doubled, and 1..=`max_chars` scalar values. `field` names the value in
/// the error, which says what is wrong and how to fix it.
pub fn check_text(field: &'static str, value: &str, max_chars: usize) -> Result<(), Error> {
    let _ = (field, value, max_chars);
    todo!()
}
