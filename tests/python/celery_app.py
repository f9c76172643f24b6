"""The Celery app that the interop tests run under real Python Celery (5.2.6 and 5.6.3).

Configuration comes from the environment so the TypeScript tests can point it at a throwaway
redis-server:

- ``BROKER_URL``        broker URL (required), e.g. ``redis://127.0.0.1:6390/0``
- ``RESULT_BACKEND``    result backend URL (required), e.g. ``redis://127.0.0.1:6390/1``
- ``RESULT_SERIALIZER`` ``json`` (default) or ``msgpack`` (anything kombu knows is passed through)
- ``RESULT_EXPIRES``    seconds (int/float) for ``result_expires``; ``none`` for no TTL (optional)
- ``CELERY_TIMEZONE``   ``timezone`` setting (optional; affects ``date_done`` on Celery >= 5.5)
- ``GLOBAL_KEYPREFIX``  ``result_backend_transport_options['global_keyprefix']`` (optional)

Task names are explicit (``celery_app.<function>``) so they do not depend on how this module was
imported. Imports cleanly on Celery 5.2.6 (Debian, Python 3.11.2) and 5.6.3 (venv, Python 3.11.7).
"""

import datetime
import decimal
import os
import time
import uuid

from celery import Celery


def _env(name, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


BROKER_URL = _env("BROKER_URL")
RESULT_BACKEND = _env("RESULT_BACKEND")
if not BROKER_URL or not RESULT_BACKEND:
    raise RuntimeError("celery_app: BROKER_URL and RESULT_BACKEND must be set in the environment")

RESULT_SERIALIZER = _env("RESULT_SERIALIZER", "json")

app = Celery("celery_app", broker=BROKER_URL, backend=RESULT_BACKEND)

# Task messages stay JSON; results use RESULT_SERIALIZER. Both content types are accepted for
# task messages; results accept exactly what this app writes (plus json, the default).
_accept = ["json"] if RESULT_SERIALIZER == "json" else ["json", RESULT_SERIALIZER]

app.conf.update(
    result_extended=True,
    task_track_started=True,
    task_serializer="json",
    result_serializer=RESULT_SERIALIZER,
    accept_content=_accept,
    result_accept_content=_accept,
    # Keep the default prefetch (4): with 1, Celery 5.2.6/kombu 5.2.4 picks up the next message
    # (and retry ETAs) only seconds later.
    worker_prefetch_multiplier=4,
    # Celery >= 5.3 warns without it; Celery 5.2 ignores the unknown setting.
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)

_expires = _env("RESULT_EXPIRES")
if _expires is not None:
    if _expires.lower() == "none":
        app.conf.result_expires = None
    else:
        app.conf.result_expires = float(_expires) if "." in _expires else int(_expires)

_timezone = _env("CELERY_TIMEZONE")
if _timezone is not None:
    app.conf.timezone = _timezone

_global_keyprefix = _env("GLOBAL_KEYPREFIX")
if _global_keyprefix is not None:
    app.conf.result_backend_transport_options = {"global_keyprefix": _global_keyprefix}


class MyErr(Exception):
    """A user exception class (``exc_module`` is ``celery_app``), raised with two args."""


@app.task(name="celery_app.add")
def add(x, y):
    return x + y


@app.task(name="celery_app.boom")
def boom(msg):
    raise ValueError(msg)


@app.task(name="celery_app.custom_err")
def custom_err():
    raise MyErr("custom", 42)


@app.task(name="celery_app.flaky", bind=True, max_retries=1, default_retry_delay=0.1)
def flaky(self):
    # RETRY (with KeyError('again') as the stored exception) on the first run, SUCCESS after.
    if self.request.retries < 1:
        raise self.retry(exc=KeyError("again"), countdown=0.1)
    return "ok after retry"


@app.task(name="celery_app.progress", bind=True)
def progress(self, steps=3, delay=0.2):
    # Each step stores PROGRESS {"done": i, "total": steps} (i = 1..steps), then sleeps `delay`.
    for i in range(1, steps + 1):
        self.update_state(state="PROGRESS", meta={"done": i, "total": steps})
        time.sleep(delay)
    return "finished"


@app.task(name="celery_app.rich")
def rich():
    return {
        "dt": datetime.datetime(2024, 5, 6, 7, 8, 9, 123456, tzinfo=datetime.timezone.utc),
        "d": datetime.date(2024, 5, 6),
        "dec": decimal.Decimal("1.50"),
        "u": uuid.UUID("12345678-1234-5678-1234-567812345678"),
        "uni": "h\u00e9llo \u00e9\U0001F600",
        "big": 2**70,
        "f": 2.5,
        "whole": 3.0,
        "nested": [1, [2, [None, True, False]], {"k": [None]}, "\u00fcn\u00ef"],
    }


@app.task(name="celery_app.sleepy")
def sleepy(seconds=1.0):
    time.sleep(seconds)
    return seconds


@app.task(name="celery_app.echo")
def echo(value):
    return value
