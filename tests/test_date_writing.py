"""One way to write a date: templates and views leave dates and times to tracker/formatting.py.

A template that writes a date by hand (strftime, an ISO string where people read it) or a
view that spells out day or month names itself fails here; ISO stays allowed where machines
read it: in URLs, `datetime` and `value` attributes and data attributes.
"""

import re
from datetime import date, time
from pathlib import Path

from tracker.extensions import db
from tracker.models import ClinicSettings

from .schedule_fixtures import add_appointment, at, maintenance_patient, setup_clinic

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = ROOT / "templates"
TRACKER = ROOT / "tracker"

# An ISO string is for machines: a keyword argument (url_for's date=...), or an attribute
# that browsers and scripts read.
MACHINE_ATTRIBUTE = re.compile(r'(?:datetime|value|min|max|href|action|data-[\w-]+)="[^"]*$')
KEYWORD_ARGUMENT = re.compile(r"\w+=\s*$")
EXPRESSION = re.compile(r"\{\{(.*?)\}\}|\{%(.*?)%\}", re.S)
ISOFORMAT = re.compile(r"[\w.()\[\]]+\.isoformat\(")
# Day and month names written by Python instead of formatting.py.
NAMES_BY_HAND = re.compile(r"%-?[aAbB]\b|:%-?[aAbB]\}")


def hand_written_dates(text: str) -> list[str]:
    """The places in one template's text that format a date or time by hand."""
    found = [f"strftime: {m.group(0)}" for m in re.finditer(r"strftime\([^)]*\)", text)]
    found += [
        f"filter: {m.group(0)}" for m in re.finditer(r"\|\s*(schedule_local|patient_day)\b", text)
    ]
    for expression in EXPRESSION.finditer(text):
        inside = expression.group(1) or expression.group(2)
        before_tag = text[: expression.start()]
        in_attribute = bool(MACHINE_ATTRIBUTE.search(before_tag[before_tag.rfind("<") :])) and (
            before_tag.rfind("<") > before_tag.rfind(">")
        )
        for iso in ISOFORMAT.finditer(inside):
            if in_attribute or KEYWORD_ARGUMENT.search(inside[: iso.start()]):
                continue
            found.append(f"isoformat where people read it: {inside.strip()[:80]}")
    return found


def test_the_scan_catches_each_way_of_writing_a_date_by_hand():
    """The scanner flags strftime, the old filters and an ISO date in text or a label, and
    lets ISO through in URLs and machine attributes (so the test below can fail)."""
    assert hand_written_dates("<h1>{{ day.strftime('%A %d %B') }}</h1>")
    assert hand_written_dates("<td>{{ a.start_at|schedule_local('%H:%M') }}</td>")
    assert hand_written_dates("{% block title %}Week of {{ monday.isoformat() }}{% endblock %}")
    assert hand_written_dates('<a aria-label="Book {{ cell.isoformat() }}" href="/">x</a>')
    assert not hand_written_dates("<a href=\"{{ url_for('schedule.day', date=d.isoformat()) }}\">")
    assert not hand_written_dates('<time datetime="{{ at.isoformat() }}">{{ at|when }}</time>')
    assert not hand_written_dates("{%- set _ = args.update(day=d.isoformat()) -%}")
    assert not hand_written_dates("<p>{{ day|day }} at {{ start|clock }}</p>")


def test_no_template_formats_a_date_by_hand():
    """Every template (pages and emails) writes dates and times through |day, |clock, |when."""
    offenders = {
        str(path.relative_to(TEMPLATES)): found
        for path in sorted(TEMPLATES.rglob("*"))
        if path.suffix in (".html", ".txt", ".ics")
        and (found := hand_written_dates(path.read_text()))
    }
    assert offenders == {}


def test_no_python_module_spells_out_day_or_month_names():
    """Outside formatting.py no module writes day or month names with strftime codes."""
    offenders = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in sorted(TRACKER.rglob("*.py"))
        if path.name != "formatting.py"
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if NAMES_BY_HAND.search(line)
    ]
    assert offenders == []


def test_schedule_pages_follow_the_clinic_date_and_clock_styles(app, client, login_as):
    """With the long date style and a 12-hour clock, the day sheet, the week, the appointment
    page and the move page write the visit that way, and nowhere an ISO date."""
    monday = date(2027, 1, 4)
    with app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        settings.date_style, settings.time_style = "long", "12h"
        clinic = setup_clinic(opens=time(8), closes=time(18))
        patient, course = maintenance_patient(date(2026, 12, 1))
        visit = add_appointment(
            patient, clinic["chairs"][0], clinic["maintenance"], at(monday, 14, 30), course=course
        )
        db.session.commit()
        visit_id = visit.id
    login_as("frontdesk")
    pages = {
        "day": f"/schedule/day?date={monday.isoformat()}",
        "week": f"/schedule/week?date={monday.isoformat()}",
        "appointment": f"/schedule/appointments/{visit_id}",
        "move": f"/schedule/appointments/{visit_id}/move",
    }
    for name, url in pages.items():
        response = client.get(url)
        assert response.status_code == 200, (name, url)
        body = response.get_data(as_text=True)
        text = re.sub(r"<[^>]+>", " ", body)  # what people read, not the attributes
        assert "Monday 4 January 2027" in text, name
        assert "2:30 pm" in text, name
        assert "2027-01-04" not in text and "14:30" not in text, name
