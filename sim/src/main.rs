//! `bluedart-sim [--host 127.0.0.1] [--port 8788] [--demo]`: serves the simulator until killed.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use bluedart_sim::{SimConfig, Simulator};

const USAGE: &str = "usage: bluedart-sim [--host 127.0.0.1] [--port 8788] [--demo]";

fn main() -> ExitCode {
    let mut host: IpAddr = [127, 0, 0, 1].into();
    let mut port: u16 = 8788;
    let mut config = SimConfig::default();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let parsed = match arg.as_str() {
            "--demo" => {
                config.demo = true;
                Ok(())
            }
            "--host" => args
                .next()
                .and_then(|v| v.parse().ok())
                .map(|v| host = v)
                .ok_or(()),
            "--port" => args
                .next()
                .and_then(|v| v.parse().ok())
                .map(|v| port = v)
                .ok_or(()),
            _ => Err(()),
        };
        if parsed.is_err() {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    }
    let sim = match Simulator::start(config, SocketAddr::new(host, port)) {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("bluedart-sim: cannot listen on {host}:{port}: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "bluedart-sim listening on {} (control API under /__control/)",
        sim.base_url()
    );
    loop {
        std::thread::park();
    }
}
