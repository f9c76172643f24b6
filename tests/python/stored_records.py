"""Reports what real Celery makes of records stored by the TypeScript tests (read-only).

Usage: stored_records.py <result-backend-url> <task-ids-json>

For each task id prints, as one JSON object keyed by id, what ``AsyncResult(id).get()`` and
``AsyncResult(id).date_done`` give:
``{"get": {"raised": <class>, "module": <module>, "message": str(exc)} | {"value": repr(value)},
"date_done": {"raised": ..., "message": ...} | {"ms": <epoch milliseconds, naive read as UTC>}}``.
"""

import datetime
import json
import sys

from celery import Celery
from celery.result import AsyncResult


def outcome(read):
    try:
        return {"value": read()}
    except Exception as exc:  # noqa: BLE001 - any refusal is the answer
        return {"raised": type(exc).__qualname__, "module": type(exc).__module__, "message": str(exc)}


def epoch_ms(value):
    if not isinstance(value, datetime.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.timezone.utc)
    return round(value.timestamp() * 1000)


def main():
    url, ids = sys.argv[1], json.loads(sys.argv[2])
    app = Celery("stored_records", broker="memory://", backend=url)
    app.conf.update(result_serializer="json", accept_content=["json"])
    report = {}
    for task_id in ids:
        got = outcome(lambda: repr(AsyncResult(task_id, app=app).get(timeout=10)))
        done = outcome(lambda: epoch_ms(AsyncResult(task_id, app=app).date_done))
        if "value" in done:
            done = {"ms": done["value"]}
        report[task_id] = {"get": got, "date_done": done}
    print(json.dumps(report))


if __name__ == "__main__":
    main()
