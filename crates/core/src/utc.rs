//! Reading the times the service writes. Every stored time is RFC 3339 in UTC as `model::iso`
//! (or chrono's `Serialize`) writes it, `2026-01-24T03:42:00Z`, sometimes with a fraction of a
//! second. A cached snapshot holds one per event and several per order, and a cached track reads
//! them all: that shape is read by hand, and anything else by chrono's parser (the one behind its
//! own `Deserialize`), so that what is accepted stays exactly what chrono accepts.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, SecondsFormat, Timelike, Utc};
use serde::Deserialize;
use serde::de::{Deserializer, Error, Visitor};
use std::fmt;

/// `text` as a UTC time, if it is RFC 3339.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    written(text.as_bytes()).or_else(|| {
        text.parse::<DateTime<FixedOffset>>()
            .ok()
            .map(|at| at.with_timezone(&Utc))
    })
}

/// `YYYY-MM-DDTHH:MM:SS[.fraction]Z`, the service's own shape; `None` for anything else
/// (which `parse` hands to chrono).
fn written(text: &[u8]) -> Option<DateTime<Utc>> {
    let [
        y1,
        y2,
        y3,
        y4,
        b'-',
        mo1,
        mo2,
        b'-',
        d1,
        d2,
        b'T',
        h1,
        h2,
        b':',
        mi1,
        mi2,
        b':',
        s1,
        s2,
        rest @ ..,
    ] = text
    else {
        return None;
    };
    let nanos = match rest {
        [b'Z'] => 0,
        [b'.', digits @ .., b'Z'] if (1..=9).contains(&digits.len()) => {
            let value = number(digits)?;
            value * 10u32.pow(9 - digits.len() as u32)
        }
        _ => return None,
    };
    let date = NaiveDate::from_ymd_opt(
        number(&[*y1, *y2, *y3, *y4])? as i32,
        number(&[*mo1, *mo2])?,
        number(&[*d1, *d2])?,
    )?;
    // Second 60 (a leap second) is no time here: chrono reads it.
    let time = date.and_hms_nano_opt(
        number(&[*h1, *h2])?,
        number(&[*mi1, *mi2])?,
        number(&[*s1, *s2])?,
        nanos,
    )?;
    Some(time.and_utc())
}

/// `at` as `YYYY-MM-DDTHH:MM:SSZ`, whole seconds: how every time is written (`model::iso`).
/// Written digit by digit from the UTC fields read once: chrono's formatter, which takes a
/// format apart for each time, was about 3 % of a sync batch's CPU, and each of `DateTime`'s
/// own field getters converts to local time again. Years beyond four digits are left to chrono.
pub fn write(at: DateTime<Utc>) -> String {
    text(at).as_str().to_owned()
}

/// `at` as `write` writes it, without a heap allocation of its own: for writers that copy it
/// straight on (a sync's rows hold one or two times for every event). Inlined, so that it
/// compiles for speed in the crates that write a sync's rows.
#[inline]
pub fn text(at: DateTime<Utc>) -> Text {
    let utc = at.naive_utc();
    let Some([y1, y2, y3, y4, _, mo1, mo2, _, d1, d2]) = day_digits(utc.date()) else {
        return Text::Long(at.to_rfc3339_opts(SecondsFormat::Secs, true));
    };
    let [h1, h2] = two_digits(utc.hour());
    let [mi1, mi2] = two_digits(utc.minute());
    let [s1, s2] = two_digits(utc.second());
    Text::Short(
        [
            y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2, b'T', h1, h2, b':', mi1, mi2, b':', s1,
            s2, b'Z',
        ],
        20,
    )
}

/// `day` as chrono's `Display` writes it, `YYYY-MM-DD`, without a heap allocation of its own
/// (a sync's order rows hold one each).
#[inline]
pub fn day(day: NaiveDate) -> Text {
    match day_digits(day) {
        Some(digits) => {
            let mut bytes = [0; 20];
            bytes[..10].copy_from_slice(&digits);
            Text::Short(bytes, 10)
        }
        None => Text::Long(day.to_string()),
    }
}

/// `YYYY-MM-DD`, for four-digit years only.
#[inline]
fn day_digits(day: NaiveDate) -> Option<[u8; 10]> {
    let year @ 0..=9999 = u32::try_from(day.year()).ok()? else {
        return None;
    };
    let ([y1, y2], [y3, y4]) = (two_digits(year / 100), two_digits(year % 100));
    let [mo1, mo2] = two_digits(day.month());
    let [d1, d2] = two_digits(day.day());
    Some([y1, y2, y3, y4, b'-', mo1, mo2, b'-', d1, d2])
}

#[inline]
fn two_digits(n: u32) -> [u8; 2] {
    [b'0' + (n / 10) as u8, b'0' + (n % 10) as u8]
}

/// A written time or day: digits and separators in place (the first `len` bytes), or chrono's
/// text for years beyond four digits.
pub enum Text {
    Short([u8; 20], usize),
    Long(String),
}

impl Text {
    #[inline]
    pub fn as_str(&self) -> &str {
        match self {
            Text::Short(bytes, len) => {
                std::str::from_utf8(&bytes[..*len]).expect("digits and separators")
            }
            Text::Long(text) => text,
        }
    }
}

fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

struct Rfc3339;

impl Visitor<'_> for Rfc3339 {
    type Value = DateTime<Utc>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an RFC 3339 time")
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<DateTime<Utc>, E> {
        parse(text).ok_or_else(|| E::custom(format!("not an RFC 3339 time: {text:?}")))
    }
}

/// For `#[serde(deserialize_with = "crate::utc::time")]`.
pub fn time<'de, D: Deserializer<'de>>(deserializer: D) -> Result<DateTime<Utc>, D::Error> {
    deserializer.deserialize_str(Rfc3339)
}

/// A time read with [`time`], for `Option`'s own `Deserialize` to wrap.
struct Time(DateTime<Utc>);

impl<'de> Deserialize<'de> for Time {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Time, D::Error> {
        time(deserializer).map(Time)
    }
}

/// For `Option` fields: `null` (or, with `#[serde(default)]`, absence) is `None`.
pub fn optional_time<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<DateTime<Utc>>, D::Error> {
    Ok(Option::<Time>::deserialize(deserializer)?.map(|Time(at)| at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde::Deserialize;

    /// chrono's own reading, as its `Deserialize` for `DateTime<Utc>` does it.
    fn chrono(text: &str) -> Option<DateTime<Utc>> {
        serde_json::from_value(serde_json::Value::from(text)).ok()
    }

    /// The hand-read shape and chrono agree on every time the service writes, across the
    /// years, months' ends and fractions, and the shape takes the hand-read path.
    #[test]
    fn times_the_service_writes_read_as_chrono_reads_them() {
        let mut at = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
        for n in 0..2_000 {
            let format = [
                SecondsFormat::Secs,
                SecondsFormat::Millis,
                SecondsFormat::Nanos,
            ][n % 3];
            let text = at.to_rfc3339_opts(format, true);
            assert!(chrono(&text).is_some(), "{text}");
            assert_eq!(written(text.as_bytes()), chrono(&text), "{text}");
            assert_eq!(parse(&text), chrono(&text), "{text}");
            at += Duration::seconds(86_400 * 17 + 3_607) + Duration::milliseconds(123);
        }
    }

    /// Written as chrono writes it, across the years (and past four digits), months' ends, and
    /// every hour, minute and second; a fraction of a second is dropped, as chrono drops it.
    #[test]
    fn times_are_written_as_chrono_writes_them() {
        let mut at = Utc.with_ymd_and_hms(1999, 12, 31, 23, 59, 59).unwrap();
        for _ in 0..2_000 {
            let chrono = at.to_rfc3339_opts(SecondsFormat::Secs, true);
            assert_eq!(write(at), chrono);
            assert_eq!(
                parse(&write(at)),
                Some(at - Duration::nanoseconds(at.nanosecond().into()))
            );
            at += Duration::seconds(86_400 * 17 + 3_607) + Duration::milliseconds(123);
        }
        for at in [
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap(),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 15, 12, 30, 45).unwrap(),
        ] {
            assert_eq!(write(at), at.to_rfc3339_opts(SecondsFormat::Secs, true));
        }
    }

    /// Days written as chrono's `Display` writes them, across the years and months' ends, and
    /// past four digits either way.
    #[test]
    fn days_are_written_as_chrono_writes_them() {
        let mut day = NaiveDate::from_ymd_opt(1999, 12, 31).unwrap();
        for _ in 0..2_000 {
            assert_eq!(self::day(day).as_str(), day.to_string());
            day += Duration::days(13);
        }
        for (y, m, d) in [
            (0, 1, 1),
            (9999, 12, 31),
            (10000, 1, 1),
            (-1, 6, 15),
            (7, 2, 3),
        ] {
            let day = NaiveDate::from_ymd_opt(y, m, d).unwrap();
            assert_eq!(self::day(day).as_str(), day.to_string());
        }
    }

    /// Four-digit years, every time a sync writes, are written in place; only the others
    /// take chrono's allocated text.
    #[test]
    fn four_digit_years_are_written_without_chrono() {
        for year in [0, 2026, 9999] {
            let day = NaiveDate::from_ymd_opt(year, 3, 4).unwrap();
            assert!(matches!(self::day(day), Text::Short(_, 10)), "{year}");
            let at = day.and_hms_opt(5, 6, 7).unwrap().and_utc();
            assert!(matches!(text(at), Text::Short(_, 20)), "{year}");
        }
        for year in [-1, 10000] {
            let day = NaiveDate::from_ymd_opt(year, 3, 4).unwrap();
            assert!(matches!(self::day(day), Text::Long(_)), "{year}");
            let at = day.and_hms_opt(0, 0, 0).unwrap().and_utc();
            assert!(matches!(text(at), Text::Long(_)), "{year}");
        }
    }

    /// What is not the service's shape goes to chrono, which decides: offsets, lower-case
    /// letters, a space, a leap second; and garbage is refused by both.
    #[test]
    fn other_rfc_3339_forms_are_read_by_chrono_and_garbage_by_neither() {
        for text in [
            "2026-01-24T09:12:00+05:30",
            "2026-01-24t03:42:00z",
            "2026-01-24 03:42:00Z",
            "2016-12-31T23:59:60Z",
            "2026-01-24T03:42:00.Z",
            "2026-01-24T03:42:00.1234567890Z",
        ] {
            assert_eq!(written(text.as_bytes()), None, "{text}");
            assert_eq!(parse(text), chrono(text), "{text}");
        }
        assert!(parse("2026-01-24T09:12:00+05:30").is_some());
        for text in [
            "",
            "2026-02-30T00:00:00Z",
            "2026-01-24T24:00:00Z",
            "2026-01-24T03:60:00Z",
            "2026-13-01T00:00:00Z",
            "2026-01-24T03:42:0xZ",
            "2026-01-24T03:42:00",
            "20260124T034200Z",
        ] {
            assert_eq!(parse(text), None, "{text}");
            assert_eq!(chrono(text), None, "{text}");
        }
    }

    #[derive(Deserialize)]
    struct Times {
        #[serde(deserialize_with = "time")]
        at: DateTime<Utc>,
        #[serde(default, deserialize_with = "optional_time")]
        maybe: Option<DateTime<Utc>>,
    }

    #[test]
    fn fields_read_through_serde_with_null_and_absence_as_none() {
        let read = |json: &str| serde_json::from_str::<Times>(json);
        let t =
            read(r#"{"at": "2026-01-24T03:42:00Z", "maybe": "2026-01-24T03:42:00.5Z"}"#).unwrap();
        assert_eq!(t.at, Utc.with_ymd_and_hms(2026, 1, 24, 3, 42, 0).unwrap());
        assert_eq!(t.maybe, Some(t.at + Duration::milliseconds(500)));
        assert_eq!(
            read(r#"{"at": "2026-01-24T03:42:00Z", "maybe": null}"#)
                .unwrap()
                .maybe,
            None
        );
        assert_eq!(
            read(r#"{"at": "2026-01-24T03:42:00Z"}"#).unwrap().maybe,
            None
        );
        let refused = |json: &str| read(json).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(refused(r#"{"at": "yesterday"}"#).contains("not an RFC 3339 time"));
        assert!(refused(r#"{"at": 5}"#).contains("expected an RFC 3339 time"));
        let maybe = refused(r#"{"at": "2026-01-24T03:42:00Z", "maybe": 5}"#);
        assert!(maybe.contains("expected an RFC 3339 time"), "{maybe}");
    }
}
