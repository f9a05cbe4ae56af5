#!/usr/bin/env bash
# Builds the worker (build/index.js + wasm) with worker-build, using the binaries setup.sh
# installed so nothing is downloaded. Skips the build when nothing it depends on changed,
# so that every `wrangler dev` start (which runs this) is quick.
#
#   build-worker.sh                    the worker, into build/
#   build-worker.sh --store-contract   a test build serving the storage contract suite against
#                                      D1 (tests/store_contract.rs), into build-contract/
#   build-worker.sh --bench-cpu        a bench build that also runs the sync batch's CPU workload
#                                      in wasm (POST /__bench-cpu, benches/runtime.rs), into build-bench/
#   build-worker.sh --front            the customer worker (the customer routes; everything else
#                                      handed to the full worker), into build-front/
#   build-worker.sh --back-office      the full worker without the customer routes, as deployed
#                                      behind the customer worker, into build-back/
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

out="build" features=() config=""
if [ "${1:-}" = "--store-contract" ]; then
  out="build-contract" features=(--features store-contract)
elif [ "${1:-}" = "--bench-cpu" ]; then
  out="build-bench" features=(--features bench-cpu)
elif [ "${1:-}" = "--front" ]; then
  out="build-front" features=(--no-default-features --features customer) config="front"
elif [ "${1:-}" = "--back-office" ]; then
  out="build-back" features=(--no-default-features --features full) config="back"
fi
stamp="$out/.built"
# The deployed workers' configurations come from wrangler.toml, written anew every time.
if [ -n "$config" ]; then
  node scripts/worker-configs.mjs "$config"
fi
# .dev.vars.example is compiled in: production refuses its values; so is web/ (the tracking
# page's styles and script, the widget, the catalogues).
if [ -f "$stamp" ] && [ -z "$(find src crates web Cargo.toml Cargo.lock .dev.vars.example -newer "$stamp" -print -quit)" ]; then
  log "worker build is up to date"
  exit 0
fi
log "building the worker into $out/ (release, wasm-opt on)"
# -p: the workspace's default members are the native crates; only the worker goes to wasm.
worker-build --release --out-dir "$out" . -- -p shipment-tracker "${features[@]}"
strip_wasm_names "$out/index_bg.wasm" "target/$out-named.wasm"
touch "$stamp"
