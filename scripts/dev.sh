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
secrets_file=.dev.vars
# A production rehearsal (ENVIRONMENT=production npm run dev) must pass production's checks:
# the worker refuses the example secrets, so it gets fresh random ones for this run. Blue
# Dart's stay the simulator's (the simulator is on loopback, where production allows them).
if [ "${ENVIRONMENT:-}" = "production" ]; then
  mkdir -p .wrangler
  secrets_file=.wrangler/rehearsal.vars
  random_secret() { head -c 36 /dev/urandom | base64 | tr -d '/+=\n'; }
  grep -vE '^(ADMIN_TOKEN|CUSTOMER_TOKEN_SECRET|TRACKING_LINK_SECRET|BLUEDART_PUSH_TOKEN)=' .dev.vars > "$secrets_file" || true
  for name in ADMIN_TOKEN CUSTOMER_TOKEN_SECRET TRACKING_LINK_SECRET BLUEDART_PUSH_TOKEN; do
    echo "$name=$(random_secret)" >> "$secrets_file"
  done
  log "production rehearsal: fresh secrets for this run in $secrets_file"
fi
devvar() { sed -n "s/^$1=//p" "$secrets_file" | tail -n 1; }
admin_token="$(devvar ADMIN_TOKEN)"

log "applying D1 migrations to local state (.wrangler/state)"
wrangler d1 migrations apply DB --local
log "seeding demo orders"
wrangler d1 execute DB --local --file scripts/demo-seed.sql >/dev/null

log "building the Blue Dart simulator and the token tool"
cargo build --quiet -p bluedart-sim -p shipment-tracker --bin bluedart-sim --bin mint-token
mint() { CUSTOMER_TOKEN_SECRET="$(devvar CUSTOMER_TOKEN_SECRET)" TRACKING_LINK_SECRET="$(devvar TRACKING_LINK_SECRET)" target/debug/mint-token "$@"; }
token_1001="$(mint customer cust-1001)"
token_1002="$(mint customer cust-1002)"
link_2291="$(mint link ORD-2291)"

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
# ENVIRONMENT=production npm run dev lets the cron trigger really sync.
wrangler dev --local --ip 127.0.0.1 --port "$PORT" --test-scheduled \
  --show-interactive-dev-session=false --env-file "$secrets_file" \
  --var "BLUEDART_BASE_URL:http://127.0.0.1:$SIM_PORT" \
  ${ENVIRONMENT:+--var "ENVIRONMENT:$ENVIRONMENT"} &
pids+=($!)
set +m

for _ in $(seq 1 300); do
  curl -sf "http://127.0.0.1:$PORT/health" >/dev/null 2>&1 && break
  sleep 0.2
done
curl -sf "http://127.0.0.1:$PORT/health" >/dev/null || die "the worker did not start; see the output above"

W="http://127.0.0.1:$PORT"
S="http://127.0.0.1:$SIM_PORT"

# Blue Dart push: the simulator moves ORD-2292 on by itself (out for delivery, then delivered,
# a scan every 20 s) and pushes each scan to the worker, as Blue Dart does for accounts with push.
push_token="$(devvar BLUEDART_PUSH_TOKEN)"
if [ -n "$push_token" ]; then
  curl -sf -X POST "$S/__control/push/demo" \
    -d "{\"url\":\"$W/api/carrier/bluedart/push\",\"token\":\"$push_token\",\"intervalMs\":20000}" >/dev/null \
    && push_note="ORD-2292 advances by itself: the simulator pushes a scan every 20 s." \
    || push_note="(could not start the simulator's pushes)"
else
  push_note="Push is off: add BLUEDART_PUSH_TOKEN to .dev.vars (see .dev.vars.example) to see it."
fi
A="Authorization: Bearer $admin_token"
# The customer tracking page of each demo order, by signed link (as an e-mail or SMS carries).
page_links=""
for order in ORD-2291 ORD-2292 ORD-2293 ORD-2294 ORD-2295 ORD-2296 ORD-2297; do
  page_links+="  $W/track/$order?$(mint link "$order")"$'\n'
done
cat <<TXT

  Worker     $W   (wrangler dev, local D1 + KV in .wrangler/state)
  Simulator  $S   (Blue Dart demo shipments; control API under /__control/)

  Demo orders: ORD-2291 out for delivery, ORD-2292 in transit (cust-1001);
  ORD-2293 delivered, ORD-2294 returned to origin (cust-1002); ORD-2295 failed attempt,
  ORD-2296 lost, ORD-2298 delivered (answered with codes but no groups), ORD-2299 delivered
  in New Delhi (answered without codes) (cust-1003); ORD-2297 no waybill yet (cust-1001).
  Tokens and the link below last 24 h (the worker refuses tokens valid for more than 7 days,
  links for more than 30).

  # Customer (storefront token for cust-1001, then a signed e-mail link):
  curl -H "Authorization: Bearer $token_1001" $W/api/shipment/ORD-2291/track
  curl -H "Authorization: Bearer $token_1001" "$W/api/shipment/ORD-2291/track?forceRefresh=true"
  curl "$W/api/shipment/ORD-2291/track?$link_2291"
  curl -H "Authorization: Bearer $token_1002" "$W/api/shipment/ORD-2294/track?forceRefresh=true"

  # Tracking pages, to open in a browser (add &lang=hi for Hindi; the widget is in the README):
$page_links
  # Admin:
  curl -H "$A" $W/api/admin/shipment/ORD-2293/track
  curl -X POST -H "$A" $W/api/admin/shipment/ORD-2293/sync
  curl -X PUT -H "$A" -H 'Content-Type: application/json' -d '{"customerId":"cust-1001","orderStatus":"Processing"}' $W/api/admin/orders/ORD-3001
  curl -X POST -H "$A" -H 'Content-Type: application/json' -d '{"generate":{"consignee":{"name":"ASHA MENON","address1":"14/221 MARINE DRIVE","pincode":"682031","mobile":"9847012345"},"weightKg":0.8}}' $W/api/admin/shipment/ORD-3001/awb

  # Blue Dart push. $push_note
  curl -H "Authorization: Bearer $token_1001" $W/api/shipment/ORD-2292/track
  curl -H "$A" $W/api/admin/push                    # pushes received, accepted, unmatched
  curl $S/__control/pushes                           # what the simulator pushed, and the answers

  # Cron (skips unless started as ENVIRONMENT=production npm run dev), its runs, and health:
  curl "$W/__scheduled?cron=0+*+*+*+*"
  curl -H "$A" $W/api/admin/sync/runs
  curl $W/health

  # Make Blue Dart misbehave, then put it right again:
  curl -X PUT $S/__control/faults/tracking -d '{"mode":"status","code":503}'
  curl -X DELETE $S/__control/faults
  curl $S/__control/calls                            # what the worker asked Blue Dart

  Ctrl-C stops the worker and the simulator.

TXT
# Stop when either exits: a worker without its simulator (or the reverse) is no use.
wait -n "${pids[@]}"
