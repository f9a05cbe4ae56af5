//! Reading and writing the times the service stores. Every stored time is RFC 3339 in UTC as
//! `model::iso` (or chrono's `Serialize`) writes it, `2026-01-24T03:42:00Z`, sometimes with a
//! fraction of a second; every stored day is `YYYY-MM-DD`. Both are read here by hand, never by
//! chrono's format parser: with it went about 13 KB (gzip) of the wasm, and the hand-read shape
//! is what a cached track reads for every event. What `parse` accepts is what chrono's
//! `DateTime::parse_from_rfc3339` accepts (tested against it), and what `write` writes.

use chrono::{
    DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, SecondsFormat, Timelike, Utc,
};
use serde::Deserialize;
use serde::de::{Deserializer, Error, Visitor};
use std::fmt;

/// `text` as a UTC time, if it is RFC 3339: `T`, `t` or a space between day and time; a
/// fraction of a second of any length (nanoseconds kept); `Z`, `z` or an offset `+HH:MM` /
/// `-HH:MM` (or with U+2212 for the minus). Second 60 is a leap second, as chrono keeps one.
/// Beyond RFC 3339, a year outside 0000–9999 with its sign, as `write` (chrono) writes one.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    let (year, rest) = year(text.as_bytes())?;
    let [
        b'-',
        mo1,
        mo2,
        b'-',
        d1,
        d2,
        b'T' | b't' | b' ',
        h1,
        h2,
        b':',
        mi1,
        mi2,
        b':',
        s1,
        s2,
        rest @ ..,
    ] = rest
    else {
        return None;
    };
    let (nanos, zone) = match rest {
        [b'.', fraction @ ..] => {
            let digits = fraction.iter().take_while(|b| b.is_ascii_digit()).count();
            // Digits past the nanoseconds are read and dropped, as chrono drops them.
            let kept = &fraction[..digits.min(9)];
            if kept.is_empty() {
                return None;
            }
            let nanos = number(kept)? * 10u32.pow(9 - kept.len() as u32);
            (nanos, &fraction[digits..])
        }
        _ => (0, rest),
    };
    let (sign, hh_mm) = match zone {
        [b'Z' | b'z'] => (1, &b"00:00"[..]),
        [b'+', hh_mm @ ..] => (1, hh_mm),
        [b'-', hh_mm @ ..] | [0xE2, 0x88, 0x92, hh_mm @ ..] => (-1, hh_mm),
        _ => return None,
    };
    let [oh1, oh2, b':', om1, om2] = *hh_mm else {
        return None;
    };
    let (hours, minutes) = (number(&[oh1, oh2])?, number(&[om1, om2])?);
    if minutes > 59 {
        return None;
    }
    let offset = sign * (hours * 3600 + minutes * 60) as i32;
    let date = NaiveDate::from_ymd_opt(year, number(&[*mo1, *mo2])?, number(&[*d1, *d2])?)?;
    let hms = [
        number(&[*h1, *h2])?,
        number(&[*mi1, *mi2])?,
        number(&[*s1, *s2])?,
    ];
    let local = at_time(date, hms, nanos)?;
    let utc = local.checked_sub_offset(FixedOffset::east_opt(offset)?)?;
    Some(utc.and_utc())
}

/// `date` at `[hour, minute, second]` and `nanos`; second 60 is a leap second, kept as chrono
/// keeps one (second 59 with a nanosecond count past a billion).
pub fn at_time(date: NaiveDate, hms: [u32; 3], nanos: u32) -> Option<NaiveDateTime> {
    let [hour, minute, second] = hms;
    let (second, nanos) = match second {
        60 => (59, nanos + 1_000_000_000),
        second => (second, nanos),
    };
    date.and_hms_nano_opt(hour, minute, second, nanos)
}

/// A time's year and what follows it: four digits, or a sign and four or more digits for a
/// year outside 0000–9999 (the only years chrono writes with one).
fn year(text: &[u8]) -> Option<(i32, &[u8])> {
    match text {
        [sign @ (b'+' | b'-'), rest @ ..] => {
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            if digits < 4 {
                return None;
            }
            let year = i32::try_from(number(&rest[..digits])?).ok()?;
            let year = if *sign == b'-' { -year } else { year };
            (!(0..=9999).contains(&year)).then_some((year, &rest[digits..]))
        }
        [y1, y2, y3, y4, rest @ ..] => Some((number(&[*y1, *y2, *y3, *y4])? as i32, rest)),
        _ => None,
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// A month's number from its English name, in full or its first three letters, in any case.
pub fn month(name: &[u8]) -> Option<u32> {
    let n = MONTHS.iter().position(|m| {
        let m = m.as_bytes();
        (name.len() == 3 || name.len() == m.len()) && m[..name.len()].eq_ignore_ascii_case(name)
    })?;
    Some(n as u32 + 1)
}

/// `text` as a day, if it is `YYYY-MM-DD` (how `day` and chrono's `Display` write every day
/// the service stores; years past four digits are not among them).
pub fn parse_day(text: &str) -> Option<NaiveDate> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = text.as_bytes() else {
        return None;
    };
    NaiveDate::from_ymd_opt(
        number(&[*y1, *y2, *y3, *y4])? as i32,
        number(&[*m1, *m2])?,
        number(&[*d1, *d2])?,
    )
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

/// Decimal digits as a number (`Some(0)` for none: callers check lengths); `None` past `u32`.
pub fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, d| {
        let digit = d.is_ascii_digit().then(|| u32::from(d - b'0'))?;
        n.checked_mul(10)?.checked_add(digit)
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

struct Day;

impl Visitor<'_> for Day {
    type Value = NaiveDate;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a day as YYYY-MM-DD")
    }

    fn visit_str<E: Error>(self, text: &str) -> Result<NaiveDate, E> {
        parse_day(text).ok_or_else(|| E::custom(format!("not a day as YYYY-MM-DD: {text:?}")))
    }
}

/// A day read with [`parse_day`], for `Option`'s own `Deserialize` to wrap.
struct DayField(NaiveDate);

impl<'de> Deserialize<'de> for DayField {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<DayField, D::Error> {
        deserializer.deserialize_str(Day).map(DayField)
    }
}

/// For `Option<NaiveDate>` fields, `#[serde(default, deserialize_with =
/// "crate::utc::optional_day")]`: `null` or absence is `None`.
pub fn optional_day<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<NaiveDate>, D::Error> {
    Ok(Option::<DayField>::deserialize(deserializer)?.map(|DayField(day)| day))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Duration, TimeZone};
    use serde::Deserialize;

    /// chrono's RFC 3339 reader, which `parse` stands in for.
    fn chrono(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .map(|at| at.with_timezone(&Utc))
    }

    /// The hand reader and chrono agree on every time the service writes, across the years,
    /// months' ends and fractions.
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
            assert_eq!(parse(&text), chrono(&text), "{text}");
            at += Duration::seconds(86_400 * 17 + 3_607) + Duration::milliseconds(123);
        }
    }

    /// Every form RFC 3339 allows, put together from its parts, and near misses of each part:
    /// read as chrono reads them, or refused by both.
    #[test]
    fn rfc_3339_forms_and_near_misses_read_as_chrono_reads_them() {
        let days = [
            "2026-01-24",
            "2024-02-29",
            "2026-02-29",
            "2026-13-01",
            "0000-01-01",
            "9999-12-31",
            "2026-1-24",
            "2026-01-2x",
        ];
        let separators = ["T", "t", " ", "  ", "_", ""];
        let times = [
            "03:42:00", "23:59:59", "23:59:60", "00:00:60", "24:00:00", "03:60:00", "3:42:00",
            "03:42",
        ];
        let fractions = [
            "",
            ".",
            ".5",
            ".123456789",
            ".1234567890",
            ".000000001999",
            ".x",
        ];
        let zones = [
            "Z",
            "z",
            "+05:30",
            "-00:00",
            "-23:59",
            "+24:00",
            "-05:60",
            "+0530",
            "+05",
            "UTC",
            "",
            "Z ",
            " Z",
            "+05:3x",
            "\u{2212}05:30",
            "\u{2212}0530",
        ];
        let (mut read, mut refused) = (0, 0);
        for day in days {
            for separator in separators {
                for time in times {
                    for fraction in fractions {
                        for zone in zones {
                            let text = format!("{day}{separator}{time}{fraction}{zone}");
                            let chrono = chrono(&text);
                            assert_eq!(parse(&text), chrono, "{text}");
                            if chrono.is_some() {
                                read += 1
                            } else {
                                refused += 1
                            }
                        }
                    }
                }
            }
        }
        assert!(
            read > 1_000 && refused > 1_000,
            "{read} read, {refused} refused"
        );
        assert_eq!(
            parse("2026-01-24T09:12:00+05:30"),
            Some(Utc.with_ymd_and_hms(2026, 1, 24, 3, 42, 0).unwrap())
        );
        for text in [
            "",
            "2026-01-24",
            "20260124T034200Z",
            "2026-01-24T03:42:00ZZ",
            // A sign only for the years RFC 3339 cannot write, as chrono writes them.
            "+2026-01-24T03:42:00Z",
            "-0000-01-24T03:42:00Z",
            "+999-01-24T03:42:00Z",
            "+99999999999-01-24T03:42:00Z",
        ] {
            assert_eq!(parse(text), None, "{text}");
        }
        assert_eq!(number(b"4294967295"), Some(u32::MAX));
        assert_eq!(number(b"4294967296"), None);
    }

    /// Days as the service writes them (chrono's `Display`), and nothing looser.
    #[test]
    fn days_read_as_written_and_only_so() {
        let mut day = NaiveDate::from_ymd_opt(1999, 12, 31).unwrap();
        for _ in 0..2_000 {
            assert_eq!(parse_day(&day.to_string()), Some(day));
            day += Duration::days(13);
        }
        for text in [
            "",
            "2026-02-30",
            "2026-13-01",
            "2026-1-24",
            "26-01-24",
            "2026-01-24T00:00:00Z",
            "+2026-01-24",
            "2026/01/24",
            "2026-01-2x",
        ] {
            assert_eq!(parse_day(text), None, "{text}");
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
            Utc.with_ymd_and_hms(-12345, 6, 15, 12, 30, 45).unwrap(),
        ] {
            assert_eq!(write(at), at.to_rfc3339_opts(SecondsFormat::Secs, true));
            // Read back, as written and as chrono's `Serialize` writes it (with a fraction).
            assert_eq!(parse(&write(at)), Some(at), "{}", write(at));
            let at = at + Duration::milliseconds(250);
            let json = serde_json::to_string(&at).unwrap();
            assert_eq!(parse(json.trim_matches('"')), Some(at), "{json}");
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

    #[derive(Deserialize)]
    struct Times {
        #[serde(deserialize_with = "time")]
        at: DateTime<Utc>,
        #[serde(default, deserialize_with = "optional_time")]
        maybe: Option<DateTime<Utc>>,
        #[serde(default, deserialize_with = "optional_day")]
        day: Option<NaiveDate>,
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

    #[test]
    fn day_fields_read_through_serde_with_null_and_absence_as_none() {
        let read = |json: &str| serde_json::from_str::<Times>(json);
        let at = r#""at": "2026-01-24T03:42:00Z""#;
        let t = read(&format!(r#"{{{at}, "day": "2026-01-24"}}"#)).unwrap();
        assert_eq!(t.day, NaiveDate::from_ymd_opt(2026, 1, 24));
        assert_eq!(
            read(&format!(r#"{{{at}, "day": null}}"#)).unwrap().day,
            None
        );
        assert_eq!(read(&format!("{{{at}}}")).unwrap().day, None);
        let refused = |json: &str| read(json).err().map(|e| e.to_string()).unwrap_or_default();
        let bad = refused(&format!(r#"{{{at}, "day": "24-01-2026"}}"#));
        assert!(bad.contains("not a day as YYYY-MM-DD"), "{bad}");
        let bad = refused(&format!(r#"{{{at}, "day": 5}}"#));
        assert!(bad.contains("expected a day as YYYY-MM-DD"), "{bad}");
    }
}
