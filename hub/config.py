"""Configuration: ``HUB_*`` environment variables, and the only place that reads ``os.environ``.

Order: built-in defaults → environment (and ``.env``) → the mapping passed to
``create_app(config)``. Secret and encryption keys are generated once into the instance
folder when neither the environment nor the mapping provides them.
"""

from __future__ import annotations

import os
import secrets
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet

#: The core's settings. A plugin's own (``HUB_JIRA_*``, ``HUB_SLACK_*``, ...) are declared by its
#: ``plugin_settings`` hook and read by :func:`plugin_settings`.
DEFAULTS: dict[str, Any] = {
    "HUB_DATABASE_URL": None,  # sqlite file under the instance folder
    "HUB_REDIS_URL": "redis://127.0.0.1:6379/0",
    "HUB_SECRET_KEY": None,
    "HUB_ENCRYPTION_KEY": None,
    "HUB_BASE_URL": "http://127.0.0.1:5000",
    "HUB_ASYNC": True,
    "HUB_TRACE_PLUGINS": False,
    "HUB_LOAD_ENTRYPOINTS": True,  # False: only built-in and explicitly given plugins (safe mode)
    "HUB_PLUGINS": (),  # extra plugin objects or dotted module names (env: comma-separated), after entry pts
    "HUB_OUTBOX_MAX_ATTEMPTS": 8,
    "HUB_OUTBOX_BACKOFF_BASE": 2.0,  # seconds; doubled each attempt, with jitter
    "HUB_OUTBOX_BACKOFF_MAX": 3600.0,
    "HUB_QUEUE_NAME": "hub",
    "HUB_LOG_LEVEL": "INFO",
    "HUB_LOG_JSON": True,
    "HUB_OUTBOUND_ALLOW": "",  # hosts, CIDRs, private/loopback/link-local the hub may reach (hub.egress)
    "HUB_OUTBOUND_DENY": "",  # added to the built-in deny list (link-local, metadata addresses)
    "HUB_PROXY_FIX": 0,  # reverse proxies in front of the hub whose X-Forwarded-* headers are trusted
    "HUB_SDK_MAX_ENVELOPE": 20 * 1024 * 1024,  # bytes as sent (compressed), Relay's limit
    "HUB_SDK_MAX_DECOMPRESSED": 100 * 1024 * 1024,  # bytes once decompressed
    "HUB_SDK_MAX_ATTACHMENT": 20 * 1024 * 1024,  # bytes per attachment; over it is dropped, the event kept
    "HUB_SDK_RATE_LIMIT": 0,  # events per minute per project for keys without their own limit; 0 = none
}

BOOLEAN_KEYS = {"HUB_ASYNC", "HUB_TRACE_PLUGINS", "HUB_LOAD_ENTRYPOINTS", "HUB_LOG_JSON"}
NUMBER_KEYS = {"HUB_PROXY_FIX": int, "HUB_OUTBOX_MAX_ATTEMPTS": int, "HUB_OUTBOX_BACKOFF_BASE": float,
               "HUB_OUTBOX_BACKOFF_MAX": float, "HUB_SDK_MAX_ENVELOPE": int, "HUB_SDK_MAX_DECOMPRESSED": int,
               "HUB_SDK_MAX_ATTACHMENT": int, "HUB_SDK_RATE_LIMIT": int}


def _coerce(key: str, value: Any) -> Any:
    if key in BOOLEAN_KEYS and isinstance(value, str):
        return value.strip().lower() not in ("0", "false", "no", "off", "")
    if key in NUMBER_KEYS and isinstance(value, str):
        return NUMBER_KEYS[key](value)
    if key == "HUB_PLUGINS" and isinstance(value, str):  # from the environment: "mod_a, mod_b"
        return tuple(name for name in value.replace(",", " ").split() if name)
    return value


def from_environ(environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The ``HUB_*`` settings found in the environment, typed."""
    env = os.environ if environ is None else environ
    return {k: _coerce(k, v) for k, v in env.items() if k.startswith("HUB_")}


def plugin_settings(declared: Iterable[Any], given: dict[str, Any] | None = None,
                    environ: dict[str, str] | None = None) -> dict[str, Any]:
    """The values of the settings plugins declare (:class:`hub.types.PluginSetting`): the mapping given
    to ``create_app``, else the environment, else the declared default."""
    env = os.environ if environ is None else environ
    given = given or {}
    values: dict[str, Any] = {}
    for setting in declared:
        if setting.name in given:
            values[setting.name] = given[setting.name]
        elif setting.name in env:
            values[setting.name] = env[setting.name]
        else:
            values[setting.name] = setting.default
    return values


def load_dotenv_file() -> None:
    """Read ``.env`` from the working directory when python-dotenv finds one (never overrides)."""
    try:
        from dotenv import load_dotenv
    except ImportError:  # pragma: no cover - it is a dependency
        return
    load_dotenv(Path.cwd() / ".env", override=False)


def instance_path_from_environ() -> str | None:
    return os.environ.get("HUB_INSTANCE_PATH")


def default_instance_path() -> str:
    """``<sys.prefix>/var/hub-instance``: the Python environment's, whichever copy of ``hub`` it imports.

    Flask's own default depends on where the ``hub`` package was imported from (``<checkout>/instance``
    for gunicorn in a checkout, ``<prefix>/var/hub-instance`` for the installed ``hub`` command), so
    two processes of one installation could generate two sets of keys.
    """
    return os.path.join(sys.prefix, "var", "hub-instance")


def _persisted_key(instance_path: str, name: str, make: Callable[[], str]) -> str:
    path = Path(instance_path) / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    # Written completely to a private temporary file (owner-only), then published with link(),
    # which fails if the key exists: processes starting together (gunicorn -w 4, workers) never
    # see a half-written file, and the ones that lose the race read the winner's key.
    tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(value)
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            return path.read_text().strip()
    finally:
        tmp.unlink(missing_ok=True)
    return value


def resolve(settings: dict[str, Any], instance_path: str) -> dict[str, Any]:
    """Fill what must be derived: database URL, generated keys."""
    out = {k: _coerce(k, v) for k, v in settings.items()}
    if not out.get("HUB_DATABASE_URL"):
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        out["HUB_DATABASE_URL"] = f"sqlite:///{Path(instance_path) / 'hub.sqlite'}"
    generated = []
    if not out.get("HUB_SECRET_KEY"):
        out["HUB_SECRET_KEY"] = _persisted_key(instance_path, "secret_key", lambda: secrets.token_urlsafe(48))
        generated.append("HUB_SECRET_KEY")
    if not out.get("HUB_ENCRYPTION_KEY"):
        out["HUB_ENCRYPTION_KEY"] = _persisted_key(
            instance_path, "encryption_key", lambda: Fernet.generate_key().decode()
        )
        generated.append("HUB_ENCRYPTION_KEY")
    out["HUB_KEYS_FROM_INSTANCE"] = tuple(generated)  # named by hub.keycheck when they do not match
    try:
        Fernet(str(out["HUB_ENCRYPTION_KEY"]).encode())
    except ValueError as e:  # refuse to start rather than fail on the first secret written or read
        raise ValueError(
            "HUB_ENCRYPTION_KEY is not a Fernet key (32 url-safe base64-encoded bytes); make one with: "
            "python -c "
            "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
        ) from e
    out["HUB_BASE_URL"] = str(out["HUB_BASE_URL"]).rstrip("/")
    return out
