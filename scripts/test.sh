#!/usr/bin/env bash
# `npm test`: set up, check formatting and lints (Rust, and the OpenAPI contract), build the
# worker, and run every test: unit tests, the simulator's protocol tests, and the end-to-end
# tests (the real worker under `wrangler dev` with local D1/KV against the simulator on
# 127.0.0.1, every answer checked against the contract, and Schemathesis's conformance run).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

bash scripts/setup.sh

log "cargo fmt --check"
cargo fmt --all -- --check
log "cargo clippy (host)"
cargo clippy --quiet --workspace --all-targets -- -D warnings
log "cargo clippy (wasm32-unknown-unknown)"
cargo clippy --quiet -p shipment-tracker --lib --target wasm32-unknown-unknown -- -D warnings
log "cargo clippy (wasm32-unknown-unknown, the customer worker and the back office)"
cargo clippy --quiet -p shipment-tracker --lib --target wasm32-unknown-unknown --no-default-features --features customer -- -D warnings
cargo clippy --quiet -p shipment-tracker --lib --target wasm32-unknown-unknown --no-default-features --features full -- -D warnings

log "OpenAPI: redocly lint (recommended rules), openapi.json up to date with openapi.yaml"
redocly lint
node scripts/openapi-json.mjs --check

bash scripts/build-worker.sh
# The test build that runs the storage contract suite against D1 (tests/store_contract.rs).
bash scripts/build-worker.sh --store-contract
# The customer worker and the back office behind it, as tests/front.rs runs them.
bash scripts/build-worker.sh --front
bash scripts/build-worker.sh --back-office

log "cargo test (unit, simulator and end-to-end)"
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
cargo test --workspace 2>&1 | tee "$results"
# One total over every test binary, in the plain "N passed, N failed" form.
awk '/^test result:/ { p += $4; f += $6; i += $8 }
     END { printf "\ntests: %d passed, %d failed, %d skipped\n", p, f, i }' "$results"
