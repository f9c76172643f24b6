"""Command-line harness that lets the TypeScript tests drive real Python Celery.

Run it with the interpreter of the Celery under test (``/usr/bin/python3`` for 5.2.6,
``.venv56/bin/python`` for 5.6.3). ``BROKER_URL`` and ``RESULT_BACKEND`` (and optionally
``RESULT_SERIALIZER`` etc., see celery_app.py) come from the environment.

Every subcommand except ``worker`` prints exactly one JSON document on stdout and exits 0; on error
it prints ``harness <command>: <ExceptionClass>: <message>`` (and a traceback) on stderr and exits 1.

Python values are represented on the wire by ``to_wire`` / ``from_wire`` ("typed JSON"):

- ``None``, ``bool``, ``str``, lists, and ints within +-(2**53 - 1) are plain JSON;
- dicts with only ``str`` keys are plain JSON objects (unless they look like a typed marker below);
- everything else is ``{"py": <tag>, "value": ...}``:
  ``int`` (decimal string), ``float`` (``repr``: "3.0", "nan", "inf"), ``Decimal`` (``str``),
  ``UUID`` (hyphenated), ``datetime`` (isoformat, plus ``"tzinfo"``: repr or null), ``date``,
  ``time``, ``bytes`` (base64), ``tuple`` / ``set`` (list), ``dict`` (``"items"``: [[k, v], ...]),
  ``str`` (escape hatch), ``class`` ("module.qualname"); unknown objects are
  ``{"py": "<module>.<qualname>", "repr": ...}`` (output only);
- exceptions are ``{"exception": {"class", "qualname", "module", "args", "is_instance_of_builtin",
  "str", "bases"}}``. As input only ``module`` (default ``builtins``), ``class`` (a qualname; a
  class that does not exist is created as a subclass of Exception in that module) and ``args``
  (default []) are read.
"""

import argparse
import base64
import builtins
import datetime
import decimal
import importlib
import json
import os
import signal
import sys
import threading
import traceback as traceback_mod
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from celery_app import app  # noqa: E402  (needs sys.path and the environment)

import celery  # noqa: E402
from celery.app.task import Context  # noqa: E402
from celery.result import AsyncResult, GroupResult, result_from_tuple  # noqa: E402

MAX_SAFE_INT = 2**53 - 1
TYPED_KEYS = {"py", "value", "items", "tzinfo", "repr"}


# ---------------------------------------------------------------------------------------------
# typed JSON


def _is_marker_like(d):
    if "py" in d and set(d) <= TYPED_KEYS:
        return True
    return set(d) == {"exception"}


def exception_info(exc):
    cls = type(exc)
    return {
        "class": cls.__name__,
        "qualname": cls.__qualname__,
        "module": cls.__module__,
        "args": to_wire(list(getattr(exc, "args", ()))),
        "is_instance_of_builtin": getattr(builtins, cls.__name__, None) is cls,
        "str": str(exc),
        "bases": ["%s.%s" % (b.__module__, b.__qualname__) for b in cls.__mro__[1:]],
    }


def to_wire(v):
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, int):
        return v if -MAX_SAFE_INT <= v <= MAX_SAFE_INT else {"py": "int", "value": str(v)}
    if isinstance(v, float):
        return {"py": "float", "value": repr(v)}
    if isinstance(v, BaseException):
        return {"exception": exception_info(v)}
    if isinstance(v, datetime.datetime):
        return {"py": "datetime", "value": v.isoformat(),
                "tzinfo": repr(v.tzinfo) if v.tzinfo is not None else None}
    if isinstance(v, datetime.date):
        return {"py": "date", "value": v.isoformat()}
    if isinstance(v, datetime.time):
        return {"py": "time", "value": v.isoformat(),
                "tzinfo": repr(v.tzinfo) if v.tzinfo is not None else None}
    if isinstance(v, decimal.Decimal):
        return {"py": "Decimal", "value": str(v)}
    if isinstance(v, uuid.UUID):
        return {"py": "UUID", "value": str(v)}
    if isinstance(v, (bytes, bytearray, memoryview)):
        return {"py": "bytes", "value": base64.b64encode(bytes(v)).decode("ascii")}
    if isinstance(v, list):
        return [to_wire(x) for x in v]
    if isinstance(v, tuple):
        return {"py": "tuple", "value": [to_wire(x) for x in v]}
    if isinstance(v, (set, frozenset)):
        return {"py": "set", "value": [to_wire(x) for x in v]}
    if isinstance(v, dict):
        if all(isinstance(k, str) for k in v) and not _is_marker_like(v):
            return {k: to_wire(x) for k, x in v.items()}
        return {"py": "dict", "items": [[to_wire(k), to_wire(x)] for k, x in v.items()]}
    if isinstance(v, type):
        return {"py": "class", "value": "%s.%s" % (v.__module__, v.__qualname__)}
    cls = type(v)
    return {"py": "%s.%s" % (cls.__module__, cls.__qualname__), "repr": repr(v)}


def make_exception(spec):
    module_name = spec.get("module") or "builtins"
    qualname = spec["class"]
    try:
        obj = sys.modules.get(module_name) or importlib.import_module(module_name)
        for part in qualname.split("."):
            obj = getattr(obj, part)
        cls = obj
    except (ImportError, AttributeError):
        cls = type(qualname.rsplit(".", 1)[-1], (Exception,),
                   {"__module__": module_name, "__qualname__": qualname})
    if not (isinstance(cls, type) and issubclass(cls, BaseException)):
        raise ValueError("%s.%s is not an exception class" % (module_name, qualname))
    args = from_wire(spec.get("args", []))
    return cls(*args) if isinstance(args, (list, tuple)) else cls(args)


def _typed(v):
    tag, value = v["py"], v.get("value")
    if tag == "int":
        return int(value)
    if tag == "float":
        return float(value)
    if tag == "Decimal":
        return decimal.Decimal(value)
    if tag == "UUID":
        return uuid.UUID(value)
    if tag == "datetime":
        return datetime.datetime.fromisoformat(value)
    if tag == "date":
        return datetime.date.fromisoformat(value)
    if tag == "time":
        return datetime.time.fromisoformat(value)
    if tag == "bytes":
        return base64.b64decode(value)
    if tag == "tuple":
        return tuple(from_wire(value))
    if tag == "set":
        return set(from_wire(value))
    if tag == "dict":
        return {from_wire(k): from_wire(x) for k, x in v["items"]}
    if tag == "str":
        return value
    raise ValueError("unknown typed value %r" % (tag,))


def from_wire(v):
    if isinstance(v, list):
        return [from_wire(x) for x in v]
    if isinstance(v, dict):
        if set(v) == {"exception"} and isinstance(v["exception"], dict):
            return make_exception(v["exception"])
        if isinstance(v.get("py"), str) and set(v) <= TYPED_KEYS:
            return _typed(v)
        return {k: from_wire(x) for k, x in v.items()}
    return v


def _bytes(k):
    return k if isinstance(k, bytes) else str(k).encode("utf-8")


def raw_text(value):
    """Bytes (or the str a JSON encoder produced) as a latin-1 string: one char per byte."""
    if value is None:
        return None
    if isinstance(value, str):
        value = value.encode("utf-8")  # what redis-py sends for a str
    return bytes(value).decode("latin-1")


def emit(doc):
    sys.stdout.write(json.dumps(doc, ensure_ascii=True, allow_nan=False))
    sys.stdout.write("\n")
    sys.stdout.flush()


def task_name(name):
    return name if "." in name else "celery_app." + name


# ---------------------------------------------------------------------------------------------
# reading


def read_result(task_id, res=None):
    """What ``AsyncResult(task_id)`` exposes, decoded from one GET (also returned as ``raw``)."""
    backend = app.backend
    key = backend.get_key_for_task(task_id)
    client = backend.client
    raw = client.get(key)
    ttl = client.ttl(key)
    if res is None:
        # Pin the bytes every AsyncResult property decodes, so the fields are consistent even
        # while the task is still changing state, and equal to `raw`.
        original_get = backend.get
        backend.get = lambda k: raw if _bytes(k) == _bytes(key) else original_get(k)
        res = AsyncResult(task_id, app=app)
    date_done = res.date_done
    children = res.children
    return {
        "id": task_id,
        "state": res.state,
        "result": to_wire(res.result),
        "traceback": res.traceback,
        "date_done": None if date_done is None else {
            "iso": date_done.isoformat() if isinstance(date_done, datetime.datetime) else None,
            "tzinfo": repr(getattr(date_done, "tzinfo", None)),
            "type": type(date_done).__name__,
        },
        "name": res.name,
        "args": to_wire(res.args),
        "kwargs": to_wire(res.kwargs),
        "worker": res.worker,
        "retries": res.retries,
        "queue": res.queue,
        "children": None if children is None else [repr(c) for c in children],
        "key": key.decode("utf-8") if isinstance(key, bytes) else key,
        "raw": raw_text(raw),
        "ttl": ttl,
    }


# ---------------------------------------------------------------------------------------------
# storing


def build_request(spec):
    if spec is None:
        return None
    fields = dict(spec)
    children = fields.pop("children", None)
    request = Context(**from_wire(fields))
    if children:
        request.children.extend(result_from_tuple(c, app) for c in from_wire(children))
    return request


def freeze_now(fixed):
    """Make the backend's clock return `fixed` (used for `date_done`) on every Celery version."""
    if fixed.tzinfo is None:
        fixed = fixed.replace(tzinfo=datetime.timezone.utc)
    real = datetime.datetime

    class FrozenDatetime(real):
        @classmethod
        def utcnow(cls):
            return fixed.astimezone(datetime.timezone.utc).replace(tzinfo=None)

        @classmethod
        def now(cls, tz=None):
            return fixed.astimezone(tz) if tz is not None else fixed.astimezone().replace(tzinfo=None)

    import celery.backends.base as base_mod
    if getattr(base_mod, "datetime", None) is real:
        base_mod.datetime = FrozenDatetime  # 5.2-5.4: datetime.utcnow() / datetime.now(utc)
    app.now = lambda: fixed.astimezone(app.timezone)  # 5.5+: self.app.now()


def store_from_spec(spec, capture_only):
    backend = app.backend
    task_id = spec["task_id"]
    state = spec.get("state", "SUCCESS")
    result = from_wire(spec.get("result"))
    tb = spec.get("traceback")
    request = build_request(spec.get("request"))
    if spec.get("now"):
        freeze_now(datetime.datetime.fromisoformat(spec["now"]))
    captured = {}
    if capture_only:
        # Celery's own store_result path (encode_result, _get_result_meta, task_id, encode,
        # size check, ensure) with the two I/O primitives replaced: no key yet, capture the SET.
        backend.get = lambda key: None
        backend._set = lambda key, value: captured.update(key=key, value=value)
    backend.store_result(task_id, result, state, traceback=tb, request=request)
    key = backend.get_key_for_task(task_id)
    out = {"key": key.decode("utf-8") if isinstance(key, bytes) else key}
    if capture_only:
        out["raw"] = raw_text(captured.get("value"))
    else:
        out["raw"] = raw_text(backend.client.get(key))
        out["ttl"] = backend.client.ttl(key)
    return out


# ---------------------------------------------------------------------------------------------
# subcommands


def cmd_worker(a):
    from celery import signals

    def on_ready(sender=None, **kwargs):
        os.write(1, b"ready\n")

    signals.worker_ready.connect(on_ready, weak=False)

    if a.exit_on_stdin_eof:
        def watchdog():
            # os.read, not sys.stdin: a thread blocked inside sys.stdin's buffered reader holds
            # its lock across fork(), and prefork children then hang when billiard closes stdin.
            try:
                while os.read(0, 4096):
                    pass
            except Exception:
                pass
            # The parent test process is gone: take the whole worker (and pool children) down.
            if os.getpgrp() == os.getpid():
                os.killpg(os.getpid(), signal.SIGKILL)
            os._exit(3)

        threading.Thread(target=watchdog, name="stdin-watchdog", daemon=True).start()

    kwargs = dict(
        pool=a.pool,
        concurrency=a.concurrency,
        hostname=a.hostname,
        loglevel=a.loglevel,
        quiet=True,
        redirect_stdouts=False,
        without_gossip=True,
        without_mingle=True,
        without_heartbeat=True,
    )
    if a.queues:
        kwargs["queues"] = a.queues.split(",")
    app.Worker(**kwargs).start()
    return None


def cmd_send(a):
    args = from_wire(json.loads(a.args_json)) if a.args_json else []
    kwargs = from_wire(json.loads(a.kwargs)) if a.kwargs else {}
    options = {}
    if a.task_id:
        options["task_id"] = a.task_id
    if a.countdown is not None:
        options["countdown"] = a.countdown
    if a.expires is not None:
        options["expires"] = a.expires
    if a.queue:
        options["queue"] = a.queue
    res = app.send_task(task_name(a.task), args=args, kwargs=kwargs, **options)
    return {"id": res.id}


def cmd_wait(a):
    res = AsyncResult(a.id, app=app)
    res.get(timeout=a.timeout, propagate=False, interval=0.05)
    return read_result(a.id, res)


def cmd_read(a):
    return read_result(a.id)


def cmd_revoke(a):
    replies = app.control.revoke(a.id, terminate=a.terminate, signal=a.signal,
                                 reply=True, timeout=a.timeout)
    return {"id": a.id, "terminate": a.terminate, "replies": to_wire(replies or [])}


def cmd_forget(a):
    AsyncResult(a.id, app=app).forget()
    return {"id": a.id, "forgotten": True}


def cmd_encode_meta(a):
    return store_from_spec(json.loads(a.spec_json), capture_only=True)


def cmd_store(a):
    return store_from_spec(json.loads(a.spec_json), capture_only=False)


def cmd_save_group(a):
    children = [AsyncResult(c, app=app) for c in json.loads(a.child_ids_json)]
    group = GroupResult(a.group_id, children, app=app)
    group.save()
    key = app.backend.get_key_for_group(a.group_id)
    return {"id": a.group_id, "key": key.decode("utf-8"), "raw": raw_text(app.backend.client.get(key))}


def cmd_restore_group(a):
    group = GroupResult.restore(a.group_id, app=app)
    if group is None:
        return {"id": a.group_id, "group": None}

    def node(r):
        out = {"type": type(r).__name__, "id": r.id,
               "parent": None if r.parent is None else r.parent.id}
        if isinstance(r, GroupResult):
            out["results"] = [node(c) for c in r.results]
        return out

    return {"id": a.group_id, "group": node(group)}


def cmd_keys(a):
    """The key names Celery's backend builds (global_keyprefix included) for a task and a group."""
    backend = app.backend

    def name(key):
        return key.decode("utf-8") if isinstance(key, bytes) else key

    return {
        "task": name(backend.get_key_for_task(a.task_id)),
        "group": name(backend.get_key_for_group(a.group_id)),
        "chord": {suffix: name(backend.get_key_for_group(a.group_id, "." + suffix))
                  for suffix in ("j", "t", "s")},
    }


def cmd_set_chord_size(a):
    app.backend.set_chord_size(a.group_id, a.size)
    return {"group": a.group_id, "size": a.size}


def cmd_chord_part(a):
    """backend.on_chord_part_return for a SUCCESS header part; the body (a typed JSON signature)
    is sent through the broker if this part completes the chord. Reports which chord keys remain."""
    request = Context(id=a.task_id, group=a.group_id, group_index=a.group_index,
                      chord=json.loads(a.body_json), root_id=a.task_id)
    app.backend.store_result(a.task_id, from_wire(json.loads(a.result_json)), "SUCCESS",
                             request=request)
    app.backend.on_chord_part_return(request, "SUCCESS", from_wire(json.loads(a.result_json)))
    client = app.backend.client
    left = [s for s in ("j", "t", "s")
            if client.exists(app.backend.get_key_for_group(a.group_id, "." + s))]
    return {"task": a.task_id, "chord_keys_left": left}


def cmd_parse_url(a):
    from celery.app.backends import by_url

    cls, url = by_url(a.url, app.loader)
    backend = cls(app=app, url=url)
    return {
        "backend": "%s.%s" % (cls.__module__, cls.__qualname__),
        "connparams": to_wire(dict(getattr(backend, "connparams", {}) or {})),
        "as_uri": backend.as_uri(),
        "as_uri_with_password": backend.as_uri(include_password=True),
    }


def cmd_versions(a):
    import kombu
    import redis

    return {"celery": celery.__version__, "kombu": kombu.__version__, "redis": redis.__version__,
            "python": sys.version.split()[0], "executable": sys.executable}


def parser():
    p = argparse.ArgumentParser(prog="harness.py", description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    w = sub.add_parser("worker", help="run a worker in the foreground; prints 'ready' when ready")
    w.add_argument("--hostname", default="harness@localhost")
    w.add_argument("--pool", default="solo")
    w.add_argument("--concurrency", type=int, default=1)
    w.add_argument("--loglevel", default="WARNING")
    w.add_argument("--queues", default=None, help="comma-separated queue names")
    w.add_argument("--exit-on-stdin-eof", action="store_true",
                   help="exit (killing the process group if leader) when stdin closes")
    w.set_defaults(fn=cmd_worker)

    s = sub.add_parser("send", help='send a task: prints {"id": ...}')
    s.add_argument("task", help="task name; a name without a dot gets 'celery_app.' prepended")
    s.add_argument("args_json", nargs="?", default="[]")
    s.add_argument("--kwargs", default=None, help="typed JSON object")
    s.add_argument("--task-id", default=None)
    s.add_argument("--countdown", type=float, default=None)
    s.add_argument("--expires", type=float, default=None)
    s.add_argument("--queue", default=None)
    s.set_defaults(fn=cmd_send)

    x = sub.add_parser("wait", help="AsyncResult(id).get(propagate=False), then like read")
    x.add_argument("id")
    x.add_argument("--timeout", type=float, default=30.0)
    x.set_defaults(fn=cmd_wait)

    r = sub.add_parser("read", help="what AsyncResult(id) exposes, plus the raw value")
    r.add_argument("id")
    r.set_defaults(fn=cmd_read)

    v = sub.add_parser("revoke", help="app.control.revoke(id, reply=True)")
    v.add_argument("id")
    v.add_argument("--terminate", action="store_true")
    v.add_argument("--signal", default="SIGTERM")
    v.add_argument("--timeout", type=float, default=2.0, help="seconds to wait for replies")
    v.set_defaults(fn=cmd_revoke)

    f = sub.add_parser("forget", help="AsyncResult(id).forget()")
    f.add_argument("id")
    f.set_defaults(fn=cmd_forget)

    e = sub.add_parser("encode-meta", help="payload backend.store_result would write (no I/O)")
    e.add_argument("spec_json")
    e.set_defaults(fn=cmd_encode_meta)

    t = sub.add_parser("store", help="backend.store_result(...) into Redis, then GET it")
    t.add_argument("spec_json")
    t.set_defaults(fn=cmd_store)

    g = sub.add_parser("save-group", help="GroupResult(gid, [AsyncResult(id)...]).save()")
    g.add_argument("group_id")
    g.add_argument("child_ids_json")
    g.set_defaults(fn=cmd_save_group)

    h = sub.add_parser("restore-group", help="GroupResult.restore(gid)")
    h.add_argument("group_id")
    h.set_defaults(fn=cmd_restore_group)

    k = sub.add_parser("keys", help="task, group and chord key names as the backend builds them")
    k.add_argument("task_id")
    k.add_argument("group_id")
    k.set_defaults(fn=cmd_keys)

    z = sub.add_parser("set-chord-size", help="backend.set_chord_size(group_id, size)")
    z.add_argument("group_id")
    z.add_argument("size", type=int)
    z.set_defaults(fn=cmd_set_chord_size)

    c = sub.add_parser("chord-part", help="store SUCCESS, then backend.on_chord_part_return")
    c.add_argument("task_id")
    c.add_argument("group_id")
    c.add_argument("group_index", type=int)
    c.add_argument("result_json")
    c.add_argument("body_json", help="the chord body signature (dict)")
    c.set_defaults(fn=cmd_chord_part)

    u = sub.add_parser("parse-url", help="backend class, connparams and as_uri() for a URL")
    u.add_argument("url")
    u.set_defaults(fn=cmd_parse_url)

    n = sub.add_parser("versions", help="celery/kombu/redis/python versions")
    n.set_defaults(fn=cmd_versions)
    return p


def main(argv=None):
    a = parser().parse_args(argv)
    try:
        out = a.fn(a)
    except Exception as exc:  # report, never print a partial JSON document
        sys.stderr.write(traceback_mod.format_exc())
        sys.stderr.write("harness %s: %s: %s\n" % (a.command, type(exc).__name__, exc))
        sys.stderr.flush()
        return 1
    if out is not None:
        emit(out)
    sys.stderr.flush()
    # Skip interpreter teardown: AsyncResult.__del__ would otherwise try to UNSUBSCRIBE while
    # modules are being torn down (noise on stderr with Celery 5.6).
    os._exit(0)


if __name__ == "__main__":
    sys.exit(main())
