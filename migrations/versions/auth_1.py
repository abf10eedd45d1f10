"""staff sessions, second factor and recovery codes, login attempts with an outcome,
idle timeout and two-factor clinic settings

Revision ID: auth_1
Revises: api_2
Create Date: 2026-12-03 18:45:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "auth_1"
down_revision = "api_2"
branch_labels = None
depends_on = None

OUTCOMES = "outcome IN ('ok','partial','wrong','held','unlocked')"


def upgrade():
    op.create_table(
        "staff_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("remember", sa.Boolean(), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("user_agent", sa.String(length=200), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_reason", sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_sessions_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_staff_sessions_token_hash")),
    )
    with op.batch_alter_table("staff_sessions") as batch:
        batch.create_index(
            "ix_staff_sessions_user_id_ended_at", ["user_id", "ended_at"], unique=False
        )
    op.create_table(
        "recovery_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_codes")),
    )
    with op.batch_alter_table("recovery_codes") as batch:
        batch.create_index("ix_recovery_codes_user_id", ["user_id"], unique=False)
    with op.batch_alter_table("users") as batch:
        batch.drop_column("failed_logins")
        batch.drop_column("locked_until")
        batch.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("totp_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("totp_last_step", sa.Integer(), nullable=True))
    with op.batch_alter_table("login_attempts") as batch:
        batch.add_column(
            sa.Column("outcome", sa.String(length=10), nullable=False, server_default="wrong")
        )
    op.execute("UPDATE login_attempts SET outcome = 'ok' WHERE success")
    with op.batch_alter_table("login_attempts") as batch:
        batch.alter_column("outcome", server_default=None)
        batch.drop_column("success")
        batch.create_check_constraint("outcome", OUTCOMES)
        batch.create_index("ix_login_attempts_email_at", ["email", "at"], unique=False)
    with op.batch_alter_table("clinic_settings") as batch:
        batch.add_column(
            sa.Column("idle_timeout_minutes", sa.Integer(), nullable=False, server_default="30")
        )
        batch.add_column(
            sa.Column(
                "two_factor_for_everyone", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("clinic_settings") as batch:
        batch.alter_column("idle_timeout_minutes", server_default=None)
        batch.alter_column("two_factor_for_everyone", server_default=None)


def downgrade():
    with op.batch_alter_table("clinic_settings") as batch:
        batch.drop_column("two_factor_for_everyone")
        batch.drop_column("idle_timeout_minutes")
    with op.batch_alter_table("login_attempts") as batch:
        batch.add_column(
            sa.Column("success", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    op.execute("UPDATE login_attempts SET success = (outcome = 'ok')")
    with op.batch_alter_table("login_attempts") as batch:
        batch.alter_column("success", server_default=None)
        batch.drop_index("ix_login_attempts_email_at")
        batch.drop_constraint("ck_login_attempts_outcome", type_="check")
        batch.drop_column("outcome")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("totp_last_step")
        batch.drop_column("totp_enabled_at")
        batch.drop_column("totp_secret")
        batch.add_column(
            sa.Column("failed_logins", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.alter_column("failed_logins", server_default=None)
    op.drop_table("recovery_codes")
    op.drop_table("staff_sessions")
