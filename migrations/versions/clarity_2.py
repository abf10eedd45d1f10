"""a hold's resume date (the patient is back on the worklist from that date); the first visit
of a series booked at once (one booked notice for the series)

Revision ID: clarity_2
Revises: clarity_1
Create Date: 2026-12-04 01:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "clarity_2"
down_revision = "clarity_1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("courses") as batch:
        batch.add_column(sa.Column("resume_on", sa.Date(), nullable=True))
    with op.batch_alter_table("appointments") as batch:
        batch.add_column(sa.Column("series_first_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_appointments_series_first_id_appointments",
            "appointments",
            ["series_first_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_index("ix_appointments_series_first_id", ["series_first_id"])


def downgrade():
    with op.batch_alter_table("appointments") as batch:
        batch.drop_index("ix_appointments_series_first_id")
        batch.drop_constraint("fk_appointments_series_first_id_appointments", type_="foreignkey")
        batch.drop_column("series_first_id")
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("resume_on")
