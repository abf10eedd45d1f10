"""Course facts follow the infusions: series completion, anchors, boosters, removal."""
from datetime import date
from decimal import Decimal

import pytest

from tracker.extensions import db
from tracker.models import utcnow
from tracker.services.clinic import get_settings
from tracker.services.courses import end_series_early
from tracker.services.errors import RuleError
from tracker.services.infusions import mark_in_error, record_infusion

from .factories import local_noon, make_course, make_patient

TODAY = date(2026, 11, 26)
SERIES_DAYS = [date(2026, 3, d) for d in (2, 4, 6, 9, 11, 13)]


def _record(course, day, **kw):
    return record_infusion(course, actor="test", settings=get_settings(), today=TODAY,
                           given_at=local_noon(day), **kw)


def test_series_completes_and_anchors(app_ctx):
    """Six Mon/Wed/Fri infusions: anchor 2026-03-13, window 04-12 to 06-11 (DOMAIN.md)."""
    course = make_course(make_patient())
    for day in SERIES_DAYS:
        _record(course, day)
    assert course.state == "maintenance"
    assert course.anchor_date == date(2026, 3, 13)
    assert (course.window_opens, course.window_closes) == (date(2026, 4, 12), date(2026, 6, 11))


def test_early_booster_needs_reason_and_reanchors(app_ctx):
    """A booster on day 20 is refused without a reason, then flagged early and re-anchors."""
    course = make_course(make_patient(), series_planned=1)
    _record(course, date(2026, 3, 2))
    with pytest.raises(RuleError) as error:
        _record(course, date(2026, 3, 22))
    assert error.value.field == "early_reason"
    booster = _record(course, date(2026, 3, 22), early_reason="flare after surgery")
    assert booster.is_booster and booster.early
    assert (course.window_opens, course.window_closes) == (date(2026, 4, 21), date(2026, 6, 20))


def test_not_started_does_not_count(app_ctx):
    """A not_started session neither advances the series nor moves the anchor."""
    course = make_course(make_patient(), series_planned=1)
    _record(course, date(2026, 3, 2))
    _record(course, date(2026, 4, 10), outcome="not_started")
    assert course.anchor_date == date(2026, 3, 2)


def test_total_mg_computed(app_ctx):
    """Total mg is weight times mg/kg."""
    course = make_course(make_patient())
    infusion = _record(course, date(2026, 3, 2), weight_kg=Decimal("72.5"), dose_mg_per_kg=Decimal("0.5"))
    assert infusion.total_mg == Decimal("36.25")


def test_end_series_early_then_booster(app_ctx):
    """Ending a series after two infusions anchors on the second; the next one is a booster."""
    course = make_course(make_patient())
    _record(course, date(2026, 3, 2))
    _record(course, date(2026, 3, 4))
    end_series_early(course, actor="test")
    assert course.state == "maintenance" and course.anchor_date == date(2026, 3, 4)
    booster = _record(course, date(2026, 4, 10))
    assert booster.is_booster and not booster.early


def test_an_infusion_entered_in_error_no_longer_anchors(app_ctx):
    """The last series infusion marked entered in error returns the course to its series; the row stays."""
    course = make_course(make_patient(), series_planned=2)
    _record(course, date(2026, 3, 2))
    last = _record(course, date(2026, 3, 4))
    assert course.state == "maintenance"
    mark_in_error(last, actor="test", reason="recorded twice", now=utcnow())
    assert course.state == "series_in_progress" and course.anchor_date is None
    assert last in course.infusions and not last.qualifies and course.qualifying_count == 1
    db.session.rollback()


def test_an_infusion_in_error_after_ending_the_series_early_keeps_a_window(app_ctx):
    """A series ended early stays anchored on its last qualifying infusion when one is entered in error."""
    course = make_course(make_patient())
    _record(course, date(2026, 3, 2))
    second = _record(course, date(2026, 3, 4))
    end_series_early(course, actor="test")
    mark_in_error(second, actor="test", reason="wrong patient", now=utcnow())
    assert course.state == "maintenance" and course.anchor_date == date(2026, 3, 2)
    assert (course.window_opens, course.window_closes) == (date(2026, 4, 1), date(2026, 5, 31))


def test_entered_in_error_restores_the_previous_window_and_flags(app_ctx):
    """A booster entered in error: the window returns to the one before it, later boosters re-flag."""
    course = make_course(make_patient(), series_planned=1)
    _record(course, date(2026, 3, 2))
    window_before = (course.window_opens, course.window_closes)
    booster = _record(course, date(2026, 4, 10))
    assert course.anchor_date == date(2026, 4, 10)
    mark_in_error(booster, actor="test", reason="recorded on the wrong patient", now=utcnow())
    assert course.anchor_date == date(2026, 3, 2)
    assert (course.window_opens, course.window_closes) == window_before
    assert not booster.is_booster and booster.entered_in_error_reason == "recorded on the wrong patient"


def test_entered_in_error_needs_a_reason_and_happens_once(app_ctx):
    """No reason, or a second marking, is refused and nothing changes."""
    course = make_course(make_patient(), series_planned=1)
    infusion = _record(course, date(2026, 3, 2))
    with pytest.raises(RuleError) as error:
        mark_in_error(infusion, actor="test", reason="   ", now=utcnow())
    assert error.value.field == "reason" and infusion.entered_in_error_at is None
    mark_in_error(infusion, actor="test", reason="duplicate", now=utcnow())
    with pytest.raises(RuleError):
        mark_in_error(infusion, actor="test", reason="again", now=utcnow())
    assert infusion.entered_in_error_reason == "duplicate"
