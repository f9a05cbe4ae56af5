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
# message and location); NAMED, if given, gets a copy with the names, for twiggy. The features
# are worker-build's own list, so that no encoding workerd lacks is written.
strip_wasm_names() {
  [ -z "${2:-}" ] || { mkdir -p "$(dirname "$2")" && cp "$1" "$2"; }
  "$WASM_OPT_BIN" "$1" --strip-debug -o "$1" \
    --enable-mutable-globals --enable-sign-ext --enable-nontrapping-float-to-int \
    --enable-bulk-memory --enable-multivalue --enable-reference-types --enable-exception-handling
}

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
