//! Blue Dart's dates and times: India Standard Time (UTC+05:30), never with an offset.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use tracking_core::utc;

fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("IST is a valid offset")
}

/// Years outside this range are misreadings (a two-digit year read as AD 26), not dates.
const SENSIBLE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

/// `24-Jan-2026` (every scan), `24 January 2026` (the status, the expected delivery, the
/// pickup) or `24-01-2026` (pushed updates): the day in one or two digits; the month by its
/// name, in full or its first three letters and in any case, or between dashes by its number;
/// the year in four digits; both separators alike, dashes or spaces. Read by hand, not by
/// chrono's format parser (every scan of every answer passes here).
pub fn parse_date(text: &str) -> Option<NaiveDate> {
    // Values arrive tidied: ASCII spaces are all there can be around them.
    let text = text.trim_ascii().as_bytes();
    let day_len = text.iter().position(|b| matches!(b, b'-' | b' '))?;
    let (day, [separator, rest @ ..]) = text.split_at(day_len) else {
        return None;
    };
    let [month @ .., second, y1, y2, y3, y4] = rest else {
        return None;
    };
    if !(1..=2).contains(&day.len()) || second != separator {
        return None;
    }
    let month = match month {
        [_] | [_, _] if *separator == b'-' && month.iter().all(u8::is_ascii_digit) => {
            utc::number(month)?
        }
        name => utc::month(name)?,
    };
    let year = utc::number(&[*y1, *y2, *y3, *y4])? as i32;
    if !SENSIBLE_YEARS.contains(&year) {
        return None;
    }
    NaiveDate::from_ymd_opt(year, month, utc::number(day)?)
}

/// `09:12`, or `0912` as `PickUpTime` writes it.
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    let (hours, minutes) = match text.trim_ascii().as_bytes() {
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
        _ => return None,
    };
    NaiveTime::from_hms_opt(utc::number(&hours)?, utc::number(&minutes)?, 0)
}

/// An IST wall-clock date and time as UTC. A missing time (older payloads) counts as midnight.
pub fn ist_to_utc(date: NaiveDate, time: Option<NaiveTime>) -> DateTime<Utc> {
    let local = NaiveDateTime::new(date, time.unwrap_or(NaiveTime::MIN));
    ist()
        .from_local_datetime(&local)
        .single()
        .expect("a fixed offset has no gaps")
        .with_timezone(&Utc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Datelike;

    /// How the date was read before it was read by hand: chrono's format parser, one format
    /// after another.
    fn chrono(text: &str) -> Option<NaiveDate> {
        ["%d %B %Y", "%d %b %Y", "%d-%B-%Y", "%d-%m-%Y"]
            .iter()
            .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
            .filter(|d| SENSIBLE_YEARS.contains(&d.year()))
    }

    /// Every shape Blue Dart writes a date in, across a year and more of days, in every case,
    /// with one- and two-digit days and months, and near misses of each part: read as chrono's
    /// format parser read them, or refused by both.
    #[test]
    fn dates_read_by_hand_as_chrono_read_them() {
        let mut day = NaiveDate::from_ymd_opt(2025, 12, 25).unwrap();
        let mut read = 0;
        for _ in 0..400 {
            for format in [
                "%d-%b-%Y",
                "%d %B %Y",
                "%d %b %Y",
                "%d-%B-%Y",
                "%d-%m-%Y",
                "%e-%b-%Y",
                "%e %B %Y",
                "%-d-%-m-%Y",
                "%d-%-m-%Y",
            ] {
                let text = day.format(format).to_string().trim_start().to_owned();
                for text in [text.clone(), text.to_ascii_uppercase(), text.to_lowercase()] {
                    assert_eq!(parse_date(&text), Some(day), "{text}");
                    assert_eq!(chrono(&text), Some(day), "{text}");
                    read += 1;
                }
            }
            day = day.succ_opt().unwrap();
        }
        assert!(read > 10_000);
        for text in [
            "24-Jan-26",
            "24-Jan-20261",
            "24-Foo-2026",
            "24-Janu-2026",
            "24 Jan-2026",
            "24-January 2026",
            "24 Ja 2026",
            "24 Januaryy 2026",
            "31-Feb-2026",
            "2a-Jan-2026",
            "124-Jan-2026",
            "-Jan-2026",
            "24--2026",
            "24 01 2026",
            "24-001-2026",
            "24-13-2026",
            "24-01-1999",
            "24-01-2101",
            "2026-01-24",
            "",
        ] {
            assert_eq!(parse_date(text), None, "{text}");
            assert_eq!(chrono(text), None, "{text}");
        }
    }

    #[test]
    fn scan_date_and_time_become_utc() {
        let at = ist_to_utc(parse_date("24-Jan-2026").unwrap(), parse_time("09:12"));
        assert_eq!(at.to_rfc3339(), "2026-01-24T03:42:00+00:00");
    }

    #[test]
    fn early_morning_ist_belongs_to_the_previous_utc_day() {
        let at = ist_to_utc(parse_date("24-Jan-2026").unwrap(), parse_time("02:00"));
        assert_eq!(at.to_rfc3339(), "2026-01-23T20:30:00+00:00");
    }

    #[test]
    fn long_dates_and_compact_times() {
        let day = |d, m| NaiveDate::from_ymd_opt(2026, m, d);
        for (text, read) in [
            ("24 January 2026", day(24, 1)),
            (" 05 March 2026 ", day(5, 3)),
            ("24-jan-2026", day(24, 1)),
            ("2026-01-24", None),
            ("31-Feb-2026", None),
            ("24-Foo-2026", None),
            ("24-Jan-26", None),
            ("4 January 2026", day(4, 1)),
            ("24-01-2026", day(24, 1)),
            ("24-January-2026", day(24, 1)),
        ] {
            assert_eq!(parse_date(text), read, "{text:?}");
        }
        assert_eq!(parse_time("1715"), NaiveTime::from_hms_opt(17, 15, 0));
        assert_eq!(parse_time("25:00"), None);
        assert_eq!(parse_time("9:12"), None);
    }

    #[test]
    fn missing_time_is_midnight_ist() {
        let at = ist_to_utc(parse_date("04-Mar-2026").unwrap(), None);
        assert_eq!(at.to_rfc3339(), "2026-03-03T18:30:00+00:00");
    }
}
