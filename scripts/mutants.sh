#!/usr/bin/env bash
# `npm run mutants`: mutation testing of the pure crates (tracking-core, bluedart-tracking,
# bluedart, tracking-api, d1-rows)
# with cargo-mutants, natively. Each mutant is a small deliberate bug; a test must fail for it to
# count as caught. Installs cargo-mutants at the pinned version when it is missing or different,
# runs two mutants at a time with a per-mutant timeout, and prints caught / missed / unviable per
# crate and every missed mutant. Not part of `npm test`: a full run takes a long while.
#
#   npm run mutants                         the five crates
#   npm run mutants -- -p bluedart          one crate (any -p replaces the default five)
#   npm run mutants -- -p tracking-core --file crates/core/src/breaker.rs
#
# Settings (environment): MUTANTS_JOBS (2), MUTANTS_TIMEOUT (per-mutant test timeout, s; 120),
# MUTANTS_BUILD_TIMEOUT (s; 300), MUTANTS_MIN (the share caught, in %, below which it exits 1; 90).
# Results stay in mutants.out/ (git-ignored): caught.txt, missed.txt, unviable.txt, timeout.txt.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$ROOT"

command -v cargo >/dev/null || die "cargo is not on PATH; install Rust with rustup"

if [ "$("$CARGO_BIN/cargo-mutants" mutants --version 2>/dev/null | awk '{print $NF}')" != "$CARGO_MUTANTS_VERSION" ]; then
  log "installing cargo-mutants $CARGO_MUTANTS_VERSION (a few minutes, once)"
  cargo install cargo-mutants --version "$CARGO_MUTANTS_VERSION" --locked --force
fi

# No debug info: each mutant is a rebuild, and linking test binaries without it is much faster.
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}"

packages=()
case " $* " in
  *" -p "* | *" --package "* | *" --package="*) ;;
  *) packages=(-p tracking-core -p bluedart-tracking -p bluedart -p tracking-api -p d1-rows) ;;
esac

log "cargo mutants ${packages[*]} $* (jobs ${MUTANTS_JOBS:-2}, timeout ${MUTANTS_TIMEOUT:-120} s a mutant)"
status=0
cargo mutants \
  "${packages[@]}" \
  --jobs "${MUTANTS_JOBS:-2}" \
  --timeout "${MUTANTS_TIMEOUT:-120}" \
  --build-timeout "${MUTANTS_BUILD_TIMEOUT:-300}" \
  --no-shuffle \
  "$@" || status=$?
# cargo-mutants exits 0 when all were caught, 2 when some were missed, 3 on timeouts; anything
# else (1: bad usage, 4: the tests fail without any mutation) means there is no result to read.
case "$status" in
  0 | 2 | 3) ;;
  *) die "cargo mutants failed (exit $status) before it could judge the mutants" ;;
esac

# Where cargo-mutants wrote: mutants.out/ under -o/--output DIR when given, else here.
out="$ROOT/mutants.out"
args=("$@")
for i in "${!args[@]}"; do
  case "${args[$i]}" in
    -o | --output) out="${args[$((i + 1))]}/mutants.out" ;;
    --output=*) out="${args[$i]#--output=}/mutants.out" ;;
  esac
done
count() { # count FILE PREFIX: lines of FILE naming a mutant under PREFIX
  [ -f "$out/$1" ] || { echo 0; return; }
  grep -c "^$2" "$out/$1" || true
}
printf '\n%-18s %7s %7s %9s %9s %9s\n' crate caught missed unviable timeout "caught %"
total_caught=0 total_viable=0
for crate in crates/core crates/bluedart-tracking crates/bluedart crates/api crates/d1-rows; do
  c=$(count caught.txt "$crate/") m=$(count missed.txt "$crate/")
  u=$(count unviable.txt "$crate/") t=$(count timeout.txt "$crate/")
  viable=$((c + m + t))
  [ "$viable" -gt 0 ] || continue
  # A timeout is a caught mutant: the tests did not pass.
  printf '%-18s %7d %7d %9d %9d %8d%%\n' "${crate#crates/}" "$c" "$m" "$u" "$t" $(((c + t) * 100 / viable))
  total_caught=$((total_caught + c + t)) total_viable=$((total_viable + viable))
done
[ "$total_viable" -gt 0 ] || die "no viable mutants were tested"
share=$((total_caught * 100 / total_viable))
printf '%-18s %7s %7s %9s %9s %8d%%\n' all "" "" "" "" "$share"

if [ -s "$out/missed.txt" ]; then
  printf '\nmissed (no test failed):\n'
  sed 's/^/  /' "$out/missed.txt"
fi
[ "$share" -ge "${MUTANTS_MIN:-90}" ] || die "only $share% of viable mutants caught (target ${MUTANTS_MIN:-90}%)"
