//! Keeps a `wrangler dev` worker's connections from idling for five seconds.
//!
//! wrangler dev answers on its ProxyWorker, which forwards each request to the worker over a
//! pooled keep-alive connection. Both ends of that connection close it after 5 s idle (kj's
//! defaults), so a request sent after almost exactly 5 s of quiet can be written into a
//! connection as it closes. The pinned wrangler (4.86) then takes the failure for a reload (it
//! compares the request's whole URL with the worker's bare one) and holds a GET until the next
//! request reaches the proxy: in a test waiting for its answer, forever, with nothing logged
//! (workers-sdk#14641, #14593). A POST gets a 503 "Your worker restarted mid-request". Tests
//! pause for seconds at a time (a `wrangler d1 execute` takes two), so two such pauses in a row
//! can hit the window; fault_matrix did, twice in clean-clone CI runs.
//!
//! A `GET /health` (no I/O) a second after the harness last sent a request keeps the connection
//! in use, far from the 5 s edge, and would release a GET held all the same: the proxy replays
//! held requests when the next one arrives. Quiet counts from when the last request was sent,
//! so a slow answer gets a ping beside it. Requests the harness does not send itself
//! (Schemathesis, Chromium, wrk) are not counted; pings go on beside them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest quiet before a ping: well inside the 5 s at which both ends close the connection.
const QUIET: Duration = Duration::from_secs(1);
const TICK: Duration = Duration::from_millis(100);
/// A ping's own limit, so that dropping the worker never waits on one for long.
const PING_TIMEOUT: Duration = Duration::from_secs(5);

/// The pinging thread and when a request last went to the worker; the thread is stopped and
/// joined when dropped.
pub struct KeepWarm {
    last: Arc<Mutex<Instant>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl KeepWarm {
    /// Pings `base` through `agent` (the test's own, so its pooled connections stay in use
    /// too) whenever nothing was sent for a second.
    pub fn start(agent: ureq::Agent, base: String) -> KeepWarm {
        let last = Arc::new(Mutex::new(Instant::now()));
        let stop = Arc::new(AtomicBool::new(false));
        let (since, stopped) = (Arc::clone(&last), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                let mut sent = since.lock().unwrap_or_else(|e| e.into_inner());
                if sent.elapsed() >= QUIET {
                    *sent = Instant::now();
                    drop(sent);
                    // Any answer, or none, will do: the test's own requests report failures.
                    let _ = agent
                        .get(format!("{base}/health"))
                        .config()
                        .timeout_global(Some(PING_TIMEOUT))
                        .build()
                        .call();
                } else {
                    drop(sent);
                }
                std::thread::sleep(TICK);
            }
        });
        KeepWarm {
            last,
            stop,
            thread: Some(thread),
        }
    }

    /// A request is being sent: the quiet starts again.
    pub fn sending(&self) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }
}

impl Drop for KeepWarm {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    // Paths in full: the benchmarks compile this harness too, without its tests.
    #[test]
    fn pings_only_when_quiet_and_never_after_it_is_dropped() {
        let server = super::super::stub::Stub::start(|_, stream| {
            let _ =
                std::io::Write::write_all(stream, b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
        });
        let pings = || server.requests().len();
        let warm = super::KeepWarm::start(ureq::Agent::new_with_defaults(), server.base.clone());

        // Busy: a request every 100 ms, so never a second of quiet.
        for _ in 0..15 {
            warm.sending();
            std::thread::sleep(super::TICK);
        }
        assert_eq!(pings(), 0, "a ping while busy");

        // Quiet for 2.5 s: a ping about every second.
        std::thread::sleep(std::time::Duration::from_millis(2500));
        let pinged = pings();
        assert!(
            (1..=3).contains(&pinged),
            "{pinged} pings in 2.5 s of quiet"
        );

        drop(warm);
        std::thread::sleep(std::time::Duration::from_millis(1500));
        assert_eq!(pings(), pinged, "a ping after the drop");
    }
}
