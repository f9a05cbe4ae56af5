//! The delivery rules: which endpoint URLs are accepted, what an attempt's outcome means, when
//! the next attempt goes, and when a failing endpoint is disabled. Pure.

use chrono::{DateTime, Duration, NaiveDate, Utc};

use crate::ports::{HttpError, HttpResponse};
use crate::rules::budget::backoff_ms;
use crate::utc;

/// Webhook knobs (`[vars]`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WebhookSettings {
    /// Production: endpoints must be `https`. Elsewhere `http` to 127.0.0.1 or localhost is
    /// allowed too.
    pub https_only: bool,
    /// Per attempt, for the whole exchange.
    pub timeout_ms: u64,
    /// The first retry waits about this long; each later one about twice as long (jittered).
    pub retry_base_ms: u64,
    /// Attempts per delivery, the first included.
    pub max_attempts: u32,
    /// An endpoint whose deliveries have all failed for this long is disabled.
    pub disable_after: Duration,
}

impl Default for WebhookSettings {
    fn default() -> WebhookSettings {
        WebhookSettings {
            https_only: true,
            timeout_ms: 10_000,
            retry_base_ms: 30_000,
            max_attempts: 12,
            disable_after: Duration::hours(24),
        }
    }
}

/// Longest URL accepted.
const MAX_URL_LEN: usize = 2048;

/// Why an endpoint URL is refused, if it is; the text is safe to return.
pub fn url_problem(url: &str, https_only: bool) -> Option<&'static str> {
    if url.len() > MAX_URL_LEN || url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some("must be an absolute URL of at most 2048 characters without spaces");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Some("must be an absolute https URL");
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return Some("must name a host, without user or password");
    }
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or(""),
        None => authority.split(':').next().unwrap_or(""),
    };
    match scheme {
        "https" => None,
        "http" if !https_only && matches!(host, "127.0.0.1" | "localhost") => None,
        "http" if !https_only => Some("may use http only to 127.0.0.1 or localhost"),
        _ => Some("must be an https URL"),
    }
    .or_else(|| host.is_empty().then_some("must name a host"))
}

/// What an attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Worth another try (timeout, connection error, 429, 5xx), not before `retry_after_secs`
    /// if the endpoint said so.
    Retry {
        error: String,
        retry_after_secs: Option<u64>,
    },
    /// Refused for good (any other status).
    Refused(String),
}

/// The seconds a `Retry-After` value asks for at `now` (RFC 9110 §10.2.3): a number of
/// seconds, or an HTTP date (IMF-fixdate, or the obsolete RFC 850 and asctime forms) — a date
/// already past asks for none. `None` when it is neither.
pub fn retry_after_secs(value: &str, now: DateTime<Utc>) -> Option<u64> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(secs);
    }
    let at = http_date(value)?;
    Some((at - now).num_seconds().max(0) as u64)
}

/// An HTTP date (RFC 9110 §5.6.7), read by hand: `Sun, 06 Nov 1994 08:49:37 GMT`,
/// `Sunday, 06-Nov-94 08:49:37 GMT` (a two-digit year below 70 is 20xx, as chrono's `%y`
/// reads it) or `Sun Nov  6 08:49:37 1994`. The day's name is checked for shape, not
/// against the date; names are read in any case.
fn http_date(text: &str) -> Option<DateTime<Utc>> {
    let (weekday, rest) = text.split_at(text.find([',', ' '])?);
    let weekday = weekday.to_ascii_lowercase();
    if !WEEKDAYS
        .iter()
        .any(|day| weekday == day[..3] || weekday == *day)
    {
        return None;
    }
    let (day, month, year, time) = match (rest.strip_prefix(", "), rest.strip_prefix(' ')) {
        (Some(rest), _) => match *rest.split(' ').collect::<Vec<_>>() {
            [day, month, year, time, gmt] if is_gmt(gmt) && year.len() == 4 => {
                (day, month, number(year)?, time)
            }
            [date, time, gmt] if is_gmt(gmt) => {
                let [day, month, year] = *date.split('-').collect::<Vec<_>>() else {
                    return None;
                };
                let yy = number(year).filter(|_| year.len() == 2)?;
                (
                    day,
                    month,
                    if yy < 70 { 2000 + yy } else { 1900 + yy },
                    time,
                )
            }
            _ => return None,
        },
        (None, Some(rest)) => match *rest
            .split(' ')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
        {
            [month, day, time, year] if year.len() == 4 => (day, month, number(year)?, time),
            _ => return None,
        },
        (None, None) => return None,
    };
    let [h1, h2, b':', m1, m2, b':', s1, s2] = *time.as_bytes() else {
        return None;
    };
    let date = NaiveDate::from_ymd_opt(
        year as i32,
        utc::month(month.as_bytes()).filter(|_| month.len() == 3)?,
        number(day).filter(|_| (1..=2).contains(&day.len()))?,
    )?;
    let hms = [
        utc::number(&[h1, h2])?,
        utc::number(&[m1, m2])?,
        utc::number(&[s1, s2])?,
    ];
    Some(utc::at_time(date, hms, 0)?.and_utc())
}

fn is_gmt(zone: &str) -> bool {
    zone.eq_ignore_ascii_case("GMT")
}

const WEEKDAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

fn number(digits: &str) -> Option<u32> {
    utc::number(digits.as_bytes())
}

/// The outcome of an attempt answered (or not) at `now`: 2xx delivered; timeouts, connection
/// errors, 429 and 5xx retried (honouring `Retry-After`, in seconds or as a date); everything
/// else refused.
pub fn outcome(result: &Result<HttpResponse, HttpError>, now: DateTime<Utc>) -> Outcome {
    match result {
        Ok(r) if (200..300).contains(&r.status) => Outcome::Delivered,
        Ok(r) if r.status == 429 || r.status >= 500 => Outcome::Retry {
            error: format!("HTTP {}", r.status),
            retry_after_secs: r
                .header("retry-after")
                .and_then(|v| retry_after_secs(v, now)),
        },
        Ok(r) => Outcome::Refused(format!("HTTP {}", r.status)),
        Err(HttpError::Timeout(ms)) => Outcome::Retry {
            error: format!("no answer within {ms} ms"),
            retry_after_secs: None,
        },
        Err(HttpError::Connection) => Outcome::Retry {
            error: "connection failed".into(),
            retry_after_secs: None,
        },
        Err(HttpError::TooLarge(n)) => Outcome::Retry {
            error: format!("answer longer than {n} bytes"),
            retry_after_secs: None,
        },
    }
}

/// Milliseconds to wait after failed attempt number `attempt` (1 for the first): about
/// `base · 2^(attempt-1)`, jittered into its upper half, never sooner than `Retry-After`.
pub fn retry_delay_ms(
    settings: &WebhookSettings,
    attempt: u32,
    random: u64,
    retry_after_secs: Option<u64>,
) -> u64 {
    backoff_ms(
        attempt.saturating_sub(1),
        settings.retry_base_ms,
        random,
        retry_after_secs,
    )
}

/// The endpoint's health after a failed attempt at `now`: since when it has been failing, and
/// whether that is long enough to disable it (the reason, then).
pub fn after_failure(
    settings: &WebhookSettings,
    failing_since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> (DateTime<Utc>, Option<String>) {
    let since = failing_since.unwrap_or(now);
    let disable = (now - since >= settings.disable_after).then(|| {
        format!(
            "disabled automatically: every delivery failed for {} hours",
            settings.disable_after.num_hours()
        )
    });
    (since, disable)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone};

    fn response(status: u16, headers: &[(&str, &str)]) -> Result<HttpResponse, HttpError> {
        Ok(HttpResponse {
            status,
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: String::new(),
        })
    }

    #[test]
    fn production_takes_https_only_and_development_also_local_http() {
        assert_eq!(url_problem("https://shop.example.com/hooks", true), None);
        assert!(url_problem("http://shop.example.com/hooks", true).is_some());
        assert!(url_problem("http://127.0.0.1:9000/hooks", true).is_some());
        assert_eq!(url_problem("http://127.0.0.1:9000/hooks", false), None);
        assert_eq!(url_problem("http://localhost/hooks", false), None);
        assert!(url_problem("http://10.0.0.1/hooks", false).is_some());
        assert!(url_problem("http://127.0.0.1.evil.com/x", false).is_some());
        assert!(url_problem("http://user@127.0.0.1/x", false).is_some());
        assert!(url_problem("ftp://example.com/x", false).is_some());
        assert!(url_problem("example.com/x", false).is_some());
        assert!(url_problem("https:///x", false).is_some());
        assert!(url_problem("https://exa mple.com/x", false).is_some());
        assert!(url_problem(&format!("https://e.com/{}", "a".repeat(2048)), false).is_some());
    }

    /// A URL of exactly the limit's 2048 characters is accepted; one more is refused.
    #[test]
    fn a_url_of_2048_characters_is_accepted_and_one_of_2049_refused() {
        let url =
            |len: usize| format!("https://e.com/{}", "a".repeat(len - "https://e.com/".len()));
        assert_eq!(url_problem(&url(2048), true), None);
        assert_eq!(
            url_problem(&url(2049), true),
            Some("must be an absolute URL of at most 2048 characters without spaces")
        );
    }

    /// A URL with credentials, or without a host, is refused as such, even over https.
    #[test]
    fn credentials_or_a_missing_host_are_refused_with_that_reason() {
        for url in ["https://user:pw@example.com/x", "https:///x", "https://?x"] {
            assert_eq!(
                url_problem(url, true),
                Some("must name a host, without user or password"),
                "{url}"
            );
        }
    }

    /// The reason for refusing a URL says what would do: https in production; elsewhere http
    /// to 127.0.0.1 or localhost too.
    #[test]
    fn a_refused_scheme_is_told_what_would_be_accepted_instead() {
        const HTTPS: Option<&str> = Some("must be an https URL");
        const LOCAL: Option<&str> = Some("may use http only to 127.0.0.1 or localhost");
        assert_eq!(url_problem("http://127.0.0.1:9000/hooks", true), HTTPS);
        assert_eq!(url_problem("http://shop.example.com/hooks", true), HTTPS);
        assert_eq!(url_problem("http://shop.example.com/hooks", false), LOCAL);
        assert_eq!(url_problem("http://127.0.0.1.evil.com/x", false), LOCAL);
        assert_eq!(url_problem("ftp://127.0.0.1/x", false), HTTPS);
    }

    #[test]
    fn success_is_delivered_throttling_and_outages_retried_other_4xx_refused() {
        assert_eq!(outcome(&response(204, &[]), at()), Outcome::Delivered);
        assert_eq!(
            outcome(&response(429, &[("Retry-After", "120")]), at()),
            Outcome::Retry {
                error: "HTTP 429".into(),
                retry_after_secs: Some(120)
            }
        );
        assert!(matches!(
            outcome(&response(503, &[]), at()),
            Outcome::Retry {
                retry_after_secs: None,
                ..
            }
        ));
        assert_eq!(
            outcome(&response(410, &[]), at()),
            Outcome::Refused("HTTP 410".into())
        );
        assert_eq!(
            outcome(&response(301, &[]), at()),
            Outcome::Refused("HTTP 301".into())
        );
        assert!(matches!(
            outcome(&Err(HttpError::Timeout(10)), at()),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            outcome(&Err(HttpError::Connection), at()),
            Outcome::Retry { .. }
        ));
    }

    fn at() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// How an HTTP date was read before it was read by hand: chrono's RFC 2822 reader, then
    /// its format parser with the two obsolete forms.
    fn chrono(text: &str) -> Option<DateTime<Utc>> {
        DateTime::parse_from_rfc2822(text)
            .map(|at| at.with_timezone(&Utc))
            .ok()
            .or_else(|| {
                ["%A, %d-%b-%y %H:%M:%S GMT", "%a %b %e %H:%M:%S %Y"]
                    .iter()
                    .find_map(|format| chrono::NaiveDateTime::parse_from_str(text, format).ok())
                    .map(|at| at.and_utc())
            })
    }

    /// The three forms, across years of days and the hours of a day, as written and in
    /// capitals: read as chrono read them. Near misses of each part are refused by both.
    #[test]
    fn http_dates_read_by_hand_as_chrono_read_them() {
        let mut at = DateTime::parse_from_rfc3339("1995-03-01T00:00:07Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut read = 0;
        // 1995 to 2066: two-digit years read in the century chrono's `%y` reads them in.
        for _ in 0..2_000 {
            for format in [
                "%a, %d %b %Y %H:%M:%S GMT",
                "%A, %d-%b-%y %H:%M:%S GMT",
                "%a %b %e %H:%M:%S %Y",
            ] {
                let text = at.format(format).to_string();
                for text in [text.clone(), text.to_ascii_uppercase()] {
                    assert_eq!(http_date(&text), Some(at), "{text}");
                    assert_eq!(chrono(&text), Some(at), "{text}");
                    read += 1;
                }
                // A lower-case `gmt` too, which chrono's format parser took literally.
                assert_eq!(http_date(&text.to_lowercase()), Some(at), "{text}");
            }
            at += Duration::seconds(86_400 * 13 + 3_607 * 5 + 11);
        }
        assert!(read > 10_000);
        // A leap second, as chrono read it.
        let leap = "Wed, 31 Dec 2025 23:59:60 GMT";
        assert!(http_date(leap).is_some());
        assert_eq!(http_date(leap), chrono(leap));
        // Two-digit years: 70 is the first of the 1900s, 69 the last of the 2000s.
        for (text, year) in [
            ("Thursday, 01-Jan-70 00:00:00 GMT", 1970),
            ("Tuesday, 31-Dec-69 23:59:59 GMT", 2069),
        ] {
            assert_eq!(http_date(text).map(|at| at.year()), Some(year), "{text}");
            assert_eq!(chrono(text), http_date(text), "{text}");
        }
        for text in [
            "",
            "Tue, 24 Nov 2026 10:02:00",
            "Tue, 24 November 2026 10:02:00 GMT",
            "Tue, 32 Nov 2026 10:02:00 GMT",
            "Tue, 24 Nov 2026 24:02:00 GMT",
            "Tue, 24 Foo 2026 10:02:00 GMT",
            "Tus, 24 Nov 2026 10:02:00 GMT",
            "Tuesday, 24-Nov-2026 10:02:00 GMT",
            "Tuesday, 24-Nov-26 10:02:00",
            "Tuesday, 24-Nov-26 10:02:00 UTC",
            "Tue, 99999999999 Nov 2026 10:02:00 GMT",
            "Tue Nov 99999999999 10:02:00 2026",
            "Tuesday, 24-Nov-99999999999 10:02:00 GMT",
            "Tue Nov 24 10:02:00",
            "2026-11-24T10:02:00Z",
        ] {
            assert_eq!(http_date(text), None, "{text}");
            assert_eq!(chrono(text), None, "{text}");
        }
        // Shapes chrono took that are not HTTP dates (RFC 9110 §5.6.7): RFC 2822's looser
        // forms, and an asctime date's year in two digits, read as AD 26.
        for text in [
            "Tue, 24 Nov 2026 10:02 GMT",
            "24 Nov 2026 10:02:00 GMT",
            "Tue, 24 Nov 2026 10:02:00 +0000",
            "Tue, 24 Nov 26 10:02:00 GMT",
            "Tue Nov 24 10:02:00 26",
            "Tue,24 Nov 2026 10:02:00 GMT",
        ] {
            assert_eq!(http_date(text), None, "{text}");
            assert!(chrono(text).is_some(), "{text}");
        }
        // A day's name that is not the date's: chrono refused it; the date is read (the
        // name is redundant, and RFC 9110 asks recipients to parse timestamps robustly).
        assert_eq!(chrono("Wed, 24 Nov 2026 10:02:00 GMT"), None);
        assert_eq!(
            http_date("Wed, 24 Nov 2026 10:02:00 GMT"),
            http_date("Tue, 24 Nov 2026 10:02:00 GMT")
        );
    }

    #[test]
    fn retry_after_is_seconds_or_an_http_date_in_any_of_its_three_forms() {
        assert_eq!(retry_after_secs(" 120 ", at()), Some(120));
        for date in [
            "Tue, 24 Nov 2026 10:02:00 GMT",
            "Tuesday, 24-Nov-26 10:02:00 GMT",
            "Tue Nov 24 10:02:00 2026",
        ] {
            assert_eq!(retry_after_secs(date, at()), Some(120), "{date}");
        }
        assert_eq!(
            retry_after_secs("Tue, 24 Nov 2026 09:00:00 GMT", at()),
            Some(0)
        );
        assert_eq!(retry_after_secs("soon", at()), None);
        assert_eq!(retry_after_secs("-5", at()), None);
        assert_eq!(
            outcome(
                &response(503, &[("Retry-After", "Tue, 24 Nov 2026 10:05:00 GMT")]),
                at()
            ),
            Outcome::Retry {
                error: "HTTP 503".into(),
                retry_after_secs: Some(300)
            }
        );
    }

    #[test]
    fn retries_wait_about_twice_as_long_each_time_and_honour_retry_after() {
        let settings = WebhookSettings {
            retry_base_ms: 1000,
            ..WebhookSettings::default()
        };
        for random in [0, 7, u64::MAX] {
            let delays: Vec<u64> = (1..=4)
                .map(|n| retry_delay_ms(&settings, n, random, None))
                .collect();
            for (n, d) in delays.iter().enumerate() {
                let ceiling = 1000 << n;
                assert!((ceiling / 2..=ceiling).contains(d), "{delays:?}");
            }
        }
        assert_eq!(retry_delay_ms(&settings, 1, 0, Some(60)), 60_000);
    }

    #[test]
    fn an_endpoint_failing_for_a_day_is_disabled() {
        let settings = WebhookSettings::default();
        let now = Utc.with_ymd_and_hms(2026, 11, 24, 10, 0, 0).unwrap();
        assert_eq!(after_failure(&settings, None, now), (now, None));
        let since = now - Duration::hours(23);
        assert_eq!(after_failure(&settings, Some(since), now), (since, None));
        let since = now - Duration::hours(24);
        let (kept, reason) = after_failure(&settings, Some(since), now);
        assert_eq!(kept, since);
        assert!(reason.unwrap().contains("24 hours"));
    }
}
