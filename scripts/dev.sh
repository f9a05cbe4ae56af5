#!/usr/bin/env bash
# `npm run dev`: set up, build, migrate and seed local D1, start the Blue Dart simulator with its
# demo shipments and the worker under `wrangler dev`, then print how to call them.
# Ctrl-C stops everything this script started.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

PORT="${PORT:-8787}"
SIM_PORT="${SIM_PORT:-8788}"

bash scripts/setup.sh
bash scripts/build-worker.sh

if [ ! -f .dev.vars ]; then
  log "creating .dev.vars from .dev.vars.example"
  cp .dev.vars.example .dev.vars
fi
admin_token="$(sed -n 's/^ADMIN_TOKEN=//p' .dev.vars)"

log "applying D1 migrations to local state (.wrangler/state)"
wrangler d1 migrations apply DB --local
log "seeding demo orders"
wrangler d1 execute DB --local --file scripts/demo-seed.sql >/dev/null

log "building the Blue Dart simulator"
cargo build --quiet -p bluedart-sim

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

# Each in its own process group so that cleanup stops their children too (workerd).
set -m
target/debug/bluedart-sim --demo --port "$SIM_PORT" &
pids+=($!)
wrangler dev --local --ip 127.0.0.1 --port "$PORT" --test-scheduled \
  --show-interactive-dev-session=false \
  --var "BLUEDART_BASE_URL:http://127.0.0.1:$SIM_PORT" &
pids+=($!)
set +m

for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || die "the worker did not start; see the output above"

W="http://127.0.0.1:$PORT"
S="http://127.0.0.1:$SIM_PORT"
cat <<TXT

  Worker     $W   (wrangler dev, local D1 + KV in .wrangler/state)
  Simulator  $S   (Blue Dart demo shipments; control API under /__control/)

  curl $W/health
  curl "$W/__scheduled?cron=0+*+*+*+*"          # fire the hourly cron (skips outside production)

  # Demo orders: ORD-2291 out for delivery, ORD-2292 in transit, ORD-2293 delivered,
  # ORD-2294 returned to origin, ORD-2295 failed attempt, ORD-2296 lost, ORD-2297 no waybill yet.
  # Admin token (from .dev.vars): $admin_token

  # Make Blue Dart misbehave, then put it right again:
  curl -X PUT $S/__control/faults/tracking -d '{"mode":"status","code":503}'
  curl -X DELETE $S/__control/faults
  curl $S/__control/calls                            # what the worker asked Blue Dart

  Ctrl-C stops the worker and the simulator.

TXT
# Stop when either exits: a worker without its simulator (or the reverse) is no use.
wait -n "${pids[@]}"
