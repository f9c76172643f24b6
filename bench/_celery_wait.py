"""Python Celery's waiting path, driven by bench/wait_latency.ts over stdin/stdout.

The TypeScript side stores the results (MULTI/SETEX/PUBLISH, as a worker does) and timestamps
each store; this process waits with Celery 5.6's own API and reports, for each result, the wall
clock (time.time_ns()) at which Celery handed it over. Commands, one per line:

  ping                      -> "pong <time_ns>"          (clock calibration)
  one <id>                  -> "ready", then "done <id> <time_ns>" once AsyncResult(id).get() returns
  many seq|burst <id> ...   -> "ready" once ResultSet(...) exists (its SUBSCRIBEs are sent), then
                               ResultSet.join_native(callback=...):
                               seq: "done <id> <time_ns>" per result as it arrives, then "end";
                               burst: one "times <json [[id, time_ns], ...]>" at the end
  quit
"""
import json
import sys
import time

from celery import Celery
from celery.result import AsyncResult, ResultSet


def main():
    url = sys.argv[1]
    app = Celery("bench", broker="memory://", backend=url)
    out = sys.stdout

    def say(*parts):
        out.write(" ".join(str(p) for p in parts) + "\n")
        out.flush()

    # Connect before the first measurement.
    app.backend.client.ping()
    say("hello")
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        cmd = words[0]
        if cmd == "ping":
            say("pong", time.time_ns())
        elif cmd == "one":
            task_id = words[1]
            result = AsyncResult(task_id, app=app)
            say("ready")
            result.get(timeout=30)
            t1 = time.time_ns()
            say("done", task_id, t1)
        elif cmd == "many":
            mode = words[1]
            results = [AsyncResult(task_id, app=app) for task_id in words[2:]]
            result_set = ResultSet(results, app=app)
            say("ready")
            times = []
            if mode == "seq":
                def on_result(task_id, _value):
                    say("done", task_id, time.time_ns())
            else:
                def on_result(task_id, _value):
                    times.append((task_id, time.time_ns()))
            result_set.join_native(callback=on_result, timeout=60)
            if mode == "seq":
                say("end")
            else:
                say("times", json.dumps(times))
        elif cmd == "quit":
            break


if __name__ == "__main__":
    main()
