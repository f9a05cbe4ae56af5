//! The customer tracking page (`GET /track/:orderId`) and the embeddable widget
//! (`GET /widget.js`): server-rendered HTML built from the same [`TrackBody`] the JSON route
//! answers, in English or Hindi, with its own strict Content-Security-Policy. No client
//! framework; the page's one small script (inline, allowed by its hash) only makes the Refresh
//! link refresh in place. The styles, the script, the widget and the language catalogues are
//! checked-in files under `web/`, compiled in.

pub mod i18n;
pub mod stages;

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use tracking_core::base64::{Form, encode};
use tracking_core::error::ServiceError;
use tracking_core::model::{Location, Source};
use tracking_core::service::TrackOutcome;
use tracking_core::utc;

use crate::credentials::{CredentialError, Refusal};
use crate::reply::{CACHED_ANSWER, NO_STORE};
use crate::track_body::{MESSAGE_CARRIER_HAS_NOTHING, TrackBody, track_body};

pub use i18n::{Catalogue, Lang};
use stages::{Step, on_its_way, stages, status_key, tone};

pub const PAGE_CSS: &str = include_str!("../../../../web/page.css");
pub const PAGE_JS: &str = include_str!("../../../../web/track.js");
const WIDGET_JS: &str = include_str!("../../../../web/widget.js");

/// How long a browser or proxy may keep the widget's script: it changes only with a deployment.
pub const WIDGET_CACHE: &str = "public, max-age=300";

/// Text made safe for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A CSP hash source for an inline element's exact text.
fn hash_source(text: &str) -> String {
    format!(
        "'sha256-{}'",
        encode(Sha256::digest(text.as_bytes()), Form::Standard)
    )
}

/// The page's Content-Security-Policy: nothing from anywhere but its own inline style and
/// script, each allowed by its hash; fetches (the in-place refresh) to this origin only; no
/// framing, no forms, no `<base>`.
pub fn content_security_policy() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "default-src 'none'; style-src {}; script-src {}; connect-src 'self'; \
             img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
            hash_source(PAGE_CSS),
            hash_source(PAGE_JS)
        )
    })
}

/// Why the page shows no tracking: each has a page of its own and its HTTP status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Problem {
    /// The order has no waybill yet.
    NoAwb,
    /// No such order, not this customer's, or an order id that cannot exist.
    NotFound,
    /// Blue Dart cannot be reached and nothing is cached.
    Unavailable,
    /// A signed link or token past its expiry.
    Expired,
    /// A bad signature, a malformed token, a link valid for too long.
    Invalid,
    /// No credentials at all.
    Missing,
    /// Storage failed: try again.
    Busy,
}

impl Problem {
    pub fn status(self) -> u16 {
        match self {
            Problem::NoAwb => 200,
            Problem::NotFound => 404,
            Problem::Unavailable | Problem::Busy => 503,
            Problem::Expired => 410,
            Problem::Invalid => 403,
            Problem::Missing => 401,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Problem::NoAwb => "no_awb",
            Problem::NotFound => "not_found",
            Problem::Unavailable => "unavailable",
            Problem::Expired => "expired",
            Problem::Invalid => "invalid",
            Problem::Missing => "missing",
            Problem::Busy => "busy",
        }
    }

    /// Whether trying again (the Refresh control) may help.
    fn retry(self) -> bool {
        matches!(self, Problem::Unavailable | Problem::Busy)
    }
}

impl From<Refusal> for Problem {
    fn from(refusal: Refusal) -> Problem {
        match refusal {
            Refusal::Missing(_) => Problem::Missing,
            Refusal::Bad(CredentialError::Expired) => Problem::Expired,
            Refusal::Bad(_) => Problem::Invalid,
        }
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Problem {
        match e {
            ServiceError::NotFound => Problem::NotFound,
            _ => Problem::Busy,
        }
    }
}

/// What the page shows.
#[derive(Debug)]
pub enum PageState {
    Tracking { body: Box<TrackBody>, cached: bool },
    Problem(Problem),
}

impl From<TrackOutcome> for PageState {
    fn from(outcome: TrackOutcome) -> PageState {
        match outcome {
            TrackOutcome::NoAwb(_) => PageState::Problem(Problem::NoAwb),
            TrackOutcome::Tracking { snapshot, source } => {
                let body = track_body(&snapshot, &source);
                // Nothing to show and no live answer saying so: the unavailable page.
                if body.tracking.is_none() && !body.data_source.is_live {
                    PageState::Problem(Problem::Unavailable)
                } else {
                    PageState::Tracking {
                        body: Box::new(body),
                        cached: source == Source::Cached,
                    }
                }
            }
        }
    }
}

impl PageState {
    /// The problem shown, if the page shows one.
    pub fn problem(&self) -> Option<Problem> {
        match self {
            PageState::Problem(problem) => Some(*problem),
            PageState::Tracking { .. } => None,
        }
    }
}

/// One page request: its language, order, the credentials its own links carry on, and now.
pub struct Page<'a> {
    pub text: &'static Catalogue,
    pub order_id: &'a str,
    /// `exp`/`sig` or `token` from the request's query, encoded, for the page's own links.
    credentials: String,
    pub now: DateTime<Utc>,
}

impl<'a> Page<'a> {
    pub fn new(
        lang: Lang,
        order_id: &'a str,
        query: &[(String, String)],
        now: DateTime<Utc>,
    ) -> Page<'a> {
        let mut credentials = form_urlencoded::Serializer::new(String::new());
        for (key, value) in query {
            if matches!(key.as_str(), "exp" | "sig" | "token") {
                credentials.append_pair(key, value);
            }
        }
        Page {
            text: lang.catalogue(),
            order_id,
            credentials: credentials.finish(),
            now,
        }
    }

    /// A link to this page in `lang`, with a live refresh or not (escaped for an attribute).
    fn link(&self, lang: Lang, refresh: bool) -> String {
        let mut query = self.credentials.clone();
        for (key, value) in [
            ("lang", Some(lang.tag())),
            ("forceRefresh", refresh.then_some("true")),
        ] {
            if let Some(value) = value {
                if !query.is_empty() {
                    query.push('&');
                }
                query.push_str(&format!("{key}={value}"));
            }
        }
        escape(&format!(
            "/track/{}?{query}",
            form_urlencoded::byte_serialize(self.order_id.as_bytes()).collect::<String>()
        ))
    }

    fn t(&self, key: &str) -> String {
        escape(self.text.get(key))
    }

    /// The answer for `state`: status, caching, security headers and the HTML.
    pub fn render(&self, state: &PageState) -> http::Response<String> {
        let (status, cache, main) = match state {
            PageState::Tracking { body, cached } => (
                200,
                if *cached { CACHED_ANSWER } else { NO_STORE },
                self.tracking(body),
            ),
            PageState::Problem(problem) => (problem.status(), NO_STORE, self.problem(*problem)),
        };
        let lang = self.text.lang;
        let title = escape(&self.text.fill("page.title", &[("order", self.order_id)]));
        let html = format!(
            "<!doctype html><html lang=\"{tag}\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
             <meta name=\"color-scheme\" content=\"light dark\"><meta name=\"robots\" content=\"noindex\">\
             <title>{title}</title><style>{PAGE_CSS}</style></head><body>\
             <main class=\"st\">{main}</main><footer class=\"st\"><p>{footer}</p>\
             <p id=\"live\" class=\"sr\" role=\"status\"></p></footer>\
             <script>{PAGE_JS}</script></body></html>",
            tag = lang.tag(),
            footer = self.t("page.footer"),
        );
        let mut response = http::Response::builder()
            .status(status)
            .header(http::header::CONTENT_TYPE, "text/html; charset=utf-8")
            .header(http::header::CACHE_CONTROL, cache)
            .header(http::header::CONTENT_LANGUAGE, lang.tag())
            .header(http::header::VARY, "Accept-Language, Authorization")
            .header(
                http::header::CONTENT_SECURITY_POLICY,
                content_security_policy(),
            )
            // The page's address holds its credentials: never send it on.
            .header(http::header::REFERRER_POLICY, "no-referrer")
            .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff");
        if status == 503 {
            response = response.header(http::header::RETRY_AFTER, "60");
        }
        response.body(html).expect("static headers always build")
    }

    /// The other language's link, above every page's heading.
    fn switch(&self) -> String {
        let other = self.text.lang.other();
        format!(
            "<p class=\"topbar\"><a href=\"{}\" hreflang=\"{tag}\" lang=\"{tag}\">{}</a></p>",
            self.link(other, false),
            escape(other.catalogue().get("lang.switch")),
            tag = other.tag(),
        )
    }

    /// The Refresh control: a link to a live refresh, which the page's script runs in place.
    fn refresh(&self) -> String {
        format!(
            "<p><a id=\"refresh\" class=\"button\" href=\"{}\" data-label=\"{label}\" \
             data-busy=\"{}\" data-done=\"{}\" data-failed=\"{}\">{label}</a></p>",
            self.link(self.text.lang, true),
            self.t("refresh.busy"),
            self.t("refresh.done"),
            self.t("refresh.failed"),
            label = self.t("refresh.action"),
        )
    }

    fn problem(&self, problem: Problem) -> String {
        let key = problem.key();
        format!(
            "{}<h1>{}</h1><p>{}</p>{}",
            self.switch(),
            self.t(&format!("problem.{key}.title")),
            self.t(&format!("problem.{key}.body")),
            if problem.retry() {
                self.refresh()
            } else {
                String::new()
            }
        )
    }

    fn time(&self, iso: &str) -> String {
        match utc::parse(iso) {
            Some(at) => format!(
                "<time datetime=\"{}\">{}</time>",
                escape(iso),
                escape(&self.text.date_time(at))
            ),
            None => escape(iso),
        }
    }

    fn tracking(&self, body: &TrackBody) -> String {
        let mut html = self.switch();
        html.push_str(&format!(
            "<h1>{}</h1>",
            escape(&self.text.fill("page.heading", &[("order", self.order_id)]))
        ));
        if let Some(awb) = &body.awb_no {
            html.push_str(&format!(
                "<p class=\"muted\">{}</p>",
                escape(&self.text.fill("page.waybill", &[("awb", awb)]))
            ));
        }
        if let Some(latest) = &body.tracking {
            let status = latest.status_code;
            html.push_str(&format!(
                "<p class=\"status {}\"><span class=\"sr\">{}: </span>{}</p>",
                tone(status).class(),
                self.t("status.current"),
                self.t(&status_key(status))
            ));
            html.push_str(&self.stage_bar(status));
            if status == tracking_core::model::Status::Delivered {
                html.push_str(&format!(
                    "<p>{}: <strong>{}</strong></p>",
                    self.t("delivered.on"),
                    self.time(&latest.event_date)
                ));
            } else if let Some(date) = body.expected_delivery_date.filter(|_| on_its_way(status)) {
                html.push_str(&format!(
                    "<p>{}: <strong><time datetime=\"{date}\">{}</time></strong></p>",
                    self.t("expected.label"),
                    escape(&self.text.date(date))
                ));
            }
        }
        html.push_str(&self.source(body));
        html.push_str(&self.refresh());
        html.push_str(&format!("<h2>{}</h2>", self.t("timeline.heading")));
        if body.events.is_empty() {
            html.push_str(&format!("<p>{}</p>", self.t("timeline.empty")));
        } else {
            html.push_str("<ol class=\"timeline\">");
            for event in &body.events {
                let place = place(&event.location);
                html.push_str(&format!(
                    "<li><p class=\"ev-status\">{}</p><p class=\"ev-desc\">{}</p>\
                     <p class=\"ev-meta\">{}{}{}</p></li>",
                    self.t(&status_key(event.status_code)),
                    escape(&event.description),
                    self.time(&event.event_date),
                    if place.is_empty() { "" } else { " · " },
                    escape(&place)
                ));
            }
            html.push_str("</ol>");
        }
        html
    }

    fn stage_bar(&self, status: tracking_core::model::Status) -> String {
        let mut html = format!(
            "<ol class=\"stages\" aria-label=\"{}\">",
            self.t("stages.label")
        );
        for (name, step) in stages(status) {
            let (extra, current) = if step == Step::Current {
                (format!(" {}", tone(name).class()), " aria-current=\"step\"")
            } else {
                (String::new(), "")
            };
            html.push_str(&format!(
                "<li class=\"{}{extra}\"{current}><span class=\"dot\"></span>{}\
                 <span class=\"sr\"> ({})</span></li>",
                step.class(),
                self.t(&status_key(name)),
                self.t(&format!("stage.{}", step.class())),
            ));
        }
        html.push_str("</ol>");
        html
    }

    /// Where the data came from, always shown, and a notice when it is not the whole story.
    fn source(&self, body: &TrackBody) -> String {
        let label = if body.data_source.is_live {
            self.text.get("source.live").to_owned()
        } else {
            match body
                .tracking
                .as_ref()
                .and_then(|t| t.last_synced_at.as_deref())
            {
                Some(at) => match utc::parse(at) {
                    Some(at) => self
                        .text
                        .fill("source.cached", &[("ago", &self.text.ago(at, self.now))]),
                    None => self.text.get("source.never").to_owned(),
                },
                None => self.text.get("source.never").to_owned(),
            }
        };
        let mut html = format!("<p class=\"source\">{}</p>", escape(&label));
        let notice = if body.bluedart_error.is_some() {
            Some(self.text.get("notice.failed").to_owned())
        } else if let Some(seconds) = body.retry_after_seconds {
            Some(
                self.text
                    .fill("notice.limited", &[("seconds", &seconds.to_string())]),
            )
        } else if let Some(since) = &body.no_update_since {
            utc::parse(since).map(|at| {
                self.text
                    .fill("notice.no_update", &[("date", &self.text.date_time(at))])
            })
        } else if body.message == Some(MESSAGE_CARRIER_HAS_NOTHING) {
            Some(self.text.get("notice.carrier_nothing").to_owned())
        } else {
            None
        };
        if let Some(notice) = notice {
            html.push_str(&format!("<p class=\"notice\">{}</p>", escape(&notice)));
        }
        html
    }
}

/// "Kochi, KL": the city and state, as far as known.
fn place(location: &Location) -> String {
    [&*location.city, &*location.state]
        .into_iter()
        .filter(|p| !p.is_empty())
        .collect::<Vec<_>>()
        .join(", ")
}

/// `GET /widget.js`: the widget with the styles and both catalogues it renders with, built once
/// per isolate, conditional on its `ETag`.
pub fn widget_response(request: &http::HeaderMap) -> http::Response<String> {
    static SCRIPT: OnceLock<(String, String)> = OnceLock::new();
    let (script, etag) = SCRIPT.get_or_init(|| {
        let script = format!(
            "(() => {{\n\"use strict\";\nconst CSS = {};\nconst I18N = {{\"en\": {}, \"hi\": {}}};\n{WIDGET_JS}}})();\n",
            serde_json::Value::from(PAGE_CSS),
            i18n::EN_JSON.trim(),
            i18n::HI_JSON.trim(),
        );
        let etag = crate::conditional::etag(&script);
        (script, etag)
    });
    let response = http::Response::builder()
        .status(200)
        .header(http::header::CONTENT_TYPE, "text/javascript; charset=utf-8")
        .header(http::header::CACHE_CONTROL, WIDGET_CACHE)
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        // Any storefront may load the script; what it may read is the API's CORS business.
        .header(http::header::ACCESS_CONTROL_ALLOW_ORIGIN, "*")
        .body(script.clone())
        .expect("static headers always build");
    crate::conditional::conditional(request, response, etag)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use tracking_core::model::{Snapshot, Status, TrackingEvent, test_order};

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 1, 24, hour, 35, 0).unwrap()
    }

    fn now() -> DateTime<Utc> {
        at(10)
    }

    fn scan(status: Status, hour: u32, description: &str) -> TrackingEvent {
        TrackingEvent {
            scan_code: format!("S/{hour:03}"),
            status,
            description: description.into(),
            location: Location {
                facility: "KOCHI SERVICE CENTRE".into(),
                city: "Kochi".into(),
                state: "KL".into(),
                country: "IN".into(),
            },
            ..TrackingEvent::booked("81234567890", at(hour))
        }
    }

    fn snapshot(status: Status) -> Snapshot {
        let mut order = test_order(at(1));
        order.awb_no = Some("81234567890".into());
        order.last_synced_at = Some(at(8));
        order.expected_delivery_date = chrono::NaiveDate::from_ymd_opt(2026, 1, 25);
        let events = vec![
            TrackingEvent::booked("81234567890", at(1)),
            scan(Status::InTransit, 3, "SHIPMENT ARRIVED"),
            scan(status, 7, "LATEST <SCAN> & \"MORE\""),
        ];
        Snapshot {
            order,
            latest: events.last().cloned(),
            events,
        }
    }

    fn state(snapshot: Snapshot, source: Source) -> PageState {
        TrackOutcome::Tracking {
            snapshot: Box::new(snapshot),
            source,
        }
        .into()
    }

    fn render(lang: Lang, state: &PageState) -> http::Response<String> {
        let query = vec![
            ("exp".to_owned(), "1769300000".to_owned()),
            ("sig".to_owned(), "a&b\"c".to_owned()),
            ("lang".to_owned(), "xx".to_owned()),
        ];
        Page::new(lang, "ORD-1", &query, now()).render(state)
    }

    fn header<'a>(response: &'a http::Response<String>, name: &str) -> &'a str {
        response.headers()[name].to_str().unwrap()
    }

    #[test]
    fn every_status_renders_in_both_languages_with_its_stage_bar_and_timeline() {
        for lang in Lang::ALL {
            let text = lang.catalogue();
            for status in Status::ALL {
                let page = render(lang, &state(snapshot(status), Source::Cached));
                let html = page.body();
                assert_eq!(page.status(), 200);
                assert!(
                    html.starts_with(&format!("<!doctype html><html lang=\"{}\">", lang.tag()))
                );
                let name = escape(text.get(&stages::status_key(status)));
                assert!(
                    html.contains(&format!("</span>{name}</p>")),
                    "{lang:?} {status:?}: the current status in words"
                );
                assert_eq!(
                    html.matches("aria-current=\"step\"").count(),
                    1,
                    "{status:?}"
                );
                // Newest first, with places and India times.
                let latest = html
                    .find("LATEST &lt;SCAN&gt; &amp; &quot;MORE&quot;")
                    .unwrap();
                let older = html.find("SHIPMENT ARRIVED").unwrap();
                assert!(latest < older, "{status:?}");
                assert!(html.contains(&format!("{}</time> · Kochi, KL", text.date_time(at(7)))));
                assert!(html.contains("datetime=\"2026-01-24T07:35:00Z\""));
                assert!(
                    html.contains(&escape(
                        &text.fill("source.cached", &[("ago", &text.ago(at(8), now()))])
                    )),
                    "{lang:?} {status:?}"
                );
                // The delivered page says when; those on their way when it is expected.
                assert_eq!(
                    html.contains(&escape(text.get("delivered.on"))),
                    status == Status::Delivered
                );
                assert_eq!(
                    html.contains("<time datetime=\"2026-01-25\">"),
                    stages::on_its_way(status),
                    "{status:?}"
                );
                assert!(page.body().len() < 30 * 1024, "{}", page.body().len());
            }
        }
        let en = render(
            Lang::En,
            &state(snapshot(Status::OutForDelivery), Source::Cached),
        );
        assert!(
            en.body()
                .contains("Last updated from Blue Dart 2 hours ago")
        );
        assert!(
            en.body()
                .contains(">24 Jan 2026, 1:05 pm</time> · Kochi, KL")
        );
        let hi = render(
            Lang::Hi,
            &state(snapshot(Status::OutForDelivery), Source::Cached),
        );
        assert!(hi.body().contains("डिलीवरी के लिए निकला"));
        assert!(hi.body().contains("2 घंटे पहले"));
    }

    #[test]
    fn the_source_is_always_said_and_a_failure_in_plain_words() {
        let live = render(Lang::En, &state(snapshot(Status::InTransit), Source::Live));
        assert!(
            live.body()
                .contains("<p class=\"source\">Live from Blue Dart</p>")
        );
        assert!(!live.body().contains("class=\"notice\""));
        assert_eq!(header(&live, "cache-control"), NO_STORE);

        let cached = render(
            Lang::En,
            &state(snapshot(Status::InTransit), Source::Cached),
        );
        assert_eq!(header(&cached, "cache-control"), CACHED_ANSWER);

        let failed = render(
            Lang::En,
            &state(
                snapshot(Status::InTransit),
                Source::LiveFailed("timeout".into()),
            ),
        );
        assert_eq!(failed.status(), 200);
        assert!(
            failed
                .body()
                .contains("Last updated from Blue Dart 2 hours ago")
        );
        assert!(
            failed
                .body()
                .contains(&escape(Lang::En.catalogue().get("notice.failed")))
        );
        assert!(!failed.body().contains("timeout"), "no carrier detail");
        assert_eq!(header(&failed, "cache-control"), NO_STORE);

        let limited = render(
            Lang::Hi,
            &state(
                snapshot(Status::InTransit),
                Source::RefreshLimited {
                    retry_after_secs: 42,
                },
            ),
        );
        assert!(limited.body().contains("42 सेकंड"));

        let mut never = snapshot(Status::InfoReceived);
        never.order.last_synced_at = None;
        let page = render(Lang::En, &state(never, Source::Cached));
        assert!(page.body().contains("No update from Blue Dart yet"));

        let mut quiet = snapshot(Status::InTransit);
        quiet.order.polling_stopped_at = Some(at(9));
        let page = render(Lang::En, &state(quiet, Source::Cached));
        assert!(
            page.body()
                .contains("No news from Blue Dart since 24 Jan 2026, 1:05 pm")
        );
    }

    #[test]
    fn nothing_to_show_is_its_own_page_unless_blue_dart_said_so_just_now() {
        let mut empty = snapshot(Status::InTransit);
        empty.events.clear();
        empty.latest = None;
        for source in [Source::Cached, Source::LiveFailed("down".into())] {
            let page = render(Lang::En, &state(empty.clone(), source));
            assert_eq!(page.status(), 503);
            assert_eq!(header(&page, "retry-after"), "60");
            assert!(page.body().contains("Tracking unavailable right now"));
            assert!(page.body().contains("id=\"refresh\""), "a way to try again");
        }
        let live = render(Lang::En, &state(empty, Source::Live));
        assert_eq!(live.status(), 200);
        assert!(
            live.body()
                .contains("Blue Dart has no tracking information")
        );
        assert!(live.body().contains("No scans from Blue Dart yet."));
    }

    #[test]
    fn each_problem_has_its_page_and_status_in_both_languages() {
        let cases = [
            (Problem::NoAwb, 200, "Not shipped yet"),
            (Problem::NotFound, 404, "Order not found"),
            (Problem::Unavailable, 503, "Tracking unavailable right now"),
            (Problem::Expired, 410, "This tracking link has expired"),
            (Problem::Invalid, 403, "This tracking link is not valid"),
            (Problem::Missing, 401, "A tracking link is needed"),
            (Problem::Busy, 503, "Please try again shortly"),
        ];
        for (problem, status, title) in cases {
            let page = render(Lang::En, &PageState::Problem(problem));
            assert_eq!(page.status(), status, "{problem:?}");
            // Refresh is offered only where trying again may help.
            assert_eq!(
                page.body().contains("id=\"refresh\""),
                status == 503,
                "{problem:?}"
            );
            assert!(
                page.body().contains(&format!("<h1>{title}</h1>")),
                "{problem:?}"
            );
            assert_eq!(header(&page, "cache-control"), NO_STORE);
            let hi = render(Lang::Hi, &PageState::Problem(problem));
            assert!(hi.body().contains("<html lang=\"hi\">"));
            assert!(hi.body().contains(&format!(
                "<h1>{}</h1>",
                Lang::Hi.catalogue().get(&format!("problem.{}.title", problem.key()))
            )));
        }
        assert_eq!(
            Problem::from(Refusal::Bad(CredentialError::Expired)),
            Problem::Expired
        );
        assert_eq!(
            Problem::from(Refusal::Bad(CredentialError::BadSignature)),
            Problem::Invalid
        );
        assert_eq!(Problem::from(Refusal::Missing("x")), Problem::Missing);
        assert_eq!(Problem::from(ServiceError::NotFound), Problem::NotFound);
        assert_eq!(
            Problem::from(ServiceError::Store(tracking_core::ports::StoreError(
                "d1".into()
            ))),
            Problem::Busy
        );
        assert_eq!(
            PageState::from(TrackOutcome::NoAwb(
                tracking_core::model::ShippingStatus::Pending
            ))
            .problem(),
            Some(Problem::NoAwb)
        );
    }

    #[test]
    fn a_hash_source_is_the_base64_sha256_of_the_exact_text() {
        // SHA-256 of nothing, as every CSP tool prints it.
        assert_eq!(
            hash_source(""),
            "'sha256-47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU='"
        );
        assert_ne!(hash_source("a"), hash_source("a "));
    }

    #[test]
    fn the_page_is_locked_down_by_its_headers() {
        let page = render(
            Lang::Hi,
            &state(snapshot(Status::Delivered), Source::Cached),
        );
        assert_eq!(header(&page, "content-type"), "text/html; charset=utf-8");
        assert_eq!(header(&page, "content-language"), "hi");
        assert_eq!(header(&page, "referrer-policy"), "no-referrer");
        assert_eq!(header(&page, "x-content-type-options"), "nosniff");
        let csp = header(&page, "content-security-policy");
        assert!(csp.starts_with("default-src 'none'; "), "{csp}");
        assert!(
            !csp.contains("unsafe-inline") && !csp.contains("http"),
            "{csp}"
        );
        // The one inline style and script are exactly those the hashes allow.
        let body = page.body();
        let inline = |open: &str, close: &str| {
            let start = body.find(open).unwrap() + open.len();
            let end = start + body[start..].find(close).unwrap();
            assert_eq!(body.matches(open).count(), 1);
            body[start..end].to_owned()
        };
        assert!(csp.contains(&format!(
            "style-src {};",
            hash_source(&inline("<style>", "</style>"))
        )));
        assert!(csp.contains(&format!(
            "script-src {};",
            hash_source(&inline("<script>", "</script>"))
        )));
        let handler = body.split(" on").skip(1).any(|rest| {
            let name: String = rest.chars().take_while(char::is_ascii_lowercase).collect();
            !name.is_empty() && rest[name.len()..].starts_with('=')
        });
        assert!(
            !body.contains(" style=") && !handler,
            "no inline attributes"
        );
        assert!(
            !body.contains("http://") && !body.contains("https://"),
            "nothing from elsewhere"
        );
    }

    #[test]
    fn links_keep_the_credentials_escaped_and_switch_the_language() {
        let page = render(
            Lang::En,
            &state(snapshot(Status::InTransit), Source::Cached),
        );
        let body = page.body();
        assert!(body.contains(
            "href=\"/track/ORD-1?exp=1769300000&amp;sig=a%26b%22c&amp;lang=en&amp;forceRefresh=true\""
        ), "{body}");
        assert!(body.contains(
            "<a href=\"/track/ORD-1?exp=1769300000&amp;sig=a%26b%22c&amp;lang=hi\" hreflang=\"hi\" lang=\"hi\">हिन्दी में पढ़ें</a>"
        ));
        let token = Page::new(
            Lang::Hi,
            "ORD-1",
            &[("token".to_owned(), "x.y.z".to_owned())],
            now(),
        )
        .render(&PageState::Problem(Problem::Busy));
        assert!(
            token
                .body()
                .contains("href=\"/track/ORD-1?token=x.y.z&amp;lang=hi&amp;forceRefresh=true\"")
        );
        assert!(token.body().contains("lang=\"en\">Read in English</a>"));
    }

    #[test]
    fn escaping_covers_text_and_attributes() {
        assert_eq!(
            escape("<a href=\"x\" title='y'>&amp;</a>"),
            "&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;amp;&lt;/a&gt;"
        );
        assert_eq!(escape("डिलीवर"), "डिलीवर");
        let mut hostile = snapshot(Status::InTransit);
        hostile.events[1].location.city = "<script>alert(1)</script>".into();
        let page = render(Lang::En, &state(hostile, Source::Cached));
        assert!(!page.body().contains("<script>alert"));
        assert!(
            page.body()
                .contains("&lt;script&gt;alert(1)&lt;/script&gt;")
        );
    }

    #[test]
    fn no_consignee_data_reaches_the_page() {
        // The page is built from the customer body only; the order's customer id is not shown.
        let page = render(
            Lang::En,
            &state(snapshot(Status::Delivered), Source::Cached),
        );
        assert!(!page.body().contains("cust-1"));
        assert!(
            !page.body().contains("KOCHI SERVICE CENTRE"),
            "no facility names either"
        );
    }

    #[test]
    fn the_widget_carries_the_styles_and_both_catalogues_and_is_conditional() {
        let first = widget_response(&http::HeaderMap::new());
        assert_eq!(first.status(), 200);
        assert_eq!(
            header(&first, "content-type"),
            "text/javascript; charset=utf-8"
        );
        assert_eq!(header(&first, "cache-control"), WIDGET_CACHE);
        let script = first.body();
        assert!(script.contains("customElements.define(\"shipment-tracking\""));
        assert!(script.contains("\"status.delivered\": \"डिलीवर हो गया\""));
        assert!(script.contains(".st .stages"));
        assert!(script.len() < 30 * 1024, "{}", script.len());
        let mut again = http::HeaderMap::new();
        again.insert("if-none-match", first.headers()["etag"].clone());
        assert_eq!(widget_response(&again).status(), 304);
    }
}
