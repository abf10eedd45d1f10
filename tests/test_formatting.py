"""One way to write dates and times: the clinic's date and clock styles, in clinic time."""

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from tracker.extensions import db
from tracker.formatting import DATE_STYLES, Style, format_clock, format_day
from tracker.models import ClinicSettings

from .factories import make_patient

DAY = date(2026, 12, 2)


@pytest.mark.parametrize("style", list(DATE_STYLES))
def test_each_date_style_writes_its_own_example(style):
    """Every style the admin is offered writes 2 Dec 2026 exactly as its example shows."""
    assert format_day(DAY, style) == DATE_STYLES[style]


def test_default_date_style_and_single_digit_days():
    """The default is 'Wed 2 Dec 2026'; days are not zero-padded in words."""
    assert format_day(DAY) == "Wed 2 Dec 2026"
    assert format_day(date(2028, 2, 29)) == "Tue 29 Feb 2028"


@pytest.mark.parametrize(
    "moment, h24, h12",
    [
        (time(14, 30), "14:30", "2:30 pm"),
        (time(9, 5), "09:05", "9:05 am"),
        (time(0, 0), "00:00", "midnight"),
        (time(12, 0), "12:00", "noon"),
        (time(0, 30), "00:30", "12:30 am"),
        (time(12, 45), "12:45", "12:45 pm"),
    ],
)
def test_clock_styles(moment, h24, h12):
    """24-hour and 12-hour clocks, with noon and midnight written out."""
    assert (format_clock(moment, "24h"), format_clock(moment, "12h")) == (h24, h12)


def test_instants_are_shown_in_clinic_time_on_the_clinic_date():
    """An instant at 03:30 UTC is the evening before in New York; summer and winter offsets differ."""
    style = Style("weekday", "24h", ZoneInfo("America/New_York"))
    late = datetime(2026, 12, 3, 3, 30, tzinfo=UTC)
    assert style.when(late) == "Wed 2 Dec 2026, 22:30"
    assert style.day(late) == "Wed 2 Dec 2026"
    assert style.clock(datetime(2026, 7, 1, 13, 0, tzinfo=UTC)) == "09:00"  # EDT
    assert style.when(None) == style.day(None) == "—"


def test_pages_follow_the_clinic_setting(client, login_as, app):
    """After the admin picks the long date style and 12-hour clock, the patient page writes the
    date of birth that way; no ISO date is left where people read it."""
    with app.app_context():
        settings = db.session.get(ClinicSettings, 1)
        settings.date_style, settings.time_style = "long", "12h"
        patient = make_patient(date_of_birth=date(1980, 5, 17))
        db.session.commit()
        patient_id = patient.id
    login_as("frontdesk")
    body = client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "Saturday 17 May 1980" in body and "1980-05-17" not in body
    listing = client.get("/patients/?q=Rivera").get_data(as_text=True)
    assert "Saturday 17 May 1980" in listing
