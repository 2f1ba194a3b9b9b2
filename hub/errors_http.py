"""Every error under ``/api``, ``/extensions`` and ``/healthz`` is JSON ``{"detail", "errors"}``.

Each :class:`hub.errors.HubError` class has one handler here (:data:`HUB_ERRORS`): a view lets the error
rise and the answer says its words with its status; the session is rolled back, so nothing half-done is
committed. Web pages get the same status as an HTML page.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from hub.api import ApiAbort
from hub.dispatch import public_endpoint
from hub.errors import (
    ApiError,
    Conflict,
    Forbidden,
    HubError,
    InstallError,
    NotFound,
    PluginError,
    ValidationError,
)
from hub.extensions import db

logger = logging.getLogger("hub.errors")
JSON_PREFIXES = ("/api/", "/extensions/", "/healthz")
#: A refused body up to this size is read to its end before the answer goes out (past it, the server
#: closes the connection). Above the largest limit a route has (an SDK envelope's 20 MiB).
DRAIN_MAX = 32 * 1024 * 1024


def _drain_refused_body(response: Any) -> Any:
    """Read what is left of a refused request's body (a 413 on its length, a 401 before parsing)
    before answering, so that the client can keep using the connection. gunicorn reads at most
    64 KiB of a body the app left unread and then closes the connection without a
    ``Connection: close``, which it does not let an app send: a provider's next webhook on that
    pooled connection would fail."""
    if response.status_code < 400:
        return response
    length = request.content_length
    try:
        if length is None and request.environ.get("wsgi.input_terminated"):  # chunked: the server ends it
            raw, left = request.environ["wsgi.input"], DRAIN_MAX
            while left > 0 and (chunk := raw.read(min(left, 64 * 1024))):
                left -= len(chunk)
        elif length and length <= DRAIN_MAX:
            if "stream" not in request.__dict__:  # not opened yet: open it past the app's hard stop
                request.max_content_length = DRAIN_MAX
            while request.stream.read(64 * 1024):
                pass
    except (OSError, ValueError, HTTPException):  # the client went away, or the stream is spent
        pass
    return response


def _wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == "application/json"


PAGES = {
    400: ("Bad request", "The hub could not understand that request."),
    403: ("Not allowed", "Your role in this organization does not allow that. Owners and admins can."),
    404: ("Not found", "There is nothing here, or it is not in an organization you belong to."),
    405: ("Method not allowed", "That address does not take this kind of request."),
    413: ("Too large", "The request was too large."),
}


def _page(status: int, heading: str, message: str) -> Any:
    from flask import make_response, render_template

    return make_response(render_template("error.html", code=status, heading=heading, message=message,
                                         title=heading), status)


Answer = tuple[int, str, dict[str, Any]]

#: status, detail and field errors of each HubError class a request may raise. A provider's error says the
#: hub's words only (``message``), never the provider's (kept for admins on the integration's ``error``).
HUB_ERRORS: dict[type[HubError], Callable[[Any], Answer]] = {
    ValidationError: lambda e: (e.status_code, e.detail, e.errors),
    Conflict: lambda e: (e.status_code, e.detail, e.errors),
    Forbidden: lambda e: (e.status_code, e.detail, e.errors),
    NotFound: lambda e: (404, str(e) or "The requested resource does not exist.", {}),
    PluginError: lambda e: (400, e.message, e.errors),
    InstallError: lambda e: (400, e.message, e.errors),
    ApiError: lambda e: (400, e.message, {}),
}


def _hub_error_handler(answer: Callable[[Any], Answer]) -> Callable[[HubError], Any]:
    def handle(e: HubError) -> Any:
        db.session.rollback()
        status, detail, errors = answer(e)
        if not _wants_json():
            return _page(status, PAGES.get(status, ("Error", ""))[0], detail)
        return jsonify({"detail": detail, "errors": errors}), status

    return handle


def init_app(app: Flask) -> None:
    for error_class, answer in HUB_ERRORS.items():
        app.register_error_handler(error_class, _hub_error_handler(answer))
    app.after_request(_drain_refused_body)

    @app.errorhandler(ApiAbort)
    def _api_abort(e: ApiAbort) -> Any:
        db.session.rollback()
        return jsonify({"detail": e.detail, "errors": e.errors}), e.status

    @app.errorhandler(CSRFError)
    def _csrf(e: CSRFError) -> Any:
        db.session.rollback()
        return _page(400, "Form expired", "This form has expired or did not come from this hub's page: "
                     "go back, reload the page and try again.")

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Any:
        if not _wants_json():
            db.session.rollback()
            heading, message = PAGES.get(e.code or 500, (e.name, e.description or ""))
            if e.description and e.description != type(e).description:  # a view's own words (abort(400, ...))
                message = e.description
            response = _page(e.code or 500, heading, message)
            for name in ("Retry-After", "Allow"):
                if e.get_response().headers.get(name):
                    response.headers[name] = e.get_response().headers[name]
            return response
        db.session.rollback()
        detail = {413: "Request body too large.", 404: "The requested resource does not exist.",
                  405: "Method not allowed."}.get(e.code or 500, e.description or e.name)
        kept = {name: value for name in ("Retry-After", "Allow")  # a 405's Allow, as the page keeps it
                if (value := e.get_response().headers.get(name))}
        return jsonify({"detail": detail, "errors": {}}), e.code, kept

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Any:
        db.session.rollback()
        error_id = uuid.uuid4().hex[:12]
        # A webhook path may carry a per-integration token: logged as the delivery log shows it.
        logger.exception("request.unhandled-error",
                         extra={"error_id": error_id, "path": public_endpoint(request.path)})
        if not _wants_json():
            return _page(500, "Something went wrong",
                         f"The hub hit an internal error (reference {error_id}). "
                         "Try again; if it keeps happening, tell your administrator that reference.")
        return jsonify({"detail": f"Internal error ({error_id}).", "errors": {}}), 500
