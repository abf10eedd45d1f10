"""Small factories for tests: explicit dates, sensible defaults, keyword overrides."""
import itertools
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo

from tracker.extensions import db
from tracker.models import Course, Patient, User

DEFAULT_PASSWORD = "correct horse battery staple"
_seq = itertools.count(1)


def make_user(role="frontdesk", email=None, password=DEFAULT_PASSWORD, **kw) -> User:
    """A staff account with a known password."""
    n = next(_seq)
    user = User(email=email or f"{role}{n}@clinic.test", role=role, name=kw.pop("name", f"{role.title()} {n}"), **kw)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    return user


def make_patient(**kw) -> Patient:
    """A patient with consent and an email unless told otherwise."""
    n = next(_seq)
    values = dict(
        mrn=f"MRN{n:06d}", first_name="Alex", last_name=f"Rivera{n}",
        date_of_birth=date(1980, 5, 17), email=f"patient{n}@example.test", phone="555-0100",
        email_consent=True,
    )
    values.update(kw)
    patient = Patient(**values)
    db.session.add(patient)
    db.session.flush()
    return patient


def make_course(patient, **kw) -> Course:
    """An open course in its series (6 planned, 30/90 days) unless told otherwise."""
    values = dict(patient=patient, indication="CRPS", series_planned=6, min_days=30, max_days=90,
                  opened_on=date(2026, 3, 1))
    values.update(kw)
    course = Course(**values)
    db.session.add(course)
    db.session.flush()
    return course


def local_noon(day: date, tz="America/New_York") -> datetime:
    """An aware datetime at noon clinic-local time on a date."""
    return datetime.combine(day, time(12, 0), tzinfo=ZoneInfo(tz)).astimezone(timezone.utc)
