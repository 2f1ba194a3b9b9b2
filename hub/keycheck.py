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
            wrong = [setting for name, setting in CHECKED.items()
                     if not _holds(name, str(app.config[setting]))]
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


def _holds(name: str, key: str) -> bool:
    row = db.session.get(m.KeyCheck, name)
    if row is None:
        if name == "encryption" and not _reads_stored_secrets(key):
            return False  # a database from before key checks, written with another key
        db.session.add(m.KeyCheck(name=name, value=_check_value(name, key)))
        try:
            db.session.commit()
            return True
        except IntegrityError:  # a process starting at the same time wrote it first: compare with theirs
            db.session.rollback()
            row = db.session.get(m.KeyCheck, name)
            if row is None:  # pragma: no cover - a row is never deleted outside tests
                return True
    return _matches(name, key, row.value)


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
