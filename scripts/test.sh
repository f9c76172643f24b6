#!/usr/bin/env bash
# The whole test suite, from a fresh Debian/Ubuntu machine with Node/npm: `npx -y deno@2 task test`
# runs this script (and so does .ci/run). It installs what the tests need, then runs tests/ under
# Deno, under Bun and under Node (through tsx), lists every failed and skipped test (with the reason), and prints
# "N passed, N failed, N skipped" alone on the last line.
#
# Installed once and reused (a second run is fast): apt's redis-server, redis-sentinel, Debian's
# Celery 5.2 (python3-celery), chromium and openssl; Celery 5.6.3 in .venv56 from the machine's
# local pip mirror; deno@2 and bun@1 in .ci/.tools; the npm dev packages (tsx, workerd, esbuild, ...).
# With CI=true nothing may be skipped: a missing program fails its tests (tests/_env.ts) and any
# skipped test counts as failed. JUnit reports and logs of the last run are in .ci/.out/.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
if [[ -n "${CI+x}" ]]; then export CI; fi

TOOLS="$ROOT/.ci/.tools"
OUT="$ROOT/.ci/.out"
VENV="$ROOT/.venv56"
LOCAL_PYPI="/opt/pypi/simple"
APT_PACKAGES=(redis-server redis-sentinel python3-celery python3-redis python3-msgpack chromium openssl)
PIP_PACKAGES=(celery==5.6.3 kombu billiard vine amqp click redis python-dateutil tzdata six
  tzlocal packaging msgpack)

RUN_START=$SECONDS
PHASE_NAME=""
PHASE_START=$SECONDS
log() { printf '[test] %s\n' "$*" >&2; }
phase() {
  phase_end
  PHASE_NAME="$1"
  PHASE_START=$SECONDS
  log "== $PHASE_NAME"
}
phase_end() {
  if [[ -n "$PHASE_NAME" ]]; then
    log "-- $PHASE_NAME: $((SECONDS - PHASE_START))s"
    PHASE_NAME=""
  fi
}
die() {
  log "FATAL: $*"
  exit 2
}

as_root() {
  if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo -n "$@"; fi
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

# ---------------------------------------------------------------------------------------------
phase "apt: redis, redis-sentinel, Debian's Celery 5.2, chromium, openssl"
missing=()
for pkg in "${APT_PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if ((${#missing[@]})); then
  log "installing: ${missing[*]}"
  APT_LOG="$(mktemp)"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >"$APT_LOG" 2>&1 || {
    cat "$APT_LOG" >&2
    rm -f "$APT_LOG"
    die "apt-get install failed"
  }
  rm -f "$APT_LOG"
else
  log "all present: ${APT_PACKAGES[*]}"
fi
command -v redis-server >/dev/null || die "redis-server not on PATH after install"

# ---------------------------------------------------------------------------------------------
phase "venv: Celery 5.6.3 from the local mirror"
venv_ok() {
  [[ -x "$VENV/bin/python" ]] &&
    "$VENV/bin/python" -c 'import sys, celery, kombu, redis, msgpack, dateutil
sys.exit(0 if celery.__version__ == "5.6.3" else 1)' >/dev/null 2>&1
}
if venv_ok; then
  log "reusing $VENV"
else
  PY="$(command -v python3)" || die "no python3 on PATH"
  log "creating $VENV with $PY ($("$PY" --version 2>&1))"
  if [[ ! -L "$VENV" ]]; then rm -rf "$VENV"; fi
  "$PY" -m venv "$VENV" || die "python3 -m venv failed (Debian's python3 needs python3-venv)"
  pip_args=(install --quiet --disable-pip-version-check --no-input --no-deps)
  # Only the local mirror: never fall back to (and retry) the unreachable default index.
  if [[ -d "$LOCAL_PYPI" ]]; then pip_args+=(--index-url "file://$LOCAL_PYPI"); fi
  "$VENV/bin/python" -m pip "${pip_args[@]}" "${PIP_PACKAGES[@]}" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2) ||
    die "pip install failed"
  venv_ok || die "Celery 5.6.3 does not import from $VENV"
fi

phase "verify both Celery installations"
/usr/bin/python3 -c 'import celery, kombu, redis, msgpack
print("Celery", celery.__version__, "kombu", kombu.__version__, "redis-py", redis.__version__, "(/usr/bin/python3)")' >&2 ||
  die "Debian's Celery does not import under /usr/bin/python3"
"$VENV/bin/python" -c 'import celery, kombu, redis, msgpack
print("Celery", celery.__version__, "kombu", kombu.__version__, "redis-py", redis.__version__, "(.venv56)")' >&2 ||
  die "Celery 5.6.3 does not import under $VENV"

# ---------------------------------------------------------------------------------------------
phase "deno + bun via npm"
BIN="$TOOLS/node_modules/.bin"
tools_ok() {
  "$BIN/deno" --version 2>/dev/null | grep -q '^deno 2\.' && "$BIN/bun" --version 2>/dev/null | grep -q '^1\.'
}
if ! tools_ok; then
  mkdir -p "$TOOLS"
  [[ -f "$TOOLS/package.json" ]] || printf '{"name":"ci-tools","private":true}\n' >"$TOOLS/package.json"
  log "npm install deno@2 bun@1 into $TOOLS"
  (cd "$TOOLS" && npm install --no-save --no-package-lock --no-audit --no-fund --loglevel=error \
    deno@2 bun@1 >&2) || die "npm install failed"
  if ! tools_ok; then
    # npm may skip install scripts (allowScripts); they only place the platform binary.
    log "binaries do not run yet: running the packages' install scripts"
    (cd "$TOOLS/node_modules/deno" && node ./install.cjs >&2) || true
    (cd "$TOOLS/node_modules/bun" && node ./install.js >&2) || true
  fi
  if ! tools_ok; then
    log "linking the platform packages' binaries directly"
    for d in "$TOOLS"/node_modules/@deno/*/deno; do [[ -x "$d" ]] && ln -sf "$d" "$BIN/deno" && break; done
    for b in "$TOOLS"/node_modules/@oven/bun-*/bin/bun; do
      [[ -x "$b" ]] && "$b" --version >/dev/null 2>&1 && ln -sf "$b" "$BIN/bun" && break
    done
  fi
  tools_ok || die "deno/bun from npm do not run"
fi
export PATH="$BIN:$PATH"
log "$(deno --version | head -1), bun $(bun --version), $(redis-server --version | cut -d' ' -f1-3)"

# ---------------------------------------------------------------------------------------------
phase "project npm dependencies"
if [[ -f package.json ]]; then
  stamp="node_modules/.package-lock.json"
  if [[ -f "$stamp" && "$stamp" -nt package.json && (! -f package-lock.json || "$stamp" -nt package-lock.json) ]]; then
    log "node_modules is up to date"
  else
    # `npm install`, not `npm ci`: it never wipes a node_modules that is in use, and --no-save
    # leaves package.json and package-lock.json untouched.
    npm install --no-save --no-audit --no-fund --loglevel=error >&2 || die "npm install failed"
  fi
else
  log "no package.json"
fi

# ---------------------------------------------------------------------------------------------
rm -rf "$OUT"
mkdir -p "$OUT"
# tests/_env.ts appends each skip's test file and reason here.
export TEST_SKIP_LOG="$OUT/skips.jsonl"
: >"$TEST_SKIP_LOG"

# Each runner gets a wall-clock limit so that a hanging test cannot eat the budget; a runner
# killed by it leaves no JUnit report and is counted from its log (scripts/count_results.mjs).
RUNNER_LIMIT="${CI_RUNNER_TIMEOUT:-420}"

phase "tests under Deno (limit ${RUNNER_LIMIT}s)"
set +e
timeout --kill-after=15 "$RUNNER_LIMIT" \
  deno test -A --junit-path="$OUT/deno.xml" tests/ 2>&1 | tee "$OUT/deno.log"
DENO_STATUS=${PIPESTATUS[0]}
set -e
log "deno test exit status: $DENO_STATUS"

phase "tests under Bun (limit ${RUNNER_LIMIT}s)"
set +e
timeout --kill-after=15 "$RUNNER_LIMIT" \
  bun test --timeout 120000 --reporter=junit --reporter-outfile="$OUT/bun.xml" 2>&1 |
  tee "$OUT/bun.log"
BUN_STATUS=${PIPESTATUS[0]}
set -e
log "bun test exit status: $BUN_STATUS"

# Node runs TypeScript through tsx; JUnit for the count, spec for the log. --test-force-exit ends
# each file once its tests are done, as Deno and Bun do, even if a handle is left open. Node 20's
# --test-timeout bounds a whole file, not one test, hence 300 s. It takes files, not folders.
phase "tests under Node $(node --version) (limit ${RUNNER_LIMIT}s)"
set +e
timeout --kill-after=15 "$RUNNER_LIMIT" \
  node --import tsx --test --test-force-exit --test-timeout=300000 \
  --test-reporter=junit --test-reporter-destination="$OUT/node.xml" \
  --test-reporter=spec --test-reporter-destination=stdout tests/*_test.ts 2>&1 |
  tee "$OUT/node.log"
NODE_STATUS=${PIPESTATUS[0]}
set -e
log "node test exit status: $NODE_STATUS"
phase_end
log "total time: $((SECONDS - RUN_START))s"

# The last line of the output is "N passed, N failed, N skipped"; the exit status is 1 on failure.
exec node scripts/count_results.mjs "$TEST_SKIP_LOG" \
  deno "$OUT/deno.xml" "$OUT/deno.log" "$DENO_STATUS" \
  bun "$OUT/bun.xml" "$OUT/bun.log" "$BUN_STATUS" \
  node "$OUT/node.xml" "$OUT/node.log" "$NODE_STATUS"
