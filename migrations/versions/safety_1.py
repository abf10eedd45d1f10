"""infusions entered in error keep their row with when, why and by whom; the clinic's share of
dose change that warns on the session form

Revision ID: safety_1
Revises: input_1
Create Date: 2026-12-03 18:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "safety_1"
down_revision = "input_1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("infusions") as batch:
        batch.add_column(
            sa.Column("entered_in_error_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("entered_in_error_reason", sa.String(length=200), nullable=True))
        batch.add_column(sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_infusions_entered_in_error_by_id_users",
            "users",
            ["entered_in_error_by_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(
            sa.Column("dose_change_warn_percent", sa.Integer(), nullable=False, server_default="25")
        )


def downgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("dose_change_warn_percent")
    with op.batch_alter_table("infusions") as batch:
        batch.drop_constraint("fk_infusions_entered_in_error_by_id_users", type_="foreignkey")
        batch.drop_column("entered_in_error_by_id")
        batch.drop_column("entered_in_error_reason")
        batch.drop_column("entered_in_error_at")
