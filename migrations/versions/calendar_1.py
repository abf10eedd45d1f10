"""appointment history rows record a move: the old and new start and chair

Revision ID: calendar_1
Revises: auth_1
Create Date: 2026-12-03 18:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "calendar_1"
down_revision = "auth_1"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("appointment_status_changes") as batch:
        batch.add_column(sa.Column("moved_from_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("moved_to_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("moved_from_chair_id", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("moved_to_chair_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_appointment_status_changes_moved_from_chair_id_chairs",
            "chairs",
            ["moved_from_chair_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch.create_foreign_key(
            "fk_appointment_status_changes_moved_to_chair_id_chairs",
            "chairs",
            ["moved_to_chair_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("appointment_status_changes") as batch:
        batch.drop_constraint(
            "fk_appointment_status_changes_moved_to_chair_id_chairs", type_="foreignkey"
        )
        batch.drop_constraint(
            "fk_appointment_status_changes_moved_from_chair_id_chairs", type_="foreignkey"
        )
        batch.drop_column("moved_to_chair_id")
        batch.drop_column("moved_from_chair_id")
        batch.drop_column("moved_to_at")
        batch.drop_column("moved_from_at")
