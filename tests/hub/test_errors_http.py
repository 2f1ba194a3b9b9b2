"""Errors are mapped once (hub.errors_http.HUB_ERRORS): whatever view raises a HubError, the answer is its
status with ``{"detail", "errors"}`` (an HTML page outside the API), and nothing it wrote is committed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hub import errors
from hub import models as m
from hub.extensions import db

CASES = {
    "validation": (errors.ValidationError("Bad slug.", {"slug": ["Too long."]}), 400, "Bad slug.",
                   {"slug": ["Too long."]}),
    "conflict": (errors.Conflict("Already a member.", {"email": ["Taken."]}), 409, "Already a member.",
                 {"email": ["Taken."]}),
    "forbidden": (errors.Forbidden("Only an owner can add an owner."), 403,
                  "Only an owner can add an owner.", {}),
    "not-found": (errors.NotFound("This invite request no longer exists."), 404,
                  "This invite request no longer exists.", {}),
    "plugin": (errors.PluginError("Missing required fields.", {"queue": ["Required."]}), 400,
               "Missing required fields.", {"queue": ["Required."]}),
    "install": (errors.InstallError("The token was refused."), 400, "The token was refused.", {}),
    "provider": (errors.ApiUnauthorized("Tracker refused the credentials (401)", code=401,
                                        provider_message="internal: token abc expired"), 400,
                 "Tracker refused the credentials (401)", {}),
}


@pytest.fixture
def raising_app(app):
    def half_done_then_raise(kind: str):
        db.session.add(m.Organization(slug=f"half-{kind}", name="Half done"))
        db.session.flush()
        raise CASES[kind][0]

    app.add_url_rule("/api/0/raise/<kind>/", "raise_api", half_done_then_raise)
    app.add_url_rule("/raise/<kind>/", "raise_page", half_done_then_raise)
    return app


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_hub_error_answers_its_status_and_words_and_writes_nothing(raising_app, kind):
    _, status, detail, field_errors = CASES[kind]
    r = raising_app.test_client().get(f"/api/0/raise/{kind}/")
    assert r.status_code == status
    assert r.json == {"detail": detail, "errors": field_errors}
    assert "internal" not in r.get_data(as_text=True)  # a provider's own words never reach the caller
    db.session.expire_all()
    assert db.session.scalar(select(m.Organization).where(m.Organization.slug == f"half-{kind}")) is None


def test_a_page_gets_the_same_status_as_html(raising_app):
    r = raising_app.test_client().get("/raise/forbidden/")
    assert r.status_code == 403 and r.mimetype == "text/html"
    assert "Only an owner can add an owner." in r.get_data(as_text=True)


def test_a_view_lets_the_error_rise(client, factories):
    """A member added twice: members.py raises Conflict, the view does not catch it, the answer is 409."""
    s = factories.setup()
    body = {"email": "dev@example.com", "role": "member", "projects": ["backend"]}
    first = client.post("/api/0/organizations/acme/members/", json=body, headers=s["headers"])
    assert first.status_code == 201
    again = client.post("/api/0/organizations/acme/members/", json=body, headers=s["headers"])
    assert again.status_code == 409
    assert again.json == {"detail": "That user is already a member of this organization.",
                          "errors": {"email": ["Already a member."]}}


def test_a_wrong_method_on_the_api_names_the_allowed_ones(client, env):
    """RFC 9110: a 405 carries ``Allow``; the JSON answer kept the words and lost the header."""
    r = client.get("/api/0/organizations/acme/deliveries/1/replay/", headers=env["headers"])
    assert r.status_code == 405 and r.json == {"detail": "Method not allowed.", "errors": {}}
    assert set(r.headers["Allow"].split(", ")) == {"POST", "OPTIONS"}
    r = client.delete("/api/0/organizations/acme/issues/1/tags/", headers=env["headers"])
    assert r.status_code == 405 and set(r.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
