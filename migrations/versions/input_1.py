"""optimistic locking: a version column on patients, courses, infusions and appointments

Revision ID: input_1
Revises: selfservice_1
Create Date: 2026-12-03 19:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "input_1"
down_revision = "selfservice_1"
branch_labels = None
depends_on = None

TABLES = ("patients", "courses", "infusions", "appointments")


def upgrade():
    for table in TABLES:  # SQLite adds a NOT NULL column with a constant default in place
        op.add_column(table, sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    for table in TABLES:
        with op.batch_alter_table(table) as batch:
            batch.drop_column("version")
