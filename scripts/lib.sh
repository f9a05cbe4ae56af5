# Shared by the scripts in this folder: paths, pinned tool versions, and offline-safe settings.
# Sourced, not run.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Where `cargo install` puts binaries.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$ROOT/node_modules/.bin:$PATH"

WORKER_BUILD_VERSION="0.8.7"
# Mutation testing (`npm run mutants`); the newest release that builds here.
CARGO_MUTANTS_VERSION="27.1.0"
# The wasm-bindgen CLI must match the library exactly; Cargo.toml pins it with "=".
WASM_BINDGEN_VERSION="$(sed -n 's/^wasm-bindgen = "=\([0-9.]*\)"$/\1/p' "$ROOT/Cargo.toml")"

# worker-build downloads wasm-bindgen, wasm-opt and esbuild unless pointed at installed ones.
export WASM_BINDGEN_BIN="$CARGO_BIN/wasm-bindgen"
export WASM_OPT_BIN="$ROOT/node_modules/.bin/wasm-opt"
export ESBUILD_BIN="$ROOT/node_modules/.bin/esbuild"

# wrangler: no telemetry, no network look-ups, no banner.
export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true
# Redocly CLI (the OpenAPI lint): no telemetry, no update check.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true REDOCLY_SUPPRESS_NOTIFICATIONS=true
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

# strip_wasm_names WASM [NAMED]: drops the name section worker-build keeps (`--debuginfo`), a
# tenth of the gzipped size spent on function names in panic traces (a panic still logs its
# message and location); NAMED, if given, gets a copy with the names, for twiggy. The other
# sections' bytes are copied as they are (scripts/strip-wasm-names.mjs says why).
strip_wasm_names() {
  node "$ROOT/scripts/strip-wasm-names.mjs" "$@"
}

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
