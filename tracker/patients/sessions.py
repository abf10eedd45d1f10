"""What the clinician reads after saving a session (the patient's and the appointment's forms)."""

from ..formatting import style_for
from ..models import Course, Infusion
from ..services import infusions as infusion_service


def session_messages(
    infusion: Infusion, course: Course, previous_dose, settings
) -> list[tuple[str, str]]:
    """What the clinician reads after saving: the total, the window the course now has, and a
    warning when the dose is far from the last one."""
    _day = style_for(settings).day
    total = f" Total dose {infusion.total_mg} mg." if infusion.total_mg is not None else ""
    if course.state == "maintenance" and course.mode == "scheduled" and course.window_opens:
        after = (
            f" Next window: {_day(course.window_opens)} to {_day(course.window_closes)}"
            f" (last maintenance infusion {_day(course.anchor_date)})."
        )
    elif course.state == "maintenance":
        after = " Maintenance is as needed: no window."
    else:
        done = min(course.qualifying_count, course.series_planned)
        after = f" Series: {done} of {course.series_planned} sessions given."
    messages = [(f"Infusion recorded.{total}{after}", "success")]
    change = infusion_service.dose_change_percent(previous_dose, infusion.dose_mg_per_kg)
    if change is not None and change > settings.dose_change_warn_percent:
        messages.append(
            (
                f"Check the dose: {infusion.dose_mg_per_kg} mg/kg differs from the last "
                f"({previous_dose} mg/kg) by {change}%, more than the clinic's "
                f"{settings.dose_change_warn_percent}%.",
                "error",
            )
        )
    return messages
