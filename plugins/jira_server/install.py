"""Installing a Jira Server: check the credentials, register the hub's webhook, and undo it.

Both ways in end here: the manual API install (``install_integration`` hook, the core stores
what :func:`install` returns) and the guided OAuth flow (:mod:`plugins.jira_server.setup`,
which stores through :mod:`hub.services`). Jira is called *before* anything is stored, so an
unreachable or refusing Jira leaves nothing half-installed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from hub import InstallError, services
from hub.errors import ApiAddressRefused, ApiError, ApiHostError, ApiNotFound, ApiUnauthorized
from hub.types import Integration
from plugins.jira_server.client import WEBHOOK_PATH, check_private_key, client_for, normalize_base_url
from plugins.jira_server.verify import KEY, new_webhook_secret, webhook_url

logger = logging.getLogger("hub.plugins.jira_server")

INSTALL_INFO = {
    "instructions": "The guided setup makes the key pair, shows what to enter in Jira's application link and "
                    "asks Jira for access. Already have an application link? Enter its details below.",
    "links": [{"label": "Guided setup (OAuth 1 application link)",
               "url": "/extensions/jira_server/setup/?organization={org}"}],
    "fields": [
        {"name": "base_url", "label": "Jira base URL", "type": "text", "required": True},
        {"name": "consumer_key", "label": "Consumer key", "type": "text", "required": True},
        {"name": "private_key", "label": "Private key (PEM)", "type": "textarea", "required": True},
        {"name": "access_token", "label": "Access token", "type": "password", "required": True},
        {"name": "access_token_secret", "label": "Token secret", "type": "password", "required": True},
    ],
}

REQUIRED = ("base_url", "consumer_key", "private_key", "access_token", "access_token_secret")
EVENTS = ["jira:issue_created", "jira:issue_updated"]


def external_id_for(base_url: str, consumer_key: str) -> str:
    """A stable id of one Jira instance as the hub knows it: host (and context path) + consumer key."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}:{consumer_key}"


def _as_bool(value: Any, default: bool = True) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off")
    return bool(value)


def clean_metadata(metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The credentials, checked: every field present, a usable RSA key, an http(s) base URL."""
    missing = {f: ["This field is required."] for f in REQUIRED if not str(metadata.get(f) or "").strip()}
    if missing:
        raise InstallError(f"Missing Jira Server credentials: {', '.join(sorted(missing))}.", missing)
    return {
        "base_url": normalize_base_url(metadata["base_url"]),
        "consumer_key": str(metadata["consumer_key"]).strip(),
        "private_key": check_private_key(metadata["private_key"]),
        "access_token": str(metadata["access_token"]).strip(),
        "access_token_secret": str(metadata["access_token_secret"]).strip(),
        "verify_ssl": _as_bool(metadata.get("verify_ssl")),
    }


def _install_error(e: ApiError, doing: str, refused_hint: str = "") -> InstallError:
    """The install's 400: the hub's words only (``e.message``), never Jira's answer; what Jira said
    is in the log. Refused, closed and open-but-silent addresses read alike."""
    if isinstance(e, ApiAddressRefused):
        message = (f"Jira could not be reached while {doing}: the base URL's address is not one the hub "
                   "may connect to (HUB_OUTBOUND_ALLOW / HUB_OUTBOUND_DENY). Use another URL, or ask the "
                   "operator.")
        return InstallError(message, {"base_url": [message]})
    if isinstance(e, ApiHostError):
        message = (f"Jira could not be reached while {doing}. "
                   "Check the base URL and that the hub can reach it.")
    elif isinstance(e, ApiUnauthorized):
        message = f"Jira refused the OAuth credentials while {doing} (it answered {e.code}). " + (
            refused_hint
            or "Check the application link, the consumer key, the private key and the access token."
        )
    else:
        message = f"Jira answered an error while {doing}: {e.message}."
    return InstallError(message, {"metadata": [message]})


def connect(metadata: Mapping[str, Any], external_id: str, name: str = "") -> dict[str, Any]:
    """Check the credentials against Jira and register the hub's webhook; the metadata to store."""
    client = client_for(metadata)
    try:
        client.get("/rest/api/2/myself")
    except ApiError as e:
        raise _install_error(e, "checking the credentials") from e
    secret = new_webhook_secret()
    body = {"name": f"Integration Hub ({name or external_id})", "url": webhook_url(external_id, secret),
            "events": EVENTS, "excludeBody": False}
    try:
        answer = client.post(WEBHOOK_PATH, json=body)
    except (ApiHostError, ApiUnauthorized, ApiAddressRefused) as e:
        raise _install_error(
            e,
            "registering the webhook",
            "The access token's user must be a Jira administrator to register webhooks.",
        ) from e
    except ApiError as e:
        # Jira answered, but cannot register webhooks over REST (the webhooks module is absent
        # or failing): the credentials work, so install, and say how to register it by hand.
        warning = (
            f"The webhook could not be registered (Jira answered {e.code}); add {body['url']} for issue "
            "created and updated events in Jira's WebHooks administration."
        )
        logger.warning(
            "jira_server.webhook-not-registered", extra={"external_id": external_id, "status": e.code}
        )
        return {
            **metadata,
            "webhook_secret": secret,
            "webhook_id": "",
            "webhook_self": "",
            "install_warnings": [warning],
        }
    answer = answer if isinstance(answer, dict) else {}
    webhook_self = str(answer.get("self") or "")
    webhook_id = str(answer.get("id") or webhook_self.rstrip("/").rsplit("/", 1)[-1] or "")
    logger.info(
        "jira_server.webhook-registered", extra={"external_id": external_id, "webhook_id": webhook_id}
    )
    return {**metadata, "webhook_secret": secret, "webhook_id": webhook_id, "webhook_self": webhook_self}


def install(external_id: str, name: str, metadata: Mapping[str, Any]) -> dict[str, Any]:
    """The manual install: what the core stores, or ``InstallError`` (400, nothing stored)."""
    cleaned = clean_metadata(metadata)
    previous = services.get_integration(KEY, external_id)
    stored = connect(cleaned, external_id, name)
    if previous is not None and previous.metadata.get("webhook_id"):
        try:  # its secret is replaced by the re-install: the old hook would only get 400s
            remove_webhook(previous)
        except ApiError as e:  # best effort: the new webhook is in place
            logger.warning("jira_server.old-webhook-not-removed",
                           extra={"integration": previous.id, "status": e.code})
    host = urlsplit(cleaned["base_url"]).netloc
    return {"name": name or f"Jira Server ({host})", "metadata": stored}


def remove_webhook(integration: Integration) -> None:
    """Delete the webhook registered at install; a webhook Jira no longer has is fine."""
    metadata = integration.metadata
    webhook_id = metadata.get("webhook_id")
    if not webhook_id or not metadata.get("base_url"):
        return
    try:
        client = client_for(metadata)
        client.delete(client.path(WEBHOOK_PATH + "/{}", webhook_id))
    except ApiNotFound:
        pass
    logger.info(
        "jira_server.webhook-removed", extra={"integration": integration.id, "webhook_id": webhook_id}
    )


def uninstall(integration: Integration, organization_id: str) -> None:
    """Remove the webhook once no other org uses this Jira (they share the one webhook)."""
    others = [o for o in services.organizations_of(integration.id)
              if o["id"] != str(organization_id) and o["status"] != "disabled"]
    if not others:
        remove_webhook(integration)
