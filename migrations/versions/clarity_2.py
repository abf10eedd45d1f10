"""a hold's resume date (the patient is back on the worklist from that date)

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


def downgrade():
    with op.batch_alter_table("courses") as batch:
        batch.drop_column("resume_on")
