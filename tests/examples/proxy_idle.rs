//! Measures wrangler dev's hang on a request sent as its proxy's keep-alive connection to the
//! worker closes (see `support/keep_warm.rs`): 64 `GET /health`, each after 4.970 s, 4.971 s,
//! … 5.033 s of quiet, each given 3 s, on a worker with or without the harness's pings.
//!
//! `cargo run -p e2e --example proxy_idle -- without` (or `with`); about 5.5 min each, after
//! `npm run build`. Prints how many of the 64 got no answer.

use std::time::{Duration, Instant};

use e2e::{Options, TestWorker};

fn main() {
    let without_keep_warm = match std::env::args().nth(1).as_deref() {
        Some("without") => true,
        Some("with") => false,
        _ => panic!("usage: proxy_idle with|without"),
    };
    let w = TestWorker::start_with(Options {
        without_keep_warm,
        ..Options::default()
    });
    // An agent of its own: the harness's pings, when on, go on as they would beside a test.
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(Duration::from_secs(3)))
        .build()
        .into();
    let mut unanswered = 0;
    for quiet_ms in 4970..5034 {
        std::thread::sleep(Duration::from_millis(quiet_ms));
        let sent = Instant::now();
        if let Err(e) = agent.get(format!("{}/health", w.base)).call() {
            unanswered += 1;
            println!("after {quiet_ms} ms of quiet: {e} ({:?})", sent.elapsed());
        }
    }
    let pings = if without_keep_warm { "without" } else { "with" };
    println!("{pings} the pings: {unanswered} of 64 got no answer");
}
