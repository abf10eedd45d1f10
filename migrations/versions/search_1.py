"""search keys on patients (folded name, MRN, phone digits, email), the recall log, and the
clinic's date order and recall quiet days

Revision ID: search_1
Revises: safety_1
Create Date: 2026-12-03 18:45:00

"""

import sqlalchemy as sa
from alembic import op

from tracker import search_keys

# revision identifiers, used by Alembic.
revision = "search_1"
down_revision = "safety_1"
branch_labels = None
depends_on = None

KEY_COLUMNS = (
    ("first_key", search_keys.NAME_KEY_LENGTH, False),
    ("last_key", search_keys.NAME_KEY_LENGTH, False),
    ("mrn_key", search_keys.MRN_KEY_LENGTH, False),
    ("phone_key", search_keys.PHONE_KEY_LENGTH, True),
    ("phone_key_reversed", search_keys.PHONE_KEY_LENGTH, True),
    ("email_key", search_keys.EMAIL_KEY_LENGTH, True),
)
INDEXES = (
    ("ix_patients_last_first_key", ["last_key", "first_key"]),
    ("ix_patients_first_key", ["first_key"]),
    ("ix_patients_mrn_key", ["mrn_key"]),
    ("ix_patients_phone_key", ["phone_key"]),
    ("ix_patients_phone_key_reversed", ["phone_key_reversed"]),
    ("ix_patients_email_key", ["email_key"]),
)


def _key_type(length: int):
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


def _fill_keys() -> None:
    """Compute the keys of the patients already stored, a batch at a time."""
    bind = op.get_bind()
    patients = sa.table(
        "patients",
        sa.column("id"),
        sa.column("first_name"),
        sa.column("last_name"),
        sa.column("mrn"),
        sa.column("phone"),
        sa.column("email"),
        *(sa.column(name) for name, _length, _nullable in KEY_COLUMNS),
    )
    last_id = 0
    while True:
        rows = bind.execute(
            sa.select(
                patients.c.id,
                patients.c.first_name,
                patients.c.last_name,
                patients.c.mrn,
                patients.c.phone,
                patients.c.email,
            )
            .where(patients.c.id > last_id)
            .order_by(patients.c.id)
            .limit(2000)
        ).all()
        if not rows:
            return
        for row in rows:
            bind.execute(
                patients.update()
                .where(patients.c.id == row.id)
                .values(
                    search_keys.key_values(
                        row.first_name, row.last_name, row.mrn, row.phone, row.email
                    )
                )
            )
        last_id = rows[-1].id


def upgrade():
    with op.batch_alter_table("patients") as batch:
        for name, length, nullable in KEY_COLUMNS:
            batch.add_column(
                sa.Column(
                    name,
                    _key_type(length),
                    nullable=nullable,
                    server_default=None if nullable else "",
                )
            )
    _fill_keys()
    for name, columns in INDEXES:
        op.create_index(name, "patients", columns, unique=False)
    op.create_table(
        "outreach_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("note", sa.String(length=500), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('no_answer','voicemail','will_call_back','booked',"
            "'declined','wants_to_stop')",
            name="outreach_outcome",
        ),
        sa.ForeignKeyConstraint(["patient_id"], ["patients.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["course_id"], ["courses.id"], ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_outreach_patient_at", "outreach_attempts", ["patient_id", "at"], unique=False
    )
    op.create_index("ix_outreach_at", "outreach_attempts", ["at"], unique=False)
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(
            sa.Column("date_order", sa.String(length=3), nullable=False, server_default="MDY")
        )
        batch.add_column(
            sa.Column("recall_quiet_days", sa.Integer(), nullable=False, server_default="3")
        )


def downgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("recall_quiet_days")
        batch.drop_column("date_order")
    op.drop_index("ix_outreach_at", table_name="outreach_attempts")
    op.drop_index("ix_outreach_patient_at", table_name="outreach_attempts")
    op.drop_table("outreach_attempts")
    for name, _columns in reversed(INDEXES):
        op.drop_index(name, table_name="patients")
    with op.batch_alter_table("patients") as batch:
        for name, _length, _nullable in reversed(KEY_COLUMNS):
            batch.drop_column(name)
