//! EPCIS timestamps and time zone offsets.
//!
//! EPCIS 2.0 JSON uses `xsd:dateTimeStamp`: an RFC 3339 date-time whose offset (`Z` or
//! `±HH:MM`) is mandatory, because an event time without one cannot be ordered against events
//! from other sites. The original text is kept (it is what the capturing party signed off on
//! and what round-trips); comparisons use the instant.

use std::cmp::Ordering;
use std::fmt;

/// Most fraction-of-second digits accepted. Nanoseconds are the finest unit kept; longer
/// fractions would be silently truncated, so they are refused instead.
pub const FRACTION_DIGITS_MAX: usize = 9;

/// An RFC 3339 date-time with a mandatory offset.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Timestamp {
    text: String,
    /// Seconds since 1970-01-01T00:00:00Z.
    unix_seconds: i64,
    nanoseconds: u32,
    offset_minutes: i32,
}

impl Timestamp {
    /// Parses `YYYY-MM-DDThh:mm:ss[.fraction](Z|±hh:mm)`.
    pub fn parse(text: &str) -> Result<Timestamp, String> {
        let bytes = text.as_bytes();
        if bytes.len() < 20 {
            return Err(format!(
                "{text:?} is not an RFC 3339 date-time with offset (YYYY-MM-DDThh:mm:ss±hh:mm)"
            ));
        }
        let shape_ok = bytes[4] == b'-'
            && bytes[7] == b'-'
            && matches!(bytes[10], b'T' | b't')
            && bytes[13] == b':'
            && bytes[16] == b':';
        let digits = |range: std::ops::Range<usize>| -> Option<i64> {
            let slice = &bytes[range];
            if slice.iter().all(u8::is_ascii_digit) {
                Some(
                    slice
                        .iter()
                        .fold(0i64, |value, digit| value * 10 + i64::from(digit - b'0')),
                )
            } else {
                None
            }
        };
        let bad = || {
            format!("{text:?} is not an RFC 3339 date-time with offset (YYYY-MM-DDThh:mm:ss±hh:mm)")
        };
        if !shape_ok {
            return Err(bad());
        }
        let (Some(year), Some(month), Some(day), Some(hour), Some(minute), Some(second)) = (
            digits(0..4),
            digits(5..7),
            digits(8..10),
            digits(11..13),
            digits(14..16),
            digits(17..19),
        ) else {
            return Err(bad());
        };
        let mut position = 19;
        let mut nanoseconds = 0u32;
        if bytes[position] == b'.' {
            let start = position + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            let count = end - start;
            if count == 0 {
                return Err(bad());
            }
            if count > FRACTION_DIGITS_MAX {
                return Err(format!(
                    "{text:?} has {count} fraction-of-second digits, more than the {FRACTION_DIGITS_MAX} kept"
                ));
            }
            for (index, digit) in bytes[start..end].iter().enumerate() {
                nanoseconds += u32::from(digit - b'0') * 10u32.pow(8 - index as u32);
            }
            position = end;
        }
        let offset_minutes = match &bytes[position..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let (Some(offset_hours), Some(offset_minutes)) = (
                    digits(position + 1..position + 3),
                    digits(position + 4..position + 6),
                ) else {
                    return Err(bad());
                };
                if offset_hours > 23 || offset_minutes > 59 {
                    return Err(format!("{text:?} has an offset out of range"));
                }
                let magnitude = (offset_hours * 60 + offset_minutes) as i32;
                if *sign == b'-' { -magnitude } else { magnitude }
            }
            _ => return Err(bad()),
        };
        if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
            return Err(format!("{text:?} names a day that does not exist"));
        }
        // Second 60 is a leap second, which RFC 3339 allows; it counts as the next second.
        if hour > 23 || minute > 59 || second > 60 {
            return Err(format!("{text:?} has a time of day out of range"));
        }
        let local_seconds =
            days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
        Ok(Timestamp {
            text: text.to_owned(),
            unix_seconds: local_seconds - i64::from(offset_minutes) * 60,
            nanoseconds,
            offset_minutes,
        })
    }

    /// The text as captured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Seconds since the Unix epoch, and the nanoseconds within that second.
    pub fn unix_time(&self) -> (i64, u32) {
        (self.unix_seconds, self.nanoseconds)
    }

    /// Milliseconds since the Unix epoch (fractions of a millisecond dropped).
    pub fn unix_milliseconds(&self) -> i64 {
        self.unix_seconds * 1000 + i64::from(self.nanoseconds / 1_000_000)
    }

    /// The offset written in the text, in minutes east of UTC.
    pub fn offset_minutes(&self) -> i32 {
        self.offset_minutes
    }

    /// The instant in UTC at millisecond precision, `YYYY-MM-DDThh:mm:ss.sssZ`: the form the
    /// CBV 2.0 event hash uses so that the same instant written with different offsets or
    /// precisions hashes the same.
    pub fn to_utc_milliseconds_string(&self) -> String {
        let days = self.unix_seconds.div_euclid(86_400);
        let seconds_of_day = self.unix_seconds.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
            seconds_of_day / 3600,
            seconds_of_day / 60 % 60,
            seconds_of_day % 60,
            self.nanoseconds / 1_000_000
        )
    }

    /// Orders by instant only (two texts for the same instant compare equal).
    pub fn cmp_instant(&self, other: &Timestamp) -> Ordering {
        self.unix_time().cmp(&other.unix_time())
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

/// The `eventTimeZoneOffset` of an event: `±hh:mm` between -14:00 and +14:00, as the EPCIS
/// JSON schema's pattern has it (the range of real-world offsets).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TimeZoneOffset {
    text: String,
    minutes: i32,
}

impl TimeZoneOffset {
    /// Parses `±hh:mm`.
    pub fn parse(text: &str) -> Result<TimeZoneOffset, String> {
        let bad = || format!("{text:?} is not a time zone offset ±hh:mm between -14:00 and +14:00");
        let bytes = text.as_bytes();
        let [
            sign @ (b'+' | b'-'),
            hour_tens,
            hour_units,
            b':',
            minute_tens,
            minute_units,
        ] = bytes
        else {
            return Err(bad());
        };
        if ![hour_tens, hour_units, minute_tens, minute_units]
            .iter()
            .all(|digit| digit.is_ascii_digit())
        {
            return Err(bad());
        }
        let hours = i32::from(hour_tens - b'0') * 10 + i32::from(hour_units - b'0');
        let minutes = i32::from(minute_tens - b'0') * 10 + i32::from(minute_units - b'0');
        if minutes > 59 || hours > 14 || (hours == 14 && minutes != 0) {
            return Err(bad());
        }
        let magnitude = hours * 60 + minutes;
        Ok(TimeZoneOffset {
            text: text.to_owned(),
            minutes: if *sign == b'-' { -magnitude } else { magnitude },
        })
    }

    /// The text as captured.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Minutes east of UTC.
    pub fn minutes(&self) -> i32 {
        self.minutes
    }
}

impl fmt::Display for TimeZoneOffset {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.text)
    }
}

fn is_leap_year(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap_year(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_forms_found_in_gs1_examples() {
        for text in [
            "2005-04-03T20:33:31.116-06:00",
            "2005-04-03T20:33:31.116000-06:00",
            "2013-06-08T14:58:56.591Z",
            "2023-03-27T11:30:00.0Z",
            "2020-06-07T17:10:16Z",
            "2026-07-22T06:45:00+02:00",
            "2021-02-01T22:46:31.117000+00:00",
        ] {
            Timestamp::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"));
        }
    }

    #[test]
    fn rejects_dates_without_time_or_offset() {
        for text in [
            "22-07-2026",
            "2026-07-22",
            "2026-07-22T06:45:00",
            "2026-07-22 06:45:00Z",
            "2026-02-30T00:00:00Z",
            "2025-02-29T00:00:00Z",
            "2026-07-22T24:00:00Z",
            "2026-07-22T06:45:00.Z",
            "2026-07-22T06:45:00+2:00",
            "2026-07-22T06:45:00.1234567891Z",
        ] {
            assert!(Timestamp::parse(text).is_err(), "{text} accepted");
        }
        assert!(Timestamp::parse("2024-02-29T00:00:00Z").is_ok());
    }

    #[test]
    fn instants_compare_across_offsets() {
        let utc = Timestamp::parse("2005-04-04T02:33:31.116Z").unwrap();
        let chicago = Timestamp::parse("2005-04-03T20:33:31.116-06:00").unwrap();
        assert_eq!(utc.cmp_instant(&chicago), Ordering::Equal);
        assert_ne!(utc, chicago, "the captured text is part of the value");
        assert_eq!(
            chicago.to_utc_milliseconds_string(),
            "2005-04-04T02:33:31.116Z"
        );
        assert_eq!(
            Timestamp::parse("1969-12-31T23:59:59.5+00:00")
                .unwrap()
                .to_utc_milliseconds_string(),
            "1969-12-31T23:59:59.500Z"
        );
        assert_eq!(
            Timestamp::parse("1970-01-01T00:00:00Z")
                .unwrap()
                .unix_milliseconds(),
            0
        );
    }

    #[test]
    fn civil_round_trip() {
        for days in [-800_000, -1, 0, 59, 60, 365, 11_016, 20_000, 2_932_896] {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }

    #[test]
    fn time_zone_offsets() {
        assert_eq!(TimeZoneOffset::parse("-06:00").unwrap().minutes(), -360);
        assert_eq!(TimeZoneOffset::parse("+14:00").unwrap().minutes(), 840);
        assert_eq!(TimeZoneOffset::parse("+05:45").unwrap().minutes(), 345);
        for text in [
            "+14:30", "+15:00", "02:00", "+2:00", "+02:60", "Z", "+02:00 ",
        ] {
            assert!(TimeZoneOffset::parse(text).is_err(), "{text} accepted");
        }
    }
}
