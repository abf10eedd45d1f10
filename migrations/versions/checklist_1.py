"""the pre-visit checklist: questions per appointment type (every existing type gets the default
questions) and each appointment's answers

Revision ID: checklist_1
Revises: selfservice_2
Create Date: 2026-12-04 02:40:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "checklist_1"
down_revision = "rems_1"
branch_labels = None
depends_on = None

# The defaults as they were when this migration was written (services/checklist.py may change
# later; a migration keeps its own copy).
DEFAULT_ITEMS = (
    (
        "Fasting",
        "I will have nothing to eat for 6 hours before my visit (clear drinks until 2 hours before).",
        False,
    ),
    ("Driver", "An adult will take me home after my visit.", True),
    (
        "Medicine holds",
        "I have paused the medicines the clinic asked me to pause before my visit.",
        False,
    ),
    ("No alcohol", "I will have no alcohol for 24 hours before my visit.", False),
)


def upgrade():
    op.create_table(
        "checklist_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_type_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=40), nullable=False),
        sa.Column("prompt", sa.String(length=200), nullable=False),
        sa.Column("asks_driver", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.CheckConstraint("label <> ''", name=op.f("ck_checklist_items_label")),
        sa.ForeignKeyConstraint(
            ["appointment_type_id"],
            ["appointment_types.id"],
            name=op.f("fk_checklist_items_appointment_type_id_appointment_types"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_items")),
    )
    op.create_index(
        op.f("ix_checklist_items_appointment_type_id"),
        "checklist_items",
        ["appointment_type_id"],
    )
    op.create_table(
        "checklist_answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("appointment_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("answer", sa.Boolean(), nullable=False),
        sa.Column("driver_name", sa.String(length=120), nullable=True),
        sa.Column("driver_phone", sa.String(length=40), nullable=True),
        sa.Column("answered_by", sa.String(length=254), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_checklist_answers_appointment_id_appointments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["checklist_items.id"],
            name=op.f("fk_checklist_answers_item_id_checklist_items"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_checklist_answers")),
        sa.UniqueConstraint(
            "appointment_id", "item_id", name=op.f("uq_checklist_answers_appointment_id")
        ),
    )
    op.create_index(
        op.f("ix_checklist_answers_appointment_id"), "checklist_answers", ["appointment_id"]
    )
    bind = op.get_bind()
    type_ids = [row[0] for row in bind.execute(sa.text("SELECT id FROM appointment_types"))]
    items = sa.table(
        "checklist_items",
        sa.column("appointment_type_id", sa.Integer),
        sa.column("position", sa.Integer),
        sa.column("label", sa.String),
        sa.column("prompt", sa.String),
        sa.column("asks_driver", sa.Boolean),
        sa.column("active", sa.Boolean),
    )
    rows = [
        {
            "appointment_type_id": type_id,
            "position": position,
            "label": label,
            "prompt": prompt,
            "asks_driver": asks_driver,
            "active": True,
        }
        for type_id in type_ids
        for position, (label, prompt, asks_driver) in enumerate(DEFAULT_ITEMS, start=1)
    ]
    if rows:
        op.bulk_insert(items, rows)


def downgrade():
    op.drop_index(op.f("ix_checklist_answers_appointment_id"), table_name="checklist_answers")
    op.drop_table("checklist_answers")
    op.drop_index(op.f("ix_checklist_items_appointment_type_id"), table_name="checklist_items")
    op.drop_table("checklist_items")
