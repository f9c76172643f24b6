"""Stores a real FAILURE with Python Celery's Redis backend, for the edge (workerd) tests.

Usage: edge_store_failure.py <result-backend-url> <task_id>

Raises a ValueError in a function, catches it as a worker does and stores it with
``backend.mark_as_failure(...)`` and the real traceback text, which names this file's path.
Prints the traceback so the caller can check that it is not sent to public clients.
"""

import sys
import traceback

from celery import Celery
from celery.app.task import Context


def failing_task():
    raise ValueError("bad input", 42)


def main():
    url, task_id = sys.argv[1], sys.argv[2]
    app = Celery("edge_store_failure", broker="memory://", backend=url)
    app.conf.update(result_serializer="json", accept_content=["json"])
    try:
        failing_task()
    except ValueError as exc:
        tb = traceback.format_exc()
        request = Context(id=task_id, task="proj.fail", args=[], kwargs={}, hostname="celery@py")
        app.backend.mark_as_failure(task_id, exc, tb, request=request)
        print(tb, flush=True)


if __name__ == "__main__":
    main()
