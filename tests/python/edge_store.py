"""Stores task results with real Python Celery's Redis backend, for the edge (workerd) tests.

Usage: edge_store.py <result-backend-url> <steps-json>

<steps-json> is a list of [task_id, state, result, delay_seconds]: after each delay the result is
stored with ``app.backend.store_result(...)`` under ``result_extended``, with a request carrying a
task name, arguments, a hostname and a routing key, exactly as a worker would. Prints one line per
stored step (``stored <task_id> <state>``) so the caller can follow along.
"""

import json
import sys
import time

from celery import Celery
from celery.app.task import Context


def main():
    url, steps = sys.argv[1], json.loads(sys.argv[2])
    app = Celery("edge_store", broker="memory://", backend=url)
    app.conf.update(result_extended=True, result_serializer="json", accept_content=["json"])
    backend = app.backend
    for task_id, state, result, delay in steps:
        time.sleep(delay)
        request = Context(
            id=task_id,
            task="proj.edge_add",
            args=[1, 2],
            kwargs={"via": "edge"},
            hostname="celery@edge-py",
            retries=0,
            delivery_info={"routing_key": "edge"},
        )
        backend.store_result(task_id, result, state, request=request)
        print("stored", task_id, state, flush=True)


if __name__ == "__main__":
    main()
