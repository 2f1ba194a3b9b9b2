"""claims within their integration

The hub now claims an ``Inbound``'s dedupe key as ``<integration id>:<key>`` (a delivery id is
unique within one site, not across the hub's accounts). Claims taken before that hold the bare key,
so a redelivery arriving just after an upgrade would not find its claim and apply a second time.
This adds the scoped claim beside each bare one whose delivery names its integration; the bare one
stays (a synchronous ``already_processed`` claim that names no integration still finds it).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 13:10:00.000000

"""
import hashlib

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BATCH = 1000

claims = sa.table(
    "webhook_claims",
    sa.column("id", sa.Integer), sa.column("provider", sa.String), sa.column("dedupe_key", sa.String),
    sa.column("delivery_id", sa.Integer), sa.column("date_claimed"),
)
deliveries = sa.table("webhook_deliveries", sa.column("id", sa.Integer), sa.column("integration_id", sa.Integer))


def _scoped(integration_id: int, key: str) -> str:
    """``hub.types.claim_key`` as of this revision (a migration does not follow later code)."""
    scoped = f"{integration_id}:{key}"
    if len(scoped) <= 128:
        return scoped
    return "sha256:" + hashlib.sha256(scoped.encode("utf-8", "surrogatepass")).hexdigest()


def upgrade() -> None:
    connection = op.get_bind()
    last = 0
    while True:
        rows = connection.execute(
            sa.select(claims.c.id, claims.c.provider, claims.c.dedupe_key, claims.c.delivery_id,
                      claims.c.date_claimed, deliveries.c.integration_id)
            .join(deliveries, deliveries.c.id == claims.c.delivery_id)
            .where(claims.c.id > last, deliveries.c.integration_id.is_not(None))
            .order_by(claims.c.id).limit(BATCH)).all()
        if not rows:
            return
        last = rows[-1].id
        wanted = {}
        for row in rows:
            if row.dedupe_key.startswith((f"{row.integration_id}:", "sha256:")):
                continue  # taken scoped already, or a hash: its scoped twin cannot be derived from it
            wanted[(row.provider, _scoped(row.integration_id, row.dedupe_key))] = row
        if not wanted:
            continue
        taken = set(connection.execute(
            sa.select(claims.c.provider, claims.c.dedupe_key)
            .where(claims.c.dedupe_key.in_([key for _, key in wanted]))).all())
        missing = [{"provider": provider, "dedupe_key": key, "delivery_id": row.delivery_id,
                    "date_claimed": row.date_claimed}
                   for (provider, key), row in wanted.items() if (provider, key) not in taken]
        if missing:  # a hub still running may claim one meanwhile: that claim stands
            connection.execute(_insert_missing(connection.dialect.name), missing)


def _insert_missing(dialect: str) -> sa.Insert:
    from sqlalchemy.dialects import postgresql, sqlite

    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(claims).on_conflict_do_nothing(index_elements=["provider", "dedupe_key"])


def downgrade() -> None:
    """The scoped claims stay: an older hub ignores them, and they age out with the rest."""
