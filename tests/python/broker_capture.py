"""Sends tasks with Python's own ``app.send_task`` and prints what landed on the Redis broker.

Usage: ``broker_capture.py '<json list of calls>'`` with BROKER_URL / RESULT_BACKEND set (see
celery_app.py). Each call is ``{"name", "args", "kwargs", "options"}`` where args and kwargs are
typed JSON (harness.py's ``from_wire``) and options are ``send_task`` keywords (``eta`` and
``expires`` given as ISO text are parsed into datetimes first).

Prints a JSON list, one entry per call, in order: ``{"list": <the Redis list the message was
pushed onto>, "raw": <the envelope, one char per byte>, "bindings": {key: [members]}}``. The
broker database must be empty before the run: each message is popped as soon as it is sent.
"""

import datetime
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from harness import from_wire, raw_text  # noqa: E402  (imports celery_app)
from celery_app import app  # noqa: E402


def main():
    calls = json.loads(sys.argv[1])
    client = app.connection_for_write().default_channel.client
    out = []
    for call in calls:
        options = dict(call.get("options") or {})
        for field in ("eta", "expires"):
            if isinstance(options.get(field), str):
                options[field] = datetime.datetime.fromisoformat(options[field])
        app.send_task(call["name"], args=from_wire(call.get("args", [])),
                      kwargs=from_wire(call.get("kwargs", {})), **options)
        lists = [k for k in client.keys("*") if client.type(k) == b"list"]
        if len(lists) != 1 or client.llen(lists[0]) != 1:
            raise RuntimeError("expected exactly one message on the broker, found %r" % lists)
        bindings = {k.decode("latin-1"): sorted(m.decode("latin-1") for m in client.smembers(k))
                    for k in client.keys("_kombu.binding.*")}
        out.append({"list": lists[0].decode("latin-1"), "raw": raw_text(client.rpop(lists[0])),
                    "bindings": bindings})
    sys.stdout.write(json.dumps(out, ensure_ascii=True))
    sys.stdout.write("\n")
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
