"""Every process of one hub proves at start that it holds the hub's keys, or refuses to start.

Web, worker and CLI processes each read ``HUB_ENCRYPTION_KEY`` and ``HUB_SECRET_KEY`` from their own
environment (or generate them into their own instance folder). A process with other keys would fail
every job with "stored secret cannot be decrypted" and refuse every link token, silently. So the
first process that starts on a database stores a check value of each key there (a Fernet token of a
constant, an HMAC of a constant: neither reveals the key); every later one compares its keys with
them and stops with one line that says which folder it used and how to fix it.
"""

from __future__ import annotations

import hashlib
import hmac
import logging

from cryptography.fernet import Fernet, InvalidToken
from flask import Flask
from sqlalchemy import inspect, select
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from hub import models as m
from hub.extensions import db

logger = logging.getLogger("hub.keycheck")

CONSTANT = b"integration-hub key check 1"
#: check row name -> the setting it checks
CHECKED = {"encryption": "HUB_ENCRYPTION_KEY", "secret": "HUB_SECRET_KEY"}


class KeyMismatch(RuntimeError):
    """This process's keys are not the ones the database was set up with (the message is one line)."""


def verify_keys(app: Flask) -> None:
    """Store the check values on a new database, else compare this process's keys; raises ``KeyMismatch``.

    Skipped (with a warning) while the database cannot be reached or is not migrated yet: the
    first process that starts after ``hub db upgrade`` writes the values.
    """
    with app.app_context():
        try:
            if not inspect(db.engine).has_table(m.KeyCheck.__tablename__):
                return
            wrong = _wrong({name: str(app.config[setting]) for name, setting in CHECKED.items()})
        except SQLAlchemyError as e:
            db.session.rollback()
            logger.warning("keys.check-skipped", extra={"error": type(e).__name__})
            return
        finally:
            db.session.remove()
    if wrong:
        raise KeyMismatch(mismatch_message(app, wrong))


def mismatch_message(app: Flask, wrong: list[str]) -> str:
    generated = set(app.config.get("HUB_KEYS_FROM_INSTANCE") or ())
    sources = ", ".join(
        f"{setting} from {app.instance_path}/{setting[4:].lower()}" if setting in generated
        else f"{setting} as set"
        for setting in wrong
    )
    database = make_url(app.config["SQLALCHEMY_DATABASE_URI"]).render_as_string(hide_password=True)
    return (
        f"{' and '.join(wrong)} of this process ({sources}; instance folder {app.instance_path}) "
        f"{'differs from the key' if len(wrong) == 1 else 'differ from the keys'} the database {database} "
        "was set up with: "
        "give every process (web, worker, CLI) the same HUB_ENCRYPTION_KEY and HUB_SECRET_KEY, "
        "or the same HUB_INSTANCE_PATH"
    )


def _check_value(name: str, key: str) -> str:
    if name == "encryption":
        return Fernet(key.encode()).encrypt(CONSTANT).decode()
    return hmac.new(key.encode(), CONSTANT, hashlib.sha256).hexdigest()


def _matches(name: str, key: str, value: str) -> bool:
    if name == "encryption":
        try:
            return Fernet(key.encode()).decrypt(value.encode()) == CONSTANT
        except (InvalidToken, ValueError):
            return False
    return hmac.compare_digest(value, _check_value(name, key))


def _wrong(keys: dict[str, str]) -> list[str]:
    """The settings whose key is not the database's. The missing check values are written in one
    commit: two processes with different keys starting at once never each store one of the two
    values (each would then refuse the other's, and neither would start)."""
    rows = _stored(keys)
    refused = set()
    missing = [name for name in keys if name not in rows]
    if "encryption" in missing and not _reads_stored_secrets(keys["encryption"]):
        refused.add("encryption")  # a database from before key checks, written with another key
        missing.remove("encryption")
    if missing:
        db.session.add_all([m.KeyCheck(name=name, value=_check_value(name, keys[name])) for name in missing])
        try:
            db.session.commit()  # ours now: only the values stored before are compared below
        except IntegrityError:  # a process starting at the same time wrote them first: compare with theirs
            db.session.rollback()
            rows = _stored(keys)
    return [CHECKED[name] for name in keys
            if name in refused or (name in rows and not _matches(name, keys[name], rows[name]))]


def _stored(keys: dict[str, str]) -> dict[str, str]:
    rows = db.session.scalars(select(m.KeyCheck).where(m.KeyCheck.name.in_(keys)))
    return {row.name: row.value for row in rows}


def _reads_stored_secrets(key: str) -> bool:
    """Whether ``key`` decrypts an integration secret already stored (true when there is none)."""
    stored = m.Integration.metadata_encrypted
    token = db.session.scalar(select(stored).where(stored != "").limit(1))
    if not token:
        return True
    try:
        Fernet(key.encode()).decrypt(token.encode())
    except InvalidToken:
        return False
    return True
