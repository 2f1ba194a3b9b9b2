"""Server-rendered pages: the frame (login, logout, navigation), and, in ``issue_pages`` and
``settings_pages``, an org's issues and its settings.

Every page is scoped to an org the user belongs to (else 404) and every admin form checks the role
on the server (403), whatever the page showed. Forms act through the REST API's views
(:mod:`hub.web.apicall`), so both validate alike.
"""

from __future__ import annotations

from functools import wraps
from typing import Any

from flask import (
    Blueprint,
    abort,
    g,
    has_request_context,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from hub import inputs, sessions
from hub import models as m
from hub.auth import current_user
from hub.extensions import db
from hub.members import membership
from hub.security import csrf_exempt, same_origin

bp = Blueprint("web", __name__, template_folder="templates")


@bp.before_request
def _same_origin_posts_only() -> Any:
    """Refuse browser form posts from other sites (CSRF), beyond the SameSite=Lax session cookie."""
    if request.method == "POST" and not same_origin():
        abort(403)
    return None


@bp.app_context_processor
def _frame_context() -> dict[str, Any]:
    """The signed-in user for the page frame (the plugins' pages use the same layout)."""
    if not has_request_context():
        return {}
    return {"nav_user": current_user() if not request.path.startswith("/login") else None}


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


def _org(slug: str, admin: bool = False) -> tuple[m.Organization, m.OrganizationMember]:
    """The org and the user's membership: 404 when not a member, 403 when ``admin`` and not one."""
    user = current_user()
    org = db.session.scalar(select(m.Organization).where(m.Organization.slug == slug))
    member = membership(user, org) if org and user else None
    if org is None or member is None:
        abort(404)
    g.hub_member = member
    if admin and member.role not in ("owner", "admin"):
        abort(403)
    return org, member


def page(template: str, org: m.Organization, member: m.OrganizationMember, status: int = 200,
         **context: Any) -> Any:
    """Render an org page inside the frame."""
    context.setdefault("is_admin", member.role in ("owner", "admin"))
    return render_template(template, org=org, member=member, nav_role=member.role, **context), status


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
@csrf_exempt  # no session to bind a token to yet; the same-origin check and the throttle apply
def login() -> Any:
    error, status = None, 200
    email = request.form.get("email") or ""
    if request.method == "POST":
        result = sessions.authenticate(email, request.form.get("password") or "")
        if result.user is not None:
            sessions.start(result.user)
            return redirect(_local_target(request.args.get("next")))
        if result.retry_after:
            error, status = f"Too many failed attempts: try again in {result.retry_after // 60 + 1} min.", 429
        else:
            error, status = "Wrong email or password.", 401
    response = make_response(render_template("login.html", error=error, email=email), status)
    if status == 429:
        response.headers["Retry-After"] = str(result.retry_after)
    return response


@bp.post("/logout")
@login_required
def logout() -> Any:
    """End this and every other browser session of the user (POST only: a link cannot log you out)."""
    user = current_user()
    assert user is not None  # login_required
    sessions.end_all(user)
    db.session.commit()
    session.clear()
    return redirect(url_for("web.login"))


@bp.get("/")
@login_required
def index() -> Any:
    user = current_user()
    assert user is not None  # login_required
    orgs = db.session.scalars(
        select(m.Organization).join(m.OrganizationMember)
        .where(m.OrganizationMember.user_id == user.id).order_by(m.Organization.slug)).all()
    if len(orgs) == 1:
        return redirect(url_for("web.issues_page", org_slug=orgs[0].slug))
    return render_template("index.html", orgs=orgs)


from hub.web import issue_pages, settings_pages  # noqa: E402,F401  (each adds its routes to bp)
