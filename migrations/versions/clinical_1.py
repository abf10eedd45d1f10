"""the monitoring sheet (timed readings, release) replaces a session's single set of vitals;
outcome measures (pain NRS, PEG, PHQ-9, GAD-7, CADSS-6)

Each infusion's vitals become the baseline reading of its monitoring sheet, timed at the
session, flagged against the default ranges (the ranges a new clinic starts with). A stored
value no person can have (never accepted by the session form, which checked the same limits)
is kept in the reading's note rather than as a number.

Revision ID: clinical_1
Revises: clarity_1
Create Date: 2026-12-04 01:30:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "clinical_1"
down_revision = "clarity_2"
branch_labels = None
depends_on = None

VITALS = ("bp_systolic", "bp_diastolic", "heart_rate", "spo2")
# As in tracker/models/monitoring.py when this revision was written (a migration keeps its own).
POSSIBLE = {
    "bp_systolic": (40, 300),
    "bp_diastolic": (20, 200),
    "heart_rate": (20, 250),
    "spo2": (50, 100),
}
DEFAULT_RANGES = {
    "bp_systolic": (90, 160),
    "bp_diastolic": (50, 100),
    "heart_rate": (50, 110),
    "spo2": (94, None),
}
LABELS = {
    "bp_systolic": "systolic",
    "bp_diastolic": "diastolic",
    "heart_rate": "heart rate",
    "spo2": "SpO2",
}
BATCH = 5000
ONE_OF_KIND = "kind IN ('baseline', 'discharge') AND entered_in_error_at IS NULL"


def _possible_sql(name: str) -> str:
    low, high = POSSIBLE[name]
    check = f"i.{name} BETWEEN {low} AND {high}"
    if name == "bp_diastolic":  # the pair must read diastolic below systolic, or both are notes
        check += " AND (i.bp_systolic IS NULL OR i.bp_diastolic < i.bp_systolic)"
    if name == "bp_systolic":
        check += " AND (i.bp_diastolic IS NULL OR i.bp_diastolic < i.bp_systolic)"
    return check


def _kept(row) -> tuple[dict, str]:
    """The values a reading may hold, and a note of those it may not."""
    values, odd = {}, []
    pair_ok = (
        row.bp_systolic is None or row.bp_diastolic is None or row.bp_diastolic < row.bp_systolic
    )
    for name in VITALS:
        value = getattr(row, name)
        low, high = POSSIBLE[name]
        ok = value is None or (
            low <= value <= high and (name not in ("bp_systolic", "bp_diastolic") or pair_ok)
        )
        values[name] = value if ok else None
        if not ok:
            odd.append(f"{LABELS[name]} {value}")
    note = (
        f"Recorded on the session as: {', '.join(odd)} (outside the possible range)." if odd else ""
    )
    return values, note


def _flags(values: dict) -> dict:
    flags = {}
    for name, (low, high) in DEFAULT_RANGES.items():
        value = values.get(name)
        if value is None:
            continue
        if low is not None and value < low:
            flags[name] = "low"
        elif high is not None and value > high:
            flags[name] = "high"
    return flags


def upgrade():
    op.create_table(
        "monitoring_settings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("interval_min", sa.Integer(), nullable=False),
        sa.Column("bp_systolic_low", sa.Integer(), nullable=True),
        sa.Column("bp_systolic_high", sa.Integer(), nullable=True),
        sa.Column("bp_diastolic_low", sa.Integer(), nullable=True),
        sa.Column("bp_diastolic_high", sa.Integer(), nullable=True),
        sa.Column("heart_rate_low", sa.Integer(), nullable=True),
        sa.Column("heart_rate_high", sa.Integer(), nullable=True),
        sa.Column("spo2_low", sa.Integer(), nullable=True),
        sa.Column("spo2_high", sa.Integer(), nullable=True),
        sa.Column("respiratory_rate_low", sa.Integer(), nullable=True),
        sa.Column("respiratory_rate_high", sa.Integer(), nullable=True),
        sa.Column("sedation_low", sa.Integer(), nullable=True),
        sa.Column("sedation_high", sa.Integer(), nullable=True),
        sa.Column("dissociation_low", sa.Integer(), nullable=True),
        sa.Column("dissociation_high", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "bp_diastolic_low IS NULL OR bp_diastolic_high IS NULL OR bp_diastolic_low <= bp_diastolic_high",
            name=op.f("ck_monitoring_settings_bp_diastolic_limits"),
        ),
        sa.CheckConstraint(
            "bp_systolic_low IS NULL OR bp_systolic_high IS NULL OR bp_systolic_low <= bp_systolic_high",
            name=op.f("ck_monitoring_settings_bp_systolic_limits"),
        ),
        sa.CheckConstraint(
            "dissociation_low IS NULL OR dissociation_high IS NULL OR dissociation_low <= dissociation_high",
            name=op.f("ck_monitoring_settings_dissociation_limits"),
        ),
        sa.CheckConstraint(
            "heart_rate_low IS NULL OR heart_rate_high IS NULL OR heart_rate_low <= heart_rate_high",
            name=op.f("ck_monitoring_settings_heart_rate_limits"),
        ),
        sa.CheckConstraint(
            "interval_min >= 1 AND interval_min <= 240",
            name=op.f("ck_monitoring_settings_interval_min"),
        ),
        sa.CheckConstraint(
            "respiratory_rate_low IS NULL OR respiratory_rate_high IS NULL OR respiratory_rate_low <= respiratory_rate_high",
            name=op.f("ck_monitoring_settings_respiratory_rate_limits"),
        ),
        sa.CheckConstraint(
            "sedation_low IS NULL OR sedation_high IS NULL OR sedation_low <= sedation_high",
            name=op.f("ck_monitoring_settings_sedation_limits"),
        ),
        sa.CheckConstraint(
            "spo2_low IS NULL OR spo2_high IS NULL OR spo2_low <= spo2_high",
            name=op.f("ck_monitoring_settings_spo2_limits"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_settings")),
    )
    op.create_table(
        "monitoring_sheets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("infusion_id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stopped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_to_leave_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("released_by_id", sa.Integer(), nullable=True),
        sa.Column("released_to", sa.String(length=120), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "released_at IS NULL OR released_at >= started_at",
            name=op.f("ck_monitoring_sheets_released_after_start"),
        ),
        sa.CheckConstraint(
            "stopped_at IS NULL OR stopped_at >= started_at",
            name=op.f("ck_monitoring_sheets_stopped_after_start"),
        ),
        sa.ForeignKeyConstraint(
            ["infusion_id"],
            ["infusions.id"],
            name=op.f("fk_monitoring_sheets_infusion_id_infusions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_monitoring_sheets_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["released_by_id"],
            ["users.id"],
            name=op.f("fk_monitoring_sheets_released_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_sheets")),
        sa.UniqueConstraint("infusion_id", name=op.f("uq_monitoring_sheets_infusion_id")),
    )
    with op.batch_alter_table("monitoring_sheets", schema=None) as batch_op:
        batch_op.create_index("ix_monitoring_sheets_patient", ["patient_id"], unique=False)

    op.create_table(
        "outcome_measures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("infusion_id", sa.Integer(), nullable=True),
        sa.Column("instrument", sa.String(length=12), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("taken_on", sa.Date(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("complete", sa.Boolean(), nullable=False),
        sa.Column("score", sa.Numeric(precision=5, scale=2), nullable=True),
        sa.Column("band", sa.String(length=30), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_in_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entered_in_error_reason", sa.String(length=200), nullable=True),
        sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "instrument IN ('pain_nrs','peg','phq9','gad7','cadss6')",
            name=op.f("ck_outcome_measures_measure_instrument"),
        ),
        sa.CheckConstraint(
            "source IN ('in_clinic','phone','check_in_link')",
            name=op.f("ck_outcome_measures_measure_source"),
        ),
        sa.CheckConstraint(
            "complete = (score IS NOT NULL)",
            name=op.f("ck_outcome_measures_measure_score_when_complete"),
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_outcome_measures_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["entered_in_error_by_id"],
            ["users.id"],
            name=op.f("fk_outcome_measures_entered_in_error_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["infusion_id"],
            ["infusions.id"],
            name=op.f("fk_outcome_measures_infusion_id_infusions"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_outcome_measures_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_outcome_measures_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_measures")),
    )
    with op.batch_alter_table("outcome_measures", schema=None) as batch_op:
        batch_op.create_index(
            "ix_outcome_measures_patient_instrument_taken",
            ["patient_id", "instrument", "taken_on"],
            unique=False,
        )

    op.create_table(
        "monitoring_readings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sheet_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("taken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("bp_systolic", sa.Integer(), nullable=True),
        sa.Column("bp_diastolic", sa.Integer(), nullable=True),
        sa.Column("heart_rate", sa.Integer(), nullable=True),
        sa.Column("spo2", sa.Integer(), nullable=True),
        sa.Column("respiratory_rate", sa.Integer(), nullable=True),
        sa.Column("sedation", sa.Integer(), nullable=True),
        sa.Column("dissociation", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("flags", sa.JSON(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("entered_in_error_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("entered_in_error_reason", sa.String(length=200), nullable=True),
        sa.Column("entered_in_error_by_id", sa.Integer(), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.CheckConstraint(
            "kind IN ('baseline','interval','discharge')",
            name=op.f("ck_monitoring_readings_reading_kind"),
        ),
        sa.CheckConstraint(
            "bp_diastolic IS NULL OR (bp_diastolic >= 20 AND bp_diastolic <= 200)",
            name=op.f("ck_monitoring_readings_reading_bp_diastolic"),
        ),
        sa.CheckConstraint(
            "bp_diastolic IS NULL OR bp_systolic IS NULL OR bp_diastolic < bp_systolic",
            name=op.f("ck_monitoring_readings_reading_bp_order"),
        ),
        sa.CheckConstraint(
            "bp_systolic IS NULL OR (bp_systolic >= 40 AND bp_systolic <= 300)",
            name=op.f("ck_monitoring_readings_reading_bp_systolic"),
        ),
        sa.CheckConstraint(
            "dissociation IS NULL OR (dissociation >= 0 AND dissociation <= 24)",
            name=op.f("ck_monitoring_readings_reading_dissociation"),
        ),
        sa.CheckConstraint(
            "heart_rate IS NULL OR (heart_rate >= 20 AND heart_rate <= 250)",
            name=op.f("ck_monitoring_readings_reading_heart_rate"),
        ),
        sa.CheckConstraint(
            "respiratory_rate IS NULL OR (respiratory_rate >= 2 AND respiratory_rate <= 60)",
            name=op.f("ck_monitoring_readings_reading_respiratory_rate"),
        ),
        sa.CheckConstraint(
            "sedation IS NULL OR (sedation >= 0 AND sedation <= 5)",
            name=op.f("ck_monitoring_readings_reading_sedation"),
        ),
        sa.CheckConstraint(
            "spo2 IS NULL OR (spo2 >= 50 AND spo2 <= 100)",
            name=op.f("ck_monitoring_readings_reading_spo2"),
        ),
        sa.ForeignKeyConstraint(
            ["entered_in_error_by_id"],
            ["users.id"],
            name=op.f("fk_monitoring_readings_entered_in_error_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"],
            ["users.id"],
            name=op.f("fk_monitoring_readings_recorded_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["sheet_id"],
            ["monitoring_sheets.id"],
            name=op.f("fk_monitoring_readings_sheet_id_monitoring_sheets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_readings")),
    )
    with op.batch_alter_table("monitoring_readings", schema=None) as batch_op:
        batch_op.create_index(
            "ix_monitoring_readings_sheet_taken", ["sheet_id", "taken_at"], unique=False
        )
        batch_op.create_index(
            "uq_monitoring_readings_one_of_kind",
            ["sheet_id", "kind"],
            unique=True,
            sqlite_where=sa.text(ONE_OF_KIND),
            postgresql_where=sa.text(ONE_OF_KIND),
        )

    _vitals_to_readings()
    for name in VITALS:
        op.execute(sa.text(f"ALTER TABLE infusions DROP COLUMN {name}"))


def _vitals_to_readings():
    """One sheet and one baseline reading per infusion that has any vital recorded."""
    bind = op.get_bind()
    any_vital = " OR ".join(f"i.{name} IS NOT NULL" for name in VITALS)
    bind.execute(
        sa.text(
            "INSERT INTO monitoring_sheets (infusion_id, patient_id, started_at, created_at, version) "
            f"SELECT i.id, i.patient_id, i.given_at, CURRENT_TIMESTAMP, 1 FROM infusions i WHERE {any_vital}"
        )
    )
    kept = ", ".join(f"CASE WHEN {_possible_sql(name)} THEN i.{name} END" for name in VITALS)
    bind.execute(
        sa.text(
            "INSERT INTO monitoring_readings (sheet_id, kind, taken_at, "
            f"{', '.join(VITALS)}, notes, flags, created_at, version) "
            f"SELECT s.id, 'baseline', i.given_at, {kept}, '', '{{}}', CURRENT_TIMESTAMP, 1 "
            "FROM infusions i JOIN monitoring_sheets s ON s.infusion_id = i.id"
        )
    )
    # Flags and notes only where a value is outside the default ranges or impossible (few rows).
    outside = []
    for name, (low, high) in DEFAULT_RANGES.items():
        if low is not None:
            outside.append(f"i.{name} < {low}")
        if high is not None:
            outside.append(f"i.{name} > {high}")
    outside.append("i.bp_diastolic >= i.bp_systolic")
    readings = sa.table(
        "monitoring_readings",
        sa.column("id", sa.Integer),
        sa.column("notes", sa.Text),
        sa.column("flags", sa.JSON),
    )
    update = (
        sa.update(readings)
        .where(readings.c.id == sa.bindparam("reading_id"))
        .values(notes=sa.bindparam("new_notes"), flags=sa.bindparam("new_flags", type_=sa.JSON))
    )
    rows = bind.execute(
        sa.text(
            f"SELECT r.id AS reading_id, {', '.join('i.' + n for n in VITALS)} FROM infusions i "
            "JOIN monitoring_sheets s ON s.infusion_id = i.id JOIN monitoring_readings r ON r.sheet_id = s.id "
            f"WHERE {' OR '.join(outside)} ORDER BY r.id"
        )
    ).fetchall()
    for start in range(0, len(rows), BATCH):
        changes = []
        for row in rows[start : start + BATCH]:
            values, note = _kept(row)
            changes.append(
                {"reading_id": row.reading_id, "new_notes": note, "new_flags": _flags(values)}
            )
        bind.execute(update, changes)


def downgrade():
    for name in VITALS:
        op.add_column("infusions", sa.Column(name, sa.Integer(), nullable=True))
    # The earliest baseline reading not entered in error goes back on its session.
    for name in VITALS:
        op.execute(
            sa.text(
                f"UPDATE infusions SET {name} = (SELECT r.{name} FROM monitoring_readings r "
                "JOIN monitoring_sheets s ON s.id = r.sheet_id WHERE s.infusion_id = infusions.id "
                "AND r.kind = 'baseline' AND r.entered_in_error_at IS NULL ORDER BY r.taken_at, r.id LIMIT 1)"
            )
        )
    with op.batch_alter_table("monitoring_readings", schema=None) as batch_op:
        batch_op.drop_index("uq_monitoring_readings_one_of_kind")
        batch_op.drop_index("ix_monitoring_readings_sheet_taken")

    op.drop_table("monitoring_readings")
    with op.batch_alter_table("outcome_measures", schema=None) as batch_op:
        batch_op.drop_index("ix_outcome_measures_patient_instrument_taken")

    op.drop_table("outcome_measures")
    with op.batch_alter_table("monitoring_sheets", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_sheets_patient")

    op.drop_table("monitoring_sheets")
    op.drop_table("monitoring_settings")
