"""Recording outcome measures: scored as published, incomplete when an item is missing, charted
by date on the patient page with a table, struck out when entered in error, clinicians only."""

import re
from datetime import UTC, date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from tracker.extensions import db
from tracker.models import Infusion, OutcomeMeasure, Patient
from tracker.outcomes import charts
from tracker.outcomes.instruments import INSTRUMENTS

from .factories import make_course, make_patient


@pytest.fixture
def patient_id(app):
    with app.app_context():
        patient = make_patient()
        db.session.commit()
        return patient.id


def _phq9(answers, taken_at, source="in_clinic") -> dict:
    data = {"taken_at": taken_at, "source": source}
    data.update({f"item_{n}": "" if a is None else str(a) for n, a in enumerate(answers, start=1)})
    return data


def _now() -> str:
    return "2026-11-02T09:00"  # a past clinic time


def test_a_phq9_is_scored_banded_and_charted(app, client, login_as, patient_id):
    """Nine answers summing to 16 store score 16, 'Moderately severe'; the patient page charts it
    and lists it in the table."""
    login_as("clinician")
    form = client.get(f"/patients/{patient_id}/outcomes/phq9/new")
    assert form.status_code == 200 and "Little interest or pleasure" in form.text
    response = client.post(
        f"/patients/{patient_id}/outcomes/phq9/new", data=_phq9([2] * 8 + [0], _now())
    )
    assert response.status_code == 303
    page = client.get(f"/patients/{patient_id}")
    assert "PHQ-9 (depression) saved: score 16 (Moderately severe)." in page.text
    assert "PHQ-9 (depression) scores over time" in page.text
    assert re.search(r"<td>16 of 27</td>\s*<td>Moderately severe</td>", page.text)
    with app.app_context():
        measure = db.session.scalar(select(OutcomeMeasure))
    # A score of 10 reads 10 everywhere (not 10.00 or 1E+1).
    ten = _phq9([2] * 5 + [0] * 4, "2026-11-01T09:00")
    assert client.post(f"/patients/{patient_id}/outcomes/phq9/new", data=ten).status_code == 303
    page = client.get(f"/patients/{patient_id}").text
    assert (
        "score 10 (Moderate)." in page
        and re.search(r"<td>10 of 27</td>", page)
        and "1E+1" not in page
    )
    with app.app_context():
        assert (measure.complete, measure.score, measure.band, measure.answers) == (
            True,
            Decimal(16),
            "Moderately severe",
            [2] * 8 + [0],
        )


def test_a_missing_item_is_stored_incomplete_with_no_score(app, client, login_as, patient_id):
    """Item 4 left unanswered: the measure is kept, incomplete, with no score or band."""
    login_as("clinician")
    answers = [3, 3, 3, None, 3, 3, 3, 3, 0]
    response = client.post(
        f"/patients/{patient_id}/outcomes/phq9/new", data=_phq9(answers, _now(), "phone")
    )
    assert response.status_code == 303
    page = client.get(f"/patients/{patient_id}").text
    assert "saved as incomplete: item 4 not answered, so no score." in page
    assert "Incomplete (items not answered: 4 )" in page
    assert "No complete PHQ-9 score yet." in page
    with app.app_context():
        measure = db.session.scalar(select(OutcomeMeasure))
        assert (measure.complete, measure.score, measure.band, measure.source) == (
            False,
            None,
            None,
            "phone",
        )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"item_1": "4"}, "item_1", "Not a valid choice"),
        ({"taken_at": ""}, "taken_at", "Enter when the answers were given"),
        ({"taken_at": "2100-01-01T09:00"}, "taken_at", "cannot be in the future"),
        ({"taken_at": "1970-01-01T09:00"}, "taken_at", "before the patient"),
        ({"source": "check_in_link"}, "source", "Not a valid choice"),
        ({f"item_{n}": "" for n in range(1, 10)}, "item_1", "Answer at least one item"),
    ],
)
def test_bad_input_is_refused_on_the_field_and_nothing_saved(
    app, client, login_as, patient_id, changes, field, message
):
    """Off-scale answers, missing or impossible dates, a source staff do not record: refused."""
    login_as("clinician")
    data = {**_phq9([1] * 9, _now()), **changes}
    response = client.post(f"/patients/{patient_id}/outcomes/phq9/new", data=data)
    assert response.status_code == 400
    assert re.search(rf'id="{field}-error"[^>]*>[^<]*{re.escape(message)}', response.text), (
        response.text[-2000:]
    )
    with app.app_context():
        assert db.session.scalar(select(func.count(OutcomeMeasure.id))) == 0


def test_every_instrument_has_a_form_and_an_unknown_one_is_404(client, login_as, patient_id):
    """Pain NRS, PEG, PHQ-9, GAD-7 and CADSS-6 each open a form; another name is not found."""
    login_as("clinician")
    for code in INSTRUMENTS:
        assert client.get(f"/patients/{patient_id}/outcomes/{code}/new").status_code == 200
    assert client.get(f"/patients/{patient_id}/outcomes/madrs/new").status_code == 404


def test_front_desk_sees_no_scores(app, client, login_as, patient_id):
    """The front desk cannot open the forms, and its patient page has no outcomes section."""
    with app.app_context():
        db.session.add(
            OutcomeMeasure(
                patient_id=patient_id,
                instrument="gad7",
                taken_at=_aware(),
                taken_on=date(2026, 11, 1),
                answers=[3] * 7,
                complete=True,
                score=21,
                band="Severe",
            )
        )
        db.session.commit()
    login_as("frontdesk")
    assert client.get(f"/patients/{patient_id}/outcomes/gad7/new").status_code == 403
    page = client.get(f"/patients/{patient_id}").text
    assert "Outcomes" not in page and "GAD-7" not in page and "Severe" not in page


def _aware():
    from datetime import datetime

    return datetime(2026, 11, 1, 15, tzinfo=UTC)


def test_entered_in_error_keeps_the_measure_and_drops_it_from_the_chart(
    app, client, login_as, patient_id
):
    """A measure marked entered in error stays in the table, struck out with its reason."""
    login_as("clinician")
    client.post(f"/patients/{patient_id}/outcomes/phq9/new", data=_phq9([1] * 9, _now()))
    with app.app_context():
        measure_id = db.session.scalar(select(OutcomeMeasure.id))
    url = f"/patients/{patient_id}/outcomes/{measure_id}/entered-in-error"
    assert client.post(url, data={"reason": ""}).status_code == 400
    assert client.post(url, data={"reason": "Wrong patient"}).status_code == 303
    page = client.get(f"/patients/{patient_id}").text
    assert "Entered in error: Wrong patient" in page and "No complete PHQ-9 score yet." in page
    assert client.post(url, data={"reason": "again"}).status_code == 400  # already struck out


class _M:
    def __init__(self, day, score, complete=True, in_error=False):
        from datetime import datetime, time

        self.taken_on, self.score, self.complete, self.in_error = (
            day,
            Decimal(score),
            complete,
            in_error,
        )
        self.taken_at, self.id, self.band = datetime.combine(day, time(12), tzinfo=UTC), 0, None
        self.instrument = "phq9"


def test_chart_places_scores_by_date_and_skips_incomplete_ones():
    """Points sit by date (a long gap is a long gap); the top of the scale is the instrument's
    maximum; band edges are drawn; incomplete and struck-out measures are not points; sessions
    within the charted dates are marked on the same scale."""
    start = date(2026, 1, 1)
    measures = [
        _M(start, 20),
        _M(start + timedelta(days=1), 10),
        _M(start + timedelta(days=10), 0),
        _M(start + timedelta(days=5), 5, complete=False),
        _M(start + timedelta(days=6), 5, in_error=True),
    ]
    sessions = [start - timedelta(days=1), start + timedelta(days=5), start + timedelta(days=11)]
    chart = charts.chart(INSTRUMENTS["phq9"], measures, sessions)
    assert [p.x for p in chart.points] == [50.0, 121.0, 760.0]
    assert chart.sessions == [(405.0, start + timedelta(days=5))]  # only those inside the dates
    assert [p.y for p in chart.points] == [charts.y_of(20, 27), charts.y_of(10, 27), 200.0]
    assert [label for label, _ in chart.edges] == [
        "Mild",
        "Moderate",
        "Moderately severe",
        "Severe",
    ]
    assert charts.chart(INSTRUMENTS["phq9"], measures[3:]) is None
    assert [h.instrument.code for h in charts.histories(measures)] == ["phq9"]


def test_a_cadss6_in_the_chair_belongs_to_its_session(app, client, login_as, patient_id):
    """Recorded from the monitoring sheet, a CADSS-6 keeps its session; another patient's session
    is not found."""
    with app.app_context():
        course = make_course(db.session.get(Patient, patient_id), state="maintenance")
        infusion = Infusion(
            course=course, patient_id=patient_id, given_at=_aware(), given_on=date(2026, 11, 1)
        )
        db.session.add(infusion)
        other = make_patient()
        db.session.commit()
        infusion_id, other_id, course_id = infusion.id, other.id, course.id
    login_as("clinician")
    url = f"/patients/{patient_id}/outcomes/cadss6/new?infusion_id={infusion_id}"
    assert "in the session of" in client.get(url).text
    data = {
        "taken_at": "2026-11-01T10:30",
        "source": "in_clinic",
        **{f"item_{n}": "2" for n in range(1, 7)},
    }
    assert client.post(url, data=data).status_code == 303
    with app.app_context():
        measure = db.session.scalar(select(OutcomeMeasure))
        assert (measure.infusion_id, measure.course_id, measure.score) == (
            infusion_id,
            course_id,
            Decimal(12),
        )
    assert (
        client.get(
            f"/patients/{other_id}/outcomes/cadss6/new?infusion_id={infusion_id}"
        ).status_code
        == 404
    )
    assert (
        client.get(f"/patients/{patient_id}/outcomes/cadss6/new?infusion_id=abc").status_code == 404
    )
