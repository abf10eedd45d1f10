"""scheduler heartbeats keep each sweep's outcome: process start, last error and its time

Revision ID: mail_1
Revises: p1_appointment_status
Create Date: 2026-12-02 18:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "mail_1"
down_revision = "p1_appointment_status"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scheduler_heartbeats") as batch:
        batch.add_column(sa.Column("started_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("last_error", sa.String(length=300), nullable=True))
        batch.add_column(sa.Column("last_error_at", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("scheduler_heartbeats") as batch:
        batch.drop_column("last_error_at")
        batch.drop_column("last_error")
        batch.drop_column("started_at")
