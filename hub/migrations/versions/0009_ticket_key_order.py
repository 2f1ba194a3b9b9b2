"""ticket key order

The order key of the move that last renamed a linked ticket: a late event from before the move
does not rename it back. Existing rows have none, so the next move sets it.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 08:10:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('external_issues', schema=None) as batch_op:
        batch_op.add_column(sa.Column('key_order', sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('external_issues', schema=None) as batch_op:
        batch_op.drop_column('key_order')
