"""patient self-service, part two: reactivation messages (settings, and staff stopping them for
one patient) and the waitlist (entries, offers, their settings and outbox rows)

Revision ID: selfservice_2
Revises: clarity_1
Create Date: 2026-12-04 01:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "selfservice_2"
down_revision = "clinical_1"
branch_labels = None
depends_on = None

SETTINGS_NUMBERS = (
    ("reactivation_messages", 2),
    ("reactivation_interval_days", 14),
    ("waitlist_offers", 3),
    ("waitlist_offer_hours", 12),
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
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("weekdays", sa.String(length=7), nullable=False),
        sa.Column("added_by", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("end_reason", sa.String(length=40), nullable=True),
        sa.CheckConstraint("weekdays <> ''", name=op.f("ck_waitlist_entries_weekdays")),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_waitlist_entries_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_waitlist_entries_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    op.create_index(
        "ix_waitlist_entries_active", "waitlist_entries", ["ended_at", "created_at"], unique=False
    )
    op.create_index(
        "ix_waitlist_entries_patient", "waitlist_entries", ["patient_id", "ended_at"], unique=False
    )
    op.create_table(
        "waitlist_offers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("chair_id", sa.Integer(), nullable=False),
        sa.Column("appointment_type_id", sa.Integer(), nullable=False),
        sa.Column("start_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("appointment_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_waitlist_offers_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name=op.f("fk_waitlist_offers_appointment_type_id_appointment_types"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["chair_id"],
            ["chairs.id"],
            name=op.f("fk_waitlist_offers_chair_id_chairs"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["waitlist_entries.id"],
            name=op.f("fk_waitlist_offers_entry_id_waitlist_entries"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_waitlist_offers_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
        sa.UniqueConstraint(
            "entry_id", "chair_id", "start_at", name=op.f("uq_waitlist_offers_entry_id")
        ),
    )
    op.create_index(
        "ix_waitlist_offers_block", "waitlist_offers", ["chair_id", "start_at"], unique=False
    )
    op.create_index("ix_waitlist_offers_created", "waitlist_offers", ["created_at"], unique=False)
    with op.batch_alter_table("reminders") as batch:
        batch.add_column(sa.Column("waitlist_offer_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            op.f("fk_reminders_waitlist_offer_id_waitlist_offers"),
            "waitlist_offers",
            ["waitlist_offer_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("reminders") as batch:
        batch.drop_constraint(
            op.f("fk_reminders_waitlist_offer_id_waitlist_offers"), type_="foreignkey"
        )
        batch.drop_column("waitlist_offer_id")
    op.drop_index("ix_waitlist_offers_created", table_name="waitlist_offers")
    op.drop_index("ix_waitlist_offers_block", table_name="waitlist_offers")
    op.drop_table("waitlist_offers")
    op.drop_index("ix_waitlist_entries_patient", table_name="waitlist_entries")
    op.drop_index("ix_waitlist_entries_active", table_name="waitlist_entries")
    op.drop_table("waitlist_entries")
    with op.batch_alter_table("patients") as batch:
        batch.drop_column("reactivation_stopped_at")
    with op.batch_alter_table("clinic_settings") as batch:
        for name, _ in reversed(SETTINGS_NUMBERS):
            batch.drop_column(name)
