"""appointments count their moves in place: the keys of a moved visit's reminder and notice
carry the count, so a visit moved back to a time it had before is reminded again

Revision ID: moves_1
Revises: checklist_1
Create Date: 2026-12-04 19:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "moves_1"
down_revision = "checklist_1"
branch_labels = None
depends_on = None


def upgrade():
    # Every existing visit counts 0 moves: its reminders keep the keys they were planned under.
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("moves", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    with op.batch_alter_table("appointments") as batch:
        batch.drop_column("moves")
