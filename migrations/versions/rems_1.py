"""esketamine REMS: courses whose sessions need a REMS patient monitoring form, and the forms
(one live form per session; never deleted, entered in error instead)

Revision ID: rems_1
Revises: selfservice_2
Create Date: 2026-12-04 02:39:12

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "rems_1"
down_revision = "selfservice_2"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "rems_courses",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("turned_on_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("turned_on_by_id", sa.Integer(), nullable=True),
        sa.Column("sessions_from", sa.Date(), nullable=False),
        sa.Column("turned_off_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("turned_off_by_id", sa.Integer(), nullable=True),
        sa.Column("turned_off_reason", sa.String(length=200), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_rems_courses_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["turned_off_by_id"],
            ["users.id"],
            name=op.f("fk_rems_courses_turned_off_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["turned_on_by_id"],
            ["users.id"],
            name=op.f("fk_rems_courses_turned_on_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("course_id", name=op.f("pk_rems_courses")),
    )
    op.create_table(
        "rems_forms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("infusion_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("dose_mg", sa.Integer(), nullable=True),
        sa.Column("devices", sa.Integer(), nullable=True),
        sa.Column("lot_number", sa.String(length=40), nullable=False),
        sa.Column("monitoring_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("monitoring_ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("bp_before_systolic", sa.Integer(), nullable=True),
        sa.Column("bp_before_diastolic", sa.Integer(), nullable=True),
        sa.Column("bp_at_40_systolic", sa.Integer(), nullable=True),
        sa.Column("bp_at_40_diastolic", sa.Integer(), nullable=True),
        sa.Column("bp_end_systolic", sa.Integer(), nullable=True),
        sa.Column("bp_end_diastolic", sa.Integer(), nullable=True),
        sa.Column("sedation", sa.Boolean(), nullable=True),
        sa.Column("dissociation", sa.Boolean(), nullable=True),
        sa.Column("respiratory_depression", sa.Boolean(), nullable=True),
        sa.Column("serious_adverse_event", sa.Boolean(), nullable=True),
        sa.Column("serious_adverse_event_description", sa.Text(), nullable=False),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("filed_on", sa.Date(), nullable=True),
        sa.Column("filed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_in_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entered_in_error_reason", sa.String(length=200), nullable=True),
        sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "bp_at_40_diastolic IS NULL OR (bp_at_40_diastolic >= 20 AND bp_at_40_diastolic <= 200)",
            name=op.f("ck_rems_forms_bp_at_40_diastolic"),
        ),
        sa.CheckConstraint(
            "bp_at_40_diastolic IS NULL OR bp_at_40_systolic IS NULL OR bp_at_40_diastolic < bp_at_40_systolic",
            name=op.f("ck_rems_forms_bp_at_40_order"),
        ),
        sa.CheckConstraint(
            "bp_at_40_systolic IS NULL OR (bp_at_40_systolic >= 40 AND bp_at_40_systolic <= 300)",
            name=op.f("ck_rems_forms_bp_at_40_systolic"),
        ),
        sa.CheckConstraint(
            "bp_before_diastolic IS NULL OR (bp_before_diastolic >= 20 AND bp_before_diastolic <= 200)",
            name=op.f("ck_rems_forms_bp_before_diastolic"),
        ),
        sa.CheckConstraint(
            "bp_before_diastolic IS NULL OR bp_before_systolic IS NULL OR bp_before_diastolic < bp_before_systolic",
            name=op.f("ck_rems_forms_bp_before_order"),
        ),
        sa.CheckConstraint(
            "bp_before_systolic IS NULL OR (bp_before_systolic >= 40 AND bp_before_systolic <= 300)",
            name=op.f("ck_rems_forms_bp_before_systolic"),
        ),
        sa.CheckConstraint(
            "bp_end_diastolic IS NULL OR (bp_end_diastolic >= 20 AND bp_end_diastolic <= 200)",
            name=op.f("ck_rems_forms_bp_end_diastolic"),
        ),
        sa.CheckConstraint(
            "bp_end_diastolic IS NULL OR bp_end_systolic IS NULL OR bp_end_diastolic < bp_end_systolic",
            name=op.f("ck_rems_forms_bp_end_order"),
        ),
        sa.CheckConstraint(
            "bp_end_systolic IS NULL OR (bp_end_systolic >= 40 AND bp_end_systolic <= 300)",
            name=op.f("ck_rems_forms_bp_end_systolic"),
        ),
        sa.CheckConstraint(
            "devices IS NULL OR (devices >= 1 AND devices <= 3)", name=op.f("ck_rems_forms_devices")
        ),
        sa.CheckConstraint(
            "dose_mg IS NULL OR (dose_mg >= 1 AND dose_mg <= 84)",
            name=op.f("ck_rems_forms_dose_mg"),
        ),
        sa.CheckConstraint(
            "monitoring_ended_at IS NULL OR monitoring_started_at IS NULL OR monitoring_ended_at > monitoring_started_at",
            name=op.f("ck_rems_forms_monitoring_order"),
        ),
        sa.ForeignKeyConstraint(
            ["completed_by_id"],
            ["users.id"],
            name=op.f("fk_rems_forms_completed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entered_in_error_by_id"],
            ["users.id"],
            name=op.f("fk_rems_forms_entered_in_error_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["filed_by_id"],
            ["users.id"],
            name=op.f("fk_rems_forms_filed_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["infusion_id"],
            ["infusions.id"],
            name=op.f("fk_rems_forms_infusion_id_infusions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_rems_forms_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rems_forms")),
    )
    with op.batch_alter_table("rems_forms", schema=None) as batch_op:
        batch_op.create_index("ix_rems_forms_patient", ["patient_id"], unique=False)
        batch_op.create_index(
            "uq_rems_forms_live_infusion",
            ["infusion_id"],
            unique=True,
            sqlite_where=sa.text("entered_in_error_at IS NULL"),
            postgresql_where=sa.text("entered_in_error_at IS NULL"),
        )


def downgrade():
    with op.batch_alter_table("rems_forms", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_rems_forms_live_infusion",
            sqlite_where=sa.text("entered_in_error_at IS NULL"),
            postgresql_where=sa.text("entered_in_error_at IS NULL"),
        )
        batch_op.drop_index("ix_rems_forms_patient")

    op.drop_table("rems_forms")
    op.drop_table("rems_courses")
