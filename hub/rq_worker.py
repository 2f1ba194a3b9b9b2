"""``rq worker --worker-class hub.rq_worker.HubWorker --serializer rq.serializers.JSONSerializer ...``.

RQ's own command with the hub's worker class: the app is built from the ``HUB_*`` environment (and
``.env``), as gunicorn's and ``hub worker``'s, so the jobs, the outbox relay and the other periodic work
run exactly as under ``hub worker``.
"""

from __future__ import annotations

from typing import Any

from hub.app import create_app
from hub.worker import AppWorker


class HubWorker(AppWorker):
    """:class:`hub.worker.AppWorker` on an app of its own (``create_app()``) unless one is given."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        if kwargs.get("app") is None:
            kwargs["app"] = create_app()
        super().__init__(*args, **kwargs)
