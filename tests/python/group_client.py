"""Group operations for the interop tests, in one Python process each (sending 100 tasks through
the harness one process at a time would take most of a minute).

    group_client.py send N          send group(add(i, i) for i < N), save it; print ids
    group_client.py join GROUP_ID   GroupResult.restore(id).join(timeout=30); print the values

Configuration comes from the environment, as for celery_app.py.
"""

import json
import sys

from celery import group
from celery.result import GroupResult

from celery_app import add, app


def main(argv):
    if len(argv) == 3 and argv[1] == "send":
        result = group(add.s(i, i) for i in range(int(argv[2]))).apply_async()
        result.save()
        print(json.dumps({"group_id": result.id, "ids": [r.id for r in result.results]}))
    elif len(argv) == 3 and argv[1] == "join":
        restored = GroupResult.restore(argv[2], app=app)
        if restored is None:
            raise SystemExit("no group %s" % argv[2])
        values = restored.join(timeout=30, propagate=False)
        print(json.dumps({"ids": [r.id for r in restored.results], "values": [repr(v) for v in values]}))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
