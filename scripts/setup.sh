#!/usr/bin/env bash
# Installs what building, running and testing the worker needs, idempotently: the wasm32
# target, worker-build and the wasm-bindgen CLI at pinned versions, the npm packages from
# package-lock.json, and Schemathesis and standardwebhooks into .venv/ from openapi/ and
# tests/requirements.txt. A second run checks versions and installs nothing.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v cargo >/dev/null || die "cargo is not on PATH; install Rust with rustup"
command -v npm >/dev/null || die "npm is not on PATH; install Node.js 20 or later"
[ -n "$WASM_BINDGEN_VERSION" ] || die "Cargo.toml must pin wasm-bindgen as \"=X.Y.Z\""

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

installed_version() { "$1" --version 2>/dev/null | awk '{print $NF}'; }

if [ "$(installed_version worker-build)" != "$WORKER_BUILD_VERSION" ]; then
  log "installing worker-build $WORKER_BUILD_VERSION (a few minutes, once)"
  cargo install worker-build --version "$WORKER_BUILD_VERSION" --locked --force
fi

if [ "$(installed_version "$WASM_BINDGEN_BIN")" != "$WASM_BINDGEN_VERSION" ]; then
  log "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (a few minutes, once)"
  # Not --locked: its lock file names a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
fi

# npm ci when node_modules is missing or older than the lock file.
if [ ! -f "$ROOT/node_modules/.package-lock.json" ] ||
   [ "$ROOT/package-lock.json" -nt "$ROOT/node_modules/.package-lock.json" ]; then
  log "installing npm packages from package-lock.json"
  (cd "$ROOT" && npm ci --no-audit --no-fund --prefer-offline)
fi

# Chromium, for the browser suite (tests/browser.rs): the operating system's package, never a
# download, with a Devanagari font so that the Hindi pages show Hindi. CHROME_PATH names another
# Chromium or Chrome; without either, and unable to install (not root, no apt-get), the suite
# fails saying how to get one.
if [ -n "${CHROME_PATH:-}" ]; then
  [ -x "$CHROME_PATH" ] || die "CHROME_PATH=$CHROME_PATH is not an executable"
elif [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  missing=()
  command -v chromium >/dev/null || missing+=(chromium)
  dpkg -s fonts-lohit-deva >/dev/null 2>&1 || missing+=(fonts-lohit-deva)
  if [ "${#missing[@]}" -gt 0 ]; then
    log "installing ${missing[*]} from the distribution's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
  fi
elif ! command -v chromium >/dev/null; then
  log "no Chromium: the browser suite will fail until one is installed (as root: apt-get install chromium) or CHROME_PATH names one"
fi

# Schemathesis, for the conformance test (tests/conformance.rs), in a project-local virtual
# environment (.venv/, git-ignored), exactly as openapi/requirements.txt pins it; installed
# again only when that file changes.
command -v python3 >/dev/null || die "python3 is not on PATH; install Python 3.11 or later"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' ||
  die "Schemathesis needs Python 3.11 or later; python3 is $(python3 --version 2>&1)"
# The official Standard Webhooks library, for the webhook receiver of tests/webhooks.rs, goes
# into the same environment from tests/requirements.txt.
venv="$ROOT/.venv"
requirements=("$ROOT/openapi/requirements.txt" "$ROOT/tests/requirements.txt")
want="$(cat "${requirements[@]}" | sha256sum | cut -d' ' -f1)"
if [ ! -x "$venv/bin/schemathesis" ] || [ "$(cat "$venv/.requirements.sha256" 2>/dev/null)" != "$want" ]; then
  log "installing Schemathesis and standardwebhooks into .venv from openapi/ and tests/requirements.txt"
  [ -x "$venv/bin/python" ] || python3 -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --no-input \
    -r "${requirements[0]}" -r "${requirements[1]}"
  echo "$want" > "$venv/.requirements.sha256"
fi
