"""key checks: every process proves it has the shared keys

Revision ID: 0003
Revises: 355b8e196549
Create Date: 2026-12-01 11:10:00

"""
import sqlalchemy as sa
from alembic import op

import hub.models.base

# revision identifiers, used by Alembic.
revision = '0003'
down_revision = '355b8e196549'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('key_checks',
    sa.Column('name', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.Column('date_created', hub.models.base.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_key_checks'))
    )


def downgrade() -> None:
    op.drop_table('key_checks')
