"""per-org outcomes of an inbound change

Orgs that share an integration (one Jira site, two hub orgs) link the same ticket with their own
settings: a change can apply for one and be skipped for the other. ``outcomes`` holds each org's
``[state, reason]``; rows from before have none, and show the change's one state as before.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03 13:00:00.000000

"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy import Text
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('inbound_changes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('outcomes', sa.JSON().with_variant(postgresql.JSONB(astext_type=Text()), 'postgresql'), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('inbound_changes', schema=None) as batch_op:
        batch_op.drop_column('outcomes')
