"""Server-rendered pages: login, an org's issues, its integration settings and its deliveries.

The deliveries page shows only deliveries attributed to one of the org's integrations (the one its
plugin resolved); the whole log, unattributed deliveries included, is ``hub deliveries``.
"""

from __future__ import annotations

from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from hub import inputs, issues
from hub import models as m
from hub.auth import current_user
from hub.errors import ValidationError
from hub.extensions import db
from hub.members import membership, set_status_mapping
from hub.models.base import parse_id

bp = Blueprint("web", __name__, template_folder="templates")


@bp.before_request
def _same_origin_posts_only() -> Any:
    """Refuse browser form posts from other sites (CSRF), beyond the SameSite=Lax session cookie."""
    if request.method != "POST":
        return None
    origin = request.headers.get("Origin") or request.headers.get("Referer")
    if not origin:
        return None
    from flask import current_app

    allowed = {request.host, urlsplit(current_app.config["HUB_BASE_URL"]).netloc}
    parts = inputs.split_url(origin)
    if parts is None or parts.netloc not in allowed:
        abort(403)
    return None


@bp.before_request
def _no_nul() -> Any:
    """400 for a NUL character in a URL path value, the query or a form field (the login email too):
    PostgreSQL cannot store or compare one, and no page's input needs it."""
    values = [*(request.view_args or {}).items(), *request.args.items(multi=True)]
    if request.method == "POST":
        values += request.form.items(multi=True)
    if inputs.first_nul(values) is not None:
        abort(400, description="The request must not contain NUL characters.")
    return None


def login_required(view: Any) -> Any:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if current_user() is None:
            return redirect(url_for("web.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return wrapper


def _org(slug: str) -> tuple[m.Organization, m.OrganizationMember]:
    user = current_user()
    org = db.session.scalar(select(m.Organization).where(m.Organization.slug == slug))
    member = membership(user, org) if org and user else None
    if org is None or member is None:
        abort(404)
    return org, member


def _local_target(target: str | None) -> str:
    """Where to go after login: a path on this site, else ``/`` (no open redirect).

    Browsers drop tabs and newlines from a URL and read ``\\`` as ``/``, so ``/<TAB>/evil.com``
    or ``/\\evil.com`` would leave the site as surely as ``//evil.com``.
    """
    if not target or not target.startswith("/") or "\\" in target:
        return "/"
    if any(ord(c) < 33 or ord(c) == 127 for c in target):
        return "/"
    parts = inputs.split_url(target)
    return "/" if parts is None or parts.scheme or parts.netloc or target.startswith("//") else target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    error = None
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        user = db.session.scalar(select(m.User).where(func.lower(m.User.email) == email))
        if user and user.password_hash and check_password_hash(user.password_hash, request.form.get("password") or ""):
            session.clear()
            session["user_id"] = user.id
            return redirect(_local_target(request.args.get("next")))
        error = "Wrong email or password."
    return render_template("login.html", error=error), 401 if error else 200


@bp.route("/logout", methods=["POST", "GET"])
def logout() -> Any:
    session.clear()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def index() -> Any:
    user = current_user()
    orgs = db.session.scalars(select(m.Organization).join(m.OrganizationMember)
                              .where(m.OrganizationMember.user_id == user.id).order_by(m.Organization.slug)).all()
    if len(orgs) == 1:
        return redirect(url_for("web.issues_page", org_slug=orgs[0].slug))
    return render_template("index.html", orgs=orgs)


@bp.route("/organizations/<org_slug>/issues/", methods=["GET"])
@login_required
def issues_page(org_slug: str) -> Any:
    org, _ = _org(org_slug)
    status = request.args.get("status") or "unresolved"
    rows = db.session.scalars(select(m.Group).where(m.Group.organization_id == org.id, m.Group.status == status)
                              .order_by(m.Group.last_seen.desc()).limit(100)).all()
    return render_template("issues.html", org=org, groups=rows, status=status)


@bp.route("/organizations/<org_slug>/issues/<int:issue_id>/", methods=["GET", "POST"])
@login_required
def issue_page(org_slug: str, issue_id: int) -> Any:
    org, _ = _org(org_slug)
    group = db.session.get(m.Group, issue_id) if parse_id(issue_id) else None  # an id beyond the column: 404
    if group is None or group.organization_id != org.id:
        abort(404)
    error = None
    if request.method == "POST":
        try:
            if request.form.get("status"):
                issues.change_status([group], request.form["status"], actor=current_user())
            db.session.commit()
            return redirect(url_for("web.issue_page", org_slug=org.slug, issue_id=group.id))
        except ValidationError as e:
            db.session.rollback()
            error = e.detail
    activities = db.session.scalars(select(m.Activity).where(m.Activity.group_id == group.id)
                                    .order_by(m.Activity.id.desc()).limit(50)).all()
    return render_template("issue.html", org=org, group=group, activities=activities, error=error)


@bp.get("/organizations/<org_slug>/settings/integrations/")
@login_required
def integrations_page(org_slug: str) -> Any:
    org, member = _org(org_slug)
    rows = db.session.scalars(select(m.OrganizationIntegration)
                              .where(m.OrganizationIntegration.organization_id == org.id)
                              .order_by(m.OrganizationIntegration.id)).all()
    mappings = {
        oi.id: db.session.scalars(select(m.IntegrationExternalProject).where(
            m.IntegrationExternalProject.organization_integration_id == oi.id)).all()
        for oi in rows
    }
    return render_template("integrations.html", org=org, rows=rows, mappings=mappings, keys=m.SYNC_CONFIG_KEYS,
                           can_edit=member.role in ("owner", "admin"), message=request.args.get("message"))


@bp.post("/organizations/<org_slug>/settings/integrations/<int:integration_id>/")
@login_required
def integration_settings(org_slug: str, integration_id: int) -> Any:
    """Save the sync options, or add a status mapping (owner/admin), then back to the list."""
    org, member = _org(org_slug)
    if member.role not in ("owner", "admin"):
        abort(403)
    oi = db.session.scalar(select(m.OrganizationIntegration).where(
        m.OrganizationIntegration.organization_id == org.id,
        m.OrganizationIntegration.integration_id == (parse_id(integration_id) or -1)))
    if oi is None:
        abort(404)
    if request.form.get("form") == "mapping":
        fields = {k: (request.form.get(k) or "").strip() for k in ("external_id", "resolved", "unresolved")}
        if not all(fields.values()) or any(len(v) > 64 for v in fields.values()):
            return redirect(url_for("web.integrations_page", org_slug=org.slug,
                                    message="A mapping needs a project id and both status ids."))
        set_status_mapping(oi, fields["external_id"], fields["resolved"], fields["unresolved"])
    else:
        oi.config = {**(oi.config or {}), **{k: request.form.get(k) == "on" for k in m.SYNC_CONFIG_KEYS}}
    db.session.commit()
    return redirect(url_for("web.integrations_page", org_slug=org.slug, message="Saved."))


@bp.get("/organizations/<org_slug>/settings/deliveries/")
@login_required
def deliveries_page(org_slug: str) -> Any:
    """Recent webhook deliveries of this org's integrations (owners and admins)."""
    org, member = _org(org_slug)
    if member.role not in ("owner", "admin"):
        abort(403)
    mine = select(m.OrganizationIntegration.integration_id).where(m.OrganizationIntegration.organization_id == org.id)
    rows = db.session.scalars(select(m.WebhookDelivery).where(m.WebhookDelivery.integration_id.in_(mine))
                              .order_by(m.WebhookDelivery.id.desc()).limit(100)).all()
    return render_template("deliveries.html", org=org, rows=rows)
