"""The core's identity-link page (hub.identity), through a chat plugin that only names its words and
builds its signed links: the link's signature and age, the login, the org, the form's CSRF token and
origin, re-linking, unlinking, and what the plugin is told."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
from itsdangerous import TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import func, select

from hub import Route, WebhookResponse, hookimpl, identity, services
from hub import models as m
from hub.errors import ApiError
from hub.extensions import db
from hub.routes import public
from hub.types import IdentityPage

TOLD: list[tuple[str, bool, dict[str, Any], str]] = []


def _tell(integration: Any, linked: bool, extra: Any, text: str) -> None:
    if extra.get("fail"):
        raise ApiError("the chat could not be told")
    TOLD.append((integration.id, linked, dict(extra), text))


PAGE = IdentityPage(provider="chat", name="Chat", identity="Chat identity", team="Chat team",
                    lets_you="act on issues from Chat", new_link="Type /link in Chat", unlink=True,
                    max_age=600, tell=_tell)


class ChatPlugin:
    """A chat plugin as small as one can be: its words, the core's page, nothing else."""

    @hookimpl
    def provider_info(self) -> dict[str, Any]:
        return {"key": "chat", "name": "Chat", "features": ["chat-actions"]}

    @hookimpl
    def webhook_routes(self) -> list[Route]:
        ping = Route("ping/", ("GET",), verify=public, handle=lambda request, _: WebhookResponse(json={}))
        return [ping, *identity.routes(PAGE)]


@pytest.fixture
def chat(factories: Any, register_plugin: Any) -> dict[str, Any]:
    TOLD.clear()
    register_plugin(ChatPlugin(), "chat")
    s = factories.setup()
    s["dev"] = factories.member(s["org"], "dev@example.com", projects=[s["project"]])
    s["integration"] = factories.integration(s["org"], "chat", "T-1", name="Chat Team")
    s["snapshot"] = services.get_integration_by_id(str(s["integration"].id))
    s["headers"] = {"Authorization": f"Bearer {s['token']}"}
    return s


def _path(chat: dict[str, Any], kind: str = identity.LINK, user: str = "C-42", **extra: Any) -> str:
    extra = extra or {"where": "#ops"}
    url = identity.link_url(chat["snapshot"], user, name="Chatty", kind=kind, extra=extra)
    assert url.startswith(f"http://hub.test/extensions/chat/{kind}/")
    return url.removeprefix("http://hub.test")


def _login(client: Any, user: Any) -> None:
    """Log ``user`` in by session."""
    with client.session_transaction() as session:
        session.clear()
        session["user_id"] = int(user.id)


def _csrf(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


def _linked(chat: dict[str, Any], user: str = "C-42") -> Any:
    db.session.expire_all()
    found = services.get_identity(str(chat["integration"].id), user)
    return found.email if found else None


def _identities() -> int:
    db.session.expire_all()
    return int(db.session.scalar(select(func.count()).select_from(m.Identity)) or 0)


def _aged(path: str, kind: str, seconds: int) -> str:
    """The same link, signed ``seconds`` ago."""
    token = path.rstrip("/").rsplit("/", 1)[1]
    serializer = URLSafeTimedSerializer(services.config("HUB_SECRET_KEY"), salt=f"chat-{kind}")
    payload = serializer.loads(token)

    class Past(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(time.time()) - seconds

    old = URLSafeTimedSerializer(services.config("HUB_SECRET_KEY"), salt=f"chat-{kind}", signer=Past)
    return path.replace(token, old.dumps(payload))


def test_the_page_speaks_the_plugins_words_and_a_confirmed_post_links(client, chat):
    path = _path(chat)
    r = client.get(path)
    assert r.status_code == 401
    assert f'href="/login?next=%2Fextensions%2Fchat%2Flink-identity%2F{path.split("/")[4]}%2F"' in r.text

    _login(client, chat["owner"])
    r = client.get(path)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/html")
    assert "<h1>Link your Chat identity</h1>" in r.text
    assert "Link the Chat account Chatty of Chat Team to your account owner@example.com?" in r.text
    assert "Once linked, you can act on issues from Chat as owner@example.com." in r.text
    assert _linked(chat) is None and TOLD == []  # a GET changes nothing

    r = client.post(path, data={"csrf_token": _csrf(r.text)}, headers={"Origin": "http://hub.test"})
    assert r.status_code == 200
    assert "Your Chat identity is now linked to owner@example.com." in r.text
    assert "You can go back to Chat." in r.text
    assert _linked(chat) == "owner@example.com"
    assert TOLD == [(chat["snapshot"].id, True, {"where": "#ops"},
                     "Your Chat identity is now linked to owner@example.com.")]


def test_an_api_client_gets_json(client, chat):
    path = _path(chat)
    r = client.get(path, headers=chat["headers"])
    assert r.status_code == 200
    assert r.json == {
        "detail": "Link the Chat account Chatty of Chat Team to your account owner@example.com?",
        "identity": {"externalId": "C-42", "name": "Chatty"},
        "user": {"id": str(chat["owner"].id), "email": "owner@example.com"},
    }
    r = client.post(path, headers=chat["headers"])
    assert r.status_code == 200
    assert r.json["linked"] is True
    assert r.json["detail"] == "Your Chat identity is now linked to owner@example.com."
    assert client.post(path, headers={"Accept": "application/json"}).json == {
        "detail": "Authentication required: log in or send an API token.", "errors": {}}


def test_a_link_of_an_org_the_user_is_not_in_is_refused(client, chat, factories):
    other = factories.setup(org_slug="globex", email="eve@globex.test")
    path = _path(chat)
    for method in (client.get, client.post):
        r = method(path, headers={"Authorization": f"Bearer {other['token']}"})
        assert r.status_code == 403
        assert r.json["detail"] == "Your account is not a member of an organization that uses this Chat team."
    assert _linked(chat) is None and _identities() == 0 and TOLD == []


def test_an_org_that_disabled_the_integration_no_longer_counts(client, chat):
    oi = db.session.scalar(select(m.OrganizationIntegration))
    oi.status = "disabled"
    db.session.commit()
    assert client.post(_path(chat), headers=chat["headers"]).status_code == 403
    assert _identities() == 0


def test_a_disconnected_integration_is_404(client, chat):
    path = _path(chat)
    chat["integration"].status = "disabled"
    db.session.commit()
    r = client.post(path, headers=chat["headers"])
    assert r.status_code == 404
    assert r.json["detail"] == "This Chat team is no longer connected to Integration Hub."
    assert _identities() == 0


def test_tampered_expired_and_misdirected_links_are_400(client, chat):
    path = _path(chat)
    token = path.split("/")[4]
    tampered = path.replace(token, token[:-2] + ("AA" if token[-2:] != "AA" else "BB"))
    expired = _aged(path, identity.LINK, 601)
    unlink_token = _path(chat, identity.UNLINK).split("/")[4]
    for bad, detail in ((tampered, "This link is not valid."), (expired, "This link has expired."),
                        (path.replace(token, unlink_token), "This link is not valid."),  # the other page's
                        ("/extensions/chat/link-identity/not-a-token/", "This link is not valid.")):
        r = client.post(bad, headers=chat["headers"])
        assert (r.status_code, r.json["detail"]) == (400, detail), bad
        r = client.get(bad)
        assert r.status_code == 400 and "Type /link in Chat for a new one." in r.text
    assert client.post(_aged(path, identity.LINK, 590), headers=chat["headers"]).status_code == 200
    assert _identities() == 1


def test_a_link_for_another_chat_is_not_valid_here(client, chat, factories):
    tracker = factories.integration(chat["org"], "tracker", "site-9")
    url = identity.link_url(services.get_integration_by_id(str(tracker.id)), "C-42", name="Chatty")
    assert url.startswith("http://hub.test/extensions/tracker/link-identity/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    r = client.post(f"/extensions/chat/link-identity/{token}/", headers=chat["headers"])
    assert r.status_code == 400 and _identities() == 0


def test_a_stale_form_links_nothing(client, chat, factories):
    # the link expires while the form is open
    path = _aged(_path(chat), identity.LINK, 598)
    _login(client, chat["owner"])
    page = client.get(path)
    assert page.status_code == 200
    time.sleep(3)
    r = client.post(path, data={"csrf_token": _csrf(page.text)})
    assert r.status_code == 400 and "This link has expired." in r.text
    assert _identities() == 0
    # a form shown to one login, posted after another logged in: its CSRF token is not this session's
    path = _path(chat)
    token = _csrf(client.get(path).text)
    _login(client, chat["dev"])
    assert client.post(path, data={"csrf_token": token}).status_code == 400
    assert _identities() == 0


def test_a_cross_site_post_is_refused(client, chat):
    path = _path(chat)
    _login(client, chat["owner"])
    token = _csrf(client.get(path).text)
    assert client.post(path, headers={"Origin": "https://evil.example"}).status_code == 400  # no token
    r = client.post(path, data={"csrf_token": token}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403
    assert "Confirm on the link page itself: open the link from Chat again." in r.text
    r = client.post(path, data={"csrf_token": token}, headers={"Referer": "https://evil.example/page"})
    assert r.status_code == 403
    assert _identities() == 0 and TOLD == []


def test_a_second_link_of_the_same_chat_user_relinks_it(client, chat, factories):
    path = _path(chat)
    assert client.post(path, headers=chat["headers"]).status_code == 200
    assert client.post(path, headers=chat["headers"]).status_code == 200  # the same link again: no second row
    assert (_linked(chat), _identities()) == ("owner@example.com", 1)
    dev = {"Authorization": f"Bearer {factories.token(chat['dev'])}"}
    r = client.post(_path(chat), headers=dev)
    assert r.status_code == 200 and r.json["user"]["email"] == "dev@example.com"
    assert (_linked(chat), _identities()) == ("dev@example.com", 1)
    assert client.post(_path(chat, user="C-43"), headers=dev).status_code == 200  # another chat user: its own
    assert (_linked(chat, "C-43"), _identities()) == ("dev@example.com", 2)


def test_unlink_page(client, chat):
    client.post(_path(chat), headers=chat["headers"])
    TOLD.clear()
    path = _path(chat, identity.UNLINK)
    r = client.get(path, headers=chat["headers"])
    assert r.status_code == 200
    assert r.json["detail"] == "Unlink the Chat account Chatty of Chat Team from Integration Hub?"
    assert _linked(chat) == "owner@example.com"
    r = client.post(path, headers=chat["headers"])
    assert r.status_code == 200 and r.json["unlinked"] is True
    assert _linked(chat) is None and _identities() == 0
    assert TOLD == [(chat["snapshot"].id, False, {"where": "#ops"},
                     "Your Chat identity has been unlinked from Integration Hub.")]
    assert client.post(_path(chat, identity.LINK).replace("/link-identity/", "/unlink-identity/"),
                       headers=chat["headers"]).status_code == 400  # a link's token cannot unlink


def test_a_chat_that_cannot_be_told_still_links(client, chat):
    r = client.post(_path(chat, fail=True), headers=chat["headers"])
    assert r.status_code == 200 and r.json["linked"] is True
    assert _linked(chat) == "owner@example.com" and TOLD == []


def test_only_get_and_post(client, chat):
    path = _path(chat)
    r = client.delete(path, headers=chat["headers"])
    assert r.status_code == 405 and r.headers["Allow"] == "GET, HEAD, POST"
