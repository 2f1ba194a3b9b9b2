"""The hub's own click commands, registered on the app by :func:`init_app` (as Flask's tutorial registers
``init-db``) and on the ``hub`` console script (:mod:`hub.cli`) from the one list :data:`COMMANDS`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from hub import inbound
from hub import models as m
from hub.extensions import current_app_object, db


def _user(email: str) -> m.User:
    row = db.session.scalar(select(m.User).where(func.lower(m.User.email) == email.strip().lower()))
    if row is None:
        raise click.ClickException(f"no user with email {email}")
    return row


@click.command()
@click.option("--org", "org_slug", default="demo", show_default=True)
@click.option("--project", "project_slug", default="backend", show_default=True)
@click.option("--email", default="owner@example.com", show_default=True)
@click.option("--password", default=None, help="Also set a password for the web pages.")
@with_appcontext
def bootstrap(org_slug: str, project_slug: str, email: str, password: str | None) -> None:
    """Create org, project and owner if missing (migrating first); print a JSON line with a token, the DSN."""
    from flask_migrate import upgrade

    from hub.members import add_member, create_project, create_token, dsn, get_or_create_user, membership

    upgrade()
    _verify_keys()  # a database migrated just now gets its key check values before anything is written
    org = db.session.scalar(select(m.Organization).where(m.Organization.slug == org_slug))
    if org is None:
        org = m.Organization(slug=org_slug, name=org_slug.replace("-", " ").title())
        db.session.add(org)
        db.session.flush()
    project = db.session.scalar(select(m.Project).where(m.Project.organization_id == org.id,
                                                        m.Project.slug == project_slug))
    if project is None:
        project = create_project(org, project_slug, project_slug)
    user = get_or_create_user(email)
    member = membership(user, org)
    if member is None:
        member = add_member(org, email, role="owner", projects=[project])
    elif project not in member.projects:
        member.projects.append(project)
    if password:
        user.password_hash = generate_password_hash(password)
    token_value = create_token(user, name="bootstrap")
    key = db.session.scalar(select(m.ProjectKey).where(m.ProjectKey.project_id == project.id)
                            .order_by(m.ProjectKey.id))
    db.session.commit()
    click.echo(json.dumps({"org": org.slug, "project": project.slug, "user_id": str(user.id),
                           "token": token_value,
                           "dsn": dsn(current_app.config["HUB_BASE_URL"], key) if key else None}))


def _verify_keys() -> None:
    from hub.keycheck import KeyMismatch, verify_keys

    try:
        verify_keys(current_app_object())
    except KeyMismatch as e:
        raise click.ClickException(str(e)) from e


@click.group()
def token() -> None:
    """API tokens."""


@token.command("create")
@click.option("--email", required=True)
@with_appcontext
def token_create(email: str) -> None:
    """Print a new API token for that user."""
    from hub.members import create_token

    value = create_token(_user(email), name="cli")
    db.session.commit()
    click.echo(value)


@click.group()
def user() -> None:
    """Users."""


@user.command("set-password")
@click.option("--email", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@with_appcontext
def set_password(email: str, password: str) -> None:
    """Set a user's password for the web pages."""
    from hub.sessions import set_password as set_user_password

    row = _user(email)
    set_user_password(row, password)  # ends the user's browser sessions too
    db.session.commit()
    click.echo(f"password set for {row.email}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per plugin.")
@click.option("--settings", "as_settings", is_flag=True,
              help="The settings plugins declare, as the README's Markdown table.")
@with_appcontext
def plugins(as_json: bool, as_settings: bool) -> None:
    """List installed plugins: key, distribution, version, hooks implemented."""
    from hub.plugins import settings_table

    hub_plugins = current_app.extensions["hub"]
    if as_settings:
        click.echo(settings_table(hub_plugins.settings()))
        return
    for record in sorted(hub_plugins.records.values(), key=lambda r: r.name):
        key = record.key
        if as_json:
            click.echo(json.dumps({"key": key, "distribution": record.distribution, "version": record.version,
                                   "module": record.module, "hooks": record.hooks,
                                   "settings": [_setting_json(st) for st in record.settings]}))
        else:
            version = record.version or "-"
            click.echo(f"{key:<14} {record.distribution:<28} {version:<10} {', '.join(record.hooks)}")


def _setting_json(setting: Any) -> dict[str, Any]:
    """A declared setting and whether it is set; a secret's value is never shown."""
    value = current_app.config.get(setting.name)
    out = {"name": setting.name, "default": None if setting.secret else setting.default,
           "secret": setting.secret, "help": setting.help, "set": value not in (None, "")}
    if not setting.secret:
        out["value"] = value
    return out


@click.command()
@click.option("--burst", is_flag=True, help="Run what is due, then exit.")
@click.option("--poll", default=0.5, show_default=True, help="Seconds between relay passes.")
@with_appcontext
def worker(burst: bool, poll: float) -> None:
    """Run the RQ worker with the outbox relay (and its retry schedule); survives later Redis outages."""
    from hub.worker import run_worker

    _require_redis()
    run_worker(burst=burst, poll=poll)


def _require_redis() -> None:
    """Stop with one line naming the Redis (never its password) when it cannot be reached."""
    from hub.queue import redis_problem, unreachable_message

    problem = redis_problem()
    if problem is not None:
        raise click.ClickException(unreachable_message(problem))


@click.group(invoke_without_command=True)
@click.option("--failed", is_flag=True,
              help="Only deliveries answered with an error, or with a failed change.")
@click.option("--limit", default=inbound.LIST_DEFAULT, show_default=True,
              type=click.IntRange(inbound.LIST_MIN, inbound.LIST_MAX),
              help="How many, newest first (the API's ?limit= range).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document: each delivery with its changes.")
@click.pass_context
@with_appcontext
def deliveries(ctx: click.Context, failed: bool, limit: int, as_json: bool) -> None:
    """The inbound webhook delivery log, newest first: each delivery's state (received → applied /
    duplicate / stale / echo / skipped / failed) and, per change, its outcome and activities."""
    if ctx.invoked_subcommand:
        return
    query = select(m.WebhookDelivery).order_by(m.WebhookDelivery.id.desc()).limit(limit)
    if failed:
        failed_changes = select(m.InboundChange.delivery_id).where(m.InboundChange.state == "failed")
        query = query.where(m.WebhookDelivery.outcome.in_(("error", "rejected"))
                            | m.WebhookDelivery.id.in_(failed_changes))
    rows = list(db.session.scalars(query))
    changes = inbound.changes_by_delivery([d.id for d in rows])
    described = [inbound.describe(d, changes.get(d.id, [])) for d in rows]
    if as_json:
        click.echo(json.dumps(described, indent=2))
        return
    for d in described:
        click.echo(f"{d['id']:<6} {d['dateReceived']} {d['provider']:<12} {d['integrationId'] or '-':<5} "
                   f"{d['method']:<5} {d['endpoint']:<30} {d['statusCode'] or '-':<4} {d['state']:<10} "
                   f"{d['error'] or ''}")
        for c in d["changes"]:
            detail = c["reason"] or c["error"] or ""
            acts = f" activities {','.join(c['activityIds'])}" if c["activityIds"] else ""
            click.echo(f"       {c['kind']:<9} {c['ticket']['key']:<16} {c['state']:<8} {detail}{acts}")


@deliveries.command("prune")
@click.option("--older-than", "days", type=click.IntRange(min=1), required=True, help="Age in days.")
@with_appcontext
def deliveries_prune(days: int) -> None:
    """Delete deliveries received more than DAYS days ago (the log keeps request bodies)."""
    import datetime as dt

    from sqlalchemy import CursorResult, delete

    from hub.models.base import utcnow

    cutoff = utcnow() - dt.timedelta(days=days)
    deleted = cast("CursorResult[Any]", db.session.execute(
        delete(m.WebhookDelivery).where(m.WebhookDelivery.date_received < cutoff))).rowcount
    db.session.commit()
    click.echo(f"deleted {deleted} deliveries received before {m.iso(cutoff)}")


@click.command()
@click.argument("delivery_id", type=int)
@with_appcontext
def replay(delivery_id: int) -> None:
    """Re-apply one stored delivery, recorded as a new delivery (replay of ID); ID keeps what it did.

    A delivery that recorded changes (a v2 route's, or a v1 inbound hook's) has copies of them
    applied, as the API's replay does: re-checked are the
    integration (still installed and active), the out-of-order and echo guards and the orgs'
    sync settings as they are now; not re-checked is the signature (the changes were recorded
    from a verified request, and the body is not parsed again). Any other delivery is re-run
    exactly as it came: its signature is checked again, a freshness window is not.
    A delivery whose changes are still pending is not replayed (the worker applies them once).
    Exits 1 when the hub answers the replay with an error.
    """
    from hub.dispatch import replay as replay_delivery
    from hub.errors import Conflict, NotFound
    from hub.jobs import flush

    with current_app.test_request_context(f"/replay/{delivery_id}"):
        try:
            response = replay_delivery(delivery_id)
        except (NotFound, Conflict) as e:
            raise click.ClickException(str(e)) from e
        flush()
    body = response.get_data(as_text=True)
    # JSON whole (a replay's changes are what the operator asked for); another body (a page) cut short
    click.echo(f"{response.status_code} {body if response.is_json else body[:500]}")
    if response.status_code >= 400:  # scripts can tell a failed replay from a done one
        raise click.exceptions.Exit(1)


@click.group(invoke_without_command=True)
@click.option("--failed", is_flag=True, help="Only failed and dead rows.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 500),
              help="How many, newest first.")
@click.pass_context
@with_appcontext
def outbox(ctx: click.Context, failed: bool, limit: int) -> None:
    """Outbound work waiting, failed or dead."""
    if ctx.invoked_subcommand:
        return
    states = ("failed", "dead") if failed else ("pending", "enqueued", "running", "failed", "dead")
    query = (select(m.OutboxEntry).where(m.OutboxEntry.status.in_(states))
             .order_by(m.OutboxEntry.date_created.desc()).limit(limit))
    for row in db.session.scalars(query):
        click.echo(f"{row.id} {row.kind:<24} {row.status:<9} attempts={row.attempts} "
                   f"next={m.iso(row.next_attempt_at)} {row.last_error or ''}")


@outbox.command("retry")
@click.argument("outbox_id")
@with_appcontext
def outbox_retry(outbox_id: str) -> None:
    """Send a failed or dead row again, with a fresh set of attempts (as the sync ledger's Retry)."""
    from hub.jobs import RETRYABLE, retry_entry

    row = db.session.get(m.OutboxEntry, outbox_id)
    if row is None:
        raise click.ClickException(f"no outbox row {outbox_id}")
    if row.status not in RETRYABLE:
        raise click.ClickException(
            f"outbox row {outbox_id} is {row.status}: only a failed or dead row is retried"
        )
    if current_app.config["HUB_ASYNC"]:
        _require_redis()  # before changing anything: the row stays as it is
    outcome = retry_entry(outbox_id)
    if not outcome:
        raise click.ClickException(f"outbox row {outbox_id} is no longer failed or dead")
    if outcome == "pending":
        outcome = "pending (Redis unavailable; the worker will send it)"
    click.echo(f"{outbox_id} {outcome}")


@click.command()
@click.option("--org", "org_slug", default=None)
@click.option("--dry-run", is_flag=True)
@with_appcontext
def reconcile(org_slug: str | None, dry_run: bool) -> None:
    """Compare linked tickets with the providers and repair drift (ticket status wins)."""
    from hub.reconcile import reconcile as run

    for line in run(org_slug, dry_run=dry_run):
        click.echo(line)


@click.group()
def plugin() -> None:
    """Plugin authoring."""


@plugin.command("new")
@click.argument("name")
@click.option("--directory", default=".", show_default=True, type=click.Path(file_okay=False))
def plugin_new(name: str, directory: str) -> None:
    """Scaffold a plugin package: entry point, hookimpls, tests on hub.testing."""
    from hub.scaffold import scaffold

    try:
        target = scaffold(name, Path(directory))
    except ValueError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"created {target}")


#: Every command of the hub, written once: the app's CLI and the ``hub`` group both take this list.
COMMANDS: tuple[click.Command, ...] = (bootstrap, token, user, plugins, worker, deliveries, replay, outbox,
                                       reconcile, plugin)


def init_app(app: Flask) -> None:
    """Register the hub's commands on ``app.cli`` (``flask --app wsgi ...`` sees them too)."""
    for command in COMMANDS:
        app.cli.add_command(command)
