"""patient check-ins: the clinic's check-in schedule and clinically-due rules, the patients'
check-in answers, and the clinically-due entries waiting for a clinician

Revision ID: checkin_1
Revises: moves_1
Create Date: 2026-12-04 18:36:12

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "checkin_1"
down_revision = "moves_1"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "check_in_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("days", sa.String(length=60), nullable=False),
        sa.Column("instruments", sa.String(length=60), nullable=False),
        sa.Column("phq9_threshold", sa.Integer(), nullable=True),
        sa.Column("pain_return_percent", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "pain_return_percent IS NULL OR (pain_return_percent >= 0 AND pain_return_percent <= 100)",
            name=op.f("ck_check_in_settings_pain_return_percent"),
        ),
        sa.CheckConstraint(
            "phq9_threshold IS NULL OR (phq9_threshold >= 1 AND phq9_threshold <= 27)",
            name=op.f("ck_check_in_settings_phq9_threshold"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in_settings")),
    )
    op.create_table(
        "check_in_responses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("infusion_id", sa.Integer(), nullable=True),
        sa.Column("session_on", sa.Date(), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_on", sa.Date(), nullable=False),
        sa.Column("relief_worn_off", sa.String(length=8), nullable=True),
        sa.Column("visit_requested", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "relief_worn_off IS NULL OR relief_worn_off IN ('yes','no','unsure')",
            name=op.f("ck_check_in_responses_relief_worn_off"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_check_in_responses_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["infusion_id"],
            ["infusions.id"],
            name=op.f("fk_check_in_responses_infusion_id_infusions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_check_in_responses_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_check_in_responses")),
        sa.UniqueConstraint("course_id", "answered_on", name="uq_check_in_responses_course_day"),
    )
    with op.batch_alter_table("check_in_responses", schema=None) as batch_op:
        batch_op.create_index(
            "ix_check_in_responses_patient", ["patient_id", "answered_at"], unique=False
        )

    op.create_table(
        "clinically_due",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("session_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.String(length=200), nullable=False),
        sa.Column("response_id", sa.Integer(), nullable=True),
        sa.Column("measure_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_on", sa.Date(), nullable=False),
        sa.Column("state", sa.String(length=10), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("dismiss_reason", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "reason IN ('relief_worn_off','visit_requested','phq9_threshold','pain_returned')",
            name=op.f("ck_clinically_due_reason"),
        ),
        sa.CheckConstraint(
            "state <> 'dismissed' OR dismiss_reason IS NOT NULL",
            name=op.f("ck_clinically_due_dismissed_with_reason"),
        ),
        sa.CheckConstraint(
            "state IN ('open','accepted','dismissed')", name=op.f("ck_clinically_due_state")
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_clinically_due_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"],
            ["users.id"],
            name=op.f("fk_clinically_due_decided_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["measure_id"],
            ["outcome_measures.id"],
            name=op.f("fk_clinically_due_measure_id_outcome_measures"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_clinically_due_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["response_id"],
            ["check_in_responses.id"],
            name=op.f("fk_clinically_due_response_id_check_in_responses"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_clinically_due")),
    )
    with op.batch_alter_table("clinically_due", schema=None) as batch_op:
        batch_op.create_index("ix_clinically_due_course", ["course_id", "session_on"], unique=False)
        batch_op.create_index(
            "ix_clinically_due_state_raised", ["state", "raised_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("clinically_due", schema=None) as batch_op:
        batch_op.drop_index("ix_clinically_due_state_raised")
        batch_op.drop_index("ix_clinically_due_course")

    op.drop_table("clinically_due")
    with op.batch_alter_table("check_in_responses", schema=None) as batch_op:
        batch_op.drop_index("ix_check_in_responses_patient")

    op.drop_table("check_in_responses")
    op.drop_table("check_in_settings")
