"""index to find active appointments by status (worklist booked counts)

Revision ID: p1_appointment_status
Revises: h2_indexes
Create Date: 2026-11-26 03:35:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'p1_appointment_status'
down_revision = 'h2_indexes'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_appointments_status_course', 'appointments', ['status', 'course_id'],
                    unique=False)


def downgrade():
    op.drop_index('ix_appointments_status_course', table_name='appointments')
