"""The pages act through the REST API's own views, so a form and an API call are validated alike.

A form post becomes the JSON body of the matching API view, run in a nested request context as the
logged-in user (the CSRF token and the session were checked by the page's own request). Its
``{"detail", "errors"}`` come back for the page to show next to the fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hub.api.core import ApiAbort
from hub.auth import current_user
from hub.extensions import current_app_object, db


@dataclass
class Result:
    status: int
    data: Any = None
    detail: str = ""
    errors: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status < 400


def call(view: Any, method: str, body: Any = None, **kwargs: Any) -> Result:
    """Run an API view function (e.g. ``hub.api.rules.create_rule``) with ``body`` as its JSON."""
    app = current_app_object()
    user = current_user()
    options: dict[str, Any] = {"method": method, "environ_base": {"hub.user": user}}
    if body is not None:
        options["json"] = body
    with app.test_request_context("/api/0/", **options):
        try:
            rv = view(**kwargs)
        except ApiAbort as e:
            db.session.rollback()
            return Result(e.status, detail=e.detail, errors=e.errors)
        response = app.make_response(rv)
    data = response.get_json(silent=True) if response.data else None
    return Result(response.status_code, data=data)
