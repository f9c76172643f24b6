#!/usr/bin/env bash
# Regenerates tests/fixtures/celery-*-kombu-*.json from real Celery: for each Celery version, a
# temporary redis-server on a free loopback port, a solo worker and tests/fixtures/capture.py.
#
#   scripts/capture_fixtures.sh [output-folder]      (default: tests/fixtures)
#
# Celery 5.2.6 is Debian's python3-celery under /usr/bin/python3, Celery 5.6.3 the .venv56 that
# scripts/test.sh creates (override with CELERY52_PYTHON / CELERY56_PYTHON, as in tests/_env.ts).
# Task ids and dates differ from run to run; the tests read ids from each file's "ids".
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FIXTURES="$ROOT/tests/fixtures"
OUT="$(mkdir -p "${1:-$FIXTURES}" && cd "${1:-$FIXTURES}" && pwd)"
PYTHONS=("${CELERY52_PYTHON:-/usr/bin/python3}" "${CELERY56_PYTHON:-$ROOT/.venv56/bin/python}")

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

for python in "${PYTHONS[@]}"; do
  [[ -x "$python" ]] || {
    echo "capture: $python not found (run scripts/test.sh once to install Celery)" >&2
    exit 1
  }
  port="$(free_port)"
  # No persistence: the server starts empty and leaves nothing behind.
  redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$WORK" \
    >"$WORK/redis-$port.log" 2>&1 &
  PIDS+=("$!")
  until redis-cli -p "$port" ping >/dev/null 2>&1; do sleep 0.1; done

  export CAPTURE_REDIS_PORT="$port" PYTHONPATH="$FIXTURES" PYTHONDONTWRITEBYTECODE=1
  "$python" -c 'from tasks import app
app.Worker(pool="solo", concurrency=1, hostname="w@local", loglevel="WARNING").start()' \
    >"$WORK/worker-$port.log" 2>&1 &
  PIDS+=("$!")
  if ! "$python" "$FIXTURES/capture.py" "$OUT"; then
    cat "$WORK/worker-$port.log" >&2
    exit 1
  fi
done
