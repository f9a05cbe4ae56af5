#!/usr/bin/env bash
# `npm run bench`: the benchmark harness (not part of `npm test`). Installs what it needs (wrk
# and twiggy when missing), builds the tracking worker (every route; the customer worker; the back
# office; the bench build), the hello-world and the floors the same way (release, wasm-opt on), then runs the benchmarks (CPU, runtime, size, sync scale), which print the
# report (with the wasm's size by crate, from twiggy) and write it to bench-results/.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

bash scripts/setup.sh
if ! command -v wrk >/dev/null; then
  log "installing wrk (load generator) from Debian's packages"
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq && $SUDO apt-get install -y -qq wrk >/dev/null
fi
command -v gzip >/dev/null || die "gzip is needed to measure the wasm size"
if ! command -v twiggy >/dev/null; then
  log "installing twiggy (wasm size by crate) from crates.io"
  cargo install twiggy --version 0.8.0 --locked
fi

bash scripts/build-worker.sh
bash scripts/build-worker.sh --bench-cpu
bash scripts/build-worker.sh --front
bash scripts/build-worker.sh --back-office
log "building the hello-world and the floors (benches/baseline-worker, benches/floor-worker) the same way"
(cd benches/baseline-worker && worker-build --release)
(cd benches/floor-worker && worker-build --release)
strip_wasm_names benches/baseline-worker/build/index_bg.wasm
strip_wasm_names benches/floor-worker/build/index_bg.wasm

log "runtime benchmarks (wrangler dev, wrk, the simulator)"
cargo bench --bench runtime
