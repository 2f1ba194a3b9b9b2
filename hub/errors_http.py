"""Every error under ``/api``, ``/extensions`` and ``/healthz`` is JSON ``{"detail", "errors"}``."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from hub.api import ApiAbort
from hub.extensions import db
from hub.webhooks import public_endpoint

logger = logging.getLogger("hub.errors")
JSON_PREFIXES = ("/api/", "/extensions/", "/healthz")


def _wants_json() -> bool:
    return request.path.startswith(JSON_PREFIXES) or request.accept_mimetypes.best == "application/json"


def init_app(app: Flask) -> None:
    @app.errorhandler(ApiAbort)
    def _api_abort(e: ApiAbort) -> Any:
        db.session.rollback()
        return jsonify({"detail": e.detail, "errors": e.errors}), e.status

    @app.errorhandler(HTTPException)
    def _http(e: HTTPException) -> Any:
        if not _wants_json():
            return e
        db.session.rollback()
        detail = {413: "Request body too large.", 404: "The requested resource does not exist.",
                  405: "Method not allowed."}.get(e.code or 500, e.description or e.name)
        return jsonify({"detail": detail, "errors": {}}), e.code

    @app.errorhandler(Exception)
    def _unexpected(e: Exception) -> Any:
        db.session.rollback()
        error_id = uuid.uuid4().hex[:12]
        # A webhook path may carry a per-integration token: logged as the delivery log shows it.
        logger.exception("request.unhandled-error",
                         extra={"error_id": error_id, "path": public_endpoint(request.path)})
        return jsonify({"detail": f"Internal error ({error_id}).", "errors": {}}), 500
