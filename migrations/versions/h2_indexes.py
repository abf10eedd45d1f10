"""indexes for status lists at scale (worklist, due)

Revision ID: h2_indexes
Revises: 0001
Create Date: 2026-11-26 02:30:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = 'h2_indexes'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_courses_state_mode_closes', 'courses',
                    ['state', 'mode', 'window_closes', 'window_opens'], unique=False)
    op.create_index('ix_courses_state_mode_opens', 'courses', ['state', 'mode', 'window_opens'],
                    unique=False)
    op.create_index('ix_courses_state_last_qualifying', 'courses', ['state', 'last_qualifying_on'],
                    unique=False)


def downgrade():
    op.drop_index('ix_courses_state_last_qualifying', table_name='courses')
    op.drop_index('ix_courses_state_mode_opens', table_name='courses')
    op.drop_index('ix_courses_state_mode_closes', table_name='courses')
