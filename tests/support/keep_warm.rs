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

/// When a request last went to the worker, shared by the test's requests and the pings.
#[derive(Clone)]
pub struct LastRequest(Arc<Mutex<Instant>>);

impl LastRequest {
    pub fn new() -> LastRequest {
        LastRequest(Arc::new(Mutex::new(Instant::now())))
    }

    pub fn now(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Instant::now();
    }

    fn quiet_for(&self) -> Duration {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).elapsed()
    }
}

/// The pinging thread; stopped and joined when dropped.
pub struct KeepWarm {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl KeepWarm {
    /// Pings `base` through `agent` (the test's own, so its pooled connections stay in use
    /// too) whenever `last` is a second old.
    pub fn start(agent: ureq::Agent, base: String, last: LastRequest) -> KeepWarm {
        let stop = Arc::new(AtomicBool::new(false));
        let stopped = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopped.load(Ordering::Relaxed) {
                if last.quiet_for() >= QUIET {
                    last.now();
                    // Any answer, or none, will do: the test's own requests report failures.
                    let _ = agent
                        .get(format!("{base}/health"))
                        .config()
                        .timeout_global(Some(PING_TIMEOUT))
                        .build()
                        .call();
                }
                std::thread::sleep(TICK);
            }
        });
        KeepWarm {
            stop,
            thread: Some(thread),
        }
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
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::atomic::AtomicUsize;

    /// A server on 127.0.0.1 answering every request with an empty 200, counting requests.
    fn counting_server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let count = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&count);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let counted = Arc::clone(&counted);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    let mut line = String::new();
                    while reader.read_line(&mut line).unwrap_or(0) > 0 {
                        if line == "\r\n" {
                            counted.fetch_add(1, Ordering::SeqCst);
                            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n";
                            if writer.write_all(answer).is_err() {
                                return;
                            }
                        }
                        line.clear();
                    }
                });
            }
        });
        (base, count)
    }

    #[test]
    fn pings_only_when_quiet_and_never_after_it_is_dropped() {
        let (base, count) = counting_server();
        let last = LastRequest::new();
        let warm = KeepWarm::start(ureq::Agent::new_with_defaults(), base, last.clone());

        // Busy: a request every 100 ms, so never a second of quiet.
        for _ in 0..15 {
            last.now();
            std::thread::sleep(TICK);
        }
        assert_eq!(count.load(Ordering::SeqCst), 0, "a ping while busy");

        // Quiet for 2.5 s: a ping about every second.
        std::thread::sleep(Duration::from_millis(2500));
        let pinged = count.load(Ordering::SeqCst);
        assert!(
            (1..=3).contains(&pinged),
            "{pinged} pings in 2.5 s of quiet"
        );

        drop(warm);
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            count.load(Ordering::SeqCst),
            pinged,
            "a ping after the drop"
        );
    }
}
