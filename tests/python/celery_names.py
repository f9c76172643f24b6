"""What Celery's own members return, for tests/celery_names_test.ts to compare with this module.

    celery_names.py get-many IDS_JSON TIMEOUT_S   list(backend.get_many(ids, timeout=...))
    celery_names.py group-get GROUP_ID PROPAGATE  GroupResult.restore(id).get(timeout=10, ...)
    celery_names.py graph ROOT_ID                 AsyncResult(root).children and .collect()
    celery_names.py expire KEY SECONDS_JSON       backend.expire(key, seconds)
    celery_names.py flags                         backend.supports_autoexpire / _native_join
    celery_names.py get-after-pause ID TIMEOUT_S PAUSE_MS
                                                  AsyncResult(id).get(timeout=...) right after
                                                  CLIENT PAUSE: its first read outlasts timeout

Each prints one JSON document: values in harness.py's typed JSON, and an exception as
``{"error": <class name>}``. Configuration comes from the environment, as for celery_app.py.
"""

import json
import os
import sys
import time

from celery.result import AsyncResult, GroupResult

from celery_app import app
from harness import to_wire


def describe(result):
    """A result object as [class name, id, parent id]."""
    parent = result.parent
    return [type(result).__name__, result.id, parent.id if parent is not None else None]


def get_many(ids, timeout):
    yielded = []
    try:
        for task_id, meta in app.backend.get_many(ids, timeout=timeout, interval=0.05):
            yielded.append([task_id, meta["status"], to_wire(meta["result"])])
        error = None
    except Exception as exc:
        error = type(exc).__name__
    return {"yielded": yielded, "error": error}


def group_get(group_id, propagate):
    group = GroupResult.restore(group_id, app=app)
    try:
        return {"values": to_wire(group.get(timeout=10, propagate=propagate))}
    except Exception as exc:
        return {"error": type(exc).__name__, "args": to_wire(list(exc.args))}


def graph(root_id):
    root = AsyncResult(root_id, app=app)
    collected = [describe(node) + [to_wire(value)] for node, value in root.collect(timeout=10)]
    return {
        "children": [describe(child) for child in AsyncResult(root_id, app=app).children],
        "collected": collected,
    }


def expire(key, seconds):
    try:
        return {"value": app.backend.expire(key, seconds)}
    except Exception as exc:
        return {"error": type(exc).__name__}


def get_after_pause(task_id, timeout, pause_ms):
    """get()'s first read (SUBSCRIBE, then GET) waits out the pause, longer than the timeout."""
    app.backend.client.execute_command("CLIENT", "PAUSE", pause_ms, "ALL")
    started = time.monotonic()
    try:
        out = {"value": to_wire(AsyncResult(task_id, app=app).get(timeout=timeout))}
    except Exception as exc:
        out = {"error": type(exc).__name__}
    out["seconds"] = time.monotonic() - started
    return out


def main(argv):
    command, args = argv[1], argv[2:]
    if command == "get-many":
        out = get_many(json.loads(args[0]), float(args[1]))
    elif command == "group-get":
        out = group_get(args[0], args[1] == "true")
    elif command == "graph":
        out = graph(args[0])
    elif command == "expire":
        out = expire(args[0], json.loads(args[1]))
    elif command == "get-after-pause":
        out = get_after_pause(args[0], float(args[1]), int(args[2]))
    elif command == "flags":
        out = {
            "supports_autoexpire": app.backend.supports_autoexpire,
            "supports_native_join": app.backend.supports_native_join,
        }
    else:
        raise SystemExit(__doc__)
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
    os._exit(0)  # skip teardown: AsyncResult.__del__ would UNSUBSCRIBE mid-teardown


if __name__ == "__main__":
    main(sys.argv)
