//! Blue Dart's dates and times: India Standard Time (UTC+05:30), never with an offset.

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};

fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("IST is a valid offset")
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

fn number(digits: &[u8]) -> Option<u32> {
    digits.iter().try_fold(0u32, |n, d| {
        d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
    })
}

/// A month's number from its name in full or its first three letters, in any case.
fn month(name: &[u8]) -> Option<u32> {
    let n = MONTHS.iter().position(|m| {
        let m = m.as_bytes();
        (name.len() == 3 || name.len() == m.len()) && m[..name.len()].eq_ignore_ascii_case(name)
    })?;
    Some(n as u32 + 1)
}

/// `24-Jan-2026` (every scan) and `24 January 2026` (the status, the expected delivery): the
/// day in two digits, the month's name, the year in four, separated alike by dashes or spaces,
/// read without a format parser. Other shapes are left to chrono's.
fn named_month_date(text: &[u8]) -> Option<NaiveDate> {
    let [d1, d2, separator @ (b'-' | b' '), rest @ ..] = text else {
        return None;
    };
    let [name @ .., second, y1, y2, y3, y4] = rest else {
        return None;
    };
    if second != separator {
        return None;
    }
    NaiveDate::from_ymd_opt(
        number(&[*y1, *y2, *y3, *y4])? as i32,
        month(name)?,
        number(&[*d1, *d2])?,
    )
}

/// `24-Jan-2026` (scans), `24 January 2026` (status, expected delivery, pickup) or
/// `24-01-2026` (pushed updates).
/// Years outside this range are misreadings (a two-digit year read as AD 26), not dates.
const SENSIBLE_YEARS: std::ops::RangeInclusive<i32> = 2000..=2100;

pub fn parse_date(text: &str) -> Option<NaiveDate> {
    // Values arrive tidied: ASCII spaces are all there can be around them.
    let text = text.trim_ascii();
    named_month_date(text.as_bytes())
        .or_else(|| {
            // `24-01-2026`: the push API's dates.
            ["%d %B %Y", "%d %b %Y", "%d-%B-%Y", "%d-%m-%Y"]
                .iter()
                .find_map(|format| NaiveDate::parse_from_str(text, format).ok())
        })
        .filter(|d| SENSIBLE_YEARS.contains(&d.year()))
}

/// `09:12`, or `0912` as `PickUpTime` writes it.
pub fn parse_time(text: &str) -> Option<NaiveTime> {
    let (hours, minutes) = match text.trim_ascii().as_bytes() {
        [h1, h2, b':', m1, m2] | [h1, h2, m1, m2] => ([*h1, *h2], [*m1, *m2]),
        _ => return None,
    };
    NaiveTime::from_hms_opt(number(&hours)?, number(&minutes)?, 0)
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

    /// Scan and status dates are read by hand, not by the format parser behind them (every
    /// scan of every answer passes here): the fast path must take them itself, and read them as
    /// chrono does.
    #[test]
    fn named_month_dates_take_the_fast_path_and_read_as_chrono_reads_them() {
        let mut day = NaiveDate::from_ymd_opt(2025, 12, 25).unwrap();
        for _ in 0..400 {
            for (format, separator) in [("%d-%b-%Y", '-'), ("%d %B %Y", ' '), ("%d %b %Y", ' ')] {
                let text = day.format(format).to_string();
                for text in [text.clone(), text.to_ascii_uppercase(), text.to_lowercase()] {
                    assert_eq!(named_month_date(text.as_bytes()), Some(day), "{text}");
                    let chrono_format = format.replace('-', &separator.to_string());
                    assert_eq!(
                        NaiveDate::parse_from_str(&text, &chrono_format).ok(),
                        Some(day),
                        "{text}"
                    );
                }
            }
            day = day.succ_opt().unwrap();
        }
        for text in [
            "24-Jan-26",
            "24-Jan-20261",
            "24-Foo-2026",
            "24-Janu-2026",
            "24 Jan-2026",
            "24-January 2026",
            "4 January 2026",
            "24 Ja 2026",
            "24 Januaryy 2026",
            "31-Feb-2026",
            "2a-Jan-2026",
        ] {
            assert_eq!(named_month_date(text.as_bytes()), None, "{text}");
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
            // Shapes the fast path leaves to chrono.
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
