//! A stand-in HTTP server on 127.0.0.1 for tests that need one answering as they choose.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

/// A stand-in server on 127.0.0.1 (a Blue Dart of a test's own, say) that answers each
/// request with whatever `respond` writes to the connection, and keeps every request's head
/// (request line and headers). One request a connection.
pub struct Stub {
    pub base: String,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Stub {
    pub fn start(respond: impl Fn(&str, &mut TcpStream) + Send + Sync + 'static) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the stub");
        let base = format!("http://{}", listener.local_addr().unwrap());
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond = Arc::new(respond);
        let log = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let respond = respond.clone();
                let log = log.clone();
                std::thread::spawn(move || {
                    let mut head = Vec::new();
                    let mut byte = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") {
                        match stream.read(&mut byte) {
                            Ok(1) => head.push(byte[0]),
                            _ => return,
                        }
                    }
                    let head = String::from_utf8_lossy(&head).into_owned();
                    let path = head.split(' ').nth(1).unwrap_or("").to_owned();
                    log.lock().unwrap().push(head);
                    respond(&path, &mut stream);
                });
            }
        });
        Stub { base, seen }
    }

    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }
}
