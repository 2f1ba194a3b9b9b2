"""The migrations (hub/migrations/) build exactly the models' schema."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.extensions import db


def test_migrations_match_the_models(app):
    """The test database was built by `hub db upgrade`; autogenerate must find no difference."""
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_a_redelivery_right_after_the_upgrade_to_claims_per_integration_is_still_a_duplicate(
        app, client, signed, run_jobs):
    """Before 0011 an Inbound's key was claimed bare; the hub now claims ``<integration id>:<key>``.
    A delivery handled by the old hub and redelivered after the upgrade must find its claim."""
    from flask_migrate import downgrade, upgrade
    from sqlalchemy import select, update

    from hub import models as m
    from tests.support.inbound import changes, group, post

    def claim_provider() -> str:
        return db.session.scalars(select(m.WebhookClaim.provider)).one()

    payload = {"delivery": "d1", "key": "APP-1", "state": "closed", "updated_ms": 1000}
    assert post(client, payload).status_code == 200
    run_jobs()
    scoped = f"{signed['signed'].id}:d1"
    claim = m.WebhookClaim
    assert db.session.scalars(select(claim.dedupe_key)).all() == [scoped]
    # the old hub's claim: the bare key, at the revision before 0011
    db.session.execute(update(claim).values(dedupe_key="d1"))
    hashed = "sha256:" + "0" * 64  # a key too long to keep was claimed as its hash: no twin can be derived
    db.session.add(m.WebhookClaim(provider=claim_provider(), dedupe_key=hashed,
                                  delivery_id=db.session.scalars(select(claim.delivery_id)).one()))
    db.session.commit()
    with app.app_context():
        downgrade(revision="0010")
        upgrade()
    db.session.expire_all()
    assert sorted(db.session.scalars(select(claim.dedupe_key)).all()) == sorted(["d1", hashed, scoped])
    client.put(f"/api/0/organizations/acme/issues/{signed['group_id']}/", json={"status": "unresolved"},
               headers=signed["headers"])
    r = post(client, payload)
    assert r.status_code == 200 and r.json["detail"] == "Already processed."
    run_jobs()
    assert group(signed["group_id"]).status == "unresolved" and len(changes()) == 1
