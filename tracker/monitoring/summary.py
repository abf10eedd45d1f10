"""The monitoring sheets of a patient in brief, for the patient page (one query)."""

from sqlalchemy import select

from ..extensions import db
from ..models import MonitoringReading, MonitoringSheet


def sheet_summaries(patient_id: int) -> dict[int, str]:
    """{infusion id: '4 readings, 1 flagged; discharged'} for each session with a sheet."""
    rows = db.session.execute(
        select(
            MonitoringSheet.infusion_id,
            MonitoringSheet.released_at,
            MonitoringReading.id,
            MonitoringReading.flags,
            MonitoringReading.entered_in_error_at,
        )
        .outerjoin(MonitoringReading, MonitoringReading.sheet_id == MonitoringSheet.id)
        .where(MonitoringSheet.patient_id == patient_id)
    )
    counts: dict[int, list] = {}
    for infusion_id, released_at, reading_id, flags, in_error_at in rows:
        count = counts.setdefault(infusion_id, [0, 0, released_at is not None])
        if reading_id is not None and in_error_at is None:
            count[0] += 1
            count[1] += 1 if flags else 0
    summaries = {}
    for infusion_id, (readings, flagged, released) in counts.items():
        text = f"{readings} reading{'s' if readings != 1 else ''}"
        if flagged:
            text += f", {flagged} flagged"
        if released:
            text += "; discharged"
        summaries[infusion_id] = text
    return summaries
