"""The web UI in a real browser: Playwright driving Debian's Chromium against a live hub.

The hub runs in werkzeug's server in a thread on a free loopback port; Slack's Web API and the Jira
site are a stand-in HTTP server on loopback too. Screenshots of the main pages go to
``$HUB_SCREENSHOTS_DIR`` (``HUB_SCREENSHOTS_DIR=docs/screenshots`` refreshes the README's pictures).
"""

from __future__ import annotations

import json
import os
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from hub import models as m
from hub.extensions import db

CHROMIUM = "/usr/bin/chromium"
# Written where HUB_SCREENSHOTS_DIR says (docs/screenshots to refresh the README's pictures), else a
# temporary folder: a test run never rewrites the checkout.
SHOTS = Path(os.environ.get("HUB_SCREENSHOTS_DIR") or tempfile.mkdtemp(prefix="hub-screenshots-"))


class StandIn(BaseHTTPRequestHandler):
    """Slack's auth.test and Jira's project and issue-type lists, as the providers answer them."""

    answers = {
        "/slack/api/auth.test": {"ok": True, "team_id": "T0001", "team": "Acme Slack", "user_id": "UBOT"},
        "/rest/api/3/project": [{"id": "10000", "key": "APP", "name": "Application"}],
        "/rest/api/3/issuetype": [{"id": "10001", "name": "Bug", "subtask": False}],
        "/rest/api/3/project/10000/statuses": [
            {
                "id": "10001",
                "name": "Bug",
                "statuses": [
                    {"id": "3", "name": "To Do", "statusCategory": {"key": "new"}},
                    {"id": "10001", "name": "Done", "statusCategory": {"key": "done"}},
                ],
            }
        ],
    }

    def _answer(self) -> None:
        body = json.dumps(self.answers.get(self.path.split("?")[0], {"ok": False})).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def stand_in():
    server = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def live(make_app, stand_in):
    """A live hub with an org, an owner, a member and an issue with a stack trace."""
    server = make_server("127.0.0.1", 0, None, threaded=True)  # type: ignore[arg-type]
    base = f"http://127.0.0.1:{server.server_port}"
    app = make_app(HUB_BASE_URL=base, HUB_SLACK_API_URL=f"{stand_in}/slack/api", HUB_ASYNC=False)
    server.app = app
    with app.app_context():
        from hub.members import add_member, create_project
        from hub.testing import Factories

        f = Factories(app)
        org = f.org("acme", "Acme")
        project = create_project(org, "backend", "Backend")
        owner = add_member(org, "dana@example.com", role="owner", projects=[project], name="Dana").user
        member = add_member(org, "dev@example.com", role="member", projects=[project], name="Dev").user
        owner.password_hash = member.password_hash = generate_password_hash("pw")
        group = f.group(project, "ZeroDivisionError: division by zero", culprit="app.views in checkout")
        f.group(project, "KeyError: 'user'", culprit="app.auth in login")
        event = db.session.scalars(db.select(m.Event).where(m.Event.group_id == group.id)).first()
        event.data = {
            "exception": {
                "values": [
                    {
                        "type": "ZeroDivisionError",
                        "value": "division by zero",
                        "stacktrace": {
                            "frames": [
                                {
                                    "filename": "flask/app.py",
                                    "function": "dispatch",
                                    "lineno": 880,
                                    "in_app": False,
                                },
                                {
                                    "filename": "app/views.py",
                                    "function": "checkout",
                                    "lineno": 42,
                                    "in_app": True,
                                    "context_line": "    total = price / count",
                                },
                            ]
                        },
                    }
                ]
            },
            "breadcrumbs": {"values": [{"category": "http", "message": "GET /cart", "level": "info"}]},
            "tags": {"browser": "Firefox", "release": "1.4.0"},
        }
        db.session.commit()
        ids = {"group": group.id, "title": group.title}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"base": base, "stand_in": stand_in, "app": app, **ids}
    server.shutdown()


def _login(page, base, email):
    page.goto(f"{base}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill("pw")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Issues")).to_be_visible()


def _no_horizontal_scroll(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{page.url} is {width}px wide at 390px"


def test_triage_configure_and_member_view_in_a_browser(live):
    base = live["base"]
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        page.set_default_timeout(10_000)
        _login(page, base, "dana@example.com")
        page.screenshot(path=str(SHOTS / "issues.png"), full_page=True)

        # open the issue from the list by its title
        page.get_by_role("link", name=live["title"]).click()
        expect(page.get_by_role("heading", level=1)).to_have_text(live["title"])
        expect(page.get_by_text("app/views.py")).to_be_visible()  # the in-app frame of the latest event
        expect(page.get_by_text("browser: Firefox")).to_be_visible()

        page.get_by_label("Assignee").select_option(label="Dev (dev@example.com)")
        page.get_by_role("button", name="Assign", exact=True).click()
        expect(page.locator("#activity")).to_contain_text("Dana assigned this issue to dev@example.com")
        page.get_by_label("Comment").fill("Looking into it: count is zero for empty carts.")
        page.get_by_role("button", name="Comment", exact=True).click()
        expect(page.locator("#activity")).to_contain_text("Dana commented")
        expect(page.locator("#activity")).to_contain_text("count is zero for empty carts")
        page.locator("summary", has_text="Edit comment").click()
        page.get_by_label("New text").fill("Looking into it: count is zero when the cart is empty.")
        page.get_by_role("button", name="Save comment").click()
        expect(page.locator(".flash")).to_contain_text("Comment saved.")
        expect(page.locator("#activity")).to_contain_text("count is zero when the cart is empty")
        page.get_by_role("button", name="Resolve", exact=True).click()
        expect(page.locator("#activity")).to_contain_text("Dana resolved this issue")
        expect(page.locator("#issue-status")).to_have_text("resolved")
        page.screenshot(path=str(SHOTS / "issue.png"), full_page=True)

        # install Jira Cloud and Slack by hand, change a toggle, map a status
        page.get_by_role("link", name="Integrations").click()
        page.locator("summary", has_text="Jira Cloud").click()
        expect(page.get_by_text("Enable development mode")).to_be_visible()
        expect(page.get_by_label("Descriptor URL")).to_have_value(f"{base}/extensions/jira/descriptor/")
        page.screenshot(path=str(SHOTS / "install-jira-cloud.png"), full_page=True)
        form = page.get_by_role("form", name="Install Jira Cloud by hand")
        form.get_by_label("External id").fill("jira-site-1")
        form.get_by_label("Site URL").fill(live["stand_in"])
        form.get_by_label("Shared secret").fill("a-shared-secret-of-at-least-32-bytes!")
        form.get_by_role("button", name="Install Jira Cloud").click()
        expect(page.locator(".flash")).to_contain_text("Installed")
        page.get_by_label("When an issue is resolved or reopened here, move its linked tickets").check()
        page.get_by_role("button", name="Save sync options").click()
        expect(page.locator(".flash")).to_contain_text("Saved.")
        expect(
            page.get_by_label("When an issue is resolved or reopened here, move its linked tickets")
        ).to_be_checked()
        # map a status: projects and statuses come from the Jira site
        page.get_by_role("link", name="Map a project's statuses").click()
        page.get_by_label("Jira Cloud project").select_option(label="Application (APP)")
        page.get_by_role("button", name="Load statuses").click()
        page.get_by_label("Resolved status", exact=True).select_option(label="Done")
        page.get_by_label("Unresolved status", exact=True).select_option(label="To Do")
        page.get_by_role("button", name="Save mapping").click()
        expect(page.locator(".flash")).to_contain_text("Status mapping saved.")
        expect(page.get_by_role("cell", name="10001")).to_be_visible()
        expect(page.get_by_text("once a ticket of Application (APP) is linked")).to_be_visible()
        page.screenshot(path=str(SHOTS / "status-mapping.png"), full_page=True)

        page.locator("summary", has_text="Slack").click()
        expect(page.get_by_role("link", name="Add to Slack")).to_have_attribute(
            "href", f"{base}/extensions/slack/oauth/?organization=acme"
        )
        form = page.get_by_role("form", name="Install Slack by hand")
        form.get_by_label("External id").fill("T0001")
        form.get_by_label("Bot token").fill("xoxb-test-token")
        form.get_by_role("button", name="Install Slack").click()
        expect(page.get_by_role("heading", name="Acme Slack")).to_be_visible()
        page.screenshot(path=str(SHOTS / "integrations.png"), full_page=True)

        # an alert rule posting to Slack
        page.get_by_role("link", name="Alert rules").click()
        page.get_by_label("Name").fill("New issues to #alerts")
        page.get_by_label("Channel id").fill("C0ALERTS")
        page.get_by_role("button", name="Save rule").click()
        expect(page.locator(".flash")).to_contain_text("Rule saved.")
        expect(page.get_by_role("cell", name="New issues to #alerts")).to_be_visible()
        page.screenshot(path=str(SHOTS / "rules.png"), full_page=True)
        page.get_by_role("link", name="Members").click()
        page.screenshot(path=str(SHOTS / "members.png"), full_page=True)

        # rotate the DSN: add a key, then disable the old one
        page.get_by_role("link", name="Projects & keys").click()
        page.locator("summary", has_text="Add a key").click()
        page.get_by_label("Key name").fill("Rotated")
        page.get_by_role("button", name="Add key").click()
        expect(page.locator(".flash")).to_contain_text("Key added")
        page.once("dialog", lambda dialog: dialog.accept())
        page.get_by_role("button", name="Disable key Default").click()
        expect(page.locator(".flash")).to_contain_text("Key Default disabled")
        expect(page.get_by_role("button", name="Enable key Default")).to_be_visible()
        page.screenshot(path=str(SHOTS / "projects.png"), full_page=True)

        # the sync ledger: the deliveries and outbound jobs of the org's integrations
        page.get_by_role("link", name="Deliveries").click()
        expect(page.get_by_role("heading", name="Sync ledger")).to_be_visible()
        expect(page.get_by_role("heading", name="Outbound: jobs")).to_be_visible()
        page.screenshot(path=str(SHOTS / "ledger.png"), full_page=True)

        # the Jira create form loads projects and issue types from the site
        page.goto(f"{base}/organizations/acme/issues/{live['group']}/?create=1")
        expect(page.get_by_label("Project *")).to_contain_text("Application (APP)")
        expect(page.get_by_label("Summary *")).to_have_value(live["title"])

        # a member sees no admin form, and on a phone nothing scrolls sideways
        member = browser.new_page(viewport={"width": 390, "height": 800})
        member.set_default_timeout(10_000)
        _login(member, base, "dev@example.com")
        _no_horizontal_scroll(member)
        member.get_by_role("link", name="KeyError: 'user'").click()  # the other one is resolved now
        _no_horizontal_scroll(member)
        member.screenshot(path=str(SHOTS / "issue-phone.png"), full_page=True)
        for path in ("settings/integrations/", "settings/rules/", "settings/members/", "settings/projects/"):
            member.goto(f"{base}/organizations/acme/{path}")
            _no_horizontal_scroll(member)
            assert member.locator("form[method=post]:not(.who)").count() == 0, path
            expect(member.get_by_role("button", name="Save sync options")).to_have_count(0)
        member.goto(f"{base}/organizations/acme/settings/deliveries/")
        expect(member.get_by_role("heading", name="Not allowed")).to_be_visible()
        member.get_by_role("button", name="Log out").click()
        expect(member.get_by_role("heading", name="Log in")).to_be_visible()
        browser.close()

    with live["app"].app_context():
        rule = db.session.scalars(db.select(m.AlertRule)).one()
        assert rule.actions[0]["channelId"] == "C0ALERTS"
        assert [c["id"] for c in rule.conditions] == ["first_seen_event"]
