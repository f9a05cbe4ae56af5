//! End-to-end harness: the real worker under `wrangler dev` (local D1 and KV in a fresh
//! temporary directory) against an in-process Blue Dart simulator on 127.0.0.1.
//!
//! `npm test` builds the worker before these run; under plain `cargo test` they fail with a
//! message saying so rather than skip.

#![allow(dead_code)] // the benchmarks include this harness too, and use part of it

mod keep_warm;
pub mod openapi;
pub mod stub;

use std::fs;
use std::io::Read;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bluedart_sim::{SimConfig, Simulator};
use keep_warm::KeepWarm;
use serde_json::Value;

// At least 32 bytes each, as production requires (tests run it against the loopback simulator).
pub const ADMIN_TOKEN: &str = "test-admin-token-4f1c9a7e2b6d8035c1e9";
pub const CUSTOMER_TOKEN_SECRET: &str = "test-customer-token-secret-8d2e6b1f9a4c";
pub const TRACKING_LINK_SECRET: &str = "test-tracking-link-secret-3a7f0c5e9b2d";
/// What Blue Dart sends with its pushes (`BLUEDART_PUSH_TOKEN`).
pub const PUSH_TOKEN: &str = "test-bluedart-push-token-6b0e2d9c4f71a8";
/// The audience customer tokens carry (wrangler.toml's `CUSTOMER_TOKEN_AUDIENCE`).
pub const AUDIENCE: &str = tracking_api::credentials::DEFAULT_AUDIENCE;

/// Secrets the worker gets in tests, as `.dev.vars` would give them in development; `overrides`
/// replace (or, when empty, remove) any of them.
fn secrets(sim: &SimConfig, overrides: &[(&str, String)]) -> String {
    let defaults = [
        ("ADMIN_TOKEN", ADMIN_TOKEN.to_owned()),
        ("CUSTOMER_TOKEN_SECRET", CUSTOMER_TOKEN_SECRET.to_owned()),
        ("TRACKING_LINK_SECRET", TRACKING_LINK_SECRET.to_owned()),
        ("BLUEDART_PUSH_TOKEN", PUSH_TOKEN.to_owned()),
        ("BLUEDART_CLIENT_ID", sim.client_id.clone()),
        ("BLUEDART_CLIENT_SECRET", sim.client_secret.clone()),
        ("BLUEDART_LOGIN_ID", sim.login_id.clone()),
        ("BLUEDART_LICENCE_KEY", sim.licence_key.clone()),
    ];
    let mut out = String::new();
    for (name, value) in defaults {
        let value = overrides
            .iter()
            .find(|(k, _)| *k == name)
            .map_or(value, |(_, v)| v.clone());
        if !value.is_empty() {
            out.push_str(&format!("{name}={value}\n"));
        }
    }
    out
}

/// The project's root: the folder with `wrangler.toml`, above this crate (`tests/`) or, for the
/// benchmarks that share this harness, the root package itself.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .ancestors()
        .find(|dir| dir.join("wrangler.toml").exists())
        .expect("the project root has wrangler.toml")
        .to_path_buf()
}

/// A port for a server a test starts. Taken from below Linux's ephemeral range (32768–60999),
/// so that the OS cannot hand it to another socket between this check and the server's bind;
/// each test process walks its own stretch of 20000–31999.
pub fn free_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let base = (std::process::id() as usize % 120) * 100;
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let port = 20_000 + ((base + n) % 12_000) as u16;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Stops a process and everything it started (its process group).
fn stop(child: &mut Child) {
    let group = format!("-{}", child.id());
    let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill").args(["-KILL", "--", &group]).status();
    let _ = child.wait();
}

fn scratch_dir() -> PathBuf {
    static COUNTER: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("shipment-tracker-e2e-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create a scratch directory");
    dir
}

fn wrangler() -> PathBuf {
    let bin = root().join("node_modules/.bin/wrangler");
    assert!(
        bin.exists() && root().join("build/index.js").exists(),
        "the end-to-end tests need node_modules and a built worker: run `npm test`"
    );
    bin
}

/// Options for one worker instance.
#[derive(Default)]
pub struct Options {
    /// `[vars]` overrides, e.g. `("ENVIRONMENT", "production")`.
    pub vars: Vec<(&'static str, String)>,
    /// Secret overrides, e.g. `("ADMIN_TOKEN", "short".into())`.
    pub secrets: Vec<(&'static str, String)>,
    pub sim: SimConfig,
    /// Start from a database made by only the first N migrations and filled by this SQL; the
    /// rest of the migrations are then applied to it as they would be on a deployment.
    pub upgrade_from: Option<(usize, &'static str)>,
    /// Run the test build that serves the storage contract suite against D1
    /// (`build-worker.sh --store-contract`, into `build-contract/`) instead of the worker.
    pub store_contract: bool,
    /// Whether the customer worker (`build-worker.sh --front`, into `build-front/`) answers, as
    /// in production, with or without the full worker behind it.
    pub front: Front,
    /// Run the full worker alone without its static assets' binding (`ASSETS`), as a
    /// deployment that lost it would.
    pub unbound_assets: bool,
    /// Start without wrangler's `/__scheduled` route (`--test-scheduled`), a middleware in front
    /// of the worker that parses every request's URL: the benchmarks measure the worker as
    /// deployed, next to floors that have no such middleware either.
    pub without_scheduled_route: bool,
    /// Send no `GET /health` pings in quiet moments ([`keep_warm`]): for a worker whose
    /// latency a benchmark measures, where a ping would be one more request in the timings.
    pub without_keep_warm: bool,
}

/// Which workers answer: the full worker alone (the default), or the customer worker in front
/// of it (as production deploys it, the back office's build), or the customer worker with
/// nothing behind its service binding, or without the binding at all, or the back office's
/// build with nothing in front of it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Front {
    #[default]
    None,
    WithFull,
    Alone,
    Unbound,
    BackOfficeAlone,
}

/// The customer worker's configuration, `build-worker.sh --front` writes it beside the build.
fn front_config() -> PathBuf {
    let path = root().join("build-front/wrangler.toml");
    assert!(
        path.exists() && root().join("build-front/index.js").exists(),
        "the customer worker's tests need its build: `bash scripts/build-worker.sh --front` (npm test runs it)"
    );
    path
}

/// The customer worker's configuration without its service binding, in `dir/unbound/`.
fn unbound_front_config(dir: &Path) -> PathBuf {
    let folder = dir.join("unbound");
    fs::create_dir_all(&folder).expect("create the unbound worker's folder");
    let front = fs::read_to_string(front_config()).expect("read the customer worker's config");
    // Every table but the service bindings.
    let mut in_binding = false;
    let unbound: Vec<&str> = front
        .lines()
        .filter(|line| {
            if line.starts_with('[') {
                in_binding = line.ends_with("services]]");
            }
            !in_binding
        })
        .collect();
    let config = rewritten(
        &unbound.join("\n"),
        &[(
            "main = \"index.js\"",
            format!(
                "main = \"{}\"",
                root().join("build-front/index.js").display()
            ),
        )],
    );
    assert!(!config.contains("FULL"));
    let path = folder.join("wrangler.toml");
    fs::write(&path, config).expect("write the unbound worker's configuration");
    path
}

/// Which build of the full worker a configuration runs.
#[derive(Clone, Copy)]
enum Build {
    /// Every route (`build/`).
    Full,
    /// Without the customer routes, as deployed behind the customer worker (`build-back/`).
    BackOffice,
}

/// The full worker's configuration when it runs behind the customer worker, or without its
/// assets' binding: the project's own, written into `dir/full/` with absolute paths beside a
/// `.dev.vars` holding `dev_vars` (wrangler gives `--env-file` and `--var` to the first worker
/// only; the others read the `.dev.vars` beside their configuration). Without `assets_bound`,
/// its static assets have no binding.
fn full_config(dir: &Path, build: Build, dev_vars: &str, assets_bound: bool) -> PathBuf {
    let folder = dir.join("full");
    fs::create_dir_all(&folder).expect("create the full worker's folder");
    let root = root();
    let project = fs::read_to_string(root.join("wrangler.toml")).expect("read wrangler.toml");
    let at = |path: &str| root.join(path).display().to_string();
    let binding = if assets_bound { "ASSETS" } else { "NOT_ASSETS" };
    let (main, command) = match build {
        Build::Full => ("build/index.js", "bash scripts/build-worker.sh"),
        Build::BackOffice => (
            "build-back/index.js",
            "bash scripts/build-worker.sh --back-office",
        ),
    };
    let config = rewritten(
        &project,
        &[
            (
                "main = \"build/index.js\"",
                format!("main = \"{}\"", at(main)),
            ),
            (
                "command = \"bash scripts/build-worker.sh\"",
                format!("command = \"{command}\""),
            ),
            ("binding = \"ASSETS\"", format!("binding = \"{binding}\"")),
            (
                "watch_dir = [\"src\", \"crates\"]",
                format!("watch_dir = [\"{}\", \"{}\"]", at("src"), at("crates")),
            ),
            (
                "migrations_dir = \"migrations\"",
                format!("migrations_dir = \"{}\"", at("migrations")),
            ),
            (
                "directory = \"openapi/served\"",
                format!("directory = \"{}\"", at("openapi/served")),
            ),
        ],
    );
    fs::write(folder.join(".dev.vars"), dev_vars).expect("write the full worker's .dev.vars");
    let path = folder.join("wrangler.toml");
    fs::write(&path, config).expect("write the full worker's configuration");
    path
}

/// A wrangler configuration with each line that is (trimmed) one of `changes`' left sides
/// replaced by its right side. Every left side must occur: otherwise wrangler.toml changed shape
/// and the configuration made from it would silently keep the old line.
fn rewritten(config: &str, changes: &[(&str, String)]) -> String {
    let mut seen = vec![false; changes.len()];
    let lines: Vec<&str> = config
        .lines()
        .map(
            |line| match changes.iter().position(|(from, _)| line.trim() == *from) {
                Some(n) => {
                    seen[n] = true;
                    changes[n].1.as_str()
                }
                None => line,
            },
        )
        .collect();
    for ((from, _), seen) in changes.iter().zip(seen) {
        assert!(seen, "wrangler.toml changed shape: no line {from}");
    }
    lines.join("\n")
}

/// A wrangler configuration for the store contract build: the project's own, pointed at
/// `build-contract/`. Written into that folder, as wrangler reads paths relative to its
/// configuration (but runs the build command where it was started: the project's root).
fn store_contract_config() -> PathBuf {
    // Once per test process, before any of its workers starts.
    static CONFIG: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    CONFIG.get_or_init(write_store_contract_config).clone()
}

fn write_store_contract_config() -> PathBuf {
    let folder = root().join("build-contract");
    assert!(
        folder.join("index.js").exists(),
        "the store contract suite needs its test build: `bash scripts/build-worker.sh --store-contract` (npm test runs it)"
    );
    let project = fs::read_to_string(root().join("wrangler.toml")).expect("read wrangler.toml");
    let config = rewritten(
        &project,
        &[
            ("main = \"build/index.js\"", "main = \"index.js\"".into()),
            (
                "command = \"bash scripts/build-worker.sh\"",
                "command = \"bash scripts/build-worker.sh --store-contract\"".into(),
            ),
            (
                "watch_dir = [\"src\", \"crates\"]",
                "watch_dir = [\"../src\", \"../crates\"]".into(),
            ),
            (
                "migrations_dir = \"migrations\"",
                "migrations_dir = \"../migrations\"".into(),
            ),
            (
                "directory = \"openapi/served\"",
                "directory = \"../openapi/served\"".into(),
            ),
        ],
    );
    let path = folder.join("wrangler.toml");
    // Written only when it changes: the suite's workers run side by side from this one file
    // (and other test processes may too), and `wrangler dev` restarts a worker whose
    // configuration is written, even unchanged, failing the requests in flight ("Your worker
    // restarted mid-request").
    if fs::read_to_string(&path).ok().as_deref() != Some(config.as_str()) {
        fs::write(&path, config).expect("write the store contract configuration");
    }
    path
}

/// Applies the first `count` migrations to `state` and runs `sql` on the result, through a
/// wrangler configuration of its own that sees only those migrations.
fn old_database(dir: &Path, state: &Path, count: usize, sql: &str) {
    let old = dir.join("old-migrations");
    fs::create_dir_all(&old).expect("create the old migrations folder");
    let mut files: Vec<PathBuf> = fs::read_dir(root().join("migrations"))
        .expect("read migrations/")
        .map(|e| e.expect("a directory entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() > count,
        "there must be newer migrations to apply"
    );
    for file in &files[..count] {
        fs::copy(file, old.join(file.file_name().unwrap())).expect("copy a migration");
    }
    let config = dir.join("old-wrangler.toml");
    let project = fs::read_to_string(root().join("wrangler.toml")).expect("read wrangler.toml");
    let database_id = project
        .lines()
        .find_map(|l| l.trim().strip_prefix("database_id = "))
        .expect("wrangler.toml names a database_id");
    fs::write(
        &config,
        format!(
            "name = \"shipment-tracker\"\ncompatibility_date = \"2026-04-20\"\n\n[[d1_databases]]\nbinding = \"DB\"\ndatabase_name = \"shipment-tracker\"\ndatabase_id = {database_id}\nmigrations_dir = \"old-migrations\"\n"
        ),
    )
    .expect("write the old configuration");
    run(
        wrangler_command(dir)
            .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
            .arg(state)
            .arg("-c")
            .arg(&config),
        "applying the old migrations",
    );
    run(
        wrangler_command(dir)
            .args(["d1", "execute", "DB", "--local", "--persist-to"])
            .arg(state)
            .arg("-c")
            .arg(&config)
            .args(["--command", sql]),
        "filling the old database",
    );
}

/// A running worker and its simulator. Dropping it stops both and deletes the local state.
pub struct TestWorker {
    pub sim: Simulator,
    pub base: String,
    child: Child,
    dir: PathBuf,
    agent: ureq::Agent,
    keep_warm: Option<KeepWarm>,
}

/// A storefront token for `customer`, valid for an hour.
pub fn customer_token(customer: &str) -> String {
    tracking_api::credentials::customer_token(
        CUSTOMER_TOKEN_SECRET,
        AUDIENCE,
        customer,
        chrono::Utc::now() + chrono::Duration::hours(1),
    )
}

/// An HTTP answer from the worker.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Answer {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The round trips its development `Server-Timing` header lists, in the order they started.
    pub fn round_trips(&self) -> Vec<Span> {
        server_timing(
            self.header("server-timing")
                .expect("a Server-Timing header"),
        )
    }
}

/// A round trip as a development answer's `Server-Timing` lists it.
#[derive(Clone, Debug)]
pub struct Span {
    pub name: String,
    /// Ms after the invocation began.
    pub at: u64,
    pub dur: u64,
}

/// A `Server-Timing` value's spans (`name;dur=ms;desc="+ms"`), in the order they started.
pub fn server_timing(value: &str) -> Vec<Span> {
    let mut spans: Vec<Span> = value
        .split(", ")
        .map(|span| {
            let parsed = span.split_once(";dur=").and_then(|(name, rest)| {
                let (dur, at) = rest.split_once(";desc=\"+")?;
                Some(Span {
                    name: name.to_owned(),
                    at: at.strip_suffix('"')?.parse().ok()?,
                    dur: dur.parse().ok()?,
                })
            });
            parsed.unwrap_or_else(|| panic!("name;dur=ms;desc=\"+ms\": {value}"))
        })
        .collect();
    spans.sort_by_key(|s| s.at);
    spans
}

fn run(cmd: &mut Command, what: &str) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Brings a build up to date (`build-worker.sh` with `flag`), once per test process and build;
/// when it is, that is a look at file times. Left to `wrangler dev`'s own build command, a
/// stale build compiles while the first test waits for its worker, and can outlast the
/// start-up deadline. A failed build fails every test that needs it, each with its output.
pub fn built(flag: Option<&'static str>) {
    static FULL: OnceLock<Result<(), String>> = OnceLock::new();
    static CONTRACT: OnceLock<Result<(), String>> = OnceLock::new();
    static FRONT: OnceLock<Result<(), String>> = OnceLock::new();
    static BACK: OnceLock<Result<(), String>> = OnceLock::new();
    let cell = match flag {
        None => &FULL,
        Some("--store-contract") => &CONTRACT,
        Some("--back-office") => &BACK,
        Some(_) => &FRONT,
    };
    let built = cell.get_or_init(|| {
        let out = Command::new("bash")
            .arg("scripts/build-worker.sh")
            .args(flag)
            .current_dir(root())
            .output()
            .map_err(|e| e.to_string())?;
        out.status.success().then_some(()).ok_or_else(|| {
            format!(
                "{}\n{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
        })
    });
    if let Err(log) = built {
        panic!("build-worker.sh {} failed:\n{log}", flag.unwrap_or(""));
    }
}

/// What `wrangler deploy --dry-run --env production` would upload with the production
/// configuration that `build-worker.sh flag` writes into `folder` (`build-front`,
/// `build-back`): wrangler's output, and the wasm it bundled.
pub fn production_bundle(flag: &'static str, folder: &str) -> (String, Vec<u8>) {
    built(Some(flag));
    let dir = scratch_dir();
    let out = dir.join("bundle");
    let output = wrangler_command(&dir)
        .args(["deploy", "--dry-run", "--env", "production", "--config"])
        .arg(root().join(folder).join("wrangler.toml"))
        .arg("--outdir")
        .arg(&out)
        .output()
        .expect("run wrangler deploy --dry-run");
    let log = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "the dry run failed:\n{log}");
    let wasm: Vec<PathBuf> = fs::read_dir(&out)
        .expect("read the bundle")
        .map(|entry| entry.expect("a bundle entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "wasm"))
        .collect();
    assert_eq!(wasm.len(), 1, "one wasm in the bundle: {wasm:?}\n{log}");
    let bytes = fs::read(&wasm[0]).expect("read the bundled wasm");
    let _ = fs::remove_dir_all(&dir);
    (log, bytes)
}

fn wrangler_command(dir: &Path) -> Command {
    let mut cmd = Command::new(wrangler());
    cmd.current_dir(root())
        .env("WRANGLER_SEND_METRICS", "false")
        .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
        .env("WRANGLER_HIDE_BANNER", "true")
        .env("WRANGLER_LOG_PATH", dir.join("wrangler-logs"))
        // Each test's workers find only each other: in the shared registry, a service binding
        // would reach another test's worker of the same name.
        .env("WRANGLER_REGISTRY_PATH", dir.join("registry"))
        .env("NO_COLOR", "1")
        .stdin(Stdio::null());
    cmd
}

fn read_log(dir: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut f) = fs::File::open(dir.join("worker.log")) {
        let _ = f.read_to_string(&mut text);
    }
    text
}

/// `wrangler dev` for the built worker on `port` (or for `configs`, the first one answering), in
/// its own process group (so that stopping it stops workerd too), logging to `dir/worker.log`.
fn spawn_dev(
    dir: &Path,
    state: &Path,
    env_file: &Path,
    vars: &[(&str, String)],
    port: u16,
    configs: &[PathBuf],
    scheduled_route: bool,
) -> Child {
    let log = fs::File::create(dir.join("worker.log")).expect("create the worker log");
    let mut cmd = wrangler_command(dir);
    cmd.args(["dev", "--local", "--ip", "127.0.0.1"])
        .args(scheduled_route.then_some("--test-scheduled"))
        .args([
            "--show-interactive-dev-session=false",
            "--live-reload=false",
        ])
        .args(["--port", &port.to_string()])
        .args(["--inspector-port", &free_port().to_string()])
        .arg("--persist-to")
        .arg(state)
        .arg("--env-file")
        .arg(env_file);
    for config in configs {
        cmd.arg("--config").arg(config);
    }
    for (name, value) in vars {
        cmd.arg("--var").arg(format!("{name}:{value}"));
    }
    cmd.stdout(log.try_clone().unwrap()).stderr(log);
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    cmd.spawn().expect("start wrangler dev")
}

/// Whether the worker at `base` answers within a minute. Any answer counts: a misconfigured
/// worker answers 500.
fn ready(agent: &ureq::Agent, base: &str) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if agent.get(format!("{base}/health")).call().is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

impl TestWorker {
    pub fn start() -> TestWorker {
        TestWorker::start_with(Options::default())
    }

    /// A worker in production mode (the cron syncs) with these `[vars]` overrides.
    pub fn production(vars: &[(&'static str, &str)]) -> TestWorker {
        let mut all = vec![("ENVIRONMENT", "production".to_owned())];
        all.extend(vars.iter().map(|(k, v)| (*k, v.to_string())));
        TestWorker::start_with(Options {
            vars: all,
            ..Options::default()
        })
    }

    pub fn start_with(options: Options) -> TestWorker {
        match options.front {
            Front::None if options.store_contract => built(Some("--store-contract")),
            Front::None => built(None),
            Front::Alone | Front::Unbound => built(Some("--front")),
            Front::WithFull => {
                built(Some("--front"));
                built(Some("--back-office"));
            }
            Front::BackOfficeAlone => built(Some("--back-office")),
        }
        let sim = Simulator::start(options.sim.clone(), "127.0.0.1:0".parse().unwrap())
            .expect("start the simulator");
        let dir = scratch_dir();
        let state = dir.join("state");
        let env_file = dir.join("test.env");
        fs::write(&env_file, secrets(&options.sim, &options.secrets))
            .expect("write the test secrets");
        if let Some((count, sql)) = options.upgrade_from {
            old_database(&dir, &state, count, sql);
        }
        run(
            wrangler_command(&dir)
                .args(["d1", "migrations", "apply", "DB", "--local", "--persist-to"])
                .arg(&state),
            "applying D1 migrations",
        );

        // The simulator, unless the test points the worker at a Blue Dart of its own.
        let mut vars = Vec::new();
        if !options.vars.iter().any(|(k, _)| *k == "BLUEDART_BASE_URL") {
            vars.push(("BLUEDART_BASE_URL", sim.base_url()));
        }
        vars.extend(options.vars);
        let configs = match options.front {
            Front::None if options.unbound_assets => {
                vec![full_config(
                    &dir,
                    Build::Full,
                    &secrets(&options.sim, &options.secrets),
                    false,
                )]
            }
            Front::None => options
                .store_contract
                .then(store_contract_config)
                .into_iter()
                .collect(),
            Front::Alone => vec![front_config()],
            Front::BackOfficeAlone => vec![full_config(
                &dir,
                Build::BackOffice,
                &secrets(&options.sim, &options.secrets),
                true,
            )],
            Front::Unbound => vec![unbound_front_config(&dir)],
            Front::WithFull => {
                // The same secrets and `[vars]` overrides for both.
                let mut dev_vars = secrets(&options.sim, &options.secrets);
                for (name, value) in &vars {
                    dev_vars.push_str(&format!("{name}={value}\n"));
                }
                vec![
                    front_config(),
                    full_config(&dir, Build::BackOffice, &dev_vars, true),
                ]
            }
        };
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // QUERY, PROPFIND and the like: the worker must refuse them, so tests send them.
            .allow_non_standard_methods(true)
            .timeout_global(Some(Duration::from_secs(30)))
            .build()
            .into();
        // Another process can still take a port first; then start again on another.
        for attempt in 1..=3 {
            let port = free_port();
            let mut child = spawn_dev(
                &dir,
                &state,
                &env_file,
                &vars,
                port,
                &configs,
                !options.without_scheduled_route,
            );
            let base = format!("http://127.0.0.1:{port}");
            if ready(&agent, &base) {
                let keep_warm = (!options.without_keep_warm)
                    .then(|| KeepWarm::start(agent.clone(), base.clone()));
                return TestWorker {
                    sim,
                    base,
                    child,
                    dir,
                    agent,
                    keep_warm,
                };
            }
            stop(&mut child);
            let logs = read_log(&dir);
            if !(logs.contains("Address already in use") && attempt < 3) {
                panic!("wrangler dev did not become ready:\n{logs}");
            }
        }
        unreachable!("the last attempt panics")
    }

    /// Everything the worker and wrangler printed so far.
    pub fn logs(&self) -> String {
        read_log(&self.dir)
    }

    /// Waits until the logs contain `needle` (console output is flushed asynchronously); fails
    /// the test if it never comes, so that what is read after it cannot be read too early.
    pub fn wait_for_log(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let logs = self.logs();
            if logs.contains(needle) {
                return logs;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} never reached the logs:\n{logs}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The logs once everything the worker printed before this call has reached them: a request
    /// to a path of its own is sent, and wrangler's line for it comes after every earlier line.
    pub fn settled_logs(&self) -> String {
        static MARKS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let mark = format!(
            "/__logs-settled-{}",
            MARKS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
        );
        self.request("GET", &mark, &[], None);
        self.wait_for_log(&mark)
    }

    /// A request, its answer checked against the contract.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let answer = self.send(method, path, headers, body);
        openapi::check(method, path, &answer);
        answer
    }

    /// A request, its answer unchecked: for what the contract does not describe (a worker
    /// without its other half).
    pub fn send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Answer {
        let url = format!("{}{path}", self.base);
        let mut builder = ureq::http::Request::builder().method(method).uri(&url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder
            .body(body.unwrap_or("").to_owned())
            .expect("a valid request");
        if let Some(keep_warm) = &self.keep_warm {
            keep_warm.sending();
        }
        // No answer at all (the harness's 30 s): what wrangler and the worker logged says why.
        let mut resp = self.agent.run(request).unwrap_or_else(|e| {
            panic!(
                "the worker did not answer {method} {path}: {e}\n{}",
                self.logs()
            )
        });
        let headers = resp
            .headers()
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
            .collect();
        Answer {
            status: resp.status().as_u16(),
            headers,
            body: resp.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    pub fn get(&self, path: &str) -> Answer {
        self.request("GET", path, &[], None)
    }

    /// An admin call with the bearer token and, for a body, JSON.
    pub fn admin(&self, method: &str, path: &str, body: Option<Value>) -> Answer {
        let auth = format!("Bearer {ADMIN_TOKEN}");
        let mut headers = vec![("Authorization", auth.as_str())];
        if body.is_some() {
            headers.push(("Content-Type", "application/json"));
        }
        let body = body.map(|b| b.to_string());
        self.request(method, path, &headers, body.as_deref())
    }

    /// Registers an order for `customer` and attaches `awb`.
    pub fn ship(&self, order_id: &str, customer: &str, awb: &str) {
        let put = self.admin(
            "PUT",
            &format!("/api/admin/orders/{order_id}"),
            Some(serde_json::json!({"customerId": customer, "orderStatus": "Processing"})),
        );
        assert!(put.status == 201 || put.status == 200, "{}", put.body);
        let attach = self.admin(
            "POST",
            &format!("/api/admin/shipment/{order_id}/awb"),
            Some(serde_json::json!({"awbNo": awb})),
        );
        assert_eq!(attach.status, 201, "{}", attach.body);
    }

    /// The customer track endpoint with a storefront token for `customer`.
    pub fn track(&self, order_id: &str, customer: &str, refresh: bool) -> Answer {
        let token = format!("Bearer {}", customer_token(customer));
        let query = if refresh { "?forceRefresh=true" } else { "" };
        self.request(
            "GET",
            &format!("/api/shipment/{order_id}/track{query}"),
            &[("Authorization", &token)],
            None,
        )
    }

    /// Runs SQL against the worker's local D1 directly, not through the worker: the results of
    /// the last statement.
    pub fn d1(&self, sql: &str) -> Vec<Value> {
        // The worker may hold the database's write lock at that moment (its queue consumers
        // write in the background): SQLite then answers SQLITE_BUSY, and the statement is
        // simply tried again.
        let mut tries = 0;
        let out = loop {
            let out = wrangler_command(&self.dir)
                .args(["d1", "execute", "DB", "--local", "--json", "--persist-to"])
                .arg(self.dir.join("state"))
                .args(["--command", sql])
                .output()
                .expect("run wrangler d1 execute");
            let busy = String::from_utf8_lossy(&out.stderr).contains("SQLITE_BUSY")
                || String::from_utf8_lossy(&out.stdout).contains("SQLITE_BUSY");
            tries += 1;
            if out.status.success() || !busy || tries == 5 {
                break out;
            }
            std::thread::sleep(Duration::from_millis(200 * tries));
        };
        assert!(
            out.status.success(),
            "{}{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
        let parsed: Value = serde_json::from_slice(&out.stdout).expect("wrangler prints JSON");
        let last = parsed
            .as_array()
            .and_then(|a| a.last())
            .expect("a result per statement");
        last["results"].as_array().cloned().unwrap_or_default()
    }

    /// Runs a SQL file against the worker's local D1 directly (for data too large for `d1`).
    pub fn d1_file(&self, sql: &str) {
        let file = self.dir.join("load.sql");
        fs::write(&file, sql).expect("write the SQL file");
        run(
            wrangler_command(&self.dir)
                .args(["d1", "execute", "DB", "--local", "--persist-to"])
                .arg(self.dir.join("state"))
                .arg("--file")
                .arg(&file),
            "running a SQL file",
        );
    }

    /// Fires the cron trigger the way Cloudflare would, through `--test-scheduled`. The cron
    /// only enqueues: see [`TestWorker::cron_run`] to wait for the sync itself.
    pub fn fire_cron(&self) -> Answer {
        self.get("/__scheduled?cron=0+*+*+*+*")
    }

    /// Fires the cron and waits (at most two minutes) until the run it made is no longer
    /// running: the local queues' consumers have synced, skipped or dead-lettered everything it
    /// enqueued. The run as `GET /api/admin/sync/runs` lists it.
    pub fn cron_run(&self) -> Value {
        let newest_cron = |w: &TestWorker| {
            let answer = w.admin("GET", "/api/admin/sync/runs?limit=20", None);
            assert_eq!(answer.status, 200, "{}", answer.body);
            let runs = answer.json()["runs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            runs.into_iter()
                .find(|r| r["trigger"] == "cron")
                .unwrap_or(Value::Null)
        };
        let before = newest_cron(self)["id"].as_i64().unwrap_or(0);
        let answer = self.fire_cron();
        assert_eq!(answer.status, 200, "{}", answer.body);
        let started = Instant::now();
        loop {
            let run = newest_cron(self);
            if run["id"].as_i64().unwrap_or(0) > before && run["status"] != "running" {
                return run;
            }
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "the cron's run did not finish: {run}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for TestWorker {
    fn drop(&mut self) {
        drop(self.keep_warm.take());
        stop(&mut self.child);
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}
