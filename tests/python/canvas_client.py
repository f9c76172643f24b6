"""Canvas operations (chords, chains, groups) for tests/chord_interop_test.ts, with real Celery.

    canvas_client.py serve
        Read one JSON command per line on stdin ({"cmd": ..., ...}) and answer each with one JSON
        line on stdout: {"ok": <result>} or {"error": "<Class>: <message>", "traceback": ...}.
    canvas_client.py worker [--list] ARGS...
        Run harness.py's worker (ARGS as for ``harness.py worker``); with --list the app uses
        list-mode chords (result_backend_transport_options['result_chord_ordered'] = False).

Configuration comes from the environment, as for celery_app.py. Python values in answers use
harness.py's typed JSON (``to_wire``).
"""

import json
import os
import sys
import traceback
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from celery_app import add, app, boom, echo  # noqa: E402

import celery.backends.base as base_mod  # noqa: E402
from celery import chain, chord, signature  # noqa: E402
from celery.result import AsyncResult, GroupResult, result_from_tuple  # noqa: E402

import harness  # noqa: E402  (same app; to_wire, raw_text, read_result, store_from_spec)


def cmd_chord(c):
    """chord([add(i, i) ...], echo()): every ts_every-th part (1-based) on queue "ts", the others on
    python_queue; part fail_index is boom("x"); the body on body_queue."""
    ts_every = c.get("ts_every") or 0
    header = []
    for i in range(c["n"]):
        sig = boom.s("x") if i == c.get("fail_index") else add.s(i, i)
        on_ts = ts_every and i % ts_every == ts_every - 1
        header.append(sig.set(queue="ts" if on_ts else c.get("python_queue", "celery")))
    body = echo.s().set(queue=c.get("body_queue", "ts"))
    res = chord(header, body).apply_async()
    return {
        "group_id": res.parent.id,
        "body_id": res.id,
        "header_ids": [r.id for r in res.parent.results],
    }


def cmd_send_body(c):
    """What on_chord_part_return's callback.delay(results) does, for a body TypeScript completed."""
    sig = signature(c["body"], app=app)
    res = sig.apply_async((c["results"],), parent_id=c.get("parent_id"), root_id=c.get("root_id"))
    return {"id": res.id}


def cmd_send_extra(c):
    """Send add(*args) as a part of an existing chord (what a TypeScript add_to_chord sends)."""
    sig = add.s(*c["args"]).set(
        queue=c["queue"],
        group_id=c["group"],
        group_index=c.get("group_index"),
        chord=c["chord"],
        root_id=c.get("root_id"),
    )
    return {"id": sig.delay().id}


def cmd_add_to_chord(c):
    """Celery's own Task.add_to_chord, run with the request of a header part TypeScript holds."""
    add.push_request(
        id=c["id"],
        group=c["group"],
        group_index=c.get("group_index"),
        chord=c["chord"],
        root_id=c.get("root_id"),
    )
    try:
        res = add.add_to_chord(add.s(*c["args"]).set(queue=c["queue"]))
    finally:
        add.pop_request()
    return {"id": res.id}


def cmd_chain(c):
    """chain(first, add.s(1), add.s(2)) with known ids; first is add(1, 1) or boom("y")."""
    ids = [str(uuid.uuid4()) for _ in range(3)]
    first = boom.s("y") if c.get("first") == "boom" else add.s(1, 1)
    steps = [
        first.set(task_id=ids[0], queue=c.get("first_queue", "celery")),
        add.s(1).set(task_id=ids[1]),
        add.s(2).set(task_id=ids[2]),
    ]
    chain(*steps).apply_async()
    return {"ids": ids}


def cmd_wait(c):
    res = AsyncResult(c["id"], app=app)
    res.get(timeout=c.get("timeout", 30), propagate=False, disable_sync_subtasks=False)
    return harness.read_result(c["id"], res)


def cmd_read(c):
    return harness.read_result(c["id"], AsyncResult(c["id"], app=app))


def cmd_raw(c):
    """The raw value of a key in the result database, and its TTL."""
    client = app.backend.client
    return {"raw": harness.raw_text(client.get(c["key"])), "ttl": client.ttl(c["key"])}


def cmd_save_group(c):
    group = result_from_tuple(c["tuple"], app)
    group.save()
    key = app.backend.get_key_for_group(group.id)
    return {"raw": harness.raw_text(app.backend.client.get(key))}


def cmd_restore_group(c):
    group = GroupResult.restore(c["id"], app=app)
    if group is None:
        return None
    out = {"tuple": json.loads(json.dumps(group.as_tuple()))}
    if c.get("join"):
        out["values"] = harness.to_wire(group.join(timeout=c.get("timeout", 30), propagate=False))
    return out


_MISSING = object()


def cmd_encode_meta(c):
    """harness.py encode-meta for several specs, restoring what it patches afterwards."""
    backend = app.backend
    saved = {name: backend.__dict__.get(name, _MISSING) for name in ("get", "_set")}
    saved_now = app.__dict__.get("now", _MISSING)
    saved_datetime = getattr(base_mod, "datetime", _MISSING)
    out = []
    try:
        for spec in c["specs"]:
            out.append(harness.store_from_spec(spec, True)["raw"])
    finally:
        for name, value in saved.items():
            if value is _MISSING:
                backend.__dict__.pop(name, None)
            else:
                backend.__dict__[name] = value
        if saved_now is _MISSING:
            app.__dict__.pop("now", None)
        else:
            app.now = saved_now
        if saved_datetime is not _MISSING:
            base_mod.datetime = saved_datetime
    return out


COMMANDS = {
    "chord": cmd_chord,
    "send_body": cmd_send_body,
    "send_extra": cmd_send_extra,
    "add_to_chord": cmd_add_to_chord,
    "chain": cmd_chain,
    "wait": cmd_wait,
    "read": cmd_read,
    "raw": cmd_raw,
    "save_group": cmd_save_group,
    "restore_group": cmd_restore_group,
    "encode_meta": cmd_encode_meta,
}


def serve():
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            command = json.loads(line)
            out = {"ok": COMMANDS[command["cmd"]](command)}
        except Exception as exc:  # report and keep serving
            out = {"error": "%s: %s" % (type(exc).__name__, exc), "traceback": traceback.format_exc()}
        sys.stdout.write(json.dumps(out, ensure_ascii=True) + "\n")
        sys.stdout.flush()


def main(argv):
    if len(argv) >= 2 and argv[1] == "serve":
        serve()
        sys.stdout.flush()
        os._exit(0)  # skip teardown noise (AsyncResult.__del__ during shutdown)
    if len(argv) >= 2 and argv[1] == "worker":
        rest = argv[2:]
        if "--list" in rest:
            rest.remove("--list")
            options = dict(app.conf.result_backend_transport_options or {})
            options["result_chord_ordered"] = False
            app.conf.result_backend_transport_options = options
        return harness.main(["worker"] + rest)
    raise SystemExit(__doc__)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
