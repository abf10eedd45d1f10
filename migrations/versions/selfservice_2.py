"""patient self-service, part two: reactivation messages (settings, and staff stopping them for
one patient)

Revision ID: selfservice_2
Revises: clarity_1
Create Date: 2026-12-04 01:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "selfservice_2"
down_revision = "clarity_1"
branch_labels = None
depends_on = None

SETTINGS_NUMBERS = (
    ("reactivation_messages", 2),
    ("reactivation_interval_days", 14),
)


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        for name, default in SETTINGS_NUMBERS:
            batch.add_column(
                sa.Column(name, sa.Integer(), nullable=False, server_default=str(default))
            )
    with op.batch_alter_table("patients") as batch:
        batch.add_column(
            sa.Column("reactivation_stopped_at", sa.DateTime(timezone=True), nullable=True)
        )


def downgrade():
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("reactivation_stopped_at")
    with op.batch_alter_table("clinic_settings") as batch:
        for name, _ in reversed(SETTINGS_NUMBERS):
            batch.drop_column(name)
