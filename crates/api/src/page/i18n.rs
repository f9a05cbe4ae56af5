//! The page's languages: English and Hindi, one checked-in catalogue each (`web/i18n/*.json`,
//! compiled in), the choice between them (`?lang=`, then `Accept-Language`), and dates and
//! relative times in India time.

use std::sync::OnceLock;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, Timelike, Utc};

/// The catalogues as shipped: flat `key → text` objects with `{name}` placeholders.
pub const EN_JSON: &str = include_str!("../../../../web/i18n/en.json");
pub const HI_JSON: &str = include_str!("../../../../web/i18n/hi.json");

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Hi,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Hi];

    /// The BCP 47 tag, for `lang` attributes and `?lang=`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Hi => "hi",
        }
    }

    fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or("");
        Lang::ALL
            .into_iter()
            .find(|l| primary.eq_ignore_ascii_case(l.tag()))
    }

    /// The other language, offered as a switch on every page.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Hi,
            Lang::Hi => Lang::En,
        }
    }

    /// `?lang=` if it names a language of ours, else the caller's most preferred one of ours
    /// in `Accept-Language` (by `q`, first listed first among equals), else English.
    pub fn choose(query: Option<&str>, accept_language: Option<&str>) -> Lang {
        if let Some(lang) = query.and_then(Lang::from_tag) {
            return lang;
        }
        let mut best: Option<(u16, Lang)> = None;
        for item in accept_language.unwrap_or("").split(',') {
            let mut parts = item.split(';');
            let Some(lang) = Lang::from_tag(parts.next().unwrap_or("").trim()) else {
                continue;
            };
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1000), |q| qvalue(q.trim()))
                .unwrap_or(0);
            if q > 0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::En, |(_, lang)| lang)
    }

    /// This language's catalogue, parsed once per isolate.
    pub fn catalogue(self) -> &'static Catalogue {
        static EN: OnceLock<Catalogue> = OnceLock::new();
        static HI: OnceLock<Catalogue> = OnceLock::new();
        let (cell, json) = match self {
            Lang::En => (&EN, EN_JSON),
            Lang::Hi => (&HI, HI_JSON),
        };
        cell.get_or_init(|| Catalogue {
            lang: self,
            texts: serde_json::from_slice(json.as_bytes())
                .expect("the catalogues are checked by a test"),
        })
    }
}

/// A weight (RFC 9110's `qvalue`: `0`, `0.5`, `1.000`, at most three decimals) in
/// thousandths; `None` if it is not one. Read by hand: parsing it as a float would bring the
/// float parser's tables (about 20 KB) into the wasm.
fn qvalue(text: &str) -> Option<u16> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 3 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let thousandths = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0, |n, digit| n * 10 + u16::from(digit - b'0'));
    match whole {
        "0" => Some(thousandths),
        "1" if thousandths == 0 => Some(1000),
        _ => None,
    }
}

pub struct Catalogue {
    pub lang: Lang,
    /// The catalogue as JSON (serde_json's own map: no second map type in the wasm).
    texts: serde_json::Map<String, serde_json::Value>,
}

/// India Standard Time, UTC+05:30, all year.
fn ist() -> FixedOffset {
    FixedOffset::east_opt(5 * 3600 + 30 * 60).expect("IST is a valid offset")
}

impl Catalogue {
    /// The text for `key`. Both catalogues have the same keys (a test checks), and the native
    /// tests render every page in both languages, where a key missing from them panics.
    pub fn get<'a>(&'a self, key: &'a str) -> &'a str {
        debug_assert!(self.texts.contains_key(key), "no text for {key}");
        self.texts
            .get(key)
            .and_then(serde_json::Value::as_str)
            .unwrap_or(key)
    }

    /// The text for `key` with `{name}` placeholders filled in (values as given: the caller
    /// escapes the result).
    pub fn fill(&self, key: &str, values: &[(&str, &str)]) -> String {
        values
            .iter()
            .fold(self.get(key).to_owned(), |text, (name, value)| {
                text.replace(&format!("{{{name}}}"), value)
            })
    }

    /// "7 Jun 2012"
    pub fn date(&self, date: NaiveDate) -> String {
        format!(
            "{} {} {}",
            date.day(),
            self.get(&format!("month.{}", date.month())),
            date.year()
        )
    }

    /// "7 Jun 2012, 1:05 pm", in India time.
    pub fn date_time(&self, at: DateTime<Utc>) -> String {
        let local = at.with_timezone(&ist());
        let (pm, hour) = local.hour12();
        format!(
            "{}, {}:{:02} {}",
            self.date(local.date_naive()),
            hour,
            local.minute(),
            self.get(if pm { "time.pm" } else { "time.am" })
        )
    }

    /// "2 hours ago": how long before `now` `then` was, in its largest whole unit.
    pub fn ago(&self, then: DateTime<Utc>, now: DateTime<Utc>) -> String {
        let minutes = (now - then).num_minutes();
        let (unit, n) = match minutes {
            m if m < 1 => return self.get("ago.now").to_owned(),
            m if m < 60 => ("minute", m),
            m if m < 24 * 60 => ("hour", m / 60),
            m => ("day", m / (24 * 60)),
        };
        let form = if n == 1 { "one" } else { "other" };
        self.fill(&format!("ago.{unit}.{form}"), &[("n", &n.to_string())])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn keys(json: &str) -> Vec<String> {
        let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(json).unwrap();
        assert!(
            map.values()
                .all(|v| v.as_str().is_some_and(|s| !s.is_empty()))
        );
        let mut keys: Vec<String> = map.keys().cloned().collect();
        keys.sort();
        keys
    }

    #[test]
    fn both_catalogues_have_exactly_the_same_keys_and_placeholders() {
        assert_eq!(keys(EN_JSON), keys(HI_JSON));
        let placeholders = |text: &str| {
            let mut names: Vec<String> = text
                .split('{')
                .skip(1)
                .filter_map(|rest| rest.split_once('}').map(|(n, _)| n.to_owned()))
                .collect();
            names.sort();
            names
        };
        let (en, hi) = (Lang::En.catalogue(), Lang::Hi.catalogue());
        for key in keys(EN_JSON) {
            assert_eq!(
                placeholders(en.get(&key)),
                placeholders(hi.get(&key)),
                "{key}"
            );
        }
        // The Hindi one is in Devanagari.
        assert!(
            hi.get("status.delivered")
                .chars()
                .any(|c| ('\u{0900}'..='\u{097F}').contains(&c))
        );
    }

    #[test]
    fn the_language_comes_from_the_query_then_accept_language() {
        assert_eq!(Lang::choose(Some("hi"), Some("en")), Lang::Hi);
        assert_eq!(Lang::choose(Some("en"), Some("hi")), Lang::En);
        assert_eq!(Lang::choose(Some("fr"), Some("hi-IN,en;q=0.8")), Lang::Hi);
        assert_eq!(Lang::choose(None, Some("en-IN,hi;q=0.9")), Lang::En);
        assert_eq!(Lang::choose(None, Some("fr, hi;q=0.5, en;q=0.4")), Lang::Hi);
        assert_eq!(Lang::choose(None, Some("en;q=0.2, hi;q=0.7")), Lang::Hi);
        assert_eq!(Lang::choose(None, Some("hi;q=0, en")), Lang::En);
        assert_eq!(Lang::choose(None, Some("ta, mr")), Lang::En);
        assert_eq!(Lang::choose(None, Some("hi;q=bad")), Lang::En);
        assert_eq!(Lang::choose(None, Some("en;q=0.001, hi;q=0.01")), Lang::Hi);
        assert_eq!(Lang::choose(None, Some("en;q=0.9, hi;q=1.000")), Lang::Hi);
        assert_eq!(Lang::choose(None, Some("en;q=0.9, hi;q=1.5")), Lang::En);
        // Among equals the first listed wins.
        assert_eq!(Lang::choose(None, Some("hi, en")), Lang::Hi);
        assert_eq!(Lang::choose(None, Some("hi;q=0.5, en;q=0.5")), Lang::Hi);
        assert_eq!(Lang::choose(None, None), Lang::En);
    }

    #[test]
    fn weights_are_read_as_rfc_9110_writes_them() {
        for (text, want) in [
            ("0", Some(0)),
            ("0.", Some(0)),
            ("0.5", Some(500)),
            ("0.05", Some(50)),
            ("0.123", Some(123)),
            ("1", Some(1000)),
            ("1.000", Some(1000)),
            ("1.001", None),
            ("0.1234", None),
            ("2", None),
            (".5", None),
            ("-0.5", None),
            ("0.5x", None),
            ("", None),
        ] {
            assert_eq!(qvalue(text), want, "{text:?}");
        }
    }

    #[test]
    fn dates_are_in_india_time_in_the_page_language() {
        let at = Utc.with_ymd_and_hms(2012, 6, 7, 7, 35, 0).unwrap();
        assert_eq!(Lang::En.catalogue().date_time(at), "7 Jun 2012, 1:05 pm");
        assert_eq!(Lang::Hi.catalogue().date_time(at), "7 जून 2012, 1:05 अपराह्न");
        // 18:45 UTC is 00:15 the next day in India.
        let late = Utc.with_ymd_and_hms(2026, 1, 23, 18, 45, 0).unwrap();
        assert_eq!(
            Lang::En.catalogue().date_time(late),
            "24 Jan 2026, 12:15 am"
        );
        let noon = Utc.with_ymd_and_hms(2026, 1, 23, 6, 30, 0).unwrap();
        assert_eq!(
            Lang::En.catalogue().date_time(noon),
            "23 Jan 2026, 12:00 pm"
        );
    }

    #[test]
    fn relative_times_take_their_largest_whole_unit() {
        let now = Utc.with_ymd_and_hms(2026, 1, 24, 12, 0, 0).unwrap();
        let en = Lang::En.catalogue();
        let hi = Lang::Hi.catalogue();
        let ago = |m: i64| now - chrono::Duration::minutes(m);
        assert_eq!(en.ago(ago(0), now), "just now");
        assert_eq!(en.ago(now + chrono::Duration::minutes(5), now), "just now");
        assert_eq!(en.ago(ago(1), now), "1 minute ago");
        assert_eq!(en.ago(ago(59), now), "59 minutes ago");
        assert_eq!(en.ago(ago(60), now), "1 hour ago");
        assert_eq!(en.ago(ago(150), now), "2 hours ago");
        assert_eq!(en.ago(ago(24 * 60 - 1), now), "23 hours ago");
        assert_eq!(en.ago(ago(24 * 60), now), "1 day ago");
        assert_eq!(en.ago(ago(3 * 24 * 60 + 5), now), "3 days ago");
        assert_eq!(hi.ago(ago(150), now), "2 घंटे पहले");
        assert_eq!(hi.ago(ago(60), now), "1 घंटा पहले");
    }
}
