"""clinic date and time styles (how pages, emails and the day sheet write dates and times)

Revision ID: clarity_1
Revises: calendar_1
Create Date: 2026-12-03 18:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "clarity_1"
down_revision = "calendar_1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(
            sa.Column("date_style", sa.String(length=20), nullable=False, server_default="weekday")
        )
        batch.add_column(
            sa.Column("time_style", sa.String(length=8), nullable=False, server_default="24h")
        )


def downgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("time_style")
        batch.drop_column("date_style")
