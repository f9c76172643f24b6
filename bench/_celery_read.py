"""Python Celery's read path, for scale: ``backend.get_task_meta(id, cache=False)`` in a loop.

Run by bench/read_results.ts: reads the task ids from a file (one per line), calls Celery 5.6's
Redis backend ``get_task_meta`` for them in order, over and over, for ``--seconds`` seconds
(cache=False so every call reads Redis and decodes, as a fresh ``AsyncResult(id).state`` does),
then prints one JSON line: {"count": ..., "seconds": ..., "celery": ...}.
"""
import argparse
import json
import sys
import time

import celery
from celery import Celery


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--ids", required=True)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args()
    with open(args.ids) as f:
        ids = [line.strip() for line in f if line.strip()]
    app = Celery("bench", broker="memory://", backend=args.url)
    backend = app.backend
    # Warm up: connect and touch the code paths.
    for task_id in ids[:200]:
        meta = backend.get_task_meta(task_id, cache=False)
        assert meta["status"] == "SUCCESS", meta
    count = 0
    start = time.perf_counter()
    deadline = start + args.seconds
    done = False
    while not done:
        for task_id in ids:
            meta = backend.get_task_meta(task_id, cache=False)
            if meta["status"] != "SUCCESS":
                raise SystemExit(f"unexpected status {meta['status']}")
            count += 1
            if (count & 63) == 0 and time.perf_counter() >= deadline:
                done = True
                break
    elapsed = time.perf_counter() - start
    print(json.dumps({"count": count, "seconds": elapsed, "celery": celery.__version__}))
    sys.stdout.flush()


if __name__ == "__main__":
    main()
